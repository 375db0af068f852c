"""Indel events of a sample, normalised and merged, with their junction depths.

Events
------
The C core counts every distinct indel event once per fragment at its anchor
(the reference base before the event).  Aligners do not always place an
indel at its left-most equivalent position, so events are first
**left-normalised** against the reference (shifted left while the shifted
event spells the same haplotype, :mod:`deepamp.normalise`, with no region
limit) and identical normalised events are merged.  When the left-most anchor
is not a counted position (a repeat crossing the start of a region), the
event is placed at the left-most *counted* anchor among its equivalent
placements (event bases rotated to match), so every placement of it still
merges into one record.  Records are VCF-anchored: REF = anchor base +
deleted bases, ALT = anchor base + inserted bases.  Insertions with ``N``
among the inserted bases are not a determinate allele: they are left out
of the tests and their number is reported (``call`` prints it on stderr).

Depth
-----
An indel anchored at p is a statement about the junction p -> p+1, so its
depth is the number of fragments that span that junction, which is what
LoFreq reports as DP for indels (pileup coverage at p minus the reads that
end at p).  The kernel counts exactly that (``CountResult.junction``): per
fragment, the junctions one of its reads covers with an aligned base or a
deletion on both sides (an ``N`` skip breaks the run), on the strand bases
are counted on (read 1's where both mates cover it), whatever the base
qualities.  The depth is raised to the number of indel events at the
junction where needed, so AF <= 1 (a read that starts inside a repeat can
carry an event whose left-most placement lies before its first base).
DP4 follows LoFreq: ref = spanning fragments without an insertion (for an
insertion) or without a deletion (for a deletion) at this anchor, alt = the
event's fragments, by strand.

"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np

from deepamp.counting.result import CountResult
from deepamp.normalise import placements

__all__ = ["IndelTable", "EventKeys", "collect_events"]

_MAX_UNIT = 6
_PAD = 512
#: Repeat copies counted on each side of a junction (the context model's table covers 18).
_MAX_COPIES = 18


# ---------------------------------------------------------------- reference access

class _RefWindows:
    """Upper-case reference bases around the counted regions ('N' where unknown).

    Bases are kept for each cluster of regions (regions closer than 2 x ``_PAD``
    share one window) with ``_PAD`` bases on either side, not for the whole span
    of a contig's regions, which on a panel is tens of megabases (EGFR to BRAF on
    chr7).  A request beyond the windows but within that span is read from the
    FASTA when there is one, so every answer is what one window over the span
    would give: the bases of the FASTA's records there, 'N' elsewhere.
    """

    def __init__(self, counts: CountResult, reference=None):
        self._win: dict[str, list[tuple[int, str]]] = {}
        self._span: dict[str, tuple[int, int]] = {}
        clusters: dict[str, list[list[int]]] = {}
        for r in sorted(counts.regions, key=lambda r: (r.contig, r.start)):
            cl = clusters.setdefault(r.contig, [])
            if cl and r.start - cl[-1][1] <= 2 * _PAD:
                cl[-1][1] = max(cl[-1][1], r.end)
            else:
                cl.append([r.start, r.end])
        if reference is None and counts.source.get("reference"):
            reference = counts.source["reference"]
        self._reference = reference
        if reference is not None and clusters:
            with self._open() as ref:
                for c, cl in clusters.items():
                    self._span[c] = (max(0, cl[0][0] - _PAD), cl[-1][1] + _PAD)
                    self._win[c] = [(max(0, lo - _PAD), self._read(ref, c, max(0, lo - _PAD), hi + _PAD))
                                    for lo, hi in cl]
            return
        self._reference = None
        contig = counts.contig.astype(str)
        for c, cl in clusters.items():
            sel = np.flatnonzero(contig == c)
            pos, bases = counts.pos[sel], counts.ref[sel].astype(str)
            wins = []
            for lo, hi in cl:
                buf = bytearray(b"N" * (hi - lo))
                inside = np.flatnonzero((pos >= lo) & (pos < hi))
                for q, b in zip(pos[inside].tolist(), bases[inside].tolist()):
                    buf[q - lo] = ord(b.upper()[:1] or "N")
                wins.append((lo, buf.decode()))
            self._win[c] = wins

    def _open(self):
        from contextlib import nullcontext

        from deepamp.io.reference import Reference

        ref = self._reference
        return nullcontext(ref) if isinstance(ref, Reference) else Reference(ref)

    @staticmethod
    def _read(ref, contig: str, a: int, b: int) -> str:
        """Bases of the FASTA's records over [a, b), 'N' between and beyond them."""
        buf = bytearray(b"N" * (b - a))
        for rc in ref.pieces(contig):
            x, y = max(a, rc.offset), min(b, rc.end)
            if x < y:
                buf[x - a:y - a] = ref.fetch(contig, x, y).encode()
        return buf.decode()

    def fetch(self, contig: str, start: int, end: int) -> str:
        """Bases over [start, end), 'N' outside the known window."""
        if end <= start:
            return ""
        for off, seq in self._win.get(contig, ()):
            if off <= start and end <= off + len(seq):
                return seq[start - off:end - off]
        if self._reference is not None:         # beyond the windows: from the FASTA, within the span
            lo, hi = self._span.get(contig, (0, 0))
            a, b = max(start, lo), min(end, hi)
            if a >= b:
                return "N" * (end - start)
            with self._open() as ref:
                mid = self._read(ref, contig, a, b)
            return "N" * (a - start) + mid + "N" * (end - b)
        out = bytearray(b"N" * (end - start))   # counted bases only: N outside the windows
        for off, seq in self._win.get(contig, ()):
            a, b = max(start, off), min(end, off + len(seq))
            if a < b:
                out[a - start:b - start] = seq[a - off:b - off].encode()
        return out.decode()

    def base(self, contig: str, pos: int) -> str:
        return self.fetch(contig, pos, pos + 1)


