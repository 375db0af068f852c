"""``deepamp call`` and ``deepamp count``: option parsing and orchestration.

Flags are spelled as LoFreq spells them (``-f -l -r -q -Q -m -C -a -b -o``)
so that ``lofreq call`` command lines keep working.  LoFreq options that
change quality merging (``-B`` no BAQ, ``-A`` no IDAQ, ``-N`` no MQ merging)
are accepted: deepamp never applies BAQ, IDAQ or MQ merging, so they are
already in effect.  ``-d/--max-depth`` is accepted and ignored: deepamp has
no depth cap.
"""

from __future__ import annotations

import argparse
import os
import sys

from deepamp.errors import FormatError, InputFileError, RegionError


def _add_count_options(p: argparse.ArgumentParser, cohort: bool = False) -> None:
    if cohort:
        p.add_argument("bams", nargs="+", metavar="IN.bam", help="indexed, coordinate-sorted BAMs or CRAMs, "
                       "one sample each")
    else:
        p.add_argument("bam", metavar="IN.bam", help="indexed, coordinate-sorted BAM or CRAM")
    p.add_argument("-f", "--ref", metavar="REF.fa", help="reference FASTA (indexed on demand)")
    p.add_argument("-r", "--region", action="append", default=[], metavar="CHR:START-END",
                   help="region, 1-based inclusive (repeatable)")
    p.add_argument("-l", "--bed", metavar="AMPLICONS.bed", help="regions (BED, 0-based)")
    p.add_argument("-q", "--min-bq", type=int, default=6, metavar="INT",
                   help="skip bases with base quality below (default 6, as LoFreq and Villa 2024)")
    p.add_argument("-Q", "--min-alt-bq", type=int, default=None, metavar="INT",
                   help="skip non-reference bases with quality below (default: --min-bq)")
    p.add_argument("-m", "--min-mq", type=int, default=0, metavar="INT",
                   help="skip reads with mapping quality below (default 0)")
    p.add_argument("--incl-supplementary", action="store_true",
                   help="count supplementary alignments (default: dropped)")
    p.add_argument("--keep-duplicates", action="store_true",
                   help="count reads flagged as duplicates (amplicon reads share start sites; "
                        "default: dropped, like LoFreq)")
    p.add_argument("--no-merge-mates", action="store_true",
                   help="count both mates where they overlap (LoFreq's behaviour)")
    p.add_argument("--threads", "--pp-threads", type=int, default=1, metavar="N",
                   help="threads (results are identical for any N)")
    add_mate_memory_option(p)
    p.add_argument("--quiet", action="store_true", help="no run summary on stderr")


def add_mate_memory_option(p: argparse.ArgumentParser) -> None:
    """``--mate-memory MIB``: the budget of first mates waiting for their mate, per chunk being counted."""
    from deepamp.counting.bam import DEFAULT_MATE_MEMORY

    p.add_argument("--mate-memory", type=float, default=DEFAULT_MATE_MEMORY / 2**20, metavar="MIB",
                   help="MiB of first mates each chunk being counted holds while they wait for their "
                        "overlapping mate (one chunk at a time per thread, plus one with several threads; "
                        "and half as much of reads reaching into the next region); beyond it they "
                        "wait in a temporary file, so memory does not grow with "
                        f"depth (default {DEFAULT_MATE_MEMORY // 2**20}; 0: no limit; results are identical)")


def mate_memory_bytes(args: argparse.Namespace) -> int:
    """The ``--mate-memory`` option in bytes (FormatError if negative)."""
    if not args.mate_memory >= 0:
        raise FormatError("--mate-memory must be >= 0")
    return int(args.mate_memory * 2**20)


