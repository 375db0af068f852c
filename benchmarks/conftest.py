"""Fixtures for the speed suite (benchmarks/, never collected by tests/)."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("DEEPAMP_BENCH_SRC") or os.path.join(os.path.dirname(HERE), "src")
sys.path.insert(0, HERE)
sys.path.insert(0, SRC)

import datagen  # noqa: E402


def _tool_version(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, timeout=30).stdout.decode("utf-8", "replace")
        return out.splitlines()[0] if out else "?"
    except (OSError, subprocess.SubprocessError, IndexError):
        return "missing"


def pytest_benchmark_update_machine_info(config, machine_info):
    import numpy
    import pysam

    import deepamp

    machine_info["deepamp_file"] = deepamp.__file__
    machine_info["nproc"] = os.cpu_count()
    machine_info["affinity"] = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    machine_info["loadavg_at_start"] = os.getloadavg()
    machine_info["kernel"] = platform.release()
    machine_info["samtools"] = _tool_version(["samtools", "--version"])
    machine_info["pysam"] = pysam.__version__
    machine_info["htslib"] = pysam.__htslib_version__ if hasattr(pysam, "__htslib_version__") else "?"
    machine_info["numpy"] = numpy.__version__
    try:
        with open("/proc/meminfo") as fh:
            machine_info["memtotal"] = fh.readline().split(":", 1)[1].strip()
    except OSError:
        pass


def _need(path: str) -> str:
    if not os.path.exists(path):
        pytest.skip(f"{path} missing: run `python benchmarks/datagen.py` (or benchmarks/run.sh)")
    return path


@pytest.fixture(scope="session")
def ref() -> str:
    return datagen.REF


@pytest.fixture(scope="session")
def padded_ref() -> str:
    return _need(datagen.PADDED_REF)


@pytest.fixture(scope="session")
def bed() -> str:
    return datagen.BED


@pytest.fixture(scope="session")
def amplicons():
    from deepamp.io.regions import read_bed

    return read_bed(datagen.BED)


@pytest.fixture(scope="session")
def bam_main() -> str:
    return _need(datagen.bam_path(datagen.MAIN_DEPTH))


@pytest.fixture(scope="session")
def bam_at():
    return lambda pairs: _need(datagen.bam_path(pairs))


@pytest.fixture(scope="session")
def samtools() -> str:
    exe = shutil.which("samtools")
    if exe is None:
        pytest.skip("samtools not on PATH")
    return exe


@pytest.fixture(scope="session")
def sub_env() -> dict[str, str]:
    """Environment for subprocesses: the package under test first on PYTHONPATH."""
    env = dict(os.environ)
    src = SRC
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "") if env.get("PYTHONPATH") else src
    return env


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], capture_output=True, timeout=30,
                             cwd=os.path.dirname(HERE)).stdout
        return out.decode("utf-8", "replace").strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def pytest_benchmark_generate_commit_info(config):
    """Replaces pytest-benchmark's commit info, which decodes ``git diff`` as UTF-8
    and crashes the session (losing the JSON) when the working tree holds binary changes."""
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"id": _git("rev-parse", "HEAD"), "branch": _git("rev-parse", "--abbrev-ref", "HEAD"),
            "time": _git("log", "-1", "--format=%cI"), "project": "deepamp", "dirty": bool(status),
            "dirty_files": status.splitlines()}
