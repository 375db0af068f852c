"""Variant normalisation shared by ``call``, ``filter``, ``annotate`` and ``concordance``.

Two steps of the usual normalisation (Tan, Abecasis & Kang 2015, "Unified
representation of genetic variants", Bioinformatics 31:2202):

* :func:`trim_alleles` drops the bases REF and ALT share at their ends
  (parsimony);
* :func:`placements` / :func:`left_shift` move an indel along the reference
  while the shifted event spells the same haplotype (left-alignment).

An indel is described by its *anchor* (0-based reference position of the base
before the event) and its event bases (the inserted bases, or the deleted
reference bases ``ref[anchor + 1 : anchor + 1 + n]``).  Reference access is a
function ``base(p)`` giving the upper-case base at 0-based ``p`` and ``"N"``
where unknown; an ``N`` never matches, so shifting stops at unknown sequence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

__all__ = ["trim_alleles", "left_shift", "placements", "rotate", "is_symbolic"]

Base = Callable[[int], str]


def is_symbolic(alt: str) -> bool:
    """True for ALT alleles that are not bases: ``<DEL>``, breakends, ``*``, missing."""
    return not alt or alt[0] == "<" or "[" in alt or "]" in alt or alt in ("*", ".")


def trim_alleles(pos: int, ref: str, alt: str, *, anchor: bool = True) -> tuple[int, str, str]:
    """Minimal representation of a REF/ALT pair: shared trailing, then leading bases removed.

    ``pos`` is the coordinate of REF's first base and moves right by the number
    of leading bases removed.  With ``anchor`` (VCF style) one base is always
    kept in each allele (``ATG>AG`` gives ``AT>A``); without it the shared
    leading bases are all removed, so an indel has an empty REF or ALT
    (``AT>A`` gives ``T>`` at pos + 1), as HGVS naming needs.  Symbolic
    alleles (:func:`is_symbolic`) are returned unchanged.  Case is kept.
    """
    if is_symbolic(alt):
        return pos, ref, alt
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    keep = 1 if anchor else 0
    while len(ref) > keep and len(alt) > keep and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


def rotate(seq: str, k: int) -> str:
    """``seq`` rotated left by ``k`` (the event bases ``k`` anchors to the right)."""
    if not seq:
        return seq
    k %= len(seq)
    return seq[k:] + seq[:k]


def left_shift(base: Base, anchor: int, seq: str) -> tuple[int, str]:
    """Left-most anchor (>= 0) and event bases of an indel, without any region limit.

    The event moves one base left while the reference base at the anchor
    equals the last event base (for a deletion that is the base after the
    deleted ones, so the shifted deletion removes the same haplotype); the
    rule is the same for insertions and deletions.
    """
    while anchor > 0 and seq:
        b = base(anchor)
        if b == "N" or b != seq[-1]:
            break
        seq = seq[-1] + seq[:-1]
        anchor -= 1
    return anchor, seq


def placements(base: Base, anchor: int, seq: str, deletion: bool) -> Iterator[tuple[int, str]]:
    """Every equivalent (anchor, event bases) of an indel, from the left-most rightwards.

    A placement moves one base right while the reference base following the
    event (after the anchor for an insertion, after the deleted bases for a
    deletion) equals the first event base.
    """
    anchor, seq = left_shift(base, anchor, seq)
    skip = len(seq) if deletion else 0
    while True:
        yield anchor, seq
        if not seq:
            return
        b = base(anchor + 1 + skip)
        if b == "N" or b != seq[0]:
            return
        seq = rotate(seq, 1)
        anchor += 1
