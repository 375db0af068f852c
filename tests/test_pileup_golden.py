"""Hand-computed per-position, per-strand expectations for tiny SAMs.

Tables are written by hand ({0-based pos: {"A+": n, "DEL-": n, ...}}; "+" is
the forward strand, "-" the reverse); nothing here is computed by the oracle.
"""
from __future__ import annotations

import numpy as np
import pytest

from conftest import ref_fasta, sam_header, sam_to_bam

from deepamp.counting import bam as pileup

SYMS = ["A", "C", "G", "T", "N", "DEL", "INS"]
HDR = sam_header({"c": 100})
I40 = "I"            # Phred 40
Q20 = "5"            # Phred 20


def run(tmp_path, records, region="c:1-100", **kw):
    bam = sam_to_bam(tmp_path, HDR + "\n".join(records))
    return pileup.count(bam, region, **kw)


def table(res):
    out = {}
    for i, s, d in np.argwhere(res.counts > 0):
        out.setdefault(int(res.pos[i]), {})[SYMS[s] + "+-"[d]] = int(res.counts[i, s, d])
    return out


def events(res):
    ind = res.indels
    return {(int(ind.pos[i]), int(ind.length[i]), str(ind.sequence[i])): tuple(int(x) for x in ind.count[i])
            for i in range(len(ind))}


def stats(d):
    return {k: v for k, v in d.items() if v}


def rec(name, flag, pos1, cigar, seq, qual=None, mpos1=0, mapq=60):
    qual = I40 * len(seq) if qual is None else qual
    rnext = "=" if mpos1 else "*"
    return f"{name}\t{flag}\tc\t{pos1}\t{mapq}\t{cigar}\t{rnext}\t{mpos1}\t0\t{seq}\t{qual}"


# ------------------------------------------------------------------ single reads

def test_match(tmp_path):
    res = run(tmp_path, [rec("r", 0, 11, "4M", "ACGT")])
    assert table(res) == {10: {"A+": 1}, 11: {"C+": 1}, 12: {"G+": 1}, 13: {"T+": 1}}
    assert stats(res.base_stats) == {"counted": 4}
    assert stats(res.read_stats) == {"seen": 1, "used": 1}
    assert res.qual_hist[10, 40] == 1 and res.qual_hist.sum() == 4
    assert len(res.indels) == 0


def test_seq_match_and_mismatch_ops(tmp_path):
    res = run(tmp_path, [rec("r", 0, 11, "2=2X", "ACGT")])
    assert table(res) == {10: {"A+": 1}, 11: {"C+": 1}, 12: {"G+": 1}, 13: {"T+": 1}}


def test_insertion(tmp_path):
    res = run(tmp_path, [rec("r", 0, 11, "2M2I2M", "ACTTGT")])
    assert table(res) == {10: {"A+": 1}, 11: {"C+": 1, "INS+": 1}, 12: {"G+": 1}, 13: {"T+": 1}}
    assert events(res) == {(11, 2, "TT"): (1, 0)}
    assert stats(res.base_stats) == {"counted": 4}


def test_deletion(tmp_path):
    res = run(tmp_path, [rec("r", 16, 11, "2M3D2M", "ACGT")])
    assert table(res) == {10: {"A-": 1}, 11: {"C-": 1}, 12: {"DEL-": 1}, 13: {"DEL-": 1},
                          14: {"DEL-": 1}, 15: {"G-": 1}, 16: {"T-": 1}}
    assert events(res) == {(11, -3, ""): (0, 1)}
    assert stats(res.base_stats) == {"counted": 4}
    assert res.depth_with_deletions[12] == 1 and res.depth[12] == 0


def test_ref_skip(tmp_path):
    res = run(tmp_path, [rec("r", 0, 11, "2M3N2M", "ACGT")])
    assert table(res) == {10: {"A+": 1}, 11: {"C+": 1}, 15: {"G+": 1}, 16: {"T+": 1}}
    assert len(res.indels) == 0


def test_soft_clip(tmp_path):
    res = run(tmp_path, [rec("r", 0, 11, "2S3M1S", "GGACGT")])
    assert table(res) == {10: {"A+": 1}, 11: {"C+": 1}, 12: {"G+": 1}}
    assert stats(res.base_stats) == {"counted": 3, "soft_clipped": 3}


def test_hard_clip(tmp_path):
    res = run(tmp_path, [rec("r", 0, 11, "2H3M2H", "ACG")])
    assert table(res) == {10: {"A+": 1}, 11: {"C+": 1}, 12: {"G+": 1}}
    assert stats(res.base_stats) == {"counted": 3}


