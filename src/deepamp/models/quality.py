"""Statistical error models and multiple-testing helpers (numpy layer).

Every p-value is carried as a natural log (``logp``) so that values such as
1e-4000 never underflow to 0; only :func:`phred` converts to a capped,
finite Phred score.

Data layout (from the pileup kernel)
------------------------------------
``counts``    uint32 (P, 7, 2): symbols A, C, G, T, N, DEL, INS x strand
              (0 forward, 1 reverse); bases already filtered by min base
              quality.
``qual_hist`` uint32 (P, Q): counted A/C/G/T/N bases per Phred quality q
              (q clipped at Q-1, normally Q = 64), pooled over symbols and
              strands.
``ref_code``  int8 (P,): 0..3 for A, C, G, T; 4 for N / other IUPAC codes
              (such sites are never tested).

LoFreq reference (CSB5/lofreq, ``src/lofreq/snpcaller.c`` and
``src/lofreq/lofreq_call.c``, read for this re-implementation; no code
copied):

* ``plp_to_errprobs`` builds one error probability per A/C/G/T base at the
  column (N bases are skipped), reference and alternative bases alike, as
  ``PHREDQUAL_TO_PROB(q) = 10**(-q/10)`` -- *not* divided by 3 -- after
  merging with mapping quality, BAQ and (optionally) source quality.
* ``snpcaller``/``pruned_calc_prob_dist`` compute, for each of the three
  non-reference bases separately, the Poisson-binomial upper tail
  ``P(X >= alt_count)`` where X is the number of errors among all those
  bases (an O(depth x k) dynamic programme with early exit).
* ``call_snvs`` increases the dynamic Bonferroni factor by 3 (one test per
  non-reference nucleotide) for every column with reference A/C/G/T that
  still has at least one alternative base after filtering; columns with only
  reference bases do not count.  A variant is reported when
  ``p * bonf < sig``, and its QUAL is ``PROB_TO_PHREDQUAL(p)`` of the
  *uncorrected* p-value (truncated to int).

Differences of :func:`quality_tests`: we only have base qualities (no BAQ,
indel-alignment quality or mapping-quality merging), the tail is exact (no
early exit, no Poisson approximation), and the p-value is kept in log
space.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "SiteTests",
    "quality_tests",
    "background_tests",
    "bonferroni",
    "benjamini_hochberg",
    "phred",
    "PHRED_CAP",
]

#: Upper bound returned by :func:`phred` (p <= 1e-10000 all map here).
PHRED_CAP = 100000.0

_LN10 = math.log(10.0)


def _stats():
    from deepamp import _stats

    return _stats


@dataclass(frozen=True)
class SiteTests:
    """Per (site, alt) test results; all arrays aligned, length = #tests kept.

    Attributes
    ----------
    pos : int64 array, index into the P positions of the input arrays.
    alt : int8 array, alternative base code (0..3 = A, C, G, T).
    alt_count : int64 array, observed alt count (always > 0).
    depth : int64 array, A+C+G+T depth at the site (both strands).
    logp : float64 array, natural log of the p-value.
    m : int, number of tests performed for the multiple-testing burden
        (see the producing function for which tests are counted).
    """

    pos: np.ndarray
    alt: np.ndarray
    alt_count: np.ndarray
    depth: np.ndarray
    logp: np.ndarray
    m: int

    def __len__(self) -> int:
        return int(self.pos.shape[0])


def _check_counts(counts: np.ndarray, ref_code: np.ndarray):
    counts = np.asarray(counts)
    ref_code = np.asarray(ref_code)
    if counts.ndim != 3 or counts.shape[1:] != (7, 2):
        raise ValueError(f"counts must have shape (P, 7, 2), got {counts.shape}")
    if counts.dtype.kind not in "iu":
        raise ValueError("counts must have an integer dtype")
    if counts.size and counts.min() < 0:
        raise ValueError("counts must be non-negative")
    if ref_code.shape != (counts.shape[0],):
        raise ValueError("ref_code must have shape (P,)")
    if ref_code.dtype.kind not in "iu":
        raise ValueError("ref_code must have an integer dtype")
    return counts.astype(np.int64), ref_code.astype(np.int64)


def _alt_table(counts: np.ndarray, ref_code: np.ndarray):
    """Return (testable sites mask, depth, acgt counts (P,4))."""
    acgt = counts[:, :4, :].sum(axis=2)
    depth = acgt.sum(axis=1)
    testable = (ref_code >= 0) & (ref_code <= 3) & (depth > 0)
    return testable, depth, acgt


def _candidates(testable, acgt, ref_code):
    P = acgt.shape[0]
    alt_mask = testable[:, None] & (np.arange(4)[None, :] != ref_code[:, None])
    alt_mask &= acgt > 0
    pos, alt = np.nonzero(alt_mask)
    return pos.astype(np.int64), alt.astype(np.int8), alt_mask, P


def quality_tests(counts, qual_hist, ref_code) -> SiteTests:
    """LoFreq-style quality-aware test for every site and alt base.

    For each position with reference A/C/G/T and each alternative base
    with count k > 0, the p-value is ``P(X >= k)`` where X is the number of
    sequencing errors among all A/C/G/T bases of the column, each base
    erring independently with probability ``10**(-Q/10)`` of its Phred
    quality Q (a Poisson-binomial; computed exactly, grouped by quality).

    N bases are excluded from the error model as in LoFreq: if the histogram
    total equals A+C+G+T+N, the N bases (whose own qualities are not
    recorded separately) are removed from the lowest-quality bins first,
    which is where base callers put N calls.  A histogram whose total
    equals A+C+G+T is used as it is.

    Parameters
    ----------
    counts : (P, 7, 2) integer array
    qual_hist : (P, Q) integer array
    ref_code : (P,) integer array

    Returns
    -------
    SiteTests
        Only tests with alt count > 0 (all others have p = 1).  ``m`` is
        LoFreq's dynamic Bonferroni factor: 3 per testable site that has at
        least one alternative base; untested zero-count alts at such sites
        are counted, sites with only reference bases are not.

    Raises
    ------
    ValueError
        On malformed shapes/dtypes or if a histogram total matches neither
        A+C+G+T+N nor A+C+G+T of its column.
    """
    counts, ref_code = _check_counts(counts, ref_code)
    qh = np.asarray(qual_hist)
    if qh.ndim != 2 or qh.shape[0] != counts.shape[0] or qh.shape[1] < 1:
        raise ValueError("qual_hist must have shape (P, Q) with Q >= 1")
    if qh.dtype.kind not in "iu":
        raise ValueError("qual_hist must have an integer dtype")
    if qh.dtype.kind == "i" and qh.size and qh.min() < 0:
        raise ValueError("qual_hist must be non-negative")

    testable, depth, acgt = _alt_table(counts, ref_code)
    pos, alt, alt_mask, _ = _candidates(testable, acgt, ref_code)
    sites_with_alt = np.flatnonzero(alt_mask.any(axis=1))
    m = 3 * int(sites_with_alt.size)

    if pos.size == 0:
        e = np.zeros(0, np.int64)
        return SiteTests(e, np.zeros(0, np.int8), e.copy(), e.copy(),
                         np.zeros(0, np.float64), m)

    # histogram rows of the sites that need a test, with N bases removed
    rows = qh[sites_with_alt].astype(np.int64)   # only these rows: no copy of the whole histogram
    total = rows.sum(axis=1)
    nN = counts[sites_with_alt, 4, :].sum(axis=1)
    d = depth[sites_with_alt]
    with_n = total == d + nN
    if not np.all(with_n | (total == d)):
        bad = int(sites_with_alt[np.flatnonzero(~(with_n | (total == d)))[0]])
        raise ValueError(f"qual_hist total at position {bad} does not match its base counts")
    remove = np.where(with_n, nN, 0)
    cum = np.cumsum(rows, axis=1)
    prev = cum - rows
    rows -= np.clip(remove[:, None] - prev, 0, rows)

    row_of_site = np.full(counts.shape[0], -1, np.int64)
    row_of_site[sites_with_alt] = np.arange(sites_with_alt.size)
    k = acgt[pos, alt].astype(np.int64)
    logp = _stats().logsf_poibin_qhist(k, rows, row_of_site[pos])
    return SiteTests(pos, alt, k, depth[pos].astype(np.int64), logp, m)


def background_tests(counts, ref_code, rate_fwd, rate_rev, dispersion=None) -> SiteTests:
    """Test alt counts against a per-site, per-strand background error rate.

    Strands are combined by testing the total alt count on the total
    A+C+G+T depth ``d = d_f + d_r`` at the depth-weighted rate
    ``r = (d_f r_f + d_r r_r) / d``.  This has the same mean as the exact
    sum of the two per-strand binomials and a variance at least as large,
    so its tail is never anti-conservative in the far tail relevant here.
    Without ``dispersion`` the null is Binomial(d, r); with a dispersion
    (intra-class correlation) rho it is BetaBinomial(d, a, b) with
    ``a = r (1-rho)/rho``, ``b = (1-r)(1-rho)/rho`` (mean r, overdispersed
    variance ``d r (1-r) (1 + (d-1) rho)``).  A rate of 0 makes any alt
    observation impossible under the null (log p = -inf, QUAL capped).

    Parameters
    ----------
    counts : (P, 7, 2) integer array
    ref_code : (P,) integer array
    rate_fwd, rate_rev : (P, 4) float arrays in [0, 1]
        Background probability that a forward/reverse read shows base b at
        the site in error (columns indexed by alt code; the reference
        column is ignored).
    dispersion : (P, 4) float array in (0, 1), optional
        Beta-binomial rho per site and alt; rho = 0 entries use the
        binomial.

    Returns
    -------
    SiteTests
        Tests with alt count > 0.  ``m`` = 3 x number of testable sites
        (reference A/C/G/T and depth > 0), i.e. zero-count alts are counted
        in the burden (conservative).

    Raises
    ------
    ValueError
        On malformed shapes or rates/dispersions outside their ranges.
    """
    counts, ref_code = _check_counts(counts, ref_code)
    P = counts.shape[0]
    rf = np.asarray(rate_fwd, dtype=np.float64)
    rr = np.asarray(rate_rev, dtype=np.float64)
    for name, a in (("rate_fwd", rf), ("rate_rev", rr)):
        if a.shape != (P, 4):
            raise ValueError(f"{name} must have shape (P, 4)")
    if dispersion is not None:
        rho = np.asarray(dispersion, dtype=np.float64)
        if rho.shape != (P, 4):
            raise ValueError("dispersion must have shape (P, 4)")
    testable, depth, acgt = _alt_table(counts, ref_code)
    pos, alt, _, _ = _candidates(testable, acgt, ref_code)
    m = 3 * int(testable.sum())
    k = acgt[pos, alt].astype(np.int64)
    d = depth[pos].astype(np.int64)
    if pos.size == 0:
        return SiteTests(pos, alt, k, d, np.zeros(0, np.float64), m)

    r_f = rf[pos, alt]
    r_r = rr[pos, alt]
    if not (np.all(np.isfinite(r_f)) and np.all(np.isfinite(r_r))
            and np.all((r_f >= 0) & (r_f <= 1)) and np.all((r_r >= 0) & (r_r <= 1))):
        raise ValueError("background rates must be finite and in [0, 1]")
    d_f = counts[pos, :4, 0].sum(axis=1).astype(np.float64)
    d_r = counts[pos, :4, 1].sum(axis=1).astype(np.float64)
    rate = np.clip((d_f * r_f + d_r * r_r) / (d_f + d_r), 0.0, 1.0)

    st = _stats()
    logp = st.logsf_binom(k, d, rate)
    if dispersion is not None:
        rh = rho[pos, alt]
        if not (np.all(np.isfinite(rh)) and np.all((rh >= 0) & (rh < 1))):
            raise ValueError("dispersion must be finite and in [0, 1)")
        use = (rh > 0) & (rate > 0) & (rate < 1)
        if np.any(use):
            s = (1.0 - rh[use]) / rh[use]
            logp[use] = st.logsf_betabinom(k[use], d[use], rate[use] * s,
                                           (1.0 - rate[use]) * s)
    return SiteTests(pos, alt, k, d, logp, m)


def _check_logp(logp, m):
    lp = np.asarray(logp, dtype=np.float64)
    if lp.ndim != 1:
        raise ValueError("logp must be 1-D")
    if np.any(np.isnan(lp)) or np.any(lp > 0):
        raise ValueError("logp must be <= 0 and not NaN")
    if int(m) != m or m < max(1, lp.shape[0]):
        raise ValueError("m must be an integer >= max(1, len(logp))")
    return lp, int(m)


def bonferroni(logp, m) -> np.ndarray:
    """Bonferroni-adjusted log p-values: ``min(0, logp + log m)``.

    Parameters
    ----------
    logp : 1-D array of natural-log p-values (<= 0).
    m : int, total number of tests (>= len(logp)).

    Returns
    -------
    numpy.ndarray of adjusted log p-values.

    Raises
    ------
    ValueError
        If logp contains NaN/positive values or m < len(logp).
    """
    lp, m = _check_logp(logp, m)
    return np.minimum(lp + math.log(m), 0.0)


def benjamini_hochberg(logp, m) -> np.ndarray:
    """Benjamini-Hochberg q-values (log scale) for the given tests.

    Tests not passed in (m - len(logp) of them) are taken to have p = 1;
    they rank last and therefore do not change the q-values of these.

    Parameters
    ----------
    logp : 1-D array of natural-log p-values (<= 0).
    m : int, total number of tests (>= len(logp)).

    Returns
    -------
    numpy.ndarray of log q-values, aligned with ``logp``.

    Raises
    ------
    ValueError
        If logp contains NaN/positive values or m < len(logp).
    """
    lp, m = _check_logp(logp, m)
    n = lp.shape[0]
    if n == 0:
        return lp.copy()
    order = np.argsort(lp, kind="stable")
    ranks = np.arange(1, n + 1, dtype=np.float64)
    adj = lp[order] + math.log(m) - np.log(ranks)
    adj = np.minimum.accumulate(adj[::-1])[::-1]
    out = np.empty(n, np.float64)
    out[order] = np.minimum(adj, 0.0)
    return out


def phred(logp) -> np.ndarray:
    """Phred-scaled QUAL ``-10 log10(p)`` from natural-log p-values.

    The result is finite: values are capped at :data:`PHRED_CAP` (100000,
    i.e. p <= 1e-10000, including p = 0 / logp = -inf) and p = 1 gives
    exactly 0.0 (never -0.0).

    Parameters
    ----------
    logp : array of natural-log p-values (<= 0).

    Returns
    -------
    numpy.ndarray of float64 QUAL values in [0, PHRED_CAP].

    Raises
    ------
    ValueError
        If logp contains NaN or positive values.
    """
    lp = np.asarray(logp, dtype=np.float64)
    if np.any(np.isnan(lp)) or np.any(lp > 0):
        raise ValueError("logp must be <= 0 and not NaN")
    q = np.minimum(-10.0 * lp / _LN10, PHRED_CAP)
    return q + 0.0
