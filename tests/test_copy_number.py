"""Copy number from amplicon depth: the Student t tail, the single-case t test of Crawford and Howell
(1998), Holm's adjustment, simulated gains and losses against controls, and ``deepamp cnv``."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import deepamp
from deepamp import cli
from deepamp.errors import InputFileError, OptionError, RegionError
from deepamp.io.regions import Region
from deepamp.models.copy_number import CopyNumberOptions, copy_number_from_counts
from deepamp.models.multiple_testing import holm
from deepamp.models.student_t import t_quantile, t_sf, t_two_sided
from deepamp.simulate import simulate
from tests.conftest import ALK_BED, ALK_REF

PAIRS = 2000
JITTER = 0.05
EFFICIENCY = 0.2


# ---------------------------------------------------------------- Student t

@pytest.mark.parametrize("df", [1, 2, 3, 7, 15, 60.5])
def test_t_tail_and_quantile_match_scipy(df):
    for t in (-8.0, -2.0, -0.3, 0.0, 0.7, 2.365, 6.0, 25.0):
        assert t_sf(t, df) == pytest.approx(stats.t.sf(t, df), rel=1e-10, abs=1e-300)
        assert t_two_sided(t, df) == pytest.approx(2 * stats.t.sf(abs(t), df), rel=1e-10)
    for q in (0.0005, 0.025, 0.3, 0.5, 0.975, 0.9995):
        assert t_quantile(q, df) == pytest.approx(stats.t.ppf(q, df), rel=1e-9, abs=1e-12)
    assert t_sf(math.inf, df) == 0.0 and t_sf(-math.inf, df) == 1.0
    with pytest.raises(ValueError):
        t_sf(1.0, 0)
    with pytest.raises(ValueError):
        t_quantile(1.0, df)


def test_holm_against_a_hand_computation():
    p = np.array([0.01, 0.04, 0.03, 0.5])
    # sorted 0.01, 0.03, 0.04, 0.5 times 4, 3, 2, 1 = 0.04, 0.09, 0.08 -> 0.09 (monotone), 0.5
    assert np.exp(holm(np.log(p), 4)) == pytest.approx([0.04, 0.09, 0.09, 0.5])


# ---------------------------------------------------------------- the test on counts of known depth

def _counts(depths, amplicons):
    """A CountResult with constant depth ``depths[i]`` over amplicon i."""
    contig, pos, depth = [], [], []
    for d, a in zip(depths, amplicons):
        contig += [a.contig] * len(a)
        pos += list(range(a.start, a.end))
        depth += [int(d)] * len(a)
    counts = np.zeros((len(pos), 4, 2), np.int64)
    counts[:, 0, 0] = depth
    return deepamp.CountResult.from_arrays(np.array(contig), np.array(pos), "A" * len(pos), counts)


def _panel(genes):
    return [Region("chr1", 1000 * i, 1000 * i + 100, f"{g}_{i}") for i, g in enumerate(genes)]


def test_crawford_howell_statistic_interval_and_holm():
    amps = _panel(["A"] * 4)
    rng = np.random.default_rng(5)
    eff = np.array([1.0, 0.6, 1.4, 0.9])
    controls = [_counts(np.rint(3000 * rng.uniform(0.7, 1.3) * eff * rng.lognormal(0, 0.08, 4)), amps)
                for _ in range(6)]
    sample_depth = np.rint(2000 * eff * np.array([1.0, 1.0, 1.8, 1.0]))
    res = copy_number_from_counts(_counts(sample_depth, amps), controls, amps)
    # by hand: log2 depths, efficiencies, each amplicon against the median of the other three
    cl = np.log2(np.array([[c.depth[c.pos == a.start][0] for a in amps] for c in controls]) + 0.5)
    e = (cl - cl.mean(axis=1, keepdims=True)).mean(axis=0)

    def rel(row):
        lv = row - e
        return np.array([lv[i] - np.median(np.delete(lv, i)) for i in range(4)])

    c = np.array([rel(r) for r in cl])
    x = rel(np.log2(sample_depth + 0.5))
    n = len(controls)
    sd = c.std(axis=0, ddof=1) * math.sqrt(1 + 1 / n)
    t = (x - c.mean(axis=0)) / sd
    p = 2 * stats.t.sf(np.abs(t), n - 1)
    half = stats.t.ppf(0.975, n - 1) * sd
    padj = np.exp(holm(np.log(p), 4))
    for i, row in enumerate(res):
        assert row.t == pytest.approx(t[i], rel=1e-9) and row.df == n - 1
        assert row.p == pytest.approx(p[i], rel=1e-8)
        assert row.padj == pytest.approx(padj[i], rel=1e-8)
        assert row.log2_ratio == pytest.approx(x[i] - c.mean(axis=0)[i], abs=1e-12)
        assert (row.log2_low, row.log2_high) == pytest.approx((row.log2_ratio - half[i], row.log2_ratio + half[i]))
        assert row.ratio == pytest.approx(2 ** row.log2_ratio)
    assert [r.call for r in res] == ["", "", "gain", ""]
    assert res.calls[0].amplicon == "A_2" and 1.6 < res.calls[0].ratio < 2.0


def test_a_whole_gene_gain_is_visible_when_two_other_genes_are_on_the_panel():
    amps = _panel(["ALK", "ALK", "MET", "MET", "EGFR", "EGFR", "MYC"])
    rng = np.random.default_rng(9)
    controls = [_counts(np.rint(3000 * rng.lognormal(0, 0.05, 7)), amps) for _ in range(8)]
    gained = np.array([2.0, 2.0, 1, 1, 1, 1, 1])
    res = copy_number_from_counts(_counts(np.rint(3000 * gained), amps), controls, amps)
    assert [r.call for r in res] == ["gain", "gain", "", "", "", "", ""]
    # on a one-gene panel the same change is shared by every amplicon and cancels
    one = _panel(["ALK"] * 4)
    controls = [_counts(np.rint(3000 * rng.lognormal(0, 0.05, 4)), one) for _ in range(8)]
    assert not copy_number_from_counts(_counts([6000] * 4, one), controls, one).calls


def test_too_few_controls_and_too_few_amplicons():
    amps = _panel(["A"] * 3)
    c = _counts([1000] * 3, amps)
    with pytest.raises(OptionError, match="at least 3 controls, got 2"):
        copy_number_from_counts(c, [c, c], amps)
    with pytest.raises(RegionError, match="at least 2 amplicons"):
        copy_number_from_counts(c, [c, c, c], amps[:1])
    with pytest.raises(OptionError, match="alpha"):
        CopyNumberOptions(alpha=0)


# ---------------------------------------------------------------- simulated gains and losses

def _sim(path, seed, **kw):
    simulate(ALK_REF, ALK_BED, str(path), pairs_per_amplicon=PAIRS, run_seed=1, sample_seed=seed,
             amplicon_jitter_sd=JITTER, amplicon_efficiency_sd=EFFICIENCY, **kw)
    return str(path)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    d = tmp_path_factory.mktemp("cn")
    controls = [_sim(d / f"control{i}.bam", 100 + i) for i in range(8)]
    left_out = _sim(d / "left_out.bam", 200)
    tumour = _sim(d / "tumour.bam", 300, copy_number={"ALK_ex23": 2.0, "ALK_ex25": 0.5})
    return d, controls, left_out, tumour


def test_simulated_gain_and_loss_are_called_and_a_left_out_control_is_not(cohort):
    _, controls, left_out, tumour = cohort
    res = deepamp.copy_number(tumour, controls, reference=ALK_REF, bed=ALK_BED)
    by = {r.amplicon: r for r in res}
    assert by["ALK_ex23"].call == "gain" and 1.7 < by["ALK_ex23"].ratio < 2.3
    assert by["ALK_ex25"].call == "loss" and 0.4 < by["ALK_ex25"].ratio < 0.6
    assert by["ALK_ex23"].ratio_interval[0] < 2.0 < by["ALK_ex23"].ratio_interval[1]
    assert by["ALK_ex22"].call == by["ALK_ex24"].call == ""
    assert res.sample == "tumour" and len(res.controls) == 8 and len(res) == 4
    assert not deepamp.copy_number(left_out, controls, reference=ALK_REF, bed=ALK_BED).calls


def test_whole_gene_changes_on_the_wider_panel_are_called(tmp_path):
    """On the bypass panel (ALK + 7 other genes) a gain of all of ALK and a loss of all of EGFR are seen."""
    from deepamp.workflow.demo import bypass_panel

    ref, bed = bypass_panel(str(tmp_path / "panel" / "bypass"))

    def sim(name, seed, **kw):
        simulate(ref, bed, str(tmp_path / f"{name}.bam"), pairs_per_amplicon=1000, sample_seed=seed,
                 amplicon_jitter_sd=JITTER, amplicon_efficiency_sd=EFFICIENCY, **kw)
        return str(tmp_path / f"{name}.bam")

    controls = [sim(f"c{i}", 50 + i) for i in range(8)]
    names = [ln.split("\t")[3].strip() for ln in open(bed)]
    change = {n: 2.0 for n in names if n.startswith("ALK_")} | {n: 0.5 for n in names if n.startswith("EGFR_")}
    res = deepamp.copy_number(sim("t", 77, copy_number=change), controls, reference=ref, bed=bed)
    assert {r.amplicon: r.call for r in res.calls} == {n: "gain" if f > 1 else "loss" for n, f in change.items()}
    assert {r.gene for r in res} >= {"ALK", "EGFR", "KRAS", "BRAF"}


def test_simulate_scales_the_molecules_of_an_amplicon(tmp_path):
    kw = dict(pairs_per_amplicon=200, sample_seed=3)
    plain = simulate(ALK_REF, ALK_BED, str(tmp_path / "a.bam"), **kw)
    doubled = simulate(ALK_REF, ALK_BED, str(tmp_path / "b.bam"), copy_number={"ALK_ex22": 2.0}, **kw)
    assert plain.n_pairs == 800 and doubled.n_pairs == 1000
    jittered = simulate(ALK_REF, ALK_BED, str(tmp_path / "c.bam"), amplicon_jitter_sd=0.3, **kw)
    assert jittered.n_pairs != 800
    with pytest.raises(RegionError, match="no amplicon is named 'ALK'"):
        simulate(ALK_REF, ALK_BED, str(tmp_path / "d.bam"), copy_number={"ALK": 2.0}, **kw)
    with pytest.raises(ValueError, match="factor"):
        simulate(ALK_REF, ALK_BED, str(tmp_path / "d.bam"), copy_number={"ALK_ex22": 0.0}, **kw)
    assert not (tmp_path / "d.bam").exists()


# ---------------------------------------------------------------- deepamp cnv

def _cnv(*args):
    return cli.main(["cnv", "-f", ALK_REF, "-l", ALK_BED, "--quiet", *args])


def test_cnv_cli_end_to_end_matches_the_library(cohort, tmp_path):
    _, controls, _, tumour = cohort
    out = tmp_path / "cn.tsv"
    assert _cnv(*[a for c in controls for a in ("--control", c)], tumour, "-o", str(out)) == 0
    lines = [ln.rstrip("\n").split("\t") for ln in out.read_text().splitlines() if not ln.startswith("#")]
    header, rows = lines[0], {r[0]: dict(zip(lines[0], r)) for r in lines[1:]}
    assert header[:2] == ["amplicon", "gene"] and "padj" in header
    assert rows["ALK_ex23"]["call"] == "gain" and rows["ALK_ex25"]["call"] == "loss"
    assert rows["ALK_ex22"]["call"] == rows["ALK_ex24"]["call"] == "."
    lib = {r.amplicon: r for r in deepamp.copy_number(tumour, controls, reference=ALK_REF, bed=ALK_BED)}
    assert float(rows["ALK_ex23"]["ratio"]) == pytest.approx(lib["ALK_ex23"].ratio, rel=1e-3)


def test_cnv_cli_errors_are_one_line_and_leave_no_output(cohort, tmp_path, capsys):
    d, controls, _, tumour = cohort
    out = tmp_path / "cn.tsv"
    three = [a for c in controls[:3] for a in ("--control", c)]
    cases = [
        (["--control", controls[0], "--control", controls[1], tumour], 2, "at least 3 controls, got 2"),
        ([*three, "--control", str(d / ".." / d.name / "control0.bam"), tumour], 1, "the same control is given twice"),
        ([*three, "--control", tumour, tumour], 1, "the sample is given as its own control"),
        ([*three, "--control", str(d / "missing.bam"), tumour], 1, "missing.bam"),
        ([*three, str(d / "missing.bam")], 1, "missing.bam"),
        ([tumour], 2, "--control"),
        ([*three, "--alpha", "2", tumour], 2, "--alpha"),
    ]
    for args, code, message in cases:
        capsys.readouterr()
        assert _cnv(*args, "-o", str(out)) == code, args
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
        assert not out.exists()
    assert _cnv(*three, tumour, "-o", controls[0]) == 1
    assert "would overwrite the input" in capsys.readouterr().err


def test_simulate_cli_copy_number_values(tmp_path, capsys):
    base = ["simulate", "-f", ALK_REF, "-l", ALK_BED, "--pairs", "100", "--quiet"]
    for bad in ("ALK_ex23", "ALK_ex23=x", "ALK_ex23=0", "ALK_ex23=-1", "=2"):
        capsys.readouterr()
        assert cli.main([*base, "--copy-number", bad, "-o", str(tmp_path / "s.bam")]) == 2, bad
        err = capsys.readouterr().err
        assert "--copy-number" in err and err.count("\n") == 1, err
    assert cli.main([*base, "--amplicon-jitter", "-0.1", "-o", str(tmp_path / "s.bam")]) == 2
    assert cli.main([*base, "--copy-number", "ALK_ex23=2", "--copy-number", "ALK_ex23=3",
                     "-o", str(tmp_path / "s.bam")]) == 2
    assert cli.main([*base, "--copy-number", "EGFR=2", "-o", str(tmp_path / "s.bam")]) == 1
    assert not list(tmp_path.iterdir())
    assert cli.main([*base, "--copy-number", "ALK_ex23=1.5", "--amplicon-jitter", "0.05",
                     "--amplicon-efficiency-sd", "0.1", "-o", str(tmp_path / "s.bam")]) == 0
    assert (tmp_path / "s.bam").exists()
