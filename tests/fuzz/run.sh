#!/usr/bin/env bash
# Build and run the libFuzzer harness over the deepamp C core, then the
# atheris harness over the Python entry points, each for a fixed budget.
#
#   tests/fuzz/run.sh [SECONDS]        (default 120 per harness)
#
# Needs clang with libFuzzer (apt-get install clang libclang-rt-14-dev) and
# pysam (its libchtslib provides htslib).  The atheris part is skipped with a
# message if atheris is not importable.  Crashers are left in
# build/fuzz/artifacts; minimise one with
#   build/fuzz/fuzz_pileup -minimize_crash=1 -runs=10000 CRASH
# and add it to tests/test_malformed.py.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
secs="${1:-120}"
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

"$cc" -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -fsanitize-recover=nonnull-attribute -I"$here/csrc" -I"$hts_inc" \
    "$here/tests/fuzz/fuzz_pileup.c" "$here"/csrc/*.c \
    -L"$pysam_dir" "-l:$hts_lib" -Wl,-rpath,"$pysam_dir" \
    -L"$py_lib" -l"python$py_ver" -Wl,-rpath,"$py_lib" -lpthread -lm \
    -o "$out/fuzz_pileup"

"$py" "$here/tests/fuzz/make_seeds.py" "$out/seeds"
# detect_leaks stays on: the harness frees everything it allocates.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:suppressions=$here/tests/fuzz/ubsan.supp}"
rc=0
"$out/fuzz_pileup" "$out/corpus" "$out/seeds" -max_total_time="$secs" -max_len=65536 \
    -rss_limit_mb=2048 -timeout=20 -seed=1 -print_final_stats=1 \
    -artifact_prefix="$out/artifacts/" 2>&1 | tee "$out/libfuzzer.log" | grep -E "^#[0-9]+ *(INITED|DONE)|stat::|ERROR|SUMMARY" || true
[ "${PIPESTATUS[0]}" = 0 ] || rc=1

if "$py" -c 'import atheris' 2>/dev/null; then
    PYTHONPATH="$here/src${PYTHONPATH:+:$PYTHONPATH}" "$py" "$here/tests/fuzz/fuzz_api.py" \
        "$out/py-corpus" -max_total_time="$secs" -timeout=30 -seed=1 -print_final_stats=1 \
        -artifact_prefix="$out/artifacts/py-" 2>&1 | tee "$out/atheris.log" | grep -E "^#[0-9]+ *(INITED|DONE)|stat::|Uncaught|Error" || true
    [ "${PIPESTATUS[0]}" = 0 ] || rc=1
else
    echo "run.sh: atheris is not installed (pip install atheris); Python harness skipped" >&2
fi
exit "$rc"
