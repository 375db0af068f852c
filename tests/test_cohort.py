"""``deepamp cohort``: each sample's VCF is the one ``deepamp call`` writes,
cohort.tsv lists every call with its recurrence, and bad input leaves no
output directory."""

from __future__ import annotations

import csv
import os
from importlib import resources

import pysam
import pytest

from deepamp import cli
from deepamp.simulate import Spike, simulate

pytest.importorskip("dask")

DATA = resources.files("deepamp") / "data"
REF = str(DATA / "ALK_hg38_chr2_29191796-29223795.fa")
BED = str(DATA / "alk_exons22-25_amplicons.bed")
G1202R = Spike("chr2", 29220747, "C", "T", 0.05)
G1269A = Spike("chr2", 29209816, "C", "G", 0.04)


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
