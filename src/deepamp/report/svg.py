"""A small inline-SVG writer for the report's plots: shapes, text, scales and axis ticks.

The plots are written as SVG text directly (no plotting library): the output
is small, identical for identical inputs, needs nothing beyond the standard
library and numpy, and every label is real, searchable, escaped text.  Shapes
can carry a ``<title>``, which browsers show as a tooltip without any script.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from deepamp.report.markup import esc

__all__ = ["Svg", "Linear", "Log10", "nice_ticks", "decade_ticks", "decade_range", "pct_label", "exp_label", "depth_label", "INK", "MUTED",
           "GRID", "PALETTE"]

INK = "#1d2430"
MUTED = "#5b6472"
GRID = "#e3e7ec"
#: Colour-blind-safe series colours (Okabe and Ito), strongest first.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
FONT = "system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',Arial,sans-serif"


def _n(v: float) -> str:
    """A coordinate with at most one decimal."""
    s = f"{v:.1f}"
    return s[:-2] if s.endswith(".0") else s


def _attrs(**kw: object) -> str:
    out = []
    for key, value in kw.items():
        if value is None:
            continue
        name = key.rstrip("_").replace("_", "-")
        out.append(f' {name}="{_n(value) if isinstance(value, float) else esc(value)}"')
    return "".join(out)


def _tip(title: str | None) -> str:
    return f"<title>{esc(title)}</title>" if title else ""


class Svg:
    """One ``<svg>`` element being drawn; :meth:`render` returns its markup.

    Parameters
    ----------
    width, height : size in CSS pixels (the figure scales down with the page)
    title : what the figure shows, for screen readers and tooltips
    """

    def __init__(self, width: float, height: float, title: str):
        self.width, self.height, self.title = width, height, title
        self.parts: list[str] = []

    def line(self, x1: float, y1: float, x2: float, y2: float, *, stroke: str = INK, width: float = 1.0,
             dash: str | None = None, title: str | None = None) -> None:
        """A straight line."""
        a = _attrs(x1=float(x1), y1=float(y1), x2=float(x2), y2=float(y2), stroke=stroke,
                   stroke_width=float(width), stroke_dasharray=dash)
        self.parts.append(f"<line{a}>{_tip(title)}</line>" if title else f"<line{a}/>")

    def rect(self, x: float, y: float, w: float, h: float, *, fill: str, stroke: str | None = None,
             title: str | None = None) -> None:
        """A rectangle (``fill`` a colour or ``none``)."""
        a = _attrs(x=float(x), y=float(y), width=float(max(w, 0.0)), height=float(max(h, 0.0)), fill=fill,
                   stroke=stroke)
        self.parts.append(f"<rect{a}>{_tip(title)}</rect>" if title else f"<rect{a}/>")

    def circle(self, cx: float, cy: float, r: float, *, fill: str, stroke: str | None = None,
               width: float = 1.0, title: str | None = None) -> None:
        """A circle (a hollow one with ``fill='#fff'`` and a ``stroke``)."""
        a = _attrs(cx=float(cx), cy=float(cy), r=float(r), fill=fill, stroke=stroke,
                   stroke_width=float(width) if stroke else None)
        self.parts.append(f"<circle{a}>{_tip(title)}</circle>" if title else f"<circle{a}/>")

    def polygon(self, points: Iterable[tuple[float, float]], *, fill: str, stroke: str | None = None,
                width: float = 1.0, title: str | None = None) -> None:
        """A closed shape through ``points``."""
        pts = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
        a = _attrs(points=pts, fill=fill, stroke=stroke, stroke_width=float(width) if stroke else None)
        self.parts.append(f"<polygon{a}>{_tip(title)}</polygon>" if title else f"<polygon{a}/>")

    def polyline(self, points: Iterable[tuple[float, float]], *, stroke: str, width: float = 1.0,
                 dash: str | None = None, title: str | None = None) -> None:
        """An open line through ``points``."""
        pts = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
        a = _attrs(points=pts, fill="none", stroke=stroke, stroke_width=float(width), stroke_dasharray=dash,
                   stroke_linejoin="round")
        self.parts.append(f"<polyline{a}>{_tip(title)}</polyline>" if title else f"<polyline{a}/>")

    def marker(self, shape: str, x: float, y: float, size: float, *, fill: str, stroke: str | None = None,
               title: str | None = None) -> None:
        """A point marker: ``circle``, ``diamond``, ``up`` or ``down`` (triangles), ``square``."""
        s = size
        if shape == "circle":
            self.circle(x, y, s, fill=fill, stroke=stroke, width=1.5, title=title)
        elif shape == "square":
            self.polygon([(x - s, y - s), (x + s, y - s), (x + s, y + s), (x - s, y + s)], fill=fill, stroke=stroke,
                         width=1.5, title=title)
        elif shape == "diamond":
            self.polygon([(x, y - s * 1.3), (x + s * 1.1, y), (x, y + s * 1.3), (x - s * 1.1, y)], fill=fill,
                         stroke=stroke, width=1.5, title=title)
        elif shape == "up":
            self.polygon([(x, y - s * 1.4), (x + s * 1.25, y + s * 0.9), (x - s * 1.25, y + s * 0.9)], fill=fill,
                         stroke=stroke, width=1.5, title=title)
        elif shape == "down":
            self.polygon([(x, y + s * 1.4), (x + s * 1.25, y - s * 0.9), (x - s * 1.25, y - s * 0.9)], fill=fill,
                         stroke=stroke, width=1.5, title=title)
        else:
            raise ValueError(f"unknown marker shape {shape!r}")

    def text(self, x: float, y: float, text: str, *, size: float = 11, anchor: str = "start", fill: str = INK,
             weight: str | None = None, rotate: float | None = None, title: str | None = None) -> None:
        """A label (plain text, escaped here); ``anchor`` is start, middle or end."""
        transform = f"rotate({_n(rotate)} {_n(x)} {_n(y)})" if rotate is not None else None
        a = _attrs(x=float(x), y=float(y), font_size=float(size), text_anchor=anchor, fill=fill, font_weight=weight,
                   transform=transform)
        self.parts.append(f"<text{a}>{_tip(title)}{esc(text)}</text>")

    def render(self) -> str:
        """The ``<svg>`` markup (inline, no external reference)."""
        return (f'<svg viewBox="0 0 {_n(self.width)} {_n(self.height)}" '
                f'width="{_n(self.width)}" height="{_n(self.height)}" role="img" font-family="{FONT}">'
                f"<title>{esc(self.title)}</title>" + "".join(self.parts) + "</svg>")


@dataclass(frozen=True)
class Linear:
    """Linear map from data ``[lo, hi]`` to pixels ``[a, b]``."""

    lo: float
    hi: float
    a: float
    b: float

    def __call__(self, v: float) -> float:
        span = self.hi - self.lo
        return self.a + (self.b - self.a) * ((v - self.lo) / span if span else 0.5)


@dataclass(frozen=True)
class Log10:
    """Log-scale map from data ``[lo, hi]`` (both > 0) to pixels ``[a, b]``; values are clipped into the range."""

    lo: float
    hi: float
    a: float
    b: float

    def __call__(self, v: float) -> float:
        v = min(max(v, self.lo), self.hi)
        t = (math.log10(v) - math.log10(self.lo)) / (math.log10(self.hi) - math.log10(self.lo))
        return self.a + (self.b - self.a) * t


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Round tick values covering ``[lo, hi]`` (steps of 1, 2 or 5 x 10^k), about ``target`` of them."""
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    out = []
    v = first
    while v <= hi + 1e-9 * step:
        out.append(round(v, 10))
        v += step
    return out


