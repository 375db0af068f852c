"""Indel calling: spiked insertions/deletions in simulated deep amplicons are found
with LoFreq's INFO meanings, homopolymer slippage at the simulator's default rate is
not called, events are left-normalised, p-values match scipy, the VCF reads back in
pysam and bcftools, and ``deepamp filter`` / ``--background`` handle indels."""

from __future__ import annotations

import math
import shutil
import subprocess
from importlib import resources

import numpy as np
import pysam
import pytest
from scipy import stats
from scipy.special import logsumexp

from deepamp import cli
from deepamp.models import background as bgm
from deepamp.models.background_fit import learn as learn_background
from deepamp.options import CallOptions
from deepamp.errors import FormatError
from deepamp.models.indel_context import DINDEL_PHRED, CalibrationParams, calibrate, dindel_rate, fit_kind
from deepamp.calling.indels import call_indels, collect_events
from deepamp.counting.bam import count
from deepamp.io.reference import Reference
from deepamp.simulate import Spike, simulate

from conftest import ref_fasta, sam_header, sam_to_bam

DATA = resources.files("deepamp") / "data"
REF = str(DATA / "ALK_hg38_chr2_29191796-29223795.fa")
BED = str(DATA / "alk_exons22-25_amplicons.bed")
CONTIG = {"chr2": 242193529}
PAIRS = 4000

# (spike as given to the simulator, expected left-normalised VCF POS/REF/ALT, 0-based raw-event
# anchors that denote the same event, event length)
CASES = [
    # in-frame 3-bp deletion in the exon 25 amplicon
    (Spike("chr2", 29209800, "GGCC", "G", 0.01), (29209800, "GGCC", "G"), range(29209799, 29209800), -3),
    # 2-bp insertion given right of its left-most position
    (Spike("chr2", 29213990, "A", "AGA", 0.005), (29213988, "G", "GGA"), range(29213987, 29213990), 2),
    # 1-bp deletion and insertion inside the C6 homopolymer next to G1202R, given at its right end
    (Spike("chr2", 29220750, "CC", "C", 0.02, "hp_del"), (29220745, "TC", "T"), range(29220744, 29220751), -1),
    (Spike("chr2", 29220751, "C", "CC", 0.03, "hp_ins"), (29220745, "T", "TC"), range(29220744, 29220751), 1),
    # 1-bp deletion in a T3 run
    (Spike("chr2", 29222340, "TT", "T", 0.05), (29222338, "CT", "C"), range(29222337, 29222340), -1),
]


@pytest.fixture(scope="module")
def tumour(tmp_path_factory):
    d = tmp_path_factory.mktemp("indel_tumour")
    bam = str(d / "tumour.bam")
    simulate(REF, BED, bam, pairs_per_amplicon=PAIRS, spikes=[c[0] for c in CASES], run_seed=11,
             sample_seed=5, contig_length=CONTIG)
    return bam


@pytest.fixture(scope="module")
def deep_control(tmp_path_factory):
    """A healthy control at 25,000 read pairs per amplicon with the default homopolymer slippage."""
    d = tmp_path_factory.mktemp("indel_control")
    bam = str(d / "control.bam")
    simulate(REF, BED, bam, pairs_per_amplicon=25000, run_seed=1, sample_seed=1000, contig_length=CONTIG)
    return bam


def _call(tmp_path, bam, *extra, name="calls.vcf.gz"):
    out = str(tmp_path / name)
    assert cli.main(["call", "-f", REF, "-l", BED, "-o", out, "--quiet", *extra, bam]) == 0
    return out


def _records(vcf):
    with pysam.VariantFile(vcf) as vf:
        return list(vf)


