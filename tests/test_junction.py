"""Junction depth: fragments spanning p -> p+1 (CountResult.junction), the
denominator of indel calls, on hand-written reads with known answers."""
from __future__ import annotations

import numpy as np

from conftest import ref_fasta, sam_header, sam_to_bam

from deepamp.calling.indels import collect_events
from deepamp.counting.bam import count

SEQ = "ACGTTGCAAGCTTACGGATCCATGCAGTCAGTACCATGGATCGATCGTACGATTGCAGCTAGCTAGGCTAACGTTAGC"   # 80 bp


def _read(name, flag, pos, cigar, seq, mpos=0, tlen=0):
    mate = "=" if flag & 1 else "*"
    return f"{name}\t{flag}\tc\t{pos + 1}\t60\t{cigar}\t{mate}\t{mpos + 1 if flag & 1 else 0}\t{tlen}\t{seq}\t{'I' * len(seq)}"


def test_abutting_fragments_do_not_count_as_spanning(tmp_path):
    """10 reads end at p, 10 start at p+1, 10 span p -> p+1 (5 with +G after p):
    the insertion's depth is 10 and its AF 0.5 (min(obs[p], obs[p+1]) would say 20, 0.25)."""
    p = 39
    reads = []
    for i in range(10):
        reads.append(_read(f"end{i}", 0, p - 29, "30M", SEQ[p - 29:p + 1]))
        reads.append(_read(f"start{i}", 16, p + 1, "30M", SEQ[p + 1:p + 31]))
        if i < 5:
            reads.append(_read(f"ins{i}", 0, p - 19, "20M1I20M",
                               SEQ[p - 19:p + 1] + "G" + SEQ[p + 1:p + 21]))
        else:
            reads.append(_read(f"span{i}", 16, p - 19, "40M", SEQ[p - 19:p + 21]))
    bam = sam_to_bam(tmp_path, sam_header({"c": len(SEQ)}) + "\n".join(reads))
    fa = ref_fasta(tmp_path, {"c": SEQ})
    res = count(bam, ["c:1-80"], reference=fa, min_bq=0)
    row = int(np.flatnonzero(res.pos == p)[0])
    assert res.junction[row].tolist() == [5, 5]
    assert res.junction[row - 1].tolist() == [15, 5]     # ends-at-p reads span p-1 -> p
    assert res.junction[row + 1].tolist() == [5, 15]
    assert res.counts[row, :6].sum() == 20 and res.counts[row + 1, :6].sum() == 20
    table = collect_events(res, fa)
    i = [k for k, (pp, ln) in enumerate(zip(table.pos.tolist(), table.length.tolist())) if ln == 1]
    assert len(i) == 1 and table.pos[i[0]] == p
    assert table.depth[i[0]].tolist() == [5, 5] and table.count[i[0]].tolist() == [5, 0]


def test_deletions_and_mates(tmp_path):
    """A deletion keeps the run (junctions inside and around it are spanned);
    an N skip breaks it; overlapping mates count once, on read 1's strand where
    both cover the junction and on read 2's where only read 2 does."""
    reads = [
        _read("del", 0, 10, "10M3D10M", SEQ[10:20] + SEQ[23:33]),            # 10..32, all junctions 10..31
        _read("skip", 0, 10, "10M3N10M", SEQ[10:20] + SEQ[23:33]),           # 10..18 and 23..31
        _read("pair", 99, 40, "20M", SEQ[40:60], mpos=50, tlen=30),          # read 1 fwd 40..59
        _read("pair", 147, 50, "20M", SEQ[50:70], mpos=40, tlen=-30),        # read 2 rev 50..69
    ]
    bam = sam_to_bam(tmp_path, sam_header({"c": len(SEQ)}) + "\n".join(reads))
    res = count(bam, ["c:1-80"], min_bq=0)
    j = {int(p): res.junction[i].tolist() for i, p in enumerate(res.pos)}
    assert j[9] == [0, 0] and j[10] == [2, 0] and j[18] == [2, 0]
    assert all(j[p] == [1, 0] for p in (19, 20, 21, 22))                     # only the deletion read
    assert j[23] == [2, 0] and j[31] == [2, 0] and j[32] == [0, 0]
    assert j[39] == [0, 0] and j[40] == [1, 0] and j[58] == [1, 0]           # read 1 on its strand
    assert j[59] == [0, 1] and j[68] == [0, 1] and j[69] == [0, 0]           # read 2 only, reverse
    assert res.read_stats["mates_merged"] == 2
