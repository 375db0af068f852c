"""deepamp background: learning on simulated controls, round trip, mismatch rejection, CLI errors."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from deepamp.models import background as bgm
from deepamp.models.background_fit import learn_from_counts
from deepamp.cli import main
from deepamp.workflow.demo import GRCH38_CHR2_LENGTH, data_path
from deepamp.errors import FormatError, InputFileError, ReferenceFileError
from deepamp.counting.bam import count
from deepamp.simulate import RunErrorProfile, Spike, simulate

REF = data_path("ALK_hg38_chr2_29191796-29223795.fa")
BED = data_path("alk_exons22-25_amplicons.bed")
GERMLINE = Spike("chr2", 29220800, "C", "T", 0.5)
PAIRS = 2500


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    d = tmp_path_factory.mktemp("bg")
    bams = []
    for j in range(4):
        b = str(d / f"ctrl{j}.bam")
        simulate(REF, BED, b, pairs_per_amplicon=PAIRS, spikes=[GERMLINE] if j == 0 else [], run_seed=3,
                 sample_seed=50 + j, contig_length={"chr2": GRCH38_CHR2_LENGTH}, sample=f"ctrl{j}")
        bams.append(b)
    tumour = str(d / "tumour.bam")
    simulate(REF, BED, tumour, pairs_per_amplicon=PAIRS, spikes=[Spike("chr2", 29220747, "C", "T", 0.02)],
             run_seed=3, sample_seed=99, contig_length={"chr2": GRCH38_CHR2_LENGTH}, sample="tumour")
    counts = [count(b, bed=BED, reference=REF, qual_hist=False) for b in bams]
    bg = learn_from_counts(counts, [os.path.basename(b) for b in bams])
    return d, bams, tumour, counts, bg


def test_hotspots_of_the_run_get_high_rates(sim):
    from deepamp.io.reference import Reference

    _, _, _, counts, bg = sim
    rate = bg.rate.mean(axis=2)
    median = float(np.median(rate[rate > 0]))
    with Reference(REF) as ref:
        prof = RunErrorProfile(ref, run_seed=3)
        hot = [h for r in counts[0].regions for h in prof.hotspots(r.contig, r.start, r.end)
               if h.rate >= 0.005 and h.level != "read"]  # read-level: one mate only, dropped by merging
    assert hot, "the simulated run has hot spots on the panel"
    for h in hot:
        i = counts[0].index_of(h.contig, h.pos - 1)
        assert rate[i, "ACGT".index(h.alt)] > 10 * median, (h, rate[i], median)


def test_germline_control_is_excluded_and_reported(sim):
    _, _, _, counts, bg = sim
    i = counts[0].index_of("chr2", GERMLINE.pos - 1)
    t = "ACGT".index("T")
    assert bg.rate[i, t].max() < 0.01                     # not inflated by ctrl0's 50 % SNP
    assert bg.n_controls_used[i, t] == 3
    ex = [e for e in bg.meta["excluded"] if e["pos"] == GERMLINE.pos - 1]
    assert len(ex) == 1 and ex[0]["control"] == "ctrl0.bam" and ex[0]["alt"] == "T"
    assert any("excluded ctrl0.bam at chr2:29220800 C>T" in line for line in bg.summary_lines())
    # the SNP's alt bases are not counted as mismatches
    c0 = bg.meta["controls"][0]
    raw_mm, _ = bgm.mismatch_rate(counts[0].counts, counts[0].ref_code)
    assert c0["mismatches"] == raw_mm - int(counts[0].counts[i, t, :].sum())


def test_contamination_outlier_detected_without_germline_level():
    # 4 controls, site 0 C>T: three at ~1e-3, one at 3 % (contamination): excluded by the outlier test
    P = 3
    ref = np.array(["C", "A", "G"])
    base = []
    for j, k in enumerate([10, 12, 9, 300]):
        c = np.zeros((P, 7, 2), np.uint32)
        c[:, :, :] = 0
        c[0, 1, :] = 5000 - k // 2
        c[0, 3, 0] = k // 2
        c[0, 3, 1] = k - k // 2
        c[1, 0, :] = 5000
        c[2, 2, :] = 5000
        base.append(_counts(c, ref))
    bg = learn_from_counts(base, ["a", "b", "c", "d"])
    assert [e["control"] for e in bg.meta["excluded"]] == ["d"]
    assert bg.rate[0, 3].mean() < 0.004
    # same data without the contaminated control's effect size floor violated: nothing excluded
    base2 = base[:3]
    assert learn_from_counts(base2, ["a", "b", "c"]).meta["excluded"] == []


def _counts(c, ref):
    from deepamp.counting.result import CountResult

    return CountResult.from_arrays("chr2", np.arange(100, 100 + len(ref)), ref, c)


def test_shrinkage_towards_context_class():
    # a site with almost no control depth takes the class rate, a deep one its own
    ref = np.array(["A", "C", "A", "C", "A", "C", "A", "C"])
    c = np.zeros((8, 7, 2), np.uint32)
    for i in range(8):
        r = "ACGT".index(ref[i])
        c[i, r, :] = 20000
        c[i, 3 if r != 3 else 0, :] = 20      # 1e-3 error everywhere
    c[6, :, :] = 0
    c[6, 0, :] = 2                            # shallow site, no errors seen
    c[7, 1, :] = 20000
    c[7, 3, :] = 400                          # deep site with its own 2 % rate
    bg = learn_from_counts([_counts(c, ref)], ["x"])
    assert bg.rate[6, 3].mean() > 1e-4        # pulled up towards the class, not 0
    assert 0.01 < bg.rate[7, 3].mean() < 0.03


def test_round_trip_and_lookup(sim, tmp_path):
    _, _, _, counts, bg = sim
    path = str(tmp_path / "bg.npz")
    bg.save(path)
    back = bgm.load(path)
    np.testing.assert_array_equal(back.rate, bg.rate)
    np.testing.assert_array_equal(back.dispersion, bg.dispersion)
    assert back.meta == json.loads(json.dumps(bg.meta))
    rf, rr, d = back.lookup(counts[0].contig, counts[0].pos, counts[0].ref)
    np.testing.assert_array_equal(rf, bg.rate[:, :, 0])
    assert 0 < back.pooled_mismatch_rate < 0.01
    assert back.flat_vaf_threshold == pytest.approx(2.5 * back.pooled_mismatch_rate)


def test_lookup_rejects_other_panel_and_reference(sim):
    _, _, _, counts, bg = sim
    c = counts[0]
    with pytest.raises(ReferenceFileError, match="does not match the panel"):
        bg.lookup(c.contig, c.pos + 100000, c.ref)
    ref2 = c.ref.copy()
    ref2[5] = "A" if ref2[5] != "A" else "C"
    with pytest.raises(ReferenceFileError, match="another reference"):
        bg.lookup(c.contig, c.pos, ref2)


def test_old_format_and_garbage_rejected(sim, tmp_path):
    _, _, _, _, bg = sim
    old = bgm.Background(bg.contig, bg.pos, bg.ref, bg.rate, bg.dispersion, bg.n_controls_used,
                         dict(bg.meta, version=0))
    p = str(tmp_path / "old.npz")
    old.save(p)
    with pytest.raises(FormatError, match="old.npz: background file format version 0"):
        bgm.load(p)
    junk = tmp_path / "junk.npz"
    junk.write_text("hello")
    with pytest.raises(InputFileError, match="junk.npz"):
        bgm.load(str(junk))
    with pytest.raises(InputFileError, match="not found"):
        bgm.load(str(tmp_path / "missing.npz"))



def test_a_background_with_inconsistent_arrays_or_positions_is_corrupt(sim, tmp_path):
    """load() checks the arrays' shapes against the positions and the positions against the stored hash."""
    import dataclasses

    _, _, _, _, bg = sim
    assert bg.panel_sha256 == bgm.panel_hash(bg.contig.astype(str), bg.pos, bg.ref.astype(str))
    short = dataclasses.replace(bg, rate=bg.rate[:-1])
    short.save(str(tmp_path / "short.npz"))
    with pytest.raises(FormatError, match="short.npz: background arrays have inconsistent shapes"):
        bgm.load(str(tmp_path / "short.npz"))
    ind = dict(bg.indels, junction_depth=bg.indels["junction_depth"][:-1])
    dataclasses.replace(bg, indels=ind).save(str(tmp_path / "junction.npz"))
    with pytest.raises(FormatError, match="inconsistent shapes"):
        bgm.load(str(tmp_path / "junction.npz"))
    moved = dataclasses.replace(bg, pos=bg.pos + 1)
    moved.save(str(tmp_path / "moved.npz"))
    with pytest.raises(FormatError, match="moved.npz: background file is corrupt"):
        bgm.load(str(tmp_path / "moved.npz"))


