"""What the whole-process benchmarks share: one timed child process, a least-squares line, and the
results written as ``NAME.json`` + ``NAME.md``."""
from __future__ import annotations

import json
import os
import subprocess
import time
from typing import Any


def run_timed(argv: list[str], env: dict[str, str], rss_file: str | None = None) -> tuple[float, float, int, str]:
    """Run ``argv``; (wall s, CPU s of the child (user + sys), peak RSS KiB, stderr).

    Peak RSS comes from ``/usr/bin/time -f %M`` into ``rss_file`` (0 when either is missing): Linux
    keeps the RSS high-water mark across exec, so ``wait4``'s would be this (large) process's.
    """
    timed = rss_file is not None and os.access("/usr/bin/time", os.X_OK)
    full = ["/usr/bin/time", "-f", "%M", "-o", rss_file, *argv] if timed else argv
    t = time.perf_counter()
    p = subprocess.Popen(full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    assert p.stderr is not None
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{argv[:4]} failed: {err[-2000:]}")
    with open(rss_file) if timed else open(os.devnull) as fh:
        text = fh.read().split()
    return wall, ru.ru_utime + ru.ru_stime, int(text[-1]) if timed and text else 0, err


def linear_fit(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Least-squares line through (xs, ys): (slope, intercept, R^2; 1.0 when ys are all equal)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    icpt = my - slope * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    r2 = 1 - sum((y - icpt - slope * x) ** 2 for x, y in zip(xs, ys)) / ss_tot if ss_tot else 1.0
    return slope, icpt, r2


def write_results(out_dir: str, name: str, data: Any, lines: list[str]) -> None:
    """``out_dir/NAME.json`` (the data) and ``out_dir/NAME.md`` (the lines, also printed)."""
    with open(os.path.join(out_dir, f"{name}.json"), "w") as fh:
        json.dump(data, fh, indent=1)
    with open(os.path.join(out_dir, f"{name}.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines))
