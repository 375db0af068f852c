"""Reference FASTA access, with samtools-style *slice* records and a checked ``.fai``.

A FASTA record named ``chr2:29191796-29223795`` (what ``samtools faidx ref.fa
chr2:29191796-29223795`` writes) is understood as the 1-based inclusive window
29,191,796-29,223,795 of contig ``chr2``.  BAMs, BEDs and VCFs keep using the
parent contig name and real coordinates; only the reference lookup is offset.
A FASTA may hold several non-overlapping slices of one contig (``samtools faidx
ref.fa chr1:100-200 chr1:5000-6000``) and slices of several contigs, so a panel
can ship small pieces of GRCh38 instead of the whole genome.

The ``.fai`` index is checked before it is trusted: an index older than the
FASTA is rebuilt (with a warning; an error when it cannot be written), and the
offsets and line lengths of every record of a plain FASTA are checked against
the file (a header line before each record's first base, line ends where the
index says), so an index of another version of the file never makes newlines
or header text be read as bases.  Fetched sequence is checked to be letters.
"""

from __future__ import annotations

import bisect
import logging
import os
import re
from dataclasses import dataclass

import pysam

from deepamp.errors import ReferenceFileError

__all__ = ["RefContig", "Reference", "read_records", "slice_of", "write_records"]

_SLICE_RE = re.compile(r"^(?P<name>.+):(?P<start>[0-9]+)-(?P<end>[0-9]+)$")
_BASES = re.compile(rb"^[A-Za-z*-]*$")
log = logging.getLogger("deepamp.reference")


def slice_of(fasta_name: str, length: int) -> tuple[str, int]:
    """Parent contig and 0-based offset of a FASTA record of ``length`` bases.

    A record named ``chr2:29191796-29223795`` whose length is end - start + 1
    is that window of ``chr2`` (offset 29191795); any other record is a whole
    contig (offset 0).
    """
    m = _SLICE_RE.match(fasta_name)
    if m and int(m["end"]) - int(m["start"]) + 1 == length:
        return m["name"], int(m["start"]) - 1
    return fasta_name, 0


def read_records(path: str | os.PathLike[str]) -> dict[str, str]:
    """Every record of a small plain FASTA, name (the header's first word) -> sequence, in file order
    (for building panels from shipped pieces; large references go through :class:`Reference`)."""
    records: dict[str, str] = {}
    name, seq = None, []
    with open(path, encoding="ascii") as fh:
        for line in fh:
            if line.startswith(">"):
                if name:
                    records[name] = "".join(seq)
                name, seq = line[1:].split()[0], []
            else:
                seq.append(line.strip())
    if name:
        records[name] = "".join(seq)
    return records


def write_records(path: str | os.PathLike[str], records: dict[str, str]) -> None:
    """``records`` (name -> sequence) as a FASTA of 60-base lines."""
    with open(path, "w", encoding="ascii") as fh:
        for name, seq in records.items():
            fh.write(f">{name}\n" + "".join(seq[i:i + 60] + "\n" for i in range(0, len(seq), 60)))


