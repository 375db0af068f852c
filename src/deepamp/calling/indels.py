"""Low-frequency indel calling from the counted indel events (``deepamp call``).

Events and their depth: see :mod:`deepamp.counting.indel_table`.

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

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from deepamp.calling.callset import Call
from deepamp.counting.result import CountResult
from deepamp.counting.indel_table import IndelTable, collect_events
from deepamp.models.indel_context import CalibrationParams, KindFit, calibrate, describe
from deepamp.models.multiple_testing import adjust, effective_tests
from deepamp.options import CallOptions

__all__ = ["IndelParams", "IndelCalls", "call_indels", "merge_sorted"]


@dataclass(frozen=True)
class IndelParams:
    """Options of the context model (see :class:`deepamp.models.indel_context.CalibrationParams`)."""

    calibration: CalibrationParams = CalibrationParams()


# ---------------------------------------------------------------- calling

def _context_tests(table: IndelTable, fits: dict[str, KindFit]) -> tuple[np.ndarray, np.ndarray]:
    """Each event against its kind's calibrated slippage rate for its repeat length."""
    import deepamp._stats as _stats

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
    import deepamp._stats as _stats

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

    calls: list[Call]              # significant indels sorted by anchor
    tests: int                     # number of indel tests m (the indel family)
    notes: list[str]               # what was counted but not tested, for the run summary
    family_tests: dict[str, int] = {}   # tests of each known-allele family ("hotspot", "bypass")


def _matched_tests(table: IndelTable, sub: IndelTable, counts: CountResult, normal: CountResult,
                   reference) -> tuple[np.ndarray, np.ndarray, list]:
    """Each tested tumour event against the same event in the matched normal (0 fragments when absent);
    the between-sample over-dispersion is pooled over every event of either sample."""
    from deepamp.models.matched_normal import matched_event_tests

    ntab = collect_events(normal, reference)
    mine = {key: (int(c), int(d)) for key, c, d in zip(table.keys(), table.count.sum(axis=1).tolist(),
                                                       table.depth.sum(axis=1).tolist())}
    theirs = {key: (int(c), int(r)) for key, c, r in zip(ntab.keys(), ntab.count.sum(axis=1).tolist(),
                                                         ntab.row.tolist())}
    jd_t, jd_n = counts.junction_depth().sum(axis=1), normal.junction_depth().sum(axis=1)
    row_t = dict(zip(table.keys(), table.row.tolist()))
    keys = list(dict.fromkeys(list(table.keys()) + list(theirs)))
    k_t, n_t, k_n, n_n = [], [], [], []
    for key in keys:
        row = row_t.get(key, theirs.get(key, (0, 0))[1])
        kt, dt = mine.get(key, (0, int(jd_t[row])))
        kn = theirs.get(key, (0, row))[0]
        k_t.append(kt), n_t.append(max(dt, kt)), k_n.append(kn), n_n.append(max(int(jd_n[row]), kn))
    kind = np.array([key[2] > 0 for key in keys], np.int64)
    logp, rate, _ = matched_event_tests(np.array(k_t), np.array(n_t), np.array(k_n), np.array(n_n), kind)
    at = {key: i for i, key in enumerate(keys)}
    idx = np.array([at[key] for key in sub.keys()], np.int64)
    return logp[idx], rate[idx], [(k_n[i], n_n[i]) for i in idx.tolist()]


def _known_families(sub: IndelTable, counts: CountResult, reference, hotspots, min_cov: int
                    ) -> tuple[np.ndarray, dict[str, int]]:
    """Family of each event (known indel alleles of the hotspot list by their family, else "indel") and the
    number of known alleles of each family testable on the panel."""
    from deepamp.calling.hotspots import FAMILIES
    from deepamp.counting.indel_table import EventKeys

    family = np.full(len(sub), "indel", dtype=object)
    known = [h for h in hotspots or () if h.is_indel]
    if not known:
        return family, {}
    keyer = EventKeys(counts, reference)
    contigs = set(counts.contig.tolist())
    jd = counts.junction_depth().sum(axis=1)
    of_key: dict[tuple, str] = {}
    for h in known:
        contig = h.contig if h.contig in contigs else ("chr" + h.contig if "chr" + h.contig in contigs
                                                       else h.contig.removeprefix("chr"))
        if contig not in contigs:
            continue
        key = keyer.vcf_key(contig, h.pos, h.ref, h.alt)
        if isinstance(key, tuple) and jd[keyer.row_of[(key[0], key[1])]] >= min_cov:
            of_key[key] = h.family
    tests = {}
    for name in FAMILIES:
        mine = {k for k, f in of_key.items() if f == name}
        if mine:
            family[np.array([k in mine for k in sub.keys()], bool)] = name
            tests[name] = len(mine)
    return family, tests


