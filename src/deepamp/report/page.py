"""The single-sample report page: QC, variants, resistance, background, what could not be assessed, run details.

:func:`load_sample` reads and cross-checks the inputs of one sample,
:func:`render_sample` turns them into one HTML document and
:func:`write_report` does both and writes the file (complete or not at all).

Sections, in order: at a glance (sample, coverage verdict, calls, resistance
mutations, bypass alert, drugs with evidence of activity); quality control
(reads / bases / sites lines, coverage per amplicon against the minimum
coverage, depth plot); variants (table, then VAF with its 95% interval against
the site's background rate and limit of detection, and strand counts);
resistance (bypass findings, inhibitor ranking by group, sources); background
from the healthy controls (when given); not assessable; run details.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from deepamp._version import __version__
from deepamp.annotate.ranking import ACTIVITY, DISCLAIMER
from deepamp.errors import OptionError
from deepamp.io.outputs import output_text
from deepamp.report.inputs import (Allele, Key, VcfSummary, annotation_key, check_annotation_matches,
                                   read_annotation, read_call_vcf)
from deepamp.report.markup import badge, esc, fmt_int, fmt_pct, fmt_rate, keep, nw, page, table
from deepamp.report.panel import PanelData, load_panel
from deepamp.report.plots import BackgroundPanel, VariantMarks, background_figure, depth_figure, variant_figure
from deepamp.report.qc import DEFAULT_MIN_COV, amplicon_coverage, bases_line, reads_line, sites_line
from deepamp.report.resistance import blocking_findings, bypass_html, ranking_html, sources_html

__all__ = ["SampleInputs", "load_sample", "render_sample", "write_report", "sample_name", "variant_name"]

_BASES = "ACGT"


@dataclass
class SampleInputs:
    """Everything one sample's page shows, read and checked.

    Attributes
    ----------
    vcf : the VCF's provenance, QC lines and alleles
    annotation, annotation_path : the ``deepamp annotate`` JSON and its file
    panel : count table, amplicons, background and per-site LOD
    min_cov : minimum coverage
    """

    vcf: VcfSummary
    annotation: dict[str, Any]
    annotation_path: str
    panel: PanelData
    min_cov: int = DEFAULT_MIN_COV

    @property
    def keyed(self) -> dict[Key, dict[str, Any]]:
        """Annotation variants keyed by (contig, position, REF, ALT)."""
        return {annotation_key(v): v for v in self.annotation["variants"]}


def load_sample(vcf: str, annotation: str, *, counts: str | None = None, bed: str | None = None,
                background: str | None = None, min_cov: int = DEFAULT_MIN_COV) -> SampleInputs:
    """Read and cross-check the inputs of one sample's report.

    Parameters
    ----------
    vcf : VCF from ``deepamp call`` (possibly through ``phase`` / ``concordance``)
    annotation : JSON from ``deepamp annotate`` of that VCF
    counts : count table ``.npz`` of the same BAM (``deepamp count -o``), for the depth plot
    bed : amplicons (BED) of the count table
    background : background file (``deepamp background``)
    min_cov : minimum coverage

    Returns
    -------
    SampleInputs

    Raises
    ------
    OptionError
        A negative minimum coverage, or a BED without a count table.
    InputFileError, FormatError, ReferenceFileError
        A missing or malformed input, an annotation of another VCF, a count table of another
        panel or BAM, a background of another panel or reference.
    """
    if min_cov < 0:
        raise OptionError(f"--min-cov must be >= 0, not {min_cov}")
    summary = read_call_vcf(vcf)
    doc = read_annotation(annotation)
    check_annotation_matches(doc, annotation, summary)
    panel = load_panel(counts=counts, bed=bed, background=background, vcf=summary)
    return SampleInputs(summary, doc, annotation, panel, min_cov)


def sample_name(vcf: VcfSummary, panel: PanelData | None = None) -> tuple[str, str]:
    """The sample's name and where it comes from.

    The read-group ``SM`` recorded in the count table, else the VCF's only
    sample column, else the VCF's file name.
    """
    sm = panel.counts.sample if panel is not None and panel.counts is not None else None
    if sm:
        return str(sm), "read-group SM of the count table"
    if len(vcf.samples) == 1:
        return vcf.samples[0], "sample column of the VCF"
    return vcf.name, "VCF file name"


def variant_name(allele: Allele, ann: dict[str, Any]) -> str:
    """``ALK p.G1202R`` (one molecule: the combined change), else ``GENE c.`` or the position."""
    gene = ann.get("gene")
    p1 = ann.get("combined_hgvsp1") or ann.get("hgvsp1")
    if gene and p1 and p1 != "p.?":
        return f"{gene} {p1}"
    if gene and ann.get("hgvsc"):
        return f"{gene} {str(ann['hgvsc']).split(':')[-1]}"
    return allele.label


def _site_background(inputs: SampleInputs, a: Allele) -> float | None:
    """INFO BGRATE, else the background file's rate of this substitution at the site (mean of strands)."""
    if a.bgrate is not None:
        return a.bgrate
    bg = inputs.panel.background
    if bg is None or len(a.ref) != 1 or len(a.alt) != 1 or a.alt.upper() not in _BASES:
        return None
    i = inputs.panel.background_row(a.chrom, a.pos)
    if i is None:
        return None
    return float(bg.rate[i, _BASES.index(a.alt.upper()), :].mean())


