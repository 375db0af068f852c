"""One timed child process for the whole-process benchmarks: wall time, CPU time, peak RSS."""
from __future__ import annotations

import os
import subprocess
import time


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
