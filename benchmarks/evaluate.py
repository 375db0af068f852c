"""Evaluate deepamp on the independent simulator's data sets (A-D) and check its calibration.

    python benchmarks/evaluate.py run --sets A,B,C,D --models quality,background,control,matched
    python benchmarks/evaluate.py run --sets A --models background --option mtc=fdr --option alpha=0.05 \\
        --tag fdr05
    python benchmarks/evaluate.py calibrate

Data sets are built by ``benchmarks/independent_sets.py`` with
``benchmarks/sim_independent.py`` under ``--workdir`` (default
``$TMPDIR/deepamp-sim2``; reused while their parameters are unchanged, never
committed).  deepamp runs through its library API only (``deepamp.call``,
``deepamp.learn_background``, ``deepamp.count``, ``deepamp.call_counts``),
with its current defaults unless ``--option KEY=VALUE`` overrides a
``deepamp.call`` keyword (CallOptions or CountOptions field; ``filters=villa2024``
selects a filter preset; values are parsed as int, float, true/false/none or
left as text).

Models
------
quality     ``deepamp.call(bam)`` (LoFreq's quality-aware null)
background  ``deepamp.call(bam, background=deepamp.learn_background(controls))`` with the set's
            healthy controls (set B: set A's controls, which share run 1 with B's first sample)
control     ``deepamp.call(bam, control=[...])``: set C the matched normal, set B the same person's
            other run, sets A and D the controls (learned at call time)
matched     a matched-normal test: ``--matched-callable module:function`` (called as
            ``f(tumour_bam, normal_bam, reference=, bed=, **overrides)`` returning a CallSet),
            else ``deepamp.call(..., matched_normal=normal)`` when deepamp.call has that
            keyword; skipped with a message otherwise (and on sets without a normal)

Scoring (PASS calls only): a call equal to a spiked somatic allele (same left-aligned
VCF allele) is a true positive; a call equal to an allele the sample carries in its
germline (or shares with its normal) is listed apart as a germline call for the
single-sample models (quality, background) and counted as false for the
difference models (control, matched), which must not report it; every other PASS
call is a false positive, with the likely cause from the simulator's artefact and
run-profile tables.  In set C the two alleles whose fraction differs towards the
reference between normal and tumour are positives for the difference models only.

Writes ``benchmarks/results/independent_<tag>.json`` and ``.md`` (``run``) and
``independent_calibration[_<tag>].json/.md/.svg`` (``calibrate``).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import independent_sets as sets  # noqa: E402
import sim_independent as si  # noqa: E402

RESULTS = os.path.join(HERE, "results")
MODELS = ("quality", "background", "control", "matched")
CALIBRATION_SETTINGS = ((0.01, "bonferroni"), (0.05, "bonferroni"), (0.01, "fdr"), (0.05, "fdr"),
                        (0.01, "none"))


# ---------------------------------------------------------------- options

def parse_value(text: str) -> Any:
    """``--option`` values: int, float, true/false, none, or text."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_options(items: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings to deepamp.call keyword overrides (``filters=PRESET`` -> the preset)."""
    import deepamp

    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise SystemExit(f"--option {item!r}: expected KEY=VALUE")
        key, value = item.split("=", 1)
        out[key.strip()] = parse_value(value.strip())
    if isinstance(out.get("filters"), str):
        name = out["filters"]
        if name not in deepamp.PRESETS:
            raise SystemExit(f"--option filters={name}: not a preset ({', '.join(deepamp.PRESETS)})")
        out["filters"] = deepamp.PRESETS[name]
    return out


def count_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    """The overrides that are CountOptions fields (a background must be counted like the sample)."""
    import dataclasses

    import deepamp

    names = {f.name for f in dataclasses.fields(deepamp.CountOptions)}
    return {k: v for k, v in overrides.items() if k in names}


def matched_caller(spec: str | None) -> tuple[Callable[..., Any] | None, str]:
    """The matched-normal test to use, or None with the reason it is skipped."""
    import deepamp

    if spec:
        module, _, name = spec.partition(":")
        return getattr(importlib.import_module(module), name), f"callable {spec}"
    params = inspect.signature(deepamp.call).parameters
    if "matched_normal" in params:
        def call(tumour, normal, **kw):
            return deepamp.call(tumour, matched_normal=normal, **kw)
        return call, "deepamp.call(matched_normal=...)"
    return None, ("deepamp's API has no matched-normal test yet (deepamp.call has no 'matched_normal' "
                  "keyword and no --matched-callable was given): model skipped")


