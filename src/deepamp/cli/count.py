"""``deepamp count``: the per-position x symbol x strand table of a BAM, as TSV or .npz."""

from __future__ import annotations

import argparse
import logging

from deepamp.cli import common

log = logging.getLogger("deepamp")


def configure(p: argparse.ArgumentParser) -> None:
    """Options of ``deepamp count``."""
    p.add_argument("bam", metavar="IN.bam", help="indexed, coordinate-sorted BAM or CRAM")
    common.add_panel(p, ref_required=False)
    common.add_output(p, metavar="OUT.tsv|OUT.npz",
                      help="count table: .npz = compact binary (deepamp.load_counts), else TSV ('-': stdout)")
    common.add_counting(p)
    common.add_quiet(p)


def run(args: argparse.Namespace) -> int:
    """``deepamp count``: write the table."""
    from deepamp.counting.bam import count
    from deepamp.io.outputs import check_distinct, check_writable

    common.require_regions(args)
    check_writable(args.out)
    check_distinct([args.out], [args.bam, args.ref, args.bed])
    npz = args.out.endswith(".npz")
    counts = count(args.bam, args.region or None, bed=args.bed, reference=args.ref,
                   options=common.count_options(args), threads=args.threads, qual_hist=npz,
                   mate_memory=args.mate_memory)
    if npz:
        counts.save(args.out)
    else:
        counts.write_tsv(args.out)
    for line in counts.summary_lines():
        log.info(line)
    return 0