def _vaf_cell(a: Allele, ann: dict[str, Any], background: float | None, lod: float | None) -> str:
    af = a.af if a.af is not None else ann.get("vaf")
    if af is None:
        return '<span class="muted">no AF</span>'
    text = f"<strong>{keep(fmt_pct(float(af)))}</strong>"
    ci = a.interval()
    if ci is not None:
        text += f' <span class="small keep">({esc(fmt_pct(ci[0]))}&ndash;{esc(fmt_pct(ci[1]))})</span>'
    extra = []
    if background is not None:
        extra.append(f"background {keep(fmt_rate(background))}")
    if lod is not None:
        extra.append(f"LOD {keep(fmt_pct(lod))}")
    return text + "".join(f'<br><span class="small">{x}</span>' for x in extra)


def _phase_fields(entry: str) -> tuple[str, str, dict[str, str]]:
    """``chr2:29220765G>T:trans:spanning=24861|alt_alt=0/123|lod=-191.4`` ->
    (partner, relation, {"spanning": "24861", "alt_alt": "0/123", "lod": "-191.4"})."""
    partner_rel, _, detail = entry.rpartition(":")
    partner, _, relation = partner_rel.rpartition(":")
    fields = dict(x.partition("=")[::2] for x in detail.split("|") if "=" in x)
    return partner, relation, fields


def _phase_entry(entry: str) -> tuple[str, str, str]:
    """(partner, relation, fragments spanning both) of an INFO PHASE entry."""
    partner, relation, fields = _phase_fields(entry)
    return partner, relation, fields.get("spanning", "")


def _phase_cell(a: Allele, ann: dict[str, Any], phased: bool, names: dict[str, str]) -> str:
    parts = []
    if a.ps is not None:
        parts.append(f"cis set {esc(a.ps)}")
    unspanned = []
    for entry in a.phase:
        partner, relation, fields = _phase_fields(entry)
        name = names.get(partner, partner)
        spanning = fields.get("spanning", "")
        if spanning == "0":                      # other amplicon, or beyond fragment reach: no evidence
            unspanned.append(name)
            continue
        k, _, n = fields.get("alt_alt", "").partition("/")
        detail = (f"{k} of {n} fragments with the rarer allele carry both; " if n else "") + \
            (f"{int(spanning):,} span both" if spanning.isdigit() else f"{spanning} span both")
        parts.append(f"{nw(relation)} with {nw(name)} <span class=\"small\">({esc(detail)})</span>")
    if unspanned:
        parts.append(f'<span class="muted">no fragment spans: {", ".join(esc(x) for x in unspanned)}</span>')
    if ann.get("phase"):
        parts.append(f"same codon: {esc(ann['phase'])}")
    if not parts:
        return "" if phased else '<span class="muted">not phased</span>'
    return "<br>".join(parts)


