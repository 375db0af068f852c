"""Cohort throughput (speed targets, 6): N samples through :func:`deepamp.cohort`
(sample sheet of BAM rows) on a local Dask cluster with 2 workers, against
:func:`deepamp.run` on each sample in turn in one process.

    python benchmarks/cohort_bench.py --samples 20 --pairs 2000

Samples: the ALK exons 22-25 panel simulated by :func:`deepamp.simulate.simulate`
(``--pairs`` per amplicon, one sample seed each), cached in ``benchmarks/data/cohort``;
10 patients x 2 time points per 20 samples; every sample a tumour called with the quality
model (no controls in the sheet, so no background is learned and both sides do the same
calling).  Reported: samples per minute either way, the LocalCluster start/stop alone, and
the scheduler overhead per sample = (2 x cohort wall - sequential wall) / N, i.e. the
worker-seconds a sample costs on the cluster beyond its work in one process (the cohort
also writes cohort.tsv / cohort.html and patient pages, included).  Results:
``results/cohort.json``, ``results/cohort.md``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
SRC = os.environ.get("DEEPAMP_BENCH_SRC") or os.path.join(os.path.dirname(HERE), "src")
sys.path.insert(0, SRC)

import datagen  # noqa: E402
from measure import write_results  # noqa: E402

DATA = os.path.join(datagen.DATA, "cohort")


def sample_bam(i: int, pairs: int) -> str:
    return datagen.simulated(os.path.join(DATA, f"s{i:02d}_{pairs}.bam"), pairs, 500 + i, f"s{i:02d}")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--pairs", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    args = ap.parse_args(argv)
    os.makedirs(DATA, exist_ok=True)
    bams = [sample_bam(i, args.pairs) for i in range(args.samples)]
    sheet = os.path.join(DATA, f"sheet_{args.samples}_{args.pairs}.tsv")
    with open(sheet, "w") as fh:
        fh.write("sample\tpatient\ttimepoint\trole\tbam\n")
        for i, b in enumerate(bams):
            fh.write(f"s{i:02d}\tP{i // 2:02d}\t{i % 2}\ttumour\t{b}\n")
    import deepamp
    from distributed import Client, LocalCluster

    load_start = os.getloadavg()
    seq_dir, coh_dir = os.path.join(DATA, "seq"), os.path.join(DATA, "cohort_out")
    for d in (seq_dir, coh_dir):
        shutil.rmtree(d, ignore_errors=True)
    # warm-up (imports, annotation data) so neither side pays it alone
    deepamp.run(datagen.REF, datagen.BED, os.path.join(DATA, "warm"), bam=bams[0], aligners=("bwa",))
    shutil.rmtree(os.path.join(DATA, "warm"), ignore_errors=True)

    t = time.perf_counter()
    per_sample = []
    for i, b in enumerate(bams):
        t0 = time.perf_counter()
        deepamp.run(datagen.REF, datagen.BED, os.path.join(seq_dir, f"s{i:02d}"), bam=b, aligners=("bwa",))
        per_sample.append(time.perf_counter() - t0)
    seq = time.perf_counter() - t

    t = time.perf_counter()
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None) as lc, \
            Client(lc):
        pass
    cluster_only = time.perf_counter() - t

    t = time.perf_counter()
    res = deepamp.cohort(sheet, datagen.REF, datagen.BED, coh_dir, aligners=("bwa",), workers=args.workers)
    coh = time.perf_counter() - t
    load_end = os.getloadavg()
    n = args.samples
    out = dict(samples=n, pairs_per_amplicon=args.pairs, workers=args.workers, sequential_s=seq,
               sequential_per_sample_s=per_sample, cohort_s=coh, cluster_start_stop_s=cluster_only,
               failed=[str(f) for f in getattr(res, "failed", [])],
               samples_per_min_sequential=60 * n / seq, samples_per_min_cohort=60 * n / coh,
               overhead_per_sample_s=(args.workers * coh - seq) / n,
               loadavg_start=load_start, loadavg_end=load_end, nproc=os.cpu_count())
    L = ["# Cohort throughput (`deepamp.cohort` on Dask vs `deepamp.run` in one process)", "",
         f"{n} samples (ALK exons 22-25, 4 amplicons x {args.pairs} pairs, BAM rows, quality model); "
         f"{os.cpu_count()} CPUs, load average {' / '.join('%.2f' % x for x in load_start)} at start, "
         f"{' / '.join('%.2f' % x for x in load_end)} at end.", "",
         "| | wall s | samples / min |", "|---|---|---|",
         f"| deepamp.run, one sample after another, one process | {seq:.1f} | {out['samples_per_min_sequential']:.1f} |",
         f"| deepamp.cohort, LocalCluster with {args.workers} worker processes | {coh:.1f} | "
         f"{out['samples_per_min_cohort']:.1f} |", "",
         f"* speed-up {seq / coh:.2f} x with {args.workers} workers; LocalCluster start + stop alone {cluster_only:.1f} s",
         f"* scheduler overhead per sample ({args.workers} x cohort wall - sequential wall) / N: "
         f"{out['overhead_per_sample_s']:.2f} s (per-sample work in one process: median "
         f"{sorted(per_sample)[len(per_sample) // 2]:.2f} s)",
         f"* failed samples: {len(out['failed'])}"]
    write_results(args.out, "cohort", out, L)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
