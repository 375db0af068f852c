"""Records of consecutive regions read in one pass (csrc/stream.c).

Regions a few hundred bases apart share a BAI bin; the kernel reads on from
where the previous region stopped and delivers first the reads kept because
they reach into the next region.  Here many small regions sit in one bin,
reads (some with long N skips) span up to six of them, a long region crosses
chunk boundaries, and a second contig and unplaced reads follow.  Whether the
stream goes on, seeks (a budget too small to keep anything) or is split over
two threads, the counts must equal the pure-Python oracle's.
"""
from __future__ import annotations

import random

import pytest

from conftest import sam_header, sam_to_bam
from oracle import count_oracle
from test_pileup_oracle import assert_matches_oracle

from deepamp.counting import bam as pileup
from deepamp.io.regions import Region

CONTIGS = {"chrA": 40_000, "chrB": 12_000}  # no read runs off a contig (CRAM refuses that)
# Sorted, disjoint, gaps of 1 to 4,300 bases; the long chrA region is walked as
# two chunks, 9,000-25,384 and 25,384-30,000.
REGIONS = [("chrA", 100, 160), ("chrA", 161, 300), ("chrA", 350, 360), ("chrA", 420, 700),
           ("chrA", 710, 715), ("chrA", 2_700, 2_900), ("chrA", 2_905, 3_400), ("chrA", 5_000, 5_001),
           ("chrA", 5_300, 5_600), ("chrA", 9_000, 30_000), ("chrB", 50, 400), ("chrB", 900, 1_000)]
ANCHORS = [("chrA", p) for p in (90, 155, 300, 355, 420, 690, 712, 2_690, 2_900, 4_990, 5_290,
                                 9_000, 25_380, 29_990)] + [("chrB", 40), ("chrB", 390), ("chrB", 950)]


def _read(rng: random.Random, name: str, flag: int, contig: str, pos: int, mpos: int | None) -> str:
    ops, qlen = [], 0
    for k in range(rng.randint(1, 3)):
        m = rng.randint(10, 70)
        ops.append(f"{m}M")
        qlen += m
        if k < 2 and rng.random() < 0.3:
            skip = rng.choice([rng.randint(1, 4), rng.randint(50, 400), rng.randint(1_000, 2_500)])
            ops.append(f"{skip}{'D' if skip < 5 else 'N'}")
    seq = "".join(rng.choice("ACGT") for _ in range(qlen))
    qual = "".join(chr(33 + rng.randint(2, 40)) for _ in range(qlen))
    rnext, pnext = ("=", str(mpos + 1)) if mpos is not None else ("*", "0")
    return "\t".join([name, str(flag), contig, str(pos + 1), "60", "".join(ops), rnext, pnext, "0", seq, qual])


def stream_sam(seed: int, n_frag: int = 1_500) -> str:
    rng = random.Random(seed)
    lines = []
    for i in range(n_frag):
        contig, centre = rng.choice(ANCHORS)
        pos = max(0, centre + rng.randint(-30, 30))
        if rng.random() < 0.7:  # a pair, overlapping or not
            pos2 = pos + rng.choice([0, rng.randint(0, 60), rng.randint(100, 3_000)])
            lines.append(_read(rng, f"p{i}", 0x1 | 0x2 | 0x20 | 0x40, contig, pos, pos2))
            lines.append(_read(rng, f"p{i}", 0x1 | 0x2 | 0x10 | 0x80, contig, pos2, pos))
        else:
            lines.append(_read(rng, f"s{i}", rng.choice([0, 0x10, 0x400]), contig, pos, None))
    for i in range(20):  # unplaced reads sort after every contig
        lines.append("\t".join([f"u{i}", "4", "*", "0", "0", "*", "*", "0", "0", "ACGTACGT", "IIIIIIII"]))
    return sam_header(CONTIGS) + "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def stream_bam(tmp_path_factory):
    return sam_to_bam(tmp_path_factory.mktemp("stream"), stream_sam(77))


@pytest.fixture(scope="module")
def expected(stream_bam):
    return count_oracle(stream_bam, REGIONS)


def _regions():
    return [Region(c, b, e) for c, b, e in REGIONS]


@pytest.mark.parametrize("threads,mate_memory", [(1, pileup.DEFAULT_MATE_MEMORY), (1, 0), (1, 1), (2, 0),
                                                  (2, 1), (3, 3_000)],
                         ids=["default", "unlimited", "keep-nothing", "2-threads", "2-threads-keep-nothing",
                              "3-threads-small"])
def test_regions_read_in_one_pass_match_oracle(stream_bam, expected, threads, mate_memory):
    res = pileup.count(stream_bam, _regions(), threads=threads, mate_memory=mate_memory)
    assert_matches_oracle(res, expected, REGIONS)


def test_reads_spanning_several_regions_are_present(stream_bam):
    """Guard against a generator that stops producing what the stream must carry."""
    import pysam

    spans = 0
    with pysam.AlignmentFile(stream_bam) as fh:
        for r in fh.fetch("chrA", 0, 9_000):
            hit = sum(1 for c, b, e in REGIONS if c == "chrA" and r.reference_start < e and r.reference_end > b)
            spans += hit >= 3
    assert spans >= 20


def test_each_region_alone_gives_the_same_counts(stream_bam):
    """Counting the regions together equals counting each on its own (fresh index queries)."""
    together = pileup.count(stream_bam, _regions())
    at = 0
    for c, b, e in REGIONS:
        alone = pileup.count(stream_bam, [Region(c, b, e)])
        n = e - b
        assert (together.counts[at:at + n] == alone.counts).all(), (c, b, e)
        assert (together.junction[at:at + n] == alone.junction).all(), (c, b, e)
        at += n


def test_cram_goes_through_htslib_iterator_with_the_same_counts(stream_bam, tmp_path):
    """CRAM is read by htslib's own iterator per region; counts equal the BAM's."""
    import pysam

    from conftest import ref_fasta

    rng = random.Random(5)
    fa = ref_fasta(tmp_path, {c: "".join(rng.choice("ACGT") for _ in range(n)) for c, n in CONTIGS.items()})
    cram = str(tmp_path / "reads.cram")
    pysam.view("-C", "-T", fa, "-o", cram, stream_bam, catch_stdout=False)
    pysam.index(cram)
    from_bam = pileup.count(stream_bam, _regions(), reference=fa)
    from_cram = pileup.count(cram, _regions(), reference=fa, threads=2)
    assert from_bam.counts.sum() > 50_000
    assert (from_bam.counts == from_cram.counts).all()
    assert (from_bam.junction == from_cram.junction).all()
    assert from_bam.read_stats == from_cram.read_stats