def flag_exclude(args: argparse.Namespace) -> int:
    """The SAM flags whose reads are dropped, from --incl-supplementary and --keep-duplicates."""
    from deepamp.counting.bam import DEFAULT_FLAG_EXCLUDE, FLAG_DUPLICATE, FLAG_SUPPLEMENTARY

    flags = DEFAULT_FLAG_EXCLUDE
    if args.incl_supplementary:
        flags &= ~FLAG_SUPPLEMENTARY
    if args.keep_duplicates:
        flags &= ~FLAG_DUPLICATE
    return flags


def _check_args(args: argparse.Namespace) -> None:
    for name in ("min_bq", "min_mq"):
        if getattr(args, name) < 0:
            raise FormatError(f"--{name.replace('_', '-')} must be >= 0")
    if args.min_alt_bq is not None and args.min_alt_bq < 0:
        raise FormatError("--min-alt-bq must be >= 0")
    if args.threads < 1:
        raise FormatError("--threads must be >= 1")
    if not args.region and not args.bed:
        raise RegionError("give the regions to analyse with -l AMPLICONS.bed or -r CHR:START-END")


def _count(args: argparse.Namespace, qual_hist: bool):
    from deepamp.counting.bam import count

    return count(args.bam, args.region or None, bed=args.bed, reference=args.ref,
                 min_mapq=args.min_mq, min_bq=args.min_bq, min_alt_bq=args.min_alt_bq,
                 flag_exclude=flag_exclude(args), merge_mates=not args.no_merge_mates,
                 threads=args.threads, qual_hist=qual_hist, mate_memory=mate_memory_bytes(args))


def summary_lines(counts) -> list[str]:
    """Human-readable run summary: every read and base used or dropped, by reason."""
    rs, bs = counts.read_stats, counts.base_stats
    reads = ", ".join(f"{k}={v}" for k, v in rs.items() if k not in ("seen", "used") and v)
    bases = ", ".join(f"{k}={v}" for k, v in bs.items() if k != "counted" and v)
    return [f"reads: {rs['seen']} seen, {rs['used']} used" + (f"; {reads}" if reads else ""),
            f"bases: {bs['counted']} counted" + (f"; {bases}" if bases else "")]


def stats_header_lines(counts) -> list[str]:
    """``##deepamp_*`` VCF header lines recording every drop reason."""
    return ["##deepamp_reads=" + ",".join(f"{k}:{v}" for k, v in counts.read_stats.items()),
            "##deepamp_bases=" + ",".join(f"{k}:{v}" for k, v in counts.base_stats.items())]


# ---------------------------------------------------------------- call

