"""Copy number from amplicon depth: sensitivity and false calls on simulated runs (benchmarks only).

For each of ``--runs`` simulated sequencing runs (``deepamp.simulate``, the shipped ALK exons
22-25 panel of 4 amplicons; run-level amplicon efficiency SD 0.2, per-sample amplicon jitter SD
0.05, ``--pairs`` read pairs per amplicon):

* 8 controls are the reference of :func:`deepamp.models.copy_number.copy_number_from_counts`;
* 4 further controls (left out) are tested against them: every call there is false;
* for each amplicon and each change (1.5x gain, 2x gain, 0.5x loss) one tumour carries that
  change in that amplicon alone: a call of it with the right direction is a true positive, a call
  of any other amplicon of that tumour is false.

Every sample is counted once with :func:`deepamp.count` (the counts that :func:`deepamp.copy_number`
makes).  Writes ``results/copy_number.json`` and ``results/copy_number.md``.

    python benchmarks/copy_number.py [--runs 10] [--pairs 5000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

import deepamp
from deepamp.io.regions import read_bed
from deepamp.models.copy_number import CopyNumberOptions, copy_number_from_counts
from deepamp.simulate import simulate

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "src" / "deepamp" / "data"
REF = str(DATA / "ALK_hg38_chr2_29191796-29223795.fa")
BED = str(DATA / "alk_exons22-25_amplicons.bed")
CHANGES = {"gain 1.5x": 1.5, "gain 2x": 2.0, "loss 0.5x": 0.5}
N_CONTROLS, N_LEFT_OUT = 8, 4
JITTER, EFFICIENCY = 0.05, 0.2


def _sample(work: str, name: str, run_seed: int, seed: int, pairs: int, copy_number: dict[str, float] | None = None):
    bam = os.path.join(work, f"{name}.bam")
    simulate(REF, BED, bam, pairs_per_amplicon=pairs, run_seed=run_seed, sample_seed=seed,
             amplicon_jitter_sd=JITTER, amplicon_efficiency_sd=EFFICIENCY, copy_number=copy_number)
    counts = deepamp.count(bam, bed=BED, reference=REF, qual_hist=False)
    for suffix in ("", ".bai"):
        os.unlink(bam + suffix)
    os.unlink(os.path.join(work, f"{name}.truth.tsv"))
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--pairs", type=int, default=5000)
    ap.add_argument("--out", default=str(HERE / "results" / "copy_number"))
    args = ap.parse_args()
    amplicons = read_bed(BED)
    names = [a.name for a in amplicons]
    opts = CopyNumberOptions()
    t0 = time.time()
    found = {k: 0 for k in CHANGES}
    tested = {k: 0 for k in CHANGES}
    ratios: dict[str, list[float]] = {k: [] for k in CHANGES}
    other_false, other_tested = 0, 0
    left_false, left_tested, left_samples_with_call = 0, 0, 0
    per_run = []
    with tempfile.TemporaryDirectory(prefix="deepamp-cn-bench-") as work:
        for run in range(args.runs):
            run_seed = 1000 + run
            controls = [_sample(work, f"c{i}", run_seed, 10 * run_seed + i, args.pairs) for i in range(N_CONTROLS)]
            row = {"run_seed": run_seed, "left_out_false_calls": 0, "tumour_misses": [], "tumour_false_calls": 0}
            for i in range(N_LEFT_OUT):
                counts = _sample(work, f"l{i}", run_seed, 10 * run_seed + N_CONTROLS + i, args.pairs)
                res = copy_number_from_counts(counts, controls, amplicons, options=opts)
                left_false += len(res.calls)
                left_tested += len(res)
                left_samples_with_call += bool(res.calls)
                row["left_out_false_calls"] += len(res.calls)
            seed = 10 * run_seed + 500
            for label, factor in CHANGES.items():
                for amp in names:
                    seed += 1
                    counts = _sample(work, "t", run_seed, seed, args.pairs, {amp: factor})
                    res = {r.amplicon: r for r in copy_number_from_counts(counts, controls, amplicons, options=opts)}
                    want = "gain" if factor > 1 else "loss"
                    tested[label] += 1
                    ratios[label].append(res[amp].ratio)
                    if res[amp].call == want:
                        found[label] += 1
                    else:
                        row["tumour_misses"].append(f"{label} {amp}")
                    wrong = sum(1 for n, r in res.items() if n != amp and r.call)
                    other_false += wrong
                    other_tested += len(res) - 1
                    row["tumour_false_calls"] += wrong
            per_run.append(row)
            print(f"run {run + 1}/{args.runs}: {row}", flush=True)
    summary = {
        "deepamp_version": deepamp.__version__,
        "python": platform.python_version(),
        "panel": "ALK exons 22-25, 4 amplicons (shipped slice and BED)",
        "pairs_per_amplicon": args.pairs, "runs": args.runs, "controls": N_CONTROLS,
        "left_out_controls_per_run": N_LEFT_OUT, "amplicon_jitter_sd": JITTER,
        "amplicon_efficiency_sd": EFFICIENCY, "alpha": opts.alpha, "test": "Crawford-Howell single-case t, Holm",
        "sensitivity": {k: {"found": found[k], "tested": tested[k], "rate": found[k] / tested[k],
                            "median_ratio": float(np.median(ratios[k])),
                            "ratio_5_95": [float(np.percentile(ratios[k], 5)), float(np.percentile(ratios[k], 95))]}
                        for k in CHANGES},
        "left_out_controls": {"samples": args.runs * N_LEFT_OUT, "samples_with_a_call": left_samples_with_call,
                              "amplicon_tests": left_tested, "false_calls": left_false},
        "tumour_unchanged_amplicons": {"amplicon_tests": other_tested, "false_calls": other_false},
        "per_run": per_run, "seconds": round(time.time() - t0, 1),
    }
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps(summary, indent=1) + "\n")
    lines = [
        "# Copy number from amplicon depth: sensitivity and false calls (simulation)",
        "",
        f"Generated by `python benchmarks/copy_number.py --runs {args.runs} --pairs {args.pairs}` "
        f"(deepamp {deepamp.__version__}). Panel: {summary['panel']}; {args.pairs:,} read pairs per amplicon; "
        f"{args.runs} simulated runs, each with its own run-level amplicon efficiencies (log-normal SD "
        f"{EFFICIENCY}) and every sample with its own amplicon yield jitter (log-normal SD {JITTER}, about 5 %). "
        f"Each run has {N_CONTROLS} controls as the reference, {N_LEFT_OUT} left-out controls, and one tumour "
        "per amplicon and change with that amplicon alone changed (the factor is the depth ratio). "
        f"Test: single-case t test (Crawford and Howell 1998), Holm-adjusted over the 4 amplicons, alpha {opts.alpha}.",
        "",
        "| change | found | rate | median measured ratio | 5-95 % of measured ratios |",
        "|---|---|---|---|---|",
    ]
    for k, v in summary["sensitivity"].items():
        lines.append(f"| {k} | {v['found']}/{v['tested']} | {v['rate']:.0%} | {v['median_ratio']:.2f} | "
                     f"{v['ratio_5_95'][0]:.2f}-{v['ratio_5_95'][1]:.2f} |")
    lo, tu = summary["left_out_controls"], summary["tumour_unchanged_amplicons"]
    lines += [
        "",
        "| false calls | amplicon tests | false calls | samples with a call |",
        "|---|---|---|---|",
        f"| left-out controls | {lo['amplicon_tests']} | {lo['false_calls']} | "
        f"{lo['samples_with_a_call']}/{lo['samples']} |",
        f"| unchanged amplicons of the tumours | {tu['amplicon_tests']} | {tu['false_calls']} | - |",
        "",
        f"Wall time {summary['seconds']:.0f} s. Simulated data: real PCR yield varies more between samples, "
        "and between runs, than a log-normal of fixed SD; measure the jitter of your own controls "
        "(their spread is what the test uses).",
        "",
    ]
    out.with_suffix(".md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
