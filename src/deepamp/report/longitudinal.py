"""The longitudinal report: one patient's VCFs in time order on one page, VAF of each call over time.

An allele is followed when it is called (FILTER PASS, or no filter applied)
at one time point at least.  At every time point it is *called*, *filtered*
(in the VCF but failing a filter: its VAF is shown) or *not called* (no
record in that VCF: below detection, or the site not covered).  Changes
between consecutive time points are flagged:

* **emerged** -- called now, not called (or filtered) at the time point before;
* **lost** -- called at the time point before, not called (or filtered) now.

With the annotations (``deepamp annotate`` JSON per time point) alleles are
named (``ALK p.G1202R``) and the resistance mutations -- ALK/ROS1 changes
with knowledge-base evidence, off-target (bypass) changes, and alleles of the
hotspot testing families -- are plotted; other calls are listed in a table.
Without annotations and testing families every call is plotted by position.
Labels that are all dates (``YYYY-MM-DD``) must increase and space the time
axis by days.
"""

from __future__ import annotations

import datetime
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from deepamp.annotate.ranking import ACTIVITY, DISCLAIMER, GROUP_TITLES, GROUPS
from deepamp.errors import OptionError
from deepamp.io.outputs import output_text
from deepamp.report.inputs import (Allele, Key, VcfSummary, annotation_key, check_annotation_matches,
                                   read_annotation, read_call_vcf)
from deepamp.report.markup import badge, esc, fmt_int, fmt_pct, page, table
from deepamp.report.page import variant_name
from deepamp.report.plots import TimelineSeries, timeline_figure
from deepamp.report.qc import reads_line
from deepamp.report.resistance import blocking_findings, bypass_html, ordered_groups, sources_html

__all__ = ["EMERGED", "LOST", "TimePoint", "Track", "changes", "load_timepoints", "follow", "render_longitudinal",
           "write_longitudinal", "track_table", "over_time_figure", "RESISTANCE", "BYPASS", "HOTSPOT", "OTHER"]

EMERGED, LOST = "emerged", "lost"
RESISTANCE = "ALK/ROS1 resistance (knowledge base)"
BYPASS = "off-target (bypass)"
HOTSPOT = "hotspot testing family"
OTHER = "other call"
_KIND_ORDER = (RESISTANCE, BYPASS, HOTSPOT, OTHER)
#: Longest time-point label (labels head table columns).
MAX_LABEL = 32
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class TimePoint:
    """One time point: its label, VCF, optional annotation and optional date."""

    label: str
    vcf: VcfSummary
    annotation: dict[str, Any] | None = None
    annotation_path: str | None = None
    date: datetime.date | None = None

    @property
    def keyed(self) -> dict[Key, dict[str, Any]]:
        """Annotation variants by (contig, position, REF, ALT); empty without annotation."""
        return {} if self.annotation is None else {annotation_key(v): v for v in self.annotation["variants"]}


@dataclass
class Track:
    """One allele followed over the time points.

    Attributes
    ----------
    key : (contig, position, REF, ALT)
    name : ``ALK p.G1202R`` when annotated, else the position
    kind : RESISTANCE, BYPASS, HOTSPOT or OTHER
    alleles : the VCF allele at each time point (None: no record)
    """

    key: Key
    name: str
    kind: str
    alleles: list[Allele | None] = field(default_factory=list)

    @property
    def label(self) -> str:
        """``chr2:29220747 C>T``."""
        return f"{self.key[0]}:{self.key[1]} {self.key[2]}>{self.key[3]}"

    @property
    def called(self) -> list[bool]:
        """Per time point, whether the allele is called."""
        return [a is not None and a.called for a in self.alleles]

    @property
    def events(self) -> list[str | None]:
        """Per time point, EMERGED, LOST or None (see :func:`changes`)."""
        return changes(self.called)

    def status(self, i: int) -> str:
        """``called``, ``filtered`` or ``not called`` at time point ``i``."""
        a = self.alleles[i]
        return "not called" if a is None else "called" if a.called else "filtered"


def changes(called: Sequence[bool]) -> list[str | None]:
    """Emergence and loss between consecutive time points.

    Parameters
    ----------
    called : per time point, whether the allele is called

    Returns
    -------
    Per time point EMERGED (called, not called before), LOST (not called, called before) or
    None; the first time point is never flagged.
    """
    out: list[str | None] = [None] if called else []
    for prev, cur in zip(called, called[1:]):
        out.append(EMERGED if cur and not prev else LOST if prev and not cur else None)
    return out


