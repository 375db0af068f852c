"""Accuracy tests of the C tail kernel (csrc/tails.c) through deepamp._stats."""
import math

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

from deepamp import _stats   # a broken build fails here, never skips

RTOL = 1e-6
ATOL_NEAR0 = 1e-11  # reference sums themselves carry ~1e-12 error near log p = 0


def assert_logp_close(got, ref):
    got = np.asarray(got, dtype=float)
    ref = np.asarray(ref, dtype=float)
    assert got.shape == ref.shape
    inf = np.isinf(ref)
    assert np.array_equal(got[inf], ref[inf])
    g, r = got[~inf], ref[~inf]
    err = np.abs(g - r)
    ok = (err <= RTOL * np.abs(r)) | (err <= ATOL_NEAR0)
    assert ok.all(), list(zip(g[~ok][:5], r[~ok][:5]))


def tail_from_logpmf(lpmf, ks):
    n = lpmf.size - 1
    out = []
    for k in ks:
        if k <= 0:
            out.append(0.0)
        elif k > n:
            out.append(-np.inf)
        else:
            out.append(logsumexp(lpmf[k:]))
    return np.array(out)


def dp_logpmf(ns, ps):
    """Exact Poisson-binomial pmf by convolution in log space."""
    lp = np.array([0.0])
    for n, p in zip(ns, ps):
        with np.errstate(divide="ignore"):
            a, b = math.log(p) if p > 0 else -np.inf, math.log1p(-p) if p < 1 else -np.inf
        for _ in range(int(n)):
            new = np.full(lp.size + 1, -np.inf)
            new[:-1] = lp + b
            new[1:] = np.logaddexp(new[1:], lp + a)
            lp = new
    return lp


def grouped_logpmf(ns, ps):
    """Exact pmf by convolving whole binomial groups (pmfs from scipy)."""
    lp = np.array([0.0])
    for n, p in zip(ns, ps):
        g = stats.binom.logpmf(np.arange(n + 1), n, p)
        out = np.full(lp.size + n, -np.inf)
        for j in range(n + 1):
            if np.isfinite(g[j]):
                out[j:j + lp.size] = np.logaddexp(out[j:j + lp.size], lp + g[j])
        lp = out
    return lp


def test_binom_random_vs_exact_sum():
    rng = np.random.default_rng(11)
    for trial in range(150):
        n = int(rng.integers(0, 3000))
        p = float(10 ** -rng.uniform(0, 9)) if trial % 3 else float(rng.uniform())
        ks = np.unique(np.r_[-1, 0, 1, 2, n - 1, n, n + 1, rng.integers(0, n + 1, 20)])
        ref = tail_from_logpmf(stats.binom.logpmf(np.arange(n + 1), n, p), ks)
        assert_logp_close(_stats.logsf_binom(ks, n, p), ref)


def test_binom_vs_scipy_logsf_moderate():
    ks = np.arange(0, 200)
    got = _stats.logsf_binom(ks, 1000, 0.05)
    ref = stats.binom.logsf(ks - 1, 1000, 0.05)
    assert_logp_close(got, ref)


def test_binom_edges():
    assert _stats.logsf_binom(0, 10, 0.3)[()] == 0.0
    assert _stats.logsf_binom(11, 10, 0.3)[()] == -np.inf
    assert _stats.logsf_binom(1, 10, 0.0)[()] == -np.inf
    assert _stats.logsf_binom(10, 10, 1.0)[()] == 0.0
    assert _stats.logsf_binom(1, 0, 0.5)[()] == -np.inf
    # k = n: n log p exactly, no underflow
    assert _stats.logsf_binom(10**6, 10**6, 1e-9)[()] == pytest.approx(1e6 * math.log(1e-9), rel=1e-12)
    # k = 1: log(1 - q^n)
    n, p = 2304, 0.0069
    assert _stats.logsf_binom(1, n, p)[()] == pytest.approx(math.log(-math.expm1(n * math.log1p(-p))), rel=1e-12)
    with pytest.raises(ValueError):
        _stats.logsf_binom(1, 10, 1.5)
    with pytest.raises(ValueError):
        _stats.logsf_binom(1, -1, 0.5)


def test_betabinom_random_vs_exact_sum():
    rng = np.random.default_rng(12)
    for trial in range(150):
        n = int(rng.integers(0, 2500))
        a = float(10 ** rng.uniform(-1.5, 3))
        b = float(10 ** rng.uniform(-1.5, 3))
        ks = np.unique(np.r_[0, 1, 2, n, n + 1, rng.integers(0, n + 1, 15)])
        ref = tail_from_logpmf(stats.betabinom.logpmf(np.arange(n + 1), n, a, b), ks)
        assert_logp_close(_stats.logsf_betabinom(ks, n, a, b), ref)


