"""Slow, obviously-correct reference of deepamp's phasing kernel: the per-pair method.

For each pair of sites the reads overlapping the pair's span are fetched
with pysam, reads and bases are selected by the counting rule (README,
"Counting rules"), mates are joined by query name, every fragment gets an
allele at both sites and the 4x4 table is counted.  No windows, no waiting
mates, nothing shared between pairs.  Also a random-BAM generator that puts
every corner of the rule (flags, MAPQ, '*' sequence and quality, N bases,
deletions, skips, clips, insertions, overlapping and distant mates, mates on
other contigs) in front of both.
"""
from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

import pysam

SYMS = "ACGT"
N_SYM, DEL = 4, 5
MISSING = 255
ALLELES = ("ref", "alt", "other", "none")
OUTCOMES = ("ref", "alt", "other_base", "deletion", "n", "discordant", "low_base_quality",
            "low_alt_base_quality", "no_quality")
UNMAPPED, SECONDARY, QCFAIL, DUP, SUPP = 0x4, 0x100, 0x200, 0x400, 0x800
DEFAULT_FLAGS = UNMAPPED | SECONDARY | QCFAIL | DUP | SUPP


@dataclass(frozen=True)
class Opts:
    min_mapq: int = 0
    min_bq: int = 6
    min_alt_bq: int = 6
    flag_exclude: int = DEFAULT_FLAGS


def drop_reason(read: pysam.AlignedSegment, o: Opts) -> str | None:
    f = read.flag & o.flag_exclude
    if read.flag & UNMAPPED:
        return "unmapped"
    for bit, name in ((SECONDARY, "secondary"), (SUPP, "supplementary"), (QCFAIL, "qcfail"), (DUP, "duplicate")):
        if f & bit:
            return name
    if read.mapping_quality < o.min_mapq:
        return "low_mapq"
    if read.query_length == 0 or read.query_sequence is None:
        return "no_sequence"
    return None


def observe(read: pysam.AlignedSegment, pos: int) -> tuple[int, int] | None:
    """(symbol, quality) the read aligns at reference pos: a base (N for non-ACGT), DEL, or None."""
    seq, quals = read.query_sequence, read.query_qualities
    rpos, qpos = read.reference_start, 0
    for op, n in read.cigartuples or []:
        if op in (0, 7, 8):
            if rpos <= pos < rpos + n:
                b = seq[qpos + pos - rpos]
                return (SYMS.index(b) if b in SYMS else N_SYM,
                        MISSING if quals is None else quals[qpos + pos - rpos])
            rpos += n
            qpos += n
        elif op in (2, 3):
            if rpos <= pos < rpos + n:
                return (DEL, 0) if op == 2 else None
            rpos += n
        elif op in (1, 4):
            qpos += n
    return None


def passes(obs: tuple[int, int], o: Opts) -> str | None:
    """None if the observation passes min_bq, else the outcome it drops to."""
    sym, q = obs
    if sym == DEL:
        return None
    if q == MISSING:
        return "no_quality" if o.min_bq > 0 else None
    return "low_base_quality" if q < o.min_bq else None


def outcome(obs: list[tuple[int, int]], ref: int, alt: int, o: Opts) -> str:
    """What a fragment shows at a site from its mates' observations (one or two)."""
    ok = [x for x in obs if passes(x, o) is None]
    if not ok:
        fails = [passes(x, o) for x in obs]
        return "low_base_quality" if "low_base_quality" in fails else "no_quality"
    if len(ok) == 2 and ok[0][0] != ok[1][0]:
        return "discordant"
    sym = ok[0][0]
    known = [q for _, q in ok if q != MISSING]
    q = MISSING if not known or sym == DEL else max(known)
    if sym == DEL:
        return "deletion"
    if sym != ref and q != MISSING and q < o.min_alt_bq:
        return "low_alt_base_quality"
    if sym == ref:
        return "ref"
    if sym == alt:
        return "alt"
    return "n" if sym == N_SYM else "other_base"


def allele(out: str) -> int:
    return {"ref": 0, "alt": 1, "other_base": 2, "deletion": 2}.get(out, 3)


