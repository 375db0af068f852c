"""deepamp.counting.bam.count called from several Python threads at once (a Dask
threaded scheduler, a server): each call releases the GIL for its whole walk,
so the C core must keep no state outside the call.  Every thread counts its
own contig, full of distinct insertions at nearby anchors (their sort compares
inserted bases), and every result must equal the serial one."""
from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pysam
import pytest

from deepamp.counting import bam as pileup

CONTIGS = [f"chr{i}" for i in range(4)]
LENGTH = 3_000
READS_PER_CONTIG = 4_000
ROUNDS = 6


@pytest.fixture(scope="module")
def insertion_bam(tmp_path_factory):
    """Per contig, thousands of reads each inserting its own random bases after
    one of a few anchors (different contigs hold different insertions)."""
    d = tmp_path_factory.mktemp("reentrant")
    rng = random.Random(11)
    header = {"HD": {"VN": "1.6", "SO": "coordinate"},
              "SQ": [{"SN": c, "LN": LENGTH} for c in CONTIGS]}
    reads = []
    for tid, contig in enumerate(CONTIGS):
        anchors = [rng.randint(200, LENGTH - 400) for _ in range(6)]
        for i in range(READS_PER_CONTIG):
            anchor = rng.choice(anchors)
            before = rng.randint(10, 40)
            ins = rng.randint(3, 14)
            after = rng.randint(10, 40)
            a = pysam.AlignedSegment()
            a.query_name = f"{contig}_{i}"
            a.flag = 0x10 if rng.random() < 0.5 else 0
            a.reference_id = tid
            a.reference_start = anchor - before + 1
            a.mapping_quality = 60
            a.cigarstring = f"{before}M{ins}I{after}M"
            a.query_sequence = "".join(rng.choice("ACGT") for _ in range(before + ins + after))
            a.query_qualities = pysam.qualitystring_to_array("I" * (before + ins + after))
            reads.append(a)
    reads.sort(key=lambda r: (r.reference_id, r.reference_start))
    bam = str(d / "insertions.bam")
    with pysam.AlignmentFile(bam, "wb", header=header) as out:
        for r in reads:
            out.write(r)
    pysam.index(bam)
    return bam


def _count(bam, contig):
    return pileup.count(bam, [contig], min_bq=0, threads=1)


def _same(a, b):
    assert np.array_equal(a.counts, b.counts)
    assert a.read_stats == b.read_stats and a.base_stats == b.base_stats
    assert len(a.indels) == len(b.indels)
    for f in ("contig", "pos", "length", "sequence", "count"):
        assert np.array_equal(getattr(a.indels, f), getattr(b.indels, f)), f


def test_many_distinct_insertions(insertion_bam):
    res = _count(insertion_bam, CONTIGS[0])
    assert len(res.indels) > 0.9 * READS_PER_CONTIG, "the insertions should be nearly all distinct"
    keys = list(zip(res.indels.pos.tolist(), res.indels.length.tolist(), res.indels.sequence.tolist()))
    assert keys == sorted(keys), "events come sorted by (anchor, length, bases)"


def test_concurrent_calls_give_the_serial_results(insertion_bam):
    serial = {c: _count(insertion_bam, c) for c in CONTIGS}
    verbosity = pysam.get_verbosity()
    start = threading.Barrier(len(CONTIGS))

    def job(contig):
        start.wait()
        return [_count(insertion_bam, contig) for _ in range(ROUNDS)]

    with ThreadPoolExecutor(max_workers=len(CONTIGS)) as pool:
        results = dict(zip(CONTIGS, pool.map(job, CONTIGS)))
    for contig in CONTIGS:
        for res in results[contig]:
            _same(res, serial[contig])
    # htslib's log level (silenced while the core runs) is the caller's again
    assert pysam.get_verbosity() == verbosity