def _evidence_cell(a: Allele) -> str:
    if a.evidence is None:
        return ""
    kind = {"strong": "pass", "weak": "flag"}.get(a.evidence, "fail")
    src = f' <span class="small">{esc(a.evidence_sources.replace(",", ", "))}</span>' if a.evidence_sources else ""
    return badge(a.evidence, kind) + src


def _dp4_cell(a: Allele) -> str:
    if a.dp4 is None:
        return ""
    rf, rr, af, ar = a.dp4
    return (f'<span class="small keep">ref {fmt_int(rf)} / {fmt_int(rr)}</span><br>'
            f'<span class="small keep">alt {fmt_int(af)} / {fmt_int(ar)}</span>')


def _is_resistance(ann: dict[str, Any]) -> bool:
    return bool(ann.get("kb_records")) and ann.get("gene") in ("ALK", "ROS1")


def _subtitle(vcf: VcfSummary, doc: dict[str, Any], name_from: str) -> list[str]:
    date = vcf.file_date or ""
    if len(date) == 8 and date.isdigit():
        date = f"{date[:4]}-{date[4:6]}-{date[6:]}"
    out = [f"sample name from the {name_from}", f"VCF {os.path.basename(vcf.path)}"]
    if date:
        out.append(f"called {date}")
    if doc.get("genome"):
        out.append(f"genome {doc['genome']}")
    if doc.get("kb_version"):
        out.append(f"knowledge base {doc['kb_version']}")
    return out


def _facts(items: list[tuple[str, str]]) -> str:
    return '<dl class="facts">' + "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


@dataclass
class _View:
    """What every section of the page needs, computed once from the inputs."""

    inputs: SampleInputs

    def __post_init__(self) -> None:
        i = self.inputs
        self.vcf, self.doc, self.panel, self.min_cov = i.vcf, i.annotation, i.panel, i.min_cov
        self.keyed = i.keyed
        self.ranking: dict[str, Any] = self.doc["ranking"]
        self.disclaimer = str(self.doc.get("disclaimer") or self.ranking.get("disclaimer") or DISCLAIMER)
        self.name, self.name_from = sample_name(self.vcf, self.panel)
        self.coverages = amplicon_coverage(self.panel, self.min_cov)
        self.alleles = list(self.vcf.alleles.values())
        self.called = [a for a in self.alleles if a.called]
        self.backgrounds = {a.key: _site_background(i, a) for a in self.alleles}
        self.lods = {a.key: self.panel.lod_at(a.chrom, a.pos) for a in self.alleles}
        self.blocking = blocking_findings(self.ranking)
        self.bypass_all: list[dict[str, Any]] = self.ranking.get("bypass") or []


def _glance(v: _View) -> list[str]:
    """One line each: sample, coverage verdict, calls, resistance mutations, bypass alert, activity."""
    min_cov, keyed, ranking, alleles = v.min_cov, v.keyed, v.ranking, v.alleles
    called, bypass_all, blocking, coverages, name = v.called, v.bypass_all, v.blocking, v.coverages, v.name
    body: list[str] = []
    if coverages:
        n_pass = sum(c.passed for c in coverages)
        cov_text = (badge("pass", "pass") if n_pass == len(coverages) else badge("fail", "fail")) + \
            f" {n_pass} of {len(coverages)} amplicons have every position at {min_cov:,}x or more"
    else:
        cov_text = '<span class="muted">not assessed (no count table given)</span>'
    res_muts = [f"<strong>{esc(variant_name(a, keyed[a.key]))}</strong> {esc(fmt_pct(a.af))}"
                for a in called if a.key in keyed and _is_resistance(keyed[a.key])]
    if blocking:
        bypass_text = "; ".join(f"{badge('bypass', 'fail')} <strong>{esc(b.get('event') or b['mutation'])}</strong>: "
                                f"{esc(b['switching_alk_inhibitor_alone'])}" for b in blocking)
    elif bypass_all:
        bypass_text = "; ".join(f"<strong>{esc(b.get('event') or b['mutation'])}</strong>: "
                                f"{esc(b.get('switching_alk_inhibitor_alone'))}" for b in bypass_all)
    else:
        bypass_text = "none found"
    activity = [r["inhibitor"] for r in ranking.get("recommendations") or [] if r.get("group") == ACTIVITY]
    filtered = len(alleles) - len(called)
    body.append(_facts([
        ("Sample", esc(name)),
        ("Coverage", cov_text),
        ("Calls", f"{len(called)} called" + (f", {filtered} filtered" if filtered else "")),
        ("ALK/ROS1 resistance mutations", ", ".join(res_muts) or "none called"),
        ("Off-target (bypass) changes", bypass_text),
        ("Evidence of activity", esc(", ".join(activity)) + (
            ' <span class="low">(with the bypass change(s) above, switching to them alone is not expected to help)'
            "</span>" if blocking else "") if activity else
         '<span class="muted">no drug with evidence of activity against every clone</span>'),
    ]))
    return body


