"""Limits of detection: critical counts and limits against scipy, the limit against repeated calling
of simulated counts, every model, the per-region TSV and the counts' ``lod`` array."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import deepamp
from deepamp import cli
from deepamp.models.detection_limit import critical_counts, detection_limits, mean_error_rate


def _brute_critical(n: int, r: float, rho: float, threshold: float) -> int:
    for k in range(1, n + 1):
        if rho > 0:
            s = (1 - rho) / rho
            sf = stats.betabinom.sf(k - 1, n, r * s, (1 - r) * s)
        else:
            sf = stats.binom.sf(k - 1, n, r)
        if sf < threshold:
            return k
    return n + 1


@pytest.mark.parametrize("n,r,rho", [(25000, 0.001, 0.0), (25000, 0.0005, 0.002), (800, 0.01, 0.0),
                                     (3000, 0.002, 0.05), (50, 0.02, 0.0), (10, 0.3, 0.0)])
def test_critical_count_is_the_first_count_below_the_corrected_threshold(n, r, rho):
    threshold = 0.01 / 9000
    k = critical_counts(np.array([n]), np.array([r]), np.array([rho]), math.log(threshold))[0]
    assert k == _brute_critical(n, r, rho, threshold)


@pytest.mark.parametrize("n,r,rho", [(25000, 0.001, 0.0), (25000, 0.0005, 0.002), (800, 0.01, 0.0)])
def test_limit_is_where_the_critical_count_is_reached_with_80_percent(n, r, rho):
    m, alpha = 9000, 0.01
    lod = detection_limits(np.array([n]), np.array([r]), np.array([rho]), m=m, alpha=alpha)[0]
    k = _brute_critical(n, r, rho, alpha / m)

    def power(v: float) -> float:
        return stats.binom.sf(k - 1, n, v + r * (1 - v))
    assert power(lod) == pytest.approx(0.8, abs=1e-6)
    assert power(lod * (1 - 1e-4)) < 0.8


def test_no_depth_or_too_little_depth_has_no_limit():
    lod = detection_limits(np.array([0, 2]), np.array([0.001, 0.001]), np.array([0.0, 0.0]), m=10 ** 6, alpha=0.01)
    assert np.isnan(lod).all()


def test_mean_error_rate_of_a_quality_histogram():
    qh = np.zeros((2, 64), np.int64)
    qh[0, 30] = 90
    qh[0, 20] = 10
    assert mean_error_rate(qh)[0] == pytest.approx((90 * 1e-3 + 10 * 1e-2) / 100)
    assert np.isnan(mean_error_rate(qh)[1])


def _counts(depths: list[int], alts: list[int], seed_ref: str = "C"):
    P = len(depths)
    c = np.zeros((P, 4, 2), np.int64)
    for i, (d, a) in enumerate(zip(depths, alts)):
        c[i, 1, 0] = (d - a) // 2
        c[i, 1, 1] = d - a - (d - a) // 2
        c[i, 3, 0] = a // 2
        c[i, 3, 1] = a - a // 2
    return deepamp.CountResult.from_arrays("chr2", np.arange(1000, 1000 + P), seed_ref * P, c)


def test_limit_is_the_vaf_called_with_80_percent_probability():
    """Counts drawn at the quoted limit are called in ~80 % of samples (the run's own test)."""
    rng = np.random.default_rng(7)
    n, e, P = 20000, 0.001, 200
    base = _counts([n] * P, [1] * P)          # an alt base in every column: LoFreq's factor is 3 P, as below
    calls = deepamp.call_counts(base, base_error_rate=e, indels=False, filters=None)
    lod = calls.detection_limits()
    assert lod.model == "quality"
    v = float(lod.site[0])
    assert np.allclose(lod.site, v)
    m = 3 * P
    assert calls.tests["snv"] == m
    k = _brute_critical(n, e, 0.0, 0.01 / m)
    assert stats.binom.sf(k - 1, n, v + e * (1 - v)) == pytest.approx(0.8, abs=0.02)
    alts = rng.binomial(n, v + e * (1 - v), size=P)
    drawn = _counts([n] * P, alts.tolist())
    got = deepamp.call_counts(drawn, base_error_rate=e, indels=False, filters=None)
    share = len(got) / P
    assert 0.7 <= share <= 0.9, share


def test_background_and_matched_models_give_their_own_limits(amplicon_run):
    run = amplicon_run
    bg = deepamp.learn_background(run.controls, reference=run.ref, bed=run.bed)
    with_bg = deepamp.call(run.tumour, reference=run.ref, bed=run.bed, background=bg)
    quality = deepamp.call(run.tumour, reference=run.ref, bed=run.bed)
    matched = deepamp.call(run.tumour, reference=run.ref, bed=run.bed, matched_normal=run.controls[0])
    lb, lq, lm = (x.detection_limits() for x in (with_bg, quality, matched))
    assert (lb.model, lq.model, lm.model) == ("background", "quality", "matched")
    tested = np.isfinite(lq.site)
    assert tested.sum() > 0.9 * len(tested)
    # every finite limit lies above the null's error rate and below 100 %
    for lim in (lb, lq, lm):
        v = lim.site[np.isfinite(lim.site)]
        assert v.size and (v > 0).all() and (v < 1).all()
        assert np.isnan(lim.lod[np.arange(len(lim.site)), np.minimum(quality.counts.ref_code, 3)]).all()
    # the spiked alleles are above the limit where they were called
    snvs = [c for c in with_bg.passing if c.kind == "snv"]
    assert len(snvs) >= 3
    for c in snvs:
        assert c.af >= 0.5 * lb.lod[c.row, "ACGT".index(c.alt)]
    regions = lb.regions()
    assert len(regions) == len(with_bg.counts.regions)
    assert all(r.tested <= r.sites and r.median <= r.p90 <= r.worst for r in regions if r.tested)


def test_hotspot_family_has_its_own_lower_limit(amplicon_run):
    run = amplicon_run
    plain = deepamp.call(run.tumour, reference=run.ref, bed=run.bed)
    hot = deepamp.call(run.tumour, reference=run.ref, bed=run.bed, hotspots="shipped")
    row = int(np.flatnonzero(hot.counts.pos == 29220747 - 1)[0])       # G1202R: C>T on the plus strand
    t = "ACGT".index("T")
    assert hot.tests["hotspot"] < plain.tests["snv"]
    assert hot.detection_limits().lod[row, t] < plain.detection_limits().lod[row, t]


def test_call_lod_tsv_and_counts_keep_the_limits(amplicon_run, tmp_path):
    run = amplicon_run
    out, tsv = tmp_path / "t.vcf", tmp_path / "lod.tsv"
    assert cli.main(["call", "-f", run.ref, "-l", run.bed, "-o", str(out), "--lod-tsv", str(tsv), "--quiet",
                     run.tumour]) == 0
    lines = tsv.read_text().splitlines()
    assert lines[0].startswith("# limit of detection")
    header = lines[1].split("\t")
    rows = [dict(zip(header, x.split("\t"))) for x in lines[2:]]
    calls = deepamp.call(run.tumour, reference=run.ref, bed=run.bed)
    expect = calls.detection_limits().regions()
    assert [r["region"] for r in rows] == [r.region for r in expect]
    assert [float(r["median_lod"]) for r in rows] == pytest.approx([r.median for r in expect], abs=1e-6)
    # the per-site values saved with the counts come back
    calls.counts.lod = calls.detection_limits().site
    calls.counts.save(tmp_path / "c.npz")
    back = deepamp.load_counts(tmp_path / "c.npz")
    np.testing.assert_array_equal(back.lod, calls.counts.lod)
    # one file for two outputs is refused before any work
    assert cli.main(["call", "-f", run.ref, "-l", run.bed, "-o", str(tsv), "--lod-tsv", str(tsv), "--quiet",
                     run.tumour]) == 1


def test_region_summaries_by_hand():
    import dataclasses

    from deepamp.calling.detection import DetectionLimits
    from deepamp.io.regions import Region

    base = _counts([100] * 10, [0] * 10)                    # chr2, 0-based 1000..1009
    counts = dataclasses.replace(base, regions=[Region("chr2", 1000, 1005, "amp1"), Region("chr2", 1005, 1010)])
    site = np.array([0.01, 0.02, 0.03, 0.04, np.nan] + [np.nan] * 5)
    lim = DetectionLimits(counts, np.full((10, 4), np.nan), site, "quality", 0.8, 0.01)
    r1, r2 = lim.regions()
    assert (r1.region, r1.start, r1.end, r1.sites, r1.tested) == ("amp1", 1000, 1005, 5, 4)
    # linear-interpolated percentiles of 0.01..0.04: median 0.025, 90th 0.01 + 0.9 * 3 * 0.01 = 0.037
    assert (r1.median, r1.p90, r1.worst) == pytest.approx((0.025, 0.037, 0.04))
    assert (r2.region, r2.sites, r2.tested) == ("chr2:1006-1010", 5, 0)
    assert math.isnan(r2.median) and math.isnan(r2.p90) and math.isnan(r2.worst)


def test_background_limit_uses_the_strand_weighted_rate():
    from deepamp.models.background import Background

    P = 3
    c = np.zeros((P, 4, 2), np.int64)
    c[:, 1] = (15000, 5000)                                 # C, three times as deep forward
    c[0, 3] = (1, 0)
    counts = deepamp.CountResult.from_arrays("chr2", np.arange(1000, 1000 + P), "C" * P, c)
    rate = np.full((P, 4, 2), 1e-4)
    rate[:, 3] = (1e-3, 5e-3)                               # C>T forward 1e-3, reverse 5e-3
    disp = np.full((P, 4), 2e-3)
    bg = Background(np.array(["chr2"] * P), np.arange(1000, 1000 + P), np.array(["C"] * P), rate, disp,
                    np.full((P, 4), 5, np.int16), {"panel_sha256": "-"})
    calls = deepamp.call_counts(counts, background=bg, indels=False, filters=None)
    lim = calls.detection_limits()
    assert lim.model == "background"
    m = calls.tests["snv"]
    d_f = np.array([15001, 15000, 15000])                   # counted bases per strand (site 0 has the T)
    d_r = np.array([5000, 5000, 5000])
    expect = detection_limits(d_f + d_r, (d_f * 1e-3 + d_r * 5e-3) / (d_f + d_r), np.full(P, 2e-3), m=m,
                              alpha=0.01, power=0.8)
    assert np.isfinite(expect).all()
    np.testing.assert_allclose(lim.lod[:, 3], expect, rtol=1e-9)


def test_matched_limits_cover_sites_where_the_normal_has_exactly_min_cov():
    t = np.zeros((2, 4, 2), np.int64)
    t[:, 1] = (5000, 5000)
    n = np.zeros((2, 4, 2), np.int64)
    n[0, 1] = (50, 50)                                      # depth 100
    n[1, 1] = (50, 49)                                      # depth 99
    tumour = deepamp.CountResult.from_arrays("chr2", [1000, 1001], "CC", t)
    normal = deepamp.CountResult.from_arrays("chr2", [1000, 1001], "CC", n)
    lim = deepamp.call_counts(tumour, normal=normal, min_cov=100, indels=False, filters=None).detection_limits()
    assert lim.model == "matched"
    assert np.isfinite(lim.site[0]) and np.isnan(lim.site[1])


def test_power_must_be_strictly_between_0_and_1():
    calls = deepamp.call_counts(_counts([1000] * 2, [0, 1]), base_error_rate=1e-3, indels=False, filters=None)
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError):
            calls.detection_limits(power=bad)
    assert np.isfinite(calls.detection_limits(power=0.5).site).any()


