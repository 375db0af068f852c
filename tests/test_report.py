"""``deepamp report``: the HTML is parsed and its content checked against the inputs."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from scipy.stats import binomtest

from deepamp.cli import main
from deepamp.report import wilson_interval

VCF = """##fileformat=VCFv4.2
##source=deepamp 0.1.0
##commandline="deepamp call -f ref.fa -o x.vcf <script>alert(1)</script>.bam"
##contig=<ID=chr2,length=242193529>
##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">
##INFO=<ID=AF,Number=A,Type=Float,Description="Allele Frequency">
##INFO=<ID=FAMILY,Number=1,Type=String,Description="Testing family">
##INFO=<ID=PS,Number=1,Type=Integer,Description="Phase set">
##INFO=<ID=PHASE,Number=.,Type=String,Description="deepamp phase relation">
##FILTER=<ID=min_af,Description="AF below threshold">
##deepamp_reads=seen:52000,used:50000,unmapped:1200,low_mapq:800
##deepamp_bases=counted:7000000,low_base_quality:12345
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO
chr2\t29220747\t.\tC\tT\t300\tPASS\tDP=20000;AF=0.0125;FAMILY=hotspot;PHASE=chr2:29222380T>C:undetermined:spanning=0
chr2\t29220765\t.\tG\tT\t80\tPASS\tDP=18000;AF=0.004;FAMILY=panel
chr2\t29222380\t.\tT\tC\t50\tmin_af\tDP=15000;AF=0.002;FAMILY=panel;PHASE=chr2:29220747C>T:undetermined:spanning=0
chr2\t1000\t.\tA\tG\t50\tPASS\tDP=9000;AF=0.01;FAMILY=panel
"""


class _Page(HTMLParser):
    """Tables (as lists of row cell texts), headings, and all text, from the report."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.tables: list[list[list[str]]] = []
        self.headings: list[str] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None
        self._heading: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag in ("h2", "h3"):
            self._heading = []
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag in ("h2", "h3") and self._heading is not None:
            self.headings.append("".join(self._heading).strip())
            self._heading = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._heading is not None:
            self._heading.append(data)

    def table_with(self, first_header: str) -> list[dict[str, str]]:
        for t in self.tables:
            if t and t[0] and t[0][0] == first_header:
                return [dict(zip(t[0], row)) for row in t[1:]]
        raise AssertionError(f"no table starting with {first_header!r}")


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    vcf = tmp / "calls.vcf"
    vcf.write_text(VCF)
    assert main(["annotate", "-o", str(tmp / "ann"), str(vcf)]) == 0
    out = tmp / "report.html"
    assert main(["report", "--vcf", str(vcf), "--annotation", str(tmp / "ann.json"), "-o", str(out)]) == 0
    page = _Page()
    html = out.read_text(encoding="utf-8")
    page.feed(html)
    return tmp, html, page, json.loads((tmp / "ann.json").read_text())


def test_self_contained_and_escaped(made):
    _, html, page, _ = made
    assert "script" not in page.tags and "link" not in page.tags and "img" not in page.tags
    assert "http://" not in html and "https://" not in html and "<style>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html      # the command line is shown, escaped
    assert "<script>" not in html


def test_run_summary_matches_vcf_header(made):
    _, _, page, _ = made
    summary = {r["item"]: r["value"] for r in page.table_with("item")}
    assert summary["command"] == "deepamp call -f ref.fa -o x.vcf <script>alert(1)</script>.bam"
    assert summary["caller version"] == "deepamp 0.1.0" and summary["phased"].startswith("yes")
    counts = {}
    for t in page.tables:
        if t[0] == ["", "count"]:
            counts.update({row[0]: int(row[1].replace(",", "")) for row in t[1:]})
    assert counts == {"seen": 52000, "used": 50000, "unmapped": 1200, "low_mapq": 800,
                      "counted": 7000000, "low_base_quality": 12345}


