"""Inhibitor ranking (deepamp.annotate.ranking)."""

from __future__ import annotations

import pytest

from deepamp.annotate.ranking import (DISCLAIMER, INSUFFICIENT, normalize_mutation,
                                      rank_inhibitors)


def calls(result):
    return {r.inhibitor: r.call for r in result.recommendations}


def rec(result, drug):
    return next(r for r in result.recommendations if r.inhibitor == drug)


def test_normalize_mutation():
    assert normalize_mutation("p.Gly1202Arg") == "G1202R"
    assert normalize_mutation("ALK:p.G1202R") == "G1202R"
    assert normalize_mutation("g1202del") == "G1202del"
    assert normalize_mutation("EGFR:p.E746_A750del") == "EGFR:E746_A750del"
    with pytest.raises(ValueError):
        normalize_mutation("banana")


def test_single_g1202r_ranks_lorlatinib_first():
    r = rank_inhibitors([("G1202R", 0.05)])
    top = r.recommendations[0]
    assert top.inhibitor == "lorlatinib" and top.call == "sensitive" and top.rank == 1
    assert top.evidence and all(e.citation and e.source_id for e in top.evidence)
    c = calls(r)
    assert c["ceritinib"] == c["brigatinib"] == "resistant"  # G1202R selected under these (Koopman)
    assert c["alectinib"] == "conflicting"
    assert c["crizotinib"] == INSUFFICIENT
    assert r.disclaimer == DISCLAIMER and "not a treatment order" in r.to_text()
    assert "tumour board" in r.as_dict()["disclaimer"]


def test_compound_in_cis_uses_compound_row():
    r = rank_inhibitors([("L1196M", 0.03), ("G1202R", 0.03)], [("L1196M", "G1202R", "cis")])
    assert r.clones == [("L1196M+G1202R", 0.03)]
    lor = rec(r, "lorlatinib")
    assert lor.call == "resistant"
    cc = lor.clone_calls[0]
    assert cc.clone == "L1196M+G1202R" and "own data" in cc.basis
    assert any("1964" in e.detail for e in cc.evidence)
    assert cc.max_fold_change == pytest.approx(1964 / 1.8)
    for drug in ("crizotinib", "ceritinib", "alectinib", "brigatinib"):
        assert rec(r, drug).call == "resistant"  # >= 10-fold for every drug in Table 2
    # investigational drugs: 'na' in the table -> falls back to the parts, which have no data
    zot = rec(r, "zotizalkib")
    assert zot.call == INSUFFICIENT and any("no data for" in w for w in zot.clone_calls[0].warnings)


def test_trans_clones_must_all_be_covered():
    r = rank_inhibitors([("L1196M", 0.03), ("G1202R", 0.01)], [("G1202R", "L1196M", "trans")])
    assert sorted(g for g, _ in r.clones) == ["G1202R", "L1196M"]
    assert r.recommendations[0].inhibitor == "lorlatinib"
    assert r.recommendations[0].call == "sensitive"
    # ceritinib works on L1196M (in vitro) but not on the G1202R clone -> resistant overall
    cer = rec(r, "ceritinib")
    assert {c.clone: c.call for c in cer.clone_calls} == {"L1196M": "sensitive", "G1202R": "resistant"}
    assert cer.call == "resistant"


def test_trans_pan_resistant_clone_c1235r_c1237y():
    r = rank_inhibitors(["C1235R", "C1237Y"], [("C1235R", "C1237Y", "trans")])
    for drug in ("crizotinib", "ceritinib", "alectinib", "brigatinib", "lorlatinib"):
        assert rec(r, drug).call == "resistant"
    cer = next(c for c in rec(r, "ceritinib").clone_calls if c.clone == "C1237Y")
    assert any(">10000" in e.detail for e in cer.evidence)  # censored value kept
    zot = next(c for c in rec(r, "zotizalkib").clone_calls if c.clone == "C1237Y")
    assert zot.call == "resistant"  # 274 / 7.1 = 38.6-fold