# ---------------------------------------------------------------- scoring

def _key(chrom: str, pos: int, ref: str, alt: str) -> tuple[str, int, str, str]:
    return chrom, int(pos), ref, alt


def _observed(callset, pos: int, ref: str, alt: str) -> dict[str, Any]:
    """Alt count and depth of an SNV in the sample's counts (mates merged), from the CallSet."""
    counts = callset.counts
    if len(ref) != 1 or len(alt) != 1:
        return {}
    rows = np.flatnonzero(np.asarray(counts.pos) == pos - 1)
    if not len(rows):
        return {"depth": 0}
    i = int(rows[0])
    c = np.asarray(counts.counts[i])
    a = "ACGT".index(alt)
    depth = int(c[:4].sum())
    return {"depth": depth, "alt_fwd": int(c[a, 0]), "alt_rev": int(c[a, 1]),
            "af": round(int(c[a].sum()) / depth, 6) if depth else 0.0}


class Explainer:
    """Likely cause of a false call from the simulator's own records (run profile, artefact table)."""

    def __init__(self, ds: sets.DataSet, sample: sets.SampleEntry) -> None:
        self.profile = sets.run_profile(ds, sample.run)
        self.capture = ds.mode == "capture"
        self.ref = si.Reference()
        self.pcr_params = sets.error_model(ds.set_id).pcr
        self.pcr_matrix = self.pcr_params.matrix()
        self.early: dict[tuple[int, str], tuple[int, int]] = {}
        art = sample.bam[:-4] + ".artefacts.tsv"
        if os.path.exists(art):
            with open(art) as fh:
                fh.readline()
                for line in fh:
                    f = line.rstrip("\n").split("\t")
                    self.early[(int(f[1]), f[3])] = (int(f[4]), int(f[5]))

    def __call__(self, c) -> str:
        if len(c.ref) != len(c.alt):
            run = sets._homopolymer_length(self.ref, c.pos)      # first base after the anchor
            return f"indel, homopolymer {run}" if run >= 3 else "indel (no homopolymer)"
        why = []
        if self.capture and (c.ref, c.alt) in (("G", "T"), ("C", "A")):
            why.append("G>T/C>A, 8-oxoG class (one read orientation)")
        alt_pairs = c.dp4[2] + c.dp4[3]
        k, _n = self.early.get((c.pos, c.alt), (0, 0))
        if k and k >= 0.25 * alt_pairs:
            why.append(f"early-cycle PCR error in {k} of the {alt_pairs} alt fragments")
        p = self.profile.get((c.pos, c.alt))
        if p:
            copies = self.pcr_params.cycles * self.pcr_params.efficiency / (1 + self.pcr_params.efficiency)
            rate = self.pcr_matrix["ACGT".index(c.ref), "ACGT".index(c.alt)] * p["lib_mult"] * copies
            if rate >= 0.25 * c.af:
                why.append(f"PCR error rate here {rate:.2g} per fragment (library multiplier x{p['lib_mult']:.2g})")
            if max(p["seq_hot_fwd"], p["seq_hot_rev"]) >= 2e-4:
                why.append(f"run hot spot fwd {p['seq_hot_fwd']:.2g} / rev {p['seq_hot_rev']:.2g}")
            if (c.dp4[2] == 0 or c.dp4[3] == 0) and not why:
                why.append(f"one strand only (sequencing multiplier fwd {p['seq_mult_fwd']:.2g} / "
                           f"rev {p['seq_mult_rev']:.2g}, over-confident qualities)")
        return "; ".join(why) or "sequencing + PCR background above the model's null"


def _lost(call) -> bool:
    """A difference-model call that reports the allele as lost (the sample gained the reference)."""
    return getattr(call, "direction", None) == "loss"


