"""Tests of deepamp.concordance: strong / weak evidence across two aligners' VCFs."""

from __future__ import annotations

import gzip
import logging
import os
import shutil
import subprocess

import pysam
import pytest

from deepamp.cli import main
from deepamp.concordance import concordance, write_concordance
from deepamp.errors import FormatError, InputFileError, ReferenceFileError
from deepamp.normalise import trim_alleles

HEADER = """##fileformat=VCFv4.2
##contig=<ID=chr2,length=242193529>
##contig=<ID=chr6,length=170805979>
##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">
##INFO=<ID=AF,Number=A,Type=Float,Description="Allele Frequency">
##INFO=<ID=DP4,Number=4,Type=Integer,Description="DP4">
##FILTER=<ID=min_af,Description="AF below threshold">
##FILTER=<ID=sb_fdr,Description="Strand bias">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO
"""

# primary (bwa): strong, weak (fails in B), none (fails in both), multi-allelic, indel with padding
BWA = """chr2\t29220747\trs1\tC\tT\t300\tPASS\tDP=25000;AF=0.01;DP4=1,2,3,4
chr2\t29220800\t.\tG\tA\t80\tPASS\tDP=24000;AF=0.004
chr2\t29220810\t.\tA\tG\t20\tmin_af\tDP=24000;AF=0.001
chr6\t117642500\t.\tG\tA,T\t500\tPASS\tDP=20000;AF=0.02,0.005
chr2\t29220770\t.\tATGAC\tAC\t99\tPASS\tDP=23000;AF=0.01
"""
# other (bowtie2): strong, weak partner failing, none, only-in-B passing, one allele of the multi-allelic
BT2 = """chr2\t29220747\t.\tC\tT\t280\tPASS\tDP=24900;AF=0.0102
chr2\t29220800\t.\tG\tA\t10\tsb_fdr\tDP=23900;AF=0.0041
chr2\t29220810\t.\tA\tG\t15\tmin_af;sb_fdr\tDP=23950;AF=0.0011
chr2\t29209816\t.\tC\tG\t200\tPASS\tDP=22000;AF=0.011
chr6\t117642500\t.\tG\tT\t90\tPASS\tDP=20010;AF=0.0052
chr2\t29220770\t.\tATGA\tA\t95\tPASS\tDP=23010;AF=0.0099
"""


def write(path, body, header=HEADER, gz=False):
    text = header + body
    if gz:
        plain = str(path)[:-3]
        with open(plain, "w") as fh:
            fh.write(text)
        pysam.tabix_compress(plain, str(path), force=True)
        os.unlink(plain)
    else:
        path.write_text(text)
    return str(path)


def records(path):
    with pysam.VariantFile(path) as vf:
        return {(r.chrom, r.pos, r.ref, r.alts[0]): r for r in vf}


@pytest.fixture
def pair(tmp_path):
    return write(tmp_path / "bwa.vcf", BWA), write(tmp_path / "bt2.vcf", BT2)


def test_strong_weak_none_and_only_in_b(tmp_path, pair):
    out = str(tmp_path / "conc.vcf")
    tally = write_concordance(out, *pair)
    assert tally == {"strong": 3, "weak": 3, "none": 1}
    recs = records(out)
    strong = recs[("chr2", 29220747, "C", "T")]
    assert strong.info["EVIDENCE"] == "strong"
    assert strong.info["EVIDENCE_SOURCES"] == ("bwa", "bowtie2")
    assert strong.info["AF_bwa"] == pytest.approx(0.01) and strong.info["AF_bowtie2"] == pytest.approx(0.0102)
    assert strong.info["DP_bwa"] == 25000 and strong.info["DP_bowtie2"] == 24900
    assert strong.id == "rs1" and strong.qual == 300          # from the primary
    assert strong.info["DP4"] == (1, 2, 3, 4)

    weak = recs[("chr2", 29220800, "G", "A")]
    assert weak.info["EVIDENCE"] == "weak" and weak.info["EVIDENCE_SOURCES"] == ("bwa",)
    assert list(weak.filter.keys()) == ["PASS"]              # primary's FILTER
    assert weak.info["FILTER_bowtie2"] == "sb_fdr"

    none = recs[("chr2", 29220810, "A", "G")]
    assert none.info["EVIDENCE"] == "none" and "EVIDENCE_SOURCES" not in none.info
    assert list(none.filter.keys()) == ["min_af"]
    assert none.info["FILTER_bowtie2"] == "min_af|sb_fdr"

    only_b = recs[("chr2", 29209816, "C", "G")]
    assert only_b.info["EVIDENCE"] == "weak" and only_b.info["EVIDENCE_SOURCES"] == ("bowtie2",)
    assert "AF_bwa" not in only_b.info and only_b.info["AF_bowtie2"] == pytest.approx(0.011)
    assert only_b.qual == 200 and list(only_b.filter.keys()) == ["PASS"]


