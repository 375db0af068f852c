"""HGVS 3' rule: move a deletion or an insertion to its most 3' position.

"3'" is in transcript orientation: towards higher genomic positions on a
plus-strand gene and towards lower ones on a minus-strand gene.  A change is
moved only inside the part of the transcript it starts in -- one exon's 5'
UTR, CDS or 3' UTR, one intron, or the flank before or after the transcript
-- so a coding change keeps its coding name and an intronic one its intron.
Bases come from :meth:`Transcript.ref_seq`; where the shipped reference does
not cover the next base the move stops there and the result says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from deepamp.annotate.transcripts import Transcript


def region_key(tx: Transcript, pos: int) -> tuple[object, ...]:
    """The part of ``tx`` that genomic ``pos`` lies in (exon number + UTR/CDS part, intron, flank).

    Parameters
    ----------
    tx : Transcript
        Transcript model in the build of ``pos``.
    pos : int
        1-based genomic position.

    Returns
    -------
    A hashable key; two positions with equal keys lie in the same part.
    """
    loc = tx.locate(pos)
    if loc.region == "exon":
        assert loc.anchor is not None
        part = "5utr" if loc.anchor <= 0 else "3utr" if loc.anchor > tx.cds_length else "cds"
        return ("exon", loc.exon, part)
    return (loc.region, loc.intron)


@dataclass(frozen=True)
class Shifted:
    """A change after the 3' shift, in genomic coordinates of the transcript's build.

    For a deletion ``lo..hi`` are the deleted bases; for an insertion the new
    bases go between ``lo`` and ``hi`` (= lo + 1) and ``inserted`` holds them
    (plus strand).  ``stopped_at`` is the first position whose reference base
    was needed but is not shipped (None when the shift ended normally).
    """

    lo: int
    hi: int
    inserted: str
    stopped_at: int | None


def _base(tx: Transcript, pos: int) -> str | None:
    return tx.ref_seq(pos, pos)


def shift_deletion(tx: Transcript, lo: int, hi: int) -> Shifted:
    """Shift the deletion of genomic ``lo..hi`` 3' inside its part of the transcript.

    Parameters
    ----------
    tx : Transcript
        Transcript model (its strand decides the direction).
    lo, hi : int
        First and last deleted base (1-based, lo <= hi).

    Returns
    -------
    Shifted with the new ``lo``/``hi`` (unchanged when the deletion spans two parts).
    """
    key = region_key(tx, lo)
    if region_key(tx, hi) != key:
        return Shifted(lo, hi, "", None)
    plus = tx.strand == "+"
    while True:
        nxt, leaving = (hi + 1, lo) if plus else (lo - 1, hi)
        if region_key(tx, nxt) != key:
            return Shifted(lo, hi, "", None)
        b_next, b_leaving = _base(tx, nxt), _base(tx, leaving)
        if b_next is None or b_leaving is None:
            return Shifted(lo, hi, "", nxt if b_next is None else leaving)
        if b_next != b_leaving:
            return Shifted(lo, hi, "", None)
        lo, hi = (lo + 1, hi + 1) if plus else (lo - 1, hi - 1)


def shift_insertion(tx: Transcript, left: int, inserted: str) -> Shifted:
    """Shift the insertion of ``inserted`` (plus strand) after genomic ``left`` 3' inside its part.

    Parameters
    ----------
    tx : Transcript
        Transcript model.
    left : int
        The genomic base right before the insertion point (the insertion lies
        between ``left`` and ``left + 1``).
    inserted : str
        Inserted bases, plus strand.

    Returns
    -------
    Shifted whose ``lo``/``hi`` flank the insertion point and ``inserted`` is rotated accordingly.
    """
    key = region_key(tx, left)
    right = left + 1
    if region_key(tx, right) != key:
        return Shifted(left, right, inserted, None)
    plus = tx.strand == "+"
    while True:
        probe, beyond = (right, right + 1) if plus else (left, left - 1)
        if region_key(tx, beyond) != key:
            return Shifted(left, right, inserted, None)
        b = _base(tx, probe)
        if b is None:
            return Shifted(left, right, inserted, probe)
        if plus and b == inserted[0]:
            inserted, left, right = inserted[1:] + inserted[0], left + 1, right + 1
        elif not plus and b == inserted[-1]:
            inserted, left, right = inserted[-1] + inserted[:-1], left - 1, right - 1
        else:
            return Shifted(left, right, inserted, None)


def duplicated_span(tx: Transcript, ins: Shifted) -> tuple[int, int] | None:
    """Genomic span that a 3'-shifted insertion duplicates, or None when it is not a duplication.

    The copy must lie right 5' of the insertion point in transcript
    orientation: left of it on a plus-strand gene, right of it on a minus-strand gene.
    """
    k = len(ins.inserted)
    lo, hi = (ins.lo - k + 1, ins.lo) if tx.strand == "+" else (ins.hi, ins.hi + k - 1)
    return (lo, hi) if tx.ref_seq(lo, hi) == ins.inserted else None
