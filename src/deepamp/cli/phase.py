"""``deepamp phase``: cis/trans phasing of nearby SNVs from fragments (:mod:`deepamp.phase`)."""

from __future__ import annotations

import argparse
import logging

from deepamp.cli import common

log = logging.getLogger("deepamp")


def configure(p: argparse.ArgumentParser) -> None:
    """Options of ``deepamp phase``."""
    from deepamp.phase import DEFAULT_ALPHA, __doc__ as doc

    p.description = (doc or "").split("\n\n")[0] + " See the module documentation for the test."
    p.add_argument("bam", metavar="IN.bam", help="coordinate-sorted, indexed BAM/CRAM")
    p.add_argument("-i", "--vcf", "--input", dest="vcf", required=True, metavar="calls.vcf[.gz]",
                   help="called variants (deepamp or LoFreq VCF)")
    common.add_output(p, metavar="phased.vcf[.gz]",
                      help="input records + INFO PS and PHASE (.gz: bgzipped and tabix-indexed; '-': stdout)")
    p.add_argument("--tsv", metavar="pairs.tsv", default=None, help="per-pair fragment counts and relation")
    p.add_argument("--annotate-tsv", metavar="phase.tsv", default=None,
                   help="pairs as mutA<TAB>mutB<TAB>relation with protein names, the format of "
                        "`deepamp annotate --phase` (pairs without a protein change are left out)")
    p.add_argument("--genome", choices=("hg38", "hg19"), default="hg38",
                   help="genome build for --annotate-tsv (default hg38)")
    p.add_argument("-f", "--ref", "--reference", dest="ref", default=None, metavar="REF.fa",
                   help="reference FASTA (CRAM input)")
    common.add_counting(p, threads=False, mate_memory=False, merge_mates=False)
    p.add_argument("--min-mapq", dest="min_mq", type=common.QUALITY, help=argparse.SUPPRESS)
    p.add_argument("--flag-exclude", type=common.flag_mask, default=None, metavar="FLAGS",
                   help="skip reads with any of these SAM flags (overrides --keep-duplicates and "
                        "--incl-supplementary; default 0xF04)")
    p.add_argument("--max-distance", type=common.POSITIVE, default=None, metavar="BP",
                   help="count fragments only for pairs at most this many bases apart; farther pairs are "
                        "reported undetermined with spanning=0 (default: every pair; those farther apart than "
                        "any fragment at their sites get spanning=0 and a note)")
    p.add_argument("--alpha", type=common.float_range(0.0, 1.0, lo_open=True, hi_open=True),
                   default=DEFAULT_ALPHA, metavar="FLOAT",
                   help=f"level of the cis and trans tests and of their power requirement, in (0, 1) "
                        f"(default {DEFAULT_ALPHA:g})")
    p.add_argument("--all-records", action="store_true",
                   help="phase non-PASS records too (default: PASS or '.' only)")
    common.add_quiet(p)


def run(args: argparse.Namespace) -> int:
    """``deepamp phase``."""
    from deepamp.io.outputs import check_distinct, check_writable
    from deepamp.phase import phase_vcf

    outs = [args.out, args.tsv, args.annotate_tsv]
    for path in outs:
        if path is not None:
            check_writable(path)
    if args.out.endswith(".gz"):
        outs.append(args.out + ".tbi")
    check_distinct(outs, [args.bam, args.vcf, args.ref])
    opts = common.count_options(args)
    results = phase_vcf(args.bam, args.vcf, args.out, tsv=args.tsv, annotate_tsv=args.annotate_tsv,
                        genome=args.genome, reference=args.ref, min_mapq=opts.min_mapq, min_bq=opts.min_bq,
                        min_alt_bq=opts.min_alt_bq, flag_exclude=opts.flag_exclude if args.flag_exclude is None else args.flag_exclude,
                        max_distance=args.max_distance, alpha=args.alpha, all_records=args.all_records)
    counts = {r: sum(1 for x in results if x.relation == r) for r in ("cis", "trans", "undetermined")}
    log.info(f"{len(results)} pairs: {counts['cis']} cis, {counts['trans']} trans, "
             f"{counts['undetermined']} undetermined")
    return 0
