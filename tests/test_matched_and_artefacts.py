"""The matched-normal model (against scipy and on simulated pairs), the assay shape, the
read-orientation artefact model and the unflagged-duplicate warning."""

from __future__ import annotations

import math

import numpy as np
import pysam
import pytest
from scipy import stats
from scipy.special import logsumexp

import deepamp
from deepamp import cli
from deepamp.counting.assay_shape import assay_shapes
from deepamp.io.regions import Region
from deepamp.models.matched_normal import matched_event_tests, matched_tests, pair_rho
from deepamp.models.orientation_bias import artefact_posterior, type_artefacts
from deepamp.simulate import Spike, simulate

from conftest import ref_fasta, sam_header, sam_to_bam


# ---------------------------------------------------------------- matched normal: the test itself

def _pair(tumour: list[tuple[int, int, int, int]], normal: list[tuple[int, int, int, int]]):
    t = np.zeros((len(tumour), 7, 2), np.int64)
    n = np.zeros_like(t)
    t[:, :4, 0] = tumour
    n[:, :4, 0] = normal
    return t, n


def test_matched_test_is_the_beta_binomial_predictive_of_the_normal():
    tumour = [(9900, 100, 0, 0), (9990, 10, 0, 0), (5000, 0, 5000, 0), (9000, 0, 0, 1000)]
    normal = [(9995, 5, 0, 0), (9990, 10, 0, 0), (5000, 0, 5000, 0), (100, 0, 0, 9900)]
    t, n = _pair(tumour, normal)
    res = matched_tests(t, n, np.zeros(4, np.int64))
    got = {(int(p), int(b)): (float(lp), float(r)) for p, b, lp, r in zip(res.pos, res.base, res.logp, res.rho)}
    # site 0: C 100 of 10000 against the normal's 5 of 10000
    k, nt, kn, nn = 100, 10000, 5, 10000
    mu = (kn + 0.5) / (nn + 1)
    lp, rho = got[(0, 1)]
    s = (1 - rho) / rho
    want = logsumexp(stats.betabinom.logpmf(np.arange(k, nt + 1), nt, mu * s, (1 - mu) * s))
    assert lp == pytest.approx(want, rel=1e-6)
    assert rho >= 1 / (nn + 2)
    # site 1 (equal fractions) and site 2 (a shared 50 % allele) are no gain: not tested
    assert not any(p in (1, 2) for p, _ in got)
    # site 3: the tumour carries less T than its normal (10 % vs 99 %): a gain of the reference A,
    # reported as the loss of T
    i = int(np.flatnonzero(res.pos == 3)[0])
    assert res.base[i] == 0 and res.loss[i] and res.alt[i] == 3
    assert res.alt_count[i] == 1000 and res.normal_count[i] == 9900
    assert res.m == sum(1 for row in tumour for c in row if c)


def test_pair_rho_recovers_the_between_sample_dispersion():
    rng = np.random.default_rng(4)
    sites, depth, rho = 3000, 20000, 0.002
    mu = rng.uniform(2e-4, 3e-3, sites)
    a = mu * (1 - rho) / rho
    b = (1 - mu) * (1 - rho) / rho
    k_t = rng.binomial(depth, rng.beta(a, b))
    k_n = rng.binomial(depth, mu)
    mu_hat = (k_n + 0.5) / (depth + 1)
    est = pair_rho(k_t, np.full(sites, depth), mu_hat, np.full(sites, depth), np.zeros(sites, np.int64), 1,
                   trim=0.0)[0]
    assert est == pytest.approx(rho, rel=0.25)
    # with no difference between the samples, it is about 0
    same = pair_rho(rng.binomial(depth, mu), np.full(sites, depth), mu_hat, np.full(sites, depth),
                    np.zeros(sites, np.int64), 1, trim=0.0)[0]
    assert same < rho / 5


def test_matched_event_test_uses_the_normal_event_counts():
    logp, rate, rho = matched_event_tests(np.array([40, 5]), np.array([2000, 2000]), np.array([0, 5]),
                                          np.array([2000, 2000]), np.array([0, 1]))
    assert logp[0] < -20 and logp[1] == 0.0           # the second is not above the normal
    assert rate[0] == pytest.approx(0.5 / 2001)


# ---------------------------------------------------------------- matched normal: simulated pairs

