"""Tests of deepamp.workflow.align (``deepamp align``): FASTQ validation, index cache,
child failures, and FASTQ -> bwa / bowtie2 -> call -> concordance end to end."""

from __future__ import annotations

import gzip
import os
import shutil
import stat
from collections import defaultdict
from pathlib import Path

import pysam
import pytest

from deepamp.cli import main
from deepamp.errors import FormatError, InputFileError
from deepamp.workflow.align import PipelineError, align, aligner_index, run_tool, validate_fastq_pair
from deepamp.io.reference import Reference
from deepamp.simulate import Amplicon, Spike, simulate

DATA = Path(__file__).resolve().parents[1] / "src" / "deepamp" / "data"
SLICE = DATA / "ALK_hg38_chr2_29191796-29223795.fa"
# a plain (non-slice) reference: 1,000 bp of ALK around the exon 23 amplicon
WINDOW = (29220200, 29221200)          # 0-based half-open on chr2
AMPLICON = Amplicon("alk", 29220676 - WINDOW[0], 29220865 - WINDOW[0], "ALK_ex23")
SPIKE_POS = 29220747 - WINDOW[0]       # G1202R (c.3604G>A), C>T on the forward strand

need_aligners = pytest.mark.aligners   # skipped, with the reason, where the tools are missing


def fastq_text(records) -> str:
    return "".join(f"@{name}\n{seq}\n+\n{qual}\n" for name, seq, qual in records)


def write_fastq(path: Path, records, gz: bool = True) -> str:
    text = fastq_text(records)
    if gz:
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return str(path)


def bam_to_fastq(bam: str, r1: Path, r2: Path) -> int:
    """Read pairs of ``bam`` as they came off the sequencer (reverse reads re-complemented)."""
    pairs: dict[str, dict[int, tuple[str, str]]] = defaultdict(dict)
    with pysam.AlignmentFile(bam) as fh:
        for read in fh.fetch(until_eof=True):
            if read.is_secondary or read.is_supplementary:
                continue
            qual = "".join(chr(q + 33) for q in read.get_forward_qualities())
            pairs[read.query_name][1 if read.is_read1 else 2] = (read.get_forward_sequence(), qual)
    names = sorted(n for n, p in pairs.items() if len(p) == 2)
    write_fastq(r1, [(f"{n}/1", *pairs[n][1]) for n in names])
    write_fastq(r2, [(f"{n}/2", *pairs[n][2]) for n in names])
    return len(names)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """A 1-kb reference, its amplicon BED, and FASTQs of 1,500 simulated pairs with G1202R at 4%."""
    tmp = tmp_path_factory.mktemp("pipeline")
    with Reference(SLICE) as ref:
        seq = ref.fetch("chr2", *WINDOW)
    fa = tmp / "ref" / "alk.fa"
    fa.parent.mkdir()
    fa.write_text(">alk\n" + "\n".join(seq[i:i + 60] for i in range(0, len(seq), 60)) + "\n")
    pysam.faidx(str(fa))
    bed = tmp / "amp.bed"
    bed.write_text(f"alk\t{AMPLICON.start0}\t{AMPLICON.end0}\tALK_ex23\n")
    assert seq[SPIKE_POS - 1] == "C"
    sim = simulate(str(fa), [AMPLICON], str(tmp / "sim.bam"), pairs_per_amplicon=1500,
                   spikes=[Spike("alk", SPIKE_POS, "C", "T", 0.04)], run_seed=3, sample_seed=4,
                   softclip_fraction=0.0)
    os.chmod(fa.parent, stat.S_IRUSR | stat.S_IXUSR)      # the reference directory is read-only
    r1, r2 = tmp / "s_R1.fastq.gz", tmp / "s_R2.fastq.gz"
    n = bam_to_fastq(sim.bam, r1, r2)
    yield {"ref": str(fa), "bed": str(bed), "r1": str(r1), "r2": str(r2), "pairs": n, "tmp": tmp}
    os.chmod(fa.parent, stat.S_IRWXU)


# ---------------------------------------------------------------- end to end

