"""Slow, obviously-correct reference implementation of deepamp.counting.bam.count.

Works read by read over pysam with plain dicts; no chunking, no hashing
tricks.  The semantics are written down once here (see ``count_oracle``) and
the compiled core is compared against them on random BAMs.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pysam

SYMS = "ACGTN"          # then DEL = 5, INS = 6
DEL, INS = 5, 6
MISSING = 255

M_OPS = (0, 7, 8)       # M = X
REF_OPS = (0, 2, 7, 8)  # M D = X


@dataclass
class ReadObs:
    """Everything one read shows, in reference coordinates."""

    sym: dict = field(default_factory=dict)    # pos -> (symbol, quality or MISSING; None for DEL)
    ins: dict = field(default_factory=dict)    # anchor pos -> inserted sequence
    dels: dict = field(default_factory=dict)   # anchor pos -> deleted length
    clipped: int = 0                            # soft-clipped + unanchored inserted bases
    start: int = 0
    end: int = 0                                # hts-style end (start + 1 if no ref span)


def read_obs(read: pysam.AlignedSegment) -> ReadObs:
    o = ReadObs()
    seq = read.query_sequence
    if seq is None:  # SEQ '*': only the span matters (the read is dropped)
        o.start = read.reference_start
        rlen = sum(n for op, n in (read.cigartuples or []) if op in REF_OPS or op == 3)
        o.end = o.start + rlen if rlen else o.start + 1
        return o
    quals = read.query_qualities  # None when QUAL is '*'
    cig = read.cigartuples or []
    rpos, qpos = read.reference_start, 0
    o.start = rpos
    ref_seen = False
    for i, (op, n) in enumerate(cig):
        if op in M_OPS:
            for j in range(n):
                b = seq[qpos + j]
                s = SYMS.index(b) if b in "ACGT" else 4
                q = MISSING if quals is None else quals[qpos + j]
                o.sym[rpos + j] = (s, q)
            rpos += n
            qpos += n
            ref_seen = True
        elif op == 1:  # I
            later_ref = False
            for op2, _ in cig[i + 1:]:
                if op2 in REF_OPS:
                    later_ref = True
                    break
                if op2 == 3:
                    break
            if ref_seen and later_ref:
                o.ins[rpos - 1] = seq[qpos:qpos + n]
            else:
                o.clipped += n
            qpos += n
        elif op == 2:  # D
            if ref_seen:
                o.dels[rpos - 1] = n
            for j in range(n):
                o.sym[rpos + j] = (DEL, None)
            rpos += n
            ref_seen = True
        elif op == 3:  # N
            rpos += n
        elif op == 4:  # S
            o.clipped += n
            qpos += n
        # H (5), P (6): nothing
    o.end = rpos if rpos > o.start else o.start + 1
    return o


def drop_reason(read: pysam.AlignedSegment, flag_exclude: int, min_mapq: int) -> str | None:
    f = read.flag
    if f & 0x4:
        return "unmapped"
    fx = f & flag_exclude
    for bit, name in ((0x100, "secondary"), (0x800, "supplementary"), (0x200, "qcfail"),
                      (0x400, "duplicate")):
        if fx & bit:
            return name
    if read.mapping_quality < min_mapq:
        return "low_mapq"
    if read.query_sequence is None:
        return "no_sequence"
    return None


class Tally:
    """Counts for the requested positions plus the stats dictionaries."""

    def __init__(self, positions, ref, min_bq, min_alt_bq):
        self.row = {p: i for i, p in enumerate(positions)}
        self.counts = np.zeros((len(positions), 7, 2), dtype=np.int64)
        self.qual_hist = np.zeros((len(positions), 64), dtype=np.int64)
        self.junction = np.zeros((len(positions), 2), dtype=np.int64)
        self.ref = ref                      # (contig, pos) -> 0..3 or 4
        self.min_bq, self.min_alt_bq = min_bq, min_alt_bq
        self.base_stats = defaultdict(int)
        self.indels = defaultdict(lambda: [0, 0])

    def status(self, s, q):
        if s == DEL:
            return "pass"
        if q == MISSING:
            return "no_quality" if self.min_bq > 0 else "pass"
        return "low_base_quality" if q < self.min_bq else "pass"

    def add(self, key, s, q, strand):
        i = self.row[key]
        if s != DEL:
            r = self.ref.get(key, 4)
            if r < 4 and s != r and q != MISSING and q < self.min_alt_bq:
                self.base_stats["low_alt_base_quality"] += 1
                return
            self.base_stats["counted"] += 1
            if s != 4:  # qual_hist holds A/C/G/T only (csrc/counts.h: N has no error model)
                self.qual_hist[i, min(q, 63)] += 1
        self.counts[i, s, strand] += 1

    def add_ins(self, key, seq, strand):
        self.counts[self.row[key], INS, strand] += 1
        self.indels[(key[0], key[1], len(seq), seq)][strand] += 1

    def add_del(self, key, n, strand):
        self.indels[(key[0], key[1], -n, "")][strand] += 1

    def junctions(self, contig, in_region, ox: ReadObs, sx, oy: ReadObs | None = None, sy=0):
        """A fragment's junctions p -> p+1, i.e. a read has a base or deletion
        at both p and p+1 (then no N lies between them), on strands as bases
        are counted: read 1's (x) on sx, those only read 2 (y) sees on sy."""
        jx = {p for p in ox.sym if p + 1 in ox.sym}
        jy = {p for p in oy.sym if p + 1 in oy.sym} - jx if oy is not None else set()
        for js, strand in ((jx, sx), (jy, sy)):
            for p in js & in_region:
                self.junction[self.row[(contig, p)], strand] += 1

    def solo(self, contig, p, o: ReadObs, strand):
        key = (contig, p)
        if p in o.sym:
            s, q = o.sym[p]
            st = self.status(s, q)
            if st == "pass":
                self.add(key, s, q, strand)
            else:
                self.base_stats[st] += 1
        if p in o.ins:
            self.add_ins(key, o.ins[p], strand)
        if p in o.dels:
            self.add_del(key, o.dels[p], strand)

    def merged(self, contig, p, ox: ReadObs, sx, oy: ReadObs, sy):
        """Both mates have a base or deletion at p; x is READ1."""
        key = (contig, p)
        (s1, q1), (s2, q2) = ox.sym[p], oy.sym[p]
        st1, st2 = self.status(s1, q1), self.status(s2, q2)
        if st1 == "pass" and st2 == "pass":
            if s1 == s2:
                if s1 == DEL:
                    self.add(key, DEL, None, sx)
                else:
                    qs = [q for q in (q1, q2) if q != MISSING]
                    self.add(key, s1, max(qs) if qs else MISSING, sx)
                    self.base_stats["overlap_merged"] += 1
            else:
                self.base_stats["overlap_discordant"] += (s1 != DEL) + (s2 != DEL)
        elif st1 == "pass":
            self.add(key, s1, q1, sx)
            self.base_stats[st2] += 1
        elif st2 == "pass":
            self.add(key, s2, q2, sy)
            self.base_stats[st1] += 1
        else:
            self.base_stats[st1] += 1
            self.base_stats[st2] += 1
        # indel events anchored at p
        x_next, y_next = (p + 1) in ox.sym, (p + 1) in oy.sym
        for ev_x, ev_y, add in ((ox.ins.get(p), oy.ins.get(p), lambda e, s: self.add_ins(key, e, s)),
                                (ox.dels.get(p), oy.dels.get(p), lambda e, s: self.add_del(key, e, s))):
            if ev_x is not None and ev_y is not None:
                if ev_x == ev_y:
                    add(ev_x, sx)
                else:
                    self.base_stats["indel_overlap_discordant"] += 1
            elif ev_x is not None:
                if y_next:
                    self.base_stats["indel_overlap_discordant"] += 1
                else:
                    add(ev_x, sx)
            elif ev_y is not None:
                if x_next:
                    self.base_stats["indel_overlap_discordant"] += 1
                else:
                    add(ev_y, sy)


