"""``deepamp simulate``: deep-amplicon reads with a run-level error profile into a sorted, indexed BAM."""

from __future__ import annotations

import argparse
import logging

from deepamp.cli import common

log = logging.getLogger("deepamp")


def configure(parser: argparse.ArgumentParser) -> None:
    from deepamp.simulate import QUALITY_MODELS

    """Add the ``deepamp simulate`` options to ``parser``."""
    parser.add_argument("-f", "--ref", "--reference", dest="reference", required=True, metavar="FASTA",
                        help="reference FASTA (slice records like chr2:29191796-29223795 allowed)")
    parser.add_argument("-l", "--bed", "--amplicons", dest="amplicons", required=True, metavar="BED",
                        help="amplicons, primer end to primer end (BED, 4th column = name)")
    parser.add_argument("-o", "--out", "--output", dest="output", required=True, metavar="BAM",
                        help="output BAM (.bai and .truth.tsv are written next to it)")
    parser.add_argument("--fastq", metavar="PREFIX",
                        help="also write the pairs as sequenced to PREFIX_R1.fastq.gz and PREFIX_R2.fastq.gz "
                             "(input for deepamp align)")
    parser.add_argument("--pairs", type=common.POSITIVE, default=25000, metavar="N",
                        help="read pairs per amplicon (default 25000)")
    parser.add_argument("--read-length", type=common.int_range(30), default=150, metavar="N",
                        help="read length (default 150)")
    parser.add_argument("--spike", action="append", default=[], metavar="CONTIG:POS:REF:ALT:VAF[:GROUP]",
                        help="spike a variant (repeatable); same GROUP = same molecules (cis), "
                             "different/no group = disjoint molecules (trans)")
    parser.add_argument("--spikes-tsv", metavar="TSV",
                        help="spikes as TSV: contig, pos, ref, alt, vaf[, molecule_group]")
    parser.add_argument("--run-seed", type=int, default=1, metavar="N",
                        help="seed of the run-level error profile shared by samples (default 1)")
    parser.add_argument("--seed", type=int, default=2, metavar="N",
                        help="seed of this sample (default 2)")
    parser.add_argument("--contig-length", action="append", default=[], metavar="[CONTIG=]LEN",
                        help="@SQ length (e.g. chr2=242193529); default: end of the reference slice")
    parser.add_argument("--primer-length", type=common.primer_length, default=0, metavar="N[,M]",
                        help="the first N (left) and last M (right) bases of every amplicon are primer: they come "
                             "from the oligo (the reference), not the template (default: none)")
    parser.add_argument("--copy-number", action="append", default=[], type=copy_number, metavar="NAME=FACTOR",
                        help="copy-number change: amplicon NAME gets FACTOR times the molecules (its depth ratio, "
                             "e.g. 2 for a gain, 0.5 for a loss; repeatable)")
    parser.add_argument("--amplicon-jitter", type=common.float_range(0.0), default=0.0, metavar="SD",
                        help="sample-to-sample variation of each amplicon's yield: molecules x exp(SD*z) drawn "
                             "from --seed (0.05 is about 5%%; default 0)")
    parser.add_argument("--amplicon-efficiency-sd", type=common.float_range(0.0), default=0.0, metavar="SD",
                        help="run-level amplicon efficiency, shared by the samples of a --run-seed: molecules x "
                             "exp(SD*z) (default 0)")
    parser.add_argument("--quality-model", choices=QUALITY_MODELS, default="novaseq",
                        help="reported base qualities (default novaseq: binned 2/12/23/37)")
    parser.add_argument("--sample", metavar="NAME", help="read group sample name "
                        "(default: output file name)")
    parser.add_argument("--threads", type=common.POSITIVE, default=1, metavar="N",
                        help="threads for sorting/compression (default 1)")
    common.add_quiet(parser)


def copy_number(text: str) -> tuple[str, float]:
    """``NAME=FACTOR`` with a finite FACTOR > 0."""
    name, sep, value = text.rpartition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=FACTOR (an amplicon name of the BED)")
    try:
        factor = common.float_range(0.0, lo_open=True)(value)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: the factor {exc}") from None
    return name, factor


def run(args: argparse.Namespace) -> int:
    """Run ``deepamp simulate`` from parsed arguments; returns 0.

    Raises
    ------
    DeepampError
        Subclasses describing the bad input or unwritable output.
    """
    from deepamp.io.outputs import check_distinct
    from deepamp.simulate import fastq_names, parse_contig_lengths, parse_spike, read_spikes_tsv, simulate

    fastqs = fastq_names(args.fastq) if args.fastq is not None else ()
    check_distinct([args.output, args.output + ".bai", *fastqs], [args.reference, args.amplicons, args.spikes_tsv])
    spikes = [parse_spike(s) for s in args.spike]
    if args.spikes_tsv:
        spikes += read_spikes_tsv(args.spikes_tsv)
    lengths = parse_contig_lengths(args.contig_length)
    factors: dict[str, float] = {}
    for name, factor in args.copy_number:
        if name in factors:
            raise common.UsageError(f"--copy-number {name}: given twice")
        factors[name] = factor
    res = simulate(args.reference, args.amplicons, args.output, pairs_per_amplicon=args.pairs,
                   read_length=args.read_length, spikes=spikes, run_seed=args.run_seed,
                   sample_seed=args.seed, contig_length=lengths,
                   quality_model=args.quality_model, sample=args.sample,
                   threads=max(1, args.threads), fastq=args.fastq, primer_length=args.primer_length,
                   copy_number=factors, amplicon_jitter_sd=args.amplicon_jitter,
                   amplicon_efficiency_sd=args.amplicon_efficiency_sd)
    log.info(f"wrote {res.n_reads} reads ({res.n_pairs} pairs) to {res.bam} in {res.seconds:.1f} s; "
             f"truth in {res.truth}" + (f"; FASTQs {res.fastq[0]}, {res.fastq[1]}" if res.fastq else ""))
    return 0
