"""The cohort report: every sample of a run on one page, and one longitudinal page per patient.

``cohort.html`` (self-contained: inline CSS and SVG, no script) holds

* the samples: patient, time point, role, status (a failed sample with its error), calls, a link
  to each sample's own report;
* the sample x mutation matrix: the VAF of every allele called (FILTER PASS) in at least one
  tumour, in every tumour (filtered records greyed, emergence and loss flagged);
* recurrence: per allele, the samples and patients that carry it -- an allele called in many
  patients at low VAF more likely comes from the assay than from the patients;
* per patient: the VAF of the resistance mutations over the time points (plot and table, from
  :mod:`deepamp.report.longitudinal`), emergence and loss flagged, and a link to the patient's
  own longitudinal page.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from deepamp.io.outputs import output_text
from deepamp.models.copy_number import CopyNumberResult
from deepamp.report.inputs import Allele, Key, check_annotation_matches, read_annotation, read_call_vcf
from deepamp.report.longitudinal import (EMERGED, LOST, OTHER, TimePoint, Track, follow, load_timepoints,
                                         over_time_figure, render_longitudinal, track_table)
from deepamp.report.markup import badge, esc, fmt_int, fmt_pct, page, table
from deepamp.report.page import variant_name

__all__ = ["CohortSampleView", "PatientView", "patient_view", "render_cohort", "write_cohort_report",
           "write_patient_page", "RECURRENT_PATIENTS"]

#: An allele called in at least this many patients (and half of them) is flagged as recurrent.
RECURRENT_PATIENTS = 3


@dataclass(frozen=True)
class CohortSampleView:
    """One sample as the cohort page shows it.

    Attributes
    ----------
    sample, patient, timepoint, role : from the sample sheet
    status : ``called``, ``failed`` or ``control``
    error : a failed sample's one-line error
    report : link to the sample's own report, relative to the cohort page
    alleles : the sample's VCF alleles (called samples)
    annotation : annotation of the alleles, by allele
    """

    sample: str
    patient: str
    timepoint: str
    role: str
    status: str
    error: str | None = None
    report: str | None = None
    alleles: Mapping[Key, Allele] = field(default_factory=dict)
    annotation: Mapping[Key, dict[str, Any]] = field(default_factory=dict)


@dataclass
class PatientView:
    """One patient's called time points, followed (:func:`deepamp.report.longitudinal.follow`).

    Attributes
    ----------
    patient : the patient
    samples : the sample of each time point, in time order
    points : the time points (label = the sheet's time point)
    tracks : every allele called at one time point at least, over all of them
    page : link to the patient's page, relative to the cohort page
    """

    patient: str
    samples: list[str]
    points: list[TimePoint]
    tracks: list[Track]
    page: str | None = None

    def changes(self) -> list[tuple[str, str, str, str]]:
        """(sample, allele name, time point, ``emerged``/``lost``) of every followed allele."""
        return [(self.samples[i], t.name, self.points[i].label, ev) for t in self.tracks
                for i, ev in enumerate(t.events) if ev]

    def events(self) -> dict[tuple[str, Key], str]:
        """(sample, allele) -> ``emerged``/``lost``."""
        return {(self.samples[i], t.key): ev for t in self.tracks for i, ev in enumerate(t.events) if ev}


def patient_view(patient: str, entries: Sequence[tuple[str, str, str, str | None]], page_link: str | None = None
                 ) -> PatientView:
    """Read one patient's time points.

    Parameters
    ----------
    patient : the patient
    entries : per time point, in time order: (sample, label, final VCF, annotation JSON or None)
    page_link : link to the patient's page

    Raises
    ------
    OptionError, InputFileError, FormatError
        As :func:`deepamp.report.longitudinal.load_timepoints`.
    """
    samples = [e[0] for e in entries]
    labels = [e[1] for e in entries]
    vcfs = [e[2] for e in entries]
    anns = [e[3] for e in entries]
    with_ann = all(a is not None for a in anns)
    if len(entries) >= 2:
        points = load_timepoints(vcfs, labels=labels, annotations=[str(a) for a in anns] if with_ann else None)
    else:                           # one time point: nothing changes, but the page still shows it
        import datetime

        summary = read_call_vcf(vcfs[0])
        doc = None
        if anns[0] is not None:
            doc = read_annotation(anns[0])
            check_annotation_matches(doc, anns[0], summary)
        date = None
        try:
            date = datetime.date.fromisoformat(labels[0]) if len(labels[0]) == 10 else None
        except ValueError:
            pass
        points = [TimePoint(labels[0], summary, doc, anns[0], date)]
    return PatientView(patient, samples, points, follow(points), page_link)


def write_patient_page(view: PatientView, out: str) -> None:
    """Write the patient's longitudinal page (:func:`deepamp.report.longitudinal.render_longitudinal`)."""
    output_text(out, render_longitudinal(view.patient, view.points))


def _is_resistance(ann: Mapping[str, Any]) -> bool:
    return bool(ann.get("kb_records")) and ann.get("gene") in ("ALK", "ROS1")


def _names(samples: Sequence[CohortSampleView]) -> dict[Key, tuple[str, bool]]:
    """Allele -> (display name, resistance mutation) from the first annotation that names it."""
    out: dict[Key, tuple[str, bool]] = {}
    for s in samples:
        for key, a in s.alleles.items():
            ann = s.annotation.get(key)
            if key not in out or (ann and out[key][0] == a.label):
                out[key] = (variant_name(a, ann) if ann else a.label, bool(ann) and _is_resistance(ann or {}))
    return out


def _vaf(a: Allele) -> str:
    return esc(fmt_pct(a.af)) if a.af is not None else '<span class="muted">no AF</span>'


def _status(s: CohortSampleView) -> str:
    if s.status == "failed":
        return badge("failed", "fail")
    if s.status == "control":
        return badge("control", "flag")
    return badge("called", "pass")


def render_cohort(samples: Sequence[CohortSampleView], patients: Sequence[PatientView], *,
                  title: str = "deepamp cohort report", facts: Sequence[tuple[str, str]] = (),
                  copy_number: Mapping[str, CopyNumberResult] | None = None) -> str:
    """The cohort page as an HTML document (see the module docstring).

    Parameters
    ----------
    samples : every sample of the sheet, in the order to list them
    patients : the patients with at least one called time point
    title : the page title
    facts : (name, plain text) lines for the header (sheet, background, ...)
    copy_number : tumour -> its copy-number test (a section when given)

    Returns
    -------
    str: the HTML document.
    """
    tumours = [s for s in samples if s.role != "control"]
    called = [s for s in tumours if s.status == "called"]
    failed = [s for s in samples if s.status == "failed"]
    names = _names(called)
    events: dict[tuple[str, Key], str] = {}
    for p in patients:
        events.update(p.events())
    passing = {k for s in called for k, a in s.alleles.items() if a.called}
    matrix_keys = sorted(passing, key=lambda k: (not names[k][1], k[0], k[1], k[2], k[3]))

    body = [f"<h1>{esc(title)}</h1>",
            f'<p class="subtitle">{len(samples)} samples: {len(called)} tumour(s) called, {len(failed)} failed, '
            f"{sum(s.role == 'control' for s in samples)} control(s); {len(patients)} patient(s)</p>",
            '<nav><a href="#samples">Samples</a><a href="#matrix">Mutations by sample</a>'
            '<a href="#recurrence">Recurrence</a>' + ('<a href="#copy-number">Copy number</a>' if copy_number else "")
            + '<a href="#patients">Patients</a></nav>']
    fact_items = list(facts) + [("Failed", ", ".join(s.sample for s in failed) or "none")]
    body.append('<dl class="facts">' + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in fact_items)
                + "</dl>")

    # ---- samples
    body.append('<h2 id="samples">Samples</h2>')
    rows = []
    for s in samples:
        n_pass = sum(a.called for a in s.alleles.values())
        what = (esc(s.error) if s.status == "failed" else
                '<span class="muted">learned the background; not called</span>' if s.status == "control" else
                f"{fmt_int(n_pass)} call(s), {fmt_int(len(s.alleles) - n_pass)} filtered")
        link = f'<a href="{esc(s.report)}">report</a>' if s.report else ""
        rows.append([f"<strong>{esc(s.sample)}</strong>", esc(s.patient), esc(s.timepoint), esc(s.role),
                     _status(s), what, link])
    body.append(table(["sample", "patient", "time point", "role", "status", "calls", "report"], rows, wide=True,
                      row_classes=["filtered" if s.status == "control" else "" for s in samples]))

    # ---- matrix
    body.append('<h2 id="matrix">Mutations by sample</h2>')
    if not matrix_keys:
        body.append("<p>No allele is called (FILTER PASS) in any tumour.</p>")
    else:
        body.append('<p class="small">VAF of every allele called (FILTER PASS) in at least one tumour; greyed: in '
                    "the VCF but filtered; &ndash;: no record (below detection, or not covered). Resistance "
                    "mutations of the knowledge base first.</p>")
        rows = []
        for s in tumours:
            cells = [f"<strong>{esc(s.sample)}</strong>", esc(s.patient), esc(s.timepoint)]
            for k in matrix_keys:
                if s.status != "called":
                    cells.append('<span class="muted">failed</span>')
                    continue
                a = s.alleles.get(k)
                ev = events.get((s.sample, k))
                flag = badge(ev, "new" if ev == EMERGED else "lost") + " " if ev else ""
                if a is None:
                    cells.append(flag + '<span class="muted">&ndash;</span>')
                elif a.called:
                    cells.append(flag + f"<strong>{_vaf(a)}</strong>")
                else:
                    cells.append(flag + f'<span class="muted">{_vaf(a)} ({esc(a.filter)})</span>')
            rows.append(cells)
        head = ["sample", "patient", "time point"] + [names[k][0] for k in matrix_keys]
        body.append(table(head, rows, wide=True))
        body.append('<p class="small">Columns: ' + esc("; ".join(
            f"{names[k][0]} = {k[0]}:{k[1]} {k[2]}>{k[3]}" for k in matrix_keys if names[k][0] != f"{k[0]}:{k[1]} "
            f"{k[2]}>{k[3]}")) + "</p>")

    # ---- recurrence
    body.append('<h2 id="recurrence">Recurrence</h2>')
    n_patients = len({s.patient for s in called})
    rec_rows = []
    keys = {k for s in called for k in s.alleles}
    for k in sorted(keys, key=lambda k: (k[0], k[1], k[2], k[3])):
        carriers = [s for s in called if k in s.alleles]
        passing_s = [s for s in carriers if s.alleles[k].called]
        if len(carriers) < 2 and not passing_s:
            continue
        patients_pass = {s.patient for s in passing_s}
        vafs = [s.alleles[k].af for s in passing_s if s.alleles[k].af is not None]
        flag = ""
        if len(patients_pass) >= RECURRENT_PATIENTS and 2 * len(patients_pass) >= n_patients:
            flag = badge("recurrent", "fail") + " "
        rec_rows.append([flag + f"<strong>{esc(names[k][0])}</strong>"
                         + (f'<br><span class="small">{esc(f"{k[0]}:{k[1]} {k[2]}>{k[3]}")}</span>'
                            if names[k][0] != f"{k[0]}:{k[1]} {k[2]}>{k[3]}" else ""),
                         fmt_int(len(carriers)), fmt_int(len(passing_s)), fmt_int(len(patients_pass)),
                         esc(fmt_pct(statistics.median(vafs))) if vafs else "",
                         esc(", ".join(s.sample for s in passing_s)) or '<span class="muted">none</span>'])
    if rec_rows:
        body.append(f'<p class="small">Alleles in two samples or more, or called in one. '
                    f'{badge("recurrent", "fail")}: called in {RECURRENT_PATIENTS} patients or more and in half '
                    "of them at least: a systematic error of the assay is more likely than a mutation.</p>")
        body.append(table(["allele", "samples (any filter)", "samples (PASS)", "patients (PASS)", "median VAF (PASS)",
                           "called in"], rec_rows, num=(1, 2, 3, 4), wide=True))
    else:
        body.append("<p>No allele is found in two samples or called in one.</p>")

    if copy_number:
        body.extend(_copy_number_section(copy_number))

    # ---- patients
    body.append('<h2 id="patients">Patients</h2>')
    if not patients:
        body.append("<p>No patient has a called time point.</p>")
    for p in patients:
        labels = [tp.label for tp in p.points]
        link = f' <a class="small" href="{esc(p.page)}">patient page</a>' if p.page else ""
        body.append(f"<h3>{esc(p.patient)}{link}</h3>")
        named = [t for t in p.tracks if t.kind != OTHER]
        plotted = named or p.tracks
        emerged = [f"{t.name} at {labels[i]}" for t in plotted for i, e in enumerate(t.events) if e == EMERGED]
        lost = [f"{t.name} at {labels[i]}" for t in plotted for i, e in enumerate(t.events) if e == LOST]
        body.append(f'<p>Time points: {esc(", ".join(f"{tp.label} ({s})" for tp, s in zip(p.points, p.samples)))}'
                    f"<br>Emerged: {esc('; '.join(emerged)) or 'none'}<br>Lost: {esc('; '.join(lost)) or 'none'}</p>")
        if not plotted:
            body.append('<p class="small">No allele is called at any time point.</p>')
            continue
        body.append(over_time_figure(p.points, plotted))
        body.append(track_table(plotted, labels))
    return page(title, body)


