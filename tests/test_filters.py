"""deepamp filter: hand-computed examples, LoFreq VCF input, villa2024, population VCF, bad input."""
from __future__ import annotations

import math
import os

import numpy as np
import pysam
import pytest
from scipy.stats import fisher_exact, nchypergeom_fisher

from deepamp.cli import main
from deepamp.io.population import PopulationVcf
from deepamp.models.multiple_testing import adjust
from deepamp.models.strand_bias import sba_logp, sba_phred
from deepamp.options import PRESETS
from deepamp.errors import FormatError, IndexFileError, InputFileError

LOFREQ_VCF = """##fileformat=VCFv4.0
##source=lofreq call
##INFO=<ID=DP,Number=1,Type=Integer,Description="Raw Depth">
##INFO=<ID=AF,Number=1,Type=Float,Description="Allele Frequency">
##INFO=<ID=SB,Number=1,Type=Integer,Description="Phred-scaled strand bias at this position">
##INFO=<ID=DP4,Number=4,Type=Integer,Description="Counts for ref-forward bases, ref-reverse, alt-forward and alt-reverse bases">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO
chr2\t29220747\t.\tC\tT\t49314\tPASS\tDP=25000;AF=0.010000;SB=0;DP4=12400,12350,125,125
chr2\t29220765\t.\tG\tT\t100000\tPASS\tDP=25000;AF=0.001000;SB=0;DP4=12400,12350,13,12
chr2\t29220800\t.\tG\tT\t60\tPASS\tDP=8;AF=0.250000;SB=0;DP4=3,3,1,1
chr2\t29220850\t.\tC\tA\t900\tPASS\tDP=20000;AF=0.010000;SB=2147483647;DP4=10000,9800,200,0
chr2\t29220860\t.\tC\tA\t900\tPASS\tDP=20000;AF=0.010000;SB=0;DP4=19800,0,200,0
chr2\t29220870\t.\tC\tA\t12\tPASS\tDP=20000;AF=0.010000;SB=0;DP4=9900,9900,100,100
"""


