"""Limit of detection per site: the smallest VAF the test would call here with 80 % probability.

For every tested site and alt base, with the site's depth ``n`` and its null
(the error rate ``r`` and over-dispersion ``rho`` of the model that tests it),
the *critical count* ``k*`` is the smallest alt count whose p-value, corrected
as the run corrects it (Bonferroni over the family's ``m`` tests; for
Benjamini-Hochberg this is the conservative first-rank threshold), is below
``alpha``.  A variant at VAF ``v`` shows alt bases at the rate
``v + r (1 - v)`` (its molecules plus errors on the others), and the limit of
detection is the smallest ``v`` with ``P(X >= k*) >= power`` for
``X ~ Binomial(n, v + r (1 - v))``, found by bisection.  The quality model's
null is summarised by its mean per-base error (the Phred histogram's mean of
``10^(-Q/10)``), which gives the same critical count to within one read at
the depths of a panel.

Sites with no depth, or whose reference is not A/C/G/T, get NaN.
"""

from __future__ import annotations

import math

import numpy as np

import deepamp._stats as _stats

__all__ = ["critical_counts", "detection_limits", "mean_error_rate", "POWER"]

#: The detection probability the limit is quoted at.
POWER = 0.8


def _logsf(k: np.ndarray, n: np.ndarray, rate: np.ndarray, rho: np.ndarray) -> np.ndarray:
    out = _stats.logsf_binom(k, n, rate)
    use = (rho > 0) & (rate > 0) & (rate < 1)
    if np.any(use):
        s = (1.0 - rho[use]) / rho[use]
        out[use] = _stats.logsf_betabinom(k[use], n[use], rate[use] * s, (1.0 - rate[use]) * s)
    return out


def critical_counts(n: np.ndarray, rate: np.ndarray, rho: np.ndarray, log_threshold: float) -> np.ndarray:
    """Smallest alt count k with log P(X >= k) < ``log_threshold`` under the null (n + 1 if none)."""
    n = np.asarray(n, np.int64)
    rate = np.clip(np.asarray(rate, np.float64), 0.0, 1.0)
    rho = np.asarray(rho, np.float64)
    lo = np.ones_like(n)                 # k = 0 never passes; search k in [1, n + 1]
    hi = n + 1
    while np.any(lo < hi):
        mid = (lo + hi) // 2
        ok = _logsf(np.minimum(mid, n), n, rate, rho) < log_threshold
        ok &= mid <= n
        hi = np.where(ok & (lo < hi), mid, hi)
        lo = np.where(~ok & (lo < hi), mid + 1, lo)
    return lo


def detection_limits(n: np.ndarray, rate: np.ndarray, rho: np.ndarray, *, m: int, alpha: float,
                     power: float = POWER) -> np.ndarray:
    """VAF detectable with probability ``power`` per element (NaN where nothing is detectable).

    Parameters
    ----------
    n : depth per element (int)
    rate, rho : the null's error rate and over-dispersion per element (rho 0: binomial)
    m : tests of the family (Bonferroni); alpha : its significance level
    """
    n = np.asarray(n, np.int64)
    rate = np.asarray(rate, np.float64)
    rho = np.asarray(rho, np.float64)
    k = critical_counts(n, rate, rho, math.log(alpha) - math.log(max(int(m), 1)))
    out = np.full(n.shape, np.nan)
    ok = (n > 0) & (k <= n)
    if not np.any(ok):
        return out
    nk, kk, rr = n[ok], k[ok], rate[ok]
    lo, hi = np.zeros(nk.shape), np.ones(nk.shape)
    log_power = math.log(power)
    for _ in range(40):                    # bisection to 1e-12 of VAF
        mid = (lo + hi) / 2
        p = np.clip(mid + rr * (1 - mid), 0.0, 1.0)
        hit = _stats.logsf_binom(kk, nk, p) >= log_power
        hi = np.where(hit, mid, hi)
        lo = np.where(hit, lo, mid)
    out[ok] = hi
    return out


def mean_error_rate(qual_hist: np.ndarray) -> np.ndarray:
    """Mean per-base error ``10^(-Q/10)`` of each position's quality histogram (NaN for no bases)."""
    qh = np.asarray(qual_hist, np.float64)
    err = 10.0 ** (-np.arange(qh.shape[1]) / 10.0)
    tot = qh.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, (qh * err).sum(axis=1) / tot, np.nan)
