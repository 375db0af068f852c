"""The library API: deepamp.call -> CallSet, counts from any source, one option model,
one VCF layer (PADJ exact through phase/annotate/bcftools, LoFreq VCFs everywhere),
usage errors of every subcommand, and the layout rules (no import circles, no domain
module importing the CLI)."""

from __future__ import annotations

import ast
import gzip
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pysam
import pytest

import deepamp
from deepamp import cli
from deepamp.errors import OptionError, ReferenceFileError
from deepamp.options import CallOptions, CountOptions, FilterOptions

SRC = Path(deepamp.__file__).resolve().parent


def _body(path: str) -> list[str]:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as fh:
        return [ln for ln in fh if not ln.startswith(("##fileDate", "##commandline"))]


# ---------------------------------------------------------------- deepamp.call

def test_library_call_writes_the_vcf_the_cli_writes(amplicon_run, tmp_path):
    run = amplicon_run
    cli_vcf, lib_vcf = str(tmp_path / "cli.vcf.gz"), str(tmp_path / "lib.vcf.gz")
    assert cli.main(["call", "-f", run.ref, "-l", run.bed, "--quiet", "-o", cli_vcf, run.tumour]) == 0
    calls = deepamp.call(run.tumour, reference=run.ref, bed=run.bed)
    calls.write_vcf(lib_vcf)
    assert _body(lib_vcf) == _body(cli_vcf)
    assert len(calls) == len([ln for ln in _body(cli_vcf) if not ln.startswith("#")]) > 0


def test_iterating_a_callset_gives_vcf_records(amplicon_run):
    run = amplicon_run
    calls = deepamp.call(run.tumour, reference=run.ref, bed=run.bed, min_bq=6, alpha=0.01)
    by = {(c.chrom, c.pos, c.ref, c.alt): c for c in calls}
    assert by[("chr2", 29222338, "CT", "C")].kind == "indel"   # the TT>T spike, left-normalised
    for s in run.spikes[:3]:
        c = by[(s.contig, s.pos, s.ref, s.alt)]       # 1-based POS and VCF alleles, as in the VCF
        assert c.filter == "PASS" and abs(c.af - s.vaf) < 0.02
        assert c.dp == c.info["DP"] and c.af == c.info["AF"] and c.qual > 0
        assert float(c.info["PADJ"]) == pytest.approx(math.exp(c.logp_adj), rel=1e-3) or c.logp_adj < -700
    arrays = calls.to_arrays()
    assert list(arrays["pos"]) == [c.pos for c in calls] and arrays["dp4"].shape == (len(calls), 4)
    assert calls.tests["snv"] > 0 and calls.tests["indel"] > 0


def test_keyword_overrides_and_option_objects_agree(amplicon_run):
    run = amplicon_run
    a = deepamp.call(run.tumour, reference=run.ref, bed=run.bed, min_bq=20, mtc="fdr", indels=False)
    b = deepamp.call(run.tumour, reference=run.ref, bed=run.bed,
                     options=CallOptions(count=CountOptions(min_bq=20), mtc="fdr", indels=False))
    assert [(c.pos, c.alt, c.logp) for c in a] == [(c.pos, c.alt, c.logp) for c in b]
    assert all(c.kind == "snv" for c in a)
    with pytest.raises(OptionError, match="unknown option 'min_baseq'"):
        deepamp.call(run.tumour, reference=run.ref, bed=run.bed, min_baseq=20)


@pytest.mark.parametrize("make, message", [
    (lambda: CountOptions(min_bq=-1), "min_bq must be in 0..255"),
    (lambda: CountOptions(min_mapq=1.5), "min_mapq must be an integer"),
    (lambda: CallOptions(alpha=0), r"alpha must be in \(0, 1\]"),
    (lambda: CallOptions(alpha=float("nan")), "alpha must be a finite number"),
    (lambda: CallOptions(mtc="holm"), "mtc must be one of"),
    (lambda: CallOptions(bonf=0), "bonf must be >= 1"),
    (lambda: CallOptions(snvs=False, indels=False), "nothing to call"),
    (lambda: FilterOptions(min_af=float("nan")), "min_af must be a finite number"),
    (lambda: FilterOptions(sb_min_or=0.5), "sb_min_or must be >= 1"),
])
def test_invalid_options_name_the_option(make, message):
    with pytest.raises(OptionError, match=message):
        make()


# ---------------------------------------------------------------- counts from any source

