"""deepamp phase speed (pytest-benchmark).  Run with benchmarks/run_phase.sh.

Data (benchmarks/datagen.py phase): the shipped ALK exons 22-25 panel, 4
amplicons x 25,000 pairs, 140 spiked SNVs (35 per amplicon: seven clones of
five nested SNVs at 2/1.5/1/1/0.5%), called by ``deepamp call`` with its
defaults; every PASS SNV is phased against every other on the contig.

Groups:

* ``phase-process`` -- ``deepamp call`` and ``deepamp phase -i calls.vcf -o
  phased.vcf --tsv pairs.tsv`` on the same BAM, whole processes.
* ``phase-paired``  -- the target, phase / call, as the median of PAIRS
  back-to-back pairs of those processes (order alternating), wall and CPU.
* ``phase-inproc``  -- :func:`deepamp.phase.phase_pairs` in this process
  (the one pass over the reads and the tests), and the kernel alone.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

import pytest

import datagen
from test_speed import _child, _cpu_wrapped, _deepamp_call_argv, _run_child

PAIRS = 11


@pytest.fixture(scope="session")
def phase_bam() -> str:
    path = datagen.phase_bam_path()
    if not os.path.exists(path):
        pytest.skip(f"{path} missing: run `python benchmarks/datagen.py phase` (or benchmarks/run_phase.sh)")
    return path


@pytest.fixture(scope="session")
def calls(phase_bam, ref, bed, sub_env) -> str:
    """The sample's calls (deepamp call, defaults), made once per session."""
    out = os.path.join(datagen.DATA, "phase_calls.vcf")
    subprocess.run(_deepamp_call_argv(phase_bam, ref, bed, out) + ["--quiet"], check=True, env=sub_env)
    return out


def _pass_snvs(vcf: str) -> list[tuple[str, int, str, str]]:
    import pysam

    pysam.set_verbosity(0)
    with pysam.VariantFile(vcf) as fh:
        return [(r.chrom, r.pos, r.ref, r.alts[0]) for r in fh
                if list(r.filter.keys()) in ([], ["PASS"]) and len(r.ref) == 1 and len(r.alts[0]) == 1]


def _phase_argv(bam: str, vcf: str, out: str, tsv: str) -> list[str]:
    return [sys.executable, "-m", "deepamp", "phase", "-i", vcf, "-o", out, "--tsv", tsv, bam]


def _describe(benchmark, vcf: str) -> None:
    snvs = _pass_snvs(vcf)
    benchmark.extra_info["pass_snvs"] = len(snvs)
    benchmark.extra_info["pairs"] = sum(a[0] == b[0] and a[1] != b[1] for k, a in enumerate(snvs) for b in snvs[k + 1:])


@pytest.mark.benchmark(group="phase-process")
def test_proc_call(benchmark, phase_bam, ref, bed, sub_env, tmp_path):
    _run_child(benchmark, _deepamp_call_argv(phase_bam, ref, bed, str(tmp_path / "out.vcf")), sub_env, rounds=7)


@pytest.mark.benchmark(group="phase-process")
def test_proc_phase(benchmark, phase_bam, calls, sub_env, tmp_path):
    _describe(benchmark, calls)
    _run_child(benchmark, _phase_argv(phase_bam, calls, str(tmp_path / "p.vcf"), str(tmp_path / "p.tsv")),
               sub_env, rounds=7)


@pytest.mark.benchmark(group="phase-paired")
def test_paired_phase_over_call(benchmark, phase_bam, calls, ref, bed, sub_env, tmp_path):
    """phase / call as the median of PAIRS back-to-back pairs of whole processes (order
    alternating), so slow phases of a shared machine hit both sides."""
    _describe(benchmark, calls)
    call = _deepamp_call_argv(phase_bam, ref, bed, str(tmp_path / "c.vcf"))
    phase = _phase_argv(phase_bam, calls, str(tmp_path / "p.vcf"), str(tmp_path / "p.tsv"))
    sinks: dict[str, dict] = {"call": {}, "phase": {}}
    wall: dict[str, list[float]] = {"call": [], "phase": []}

    def one(name: str, argv: list[str]) -> None:
        t0 = time.perf_counter()
        _child(argv, sub_env, sinks[name])
        wall[name].append(time.perf_counter() - t0)

    def run() -> None:
        one("call", call), one("phase", phase)     # warm-up, dropped below
        for i in range(PAIRS):
            for name in (("call", "phase") if i % 2 == 0 else ("phase", "call")):
                one(name, call if name == "call" else phase)

    benchmark.pedantic(run, rounds=1, iterations=1)
    w = {k: v[1:] for k, v in wall.items()}
    c = {k: sinks[k]["cpu_s"][1:] for k in sinks}
    ratios = sorted(p / q for p, q in zip(w["phase"], w["call"]))
    cpu_ratios = sorted(p / q for p, q in zip(c["phase"], c["call"]))
    benchmark.extra_info.update(
        call_wall_s=w["call"], phase_wall_s=w["phase"], call_cpu_s=c["call"], phase_cpu_s=c["phase"],
        call_maxrss_kib=sinks["call"].get("maxrss_kib", [])[1:], phase_maxrss_kib=sinks["phase"].get("maxrss_kib", [])[1:],
        median_ratio=ratios[len(ratios) // 2], ratio_q1_q3=[ratios[len(ratios) // 4], ratios[3 * len(ratios) // 4]],
        median_cpu_ratio=cpu_ratios[len(cpu_ratios) // 2],
        median_call_wall_s=statistics.median(w["call"]), median_phase_wall_s=statistics.median(w["phase"]))


@pytest.mark.benchmark(group="phase-inproc")
def test_phase_pairs(benchmark, phase_bam, calls):
    from deepamp.phase import phase_pairs

    snvs = _pass_snvs(calls)
    res = benchmark.pedantic(_cpu_wrapped(benchmark, lambda: phase_pairs(phase_bam, snvs)), rounds=7,
                             iterations=1, warmup_rounds=1)
    benchmark.extra_info["pairs"] = len(res)
    benchmark.extra_info["relations"] = {rel: sum(r.relation == rel for r in res)
                                         for rel in ("cis", "trans", "undetermined")}


@pytest.mark.benchmark(group="phase-inproc")
def test_phase_kernel(benchmark, phase_bam, calls):
    """The one pass over the reads alone (csrc/phase.c), every pair on the contig."""
    import pysam

    from deepamp._phase import count_pairs

    snvs = _pass_snvs(calls)
    with pysam.AlignmentFile(phase_bam) as fh:
        sites = [(fh.get_tid(c), p - 1, r, a) for c, p, r, a in snvs]
    pa = [i for i in range(len(sites)) for _ in range(i + 1, len(sites))]
    pb = [j for i in range(len(sites)) for j in range(i + 1, len(sites))]
    raw = benchmark.pedantic(_cpu_wrapped(benchmark, lambda: count_pairs(phase_bam, sites, pa, pb)), rounds=7,
                             iterations=1, warmup_rounds=1)
    benchmark.extra_info["records"] = int(raw["totals"][0])
    benchmark.extra_info["fragments"] = int(raw["totals"][-2])