@need_aligners
def test_both_aligners_call_and_concordance_make_the_spike_strong(sample, tmp_path, capsys):
    cache = tmp_path / "cache"
    vcfs = []
    for aligner in ("bwa", "bowtie2"):
        bam = tmp_path / f"s.{aligner}.bam"
        assert main(["align", "-f", sample["ref"], "-1", sample["r1"], "-2", sample["r2"],
                     "--aligner", aligner, "--index-cache", str(cache), "-o", str(bam)]) == 0
        err = capsys.readouterr().err
        assert f"building the {aligner} index" in err and str(cache) in err
        with pysam.AlignmentFile(str(bam)) as fh:
            assert fh.header["HD"]["SO"] == "coordinate"
            assert fh.header["RG"][0]["SM"] == f"s.{aligner}"
            reads = [r for r in fh.fetch("alk")]
        assert len(reads) >= 2 * sample["pairs"] * 0.98
        assert all(r.get_tag("RG") == f"s.{aligner}" for r in reads[:50])
        assert os.path.isfile(str(bam) + ".bai")
        vcf = str(tmp_path / f"s.{aligner}.vcf")
        assert main(["call", "--quiet", "-f", sample["ref"], "-l", sample["bed"], "-o", vcf, str(bam)]) == 0
        vcfs.append(vcf)
    assert sorted(os.listdir(os.path.dirname(sample["ref"]))) == ["alk.fa", "alk.fa.fai"]  # untouched
    out = str(tmp_path / "conc.vcf.gz")
    assert main(["concordance", "--quiet", "-o", out, *vcfs]) == 0
    with pysam.VariantFile(out) as vf:
        recs = {(r.pos, r.ref, r.alts[0]): r for r in vf}
    spike = recs[(SPIKE_POS, "C", "T")]
    assert spike.info["EVIDENCE"] == "strong"
    assert spike.info["AF_bwa"] == pytest.approx(0.04, abs=0.015)
    assert spike.info["AF_bowtie2"] == pytest.approx(0.04, abs=0.015)


@need_aligners
def test_index_cache_is_reused_and_an_index_next_to_the_reference_wins(sample, tmp_path, capsys):
    cache = str(tmp_path / "cache")
    first = aligner_index(sample["ref"], "bwa", cache)
    assert first.startswith(cache) and os.path.isfile(first + ".bwt")
    mtime = os.path.getmtime(first + ".bwt")
    assert aligner_index(sample["ref"], "bwa", cache) == first
    assert os.path.getmtime(first + ".bwt") == mtime
    # a writable reference with an up-to-date index of its own: used in place
    ref = tmp_path / "own" / "ref.fa"
    ref.parent.mkdir()
    shutil.copyfile(sample["ref"], ref)
    run_tool(["bwa", "index", str(ref)])
    assert aligner_index(str(ref), "bwa", cache) == str(ref)


@need_aligners
def test_trim_5p_shortens_the_aligned_reads(sample, tmp_path):
    bam = str(tmp_path / "t.bam")
    align(sample["ref"], sample["r1"], sample["r2"], bam, "bwa", trim_5p=20,
          cache_dir=str(tmp_path / "cache"))
    with pysam.AlignmentFile(bam) as fh:
        lengths = {r.query_length for r in fh.fetch(until_eof=True) if not r.is_supplementary}
    assert max(lengths) == 130      # 150-bp simulated reads minus 20


# ---------------------------------------------------------------- FASTQ validation

def test_fastq_pairs_counted_and_trimmed(tmp_path):
    r1 = write_fastq(tmp_path / "a_R1.fq.gz", [("p1/1", "ACGTACGT", "IIIIIIII"), ("p2/1", "AC", "II")])
    r2 = write_fastq(tmp_path / "a_R2.fq", [("p1/2", "TTTTGGGG", "ABCDEFGH"), ("p2/2", "GGGT", "IIII")], gz=False)
    out1, out2 = str(tmp_path / "o1.fq"), str(tmp_path / "o2.fq")
    stats = validate_fastq_pair(r1, r2, 3, out1, out2)
    assert stats.pairs == 2 and stats.bases == 8 + 2 + 8 + 4
    assert Path(out1).read_text() == "@p1/1\nTACGT\n+\nIIIII\n@p2/1\nC\n+\nI\n"
    assert Path(out2).read_text() == "@p1/2\nTGGGG\n+\nDEFGH\n@p2/2\nT\n+\nI\n"


def test_fastq_trailing_blank_lines_accepted(tmp_path):
    r1, r2 = tmp_path / "t_R1.fq", tmp_path / "t_R2.fq.gz"
    r1.write_text("@p1/1\nACGT\n+\nIIII\n@p2/1\nAC\n+\nII\n\n")
    r2.write_bytes(gzip.compress(b"@p1/2\nTTGG\n+\nIIII\n@p2/2\nGG\n+\nII\n\n\r\n \n"))
    stats = validate_fastq_pair(str(r1), str(r2))
    assert stats.pairs == 2 and stats.bases == 12


