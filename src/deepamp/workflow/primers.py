"""Primer clipping of amplicon reads (what ``samtools ampliconclip`` and ``ivar trim`` do).

The first bases of every amplicon read are the primer the fragment was
amplified from: they come from the oligo, not from the patient's template, so a
variant under a primer is never in them and they carry none of the template's
polymerase errors.  Counted as evidence they dilute every allele under a primer
footprint (where another, overlapping amplicon does read the template).  These
bases are soft-clipped here.

**Primers.**  A primer BED has one primer per line: contig, start, end, name,
and optionally score and strand (0-based, half-open).  A name ending in
``_LEFT`` / ``_RIGHT`` (optionally followed by ``_alt...``, as in ARTIC
schemes), or the strand ``+`` / ``-``, says which end of its amplicon the
primer is at.  Each primer belongs to one amplicon: the one its name gives
(the name without ``_LEFT``/``_RIGHT``), or, with an amplicon BED, the
amplicon containing it whose end is nearest.  Without a primer BED, primers of
fixed lengths at both ends of every amplicon of an amplicon BED can be given
(``--primer-length N`` or ``N,M`` for left, right).

**Which read starts where.**  A read's 5' end, counted back over its soft
clips (so a read whose first bases the aligner clipped still starts where it
did), must lie on a primer of its strand's end, or at most ``tolerance`` bases
(default :data:`TOLERANCE`) outside it, for ragged starts: a forward read on a
LEFT primer, a reverse read on a RIGHT primer.  That primer's amplicon is the
read's amplicon.  A read that starts at no primer is an *off-target start*: it
is counted, reported and left as it is.

**Clipping.**  If a read's leftmost aligned base lies on one of its amplicon's
LEFT primers (or up to ``tolerance`` bases before it), every query base aligned
before that primer's end is soft-clipped; likewise, if its rightmost aligned
base lies on a RIGHT primer (or up to ``tolerance`` bases past it), every base
aligned from that primer's start on (:mod:`deepamp.workflow.softclip`: a
deletion left at the new edge is dropped, an insertion there is clipped, MD and
NM are recomputed, or removed when there is no MD to recompute them from).  A
read whose aligned bases are all primer is flagged QC-fail (0x200; deepamp
counts none of them) and left otherwise unchanged.  Only primary alignments are
clipped; secondary and supplementary records are counted and left unchanged.
The records of a read name come together (as aligners write them, or after
``samtools collate``), so once both mates are clipped each gets its mate's new
position (``PNEXT``), CIGAR (``MC``, when present) and the pair's template
length (``TLEN``, from the leftmost aligned base to the rightmost).
"""

from __future__ import annotations

import logging
import os
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pysam

from deepamp.errors import FormatError, InputFileError
from deepamp.io.regions import read_bed
from deepamp.workflow.softclip import clip_end, clip_start, trim_md

__all__ = ["TOLERANCE", "Primer", "PrimerScheme", "AmpliconClipStats", "ClipStats", "PrimerClipper",
           "parse_primer_length", "read_primer_bed", "primers_from_lengths", "load_primers", "log_stats", "check_primer_contigs"]

log = logging.getLogger("deepamp.primers")

#: Bases a read's 5' end may lie outside its primer (ragged starts), and its ends past a primer footprint.
TOLERANCE = 3
_SIDE = re.compile(r"_(LEFT|RIGHT)(_alt[A-Za-z0-9]*)?$", re.IGNORECASE)


# ------------------------------------------------------------------ the primer scheme

@dataclass(frozen=True)
class Primer:
    """One primer footprint, 0-based half-open; ``left`` primers sit at their amplicon's start."""

    name: str
    contig: str
    start: int
    end: int
    left: bool
    amplicon: str