def test_spiked_indels_called_with_lofreq_meanings(tmp_path, tumour):
    with Reference(REF) as ref:
        for spike, (pos, r, a), _, _ in CASES:
            assert ref.fetch("chr2", spike.start0, spike.end0) == spike.ref
            assert ref.fetch("chr2", pos - 1, pos - 1 + len(r)) == r
    recs = _records(_call(tmp_path, tumour))
    indels = {(x.pos, x.ref, x.alts[0]): x for x in recs if "INDEL" in x.info}
    counts = count(tumour, bed=BED, reference=REF)
    ind = counts.indels
    obs = counts.counts[:, :6, :].sum(axis=1).astype(np.int64)
    for spike, key, anchors, length in CASES:
        rec = indels[key]
        assert rec.filter.keys() == ["PASS"] and rec.info["FAMILY"] == "indel"
        # alt = every raw event that denotes this indel, wherever the aligner anchored it
        raw = np.isin(ind.pos, list(anchors)) & (ind.length == length)
        alt_fwd, alt_rev = (int(v) for v in ind.count[raw].sum(axis=0))
        # DP = fragments spanning the anchor -> next-base junction, per strand (the
        # kernel's junction counts, checked against the oracle in test_pileup_oracle)
        row = counts.index_of("chr2", key[0] - 1)
        span = counts.junction[row].astype(np.int64)
        same_kind = (ind.pos == key[0] - 1) & (np.sign(ind.length) == np.sign(length))
        other = ind.count[same_kind & ~raw].sum(axis=0)
        dp4 = (int(span[0] - alt_fwd - other[0]), int(span[1] - alt_rev - other[1]), alt_fwd, alt_rev)
        assert rec.info["DP4"] == dp4
        assert rec.info["DP"] == int(span.sum())
        assert abs(rec.info["DP"] - PAIRS) < 0.1 * PAIRS
        af = rec.info["AF"][0]
        assert af == pytest.approx((alt_fwd + alt_rev) / rec.info["DP"], abs=1e-6)
        sd = math.sqrt(spike.vaf * (1 - spike.vaf) / rec.info["DP"])
        assert abs(af - spike.vaf) < 4 * sd + 1e-3
        assert rec.info["HRUN"] >= 1 and rec.info["MODEL"] == "context"
    assert indels[(29220745, "TC", "T")].info["HRUN"] == 6
    # nothing but the spikes
    assert set(indels) == {c[1] for c in CASES}
    # sorted by position together with the SNVs
    order = [(x.pos, len(x.ref) != len(x.alts[0])) for x in recs]
    assert order == sorted(order)


def test_homopolymer_slippage_at_default_rate_not_called(deep_control):
    for merge in (True, False):
        counts = count(deep_control, bed=BED, reference=REF, merge_mates=merge)
        calls, m, _, _ = call_indels(counts, CallOptions())
        assert calls == [], [(v.pos, v.ref, v.alt, v.alt_count) for v in calls]
        assert m == len(collect_events(counts))
    # the artefacts are there to be (not) called: the C6 run shows slippage in single reads
    table = collect_events(count(deep_control, bed=BED, reference=REF, merge_mates=False))
    at_run = (table.pos == 29220744) & (table.repeat == 6)
    assert int(table.count[at_run].sum()) >= 20


def test_left_normalisation_of_repeat_indels(tmp_path):
    seq = "GATTACAGGT" + "ACAGCAGCAGTT" + "CCCCAAGT" + "TGCATGCAAC" * 3
    fa = ref_fasta(tmp_path, {"c1": seq})
    read_seq_del = seq[:17] + seq[20:50]           # deletes the last CAG copy (0-based 17-19)
    read_seq_ins = seq[:26] + "C" + seq[26:50]     # inserts a C after the last C of the C4 run
    lines = []
    for i in range(6):
        lines.append(f"d{i}\t0\tc1\t1\t60\t17M3D30M\t*\t0\t0\t{read_seq_del}\t{'I' * 47}")
        lines.append(f"i{i}\t16\tc1\t1\t60\t26M1I24M\t*\t0\t0\t{read_seq_ins}\t{'I' * 51}")
    bam = sam_to_bam(tmp_path, sam_header({"c1": len(seq)}) + "\n".join(lines))
    counts = count(bam, ["c1:1-50"], reference=fa)
    assert sorted(counts.indels.pos.tolist()) == [16, 25]           # as the aligner placed them
    t = collect_events(counts)
    got = {(int(p) + 1, str(r), str(a)): tuple(c) for p, r, a, c in zip(t.pos, t.ref, t.alt, t.count.tolist())}
    # reported at the left-most anchor of the repeat: A before (CAG)x3, T before C4
    assert got == {(11, "ACAG", "A"): (6, 0), (22, "T", "TC"): (0, 6)}
    assert t.repeat.tolist() == [3, 4] and t.hrun.tolist()[1] == 4
    # every read spans both junctions; DP4 ref = reads without an indel of the same kind there
    assert t.depth.tolist() == [[6, 6], [6, 6]]
    assert t.ref_count.tolist() == [[0, 6], [6, 0]]


