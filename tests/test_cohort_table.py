"""cohort.tsv rows built from hand-made samples: recurrence counts, annotation columns, empty rows, cells."""
from __future__ import annotations

from deepamp.report.inputs import Allele
from deepamp.workflow.cohort_table import (CALLED, CONTROL, FAILED, TSV_COLUMNS, CohortRow, SampleCalls,
                                           cohort_rows, write_cohort_tsv)
from deepamp.workflow.sample_sheet import SheetSample


def _s(name, patient="P1", tp="t1", role="tumour"):
    return SheetSample(name, patient, tp, role, None, None, f"/x/{name}.bam", name, 2)


G1202R = Allele("chr2", 29220765, "G", "T", "PASS", depth=25000, af=0.0123456789, ps=7,
                phase=("chr2:29220747C>T:cis:spanning=80",), evidence="strong")
L1196M = Allele("chr2", 29220829, "G", "T", "min_af_0.005", depth=900, af=0.001)
LOW = Allele("chr2", 29220700, "C", "A", "sba_fdr", depth=100, af=float("nan"))


def _calls(*alleles, ann=None):
    return SampleCalls({a.key: a for a in alleles}, ann or {})


def test_recurrence_counts_called_samples_and_passing_ones():
    ann = {G1202R.key: {"gene": "ALK", "hgvsp1": "p.G1202R", "combined_hgvsp1": "",
                        "hgvsc": "NM_004304.5:c.3604G>A"},
           L1196M.key: {"gene": "", "hgvsp1": "p.?", "hgvsc": None}}
    g_fail = Allele("chr2", 29220765, "g", "t", "sba_fdr", depth=100, af=0.02)
    samples = [(_s("A"), CALLED, _calls(L1196M, G1202R, ann=ann), None),
               (_s("B", tp="t2"), CALLED, _calls(g_fail, LOW), None),
               (_s("C", patient="P2"), CALLED, _calls(), None),
               (_s("D", patient="P3"), FAILED, None, "bwa failed"),
               (_s("N", patient="", tp="", role="control"), CONTROL, None, None)]
    rows = cohort_rows(samples, changes={("B", G1202R.key): "emerged"})
    assert [(r.sample, r.allele.pos if r.allele else None) for r in rows] == [
        ("A", 29220765), ("A", 29220829), ("B", 29220700), ("B", 29220765), ("C", None), ("D", None), ("N", None)]
    a_g, a_l, b_low, b_g, c, d, n = rows
    # G1202R in A (PASS) and B (filtered, lower-case REF/ALT: the same allele)
    assert (a_g.n_samples, a_g.n_samples_pass) == (2, 1) and (b_g.n_samples, b_g.n_samples_pass) == (2, 1)
    assert (a_l.n_samples, a_l.n_samples_pass) == (1, 0) and (b_low.n_samples, b_low.n_samples_pass) == (1, 0)
    assert (a_g.gene, a_g.protein, a_g.hgvsc) == ("ALK", "p.G1202R", "c.3604G>A")
    assert (a_l.gene, a_l.protein, a_l.hgvsc) == (None, None, None)
    assert b_g.change == "emerged" and a_g.change is None
    assert (d.status, d.error) == (FAILED, "bwa failed") and n.status == CONTROL and c.allele is None