def _quality_control(v: _View) -> list[str]:
    """Reads/bases/sites lines, coverage per amplicon and the depth plot."""
    vcf, min_cov, keyed, called, coverages = v.vcf, v.min_cov, v.keyed, v.called, v.coverages
    body: list[str] = []
    body.append('<h2 id="qc">Quality control</h2>')
    lines = [t for t in (reads_line(vcf.reads), bases_line(vcf.bases), sites_line(vcf.sites)) if t]
    body.append(f'<div class="lines">{esc(chr(10).join(lines))}</div>' if lines else
                '<p class="muted">The VCF has no ##deepamp_reads / ##deepamp_bases lines (not written by '
                "deepamp call): reads and bases used are not known.</p>")
    if coverages:
        rows = []
        for c in coverages:
            verdict = badge("pass", "pass") if c.passed else badge("fail", "fail") + \
                f' <span class="small">{c.below:,} of {len(c.depth):,} positions below {min_cov:,}</span>'
            rows.append([esc(c.name), esc(f"{c.region.contig}:{c.region.start + 1:,}-{c.region.end:,}"),
                         fmt_int(len(c.depth)), fmt_int(c.minimum), fmt_int(c.median), fmt_int(c.mean),
                         esc(fmt_pct(1 - c.below / len(c.depth) if len(c.depth) else 0.0)), verdict])
        body.append(table(["amplicon", "region", "length", "min depth", "median", "mean",
                           f"positions >= {min_cov:,}", "coverage"], rows, num=(2, 3, 4, 5, 6)))
        marks = {(a.chrom, a.pos - 1): variant_name(a, keyed.get(a.key, {})) for a in called}
        body.append(f"<figure>{depth_figure(coverages, min_cov, marks)}<figcaption>Counted bases along each "
                    f"amplicon (both strands, overlapping mates once); dashed line: minimum coverage {min_cov:,}; "
                    "red: positions below it; triangles: calls.</figcaption></figure>")
    else:
        body.append('<p class="muted">Coverage per amplicon not assessed: give the count table of this BAM '
                    "(<code>deepamp count -o SAMPLE.npz</code>) with <code>--counts</code>.</p>")
    return body


