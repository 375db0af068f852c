"""Reference FASTA access, including samtools-style *slice* contigs.

A FASTA record named ``chr2:29191796-29223795`` (what ``samtools faidx ref.fa
chr2:29191796-29223795`` writes) is understood as the 1-based inclusive window
29,191,796-29,223,795 of contig ``chr2``.  BAMs, BEDs and VCFs keep using the
parent contig name and real coordinates; only the reference lookup is offset.
This lets a panel ship a small slice of GRCh38 instead of the whole genome.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import pysam

from .errors import ReferenceFileError

_SLICE_RE = re.compile(r"^(?P<name>.+):(?P<start>[0-9]+)-(?P<end>[0-9]+)$")


@dataclass(frozen=True)
class RefContig:
    """One reference contig as seen by deepamp.

    ``name`` is the parent contig name (``chr2``), ``fasta_name`` the record
    name in the FASTA, ``offset`` the 0-based parent coordinate of the first
    FASTA base, ``length`` the number of bases in the FASTA record.
    """

    name: str
    fasta_name: str
    offset: int
    length: int

    @property
    def end(self) -> int:
        """0-based exclusive parent coordinate just past the last FASTA base."""
        return self.offset + self.length


class Reference:
    """An indexed FASTA (``.fai`` built on demand) with slice-contig support.

    Raises
    ------
    ReferenceFileError
        If the file is missing, unreadable or not a FASTA, or two records
        map to the same parent contig.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise ReferenceFileError(f"{self.path}: reference FASTA not found")
        try:
            self._fa = pysam.FastaFile(self.path)
        except (OSError, ValueError) as exc:
            raise ReferenceFileError(f"{self.path}: cannot open reference FASTA ({exc})") from None
        self.contigs: dict[str, RefContig] = {}
        for fasta_name, length in zip(self._fa.references, self._fa.lengths):
            m = _SLICE_RE.match(fasta_name)
            if m and int(m["end"]) - int(m["start"]) + 1 == length:
                rc = RefContig(m["name"], fasta_name, int(m["start"]) - 1, length)
            else:
                rc = RefContig(fasta_name, fasta_name, 0, length)
            if rc.name in self.contigs:
                raise ReferenceFileError(f"{self.path}: two records for contig {rc.name}")
            self.contigs[rc.name] = rc

    def __enter__(self) -> "Reference":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the underlying FASTA handle."""
        self._fa.close()

    def contig(self, name: str) -> RefContig:
        """Return the contig record for parent name ``name`` (KeyError-free)."""
        try:
            return self.contigs[name]
        except KeyError:
            raise ReferenceFileError(f"{self.path}: contig {name!r} is not in the reference") from None

    def check_fai(self, name: str) -> None:
        """Check the ``.fai`` entry of parent contig ``name`` against the FASTA.

        The entry's length and line layout say where the record's last base
        is; a newline and the next record (or the end of the file) must
        follow it there.  One seek per contig; bgzip-compressed FASTAs are
        not checked (their offsets are in the uncompressed stream).

        Raises
        ------
        ReferenceFileError
            The ``.fai`` puts the end of the record elsewhere (stale, edited
            or of another FASTA), naming the ``.fai``.
        """
        rc = self.contig(name)
        fai = self.path + ".fai"
        try:
            with open(fai, encoding="utf-8", errors="replace") as index:
                entry = next((line.split("\t") for line in index
                              if line.split("\t", 1)[0] == rc.fasta_name), None)
            with open(self.path, "rb") as fh:
                if fh.read(2) == b"\x1f\x8b":
                    return
                if entry is None or len(entry) < 5:
                    return
                length, offset, line_bases, line_width = map(int, entry[1:5])
                if length <= 0 or line_bases <= 0:
                    return
                full, rem = divmod(length, line_bases)
                last = offset + (full * line_width + rem - 1 if rem else (full - 1) * line_width + line_bases - 1)
                fh.seek(last)
                tail = fh.read(64)
        except (OSError, ValueError):
            return      # pysam opened it: an unreadable .fai shows up there
        rest = tail[1:].lstrip(b"\r\n \t")
        if not (tail[:1].isalpha() or tail[:1] in (b"*", b"-")) or (rest and rest[:1] != b">"):
            raise ReferenceFileError(
                f"{fai}: says {rc.fasta_name} has {length} bases, which does not fit {self.path} "
                f"(a stale .fai or one of another FASTA: delete it and run samtools faidx {self.path})")

    def fetch(self, name: str, start: int, end: int) -> str:
        """Upper-case reference bases of parent contig ``name`` over [start, end).

        Raises ReferenceFileError when the window is not covered by the FASTA.
        """
        rc = self.contig(name)
        if start < rc.offset or end > rc.end or start > end:
            raise ReferenceFileError(
                f"{self.path}: {name}:{start + 1}-{end} is outside the reference "
                f"({rc.fasta_name} covers {name}:{rc.offset + 1}-{rc.end})")
        return self._fa.fetch(rc.fasta_name, start - rc.offset, end - rc.offset).upper()