def test_betabinom_u_shaped_and_scipy():
    # alpha, beta < 1: U-shaped pmf (not log-concave)
    n = 400
    ks = np.arange(0, n + 2)
    for a, b in [(0.3, 0.2), (0.05, 0.9), (0.9, 0.05), (1.0, 1.0), (0.5, 3.0)]:
        ref = tail_from_logpmf(stats.betabinom.logpmf(np.arange(n + 1), n, a, b), ks)
        assert_logp_close(_stats.logsf_betabinom(ks, n, a, b), ref)
    ks = np.arange(0, 60)
    assert_logp_close(_stats.logsf_betabinom(ks, 500, 2.0, 200.0),
                      stats.betabinom.logsf(ks - 1, 500, 2.0, 200.0))
    with pytest.raises(ValueError):
        _stats.logsf_betabinom(1, 10, 0.0, 1.0)


def test_poibin_vs_bernoulli_dp_small():
    rng = np.random.default_rng(13)
    for trial in range(25):
        g = int(rng.integers(2, 6))
        ns = rng.integers(1, 50, g)
        ps = 10 ** -rng.uniform(0, 6, g)
        if trial % 4 == 0:
            ps[0] = 0.0
        if trial % 5 == 0:
            ps[-1] = 1.0
        ks = np.arange(-1, ns.sum() + 2)
        ref = tail_from_logpmf(dp_logpmf(ns, ps), ks)
        assert_logp_close(_stats.logsf_poibin(ks, ns, ps), ref)


def test_poibin_medium_many_groups_extreme_k():
    rng = np.random.default_rng(14)
    for trial in range(4):
        g = int(rng.integers(8, 20))
        ns = rng.integers(50, 400, g)
        ps = 10 ** -(rng.integers(2, 45, g) / 10.0)
        N = int(ns.sum())
        ref_pmf = grouped_logpmf(ns, ps)
        ks = np.unique(np.r_[1, 2, 3, 10, 50, N // 3, N // 2, N - 5, N - 1, N,
                             rng.integers(0, N + 1, 30)])
        ref = tail_from_logpmf(ref_pmf, ks)
        assert_logp_close(_stats.logsf_poibin(ks, ns, ps), ref)
        assert np.min(ref) < -1e3  # astronomically small p-values covered


def test_poibin_single_group_equals_binomial_and_zero_groups():
    ks = np.arange(0, 1002)
    got = _stats.logsf_poibin(ks, np.array([1000, 0, 7]), np.array([0.01, 0.3, 0.0]))
    assert_logp_close(got, _stats.logsf_binom(ks, 1000, 0.01))


def test_poibin_edges():
    assert _stats.logsf_poibin([0], [5], [0.1])[0] == 0.0
    assert _stats.logsf_poibin([6], [5], [0.1])[0] == -np.inf
    # p = 1 group shifts the distribution
    assert _stats.logsf_poibin([3], [3, 10], [1.0, 0.2])[0] == 0.0
    assert _stats.logsf_poibin([1], [4], [0.0])[0] == -np.inf
    # single base
    assert _stats.logsf_poibin([1], [1], [0.25])[0] == pytest.approx(math.log(0.25), rel=1e-14)


def test_qhist_all_q63_and_rows():
    qh = np.zeros((2, 64), np.uint32)
    qh[0, 63] = 10000
    qh[1, 20] = 100
    qh[1, 30] = 900
    k = np.array([1, 2, 10000, 1, 5])
    rows = np.array([0, 0, 0, 1, 1])
    got = _stats.logsf_poibin_qhist(k, qh, rows)
    p63 = 10 ** -6.3
    assert got[0] == pytest.approx(math.log(-math.expm1(10000 * math.log1p(-p63))), rel=1e-10)
    assert got[2] == pytest.approx(10000 * math.log(p63), rel=1e-12)
    ref = tail_from_logpmf(grouped_logpmf([100, 900], [0.01, 0.001]), [1, 5])
    assert_logp_close(got[3:], ref)
    with pytest.raises(ValueError):
        _stats.logsf_poibin_qhist(k, qh, np.array([0, 0, 0, 1, 2]))
    with pytest.raises(ValueError):
        _stats.logsf_poibin_qhist(np.array([1]), qh)


def test_poibin_deep_tail_no_underflow_and_monotone():
    # depth 1e6 over ten qualities; log p down to ~ -1e5 and beyond
    qh = np.zeros((1, 64), np.uint32)
    qh[0, 30:40] = 100000
    ks = np.array([1, 10, 100, 1000, 5000, 20000, 999999, 1000000])
    got = _stats.logsf_poibin_qhist(ks, np.repeat(qh, ks.size, 0))
    assert np.all(np.isfinite(got))
    assert np.all(np.diff(got) < 0)
    assert got[5] < -5e4 and got[-2] < -1e5
