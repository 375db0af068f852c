"""Strand-bias tests on DP4, exact for counts of any size, in log space.

* LoFreq's SB: the Phred-scaled two-sided Fisher exact test (:func:`fisher_logp`,
  :func:`strand_bias_phred`).
* Amplicon-aware strand bias (SBA, :func:`sba_logp`): amplicon ends are read
  from one strand only by design, so the alt allele's strand ratio is compared
  with the *reference* allele's ratio at the same site (conditional test on
  DP4), and only an odds ratio beyond ``min_or`` (an effect-size floor)
  counts as bias: the p-value is the larger of the two one-sided noncentral
  hypergeometric tails at odds ratio ``F`` and ``1/F`` (doubled, capped at 1).
"""

from __future__ import annotations

import math

import numpy as np

_LN10 = math.log(10.0)


def _logsumexp(x: np.ndarray) -> float:
    top = float(np.max(x))
    return top + math.log(float(np.sum(np.exp(x - top))))


def fisher_logp(ref_fwd: int, ref_rev: int, alt_fwd: int, alt_rev: int) -> float:
    """Natural log of the two-sided Fisher exact p-value of a 2x2 table.

    The table is [[ref_fwd, ref_rev], [alt_fwd, alt_rev]]; two-sided means the
    sum of the probabilities of all tables with the same margins that are no
    more likely than the observed one (R's ``fisher.test`` convention, with a
    relative tolerance of 1e-7).  Exact for any depth: the hypergeometric
    pmf is built by its ratio recurrence in log space.
    """
    ref_fwd, ref_rev, alt_fwd, alt_rev = (int(v) for v in (ref_fwd, ref_rev, alt_fwd, alt_rev))
    if min(ref_fwd, ref_rev, alt_fwd, alt_rev) < 0:
        raise ValueError("Fisher test counts must be non-negative")
    n_fwd, n_rev = ref_fwd + alt_fwd, ref_rev + alt_rev
    n_alt = alt_fwd + alt_rev
    lo, hi = max(0, n_alt - n_rev), min(n_alt, n_fwd)
    if hi <= lo:
        return 0.0
    x = np.arange(lo, hi, dtype=np.float64)
    # log P(x+1) - log P(x) for X ~ Hypergeometric(alt draws among fwd/rev)
    step = (np.log(n_alt - x) + np.log(n_fwd - x) - np.log(x + 1) - np.log(n_rev - n_alt + x + 1))
    logpmf = np.concatenate(([0.0], np.cumsum(step)))
    logpmf -= _logsumexp(logpmf)
    observed = logpmf[alt_fwd - lo]
    keep = logpmf <= observed + 1e-7
    return min(0.0, _logsumexp(logpmf[keep]))


def strand_bias_phred(ref_fwd: int, ref_rev: int, alt_fwd: int, alt_rev: int) -> int:
    """LoFreq's SB INFO value: Phred-scaled two-sided Fisher p-value, as an integer."""
    return int(round(-10.0 * fisher_logp(ref_fwd, ref_rev, alt_fwd, alt_rev) / math.log(10.0))) + 0


def _nc_hypergeom_logpmf(n_fwd: int, n_rev: int, n_alt: int, log_psi: float) -> tuple[int, np.ndarray]:
    """(lowest x, log pmf over x = lo..hi) of alt-forward count given margins, odds ratio e^log_psi."""
    lo, hi = max(0, n_alt - n_rev), min(n_alt, n_fwd)
    x = np.arange(lo, hi, dtype=np.float64)
    step = (np.log(n_alt - x) + np.log(n_fwd - x) - np.log(x + 1) - np.log(n_rev - n_alt + x + 1)) + log_psi
    logpmf = np.concatenate(([0.0], np.cumsum(step)))
    return lo, logpmf - _logsumexp(logpmf)


def sba_logp(ref_fwd: int, ref_rev: int, alt_fwd: int, alt_rev: int, min_or: float = 3.0) -> float:
    """Natural-log p-value of amplicon-aware strand bias.

    H0: the alt allele's forward/reverse odds are within a factor ``min_or``
    of the reference allele's at the same site.  Conditional on the margins
    the alt-forward count is noncentral hypergeometric; the p-value is twice
    the smaller of P(X >= obs | OR = min_or) and P(X <= obs | OR = 1/min_or),
    capped at 1.  ``min_or = 1`` is the ordinary (doubled one-sided) Fisher test.
    """
    ref_fwd, ref_rev, alt_fwd, alt_rev = (int(v) for v in (ref_fwd, ref_rev, alt_fwd, alt_rev))
    if min(ref_fwd, ref_rev, alt_fwd, alt_rev) < 0:
        raise ValueError("DP4 counts must be non-negative")
    if min_or < 1:
        raise ValueError("min_or must be >= 1")
    n_fwd, n_rev, n_alt = ref_fwd + alt_fwd, ref_rev + alt_rev, alt_fwd + alt_rev
    lo, hi = max(0, n_alt - n_rev), min(n_alt, n_fwd)
    if hi <= lo:
        return 0.0
    f = math.log(min_or)
    lo_u, up = _nc_hypergeom_logpmf(n_fwd, n_rev, n_alt, f)
    lo_l, dn = _nc_hypergeom_logpmf(n_fwd, n_rev, n_alt, -f)
    i = alt_fwd - lo
    p_upper = _logsumexp(up[i:])
    p_lower = _logsumexp(dn[: i + 1])
    return min(0.0, math.log(2.0) + min(p_upper, p_lower))


def sba_phred(ref_fwd: int, ref_rev: int, alt_fwd: int, alt_rev: int, min_or: float = 3.0) -> float:
    """INFO/SBA: Phred of :func:`sba_logp`, rounded to 2 decimals (finite)."""
    return round(-10.0 * sba_logp(ref_fwd, ref_rev, alt_fwd, alt_rev, min_or) / _LN10, 2) + 0.0