def score_sample(callset, sample: sets.SampleEntry, difference_model: bool, explain: Explainer) -> dict[str, Any]:
    """TPs, misses, germline calls and false positives of one sample's PASS calls.

    ``difference_model``: the test was against the same person's other sample (matched normal,
    other run), so alleles present in both are false calls, not germline calls.
    """
    truth = {_key(r["chrom"], r["pos"], r["ref"], r["alt"]): r for r in sample.truth}
    passing = [c for c in callset.calls if not c.filters]
    by_key = {_key(c.chrom, c.pos, c.ref, c.alt): c for c in callset.calls}
    pass_keys = {_key(c.chrom, c.pos, c.ref, c.alt) for c in passing}
    out: dict[str, Any] = {"calls": len(callset.calls), "pass": len(passing), "tp": [], "misses": [],
                           "germline_calls": [], "fp": [], "absent": []}
    for k, r in truth.items():
        row = {"label": r["label"], "allele": f"{r['pos']}:{r['ref']}>{r['alt']}", "asked": r["asked_fraction"],
               "molecule_fraction": round(r["molecule_fraction"], 6), "read_fraction": round(r["read_fraction"], 6)}
        if r["kind"] == "somatic" and r["pairs_alt"] == 0:
            out["absent"].append(row)         # no read carries it (its molecules were not sequenced)
        elif r["kind"] == "somatic":
            if k in pass_keys:
                c = by_key[k]
                out["tp"].append({**row, "af": c.af, "logp_adj": round(c.logp_adj, 2)})
            else:
                c = by_key.get(k)
                row["called_not_pass"] = c.filter if c is not None else None
                row["observed"] = _observed(callset, r["pos"], r["ref"], r["alt"])
                out["misses"].append(row)
        elif r["kind"] == "diff_to_ref" and difference_model:
            # found only by a call that reports the change towards the reference: an allele other than
            # the shared one at this position, or the shared one reported as lost (deepamp's matched
            # model: INFO MNDIR=loss); a gain of the shared allele itself is a false call
            found = any(c.pos == r["pos"] and (c.alt != r["alt"] or _lost(c)) for c in passing)
            (out["tp"] if found else out["misses"]).append({**row, "difference_to_ref": True})
    for c in passing:
        k = _key(c.chrom, c.pos, c.ref, c.alt)
        r = truth.get(k)
        if r is not None and (r["kind"] == "somatic" or (r["kind"] == "diff_to_ref" and difference_model
                                                          and _lost(c))):
            continue
        rec = {"allele": f"{c.pos}:{c.ref}>{c.alt}", "af": c.af, "dp": c.dp, "dp4": list(c.dp4),
               "logp_adj": round(c.logp_adj, 2), "model": c.model}
        if r is not None and not difference_model:
            out["germline_calls"].append({**rec, "label": r["label"]})
        elif r is not None:
            out["fp"].append({**rec, "cause": f"present in both samples ({r['label']})"})
        else:
            out["fp"].append({**rec, "cause": explain(c)})
    return out


# ---------------------------------------------------------------- running one set

def _background_controls(ds: sets.DataSet, workdir: str, log) -> tuple[list[str], str]:
    if ds.set_id == "B":
        a = sets.build("A", workdir, log=log)
        return [s.bam for s in a.role("control")], "set A's 4 controls (run 1 = set B's first run)"
    return [s.bam for s in ds.role("control")], f"the set's {len(ds.role('control'))} controls"


def _tests(ds: sets.DataSet) -> list[tuple[sets.SampleEntry, sets.SampleEntry | None]]:
    """(sample to test, its matched normal / other run) pairs of a set."""
    if ds.set_id == "B":
        r1, r2 = ds.samples
        return [(r2, r1), (r1, r2)]
    normal = ds.role("normal")
    return [(t, normal[0] if normal else None) for t in ds.role("tumour")]


