"""Tests of deepamp.models.quality (site tests and multiple-testing helpers)."""
import math

import numpy as np
import pytest

from scipy import stats

from deepamp.models import quality as model
from deepamp.models import multiple_testing as mt
from deepamp.models.background import background_tests


def make_site_arrays():
    P = 4
    counts = np.zeros((P, 7, 2), np.uint32)
    ref = np.array([0, 1, 4, 2], np.int8)
    counts[0, 0] = [600, 400]           # ref A
    counts[0, 2] = [3, 2]               # G x5
    counts[0, 3] = [0, 1]               # T x1
    counts[1, 1] = [500, 500]           # ref C, no alts
    counts[2, 0] = [100, 0]             # ref N: never tested
    counts[2, 1] = [0, 50]
    counts[3, 2] = [300, 300]           # ref G
    counts[3, 0] = [20, 20]             # A x40
    counts[3, 4] = [5, 5]               # 10 N bases (Q2 in the histogram)
    qh = np.zeros((P, 64), np.uint32)
    qh[:, 30] = counts[:, :4, :].sum(axis=(1, 2))
    qh[3, 2] = 10
    return counts, qh, ref


def test_quality_tests_hand_made():
    counts, qh, ref = make_site_arrays()
    t = model.quality_tests(counts, qh, ref)
    assert list(t.pos) == [0, 0, 3]
    assert list(t.alt) == [2, 3, 0]
    assert list(t.alt_count) == [5, 1, 40]
    assert list(t.depth) == [1006, 1006, 640]
    # LoFreq burden: 3 per testable site with >= 1 alt (sites 0 and 3)
    assert t.m == 6
    # all remaining bases are Q30 -> Binomial(depth, 1e-3), not divided by 3;
    # the 10 N bases are removed from the lowest bins (Q2)
    ref_lp = stats.binom.logsf(t.alt_count - 1, t.depth, 1e-3)
    np.testing.assert_allclose(t.logp, ref_lp, rtol=1e-9)


def test_quality_tests_mixed_qualities_and_errors():
    counts, qh, ref = make_site_arrays()
    # site 0: half of the bases at Q20 instead of Q30
    qh[0, 30] = 503
    qh[0, 20] = 503
    t = model.quality_tests(counts, qh, ref)
    from deepamp import _stats
    exp0 = _stats.logsf_poibin(np.array([5, 1]), np.array([503, 503]), np.array([1e-3, 1e-2]))
    np.testing.assert_allclose(t.logp[:2], exp0, rtol=1e-12)
    assert t.logp[0] > model.quality_tests(*make_site_arrays()).logp[0]
    qh[0, 30] += 7
    with pytest.raises(ValueError):
        model.quality_tests(counts, qh, ref)
    with pytest.raises(ValueError):
        model.quality_tests(counts[:, :5], qh, ref)


def test_quality_tests_empty():
    counts = np.zeros((2, 7, 2), np.uint32)
    counts[:, 0, 0] = 10
    qh = np.zeros((2, 64), np.uint32)
    qh[:, 35] = 10
    t = model.quality_tests(counts, qh, np.zeros(2, np.int8))
    assert len(t) == 0 and t.m == 0


def test_background_binomial_and_betabinomial():
    counts, _, ref = make_site_arrays()
    P = counts.shape[0]
    rf = np.full((P, 4), 2e-3)
    rr = np.full((P, 4), 6e-3)
    t = background_tests(counts, ref, rf, rr)
    assert t.m == 9  # 3 testable sites (depth > 0, ref ACGT) x 3
    d_f = counts[t.pos, :4, 0].sum(axis=1)
    d_r = counts[t.pos, :4, 1].sum(axis=1)
    rate = (d_f * 2e-3 + d_r * 6e-3) / (d_f + d_r)
    np.testing.assert_allclose(t.logp, stats.binom.logsf(t.alt_count - 1, t.depth, rate), rtol=1e-9)
    rho = np.full((P, 4), 0.01)
    tb = background_tests(counts, ref, rf, rr, rho)
    s = (1 - 0.01) / 0.01
    exp = stats.betabinom.logsf(t.alt_count - 1, t.depth, rate * s, (1 - rate) * s)
    np.testing.assert_allclose(tb.logp, exp, rtol=1e-8)
    assert tb.logp[2] > t.logp[2] + 50  # overdispersion -> far-tail p-value much larger
    with pytest.raises(ValueError):
        background_tests(counts, ref, rf * 1000, rr)


