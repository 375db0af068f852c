#!/usr/bin/env bash
# The phasing speed benchmark (benchmarks/test_phase_speed.py):
#   benchmarks/results/phase_speed.json  pytest-benchmark JSON (every round, machine info)
#   benchmarks/results/phase_speed.md    medians and the target (phase <= 2 x call)
# Usage: [BUILD_DIR=build/...] benchmarks/run_phase.sh [extra pytest args]
# Needs: compiled extensions (in src/deepamp, or BUILD_DIR), pysam, pytest-benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
mkdir -p benchmarks/results benchmarks/data

# A private snapshot of the package (see snapshot.sh).
. benchmarks/snapshot.sh

"$PY" benchmarks/datagen.py phase

"$PY" -m pytest benchmarks/test_phase_speed.py -o addopts= -p no:cacheprovider -q \
  --benchmark-enable --benchmark-json=benchmarks/results/phase_speed.json \
  --benchmark-columns=median,iqr,min,max,rounds --benchmark-sort=name "$@"

"$PY" benchmarks/phase_summary.py benchmarks/results/phase_speed.json benchmarks/results/phase_speed.md
