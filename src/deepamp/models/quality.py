"""The quality model: LoFreq's quality-aware null of every (site, alt), exactly (numpy layer).

Every p-value is carried as a natural log (``logp``) so that values such as
1e-4000 never underflow to 0; only :func:`deepamp.models.multiple_testing.phred` converts to a capped,
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

__all__ = ["SiteTests", "quality_tests", "alt_table", "candidates", "check_counts"]


def _stats():
    import deepamp._stats as _stats

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


def check_counts(counts: np.ndarray, ref_code: np.ndarray):
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


def alt_table(counts: np.ndarray, ref_code: np.ndarray):
    """Return (testable sites mask, depth, acgt counts (P,4))."""
    acgt = counts[:, :4, :].sum(axis=2)
    depth = acgt.sum(axis=1)
    testable = (ref_code >= 0) & (ref_code <= 3) & (depth > 0)
    return testable, depth, acgt


def candidates(testable, acgt, ref_code):
    P = acgt.shape[0]
    alt_mask = testable[:, None] & (np.arange(4)[None, :] != ref_code[:, None])
    alt_mask &= acgt > 0
    pos, alt = np.nonzero(alt_mask)
    return pos.astype(np.int64), alt.astype(np.int8), alt_mask, P


def quality_tests(counts, qual_hist, ref_code, *, error_rate: float | None = None) -> SiteTests:
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
    qual_hist : (P, Q) integer array, or None with ``error_rate``
    ref_code : (P,) integer array
    error_rate : one per-base error rate for every base (counts without quality
        histograms): the null is then Binomial(A+C+G+T depth, error_rate)

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
    counts, ref_code = check_counts(counts, ref_code)
    if qual_hist is None:
        if error_rate is None or not 0 < error_rate < 1:
            raise ValueError("quality_tests needs qual_hist, or an error_rate in (0, 1)")
        return _uniform_rate_tests(counts, ref_code, float(error_rate))
    qh = np.asarray(qual_hist)
    if qh.ndim != 2 or qh.shape[0] != counts.shape[0] or qh.shape[1] < 1:
        raise ValueError("qual_hist must have shape (P, Q) with Q >= 1")
    if qh.dtype.kind not in "iu":
        raise ValueError("qual_hist must have an integer dtype")
    if qh.dtype.kind == "i" and qh.size and qh.min() < 0:
        raise ValueError("qual_hist must be non-negative")

    testable, depth, acgt = alt_table(counts, ref_code)
    pos, alt, alt_mask, _ = candidates(testable, acgt, ref_code)
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


def _uniform_rate_tests(counts: np.ndarray, ref_code: np.ndarray, error_rate: float) -> SiteTests:
    """The quality null with every base erring at ``error_rate``: Binomial(depth, error_rate)."""
    import deepamp._stats as _stats

    testable, depth, acgt = alt_table(counts, ref_code)
    pos, alt, alt_mask, _ = candidates(testable, acgt, ref_code)
    m = 3 * int(alt_mask.any(axis=1).sum())
    k = acgt[pos, alt].astype(np.int64)
    d = depth[pos].astype(np.int64)
    logp = _stats.logsf_binom(k, d, np.full(len(k), error_rate)) if len(k) else np.zeros(0, np.float64)
    return SiteTests(pos, alt, k, d, logp, m)
