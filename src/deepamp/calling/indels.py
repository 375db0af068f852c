"""Low-frequency indel calling from the counted indel events (``deepamp call``).

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

Null models
-----------
*Context model* (default).  Indel errors are dominated by polymerase
slippage, which grows with the length of the repeat the event belongs to:
Dindel's homopolymer error table gives the shape, and its level is
calibrated on the sample itself (deletions and insertions separately, with a
beta-binomial over-dispersion, real-variant sites left out of the fit); see
:mod:`deepamp.models.indel_context`.  The repeat length is event-aware: the number of
tandem copies of the event's repeat unit (the shortest period of the inserted
or deleted bases, up to 6 bases) around the junction.  For homopolymer events
this is the homopolymer length Dindel uses; for short tandem repeats it is
the number of units (slippage rises with the number of units and falls with
unit length, so indexing by units is the conservative choice); events that
are not a copy-number change of a repeat get length 1.  The test is the exact
upper tail ``P(X >= k)`` of that beta-binomial (binomial when the sample shows
no over-dispersion).  Using a per-read rate per fragment is conservative where
mates overlap (a sequencing slip would have to occur in both mates to be
counted).

*Background model* (``call --background``).  Per (anchor, event) rates and
beta-binomial dispersions learned from healthy controls by
:mod:`deepamp.models.background` (controls carrying the event are excluded there);
events never seen in the controls get the posterior of zero counts over the
controls' depth at that junction.

Multiple testing
----------------
Every distinct normalised event at a junction with DP >= ``min_cov`` is one
test.  Indels form their own family (INFO ``FAMILY=indel``), corrected with
the same method and alpha as the SNVs over ``m`` = number of indel tests
(LoFreq's dynamic indel Bonferroni factor, which it keeps apart from the SNV
one), or the fixed ``--bonf`` factor.  SNV p-values are not affected, so the
family-wise error rate over SNVs and indels together is at most 2 x alpha.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from deepamp.calling.snvs import CallParams, Variant, adjust
from deepamp.models.indel_context import DINDEL_PHRED, CalibrationParams, KindFit, calibrate, describe
from deepamp.normalise import placements
from deepamp.counting.bam import CountResult

__all__ = ["IndelParams", "IndelTable", "IndelVariant", "IndelCalls", "collect_events",
           "call_indels", "HRUN_NAME"]

HRUN_NAME = "HRUN"
_MAX_UNIT = 6
_PAD = 512


@dataclass(frozen=True)
class IndelParams:
    """Options of the context model (see :class:`deepamp.models.indel_context.CalibrationParams`)."""

    calibration: CalibrationParams = CalibrationParams()


# ---------------------------------------------------------------- reference access

class _RefWindows:
    """Upper-case reference bases around the counted regions ('N' where unknown)."""

    def __init__(self, counts: CountResult, reference=None):
        self._win: dict[str, tuple[int, str]] = {}
        spans: dict[str, tuple[int, int]] = {}
        for r in counts.regions:
            lo, hi = spans.get(r.contig, (r.start, r.end))
            spans[r.contig] = (min(lo, r.start), max(hi, r.end))
        if reference is None and counts.params.get("reference"):
            reference = counts.params["reference"]
        if reference is not None and spans:
            from deepamp.io.reference import Reference

            ref = reference if isinstance(reference, Reference) else Reference(reference)
            try:
                for c, (lo, hi) in spans.items():
                    rc = ref.contig(c)
                    a, b = max(rc.offset, lo - _PAD), min(rc.end, hi + _PAD)
                    self._win[c] = (a, ref.fetch(c, a, b))
            finally:
                if ref is not reference:
                    ref.close()
            return
        contig = counts.contig.astype(str)
        for c, (lo, hi) in spans.items():
            buf = bytearray(b"N" * (hi - lo))
            sel = np.flatnonzero(contig == c)
            for p, b in zip(counts.pos[sel].tolist(), counts.ref[sel].astype(str).tolist()):
                buf[p - lo] = ord(b.upper()[:1] or "N")
            self._win[c] = (lo, buf.decode())

    def fetch(self, contig: str, start: int, end: int) -> str:
        """Bases over [start, end), 'N' outside the known window."""
        off, seq = self._win.get(contig, (0, ""))
        if end <= start:
            return ""
        a, b = max(start, off), min(end, off + len(seq))
        mid = seq[a - off:b - off] if b > a else ""
        left = "N" * (min(end, off) - start) if start < off else ""
        right = "N" * (end - max(start, off + len(seq))) if end > off + len(seq) else ""
        return left + mid + right

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
    span = u * (len(DINDEL_PHRED) + 1)
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
    ambiguous_events, ambiguous_fragments : insertions with N in the inserted bases
        (raw events and their fragments), left out of the table because they are
        not a determinate allele
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
    ambiguous_events: int = 0
    ambiguous_fragments: int = 0

    def __len__(self) -> int:
        return int(self.pos.shape[0])

    def keys(self) -> list[tuple[str, int, int, str]]:
        """(contig, anchor, length, sequence) of every event."""
        return list(zip(self.contig.tolist(), self.pos.tolist(), self.length.tolist(),
                        self.sequence.tolist()))

    def subset(self, idx: np.ndarray) -> "IndelTable":
        """The events at indices ``idx`` (the ambiguous counts are kept)."""
        arrays = {f.name: getattr(self, f.name)[idx] for f in dataclasses.fields(self)
                  if isinstance(getattr(self, f.name), np.ndarray)}
        return dataclasses.replace(self, **arrays)


def junction_depth(counts: CountResult) -> np.ndarray:
    """int64 (P, 2): fragments per strand spanning p -> p+1 (see the module docstring).

    Exact from the kernel's ``CountResult.junction``; counts made elsewhere
    without it get ``min(observed at p, observed at p+1)``, which over-counts
    where fragments end at p and others start at p+1 on the same strand.
    """
    if counts.junction is not None:
        return counts.junction.astype(np.int64)
    obs = counts.counts[:, :6, :].sum(axis=1, dtype=np.int64)
    nxt = obs.copy()
    if len(obs) > 1:
        same = (counts.contig[1:] == counts.contig[:-1]) & (counts.pos[1:] == counts.pos[:-1] + 1)
        nxt[:-1][same] = obs[1:][same]
    return np.minimum(obs, nxt)


def collect_events(counts: CountResult, reference=None) -> IndelTable:
    """Left-normalise and merge ``counts.indels`` and attach junction depths.

    Parameters
    ----------
    counts : CountResult (``reference`` defaults to the FASTA it was counted with,
        else its per-position reference bases)
    reference : path or :class:`deepamp.io.reference.Reference`, optional
    """
    ind = counts.indels
    ref = _RefWindows(counts, reference)
    row_of = {(c, int(p)): i for i, (c, p) in enumerate(zip(counts.contig.astype(str).tolist(),
                                                            counts.pos.tolist()))}
    merged: dict[tuple[str, int, int, str], np.ndarray] = {}
    n_ambiguous = [0, 0]
    for c, p, n, s, k in zip(ind.contig.astype(str).tolist(), ind.pos.tolist(), ind.length.tolist(),
                             ind.sequence.astype(str).tolist(), np.asarray(ind.count, np.int64)):
        p, n = int(p), int(n)
        seq = ref.fetch(c, p + 1, p + 1 - n) if n < 0 else s.upper()
        if n > 0 and "N" in seq:            # not a determinate allele: counted, not tested
            n_ambiguous[0] += 1
            n_ambiguous[1] += int(k.sum())
            continue
        # left-most equivalent placement whose anchor is a counted position
        place = next(((a, q) for a, q in placements(functools.partial(ref.base, c), p, seq, n < 0)
                      if (c, a) in row_of), None)
        if place is None or ref.base(c, place[0]) not in "ACGT":
            continue
        key = (c, place[0], n, place[1])
        merged[key] = merged.get(key, np.zeros(2, np.int64)) + k
    keys = sorted(merged, key=lambda t: (row_of[(t[0], t[1])], t[2] < 0, abs(t[2]), t[3]))
    n = len(keys)
    rows = np.array([row_of[(c, p)] for c, p, _, _ in keys], dtype=np.int64)
    count = np.array([merged[k] for k in keys], dtype=np.int64).reshape(n, 2)
    length = np.array([k[2] for k in keys], dtype=np.int64)
    jd = junction_depth(counts)
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
                      ambiguous_events=n_ambiguous[0], ambiguous_fragments=n_ambiguous[1])


# ---------------------------------------------------------------- calling

@dataclass
class IndelVariant(Variant):
    """A tested indel; INFO carries LoFreq's INDEL flag and HRUN after DP4."""

    hrun: int = 1

    def to_record(self):
        """The VCF record: DP, AF, SB, DP4, INDEL, HRUN, then deepamp's fields."""
        rec = super().to_record()
        info = {k: rec.info[k] for k in ("DP", "AF", "SB", "DP4")}
        info["INDEL"] = True
        info[HRUN_NAME] = self.hrun
        info.update((k, v) for k, v in rec.info.items() if k not in info)
        rec.info = info
        return rec


