"""``deepamp report T0.vcf T1.vcf ... --patient P``: VAF of each call over time, emergence and loss flags."""

from __future__ import annotations

import pytest

from deepamp.annotate.bypass import NOT_EXPECTED
from deepamp.cli import main
from deepamp.report.longitudinal import EMERGED, LOST, changes
from report_inputs import EGFR, Page, annotate, vcf_text

# (pos, ref, alt, filter, DP, AF, DP4, INFO) on chr2
L1196M = (29220765, "G", "T", "PASS", 24000, 0.009, (11900, 11884, 110, 106), "FAMILY=hotspot")
G1202R_LOW = (29220747, "C", "T", "min_af", 25000, 0.003, (12400, 12525, 40, 35), "FAMILY=hotspot")
G1202R = (29220747, "C", "T", "PASS", 26000, 0.02, (12740, 12740, 260, 260), "FAMILY=hotspot")
OTHER = (29220800, "A", "G", "PASS", 26000, 0.01, (12870, 12870, 130, 130), "")

#: T0: L1196M called, G1202R filtered; T1: both called, an unannotated call; T2: G1202R and an EGFR exon 19
#: deletion called, L1196M gone; T3: G1202R filtered, EGFR called.
TIMEPOINTS = [
    ([L1196M, G1202R_LOW], ()),
    ([L1196M, G1202R, OTHER], ()),
    ([G1202R], (EGFR,)),
    ([G1202R_LOW], (EGFR,)),
]


@pytest.mark.parametrize("called, expected", [
    ([True, True, True], [None, None, None]),
    ([False, True, True], [None, EMERGED, None]),
    ([True, False, True], [None, LOST, EMERGED]),
    ([True, True, False], [None, None, LOST]),
    ([False, False], [None, None]),
    ([True], [None]),
    ([], []),
])
def test_changes(called, expected):
    assert changes(called) == expected


