"""``deepamp annotate``: HGVS annotation, resistance evidence and inhibitor ranking of a VCF
(:mod:`deepamp.annotate.vcf_annotation`)."""

from __future__ import annotations

import argparse
import logging

from deepamp.cli import common

log = logging.getLogger("deepamp")


def configure(p: argparse.ArgumentParser) -> None:
    """Options of ``deepamp annotate``."""
    p.add_argument("vcf", metavar="IN.vcf", help="input VCF (deepamp or LoFreq; plain, bgzip or gzip)")
    common.add_output(p, metavar="PREFIX",
                      help="output prefix: writes PREFIX.tsv, PREFIX.json, PREFIX.vcf and PREFIX.ranking.tsv")
    p.add_argument("--genome", choices=("hg38", "hg19", "GRCh38", "GRCh37"), default="hg38",
                   help="genome build of the VCF: hg38 (GRCh38, default) or hg19 (GRCh37)")
    p.add_argument("--transcripts", metavar="JSON", default=None,
                   help="extra transcript JSON (schema in the package's annotate/data/README.md)")
    p.add_argument("--phase", metavar="TSV", default=None,
                   help="phase relations for the ranking: mutA<TAB>mutB<TAB>cis|trans|undetermined "
                        "(default: from the INFO PS/PHASE of a `deepamp phase` VCF)")
    common.add_quiet(p)


def run(args: argparse.Namespace) -> int:
    """``deepamp annotate``."""
    from deepamp.annotate.vcf_annotation import OUTPUT_SUFFIXES, annotate_vcf
    from deepamp.io.outputs import check_distinct, check_writable

    outs = [f"{args.out}.{ext}" for ext in OUTPUT_SUFFIXES]
    for path in outs:
        check_writable(path)
    check_distinct(outs, [args.vcf, args.phase, args.transcripts])
    result = annotate_vcf(args.vcf, genome=args.genome, transcripts=args.transcripts, phase=args.phase)
    result.write(args.out)
    n_bypass = sum(1 for row in result.rows if row[17])
    log.info(f"{len(result.rows)} alleles annotated ({n_bypass} off-target); wrote {', '.join(outs)}")
    return 0
