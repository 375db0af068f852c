"""``deepamp annotate`` end to end (deepamp.cli.annotate over deepamp.annotate.vcf_annotation)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pysam
import pytest

from deepamp.annotate.vcf_annotation import INFO_FIELDS
from deepamp.cli import annotate as cli
from deepamp.cli import main
from deepamp.errors import DeepampError, FormatError, InputFileError, OutputError

VCF = """##fileformat=VCFv4.2
##contig=<ID=2>
##contig=<ID=chr6>
##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency">
##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO
2\t29220747\t.\tC\tT\t100\tPASS\tAF=0.031;DP=20000
2\t29220765\t.\tG\tT\t100\tPASS\tAF=0.028;DP=20000
2\t29220743\t.\tTCTC\tT\t100\tPASS\tAF=0.01;DP=20000
2\t29220700\t.\tA\tG\t50\tPASS\tAF=0.012;DP=20000
2\t1000\t.\tA\tG\t50\tPASS\tAF=0.01;DP=20000
chr6\t117317184\t.\tC\tT\t100\tPASS\tAF=0.02;DP=20000
"""


def args(tmp_path, *extra, vcf_text=VCF):
    vcf = tmp_path / "in.vcf"
    vcf.write_text(vcf_text)
    p = argparse.ArgumentParser()
    cli.configure(p)
    return p.parse_args([str(vcf), "-o", str(tmp_path / "out"), *extra])


def outputs(tmp_path):
    return sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("out") or p.name.startswith(".out"))


def test_end_to_end(tmp_path):
    phase = tmp_path / "phase.tsv"
    phase.write_text("L1196M\tG1202R\tcis\n")
    assert cli.run(args(tmp_path, "--phase", str(phase))) == 0
    assert outputs(tmp_path) == ["out.json", "out.ranking.tsv", "out.tsv", "out.vcf"]

    lines = (tmp_path / "out.tsv").read_text().splitlines()
    assert lines[0].startswith("#") and "not a treatment order" in lines[0]
    header = lines[1].split("\t")
    rows = [dict(zip(header, l.split("\t"))) for l in lines[2:]]
    assert len(rows) == 6
    g = rows[0]
    assert (g["gene"], g["hgvsc"], g["hgvsp"], g["hgvsp1"], g["vaf"]) == \
        ("ALK", "NM_004304.4:c.3604G>A", "p.Gly1202Arg", "p.G1202R", "0.031")
    assert "K19" in g["kb_records"] and "koopman2022" in g["kb_sources"]
    assert rows[2]["hgvsp"] == "p.Gly1202del"
    assert rows[3]["consequence"] == "splice_region_variant" and rows[3]["intron"] == "23"
    assert rows[4]["consequence"] == "intergenic_variant" and rows[4]["gene"] == ""
    assert rows[5]["hgvsp1"] == "p.G2032R"

    doc = json.loads((tmp_path / "out.json").read_text())
    assert doc["genome"] == "hg38" and doc["kb_version"] and "tumour board" in doc["disclaimer"]
    rk = doc["ranking"]
    assert "L1196M+G1202R" in [c["genotype"] for c in rk["clones"]]
    lor = next(r for r in rk["recommendations"] if r["inhibitor"] == "lorlatinib")
    assert lor["call"] == "resistant" and lor["group"] == "resistance"
    ranked = (tmp_path / "out.ranking.tsv").read_text().splitlines()
    assert ranked[0].startswith("#") and "not a treatment order" in ranked[0]
    table = [dict(zip(ranked[1].split("\t"), l.split("\t"))) for l in ranked[2:]]
    assert [r["inhibitor"] for r in table] == [r["inhibitor"] for r in rk["recommendations"]]
    assert {r["group"] for r in table} <= {"activity", "conflicting", "resistance", "no data"}

    with pysam.VariantFile(str(tmp_path / "out.vcf")) as vf:
        for key, _ in INFO_FIELDS:
            assert key in vf.header.info
        recs = list(vf)
    assert recs[0].info["HGVSP1"] == ("p.G1202R",)
    assert recs[0].info["HGVSC"] == ("NM_004304.4:c.3604G>A",)
    assert recs[0].info["CSQ"] == ("missense_variant",)
    assert "K19" in recs[0].info["KB"][0]
    assert recs[4].info["CSQ"] == ("intergenic_variant",)
    assert recs[3].info["EXON"] == ("intron23",)


def test_hg19_and_chr_prefix(tmp_path):
    text = VCF.replace("##contig=<ID=2>", "##contig=<ID=chr2>").replace("\n2\t29220747", "\nchr2\t29443613")
    assert cli.run(args(tmp_path, "--genome", "hg19", vcf_text=text)) == 0
    row = (tmp_path / "out.tsv").read_text().splitlines()[2].split("\t")
    assert "p.G1202R" in row


def test_extra_transcripts(tmp_path):
    extra = tmp_path / "egfr.json"
    extra.write_text(json.dumps({"transcripts": [{
        "gene": "TOY", "chrom": "7", "strand": "+", "hgvs_accession": "NM_000000.1",
        "cds_start_c1_hg38": 1004, "cds_length_nt": 15,
        "exons": [{"exon": 1, "start_hg38": 1001, "end_hg38": 1010},
                  {"exon": 2, "start_hg38": 2001, "end_hg38": 2020}]}]}))
    text = VCF.replace("##contig=<ID=chr6>", "##contig=<ID=chr6>\n##contig=<ID=7>") + \
        "7\t1007\t.\tG\tT\t50\tPASS\tAF=0.02;DP=9000\n"
    assert cli.run(args(tmp_path, "--transcripts", str(extra), vcf_text=text)) == 0
    last = (tmp_path / "out.tsv").read_text().splitlines()[-1].split("\t")
    assert "NM_000000.1:c.4G>T" in last and "p.?" in last  # no sequence given -> p.?


def _no_outputs(tmp_path):
    return not any(p.name.startswith("out") or p.name.startswith(".out") for p in tmp_path.iterdir())


def test_unknown_genome(tmp_path, capsys):
    vcf = tmp_path / "in.vcf"
    vcf.write_text(VCF)
    assert main(["annotate", "--genome", "hg18", "-o", str(tmp_path / "out"), str(vcf)]) == 2
    assert "--genome" in capsys.readouterr().err
    assert _no_outputs(tmp_path)
    from deepamp.annotate.vcf_annotation import annotate_vcf
    with pytest.raises(DeepampError, match="unknown genome build"):
        annotate_vcf(str(vcf), genome="hg18")


def test_missing_vcf(tmp_path):
    a = args(tmp_path)
    a.vcf = str(tmp_path / "missing.vcf")
    with pytest.raises(InputFileError, match="missing.vcf"):
        cli.run(a)


def test_not_a_vcf(tmp_path):
    with pytest.raises(FormatError, match="in.vcf"):
        cli.run(args(tmp_path, vcf_text="this is not a VCF\n"))
    assert _no_outputs(tmp_path)


def test_malformed_transcript_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"transcripts": [{"gene": "EGFR", "chrom": "7"}]}))
    with pytest.raises(FormatError) as ei:
        cli.run(args(tmp_path, "--transcripts", str(bad)))
    assert "bad.json" in str(ei.value) and "strand" in str(ei.value)
    assert _no_outputs(tmp_path)


def test_bad_phase_file_leaves_no_output(tmp_path):
    phase = tmp_path / "phase.tsv"
    phase.write_text("L1196M\tG1202R\tmaybe\n")
    with pytest.raises(FormatError, match="phase.tsv"):
        cli.run(args(tmp_path, "--phase", str(phase)))
    phase.write_text("L1196M\tF1174L\tcis\n")  # F1174L not in the sample
    with pytest.raises(FormatError, match="not among"):
        cli.run(args(tmp_path, "--phase", str(phase)))
    assert _no_outputs(tmp_path)


def test_unwritable_output_dir(tmp_path):
    a = args(tmp_path)
    a.out = str(tmp_path / "no_such_dir" / "out")
    with pytest.raises(OutputError, match="no_such_dir"):
        cli.run(a)


def test_already_annotated_input_is_rejected(tmp_path):
    assert cli.run(args(tmp_path)) == 0
    again = argparse.Namespace(vcf=str(tmp_path / "out.vcf"), out=str(tmp_path / "again"),
                               genome="hg38", transcripts=None, phase=None)
    with pytest.raises(FormatError, match="already defined"):
        cli.run(again)


def test_lofreq_style_vcf_without_contig_lines_and_multiallelic(tmp_path):
    text = ("##fileformat=VCFv4.0\n##source=lofreq call\n"
            '##INFO=<ID=AF,Number=1,Type=Float,Description="Allele Frequency">\n'
            '##INFO=<ID=DP,Number=1,Type=Integer,Description="Raw Depth">\n'
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
            "chr2\t29220747\t.\tC\tT,G\t100\tPASS\tDP=30000;AF=0.02\n"
            "2\t29220765\t.\tG\tT\t100\tPASS\tDP=30000;AF=0.01\n")
    assert cli.run(args(tmp_path, vcf_text=text)) == 0
    with pysam.VariantFile(str(tmp_path / "out.vcf")) as vf:
        recs = list(vf)
    assert recs[0].info["HGVSP1"] == ("p.G1202R", "p.G1202R")
    assert recs[0].info["HGVSC"] == ("NM_004304.4:c.3604G>A", "NM_004304.4:c.3604G>C")
    assert recs[1].info["HGVSP1"] == ("p.L1196M",)
    doc = json.loads((tmp_path / "out.json").read_text())
    assert len(doc["variants"]) == 3


# ---- simulate -> call -> phase -> annotate: same-codon SNVs merged only when phased cis ----------

ALK_SLICE = Path(__file__).resolve().parents[1] / "src" / "deepamp" / "data" / "ALK_hg38_chr2_29191796-29223795.fa"
# ALK codon 1202 (GGG, c.3604-c.3606) lies on chr2:29220745-29220747 (minus strand).
# c.3604G>A = chr2:29220747C>T (G1202R, AGG); c.3605G>A = chr2:29220746C>T (G1202E, GAG);
# both on one molecule: AAG = Lys, G1202K.


def _pipeline(tmp_path, groups, vafs=(0.08, 0.06)):
    from deepamp.cli import main
    from deepamp.simulate import Amplicon, Spike, simulate

    spikes = [Spike("chr2", 29220747, "C", "T", vafs[0], molecule_group=groups[0]),
              Spike("chr2", 29220746, "C", "T", vafs[1], molecule_group=groups[1])]
    bam = tmp_path / "s.bam"
    simulate(str(ALK_SLICE), [Amplicon("chr2", 29220676, 29220865, "ALK_ex23")], str(bam),
             pairs_per_amplicon=2000, spikes=spikes, sample_seed=5)
    calls, phased = tmp_path / "calls.vcf", tmp_path / "phased.vcf"
    assert main(["call", "-f", str(ALK_SLICE), "-r", "chr2:29220676-29220865", "-o", str(calls), str(bam)]) == 0
    assert main(["phase", "-i", str(calls), "-o", str(phased), str(bam)]) == 0
    assert main(["annotate", "-o", str(tmp_path / "ann"), str(phased)]) == 0
    doc = json.loads((tmp_path / "ann.json").read_text())
    return {(v["pos"], v["alt"]): v for v in doc["variants"]}, doc


def test_pipeline_same_codon_cis_gives_one_amino_acid_change(tmp_path):
    got, doc = _pipeline(tmp_path, ("g1", "g1"))
    a, b = got[(29220747, "T")], got[(29220746, "T")]
    assert (a["hgvsp1"], b["hgvsp1"]) == ("p.G1202R", "p.G1202E")   # each alone
    assert a["combined_hgvsp1"] == b["combined_hgvsp1"] == "p.G1202K"
    assert a["combined_hgvsp"] == "p.Gly1202Lys" and a["phase"] == b["phase"] == "cis"
    clones = [c["genotype"] for c in doc["ranking"]["clones"]]
    # the ranking sees the molecule's change, not R and E apart (other calls are run artefacts)
    assert "G1202K" in clones and "G1202R" not in clones and "G1202E" not in clones


def test_pipeline_same_codon_trans_is_annotated_separately_and_flagged(tmp_path):
    got, _ = _pipeline(tmp_path, ("g1", "g2"))
    a, b = got[(29220747, "T")], got[(29220746, "T")]
    assert a["combined_hgvsp1"] is None and b["combined_hgvsp1"] is None
    assert a["phase"] == b["phase"] == "trans"
    assert any("shares a codon with chr2:29220746C>T (trans)" in w for w in a["warnings"])
    tsv = (tmp_path / "ann.tsv").read_text().splitlines()
    header = tsv[1].split("\t")
    row = next(r.split("\t") for r in tsv[2:] if r.split("\t")[1] == "29220747")
    assert row[header.index("phase")] == "trans" and row[header.index("hgvsp1")] == "p.G1202R"
    clones = sorted(c["genotype"] for c in json.loads((tmp_path / "ann.json").read_text())["ranking"]["clones"])
    assert {"G1202E", "G1202R"} <= set(clones) and "G1202K" not in clones   # two clones


def test_same_codon_without_phase_information_is_flagged_not_merged(tmp_path):
    text = VCF.replace("2\t29220765\t.\tG\tT", "2\t29220746\t.\tC\tT")
    assert cli.run(args(tmp_path, vcf_text=text)) == 0
    got = {(v["pos"], v["alt"]): v for v in json.loads((tmp_path / "out.json").read_text())["variants"]}
    a = got[(29220747, "T")]
    assert a["combined_hgvsp1"] is None and a["phase"] == "not phased"
    assert any("(not phased)" in w for w in a["warnings"])


BYPASS_VCF = """##fileformat=VCFv4.2
##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO
chr2\t29220747\t.\tC\tT\t100\tPASS\tAF=0.031
chr7\t55174771\t.\tAGGAATTAAGAGAAGC\tA\t100\tPASS\tAF=0.012
chr7\t55181370\t.\tG\tA\t100\tPASS\tAF=0.45
chr7\t116771990\t.\tG\tT\t100\tPASS\tAF=0.008
chr12\t25245351\t.\tC\tA\t100\tPASS\tAF=0.009
"""


@pytest.mark.parametrize("genome", ["hg38", "hg19"])
def test_bypass_changes_end_to_end(tmp_path, genome):
    text = BYPASS_VCF
    if genome == "hg19":  # GRCh37 = GRCh38 + the per-gene offset (ALK +222866, EGFR/MET chr7, KRAS)
        for chrom, pos, off in (("chr2", 29220747, 222866), ("chr7", 55174771, 67693), ("chr7", 55181370, 67693),
                                ("chr7", 116771990, -359946), ("chr12", 25245351, 152934)):
            text = text.replace(f"{chrom}\t{pos}\t", f"{chrom}\t{pos + off}\t")
    assert cli.run(args(tmp_path, "--genome", genome, vcf_text=text)) == 0
    lines = (tmp_path / "out.tsv").read_text().splitlines()
    rows = [dict(zip(lines[1].split("\t"), l.split("\t"))) for l in lines[2:]]
    alk, egfr, syn, met, kras = rows
    assert alk["bypass"] == "" and alk["gene"] == "ALK"
    assert (egfr["gene"], egfr["hgvsc"], egfr["hgvsp1"]) == ("EGFR", "NM_005228.5:c.2235_2249del", "p.E746_A750del")
    assert "EGFR exon 19 deletion" in egfr["bypass"] and "not expected to help" in egfr["bypass"]
    assert "M04" in egfr["kb_records"].split(",") and "molonc2021" in egfr["kb_sources"]
    assert syn["consequence"] == "synonymous_variant" and syn["bypass"] == ""
    assert met["consequence"] == "splice_donor_variant" and met["hgvsc"] == "NM_000245.4:c.3028+1G>T"
    assert "MET exon 14 skipping" in met["bypass"] and "no data" in met["bypass"]
    assert kras["hgvsp1"] == "p.G12C" and "no source in the knowledge base reports KRAS" in kras["bypass"]
    doc = json.loads((tmp_path / "out.json").read_text())
    found = {b["mutation"]: b for b in doc["ranking"]["bypass"]}
    assert set(found) == {"EGFR:E746_A750del", "MET:exon14skipping", "KRAS:G12C"}
    assert found["EGFR:E746_A750del"]["switching_alk_inhibitor_alone"] == "switching ALK inhibitor alone is not expected to help"
    assert found["KRAS:G12C"]["switching_alk_inhibitor_alone"] == "no data"
    lor = next(r for r in doc["ranking"]["recommendations"] if r["inhibitor"] == "lorlatinib")
    assert lor["group"] == "activity" and any("not expected to help" in w for w in lor["warnings"])
    with pysam.VariantFile(str(tmp_path / "out.vcf")) as vf:
        recs = list(vf)
    assert "EGFR%20exon%2019%20deletion" in recs[1].info["BYPASS"][0]
    assert recs[0].info["BYPASS"] == (".",)