def test_cells_and_phase_text(tmp_path):
    row = CohortRow("A", "P1", "t 1", "tumour", CALLED, allele=G1202R, gene="ALK", protein="p.G1202R",
                    hgvsc="c.3604G>A", n_samples=2, n_samples_pass=1, change="emerged")
    assert row.phase == "PS=7;chr2:29220747C>T:cis:spanning=80"
    cells = row.cells()
    assert len(cells) == len(TSV_COLUMNS)
    assert dict(zip(TSV_COLUMNS, cells)) == {
        "sample": "A", "patient": "P1", "timepoint": "t 1", "role": "tumour", "status": "called",
        "chrom": "chr2", "pos": "29220765", "ref": "G", "alt": "T", "gene": "ALK", "protein": "p.G1202R",
        "hgvsc": "c.3604G>A", "vaf": "0.0123457", "dp": "25000", "filter": "PASS", "evidence": "strong",
        "phase": "PS=7;chr2:29220747C>T:cis:spanning=80", "n_samples": "2", "n_samples_pass": "1",
        "change": "emerged", "error": ""}
    unphased = CohortRow("B", "P1", "t2", "tumour", CALLED, allele=LOW)
    assert unphased.phase == ""
    cells = dict(zip(TSV_COLUMNS, unphased.cells()))
    assert cells["vaf"] == "" and cells["phase"] == "" and cells["n_samples"] == ""
    no_af = CohortRow("B", "P1", "t2", "tumour", CALLED, allele=Allele("chr2", 5, "C", "A", "PASS"))
    assert dict(zip(TSV_COLUMNS, no_af.cells()))["vaf"] == ""
    empty = CohortRow("D", "P3", "t1", "tumour", FAILED, error="bwa\tfailed\nbadly")
    assert empty.phase == ""
    assert empty.cells() == ["D", "P3", "t1", "tumour", "failed"] + [""] * 15 + ["bwa failed badly"]
    path = tmp_path / "cohort.tsv"
    write_cohort_tsv(str(path), [row, empty])
    lines = path.read_text().splitlines()
    assert lines[0].split("\t") == list(TSV_COLUMNS) and len(lines) == 3
    assert lines[2].split("\t")[-1] == "bwa failed badly"


def test_rows_sorted_by_contig_position_ref_alt():
    a = Allele("chr2", 5, "C", "T", "PASS")
    b = Allele("chr10", 100, "C", "T", "PASS")
    snv = Allele("chr2", 100, "C", "T", "PASS")
    dele = Allele("chr2", 100, "CA", "C", "PASS")
    rows = cohort_rows([(_s("A"), CALLED, _calls(dele, snv, a, b), None)])
    # contig as text first ("chr10" < "chr2"), then position, REF, ALT
    assert [(r.allele.chrom, r.allele.pos, r.allele.ref) for r in rows] == [
        ("chr10", 100, "C"), ("chr2", 5, "C"), ("chr2", 100, "C"), ("chr2", 100, "CA")]


def test_sample_calls_reads_the_annotation_only_when_given(tmp_path):
    from report_inputs import annotate, vcf_text

    from deepamp.workflow.cohort_table import sample_calls

    vcf = tmp_path / "s1.vcf"
    vcf.write_text(vcf_text())
    plain = sample_calls(str(vcf))
    assert plain.annotation == {} and len(plain.alleles) == 4
    ann = sample_calls(str(vcf), annotate(tmp_path, vcf))
    assert set(ann.annotation) <= set(ann.alleles) and ann.annotation
    assert ann.annotation[("chr2", 29220747, "C", "T")]["gene"] == "ALK"


def test_an_allele_lost_without_a_record_gets_a_row_of_its_own():
    """The patient's later VCF has no record of G1202R at all: cohort.tsv still says it was lost there,
    with the allele and its annotation, and no VAF, depth or FILTER."""
    ann = {G1202R.key: {"gene": "ALK", "hgvsp1": "p.G1202R", "hgvsc": "NM_004304.5:c.3604G>A"}}
    samples = [(_s("A"), CALLED, _calls(G1202R, ann=ann), None),
               (_s("B", tp="t2"), CALLED, _calls(LOW), None),
               (_s("C", tp="t3"), CALLED, _calls(), None)]
    rows = cohort_rows(samples, changes={("B", G1202R.key): "lost"})
    assert [(r.sample, r.allele.pos if r.allele else None, r.change) for r in rows] == [
        ("A", 29220765, None), ("B", 29220700, None), ("B", 29220765, "lost"), ("C", None, None)]
    lost = rows[2]
    assert (lost.gene, lost.protein, lost.hgvsc) == ("ALK", "p.G1202R", "c.3604G>A")
    assert (lost.n_samples, lost.n_samples_pass) == (1, 1)              # carried by A only
    cells = dict(zip(TSV_COLUMNS, lost.cells()))
    assert (cells["vaf"], cells["dp"], cells["filter"], cells["change"]) == ("", "", "", "lost")
    assert (cells["chrom"], cells["pos"], cells["ref"], cells["alt"]) == ("chr2", "29220765", "G", "T")
