"""``deepamp demo``: the main job on bundled data (:mod:`deepamp.workflow.demo`)."""

from __future__ import annotations

import argparse

from deepamp.cli import common


def configure(p: argparse.ArgumentParser) -> None:
    """Options of ``deepamp demo``."""
    p.add_argument("-o", "--out", "--outdir", dest="outdir", metavar="DIR",
                   help="keep the simulated BAMs and the VCF here (default: a temporary directory)")
    p.add_argument("--pairs", type=common.POSITIVE, default=25000, metavar="N",
                   help="read pairs per amplicon (default 25000)")
    p.add_argument("--threads", type=common.POSITIVE, default=2, metavar="N", help="threads (default 2)")
    p.add_argument("--seed", type=int, default=7, metavar="N", help="tumour sample seed (default 7)")
    p.add_argument("--controls", type=common.NON_NEGATIVE, default=4, metavar="N",
                   help="healthy controls simulated from the same run for the background (default 4; "
                        "0 = quality model only)")
    common.add_quiet(p)


def run(args: argparse.Namespace) -> int:
    """Simulate, call and print truth vs calls; exit 1 if a spiked mutation was missed."""
    from deepamp.workflow.demo import run_demo

    ok = run_demo(args.outdir, pairs=args.pairs, threads=args.threads, seed=args.seed, controls=args.controls)
    return 0 if ok else 1
