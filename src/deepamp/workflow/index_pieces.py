"""The sequence pieces an aligner index is built from, and where they sit on their contigs.

``deepamp align`` does not index a reference FASTA as it is: it indexes its
*pieces*, and lifts what the aligner reports back to contig coordinates
(:mod:`deepamp.workflow.lift`).

* A record named like ``chr2:29191796-29223795`` (a samtools-style slice, see
  :func:`deepamp.io.reference.slice_of`) is a window of its parent contig
  ``chr2``; its bases start at offset 29,191,795.
* Runs of at least :data:`MIN_N_RUN` N inside any record, and the N at either
  end of a record, are left out of the index.  bwa turns every N into a random
  base, so a whole chromosome padded with N around a panel would make a huge
  index and give spurious hits in the padding.  Shorter runs of N stay in
  their piece.
* A piece is written to the index FASTA under its record's name when it is the
  whole record, else as ``contig:start-end`` (1-based, inclusive, in contig
  coordinates).

The pieces of a FASTA and their offsets are a function of its bytes and of the
rule above, so the index cache is keyed by both (:data:`PIECE_RULE`), and the
manifest written next to a cached index (``ref.fa.pieces.tsv``) says where each
piece sits and how long each contig is when the FASTA holds all of it.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from deepamp.errors import ReferenceFileError
from deepamp.io.reference import slice_of

__all__ = ["MIN_N_RUN", "PIECE_RULE", "Piece", "PieceTable", "write_index_fasta", "read_manifest",
           "write_manifest", "pieces_from_header"]

#: Runs of at least this many N are left out of the index.
MIN_N_RUN = 1000
#: Part of the index cache key: what a cached index was built from besides the FASTA's bytes.
PIECE_RULE = f"deepamp index pieces v1: records cut at N runs >= {MIN_N_RUN}, slices placed on their contig"
_RUNS = re.compile(rb"[Nn]+|[^Nn]+")
_HEADER = re.compile(rb"^>([^\n]*)\n?", re.M)
_WIDTH = 60


@dataclass(frozen=True)
class Piece:
    """One record of the aligner index: ``length`` bases of ``contig`` from 0-based ``offset``."""

    name: str
    contig: str
    offset: int
    length: int

    @property
    def end(self) -> int:
        """0-based exclusive contig coordinate past the piece's last base."""
        return self.offset + self.length


@dataclass
class PieceTable:
    """The pieces of an index, and the contig lengths its FASTA states (whole records only)."""

    pieces: list[Piece] = field(default_factory=list)
    whole_lengths: dict[str, int] = field(default_factory=dict)

    def by_name(self) -> dict[str, Piece]:
        """Pieces by index record name."""
        return {p.name: p for p in self.pieces}

    def contigs(self) -> list[str]:
        """Contig names in the order of their first piece."""
        return list(dict.fromkeys(p.contig for p in self.pieces))


def _open_binary(path: str):
    try:
        with open(path, "rb") as fh:
            gz = fh.read(2) == b"\x1f\x8b"
        return gzip.open(path, "rb") if gz else open(path, "rb")
    except OSError as exc:
        raise ReferenceFileError(f"{path}: cannot read the reference FASTA ({exc.strerror})") from None


def _scan(path: str, block: int = 1 << 22) -> Iterator[tuple[str | None, bytes]]:
    """``(name, b"")`` at each record header and ``(None, bases)`` for its sequence, newlines removed.

    Reads big blocks rather than lines, so a chromosome of N is scanned at the speed of decompression.
    """
    with _open_binary(path) as fh:
        try:
            carry = fh.read(block)
            if not carry.lstrip().startswith(b">"):
                raise ReferenceFileError(f"{path}: not a FASTA file (does not start with '>')")
            more = carry
            while more:
                more = fh.read(block)
                data = carry + more
                cut = len(data) if not more else data.rfind(b"\n") + 1
                part, carry = data[:cut], data[cut:]    # whole lines (a line longer than a block waits)
                pos = 0
                for m in _HEADER.finditer(part):
                    if m.start() > pos:
                        yield None, part[pos:m.start()].translate(None, b"\r\n\t ")
                    fields = m.group(1).split(None, 1)
                    if not fields:
                        raise ReferenceFileError(f"{path}: a record has no name ('>' alone on a line)")
                    yield fields[0].decode("ascii", "replace"), b""
                    pos = m.end()
                if pos < len(part):
                    yield None, part[pos:].translate(None, b"\r\n\t ")
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise ReferenceFileError(f"{path}: corrupt or truncated gzip stream ({exc})") from None