def test_unknown_mutation_is_insufficient_evidence():
    r = rank_inhibitors([("R1275Q", 0.02)])
    assert set(calls(r).values()) == {INSUFFICIENT}
    assert any("insufficient evidence for every inhibitor" in w for w in r.warnings)


def test_cis_without_compound_data_uses_worst_part_with_warning():
    r = rank_inhibitors(["T1211I", "F1174L"], [("T1211I", "F1174L", "cis")])
    cer = rec(r, "ceritinib")
    assert cer.call == "resistant"  # F1174L ceritinib 484/37 = 13-fold; F1174X statement
    assert "worst of the single mutations" in cer.clone_calls[0].basis
    assert any("no data for F1174L+T1211I" in w for w in cer.clone_calls[0].warnings)


def test_undetermined_phase_keeps_the_worse_scenario():
    r = rank_inhibitors(["L1196M", "G1202R"], [("L1196M", "G1202R", "undetermined")])
    assert rec(r, "lorlatinib").call == "resistant"  # the cis scenario is resistant
    assert any("phase undetermined" in w for w in r.warnings)
    r2 = rank_inhibitors(["L1196M", "G1202R"])  # no relation given = undetermined
    assert rec(r2, "lorlatinib").call == "resistant"


def test_fold_change_thresholds_and_censoring():
    r = rank_inhibitors(["E1154K"])
    c = calls(r)
    assert c["alectinib"] == "sensitive"       # 13/19 = 0.7-fold
    assert c["ceritinib"] == "intermediate"    # 129/37 = 3.5-fold
    r2 = rank_inhibitors(["L1196P"])
    alec = rec(r2, "alectinib").clone_calls[0]
    assert alec.call == "resistant" and any(">3000" in e.detail for e in alec.evidence)


def test_clinical_evidence_takes_precedence():
    r = rank_inhibitors(["L1196M"])
    alec = rec(r, "alectinib")
    assert alec.call == "conflicting"
    assert any("clinical evidence takes precedence" in w for w in alec.clone_calls[0].warnings)
    assert rec(r, "crizotinib").call == "resistant"


def test_bypass_and_low_vaf_warnings():
    r = rank_inhibitors([("G1202R", 0.004), ("EGFR:E746_A750del", 0.01)])
    assert any("EGFR" in w and "bypass" in w and "10.1002/1878-0261.13033" in w for w in r.warnings)
    assert any("below the 0.6%" in w for w in r.warnings)


def test_bad_inputs():
    with pytest.raises(ValueError, match="not among"):
        rank_inhibitors(["G1202R"], [("G1202R", "L1196M", "cis")])
    with pytest.raises(ValueError, match="relation"):
        rank_inhibitors(["G1202R", "L1196M"], [("G1202R", "L1196M", "maybe")])
    with pytest.raises(ValueError, match="both"):
        rank_inhibitors(["G1202R", "L1196M"], [("G1202R", "L1196M", "cis"), ("L1196M", "G1202R", "trans")])
    with pytest.raises(ValueError, match="linked by cis"):
        rank_inhibitors(["G1202R", "L1196M", "F1174L"],
                        [("G1202R", "L1196M", "cis"), ("L1196M", "F1174L", "cis"), ("G1202R", "F1174L", "trans")])
    with pytest.raises(ValueError, match="VAF"):
        rank_inhibitors([("G1202R", 5.0)])


def test_no_mutations():
    r = rank_inhibitors([])
    assert any("no ALK resistance mutation" in w for w in r.warnings)


def test_frameshift_long_and_short_forms_are_mutation_names():
    from deepamp.annotate.ranking import normalize_mutation
    assert normalize_mutation("p.Gly1202GlufsTer56") == normalize_mutation("p.G1202Efs*56") == "G1202Efs*56"
    assert normalize_mutation("p.G1202fs") == "G1202fs"
    with pytest.raises(ValueError):
        normalize_mutation("G1202Efs*")
