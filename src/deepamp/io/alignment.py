"""Checks on an alignment file before the kernel reads it: existence, format,
index presence and freshness, sort order, and agreement with the reference.
Each failure is one specific exception whose message names the file."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pysam

from deepamp import _core
from deepamp.errors import (IndexFileError, InputFileError, ReferenceFileError, TruncatedFileError,
                     UnsortedError)
from deepamp.io.reference import Reference


@dataclass(frozen=True)
class AlignmentInfo:
    """What deepamp needs from an alignment file's header."""

    path: str
    format: str                      # "BAM" or "CRAM"
    contigs: tuple[str, ...]
    lengths: tuple[int, ...]
    sample: str                      # first @RG SM, else the file stem
    index_path: str

    @property
    def contig_lengths(self) -> dict[str, int]:
        """Contig name -> length, in header order."""
        return dict(zip(self.contigs, self.lengths))


def _find_index(path: str, fmt: str) -> str | None:
    stem = path[: -len(os.path.splitext(path)[1])]
    if fmt == "CRAM":
        candidates = [path + ".crai", stem + ".crai"]
    else:
        candidates = [path + ".bai", stem + ".bai", path + ".csi", stem + ".csi"]
    return next((c for c in candidates if os.path.isfile(c)), None)


# The 28-byte empty BGZF block that ends every complete BAM (SAM spec, section 4.1.2).
_BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


def _is_bam(path: str) -> bool:
    """Does the (BGZF-compressed) file start with the BAM magic?"""
    import gzip
    import zlib

    try:
        with gzip.open(path, "rb") as fh:
            return fh.read(4) == b"BAM\x01"
    except (OSError, EOFError, zlib.error):
        return False


def _has_bgzf_eof(path: str) -> bool:
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell() < len(_BGZF_EOF):
            return False
        fh.seek(-len(_BGZF_EOF), os.SEEK_END)
        return fh.read() == _BGZF_EOF


def _check_bai(index: str, alignment: str) -> None:
    """Walk a .bai's structure (SAM spec section 5.2) with bounds checks.

    htslib trusts the counts in an index and a corrupt one can crash the
    process while loading it, so a BAI is validated before htslib sees it.
    """
    import struct

    try:
        with open(index, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise IndexFileError(f"{alignment}: cannot read its index {index} ({exc.strerror})") from None
    bad = IndexFileError(f"{alignment}: index {index} is corrupt (re-index it)")
    if data[:4] != b"BAI\x01":
        raise bad
    at, size = 4, len(data)

    def take(fmt: str) -> tuple:
        nonlocal at
        n = struct.calcsize(fmt)
        if at + n > size:
            raise bad
        values = struct.unpack_from(fmt, data, at)
        at += n
        return values

    (n_ref,) = take("<i")
    if n_ref < 0:
        raise bad
    for _ in range(n_ref):
        (n_bin,) = take("<i")
        if n_bin < 0:
            raise bad
        for _ in range(n_bin):
            _bin, n_chunk = take("<Ii")
            if n_chunk < 0 or at + 16 * n_chunk > size:
                raise bad
            at += 16 * n_chunk
        (n_intv,) = take("<i")
        if n_intv < 0 or at + 8 * n_intv > size:
            raise bad
        at += 8 * n_intv
    if size - at not in (0, 8):  # optional count of unplaced reads
        raise bad


def inspect_alignment(path: str | os.PathLike[str], reference: str | None = None) -> AlignmentInfo:
    """Validate an indexed, coordinate-sorted BAM/CRAM and read its header.

    Raises
    ------
    InputFileError
        Missing file, unreadable file or not BAM/CRAM.
    ReferenceFileError
        CRAM without a reference.
    IndexFileError
        No index, or an index older than the alignment file.
    UnsortedError
        The header declares queryname order (records found out of coordinate
        order later, while counting, raise it too).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputFileError(f"{path}: alignment file not found")
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        raise InputFileError(f"{path}: not a readable file")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({exc.strerror})") from None
    if magic == b"CRAM":
        fmt = "CRAM"
    elif magic[:2] == b"\x1f\x8b":
        fmt = "BAM"
    else:
        raise InputFileError(f"{path}: not a BAM or CRAM file")
    if fmt == "BAM" and not _is_bam(path):
        raise InputFileError(f"{path}: not a BAM or CRAM file")
    if fmt == "BAM" and not _has_bgzf_eof(path):
        raise TruncatedFileError(f"{path}: truncated file (no BGZF end-of-file marker)")
    if fmt == "CRAM" and not reference:
        raise ReferenceFileError(f"{path}: CRAM input needs the reference FASTA (-f)")
    index = _find_index(path, fmt)
    if index is None:
        raise IndexFileError(f"{path}: no index found (run samtools index {path})")
    if os.path.getmtime(index) < os.path.getmtime(path):
        raise IndexFileError(f"{path}: index {index} is older than the alignment file (re-index it)")
    if index.endswith(".bai"):
        _check_bai(index, path)
    try:
        # silenced as the core is, so that concurrent calls restore the level
        with _core.HtslibSilenced(), pysam.AlignmentFile(
                path, "rc" if fmt == "CRAM" else "rb", reference_filename=reference, check_sq=False) as af:
            header = af.header.to_dict()
            contigs, lengths = tuple(af.references), tuple(af.lengths)
    except (OSError, ValueError, AssertionError) as exc:  # pysam asserts on bad header lines
        raise InputFileError(f"{path}: not a readable {fmt} file ({exc})") from None
    # SO:unsorted / unknown say nothing about the order (samtools sorts and
    # indexes such files); the walk checks every record's order itself.
    so = header.get("HD", {}).get("SO")
    if so == "queryname":
        raise UnsortedError(f"{path}: header says sorted by read name (SO:queryname), "
                            "not by coordinate (run samtools sort)")
    rgs = header.get("RG", [])
    sample = next((rg["SM"] for rg in rgs if rg.get("SM")), None)
    if sample is None:
        sample = os.path.basename(path).split(".")[0]
    return AlignmentInfo(path, fmt, contigs, lengths, sample, index)


def check_reference(info: AlignmentInfo, ref: Reference, contigs: set[str]) -> None:
    """Check that the reference covers ``contigs`` consistently with the BAM header.

    Raises
    ------
    ReferenceFileError
        A contig missing from the reference, a ``.fai`` that does not fit the
        FASTA, a length that disagrees with the BAM header (a different
        build), or a slice extending past the contig.
    """
    lengths = info.contig_lengths
    for name in sorted(contigs):
        bam_len = lengths[name]
        for rc in ref.pieces(name):
            if rc.offset == 0 and rc.fasta_name == name and rc.length != bam_len:
                raise ReferenceFileError(
                    f"{ref.path}: contig {name} has length {rc.length} but {bam_len} in "
                    f"{info.path} (different reference build?)")
            if rc.end > bam_len:
                raise ReferenceFileError(
                    f"{ref.path}: {rc.fasta_name} extends past the end of {name} "
                    f"({bam_len} bp in {info.path})")
