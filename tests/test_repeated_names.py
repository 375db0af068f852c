"""Read names that occur more than twice, or twice in unrelated places.

Two runs merged with ``samtools merge`` (or one BAM merged with itself),
SRA-style numeric names, a name three times.  Mates are paired by the rule
in csrc/mates.h (and tests/oracle.py): same name, read 1 vs read 2, each
one's mate position the other's position, mate-reverse flags matching the
other's strand; copies pair first in, first out over the whole file.  The
counts must equal the oracle's for every thread count and every mate budget
(in memory, spilled part-way, everything through temporary files), also at
chunk boundaries and region starts that cut pairs whose copies end at
different places.
"""
from __future__ import annotations

import random
import subprocess

import numpy as np
import pysam
import pytest

from conftest import ref_fasta, sam_header, sam_to_bam
from oracle import count_oracle
from test_pileup_oracle import CONTIGS, _read_fields, assert_matches_oracle

from deepamp.counting import bam as pileup
from deepamp.cli import main
from deepamp.io.regions import Region
from deepamp.simulate import Amplicon, simulate

RUNS = [(1, pileup.DEFAULT_MATE_MEMORY), (2, pileup.DEFAULT_MATE_MEMORY), (3, pileup.DEFAULT_MATE_MEMORY),
        (8, pileup.DEFAULT_MATE_MEMORY), (1, 0), (2, 0), (1, 1), (3, 1), (1, 5000), (2, 5000)]
RUN_IDS = [f"threads{t}-budget{m}" for t, m in RUNS]

# ---------------------------------------------------------------- hand-made: families of copies

# sorted and disjoint; 620-640 and 650-900 start inside reads, 1000-35000 is cut at 17384 and 33768
REGIONS = [("chrA", 100, 600), ("chrA", 620, 640), ("chrA", 650, 900), ("chrA", 1000, 35_000), ("chrB", 0, 3_000)]
ANCHORS = [("chrA", 100), ("chrA", 600), ("chrA", 640), ("chrA", 880), ("chrA", 1000), ("chrA", 17_370),
           ("chrA", 33_750), ("chrB", 40), ("chrB", 2_950)]


def families_sam(seed: int, n: int = 350) -> str:
    """Pairs whose reads come 1-3 times each (copies: same name, positions and
    flags, other CIGARs and bases), under unique or reused numeric names, and
    reads of the same name that are not mates (both read 1, a mate position
    off by one, strands that do not match, another contig)."""
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        contig, centre = rng.choice(ANCHORS)
        pos = max(0, centre + rng.randint(-70, 20))
        name = f"f{i}" if rng.random() < 0.4 else str(rng.randint(0, 60))
        pos2 = pos + rng.choice([0, rng.randint(1, 30), rng.randint(1, 90)])
        r1_rev = rng.random() < 0.5
        f1 = 0x1 | 0x2 | (0x10 if r1_rev else 0x20) | 0x40
        f2 = 0x1 | 0x2 | (0x20 if r1_rev else 0x10) | 0x80
        if rng.random() < 0.5:
            f1, f2 = f1 ^ 0xC0, f2 ^ 0xC0
        for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
            lines.append(_read_fields(rng, contig, pos, f1, pos2, name)[0])
        for _ in range(rng.choice([0, 1, 1, 1, 2, 3])):
            lines.append(_read_fields(rng, contig, pos2, f2, pos, name)[0])
        other = rng.random()
        if other < 0.12:      # both read 1
            lines.append(_read_fields(rng, contig, pos2, f1, pos, name)[0])
        elif other < 0.22:    # its mate position is not the first read's position
            lines.append(_read_fields(rng, contig, pos2, f2, pos + 1, name)[0])
        elif other < 0.3:     # strands that do not match the first read's mate-reverse flag
            lines.append(_read_fields(rng, contig, pos2, f2 ^ 0x30, pos, name)[0])
        elif other < 0.38:    # the same name on the other contig
            c2 = "chrB" if contig == "chrA" else "chrA"
            lines.append(_read_fields(rng, c2, 200, f2, 220, name)[0])
    return sam_header(CONTIGS) + "\n".join("\t".join(x) for x in lines) + "\n"