@dataclass(frozen=True)
class RefContig:
    """One FASTA record as seen by deepamp: a whole contig or a slice of one.

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


def _check_fai(path: str) -> None:
    """Rebuild a ``.fai`` older than the FASTA; check its records against a plain FASTA.

    Raises
    ------
    ReferenceFileError
        The index is stale and cannot be rebuilt, or does not describe the file.
    """
    fai = path + ".fai"
    if not os.path.exists(fai):
        return
    if os.path.getmtime(fai) < os.path.getmtime(path):
        if not os.access(os.path.dirname(os.path.abspath(fai)), os.W_OK):
            raise ReferenceFileError(f"{path}: the index {fai} is older than the FASTA and cannot be rebuilt "
                                     "here; run samtools faidx on it")
        log.warning(f"{fai} is older than {path}: rebuilding it")
        os.unlink(fai)
        return
    with open(path, "rb") as fh:
        magic = fh.read(2)
        if magic == b"\x1f\x8b":                  # bgzipped: offsets are in the uncompressed text
            return
        size = os.fstat(fh.fileno()).st_size
        try:
            with open(fai, encoding="ascii") as idx:
                rows = [ln.rstrip("\n").split("\t") for ln in idx if ln.strip()]
        except (OSError, UnicodeDecodeError) as exc:
            raise ReferenceFileError(f"{fai}: cannot read the FASTA index ({exc})") from None
        for no, row in enumerate(rows, 1):
            try:
                name, length, offset, bases, width = row[0], *(int(x) for x in row[1:5])
            except (ValueError, IndexError):
                raise ReferenceFileError(f"{fai}: line {no} is not a FASTA index line; delete the index "
                                         f"to have it rebuilt") from None
            bad = f"{fai}: the index does not match {path} at {name} (edited after indexing?); delete the " \
                  "index to have it rebuilt"
            if not (0 < offset <= size and length >= 0 and 0 < bases <= width <= bases + 2):
                raise ReferenceFileError(bad)
            fh.seek(max(0, offset - 1 - 4096))
            before = fh.read(offset - max(0, offset - 1 - 4096))
            head = before[:-1].rsplit(b"\n", 1)[-1]
            if not before.endswith(b"\n") or not head.startswith(b">") or \
                    head[1:].split()[0:1] != [name.encode()]:
                raise ReferenceFileError(bad)
            full, rest = divmod(length, bases)
            end = offset + full * width + rest
            if end > size:
                raise ReferenceFileError(bad)
            if length > bases:                    # the first line ends where the index says
                fh.seek(offset + bases)
                if fh.read(width - bases) not in (b"\n", b"\r\n"):
                    raise ReferenceFileError(bad)
            if length:                            # the record's last base is where the index says,
                last = offset + (full * width + rest - 1 if rest else (full - 1) * width + bases - 1)
                fh.seek(last)                     # and the next record (or the end) follows it
                tail = fh.read(64)
                rest_of = tail[1:].lstrip(b"\r\n")
                if tail[:1] in (b"", b"\n", b"\r", b">") or (rest_of and rest_of[:1] != b">"):
                    raise ReferenceFileError(bad)


class Reference:
    """An indexed FASTA (``.fai`` built on demand and checked) with slice records.

    Raises
    ------
    ReferenceFileError
        If the file is missing, unreadable or not a FASTA, its index does not
        match it, two records have the same name, or two slices of one contig overlap.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise ReferenceFileError(f"{self.path}: reference FASTA not found")
        if not os.access(self.path, os.R_OK):
            raise ReferenceFileError(f"{self.path}: cannot read the reference FASTA (permission denied)")
        _check_fai(self.path)
        try:
            self._fa = pysam.FastaFile(self.path)
        except (OSError, ValueError) as exc:
            raise ReferenceFileError(f"{self.path}: cannot open reference FASTA ({exc})") from None
        self._pieces: dict[str, list[RefContig]] = {}
        seen: set[str] = set()
        for fasta_name, length in zip(self._fa.references, self._fa.lengths):
            if fasta_name in seen:
                raise ReferenceFileError(f"{self.path}: two records named {fasta_name}")
            seen.add(fasta_name)
            contig, offset = slice_of(fasta_name, length)
            rc = RefContig(contig, fasta_name, offset, length)
            self._pieces.setdefault(rc.name, []).append(rc)
        for name, pieces in self._pieces.items():
            pieces.sort(key=lambda p: p.offset)
            for a, b in zip(pieces, pieces[1:]):
                if b.offset < a.end:
                    raise ReferenceFileError(f"{self.path}: records {a.fasta_name} and {b.fasta_name} overlap")

    def __enter__(self) -> "Reference":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the underlying FASTA handle."""
        self._fa.close()

    @property
    def names(self) -> list[str]:
        """Parent contig names, in the order of their first record."""
        return list(self._pieces)

    def pieces(self, name: str) -> list[RefContig]:
        """The records of parent contig ``name``, by position (ReferenceFileError if none)."""
        try:
            return self._pieces[name]
        except KeyError:
            raise ReferenceFileError(f"{self.path}: contig {name!r} is not in the reference") from None

    def has(self, name: str) -> bool:
        """Whether parent contig ``name`` has a record."""
        return name in self._pieces

    def piece(self, name: str, start: int, end: int | None = None) -> RefContig | None:
        """The record covering parent coordinates [start, end) (end defaults to start + 1), or None."""
        end = start + 1 if end is None else end
        pieces = self.pieces(name)
        i = bisect.bisect_right([p.offset for p in pieces], start) - 1
        if i >= 0 and pieces[i].offset <= start and end <= pieces[i].end:
            return pieces[i]
        return None

    def covers(self, name: str, start: int, end: int | None = None) -> bool:
        """Whether one record holds the bases [start, end) of ``name`` (False for an unknown contig)."""
        return name in self._pieces and self.piece(name, start, end) is not None

    def span(self, name: str) -> tuple[int, int]:
        """(first, end) parent coordinates covered by the records of ``name``."""
        pieces = self.pieces(name)
        return pieces[0].offset, pieces[-1].end

    def describe(self, name: str) -> str:
        """What the FASTA holds of ``name``, for messages (``chr2:1-500, chr2:900-1000``)."""
        return ", ".join(f"{name}:{p.offset + 1}-{p.end}" for p in self.pieces(name))

    def fetch(self, name: str, start: int, end: int) -> str:
        """Upper-case reference bases of parent contig ``name`` over [start, end).

        Raises
        ------
        ReferenceFileError
            The window is not inside one record, or what was read is not bases
            (an index that does not match the file).
        """
        rc = self.piece(name, start, end) if start < end else self.piece(name, start)
        if rc is None or start > end:
            raise ReferenceFileError(f"{self.path}: {name}:{start + 1}-{end} is outside the reference "
                                     f"({self.describe(name)})")
        seq = self._fa.fetch(rc.fasta_name, start - rc.offset, end - rc.offset)
        if len(seq) != end - start or not _BASES.match(seq.encode()):
            raise ReferenceFileError(f"{self.path}: {name}:{start + 1}-{end} does not read as bases; the "
                                     f".fai index does not match the FASTA (delete it to have it rebuilt)")
        return seq.upper()
