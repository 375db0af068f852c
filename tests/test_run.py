"""``deepamp run``: FASTQ -> both aligners -> call -> concordance -> phase -> annotate -> report, its run
record (resume by checksums, a failed step never trusted), and its error paths."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pysam
import pytest

import deepamp
from deepamp.cli import main
from deepamp.io.reference import Reference
from deepamp.simulate import Spike, simulate
from deepamp.workflow.run import run

from test_pipeline import AMPLICON, SLICE, SPIKE_POS, WINDOW, bam_to_fastq, need_aligners

PKG_PARENT = str(Path(deepamp.__file__).resolve().parents[1])      # the deepamp under test, installed or not


@pytest.fixture(scope="module")
def reads(tmp_path_factory):
    """A 1-kb piece of ALK, its amplicon, FASTQs of 1,500 pairs with G1202R at 5 %, and one index cache."""
    tmp = tmp_path_factory.mktemp("run")
    with Reference(SLICE) as ref:
        seq = ref.fetch("chr2", *WINDOW)
    fa = tmp / "alk.fa"
    fa.write_text(">alk\n" + "\n".join(seq[i:i + 60] for i in range(0, len(seq), 60)) + "\n")
    bed = tmp / "amp.bed"
    bed.write_text(f"alk\t{AMPLICON.start0}\t{AMPLICON.end0}\tALK_ex23\n")
    sim = simulate(str(fa), [AMPLICON], str(tmp / "sim.bam"), pairs_per_amplicon=1500,
                   spikes=[Spike("alk", SPIKE_POS, "C", "T", 0.05)], run_seed=3, sample_seed=4,
                   softclip_fraction=0.0, sample="tumour")
    r1, r2 = tmp / "tumour_R1.fastq.gz", tmp / "tumour_R2.fastq.gz"
    bam_to_fastq(sim.bam, r1, r2)
    return {"ref": str(fa), "bed": str(bed), "r1": str(r1), "r2": str(r2), "bam": sim.bam, "tmp": tmp,
            "cache": str(tmp / "index-cache")}


def _run(reads, outdir, *extra: str) -> int:
    return main(["run", "-f", reads["ref"], "-l", reads["bed"], "-1", reads["r1"], "-2", reads["r2"],
                 "--index-cache", reads["cache"], "-o", str(outdir), "--quiet", *extra])


def _records(vcf: str) -> dict[tuple[int, str], pysam.VariantRecord]:
    with pysam.VariantFile(vcf) as fh:
        return {(r.pos, r.alts[0]): r for r in fh}


@need_aligners
def test_fastq_to_report_with_both_aligners(reads, tmp_path, capsys):
    out = tmp_path / "run"
    assert _run(reads, out) == 0
    report = capsys.readouterr().out.strip()
    assert report == str(out / "tumour.report.html") and os.path.getsize(report) > 1000
    for name in ("tumour.bwa.bam", "tumour.bowtie2.bam", "tumour.bwa.vcf.gz", "tumour.bowtie2.vcf.gz",
                 "tumour.vcf.gz", "tumour.phased.vcf.gz", "tumour.annotated.tsv", "tumour.annotated.json",
                 "tumour.bwa.counts.npz", "tumour.bwa.lod.tsv", "run.json", "run.log"):
        assert (out / name).is_file(), name
    spike = _records(str(out / "tumour.vcf.gz"))[(SPIKE_POS, "T")]
    assert spike.info["EVIDENCE"] == "strong" and list(spike.filter) == ["PASS"]
    with pysam.VariantFile(str(out / "tumour.phased.vcf.gz")) as fh:   # the BWA call's reads and bases
        assert any(r.key == "deepamp_reads" for r in fh.header.records)
    assert "no ##deepamp_reads" not in Path(report).read_text()
    # every call that is not strong is kept, with its own FILTER
    for rec in _records(str(out / "tumour.vcf.gz")).values():
        assert (rec.info["EVIDENCE"] == "strong") == ("weak_evidence" not in rec.filter)
    doc = json.loads((out / "run.json").read_text())
    names = [s["name"] for s in doc["steps"]]
    assert names == ["align bwa", "align bowtie2", "call bwa", "call bowtie2", "agree", "phase", "annotate", "report"]
    align = doc["steps"][0]
    assert "bwa" in align["tools"] and align["tools"]["bwa"].split()[0][0].isdigit()
    assert any(c.startswith("bwa mem") for c in align["commands"])
    assert doc["run"]["version deepamp"] and doc["run"]["command"].startswith("deepamp run")
    log_text = (out / "run.log").read_text()
    assert "[align bowtie2]" in log_text and "sha256:" in log_text


@need_aligners
def test_a_finished_run_is_reused_and_a_change_reruns_what_depends_on_it(reads, tmp_path):
    out = tmp_path / "run"
    res = run(reads["ref"], reads["bed"], out, r1=reads["r1"], r2=reads["r2"], aligners=["bwa"],
              index_cache=reads["cache"])
    assert res.reused == [] and res.ran[0] == "align bwa"
    again = run(reads["ref"], reads["bed"], out, r1=reads["r1"], r2=reads["r2"], aligners=["bwa"],
                index_cache=reads["cache"])
    assert again.ran == [] and again.reused == res.ran
    # another significance level: the alignment is reused, calling and everything after it run again
    stricter = run(reads["ref"], reads["bed"], out, r1=reads["r1"], r2=reads["r2"], aligners=["bwa"],
                   index_cache=reads["cache"], alpha=0.001)
    assert stricter.reused == ["align bwa"] and stricter.ran == res.ran[1:]
    # an output edited by hand is not trusted: its step and the later ones whose inputs changed run again
    vcf = Path(stricter.vcf)
    os.utime(vcf, (1, 1))                        # touched, same bytes: still trusted
    assert run(reads["ref"], reads["bed"], out, r1=reads["r1"], r2=reads["r2"], aligners=["bwa"],
               index_cache=reads["cache"], alpha=0.001).ran == []
    Path(stricter.annotation_tsv).write_text("edited\n")
    redo = run(reads["ref"], reads["bed"], out, r1=reads["r1"], r2=reads["r2"], aligners=["bwa"],
               index_cache=reads["cache"], alpha=0.001)
    assert redo.ran == ["annotate"]          # same annotation bytes again: the report stays
    # an input that changed (same name, other reads) reruns from the alignment
    r1 = tmp_path / "R1.fastq.gz"
    r2 = tmp_path / "R2.fastq.gz"
    shutil.copy(reads["r1"], r1)
    shutil.copy(reads["r2"], r2)
    base = run(reads["ref"], reads["bed"], out, r1=r1, r2=r2, sample="tumour", aligners=["bwa"],
               index_cache=reads["cache"], alpha=0.001)
    assert base.ran == []                        # the same content under another name is the same input
    for path in (r1, r2):                        # one read pair fewer
        with gzip.open(path, "rt") as fh:
            lines = fh.readlines()
        with gzip.open(path, "wt") as fh:
            fh.writelines(lines[:-4])
    fewer = run(reads["ref"], reads["bed"], out, r1=r1, r2=r2, sample="tumour", aligners=["bwa"],
                index_cache=reads["cache"], alpha=0.001)
    assert fewer.ran[0] == "align bwa" and fewer.reused == []


@need_aligners
def test_a_failed_step_is_not_trusted_and_earlier_steps_are_reused(reads, tmp_path, capsys):
    out = tmp_path / "run"
    missing = tmp_path / "nope.bam"
    assert _run(reads, out, "--aligners", "bwa", "--control", str(missing)) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(missing) in err
    doc = json.loads((out / "run.json").read_text())
    assert [s["name"] for s in doc["steps"]] == ["align bwa"]
    assert not (out / "background.npz").exists()
    # with controls that exist, the alignment is reused and the background is learned once
    controls = []
    for j in range(2):
        path = tmp_path / f"control{j}.bam"
        simulate(reads["ref"], [AMPLICON], str(path), pairs_per_amplicon=800, run_seed=3, sample_seed=50 + j,
                 softclip_fraction=0.0)
        controls.append(str(path))
    res = run(reads["ref"], reads["bed"], out, r1=reads["r1"], r2=reads["r2"], aligners=["bwa"],
              index_cache=reads["cache"], control=controls)
    assert res.reused == ["align bwa"] and res.ran[0] == "background" and res.background
    with pysam.VariantFile(res.vcf) as fh:
        assert all(r.info["MODEL"] == "background" for r in fh)


@need_aligners
def test_an_interrupted_step_leaves_no_record(reads, tmp_path):
    out = tmp_path / "run"
    res = run(reads["ref"], reads["bed"], out, r1=reads["r1"], r2=reads["r2"], aligners=["bwa"],
              index_cache=reads["cache"])
    # a step whose output vanished runs again, and so does no other
    os.unlink(res.phase_tsv)
    again = run(reads["ref"], reads["bed"], out, r1=reads["r1"], r2=reads["r2"], aligners=["bwa"],
                index_cache=reads["cache"])
    assert again.ran == ["phase"]
    # a damaged run record is not trusted: a warning and every step runs again
    (out / "run.json").write_text("{ not json")
    redo = run(reads["ref"], reads["bed"], out, r1=reads["r1"], r2=reads["r2"], aligners=["bwa"],
               index_cache=reads["cache"])
    assert redo.reused == [] and redo.ran == res.ran


def test_a_missing_aligner_is_one_line_before_any_work(reads, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bwa",):                      # bwa present, bowtie2 missing
        real = shutil.which(tool)
        if real:
            os.symlink(real, bin_dir / tool)
    env = dict(os.environ, PATH=str(bin_dir), PYTHONPATH=PKG_PARENT)
    out = tmp_path / "run"
    res = subprocess.run([sys.executable, "-m", "deepamp", "run", "-f", reads["ref"], "-l", reads["bed"],
                          "-1", reads["r1"], "-2", reads["r2"], "-o", str(out)], capture_output=True, text=True,
                         env=env)
    assert res.returncode == 1, res.stderr
    assert res.stderr.count("\n") == 1 and "bowtie2" in res.stderr and "Traceback" not in res.stderr
    assert not out.exists()


def test_reads_must_be_fastq_pairs_or_a_bam(reads, tmp_path, capsys):
    out = str(tmp_path / "run")
    base = ["run", "-f", reads["ref"], "-l", reads["bed"], "-o", out]
    assert main(base) == 2
    assert main([*base, "-1", reads["r1"]]) == 2
    assert main([*base, "-1", reads["r1"], "-2", reads["r2"], reads["bam"]]) == 2
    assert main([*base, "-1", reads["r1"], "-2", reads["r2"], "--aligners", "bwa,star"]) == 2
    assert main([*base, "-1", reads["r1"], "-2", reads["r2"], "--aligners", "bwa,bwa"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 5 and all(line.startswith("deepamp run: error:") for line in err)


def test_a_bam_runs_without_alignment_or_concordance(reads, tmp_path):
    res = run(reads["ref"], reads["bed"], tmp_path / "run", bam=reads["bam"])
    assert res.sample == "tumour" and list(res.bams) == ["input"]
    assert res.ran == ["call input", "agree", "phase", "annotate", "report"]
    spike = _records(res.vcf)[(SPIKE_POS, "T")]
    assert list(spike.filter) == ["PASS"] and "EVIDENCE" not in spike.info
    assert os.path.isfile(res.report)


def test_mate_memory_reaches_the_counting(reads, tmp_path, monkeypatch):
    """--mate-memory (MiB) is the budget every count of the run gets (memory against speed; same counts)."""
    import deepamp.calling.call as calling

    seen = []
    real = calling.call

    def spy(*args, **kwargs):
        seen.append(kwargs.get("mate_memory"))
        return real(*args, **kwargs)

    monkeypatch.setattr(calling, "call", spy)
    assert main(["run", "-f", reads["ref"], "-l", reads["bed"], "--mate-memory", "3", "-o", str(tmp_path / "r"),
                 "--quiet", reads["bam"]]) == 0
    assert seen == [3 << 20]

def test_primers_clip_a_bam_before_calling_and_are_recorded(reads, tmp_path):
    primers = tmp_path / "primers.bed"
    a = (AMPLICON.start0, AMPLICON.end0)
    primers.write_text(f"alk\t{a[0]}\t{a[0] + 20}\tex23_LEFT\t0\t+\nalk\t{a[1] - 20}\t{a[1]}\tex23_RIGHT\t0\t-\n")
    res = run(reads["ref"], reads["bed"], tmp_path / "run", bam=reads["bam"], primers=primers)
    assert res.ran[0] == "clip" and res.bams["input"].endswith("tumour.clipped.bam")
    rows = {r.split("\t")[0]: r.split("\t")[1:] for r in Path(res.primer_stats["input"]).read_text().splitlines()}
    assert int(rows["(all)"][0]) == 3000 and int(rows["(all)"][1]) > 2900      # 1,500 pairs, nearly all clipped
    with pysam.AlignmentFile(res.bams["input"]) as fh:          # no aligned base left inside a primer
        for read in fh:
            if not read.is_unmapped:
                assert a[0] + 20 - 5 <= read.reference_start and read.reference_end <= a[1] - 20 + 5
    spike = _records(res.vcf)[(SPIKE_POS, "T")]
    assert list(spike.filter) == ["PASS"]
    doc = json.loads((tmp_path / "run" / "run.json").read_text())
    assert list(doc["steps"][0]["inputs"])[-1] == str(primers)
    # the primer lengths instead of a primer BED: another setting, so the clip step runs again
    res2 = run(reads["ref"], reads["bed"], tmp_path / "run", bam=reads["bam"], primer_length=(20, 20))
    assert res2.ran[0] == "clip"


def test_bad_primers_are_one_line_before_any_work(reads, tmp_path, capsys):
    bad = tmp_path / "primers.bed"
    bad.write_text("chr9\t10\t30\tx_LEFT\n")
    out = tmp_path / "run"
    assert main(["run", "-f", reads["ref"], "-l", reads["bed"], "--primers", str(bad), "-o", str(out),
                 reads["bam"]]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(bad) in err and not any(out.iterdir() if out.exists() else [])


@pytest.mark.slow
@need_aligners
def test_demo_runs_the_whole_flow_from_fastq_and_its_report_exists(tmp_path, capsys):
    """``deepamp demo``: FASTQ -> both aligners (primer-clipped) -> background from aligned controls ->
    calls; every spike strong and PASS, the printed report path exists; a second run redoes nothing."""
    out = tmp_path / "demo"
    argv = ["demo", "-o", str(out), "--pairs", "5000", "--controls", "2"]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == str(out / "demo_tumour.report.html") and os.path.getsize(lines[-1]) > 1000
    assert "BWA-MEM + Bowtie2" in lines[0]
    for name in ("G1202R", "L1196M", "G1269A", "C1156Y"):
        fields = next(x for x in lines if name in x).split()
        assert fields[-2:] == ["strong", "PASS"], fields
    doc = json.loads((out / "run.json").read_text())
    steps = [s["name"] for s in doc["steps"]]
    assert steps[:3] == ["align bwa", "align bowtie2", "background"]
    assert all(os.path.isfile(out / f"demo_tumour.{a}.primers.tsv") for a in ("bwa", "bowtie2"))
    padded = str(Path(deepamp.__file__).parent / "data" / "ALK_hg38_chr2_padded.fa.gz")
    if shutil.which("bcftools"):           # the VCF is in chr2 coordinates of GRCh38: bcftools agrees
        norm = subprocess.run(["bcftools", "norm", "-c", "e", "-f", padded, str(out / "demo_tumour.vcf.gz")],
                              capture_output=True, text=True)
        assert norm.returncode == 0 and "G1202R" not in norm.stderr, norm.stderr
    before = (out / "run.json").read_text()
    assert main(argv) == 0 and capsys.readouterr().out.splitlines()[-1] == lines[-1]
    assert json.loads((out / "run.json").read_text())["steps"] == json.loads(before)["steps"]


@pytest.mark.slow
@need_aligners
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_run_with_130_and_the_same_command_goes_on(reads, tmp_path, sig):
    """Interrupted at several moments: exit 130 with one line, no traceback, no temporary file, no step
    recorded that did not finish; the same command then completes and reuses what had finished."""
    env = dict(os.environ, PYTHONPATH=PKG_PARENT)
    interrupted = 0
    for i, delay in enumerate((0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.6, 0.9, 1.3)):   # the run takes 0.4-2 s
        out = tmp_path / f"run{i}"
        argv = [sys.executable, "-m", "deepamp", "run", "-f", reads["ref"], "-l", reads["bed"], "-1", reads["r1"],
                "-2", reads["r2"], "--aligners", "bwa", "--index-cache", reads["cache"], "-o", str(out)]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        time.sleep(delay)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        assert "Traceback" not in err, err
        if proc.returncode == 0:
            continue
        if proc.returncode == -sig:        # before deepamp's handler was installed: the default action
            assert not out.exists() or not any(out.iterdir()), "killed during start-up, yet wrote"
            continue
        interrupted += 1
        assert proc.returncode == 130, err
        assert err.strip().splitlines()[-1].startswith("deepamp run: interrupted; the step under way left nothing")
        if out.exists():
            assert not [p for p in out.rglob("*") if p.name.startswith(".")], "temporary files left"
        done = json.loads((out / "run.json").read_text()) if (out / "run.json").exists() else {}
        res = run(reads["ref"], reads["bed"], out, r1=reads["r1"], r2=reads["r2"], aligners=["bwa"],
                  index_cache=reads["cache"])
        assert os.path.exists(res.report) and not set(res.ran) & set(res.reused)
        assert set(res.reused) <= set(json.dumps(done).split('"')), (res.reused, done)
    assert interrupted >= 1, "every run finished before its signal"
