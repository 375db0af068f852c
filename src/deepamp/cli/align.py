"""``deepamp align``: paired FASTQs -> bwa mem or bowtie2 --very-sensitive-local -> sorted, indexed BAM."""

from __future__ import annotations

import argparse
import logging

from deepamp.cli import common

log = logging.getLogger("deepamp")


def contig_length(text: str) -> tuple[str, int]:
    """``NAME=LENGTH`` (argparse type of ``--contig-length``)."""
    name, sep, num = text.rpartition("=")
    try:
        length = int(num, 10)
    except ValueError:
        length = 0
    if not sep or not name or length < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=LENGTH with a positive length, e.g. chr2=242193529")
    return name, length


def configure(p: argparse.ArgumentParser) -> None:
    """Options of ``deepamp align``."""
    from deepamp.workflow.align import ALIGNERS

    p.add_argument("-f", "--ref", "--reference", dest="ref", required=True, metavar="REF.fa",
                   help="reference FASTA")
    p.add_argument("-1", "--r1", dest="r1", required=True, metavar="R1.fastq.gz", help="read 1 FASTQ (plain or gzip)")
    p.add_argument("-2", "--r2", dest="r2", required=True, metavar="R2.fastq.gz", help="read 2 FASTQ (plain or gzip)")
    p.add_argument("--aligner", choices=ALIGNERS, default="bwa",
                   help="bwa = bwa mem (default settings); bowtie2 = bowtie2 --very-sensitive-local "
                        "(the two alignments of Villa et al. 2024)")
    common.add_output(p, metavar="OUT.bam", help="sorted BAM (+ .bai)")
    p.add_argument("--threads", type=common.POSITIVE, default=1, metavar="N", help="aligner and sort threads")
    p.add_argument("--trim-5p", type=common.NON_NEGATIVE, default=0, metavar="N",
                   help="remove N bases from the 5' end of every read first (e.g. UMIs)")
    p.add_argument("--sample", metavar="NAME", help="read group ID/SM (default: output name)")
    p.add_argument("--contig-length", type=contig_length, action="append", default=[], metavar="NAME=LEN",
                   help="BAM header length of a contig the FASTA holds only slices of (repeatable; default: "
                        "its GRCh38 length for chr2 and chr6, else required)")
    common.add_primers(p)
    p.add_argument("--index-cache", metavar="DIR",
                   help="where missing aligner indexes are built (default: "
                        "$XDG_CACHE_HOME/deepamp/index or ~/.cache/deepamp/index)")
    common.add_quiet(p)


def run(args: argparse.Namespace) -> int:
    """``deepamp align``."""
    from deepamp.io.outputs import check_distinct
    from deepamp.workflow.align import align

    scheme = common.primer_scheme(args)
    check_distinct([args.out, args.out + ".bai"], [args.ref, args.r1, args.r2, args.primers, args.bed])
    result = align(args.ref, args.r1, args.r2, args.out, args.aligner, threads=args.threads,
                   trim_5p=args.trim_5p, sample=args.sample, cache_dir=args.index_cache,
                   contig_lengths=dict(args.contig_length), primers=scheme, primer_tolerance=args.start_tolerance)
    contigs = ", ".join(f"{c} ({n:,} bp)" for c, n in result.contigs.items())
    log.info(f"{result.pairs} read pairs aligned with {args.aligner} -> {args.out} (contigs: {contigs})")
    return 0
