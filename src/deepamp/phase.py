"""Cis/trans phasing of nearby SNVs from sequenced fragments (``deepamp phase``).

Are two mutations on the same DNA molecules (cis, e.g. ALK L1196M+G1202R as
one compound mutant) or on different ones (trans)?  Only a fragment that
covers both sites can tell, so every read pair is taken as one fragment
(mates joined by name) and given an allele at each variant site it covers:
ref, alt, other (another base or a deletion) or none.

Reads and bases
---------------
Exactly the rule of ``deepamp call`` / :func:`deepamp.counting.bam.count`, with the
same options and defaults: reads that are unmapped, secondary,
supplementary, QC-fail or duplicates (``flag_exclude``), below ``min_mapq``,
or without a sequence are dropped; bases below ``min_bq`` are dropped, and
non-reference bases below ``min_alt_bq``.  Where both mates cover a site, an
agreeing base counts once and disagreeing mates make the fragment's allele
none there (counted as discordant); where one mate's base is dropped the
other's is used.  An N is none.  Every site reports how many reads overlap
it (seen / used / dropped by reason) and what its fragments showed
(:class:`SiteEvidence`), so nothing is lost silently.  The BAM is read once
for all pairs.

The test
--------
Only fragments with ref or alt at both sites (*spanning* fragments) are used.
Call the site whose alt allele fewer spanning fragments carry the *rarer*
site; let ``n`` be those fragments and ``k`` the ones among them that carry
the other alt allele too (alt/alt).  Two hypotheses predict ``k``:

* **cis**: every molecule with the rarer variant also carries the other one
  (the rarer clone is nested in the commoner, or both are one clone).  A
  fragment with the rarer alt then shows the other alt unless the other site
  is misread (rate ``e_other``) or the rarer alt is itself an error on a
  molecule without the variant.  The expected share of such errors among the
  ``n`` is ``phi = (N - n) * e_rarer / n`` (N spanning fragments, at most 1),
  and an erroneous one carries the other alt as often as any fragment does
  (``f`` = its alt fraction among spanning fragments): ``k ~ Binomial(n,
  p_cis)`` with ``p_cis = (1 - phi)(1 - e_other) + phi * f``.
* **trans**: no molecule carries both; alt/alt arises only from a misread of
  the other site on a rarer-allele molecule, or from an error at the rarer
  site on a molecule of the other clone: ``p_trans = (1 - phi) e_other + phi * f``.

``e`` of a site is the rate at which one base is misread as one given other
base, bounded from the site's own fragments: those showing neither REF nor
ALT are two of the three possible misreads of any base, so ``e`` is the
upper ``1 - alpha`` Clopper-Pearson bound of their fraction, halved (PCR and
sequencing errors alike; another allele phased at the same position is no
misread, and its fragments are left out).  Using the bound makes both decisions conservative.
An artefact that turns REF into ALT at this very site (not seen as another
base) is what the background model of ``deepamp call`` removes before.

Each hypothesis gets an exact binomial test: ``p_cis = P(K <= k | cis)``
(small: too few alt/alt for cis) and ``p_trans = P(K >= k | trans)`` (small:
too many for trans); ``lod`` is log10 of the likelihood ratio P(k | cis) /
P(k | trans).  The likelihood ratio grows with ``k``, so the most powerful
test of the two is a threshold ``t`` on ``k``: the smallest ``t`` with
``P(K >= t | trans) <= alpha``.  The evidence suffices when that threshold
also keeps ``P(K < t | cis) <= alpha``, i.e. when the ``n`` fragments would
tell the hypotheses apart at level ``alpha`` whichever is true (both error
probabilities <= alpha), or when ``n`` is at least a count that would (the
binomial's steps can move ``t`` up by one between ``n`` and ``n + 1`` and
make the cis error miss ``alpha`` by a hair; more evidence never undecides a
pair).  Then the pair is **trans** if ``k < t``, **cis** if
``k >= t`` and ``p_cis > alpha``, and **undetermined** (a mixture: more
alt/alt than errors explain, fewer than cis predicts, e.g. a subclone
carrying both, or an artefact that sits on random molecules, which
co-occurs with the other allele as often as chance makes it) if ``p_cis <=
alpha`` too.  With too little evidence the pair
is undetermined, and ``min_alt_fragments`` says how many alt fragments of the
rarer allele (spanning both sites, same depth and error rates) would do;
none when no number would (too few spanning fragments for the error
rates).  The minimum comes from the test's power, so it adapts to depth and
error rates instead of being a fixed count.

Examples (alpha 1e-3, error rates 3e-4): 27,425 spanning fragments, 291 alt
at one site, 264 at the other, 0 alt/alt is trans (cis expects 256 alt/alt
among the 264; independence only 2.8, which is why a test against
independence cannot tell).  A pair at 0.1%/0.1% with 25 alt fragments each
and none shared is trans too: of 27,000 spanning fragments about 8 carry the
rarer alt by error, so cis still expects 17 alt/alt, P(0 | cis) = 6e-13, and
25 is above the minimum of 16 that the test's power sets at this depth and
error rate.  At error rate 1e-3, errors could make up all 25 (27 expected):
cis and trans then predict alike, and the pair stays undetermined (36 would
be needed).

PCR template switching between the two sites makes cis fragments look trans;
at a high chimera rate a cis pair comes out as a mixture (undetermined),
never as trans on its own.

Pairs farther apart than ``max_distance`` are not counted but still
reported, undetermined with spanning 0 and a note.  By default every pair on
a contig is counted in the one pass: a pair farther apart than the longest
fragment seen at its sites has no spanning fragment and is reported so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from deepamp.clones import cis_groups
from deepamp.errors import FormatError, RegionError
from deepamp.io.alignment import inspect_alignment
from deepamp.io.outputs import output_text
from deepamp.options import DEFAULT_FLAG_EXCLUDE

RELATIONS = ("cis", "trans", "undetermined")
DEFAULT_ALPHA = 1e-3
TSV_COLUMNS = ("chrom", "pos_a", "ref_a", "alt_a", "pos_b", "ref_b", "alt_b", "distance",
               "relation", "spanning", "ref_ref", "ref_alt", "alt_ref", "alt_alt", "other",
               "a_only", "b_only", "discordant", "rarer", "alt_fragments", "expected_cis", "expected_trans",
               "error_a", "error_b", "min_alt_fragments", "lod", "p_cis", "p_trans", "ps", "note")


@dataclass(frozen=True)
class PhaseVariant:
    """An SNV: 1-based ``pos``."""

    contig: str
    pos: int
    ref: str
    alt: str

    def label(self) -> str:
        return f"{self.contig}:{self.pos}{self.ref}>{self.alt}"


@dataclass(frozen=True)
class SiteEvidence:
    """What the reads and fragments at one variant site showed.

    Attributes
    ----------
    reads : reads overlapping the site: ``seen``, ``used`` and the drop
        reasons of :func:`deepamp.counting.bam.count` (``unmapped``, ``secondary``,
        ``supplementary``, ``qcfail``, ``duplicate``, ``low_mapq``, ``no_sequence``)
    fragments : fragments covering the site by what they showed there (one
        each): ``ref``, ``alt``, ``other_base``, ``deletion``, ``n``,
        ``discordant`` (mates disagree), ``low_base_quality``,
        ``low_alt_base_quality``, ``no_quality``; and ``both_mates``
        (fragments whose two mates both covered the site, not an outcome)
    reach : longest fragment with an outcome at the site (first to last
        reference base of its mates), in bases
    error_rate : bound of the rate at which a base here is misread as one
        given other base (see the module documentation)
    """

    reads: dict[str, int]
    fragments: dict[str, int]
    reach: int
    error_rate: float


@dataclass(frozen=True)
class PhaseTest:
    """Outcome of the cis/trans test of one pair (see the module documentation).

    Attributes
    ----------
    relation : "cis", "trans" or "undetermined"
    rarer : "a" or "b", the site whose alt allele fewer spanning fragments
        carry ("" when no spanning fragment carries either)
    alt_fragments : ``n``, spanning fragments with the rarer alt allele
    expected_cis, expected_trans : alt/alt expected among them under each hypothesis
    p_cis : P(alt/alt <= observed | cis); small rejects cis
    p_trans : P(alt/alt >= observed | trans); small rejects trans
    lod : log10 P(observed | cis) / P(observed | trans)
    min_alt_fragments : alt fragments of the rarer allele needed for a
        decision at this depth and these error rates (None: no number suffices)
    note : why the pair is undetermined ("" when decided)
    """

    relation: str
    rarer: str
    alt_fragments: int
    expected_cis: float
    expected_trans: float
    p_cis: float
    p_trans: float
    lod: float
    min_alt_fragments: int | None
    note: str


@dataclass
class PhaseResult:
    """Fragment counts and phase relation of one variant pair.

    ``table[i][j]`` counts fragments with allele i at ``a`` and j at ``b``,
    alleles ordered ref, alt, other, none (none/none is always 0).
    ``site_a``/``site_b`` are None when no pair of the site was counted.
    """

    a: PhaseVariant
    b: PhaseVariant
    table: list[list[int]]
    test: PhaseTest
    site_a: SiteEvidence | None
    site_b: SiteEvidence | None
    ps: int | None = None
    note: str = ""

    @property
    def relation(self) -> str:
        return self.test.relation

    @property
    def p_cis(self) -> float:
        return self.test.p_cis

    @property
    def p_trans(self) -> float:
        return self.test.p_trans

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
    def discordant(self) -> int:
        """Fragments whose mates disagree at a, plus those at b (when the pair was counted)."""
        if self.site_a is None or self.site_b is None or not any(any(row) for row in self.table):
            return 0
        return self.site_a.fragments["discordant"] + self.site_b.fragments["discordant"]

    @property
    def distance(self) -> int:
        return abs(self.b.pos - self.a.pos)


# ---------------------------------------------------------------------------
# statistics
# ---------------------------------------------------------------------------

def _logsf_binom(k: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """log P(X >= k), X ~ Binomial(n, p), element-wise (compiled, exact in log space)."""
    from ._stats import logsf_binom   # compiled; imported late so `deepamp phase --help` needs no build

    k, n, p = np.broadcast_arrays(np.asarray(k, np.int64), np.asarray(n, np.int64), np.asarray(p, np.float64))
    if k.size == 0:
        return np.zeros(k.shape)
    return np.asarray(logsf_binom(k, n, np.clip(p, 0.0, 1.0)), dtype=np.float64)


def _cdf_binom(k: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """P(X <= k), X ~ Binomial(n, p) (1 for k >= n, 0 for k < 0)."""
    k, n = np.asarray(k, np.int64), np.asarray(n, np.int64)
    out = np.exp(_logsf_binom(n - k, n, 1.0 - np.asarray(p, np.float64)))   # P(n - X >= n - k)
    return np.where(k < 0, 0.0, out)


def site_error_rate(other: Sequence[int] | np.ndarray, bases: Sequence[int] | np.ndarray,
                    alpha: float = DEFAULT_ALPHA, kinds: Sequence[int] | np.ndarray | int = 2) -> np.ndarray:
    """Upper bound of the rate at which a base is misread as one given other base, per site.

    Parameters
    ----------
    other : fragments at the site showing a base that is neither REF, ALT
        nor another allele phased at the same position
    bases : fragments at the site showing any A/C/G/T
    alpha : the bound is the upper ``1 - alpha`` Clopper-Pearson limit of
        ``other / bases``, divided by ``kinds``
    kinds : how many bases ``other`` counts (2, minus the other alleles
        phased at the position): it holds that many of the three misreads

    Returns
    -------
    float64 array, at most 0.5; 0.5 where ``bases`` or ``kinds`` is 0 (nothing known).

    Raises
    ------
    ValueError
        ``other`` is negative or above ``bases``, or ``kinds`` is outside 0..2.
    """
    x = np.asarray(other, dtype=np.int64)
    m = np.asarray(bases, dtype=np.int64)
    k = np.broadcast_to(np.asarray(kinds, dtype=np.int64), x.shape)
    if np.any(x < 0) or np.any(x > m):
        raise ValueError("site_error_rate: need 0 <= other <= bases")
    if np.any((k < 0) | (k > 2)):
        raise ValueError("site_error_rate: kinds must be 0, 1 or 2")
    lo = np.where(m > 0, x / np.maximum(m, 1), 0.0)
    hi = np.ones(x.shape)
    for _ in range(64):     # P(X <= x | m, p) falls as p grows: bisect for alpha
        mid = (lo + hi) / 2
        above = _cdf_binom(x, m, mid) > alpha
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return np.where((m > 0) & (k > 0), np.minimum(hi / np.maximum(k, 1), 0.5), 0.5)


def _hypotheses(spanning: np.ndarray, n: np.ndarray, x_other: np.ndarray, e_rarer: np.ndarray,
                e_other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(p_cis, p_trans): P(a fragment with the rarer alt shows the other alt) under each hypothesis."""
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = np.where(n > 0, np.minimum(1.0, (spanning - n) * e_rarer / np.maximum(n, 1)), 1.0)
        f = np.where(spanning > 0, x_other / np.maximum(spanning, 1), 0.0)
    return (1 - phi) * (1 - e_other) + phi * f, (1 - phi) * e_other + phi * f