@pytest.fixture(scope="module")
def families(tmp_path_factory):
    bam = sam_to_bam(tmp_path_factory.mktemp("families"), families_sam(31))
    return bam, count_oracle(bam, REGIONS)


def _count(bam, regions, threads, mate_memory, **kw):
    return pileup.count(bam, [Region(*r) for r in regions], threads=threads, mate_memory=mate_memory, **kw)


def test_families_cover_the_hard_cases(families):
    bam, exp = families
    assert exp["read_stats"]["ambiguous_mates"] > 20
    assert exp["read_stats"]["mates_merged"] > 200
    res = _count(bam, REGIONS, 1, 1)
    assert res.read_stats["ambiguous_mates"] == exp["read_stats"]["ambiguous_mates"]


@pytest.mark.parametrize("threads,mate_memory", RUNS, ids=RUN_IDS)
def test_families_match_the_oracle(families, threads, mate_memory):
    bam, exp = families
    assert_matches_oracle(_count(bam, REGIONS, threads, mate_memory), exp, REGIONS)


@pytest.mark.parametrize("params", [dict(min_mapq=20), dict(flag_exclude=0, min_bq=0)], ids=["mapq20", "no-filters"])
def test_families_match_the_oracle_with_filters(families, params):
    bam, _ = families
    exp = count_oracle(bam, REGIONS, **params)
    for threads, mate_memory in ((1, pileup.DEFAULT_MATE_MEMORY), (3, 1)):
        assert_matches_oracle(_count(bam, REGIONS, threads, mate_memory, **params), exp, REGIONS)


def test_each_region_alone_pairs_as_in_the_whole_file(families):
    """A region that starts inside pairs of copies sees the reads before it
    that pair with them, so its rows are those of a bigger region."""
    bam, _ = families
    whole = _count(bam, [("chrA", 100, 1_000)], 1, 0)
    for beg, end in ((620, 640), (650, 900), (600, 700)):
        part = _count(bam, [("chrA", beg, end)], 2, 1)
        lo = whole.index_of("chrA", beg)
        np.testing.assert_array_equal(part.counts, whole.counts[lo:lo + end - beg])


# ---------------------------------------------------------------- simulated runs

CONTIG, LENGTH = "chrS", 40_000
AMPLICONS = [Amplicon(CONTIG, s, s + 260, f"amp{i}") for i, s in enumerate((300, 16_250, 16_330, 30_000))]
SIM_REGIONS = [(CONTIG, 0, 20_000), (CONTIG, 30_100, 30_200)]   # cut at 16384; the second starts mid-pair


def _simulate(fa, out, seed, sample):
    simulate(fa, AMPLICONS, out, pairs_per_amplicon=150, read_length=150, run_seed=1, sample_seed=seed,
             contig_length=LENGTH, sample=sample, softclip_fraction=0.2)
    return out


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    d = tmp_path_factory.mktemp("runs")
    rng = random.Random(3)
    fa = ref_fasta(d, {CONTIG: "".join(rng.choice("ACGT") for _ in range(LENGTH))})
    run1 = _simulate(fa, str(d / "run1.bam"), 2, "run1")
    run2 = _simulate(fa, str(d / "run2.bam"), 5, "run2")          # the same names (amp:molecule)
    return d, fa, run1, run2


def _merge(out, *bams):
    subprocess.run(["samtools", "merge", "-f", "-o", out, *bams], check=True, capture_output=True)
    pysam.index(out)
    return out


def _renamed_rg(src, out, rg):
    """src with its read group renamed (the BAM merged with itself keeps both)."""
    with pysam.AlignmentFile(src) as af:
        header = af.header.to_dict()
        for r in header["RG"]:
            r["ID"] = r["SM"] = rg
        with pysam.AlignmentFile(out, "wb", header=header) as o:
            for read in af:
                read.set_tag("RG", rg)
                o.write(read)
    pysam.index(out)
    return out