def test_indel_lookup_gives_a_seen_event_its_stored_rate(sim):
    """An event the controls saw gets its stored rate and dispersion; an unseen one at a panel position
    the zero-count posterior 0.5 / (n + 1) with dispersion min(1 / (n + 2), max_rho)."""
    _, _, _, _, bg = sim
    ind = bg.indels
    assert len(ind["indel_pos"]) > 0, "the simulated controls carry indel events"
    e = len(ind["indel_pos"]) - 1                                   # the last event, not the first
    key = (str(ind["indel_contig"][e]), int(ind["indel_pos"][e]), int(ind["indel_length"][e]),
           str(ind["indel_sequence"][e]))
    row = int(np.flatnonzero(bg.pos == key[1])[0])
    n = float(ind["junction_depth"][row])
    unseen = (key[0], key[1], key[2] + 7, "")
    rate, rho = bg.indel_lookup([key, unseen])
    assert (rate[0], rho[0]) == (ind["indel_rate"][e], ind["indel_dispersion"][e])
    max_rho = float(bg.meta.get("fit_params", {}).get("max_rho", bgm.BackgroundParams.max_rho))
    assert rate[1] == pytest.approx(0.5 / (n + 1.0)) and rho[1] == pytest.approx(min(1.0 / (n + 2.0), max_rho))

