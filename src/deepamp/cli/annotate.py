"""``deepamp annotate``: HGVS annotation, resistance evidence and inhibitor ranking of a VCF."""

from __future__ import annotations

import argparse


def configure(p: argparse.ArgumentParser) -> None:
    """Options of ``deepamp annotate``."""
    from deepamp.annotate.cli import configure_parser
    from deepamp.cli.common import add_quiet

    configure_parser(p)
    add_quiet(p)


def run(args: argparse.Namespace) -> int:
    """``deepamp annotate``."""
    from deepamp.annotate.cli import run as annotate
    from deepamp.io.outputs import check_distinct

    check_distinct([f"{args.output}.{ext}" for ext in ("tsv", "json", "vcf")], [args.vcf, args.phase,
                                                                               args.transcripts])
    return annotate(args)