@pytest.fixture(scope="module")
def pair(amplicon_run, tmp_path_factory):
    d = tmp_path_factory.mktemp("pair")
    run = amplicon_run
    shared_t, shared_n = Spike("chr2", 29220800, "C", "T", 0.95), Spike("chr2", 29220800, "C", "T", 0.999)
    tumour, normal = str(d / "t.bam"), str(d / "n.bam")
    kw = dict(pairs_per_amplicon=3000, run_seed=21, contig_length={"chr2": 242193529})
    simulate(run.ref, run.bed, tumour, spikes=[shared_t, Spike("chr2", 29220747, "C", "T", 0.02),
                                                Spike("chr2", 29209816, "C", "G", 0.01)], sample_seed=9, sample="t", **kw)
    simulate(run.ref, run.bed, normal, spikes=[shared_n], sample_seed=10, sample="n", **kw)
    return tumour, normal


def test_matched_normal_calls_differences_only(amplicon_run, pair, tmp_path):
    run = amplicon_run
    tumour, normal = pair
    out = tmp_path / "m.vcf"
    assert cli.main(["call", "-f", run.ref, "-l", run.bed, "--matched-normal", normal, "-o", str(out), "--quiet",
                     tumour]) == 0
    with pysam.VariantFile(str(out)) as fh:
        calls = {(r.pos, r.ref, r.alts[0]): r for r in fh}
        header = str(fh.header)
    assert calls[(29220747, "C", "T")].info["MNDIR"] == "gain"
    assert calls[(29209816, "C", "G")].info["MODEL"] == "matched"
    shared = calls[(29220800, "C", "T")]                    # 95 % here, 99.9 % in the normal
    assert shared.info["MNDIR"] == "loss" and shared.info["NAF"] > 0.99 and shared.info["AF"][0] < 0.97
    assert len(calls) == 3 and "##deepamp_background=matched:" in header


def test_two_samples_without_a_difference_give_no_calls(amplicon_run):
    run = amplicon_run
    calls = deepamp.call(run.controls[1], reference=run.ref, bed=run.bed, matched_normal=run.controls[0])
    assert [(c.pos, c.alt) for c in calls] == []


def test_a_panel_of_normals_calls_the_tumours_own_alleles(amplicon_run, pair):
    run = amplicon_run
    tumour, normal = pair
    pon = deepamp.call(tumour, reference=run.ref, bed=run.bed, control=[normal])
    assert (29220800, "T") in {(c.pos, c.alt) for c in pon}          # germline-level: excluded from the PoN
    with pytest.raises(deepamp.errors.OptionError, match="replaces the panel of normals"):
        deepamp.call(tumour, reference=run.ref, bed=run.bed, control=[normal], matched_normal=normal)


# ---------------------------------------------------------------- assay shape, orientation, duplicates

def _capture_bam(tmp_path, *, artefact: float = 0.0, duplicates: float = 0.0, seed: int = 1,
                 real_at: tuple[int, ...] = (200,), artefact_at: int = 300):
    """Capture-like pairs over one 400-base target: random fragment starts, both orientations;
    real C>T variants at ``real_at`` (0-based; 5 % of fragments, both orientations) and G>T errors
    at ``artefact_at`` on F1R2 fragments only."""
    rng = np.random.default_rng(seed)
    bases = "ACGT"
    seq = list("".join(bases[i] for i in rng.integers(0, 4, 1000)))
    for p in real_at:
        seq[p] = "C"
    seq[artefact_at] = "G"
    seq = "".join(seq)
    fa = ref_fasta(tmp_path, {"cap": seq})
    lines = []
    n = 0
    frags = []
    for i in range(3000):
        start = int(rng.integers(100, 500))
        length = int(np.clip(rng.normal(170, 20), 120, 240))
        frags.append((start, length, bool(rng.random() < 0.5), bool(rng.random() < 0.05)))
    frags += [frags[int(j)] for j in rng.integers(0, len(frags), int(duplicates * len(frags)))]
    for start, length, f1r2, real in frags:
        n += 1
        frag = list(seq[start:start + length])
        for p in real_at:
            if real and start <= p < start + length:
                frag[p - start] = "T"
        if f1r2 and start <= artefact_at < start + length and rng.random() < artefact:
            frag[artefact_at - start] = "T"            # G>T on F1R2 fragments only (8-oxo-G)
        frag = "".join(frag)
        r_len = min(100, length)
        left, right = frag[:r_len], frag[-r_len:]
        lpos, rpos = start + 1, start + length - r_len + 1
        tlen = length
        f_left = 99 if f1r2 else 163                    # read 1 forward (F1R2) or read 2 forward (F2R1)
        f_right = 147 if f1r2 else 83
        lines.append(f"f{n}\t{f_left}\tcap\t{lpos}\t60\t{r_len}M\t=\t{rpos}\t{tlen}\t{left}\t{'I' * r_len}")
        lines.append(f"f{n}\t{f_right}\tcap\t{rpos}\t60\t{r_len}M\t=\t{lpos}\t{-tlen}\t{right}\t{'I' * r_len}")
    bam = sam_to_bam(tmp_path, sam_header({"cap": 1000}) + "\n".join(lines), name=f"cap{seed}")
    return bam, fa