def _overlaps(o: ReadObs, beg: int, end: int) -> bool:
    return o.start < end and o.end > beg


# ---------------------------------------------------------------- mates
#
# The rule, for the whole file (csrc/mates.h): two used reads are mates when
# they have the same name, one is read 1 and the other read 2 (or both
# neither / both), both are primary, mapped and on the same contig as their
# mate, each one's mate position is the other's position and each one's
# mate-reverse flag is the other's reverse flag.  Their overlap is merged
# when the earlier one (in the file) reaches its mate's start.  Reads are
# taken in file order: a read takes the earliest read still waiting that is
# its mate; if none is, it waits itself when it reaches its mate's start.
# Copies (same name, contig, positions and those flags) thus pair first in,
# first out.  A read whose mate starts at or before it counts as an
# ambiguous mate when more than one of its mates came before it, or the only
# one had been taken by a copy of it.

def _mergeable(r: pysam.AlignedSegment) -> bool:
    f = r.flag
    return bool(f & 0x1) and not f & (0x4 | 0x8 | 0x100 | 0x800) and r.next_reference_id == r.reference_id


def _key(r: pysam.AlignedSegment) -> tuple:
    """What mates and copies are told apart by."""
    f = r.flag
    return (r.query_name, r.reference_id, r.reference_start, r.next_reference_start, f & 0xC0,
            bool(f & 0x10), bool(f & 0x20))


def _mate_key(r: pysam.AlignedSegment) -> tuple:
    """The key of r's mates."""
    f = r.flag
    bits = {0x40: 0x80, 0x80: 0x40}.get(f & 0xC0, f & 0xC0)
    return (r.query_name, r.reference_id, r.next_reference_start, r.reference_start, bits,
            bool(f & 0x20), bool(f & 0x10))


