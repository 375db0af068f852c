"""Precision-recall plot of an accuracy benchmark result, as a hand-written SVG.

    python benchmarks/plot_pr.py benchmarks/results/accuracy_25000pairs.json
        # -> benchmarks/results/accuracy_25000pairs_pr.svg (or -o PATH)

Input: the JSON written by ``benchmarks/accuracy.py``.  Curves: every test of
the quality and background models ranked by adjusted p-value
(``precision_recall.points_recall_precision``); markers: each model's calls at
the benchmark's significance level (sensitivity per VAF and false positives
of the same JSON), which is the only point the villa2024 preset has (it is a
filter set, not a score).  No plotting library: matplotlib is not a
dependency.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from xml.sax.saxutils import escape

W, H = 640, 460
LEFT, RIGHT, TOP, BOTTOM = 70, 190, 50, 60
STYLE = {"quality": ("#d95f02", "circle"), "background": ("#1b9e77", "square"),
         "villa2024": ("#7570b3", "diamond"), "background+villa2024": ("#e7298a", "triangle"),
         "background+hotspots": ("#222222", "cross")}


def operating_points(result: dict) -> dict[str, tuple[float, float, int, int]]:
    """(recall, precision, true positives, false positives) of each model's calls."""
    setup = result["setup"]
    per_vaf = setup["spikes_per_vaf_per_tumour"] * setup["tumours"]
    out = {}
    for model, sens in result["sensitivity"].items():
        tp = round(sum(frac * per_vaf for frac in sens.values()))
        fp = result["false_positives_total"][model]
        n_true = per_vaf * len(sens)
        out[model] = (tp / n_true, tp / (tp + fp) if tp + fp else 1.0, tp, fp)
    return out


def _marker(kind: str, x: float, y: float, color: str, r: float = 5.5) -> str:
    if kind == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{color}" stroke="black" stroke-width="0.8"/>'
    if kind == "square":
        return (f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r}" height="{2 * r}" fill="{color}" '
                f'stroke="black" stroke-width="0.8"/>')
    if kind == "diamond":
        pts = f"{x:.1f},{y - r * 1.3:.1f} {x + r * 1.3:.1f},{y:.1f} {x:.1f},{y + r * 1.3:.1f} {x - r * 1.3:.1f},{y:.1f}"
    elif kind == "triangle":
        pts = f"{x:.1f},{y - r * 1.2:.1f} {x + r * 1.1:.1f},{y + r * 0.8:.1f} {x - r * 1.1:.1f},{y + r * 0.8:.1f}"
    else:
        return (f'<path d="M{x - r:.1f},{y - r:.1f}L{x + r:.1f},{y + r:.1f}M{x - r:.1f},{y + r:.1f}'
                f'L{x + r:.1f},{y - r:.1f}" stroke="{color}" stroke-width="2.2"/>')
    return f'<polygon points="{pts}" fill="{color}" stroke="black" stroke-width="0.8"/>'


