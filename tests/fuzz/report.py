#!/usr/bin/env python3
"""Summarise one tests/fuzz/run.sh run as Markdown (benchmarks/results/fuzz.md).

Reads build/fuzz/libfuzzer.log and build/fuzz/atheris.log (libFuzzer's status
lines and ``-print_final_stats=1`` output, which atheris shares) and the
artifacts that appeared during the run, and writes executions, exec/s,
coverage (``cov``: edges/PCs hit; ``ft``: features), corpus size, peak RSS and
every crash/leak/timeout/OOM with its first error line.

    python tests/fuzz/report.py --build build/fuzz --libfuzzer-seconds 600 \\
        --libfuzzer-rc 0 --atheris-seconds 300 --atheris-rc 0 -o benchmarks/results/fuzz.md
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import subprocess
import sys

STATUS = re.compile(r"^#(\d+)\s+(\w+)\s+cov: (\d+) ft: (\d+) corp: (\d+)/(\d+)(\w+)")
STAT = re.compile(r"^stat::(\w+):\s+(\d+)")
ERROR = re.compile(r"(ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer|UndefinedBehaviorSanitizer)[^\n]*"
                   r"|runtime error:[^\n]*|=== Uncaught Python exception: ===|SUMMARY:[^\n]*)")


def parse_log(path: str) -> dict:
    """Executions, coverage, final stats and error lines of one libFuzzer/atheris log."""
    info: dict = {"log": path, "present": os.path.exists(path), "last_status": None, "stats": {}, "errors": []}
    if not info["present"]:
        return info
    with open(path, errors="replace") as fh:
        lines = fh.read().splitlines()
    for i, line in enumerate(lines):
        m = STATUS.match(line)
        if m:
            info["last_status"] = dict(execs=int(m[1]), kind=m[2], cov=int(m[3]), ft=int(m[4]),
                                       corpus_units=int(m[5]), corpus_size=f"{m[6]}{m[7]}")
            if m[2] == "INITED":
                info["inited"] = dict(cov=int(m[3]), ft=int(m[4]))
        m = STAT.match(line)
        if m:
            info["stats"][m[1]] = int(m[2])
        m = ERROR.search(line)
        if m:
            text = m[0]
            if text.startswith("=== Uncaught") and i + 1 < len(lines):
                text = "Uncaught Python exception: " + lines[i + 1].strip()
            info["errors"].append(text.strip())
    return info


def new_artifacts(build: str) -> list[str]:
    """Artifact files (crash-/leak-/timeout-/oom-, py- prefixed for atheris) written by this run."""
    before_file = os.path.join(build, "artifacts.before")
    before = set(open(before_file).read().split()) if os.path.exists(before_file) else set()
    return sorted(f for f in os.listdir(os.path.join(build, "artifacts")) if f not in before)


def _section(title: str, seconds: str, rc: str, info: dict) -> list[str]:
    out = [f"## {title}", ""]
    if rc == "skipped" or not info["present"]:
        return out + ["Not run: atheris is not importable here.", ""]
    st, s = info["last_status"] or {}, info["stats"]
    execs = s.get("number_of_executed_units", st.get("execs", 0))
    out += ["| budget s | exit | executions | exec/s | coverage (cov) | features (ft) | corpus | new units | "
            "slowest unit s | peak RSS MB |", "|---|---|---|---|---|---|---|---|---|---|",
            f"| {seconds} | {rc} | {execs:,} | {s.get('average_exec_per_sec', '?')} | "
            f"{info.get('inited', {}).get('cov', '?')} -> {st.get('cov', '?')} | "
            f"{info.get('inited', {}).get('ft', '?')} -> {st.get('ft', '?')} | "
            f"{st.get('corpus_units', '?')} units / {st.get('corpus_size', '?')} | {s.get('new_units_added', '?')} | "
            f"{s.get('slowest_unit_time_sec', '?')} | {s.get('peak_rss_mb', '?')} |", ""]
    if info["errors"]:
        out += ["Reports:", ""] + [f"* `{e}`" for e in dict.fromkeys(info["errors"])] + [""]
    else:
        out += ["No crash, sanitizer report, leak, timeout or out-of-memory.", ""]
    return out


def _tool_version(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.splitlines()[0]
    except (OSError, IndexError):
        return "?"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--libfuzzer-seconds", required=True)
    ap.add_argument("--libfuzzer-rc", required=True)
    ap.add_argument("--atheris-seconds", required=True)
    ap.add_argument("--atheris-rc", required=True)
    ap.add_argument("-o", "--out", required=True)
    a = ap.parse_args(argv)
    lf = parse_log(os.path.join(a.build, "libfuzzer.log"))
    at = parse_log(os.path.join(a.build, "atheris.log"))
    arts = new_artifacts(a.build)
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                check=False).stdout.strip()
    except OSError:
        commit = "?"
    state_file = os.path.join(a.build, "csrc.state")
    state = open(state_file).read().split("\n") if os.path.exists(state_file) else []
    state = [x.strip() for x in state if x.strip()]
    csrc = (f"csrc as compiled: HEAD {state[0]}, sha256 of csrc/*.c+*.h {state[-1]}"
            + (f", uncommitted: {'; '.join(state[1:-1])}" if len(state) > 2 else ", clean")) if state else "csrc: ?"
    try:
        import atheris  # noqa: F401
        from importlib.metadata import version
        at_ver = version("atheris")
    except ImportError:
        at_ver = "not installed"
    L = ["# deepamp fuzzing", "",
         f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, commit {commit}; "
         f"{platform.machine()}, {os.cpu_count()} CPUs, load average at end "
         f"{', '.join('%.1f' % x for x in os.getloadavg())}; {_tool_version(['clang', '--version'])}; "
         f"atheris {at_ver}; Python {platform.python_version()}.", "", csrc + ".", "",
         "Written by `tests/fuzz/run.sh` (one process per harness, `-seed=1`; the corpus in build/fuzz "
         "carries over between runs, so coverage at start is that of the saved corpus).", "",
         "* **libFuzzer** (`tests/fuzz/fuzz_pileup.c`): clang `-fsanitize=fuzzer,address,undefined` over the "
         "csrc C core; input = option byte + region string + BAM bytes (raw BGZF or an uncompressed BAM "
         "stream compressed by the harness); `da_pileup` on the region, or with a leading `@` in the region "
         "`da_phase_count` on sites spread over it (every pair).  Leak detection on.",
         "* **atheris** (`tests/fuzz/fuzz_api.py`): the Python entry points (`pileup.count`, `count_coverage`, "
         "`regions`, `deepamp count` CLI) on fuzzed BAM/BED/FASTA/region; anything but a one-line "
         "`DeepampError` is a finding.", ""]
    L += _section("libFuzzer (C core)", a.libfuzzer_seconds, a.libfuzzer_rc, lf)
    L += _section("atheris (Python API)", a.atheris_seconds, a.atheris_rc, at)
    L += ["## Artifacts written by this run", ""]
    L += [f"* `build/fuzz/artifacts/{f}`" for f in arts] or ["None."]
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tmp = a.out + ".tmp"
    with open(tmp, "w") as fh:
        fh.write("\n".join(L) + "\n")
    os.replace(tmp, a.out)
    print(f"report.py: wrote {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
