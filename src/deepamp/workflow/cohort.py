"""``deepamp cohort``: call every sample of a cohort in parallel with Dask.

Each sample is one Dask task that runs exactly what ``deepamp call`` runs on
it, with the same options, so a sample's VCF is the one ``deepamp call``
would write.  Tasks run in local worker processes (``--workers N``) or on a
``dask.distributed`` cluster (``--scheduler ADDRESS``, needs the
``distributed`` package on both sides).  With ``--control``, the background
is learned once, in this process, and every task tests against it.

The output directory holds:

* ``SAMPLE.vcf.gz`` (+ ``.tbi``) per sample;
* ``cohort.tsv``: one row per (sample, variant) with its FILTER, QUAL, DP,
  AF and, per variant, how many samples carry it (all / PASS).  A variant
  that recurs at low AF across many samples is more likely a systematic
  error of the assay than a mutation: the column makes that visible;
* ``background.npz`` when the background was learned from ``--control``.

The directory is built under a temporary name next to it and renamed when
every sample has been called, so a failed run leaves nothing behind.
Sample names come from the BAM's read groups (``SM``, one per file), else
from the file name; two samples with the same name are an error.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass

from deepamp.errors import DeepampError, FormatError, InputFileError, OutputError

#: Columns of ``cohort.tsv``.
TSV_COLUMNS = ("sample", "chrom", "pos", "ref", "alt", "filter", "qual", "dp", "af",
               "n_samples", "n_samples_pass")


@dataclass(frozen=True)
class CohortCall:
    """One variant of one sample, as written to ``cohort.tsv``."""

    sample: str
    chrom: str
    pos: int        # 1-based, as in the VCF
    ref: str
    alt: str
    filter: str     # "PASS" or the failed filters joined by ";"
    qual: float
    dp: int
    af: float


def sample_name(bam: str) -> str:
    """The sample of a BAM: its read groups' single ``SM``, else the file name without extension."""
    import pysam

    try:
        with pysam.AlignmentFile(bam, check_sq=False) as fh:
            groups = fh.header.to_dict().get("RG", [])
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{bam}: cannot read the BAM header ({exc})") from None
    names = {rg["SM"] for rg in groups if rg.get("SM")}
    if len(names) > 1:
        raise InputFileError(f"{bam}: read groups name {len(names)} samples ({', '.join(sorted(names))}); "
                             "deepamp cohort takes one sample per BAM")
    if names:
        return names.pop()
    base = os.path.basename(bam)
    for ext in (".bam", ".cram", ".sam"):
        if base.endswith(ext):
            return base[: -len(ext)]
    return base


def _safe(name: str) -> str:
    """A sample name as a file name."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "sample"


def call_sample(args: argparse.Namespace, bam: str, out_vcf: str, command: str) -> tuple[str, str] | None:
    """Run ``deepamp call`` on one BAM (a Dask task).

    Returns None, or for a deepamp error its class name and message: an
    exception raised in a worker process would come back with the worker's
    traceback folded into its message.
    """
    from deepamp.cli.call import run_call

    ns = copy.copy(args)
    ns.bam, ns.out, ns.quiet, ns.command_line = bam, out_vcf, True, command
    try:
        run_call(ns)
    except DeepampError as exc:
        return type(exc).__name__, str(exc)
    return None


def read_calls(sample: str, vcf: str) -> list[CohortCall]:
    """The variants of one sample's VCF."""
    from deepamp.io.vcf import open_vcf

    import pysam

    calls = []
    verbosity = pysam.set_verbosity(0)  # htslib warns that SB is LoFreq's Number=1, not VCF 4.3's
    try:
        fh = open_vcf(vcf)
    finally:
        pysam.set_verbosity(verbosity)
    with fh:
        for rec in fh:
            filters = list(rec.filter.keys())
            for alt in rec.alts or ():
                af = rec.info.get("AF")
                calls.append(CohortCall(sample, rec.chrom, rec.pos, rec.ref, alt,
                                        "PASS" if not filters or filters == ["PASS"] else ";".join(filters),
                                        float(rec.qual) if rec.qual is not None else float("nan"),
                                        int(rec.info.get("DP", 0)),
                                        float(af[0] if isinstance(af, tuple) else af) if af is not None
                                        else float("nan")))
    return calls


def write_table(path: str, calls: list[CohortCall]) -> None:
    """``cohort.tsv``: the calls sorted by position then sample, with per-variant recurrence."""
    from collections import Counter

    key = lambda c: (c.chrom, c.pos, c.ref, c.alt)  # noqa: E731
    n_all = Counter(key(c) for c in calls)
    n_pass = Counter(key(c) for c in calls if c.filter == "PASS")
    with open(path, "w") as fh:
        fh.write("\t".join(TSV_COLUMNS) + "\n")
        for c in sorted(calls, key=lambda c: (c.chrom, c.pos, c.ref, c.alt, c.sample)):
            fh.write(f"{c.sample}\t{c.chrom}\t{c.pos}\t{c.ref}\t{c.alt}\t{c.filter}\t{c.qual:.2f}\t{c.dp}\t"
                     f"{c.af:.6g}\t{n_all[key(c)]}\t{n_pass[key(c)]}\n")