def test_padding(tmp_path):
    res = run(tmp_path, [rec("r", 0, 11, "2M1P2M", "ACGT")])
    assert table(res) == {10: {"A+": 1}, 11: {"C+": 1}, 12: {"G+": 1}, 13: {"T+": 1}}


@pytest.mark.parametrize("cigar,seq", [("2I3M", "TTACG"), ("3M2I", "ACGTT"), ("1S2I3M", "GTTACG")])
def test_unanchored_insertion(tmp_path, cigar, seq):
    res = run(tmp_path, [rec("r", 0, 11, cigar, seq)])
    assert table(res) == {10: {"A+": 1}, 11: {"C+": 1}, 12: {"G+": 1}}
    assert len(res.indels) == 0
    assert res.base_stats["soft_clipped"] == len(seq) - 3


def test_reverse_strand(tmp_path):
    res = run(tmp_path, [rec("r", 16, 11, "4M", "ACGT"), rec("s", 0, 12, "2M", "CG")])
    assert table(res) == {10: {"A-": 1}, 11: {"C-": 1, "C+": 1}, 12: {"G-": 1, "G+": 1}, 13: {"T-": 1}}


def test_non_acgt_bases(tmp_path):
    res = run(tmp_path, [rec("r", 0, 11, "4M", "NRYA")])
    assert table(res) == {10: {"N+": 1}, 11: {"N+": 1}, 12: {"N+": 1}, 13: {"A+": 1}}
    assert res.base_stats["counted"] == 4
    # N bases are counted but carry no quality in the histogram (csrc/counts.h)
    assert res.qual_hist[:13].sum() == 0 and res.qual_hist[13, 40] == 1


def test_missing_quality(tmp_path):
    r = rec("r", 0, 11, "4M", "ACGT", qual="*")
    res = run(tmp_path, [r])
    assert table(res) == {}
    assert stats(res.base_stats) == {"no_quality": 4}
    res0 = run(tmp_path, [r], min_bq=0)
    assert table(res0) == {10: {"A+": 1}, 11: {"C+": 1}, 12: {"G+": 1}, 13: {"T+": 1}}
    assert res0.qual_hist[10:14, 63].tolist() == [1, 1, 1, 1]


def test_low_base_quality(tmp_path):
    res = run(tmp_path, [rec("r", 0, 11, "4M", "ACGT", qual="I%II")], min_bq=6)  # '%' = Q4
    assert table(res) == {10: {"A+": 1}, 12: {"G+": 1}, 13: {"T+": 1}}
    assert stats(res.base_stats) == {"counted": 3, "low_base_quality": 1}


def test_low_alt_quality(tmp_path):
    fa = ref_fasta(tmp_path, {"c": "GGGGGGGGGGACGTGGGGGG" + "G" * 80})
    res = run(tmp_path, [rec("r", 0, 11, "4M", "ACTT", qual=Q20 * 4)], reference=fa, min_alt_bq=30)
    assert table(res) == {10: {"A+": 1}, 11: {"C+": 1}, 13: {"T+": 1}}   # T at G (pos 12) dropped
    assert stats(res.base_stats) == {"counted": 3, "low_alt_base_quality": 1}
    assert res.ref[10:14].tolist() == list("ACGT")


def test_read_filters(tmp_path):
    recs = [rec("u", 4, 11, "*", "ACGT"), rec("s2", 256, 11, "4M", "ACGT"), rec("sp", 2048, 11, "4M", "ACGT"),
            rec("q", 512, 11, "4M", "ACGT"), rec("d", 1024, 11, "4M", "ACGT"), rec("m", 0, 11, "4M", "ACGT", mapq=3),
            "n\t0\tc\t11\t60\t4M\t*\t0\t0\t*\t*", rec("ok", 0, 11, "4M", "ACGT")]
    res = run(tmp_path, recs, min_mapq=10)
    assert table(res) == {10: {"A+": 1}, 11: {"C+": 1}, 12: {"G+": 1}, 13: {"T+": 1}}
    assert stats(res.read_stats) == {"seen": 8, "used": 1, "unmapped": 1, "secondary": 1, "supplementary": 1,
                                     "qcfail": 1, "duplicate": 1, "low_mapq": 1, "no_sequence": 1}
    # a flag not in flag_exclude does not drop the read; unmapped always does
    res2 = run(tmp_path, recs, flag_exclude=0)
    assert stats(res2.read_stats) == {"seen": 8, "used": 6, "unmapped": 1, "no_sequence": 1}