def _pysam_counts(bam: str, contig: str, start: int, end: int, min_bq: int) -> np.ndarray:
    """(P, 4, 2) A C G T x strand from pysam's count_coverage, one pass per strand."""
    with pysam.AlignmentFile(bam) as fh:
        per_strand = [np.stack(fh.count_coverage(contig, start, end, quality_threshold=min_bq,
                                                  read_callback=lambda r, rev=rev: r.is_reverse == rev
                                                  and not (r.flag & 0xF04)), axis=1)
                      for rev in (False, True)]
    return np.stack(per_strand, axis=-1)


def test_counts_from_pysam_count_coverage_give_the_same_calls(amplicon_run):
    run = amplicon_run
    region = "chr2:29220700-29220860"                       # G1202R and L1196M
    from deepamp.io.regions import parse_region

    r = parse_region(region)
    kernel = deepamp.count(run.tumour, [region], reference=run.ref, merge_mates=False)
    arrays = _pysam_counts(run.tumour, r.contig, r.start, r.end, 6)
    assert np.array_equal(arrays, kernel.counts[:, :4, :])   # pysam and the kernel agree
    counts = deepamp.CountResult.from_arrays(r.contig, np.arange(r.start, r.end), kernel.ref, arrays,
                                             qual_hist=kernel.qual_hist)
    want = deepamp.call_counts(kernel, reference=run.ref, indels=False)
    got = deepamp.call_counts(counts, reference=run.ref, indels=False)
    assert [(c.pos, c.ref, c.alt, c.dp, c.dp4, c.qual) for c in got] == \
        [(c.pos, c.ref, c.alt, c.dp, c.dp4, c.qual) for c in want]
    assert {(c.pos, c.alt) for c in got} >= {(29220747, "T"), (29220765, "T")}
    # without quality histograms the quality model says what it needs ...
    bare = deepamp.CountResult.from_arrays(r.contig, np.arange(r.start, r.end), kernel.ref, arrays)
    with pytest.raises(OptionError, match="needs base-quality histograms"):
        deepamp.call_counts(bare, indels=False)
    # ... or takes one per-base error rate
    flat = deepamp.call_counts(bare, indels=False, base_error_rate=1e-3)
    assert {(c.pos, c.alt) for c in flat} >= {(29220747, "T"), (29220765, "T")}


def test_background_model_on_counts_from_arrays(amplicon_run):
    run = amplicon_run
    bg = deepamp.learn_background(run.controls, reference=run.ref, bed=run.bed)
    kernel = deepamp.count(run.tumour, bed=run.bed, reference=run.ref)
    counts = deepamp.CountResult.from_arrays(kernel.contig, kernel.pos, kernel.ref, kernel.counts[:, :4, :],
                                             options=kernel.options)
    want = deepamp.call_counts(kernel, background=bg, indels=False)
    got = deepamp.call_counts(counts, background=bg, indels=False)
    assert [(c.pos, c.alt, c.logp) for c in got] == [(c.pos, c.alt, c.logp) for c in want] and len(got) >= 3


@pytest.mark.parametrize("kwargs, message", [
    (dict(counts=np.zeros((3, 7, 1), np.uint32)), r"shape \(P, 4..7, 2\)"),
    (dict(counts=-np.ones((3, 4, 2), np.int32)), "non-negative integers"),
    (dict(pos=np.array([2, 1, 3])), "increase within each contig"),
    (dict(qual_hist=np.zeros((3, 65), np.uint32)), "qual_hist"),
])
def test_from_arrays_checks_its_input(kwargs, message):
    args = dict(contig="c", pos=np.arange(3), ref="ACG", counts=np.zeros((3, 4, 2), np.uint32))
    args.update(kwargs)
    with pytest.raises(OptionError, match=message):
        deepamp.CountResult.from_arrays(args.pop("contig"), args.pop("pos"), args.pop("ref"), args.pop("counts"),
                                        **args)


# ---------------------------------------------------------------- one option model

def test_background_refuses_a_sample_counted_differently(amplicon_run, tmp_path, capsys):
    run = amplicon_run
    bg = str(tmp_path / "bg.npz")
    assert cli.main(["background", "-f", run.ref, "-l", run.bed, "-q", "6", "-o", bg, "--quiet",
                     *run.controls]) == 0
    assert deepamp.load_background(bg).count_options == CountOptions(min_bq=6, min_alt_bq=6)
    out = str(tmp_path / "t.vcf")
    assert cli.main(["call", "-f", run.ref, "-l", run.bed, "-q", "20", "--background", bg, "-o", out,
                     run.tumour]) == 1
    err = capsys.readouterr().err.strip()
    assert "bg.npz: the controls were counted with other options" in err and "min_bq 6 vs 20" in err
    assert "\n" not in err and not Path(out).exists()
    with pytest.raises(ReferenceFileError, match="keep-duplicates|flag_exclude"):
        deepamp.call(run.tumour, reference=run.ref, bed=run.bed, background=bg,
                     options=CallOptions(count=CountOptions.with_switches(keep_duplicates=True)))


