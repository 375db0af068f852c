"""The shipped resistance knowledge base (deepamp.annotate.knowledge)."""

from __future__ import annotations

import re
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


@needs_seeds
def test_every_doi_is_printed_in_its_seed_text(kb):
    for s in kb.sources.values():
        named = re.findall(r"\d{3}_[0-9a-f]{16}\.txt", s.doi_note)
        assert len(named) == 1, f"{s.source_id}: doi_note must name its seed text"
        text = (SEEDS / named[0]).read_text(encoding="utf-8")
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
