"""The resistance part of a report: off-target (bypass) findings, the inhibitor ranking by group, sources.

Everything here comes from the ``ranking`` of a ``deepamp annotate`` JSON.
Groups are shown in a fixed order -- evidence of activity, conflicting
evidence, evidence of resistance, then drugs without data -- whatever the
order of the file: a drug with no data is listed in its own group and never
ranked, so it can never appear above a drug with evidence.  What the
knowledge base says about a bypass change is shown in its own words, with the
paper and the place in it; sources are listed with their full citation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from deepamp.annotate.bypass import NOT_EXPECTED
from deepamp.annotate.knowledge import load_kb
from deepamp.annotate.ranking import GROUP_TITLES, GROUPS, NO_DATA_GROUP
from deepamp.report.markup import cite_html, esc, fmt_pct, nw, table

__all__ = ["ordered_groups", "bypass_html", "ranking_html", "sources_html", "blocking_findings"]


def ordered_groups(ranking: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The recommendations of each group, groups in :data:`GROUPS` order, ranked drugs by rank.

    Parameters
    ----------
    ranking : the ``ranking`` of an annotation JSON (checked by ``read_annotation``)

    Returns
    -------
    [(group, recommendations)] for every group that has a drug.
    """
    recs = ranking.get("recommendations") or []
    out = []
    for g in GROUPS:
        members = [r for r in recs if r.get("group") == g]
        members.sort(key=lambda r: (r.get("rank") is None, r.get("rank") or 0))
        if members:
            out.append((g, members))
    return out


def blocking_findings(ranking: dict[str, Any]) -> list[dict[str, Any]]:
    """Bypass findings for which switching ALK inhibitor alone is not expected to help."""
    return [b for b in ranking.get("bypass") or [] if b.get("switching_alk_inhibitor_alone") == NOT_EXPECTED]


def bypass_html(findings: Iterable[dict[str, Any]], where: dict[str, str] | None = None) -> str:
    """One box per off-target (bypass) finding, in the knowledge base's words.

    Parameters
    ----------
    findings : ``ranking["bypass"]`` entries (mutation, event, switching_alk_inhibitor_alone,
        summary, statements with the paper and place each is cited from)
    where : optional mutation -> where it was found (e.g. the VCF allele and VAF)

    Returns
    -------
    str: HTML (empty when there is no finding).
    """
    out = []
    for b in findings:
        verdict = str(b.get("switching_alk_inhibitor_alone") or "")
        stop = verdict == NOT_EXPECTED
        name = str(b.get("event") or b["mutation"])
        head = f"<strong>{esc(name)}</strong>"
        if b.get("event"):
            head += f' <span class="small">({esc(b["mutation"])})</span>'
        if where and b["mutation"] in where:
            head += f' <span class="small">{esc(where[b["mutation"]])}</span>'
        line = (f"<p>{head}: <strong>{esc(verdict)}</strong></p>" if stop else
                f"<p>{head}: whether switching ALK inhibitor alone helps: <strong>{esc(verdict)}</strong></p>")
        items = []
        for s in b.get("statements") or []:
            items.append(f"<li>{esc(s.get('statement'))} <span class=\"small\">&mdash; {esc(s.get('cited'))} "
                         f"[{esc(s.get('record_id'))}; {esc(s.get('evidence_type'))}; {esc(s.get('level'))}]"
                         "</span></li>")
        out.append(f'<div class="callout{" stop" if stop else ""}">{line}<p>{esc(b.get("summary"))}</p>'
                   + (f"<ul>{''.join(items)}</ul>" if items else "") + "</div>")
    return "\n".join(out)


#: CSS class of each call (colour: activity green, conflicting or intermediate amber, resistance red).
CALL_CLASS = {"sensitive": "c-ok", "intermediate": "c-warn", "conflicting": "c-warn", "resistant": "c-bad",
              "insufficient evidence": "c-none"}


def _call(call: object) -> str:
    return f'<span class="nw {CALL_CLASS.get(str(call), "")}">{esc(call)}</span>'


@dataclass
class _Statement:
    genotype: str
    evidence_type: str
    call: str
    detail: str
    drugs: list[str]


def _statements(groups: list[tuple[str, list[dict[str, Any]]]], cited: dict[str, str]
                ) -> tuple[list[_Statement], dict[tuple[str, str, str, str], int]]:
    """Every distinct piece of evidence (by mutation, then first use) and its number."""
    found: dict[tuple[str, str, str, str], _Statement] = {}
    for _, recs in groups:
        for r in recs:
            for c in r.get("clones") or []:
                for ev in c.get("evidence") or []:
                    sid = str(ev.get("source_id") or "")
                    if sid:
                        cited.setdefault(sid, str(ev.get("citation") or ""))
                    key = (str(ev.get("genotype")), str(ev.get("evidence_type")), str(ev.get("call")),
                           str(ev.get("detail")))
                    st = found.setdefault(key, _Statement(*key, []))
                    if r["inhibitor"] not in st.drugs:
                        st.drugs.append(r["inhibitor"])
    order = sorted(found, key=lambda k: k[0])
    return [found[k] for k in order], {k: i + 1 for i, k in enumerate(order)}


