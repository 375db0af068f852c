"""The context null model of indel calling: Dindel's slippage table, calibrated on the sample.

Polymerase slippage makes indel errors grow with the length of the repeat an
event belongs to.  Dindel's Illumina homopolymer indel-error model (Albers
et al. 2011, Genome Res 21:961, PMID 20980555) gives that shape: the Phred
values ``DINDEL_PHRED`` for repeat lengths 1..18 are what ``lofreq indelqual
--dindel`` writes.  Its *level* was estimated on whole-genome libraries;
amplicon libraries go through tens of PCR cycles whose polymerase slips in
the same places, and real deep-amplicon data show 1-bp indel errors at
1e-4..3e-3 per site, tens of times Dindel's level (e.g. the PIK3CA UMI
amplicons of ``benchmarks/realdata.py``).  So the level is learned from the
sample itself, robustly, while the shape stays Dindel's:

* **Sites.**  Every junction p -> p+1 of the panel where a homopolymer run
  starts at p+1 is one site per kind: the 1-bp deletion of that base and the
  1-bp insertion duplicating it (left-normalised, every slip in the run lands
  here), with the run length h, the fragments n spanning the junction and the
  fragments k carrying the event.
* **Fit, per kind (deletion, insertion).**  ``k ~ BetaBinomial(n, mu_i, rho)``
  with ``mu_i = dindel(h_i) * exp(a + b * (h_i - 1))``: the level a and the
  extra growth per repeat unit b (both >= 0, so never below Dindel; h capped
  at the longest run among the sites, no extrapolation) are the Poisson
  maximum-likelihood fit of the counts, rho (0..``max_rho``) the method-of-
  moments over-dispersion of the sites around it.  Sites that are outliers under the fit
  (upper tail below ``outlier_alpha`` / sites, Bonferroni, each site judged
  against the fit of the others) are real-variant candidates: they are left
  out and the fit repeated, so a real indel does not raise the level it is
  tested against.  Fewer than ``min_sites`` sites (a
  tiny panel): F = 1, rho = 0, Dindel as is, and the fit says so.
* **Test.**  An event of that kind with repeat length h is tested against
  ``BetaBinomial(n, min(mu(h), 0.5), rho)`` (INFO ``IDRATE`` = the mean).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

#: Phred indel-error qualities by homopolymer length 1..18 (Dindel; as written by
#: ``lofreq indelqual --dindel``, Albers et al. 2011).
DINDEL_PHRED = (44, 44, 44, 43, 42, 36, 34, 31, 28, 27, 26, 25, 24, 23, 23, 22, 22, 21)

KINDS = ("deletion", "insertion")


def dindel_rate(repeat_length: np.ndarray | int) -> np.ndarray:
    """Dindel's per-read indel error rate for repeat lengths (>= 1; > 18 use 18)."""
    h = np.clip(np.asarray(repeat_length, dtype=np.int64), 1, len(DINDEL_PHRED))
    return 10.0 ** (-np.asarray(DINDEL_PHRED, dtype=np.float64)[h - 1] / 10.0)


@dataclass(frozen=True)
class CalibrationParams:
    """Options of the per-sample calibration."""

    min_site_depth: int = 100      # sites with fewer spanning fragments are not used
    min_sites: int = 20            # per kind; fewer -> Dindel as is
    min_level_sites: int = 10      # repeat lengths with fewer sites do not inform the fit
    outlier_alpha: float = 1e-3    # Bonferroni level of the real-variant exclusion
    max_rho: float = 0.2
    iterations: int = 10


@dataclass(frozen=True)
class KindFit:
    """Calibration of one kind of indel: rate(h) = dindel(h) * exp(a + b * (min(h, h_max) - 1))."""

    a: float               # level over Dindel's (>= 0: never below Dindel)
    b: float               # extra growth per repeat unit (>= 0)
    h_max: int             # longest repeat among the sites (no extrapolation beyond it)
    rho: float             # beta-binomial over-dispersion
    sites: int             # sites used in the final fit
    excluded: int          # outlier sites left out (real-variant candidates)

    @property
    def factor(self) -> float:
        """The sample's level over Dindel's at repeat length 1."""
        return math.exp(self.a)

    def rate(self, repeat_length: np.ndarray | int) -> np.ndarray:
        """Mean per-fragment error rate for events of this kind and repeat length."""
        h = np.asarray(repeat_length, dtype=np.int64)
        x = np.minimum(np.maximum(h, 1), self.h_max) - 1
        return np.minimum(dindel_rate(h) * np.exp(self.a + self.b * x), 0.5)


