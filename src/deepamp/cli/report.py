"""``deepamp report``: one self-contained HTML page for an annotated sample (:mod:`deepamp.report`)."""

from __future__ import annotations

import argparse

from deepamp.cli import common


def configure(p: argparse.ArgumentParser) -> None:
    """Options of ``deepamp report``."""
    p.add_argument("--vcf", required=True, metavar="IN.vcf",
                   help="VCF from `deepamp call` (or after `deepamp phase`)")
    p.add_argument("--annotation", required=True, metavar="JSON", help="PREFIX.json from `deepamp annotate`")
    common.add_output(p, metavar="report.html", help="HTML report to write")
    common.add_quiet(p)


def run(args: argparse.Namespace) -> int:
    """``deepamp report``."""
    from deepamp.io.outputs import check_distinct, check_writable
    from deepamp.report import write_report

    check_writable(args.out)
    check_distinct([args.out], [args.vcf, args.annotation])
    write_report(args.vcf, args.annotation, args.out)
    return 0
