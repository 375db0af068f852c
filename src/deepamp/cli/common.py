"""What every subcommand shares: the parser class, value checks, option groups and their mapping.

Conventions of the command line (the README lists them):

* inputs that a command works on are positional (``IN.bam``, ``IN.vcf``); further
  inputs are named options; the output is ``-o/--out`` (``--output`` is an alias),
  and ``-`` means standard output where a single file is written;
* the reference is ``-f/--ref`` and the panel ``-l/--bed`` and/or ``-r/--region``
  (LoFreq's spellings), in every command that counts;
* counting flags mean the same everywhere: ``-q`` base quality, ``-Q`` alt-base
  quality, ``-m`` mapping quality, ``--keep-duplicates``, ``--incl-supplementary``,
  ``--no-merge-mates``, ``--threads``, ``--mate-memory`` (MiB);
* ``--quiet`` silences the run summary, ``--verbose`` adds detail.

Every invalid value is a usage error: one line, exit 2.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import NoReturn

from deepamp.options import (DEFAULT_MATE_MEMORY, FILTER_MTC, MAX_QUALITY, MTC_METHODS,
                             NO_FILTERS, PRESETS, SB_TESTS, CallOptions, CountOptions, FilterOptions)


class UsageError(Exception):
    """A usage error found while mapping flags (exit 2, one line)."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors: ``deepamp call: error: ...`` and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# ---------------------------------------------------------------- value checks (argparse types)

