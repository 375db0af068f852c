"""Low-frequency SNV calling from counts: test every (site, alt), correct, keep the significant.

The default null is LoFreq's quality-aware Poisson-binomial (see
:mod:`deepamp.models.quality`); with a background learned from controls each
(site, alt) is tested against its own rate (:mod:`deepamp.models.background`).
Significance is ``p * m < alpha`` with LoFreq's dynamic Bonferroni factor
``m`` (3 per tested column that shows any alt base), or Benjamini-Hochberg,
or no correction.  QUAL is the Phred-scaled *uncorrected* p-value, as in
LoFreq.  Works on counts from any source (:class:`deepamp.CountResult`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from deepamp.calling.callset import Call
from deepamp.counting.result import CountResult
from deepamp.errors import OptionError
from deepamp.models.multiple_testing import adjust, effective_tests
from deepamp.models.quality import SiteTests, quality_tests
from deepamp.options import CallOptions

BASES = "ACGT"

__all__ = ["SnvCalls", "call_snvs", "site_stats", "testable_ref_code"]


class SnvCalls(NamedTuple):
    """Result of :func:`call_snvs`."""

    calls: list[Call]               # significant SNVs sorted by position, alt
    tests: int                      # the panel family's number of tests m
    family_tests: dict[str, int]    # tests of each hotspot family on the panel ("hotspot", "bypass")


def testable_ref_code(counts: CountResult, options: CallOptions) -> np.ndarray:
    """Reference codes with sites below ``min_cov`` set to 4 (untestable: no tests, no burden)."""
    ref_code = counts.ref_code.copy()
    ref_code[counts.depth < max(options.min_cov, 1)] = 4
    return ref_code


def site_stats(counts: CountResult, options: CallOptions) -> dict[str, object]:
    """What happened to every position of the regions: tested for SNVs or why not.

    ``non_acgt_ref`` positions (reference N or an IUPAC code such as Y) are
    counted but never tested, since no base is "the reference" there;
    ``non_acgt_ref_positions`` lists the first 10 (1-based ``contig:pos``)
    so the user sees them.  ``no_coverage`` / ``below_min_cov`` are A/C/G/T
    positions with depth 0 / below ``min_cov``.
    """
    depth = counts.depth
    acgt = counts.ref_code < 4
    covered = depth >= max(options.min_cov, 1)
    bad = np.flatnonzero(~acgt)
    return {"positions": int(len(depth)), "tested": int((acgt & covered).sum()),
            "non_acgt_ref": int(len(bad)),
            "no_coverage": int((acgt & (depth == 0)).sum()),
            "below_min_cov": int((acgt & (depth > 0) & ~covered).sum()),
            "non_acgt_ref_positions": [f"{counts.contig[i]}:{int(counts.pos[i]) + 1}({counts.ref[i]})"
                                       for i in bad[:10]]}


def _quality_site_tests(counts: CountResult, options: CallOptions) -> SiteTests:
    if counts.qual_hist is None and options.base_error_rate is None:
        raise OptionError("the quality model needs base-quality histograms (qual_hist) with the counts, "
                          "or a per-base error rate (base_error_rate); or test against a background")
    return quality_tests(counts.counts, counts.qual_hist, testable_ref_code(counts, options),
                         error_rate=options.base_error_rate if counts.qual_hist is None else None)


def _background_site_tests(counts: CountResult, options: CallOptions, background) -> tuple[SiteTests, np.ndarray]:
    """Background-model tests and the per-test depth-weighted background rate."""
    from deepamp.models.background import background_tests

    rf, rr, disp = background.lookup(counts.contig.astype(str), counts.pos, counts.ref.astype(str))
    tests = background_tests(counts.counts, testable_ref_code(counts, options), rf, rr, disp)
    c = counts.counts[tests.pos, :4, :].astype(np.float64)
    d_f, d_r = c[:, :, 0].sum(axis=1), c[:, :, 1].sum(axis=1)
    rate = (d_f * rf[tests.pos, tests.alt] + d_r * rr[tests.pos, tests.alt]) / np.maximum(d_f + d_r, 1)
    return tests, rate


def _matched_site_tests(counts: CountResult, options: CallOptions, normal: CountResult):
    """Matched-normal tests (:mod:`deepamp.models.matched_normal`) on the positions of both samples."""
    from deepamp.errors import ReferenceFileError
    from deepamp.models.matched_normal import matched_tests

    if len(normal.pos) != len(counts.pos) or not (np.array_equal(normal.pos, counts.pos)
                                                  and np.array_equal(normal.contig, counts.contig)):
        raise ReferenceFileError(f"{normal.source.get('bam', 'the normal')}: the matched normal was counted on "
                                 "other positions than the tumour; count both over the same panel")
    if not np.array_equal(normal.ref, counts.ref):
        raise ReferenceFileError(f"{normal.source.get('bam', 'the normal')}: the matched normal was counted "
                                 "against another reference than the tumour")
    min_cov = max(options.min_cov, 1)
    return matched_tests(counts.counts, normal.counts, counts.ref_code,
                         testable=(counts.depth >= min_cov) & (normal.depth >= min_cov))


def call_snvs(counts: CountResult, options: CallOptions | None = None, *, background=None,
              hotspots=None, normal: CountResult | None = None) -> SnvCalls:
    """Call SNVs from counts with the quality model (default) or a learned background.

    Parameters
    ----------
    counts : the sample's counts
    options : significance, multiple-testing method, ``min_cov``, ``bonf``
    background : deepamp.models.background.Background, optional
        Test every (site, alt) against its own background rate and dispersion
        (MODEL=background, INFO BGRATE); raises ReferenceFileError if it was
        learned on another panel or reference.
    normal : the matched normal's CountResult (same positions), optional
        Test every (site, base) against the normal's own fraction
        (MODEL=matched; INFO NAF, NDP, MNDIR); exclusive with ``background``.
    hotspots : list of deepamp.calling.hotspots.Hotspot, optional
        Known alleles form their own testing families by their ``family``
        (``hotspot``: ALK/ROS1 resistance; ``bypass``: off-target genes), each
        corrected for its own number of alleles on the panel (INFO FAMILY);
        the panel family's burden loses those tests.

    Returns
    -------
    SnvCalls (calls sorted by position, panel-family tests, tests per hotspot family on the panel)

    Raises
    ------
    OptionError
        Quality-model calling on counts without quality histograms and without ``base_error_rate``.
    """
    options = options or CallOptions()
    matched = None
    if normal is not None:
        tests = matched = _matched_site_tests(counts, options, normal)
        rate, model_name = tests.rate, "matched"
    elif background is not None:
        tests, rate = _background_site_tests(counts, options, background)
        model_name = "background"
    else:
        tests, rate = _quality_site_tests(counts, options), None
        model_name = "quality"
    m = options.bonf if options.bonf is not None else tests.m
    family = np.full(len(tests), "panel", dtype=object)
    family_tests: dict[str, int] = {}
    if hotspots:
        from deepamp.calling.hotspots import FAMILIES, hotspot_mask

        testable = ((counts.ref_code < 4) & (counts.depth >= max(options.min_cov, 1)))[:, None]
        for name in FAMILIES:
            mask = hotspot_mask(counts.contig, counts.pos, counts.ref, hotspots, family=name) & testable
            if not mask.any():
                continue
            sel = mask[tests.pos, tests.alt] & (family == "panel") if len(tests) else np.zeros(0, bool)
            if matched is not None:
                sel &= ~matched.loss
            family[sel] = name
            family_tests[name] = max(int(mask.sum()), int(sel.sum()), 1)
        in_families = family != "panel"
        m = max(int(m) - int(in_families.sum()), int((~in_families).sum()), 1)
    logp_adj = np.empty(len(tests))
    panel = family == "panel"
    m = effective_tests(m, int(panel.sum()), options.mtc)
    logp_adj[panel] = adjust(tests.logp[panel], m, options.mtc)
    for name, m_family in family_tests.items():
        sel = family == name
        family_tests[name] = effective_tests(m_family, int(sel.sum()), options.mtc)
        logp_adj[sel] = adjust(tests.logp[sel], family_tests[name], options.mtc)
    keep = np.flatnonzero(logp_adj < math.log(options.alpha))
    ref_code = counts.ref_code
    out = []
    for i in keep.tolist():
        row, alt = int(tests.pos[i]), int(tests.alt[i])
        ref = int(ref_code[row])
        c = counts.counts[row]
        call = Call(str(counts.contig[row]), int(counts.pos[row]) + 1, BASES[ref], BASES[alt],
                    int(tests.depth[i]), int(tests.alt_count[i]),
                    (int(c[ref, 0]), int(c[ref, 1]), int(c[alt, 0]), int(c[alt, 1])),
                    float(tests.logp[i]), float(logp_adj[i]), model_name, str(family[i]), "snv", row,
                    rate=None if rate is None else float(rate[i]))
        if matched is not None:
            call.normal_count, call.normal_depth = int(matched.normal_count[i]), int(matched.normal_depth[i])
            call.direction = "loss" if matched.loss[i] else "gain"
        out.append(call)
    out.sort(key=lambda v: (v.row, v.alt))
    return SnvCalls(out, int(m), family_tests)
