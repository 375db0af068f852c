"""The matched-normal test: does the tumour carry more of an allele than the same patient's normal?

A *matched normal* is the same patient's healthy DNA (or any sample the test is
compared with: a pre-treatment time point, another run of the same library).
It is not a panel of normals (other people's healthy DNA, whose real variants
are excluded, :mod:`deepamp.models.background`): here every allele the normal
carries is part of the null, so an allele shared by both samples is never
called, whatever its fraction.

Test
----
For every position with an A/C/G/T reference and every base b, with tumour
counts ``k_t`` of ``n_t`` and normal counts ``k_n`` of ``n_n`` (A+C+G+T bases,
strands together), the null is that the tumour's fraction of b is the
normal's.  The normal's fraction is known only from its reads (posterior
Beta(k_n + 1/2, n_n - k_n + 1/2)) and two samples differ a little at every
site even without a biological difference (library preparation, run):
between-sample over-dispersion ``rho``.  So under the null

    k_t ~ BetaBinomial(n_t, mean mu = (k_n + 1/2) / (n_n + 1), intra-class correlation rho + 1 / (n_n + 2))

and the p-value is the upper tail P(X >= k_t) (a tumour *gain* of b).  Every
base is tested, the reference base too: a tumour that carries less of an
allele than its normal (towards the reference: 95 % in the tumour, 99.9 % in
the normal) gains the reference base, and is reported as the *loss* of the
normal's allele (INFO ``MNDIR=loss``; ``ALT`` is the allele lost).

Over-dispersion from the pair itself
------------------------------------
With one normal, between-sample variation cannot be learned from controls;
it is estimated from the pair, as deepSNV's and shearwater's pooled
dispersion are: per substitution class (reference base x base, 12 classes;
the reference base's own class for gains of the reference), the site-wise
moment estimates ``((k_t - n_t mu)^2 - n_t mu (1-mu)) / (n_t (n_t-1) mu (1-mu))``
are averaged over the sites of the class after dropping the largest 5 % (real
differences), minus the normal's own posterior share, clipped to
[0, ``max_rho``].  Two runs of one library with no true difference then give
(almost) no calls, because every site's run-to-run wobble is in the null.

Indels: each tumour event against the same event's fragments in the normal
(0 when absent) over the normal's junction depth at the anchor, with one
pooled rho for deletions and one for insertions, estimated the same way over
the events of the pair.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import deepamp._stats as _stats

__all__ = ["MatchedTests", "matched_tests", "null_parameters", "pair_rho", "matched_event_tests", "MAX_RHO",
           "TRIM", "MIN_SITES"]

#: Upper bound of the estimated between-sample over-dispersion.
MAX_RHO = 0.2
#: Share of the largest site-wise estimates left out of the pooled rho (real differences).
TRIM = 0.05
#: Sites a class needs for its own rho; fewer: only the normal's sampling uncertainty.
MIN_SITES = 20


@dataclass(frozen=True)
class MatchedTests:
    """Per (site, base) tests of the tumour against its normal; arrays aligned.

    Attributes
    ----------
    pos : row of the position in the counts
    base : 0..3, the base whose fraction the tumour gained
    alt : 0..3, the VCF ALT: ``base`` for a gain of a non-reference base, else the
        normal's most frequent non-reference base (the allele lost)
    loss : bool, True when the tumour gained the reference base (lost ``alt``)
    alt_count, depth : tumour count of ``alt`` and A+C+G+T depth
    normal_count, normal_depth : the normal's count of ``alt`` and depth
    logp : natural log of the p-value
    rate, rho : the null's mean fraction of ``base`` and its total intra-class correlation
    m : number of tests (sites x bases with tumour reads of the base)
    """

    pos: np.ndarray
    base: np.ndarray
    alt: np.ndarray
    loss: np.ndarray
    alt_count: np.ndarray
    depth: np.ndarray
    normal_count: np.ndarray
    normal_depth: np.ndarray
    logp: np.ndarray
    rate: np.ndarray
    rho: np.ndarray
    m: int

    def __len__(self) -> int:
        return int(self.pos.shape[0])


def pair_rho(k_t: np.ndarray, n_t: np.ndarray, mu: np.ndarray, n_n: np.ndarray, classes: np.ndarray,
             n_classes: int, *, trim: float = TRIM, max_rho: float = MAX_RHO) -> np.ndarray:
    """Between-sample over-dispersion per class, by trimmed site-wise moments (see the module docstring).

    Parameters
    ----------
    k_t, n_t : tumour counts and depths per site
    mu : the null fraction per site (from the normal)
    n_n : the normal's depth per site
    classes : class index per site (-1: not used)
    n_classes : number of classes

    Returns
    -------
    float64 (n_classes,) rho per class (0 for a class with fewer than ``MIN_SITES`` usable sites)
    """
    k_t, n_t, mu, n_n = (np.asarray(a, np.float64) for a in (k_t, n_t, mu, n_n))
    use = (classes >= 0) & (n_t > 1) & (mu > 0) & (mu < 1)
    r = np.zeros(len(k_t))
    v = n_t * mu * (1 - mu)
    r[use] = ((k_t[use] - n_t[use] * mu[use]) ** 2 - v[use]) / (v[use] * (n_t[use] - 1)) - 1.0 / (n_n[use] + 2)
    out = np.zeros(n_classes)
    for c in range(n_classes):
        vals = np.sort(r[use & (classes == c)])
        if vals.size < MIN_SITES:
            continue
        keep = vals[: max(1, int(np.floor(vals.size * (1 - trim))))]
        out[c] = min(max(float(keep.mean()), 0.0), max_rho)
    return out


def _upper_tail(k: np.ndarray, n: np.ndarray, mu: np.ndarray, rho: np.ndarray) -> np.ndarray:
    s = (1.0 - rho) / rho
    return _stats.logsf_betabinom(k, n, mu * s, (1.0 - mu) * s)


def null_parameters(counts_t: np.ndarray, counts_n: np.ndarray, ref_code: np.ndarray, *,
                    testable: np.ndarray | None = None, max_rho: float = MAX_RHO
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(tumour counts (P,4), tumour depth (P,), normal counts (P,4), null fraction mu (P,4), total rho (P,4))."""
    ct = np.asarray(counts_t)[:, :4, :].sum(axis=2).astype(np.int64)      # (P, 4)
    cn = np.asarray(counts_n)[:, :4, :].sum(axis=2).astype(np.int64)
    if ct.shape != cn.shape:
        raise ValueError("tumour and normal counts must cover the same positions")
    ref_code = np.asarray(ref_code, np.int64)
    nt, nn = ct.sum(axis=1), cn.sum(axis=1)
    ok = (ref_code < 4) & (nt > 0) & (nn > 0)
    if testable is not None:
        ok &= np.asarray(testable, bool)
    mu = (cn + 0.5) / (nn[:, None] + 1.0)                                 # (P, 4)
    # class of (site, base): reference base x base (12 substitutions + 4 reference gains)
    cls = np.where(ok[:, None], np.minimum(ref_code, 3)[:, None] * 4 + np.arange(4)[None, :], -1)
    rho_c = pair_rho(ct.ravel(), np.repeat(nt, 4), mu.ravel(), np.repeat(nn, 4), cls.ravel(), 16,
                     max_rho=max_rho)
    rho = np.minimum(np.where(cls >= 0, rho_c[np.maximum(cls, 0)], 0.0) + 1.0 / (nn[:, None] + 2.0), 0.999)
    rho[~ok] = np.nan
    return ct, nt, cn, mu, rho