def _variants(v: _View) -> list[str]:
    """The variant table and the VAF / background / LOD / strands figure."""
    vcf, min_cov, keyed, alleles, backgrounds, lods = v.vcf, v.min_cov, v.keyed, v.alleles, v.backgrounds, v.lods
    body: list[str] = []
    body.append('<h2 id="variants">Variants</h2>')
    if not alleles:
        body.append("<p>No variant in the VCF.</p>")
    else:
        head = ["variant", "gene", "HGVS p.", "HGVS c.", "consequence", "VAF (95% CI)", "depth", "strands (DP4)",
                "filter"]
        widths = ["9.5%", "5%", "9%", "10%", "8.5%", "10.5%", "5.5%", "10.5%", "6.5%"]
        if vcf.concordance:
            head.append("evidence")
            widths.append("7.5%")
        head += ["phase", "KB records"]
        widths += ["10.5%", "7%"] if vcf.concordance else ["14.5%", "10.5%"]
        names = {f"{a.chrom}:{a.pos}{a.ref.upper()}>{a.alt.upper()}": variant_name(a, keyed.get(a.key, {}))
                 for a in alleles}
        rows, classes = [], []
        for a in alleles:
            ann = keyed.get(a.key, {})
            p1 = ann.get("hgvsp1") or ""
            p_cell = f"<strong>{nw(p1)}</strong>" if p1 else ""
            if ann.get("hgvsp") and ann.get("hgvsp") != p1:
                p_cell += f'<br><span class="small">{nw(ann["hgvsp"])}</span>'
            if ann.get("combined_hgvsp1"):
                p_cell += f'<br><span class="small">one molecule: {nw(ann["combined_hgvsp1"])}</span>'
            gene = nw(ann.get("gene") or "-")
            if ann.get("bypass"):
                gene += '<br><span class="small">off-target</span>'
            depth = fmt_int(a.depth) if a.depth is not None else ""
            if a.depth is not None and a.depth < min_cov:
                depth = f'<span class="low" title="below the minimum coverage {min_cov:,}">{depth}</span>'
            hgvsc = str(ann.get("hgvsc") or "")
            acc, colon, cname = hgvsc.rpartition(":")
            row = [f"{nw(a.chrom + ':' + str(a.pos))}<br>{nw(a.ref + '>' + a.alt)}", gene, p_cell,
                   f'<span class="small">{nw(acc + colon)}</span><br>{nw(cname)}' if colon else esc(hgvsc),
                   esc(ann.get("consequence")).replace("_", "_<wbr>"),
                   _vaf_cell(a, ann, backgrounds[a.key], lods[a.key]), depth, _dp4_cell(a),
                   (esc(a.filter.replace(";", "; ")) if a.called else badge(a.filter, "flag"))
                   + (f'<br><span class="small">{esc(a.family)} family</span>' if a.family else "")]
            if vcf.concordance:
                row.append(_evidence_cell(a))
            row += [_phase_cell(a, ann, vcf.phased, names), esc(", ".join(ann.get("kb_records") or []))]
            rows.append(row)
            classes.append("" if a.called else "filtered")
        body.append(table(head, rows, num=(6,), widths=widths, row_classes=classes))
        marks_rows = []
        for a in alleles:
            af = a.af if a.af is not None else keyed.get(a.key, {}).get("vaf")
            if af is None or not math.isfinite(float(af)) or float(af) <= 0:
                continue
            ci = a.interval()
            marks_rows.append(VariantMarks(variant_name(a, keyed.get(a.key, {})), a.label, float(af),
                                           ci[0] if ci else None, ci[1] if ci else None, a.called,
                                           backgrounds[a.key], lods[a.key], a.dp4))
        if marks_rows:
            lod_note = "dashed purple: the site's limit of detection; " if any(r.lod for r in marks_rows) else ""
            bg_note = ("diamond: the site's background rate of this change (controls); "
                       if any(r.background is not None for r in marks_rows) else "")
            body.append(f"<figure>{variant_figure(marks_rows)}<figcaption>VAF of each variant with its 95% Wilson "
                        f"interval (alt / DP); {bg_note}{lod_note}bars: forward and reverse reads of the "
                        "reference and the alt allele (DP4).</figcaption></figure>")
    return body


def _resistance(v: _View) -> list[str]:
    """Bypass findings, the inhibitor ranking by group, the sources."""
    doc, keyed, ranking = v.doc, v.keyed, v.ranking
    alleles, bypass_all, blocking, disclaimer = v.alleles, v.bypass_all, v.blocking, v.disclaimer
    body: list[str] = []
    body.append('<h2 id="resistance">Resistance</h2>')
    body.append(f'<p class="disclaimer">{esc(disclaimer)}</p>')
    found_at = {}
    for a in alleles:
        ann = keyed.get(a.key, {})
        if ann.get("bypass") and ann.get("gene") and ann.get("protein_change"):
            found_at[f"{ann['gene']}:{ann['protein_change']}"] = f"{a.label}, VAF {fmt_pct(a.af)}"
    if bypass_all:
        body.append("<h3>Off-target (bypass) changes</h3>")
        if blocking:
            body.append("<p><strong>Switching ALK inhibitor alone is not expected to help</strong> for the "
                        "change(s) marked in red below, as the cited papers report.</p>")
        body.append(bypass_html(bypass_all, found_at))
    rank_html, cited = ranking_html(ranking)
    body.append("<h3>Inhibitor ranking</h3>" + rank_html)
    extra_ids = [sid for v in doc["variants"] for sid in v.get("kb_sources") or []]
    extra_ids += [s.get("source_id") for b in bypass_all for s in b.get("statements") or [] if s.get("source_id")]
    body.append(sources_html(cited, extra_ids))
    return body