def test_assay_shape_tells_amplicons_from_capture(amplicon_run, tmp_path):
    from deepamp.io.regions import read_bed

    shapes = assay_shapes(amplicon_run.tumour, read_bed(amplicon_run.bed))
    assert [s.kind for s in shapes] == ["amplicon"] * 4 and min(s.end_share for s in shapes) > 0.8
    bam, _ = _capture_bam(tmp_path)
    (cap,) = assay_shapes(bam, [Region("cap", 150, 550)])
    assert cap.kind == "capture" and cap.end_share < 0.1 and cap.duplicate_share < 0.05


def _first_reads(bam, regions, min_mapq, n):
    """Slow oracle: per region, the first n reads of pysam's index query that counting keeps (mapped,
    no flag of the default mask, MAPQ >= min_mapq), as rows of csrc/ends.h."""
    rows = []
    with pysam.AlignmentFile(bam) as fh:
        for r in regions:
            out = []
            for read in fh.fetch(r.contig, r.start, r.end):
                if read.flag & 0xF04 or read.mapping_quality < min_mapq:
                    continue
                rev, stop = read.is_reverse, read.reference_end
                out.append([int(rev), stop if rev else read.reference_start,
                            int(not (read.is_paired and read.is_read2)), read.reference_start,
                            read.next_reference_start if read.is_paired else stop, read.template_length])
                if len(out) == n:
                    break
            rows.append(out)
    return rows


def test_the_shape_sample_taken_while_counting_is_the_index_querys(amplicon_run, tmp_path):
    """deepamp call samples each region's reads for its shape while counting: the same rows as the
    first reads of each region's index query, read by pysam (regions of several 16 kb chunks, a chunk
    boundary inside an amplicon, two threads, a tiny mate budget)."""
    from deepamp.counting.assay_shape import SAMPLE_READS, shapes_from_sample
    from deepamp.counting.bam import _count
    from deepamp.io.regions import read_bed

    bed = read_bed(amplicon_run.bed)
    cap, _ = _capture_bam(tmp_path)
    a = bed[0].start
    cases = [(amplicon_run.tumour, bed), (amplicon_run.tumour, [Region("chr2", a + 60 - 2 * 16384, a + 100),
                                                                Region("chr2", bed[1].start, bed[3].end)]),
             (cap, [Region("cap", 100, 160), Region("cap", 210, 550)])]
    for bam, regions in cases:
        for threads, mate_memory in ((1, 8 << 20), (2, 1 << 14)):
            counts, sample = _count(bam, regions, threads=threads, mate_memory=mate_memory, min_mapq=1,
                                    sample_reads=SAMPLE_READS)
            want = _first_reads(bam, counts.regions, 1, SAMPLE_READS)
            assert all(len(w) >= 50 for w in want)          # enough reads for a shape in every region
            assert [x.tolist() for x in sample] == want
            assert shapes_from_sample(counts.regions, sample) == shapes_from_sample(
                counts.regions, [np.array(w, np.int64).reshape(-1, 6) for w in want])
            assert shapes_from_sample(counts.regions, sample) == assay_shapes(bam, counts.regions,
                                                                              options=counts.options)


