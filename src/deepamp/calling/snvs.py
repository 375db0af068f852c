"""Low-frequency SNV calling from counts: test, correct, build VCF records.

The default null is LoFreq's quality-aware Poisson-binomial (see
:mod:`deepamp.models.quality`); significance is ``p * m < alpha`` with LoFreq's dynamic
Bonferroni factor ``m`` (3 per tested column that shows any alt base), or
Benjamini-Hochberg, or no correction.  QUAL is the Phred-scaled *uncorrected*
p-value, as in LoFreq.  Works on counts from any source (``CountResult``),
so the model can run on counts that did not come from a BAM.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from deepamp.models import quality as model
from deepamp.counting.bam import CountResult
from deepamp.models.strand_bias import strand_bias_phred
from deepamp.io.vcf import VcfRecord

BASES = "ACGT"
MTC_METHODS = ("bonferroni", "fdr", "none")


@dataclass(frozen=True)
class CallParams:
    """Calling options (the counting options live in :func:`deepamp.counting.bam.count`).

    Attributes
    ----------
    min_cov : sites with fewer counted bases are not tested (LoFreq ``-C``)
    alpha : significance level after correction (LoFreq ``-a``)
    mtc : "bonferroni" (LoFreq's default), "fdr" (Benjamini-Hochberg) or "none"
    bonf : fixed Bonferroni factor; None = dynamic, as LoFreq ``-b dynamic``
    """

    min_cov: int = 1
    alpha: float = 0.01
    mtc: str = "bonferroni"
    bonf: int | None = None

    def __post_init__(self) -> None:
        if self.mtc not in MTC_METHODS:
            raise ValueError(f"mtc must be one of {MTC_METHODS}, not {self.mtc!r}")
        if not 0 < self.alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], not {self.alpha}")
        if self.min_cov < 0:
            raise ValueError("min_cov must be >= 0")
        if self.bonf is not None and self.bonf < 1:
            raise ValueError("bonf must be >= 1")


@dataclass
class Variant:
    """One tested (site, alt) with its evidence; ``row`` indexes the CountResult."""

    contig: str
    pos: int            # 0-based
    ref: str
    alt: str
    row: int
    depth: int
    alt_count: int
    dp4: tuple[int, int, int, int]
    logp: float
    logp_adj: float
    model: str = "quality"
    family: str = "panel"
    filters: list[str] = field(default_factory=list)
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def af(self) -> float:
        """Raw allele frequency alt / DP."""
        return self.alt_count / self.depth if self.depth else 0.0

    @property
    def qual(self) -> float:
        """Phred of the uncorrected p-value (LoFreq's QUAL), capped at model.PHRED_CAP."""
        return float(model.phred(np.array([self.logp]))[0])

    def to_record(self) -> VcfRecord:
        """The VCF record with LoFreq's INFO fields first, then deepamp's."""
        info: dict[str, object] = {
            "DP": self.depth,
            "AF": round(self.af, 6),
            "SB": strand_bias_phred(*self.dp4),
            "DP4": self.dp4,
            "MODEL": self.model,
            "FAMILY": self.family,
            "PADJ": float(f"{math.exp(self.logp_adj):.4g}") if self.logp_adj > -700 else 0.0,
        }
        info.update(self.extra)
        qual = round(self.qual, 2)
        return VcfRecord(self.contig, self.pos + 1, self.ref, self.alt, qual, list(self.filters), info)


def adjust(logp: np.ndarray, m: int, mtc: str) -> np.ndarray:
    """Adjusted log p-values for ``mtc`` ("bonferroni", "fdr", "none")."""
    if mtc == "none" or len(logp) == 0:
        return np.asarray(logp, dtype=np.float64).copy()
    m = max(int(m), len(logp), 1)
    return model.bonferroni(logp, m) if mtc == "bonferroni" else model.benjamini_hochberg(logp, m)


def run_site_tests(counts: CountResult, params: CallParams) -> model.SiteTests:
    """Quality-model tests of every (site, alt) with depth >= ``min_cov``.

    Sites below the coverage threshold get reference code 4 (untestable) so
    they neither produce tests nor add to the multiple-testing burden.
    """
    if counts.qual_hist is None:
        raise ValueError("quality-model calling needs counts made with qual_hist=True")
    ref_code = counts.ref_code.copy()
    ref_code[counts.depth < max(params.min_cov, 1)] = 4
    return model.quality_tests(counts.counts, counts.qual_hist, ref_code)


def site_stats(counts: CountResult, params: CallParams) -> dict[str, object]:
    """What happened to every position of the regions: tested for SNVs or why not.

    ``non_acgt_ref`` positions (reference N or an IUPAC code such as Y) are
    counted but never tested, since no base is "the reference" there;
    ``non_acgt_ref_positions`` lists the first 10 (1-based ``contig:pos``)
    so the user sees them.  ``no_coverage`` / ``below_min_cov`` are A/C/G/T
    positions with depth 0 / below ``min_cov``.
    """
    depth = counts.depth
    acgt = counts.ref_code < 4
    covered = depth >= max(params.min_cov, 1)
    bad = np.flatnonzero(~acgt)
    return {"positions": int(len(depth)), "tested": int((acgt & covered).sum()),
            "non_acgt_ref": int(len(bad)),
            "no_coverage": int((acgt & (depth == 0)).sum()),
            "below_min_cov": int((acgt & (depth > 0) & ~covered).sum()),
            "non_acgt_ref_positions": [f"{counts.contig[i]}:{int(counts.pos[i]) + 1}({counts.ref[i]})"
                                       for i in bad[:10]]}


def variants_from_tests(counts: CountResult, tests: model.SiteTests, logp_adj: np.ndarray,
                        alpha: float, *, model_name: str = "quality", family: str = "panel",
                        keep_all: bool = False) -> list[Variant]:
    """Variants for tests with adjusted p < alpha (all tests with ``keep_all``)."""
    log_alpha = math.log(alpha)
    out = []
    for i in range(len(tests)):
        if not keep_all and not logp_adj[i] < log_alpha:
            continue
        row, alt = int(tests.pos[i]), int(tests.alt[i])
        ref = int(counts.ref_code[row])
        c = counts.counts[row]
        dp4 = (int(c[ref, 0]), int(c[ref, 1]), int(c[alt, 0]), int(c[alt, 1]))
        out.append(Variant(str(counts.contig[row]), int(counts.pos[row]), BASES[ref], BASES[alt], row,
                           int(tests.depth[i]), int(tests.alt_count[i]), dp4, float(tests.logp[i]),
                           float(logp_adj[i]), model_name, family))
    return out


def _background_site_tests(counts: CountResult, params: CallParams, background) -> tuple[model.SiteTests, np.ndarray]:
    """Background-model tests and the per-test depth-weighted background rate."""
    rf, rr, disp = background.lookup(counts.contig.astype(str), counts.pos, counts.ref.astype(str))
    ref_code = counts.ref_code.copy()
    ref_code[counts.depth < max(params.min_cov, 1)] = 4
    tests = model.background_tests(counts.counts, ref_code, rf, rr, disp)
    c = counts.counts[tests.pos, :4, :].astype(np.float64)
    d_f, d_r = c[:, :, 0].sum(axis=1), c[:, :, 1].sum(axis=1)
    rate = (d_f * rf[tests.pos, tests.alt] + d_r * rr[tests.pos, tests.alt]) / np.maximum(d_f + d_r, 1)
    return tests, rate


def call_snvs(counts: CountResult, params: CallParams | None = None, *, background=None,
              hotspots=None) -> tuple[list[Variant], int]:
    """Call SNVs from counts with the quality model (default) or a learned background.

    Parameters
    ----------
    background : deepamp.models.background.Background, optional
        Test every (site, alt) against its own background rate and dispersion
        (INFO MODEL=background, BGRATE); raises ReferenceFileError if it was
        learned on another panel or reference.
    hotspots : list of deepamp.calling.hotspots.Hotspot, optional
        Hotspot alleles form their own family (INFO FAMILY=hotspot) corrected
        for the number of hotspot alleles on the panel; the panel family's
        burden loses those tests.

    Returns
    -------
    (variants sorted by position, number of tests m used for the panel family)
    """
    params = params or CallParams()
    if background is not None:
        tests, bgrate = _background_site_tests(counts, params, background)
        model_name = "background"
    else:
        tests, bgrate = run_site_tests(counts, params), None
        model_name = "quality"
    m = params.bonf if params.bonf is not None else tests.m
    if not hotspots:
        logp_adj = adjust(tests.logp, m, params.mtc)
        variants = variants_from_tests(counts, tests, logp_adj, params.alpha, model_name=model_name)
        fam = np.zeros(len(tests), bool)
    else:
        from deepamp.calling.hotspots import hotspot_mask

        mask = hotspot_mask(counts.contig, counts.pos, counts.ref, hotspots)
        testable = (counts.ref_code < 4) & (counts.depth >= max(params.min_cov, 1))
        mask &= testable[:, None]
        fam = mask[tests.pos, tests.alt] if len(tests) else np.zeros(0, bool)
        m_hot = max(int(mask.sum()), int(fam.sum()), 1)
        m = max(int(m) - int(fam.sum()), int((~fam).sum()), 1)
        logp_adj = np.empty(len(tests))
        logp_adj[~fam] = adjust(tests.logp[~fam], m, params.mtc)
        logp_adj[fam] = adjust(tests.logp[fam], m_hot, params.mtc)
        log_alpha = math.log(params.alpha)
        keep = logp_adj < log_alpha
        variants = variants_from_tests(counts, tests, logp_adj, params.alpha, model_name=model_name,
                                       keep_all=True)
        variants = [v for v, k in zip(variants, keep) if k]
        for v, f in zip(variants, fam[keep]):
            if f:
                v.family = "hotspot"
    if bgrate is not None:
        sig = np.flatnonzero(logp_adj < math.log(params.alpha))
        for v, i in zip(variants, sig):
            v.extra["BGRATE"] = float(f"{bgrate[i]:.4g}")
    variants.sort(key=lambda v: (v.row, v.alt))
    return variants, int(m)
