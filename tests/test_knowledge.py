"""The shipped resistance knowledge base (deepamp.annotate.knowledge)."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest

from deepamp.annotate.knowledge import DOI_RE, EVIDENCE_TYPES, canonical_genotype, load_kb


@pytest.fixture(scope="module")
def kb():
    return load_kb()


def test_version_and_sources(kb):
    assert kb.version
    assert set(kb.sources) == {"villa2024", "koopman2022", "molonc2021", "jamme2019", "sasaki2011"}
    for s in kb.sources.values():
        assert s.citation
        assert (s.doi and DOI_RE.match(s.doi)) or s.doi_note
    # DOIs copied from the seed texts
    assert kb.source("molonc2021").doi == "10.1002/1878-0261.13033"
    assert kb.source("jamme2019").doi == "10.1016/j.cllc.2019.02.013"
    assert kb.source("sasaki2011").doi == "10.1158/0008-5472.CAN-11-1340"
    assert kb.source("koopman2022").doi == "10.1016/j.cllc.2021.06.011"
    villa = kb.source("villa2024")
    assert not villa.doi and "not stated in the source" in villa.doi_note
    assert "npj Precision Oncology (2024) 29" in villa.citation and "(DOI not stated" in villa.cite()


SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
needs_seeds = pytest.mark.skipif(not SEEDS.is_dir(), reason=f"seed texts not available at {SEEDS}")
#: which text copy of each paper the checks below read (see the seeds' README)
SEED_OF = {"molonc2021": "000_", "jamme2019": "001_", "koopman2022": "002_", "villa2024": "003_",
           "sasaki2011": "004_"}


@needs_seeds
def test_every_doi_is_printed_in_its_seed_text(kb):
    assert set(SEED_OF) == set(kb.sources)
    for s in kb.sources.values():
        text = next(SEEDS.glob(SEED_OF[s.source_id] + "*.txt")).read_text(encoding="utf-8")
        if s.doi:
            assert f"doi: {s.doi}" in text or f"doi:{s.doi}" in text, s.source_id
        else:  # the paper's own DOI is absent: the seed prints no DOI at all
            assert "doi" not in text.lower(), s.source_id


@needs_seeds
def test_ic50_rows_match_table2_of_seed_003(kb):
    text = next(SEEDS.glob("003_*.txt")).read_text(encoding="utf-8")
    table = text[text.index("Table 2. Activity of ALK inhibitors"):text.index("na not available.")]
    drugs = kb.inhibitors_with_ic50()
    cells = {}
    for line in table.replace("E1154K+ F1174L", "E1154K+F1174L").splitlines():
        f = line.split()
        if len(f) == 1 + len(drugs) and f[0] != "IC50":
            for drug, value in zip(drugs, f[1:]):
                cells[(canonical_genotype(f[0].rstrip("a")), drug)] = value.replace(",", "")
    assert len(cells) == 77
    for r in kb.ic50:
        cell = cells[(r.genotype, r.inhibitor)]
        if r.status == "not_available":
            assert cell == "na", r
        else:
            assert cell.startswith(">") == r.censored and float(cell.lstrip(">")) == r.value_nM, (r, cell)


def test_every_row_has_source_and_evidence_type(kb):
    rows = list(kb.ic50) + list(kb.evidence)
    assert len(rows) > 100
    for r in rows:
        assert r.source_id in kb.sources
        assert r.evidence_type in EVIDENCE_TYPES


def test_ic50_table_shape(kb):
    assert len(kb.ic50) == 77
    assert len(kb.ic50_genotypes()) == 11
    assert kb.inhibitors_with_ic50() == ["crizotinib", "brigatinib", "ceritinib", "alectinib",
                                         "lorlatinib", "zotizalkib", "repotrectinib"]
    assert all(r.evidence_type == "in_vitro" and r.source_id == "villa2024" for r in kb.ic50)


@pytest.mark.parametrize("genotype,drug,value,censored", [
    ("WT", "crizotinib", 90, False),
    ("WT", "lorlatinib", 1.8, False),
    ("F1174L", "ceritinib", 484, False),
    ("L1196P", "alectinib", 3000, True),
    ("L1196P", "brigatinib", 3112, False),
    ("L1198R", "brigatinib", 207, False),
    ("T1211I", "lorlatinib", 0.4, False),
    ("D1232N", "alectinib", 8, False),
    ("C1235R", "alectinib", 50, False),
    ("C1237Y", "ceritinib", 10000, True),
    ("C1237Y", "lorlatinib", 1051, False),
    ("E1154K+F1174L", "ceritinib", 324, False),
    ("E1154K", "repotrectinib", 64, False),
    ("L1196M+G1202R", "lorlatinib", 1964, False),
    ("G1202R+L1196M", "alectinib", 2461, False),
])
def test_ic50_cells(kb, genotype, drug, value, censored):
    row = kb.ic50_for(genotype, drug)
    assert row is not None and row.value_nM == value and row.censored == censored
    assert (row.qualifier == ">") == censored


def test_na_cells_and_fold_change(kb):
    assert kb.ic50_for("L1196M+G1202R", "zotizalkib") is None
    fc = kb.fold_change("L1196M+G1202R", "lorlatinib")
    assert fc.value == pytest.approx(1964 / 1.8) and not fc.lower_bound
    cens = kb.fold_change("C1237Y", "ceritinib")
    assert cens.lower_bound and cens.value == pytest.approx(10000 / 37)
    assert kb.fold_change("G1202R", "lorlatinib") is None


def test_koopman_rows(kb):
    by_id = {e.record_id: e for e in kb.evidence}
    k07 = by_id["K07"]
    assert (k07.genotype, k07.inhibitor, k07.count, k07.total, k07.percent) == ("L1196M", "crizotinib", 55, 220, 25)
    assert (by_id["K12"].count, by_id["K12"].total) == (19, 53)
    assert {by_id["K16"].genotype, by_id["K17"].genotype} == {"L1196M", "G1202R"}
    assert by_id["K16"].call == by_id["K17"].call == "conflicting"
    assert by_id["K20"].genotype == "L1196M+G1202R" and by_id["K20"].call == "resistant"
    classes = [e for e in kb.evidence if e.record_type == "benefit_class_definition"]
    assert len(classes) == 5 and all(e.source_id == "koopman2022" for e in classes)
    assert {e.source_id for e in kb.evidence} == set(kb.sources)


def test_evidence_lookup_and_wildcard(kb):
    ids = {e.record_id for e in kb.evidence_for("F1174L")}
    assert {"V05", "V06", "V07"} <= ids  # F1174X wildcard + F1174L row
    assert {e.record_id for e in kb.evidence_for("p.Leu1152Arg", "crizotinib")} == {"S01"}


def test_canonical_genotype():
    assert canonical_genotype("ALK p.G1202R / p.Leu1196Met") == "L1196M+G1202R"
    assert canonical_genotype("wt") == "WT"
    with pytest.raises(ValueError):
        canonical_genotype("not a mutation")


def test_shipped_text_names_papers_not_files():
    """Citations name the paper and the place in it, never a text file, a folder or a line number."""
    bad = re.compile(r"\bseeds?\b|shared/|data-sources|/work/|\blines? \d|\d{3}_[0-9a-f]{16}", re.IGNORECASE)
    roots = [resources.files("deepamp.annotate"), resources.files("deepamp.data")]
    checked = 0
    for root in roots:
        for entry in _walk(root):
            if entry.name.endswith((".py", ".md", ".tsv", ".json", ".fa")):
                text = entry.read_text(encoding="utf-8")
                hits = [m.group() for m in bad.finditer(text)]
                assert not hits, (entry.name, hits)
                checked += 1
    assert checked >= 15


def _walk(root):
    for entry in root.iterdir():
        if entry.is_dir():
            if entry.name != "__pycache__":
                yield from _walk(entry)
        else:
            yield entry


PLACE = re.compile(r"Abstract|Methods|Results|Discussion|Conclusions|Table \d|Figure \d|Fig\. \d|main text")


def test_every_row_names_its_place_in_the_paper(kb):
    for e in kb.evidence:
        assert PLACE.search(e.location), (e.record_id, e.location)
    for r in kb.ic50:
        assert r.location == "Table 2"
    for s in kb.sources.values():
        assert s.short and s.at("Abstract").endswith(", Abstract")


def test_bypass_rows(kb):
    by_id = {e.record_id: e for e in kb.evidence}
    for rid, gene, genotype in (("M04", "EGFR", "exon19del"), ("M05", "BRAF", "G466V"), ("M06", "MAP2K1", "F129L")):
        e = by_id[rid]
        assert (e.gene, e.genotype, e.call, e.source_id) == (gene, genotype, "no_benefit_from_alk_inhibitor",
                                                            "molonc2021")
        assert "no objective survival benefit" in e.statement and e.location == "Abstract"
    assert {by_id["M07"].gene, by_id["M08"].gene} == {"PIK3CA", "IDH2"}
    assert by_id["M07"].genotype == "" and by_id["M07"].call == "potential_resistance"
    assert (by_id["K29"].genotype, by_id["K29"].call) == ("V600E", "off_target_resistance")
    assert (by_id["K28"].genotype, by_id["K28"].call) == ("amplification", "")  # a copy-number change
    assert by_id["S05"].evidence_type == "in_vitro" and by_id["S05"].call == "combination_more_effective"
    assert "MET" in by_id["M10"].genes and "KRAS" not in by_id["M10"].genes
    assert kb.gene_records("KRAS") == [] and kb.gene_records("NRAS") == [] and kb.gene_records("ALK") == []
    assert [e.record_id for e in kb.general_off_target_records()] == ["K30", "V12"]
    # ALK lookups never pick up an off-target row with the same residue name
    assert all(e.gene == "ALK" for e in kb.evidence_for("F129L"))


#: words each off-target statement rests on, as printed in the paper
STATED = {
    "M04": ("molonc2021", "a deletion in exon 19 in EGFR"),
    "M05": ("molonc2021", "a non-V600 BRAF mutation (G466V)"),
    "M06": ("molonc2021", "identified in four patients who showed no objective survival benefit from ALK-Is"),
    "M07": ("molonc2021", "Potential ALK-I-resistance mutations were also found in PIK3CA and IDH2"),
    "M10": ("molonc2021", "61 somatic mutations were detected in 14 genes"),
    "K28": ("koopman2022", "MET amplification (which may sensitize tumors to crizotinib)"),
    "K29": ("koopman2022", "or BRAF p.(V600E)"),
    "K30": ("koopman2022", "need to be assessed in addition to ALK mutations to ascertain drug actionability"),
    "S03": ("sasaki2011", "did not contain an ALK secondary mutation but instead harbored coactivation of EGFR"),
    "S04": ("sasaki2011", "(3/50; 6%) of treatment naive NSCLC patients with ALK rearrangements"),
    "S05": ("sasaki2011", "Dual inhibition of both ALK and EGFR was the most effective therapeutic strategy"),
    "V12": ("villa2024", "the lack of information on by-pass mechanisms in ALK WT patients"),
    "V13": ("villa2024", "acquired additional, ALK-independent, mechanisms of resistance"),
}


@needs_seeds
def test_off_target_statements_are_printed_in_their_paper(kb):
    by_id = {e.record_id: e for e in kb.evidence}
    for rid, (source, words) in STATED.items():
        assert by_id[rid].source_id == source
        text = next(SEEDS.glob(SEED_OF[source] + "*.txt")).read_text(encoding="utf-8")
        flat = " ".join(re.sub(r"-\s*\n\s*", "", text).split())
        assert " ".join(words.split()) in flat, rid
