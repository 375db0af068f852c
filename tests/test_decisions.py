"""The decisions the Python layer makes, checked against values derived independently:
corrected p-values and QUAL on hand-built counts (scipy, by hand), filter thresholds at
their boundaries, cohort recurrence, every flag's observable effect (table-driven), and
interruption of the long-running commands."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pysam
import pytest
from scipy import stats

import deepamp
from deepamp import cli

from conftest import ref_fasta, sam_header, sam_to_bam

PKG_PARENT = str(Path(deepamp.__file__).resolve().parents[1])
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([PKG_PARENT, os.environ.get("PYTHONPATH", "")]))

# ---------------------------------------------------------------- corrected p-values on hand-built counts

DEPTH, ERR = 10000, 1e-3
ALTS = [0, 0, 14, 18, 20, 21, 22, 23, 24, 26, 28, 31, 40, 0, 60]        # G bases at A sites, all Q30


def _hand_counts() -> deepamp.CountResult:
    n = len(ALTS)
    c = np.zeros((n, 7, 2), np.uint32)
    for i, k in enumerate(ALTS):
        c[i, 0] = ((DEPTH - k) // 2, DEPTH - k - (DEPTH - k) // 2)
        c[i, 2] = (k // 2, k - k // 2)
    qh = np.zeros((n, 64), np.uint32)
    qh[:, 30] = DEPTH                        # Phred 30: error 1e-3 for every base
    return deepamp.CountResult.from_arrays("chrT", np.arange(1000, 1000 + n), "A" * n, c, qual_hist=qh)


def _expected(mtc: str, alpha: float) -> dict[int, tuple[float, float]]:
    """1-based pos -> (p, adjusted p) of the calls, derived with scipy and by hand."""
    p = {1001 + i: stats.binom.sf(k - 1, DEPTH, ERR) for i, k in enumerate(ALTS) if k}
    m = 3 * len(p)                                              # LoFreq: 3 per column with an alt base
    if mtc == "bonferroni":
        adj = {pos: min(1.0, v * m) for pos, v in p.items()}
    elif mtc == "none":
        adj = dict(p)
    else:                                                        # Benjamini-Hochberg over m tests
        order = sorted(p, key=p.get)
        adj, running = {}, 1.0
        for rank in range(len(order), 0, -1):
            pos = order[rank - 1]
            running = min(running, p[pos] * m / rank)
            adj[pos] = running
    return {pos: (p[pos], adj[pos]) for pos in p if adj[pos] < alpha}


def _vcf_rows(path: str) -> dict[int, dict]:
    rows = {}
    for ln in Path(path).read_text().splitlines():
        if ln.startswith("#"):
            continue
        f = ln.split("\t")
        info = dict(kv.split("=", 1) if "=" in kv else (kv, True) for kv in f[7].split(";"))
        rows[int(f[1])] = {"qual": float(f[5]), "filter": f[6], **info}
    return rows


@pytest.mark.parametrize("mtc", ["bonferroni", "fdr", "none"])
def test_padj_is_the_corrected_p_and_qual_the_uncorrected_phred(mtc, tmp_path):
    alpha = 0.01
    want = _expected(mtc, alpha)
    calls = deepamp.call_counts(_hand_counts(), indels=False, mtc=mtc, alpha=alpha)
    out = str(tmp_path / "c.vcf")
    calls.write_vcf(out)
    rows = _vcf_rows(out)
    assert sorted(rows) == sorted(want)
    assert calls.tests["snv"] == 3 * sum(1 for k in ALTS if k)
    for pos, (p, adj) in want.items():
        assert float(rows[pos]["PADJ"]) == pytest.approx(adj, rel=1e-3)
        assert rows[pos]["qual"] == pytest.approx(-10 * math.log10(p), abs=0.006)
    header = Path(out).read_text()
    assert f"##deepamp_mtc={mtc},tests={calls.tests['snv']},alpha={alpha}" in header
    if mtc == "fdr":      # the hand-built spread makes BH call more than Bonferroni
        assert len(want) > len(_expected("bonferroni", alpha))


def test_a_fixed_bonferroni_factor_replaces_the_dynamic_one(tmp_path):
    calls = deepamp.call_counts(_hand_counts(), indels=False, bonf=1000, alpha=0.01)
    for c in calls:
        p = stats.binom.sf(c.alt_count - 1, DEPTH, ERR)
        assert float(c.info["PADJ"]) == pytest.approx(min(1, p * 1000), rel=1e-3)
    assert calls.tests["snv"] == 1000


# ---------------------------------------------------------------- filter thresholds at their boundaries

BOUNDARY_VCF = """##fileformat=VCFv4.2
##contig=<ID=chr2>
##INFO=<ID=DP,Number=1,Type=Integer,Description="d">
##INFO=<ID=AF,Number=A,Type=Float,Description="a">
##INFO=<ID=DP4,Number=4,Type=Integer,Description="d4">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO
chr2\t10\t.\tC\tT\t19.9\tPASS\tDP=99;AF=0.0099;DP4=50,49,1,0
chr2\t20\t.\tC\tT\t20\tPASS\tDP=100;AF=0.01;DP4=50,49,1,0
chr2\t30\t.\tC\tT\t20.1\tPASS\tDP=101;AF=0.0101;DP4=50,49,1,1
"""


@pytest.mark.parametrize("flags, fails", [
    (["-v", "100"], {10: "min_dp_100"}),
    (["-V", "100"], {30: "max_dp_100"}),
    (["-a", "0.01"], {10: "min_af_0.01"}),
    (["-A", "0.01"], {30: "max_af_0.01"}),
    (["-Q", "20"], {10: "min_snvqual_20"}),
    # QUAL 20.1 -> p 0.00977; x 3 records (Bonferroni) = 0.029: only when alpha is above it
    (["--snvqual-alpha", "0.03", "--snvqual-mtc", "bonf"], {10: "snvqual_bonf", 20: "snvqual_bonf"}),
    (["--snvqual-alpha", "0.03", "--snvqual-mtc", "bonf", "--snvqual-ntests", "10"],
     {10: "snvqual_bonf", 20: "snvqual_bonf", 30: "snvqual_bonf"}),
])
def test_filters_at_their_boundaries(flags, fails, tmp_path):
    vcf = tmp_path / "in.vcf"
    vcf.write_text(BOUNDARY_VCF)
    out = tmp_path / "out.vcf"
    assert cli.main(["filter", "-i", str(vcf), "-o", str(out), "--no-defaults", "--quiet", *flags]) == 0
    got = {pos: r["filter"] for pos, r in _vcf_rows(str(out)).items()}
    assert got == {pos: fails.get(pos, "PASS") for pos in (10, 20, 30)}


# ---------------------------------------------------------------- cohort recurrence

@pytest.fixture(scope="module")
def second_tumour(amplicon_run, tmp_path_factory) -> str:
    from deepamp.simulate import simulate

    bam = str(tmp_path_factory.mktemp("t2") / "t2.bam")
    simulate(amplicon_run.ref, amplicon_run.bed, bam, pairs_per_amplicon=amplicon_run.pairs,
             spikes=amplicon_run.spikes[:1], run_seed=21, sample_seed=77, contig_length={"chr2": 242193529},
             sample="t2")
    return bam


def test_cohort_recurrence_counts_all_and_passing_calls(amplicon_run, second_tumour, tmp_path):
    run = amplicon_run
    out = tmp_path / "run"
    assert cli.main(["cohort", "-f", run.ref, "-l", run.bed, "--af-min", "0.02", "--workers", "1", "-o", str(out),
                     "--quiet", run.tumour, second_tumour, run.controls[0]]) == 0
    # independently: from each sample's VCF
    per_sample = {}
    for vcf in out.glob("*.vcf.gz"):
        with pysam.VariantFile(str(vcf)) as fh:
            per_sample[vcf.name[:-7]] = {(r.chrom, r.pos, r.ref, r.alts[0]): list(r.filter.keys()) for r in fh}
    keys = {k for calls in per_sample.values() for k in calls}
    n_all = {k: sum(k in c for c in per_sample.values()) for k in keys}
    n_pass = {k: sum(c.get(k) == ["PASS"] for c in per_sample.values()) for k in keys}
    lines = (out / "cohort.tsv").read_text().splitlines()
    head = lines[0].split("\t")
    rows = [dict(zip(head, ln.split("\t"))) for ln in lines[1:]]
    assert len(rows) == sum(len(c) for c in per_sample.values())
    for r in rows:
        k = (r["chrom"], int(r["pos"]), r["ref"], r["alt"])
        assert (int(r["n_samples"]), int(r["n_samples_pass"])) == (n_all[k], n_pass[k])
    g1202r = ("chr2", 29220747, "C", "T")
    l1196m = ("chr2", 29220765, "G", "T")
    assert (n_all[g1202r], n_pass[g1202r]) == (2, 2)          # 5 % in both tumours
    assert n_all[l1196m] >= 1 and n_pass[l1196m] == 0         # 1 %: below --af-min


def test_sheet_cohort_table_counts_all_and_passing_samples_per_allele():
    """cohort.tsv of the sample-sheet form on hand-made calls: an allele that passes in one sample and
    fails in two counts 3 samples, 1 passing; a failed sample and a control add nothing."""
    from deepamp.report.inputs import Allele
    from deepamp.workflow.cohort_table import CALLED, CONTROL, FAILED, SampleCalls, cohort_rows
    from deepamp.workflow.sample_sheet import SheetSample

    def row(name, role="tumour"):
        return SheetSample(sample=name, patient="P" if role == "tumour" else "", timepoint="1", role=role,
                           r1=None, r2=None, bam=f"/{name}.bam", sm=name, line=2)

    def calls(*alleles):
        return SampleCalls({(a.chrom, a.pos, a.ref, a.alt): a for a in alleles}, {})

    g = lambda f: Allele("chr2", 29220747, "C", "T", f)
    other = Allele("chr2", 29220765, "G", "T", "PASS")
    samples = [(row("A"), CALLED, calls(g("PASS"), other), None), (row("B"), CALLED, calls(g("min_af")), None),
               (row("C"), CALLED, calls(g("sb;min_af")), None), (row("D"), FAILED, None, "boom"),
               (row("N", "control"), CONTROL, None, None)]
    rows = cohort_rows(samples)
    got = {(r.sample, r.allele.pos): (r.n_samples, r.n_samples_pass) for r in rows if r.allele is not None}
    assert got == {("A", 29220747): (3, 1), ("A", 29220765): (1, 1), ("B", 29220747): (3, 1),
                   ("C", 29220747): (3, 1)}
    assert [r.sample for r in rows if r.allele is None] == ["D", "N"]


# ---------------------------------------------------------------- every flag does what it says

def _flag_bam(tmp_path) -> tuple[str, str]:
    """Reads that each flag treats differently, at distinct positions of a 300-base contig."""
    seq = "".join("ACGT"[(i * 7 + i // 5) % 4] for i in range(300))
    fa = ref_fasta(tmp_path, {"c1": seq})
    reads = []

    def add(name, flag, pos, mapq, s, q, cigar=None, mpos=0, tlen=0):
        cig = cigar or f"{len(s)}M"
        mate = "=" if flag & 1 else "*"
        reads.append(f"{name}\t{flag}\tc1\t{pos}\t{mapq}\t{cig}\t{mate}\t{mpos}\t{tlen}\t{s}\t{q}")

    alt = lambda s, i: s[:i] + {"A": "C", "C": "G", "G": "T", "T": "A"}[s[i]] + s[i + 1:]
    for i in range(20):                                            # plain pairs, mates overlapping 41-80
        add(f"p{i}", 99, 1, 60, seq[0:80], "I" * 80, mpos=41, tlen=120)
        add(f"p{i}", 147, 41, 60, seq[40:120], "I" * 80, mpos=1, tlen=-120)
    for i in range(6):
        add(f"d{i}", 1024, 101, 60, alt(seq[100:180], 50), "I" * 80)            # duplicates, alt at 151
        add(f"s{i}", 2048, 101, 60, alt(seq[100:180], 60), "I" * 80)            # supplementary, alt at 161
        add(f"m{i}", 0, 101, 10, alt(seq[100:180], 70), "I" * 80)               # MAPQ 10, alt at 171
        add(f"q{i}", 0, 201, 60, alt(seq[200:280], 10), "I" * 10 + "+" + "I" * 69)   # alt at 211 with BQ 10
        add(f"r{i}", 0, 201, 60, seq[200:280], "I" * 20 + "+" + "I" * 59)       # ref at 221 with BQ 10
    bam = sam_to_bam(tmp_path, sam_header({"c1": 300}) + "\n".join(reads))
    return bam, fa


def _count(bam: str, fa: str, *flags: str):
    from deepamp.cli import common

    parser = cli.build_parser("count")
    args = parser.parse_args(["count", "-f", fa, "-r", "c1:1-300", "-o", "x.tsv", *flags, bam])
    return deepamp.count(bam, ["c1:1-300"], reference=fa, options=common.count_options(args),
                         threads=args.threads, mate_memory=args.mate_memory)


COUNT_FLAGS = [
    # flag(s), what changes (a function of the baseline and the flagged counts)
    (["--keep-duplicates"], lambda a, b: b.read_stats["duplicate"] == 0 < a.read_stats["duplicate"] == 6
     and b.depth[150] == a.depth[150] + 6),
    (["--incl-supplementary"], lambda a, b: b.read_stats["supplementary"] == 0 < a.read_stats["supplementary"]
     and b.depth[160] == a.depth[160] + 6),
    (["-m", "20"], lambda a, b: b.read_stats["low_mapq"] == 6 and b.depth[170] == a.depth[170] - 6),
    (["-q", "20"], lambda a, b: b.base_stats["low_base_quality"] > a.base_stats["low_base_quality"]
     and b.depth[210] == a.depth[210] - 6 and b.depth[220] == a.depth[220] - 6),
    (["-q", "0", "-Q", "20"], lambda a, b: b.depth[210] == a.depth[210] - 6 and b.depth[220] == a.depth[220]
     and b.base_stats["low_alt_base_quality"] == 6),
    (["--no-merge-mates"], lambda a, b: b.depth[60] == 2 * a.depth[60] == 40 and b.depth[10] == a.depth[10]),
    (["--threads", "3"], lambda a, b: np.array_equal(a.counts, b.counts) and a.read_stats == b.read_stats),
    (["--mate-memory", "0.0001"], lambda a, b: np.array_equal(a.counts, b.counts)),
]


@pytest.mark.parametrize("flags, changed", COUNT_FLAGS, ids=[" ".join(f) for f, _ in COUNT_FLAGS])
def test_every_counting_flag_changes_what_it_says(flags, changed, tmp_path):
    bam, fa = _flag_bam(tmp_path)
    base = _count(bam, fa, "-q", "0") if "-Q" in flags else _count(bam, fa)
    assert changed(base, _count(bam, fa, *flags))


def _info(row: list[str]) -> dict[str, str]:
    return dict(kv.split("=", 1) for kv in row[7].split(";") if "=" in kv)


def _call_body(run, tmp_path, *flags) -> tuple[list[list[str]], str]:
    out = tmp_path / f"c{abs(hash(flags))}.vcf"
    assert cli.main(["call", "-f", run.ref, "-l", run.bed, "-o", str(out), "--quiet", *flags, run.tumour]) == 0
    text = out.read_text()
    return [ln.split("\t") for ln in text.splitlines() if not ln.startswith("#")], text


CALL_FLAGS = [
    (["-C", "100000"], lambda b, h, r, t: r == [] and "below_min_cov:" in t and ",tested:0," in t),
    (["-a", "1e-200"], lambda b, h, r, t: 0 < len(r) < len(b)),
    (["-b", "1"], lambda b, h, r, t: len(r) >= len(b) and "##deepamp_mtc=bonferroni,tests=1," in t
     and all(float(_info(x)["PADJ"]) == pytest.approx(10 ** (-float(x[5]) / 10), rel=2e-3) for x in r)),
    (["--mtc", "fdr"], lambda b, h, r, t: "##deepamp_mtc=fdr" in t and len(r) >= len(b)),
    (["--mtc", "none"], lambda b, h, r, t: len(r) >= len(b) and "##deepamp_mtc=none" in t
     and all(float(_info(x)["PADJ"]) == pytest.approx(10 ** (-float(x[5]) / 10), rel=2e-3) for x in r)),
    (["--no-indels"], lambda b, h, r, t: r and all("INDEL" not in x[7] for x in r) and any("INDEL" in x[7] for x in b)),
    (["--only-indels"], lambda b, h, r, t: r and all("INDEL" in x[7] for x in r)),
    (["--hotspots", "shipped"], lambda b, h, r, t: any("FAMILY=hotspot" in x[7] for x in r)),
    (["-q", "30"], lambda b, h, r, t: "##deepamp_counting=min_bq=30,min_alt_bq=30" in t and r != b),
    (["-Q", "30"], lambda b, h, r, t: "min_bq=6,min_alt_bq=30" in t and r != b),
    (["-m", "61"], lambda b, h, r, t: r == [] and "low_mapq:" in t),
    (["--keep-duplicates"], lambda b, h, r, t: "flag_exclude=0xb04" in t),
    (["--incl-supplementary"], lambda b, h, r, t: "flag_exclude=0x704" in t),
    (["--no-merge-mates"], lambda b, h, r, t: "merge_mates=False" in t and r != b),
    (["--cov-min", "100000"], lambda b, h, r, t: r and all(x[6] == "min_dp_100000" for x in r)),
    (["--cov-max", "10"], lambda b, h, r, t: r and all(x[6] == "max_dp_10" for x in r)),
    (["--af-min", "0.02"], lambda b, h, r, t: any(x[6] == "min_af_0.02" for x in r) and any(x[6] == "PASS" for x in r)),
    (["--af-max", "0.02"], lambda b, h, r, t: any(x[6] == "max_af_0.02" for x in r)),
    (["--snvqual-thresh", "1000"], lambda b, h, r, t: any("min_snvqual_1000" in x[6] for x in r)),
    (["--snvqual-alpha", "1e-100"], lambda b, h, r, t: any("snvqual_bonf" in x[6] for x in r)),
    (["--snvqual-alpha", "1e-100", "--snvqual-mtc", "fdr"], lambda b, h, r, t: any("snvqual_fdr" in x[6] for x in r)),
    (["--sb-alpha", "0.5", "--sb-test", "lofreq"], lambda b, h, r, t: "##FILTER=<ID=sb_fdr," in t),
    (["--sb-alpha", "0.5", "--sb-min-or", "1"], lambda b, h, r, t: "odds-ratio floor 1)" in t and "SBA=" in t),
    (["--preset", "villa2024"], lambda b, h, r, t: "##FILTER=<ID=min_dp_5000," in t and "min_af_0.006" in t),
    (["--max-population-af", "0.1"], lambda b, h, r, t: r == b),          # no population VCF: nothing to test
    # LoFreq's flags whose effect is always in force: accepted, output unchanged
    (["-B", "-A", "-N", "-d", "100", "--force-overwrite", "--call-indels"], lambda b, h, r, t: r == b),
    (["--threads", "2"], lambda b, h, r, t: r == b),
    (["--mate-memory", "0.001"], lambda b, h, r, t: r == b),
]


@pytest.mark.parametrize("flags, changed", CALL_FLAGS, ids=[" ".join(f) for f, _ in CALL_FLAGS])
def test_every_call_flag_changes_what_it_says(amplicon_run, tmp_path, flags, changed):
    base, base_text = _call_body(amplicon_run, tmp_path)
    rows, text = _call_body(amplicon_run, tmp_path, *flags)
    assert changed(base, base_text, rows, text)


def test_background_and_control_flags(amplicon_run, tmp_path):
    run = amplicon_run
    bg = tmp_path / "bg.npz"
    assert cli.main(["background", "-f", run.ref, "-l", run.bed, "-o", str(bg), "--quiet", *run.controls]) == 0
    a, _ = _call_body(run, tmp_path, "--background", str(bg))
    ctl = [x for c in run.controls for x in ("--control", c)]
    b, text = _call_body(run, tmp_path, *ctl)
    assert a == b and a and all("MODEL=background" in x[7] for x in a)
    assert "##deepamp_background=controls:" in text
    # background's own flags: the outlier level and the counting options it stores
    strict = tmp_path / "strict.npz"
    assert cli.main(["background", "-f", run.ref, "-l", run.bed, "-o", str(strict), "-q", "20",
                     "--outlier-alpha", "0.5", "--quiet", *run.controls]) == 0
    s = deepamp.load_background(str(strict))
    assert s.count_options.min_bq == 20 and s.meta["fit_params"]["outlier_alpha"] == 0.5


# ---------------------------------------------------------------- interruption

def _interrupt(argv: list[str], sig: int, outputs: list[Path], delays=(0.3, 0.6, 1.0, 1.5)) -> int:
    """Send ``sig`` at several delays; every interrupted run: exit 130 (or death by the signal), one
    line, nothing written.  Returns how many runs were interrupted."""
    interrupted = 0
    for delay in delays:
        proc = subprocess.Popen([sys.executable, "-m", "deepamp", *argv], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=ENV)
        time.sleep(delay)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=120)
        assert "Traceback" not in err, err
        if proc.returncode == 0:
            for p in outputs:
                if p.is_dir():
                    import shutil
                    shutil.rmtree(p)
                elif p.exists():
                    p.unlink()
            continue
        interrupted += 1
        assert proc.returncode == 130, err
        assert err.strip().splitlines()[-1].endswith("interrupted; no output written"), err
        assert not any(p.exists() for p in outputs)
        assert not [x for x in outputs[0].parent.iterdir() if x.name.startswith(".")], "temporary files left"
    return interrupted


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_commands_write_nothing(amplicon_run, tmp_path, sig):
    run = amplicon_run
    deep = tmp_path / "deep.bam"
    from deepamp.simulate import simulate

    simulate(run.ref, run.bed, str(deep), pairs_per_amplicon=40000, run_seed=21, sample_seed=3,
             contig_length={"chr2": 242193529})
    cases = {
        "call": (["call", "-f", run.ref, "-l", run.bed, "--mate-memory", "0.05", "-o", str(tmp_path / "c.vcf.gz"),
                  str(deep)], [tmp_path / "c.vcf.gz", tmp_path / "c.vcf.gz.tbi"]),
        "count": (["count", "-f", run.ref, "-l", run.bed, "--mate-memory", "0.05", "-o", str(tmp_path / "c.npz"),
                   str(deep)], [tmp_path / "c.npz"]),
        "background": (["background", "-f", run.ref, "-l", run.bed, "--mate-memory", "0.05",
                        "-o", str(tmp_path / "bg.npz"), str(deep), *run.controls], [tmp_path / "bg.npz"]),
    }
    for name, (argv, outputs) in cases.items():
        assert _interrupt(argv, sig, outputs) >= 1, f"{name} finished before every signal"


@pytest.mark.slow
def test_an_interrupted_cohort_writes_no_cohort_files_and_a_rerun_completes_reusing_finished_samples(
        amplicon_run, tmp_path):
    """A sample-sheet cohort writes OUTDIR in place (resumable): interrupted, it exits 130 with no cohort.tsv,
    cohort.html or patient page (the files that say a run finished), and the same command completes the run,
    redoing no step of a sample that had finished."""
    import json

    from deepamp.simulate import simulate

    run = amplicon_run
    (tmp_path / "in").mkdir()
    tumours = [run.tumour]
    for j in range(2):
        tumours.append(str(tmp_path / "in" / f"t{j}.bam"))
        simulate(run.ref, run.bed, tumours[-1], pairs_per_amplicon=run.pairs, run_seed=21, sample_seed=40 + j,
                 contig_length={"chr2": 242193529}, sample=f"t{j}")
    rows = ["sample\tpatient\ttimepoint\trole\tbam"]
    rows += [f"N{i}\t\t\tcontrol\t{c}" for i, c in enumerate(run.controls)]
    rows += [f"T{i}\tP{i // 2}\t{i % 2}\ttumour\t{t}" for i, t in enumerate(tumours)]
    sheet = tmp_path / "samples.tsv"
    sheet.write_text("\n".join(rows) + "\n")
    out = tmp_path / "run"
    argv = ["cohort", str(sheet), "-f", run.ref, "-l", run.bed, "--workers", "1", "-o", str(out)]

    def finished() -> set[str]:
        done = set()
        for ledger in out.glob("samples/*/run.json"):
            try:
                if "report" in [s["name"] for s in json.loads(ledger.read_text())["steps"]]:
                    done.add(ledger.parent.name)
            except (ValueError, OSError):
                pass
        return done

    proc = subprocess.Popen([sys.executable, "-m", "deepamp", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.monotonic() + 180
    while not finished() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == ("deepamp cohort: interrupted; no cohort.tsv or cohort.html written; "
                                            "samples that finished are kept and the same command resumes")
    assert not any((out / x).exists() for x in ("cohort.tsv", "cohort.html", "patients"))
    done = finished()
    assert 1 <= len(done) < 3, done
    before = {s: (out / "samples" / s / "run.json").read_text() for s in done}
    assert cli.main([*argv, "--quiet"]) == 0
    assert (out / "cohort.tsv").is_file() and (out / "cohort.html").is_file()
    for s, text in before.items():                  # nothing of a finished sample was redone
        assert (out / "samples" / s / "run.json").read_text() == text
    lines = (out / "cohort.tsv").read_text().splitlines()
    assert {ln.split("\t")[0] for ln in lines[1:]} == {"N0", "N1", "N2", "T0", "T1", "T2"}
