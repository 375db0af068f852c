"""deepamp.counting.bam.count against the pure-Python oracle (tests/oracle.py) on
random BAMs, and count_coverage against pysam's count_coverage."""
from __future__ import annotations

import random
import re

import numpy as np
import pysam
import pytest

from conftest import ref_fasta, sam_header, sam_to_bam
from oracle import count_oracle, nonzero, result_indels

from deepamp.counting import bam as pileup
from deepamp.io.regions import Region

CONTIGS = {"chrA": 40_000, "chrB": 3_000}
# sorted, disjoint; chrA:1000-35000 spans the 16384-bp chunk boundaries 17384 and 33768
REGIONS = [("chrA", 100, 600), ("chrA", 650, 900), ("chrA", 1000, 35_000), ("chrB", 0, 3_000)]
CHUNK_EDGES = [17_384, 33_768]
# The pieces the kernel walks separately: regions cut into 16384-bp chunks.
PIECES = [("chrA", 100, 600), ("chrA", 650, 900), ("chrA", 1000, 17_384), ("chrA", 17_384, 33_768),
          ("chrA", 33_768, 35_000), ("chrB", 0, 3_000)]
IUPAC = "ACGT" * 12 + "NRY"


def _rand_seq(rng, n):
    return "".join(rng.choice(IUPAC) for _ in range(n))


def _rand_cigar(rng, pad=True):
    """A random CIGAR: (ops list, query length, reference length)."""
    ops = []
    if rng.random() < 0.1:
        ops.append(("H", rng.randint(1, 5)))
    if rng.random() < 0.25:
        ops.append(("S", rng.randint(1, 6)))
    if rng.random() < 0.05:
        ops.append(("I", rng.randint(1, 3)))          # leading, unanchored
    nblocks = rng.randint(1, 4)
    for k in range(nblocks):
        mop = rng.choice("MMMM=X")
        ops.append((mop, rng.randint(3, 25)))
        if k < nblocks - 1:
            kind = rng.random()
            if kind < 0.35:
                ops.append(("I", rng.randint(1, 4)))
            elif kind < 0.7:
                ops.append(("D", rng.randint(1, 5)))
            elif kind < 0.8:
                ops.append(("I", rng.randint(1, 2)))
                ops.append(("D", rng.randint(1, 2)))
            elif kind < 0.9:
                ops.append(("N", rng.randint(5, 60)))
            elif pad:
                ops.append(("P", 1))
    if rng.random() < 0.05:
        ops.append(("I", rng.randint(1, 3)))          # trailing, unanchored
    if rng.random() < 0.25:
        ops.append(("S", rng.randint(1, 6)))
    if rng.random() < 0.1:
        ops.append(("H", rng.randint(1, 5)))
    qlen = sum(n for op, n in ops if op in "MIS=X")
    rlen = sum(n for op, n in ops if op in "MDN=X")
    return "".join(f"{n}{op}" for op, n in ops), qlen, rlen


def _rand_qual(rng, n, min_q=0):
    if rng.random() < 0.04:
        return "*"
    return "".join(chr(33 + rng.randint(min_q, 41)) for _ in range(n))


def _read_fields(rng, contig, pos, flag, mpos, name, pad=True):
    cigar, qlen, rlen = _rand_cigar(rng, pad)
    seq = _rand_seq(rng, qlen)
    qual = _rand_qual(rng, qlen)
    if rng.random() < 0.01:
        seq, qual = "*", "*"
    mapq = rng.choice([0, 5, 20, 30, 60, 60, 60])
    rnext = "=" if mpos is not None else "*"
    pnext = mpos + 1 if mpos is not None else 0
    return [name, str(flag), contig, str(pos + 1), str(mapq), cigar, rnext, str(pnext), "0", seq, qual], rlen