@dataclass(frozen=True)
class PrimerScheme:
    """The primers of a panel, by amplicon; ``source`` says where they came from (for logs and ``@PG``)."""

    primers: tuple[Primer, ...]
    amplicons: tuple[str, ...]
    source: str

    def contigs(self) -> list[str]:
        """Contigs with primers, in order of appearance."""
        return list(dict.fromkeys(p.contig for p in self.primers))

    def inserts(self) -> list[tuple[str, int, int, str]]:
        """Per amplicon, the template between its primers (contig, start, end, name; 0-based half-open):
        the bases that are evidence once primer bases are clipped.  With alternative primers, the
        innermost footprint bounds it; an amplicon without primers on one side is left out."""
        out = []
        for name in self.amplicons:
            own = [p for p in self.primers if p.amplicon == name]
            left, right = [p for p in own if p.left], [p for p in own if not p.left]
            if not left or not right:
                continue
            start, end = max(p.end for p in left), min(p.start for p in right)
            if end > start:
                out.append((own[0].contig, start, end, name))
        return out

    def write_inserts(self, path: str) -> None:
        """:meth:`inserts` as a BED file."""
        with open(path, "w", encoding="utf-8") as fh:
            fh.writelines(f"{c}\t{s}\t{e}\t{n}\n" for c, s, e, n in self.inserts())


def parse_primer_length(text: str) -> tuple[int, int]:
    """``N`` or ``N,M``: primer lengths at the left and right ends of every amplicon.

    Raises
    ------
    FormatError
        Not one or two positive integers.
    """
    parts = text.split(",")
    try:
        values = [int(p, 10) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2) or min(values) < 1:
        raise FormatError(f"--primer-length {text!r}: expected N or N,M (left,right) with positive lengths")
    return (values[0], values[-1])