def _compute(tasks: list, workers: int, scheduler: str | None) -> list:
    """Run Dask delayed tasks locally (processes) or on a distributed cluster."""
    import dask

    if scheduler:
        try:
            from dask.distributed import Client
        except ImportError:
            raise InputFileError("--scheduler needs dask.distributed: pip install distributed") from None
        with Client(scheduler) as client:
            return list(client.compute(tasks, sync=True))
    if workers == 1:
        return list(dask.compute(*tasks, scheduler="synchronous"))
    return list(dask.compute(*tasks, scheduler="processes", num_workers=workers))


@contextlib.contextmanager
def _staging(out_dir: str):
    """A temporary directory next to out_dir, renamed to out_dir on success."""
    out_dir = os.path.abspath(out_dir)
    parent = os.path.dirname(out_dir)
    if os.path.exists(out_dir):
        raise OutputError(f"{out_dir}: already exists (deepamp cohort writes a new directory)")
    try:
        tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(out_dir)}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise OutputError(f"{out_dir}: cannot write in {parent} ({exc.strerror})") from None
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        os.rename(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def configure_parser(p: argparse.ArgumentParser) -> None:
    """Options of ``deepamp cohort``: those of ``deepamp call``, BAMs and an output directory."""
    from deepamp.cli.call import configure_call_parser

    configure_call_parser(p, cohort=True)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, metavar="N",
                   help="local worker processes, one sample each at a time (default: CPUs); "
                        "--threads is per sample")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on this dask.distributed scheduler instead (e.g. tcp://host:8786); "
                        "the workers must share the file system of the BAMs and the output")


def run(args: argparse.Namespace) -> int:
    """``deepamp cohort``: call each BAM as a Dask task, write the VCFs and cohort.tsv."""
    try:
        import dask
    except ImportError:
        raise InputFileError("deepamp cohort needs dask: pip install 'deepamp[cohort]'") from None
    from deepamp.cli.call import check_call_args

    if args.workers < 1:
        raise FormatError("--workers must be >= 1")
    check_call_args(args)
    names = {}
    for bam in args.bams:
        if not os.path.exists(bam):
            raise InputFileError(f"{bam}: file not found")
        name = sample_name(bam)
        if name in names:
            raise InputFileError(f"{bam}: sample {name!r} is also {names[name]}")
        names[name] = bam

    command = "deepamp " + " ".join(sys.argv[1:])
    with _staging(args.out) as tmp:
        args = copy.copy(args)
        if args.control:
            from deepamp.models.background import learn
            from deepamp.cli.call import flag_exclude, mate_memory_bytes

            bg = learn(args.control, reference=args.ref, bed=args.bed, regions=args.region,
                       min_bq=args.min_bq, min_alt_bq=args.min_alt_bq, min_mapq=args.min_mq,
                       flag_exclude=flag_exclude(args), merge_mates=not args.no_merge_mates,
                       threads=args.threads, mate_memory=mate_memory_bytes(args))
            args.background = os.path.join(tmp, "background.npz")
            bg.save(args.background)
            # the VCF headers name the file where it will be once the directory is renamed
            args.background_source = os.path.join(os.path.abspath(args.out), "background.npz")
            args.control = []
        vcfs = {name: os.path.join(tmp, _safe(name) + ".vcf.gz") for name in names}
        if len(set(vcfs.values())) < len(vcfs):
            raise InputFileError("two sample names map to the same file name: " + ", ".join(sorted(names)))
        tasks = [dask.delayed(call_sample, pure=False)(args, bam, vcfs[name], command)
                 for name, bam in names.items()]
        try:
            results = _compute(tasks, args.workers, args.scheduler)
        except Exception as exc:  # a worker died: name what happened, in one line
            raise DeepampError(f"a sample's task failed: {type(exc).__name__}: "
                               f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
        for failed in results:
            if failed:
                from deepamp import errors

                raise getattr(errors, failed[0], DeepampError)(failed[1])
        calls = [c for name in names for c in read_calls(name, vcfs[name])]
        write_table(os.path.join(tmp, "cohort.tsv"), calls)
    if not args.quiet:
        n_pass = sum(1 for c in calls if c.filter == "PASS")
        print(f"deepamp cohort: {len(names)} samples, {len(calls)} calls ({n_pass} PASS); "
              f"wrote {os.path.abspath(args.out)}", file=sys.stderr)
    return 0
