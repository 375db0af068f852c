"""The report's figures as inline SVG: depth per amplicon, VAF against background and LOD with strands,
the controls' per-site background, and VAF over time points.

Each function takes plain numbers (no file, no VCF record) and returns one
``<svg>`` element; the pages put it in a ``<figure>`` with a caption.  All
figures are 1180 px wide (the page's content width) and scale down with it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from deepamp.io.regions import Region
from deepamp.report.markup import fmt_int, fmt_pct, fmt_rate
from deepamp.report.qc import AmpliconCoverage
from deepamp.report.svg import (GRID, INK, MUTED, PALETTE, Linear, Log10, Svg, decade_range, decade_ticks,
                                depth_label, exp_label, nice_ticks, pct_label)

__all__ = ["WIDTH", "VariantMarks", "BackgroundPanel", "TimelineSeries", "depth_figure", "variant_figure",
           "background_figure", "timeline_figure"]

WIDTH = 1180
FAIL = "#b3261e"
PASS = "#1e7b34"
ACCENT = "#1f5fa8"
BG_FILL = "#E69F00"
BG_STROKE = "#8a5a00"
LOD_COLOUR = "#7b3fa0"
_MAX_STEPS = 600


# ---------------------------------------------------------------- shared layout

def _grid(n: int, height: float) -> tuple[int, float, float]:
    """Columns, panel width and total height of ``n`` small panels of ``height``."""
    cols = 1 if n <= 1 else 2
    gap = 28.0
    width = (WIDTH - gap * (cols - 1)) / cols
    rows = max(1, math.ceil(n / cols))
    return cols, width, rows * height


def _steps(pos: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(starts, ends, values) of at most _MAX_STEPS steps: long regions are binned by their minimum."""
    if len(pos) <= _MAX_STEPS:
        return pos.astype(float) - 0.5, pos.astype(float) + 0.5, values.astype(float)
    k = math.ceil(len(pos) / _MAX_STEPS)
    idx = np.arange(0, len(pos), k)
    starts = pos[idx].astype(float) - 0.5
    ends = np.append(pos[idx[1:] - 1], pos[-1]).astype(float) + 0.5
    mins = np.minimum.reduceat(values.astype(float), idx)
    return starts, ends, mins


def _step_points(sx: Linear, sy: Linear | Log10, starts: np.ndarray, ends: np.ndarray, values: np.ndarray
                 ) -> list[tuple[float, float]]:
    pts = []
    for a, b, v in zip(starts.tolist(), ends.tolist(), values.tolist()):
        y = sy(v)
        pts += [(sx(a), y), (sx(b), y)]
    return pts


def _x_ticks(svg: Svg, sx: Linear, region: Region, y: float) -> None:
    """Coordinate ticks (1-based) whose labels fit inside the panel."""
    for t in nice_ticks(region.start + 1, region.end, 4):
        if region.start + 1 <= t <= region.end and sx.a + 28 <= sx(t - 1) <= sx.b - 28:
            x = sx(t - 1)
            svg.line(x, y, x, y + 4, stroke=MUTED)
            svg.text(x, y + 15, f"{int(t):,}", size=10, anchor="middle", fill=MUTED)


# ---------------------------------------------------------------- depth along every amplicon

