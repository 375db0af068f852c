"""Simulate deep PCR-amplicon sequencing straight into a sorted, indexed BAM.

No aligner is involved: every read pair is generated *already aligned*.  Each
fragment spans one amplicon from primer end to primer end, the forward read
starts at the amplicon start and the reverse read ends at the amplicon end, so
the mates overlap whenever the amplicon is shorter than twice the read length.

Two sources of randomness are kept apart on purpose:

* :class:`RunErrorProfile` (``run_seed`` + reference) holds everything that a
  sequencing *run* shares across its samples: per-site and per-strand
  background error rates, strand- and read-specific hot spots, molecule-level
  8-oxoG-like G>T artefacts, read-position dependence and homopolymer indel
  rates.  A control and a tumour simulated with the same ``run_seed`` carry the
  same artefacts, which is what a background model learnt from controls needs.
* ``sample_seed`` drives everything sample-specific: which molecules carry the
  spiked variants, which reads get which errors, qualities, clipping.

The same ``(run_seed, sample_seed)`` and inputs give byte-identical BAM files.
"""

from __future__ import annotations

import contextlib
import gzip
import math
import os
import time
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import pysam

from deepamp.errors import (DeepampError, FormatError, InputFileError, OutputError, ReferenceFileError,
                     RegionError)
from deepamp.io.outputs import check_distinct, staged, work_directory
from deepamp.io.reference import Reference

__all__ = [
    "Spike", "Amplicon", "HotSpot", "RunErrorProfile", "TruthRecord", "SimulationResult",
    "simulate", "parse_spike", "read_spikes_tsv", "parse_contig_lengths", "fastq_names", "QUALITY_MODELS",
]

_BASES = "ACGT"
_CODE = np.full(256, 4, dtype=np.uint8)
for _i, _b in enumerate(_BASES):
    _CODE[ord(_b)] = _i
    _CODE[ord(_b.lower())] = _i
_ASCII = np.frombuffer(b"ACGTN", dtype=np.uint8)
_COMP = np.array([3, 2, 1, 0, 4], dtype=np.uint8)
_COMPLEMENT = bytes.maketrans(b"ACGTN", b"TGCAN")
_BLOCK = 1000
QUALITY_MODELS = ("novaseq", "hiseq")
_NOVASEQ_BINS = np.array([37, 23, 12, 2], dtype=np.uint8)

# Background substitution spectrum (rows: true base A,C,G,T; columns: called base).
# Transitions twice as likely as transversions, G>T / C>A somewhat elevated.
_SPECTRUM = np.array([
    [0.0, 1.0, 2.0, 1.0],
    [1.0, 0.0, 1.0, 2.0],
    [2.0, 1.0, 0.0, 1.5],
    [1.0, 2.0, 1.0, 0.0],
])
_SPECTRUM /= _SPECTRUM.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------------------
# Public data classes
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Spike:
    """A variant spiked into a fraction of the simulated molecules.

    VCF style: ``pos`` is 1-based and is the position of the first REF base;
    for insertions and deletions REF and ALT share their first (anchor) base,
    e.g. ``Spike("chr2", 29220743, "TCTC", "T", 0.01)`` deletes CTC.

    ``molecule_group`` controls phasing.  Spikes with the same group are put
    on the SAME molecules (cis; a lower-VAF spike sits on a subset of the
    molecules of a higher-VAF one).  Different groups, and every spike without
    a group, occupy DISJOINT molecules (trans), so the VAFs of different groups
    within one amplicon must sum to at most 1.
    """

    contig: str
    pos: int
    ref: str
    alt: str
    vaf: float
    molecule_group: str | None = None

    @property
    def start0(self) -> int:
        """0-based position of the first REF base."""
        return self.pos - 1

    @property
    def end0(self) -> int:
        """0-based exclusive end of the REF allele."""
        return self.pos - 1 + len(self.ref)

    def label(self) -> str:
        """``contig:pos:ref:alt:vaf[:group]`` (the ``--spike`` syntax)."""
        text = f"{self.contig}:{self.pos}:{self.ref}:{self.alt}:{self.vaf:g}"
        return text + (f":{self.molecule_group}" if self.molecule_group is not None else "")


@dataclass(frozen=True)
class Amplicon:
    """One PCR amplicon, primer end to primer end, 0-based half-open."""

    contig: str
    start0: int
    end0: int
    name: str

    @property
    def length(self) -> int:
        """Amplicon length in bases."""
        return self.end0 - self.start0


@dataclass(frozen=True)
class HotSpot:
    """A run-level, strand-specific systematic substitution.

    ``level`` is ``"molecule"`` for library artefacts (8-oxoG-like G>T in read-1
    orientation: seen by BOTH mates of the affected pairs, on pairs whose read 1
    maps to ``strand``) or ``"read"`` for sequencing artefacts (seen only by
    reads aligned to ``strand``, and only read ``read`` unless it is 0).
    ``ref``/``alt`` are given on the reference plus strand; ``rate`` is the
    per-fragment (molecule level) or per-read (read level) probability in the
    affected class.
    """

    contig: str
    pos: int
    ref: str
    alt: str
    strand: str
    read: int
    rate: float
    level: str
    kind: str


@dataclass(frozen=True)
class TruthRecord:
    """One line of the truth TSV."""

    contig: str
    pos: int
    ref: str
    alt: str
    vaf: float
    fragments: int
    expected_alt_fragments: float
    observed_alt_fragments: int
    molecule_group: str


@dataclass
class SimulationResult:
    """What :func:`simulate` wrote.

    ``bam``/``bai``/``truth`` are the output paths (``fastq`` the R1/R2 FASTQs when asked for),
    ``truth_records`` the rows of the truth TSV, ``hotspots`` the run hot spots inside the amplicons.
    """

    bam: str
    bai: str
    truth: str
    sample: str
    n_pairs: int
    n_reads: int
    truth_records: list[TruthRecord]
    hotspots: list[HotSpot]
    seconds: float = 0.0
    fastq: tuple[str, str] | None = None


# ---------------------------------------------------------------------------
# Run error profile
# ---------------------------------------------------------------------------

@dataclass
class _Block:
    site_mult: np.ndarray          # (2, _BLOCK): per-strand background multipliers
    hotspots: list[HotSpot]