def _dates(labels: Sequence[str]) -> list[datetime.date] | None:
    if not all(_DATE.match(x) for x in labels):
        return None
    try:
        dates = [datetime.date.fromisoformat(x) for x in labels]
    except ValueError as exc:
        raise OptionError(f"--labels: {exc}") from None
    for a, b, la, lb in zip(dates, dates[1:], labels, labels[1:]):
        if b <= a:
            raise OptionError(f"--labels: dates must increase with the VCFs (time order): {lb} after {la}")
    return dates


def load_timepoints(vcfs: Sequence[str], *, labels: Sequence[str] | None = None,
                    annotations: Sequence[str] | None = None) -> list[TimePoint]:
    """Read and check the time points of one patient.

    Parameters
    ----------
    vcfs : VCFs in time order (two or more)
    labels : one label per VCF (default T0, T1, ...), at most MAX_LABEL characters; all dates
        (YYYY-MM-DD) must increase
    annotations : none, or one ``deepamp annotate`` JSON per VCF, in the same order

    Returns
    -------
    list of TimePoint

    Raises
    ------
    OptionError
        Fewer than two VCFs, labels or annotations not one per VCF, an empty, too long or
        repeated label, dates out of order.
    InputFileError, FormatError
        A missing or malformed input, or an annotation of another VCF.
    """
    if len(vcfs) < 2:
        raise OptionError("a longitudinal report needs two or more VCFs in time order")
    labels = list(labels) if labels else [f"T{i}" for i in range(len(vcfs))]
    if len(labels) != len(vcfs):
        raise OptionError(f"--labels: {len(labels)} labels for {len(vcfs)} VCFs")
    for lab in labels:
        if not lab.strip():
            raise OptionError("--labels: a label is empty")
        if len(lab) > MAX_LABEL:
            raise OptionError(f"--labels: {lab[:20]!r}... is longer than {MAX_LABEL} characters")
    if len(set(labels)) != len(labels):
        dup = next(x for x in labels if labels.count(x) > 1)
        raise OptionError(f"--labels: {dup!r} is given twice")
    dates = _dates(labels)
    annotations = list(annotations or [])
    if annotations and len(annotations) != len(vcfs):
        raise OptionError(f"--annotation: {len(annotations)} annotations for {len(vcfs)} VCFs "
                          "(give none, or one per VCF in the same order)")
    points = []
    for i, path in enumerate(vcfs):
        summary = read_call_vcf(path)
        doc, ann_path = None, None
        if annotations:
            ann_path = annotations[i]
            doc = read_annotation(ann_path)
            check_annotation_matches(doc, ann_path, summary)
        points.append(TimePoint(labels[i], summary, doc, ann_path, dates[i] if dates else None))
    return points


def _kind(anns: list[dict[str, Any]], alleles: list[Allele | None]) -> str:
    if any(bool(a.get("kb_records")) and a.get("gene") in ("ALK", "ROS1") for a in anns):
        return RESISTANCE
    if any(a.get("bypass") for a in anns):
        return BYPASS
    families = {a.family for a in alleles if a is not None}
    if "bypass" in families:
        return BYPASS
    if "hotspot" in families:
        return HOTSPOT
    return OTHER


def follow(points: Sequence[TimePoint]) -> list[Track]:
    """Every allele called at one time point at least, followed over all of them.

    Returns
    -------
    Tracks ordered by kind (resistance, bypass, hotspot, other), first time point called, position.
    """
    keys: dict[Key, None] = {}
    for tp in points:
        for key, a in tp.vcf.alleles.items():
            if a.called:
                keys.setdefault(key)
    tracks = []
    for key in keys:
        alleles = [tp.vcf.alleles.get(key) for tp in points]
        anns = [tp.keyed[key] for tp in points if key in tp.keyed]
        present = next(a for a in alleles if a is not None)
        name = variant_name(present, anns[-1]) if anns else present.label
        tracks.append(Track(key, name, _kind(anns, alleles), alleles))
    tracks.sort(key=lambda t: (_KIND_ORDER.index(t.kind), t.called.index(True), t.key[0], t.key[1]))
    return tracks