def depth_figure(coverages: Sequence[AmpliconCoverage], min_cov: int,
                 marks: dict[tuple[str, int], str] | None = None) -> str:
    """Depth along every amplicon with the minimum-coverage line (one small panel per amplicon).

    Parameters
    ----------
    coverages : depth per amplicon
    min_cov : minimum coverage (dashed red line; positions below it shaded red)
    marks : (contig, 0-based position) -> label of a variant to mark above the plot

    Returns
    -------
    str: the ``<svg>`` element.
    """
    marks = marks or {}
    panel_h = 190.0
    cols, pw, height = _grid(len(coverages), panel_h)
    top_max = max([min_cov * 1.15] + [float(c.depth.max()) * 1.08 for c in coverages if len(c.depth)] + [1.0])
    ticks = [t for t in nice_ticks(0, top_max, 4) if t <= top_max]
    svg = Svg(WIDTH, height, f"Depth along each amplicon; minimum coverage {min_cov:,}")
    for n, cov in enumerate(coverages):
        ox = (n % cols) * (pw + 28)
        oy = (n // cols) * panel_h
        x0, x1, y0, y1 = ox + 46, ox + pw - 8, oy + 150, oy + 44
        sx = Linear(cov.region.start - 0.5, cov.region.end - 0.5, x0, x1)
        sy = Linear(0, top_max, y0, y1)
        verdict = "pass" if cov.passed else f"fail: {cov.below:,} of {len(cov.depth):,} positions below {min_cov:,}"
        svg.text(ox, oy + 14, cov.name, size=12, weight="600")
        svg.text(ox + pw - 8, oy + 14, verdict, size=11, anchor="end", fill=PASS if cov.passed else FAIL,
                 weight="600")
        svg.text(ox, oy + 29, f"{cov.region.contig}:{cov.region.start + 1:,}-{cov.region.end:,}   min {cov.minimum:,}"
                 f"   median {cov.median:,.0f}", size=10, fill=MUTED)
        for t in ticks:
            svg.line(x0, sy(t), x1, sy(t), stroke=GRID)
            svg.text(x0 - 5, sy(t) + 3.5, depth_label(t), size=10, anchor="end", fill=MUTED)
        if len(cov.depth):
            starts, ends, vals = _steps(cov.pos, cov.depth)
            pts = _step_points(sx, sy, starts, ends, vals)
            svg.polygon([(pts[0][0], y0), *pts, (pts[-1][0], y0)], fill="#cfe0f3")
            low = vals < min_cov
            i = 0
            while i < len(vals):
                if not low[i]:
                    i += 1
                    continue
                j = i
                while j < len(vals) and low[j]:
                    j += 1
                seg = _step_points(sx, sy, starts[i:j], ends[i:j], vals[i:j])
                svg.polygon([(seg[0][0], y0), *seg, (seg[-1][0], y0)], fill="#f2b8b5",
                            title=f"{int(starts[i] + 1.5):,}-{int(ends[j - 1] + 0.5):,}: below {min_cov:,}")
                i = j
            svg.polyline(pts, stroke=ACCENT, width=1.2)
        svg.line(x0, sy(min_cov), x1, sy(min_cov), stroke=FAIL, width=1.2, dash="5 3",
                 title=f"minimum coverage {min_cov:,}")
        svg.text(x1 - 2, sy(min_cov) - 4, f"min {min_cov:,}x", size=10, anchor="end", fill=FAIL)
        svg.line(x0, y0, x1, y0, stroke=MUTED)
        _x_ticks(svg, sx, cov.region, y0)
        for (contig, p), label in marks.items():
            if contig == cov.region.contig and cov.region.start <= p < cov.region.end:
                x = sx(p)
                svg.marker("down", x, y1 - 4, 4.5, fill=INK, title=label)
    return svg.render()


# ---------------------------------------------------------------- VAF, background, LOD and strands per variant

@dataclass(frozen=True)
class VariantMarks:
    """One variant's row of :func:`variant_figure`.

    Attributes
    ----------
    label, sublabel : e.g. ``ALK p.G1202R`` and ``chr2:29220747 C>T``
    vaf, low, high : VAF and its 95% interval (low/high None when the depth is unknown)
    called : PASS (filled marker) or filtered (hollow)
    background : the site's background rate of this allele (None: not known)
    lod : the site's limit of detection (None: not known; no marker)
    dp4 : ref-fwd, ref-rev, alt-fwd, alt-rev (None: not known)
    """

    label: str
    sublabel: str
    vaf: float
    low: float | None
    high: float | None
    called: bool
    background: float | None = None
    lod: float | None = None
    dp4: tuple[int, int, int, int] | None = None


def _fwd_share(f: int, r: int) -> str:
    return f"{100 * f / (f + r):.0f}% fwd" if f + r else "no reads"


def variant_figure(rows: Sequence[VariantMarks]) -> str:
    """Per variant: VAF with its 95% interval, background rate and LOD on a log axis; DP4 strand bars.

    Parameters
    ----------
    rows : one per variant, top to bottom

    Returns
    -------
    str: the ``<svg>`` element.
    """
    row_h, top = 36.0, 46.0
    height = top + row_h * len(rows) + 44
    values = [v for r in rows for v in (r.vaf, r.low, r.high, r.background, r.lod) if v]
    lo, hi = decade_range(values, floor=1e-7)
    x0, x1 = 232.0, 752.0
    bx, bw = 800.0, 180.0
    sx = Log10(lo, hi, x0, x1)
    svg = Svg(WIDTH, height, "VAF with 95% interval, background rate and limit of detection; strand counts")
    # legend
    lx = 0.0
    items: list[tuple[str, str]] = [("pass", "call (PASS)")]
    if any(not r.called for r in rows):
        items.append(("filtered", "filtered"))
    items.append(("ci", "95% interval"))
    if any(r.background is not None for r in rows):
        items.append(("bg", "background rate (controls)"))
    if any(r.lod is not None for r in rows):
        items.append(("lod", "limit of detection"))
    for kind, text in items:
        if kind == "pass":
            svg.circle(lx + 5, 13, 4.5, fill=ACCENT)
        elif kind == "filtered":
            svg.circle(lx + 5, 13, 4.5, fill="#fff", stroke=MUTED, width=1.5)
        elif kind == "ci":
            svg.line(lx, 13, lx + 12, 13, stroke=INK, width=1.5)
            svg.line(lx, 9, lx, 17, stroke=INK)
            svg.line(lx + 12, 9, lx + 12, 17, stroke=INK)
        elif kind == "bg":
            svg.marker("diamond", lx + 5, 13, 4, fill=BG_FILL, stroke=BG_STROKE)
        else:
            svg.line(lx + 5, 6, lx + 5, 20, stroke=LOD_COLOUR, width=2, dash="3 2")
        svg.text(lx + 17, 17, text, size=11)
        lx += 34 + 6.6 * len(text)
    svg.rect(bx, 8, 10, 10, fill="#8c96a3")
    svg.rect(bx + 10, 8, 10, 10, fill="#c9d0d8")
    svg.text(bx + 25, 17, "ref fwd | rev", size=11)
    svg.rect(bx + 108, 8, 10, 10, fill="#0072B2")
    svg.rect(bx + 118, 8, 10, 10, fill="#8fc1e3")
    svg.text(bx + 133, 17, "alt fwd | rev  (DP4)", size=11)
    svg.text(0, 40, "variant", size=11, weight="600", fill=MUTED)
    svg.text((x0 + x1) / 2, 40, "VAF (log scale)", size=11, weight="600", fill=MUTED, anchor="middle")
    svg.text(bx, 40, "strand counts", size=11, weight="600", fill=MUTED)
    bottom = top + row_h * len(rows)
    for i in range(len(rows)):
        if i % 2 == 0:
            svg.rect(0, top + i * row_h, WIDTH, row_h, fill="#f6f8fa")
    ticks = decade_ticks(lo, hi)
    minors = [m * t for t in ticks for m in (2, 5) if lo < m * t < hi] if len(ticks) <= 4 else []
    for t in ticks + minors:
        svg.line(sx(t), top, sx(t), bottom, stroke="#d5dae1" if t in ticks else GRID)
        svg.text(sx(t), bottom + 15, pct_label(t), size=10, anchor="middle", fill=MUTED)
    svg.line(x0, bottom, x1, bottom, stroke=MUTED)
    for i, r in enumerate(rows):
        yc = top + i * row_h + row_h / 2
        svg.text(0, yc - 2, r.label, size=12, weight="600", title=r.label)
        svg.text(0, yc + 12, r.sublabel, size=10, fill=MUTED)
        tip = f"VAF {fmt_pct(r.vaf)}"
        if r.low is not None and r.high is not None:
            tip += f" (95% interval {fmt_pct(r.low)}-{fmt_pct(r.high)})"
            a, b = sx(max(r.low, lo)), sx(r.high)
            svg.line(a, yc, b, yc, stroke=INK, width=1.5, title=tip)
            svg.line(a, yc - 5, a, yc + 5, stroke=INK)
            svg.line(b, yc - 5, b, yc + 5, stroke=INK)
        if r.lod is not None:
            svg.line(sx(r.lod), yc - 11, sx(r.lod), yc + 11, stroke=LOD_COLOUR, width=2, dash="3 2",
                     title=f"limit of detection {fmt_pct(r.lod)}")
        if r.background is not None:
            svg.marker("diamond", sx(r.background), yc, 4.5, fill=BG_FILL, stroke=BG_STROKE,
                       title=f"background rate {fmt_rate(r.background)}")
        if r.called:
            svg.circle(sx(r.vaf), yc, 5, fill=ACCENT, title=tip)
        else:
            svg.circle(sx(r.vaf), yc, 5, fill="#fff", stroke=MUTED, width=1.5, title=tip + " (filtered)")
        if r.dp4 is None:
            svg.text(bx, yc + 4, "DP4 not in the VCF", size=10, fill=MUTED)
            continue
        rf, rr, af, ar = r.dp4
        for (f, rv, y, dark, light, name) in ((rf, rr, yc - 10, "#8c96a3", "#c9d0d8", "ref"),
                                              (af, ar, yc + 2, "#0072B2", "#8fc1e3", "alt")):
            total = f + rv
            share = f / total if total else 0.0
            svg.rect(bx, y, bw * share, 8, fill=dark, title=f"{name} forward {f:,}")
            svg.rect(bx + bw * share, y, bw * (1 - share), 8, fill=light, title=f"{name} reverse {rv:,}")
            svg.text(bx + bw + 8, y + 8, f"{name} {fmt_int(f)} / {fmt_int(rv)}  ({_fwd_share(f, rv)})", size=10)
        svg.line(bx + bw / 2, yc - 12, bx + bw / 2, yc + 12, stroke="#fff", width=1)
    return svg.render()


# ---------------------------------------------------------------- background from the controls

@dataclass(frozen=True)
class BackgroundPanel:
    """One amplicon of :func:`background_figure`.

    Attributes
    ----------
    region : the amplicon
    pos : 0-based positions with a background
    rate : per position, the highest rate of the three substitutions (mean of the two strands)
    calls : (0-based position, VAF, label) of the sample's calls in the amplicon
    """

    region: Region
    pos: np.ndarray
    rate: np.ndarray
    calls: list[tuple[int, float, str]] = field(default_factory=list)


def background_figure(panels: Sequence[BackgroundPanel]) -> str:
    """The controls' background rate along every amplicon (log axis), with the sample's calls' VAFs.

    Parameters
    ----------
    panels : one per amplicon

    Returns
    -------
    str: the ``<svg>`` element.
    """
    panel_h = 190.0
    cols, pw, height = _grid(len(panels), panel_h)
    values = [float(v) for p in panels for v in p.rate.tolist() if v > 0] + [v for p in panels for _, v, _ in p.calls]
    lo, hi = decade_range(values, floor=1e-7)
    svg = Svg(WIDTH, height, "Background error rate per site from the healthy controls, with the VAF of each call")
    for n, p in enumerate(panels):
        ox = (n % cols) * (pw + 28)
        oy = (n // cols) * panel_h
        x0, x1, y0, y1 = ox + 46, ox + pw - 8, oy + 150, oy + 44
        sx = Linear(p.region.start - 0.5, p.region.end - 0.5, x0, x1)
        sy = Log10(lo, hi, y0, y1)
        svg.text(ox, oy + 14, p.region.name or str(p.region), size=12, weight="600")
        med = float(np.median(p.rate)) if len(p.rate) else 0.0
        svg.text(ox, oy + 29, f"{p.region.contig}:{p.region.start + 1:,}-{p.region.end:,}   median "
                 f"{fmt_rate(med)}   highest {fmt_rate(float(p.rate.max()) if len(p.rate) else 0.0)}",
                 size=10, fill=MUTED)
        for t in decade_ticks(lo, hi):
            svg.line(x0, sy(t), x1, sy(t), stroke=GRID)
            svg.text(x0 - 5, sy(t) + 3.5, exp_label(t), size=10, anchor="end", fill=MUTED)
        if len(p.pos):
            starts, ends, vals = _steps(p.pos, np.maximum(p.rate, lo))
            pts = _step_points(sx, sy, starts, ends, vals)
            svg.polygon([(pts[0][0], y0), *pts, (pts[-1][0], y0)], fill="#f6dfb0")
            svg.polyline(pts, stroke=BG_STROKE, width=1)
        for pos, vaf, label in p.calls:
            x = sx(pos)
            svg.line(x, y0, x, sy(vaf), stroke=FAIL, width=1, dash="2 2")
            svg.marker("diamond", x, sy(vaf), 4.5, fill=FAIL, title=f"{label}: VAF {fmt_pct(vaf)}")
        svg.line(x0, y0, x1, y0, stroke=MUTED)
        _x_ticks(svg, sx, p.region, y0)
    return svg.render()


# ---------------------------------------------------------------- VAF over time points

@dataclass(frozen=True)
class TimelineSeries:
    """One allele over the time points of :func:`timeline_figure`.

    Attributes
    ----------
    label : e.g. ``ALK p.G1202R``
    vaf, low, high : per time point the VAF and its 95% interval (None: no record in that VCF)
    called : per time point, whether the allele is a call (PASS)
    events : per time point ``emerged``, ``lost`` or None
    """

    label: str
    vaf: list[float | None]
    low: list[float | None]
    high: list[float | None]
    called: list[bool]
    events: list[str | None]


def timeline_figure(series: Sequence[TimelineSeries], labels: Sequence[str], xs: Sequence[float]) -> str:
    """VAF of every allele over the time points (log axis), alleles not called on a band below.

    Parameters
    ----------
    series : one per allele (drawn in palette order)
    labels : the time points' labels
    xs : their positions on the time axis (equally spaced, or days from the first date)

    Returns
    -------
    str: the ``<svg>`` element.
    """
    x0, x1 = 72.0, 850.0
    top, plot_h, band_h = 34.0, 250.0, 34.0
    y_bottom = top + plot_h
    band_top, band_mid = y_bottom + 10, y_bottom + 10 + band_h / 2
    legend_x = 880.0
    height = max(band_top + band_h + 44, top + 24 + 22 * len(series) + 120)
    values = [v for s in series for vs in (s.vaf, s.low, s.high) for v in vs if v]
    lo, hi = decade_range(values, floor=1e-6)
    span = (max(xs) - min(xs)) or 1.0
    tx = Linear(min(xs) - 0.06 * span, max(xs) + 0.06 * span, x0, x1)
    sy = Log10(lo, hi, y_bottom, top)
    svg = Svg(WIDTH, height, "VAF of each allele over the time points")
    svg.text(x0, 16, "VAF (log scale)", size=11, weight="600", fill=MUTED)
    ticks = decade_ticks(lo, hi)
    minors = [m * t for t in ticks for m in (2, 5) if lo < m * t < hi] if len(ticks) <= 4 else []
    for t in ticks + minors:
        svg.line(x0, sy(t), x1, sy(t), stroke="#d5dae1" if t in ticks else GRID)
        svg.text(x0 - 6, sy(t) + 3.5, pct_label(t), size=10, anchor="end", fill=MUTED)
    svg.rect(x0, band_top, x1 - x0, band_h, fill="#f3f4f6")
    svg.text(x0 - 6, band_mid + 3.5, "not called", size=10, anchor="end", fill=MUTED)
    for x, label in zip(xs, labels):
        svg.line(tx(x), top, tx(x), band_top + band_h, stroke=GRID)
        svg.text(tx(x), band_top + band_h + 16, label, size=11, anchor="middle", weight="600")
    n = len(series)
    for k, s in enumerate(series):
        colour = PALETTE[k % len(PALETTE)]
        dash = None if k < len(PALETTE) else "6 3"
        jitter = (k - (n - 1) / 2) * min(3.0, (band_h - 10) / max(n, 1))
        pts = [(tx(x), sy(v) if v else band_mid + jitter) for x, v in zip(xs, s.vaf)]
        for i in range(1, len(pts)):
            both = bool(s.vaf[i - 1]) and bool(s.vaf[i])
            svg.line(pts[i - 1][0], pts[i - 1][1], pts[i][0], pts[i][1], stroke=colour, width=2 if both else 1.2,
                     dash=dash if both else "3 3")
        for i, (x, y) in enumerate(pts):
            v, ev = s.vaf[i], s.events[i]
            state = "called" if s.called[i] else ("filtered" if v else "not called")
            tip = f"{s.label} at {labels[i]}: {state}" + (f", VAF {fmt_pct(v)}" if v else "") + \
                (f" ({ev})" if ev else "")
            if s.low[i] is not None and s.high[i] is not None and v:
                svg.line(x, sy(s.high[i]), x, sy(max(s.low[i], lo)), stroke=colour, width=1)
            if ev == "emerged":
                svg.marker("up", x, y, 6.5, fill=colour, stroke="#fff", title=tip)
            elif ev == "lost":
                svg.marker("down", x, y, 6.5, fill=colour, stroke="#fff", title=tip)
            elif s.called[i]:
                svg.circle(x, y, 4.5, fill=colour, title=tip)
            else:
                svg.circle(x, y, 4.5, fill="#fff", stroke=colour, width=1.5, title=tip)
    # legend: alleles, then symbols
    y = top + 4
    svg.text(legend_x, y, "alleles", size=11, weight="600", fill=MUTED)
    for k, s in enumerate(series):
        y += 22
        colour = PALETTE[k % len(PALETTE)]
        svg.line(legend_x, y - 4, legend_x + 22, y - 4, stroke=colour, width=2,
                 dash=None if k < len(PALETTE) else "6 3")
        svg.circle(legend_x + 11, y - 4, 4, fill=colour)
        text = s.label if len(s.label) <= 38 else s.label[:36] + "..."
        svg.text(legend_x + 30, y, text, size=11, title=s.label)
    y += 30
    svg.text(legend_x, y, "symbols", size=11, weight="600", fill=MUTED)
    for shape, text in (("circle", "called (PASS)"), ("hollow", "in the VCF, filtered"),
                        ("up", "emerged (not called before)"), ("down", "lost (called before)")):
        y += 20
        if shape == "hollow":
            svg.circle(legend_x + 11, y - 4, 4, fill="#fff", stroke=INK, width=1.5)
        elif shape == "circle":
            svg.circle(legend_x + 11, y - 4, 4, fill=INK)
        else:
            svg.marker(shape, legend_x + 11, y - 4, 5, fill=INK)
        svg.text(legend_x + 30, y, text, size=11)
    return svg.render()
