"""HTML building blocks of the report pages: escaping, number formats, tables and the page shell.

Every page is one document with its stylesheet inline and no script.  Every
piece of text that comes from an input file goes through :func:`esc`; the
functions here take cells that are already HTML, so callers escape once, where
the text enters.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from html import escape
from urllib.parse import quote

__all__ = ["CSS", "esc", "nw", "keep", "fmt_int", "fmt_pct", "fmt_rate", "table", "page", "badge", "cite_html"]

#: The stylesheet of every page (no external resource, no web font).  Tables never grow wider
#: than the page: long cell text wraps anywhere, numbers stay on one line.
CSS = """
:root{--ink:#1d2430;--muted:#5b6472;--line:#d5dae1;--head:#eef1f5;--ok:#1e7b34;--bad:#b3261e;
--warn:#8a5a00;--accent:#1f5fa8}
*{box-sizing:border-box}
html{background:#fff}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif;color:var(--ink);
margin:0 auto;max-width:1240px;padding:16px 24px 48px}
h1{font-size:22px;margin:6px 0 2px;overflow-wrap:anywhere}
h2{font-size:18px;margin:30px 0 8px;padding-bottom:4px;border-bottom:2px solid var(--line)}
h3{font-size:15px;margin:18px 0 6px}
h4{font-size:14px;margin:14px 0 4px}
p{margin:6px 0}
ul{margin:6px 0;padding-left:22px}
a{color:var(--accent)}
nav{font-size:13px;margin:6px 0 10px;color:var(--muted)}
nav a{margin-right:14px}
.subtitle{color:var(--muted);margin:0 0 8px}
table{border-collapse:collapse;margin:6px 0 12px;max-width:100%;font-size:13px}
table.wide{width:100%}
table.fixed{table-layout:fixed}
table.fixed .nw,table.fixed th{white-space:normal;overflow-wrap:anywhere}
.keep{white-space:nowrap}
th,td{border:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:var(--head);font-weight:600;overflow-wrap:normal}
td.nw,.nw{white-space:nowrap;overflow-wrap:normal}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap;overflow-wrap:normal}
tr.filtered td{color:var(--muted)}
.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,monospace;font-size:12.5px}
.small{font-size:12px;color:var(--muted)}
.muted{color:var(--muted)}
.low{color:var(--bad);font-weight:600}
.c-ok{color:var(--ok);font-weight:600}
.c-warn{color:var(--warn);font-weight:600}
.c-bad{color:var(--bad);font-weight:600}
.c-none{color:var(--muted)}
ol.evidence{font-size:12.5px;padding-left:34px}
ol.evidence li{margin:3px 0}
.badge{display:inline-block;padding:0 6px;border-radius:3px;font-size:12px;font-weight:600;color:#fff;
white-space:nowrap}
.badge.pass{background:var(--ok)}
.badge.fail{background:var(--bad)}
.badge.flag{background:#6b7280}
.badge.new{background:#b3261e}
.badge.lost{background:#1f5fa8}
.callout{border-left:5px solid var(--accent);background:#f3f7fc;padding:8px 12px;margin:8px 0}
.callout.stop{border-left-color:var(--bad);background:#fdf1f0}
.disclaimer{border:1px solid #e3b5b1;background:#fdf5f4;padding:8px 12px;font-weight:600;margin:8px 0}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:3px 18px;margin:8px 0 4px;
border:1px solid var(--line);padding:10px 14px;background:#fafbfc}
.facts dt{font-weight:600}
.facts dd{margin:0;overflow-wrap:anywhere}
.lines{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,monospace;font-size:12.5px;margin:6px 0;
padding:6px 10px;background:#f6f7f9;border:1px solid var(--line);overflow-wrap:anywhere;white-space:pre-wrap}
figure{margin:10px 0 18px}
figcaption{font-size:12px;color:var(--muted);margin-top:2px}
svg{max-width:100%;height:auto;display:block}
@media print{body{max-width:none;padding:0}h2{break-after:avoid}tr,figure{break-inside:avoid}}
"""

_DOI = re.compile(r"doi:(10\.\S+?)\.?$")


def esc(value: object) -> str:
    """HTML-escaped text of ``value`` (quotes too, so it is safe in attributes); ``None`` is empty."""
    return "" if value is None else escape(str(value), quote=True)


def nw(value: object, limit: int = 32) -> str:
    """Escaped text kept on one line when it is short (a long input text may still wrap anywhere)."""
    text = esc(value)
    return f'<span class="nw">{text}</span>' if text and len(str(value)) <= limit else text


def keep(text: str) -> str:
    """A short text the report formats itself (a number with its unit) kept on one line everywhere."""
    return f'<span class="keep">{esc(text)}</span>'


def fmt_int(value: float | int | None) -> str:
    """An integer with thousands separators (``25,000``); empty for None."""
    return "" if value is None else f"{int(round(value)):,}"


def fmt_pct(fraction: float | None, digits: int = 3) -> str:
    """A fraction as a percentage with ``digits`` significant digits (``0.0125`` -> ``1.25%``)."""
    if fraction is None or not math.isfinite(fraction):
        return ""
    return f"{100 * fraction:.{digits}g}%"


def fmt_rate(rate: float | None) -> str:
    """An error rate in scientific notation (``3.47e-05``), or as a percentage above 0.1%."""
    if rate is None or not math.isfinite(rate):
        return ""
    return fmt_pct(rate) if rate >= 1e-3 else f"{rate:.3g}"


def badge(text: str, kind: str) -> str:
    """A small coloured label: ``kind`` is pass, fail, flag, new or lost."""
    return f'<span class="badge {kind}">{esc(text)}</span>'


def table(head: Sequence[str], rows: Iterable[Sequence[str]], *, num: Iterable[int] = (), wide: bool = False,
          row_classes: Sequence[str] | None = None, nowrap: Iterable[int] = (),
          widths: Sequence[str] | None = None) -> str:
    """An HTML table.

    Parameters
    ----------
    head : column titles (plain text; escaped here)
    rows : cells, already HTML
    num : indices of numeric columns (right-aligned, one line)
    wide : stretch the table to the page width
    row_classes : an optional CSS class per row (e.g. ``filtered``)
    nowrap : indices of columns kept on one line (short, known texts such as drug names)
    widths : CSS widths of the columns (fixed layout, so tables of one kind line up); implies ``wide``

    Returns
    -------
    str: the ``<table>`` element.
    """
    numeric, keep = set(num), set(nowrap)
    if widths is not None:
        out = ['<table class="wide fixed"><colgroup>' + "".join(f'<col style="width:{esc(w)}">' for w in widths)
               + "</colgroup>"]
    else:
        out = [f'<table{" class=wide" if wide else ""}>']
    out.append("<thead><tr>" + "".join(
        f'<th class="num">{esc(h)}</th>' if i in numeric else f"<th>{esc(h)}</th>" for i, h in enumerate(head))
        + "</tr></thead><tbody>")
    for n, row in enumerate(rows):
        cls = row_classes[n] if row_classes is not None and n < len(row_classes) else ""
        out.append((f'<tr class="{cls}">' if cls else "<tr>") + "".join(
            f'<td class="num">{c}</td>' if i in numeric else f'<td class="nw">{c}</td>' if i in keep else
            f"<td>{c}</td>" for i, c in enumerate(row)) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def cite_html(citation: str) -> str:
    """A full citation, escaped, with its DOI (``doi:10....`` at the end) as a link to doi.org.

    The DOI link is the only kind of web address a report contains; it is an
    ordinary link that loads nothing when the page is opened.
    """
    m = _DOI.search(citation)
    if m is None:
        return esc(citation)
    doi = m.group(1)
    url = "https://doi.org/" + quote(doi, safe="/.-_()[]:;")
    return (esc(citation[:m.start()]) + f'doi:<a href="{esc(url)}" rel="noreferrer">{esc(doi)}</a>'
            + esc(citation[m.start() + 4 + len(doi):]))


def page(title: str, body: Iterable[str]) -> str:
    """The complete HTML document: ``title`` (plain text) and ``body`` parts (HTML)."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{CSS}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")
