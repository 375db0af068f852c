"""A realistic panel benchmark (speed targets, 4): time per sample, cost linear in
amplicons and in depth, 2 threads vs 1.

    python benchmarks/panel.py               # build + simulate (cached in benchmarks/data/panel) + time
    python benchmarks/panel.py --rounds 5

The panel (multi-contig reference of slice records, GRCh38 coordinates; amplicons of
``AMPLICON`` bases tiling each exon with 10 bases of flank, at most ``MAX_TILES`` per exon):

* ALK exons 20-29 on the shipped ALK slice;
* ROS1 kinase-domain exons 35-42 at their GRCh38 positions, on a seeded random sequence
  standing in for chr6 (deepamp ships no ROS1 genomic sequence);
* bypass hotspot exons: EGFR 18-21, KRAS 2-4, BRAF 11 and 15, MAP2K1 2-3, PIK3CA 10 and 21,
  NRAS 2-4, MET 14, on the exon pieces shipped with the annotation
  (``bypass_grch38_exon_flanks.fa``, exon +- 200 bp); exon positions from
  ``transcripts.json``.

Samples are simulated by :func:`deepamp.simulate.simulate` (seeded; data never committed):
the whole panel at 6,250 / 12,500 / 25,000 pairs per amplicon (depth series) and the first
quarter / half of the amplicons at 25,000 (amplicon series).  Each round runs every
``deepamp call`` process (1 thread; the 25,000-pair panel also with 2 threads) and
``samtools view -c`` back to back, in rotating order.  Results: ``results/panel.json``,
``results/panel.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
SRC = os.environ.get("DEEPAMP_BENCH_SRC") or os.path.join(os.path.dirname(HERE), "src")
sys.path.insert(0, SRC)

import datagen  # noqa: E402
from measure import linear_fit, run_timed, write_results  # noqa: E402

from deepamp.io.reference import read_records, write_records  # noqa: E402

DATA = os.path.join(datagen.DATA, "panel")
AMPLICON = 170
MAX_TILES = 2
GENES = {"ALK": range(20, 30), "ROS1": range(35, 43), "EGFR": range(18, 22), "KRAS": range(2, 5),
         "BRAF": (11, 15), "MAP2K1": (2, 3), "PIK3CA": (10, 21), "NRAS": range(2, 5), "MET": (14,)}
ROS1_SLICE = ("chr6", 117287000, 117327000)      # 1-based inclusive, random stand-in sequence
DEPTHS = (6250, 12500, 25000)
MAIN = 25000


def _exons() -> dict[str, list[tuple[int, str, int, int]]]:
    from importlib import resources

    with open(resources.files("deepamp.annotate") / "data" / "transcripts.json") as fh:
        tx = json.load(fh)["transcripts"]
    out = {}
    for t in tx:
        if t["gene"] in GENES:
            out[t["gene"]] = [(e["exon"], e.get("chrom", t["chrom"]), e["start_hg38"], e["end_hg38"]) for e in t["exons"]
                              if e["exon"] in GENES[t["gene"]]]
    return out


def build_panel(prefix: str) -> tuple[str, str, int]:
    """Write PREFIX.fa (slice records) and PREFIX.bed (amplicons); returns paths and the amplicon count."""
    from importlib import resources

    if os.path.exists(prefix + ".fa") and os.path.exists(prefix + ".bed"):
        with open(prefix + ".bed") as fh:
            return prefix + ".fa", prefix + ".bed", sum(1 for _ in fh)
    pieces = read_records(str(resources.files("deepamp.annotate") / "data" / "bypass_grch38_exon_flanks.fa"))
    pieces.update(read_records(datagen.REF))
    rng = random.Random(7)
    c, s, e = ROS1_SLICE
    pieces[f"{c}:{s}-{e}"] = "".join(rng.choice("ACGT") for _ in range(e - s + 1))
    spans = []
    for name in pieces:
        contig, _, span = name.partition(":")
        a, b = (int(x) for x in span.split("-"))
        spans.append((contig, a, b, name))
    used, bed = {}, []
    for gene, exons in _exons().items():
        for exon, chrom, start, end in sorted(exons, key=lambda x: x[2]):
            lo, hi = start - 10, end + 10               # 1-based inclusive target
            n = min(MAX_TILES, max(1, -(-(hi - lo + 1) // AMPLICON)))
            centre = (lo + hi) // 2
            first = centre - (n * AMPLICON) // 2
            for k in range(n):
                a0 = first - 1 + k * AMPLICON            # 0-based start
                piece = next((p for p in spans if p[0] == chrom and p[1] - 1 <= a0 and a0 + AMPLICON <= p[2]), None)
                if piece is None:
                    raise RuntimeError(f"{gene} exon {exon}: no reference piece holds {chrom}:{a0 + 1}")
                used[piece[3]] = pieces[piece[3]]
                bed.append((chrom, a0, a0 + AMPLICON, f"{gene}_ex{exon}" + (f"_{k + 1}" if n > 1 else "")))
    bed.sort(key=lambda r: (r[0], r[1]))
    os.makedirs(os.path.dirname(prefix), exist_ok=True)
    write_records(prefix + ".fa", used)
    with open(prefix + ".bed", "w") as fh:
        fh.writelines(f"{c}\t{a}\t{b}\t{n}\n" for c, a, b, n in bed)
    import pysam

    pysam.faidx(prefix + ".fa")
    return prefix + ".fa", prefix + ".bed", len(bed)


def sub_bed(bed: str, k: int) -> str:
    """A BED of the first k amplicons of the panel (BED order)."""
    out = bed.replace(".bed", f"_first{k}.bed")
    if not os.path.exists(out):
        with open(bed) as fh, open(out, "w") as oh:
            oh.writelines(fh.readlines()[:k])
    return out


def simulate_bam(ref: str, bed: str, pairs: int, name: str) -> str:
    from deepamp.io.contigs import GRCH38_LENGTHS
    from deepamp.simulate import simulate

    out = os.path.join(DATA, f"{name}.bam")
    if not (os.path.exists(out) and os.path.exists(out + ".bai")):
        t = time.perf_counter()
        simulate(ref, bed, out, pairs_per_amplicon=pairs, run_seed=1, sample_seed=3, sample=name,
                 contig_length=dict(GRCH38_LENGTHS), threads=2)
        print(f"panel: simulated {out} in {time.perf_counter() - t:.1f} s", flush=True)
    return out


def _child(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall s, CPU s (user+sys of the child) and peak RSS KiB (/usr/bin/time) of one process."""
    wall, cpu, rss, _ = run_timed(argv, env, os.path.join(DATA, "maxrss.txt"))
    return wall, cpu, rss


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    args = ap.parse_args(argv)
    os.makedirs(DATA, exist_ok=True)
    ref, bed, n_amp = build_panel(os.path.join(DATA, "panel"))
    cases = {}      # name -> (bam, bed, amplicons, pairs)
    for pairs in DEPTHS:
        cases[f"panel_{pairs}"] = (simulate_bam(ref, bed, pairs, f"panel_{pairs}"), bed, n_amp, pairs)
    for k in (n_amp // 4, n_amp // 2):
        b = sub_bed(bed, k)
        cases[f"first{k}_{MAIN}"] = (simulate_bam(ref, b, MAIN, f"first{k}_{MAIN}"), b, k, MAIN)
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = SRC + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    subprocess.run([sys.executable, "-m", "compileall", "-q", SRC], check=True, env=env, stdout=subprocess.DEVNULL)
    vcf = os.path.join(DATA, "out.vcf")
    procs = {}
    for name, (bam, b, _, _) in cases.items():
        procs[f"call {name} t1"] = [sys.executable, "-m", "deepamp", "call", "-f", ref, "-l", b, "-o", vcf, bam]
    main_bam = cases[f"panel_{MAIN}"][0]
    procs[f"call panel_{MAIN} t2"] = [*procs[f"call panel_{MAIN} t1"], "--threads", "2"]
    procs[f"samtools view -c panel_{MAIN}"] = [shutil.which("samtools") or "samtools", "view", "-c", main_bam]
    load_start = os.getloadavg()
    runs: dict[str, list[tuple[float, float, int]]] = {k: [] for k in procs}
    names = list(procs)
    for r in range(args.rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            runs[name].append(_child(procs[name], env))
            print(f"panel: round {r + 1} {name}: {runs[name][-1][0]:.2f} s", flush=True)
    load_end = os.getloadavg()
    med = {k: statistics.median(w for w, _, _ in v) for k, v in runs.items()}
    cpu = {k: statistics.median(c for _, c, _ in v) for k, v in runs.items()}
    rss = {k: max(m for _, _, m in v) for k, v in runs.items()}
    t1, t2 = f"call panel_{MAIN} t1", f"call panel_{MAIN} t2"
    # paired: the two runs of one round were back to back
    speedup = statistics.median(a[0] / b[0] for a, b in zip(runs[t1], runs[t2]))
    depth_x = [cases[f"panel_{p}"][3] for p in DEPTHS]
    depth_y = [med[f"call panel_{p} t1"] for p in DEPTHS]
    amp_names = [f"first{n_amp // 4}_{MAIN}", f"first{n_amp // 2}_{MAIN}", f"panel_{MAIN}"]
    amp_x = [cases[n][2] for n in amp_names]
    amp_y = [med[f"call {n} t1"] for n in amp_names]
    fd, fa = linear_fit(depth_x, depth_y), linear_fit(amp_x, amp_y)
    fdc = linear_fit(depth_x, [cpu[f"call panel_{p} t1"] for p in DEPTHS])
    fac = linear_fit(amp_x, [cpu[f"call {n} t1"] for n in amp_names])
    cpu_ratio = statistics.median(b[1] / a[1] for a, b in zip(runs[t1], runs[t2]))
    reads = {n: 2 * c[2] * c[3] for n, c in cases.items()}
    res = dict(amplicons=n_amp, cases={k: dict(bam=os.path.basename(v[0]), amplicons=v[2], pairs_per_amplicon=v[3],
                                                reads=reads[k], bam_mb=round(os.path.getsize(v[0]) / 1e6, 1))
                                        for k, v in cases.items()},
               runs=runs, median_wall_s=med, median_cpu_s=cpu, max_rss_kib=rss, threads_speedup_paired=speedup,
               depth_fit=dict(slope_s_per_1000_pairs=fd[0] * 1000, intercept_s=fd[1], r2=fd[2]),
               amplicon_fit=dict(slope_s_per_amplicon=fa[0], intercept_s=fa[1], r2=fa[2]),
               depth_fit_cpu=dict(slope_s_per_1000_pairs=fdc[0] * 1000, intercept_s=fdc[1], r2=fdc[2]),
               amplicon_fit_cpu=dict(slope_s_per_amplicon=fac[0], intercept_s=fac[1], r2=fac[2]),
               threads_cpu_ratio_paired=cpu_ratio,
               loadavg_start=load_start, loadavg_end=load_end, rounds=args.rounds, nproc=os.cpu_count())
    L = ["# Panel benchmark (ALK ex20-29, ROS1 ex35-42 stand-in, bypass hotspot exons)", "",
         f"{n_amp} amplicons of {AMPLICON} bp on {len(read_records(ref))} reference pieces; `deepamp call` whole processes "
         f"(defaults), median of {args.rounds} rounds in rotating order; {os.cpu_count()} CPUs, load average "
         f"{' / '.join('%.2f' % x for x in load_start)} at start, {' / '.join('%.2f' % x for x in load_end)} at end.", "",
         "| process | amplicons | pairs/amplicon | reads | BAM MB | wall s | CPU s | peak RSS MiB | us/read (wall) |",
         "|---|---|---|---|---|---|---|---|---|"]
    for k in procs:
        case = next((c for c in cases if f" {c} " in f" {k} "), None)
        if case is None:
            L.append(f"| {k} | | | | | {med[k]:.2f} | {cpu[k]:.2f} | {rss[k] / 1024:.0f} | |")
            continue
        v = res["cases"][case]
        L.append(f"| {k} | {v['amplicons']} | {v['pairs_per_amplicon']} | {v['reads']} | {v['bam_mb']} | {med[k]:.2f} | "
                 f"{cpu[k]:.2f} | {rss[k] / 1024:.0f} | {med[k] / v['reads'] * 1e6:.2f} |")
    L += ["", f"* Time per sample (whole panel, 25,000 pairs per amplicon, 1 thread): **{med[t1]:.2f} s** wall "
          f"({med[t1] / med[f'samtools view -c panel_{MAIN}']:.1f} x `samtools view -c` on the same BAM)",
          f"* Linear in depth: {fd[0] * 1000:.3f} s per 1,000 pairs per amplicon, intercept {fd[1]:.2f} s, R^2 {fd[2]:.4f} "
          f"(CPU: {fdc[0] * 1000:.3f} s, {fdc[1]:.2f} s, R^2 {fdc[2]:.4f})",
          f"* Linear in amplicons: {fa[0] * 1000:.1f} ms per amplicon at 25,000 pairs, intercept {fa[1]:.2f} s, "
          f"R^2 {fa[2]:.4f} (CPU: {fac[0] * 1000:.1f} ms, {fac[1]:.2f} s, R^2 {fac[2]:.4f})",
          f"* 2 threads vs 1 (paired median of back-to-back runs): **{speedup:.2f} x** (target >= 1.7; "
          f"{'PASS' if speedup >= 1.7 else 'FAIL'}); CPU time with 2 threads {cpu_ratio:.2f} x one thread's. Only "
          f"counting is threaded: start-up, imports and calling (the depth fit's intercept, {fdc[1]:.2f} s CPU) "
          "run once whatever the threads, and any other job on the 2 CPUs takes the second core (load above)"]
    write_results(args.out, "panel", res, L)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