# A8 run at 0-based 12-19; the region below starts at 0-based 15, inside the run
HP_SEQ = ("GATTACAGGTCCAAAAAAAAGTCAGTCAGGTACGATCGATCGGCTAGCTAGGACTTTGCA" * 2)


def _hp_reads(seq):
    """Reads starting at 0-based 10 that place one A deletion / insertion at different anchors."""
    lines = []
    for i in range(5):
        for name, read, cigar in (
                ("dl", seq[10:17] + seq[18:50], "7M1D32M"),      # anchor 16
                ("dr", seq[10:19] + seq[20:50], "9M1D30M"),      # anchor 18
                ("il", seq[10:17] + "A" + seq[17:50], "7M1I33M"),  # anchor 16
                ("ir", seq[10:20] + "A" + seq[20:50], "10M1I30M")):  # anchor 19
            lines.append(f"{name}{i}\t0\tc1\t11\t60\t{cigar}\t*\t0\t0\t{read}\t{'I' * len(read)}")
    return lines


def test_region_starting_inside_a_homopolymer_merges_placements_and_uses_the_whole_run(tmp_path):
    fa = ref_fasta(tmp_path, {"c1": HP_SEQ})
    bam = sam_to_bam(tmp_path, sam_header({"c1": len(HP_SEQ)}) + "\n".join(_hp_reads(HP_SEQ)))
    counts = count(bam, ["c1:16-40"], reference=fa)
    assert sorted(set(counts.indels.pos.tolist())) == [16, 18, 19]      # as the aligner placed them
    t = collect_events(counts)
    got = {(int(p), str(r), str(a)): tuple(c) for p, r, a, c in zip(t.pos, t.ref, t.alt, t.count.tolist())}
    # the left-most placement (anchor 11) is not counted: all placements go to the first counted anchor
    assert got == {(15, "AA", "A"): (10, 0), (15, "A", "AA"): (10, 0)}
    assert t.repeat.tolist() == [8, 8] and t.hrun.tolist() == [8, 8]
    calls, _, _, _ = call_indels(counts, CallOptions(alpha=1.0, mtc="none"))
    # 25 counted positions: too few sites to calibrate, so Dindel's A8 rate as is
    assert [v.info["IDRATE"] for v in calls] == [float(f"{float(dindel_rate(8)):.4g}")] * 2
    # with the whole run counted the same events go to the left-most anchor, with the same repeat
    t = collect_events(count(bam, ["c1:1-40"], reference=fa))
    assert sorted(zip(t.pos.tolist(), t.ref.tolist(), t.alt.tolist(), t.repeat.tolist())) == \
        [(11, "C", "CA", 8), (11, "CA", "C", 8)]
    assert t.count.sum(axis=1).tolist() == [10, 10]


def test_insertions_with_n_are_counted_not_tested(tmp_path, capsys):
    seq = HP_SEQ
    fa = ref_fasta(tmp_path, {"c1": seq})
    lines = []
    for i in range(5):
        for name, ins in (("n", "N"), ("g", "G"), ("m", "GN")):
            read = seq[0:30] + ins + seq[30:60]
            lines.append(f"{name}{i}\t0\tc1\t1\t60\t30M{len(ins)}I30M\t*\t0\t0\t{read}\t{'I' * len(read)}")
    bam = sam_to_bam(tmp_path, sam_header({"c1": len(seq)}) + "\n".join(lines))
    counts = count(bam, ["c1:1-60"], reference=fa)
    assert sorted(counts.indels.sequence.astype(str).tolist()) == ["G", "GN", "N"]
    t = collect_events(counts)
    assert t.alt.tolist() == ["AG"] and t.pos.tolist() == [27]         # G after GG: left-normalised
    assert t.untested == {"inserted N": (2, 10)}
    calls, m, notes, _ = call_indels(counts, CallOptions(alpha=1.0, mtc="none"))
    assert m == 1 and [v.alt for v in calls] == ["AG"]
    assert "indels: 2 events (10 fragments) not tested: inserted N" in notes
    out = str(tmp_path / "n.vcf")
    assert cli.main(["call", "-f", fa, "-r", "c1:1-60", "-o", out, bam]) == 0
    assert "deepamp call: indels: 2 events (10 fragments) not tested: inserted N" in capsys.readouterr().err
    assert [r.alts[0] for r in _records(out) if "INDEL" in r.info] == ["AG"]