def configure_call_parser(p: argparse.ArgumentParser, cohort: bool = False) -> None:
    """Options of ``deepamp call`` (LoFreq spellings); with cohort, of ``deepamp cohort``."""
    _add_count_options(p, cohort)
    if cohort:
        p.add_argument("-o", "--out", required=True, metavar="OUT_DIR",
                       help="new directory for the VCFs (SAMPLE.vcf.gz) and cohort.tsv")
    else:
        p.add_argument("-o", "--out", default="-", metavar="OUT.vcf",
                       help="output VCF; .vcf.gz is bgzipped and tabix-indexed (default: stdout)")
    p.add_argument("-C", "--min-cov", type=int, default=1, metavar="INT",
                   help="test only sites with at least this many counted bases (default 1)")
    p.add_argument("-a", "--sig", type=float, default=0.01, metavar="FLOAT",
                   help="significance level after multiple-testing correction (default 0.01)")
    p.add_argument("-b", "--bonf", default="dynamic", metavar="INT|dynamic",
                   help="Bonferroni factor; 'dynamic' = 3 per column with alt bases, as LoFreq")
    p.add_argument("--mtc", choices=("bonferroni", "fdr", "none"), default="bonferroni",
                   help="multiple-testing correction (default bonferroni, as LoFreq)")
    p.add_argument("-B", "--no-baq", action="store_true", help="accepted for LoFreq compatibility (no BAQ is ever applied)")
    p.add_argument("-A", "--no-idaq", action="store_true", help="accepted for LoFreq compatibility (no IDAQ is ever applied)")
    p.add_argument("-N", "--no-mq", action="store_true", help="accepted for LoFreq compatibility (MQ is never merged into base error)")
    p.add_argument("-d", "--max-depth", type=int, metavar="INT",
                   help="accepted for LoFreq compatibility; deepamp has no depth cap")
    p.add_argument("--force-overwrite", action="store_true",
                   help="accepted for LoFreq compatibility (outputs are always replaced atomically)")
    bg = p.add_mutually_exclusive_group()
    bg.add_argument("--background", metavar="BG_FILE",
                    help="test each (site, alt) against its background learned by `deepamp background` "
                         "(default: LoFreq's quality model)")
    bg.add_argument("--control", action="append", default=[], metavar="CONTROL.bam",
                    help="learn the background from these control BAMs now, with this run's counting "
                         "options (repeatable; deepSNV-style test vs control; same as `deepamp background` "
                         "then --background)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--no-indels", action="store_true",
                   help="call SNVs only (default: SNVs and indels; see deepamp.calling.indels)")
    g.add_argument("--only-indels", action="store_true", help="call indels only (as LoFreq)")
    p.add_argument("--call-indels", action="store_true",
                   help="accepted for LoFreq compatibility (indels are called by default)")
    p.add_argument("--hotspots", metavar="shipped|FILE.tsv",
                   help="test known resistance alleles as their own family (INFO FAMILY=hotspot): "
                        "'shipped' = deepamp's ALK/ROS1 list, or a TSV with contig, pos, ref, alt")
    from deepamp.filters import add_filter_options

    add_filter_options(p, for_call=True)


def check_call_args(args: argparse.Namespace):
    """Check the options of ``deepamp call`` (one-line errors); returns (CallParams, filter params)."""
    from deepamp.calling.snvs import CallParams
    from deepamp.filters import params_from_args

    _check_args(args)
    if args.bonf == "dynamic":
        bonf = None
    else:
        try:
            bonf = int(args.bonf)
        except ValueError:
            raise FormatError(f"--bonf {args.bonf!r}: expected an integer or 'dynamic'") from None
    if not args.ref:
        raise InputFileError(f"deepamp {getattr(args, 'command', 'call')} needs the reference FASTA (-f REF.fa)")
    return (CallParams(min_cov=args.min_cov, alpha=args.sig, mtc=args.mtc, bonf=bonf),
            params_from_args(args, for_call=True))


