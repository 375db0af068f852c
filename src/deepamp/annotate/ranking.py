"""Evidence-based ranking of ALK inhibitors for a sample's resistance mutations.

DECISION SUPPORT FOR A MOLECULAR TUMOUR BOARD, NOT A TREATMENT ORDER.

Rule (documented in ``data/README.md``):

1. Clones.  Mutations joined by a ``cis`` relation form one clone (a compound
   genotype); ``trans`` pairs are separate clones.  A pair whose relation is
   ``undetermined`` -- or that is not listed at all -- is evaluated both ways
   (separate clones and one compound clone) and the worse result is kept.
2. Per clone and drug, evidence comes from the knowledge base.  Following
   Koopman et al. 2022 ("base decisions primarily on clinical evidence ... and
   resort to in vitro predictions in case of insufficient clinical
   evidence"), clinical rows are used when any exist for the genotype/drug,
   otherwise in-vitro rows.  Calls within a tier are combined: any
   "conflicting" row, or sensitive and resistant rows together, give
   ``conflicting``; otherwise the worst call wins.  A clinical row saying the
   mutation was *selected under* the drug counts as resistant.
3. IC50 fold change (mutant / wild type, same drug, Villa 2024 Table 2):
   < 2 -> sensitive, 2 to < 10 -> intermediate, >= 10 -> resistant.  These
   thresholds are a deepamp CONVENTION, not taken from a paper -- Koopman 2022
   notes that in-vitro cut-off values differ widely between studies.  A
   censored value (">3000") is a lower bound and is only called resistant
   when the bound itself reaches 10-fold; otherwise it is "intermediate" with
   a warning.
4. A compound clone uses its own data when the knowledge base has it
   (L1196M+G1202R, E1154K+F1174L); otherwise the worst call of its parts,
   with a warning that the compound may be more resistant than any part.
5. A drug must cover every clone: its call is the worst over clones (order
   sensitive < intermediate < conflicting < insufficient evidence <
   resistant).
6. Groups.  Drugs with evidence of activity on every clone (sensitive,
   intermediate) come first, then drugs with conflicting evidence, then drugs
   with evidence of resistance on at least one clone; within a group by call,
   then by the largest known fold change, approved drugs before
   investigational ones.  Only these are ranked (1, 2, ...).  Drugs without
   evidence for some clone and no resistance evidence form the "no data"
   group: listed, never ranked.
7. Off-target (bypass) changes -- protein changes outside ALK and ROS1 -- are
   assessed by :mod:`.bypass`.  When one of them means that switching ALK
   inhibitor alone is not expected to help, the result says so and every drug
   in the activity group carries that warning.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from deepamp.clones import cis_groups
from deepamp.annotate.bypass import NOT_EXPECTED, ON_TARGET, BypassFinding, assess
from deepamp.annotate.knowledge import CLINICAL_DRUGS, INVESTIGATIONAL_DRUGS, KnowledgeBase, load_kb
from deepamp.annotate.mutation_names import normalize_mutation, split_gene

DISCLAIMER = ("Decision support for a molecular tumour board, not a treatment order. "
              "Evidence is limited (small in-vitro panels and pooled case series); "
              "check the cited sources before acting.")
FC_SENSITIVE = 2.0    # convention, see module docstring
FC_RESISTANT = 10.0   # convention, see module docstring
INSUFFICIENT = "insufficient evidence"
ORDER = {"sensitive": 0, "intermediate": 1, "conflicting": 2, INSUFFICIENT: 3, "resistant": 4}
_LEVEL = {"sensitive": 0, "intermediate": 1, "resistant": 2, "selected_under_drug": 2}
SECOND_GENERATION = ("ceritinib", "alectinib", "brigatinib")
RELATIONS = ("cis", "trans", "undetermined")
ACTIVITY, CONFLICTING, RESISTANCE, NO_DATA_GROUP = "activity", "conflicting", "resistance", "no data"
#: output groups in order; only the first three are ranked
GROUPS = (ACTIVITY, CONFLICTING, RESISTANCE, NO_DATA_GROUP)
GROUP_TITLES = {ACTIVITY: "evidence of activity", CONFLICTING: "conflicting evidence",
                RESISTANCE: "evidence of resistance", NO_DATA_GROUP: "no data (not ranked)"}
_GROUP_OF = {"sensitive": ACTIVITY, "intermediate": ACTIVITY, "conflicting": CONFLICTING,
             "resistant": RESISTANCE, INSUFFICIENT: NO_DATA_GROUP}
@dataclass
class EvidenceItem:
    genotype: str
    inhibitor: str
    call: str
    evidence_type: str
    detail: str
    source_id: str
    citation: str

    def as_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


@dataclass
class CloneCall:
    clone: str
    inhibitor: str
    call: str
    basis: str
    evidence: list[EvidenceItem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    max_fold_change: float | None = None


@dataclass
class Recommendation:
    rank: int | None      # None for the "no data" group, which is not ranked
    inhibitor: str
    investigational: bool
    call: str
    clone_calls: list[CloneCall]
    warnings: list[str] = field(default_factory=list)

    @property
    def group(self) -> str:
        """Output group: activity, conflicting, resistance or no data."""
        return _GROUP_OF[self.call]

    @property
    def evidence(self) -> list[EvidenceItem]:
        return [e for c in self.clone_calls for e in c.evidence]

    def as_dict(self) -> dict[str, object]:
        return {"rank": self.rank, "group": self.group, "inhibitor": self.inhibitor,
                "investigational": self.investigational, "call": self.call, "warnings": self.warnings,
                "clones": [{"clone": c.clone, "call": c.call, "basis": c.basis,
                            "max_fold_change": c.max_fold_change, "warnings": c.warnings,
                            "evidence": [e.as_dict() for e in c.evidence]} for c in self.clone_calls]}


@dataclass
class RankingResult:
    recommendations: list[Recommendation]   # ranked groups first, then the "no data" group
    clones: list[tuple[str, float | None]]
    warnings: list[str]
    kb_version: str
    disclaimer: str = DISCLAIMER
    bypass: list[BypassFinding] = field(default_factory=list)

    def group(self, name: str) -> list[Recommendation]:
        """Recommendations of one group (see GROUPS), in output order."""
        return [r for r in self.recommendations if r.group == name]

    def as_dict(self) -> dict[str, object]:
        return {"disclaimer": self.disclaimer, "kb_version": self.kb_version,
                "clones": [{"genotype": g, "vaf": v} for g, v in self.clones],
                "warnings": self.warnings,
                "bypass": [b.as_dict() for b in self.bypass],
                "groups": {g: [r.inhibitor for r in self.group(g)] for g in GROUPS},
                "recommendations": [r.as_dict() for r in self.recommendations]}

    def to_text(self) -> str:
        """Human-readable ranking: bypass findings, then one block per group."""
        lines = [f"NOTE: {self.disclaimer}", f"knowledge base version {self.kb_version}",
                 "clones: " + ", ".join(f"{g} (VAF {v:.4f})" if v is not None else g for g, v in self.clones)]
        lines += [f"warning: {w}" for w in self.warnings]
        if self.bypass:
            lines.append("off-target (bypass) changes:")
            for b in self.bypass:
                lines.append(f"  {b.mutation}: {b.summary}")
                for st in b.statements:
                    lines.append(f"     - {st.record_id} [{st.evidence_type}, {st.level}] {st.statement} -- {st.cited}")
        for g in GROUPS:
            recs = self.group(g)
            if not recs:
                continue
            lines.append(f"{GROUP_TITLES[g]}:")
            for r in recs:
                tag = " [investigational]" if r.investigational else ""
                head = f"{r.rank}." if r.rank is not None else "-"
                lines.append(f"  {head} {r.inhibitor}{tag}: {r.call}")
                for c in r.clone_calls:
                    lines.append(f"     clone {c.clone}: {c.call} ({c.basis})")
                    for e in c.evidence:
                        lines.append(f"       - [{e.evidence_type}] {e.detail} -- {e.citation}")
                    lines += [f"       ! {w}" for w in c.warnings]
                lines += [f"     ! {w}" for w in r.warnings]
        return "\n".join(lines)

    def to_tsv(self) -> str:
        """One row per drug (group, rank, call, per-clone calls, sources, warnings), bypass findings as comments."""
        out = [f"# deepamp inhibitor ranking; knowledge base {self.kb_version}; {self.disclaimer}"]
        out += [f"# bypass\t{b.mutation}\t{b.switching_alk_inhibitor}\t{_tsv_cell(b.summary)}" for b in self.bypass]
        out.append("\t".join(TSV_COLUMNS))
        for r in self.recommendations:
            out.append("\t".join([
                r.group, "" if r.rank is None else str(r.rank), r.inhibitor,
                "yes" if r.investigational else "no", r.call,
                "; ".join(f"{c.clone}: {c.call}" for c in r.clone_calls),
                ",".join(sorted({e.source_id for e in r.evidence})),
                _tsv_cell("; ".join(r.warnings))]))
        return "\n".join(out) + "\n"


TSV_COLUMNS = ("group", "rank", "inhibitor", "investigational", "call", "clones", "sources", "warnings")


def _tsv_cell(text: str) -> str:
    return text.replace("\t", " ").replace("\n", " ")


def _fc_call(fc: float, lower_bound: bool) -> tuple[str, str | None]:
    if fc >= FC_RESISTANT:
        return "resistant", None
    if lower_bound:
        return "intermediate", (f"censored IC50: fold change is at least {fc:.1f}, "
                                "true value may be higher")
    return ("sensitive" if fc < FC_SENSITIVE else "intermediate"), None


def _combine(calls: list[str]) -> str:
    if not calls:
        return INSUFFICIENT
    if "conflicting" in calls:
        return "conflicting"
    levels = {_LEVEL[c] for c in calls}
    if 0 in levels and 2 in levels:
        return "conflicting"
    return {0: "sensitive", 1: "intermediate", 2: "resistant"}[max(levels)]


class _Evaluator:
    def __init__(self, kb: KnowledgeBase):
        self.kb = kb

    def direct(self, genotype: str, drug: str) -> CloneCall | None:
        kb = self.kb
        items: list[EvidenceItem] = []
        warnings: list[str] = []
        fc_max = None
        if "+" not in genotype and ":" in genotype:
            return None  # not an ALK mutation: the knowledge base has no drug data
        fc = kb.fold_change(genotype, drug)
        if fc is not None:
            call, warn = _fc_call(fc.value, fc.lower_bound)
            if warn:
                warnings.append(warn)
            fc_max = fc.value
            src = kb.source(fc.ic50.source_id)
            items.append(EvidenceItem(
                genotype, drug, call, "in_vitro",
                f"IC50 {fc.ic50.qualifier}{fc.ic50.value_nM:g} nM vs WT {fc.wt.value_nM:g} nM "
                f"= {'>=' if fc.lower_bound else ''}{fc.value:.1f}-fold ({src.at(fc.ic50.location)}"
                f"{'; ' + fc.ic50.note if fc.ic50.note else ''})", src.source_id, src.cite()))
        for drug_key in (drug, "second_generation" if drug in SECOND_GENERATION else None):
            if drug_key is None:
                continue
            for e in kb.evidence_for(genotype, drug_key):
                src = kb.source(e.source_id)
                items.append(EvidenceItem(genotype, drug, e.call, e.evidence_type,
                                          f"{e.record_id}: {e.statement} ({src.at(e.location)})",
                                          src.source_id, src.cite()))
        if not items:
            return None
        clinical = [i.call for i in items if i.evidence_type == "clinical"]
        in_vitro = [i.call for i in items if i.evidence_type == "in_vitro"]
        if clinical:
            call, basis = _combine(clinical), "clinical evidence"
            if in_vitro and _combine(in_vitro) != call:
                warnings.append(f"in-vitro evidence says {_combine(in_vitro)}; clinical evidence takes precedence")
        else:
            call, basis = _combine(in_vitro), "in-vitro evidence (no clinical evidence)"
        return CloneCall(genotype, drug, call, basis, items, warnings, fc_max)

    def clone(self, muts: Sequence[str], drug: str) -> CloneCall:
        genotype = "+".join(muts)
        direct = self.direct(genotype, drug)
        if direct is not None:
            if len(muts) > 1:
                direct.basis = "own data for the compound genotype; " + direct.basis
            return direct
        if len(muts) == 1:
            return CloneCall(genotype, drug, INSUFFICIENT, "no evidence in the knowledge base")
        parts = [self.clone([m], drug) for m in muts]
        worst = max(parts, key=lambda c: ORDER[c.call])
        fcs = [c.max_fold_change for c in parts if c.max_fold_change is not None]
        cc = CloneCall(genotype, drug, worst.call, "worst of the single mutations (no data for the compound)",
                       [e for p in parts for e in p.evidence],
                       [f"no data for {genotype} in cis; used the worst single-mutation call "
                        f"({worst.clone}: {worst.call}); a compound can be more resistant than any of its parts "
                        "(e.g. L1196M+G1202R vs lorlatinib)"] + [w for p in parts for w in p.warnings],
                       max(fcs) if fcs else None)
        return cc


def _clones(muts: list[str], edges: dict[frozenset[str], str], undetermined_as: str) -> list[tuple[str, ...]]:
    linked = [(a, b) for a, b in itertools.combinations(muts, 2)
              if (rel := edges.get(frozenset((a, b)), "undetermined")) == "cis"
              or (rel == "undetermined" and undetermined_as == "cis")]
    order = {m: i for i, m in enumerate(muts)}
    key = (lambda m: (int(re.search(r"\d+", m).group()) if re.search(r"\d+", m) else 0, order[m]))
    return [tuple(sorted(g, key=key)) for g in cis_groups(muts, linked)]


def rank_inhibitors(mutations: Iterable[str | tuple[str, float | None]],
                    phases: Iterable[tuple[str, str, str]] = (),
                    kb: KnowledgeBase | None = None,
                    drugs: Sequence[str] | None = None) -> RankingResult:
    """Rank inhibitors for a sample.

    ``mutations``: protein changes ('G1202R', 'p.Leu1196Met', 'EGFR:E746_A750del'),
    optionally as (change, VAF) tuples.  ``phases``: (mutA, mutB, relation) with
    relation in cis/trans/undetermined.  Raises ValueError for unparsable input
    or phase relations that contradict each other.
    """
    kb = kb or load_kb()
    drugs = list(drugs) if drugs is not None else list(CLINICAL_DRUGS) + list(INVESTIGATIONAL_DRUGS)
    vaf: dict[str, float | None] = {}
    for m in mutations:
        name, v = (m, None) if isinstance(m, str) else (m[0], m[1])
        if v is not None and not (0.0 <= float(v) <= 1.0):
            raise ValueError(f"VAF of {name} must be a fraction in [0, 1], got {v}")
        key = normalize_mutation(name)
        vaf[key] = None if v is None else float(v)
    warnings: list[str] = []
    alk = [m for m in vaf if ":" not in m]
    findings: list[BypassFinding] = []
    for m in (m for m in vaf if ":" in m):
        gene = split_gene(m)[0]
        if gene in ON_TARGET:
            warnings.append(f"{m}: no knowledge-base evidence for this gene")
            continue
        f = assess(kb, m)
        findings.append(f)
        cites = "; ".join(kb.source(sid).cite() for sid in f.basis_source_ids)
        warnings.append(f"{m}: bypass (off-target) change: {f.summary}" + (f" [{cites}]" if cites else ""))
    edges: dict[frozenset[str], str] = {}
    for a, b, rel in phases:
        rel = rel.strip().lower()
        if rel not in RELATIONS:
            raise ValueError(f"phase relation must be one of {', '.join(RELATIONS)}, got {rel!r}")
        na, nb = normalize_mutation(a), normalize_mutation(b)
        for n, raw in ((na, a), (nb, b)):
            if n not in vaf:
                raise ValueError(f"phase relation names {raw!r}, which is not among the sample's mutations")
        if na == nb:
            raise ValueError(f"phase relation pairs {a!r} with itself")
        k = frozenset((na, nb))
        if k in edges and edges[k] != rel:
            raise ValueError(f"phase of {na}/{nb} given as both {edges[k]} and {rel}")
        edges[k] = rel
    cis_only = _clones(alk, {e: r for e, r in edges.items() if r == "cis"}, "trans")
    for k, rel in edges.items():
        a, b = sorted(k)
        if rel == "trans" and any(a in cl and b in cl for cl in cis_only):
            raise ValueError(f"{a} and {b} are declared trans but are linked by cis relations")
    undetermined = [tuple(sorted(p)) for p in itertools.combinations(alk, 2)
                    if edges.get(frozenset(p), "undetermined") == "undetermined"]
    scenarios = [_clones(alk, edges, "trans")]
    if undetermined:
        warnings.append("phase undetermined for " + ", ".join("/".join(p) for p in undetermined)
                        + ": evaluated both as separate clones and as a compound in cis; the worse result is kept")
        alt = _clones(alk, edges, "cis")
        if alt != scenarios[0]:
            scenarios.append(alt)
    for m, v in vaf.items():
        if v is not None and v < 0.006:
            warnings.append(f"{m}: VAF {v:.4f} is below the 0.6% calling threshold of Villa et al. 2024")
    if not alk:
        warnings.append("no ALK resistance mutation given: the knowledge base cannot rank inhibitors")
    ev = _Evaluator(kb)
    recs: list[Recommendation] = []
    for drug in drugs:
        clone_calls: list[CloneCall] = []
        seen: set[str] = set()
        for scen in scenarios:
            for cl in scen:
                g = "+".join(cl)
                if g not in seen:
                    seen.add(g)
                    clone_calls.append(ev.clone(list(cl), drug))
        if not clone_calls:
            call = INSUFFICIENT
        else:
            per_scen = []
            for scen in scenarios:
                calls = [next(c for c in clone_calls if c.clone == "+".join(cl)).call for cl in scen]
                per_scen.append(max(calls, key=lambda c: ORDER[c]))
            call = max(per_scen, key=lambda c: ORDER[c])
        r_warn = []
        if len(scenarios[0]) > 1 and call in ("sensitive", "intermediate"):
            r_warn.append(f"covers all {len(scenarios[0])} clones")
        recs.append(Recommendation(None, drug, drug in INVESTIGATIONAL_DRUGS, call, clone_calls, r_warn))

    def sort_key(r: Recommendation) -> tuple[int, int, float, int, str]:
        fcs = [c.max_fold_change for c in r.clone_calls if c.max_fold_change is not None]
        return (GROUPS.index(r.group), ORDER[r.call], max(fcs) if fcs else math.inf,
                int(r.investigational), r.inhibitor)

    recs.sort(key=sort_key)
    ranked = [r for r in recs if r.group != NO_DATA_GROUP]
    for i, r in enumerate(ranked, 1):
        r.rank = i
    blocking = [f for f in findings if f.switching_alk_inhibitor == NOT_EXPECTED]
    if blocking:
        names = ", ".join(f.mutation for f in blocking)
        warnings.append(f"bypass change(s) {names}: {NOT_EXPECTED} (see the bypass findings)")
        for r in recs:
            if r.group == ACTIVITY:
                r.warnings.append(f"detected bypass change(s) {names}: switching to {r.inhibitor} alone "
                                  "is not expected to help")
    if alk and all(r.call == INSUFFICIENT for r in recs):
        warnings.append("insufficient evidence for every inhibitor: the knowledge base has no data for "
                        + ", ".join(alk))
    clones_out = []
    for cl in scenarios[0]:
        vs = [vaf[m] for m in cl if vaf[m] is not None]
        clones_out.append(("+".join(cl), min(vs) if vs else None))  # type: ignore[type-var]
    return RankingResult(recs, clones_out, warnings, kb.version, bypass=findings)
