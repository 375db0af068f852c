"""``deepamp annotate`` PREFIX.tsv: the ``filter``, ``dp`` and ``af`` columns come from each VCF record."""

from __future__ import annotations

from deepamp.annotate.vcf_annotation import TSV_COLUMNS
from deepamp.cli import main

VCF = """##fileformat=VCFv4.2
##contig=<ID=chr2>
##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency">
##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">
##FILTER=<ID=min_af,Description="AF below threshold">
##FILTER=<ID=sb_fdr,Description="Strand bias">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO
chr2\t29220747\t.\tC\tT\t100\tPASS\tAF=0.031;DP=20000
chr2\t29220765\t.\tG\tT,C\t100\tmin_af;sb_fdr\tAF=0.002,0.001;DP=18000
chr2\t29220700\t.\tA\tG\t50\t.\tAF=0.012
chr2\t29220701\t.\tA\tG\t50\tPASS\tDP=7
"""


def test_new_columns_follow_vaf_and_keep_the_order_of_the_others():
    assert TSV_COLUMNS[:8] == ["contig", "pos", "ref", "alt", "vaf", "filter", "dp", "af"]
    assert TSV_COLUMNS[8:] == ["gene", "transcript", "exon", "intron", "hgvsc", "hgvsp", "hgvsp1", "consequence",
                               "combined_hgvsp1", "phase", "kb_records", "kb_sources", "bypass", "warnings", "notes"]


def test_filter_dp_and_af_per_allele(tmp_path):
    vcf = tmp_path / "in.vcf"
    vcf.write_text(VCF)
    assert main(["annotate", "--quiet", "-o", str(tmp_path / "a"), str(vcf)]) == 0
    lines = (tmp_path / "a.tsv").read_text().splitlines()
    header = lines[1].split("\t")
    assert header == TSV_COLUMNS
    rows = [dict(zip(header, line.split("\t"))) for line in lines[2:]]
    got = [(r["pos"], r["alt"], r["filter"], r["dp"], r["af"], r["vaf"]) for r in rows]
    assert got == [("29220747", "T", "PASS", "20000", "0.031", "0.031"),
                   ("29220765", "T", "min_af;sb_fdr", "18000", "0.002", "0.002"),
                   ("29220765", "C", "min_af;sb_fdr", "18000", "0.001", "0.001"),
                   ("29220700", "G", ".", "", "0.012", "0.012"),
                   ("29220701", "G", "PASS", "7", "", "")]
    assert rows[0]["gene"] == "ALK" and rows[0]["hgvsp1"] == "p.G1202R"