def _context_tests(table: IndelTable, fits: dict[str, KindFit]) -> tuple[np.ndarray, np.ndarray]:
    """Each event against its kind's calibrated slippage rate for its repeat length."""
    from deepamp import _stats

    k = table.count.sum(axis=1)
    d = table.depth.sum(axis=1)
    rate = np.zeros(len(k))
    logp = np.zeros(len(k))
    for kind, sel in (("deletion", table.length < 0), ("insertion", table.length > 0)):
        fit = fits[kind]
        rate[sel] = fit.rate(table.repeat[sel])
        if fit.rho > 0:
            s = (1.0 - fit.rho) / fit.rho
            logp[sel] = _stats.logsf_betabinom(k[sel], d[sel], rate[sel] * s, (1.0 - rate[sel]) * s)
        else:
            logp[sel] = _stats.logsf_binom(k[sel], d[sel], rate[sel])
    return logp, rate


def _background_tests(table: IndelTable, background) -> tuple[np.ndarray, np.ndarray]:
    from deepamp import _stats

    k = table.count.sum(axis=1)
    d = table.depth.sum(axis=1)
    rate, rho = background.indel_lookup(table.keys())
    logp = _stats.logsf_binom(k, d, rate)
    use = (rho > 0) & (rate > 0) & (rate < 1)
    if np.any(use):
        s = (1.0 - rho[use]) / rho[use]
        logp[use] = _stats.logsf_betabinom(k[use], d[use], rate[use] * s, (1.0 - rate[use]) * s)
    return logp, rate


