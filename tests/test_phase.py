"""Tests of deepamp.phase: exact fragment tables on hand-written SAM, the one-pass kernel
against the per-pair reference (tests/phase_oracle.py) on random BAMs and random site
sets, the read rule against deepamp.counting.bam.count, the cis/trans test against hand and
brute-force counts, simulated end-to-end cases, the CLI and bad input."""

from __future__ import annotations

import argparse
import gzip
import inspect
import itertools
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pysam
import pytest

import deepamp
import make_malformed
import phase_oracle as oracle
from conftest import ref_fasta, sam_header, sam_to_bam
from deepamp import errors
from deepamp.cli import main
from deepamp.errors import IndexFileError, InputFileError, RegionError
from deepamp.cli.phase import configure as configure_parser, run
from deepamp.counting.bam import count
from deepamp.io.reference import Reference
from deepamp.options import DEFAULT_FLAG_EXCLUDE, CountOptions
from deepamp.phase import PhaseVariant, classify, classify_tables, phase_pairs, site_error_rate
from deepamp.simulate import Amplicon, Spike, simulate

DATA = Path(__file__).resolve().parents[1] / "src" / "deepamp" / "data"
REF = DATA / "ALK_hg38_chr2_29191796-29223795.fa"
EX22 = Amplicon("chr2", 29222301, 29222455, "ALK_ex22")
EX23 = Amplicon("chr2", 29220676, 29220865, "ALK_ex23")
SRC = str(Path(deepamp.__file__).resolve().parents[1])


def test_imports_this_build():
    import deepamp._phase as ph

    # the compiled kernel must be the one built from this checkout's csrc
    assert ph.WINDOW_GAP == 1000 and ph.SITE_OUTCOMES[-1] == "both_mates"


# ---------------------------------------------------------------------------
# golden SAM: sites A = pos0 10 (A>G), B = pos0 30 (C>T) on chrT
# ---------------------------------------------------------------------------
REFSEQ = ("ACGTTGCAGT" "A" "CCGATGGTACGTAGGCTA" "GC" "C" "GTTAGCATGCAACGTTGCATGCATGGCATTAGACG"
          "TTACGGATCCAGTTACAGCTAGGATCGATCG" * 3)[:200]
A0, B0 = 10, 30
assert REFSEQ[A0] == "A" and REFSEQ[B0] == "C"
SITE_A = PhaseVariant("chrT", A0 + 1, "A", "G")
SITE_B = PhaseVariant("chrT", B0 + 1, "C", "T")


def _read(qname: str, flag: int, pos0: int, length: int, mods: dict[int, str] | None = None,
          mate0: int | None = None, mapq: int = 60, cigar: str | None = None,
          lowq: tuple[int, ...] = (), qual_at: dict[int, str] | None = None) -> str:
    """One SAM line; ``mods`` maps reference pos0 -> base, ``lowq`` = reference pos0 given quality 2,
    ``qual_at`` reference pos0 -> quality character."""
    seq = list(REFSEQ[pos0:pos0 + length])
    qual = ["I"] * length
    for p, base in (mods or {}).items():
        seq[p - pos0] = base
    for p in lowq:
        qual[p - pos0] = "#"
    for p, q in (qual_at or {}).items():
        qual[p - pos0] = q
    rnext, pnext = ("=", mate0 + 1) if mate0 is not None else ("*", 0)
    return "\t".join(map(str, [qname, flag, "chrT", pos0 + 1, mapq, cigar or f"{length}M", rnext, pnext, 0,
                               "".join(seq), "".join(qual)]))


def _golden(tmp_path: Path) -> str:
    alt = {A0: "G", B0: "T"}
    lines = [
        # f1: both mates alt/alt -> alt/alt (one fragment, not two)
        _read("f1", 99, 0, 40, alt, 5), _read("f1", 147, 5, 40, alt, 0),
        # f2: ref/ref, mate 2 covers B only
        _read("f2", 99, 0, 40, None, 20), _read("f2", 147, 20, 40, None, 0),
        # f3: no single read spans both sites; mate 1 alt at A, mate 2 ref at B -> alt/ref
        _read("f3", 99, 0, 20, {A0: "G"}, 25), _read("f3", 147, 25, 40, None, 0),
        # f4: overlapping mates disagree at A (G vs A), agree on alt at B -> none/alt, 1 discordant
        _read("f4", 99, 0, 40, alt, 5), _read("f4", 147, 5, 40, {B0: "T"}, 0),
        # f5: unpaired read ref/alt
        _read("f5", 0, 0, 40, {B0: "T"}),
        # f6: A below min_bq (and B not covered) in mate 1; mate 2 ref at B -> none/ref
        _read("f6", 99, 0, 20, {A0: "G"}, 25, lowq=(A0,)), _read("f6", 147, 25, 40, None, 0),
        # f7: duplicate pair alt/alt -> excluded
        _read("f7", 99 | 0x400, 0, 40, alt, 5), _read("f7", 147 | 0x400, 5, 40, alt, 0),
        # f8: deletion over A -> other/ref
        _read("f8", 0, 0, 39, None, cigar="10M1D29M").replace(
            "\t" + REFSEQ[0:39] + "\t", "\t" + REFSEQ[0:10] + REFSEQ[11:40] + "\t"),
        # f9: low MAPQ read alt/alt -> excluded at min_mapq 20
        _read("f9", 0, 0, 40, alt, mapq=5),
        # f10: A soft-clipped, B ref -> none/ref
        _read("f10", 0, 12, 28, None, cigar="2S26M").replace("\tchrT\t13\t", "\tchrT\t15\t"),
        # f11: other base at B (G), ref at A -> ref/other
        _read("f11", 0, 0, 40, {B0: "G"}),
        # f12: a read between the sites only (covers neither) -> not counted
        _read("f12", 0, 12, 15),
    ]
    return sam_to_bam(tmp_path, sam_header({"chrT": 200, "chrU": 100}) + "\n".join(lines) + "\n", "golden")