def _write(tmp_path, text, name="in.vcf"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def _run(tmp_path, args, text=LOFREQ_VCF):
    vin = _write(tmp_path, text)
    out = str(tmp_path / "out.vcf")
    rc = main(["filter", "-i", vin, "-o", out, *args])
    if rc:
        return rc, None
    recs = [ln.rstrip("\n").split("\t") for ln in open(out) if not ln.startswith("#")]
    head = [ln for ln in open(out) if ln.startswith("##")]
    return rc, (recs, head)


def test_sba_matches_fisher_at_odds_ratio_one_and_scipy_noncentral():
    for t in [(10, 12, 3, 9), (100, 5, 7, 6), (0, 50, 0, 3), (2000, 2100, 40, 2)]:
        lp = sba_logp(*t, min_or=1.0)
        # doubled smaller one-sided tail at OR 1
        one = min(fisher_exact([[t[2], t[3]], [t[0], t[1]]], alternative="greater")[1],
                  fisher_exact([[t[2], t[3]], [t[0], t[1]]], alternative="less")[1])
        assert math.exp(lp) == pytest.approx(min(1.0, 2 * one), rel=1e-6)
    rf, rr, af, ar = 2000, 2100, 40, 2
    M, n, N = rf + rr + af + ar, af + rf, af + ar
    up = nchypergeom_fisher.sf(af - 1, M, n, N, 3.0)
    lo = nchypergeom_fisher.cdf(af, M, n, N, 1 / 3.0)
    assert math.exp(sba_logp(rf, rr, af, ar, 3.0)) == pytest.approx(min(1, 2 * min(up, lo)), rel=1e-6)


def test_sba_amplicon_end_is_not_bias_but_lofreq_sentinel_is_not_emitted(tmp_path):
    assert sba_phred(19800, 0, 200, 0) == 0.0          # one strand by design
    assert sba_phred(10000, 9800, 200, 0) > 100        # alt on one strand, ref on both
    # effect-size floor: a small strand difference at huge depth is not bias
    assert sba_phred(100000, 100000, 1100, 900, 3.0) == 0.0
    rc, (recs, _) = _run(tmp_path, [])
    sba = {r[1]: r[7] for r in recs}
    assert "SBA=" in sba["29220850"] and "2147483647" not in sba["29220850"].split("SBA=")[1]


def test_mtc_hand_computed():
    lp = np.log([0.01, 0.04, 0.03, 0.5])
    np.testing.assert_allclose(np.exp(adjust(lp, None, "bonf")), [0.04, 0.16, 0.12, 1.0])
    np.testing.assert_allclose(np.exp(adjust(lp, None, "holm-bonf")), [0.04, 0.09, 0.09, 0.5])
    # BH: 0.03 * 4 / 2 = 0.06 is above 0.04 * 4 / 3, so both take 0.0533
    np.testing.assert_allclose(np.exp(adjust(lp, None, "fdr")), [0.04, 0.16 / 3, 0.16 / 3, 0.5])
    np.testing.assert_allclose(np.exp(adjust(lp, 10, "bonf")), [0.1, 0.4, 0.3, 1.0])


def test_default_filters_on_lofreq_vcf(tmp_path):
    rc, (recs, head) = _run(tmp_path, [])
    flt = {r[1]: r[6] for r in recs}
    assert flt["29220800"] == "min_dp_10"
    assert flt["29220850"] == "sba_fdr"
    assert flt["29220747"] == flt["29220860"] == "PASS"
    assert any(h.startswith("##FILTER=<ID=min_dp_10,") for h in head)
    assert any(h.startswith("##FILTER=<ID=sba_fdr,") for h in head)
    assert any(h.startswith("##INFO=<ID=SBA,") for h in head)
    assert len(recs) == 6                                  # failing records are kept


def test_af_filter_not_disabled_by_huge_qual(tmp_path):
    # LoFreq in one pass skips its AF filter for QUAL this large; deepamp must not
    rc, (recs, _) = _run(tmp_path, ["-a", "0.005"])
    flt = {r[1]: r[6] for r in recs}
    assert flt["29220765"] == "min_af_0.005"
    assert flt["29220747"] == "PASS"


def test_snvqual_and_lofreq_sb(tmp_path):
    rc, (recs, _) = _run(tmp_path, ["--no-defaults", "--snvqual-alpha", "0.01", "--snvqual-mtc", "bonf"])
    flt = {r[1]: r[6] for r in recs}
    # QUAL 12 -> p = 0.063, x 6 records > 0.01; QUAL 60 -> 1e-6 x 6 < 0.01
    assert flt["29220870"] == "snvqual_bonf"
    assert flt["29220800"] == "PASS"
    rc, (recs, _) = _run(tmp_path, ["--no-defaults", "--sb-alpha", "0.001", "--sb-test", "lofreq"])
    flt = {r[1]: r[6] for r in recs}
    assert flt["29220850"] == "sb_fdr" and flt["29220860"] == "PASS"
    rc, (recs, _) = _run(tmp_path, ["--no-defaults"])
    assert all(r[6] == "PASS" for r in recs)
    rc, (recs, _) = _run(tmp_path, ["--pass-only"])
    assert {r[1] for r in recs} == {"29220747", "29220765", "29220860", "29220870"}


def test_villa2024_preset(tmp_path):
    rc, (recs, head) = _run(tmp_path, ["--preset", "villa2024"])
    flt = {r[1]: r[6] for r in recs}
    assert flt["29220747"] == "PASS"
    assert flt["29220765"] == "min_af_0.006"
    assert flt["29220800"].split(";")[0] == "min_dp_5000"
    assert flt["29220850"] == "sba_fdr"
    assert "snvqual_fdr" in flt["29220870"]                # p = 0.063 -> q > 0.001
    p = PRESETS["villa2024"]
    assert (p.min_cov, p.min_af, p.snvqual_alpha, p.sb_alpha, p.max_population_af) == (5000, 0.006, 0.001, 0.001, 1e-5)


def _population(tmp_path, contig="2", with_af=True, index=True):
    af_head = '##INFO=<ID=AF,Number=A,Type=Float,Description="AF">\n' if with_af else ""
    text = ("##fileformat=VCFv4.2\n" + f"##contig=<ID={contig},length=242193529>\n" + af_head +
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
            f"{contig}\t29220747\t.\tC\tA,T\t.\tPASS\tAF=0.2,0.000001\n"      # multi-allelic, T rare
            f"{contig}\t29220764\t.\tAGG\tATG,A\t.\tPASS\tAF=0.03,0.01\n"   # ATG = G>T at 29220765
            f"{contig}\t29220860\t.\tC\tA\t.\tPASS\tAF=0.5\n")
    plain = tmp_path / "pop.vcf"
    plain.write_text(text)
    gz = str(tmp_path / "pop.vcf.gz")
    pysam.tabix_compress(str(plain), gz, force=True)
    if index:
        pysam.tabix_index(gz, preset="vcf", force=True)
    return gz


def test_population_filter_normalised_and_chr_mapping(tmp_path):
    pop = _population(tmp_path)
    rc, (recs, head) = _run(tmp_path, ["--no-defaults", "--population-vcf", pop])
    by = {r[1]: r for r in recs}
    assert by["29220747"][6] == "PASS" and "POPAF=1e-06" in by["29220747"][7]
    assert by["29220765"][6] == "popaf_1e-05" and "POPAF=0.03" in by["29220765"][7]
    assert by["29220860"][6] == "popaf_1e-05"
    assert "POPAF" not in by["29220850"][7]
    assert any(h.startswith("##FILTER=<ID=popaf_1e-05,") for h in head)


def test_population_bad_inputs(tmp_path, capsys):
    noidx = _population(tmp_path, index=False)
    rc, _ = _run(tmp_path, ["--population-vcf", noidx])
    assert rc == 1 and "pop.vcf.gz: population VCF has no tabix index" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "out.vcf")
    with pytest.raises(IndexFileError):
        PopulationVcf(noidx)
    sub = tmp_path / "b"
    sub.mkdir()
    noaf = _population(sub, with_af=False)
    with pytest.raises(FormatError, match="no INFO/AF"):
        PopulationVcf(noaf)
    with pytest.raises(InputFileError, match="not found"):
        PopulationVcf(str(tmp_path / "nope.vcf.gz"))


