#!/usr/bin/env bash
# Regenerate the benchmark data, run the speed suite, write results:
#   benchmarks/results/speed.json    pytest-benchmark JSON (every round)
#   benchmarks/results/summary.json  medians, ratios, targets (pass/fail)
#   benchmarks/results/summary.md    the same as a table
# and the whole-process / panel / background / cohort figures (the speed targets):
#   benchmarks/results/breakdown{,_panel}.{json,md}  deepamp call/count vs samtools view -c, ms per stage
#   benchmarks/results/panel.{json,md}               48-amplicon panel: per sample, depth, amplicons, threads
#   benchmarks/results/background.{json,md}          deepamp background over 5/10/20 controls, numba cache
#   benchmarks/results/cohort.{json,md}              deepamp.cohort on 2 Dask workers vs deepamp.run in turn
#   benchmarks/results/before_after.{json,md}        deepamp call of main vs HEAD, paired, VCFs compared
#   benchmarks/results/htslib.{json,md}              pysam's htslib vs a system htslib with libdeflate
#                                                    (SYSTEM_HTSLIB_PYTHON: an interpreter with that build)
# Usage: benchmarks/run.sh [extra pytest args]    (SPEED2_ONLY=1: only the speed-2 figures)
# Needs: the compiled extensions in src/deepamp (see README), pysam,
# pytest-benchmark, samtools on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
mkdir -p benchmarks/results benchmarks/data

# A private snapshot of the package (see snapshot.sh).
. benchmarks/snapshot.sh

"$PY" benchmarks/datagen.py

if [ -z "${SPEED2_ONLY:-}" ]; then
# -p no:cacheprovider: leave no .pytest_cache in the checkout.
# -o addopts= : the project's addopts carry --benchmark-disable.
"$PY" -m pytest benchmarks/test_speed.py -o addopts= -p no:cacheprovider -q \
  --benchmark-enable --benchmark-json=benchmarks/results/speed.json \
  --benchmark-columns=median,iqr,min,max,rounds --benchmark-sort=name "$@"

"$PY" - benchmarks/results/speed.json benchmarks/results <<'PYEOF'
"""Medians, ratios and targets from the pytest-benchmark JSON."""
import json, os, statistics, sys

src, outdir = sys.argv[1], sys.argv[2]
with open(src) as fh:
    raw = json.load(fh)
B = {}
for b in raw["benchmarks"]:
    ei = b.get("extra_info", {})
    B[b["name"]] = dict(
        group=b["group"], median_s=b["stats"]["median"], min_s=b["stats"]["min"],
        iqr_s=b["stats"]["iqr"], rounds=b["stats"]["rounds"],
        cpu_median_s=statistics.median(ei["cpu_s"]) if ei.get("cpu_s") else None,
        maxrss_kib=max(ei["maxrss_kib"]) if ei.get("maxrss_kib") else None,
        extra={k: v for k, v in ei.items() if k not in ("cpu_s", "maxrss_kib")})

def med(n): return B[n]["median_s"]
def cpu(n): return B[n]["cpu_median_s"]

def fit(xs, ys):
    n = len(xs); mx = sum(xs) / n; my = sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs); sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    slope = sxy / sxx; icpt = my - slope * mx
    ss_res = sum((y - (icpt + slope * x)) ** 2 for x, y in zip(xs, ys)); ss_tot = sum((y - my) ** 2 for y in ys)
    return slope, icpt, 1 - ss_res / ss_tot if ss_tot else 1.0

def series(prefix):
    rows = sorted((v["extra"]["pairs_per_amplicon"], k) for k, v in B.items() if k.startswith(prefix))
    return [(p, B[k]) for p, k in rows]

targets = []
def target(name, value, op, limit, detail):
    ok = value <= limit if op == "<=" else value >= limit
    targets.append(dict(target=name, value=round(value, 3), op=op, limit=limit, passed=ok, detail=detail))