@pytest.mark.parametrize("r1_text,r2_text,message", [
    (">p1\nACGT\n", None, "not FASTQ"),
    ("@p1\nACGT\n+\nIII\n", None, "sequence and quality lengths differ"),
    ("@p1\nACGT\n+\n", None, "truncated FASTQ record"),
    ("@p1\nACGT\n+\nIIII\n@p2\nACGT\n+\nIIII\n", "@p1\nACGT\n+\nIIII\n", "has fewer reads than"),
    ("@p1\nACGT\n+\nIIII\n", "@q1\nACGT\n+\nIIII\n", "out of step"),
    ("", "", "no reads"),
    ("@p1\nACGT\n+\nIIII\n\n@p2\nACGT\n+\nIIII\n", None, r"not FASTQ \(blank line 5 before line 6\)"),
])
def test_fastq_errors_are_one_line_and_name_the_file(tmp_path, r1_text, r2_text, message):
    r1 = tmp_path / "x_R1.fastq"
    r2 = tmp_path / "x_R2.fastq"
    r1.write_text(r1_text)
    r2.write_text(r1_text if r2_text is None else r2_text)
    with pytest.raises(FormatError, match=message) as exc:
        validate_fastq_pair(str(r1), str(r2))
    assert "\n" not in str(exc.value) and "x_R" in str(exc.value)


def test_corrupt_gzip_fastq(tmp_path):
    r1 = tmp_path / "r1.fastq.gz"
    data = gzip.compress("".join(f"@p{i}\nACGT\n+\nIIII\n" for i in range(2000)).encode())
    r1.write_bytes(data[:len(data) // 2])
    r2 = tmp_path / "r2.fastq.gz"
    r2.write_bytes(gzip.compress("".join(f"@p{i}\nTTGC\n+\nIIII\n" for i in range(2000)).encode()))
    with pytest.raises(FormatError, match="r1.fastq.gz: corrupt or truncated gzip"):
        validate_fastq_pair(str(r1), str(r2))


def test_cli_missing_fastq_one_line_and_no_output(tmp_path, capsys):
    if not shutil.which("bwa"):
        pytest.skip("needs bwa on PATH")
    ref = tmp_path / "r.fa"
    ref.write_text(">c\nACGTACGTAC\n")
    out = tmp_path / "o.bam"
    assert main(["align", "-f", str(ref), "-1", str(tmp_path / "missing_R1.fq"), "-2",
                 str(tmp_path / "missing_R2.fq"), "-o", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "missing_R1.fq: FASTQ not found" in err
    assert os.listdir(tmp_path) == ["r.fa"]
    with pytest.raises(InputFileError):
        validate_fastq_pair(str(tmp_path / "missing_R1.fq"), str(tmp_path / "missing_R1.fq"))


# ---------------------------------------------------------------- tools

def fake_tool(bindir: Path, name: str, script: str) -> None:
    bindir.mkdir(exist_ok=True)
    path = bindir / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)


def test_missing_aligner_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    fq = write_fastq(tmp_path / "r.fq", [("p", "ACGT", "IIII")], gz=False)
    ref = tmp_path / "r.fa"
    ref.write_text(">c\nACGTACGTAC\n")
    with pytest.raises(PipelineError, match=r"bowtie2: not found on PATH \(install it"):
        align(str(ref), fq, fq, str(tmp_path / "o.bam"), "bowtie2")


def test_failing_child_names_tool_and_last_stderr_line_and_leaves_no_output(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    fake_tool(bindir, "bwa", 'echo "[M::bwa] starting" >&2\necho "[E::bwa_idx_load] fail to locate the index" >&2\n'
                             'echo partial-sam-output\nexit 3\n')
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    ref = tmp_path / "r.fa"
    ref.write_text(">c\nACGTACGTAC\n")
    for suffix in (".amb", ".ann", ".bwt", ".pac", ".sa"):      # an "index" so bwa mem is what fails
        (tmp_path / f"r.fa{suffix}").write_text("x")
    fq = write_fastq(tmp_path / "r.fq", [("p", "ACGT", "IIII")], gz=False)
    fq2 = write_fastq(tmp_path / "r2.fq", [("p", "TTGC", "IIII")], gz=False)
    out = tmp_path / "out" / "o.bam"
    out.parent.mkdir()
    with pytest.raises(PipelineError) as exc:
        align(str(ref), fq, fq2, str(out), "bwa")
    assert str(exc.value) == "bwa failed (exit 3): [E::bwa_idx_load] fail to locate the index"
    assert os.listdir(out.parent) == []


def test_failing_indexer_leaves_no_cache_entry(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    fake_tool(bindir, "bowtie2-build", 'echo "Error: Encountered internal Bowtie 2 exception (#1)" >&2\nexit 1\n')
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    ref = tmp_path / "r.fa"
    ref.write_text(">c\nACGTACGTAC\n")
    cache = tmp_path / "cache"
    with pytest.raises(PipelineError, match=r"^bowtie2-build failed \(exit 1\): Error: Encountered"):
        aligner_index(str(ref), "bowtie2", str(cache))
    assert [p for p in cache.rglob("*") if p.is_file()] == []


@need_aligners
def test_not_a_fasta_reference(tmp_path):
    ref = tmp_path / "r.fa"
    ref.write_text("ACGT\n")
    with pytest.raises(Exception, match="r.fa: not a FASTA file"):
        aligner_index(str(ref), "bwa", str(tmp_path / "cache"))
