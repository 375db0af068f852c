"""Same inputs, any --threads: byte-identical VCF (apart from ##fileDate and
##commandline) and count TSV.  The region is 40 kb, so it is split into
several 16,384 bp chunks that the threads take in different orders."""
from __future__ import annotations

import random

import pytest

from conftest import ref_fasta
from deepamp.counting import bam as pileup
from deepamp.cli import main
from deepamp.simulate import Amplicon, Spike, simulate

CONTIG, LENGTH = "chrS", 40000


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    d = tmp_path_factory.mktemp("determinism")
    rng = random.Random(17)
    seq = "".join(rng.choice("ACGT") for _ in range(LENGTH))
    fa = ref_fasta(d, {CONTIG: seq})
    # amplicons tile the contig and straddle the chunk boundaries at 16384 and 32768
    amplicons = [Amplicon(CONTIG, s, s + 260, f"amp{i}") for i, s in enumerate(range(50, LENGTH - 300, 230))]
    spikes = [Spike(CONTIG, p, seq[p - 1], "C" if seq[p - 1] != "C" else "G", 0.03)
              for p in (1000, 16384, 16385, 16390, 25000, 32768, 39000)]
    bam = str(d / "sample.bam")
    simulate(fa, amplicons, bam, pairs_per_amplicon=150, read_length=150, spikes=spikes,
             contig_length=LENGTH)
    return fa, bam


def _strip(text: str) -> str:
    return "".join(line + "\n" for line in text.splitlines()
                   if not line.startswith(("##fileDate", "##commandline")))


def test_region_spans_several_chunks(sample):
    fa, bam = sample
    r = pileup.count(bam, f"{CONTIG}:1-{LENGTH}", reference=fa)
    assert len(r.pos) == LENGTH > 2 * 16384
    covered = r.depth > 0
    assert covered[16000:16384].any() and covered[16384:16800].any() and covered[32768:33000].any()


def test_vcf_and_tsv_identical_for_any_thread_count(sample, tmp_path, capsys):
    fa, bam = sample
    vcfs, tsvs = {}, {}
    for t in (1, 2, 4, 8):
        vcf, tsv = tmp_path / f"t{t}.vcf", tmp_path / f"t{t}.tsv"
        assert main(["call", bam, "-f", fa, "-r", f"{CONTIG}:1-{LENGTH}", "--threads", str(t),
                     "-o", str(vcf), "--quiet"]) == 0
        assert main(["count", bam, "-f", fa, "-r", f"{CONTIG}:1-{LENGTH}", "--threads", str(t),
                     "-o", str(tsv), "--quiet"]) == 0
        vcfs[t], tsvs[t] = _strip(vcf.read_text()), tsv.read_bytes()
    capsys.readouterr()
    records = [line for line in vcfs[1].splitlines() if not line.startswith("#")]
    assert len(records) >= 3, "the spiked SNVs should be called (otherwise the VCF test is vacuous)"
    for t in (2, 4, 8):
        assert vcfs[t] == vcfs[1], f"VCF differs between --threads 1 and {t}"
        assert tsvs[t] == tsvs[1], f"count TSV differs between --threads 1 and {t}"


def test_api_results_identical_including_indels_and_stats(sample):
    fa, bam = sample
    base = pileup.count(bam, f"{CONTIG}:1-{LENGTH}", reference=fa, threads=1)
    for t in (3, 8):
        r = pileup.count(bam, f"{CONTIG}:1-{LENGTH}", reference=fa, threads=t)
        assert (r.counts == base.counts).all() and (r.qual_hist == base.qual_hist).all()
        assert r.read_stats == base.read_stats and r.base_stats == base.base_stats
        for f in ("contig", "pos", "length", "sequence", "count"):
            assert (getattr(r.indels, f) == getattr(base.indels, f)).all(), f
