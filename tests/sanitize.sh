#!/usr/bin/env bash
# Build deepamp with AddressSanitizer + UBSan (CMake option DEEPAMP_SANITIZE=ON)
# into a separate venv and run the test suite against that build.
#
# Usage: tests/sanitize.sh [pytest args...]      (default: the whole suite)
#
# What works (documented from running it, gcc 12 / CPython 3.11 / pysam wheel):
#  * The venv is created with --system-site-packages so numpy/pysam/pytest come
#    from the base interpreter; deepamp itself is pip-installed (non-editable)
#    into the venv with scikit-build-core, build dir build/sanitize.
#  * The extension modules are linked with -fsanitize=address,undefined, but the
#    python executable is not, so the ASan runtime must be loaded first:
#    LD_PRELOAD=$(gcc -print-file-name=libasan.so).  libubsan is linked in as a
#    normal dependency and needs no preload.
#  * detect_leaks=0: CPython (and pysam's htslib) keep interned objects and
#    caches alive until exit, so LeakSanitizer reports thousands of "leaks" that
#    are not ours.  Real heap errors (overflow, use-after-free, double free) are
#    still fatal.
#  * halt_on_error / abort_on_error for UBSan too, so a UB report fails the test
#    (print_stacktrace gives file:line).
#  * The tests are run from a copy-free cwd (the repository) with the source tree
#    NOT on PYTHONPATH, so the sanitized installed deepamp is the one imported;
#    the script checks that.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${PYTHON:-python3}"
venv="$here/build/sanitize-venv"
cd "$here"
if [ ! -x "$venv/bin/python" ]; then
    "$py" -m venv --system-site-packages "$venv"
fi
"$venv/bin/python" -m pip install -q --no-build-isolation --no-deps \
    -C cmake.define.DEEPAMP_SANITIZE=ON -C build-dir=build/sanitize -C cmake.build-type=RelWithDebInfo .
asan="$(${CC:-gcc} -print-file-name=libasan.so)"
if [ ! -e "$asan" ]; then
    echo "sanitize.sh: libasan.so not found (gcc -print-file-name); install libasan" >&2
    exit 1
fi
# pytest captures fd 2, so a report printed just before the abort is lost:
# reports go to files under build/sanitize-logs instead, and are shown at the end.
logdir="$here/build/sanitize-logs"
rm -rf "$logdir"; mkdir -p "$logdir"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:allocator_may_return_null=1:log_path=$logdir/asan"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:log_path=$logdir/ubsan"
unset PYTHONPATH
# The imported deepamp must be the sanitized one, not src/.
LD_PRELOAD="$asan" "$venv/bin/python" - <<'PY'
import deepamp._core as c, os
assert "sanitize-venv" in c.__file__, c.__file__
print("sanitize.sh: using", c.__file__)
PY
cd "$here/tests"
rc=0
LD_PRELOAD="$asan" "$venv/bin/python" -m pytest -p no:cacheprovider -q "${@:-.}" || rc=$?
for f in "$logdir"/*; do
    [ -e "$f" ] || continue
    echo "==== sanitizer report $f" >&2
    cat "$f" >&2
    rc=${rc/#0/1}
done
exit "$rc"
