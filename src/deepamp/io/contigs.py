"""Lengths of the GRCh38 contigs deepamp's panels use.

A FASTA that holds only a slice of a contig (``chr2:29191796-29223795``) does
not say how long the contig is, but a BAM header must (``@SQ LN``).  For the
contigs of the shipped panels (ALK on chr2, ROS1 on chr6, and the bypass genes
NRAS chr1, PIK3CA chr3, EGFR/BRAF/MET chr7, KRAS chr12, MAP2K1/IDH2 chr15) the
GRCh38 length is known here (Genome Reference Consortium, GRCh38.p14 assembly
report, primary assembly); any other contig's length has to be given
(``--contig-length NAME=LENGTH``).
"""

from __future__ import annotations

__all__ = ["GRCH38_LENGTHS"]

#: GRCh38 primary-assembly lengths (UCSC names) of the contigs of the shipped panels.
GRCH38_LENGTHS: dict[str, int] = {
    "chr1": 248956422,
    "chr2": 242193529,
    "chr3": 198295559,
    "chr6": 170805979,
    "chr7": 159345973,
    "chr12": 133275309,
    "chr15": 101991189,
}