def test_missing_info_fields(tmp_path, capsys):
    text = LOFREQ_VCF.replace("DP=8;AF=0.250000;SB=0;DP4=3,3,1,1", "AF=0.250000;SB=0")
    rc, _ = _run(tmp_path, [], text)
    err = capsys.readouterr().err
    assert rc == 1 and "in.vcf: line 10 (chr2:29220800): INFO/DP missing" in err
    assert not os.path.exists(tmp_path / "out.vcf")
    text2 = LOFREQ_VCF.replace("DP=8;AF=0.250000;SB=0;DP4=3,3,1,1", "DP=8;AF=0.25")
    rc, _ = _run(tmp_path, [], text2)
    assert rc == 1 and "INFO/DP4 missing" in capsys.readouterr().err
    rc, _ = _run(tmp_path, ["--no-defaults", "-a", "0.01"], LOFREQ_VCF.replace("AF=0.250000;", ""))
    assert rc == 1 and "INFO/AF missing" in capsys.readouterr().err
    rc, _ = _run(tmp_path, [], "not a vcf\n")
    assert rc == 1 and "in.vcf: not a VCF (no #CHROM header line)" in capsys.readouterr().err
    rc, _ = _run(tmp_path, [], "##fileformat=VCFv4.2\n")
    assert rc == 1 and "no #CHROM header" in capsys.readouterr().err


def test_gz_in_and_out(tmp_path):
    plain = _write(tmp_path, LOFREQ_VCF, "x.vcf")
    gz = str(tmp_path / "x.vcf.gz")
    pysam.tabix_compress(plain, gz, force=True)
    out = str(tmp_path / "o.vcf.gz")
    assert main(["filter", "-i", gz, "-o", out]) == 0
    assert os.path.exists(out + ".tbi")
    with pysam.VariantFile(out) as vf:
        assert [r.filter.keys() for r in vf][2] == ["min_dp_10"]