def run_call(args: argparse.Namespace) -> int:
    """``deepamp call``: count, test, correct, write VCF (SNVs and indels)."""
    from deepamp.calling.snvs import call_snvs, site_stats
    from deepamp.calling.indels import call_indels, merge_sorted
    from deepamp.io.outputs import check_writable
    from deepamp.io.vcf import VcfHeader, write_vcf

    if args.out != "-":
        check_writable(args.out)
    params, fparams = check_call_args(args)
    # every input is opened and checked before the (slow) counting
    from deepamp.filters import PopulationVcf, apply_filters, filter_headers
    population = PopulationVcf(fparams.population_vcf) if fparams and fparams.population_vcf else None
    background = None
    if args.background:
        from deepamp.models.background import load

        background = load(args.background)
    hotspots = None
    if args.hotspots:
        from deepamp.calling.hotspots import load_hotspots

        hotspots = load_hotspots(None if args.hotspots == "shipped" else args.hotspots)
    if args.control:
        from deepamp.models.background import learn

        background = learn(args.control, reference=args.ref, bed=args.bed, regions=args.region,
                           min_bq=args.min_bq, min_alt_bq=args.min_alt_bq, min_mapq=args.min_mq,
                           flag_exclude=flag_exclude(args), merge_mates=not args.no_merge_mates,
                           threads=args.threads, mate_memory=mate_memory_bytes(args))
    counts = _count(args, qual_hist=True)
    variants, m = ([], 0) if args.only_indels else \
        call_snvs(counts, params, background=background, hotspots=hotspots)
    indels, m_indel, notes = ([], 0, []) if args.no_indels else \
        call_indels(counts, params, background=background, reference=args.ref)
    command = getattr(args, "command_line", None) or "deepamp " + " ".join(sys.argv[1:])
    header = VcfHeader(counts.header_contigs, reference=args.ref, command=command)
    header.extra += [f"##deepamp_mtc={params.mtc},tests={m},alpha={params.alpha}"]
    if not args.no_indels:
        header.extra.append(f"##deepamp_indel_mtc={params.mtc},tests={m_indel},alpha={params.alpha}")
    header.extra += stats_header_lines(counts)
    sites = site_stats(counts, params)
    header.extra.append("##deepamp_sites=" + ",".join(f"{k}:{v}" for k, v in sites.items()
                                                      if not k.endswith("_positions")))
    if background is not None:
        if args.background:  # deepamp cohort names where its learned background will be
            source = getattr(args, "background_source", None) or os.path.abspath(args.background)
        else:
            source = "controls:" + ";".join(os.path.abspath(c) for c in args.control)
        header.extra.append(f"##deepamp_background={source},panel_sha256={background.meta['panel_sha256']}")
    n_snv = len(variants)
    variants = merge_sorted(variants, indels)
    records = [v.to_record() for v in variants]
    if fparams is not None:
        res = apply_filters(records, fparams, args.out, population)
        for r, names, add in zip(records, res.filters, res.info):
            r.filters = r.filters + names
            r.info.update(add)
        header.filters.update(res.headers)
        for name, desc in filter_headers(fparams).items():
            header.filters.setdefault(name, desc)
        if fparams.max_population_af is not None and population is None:
            notes.append("population filter not applied (no --population-vcf)")
    write_vcf(args.out, header, records)
    if not args.quiet:
        n_pass = sum(1 for r in records if not r.filters)
        calls = f"calls: {n_snv} of {m} SNV tests significant"
        if not args.no_indels:
            calls += f", {len(indels)} of {m_indel} indel tests"
        untested = ", ".join(f"{k}={sites[k]}" for k in ("non_acgt_ref", "no_coverage", "below_min_cov")
                             if sites[k])
        site_line = f"sites: {sites['positions']} positions, {sites['tested']} tested for SNVs" + \
            (f"; not tested: {untested}" if untested else "")
        if sites["non_acgt_ref"]:
            site_line += " (reference not A/C/G/T at " + ", ".join(sites["non_acgt_ref_positions"]) + \
                (", ..." if sites["non_acgt_ref"] > 10 else "") + ")"
        lines = summary_lines(counts) + [site_line, calls + (f", {n_pass} PASS filters" if fparams else "")]
        if args.control:
            lines += ["background: " + line for line in background.summary_lines()]
        for line in lines + notes:
            print(f"deepamp call: {line}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------- count

def configure_count_parser(p: argparse.ArgumentParser) -> None:
    """Options of ``deepamp count``."""
    _add_count_options(p)
    p.add_argument("-o", "--out", required=True, metavar="OUT.tsv|OUT.npz",
                   help="count table: .npz = compact binary (deepamp.counting.bam.load_counts), else TSV")


def run_count(args: argparse.Namespace) -> int:
    """``deepamp count``: write the per-position x symbol x strand table."""
    from deepamp.io.outputs import check_writable

    _check_args(args)
    check_writable(args.out)
    counts = _count(args, qual_hist=args.out.endswith(".npz"))
    if args.out.endswith(".npz"):
        counts.save(args.out)
    else:
        counts.write_tsv(args.out)
    if not args.quiet:
        for line in summary_lines(counts):
            print(f"deepamp count: {line}", file=sys.stderr)
    return 0


__all__ = ["configure_call_parser", "run_call", "configure_count_parser", "run_count",
           "summary_lines", "stats_header_lines"]