def _period(seq: str) -> str:
    """Shortest unit u with seq = u * k (the whole string if none)."""
    n = len(seq)
    for d in range(1, min(n, _MAX_UNIT) + 1):
        if n % d == 0 and seq[:d] * (n // d) == seq:
            return seq[:d]
    return seq


def _hrun(ref: _RefWindows, contig: str, pos: int) -> int:
    """LoFreq's HRUN: length of the homopolymer of the base right of the anchor, through the anchor."""
    s = ref.fetch(contig, max(0, pos - 64), pos + 66)
    i = pos - max(0, pos - 64)
    c = s[i + 1]
    if c == "N":
        return 1
    j = i + 1
    while j + 1 < len(s) and s[j + 1] == c:
        j += 1
    k = i + 1
    while k - 1 >= 0 and s[k - 1] == c:
        k -= 1
    return j - k + 1


def _repeat_copies(ref: _RefWindows, contig: str, pos: int, seq: str) -> int:
    """Tandem copies of the event's repeat unit in the whole reference run around the junction (>= 1).

    The unit is the shortest period of the event bases as placed at anchor
    ``pos``; copies are counted right of the junction (from ``pos + 1``) and
    left of it (ending at ``pos``), so an event whose anchor is not the
    left-most one of its run still gets the rate of the whole run.
    """
    unit = _period(seq)
    u = len(unit)
    if u > _MAX_UNIT or not unit:
        return 1
    span = u * (_MAX_COPIES + 1)
    right = ref.fetch(contig, pos + 1, pos + 1 + span)
    left = ref.fetch(contig, pos + 1 - span, pos + 1)
    k = 0
    while right[k * u:(k + 1) * u] == unit:
        k += 1
    j = 0
    while j * u < len(left) and left[len(left) - (j + 1) * u:len(left) - j * u] == unit:
        j += 1
    return max(k + j, 1)


# ---------------------------------------------------------------- event table

@dataclass(frozen=True)
class IndelTable:
    """Normalised, merged indel events with their junction depths (all arrays aligned).

    Attributes
    ----------
    contig, pos : anchor (0-based) of the left-normalised event (left-most counted anchor)
    row : index of the anchor in the CountResult positions
    length : > 0 insertion, < 0 deletion
    sequence : inserted or deleted bases
    ref, alt : VCF alleles (anchor base + deleted / inserted bases)
    count : int64 (n, 2) event fragments, forward / reverse
    depth : int64 (n, 2) fragments spanning the junction, forward / reverse
    ref_count : int64 (n, 2) spanning fragments without an indel of the same kind here
    hrun : LoFreq's HRUN; repeat : repeat length of the context model
    untested : why counted events were left out of the table: reason -> (raw events,
        fragments).  ``inserted N``: an insertion with N among its bases (not a
        determinate allele); ``deleted bases unknown``: a deletion reaching past the
        reference records (or 512 bases past the regions) or over reference N, whose
        REF cannot be written without inventing bases; ``anchor not A/C/G/T``: no
        placement of the event has a counted A/C/G/T anchor base
    """

    contig: np.ndarray
    pos: np.ndarray
    row: np.ndarray
    length: np.ndarray
    sequence: np.ndarray
    ref: np.ndarray
    alt: np.ndarray
    count: np.ndarray
    depth: np.ndarray
    ref_count: np.ndarray
    hrun: np.ndarray
    repeat: np.ndarray
    untested: dict[str, tuple[int, int]] = dataclasses.field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.pos.shape[0])

    def keys(self) -> list[tuple[str, int, int, str]]:
        """(contig, anchor, length, sequence) of every event."""
        return list(zip(self.contig.tolist(), self.pos.tolist(), self.length.tolist(),
                        self.sequence.tolist()))

    def subset(self, idx: np.ndarray) -> "IndelTable":
        """The events at indices ``idx`` (the ``untested`` counts are kept)."""
        arrays = {f.name: getattr(self, f.name)[idx] for f in dataclasses.fields(self)
                  if isinstance(getattr(self, f.name), np.ndarray)}
        return dataclasses.replace(self, **arrays)