class IndelCalls(NamedTuple):
    """Result of :func:`call_indels`."""

    calls: list[IndelVariant]      # significant indels sorted by anchor
    tests: int                     # number of indel tests m
    notes: list[str]               # what was counted but not tested, for the run summary


def call_indels(counts: CountResult, params: CallParams | None = None, *, background=None,
                reference=None, indel_params: IndelParams | None = None) -> IndelCalls:
    """Call indels from counted indel events.

    Parameters
    ----------
    counts : CountResult (its ``indels`` and per-position counts)
    params : significance, multiple-testing method and ``min_cov`` (junction depth)
    background : deepamp.models.background.Background, optional
        Test each event against the rate learned from controls (MODEL=background,
        INFO BGRATE) instead of the context model (MODEL=context, INFO IDRATE).
    reference : FASTA path or Reference, optional (default: the one of ``counts``)
    indel_params : IndelParams of the context model

    Returns
    -------
    IndelCalls (calls, tests, notes)

    Raises
    ------
    ReferenceFileError
        The background was learned on another panel or reference.
    """
    params = params or CallParams()
    indel_params = indel_params or IndelParams()
    table = collect_events(counts, reference)
    if background is not None:
        background.lookup(counts.contig.astype(str), counts.pos, counts.ref.astype(str))   # panel check
    testable = table.depth.sum(axis=1) >= max(params.min_cov, 1)
    idx = np.flatnonzero(testable)
    sub = table.subset(idx)
    if background is not None:
        logp, rate = _background_tests(sub, background)
        model_name, rate_key = "background", "BGRATE"
    else:
        fits = calibrate(table, counts, indel_params.calibration)
        logp, rate = _context_tests(sub, fits)
        model_name, rate_key = "context", "IDRATE"
    m = params.bonf if params.bonf is not None else len(sub)
    logp = np.minimum(np.asarray(logp, np.float64), 0.0)
    logp_adj = adjust(logp, max(int(m), 1), params.mtc)
    out: list[IndelVariant] = []
    log_alpha = math.log(params.alpha)
    for i in np.flatnonzero(logp_adj < log_alpha):
        dp4 = (int(sub.ref_count[i, 0]), int(sub.ref_count[i, 1]),
               int(sub.count[i, 0]), int(sub.count[i, 1]))
        v = IndelVariant(str(sub.contig[i]), int(sub.pos[i]), str(sub.ref[i]), str(sub.alt[i]),
                         int(sub.row[i]), int(sub.depth[i].sum()), int(sub.count[i].sum()), dp4,
                         float(logp[i]), float(logp_adj[i]), model_name, "indel", hrun=int(sub.hrun[i]))
        v.extra[rate_key] = float(f"{rate[i]:.4g}")
        out.append(v)
    notes = []
    if background is None:
        notes.append("indel context model: " + describe(fits).replace(",", ", "))
    if table.ambiguous_events:
        notes.append(f"indels: {table.ambiguous_fragments} fragments with N in the inserted bases "
                     f"({table.ambiguous_events} events) not tested")
    return IndelCalls(out, int(m), notes)


def merge_sorted(snvs: list[Variant], indels: list[Variant]) -> list[Variant]:
    """SNVs and indels in position order (SNVs first at a shared anchor), deterministic."""
    return sorted(list(snvs) + list(indels),
                  key=lambda v: (v.row, isinstance(v, IndelVariant), len(v.ref), len(v.alt), v.ref, v.alt))

