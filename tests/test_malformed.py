"""Malformed inputs: each gives a specific deepamp.errors exception from the API
and a one-line error with exit code 1 from the CLI -- never a crash.

The corpus comes from tests/make_malformed.py.  Inputs that reach the C core
corrupted ("risky") are run in a subprocess so that a segfault or abort fails
one test instead of killing pytest; the others run in-process with capsys.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import deepamp

import make_malformed
from deepamp import errors
from deepamp.counting import bam as pileup
from deepamp.cli import main

# Subprocesses import the same deepamp as this test process (installed or in-tree).
SRC = str(Path(deepamp.__file__).resolve().parents[1])

_RUNNER = r"""
import contextlib, io, json, sys
case = json.loads(sys.argv[1])
from deepamp import errors
from deepamp.counting import bam as pileup
from deepamp.cli import main
res = {}
a = case["api"]
try:
    pileup.count(a["bam"], a["regions"], bed=a["bed"], reference=a["reference"])
    res["api"] = "ok"
except errors.DeepampError as exc:
    res["api"] = type(exc).__name__
    res["msg"] = str(exc)
err = io.StringIO()
with contextlib.redirect_stderr(err):
    res["rc"] = main([case["command"], *case["args"], "-o", sys.argv[2], "--quiet"])
res["stderr"] = err.getvalue()
print(json.dumps(res))
"""


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("malformed")
    cases = make_malformed.make_corpus(d)
    return {c["name"]: c for c in cases}


def _case_names():
    # the names are fixed by make_malformed; listing them here keeps collection cheap
    import ast
    tree = ast.parse(Path(make_malformed.__file__).read_text())
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("add", "forged", "sam_case", "bed_case"):
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.append(first.value)
    return names


CASES = _case_names()

# Known bugs in files this suite does not own (strict: they fail loudly once fixed).
XFAIL = {

}


def _expected_ok(case, res):
    return res["api"] == "ok" and res["rc"] == 0 and res["stderr"] == ""


def _check_error(case, api_name, msg, rc, stderr):
    expect = case["expect"]
    if expect == "ok":
        assert api_name == "ok", f"{case['name']}: unexpected {api_name}: {msg}"
        assert rc == 0, stderr
        return
    assert api_name == expect, f"{case['name']} ({case['note']}): got {api_name}: {msg}"
    # the error names the file or argument at fault
    assert msg and "\n" not in msg
    assert rc == 1
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"deepamp {case['command']}: error: "), stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("name", CASES)
def test_case_in_subprocess(corpus, name, tmp_path, request):
    if name in XFAIL:
        request.applymarker(pytest.mark.xfail(strict=True, reason=XFAIL[name]))
    case = corpus[name]
    out = tmp_path / ("out.vcf" if case["command"] == "call" else "out.tsv")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]))
    p = subprocess.run([sys.executable, "-c", _RUNNER, json.dumps(case), str(out)],
                       capture_output=True, text=True, timeout=300, env=env)
    assert p.returncode == 0, f"{name}: interpreter died (rc {p.returncode}): {p.stderr[-2000:]}"
    res = json.loads(p.stdout.strip().splitlines()[-1])
    _check_error(case, res["api"], res.get("msg"), res["rc"], res["stderr"])
    if res["rc"] != 0:
        assert not out.exists(), "a failed run must not leave an output file"
        assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]
    else:
        assert out.stat().st_size > 0


def _safe_names():
    return [n for n in CASES if n not in XFAIL]


@pytest.mark.parametrize("name", _safe_names())
def test_case_in_process(corpus, name, tmp_path, capsys):
    """The same cases through the Python API and deepamp.cli.main in this
    process (risky ones only once the subprocess test showed they do not crash)."""
    case = corpus[name]
    a = case["api"]
    api_name, msg = "ok", None
    try:
        pileup.count(a["bam"], a["regions"], bed=a["bed"], reference=a["reference"])
    except errors.DeepampError as exc:
        api_name, msg = type(exc).__name__, str(exc)
        # the class is the specific one, and also the documented base
        assert isinstance(exc, getattr(errors, case["expect"], errors.DeepampError))
    capsys.readouterr()
    out = tmp_path / ("out.vcf" if case["command"] == "call" else "out.tsv")
    rc = main([case["command"], *case["args"], "-o", str(out), "--quiet"])
    captured = capsys.readouterr()
    _check_error(case, api_name, msg, rc, captured.err)
    assert out.exists() == (rc == 0)


# ---------------------------------------------------------------- specific outcomes

def test_truncation_messages_name_file(corpus):
    for name in ("truncated_midblock", "no_eof_block", "corrupt_deflate", "bad_crc", "cigar_longer_than_seq"):
        a = corpus[name]["api"]
        with pytest.raises(errors.TruncatedFileError) as info:
            pileup.count(a["bam"], a["regions"])
        assert a["bam"] in str(info.value)


def test_odd_legal_records_are_accounted(corpus):
    a = corpus["seq_star"]["api"]
    r = pileup.count(a["bam"], a["regions"])
    assert r.read_stats["no_sequence"] == 1 and r.read_stats["seen"] == 21
    a = corpus["qual_star"]["api"]
    r = pileup.count(a["bam"], a["regions"], reference=a["reference"])
    assert r.base_stats["no_quality"] == 50           # QUAL '*' bases are not counted as Q255
    assert r.depth[119:169].max() == 20
    a = corpus["all_softclipped"]["api"]
    r = pileup.count(a["bam"], a["regions"])
    assert r.base_stats["soft_clipped"] == 50 and r.base_stats["counted"] == 1000
    a = corpus["huge_insertion"]["api"]
    r = pileup.count(a["bam"], a["regions"])
    assert list(r.indels.length) == [20000] and len(r.indels.sequence[0]) == 20000
    assert r.indels.pos[0] == 144                     # anchored on the last M base
    a = corpus["read_past_contig_end"]["api"]
    r = pileup.count(a["bam"], a["regions"])
    assert len(r.pos) == 2000 and r.depth[-20:].tolist() == [1] * 20


def test_iupac_reference_is_kept_and_not_called(corpus, tmp_path, capsys):
    a = corpus["ref_iupac_and_n"]["api"]
    r = pileup.count(a["bam"], a["regions"], reference=a["reference"])
    assert set(r.ref.tolist()) - set("ACGT") <= set("NRYKMSWBDHV")
    assert r.ref[0] == "N" and r.ref[7] == "B"        # soft-masked bases are upper-cased
    out = tmp_path / "iupac.vcf"
    assert main(["call", *corpus["ref_iupac_and_n_call"]["args"], "-o", str(out), "--quiet"]) == 0
    ref_codes = [line.split("\t")[3] for line in out.read_text().splitlines() if not line.startswith("#")]
    assert all(set(c) <= set("ACGT") for c in ref_codes), ref_codes


def test_region_past_end_is_clamped(corpus):
    a = corpus["good"]["api"]
    r = pileup.count(a["bam"], "chr1:1900-2100")
    assert r.regions[0].end == 2000 and len(r.pos) == 101


def test_make_malformed_cli(tmp_path):
    p = subprocess.run([sys.executable, make_malformed.__file__, str(tmp_path / "c")],
                       capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, PYTHONPATH=SRC))
    assert p.returncode == 0, p.stderr
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert [c["name"] for c in manifest] == CASES
