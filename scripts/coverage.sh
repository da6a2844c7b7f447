#!/usr/bin/env bash
# Line coverage of the test suite, with the robustness gate of docs/robustness.md:
# archviz/analysis.py, archviz/spec/ and archviz/ops/ at >= 95% (one number over those files).
#
#   bash scripts/coverage.sh                 # the whole suite, then every module's coverage
#   bash scripts/coverage.sh tests/test_ops.py -x
#
# It prints pytest's summary, then the coverage of every archviz module (for reading), then the
# gated files with their missing lines, and exits non-zero when the gate fails. CI runs the same
# gate inside its one pytest run (scripts/test.sh: --cov ... --cov-fail-under=95).
set -euo pipefail
cd "$(dirname "$0")/.."
GATED='archviz/analysis.py,archviz/spec/*,archviz/ops/*'
rm -f .coverage
python -m pytest -q -p no:cacheprovider --cov=archviz --cov-report= "$@"
python -m coverage report --skip-empty --sort=cover
echo
echo "gate: ${GATED} >= 95%"
python -m coverage report --include="${GATED}" --show-missing --fail-under=95