def run_set(ds: sets.DataSet, models: Sequence[str], overrides: dict[str, Any], workdir: str,
            matched: tuple[Callable | None, str], threads: int, log) -> dict[str, Any]:
    import deepamp

    ref, bed = si.DEFAULT_FASTA, si.DEFAULT_BED
    result: dict[str, Any] = {"set": ds.set_id, "description": ds.description, "generation_seconds": ds.seconds,
                              "samples": {s.name: {"role": s.role, "run": s.run, "pairs": s.pairs,
                                                   "duplicate_fraction": s.duplicate_fraction} for s in ds.samples},
                              "models": {}}
    bg = None
    for model in models:
        t0 = time.perf_counter()
        entry: dict[str, Any] = {"samples": {}}
        if model == "background":
            if bg is None:
                controls, what = _background_controls(ds, workdir, log)
                bg = deepamp.learn_background(controls, reference=ref, bed=bed, threads=threads,
                                              **count_overrides(overrides))
                bg_what = what
            entry["background"] = bg_what
        if model == "matched" and matched[0] is None:
            entry["skipped"] = matched[1]
            result["models"][model] = entry
            log(f"  {ds.set_id} {model}: {matched[1]}")
            continue
        for sample, other in _tests(ds):
            explain = Explainer(ds, sample)
            kw = dict(reference=ref, bed=bed, threads=threads, **overrides)
            if model == "quality":
                cs = deepamp.call(sample.bam, **kw)
            elif model == "background":
                cs = deepamp.call(sample.bam, background=bg, **kw)
            elif model == "control":
                if other is not None:
                    controls = [other.bam]
                    entry["control"] = f"{other.name}"
                else:
                    controls = [s.bam for s in ds.role("control")]
                    entry["control"] = "the set's controls, learned at call time"
                cs = deepamp.call(sample.bam, control=controls, **kw)
            else:   # matched
                if other is None:
                    entry["skipped"] = "no matched normal in this set"
                    break
                cs = matched[0](sample.bam, other.bam, **kw)
            same_person = model == "matched" or (model == "control" and other is not None)
            entry["samples"][sample.name] = score_sample(cs, sample, same_person, explain)
        entry["seconds"] = round(time.perf_counter() - t0, 1)
        _summarise(entry, ds, model)
        result["models"][model] = entry
        s = entry.get("summary", {})
        log(f"  {ds.set_id} {model}: sensitivity {s.get('sensitivity_text', '-')}; FP per sample "
            f"{s.get('fp_per_sample', '-')} ({entry['seconds']} s)")
    return result


def _summarise(entry: dict[str, Any], ds: sets.DataSet, model: str) -> None:
    if not entry["samples"]:
        return
    per_vaf: dict[float, list[int]] = {}
    for name, sc in entry["samples"].items():
        for r in sc["tp"]:
            if not r.get("difference_to_ref"):
                per_vaf.setdefault(r["asked"], [0, 0])[0] += 1
                per_vaf[r["asked"]][1] += 1
        for r in sc["misses"]:
            if not r.get("difference_to_ref"):
                per_vaf.setdefault(r["asked"], [0, 0])[1] += 1
    if ds.set_id == "D":        # 20 distinct VAFs: report in bins
        binned: dict[str, list[int]] = {}
        for v, (d, n) in per_vaf.items():
            b = "0.6-1.9%" if v < 0.02 else "2-3.9%" if v < 0.04 else "4-5.9%"
            binned.setdefault(b, [0, 0])
            binned[b][0] += d
            binned[b][1] += n
        sens = binned
    else:
        sens = {f"{v * 100:g}%": per_vaf[v] for v in sorted(per_vaf)}
    fps = {name: len(sc["fp"]) for name, sc in entry["samples"].items()}
    absent = [r["allele"] for sc in entry["samples"].values() for r in sc["absent"]]
    found = sum(1 for sc in entry["samples"].values() for r in sc["tp"] if r.get("difference_to_ref"))
    missed = sum(1 for sc in entry["samples"].values() for r in sc["misses"] if r.get("difference_to_ref"))
    entry["summary"] = {
        "sensitivity": sens,
        "sensitivity_text": ", ".join(f"{k} {d}/{n}" for k, (d, n) in sens.items()) or "-",
        "fp_per_sample": fps,
        "germline_calls": {name: len(sc["germline_calls"]) for name, sc in entry["samples"].items()},
        "absent_from_reads": absent,
        "differences_to_ref_found": f"{found}/{found + missed}" if found + missed else None,
    }


# ---------------------------------------------------------------- Markdown

