"""``deepamp cohort``: every sample of a cohort called as one Dask task (:mod:`deepamp.workflow.cohort`)."""

from __future__ import annotations

import argparse
import logging
import os

from deepamp.cli import common

log = logging.getLogger("deepamp")


def configure(p: argparse.ArgumentParser) -> None:
    """Options of ``deepamp cohort``: those of ``deepamp call``, BAMs and an output directory."""
    p.add_argument("bams", nargs="+", metavar="IN.bam", help="indexed, coordinate-sorted BAMs or CRAMs, one sample each")
    common.add_panel(p)
    common.add_output(p, metavar="OUT_DIR", help="new directory for the VCFs (SAMPLE.vcf.gz) and cohort.tsv")
    common.add_counting(p)
    common.add_calling(p, matched=False)
    common.add_filters(p, for_call=True)
    p.add_argument("--workers", type=common.POSITIVE, default=os.cpu_count() or 1, metavar="N",
                   help="local worker processes, one sample each at a time (default: CPUs); "
                        "--threads is per sample")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on this dask.distributed scheduler instead (e.g. tcp://host:8786); "
                        "the workers must share the file system of the BAMs and the output")
    common.add_quiet(p)


def run(args: argparse.Namespace) -> int:
    """``deepamp cohort``."""
    from deepamp.io.outputs import check_distinct
    from deepamp.workflow.cohort import run_cohort

    common.require_regions(args)
    options = common.call_options(args)
    check_distinct([args.out], [*args.bams, args.ref, args.bed, args.background, *args.control])
    calls = run_cohort(args.bams, args.out, reference=args.ref, bed=args.bed, regions=args.region or None,
                       background=args.background, control=args.control or None, options=options,
                       threads=args.threads, mate_memory=args.mate_memory, workers=args.workers,
                       scheduler=args.scheduler, command=common.command_line(args))
    n_samples = len(set(c.sample for c in calls))
    n_pass = sum(1 for c in calls if c.filter == "PASS")
    log.info(f"{len(args.bams)} samples ({n_samples} with calls), {len(calls)} calls ({n_pass} PASS); "
             f"wrote {os.path.abspath(args.out)}")
    return 0
