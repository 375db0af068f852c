"""Option objects: every documented bound, on both sides, and the derived values (mutation testing found
the validators' boundaries unchecked)."""
from __future__ import annotations

import math

import pytest

from deepamp.errors import OptionError
from deepamp.options import CallOptions, CountOptions, FilterOptions


def _ok(factory, **kw):
    factory(**kw)


def _bad(factory, **kw):
    with pytest.raises(OptionError):
        factory(**kw)


@pytest.mark.parametrize("name", ["min_bq", "min_alt_bq", "min_mapq"])
def test_count_qualities_are_integers_in_0_255(name):
    for v in (0, 255):
        _ok(CountOptions, **{name: v})
    for v in (-1, 256, True, 6.0, "6"):
        _bad(CountOptions, **{name: v})


def test_count_flags_and_switches():
    _ok(CountOptions, flag_exclude=0)
    _ok(CountOptions, flag_exclude=0xFFFF)
    _bad(CountOptions, flag_exclude=-1)
    _bad(CountOptions, flag_exclude=0x10000)
    _bad(CountOptions, merge_mates=1)
    d = CountOptions()
    assert d.flag_exclude == 0x4 | 0x100 | 0x200 | 0x400 | 0x800
    assert not d.keep_duplicates and not d.include_supplementary
    dup = CountOptions.with_switches(keep_duplicates=True)
    assert dup.flag_exclude == 0xF04 & ~0x400 and dup.keep_duplicates and not dup.include_supplementary
    sup = CountOptions.with_switches(include_supplementary=True, min_bq=10)
    assert sup.flag_exclude == 0xF04 & ~0x800 and sup.include_supplementary and not sup.keep_duplicates
    assert sup.min_bq == 10
    assert CountOptions.with_switches(keep_duplicates=True, flag_exclude=0x404).flag_exclude == 0x4
    assert CountOptions.with_switches().flag_exclude == 0xF04


def test_count_alt_bq_dict_differences_describe():
    assert CountOptions(min_bq=7).alt_bq == 7
    assert CountOptions(min_bq=7, min_alt_bq=20).alt_bq == 20
    assert CountOptions(min_bq=7, min_alt_bq=0).alt_bq == 0
    o = CountOptions(min_bq=7, min_mapq=3)
    assert o.to_dict() == {"min_bq": 7, "min_alt_bq": 7, "min_mapq": 3, "flag_exclude": 0xF04, "merge_mates": True}
    assert CountOptions.from_dict(o.to_dict()).to_dict() == o.to_dict()
    with pytest.raises(OptionError):
        CountOptions.from_dict({"min_bq": 7, "bogus": 1})
    assert o.differences(o) == []
    assert o.differences(CountOptions(min_bq=10, min_mapq=3)) == ["min_bq 7 vs 10", "min_alt_bq 7 vs 10"]
    assert o.describe() == "min_bq=7,min_alt_bq=7,min_mapq=3,flag_exclude=0xf04,merge_mates=True"


def test_filter_option_bounds():
    for kw in (dict(min_cov=0), dict(max_cov=0), dict(snvqual_ntests=1), dict(sb_ntests=1), dict(min_af=0.0),
               dict(min_af=1.0), dict(max_af=0), dict(max_population_af=1.0), dict(snvqual_alpha=1.0),
               dict(sb_alpha=1e-300), dict(min_snvqual=0.0), dict(sb_min_or=1.0), dict(orientation_posterior=1e-9),
               dict(sb_mtc="holm-bonf"), dict(sb_test="lofreq"), dict(min_cov=None, sb_alpha=None)):
        _ok(FilterOptions, **kw)
    for kw in (dict(min_cov=-1), dict(max_cov=-1), dict(snvqual_ntests=0), dict(sb_ntests=0), dict(min_af=-0.01),
               dict(min_af=1.01), dict(max_population_af=math.nan), dict(snvqual_alpha=0.0), dict(sb_alpha=0),
               dict(sb_alpha=1.5), dict(min_snvqual=-0.5), dict(min_snvqual=math.inf), dict(sb_min_or=0.99),
               dict(orientation_posterior=1.0), dict(orientation_posterior=0.0), dict(sb_mtc="bonferroni"),
               dict(snvqual_mtc="none"), dict(sb_test="fisher"), dict(min_cov=1.5), dict(sb_alpha=True)):
        _bad(FilterOptions, **kw)


def test_population_threshold():
    assert FilterOptions().population_af_threshold is None
    assert FilterOptions(population_vcf="pop.vcf").population_af_threshold == 1e-5
    assert FilterOptions(population_vcf="pop.vcf", max_population_af=0.01).population_af_threshold == 0.01
    assert FilterOptions(max_population_af=0.02).population_af_threshold == 0.02
    assert FilterOptions(population_vcf="").population_af_threshold is None


def test_call_option_bounds_and_replace():
    for kw in (dict(min_cov=0), dict(alpha=1.0), dict(bonf=1), dict(snvs=False), dict(indels=False),
               dict(filters=None), dict(base_error_rate=0.5), dict(mtc="fdr")):
        _ok(CallOptions, **kw)
    for kw in (dict(min_cov=-1), dict(alpha=0.0), dict(alpha=1.01), dict(bonf=0), dict(snvs=False, indels=False),
               dict(filters="none"), dict(base_error_rate=1.0), dict(base_error_rate=0.0), dict(mtc="holm"),
               dict(count={"min_bq": 6})):
        _bad(CallOptions, **kw)
    o = CallOptions(count=CountOptions(min_mapq=5))
    r = o.replace(min_bq=10, alpha=0.05)
    assert (r.count.min_bq, r.count.min_mapq, r.alpha) == (10, 5, 0.05)
    assert (o.count.min_bq, o.alpha) == (6, 0.01)                  # the original is unchanged
    r = o.replace(count=CountOptions(min_mapq=9), min_bq=12)
    assert (r.count.min_bq, r.count.min_mapq) == (12, 9)
    assert o.replace() == o
    with pytest.raises(OptionError, match="unknown option 'bogus'"):
        o.replace(bogus=1)
