"""Regression tests for inputs found by the fuzzers (tests/fuzz/run.sh).

Each input is the minimised form of a fuzzer artifact, rebuilt from its
bytes here so the test does not depend on build/fuzz.
"""
from __future__ import annotations

import struct

import pysam
import pytest

from deepamp import errors
from deepamp.counting import bam as pileup
from deepamp.cli import main as cli_main
from make_malformed import bgzf


def _bam_with_header_text(path, text: bytes, contigs: dict[str, int]) -> str:
    raw = b"BAM\x01" + struct.pack("<i", len(text)) + text + struct.pack("<i", len(contigs))
    for name, length in contigs.items():
        raw += struct.pack("<i", len(name) + 1) + name.encode() + b"\0" + struct.pack("<i", length)
    path.write_bytes(bgzf(raw))
    pysam.index(str(path))
    return str(path)


# libFuzzer artifact leak-b6c8c3a2ee7a: '@HD' mutated to '@,D'.  htslib reads
# the header; pysam's AlignmentHeader.to_dict() then raised AssertionError,
# which escaped deepamp.counting.bam.count and the CLI as a traceback.
INVALID_TYPE = b"@,D\tVN:1.6\tSO:coordinate\n@SQ\tSN:chr1\tLN:600\n"


def test_header_line_with_invalid_record_type_is_an_input_error(tmp_path):
    bam = _bam_with_header_text(tmp_path / "bad.bam", INVALID_TYPE, {"chr1": 600})
    with pytest.raises(errors.InputFileError, match=r"bad\.bam: not a readable BAM file"):
        pileup.count(bam, "chr1:100-400")


def test_header_line_with_invalid_record_type_cli_one_line(tmp_path, capsys):
    bam = _bam_with_header_text(tmp_path / "bad.bam", INVALID_TYPE, {"chr1": 600})
    out = tmp_path / "out.tsv"
    rc = cli_main(["count", bam, "-r", "chr1:100-400", "-o", str(out), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1
    assert len(err) == 1 and err[0].startswith("deepamp count: error: ") and "bad.bam" in err[0]
    assert not out.exists()


# atheris (tests/fuzz/fuzz_api.py, fuzzed header text): htslib accepts a
# header text with NULs after its last line (it indexes the file), pysam's
# to_dict() then reads a line "ooooo\r" and says "header line without '@':
# 'ooooo\r'", and the raw carriage return goes into deepamp's message: the
# "one-line" error is two lines for str.splitlines(), and a terminal returns
# to column 0 mid-message.  cli.one_line escapes it.
def test_header_line_with_carriage_return_error_is_one_line(tmp_path, capsys):
    bam = _bam_with_header_text(tmp_path / "cr.bam", b"@HD\tVN:1.6\tSO:coordinate\n\0\0ooooo\r", {"chr1": 600})
    rc = cli_main(["count", bam, "-r", "chr1:100-400", "-o", str(tmp_path / "out.tsv"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 1 and "cr.bam" in err
    assert len(err.strip().splitlines()) == 1, repr(err)
    assert "\\r" in err


# libFuzzer artifact crash-ec6a07814b70 (two threads, whole contig): a mapped
# read named "0\n\x02" with no CIGAR operation and 50 bases.  The C core's
# message quoted the name as is, so the "one-line" error had a line break in
# it (and the harness aborts on that).  da_fail now writes control characters
# as '?', for every message, whatever a file puts in a read or contig name.
@pytest.mark.parametrize("threads", [1, 2])
def test_read_name_with_a_line_break_gives_a_one_line_error(tmp_path, threads):
    from make_malformed import bam_header, bam_record, index, write_bam

    recs = [bam_record("0\n\x02", 0, 0, 10, 60, [], "A" * 50)]
    bam = str(write_bam(tmp_path / "nl.bam", bam_header({"chr1": 600}), recs))
    index(bam)
    with pytest.raises(errors.InputFileError) as info:
        pileup.count(bam, "chr1", threads=threads)
    msg = str(info.value)
    assert "nl.bam" in msg and "CIGAR covers 0 bases" in msg
    assert len(msg.splitlines()) == 1 and "0??" in msg, repr(msg)