class EventKeys:
    """Keys of indel events as :func:`collect_events` writes them: (contig, anchor, length, sequence)
    of the left-most placement whose anchor is a counted position."""

    def __init__(self, counts: CountResult, reference=None):
        self.ref = _RefWindows(counts, reference)
        self.row_of = {(c, int(p)): i for i, (c, p) in enumerate(zip(counts.contig.astype(str).tolist(),
                                                                     counts.pos.tolist()))}

    def key(self, contig: str, anchor: int, length: int, inserted: str = "") -> tuple[str, int, int, str] | str:
        """The event's key, or why it has none ("inserted N", "deleted bases unknown", "anchor not A/C/G/T")."""
        ref = self.ref
        seq = ref.fetch(contig, anchor + 1, anchor + 1 - length) if length < 0 else inserted.upper()
        if "N" in seq:                      # not a determinate allele / no known REF: counted, not tested
            return "inserted N" if length > 0 else "deleted bases unknown"
        place = next(((a, q) for a, q in placements(functools.partial(ref.base, contig), anchor, seq, length < 0)
                      if (contig, a) in self.row_of), None)
        if place is None or ref.base(contig, place[0]) not in "ACGT":
            return "anchor not A/C/G/T"
        return (contig, place[0], length, place[1])

    def vcf_key(self, contig: str, pos: int, ref: str, alt: str) -> tuple[str, int, int, str] | str:
        """The key of a VCF-anchored insertion or deletion (1-based ``pos``)."""
        if len(ref) > len(alt):
            return self.key(contig, pos - 1, -(len(ref) - len(alt)))
        return self.key(contig, pos - 1, len(alt) - len(ref), alt[len(ref):])


def collect_events(counts: CountResult, reference=None) -> IndelTable:
    """Left-normalise and merge ``counts.indels`` and attach junction depths.

    Parameters
    ----------
    counts : CountResult (``reference`` defaults to the FASTA it was counted with,
        else its per-position reference bases)
    reference : path or :class:`deepamp.io.reference.Reference`, optional
    """
    ind = counts.indels
    keyer = EventKeys(counts, reference)
    ref, row_of = keyer.ref, keyer.row_of
    merged: dict[tuple[str, int, int, str], np.ndarray] = {}
    untested: dict[str, tuple[int, int]] = {}

    def leave_out(reason: str, fragments: np.ndarray) -> None:
        events, frags = untested.get(reason, (0, 0))
        untested[reason] = (events + 1, frags + int(fragments.sum()))

    for c, p, n, s, k in zip(ind.contig.astype(str).tolist(), ind.pos.tolist(), ind.length.tolist(),
                             ind.sequence.astype(str).tolist(), np.asarray(ind.count, np.int64)):
        key = keyer.key(c, int(p), int(n), s)
        if isinstance(key, str):
            leave_out(key, k)
            continue
        merged[key] = merged.get(key, np.zeros(2, np.int64)) + k
    keys = sorted(merged, key=lambda t: (row_of[(t[0], t[1])], t[2] < 0, abs(t[2]), t[3]))
    n = len(keys)
    rows = np.array([row_of[(c, p)] for c, p, _, _ in keys], dtype=np.int64)
    count = np.array([merged[k] for k in keys], dtype=np.int64).reshape(n, 2)
    length = np.array([k[2] for k in keys], dtype=np.int64)
    jd = counts.junction_depth()
    ins_at = np.zeros((len(counts.pos), 2), np.int64)
    del_at = np.zeros((len(counts.pos), 2), np.int64)
    if n:
        np.add.at(ins_at, rows[length > 0], count[length > 0])
        np.add.at(del_at, rows[length < 0], count[length < 0])
    depth = np.maximum(jd[rows], ins_at[rows] + del_at[rows]) if n else np.zeros((0, 2), np.int64)
    same_kind = np.where((length > 0)[:, None], ins_at[rows], del_at[rows]) if n else depth
    refs, alts, hruns, reps = [], [], [], []
    for c, p, ln, s in keys:
        a = ref.base(c, p)
        refs.append(a + (s if ln < 0 else ""))
        alts.append(a + (s if ln > 0 else ""))
        hruns.append(_hrun(ref, c, p))
        reps.append(_repeat_copies(ref, c, p, s))
    return IndelTable(np.array([k[0] for k in keys], dtype=str), np.array([k[1] for k in keys], np.int64),
                      rows, length, np.array([k[3] for k in keys], dtype=str), np.array(refs, dtype=str),
                      np.array(alts, dtype=str), count, depth, depth - same_kind,
                      np.array(hruns, np.int64), np.array(reps, np.int64),
                      untested=untested)
