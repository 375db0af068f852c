"""deepamp speed suite (pytest-benchmark).  Run with benchmarks/run.sh.

Groups (same data, same run):

* ``inproc``   -- 4 amplicons x 25,000 pairs, in this process: deepamp count
  (1 and 2 threads), deepamp count_coverage, pysam count_coverage, pysam
  pileup, and three decode floors: pysam fetch iterated in Python and pysam
  ``AlignmentFile.count`` (a C loop), both one query per amplicon as a pysam
  user writes it (a query starts at its 16 kb BAI bin, so amplicons sharing
  a bin are decoded again); and ``AlignmentFile.count`` over one span per
  contig, which reads every record once.
* ``paired``   -- the ratio targets again, as the median of 21 back-to-back
  A/B runs (order alternating): count 1 thread vs each floor and vs 2
  threads.
* ``process``  -- the same sample as whole processes: ``deepamp call``,
  ``samtools mpileup -B -d 0``, ``samtools view -c``.
* ``startup``  -- interpreter, ``import deepamp.cli``, ``deepamp --version``,
  ``import numba``.
* ``depth-*``  -- count / fetch floor / ``deepamp call`` over 5k..100k pairs
  per amplicon; the call runs record the child's peak RSS.

Every round also records CPU seconds (this process, or the child via wait4)
in ``extra_info`` so a loaded machine can be told apart from a slow program.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

import datagen

ROUNDS_FAST = 7
ROUNDS_SLOW = 3
# The ratio targets (count vs floors, 1 vs 2 threads) take more rounds: on
# this shared VM, phases where the same work costs ~60% more CPU time come
# and go, and 15 rounds keep one such phase from setting the median.
ROUNDS_RATIO = 15


def _cpu_wrapped(benchmark, fn):
    """fn wrapped to append this process's CPU seconds per call to extra_info['cpu_s']."""
    cpu: list[float] = benchmark.extra_info.setdefault("cpu_s", [])

    def run():
        c0 = time.process_time()
        out = fn()
        cpu.append(time.process_time() - c0)
        return out
    return run


TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
RSS_FILE = os.path.join(datagen.DATA, "maxrss.txt")