def _copy_number_section(results: Mapping[str, CopyNumberResult]) -> list[str]:
    """Copy number: every gain or loss called, and the tumours without one."""
    first = next(iter(results.values()))
    out = ['<h2 id="copy-number">Copy number</h2>',
           f'<p class="small">Each amplicon\'s depth share against {len(first.controls)} controls (single-case '
           f"t test, Crawford and Howell 1998; Holm-adjusted per tumour, called at p &lt; {first.options.alpha:g}); "
           f"ratio with its {first.options.confidence * 100:g}% interval. Tumour fraction dilutes a change: "
           "20 copies of ALK at 5% tumour fraction is 1.45 times the depth. Every amplicon: copy_number.tsv.</p>"]
    rows = [[f"<strong>{esc(sample)}</strong>", esc(r.amplicon), badge(r.call, "flag" if r.call == "gain" else "lost"),
             f"{r.ratio:.2f} ({r.ratio_interval[0]:.2f}&ndash;{r.ratio_interval[1]:.2f})", f"{r.padj:.2g}"]
            for sample, res in results.items() for r in res.calls]
    if rows:
        out.append(table(["tumour", "amplicon", "call", "depth ratio (interval)", "adjusted p"], rows, wide=True))
    quiet = [s for s, res in results.items() if not res.calls]
    if quiet:
        out.append(f"<p>No gain or loss: {esc(', '.join(quiet))}.</p>")
    return out


def write_cohort_report(out: str, samples: Sequence[CohortSampleView], patients: Sequence[PatientView], *,
                        title: str = "deepamp cohort report", facts: Sequence[tuple[str, str]] = (),
                        copy_number: Mapping[str, CopyNumberResult] | None = None) -> None:
    """Write :func:`render_cohort`'s page to ``out``, complete or not at all."""
    output_text(out, render_cohort(samples, patients, title=title, facts=facts, copy_number=copy_number))