# --- apply_filters / filter_descriptions directly (mutation testing found these decisions unchecked) ---

from deepamp.filters import apply_filters, assay_header_line, filter_descriptions, filter_vcf  # noqa: E402
from deepamp.options import FilterOptions  # noqa: E402

_ONLY_SB = dict(min_cov=None, orientation_posterior=None)


def test_descriptions_name_only_the_strand_bias_tests_in_use():
    o = FilterOptions()
    assert "sba_fdr" in filter_descriptions(o, tests=("amplicon",))
    assert "sb_fdr" not in filter_descriptions(o, tests=("amplicon",))
    assert "sba_fdr" not in filter_descriptions(o, tests=("lofreq",))
    d = filter_descriptions(o, tests=("amplicon", "lofreq"))
    assert "sba_fdr" in d and "sb_fdr" in d
    # forced LoFreq test: never the amplicon one, whatever is in use
    assert "sba_fdr" not in filter_descriptions(FilterOptions(sb_test="lofreq"), tests=("amplicon", "lofreq"))


def test_indels_are_judged_by_the_indel_quality_filters():
    o = FilterOptions(min_cov=None, sb_alpha=None, min_snvqual=30)
    res = apply_filters(o, dp=[100, 100, 100], af=[0.1] * 3, qual=[20, 20, 40], is_indel=[False, True, True])
    assert res.names(0) == ["min_snvqual_30"]
    assert res.names(1) == ["min_indelqual_30"]
    assert res.names(2) == []
    # without is_indel every record is an SNV
    res = apply_filters(o, dp=[100, 100], af=[0.1] * 2, qual=[20, 20])
    assert res.names(1) == ["min_snvqual_30"]


def test_without_assay_every_record_gets_the_amplicon_test_and_its_phred():
    o = FilterOptions(sb_mtc="bonf", **_ONLY_SB)
    dp4 = np.array([[10000, 9800, 200, 0], [9900, 9900, 100, 100]])
    res = apply_filters(o, dp=[20200, 20000], af=[0.01, 0.01], qual=[900, 900], dp4=dp4)
    assert list(res.failed) == ["sba_bonf"]
    assert list(res.failed["sba_bonf"]) == [True, False]
    assert res.sba[0] == pytest.approx(sba_phred(10000, 9800, 200, 0), abs=0.01)
    assert res.sba[1] == pytest.approx(sba_phred(9900, 9900, 100, 100), abs=0.01)


def test_mixed_assays_each_record_gets_its_own_strand_bias_test():
    o = FilterOptions(sb_mtc="bonf", sb_alpha=0.01, **_ONLY_SB)
    dp4 = np.array([[10000, 9800, 200, 0], [10000, 9800, 200, 0]])
    # SB Phred 40 -> p = 1e-4, x 2 tests (Bonferroni) = 2e-4 < 0.01
    res = apply_filters(o, dp=[20000, 20000], af=[0.01] * 2, qual=[900] * 2, dp4=dp4, sb=[0, 40],
                        assay=["amplicon", "capture"])
    assert list(res.failed["sba_bonf"]) == [True, False]
    assert list(res.failed["sb_bonf"]) == [False, True]
    assert math.isnan(res.sba[1]) and not math.isnan(res.sba[0])


def test_lofreq_sb_phred_is_a_p_value_on_the_phred_scale():
    o = FilterOptions(sb_mtc="bonf", sb_alpha=0.005, sb_test="lofreq", **_ONLY_SB)
    dp4 = np.array([[10000, 9800, 200, 0]] * 2)
    # one test each: SB 20 -> p = 0.01 >= 0.005 passes; SB 30 -> p = 0.001 < 0.005 fails
    for sb, fails in ((20, False), (30, True)):
        res = apply_filters(o, dp=[20000], af=[0.01], qual=[900], dp4=dp4[:1], sb=[sb])
        assert bool(res.failed["sb_bonf"][0]) is fails, sb