def _threshold(n: np.ndarray, p_trans: np.ndarray, alpha: float) -> np.ndarray:
    """Smallest t with P(K >= t | n, p_trans) <= alpha (n + 1 when even K = n is likely under trans)."""
    lo, hi = np.zeros(n.shape, np.int64), n + 1     # P(K >= 0) = 1 > alpha; P(K >= n + 1) = 0
    mu = n * p_trans                                # start near the tail: t is small under trans
    near = np.minimum(hi, np.ceil(mu + 8 * np.sqrt(mu) + 30).astype(np.int64))
    hi = np.where(np.exp(_logsf_binom(near, n, p_trans)) <= alpha, near, hi)
    while np.any(hi - lo > 1):
        mid = (lo + hi) // 2
        ok = np.exp(_logsf_binom(mid, n, p_trans)) <= alpha
        hi, lo = np.where(ok, mid, hi), np.where(ok, lo, mid)
    return hi


def _separable(n: np.ndarray, p_cis: np.ndarray, p_trans: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """(separable, t): can n fragments tell the hypotheses apart at alpha both ways, and the threshold."""
    t = _threshold(n, p_trans, alpha)
    return (n > 0) & (_cdf_binom(t - 1, n, p_cis) <= alpha), t


def _min_alt_fragments(lo: np.ndarray, spanning: np.ndarray, x_other: np.ndarray, e_rarer: np.ndarray,
                       e_other: np.ndarray, alpha: float) -> np.ndarray:
    """Smallest n > lo at which the test separates (same spanning count, other allele and error rates); -1: none up to spanning."""
    def sep(n: np.ndarray) -> np.ndarray:
        pc, pt = _hypotheses(spanning, n, x_other, e_rarer, e_other)
        return _separable(n, pc, pt, alpha)[0]

    hi = spanning.copy()
    ok = (spanning > lo) & sep(hi)
    lo, hi = lo[ok].copy(), hi[ok].copy()
    args = (spanning[ok], x_other[ok], e_rarer[ok], e_other[ok])
    while np.any(hi - lo > 1):
        mid = (lo + hi) // 2
        pc, pt = _hypotheses(args[0], mid, args[1], args[2], args[3])
        s = _separable(mid, pc, pt, alpha)[0]
        hi, lo = np.where(s, mid, hi), np.where(s, lo, mid)
    out = np.full(spanning.shape, -1, np.int64)
    out[ok] = hi
    return out


def classify_tables(tables: np.ndarray | Sequence[Sequence[Sequence[int]]], error_a: Sequence[float] | np.ndarray,
                    error_b: Sequence[float] | np.ndarray, *, alpha: float = DEFAULT_ALPHA,
                    labels: Sequence[tuple[str, str]] | None = None) -> list[PhaseTest]:
    """The cis/trans test of many pairs at once (see the module documentation).

    Parameters
    ----------
    tables : (P, >=2, >=2) fragment tables, ref and alt first on both axes
        ([allele at a][allele at b])
    error_a, error_b : per pair, the sites' misread rates to one given base
        (:func:`site_error_rate`)
    alpha : level of both tests and of the power requirement
    labels : per pair, names of the two variants for the notes (default "a", "b")

    Returns
    -------
    One PhaseTest per pair.

    Raises
    ------
    ValueError
        ``alpha`` is not in (0, 1), an error rate is outside [0, 0.5], or the shapes disagree.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must be in (0, 1)")
    t = np.asarray(tables, dtype=np.int64)
    if t.ndim != 3 or t.shape[1] < 2 or t.shape[2] < 2:
        raise ValueError("tables must have shape (P, >=2, >=2)")
    ea, eb = np.asarray(error_a, np.float64), np.asarray(error_b, np.float64)
    if ea.shape != (len(t),) or eb.shape != (len(t),):
        raise ValueError("one error rate per table and site is needed")
    if not (np.all((ea >= 0) & (ea <= 0.5)) and np.all((eb >= 0) & (eb <= 0.5))):
        raise ValueError("error rates must be in [0, 0.5]")
    rr, ra, ar, aa = t[:, 0, 0], t[:, 0, 1], t[:, 1, 0], t[:, 1, 1]
    span = rr + ra + ar + aa
    xa, xb = ar + aa, ra + aa
    b_rarer = xb < xa
    n = np.where(b_rarer, xb, xa)
    x_other = np.where(b_rarer, xa, xb)
    e_rarer, e_other = np.where(b_rarer, eb, ea), np.where(b_rarer, ea, eb)
    pc, pt = _hypotheses(span, n, x_other, e_rarer, e_other)
    p_cis = _cdf_binom(aa, n, pc)
    p_trans = np.exp(_logsf_binom(aa, n, pt))
    with np.errstate(divide="ignore", invalid="ignore"):
        def loglik(p: np.ndarray) -> np.ndarray:
            p = np.clip(p, 1e-300, 1 - 1e-16)
            return aa * np.log(p) + (n - aa) * np.log1p(-p)
        lod = np.where(n > 0, (loglik(pc) - loglik(pt)) / math.log(10), 0.0)
    sep, thr = _separable(n, pc, pt, alpha)
    need = np.full(len(t), -1, np.int64)
    has = span > 0
    if np.any(has):
        need[has] = _min_alt_fragments(np.zeros(int(has.sum()), np.int64), span[has], x_other[has], e_rarer[has],
                                       e_other[has], alpha)
    # enough evidence: n separates, or n is at least a count that does (the binomial's steps can make
    # n + 1 fragments miss alpha by a hair where n made it; more evidence must never undecide a pair)
    sep = sep | ((need >= 0) & (n >= need))
    need = np.where(sep, np.where(need >= 0, np.minimum(need, n), n), need)
    out = []
    for i in range(len(t)):
        la, lb = labels[i] if labels is not None else ("a", "b")
        rarer_label, other_label = (lb, la) if b_rarer[i] else (la, lb)
        ni, ki = int(n[i]), int(aa[i])
        note = ""
        if span[i] == 0:
            relation, rarer = "undetermined", ""
            note = "no fragment spans both sites"
        elif ni == 0:
            relation, rarer = "undetermined", ""
            note = f"none of the {int(span[i])} fragments spanning both sites carries either alt allele" \
                if x_other[i] == 0 else \
                f"none of the {int(span[i])} fragments spanning both sites carries {rarer_label}"
        elif not sep[i]:
            relation, rarer = "undetermined", "b" if b_rarer[i] else "a"
            if need[i] > 0:
                note = (f"{ni} fragments spanning both sites carry {rarer_label}; at least {int(need[i])} are needed "
                        f"to tell cis from trans at alpha {alpha:g} with these error rates")
            else:
                note = (f"{ni} fragments spanning both sites carry {rarer_label}; no number of them would tell "
                        f"cis from trans among {int(span[i])} spanning fragments at a misread rate up to "
                        f"{float(e_rarer[i]):.2g}")
        else:
            rarer = "b" if b_rarer[i] else "a"
            if ki < thr[i]:
                relation = "trans"
            elif p_cis[i] > alpha:
                relation = "cis"
            else:
                relation = "undetermined"
                note = (f"{ki} of {ni} fragments with {rarer_label} carry {other_label}: more than errors explain "
                        f"if trans (p={float(p_trans[i]):.2g}), fewer than cis predicts ({float(n[i] * pc[i]):.1f}, "
                        f"p={float(p_cis[i]):.2g}); a subclone may carry both, or one allele is an artefact on random "
                        "molecules")
        out.append(PhaseTest(relation, rarer, ni, float(n[i] * pc[i]) if ni else 0.0,
                             float(n[i] * pt[i]) if ni else 0.0, float(p_cis[i]) if ni else 1.0,
                             float(p_trans[i]) if ni else 1.0, float(lod[i]),
                             int(need[i]) if need[i] >= 0 else None, note))
    return out


def classify(table: Sequence[Sequence[int]], error_a: float, error_b: float, *,
             alpha: float = DEFAULT_ALPHA) -> PhaseTest:
    """The cis/trans test of one fragment table (ref and alt first on both axes).

    Parameters
    ----------
    table : [allele at a][allele at b] fragment counts, ref/alt first
    error_a, error_b : the sites' misread rates to one given base (:func:`site_error_rate`)
    alpha : level of both tests and of the power requirement

    Returns
    -------
    PhaseTest

    Raises
    ------
    ValueError
        As :func:`classify_tables`.
    """
    return classify_tables([table], [error_a], [error_b], alpha=alpha)[0]


# ---------------------------------------------------------------------------
# phasing a BAM
# ---------------------------------------------------------------------------

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


def _phase_sets(variants: Sequence[PhaseVariant], results: Sequence[PhaseResult]) -> dict[PhaseVariant, int]:
    """PS of every variant in a cis group of two or more: the position of its first member."""
    groups = cis_groups(variants, [(r.a, r.b) for r in results if r.relation == "cis"])
    return {v: min(g, key=lambda u: (u.pos, u.alt)).pos for g in groups if len(g) > 1 for v in g}


_NOT_COUNTED = PhaseTest("undetermined", "", 0, 0.0, 0.0, 1.0, 1.0, 0.0, None, "")


def phase_pairs(bam: str, variants: Sequence[PhaseVariant | tuple[str, int, str, str]], *,
                max_distance: int | None = None, min_mapq: int = 0, min_bq: int = 6,
                min_alt_bq: int | None = None, flag_exclude: int = DEFAULT_FLAG_EXCLUDE,
                alpha: float = DEFAULT_ALPHA, reference: str | None = None) -> list[PhaseResult]:
    """Phase every pair of SNVs on one contig from the fragments in ``bam``, in one pass.

    Parameters
    ----------
    bam : indexed, coordinate-sorted BAM or CRAM
    variants : PhaseVariant or (contig, 1-based pos, ref, alt); SNVs of A/C/G/T only
    max_distance : count only pairs at most this many bases apart (the
        others come back undetermined with spanning 0 and a note); default:
        every pair, those farther apart than any fragment at their sites get
        spanning 0 and a note
    min_mapq, min_bq, min_alt_bq, flag_exclude : read and base selection, as
        :func:`deepamp.counting.bam.count` (``min_alt_bq`` None: ``min_bq``)
    alpha : level of the cis and trans tests and of their power requirement
    reference : FASTA (needed for CRAM)

    Returns
    -------
    One PhaseResult per pair of distinct positions on a contig (a before b on
    the genome); ``ps`` is the phase-set id (lowest position of the
    cis-linked set) or None.

    Raises
    ------
    InputFileError, IndexFileError, TruncatedFileError, UnsortedError, ReferenceFileError
        The BAM (or its index) is missing, unreadable, stale, truncated, malformed
        or unsorted, or a CRAM comes without its reference (every message names the file).
    RegionError
        A variant lies on a contig absent from the BAM header or outside it.
    ValueError
        A variant is not an SNV of A/C/G/T, or an option is out of range.
    """
    if max_distance is not None and max_distance < 1:
        raise ValueError("max_distance must be >= 1")
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must be in (0, 1)")
    if min_mapq < 0 or min_bq < 0 or (min_alt_bq is not None and min_alt_bq < 0):
        raise ValueError("min_mapq, min_bq and min_alt_bq must be >= 0")
    if not 0 <= flag_exclude <= 0xFFFF:
        raise ValueError("flag_exclude must be a SAM flag mask (0..0xFFFF)")
    vs = [v if isinstance(v, PhaseVariant) else PhaseVariant(v[0], int(v[1]), str(v[2]).upper(), str(v[3]).upper())
          for v in variants]
    for v in vs:
        if len(v.ref) != 1 or len(v.alt) != 1 or v.ref not in "ACGT" or v.alt not in "ACGT" or v.ref == v.alt:
            raise ValueError(f"{v.label()}: only SNVs of A/C/G/T can be phased")
    vs = list(dict.fromkeys(vs))
    info = inspect_alignment(bam, reference)
    contigs = {name: (tid, length) for tid, (name, length) in enumerate(zip(info.contigs, info.lengths))}
    for v in vs:
        if v.contig not in contigs:
            raise RegionError(f"{bam}: variant {v.label()} is on contig {v.contig!r}, which is not in the BAM header")
        if v.pos > contigs[v.contig][1]:
            raise RegionError(f"{bam}: variant {v.label()} is outside {v.contig} (length {contigs[v.contig][1]})")
    all_pairs = _pairs(vs)
    pairs = [(i, j) for i, j in all_pairs if max_distance is None or vs[j].pos - vs[i].pos <= max_distance]
    sites: list[SiteEvidence | None] = [None] * len(vs)
    tests: list[PhaseTest] = []
    tables = np.zeros((0, 4, 4), dtype=np.uint64)
    if pairs:
        from deepamp._phase import READ_STATS, SITE_OUTCOMES, count_pairs   # compiled; imported late for `--help`

        raw = count_pairs(bam, [(contigs[v.contig][0], v.pos - 1, v.ref, v.alt) for v in vs],
                          [i for i, _ in pairs], [j for _, j in pairs], reference_path=reference,
                          min_mapq=min_mapq, min_bq=min_bq, min_alt_bq=min_bq if min_alt_bq is None else min_alt_bq,
                          flag_exclude=flag_exclude)
        fr = raw["site_frags"].astype(np.int64)
        o = {name: k for k, name in enumerate(SITE_OUTCOMES)}
        # another allele phased at the same position is no misread: its fragments leave "other"
        other, kinds = fr[:, o["other_base"]].copy(), np.full(len(vs), 2, np.int64)
        at: dict[tuple[str, int, str], list[int]] = {}
        for i, v in enumerate(vs):
            at.setdefault((v.contig, v.pos, v.ref), []).append(i)
        for same in (g for g in at.values() if len(g) > 1):
            for i in same:
                for j in same:
                    if j != i:
                        other[i] -= fr[j, o["alt"]]
                        kinds[i] -= 1
        err = site_error_rate(other, fr[:, o["ref"]] + fr[:, o["alt"]] + fr[:, o["other_base"]], alpha, kinds)
        read = set(i for p in pairs for i in p)
        for i in read:
            sites[i] = SiteEvidence(dict(zip(READ_STATS, map(int, raw["site_reads"][i]))),
                                    dict(zip(SITE_OUTCOMES, map(int, raw["site_frags"][i]))),
                                    int(raw["site_reach"][i]), float(err[i]))
        tables = raw["counts"]
        tests = classify_tables(tables[:, :2, :2], [err[i] for i, _ in pairs], [err[j] for _, j in pairs],
                                alpha=alpha, labels=[(vs[i].label(), vs[j].label()) for i, j in pairs])
    counted = {pair: k for k, pair in enumerate(pairs)}
    results = []
    for i, j in all_pairs:
        d = vs[j].pos - vs[i].pos
        k = counted.get((i, j))
        if k is None:
            results.append(PhaseResult(vs[i], vs[j], [[0] * 4 for _ in range(4)], _NOT_COUNTED, sites[i], sites[j],
                                       note=f"{d} bp apart, not counted (max distance {max_distance} bp)"))
            continue
        test, note = tests[k], tests[k].note
        sa, sb = sites[i], sites[j]
        assert sa is not None and sb is not None
        longest = min(sa.reach, sb.reach)
        if longest == 0:
            note = f"no fragment covers {(vs[i] if sa.reach == 0 else vs[j]).label()}"
        elif d >= longest:
            note = f"{d} bp apart; no fragment at the sites is longer than {longest} bp"
        results.append(PhaseResult(vs[i], vs[j], tables[k].tolist(), test, sa, sb, note=note))
    ps = _phase_sets(vs, results)
    for r in results:
        if r.relation == "cis":
            r.ps = ps.get(r.a)
    return results


def _fmt_p(p: float) -> str:
    return f"{p:.3g}"


def tsv_row(r: PhaseResult) -> list[str]:
    """One ``--tsv`` row.

    Parameters
    ----------
    r : a result of :func:`phase_pairs`

    Returns
    -------
    The :data:`TSV_COLUMNS` of ``r`` as text (empty where a value does not apply).
    """
    t = r.test
    ea = "" if r.site_a is None else f"{r.site_a.error_rate:.3g}"
    eb = "" if r.site_b is None else f"{r.site_b.error_rate:.3g}"
    row = [r.a.contig, r.a.pos, r.a.ref, r.a.alt, r.b.pos, r.b.ref, r.b.alt, r.distance,
           r.relation, r.spanning, r.ref_ref, r.ref_alt, r.alt_ref, r.alt_alt, r.other,
           r.a_only, r.b_only, r.discordant, t.rarer, t.alt_fragments, f"{t.expected_cis:.3g}",
           f"{t.expected_trans:.3g}", ea, eb, "" if t.min_alt_fragments is None else t.min_alt_fragments,
           f"{t.lod:.1f}", _fmt_p(t.p_cis), _fmt_p(t.p_trans), "" if r.ps is None else r.ps, r.note]
    return [str(x) for x in row]


#: VCF INFO PHASE: one entry per partner.
PHASE_INFO_DESCRIPTION = ("deepamp phase relation to each nearby variant: partner:cis|trans|undetermined:"
                          "spanning=N|alt_alt=K/M|lod=L (N fragments span both sites, K of the M of them "
                          "carrying the rarer alt allele carry both, L = log10 likelihood ratio cis vs trans)")


def phase_info(r: PhaseResult, partner: PhaseVariant) -> str:
    """One INFO ``PHASE`` entry (:data:`PHASE_INFO_DESCRIPTION`).

    Parameters
    ----------
    r : a result of :func:`phase_pairs`
    partner : the variant of ``r`` the entry names (it goes in the other one's record)

    Returns
    -------
    ``partner:relation:spanning=N|alt_alt=K/M|lod=L``
    """
    return (f"{partner.label()}:{r.relation}:spanning={r.spanning}|alt_alt={r.alt_alt}/{r.test.alt_fragments}"
            f"|lod={r.test.lod:.1f}")


# ---------------------------------------------------------------------------
# Phasing the records of a VCF
# ---------------------------------------------------------------------------

def phase_vcf(bam: str, vcf: str, out: str, *, tsv: str | None = None, annotate_tsv: str | None = None,
              genome: str = "hg38", reference: str | None = None, min_mapq: int = 0, min_bq: int = 6,
              min_alt_bq: int | None = None, flag_exclude: int = DEFAULT_FLAG_EXCLUDE,
              max_distance: int | None = None, alpha: float = DEFAULT_ALPHA,
              all_records: bool = False) -> list[PhaseResult]:
    """Phase the SNVs of ``vcf`` from the fragments of ``bam``; write the phased VCF (and TSVs).

    The output VCF is the input plus INFO ``PS`` (phase set of cis-linked variants)
    and ``PHASE`` (relation to each other variant, :func:`phase_info`).  Only PASS
    (or '.') records are phased unless ``all_records``.  Reads and bases are
    selected as ``deepamp call`` counts them (``min_mapq``, ``min_bq``,
    ``min_alt_bq``, ``flag_exclude``).  Every output appears complete or not at all.

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
    header.add_line(f'##INFO=<ID=PHASE,Number=.,Type=String,Description="{PHASE_INFO_DESCRIPTION}">')
    variants = []
    for rec in data.records:
        if not all_records and filter_names(rec):
            continue
        for alt in rec.alts or ():
            if len(rec.ref) == 1 and len(alt) == 1 and rec.ref.upper() in "ACGT" and alt.upper() in "ACGT":
                variants.append(PhaseVariant(rec.chrom, rec.pos, rec.ref.upper(), alt.upper()))
    results = phase_pairs(bam, variants, max_distance=max_distance, min_mapq=min_mapq, min_bq=min_bq,
                          min_alt_bq=min_alt_bq, flag_exclude=flag_exclude, alpha=alpha, reference=reference)
    ps = _phase_sets(list(dict.fromkeys(variants)), results)
    notes: dict[tuple[str, int, str, str], list[str]] = {}
    for r in results:
        for me, other in ((r.a, r.b), (r.b, r.a)):
            notes.setdefault((me.contig, me.pos, me.ref, me.alt), []).append(phase_info(r, other))
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
    tsv_text = ("\t".join(TSV_COLUMNS) + "\n" + "".join("\t".join(tsv_row(r)) + "\n" for r in results)) \
        if tsv else None
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