c1, c2 = "test_deepamp_count[1]", "test_deepamp_count[2]"
floor, cfloor, once = "test_floor_pysam_fetch", "test_floor_pysam_count_c", "test_floor_pysam_count_c_once"
def paired(p):
    e = B[f"test_paired_ratio[{p}]"]["extra"]
    a, b = statistics.median(e["a_s"]), statistics.median(e["b_s"])
    q1, q3 = e["ratio_q1_q3"]
    return e["median_ratio"], f"paired median of {len(e['a_s'])} back-to-back runs (IQR {q1:.2f}-{q3:.2f}; medians {a:.3f} s / {b:.3f} s)"
r, d = paired("count1/fetch_floor")
target("in-process count (1 thread) / pysam fetch decode floor (one query per amplicon)", r, "<=", 1.5,
       f"{d}; unpaired medians {med(c1):.3f} s / {med(floor):.3f} s; vs C-loop floor (pysam AlignmentFile.count per amplicon) "
       f"{med(c1)/med(cfloor):.2f}x unpaired")
r, d = paired("count1/once_floor")
target("in-process count (1 thread) / every record decoded once (C loop, one pass)", r, "<=", 1.5,
       f"{d}; the strictest floor: no Python per record and no bin decoded twice")
call, mp = "test_proc_deepamp_call", "test_proc_samtools_mpileup"
target("samtools mpileup -B -d 0 / deepamp call (whole process)", med(mp) / med(call), ">=", 4.0,
       f"wall {med(mp):.3f} s / {med(call):.3f} s; CPU {cpu(mp):.3f} / {cpu(call):.3f} s = {cpu(mp)/cpu(call):.2f}x")
r, d = paired("count1/count2")
target("count 1 thread / 2 threads (wall)", r, ">=", 1.7,
       f"{d} on {raw['machine_info'].get('nproc')} CPUs; unpaired medians {med(c1):.3f} s / {med(c2):.3f} s, "
       f"CPU {cpu(c1):.3f} / {cpu(c2):.3f} s")

lin = {}
for prefix, label in (("test_depth_count", "count (in-process, 1 thread)"),
                      ("test_depth_floor", "pysam fetch floor"), ("test_depth_call", "deepamp call (process)")):
    s = series(prefix)
    xs = [p for p, _ in s]; ys = [b["median_s"] for _, b in s]
    slope, icpt, r2 = fit(xs, ys)
    lin[label] = dict(slope_s_per_1000_pairs=slope * 1000, intercept_s=icpt, r2=r2,
                      per_read_us={p: b["median_s"] / (8 * p) * 1e6 for p, b in s},
                      median_s={p: b["median_s"] for p, b in s},
                      cpu_median_s={p: b["cpu_median_s"] for p, b in s},
                      maxrss_kib={p: b["maxrss_kib"] for p, b in s})
lc = lin["count (in-process, 1 thread)"]
target("count time linear in depth (R^2 of time vs pairs)", lc["r2"], ">=", 0.99,
       f"slope {lc['slope_s_per_1000_pairs']*1000:.2f} ms per 1000 pairs/amplicon, intercept {lc['intercept_s']*1000:.1f} ms")
rss = lin["deepamp call (process)"]["maxrss_kib"]
lo, hi = min(rss.values()), max(rss.values())
target("peak RSS of deepamp call, max/min over 5k..100k pairs", hi / lo, "<=", 1.25,
       f"{lo/1024:.1f}..{hi/1024:.1f} MiB; 20x more reads")

so_sha = {}
if os.path.exists("benchmarks/data/so.sha256"):
    for line in open("benchmarks/data/so.sha256"):
        h, name = line.split()
        so_sha[name] = h[:16]
st = {k.split("[", 1)[1].rstrip("]"): B[k]["median_s"] for k in B if k.startswith("test_startup[")}
summary = dict(machine=raw["machine_info"], datetime=raw["datetime"], commit=raw.get("commit_info", {}),
               extension_sha256=so_sha, loadavg_at_end=os.getloadavg(), benchmarks=B, targets=targets, linearity=lin, startup_s=st,
               startup_over_bare_python_s={k: v - st["python_bare"] for k, v in st.items()})
with open(os.path.join(outdir, "summary.json"), "w") as fh:
    json.dump(summary, fh, indent=1, default=str)