def _cell(track: Track, i: int) -> str:
    a = track.alleles[i]
    ev = track.events[i]
    flag = badge(EMERGED, "new") + " " if ev == EMERGED else badge(LOST, "lost") + " " if ev == LOST else ""
    if a is None:
        return flag + '<span class="muted">not called</span>'
    text = esc(fmt_pct(a.af)) if a.af is not None else '<span class="muted">no AF</span>'
    ci = a.interval()
    if ci is not None:
        text += f'<br><span class="small">{esc(fmt_pct(ci[0]))}&ndash;{esc(fmt_pct(ci[1]))}</span>'
    if not a.called:
        text = f'<span class="muted">filtered ({esc(a.filter)})</span> ' + text
    return flag + text


def _change_text(track: Track, labels: Sequence[str]) -> str:
    out = []
    for i, ev in enumerate(track.events):
        if ev == EMERGED:
            out.append(f"emerged at {labels[i]} ({track.status(i - 1)} at {labels[i - 1]})")
        elif ev == LOST:
            out.append(f"lost at {labels[i]} ({track.status(i)}; called at {labels[i - 1]})")
    return "; ".join(out)


def track_table(tracks: Sequence[Track], labels: Sequence[str]) -> str:
    """The table of alleles over time: VAF (interval, filter) per time point, emergence and loss flagged."""
    rows = []
    for t in tracks:
        rows.append([f"<strong>{esc(t.name)}</strong>" + (f'<br><span class="small">{esc(t.label)}</span>'
                                                          if t.name != t.label else ""),
                     esc(t.kind)] + [_cell(t, i) for i in range(len(labels))]
                    + [esc(_change_text(t, labels)) or '<span class="muted">none</span>'])
    return table(["allele", "kind", *labels, "changes"], rows, wide=True)


def over_time_figure(points: Sequence[TimePoint], tracks: Sequence[Track]) -> str:
    """The ``<figure>`` of the tracks' VAF over the time points (spaced by date when all are dates)."""
    labels = [tp.label for tp in points]
    xs = [float((tp.date - points[0].date).days) for tp in points] if points[0].date else \
        [float(i) for i in range(len(points))]
    series = []
    for t in tracks:
        cis = [a.interval() if a is not None else None for a in t.alleles]
        series.append(TimelineSeries(t.name, [a.af if a is not None else None for a in t.alleles],
                                     [c[0] if c else None for c in cis], [c[1] if c else None for c in cis],
                                     t.called, t.events))
    spacing = "by date" if points[0].date else "in order"
    return (f"<figure>{timeline_figure(series, labels, xs)}<figcaption>VAF with 95% interval at each "
            f"time point (spaced {spacing}); lower band: no record in that time point's VCF (below "
            "detection, or the site not covered).</figcaption></figure>")


