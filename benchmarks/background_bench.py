"""Learning a background from healthy controls (speed targets, 5): time and peak
memory of ``deepamp background`` over 5 / 10 / 20 controls, linearity in the number of
controls, and the numba compile: the kernels carry ``cache=True``, so only the first
process after the cache is emptied compiles.

    python benchmarks/background_bench.py            # ~2-4 min on 2 shared cores
    python benchmarks/background_bench.py --pairs 25000

Controls: the ALK exons 22-25 panel simulated by :func:`deepamp.simulate.simulate`
(``--pairs`` per amplicon, one sample seed per control, the same run seed), cached in
``benchmarks/data/controls``.  The numba cache of the package under test
(``__pycache__`` next to ``deepamp/models/background_fit.py``, or ``NUMBA_CACHE_DIR``) is
pointed at a fresh directory for the "cold" run.  Results: ``results/background.json``,
``results/background.md``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
SRC = os.environ.get("DEEPAMP_BENCH_SRC") or os.path.join(os.path.dirname(HERE), "src")
sys.path.insert(0, SRC)

import datagen  # noqa: E402
from measure import linear_fit, run_timed, write_results  # noqa: E402

DATA = os.path.join(datagen.DATA, "controls")
N_CONTROLS = (5, 10, 20)


def control_bam(i: int, pairs: int) -> str:
    return datagen.simulated(os.path.join(DATA, f"control{i:02d}_{pairs}.bam"), pairs, 100 + i, f"control{i:02d}")


def _child(argv, env):
    wall, _, rss, _ = run_timed(argv, env, os.path.join(DATA, "maxrss.txt"))
    return wall, rss


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    args = ap.parse_args(argv)
    os.makedirs(DATA, exist_ok=True)
    t = time.perf_counter()
    bams = [control_bam(i, args.pairs) for i in range(max(N_CONTROLS))]
    print(f"background: {len(bams)} controls ready ({time.perf_counter() - t:.1f} s)", flush=True)
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = SRC + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    cache = tempfile.mkdtemp(prefix="numba_cache_", dir=DATA)
    env["NUMBA_CACHE_DIR"] = cache
    out = os.path.join(DATA, "bg.npz")

    def argv_for(n):
        return [sys.executable, "-m", "deepamp", "background", "-f", datagen.REF, "-l", datagen.BED, "-o", out,
                *bams[:n]]

    load_start = os.getloadavg()
    cold = _child(argv_for(5), env)                 # empty cache: compiles and writes it
    warm = _child(argv_for(5), env)                 # loads from the cache
    numba_files = sorted(f for _, _, fs in os.walk(cache) for f in fs)
    runs = {n: [] for n in N_CONTROLS}
    for r in range(args.rounds):
        for n in (N_CONTROLS if r % 2 == 0 else N_CONTROLS[::-1]):
            runs[n].append(_child(argv_for(n), env))
            print(f"background: round {r + 1}, {n} controls: {runs[n][-1][0]:.2f} s", flush=True)
    load_end = os.getloadavg()
    shutil.rmtree(cache, ignore_errors=True)
    med = {n: statistics.median(w for w, _ in v) for n, v in runs.items()}
    rss = {n: max(m for _, m in v) for n, v in runs.items()}
    xs, ys = list(N_CONTROLS), [med[n] for n in N_CONTROLS]
    slope, icpt, r2 = linear_fit(xs, ys)
    res = dict(pairs_per_amplicon=args.pairs, controls=N_CONTROLS, runs=runs, median_wall_s=med, max_rss_kib=rss,
               cold_cache_5=cold, warm_cache_5=warm, numba_cache_files=numba_files,
               fit=dict(slope_s_per_control=slope, intercept_s=icpt, r2=r2),
               loadavg_start=load_start, loadavg_end=load_end, rounds=args.rounds, nproc=os.cpu_count())
    L = ["# Background learning (`deepamp background`)", "",
         f"Controls: ALK exons 22-25, 4 amplicons x {args.pairs} pairs each (deepamp.simulate); whole processes, "
         f"median of {args.rounds} rounds; {os.cpu_count()} CPUs, load average "
         f"{' / '.join('%.2f' % x for x in load_start)} at start, {' / '.join('%.2f' % x for x in load_end)} at end.", "",
         "| controls | wall s | s per control | peak RSS MiB |", "|---|---|---|---|"]
    for n in N_CONTROLS:
        L.append(f"| {n} | {med[n]:.2f} | {med[n] / n:.3f} | {rss[n] / 1024:.0f} |")
    L += ["", f"* Linear in controls: {slope:.3f} s per control, intercept {icpt:.2f} s, R^2 {r2:.4f}",
          f"* numba: 5 controls with an empty cache {cold[0]:.2f} s, then {warm[0]:.2f} s with the cache it wrote "
          f"({len(numba_files)} cache files: `cache=True` on every kernel), so only the first run compiles"]
    write_results(args.out, "background", res, L)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