def markdown_run(results: list[dict[str, Any]], overrides: dict[str, Any], tag: str, meta: dict) -> str:
    lines = [f"# deepamp on the independent simulator ({tag})", "",
             "Generated by `python benchmarks/evaluate.py " + meta["argv"] + "`; data from "
             "`benchmarks/sim_independent.py` (an error model written apart from deepamp's simulator; see its "
             "docstring for every process and its citation). deepamp " + meta["deepamp_version"] +
             ", options: " + (", ".join(f"`{k}={v}`" for k, v in meta["options_text"].items())
                              or "deepamp's defaults (alpha 0.01, Bonferroni, LoFreq's default filters)") + ".", ""]
    for res in results:
        lines += [f"## Set {res['set']}: {res['description']}", "",
                  f"Generation {res['generation_seconds']} s. Samples: " +
                  ", ".join(f"{n} ({s['role']}, {s['run']}, {s['pairs']:,} pairs"
                            + (f", {s['duplicate_fraction']:.0%} duplicates" if res['set'] == 'D' else "") + ")"
                            for n, s in res["samples"].items()) + ".", "",
                  "| model | sensitivity (PASS) | false positives per sample | germline/shared calls | "
                  "differences towards ref | time |", "|---|---|---|---|---|---|"]
        for model, e in res["models"].items():
            if "skipped" in e and not e["samples"]:
                lines.append(f"| {model} | skipped: {e['skipped']} | | | | |")
                continue
            s = e.get("summary", {})
            lines.append(f"| {model} | {s.get('sensitivity_text', '-')} | "
                         + ", ".join(f"{k}: {v}" for k, v in s.get("fp_per_sample", {}).items())
                         + " | " + ", ".join(f"{k}: {v}" for k, v in s.get("germline_calls", {}).items())
                         + f" | {s.get('differences_to_ref_found') or '-'} | {e['seconds']} s |")
        absent = next((e["summary"]["absent_from_reads"] for e in res["models"].values()
                       if e.get("summary", {}).get("absent_from_reads")), [])
        if absent:
            lines.append(f"Left out of the sensitivity: {', '.join(absent)} (spiked into molecules of which "
                         "no read was drawn, so no caller can see them).")
        lines.append("")
        for model, e in res["models"].items():
            if not e["samples"]:
                continue
            misses = [(n, r) for n, sc in e["samples"].items() for r in sc["misses"]]
            fps = [(n, r) for n, sc in e["samples"].items() for r in sc["fp"]]
            if misses:
                lines += [f"**{model}: misses ({len(misses)})**", "",
                          "| sample | allele | label | asked | molecules | reads | observed (merged) | called |",
                          "|---|---|---|---|---|---|---|---|"]
                for n, r in sorted(misses, key=lambda x: (x[1]["asked"], x[0])):
                    ob = r.get("observed") or {}
                    obs = (f"{ob.get('af', 0):.4%} of {ob.get('depth', 0):,} (fwd {ob.get('alt_fwd', '-')}, "
                           f"rev {ob.get('alt_rev', '-')})") if ob.get("depth") else "-"
                    lines.append(f"| {n} | {r['allele']} | {r['label']} | {r['asked']:.2%} | "
                                 f"{r['molecule_fraction']:.3%} | {r['read_fraction']:.3%} | {obs} | "
                                 f"{r.get('called_not_pass') or 'not significant'} |")
                lines.append("")
            if fps:
                lines += [f"**{model}: false positives ({len(fps)})**", "",
                          "| sample | allele | AF | DP | DP4 | log p adj | likely cause (simulator records) |",
                          "|---|---|---|---|---|---|---|"]
                for n, r in fps[:40]:
                    lines.append(f"| {n} | {r['allele']} | {r['af']:.4%} | {r['dp']:,} | {r['dp4']} | "
                                 f"{r['logp_adj']} | {r['cause']} |")
                if len(fps) > 40:
                    lines.append(f"| ... | {len(fps) - 40} more in the JSON | | | | | |")
                lines.append("")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- calibration

def _qq_band(n: int, q: float) -> np.ndarray:
    """-log10 of the q-quantile of the i-th smallest of n uniforms (Beta(i, n-i+1)), i = 1..n."""
    from scipy.special import betaincinv

    i = np.arange(1, n + 1)
    return -np.log10(betaincinv(i, n - i + 1, q))