def test_golden_counts_fragments_not_reads(tmp_path):
    bam = _golden(tmp_path)
    (r,) = phase_pairs(bam, [SITE_A, SITE_B], min_mapq=20, min_bq=20)
    t = r.table   # [allele at A][allele at B]: ref, alt, other, none
    assert t == [[1, 1, 1, 0],     # ref/ref f2, ref/alt f5, ref/other f11
                 [1, 1, 0, 0],     # alt/ref f3 (joined from two mates), alt/alt f1
                 [1, 0, 0, 0],     # other/ref f8 (deletion)
                 [2, 1, 0, 0]]     # none/ref f6 + f10, none/alt f4 (discordant mates at A)
    assert r.spanning == 4 and r.a_only == 0 and r.b_only == 3 and r.other == 2
    assert r.discordant == 1
    # what each site showed: every fragment covering it once, with its outcome
    assert r.site_a.fragments == {"ref": 3, "alt": 2, "other_base": 0, "deletion": 1, "n": 0, "discordant": 1,
                                  "low_base_quality": 1, "low_alt_base_quality": 0, "no_quality": 0,
                                  "both_mates": 2}   # f2 ref, f11 ref, f5 ref; f1, f3 alt; f8; f4; f6
    # reads overlapping A: f1-f9 and f11 (13 records); f7's two duplicates, f9 low MAPQ
    assert r.site_a.reads == {"seen": 13, "used": 10, "unmapped": 0, "secondary": 0, "supplementary": 0,
                              "qcfail": 0, "duplicate": 2, "low_mapq": 1, "no_sequence": 0}
    assert r.site_a.reach == 65 == r.site_b.reach        # f3: 0..20 and 25..65
    assert r.relation == "undetermined"


def test_golden_filters_change_counts(tmp_path):
    bam = _golden(tmp_path)
    # duplicates and low MAPQ admitted: f7 and f9 add two alt/alt fragments
    (r,) = phase_pairs(bam, [SITE_A, SITE_B], min_mapq=0, min_bq=20, flag_exclude=0)
    assert r.alt_alt == 3 and r.site_a.reads["duplicate"] == 0 and r.site_a.reads["used"] == 13
    # min_bq 0: f6's low-quality alt at A now counts -> alt/ref
    (r,) = phase_pairs(bam, [SITE_A, SITE_B], min_mapq=20, min_bq=0)
    assert r.alt_ref == 2 and r.table[3][0] == 1


def test_counting_rule_at_the_site(tmp_path):
    """N bases, min_alt_bq, '*' qualities and mates where one base fails, as the counting walk merges them."""
    lines = [
        # g1: mates agree on alt at A, one copy Q15 -> merged quality is the higher (40): alt
        _read("g1", 99, 0, 40, {A0: "G"}, 5, qual_at={A0: "0"}), _read("g1", 147, 5, 40, {A0: "G"}, 0),
        # g2: alt at A of Q15 in a read alone -> dropped by min_alt_bq 20 (passes min_bq 6)
        _read("g2", 0, 0, 40, {A0: "G"}, qual_at={A0: "0"}),
        # g3: ref at A of Q15 alone -> kept (min_alt_bq applies to non-reference bases only)
        _read("g3", 0, 0, 40, None, qual_at={A0: "0"}),
        # g4: an N at A in one mate, ref in the other -> discordant (N is a symbol of its own)
        _read("g4", 99, 0, 40, {A0: "N"}, 5), _read("g4", 147, 5, 40, None, 0),
        # g5: an N at A alone -> n
        _read("g5", 0, 0, 40, {A0: "N"}),
        # g6: mate 1 alt at A below min_bq, mate 2 ref -> ref (the passing mate is used)
        _read("g6", 99, 0, 40, {A0: "G"}, 5, lowq=(A0,)), _read("g6", 147, 5, 40, None, 0),
        # g7: QUAL '*' read alone with alt at A -> no_quality when min_bq > 0
        "\t".join(["g7", "0", "chrT", "1", "60", "40M", "*", "0", "0", REFSEQ[:A0] + "G" + REFSEQ[A0 + 1:40], "*"]),
        # g8: mate 1 with a deletion over A, mate 2 ref -> discordant (a deletion is a symbol too)
        _read("g8", 99, 0, 39, None, 5, cigar="10M1D29M").replace(
            "\t" + REFSEQ[0:39] + "\t", "\t" + REFSEQ[0:10] + REFSEQ[11:40] + "\t"),
        _read("g8", 147, 5, 40, None, 0),
    ]
    bam = sam_to_bam(tmp_path, sam_header({"chrT": 200}) + "\n".join(lines) + "\n", "rule")
    (r,) = phase_pairs(bam, [SITE_A, SITE_B], min_bq=6, min_alt_bq=20)
    f = r.site_a.fragments
    assert (f["alt"], f["low_alt_base_quality"], f["ref"], f["discordant"], f["n"], f["no_quality"]) == \
        (1, 1, 2, 2, 1, 1)
    assert f["both_mates"] == 4
    (r,) = phase_pairs(bam, [SITE_A, SITE_B], min_bq=0, min_alt_bq=0)
    f = r.site_a.fragments
    # g7 now counts (alt), g2 passes, and g6's low-quality alt disagrees with its mate's ref
    assert (f["alt"], f["low_alt_base_quality"], f["ref"], f["discordant"], f["no_quality"]) == (3, 0, 1, 3, 0)


def test_phase_pairs_defaults_are_count_defaults():
    want = CountOptions()
    got = inspect.signature(phase_pairs).parameters
    for name in ("min_mapq", "min_bq", "min_alt_bq", "flag_exclude"):
        assert got[name].default == getattr(want, name), name
    assert got["flag_exclude"].default == DEFAULT_FLAG_EXCLUDE


# ---------------------------------------------------------------------------
# the one-pass kernel against the per-pair reference
# ---------------------------------------------------------------------------

