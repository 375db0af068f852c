"""No depth cap: > 25,000 reads over one column are all counted."""
from __future__ import annotations

import numpy as np
import pysam

from deepamp.counting import bam as pileup

N_READS = 25_700


def _deep_bam(tmp_path, n=N_READS):
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "amp", "LN": 200}]}
    path = str(tmp_path / "deep.bam")
    seq = "ACGTACGTAC" * 3 + "G" * 10      # 40 bp; position 50+32 reads G
    qual = pysam.qualitystring_to_array("I" * 40)
    with pysam.AlignmentFile(path, "wb", header=header) as out:
        for i in range(n):
            a = pysam.AlignedSegment(out.header)
            a.query_name = f"r{i}"
            a.flag = 16 if i % 3 == 0 else 0
            a.reference_id = 0
            a.reference_start = 50 + (i * 5) // n  # sorted; all cover 54..89
            a.mapping_quality = 60
            a.cigarstring = "40M"
            a.query_sequence = seq
            a.query_qualities = qual
            out.write(a)
    pysam.index(path)
    return path


def test_depth_is_read_count(tmp_path):
    bam = _deep_bam(tmp_path)
    res = pileup.count(bam, "amp:80-90", threads=2)
    col = res.index_of("amp", 85)              # 0-based 85: read offset 35..31 -> all 'G'
    n_rev = sum(1 for i in range(N_READS) if i % 3 == 0)
    assert res.counts[col, 2, 0] == N_READS - n_rev
    assert res.counts[col, 2, 1] == n_rev
    assert res.depth[col] == N_READS
    assert res.qual_hist[col, 40] == N_READS
    assert res.read_stats["seen"] == res.read_stats["used"] == N_READS
    with pysam.AlignmentFile(bam) as af:
        a, c, g, t = af.count_coverage("amp", 85, 86, quality_threshold=0)
    assert int(g[0]) == N_READS and int(a[0] + c[0] + t[0]) == 0
    got = pileup.count_coverage(bam, "amp", 54, 90, quality_threshold=15)
    with pysam.AlignmentFile(bam) as af:
        want = af.count_coverage("amp", 54, 90, quality_threshold=15)
    for x, y in zip(got, want):
        np.testing.assert_array_equal(np.asarray(x, dtype=np.int64), np.asarray(y, dtype=np.int64))
    assert int(np.asarray(got[2])[85 - 54]) == N_READS