def random_sam(seed: int, n_frag: int = 900, pad: bool = True) -> str:
    rng = random.Random(seed)
    lines = []
    anchors = [("chrA", 100), ("chrA", 560), ("chrA", 880), ("chrA", 1000), ("chrA", 17_360),
               ("chrA", 33_740), ("chrA", 34_970), ("chrB", 0), ("chrB", 2_950), ("chrA", 20_000)]
    for i in range(n_frag):
        contig, centre = rng.choice(anchors)
        pos = max(0, centre + rng.randint(-40, 40))
        kind = rng.random()
        name = f"f{i}"
        if kind < 0.6:  # overlapping pair
            off = rng.choice([0, 0, rng.randint(0, 30), rng.randint(0, 80)])
            pos2 = pos + off
            r1_rev = rng.random() < 0.5
            f1 = 0x1 | 0x2 | (0x10 if r1_rev else 0x20) | 0x40
            f2 = 0x1 | 0x2 | (0x20 if r1_rev else 0x10) | 0x80
            if rng.random() < 0.5:   # the READ1/READ2 roles may come in either position order
                f1, f2 = f1 ^ 0xC0, f2 ^ 0xC0
            for fl_i in range(2):
                r = rng.random()
                bad = 0x400 if r < 0.06 else 0x200 if r < 0.09 else 0
                if fl_i == 0:
                    f1 |= bad
                else:
                    f2 |= bad
            a, _ = _read_fields(rng, contig, pos, f1, pos2, name, pad)
            b, _ = _read_fields(rng, contig, pos2, f2, pos, name, pad)
            lines += [a, b]
        elif kind < 0.7:  # mapped read with unmapped mate (placed at its position)
            a, _ = _read_fields(rng, contig, pos, 0x1 | 0x8 | 0x40, pos, name, pad)
            lines.append(a)
            n = rng.randint(20, 40)
            lines.append([name, str(0x1 | 0x4 | 0x80), contig, str(pos + 1), "0", "*", "=",
                          str(pos + 1), "0", _rand_seq(rng, n), _rand_qual(rng, n)])
        elif kind < 0.8:  # secondary / supplementary single reads (unique names)
            flag = rng.choice([0x100, 0x800, 0x100 | 0x10, 0x800 | 0x10])
            a, _ = _read_fields(rng, contig, pos, flag, None, name + "_s", pad)
            lines.append(a)
        else:  # plain single-end read
            flag = rng.choice([0, 0x10, 0, 0x10, 0x400, 0x200])
            a, _ = _read_fields(rng, contig, pos, flag, None, name, pad)
            lines.append(a)
    return sam_header(CONTIGS) + "\n".join("\t".join(x) for x in lines) + "\n"


def random_reference(seed: int) -> dict[str, str]:
    rng = random.Random(seed + 1000)
    return {c: "".join(rng.choice("ACGT" * 20 + "N") for _ in range(n)) for c, n in CONTIGS.items()}


@pytest.fixture(scope="module")
def random_bam(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("oracle")
    bam = sam_to_bam(tmp, random_sam(1234))
    ref = random_reference(1234)
    fa = ref_fasta(tmp, ref)
    return bam, fa, ref


@pytest.fixture(scope="module")
def random_bam_nopad(tmp_path_factory):
    """Without CIGAR P, every read's bases are defined for pysam's
    count_coverage too, so whole windows compare (with P: below)."""
    return sam_to_bam(tmp_path_factory.mktemp("cov"), random_sam(4321, pad=False))


def _regions():
    return [Region(c, b, e) for c, b, e in REGIONS]


def assert_matches_oracle(res, exp, regions=REGIONS):
    # position axis
    want_pos = [(c, p) for c, b, e in regions for p in range(b, e)]
    assert list(zip(res.contig.tolist(), res.pos.tolist())) == want_pos
    diff = np.argwhere(res.counts.astype(np.int64) != exp["counts"])
    assert len(diff) == 0, [(want_pos[i], s, d, int(res.counts[i, s, d]), int(exp["counts"][i, s, d]))
                            for i, s, d in diff[:10]]
    if res.qual_hist is not None:
        bad = np.argwhere(res.qual_hist.astype(np.int64) != exp["qual_hist"])
        assert len(bad) == 0, [(want_pos[i], q) for i, q in bad[:10]]
    bad = np.argwhere(res.junction.astype(np.int64) != exp["junction"])
    assert len(bad) == 0, [(want_pos[i], d, int(res.junction[i, d]), int(exp["junction"][i, d]))
                           for i, d in bad[:10]]
    assert nonzero(res.read_stats) == nonzero(exp["read_stats"])
    assert nonzero(res.base_stats) == nonzero(exp["base_stats"])
    assert result_indels(res) == exp["indels"]


PARAMS = [
    dict(),
    dict(min_bq=0),
    dict(min_bq=20, min_mapq=20),
    dict(min_bq=10, min_alt_bq=30, use_ref=True),
    dict(min_bq=0, min_alt_bq=25, use_ref=True, merge_mates=False),
    dict(flag_exclude=0, min_bq=13),
    dict(flag_exclude=0x400, merge_mates=False),
    dict(flag_exclude=0x100 | 0x200),
]


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()) or "default")
def test_count_matches_oracle(random_bam, params):
    bam, fa, ref = random_bam
    params = dict(params)
    use_ref = params.pop("use_ref", False)
    res = pileup.count(bam, _regions(), reference=fa if use_ref else None, **params)
    exp = count_oracle(bam, REGIONS, reference=ref if use_ref else None, **params)
    assert res.counts.sum() > 10_000          # the data really exercises the kernel
    assert_matches_oracle(res, exp)