# ------------------------------------------------------------------ overlapping mates
# R1: forward, c:11-16 ACGTAC; R2: reverse, c:13-18.

R1 = rec("p", 99, 11, "6M", "ACGTAC", mpos1=13)


def r2(cigar="6M", seq="GTACGG", qual=None, flag=147):
    return rec("p", flag, 13, cigar, seq, qual=qual if qual is not None else Q20 * len(seq), mpos1=11)


def test_mates_agree(tmp_path):
    res = run(tmp_path, [R1, r2()])
    assert table(res) == {10: {"A+": 1}, 11: {"C+": 1}, 12: {"G+": 1}, 13: {"T+": 1}, 14: {"A+": 1},
                          15: {"C+": 1}, 16: {"G-": 1}, 17: {"G-": 1}}
    assert stats(res.base_stats) == {"counted": 8, "overlap_merged": 4}
    assert stats(res.read_stats) == {"seen": 2, "used": 2, "mates_merged": 2}
    assert res.qual_hist[12, 40] == 1 and res.qual_hist[12].sum() == 1     # max(40, 20)
    assert res.qual_hist[16, 20] == 1


def test_mates_agree_read1_is_reverse(tmp_path):
    a = rec("p", 163, 11, "6M", "ACGTAC", mpos1=13)                # READ2, forward
    b = rec("p", 83, 13, "6M", "GTACGG", qual=Q20 * 6, mpos1=11)   # READ1, reverse
    res = run(tmp_path, [a, b])
    assert table(res) == {10: {"A+": 1}, 11: {"C+": 1}, 12: {"G-": 1}, 13: {"T-": 1}, 14: {"A-": 1},
                          15: {"C-": 1}, 16: {"G-": 1}, 17: {"G-": 1}}


def test_merge_mates_off(tmp_path):
    res = run(tmp_path, [R1, r2()], merge_mates=False)
    assert table(res) == {10: {"A+": 1}, 11: {"C+": 1}, 12: {"G+": 1, "G-": 1}, 13: {"T+": 1, "T-": 1},
                          14: {"A+": 1, "A-": 1}, 15: {"C+": 1, "C-": 1}, 16: {"G-": 1}, 17: {"G-": 1}}
    assert stats(res.base_stats) == {"counted": 12}


def test_mates_disagree(tmp_path):
    res = run(tmp_path, [R1, r2(seq="GAACGG")])                    # c:14 T vs A
    assert table(res) == {10: {"A+": 1}, 11: {"C+": 1}, 12: {"G+": 1}, 14: {"A+": 1},
                          15: {"C+": 1}, 16: {"G-": 1}, 17: {"G-": 1}}
    assert stats(res.base_stats) == {"counted": 7, "overlap_merged": 3, "overlap_discordant": 2}


def test_mates_one_low_quality(tmp_path):
    res = run(tmp_path, [R1, r2(seq="GAACGG", qual=Q20 + "#" + Q20 * 4)])   # R2's A at c:14 is Q2
    assert table(res) == {10: {"A+": 1}, 11: {"C+": 1}, 12: {"G+": 1}, 13: {"T+": 1}, 14: {"A+": 1},
                          15: {"C+": 1}, 16: {"G-": 1}, 17: {"G-": 1}}
    assert stats(res.base_stats) == {"counted": 8, "overlap_merged": 3, "low_base_quality": 1}
    assert res.qual_hist[13, 40] == 1


def test_mate_filtered_as_duplicate(tmp_path):
    res = run(tmp_path, [R1, r2(flag=147 | 0x400)])
    assert table(res) == {10: {"A+": 1}, 11: {"C+": 1}, 12: {"G+": 1}, 13: {"T+": 1}, 14: {"A+": 1},
                          15: {"C+": 1}}
    assert stats(res.read_stats) == {"seen": 2, "used": 1, "duplicate": 1}
    assert stats(res.base_stats) == {"counted": 6}


def test_mate_deletion_vs_base(tmp_path):
    res = run(tmp_path, [R1, r2("1M1D4M", "GACGG")])               # R2 deletes c:14
    assert table(res) == {10: {"A+": 1}, 11: {"C+": 1}, 12: {"G+": 1}, 14: {"A+": 1},
                          15: {"C+": 1}, 16: {"G-": 1}, 17: {"G-": 1}}
    assert stats(res.base_stats) == {"counted": 7, "overlap_merged": 3, "overlap_discordant": 1,
                                     "indel_overlap_discordant": 1}
    assert len(res.indels) == 0