def calibrate(workdir: str, overrides: dict[str, Any], threads: int, log) -> dict[str, Any]:
    """Leave-one-out over set A's controls: every SNV test's p-value with alpha=1 and no correction."""
    import deepamp

    ref, bed = si.DEFAULT_FASTA, si.DEFAULT_BED
    ds = sets.build("A", workdir, log=log)
    controls = ds.role("control")
    out: dict[str, Any] = {"controls": [c.name for c in controls], "models": {}}
    cnt = count_overrides(overrides)
    call_kw = {k: v for k, v in overrides.items() if k not in cnt and k not in ("alpha", "mtc")}
    pvals: dict[str, list[np.ndarray]] = {"quality": [], "background": []}
    table: dict[str, dict[str, list[int]]] = {"quality": {}, "background": {}}
    for left in controls:
        others = [c.bam for c in controls if c is not left]
        t0 = time.perf_counter()
        bg = deepamp.learn_background(others, reference=ref, bed=bed, threads=threads, **cnt)
        counts = deepamp.count(left.bam, bed=bed, reference=ref, threads=threads, qual_hist=True, **cnt)
        germ = {(r["pos"], r["ref"], r["alt"]) for r in left.truth}
        for model, background in (("quality", None), ("background", bg)):
            cs = deepamp.call_counts(counts, reference=ref, background=background, alpha=1.0, mtc="none", **call_kw)
            snv = [c for c in cs.calls if c.kind == "snv" and (c.pos, c.ref, c.alt) not in germ]
            tested = int(cs.sites["tested"]) * 3 - sum(1 for r in left.truth if len(r["ref"]) == len(r["alt"]))
            lp = np.array([c.logp for c in snv])
            p = np.concatenate([np.exp(lp), np.ones(max(tested - len(lp), 0))])
            pvals[model].append(p)
            for alpha, mtc in CALIBRATION_SETTINGS:
                cs2 = deepamp.call_counts(counts, reference=ref, background=background, alpha=alpha, mtc=mtc,
                                          **call_kw)
                false = [c for c in cs2.calls if not c.filters and (c.pos, c.ref, c.alt) not in germ]
                label = f"alpha={alpha:g} {mtc}"
                table[model].setdefault(label, []).append(len(false))
        log(f"  calibration: {left.name} left out ({time.perf_counter() - t0:.1f} s)")
    for model in pvals:
        p = np.sort(np.concatenate(pvals[model]))
        n = len(p)
        expected = -np.log10((np.arange(1, n + 1) - 0.5) / n)
        observed = -np.log10(np.maximum(p, 1e-300))
        lo, hi = _qq_band(n, 0.975), _qq_band(n, 0.025)
        outside = int(np.sum(observed > hi))
        out["models"][model] = {
            "tests": n, "smallest_p": float(p[0]),
            "tests_above_band": outside,
            "p_below": {f"{t:g}": int(np.sum(p < t)) for t in (1e-2, 1e-3, 1e-4, 1e-6)},
            "expected_below": {f"{t:g}": round(n * t, 2) for t in (1e-2, 1e-3, 1e-4, 1e-6)},
            "false_calls_per_control": table[model],
            "qq": _thin(expected, observed, lo, hi),
        }
    return out


def _thin(expected: np.ndarray, observed: np.ndarray, lo: np.ndarray, hi: np.ndarray, keep: int = 400) -> dict:
    """QQ points for the plot: all of the top ``keep`` and a log-spaced sample of the rest."""
    n = len(expected)
    idx = set(range(min(keep, n)))
    idx.update(np.unique(np.geomspace(1, n, 300).astype(int) - 1).tolist())
    idx = sorted(i for i in idx if i < n)
    return {"expected": [round(float(expected[i]), 4) for i in idx],
            "observed": [round(float(observed[i]), 4) for i in idx],
            "band_low": [round(float(lo[i]), 4) for i in idx], "band_high": [round(float(hi[i]), 4) for i in idx]}