def test_random_data_covers_the_interesting_cases(random_bam):
    """Guard against a generator that silently stops producing the hard cases."""
    bam, _, _ = random_bam
    res = pileup.count(bam, _regions())
    bs, rs = res.base_stats, res.read_stats
    for k in ("counted", "low_base_quality", "no_quality", "overlap_merged", "overlap_discordant",
              "soft_clipped", "indel_overlap_discordant"):
        assert bs[k] > 0, k
    for k in ("unmapped", "secondary", "supplementary", "qcfail", "duplicate", "no_sequence",
              "mates_merged"):
        assert rs[k] > 0, k
    assert (res.indels.length > 0).any() and (res.indels.length < 0).any()
    # reads and indel events across the chunk boundaries
    with pysam.AlignmentFile(bam) as af:
        for edge in CHUNK_EDGES:
            spanning = [r for r in af.fetch("chrA", edge - 1, edge + 1)
                        if r.reference_start < edge - 1 and r.reference_end > edge + 1]
            assert len(spanning) > 5
    rows = [res.index_of("chrA", e - 1) for e in CHUNK_EDGES]
    assert all(res.depth[r] > 0 for r in rows)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_threads_identical(tmp_path, seed):
    bam = sam_to_bam(tmp_path, random_sam(seed, n_frag=600))
    ref = ref_fasta(tmp_path, random_reference(seed))
    runs = [pileup.count(bam, _regions(), reference=ref, min_alt_bq=20, threads=t) for t in (1, 2, 4, 8)]
    exp = count_oracle(bam, REGIONS, reference=random_reference(seed), min_alt_bq=20)
    assert_matches_oracle(runs[0], exp)
    for r in runs[1:]:
        np.testing.assert_array_equal(r.counts, runs[0].counts)
        np.testing.assert_array_equal(r.qual_hist, runs[0].qual_hist)
        assert r.read_stats == runs[0].read_stats
        assert r.base_stats == runs[0].base_stats
        assert result_indels(r) == result_indels(runs[0])
        np.testing.assert_array_equal(r.indels.pos, runs[0].indels.pos)   # same order too


def test_sub_regions_agree_with_whole(random_bam):
    """Counting a window on its own gives the same rows as inside a bigger region."""
    bam, _, _ = random_bam
    whole = pileup.count(bam, "chrA:1001-35000")
    part = pileup.count(bam, "chrA:17301-17500")
    lo = whole.index_of("chrA", 17_300)
    np.testing.assert_array_equal(part.counts, whole.counts[lo:lo + 200])


@pytest.mark.parametrize("threshold", [0, 15, 30])
@pytest.mark.parametrize("callback", ["all", "nofilter"])
@pytest.mark.parametrize("window", [("chrA", 0, 1200), ("chrA", 17_000, 18_000), ("chrB", 0, 3_000)])
def test_count_coverage_matches_pysam(random_bam_nopad, threshold, callback, window):
    bam = random_bam_nopad
    contig, start, stop = window
    got = pileup.count_coverage(bam, contig, start, stop, quality_threshold=threshold, read_callback=callback)
    with pysam.AlignmentFile(bam) as af:
        want = af.count_coverage(contig, start, stop, quality_threshold=threshold, read_callback=callback)
    assert sum(int(np.sum(w)) for w in want) > 300
    for g, w in zip(got, want):
        np.testing.assert_array_equal(np.asarray(g, dtype=np.int64), np.asarray(w, dtype=np.int64))