@pytest.fixture(scope="module")
def patient(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("longitudinal")
    vcfs, anns = [], []
    for i, (records, extra) in enumerate(TIMEPOINTS):
        vcf = tmp / f"t{i}.vcf"
        vcf.write_text(vcf_text(records, extra=extra))
        vcfs.append(str(vcf))
        anns.append(annotate(tmp, vcf, f"t{i}_ann"))
    return tmp, vcfs, anns


def _page(tmp, *argv) -> Page:
    out = tmp / "p.html"
    assert main(["report", *argv, "-o", str(out)]) == 0
    return Page(out.read_text(encoding="utf-8"))


def test_emergence_and_loss(patient):
    tmp, vcfs, anns = patient
    labels = "2024-01-10,2024-05-02,2024-11-20,2025-03-01"
    page = _page(tmp, *vcfs, "--patient", "P7", "--labels", labels,
                 *[x for a in anns for x in ("--annotation", a)])
    assert page.h("h1") == ["deepamp longitudinal report: P7"]
    assert page.h("h2") == ["Time points", "Resistance mutations over time", "Off-target (bypass) changes",
                            "Inhibitor ranking over time"]
    rows = {r["allele"].split("\n")[0]: r for r in page.table_with("allele")}
    assert list(rows) == ["ALK p.L1196M", "ALK p.G1202R", "EGFR p.E746_A750del"]
    d = labels.split(",")
    l1196 = rows["ALK p.L1196M"]
    assert l1196[d[0]].startswith("0.9%") and l1196[d[2]] == "lost not called" and l1196[d[3]] == "not called"
    assert l1196["changes"] == f"lost at {d[2]} (not called; called at {d[1]})"
    g1202 = rows["ALK p.G1202R"]
    assert g1202[d[0]].startswith("filtered (min_af) 0.3%") and g1202[d[1]].startswith("emerged 2%")
    assert g1202[d[3]].startswith("lost filtered (min_af) 0.3%")
    assert g1202["changes"] == f"emerged at {d[1]} (filtered at {d[0]}); lost at {d[3]} (filtered; called at {d[2]})"
    egfr = rows["EGFR p.E746_A750del"]
    assert egfr["kind"] == "off-target (bypass)" and egfr[d[2]].startswith("emerged 3%")
    assert egfr["changes"] == f"emerged at {d[2]} (not called at {d[1]})"
    other = page.table_with("allele", 1)                # calls that are no resistance mutation: listed apart
    assert [r["allele"] for r in other] == ["ALK p.G1184A\nchr2:29220800 A>G"] and other[0]["kind"] == "other call"
    text = page.all_text()
    assert f"ALK p.G1202R at {d[1]}; EGFR p.E746_A750del at {d[2]}" in text          # emerged
    assert f"ALK p.L1196M at {d[2]}; ALK p.G1202R at {d[3]}" in text                  # lost
    titles = page.svg_titles
    assert f"ALK p.G1202R at {d[1]}: called, VAF 2% (emerged)" in titles
    assert f"ALK p.L1196M at {d[2]}: not called (lost)" in titles
    assert f"EGFR p.E746_A750del at {d[1]}: not called" in titles
    assert NOT_EXPECTED in text and f"found at {d[2]}, {d[3]}" in text
    ranking = page.table_with("time point", 1)
    assert [r["time point"] for r in ranking] == d
    assert "switching to them alone is not expected to help" not in ranking[1]["evidence of activity"]


def test_dates_space_the_axis_by_days(patient):
    tmp, vcfs, _ = patient
    page = _page(tmp, *vcfs[:3], "--patient", "P7", "--labels", "2024-01-01,2024-01-02,2024-12-31")
    html = (tmp / "p.html").read_text()
    assert "(spaced by date)" in page.all_text()
    xs = [float(x) for x in __import__("re").findall(r'<text x="([0-9.]+)" y="[0-9.]+" font-size="11" '
                                                       r'text-anchor="middle" fill="#1d2430" font-weight="600">2024',
                                                       html)]
    assert len(xs) == 3 and xs[1] - xs[0] < (xs[2] - xs[1]) / 100       # 1 day vs 364 days


def test_without_annotations_the_testing_families_name_the_resistance_alleles(patient):
    tmp, vcfs, _ = patient
    page = _page(tmp, *vcfs[:2], "--patient", "P7")
    rows = page.table_with("allele")
    assert [r["allele"] for r in rows] == ["chr2:29220765 G>T", "chr2:29220747 C>T"]
    assert [r["kind"] for r in rows] == ["hotspot testing family"] * 2
    assert [r["changes"] for r in rows] == ["none", "emerged at T1 (filtered at T0)"]
    other = page.table_with("allele", 1)
    assert [(r["allele"], r["changes"]) for r in other] == [("chr2:29220800 A>G", "emerged at T1 (not called at T0)")]
    assert page.h("h2") == ["Time points", "Resistance mutations over time"]


def test_without_annotations_or_families_every_call_is_plotted(tmp_path):
    vcfs = []
    for i, records in enumerate(([OTHER], [OTHER, L1196M[:-1] + ("",)])):
        vcf = tmp_path / f"n{i}.vcf"
        vcf.write_text(vcf_text(records, extra=()))
        vcfs.append(str(vcf))
    page = _page(tmp_path, *vcfs, "--patient", "P")
    assert "every call is shown" in page.all_text()
    assert [r["allele"] for r in page.table_with("allele")] == ["chr2:29220800 A>G", "chr2:29220765 G>T"]
    assert sum(t.startswith("chr2:29220765 G>T at T1: called") for t in page.svg_titles) == 1


def test_nothing_called(tmp_path):
    vcfs = []
    for i in range(2):
        vcf = tmp_path / f"e{i}.vcf"
        vcf.write_text(vcf_text([G1202R_LOW], extra=()))
        vcfs.append(str(vcf))
    page = _page(tmp_path, *vcfs, "--patient", "P")
    assert "No allele is called at any time point." in page.all_text()
    assert not any(t == "svg" for t, _ in page.tags)
