"""``deepamp clip``: soft-clip primer bases of an amplicon BAM (as samtools ampliconclip / ivar trim)."""

from __future__ import annotations

import argparse

from deepamp.cli import common


def configure(p: argparse.ArgumentParser) -> None:
    """Options of ``deepamp clip``."""
    p.add_argument("bam", metavar="IN.bam", help="input SAM/BAM, in any order")
    common.add_output(p, metavar="OUT.bam", help="clipped, sorted BAM (+ .bai)")
    common.add_primers(p)
    p.add_argument("--threads", type=common.POSITIVE, default=1, metavar="N", help="collate and sort threads")
    common.add_quiet(p)


def run(args: argparse.Namespace) -> int:
    """``deepamp clip``."""
    from deepamp.io.outputs import check_distinct
    from deepamp.workflow.clip_bam import clip_bam

    scheme = common.primer_scheme(args)
    if scheme is None:
        raise common.UsageError("give the primers: --primers PRIMERS.bed, or -l AMPLICONS.bed --primer-length N[,M]")
    check_distinct([args.out, args.out + ".bai"], [args.bam, args.primers, args.bed])
    clip_bam(args.bam, args.out, scheme, tolerance=args.start_tolerance, threads=args.threads)
    return 0