def test_limit_when_every_read_must_be_alt_by_hand():
    # n = 3, error 0.1: P(X >= 3) = 0.001 < 0.01 but P(X >= 2) = 0.028 is not, so all 3 reads must be alt
    assert critical_counts(np.array([3]), np.array([0.1]), np.array([0.0]), math.log(0.01)).tolist() == [3]
    p = 0.8 ** (1 / 3)                                     # P(X = 3) = p^3 = 0.8
    v = (p - 0.1) / (1 - 0.1)                              # p = v + e (1 - v)
    got = detection_limits(np.array([3, 0]), np.array([0.1, 0.1]), np.array([0.0, 0.0]), m=1, alpha=0.01)
    assert got[0] == pytest.approx(v, abs=1e-9)
    assert math.isnan(got[1])
    # error rate 1: nothing is ever significant, with or without over-dispersion
    for rho in (0.0, 0.1):
        assert critical_counts(np.array([50]), np.array([1.0]), np.array([rho]), math.log(0.01)).tolist() == [51]


def test_zero_rate_with_dispersion_makes_one_alt_read_significant():
    # a null rate of 0 makes any alt read impossible under the null, over-dispersed or not
    for rho in (0.0, 0.1):
        assert critical_counts(np.array([100]), np.array([0.0]), np.array([rho]), math.log(0.01)).tolist() == [1]
    lim = detection_limits(np.array([100]), np.array([0.0]), np.array([0.1]), m=1, alpha=0.01)
    assert lim[0] == pytest.approx(1 - 0.2 ** (1 / 100), abs=1e-9)     # P(at least 1 alt of 100) = 0.8


