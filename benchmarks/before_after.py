"""Paired before/after of ``deepamp call`` between two commits (whole processes, same data).

    python benchmarks/before_after.py --old main --new HEAD --rounds 7

Each commit's ``src/deepamp`` is exported (``git archive``) to a temporary directory and
given the extension modules of the installed build: the old Python code then runs with
today's C core, whose only addition (``pileup(sample_reads=)``) it does
not call, so the comparison is of the Python-visible changes plus anything the C core
does differently on the old code's path (nothing: ``sample_reads`` defaults to 0).
Both run under an interpreter without the editable install's import hook (the
``python`` of ``--python``, with ``PYTHONPATH`` = the export + the venv's site-packages).
Rounds alternate the order; each round checks that both VCFs are identical (but for
the date and command lines).  Cases: the 4 x 25,000-pair sample (datagen.py) and the
48-amplicon panel at 25,000 pairs (panel.py; run it first).  Results:
``results/before_after.{json,md}``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import datagen  # noqa: E402
from measure import run_timed, write_results  # noqa: E402


def export(commit: str, dest: str, so_dir: str) -> str:
    subprocess.run(f"git archive {commit} src/deepamp | tar -x -C {dest}", shell=True, check=True, cwd=ROOT)
    pkg = os.path.join(dest, "src", "deepamp")
    for f in os.listdir(so_dir):
        if f.endswith(".so"):
            shutil.copy(os.path.join(so_dir, f), pkg)
    return os.path.join(dest, "src")


def _vcf_body(path: str) -> list[str]:
    with open(path) as fh:
        return [ln for ln in fh if not ln.startswith(("##fileDate", "##commandline", "##source"))]


def main(argv: list[str]) -> int:
    import deepamp._core as core

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", default="main")
    ap.add_argument("--new", default="HEAD")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--python", default=shutil.which("python3") or sys.executable)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    args = ap.parse_args(argv)
    so_dir = os.path.dirname(core.__file__)
    site = os.path.dirname(os.path.dirname(core.__file__))
    tmp = tempfile.mkdtemp(prefix="before_after_")
    srcs = {}
    for label, commit in (("old", args.old), ("new", args.new)):
        os.makedirs(os.path.join(tmp, label))
        srcs[label] = export(commit, os.path.join(tmp, label), so_dir)
    commits = {k: subprocess.run(["git", "rev-parse", "--short", c], capture_output=True, text=True, cwd=ROOT).stdout.strip()
               for k, c in (("old", args.old), ("new", args.new))}
    panel = os.path.join(datagen.DATA, "panel")
    cases = {"4 amplicons x 25,000 pairs": (datagen.bam_path(datagen.MAIN_DEPTH), datagen.REF, datagen.BED),
             "48-amplicon panel x 25,000 pairs": (os.path.join(panel, "panel_25000.bam"), os.path.join(panel, "panel.fa"),
                                                  os.path.join(panel, "panel.bed"))}
    load_start = os.getloadavg()
    out = {}
    for name, (bam, ref, bed) in cases.items():
        if not os.path.exists(bam):
            print(f"before_after: {bam} missing, skipped", flush=True)
            continue
        runs = {"old": [], "new": []}
        for r in range(args.rounds):
            for label in (("old", "new") if r % 2 == 0 else ("new", "old")):
                env = dict(os.environ)
                env.pop("PYTHONDONTWRITEBYTECODE", None)
                env["PYTHONPATH"] = srcs[label] + os.pathsep + site
                vcf = os.path.join(tmp, f"{label}.vcf")
                wall, cpu, _, _ = run_timed([args.python, "-m", "deepamp", "call", "-f", ref, "-l", bed, "-o", vcf,
                                             bam], env)
                runs[label].append((wall, cpu))
            if _vcf_body(os.path.join(tmp, "old.vcf")) != _vcf_body(os.path.join(tmp, "new.vcf")):
                raise RuntimeError(f"{name}: the VCFs differ")
        out[name] = dict(runs=runs, **{f"{k}_median_{m}": statistics.median(x[i] for x in runs[k])
                                      for k in runs for i, m in ((0, "wall_s"), (1, "cpu_s"))},
                         paired_speedup_wall=statistics.median(a[0] / b[0] for a, b in zip(runs["old"], runs["new"])),
                         paired_speedup_cpu=statistics.median(a[1] / b[1] for a, b in zip(runs["old"], runs["new"])))
    load_end = os.getloadavg()
    shutil.rmtree(tmp, ignore_errors=True)
    res = dict(commits=commits, cases=out, rounds=args.rounds, loadavg_start=load_start, loadavg_end=load_end)
    L = [f"# `deepamp call` before ({commits['old']}) and after ({commits['new']})", "",
         f"Whole processes, {args.rounds} rounds in alternating order, VCFs identical in every round; load average "
         f"{' / '.join('%.2f' % x for x in load_start)} at start, {' / '.join('%.2f' % x for x in load_end)} at end, "
         f"{os.cpu_count()} CPUs. Method: benchmarks/before_after.py docstring.", "",
         "| sample | before wall s | after wall s | before CPU s | after CPU s | speed-up (paired, wall) | (CPU) |",
         "|---|---|---|---|---|---|---|"]
    for name, d in out.items():
        L.append(f"| {name} | {d['old_median_wall_s']:.3f} | {d['new_median_wall_s']:.3f} | {d['old_median_cpu_s']:.3f} | "
                 f"{d['new_median_cpu_s']:.3f} | {d['paired_speedup_wall']:.2f} x | {d['paired_speedup_cpu']:.2f} x |")
    write_results(args.out, "before_after", res, L)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