def test_lofreq_compound_rule_only_when_asked():
    dp4 = np.array([[10000, 9800, 100, 100]])   # alt bases on both strands: the compound rule spares it
    kw = dict(dp=[20000], af=[0.01], qual=[900], dp4=dp4, sb=[60])
    on = apply_filters(FilterOptions(sb_test="lofreq", **_ONLY_SB), **kw)
    off = apply_filters(FilterOptions(sb_test="lofreq", sb_compound=False, **_ONLY_SB), **kw)
    assert not on.failed["sb_fdr"][0]
    assert off.failed["sb_fdr"][0]
    one_strand = apply_filters(FilterOptions(sb_test="lofreq", **_ONLY_SB),
                               **{**kw, "dp4": np.array([[10000, 9800, 180, 20]])})   # 0.9 > 0.85 on one strand
    assert one_strand.failed["sb_fdr"][0]


def test_orientation_posterior_filters_capture_calls():
    o = FilterOptions(min_cov=None, sb_alpha=None)
    res = apply_filters(o, dp=[100] * 3, af=[0.1] * 3, qual=[90] * 3, orientation=[0.9, 0.2, math.nan],
                        assay=["capture"] * 3)
    assert list(res.failed["orientation_bias"]) == [True, False, False]
    np.testing.assert_array_equal(res.obp, [0.9, 0.2, math.nan])
    res = apply_filters(o, dp=[100], af=[0.1], qual=[90])
    assert "orientation_bias" not in res.failed and res.obp.shape == (1,) and math.isnan(res.obp[0])


def test_population_note_only_when_the_filter_cannot_run():
    base = dict(dp=[100], af=[0.1], qual=[90])
    assert apply_filters(FilterOptions(sb_alpha=None), **base).notes == []
    notes = apply_filters(FilterOptions(sb_alpha=None, max_population_af=0.01), **base).notes
    assert notes == ["population filter not applied (no population VCF)"]


def test_assay_header_line_lists_every_region():
    class Shape:
        def __init__(self, text):
            self.text = text

        def describe(self):
            return self.text

    assert assay_header_line([Shape("chr2:1-10:amplicon"), Shape("chr2:20-30:capture")]) == \
        "##deepamp_assay=chr2:1-10:amplicon;chr2:20-30:capture"


def test_filter_vcf_counts_pass_records_and_reads_the_assay_line(tmp_path):
    vin = _write(tmp_path, LOFREQ_VCF)
    out = str(tmp_path / "out.vcf")
    n, n_pass = filter_vcf(vin, out, FilterOptions())
    recs = [ln.split("\t") for ln in open(out) if not ln.startswith("#")]
    assert n == 6 and n_pass == sum(r[6] == "PASS" for r in recs) == 4
    head = open(out).read()
    assert "##INFO=<ID=SBA," in head and "##INFO=<ID=POPAF," not in head
    # a capture region per the ##deepamp_assay line: LoFreq's test (SB = 2147483647 there), no SBA
    text = LOFREQ_VCF.replace("##source=lofreq call\n",
                              "##source=lofreq call\n##deepamp_assay=chr2:29220840-29220855:capture\n")
    vin = _write(tmp_path, text, "cap.vcf")
    filter_vcf(vin, out, FilterOptions())
    flt = {r[1]: (r[6], r[7]) for r in (ln.split("\t") for ln in open(out) if not ln.startswith("#"))}
    assert flt["29220850"][0] == "sb_fdr" and "SBA=" not in flt["29220850"][1]
    assert flt["29220860"][0] == "PASS" and "SBA=" in flt["29220860"][1]


def test_descriptions_follow_the_options():
    d = filter_descriptions(FilterOptions())                       # auto: the amplicon test unless told
    assert "sba_fdr" in d and "sb_fdr" not in d and "max_dp_500" not in d
    assert "orientation_bias" not in d                             # only with LoFreq's (capture) test in use
    d = filter_descriptions(FilterOptions(sb_test="lofreq", max_cov=500))
    assert "sb_fdr" in d and "sba_fdr" not in d
    assert d["max_dp_500"] == "Maximum Coverage 500"
    assert "> 0.85 of alt bases on one strand" in d["sb_fdr"]
    assert "> 0.85" not in filter_descriptions(FilterOptions(sb_test="lofreq", sb_compound=False))["sb_fdr"]
    assert "orientation_bias" in filter_descriptions(FilterOptions(), tests=("amplicon", "lofreq"))
    assert "sba_fdr" in filter_descriptions(FilterOptions(sb_test="amplicon"))


