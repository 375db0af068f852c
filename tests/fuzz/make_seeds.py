#!/usr/bin/env python3
"""Seed corpus for fuzz_pileup: tiny valid BAMs (uncompressed BAM streams,
the harness BGZF-compresses them) plus two BGZF-compressed ones.

    python tests/fuzz/make_seeds.py OUTDIR

Each seed is: option byte, region string ('@' first: phased instead of
counted), newline, BAM bytes (see fuzz_pileup.c)."""
from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from make_malformed import bam_header, bam_record, bgzf, reference_seq  # noqa: E402


def main(outdir: str) -> int:
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    ref = reference_seq(600, seed=5)
    hdr = bam_header({"chr1": 600, "chr2": 300})
    rng = random.Random(1)
    sets = {}
    sets["plain"] = [bam_record(f"p{i}", 0 if i % 2 else 16, 0, 10 + 20 * i, 60, "40M", ref[10 + 20 * i:50 + 20 * i])
                     for i in range(10)]
    sets["indels"] = [
        bam_record("i1", 0, 0, 20, 60, "5S10M2I10M3D10M", "GGGGG" + ref[20:30] + "TT" + ref[30:40] + ref[43:53]),
        bam_record("i2", 16, 0, 25, 60, "20M1D20M", ref[25:45] + ref[46:66]),
        bam_record("i3", 0, 0, 30, 60, "10M5N10M", ref[30:40] + ref[45:55]),
        bam_record("i4", 0, 0, 40, 60, "3H30M4S", ref[40:70] + "ACGT"),
    ]
    # overlapping mates (flags 99/147), one pair disagreeing
    mate = []
    for k in range(4):
        s1, s2 = 100 + 10 * k, 130 + 10 * k
        q1, q2 = ref[s1:s1 + 50], ref[s2:s2 + 50]
        if k == 3:
            q2 = q2[:10] + ("A" if q2[10] != "A" else "C") + q2[11:]
        mate.append((s1, bam_record(f"m{k}", 99, 0, s1, 60, "50M", q1, mate=(0, s2))))
        mate.append((s2, bam_record(f"m{k}", 147, 0, s2, 60, "50M", q2, mate=(0, s1))))
    sets["mates"] = [r for _, r in sorted(mate, key=lambda t: t[0])]
    # repeated names: copies of pairs ending at different places, a name three
    # times (both read 1, a mate position off by one), numbers reused on chr2
    rep = []
    for k in range(6):
        s1, s2 = 120 + 7 * k, 150 + 7 * k
        name = f"{k % 2}"
        for c, n1 in enumerate((50, 40, 55)[: 1 + k % 3]):
            rep.append((s1, c, bam_record(name, 99, 0, s1, 60, f"{n1}M", ref[s1:s1 + n1], mate=(0, s2))))
        for c, n2 in enumerate((50, 45)[: 1 + (k + 1) % 2]):
            q = ref[s2:s2 + n2]
            if c:
                q = ("A" if q[0] != "A" else "C") + q[1:]
            rep.append((s2, 3 + c, bam_record(name, 147, 0, s2, 60, f"{n2}M", q, mate=(0, s1))))
        rep.append((s2, 5, bam_record(name, 83, 0, s2, 60, "30M", ref[s2:s2 + 30], mate=(0, s1))))
        rep.append((s2 + 1, 6, bam_record(name, 147, 0, s2 + 1, 60, "30M", ref[s2 + 1:s2 + 31], mate=(0, s1 + 1))))
    sets["repeated"] = [r for *_, r in sorted(rep, key=lambda t: (t[0], t[1]))]
    sets["repeated"] += [bam_record("0", 99, 1, 10 + i, 60, "40M", "ACGT" * 10, mate=(1, 30 + i)) for i in range(3)]
    sets["odd"] = [
        bam_record("o1", 0, 0, 5, 60, "10M", "", b""),
        bam_record("o2", 0, 0, 6, 60, "10M", ref[6:16], b"\xff" * 10),
        bam_record("o3", 4, -1, -1, 0, [], "ACGT"),
        bam_record("o4", 0, 1, 290, 60, "10M", "NNNNNRYKMA"),
    ]
    sets["random"] = []
    for i in range(20):
        pos = sorted(rng.randrange(0, 550) for _ in range(20))[i]
        sets["random"].append(bam_record(f"x{i}", rng.choice([0, 16, 1024, 256]), 0, pos, rng.randrange(61),
                                         "30M", "".join(rng.choice("ACGTN") for _ in range(30)),
                                         bytes(rng.randrange(42) for _ in range(30))))
    sets["random"].sort(key=lambda r: int.from_bytes(r[8:12], "little", signed=True))
    regions = {"plain": "chr1:1-600", "indels": "chr1:15-80", "mates": "chr1", "odd": "chr2:1-300",
               "random": "chr1:100-400", "repeated": "chr1:160-600"}
    n = 0
    for name, recs in sets.items():
        raw = hdr + b"".join(recs)
        for opts in (0x01 | 0x02 | 0x08, 0x04 | 0x10 | 0x20, 0x80 | 0x01 | 0x02, 0x80 | 0x40 | 0x05):
            (out / f"{name}_{opts:02x}").write_bytes(bytes([opts]) + regions[name].encode() + b"\n" + raw)
            n += 1
        (out / f"{name}_bgzf").write_bytes(bytes([0x0b]) + regions[name].encode() + b"\n" + bgzf(raw))
        n += 1
        for opts in (0x01, 0x52, 0xa4, 0x37):   # phased: '@' before the region (fuzz_pileup.c)
            (out / f"{name}_phase_{opts:02x}").write_bytes(bytes([opts]) + b"@" + regions[name].encode() + b"\n" + raw)
            n += 1
    print(f"{n} seeds in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