def fragments(fh: pysam.AlignmentFile, contig: str, lo: int, hi: int, o: Opts) -> list[list[pysam.AlignedSegment]]:
    """Used reads overlapping [lo, hi) grouped into fragments: primary pairable reads by query name, the rest alone."""
    by_name: dict[str, list] = defaultdict(list)
    out = []
    for read in fh.fetch(contig, lo, hi):
        if drop_reason(read, o) is not None:
            continue
        pairable = read.is_paired and not read.mate_is_unmapped and not read.is_secondary and \
            not read.is_supplementary and read.next_reference_id == read.reference_id
        if pairable:
            by_name[read.query_name].append(read)
        else:
            out.append([read])
    for reads in by_name.values():
        assert len(reads) <= 2, "the generator writes at most two primary records per name"
        out.append(reads)
    return out


def pair_table(bam: str, contig: str, a: tuple[int, str, str], b: tuple[int, str, str], o: Opts) -> list[list[int]]:
    """4x4 fragment table of sites a, b = (pos0, ref, alt): the per-pair method."""
    table = [[0] * 4 for _ in range(4)]
    lo, hi = min(a[0], b[0]), max(a[0], b[0]) + 1
    with pysam.AlignmentFile(bam) as fh:
        for frag in fragments(fh, contig, lo, hi, o):
            al = []
            for pos, ref, alt in (a, b):
                obs = [x for x in (observe(r, pos) for r in frag) if x is not None]
                al.append(allele(outcome(obs, SYMS.index(ref), SYMS.index(alt), o)) if obs else 3)
            if al != [3, 3]:
                table[al[0]][al[1]] += 1
    return table


def site_outcomes(bam: str, contig: str, site: tuple[int, str, str], o: Opts) -> dict[str, int]:
    """Fragments covering the site by outcome, plus ``both_mates``."""
    pos, ref, alt = site
    out = dict.fromkeys(OUTCOMES + ("both_mates",), 0)
    with pysam.AlignmentFile(bam) as fh:
        for frag in fragments(fh, contig, pos, pos + 1, o):
            obs = [x for x in (observe(r, pos) for r in frag) if x is not None]
            if obs:
                out[outcome(obs, SYMS.index(ref), SYMS.index(alt), o)] += 1
                out["both_mates"] += len(obs) == 2
    return out


def site_reads(bam: str, contig: str, pos: int, o: Opts) -> dict[str, int]:
    """Reads overlapping the site: seen, used and the drop reasons."""
    out = dict.fromkeys(("seen", "used", "unmapped", "secondary", "supplementary", "qcfail", "duplicate",
                         "low_mapq", "no_sequence"), 0)
    with pysam.AlignmentFile(bam) as fh:
        for read in fh.fetch(contig, pos, pos + 1):
            out["seen"] += 1
            out[drop_reason(read, o) or "used"] += 1
    return out


# ---------------------------------------------------------------------------
# random BAMs
# ---------------------------------------------------------------------------