def test_coverage_bounds_are_inclusive_and_max_cov_works_alone():
    res = apply_filters(FilterOptions(sb_alpha=None, min_cov=10, max_cov=50), dp=[9, 10, 50, 51], af=[0.1] * 4,
                        qual=[90] * 4)
    assert list(res.failed["min_dp_10"]) == [True, False, False, False]
    assert list(res.failed["max_dp_50"]) == [False, False, False, True]
    assert list(res.passing) == [False, True, True, False]
    alone = apply_filters(FilterOptions(sb_alpha=None, min_cov=None, max_cov=50), dp=[60], af=[0.1], qual=[90])
    assert list(alone.failed) == ["max_dp_50"] and not alone.passing[0]


def test_no_records_still_name_the_forced_strand_bias_test():
    empty = dict(dp=[], af=[], qual=[])
    assert "sb_fdr" in apply_filters(FilterOptions(sb_test="lofreq"), **empty).descriptions
    assert "sba_fdr" not in apply_filters(FilterOptions(sb_test="lofreq"), **empty).descriptions
    assert "sba_fdr" in apply_filters(FilterOptions(), **empty).descriptions


def test_af_and_qual_bounds_are_inclusive_at_stored_precision():
    o = FilterOptions(sb_alpha=None, min_cov=None, min_af=0.01, max_af=0.5, min_snvqual=30)
    af = np.array([0.009, 0.01, 0.5, 0.51], np.float32)             # as read from a VCF (32-bit floats)
    res = apply_filters(o, dp=[100] * 4, af=af, qual=[29.9, 30, 30, 31])
    assert list(res.failed["min_af_0.01"]) == [True, False, False, False]
    assert list(res.failed["max_af_0.5"]) == [False, False, False, True]
    assert list(res.failed["min_snvqual_30"]) == [True, False, False, False]
    alone = apply_filters(FilterOptions(sb_alpha=None, min_cov=None, max_af=0.5), dp=[100], af=[0.6], qual=[90])
    assert list(alone.failed) == ["max_af_0.5"]


def test_snvqual_is_a_phred_p_value_and_ntests_is_for_snvs_only():
    o = FilterOptions(sb_alpha=None, min_cov=None, snvqual_alpha=0.02, snvqual_mtc="bonf")
    # one test each: QUAL 20 -> p = 0.01 < 0.02 passes; QUAL 16 -> p = 0.025 fails
    for q, fails in ((20, False), (16, True)):
        assert bool(apply_filters(o, dp=[100], af=[0.1], qual=[q]).failed["snvqual_bonf"][0]) is fails, q
    # --snvqual-ntests 1000 corrects SNVs only: p = 1e-4 x 1000 = 0.1 fails; the indel is its own family of 1
    o = FilterOptions(sb_alpha=None, min_cov=None, snvqual_alpha=0.01, snvqual_mtc="bonf", snvqual_ntests=1000)
    res = apply_filters(o, dp=[100, 100], af=[0.1, 0.1], qual=[40, 40], is_indel=[False, True])
    assert res.names(0) == ["snvqual_bonf"] and res.names(1) == []


def test_sba_is_rounded_to_two_decimals_and_never_negative_zero():
    o = FilterOptions(**_ONLY_SB)
    rows = np.array([[9900, 9900, 100, 100], [10000, 9800, 200, 0], [500, 400, 30, 10]])
    res = apply_filters(o, dp=rows.sum(axis=1), af=[0.01] * 3, qual=[900] * 3, dp4=rows)
    for i, row in enumerate(rows.tolist()):
        exact = -10 * sba_logp(*row, min_or=3.0) / math.log(10)
        assert res.sba[i] == round(exact, 2)
    assert res.sba[0] == 0.0 and math.copysign(1.0, res.sba[0]) == 1.0