def test_the_same_counting_flags_in_every_command():
    """-q is base quality and -m mapping quality in call, count, background, cohort and phase."""
    for command in ("call", "count", "background", "cohort", "phase"):
        parser = cli.build_parser(command)
        sub = next(a for a in parser._actions if a.dest == "command").choices[command]
        flags = {s: a.dest for a in sub._actions for s in a.option_strings}
        assert flags["-q"] == "min_bq" and flags["-m"] == "min_mq" and flags["-Q"] == "min_alt_bq", command
        assert flags["--keep-duplicates"] == "keep_duplicates", command
        assert flags["-o"] == "out" and flags["--output"] == "out", command


# ---------------------------------------------------------------- usage errors, table-driven

BAM, VCF, FA, BED = "in.bam", "in.vcf", "ref.fa", "a.bed"
USAGE_ERRORS = [
    (["call", "-f", FA, "-l", BED, "-a", "0", BAM], "--sig"),
    (["call", "-f", FA, "-l", BED, "-a", "1.5", BAM], "--sig"),
    (["call", "-f", FA, "-l", BED, "-a", "nan", BAM], "--sig"),
    (["call", "-f", FA, "-l", BED, "-C", "-1", BAM], "--min-cov"),
    (["call", "-f", FA, "-l", BED, "-b", "0", BAM], "--bonf"),
    (["call", "-f", FA, "-l", BED, "-b", "many", BAM], "--bonf"),
    (["call", "-f", FA, "-l", BED, "--threads", "0", BAM], "--threads"),
    (["call", "-f", FA, "-l", BED, "-q", "-1", BAM], "--min-bq"),
    (["call", "-f", FA, "-l", BED, "-m", "300", BAM], "--min-mq"),
    (["call", "-f", FA, "-l", BED, "--mate-memory", "-1", BAM], "--mate-memory"),
    (["call", "-f", FA, "-l", BED, "--mate-memory", "inf", BAM], "--mate-memory"),
    (["call", "-f", FA, "-l", BED, "--af-min", "nan", BAM], "--af-min"),
    (["call", "-f", FA, "-l", BED, "--mtc", "holm", BAM], "--mtc"),
    (["call", "-f", FA, "-l", BED, "--background", "b.npz", "--control", "c.bam", BAM], "--control"),
    (["call", "-f", FA, "-l", BED, "--no-indels", "--only-indels", BAM], "--only-indels"),
    (["call", "-l", BED, BAM], "-f/--ref"),
    (["call", "-f", FA, BAM], "-l AMPLICONS.bed or -r"),
    (["call", "-f", FA, "-l", BED], "IN.bam"),
    (["count", "-l", BED, BAM], "-o/--out"),
    (["count", "-l", BED, "-o", "x.tsv", "--threads", "-2", BAM], "--threads"),
    (["background", "-f", FA, "-l", BED, "-o", "bg.npz", "--outlier-alpha", "2", BAM], "--outlier-alpha"),
    (["background", "-f", FA, "-l", BED, "-o", "bg.npz"], "CONTROL.bam"),
    (["filter", "-i", VCF, "-a", "nan"], "--af-min"),
    (["filter", "-i", VCF, "-Q", "nan"], "--snvqual-thresh"),
    (["filter", "-i", VCF, "--sb-alpha", "0"], "--sb-alpha"),
    (["filter", "-i", VCF, "--sb-min-or", "0.5"], "--sb-min-or"),
    (["filter", "-i", VCF, "-v", "-3"], "--cov-min"),
    (["filter"], "input VCF is missing"),
    (["phase", "-i", VCF, "-o", "p.vcf", "--alpha", "0", BAM], "--alpha"),
    (["phase", "-i", VCF, "-o", "p.vcf", "--max-distance", "-1", BAM], "--max-distance"),
    (["phase", "-i", VCF, "-o", "p.vcf", "--max-trans-fraction", "1", BAM], "--max-trans-fraction"),
    (["phase", "-o", "p.vcf", BAM], "-i/--vcf"),
    (["annotate", VCF], "-o/--out"),
    (["annotate", "-o", "x", "--genome", "hg17", VCF], "--genome"),
    (["report", "--annotation", "a.json", "-o", "r.html"], "--vcf"),
    (["cohort", "-f", FA, "-l", BED, "-o", "run", "--workers", "0", BAM], "--workers"),
    (["simulate", "-f", FA, "-l", BED, "-o", "s.bam", "--pairs", "0"], "--pairs"),
    (["simulate", "-f", FA, "-l", BED, "-o", "s.bam", "--copy-number", "ALK_ex23=0"], "--copy-number"),
    (["cnv", "-f", FA, "-l", BED, "-o", "cn.tsv", BAM], "--control"),
    (["cnv", "-f", FA, "-l", BED, "-o", "cn.tsv", "--control", "a.bam", "--control", "b.bam", BAM],
     "at least 3 controls"),
    (["simulate", "-f", FA, "-l", BED, "-o", "s.bam", "--read-length", "10"], "--read-length"),
    (["align", "-f", FA, "-1", "a.fq", "-2", "b.fq", "-o", "o.bam", "--trim-5p", "-1"], "--trim-5p"),
    (["demo", "--pairs", "0"], "--pairs"),
    (["concordance", "a.vcf"], "B.vcf"),
    (["nosuchcommand"], "invalid choice"),
]


