"""``deepamp demo``: the main job on bundled data.

Simulates one sequencing run of ALK exon 22-25 amplicons on the shipped
GRCh38 slice at 25,000 read pairs each: healthy controls and a tumour with
known resistance mutations at low VAF, sharing the run's error artefacts.
Learns the per-site background from the controls, calls the tumour with the
quality-only model (LoFreq's null) and with the background model, and prints
truth vs calls for both.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from importlib import resources

from deepamp.simulate import Spike

GRCH38_CHR2_LENGTH = 242_193_529  # GRCh38 primary assembly, chr2

#: Resistance mutations spiked by the demo (GRCh38, plus strand; see data/README.md).
DEMO_SPIKES = (
    Spike("chr2", 29220747, "C", "T", 0.010),   # ALK G1202R
    Spike("chr2", 29220765, "G", "T", 0.005),   # ALK L1196M
    Spike("chr2", 29209816, "C", "G", 0.020),   # ALK G1269A
    Spike("chr2", 29222392, "C", "T", 0.003),   # ALK C1156Y
)
DEMO_LABELS = {29220747: "ALK G1202R", 29220765: "ALK L1196M", 29209816: "ALK G1269A",
               29222392: "ALK C1156Y"}


def data_path(name: str) -> str:
    """Path of a file shipped in deepamp/data."""
    return str(resources.files("deepamp") / "data" / name)


def configure_parser(p: argparse.ArgumentParser) -> None:
    """Options of ``deepamp demo``."""
    p.add_argument("-o", "--outdir", metavar="DIR",
                   help="keep the simulated BAM and the VCF here (default: a temporary directory)")
    p.add_argument("--pairs", type=int, default=25000, metavar="N", help="read pairs per amplicon (default 25000)")
    p.add_argument("--threads", type=int, default=2, metavar="N", help="threads (default 2)")
    p.add_argument("--seed", type=int, default=7, metavar="N", help="tumour sample seed (default 7)")
    p.add_argument("--controls", type=int, default=4, metavar="N",
                   help="healthy controls simulated from the same run for the background (default 4; "
                        "0 = quality model only)")


def run(args: argparse.Namespace) -> int:
    """Simulate, call and print truth vs calls."""
    if args.outdir:
        os.makedirs(args.outdir, exist_ok=True)
        return _run_in(args, args.outdir)
    with tempfile.TemporaryDirectory(prefix="deepamp-demo-") as tmp:
        return _run_in(args, tmp)


def _run_in(args: argparse.Namespace, outdir: str) -> int:
    from deepamp.calling.snvs import CallParams, call_snvs
    from deepamp.cli.call import stats_header_lines, summary_lines
    from deepamp.counting.bam import count
    from deepamp.simulate import simulate
    from deepamp.io.vcf import VcfHeader, write_vcf

    ref = data_path("ALK_hg38_chr2_29191796-29223795.fa")
    bed = data_path("alk_exons22-25_amplicons.bed")
    bam = os.path.join(outdir, "demo_tumour.bam")
    vcf = os.path.join(outdir, "demo_tumour.vcf.gz")
    lengths = {"chr2": GRCH38_CHR2_LENGTH}
    t0 = time.perf_counter()
    simulate(ref, bed, bam, pairs_per_amplicon=args.pairs, spikes=DEMO_SPIKES, run_seed=1,
             sample_seed=args.seed, contig_length=lengths, sample="demo_tumour")
    controls = []
    for i in range(args.controls):
        controls.append(os.path.join(outdir, f"demo_control{i + 1}.bam"))
        simulate(ref, bed, controls[-1], pairs_per_amplicon=args.pairs, run_seed=1,
                 sample_seed=1000 + i, contig_length=lengths, sample=f"demo_control{i + 1}")
    t1 = time.perf_counter()
    counts = count(bam, bed=bed, reference=ref, min_bq=6, threads=args.threads)
    quality_calls, m = call_snvs(counts, CallParams())
    final, model_name = quality_calls, "quality"
    background = None
    if controls:
        from deepamp.models.background import learn
        from deepamp.calling.hotspots import load_hotspots

        background = learn(controls, reference=ref, bed=bed, min_bq=6, threads=args.threads)
        final, m = call_snvs(counts, CallParams(), background=background, hotspots=load_hotspots())
        model_name = "background"
    header = VcfHeader(counts.header_contigs, reference=ref, command="deepamp demo")
    header.extra += [f"##deepamp_mtc=bonferroni,tests={m},alpha=0.01"] + stats_header_lines(counts)
    write_vcf(vcf, header, (v.to_record() for v in final))
    t2 = time.perf_counter()

    print(f"deepamp demo: ALK exons 22-25, 4 amplicons x {args.pairs} read pairs; 1 tumour"
          + (f" + {len(controls)} healthy controls of the same run" if controls else "")
          + f" (simulated in {t1 - t0:.1f} s, counted and called in {t2 - t1:.1f} s)")
    for line in summary_lines(counts):
        print(f"  {line}")
    if background is not None:
        for line in background.summary_lines():
            print(f"  background: {line}")
    by_q = {(v.pos + 1, v.alt): v for v in quality_calls}
    by_f = {(v.pos + 1, v.alt): v for v in final}
    print(f"\n{'mutation':<12} {'position':<16} {'change':<6} {'spiked VAF':>10} {'called VAF':>10} "
          f"{'QUAL':>8} {'quality model':>13}  {model_name} model")
    spiked = {(s.pos, s.alt) for s in DEMO_SPIKES}
    for s in DEMO_SPIKES:
        v = by_f.get((s.pos, s.alt)) or by_q.get((s.pos, s.alt))
        vaf = f"{v.af:.4f}" if v else "-"
        qual = f"{v.qual:.0f}" if v else "-"
        q_status = "called" if (s.pos, s.alt) in by_q else "missed"
        status = "called" if (s.pos, s.alt) in by_f else "MISSED"
        print(f"{DEMO_LABELS[s.pos]:<12} {s.contig}:{s.pos:<11} {s.ref}>{s.alt:<4} {s.vaf:>10.4f} {vaf:>10} "
              f"{qual:>8} {q_status:>13}  {status}")
    others = sorted((set(by_q) | set(by_f)) - spiked)
    for pos, alt in others:
        v = by_f.get((pos, alt)) or by_q[(pos, alt)]
        q_status = "called" if (pos, alt) in by_q else "-"
        status = "called (not spiked)" if (pos, alt) in by_f else "-"
        print(f"{'(artefact?)':<12} chr2:{pos:<11} {v.ref}>{alt:<4} {'-':>10} {v.af:>10.4f} {v.qual:>8.0f} "
              f"{q_status:>13}  {status}")
    n_false_q = sum(1 for k in by_q if k not in spiked)
    n_false_f = sum(1 for k in by_f if k not in spiked)
    print(f"\nnot spiked but called: quality model {n_false_q}, {model_name} model {n_false_f}")
    print(f"VCF ({model_name} model): {vcf}" + ("" if args.outdir else " (temporary; use -o DIR to keep it)"))
    return 0 if spiked <= set(by_f) else 1


if __name__ == "__main__":
    sys.exit(run(argparse.Namespace(outdir=None, pairs=25000, threads=2, seed=7, controls=4)))