def test_insertion_in_one_mate_only(tmp_path):
    res = run(tmp_path, [R1, r2("2M1I4M", "GTTACGG", qual=Q20 * 7)])   # R2 inserts T after c:14
    assert table(res) == {10: {"A+": 1}, 11: {"C+": 1}, 12: {"G+": 1}, 13: {"T+": 1}, 14: {"A+": 1},
                          15: {"C+": 1}, 16: {"G-": 1}, 17: {"G-": 1}}
    assert stats(res.base_stats) == {"counted": 8, "overlap_merged": 4, "indel_overlap_discordant": 1}
    assert len(res.indels) == 0


def test_insertion_in_one_mate_at_its_partners_end(tmp_path):
    # R1 ends at c:16 (0-based 15), where R2 has an insertion: R1 cannot see the junction
    res = run(tmp_path, [R1, r2("4M1I2M", "GTACTGG", qual=Q20 * 7)])
    assert table(res)[15] == {"C+": 1, "INS-": 1}
    assert events(res) == {(15, 1, "T"): (0, 1)}
    assert res.base_stats["indel_overlap_discordant"] == 0


def test_same_insertion_in_both_mates(tmp_path):
    a = rec("p", 99, 11, "4M1I2M", "ACGTTAC", mpos1=13)
    res = run(tmp_path, [a, r2("2M1I4M", "GTTACGG", qual=Q20 * 7)])
    assert table(res) == {10: {"A+": 1}, 11: {"C+": 1}, 12: {"G+": 1}, 13: {"T+": 1, "INS+": 1}, 14: {"A+": 1},
                          15: {"C+": 1}, 16: {"G-": 1}, 17: {"G-": 1}}
    assert events(res) == {(13, 1, "T"): (1, 0)}


def test_different_insertions_in_mates(tmp_path):
    a = rec("p", 99, 11, "4M1I2M", "ACGTGAC", mpos1=13)
    res = run(tmp_path, [a, r2("2M1I4M", "GTTACGG", qual=Q20 * 7)])
    assert "INS+" not in table(res)[13] and "INS-" not in table(res)[13]
    assert res.base_stats["indel_overlap_discordant"] == 1
    assert len(res.indels) == 0


def test_absent_mate_counted_alone(tmp_path):
    res = run(tmp_path, [R1])
    assert table(res) == {10: {"A+": 1}, 11: {"C+": 1}, 12: {"G+": 1}, 13: {"T+": 1}, 14: {"A+": 1},
                          15: {"C+": 1}}
    assert stats(res.read_stats) == {"seen": 1, "used": 1}


# ------------------------------------------------------------------ chunk boundaries (known bugs)

BIG = sam_header({"c": 40_000})


def _big(tmp_path, records, region, **kw):
    bam = sam_to_bam(tmp_path, BIG + "\n".join(records))
    return pileup.count(bam, region, **kw)


def test_soft_clip_counted_once_across_chunks(tmp_path):
    r = rec("r", 0, 16371, "5S30M", "GGGGG" + "ACGTA" * 6)     # 0-based 16370..16399 crosses 16384
    res = _big(tmp_path, [r], "c:1-20000")
    assert res.base_stats["soft_clipped"] == 5
    assert res.read_stats["seen"] == 1


def test_soft_clip_within_one_chunk(tmp_path):
    r = rec("r", 0, 16371, "5S30M", "GGGGG" + "ACGTA" * 6)
    res = _big(tmp_path, [r], "c:16001-16500")
    assert res.base_stats["soft_clipped"] == 5


def _junction_pair():
    # R1 c:16371-16400 (0-based 16370..16399); R2 starts 16376 and inserts T after
    # 0-based 16383, the last position of the first 16384-bp chunk of c:1-20000.
    a = rec("p", 99, 16371, "30M", "ACGTA" * 6, mpos1=16377)
    b = rec("p", 147, 16377, "8M1I12M", "TAACGTAC" + "T" + "GTAACGTAACGT", mpos1=16371)
    return [a, b]


def test_one_mate_insertion_inside_a_chunk(tmp_path):
    res = _big(tmp_path, _junction_pair(), "c:16001-16500")
    assert res.base_stats["indel_overlap_discordant"] == 1
    assert len(res.indels) == 0


def test_one_mate_insertion_at_chunk_end(tmp_path):
    res = _big(tmp_path, _junction_pair(), "c:1-20000")
    assert res.base_stats["indel_overlap_discordant"] == 1
    assert len(res.indels) == 0