def test_controls_from_different_panels_or_empty(sim):
    _, _, _, counts, _ = sim
    c = counts[1]
    moved = _counts(c.counts[1:], c.ref[1:])
    with pytest.raises(ReferenceFileError, match="other panel or reference"):
        learn_from_counts([counts[2], moved], ["a.bam", "b.bam"])
    empty = _counts(np.zeros_like(c.counts), c.ref)
    empty.contig, empty.pos = c.contig, c.pos
    with pytest.raises(InputFileError, match="empty.bam: control has no coverage"):
        learn_from_counts([counts[2], empty], ["a.bam", "empty.bam"])


def test_cli_background_then_call(sim, tmp_path, capsys):
    d, bams, tumour, _, _ = sim
    bgfile = str(tmp_path / "bg.npz")
    assert main(["background", "-f", REF, "-l", BED, "-o", bgfile, *bams]) == 0
    err = capsys.readouterr().err
    assert "pooled:" in err and "implied flat VAF threshold" in err and "excluded ctrl0" not in err
    assert "excluded" in err
    out = str(tmp_path / "t.vcf")
    assert main(["call", "-f", REF, "-l", BED, "--background", bgfile, "--hotspots", "shipped",
                 "-o", out, tumour]) == 0
    body = [ln.split("\t") for ln in open(out) if not ln.startswith("#")]
    g1202r = [f for f in body if f[1] == "29220747" and f[4] == "T"]
    assert g1202r and "MODEL=background" in g1202r[0][7] and "FAMILY=hotspot" in g1202r[0][7]
    assert "BGRATE=" in g1202r[0][7]
    # a background learned on a different panel is rejected, with no output
    bad = str(tmp_path / "bad.npz")
    assert main(["background", "-f", REF, "-r", "chr2:29209754-29209800", "-o", bad, *bams[1:]]) == 0
    out2 = str(tmp_path / "t2.vcf")
    assert main(["call", "-f", REF, "-l", BED, "--background", bad, "-o", out2, tumour]) == 1
    assert "bad.npz: background does not match the panel" in capsys.readouterr().err
    assert not os.path.exists(out2)


