"""Accuracy of deepamp on simulated deep amplicons: quality model vs background model vs villa2024.

4 healthy controls and 3 tumours share one sequencing run (same ``run_seed``,
hence the same systematic errors) on the shipped ALK exon 22-25 panel at
``--pairs`` read pairs per amplicon (default 25,000).  Each tumour carries
24 spike-ins, 4 at each VAF of 0.1, 0.2, 0.5, 1, 2 and 5 %, at positions and
alt bases drawn with a fixed seed (>= 25 bp from amplicon ends, >= 5 bp
apart).  Reported per model: sensitivity per VAF and false positives (calls
at no spiked allele) per tumour.  Every model runs with its defaults (alpha
0.01, Bonferroni).  This runs on deepamp's own simulator, whose run-level
artefacts (strand-specific hot spots shared by every sample of a run) are what
the background model learns from the controls by design: the numbers show the
method working as designed, not performance on independent or real data.

Models
------
quality     deepamp call defaults (LoFreq's quality-aware Poisson-binomial)
background  deepamp call --background BG (learned from the 4 controls)
villa2024   quality-model calls that PASS --preset villa2024 (no population VCF)
background+villa2024   background-model calls that PASS --preset villa2024

Writes ``benchmarks/results/accuracy.json`` (``--out``) with the
precision-recall points (every test ranked by adjusted p-value), and their
plot next to it, ``accuracy_pr.svg`` (``<out>_pr.svg``, by
``benchmarks/plot_pr.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import plot_pr  # noqa: E402  (benchmarks/plot_pr.py)

VAFS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05)
PER_VAF = 4


def _spikes(ref_bases: dict[int, str], bed: list[tuple[str, int, int]], seed: int):
    from deepamp.simulate import Spike

    rng = np.random.default_rng(seed)
    cand = [p for c, s, e in bed for p in range(s + 26, e - 25) if ref_bases.get(p, "N") in "ACGT"]
    chosen: list[int] = []
    for p in rng.permutation(cand):
        if all(abs(int(p) - q) >= 5 for q in chosen):
            chosen.append(int(p))
        if len(chosen) == PER_VAF * len(VAFS):
            break
    out = []
    for k, p in enumerate(chosen):
        ref = ref_bases[p]
        alt = str(rng.choice([b for b in "ACGT" if b != ref]))
        out.append(Spike("chr2", p, ref, alt, VAFS[k // PER_VAF]))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=25000)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "accuracy.json"))
    ap.add_argument("--workdir", help="keep BAMs here (default: temporary)")
    args = ap.parse_args(argv)
    if args.workdir:
        os.makedirs(args.workdir, exist_ok=True)
        return _run(args, args.workdir)
    with tempfile.TemporaryDirectory(prefix="deepamp-acc-") as tmp:
        return _run(args, tmp)


def _run(args, work: str) -> int:
    from deepamp import call_counts, count
    from deepamp.models.background_fit import learn_from_counts
    from deepamp.options import PRESETS, CallOptions
    from deepamp.simulate import simulate
    from deepamp.workflow.demo import GRCH38_CHR2_LENGTH, data_path

    ref = data_path("ALK_hg38_chr2_29191796-29223795.fa")
    bedf = data_path("alk_exons22-25_amplicons.bed")
    bed = [(ln.split()[0], int(ln.split()[1]), int(ln.split()[2])) for ln in open(bedf) if ln.strip()]
    t0 = time.perf_counter()
    kw = dict(pairs_per_amplicon=args.pairs, run_seed=11, contig_length={"chr2": GRCH38_CHR2_LENGTH},
              threads=args.threads)
    controls = []
    for j in range(4):
        b = os.path.join(work, f"control{j}.bam")
        simulate(ref, bedf, b, sample_seed=1000 + j, sample=f"control{j}", **kw)
        controls.append(count(b, bed=bedf, reference=ref, qual_hist=False, threads=args.threads))
    bg = learn_from_counts(controls, [f"control{j}" for j in range(4)])
    ref_bases = {int(p) + 1: str(r) for p, r in zip(controls[0].pos, controls[0].ref)}
    villa = PRESETS["villa2024"]
    snvs = CallOptions(indels=False)
    models = ("quality", "background", "background+hotspots", "villa2024", "background+villa2024")
    found = {m: {v: 0 for v in VAFS} for m in models}
    fps: dict[str, list[int]] = {m: [] for m in models}
    fp_list: dict[str, list[str]] = {m: [] for m in models}
    n_per_vaf = {v: 0 for v in VAFS}
    pr_scores: dict[str, list[tuple[float, bool]]] = {"quality": [], "background": []}
    for t in range(3):
        spikes = _spikes(ref_bases, bed, seed=500 + t)
        b = os.path.join(work, f"tumour{t}.bam")
        simulate(ref, bedf, b, spikes=spikes, sample_seed=2000 + t, sample=f"tumour{t}", **kw)
        counts = count(b, bed=bedf, reference=ref, threads=args.threads)
        truth = {(s.pos, s.alt): s.vaf for s in spikes}
        for s in spikes:
            n_per_vaf[s.vaf] += 1
        calls = {"quality": list(call_counts(counts, options=snvs)),
                 "background": list(call_counts(counts, options=snvs, background=bg)),
                 "background+hotspots": list(call_counts(counts, options=snvs, background=bg, hotspots="shipped")),
                 "villa2024": list(call_counts(counts, options=snvs, filters=villa).passing),
                 "background+villa2024": list(call_counts(counts, options=snvs, background=bg,
                                                          filters=villa).passing)}
        for m in models:
            fp = 0
            for v in calls[m]:
                key = (v.pos, v.alt)
                if key in truth:
                    found[m][truth[key]] += 1
                else:
                    fp += 1
                    fp_list[m].append(f"tumour{t} chr2:{v.pos} {v.ref}>{v.alt} AF={v.af:.4f}")
            fps[m].append(fp)
        # precision-recall: every test, scored by adjusted p
        for m in ("quality", "background"):
            allv = call_counts(counts, options=snvs, alpha=1.0, background=bg if m == "background" else None)
            pr_scores[m] += [(v.logp_adj, (v.pos, v.alt) in truth) for v in allv]
    n_true = sum(n_per_vaf.values())
    pr = {}
    for m, sc in pr_scores.items():
        sc.sort()
        pts, tp = [], 0
        for i, (_, is_true) in enumerate(sc, 1):
            tp += is_true
            if is_true or i == len(sc):
                pts.append((round(tp / n_true, 4), round(tp / i, 4)))
        pr[m] = pts
    result = {
        "setup": {"pairs_per_amplicon": args.pairs, "controls": 4, "tumours": 3, "run_seed": 11,
                  "spikes_per_vaf_per_tumour": PER_VAF, "alpha": 0.01, "mtc": "bonferroni",
                  "panel": "ALK exons 22-25 (shipped BED)"},
        "background_summary": bg.meta["summary"], "background_excluded": len(bg.meta["excluded"]),
        "sensitivity": {m: {f"{v:g}": round(found[m][v] / n_per_vaf[v], 4) for v in VAFS} for m in models},
        "false_positives_per_tumour": fps, "false_positives_total": {m: sum(fps[m]) for m in models},
        "false_positive_calls": fp_list,
        "precision_recall": {"points_recall_precision": pr,
                             "plot": None},
        "seconds": round(time.perf_counter() - t0, 1),
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    svg = os.path.splitext(args.out)[0] + "_pr.svg"
    result["precision_recall"]["plot"] = os.path.basename(svg)
    with open(args.out, "w") as fh:
        json.dump(result, fh, indent=1)
    plot_pr.write_svg(result, svg)
    for m in models:
        sens = "  ".join(f"{v * 100:g}%:{found[m][v]}/{n_per_vaf[v]}" for v in VAFS)
        print(f"{m:<22} {sens}   FP per tumour {fps[m]}")
    print(f"written {args.out} ({result['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