def bh_reference(p, m):
    p = np.asarray(p, float)
    n = p.size
    q = np.empty(n)
    for i in range(n):
        # q_i = min over tests with p_j >= p_i of p_j * m / rank_j
        ranks = np.array([np.sum(p <= p[j]) for j in range(n)])
        q[i] = min(1.0, min(p[j] * m / ranks[j] for j in range(n) if p[j] >= p[i]))
    return q


def test_benjamini_hochberg_vs_reference():
    rng = np.random.default_rng(5)
    p = np.r_[rng.uniform(0, 1, 40), 10 ** -rng.uniform(2, 12, 20)]
    for m in (60, 500):
        got = np.exp(mt.benjamini_hochberg(np.log(p), m))
        np.testing.assert_allclose(got, bh_reference(p, m), rtol=1e-10)
    # no underflow in log space
    lq = mt.benjamini_hochberg(np.array([-9000.0, -1.0]), 10)
    assert lq[0] == pytest.approx(-9000.0 + math.log(10), rel=1e-12)
    with pytest.raises(ValueError):
        mt.benjamini_hochberg(np.log(p), 3)


def test_bonferroni():
    lp = np.log(np.array([1e-6, 0.2, 1.0]))
    np.testing.assert_allclose(np.exp(mt.bonferroni(lp, 100)), [1e-4, 1.0, 1.0])
    assert mt.bonferroni(np.array([-np.inf]), 5)[0] == -np.inf
    with pytest.raises(ValueError):
        mt.bonferroni(np.array([0.1]), 1)


def test_phred():
    q = mt.phred(np.array([0.0, math.log(0.1), math.log(1e-3), -4000 * math.log(10), -np.inf, -1e9]))
    assert q[0] == 0.0 and not np.signbit(q[0])
    np.testing.assert_allclose(q[1:4], [10.0, 30.0, 40000.0], rtol=1e-12)
    assert q[4] == mt.PHRED_CAP and q[5] == mt.PHRED_CAP
    assert np.all(np.isfinite(q))
    with pytest.raises(ValueError):
        mt.phred(np.array([np.nan]))


def test_background_dispersion_must_be_below_one():
    counts = np.zeros((1, 7, 2), np.int64)
    counts[0, 0] = (500, 500)
    counts[0, 2] = (5, 5)
    rate = np.full((1, 4), 1e-3)
    for bad in (1.0, -0.1, math.nan):
        with pytest.raises(ValueError):
            background_tests(counts, np.array([0]), rate, rate, np.full((1, 4), bad))
    t = background_tests(counts, np.array([0]), rate, rate, np.full((1, 4), 0.5))
    assert np.isfinite(t.logp).all()


def test_unseen_indel_gets_the_zero_count_posterior_of_the_junction_depth():
    from deepamp.models.background import Background, BackgroundParams

    empty = {"indel_contig": np.array([], dtype=str), "indel_pos": np.zeros(0, np.int64),
             "indel_length": np.zeros(0, np.int32), "indel_sequence": np.array([], dtype=str),
             "indel_rate": np.zeros(0), "indel_dispersion": np.zeros(0),
             "indel_n_controls_used": np.zeros(0, np.int16), "junction_depth": np.array([98, 0])}
    bg = Background(np.array(["chr2", "chr2"]), np.array([10, 11]), np.array(["A", "C"]), np.zeros((2, 4, 2)),
                    np.zeros((2, 4)), np.zeros((2, 4), np.int16), {}, indels=empty)
    rate, rho = bg.indel_lookup([("chr2", 10, -1, ""), ("chr2", 11, 2, "AT")])
    # half an event over n + 1 junctions; rho 1 / (n + 2) capped at max_rho (0.2)
    np.testing.assert_allclose(rate, [0.5 / 99, 0.5 / 1])
    np.testing.assert_allclose(rho, [1 / 100, BackgroundParams.max_rho])


def test_panel_hash_and_mismatch_rate_by_hand():
    import hashlib

    from deepamp.models.background import mismatch_rate, panel_hash

    contig, pos, ref = np.array(["chr2", "chr2"]), np.array([10, 11]), np.array(["A", "C"])
    assert panel_hash(contig, pos, ref) == hashlib.sha256(b"chr2\t10\tA\nchr2\t11\tC\n").hexdigest()
    counts = np.zeros((3, 7, 2), np.int64)
    counts[0, 0] = (90, 5)              # A: 95 ref
    counts[0, 2] = (3, 2)               # 5 G
    counts[1, 1] = (40, 40)             # C: 80 ref
    counts[1, 4] = (7, 7)               # N bases: not A/C/G/T
    counts[2, 0] = (50, 50)             # reference N: not counted
    assert mismatch_rate(counts, np.array([0, 1, 4])) == (5, 180)