m = raw["machine_info"]
L = ["# deepamp speed summary", "",
     f"{raw['datetime']}, commit {summary['commit'].get('id', '?')[:10]}"
     f"{' (dirty)' if summary['commit'].get('dirty') else ''}; {m.get('cpu', {}).get('brand_raw', '?')}, "
     f"{m.get('nproc')} CPUs, load average at start {', '.join('%.1f' % x for x in m.get('loadavg_at_start', []))}; "
     f"at end {', '.join('%.1f' % x for x in os.getloadavg())}; "
     f"Python {m.get('python_version')}, pysam {m.get('pysam')}, {m.get('samtools')}; "
     f"extensions: {', '.join(f'{k.split(chr(47))[-1].split(chr(46))[0]} {v}' for k, v in so_sha.items())}", "",
     "Data: ALK exons 22-25, 4 amplicons, 2x150 pairs from `deepamp.simulate` (benchmarks/datagen.py). "
     "Times are medians of the rounds (wall clock); CPU is the median CPU time (user+sys, of the child for processes).", "",
     "## Targets", "", "| target | value | goal | result | detail |", "|---|---|---|---|---|"]
for t in targets:
    L.append(f"| {t['target']} | {t['value']:.2f} | {t['op']} {t['limit']} | {'PASS' if t['passed'] else 'FAIL'} | {t['detail']} |")
L += ["", "## 4 amplicons x 25,000 pairs", "", "| benchmark | median s | CPU s | IQR s | rounds | x deepamp count (1 thr) |",
      "|---|---|---|---|---|---|"]
for k, v in B.items():
    if v["group"] in ("inproc", "process"):
        L.append(f"| {k} | {v['median_s']:.3f} | {v['cpu_median_s']:.3f} | {v['iqr_s']:.3f} | {v['rounds']} | "
                 f"{v['median_s']/med(c1):.2f} |")
L += ["", "## Start-up (whole process)", "", "| command | median s | over bare python s |", "|---|---|---|"]
for k, v in st.items():
    L.append(f"| {k} | {v:.3f} | {v - st['python_bare']:+.3f} |")
L += ["", "## Depth series (pairs per amplicon; reads = 8 x pairs)", ""]
for label, d in lin.items():
    L += [f"**{label}**: slope {d['slope_s_per_1000_pairs']*1000:.2f} ms / 1000 pairs, intercept "
          f"{d['intercept_s']*1000:.1f} ms, R^2 {d['r2']:.4f}", "",
          "| pairs | median s | CPU s | us / read | peak RSS MiB |", "|---|---|---|---|---|"]
    for p in d["median_s"]:
        r = d["maxrss_kib"][p]
        L.append(f"| {p} | {d['median_s'][p]:.3f} | {d['cpu_median_s'][p]:.3f} | {d['per_read_us'][p]:.2f} | "
                 f"{'-' if r is None else '%.1f' % (r / 1024)} |")
    L.append("")
with open(os.path.join(outdir, "summary.md"), "w") as fh:
    fh.write("\n".join(L) + "\n")
print("\n".join(L[:20 + len(targets)]))
PYEOF
fi

# Issue speed-2 figures (each script states its data and method in its docstring).
"$PY" benchmarks/breakdown.py
"$PY" benchmarks/panel.py
"$PY" benchmarks/breakdown.py --tag panel --rounds 5 --bam benchmarks/data/panel/panel_25000.bam \
  --bed benchmarks/data/panel/panel.bed --ref benchmarks/data/panel/panel.fa
"$PY" benchmarks/background_bench.py
"$PY" benchmarks/cohort_bench.py --samples 50 --pairs 2000
# before/after vs main: needs the installed build's extension modules (the venv's python)
"$PY" benchmarks/before_after.py --old main --new HEAD || echo "before_after.py skipped (see its docstring)"
# pysam's htslib (zlib) vs a system htslib (libdeflate): a second build, see htslib_choice.py's docstring
if [ -n "${SYSTEM_HTSLIB_PYTHON:-}" ]; then
  "$PY" benchmarks/htslib_choice.py --system-python "$SYSTEM_HTSLIB_PYTHON"
else
  echo "htslib_choice.py skipped: set SYSTEM_HTSLIB_PYTHON (see its docstring)"
fi
