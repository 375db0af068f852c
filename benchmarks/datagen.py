"""Regenerate the benchmark inputs into benchmarks/data/ (git-ignored).

Every BAM is simulated by :func:`deepamp.simulate.simulate` on the shipped ALK
exons 22-25 panel (4 amplicons, 2x150), GRCh38 chr2 coordinates.  Files that
already exist with the right read count are kept, so re-running is cheap.

    python benchmarks/datagen.py            # all depths
    python benchmarks/datagen.py 5000 25000 # only these depths
    python benchmarks/datagen.py phase      # the phasing benchmark's sample only

Also written: ``chr2_padded.fa`` -- chr2 from position 1 with the shipped
slice in place and ``N`` before it -- because samtools cannot read the
shipped slice record (``chr2:29191796-29223795``) as ``chr2``.
"""

from __future__ import annotations

import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.environ.get("DEEPAMP_BENCH_SRC") or os.path.join(ROOT, "src"))

DATA = os.path.join(HERE, "data")
PKG_DATA = os.path.join(ROOT, "src", "deepamp", "data")
REF = os.path.join(PKG_DATA, "ALK_hg38_chr2_29191796-29223795.fa")
BED = os.path.join(PKG_DATA, "alk_exons22-25_amplicons.bed")
PADDED_REF = os.path.join(DATA, "chr2_padded.fa")
CHR2_LENGTH = 242193529
SLICE_START0 = 29191795          # 0-based start of the shipped slice
DEPTHS = (5000, 10000, 25000, 50000, 100000)
MAIN_DEPTH = 25000


def bam_path(pairs: int) -> str:
    return os.path.join(DATA, f"alk4_{pairs}.bam")


def _n_reads(bam: str) -> int:
    import pysam

    with pysam.AlignmentFile(bam) as fh:
        return sum(s.mapped + s.unmapped for s in fh.get_index_statistics())


def simulated(out: str, pairs: int, sample_seed: int, sample: str) -> str:
    """``out``: a sample of the shipped panel (run seed 1, its own sample seed), simulated unless it
    and its index exist already."""
    if not (os.path.exists(out) and os.path.exists(out + ".bai")):
        from deepamp.simulate import simulate

        simulate(REF, BED, out, pairs_per_amplicon=pairs, run_seed=1, sample_seed=sample_seed,
                 contig_length={"chr2": CHR2_LENGTH}, sample=sample, threads=2)
    return out


def make_bam(pairs: int, force: bool = False) -> dict:
    from deepamp.simulate import simulate

    out = bam_path(pairs)
    if not force and os.path.exists(out) and os.path.exists(out + ".bai"):
        n = _n_reads(out)
        if n == 2 * 4 * pairs:
            return {"pairs_per_amplicon": pairs, "bam": out, "reads": n, "seconds": 0.0, "reused": True}
    t0 = time.perf_counter()
    res = simulate(REF, BED, out, pairs_per_amplicon=pairs, run_seed=1, sample_seed=2,
                   contig_length={"chr2": CHR2_LENGTH}, sample=f"alk4_{pairs}", threads=2)
    return {"pairs_per_amplicon": pairs, "bam": out, "reads": res.n_reads,
            "seconds": round(time.perf_counter() - t0, 2), "reused": False}


def make_padded_reference() -> str:
    import pysam

    if os.path.exists(PADDED_REF) and os.path.exists(PADDED_REF + ".fai"):
        return PADDED_REF
    with pysam.FastaFile(REF) as fa:
        seq = fa.fetch(fa.references[0])
    tmp = PADDED_REF + ".tmp"
    width = 60
    with open(tmp, "w") as fh:
        fh.write(">chr2 padded with N before the ALK slice (benchmarks only)\n")
        full = "N" * SLICE_START0 + seq.upper()
        for i in range(0, len(full), width):
            fh.write(full[i:i + width])
            fh.write("\n")
    os.replace(tmp, PADDED_REF)
    pysam.faidx(PADDED_REF)
    return PADDED_REF


PHASE_PAIRS = 25000


def phase_bam_path() -> str:
    return os.path.join(DATA, f"phase_alk4_{PHASE_PAIRS}.bam")


def phase_spikes() -> list:
    """35 SNVs per amplicon of the panel (140): in each amplicon seven clones of
    five nested SNVs (2%, 1.5%, 1%, 1%, 0.5%), so pairs are cis within a clone
    and trans between clones; sites evenly spread, away from the primers' ends."""
    from deepamp.reference import Reference
    from deepamp.regions import read_bed
    from deepamp.simulate import Spike

    alt = {"A": "G", "C": "T", "G": "A", "T": "C"}
    vafs = (0.02, 0.015, 0.01, 0.01, 0.005)
    spikes = []
    with Reference(REF) as ref:
        for amp in read_bed(BED):
            first, last = amp.start + 8, amp.end - 8
            step = (last - first) / 35
            for k in range(35):
                pos0 = first + int(k * step)
                base = ref.fetch(amp.contig, pos0, pos0 + 1).upper()
                clone = k % 7
                spikes.append(Spike(amp.contig, pos0 + 1, base, alt[base], vafs[k // 7],
                                    molecule_group=f"{amp.name}_clone{clone}"))
    return spikes


def make_phase_bam(force: bool = False) -> dict:
    """The phasing benchmark's sample: 4 amplicons x 25,000 pairs with :func:`phase_spikes`."""
    from deepamp.simulate import simulate

    out = phase_bam_path()
    if not force and os.path.exists(out) and os.path.exists(out + ".bai") and _n_reads(out) == 8 * PHASE_PAIRS:
        return {"bam": out, "reused": True}
    t0 = time.perf_counter()
    simulate(REF, BED, out, pairs_per_amplicon=PHASE_PAIRS, spikes=phase_spikes(), run_seed=1, sample_seed=5,
             contig_length={"chr2": CHR2_LENGTH}, sample="phase_alk4", threads=2)
    return {"bam": out, "reused": False, "seconds": round(time.perf_counter() - t0, 2)}


def main(argv: list[str]) -> int:
    os.makedirs(DATA, exist_ok=True)
    if argv == ["phase"]:
        print(f"datagen: {make_phase_bam()}", flush=True)
        return 0
    depths = [int(a) for a in argv] or list(DEPTHS)
    report = {"padded_reference": make_padded_reference(), "bams": []}
    for d in depths:
        info = make_bam(d)
        how = "reused" if info["reused"] else f"{info['seconds']} s"
        print(f"datagen: {info['bam']} {info['reads']} reads ({how})", flush=True)
        report["bams"].append(info)
    with open(os.path.join(DATA, "datagen.json"), "w") as fh:
        json.dump(report, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