def test_pvalues_match_scipy(tumour):
    counts = count(tumour, bed=BED, reference=REF)
    calls, _, _, _ = call_indels(counts, CallOptions(alpha=1.0, mtc="none"))
    table = collect_events(counts)
    fits = calibrate(table, counts)
    assert len(calls) >= len(CASES)
    for v in calls:
        i = next(j for j in range(len(table)) if table.pos[j] == v.pos - 1 and table.ref[j] == v.ref
                 and table.alt[j] == v.alt)
        fit = fits["deletion" if table.length[i] < 0 else "insertion"]
        h = min(int(table.repeat[i]), 18)
        x = min(h, fit.h_max) - 1
        rate = min(10 ** (-DINDEL_PHRED[h - 1] / 10) * math.exp(fit.a + fit.b * x), 0.5)
        assert v.info["IDRATE"] == pytest.approx(rate, rel=1e-3)
        if fit.rho > 0:
            sc = (1 - fit.rho) / fit.rho
            expect = stats.betabinom.logsf(v.alt_count - 1, v.dp, rate * sc, (1 - rate) * sc)
        else:
            expect = stats.binom.logsf(v.alt_count - 1, v.dp, rate)
        if expect > -700:
            assert v.logp == pytest.approx(expect, rel=1e-6, abs=1e-9)


def test_calibration_recovers_level_and_dispersion_and_excludes_real_variants():
    """Sites drawn from the model itself (level 8x Dindel, 1.3x more per repeat
    unit, rho = 2e-4) plus two real indels at 2% and 1%: the fit recovers the
    level, the growth and rho, and leaves the two out."""
    rng = np.random.default_rng(3)
    n_sites = 400
    h = rng.choice([1, 1, 1, 2, 3, 4, 6], n_sites)
    n = rng.integers(8000, 30000, n_sites)
    mu = 8 * 1.3 ** (h - 1) * dindel_rate(h)
    rho = 2e-4
    sc = (1 - rho) / rho
    k = rng.binomial(n, rng.beta(mu * sc, (1 - mu) * sc))
    real = np.flatnonzero(h == 1)[[3, 100]]          # where errors are rare
    k[real] = (0.02 * n[real[0]], 0.01 * n[real[1]])
    fit = fit_kind(k, n, h, CalibrationParams())
    assert fit.excluded >= 2 and fit.excluded <= 4
    assert 8 * 0.75 < fit.factor < 8 * 1.33
    assert 1.15 < math.exp(fit.b) < 1.45 and fit.h_max == 6
    assert rho / 3 < fit.rho < rho * 3
    # fewer sites than min_sites: Dindel as is
    small = fit_kind(k[:10], n[:10], h[:10], CalibrationParams())
    assert (small.factor, small.rho) == (1.0, 0.0)