def call_indels(counts: CountResult, options: CallOptions | None = None, *, background=None,
                reference=None, indel_params: IndelParams | None = None,
                normal: CountResult | None = None, hotspots=None) -> IndelCalls:
    """Call indels from counted indel events.

    Parameters
    ----------
    counts : CountResult (its ``indels`` and per-position counts)
    options : significance, multiple-testing method and ``min_cov`` (junction depth)
    background : deepamp.models.background.Background, optional
        Test each event against the rate learned from controls (MODEL=background,
        INFO BGRATE) instead of the context model (MODEL=context, INFO IDRATE).
    normal : the matched normal's CountResult, optional
        Test each event against the same event in the normal (MODEL=matched).
    hotspots : list of deepamp.calling.hotspots.Hotspot, optional
        Its insertions and deletions are known alleles: tested as their own families
        (FAMILY=hotspot / bypass) with their own burden, which the indel family loses.
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
    options = options or CallOptions()
    indel_params = indel_params or IndelParams()
    table = collect_events(counts, reference)
    if background is not None:
        background.lookup(counts.contig.astype(str), counts.pos, counts.ref.astype(str))   # panel check
    testable = table.depth.sum(axis=1) >= max(options.min_cov, 1)
    sub = table.subset(np.flatnonzero(testable))
    if background is not None:
        logp, rate = _background_tests(sub, background)
        model_name = "background"
    elif normal is not None:
        logp, rate, in_normal = _matched_tests(table, sub, counts, normal, reference)
        model_name = "matched"
    else:
        fits = calibrate(table, counts, indel_params.calibration)
        logp, rate = _context_tests(sub, fits)
        model_name = "context"
    logp = np.minimum(np.asarray(logp, np.float64), 0.0)
    family, family_tests = _known_families(sub, counts, reference, hotspots, max(options.min_cov, 1))
    panel = family == "indel"
    m = effective_tests(options.bonf if options.bonf is not None else int(panel.sum()), int(panel.sum()),
                        options.mtc)
    logp_adj = np.empty(len(sub))
    logp_adj[panel] = adjust(logp[panel], m, options.mtc)
    for name, m_family in family_tests.items():
        sel = family == name
        family_tests[name] = effective_tests(m_family, int(sel.sum()), options.mtc)
        logp_adj[sel] = adjust(logp[sel], family_tests[name], options.mtc)
    out: list[Call] = []
    for i in np.flatnonzero(logp_adj < math.log(options.alpha)).tolist():
        dp4 = (int(sub.ref_count[i, 0]), int(sub.ref_count[i, 1]), int(sub.count[i, 0]), int(sub.count[i, 1]))
        call = Call(str(sub.contig[i]), int(sub.pos[i]) + 1, str(sub.ref[i]), str(sub.alt[i]),
                    int(sub.depth[i].sum()), int(sub.count[i].sum()), dp4, float(logp[i]),
                    float(logp_adj[i]), model_name, str(family[i]), "indel", int(sub.row[i]),
                    rate=float(rate[i]), hrun=int(sub.hrun[i]))
        if normal is not None:
            call.normal_count, call.normal_depth = in_normal[i]
            call.direction = "gain"
        out.append(call)
    notes = []
    if background is None and normal is None:
        notes.append("indel context model: " + describe(fits).replace(",", ", "))
    for reason, (events, fragments) in table.untested.items():
        notes.append(f"indels: {events} events ({fragments} fragments) not tested: {reason}")
    return IndelCalls(out, int(m), notes, family_tests)


def merge_sorted(snvs: list[Call], indels: list[Call]) -> list[Call]:
    """SNVs and indels in position order (SNVs first at a shared anchor), deterministic."""
    return sorted(list(snvs) + list(indels),
                  key=lambda v: (v.row, v.kind == "indel", len(v.ref), len(v.alt), v.ref, v.alt))
