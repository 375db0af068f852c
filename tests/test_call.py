"""Calling end to end: simulated amplicons with known spike-ins -> VCF, the
INFO fields' LoFreq meanings checked against the counts, calling from counts
that did not come from a BAM, the count table outputs and the demo."""

from __future__ import annotations

import math
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import numpy as np
import pysam
import pytest

from deepamp import cli
from deepamp.calling.snvs import call_snvs
from deepamp.counting.bam import count
from deepamp.counting.result import CountResult, load_counts
from deepamp.models.multiple_testing import phred
from deepamp.models.quality import quality_tests
from deepamp.errors import OptionError
from deepamp.options import CallOptions
from deepamp.simulate import Spike, simulate
from deepamp.models.strand_bias import fisher_logp, sba_phred, strand_bias_phred

DATA = resources.files("deepamp") / "data"
REF = str(DATA / "ALK_hg38_chr2_29191796-29223795.fa")
BED = str(DATA / "alk_exons22-25_amplicons.bed")
SPIKES = (Spike("chr2", 29220747, "C", "T", 0.05),     # ALK G1202R
          Spike("chr2", 29209816, "C", "G", 0.03))     # ALK G1269A


@pytest.fixture(scope="module")
def tumour(tmp_path_factory):
    d = tmp_path_factory.mktemp("tumour")
    bam = str(d / "tumour.bam")
    simulate(REF, BED, bam, pairs_per_amplicon=3000, spikes=SPIKES, run_seed=11, sample_seed=5,
             contig_length={"chr2": 242193529})
    return bam


def _call_vcf(tmp_path, bam, *extra):
    out = str(tmp_path / "calls.vcf.gz")
    assert cli.main(["call", "-f", REF, "-l", BED, "-o", out, "--quiet", *extra, bam]) == 0
    return out


def test_spikes_called_with_lofreq_info_meanings(tmp_path, tumour):
    out = _call_vcf(tmp_path, tumour)
    counts = count(tumour, bed=BED, reference=REF)
    with pysam.VariantFile(out) as vf:
        assert {"DP", "AF", "SB", "DP4"} <= set(vf.header.info)
        records = list(vf)
    called = {(r.pos, r.ref, r.alts[0]): r for r in records}
    for s in SPIKES:
        r = called[(s.pos, s.ref, s.alt)]
        assert r.filter.keys() == ["PASS"]
        row = counts.index_of("chr2", s.pos - 1)
        c = counts.counts[row]
        ref_i, alt_i = "ACGT".index(s.ref), "ACGT".index(s.alt)
        # DP = counted bases (mates merged); AF = alt / DP; DP4 = ref/alt x fwd/rev
        assert r.info["DP"] == int(counts.depth[row])
        assert r.info["DP4"] == (c[ref_i, 0], c[ref_i, 1], c[alt_i, 0], c[alt_i, 1])
        assert r.info["AF"][0] == pytest.approx((c[alt_i].sum()) / counts.depth[row], abs=1e-6)
        assert r.info["SB"] == (strand_bias_phred(*r.info["DP4"]),)   # Number=. (one value, as LoFreq)
        assert abs(r.info["AF"][0] - s.vaf) < 4 * math.sqrt(s.vaf / counts.depth[row]) + 0.005
    # QUAL is the Phred of the uncorrected quality-model p-value of that site
    tests = quality_tests(counts.counts, counts.qual_hist, counts.ref_code)
    row = counts.index_of("chr2", SPIKES[0].pos - 1)
    k = np.flatnonzero((tests.pos == row) & (tests.alt == "ACGT".index(SPIKES[0].alt)))[0]
    assert called[(SPIKES[0].pos, "C", "T")].qual == pytest.approx(
        float(phred(tests.logp[k:k + 1])[0]), abs=0.01)