def _pysam_count_coverage(bam, contig, start, stop, read_callback="all", **kw):
    """pysam's arrays and how many reads with a CIGAR P it counted in the
    window; None where pysam has no defined answer: a P moved its query offset
    past the sequence end inside the window (pysam's count_coverage then reads
    past the end of the sequence string, or raises IndexError on the quality
    array)."""
    with pysam.AlignmentFile(bam) as af:
        padded = 0
        for r in af.fetch(contig, start, stop):
            if read_callback == "all" and r.flag & 0x704 or r.query_sequence is None:
                continue
            in_window = [q for q, p in r.get_aligned_pairs(True) if start <= p < stop]
            if any(q >= len(r.query_sequence) for q in in_window):
                return None, 0
            padded += bool(in_window) and "P" in r.cigarstring
        return af.count_coverage(contig, start, stop, read_callback=read_callback, **kw), padded


PAD_WINDOWS = [("chrA", b, b + 30) for b in range(40, 1_000, 30)] + \
              [("chrA", b, b + 30) for b in range(17_300, 17_450, 30)] + \
              [("chrB", b, b + 30) for b in list(range(0, 120, 30)) + list(range(2_900, 3_000, 30))]


@pytest.mark.parametrize("threshold,callback", [(0, "all"), (15, "all"), (30, "nofilter")])
def test_count_coverage_with_pads_matches_pysam(random_bam, threshold, callback):
    """CIGAR P consumes neither query nor reference, but pysam's count_coverage
    (get_aligned_pairs) steps its query offset over it, so the bases after a P
    are read shifted.  deepamp returns the same numbers wherever pysam's are
    defined."""
    bam, _, _ = random_bam
    answered = padded = 0
    for contig, start, stop in PAD_WINDOWS:
        want, n_padded = _pysam_count_coverage(bam, contig, start, stop, quality_threshold=threshold,
                                               read_callback=callback)
        if want is None:
            continue
        got = pileup.count_coverage(bam, contig, start, stop, quality_threshold=threshold,
                                    read_callback=callback)
        answered += 1
        padded += n_padded
        for g, w in zip(got, want):
            np.testing.assert_array_equal(np.asarray(g, dtype=np.int64), np.asarray(w, dtype=np.int64))
    assert answered >= 10 and padded >= 20, (answered, padded)


# P in every position a CIGAR can hold it, alone and next to clips and indels.
PAD_CIGARS = ["3P20M", "20M2P15M", "5S1P20M", "10M1P2I10M", "10M2I1P10M", "10M1P3D10M", "8M3D2P8M",
              "12M1P1P12M", "2H4S3P10M4P10M", "10M5N2P10M", "15M4P", "15M2P3S", "6M1P6M1P6M1P6M",
              "25M40P5M", "1P1M1P1M1P1M1P20M", "10M3P4S", "10M2P1I5M4S"]


def test_count_coverage_pad_configurations_match_pysam(tmp_path):
    rng = random.Random(8)
    lines = []
    for i, cigar in enumerate(PAD_CIGARS):
        qlen = sum(int(n) for n, op in re.findall(r"(\d+)([MIDNSHP=X])", cigar) if op in "MIS=X")
        for k in range(6):
            seq = "".join(rng.choice("ACGT") for _ in range(qlen))
            qual = "".join(chr(33 + rng.choice([5, 20, 40])) for _ in range(qlen))
            lines.append(f"p{i}_{k}\t{rng.choice([0, 16])}\tchrB\t{101 + 7 * i + k}\t60\t{cigar}\t*\t0\t0\t{seq}\t{qual}")
    bam = sam_to_bam(tmp_path, sam_header(CONTIGS) + "\n".join(lines))
    answered = 0
    for start in range(95, 300, 5):
        for threshold in (0, 25):
            want, _ = _pysam_count_coverage(bam, "chrB", start, start + 5, quality_threshold=threshold)
            got = pileup.count_coverage(bam, "chrB", start, start + 5, quality_threshold=threshold)
            if want is None:
                assert sum(int(np.sum(g)) for g in got) > 0     # counted, not refused
                continue
            answered += 1
            for g, w in zip(got, want):
                np.testing.assert_array_equal(np.asarray(g, dtype=np.int64), np.asarray(w, dtype=np.int64))
    assert answered >= 40, answered
