"""Pieces of the GRCh38 reference shipped with the transcript models.

A transcript's ``genomic_fasta`` file holds one or more plus-strand pieces of
one chromosome, each record named samtools-style (``chr7:55018817-55019565``).
:class:`GenomePieces` answers "which base is at this position" for the
positions the pieces cover and ``None`` elsewhere, so callers can tell a
reference base from a base that is simply not shipped.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Callable

from deepamp.errors import FormatError

_ACGT = frozenset("ACGT")


@dataclass(frozen=True)
class Piece:
    """One contiguous plus-strand piece: ``seq[0]`` is at ``start`` (1-based)."""

    start: int
    seq: str

    @property
    def end(self) -> int:
        return self.start + len(self.seq) - 1


def parse_piece_name(name: str, where: str) -> tuple[str, int, int]:
    """Split a FASTA record name ``chrN:START-END`` (text after a space ignored).

    Parameters
    ----------
    name : str
        The header line without ``>``.
    where : str
        File name used in error messages.

    Returns
    -------
    (contig, start, end), 1-based inclusive.

    Raises
    ------
    FormatError
        The name is not ``contig:START-END`` with START <= END.
    """
    head = name.split()[0] if name.split() else ""
    try:
        contig, rng = head.rsplit(":", 1)
        start_text, end_text = rng.replace(",", "").split("-")
        start, end = int(start_text), int(end_text)
    except ValueError:
        raise FormatError(f"{where}: record '{head}': header must name a slice like chr2:START-END") from None
    if start < 1 or end < start:
        raise FormatError(f"{where}: record '{head}': slice end is before its start")
    return contig, start, end


class GenomePieces:
    """Plus-strand reference pieces of one contig, in GRCh38 coordinates.

    Parameters
    ----------
    contig : str
        Contig of every piece (``chr7``).
    pieces : iterable of Piece
        Non-overlapping pieces; they are sorted here.

    Raises
    ------
    FormatError
        Two pieces overlap.
    """

    def __init__(self, contig: str, pieces: list[Piece]):
        self.contig = contig
        self.pieces = sorted(pieces, key=lambda p: p.start)
        for a, b in zip(self.pieces, self.pieces[1:]):
            if b.start <= a.end:
                raise FormatError(f"reference pieces of {contig} overlap at {b.start}")
        self._starts = [p.start for p in self.pieces]

    def _piece(self, pos: int) -> Piece | None:
        i = bisect_right(self._starts, pos) - 1
        if i < 0:
            return None
        p = self.pieces[i]
        return p if pos <= p.end else None

    def base(self, pos: int) -> str | None:
        """Plus-strand base at ``pos`` (1-based), or None when no piece covers it."""
        p = self._piece(pos)
        return None if p is None else p.seq[pos - p.start]

    def fetch(self, start: int, end: int) -> str | None:
        """Plus-strand bases ``start..end`` (1-based inclusive); None unless one piece covers them all."""
        if end < start:
            return ""
        p = self._piece(start)
        if p is None or end > p.end:
            return None
        return p.seq[start - p.start:end - p.start + 1]

    def covered(self) -> int:
        """Number of bases covered by the pieces."""
        return sum(len(p.seq) for p in self.pieces)


def pieces_from_records(records: dict[str, str], contig: str, where: str,
                        normalize: Callable[[str], str]) -> GenomePieces | None:
    """The records of ``records`` (name -> sequence) that lie on ``contig``.

    Parameters
    ----------
    records : dict
        FASTA records, names ``chrN:START-END ...``.
    contig : str
        Normalised contig wanted (``chr7``).
    where : str
        File name for error messages.
    normalize : callable
        Contig-name normaliser (``7`` -> ``chr7``).

    Returns
    -------
    GenomePieces, or None when no record is on ``contig``.

    Raises
    ------
    FormatError
        A header is malformed, a sequence length disagrees with its header,
        a sequence holds a base other than A/C/G/T, or pieces overlap.
    """
    out: list[Piece] = []
    for name, seq in records.items():
        rec_contig, start, end = parse_piece_name(name, where)
        if normalize(rec_contig) != contig:
            continue
        if len(seq) != end - start + 1:
            raise FormatError(f"{where}: record '{name.split()[0]}' has {len(seq)} bases, "
                              f"its name says {end - start + 1}")
        if set(seq) - _ACGT:
            raise FormatError(f"{where}: record '{name.split()[0]}' has bases other than A/C/G/T")
        out.append(Piece(start, seq))
    if not out:
        return None
    try:
        return GenomePieces(contig, out)
    except FormatError as exc:
        raise FormatError(f"{where}: {exc}") from None