def test_critical_counts_of_a_batch_match_each_alone():
    n = np.array([50, 100000, 3, 2000])
    rate = np.array([1.0, 1e-3, 0.1, 0.01])
    rho = np.zeros(4)
    thr = math.log(0.01 / 50)
    batch = critical_counts(n, rate, rho, thr)
    alone = [int(critical_counts(n[i:i + 1], rate[i:i + 1], rho[i:i + 1], thr)[0]) for i in range(4)]
    assert batch.tolist() == alone
    assert batch[0] == 51                                    # never significant: n + 1, however long the others take
    for i in (1, 3):
        assert batch[i] == _brute_critical(int(n[i]), float(rate[i]), 0.0, 0.01 / 50)


def test_limit_edges_by_hand():
    # one read: P(X >= 1 | p) = p = 0.8 at the limit
    got = detection_limits(np.array([1]), np.array([1e-4]), np.array([0.0]), m=1, alpha=0.01)
    assert got[0] == pytest.approx((0.8 - 1e-4) / (1 - 1e-4), abs=1e-9)
    # m = 0 tests is taken as one
    args = (np.array([1000]), np.array([1e-3]), np.array([0.0]))
    assert detection_limits(*args, m=0, alpha=0.01)[0] == detection_limits(*args, m=1, alpha=0.01)[0]
    # a single base of quality 20 has error 0.01
    qh = np.zeros((2, 64))
    qh[0, 20] = 1
    r = mean_error_rate(qh)
    assert r[0] == pytest.approx(0.01) and math.isnan(r[1])