DINDEL_AS_IS = KindFit(0.0, 0.0, 1, 0.0, 0, 0)


def _logsf(k: np.ndarray, n: np.ndarray, mu: np.ndarray, rho: np.ndarray | float) -> np.ndarray:
    """log P(X >= k) of BetaBinomial(n, mu, rho) per element (binomial where rho <= 0); rho
    is one value or one per element."""
    import deepamp._stats as _stats

    k, n, mu = np.asarray(k, np.int64), np.asarray(n, np.int64), np.asarray(mu, np.float64)
    rho = np.broadcast_to(np.asarray(rho, np.float64), mu.shape)
    out = np.empty(mu.shape)
    binom = rho <= 0
    if binom.any():
        out[binom] = _stats.logsf_binom(k[binom], n[binom], mu[binom])
    if not binom.all():
        bb = ~binom
        s = (1.0 - rho[bb]) / rho[bb]
        out[bb] = _stats.logsf_betabinom(k[bb], n[bb], mu[bb] * s, (1.0 - mu[bb]) * s)
    return out


def _poisson_tilt(k: np.ndarray, n: np.ndarray, d: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """Maximum-likelihood (a, b) >= 0 of k ~ Poisson(n d exp(a + b x)) (projected Newton)."""
    if k.sum() == 0:
        return 0.0, 0.0
    off = n * d
    a, b = max(0.0, math.log(k.sum() / off.sum())), 0.0
    for _ in range(50):
        lam = off * np.exp(a + b * x)
        g = np.array([(k - lam).sum(), ((k - lam) * x).sum()])
        H = np.array([[lam.sum(), (lam * x).sum()], [(lam * x).sum(), (lam * x * x).sum()]])
        try:
            step = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            step = np.array([g[0] / max(H[0, 0], 1e-300), 0.0])
        a_new, b_new = max(0.0, a + step[0]), max(0.0, b + step[1])
        if b_new == 0.0:     # on the boundary: the level alone
            lam0 = off * np.exp(b_new * x)
            a_new = max(0.0, math.log(max(k.sum(), 1e-300) / lam0.sum()))
        done = abs(a_new - a) < 1e-9 and abs(b_new - b) < 1e-9
        a, b = a_new, min(b_new, 5.0)
        if done:
            break
    return a, b


def _fit(k: np.ndarray, n: np.ndarray, d: np.ndarray, x: np.ndarray, max_rho: float):
    """(a, b), rates p and chi-square terms of one set of sites."""
    a, b = _poisson_tilt(k, n, d, x)
    p = np.minimum(d * np.exp(a + b * x), 0.5)
    chi = (k - n * p) ** 2 / (n * p * (1.0 - p))
    return a, b, p, chi


def fit_kind(k: np.ndarray, n: np.ndarray, h: np.ndarray, params: CalibrationParams) -> KindFit:
    """Fit the level, the growth with repeat length and rho of one kind from its
    sites (counts k, depths n, run lengths h).

    Repeat lengths with fewer than ``min_level_sites`` sites do not inform the
    level and growth (one site must not set the growth that explains it);
    their events use the growth up to the longest informative length.
    Outliers are found leave-one-out for the over-dispersion: each site is
    tested against the rho of all the other kept sites, so one real variant
    cannot inflate the spread it is judged by; flagged sites are dropped and
    the fit repeated until none is flagged.
    """
    k, n = np.asarray(k, np.float64), np.asarray(n, np.float64)
    use = n >= params.min_site_depth
    h = np.asarray(h, np.int64)[use]
    k, n, d = k[use], n[use], dindel_rate(h)
    if len(k) < params.min_sites:
        return dataclasses.replace(DINDEL_AS_IS, sites=int(len(k)))
    levels, per_level = np.unique(h, return_counts=True)
    informs = np.isin(h, levels[per_level >= params.min_level_sites])
    if informs.sum() < params.min_sites:
        return dataclasses.replace(DINDEL_AS_IS, sites=int(len(k)))
    h_max = int(min(h[informs].max(), len(DINDEL_PHRED)))
    x = (np.minimum(h, h_max) - 1).astype(np.float64)
    keep = np.ones(len(k), bool)
    limit = math.log(params.outlier_alpha / len(k))
    for _ in range(params.iterations):
        fit_on = keep & informs
        a, b, _, _ = _fit(k[fit_on], n[fit_on], d[fit_on], x[fit_on], params.max_rho)
        kk, nn = k[keep], n[keep]
        p = np.minimum(d[keep] * np.exp(a + b * x[keep]), 0.5)
        chi = (kk - nn * p) ** 2 / (nn * p * (1.0 - p))
        rho_loo = np.clip((chi.sum() - chi - (len(kk) - 1)) / ((nn - 1.0).sum() - (nn - 1.0)), 0.0, params.max_rho)
        logp = _logsf(kk.astype(np.int64), nn.astype(np.int64), p, rho_loo)
        flagged = logp < limit
        if not flagged.any() or keep.sum() - flagged.sum() < params.min_sites:
            break
        keep[np.flatnonzero(keep)[flagged]] = False
    fit_on = keep & informs
    a, b, _, _ = _fit(k[fit_on], n[fit_on], d[fit_on], x[fit_on], params.max_rho)
    p = np.minimum(d[keep] * np.exp(a + b * x[keep]), 0.5)
    chi = (k[keep] - n[keep] * p) ** 2 / (n[keep] * p * (1.0 - p))
    rho = min(params.max_rho, max(0.0, float((chi.sum() - keep.sum()) / (n[keep] - 1.0).sum())))
    return KindFit(a, b, h_max, rho, int(keep.sum()), int((~keep).sum()))


def run_sites(contig: np.ndarray, pos: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows p whose next row p+1 (same contig, next position) starts a homopolymer
    run of an A/C/G/T base, and that run's length (within the counted rows)."""
    contig, pos, ref = np.asarray(contig).astype(str), np.asarray(pos), np.asarray(ref).astype(str)
    n = len(pos)
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    adjacent = (contig[1:] == contig[:-1]) & (pos[1:] == pos[:-1] + 1)
    same_base = adjacent & (ref[1:] == ref[:-1])
    # run length starting at each row, within adjacent rows of the same base:
    # rows between block starts form blocks; run = rows from here to the block's last
    block_start = np.flatnonzero(np.r_[True, ~same_base])
    block_last = np.r_[block_start[1:] - 1, n - 1]
    run = block_last[np.cumsum(np.r_[True, ~same_base]) - 1] - np.arange(n) + 1
    # row p is a site when p+1 starts a run: p+1 is not preceded by the same base (that is row p)
    starts = np.flatnonzero(adjacent & (ref[1:] != ref[:-1]) & np.isin(ref[1:], list("ACGT")))
    return starts, run[starts + 1]


def calibrate(table, counts, params: CalibrationParams | None = None) -> dict[str, KindFit]:
    """Fit the deletion and insertion levels of a sample.

    ``table`` is the sample's :class:`deepamp.calling.indels.IndelTable` (normalised
    events with junction depths), ``counts`` its CountResult.
    """

    params = params or CalibrationParams()
    rows, h = run_sites(counts.contig, counts.pos, counts.ref)
    n = counts.junction_depth().sum(axis=1)[rows]
    base = np.asarray(counts.ref).astype(str)[rows + 1] if len(rows) else np.zeros(0, str)
    # the event of each site: the 1-bp deletion / insertion of the run's base at that junction
    t_row, t_count = np.asarray(table.row, np.int64), np.asarray(table.count.sum(axis=1), np.int64)
    at = np.minimum(np.searchsorted(rows, t_row), max(len(rows) - 1, 0))
    on_site = (rows[at] == t_row) if len(rows) else np.zeros(len(t_row), bool)
    fits = {}
    for kind, length in (("deletion", -1), ("insertion", 1)):
        sel = np.flatnonzero(on_site & (np.asarray(table.length) == length))
        sel = sel[np.asarray(table.sequence)[sel].astype(str) == base[at[sel]]]
        k = np.zeros(len(rows), np.int64)
        k[at[sel]] = t_count[sel]
        fits[kind] = fit_kind(k, n, h, params)
    return fits


def describe(fits: dict[str, KindFit]) -> str:
    """One header/summary line of the calibration."""
    return ",".join(f"{kind}:F={f.factor:.3g};growth={math.exp(f.b):.3g}/unit;rho={f.rho:.3g};"
                    f"sites={f.sites};excluded={f.excluded}" for kind, f in fits.items())
