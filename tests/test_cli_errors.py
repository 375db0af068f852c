"""CLI failure modes: unwritable outputs, interruption, one-line errors.

An interrupted or failed run must leave neither the output nor a temporary
file behind, and report one line on stderr with a non-zero exit code.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import pytest

import deepamp
from deepamp import cli
from deepamp.simulate import simulate

DATA = resources.files("deepamp") / "data"
REF = str(DATA / "ALK_hg38_chr2_29191796-29223795.fa")
BED = str(DATA / "alk_exons22-25_amplicons.bed")
PKG_PARENT = str(Path(deepamp.__file__).resolve().parents[1])


@pytest.fixture(scope="module")
def bam(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("cli") / "s.bam")
    simulate(REF, BED, out, pairs_per_amplicon=500, contig_length={"chr2": 242193529})
    return out


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize("command", ["call", "count"])
def test_unwritable_directory_fails_before_work(tmp_path, bam, command):
    """As root, the run drops the capabilities that ignore file modes (setpriv), so the mode counts."""
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([PKG_PARENT, os.environ.get("PYTHONPATH", "")]))
    try:
        out = str(locked / ("x.vcf" if command == "call" else "x.tsv"))
        res = subprocess.run(prefix + [sys.executable, "-m", "deepamp", command, "-f", REF, "-l", BED, "-o", out,
                                       bam], capture_output=True, text=True, env=env)
        err = res.stderr.strip()
        assert res.returncode == 1 and err.count("\n") == 0 and "not writable" in err and out in err, err
        assert _leftovers(locked) == []
    finally:
        locked.chmod(0o700)


@pytest.mark.parametrize("command", ["call", "count"])
def test_output_on_a_filesystem_that_refuses_files(bam, command, capsys):
    # /proc refuses new files even for root, so this runs whatever the user
    if not os.path.isdir("/proc/self"):
        pytest.skip("no /proc")
    out = "/proc/deepamp-test.vcf" if command == "call" else "/proc/deepamp-test.tsv"
    assert cli.main([command, "-f", REF, "-l", BED, "-o", out, "--quiet", bam]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "cannot write" in err and out in err


def test_output_path_is_a_directory(tmp_path, bam, capsys):
    assert cli.main(["count", "-l", BED, "-o", str(tmp_path), bam]) == 1
    assert "is a directory" in capsys.readouterr().err


def test_failed_run_leaves_no_partial_output(tmp_path, bam, capsys):
    # the region error is found after the output was checked: nothing may be written
    out = tmp_path / "calls.vcf.gz"
    assert cli.main(["call", "-f", REF, "-r", "chrZ:1-100", "-o", str(out), bam]) == 1
    assert "chrZ" in capsys.readouterr().err
    assert _leftovers(tmp_path) == []


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_simulation_leaves_nothing(tmp_path, sig):
    """Interrupt a long-running command mid-write: exit 130, no output, no temp file."""
    out = tmp_path / "big.bam"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([PKG_PARENT, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-m", "deepamp", "simulate", "-f", REF, "-l", BED,
                             "-o", str(out), "--pairs", "400000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(3.0)            # well into simulating; the full run takes about a minute
    if proc.poll() is not None:
        pytest.skip("the simulation finished before it could be interrupted")
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "interrupted" in err and err.strip().count("\n") == 0
    assert _leftovers(tmp_path) == []