def _background(v: _View) -> list[str]:
    """The controls' summary and per-site background along every amplicon (if given)."""
    panel, keyed, called = v.panel, v.keyed, v.called
    body: list[str] = []
    if panel.background is not None:
        bg = panel.background
        body.append('<h2 id="background">Background from healthy controls</h2>')
        body.append(f'<div class="lines">{esc(chr(10).join(bg.summary_lines()[:12]))}</div>')
        panels = []
        for region in panel.amplicons:
            pos, rows_bg = panel.background_rows(region)
            rate = bg.rate[rows_bg].mean(axis=2).max(axis=1) if len(rows_bg) else bg.rate[:0, 0, 0]
            calls = [(a.pos - 1, float(a.af), variant_name(a, keyed.get(a.key, {}))) for a in called
                     if a.af and a.chrom == region.contig and region.start <= a.pos - 1 < region.end]
            panels.append(BackgroundPanel(region, pos, rate, calls))
        body.append(f"<figure>{background_figure(panels)}<figcaption>Per site, the highest of the three "
                    "substitution rates learned from the controls (mean of both strands), log scale; red "
                    "diamonds: VAF of this sample's calls.</figcaption></figure>")
    return body


def _not_assessable(v: _View) -> list[str]:
    """What the inputs leave open: unannotated alleles, undetermined phase, drugs without data."""
    min_cov, keyed, ranking, alleles = v.min_cov, v.keyed, v.ranking, v.alleles
    body: list[str] = []
    body.append('<h2 id="not-assessable">Not assessable</h2>')
    items = []
    for key, ann in keyed.items():
        label = f"{key[0]}:{key[1]} {key[2]}>{key[3]}"
        if not ann.get("gene"):
            items.append(f"{label}: outside every modelled transcript ({ann.get('consequence')})")
        elif ann.get("hgvsp") == "p.?":
            items.append(f"{label}: protein change not computed")
        for text in list(ann.get("warnings") or []) + list(ann.get("notes") or []):
            items.append(f"{label}: {text}")
    names = {f"{a.chrom}:{a.pos}{a.ref.upper()}>{a.alt.upper()}": variant_name(a, keyed.get(a.key, {}))
             for a in alleles}
    pairs: dict[frozenset[str], str] = {}
    for a in alleles:
        if a.key not in keyed:
            items.append(f"{a.label}: not annotated (symbolic allele)")
        if a.called and a.depth is not None and a.depth < min_cov:
            items.append(f"{a.label}: depth {a.depth:,} is below the minimum coverage {min_cov:,}")
        me = f"{a.chrom}:{a.pos}{a.ref.upper()}>{a.alt.upper()}"
        for entry in a.phase:
            partner, relation, spanning = _phase_entry(entry)
            if relation == "undetermined":
                pairs.setdefault(frozenset((me, partner)), spanning)
    for pair, spanning in pairs.items():
        a_name, b_name = sorted(names.get(x, x) for x in pair)
        why = "no fragment spans both" if spanning == "0" else f"{spanning} fragments span both"
        items.append(f"phase of {a_name} and {b_name} undetermined ({why})")
    no_evidence: dict[str, list[str]] = {}
    for r in ranking.get("recommendations") or []:
        for c in r.get("clones") or []:
            if c.get("call") == "insufficient evidence":
                no_evidence.setdefault(str(c.get("clone")), []).append(str(r.get("inhibitor")))
    for clone, drugs in no_evidence.items():
        items.append(f"{clone}: no evidence in the knowledge base for {', '.join(drugs)}")
    body.append("<ul>" + "".join(f"<li>{esc(t)}</li>" for t in dict.fromkeys(items)) + "</ul>"
                if items else "<p>Everything in the inputs could be assessed.</p>")
    return body