class _Cutter:
    """Cuts the bases of one record into pieces at runs of N."""

    def __init__(self, min_n_run: int):
        self.min_n_run = min_n_run
        self.pieces: list[tuple[int, bytes]] = []     # (record coordinate, bases)
        self._cur = bytearray()
        self._start = -1        # record coordinate of the current piece; -1 before the first base
        self.length = 0
        self._n_run = 0

    def _bases(self, seg: bytes) -> None:
        if self._start < 0:
            self._start = self.length
        elif self._n_run >= self.min_n_run:
            self.pieces.append((self._start, bytes(self._cur)))
            self._cur.clear()
            self._start = self.length
        elif self._n_run:
            self._cur.extend(b"N" * self._n_run)
        self._n_run = 0
        self._cur.extend(seg)

    def feed(self, seq: bytes) -> None:
        for m in _RUNS.finditer(seq):
            seg = m.group()
            if seg[0] in b"Nn":
                self._n_run += len(seg)
            else:
                self._bases(seg)
            self.length += len(seg)

    def finish(self) -> list[tuple[int, bytes]]:
        if self._start >= 0:
            self.pieces.append((self._start, bytes(self._cur)))
        return self.pieces


def write_index_fasta(reference: str, out_fa: str, min_n_run: int = MIN_N_RUN) -> PieceTable:
    """Write the pieces of ``reference`` to ``out_fa`` (the FASTA the aligner indexes).

    Parameters
    ----------
    reference : path
        FASTA, plain, gzip or bgzip.
    out_fa : path
        Where the pieces are written, 60 bases a line.
    min_n_run : int
        Runs of at least this many N are left out.

    Returns
    -------
    PieceTable
        The pieces in file order and the lengths of the contigs held whole.

    Raises
    ------
    ReferenceFileError
        Not a FASTA, two records with one name, overlapping slices of one contig,
        or nothing but N.
    """
    table = PieceTable()
    spans: dict[str, list[tuple[int, int, str]]] = {}

    def finish(name: str, cutter: _Cutter, out) -> None:
        contig, offset = slice_of(name, cutter.length)
        if offset == 0 and contig == name:
            if contig in table.whole_lengths:
                raise ReferenceFileError(f"{reference}: two records named {name}")
            table.whole_lengths[contig] = cutter.length
        spans.setdefault(contig, []).append((offset, offset + cutter.length, name))
        for start, seq in cutter.finish():
            whole = start == 0 and len(seq) == cutter.length
            piece_name = name if whole else f"{contig}:{offset + start + 1}-{offset + start + len(seq)}"
            table.pieces.append(Piece(piece_name, contig, offset + start, len(seq)))
            out.write(b">%s\n" % piece_name.encode())
            out.writelines(seq[i:i + _WIDTH] + b"\n" for i in range(0, len(seq), _WIDTH))

    with open(out_fa, "wb") as out:
        name, cutter = None, _Cutter(min_n_run)
        for header, seq in _scan(reference):
            if header is None:
                cutter.feed(seq)
                continue
            if name is not None:
                finish(name, cutter, out)
            name, cutter = header, _Cutter(min_n_run)
        if name is not None:
            finish(name, cutter, out)
    for contig, recs in spans.items():
        recs.sort()
        for (_, a_end, a), (b_start, _, b) in zip(recs, recs[1:]):
            if b_start < a_end:
                raise ReferenceFileError(f"{reference}: records {a} and {b} overlap" if a != b
                                         else f"{reference}: two records named {a}")
    if not table.pieces:
        raise ReferenceFileError(f"{reference}: no bases to align to (the FASTA holds only N)")
    return table


def write_manifest(path: str, table: PieceTable) -> None:
    """Write ``table`` as TSV: ``piece NAME CONTIG OFFSET LENGTH`` and ``contig NAME LENGTH`` lines."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(f"# {PIECE_RULE}\n")
        for p in table.pieces:
            fh.write(f"piece\t{p.name}\t{p.contig}\t{p.offset}\t{p.length}\n")
        for contig, length in table.whole_lengths.items():
            fh.write(f"contig\t{contig}\t{length}\n")


def read_manifest(path: str) -> PieceTable:
    """The table :func:`write_manifest` wrote (ReferenceFileError if it is damaged)."""
    table = PieceTable()
    try:
        with open(path, encoding="utf-8") as fh:
            for no, line in enumerate(fh, 1):
                if line.startswith("#") or not line.strip():
                    continue
                f = line.rstrip("\n").split("\t")
                if f[0] == "piece" and len(f) == 5:
                    table.pieces.append(Piece(f[1], f[2], int(f[3]), int(f[4])))
                elif f[0] == "contig" and len(f) == 3:
                    table.whole_lengths[f[1]] = int(f[2])
                else:
                    raise ValueError(f"line {no}")
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ReferenceFileError(f"{path}: damaged index manifest ({exc}); delete its directory to "
                                 "have the index rebuilt") from None
    return table


def pieces_from_header(sequences: Iterable[tuple[str, int]]) -> PieceTable:
    """The pieces of an index deepamp did not build, from the aligner's ``@SQ`` (name, length) pairs.

    Its records are taken as they are: slice records are placed on their contig,
    any other record is a whole contig.
    """
    table = PieceTable()
    for name, length in sequences:
        contig, offset = slice_of(name, length)
        table.pieces.append(Piece(name, contig, offset, length))
        if offset == 0 and contig == name:
            table.whole_lengths[contig] = length
    return table
