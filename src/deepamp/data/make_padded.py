"""Rebuild ``ALK_hg38_chr2_padded.fa.gz`` (+ .fai, .gzi) from the shipped ALK slice.

Usage (from the repository root)::

    python src/deepamp/data/make_padded.py

Prints the SHA-256 of the uncompressed FASTA text, which README.md in this
directory records; the bgzip bytes may differ between zlib builds, the text
does not.
"""

from __future__ import annotations

import os

from deepamp.io.padded_fasta import write_padded_fasta

HERE = os.path.dirname(os.path.abspath(__file__))
SLICE = os.path.join(HERE, "ALK_hg38_chr2_29191796-29223795.fa")
PADDED = os.path.join(HERE, "ALK_hg38_chr2_padded.fa.gz")

if __name__ == "__main__":
    print(f"{write_padded_fasta(SLICE, PADDED)}  {os.path.basename(PADDED)} (uncompressed text)")
