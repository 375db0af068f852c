"""The report pages in a real headless browser (Debian's chromium): laid out at 1280 px without anything wider
than the window, nothing loaded from anywhere, and a screenshot that shows the page.

Chromium loads a copy of each page with a small measuring script appended (the
pages themselves have none) and prints the DOM, from which the test reads: the
window width, the document's scroll width, every element whose box reaches
past the window, the right edge of every table, the size of every figure, the
sections, and how many resources the page loaded (``performance`` entries).
Then it screenshots the page at its full height, 1280 px wide; the PNG must
be 1280 px wide, differ from a blank page's, hold text and figures in several
colours, and have nothing drawn in the window's right margin.

Set ``DEEPAMP_REPORT_SCREENSHOTS=DIR`` to keep the screenshots in DIR.
"""

from __future__ import annotations

import html as htmlmod
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from deepamp.cli import main
from report_inputs import BED, annotate, vcf_text, write_background, write_counts

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None)
pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed and could not be "
                                "(Debian: apt-get install chromium; .ci/run installs it)")]
WIDTH = 1280
MEASURE = """<script>(function () {
  var W = document.documentElement.clientWidth, wide = [];
  document.querySelectorAll("body *").forEach(function (e) {
    var r = e.getBoundingClientRect();
    if (r.width > 0 && (r.right > W + 0.5 || r.left < -0.5)) wide.push(e.tagName.toLowerCase());
  });
  var boxes = function (sel) {
    return [].map.call(document.querySelectorAll(sel), function (e) {
      var r = e.getBoundingClientRect(); return [Math.round(r.left), Math.round(r.right), Math.round(r.height)];
    });
  };
  var out = document.createElement("pre");
  out.id = "measure";
  out.textContent = JSON.stringify({
    width: W, scrollWidth: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight,
    wide: wide, tables: boxes("table"), figures: boxes("svg"),
    sections: [].map.call(document.querySelectorAll("h2"), function (h) { return h.textContent; }),
    resources: performance.getEntriesByType("resource").length
  });
  document.body.appendChild(out);
})();</script>"""


def _chromium(tmp: Path, *args: str) -> str:
    profile = tmp / "profile"
    profile.mkdir(exist_ok=True)
    cmd = [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", "--no-first-run",
           "--disable-extensions", "--disable-background-networking", "--host-resolver-rules=MAP * ~NOTFOUND",
           f"--user-data-dir={profile}", *args]
    env = dict(os.environ, HOME=str(tmp))
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _measure(tmp: Path, page: Path) -> dict:
    probe = tmp / f"{page.stem}.probe.html"
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    dom = _chromium(tmp, f"--window-size={WIDTH},1000", "--dump-dom", probe.as_uri())
    m = re.search(r'<pre id="measure">(.*?)</pre>', dom, re.S)
    assert m, dom[-2000:]
    return json.loads(htmlmod.unescape(m.group(1)))


def _screenshot(tmp: Path, page: Path, height: int) -> np.ndarray:
    from PIL import Image

    png = tmp / f"{page.stem}.png"
    _chromium(tmp, f"--window-size={WIDTH},{height}", f"--screenshot={png}", page.as_uri())
    keep = os.environ.get("DEEPAMP_REPORT_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(keep) / png.name)
    with Image.open(png) as im:
        assert im.size == (WIDTH, height)
        return np.asarray(im.convert("RGB"))


def _check_layout(m: dict, sections: list[str]) -> None:
    assert m["width"] == WIDTH and m["scrollWidth"] <= WIDTH, m
    assert m["wide"] == [], m["wide"]                          # no element reaches past the window
    assert m["tables"] and all(0 <= left and right <= WIDTH for left, right, _ in m["tables"]), m["tables"]
    assert m["figures"] and all(right <= WIDTH and h > 50 for _, right, h in m["figures"]), m["figures"]
    assert m["sections"] == sections
    assert m["resources"] == 0                                 # nothing loaded: no image, font, style, script


def _check_pixels(shot: np.ndarray, blank: np.ndarray) -> None:
    ink = (shot < 235).any(axis=2)
    assert not np.array_equal(shot, blank[:shot.shape[0]])
    assert 0.02 < ink.mean() < 0.6                             # text and figures, not an empty or black page
    colours = np.unique(shot[::4, ::4].reshape(-1, 3), axis=0)
    assert len(colours) > 100                                  # figures, badges and text in several colours
    assert not ink[:, WIDTH - 16:].any()                       # nothing drawn in the right margin
    assert ink[:, :WIDTH // 2].any(axis=1).sum() > shot.shape[0] // 4


def test_pages_in_chromium(tmp_path):
    vcf = tmp_path / "s1.vcf"
    vcf.write_text(vcf_text())
    ann = annotate(tmp_path, vcf)
    single = tmp_path / "single.html"
    assert main(["report", str(vcf), "--annotation", ann, "--counts", write_counts(tmp_path / "s1.npz", lod=True),
                 "--bed", BED, "--background", write_background(tmp_path / "bg.npz"), "-o", str(single)]) == 0
    t0 = tmp_path / "t0.vcf"
    t0.write_text(vcf_text(extra=()))
    longitudinal = tmp_path / "longitudinal.html"
    assert main(["report", str(t0), str(vcf), "--patient", "P7", "--labels", "2024-01-10,2024-06-01",
                 "--annotation", annotate(tmp_path, t0, "t0_ann"), "--annotation", ann, "-o", str(longitudinal)]) == 0
    blank_page = tmp_path / "blank.html"
    blank_page.write_text("<!DOCTYPE html><html><body></body></html>")

    m1 = _measure(tmp_path, single)
    _check_layout(m1, ["Quality control", "Variants", "Resistance", "Background from healthy controls",
                       "Not assessable", "Run details"])
    m2 = _measure(tmp_path, longitudinal)
    _check_layout(m2, ["Time points", "Resistance mutations over time", "Off-target (bypass) changes",
                       "Inhibitor ranking over time"])
    blank = _screenshot(tmp_path, blank_page, max(m1["height"], m2["height"]))
    assert (blank >= 235).all()
    _check_pixels(_screenshot(tmp_path, single, m1["height"]), blank)
    _check_pixels(_screenshot(tmp_path, longitudinal, m2["height"]), blank)