def decade_ticks(lo: float, hi: float) -> list[float]:
    """Powers of ten from ``lo`` to ``hi`` (both powers of ten)."""
    a, b = round(math.log10(lo)), round(math.log10(hi))
    return [10.0 ** k for k in range(a, b + 1)]


def decade_range(values: Sequence[float], floor: float = 1e-6, ceiling: float = 1.0) -> tuple[float, float]:
    """The smallest range of whole decades holding every positive value, within [floor, ceiling]."""
    pos = [v for v in values if v is not None and v > 0 and math.isfinite(v)]
    if not pos:
        return 1e-4, 1e-1
    lo = 10.0 ** math.floor(math.log10(min(pos)) - 1e-9)
    hi = 10.0 ** math.ceil(math.log10(max(pos)) + 1e-9)
    lo, hi = max(lo, floor), min(hi, ceiling)
    if hi <= lo:
        hi = min(lo * 100, ceiling) if lo * 100 <= ceiling else ceiling
        lo = min(lo, hi / 100)
    return lo, hi


def pct_label(fraction: float) -> str:
    """A tick label for a fraction: ``0.001`` -> ``0.1%``."""
    return f"{100 * fraction:g}%"


def exp_label(value: float) -> str:
    """A tick label for a power of ten: ``1e-4``, and ``1`` for 10^0."""
    k = round(math.log10(value))
    return "1" if k == 0 else f"1e{k}"


def depth_label(value: float) -> str:
    """A tick label for a depth: ``5000`` -> ``5k``, ``500`` -> ``500``."""
    return f"{value / 1000:g}k" if value >= 1000 else f"{value:g}"
