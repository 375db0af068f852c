"""What a run could have seen: the limit of detection of every tested site, and per amplicon.

:meth:`deepamp.CallSet.detection_limits` asks, for every tested (site, alt)
of the sample, which VAF the run's own test -- its model, null parameters,
testing family, number of tests and significance level -- would call with
80 % probability at the site's depth (:mod:`deepamp.models.detection_limit`).
A site's limit is the largest of its three alts' (any substitution at that VAF
is detected with at least that probability).  Negative results need it: "no
G1202R" means "none at 0.12 % or more" only where the limit says so.

SNVs only; indels have their own null per event and are not summarised here.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from deepamp.counting.result import CountResult
from deepamp.models.detection_limit import POWER, detection_limits, mean_error_rate

__all__ = ["DetectionLimits", "RegionLimits", "site_detection_limits"]


@dataclass(frozen=True)
class RegionLimits:
    """Summary of one counted region (amplicon): sites, tested sites and their limits (VAF)."""

    region: str
    contig: str
    start: int          # 0-based, half-open
    end: int
    sites: int
    tested: int
    median: float       # NaN when no site was tested
    p90: float
    worst: float


@dataclass(frozen=True)
class DetectionLimits:
    """Limits of detection of a called sample.

    Attributes
    ----------
    counts : the sample's CountResult (positions are its rows)
    lod : float (P, 4), the VAF each alt base would be called at with probability ``power``
        (NaN for the reference base, untested sites and sites where no VAF reaches it)
    site : float (P,), the largest of a site's three alts' limits
    model : "quality", "background" or "matched"
    power, alpha : the detection probability and the run's significance level
    """

    counts: CountResult
    lod: np.ndarray
    site: np.ndarray
    model: str
    power: float
    alpha: float

    def regions(self) -> list[RegionLimits]:
        """One summary per counted region, in the counts' order."""
        out = []
        contig, pos = self.counts.contig.astype(str), self.counts.pos
        for r in self.counts.regions:
            v = self.site[(contig == r.contig) & (pos >= r.start) & (pos < r.end)]
            n = len(v)
            ok = v[np.isfinite(v)]
            q = (np.percentile(ok, [50, 90]) if ok.size else [math.nan, math.nan])
            out.append(RegionLimits(r.name or f"{r.contig}:{r.start + 1}-{r.end}", r.contig, r.start, r.end, n,
                                    int(ok.size), float(q[0]), float(q[1]),
                                    float(ok.max()) if ok.size else math.nan))
        return out

    def write_tsv(self, path: str | os.PathLike[str]) -> None:
        """The per-region summary as TSV (limits as VAF, 6 decimals; empty when nothing was tested)."""
        from deepamp.io.outputs import output_text

        def f(x: float) -> str:
            return "" if math.isnan(x) else f"{x:.6f}"

        def lines():
            yield (f"# limit of detection: the VAF called with probability {self.power:g} at the site's depth "
                   f"by the {self.model} model at alpha {self.alpha:g} after correction; a site's limit is its "
                   "worst alt's\n")
            yield "region\tcontig\tstart\tend\tsites\ttested\tmedian_lod\tp90_lod\tworst_lod\n"
            for r in self.regions():
                yield (f"{r.region}\t{r.contig}\t{r.start}\t{r.end}\t{r.sites}\t{r.tested}\t{f(r.median)}\t"
                       f"{f(r.p90)}\t{f(r.worst)}\n")

        output_text(path, lines())


def _null(callset) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    """(model, depth (P,), rate (P,4), rho (P,4)) of the run's SNV null at every position."""
    counts, opts = callset.counts, callset.options
    acgt = counts.counts[:, :4, :].astype(np.int64)
    depth = acgt.sum(axis=(1, 2))
    P = len(depth)
    ok = (counts.ref_code < 4) & (counts.depth >= max(opts.min_cov, 1))     # as the SNV tests
    if callset.normal is not None:
        from deepamp.models.matched_normal import null_parameters

        min_cov = max(opts.min_cov, 1)
        _, nt, _, mu, rho = null_parameters(counts.counts, callset.normal.counts, counts.ref_code,
                                            testable=ok & (callset.normal.depth >= min_cov))
        return "matched", nt, mu, rho
    if callset.null_background is not None:
        bg = callset.null_background
        rf, rr, disp = bg.lookup(counts.contig.astype(str), counts.pos, counts.ref.astype(str))
        d_f, d_r = acgt[:, :, 0].sum(axis=1), acgt[:, :, 1].sum(axis=1)
        rate = (d_f[:, None] * rf + d_r[:, None] * rr) / np.maximum(depth, 1)[:, None]
        rho = np.where(ok[:, None], disp, np.nan)
        return "background", depth, rate, rho
    if counts.qual_hist is not None:
        r = mean_error_rate(counts.qual_hist)
    else:
        r = np.full(P, float(opts.base_error_rate or math.nan))
    rho = np.where(ok[:, None], 0.0, np.nan) * np.ones((1, 4))
    return "quality", depth, np.repeat(r[:, None], 4, axis=1), rho


def _family_tests(callset) -> np.ndarray:
    """Tests m of the family each (site, alt) belongs to, as the run corrected it (P, 4)."""
    from deepamp.models.multiple_testing import METHODS

    counts, opts = callset.counts, callset.options
    m = np.full((len(counts.pos), 4), max(callset.tests.get("snv", 1), 1), np.int64)
    if opts.hotspots:
        from deepamp.calling.hotspots import FAMILIES, hotspot_mask, load_hotspots

        hotspots = load_hotspots(None if opts.hotspots == "shipped" else opts.hotspots)

        for name in FAMILIES:
            if name in callset.tests:
                mask = hotspot_mask(counts.contig, counts.pos, counts.ref, hotspots, family=name)
                m[mask] = max(callset.tests[name], 1)
    if METHODS.get(opts.mtc) == "none":
        m[:] = 1
    return m


def site_detection_limits(callset, power: float = POWER) -> DetectionLimits:
    """Limits of detection of every tested SNV of ``callset`` (see the module docstring).

    For Benjamini-Hochberg the bound of the first rank (alpha / m) is used, so
    the limits are what the run is sure to reach.
    """
    if not 0 < power < 1:
        raise ValueError("power must be in (0, 1)")
    counts, opts = callset.counts, callset.options
    model, depth, rate, rho = _null(callset)
    m = _family_tests(callset)
    lod = np.full(rate.shape, np.nan)
    tested = np.isfinite(rho) & np.isfinite(rate) & (depth > 0)[:, None]
    tested[np.arange(len(depth)), np.minimum(counts.ref_code, 3)] = False
    tested &= (counts.ref_code < 4)[:, None]
    for mi in np.unique(m[tested]):
        sel = tested & (m == mi)
        pos, alt = np.nonzero(sel)
        lod[pos, alt] = detection_limits(depth[pos], rate[pos, alt], rho[pos, alt], m=int(mi), alpha=opts.alpha,
                                         power=power)
    site = np.max(np.where(tested, lod, -np.inf), axis=1)     # an unreachable alt (NaN) makes the site NaN
    site[np.isneginf(site)] = np.nan
    return DetectionLimits(counts, lod, site, model, power, opts.alpha)
