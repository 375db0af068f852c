"""``deepamp concordance``: merge two aligners' VCFs into strong / weak evidence (:mod:`deepamp.concordance`)."""

from __future__ import annotations

import argparse
import logging

from deepamp.cli import common

log = logging.getLogger("deepamp")


def configure(p: argparse.ArgumentParser) -> None:
    """Options of ``deepamp concordance``."""
    p.add_argument("vcf_a", metavar="A.vcf", help="VCF called on the first alignment (primary: FILTER, QUAL, INFO)")
    p.add_argument("vcf_b", metavar="B.vcf", help="VCF called on the second alignment")
    common.add_output(p, default="-", metavar="OUT.vcf",
                      help="output VCF; .vcf.gz is bgzipped and tabix-indexed (default: stdout)")
    p.add_argument("-f", "--ref", "--reference", dest="ref", default=None, metavar="REF.fa",
                   help="reference FASTA to left-align indels against (default: the inputs' ##reference "
                        "file if it exists; else indels are matched as written)")
    p.add_argument("--labels", default="bwa,bowtie2", metavar="A,B",
                   help="names of the two alignments, used in INFO keys (default bwa,bowtie2)")
    p.add_argument("--filter-weak", action="store_true",
                   help="add FILTER weak_evidence to alleles not passing in both (the study discarded them)")
    common.add_quiet(p)


def run(args: argparse.Namespace) -> int:
    """``deepamp concordance``."""
    from deepamp.concordance import write_concordance
    from deepamp.io.outputs import check_distinct, check_writable

    check_writable(args.out)
    check_distinct([args.out, args.out + ".tbi" if args.out.endswith(".gz") else None],
                   [args.vcf_a, args.vcf_b, args.ref])
    tally = write_concordance(args.out, args.vcf_a, args.vcf_b, args.labels.split(","), args.filter_weak,
                              command=common.command_line(args), reference=args.ref)
    log.info(f"{tally['strong']} strong, {tally['weak']} weak, {tally['none']} passing in neither")
    return 0