def test_vcf_reads_back_and_is_deterministic(tmp_path, tumour):
    a = _call(tmp_path, tumour, name="a.vcf.gz")
    b = _call(tmp_path, tumour, "--threads", "2", name="b.vcf.gz")
    recs = _records(a)
    assert any("INDEL" in r.info for r in recs) and any("INDEL" not in r.info for r in recs)
    with pysam.VariantFile(a) as vf:
        assert {"INDEL", "HRUN", "IDRATE"} <= set(vf.header.info)

    def body(path):
        with pysam.BGZFile(path) as fh:
            return [x for x in fh.read().decode().splitlines()
                    if not x.startswith(("##fileDate", "##commandline"))]

    assert body(a) == body(b)
    if shutil.which("bcftools") is None:
        pytest.skip("bcftools not installed (.ci/run installs it)")
    out = subprocess.run(["bcftools", "view", "-H", "-i", "INFO/INDEL=1", a], capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert len(out) == len(CASES)


def test_indel_switches(tmp_path, tumour):
    no = _records(_call(tmp_path, tumour, "--no-indels", name="no.vcf"))
    only = _records(_call(tmp_path, tumour, "--only-indels", "--call-indels", name="only.vcf"))
    assert no and not any("INDEL" in r.info for r in no)
    assert len(only) == len(CASES) and all("INDEL" in r.info for r in only)


def test_filter_handles_indel_records(tmp_path, tumour):
    vcf = _call(tmp_path, tumour)
    raw = {(r.pos, r.ref, r.alts[0]): r for r in _records(vcf)}
    thresh = int(raw[(29213988, "G", "GGA")].qual) + 1       # just above the 0.5% insertion's QUAL
    assert raw[(29222338, "CT", "C")].qual > thresh
    out = str(tmp_path / "filtered.vcf")
    assert cli.main(["filter", "-i", vcf, "-o", out, "-a", "0.006", "--snvqual-thresh", str(thresh)]) == 0
    recs = {(r.pos, r.ref, r.alts[0]): r for r in _records(out)}
    ins = recs[(29213988, "G", "GGA")]                       # 0.5%: fails the AF filter
    assert "min_af_0.006" in ins.filter.keys()
    assert f"min_indelqual_{thresh}" in ins.filter.keys()  # indel QUAL judged as an indel
    assert recs[(29222338, "CT", "C")].filter.keys() == ["PASS"]
    assert "SBA" in ins.info


def test_background_learns_indel_events(tmp_path, tumour):
    kw = dict(pairs_per_amplicon=2000, run_seed=11, contig_length=CONTIG)
    c1, c2 = str(tmp_path / "c1.bam"), str(tmp_path / "c2.bam")
    simulate(REF, BED, c1, sample_seed=21, spikes=[Spike("chr2", 29222340, "TT", "T", 0.5)], **kw)
    simulate(REF, BED, c2, sample_seed=22, **kw)
    bg = learn_background([c1, c2], reference=REF, bed=BED)
    ex = bg.meta["excluded_indels"]
    assert [(e["control"], e["pos"] + 1, e["ref"], e["alt"]) for e in ex] == [(c1, 29222338, "CT", "C")]
    path = str(tmp_path / "bg.npz")
    bg.save(path)
    bg = bgm.load(path)
    counts = count(tumour, bed=BED, reference=REF)
    calls, m, _, _ = call_indels(counts, CallOptions(), background=bg)
    assert {(v.pos, v.ref, v.alt) for v in calls} == {c[1] for c in CASES}
    assert all(v.model == "background" and "BGRATE" in v.info for v in calls)
    # the germline carrier is excluded: the rate is the zero-count posterior over c2's depth
    v = next(v for v in calls if v.ref == "CT")
    assert v.info["BGRATE"] < 1e-3
    for x in calls:                                   # beta-binomial tails against scipy
        rate, rho = bg.indel_lookup([("chr2", x.pos - 1, len(x.alt) - len(x.ref),
                                      (x.alt if len(x.alt) > len(x.ref) else x.ref)[1:])])
        s = (1 - rho[0]) / rho[0]
        # summed pmf (scipy's betabinom.sf is 1 - cdf and loses the far tail)
        ks = np.arange(x.alt_count, x.dp + 1)
        expect = logsumexp(stats.betabinom.logpmf(ks, x.dp, rate[0] * s, (1 - rate[0]) * s))
        assert x.logp == pytest.approx(expect, rel=1e-6)
    # a version-1 file (no indel arrays) is refused with the re-run message
    old = bgm.Background(bg.contig, bg.pos, bg.ref, bg.rate, bg.dispersion, bg.n_controls_used,
                         dict(bg.meta, version=1))
    old.save(str(tmp_path / "v1.npz"))
    with pytest.raises(FormatError, match="format version 1; this deepamp reads version 2: re-run"):
        bgm.load(str(tmp_path / "v1.npz"))


def test_reference_windows_per_cluster_read_as_one_window_over_the_span(amplicon_run):
    """Bases are kept around clusters of regions only (a panel's regions on one contig can be tens
    of megabases apart); any request answers as one window over the regions' span +- the pad would:
    the FASTA's bases within it, N outside."""
    from deepamp.counting.indel_table import _PAD, _RefWindows
    from deepamp.io.regions import read_bed

    bed = read_bed(amplicon_run.bed)
    far = [bed[0], bed[3]]                     # ~12 kb apart: two clusters
    counts = count(amplicon_run.tumour, far, reference=amplicon_run.ref)
    win = _RefWindows(counts)
    assert len(win._win["chr2"]) == 2
    lo, hi = bed[0].start - _PAD, bed[3].end + _PAD
    with Reference(amplicon_run.ref) as ref:
        def expect(a, b):
            return "".join(ref.fetch("chr2", p, p + 1) if lo <= p < hi else "N" for p in range(a, b))
        rng = np.random.default_rng(3)
        for a in rng.integers(lo - 800, hi + 200, 60).tolist() + [bed[0].end + 100, bed[0].end + _PAD - 5]:
            for n in (1, 7, 130, 900):
                assert win.fetch("chr2", a, a + n) == expect(a, a + n), (a, n)
    no_ref = _RefWindows(dataclasses_replace_source(counts))
    inside = bed[3].start + 10
    assert no_ref.fetch("chr2", inside, inside + 5) == "".join(counts.ref[counts.pos.searchsorted(inside):][:5])
    assert no_ref.fetch("chr2", bed[0].end, bed[0].end + 3) == "NNN"


def dataclasses_replace_source(counts):
    import dataclasses

    return dataclasses.replace(counts, source={k: v for k, v in counts.source.items() if k != "reference"})


def test_dindel_rate_and_kind_fit_rate_by_hand():
    from deepamp.models.indel_context import KindFit

    np.testing.assert_allclose(dindel_rate([0, 1, 6, 18, 30]),
                               [10 ** -4.4, 10 ** -4.4, 10 ** -3.6, 10 ** -2.1, 10 ** -2.1])
    f = KindFit(a=math.log(2.0), b=0.5, h_max=4, rho=0.01, sites=30, excluded=0)
    assert f.factor == pytest.approx(2.0)
    h = np.array([0, 1, 3, 4, 10])
    x = np.array([0, 0, 2, 3, 3])                        # min(max(h, 1), h_max) - 1
    np.testing.assert_allclose(f.rate(h), dindel_rate(h) * 2.0 * np.exp(0.5 * x))
    assert KindFit(a=20.0, b=0.0, h_max=1, rho=0, sites=0, excluded=0).rate(1) == 0.5   # capped


def test_run_sites_by_hand():
    from deepamp.models.indel_context import run_sites

    #          0    1    2    3    4    5    6    7    8(gap)  9    10(N)  11 (other contig)
    contig = ["c"] * 11 + ["d"]
    pos = [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12]
    ref = list("ACCCGTTAAC") + ["N", "C"]
    rows, h = run_sites(np.array(contig), np.array(pos), np.array(ref))
    # p+1 starts a run: 1 (CCC), 4 (G), 5 (TT), 7 (A, but only 1 counted row: 8 is not adjacent), 9 (C)
    assert rows.tolist() == [0, 3, 4, 6, 8]
    assert h.tolist() == [3, 1, 2, 1, 1]
    assert [len(x) for x in run_sites(np.array(["c"]), np.array([0]), np.array(["A"]))] == [0, 0]


def test_fit_kind_level_and_rho_by_hand():
    from deepamp.models.indel_context import DINDEL_AS_IS, describe

    params = CalibrationParams()
    n = np.full(30, 100000.0)
    k = np.array([11, 12, 13] * 10, float)               # homopolymer length 1 everywhere: no growth to fit
    h = np.ones(30, int)
    fit = fit_kind(k, n, h, params)
    d = 10 ** -4.4
    a = math.log(k.sum() / (n * d).sum())                 # Poisson MLE of the level
    assert (fit.b, fit.h_max, fit.sites, fit.excluded) == (0.0, 1, 30, 0)
    assert fit.a == pytest.approx(a, rel=1e-6)
    p = d * math.exp(a)
    chi = ((k - n * p) ** 2 / (n * p * (1 - p))).sum()
    assert fit.rho == pytest.approx(min(0.2, max(0.0, (chi - 30) / (n - 1).sum())), abs=1e-12)
    # too few sites (depth below min_site_depth does not count): Dindel as is
    shallow = fit_kind(k, np.where(np.arange(30) < 11, 99.0, 100.0), h, params)
    assert shallow == DINDEL_AS_IS.__class__(0.0, 0.0, 1, 0.0, 19, 0)
    exact = fit_kind(k[:20], np.full(20, 100.0), h[:20], params)
    assert exact.sites == 20 and exact.a > 0                # 20 sites at depth 100 are enough to fit
    assert describe({"deletion": fit}) == (f"deletion:F={math.exp(fit.a):.3g};growth=1/unit;rho={fit.rho:.3g};"
                                           "sites=30;excluded=0")


def test_fit_kind_recovers_level_and_growth_from_expected_counts():
    h = np.repeat([1, 2, 3], 10)
    n = np.full(30, 1_000_000.0)
    d = dindel_rate(h)                                    # Dindel is flat (Q44) over lengths 1..3
    k = np.round(n * d * 2.0 * np.exp(0.3 * (h - 1)))     # level 2, growth e^0.3 per unit
    fit = fit_kind(k, n, h, CalibrationParams())
    assert fit.h_max == 3 and fit.excluded == 0
    assert fit.factor == pytest.approx(2.0, rel=0.02)
    assert fit.b == pytest.approx(0.3, abs=0.01)


def test_outlier_exclusion_keeps_at_least_min_sites():
    def fit(n_sites):
        k = [11.0, 12.0, 13.0] * 10
        k = np.array(k[:n_sites - 1] + [2000.0])          # one real variant among background sites
        return fit_kind(k, np.full(n_sites, 100000.0), np.ones(n_sites, int), CalibrationParams())

    kept = fit(21)                                        # 20 left after excluding it: allowed
    assert (kept.sites, kept.excluded) == (20, 1)
    assert kept.factor == pytest.approx(12.0 / (100000 * 10 ** -4.4), rel=0.05)  # mean k of the 20 kept ~ 12
    short = fit(20)                                       # 19 would be left: the variant stays in
    assert (short.sites, short.excluded) == (20, 0)


def test_calibrate_reads_deletions_and_insertions_of_the_next_base():
    from types import SimpleNamespace

    from deepamp.models.indel_context import calibrate

    P = 31
    ref = np.array(list("AC" * 16)[:P])
    counts = SimpleNamespace(contig=np.array(["c"] * P), pos=np.arange(P), ref=ref,
                             junction_depth=lambda: np.full((P, 2), 50000))
    rows = np.arange(P - 1)                              # every row but the last precedes a 1-base run
    table = SimpleNamespace(row=rows, length=np.ones(P - 1, int), sequence=ref[rows + 1],
                            count=np.tile([6, 6], (P - 1, 1)))
    fits = calibrate(table, counts)
    assert fits["deletion"].a == 0.0                      # no deletion events: Dindel's level
    assert fits["insertion"].factor == pytest.approx(12 / (100000 * 10 ** -4.4), rel=1e-6)
    assert fits["insertion"].sites == P - 1
    # every site holds exactly its expected 12 events: no over-dispersion, nothing excluded
    assert (fits["insertion"].rho, fits["insertion"].excluded) == (0.0, 0)


def test_fitted_rate_is_capped_at_one_half():
    # 80 % of fragments with the event: a level far above Dindel's, but the per-fragment rate stops at 0.5, so
    # every site sits 0.3 n above it: chi = (0.3 n)^2 / (0.25 n) per site, rho clipped at max_rho
    n = np.full(25, 100000.0)
    fit = fit_kind(0.8 * n, n, np.ones(25, int), CalibrationParams())
    assert float(fit.rate(1)) == 0.5
    assert fit.rho == CalibrationParams().max_rho
