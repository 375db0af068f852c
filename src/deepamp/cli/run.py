"""``deepamp run``: FASTQ (or a BAM) -> both aligners -> call -> concordance -> phase -> annotate -> report
(:mod:`deepamp.workflow.run`)."""

from __future__ import annotations

import argparse
import logging
import sys

from deepamp.cli import common

log = logging.getLogger("deepamp")

#: What an interrupted run leaves (OUTDIR is written in place so that it can resume).
INTERRUPTED = (("the step under way left nothing; steps that finished stay in the run directory and the same "
                "command goes on from there"))


def _aligners(text: str) -> list[str]:
    from deepamp.workflow.align import ALIGNERS

    names = [x.strip() for x in text.split(",") if x.strip()]
    if not names:
        raise argparse.ArgumentTypeError("name at least one aligner")
    bad = [x for x in names if x not in ALIGNERS]
    if bad:
        raise argparse.ArgumentTypeError(f"{bad[0]!r} is not one of {', '.join(ALIGNERS)}")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError("an aligner is named twice")
    return names


def configure(p: argparse.ArgumentParser) -> None:
    """Options of ``deepamp run``."""
    p.add_argument("bam", nargs="?", metavar="IN.bam",
                   help="an aligned, indexed BAM/CRAM instead of FASTQs (no alignment, no concordance)")
    p.add_argument("-1", "--r1", metavar="R1.fastq.gz", help="read 1 FASTQ (plain or gzip)")
    p.add_argument("-2", "--r2", metavar="R2.fastq.gz", help="read 2 FASTQ (plain or gzip)")
    p.add_argument("-f", "--ref", "--reference", dest="ref", required=True, metavar="REF.fa",
                   help="reference FASTA (the shipped slice chr2:29191796-29223795 works: outputs are in chr2 "
                        "coordinates)")
    p.add_argument("-l", "--bed", required=True, metavar="AMPLICONS.bed", help="the amplicons (BED, 0-based)")
    common.add_output(p, metavar="OUTDIR",
                      help="run directory: BAMs, VCFs, annotation, report, run.log (a finished one is reused)")
    p.add_argument("--sample", metavar="NAME", help="sample name (default: the BAM's SM, or the FASTQ name)")
    p.add_argument("--aligners", type=_aligners, default=["bwa", "bowtie2"], metavar="bwa,bowtie2",
                   help="the alignments to make and call; with two, calls passing in both are strong evidence "
                        "and the others get FILTER weak_evidence (default bwa,bowtie2, as Villa et al. 2024)")
    p.add_argument("--index-cache", metavar="DIR",
                   help="where missing aligner indexes are built (default: $XDG_CACHE_HOME/deepamp/index)")
    p.add_argument("--genome", choices=("hg38", "hg19", "GRCh38", "GRCh37"), default="hg38",
                   help="genome build, for the annotation (default hg38)")
    p.add_argument("--report-min-cov", type=common.NON_NEGATIVE, default=None, metavar="INT",
                   help="the report's coverage pass line per amplicon (default 5000, as Villa et al. 2024)")
    common.add_primers(p, bed_flag=False)
    common.add_counting(p)
    common.add_calling(p)
    common.add_filters(p, for_call=True)
    common.add_quiet(p)


def run(args: argparse.Namespace) -> int:
    """``deepamp run``."""
    from deepamp.workflow.run import run as run_flow

    if args.bam and (args.r1 or args.r2):
        raise common.UsageError("give FASTQs (--r1/--r2) or a BAM, not both")
    if not args.bam and not (args.r1 and args.r2):
        raise common.UsageError("give the reads: --r1 and --r2, or an aligned BAM")
    options = common.call_options(args)
    if options.hotspots is None:
        options = options.replace(hotspots="shipped")
    on_terminal = sys.stderr.isatty() and not args.quiet

    def step_done(i: int, n: int, name: str, state: str, seconds: float) -> None:
        if on_terminal or args.verbose:
            log.info(f"[{i}/{n}] {name}: " + ("up to date" if state == "reused" else f"done in {seconds:.1f} s"))

    result = run_flow(args.ref, args.bed, args.out, r1=args.r1, r2=args.r2, bam=args.bam, sample=args.sample,
                      aligners=args.aligners, background=args.background, control=args.control,
                      matched_normal=args.matched_normal, options=options, threads=args.threads,
                      mate_memory=args.mate_memory,
                      index_cache=args.index_cache, genome=args.genome, report_min_cov=args.report_min_cov,
                      command=common.command_line(args), step_done=step_done, primers=args.primers,
                      primer_length=args.primer_length, primer_tolerance=args.start_tolerance)
    done = "nothing to do: every step is up to date" if not result.ran else \
        f"{len(result.ran)} steps run, {len(result.reused)} up to date"
    log.info(f"{result.sample}: {done}; run log {result.outdir}/run.log")
    print(result.report)
    return 0