def test_run_limits_use_acgt_depth_and_min_cov_inclusively():
    c = np.zeros((2, 7, 2), np.int64)
    c[:, 1] = (500, 500)                                    # C depth 1000 at both
    c[0, 4] = (300, 300)                                    # 600 N at the first: not depth
    counts = deepamp.CountResult.from_arrays("chr2", [1000, 1001], "CC", c)
    calls = deepamp.call_counts(counts, base_error_rate=1e-3, indels=False, filters=None, min_cov=1000)
    lim = calls.detection_limits()
    m = calls.tests["snv"]
    expect = detection_limits(np.array([1000]), np.array([1e-3]), np.array([0.0]), m=max(m, 1), alpha=0.01)[0]
    np.testing.assert_allclose(lim.site, [expect, expect], rtol=1e-12)
    # min_cov picks the sites as the SNV tests do (their depth counts N too): 1600 >= 1001 > 1000
    from deepamp.calling.snvs import testable_ref_code
    from deepamp.options import CallOptions

    assert testable_ref_code(counts, CallOptions(min_cov=1001)).tolist() == [1, 4]
    site = deepamp.call_counts(counts, base_error_rate=1e-3, indels=False, filters=None,
                               min_cov=1001).detection_limits().site
    assert np.isfinite(site[0]) and np.isnan(site[1])


def test_run_limits_of_a_one_read_site_and_an_n_reference():
    c = np.zeros((3, 7, 2), np.int64)
    c[0, 1] = (1, 0)                                        # one C read
    c[1, 0] = (50, 50)                                      # reference N: never tested
    c[2, 1] = (50, 50)
    counts = deepamp.CountResult.from_arrays("chr2", [1000, 1001, 1002], "CNC", c)
    calls = deepamp.call_counts(counts, base_error_rate=1e-3, indels=False, filters=None)
    lim = calls.detection_limits()
    m = max(calls.tests["snv"], 1)
    one = detection_limits(np.array([1]), np.array([1e-3]), np.array([0.0]), m=m, alpha=0.01)[0]
    assert np.isfinite(one)
    assert lim.site[0] == pytest.approx(one, rel=1e-12)
    assert np.isnan(lim.site[1]) and np.isnan(lim.lod[1]).all()
    assert np.isfinite(lim.site[2])