def qq_svg(cal: dict[str, Any], title: str) -> str:
    """A QQ plot (observed vs expected -log10 p, 95 % band of the order statistics) as SVG."""
    W, H, L, R, T, B = 620, 480, 70, 170, 50, 60
    colours = {"quality": "#d95f02", "background": "#1b9e77"}
    xs = [x for m in cal["models"].values() for x in m["qq"]["expected"]]
    ys = [y for m in cal["models"].values() for y in m["qq"]["observed"] + m["qq"]["band_high"]]
    xmax = max(xs) * 1.05
    ymax = min(max(ys) * 1.05, 60.0)

    def px(x: float) -> float:
        return L + (W - L - R) * x / xmax

    def py(y: float) -> float:
        return T + (H - T - B) * (1 - min(y, ymax) / ymax)

    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" '
         f'font-size="12">', f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{W / 2}" y="24" text-anchor="middle" font-size="14">{title}</text>']
    any_model = next(iter(cal["models"].values()))["qq"]
    band = [(px(x), py(y)) for x, y in zip(any_model["expected"], any_model["band_high"])]
    band += [(px(x), py(y)) for x, y in reversed(list(zip(any_model["expected"], any_model["band_low"])))]
    s.append('<polygon fill="#dddddd" stroke="none" points="' + " ".join(f"{a:.1f},{b:.1f}" for a, b in band)
             + '"/>')
    s.append(f'<line x1="{px(0)}" y1="{py(0)}" x2="{px(min(xmax, ymax))}" y2="{py(min(xmax, ymax))}" '
             'stroke="#555" stroke-dasharray="4,3"/>')
    for i in range(int(xmax) + 1):
        s.append(f'<line x1="{px(i):.1f}" y1="{py(0)}" x2="{px(i):.1f}" y2="{py(0) + 5}" stroke="black"/>'
                 f'<text x="{px(i):.1f}" y="{py(0) + 18}" text-anchor="middle">{i}</text>')
    step = max(1, int(ymax / 8))
    for j in range(0, int(ymax) + 1, step):
        s.append(f'<line x1="{L - 5}" y1="{py(j):.1f}" x2="{L}" y2="{py(j):.1f}" stroke="black"/>'
                 f'<text x="{L - 8}" y="{py(j) + 4:.1f}" text-anchor="end">{j}</text>')
    s.append(f'<line x1="{L}" y1="{py(0)}" x2="{W - R}" y2="{py(0)}" stroke="black"/>'
             f'<line x1="{L}" y1="{T}" x2="{L}" y2="{py(0)}" stroke="black"/>')
    s.append(f'<text x="{(L + W - R) / 2}" y="{H - 15}" text-anchor="middle">expected -log10 p</text>')
    s.append(f'<text x="18" y="{(T + H - B) / 2}" text-anchor="middle" '
             f'transform="rotate(-90 18 {(T + H - B) / 2})">observed -log10 p</text>')
    for k, (model, m) in enumerate(cal["models"].items()):
        c = colours.get(model, "#333")
        for x, y in zip(m["qq"]["expected"], m["qq"]["observed"]):
            s.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.2" fill="{c}" fill-opacity="0.7"/>')
        ly = T + 20 + 40 * k
        s.append(f'<circle cx="{W - R + 15}" cy="{ly}" r="4" fill="{c}"/>'
                 f'<text x="{W - R + 25}" y="{ly + 4}">{model}</text>'
                 f'<text x="{W - R + 25}" y="{ly + 18}" font-size="10">{m["tests"]:,} tests, '
                 f'{m["tests_above_band"]} above</text>')
    s.append(f'<rect x="{W - R + 10}" y="{T + 20 + 40 * len(cal["models"])}" width="12" height="8" '
             f'fill="#dddddd"/><text x="{W - R + 25}" y="{T + 28 + 40 * len(cal["models"])}">95 % band</text>')
    s.append(f'<text x="{L + 5}" y="{T + 12}" font-size="10">points above {ymax:.0f} drawn at the top</text>')
    s.append("</svg>")
    return "\n".join(s) + "\n"