def test_vcf_header_and_index(tmp_path, tumour):
    out = _call_vcf(tmp_path, tumour)
    text = pysam.BGZFile(out).read().decode()
    assert text.startswith("##fileformat=VCFv4.2\n")
    assert "##contig=<ID=chr2,length=242193529>" in text
    assert "##source=deepamp" in text and "##deepamp_reads=seen:" in text
    with pysam.VariantFile(out) as vf:   # the .tbi index answers region queries
        assert [r.pos for r in vf.fetch("chr2", 29220740, 29220750)] == [29220747]


@pytest.mark.skipif(shutil.which("bcftools") is None, reason="bcftools not installed")
def test_bcftools_reads_the_vcf(tmp_path, tumour):
    out = _call_vcf(tmp_path, tumour)
    res = subprocess.run(["bcftools", "view", "-H", out], capture_output=True, text=True)
    assert res.returncode == 0
    lines = res.stdout.strip().splitlines()
    assert any(line.split("\t")[1] == "29220747" for line in lines)


def test_output_deterministic_apart_from_date_and_command(tmp_path, tumour):
    a, b = tmp_path / "a.vcf", tmp_path / "b.vcf"
    for out, threads in ((a, "1"), (b, "2")):
        assert cli.main(["call", "-f", REF, "-l", BED, "--threads", threads, "-o", str(out),
                         "--quiet", tumour]) == 0
    strip = lambda p: [x for x in p.read_text().splitlines()
                       if not x.startswith(("##fileDate", "##commandline"))]
    assert strip(a) == strip(b)


def test_stdout_output(tmp_path, tumour, capsys):
    assert cli.main(["call", "-f", REF, "-r", "chr2:29220700-29220800", "--quiet", tumour]) == 0
    out = capsys.readouterr().out
    assert out.startswith("##fileformat=VCFv4.2")
    assert "\t29220747\t.\tC\tT\t" in out


def test_fixed_bonferroni_factor_changes_significance(tmp_path, tumour):
    strict = _call_vcf(tmp_path, tumour, "-b", "1000000000", "-a", "1e-30")
    loose = str(tmp_path / "loose.vcf")
    assert cli.main(["call", "-f", REF, "-l", BED, "--mtc", "none", "-o", loose, "--quiet", tumour]) == 0
    n_strict = len(list(pysam.VariantFile(strict)))
    n_loose = len(list(pysam.VariantFile(loose)))
    assert n_strict < n_loose


def _hand_counts(depth_rows):
    """A CountResult built by hand: (ref, {base: (fwd, rev)}, phred) per row."""
    n = len(depth_rows)
    counts = np.zeros((n, 7, 2), np.uint32)
    hist = np.zeros((n, 64), np.uint32)
    refs = []
    for i, (ref, bases, q) in enumerate(depth_rows):
        refs.append(ref)
        for b, (f, r) in bases.items():
            counts[i, "ACGT".index(b)] = (f, r)
        hist[i, q] = counts[i, :4].sum()
    return CountResult.from_arrays("chrT", np.arange(n), "".join(refs), counts, qual_hist=hist)


def test_call_from_counts_not_from_a_bam():
    counts = _hand_counts([
        ("A", {"A": (5000, 4900), "G": (60, 40)}, 30),   # 1% at Q30 (error 1e-3): real
        ("C", {"C": (5000, 5000), "T": (6, 5)}, 30),     # 0.11%, about the error rate: not real
        ("G", {"G": (5000, 5000)}, 30),                  # no alt: adds nothing to the burden
    ])
    variants, m, _ = call_snvs(counts, CallOptions())
    assert m == 6                                        # LoFreq: 3 per column with an alt base
    assert [(v.pos, v.ref, v.alt) for v in variants] == [(1, "A", "G")]
    assert variants[0].dp4 == (5000, 4900, 60, 40)
    # min coverage removes the column from testing and from the burden
    assert call_snvs(counts, CallOptions(min_cov=20000)) == ([], 0, {})


