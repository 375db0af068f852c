#!/usr/bin/env bash
# Build deepamp's extensions with AddressSanitizer + UBSan (CMake option
# DEEPAMP_SANITIZE=ON) in build/sanitize and run the test suite against them;
# with SANITIZER=thread, ThreadSanitizer (DEEPAMP_SANITIZE=thread) in
# build/sanitize-thread over the tests that count with several threads.
#
# Usage: [SANITIZER=address|thread] tests/sanitize.sh [pytest args...]
#        (default: the whole suite; with thread, the multi-threaded tests)
#
#  * CMake configures and builds into build/sanitize (RelWithDebInfo); nothing
#    is installed and nothing is written into src/deepamp.
#  * The tests import a private snapshot, build/sanitize/pkg/deepamp: a copy of
#    src/deepamp with the sanitized _*.so in place of the normal ones, first on
#    PYTHONPATH (as benchmarks/run.sh does).  Tests that start subprocesses pass
#    the imported package's parent on, so they use the snapshot too; the script
#    checks that the snapshot is what gets imported.
#  * The extensions are linked with -fsanitize=address,undefined but python is
#    not, so the ASan runtime is preloaded: LD_PRELOAD=$(gcc -print-file-name=libasan.so).
#    libubsan is a normal dependency.
#  * detect_leaks=0: CPython (and pysam's htslib) keep interned objects and
#    caches until exit, so LeakSanitizer reports thousands of "leaks" that are
#    not ours (the libFuzzer harness, tests/fuzz, checks deepamp's C core for
#    leaks).  Heap errors (overflow, use-after-free, double free) and UB are fatal.
#  * pytest captures fd 2, so reports go to files in build/sanitize-logs and are
#    printed at the end; any report makes the script fail.
#  * The outcome (commit, csrc state, compiler, pytest summary, reports) is
#    written to benchmarks/results/sanitize.md (SANITIZE_REPORT= to change or
#    empty to skip).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${PYTHON:-python3}"
kind="${SANITIZER:-address}"
case "$kind" in
    address) bdir="$here/build/sanitize"; define=ON; runtime=libasan.so; marker=__asan_init
             title="AddressSanitizer + UBSan"; default_report=sanitize.md; default_tests=(.) ;;
    thread)  bdir="$here/build/sanitize-thread"; define=thread; runtime=libtsan.so; marker=__tsan_init
             title="ThreadSanitizer"; default_report=sanitize-thread.md
             default_tests=(test_determinism.py test_reentrant.py test_repeated_names.py test_stream.py test_pileup_oracle.py test_mate_spill.py
                            test_pileup_errors.py test_pileup_deep.py) ;;
    *) echo "sanitize.sh: SANITIZER must be address or thread, not $kind" >&2; exit 2 ;;
esac
snap="$bdir/pkg"
cd "$here"

# What was compiled: csrc may carry uncommitted work in a shared checkout.
dirty="$(git status --short -- csrc | tr '\n' ' ')"
csrc_state="HEAD $(git rev-parse --short HEAD), csrc/*.c+*.h sha256 $(cat csrc/*.c csrc/*.h | sha256sum | cut -c1-16), ${dirty:-clean}"
gen=()
if [ ! -e "$bdir/CMakeCache.txt" ] && command -v ninja >/dev/null; then gen=(-G Ninja); fi
cmake -S "$here" -B "$bdir" "${gen[@]}" -DDEEPAMP_SANITIZE="$define" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPython_EXECUTABLE="$(command -v "$py")" > "$bdir.configure.log" 2>&1 \
    || { cat "$bdir.configure.log" >&2; exit 1; }
cmake --build "$bdir" -j 2 > "$bdir.build.log" 2>&1 || { tail -50 "$bdir.build.log" >&2; exit 1; }

rm -rf "$snap"; mkdir -p "$snap"
cp -r src/deepamp "$snap/deepamp"
find "$snap" -name __pycache__ -prune -exec rm -rf {} +
rm -f "$snap"/deepamp/_*.so
cp "$bdir"/_*.so "$snap/deepamp/"

preload="$(${CC:-gcc} -print-file-name=$runtime)"
if [ ! -e "$preload" ]; then
    echo "sanitize.sh: $runtime not found (gcc -print-file-name); install it" >&2
    exit 1
fi
# The interpreter itself, not a wrapper script (a pyenv shim's shell and
# helpers crash with libtsan preloaded).
pyexe="$("$py" -c 'import sys; print(sys.executable)')"
logdir="$here/build/sanitize-logs"
rm -rf "$logdir"; mkdir -p "$logdir"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:allocator_may_return_null=1:log_path=$logdir/asan"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:log_path=$logdir/ubsan"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_path=$logdir/tsan"
export PYTHONPATH="$snap"
# The imported extensions must be the sanitized ones in the snapshot.
LD_PRELOAD="$preload" "$pyexe" - "$snap" "$marker" <<'PY'
import os, sys
import deepamp._core as c, deepamp._stats as s, deepamp._phase as p
for m in (c, s, p):
    assert os.path.dirname(m.__file__) == os.path.join(sys.argv[1], "deepamp"), m.__file__
    assert sys.argv[2].encode() in open(m.__file__, "rb").read(), f"{m.__file__} is not sanitized"
print("sanitize.sh: using", os.path.dirname(c.__file__))
PY
cd "$here/tests"
started=$(date -u '+%Y-%m-%d %H:%M UTC')
set +e
if [ "$#" = 0 ]; then set -- "${default_tests[@]}"; fi
LD_PRELOAD="$preload" "$pyexe" -m pytest -p no:cacheprovider -q "$@" 2>&1 | tee "$logdir/pytest.log"
rc=${PIPESTATUS[0]}
set -e
reports=()
for f in "$logdir"/asan* "$logdir"/ubsan* "$logdir"/tsan*; do
    [ -e "$f" ] || continue
    echo "==== sanitizer report $f" >&2
    cat "$f" >&2
    reports+=("$f")
    rc=${rc/#0/1}
done
report="${SANITIZE_REPORT-$here/benchmarks/results/$default_report}"
if [ -n "$report" ]; then
    {
        echo "# deepamp under $title"
        echo
        echo "Written by \`SANITIZER=$kind tests/sanitize.sh${*:+ $*}\` (started $started): extensions built with"
        echo "\`-DDEEPAMP_SANITIZE=$define\` ($("${CC:-gcc}" --version | head -1), RelWithDebInfo, C core at -O1),"
        echo "$runtime preloaded into $("$py" --version); halt on any report$([ "$kind" = address ] && echo ', `detect_leaks=0`')."
        echo
        echo "* Compiled: $csrc_state"
        echo "* pytest: \`$(grep -E '(passed|failed|error)' "$logdir/pytest.log" | tail -1 | sed 's/=//g;s/^ *//;s/ *$//')\` (exit $rc)"
        if [ "${#reports[@]}" = 0 ]; then
            echo "* Sanitizer reports: none."
        else
            echo "* Sanitizer reports (${#reports[@]}):"
            for f in "${reports[@]}"; do
                echo
                echo '```'
                grep -E "ERROR|runtime error|SUMMARY|^    #[0-9] " "$f" | head -20
                echo '```'
            done
        fi
    } > "$report.tmp" && mv "$report.tmp" "$report"
    echo "sanitize.sh: wrote $report" >&2
fi
exit "$rc"