def random_sam(rng: random.Random, refseq: str, contig: str = "chrR", n_frags: int = 300,
               other_contig: str = "chrO") -> list[str]:
    """SAM lines of random fragments over ``refseq`` (unsorted)."""
    lines = []
    L = len(refseq)

    def cigar_and_seq(start: int, qlen: int) -> tuple[str, str, int]:
        """A random CIGAR of about qlen query bases from start; (cigar, seq, reference span)."""
        ops, seq, rpos = [], [], start
        if rng.random() < 0.15:
            n = rng.randint(1, 5)
            ops.append(f"{n}S")
            seq.append("".join(rng.choice("ACGT") for _ in range(n)))
        left = qlen
        while left > 0 and rpos < L:
            m = min(left, rng.randint(5, 40), L - rpos)
            bases = list(refseq[rpos:rpos + m])
            for k in range(m):
                u = rng.random()
                if u < 0.04:
                    bases[k] = rng.choice("ACGT")
                elif u < 0.05:
                    bases[k] = "N"
            ops.append(f"{m}M")
            seq.append("".join(bases))
            rpos += m
            left -= m
            if left <= 0:
                break
            u = rng.random()
            if u < 0.1:
                n = rng.randint(1, 3)
                ops.append(f"{n}D")
                rpos += n
            elif u < 0.15:
                n = rng.randint(1, 3)
                ops.append(f"{n}I")
                seq.append("".join(rng.choice("ACGT") for _ in range(n)))
                left -= n
            elif u < 0.18:
                n = rng.randint(5, 30)
                ops.append(f"{n}N")
                rpos += n
        while ops[-1][-1] in "DN":            # end on aligned bases
            n = int(ops.pop()[:-1])
            rpos -= n
        if rng.random() < 0.1:
            ops.append(f"{rng.randint(1, 4)}H")
        return "".join(ops), "".join(seq), rpos - start

    def qual_of(n: int) -> str:
        if rng.random() < 0.05:
            return "*"
        return "".join(chr(33 + (rng.randint(0, 12) if rng.random() < 0.15 else rng.randint(20, 41)))
                       for _ in range(n))

    for f in range(n_frags):
        name = f"q{f}"
        kind = rng.random()
        s1 = rng.randint(0, L - 120)
        c1, q1, span1 = cigar_and_seq(s1, rng.randint(30, 90))
        mapq1, mapq2 = (rng.choice([0, 5, 30, 60, 60, 60]) for _ in range(2))
        extra1 = rng.choice([0, 0, 0, 0, 0, 0, 0, 0, DUP, QCFAIL])
        if kind < 0.15:                       # a read alone
            flag = rng.choice([0, 16, 0 | SECONDARY, 16 | SUPP]) | extra1
            lines.append("\t".join(map(str, [name, flag, contig, s1 + 1, mapq1, c1, "*", 0, 0, q1,
                                              qual_of(len(q1))])))
            continue
        if kind < 0.2:                        # mate unmapped (placed at the read's position)
            lines.append("\t".join(map(str, [name, 0x1 | 0x8 | 0x40 | extra1, contig, s1 + 1, mapq1, c1, "=",
                                              s1 + 1, 0, q1, qual_of(len(q1))])))
            lines.append("\t".join(map(str, [name, 0x1 | 0x4 | 0x80, contig, s1 + 1, 0, "*", "=", s1 + 1, 0,
                                              "".join(rng.choice("ACGT") for _ in range(40)), "I" * 40])))
            continue
        if kind < 0.25:                       # mate on another contig
            lines.append("\t".join(map(str, [name, 0x1 | 0x40 | extra1, contig, s1 + 1, mapq1, c1, other_contig,
                                              10, 0, q1, qual_of(len(q1))])))
            continue
        s2 = min(L - 100, s1 + rng.randint(0, 150))
        c2, q2, span2 = cigar_and_seq(s2, rng.randint(30, 90))
        if kind < 0.3:                        # overlapping mates that disagree at every other base
            q2 = "".join(ch if k % 2 else rng.choice("ACGT") for k, ch in enumerate(q2))
        extra2 = extra1 if rng.random() < 0.8 else rng.choice([0, DUP, QCFAIL])
        tlen = max(s1 + span1, s2 + span2) - s1
        seq2 = "*" if rng.random() < 0.02 else q2
        lines.append("\t".join(map(str, [name, 0x1 | 0x2 | 0x20 | 0x40 | extra1, contig, s1 + 1, mapq1, c1, "=",
                                          s2 + 1, tlen, q1, qual_of(len(q1))])))
        lines.append("\t".join(map(str, [name, 0x1 | 0x2 | 0x10 | 0x80 | extra2, contig, s2 + 1, mapq2, c2, "=",
                                          s1 + 1, -tlen, seq2, "*" if seq2 == "*" else qual_of(len(q2))])))
        if rng.random() < 0.05:               # a supplementary piece of read 2 (same name)
            c3, q3, _ = cigar_and_seq(s2, 30)
            lines.append("\t".join(map(str, [name, 0x1 | 0x10 | 0x80 | SUPP, contig, s2 + 1, mapq2, c3, "=",
                                              s1 + 1, 0, q3, qual_of(len(q3))])))
    return lines