def test_compound_rule_share_by_hand_and_its_dp4_is_required():
    o = FilterOptions(sb_test="lofreq", **_ONLY_SB)

    def fails(alt_fwd, alt_rev):
        dp4 = np.array([[10000, 9800, alt_fwd, alt_rev]])
        return bool(apply_filters(o, dp=[20000], af=[0.01], qual=[900], dp4=dp4, sb=[60]).failed["sb_fdr"][0])

    assert not fails(150, 50)          # 75 % on one strand
    assert not fails(170, 30)          # exactly 85 %: not above
    assert fails(171, 29) and fails(29, 171)
    for dp4 in (None, np.array([[np.nan] * 4])):
        with pytest.raises(FormatError):
            apply_filters(o, dp=[20000], af=[0.01], qual=[900], dp4=dp4, sb=[60])


def test_population_threshold_is_exclusive_and_takes_the_highest_alt():
    class Pop:
        table = {("2", 100, "C", "A"): 0.01, ("2", 100, "C", "T"): 0.02, ("2", 200, "G", "A"): 0.001}

        def lookup(self, chrom, pos, ref, alt):
            return self.table.get((chrom, pos, ref, alt))

    o = FilterOptions(sb_alpha=None, min_cov=None, max_population_af=0.01)
    alleles = [("2", 100, "C", "A"), ("2", 100, "C", "A,T"), ("2", 200, "G", "A"), ("2", 300, "G", "A")]
    res = apply_filters(o, dp=[100] * 4, af=[0.1] * 4, qual=[90] * 4, alleles=alleles, population=Pop())
    assert list(res.failed["popaf_0.01"]) == [False, True, False, False]    # 0.01 is not above 0.01
    np.testing.assert_array_equal(res.popaf, [0.01, 0.02, 0.001, np.nan])
    with pytest.raises(FormatError):
        apply_filters(o, dp=[100], af=[0.1], qual=[90], population=Pop())


def test_assay_line_spans_are_inclusive_and_numbers_parse_leniently():
    from deepamp.filters import _number, assay_of_header

    h = pysam.VariantHeader()
    h.add_line("##source=chr2:1-1000:capture")                       # another line's text is not read
    h.add_line("##deepamp_assay=chr2:100-200:capture;chr7:5-9:unknown")
    shape = assay_of_header(h)
    assert [shape("chr2", p) for p in (99, 100, 200, 201)] == ["amplicon", "capture", "capture", "amplicon"]
    assert shape("chr7", 9) == "unknown" and shape("chr2", 10) == "amplicon"
    assert math.isnan(_number(None)) and _number(None, 5.0) == 5.0 and math.isnan(_number(()))
    assert _number(("3",)) == 3.0 and _number((None,), 2.0) == 2.0 and math.isnan(_number("x"))


def test_orientation_posterior_threshold_is_exclusive():
    res = apply_filters(FilterOptions(min_cov=None, sb_alpha=None), dp=[100] * 2, af=[0.1] * 2, qual=[90] * 2,
                        orientation=[0.5, 0.5000001], assay=["capture"] * 2)
    assert list(res.failed["orientation_bias"]) == [False, True]


def test_filter_vcf_keeps_earlier_filters(tmp_path):
    text = LOFREQ_VCF.replace("#CHROM", '##FILTER=<ID=q10,Description="earlier">\n#CHROM').replace(
        "chr2\t29220747\t.\tC\tT\t49314\tPASS", "chr2\t29220747\t.\tC\tT\t49314\tq10")
    vin = _write(tmp_path, text)
    out = str(tmp_path / "out.vcf")
    n, n_pass = filter_vcf(vin, out, FilterOptions())
    flt = {r[1]: r[6] for r in (ln.split("\t") for ln in open(out) if not ln.startswith("#"))}
    assert flt["29220747"] == "q10" and flt["29220860"] == "PASS"
    assert (n, n_pass) == (6, 3)
