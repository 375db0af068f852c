"""``deepamp report``: every invalid flag is a one-line usage error (exit 2), every bad input one line naming the
file (exit 1), nothing is written either way; every text of every input is escaped."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from deepamp.cli import main
from report_inputs import BED, Page, annotate, edit_json, vcf_text, write_background, write_counts


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report_errors")
    vcf = tmp / "s1.vcf"
    vcf.write_text(vcf_text())
    t1 = tmp / "t1.vcf"
    t1.write_text(vcf_text(extra=()))
    ann = annotate(tmp, vcf)
    return {"tmp": tmp, "vcf": str(vcf), "t1": str(t1), "ann": ann, "t1_ann": annotate(tmp, t1, "t1_ann"),
            "counts": write_counts(tmp / "s1.npz"), "bg": write_background(tmp / "bg.npz")}


def _nothing_written(directory: Path) -> bool:
    return not any(p.name.startswith(("out", ".out")) for p in directory.iterdir())


USAGE = [  # (argv after "report" with {vcf} etc. filled in, words in the message)
    (["--annotation", "{ann}"], "--vcf"),
    (["{vcf}", "--vcf", "{vcf}", "--annotation", "{ann}"], "not both"),
    (["{vcf}", "{t1}", "--annotation", "{ann}"], "--patient"),
    (["{vcf}", "--annotation", "{ann}", "--labels", "A"], "--labels needs --patient"),
    (["{vcf}"], "--annotation"),
    (["{vcf}", "--annotation", "{ann}", "--annotation", "{ann}"], "--annotation"),
    (["{vcf}", "--annotation", "{ann}", "--bed", BED], "--counts"),
    (["{vcf}", "--annotation", "{ann}", "-C", "-1"], "--min-cov"),
    (["{vcf}", "--annotation", "{ann}", "-C", "5k"], "--min-cov"),
    (["{vcf}", "--patient", "P"], "two or more VCFs"),
    (["{t1}", "{vcf}", "--patient", "P", "--counts", "{counts}"], "--counts applies"),
    (["{t1}", "{vcf}", "--patient", "P", "--background", "{bg}"], "--background applies"),
    (["{t1}", "{vcf}", "--patient", "P", "--labels", "A,B,C"], "3 labels for 2 VCFs"),
    (["{t1}", "{vcf}", "--patient", "P", "--annotation", "{ann}"], "1 given for 2 VCFs"),
    (["{t1}", "{vcf}", "--patient", " "], "--patient"),
    (["{t1}", "{vcf}", "--patient", "P\nQ"], "--patient"),
    (["{t1}", "{vcf}", "--patient", "P", "--labels", "A,"], "empty label"),
    (["{t1}", "{vcf}", "--patient", "P", "--labels", "A,A"], "given twice"),
    (["{t1}", "{vcf}", "--patient", "P", "--labels", "A," + "x" * 40], "longer than 32"),
    (["{t1}", "{vcf}", "--patient", "P", "--labels", "2024-05-01,2024-01-10"], "time order"),
    (["{t1}", "{vcf}", "--patient", "P", "--labels", "2024-05-01,2024-02-30"], "--labels"),
]


@pytest.mark.parametrize("argv, words", USAGE, ids=[f"{i}:{w}" for i, (_, w) in enumerate(USAGE)])
def test_usage_errors(inputs, tmp_path, capsys, argv, words):
    out = str(tmp_path / "out.html")
    args = [a.format(**inputs) for a in argv]
    assert main(["report", *args, "-o", out]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("deepamp report: error:") and words in err, err
    assert _nothing_written(tmp_path)


def _bad_inputs(inputs: dict, tmp: Path) -> dict[str, tuple[list[str], str]]:
    """name -> (report arguments, words of the message); every message also names the file."""
    vcf, ann = inputs["vcf"], inputs["ann"]
    (tmp / "notvcf.vcf").write_text("hello\n")
    (tmp / "badrec.vcf").write_text(vcf_text().replace("\t29220747\t", "\tx\t"))
    (tmp / "bad.json").write_text("{not json")
    (tmp / "notann.json").write_text(json.dumps({"variants": 3}))
    (tmp / "notnpz.npz").write_text("not a zip")
    other = edit_json(ann, tmp / "other.json", lambda d: d.update(variants=[dict(d["variants"][0], pos=1)]))
    empty = edit_json(ann, tmp / "empty.json", lambda d: d.update(variants=[]))
    ranked = edit_json(ann, tmp / "ranked.json", lambda d: next(
        r for r in d["ranking"]["recommendations"] if r["group"] == "no data").update(rank=1))
    nogroup = edit_json(ann, tmp / "nogroup.json", lambda d: d["ranking"]["recommendations"][0].pop("group"))
    nullpos = edit_json(ann, tmp / "nullpos.json", lambda d: d["variants"][0].update(pos=None))
    other_panel = write_counts(tmp / "panel.npz", drop=(29220700, 29220710))
    other_bam = write_counts(tmp / "bam.npz", read_stats={"seen": 9, "used": 9})
    bad_lod = write_counts(tmp / "shape.npz", lod=np.full(3, 0.1))
    big_lod = write_counts(tmp / "range.npz", lod=np.full(658, 1.5))
    bg_other = write_background(tmp / "bg_other.npz", shift=100000)
    c = ["--counts", inputs["counts"]]
    return {
        "missing vcf": ([str(tmp / "none.vcf"), "--annotation", ann], "none.vcf: VCF not found"),
        "not a vcf": ([str(tmp / "notvcf.vcf"), "--annotation", ann], "notvcf.vcf: not a VCF"),
        "malformed record": ([str(tmp / "badrec.vcf"), "--annotation", ann], "badrec.vcf: line"),
        "missing annotation": ([vcf, "--annotation", str(tmp / "none.json")], "none.json: annotation JSON not found"),
        "bad json": ([vcf, "--annotation", str(tmp / "bad.json")], "bad.json: not valid JSON"),
        "not an annotation": ([vcf, "--annotation", str(tmp / "notann.json")], "not a `deepamp annotate` JSON"),
        "annotation of another vcf": ([vcf, "--annotation", other], "none of its variants is in"),
        "empty annotation of a vcf with calls": ([vcf, "--annotation", empty], "has no annotation of chr2:29220747"),
        "annotation of a vcf with one more allele": ([inputs["t1"], "--annotation", ann],
                                                     "chr7:55174772 GGAATTAAGAGAAGCA>G is not in"),
        "annotation of a vcf with one allele less": ([vcf, "--annotation", inputs["t1_ann"]],
                                                     "has no annotation of chr7:55174772"),
        "ranked no-data drug": ([vcf, "--annotation", ranked], "'no data' group but has rank 1"),
        "no ranking group": ([vcf, "--annotation", nogroup], "has no ranking group"),
        "null position": ([vcf, "--annotation", nullpos], "pos must be a positive integer, not None"),
        "missing counts": ([vcf, "--annotation", ann, "--counts", str(tmp / "none.npz")], "none.npz: count file"),
        "counts not npz": ([vcf, "--annotation", ann, "--counts", str(tmp / "notnpz.npz")], "notnpz.npz: not a deepamp"),
        "counts of another panel": ([vcf, "--annotation", ann, "--counts", other_panel, "--bed", BED],
                                    "covers 178 of the 189 positions of amplicon ALK_ex23"),
        "counts of another bam": ([vcf, "--annotation", ann, "--counts", other_bam], "not counted from the same BAM"),
        "lod of another shape": ([vcf, "--annotation", ann, "--counts", bad_lod], "lod"),
        "lod not a vaf": ([vcf, "--annotation", ann, "--counts", big_lod], "range.npz: 'lod' at chr2:29209755 is 1.5"),
        "missing bed": ([vcf, "--annotation", ann, *c, "--bed", str(tmp / "none.bed")], "none.bed: BED file not found"),
        "missing background": ([vcf, "--annotation", ann, "--background", str(tmp / "none.npz")],
                               "none.npz: background file not found"),
        "background of another panel": ([vcf, "--annotation", ann, *c, "--background", bg_other],
                                        "background covers 0 of the 156 positions"),
        "longitudinal annotation of another vcf": ([inputs["t1"], vcf, "--patient", "P", "--annotation", ann,
                                                    "--annotation", ann], "(annotation of another VCF?)"),
    }


def test_bad_inputs_are_one_line_naming_the_file(inputs, tmp_path, capsys):
    cases = _bad_inputs(inputs, tmp_path)
    for name, (args, words) in cases.items():
        out = tmp_path / "out.html"
        assert main(["report", *args, "-o", str(out)]) == 1, name
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("deepamp report: error:") and words in err, (name, err)
        named = [a for a in args if Path(a).name in err]
        assert named, (name, err)                              # the message names one of the files
        assert "Traceback" not in err and _nothing_written(tmp_path), name


def test_output_problems(inputs, tmp_path, capsys):
    assert main(["report", inputs["vcf"], "--annotation", inputs["ann"], "-o", str(tmp_path / "no" / "out.html")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["report", inputs["vcf"], "--annotation", inputs["ann"], "-o", inputs["ann"]]) == 1
    assert "output would overwrite the input" in capsys.readouterr().err
    assert json.loads(Path(inputs["ann"]).read_text())["variants"]


PAYLOAD = '<img src=x onerror="alert(1)">&amp;'


def test_every_input_text_is_escaped(tmp_path):
    """Input texts carrying markup end up as text: command line, sample and contig names, FILTER, INFO strings,
    BED names, count-file sample, background control names, every annotation string, patient and labels."""
    evil = PAYLOAD
    records = [(29220747, "C", "T", "PASS", 20000, 0.0125, (9880, 9870, 130, 120),
                f"FAMILY={evil.replace(' ', '_').replace(';', '')};EVIDENCE=strong;"
                f"EVIDENCE_SOURCES={evil.replace(' ', '_').replace(';', '').replace(',', '')}")]
    vcf = tmp_path / "evil.vcf"
    vcf.write_text(vcf_text(records, extra=(), command=f"deepamp call {evil}", samples=(evil.replace(" ", "_"),),
                            header_extra=(f'##deepamp_background={evil}',)))
    ann = annotate(tmp_path, vcf)

    def poison(doc):
        v = doc["variants"][0]
        for key in ("gene", "hgvsc", "hgvsp", "hgvsp1", "consequence"):
            v[key] = f"{v[key]}{evil}"
        v["warnings"], v["notes"], v["kb_records"] = [evil], [evil], [evil]
        doc["genome"], doc["kb_version"], doc["disclaimer"] = evil, evil, evil
        rk = doc["ranking"]
        rk["warnings"] = [evil]
        rk["clones"] = [{"genotype": evil, "vaf": 0.01}]
        rk["bypass"] = [{"mutation": evil, "gene": evil, "event": evil, "switching_alk_inhibitor_alone": evil,
                         "summary": evil, "statements": [{"record_id": evil, "level": evil, "call": evil,
                                                          "evidence_type": evil, "statement": evil, "source_id": evil,
                                                          "cited": evil}]}]
        for r in rk["recommendations"]:
            r["inhibitor"] += evil
            r["warnings"] = [evil]
            for c in r["clones"]:
                c.update(clone=evil, basis=evil, warnings=[evil])
                for e in c["evidence"]:
                    e.update(genotype=evil, detail=evil, citation=evil + " doi:10.1/x" + evil)
    ann = edit_json(ann, tmp_path / "evil.json", poison)
    bed = tmp_path / "evil.bed"
    bed.write_text("".join(f"{line.split(chr(9))[0]}\t{line.split(chr(9))[1]}\t{line.split(chr(9))[2]}\t{evil}{i}\n"
                           for i, line in enumerate(Path(BED).read_text().splitlines())))
    counts = write_counts(tmp_path / "evil.npz", sample=evil)
    bg = write_background(tmp_path / "bg.npz", controls=(evil,))
    out = tmp_path / "out.html"
    assert main(["report", str(vcf), "--annotation", ann, "--counts", counts, "--bed", str(bed), "--background", bg,
                 "-o", str(out)]) == 0
    html = out.read_text()
    page = Page(html)
    assert "img" not in {t for t, _ in page.tags} and not any("onerror" in a for _, a in page.tags)
    assert evil in page.all_text() and page.h("h1") == [f"deepamp report: {evil}"]
    assert html.count("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;amp;") >= 20
    assert html.count('font-weight="600">&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;amp;0</text>') == 2
    long = tmp_path / "long.html"
    vcf2 = tmp_path / "evil2.vcf"
    vcf2.write_text(vcf.read_text())
    assert main(["report", str(vcf), str(vcf2), "--patient", evil, "--labels", "<b>,<i>", "-o", str(long)]) == 0
    page = Page(long.read_text())
    assert {t for t, _ in page.tags}.isdisjoint({"img", "b", "i", "script"})
    assert page.h("h1") == [f"deepamp longitudinal report: {evil}"] and "<b>" in page.all_text()