def test_variant_table_matches_inputs(made):
    _, _, page, doc = made
    rows = {r["variant"]: r for r in page.table_with("variant")}
    assert len(rows) == 4
    g = rows["chr2:29220747 C>T"]
    assert g["gene"] == "ALK" and g["HGVS p. (1-letter)"] == "p.G1202R" and g["HGVS p."] == "p.Gly1202Arg"
    assert g["HGVS c."] == "NM_004304.4:c.3604G>A" and g["depth"] == "20000" and g["filter"] == "PASS"
    assert g["evidence family"] == "hotspot"
    assert "undetermined with chr2:29222380T>C (spanning=0)" in g["phase"]
    ann = next(v for v in doc["variants"] if v["pos"] == 29220747)
    assert g["KB records"] == ", ".join(ann["kb_records"]) and "K10" in g["KB records"]
    ci = binomtest(250, 20000).proportion_ci(0.95, method="wilson")
    assert g["VAF (95% CI)"] == f"{100 * 0.0125:.3g}% ({100 * ci.low:.3g}\u2013{100 * ci.high:.3g}%)"
    assert rows["chr2:29222380 T>C"]["filter"] == "min_af"
    assert rows["chr2:1000 A>G"]["gene"] == "-"


def test_ranking_evidence_sources_and_disclaimer(made):
    _, html, page, doc = made
    ranking = doc["ranking"]
    table = page.table_with("rank")
    assert [r["inhibitor"].split(" ")[0] for r in table] == [r["inhibitor"] for r in ranking["recommendations"]]
    assert [r["call"] for r in table] == [r["call"] for r in ranking["recommendations"]]
    text = "".join(page.text)
    assert doc["disclaimer"] in text and text.count(doc["disclaimer"]) >= 2
    assert "Resistance evidence and inhibitor ranking" in page.headings and "Sources" in page.headings
    assert "[villa2024] Villa M" in text and "DOI not stated in the source" in text
    evidence_cells = "\n".join(r["evidence"] for r in table)
    details = {e["detail"] for r in ranking["recommendations"] for c in r["clones"] for e in c["evidence"]}
    assert details and all(d in evidence_cells for d in details)


def test_not_assessable_section(made):
    _, _, page, _ = made
    text = "".join(page.text)
    section = text[text.index("Not assessable"):]
    assert "chr2:1000 A>G: outside every modelled transcript" in section
    assert "phase with chr2:29220747C>T undetermined (spanning=0)" in section
    assert "insufficient evidence" in section


def test_wilson_interval_matches_scipy():
    for k, n in ((0, 10), (3, 1000), (250, 20000), (20000, 20000)):
        ci = binomtest(k, n).proportion_ci(0.95, method="wilson")
        assert wilson_interval(k, n) == pytest.approx((ci.low, ci.high), abs=1e-9)


@pytest.mark.parametrize("which,message", [
    ("vcf", "VCF not found"), ("annotation", "annotation JSON not found"),
    ("badjson", "not valid JSON"), ("notannot", "not a `deepamp annotate` JSON"),
    ("otherjson", "none of its variants is in"), ("outdir", "does not exist")])
def test_bad_inputs_give_one_line_errors(made, tmp_path, capsys, which, message):
    tmp, _, _, doc = made
    vcf, ann, out = str(tmp / "calls.vcf"), str(tmp / "ann.json"), str(tmp_path / "r.html")
    if which == "vcf":
        vcf = str(tmp_path / "missing.vcf")
    elif which == "annotation":
        ann = str(tmp_path / "missing.json")
    elif which == "badjson":
        Path(ann := str(tmp_path / "bad.json")).write_text("{not json")
    elif which == "notannot":
        Path(ann := str(tmp_path / "x.json")).write_text('{"variants": 3}')
    elif which == "otherjson":
        other = dict(doc, variants=[dict(doc["variants"][0], pos=1)])
        Path(ann := str(tmp_path / "o.json")).write_text(json.dumps(other))
    elif which == "outdir":
        out = str(tmp_path / "no" / "r.html")
    assert main(["report", "--vcf", vcf, "--annotation", ann, "-o", out]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and err.startswith("deepamp report: error:")
    assert not Path(out).exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".r.html")]