def _numbers(rec: dict[str, Any], index: dict[tuple[str, str, str, str], int]) -> str:
    by_genotype: dict[str, list[int]] = {}
    for c in rec.get("clones") or []:
        for ev in c.get("evidence") or []:
            key = (str(ev.get("genotype")), str(ev.get("evidence_type")), str(ev.get("call")), str(ev.get("detail")))
            nums = by_genotype.setdefault(key[0], [])
            if index[key] not in nums:
                nums.append(index[key])
    if not by_genotype:
        return '<span class="muted">none</span>'
    return "<br>".join(f"{esc(g)} <span class=\"nw\">[{', '.join(str(n) for n in sorted(ns))}]</span>"
                       for g, ns in by_genotype.items())


def _warnings(rec: dict[str, Any]) -> list[str]:
    out = list(rec.get("warnings") or []) + [w for c in rec.get("clones") or [] for w in c.get("warnings") or []]
    return list(dict.fromkeys(str(w) for w in out))


def ranking_html(ranking: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The inhibitor ranking: one table per group, then every piece of evidence once, numbered.

    Parameters
    ----------
    ranking : the ``ranking`` of an annotation JSON

    Returns
    -------
    (HTML, cited) where ``cited`` maps each source id used to its full citation.
    """
    cited: dict[str, str] = {}
    parts = []
    clones = ranking.get("clones") or []
    if clones:
        parts.append("<p>Clones evaluated: " + ", ".join(
            f"<strong>{esc(c.get('genotype'))}</strong>"
            + ("" if c.get("vaf") is None else f" (VAF {esc(fmt_pct(float(c['vaf'])))})") for c in clones) + "</p>")
    notes = [str(w) for w in ranking.get("warnings") or []]
    groups = ordered_groups(ranking)
    recs_all = [r for _, recs in groups for r in recs]
    shared = [w for w in _warnings(recs_all[0]) if all(w in _warnings(r) for r in recs_all)] if recs_all else []
    notes += [f"for every drug: {w}" for w in shared]
    if notes:
        parts.append('<ul class="small">' + "".join(f"<li>&#9888; {esc(w)}</li>" for w in notes) + "</ul>")
    if not groups:
        parts.append('<p class="muted">No protein change to rank.</p>')
        return "\n".join(parts), cited
    statements, index = _statements(groups, cited)
    for g, recs in groups:
        parts.append(f'<h4 id="group-{g.replace(" ", "-")}">{esc(GROUP_TITLES[g].capitalize())} '
                     f'<span class="small">({len(recs)})</span></h4>')
        if g == NO_DATA_GROUP:
            parts.append('<p class="small">The knowledge base has no evidence for these drugs against at least one '
                         "clone: they are listed, never ranked.</p>")
        rows = []
        for r in recs:
            per_clone = "<br>".join(f"{nw(c.get('clone'))}: {_call(c.get('call'))}"
                                    for c in r.get("clones") or [])
            warn = "<br>".join(esc(w) for w in _warnings(r) if w not in shared)
            rank = "not ranked" if r.get("rank") is None else esc(r["rank"])
            name = esc(r["inhibitor"]) + ('<br><span class="small">investigational</span>'
                                          if r.get("investigational") else "")
            rows.append([rank, name, _call(r.get("call")), per_clone, _numbers(r, index), warn])
        parts.append(table(["rank", "inhibitor", "call", "per clone", "evidence", "warnings"], rows, num=(0,),
                           widths=("86px", "120px", "150px", "300px", "170px", "auto")))
    if statements:
        items = []
        for n, st in enumerate(statements, 1):
            items.append(f'<li value="{n}"><strong>{esc(st.genotype)}</strong> {_call(st.call.replace("_", " "))} '
                         f"({esc(st.evidence_type.replace('_', ' '))}; for {esc(', '.join(st.drugs))}): "
                         f"{esc(st.detail)}</li>")
        parts.append("<h4>Evidence</h4><ol class=\"evidence\">" + "".join(items) + "</ol>")
    return "\n".join(parts), cited


def sources_html(cited: dict[str, str], extra_ids: Iterable[str] = ()) -> str:
    """The list of sources: short name and full citation (DOI linked) of every paper cited.

    Parameters
    ----------
    cited : source id -> citation, as found in the evidence
    extra_ids : further source ids (e.g. of bypass statements), completed from the knowledge base

    Returns
    -------
    str: HTML (empty when nothing is cited).
    """
    kb = load_kb()
    full = dict(cited)
    for sid in extra_ids:
        if sid in kb.sources and sid not in full:
            full[sid] = kb.source(sid).cite()
    if not full:
        return ""
    items = []
    for sid in sorted(full):
        short = kb.sources[sid].short if sid in kb.sources and kb.sources[sid].short else sid
        citation = full[sid] or (kb.source(sid).cite() if sid in kb.sources else sid)
        items.append(f"<li><strong>{esc(short)}</strong>: {cite_html(citation)}</li>")
    return "<h3>Sources</h3><ul>" + "".join(items) + "</ul>"