def _int(text: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def _float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return v


def int_range(lo: int, hi: int | None = None) -> Callable[[str], int]:
    """An integer in [lo, hi]."""
    def check(text: str) -> int:
        v = _int(text)
        if v < lo or (hi is not None and v > hi):
            raise argparse.ArgumentTypeError(f"{v} is not {'>= ' + str(lo) if hi is None else f'in {lo}..{hi}'}")
        return v
    check.__name__ = "integer"
    return check


def float_range(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False,
                hi_open: bool = False) -> Callable[[str], float]:
    """A finite number in the interval (open or closed ends)."""
    def check(text: str) -> float:
        v = _float(text)
        if (lo is not None and (v < lo or (lo_open and v == lo))) or \
                (hi is not None and (v > hi or (hi_open and v == hi))):
            left = "-inf" if lo is None else f"{lo:g}"
            right = "inf" if hi is None else f"{hi:g}"
            raise argparse.ArgumentTypeError(
                f"{v:g} is not in {'(' if lo_open or lo is None else '['}{left}, {right}{')' if hi_open or hi is None else ']'}")
        return v
    check.__name__ = "number"
    return check


QUALITY = int_range(0, MAX_QUALITY)
POSITIVE = int_range(1)
NON_NEGATIVE = int_range(0)
PROBABILITY = float_range(0.0, 1.0, lo_open=True)          # (0, 1]
FRACTION = float_range(0.0, 1.0)                            # [0, 1]


def mib(text: str) -> int:
    """MiB (a finite number >= 0) as bytes."""
    v = float_range(0.0)(text)
    return int(v * 2**20)


def flag_mask(text: str) -> int:
    """SAM flag bits (decimal or 0x hex) in 0..0xFFFF."""
    try:
        v = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a flag value (e.g. 0xF04)") from None
    if not 0 <= v <= 0xFFFF:
        raise argparse.ArgumentTypeError(f"{text} is not in 0..0xFFFF")
    return v


def bonferroni_factor(text: str) -> int | None:
    """``dynamic`` (None) or an integer >= 1."""
    if text == "dynamic":
        return None
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an integer >= 1 or 'dynamic'") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"{v}: the Bonferroni factor must be >= 1")
    return v


def primer_length(text: str) -> tuple[int, int]:
    """``N`` or ``N,M``: primer lengths at the left and right end of every amplicon."""
    from deepamp.errors import FormatError
    from deepamp.workflow.primers import parse_primer_length

    try:
        return parse_primer_length(text)
    except FormatError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected N or N,M (left,right) with positive lengths") from None


# ---------------------------------------------------------------- option groups

def add_output(p: argparse.ArgumentParser, *, required: bool = True, default: str | None = None,
               metavar: str = "OUT", help: str = "output") -> None:
    """``-o/--out`` (alias ``--output``)."""
    p.add_argument("-o", "--out", "--output", dest="out", required=required and default is None,
                   default=default, metavar=metavar, help=help)


def add_quiet(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quiet", action="store_true", help="no run summary on stderr")
    g.add_argument("--verbose", action="store_true", help="more detail on stderr")


def add_primers(p: argparse.ArgumentParser, *, bed_flag: bool = True) -> None:
    """``--primers`` / ``-l`` + ``--primer-length`` and ``--start-tolerance`` (``align``, ``clip``)."""
    from deepamp.workflow.primers import TOLERANCE

    g = p.add_argument_group("primer clipping (bases of a primer footprint at read ends are soft-clipped)")
    x = g.add_mutually_exclusive_group()
    x.add_argument("--primers", metavar="PRIMERS.bed",
                   help="primer BED: contig, start, end, name[, score, strand]; names ending _LEFT/_RIGHT or "
                        "strand +/- say which end of its amplicon a primer is at")
    x.add_argument("--primer-length", type=primer_length, metavar="N[,M]",
                   help="primers of N bases (left) and M bases (right; default N) at the ends of every amplicon of -l")
    if bed_flag:
        g.add_argument("-l", "--bed", metavar="AMPLICONS.bed",
                       help="amplicons (BED), for --primer-length, or to place the primers of --primers")
    g.add_argument("--start-tolerance", type=NON_NEGATIVE, default=TOLERANCE, metavar="N",
                   help=f"bases a read's 5' end may lie outside its primer before it counts as starting at no "
                        f"primer (default {TOLERANCE})")


def primer_scheme(args: argparse.Namespace):
    """The PrimerScheme of ``--primers`` / ``-l`` + ``--primer-length``, or None when neither is given."""
    from deepamp.workflow.primers import load_primers

    if args.primers is None and args.primer_length is None:
        if args.bed:
            raise UsageError("-l AMPLICONS.bed is for primer clipping: add --primer-length N[,M] or --primers")
        return None
    if args.primer_length is not None and not args.bed:
        raise UsageError("--primer-length needs the amplicons: -l AMPLICONS.bed")
    return load_primers(args.primers, args.bed, args.primer_length)


def add_panel(p: argparse.ArgumentParser, *, ref_required: bool = True) -> None:
    """``-f/--ref``, ``-l/--bed``, ``-r/--region``."""
    p.add_argument("-f", "--ref", "--reference", dest="ref", required=ref_required, metavar="REF.fa",
                   help="reference FASTA (indexed on demand; a samtools-style slice record "
                        "chr2:29191796-29223795 works as a window of chr2)")
    p.add_argument("-l", "--bed", metavar="AMPLICONS.bed", help="regions (BED, 0-based)")
    p.add_argument("-r", "--region", action="append", default=[], metavar="CHR:START-END",
                   help="region, 1-based inclusive (repeatable)")


def add_counting(p: argparse.ArgumentParser, *, threads: bool = True, mate_memory: bool = True,
                 merge_mates: bool = True) -> None:
    """The counting flags, with the same meaning in every command."""
    g = p.add_argument_group("counting (the same in every command)")
    g.add_argument("-q", "--min-bq", type=QUALITY, default=6, metavar="INT",
                   help="skip bases with base quality below (default 6, as LoFreq and Villa 2024)")
    g.add_argument("-Q", "--min-alt-bq", type=QUALITY, default=None, metavar="INT",
                   help="skip non-reference bases with quality below (default: --min-bq)")
    g.add_argument("-m", "--min-mq", type=QUALITY, default=0, metavar="INT",
                   help="skip reads with mapping quality below (default 0)")
    g.add_argument("--incl-supplementary", action="store_true",
                   help="count supplementary alignments (default: dropped)")
    g.add_argument("--keep-duplicates", action="store_true",
                   help="count reads flagged as duplicates (amplicon reads share start sites; "
                        "default: dropped, like LoFreq)")
    if merge_mates:
        g.add_argument("--no-merge-mates", action="store_true",
                       help="count both mates where they overlap (LoFreq's behaviour)")
    if threads:
        g.add_argument("--threads", "--pp-threads", dest="threads", type=POSITIVE, default=1, metavar="N",
                       help="threads (results are identical for any N)")
    if mate_memory:
        g.add_argument("--mate-memory", type=mib, default=DEFAULT_MATE_MEMORY, metavar="MIB",
                       help="MiB of first mates each chunk being counted holds while they wait for their "
                            "overlapping mate (one chunk at a time per thread, plus one with several threads); "
                            "beyond it they wait in a temporary file, so memory does not grow with depth "
                            f"(default {DEFAULT_MATE_MEMORY >> 20}; 0: no limit; results are identical)")


def add_lofreq_compat(p: argparse.ArgumentParser) -> None:
    """LoFreq ``call`` flags accepted because their effect is always in force."""
    g = p.add_argument_group("accepted for LoFreq compatibility (already in effect)")
    g.add_argument("-B", "--no-baq", action="store_true", help="no BAQ is ever applied")
    g.add_argument("-A", "--no-idaq", action="store_true", help="no IDAQ is ever applied")
    g.add_argument("-N", "--no-mq", action="store_true", help="MQ is never merged into base error")
    g.add_argument("-d", "--max-depth", type=NON_NEGATIVE, metavar="INT", help="ignored: deepamp has no depth cap")
    g.add_argument("--force-overwrite", action="store_true", help="outputs are always replaced atomically")
    g.add_argument("--call-indels", action="store_true", help="indels are called by default")


def add_calling(p: argparse.ArgumentParser, *, matched: bool = True) -> None:
    """Significance, multiple testing, models and families of ``call`` (and ``cohort``)."""
    p.add_argument("-C", "--min-cov", type=NON_NEGATIVE, default=1, metavar="INT",
                   help="test only sites with at least this many counted bases (default 1)")
    p.add_argument("-a", "--sig", type=PROBABILITY, default=0.01, metavar="FLOAT",
                   help="significance level after multiple-testing correction, in (0, 1] (default 0.01)")
    p.add_argument("-b", "--bonf", type=bonferroni_factor, default=None, metavar="INT|dynamic",
                   help="Bonferroni factor; 'dynamic' (default) = 3 per column with alt bases, as LoFreq")
    p.add_argument("--mtc", choices=MTC_METHODS, default="bonferroni",
                   help="multiple-testing correction (default bonferroni, as LoFreq)")
    bg = p.add_mutually_exclusive_group()
    if matched:
        bg.add_argument("--matched-normal", metavar="NORMAL.bam",
                        help="matched normal: the same patient's normal (or an earlier time point), counted with "
                             "this run's options; the sample is tested against the normal's own alleles, so an "
                             "allele both carry is never called, and a loss towards the reference is reported "
                             "(INFO MNDIR) (deepSNV-style test vs control)")
    bg.add_argument("--background", metavar="BG_FILE",
                    help="panel of normals: test each (site, alt) against its error rate learned by "
                         "`deepamp background` from other people's healthy DNA (their real variants "
                         "are excluded) (default: LoFreq's quality model)")
    bg.add_argument("--control", action="append", default=[], metavar="CONTROL.bam",
                    help="panel of normals learned now from these control BAMs, counted with this run's "
                         "options (repeatable; same as `deepamp background` then --background)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--no-indels", action="store_true", help="call SNVs only (default: SNVs and indels)")
    g.add_argument("--only-indels", action="store_true", help="call indels only (as LoFreq)")
    p.add_argument("--hotspots", metavar="shipped|FILE.tsv",
                   help="test known resistance alleles as their own family (INFO FAMILY=hotspot): "
                        "'shipped' = deepamp's list, or a TSV with contig, pos, ref, alt")


def add_filters(p: argparse.ArgumentParser, *, for_call: bool = False) -> None:
    """Filter flags (``lofreq filter`` spellings).

    As ``lofreq call`` runs ``lofreq filter`` with its defaults unless given
    ``--no-default-filter``, ``call`` applies the default filters too.
    """
    g = p.add_argument_group("filters (LoFreq's defaults: coverage >= 10, strand bias FDR < 0.001; "
                             "see deepamp filter)")
    g.add_argument("--preset", choices=sorted(PRESETS),
                   help="villa2024: cov>=5000, AF>=0.006, QUAL & SB FDR<0.001, pop AF<1e-5")

    def opt(short: str, long: str) -> tuple[str, ...]:
        return (long,) if for_call else (short, long)

    g.add_argument(*opt("-v", "--cov-min"), dest="f_min_cov", type=NON_NEGATIVE, metavar="INT",
                   help="min INFO/DP" + ("" if for_call else " (default 10)"))
    g.add_argument(*opt("-V", "--cov-max"), dest="f_max_cov", type=NON_NEGATIVE, metavar="INT", help="max INFO/DP")
    g.add_argument(*opt("-a", "--af-min"), dest="f_min_af", type=FRACTION, metavar="FLOAT", help="min INFO/AF")
    g.add_argument(*opt("-A", "--af-max"), dest="f_max_af", type=FRACTION, metavar="FLOAT", help="max INFO/AF")
    g.add_argument(*opt("-Q", "--snvqual-thresh"), dest="f_min_snvqual", type=float_range(0.0), metavar="FLOAT",
                   help="min QUAL")
    g.add_argument("--snvqual-alpha", dest="f_snvqual_alpha", type=PROBABILITY, metavar="FLOAT")
    g.add_argument("--snvqual-mtc", dest="f_snvqual_mtc", choices=FILTER_MTC)
    g.add_argument("--snvqual-ntests", dest="f_snvqual_ntests", type=POSITIVE, metavar="INT")
    g.add_argument("--sb-alpha", dest="f_sb_alpha", type=PROBABILITY, metavar="FLOAT",
                   help="strand-bias significance" + ("" if for_call else " (default 0.001)"))
    g.add_argument("--sb-mtc", dest="f_sb_mtc", choices=FILTER_MTC, help="(default fdr)")
    g.add_argument("--sb-ntests", dest="f_sb_ntests", type=POSITIVE, metavar="INT")
    g.add_argument("--sb-test", dest="f_sb_test", choices=SB_TESTS,
                   help="auto (default: the amplicon-aware test, INFO/SBA, in amplicon regions; LoFreq's "
                        "Fisher test, INFO/SB, in capture regions), amplicon or lofreq")
    g.add_argument("--sb-min-or", dest="f_sb_min_or", type=float_range(1.0), metavar="FLOAT",
                   help="odds-ratio floor of the amplicon-aware test (default 3)")
    g.add_argument("--sb-no-compound", dest="f_sb_compound", action="store_const", const=False, default=None,
                   help="LoFreq's strand-bias test alone fails a record (default: only when its alt bases also "
                        "sit > 85%% on one strand, as LoFreq)")
    if for_call:
        g.add_argument("--orientation-posterior", dest="f_orientation_posterior",
                       type=float_range(0.0, 1.0, lo_open=True, hi_open=True), metavar="FLOAT",
                       help="fail capture-region calls whose posterior probability of a read-orientation "
                            "artefact (8-oxo-G) exceeds this (default 0.5)")
    g.add_argument("--population-vcf", dest="f_population_vcf", metavar="FILE.vcf.gz",
                   help="bgzipped + indexed VCF with INFO/AF")
    g.add_argument("--max-population-af", dest="f_max_population_af", type=FRACTION, metavar="FLOAT",
                   help="max population AF (default 1e-5 with --population-vcf)")
    if for_call:
        g.add_argument("--no-default-filter", dest="no_defaults", action="store_true",
                       help="switch off the default filters (LoFreq's spelling); the filters given still apply")
    else:
        g.add_argument("--no-defaults", action="store_true", help="switch off the default filters")


# ---------------------------------------------------------------- flags -> option objects

def count_options(args: argparse.Namespace) -> CountOptions:
    """CountOptions from the counting flags."""
    return CountOptions.with_switches(keep_duplicates=args.keep_duplicates,
                                      include_supplementary=args.incl_supplementary,
                                      min_bq=args.min_bq, min_alt_bq=args.min_alt_bq, min_mapq=args.min_mq,
                                      merge_mates=not getattr(args, "no_merge_mates", False))


_FILTER_FIELDS = ("min_cov", "max_cov", "min_af", "max_af", "min_snvqual", "snvqual_alpha", "snvqual_mtc",
                  "snvqual_ntests", "sb_alpha", "sb_mtc", "sb_ntests", "sb_test", "sb_min_or", "sb_compound",
                  "orientation_posterior", "population_vcf", "max_population_af")


def filter_options(args: argparse.Namespace, *, for_call: bool = False) -> FilterOptions | None:
    """FilterOptions from the filter flags (the defaults unless ``--no-defaults`` / ``--no-default-filter``);
    None when the defaults are off and no filter was asked for."""
    import dataclasses

    given = {f: getattr(args, "f_" + f) for f in _FILTER_FIELDS if getattr(args, "f_" + f, None) is not None}
    if args.preset:
        base = PRESETS[args.preset]
    elif args.no_defaults:
        if for_call and not given:
            return None
        base = NO_FILTERS
    else:
        base = FilterOptions()
    return dataclasses.replace(base, **given)


def require_regions(args: argparse.Namespace) -> None:
    """``-l`` or ``-r`` must be given."""
    if not args.bed and not args.region:
        raise UsageError("give the regions to analyse with -l AMPLICONS.bed or -r CHR:START-END")


def call_options(args: argparse.Namespace) -> CallOptions:
    """CallOptions from the flags of ``call`` / ``cohort``."""
    return CallOptions(count=count_options(args), min_cov=args.min_cov, alpha=args.sig, mtc=args.mtc,
                       bonf=args.bonf, snvs=not args.only_indels, indels=not args.no_indels,
                       hotspots=args.hotspots, filters=filter_options(args, for_call=True))


def command_line(args: argparse.Namespace) -> str:
    """``deepamp ARGS`` as typed (for ``##commandline`` and run logs)."""
    return "deepamp " + " ".join(getattr(args, "argv", None) or sys.argv[1:])
