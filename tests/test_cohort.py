"""``deepamp cohort``: each sample's VCF is the one ``deepamp call`` writes,
cohort.tsv lists every call with its recurrence, and bad input leaves no
output directory."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import pysam
import pytest

import deepamp
from deepamp import cli
from deepamp.errors import InputFileError
from deepamp.simulate import Spike, simulate
from deepamp.workflow.sample_sheet import read_sample_sheet


DATA = resources.files("deepamp") / "data"
REF = str(DATA / "ALK_hg38_chr2_29191796-29223795.fa")
BED = str(DATA / "alk_exons22-25_amplicons.bed")
G1202R = Spike("chr2", 29220747, "C", "T", 0.05)
G1269A = Spike("chr2", 29209816, "C", "G", 0.04)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    """Two tumours of one run (same error profile): G1202R in both, G1269A in the second."""
    d = tmp_path_factory.mktemp("cohort")
    bams = []
    for i, spikes in enumerate([(G1202R,), (G1202R, G1269A)]):
        bam = str(d / f"tumour{i}.bam")
        simulate(REF, BED, bam, pairs_per_amplicon=1500, spikes=spikes, run_seed=3, sample_seed=20 + i,
                 contig_length={"chr2": 242193529})
        bams.append(bam)
    return bams


def _records(vcf):
    with pysam.VariantFile(vcf) as fh:
        return [(r.chrom, r.pos, r.ref, r.alts, r.qual, tuple(r.filter.keys()), dict(r.info)) for r in fh]


def test_each_vcf_is_the_call_vcf_and_the_table_counts_recurrence(samples, tmp_path):
    out = str(tmp_path / "cohort")
    assert cli.main(["cohort", "-f", REF, "-l", BED, "--workers", "2", "-o", out, "--quiet", *samples]) == 0
    assert sorted(os.listdir(out)) == sorted(["cohort.tsv", "tumour0.vcf.gz", "tumour0.vcf.gz.tbi",
                                              "tumour1.vcf.gz", "tumour1.vcf.gz.tbi"])
    for i, bam in enumerate(samples):
        alone = str(tmp_path / f"alone{i}.vcf.gz")
        assert cli.main(["call", "-f", REF, "-l", BED, "-o", alone, "--quiet", bam]) == 0
        assert _records(os.path.join(out, f"tumour{i}.vcf.gz")) == _records(alone)
    with open(os.path.join(out, "cohort.tsv")) as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    by_site = {}
    for r in rows:
        by_site.setdefault((int(r["pos"]), r["alt"]), []).append(r)
    g1202r = by_site[(G1202R.pos, G1202R.alt)]
    assert sorted(r["sample"] for r in g1202r) == ["tumour0", "tumour1"]
    assert all(r["n_samples"] == "2" for r in g1202r)
    g1269a = by_site[(G1269A.pos, G1269A.alt)]
    assert [r["sample"] for r in g1269a] == ["tumour1"] and g1269a[0]["n_samples"] == "1"
    assert abs(float(g1269a[0]["af"]) - G1269A.vaf) < 0.02
    n_calls = sum(len(_records(os.path.join(out, f"tumour{i}.vcf.gz"))) for i in range(2))
    assert len(rows) == n_calls


def test_one_worker_gives_the_same_table(samples, tmp_path):
    tables = []
    for workers in ("1", "2"):
        out = str(tmp_path / f"w{workers}")
        assert cli.main(["cohort", "-f", REF, "-l", BED, "--workers", workers, "-o", out, "--quiet",
                         *samples]) == 0
        with open(os.path.join(out, "cohort.tsv")) as fh:
            tables.append(fh.read())
    assert tables[0] == tables[1]


def test_controls_are_learned_once_and_kept(samples, tmp_path):
    out = str(tmp_path / "bg")
    assert cli.main(["cohort", "-f", REF, "-l", BED, "--workers", "1", "--control", samples[0],
                     "-o", out, "--quiet", samples[1]]) == 0
    assert os.path.exists(os.path.join(out, "background.npz"))
    with pysam.VariantFile(os.path.join(out, "tumour1.vcf.gz")) as fh:
        lines = [line for line in str(fh.header).splitlines() if line.startswith("##deepamp_background=")]
    assert len(lines) == 1 and lines[0].startswith(f"##deepamp_background={os.path.join(out, 'background.npz')},")


@pytest.mark.parametrize("case", ["missing_bam", "same_sample", "exists", "bad_ref", "truncated",
                                  "failing_task"])
def test_bad_input_is_one_line_and_leaves_nothing(samples, tmp_path, capsys, case):
    out = str(tmp_path / "out")
    bams, ref, expect = list(samples), REF, None
    if case == "missing_bam":
        bams.append(str(tmp_path / "nope.bam"))
        expect = "nope.bam: file not found"
    elif case == "same_sample":
        bams.append(samples[0])
        expect = "sample 'tumour0' is also"
    elif case == "exists":
        os.mkdir(out)
        expect = "already exists"
    elif case == "bad_ref":
        ref = str(tmp_path / "missing.fa")
        expect = "missing.fa"
    elif case == "truncated":                       # found while reading sample names
        broken = str(tmp_path / "broken.bam")
        with open(samples[0], "rb") as src, open(broken, "wb") as dst:
            dst.write(src.read()[:-5000])
        bams = [samples[1], broken]
        expect = "broken.bam"
    elif case == "failing_task":                    # found by the sample's task, in a worker
        unindexed = str(tmp_path / "unindexed.bam")
        with open(samples[1], "rb") as src, open(unindexed, "wb") as dst:
            dst.write(src.read())
        bams = [samples[0], unindexed]
        expect = "unindexed.bam"
    before = set(os.listdir(tmp_path))
    assert all(os.path.exists(b) for b in bams) or case == "missing_bam"
    assert cli.main(["cohort", "-f", ref, "-l", BED, "--workers", "2", "-o", out, *bams]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("deepamp cohort: error:") and expect in err[0], err
    assert set(os.listdir(tmp_path)) == before      # no output directory, no temporary left over


# ================================================================ the sample-sheet form

PKG_PARENT = str(Path(deepamp.__file__).resolve().parents[1])
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([PKG_PARENT, os.environ.get("PYTHONPATH", "")]))
HEAD = "sample\tpatient\ttimepoint\trole\tr1\tr2\tbam"
L1196M = Spike("chr2", 29220765, "G", "T", 0.05)
EMERGING = Spike("chr2", 29220747, "C", "T", 0.02)          # ALK G1202R, 2 %, at P1's second time point


def _touch_inputs(d: Path) -> None:
    for name in ("a_R1.fq.gz", "a_R2.fq.gz", "b_R1.fq.gz", "b_R2.fq.gz", "c.bam", "c.bam.bai", "d.bam"):
        (d / name).write_bytes(b"x")


def _sheet(d: Path, *lines: str, head: str = HEAD) -> str:
    path = d / "samples.tsv"
    path.write_text("\n".join([head, *lines]) + "\n")
    return str(path)


def test_a_sheet_is_read_with_paths_from_its_directory_and_patients_in_time_order(tmp_path, caplog):
    (tmp_path / "in").mkdir()
    _touch_inputs(tmp_path / "in")
    path = _sheet(tmp_path,
                  "# controls first", "",
                  "N1\t\t\tcontrol\tin/a_R1.fq.gz\tin/a_R2.fq.gz\t",
                  "T2\tP1\t2024-05-01\tTumor\t\t\tin/c.bam",
                  "T1\tP1\t2024-01-31\ttumour\tin/b_R1.fq.gz\tin/b_R2.fq.gz\t-",
                  head=HEAD + "\tsm\tnotes")
    text = Path(path).read_text().replace("in/c.bam\n", "in/c.bam\tT2sm\tsecond\n")
    Path(path).write_text(text)
    sheet = read_sample_sheet(path)
    assert [s.sample for s in sheet.samples] == ["N1", "T2", "T1"]
    assert [s.line for s in sheet.samples] == [4, 5, 6]          # comment and blank lines counted
    n1, t2, t1 = sheet.samples
    assert n1.role == "control" and n1.r1 == str(tmp_path / "in" / "a_R1.fq.gz") and n1.is_fastq
    assert t2.role == "tumour" and t2.bam == str(tmp_path / "in" / "c.bam") and t2.sm == "T2sm" and not t2.is_fastq
    assert t1.sm == "T1" and t1.bam is None
    assert [s.sample for s in sheet.patients()["P1"]] == ["T1", "T2"]          # by date, not by line
    assert [s.sample for s in sheet.controls] == ["N1"]
    assert "'notes' ignored" in caplog.text


SHEET_ERRORS = {
    # case: (rows, header or None, line named, message)
    "no_role_column": (["T1\tP1\t1\tin/a_R1.fq.gz\tin/a_R2.fq.gz\t"], "sample\tpatient\ttimepoint\tr1\tr2\tbam",
                       1, "no column 'role'"),
    "no_read_columns": (["T1\tP1\t1\ttumour"], "sample\tpatient\ttimepoint\trole", 1, "no reads"),
    "r1_column_alone": (["T1\tP1\t1\ttumour\tin/a_R1.fq.gz"], "sample\tpatient\ttimepoint\trole\tr1", 1,
                        "column r1 without r2"),
    "missing_file": (["T1\tP1\t1\ttumour\tin/nope_R1.fq.gz\tin/a_R2.fq.gz\t"], None, 2,
                     "T1: r1 in/nope_R1.fq.gz: file not found"),
    "duplicate_sample": (["T1\tP1\t1\ttumour\tin/a_R1.fq.gz\tin/a_R2.fq.gz\t",
                          "T1\tP1\t2\ttumour\tin/b_R1.fq.gz\tin/b_R2.fq.gz\t"], None, 3,
                         "sample 'T1' is also on line 2"),
    "sample_differing_by_case": (["T1\tP1\t1\ttumour\tin/a_R1.fq.gz\tin/a_R2.fq.gz\t",
                                  "t1\tP1\t2\ttumour\tin/b_R1.fq.gz\tin/b_R2.fq.gz\t"], None, 3,
                                 "sample 't1' differs from 'T1' on line 2 by case only"),
    "unknown_role": (["T1\tP1\t1\thealthy\tin/a_R1.fq.gz\tin/a_R2.fq.gz\t"], None, 2,
                     "role 'healthy' is not control or tumour"),
    "r1_without_r2": (["T1\tP1\t1\ttumour\tin/a_R1.fq.gz\t\t"], None, 2, "r1 without r2"),
    "fastq_and_bam": (["T1\tP1\t1\ttumour\tin/a_R1.fq.gz\tin/a_R2.fq.gz\tin/c.bam"], None, 2,
                      "give FASTQs (r1, r2) or a BAM, not both"),
    "no_reads": (["T1\tP1\t1\ttumour\t\t\t"], None, 2, "no reads"),
    "bam_without_index": (["T1\tP1\t1\ttumour\t\t\tin/d.bam"], None, 2, "has no index"),
    "same_file_twice": (["T1\tP1\t1\ttumour\tin/a_R1.fq.gz\tin/a_R2.fq.gz\t",
                         "T2\tP1\t2\ttumour\tin/a_R1.fq.gz\tin/b_R2.fq.gz\t"], None, 3, "is also read on line 2"),
    "tumour_without_patient": (["T1\t\t1\ttumour\tin/a_R1.fq.gz\tin/a_R2.fq.gz\t"], None, 2, "needs its patient"),
    "tumour_without_timepoint": (["T1\tP1\t\ttumour\tin/a_R1.fq.gz\tin/a_R2.fq.gz\t"], None, 2,
                                 "needs its time point"),
    "bad_timepoint": (["T1\tP1\tbaseline\ttumour\tin/a_R1.fq.gz\tin/a_R2.fq.gz\t"], None, 2,
                      "neither a date (YYYY-MM-DD) nor an ordinal"),
    "bad_date": (["T1\tP1\t2024-02-30\ttumour\tin/a_R1.fq.gz\tin/a_R2.fq.gz\t"], None, 2, "not a valid date"),
    "mixed_timepoints": (["T1\tP1\t2024-01-01\ttumour\tin/a_R1.fq.gz\tin/a_R2.fq.gz\t",
                          "T2\tP1\t2\ttumour\tin/b_R1.fq.gz\tin/b_R2.fq.gz\t"], None, 3, "one kind per patient"),
    "timepoint_twice": (["T1\tP1\t1\ttumour\tin/a_R1.fq.gz\tin/a_R2.fq.gz\t",
                         "T2\tP1\t1\ttumour\tin/b_R1.fq.gz\tin/b_R2.fq.gz\t"], None, 3,
                        "patient 'P1' already has time point '1' (line 2)"),
    "bad_sample_name": (["T 1\tP1\t1\ttumour\tin/a_R1.fq.gz\tin/a_R2.fq.gz\t"], None, 2, "sample name 'T 1'"),
    "too_many_fields": (["T1\tP1\t1\ttumour\tin/a_R1.fq.gz\tin/a_R2.fq.gz\t\textra"], None, 2,
                        "8 fields, the header has 7"),
    "no_tumour": (["N1\t\t\tcontrol\tin/a_R1.fq.gz\tin/a_R2.fq.gz\t"], None, None, "no tumour sample"),
}


@pytest.mark.parametrize("case", sorted(SHEET_ERRORS))
def test_a_bad_sheet_is_one_line_naming_the_row_before_any_work(tmp_path, capsys, case):
    rows, head, line, message = SHEET_ERRORS[case]
    (tmp_path / "in").mkdir()
    _touch_inputs(tmp_path / "in")
    path = _sheet(tmp_path, *rows, head=head or HEAD)
    with pytest.raises(InputFileError) as err:
        read_sample_sheet(path)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert str(err.value).startswith(f"{path} line {line}: " if line else f"{path}: ")
    out = tmp_path / "out"
    assert cli.main(["cohort", path, "-f", REF, "-l", BED, "-o", str(out)]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0] == f"deepamp cohort: error: {err.value}"
    assert not out.exists()                                     # before any work


@pytest.mark.parametrize("contigs, message", [({"chr7": 159345973}, "no contig chr2 of the amplicon BED"),
                                              ({"chr2": 1000000}, "contig chr2 is 1,000,000 bases, shorter")])
def test_a_bam_row_of_another_panel_or_build_is_one_line_before_any_work(tmp_path, capsys, contigs, message):
    from conftest import sam_header, sam_to_bam

    (tmp_path / "in").mkdir()
    _touch_inputs(tmp_path / "in")
    bam = sam_to_bam(tmp_path / "in", sam_header(contigs), name="other")
    path = _sheet(tmp_path, "T1\tP1\t1\ttumour\tin/a_R1.fq.gz\tin/a_R2.fq.gz\t",
                  f"T2\tP1\t2\ttumour\t\t\t{bam}")
    out = tmp_path / "out"
    assert cli.main(["cohort", path, "-f", REF, "-l", BED, "-o", str(out), "--aligners", "bwa"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert err[0].startswith(f"deepamp cohort: error: {path} line 3: T2: {bam}: ")
    assert not out.exists()

def test_sheet_usage_errors_exit_2(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    _touch_inputs(tmp_path / "in")
    path = _sheet(tmp_path, "T1\tP1\t1\ttumour\tin/a_R1.fq.gz\tin/a_R2.fq.gz\t")
    for extra, expect in ((["--control", str(tmp_path / "in" / "c.bam")], "--control is for the BAM-list form"),
                          (["-r", "chr2:1-100"], "-r is for the BAM-list form"),
                          (["--workers", "0"], "--workers")):
        assert cli.main(["cohort", path, "-f", REF, "-l", BED, "-o", str(tmp_path / "o"), *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and expect in err[0], err
    assert cli.main(["cohort", str(tmp_path / "in" / "c.bam"), "-f", REF, "-l", BED, "-o", str(tmp_path / "o"),
                     "--primers", BED]) == 2
    assert "--primers is for the sample-sheet form" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_the_api_is_exported():
    assert deepamp.cohort is deepamp.workflow.cohort.cohort
    assert "cohort" in dir(deepamp) and "CohortResult" in dir(deepamp) and "read_sample_sheet" in dir(deepamp)
    assert deepamp.cohort.__doc__ and deepamp.CohortResult.__doc__


# ---------------------------------------------------------------- end to end: killed, resumed

GAIN_SAMPLE = "P3_t2"                                          # ALK exon 24 amplicon at twice the depth
PLAN = [(f"N{i}", "", "", "control", ()) for i in range(1, 5)] + [
    ("P1_t1", "P1", "2024-01-10", "tumour", ()),
    ("P1_t2", "P1", "2024-04-02", "tumour", (EMERGING,)),
    ("P2_t1", "P2", "1", "tumour", (L1196M,)),
    ("P2_t2", "P2", "2", "tumour", (L1196M,)),
    ("P3_t1", "P3", "1", "tumour", (G1269A,)),
    ("P3_t2", "P3", "2", "tumour", ()),
]


def _finished(out: Path) -> set[str]:
    """Samples whose run record holds the last step (report)."""
    done = set()
    for ledger in out.glob("samples/*/run.json"):
        try:
            steps = [s["name"] for s in json.loads(ledger.read_text())["steps"]]
        except (ValueError, OSError):
            continue
        if "report" in steps:
            done.add(ledger.parent.name)
    return done


@pytest.fixture(scope="module")
def resumed(tmp_path_factory):
    """4 controls and 3 patients x 2 time points from simulated FASTQs: a run killed by SIGTERM once a
    sample has finished, then the same sheet run again on a 2-worker LocalCluster."""
    d = tmp_path_factory.mktemp("sheet")
    (d / "fq").mkdir()
    (d / "sim").mkdir()
    rows = []
    for i, (name, patient, tp, role, spikes) in enumerate(PLAN):
        simulate(REF, BED, str(d / "sim" / f"{name}.bam"), pairs_per_amplicon=3000, spikes=spikes, run_seed=3,
                 sample_seed=100 + i, contig_length={"chr2": 242193529}, fastq=str(d / "fq" / name), sample=name,
                 amplicon_jitter_sd=0.05, copy_number={"ALK_ex24": 2.0} if name == GAIN_SAMPLE else None)
        rows.append(f"{name}\t{patient}\t{tp}\t{role}\tfq/{name}_R1.fastq.gz\tfq/{name}_R2.fastq.gz\t")
    sheet = _sheet(d, *rows)
    out, cache = d / "out", str(d / "index-cache")
    argv = [sys.executable, "-m", "deepamp", "cohort", sheet, "-f", REF, "-l", BED, "-o", str(out),
            "--aligners", "bwa", "--workers", "2", "--index-cache", cache]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.monotonic() + 240
    while not _finished(out) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    killed = {"rc": proc.returncode, "err": err, "finished": _finished(out),
              "cohort_files": [p.name for p in (out / "cohort.tsv", out / "cohort.html", out / "patients")
                               if p.exists()]}
    result = deepamp.cohort(sheet, REF, BED, str(out), aligners=["bwa"], workers=2, index_cache=cache)
    return {"killed": killed, "result": result, "out": out, "sheet": sheet, "cache": cache, "dir": d}


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path) as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


@pytest.mark.aligners
def test_a_killed_run_writes_no_cohort_files_and_the_rerun_reuses_finished_samples(resumed):
    killed, result = resumed["killed"], resumed["result"]
    assert killed["rc"] == 130, killed["err"]
    assert "Traceback" not in killed["err"], killed["err"]
    assert killed["err"].strip().splitlines()[-1].startswith("deepamp cohort: interrupted; no cohort.tsv")
    assert killed["cohort_files"] == []                 # nothing a reader (or a rerun) would trust
    finished = killed["finished"]
    assert 1 <= len(finished) < 6, finished
    assert result.ok and len(result.called) == 6
    for o in result.called:
        if o.sample in finished:                       # every step reused, nothing redone
            assert o.result.ran == [] and o.result.reused == ["align bwa", "call bwa", "agree", "phase",
                                                               "annotate", "report"], o.sample
    assert any(o.result.ran for o in result.called)    # the others were (re)done
    # controls: aligned and learned before any tumour finished, so reused too
    bg_steps = json.loads((resumed["out"] / "background" / "run.json").read_text())["steps"]
    assert [s["name"] for s in bg_steps] == ["background"]
    assert result.background == str(resumed["out"] / "background" / "background.npz")
    assert sorted(result.control_bams) == sorted(str(resumed["out"] / "controls" / f"N{i}" / f"N{i}.bwa.bam")
                                                 for i in range(1, 5))


@pytest.mark.aligners
def test_cohort_tsv_lists_every_sample_with_recurrence_and_emergence(resumed):
    rows = _rows(resumed["out"] / "cohort.tsv")
    assert list(rows[0]) == ["sample", "patient", "timepoint", "role", "status", "chrom", "pos", "ref", "alt", "gene",
                             "protein", "hgvsc", "vaf", "dp", "filter", "evidence", "phase", "n_samples",
                             "n_samples_pass", "change", "error"]
    assert [r["sample"] for r in rows if r["role"] == "control"] == ["N1", "N2", "N3", "N4"]
    assert all(r["status"] == "control" and not r["pos"] for r in rows if r["role"] == "control")
    assert {r["sample"] for r in rows} == {p[0] for p in PLAN}          # every sample, with calls or not
    by = {}
    for r in rows:
        if r["pos"]:
            by.setdefault((int(r["pos"]), r["alt"]), []).append(r)
    g1202r = by[(EMERGING.pos, EMERGING.alt)]
    passing = [r for r in g1202r if r["filter"] == "PASS"]
    assert [r["sample"] for r in passing] == ["P1_t2"]
    assert passing[0]["change"] == "emerged" and passing[0]["protein"] == "p.G1202R" and passing[0]["gene"] == "ALK"
    assert abs(float(passing[0]["vaf"]) - 0.02) < 0.01 and passing[0]["n_samples_pass"] == "1"
    l1196m = [r for r in by[(L1196M.pos, L1196M.alt)] if r["filter"] == "PASS"]
    assert sorted(r["sample"] for r in l1196m) == ["P2_t1", "P2_t2"]
    assert all(r["n_samples_pass"] == "2" and r["change"] == "" for r in l1196m)
    g1269a = [r for r in by[(G1269A.pos, G1269A.alt)] if r["filter"] == "PASS"]
    assert [r["sample"] for r in g1269a] == ["P3_t1"]
    # recurrence, independently: count the samples' own VCFs (a row without FILTER is an allele lost
    # with no record at that time point, not a carrier)
    for (pos, alt), rs in by.items():
        carriers = [x for x in rs if x["filter"]]
        assert all(int(r["n_samples"]) == len(carriers) for r in rs)
        assert all(int(r["n_samples_pass"]) == sum(x["filter"] == "PASS" for x in carriers) for r in rs)
        assert all(r["change"] == "lost" and not r["vaf"] for r in rs if not r["filter"])
    # every called tumour's rows are its final VCF's records, plus its losses without a record
    for o in resumed["result"].called:
        with pysam.VariantFile(o.result.phased_vcf) as fh:
            n = sum(len(rec.alts) for rec in fh)
        assert sum(1 for r in rows if r["sample"] == o.sample and r["pos"] and r["filter"]) == n


@pytest.mark.aligners
def test_copy_number_of_every_tumour_against_the_controls(resumed):
    """4 control BAMs: every called tumour is tested per amplicon; the doubled ALK exon 24 is a gain."""
    result, out = resumed["result"], resumed["out"]
    assert set(result.copy_number) == {o.sample for o in result.called}
    assert result.copy_number_table == str(out / "copy_number.tsv")
    lines = [ln for ln in (out / "copy_number.tsv").read_text().splitlines() if not ln.startswith("#")]
    rows = [dict(zip(lines[0].split("\t"), ln.split("\t"))) for ln in lines[1:]]
    assert len(rows) == 4 * len(result.called)
    gain = next(r for r in rows if r["sample"] == GAIN_SAMPLE and r["amplicon"] == "ALK_ex24")
    assert gain["call"] == "gain" and 1.6 < float(gain["ratio"]) < 2.5
    assert all(r["call"] == "." for r in rows if r["sample"] != GAIN_SAMPLE)
    assert result.copy_number[GAIN_SAMPLE].controls == ("N1", "N2", "N3", "N4")
    html = (out / "cohort.html").read_text()
    assert 'id="copy-number"' in html and "ALK_ex24" in html

@pytest.mark.aligners
def test_patients_pages_and_the_cohort_report_flag_emergence_and_loss(resumed):
    result, out = resumed["result"], resumed["out"]
    assert sorted(result.patient_pages) == ["P1", "P2", "P3"]
    for p, page in result.patient_pages.items():
        assert page == str(out / "patients" / f"{p}.html") and os.path.getsize(page) > 1000
    changes = set(result.changes)
    assert ("P1", "ALK p.G1202R", "2024-04-02", "emerged") in changes
    assert ("P3", "ALK p.G1269A", "2", "lost") in changes
    assert not [c for c in changes if c[0] == "P2" and c[1] == "ALK p.L1196M"]
    p1 = Path(result.patient_pages["P1"]).read_text()
    assert "ALK p.G1202R" in p1 and "emerged" in p1 and "<svg" in p1
    html = Path(result.report).read_text()
    for text in ("Mutations by sample", "Recurrence", "ALK p.G1202R", "ALK p.L1196M", 'href="patients/P1.html"',
                 'href="samples/P1_t2/P1_t2.report.html"', "emerged", "lost", "<svg"):
        assert text in html, text
    assert "<script" not in html and "http://" not in html


@pytest.mark.aligners
def test_a_failing_sample_is_reported_and_the_others_finish(resumed, tmp_path, capsys):
    d = resumed["dir"]
    bad = tmp_path / "bad_R1.fastq.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage")
    (tmp_path / "bad_R2.fastq.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    sheet = _sheet(tmp_path, f"good\tP1\t1\ttumour\t{d}/fq/P1_t2_R1.fastq.gz\t{d}/fq/P1_t2_R2.fastq.gz\t",
                   "bad\tP2\t1\ttumour\tbad_R1.fastq.gz\tbad_R2.fastq.gz\t")
    out = tmp_path / "out"
    assert cli.main(["cohort", sheet, "-f", REF, "-l", BED, "-o", str(out), "--aligners", "bwa", "--workers", "2",
                     "--index-cache", resumed["cache"], "--background", resumed["result"].background]) == 1
    captured = capsys.readouterr()
    last = captured.err.strip().splitlines()[-1]
    assert last.startswith("deepamp cohort: 1 sample(s) failed: bad (") and "bad_R1.fastq.gz" in last
    rows = _rows(out / "cohort.tsv")
    failed = [r for r in rows if r["sample"] == "bad"]
    assert len(failed) == 1 and failed[0]["status"] == "failed" and "bad_R1.fastq.gz" in failed[0]["error"]
    good = [r for r in rows if r["sample"] == "good" and r["filter"] == "PASS"]
    assert [(int(r["pos"]), r["alt"]) for r in good] == [(EMERGING.pos, EMERGING.alt)]
    assert captured.out.strip() == str(out / "cohort.html")


@pytest.mark.aligners
def test_primers_clip_every_sample_and_the_background_is_learned_between_them(tmp_path):
    """A sheet of BAMs with --primers: the background is learned over the template between the
    primers (as every sample is called), each tumour BAM is clipped by its run, the spike is called."""
    primers = tmp_path / "primers.bed"
    with open(BED) as fh:
        amps = [line.split() for line in fh if line.strip()]
    primers.write_text("".join(f"{c}\t{s}\t{int(s) + 20}\t{n}_LEFT\n{c}\t{int(e) - 20}\t{e}\t{n}_RIGHT\n"
                               for c, s, e, n in amps))
    rows = []
    for i, (name, role, spikes) in enumerate([("c1", "control", ()), ("c2", "control", ()),
                                               ("t1", "tumour", (G1202R,))]):
        bam = tmp_path / f"{name}.bam"
        simulate(REF, BED, str(bam), pairs_per_amplicon=1500, spikes=spikes, run_seed=3, sample_seed=60 + i,
                 contig_length={"chr2": 242193529}, primer_length=20, sample=name)
        rows.append(f"{name}\tP{i}\t{1 if role == 'tumour' else ''}\t{role}\t\t\t{bam.name}")
    sheet = _sheet(tmp_path, *rows)
    res = deepamp.cohort(sheet, REF, BED, str(tmp_path / "out"), primers=str(primers), workers=1)
    assert res.ok and [s.row.sample for s in res.called] == ["t1"]
    bg = deepamp.load_background(res.background)
    inserts = {p for _, s, e, _ in amps for p in range(int(s) + 20, int(e) - 20)}
    assert set(bg.pos.tolist()) == inserts                         # the inserts, not the primer footprints
    run = res.called[0].result
    assert run.ran[0] == "clip" and os.path.isfile(run.primer_stats["input"])
    with pysam.VariantFile(run.vcf) as fh:
        assert any(r.pos == 29220747 and r.alts[0] == "T" and list(r.filter) == ["PASS"] for r in fh)
