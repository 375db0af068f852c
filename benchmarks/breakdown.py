"""Whole-process cost of ``deepamp call`` / ``deepamp count`` against ``samtools view -c``,
and where every millisecond of ``deepamp call`` goes (speed targets, 1 and 3).

    python benchmarks/breakdown.py                    # the datagen sample (4 x 25,000 pairs)
    python benchmarks/breakdown.py --bam X.bam --bed X.bed --ref X.fa --tag panel

Each round runs, back to back and in rotating order, the whole processes
``samtools view -c BAM``, ``python -c pass``, ``deepamp count`` and
``deepamp call``, and a ``deepamp call`` whose stages are timed from inside
(this file run as a child with ``--stages``: the CLI's own code path, with
the stage functions wrapped by timers).  The stage table is the median of the
rounds; "interpreter" is the child's wall time outside its ``main``.
Also measured, in process: the decode floors -- pysam's htslib (zlib inflate)
reading every record in a C loop, against samtools (system htslib with
libdeflate) -- to show how much of the gap to ``samtools view -c`` is the
inflate library (target 3).

Bytecode: a normal install has ``.pyc`` files; this container sets
PYTHONDONTWRITEBYTECODE, which makes every start compile the package from
source (~50 ms).  The children run without it after ``compileall``.

Results: ``results/breakdown[_TAG].json`` and ``.md``, with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
SRC = os.environ.get("DEEPAMP_BENCH_SRC") or os.path.join(os.path.dirname(HERE), "src")

from measure import run_timed, write_results  # noqa: E402

STAGES = ("imports", "count (incl. the assay-shape sample)", "SNV tests", "indel calibration", "indel tests (rest)",
          "filters", "VCF writing", "other (CLI, checks, CallSet)")


def _stages_child(argv: list[str]) -> None:
    """Run ``deepamp call`` in this process with timers (wall and CPU) around its stages; print JSON
    to stderr."""
    t0, c0 = time.perf_counter(), time.process_time()
    import numpy  # noqa: F401
    import pysam  # noqa: F401

    import deepamp.calling.call as call_mod
    import deepamp.calling.callset as callset_mod
    import deepamp.calling.indels as indels_mod
    import deepamp.calling.snvs as snvs_mod
    import deepamp.cli as cli
    import deepamp.counting.assay_shape as shape_mod
    import deepamp.counting.bam as bam_mod
    t_imports, c_imports = time.perf_counter() - t0, time.process_time() - c0
    spent: dict[str, float] = {}
    cpu: dict[str, float] = {}

    def timed(name, fn):
        def wrapper(*a, **k):
            t, c = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **k)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - t
                cpu[name] = cpu.get(name, 0.0) + time.process_time() - c
        return wrapper

    bam_mod._count = timed("count (incl. the assay-shape sample)", bam_mod._count)   # call counts through _count
    shape_mod.shapes_from_sample = timed("other (CLI, checks, CallSet)", shape_mod.shapes_from_sample)
    snvs_mod.call_snvs = timed("SNV tests", snvs_mod.call_snvs)
    indels_mod.call_indels = timed("indel tests", indels_mod.call_indels)
    indels_mod.calibrate = timed("indel calibration", indels_mod.calibrate)
    call_mod._apply = timed("filters", call_mod._apply)
    callset_mod.CallSet.write_vcf = timed("VCF writing", callset_mod.CallSet.write_vcf)
    t1, c1 = time.perf_counter(), time.process_time()
    rc = cli.main(argv)
    t_main, c_main = time.perf_counter() - t1, time.process_time() - c1
    if rc:
        raise SystemExit(rc)
    for d, imports, main_total in ((spent, t_imports, t_main), (cpu, c_imports, c_main)):
        d["indel tests (rest)"] = d.pop("indel tests") - d["indel calibration"]
        d["imports"] = imports
        d["other (CLI, checks, CallSet)"] = main_total - sum(v for k, v in d.items()
                                                             if k not in ("imports", "other (CLI, checks, CallSet)"))
    spent["inside_s"] = time.perf_counter() - t0
    spent["cpu"] = cpu
    spent["cpu"]["inside_s"] = time.process_time() - c0
    sys.stderr.write("STAGES " + json.dumps(spent) + "\n")


def _child(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    wall, cpu, _, err = run_timed(argv, env)
    return wall, cpu, err


def _decode_floors(bam: str, rounds: int) -> dict[str, float]:
    """In-process: every record decoded once by pysam's htslib (C loop)."""
    import pysam

    ts = []
    for _ in range(rounds):
        t = time.perf_counter()
        with pysam.AlignmentFile(bam) as fh:
            fh.count(until_eof=True, read_callback="nofilter")
        ts.append(time.perf_counter() - t)
    return {"pysam_htslib_decode_all_s": statistics.median(ts)}


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--stages":
        _stages_child(argv[1:])
        return 0
    import datagen

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bam", default=datagen.bam_path(datagen.MAIN_DEPTH))
    ap.add_argument("--bed", default=datagen.BED)
    ap.add_argument("--ref", default=datagen.REF)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--tag", default="")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    args = ap.parse_args(argv)
    if not os.path.exists(args.bam):
        datagen.main([str(datagen.MAIN_DEPTH)])
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = SRC + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    subprocess.run([sys.executable, "-m", "compileall", "-q", SRC], check=True, env=env, stdout=subprocess.DEVNULL)
    tmp = os.path.join(datagen.DATA, "breakdown_tmp")
    os.makedirs(tmp, exist_ok=True)
    common = ["-f", args.ref, "-l", args.bed, "--threads", str(args.threads)]
    procs = {
        "samtools view -c": [shutil.which("samtools") or "samtools", "view", "-c", args.bam],
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import numpy, pysam'": [sys.executable, "-c", "import numpy, pysam"],
        "deepamp count": [sys.executable, "-m", "deepamp", "count", *common, "-o", os.path.join(tmp, "c.tsv"),
                          args.bam],
        "deepamp call": [sys.executable, "-m", "deepamp", "call", *common, "-o", os.path.join(tmp, "c.vcf"),
                         args.bam],
        "deepamp call (stages)": [sys.executable, os.path.abspath(__file__), "--stages", "call", *common, "-o",
                                  os.path.join(tmp, "s.vcf"), args.bam],
    }
    load_start = os.getloadavg()
    wall: dict[str, list[float]] = {k: [] for k in procs}
    cpu: dict[str, list[float]] = {k: [] for k in procs}
    stages: list[dict[str, float]] = []
    names = list(procs)
    for name in names:      # warm-up: page cache, .pyc
        _child(procs[name], env)
    for r in range(args.rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            w, c, err = _child(procs[name], env)
            wall[name].append(w)
            cpu[name].append(c)
            if name == "deepamp call (stages)":
                line = next(ln for ln in err.splitlines() if ln.startswith("STAGES "))
                d = json.loads(line[len("STAGES "):])
                d["interpreter"] = w - d.pop("inside_s")
                d["cpu"]["interpreter"] = c - d["cpu"].pop("inside_s")
                stages.append(d)
    med = {k: statistics.median(v) for k, v in wall.items()}
    cmed = {k: statistics.median(v) for k, v in cpu.items()}
    ratio = {k: statistics.median([a / b for a, b in zip(wall[k], wall["samtools view -c"])])
             for k in ("deepamp count", "deepamp call")}
    stage_med = {k: statistics.median(s.get(k, 0.0) for s in stages) for k in ("interpreter", *STAGES)}
    stage_cpu = {k: statistics.median(s["cpu"].get(k, 0.0) for s in stages) for k in ("interpreter", *STAGES)}
    floors = _decode_floors(args.bam, args.rounds)
    load_end = os.getloadavg()
    res = dict(bam=args.bam, bed=args.bed, threads=args.threads, rounds=args.rounds, loadavg_start=load_start,
               loadavg_end=load_end, wall_s=wall, cpu_s=cpu, median_wall_s=med, median_cpu_s=cmed,
               paired_ratio_to_samtools_view_c=ratio, stage_median_s=stage_med, stage_median_cpu_s=stage_cpu,
               stages=stages, **floors,
               python=sys.version.split()[0], nproc=os.cpu_count())
    tag = f"_{args.tag}" if args.tag else ""
    os.makedirs(args.out, exist_ok=True)
    sv = med["samtools view -c"]
    L = [f"# Whole-process cost and stage breakdown{(' (' + args.tag + ')') if args.tag else ''}", "",
         f"BAM `{os.path.relpath(args.bam, os.path.dirname(HERE))}` ({os.path.getsize(args.bam) / 1e6:.1f} MB), "
         f"{args.threads} thread(s), {args.rounds} rounds (order rotating), {os.cpu_count()} CPUs; load average "
         f"{' / '.join('%.2f' % x for x in load_start)} at start, {' / '.join('%.2f' % x for x in load_end)} at end; "
         f"Python {res['python']}.", "",
         "## Whole processes (median wall, CPU)", "", "| process | wall s | CPU s | x samtools view -c (paired median) |",
         "|---|---|---|---|"]
    for k in procs:
        r = ratio.get(k, med[k] / sv)
        L.append(f"| {k} | {med[k]:.3f} | {cmed[k]:.3f} | {r:.2f} |")
    cratio = {k: cmed[k] / cmed["samtools view -c"] for k in ("deepamp count", "deepamp call")}
    L += ["", "Speed targets, wall: `deepamp call` <= 3 x `samtools view -c`: "
          f"{'PASS' if ratio['deepamp call'] <= 3 else 'FAIL'} ({ratio['deepamp call']:.2f}); `deepamp count` <= 2 x: "
          f"{'PASS' if ratio['deepamp count'] <= 2 else 'FAIL'} ({ratio['deepamp count']:.2f}). By CPU time: call "
          f"{cratio['deepamp call']:.2f} x, count {cratio['deepamp count']:.2f} x; `python -c 'import numpy, pysam'` alone "
          f"{cmed[names[2]] / cmed['samtools view -c']:.2f} x.", "",
          "## Where `deepamp call` spends its time (median of the rounds, ms)", "",
          "CPU is the better column on a loaded machine (wall includes waiting for a core).", "",
          "| stage | wall ms | wall share | CPU ms | CPU share |", "|---|---|---|---|---|"]
    total, ctotal = sum(stage_med.values()), sum(stage_cpu.values())
    for k, v in stage_med.items():
        L.append(f"| {k} | {v * 1000:.0f} | {v / total:.0%} | {stage_cpu[k] * 1000:.0f} | {stage_cpu[k] / ctotal:.0%} |")
    L += [f"| **total** | **{total * 1000:.0f}** | | **{ctotal * 1000:.0f}** | |", "",
          "## Decode floors (target 3)", "",
          f"* samtools view -c (system htslib {'+ libdeflate' if _links(shutil.which('samtools'), 'libdeflate') else ''},"
          f" whole process): {sv * 1000:.0f} ms wall",
          f"* pysam's htslib (the one deepamp links; zlib inflate), every record decoded in a C loop, in process: "
          f"{floors['pysam_htslib_decode_all_s'] * 1000:.0f} ms",
          f"* `deepamp call`'s counting stage: {stage_med['count (incl. the assay-shape sample)'] * 1000:.0f} ms"]
    write_results(args.out, f"breakdown{tag}", res, L)
    return 0


def _links(exe: str | None, lib: str) -> bool:
    try:
        return lib in subprocess.run(["ldd", exe], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError, TypeError):
        return False


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
