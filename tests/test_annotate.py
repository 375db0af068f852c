"""Transcript model and HGVS annotation (deepamp.annotate.transcripts / .hgvs)."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from deepamp.annotate.hgvs import THREE, Variant, annotate, parse_variant
from deepamp.annotate.transcripts import (CODON_TABLE, TranscriptSet, load_transcripts, translate,
                                          revcomp)
from deepamp.errors import FormatError

HG19_ALK, HG19_ROS1 = 222866, 321163


@pytest.fixture(scope="module")
def hg38():
    return TranscriptSet.default("hg38")


@pytest.fixture(scope="module")
def hg19():
    return TranscriptSet.default("hg19")


@pytest.fixture(scope="module")
def alk_slice():
    """The shipped GRCh38 slice, parsed here independently of the annotator."""
    text = resources.files("deepamp.data").joinpath("ALK_hg38_chr2_29191796-29223795.fa").read_text()
    seq = "".join(l.strip() for l in text.splitlines() if not l.startswith(">")).upper()
    return lambda pos: seq[pos - 29191796]


def ann1(ts, text):
    return annotate([parse_variant(text)], ts)[0]


# Verified vectors from shared/data-sources/README.md (hg38 positions; hg19 = + offset).
VERIFIED = [
    ("chr2", 29220747, "C", "T", "ALK", 23, "c.3604G>A", "p.Gly1202Arg", "p.G1202R", HG19_ALK),
    ("chr2", 29220765, "G", "T", "ALK", 23, "c.3586C>A", "p.Leu1196Met", "p.L1196M", HG19_ALK),
    ("chr2", 29220829, "G", "T", "ALK", 23, "c.3522C>A", "p.Phe1174Leu", "p.F1174L", HG19_ALK),
    ("chr2", 29220829, "G", "C", "ALK", 23, "c.3522C>G", "p.Phe1174Leu", "p.F1174L", HG19_ALK),
    ("chr2", 29209816, "C", "G", "ALK", 25, "c.3806G>C", "p.Gly1269Ala", "p.G1269A", HG19_ALK),
    ("chr2", 29222392, "C", "T", "ALK", 22, "c.3467G>A", "p.Cys1156Tyr", "p.C1156Y", HG19_ALK),
    ("chr6", 117317184, "C", "T", "ROS1", 38, "c.6094G>A", "p.Gly2032Arg", "p.G2032R", HG19_ROS1),
]


@pytest.mark.parametrize("chrom,pos,ref,alt,gene,exon,c,p3,p1,off", VERIFIED)
@pytest.mark.parametrize("genome", ["hg38", "hg19"])
def test_verified_vectors(hg38, hg19, genome, chrom, pos, ref, alt, gene, exon, c, p3, p1, off):
    ts, p = (hg38, pos) if genome == "hg38" else (hg19, pos + off)
    a = annotate([Variant(chrom, p, ref, alt)], ts)[0]
    acc = "NM_004304.4" if gene == "ALK" else "NM_002944.2"
    assert (a.gene, a.exon, a.hgvsc, a.hgvsp, a.hgvsp1) == (gene, exon, f"{acc}:{c}", p3, p1)
    assert a.consequence == "missense_variant"
    assert a.warnings == []


def test_hg19_known_civic_positions(hg19):
    # CIViC GRCh37 positions quoted in the data README (F1174L, C1156Y, L1196M)
    assert ann1(hg19, "2:29443695G>T").hgvsp1 == "p.F1174L"
    assert ann1(hg19, "2:29445258C>T").hgvsp1 == "p.C1156Y"
    assert ann1(hg19, "2:29443631G>T").hgvsc == "NM_004304.4:c.3586C>A"


def test_hg38_position_is_not_valid_in_hg19(hg19):
    a = ann1(hg19, "chr2:29220747C>T")
    assert a.hgvsp1 != "p.G1202R"


def test_contig_without_chr_prefix(hg38):
    assert ann1(hg38, "2:29220747C>T").hgvsp1 == ann1(hg38, "chr2:29220747C>T").hgvsp1 == "p.G1202R"


@pytest.mark.parametrize("text", ["chr2:29220745TCCC>T", "chr2:29220743TCTC>T"])
def test_g1202del_both_alleles(hg38, text):
    a = ann1(hg38, text)
    assert a.hgvsp == "p.Gly1202del" and a.hgvsp1 == "p.G1202del"
    assert a.consequence == "inframe_deletion"


def test_deletions_are_shifted_3prime_in_transcript_orientation(hg38):
    # c.3601-c.3605 is GGGGG; deleting any one G is c.3605del (3'-most), a frameshift.
    a = ann1(hg38, "chr2:29220746CC>C")  # deletes genomic 29220747 (c.3604)
    assert a.hgvsc == "NM_004304.4:c.3605del"
    assert a.consequence == "frameshift_variant"
    b = ann1(hg38, "chr2:29220747CC>C")  # deletes 29220748 (c.3603): same allele
    assert b.hgvsc == a.hgvsc


def test_insertions_dup_and_shift(hg38):
    a = ann1(hg38, "chr2:29220745T>TCCC")
    assert a.hgvsc == "NM_004304.4:c.3603_3605dup" and a.hgvsp == "p.Gly1202dup"
    assert a.consequence == "inframe_insertion"
    b = ann1(hg38, "chr2:29220745T>TC")
    assert b.hgvsc == "NM_004304.4:c.3605dup" and b.consequence == "frameshift_variant"
    assert b.hgvsp1 == "p.D1203Rfs*82" and b.hgvsp == "p.Asp1203ArgfsTer82"
    c = ann1(hg38, "chr2:29220747C>CA")
    assert c.hgvsc == "NM_004304.4:c.3603_3604insT" and c.hgvsp1 == "p.G1202Wfs*83"


def test_synonymous_and_stop(hg38):
    s = ann1(hg38, "chr2:29220745T>C")  # GGA -> GGG
    assert s.hgvsc == "NM_004304.4:c.3606A>G"
    assert s.hgvsp == "p.Gly1202=" and s.consequence == "synonymous_variant"
    t = ann1(hg38, "chr2:29220822G>A")  # CAG -> TAG
    assert t.hgvsc == "NM_004304.4:c.3529C>T"
    assert t.hgvsp == "p.Gln1177Ter" and t.hgvsp1 == "p.Q1177*" and t.consequence == "stop_gained"


def _expected_aa(alk_slice, genomic_positions, mutate_at, alt_plus):
    """Translate the codon read directly from the FASTA (minus strand), optionally mutated."""
    bases = []
    for g in genomic_positions:
        b = alt_plus if g == mutate_at else alk_slice(g)
        bases.append(revcomp(b))
    return CODON_TABLE["".join(bases)]


def test_codon_split_across_exon_boundary(hg38, alk_slice):
    # codon 1172 = c.3514, c.3515 (end of exon 22) + c.3516 (first base of exon 23)
    tx = hg38.by_gene("ALK")
    gpos = [tx.axis_to_genomic(c) for c in (3514, 3515, 3516)]
    assert gpos == [29222345, 29222344, 29220835]
    ref_aa = _expected_aa(alk_slice, gpos, None, None)
    assert ref_aa == tx.protein[1171]
    for g in (29222344, 29220835):
        for alt in "ACGT":
            if alt == alk_slice(g):
                continue
            a = annotate([Variant("chr2", g, alk_slice(g), alt)], hg38)[0]
            want = _expected_aa(alk_slice, gpos, g, alt)
            assert a.hgvsp1.startswith(f"p.{ref_aa}1172")
            assert a.hgvsp1.endswith("=" if want == ref_aa else ("*" if want == "*" else want))
            assert "splice_region_variant" in a.consequence  # within 3 bp of the boundary


def test_first_and_last_codon_of_exons(hg38, alk_slice):
    tx = hg38.by_gene("ALK")
    # codon 1216 starts at the first base of exon 24; codon 1215 ends at the last base of exon 23
    for codon, exon in ((1216, 24), (1215, 23)):
        gpos = [tx.axis_to_genomic(3 * codon - 2 + k) for k in range(3)]
        for g in gpos:
            alt = "A" if alk_slice(g) != "A" else "G"
            a = annotate([Variant("chr2", g, alk_slice(g), alt)], hg38)[0]
            want = _expected_aa(alk_slice, gpos, g, alt)
            ref_aa = tx.protein[codon - 1]
            assert a.exon == exon
            assert a.hgvsp1 == (f"p.{ref_aa}{codon}=" if want == ref_aa else f"p.{ref_aa}{codon}{want}")


def test_minus_strand_complement_in_c_name(hg38):
    a = ann1(hg38, "chr2:29209816C>G")
    assert a.hgvsc.endswith("c.3806G>C")  # plus-strand C>G is transcript G>C


def test_intronic_and_splice(hg38):
    assert ann1(hg38, "chr2:29220700A>G").hgvsc == "NM_004304.4:c.3645+6T>C"
    assert ann1(hg38, "chr2:29220700A>G").consequence == "splice_region_variant"
    d = ann1(hg38, "chr2:29220705C>T")
    assert d.hgvsc.endswith("c.3645+1G>A") and d.consequence == "splice_donor_variant"
    acc = ann1(hg38, "chr2:29220836A>G")
    assert acc.hgvsc.endswith("c.3516-1T>C") and acc.consequence == "splice_acceptor_variant"
    deep = ann1(hg38, "chr2:29220845A>G")
    assert deep.hgvsc.endswith("c.3516-10T>C") and deep.consequence == "intron_variant"
    assert deep.hgvsp is None and deep.intron == 22


def test_outside_transcripts_is_not_an_error(hg38):
    a = ann1(hg38, "chr1:1000A>G")
    assert a.gene is None and a.consequence == "intergenic_variant"
    b = ann1(hg38, "chr2:29100000A>G")
    assert b.gene is None and b.consequence == "intergenic_variant"


def test_utr(hg38):
    tx = hg38.by_gene("ALK")
    loc = tx.locate(29193223)
    assert loc.c == "*1"
    assert tx.locate(29920660).c == "-1"


def test_ref_mismatch_warns(hg38):
    a = ann1(hg38, "chr2:29220747G>T")
    assert any("does not match" in w for w in a.warnings)


def test_cis_snvs_in_one_codon_are_combined(hg38):
    vs = [parse_variant("chr2:29220747C>T"), parse_variant("chr2:29220746C>T"),
          parse_variant("chr2:29220765G>T")]
    alone = annotate(vs, hg38)
    assert [a.hgvsp1 for a in alone] == ["p.G1202R", "p.G1202E", "p.L1196M"]
    assert all(a.combined_hgvsp is None for a in alone)
    cis = annotate(vs, hg38, cis_groups=[[0, 1, 2]])
    assert cis[0].combined_hgvsp == cis[1].combined_hgvsp == "p.Gly1202Lys"
    assert cis[0].combined_hgvsp1 == "p.G1202K"
    assert cis[2].combined_hgvsp is None  # different codon


def test_translations_equal_uniprot():
    for genome in ("hg38", "hg19"):
        ts = TranscriptSet.default(genome)
        alk, ros = ts.by_gene("ALK"), ts.by_gene("ROS1")
        # ALK exons 20-29: aa 1059-1620 + stop; ROS1 c.5558-c.7044: aa 1854-2347 + stop
        assert alk.check_translation("t") == 1620 - 1059 + 2
        assert ros.check_translation("t") == 2347 - 1854 + 2
        assert len(alk.protein) == 1620 and len(ros.protein) == 2347


def test_translation_mismatch_is_detected(tmp_path):
    doc = json.loads(resources.files("deepamp.annotate.data").joinpath("transcripts.json").read_text())
    ros = next(t for t in doc["transcripts"] if t["gene"] == "ROS1")
    seq = resources.files("deepamp.annotate.data").joinpath(
        "ROS1_cdna_c5558-c7044_read_consensus.fa").read_text().splitlines()
    cdna = "".join(l for l in seq if not l.startswith(">"))
    i = 6094 - 5558  # c.6094G>A = G2032R
    ros["cds_sequence"] = [{"type": "cdna", "c_start": 5558, "sequence": cdna[:i] + "A" + cdna[i + 1:]}]
    ros["protein_fasta"] = {"file": "proteins.fa", "id": "P08922", "package": "deepamp.annotate.data"}
    p = tmp_path / "bad.json"
    p.write_text(json.dumps({"transcripts": [ros]}))
    with pytest.raises(FormatError, match="codon 2032"):
        load_transcripts(p)


TOY = {"transcripts": [{
    "gene": "TOY", "chrom": "7", "strand": "+", "hgvs_accession": "NM_000000.1",
    "cds_start_c1_hg38": 1004, "cds_length_nt": 15, "hg19_minus_hg38_offset": 100,
    "exons": [{"exon": 1, "start_hg38": 1001, "end_hg38": 1010},
              {"exon": 2, "start_hg38": 2001, "end_hg38": 2020}],
    "protein_sequence": "MAEK",
    "cds_sequence": [{"type": "cdna", "c_start": 1, "sequence": "ATGGCTGAAAAATAA"}]}]}


def test_user_transcript_plus_strand(tmp_path):
    p = tmp_path / "toy.json"
    p.write_text(json.dumps(TOY))
    ts = TranscriptSet.default("hg38", p)
    assert ann1(ts, "7:1007G>T").hgvsp1 == "p.A2S"
    assert ann1(ts, "chr7:1005T>C").hgvsp1 == "p.M1?"
    split = ann1(ts, "7:2001A>G")  # c.8, codon 3 = c.7 (exon 1) + c.8-9 (exon 2)
    assert split.hgvsc == "NM_000000.1:c.8A>G" and split.hgvsp1 == "p.E3G"
    fs = ann1(ts, "7:2001AA>A")  # one A of c.8-c.12 AAAAA -> 3'-most c.12del
    assert fs.hgvsc == "NM_000000.1:c.12del" and fs.consequence.startswith("frameshift_variant")
    assert ann1(ts, "7:1500A>G").hgvsc == "NM_000000.1:c.7+490A>G"
    ts19 = TranscriptSet.default("hg19", p)
    assert ann1(ts19, "7:1107G>T").hgvsp1 == "p.A2S"
    # ALK still annotated alongside
    assert ann1(ts, "chr2:29220747C>T").hgvsp1 == "p.G1202R"


@pytest.mark.parametrize("field,mutate", [
    ("strand", lambda t: t.pop("strand")),
    ("strand", lambda t: t.__setitem__("strand", "x")),
    ("exons", lambda t: t.__setitem__("exons", [])),
    ("start_hg38", lambda t: t["exons"][0].pop("start_hg38")),
    ("cds_length_nt", lambda t: t.__setitem__("cds_length_nt", 14)),
    ("cds_start_c1_hg38", lambda t: t.__setitem__("cds_start_c1_hg38", 1500)),
    ("type", lambda t: t["cds_sequence"][0].__setitem__("type", "rna")),
])
def test_malformed_user_transcripts(tmp_path, field, mutate):
    doc = json.loads(json.dumps(TOY))
    mutate(doc["transcripts"][0])
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(FormatError) as ei:
        load_transcripts(p)
    assert str(p) in str(ei.value) and field in str(ei.value)


def test_not_json_and_unknown_genome(tmp_path):
    p = tmp_path / "x.json"
    p.write_text("{not json")
    with pytest.raises(FormatError, match="not valid JSON"):
        load_transcripts(p)
    with pytest.raises(ValueError, match="unknown genome build"):
        TranscriptSet.default("hg17")


def test_variant_validation():
    with pytest.raises(ValueError):
        Variant("chr2", 0, "A", "G")
    with pytest.raises(ValueError):
        Variant("chr2", 5, "A", "<DEL>")


# ---- frameshifts: long form from the transcript model, checked against UniProt --------------

def _uniprot(accession):
    text = resources.files("deepamp.annotate.data").joinpath("proteins.fa").read_text()
    seqs, name = {}, None
    for line in text.splitlines():
        if line.startswith(">"):
            name = line[1:]
            seqs[name] = ""
        else:
            seqs[name] += line.strip()
    return next(v for k, v in seqs.items() if accession in k)


def _fs_oracle(tx, protein, c_del=None, c_ins_after=None, ins=""):
    """Independent walk: mutate the CDS, translate codon by codon, name the frameshift."""
    first = min(c for c in tx.cds)
    first += -(first - 1) % 3  # first whole modelled codon
    cds = "".join(tx.cds[c] for c in range(first, tx.cds_length + 1))
    k = (c_del if c_del is not None else c_ins_after + 1) - first
    mut = cds[:k] + cds[k + 1:] if c_del is not None else cds[:k] + ins + cds[k:]
    codon0 = (first - 1) // 3 + 1
    for n in range(len(mut) // 3):
        ref_aa = protein[codon0 + n - 1] if codon0 + n <= len(protein) else "*"
        new_aa = CODON_TABLE[mut[3 * n:3 * n + 3]]
        if new_aa != ref_aa:
            start = n
            break
    for m in range(start, len(mut) // 3):
        if CODON_TABLE[mut[3 * m:3 * m + 3]] == "*":
            return f"p.{protein[codon0 + start - 1]}{codon0 + start}{CODON_TABLE[mut[3 * start:3 * start + 3]]}fs*{m - start + 1}"
    return f"p.{protein[codon0 + start - 1]}{codon0 + start}fs"


@pytest.mark.parametrize("c", [3176, 3604, 3605, 3821, 4000, 4500, 4840])
def test_frameshift_deletion_long_form_matches_uniprot_walk(hg38, c):
    tx = hg38.by_gene("ALK")
    protein = _uniprot("Q9UM73")
    assert len(protein) == 1620
    g = tx.axis_to_genomic(c)
    # minus strand: the VCF anchor base (genomic g-1) is c.(c+1); delete c.c
    v = Variant("chr2", g - 1, revcomp(tx.cds[c + 1]) + revcomp(tx.cds[c]), revcomp(tx.cds[c + 1]))
    a = annotate([v], hg38)[0]
    assert a.consequence.startswith("frameshift_variant")
    c_del = int(a.hgvsc.split("c.")[1].rstrip("del"))  # the 3'-shifted deleted base
    want = _fs_oracle(tx, protein, c_del=c_del)
    assert a.hgvsp1 == want
    ref_aa, pos = want[2], int("".join(ch for ch in want[3:8] if ch.isdigit()))
    assert protein[pos - 1] == ref_aa
    assert a.hgvsp.startswith(f"p.{THREE[ref_aa]}{pos}")
    assert ("fsTer" in a.hgvsp) == ("*" in want[3:])


def test_frameshift_named_examples(hg38):
    a = ann1(hg38, "chr2:29220746CC>C")  # c.3605del in the GGGGG run of codons 1201-1202
    assert (a.hgvsp, a.hgvsp1) == ("p.Gly1202GlufsTer56", "p.G1202Efs*56")
    assert a.consequence == "frameshift_variant" and a.protein_change == "G1202Efs*56" and not a.notes
    r = ann1(hg38, "chr2:29209800A>AT")  # c.3821_3822insA
    assert r.hgvsp == "p.Arg1275ProfsTer10"


def test_frameshift_reads_on_into_the_3utr(hg38, alk_slice):
    # c.4849_4850insT in codon 1617 (CAG): no stop in the shifted frame before the CDS ends; the
    # frame is read on into the 3' UTR of the slice.  Expected values by hand from the slice:
    # transcript strand from c.4849 (chr2:29193238) downwards, T inserted after c.4849.
    tx = "".join({"A": "T", "C": "G", "G": "C", "T": "A"}[alk_slice(g)] for g in range(29193238, 29192800, -1))
    mutant = translate(tx[:1] + "T" + tx[1:])
    assert tx[:15] == "CAGCCTGGGCCCTGA" and mutant.index("*") + 1 == 59
    a = ann1(hg38, "chr2:29193237T>TA")
    assert (a.hgvsp, a.hgvsp1) == ("p.Gln1617LeufsTer59", "p.Q1617Lfs*59")
    assert a.consequence == "frameshift_variant" and not a.notes
    # deleting a G of the last GGG codon (c.4857) loses the stop codon: Q P G P then E...; the new
    # stop comes 13 codons after the old one (1634 - 1621), named as an extension
    del_mutant = translate(tx[:8] + tx[9:])
    assert del_mutant[4] == "E" and del_mutant.index("*") + 1617 - 1621 == 13
    b = ann1(hg38, "chr2:29193231CC>C")
    assert b.hgvsc.endswith("c.4857del") and (b.hgvsp, b.hgvsp1) == ("p.Ter1621GluextTer13", "p.*1621Eext*13")


def test_frameshift_creating_an_immediate_stop_is_named_as_nonsense(hg38):
    a = ann1(hg38, "chr2:29193247T>TA")  # c.4839dup: a T before codon 1614 AGC makes it TAG
    assert a.hgvsp == "p.Ser1614Ter" and a.consequence == "frameshift_variant"


def test_frameshift_toy_transcript_by_hand(tmp_path):
    p = tmp_path / "toy.json"
    p.write_text(json.dumps(TOY))
    ts = TranscriptSet.default("hg38", p)
    # ATG GCT GAA AAA TAA; delete c.5 (C): ATG GTG AAA AAT AA -> M V K N + no stop in the CDS
    a = ann1(ts, "7:1007GC>G")
    assert a.hgvsc == "NM_000000.1:c.5del" and a.hgvsp1 == "p.A2fs" and a.notes
    # insert T after c.3: ATG TGC TGA -> M C * : A2C then stop at the 2nd residue
    b = ann1(ts, "7:1006G>GT")
    assert b.hgvsp == "p.Ala2CysfsTer2" and b.hgvsp1 == "p.A2Cfs*2"