def test_multiallelic_split_and_indel_normalised(tmp_path, pair):
    out = str(tmp_path / "conc.vcf")
    write_concordance(out, *pair)
    recs = records(out)
    a = recs[("chr6", 117642500, "G", "A")]
    t = recs[("chr6", 117642500, "G", "T")]
    assert a.info["EVIDENCE"] == "weak" and a.info["AF_bwa"] == pytest.approx(0.02)
    assert t.info["EVIDENCE"] == "strong" and t.info["AF_bwa"] == pytest.approx(0.005)
    assert t.info["AF"] == (pytest.approx(0.005),)           # this allele's value of a Number=A field
    # ATGAC>AC and ATGA>A are the same deletion
    d = recs[("chr2", 29220770, "ATGA", "A")]
    assert d.info["EVIDENCE"] == "strong" and d.info["DP_bwa"] == 23000
    assert len(recs) == 7
    # sorted: contig order of the header, then position
    with pysam.VariantFile(out) as vf:
        order = [(r.chrom, r.pos) for r in vf]
    assert order == sorted(order, key=lambda x: (x[0] != "chr2", x[1]))


def test_labels_filter_weak_and_gz(tmp_path):
    a = write(tmp_path / "a.vcf.gz", BWA, gz=True)
    b = write(tmp_path / "b.vcf", BT2)
    out = str(tmp_path / "c.vcf.gz")
    assert main(["concordance", "--quiet", "--labels", "BWA_MEM,bt2", "--filter-weak", "-o", out, a, b]) == 0
    assert os.path.isfile(out + ".tbi")
    recs = records(out)
    assert recs[("chr2", 29209816, "C", "G")].info["AF_bt2"] == pytest.approx(0.011)
    assert list(recs[("chr2", 29220800, "G", "A")].filter.keys()) == ["weak_evidence"]
    assert list(recs[("chr2", 29220747, "C", "T")].filter.keys()) == ["PASS"]
    with pysam.VariantFile(out) as vf:
        assert "weak_evidence" in vf.header.filters and "AF_BWA_MEM" in vf.header.info
        assert "EVIDENCE" in vf.header.info
    assert gzip.open(out, "rt").read().count("\n#CHROM") == 1


def test_missing_filter_counts_as_pass_and_is_kept_and_missing_qual(tmp_path):
    a = write(tmp_path / "a.vcf", "chr2\t100\t.\tA\tC\t.\t.\tDP=10;AF=0.1\n")
    b = write(tmp_path / "b.vcf", "chr2\t100\t.\tA\tC\t7\tPASS\tDP=11;AF=0.1\n")
    header, lines = concordance(a, b)
    assert len(lines) == 1
    cols = str(lines[0]).split("\t")
    assert cols[5] == "." and "EVIDENCE=strong" in cols[7]
    assert cols[6] == "."                                   # not applied: not turned into PASS
    assert "FILTER_bwa=.;" in cols[7] and "FILTER_bowtie2=PASS" in cols[7]
    assert "'.' (filters not applied) counts as PASS" in header.info["EVIDENCE"].description
    # the other way round: the PASS record is the primary's
    cols = str(concordance(b, a)[1][0]).split("\t")
    assert cols[6] == "PASS" and "FILTER_bowtie2=." in cols[7]


