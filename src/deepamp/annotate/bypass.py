"""What the knowledge base says about a detected off-target (bypass) change.

At progression on an ALK inhibitor some tumours carry no ALK mutation but a
change in another gene that keeps growth signalling on (EGFR, BRAF, MAP2K1,
PIK3CA, IDH2, MET ...).  For such a change this module finds the knowledge-base
statements that speak to it and says, only as far as those statements go,
whether switching to another ALK inhibitor alone is expected to help:

* a statement about this allele or exon-level event with the call
  ``no_benefit_from_alk_inhibitor`` (patients carrying it showed no objective
  benefit from ALK inhibitors) -> "switching ALK inhibitor alone is not
  expected to help";
* anything else -> "no data" for that question, with the related statements
  (the allele reported as an off-target mechanism, potential resistance
  mutations in the gene, statements about the gene in general) listed as they are.

Exon-level events are recognised from the transcript model: an in-frame
deletion inside EGFR exon 19 is an "EGFR exon 19 deletion"; a change at the
splice donor or acceptor site of MET exon 14 is "MET exon 14 skipping"
(the expected effect of losing either splice site of that exon).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from deepamp.normalise import trim_alleles
from deepamp.annotate.hgvs import Annotation
from deepamp.annotate.knowledge import Evidence, KnowledgeBase
from deepamp.annotate.mutation_names import normalize_mutation, split_gene
from deepamp.annotate.transcripts import TranscriptSet

NOT_EXPECTED = "switching ALK inhibitor alone is not expected to help"
NO_DATA = "no data"
#: genes whose changes are on-target for the fusion kinases this tool covers
ON_TARGET = ("ALK", "ROS1")


@dataclass(frozen=True)
class ExonEvent:
    """An exon-level change named by the literature (e.g. 'EGFR exon 19 deletion')."""

    gene: str
    exon: int
    name: str    # canonical suffix of the mutation name, e.g. 'exon19del'
    label: str   # how a reader names it, e.g. 'EGFR exon 19 deletion'


EVENTS = (
    ExonEvent("EGFR", 19, "exon19del", "EGFR exon 19 deletion"),
    ExonEvent("MET", 14, "exon14skipping", "MET exon 14 skipping (change at a splice site of exon 14)"),
)
_DELETION = re.compile(r"^[A-Z*](\d+)(?:_[A-Z*](\d+))?(del|delins([A-Z*]+))$")


@dataclass
class BypassStatement:
    """One knowledge-base statement about a bypass change, with its place in the paper."""

    record_id: str
    level: str            # 'allele', 'event', 'gene', 'other alteration' or 'general'
    call: str
    evidence_type: str
    statement: str
    source_id: str
    cited: str            # short label and place in the paper

    def as_dict(self) -> dict[str, str]:
        """Plain-dict form for JSON output."""
        return dict(self.__dict__)


@dataclass
class BypassFinding:
    """A detected off-target change and what the knowledge base says about it."""

    mutation: str                  # canonical name, e.g. 'EGFR:E746_A750del'
    gene: str
    event: str | None              # exon-level event label, e.g. 'EGFR exon 19 deletion'
    switching_alk_inhibitor: str   # NOT_EXPECTED or NO_DATA
    summary: str
    statements: list[BypassStatement] = field(default_factory=list)
    basis: list[str] = field(default_factory=list)  # record ids the summary rests on

    @property
    def basis_source_ids(self) -> list[str]:
        """Papers the summary rests on."""
        return sorted({s.source_id for s in self.statements if s.record_id in self.basis})

    @property
    def record_ids(self) -> list[str]:
        return [s.record_id for s in self.statements]

    @property
    def source_ids(self) -> list[str]:
        return sorted({s.source_id for s in self.statements})

    def as_dict(self) -> dict[str, object]:
        """Plain-dict form for JSON output."""
        return {"mutation": self.mutation, "gene": self.gene, "event": self.event,
                "switching_alk_inhibitor_alone": self.switching_alk_inhibitor, "summary": self.summary,
                "basis": list(self.basis), "statements": [s.as_dict() for s in self.statements]}


@lru_cache(maxsize=1)
def _grch38_transcripts() -> TranscriptSet:
    return TranscriptSet.default("hg38")


def exon_event(mutation: str, transcripts: TranscriptSet | None = None) -> ExonEvent | None:
    """The exon-level event a protein change or event name belongs to, if any.

    Parameters
    ----------
    mutation : str
        Canonical name ('EGFR:E746_A750del', 'EGFR:exon19del', 'MET:exon14skipping').
    transcripts : TranscriptSet, optional
        Models used to place residues in exons (protein numbering is the same on
        every build); the shipped GRCh38 set by default.

    Returns
    -------
    ExonEvent or None.  An in-frame deletion (or deletion-insertion that
    removes residues) whose residues all lie in the event's exon counts as an
    exon deletion event.
    """
    gene, change = split_gene(mutation)
    for ev in EVENTS:
        if ev.gene != gene:
            continue
        if change == ev.name:
            return ev
        m = _DELETION.match(change)
        if m is None or not ev.name.endswith("del"):
            continue
        first, last = int(m.group(1)), int(m.group(2) or m.group(1))
        inserted = m.group(4) or ""
        if len(inserted) >= last - first + 1:
            continue
        tx = (transcripts or _grch38_transcripts()).by_gene(gene)
        exons = {tx.exon_of_axis(c) for c in (3 * first - 2, 3 * last)}
        if exons == {ev.exon}:
            return ev
    return None


def splice_event(ann: Annotation, transcripts: TranscriptSet) -> ExonEvent | None:
    """The skipping event of an annotated change at a splice donor/acceptor site, if any.

    Parameters
    ----------
    ann : Annotation
        Annotation of one variant (from :func:`deepamp.annotate.hgvs.annotate`).
    transcripts : TranscriptSet
        The models the annotation was made with (same build as the variant).

    Returns
    -------
    ExonEvent when the change hits the acceptor (intron before) or donor
    (intron after) site of an event exon, else None.
    """
    if ann.gene is None or not ann.consequence.startswith(("splice_donor", "splice_acceptor")):
        return None
    tx = transcripts.by_gene(ann.gene)
    v = ann.variant
    pos, ref, _ = trim_alleles(v.pos, v.ref, v.alt, anchor=False)
    span = range(pos - 1, pos + 1) if not ref else range(pos, pos + len(ref))  # an insertion: both flanks
    for ev in EVENTS:
        if ev.gene != ann.gene or not ev.name.endswith("skipping"):
            continue
        for g in span:
            loc = tx.locate(g)
            if (loc.splice_site == "acceptor" and loc.intron == ev.exon - 1) or \
                    (loc.splice_site == "donor" and loc.intron == ev.exon):
                return ev
    return None


def annotation_name(ann: Annotation, transcripts: TranscriptSet) -> str | None:
    """Canonical mutation name of an annotated variant, as the ranking takes it.

    Parameters
    ----------
    ann : Annotation
        One annotated variant.
    transcripts : TranscriptSet
        The models the annotation was made with.

    Returns
    -------
    'G1202R' (ALK), 'EGFR:E746_A750del', 'MET:exon14skipping' (splice site of
    an event exon); None when the change has no protein-level name.
    """
    if ann.gene is None:
        return None
    change = ann.protein_change
    if ann.combined_hgvsp1 and ann.combined_hgvsp1 != "p.?":
        change = ann.combined_hgvsp1[2:]   # one amino-acid change for cis partners in one codon
    if change:
        try:
            return normalize_mutation(change if ann.gene == "ALK" else f"{ann.gene}:{change}")
        except ValueError:
            return None
    ev = splice_event(ann, transcripts)
    return f"{ann.gene}:{ev.name}" if ev is not None else None


def _statement(kb: KnowledgeBase, e: Evidence, level: str) -> BypassStatement:
    src = kb.source(e.source_id)
    return BypassStatement(e.record_id, level, e.call, e.evidence_type, e.statement, e.source_id,
                           src.at(e.location))


def assess(kb: KnowledgeBase, mutation: str, transcripts: TranscriptSet | None = None) -> BypassFinding:
    """What the knowledge base says about one off-target change.

    Parameters
    ----------
    kb : KnowledgeBase
        The shipped knowledge base.
    mutation : str
        Canonical name of a change outside ALK/ROS1 ('EGFR:E746_A750del').
    transcripts : TranscriptSet, optional
        Models for placing residues in exons (shipped GRCh38 set by default).

    Returns
    -------
    BypassFinding.  ``switching_alk_inhibitor`` is NOT_EXPECTED only when a
    statement about this allele or event reports no benefit from ALK
    inhibitors in patients carrying it; otherwise NO_DATA.

    Raises
    ------
    ValueError
        ``mutation`` names ALK or ROS1 (on-target, not a bypass change).
    """
    gene, change = split_gene(mutation)
    if gene in ON_TARGET:
        raise ValueError(f"{mutation}: {gene} is on-target, not a bypass gene")
    ev = exon_event(mutation, transcripts) if gene in {e.gene for e in EVENTS} else None
    what = ev.label if ev is not None and change == ev.name else \
        f"{gene} {change}" + (f" ({ev.label})" if ev is not None else "")
    specific, related = [], []
    for e in kb.gene_records(gene):
        if e.genotype == change or (ev is not None and e.genotype == ev.name):
            specific.append(_statement(kb, e, "allele" if e.genotype == change else "event"))
        else:  # about the gene in general, or about another alteration of it
            related.append(_statement(kb, e, "gene" if not e.genotype else "other alteration"))
    general = [_statement(kb, e, "general") for e in kb.general_off_target_records()]
    no_benefit = [s for s in specific if s.call == "no_benefit_from_alk_inhibitor"]
    off_target = [s for s in specific if s.call == "off_target_resistance"]
    potential = [s for s in related if s.call == "potential_resistance" and s.level == "gene"]
    basis: list[BypassStatement] = no_benefit or off_target or potential or (specific + related)
    if no_benefit:
        verdict = NOT_EXPECTED
        summary = (f"{what}: {NOT_EXPECTED}: it is one of the bypass changes found in patients who showed "
                   f"no objective survival benefit from ALK inhibitors ({'; '.join(s.cited for s in no_benefit)})")
    elif off_target:
        verdict = NO_DATA
        summary = (f"{what}: reported as an off-target mechanism of ALK-inhibitor resistance "
                   f"({'; '.join(s.cited for s in off_target)}); whether another ALK inhibitor helps: no data")
    elif potential:
        verdict = NO_DATA
        summary = (f"{what}: potential ALK-inhibitor resistance mutations in {gene} are reported without "
                   f"naming the alleles ({'; '.join(s.cited for s in potential)}); whether another ALK "
                   "inhibitor helps: no data")
    elif specific or related:
        verdict = NO_DATA
        cites = "; ".join(dict.fromkeys(s.cited for s in specific + related))
        summary = (f"{what}: no data on ALK-inhibitor response for this change; the knowledge base speaks "
                   f"only of {gene} in general or of other {gene} alterations ({cites})")
    else:
        verdict = NO_DATA
        summary = (f"{what}: no data: no source in the knowledge base reports {gene} changes at "
                   "ALK-inhibitor progression")
    statements = specific + related + (general if specific or related else [])
    return BypassFinding(mutation, gene, ev.label if ev is not None else None, verdict, summary, statements,
                         [s.record_id for s in basis])
