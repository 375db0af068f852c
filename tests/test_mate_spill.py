"""Waiting mates beyond the memory budget go to temporary files (csrc/mates.c).

The counts must not depend on the budget: a budget of 1 byte sends every
name partition to disk at both spilling levels, a few KiB spills some
partitions part-way through an amplicon, and 0 keeps everything in memory.
The sample mixes what the merge has to get right (indels, discordant mates,
chunk boundaries, mates dropped by filters) with reads whose bases or
qualities cannot be packed one byte per base (IUPAC codes, '=', Q > 50)."""
from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile

import numpy as np
import pysam
import pytest

from conftest import ref_fasta
from deepamp.counting import bam as pileup
from deepamp.cli import main
from deepamp.errors import OutputError
from deepamp.simulate import Amplicon, Spike, simulate

CONTIG, LENGTH = "chrM", 20000


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    d = tmp_path_factory.mktemp("spill")
    rng = random.Random(5)
    seq = "".join(rng.choice("ACGT") for _ in range(LENGTH))
    fa = ref_fasta(d, {CONTIG: seq})
    # amplicons straddle the 16,384 bp chunk boundary, so both chunks see some pairs
    amplicons = [Amplicon(CONTIG, s, s + 240, f"amp{i}") for i, s in enumerate((200, 5000, 16250, 16300))]
    spikes = [Spike(CONTIG, 300, seq[299], "T" if seq[299] != "T" else "A", 0.05),
              Spike(CONTIG, 5100, seq[5099:5103], seq[5099], 0.04),          # deletion
              Spike(CONTIG, 16384, seq[16383], seq[16383] + "GA", 0.04)]     # insertion at the boundary
    plain = str(d / "plain.bam")
    simulate(fa, amplicons, plain, pairs_per_amplicon=600, read_length=150, spikes=spikes,
             contig_length=LENGTH, duplicate_fraction=0.01)
    # make some reads unpackable: quality above 50, IUPAC or '=' bases
    bam = str(d / "sample.bam")
    with pysam.AlignmentFile(plain) as src, pysam.AlignmentFile(bam, "wb", template=src) as out:
        for i, r in enumerate(src):
            if i % 7 == 0 and r.query_sequence:
                q = r.query_qualities
                s = list(r.query_sequence)
                s[len(s) // 2] = "RN="[i % 3]
                q[len(q) // 3] = 60
                r.query_sequence = "".join(s)
                r.query_qualities = q
            out.write(r)
    pysam.index(bam)
    return fa, bam


def _count(fa, bam, **kw):
    return pileup.count(bam, [f"{CONTIG}:1-{LENGTH}"], reference=fa, **kw)


def _same(a, b):
    assert np.array_equal(a.counts, b.counts)
    assert np.array_equal(a.qual_hist, b.qual_hist)
    assert np.array_equal(a.junction, b.junction)
    assert a.read_stats == b.read_stats
    assert a.base_stats == b.base_stats
    assert np.array_equal(a.indels.pos, b.indels.pos)
    assert np.array_equal(a.indels.length, b.indels.length)
    assert list(a.indels.sequence) == list(b.indels.sequence)
    assert np.array_equal(a.indels.count, b.indels.count)


@pytest.mark.parametrize("mate_memory,threads", [(1, 1), (1, 2), (6000, 1), (60000, 2),
                                                 (pileup.DEFAULT_MATE_MEMORY, 1)])
def test_counts_do_not_depend_on_the_budget(sample, mate_memory, threads):
    fa, bam = sample
    ref = _count(fa, bam, mate_memory=0)
    assert ref.read_stats["mates_merged"] > 2000          # the sample does merge mates
    assert ref.base_stats["overlap_discordant"] > 0
    _same(_count(fa, bam, mate_memory=mate_memory, threads=threads), ref)


def test_spill_files_are_gone_after_the_walk(sample, tmp_path, monkeypatch):
    fa, bam = sample
    spill_dir = tmp_path / "spill"
    spill_dir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spill_dir))
    fds_before = len(os.listdir("/proc/self/fd"))
    _same(_count(fa, bam, mate_memory=1), _count(fa, bam, mate_memory=0))
    assert os.listdir(spill_dir) == []                    # unlinked as soon as created
    assert len(os.listdir("/proc/self/fd")) == fds_before  # and closed


def test_unusable_temporary_directory_is_a_one_line_error(sample, tmp_path, monkeypatch):
    fa, bam = sample
    missing = tmp_path / "no-such-dir"
    monkeypatch.setattr(tempfile, "tempdir", str(missing))
    with pytest.raises(OutputError, match=f"temporary file for waiting mates in {missing}"):
        _count(fa, bam, mate_memory=1)
    _count(fa, bam, mate_memory=0)                         # nothing to spill: no temporary file needed


def test_cli_reports_the_temporary_directory_and_writes_nothing(sample, tmp_path, monkeypatch, capsys):
    fa, bam = sample
    out = tmp_path / "out.vcf"
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    rc = main(["call", "-f", fa, "-r", f"{CONTIG}:1-{LENGTH}", "--mate-memory", "0.000001",
               "-o", str(out), bam])
    assert rc != 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "temporary file for waiting mates" in lines[0], lines
    assert not out.exists() and os.listdir(tmp_path) == []


def test_cli_rejects_a_negative_budget(sample, tmp_path):
    fa, bam = sample
    p = subprocess.run([sys.executable, "-m", "deepamp", "count", "-f", fa, "-r", f"{CONTIG}:1-{LENGTH}",
                        "--mate-memory", "-1", "-o", str(tmp_path / "c.tsv"), bam],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "--mate-memory: -1 is not in [0, inf)" in p.stderr