def _child(argv: list[str], env: dict[str, str] | None, sink: dict) -> None:
    """Run argv to completion (stdout discarded); record child CPU s and peak RSS (KiB).

    Peak RSS comes from /usr/bin/time (%M), not from wait4: Linux keeps the
    high-water RSS across exec, so wait4 on a child forked from this big
    process reports at least this process's RSS."""
    full = [TIME, "-f", "%M", "-o", RSS_FILE, *argv] if TIME else argv
    with open(os.devnull, "wb") as devnull:
        p = subprocess.Popen(full, stdout=devnull, stderr=subprocess.PIPE, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        err = p.stderr.read().decode(errors="replace")
        p.stderr.close()
    if p.returncode != 0:
        raise RuntimeError(f"{argv[:3]}... exited {p.returncode}: {err[-2000:]}")
    sink.setdefault("cpu_s", []).append(ru.ru_utime + ru.ru_stime)
    if TIME:
        with open(RSS_FILE) as fh:
            sink.setdefault("maxrss_kib", []).append(int(fh.read().split()[-1]))


def _run_child(benchmark, argv, env=None, rounds=ROUNDS_FAST):
    benchmark.extra_info["argv"] = " ".join(argv)
    benchmark.pedantic(_child, args=(argv, env, benchmark.extra_info), rounds=rounds,
                       iterations=1, warmup_rounds=1)


# --------------------------------------------------------------------------- in-process, 4 x 25,000

@pytest.mark.benchmark(group="inproc")
@pytest.mark.parametrize("threads", [1, 2])
def test_deepamp_count(benchmark, bam_main, bed, ref, threads):
    from deepamp.counting.bam import count

    res = benchmark.pedantic(_cpu_wrapped(benchmark, lambda: count(bam_main, bed=bed, reference=ref,
                                                                   threads=threads)),
                             rounds=ROUNDS_RATIO, iterations=1, warmup_rounds=1)
    benchmark.extra_info["reads_used"] = int(res.read_stats.get("used", 0))
    benchmark.extra_info["bases_counted"] = int(res.depth.sum())


@pytest.mark.benchmark(group="inproc")
def test_deepamp_count_coverage(benchmark, bam_main, amplicons):
    from deepamp.counting.bam import count_coverage

    def run():
        return sum(int(sum(a.sum() for a in count_coverage(bam_main, r.contig, r.start, r.end)))
                   for r in amplicons)
    benchmark.extra_info["bases"] = benchmark.pedantic(_cpu_wrapped(benchmark, run), rounds=ROUNDS_FAST,
                                                       iterations=1, warmup_rounds=1)


@pytest.mark.benchmark(group="inproc")
def test_pysam_count_coverage(benchmark, bam_main, amplicons):
    import pysam

    def run():
        with pysam.AlignmentFile(bam_main) as fh:
            return sum(sum(sum(a) for a in fh.count_coverage(r.contig, r.start, r.end))
                       for r in amplicons)
    benchmark.extra_info["bases"] = benchmark.pedantic(_cpu_wrapped(benchmark, run), rounds=ROUNDS_SLOW,
                                                       iterations=1, warmup_rounds=1)


@pytest.mark.benchmark(group="inproc")
def test_pysam_pileup(benchmark, bam_main, amplicons):
    """Every pileup column, nofilter stepper, no depth cap; each read's base is
    materialised (``get_query_sequences``), so the C pileup engine touches every base."""
    import pysam

    def run():
        n = 0
        with pysam.AlignmentFile(bam_main) as fh:
            for r in amplicons:
                for col in fh.pileup(r.contig, r.start, r.end, truncate=True, stepper="nofilter",
                                     max_depth=1_000_000, min_base_quality=0, ignore_overlaps=False,
                                     ignore_orphans=False):
                    n += len(col.get_query_sequences())
        return n
    benchmark.extra_info["pileup_reads"] = benchmark.pedantic(_cpu_wrapped(benchmark, run),
                                                              rounds=ROUNDS_SLOW, iterations=1,
                                                              warmup_rounds=1)


def _fetch_floor(bam, amplicons):
    import pysam

    n = 0
    with pysam.AlignmentFile(bam) as fh:
        for r in amplicons:
            for _ in fh.fetch(r.contig, r.start, r.end):
                n += 1
    return n


def _c_floor(bam, amplicons):
    import pysam

    with pysam.AlignmentFile(bam) as fh:
        return sum(fh.count(r.contig, r.start, r.end, read_callback="nofilter") for r in amplicons)


def _spans(amplicons):
    """One (contig, start, end) per contig covering all its amplicons."""
    spans: dict[str, list[int]] = {}
    for r in amplicons:
        lo, hi = spans.setdefault(r.contig, [r.start, r.end])
        spans[r.contig] = [min(lo, r.start), max(hi, r.end)]
    return [(c, lo, hi) for c, (lo, hi) in spans.items()]


def _c_floor_once(bam, amplicons):
    """Every record read once: one C-loop pass over each contig's span of amplicons."""
    import pysam

    with pysam.AlignmentFile(bam) as fh:
        return sum(fh.count(c, lo, hi, read_callback="nofilter") for c, lo, hi in _spans(amplicons))


@pytest.mark.benchmark(group="inproc")
def test_floor_pysam_fetch(benchmark, bam_main, amplicons):
    benchmark.extra_info["records"] = benchmark.pedantic(
        _cpu_wrapped(benchmark, lambda: _fetch_floor(bam_main, amplicons)),
        rounds=ROUNDS_RATIO, iterations=1, warmup_rounds=1)


@pytest.mark.benchmark(group="inproc")
def test_floor_pysam_count_c(benchmark, bam_main, amplicons):
    benchmark.extra_info["records"] = benchmark.pedantic(
        _cpu_wrapped(benchmark, lambda: _c_floor(bam_main, amplicons)),
        rounds=ROUNDS_RATIO, iterations=1, warmup_rounds=1)


@pytest.mark.benchmark(group="inproc")
def test_floor_pysam_count_c_once(benchmark, bam_main, amplicons):
    benchmark.extra_info["records"] = benchmark.pedantic(
        _cpu_wrapped(benchmark, lambda: _c_floor_once(bam_main, amplicons)),
        rounds=ROUNDS_RATIO, iterations=1, warmup_rounds=1)


# --------------------------------------------------------------------------- paired ratios, 4 x 25,000

PAIRS = 21
PAIRED = ("count1/fetch_floor", "count1/once_floor", "count1/count2")


@pytest.mark.benchmark(group="paired")
@pytest.mark.parametrize("pair", PAIRED)
def test_paired_ratio(benchmark, pair, bam_main, bed, ref, amplicons):
    """A ratio measured as the median of PAIRS back-to-back A/B runs (order
    alternating), so that slow phases of a shared machine hit both sides."""
    from deepamp.counting.bam import count

    fns = {"count1": lambda: count(bam_main, bed=bed, reference=ref, threads=1),
           "count2": lambda: count(bam_main, bed=bed, reference=ref, threads=2),
           "fetch_floor": lambda: _fetch_floor(bam_main, amplicons),
           "once_floor": lambda: _c_floor_once(bam_main, amplicons)}
    a, b = (fns[x] for x in pair.split("/"))
    ta: list[float] = []
    tb: list[float] = []

    def run():
        a(), b()  # warm-up
        for i in range(PAIRS):
            for fn, sink in ((a, ta), (b, tb)) if i % 2 == 0 else ((b, tb), (a, ta)):
                t0 = time.perf_counter()
                fn()
                sink.append(time.perf_counter() - t0)

    benchmark.pedantic(run, rounds=1, iterations=1)
    ratios = sorted(x / y for x, y in zip(ta, tb))
    benchmark.extra_info.update(a_s=ta, b_s=tb, median_ratio=ratios[len(ratios) // 2],
                                ratio_q1_q3=[ratios[len(ratios) // 4], ratios[3 * len(ratios) // 4]])


# --------------------------------------------------------------------------- whole process, 4 x 25,000

def _deepamp_call_argv(bam, ref, bed, out):
    return [sys.executable, "-m", "deepamp", "call", "-f", ref, "-l", bed, "-o", out, bam]


@pytest.mark.benchmark(group="process")
def test_proc_deepamp_call(benchmark, bam_main, ref, bed, sub_env, tmp_path):
    _run_child(benchmark, _deepamp_call_argv(bam_main, ref, bed, str(tmp_path / "out.vcf")), sub_env, rounds=5)


@pytest.mark.benchmark(group="process")
def test_proc_samtools_mpileup(benchmark, bam_main, padded_ref, bed, samtools):
    _run_child(benchmark, [samtools, "mpileup", "-B", "-d", "0", "-f", padded_ref, "-l", bed, bam_main],
               rounds=ROUNDS_SLOW)


@pytest.mark.benchmark(group="process")
def test_proc_samtools_view_c(benchmark, bam_main, samtools):
    _run_child(benchmark, [samtools, "view", "-c", bam_main])


# --------------------------------------------------------------------------- start-up

STARTUP = {
    "python_bare": ["-c", "pass"],
    "import_deepamp_cli": ["-c", "import deepamp.cli"],
    "deepamp_version": ["-m", "deepamp", "--version"],
    "import_numba": ["-c", "import numba"],
}


@pytest.mark.benchmark(group="startup")
@pytest.mark.parametrize("what", list(STARTUP))
def test_startup(benchmark, what, sub_env):
    _run_child(benchmark, [sys.executable, *STARTUP[what]], sub_env, rounds=10)


# --------------------------------------------------------------------------- depth series

@pytest.mark.benchmark(group="depth-count")
@pytest.mark.parametrize("pairs", datagen.DEPTHS)
def test_depth_count(benchmark, bam_at, bed, ref, pairs):
    from deepamp.counting.bam import count

    bam = bam_at(pairs)
    benchmark.extra_info["pairs_per_amplicon"] = pairs
    benchmark.extra_info["reads"] = 8 * pairs
    benchmark.pedantic(_cpu_wrapped(benchmark, lambda: count(bam, bed=bed, reference=ref, threads=1)),
                       rounds=5, iterations=1, warmup_rounds=1)


@pytest.mark.benchmark(group="depth-floor")
@pytest.mark.parametrize("pairs", datagen.DEPTHS)
def test_depth_floor(benchmark, bam_at, amplicons, pairs):
    bam = bam_at(pairs)
    benchmark.extra_info["pairs_per_amplicon"] = pairs
    benchmark.extra_info["reads"] = 8 * pairs
    benchmark.pedantic(_cpu_wrapped(benchmark, lambda: _fetch_floor(bam, amplicons)),
                       rounds=5, iterations=1, warmup_rounds=1)


@pytest.mark.benchmark(group="depth-call")
@pytest.mark.parametrize("pairs", datagen.DEPTHS)
def test_depth_call(benchmark, bam_at, ref, bed, sub_env, tmp_path, pairs):
    benchmark.extra_info["pairs_per_amplicon"] = pairs
    benchmark.extra_info["reads"] = 8 * pairs
    _run_child(benchmark, _deepamp_call_argv(bam_at(pairs), ref, bed, str(tmp_path / "out.vcf")), sub_env,
               rounds=3)