def markdown_calibration(cal: dict[str, Any], meta: dict, svg_name: str) -> str:
    lines = ["# Calibration on the independent simulator: leave-one-out over set A's controls", "",
             f"Generated by `python benchmarks/evaluate.py {meta['argv']}` (deepamp "
             f"{meta['deepamp_version']}). For each of set A's {len(cal['controls'])} healthy controls "
             "(5,000-40,000 pairs per amplicon, one run), the background is learned from the other three and "
             "the left-out control is called with alpha=1 and no correction; every SNV test's p-value is kept "
             "(tests without an alt base have p = 1; the controls' own germline alleles are left out). "
             "A calibrated null puts the points inside the grey 95 % band of the uniform order statistics. "
             "The tests are discrete, so points at the low end fall below the diagonal by construction.", "",
             f"![QQ plot]({svg_name})", "",
             "| model | tests | p < 1e-2 (expected) | p < 1e-3 | p < 1e-4 | p < 1e-6 | above the band | "
             "smallest p |", "|---|---|---|---|---|---|---|---|"]
    for model, m in cal["models"].items():
        cells = [f"{m['p_below'][k]} ({m['expected_below'][k]:g})" for k in ("0.01", "0.001", "0.0001", "1e-06")]
        lines.append(f"| {model} | {m['tests']:,} | " + " | ".join(cells) +
                     f" | {m['tests_above_band']} | {m['smallest_p']:.3g} |")
    lines += ["", "False calls (PASS, germline alleles excluded) in each left-out control "
              f"({', '.join(cal['controls'])}) by significance setting:", "",
              "| model | " + " | ".join(f"alpha={a:g} {m}" for a, m in CALIBRATION_SETTINGS) + " |",
              "|---|" + "---|" * len(CALIBRATION_SETTINGS)]
    for model, m in cal["models"].items():
        lines.append(f"| {model} | " + " | ".join(
            "/".join(str(x) for x in m["false_calls_per_control"][f"alpha={a:g} {mt}"])
            for a, mt in CALIBRATION_SETTINGS) + " |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- command line

def _meta(argv: Sequence[str], overrides: dict[str, Any]) -> dict[str, Any]:
    import deepamp

    return {"argv": " ".join(argv), "deepamp_version": deepamp.__version__,
            "options_text": {k: (type(v).__name__ if not isinstance(v, (int, float, str, bool, type(None))) else v)
                             for k, v in overrides.items()}}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    for name in ("run", "calibrate", "build"):
        p = sub.add_parser(name)
        p.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "deepamp-sim2"))
        p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                       help="deepamp.call keyword override (repeatable)")
        p.add_argument("--threads", type=int, default=2)
        p.add_argument("--tag", default="defaults", help="name of the result files")
        p.add_argument("--results", default=RESULTS)
        if name in ("run", "build"):
            p.add_argument("--sets", default="A,B,C,D")
        if name == "run":
            p.add_argument("--models", default=",".join(MODELS))
            p.add_argument("--matched-callable", default=None, metavar="MODULE:FUNCTION")
    args = ap.parse_args(argv)
    overrides = parse_options(args.option)
    os.makedirs(args.results, exist_ok=True)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    meta = _meta(argv, overrides)
    if args.command == "build":
        for sid in args.sets.split(","):
            ds = sets.build(sid.strip(), args.workdir, threads=args.threads, log=log)
            log(f"set {sid}: {len(ds.samples)} samples in {ds.directory} ({ds.seconds} s)")
        return 0
    if args.command == "calibrate":
        cal = calibrate(args.workdir, overrides, args.threads, log)
        stem = "independent_calibration" + ("" if args.tag == "defaults" else f"_{args.tag}")
        cal["meta"] = meta
        with open(os.path.join(args.results, stem + ".json"), "w") as fh:
            json.dump(cal, fh, indent=1)
        with open(os.path.join(args.results, stem + ".svg"), "w") as fh:
            fh.write(qq_svg(cal, "LOO over set A's controls: SNV p-values (alpha=1, no correction)"))
        with open(os.path.join(args.results, stem + ".md"), "w") as fh:
            fh.write(markdown_calibration(cal, meta, stem + ".svg"))
        log(f"wrote {stem}.json/.md/.svg")
        return 0
    models = [m.strip() for m in args.models.split(",")]
    unknown = set(models) - set(MODELS)
    if unknown:
        raise SystemExit(f"unknown model(s) {sorted(unknown)}; choose from {', '.join(MODELS)}")
    matched = matched_caller(args.matched_callable) if "matched" in models else (None, "")
    results = []
    for sid in args.sets.split(","):
        sid = sid.strip()
        t0 = time.perf_counter()
        ds = sets.build(sid, args.workdir, threads=args.threads, log=log)
        res = run_set(ds, models, overrides, args.workdir, matched, args.threads, log)
        res["evaluation_seconds"] = round(time.perf_counter() - t0, 1)
        results.append(res)
    out = {"meta": meta, "sets": results}
    stem = f"independent_{args.tag}"
    with open(os.path.join(args.results, stem + ".json"), "w") as fh:
        json.dump(out, fh, indent=1, default=str)
    with open(os.path.join(args.results, stem + ".md"), "w") as fh:
        fh.write(markdown_run(results, overrides, args.tag, meta))
    log(f"wrote {stem}.json/.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