def _lines(path: str, what: str) -> list[tuple[int, list[str]]]:
    """(line number, fields) of the data lines of a BED-like file."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read().splitlines()
    except FileNotFoundError:
        raise InputFileError(f"{path}: {what} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path}: cannot read the {what} ({exc})") from None
    out = []
    for no, line in enumerate(text, 1):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        fields = line.rstrip("\r").split("\t")
        out.append((no, fields if len(fields) >= 4 else line.split()))
    if not out:
        raise FormatError(f"{path}: {what} has no primers")
    return out


def _parse_primer(path: str, no: int, f: list[str]) -> tuple[str, str, int, int, bool, str | None]:
    """(name, contig, start, end, left, amplicon named by the primer or None) of one line."""
    where = f"{path}:{no}"
    if len(f) < 4 or not f[3].strip():
        raise FormatError(f"{where}: a primer line needs contig, start, end and name (4 columns at least)")
    try:
        start, end = int(f[1]), int(f[2])
    except ValueError:
        raise FormatError(f"{where}: primer start/end must be integers") from None
    if start < 0 or end <= start:
        raise FormatError(f"{where}: empty or negative primer interval {start}-{end}")
    name, strand = f[3].strip(), f[5].strip() if len(f) > 5 else "."
    if strand not in ("+", "-", "."):
        raise FormatError(f"{where}: strand {strand!r} of primer {name} is not +, - or .")
    m = _SIDE.search(name)
    by_name = None if m is None else m.group(1).upper() == "LEFT"
    by_strand = None if strand == "." else strand == "+"
    if by_name is not None and by_strand is not None and by_name != by_strand:
        raise FormatError(f"{where}: primer {name} is named {m.group(1)} but is on the {strand} strand")
    left = by_name if by_name is not None else by_strand
    if left is None:
        raise FormatError(f"{where}: cannot tell which end of its amplicon primer {name} is at: end its name "
                          "in _LEFT or _RIGHT, or give its strand (+ or -) in column 6")
    return name, f[0], start, end, left, (name[:m.start()] if m else None)


def read_primer_bed(path: str | os.PathLike[str], amplicons: str | os.PathLike[str] | None = None) -> PrimerScheme:
    """Read a primer BED; pair its primers by name, or place them in the amplicons of ``amplicons``.

    Raises
    ------
    InputFileError
        A file is missing or unreadable.
    FormatError
        A malformed line, a primer name used twice, a primer whose end or amplicon
        cannot be told, a primer in no amplicon, or an amplicon without a LEFT or
        RIGHT primer (messages name the file and line).
    """
    path = os.fspath(path)
    seen: dict[str, int] = {}
    parsed = []
    for no, f in _lines(path, "primer BED"):
        name, contig, start, end, left, named = _parse_primer(path, no, f)
        if name in seen:
            raise FormatError(f"{path}:{no}: primer name {name} is also used on line {seen[name]}")
        seen[name] = no
        parsed.append((no, name, contig, start, end, left, named))
    if amplicons is not None:
        regions = read_bed(amplicons)
        names = [r.name or f"{r.contig}:{r.start + 1}-{r.end}" for r in regions]
        if len(set(names)) < len(names):
            twice = next(n for n in names if names.count(n) > 1)
            raise FormatError(f"{os.fspath(amplicons)}: amplicon name {twice} is used twice")
        primers = []
        for no, name, contig, start, end, left, _ in parsed:
            inside = [(abs((r.start - start) if left else (r.end - end)), n) for r, n in zip(regions, names)
                      if r.contig == contig and r.start <= start and end <= r.end]
            if not inside:
                raise FormatError(f"{path}:{no}: primer {name} ({contig}:{start + 1}-{end}) lies in no amplicon "
                                  f"of {os.fspath(amplicons)}")
            primers.append(Primer(name, contig, start, end, left, min(inside)[1]))
        source = f"{path} in the amplicons of {os.fspath(amplicons)}"
    else:
        primers = []
        for no, name, contig, start, end, left, named in parsed:
            if named is None:
                raise FormatError(f"{path}:{no}: primer {name} does not name its amplicon (NAME_LEFT / NAME_RIGHT); "
                                  "give the amplicon BED (-l) to place primers by position")
            primers.append(Primer(name, contig, start, end, left, named))
        names = list(dict.fromkeys(p.amplicon for p in primers))
        source = path
    return _scheme(primers, names, source, path)


def _scheme(primers: list[Primer], names: list[str], source: str, path: str) -> PrimerScheme:
    """Check that every amplicon has primers at both ends, on one contig, in order."""
    for amp in names:
        mine = [p for p in primers if p.amplicon == amp]
        lefts, rights = [p for p in mine if p.left], [p for p in mine if not p.left]
        for side, have in (("LEFT", lefts), ("RIGHT", rights)):
            if not have:
                raise FormatError(f"{path}: amplicon {amp} has no {side} primer")
        if len({p.contig for p in mine}) > 1:
            raise FormatError(f"{path}: the primers of amplicon {amp} are on different contigs")
        if min(p.start for p in rights) < min(p.start for p in lefts):
            raise FormatError(f"{path}: amplicon {amp} has a RIGHT primer before its LEFT primer")
    return PrimerScheme(tuple(primers), tuple(names), source)


def primers_from_lengths(amplicons: str | os.PathLike[str], left: int, right: int) -> PrimerScheme:
    """Primers of ``left`` and ``right`` bases at the two ends of every amplicon of a BED.

    Raises
    ------
    FormatError
        Duplicate amplicon names, or an amplicon too short for its two primers.
    """
    path = os.fspath(amplicons)
    if left < 1 or right < 1:
        raise FormatError(f"--primer-length {left},{right}: lengths must be positive")
    primers, names = [], []
    for r in read_bed(path):
        name = r.name or f"{r.contig}:{r.start + 1}-{r.end}"
        if name in names:
            raise FormatError(f"{path}: amplicon name {name} is used twice")
        if left + right > r.end - r.start:
            raise FormatError(f"{path}: amplicon {name} ({r.end - r.start} bp) is too short for primers of "
                              f"{left} + {right} bases")
        names.append(name)
        primers += [Primer(f"{name}_LEFT", r.contig, r.start, r.start + left, True, name),
                    Primer(f"{name}_RIGHT", r.contig, r.end - right, r.end, False, name)]
    return PrimerScheme(tuple(primers), tuple(names), f"{path} with primers of {left} (left) and {right} (right) bases")


def load_primers(primers: str | os.PathLike[str] | None = None, amplicons: str | os.PathLike[str] | None = None,
                 primer_length: str | tuple[int, int] | None = None) -> PrimerScheme:
    """The primer scheme from a primer BED (placed in ``amplicons`` when given) or amplicons + primer lengths.

    Raises
    ------
    FormatError
        Neither or both ways given, ``primer_length`` without ``amplicons``, or bad files.
    """
    if primers is not None and primer_length is not None:
        raise FormatError("give either a primer BED or primer lengths, not both")
    if primers is not None:
        return read_primer_bed(primers, amplicons)
    if primer_length is None:
        raise FormatError("give a primer BED (--primers), or an amplicon BED (-l) with --primer-length N[,M]")
    if amplicons is None:
        raise FormatError("--primer-length needs the amplicon BED (-l AMPLICONS.bed)")
    left, right = parse_primer_length(primer_length) if isinstance(primer_length, str) else primer_length
    return primers_from_lengths(amplicons, left, right)


def check_primer_contigs(scheme: PrimerScheme, contigs: list[str], where: str) -> None:
    """FormatError unless some primer is on a contig of ``contigs`` (else nothing could be clipped)."""
    if not set(scheme.contigs()) & set(contigs):
        raise FormatError(f"{where}: none of its contigs ({', '.join(contigs[:5])}{' ...' if len(contigs) > 5 else ''}) "
                          f"has primers of {scheme.source} (they are on {', '.join(scheme.contigs())}); "
                          "contig names must match (chr2, not 2)")



# ------------------------------------------------------------------ statistics

@dataclass
class AmpliconClipStats:
    """Per amplicon: primary reads starting at its primers, reads clipped, bases clipped, primer-only reads."""

    reads: int = 0
    clipped: int = 0
    bases: int = 0
    primer_only: int = 0


@dataclass
class ClipStats:
    """What primer clipping saw and did.

    ``reads`` primary mapped reads examined; ``clipped`` of them lost at least
    one base (``bases_clipped`` in all); ``primer_only`` were all primer and are
    flagged QC-fail; ``off_target`` started at no primer and were left as they
    were; ``unmapped`` and ``not_primary`` (secondary, supplementary) records
    passed unchanged; ``mate_missing`` paired primary reads whose mate was not
    next to them (their mate fields could not be updated).
    """

    reads: int = 0
    clipped: int = 0
    bases_clipped: int = 0
    primer_only: int = 0
    off_target: int = 0
    unmapped: int = 0
    not_primary: int = 0
    mate_missing: int = 0
    per_amplicon: dict[str, AmpliconClipStats] = field(default_factory=dict)

    def summary(self) -> str:
        """One compact line for the log."""
        text = (f"primer clipping: {self.reads:,} reads, {self.clipped:,} clipped ({self.bases_clipped:,} bases), "
                f"{self.primer_only:,} all primer (flagged QC-fail), {self.off_target:,} starting at no primer "
                f"(left unclipped), {self.unmapped:,} unmapped and {self.not_primary:,} secondary/supplementary "
                "records unchanged")
        return text + (f", {self.mate_missing:,} reads whose mate was not next to them (mate fields not updated)"
                       if self.mate_missing else "")


    def write_tsv(self, path: str) -> None:
        """Per amplicon, then ``(all)``: reads starting at its primers, reads clipped, bases clipped,
        all-primer reads; a last row counts the reads that started at no primer."""
        rows = ["amplicon\treads\tclipped\tbases_clipped\tprimer_only"]
        for name, a in self.per_amplicon.items():
            rows.append(f"{name}\t{a.reads}\t{a.clipped}\t{a.bases}\t{a.primer_only}")
        rows.append(f"(all)\t{self.reads}\t{self.clipped}\t{self.bases_clipped}\t{self.primer_only}")
        rows.append(f"(no primer)\t{self.off_target}\t0\t0\t0")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("\n".join(rows) + "\n")


def log_stats(stats: ClipStats) -> None:
    """The summary at INFO, one line per amplicon at DEBUG (``--verbose``)."""
    log.info(stats.summary())
    for name, s in stats.per_amplicon.items():
        log.debug(f"{name}: {s.reads:,} reads starting at its primers, {s.clipped:,} clipped ({s.bases:,} bases), "
                  f"{s.primer_only:,} all primer")


# ------------------------------------------------------------------ clipping

class _Side:
    """Primers of one end on one contig, for lookups by position."""

    def __init__(self, primers: list[Primer]):
        self.primers = sorted(primers, key=lambda p: (p.start, p.end))
        self.starts = [p.start for p in self.primers]
        self.longest = max((p.end - p.start for p in self.primers), default=0)

    def around(self, pos: int, before: int, after: int) -> list[Primer]:
        """Primers with ``start - before <= pos < end + after``."""
        lo = bisect_left(self.starts, pos - self.longest - after + 1)
        hi = bisect_right(self.starts, pos + before)
        return [p for p in self.primers[lo:hi] if p.start - before <= pos < p.end + after]


def _soft_clip(cigar: Iterable[tuple[int, int]]) -> int:
    """Soft-clipped bases at the start of ``cigar`` (past any hard clip)."""
    n = 0
    for op, length in cigar:
        if op == 4:
            n += length
        elif op != 5:
            break
    return n


def _clip_cigar(cigar: list[tuple[int, int]], front: int, back: int
                ) -> tuple[list[tuple[int, int]], int, int, int] | None:
    """(CIGAR, reference bases removed at the start, at the end, query bases clipped), or None if all primer."""
    removed_front = removed_back = clipped = 0
    if front > 0:
        out = clip_start(cigar, front)
        if out is None:
            return None
        cigar, removed_front, n = out
        clipped += n
    if back > 0:
        out = clip_end(cigar, back)
        if out is None:
            return None
        cigar, removed_back, n = out
        clipped += n
    return cigar, removed_front, removed_back, clipped


class PrimerClipper:
    """Clips the primary reads of name-grouped records (see the module docstring).

    Parameters
    ----------
    scheme : PrimerScheme
        The primers.
    tolerance : int
        Bases a 5' end may lie outside its primer, and a read end past a primer.
    """

    def __init__(self, scheme: PrimerScheme, tolerance: int = TOLERANCE):
        if tolerance < 0:
            raise FormatError(f"primer start tolerance must be >= 0 (got {tolerance})")
        self.scheme = scheme
        self.tolerance = tolerance
        self.stats = ClipStats(per_amplicon={a: AmpliconClipStats() for a in scheme.amplicons})
        self._sides: dict[tuple[str, bool], _Side] = {}
        for contig in scheme.contigs():
            for left in (True, False):
                self._sides[(contig, left)] = _Side([p for p in scheme.primers if p.contig == contig and p.left == left])

    def _start_primer(self, read: pysam.AlignedSegment) -> Primer | None:
        """The primer the read's 5' end (counted back over soft clips) lies on."""
        cig = read.cigartuples
        if read.is_reverse:
            side = self._sides.get((read.reference_name, False))
            v = read.reference_end + _soft_clip(reversed(cig))       # exclusive
            found = side.around(v - 1, 0, self.tolerance) if side else []
            return min(found, key=lambda p: abs(v - p.end), default=None)
        side = self._sides.get((read.reference_name, True))
        u = read.reference_start - _soft_clip(cig)
        found = side.around(u, self.tolerance, 0) if side else []
        return min(found, key=lambda p: abs(u - p.start), default=None)

    def _clip(self, read: pysam.AlignedSegment) -> bool:
        """Clip one primary mapped read; whether it changed."""
        st = self.stats
        st.reads += 1
        primer = self._start_primer(read) if read.cigartuples else None
        if primer is None:
            st.off_target += 1
            return False
        amp = st.per_amplicon[primer.amplicon]
        amp.reads += 1
        contig, start, end = read.reference_name, read.reference_start, read.reference_end
        lefts = [p for p in self._sides[(contig, True)].around(start, self.tolerance, 0) if p.amplicon == primer.amplicon]
        rights = [p for p in self._sides[(contig, False)].around(end - 1, 0, self.tolerance)
                  if p.amplicon == primer.amplicon]
        front = max((p.end for p in lefts), default=start) - start
        back = end - min((p.start for p in rights), default=end)
        if front <= 0 and back <= 0:
            return False
        clipped = _clip_cigar(read.cigartuples, front, back)
        if clipped is None:
            read.flag |= 0x200
            st.primer_only += 1
            amp.primer_only += 1
            return True
        cigar, removed_front, removed_back, bases = clipped
        self._fix_md(read, cigar, removed_front, removed_back)
        read.cigartuples = cigar
        read.reference_start = start + removed_front
        st.clipped += 1
        st.bases_clipped += bases
        amp.clipped += 1
        amp.bases += bases
        return True

    @staticmethod
    def _fix_md(read: pysam.AlignedSegment, cigar: list[tuple[int, int]], front: int, back: int) -> None:
        """Recompute MD and NM for the clipped alignment, or remove them when they cannot be."""
        md = read.get_tag("MD") if read.has_tag("MD") else None
        trimmed = None
        if isinstance(md, str) and not any(op == 3 for op, _ in read.cigartuples):
            trimmed = trim_md(md, front, back, read.reference_length)
        if trimmed is None:
            for tag in ("MD", "NM"):
                if read.has_tag(tag):
                    read.set_tag(tag, None)
            return
        read.set_tag("MD", trimmed[0], value_type="Z")
        read.set_tag("NM", trimmed[1] + sum(n for op, n in cigar if op == 1), value_type="i")

    def _fix_mates(self, a: pysam.AlignedSegment, b: pysam.AlignedSegment) -> None:
        """Give each of a clipped pair its mate's position, CIGAR and the template length."""
        for r, mate in ((a, b), (b, a)):
            if mate.is_unmapped and not r.is_unmapped and mate.reference_id == r.reference_id:
                mate.reference_start = r.reference_start          # an unmapped read sits at its mate
        for r, mate in ((a, b), (b, a)):
            r.next_reference_id, r.next_reference_start = mate.reference_id, mate.reference_start
            if r.has_tag("MC") and not mate.is_unmapped:
                r.set_tag("MC", mate.cigarstring, value_type="Z")
        if a.is_unmapped or b.is_unmapped or a.reference_id != b.reference_id:
            a.template_length = b.template_length = 0
            return
        length = max(a.reference_end, b.reference_end) - min(a.reference_start, b.reference_start)
        first = (a.reference_start, not a.is_read1) <= (b.reference_start, not b.is_read1)
        a.template_length, b.template_length = (length, -length) if first else (-length, length)

    def clip_group(self, records: list[pysam.AlignedSegment]) -> list[bool]:
        """Clip the records of one read name in place; which of them changed."""
        changed = [False] * len(records)
        primaries = []
        for i, r in enumerate(records):
            if r.is_secondary or r.is_supplementary:
                self.stats.not_primary += 1
                continue
            primaries.append(i)
            if r.is_unmapped:
                self.stats.unmapped += 1
            else:
                changed[i] = self._clip(r)
        if len(primaries) == 2 and any(changed[i] for i in primaries):
            i, j = primaries
            self._fix_mates(records[i], records[j])
            changed[i] = changed[j] = True
        elif len(primaries) == 1 and records[primaries[0]].is_paired:
            self.stats.mate_missing += 1
        return changed

    def clip_records(self, records: Iterable[pysam.AlignedSegment]) -> Iterator[pysam.AlignedSegment]:
        """Clip a name-grouped stream of records (all records of a name next to each other)."""
        for group, _ in self._groups(records, lambda r: r.query_name):
            self.clip_group(group)
            yield from group

    def clip_sam_lines(self, lines: Iterable[str], header: pysam.AlignmentHeader) -> Iterator[str]:
        """Clip name-grouped SAM record lines; lines of records that did not change are passed as they are."""
        for group, texts in self._groups(lines, lambda line: line.split("\t", 1)[0], parse=header):
            for read, text, changed in zip(group, texts, self.clip_group(group)):
                yield read.to_string() + "\n" if changed else text

    @staticmethod
    def _groups(items, name_of, parse: pysam.AlignmentHeader | None = None):
        """Runs of consecutive items with one read name: (records, the items)."""
        run: list = []
        name = None
        for item in items:
            key = name_of(item)
            if run and key != name:
                yield ([pysam.AlignedSegment.fromstring(t.rstrip("\n"), parse) for t in run] if parse else run), run
                run = []
            name = key
            run.append(item)
        if run:
            yield ([pysam.AlignedSegment.fromstring(t.rstrip("\n"), parse) for t in run] if parse else run), run
