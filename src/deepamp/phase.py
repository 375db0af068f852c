"""Cis/trans phasing of nearby SNVs from sequenced fragments (``deepamp phase``).

For every pair of SNVs on one contig, each fragment (a read pair counts once; mates are joined by name) gets an
allele at both sites: ref, alt, other (another base or a deletion) or none
(not covered, base below ``min_bq``, or the mates disagree).  Fragments with
ref or alt at BOTH sites are the *spanning* fragments; their 2x2 table
(ref/ref, ref/alt, alt/ref, alt/alt) is tested against independence with the
hypergeometric distribution (Fisher's exact test, margins fixed):

* ``p_cis``   = P(alt/alt >= observed): co-occurrence above chance;
* ``p_trans`` = P(alt/alt <= observed): co-occurrence below chance (for an
  observed 0 this is P(0 | independence); under cis, where every fragment of
  the rarer allele carries the other one, 0 is rarer still).

Relation: **cis** if ``p_cis < alpha`` and alt/alt >= ``min_cis_fragments``;
**trans** if ``p_trans < alpha`` and alt/alt is at most ``max_trans_fraction``
of the rarer allele's spanning alt fragments (0 for fewer than
1/max_trans_fraction of them; the allowance absorbs sequencing/PCR errors);
otherwise **undetermined** (e.g. fragments too short to span both sites),
always reported with the spanning count.

Pairs farther apart than ``max_distance`` are not counted but still reported,
as undetermined with spanning count 0 and a note.  By default
``max_distance`` is the longest fragment seen at the variant sites (the
largest |TLEN|, or the aligned length for a read without a mate on the same
contig, over every read overlapping a variant): no fragment can span a pair
farther apart than that, so nothing is lost by not counting it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import pysam

from deepamp.clones import cis_groups
from deepamp.errors import FormatError, IndexFileError, InputFileError, RegionError
from deepamp.io.outputs import output_text

RELATIONS = ("cis", "trans", "undetermined")
DEFAULT_ALPHA = 1e-3
TSV_COLUMNS = ("chrom", "pos_a", "ref_a", "alt_a", "pos_b", "ref_b", "alt_b", "distance",
               "relation", "spanning", "ref_ref", "ref_alt", "alt_ref", "alt_alt", "other",
               "a_only", "b_only", "discordant", "p_cis", "p_trans", "ps", "note")


@dataclass(frozen=True)
class PhaseVariant:
    """An SNV: 1-based ``pos``."""

    contig: str
    pos: int
    ref: str
    alt: str

    def label(self) -> str:
        return f"{self.contig}:{self.pos}{self.ref}>{self.alt}"


@dataclass
class PhaseResult:
    """Fragment counts and phase relation of one variant pair.

    ``table[i][j]`` counts fragments with allele i at ``a`` and j at ``b``,
    alleles ordered ref, alt, other, none.
    """

    a: PhaseVariant
    b: PhaseVariant
    table: list[list[int]]
    relation: str
    p_cis: float
    p_trans: float
    discordant: int = 0
    ps: int | None = None
    stats: dict[str, int] = field(default_factory=dict)
    note: str = ""

    @property
    def ref_ref(self) -> int:
        return self.table[0][0]

    @property
    def ref_alt(self) -> int:
        return self.table[0][1]

    @property
    def alt_ref(self) -> int:
        return self.table[1][0]

    @property
    def alt_alt(self) -> int:
        return self.table[1][1]

    @property
    def spanning(self) -> int:
        """Fragments with ref or alt at both sites."""
        return self.ref_ref + self.ref_alt + self.alt_ref + self.alt_alt

    @property
    def other(self) -> int:
        """Fragments with another base (or a deletion) at either site."""
        t = self.table
        return sum(t[2]) + t[0][2] + t[1][2] + t[3][2]

    @property
    def a_only(self) -> int:
        """Fragments with ref/alt at a and nothing usable at b."""
        return self.table[0][3] + self.table[1][3]

    @property
    def b_only(self) -> int:
        return self.table[3][0] + self.table[3][1]

    @property
    def distance(self) -> int:
        return abs(self.b.pos - self.a.pos)


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def hypergeom_tails(n11: int, n1_: int, n_1: int, n: int) -> tuple[float, float]:
    """(P(X >= n11), P(X <= n11)) for X ~ Hypergeometric: n fragments, n1_ alt at
    site a, n_1 alt at site b, X = fragments alt at both (one-sided Fisher tests)."""
    if n <= 0:
        return 1.0, 1.0
    lo, hi = max(0, n1_ + n_1 - n), min(n1_, n_1)
    denom = _log_comb(n, n_1)
    logp = {k: _log_comb(n1_, k) + _log_comb(n - n1_, n_1 - k) - denom for k in range(lo, hi + 1)}

    def total(ks: range) -> float:
        vals = [logp[k] for k in ks]
        if not vals:
            return 0.0
        m = max(vals)
        return min(1.0, math.exp(m) * sum(math.exp(v - m) for v in vals))

    return total(range(max(n11, lo), hi + 1)), total(range(lo, min(n11, hi) + 1))


def classify(table: Sequence[Sequence[int]], *, alpha: float = DEFAULT_ALPHA, min_cis_fragments: int = 3,
             max_trans_fraction: float = 0.02) -> tuple[str, float, float]:
    """(relation, p_cis, p_trans) of a 2x2 (or larger, ref/alt first) fragment table."""
    rr, ra, ar, aa = table[0][0], table[0][1], table[1][0], table[1][1]
    n = rr + ra + ar + aa
    alt_a, alt_b = ar + aa, ra + aa
    p_cis, p_trans = hypergeom_tails(aa, alt_a, alt_b, n)
    if aa >= min_cis_fragments and p_cis < alpha:
        return "cis", p_cis, p_trans
    if p_trans < alpha and aa <= math.floor(max_trans_fraction * min(alt_a, alt_b)):
        return "trans", p_cis, p_trans
    return "undetermined", p_cis, p_trans


def _pairs(variants: Sequence[PhaseVariant]) -> list[tuple[int, int]]:
    """Every pair of distinct positions on one contig, ordered by position."""
    order = sorted(range(len(variants)), key=lambda i: (variants[i].contig, variants[i].pos, variants[i].alt))
    out = []
    for x, i in enumerate(order):
        for j in order[x + 1:]:
            vi, vj = variants[i], variants[j]
            if vj.contig != vi.contig:
                break
            if vj.pos != vi.pos:
                out.append((i, j))
    return out


def longest_fragment(bam: str, variants: Sequence[PhaseVariant], *, reference: str | None = None,
                     flag_exclude: int = 0xF04) -> int:
    """Longest fragment overlapping any variant site, in bases (0 when no read covers one).

    A fragment's length is |TLEN| when the mate is on the same contig, else the
    read's aligned length.  Reads with a flag in ``flag_exclude`` are ignored.

    Raises
    ------
    InputFileError, IndexFileError
        The BAM (or its index) is missing or unreadable.
    """
    longest = 0
    try:
        with pysam.AlignmentFile(bam, reference_filename=reference) as fh:
            for v in dict.fromkeys((v.contig, v.pos) for v in variants):
                for read in fh.fetch(v[0], v[1] - 1, v[1]):
                    if read.flag & flag_exclude:
                        continue
                    span = abs(read.template_length) if read.is_paired and \
                        read.next_reference_id == read.reference_id else 0
                    longest = max(longest, span, read.reference_length or 0)
    except ValueError as exc:
        raise IndexFileError(f"{bam}: cannot fetch the variant sites ({exc})") from None
    except OSError as exc:
        raise InputFileError(f"{bam}: cannot read ({exc})") from None
    return longest


def _bam_contigs(bam: str) -> dict[str, tuple[int, int]]:
    """Contig name -> (tid, length) from the BAM header."""
    if not os.path.isfile(bam):
        raise InputFileError(f"{bam}: alignment file not found")
    try:
        with pysam.AlignmentFile(bam, "rb", check_sq=False) as fh:
            return {name: (tid, length) for tid, (name, length) in enumerate(zip(fh.references, fh.lengths))}
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{bam}: cannot read as BAM ({exc})") from None


def _phase_sets(variants: Sequence[PhaseVariant], results: Sequence[PhaseResult]) -> dict[PhaseVariant, int]:
    """PS of every variant in a cis group of two or more: the position of its first member."""
    groups = cis_groups(variants, [(r.a, r.b) for r in results if r.relation == "cis"])
    return {v: min(g, key=lambda u: (u.pos, u.alt)).pos for g in groups if len(g) > 1 for v in g}


def phase_pairs(bam: str, variants: Sequence[PhaseVariant | tuple[str, int, str, str]], *,
                max_distance: int | None = None, min_mapq: int = 20, min_bq: int = 20,
                flag_exclude: int = 0xF04, alpha: float = DEFAULT_ALPHA, min_cis_fragments: int = 3,
                max_trans_fraction: float = 0.02, reference: str | None = None) -> list[PhaseResult]:
    """Phase every pair of SNVs on one contig from the fragments in ``bam``.

    ``variants``: PhaseVariant or (contig, 1-based pos, ref, alt); SNVs only.
    Returns one PhaseResult per pair (a before b on the genome); ``ps`` is the
    phase-set id (lowest position of the cis-linked set) or None.  Pairs more
    than ``max_distance`` apart (default: :func:`longest_fragment`) are not
    counted and come back undetermined with spanning count 0 and a ``note``.

    Raises
    ------
    InputFileError, IndexFileError
        The BAM (or its index) is missing or unreadable.
    RegionError
        A variant lies on a contig absent from the BAM header or outside it.
    ValueError
        A variant is not an SNV of A/C/G/T, or an option is out of range.
    """
    if max_distance is not None and max_distance < 1:
        raise ValueError("max_distance must be >= 1")
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must be in (0, 1)")
    if not 0.0 <= max_trans_fraction < 1.0:
        raise ValueError("max_trans_fraction must be in [0, 1)")
    vs = [v if isinstance(v, PhaseVariant) else PhaseVariant(v[0], int(v[1]), str(v[2]).upper(), str(v[3]).upper())
          for v in variants]
    for v in vs:
        if len(v.ref) != 1 or len(v.alt) != 1 or v.ref not in "ACGT" or v.alt not in "ACGT" or v.ref == v.alt:
            raise ValueError(f"{v.label()}: only SNVs of A/C/G/T can be phased")
    vs = list(dict.fromkeys(vs))
    contigs = _bam_contigs(bam)
    for v in vs:
        if v.contig not in contigs:
            raise RegionError(f"{bam}: variant {v.label()} is on contig {v.contig!r}, which is not in the BAM header")
        if v.pos > contigs[v.contig][1]:
            raise RegionError(f"{bam}: variant {v.label()} is outside {v.contig} (length {contigs[v.contig][1]})")
    tids = {name: tid for name, (tid, _) in contigs.items()}
    derived = max_distance is None
    if max_distance is None:
        max_distance = longest_fragment(bam, vs, reference=reference, flag_exclude=flag_exclude)
    why = (f"no fragment at the sites is longer than {max_distance} bp" if derived
           else f"max distance {max_distance} bp")
    all_pairs = _pairs(vs)
    pairs = [(i, j) for i, j in all_pairs if vs[j].pos - vs[i].pos <= max_distance]
    from deepamp._phase import count_pairs   # compiled module; imported late so `deepamp phase --help` needs no build

    sites = [((tids[vs[i].contig], vs[i].pos - 1, vs[i].ref, vs[i].alt),
              (tids[vs[j].contig], vs[j].pos - 1, vs[j].ref, vs[j].alt)) for i, j in pairs]
    counts, stats = count_pairs(bam, sites, reference_path=reference, min_mapq=min_mapq,
                                min_bq=min_bq, flag_exclude=flag_exclude) if sites else ([], [])
    counted = {}
    for k, (i, j) in enumerate(pairs):
        table = [[int(x) for x in row] for row in counts[k]]
        rel, p_cis, p_trans = classify(table, alpha=alpha, min_cis_fragments=min_cis_fragments,
                                       max_trans_fraction=max_trans_fraction)
        st = dict(zip(("reads_seen", "reads_used", "fragments", "mates_joined", "discordant"),
                      (int(x) for x in stats[k])))
        counted[(i, j)] = PhaseResult(vs[i], vs[j], table, rel, p_cis, p_trans,
                                      discordant=st["discordant"], stats=st)
    results = []
    for i, j in all_pairs:
        r = counted.get((i, j))
        if r is None:
            r = PhaseResult(vs[i], vs[j], [[0] * 4 for _ in range(4)], "undetermined", 1.0, 1.0,
                            note=f"{vs[j].pos - vs[i].pos} bp apart, not counted ({why})")
        results.append(r)
    ps = _phase_sets(vs, results)
    for r in results:
        if r.relation == "cis":
            r.ps = ps.get(r.a)
    return results


# ---------------------------------------------------------------------------
# Phasing the records of a VCF
# ---------------------------------------------------------------------------

def _fmt_p(p: float) -> str:
    return f"{p:.3g}"


def phase_vcf(bam: str, vcf: str, out: str, *, tsv: str | None = None, annotate_tsv: str | None = None,
              genome: str = "hg38", reference: str | None = None, min_mapq: int = 0, min_bq: int = 6,
              flag_exclude: int = 0xF04, max_distance: int | None = None, alpha: float = DEFAULT_ALPHA,
              min_cis_fragments: int = 3, max_trans_fraction: float = 0.02,
              all_records: bool = False) -> list[PhaseResult]:
    """Phase the SNVs of ``vcf`` from the fragments of ``bam``; write the phased VCF (and TSVs).

    The output VCF is the input plus INFO ``PS`` (phase set of cis-linked variants)
    and ``PHASE`` (relation to each nearby variant).  Only PASS (or '.') records
    are phased unless ``all_records``.  Every output appears complete or not at all.

    Raises
    ------
    InputFileError, FormatError, IndexFileError, RegionError
        Bad inputs (one line naming the file).
    OutputError
        An output cannot be written.
    """
    from deepamp.io.vcf import filter_names, read_vcf, write_vcf

    data = read_vcf(vcf)
    header = data.header.copy()
    for key in ("PS", "PHASE"):
        if key in header.info:
            raise FormatError(f"{vcf}: INFO field {key} is already defined (already phased?)")
    header.add_line('##INFO=<ID=PS,Number=1,Type=Integer,Description="Phase set: variants linked in cis by '
                    'deepamp phase share it (the position of the set\'s first variant)">')
    header.add_line('##INFO=<ID=PHASE,Number=.,Type=String,Description="deepamp phase relation to each nearby '
                    'variant: partner:cis|trans|undetermined:spanning=fragments">')
    variants = []
    for rec in data.records:
        filters = filter_names(rec)
        if not all_records and filters:
            continue
        for alt in rec.alts or ():
            if len(rec.ref) == 1 and len(alt) == 1 and rec.ref.upper() in "ACGT" and alt.upper() in "ACGT":
                variants.append(PhaseVariant(rec.chrom, rec.pos, rec.ref.upper(), alt.upper()))
    results = phase_pairs(bam, variants, max_distance=max_distance, min_mapq=min_mapq, min_bq=min_bq,
                          flag_exclude=flag_exclude, alpha=alpha, min_cis_fragments=min_cis_fragments,
                          max_trans_fraction=max_trans_fraction, reference=reference)
    ps = _phase_sets(list(dict.fromkeys(variants)), results)
    notes: dict[tuple[str, int, str, str], list[str]] = {}
    for r in results:
        for me, other in ((r.a, r.b), (r.b, r.a)):
            notes.setdefault((me.contig, me.pos, me.ref, me.alt), []).append(
                f"{other.label()}:{r.relation}:spanning={r.spanning}")
    records = []
    for rec in data.records:
        rec.translate(header)
        keys = [(rec.chrom, rec.pos, rec.ref.upper(), (a or "").upper()) for a in rec.alts or ()]
        mine = [n for k in keys for n in notes.get(k, [])]
        sets = sorted({ps[PhaseVariant(*k)] for k in keys if PhaseVariant(*k) in ps})
        if sets:
            rec.info["PS"] = sets[0]
        if mine:
            rec.info["PHASE"] = mine
        records.append(rec)
    tsv_text = None
    if tsv:
        rows = ["\t".join(TSV_COLUMNS)]
        for r in results:
            row = [r.a.contig, r.a.pos, r.a.ref, r.a.alt, r.b.pos, r.b.ref, r.b.alt, r.distance,
                   r.relation, r.spanning, r.ref_ref, r.ref_alt, r.alt_ref, r.alt_alt, r.other,
                   r.a_only, r.b_only, r.discordant, _fmt_p(r.p_cis), _fmt_p(r.p_trans),
                   "" if r.ps is None else r.ps, r.note]
            rows.append("\t".join(str(x) for x in row))
        tsv_text = "\n".join(rows) + "\n"
    annotate_text = _annotate_tsv_text(results, genome) if annotate_tsv else None
    write_vcf(out, header, records)
    if tsv_text is not None:
        output_text(tsv, tsv_text)
    if annotate_text is not None:
        output_text(annotate_tsv, annotate_text)
    return results


def _annotate_tsv_text(results: Sequence[PhaseResult], genome: str) -> str:
    """mutA<TAB>mutB<TAB>relation lines, protein names as ``deepamp annotate`` names them."""
    from deepamp.annotate.hgvs import Variant, annotate
    from deepamp.annotate.ranking import normalize_mutation
    from deepamp.annotate.transcripts import TranscriptSet, check_genome

    try:
        build = check_genome(genome)
    except ValueError as exc:
        raise FormatError(f"--genome: {exc}") from None
    txs = TranscriptSet.default(build)
    uniq = list(dict.fromkeys(v for r in results for v in (r.a, r.b)))
    anns = annotate([Variant(v.contig, v.pos, v.ref, v.alt) for v in uniq], txs)
    names: dict[PhaseVariant, str] = {}
    for v, ann in zip(uniq, anns):
        if ann.protein_change and ann.gene:
            try:
                names[v] = normalize_mutation(ann.protein_change if ann.gene == "ALK"
                                              else f"{ann.gene}:{ann.protein_change}")
            except ValueError:
                continue
    seen: set[frozenset[str]] = set()
    lines = ["# deepamp phase: mutA\tmutB\tcis|trans|undetermined\n"]
    for r in results:
        na, nb = names.get(r.a), names.get(r.b)
        if na is None or nb is None or na == nb or frozenset((na, nb)) in seen:
            continue
        seen.add(frozenset((na, nb)))
        lines.append(f"{na}\t{nb}\t{r.relation}\n")
    return "".join(lines)