def _random_case(tmp_path: Path, seed: int, n_frags: int = 300, n_sites: int = 14):
    rng = random.Random(seed)
    refseq = "".join(rng.choice("ACGT") for _ in range(700))
    lines = oracle.random_sam(rng, refseq, n_frags=n_frags)
    bam = sam_to_bam(tmp_path, sam_header({"chrR": 700, "chrO": 300}) + "\n".join(lines) + "\n", f"rand{seed}")
    positions = sorted(rng.sample(range(5, 690), n_sites - 2))
    sites = []
    for p in positions:
        ref = refseq[p] if rng.random() < 0.9 else rng.choice("ACGT")   # a REF that is not the reference, too
        sites.append((p, ref, rng.choice([b for b in "ACGT" if b != ref])))
    p = positions[len(positions) // 2]   # two alleles at one position, both phased against everything
    sites += [(p, sites[len(positions) // 2][1], b) for b in "ACGT"
              if b not in (sites[len(positions) // 2][1], sites[len(positions) // 2][2])][:1]
    far = (695, refseq[695], "A" if refseq[695] != "A" else "C")    # next to the contig end
    sites.append(far)
    return bam, refseq, sites


OPTS = [oracle.Opts(), oracle.Opts(min_bq=0, min_alt_bq=0), oracle.Opts(min_bq=20, min_alt_bq=30, min_mapq=30),
        oracle.Opts(flag_exclude=0), oracle.Opts(min_bq=13, min_alt_bq=6, flag_exclude=0x4)]


@pytest.mark.parametrize("seed", range(6))
def test_kernel_matches_per_pair_reference(tmp_path, seed):
    from deepamp._phase import READ_STATS, SITE_OUTCOMES, count_pairs

    bam, _, sites = _random_case(tmp_path, seed)
    o = OPTS[seed % len(OPTS)]
    pairs = [(i, j) for i, j in itertools.combinations(range(len(sites)), 2)]
    random.Random(seed).shuffle(pairs)
    pairs = [(j, i) if k % 3 == 0 else (i, j) for k, (i, j) in enumerate(pairs)]   # both orientations
    pairs.append(pairs[0])                                                         # and a duplicate
    raw = count_pairs(bam, [(0, p, r, a) for p, r, a in sites], [i for i, _ in pairs], [j for _, j in pairs],
                      min_mapq=o.min_mapq, min_bq=o.min_bq, min_alt_bq=o.min_alt_bq, flag_exclude=o.flag_exclude)
    for k, (i, j) in enumerate(pairs):
        want = oracle.pair_table(bam, "chrR", sites[i], sites[j], o)
        assert raw["counts"][k].tolist() == want, (k, sites[i], sites[j])
    for s, site in enumerate(sites):
        assert dict(zip(SITE_OUTCOMES, raw["site_frags"][s].tolist())) == oracle.site_outcomes(bam, "chrR", site, o)
        assert dict(zip(READ_STATS, raw["site_reads"][s].tolist())) == oracle.site_reads(bam, "chrR", site[0], o)
    # fragments' allele patterns are held in a bounded table: any bound gives the same tables
    small = count_pairs(bam, [(0, p, r, a) for p, r, a in sites], [i for i, _ in pairs], [j for _, j in pairs],
                        min_mapq=o.min_mapq, min_bq=o.min_bq, min_alt_bq=o.min_alt_bq, flag_exclude=o.flag_exclude,
                        max_patterns=1 + seed % 3)
    assert all(np.array_equal(small[k], raw[k]) for k in raw)
    # every record of the windows once
    with pysam.AlignmentFile(bam) as fh:
        lo, hi = min(s[0] for s in sites), max(s[0] for s in sites) + 1
        assert raw["totals"][0] == sum(1 for _ in fh.fetch("chrR", lo, hi))


def test_sites_in_no_pair_are_not_read(tmp_path):
    from deepamp._phase import count_pairs

    bam, _, sites = _random_case(tmp_path, 11)
    raw = count_pairs(bam, [(0, p, r, a) for p, r, a in sites], [0], [1])
    assert raw["counts"].shape == (1, 4, 4)
    assert raw["site_frags"][2:].sum() == 0 and raw["site_reads"][2:].sum() == 0
    with pytest.raises(ValueError, match="different contigs"):
        count_pairs(bam, [(0, 10, "A", "C"), (1, 10, "A", "C")], [0], [1])
    with pytest.raises(ValueError, match="two different sites"):
        count_pairs(bam, [(0, 10, "A", "C")], [0], [0])
    with pytest.raises(RegionError, match="outside chrR"):
        count_pairs(bam, [(0, 10, "A", "C"), (0, 700, "A", "C")], [0], [1])


@pytest.fixture(scope="module")
def amplicon_bam(tmp_path_factory):
    """Two simulated ALK amplicons at 3,000 pairs with cis, trans and far spikes."""
    tmp = tmp_path_factory.mktemp("phase_sim")
    pos = {"cis1": 29220747, "cis2": 29220790, "tr1": 29220720, "tr2": 29220810, "far": 29222380}
    groups = {"cis1": ("g1", 0.10), "cis2": ("g1", 0.06), "tr1": ("g2", 0.15), "tr2": ("g3", 0.12),
              "far": ("g1", 0.10)}
    spikes, variants = [], {}
    for name, p in pos.items():
        r = _base(p)
        spikes.append(Spike("chr2", p, r, _alt(r), groups[name][1], molecule_group=groups[name][0]))
        variants[name] = PhaseVariant("chr2", p, r, _alt(r))
    res = simulate(str(REF), [EX22, EX23], str(tmp / "sim.bam"), pairs_per_amplicon=3000,
                   spikes=spikes, sample_seed=7)
    return res.bam, variants, tmp


def _base(pos: int) -> str:
    ref = Reference(str(REF))
    try:
        return ref.fetch("chr2", pos - 1, pos)
    finally:
        ref.close()


def _alt(ref: str) -> str:
    return {"A": "G", "C": "T", "G": "A", "T": "C"}[ref]


@pytest.mark.slow
def test_kernel_matches_reference_on_simulated_amplicons(amplicon_bam):
    from deepamp._phase import SITE_OUTCOMES, count_pairs

    bam, v, _ = amplicon_bam
    rng = random.Random(3)
    with Reference(str(REF)) as ref:
        seq = {a.name: ref.fetch("chr2", a.start0, a.end0) for a in (EX22, EX23)}
    for draw in range(2):
        sites = [(v[k].pos - 1, v[k].ref, v[k].alt) for k in ("cis1", "tr2", "far")]
        for amp in (EX22, EX23):
            for p in rng.sample(range(amp.start0, amp.end0), 3):
                r = seq[amp.name][p - amp.start0]
                sites.append((p, r, _alt(r)))
        pairs = list(itertools.combinations(range(len(sites)), 2))
        raw = count_pairs(bam, [(0, p, r, a) for p, r, a in sites], [i for i, _ in pairs], [j for _, j in pairs])
        o = oracle.Opts()
        assert np.array_equal(count_pairs(bam, [(0, p, r, a) for p, r, a in sites], [i for i, _ in pairs],
                                          [j for _, j in pairs], max_patterns=2)["counts"], raw["counts"])
        for k, (i, j) in enumerate(pairs):
            assert raw["counts"][k].tolist() == oracle.pair_table(bam, "chr2", sites[i], sites[j], o), (draw, k)
        for s, site in enumerate(sites):
            assert dict(zip(SITE_OUTCOMES, raw["site_frags"][s].tolist())) == \
                oracle.site_outcomes(bam, "chr2", site, o)


def test_read_rule_is_the_counting_rule(amplicon_bam, tmp_path):
    """At every site, the fragments' symbols are the merged counts of deepamp.counting.bam.count
    (same defaults), and the reads overlapping it are count()'s read statistics of that base."""
    bam, v, _ = amplicon_bam
    with Reference(str(REF)) as ref:
        seq = ref.fetch("chr2", EX23.start0, EX23.end0)
    positions = list(range(EX23.start0 + 3, EX23.end0 - 3, 17))
    variants = [PhaseVariant("chr2", p + 1, seq[p - EX23.start0], _alt(seq[p - EX23.start0])) for p in positions]
    for kw in ({}, {"min_bq": 30, "min_alt_bq": 37, "min_mapq": 20}, {"flag_exclude": 0x4}):
        results = phase_pairs(bam, variants, reference=str(REF), **kw)
        site = {r.a: r.site_a for r in results} | {r.b: r.site_b for r in results}
        res = count(bam, [f"chr2:{EX23.start0 + 1}-{EX23.end0}"], reference=str(REF), **kw)
        for var in variants:
            k = int(np.searchsorted(res.pos, var.pos - 1))
            sym = res.counts[k].sum(axis=1)          # A C G T N DEL INS, both strands
            f = site[var].fragments
            others = [b for b in "ACGT" if b not in (var.ref, var.alt)]
            assert f["ref"] == sym["ACGT".index(var.ref)] and f["alt"] == sym["ACGT".index(var.alt)]
            assert f["other_base"] == sum(sym["ACGT".index(b)] for b in others)
            assert f["n"] == sym[4] and f["deletion"] == sym[5]
            one = count(bam, [f"chr2:{var.pos}-{var.pos}"], reference=str(REF), **kw)
            assert site[var].reads == {k2: one.read_stats[k2] for k2 in site[var].reads}, var


def test_unsorted_and_malformed_bams_fail_as_count_does(tmp_path):
    """Every BAM-level case of tests/make_malformed.py: phase_pairs raises what count raises
    (or both succeed), with a one-line message, in a subprocess so a crash fails only this test."""
    cases = [c for c in make_malformed.make_corpus(tmp_path / "corpus")
             if c["command"] == "count" and c["api"]["regions"] == ["chr1:1-2000"] and not c["name"].startswith("ref_")]
    ref = make_malformed.reference_seq()
    sites = [("chr1", p, ref[p - 1], _alt(ref[p - 1])) for p in range(30, 2000, 97)]
    runner = r"""
import json, sys
from deepamp import errors
from deepamp.counting import bam as pileup
from deepamp.phase import phase_pairs
cases, sites = json.loads(sys.argv[1]), json.loads(sys.argv[2])
out = {}
for c in cases:
    a = c["api"]
    got = []
    for fn in (lambda: pileup.count(a["bam"], a["regions"], reference=a["reference"]),
               lambda: phase_pairs(a["bam"], [tuple(s) for s in sites], reference=a["reference"])):
        try:
            fn()
            got.append(["ok", ""])
        except (errors.DeepampError, ValueError) as exc:
            got.append([type(exc).__name__, str(exc)])
    out[c["name"]] = got
print(json.dumps(out))
"""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]))
    p = subprocess.run([sys.executable, "-c", runner, json.dumps(cases), json.dumps(sites)],
                       capture_output=True, text=True, timeout=600, env=env)
    assert p.returncode == 0, p.stderr[-3000:]
    got = json.loads(p.stdout.strip().splitlines()[-1])
    assert len(got) >= 30
    for c in cases:
        (count_cls, _), (phase_cls, msg) = got[c["name"]]
        assert phase_cls == count_cls, (c["name"], c["note"], count_cls, phase_cls, msg)
        if phase_cls != "ok":
            assert "\n" not in msg and os.path.basename(c["api"]["bam"]) in msg, (c["name"], msg)


# ---------------------------------------------------------------------------
# statistics
# ---------------------------------------------------------------------------

def test_site_error_rate_is_the_clopper_pearson_bound():
    from scipy import stats
    other, bases = [0, 3, 20, 500, 7, 0], [1000, 27000, 54000, 60000, 7, 0]
    got = site_error_rate(other, bases, alpha=1e-3)
    for x, m, e in zip(other, bases, got):
        want = 0.5 if m == 0 else min(0.5, (1.0 if x == m else stats.beta.ppf(1 - 1e-3, x + 1, m - x)) / 2)
        assert e == pytest.approx(want, rel=1e-9)
    with pytest.raises(ValueError):
        site_error_rate([3], [2])
    # with another allele phased at the position, "other" holds one kind of misread, then none
    one = site_error_rate([20], [54000], alpha=1e-3, kinds=1)
    assert one[0] == pytest.approx(stats.beta.ppf(1 - 1e-3, 21, 53980), rel=1e-9)
    assert site_error_rate([20], [54000], kinds=0)[0] == 0.5


def _rates(n, spanning, x_other, e_rarer, e_other):
    """p_cis, p_trans of the module documentation, written out by hand."""
    phi = min(1.0, (spanning - n) * e_rarer / n)
    f = x_other / spanning
    return (1 - phi) * (1 - e_other) + phi * f, (1 - phi) * e_other + phi * f


def test_trans_at_one_percent_each():
    """The case a test against independence cannot decide: 27,425 spanning, 291 and 264 alt, 0 shared."""
    from scipy import stats
    n_span, xa, xb, e = 27425, 291, 264, 3e-4
    table = [[n_span - xa - xb, xb], [xa, 0]]
    t = classify(table, e, e)
    assert t.relation == "trans" and t.rarer == "b" and t.alt_fragments == 264
    pc, pt = _rates(264, n_span, 291, e, e)
    assert t.expected_cis == pytest.approx(264 * pc) and t.expected_cis > 240
    assert t.p_cis == pytest.approx(stats.binom.cdf(0, 264, pc), rel=1e-6)     # (1 - pc)^264: tiny
    assert t.p_trans == 1.0
    assert t.lod == pytest.approx((stats.binom.logpmf(0, 264, pc) - stats.binom.logpmf(0, 264, pt)) / np.log(10),
                                  rel=1e-9)
    assert t.min_alt_fragments is not None and t.min_alt_fragments < 20 and t.note == ""


def test_cis_at_one_percent_each_and_nested():
    from scipy import stats
    # same clone at 1%: 270 of the rarer allele's 275 carry the other
    t = classify([[27425 - 283, 5], [8, 270]], 3e-4, 3e-4)
    assert t.relation == "cis" and t.rarer == "b" and t.alt_fragments == 275
    pc, pt = _rates(275, 27425, 278, 3e-4, 3e-4)
    assert t.p_trans == pytest.approx(stats.binom.sf(269, 275, pt), rel=1e-6) and t.p_trans < 1e-100
    assert t.p_cis == pytest.approx(stats.binom.cdf(270, 275, pc), rel=1e-6) and t.p_cis > 1e-3
    # 2% and 1%, the rarer nested in the commoner: alt/alt ~ all of the rarer allele's fragments
    t = classify([[27425 - 552, 2], [277, 273]], 3e-4, 3e-4)
    assert t.relation == "cis" and t.rarer == "b" and t.alt_fragments == 275 and t.lod > 100


def test_rare_pair_decided_only_with_the_evidence():
    """0.1%/0.1%, ~25 alt fragments each, none shared."""
    from scipy import stats
    table = [[27000 - 51, 25], [26, 0]]
    t = classify(table, 3e-4, 3e-4)
    pc, _ = _rates(25, 27000, 26, 3e-4, 3e-4)
    assert 15 < 25 * pc < 20 and stats.binom.pmf(0, 25, pc) < 1e-7
    assert t.relation == "trans" and t.min_alt_fragments == 16 and t.p_cis == pytest.approx((1 - pc) ** 25)
    # at a noisier site errors alone could make up the 25 (27,000 x 1e-3): cis and trans predict alike
    t = classify(table, 1e-3, 1e-3)
    assert t.relation == "undetermined" and t.expected_cis == t.expected_trans and t.lod == 0.0
    assert t.min_alt_fragments == 36 and "at least 36 are needed" in t.note
    # two alt/alt fragments: below the minimum the test's power sets
    t = classify([[27000, 2], [0, 2]], 3e-4, 3e-4)
    assert t.relation == "undetermined" and t.min_alt_fragments == 16 and "at least 16" in t.note
    # four spanning fragments: no count of them would do
    t = classify([[1, 1], [1, 1]], 0.3, 0.3)
    assert t.relation == "undetermined" and t.min_alt_fragments is None and "no number" in t.note


def test_more_fragments_never_undecide_a_pair():
    """The binomial's steps: at 102 spanning fragments, 51 with the other alt and error 1e-3, three
    fragments of the rarer alt separate cis from trans at alpha, while at four the trans threshold
    moves up a step and the cis error misses alpha by a hair (0.0011).  Four fragments, none with
    both alts (cis expects four), are trans as three are: the evidence is at least the minimum."""
    three = classify([[48, 51], [3, 0]], 1e-3, 1e-3)
    assert three.relation == "trans" and three.min_alt_fragments == 3
    four = classify([[47, 51], [4, 0]], 1e-3, 1e-3)
    assert four.relation == "trans" and four.alt_fragments == 4 and four.min_alt_fragments == 3
    assert four.p_cis < 1e-7 and four.note == ""
    two = classify([[49, 51], [2, 0]], 1e-3, 1e-3)
    assert two.relation == "undetermined" and two.min_alt_fragments == 3 and "at least 3 are needed" in two.note
    # every count from the minimum up decides an all-trans table
    assert all(classify([[51 - k, 51], [k, 0]], 1e-3, 1e-3).relation == "trans" for k in range(3, 30))


def test_mixture_and_empty_tables():
    t = classify([[27000, 200], [300, 100]], 3e-4, 3e-4)
    assert t.relation == "undetermined" and "subclone" in t.note and t.p_cis < 1e-3 and t.p_trans < 1e-3
    t = classify([[0, 0], [0, 0]], 3e-4, 3e-4)
    assert t.relation == "undetermined" and t.note == "no fragment spans both sites" and t.min_alt_fragments is None
    t = classify([[500, 0], [0, 0]], 3e-4, 3e-4)
    assert t.relation == "undetermined" and "carries either alt" in t.note
    # no alt fragment of the rarer allele: nothing expected under either hypothesis, no evidence either way
    for empty in ([[0, 0], [0, 0]], [[500, 0], [0, 0]], [[400, 100], [0, 0]]):
        t = classify(empty, 3e-4, 3e-4)
        assert (t.alt_fragments, t.expected_cis, t.expected_trans, t.p_cis, t.p_trans, t.lod) == (0, 0.0, 0.0, 1.0, 1.0, 0.0)
    with pytest.raises(ValueError):
        classify([[1, 0], [0, 1]], 0.7, 0.1)
    with pytest.raises(ValueError):
        classify([[1, 0], [0, 1]], 0.1, 0.1, alpha=0.0)


def test_decision_rule_by_brute_force():
    """For small n, the relation follows from the two binomial distributions enumerated term by term."""
    from math import comb

    def pmf(k, n, p):
        return comb(n, k) * p ** k * (1 - p) ** (n - k)

    alpha, rng = 1e-3, random.Random(5)
    tables, ea, eb, want = [], [], [], []
    for _ in range(300):
        n = rng.randint(1, 30)
        k = rng.randint(0, n)
        span = rng.randint(n + 1, 20000)
        x_other = rng.randint(n, min(span, n + 200))
        e1, e2 = rng.choice([1e-4, 3e-4, 1e-3, 1e-2]), rng.choice([1e-4, 3e-4, 1e-3, 1e-2])
        ar = x_other - k       # site a is the commoner (x_other >= n)
        ra = n - k
        rr = span - ar - ra - k
        if rr < 0 or x_other == n:
            continue
        tables.append([[rr, ra], [ar, k]])
        ea.append(e2)
        eb.append(e1)
        pc, pt = _rates(n, span, x_other, e1, e2)
        t = next(t for t in range(n + 2) if sum(pmf(j, n, pt) for j in range(t, n + 1)) <= alpha)
        separable = sum(pmf(j, n, pc) for j in range(t)) <= alpha
        p_cis = sum(pmf(j, n, pc) for j in range(k + 1))
        want.append("undetermined" if not separable else "trans" if k < t else
                    "cis" if p_cis > alpha else "undetermined")
    got = classify_tables(tables, ea, eb, alpha=alpha)
    assert [g.relation for g in got] == want
    assert {"cis", "trans", "undetermined"} <= set(want)


# ---------------------------------------------------------------------------
# simulated end to end
# ---------------------------------------------------------------------------

def _find(results, a, b):
    for r in results:
        if {r.a, r.b} == {a, b}:
            return r
    raise AssertionError(f"pair {a} {b} not phased")


def test_simulated_cis_trans_undetermined(amplicon_bam):
    bam, v, _ = amplicon_bam
    results = phase_pairs(bam, list(v.values()), max_distance=2000)
    cis = _find(results, v["cis1"], v["cis2"])
    assert cis.relation == "cis" and cis.p_trans < 1e-10 and cis.p_cis > 1e-3
    assert cis.alt_alt > 100 and cis.ref_alt <= 2        # cis2 sits on a subset of cis1's molecules
    assert cis.ps == min(v["cis1"].pos, v["cis2"].pos)
    trans = _find(results, v["tr1"], v["tr2"])
    assert trans.relation == "trans" and trans.alt_alt == 0 and trans.p_cis < 1e-10
    assert trans.spanning > 2500 and trans.ps is None
    assert _find(results, v["cis1"], v["tr1"]).relation == "trans"
    far = _find(results, v["cis1"], v["far"])         # different amplicons: no fragment spans both
    assert far.relation == "undetermined" and far.spanning == 0 and far.a_only > 2500
    assert "longer than" in far.note
    # beyond max_distance a pair is still reported: undetermined, spanning 0, with a note
    short = phase_pairs(bam, list(v.values()), max_distance=200)
    assert len(short) == len(results) == 10
    far200 = _find(short, v["cis1"], v["far"])
    assert far200.relation == "undetermined" and far200.spanning == 0 and far200.a_only == 0
    assert "not counted (max distance 200 bp)" in far200.note
    assert _find(short, v["cis1"], v["cis2"]).relation == "cis"


def test_default_counts_every_pair_and_notes_the_longest_fragment(amplicon_bam):
    bam, v, _ = amplicon_bam
    results = phase_pairs(bam, list(v.values()))
    far = _find(results, v["cis1"], v["far"])
    with pysam.AlignmentFile(bam) as fh:   # independent: used reads overlapping each site
        def longest(var):
            return max(max(abs(r.template_length), r.reference_length or 0)
                       for r in fh.fetch(var.contig, var.pos - 1, var.pos) if not r.flag & DEFAULT_FLAG_EXCLUDE)
        reach = {name: longest(var) for name, var in v.items()}
    assert far.site_a.reach == reach["cis1"] and far.site_b.reach == reach["far"]
    want = min(reach["cis1"], reach["far"])
    assert 150 <= want < v["far"].pos - v["cis1"].pos
    assert far.relation == "undetermined" and far.spanning == 0 and far.a_only > 2500
    assert far.note == f"{v['far'].pos - v['cis1'].pos} bp apart; no fragment at the sites is longer than {want} bp"
    assert _find(results, v["tr1"], v["tr2"]).relation == "trans"   # 90 bp apart: counted


@pytest.fixture(scope="module")
def deep_bam(tmp_path_factory):
    """ALK exon 23 at 27,500 pairs (exon 22 for a far partner) with 1% trans and cis pairs, a 2%/1%
    nested cis pair, a 0.1%/0.1% trans pair (27,500 pairs: about 27 alt fragments each) and a
    second allele (0.5%, its own clone) at the position of t1."""
    tmp = tmp_path_factory.mktemp("phase_deep")
    spec = {"t1": (29220700, "g1", 0.01), "t2": (29220730, "g2", 0.01),
            "c1": (29220745, "g3", 0.01), "c2": (29220775, "g3", 0.01),
            "n1": (29220790, "g4", 0.02), "n2": (29220805, "g4", 0.01),
            "r1": (29220820, "g5", 0.001), "r2": (29220835, "g6", 0.001),
            "far": (29222380, "g3", 0.01), "t1b": (29220700, "g7", 0.005)}
    spikes, variants = [], {}
    for name, (p, group, vaf) in spec.items():
        r = _base(p)
        alt = _alt(r) if name != "t1b" else next(b for b in "ACGT" if b not in (r, _alt(r)))
        spikes.append(Spike("chr2", p, r, alt, vaf, molecule_group=group))
        variants[name] = PhaseVariant("chr2", p, r, alt)
    res = simulate(str(REF), [EX22, EX23], str(tmp / "deep.bam"), pairs_per_amplicon=27500,
                   spikes=spikes, sample_seed=11, run_seed=3)
    return res.bam, variants


def test_deep_targets(deep_bam):
    bam, v = deep_bam
    results = phase_pairs(bam, list(v.values()))
    t = _find(results, v["t1"], v["t2"])
    assert t.relation == "trans" and t.alt_alt == 0 and t.spanning > 26000 and 200 < t.test.alt_fragments < 350
    c = _find(results, v["c1"], v["c2"])
    assert c.relation == "cis" and c.alt_alt > 200 and c.ps == v["c1"].pos
    n = _find(results, v["n1"], v["n2"])
    assert n.relation == "cis" and n.alt_alt > 0.95 * n.test.alt_fragments
    assert n.test.rarer == "b" and n.alt_ref > 0.7 * n.alt_alt                    # the commoner's own fragments
    far = _find(results, v["c1"], v["far"])
    assert far.relation == "undetermined" and far.spanning == 0 and "longer than" in far.note
    r = _find(results, v["r1"], v["r2"])
    assert r.alt_alt == 0 and 10 < r.test.alt_fragments < 50
    # decided only because the test has the evidence; the TSV says how much is needed
    assert r.relation == "trans" and r.test.min_alt_fragments <= r.test.alt_fragments
    assert r.site_a.error_rate < 1e-3 and r.site_b.error_rate < 1e-3
    # a rare variant and a 1% one in trans: the 1% allele's fragments decide
    assert _find(results, v["r1"], v["t1"]).relation == "trans"
    # the second allele at t1's position is not a misread of t1 (nor t1 of it): both error
    # rates stay low, and each is trans to t2
    tb = _find(results, v["t1b"], v["t2"])
    assert tb.relation == "trans" and tb.site_a.fragments["alt"] > 100
    assert t.site_a.error_rate < 1e-3 and tb.site_a.error_rate < 1e-3
    assert t.site_a.fragments["other_base"] > tb.site_a.fragments["alt"]
    assert len(results) == 45 - 1                     # t1 and t1b: one position, not a pair


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------

def _write_vcf(path: Path, variants, extra: str = "") -> str:
    lines = ["##fileformat=VCFv4.2", "##contig=<ID=chr2,length=242193529>",
             '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele Frequency">',
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    body = [f"{v.contig}\t{v.pos}\t.\t{v.ref}\t{v.alt}\t100\tPASS\tAF=0.1" for v in variants]
    body += [line for line in extra.splitlines() if line]
    lines += sorted(body, key=lambda line: int(line.split("\t")[1]))
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_cli_end_to_end(amplicon_bam, tmp_path):
    bam, v, _ = amplicon_bam
    vcf = _write_vcf(tmp_path / "calls.vcf", sorted(v.values(), key=lambda x: x.pos),
                     extra="chr2\t29220760\t.\tCTG\tC\t50\tPASS\tAF=0.01\n")
    out, tsv, ann = tmp_path / "phased.vcf.gz", tmp_path / "pairs.tsv", tmp_path / "phase_ann.tsv"
    rc = main(["phase", "-i", vcf, "-o", str(out), "--tsv", str(tsv), "--annotate-tsv", str(ann),
               "--max-distance", "2000", bam])
    assert rc == 0
    assert Path(str(out) + ".tbi").exists()
    with pysam.VariantFile(str(out)) as vf:
        assert "PS" in vf.header.info and "PHASE" in vf.header.info
        assert "alt_alt=K/M" in vf.header.info["PHASE"].description
        recs = {r.pos: r for r in vf}
    assert len(recs) == 6                                    # the deletion is kept, unphased
    assert recs[29220760].info.get("PHASE") is None
    c1, c2 = v["cis1"], v["cis2"]
    assert recs[c1.pos].info["PS"] == recs[c2.pos].info["PS"] == min(c1.pos, c2.pos)
    assert "PS" not in recs[v["tr1"].pos].info
    tr = recs[v["tr1"].pos].info["PHASE"]
    entry = next(x for x in tr if x.startswith(v["tr2"].label() + ":trans:spanning="))
    assert "|alt_alt=0/" in entry and "|lod=-" in entry
    assert any(x.startswith(v["far"].label() + ":undetermined:spanning=0|alt_alt=0/0|lod=0.0")
               for x in recs[c1.pos].info["PHASE"])
    rows = [line.split("\t") for line in tsv.read_text().splitlines()]
    assert tuple(rows[0]) == deepamp.phase.TSV_COLUMNS and len(rows) == 1 + 10   # 5 SNVs -> 10 pairs
    col = {name: k for k, name in enumerate(rows[0])}
    by = {(int(r[col["pos_a"]]), int(r[col["pos_b"]])): r for r in rows[1:]}
    row = by[(min(c1.pos, c2.pos), max(c1.pos, c2.pos))]
    assert row[col["relation"]] == "cis" and float(row[col["lod"]]) > 10 and int(row[col["alt_fragments"]]) > 100
    assert 0 < float(row[col["error_a"]]) < 0.01 and row[col["rarer"]] in "ab"
    # the annotate-format file is accepted by `deepamp annotate --phase`
    from deepamp.annotate.vcf_annotation import read_phase as _read_phase
    phases = _read_phase(str(ann))
    assert phases and all(r in ("cis", "trans", "undetermined") for _, _, r in phases)
    assert ("T1211A", "G1202R", "trans") in phases
    assert main(["annotate", "-o", str(tmp_path / "ann"), "--phase", str(ann), str(out)]) == 0
    assert "T1211A" in (tmp_path / "ann.json").read_text()
    # plain VCF output and gzip sanity
    assert main(["phase", "-i", vcf, "-o", str(tmp_path / "p.vcf"), bam]) == 0
    assert (tmp_path / "p.vcf").read_text().count("PHASE=") >= 4
    with gzip.open(out, "rt") as fh:
        assert any(line.startswith("##INFO=<ID=PHASE") for line in fh)


def test_cli_read_options_mean_what_call_means(amplicon_bam, tmp_path):
    """-q is the minimum base quality (as in deepamp call), -m the minimum mapping quality."""
    bam, v, _ = amplicon_bam
    vcf = _write_vcf(tmp_path / "calls.vcf", [v["tr1"], v["tr2"]])
    tsv = tmp_path / "pairs.tsv"

    def spanning(*flags: str) -> int:
        assert main(["phase", "-i", vcf, "-o", str(tmp_path / "o.vcf"), "--tsv", str(tsv), *flags, bam]) == 0
        header, row = (line.split("\t") for line in tsv.read_text().splitlines())
        return int(row[header.index("spanning")])

    base = spanning()
    assert base > 2500
    assert spanning("-q", "38") == 0           # simulated qualities stop at 37: every base dropped
    assert spanning("-m", "61") == 0           # MAPQ 60 at most: every read dropped
    assert 0 < spanning("-q", "30") < base     # Q2/Q12/Q23 bases dropped, Q37 kept
    (r,) = phase_pairs(bam, [v["tr1"], v["tr2"]], min_mapq=61)
    assert r.site_a.reads["low_mapq"] == r.site_a.reads["seen"] > 0


def _args(bam: str, vcf: str, out: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    configure_parser(p)
    return p.parse_args(["-i", vcf, "-o", out, bam])


def test_bad_input(amplicon_bam, tmp_path):
    bam, v, _ = amplicon_bam
    vcf = _write_vcf(tmp_path / "calls.vcf", [v["tr1"], v["tr2"]])
    with pytest.raises(InputFileError, match="VCF not found"):
        run(_args(bam, str(tmp_path / "missing.vcf"), str(tmp_path / "o.vcf")))
    with pytest.raises(InputFileError, match="not found"):
        run(_args(str(tmp_path / "missing.bam"), vcf, str(tmp_path / "o.vcf")))
    # BAM without its index
    noidx = tmp_path / "noidx.bam"
    noidx.write_bytes(Path(bam).read_bytes())
    with pytest.raises(IndexFileError):
        run(_args(str(noidx), vcf, str(tmp_path / "o.vcf")))
    # variants on a contig the BAM does not have
    other = _write_vcf(tmp_path / "chr6.vcf", [PhaseVariant("chr6", 117390000, "A", "G"),
                                                PhaseVariant("chr6", 117390050, "C", "T")])
    other_text = (tmp_path / "chr6.vcf").read_text().replace("ID=chr2,", "ID=chr6,")
    (tmp_path / "chr6.vcf").write_text(other_text)
    with pytest.raises(RegionError, match="chr6"):
        run(_args(bam, other, str(tmp_path / "o.vcf")))
    assert main(["phase", "-i", other, "-o", str(tmp_path / "o.vcf"), bam]) == 1
    assert not (tmp_path / "o.vcf").exists()
    # not a VCF
    junk = tmp_path / "junk.vcf"
    junk.write_text("this is not a vcf\n")
    with pytest.raises(errors.FormatError):
        run(_args(bam, str(junk), str(tmp_path / "o.vcf")))
    assert not (tmp_path / "o.vcf").exists()
    # a position beyond the contig end
    with pytest.raises(RegionError):
        phase_pairs(bam, [("chr2", 242193529 + 5, "A", "G"), ("chr2", 242193529 + 6, "A", "G")])
    with pytest.raises(ValueError, match="only SNVs"):
        phase_pairs(bam, [("chr2", 29220747, "CT", "C")])
    with pytest.raises(ValueError, match="min_mapq"):
        phase_pairs(bam, [v["tr1"], v["tr2"]], min_bq=-1)


def test_cram_reads_like_bam(tmp_path):
    """CRAM goes through htslib's iterator per window: same tables as the BAM."""
    rng = random.Random(21)
    refseq = "".join(rng.choice("ACGT") for _ in range(700))
    fa = ref_fasta(tmp_path, {"chrR": refseq, "chrO": "".join(rng.choice("ACGT") for _ in range(300))})
    lines = oracle.random_sam(rng, refseq, n_frags=200)
    bam = sam_to_bam(tmp_path, sam_header({"chrR": 700, "chrO": 300}) + "\n".join(lines) + "\n", "c")
    cram = str(tmp_path / "c.cram")
    pysam.view("-C", "-T", fa, "-o", cram, bam, catch_stdout=False)
    pysam.index(cram, catch_stdout=False)
    variants = [("chrR", p + 1, refseq[p], _alt(refseq[p])) for p in range(20, 690, 45)]
    want = phase_pairs(bam, variants)
    got = phase_pairs(cram, variants, reference=fa)
    assert [r.table for r in got] == [r.table for r in want]
    assert [r.site_a.reads for r in got] == [r.site_a.reads for r in want]


def test_site_error_rate_is_the_clopper_pearson_bound_by_hand():
    from scipy.stats import beta

    a = 1e-3
    got = site_error_rate([0, 0, 0, 5, 0, 3], [1, 10, 10, 1000, 0, 30], alpha=a, kinds=[2, 2, 1, 2, 2, 0])
    # x = 0 of m: (1 - p)^m = alpha; otherwise the upper Clopper-Pearson limit; halved for two misread kinds
    expect = [(1 - a) / 2, (1 - a ** 0.1) / 2, 1 - a ** 0.1, beta.ppf(1 - a, 6, 995) / 2, 0.5, 0.5]
    expect = [min(e, 0.5) for e in expect]
    np.testing.assert_allclose(got, expect, rtol=1e-9)
    for other, bases, kinds in (([-1], [5], 2), ([6], [5], 2), ([1], [5], 3), ([1], [5], -1)):
        with pytest.raises(ValueError):
            site_error_rate(other, bases, kinds=kinds)


def test_classify_tables_refuses_bad_input():
    t = [[[10, 0], [0, 10]]]
    for kw in (dict(alpha=0.0), dict(alpha=1.0)):
        with pytest.raises(ValueError):
            classify_tables(t, [0.01], [0.01], **kw)
    for ea, eb in (([0.01, 0.01], [0.01]), ([0.01], [0.01, 0.01]), ([0.6], [0.01]), ([0.01], [-0.1])):
        with pytest.raises(ValueError):
            classify_tables(t, ea, eb)
    for bad in ([[10, 0], [0, 10]], [[[10], [0]]], [[[10, 0]]]):
        with pytest.raises(ValueError):
            classify_tables(bad, [0.01], [0.01])
    assert classify_tables(t, [0.5], [0.0])[0].relation in ("cis", "trans", "undetermined")


def test_phase_result_table_summaries_by_hand():
    from deepamp.phase import PhaseResult, PhaseTest, SiteEvidence

    table = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 0]]
    test = PhaseTest("cis", "a", 11, 0.0, 0.0, 1.0, 1.0, 0.0, None, "")
    sa = SiteEvidence({}, {"discordant": 3}, 300, 0.01)
    sb = SiteEvidence({}, {"discordant": 4}, 300, 0.01)
    a, b = PhaseVariant("chr2", 100, "C", "T"), PhaseVariant("chr2", 160, "G", "A")
    r = PhaseResult(a, b, table, test, sa, sb)
    assert (r.ref_ref, r.ref_alt, r.alt_ref, r.alt_alt, r.spanning) == (1, 2, 5, 6, 14)
    assert r.other == (9 + 10 + 11 + 12) + 3 + 7 + 15
    assert (r.a_only, r.b_only) == (4 + 8, 13 + 14)
    assert r.discordant == 7 and r.distance == 60
    assert PhaseResult(b, a, table, test, sa, sb).distance == 60
    assert PhaseResult(a, b, table, test, None, sb).discordant == 0
    assert PhaseResult(a, b, [[0] * 4] * 4, test, sa, sb).discordant == 0
    from deepamp.phase import TSV_COLUMNS, tsv_row

    row = dict(zip(TSV_COLUMNS, tsv_row(PhaseResult(a, b, table, test, sa, None, ps=100))))
    assert (row["ps"], row["error_a"], row["error_b"], row["distance"], row["discordant"]) == ("100", "0.01", "", "60",
                                                                                               "0")
    assert row["min_alt_fragments"] == "" and row["spanning"] == "14" and row["relation"] == "cis"
    assert dict(zip(TSV_COLUMNS, tsv_row(r)))["ps"] == ""


def test_phase_pairs_checks_its_options_before_reading(tmp_path):
    missing = str(tmp_path / "none.bam")
    v = [PhaseVariant("chr2", 100, "C", "T"), PhaseVariant("chr2", 150, "G", "A")]
    for kw in (dict(max_distance=0), dict(alpha=0.0), dict(alpha=1.0), dict(min_mapq=-1), dict(min_bq=-1),
               dict(min_alt_bq=-1)):
        with pytest.raises(ValueError):
            phase_pairs(missing, v, **kw)
    with pytest.raises(InputFileError):                       # max_distance 1 is allowed: the BAM is read
        phase_pairs(missing, v, max_distance=1)


def test_binomial_cdf_helper_by_hand():
    from deepamp.phase import _cdf_binom

    got = _cdf_binom(np.array([-1, 0, 1, 3, 5]), np.array([5, 5, 5, 3, 5]), np.array([0.5] * 5))
    np.testing.assert_allclose(got, [0.0, 1 / 32, 6 / 32, 1.0, 1.0], rtol=1e-12)


def test_undetermined_pair_still_names_the_rarer_site():
    # 2 spanning fragments carry b's alt, 50 carry a's: b is rarer, and 2 cannot tell cis from trans
    t = classify([[1000, 2], [50, 0]], 0.001, 0.001)
    assert (t.relation, t.rarer, t.alt_fragments) == ("undetermined", "b", 2)
    t = classify([[1000, 50], [2, 0]], 0.001, 0.001)
    assert (t.relation, t.rarer, t.alt_fragments) == ("undetermined", "a", 2)