def render_svg(result: dict, title: str) -> str:
    """The SVG document (a string) for one accuracy result."""
    curves = result["precision_recall"]["points_recall_precision"]
    ops = operating_points(result)
    ys = [p for pts in curves.values() for _, p in pts] + [p for _, p, _, _ in ops.values()]
    y0 = max(0.0, math.floor(min(ys) * 10 - 1e-9) / 10) if ys else 0.0
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def sx(r: float) -> float:
        return LEFT + r * pw

    def sy(p: float) -> float:
        return TOP + (1 - (p - y0) / (1 - y0)) * ph

    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
         f'font-family="Helvetica, Arial, sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{LEFT + pw / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">'
         f'{escape(title)}</text>']
    for i in range(11):                                     # grid and ticks
        r = i / 10
        s.append(f'<line x1="{sx(r):.1f}" y1="{TOP}" x2="{sx(r):.1f}" y2="{TOP + ph}" stroke="#e5e5e5"/>')
        s.append(f'<line x1="{sx(r):.1f}" y1="{TOP + ph}" x2="{sx(r):.1f}" y2="{TOP + ph + 5}" stroke="black"/>')
        s.append(f'<text x="{sx(r):.1f}" y="{TOP + ph + 19}" text-anchor="middle">{r:.1f}</text>')
    n_y = round((1 - y0) / 0.05)
    for i in range(n_y + 1):
        p = y0 + i * 0.05
        s.append(f'<line x1="{LEFT}" y1="{sy(p):.1f}" x2="{LEFT + pw}" y2="{sy(p):.1f}" stroke="#e5e5e5"/>')
        s.append(f'<line x1="{LEFT - 5}" y1="{sy(p):.1f}" x2="{LEFT}" y2="{sy(p):.1f}" stroke="black"/>')
        if i % 2 == 0 or n_y <= 10:
            s.append(f'<text x="{LEFT - 8}" y="{sy(p) + 4:.1f}" text-anchor="end">{p:.2f}</text>')
    s.append(f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="black"/>')
    s.append(f'<text x="{LEFT + pw / 2}" y="{H - 18}" text-anchor="middle" font-size="13">'
             f'recall (spiked variants found)</text>')
    s.append(f'<text transform="translate(20 {TOP + ph / 2}) rotate(-90)" text-anchor="middle" font-size="13">'
             f'precision</text>')
    for model, pts in curves.items():                       # curves
        color = STYLE.get(model, ("black", "circle"))[0]
        path = " ".join(f"{'M' if i == 0 else 'L'}{sx(r):.1f},{sy(p):.1f}" for i, (r, p) in enumerate(pts))
        s.append(f'<path d="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
    for model, (r, p, _, _) in ops.items():                 # operating points
        color, kind = STYLE.get(model, ("black", "circle"))
        s.append(_marker(kind, sx(r), sy(p), color))
    lx, ly = LEFT + pw + 15, TOP + 8                        # legend
    s.append(f'<text x="{lx}" y="{ly}" font-weight="bold">ranked by adjusted p</text>')
    for i, model in enumerate(curves):
        y = ly + 18 + 18 * i
        s.append(f'<line x1="{lx}" y1="{y - 4}" x2="{lx + 24}" y2="{y - 4}" '
                 f'stroke="{STYLE.get(model, ("black",))[0]}" stroke-width="2"/>')
        s.append(f'<text x="{lx + 30}" y="{y}">{escape(model)}</text>')
    ly += 18 * len(curves) + 40
    setup = result["setup"]
    s.append(f'<text x="{lx}" y="{ly}" font-weight="bold">calls at alpha {setup["alpha"]:g}</text>')
    for i, (model, (r, p, tp, fp)) in enumerate(ops.items()):
        y = ly + 20 + 30 * i
        color, kind = STYLE.get(model, ("black", "circle"))
        s.append(_marker(kind, lx + 12, y - 4, color, 5))
        s.append(f'<text x="{lx + 30}" y="{y}">{escape(model)}</text>')
        s.append(f'<text x="{lx + 30}" y="{y + 13}" font-size="10" fill="#444">TP {tp}, FP {fp}</text>')
    s.append(f'<text x="{LEFT}" y="{H - 2}" font-size="10" fill="#444">'
             f'{setup["tumours"]} tumours x {setup["pairs_per_amplicon"]:,} pairs/amplicon, '
             f'{setup["controls"]} controls; {setup["panel"]}</text>')
    s.append("</svg>")
    return "\n".join(s) + "\n"


def write_svg(result: dict, svg_path: str, title: str | None = None) -> str:
    """Write the plot of ``result`` to ``svg_path`` atomically; return the path."""
    title = title or (f"Precision-recall, {result['setup']['pairs_per_amplicon']:,} pairs per amplicon")
    tmp = svg_path + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(render_svg(result, title))
    os.replace(tmp, svg_path)
    return svg_path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", help="result JSON of benchmarks/accuracy.py")
    ap.add_argument("-o", "--out", help="SVG path (default: the JSON path with _pr.svg)")
    a = ap.parse_args(argv)
    with open(a.json) as fh:
        result = json.load(fh)
    out = a.out or os.path.splitext(a.json)[0] + "_pr.svg"
    print(write_svg(result, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
