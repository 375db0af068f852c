"""``deepamp demo``: the whole flow of ``deepamp run`` on bundled data (:mod:`deepamp.workflow.demo`)."""

from __future__ import annotations

import argparse

from deepamp.cli import common


def configure(p: argparse.ArgumentParser) -> None:
    """Options of ``deepamp demo``."""
    from deepamp.workflow.demo import DEFAULT_DEMO_DIR

    p.add_argument("-o", "--out", "--outdir", dest="outdir", metavar="DIR", default=DEFAULT_DEMO_DIR,
                   help=f"the demo directory: simulated reads, control BAMs and the run's files, report "
                        f"included (default ./{DEFAULT_DEMO_DIR}; reused when run again)")
    p.add_argument("--pairs", type=common.POSITIVE, default=25000, metavar="N",
                   help="read pairs per amplicon (default 25000)")
    p.add_argument("--threads", type=common.POSITIVE, default=2, metavar="N", help="threads (default 2)")
    p.add_argument("--seed", type=int, default=7, metavar="N", help="tumour sample seed (default 7)")
    p.add_argument("--controls", type=common.NON_NEGATIVE, default=4, metavar="N",
                   help="healthy controls simulated from the same run for the background (default 4; "
                        "0 = quality model only)")
    p.add_argument("--panel", choices=("alk", "bypass"), default="alk",
                   help="alk: ALK exons 22-25 on the shipped slice (default); bypass: those plus ten bypass-gene "
                        "hotspot amplicons (EGFR, KRAS, BRAF, MAP2K1, PIK3CA, NRAS, IDH2) on a reference of "
                        "several slices, the tumour carrying an EGFR exon 19 deletion and BRAF V600E")
    p.add_argument("--no-align", action="store_true",
                   help="call the simulator's BAM instead of aligning the FASTQs (as when no aligner is installed)")
    common.add_quiet(p)


def run(args: argparse.Namespace) -> int:
    """Simulate, run the whole flow, print truth vs calls and the report's path; exit 1 if a spike was missed."""
    import logging

    from deepamp.workflow.demo import run_demo

    if not args.verbose:        # the steps' own status lines are for --verbose; the table says what happened
        logging.getLogger("deepamp").setLevel(logging.WARNING)
    result = run_demo(args.outdir, pairs=args.pairs, threads=args.threads, seed=args.seed, controls=args.controls,
                      aligners=[] if args.no_align else None, panel=args.panel)
    return 0 if result.ok else 1
