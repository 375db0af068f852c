"""Soft-clip the reference bases at one end of an alignment: its CIGAR, and its MD and NM tags.

Clipping ``k`` reference bases from the start of an alignment turns every query
base aligned to them (and every insertion among them) into soft clip, so the
alignment starts ``k`` bases further on.  The new first operation must be an
aligned base: a deletion left leading the alignment is dropped (the start moves
past it), an insertion left leading it becomes soft clip too.  The end is
clipped the same way on the reversed CIGAR.

CIGARs are lists of ``(operation, length)`` with the SAM codes used by pysam
(0 M, 1 I, 2 D, 3 N, 4 S, 5 H, 6 P, 7 =, 8 X).  The MD string is cut to the
reference bases that stay aligned and NM recomputed from it and the new CIGAR
(SAM specification, "Optional fields": NM is mismatches plus inserted and
deleted bases).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["clip_start", "clip_end", "trim_md"]

M, INS, DEL, SKIP, SOFT, HARD, PAD, EQ, DIFF = range(9)
_ALIGNED = (M, EQ, DIFF)
_MD = re.compile(r"([0-9]+)|\^([A-Za-z]+)|([A-Za-z])")

Cigar = list[tuple[int, int]]


def clip_start(cigar: Sequence[tuple[int, int]], ref_bases: int) -> tuple[Cigar, int, int] | None:
    """Soft-clip the query bases aligned to the first ``ref_bases`` reference bases.

    Parameters
    ----------
    cigar : sequence of (op, length)
        The alignment, in reference order.
    ref_bases : int
        Reference bases to remove from its start (> 0).

    Returns
    -------
    (cigar, removed, clipped) or None
        The new CIGAR, the reference bases removed (more than ``ref_bases``
        when a deletion at the new start was dropped) and the query bases newly
        soft-clipped; None when no aligned base would be left.
    """
    i = 0
    while i < len(cigar) and cigar[i][0] == HARD:
        i += 1
    head = list(cigar[:i])
    soft = 0
    while i < len(cigar) and cigar[i][0] == SOFT:
        soft += cigar[i][1]
        i += 1
    rest = list(cigar[i:])
    removed = clipped = j = 0
    while j < len(rest):
        op, n = rest[j]
        if op in _ALIGNED:
            if removed >= ref_bases:
                break
            take = min(n, ref_bases - removed)
            removed += take
            clipped += take
            if take < n:
                rest[j] = (op, n - take)
                break
        elif op == INS:
            clipped += n
        elif op in (DEL, SKIP):
            removed += n
        elif op in (SOFT, HARD):          # the other end: nothing aligned is left
            return None
        j += 1
    rest = rest[j:]
    if not any(op in _ALIGNED for op, _ in rest):
        return None
    return head + ([(SOFT, soft + clipped)] if soft + clipped else []) + rest, removed, clipped


def clip_end(cigar: Sequence[tuple[int, int]], ref_bases: int) -> tuple[Cigar, int, int] | None:
    """:func:`clip_start` at the end of the alignment (the start does not move)."""
    out = clip_start(list(reversed(cigar)), ref_bases)
    if out is None:
        return None
    new, removed, clipped = out
    return new[::-1], removed, clipped


def _md_events(md: str) -> list[str] | None:
    """One entry per reference base of the alignment: ``""`` match, ``"X"+base`` mismatch, ``"^"+base`` deleted."""
    events: list[str] = []
    pos = 0
    for m in _MD.finditer(md):
        if m.start() != pos:
            return None
        pos = m.end()
        if m.group(1) is not None:
            events.extend([""] * int(m.group(1)))
        elif m.group(2) is not None:
            events.extend("^" + b for b in m.group(2))
        else:
            events.append("X" + m.group(3))
    return events if pos == len(md) else None


def trim_md(md: str, front: int, back: int, span: int) -> tuple[str, int] | None:
    """The MD string of an alignment without its first ``front`` and last ``back`` reference bases.

    Parameters
    ----------
    md : str
        The MD tag.
    front, back : int
        Reference bases removed at each end.
    span : int
        Reference bases the alignment covered before (its MD must describe exactly these).

    Returns
    -------
    (md, edits) or None
        The new MD and its mismatched plus deleted bases (NM without insertions);
        None when ``md`` is malformed or does not fit the alignment.
    """
    events = _md_events(md)
    if events is None or len(events) != span or front + back > span:
        return None
    kept = events[front:span - back]
    out: list[str] = []
    run = 0
    in_deletion = False
    for e in kept:
        if not e:
            run += 1
            in_deletion = False
        elif e[0] == "X":
            out.append(f"{run}{e[1]}")
            run = 0
            in_deletion = False
        else:
            out.append(e[1] if in_deletion else f"{run}^{e[1]}")
            run = 0
            in_deletion = True
    out.append(str(run))
    return "".join(out), sum(1 for e in kept if e)