def test_oxidation_artefacts_are_flagged_and_real_variants_kept(tmp_path, capsys):
    bam, fa = _capture_bam(tmp_path, artefact=0.03)
    out = tmp_path / "c.vcf"
    assert cli.main(["call", "-f", fa, "-r", "cap:150-550", "-o", str(out), bam]) == 0
    err = capsys.readouterr().err
    assert "duplicates" not in err
    with pysam.VariantFile(str(out)) as fh:
        calls = {(r.pos, r.alts[0]): r for r in fh}
        header = str(fh.header)
    assert "cap:150-550:capture" in header and "##FILTER=<ID=sb_fdr," in header
    real, artefact = calls[(201, "T")], calls[(301, "T")]
    assert list(real.filter) == ["PASS"] and real.info["OBP"] < 0.5
    assert "orientation_bias" in list(artefact.filter) and artefact.info["OBP"] > 0.5
    # the posterior from hand-made counts: the artefact's type pooled, one site per call
    counts = np.zeros((2, 4, 2))
    counts[:, 2] = (50, 50)            # reference G, both orientations
    counts[0, 3] = (6, 0)              # G>T all F1R2
    counts[1, 3] = (3, 3)              # G>T in both
    types = type_artefacts([2] * 2, [3] * 2, counts)
    assert types.orientation[2 * 4 + 3] == 0 and types.share[2 * 4 + 3] > 0.2
    post = artefact_posterior([2, 2], [3, 3], counts, types)
    assert post[0] > 0.9 > 0.1 > post[1]


def test_each_calls_orientation_is_read_at_its_own_position(tmp_path):
    """An 8-oxo-G artefact with real variants (both orientations) on the bases beside it: the artefact
    alone is flagged, so each call's orientation counts come from its own position, not a neighbour's."""
    bam, fa = _capture_bam(tmp_path, artefact=0.03, real_at=(298, 299, 301, 302), seed=3)
    out = tmp_path / "c.vcf"
    assert cli.main(["call", "-f", fa, "-r", "cap:150-550", "-o", str(out), "--quiet", bam]) == 0
    with pysam.VariantFile(str(out)) as fh:
        calls = {r.pos: r for r in fh}
    assert {299, 300, 301, 302, 303} <= set(calls)
    assert "orientation_bias" in list(calls[301].filter) and calls[301].info["OBP"] > 0.5
    for pos in (299, 300, 302, 303):
        assert calls[pos].alts == ("T",) and list(calls[pos].filter) == ["PASS"] and calls[pos].info["OBP"] < 0.5


def test_unflagged_duplicates_in_capture_data_are_warned_about(tmp_path, capsys):
    bam, fa = _capture_bam(tmp_path, duplicates=0.8, seed=2)
    assert cli.main(["call", "-f", fa, "-r", "cap:150-550", "-o", str(tmp_path / "c.vcf"), bam]) == 0
    err = capsys.readouterr().err
    assert "not flagged as duplicates" in err and "samtools markdup" in err


def test_amplicon_data_gets_no_duplicate_warning_and_no_orientation_test(amplicon_run, tmp_path, capsys):
    run = amplicon_run
    out = tmp_path / "a.vcf"
    assert cli.main(["call", "-f", run.ref, "-l", run.bed, "-o", str(out), run.tumour]) == 0
    assert "duplicates" not in capsys.readouterr().err
    text = out.read_text()
    assert "orientation_bias" not in text and "OBP=" not in text and "SBA=" in text


def test_pair_rho_is_the_trimmed_mean_of_site_moments_by_hand():
    from deepamp.models.matched_normal import MIN_SITES, pair_rho

    n_t, mu, n_n = 1000, 0.01, 9998
    k0 = [3 + (i * 7) % 25 for i in range(40)]            # class 0: 40 sites, spread around n_t mu = 10
    k1 = [10 + i for i in range(MIN_SITES - 1)]           # class 1: one site short of its own rho
    k = np.array(k0 + k1 + [30, 30], float)
    n = np.array([n_t] * (40 + MIN_SITES - 1) + [n_t, 1], float)
    cls = np.array([0] * 40 + [1] * (MIN_SITES - 1) + [-1, 0])   # an unused site; a 1-read site (dropped)
    got = pair_rho(k, n, np.full(len(k), mu), np.full(len(k), n_n), cls, 3)
    # the module docstring's estimator, site by site
    v = n_t * mu * (1 - mu)
    r = sorted(((x - n_t * mu) ** 2 - v) / (v * (n_t - 1)) - 1 / (n_n + 2) for x in k0)
    keep = r[:math.floor(40 * 0.95)]                       # the largest 5 % dropped
    expect = min(max(sum(keep) / len(keep), 0.0), 0.2)
    assert expect > 0
    assert got[0] == pytest.approx(expect, rel=1e-12)
    assert got[1] == 0.0 and got[2] == 0.0
    # a huge spread is clipped at max_rho
    wide = pair_rho(np.array([0.0, 100.0] * 20), np.full(40, 1000.0), np.full(40, 0.05), np.full(40, 1e6),
                    np.zeros(40, int), 1, max_rho=0.01)
    assert wide[0] == 0.01


