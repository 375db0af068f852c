# Sourced by the benchmark runners (run.sh, run_phase.sh) from the checkout root:
# benchmark a private snapshot of the package.  Other checkouts/builds copy
# their extension modules over src/deepamp/*.so in place, which changes the
# code under test mid-run and kills running processes with SIGSEGV/SIGBUS.
# BUILD_DIR (e.g. build/dev-bench) takes the .so files from that build instead.
# Sets SNAP, exports DEEPAMP_BENCH_SRC and PYTHONPATH; writes the extensions'
# sha256 to benchmarks/data/so.sha256.
SNAP="$PWD/benchmarks/data/pkg"
rm -rf "$SNAP"; mkdir -p "$SNAP"
cp -r src/deepamp "$SNAP/deepamp"
find "$SNAP" -name __pycache__ -prune -exec rm -rf {} +
if [ -n "${BUILD_DIR:-}" ]; then
  for so in "$BUILD_DIR"/_*.so; do cp "$so" "$SNAP/deepamp/"; done
fi
sha256sum "$SNAP"/deepamp/*.so | sed "s#$SNAP/##" > benchmarks/data/so.sha256
export DEEPAMP_BENCH_SRC="$SNAP"
export PYTHONPATH="$SNAP${PYTHONPATH:+:$PYTHONPATH}"