def _numeric(src, out, modulus):
    """src with every name replaced by a number, reused every `modulus` fragments."""
    numbers = {}
    with pysam.AlignmentFile(src) as af, pysam.AlignmentFile(out, "wb", template=af) as o:
        for read in af:
            read.query_name = str(numbers.setdefault(read.query_name, len(numbers)) % modulus)
            o.write(read)
    pysam.index(out)
    return out


@pytest.fixture(scope="module")
def merged_bams(sim):
    if subprocess.run(["samtools", "--version"], capture_output=True).returncode != 0:
        pytest.skip("samtools is not installed")
    d, fa, run1, run2 = sim
    return {
        "itself": _merge(str(d / "itself.bam"), run1, _renamed_rg(run1, str(d / "run1b.bam"), "run1b")),
        "two_runs": _merge(str(d / "two_runs.bam"), run1, run2),
        "numeric": _numeric(run1, str(d / "numeric.bam"), 97),
    }


@pytest.mark.parametrize("kind", ["itself", "two_runs", "numeric"])
def test_merged_runs_match_the_oracle_for_any_threads_and_budget(merged_bams, sim, kind):
    bam = merged_bams[kind]
    _, fa, _, _ = sim
    exp = count_oracle(bam, SIM_REGIONS)
    if kind != "numeric":
        assert exp["read_stats"]["ambiguous_mates"] > 100
    for threads, mate_memory in RUNS:
        assert_matches_oracle(_count(bam, SIM_REGIONS, threads, mate_memory), exp, SIM_REGIONS)


def test_a_bam_merged_with_itself_counts_each_fragment_twice(merged_bams, sim):
    _, _, run1, _ = sim
    one = _count(run1, SIM_REGIONS, 1, 0)
    two = _count(merged_bams["itself"], SIM_REGIONS, 2, 1)
    np.testing.assert_array_equal(two.counts, 2 * one.counts)
    assert two.read_stats["mates_merged"] == 2 * one.read_stats["mates_merged"]
    assert one.read_stats["ambiguous_mates"] == 0
    # every later read of a pair met its copy: half the pairs' reads
    assert two.read_stats["ambiguous_mates"] == one.read_stats["mates_merged"]


def test_background_rates_do_not_depend_on_threads_or_budget(merged_bams, sim, tmp_path):
    _, fa, _, _ = sim
    controls = [merged_bams["two_runs"], merged_bams["numeric"]]
    outs = []
    for threads, mib in ((1, "8"), (2, "8"), (2, "0.001"), (3, "0")):
        out = tmp_path / f"bg{threads}_{mib}.npz"
        assert main(["background", "-f", fa, "-r", f"{CONTIG}:1-20000", "--threads", str(threads),
                     "--mate-memory", mib, "-o", str(out), "--quiet", *controls]) == 0
        outs.append(out)
    with np.load(outs[0]) as first:
        want = {k: first[k] for k in first.files}
    for out in outs[1:]:
        with np.load(out) as z:
            assert sorted(z.files) == sorted(want)
            for k in want:
                assert np.array_equal(z[k], want[k]), (out.name, k)


def test_a_mate_position_before_the_contig_does_not_stop_the_window(tmp_path):
    """A mate position of -1 on the read's own contig (htslib's parser would
    not make one, a BAM writer can): the reads before a window are then read
    from the contig's start, not from position -1."""
    from pathlib import Path

    import make_malformed as mm

    seq = "ACGT" * 10
    recs = [mm.bam_record("ok80", 0, 0, 79, 60, "40M", seq),
            mm.bam_record("odd", 97, 0, 89, 60, "40M", seq, mate=(0, -1)),
            mm.bam_record("odd", 97, 0, 94, 60, "40M", seq, mate=(0, -1)),
            mm.bam_record("ok110", 0, 0, 109, 60, "40M", seq)]
    bam = mm.write_bam(Path(tmp_path) / "odd.bam", mm.bam_header({"chrB": 3000}), recs)
    mm.index(bam)
    regions = [("chrB", 100, 200)]
    for threads in (1, 2):
        assert_matches_oracle(_count(str(bam), regions, threads, 0), count_oracle(str(bam), regions), regions)
