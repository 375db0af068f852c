"""``deepamp cohort``: a sample sheet run as one resumable Dask job (:mod:`deepamp.workflow.cohort`),
or, given BAMs, each BAM called as one Dask task (:mod:`deepamp.workflow.cohort_bams`)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from deepamp.cli import common

log = logging.getLogger("deepamp")

#: What an interrupted ``deepamp cohort`` leaves (shown by ``deepamp.cli.main``).
INTERRUPTED = ("no cohort.tsv or cohort.html written; samples that finished are kept and the same command "
               "resumes")

_SHEET_ONLY = ("primers", "aligners", "index_cache", "genome", "report_min_cov")


def configure(p: argparse.ArgumentParser) -> None:
    """Options of ``deepamp cohort``: a sample sheet (or BAMs), the panel, an output directory, Dask."""
    from deepamp.cli.run import _aligners

    p.add_argument("inputs", nargs="+", metavar="SAMPLES.tsv",
                   help="the sample sheet (TSV: sample, patient, timepoint, role, r1 and r2 or bam, optional "
                        "sm); or indexed BAMs, one sample each, to call only (the BAM-list form)")
    common.add_panel(p)
    common.add_output(p, metavar="OUTDIR",
                      help="output directory: samples/SAMPLE/ (the deepamp run outputs), cohort.tsv, "
                           "cohort.html, patients/PATIENT.html; written in place, and a rerun reuses finished "
                           "samples (BAM-list form: a new directory of VCFs and cohort.tsv)")
    g = p.add_argument_group("sample-sheet form")
    g.add_argument("--primers", metavar="PRIMERS.bed",
                   help="primer BED: primer bases at read ends are soft-clipped while aligning FASTQ samples")
    g.add_argument("--aligners", type=_aligners, default=None, metavar="bwa,bowtie2",
                   help="alignments of FASTQ samples (default bwa,bowtie2: strong/weak evidence as deepamp run); "
                        "FASTQ controls are aligned with the first")
    g.add_argument("--index-cache", metavar="DIR",
                   help="where missing aligner indexes are built (default: $XDG_CACHE_HOME/deepamp/index)")
    g.add_argument("--genome", choices=("hg38", "hg19", "GRCh38", "GRCh37"), default=None,
                   help="genome build, for the annotation (default hg38)")
    g.add_argument("--report-min-cov", type=common.NON_NEGATIVE, default=None, metavar="INT",
                   help="the reports' coverage pass line per amplicon (default 5000)")
    common.add_counting(p)
    common.add_calling(p, matched=False)
    common.add_filters(p, for_call=True)
    p.add_argument("--workers", type=common.POSITIVE, default=os.cpu_count() or 1, metavar="N",
                   help="worker processes of the local Dask cluster, one sample each at a time (default: CPUs); "
                        "--threads is per sample")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on this dask.distributed scheduler instead (e.g. tcp://host:8786, or one started by "
                        "dask-jobqueue); its workers must share the file system of the inputs and OUTDIR")
    common.add_quiet(p)


def _is_sheet(inputs: list[str]) -> bool:
    """One input that is not an alignment file (by name, then by its first bytes) is a sample sheet."""
    if len(inputs) != 1:
        return False
    path = inputs[0]
    if path.lower().endswith((".bam", ".cram", ".sam")):
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError:
        return True                     # the sheet reader names the problem
    return not (head.startswith(b"\x1f\x8b") or head.startswith(b"CRAM") or head.startswith(b"@HD"))


@contextmanager
def _progress(quiet: bool) -> Iterator[Callable[[int, int, str], None] | None]:
    """A bar over the tasks on a terminal's stderr, drawn once the first task has finished."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    bars: list = []

    def update(done: int, total: int, label: str) -> None:
        if not bars:
            bars.append(tqdm(total=total, desc="cohort", unit="task", leave=False, file=sys.stderr,
                             dynamic_ncols=True))
        bars[0].set_postfix_str(label[-40:], refresh=False)
        bars[0].update(done - bars[0].n)

    try:
        yield update
    finally:
        for b in bars:
            b.close()


def run(args: argparse.Namespace) -> int:
    """``deepamp cohort``."""
    from deepamp.io.outputs import check_distinct

    if not _is_sheet(args.inputs):
        return _run_bams(args)
    from deepamp.workflow.cohort import cohort
    from deepamp.workflow.run import DEFAULT_ALIGNERS

    if args.control:
        raise common.UsageError("--control is for the BAM-list form: a sample sheet names its controls "
                                "(role control)")
    if args.region:
        raise common.UsageError("-r is for the BAM-list form: a sample sheet's samples are called on -l AMPLICONS.bed")
    if not args.bed:
        raise common.UsageError("give the amplicons: -l AMPLICONS.bed")
    sheet = args.inputs[0]
    check_distinct([args.out], [sheet, args.ref, args.bed, args.background, args.primers])
    options = common.call_options(args)
    with _progress(args.quiet) as progress:
        result = cohort(sheet, args.ref, args.bed, args.out, primers=args.primers,
                        aligners=args.aligners or DEFAULT_ALIGNERS, background=args.background,
                        workers=args.workers, scheduler=args.scheduler, threads=args.threads,
                        mate_memory=args.mate_memory, options=options,
                        index_cache=args.index_cache, genome=args.genome or "hg38",
                        report_min_cov=args.report_min_cov, command=common.command_line(args), progress=progress)
    called = result.called
    reused = sum(1 for o in called if o.result is not None and not o.result.ran)
    log.info(f"{len(called)} tumour(s) called ({reused} reused from an earlier run), {len(result.failed)} failed, "
             f"{len(result.control_bams)} control(s); {len(result.patient_pages)} patient page(s); "
             f"wrote {result.table} and {result.report}")
    print(result.report)
    if result.failed:
        log.error(f"{len(result.failed)} sample(s) failed: "
                  + "; ".join(f"{o.sample} ({o.error})" for o in result.failed))
        return 1
    return 0


def _run_bams(args: argparse.Namespace) -> int:
    """The BAM-list form: every BAM called as ``deepamp call`` would, into a new directory."""
    from deepamp.io.outputs import check_distinct
    from deepamp.workflow.cohort_bams import run_cohort

    given = [f"--{n.replace('_', '-')}" for n in _SHEET_ONLY if getattr(args, n) is not None]
    if given:
        raise common.UsageError(f"{given[0]} is for the sample-sheet form (deepamp cohort SAMPLES.tsv)")
    common.require_regions(args)
    options = common.call_options(args)
    check_distinct([args.out], [*args.inputs, args.ref, args.bed, args.background, *args.control])
    calls = run_cohort(args.inputs, args.out, reference=args.ref, bed=args.bed, regions=args.region or None,
                       background=args.background, control=args.control or None, options=options,
                       threads=args.threads, mate_memory=args.mate_memory, workers=args.workers,
                       scheduler=args.scheduler, command=common.command_line(args))
    n_samples = len(set(c.sample for c in calls))
    n_pass = sum(1 for c in calls if c.filter == "PASS")
    log.info(f"{len(args.inputs)} samples ({n_samples} with calls), {len(calls)} calls ({n_pass} PASS); "
             f"wrote {os.path.abspath(args.out)}")
    return 0
