"""``deepamp report`` of one sample: every section read back from the HTML and checked against the inputs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binomtest

from deepamp.annotate.bypass import NOT_EXPECTED
from deepamp.annotate.ranking import GROUP_TITLES, GROUPS
from deepamp.cli import main
from deepamp.report import wilson_interval
from report_inputs import BED, Page, annotate, edit_json, vcf_text, write_background, write_counts


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """One sample with every input: VCF (phased, concordance), annotation, counts with LOD, BED, background."""
    tmp = tmp_path_factory.mktemp("report")
    vcf = tmp / "s1.vcf"
    vcf.write_text(vcf_text())
    ann = annotate(tmp, vcf)
    counts = write_counts(tmp / "s1.npz", lod=True)
    bg = write_background(tmp / "bg.npz")
    out = tmp / "s1.html"
    assert main(["report", str(vcf), "--annotation", ann, "--counts", counts, "--bed", BED, "--background", bg,
                 "-o", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    return {"tmp": tmp, "vcf": str(vcf), "ann": ann, "counts": counts, "bg": bg, "html": html, "page": Page(html),
            "doc": json.loads(Path(ann).read_text())}


def _render(tmp: Path, *argv: str) -> Page:
    out = tmp / f"r{len(list(tmp.iterdir()))}.html"
    assert main(["report", *argv, "-o", str(out)]) == 0
    return Page(out.read_text(encoding="utf-8"))


def test_sections_in_order(sample):
    page = sample["page"]
    assert page.h("h1") == ["deepamp report: S1"]
    assert page.h("h2") == ["Quality control", "Variants", "Resistance", "Background from healthy controls",
                            "Not assessable", "Run details"]
    assert sum(tag == "svg" for tag, _ in page.tags) == 3       # depth, variants, background


def test_quality_control_first(sample):
    page = sample["page"]
    text = page.all_text()
    assert text.index("Quality control") < text.index("Variants")
    assert "reads: 52,000 seen, 50,000 used; dropped: unmapped 1,200, low_mapq 800" in text
    assert "bases: 7,000,000 counted; not counted: low_base_quality 12,345" in text
    assert "sites: 658 positions, 655 tested; not tested: below_min_cov 3" in text
    rows = {r["amplicon"]: r for r in page.table_with("amplicon")}
    assert list(rows) == ["ALK_ex25", "ALK_ex24", "ALK_ex23", "ALK_ex22"]
    assert rows["ALK_ex23"]["coverage"] == "pass" and rows["ALK_ex23"]["min depth"] == "6,000"
    assert rows["ALK_ex22"]["coverage"] == "fail 21 of 154 positions below 5,000"    # 29222380-29222400 at 3,000
    assert rows["ALK_ex22"]["min depth"] == "3,000" and rows["ALK_ex22"]["length"] == "154"
    assert "3 of 4 amplicons have every position at 5,000x or more" in text


def test_minimum_coverage_flag(sample):
    page = _render(sample["tmp"], sample["vcf"], "--annotation", sample["ann"], "--counts", sample["counts"],
                   "-C", "2500")
    rows = {r["amplicon"]: r for r in page.table_with("amplicon")}
    assert {r["coverage"] for r in rows.values()} == {"pass"}
    assert all("positions >= 2,500" in r for r in rows.values())
    assert list(rows) == ["chr2:29209755-29209910", "chr2:29213955-29214113", "chr2:29220677-29220865",
                          "chr2:29222302-29222455"]                                # no BED: the counted regions
    assert any("minimum coverage 2,500" in t for t in page.svg_titles)


def test_sample_name(sample, tmp_path):
    assert "sample name from the read-group SM of the count table" in sample["page"].all_text()
    no_sm = write_counts(tmp_path / "nosm.npz", sample=None)
    page = _render(tmp_path, sample["vcf"], "--annotation", sample["ann"], "--counts", no_sm)
    assert page.h("h1") == ["deepamp report: s1"]                 # the VCF's file name
    page = _render(tmp_path, sample["vcf"], "--annotation", sample["ann"])
    assert page.h("h1") == ["deepamp report: s1"] and "Coverage per amplicon not assessed" in page.all_text()
    with_col = tmp_path / "cols.vcf"
    with_col.write_text(vcf_text(samples=("PATIENT-7",)))
    page = _render(tmp_path, str(with_col), "--annotation", annotate(tmp_path, with_col, "cols_ann"))
    assert page.h("h1") == ["deepamp report: PATIENT-7"]


def test_variant_table_matches_inputs(sample):
    rows = {r["variant"].replace("\n", " "): r for r in sample["page"].table_with("variant")}
    assert list(rows) == ["chr2:29220747 C>T", "chr2:29220765 G>T", "chr2:29209816 C>G",
                          "chr7:55174772 GGAATTAAGAGAAGCA>G"]
    g = rows["chr2:29220747 C>T"]
    assert g["gene"] == "ALK" and g["HGVS p."] == "p.G1202R\np.Gly1202Arg"
    assert g["HGVS c."] == "NM_004304.4:\nc.3604G>A" and g["consequence"] == "missense_variant"
    ci = binomtest(250, 20000).proportion_ci(0.95, method="wilson")     # DP4 alt 130 + 120 of DP 20000
    assert g["VAF (95% CI)"].split("\n")[0] == f"1.25% ({100 * ci.low:.3g}%\u2013{100 * ci.high:.3g}%)"
    assert "background 3.5e-05" in g["VAF (95% CI)"] and "LOD 0.2%" in g["VAF (95% CI)"]
    assert g["depth"] == "20,000" and g["strands (DP4)"] == "ref 9,880 / 9,870\nalt 130 / 120"
    assert g["filter"] == "PASS\nhotspot family" and g["evidence"] == "strong bwa, bowtie2"
    assert g["phase"] == "cis set 29220747" and "K10" in g["KB records"]
    l1196 = rows["chr2:29220765 G>T"]
    assert l1196["filter"].startswith("min_af") and l1196["evidence"] == "weak bwa"
    assert l1196["phase"] == ("trans with ALK p.G1202R (0 of 123 fragments with the rarer allele carry both; "
                              "24,861 span both)\nno fragment spans: ALK p.G1269A")
    assert rows["chr2:29209816 C>G"]["depth"] == "4,000"               # below -C 5000: flagged
    assert "LOD" not in rows["chr2:29209816 C>G"]["VAF (95% CI)"]      # LOD is NaN on ALK_ex25
    egfr = rows["chr7:55174772 GGAATTAAGAGAAGCA>G"]
    assert egfr["gene"] == "EGFR\noff-target" and egfr["HGVS p."].startswith("p.E746_A750del")
    html = sample["html"]
    assert re.search(r'<span class="low"[^>]*>4,000</span>', html)
    assert html.count('<tr class="filtered">') == 1


def test_variant_figure_marks(sample, tmp_path):
    titles = sample["page"].svg_titles
    assert sum(t.startswith("limit of detection") for t in titles) == 2        # G1202R, L1196M (ALK_ex23)
    assert sorted(t for t in titles if t.startswith("background rate ")) == \
        ["background rate 2.2e-05", "background rate 3.5e-05", "background rate 8.5e-06"]
    assert sum(t.startswith("ref forward") for t in titles) == 4 and "alt reverse 120" in titles
    assert any(t.startswith("VAF 0.4%") and t.endswith("(filtered)") for t in titles)
    page = _render(tmp_path, sample["vcf"], "--annotation", sample["ann"],
                   "--counts", write_counts(tmp_path / "nolod.npz"))
    assert not any(t.startswith("limit of detection") for t in page.svg_titles)   # no array, no marker


def test_background_rate_from_the_file_when_the_vcf_has_none(sample, tmp_path):
    text = re.sub(r"BGRATE=[0-9.e-]+;", "", vcf_text())
    vcf = tmp_path / "nobg.vcf"
    vcf.write_text(text)
    page = _render(tmp_path, str(vcf), "--annotation", annotate(tmp_path, vcf), "--background", sample["bg"])
    rates = [t for t in page.svg_titles if t.startswith("background rate ")]
    assert rates == ["background rate 1e-05"] * 3                 # the controls' rate of that substitution
    sites = [t for t in page.svg_titles if ": VAF " in t]
    assert sites == ["ALK p.G1269A: VAF 3%", "ALK p.G1202R: VAF 1.25%"]          # calls on the background plot


def test_ranking_groups_in_order_and_no_data_never_ranked(sample, tmp_path):
    doc = sample["doc"]
    order = [g for g in GROUPS if doc["ranking"]["groups"][g]]
    page = sample["page"]
    titles = [t.rsplit(" (", 1)[0] for t in page.h("h4")
              if t.rsplit(" (", 1)[0].lower() in [GROUP_TITLES[g] for g in GROUPS]]
    assert [t.lower() for t in titles] == [GROUP_TITLES[g] for g in order]
    ranked = [r for n in range(len(order)) for r in page.table_with("rank", n)]
    assert [r["inhibitor"].split("\n")[0] for r in ranked] == [name for g in order for name in doc["ranking"]["groups"][g]]
    no_data = page.table_with("rank", len(order) - 1)
    assert order[-1] == "no data" and {r["rank"] for r in no_data} == {"not ranked"}
    assert [int(r["rank"]) for r in ranked[:-len(no_data)]] == list(range(1, len(ranked) - len(no_data) + 1))
    # the page's order does not depend on the file's
    shuffled = edit_json(sample["ann"], tmp_path / "shuffled.json",
                         lambda d: d["ranking"]["recommendations"].reverse())
    page2 = _render(tmp_path, sample["vcf"], "--annotation", shuffled)
    again = [r["inhibitor"] for n in range(len(order)) for r in page2.table_with("rank", n)]
    k = len(ranked) - len(no_data)
    assert again[:k] == [r["inhibitor"] for r in ranked[:k]]                   # ranked drugs by rank
    assert sorted(again[k:]) == sorted(r["inhibitor"] for r in no_data)         # then the unranked ones


def test_bypass_in_the_knowledge_base_words(sample):
    finding = next(b for b in sample["doc"]["ranking"]["bypass"] if b["mutation"] == "EGFR:E746_A750del")
    assert finding["switching_alk_inhibitor_alone"] == NOT_EXPECTED
    page, html = sample["page"], sample["html"]
    assert "Off-target (bypass) changes" in page.h("h3")
    text = page.all_text()
    assert finding["summary"] in text
    assert f"EGFR exon 19 deletion (EGFR:E746_A750del) chr7:55174772 GGAATTAAGAGAAGCA>G, VAF 3%: {NOT_EXPECTED}" in text
    assert '<div class="callout stop">' in html
    for st in finding["statements"]:
        assert st["statement"] in text and st["cited"] in text


def test_citations_name_the_paper_and_the_place(sample):
    page = sample["page"]
    text = page.all_text()
    resistance = text[text.index("Resistance"):text.index("Background from healthy controls")]
    evidence = [e for r in sample["doc"]["ranking"]["recommendations"] for c in r["clones"] for e in c["evidence"]]
    assert evidence and all(e["detail"] in resistance for e in evidence)          # detail = statement (paper, place)
    assert "Koopman et al., Clin Lung Cancer 2022: Koopman B, et al. Actionability of on-target ALK resistance" \
        in resistance
    assert not re.search(r"\.(tsv|json|py|csv)\b", resistance) and not re.search(r"\bline \d", resistance)


def test_self_contained_no_network(sample):
    page, html = sample["page"], sample["html"]
    tags = {t for t, _ in page.tags}
    assert tags <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "h4", "p", "nav", "a", "dl",
                    "dt", "dd", "div", "table", "colgroup", "col", "thead", "tbody", "tr", "th", "td", "span", "br",
                    "strong", "code", "ul", "ol", "li", "figure", "figcaption", "svg", "line", "rect", "circle",
                    "polygon", "polyline", "text", "wbr"}, tags
    assert not any("src" in attrs for _, attrs in page.tags)
    links = [attrs["href"] for t, attrs in page.tags if "href" in attrs]
    assert links and all(h.startswith("#") or h.startswith("https://doi.org/10.") for h in links)
    assert {h for h in links if h.startswith("https://")} == {"https://doi.org/10.1016/j.cllc.2021.06.011",
                                                             "https://doi.org/10.1002/1878-0261.13033",
                                                             "https://doi.org/10.1158/0008-5472.CAN-11-1340"}
    assert "http://" not in html and html.count("https://") == 3
    style = "".join(page.styles)
    assert "url(" not in style and "@import" not in style and "@font-face" not in style


def test_numbers_match_a_real_run(amplicon_run, tmp_path):
    """count, call (background model), phase and annotate on the simulated run, then the report."""
    from deepamp import load_counts

    run = amplicon_run
    npz, bg, vcf, phased = (str(tmp_path / n) for n in ("t.npz", "bg.npz", "t.vcf", "p.vcf"))
    assert main(["count", "--quiet", "-f", run.ref, "-l", run.bed, "-o", npz, run.tumour]) == 0
    assert main(["background", "--quiet", "-f", run.ref, "-l", run.bed, "-o", bg, *run.controls]) == 0
    assert main(["call", "--quiet", "-f", run.ref, "-l", run.bed, "--background", bg, "-o", vcf, run.tumour]) == 0
    assert main(["phase", "--quiet", "-i", vcf, "-o", phased, run.tumour]) == 0
    page = _render(tmp_path, phased, "--annotation", annotate(tmp_path, Path(phased)), "--counts", npz,
                   "--bed", run.bed, "--background", bg, "-C", "2000")
    counts = load_counts(npz)
    assert page.h("h1") == ["deepamp report: tumour"]
    rows = {r["amplicon"]: r for r in page.table_with("amplicon")}
    for name, (start, end) in (("ALK_ex23", (29220676, 29220865)), ("ALK_ex25", (29209754, 29209910))):
        sel = (counts.pos >= start) & (counts.pos < end)
        assert rows[name]["min depth"] == f"{int(counts.depth[sel].min()):,}"
        assert rows[name]["median"] == f"{int(round(float(np.median(counts.depth[sel])))):,}"
    rs = counts.read_stats
    assert f"reads: {rs['seen']:,} seen, {rs['used']:,} used" in page.all_text()
    called = {r["HGVS p."].split("\n")[0] for r in page.table_with("variant")}
    assert {"p.G1202R", "p.G1269A", "p.L1196M"} <= called


def test_stdout(sample, capsys):
    assert main(["report", "--vcf", sample["vcf"], "--annotation", sample["ann"], "-o", "-"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("<!DOCTYPE html>") and out.rstrip().endswith("</html>")


def test_wilson_interval_matches_scipy():
    for k, n in ((0, 10), (3, 1000), (250, 20000), (20000, 20000)):
        ci = binomtest(k, n).proportion_ci(0.95, method="wilson")
        assert wilson_interval(k, n) == pytest.approx((ci.low, ci.high), abs=1e-9)
    assert wilson_interval(0, 0) == (0.0, 1.0)

