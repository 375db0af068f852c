"""Medians and the target of the phasing benchmark, from its pytest-benchmark JSON.

    python benchmarks/phase_summary.py results/phase_speed.json results/phase_speed.md
"""

from __future__ import annotations

import json
import os
import statistics
import sys


def main(src: str, dst: str) -> int:
    with open(src) as fh:
        raw = json.load(fh)
    b = {x["name"]: x for x in raw["benchmarks"]}
    m = raw["machine_info"]
    paired = b["test_paired_phase_over_call"]["extra_info"]
    ratio, (q1, q3) = paired["median_ratio"], paired["ratio_q1_q3"]
    ok = ratio <= 2.0
    lines = [
        "# deepamp phase speed", "",
        f"{raw['datetime']}, commit {raw.get('commit_info', {}).get('id', '?')[:10]}"
        f"{' (dirty)' if raw.get('commit_info', {}).get('dirty') else ''}; {m.get('cpu', {}).get('brand_raw', '?')}, "
        f"{m.get('nproc')} CPUs, load average at start {', '.join('%.1f' % x for x in m.get('loadavg_at_start', []))}; "
        f"Python {m.get('python_version')}, pysam {m.get('pysam')}", "",
        f"Data: ALK exons 22-25, 4 amplicons x 25,000 pairs, 140 spiked SNVs; {paired.get('pass_snvs')} PASS SNVs "
        f"from `deepamp call` (defaults), {paired.get('pairs')} pairs phased (`deepamp phase --tsv`, defaults).", "",
        "## Target", "",
        "| target | value | goal | result | detail |", "|---|---|---|---|---|",
        f"| deepamp phase / deepamp call (whole processes, wall) | {ratio:.2f} | <= 2 | {'PASS' if ok else 'FAIL'} | "
        f"median of {len(paired['call_wall_s'])} back-to-back pairs (IQR {q1:.2f}-{q3:.2f}); medians "
        f"{paired['median_phase_wall_s']:.3f} s / {paired['median_call_wall_s']:.3f} s; CPU ratio "
        f"{paired['median_cpu_ratio']:.2f} (medians {statistics.median(paired['phase_cpu_s']):.3f} / "
        f"{statistics.median(paired['call_cpu_s']):.3f} s) |", "",
        "## All benchmarks", "", "| benchmark | median s | CPU s | IQR s | rounds | peak RSS MiB |",
        "|---|---|---|---|---|---|"]
    for name, x in sorted(b.items()):
        if name == "test_paired_phase_over_call":
            continue
        ei = x.get("extra_info", {})
        cpu = statistics.median(ei["cpu_s"]) if ei.get("cpu_s") else float("nan")
        rss = max(ei["maxrss_kib"]) / 1024 if ei.get("maxrss_kib") else None
        lines.append(f"| {name} | {x['stats']['median']:.3f} | {cpu:.3f} | {x['stats']['iqr']:.3f} | "
                     f"{x['stats']['rounds']} | {'-' if rss is None else '%.1f' % rss} |")
    inproc = b.get("test_phase_pairs", {}).get("extra_info", {})
    if inproc.get("relations"):
        lines += ["", f"Relations of the {inproc['pairs']} pairs: " +
                  ", ".join(f"{k} {v}" for k, v in inproc["relations"].items()) +
                  " (pairs in different amplicons have no spanning fragment)."]
    lines += ["", f"Load average at the end of the summary: {', '.join('%.1f' % x for x in os.getloadavg())}."]
    with open(dst, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines[:14]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
