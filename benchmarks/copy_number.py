"""Copy number from amplicon depth: sensitivity and false calls on simulated runs (benchmarks only).

Two panels, each over ``--runs`` simulated sequencing runs (``deepamp.simulate``; run-level
amplicon efficiency SD 0.2, per-sample amplicon yield jitter SD 0.05, ``--pairs`` read pairs per
amplicon):

* ``alk``: the shipped ALK exons 22-25 panel (4 amplicons of one gene): each amplicon in turn
  gained 1.5x, gained 2x or lost to 0.5x, alone;
* ``bypass``: the wider panel of ``deepamp demo --panel bypass`` (those 4 ALK amplicons and 10
  amplicons of 7 bypass genes: EGFR, KRAS, BRAF, MAP2K1, PIK3CA, NRAS, IDH2): the whole ALK gene
  (its 4 amplicons), the whole EGFR gene (2 amplicons) and KRAS exon 2 (one amplicon) changed alike.

Per run, 8 controls are the reference of :func:`deepamp.models.copy_number.copy_number_from_counts`
and 4 further controls (left out) are tested against them: every call there is false; a changed
amplicon called in the right direction is a true positive, a call of an unchanged amplicon of a
tumour is false.  Calls are counted at alpha 0.05 (the default) and 0.01 on the Holm-adjusted p.
Every sample is counted once with :func:`deepamp.count` (the counts :func:`deepamp.copy_number`
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
from deepamp.models.copy_number import copy_number_from_counts
from deepamp.simulate import simulate
from deepamp.workflow.demo import bypass_panel

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "src" / "deepamp" / "data"
ALK_REF = str(DATA / "ALK_hg38_chr2_29191796-29223795.fa")
ALK_BED = str(DATA / "alk_exons22-25_amplicons.bed")
FACTORS = {"gain 1.5x": 1.5, "gain 2x": 2.0, "loss 0.5x": 0.5}
ALPHAS = (0.05, 0.01)
N_CONTROLS, N_LEFT_OUT = 8, 4
JITTER, EFFICIENCY = 0.05, 0.2


def _sample(panel: dict, work: str, name: str, run_seed: int, seed: int, pairs: int,
            copy_number: dict[str, float] | None = None):
    bam = os.path.join(work, f"{name}.bam")
    simulate(panel["ref"], panel["bed"], bam, pairs_per_amplicon=pairs, run_seed=run_seed, sample_seed=seed,
             amplicon_jitter_sd=JITTER, amplicon_efficiency_sd=EFFICIENCY, copy_number=copy_number)
    counts = deepamp.count(bam, bed=panel["bed"], reference=panel["ref"], qual_hist=False)
    for path in (bam, bam + ".bai", os.path.join(work, f"{name}.truth.tsv")):
        os.unlink(path)
    return counts


def _panel_run(panel: dict, work: str, run_seed: int, pairs: int, tally: dict) -> None:
    """One simulated run of a panel: controls, left-out controls, tumours; adds to ``tally``."""
    amplicons = panel["amplicons"]

    def test(counts) -> dict:
        res = copy_number_from_counts(counts, controls, amplicons)
        return {r.amplicon: r for r in res}

    def called(row, alpha: float) -> str:
        return ("gain" if row.log2_ratio > 0 else "loss") if row.padj < alpha else ""

    controls = [_sample(panel, work, f"c{i}", run_seed, 10 * run_seed + i, pairs) for i in range(N_CONTROLS)]
    for i in range(N_LEFT_OUT):
        rows = test(_sample(panel, work, f"l{i}", run_seed, 10 * run_seed + N_CONTROLS + i, pairs))
        for a in ALPHAS:
            n = sum(1 for r in rows.values() if called(r, a))
            tally["left_out"][a]["false_calls"] += n
            tally["left_out"][a]["samples_with_a_call"] += n > 0
        tally["left_out_samples"] += 1
        tally["left_out_tests"] += len(rows)
    seed = 10 * run_seed + 500
    for target, names in panel["targets"]:
        for label, factor in FACTORS.items():
            seed += 1
            rows = test(_sample(panel, work, "t", run_seed, seed, pairs, dict.fromkeys(names, factor)))
            key = f"{label}, {target}"
            entry = tally["tumours"].setdefault(key, {"changed_amplicons": 0, "ratios": [],
                                                      **{a: {"found": 0, "false_calls": 0} for a in ALPHAS}})
            want = "gain" if factor > 1 else "loss"
            for name, r in rows.items():
                if name in names:
                    entry["changed_amplicons"] += 1
                    entry["ratios"].append(r.ratio)
                for a in ALPHAS:
                    if name in names:
                        entry[a]["found"] += called(r, a) == want
                    else:
                        entry[a]["false_calls"] += bool(called(r, a))
            tally["unchanged_tests"] += len(rows) - len(names)


def _panels(work: str) -> dict[str, dict]:
    ref, bed = bypass_panel(os.path.join(work, "bypass", "panel"))
    alk = {"ref": ALK_REF, "bed": ALK_BED, "amplicons": read_bed(ALK_BED),
           "describe": "ALK exons 22-25, 4 amplicons of one gene (shipped slice and BED)"}
    alk["targets"] = [("one amplicon (each in turn)", [a.name]) for a in alk["amplicons"]]
    wide = {"ref": ref, "bed": bed, "amplicons": read_bed(bed),
            "describe": "deepamp demo --panel bypass: 4 ALK amplicons + 10 amplicons of 7 bypass genes"}
    names = [a.name for a in wide["amplicons"]]
    wide["targets"] = [("ALK, whole gene (4 amplicons)", [n for n in names if n.startswith("ALK_")]),
                       ("EGFR, whole gene (2 amplicons)", [n for n in names if n.startswith("EGFR_")]),
                       ("KRAS_ex2 (one amplicon)", ["KRAS_ex2"])]
    return {"alk": alk, "bypass": wide}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--pairs", type=int, default=5000)
    ap.add_argument("--panels", default="alk,bypass")
    ap.add_argument("--out", default=str(HERE / "results" / "copy_number"))
    args = ap.parse_args()
    t0 = time.time()
    summary: dict = {"deepamp_version": deepamp.__version__, "python": platform.python_version(),
                     "pairs_per_amplicon": args.pairs, "runs": args.runs, "controls": N_CONTROLS,
                     "left_out_controls_per_run": N_LEFT_OUT, "amplicon_jitter_sd": JITTER,
                     "amplicon_efficiency_sd": EFFICIENCY, "alphas": list(ALPHAS),
                     "test": "Crawford-Howell single-case t, Holm over the panel's amplicons", "panels": {}}
    with tempfile.TemporaryDirectory(prefix="deepamp-cn-bench-") as work:
        panels = _panels(work)
        for pname in args.panels.split(","):
            panel = panels[pname]
            tally = {"left_out": {a: {"false_calls": 0, "samples_with_a_call": 0} for a in ALPHAS},
                     "left_out_samples": 0, "left_out_tests": 0, "tumours": {}, "unchanged_tests": 0}
            t1 = time.time()
            for run in range(args.runs):
                _panel_run(panel, work, 1000 + run, args.pairs, tally)
                print(f"{pname} run {run + 1}/{args.runs} done ({time.time() - t1:.0f} s)", flush=True)
            for entry in tally["tumours"].values():
                r = entry.pop("ratios")
                entry["median_ratio"] = float(np.median(r))
                entry["ratio_5_95"] = [float(np.percentile(r, 5)), float(np.percentile(r, 95))]
            summary["panels"][pname] = {"panel": panel["describe"], "amplicons": len(panel["amplicons"]),
                                        "seconds": round(time.time() - t1, 1), **tally}
    summary["seconds"] = round(time.time() - t0, 1)
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps(summary, indent=1, default=str) + "\n")
    text = _markdown(summary, args)
    out.with_suffix(".md").write_text(text)
    print(text)


def _markdown(summary: dict, args: argparse.Namespace) -> str:
    lines = [
        "# Copy number from amplicon depth: sensitivity and false calls (simulation)",
        "",
        f"Generated by `python benchmarks/copy_number.py --runs {args.runs} --pairs {args.pairs}` "
        f"(deepamp {summary['deepamp_version']}). {args.pairs:,} read pairs per amplicon; {args.runs} simulated "
        f"runs per panel, each with its own run-level amplicon efficiencies (log-normal SD {EFFICIENCY}), every "
        f"sample with its own amplicon yield jitter (log-normal SD {JITTER}, about 5 %). Each run has "
        f"{N_CONTROLS} controls as the reference, {N_LEFT_OUT} left-out controls, and one tumour per target and "
        "change (the factor is the depth ratio of every amplicon of the target). Test: single-case t test "
        "(Crawford and Howell 1998), Holm-adjusted over the panel's amplicons; calls at adjusted p < alpha "
        "(default 0.05).",
        "",
    ]
    for pname, p in summary["panels"].items():
        lines += [f"## Panel `{pname}`: {p['panel']}", "",
                  "| target, change | changed amplicons found, alpha 0.05 | alpha 0.01 | median measured ratio "
                  "| 5-95 % of measured ratios | false calls on unchanged amplicons, alpha 0.05 / 0.01 |",
                  "|---|---|---|---|---|---|"]
        for key, e in p["tumours"].items():
            n = e["changed_amplicons"]
            lines.append(f"| {key} | {e[0.05]['found']}/{n} ({e[0.05]['found'] / n:.0%}) | "
                         f"{e[0.01]['found']}/{n} ({e[0.01]['found'] / n:.0%}) | {e['median_ratio']:.2f} | "
                         f"{e['ratio_5_95'][0]:.2f}-{e['ratio_5_95'][1]:.2f} | "
                         f"{e[0.05]['false_calls']} / {e[0.01]['false_calls']} |")
        lo = p["left_out"]
        lines += ["", f"Left-out controls: {p['left_out_samples']} samples, {p['left_out_tests']} amplicon tests; "
                  f"false calls {lo[0.05]['false_calls']} at alpha 0.05 ({lo[0.05]['samples_with_a_call']} samples "
                  f"with a call), {lo[0.01]['false_calls']} at alpha 0.01 ({lo[0.01]['samples_with_a_call']} "
                  f"samples). Unchanged amplicons of the tumours: {p['unchanged_tests']} tests. "
                  f"Wall time {p['seconds']:.0f} s.", ""]
    lines += ["Holm's adjustment holds the chance of any false call in a sample to alpha when the controls' "
              "values are normal, so about alpha x samples left-out controls with a call are expected; calls "
              "of one run are correlated because they share its controls. Simulated data: real PCR yield "
              "varies more between samples and runs than a log-normal of fixed SD; the controls' own spread "
              "is what the test uses.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