def test_null_parameters_and_burden_by_hand():
    from deepamp.models.matched_normal import matched_event_tests, matched_tests, null_parameters

    t = np.zeros((3, 7, 2), np.int64)
    nrm = np.zeros((3, 7, 2), np.int64)
    t[0, 0] = (500, 499)
    t[0, 2] = (1, 0)                     # one G read: tested, and in the burden
    t[1, 1] = (300, 300)
    t[1, 3] = (30, 30)                   # 60 T of 660
    nrm[0, 0] = (100, 98)                # 198 A
    nrm[0, 2] = (1, 1)                   # 2 G
    nrm[1, 1] = (50, 50)
    t[2, 0] = (10, 10)                   # the normal has no reads here: not testable
    ref = np.array([0, 1, 0])
    ct, nt, cn, mu, rho = null_parameters(t, nrm, ref)
    assert nt.tolist() == [1000, 660, 20]
    # mu = (k_n + 1/2) / (n_n + 1); rho = 1 / (n_n + 2) with fewer than MIN_SITES sites per class
    np.testing.assert_allclose(mu[0], (np.array([198, 0, 2, 0]) + 0.5) / 201)
    np.testing.assert_allclose(rho[0], 1 / 202)
    np.testing.assert_allclose(rho[1], 1 / 102)
    assert np.isnan(rho[2]).all()
    res = matched_tests(t, nrm, ref)
    assert res.m == 4                    # (0, A), (0, G), (1, C), (1, T): every base with tumour reads
    got = {(int(p), int(b)) for p, b in zip(res.pos, res.base)}
    # G at 0.1 % is below the normal's 1 %; T is a gain; A (99.9 % vs 99 %) is a gain of the reference
    assert got == {(0, 0), (1, 3)}
    assert res.loss.tolist() == [(int(p), int(b)) == (0, 0) for p, b in zip(res.pos, res.base)]
    # indel events: an event whose normal has no junction depth is not tested
    # (80 of 100 would be a gain over the 0.5 / 1 prior mean of an empty normal)
    logp, _, _ = matched_event_tests(np.array([80, 20]), np.array([100, 100]), np.array([0, 0]),
                                     np.array([0, 100]), np.array([0, 0]))
    assert logp[0] == 0.0 and logp[1] < math.log(1e-6)


def test_matched_event_rho_and_gain_rule_by_hand():
    from deepamp.models.matched_normal import matched_event_tests, pair_rho

    # 40 deletion events spread around the normal's fraction: a pooled rho of their own
    k_t = np.array([3 + (i * 7) % 25 for i in range(40)])
    n_t = np.full(40, 1000)
    k_n = np.full(40, 99)
    n_n = np.full(40, 9999)
    logp, mu, rho = matched_event_tests(k_t, n_t, k_n, n_n, np.zeros(40, int))
    np.testing.assert_allclose(mu, 99.5 / 10000)
    pooled = pair_rho(k_t, n_t, mu, n_n, np.zeros(40, int), 2)[0]
    assert pooled > 0
    np.testing.assert_allclose(rho, pooled + 1 / 10001)
    # few events: only the normal's own share; equal fractions (k_t / n_t = (k_n + 1/2) / (n_n + 1)) are no gain
    logp, mu, rho = matched_event_tests(np.array([1, 2]), np.array([4, 4]), np.array([0, 0]), np.array([1, 1]),
                                        np.array([1, 1]))
    np.testing.assert_allclose(rho, 1 / 3)
    assert logp[0] == 0.0 and logp[1] < 0