def test_call_with_controls_equals_background_file(sim, tmp_path, capsys):
    """`call --control` learns the same background as `deepamp background` + `--background`."""
    d, bams, tumour, _, _ = sim
    bgfile = str(tmp_path / "bg.npz")
    assert main(["background", "-f", REF, "-l", BED, "-o", bgfile, "--quiet", *bams]) == 0
    out1, out2 = str(tmp_path / "a.vcf"), str(tmp_path / "b.vcf")
    assert main(["call", "-f", REF, "-l", BED, "--background", bgfile, "--quiet", "-o", out1, tumour]) == 0
    ctl = [a for b in bams for a in ("--control", b)]
    assert main(["call", "-f", REF, "-l", BED, *ctl, "-o", out2, tumour]) == 0
    err = capsys.readouterr().err
    assert "deepamp call: background: pooled:" in err

    def body(path):
        return [ln for ln in open(path) if not ln.startswith("#")]
    assert body(out1) == body(out2) and body(out1)
    assert any(ln.startswith("##deepamp_background=controls:") for ln in open(out2))
    # one source of background only
    assert main(["call", "-f", REF, "-l", BED, "--background", bgfile, "--control", bams[0],
                 "-o", str(tmp_path / "c.vcf"), tumour]) == 2
    assert not os.path.exists(tmp_path / "c.vcf")


def test_cli_control_without_coverage(sim, tmp_path, capsys):
    _, bams, _, _, _ = sim
    out = str(tmp_path / "bg.npz")
    # a region the amplicons do not cover: no counted bases in any control
    assert main(["background", "-f", REF, "-r", "chr2:29200000-29200100", "-o", out, bams[1]]) == 1
    assert "no coverage" in capsys.readouterr().err
    assert not os.path.exists(out)


def test_call_applies_filters_and_preset(sim, tmp_path, capsys):
    _, _, tumour, _, _ = sim
    out = str(tmp_path / "v.vcf")
    assert main(["call", "-f", REF, "-l", BED, "--preset", "villa2024", "-o", out, tumour]) == 0
    assert "population filter not applied" in capsys.readouterr().err
    text = open(out).read()
    for name in ("min_dp_5000", "min_af_0.006", "snvqual_fdr", "sba_fdr"):
        assert f"##FILTER=<ID={name}," in text
    body = [ln.split("\t") for ln in text.splitlines() if not ln.startswith("#")]
    assert body and all("min_dp_5000" in f[6] for f in body)     # ~2500x here
    assert main(["call", "-f", REF, "-l", BED, "--cov-min", "100", "--af-min", "0.015", "-o", out, tumour]) == 0
    body = {f[1] + f[4]: f[6] for f in (ln.split("\t") for ln in open(out) if not ln.startswith("#"))}
    assert body["29220747T"] == "PASS"                            # the 2 % spike
    assert all(v == "min_af_0.015" for k, v in body.items() if k != "29220747T")
    # without filter flags, LoFreq's default filters apply (as `lofreq call` runs `lofreq filter`) ...
    assert main(["call", "-f", REF, "-l", BED, "-o", out, tumour]) == 0
    text = open(out).read()
    assert "##FILTER=<ID=min_dp_10," in text and "##FILTER=<ID=sba_fdr," in text
    # ... and --no-default-filter switches them off: everything PASS, no ##FILTER lines
    assert main(["call", "-f", REF, "-l", BED, "--no-default-filter", "-o", out, tumour]) == 0
    text = open(out).read()
    assert "##FILTER=<ID=min" not in text
    assert all(ln.split("\t")[6] == "PASS" for ln in text.splitlines() if not ln.startswith("#"))