def test_fisher_matches_scipy():
    from scipy import stats as scipy_stats
    rng = np.random.default_rng(3)
    for _ in range(200):
        t = rng.integers(0, 40, 4) if rng.random() < 0.5 else np.array(
            [rng.integers(0, 20000), rng.integers(0, 20000), rng.integers(0, 300), rng.integers(0, 300)])
        want = scipy_stats.fisher_exact([[t[0], t[1]], [t[2], t[3]]]).pvalue
        got = math.exp(fisher_logp(*t))
        assert got == pytest.approx(want, rel=1e-6, abs=1e-12)
    assert strand_bias_phred(100, 100, 50, 0) > 30 and strand_bias_phred(100, 100, 10, 10) == 0


def test_count_tsv_and_npz_roundtrip(tmp_path, tumour):
    tsv, npz = tmp_path / "c.tsv", tmp_path / "c.npz"
    assert cli.main(["count", "-f", REF, "-l", BED, "-o", str(tsv), "--quiet", tumour]) == 0
    assert cli.main(["count", "-f", REF, "-l", BED, "-o", str(npz), "--quiet", tumour]) == 0
    direct = count(tumour, bed=BED, reference=REF)
    loaded = load_counts(npz)
    assert np.array_equal(loaded.counts, direct.counts)
    assert np.array_equal(loaded.qual_hist, direct.qual_hist)
    assert loaded.read_stats == direct.read_stats and loaded.base_stats == direct.base_stats
    assert len(loaded.indels) == len(direct.indels)
    lines = tsv.read_text().splitlines()
    header = lines[2].split("\t")
    assert header[:5] == ["contig", "pos", "ref", "A_fwd", "A_rev"] and header[-1] == "depth"
    row = next(line.split("\t") for line in lines[3:] if line.split("\t")[1] == "29220747")
    i = direct.index_of("chr2", 29220746)
    assert int(row[header.index("T_fwd")]) == direct.counts[i, 3, 0]
    assert int(row[-1]) == direct.depth[i]


