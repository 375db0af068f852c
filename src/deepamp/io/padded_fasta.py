"""A full-length contig FASTA made of a slice and N, for tools that look contigs up by name.

``bcftools norm -f``, IGV or GATK look up a VCF's contig (``chr2``) by name in
the FASTA they are given; the shipped slice is named ``chr2:29191796-29223795``,
so they do not find it.  :func:`write_padded_fasta` writes one record per
contig, as long as the contig, with the slice's bases at their place and N
everywhere else, bgzipped with its ``.fai`` and ``.gzi`` so that any
faidx-based tool reads it without unpacking it.  Runs of N compress to almost
nothing, so a 242-Mb chr2 costs under 1 MB.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping

import pysam

from deepamp.errors import OutputError, ReferenceFileError
from deepamp.io.contigs import GRCH38_LENGTHS
from deepamp.io.outputs import staged, work_directory
from deepamp.io.reference import Reference

__all__ = ["write_padded_fasta"]

_WIDTH = 60
_CHUNK_LINES = 100_000


def _lines(ref: Reference, contig: str, length: int) -> Iterator[bytes]:
    """The bases of ``contig`` (N outside the slices) as 60-column lines, in blocks."""
    pieces = ref.pieces(contig)
    step = _WIDTH * _CHUNK_LINES
    n_block = (b"N" * _WIDTH + b"\n") * _CHUNK_LINES
    for start in range(0, length, step):
        end = min(length, start + step)
        inside = [p for p in pieces if p.offset < end and p.end > start]
        if not inside and end - start == step:
            yield n_block
            continue
        seq = bytearray(b"N" * (end - start))
        for p in inside:
            lo, hi = max(start, p.offset), min(end, p.end)
            seq[lo - start:hi - start] = ref.fetch(contig, lo, hi).encode()
        yield b"".join(bytes(seq[i:i + _WIDTH]) + b"\n" for i in range(0, len(seq), _WIDTH))


def write_padded_fasta(slice_fasta: str | os.PathLike[str], out_fa_gz: str | os.PathLike[str],
                       lengths: Mapping[str, int] | None = None) -> str:
    """Write ``out_fa_gz`` (+ ``.fai``, ``.gzi``): each contig of ``slice_fasta`` full length, N-padded.

    Parameters
    ----------
    slice_fasta : path
        FASTA of slice records (``chr2:29191796-29223795``) or whole contigs.
    out_fa_gz : path
        Output, bgzip-compressed, 60 bases a line.
    lengths : mapping, optional
        Contig lengths; default: their GRCh38 lengths (:data:`deepamp.io.contigs.GRCH38_LENGTHS`).

    Returns
    -------
    str
        SHA-256 of the uncompressed FASTA text (independent of the compressor's version).

    Raises
    ------
    ReferenceFileError
        A contig's length is unknown or shorter than its slices reach.
    OutputError
        The outputs cannot be written.
    """
    out = os.fspath(out_fa_gz)
    known = {**GRCH38_LENGTHS, **(lengths or {})}
    digest = hashlib.sha256()
    with Reference(slice_fasta) as ref, \
            staged(out, out + ".fai", out + ".gzi", suffixes=[".fa.gz", ".fai", ".gzi"]) as (gz, fai, gzi), \
            work_directory(out) as work:
        plain = os.path.join(work, "padded.fa")
        with open(plain, "wb") as fh:
            for contig in ref.names:
                length = known.get(contig)
                if length is None or length < ref.span(contig)[1]:
                    raise ReferenceFileError(f"{ref.path}: the length of {contig} is "
                                             f"{'unknown' if length is None else f'{length}, shorter than its slices'}; "
                                             f"give lengths={{{contig!r}: LENGTH}}")
                header = f">{contig}\n".encode()
                fh.write(header)
                digest.update(header)
                for block in _lines(ref, contig, length):
                    fh.write(block)
                    digest.update(block)
        try:
            pysam.tabix_compress(plain, gz, force=True)
            pysam.faidx(gz, "--fai-idx", fai, "--gzi-idx", gzi)
        except (OSError, pysam.SamtoolsError) as exc:
            raise OutputError(f"{out}: cannot bgzip or index the padded FASTA ({exc})") from None
    return digest.hexdigest()
