"""``deepamp demo``: the main job on bundled data.

Simulates one sequencing run of ALK exon 22-25 amplicons on the shipped
GRCh38 slice at 25,000 read pairs each: healthy controls and a tumour with
known resistance mutations at low VAF, sharing the run's error artefacts.
Learns the per-site background from the controls, calls the tumour with the
quality-only model (LoFreq's null) and with the background model, and prints
truth vs calls for both.
"""

from __future__ import annotations

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


def run_demo(outdir: str | None = None, *, pairs: int = 25000, threads: int = 2, seed: int = 7,
             controls: int = 4, out=None) -> bool:
    """Simulate, call and print truth vs calls to ``out`` (stdout); True when every spike is called.

    With ``outdir`` the simulated BAMs and the VCF are kept there; otherwise
    everything happens in a temporary directory that is removed afterwards.
    """
    out = out or sys.stdout
    if outdir:
        os.makedirs(outdir, exist_ok=True)
        return _run_in(outdir, pairs, threads, seed, controls, out, keep=True)
    with tempfile.TemporaryDirectory(prefix="deepamp-demo-") as tmp:
        return _run_in(tmp, pairs, threads, seed, controls, out, keep=False)


def _run_in(outdir: str, pairs: int, threads: int, seed: int, n_controls: int, out, keep: bool) -> bool:
    from deepamp.calling.call import call
    from deepamp.simulate import simulate

    ref = data_path("ALK_hg38_chr2_29191796-29223795.fa")
    bed = data_path("alk_exons22-25_amplicons.bed")
    bam = os.path.join(outdir, "demo_tumour.bam")
    vcf = os.path.join(outdir, "demo_tumour.vcf.gz")
    lengths = {"chr2": GRCH38_CHR2_LENGTH}
    t0 = time.perf_counter()
    simulate(ref, bed, bam, pairs_per_amplicon=pairs, spikes=DEMO_SPIKES, run_seed=1,
             sample_seed=seed, contig_length=lengths, sample="demo_tumour")
    controls = []
    for i in range(n_controls):
        controls.append(os.path.join(outdir, f"demo_control{i + 1}.bam"))
        simulate(ref, bed, controls[-1], pairs_per_amplicon=pairs, run_seed=1,
                 sample_seed=1000 + i, contig_length=lengths, sample=f"demo_control{i + 1}")
    t1 = time.perf_counter()
    quality = call(bam, reference=ref, bed=bed, threads=threads, min_bq=6)
    final, model_name = quality, "quality"
    if controls:
        final = call(bam, reference=ref, bed=bed, control=controls, threads=threads, min_bq=6, hotspots="shipped")
        model_name = "background"
    final.write_vcf(vcf, command="deepamp demo")
    t2 = time.perf_counter()

    def say(text: str = "") -> None:
        print(text, file=out)

    say(f"deepamp demo: ALK exons 22-25, 4 amplicons x {pairs} read pairs; 1 tumour"
        + (f" + {len(controls)} healthy controls of the same run" if controls else "")
        + f" (simulated in {t1 - t0:.1f} s, counted and called in {t2 - t1:.1f} s)")
    for line in final.counts.summary_lines():
        say(f"  {line}")
    for line in final.background_summary:
        say(f"  background: {line}")
    quality_calls = [c for c in quality if c.kind == "snv"]
    final_calls = [c for c in final if c.kind == "snv"]
    by_q = {(v.pos, v.alt): v for v in quality_calls}
    by_f = {(v.pos, v.alt): v for v in final_calls}
    say(f"\n{'mutation':<12} {'position':<16} {'change':<6} {'spiked VAF':>10} {'called VAF':>10} "
          f"{'QUAL':>8} {'quality model':>13}  {model_name} model")
    spiked = {(s.pos, s.alt) for s in DEMO_SPIKES}
    for s in DEMO_SPIKES:
        v = by_f.get((s.pos, s.alt)) or by_q.get((s.pos, s.alt))
        vaf = f"{v.af:.4f}" if v else "-"
        qual = f"{v.qual:.0f}" if v else "-"
        q_status = "called" if (s.pos, s.alt) in by_q else "missed"
        status = "called" if (s.pos, s.alt) in by_f else "MISSED"
        say(f"{DEMO_LABELS[s.pos]:<12} {s.contig}:{s.pos:<11} {s.ref}>{s.alt:<4} {s.vaf:>10.4f} {vaf:>10} "
            f"{qual:>8} {q_status:>13}  {status}")
    others = sorted((set(by_q) | set(by_f)) - spiked)
    for pos, alt in others:
        v = by_f.get((pos, alt)) or by_q[(pos, alt)]
        q_status = "called" if (pos, alt) in by_q else "-"
        status = "called (not spiked)" if (pos, alt) in by_f else "-"
        say(f"{'(artefact?)':<12} chr2:{pos:<11} {v.ref}>{alt:<4} {'-':>10} {v.af:>10.4f} {v.qual:>8.0f} "
            f"{q_status:>13}  {status}")
    n_false_q = sum(1 for k in by_q if k not in spiked)
    n_false_f = sum(1 for k in by_f if k not in spiked)
    say(f"\nnot spiked but called: quality model {n_false_q}, {model_name} model {n_false_f}")
    if keep:
        say(f"VCF ({model_name} model): {vcf}")
    else:
        say("(the simulated BAMs and the VCF were temporary; use -o DIR to keep them)")
    return spiked <= set(by_f)

