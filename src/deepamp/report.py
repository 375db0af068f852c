"""``deepamp report``: one self-contained HTML page for an annotated sample.

Inputs are the VCF written by ``deepamp call`` (or the same VCF after
``deepamp phase``, which adds INFO ``PS``/``PHASE``) and the JSON written by
``deepamp annotate``.  The page has inline CSS only (no script, no external
resource), every piece of text from the inputs is HTML-escaped, and it is
written atomically.  Sections: run summary (command line, deepamp version,
reads and bases used and dropped by reason from the ``##deepamp_*`` header
lines), variant table (gene, HGVS p./c., VAF with a 95% Wilson interval,
depth, filter, testing family, phase), resistance evidence and inhibitor
ranking with sources and the decision-support disclaimer, and what could not
be assessed.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from html import escape
from typing import Any

from deepamp._version import __version__
from deepamp.annotate.knowledge import load_kb
from deepamp.errors import FormatError, InputFileError
from deepamp.io.outputs import output_text
from deepamp.io.vcf import filter_names, read_vcf

Z95 = 1.959963984540054
CSS = """
body{font-family:system-ui,Arial,sans-serif;margin:2em;color:#222;max-width:80em}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f0f0f0}.num{text-align:right;font-variant-numeric:tabular-nums}
.disclaimer{border:2px solid #b00;background:#fff4f4;padding:.6em;font-weight:bold}
.muted{color:#666}code{font-size:.95em}
"""


@dataclass
class VcfSummary:
    """What the report takes from the VCF: header provenance and the records."""

    path: str
    command: str | None = None
    source: str | None = None
    reads: dict[str, int] = field(default_factory=dict)
    bases: dict[str, int] = field(default_factory=dict)
    tests: list[str] = field(default_factory=list)
    phased: bool = False
    records: dict[tuple[str, int, str, str], dict[str, Any]] = field(default_factory=dict)


def wilson_interval(alt: int, depth: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``alt/depth`` (``(0, 1)`` when depth is 0)."""
    if depth <= 0:
        return 0.0, 1.0
    p = alt / depth
    denom = 1.0 + z * z / depth
    centre = (p + z * z / (2 * depth)) / denom
    half = z * math.sqrt(p * (1 - p) / depth + z * z / (4 * depth * depth)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _counts(text: str) -> dict[str, int]:
    out = {}
    for item in text.split(","):
        key, _, value = item.partition(":")
        try:
            out[key.strip()] = int(value)
        except ValueError:
            continue
    return out


def read_call_vcf(path: str) -> VcfSummary:
    """Header provenance and records (INFO as plain values) of a deepamp VCF.

    Raises
    ------
    InputFileError, FormatError
        The VCF is missing, unreadable or malformed.
    """
    summary = VcfSummary(path)
    data = read_vcf(path)
    for rec in data.header.records:
        key, value = rec.key, rec.value
        if key == "commandline" and value:
            summary.command = value.strip('"')
        elif key == "source" and value:
            summary.source = value
        elif key == "deepamp_reads" and value:
            summary.reads = _counts(value)
        elif key == "deepamp_bases" and value:
            summary.bases = _counts(value)
        elif key in ("deepamp_mtc", "deepamp_indel_mtc", "deepamp_hotspot_mtc", "deepamp_bypass_mtc") and value:
            summary.tests.append(f"{key[8:]}: {value}")
    summary.phased = "PHASE" in data.header.info or "PS" in data.header.info
    for rec in data.records:
        info = {k: rec.info[k] for k in rec.info}
        names = filter_names(rec)
        for i, alt in enumerate(rec.alts or ()):
            summary.records[(rec.chrom, rec.pos, rec.ref.upper(), alt.upper())] = {
                "filter": "." if names is None else ";".join(names) or "PASS",
                "depth": info.get("DP"),
                "af": _nth(info.get("AF"), i),
                "dp4": info.get("DP4"),
                "family": info.get("FAMILY"),
                "ps": info.get("PS"),
                "phase": _as_list(info.get("PHASE")),
            }
    return summary


def _nth(value: Any, i: int) -> Any:
    return value[i] if isinstance(value, tuple) else value


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def read_annotation(path: str) -> dict[str, Any]:
    """The JSON written by ``deepamp annotate`` (checked for the keys the report uses).

    Raises
    ------
    InputFileError
        The file is missing or unreadable.
    FormatError
        It is not JSON or lacks ``variants``/``ranking``.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        raise InputFileError(f"{path}: annotation JSON not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path}: cannot read annotation JSON ({exc})") from None
    except json.JSONDecodeError as exc:
        raise FormatError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("variants"), list) \
            or not isinstance(doc.get("ranking"), dict):
        raise FormatError(f"{path}: not a `deepamp annotate` JSON (needs 'variants' and 'ranking')")
    for n, v in enumerate(doc["variants"]):
        if not isinstance(v, dict) or not all(k in v for k in ("contig", "pos", "ref", "alt")):
            raise FormatError(f"{path}: variants[{n}] lacks contig/pos/ref/alt")
        if not (isinstance(v["contig"], str) and isinstance(v["pos"], int) and not isinstance(v["pos"], bool)
                and v["pos"] >= 1 and isinstance(v["ref"], str) and isinstance(v["alt"], str)):
            raise FormatError(f"{path}: variants[{n}] has no valid contig/pos/ref/alt "
                              f"(pos must be a positive integer, not {v['pos']!r})")
    return doc


def _e(value: Any) -> str:
    return "" if value is None else escape(str(value), quote=True)


def _table(head: list[str], rows: list[list[str]], num: set[int] = frozenset()) -> str:  # type: ignore[assignment]
    out = ["<table><thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>" + "".join(f'<td class="num">{c}</td>' if i in num else f"<td>{c}</td>"
                                    for i, c in enumerate(row)) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _vaf_cells(rec: dict[str, Any], ann: dict[str, Any]) -> tuple[str, str]:
    depth, af = rec.get("depth"), rec.get("af")
    if af is None:
        af = ann.get("vaf")
    if af is None:
        return "", _e(depth)
    if not depth:
        return f"{100 * float(af):.3g}%", ""
    alt = int(round(float(af) * int(depth)))
    lo, hi = wilson_interval(alt, int(depth))
    return (f"{100 * float(af):.3g}% ({100 * lo:.3g}&ndash;{100 * hi:.3g}%)", _e(depth))


def _phase_cell(rec: dict[str, Any], ann: dict[str, Any]) -> str:
    parts = []
    if rec.get("ps") is not None:
        parts.append(f"PS {_e(rec['ps'])}")
    for entry in rec.get("phase", []):
        partner, _, rest = entry.rpartition(":")
        partner, _, relation = partner.rpartition(":")
        parts.append(f"{_e(relation)} with {_e(partner)} ({_e(rest)})")
    if ann.get("phase"):
        parts.append(f"same codon: {_e(ann['phase'])}")
    return "<br>".join(parts)


def render(vcf: VcfSummary, doc: dict[str, Any], annotation_path: str) -> str:
    """The report as one HTML document (a string)."""
    variants = doc["variants"]
    keyed = {(str(v["contig"]), int(v["pos"]), str(v["ref"]).upper(), str(v["alt"]).upper()): v for v in variants}
    missing = [k for k in keyed if k not in vcf.records]
    if variants and len(missing) == len(keyed):
        raise FormatError(f"{annotation_path}: none of its variants is in {vcf.path} (annotation of another VCF?)")
    ranking = doc["ranking"]
    disclaimer = str(doc.get("disclaimer") or ranking.get("disclaimer") or "")
    body: list[str] = [f"<h1>deepamp report: {_e(os.path.basename(vcf.path))}</h1>",
                       f'<p class="disclaimer">{_e(disclaimer)}</p>']

    # ---- run summary -------------------------------------------------------------
    body.append("<h2>Sample and run</h2>")
    rows = [["VCF", _e(vcf.path)], ["annotation", _e(annotation_path)],
            ["command", f"<code>{_e(vcf.command)}</code>" if vcf.command else '<span class="muted">not recorded</span>'],
            ["caller version", _e(vcf.source) or '<span class="muted">not recorded</span>'],
            ["report", _e(f"deepamp {__version__}")],
            ["genome", _e(doc.get("genome"))], ["knowledge base", _e(doc.get("kb_version"))],
            ["phased", "yes (deepamp phase)" if vcf.phased else "no"]]
    rows += [["multiple testing", _e(t)] for t in vcf.tests]
    body.append(_table(["item", "value"], rows))
    for title, counts, used in (("Reads", vcf.reads, ("seen", "used")), ("Bases", vcf.bases, ("counted",))):
        if not counts:
            body.append(f'<p class="muted">{title}: no ##deepamp_{title.lower()} header line in the VCF.</p>')
            continue
        head = [[_e(k), _e(f"{counts[k]:,}")] for k in used if k in counts]
        drop = [[_e(k), _e(f"{n:,}")] for k, n in counts.items() if k not in used]
        body.append(f"<h3>{title}</h3>" + _table(["", "count"], head + drop, {1}))

    # ---- variants ------------------------------------------------------------------
    body.append("<h2>Variants</h2>")
    rows = []
    for key, rec in vcf.records.items():
        ann = keyed.get(key, {})
        p1 = ann.get("hgvsp1") or ""
        if ann.get("combined_hgvsp1"):
            p1 += f" (one molecule: {ann['combined_hgvsp1']})"
        vaf, depth = _vaf_cells(rec, ann)
        rows.append([_e(f"{key[0]}:{key[1]} {key[2]}>{key[3]}"), _e(ann.get("gene") or "-"),
                     _e(p1), _e(ann.get("hgvsp")), _e(ann.get("hgvsc")), _e(ann.get("consequence")),
                     vaf, depth, _e(rec["filter"]), _e(rec.get("family")), _phase_cell(rec, ann),
                     _e(", ".join(ann.get("kb_records") or []))])
    body.append(_table(["variant", "gene", "HGVS p. (1-letter)", "HGVS p.", "HGVS c.", "consequence",
                        "VAF (95% CI)", "depth", "filter", "evidence family", "phase", "KB records"], rows, {7}))

    # ---- evidence and ranking ------------------------------------------------------
    body.append("<h2>Resistance evidence and inhibitor ranking</h2>")
    body.append(f'<p class="disclaimer">{_e(disclaimer)}</p>')
    clones = ranking.get("clones") or []
    if clones:
        body.append("<p>Clones ranked: " + ", ".join(
            _e(c.get("genotype")) + ("" if c.get("vaf") is None else f" (VAF {100 * float(c['vaf']):.3g}%)")
            for c in clones) + "</p>")
    rows, cited = [], {}
    for r in ranking.get("recommendations") or []:
        per_clone, evid = [], []
        for c in r.get("clones") or []:
            per_clone.append(f"{_e(c.get('clone'))}: {_e(c.get('call'))} &mdash; {_e(c.get('basis'))}")
            for ev in c.get("evidence") or []:
                evid.append(f"{_e(ev.get('genotype'))} {_e(ev.get('call'))} ({_e(ev.get('evidence_type'))}): "
                            f"{_e(ev.get('detail'))} [{_e(ev.get('source_id'))}]")
                cited[str(ev.get("source_id"))] = str(ev.get("citation") or "")
        warn = "<br>".join(_e(w) for w in r.get("warnings") or [])
        rows.append([_e(r.get("rank")), _e(r.get("inhibitor")) + (" (investigational)" if r.get("investigational") else ""),
                     _e(r.get("call")), "<br>".join(per_clone), "<br>".join(evid) or '<span class="muted">none</span>', warn])
    body.append(_table(["rank", "inhibitor", "call", "per clone", "evidence", "warnings"], rows, {0})
                if rows else '<p class="muted">No protein change to rank.</p>')
    for w in ranking.get("warnings") or []:
        body.append(f"<p>&#9888; {_e(w)}</p>")
    kb = load_kb()
    for v in variants:
        for sid in v.get("kb_sources") or []:
            if sid in kb.sources and sid not in cited:
                cited[sid] = kb.source(sid).cite()
    if cited:
        body.append("<h3>Sources</h3><ul>" + "".join(f"<li>[{_e(k)}] {_e(v)}</li>" for k, v in sorted(cited.items()))
                    + "</ul>")

    # ---- not assessable --------------------------------------------------------------
    body.append("<h2>Not assessable</h2>")
    items = []
    for key, ann in keyed.items():
        label = f"{key[0]}:{key[1]} {key[2]}>{key[3]}"
        if key in missing:
            items.append(f"{label}: in the annotation but not in the VCF")
        if not ann.get("gene"):
            items.append(f"{label}: outside every modelled transcript ({ann.get('consequence')})")
        elif ann.get("hgvsp") == "p.?":
            items.append(f"{label}: protein change not computed")
        for text in list(ann.get("warnings") or []) + list(ann.get("notes") or []):
            items.append(f"{label}: {text}")
    for key, rec in vcf.records.items():
        if key not in keyed:
            items.append(f"{key[0]}:{key[1]} {key[2]}>{key[3]}: not annotated (symbolic or filtered allele)")
        for entry in rec.get("phase", []):
            if ":undetermined:" in entry:
                items.append(f"{key[0]}:{key[1]} {key[2]}>{key[3]}: phase with {entry.rsplit(':', 2)[0]} "
                             f"undetermined ({entry.rsplit(':', 1)[1]})")
    for r in ranking.get("recommendations") or []:
        for c in r.get("clones") or []:
            if c.get("call") == "insufficient evidence":
                items.append(f"{r.get('inhibitor')} on {c.get('clone')}: insufficient evidence")
    body.append("<ul>" + "".join(f"<li>{_e(t)}</li>" for t in dict.fromkeys(items)) + "</ul>"
                if items else "<p>Everything in the inputs could be assessed.</p>")

    title = _e(f"deepamp report: {os.path.basename(vcf.path)}")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{title}</title><style>{CSS}</style></head>\n<body>\n" + "\n".join(body) + "\n</body></html>\n")


def write_report(vcf: str, annotation: str, out: str) -> None:
    """Render the report of ``vcf`` + ``annotation`` (``deepamp annotate`` JSON) into ``out``.

    Raises
    ------
    InputFileError, FormatError
        An input is missing or malformed.
    OutputError
        ``out`` cannot be written (nothing is left behind).
    """
    summary = read_call_vcf(vcf)
    doc = read_annotation(annotation)
    output_text(out, render(summary, doc, annotation))
