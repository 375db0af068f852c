"""``deepamp background``: learn the per-site error background from healthy-control BAMs."""

from __future__ import annotations

import argparse
import logging

from deepamp.cli import common

log = logging.getLogger("deepamp")


def configure(p: argparse.ArgumentParser) -> None:
    """Options of ``deepamp background`` (counting options as in ``deepamp call``)."""
    from deepamp.models.background import BackgroundParams

    p.add_argument("controls", nargs="+", metavar="CONTROL.bam",
                   help="healthy-control BAMs (indexed), each given once")
    common.add_panel(p)
    common.add_output(p, metavar="BG_FILE", help="background file (.npz)")
    common.add_counting(p)
    p.add_argument("--outlier-alpha", type=common.PROBABILITY, default=BackgroundParams.outlier_alpha,
                   metavar="FLOAT", help="Bonferroni level of the per-control outlier test (default 0.001)")
    common.add_quiet(p)


def run(args: argparse.Namespace) -> int:
    """``deepamp background``: count the controls, fit, write BG_FILE, log the summary."""
    from deepamp.cli.progress import progress_bar
    from deepamp.io.outputs import check_distinct, check_writable
    from deepamp.models.background import BackgroundParams
    from deepamp.models.background_fit import learn

    common.require_regions(args)
    check_writable(args.out)
    check_distinct([args.out], [*args.controls, args.ref, args.bed])
    with progress_bar(len(args.controls), "controls") as progress:
        bg = learn(args.controls, reference=args.ref, bed=args.bed, regions=args.region or None,
                   options=common.count_options(args), params=BackgroundParams(outlier_alpha=args.outlier_alpha),
                   threads=args.threads, mate_memory=args.mate_memory, progress=progress)
    bg.save(args.out)
    for line in bg.summary_lines():
        log.info(line)
    return 0
