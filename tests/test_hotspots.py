"""Hotspot list (derived from the transcript model), user files, and the hotspot testing family."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deepamp.calling import hotspots as H
from deepamp.calling.snvs import call_snvs
from deepamp.counting.result import CountResult
from deepamp.errors import FormatError, InputFileError
from deepamp.options import CallOptions


def test_shipped_table_equals_derivation_and_known_alleles():
    shipped = H.load_hotspots()
    assert shipped == H.derive_table()
    keys = {(h.contig, h.pos, h.ref, h.alt): h.protein for h in shipped}
    # alleles named by the issue (GRCh38)
    assert keys[("chr2", 29220747, "C", "T")] == "G1202R"
    assert keys[("chr2", 29220765, "G", "T")] == "L1196M"
    assert keys[("chr2", 29209816, "C", "G")] == "G1269A"
    assert keys[("chr2", 29222392, "C", "T")] == "C1156Y"
    assert keys[("chr2", 29220829, "G", "T")] == keys[("chr2", 29220829, "G", "C")] == "F1174L"
    assert keys[("chr6", 117317184, "C", "T")] == "G2032R"
    assert all(h.citation for h in shipped)
    assert "Villa et al., npj Precis Oncol 2024" in next(h.citation for h in shipped if h.protein == "G1202R")


def test_bypass_alleles_are_the_published_grch38_alleles():
    shipped = H.load_hotspots()
    assert [h.family for h in shipped] == sorted((h.family for h in shipped), key=H.FAMILIES.index)
    assert {h.gene for h in shipped if h.family == "hotspot"} == {"ALK", "ROS1"}
    bypass = {(h.contig, h.pos, h.ref, h.alt): (h.gene, h.protein) for h in shipped if h.family == "bypass"}
    # published GRCh38 alleles
    assert bypass[("chr7", 55191822, "T", "G")] == ("EGFR", "L858R")
    assert bypass[("chr12", 25245351, "C", "A")] == ("KRAS", "G12C")
    assert bypass[("chr7", 140753336, "A", "T")] == ("BRAF", "V600E")
    assert bypass[("chr3", 179234297, "A", "G")] == ("PIK3CA", "H1047R")
    assert bypass[("chr3", 179218303, "G", "A")] == ("PIK3CA", "E545K")
    assert bypass[("chr15", 90088702, "C", "T")] == ("IDH2", "R140Q")
    # MAP2K1 F129 TTC (c.385-387, chr15:66436839-66436841): TTC>CTC, TTA, TTG all give Leu
    assert sorted(k for k, v in bypass.items() if v == ("MAP2K1", "F129L")) == [
        ("chr15", 66436839, "T", "C"), ("chr15", 66436841, "C", "A"), ("chr15", 66436841, "C", "G")]
    assert {v for v in bypass.values()} >= {("BRAF", "G466V"), ("NRAS", "Q61K")}
    cites = {h.protein: h.citation for h in shipped if h.family == "bypass"}
    assert cites["G466V"] == cites["F129L"] == "Mol Oncol 2021 (PMID 34058070)"     # papers, not source ids
    assert cites["V600E"] == "Koopman et al., Clin Lung Cancer 2022"


def test_every_allele_ref_is_the_grch38_reference():
    from importlib import resources
    pieces = {}
    for pkg, name in (("deepamp.annotate.data", "bypass_grch38_exon_flanks.fa"),
                      ("deepamp.data", "ALK_hg38_chr2_29191796-29223795.fa")):
        head = None
        for line in resources.files(pkg).joinpath(name).read_text().splitlines():
            if line.startswith(">"):
                head = line[1:].split()[0]
                pieces[head] = []
            else:
                pieces[head].append(line.strip().upper())

    def base(contig, pos):
        for head, lines in pieces.items():
            c, rng = head.split(":")
            start, end = (int(x) for x in rng.split("-"))
            if c == contig and start <= pos <= end:
                return "".join(lines)[pos - start]
        return None

    checked = 0
    for h in H.load_hotspots():
        if h.gene == "ROS1":  # no GRCh38 piece shipped for ROS1 (its codons come from a cDNA segment)
            continue
        assert "".join(base(h.contig, h.pos + k) or "?" for k in range(len(h.ref))) == h.ref, h
        checked += 1
    assert checked == 34          # 29 SNVs and 5 deletions


SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data-sources" / "bypass"


@pytest.mark.skipif(not SOURCE.is_dir(), reason=f"source slices not available at {SOURCE}")
def test_bypass_allele_refs_against_the_source_slices():
    slices = []
    for f in SOURCE.glob("*_GRCh38_chr*.fa"):
        lines = f.read_text().splitlines()
        contig, rng = lines[0][1:].split()[0].split(":")
        slices.append((contig, int(rng.split("-")[0]), "".join(lines[1:]).upper()))
    bypass = [h for h in H.load_hotspots() if h.family == "bypass"]
    for h in bypass:
        (seq,) = [s[h.pos - start:h.pos - start + len(h.ref)] for c, start, s in slices
                  if c == h.contig and 0 <= h.pos - start < len(s)]
        assert seq == h.ref, h
    assert len(bypass) == 15      # 11 SNVs and 4 EGFR exon 19 deletions


def test_mask_by_family():
    counts = _counts()
    hs = [H.Hotspot("2", 1011, "C", "T"), H.Hotspot("chr2", 1021, "C", "T", family="bypass")]
    both = H.hotspot_mask(counts.contig, counts.pos, counts.ref, hs)
    assert both.sum() == 2 and both[10, 3] and both[20, 3]
    hot = H.hotspot_mask(counts.contig, counts.pos, counts.ref, hs, family="hotspot")
    byp = H.hotspot_mask(counts.contig, counts.pos, counts.ref, hs, family="bypass")
    assert hot.sum() == byp.sum() == 1 and hot[10, 3] and byp[20, 3]


def test_user_file_and_errors(tmp_path):
    p = tmp_path / "h.tsv"
    p.write_text("contig\tpos\tref\talt\n2\t100\tc\tt\n")
    assert H.load_hotspots(p) == [H.Hotspot("2", 100, "C", "T")]
    assert H.load_hotspots(p)[0].family == "hotspot"
    p.write_text("contig\tpos\tref\talt\tfamily\n2\t100\tC\tT\tbypass\n2\t101\tC\tT\t\n")
    assert [h.family for h in H.load_hotspots(p)] == ["bypass", "hotspot"]
    p.write_text("contig\tpos\tref\talt\n2\tx\tC\tT\n")
    with pytest.raises(FormatError, match="h.tsv: line 2: bad position"):
        H.load_hotspots(p)
    p.write_text("chrom\tstart\n")
    with pytest.raises(FormatError, match="must start with columns"):
        H.load_hotspots(p)
    with pytest.raises(InputFileError, match="not found"):
        H.load_hotspots(tmp_path / "none.tsv")


def _counts(P=400, alt_row=10, alt_k=10):
    c = np.zeros((P, 7, 2), np.uint32)
    c[:, 1, :] = 5000                      # reference C everywhere, depth 10000
    c[:, 3, 0] = 1                          # one T error per site: every site is tested
    c[alt_row, 3, :] = alt_k
    qh = np.zeros((P, 64), np.uint32)
    qh[:, 30] = c[:, :5, :].sum(axis=(1, 2))
    return CountResult.from_arrays("chr2", np.arange(1000, 1000 + P), "C" * P, c, qual_hist=qh)


def test_hotspot_family_has_its_own_burden():
    counts = _counts()
    hs = [H.Hotspot("2", 1011, "C", "T")]           # row 10, "2" matches "chr2"
    mask = H.hotspot_mask(counts.contig, counts.pos, counts.ref, hs)
    assert mask.sum() == 1 and mask[10, 3]
    panel, m, _ = call_snvs(counts, CallOptions())
    hot, m2, m_hot = call_snvs(counts, CallOptions(), hotspots=hs)
    # 20 alt bases at Q30 on 10000 (p = 0.0035): significant alone (m = 1), not after 3 x 400 tests
    assert [v.pos for v in panel] == []
    assert [(v.pos, v.family) for v in hot] == [(1011, "hotspot")]
    assert m2 == m - 1 and m_hot == {"hotspot": 1}
    assert hot[0].info["FAMILY"] == "hotspot"


def test_hotspots_and_bypass_alleles_each_get_their_own_burden():
    """ALK/ROS1 hotspots and off-target (bypass) alleles each get their own burden."""
    shipped = H.load_hotspots()
    g12c = next(h for h in shipped if h.gene == "KRAS" and h.protein == "G12C")
    g1202r = next(h for h in shipped if h.protein == "G1202R")
    assert (g12c.family, g1202r.family) == ("bypass", "hotspot")
    P = 300
    c = np.zeros((2 * P, 7, 2), np.uint32)
    ref = []
    pos = []
    contig = []
    for k, h in enumerate((g1202r, g12c)):
        base = "ACGT".index(h.ref)
        rows = slice(k * P, (k + 1) * P)
        c[rows, base, :] = 5000
        c[rows, (base + 1) % 4, 0] = 1                 # one error per site: every site is tested
        centre = k * P + P // 2
        c[centre, "ACGT".index(h.alt), :] = 12          # 24 alt reads: significant among a few alleles, not 600 sites
        ref += [h.ref] * P
        pos += list(range(h.pos - 1 - P // 2, h.pos - 1 + P - P // 2))
        contig += [h.contig] * P
    qh = np.zeros((2 * P, 64), np.uint32)
    qh[:, 30] = c[:, :5, :].sum(axis=(1, 2))
    counts = CountResult.from_arrays(np.array(contig), np.array(pos), "".join(ref), c, qual_hist=qh)
    calls, m, families = call_snvs(counts, CallOptions(), hotspots=shipped)
    assert {(v.chrom, v.pos, v.alt): v.family for v in calls} == {
        (g1202r.contig, g1202r.pos, g1202r.alt): "hotspot", (g12c.contig, g12c.pos, g12c.alt): "bypass"}
    shipped_here = {f: sum(1 for h in shipped if h.family == f and (h.contig, h.pos - 1) in set(zip(contig, pos))
                           and h.ref == ref[pos.index(h.pos - 1)]) for f in ("hotspot", "bypass")}
    assert families == shipped_here and families["bypass"] >= 1
    panel, m_panel, none = call_snvs(counts, CallOptions())
    assert none == {} and m < m_panel and panel == []   # the family tests leave the panel burden


def test_known_deletions_are_their_own_family(tmp_path):
    """ALK G1202del (and EGFR exon 19 deletions on a panel covering them) are tested as hotspot
    indels with their own burden, whatever placement the aligner chose for them."""
    import deepamp
    from deepamp.simulate import Spike, simulate
    from deepamp.workflow.demo import GRCH38_CHR2_LENGTH, data_path

    ref, bed = data_path("ALK_hg38_chr2_29191796-29223795.fa"), data_path("alk_exons22-25_amplicons.bed")
    g1202del = next(h for h in H.load_hotspots() if h.protein == "G1202del")
    assert (g1202del.pos, g1202del.ref, g1202del.alt) == (29220744, "CTCC", "C")     # c.3604_3606del
    assert {h.protein for h in H.load_hotspots() if h.is_indel} >= {"E746_A750del", "L747_P753delinsS"}
    bam = str(tmp_path / "t.bam")
    simulate(ref, bed, bam, pairs_per_amplicon=3000, spikes=[Spike("chr2", 29220744, "CTCC", "C", 0.004)],
             run_seed=21, sample_seed=33, contig_length={"chr2": GRCH38_CHR2_LENGTH})
    plain = deepamp.call(bam, reference=ref, bed=bed)
    known = deepamp.call(bam, reference=ref, bed=bed, hotspots="shipped")
    [d] = [c for c in known if c.kind == "indel"]
    assert (d.pos, d.ref, d.alt, d.family) == (29220743, "TCTC", "T", "hotspot")   # left-normalised
    assert known.tests["hotspot_indel"] == 1 and known.tests["indel"] == plain.tests["indel"] - 1
    assert d.logp == next(c.logp for c in plain if c.kind == "indel")


def test_position_zero_is_refused(tmp_path):
    p = tmp_path / "h.tsv"
    p.write_text("contig\tpos\tref\talt\nchr2\t0\tC\tT\n")
    with pytest.raises(FormatError):
        H.load_hotspots(p)
    p.write_text("contig\tpos\tref\talt\nchr2\t1\tC\tT\n")
    assert H.load_hotspots(p)[0].pos == 1


def test_mask_matches_contig_names_with_or_without_chr_but_not_other_contigs():
    contig = np.array(["chr2", "chr2", "chr7"])
    pos = np.array([99, 100, 99])                          # 0-based
    ref = np.array(["C", "G", "C"])
    for name in ("chr2", "2"):
        m = H.hotspot_mask(contig, pos, ref, [H.Hotspot(name, 100, "C", "T")])
        assert m.tolist() == [[False, False, False, True], [False] * 4, [False] * 4]
    m = H.hotspot_mask(contig, pos, ref, [H.Hotspot("chr7", 100, "C", "A")])
    assert m.tolist() == [[False] * 4, [False] * 4, [True, False, False, False]]
    assert H._norm("chrX") == "X" and H._norm("2") == "2"


def test_ref_mismatches_names_alleles_whose_ref_is_not_the_reference():
    contig = np.array(["chr2"] * 3)
    pos = np.array([10, 11, 12])                           # 1-based 11, 12, 13
    ref = np.array(["A", "C", "g"])
    hs = [H.Hotspot("chr2", 11, "A", "T"),                 # agrees
          H.Hotspot("2", 12, "G", "T"),                    # the reference has C
          H.Hotspot("chr2", 12, "CG", "C"),                # deletion of G at 13: agrees (lower case ref)
          H.Hotspot("chr2", 13, "GTA", "G"),               # runs off the panel: G agrees, the rest unknown
          H.Hotspot("chr2", 12, "CA", "C"),                # deleted base is G in the reference
          H.Hotspot("chr2", 500, "A", "T"),                # off the panel: nothing to compare
          H.Hotspot("chr7", 11, "G", "T")]                 # other contig
    out = H.ref_mismatches(contig, pos, ref, hs)
    assert [(h.pos, h.ref, here) for h, here in out] == [(12, "G", "C"), (12, "CA", "CG")]


def test_only_snvs_and_anchored_indels_are_alleles(tmp_path):
    p = tmp_path / "h.tsv"
    for ref, alt in (("C", "C"), ("CA", "G"), ("CA", "TA"), ("CAT", "CG")):
        p.write_text(f"contig\tpos\tref\talt\nchr2\t10\t{ref}\t{alt}\n")
        with pytest.raises(FormatError):
            H.load_hotspots(p)
    for ref, alt in (("C", "T"), ("CA", "C"), ("C", "CAT")):
        p.write_text(f"contig\tpos\tref\talt\nchr2\t10\t{ref}\t{alt}\n")
        assert [(h.ref, h.alt) for h in H.load_hotspots(p)] == [(ref, alt)]


@pytest.mark.parametrize("changes, indels, message", [
    ((("ALK", "A1202R"),), (), "ALK A1202R: codon 1202 of the transcript model is GGA, not A"),
    ((("ALK", "G9999R"),), (), "ALK G9999R: codon 9999 of the transcript model is None, not G"),
    ((), (("ALK", "M1del", 1, 3, "hotspot"),), "ALK M1del: the reference around c.1_3del is not shipped"),
])
def test_the_derivation_refuses_a_change_the_transcript_model_does_not_hold(monkeypatch, changes, indels, message):
    """A listed change whose reference amino acid, codon or reference bases the shipped transcript model
    does not have stops the derivation with one line instead of writing a wrong allele."""
    monkeypatch.setattr(H, "RESISTANCE_CHANGES", changes)
    monkeypatch.setattr(H, "BYPASS_CHANGES", ())
    monkeypatch.setattr(H, "INDEL_CHANGES", indels)
    with pytest.raises(FormatError) as err:
        H.derive_table()
    assert str(err.value) == message
