"""Inhibitor ranking (deepamp.annotate.ranking)."""

from __future__ import annotations

import pytest

from deepamp.annotate.bypass import NO_DATA, NOT_EXPECTED
from deepamp.annotate.mutation_names import normalize_mutation
from deepamp.annotate.ranking import DISCLAIMER, GROUPS, INSUFFICIENT, TSV_COLUMNS, rank_inhibitors


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


def _check_groups(r):
    groups = [rec.group for rec in r.recommendations]
    assert groups == sorted(groups, key=GROUPS.index)  # activity, conflicting, resistance, then no data
    ranked = [rec.rank for rec in r.recommendations if rec.group != "no data"]
    assert ranked == list(range(1, len(ranked) + 1))
    assert all(rec.rank is None for rec in r.recommendations if rec.group == "no data")
    assert all((rec.call == INSUFFICIENT) == (rec.group == "no data") for rec in r.recommendations)


@pytest.mark.parametrize("muts", [["L1152R"], ["G1202R"], ["R1275Q"], ["L1196M", "G1202R"], ["E1154K"],
                                  ["C1237Y"], ["G1202R", "EGFR:E746_A750del"], ["F1174L"]])
def test_no_data_is_never_ranked_above_evidence(muts):
    _check_groups(rank_inhibitors(muts))


def test_groups_for_a_drug_with_resistance_and_drugs_without_data():
    # Sasaki 2011: L1152R resistant to crizotinib (in vitro); nothing on the other drugs
    r = rank_inhibitors(["L1152R"])
    assert [(x.rank, x.inhibitor, x.group) for x in r.recommendations][0] == (1, "crizotinib", "resistance")
    assert {x.inhibitor for x in r.group("no data")} == {"alectinib", "brigatinib", "ceritinib", "lorlatinib",
                                                         "zotizalkib", "repotrectinib"}
    d = r.as_dict()
    assert d["groups"] == {"activity": [], "conflicting": [], "resistance": ["crizotinib"],
                           "no data": [x.inhibitor for x in r.group("no data")]}
    assert [x["rank"] for x in d["recommendations"]][:2] == [1, None]
    text = r.to_text()
    assert text.index("evidence of resistance:") < text.index("no data (not ranked):")
    assert "  - lorlatinib: insufficient evidence" in text
    rows = [l.split("\t") for l in r.to_tsv().splitlines() if not l.startswith("#")]
    assert rows[0] == list(TSV_COLUMNS)
    assert rows[1][:3] == ["resistance", "1", "crizotinib"] and rows[2][:2] == ["no data", ""]


def test_g1202r_groups():
    r = rank_inhibitors(["G1202R"])
    assert [x.inhibitor for x in r.group("activity")] == ["lorlatinib"]
    assert [x.inhibitor for x in r.group("conflicting")] == ["alectinib"]
    assert [x.inhibitor for x in r.group("resistance")] == ["brigatinib", "ceritinib"]
    assert [(x.inhibitor, x.rank) for x in r.group("no data")][0] == ("crizotinib", None)


def test_bypass_change_means_switching_alk_inhibitor_alone_is_not_expected_to_help():
    r = rank_inhibitors([("G1202R", 0.03), ("EGFR:p.Glu746_Ala750del", 0.01)])
    (f,) = r.bypass
    assert f.mutation == "EGFR:E746_A750del" and f.event == "EGFR exon 19 deletion"
    assert f.switching_alk_inhibitor == NOT_EXPECTED and f.basis == ["M04"]
    assert "Mol Oncol 2021" in f.summary and "Abstract" in f.summary
    lor = rec(r, "lorlatinib")
    assert lor.group == "activity" and any("not expected to help" in w for w in lor.warnings)
    assert not any("not expected to help" in w for w in rec(r, "ceritinib").warnings)
    d = r.as_dict()
    assert d["bypass"][0]["switching_alk_inhibitor_alone"] == NOT_EXPECTED
    assert any(s["record_id"] == "S05" for s in d["bypass"][0]["statements"])  # Sasaki: ALK + EGFR in vitro
    assert "off-target (bypass) changes:" in r.to_text()
    assert "# bypass\tEGFR:E746_A750del\tswitching ALK inhibitor alone" in r.to_tsv()


@pytest.mark.parametrize("name,verdict,words", [
    ("EGFR:L747_P753delinsS", NOT_EXPECTED, "EGFR exon 19 deletion"),
    ("EGFR:exon19del", NOT_EXPECTED, "EGFR exon 19 deletion"),
    ("BRAF:G466V", NOT_EXPECTED, "no objective survival benefit"),
    ("MAP2K1:F129L", NOT_EXPECTED, "Mol Oncol 2021"),
    ("BRAF:V600E", NO_DATA, "off-target mechanism"),
    ("PIK3CA:H1047R", NO_DATA, "without naming the alleles"),
    ("IDH2:R140Q", NO_DATA, "without naming the alleles"),
    ("EGFR:L858R", NO_DATA, "no data on ALK-inhibitor response"),
    ("EGFR:E709K", NO_DATA, "no data on ALK-inhibitor response"),  # exon 18, not an exon 19 deletion
    ("EGFR:D770_N771insG", NO_DATA, "no data on ALK-inhibitor response"),
    ("MET:exon14skipping", NO_DATA, "MET exon 14 skipping"),
    ("KRAS:G12C", NO_DATA, "no source in the knowledge base reports KRAS"),
    ("NRAS:Q61K", NO_DATA, "no source in the knowledge base reports NRAS"),
])
def test_bypass_verdicts_go_only_as_far_as_the_papers(name, verdict, words):
    (f,) = rank_inhibitors([name]).bypass
    assert f.switching_alk_inhibitor == verdict and words in f.summary


def test_ros1_changes_are_not_bypass_changes():
    r = rank_inhibitors(["G1202R", "ROS1:G2032R"])
    assert r.bypass == [] and any("ROS1:G2032R: no knowledge-base evidence" in w for w in r.warnings)


def test_exon_events_and_extensions_are_mutation_names():
    assert normalize_mutation("EGFR exon 19 deletion") == "EGFR:exon19del"
    assert normalize_mutation("MET:Exon14Skipping") == "MET:exon14skipping"
    assert normalize_mutation("KRAS:p.Ter189TyrextTer8") == "KRAS:*189Yext*8"


def test_knowledge_and_ranking_do_not_import_each_other():
    import subprocess
    import sys
    code = ("import sys, deepamp.annotate.knowledge as k; "
            "assert 'deepamp.annotate.ranking' not in sys.modules, 'knowledge imports ranking'; "
            "k.load_kb().evidence_for('G1202R')")
    subprocess.run([sys.executable, "-c", code], check=True)


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
    assert normalize_mutation("p.Gly1202GlufsTer56") == normalize_mutation("p.G1202Efs*56") == "G1202Efs*56"
    assert normalize_mutation("p.G1202fs") == "G1202fs"
    with pytest.raises(ValueError):
        normalize_mutation("G1202Efs*")