def _run_details(v: _View) -> list[str]:
    """Inputs, command line, versions and multiple testing."""
    vcf, doc, panel = v.vcf, v.doc, v.panel
    min_cov, name, name_from = v.min_cov, v.name, v.name_from
    body: list[str] = []
    body.append('<h2 id="run">Run details</h2>')
    muted = '<span class="muted">not recorded</span>'
    rows = [["sample", f"{esc(name)} <span class=\"small\">({esc(name_from)})</span>"],
            ["VCF", esc(vcf.path)], ["annotation", esc(v.inputs.annotation_path)],
            ["count table", esc(panel.counts_path) if panel.counts_path else '<span class="muted">not given</span>'],
            ["amplicons", esc(panel.bed_path) if panel.bed_path else
             ('<span class="muted">the count table\'s regions</span>' if panel.counts is not None else
              '<span class="muted">not given</span>')],
            ["background", esc(panel.background.path) if panel.background is not None else
             (esc(vcf.background) + ' <span class="small">(used by the caller; not given to the report)</span>'
              if vcf.background else '<span class="muted">not used</span>')],
            ["minimum coverage", fmt_int(min_cov)],
            ["command", f'<span class="mono">{esc(vcf.command)}</span>' if vcf.command else muted],
            ["caller version", esc(vcf.source) or muted], ["report", esc(f"deepamp {__version__}")],
            ["genome", esc(doc.get("genome")) or muted], ["knowledge base", esc(doc.get("kb_version")) or muted],
            ["phased", "yes (deepamp phase)" if vcf.phased else "no"],
            ["two-aligner evidence", "yes (deepamp concordance)" if vcf.concordance else "no"]]
    rows += [["multiple testing", esc(t)] for t in vcf.tests]
    if panel.lod is not None:
        rows.append(["limit of detection", "per site, from the count table"])
    body.append(table(["item", "value"], rows, nowrap=(0,)))
    return body


def render_sample(inputs: SampleInputs) -> str:
    """One sample's report as an HTML document.

    Parameters
    ----------
    inputs : the checked inputs (:func:`load_sample`)

    Returns
    -------
    str: the HTML document (inline CSS and SVG; no script, no external resource).
    """
    v = _View(inputs)
    body = [f"<h1>deepamp report: {esc(v.name)}</h1>",
            f'<p class="subtitle">{" &middot; ".join(esc(x) for x in _subtitle(v.vcf, v.doc, v.name_from))}</p>',
            '<nav><a href="#qc">Quality control</a><a href="#variants">Variants</a>'
            '<a href="#resistance">Resistance</a>'
            + ('<a href="#background">Background</a>' if v.panel.background is not None else "")
            + '<a href="#not-assessable">Not assessable</a><a href="#run">Run details</a></nav>',
            f'<p class="disclaimer">{esc(v.disclaimer)}</p>']
    for section in (_glance, _quality_control, _variants, _resistance, _background, _not_assessable, _run_details):
        body += section(v)
    return page(f"deepamp report: {v.name}", body)


def write_report(vcf: str, annotation: str, out: str, *, counts: str | None = None, bed: str | None = None,
                 background: str | None = None, min_cov: int = DEFAULT_MIN_COV) -> None:
    """Write one sample's report (see :func:`load_sample` for the inputs) to ``out``.

    Parameters
    ----------
    vcf, annotation, counts, bed, background, min_cov : as :func:`load_sample`
    out : the HTML file (``-``: standard output)

    Raises
    ------
    OptionError, InputFileError, FormatError, ReferenceFileError
        As :func:`load_sample`.
    OutputError
        ``out`` cannot be written (nothing is left behind).
    """
    inputs = load_sample(vcf, annotation, counts=counts, bed=bed, background=background, min_cov=min_cov)
    output_text(out, render_sample(inputs))