class RunErrorProfile:
    """The systematic error process of one sequencing run.

    Derived deterministically from ``run_seed`` and the reference sequence in
    1 kb blocks, so it does not depend on which amplicons a sample uses.

    Parameters
    ----------
    reference : Reference
        The reference the run is sequenced against (context of hot spots and
        homopolymers).
    run_seed : int
        Seed of the run; samples sharing it share every artefact below.
    mean_error_rate : float
        Mean background substitution probability per base (before hot spots),
        about 1.5e-3; with hot spots, PCR errors and Q2 tails the mismatch rate
        lands in the 1e-3..3e-3 range observed on healthy-control cfDNA
        amplicons (0.0024 mismatches per mapped base, Villa et al. 2024).
    site_sd : float
        Sigma of the log-normal per-site and per-strand multiplier (mean 1).
    cycle_increase : float
        Error rate at the last cycle relative to the first (quadratic rise).
    read2_factor : float
        Read 2 background error relative to read 1.
    oxog_density, context_density, generic_density : float
        Per-eligible-site probabilities of the three hot spot kinds: molecule
        level G>T (read-1 orientation) at G/C sites, read-level errors after a
        GG motif (in read direction), and read-2 strand-specific transitions
        anywhere.
    hotspot_rate : tuple of float
        Range of hot spot rates (uniform), 0.3-1.2 %.
    homopolymer_min, homopolymer_indel_rate, homopolymer_growth : float
        Homopolymers of at least ``homopolymer_min`` bases get a per-read
        one-base deletion probability ``rate * growth**(len - min)`` (capped at
        1 %) and half that for a one-base insertion.

    Raises
    ------
    ValueError
        If a rate is negative or a range is inverted.
    """

    def __init__(self, reference: Reference, run_seed: int = 1, *,
                 mean_error_rate: float = 1.5e-3, site_sd: float = 0.6,
                 cycle_increase: float = 4.0, read2_factor: float = 1.3,
                 oxog_density: float = 0.02, context_density: float = 0.08,
                 generic_density: float = 0.003,
                 hotspot_rate: tuple[float, float] = (0.003, 0.012),
                 homopolymer_min: int = 4, homopolymer_indel_rate: float = 2e-4,
                 homopolymer_growth: float = 2.0):
        for name, value in (("mean_error_rate", mean_error_rate), ("site_sd", site_sd),
                            ("oxog_density", oxog_density), ("context_density", context_density),
                            ("generic_density", generic_density),
                            ("homopolymer_indel_rate", homopolymer_indel_rate)):
            if not value >= 0:
                raise ValueError(f"RunErrorProfile: {name} must be >= 0 (got {value})")
        if not 0 <= hotspot_rate[0] <= hotspot_rate[1] <= 1:
            raise ValueError(f"RunErrorProfile: bad hotspot_rate range {hotspot_rate}")
        if cycle_increase < 1 or read2_factor <= 0 or homopolymer_min < 2:
            raise ValueError("RunErrorProfile: cycle_increase must be >= 1, read2_factor > 0, "
                             "homopolymer_min >= 2")
        self.reference = reference
        self.run_seed = int(run_seed)
        self.mean_error_rate = mean_error_rate
        self.site_sd = site_sd
        self.cycle_increase = cycle_increase
        self.read2_factor = read2_factor
        self.oxog_density = oxog_density
        self.context_density = context_density
        self.generic_density = generic_density
        self.hotspot_rate = hotspot_rate
        self.homopolymer_min = homopolymer_min
        self.homopolymer_indel_rate = homopolymer_indel_rate
        self.homopolymer_growth = homopolymer_growth
        self._blocks: dict[tuple[str, int], _Block] = {}

    # -- blocks ------------------------------------------------------------
    def _block(self, contig: str, index: int) -> _Block:
        key = (contig, index)
        blk = self._blocks.get(key)
        if blk is not None:
            return blk
        rng = np.random.default_rng(
            np.random.SeedSequence([self.run_seed & 0xFFFFFFFF, zlib.crc32(contig.encode()),
                                    index, 0x5EED]))
        start = index * _BLOCK
        # Sequence with two bases of context either side ("N" outside the FASTA's records).
        seq = bytearray(b"N" * (_BLOCK + 4))
        for rc in self.reference.pieces(contig):
            lo, hi = max(start - 2, rc.offset), min(start + _BLOCK + 2, rc.end)
            if lo < hi:
                seq[lo - (start - 2):hi - (start - 2)] = self.reference.fetch(contig, lo, hi).encode()
        codes = _CODE[np.frombuffer(bytes(seq), dtype=np.uint8)]
        mid = codes[2:-2]
        sd = self.site_sd
        site_mult = rng.lognormal(-sd * sd / 2, sd, size=(2, _BLOCK))
        cpg = (mid == 1) & (codes[3:-1] == 2) | (mid == 2) & (codes[1:-3] == 1)
        site_mult[:, cpg] *= 1.5
        u = rng.random((3, _BLOCK))
        rates = rng.uniform(self.hotspot_rate[0], self.hotspot_rate[1], size=(3, _BLOCK))
        alt_pick = rng.integers(0, 3, size=_BLOCK)
        strand_pick = rng.random(_BLOCK) < 0.5
        hot: list[HotSpot] = []
        for i in range(_BLOCK):
            b = int(mid[i])
            if b == 4:
                continue
            pos = start + i + 1
            ref = _BASES[b]
            if u[0, i] < self.oxog_density and b in (1, 2):
                # 8-oxoG on the read-1 strand: G>T when read 1 is forward, C>A when reverse.
                hot.append(HotSpot(contig, pos, ref, "T" if b == 2 else "A",
                                   "+" if b == 2 else "-", 1, float(rates[0, i]),
                                   "molecule", "oxoG"))
                continue
            gg_plus = codes[i] == 2 and codes[i + 1] == 2
            gg_minus = codes[i + 3] == 1 and codes[i + 4] == 1
            if u[1, i] < self.context_density and (gg_plus or gg_minus):
                strand = "+" if gg_plus and (not gg_minus or strand_pick[i]) else "-"
                alts = [x for x in range(4) if x != b]
                hot.append(HotSpot(contig, pos, ref, _BASES[alts[alt_pick[i]]], strand, 0,
                                   float(rates[1, i]), "read", "GG-context"))
                continue
            if u[2, i] < self.generic_density:
                alt = _BASES[b ^ 2]  # transition: A<->G, C<->T
                hot.append(HotSpot(contig, pos, ref, alt, "+" if strand_pick[i] else "-", 2,
                                   float(rates[2, i]), "read", "read2-strand"))
        blk = _Block(site_mult, hot)
        self._blocks[key] = blk
        return blk

    def site_multipliers(self, contig: str, start0: int, end0: int) -> np.ndarray:
        """Per-site background multipliers, shape ``(2, end0 - start0)``.

        Row 0 applies to reads aligned to the plus strand, row 1 to the minus
        strand.  The mean multiplier is about 1.
        """
        out = np.empty((2, end0 - start0))
        for b in range(start0 // _BLOCK, (end0 - 1) // _BLOCK + 1):
            blk = self._block(contig, b)
            lo, hi = max(start0, b * _BLOCK), min(end0, (b + 1) * _BLOCK)
            out[:, lo - start0:hi - start0] = blk.site_mult[:, lo - b * _BLOCK:hi - b * _BLOCK]
        return out

    def hotspots(self, contig: str, start0: int, end0: int) -> list[HotSpot]:
        """Hot spots with 0-based position in ``[start0, end0)``, sorted by position."""
        out: list[HotSpot] = []
        for b in range(start0 // _BLOCK, (end0 - 1) // _BLOCK + 1):
            out.extend(h for h in self._block(contig, b).hotspots if start0 < h.pos <= end0)
        return out

    def homopolymers(self, contig: str, start0: int, end0: int) -> list[tuple[int, int, int, float, float]]:
        """Homopolymer runs inside ``[start0, end0)``.

        Returns ``(start0, length, base_code, p_deletion, p_insertion)`` tuples;
        the probabilities are per read covering the whole run.
        """
        seq = self.reference.fetch(contig, start0, end0)
        out = []
        i = 0
        while i < len(seq):
            j = i
            while j < len(seq) and seq[j] == seq[i]:
                j += 1
            n = j - i
            if n >= self.homopolymer_min and seq[i] in _BASES:
                p = min(0.01, self.homopolymer_indel_rate
                        * self.homopolymer_growth ** (n - self.homopolymer_min))
                out.append((start0 + i, n, _BASES.index(seq[i]), p, p / 2))
            i = j
        return out

    def cycle_factors(self, length: int) -> np.ndarray:
        """Relative error per cycle, shape ``(2, length)`` for read 1 and read 2."""
        x = np.arange(length) / max(length - 1, 1)
        f = 1.0 + (self.cycle_increase - 1.0) * x * x
        f /= f.mean()
        scale = 2.0 / (1.0 + self.read2_factor)
        return np.stack([f * scale, f * scale * self.read2_factor])


# ---------------------------------------------------------------------------
# Input parsing helpers
# ---------------------------------------------------------------------------

def _read_bed(path: str | os.PathLike[str]) -> list[Amplicon]:
    """Read amplicons from a BED file (0-based half-open; 4th column = name)."""
    from deepamp.io.regions import read_bed

    return [Amplicon(r.contig, r.start, r.end, r.name or f"{r.contig}:{r.start + 1}-{r.end}")
            for r in read_bed(path)]


def _make_spike(where: str, contig: str, pos: str, ref: str, alt: str, vaf: str,
                group: str | None) -> Spike:
    try:
        ipos = int(pos)
    except ValueError:
        raise FormatError(f"{where}: position {pos!r} is not an integer") from None
    try:
        fvaf = float(vaf)
    except ValueError:
        raise FormatError(f"{where}: VAF {vaf!r} is not a number") from None
    return Spike(contig, ipos, ref.upper(), alt.upper(), fvaf, group or None)


def parse_spike(text: str) -> Spike:
    """Parse ``CONTIG:POS:REF:ALT:VAF[:GROUP]`` (the ``--spike`` syntax).

    Raises
    ------
    FormatError
        If the string does not have 5 or 6 fields or POS/VAF are not numbers.
    """
    parts = text.split(":")
    if len(parts) not in (5, 6) or not all(parts[:5]):
        raise FormatError(f"--spike {text!r}: expected CONTIG:POS:REF:ALT:VAF[:GROUP]")
    return _make_spike(f"--spike {text!r}", *parts[:5], parts[5] if len(parts) == 6 else None)


def read_spikes_tsv(path: str | os.PathLike[str]) -> list[Spike]:
    """Read spikes from a TSV: contig, pos, ref, alt, vaf[, molecule_group].

    Lines starting with ``#`` and a header line whose second column is not a
    number are skipped.

    Raises
    ------
    InputFileError
        If the file cannot be read.
    FormatError
        If a line is malformed (the message gives ``file:line``).
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except FileNotFoundError:
        raise InputFileError(f"{path}: spikes TSV file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path}: cannot read spikes TSV ({exc})") from None
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.rstrip("\r").split("\t")
        if n == 1 and len(cols) > 1 and not cols[1].strip().isdigit():
            continue  # header
        if len(cols) not in (5, 6) or not all(c.strip() for c in cols[:5]):
            raise FormatError(f"{path}:{n}: expected 5 or 6 tab-separated columns "
                              "(contig, pos, ref, alt, vaf[, molecule_group])")
        group = cols[5].strip() if len(cols) == 6 and cols[5].strip() not in ("", ".") else None
        out.append(_make_spike(f"{path}:{n}", *(c.strip() for c in cols[:5]), group))
    return out


def _validate_spikes(ref: Reference, spikes: Sequence[Spike], amplicons: Sequence[Amplicon],
                     read_length: int, primers: tuple[int, int] = (0, 0)) -> None:
    seen = set()
    for s in spikes:
        where = f"spike {s.label()}"
        if not 0.0 <= s.vaf <= 1.0 or math.isnan(s.vaf):
            raise FormatError(f"{where}: VAF {s.vaf} is outside [0, 1]")
        if not s.ref or not s.alt or set(s.ref + s.alt) - set(_BASES):
            raise FormatError(f"{where}: REF and ALT must be non-empty A/C/G/T strings")
        if s.ref == s.alt:
            raise FormatError(f"{where}: REF equals ALT")
        if len(s.ref) != len(s.alt) and s.ref[0] != s.alt[0]:
            raise FormatError(f"{where}: indel REF and ALT must share their first (anchor) base")
        if s.pos < 1:
            raise FormatError(f"{where}: position must be >= 1")
        if not ref.has(s.contig):
            raise RegionError(f"{where}: contig {s.contig!r} is not in the reference {ref.path}")
        if not ref.covers(s.contig, s.start0, s.end0):
            raise RegionError(f"{where}: outside the reference {ref.path}")
        actual = ref.fetch(s.contig, s.start0, s.end0)
        if actual != s.ref:
            raise FormatError(f"{where}: REF {s.ref} does not match the reference "
                              f"({actual} at {s.contig}:{s.pos} in {ref.path})")
        if not any(_covered(a, s, read_length, primers) for a in amplicons):
            raise RegionError(f"{where}: not inside the sequenced part of any amplicon"
                              + (" outside its primers" if any(primers) else ""))
        key = (s.contig, s.pos, s.ref, s.alt)
        if key in seen:
            raise FormatError(f"{where}: the same variant is spiked twice")
        seen.add(key)


def _covered(a: Amplicon, s: Spike, read_length: int, primers: tuple[int, int] = (0, 0)) -> bool:
    """Whether the reads of amplicon ``a`` read spike ``s`` from the template (not under a primer)."""
    if a.contig != s.contig or s.start0 < a.start0 + primers[0] or s.end0 > a.end0 - primers[1]:
        return False
    lo, hi = s.start0, s.end0
    return lo < a.start0 + read_length or hi > a.end0 - read_length


# ---------------------------------------------------------------------------
# Read construction
# ---------------------------------------------------------------------------

def _cigar(refpos: np.ndarray, clip_left: int, clip_right: int) -> tuple[int, int, str]:
    """(first aligned ref pos, end, CIGAR) of a read whose bases map to ``refpos``.

    ``refpos`` is -1 for inserted bases; clipped bases become ``S``.
    """
    n = len(refpos)
    a, b = clip_left, n - clip_right
    while a < b and refpos[a] < 0:
        a += 1
    while b > a and refpos[b - 1] < 0:
        b -= 1
    ops: list[list] = []

    def add(length: int, op: str) -> None:
        if ops and ops[-1][1] == op:
            ops[-1][0] += length
        else:
            ops.append([length, op])

    if a:
        add(a, "S")
    prev = -1
    rp_list = refpos[a:b].tolist()
    for rp in rp_list:
        if rp < 0:
            add(1, "I")
        else:
            if prev >= 0 and rp > prev + 1:
                add(rp - prev - 1, "D")
            add(1, "M")
            prev = rp
    if n - b:
        add(n - b, "S")
    first = int(refpos[a])
    return first, prev + 1, "".join(f"{n_}{op}" for n_, op in ops)


@dataclass
class _Key:
    """A distinct read layout: molecule haplotype x side x read number x indel error x clip."""

    bases: np.ndarray          # true read bases (ref orientation), uint8 codes
    refpos: np.ndarray         # aligned ref position per base, -1 = insertion
    pos: int
    end: int
    cigar: str
    strand: int                # 0 forward, 1 reverse
    readnum: int               # 1 or 2
    rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    seq: np.ndarray | None = None
    qual: np.ndarray | None = None
    index_of: dict[int, int] | None = None
    row_of: dict[int, int] | None = None


def _haplotype_map(ref_codes: np.ndarray, start0: int, edits: Sequence[Spike]) -> tuple[np.ndarray, np.ndarray]:
    """Molecule bases and their reference positions with ``edits`` applied."""
    bases: list[int] = []
    refpos: list[int] = []
    i = 0
    n = len(ref_codes)
    for s in sorted(edits, key=lambda e: e.start0):
        k = s.start0 - start0
        bases.extend(ref_codes[i:k].tolist())
        refpos.extend(range(start0 + i, start0 + k))
        common = min(len(s.ref), len(s.alt))
        for j in range(common):
            bases.append(_BASES.index(s.alt[j]))
            refpos.append(s.start0 + j)
        for j in range(common, len(s.alt)):
            bases.append(_BASES.index(s.alt[j]))
            refpos.append(-1)
        i = k + len(s.ref)
    bases.extend(ref_codes[i:n].tolist())
    refpos.extend(range(start0 + i, start0 + n))
    return np.array(bases, dtype=np.uint8), np.array(refpos, dtype=np.int64)


def _quality_tables(model: str, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-cycle cumulative bin probabilities (NovaSeq) or mean/sd (HiSeq)."""
    x = np.arange(length) / max(length - 1, 1)
    if model == "novaseq":
        p37 = 0.958 - 0.10 * x ** 2
        p23 = 0.030 + 0.06 * x ** 2
        p12 = 0.010 + 0.03 * x ** 2
        ok = np.stack([p37, p37 + p23, p37 + p23 + p12], axis=1)
        err = np.tile([0.45, 0.70, 0.88], (length, 1))
        return ok, err
    mean = 38.0 - 8.0 * x ** 1.5
    return np.stack([mean, np.full(length, 2.5)], axis=1), np.tile([22.0, 8.0], (length, 1))


def _draw_quality(rng: np.random.Generator, model: str, tables: tuple[np.ndarray, np.ndarray],
                  cycles: np.ndarray, err: np.ndarray) -> np.ndarray:
    """Reported qualities; bases with a sequencing error get lower ones on average."""
    ok_t, err_t = tables
    n, m = err.shape
    ei, ej = np.nonzero(err)
    if model == "novaseq":
        v = rng.random((n, m), dtype=np.float32)
        thr = ok_t[cycles].astype(np.float32)
        idx = ((v >= thr[:, 0]).view(np.uint8) + (v >= thr[:, 1]).view(np.uint8)
               + (v >= thr[:, 2]).view(np.uint8))
        if len(ei):
            idx[ei, ej] = (v[ei, ej][:, None] >= err_t[cycles[ej]]).sum(axis=1)
        return _NOVASEQ_BINS[idx]
    z = rng.standard_normal((n, m), dtype=np.float32)
    q = ok_t[cycles, 0].astype(np.float32) + ok_t[cycles, 1].astype(np.float32) * z
    if len(ei):
        q[ei, ej] = err_t[cycles[ej], 0] + err_t[cycles[ej], 1] * z[ei, ej]
    return np.clip(np.rint(q), 2, 41).astype(np.uint8)


def _simulate_amplicon(amp: Amplicon, amp_index: int, ref: Reference, profile: RunErrorProfile,
                       spikes: Sequence[Spike], *, n_pairs: int, read_length: int,
                       sample_seed: int, quality_model: str, swap_fraction: float,
                       softclip_fraction: float, duplicate_fraction: float,
                       low_mapq_fraction: float, pcr_error_rate: float, q2_tail_fraction: float,
                       tid_name: str, sample: str, out, counts: dict,
                       fastq: tuple[BinaryIO, BinaryIO] | None = None,
                       primers: tuple[int, int] = (0, 0)) -> int:
    rng = np.random.default_rng(np.random.SeedSequence(
        [sample_seed & 0xFFFFFFFF, zlib.crc32(f"{amp.contig}:{amp.start0}-{amp.end0}".encode()),
         amp_index]))
    N = n_pairs
    L = read_length
    ref_seq = ref.fetch(amp.contig, amp.start0, amp.end0)
    ref_codes = _CODE[np.frombuffer(ref_seq.encode(), dtype=np.uint8)]
    # Under a primer the molecule has the oligo's bases (the reference): spikes there are not in this amplicon.
    mine = [s for s in spikes if _covered(amp, s, L, primers)]
    if len(mine) > 62:
        raise FormatError(f"amplicon {amp.name}: more than 62 spikes")

    # -- which molecules carry which spikes ------------------------------
    groups: dict[str, list[int]] = {}
    for j, s in enumerate(mine):
        groups.setdefault(s.molecule_group if s.molecule_group is not None else f"\0{j}", []).append(j)
    u = rng.random(N)
    mask = np.zeros(N, dtype=np.int64)
    offset = 0.0
    for label, members in groups.items():
        spans = sorted((mine[j].start0, mine[j].end0) for j in members)
        if any(spans[k][1] > spans[k + 1][0] for k in range(len(spans) - 1)):
            raise FormatError(f"molecule group {label.lstrip(chr(0))!r}: its spikes overlap each "
                              "other and cannot sit on the same molecules")
        for j in members:
            hit = (u >= offset) & (u < offset + mine[j].vaf)
            mask |= hit.astype(np.int64) << j
        offset += max(mine[j].vaf for j in members)
    if offset > 1.0 + 1e-9:
        raise FormatError(f"amplicon {amp.name}: the VAFs of spikes on disjoint molecules (different "
                          f"molecule groups) sum to {offset:g} > 1")
    hap_masks, hap_of = np.unique(mask, return_inverse=True)
    haps = [_haplotype_map(ref_codes, amp.start0, [mine[j] for j in range(len(mine)) if (hm >> j) & 1])
            for hm in hap_masks.tolist()]
    for j, s in enumerate(mine):
        counts[(s.contig, s.pos, s.ref, s.alt)][0] += N
        counts[(s.contig, s.pos, s.ref, s.alt)][1] += int(((mask >> j) & 1).sum())

    # -- per-read attributes -----------------------------------------------
    swap = rng.random(N) < swap_fraction              # read 1 is the reverse (right) read
    readnum = np.stack([np.where(swap, 2, 1), np.where(swap, 1, 2)])   # side 0 left, side 1 right
    homos = profile.homopolymers(amp.contig, amp.start0, amp.end0)
    clip = np.zeros((2, N), dtype=np.int64)
    indel = np.full((2, N), -1, dtype=np.int64)
    for side in (0, 1):
        lo, hi = (amp.start0, amp.start0 + L) if side == 0 else (amp.end0 - L, amp.end0)
        elig = [(k, h) for k, h in enumerate(homos) if h[0] >= lo and h[0] + h[1] <= hi]
        if elig:
            probs = np.array([p for _, h in elig for p in (h[3], h[4])])
            cum = np.cumsum(probs)
            r = rng.random(N)
            hit = r < cum[-1]
            which = np.searchsorted(cum, r[hit], side="right")
            ev = np.array([2 * k + t for k, _ in elig for t in (0, 1)])
            indel[side, hit] = ev[which]
        c = rng.random(N) < softclip_fraction
        clip[side, c] = rng.integers(1, 16, size=int(c.sum()))

    key_list: list[_Key] = []
    key_of = np.empty((2, N), dtype=np.int64)
    if 2 * len(homos) + 1 >= 1 << 14:
        raise FormatError(f"amplicon {amp.name}: too many homopolymers")
    key_rows: list[np.ndarray] = []
    for side in (0, 1):
        # One integer per read describing its layout: haplotype, read number, indel error, clip.
        code = (hap_of.astype(np.int64) << 24) | (readnum[side] << 22) | ((indel[side] + 1) << 8) \
            | clip[side]
        uniq, inv, cnt = np.unique(code, return_inverse=True, return_counts=True)
        order = np.argsort(inv.reshape(-1), kind="stable")
        bounds = np.concatenate([[0], np.cumsum(cnt)])
        first_key = len(key_list)
        for ui, c in enumerate(uniq.tolist()):
            hap, rn, ind, cl = c >> 24, (c >> 22) & 3, ((c >> 8) & 0x3FFF) - 1, c & 0xFF
            bases, refpos = haps[hap]
            if ind >= 0:
                h = homos[ind // 2]
                where = np.nonzero(refpos == h[0])[0]
                if len(where):
                    w = int(where[0])
                    if ind % 2 == 0:
                        bases = np.delete(bases, w)
                        refpos = np.delete(refpos, w)
                    else:
                        bases = np.insert(bases, w, h[2])
                        refpos = np.insert(refpos, w, -1)
            m = min(L, len(bases))
            sl = slice(0, m) if side == 0 else slice(len(bases) - m, len(bases))
            rb, rp = bases[sl], refpos[sl]
            cl = min(cl, m - 30) if m > 40 else 0
            pos, end, cig = _cigar(rp, cl if side == 1 else 0, cl if side == 0 else 0)
            key_list.append(_Key(rb, rp, pos, end, cig, side, rn))
            key_rows.append(order[bounds[ui]:bounds[ui + 1]])
        key_of[side] = inv.reshape(-1) + first_key

    # -- sequencing errors and qualities per key -----------------------------
    site_mult = profile.site_multipliers(amp.contig, amp.start0, amp.end0)
    hot = profile.hotspots(amp.contig, amp.start0, amp.end0)
    cyc = profile.cycle_factors(L)
    qtab = _quality_tables(quality_model, L)
    tail = rng.random((2, N)) < q2_tail_fraction
    tail_len = rng.integers(1, 31, size=(2, N))
    for k_id, key in enumerate(key_list):
        rows = key_rows[k_id]
        key.rows = rows
        n, m = len(rows), len(key.bases)
        cycles = np.arange(m) if key.strand == 0 else np.arange(m)[::-1]
        rp = key.refpos
        inside = rp >= 0
        mult = np.ones(m)
        mult[inside] = site_mult[key.strand, rp[inside] - amp.start0]
        bg = profile.mean_error_rate * mult * cyc[key.readnum - 1, cycles]
        tb = key.bases
        probs = np.zeros((m, 4))
        valid = tb < 4
        probs[valid] = bg[valid, None] * _SPECTRUM[tb[valid]]
        strand_char = "+-"[key.strand]
        for h in hot:
            if h.level != "read" or h.strand != strand_char or h.read not in (0, key.readnum):
                continue
            idx = np.nonzero(rp == h.pos - 1)[0]
            if len(idx) and tb[idx[0]] == _BASES.index(h.ref):
                probs[idx[0], _BASES.index(h.alt)] += h.rate
        perr = probs.sum(axis=1)
        cond = np.cumsum(probs / np.where(perr > 0, perr, 1)[:, None], axis=1)
        # Q2 ("B") tails at the 3' end: 5x the error, quality 2.
        tmask = None
        if tail[key.strand, rows].any():
            tl = np.where(tail[key.strand, rows], tail_len[key.strand, rows], 0)
            tmask = cycles[None, :] >= (m - tl)[:, None]
        pmat = np.broadcast_to(perr, (n, m)) if tmask is None else perr[None, :] * (1 + 4 * tmask)
        err = rng.random((n, m), dtype=np.float32) < pmat
        seq = np.broadcast_to(tb, (n, m)).copy()
        ei, ej = np.nonzero(err)
        if len(ei):
            v = rng.random(len(ei))
            seq[ei, ej] = (v[:, None] >= cond[ej, :3]).sum(axis=1)
        qual = _draw_quality(rng, quality_model, qtab, cycles, err)
        if tmask is not None:
            qual[tmask] = 2
        qual[seq == 4] = 2
        key.seq, key.qual = seq, qual

    # -- molecule-level changes: oxoG-like hot spots and PCR errors -----------
    # (molecule indices, ref pos0, new base code or -1-k for "k-th other base", required true base)
    events: list[tuple[np.ndarray, int, int, int]] = []
    for h in hot:
        if h.level != "molecule":
            continue
        # Pairs whose read 1 is on h.strand: read 1 forward (not swapped) for "+".
        cls = ~swap if h.strand == "+" else swap
        hit = np.nonzero(cls & (rng.random(N) < h.rate))[0]
        if len(hit):
            events.append((hit, h.pos - 1, _BASES.index(h.alt), _BASES.index(h.ref)))
    n_pcr = rng.poisson(pcr_error_rate * amp.length, size=N)
    template = (amp.start0 + primers[0], amp.end0 - primers[1])     # primer bases carry no template errors
    for mol in np.nonzero(n_pcr)[0].tolist():
        for _ in range(int(n_pcr[mol])):
            p = amp.start0 + int(rng.integers(0, amp.length))
            change = -1 - int(rng.integers(0, 3))
            if template[0] <= p < template[1]:
                events.append((np.array([mol]), p, change, -1))
    for mols, p, new, need in events:
        for side in (0, 1):
            for mol in mols.tolist():
                key = key_list[key_of[side, mol]]
                if key.index_of is None:
                    key.index_of = {r: i for i, r in enumerate(key.refpos.tolist()) if r >= 0}
                    key.row_of = {r: i for i, r in enumerate(key.rows.tolist())}
                i = key.index_of.get(p)
                if i is None:
                    continue
                true = key.bases[i]
                if new >= 0:
                    if true != need:
                        continue
                    base = new
                else:
                    if true == 4:
                        continue
                    base = [x for x in range(4) if x != true][-1 - new]
                key.seq[key.row_of[mol], i] = base

    # -- SAM lines ------------------------------------------------------------
    dup = rng.random(N) < duplicate_fraction
    mapq = np.full((2, N), 60, dtype=np.int64)
    low = rng.random((2, N)) < low_mapq_fraction
    mapq[low] = rng.choice(np.array([0, 1, 3, 12, 25]), size=int(low.sum()))
    seq_rows: list[list[bytes]] = []
    qual_rows: list[list[bytes]] = []
    row_index = np.empty((2, N), dtype=np.int64)
    for key in key_list:
        n, m = key.seq.shape
        sb = _ASCII[key.seq].tobytes()
        qb = (key.qual + 33).astype(np.uint8).tobytes()
        seq_rows.append([sb[i * m:(i + 1) * m] for i in range(n)])
        qual_rows.append([qb[i * m:(i + 1) * m] for i in range(n)])
        row_index[key.strand, key.rows] = np.arange(n)
    pos = [np.array([k.pos for k in key_list])[key_of[s]] for s in (0, 1)]
    end = [np.array([k.end for k in key_list])[key_of[s]] for s in (0, 1)]
    tlen = (np.maximum(end[0], end[1]) - np.minimum(pos[0], pos[1])).tolist()
    cigars = [k.cigar.encode() for k in key_list]
    rg = sample.encode()
    chrom = tid_name.encode()
    lines = []
    name_prefix = amp.name.encode()
    kof = key_of.tolist()
    rix = row_index.tolist()
    posl = [p.tolist() for p in pos]
    mq = mapq.tolist()
    swap_l = swap.tolist()
    dup_l = dup.tolist()
    fq_lines: tuple[list[bytes], list[bytes]] = ([], [])
    for mol in range(N):
        name = b"%s:%d" % (name_prefix, mol)
        base_flag = 1 | 2 | (1024 if dup_l[mol] else 0)
        for side in (0, 1):
            other = 1 - side
            k = kof[side][mol]
            ko = kof[other][mol]
            r1 = (side == 0) != swap_l[mol]
            flag = base_flag | (16 if side else 32) | (64 if r1 else 128)
            t = tlen[mol] if side == 0 else -tlen[mol]
            seq, qual = seq_rows[k][rix[side][mol]], qual_rows[k][rix[side][mol]]
            lines.append(b"%s\t%d\t%s\t%d\t%d\t%s\t=\t%d\t%d\t%s\t%s\tRG:Z:%s\tMC:Z:%s\n" % (
                name, flag, chrom, posl[side][mol] + 1, mq[side][mol], cigars[k],
                posl[other][mol] + 1, t, seq, qual, rg, cigars[ko]))
            if fastq is not None:
                # as sequenced: the reverse (right) read is reverse-complemented back
                if side:
                    seq, qual = seq.translate(_COMPLEMENT)[::-1], qual[::-1]
                fq_lines[0 if r1 else 1].append(b"@%s\n%s\n+\n%s\n" % (name, seq, qual))
    out.write(b"".join(lines))
    if fastq is not None:
        for fh, records in zip(fastq, fq_lines):
            fh.write(b"".join(records))
    return 2 * N



# ---------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------

def _gzip_writer(stack: contextlib.ExitStack, path: str) -> BinaryIO:
    """A gzip stream on ``path`` with no name or time stamp in its header (reproducible bytes)."""
    raw = stack.enter_context(open(path, "wb"))
    return stack.enter_context(gzip.GzipFile(fileobj=raw, mode="wb", filename="", mtime=0, compresslevel=6))


def fastq_names(prefix: str | os.PathLike[str]) -> tuple[str, str]:
    """``PREFIX_R1.fastq.gz`` and ``PREFIX_R2.fastq.gz`` (absolute paths).

    Raises
    ------
    OutputError
        The prefix is empty or names a directory.
    """
    prefix = os.fspath(prefix)
    if not prefix or prefix.endswith(os.sep) or os.path.isdir(prefix):
        raise OutputError(f"--fastq {prefix!r}: give a file name prefix (PREFIX_R1.fastq.gz is written), "
                          "not a directory")
    prefix = os.path.abspath(prefix)
    return prefix + "_R1.fastq.gz", prefix + "_R2.fastq.gz"


def simulate(reference: Reference | str | os.PathLike[str],
             amplicons: Sequence[Amplicon] | str | os.PathLike[str],
             out_bam: str | os.PathLike[str], *,
             pairs_per_amplicon: int = 25000, read_length: int = 150,
             spikes: Iterable[Spike] = (), run_seed: int = 1, sample_seed: int = 2,
             contig_length: int | Mapping[str, int] | None = None,
             error_profile: RunErrorProfile | None = None,
             quality_model: str = "novaseq", sample: str | None = None,
             swap_fraction: float = 0.5, softclip_fraction: float = 0.01,
             duplicate_fraction: float = 0.0, low_mapq_fraction: float = 0.002,
             pcr_error_rate: float = 1e-5, q2_tail_fraction: float = 0.02,
             threads: int = 1, fastq: str | os.PathLike[str] | None = None,
             primer_length: int | tuple[int, int] = 0,
             copy_number: Mapping[str, float] | None = None, amplicon_jitter_sd: float = 0.0,
             amplicon_efficiency_sd: float = 0.0) -> SimulationResult:
    """Simulate paired-end amplicon reads into a coordinate-sorted, indexed BAM.

    Parameters
    ----------
    reference : Reference or path
        Reference FASTA (slice records such as ``chr2:29191796-29223795`` work).
    amplicons : sequence of Amplicon, or path of a BED file
        Amplicons, primer end to primer end.  Names must be unique.
    out_bam : path
        Output BAM.  ``out_bam + ".bai"`` and ``out_bam`` with ``.truth.tsv``
        (replacing a ``.bam`` suffix) are written next to it.
    pairs_per_amplicon : int
        Read pairs (fragments) per amplicon.
    read_length : int
        Read length; reads are trimmed to the amplicon when it is shorter.
    spikes : iterable of Spike
        Variants to spike in (see :class:`Spike` for the cis/trans rules).
    run_seed, sample_seed : int
        Seeds of the run-level error profile and of the sample.
    contig_length : int or mapping, optional
        ``@SQ LN`` of the contigs (an int applies to every contig).  Default:
        the end of the reference slice (GRCh38: chr2 242193529, chr6 170805979).
    error_profile : RunErrorProfile, optional
        Overrides the profile built from ``run_seed`` and the reference.
    quality_model : {"novaseq", "hiseq"}
        Binned 2/12/23/37 qualities, or 2..41 with a per-cycle decline.  Either
        way qualities are over-confident: Q37 claims 2e-4 but the true error
        rate of Q37 bases is about 1e-3.
    sample : str, optional
        ``@RG`` ID/SM; default: the output file name without ``.bam``.
    swap_fraction : float
        Fraction of pairs whose read 1 is the reverse read.
    softclip_fraction : float
        Fraction of reads soft-clipped by 1-15 bases at their 3' end.
    duplicate_fraction : float
        Fraction of pairs flagged as duplicates (0x400).
    low_mapq_fraction : float
        Fraction of reads given a MAPQ below 60 (0, 1, 3, 12 or 25).
    pcr_error_rate : float
        Per-base, per-molecule polymerase error rate (seen by both mates).
    q2_tail_fraction : float
        Fraction of reads ending in a quality-2 tail of 1-30 bases (5x errors).
    threads : int
        Threads for sorting/compression.
    fastq : path prefix, optional
        Also write the read pairs as they came off the sequencer to ``PREFIX_R1.fastq.gz`` and
        ``PREFIX_R2.fastq.gz``: the reverse read reverse-complemented back (qualities reversed),
        soft-clipped bases kept, read 1 and read 2 in the same order, names without ``/1``/``/2``.
        All outputs appear together or none does.
    primer_length : int or (int, int)
        Bases of primer at the left and right end of every amplicon (one int: both).  Those bases
        of every molecule come from the primer oligo, i.e. the reference: a spiked variant under a
        primer is not in that amplicon's reads, and no polymerase error of the template is either
        (sequencing errors still are).  Default 0: every base is template.
    copy_number : mapping of amplicon name to factor, optional
        Copy-number change of the sample: the named amplicon gets ``factor`` times the molecules
        (its depth ratio to a normal sample, e.g. 2.0 for a gain, 0.5 for a loss).  Default: none.
    amplicon_jitter_sd : float
        Sample-to-sample variation of each amplicon's PCR yield: its molecule count is multiplied
        by ``exp(sd * z)``, z standard normal, drawn from ``sample_seed`` (0.05 is about 5 %).
        Default 0: every amplicon gets ``pairs_per_amplicon`` pairs.
    amplicon_efficiency_sd : float
        Run-level (per-assay) amplicon efficiency: like the jitter, but drawn from ``run_seed``
        and the amplicon's coordinates, so every sample of the run shares it.  Default 0.

    Returns
    -------
    SimulationResult

    Raises
    ------
    FormatError
        Malformed spike (bad VAF, REF not matching the reference, bad alleles),
        trans VAFs summing to more than 1, bad BED lines.
    RegionError
        Spike outside every amplicon, amplicon outside the reference or
        beyond ``contig_length``, duplicate amplicon names.
    ReferenceFileError, InputFileError
        Unreadable reference or BED file.
    OutputError
        The output cannot be written.
    ValueError
        Non-positive counts/lengths, unknown quality model, fractions outside [0, 1], a negative
        or non-finite copy-number factor or standard deviation.
    """
    t0 = time.perf_counter()
    own_ref = not isinstance(reference, Reference)
    ref = Reference(reference) if own_ref else reference
    try:
        return _simulate(ref, amplicons, os.fspath(out_bam), pairs_per_amplicon, read_length,
                         list(spikes), run_seed, sample_seed, contig_length, error_profile,
                         quality_model, sample, swap_fraction, softclip_fraction,
                         duplicate_fraction, low_mapq_fraction, pcr_error_rate,
                         q2_tail_fraction, threads, t0, fastq, primer_length,
                         dict(copy_number or {}), amplicon_jitter_sd, amplicon_efficiency_sd)
    finally:
        if own_ref:
            ref.close()


def _simulate(ref: Reference, amplicons, out_bam: str, pairs: int, read_length: int,
              spikes: list[Spike], run_seed: int, sample_seed: int, contig_length,
              profile: RunErrorProfile | None, quality_model: str, sample: str | None,
              swap_fraction: float, softclip_fraction: float, duplicate_fraction: float,
              low_mapq_fraction: float, pcr_error_rate: float, q2_tail_fraction: float,
              threads: int, t0: float, fastq: str | os.PathLike[str] | None,
              primer_length: int | tuple[int, int], copy_number: dict[str, float],
              jitter_sd: float, efficiency_sd: float) -> SimulationResult:
    if isinstance(pairs, bool) or not isinstance(pairs, (int, np.integer)) or pairs < 1:
        raise ValueError(f"pairs_per_amplicon must be a positive integer (got {pairs!r})")
    if not isinstance(read_length, (int, np.integer)) or read_length < 30:
        raise ValueError(f"read_length must be an integer >= 30 (got {read_length!r})")
    if quality_model not in QUALITY_MODELS:
        raise ValueError(f"quality_model must be one of {', '.join(QUALITY_MODELS)} "
                         f"(got {quality_model!r})")
    for name, v in (("swap_fraction", swap_fraction), ("softclip_fraction", softclip_fraction),
                    ("duplicate_fraction", duplicate_fraction),
                    ("low_mapq_fraction", low_mapq_fraction), ("pcr_error_rate", pcr_error_rate),
                    ("q2_tail_fraction", q2_tail_fraction)):
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"{name} must be in [0, 1] (got {v})")
    primers = (primer_length, primer_length) if isinstance(primer_length, (int, np.integer)) else tuple(primer_length)
    if len(primers) != 2 or not all(isinstance(x, (int, np.integer)) and x >= 0 for x in primers):
        raise ValueError(f"primer_length must be an integer >= 0 or a (left, right) pair of them (got {primer_length!r})")
    primers = (int(primers[0]), int(primers[1]))
    amps = _read_bed(amplicons) if isinstance(amplicons, (str, os.PathLike)) else list(amplicons)
    if not amps:
        raise RegionError("no amplicons to simulate")
    names = set()
    for a in amps:
        if a.name in names:
            raise RegionError(f"amplicon name {a.name!r} is used twice")
        names.add(a.name)
        if not ref.has(a.contig):
            raise RegionError(f"amplicon {a.name}: contig {a.contig!r} is not in the reference {ref.path}")
        if a.end0 <= a.start0 or not ref.covers(a.contig, a.start0, a.end0):
            raise RegionError(f"amplicon {a.name} ({a.contig}:{a.start0 + 1}-{a.end0}) is outside "
                              f"the reference {ref.path} ({ref.describe(a.contig)})")
        if sum(primers) >= a.length:
            raise RegionError(f"amplicon {a.name} ({a.length} bp) is too short for primers of "
                              f"{primers[0]} + {primers[1]} bases")
    _validate_spikes(ref, spikes, amps, read_length, primers)
    n_pairs = _amplicon_pairs(amps, int(pairs), copy_number, jitter_sd, efficiency_sd, run_seed, sample_seed)
    if profile is None:
        profile = RunErrorProfile(ref, run_seed)

    # @SQ lines: every reference contig, in reference order.
    lengths: dict[str, int] = {}
    for name in ref.names:
        last = ref.span(name)[1]
        if contig_length is None:
            ln = last
        elif isinstance(contig_length, Mapping):
            ln = int(contig_length.get(name, last))
        else:
            ln = int(contig_length)
        lengths[name] = ln
    for a in amps:
        if a.end0 > lengths[a.contig]:
            raise RegionError(f"amplicon {a.name} ends at {a.end0}, beyond the contig length "
                              f"{lengths[a.contig]} of {a.contig}")
    for name, ln in lengths.items():
        if ln < ref.span(name)[1]:
            raise RegionError(f"contig length {ln} of {name} is shorter than the reference, "
                              f"which reaches {ref.span(name)[1]}")

    out_bam = os.path.abspath(out_bam)
    base = out_bam[:-4] if out_bam.endswith(".bam") else out_bam
    truth_path = base + ".truth.tsv"
    bai_path = out_bam + ".bai"
    fastq_paths = fastq_names(fastq) if fastq is not None else None
    if sample is None:
        sample = os.path.basename(base) or "sample"
    if any(c in sample for c in "\t\n\r") or not sample:
        raise ValueError(f"sample name {sample!r} is empty or has whitespace control characters")
    out_dir = os.path.dirname(out_bam)
    if not os.path.isdir(out_dir):
        raise OutputError(f"{out_bam}: output directory {out_dir} does not exist")
    outputs = [out_bam, bai_path, truth_path, *(fastq_paths or ())]
    check_distinct(outputs, [ref.path])
    counts = {(s.contig, s.pos, s.ref, s.alt): [0, 0] for s in spikes}
    from deepamp._version import __version__
    try:
        # Every output is staged: the BAM, its index, the truth table and the FASTQs appear together or not at all.
        with staged(*outputs, suffixes=[".bam", ".bai", ".tsv", ".fastq.gz", ".fastq.gz"][:len(outputs)]) as tmps, \
                work_directory(out_bam) as work:
            tmp_bam, tmp_bai, tmp_truth, *tmp_fastq = tmps
            tmp_sam = os.path.join(work, "reads.sam")
            n_reads = 0
            with open(tmp_sam, "wb") as fh, contextlib.ExitStack() as stack:
                fq = tuple(_gzip_writer(stack, p) for p in tmp_fastq) or None
                header = ["@HD\tVN:1.6\tSO:coordinate"]
                header += [f"@SQ\tSN:{n}\tLN:{ln}" for n, ln in lengths.items()]
                header.append(f"@RG\tID:{sample}\tSM:{sample}\tLB:{sample}\tPL:ILLUMINA")
                header.append(f"@PG\tID:deepamp-simulate\tPN:deepamp\tVN:{__version__}\tCL:deepamp "
                              f"simulate --pairs {pairs} --read-length {read_length} --run-seed "
                              f"{run_seed} --seed {sample_seed} --quality-model {quality_model}"
                              + (f" --primer-length {primers[0]},{primers[1]}" if any(primers) else "")
                              + "".join(f" --copy-number {k}={v:g}" for k, v in copy_number.items())
                              + (f" --amplicon-jitter {jitter_sd:g}" if jitter_sd else "")
                              + (f" --amplicon-efficiency-sd {efficiency_sd:g}" if efficiency_sd else ""))
                fh.write(("\n".join(header) + "\n").encode())
                for i, a in enumerate(amps):
                    n_reads += _simulate_amplicon(
                        a, i, ref, profile, spikes, n_pairs=n_pairs[i], read_length=int(read_length),
                        sample_seed=sample_seed, quality_model=quality_model,
                        swap_fraction=swap_fraction, softclip_fraction=softclip_fraction,
                        duplicate_fraction=duplicate_fraction, low_mapq_fraction=low_mapq_fraction,
                        pcr_error_rate=pcr_error_rate, q2_tail_fraction=q2_tail_fraction,
                        tid_name=a.contig, sample=sample, out=fh, counts=counts, fastq=fq, primers=primers)
            try:
                pysam.sort("-o", tmp_bam, "-O", "bam", "--no-PG", "-@", str(max(1, threads)),
                           "-T", os.path.join(work, "sorttmp"), tmp_sam, catch_stdout=False)
                pysam.index("-o", tmp_bai, tmp_bam, catch_stdout=False)
            except pysam.SamtoolsError as exc:
                raise OutputError(f"{out_bam}: sorting/indexing the simulated reads failed "
                                  f"({str(exc).strip().splitlines()[-1] if str(exc).strip() else exc})") from None
            records = []
            for s in spikes:
                total, obs = counts[(s.contig, s.pos, s.ref, s.alt)]
                records.append(TruthRecord(s.contig, s.pos, s.ref, s.alt, s.vaf, total, s.vaf * total,
                                           obs, s.molecule_group if s.molecule_group is not None else "."))
            with open(tmp_truth, "w", encoding="utf-8") as fh:
                fh.write("#contig\tpos\tref\talt\tvaf\tfragments\texpected_alt_fragments\t"
                         "observed_alt_fragments\tmolecule_group\n")
                for r in records:
                    fh.write(f"{r.contig}\t{r.pos}\t{r.ref}\t{r.alt}\t{r.vaf:g}\t{r.fragments}\t"
                             f"{r.expected_alt_fragments:.2f}\t{r.observed_alt_fragments}\t"
                             f"{r.molecule_group}\n")
    except OSError as exc:
        if isinstance(exc, DeepampError):
            raise
        raise OutputError(f"{out_bam}: cannot write output ({exc.strerror or exc})") from None
    hot = [h for a in amps for h in profile.hotspots(a.contig, a.start0, a.end0)]
    return SimulationResult(out_bam, bai_path, truth_path, sample, sum(n_pairs), n_reads,
                            records, hot, time.perf_counter() - t0, fastq_paths)


def _amplicon_pairs(amps: Sequence[Amplicon], pairs: int, copy_number: Mapping[str, float], jitter_sd: float,
                    efficiency_sd: float, run_seed: int, sample_seed: int) -> list[int]:
    """Read pairs of each amplicon: ``pairs`` x copy-number factor x run efficiency x sample jitter.

    With no factor and both standard deviations 0 every amplicon gets exactly ``pairs`` (and no
    random number is drawn, so such outputs are unchanged)."""
    for name, sd in (("amplicon_jitter_sd", jitter_sd), ("amplicon_efficiency_sd", efficiency_sd)):
        if not (isinstance(sd, (int, float)) and math.isfinite(sd) and sd >= 0):
            raise ValueError(f"{name} must be a finite number >= 0 (got {sd!r})")
    known = {a.name for a in amps}
    for name, f in copy_number.items():
        if name not in known:
            raise RegionError(f"copy number: no amplicon is named {name!r} (amplicons: {', '.join(sorted(known))})")
        if not (isinstance(f, (int, float)) and math.isfinite(f) and f > 0):
            raise ValueError(f"copy number of {name}: the factor must be a finite number > 0 (got {f!r})")
    out = []
    jitter = np.random.default_rng(np.random.SeedSequence([sample_seed & 0xFFFFFFFF, 0x6A177E5]))
    for a in amps:
        scale = float(copy_number.get(a.name, 1.0))
        if efficiency_sd:
            eff = np.random.default_rng(np.random.SeedSequence(
                [run_seed & 0xFFFFFFFF, zlib.crc32(f"efficiency {a.contig}:{a.start0}-{a.end0}".encode())]))
            scale *= math.exp(efficiency_sd * float(eff.standard_normal()))
        if jitter_sd:
            scale *= math.exp(jitter_sd * float(jitter.standard_normal()))
        out.append(max(1, int(round(pairs * scale))))
    return out


# ---------------------------------------------------------------------------
# CLI glue
# ---------------------------------------------------------------------------


def parse_contig_lengths(values: Sequence[str]) -> int | dict[str, int] | None:
    """``[CONTIG=]LENGTH`` values: one length for every contig, or lengths by name (FormatError if bad)."""
    if not values:
        return None
    plain = None
    named: dict[str, int] = {}
    for v in values:
        name, sep, num = v.rpartition("=")
        try:
            n = int(num)
        except ValueError:
            raise FormatError(f"--contig-length {v!r}: expected [CONTIG=]LENGTH") from None
        if n < 1:
            raise FormatError(f"--contig-length {v!r}: length must be positive")
        if sep:
            if not name:
                raise FormatError(f"--contig-length {v!r}: empty contig name")
            named[name] = n
        else:
            plain = n
    if plain is not None:
        if named:
            raise FormatError("--contig-length: give either one LENGTH or CONTIG=LENGTH values")
        return plain
    return named