def render_longitudinal(patient: str, points: Sequence[TimePoint]) -> str:
    """The longitudinal page of one patient as an HTML document.

    Parameters
    ----------
    patient : the patient's name or identifier (shown as given, escaped)
    points : the time points in time order (:func:`load_timepoints`)

    Returns
    -------
    str: the HTML document (inline CSS and SVG; no script, no external resource).
    """
    labels = [tp.label for tp in points]
    docs = [tp.annotation for tp in points if tp.annotation is not None]
    disclaimer = str(docs[0].get("disclaimer") or DISCLAIMER) if docs else DISCLAIMER
    tracks = follow(points)
    named = [t for t in tracks if t.kind != OTHER]
    plotted = named if named else tracks
    others = [t for t in tracks if t.kind == OTHER] if named else []
    emerged = [f"{t.name} at {labels[i]}" for t in plotted for i, e in enumerate(t.events) if e == EMERGED]
    lost = [f"{t.name} at {labels[i]}" for t in plotted for i, e in enumerate(t.events) if e == LOST]

    body = [f"<h1>deepamp longitudinal report: {esc(patient)}</h1>",
            f'<p class="subtitle">{len(points)} time points: {esc(", ".join(labels))}</p>',
            '<nav><a href="#timepoints">Time points</a><a href="#over-time">Resistance mutations over time</a>'
            + ('<a href="#bypass">Off-target changes</a>' if docs else "")
            + ('<a href="#ranking">Ranking over time</a>' if docs else "") + "</nav>",
            f'<p class="disclaimer">{esc(disclaimer)}</p>',
            '<dl class="facts">'
            f"<dt>Patient</dt><dd>{esc(patient)}</dd>"
            f"<dt>Emerged</dt><dd>{esc('; '.join(emerged)) or 'none'}</dd>"
            f"<dt>Lost</dt><dd>{esc('; '.join(lost)) or 'none'}</dd>"
            f"<dt>Followed</dt><dd>{len(plotted)} allele(s)"
            + (f"; {len(others)} other call(s) listed below" if others else "") + "</dd></dl>"]

    # ---- time points
    body.append('<h2 id="timepoints">Time points</h2>')
    rows = []
    for tp in points:
        called = sum(a.called for a in tp.vcf.alleles.values())
        rows.append([f"<strong>{esc(tp.label)}</strong>", esc(os.path.basename(tp.vcf.path)),
                     esc(tp.vcf.samples[0] if len(tp.vcf.samples) == 1 else tp.vcf.name),
                     fmt_int(tp.vcf.reads["used"]) if "used" in tp.vcf.reads else '<span class="muted">?</span>',
                     fmt_int(called), fmt_int(len(tp.vcf.alleles) - called),
                     esc(os.path.basename(tp.annotation_path)) if tp.annotation_path else
                     '<span class="muted">none</span>'])
    body.append(table(["time point", "VCF", "sample", "reads used", "calls", "filtered", "annotation"], rows,
                      num=(3, 4, 5)))
    lines = [f"{tp.label}: {reads_line(tp.vcf.reads)}" for tp in points if tp.vcf.reads]
    if lines:
        body.append(f'<div class="lines">{esc(chr(10).join(lines))}</div>')

    # ---- over time
    body.append('<h2 id="over-time">Resistance mutations over time</h2>')
    if not named and tracks:
        body.append('<p class="small">No annotation or testing family names the resistance mutations: every '
                    "call is shown.</p>")
    if not plotted:
        body.append("<p>No allele is called at any time point.</p>")
    else:
        body.append(over_time_figure(points, plotted))
        body.append(track_table(plotted, labels))
    if others:
        body.append("<h3>Other calls</h3>")
        body.append(track_table(others, labels))

    # ---- bypass and ranking over time
    if docs:
        body.append('<h2 id="bypass">Off-target (bypass) changes</h2>')
        found: dict[str, dict[str, Any]] = {}
        where: dict[str, list[str]] = {}
        for tp in points:
            for b in (tp.annotation or {}).get("ranking", {}).get("bypass") or []:
                found.setdefault(b["mutation"], b)
                where.setdefault(b["mutation"], []).append(tp.label)
        if found:
            body.append(bypass_html(found.values(), {m: "found at " + ", ".join(ls) for m, ls in where.items()}))
        else:
            body.append("<p>None found at any annotated time point.</p>")
        body.append('<h2 id="ranking">Inhibitor ranking over time</h2>')
        rows = []
        for tp in points:
            if tp.annotation is None:
                continue
            groups = dict(ordered_groups(tp.annotation["ranking"]))
            stop = ('<br><span class="low">bypass change: switching to them alone is not expected to help</span>'
                    if blocking_findings(tp.annotation["ranking"]) else "")
            rows.append([f"<strong>{esc(tp.label)}</strong>"] + [
                (esc(", ".join(r["inhibitor"] for r in groups[g])) + (stop if g == ACTIVITY else ""))
                if groups.get(g) else '<span class="muted">-</span>' for g in GROUPS])
        body.append(table(["time point", *[GROUP_TITLES[g] for g in GROUPS]], rows, wide=True))
        body.append('<p class="small">Each time point\'s evidence, per clone and per drug, is on its own report '
                    "(deepamp report VCF --annotation JSON).</p>")
        ids = [s.get("source_id") for b in found.values() for s in b.get("statements") or [] if s.get("source_id")]
        body.append(sources_html({}, ids))
    return page(f"deepamp longitudinal report: {patient}", body)


def write_longitudinal(vcfs: Sequence[str], out: str, *, patient: str, labels: Sequence[str] | None = None,
                       annotations: Sequence[str] | None = None) -> None:
    """Write the longitudinal report of one patient's VCFs (in time order) to ``out``.

    Parameters
    ----------
    vcfs, labels, annotations : as :func:`load_timepoints`
    out : the HTML file (``-``: standard output)
    patient : the patient's name or identifier

    Raises
    ------
    OptionError, InputFileError, FormatError
        As :func:`load_timepoints`; an empty patient name.
    OutputError
        ``out`` cannot be written (nothing is left behind).
    """
    if not patient.strip():
        raise OptionError("--patient: the name is empty")
    points = load_timepoints(vcfs, labels=labels, annotations=annotations)
    output_text(out, render_longitudinal(patient, points))
