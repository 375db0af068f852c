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