def matched_tests(counts_t: np.ndarray, counts_n: np.ndarray, ref_code: np.ndarray, *,
                  testable: np.ndarray | None = None, max_rho: float = MAX_RHO) -> MatchedTests:
    """Test every (site, base) of the tumour against the normal (see the module docstring).

    Parameters
    ----------
    counts_t, counts_n : (P, 7, 2) integer counts of the tumour and the normal, same positions
    ref_code : (P,) 0..3 for A/C/G/T, 4 for sites never tested
    testable : optional (P,) bool, sites that may be tested (e.g. depth >= min_cov in both)

    Returns
    -------
    MatchedTests of the (site, base) pairs with tumour reads of the base and a tumour
    fraction above the normal's; ``m`` counts every (site, base) with tumour reads.

    Raises
    ------
    ValueError
        Counts of different shapes.
    """
    ref_code = np.asarray(ref_code, np.int64)
    ct, nt, cn, mu, rho_all = null_parameters(counts_t, counts_n, ref_code, testable=testable, max_rho=max_rho)
    nn = cn.sum(axis=1)
    tested = ~np.isnan(rho_all) & (ct > 0)
    m = int(tested.sum())
    gain = tested & (ct / np.maximum(nt, 1)[:, None] > cn / np.maximum(nn, 1)[:, None])
    pos, base = np.nonzero(gain)
    rho = rho_all[pos, base]
    logp = _upper_tail(ct[pos, base], nt[pos], mu[pos, base], rho) if pos.size else np.zeros(0)
    loss = base == ref_code[pos]
    normal_alt = cn.copy()
    normal_alt[np.arange(len(cn)), np.minimum(ref_code, 3)] = -1          # the normal's most frequent non-ref
    alt = np.where(loss, np.argmax(normal_alt[pos], axis=1) if pos.size else base, base).astype(np.int8)
    return MatchedTests(pos.astype(np.int64), base.astype(np.int8), alt, loss, ct[pos, alt], nt[pos],
                        cn[pos, alt], nn[pos], np.minimum(logp, 0.0), mu[pos, base], rho, m)


def matched_event_tests(k_t: np.ndarray, n_t: np.ndarray, k_n: np.ndarray, n_n: np.ndarray,
                        kind: np.ndarray, *, max_rho: float = MAX_RHO) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indel events of the tumour against the same events in the normal.

    Give every event seen in either sample (rho is pooled over all of them).

    Parameters
    ----------
    k_t, n_t : tumour fragments with the event (0 when only the normal has it) / spanning the junction
    k_n, n_n : the normal's (0 when it has no such event) / the normal's junction depth
    kind : 0 deletion, 1 insertion (one pooled rho each)

    Returns
    -------
    (logp, rate, rho) per event; p = 1 where the tumour fraction is not above the normal's
    """
    k_t, n_t, k_n, n_n = (np.asarray(a, np.int64) for a in (k_t, n_t, k_n, n_n))
    mu = (k_n + 0.5) / (n_n + 1.0)
    cls = np.where((n_t > 0) & (n_n > 0), np.asarray(kind, np.int64), -1)
    rho_c = pair_rho(k_t, n_t, mu, n_n, cls, 2, max_rho=max_rho)
    rho = np.minimum(rho_c[np.maximum(cls, 0)] + 1.0 / (n_n + 2.0), 0.999)
    logp = np.zeros(len(k_t))
    gain = (cls >= 0) & (k_t > 0) & (k_t * (n_n + 1.0) > (k_n + 0.5) * n_t)
    if gain.any():
        logp[gain] = np.minimum(_upper_tail(k_t[gain], n_t[gain], mu[gain], rho[gain]), 0.0)
    return logp, mu, rho