@pytest.mark.parametrize("argv, word", USAGE_ERRORS, ids=[" ".join(a[:1] + a[-3:-1]) for a, _ in USAGE_ERRORS])
def test_invalid_values_are_one_line_usage_errors(argv, word, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err
    assert err.count("\n") == 1 and "error:" in err and word in err, err
    assert "Traceback" not in err and captured.out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == []       # no output, nothing half-written


# ---------------------------------------------------------------- the VCF layer

def _significant_vcf(run, tmp_path) -> str:
    vcf = str(tmp_path / "calls.vcf.gz")
    assert cli.main(["call", "-f", run.ref, "-l", run.bed, "--quiet", "-o", vcf, run.tumour]) == 0
    return vcf


def _padj(path: str) -> dict[tuple[int, str], str]:
    out = {}
    for ln in _body(path):
        if ln.startswith("#"):
            continue
        f = ln.rstrip("\n").split("\t")
        info = dict(kv.split("=", 1) for kv in f[7].split(";") if "=" in kv)
        if "PADJ" in info:
            out[(int(f[1]), f[4])] = info["PADJ"]
    return out


def test_tiny_padj_survives_phase_annotate_and_bcftools(amplicon_run, tmp_path):
    run = amplicon_run
    vcf = _significant_vcf(run, tmp_path)
    before = _padj(vcf)
    tiny = {k: v for k, v in before.items() if float(v) < 1e-38 or "e-" in v and int(v.split("e-")[1]) > 38}
    assert tiny, before                                  # below BCF's 32-bit Float range
    phased = str(tmp_path / "phased.vcf.gz")
    assert cli.main(["phase", "-i", vcf, "-o", phased, "--quiet", run.tumour]) == 0
    assert _padj(phased) == before
    prefix = str(tmp_path / "ann")
    assert cli.main(["annotate", "-o", prefix, phased]) == 0
    assert _padj(prefix + ".vcf") == before
    if shutil.which("bcftools"):
        text = subprocess.run(["bcftools", "view", phased], capture_output=True, text=True, check=True)
        assert "[W::" not in text.stderr
        viewed = str(tmp_path / "viewed.vcf")
        Path(viewed).write_text(text.stdout)
        assert _padj(viewed) == before


LOFREQ_HEAD = """##fileformat=VCFv4.0
##source=lofreq call --call-indels
##INFO=<ID=DP,Number=1,Type=Integer,Description="Raw Depth">
##INFO=<ID=AF,Number=1,Type=Float,Description="Allele Frequency">
##INFO=<ID=SB,Number=1,Type=Integer,Description="Phred-scaled strand bias at this position">
##INFO=<ID=DP4,Number=4,Type=Integer,Description="Counts for ref-forward bases, ref-reverse, alt-forward and alt-reverse bases">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO
"""


def test_a_lofreq_vcf_without_contig_lines_goes_through_every_command(amplicon_run, tmp_path, capfd):
    """No ##contig, undeclared INFO keys (CONSVAR, HRUN, INDEL), SB as LoFreq declares it."""
    run = amplicon_run
    vcf = tmp_path / "lofreq.vcf"
    vcf.write_text(LOFREQ_HEAD +
                   "chr2\t29209816\t.\tC\tG\t3000\tPASS\tDP=3000;AF=0.03;SB=0;DP4=1450,1460,45,45;CONSVAR\n"
                   "chr2\t29220747\t.\tC\tT\t5000\tPASS\tDP=3000;AF=0.05;SB=1;DP4=1400,1450,75,75\n"
                   "chr2\t29220765\t.\tG\tT\t400\tPASS\tDP=3000;AF=0.01;SB=0;DP4=1480,1490,15,15\n"
                   "chr2\t29222338\t.\tCT\tC\t900\tPASS\tDP=2900;AF=0.04;SB=0;DP4=1390,1400,58,58;INDEL;HRUN=2\n")
    v = str(vcf)
    assert cli.main(["filter", "-i", v, "-o", str(tmp_path / "f.vcf")]) == 0
    assert cli.main(["phase", "-i", v, "-o", str(tmp_path / "p.vcf"), run.tumour]) == 0
    assert cli.main(["annotate", "-o", str(tmp_path / "a"), v]) == 0
    assert cli.main(["concordance", "-o", str(tmp_path / "c.vcf"), v, v]) == 0
    assert cli.main(["report", "--vcf", v, "--annotation", str(tmp_path / "a.json"),
                     "-o", str(tmp_path / "r.html")]) == 0
    err = capfd.readouterr().err
    assert "[W::" not in err and "[E::" not in err            # htslib never complains
    with pysam.VariantFile(str(tmp_path / "p.vcf")) as fh:
        assert list(fh.header.contigs) == ["chr2"] and "CONSVAR" in fh.header.info
        recs = list(fh)
    assert len(recs) == 4 and all("PHASE" in r.info for r in recs if len(r.ref) == 1)
    assert 'ID=G1202R' not in (tmp_path / "r.html").read_text() and "G1202R" in (tmp_path / "r.html").read_text()


def test_vcf_records_are_checked_line_by_line(tmp_path, capsys):
    for body, message in (("chr2\t-5\t.\tC\tT\t10\tPASS\tDP=10\n", "line 8: POS '-5' is not a position"),
                          ("chr2\t123456789012345678901\t.\tC\tT\t10\tPASS\tDP=10\n", "line 8: POS"),
                          ("chr2\t5\t.\tC\tT\tnan\tPASS\tDP=10\n", "line 8: QUAL 'nan' is not a number"),
                          ("chr2\t5\t.\tC\tT\t10\tPASS\tDP=ten\n", "line 8: INFO/DP=ten is not Integer"),
                          ("chr2\t5\t.\tC\n", "line 8: expected at least 8 tab-separated")):
        vcf = tmp_path / "bad.vcf"
        vcf.write_text(LOFREQ_HEAD + body)
        assert cli.main(["filter", "-i", str(vcf), "-o", str(tmp_path / "o.vcf")]) == 1
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
        assert not (tmp_path / "o.vcf").exists()


# ---------------------------------------------------------------- the public API and the layout

def test_help_and_dir_show_the_public_api():
    names = dir(deepamp)
    for name in ("call", "call_counts", "CallSet", "Call", "count", "count_coverage", "CountResult",
                 "CountOptions", "CallOptions", "FilterOptions", "learn_background", "load_background", "run",
                 "RunResult", "cohort", "CohortResult", "read_sample_sheet", "copy_number", "CopyNumberResult",
                 "CopyNumberOptions"):
        assert name in names
        assert getattr(deepamp, name).__doc__
    text = subprocess.run([sys.executable, "-c", "import deepamp; help(deepamp)"], capture_output=True, text=True,
                          env={"PAGER": "cat", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(SRC.parent)}).stdout
    assert "deepamp.call(" in text and "CallSet" in text


def _imports(path: Path, package: str) -> set[str]:
    """Modules of deepamp that ``path`` imports (absolute names, resolved relative imports)."""
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("deepamp")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("deepamp"):
                out.add(mod)
                out |= {f"{mod}.{a.name}" for a in node.names}
    return out


def _module_graph() -> dict[str, set[str]]:
    files = {}
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC.parent).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        files[name] = path
    graph = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        graph[name] = {m for m in _imports(path, package) if m in files and m != name}
    return graph


def test_no_import_circles_and_no_domain_module_imports_the_cli():
    graph = _module_graph()
    for name, deps in graph.items():
        if not name.startswith(("deepamp.cli", "deepamp.__main__")):
            assert not any(d.startswith("deepamp.cli") for d in deps), f"{name} imports the CLI"
    # every cycle, by depth-first search (the package face deepamp/__init__ only re-exports)
    graph = {k: {d for d in v if d != "deepamp"} for k, v in graph.items() if k != "deepamp"}
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for d in sorted(graph.get(node, ())):
            if state.get(d) == 1:
                raise AssertionError("import circle: " + " -> ".join(stack[stack.index(d):] + [node, d]))
            if d not in state:
                visit(d, stack + [node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
