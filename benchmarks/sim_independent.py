"""An independent read simulator for deep amplicon and capture sequencing (benchmarks only).

Written from scratch for evaluating deepamp on data that deepamp's own simulator
(``deepamp.simulate``) did not shape: none of its code, parameters or error shapes
are used here.  It writes coordinate-sorted, indexed BAMs of paired reads in
GRCh38 ``chr2`` coordinates (``@SQ chr2 LN:242193529``) from a reference slice
(the shipped ``chr2:29191796-29223795`` record), plus a truth TSV of every
spiked allele and an artefact TSV of what the error processes put in the reads.

Molecules first
---------------
Every sample is a set of template molecules.  True variants (SNVs, MNVs,
insertions, deletions) are carried by an exact number of molecules
(``round(fraction x molecules covering the site)``, at least one), so the truth
VAF is a *molecule fraction*; the reads then come from a PCR genealogy of those
molecules, so the VAF seen in the reads scatters around it as it would in a
real library.  The truth TSV records both.

Modes
-----
``amplicon``
    every molecule spans one amplicon of the BED (primer to primer); read 1 and
    read 2 start at the two primers, so mates overlap over most of the
    amplicon.  Pairs come in both orientations (F1R2 / F2R1, as after adapter
    ligation), or in one (``orientation="fixed"``, as with tailed primers).
``capture``
    molecules start at random over the targets (BED regions padded by
    ``capture_pad``), with cfDNA-like lengths ~ N(170, 30) bp (Snyder MW et al.
    2016, Cell 164:57, cfDNA fragment sizes peak at ~167 bp, the nucleosome +
    linker length); reads shorter than 150 bp where the fragment is shorter
    (adapter-trimmed); each molecule is read several times (unflagged PCR
    duplicates).

Error processes (each on/off, each rate configurable)
-----------------------------------------------------
1. Cycle-dependent sequencing substitutions (:class:`SequencingErrors`).  Each
   base has a latent Phred quality that falls along the read (a power ramp
   from ``q_start`` to ``q_end``, read 2 worse than read 1) plus read-level
   (cluster) and base-level Gaussian noise; its true error probability is
   ``10^(-q/10)``, split over the three other bases by a read-orientation
   substitution spectrum that is not uniform.  Error rates that rise along
   Illumina reads, worse in read 2, and substitution spectra that are far from
   uniform are documented by Schirmer M et al. 2015 (Nucleic Acids Res
   43:e37, MiSeq amplicons) and Schirmer M et al. 2016 (BMC Bioinformatics
   17:125); Stoler N & Nekrutenko A 2021 (NAR Genom Bioinform 3:lqab019)
   measured error rates from mate overlaps in 1,943 public data sets and
   recall the early finding of a strong T>G preference.  The default spectrum
   here (A>C and T>G transversions raised, transitions next) is an
   illustrative choice after those papers, not a fit.
2. Mis-calibrated qualities (:class:`QualityReporting`).  The reported Phred is
   the latent one plus ``10 log10(overconfidence)`` (true error =
   ``overconfidence x 10^(-Q/10)``; default 4x), capped at 41, optionally
   binned to NovaSeq's four values 2/12/23/37.  Reported qualities departing
   from empirical error rates by cycle and context is the reason for base
   quality recalibration (DePristo MA et al. 2011, Nat Genet 43:491);
   systematic errors (3.) are not reflected in the qualities at all.  The bin
   values are those of Illumina's NovaSeq 6000 RTA3 quality table; the bin
   boundaries used (<=7, 8-17, 18-30, >=31) are this simulator's assumption.
3. Run-level systematic errors (:class:`RunArtefacts`, :class:`RunProfile`),
   shared by every sample of a run.  Two layers, both heavy-tailed:
   (a) sequencing level (read level, so the two mates of a pair err
   independently): a per site x substitution x strand multiplier of the
   sequencing error, log-normal (platform component shared by all runs, a
   strand component, a run component), plus sparse additive "hot" rates with a
   Pareto tail (``hot_xmin * U^(-1/hot_alpha)``, capped), on one strand or on
   both; (b) library level (fragment level, so both mates and both strands
   show it): a per site x substitution log-normal multiplier of the PCR error
   rate with its own sparse Pareto-tailed hot sites.  Sequence-specific,
   strand-specific and position-recurrent Illumina errors: Nakamura K et al.
   2011 (Nucleic Acids Res 39:e90), Meacham F et al. 2011 (BMC
   Bioinformatics 12:451); error rates of one substitution type varying more
   than 100-fold with the genomic context in ultra-deep amplicons: Hadigol M &
   Khiabanian H 2018 (BMC Bioinformatics 19:219, MERIT); stereotyped
   background errors recurring at the same positions across plasma samples,
   removed by "background polishing": Newman AM et al. 2016 (Nat Biotechnol
   34:547, iDES); recurrent, position-dependent PCR errors: Shagin DA et al.
   2017 (Sci Rep 7:2718).  A run-to-run component (log-normal jitter, a
   share of hot sites dropped and new ones added per run) makes two runs
   differ at a few sites.  Each sample of a run adds its own small jitter
   (over-dispersion between samples, the quantity deepSNV's beta-binomial
   models: Gerstung M et al. 2012, Nat Commun 3:811).
4. PCR errors (:class:`PcrErrors`).  The first ``explicit_cycles`` cycles are a
   Galton-Watson branching process per template strand (each copy duplicates
   with probability ``efficiency``); each new copy carries its parent's errors
   plus Poisson(mu x length) new ones, so an error made in cycle 1 is carried
   by ~1/4 of that molecule's reads, in both mates, on both strands: a
   sample-specific pseudo-variant.  Later cycles add per-pair errors at
   ``mu x (cycles - explicit_cycles) x efficiency / (1 + efficiency)`` per base
   (the expected number of copying events on a final molecule's line of
   descent).  Family sizes vary between molecules by a log-normal factor
   (heterogeneous amplification efficiency between single molecules: Best K
   et al. 2015, Sci Rep 5:14629; PCR stochasticity as the main source of skew:
   Kebschull JM & Zador AM 2015, Nucleic Acids Res 43:e143).  Default
   polymerase: KAPA HiFi, 1.0e-5 errors per base per cycle with the
   substitution spectrum C>T/G>A 71 %, C>A/G>T 14 %, A>G/T>C 10 %, A>C/T>G 2 %,
   A>T/T>A 2 %, C>G/G>C 1 % (Shagin DA et al. 2017, Sci Rep 7:2718, Tables 1
   and 2; a Taq hot-start preset uses the same paper's 3.2e-5 and its
   spectrum).  Per-site multipliers of 3.(b) act on these rates.
5. Oxidation, 8-oxoG (:class:`Oxidation`; capture mode).  A G of the strand
   that becomes read 1 turns into T with probability ``rate`` (x
   ``context_factor`` in a CGG context) before amplification, so the whole
   molecule, both mates and all its duplicates carry it: on the reference it
   is G>T supported by F1R2 pairs only and C>A by F2R1 pairs only (Costello M
   et al. 2013, Nucleic Acids Res 41:e67, C>A/G>T artefacts with a read
   orientation bias from oxidation during acoustic shearing, preferring the
   CCG>CAG context; Chen L et al. 2017, Science 355:752, damage-induced errors
   across public data sets).
6. Homopolymer slippage (:class:`Slippage`).  Per homopolymer of length
   h >= ``min_run`` a +-1 indel with probability ``rate_h3 x growth^(h-3)``
   (capped), at the PCR level (per fragment: both mates) and, at a lower rate,
   at the sequencing level (one read).  Slippage rising with repeat length:
   Shinde D et al. 2003 (Nucleic Acids Res 31:974, Taq slippage in (A/T)n and
   (CA)n); homopolymer-length-dependent indel errors in Illumina reads:
   Albers CA et al. 2011 (Genome Res 21:961, Dindel).  Rates are this
   simulator's choice.
7. Duplicates and depth (:class:`Library`).  Capture reads are drawn with
   replacement from the PCR families, so ``duplicate_rate`` of them are
   copies of another pair's molecule (never flagged 0x400); depth varies per
   sample (``pairs``) and per amplicon (log-normal amplification bias,
   ``amplicon_sigma``).

Every random draw comes from numpy generators seeded by the run seed and the
sample seed, so a sample is the same file for the same seeds (byte-identical
BAM records; the BAM header carries no date).

Run as a script for one sample::

    python benchmarks/sim_independent.py -o s.bam --pairs 25000 --run-seed 1 --seed 2 \\
        --spike chr2:29220747:C:T:0.01
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import itertools
import math
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pysam

__all__ = ["CHROM", "CHROM_LENGTH", "Reference", "Region", "read_bed", "Variant", "normalize_variant",
           "SequencingErrors", "QualityReporting", "RunArtefacts", "PcrErrors", "Oxidation", "Slippage",
           "ErrorModel", "Library", "RunProfile", "SampleSpec", "SampleTruth", "simulate_sample",
           "POLYMERASES", "NOVASEQ_BINS", "G1202DEL"]

CHROM = "chr2"
CHROM_LENGTH = 242_193_529
BASES = "ACGT"
_CODE = {b: i for i, b in enumerate(BASES)}
_COMP = np.array([3, 2, 1, 0], dtype=np.int8)          # A<->T, C<->G on codes
_ASCII = np.frombuffer(b"ACGTN", dtype=np.uint8)
_LUT = np.full(256, 4, dtype=np.int8)
_LUT[np.frombuffer(b"ACGT", dtype=np.uint8)] = np.arange(4)

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(os.path.dirname(HERE), "src", "deepamp", "data")
DEFAULT_FASTA = os.path.join(DATA, "ALK_hg38_chr2_29191796-29223795.fa")
DEFAULT_BED = os.path.join(DATA, "alk_exons22-25_amplicons.bed")

#: NovaSeq 6000 (RTA3) quality values and this simulator's bin boundaries (upper bound inclusive).
NOVASEQ_BINS: tuple[tuple[int, int], ...] = ((7, 2), (17, 12), (30, 23), (255, 37))


# ---------------------------------------------------------------- reference and panel

class Reference:
    """A FASTA whose one record is a samtools-style slice (``chr2:29191796-29223795``) or a whole contig.

    Coordinates everywhere are 0-based half-open on the parent contig.
    """

    def __init__(self, path: str = DEFAULT_FASTA) -> None:
        with pysam.FastaFile(path) as fa:
            if fa.nreferences != 1:
                raise ValueError(f"{path}: expected one FASTA record, found {fa.nreferences}")
            name = fa.references[0]
            self.seq = fa.fetch(name).upper()
        self.path = path
        if ":" in name and "-" in name.rsplit(":", 1)[1]:
            contig, span = name.rsplit(":", 1)
            self.contig = contig
            self.offset = int(span.split("-")[0]) - 1
        else:
            self.contig, self.offset = name, 0
        self.end = self.offset + len(self.seq)

    def fetch(self, start: int, end: int) -> str:
        """Bases [start, end) of the parent contig (0-based)."""
        if start < self.offset or end > self.end or start > end:
            raise ValueError(f"{self.contig}:{start}-{end} is outside the slice {self.offset}-{self.end}")
        return self.seq[start - self.offset:end - self.offset]

    def base(self, pos1: int) -> str:
        """The base at 1-based position ``pos1``."""
        return self.fetch(pos1 - 1, pos1)

    def codes(self, start: int, end: int) -> np.ndarray:
        """Bases [start, end) as codes 0..3 (A C G T; 4 for anything else)."""
        return _LUT[np.frombuffer(self.fetch(start, end).encode(), dtype=np.uint8)]


@dataclass(frozen=True)
class Region:
    """One BED interval (0-based half-open)."""

    chrom: str
    start: int
    end: int
    name: str

    def __len__(self) -> int:
        return self.end - self.start


def read_bed(path: str = DEFAULT_BED) -> list[Region]:
    """The intervals of a BED file, in file order."""
    out = []
    with open(path) as fh:
        for i, line in enumerate(fh):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            f = line.split("\t")
            out.append(Region(f[0], int(f[1]), int(f[2]), f[3].strip() if len(f) > 3 else f"region{i}"))
    return out


# ---------------------------------------------------------------- variants

def normalize_variant(ref: Reference, pos: int, refa: str, alta: str) -> tuple[int, str, str]:
    """Left-align and trim a VCF allele (1-based ``pos``) on ``ref`` (Tan A et al. 2015, Bioinformatics 31:2202)."""
    refa, alta = refa.upper(), alta.upper()
    if ref.fetch(pos - 1, pos - 1 + len(refa)) != refa:
        raise ValueError(f"{ref.contig}:{pos} REF {refa} does not match the reference "
                         f"{ref.fetch(pos - 1, pos - 1 + len(refa))}")
    while True:
        if refa and alta and refa[-1] == alta[-1] and (len(refa) > 1 or len(alta) > 1):
            refa, alta = refa[:-1], alta[:-1]
        elif not refa or not alta:
            pos -= 1
            b = ref.base(pos)
            refa, alta = b + refa, b + alta
        else:
            break
    while len(refa) > 1 and len(alta) > 1 and refa[0] == alta[0]:
        refa, alta, pos = refa[1:], alta[1:], pos + 1
    return pos, refa, alta


@dataclass(frozen=True)
class Variant:
    """A true allele carried by a fraction of a sample's molecules.

    ``pos`` is 1-based, ``ref``/``alt`` VCF alleles (indels anchored); ``kind``
    is ``somatic`` (tumour only), ``germline`` (in the person's normal too) or
    ``shared`` (a high-fraction allele shared by tumour and normal, e.g. 95 % vs
    99.9 %); ``label`` names it (``G1202R``).
    """

    chrom: str
    pos: int
    ref: str
    alt: str
    fraction: float
    kind: str = "somatic"
    label: str = ""

    @property
    def is_indel(self) -> bool:
        return len(self.ref) != len(self.alt)

    def normalized(self, ref: Reference) -> "Variant":
        """The same allele left-aligned and trimmed on ``ref``."""
        pos, r, a = normalize_variant(ref, self.pos, self.ref, self.alt)
        return dataclasses.replace(self, pos=pos, ref=r, alt=a)

    def ref_span(self) -> tuple[int, int]:
        """0-based half-open reference bases the allele replaces (deletions: the deleted bases)."""
        if len(self.ref) == len(self.alt):
            return self.pos - 1, self.pos - 1 + len(self.ref)
        return self.pos, self.pos - 1 + len(self.ref)     # anchor excluded

    def edits(self) -> list[tuple[int, int, str]]:
        """(ref_start, ref_end, replacement) edits, 0-based half-open (insertions: start == end)."""
        if len(self.ref) == len(self.alt):
            return [(self.pos - 1 + i, self.pos + i, a) for i, (r, a) in enumerate(zip(self.ref, self.alt)) if r != a]
        # anchored indel: the anchor base is shared
        return [(self.pos, self.pos - 1 + len(self.ref), self.alt[1:])]

    def key(self) -> tuple[str, int, str, str]:
        return self.chrom, self.pos, self.ref, self.alt


#: ALK G1202del (c.3604_3606del; codon 1202 = GGA on the minus strand, chr2:29220745-29220747 "TCC"
#: on the plus strand), left-aligned: chr2:29220743 TCTC>T (checked against the slice in the tests).
G1202DEL = ("chr2", 29220744, "CTCC", "C")


# ---------------------------------------------------------------- error model parameters

#: PCR polymerases: (errors per base per duplication, strand-collapsed spectrum) from Shagin DA et al.
#: 2017 Sci Rep 7:2718 (Table 1 corrected rates, Table 2 substitution shares).
POLYMERASES: dict[str, tuple[float, dict[str, float]]] = {
    "kapa_hifi": (1.0e-5, {"A>C": 0.02, "A>G": 0.10, "A>T": 0.02, "C>A": 0.14, "C>G": 0.01, "C>T": 0.71}),
    "taq_hs": (3.2e-5, {"A>C": 0.03, "A>G": 0.56, "A>T": 0.07, "C>A": 0.07, "C>G": 0.02, "C>T": 0.25}),
}

#: Read-orientation sequencing substitution spectrum (rows: true base, columns: called base; rows sum
#: to the base's relative error level). Illustrative: T>G and A>C raised (see the module docstring).
DEFAULT_SEQ_SPECTRUM: tuple[tuple[float, ...], ...] = (
    (0.0, 0.45, 0.35, 0.20),   # A> C G T
    (0.30, 0.0, 0.15, 0.55),   # C> A G T
    (0.50, 0.15, 0.0, 0.35),   # G> A C T
    (0.20, 0.30, 0.50, 0.0),   # T> A C G
)


@dataclass(frozen=True)
class SequencingErrors:
    """Process 1: cycle-dependent substitution errors (latent Phred ramp along each read)."""

    enabled: bool = True
    q_start_r1: float = 36.0
    q_end_r1: float = 31.0
    q_start_r2: float = 35.0
    q_end_r2: float = 27.0
    ramp_power: float = 2.0
    read_sd: float = 1.5
    base_sd: float = 2.5
    spectrum: tuple[tuple[float, ...], ...] = DEFAULT_SEQ_SPECTRUM

    def latent_mean(self, length: int, read2: bool) -> np.ndarray:
        """Mean latent Phred at each cycle 0..length-1 of read 1 or read 2."""
        c = np.arange(length) / max(length - 1, 1)
        q0, q1 = (self.q_start_r2, self.q_end_r2) if read2 else (self.q_start_r1, self.q_end_r1)
        return q0 - (q0 - q1) * c ** self.ramp_power


@dataclass(frozen=True)
class QualityReporting:
    """Process 2: reported qualities over-confident by ``overconfidence``, optionally NovaSeq-binned."""

    overconfidence: float = 4.0
    binning: str = "none"            # "none" or "novaseq"
    max_q: int = 41
    min_q: int = 2

    def report(self, latent: np.ndarray) -> np.ndarray:
        """Reported Phred (uint8) of latent (true) Phred values."""
        q = np.rint(latent + 10.0 * math.log10(self.overconfidence))
        q = np.clip(q, self.min_q, self.max_q).astype(np.uint8)
        if self.binning == "novaseq":
            out = np.empty_like(q)
            lo = -1
            for hi, value in NOVASEQ_BINS:
                out[(q > lo) & (q <= hi)] = value
                lo = hi
            return out
        if self.binning != "none":
            raise ValueError(f"binning must be 'none' or 'novaseq', not {self.binning!r}")
        return q


@dataclass(frozen=True)
class RunArtefacts:
    """Process 3: run-level systematic errors (see :class:`RunProfile`)."""

    enabled: bool = True
    # (a) sequencing level
    body_sigma: float = 0.8          # log-normal sd of the per site x alt multiplier (platform)
    strand_sigma: float = 0.4        # extra log-normal sd per strand
    run_sigma: float = 0.3           # run-to-run log-normal jitter
    hot_fraction: float = 0.02       # share of site x alt with an additive hot rate
    hot_xmin: float = 1.0e-4         # Pareto scale of the hot rate (per read base)
    hot_alpha: float = 1.2           # Pareto tail index
    hot_cap: float = 0.02
    hot_one_strand: float = 0.5      # share of hot sites on one strand only
    # (b) library (fragment) level, multiplies the PCR error rate
    lib_sigma: float = 1.0
    lib_hot_fraction: float = 0.01
    lib_hot_xmin: float = 5.0        # Pareto scale of the extra multiplier
    lib_hot_alpha: float = 1.5
    lib_hot_cap: float = 300.0
    # run-to-run and sample-to-sample
    run_specific_hot: float = 0.1    # share of hot sites dropped per run (and as many new ones added)
    sample_sigma: float = 0.2        # per-sample log-normal jitter of every multiplier
    sample_level_sigma: float = 0.15  # per-sample log-normal factor of the overall sequencing error level


@dataclass(frozen=True)
class PcrErrors:
    """Process 4: polymerase errors, explicit in early cycles (shared by a molecule's descendants)."""

    enabled: bool = True
    polymerase: str = "kapa_hifi"
    error_rate: float | None = None  # None: the polymerase's rate
    cycles: int = 30
    explicit_cycles: int = 5
    efficiency: float = 0.85
    family_sigma: float = 0.5        # log-normal sd of family size between molecules

    @property
    def rate(self) -> float:
        return POLYMERASES[self.polymerase][0] if self.error_rate is None else self.error_rate

    def matrix(self) -> np.ndarray:
        """4x4 per-duplication substitution rates (from base -> to base) of the polymerase."""
        shares = POLYMERASES[self.polymerase][1]
        m = np.zeros((4, 4))
        for cls, share in shares.items():
            a, b = _CODE[cls[0]], _CODE[cls[2]]
            m[a, b] += 2.0 * share * self.rate
            m[_COMP[a], _COMP[b]] += 2.0 * share * self.rate
        return m

    @property
    def late_copies(self) -> float:
        """Expected copying events on a final molecule's line of descent after the explicit cycles."""
        return max(self.cycles - self.explicit_cycles, 0) * self.efficiency / (1.0 + self.efficiency)


@dataclass(frozen=True)
class Oxidation:
    """Process 5: 8-oxoG on the read-1 strand before amplification (G>T in F1R2, C>A in F2R1)."""

    enabled: bool = False
    rate: float = 2.0e-3
    context_factor: float = 4.0      # CGG context on the damaged strand (CCG>CAG on the other)


@dataclass(frozen=True)
class Slippage:
    """Process 6: +-1 indels in homopolymers rising with run length (PCR and sequencing level)."""

    enabled: bool = True
    pcr_rate_h3: float = 1.0e-4
    seq_rate_h3: float = 1.0e-5
    growth: float = 2.5
    cap: float = 0.03
    min_run: int = 3
    deletion_share: float = 0.75

    def rate(self, h: np.ndarray, level: str) -> np.ndarray:
        base = self.pcr_rate_h3 if level == "pcr" else self.seq_rate_h3
        return np.minimum(base * self.growth ** (h - 3.0), self.cap)


@dataclass(frozen=True)
class ErrorModel:
    """All error processes; ``ErrorModel.none()`` switches every one off."""

    sequencing: SequencingErrors = field(default_factory=SequencingErrors)
    quality: QualityReporting = field(default_factory=QualityReporting)
    run: RunArtefacts = field(default_factory=RunArtefacts)
    pcr: PcrErrors = field(default_factory=PcrErrors)
    oxidation: Oxidation = field(default_factory=Oxidation)
    slippage: Slippage = field(default_factory=Slippage)

    @classmethod
    def none(cls, **changes) -> "ErrorModel":
        """Every process off (then switch single ones on with ``changes``)."""
        base = cls(sequencing=SequencingErrors(enabled=False), run=RunArtefacts(enabled=False),
                   pcr=PcrErrors(enabled=False), oxidation=Oxidation(enabled=False),
                   slippage=Slippage(enabled=False))
        return dataclasses.replace(base, **changes)


@dataclass(frozen=True)
class Library:
    """How molecules become read pairs.

    ``molecules``: amplicon mode, template molecules per amplicon (None: = ``pairs``);
    capture mode, unique-molecule depth per target base.  ``pairs``: amplicon mode,
    read pairs per amplicon; capture mode, read depth per target base (pairs are
    derived: duplicates included).
    """

    mode: str = "amplicon"
    read_length: int = 150
    pairs: int = 25_000
    molecules: int | None = None
    orientation: str = "both"        # amplicon mode: "both" (F1R2 and F2R1) or "fixed" (F1R2)
    amplicon_sigma: float = 0.2
    fragment_mean: float = 170.0
    fragment_sd: float = 30.0
    fragment_min: int = 60
    capture_pad: int = 100
    duplicate_rate: float = 0.8      # capture: share of pairs that copy another pair's molecule
    mapq: int = 60

    def __post_init__(self) -> None:
        if self.mode not in ("amplicon", "capture"):
            raise ValueError(f"mode must be 'amplicon' or 'capture', not {self.mode!r}")
        if self.orientation not in ("both", "fixed"):
            raise ValueError(f"orientation must be 'both' or 'fixed', not {self.orientation!r}")
        if not 0.0 <= self.duplicate_rate < 1.0:
            raise ValueError("duplicate_rate must be in [0, 1)")


# ---------------------------------------------------------------- run profile

def _pareto(rng: np.random.Generator, n: int, xmin: float, alpha: float, cap: float) -> np.ndarray:
    return np.minimum(xmin * rng.random(n) ** (-1.0 / alpha), cap)


class RunProfile:
    """Systematic errors of one sequencing run over a reference window.

    Arrays (window position x called base x strand; strand 0 = read maps forward):

    * ``seq_mult`` -- multiplier of the sequencing error rate (mean ~1);
    * ``seq_hot`` -- additive sequencing error probability per read base;
    * ``lib_mult`` -- multiplier of the PCR error rate (window position x base; both strands).

    The platform component is drawn from ``platform_seed`` (the same for every run of a
    platform/protocol, since sequence-specific errors recur), the run component from
    ``run_seed``.
    """

    def __init__(self, reference: Reference, regions: Sequence[Region], run_seed: int, *,
                 params: RunArtefacts = RunArtefacts(), platform_seed: int = 20240101, pad: int = 400) -> None:
        self.params = params
        self.run_seed = run_seed
        self.start = max(min(r.start for r in regions) - pad, reference.offset)
        self.end = min(max(r.end for r in regions) + pad, reference.end)
        self.ref = reference.codes(self.start, self.end)
        n = self.end - self.start
        is_ref = self.ref[:, None] == np.arange(4)[None, :]            # (n, 4)
        if not params.enabled:
            self.seq_mult = np.ones((n, 4, 2))
            self.seq_hot = np.zeros((n, 4, 2))
            self.lib_mult = np.ones((n, 4))
            return
        p = params
        plat = np.random.default_rng([platform_seed, 7])
        run = np.random.default_rng([platform_seed, run_seed, 11])
        # (a) sequencing level: log-normal body (platform x strand x run), normalised to mean 1
        body = plat.normal(0.0, p.body_sigma, (n, 4, 1)) + plat.normal(0.0, p.strand_sigma, (n, 4, 2))
        body = body + run.normal(0.0, p.run_sigma, (n, 4, 2))
        var = p.body_sigma ** 2 + p.strand_sigma ** 2 + p.run_sigma ** 2
        self.seq_mult = np.exp(body - var / 2.0)
        self.seq_hot = np.zeros((n, 4, 2))
        for src, keep in ((plat, True), (run, False)):
            # platform hot sites (a share dropped in this run) and run-specific new ones
            frac = p.hot_fraction * (1.0 if keep else p.run_specific_hot)
            hit = (src.random((n, 4)) < frac) & ~is_ref & (self.ref[:, None] < 4)
            idx = np.argwhere(hit)
            rate = _pareto(src, len(idx), p.hot_xmin, p.hot_alpha, p.hot_cap)
            one = src.random(len(idx)) < p.hot_one_strand
            strand = src.integers(0, 2, len(idx))
            jitter = np.exp(src.normal(0.0, 0.3, (len(idx), 2)))
            if keep:
                dropped = run.random(len(idx)) < p.run_specific_hot
            else:
                dropped = np.zeros(len(idx), bool)
            for (i, a), r, o, s, j, d in zip(idx, rate, one, strand, jitter, dropped):
                if d:
                    continue
                if o:
                    self.seq_hot[i, a, s] += r
                else:
                    self.seq_hot[i, a, :] += r * j
        # (b) library level: multiplier of the PCR rate, log-normal body plus Pareto-tailed hot sites
        lib = plat.normal(0.0, p.lib_sigma, (n, 4)) + run.normal(0.0, p.run_sigma, (n, 4))
        self.lib_mult = np.exp(lib - (p.lib_sigma ** 2 + p.run_sigma ** 2) / 2.0)
        for src, keep in ((plat, True), (run, False)):
            frac = p.lib_hot_fraction * (1.0 if keep else p.run_specific_hot)
            hit = (src.random((n, 4)) < frac) & ~is_ref & (self.ref[:, None] < 4)
            idx = np.argwhere(hit)
            extra = _pareto(src, len(idx), p.lib_hot_xmin, p.lib_hot_alpha, p.lib_hot_cap)
            dropped = (run.random(len(idx)) < p.run_specific_hot) if keep else np.zeros(len(idx), bool)
            for (i, a), x, d in zip(idx, extra, dropped):
                if not d:
                    self.lib_mult[i, a] *= x
        self.seq_mult[is_ref] = 0.0
        self.seq_hot[is_ref] = 0.0
        self.lib_mult[is_ref] = 0.0

    def sample_view(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """This run's arrays with one sample's jitter, and the sample's sequencing error level."""
        if not self.params.enabled:
            return self.seq_mult, self.seq_hot, self.lib_mult, 1.0
        s = self.params.sample_sigma
        j = np.exp(rng.normal(0.0, s, self.seq_mult.shape) - s * s / 2.0)
        jl = np.exp(rng.normal(0.0, s, self.lib_mult.shape) - s * s / 2.0)
        level = float(np.exp(rng.normal(0.0, self.params.sample_level_sigma)))
        return self.seq_mult * j, self.seq_hot * j, self.lib_mult * jl, level

    def table(self) -> list[tuple[int, str, str, float, float, float, float]]:
        """(pos 1-based, ref, alt, seq_mult_fwd, seq_mult_rev, seq_hot_fwd, seq_hot_rev, lib_mult) rows."""
        rows = []
        for i in range(len(self.ref)):
            r = int(self.ref[i])
            if r > 3:
                continue
            for a in range(4):
                if a == r:
                    continue
                rows.append((self.start + i + 1, BASES[r], BASES[a], float(self.seq_mult[i, a, 0]),
                             float(self.seq_mult[i, a, 1]), float(self.seq_hot[i, a, 0]),
                             float(self.seq_hot[i, a, 1]), float(self.lib_mult[i, a])))
        return rows

    def write(self, path: str) -> None:
        """The profile as TSV (every site x alt of the window)."""
        with open(path, "w") as fh:
            fh.write("pos\tref\talt\tseq_mult_fwd\tseq_mult_rev\tseq_hot_fwd\tseq_hot_rev\tlib_mult\n")
            for row in self.table():
                fh.write("\t".join([str(row[0]), row[1], row[2]] + [f"{v:.4g}" for v in row[3:]]) + "\n")


# ---------------------------------------------------------------- molecules, haplotypes, fragments

@dataclass
class _Fragment:
    """A haplotype fragment: codes and the reference position of each base (-1: inserted)."""

    codes: np.ndarray
    refmap: np.ndarray


def _build_fragment(reference: Reference, start: int, end: int,
                    edits: Iterable[tuple[int, int, str]]) -> _Fragment:
    """Reference [start, end) with edits applied (sorted, non-overlapping; outside ones ignored)."""
    codes: list[np.ndarray] = []
    refmap: list[np.ndarray] = []
    cur = start
    for es, ee, rep in sorted(edits):
        if es < start or ee > end or es < cur:
            continue
        codes.append(reference.codes(cur, es))
        refmap.append(np.arange(cur, es))
        if rep:
            codes.append(np.array([_CODE[b] for b in rep], dtype=np.int8))
            if ee - es == len(rep):
                refmap.append(np.arange(es, ee))
            else:
                refmap.append(np.full(len(rep), -1))
        cur = ee
    codes.append(reference.codes(cur, end))
    refmap.append(np.arange(cur, end))
    return _Fragment(np.concatenate(codes).astype(np.int8), np.concatenate(refmap).astype(np.int64))


def _cigar(refmap: np.ndarray) -> tuple[int, str]:
    """(reference start, CIGAR) of a read whose bases sit at ``refmap`` (-1 = inserted)."""
    aligned = np.flatnonzero(refmap >= 0)
    first, last = int(aligned[0]), int(aligned[-1])
    ops = ["S"] * first                      # leading inserted bases are soft-clipped
    prev = None
    for r in refmap[first:last + 1].tolist():
        if r < 0:
            ops.append("I")
            continue
        if prev is not None and r > prev + 1:
            ops.extend("D" * (r - prev - 1))
        ops.append("M")
        prev = r
    ops += ["S"] * (len(refmap) - 1 - last)
    return int(refmap[first]), "".join(f"{len(list(run))}{op}" for op, run in itertools.groupby(ops))


def _homopolymers(codes: np.ndarray, min_run: int) -> tuple[np.ndarray, np.ndarray]:
    """(start index, length) of runs of one base of at least ``min_run``."""
    if len(codes) == 0:
        return np.zeros(0, int), np.zeros(0, int)
    change = np.flatnonzero(np.diff(codes) != 0) + 1
    starts = np.concatenate([[0], change])
    lengths = np.diff(np.concatenate([starts, [len(codes)]]))
    keep = lengths >= min_run
    return starts[keep], lengths[keep]


def _slip(frag: _Fragment, start: int, length: int, insertion: bool) -> _Fragment:
    """A +-1 slip of the homopolymer at [start, start+length) (placed at its left end, as aligners do)."""
    if insertion:
        codes = np.insert(frag.codes, start, frag.codes[start])
        refmap = np.insert(frag.refmap, start, -1)
        # the inserted base is the first of the run: refmap of run shifts right; keep the insertion left
        return _Fragment(codes, refmap)
    keep = np.ones(len(frag.codes), bool)
    keep[start] = False
    return _Fragment(frag.codes[keep], frag.refmap[keep])


# ---------------------------------------------------------------- samples

@dataclass
class SampleSpec:
    """One sample of a run: its name, true alleles, seed and library."""

    name: str
    variants: list[Variant]
    seed: int
    library: Library = field(default_factory=Library)


@dataclass
class SampleTruth:
    """What was written: the BAM, the truth and artefact TSVs and per-variant realised fractions."""

    bam: str
    truth_tsv: str
    artefacts_tsv: str
    rows: list[dict]
    pairs: int
    duplicate_fraction: float


TRUTH_COLUMNS = ("chrom", "pos", "ref", "alt", "kind", "label", "asked_fraction", "molecule_fraction",
                 "read_fraction", "molecules_alt", "molecules", "pairs_alt", "pairs")


class _SamWriter:
    """Collects SAM records of one sample and writes a sorted, indexed BAM through pysam."""

    def __init__(self, path: str, sample: str) -> None:
        self.path = path
        self.header = pysam.AlignmentHeader.from_dict({
            "HD": {"VN": "1.6", "SO": "unsorted"},
            "SQ": [{"SN": CHROM, "LN": CHROM_LENGTH}],
            "RG": [{"ID": sample, "SM": sample, "PL": "ILLUMINA"}],
            "PG": [{"ID": "sim_independent", "PN": "sim_independent", "VN": "1"}]})
        fd, self.tmp = tempfile.mkstemp(suffix=".bam", dir=os.path.dirname(os.path.abspath(path)) or ".")
        os.close(fd)
        self.out = pysam.AlignmentFile(self.tmp, "wbu", header=self.header)
        self.rg = sample

    def pair(self, name: str, fwd: tuple[int, str, bytes, bytes], rev: tuple[int, str, bytes, bytes],
             r1_forward: bool, mapq: int) -> None:
        (fpos, fcig, fseq, fqual), (rpos, rcig, rseq, rqual) = fwd, rev
        fend = fpos + _ref_len(fcig)
        rend = rpos + _ref_len(rcig)
        left, right = min(fpos, rpos), max(fend, rend)
        tlen = right - left
        f_flag = 1 | 2 | 32 | (64 if r1_forward else 128)
        r_flag = 1 | 2 | 16 | (128 if r1_forward else 64)
        for flag, pos, cig, seq, qual, mpos, sign in ((f_flag, fpos, fcig, fseq, fqual, rpos, 1),
                                                       (r_flag, rpos, rcig, rseq, rqual, fpos, -1)):
            line = (f"{name}\t{flag}\t{CHROM}\t{pos + 1}\t{mapq}\t{cig}\t=\t{mpos + 1}\t{sign * tlen}\t"
                    f"{seq.decode()}\t{qual.decode()}\tRG:Z:{self.rg}")
            self.out.write(pysam.AlignedSegment.fromstring(line, self.header))

    def close(self, threads: int = 1) -> None:
        self.out.close()
        try:
            pysam.sort("-o", self.path, "-l", "1", "-@", str(max(threads, 1)), "--no-PG", self.tmp)
        finally:
            os.unlink(self.tmp)
        pysam.index(self.path)


@functools.lru_cache(maxsize=4096)
def _ref_len(cigar: str) -> int:
    n, total = "", 0
    for ch in cigar:
        if ch.isdigit():
            n += ch
        else:
            if ch in "MD=X":
                total += int(n)
            n = ""
    return total


class _SampleSimulator:
    """The machinery of :func:`simulate_sample` for one sample."""

    def __init__(self, spec: SampleSpec, reference: Reference, regions: Sequence[Region], run: RunProfile,
                 errors: ErrorModel) -> None:
        self.spec, self.ref, self.regions, self.run, self.err = spec, reference, list(regions), run, errors
        self.lib = spec.library
        self.rng = np.random.default_rng([spec.seed, run.run_seed, 3])
        self.seq_mult, self.seq_hot, self.lib_mult, self.level = run.sample_view(self.rng)
        self.pcr_matrix = errors.pcr.matrix() if errors.pcr.enabled else np.zeros((4, 4))
        spec_read = np.array(errors.sequencing.spectrum, dtype=float)
        self.spec_by_strand = (spec_read, spec_read[np.ix_(_COMP, _COMP)])
        self.variants = [v.normalized(reference) for v in spec.variants]
        self.truth: list[dict] = []
        self.artefacts: list[tuple] = []
        self.n_pairs = 0
        self.n_dup = 0
        self.read_counter = 0

    # ------------------------------------------------ PCR
    def _site_pcr_rates(self, start: int, end: int) -> np.ndarray:
        """(L, 4) per-duplication substitution rates over reference [start, end) (run multipliers applied)."""
        i0 = start - self.run.start
        codes = self.run.ref[i0:i0 + end - start].astype(int)
        rates = np.zeros((end - start, 4))
        ok = codes < 4
        rates[ok] = self.pcr_matrix[codes[ok]]
        return rates * self.lib_mult[i0:i0 + end - start]

    def _lineages(self, n_mol: int, errors_per_copy: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[int], list[int]]:
        """Galton-Watson branching over the explicit cycles, two template strands per molecule.

        Returns per lineage: molecule index, copy count, parent lineage (-1 for the two roots of a
        molecule: lineage ``2m`` is its top strand, ``2m + 1`` its bottom strand) and the number of
        new errors made when it was born (their positions are drawn later, on the molecule's span).
        """
        p = self.err.pcr
        mol = np.repeat(np.arange(n_mol), 2)
        count = np.ones(2 * n_mol, dtype=np.int64)
        parent = [-1] * (2 * n_mol)
        nmuts = [0] * (2 * n_mol)
        if not p.enabled:
            return mol, count, parent, nmuts
        for _cycle in range(p.explicit_cycles):
            new = self.rng.binomial(count, p.efficiency)
            lam = errors_per_copy[mol]
            mutated = self.rng.binomial(new, -np.expm1(-lam))
            count = count + new - mutated
            idx = np.flatnonzero(mutated)
            if not len(idx):
                continue
            born = np.repeat(idx, mutated[idx])
            # errors of a copy known to carry at least one: 1 + Poisson(lam) (lam << 1 here)
            k = 1 + self.rng.poisson(lam[born])
            mol = np.concatenate([mol, mol[born]])
            count = np.concatenate([count, np.ones(len(born), dtype=np.int64)])
            parent.extend(born.tolist())
            nmuts.extend(k.tolist())
        return mol, count, parent, nmuts

    def _draw_subs(self, start: int, end: int, k: int, site_rates: np.ndarray, win_start: int,
                   cum: np.ndarray) -> tuple[tuple[int, int], ...]:
        """``k`` substitutions on reference [start, end) drawn by the per-site x alt PCR rates."""
        if k <= 0:
            return ()
        lo, hi = cum[start - win_start], cum[end - win_start]
        if hi <= lo:
            return ()
        u = lo + self.rng.random(k) * (hi - lo)
        idx = np.clip(np.searchsorted(cum, u, side="right") - 1, 0, len(site_rates) - 1)
        out = []
        for i, uu in zip(idx, self.rng.random(k)):
            r = site_rates[i]
            a = int(np.searchsorted(np.cumsum(r) / r.sum(), uu, side="right"))
            out.append((win_start + int(i), min(a, 3)))
        return tuple(out)

    def _oxidise(self, start: int, end: int, top: bool) -> tuple[tuple[int, int], ...]:
        """8-oxoG damage of one template strand: top strand G>T, bottom strand (plus-strand C) C>A."""
        ox = self.err.oxidation
        codes = self.ref.codes(start, end).astype(int)
        target = 2 if top else 1
        idx = np.flatnonzero(codes == target)
        if not len(idx):
            return ()
        before = np.where(idx > 0, codes[np.maximum(idx - 1, 0)], 4)
        after = np.where(idx < len(codes) - 1, codes[np.minimum(idx + 1, len(codes) - 1)], 4)
        # CGG on the damaged strand, 5'->3': plus strand C[G]G for the top strand; for the bottom
        # strand (read backwards, complemented) plus strand C[C]G: on the plus strand both are C_G
        ctx = (before == 1) & (after == 2)
        rate = np.where(ctx, ox.rate * ox.context_factor, ox.rate)
        hit = idx[self.rng.random(len(idx)) < np.minimum(rate, 1.0)]
        new = 3 if top else 0
        return tuple((start + int(i), new) for i in hit)

    # ------------------------------------------------ per region
    def _molecules(self, region: Region) -> tuple[np.ndarray, np.ndarray, int, int, int]:
        """Spans of the region's molecules, the number of pairs to draw and the window."""
        lib, rng, ref = self.lib, self.rng, self.ref
        if lib.mode == "amplicon":
            factor = float(np.exp(rng.normal(0.0, lib.amplicon_sigma) - lib.amplicon_sigma ** 2 / 2))
            n_pairs = max(int(round(lib.pairs * factor)), 1)
            n_mol = max(int(round((lib.molecules or lib.pairs) * factor)), 1)
            return (np.full(n_mol, region.start), np.full(n_mol, region.end), n_pairs, region.start, region.end)
        win_start = max(region.start - lib.capture_pad, ref.offset)
        win_end = min(region.end + lib.capture_pad, ref.end)
        unique_depth = lib.molecules if lib.molecules is not None else lib.pairs * (1 - lib.duplicate_rate)
        n_mol = max(int(round(unique_depth * (win_end - win_start) / lib.fragment_mean)), 1)
        # drawn with replacement from the families: n_pairs / n_mol copies per molecule on average
        n_pairs = max(int(round(n_mol / (1.0 - lib.duplicate_rate))), 1)
        flen = np.clip(np.rint(rng.normal(lib.fragment_mean, lib.fragment_sd, n_mol)), lib.fragment_min,
                       lib.fragment_mean + 5 * lib.fragment_sd).astype(np.int64)
        centre = rng.integers(win_start, win_end, n_mol)
        starts = np.clip(centre - flen // 2, max(ref.offset, self.run.start), ref.end - lib.fragment_min)
        ends = np.minimum(starts + flen, min(ref.end, self.run.end))
        return starts, ends, n_pairs, int(min(win_start, starts.min())), int(max(win_end, ends.max()))

    def simulate_region(self, region: Region, writer: _SamWriter) -> None:
        lib, rng, ref, pcr = self.lib, self.rng, self.ref, self.err.pcr
        amp = lib.mode == "amplicon"
        starts, ends, n_pairs, win_start, win_end = self._molecules(region)
        n_mol = len(starts)
        # ---- true alleles: an exact number of the molecules that cover the allele
        region_vars = [v for v in self.variants if v.chrom == region.chrom
                       and v.ref_span()[0] >= win_start and v.ref_span()[1] <= win_end]
        hap = np.zeros(n_mol, dtype=np.int64)
        spans = []
        rows = []
        for k, v in enumerate(region_vars):
            vs, ve = v.ref_span()
            lo, hi = (vs - 1, ve + 1) if v.is_indel else (vs, ve)
            spans.append((lo, hi))
            cover = np.flatnonzero((starts <= lo) & (ends >= hi))
            n_alt = min(max(int(round(v.fraction * len(cover))), 1), len(cover)) if v.fraction > 0 else 0
            carriers = rng.choice(cover, n_alt, replace=False) if n_alt else np.zeros(0, np.int64)
            hap[carriers] |= np.int64(1) << k
            row = {"variant": v, "molecules_alt": int(n_alt), "molecules": int(len(cover)), "pairs_alt": 0,
                   "pairs": 0}
            rows.append(row)
            self.truth.append(row)
        # ---- PCR genealogy and the pairs drawn from it
        site_rates = self._site_pcr_rates(win_start, win_end)
        cum = np.concatenate([[0.0], np.cumsum(site_rates.sum(axis=1))])
        per_copy = cum[ends - win_start] - cum[starts - win_start]
        mol_of, count, parent, nmuts = self._lineages(n_mol, per_copy)
        fam = np.exp(rng.normal(0.0, pcr.family_sigma, n_mol)) if pcr.enabled else np.ones(n_mol)
        weight = count * fam[mol_of]
        per_lineage = rng.multinomial(n_pairs, weight / weight.sum())
        root_of = np.arange(len(parent))
        lin_muts: list[tuple[tuple[int, int], ...]] = []
        for li, par in enumerate(parent):
            if par < 0:
                lin_muts.append(())
                continue
            root_of[li] = root_of[par]
            m = int(mol_of[li])
            lin_muts.append(lin_muts[par] + self._draw_subs(int(starts[m]), int(ends[m]), nmuts[li], site_rates,
                                                            win_start, cum))
        pair_lin = np.repeat(np.arange(len(parent)), per_lineage)
        pair_mol = mol_of[pair_lin]
        n = len(pair_lin)
        self.n_pairs += n
        self.n_dup += n - np.unique(pair_mol).size
        if amp:
            r1_fwd = (rng.random(n) < 0.5) if lib.orientation == "both" else np.ones(n, bool)
        else:
            r1_fwd = root_of[pair_lin] % 2 == 0          # ligated library: read 1 reads the template strand
        # ---- per-pair substitutions: early PCR (lineage), late PCR, 8-oxoG (capture)
        pair_subs: dict[int, list[tuple[int, int]]] = {}
        if pcr.enabled:
            late = rng.poisson(per_copy[pair_mol] * pcr.late_copies)
            for j in np.flatnonzero(late):
                m = int(pair_mol[j])
                pair_subs[int(j)] = list(self._draw_subs(int(starts[m]), int(ends[m]), int(late[j]), site_rates,
                                                         win_start, cum))
            has = np.array([bool(x) for x in lin_muts])
            for j in np.flatnonzero(has[pair_lin]):
                pair_subs.setdefault(int(j), []).extend(lin_muts[pair_lin[j]])
        if self.err.oxidation.enabled and not amp:
            damage: dict[int, tuple[tuple[int, int], ...]] = {}
            for root in np.unique(root_of[pair_lin]):
                m = int(mol_of[root])
                damage[int(root)] = self._oxidise(int(starts[m]), int(ends[m]), top=root % 2 == 0)
            for j in range(n):
                d = damage[int(root_of[pair_lin[j]])]
                if d:
                    pair_subs.setdefault(j, []).extend(d)
        # ---- reads, one group of pairs per (span, haplotype)
        gkeys = np.stack([starts[pair_mol], ends[pair_mol], hap[pair_mol]], axis=1)
        order = np.lexsort((gkeys[:, 2], gkeys[:, 1], gkeys[:, 0]))
        sorted_keys = gkeys[order]
        bounds = np.flatnonzero(np.any(np.diff(sorted_keys, axis=0) != 0, axis=1)) + 1
        for members in np.split(order, bounds):
            if not len(members):
                continue
            s, e, h = (int(x) for x in gkeys[members[0]])
            edits = [ed for k, v in enumerate(region_vars) if (h >> k) & 1 for ed in v.edits()]
            frag = _build_fragment(ref, s, e, edits)
            for k, (lo, hi) in enumerate(spans):
                if s <= lo and e >= hi:
                    rows[k]["pairs"] += len(members)
                    if (h >> k) & 1:
                        rows[k]["pairs_alt"] += len(members)
            self._emit_group(frag, members, r1_fwd, pair_subs, writer)
        # ---- artefact table: early PCR pseudo-variants carried by at least two pairs
        carried: dict[tuple[int, int], int] = {}
        for li, muts in enumerate(lin_muts):
            for sub in set(muts):
                carried[sub] = carried.get(sub, 0) + int(per_lineage[li])
        for (pos0, alt), k in carried.items():
            if k >= 2:
                cover = int(np.sum(per_lineage[(starts[mol_of] <= pos0) & (ends[mol_of] > pos0)]))
                self.artefacts.append(("pcr_early", pos0 + 1, ref.base(pos0 + 1), BASES[alt], k, cover))

    # ------------------------------------------------ reads
    def _emit_group(self, frag: _Fragment, members: np.ndarray, r1_fwd: np.ndarray,
                    pair_subs: dict[int, list[tuple[int, int]]], writer: _SamWriter) -> None:
        """Write the pairs ``members`` of one haplotype fragment: PCR slips and substitutions per pair,
        then sequencing errors, qualities and sequencing slips per read."""
        sl = self.err.slippage
        slipped: dict[int, tuple[int, int]] = {}
        if sl.enabled:
            hs, hl = _homopolymers(frag.codes, sl.min_run)
            if len(hs):
                hit = self.rng.random((len(members), len(hs))) < sl.rate(hl.astype(float), "pcr")[None, :]
                for a, b in zip(*np.nonzero(hit)):
                    slipped.setdefault(int(a), (int(hs[b]), int(hl[b])))
        plain = np.array([i for i in range(len(members)) if i not in slipped], dtype=np.int64)
        if len(plain):
            self._emit(frag, members[plain], r1_fwd, pair_subs, writer)
        for i, (s0, h) in slipped.items():
            j = int(members[i])
            f2 = _apply_subs(frag, pair_subs.get(j, ()))
            f2 = _slip(f2, s0, h, insertion=self.rng.random() >= sl.deletion_share)
            self._emit(f2, np.array([j]), r1_fwd, {}, writer)

    def _emit(self, frag: _Fragment, members: np.ndarray, r1_fwd: np.ndarray,
              pair_subs: dict[int, list[tuple[int, int]]], writer: _SamWriter) -> None:
        """Write pairs of one fragment sequence (per-pair substitutions applied first)."""
        F = len(frag.codes)
        L = min(self.lib.read_length, F)
        n = len(members)
        tmpl = np.broadcast_to(frag.codes, (n, F)).copy()
        if pair_subs:
            index = None
            for row, j in enumerate(members):
                subs = pair_subs.get(int(j))
                if not subs:
                    continue
                if index is None:
                    index = {int(r): i for i, r in enumerate(frag.refmap) if r >= 0}
                for pos0, alt in subs:
                    i = index.get(pos0)
                    if i is not None:
                        tmpl[row, i] = alt
        is_r1_fwd = r1_fwd[members]
        ends = []
        for strand, sl in ((0, slice(0, L)), (1, slice(F - L, F))):
            refmap = frag.refmap[sl]
            read2 = ~is_r1_fwd if strand == 0 else is_r1_fwd
            called, qual = self._sequence(tmpl[:, sl], refmap, strand, read2)
            pos, cig = _cigar(refmap)
            seq_rows = _ASCII[called]
            qual_rows = (qual + 33).astype(np.uint8)
            slips = self._seq_slips(frag.codes[sl], n)
            ends.append((refmap, pos, cig, seq_rows, qual_rows, slips))
        for row, j in enumerate(members):
            self.read_counter += 1
            out = []
            for refmap, pos, cig, seq_rows, qual_rows, slips in ends:
                seq, qual = seq_rows[row], qual_rows[row]
                if row in slips:
                    rm, seq, qual = _seq_slip(refmap, seq, qual, *slips[row])
                    out.append((*_cigar(rm), seq.tobytes(), qual.tobytes()))
                else:
                    out.append((pos, cig, seq.tobytes(), qual.tobytes()))
            writer.pair(f"{self.spec.name}:{self.read_counter}", out[0], out[1], bool(is_r1_fwd[row]),
                        self.lib.mapq)

    def _seq_slips(self, codes: np.ndarray, n: int) -> dict[int, tuple[int, bool]]:
        """Reads (rows) with a sequencing-level homopolymer slip: row -> (run start, deletion?)."""
        sl = self.err.slippage
        if not sl.enabled or sl.seq_rate_h3 <= 0:
            return {}
        hs, hl = _homopolymers(codes, sl.min_run)
        inner = (hs > 0) & (hs + hl < len(codes))
        hs, hl = hs[inner], hl[inner]
        if not len(hs):
            return {}
        hit = self.rng.random((n, len(hs))) < sl.rate(hl.astype(float), "seq")[None, :]
        out: dict[int, tuple[int, bool]] = {}
        for a, b in zip(*np.nonzero(hit)):
            out.setdefault(int(a), (int(hs[b]), bool(self.rng.random() < sl.deletion_share)))
        return out

    def _sequence(self, codes: np.ndarray, refmap: np.ndarray, strand: int, read2: np.ndarray):
        """Sequencing errors and reported qualities of one read end of ``n`` pairs (reference orientation).

        Per cell: P(error to alt a) = level x 10^(-latent/10) x spectrum[b, a] x seq_mult[site, a, strand]
        + seq_hot[site, a, strand], with b the template base; the reported quality comes from the latent
        one alone, so systematic errors are invisible to it.
        """
        n, L = codes.shape
        se, qr = self.err.sequencing, self.err.quality
        cycle = np.arange(L) if strand == 0 else np.arange(L)[::-1]
        mean1 = se.latent_mean(L, False)[cycle].astype(np.float32)
        mean2 = se.latent_mean(L, True)[cycle].astype(np.float32)
        latent = np.where(read2[:, None], mean2[None, :], mean1[None, :])
        if se.read_sd:
            latent = latent + np.float32(se.read_sd) * self.rng.standard_normal((n, 1), dtype=np.float32)
        if se.base_sd:
            latent = latent + np.float32(se.base_sd) * self.rng.standard_normal((n, L), dtype=np.float32)
        qual = qr.report(latent)
        called = codes.copy()
        if not se.enabled and not self.run.params.enabled:
            return called, qual
        # reference positions of the read's bases (an inserted base uses the aligned base before it)
        rp = refmap.copy()
        aligned = np.flatnonzero(rp >= 0)
        for i in np.flatnonzero(rp < 0):
            before = aligned[aligned < i]
            rp[i] = rp[before[-1]] if len(before) else rp[aligned[0]]
        widx = rp - self.run.start
        # per column and template base b: the relative weights of the alts (L, 4, 4) and the hot rates
        off = np.ones((4, 4)) - np.eye(4)
        mult = self.spec_by_strand[strand][None, :, :] * self.seq_mult[widx, :, strand][:, None, :] \
            if se.enabled else np.zeros((L, 4, 4))
        hot = self.seq_hot[widx, :, strand][:, None, :] * off[None, :, :]
        mult_sum, hot_sum = mult.sum(axis=2), hot.sum(axis=2)          # (L, 4)
        safe = np.minimum(codes, 3).astype(np.int64)
        col = np.arange(L)[None, :]
        total = hot_sum[col, safe]
        if se.enabled:
            p = np.exp(latent * np.float32(-math.log(10.0) / 10.0)) * np.float32(self.level)
            total = total + p * mult_sum[col, safe]
        else:
            p = np.zeros((n, L), dtype=np.float32)
        u = self.rng.random((n, L), dtype=np.float32)
        err = u < total
        if err.any():
            rows, cols = np.nonzero(err)
            b = safe[rows, cols]
            w = p[rows, cols][:, None] * mult[cols, b, :] + hot[cols, b, :]
            cum = np.cumsum(w, axis=1)
            v = self.rng.random(len(rows)) * cum[:, 3]
            called[rows, cols] = (v[:, None] < cum).argmax(axis=1)
        return called, qual

    # ------------------------------------------------ outputs
    def finish(self) -> tuple[list[dict], list[tuple]]:
        rows = []
        for t in self.truth:
            v: Variant = t["variant"]
            rows.append({"chrom": v.chrom, "pos": v.pos, "ref": v.ref, "alt": v.alt, "kind": v.kind,
                         "label": v.label, "asked_fraction": v.fraction,
                         "molecule_fraction": t["molecules_alt"] / max(t["molecules"], 1),
                         "read_fraction": t["pairs_alt"] / max(t["pairs"], 1),
                         "molecules_alt": t["molecules_alt"], "molecules": t["molecules"],
                         "pairs_alt": t["pairs_alt"], "pairs": t["pairs"]})
        return rows, self.artefacts


def _seq_slip(refmap: np.ndarray, seq: np.ndarray, qual: np.ndarray, start: int,
              deletion: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One read with a +-1 slip at the homopolymer starting at ``start`` (the read keeps its length:
    a deletion reads one more base at the far end is not available, so the read ends one base short)."""
    if deletion:
        keep = np.ones(len(seq), bool)
        keep[start] = False
        return refmap[keep], seq[keep], qual[keep]
    rm = np.insert(refmap, start, -1)[:-1]
    return rm, np.insert(seq, start, seq[start])[:-1], np.insert(qual, start, qual[start])[:-1]


def _apply_subs(frag: _Fragment, subs: Iterable[tuple[int, int]]) -> _Fragment:
    codes = frag.codes.copy()
    index = {int(r): i for i, r in enumerate(frag.refmap) if r >= 0}
    for pos0, alt in subs:
        i = index.get(pos0)
        if i is not None:
            codes[i] = alt
    return _Fragment(codes, frag.refmap)


def simulate_sample(out_bam: str, spec: SampleSpec, *, reference: Reference, regions: Sequence[Region],
                    run: RunProfile, errors: ErrorModel = ErrorModel(), threads: int = 1) -> SampleTruth:
    """Simulate one sample of ``run`` into ``out_bam`` (+ ``.bai``, ``.truth.tsv``, ``.artefacts.tsv``)."""
    for v in spec.variants:
        if v.chrom != reference.contig:
            raise ValueError(f"{v.chrom}:{v.pos}: not on the reference contig {reference.contig}")
    sim = _SampleSimulator(spec, reference, regions, run, errors)
    writer = _SamWriter(out_bam, spec.name)
    try:
        for region in regions:
            sim.simulate_region(region, writer)
    finally:
        writer.close(threads)
    rows, artefacts = sim.finish()
    stem = out_bam[:-4] if out_bam.endswith(".bam") else out_bam
    truth_tsv, art_tsv = stem + ".truth.tsv", stem + ".artefacts.tsv"
    with open(truth_tsv, "w") as fh:
        fh.write("\t".join(TRUTH_COLUMNS) + "\n")
        for r in rows:
            fh.write("\t".join(f"{r[c]:.6g}" if isinstance(r[c], float) else str(r[c]) for c in TRUTH_COLUMNS)
                     + "\n")
    with open(art_tsv, "w") as fh:
        fh.write("kind\tpos\tref\talt\tpairs_alt\tpairs\n")
        for a in sorted(artefacts, key=lambda x: (x[1], x[3])):
            fh.write("\t".join(str(x) for x in a) + "\n")
    return SampleTruth(out_bam, truth_tsv, art_tsv, rows, sim.n_pairs, sim.n_dup / max(sim.n_pairs, 1))


def read_truth(path: str) -> list[dict]:
    """Rows of a truth TSV (numbers parsed)."""
    out = []
    with open(path) as fh:
        header = fh.readline().rstrip("\n").split("\t")
        for line in fh:
            f = dict(zip(header, line.rstrip("\n").split("\t")))
            for k in ("pos", "molecules_alt", "molecules", "pairs_alt", "pairs"):
                f[k] = int(f[k])
            for k in ("asked_fraction", "molecule_fraction", "read_fraction"):
                f[k] = float(f[k])
            out.append(f)
    return out


# ---------------------------------------------------------------- command line

def _parse_spike(text: str) -> Variant:
    parts = text.split(":")
    if len(parts) < 5:
        raise argparse.ArgumentTypeError(f"spike {text!r}: expected CHROM:POS:REF:ALT:FRACTION[:KIND[:LABEL]]")
    kind = parts[5] if len(parts) > 5 else "somatic"
    label = parts[6] if len(parts) > 6 else ""
    return Variant(parts[0], int(parts[1]), parts[2], parts[3], float(parts[4]), kind, label)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--out", required=True, help="output BAM")
    ap.add_argument("-f", "--ref", default=DEFAULT_FASTA)
    ap.add_argument("-l", "--bed", default=DEFAULT_BED)
    ap.add_argument("--mode", choices=("amplicon", "capture"), default="amplicon")
    ap.add_argument("--pairs", type=int, default=25_000, help="pairs per amplicon / read depth (capture)")
    ap.add_argument("--molecules", type=int, default=None)
    ap.add_argument("--run-seed", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--spike", type=_parse_spike, action="append", default=[])
    ap.add_argument("--binning", choices=("none", "novaseq"), default="none")
    ap.add_argument("--oxidation", action="store_true")
    ap.add_argument("--no-errors", action="store_true", help="switch every error process off")
    args = ap.parse_args(argv)
    reference, regions = Reference(args.ref), read_bed(args.bed)
    errors = ErrorModel.none() if args.no_errors else ErrorModel()
    errors = dataclasses.replace(errors, quality=QualityReporting(binning=args.binning),
                                 oxidation=Oxidation(enabled=args.oxidation))
    run = RunProfile(reference, regions, args.run_seed, params=errors.run)
    lib = Library(mode=args.mode, pairs=args.pairs, molecules=args.molecules)
    spec = SampleSpec(os.path.basename(args.out).removesuffix(".bam"), args.spike, args.seed, lib)
    truth = simulate_sample(args.out, spec, reference=reference, regions=regions, run=run, errors=errors)
    print(f"{truth.bam}: {truth.pairs} pairs, duplicate fraction {truth.duplicate_fraction:.3f}; "
          f"truth {truth.truth_tsv}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