# LoFreq 2 writes VCFv4.0 with no ##contig lines and AF as Number=1
LOFREQ_HEADER = """##fileformat=VCFv4.0
##fileDate=20240101
##source=lofreq call --call-indels -f ref.fa -o out.vcf in.bam
##reference=ref.fa
##INFO=<ID=DP,Number=1,Type=Integer,Description="Raw Depth">
##INFO=<ID=AF,Number=1,Type=Float,Description="Allele Frequency">
##INFO=<ID=SB,Number=1,Type=Integer,Description="Phred-scaled strand bias at this position">
##INFO=<ID=DP4,Number=4,Type=Integer,Description="Counts for ref-forward bases, ref-reverse, alt-forward and alt-reverse bases">
##INFO=<ID=INDEL,Number=0,Type=Flag,Description="Indicates that the variant is an INDEL.">
##INFO=<ID=CONSVAR,Number=0,Type=Flag,Description="Indicates that the variant is a consensus variant (as opposed to a low frequency variant).">
##INFO=<ID=HRUN,Number=1,Type=Integer,Description="Homopolymer length to the right of report indel position">
##FILTER=<ID=min_dp_10,Description="Minimum Coverage 10">
##FILTER=<ID=sb_fdr,Description="Strand-Bias Multiple Testing Correction: fdr corr. pvalue > 0.001000">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO
"""


def test_lofreq_vcfs_without_contig_lines(tmp_path, capsys):
    a = write(tmp_path / "a.vcf", "chr6\t50\t.\tG\tT\t90\tPASS\tDP=900;AF=0.02;SB=0;DP4=400,400,9,9\n"
                                   "chr2\t100\t.\tA\tG\t500\tPASS\tDP=1000;AF=0.01;SB=0;DP4=490,500,5,5\n",
              header=LOFREQ_HEADER)
    b = write(tmp_path / "b.vcf", "chr2\t100\t.\tA\tG\t450\tPASS\tDP=990;AF=0.011;SB=0;DP4=490,490,5,6\n"
                                   "chr3\t7\t.\tC\tA\t60\tsb_fdr\tDP=500;AF=0.01;SB=40;DP4=1,2,3,4\n",
              header=LOFREQ_HEADER)
    out = str(tmp_path / "c.vcf")
    assert write_concordance(out, a, b) == {"strong": 1, "weak": 1, "none": 1}
    text = open(out).read()
    # contigs in order of first appearance, without a length
    assert [x for x in text.splitlines() if x.startswith("##contig")] == \
        ["##contig=<ID=chr6>", "##contig=<ID=chr2>", "##contig=<ID=chr3>"]
    with pysam.VariantFile(out) as vf:
        assert list(vf.header.contigs) == ["chr6", "chr2", "chr3"]
        assert [(r.chrom, r.pos) for r in vf] == [("chr6", 50), ("chr2", 100), ("chr3", 7)]
    assert "[W::" not in capsys.readouterr().err                # htslib's warnings are not passed on


def test_info_declared_differently_or_not_at_all(tmp_path, caplog):
    a = write(tmp_path / "a.vcf", "chr2\t100\t.\tA\tG\t500\tPASS\tDP=1000;AF=0.01;XQ=3;XF\n")
    b = write(tmp_path / "b.vcf", "chr2\t100\t.\tA\tG\t450\tPASS\tDP=990;AF=0.011\n", header=LOFREQ_HEADER)
    out = str(tmp_path / "c.vcf")
    with caplog.at_level(logging.WARNING, logger="deepamp"):      # the library warns through logging
        write_concordance(out, a, b)
    err = caplog.text
    assert err.count("declared differently") == 1 and "INFO AF " in err
    text = open(out).read()
    assert '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele Frequency">' in text   # the primary's
    assert '##INFO=<ID=XQ,Number=.,Type=String' in text and '##INFO=<ID=XF,Number=0,Type=Flag' in text
    with pysam.VariantFile(out) as vf:
        rec = next(iter(vf))
        assert rec.info["XQ"] == ("3",) and "XF" in rec.info
        assert "XQ" in vf.header.info
    if shutil.which("bcftools"):
        run = subprocess.run(["bcftools", "view", "-H", out], capture_output=True, text=True)
        assert run.returncode == 0 and "not defined in the header" not in run.stderr


CAG = "GATTACAGGTTCTA" + "ACAGCAGCAG" + "TTGACCTAGGCATTACG"       # (CAG)3 after the A at 0-based 14


