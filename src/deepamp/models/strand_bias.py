"""Strand bias: LoFreq's SB (Phred-scaled two-sided Fisher exact test on DP4).

The amplicon-aware strand-bias filter lives in :mod:`deepamp.filters`; this
module provides the exact test itself, for counts of any size, in log space.
"""

from __future__ import annotations

import math

import numpy as np


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