@pytest.mark.slow
def test_demo_without_an_aligner_calls_the_simulated_bam_through_the_whole_flow(tmp_path, capsys):
    out = tmp_path / "demo"
    assert cli.main(["demo", "-o", str(out), "--pairs", "5000", "--controls", "2", "--no-align"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == str(out / "demo_tumour.report.html") and Path(lines[-1]).is_file()
    for name in ("G1202R", "L1196M", "G1269A", "C1156Y"):
        line = next(x for x in lines if name in x)
        assert line.rstrip().endswith("PASS"), line
    assert "no aligner installed" in lines[0]
    assert (out / "demo_tumour.input.primers.tsv").is_file()       # the BAM was primer-clipped first


@pytest.mark.parametrize("argv, code, message", [
    (["call", "-f", REF, "-l", BED, "x.bam"], 1, "x.bam: alignment file not found"),
    (["call", "-f", REF, "MISSING.bam"], 2, "-l AMPLICONS.bed or -r"),
    (["count", "-l", BED, "-o", "/nonexistent-dir/out.tsv", "x.bam"], 1, "does not exist"),
])
def test_cli_errors_are_one_line(argv, code, message, capsys):
    assert cli.main(argv) == code
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and message in err


def test_call_requires_reference(tmp_path, tumour, capsys):
    assert cli.main(["call", "-l", BED, "-o", str(tmp_path / "x.vcf"), tumour]) == 2
    assert "-f/--ref" in capsys.readouterr().err
    assert not (tmp_path / "x.vcf").exists()


def test_usage_error_exit_code(capsys):
    assert cli.main(["call", "--no-such-flag"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_iupac_reference_positions_are_reported_not_silently_skipped(tmp_path, capsys):
    """A reference Y (mixed C/T in a spike-in design) is counted but cannot be
    tested; the run says so on stderr and in the VCF header, naming the site."""
    from conftest import sam_header, sam_to_bam

    seq = "ACGTACGTAC" + "Y" + "GTACGTACGTACGTACGTAC"
    fa = str(tmp_path / "iupac.fa")
    with open(fa, "w") as fh:
        fh.write(f">s\n{seq}\n")
    pysam.faidx(fa)
    reads = [f"r{i}\t0\ts\t1\t60\t31M\t*\t0\t0\t{seq.replace('Y', 'CT'[i % 2])}\t{'I' * 31}"
             for i in range(20)]
    bam = sam_to_bam(tmp_path, sam_header({"s": 31}) + "\n".join(reads))
    out = str(tmp_path / "c.vcf")
    assert cli.main(["call", "-f", fa, "-r", "s:1-31", "-o", out, bam]) == 0
    err = capsys.readouterr().err
    assert "31 positions, 30 tested for SNVs; not tested: non_acgt_ref=1" in err
    assert "s:11(Y)" in err
    header = [line for line in open(out) if line.startswith("##deepamp_sites=")]
    assert header == ["##deepamp_sites=positions:31,tested:30,non_acgt_ref:1,no_coverage:0,below_min_cov:0\n"]


def test_count_file_that_is_a_plain_numpy_array_is_refused(tmp_path):
    from deepamp.errors import InputFileError

    path = tmp_path / "not_counts.npz"
    with open(path, "wb") as fh:
        np.save(fh, np.arange(3))
    with pytest.raises(InputFileError, match="not a deepamp count file"):
        load_counts(str(path))


@pytest.mark.slow
def test_demo_bypass_panel_spans_contigs_and_the_report_shows_the_bypass_section(tmp_path, capsys):
    """ALK + ten bypass-gene amplicons on a reference of slices of five contigs: call, background,
    phase, annotate and report end to end; the off-target changes reach the report's bypass section."""
    out = tmp_path / "demo"
    assert cli.main(["demo", "-o", str(out), "--panel", "bypass", "--pairs", "3000", "--controls", "2",
                     "--no-align"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for name in ("ALK G1202R", "EGFR E746_A750del", "BRAF V600E"):
        assert next(x for x in lines if x.startswith(name)).rstrip().endswith("PASS"), name
    with pysam.VariantFile(str(out / "demo_tumour.vcf.gz")) as fh:
        assert {c for c in fh.header.contigs} >= {"chr1", "chr2", "chr3", "chr7", "chr12", "chr15"}
    tsv = (out / "demo_tumour.annotated.tsv").read_text()
    assert "p.E746_A750del" in tsv and "p.V600E" in tsv
    html = Path(lines[-1]).read_text()
    assert "Off-target (bypass) changes" in html and "EGFR exon 19 deletion" in html
    assert "switching ALK inhibitor alone is not expected to help" in html


def _plain_counts(rows):
    """(ref, depth of ref bases forward, reverse) per row; no quality histograms."""
    counts = np.zeros((len(rows), 7, 2), np.uint32)
    for i, (ref, f, r) in enumerate(rows):
        if ref in "ACGT":
            counts[i, "ACGT".index(ref)] = (f, r)
        else:
            counts[i, 0] = (f, r)
    return CountResult.from_arrays("chrT", np.arange(len(rows)), "".join(r[0] for r in rows), counts)


def test_testable_ref_code_and_site_stats_use_min_cov_inclusively():
    from deepamp.calling.snvs import site_stats, testable_ref_code

    counts = _plain_counts([("A", 0, 0), ("C", 3, 2), ("G", 5, 5), ("T", 6, 5), ("N", 10, 10), ("A", 1, 0),
                            ("C", 0, 0)])
    # depth: 0, 5, 10, 11, 20 (ref N), 1, 0
    code = testable_ref_code(counts, CallOptions(min_cov=10))
    assert code.tolist() == [4, 4, 2, 3, 4, 4, 4]         # depth 10 is enough at -C 10; N never testable
    assert testable_ref_code(counts, CallOptions(min_cov=0)).tolist() == [4, 1, 2, 3, 4, 0, 4]  # depth 0 never
    st = site_stats(counts, CallOptions(min_cov=10))
    assert {k: st[k] for k in ("positions", "tested", "non_acgt_ref", "no_coverage", "below_min_cov")} == \
        {"positions": 7, "tested": 2, "non_acgt_ref": 1, "no_coverage": 2, "below_min_cov": 2}
    assert st["non_acgt_ref_positions"] == ["chrT:5(N)"]
    st = site_stats(counts, CallOptions(min_cov=0))
    assert (st["tested"], st["no_coverage"], st["below_min_cov"]) == (4, 2, 0)


def test_quality_model_on_counts_without_histograms_needs_an_error_rate():
    counts = _plain_counts([("A", 5000, 4900), ("C", 5000, 5000)])
    counts.counts[0, 2] = (60, 40)                         # 1% G against a 1e-3 error rate: real
    with pytest.raises(OptionError):
        call_snvs(counts, CallOptions())
    calls, m, _ = call_snvs(counts, CallOptions(base_error_rate=1e-3))
    assert [(c.pos, c.ref, c.alt) for c in calls] == [(1, "A", "G")]


def test_background_rate_of_a_call_is_weighted_by_strand_depth():
    from deepamp.models.background import Background

    counts = _plain_counts([("A", 5000, 1000), ("C", 3000, 3000)])
    counts.counts[0, 2] = (300, 20)                        # G: 320 of 6320
    counts.counts[0, 4] = (400, 0)                         # N reads: not bases of the rate's strand depth
    rate = np.full((2, 4, 2), 1e-4)
    rate[0, 2] = (1e-3, 4e-3)                              # G after A: forward 1e-3, reverse 4e-3
    bg = Background(np.array(["chrT", "chrT"]), np.array([0, 1]), np.array(["A", "C"]), rate,
                    np.full((2, 4), 1e-3), np.full((2, 4), 5, np.int16))
    calls, m, _ = call_snvs(counts, CallOptions(), background=bg)
    assert [(c.pos, c.alt, c.model) for c in calls] == [(1, "G", "background")]
    d_f, d_r = 5300, 1020                                  # counted bases per strand at the site
    assert calls[0].rate == pytest.approx((d_f * 1e-3 + d_r * 4e-3) / (d_f + d_r), rel=1e-12)


def test_matched_normal_must_share_positions_and_counts_at_min_cov():
    from deepamp.errors import ReferenceFileError

    tumour = _plain_counts([("A", 4500, 4500), ("C", 5000, 5000)])
    tumour.counts[0, 2] = (500, 500)                       # 10% G
    normal = _plain_counts([("A", 50, 50), ("C", 50, 50)])  # depth 100, no G
    calls, _, _ = call_snvs(tumour, CallOptions(min_cov=100), normal=normal)
    assert [(c.pos, c.alt, c.direction) for c in calls] == [(1, "G", "gain")]
    # the tumour at exactly min_cov is tested too
    deep_normal = _with_normal_depth(normal, 10000)        # tumour and normal both at exactly -C 10000
    assert [c.pos for c in call_snvs(tumour, CallOptions(min_cov=10000), normal=deep_normal).calls] == [1]
    assert call_snvs(tumour, CallOptions(min_cov=101), normal=normal).calls == []  # the normal is too shallow
    other = CountResult.from_arrays("chrU", normal.pos, "AC", normal.counts)
    with pytest.raises(ReferenceFileError):
        call_snvs(tumour, CallOptions(min_cov=100), normal=other)


def _two_site_counts():
    counts = _plain_counts([("A", 5000, 4900), ("C", 3, 2)])
    counts.counts[0, 2] = (60, 40)                         # 1% G, both strands: real, PASS
    counts.counts[1, 3] = (2, 1)                           # 3 T of 8 at depth 8: real, below -v 10
    return counts


def test_call_counts_hotspots_only_when_asked_and_ref_mismatches_warn(tmp_path):
    import deepamp

    counts = _two_site_counts()
    plain = deepamp.call_counts(counts, base_error_rate=1e-3, indels=False)
    assert set(plain.tests) == {"snv", "indel"} and plain.tests["indel"] == 0
    assert [c.family for c in plain.calls] == ["panel", "panel"] and plain.warnings == []
    hs = tmp_path / "h.tsv"
    hs.write_text("contig\tpos\tref\talt\nchrT\t1\tA\tG\nchrT\t2\tG\tT\n")   # the second has the wrong REF
    hot = deepamp.call_counts(counts, base_error_rate=1e-3, indels=False, hotspots=str(hs))
    assert hot.tests["hotspot"] == 1
    assert [c.family for c in hot.calls] == ["hotspot", "panel"]
    assert len(hot.warnings) == 1 and hot.warnings[0].startswith("hotspots: 1 alleles have another REF")


def test_call_counts_applies_filters_unless_none_and_honours_snvs_indels():
    import deepamp

    counts = _two_site_counts()
    res = deepamp.call_counts(counts, base_error_rate=1e-3, indels=False)
    assert [(c.pos, c.filters) for c in res.calls] == [(1, []), (2, ["min_dp_10"])]
    assert all(c.obp is None and c.popaf is None for c in res.calls)
    assert res.calls[0].sba == pytest.approx(sba_phred(*res.calls[0].dp4), abs=0.01)
    assert "min_dp_10" in res.filter_descriptions
    raw = deepamp.call_counts(counts, base_error_rate=1e-3, indels=False, filters=None)
    assert [c.filters for c in raw.calls] == [[], []] and raw.calls[0].sba is None
    only_indels = deepamp.call_counts(counts, base_error_rate=1e-3, snvs=False)
    assert only_indels.calls == [] and only_indels.tests["snv"] == 0


def test_region_index_is_one_based_inclusive_of_the_end():
    from deepamp.calling.call import _region_index
    import dataclasses
    from deepamp.io.regions import Region

    counts = dataclasses.replace(_two_site_counts(), regions=[Region("chrT", 0, 1), Region("chrT", 1, 2)])
    find = _region_index(counts)
    assert [find("chrT", p) for p in (0, 1, 2, 3)] == [-1, 0, 1, -1]
    assert find("chrU", 1) == -1


def test_call_counts_reads_the_population_vcf_of_the_filters(tmp_path):
    import deepamp
    from deepamp.options import FilterOptions
    from test_filters import _population

    c = np.zeros((2, 7, 2), np.uint32)
    c[:, 1] = (5000, 4900)                                # reference C at both
    c[0, 3] = (60, 40)                                    # C>T at 29220747: AF 1e-6 in the population
    c[1, 0] = (60, 40)                                    # C>A at 29220860: AF 0.5 in the population
    counts = CountResult.from_arrays("chr2", [29220746, 29220859], "CC", c)
    filters = FilterOptions(sb_alpha=None, population_vcf=_population(tmp_path))
    res = deepamp.call_counts(counts, base_error_rate=1e-3, indels=False, filters=filters)
    assert [(c.pos, c.popaf, c.filters) for c in res.calls] == [(29220747, 1e-6, []),
                                                                 (29220860, 0.5, ["popaf_1e-05"])]


def test_call_counts_names_the_background_and_refuses_a_normal_counted_otherwise(tmp_path):
    import os

    import deepamp
    from deepamp.errors import ReferenceFileError
    from deepamp.models.background import Background
    from deepamp.options import CountOptions

    counts = _two_site_counts()
    bg = Background(np.array(["chrT", "chrT"]), np.array([0, 1]), np.array(["A", "C"]), np.full((2, 4, 2), 1e-4),
                    np.full((2, 4), 1e-3), np.full((2, 4), 5, np.int16), {"panel_sha256": "p"},
                    path=str(tmp_path / "bg.npz"))
    res = deepamp.call_counts(counts, background=bg, indels=False, filters=None)
    assert res.background_source == os.path.abspath(bg.path) and res.background_panel == "p"
    named = deepamp.call_counts(counts, background=bg, background_source="controls:a,b", indels=False, filters=None)
    assert named.background_source == "controls:a,b"
    from report_inputs import write_background

    path = write_background(tmp_path / "saved.npz")               # a background file by its path
    assert deepamp.call_counts(_saved_panel_counts(), background=path, indels=False,
                               filters=None).background_source == os.path.abspath(path)
    t = CountResult.from_arrays("chrT", counts.pos, "AC", counts.counts, options=CountOptions(min_bq=6))
    n = CountResult.from_arrays("chrT", counts.pos, "AC", counts.counts, options=CountOptions(min_bq=10))
    with pytest.raises(ReferenceFileError, match="min_bq 10 vs 6"):
        deepamp.call_counts(t, normal=n, indels=False, filters=None)
    same = CountResult.from_arrays("chrT", counts.pos, "AC", counts.counts, options=CountOptions(min_bq=6))
    assert deepamp.call_counts(t, normal=same, indels=False, filters=None).calls == []


def _saved_panel_counts():
    """Counts over the demo panel's positions (those of report_inputs.write_background), reference only."""
    from report_inputs import panel_positions

    contig, pos, ref = panel_positions()
    c = np.zeros((len(pos), 7, 2), np.uint32)
    for i, r in enumerate(ref):
        if r in "ACGT":
            c[i, "ACGT".index(r)] = (500, 500)
    return CountResult.from_arrays(contig, pos, "".join(ref), c)


def _with_normal_depth(normal, depth):
    """The same normal scaled so its first site has ``depth`` reads (fractions unchanged)."""
    scale = depth // int(normal.depth[0])
    return CountResult.from_arrays(normal.contig, normal.pos, "".join(normal.ref), normal.counts * scale)


def test_hotspot_burden_counts_testable_alleles_only(tmp_path):
    from deepamp.calling.hotspots import load_hotspots

    counts = _plain_counts([("A", 5000, 4900), ("C", 0, 0), ("G", 5, 5)])
    counts.counts[0, 2] = (60, 40)                         # 1% G: real
    hs = tmp_path / "h.tsv"
    hs.write_text("contig\tpos\tref\talt\nchrT\t1\tA\tG\nchrT\t2\tC\tT\nchrT\t3\tG\tA\n")
    hot = load_hotspots(hs)
    # depth 0 (row 2) is never testable; depth 10 (row 3) is at -C 10 but not at -C 11
    _, _, fam = call_snvs(counts, CallOptions(min_cov=0, base_error_rate=1e-3), hotspots=hot)
    assert fam == {"hotspot": 2}
    _, _, fam = call_snvs(counts, CallOptions(min_cov=10, base_error_rate=1e-3), hotspots=hot)
    assert fam == {"hotspot": 2}
    _, _, fam = call_snvs(counts, CallOptions(min_cov=11, base_error_rate=1e-3), hotspots=hot)
    assert fam == {"hotspot": 1}
    quiet = _plain_counts([("A", 5000, 4900)])             # no alt read anywhere: nothing to test
    calls, m, fam = call_snvs(quiet, CallOptions(base_error_rate=1e-3), hotspots=hot)
    assert calls == [] and fam == {"hotspot": 1}


def test_site_stats_lists_the_first_ten_non_acgt_positions():
    from deepamp.calling.snvs import site_stats

    st = site_stats(_plain_counts([("N", 5, 5)] * 12), CallOptions())
    assert st["non_acgt_ref"] == 12
    assert st["non_acgt_ref_positions"] == [f"chrT:{i}(N)" for i in range(1, 11)]