def test_background_counting_options_and_their_check():
    from deepamp.errors import ReferenceFileError
    from deepamp.models.background import Background
    from deepamp.options import CountOptions

    def bg(meta):
        return Background(np.array(["chr2"]), np.array([10]), np.array(["A"]), np.zeros((1, 4, 2)),
                          np.zeros((1, 4)), np.zeros((1, 4), np.int16), meta)

    stored = CountOptions(min_bq=10).to_dict()
    assert bg({"count_options": stored}).count_options.to_dict() == stored
    assert bg({"count_params": dict(stored, other=1)}).count_options.to_dict() == stored   # older files
    assert bg({"count_params": {"min_bq": 10}}).count_options is None
    assert bg({}).count_options is None
    b = bg({"count_options": stored})
    b.check_counted_like(CountOptions(min_bq=10))
    b.check_counted_like(None)
    bg({}).check_counted_like(CountOptions(min_bq=30))
    with pytest.raises(ReferenceFileError, match="min_bq 10 vs 30"):
        b.check_counted_like(CountOptions(min_bq=30))


def test_background_lookup_refuses_other_panels_and_references():
    from deepamp.errors import ReferenceFileError
    from deepamp.models.background import Background

    rate = np.zeros((2, 4, 2))
    rate[:, :, 0], rate[:, :, 1] = 1e-3, 2e-3
    b = Background(np.array(["chr2", "chr2"]), np.array([10, 11]), np.array(["A", "C"]), rate,
                   np.full((2, 4), 0.01), np.zeros((2, 4), np.int16), {"panel_sha256": "x"})
    rf, rr, d = b.lookup(np.array(["chr2"]), np.array([11]), np.array(["C"]))
    assert rf.tolist() == [[1e-3] * 4] and rr.tolist() == [[2e-3] * 4] and d.tolist() == [[0.01] * 4]
    with pytest.raises(ReferenceFileError, match=r": 2 of 3 positions \(first chr2:13\)"):
        b.lookup(np.array(["chr2"] * 3), np.array([12, 10, 13]), np.array(["A", "A", "A"]))
    with pytest.raises(ReferenceFileError, match="chr2:12 is C there but G"):
        b.lookup(np.array(["chr2"]), np.array([11]), np.array(["G"]))


def test_background_rates_must_be_in_0_1():
    counts = np.zeros((1, 7, 2), np.int64)
    counts[0, 0] = (500, 500)
    counts[0, 2] = (5, 5)
    for r in (0.0, 1.0):
        ok = np.full((1, 4), r)
        assert len(background_tests(counts, np.array([0]), ok, ok)) == 1
    for r in (-1e-9, 1.0 + 1e-9, math.nan):
        bad = np.full((1, 4), r)
        good = np.full((1, 4), 1e-3)
        for rf, rr in ((bad, good), (good, bad)):
            with pytest.raises(ValueError):
                background_tests(counts, np.array([0]), rf, rr)
    none = np.zeros((1, 7, 2), np.int64)
    none[0, 0] = (500, 500)
    t = background_tests(none, np.array([0]), good, good)
    assert len(t) == 0 and t.m == 3 and t.logp.shape == (0,)


def test_background_dispersion_zero_is_the_binomial_and_edge_rates_stay_binomial():
    counts = np.zeros((1, 7, 2), np.int64)
    counts[0, 0] = (500, 500)
    counts[0, 2] = (5, 5)
    rate = np.full((1, 4), 1e-3)
    plain = background_tests(counts, np.array([0]), rate, rate)
    zero = background_tests(counts, np.array([0]), rate, rate, np.zeros((1, 4)))
    np.testing.assert_array_equal(zero.logp, plain.logp)
    for r in (0.0, 1.0):                 # no beta-binomial at rate 0 or 1: the binomial's answer
        edge = np.full((1, 4), r)
        with_rho = background_tests(counts, np.array([0]), edge, edge, np.full((1, 4), 0.1))
        np.testing.assert_array_equal(with_rho.logp, background_tests(counts, np.array([0]), edge, edge).logp)