def test_indels_left_aligned_against_the_reference(tmp_path, caplog):
    fa = tmp_path / "ref.fa"
    fa.write_text(">chr2\n" + CAG + "\n")
    # the same CAG deletion: at the A before the repeat (bwa) and three bases later (bowtie2)
    a = write(tmp_path / "a.vcf", "chr2\t15\t.\tACAG\tA\t99\tPASS\tDP=1000;AF=0.01\n", header=LOFREQ_HEADER)
    b = write(tmp_path / "b.vcf", "chr2\t18\t.\tGCAG\tG\t95\tPASS\tDP=990;AF=0.011\n", header=LOFREQ_HEADER)
    header, lines = concordance(a, b, reference=str(fa))
    assert len(lines) == 1
    cols = str(lines[0]).split("\t")
    assert cols[1:5] == ["15", ".", "ACAG", "A"] and "EVIDENCE=strong" in cols[7]
    assert "DP_bowtie2=990" in cols[7]
    # the VCFs' ##reference (relative to the VCF) is used when -f is not given
    (tmp_path / "ref.fa").rename(tmp_path / "x.fa")
    (tmp_path / "ref.fa").write_text(">chr2\n" + CAG + "\n")
    with caplog.at_level(logging.WARNING, logger="deepamp"):
        assert len(concordance(a, b)[1]) == 1 and "not left-aligned" not in caplog.text
        # no reference at all: matched as written, one warning
        os.unlink(tmp_path / "ref.fa")
        assert len(concordance(a, b)[1]) == 2
    assert caplog.text.count("indels are matched as written") == 1
    # through the CLI, and a reference that does not carry the REF is refused
    out = str(tmp_path / "c.vcf")
    assert main(["concordance", "--quiet", "-f", str(tmp_path / "x.fa"), "-o", out, a, b]) == 0
    assert len(records(out)) == 1
    wrong = tmp_path / "wrong.fa"
    wrong.write_text(">chr2\n" + "T" * len(CAG) + "\n")
    with pytest.raises(ReferenceFileError, match="wrong.fa: does not carry REF ACAG at chr2:15"):
        concordance(a, b, reference=str(wrong))


@pytest.mark.parametrize("pos,ref,alt,anchor,expected", [
    (10, "A", "T", True, (10, "A", "T")),
    (10, "ATG", "AG", True, (10, "AT", "A")),
    (10, "CAT", "CGT", True, (11, "A", "G")),
    (10, "A", "<DEL>", True, (10, "A", "<DEL>")),
    (10, "ATG", "AG", False, (11, "T", "")),
    (10, "CAT", "CGT", False, (11, "A", "G")),
    (10, "A", "AGG", False, (11, "", "GG")),
])
def test_trim_alleles(pos, ref, alt, anchor, expected):
    assert trim_alleles(pos, ref, alt, anchor=anchor) == expected


def test_missing_file_one_line_error(tmp_path, pair, capsys):
    with pytest.raises(InputFileError, match="nope.vcf: VCF not found"):
        concordance(pair[0], str(tmp_path / "nope.vcf"))
    assert main(["concordance", "-o", str(tmp_path / "o.vcf"), pair[0], str(tmp_path / "nope.vcf")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "nope.vcf: VCF not found" in err
    assert not os.path.exists(tmp_path / "o.vcf")


def test_not_a_vcf_and_malformed_record(tmp_path, pair, capsys):
    junk = tmp_path / "junk.vcf"
    junk.write_text("hello\nworld\n")
    with pytest.raises(FormatError, match="junk.vcf"):
        concordance(str(junk), pair[1])
    bad = write(tmp_path / "bad.vcf", "chr2\tnotanumber\t.\tC\tT\t3\tPASS\tDP=1\n")
    with pytest.raises(FormatError, match="bad.vcf"):
        concordance(pair[0], bad)
    assert main(["concordance", "-o", str(tmp_path / "o.vcf"), pair[0], bad]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "bad.vcf" in err
    assert not os.path.exists(tmp_path / "o.vcf")


def test_duplicate_allele_and_bad_labels_and_contig_mismatch(tmp_path, pair):
    dup = write(tmp_path / "dup.vcf", "chr2\t5\t.\tC\tT\t3\tPASS\tDP=1\nchr2\t5\t.\tC\tT\t4\tPASS\tDP=1\n")
    with pytest.raises(FormatError, match="dup.vcf: line 11 \\(chr2:5\\): allele chr2:5 C>T appears twice"):
        concordance(pair[0], dup)
    with pytest.raises(FormatError, match="--labels"):
        concordance(*pair, labels=("bwa", "bwa"))
    with pytest.raises(FormatError, match="--labels"):
        concordance(*pair, labels=("bwa", "bow-tie"))
    other = write(tmp_path / "other.vcf", "", header=HEADER.replace("length=242193529", "length=1000"))
    with pytest.raises(FormatError, match="contig chr2 has length 1000"):
        concordance(pair[0], other)
