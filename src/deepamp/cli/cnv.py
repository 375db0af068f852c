"""``deepamp cnv``: per-amplicon copy-number gains and losses against healthy controls, over
:func:`deepamp.copy_number`."""

from __future__ import annotations

import argparse
import logging

from deepamp.cli import common

log = logging.getLogger("deepamp")


def configure(p: argparse.ArgumentParser) -> None:
    """Options of ``deepamp cnv``."""
    p.add_argument("bam", metavar="SAMPLE.bam", help="indexed, coordinate-sorted BAM or CRAM to test")
    p.add_argument("-f", "--ref", "--reference", dest="ref", required=True, metavar="REF.fa", help="reference FASTA")
    p.add_argument("-l", "--bed", required=True, metavar="AMPLICONS.bed",
                   help="the amplicons, named (BED; the gene is the name up to the first '_', e.g. ALK_ex23)")
    p.add_argument("--control", action="append", default=[], required=True, metavar="CONTROL.bam",
                   help="a healthy control of the same panel, ideally the same run (repeatable; at least 3, "
                        "8 or more recommended)")
    common.add_output(p, default="-", metavar="OUT.tsv", help="per-amplicon table (default: stdout)")
    p.add_argument("-a", "--alpha", type=common.float_range(0.0, 1.0, lo_open=True, hi_open=True), default=0.05,
                   metavar="FLOAT", help="significance of the Holm-adjusted p-values (default 0.05)")
    p.add_argument("--confidence", type=common.float_range(0.0, 1.0, lo_open=True, hi_open=True), default=0.95,
                   metavar="FLOAT", help="level of the ratio's interval (default 0.95)")
    common.add_counting(p, mate_memory=False)
    common.add_quiet(p)


def run(args: argparse.Namespace) -> int:
    """``deepamp cnv``: count the sample and the controls, test, write the table."""
    from deepamp.io.outputs import check_distinct, check_writable
    from deepamp.models.copy_number import CopyNumberOptions, copy_number

    options = CopyNumberOptions(count=common.count_options(args), alpha=args.alpha, confidence=args.confidence)
    check_writable(args.out)
    check_distinct([args.out], [args.bam, args.ref, args.bed, *args.control])
    result = copy_number(args.bam, args.control, reference=args.ref, bed=args.bed, options=options,
                         threads=args.threads)
    result.write_tsv(args.out)
    for line in result.summary_lines():
        log.info(line)
    return 0