def pair_mates(reads) -> tuple[dict, int]:
    """reads: (read, ReadObs, seen) of the used reads of one contig, in file
    order.  Returns ({index: partner index}, ambiguous mates among seen reads)."""
    waiting = defaultdict(list)    # key -> [index, taken] in arrival order
    partner_of, ambiguous = {}, 0
    for idx, (read, o, seen) in enumerate(reads):
        if not _mergeable(read):
            continue
        mates = waiting.get(_mate_key(read), [])
        live = [e for e in mates if not e[1]]
        if seen and read.next_reference_start <= read.reference_start:
            came = len(mates) + sum(e[1] for e in waiting.get(_key(read), []))
            if came >= 2 or (came == 1 and not live):
                ambiguous += 1
        if live:
            live[0][1] = True
            partner_of[idx], partner_of[live[0][0]] = live[0][0], idx
        elif read.reference_start <= read.next_reference_start < o.end:
            waiting[_key(read)].append([idx, False])
    return partner_of, ambiguous


def count_oracle(bam: str, regions, *, reference: dict | None = None, min_mapq=0, min_bq=6,
                 min_alt_bq=None, flag_exclude=0xF04, merge_mates=True):
    """Reference counts.

    ``regions``: list of (contig, start, end), 0-based half-open, sorted and
    disjoint.  ``reference``: contig -> sequence (enables the alt filter).
    Returns a dict with counts (P,7,2), qual_hist (P,64), junction (P,2), read_stats,
    base_stats, indels {(contig, pos, len, seq): [fwd, rev]}.
    """
    min_alt_bq = min_bq if min_alt_bq is None else min_alt_bq
    positions = [(c, p) for c, b, e in regions for p in range(b, e)]
    ref = {}
    if reference is not None:
        for c, b, e in regions:
            for p in range(b, e):
                ch = reference[c][p].upper()
                ref[(c, p)] = "ACGT".index(ch) if ch in "ACGT" else 4
    t = Tally(positions, ref, min_bq, min_alt_bq)
    read_stats = defaultdict(int)
    by_contig = defaultdict(list)
    for c, b, e in regions:
        by_contig[c].append((b, e))

    with pysam.AlignmentFile(bam, "rb") as af:
        for contig, ivals in by_contig.items():
            in_region = set(p for b, e in ivals for p in range(b, e))
            reads = []      # every used read of the contig (pairs are made over the whole file)
            for read in af.fetch(contig):
                if read.reference_id < 0:
                    continue
                o = read_obs(read) if not read.is_unmapped else ReadObs(
                    start=read.reference_start, end=read.reference_start + 1)
                seen = any(_overlaps(o, b, e) for b, e in ivals)
                why = drop_reason(read, flag_exclude, min_mapq)
                if seen:
                    read_stats["seen"] += 1
                    read_stats[why or "used"] += 1
                if not why:
                    reads.append((read, o, seen))
            partner_of, ambiguous = pair_mates(reads) if merge_mates else ({}, 0)
            read_stats["ambiguous_mates"] += ambiguous
            for idx, (read, o, seen) in enumerate(reads):
                j = partner_of.get(idx)
                if j is not None and j < idx:
                    continue        # counted with its mate
                strand = 1 if read.is_reverse else 0
                if j is None:
                    if not seen:
                        continue
                    t.base_stats["soft_clipped"] += o.clipped
                    t.junctions(contig, in_region, o, strand)
                    for p in sorted(set(o.sym) | set(o.ins) | set(o.dels)):
                        if p in in_region:
                            t.solo(contig, p, o, strand)
                    continue
                mate, mo, mate_seen = reads[j]
                # reported when the mates' overlap span reaches into a region
                lo, hi = mo.start, min(mo.end, o.end)
                if any(b < hi and e > lo for b, e in ivals):
                    read_stats["mates_merged"] += 2
                t.base_stats["soft_clipped"] += o.clipped * seen + mo.clipped * mate_seen
                if (mate.flag & 0x40) and not (read.flag & 0x40):
                    (bx, ox), (by, oy) = (mate, mo), (read, o)
                else:
                    (bx, ox), (by, oy) = (read, o), (mate, mo)
                sx, sy = (1 if bx.is_reverse else 0), (1 if by.is_reverse else 0)
                t.junctions(contig, in_region, ox, sx, oy, sy)
                for p in sorted(set(ox.sym) | set(oy.sym)):
                    if p not in in_region:
                        continue
                    if p in ox.sym and p in oy.sym:
                        t.merged(contig, p, ox, sx, oy, sy)
                    elif p in ox.sym:
                        t.solo(contig, p, ox, sx)
                    else:
                        t.solo(contig, p, oy, sy)
    return dict(counts=t.counts, qual_hist=t.qual_hist, junction=t.junction, read_stats=dict(read_stats),
                base_stats=dict(t.base_stats), indels={k: tuple(v) for k, v in t.indels.items()})


def result_indels(res) -> dict:
    """CountResult.indels as the oracle's dict."""
    ind = res.indels
    out = {}
    for i in range(len(ind)):
        key = (str(ind.contig[i]), int(ind.pos[i]), int(ind.length[i]), str(ind.sequence[i]))
        assert key not in out, f"duplicate indel event {key}"
        out[key] = (int(ind.count[i, 0]), int(ind.count[i, 1]))
    return out


def nonzero(d: dict) -> dict:
    return {k: v for k, v in d.items() if v}
