"""The independent benchmark simulator (benchmarks/sim_independent.py) does what it says.

Small and fast: one amplicon (or one capture target) at a few thousand pairs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import math
import os
import sys

import numpy as np
import pysam
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
import sim_independent as si  # noqa: E402

REF = si.Reference()
REGIONS = si.read_bed()
EX23 = [r for r in REGIONS if r.name == "ALK_ex23"]
COMP = {"A": "T", "C": "G", "G": "C", "T": "A"}


def _rc(s: str) -> str:
    return "".join(COMP[c] for c in reversed(s))


def _translate(cds: str) -> str:
    bases = "TCAG"
    aa = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
    table = {"".join(c): aa[i] for i, c in enumerate(itertools.product(bases, repeat=3))}
    return "".join(table[cds[i:i + 3]] for i in range(0, len(cds) - 2, 3))


def _simulate(tmp_path, name: str, variants=(), *, errors: si.ErrorModel, library: si.Library,
              regions=EX23, seed: int = 7, run_seed: int = 1) -> tuple[si.SampleTruth, si.RunProfile]:
    run = si.RunProfile(REF, regions, run_seed, params=errors.run)
    spec = si.SampleSpec(name, list(variants), seed, library)
    return si.simulate_sample(str(tmp_path / f"{name}.bam"), spec, reference=REF, regions=regions, run=run,
                              errors=errors), run


def _ref_mismatches(bam: str):
    """Per read: (is_read2, is_reverse, read cycle array, mismatch bool array, ref bases, read bases)."""
    with pysam.AlignmentFile(bam) as fh:
        for r in fh:
            if r.cigarstring != f"{r.query_length}M":
                continue
            s = r.query_sequence
            ref = REF.fetch(r.reference_start, r.reference_start + len(s))
            mm = np.frombuffer(s.encode(), "S1") != np.frombuffer(ref.encode(), "S1")
            cyc = np.arange(len(s))[::-1] if r.is_reverse else np.arange(len(s))
            yield r, cyc, mm, ref, s


def test_g1202del_is_codon_1202_deleted():
    """G1202 is GGA on the minus strand at chr2:29220745-29220747; the shipped constant is its deletion."""
    codon_plus = REF.fetch(29220744, 29220747)
    assert _translate(_rc(codon_plus)) == "G"
    # codons 1197-1203 (E L M A G G D, UniProt Q9UM73) read on the minus strand
    assert _translate(_rc(REF.fetch(29220741, 29220762))) == "ELMAGGD"
    # deleting the codon gives the same sequence as the left-aligned VCF allele
    start = 29220700
    seq = REF.fetch(start, 29220790)
    deleted = seq[:29220744 - start] + seq[29220747 - start:]
    v = si.Variant(*si.G1202DEL, 0.01).normalized(REF)
    assert (v.pos, v.ref, v.alt) == (29220743, "TCTC", "T")
    frag = si._build_fragment(REF, start, 29220790, v.edits())
    assert "".join("ACGT"[c] for c in frag.codes) == deleted


def test_truth_fractions_match_the_bam(tmp_path):
    """Without errors, the BAM's alt pairs are the truth's exactly, and the read fraction is a binomial
    draw around the molecule fraction."""
    variants = [si.Variant("chr2", 29220747, "C", "T", 0.05), si.Variant("chr2", 29220765, "G", "T", 0.2),
                si.Variant(*si.G1202DEL, 0.1)]
    truth, _ = _simulate(tmp_path, "exact", variants, errors=si.ErrorModel.none(),
                         library=si.Library(pairs=4000))
    rows = {(r["pos"], r["ref"], r["alt"]): r for r in truth.rows}
    alt_snv = {29220747: 0, 29220765: 0}
    dels = 0
    with pysam.AlignmentFile(truth.bam) as fh:
        for r in fh:
            if not r.is_read1:
                continue
            if "D" in r.cigarstring:
                dels += 1
            pairs = dict(r.get_aligned_pairs(matches_only=True))
            for pos in alt_snv:
                q = {v: k for k, v in pairs.items()}.get(pos - 1)
                if q is not None and r.query_sequence[q] == rows[(pos, REF.base(pos), "T")]["alt"]:
                    alt_snv[pos] += 1
    for pos, n in alt_snv.items():
        row = rows[(pos, REF.base(pos), "T")]
        assert n == row["pairs_alt"]
        p, depth = row["molecule_fraction"], row["pairs"]
        assert abs(row["read_fraction"] - p) < 4.5 * math.sqrt(p * (1 - p) / depth) + 1e-9
        assert row["molecule_fraction"] == pytest.approx(row["asked_fraction"], abs=1 / row["molecules"])
    assert dels == rows[(29220743, "TCTC", "T")]["pairs_alt"]


def test_cycle_dependent_error_rate_is_the_asked_one(tmp_path):
    """Mismatches per cycle follow the latent quality ramp (run artefacts off, so no site multipliers)."""
    se = si.SequencingErrors(q_start_r1=26.0, q_end_r1=20.0, q_start_r2=25.0, q_end_r2=16.0, read_sd=0.0,
                             base_sd=0.0)
    em = si.ErrorModel.none(sequencing=se)
    truth, _ = _simulate(tmp_path, "ramp", errors=em, library=si.Library(pairs=4000))
    mm = np.zeros((2, 150))
    nn = np.zeros((2, 150))
    spectrum = np.array(si.DEFAULT_SEQ_SPECTRUM)
    subs = np.zeros((4, 4))
    for r, cyc, m, ref, s in _ref_mismatches(truth.bam):
        e = int(r.is_read2)
        np.add.at(mm[e], cyc, m)
        nn[e, cyc] += 1
        if not r.is_reverse:
            for i in np.flatnonzero(m):
                subs["ACGT".index(ref[i]), "ACGT".index(s[i])] += 1
    for e in (0, 1):
        expected = 10 ** (-se.latent_mean(150, e == 1) / 10)
        for part in (slice(0, 30), slice(120, 150)):
            assert mm[e, part].sum() / nn[e, part].sum() == pytest.approx(expected[part].mean(), rel=0.12)
    assert mm[1, 120:].sum() / nn[1, 120:].sum() > 2 * mm[0, :30].sum() / nn[0, :30].sum()
    # the spectrum is the asked one (forward reads: reference orientation = read orientation)
    share = subs / subs.sum(axis=1, keepdims=True)
    want = spectrum / spectrum.sum(axis=1, keepdims=True)
    assert np.abs(share - want).max() < 0.08
    assert share[3, 2] > share[3, 0]      # T>G above T>A: not uniform


def test_reported_qualities_overconfident_and_binned():
    q = si.QualityReporting(overconfidence=4.0).report(np.array([20.0, 30.0, 39.0]))
    assert q.tolist() == [26, 36, 41]        # +10 log10(4) = +6, capped at 41
    b = si.QualityReporting(overconfidence=1.0, binning="novaseq").report(np.arange(0.0, 45.0))
    assert set(b.tolist()) == {2, 12, 23, 37}


def test_run_profile_shared_within_a_run_and_differs_between_runs():
    a = si.RunProfile(REF, REGIONS, 1)
    a2 = si.RunProfile(REF, REGIONS, 1)
    b = si.RunProfile(REF, REGIONS, 2)
    assert np.array_equal(a.seq_hot, a2.seq_hot) and np.array_equal(a.lib_mult, a2.lib_mult)
    hot_a = a.seq_hot.sum(axis=2) > 0
    hot_b = b.seq_hot.sum(axis=2) > 0
    shared, only = (hot_a & hot_b).sum(), (hot_a ^ hot_b).sum()
    assert shared > only > 0                 # mostly the same hot sites, a few run-specific
    one_strand = ((a.seq_hot[..., 0] > 0) ^ (a.seq_hot[..., 1] > 0)).sum()
    assert 0 < one_strand < hot_a.sum()      # some on one strand, some on both
    rates = a.seq_hot[a.seq_hot > 0]
    assert rates.max() / np.median(rates) > 20   # heavy tail
    assert a.lib_mult.max() > 20 * np.median(a.lib_mult[a.lib_mult > 0])


def test_pcr_error_rate_is_the_asked_one(tmp_path):
    """Polymerase errors (both mates show them) at mu x copies along the line of descent."""
    pcr = si.PcrErrors(error_rate=2e-4, cycles=20, explicit_cycles=4, family_sigma=0.0)
    em = si.ErrorModel.none(pcr=pcr)
    truth, _ = _simulate(tmp_path, "pcr", errors=em, library=si.Library(pairs=3000))
    mism = bases = 0
    for r, cyc, m, ref, s in _ref_mismatches(truth.bam):
        if r.is_read1:
            mism += int(m.sum())
            bases += len(m)
    # explicit cycles: a final molecule's line of descent was copied ~efficiency/(1+efficiency) per cycle
    copies = pcr.cycles * pcr.efficiency / (1 + pcr.efficiency)
    assert mism / bases == pytest.approx(2e-4 * copies, rel=0.3)


def test_early_pcr_errors_are_shared_pseudo_variants(tmp_path):
    """A small input with a high error rate: early-cycle errors reach a few per mille, in both mates."""
    pcr = si.PcrErrors(error_rate=1e-4, cycles=25, explicit_cycles=5, family_sigma=0.0)
    truth, _ = _simulate(tmp_path, "early", errors=si.ErrorModel.none(pcr=pcr),
                         library=si.Library(pairs=4000, molecules=300))
    r = EX23[0]
    both_mates = range(r.end - 150 + 1, r.start + 150 + 1)          # 1-based positions both mates read
    early = [f for f in (line.split("\t") for line in open(truth.artefacts_tsv).read().splitlines()[1:])
             if int(f[1]) in both_mates]
    assert early
    top = max(early, key=lambda f: int(f[4]))
    assert int(top[4]) / int(top[5]) > 1e-3
    pos, alt = int(top[1]), top[3]
    per_name: dict[str, int] = {}
    with pysam.AlignmentFile(truth.bam) as fh:
        for col in fh.pileup("chr2", pos - 1, pos, truncate=True, stepper="nofilter", max_depth=10**7,
                             min_base_quality=0):
            for pr in col.pileups:
                if not pr.is_del and not pr.is_refskip and pr.alignment.query_sequence[pr.query_position] == alt:
                    per_name[pr.alignment.query_name] = per_name.get(pr.alignment.query_name, 0) + 1
    assert sum(1 for v in per_name.values() if v == 2) >= 0.9 * len(per_name)   # both mates carry it


def test_oxidation_one_orientation_only(tmp_path):
    ox = si.Oxidation(enabled=True, rate=0.01, context_factor=1.0)
    em = si.ErrorModel.none(oxidation=ox)
    lib = si.Library(mode="capture", pairs=400, duplicate_rate=0.0)
    truth, _ = _simulate(tmp_path, "ox", errors=em, library=lib, regions=EX23)
    tally = {True: [0, 0, 0, 0], False: [0, 0, 0, 0]}   # r1 forward -> G>T, G, C>A, C
    with pysam.AlignmentFile(truth.bam) as fh:
        for r in fh:
            if not r.is_read1:
                continue
            s = r.query_sequence
            ref = REF.fetch(r.reference_start, r.reference_start + len(s))
            t = tally[not r.is_reverse]
            for a, b in zip(ref, s):
                if a == "G":
                    t[1] += 1
                    t[0] += b == "T"
                elif a == "C":
                    t[3] += 1
                    t[2] += b == "A"
    f1r2, f2r1 = tally[True], tally[False]
    assert f1r2[0] / f1r2[1] == pytest.approx(0.01, rel=0.3)     # G>T in F1R2
    assert f2r1[2] / f2r1[3] == pytest.approx(0.01, rel=0.3)     # C>A in F2R1
    assert f1r2[2] == 0 and f2r1[0] == 0                         # never the other way round


def test_capture_duplicates_and_fragment_lengths(tmp_path):
    lib = si.Library(mode="capture", pairs=600, duplicate_rate=0.8)
    truth, _ = _simulate(tmp_path, "dup", errors=si.ErrorModel.none(), library=lib, regions=EX23)
    assert truth.duplicate_fraction == pytest.approx(0.8, abs=0.03)
    tlens, flags = [], 0
    with pysam.AlignmentFile(truth.bam) as fh:
        for r in fh:
            flags |= r.flag
            if r.is_read1:
                tlens.append(abs(r.template_length))
    assert not flags & 0x400                                   # duplicates are never flagged
    assert np.mean(tlens) == pytest.approx(170, abs=8) and np.std(tlens) == pytest.approx(30, abs=6)


def test_homopolymer_slippage_rises_with_run_length(tmp_path):
    sl = si.Slippage(pcr_rate_h3=2e-3, seq_rate_h3=0.0, growth=3.0, cap=0.5)
    truth, _ = _simulate(tmp_path, "slip", errors=si.ErrorModel.none(slippage=sl), library=si.Library(pairs=4000))
    by_len: dict[int, int] = {}
    with pysam.AlignmentFile(truth.bam) as fh:
        for r in fh:
            if r.is_read1 and ("D" in r.cigarstring or "I" in r.cigarstring):
                pos = r.reference_start + r.cigartuples[0][1]
                h = max(_run(pos), _run(pos - 1))
                by_len[h] = by_len.get(h, 0) + 1
    frag = si._build_fragment(REF, EX23[0].start, EX23[0].end, [])
    starts, lengths = si._homopolymers(frag.codes, 3)
    per_run = {h: by_len.get(h, 0) / max((lengths == h).sum(), 1) for h in set(lengths.tolist())}
    hs = sorted(per_run)
    assert min(by_len) >= 3 and per_run[hs[-1]] > 3 * per_run[hs[0]]


def _run(pos0: int) -> int:
    b = REF.fetch(pos0, pos0 + 1)
    lo, hi = pos0, pos0 + 1
    while REF.fetch(lo - 1, lo) == b:
        lo -= 1
    while REF.fetch(hi, hi + 1) == b:
        hi += 1
    return hi - lo


def _records_digest(bam: str) -> str:
    h = hashlib.sha256()
    with pysam.AlignmentFile(bam) as fh:
        for r in fh:
            h.update(r.to_string().encode())
    return h.hexdigest()


def test_deterministic_by_seed(tmp_path):
    lib = si.Library(pairs=1500)
    os.makedirs(tmp_path / "a", exist_ok=True)
    a, _ = _simulate(tmp_path / "a", "det_a", [si.Variant("chr2", 29220747, "C", "T", 0.02)], errors=si.ErrorModel(),
                     library=lib, seed=5)
    os.makedirs(tmp_path / "b", exist_ok=True)
    b, _ = _simulate(tmp_path / "b", "det_a", [si.Variant("chr2", 29220747, "C", "T", 0.02)], errors=si.ErrorModel(),
                     library=lib, seed=5)
    c, _ = _simulate(tmp_path / "b", "det_c", [si.Variant("chr2", 29220747, "C", "T", 0.02)], errors=si.ErrorModel(),
                     library=lib, seed=6)
    assert _records_digest(a.bam) == _records_digest(b.bam)
    assert open(a.truth_tsv).read() == open(b.truth_tsv).read()
    assert _records_digest(a.bam) != _records_digest(c.bam)
    with pysam.AlignmentFile(a.bam) as fh:
        assert fh.header.to_dict()["SQ"] == [{"SN": "chr2", "LN": 242193529}]
        assert fh.header.to_dict()["HD"]["SO"] == "coordinate"
