#!/usr/bin/env bash
# Build and run the libFuzzer harness over the deepamp C core, then the
# atheris harness over the Python entry points, each for a fixed budget, and
# write what they did to benchmarks/results/fuzz.md (tests/fuzz/report.py).
#
#   tests/fuzz/run.sh [LIBFUZZER_SECONDS [ATHERIS_SECONDS]]   (default 120, same)
#
# One process each (no -jobs/-workers): the machine is shared.  Needs clang
# with libFuzzer (apt-get install clang libclang-rt-14-dev) and pysam (its
# libchtslib provides htslib).  The atheris part is skipped with a message if
# atheris is not importable; it fuzzes a private snapshot of src/deepamp
# (build/fuzz/pkg) so an extension rebuilt in place cannot change mid-run.
# Crashers are left in build/fuzz/artifacts; minimise one with
#   build/fuzz/fuzz_pileup -minimize_crash=1 -runs=10000 CRASH
# and add it to tests/test_malformed.py (tests/test_fuzz_regressions.py).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
secs="${1:-120}"
py_secs="${2:-$secs}"
out="$here/build/fuzz"
mkdir -p "$out/corpus" "$out/artifacts"
py="${PYTHON:-python3}"
cc="${CC_FUZZ:-$(command -v clang || command -v clang-16 || command -v clang-15 || command -v clang-14)}"
pysam_dir="$("$py" -c 'import os, pysam; print(os.path.dirname(pysam.__file__))')"
hts_inc="$pysam_dir/include/htslib"
hts_lib="$("$py" -c 'import sysconfig; print("libchtslib" + sysconfig.get_config_var("EXT_SUFFIX"))')"
# pysam's libchtslib is a Python extension: it has undefined libpython symbols,
# so the fuzzer binary links libpython too (never initialised, only resolved).
py_lib="$("$py" -c 'import sysconfig as s; print(s.get_config_var("LIBDIR"))')"
py_ver="$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"

# What was compiled: csrc may carry uncommitted work in a shared checkout.
{ git -C "$here" rev-parse --short HEAD; git -C "$here" status --short -- csrc;
  cat "$here"/csrc/*.c "$here"/csrc/*.h | sha256sum | cut -c1-16; } > "$out/csrc.state" 2>/dev/null || true

"$cc" -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -I"$here/csrc" -I"$hts_inc" \
    "$here/tests/fuzz/fuzz_pileup.c" "$here"/csrc/*.c \
    -L"$pysam_dir" "-l:$hts_lib" -Wl,-rpath,"$pysam_dir" \
    -L"$py_lib" -l"python$py_ver" -Wl,-rpath,"$py_lib" -lpthread -lm \
    -o "$out/fuzz_pileup"

"$py" "$here/tests/fuzz/make_seeds.py" "$out/seeds"
ls "$out/artifacts" > "$out/artifacts.before"
# detect_leaks stays on: the harness frees everything it allocates.
# Only known htslib leaks are suppressed (tests/fuzz/lsan.supp); no UB is.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$here/tests/fuzz/lsan.supp}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
rc=0
lf_rc=0
"$out/fuzz_pileup" "$out/corpus" "$out/seeds" -max_total_time="$secs" -max_len=65536 \
    -rss_limit_mb=2048 -timeout=20 -seed=1 -print_final_stats=1 \
    -artifact_prefix="$out/artifacts/" > "$out/libfuzzer.log" 2>&1 || lf_rc=$?
grep -E "^#[0-9]+ *(INITED|DONE)|stat::|ERROR|SUMMARY" "$out/libfuzzer.log" || true
[ "$lf_rc" = 0 ] || rc=1

at_rc=skipped
if "$py" -c 'import atheris' 2>/dev/null; then
    snap="$out/pkg"
    rm -rf "$snap"; mkdir -p "$snap"
    cp -r "$here/src/deepamp" "$snap/deepamp"
    find "$snap" -name __pycache__ -prune -exec rm -rf {} +
    at_rc=0
    PYTHONPATH="$snap${PYTHONPATH:+:$PYTHONPATH}" "$py" "$here/tests/fuzz/fuzz_api.py" \
        "$out/py-corpus" -max_total_time="$py_secs" -timeout=30 -seed=1 -print_final_stats=1 \
        -artifact_prefix="$out/artifacts/py-" > "$out/atheris.log" 2>&1 || at_rc=$?
    grep -E "^#[0-9]+ *(INITED|DONE)|stat::|Uncaught|Error" "$out/atheris.log" || true
    [ "$at_rc" = 0 ] || rc=1
else
    echo "run.sh: atheris is not installed (pip install atheris); Python harness skipped" >&2
    rm -f "$out/atheris.log"
fi
"$py" "$here/tests/fuzz/report.py" --build "$out" --libfuzzer-seconds "$secs" --libfuzzer-rc "$lf_rc" \
    --atheris-seconds "$py_secs" --atheris-rc "$at_rc" -o "$here/benchmarks/results/fuzz.md"
exit "$rc"
