#!/usr/bin/env bash
# Set up a fresh Debian machine (Python 3.11, root) and run the whole test suite.
# Used by .ci/run and the GitHub workflow; the README's second command.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
if command -v apt-get >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  # dot for diagrams, Chromium + driver for the HTML report's browser test, cairo for SVG -> PNG
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz chromium chromium-driver libcairo2 poppler-utils >/dev/null
fi

# A stock Debian's python3 makes no venv (ensurepip is missing) until Debian's python3-venv is installed.
if ! python3 -m venv .venv; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "python3 -m venv failed and there is no apt-get to install python3-venv with" >&2
    exit 1
  fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  python3 -m venv --clear .venv
fi
. .venv/bin/activate
python -m pip install -q --upgrade pip
# torch first, pinned, so that nothing later picks another version. Which build that is depends on
# where pip looks: a machine whose pip is configured with a local CPU wheel (find-links) gets the
# CPU build; from the public registry, torch 2.13.0 on Linux x86-64 is the CUDA build (the torch
# wheel and 19 CUDA/triton wheels, about 2.7 GB), which runs on the CPU too. For the CPU build from
# PyTorch's own CPU wheel index: ARCHVIZ_TORCH_INDEX=https://download.pytorch.org/whl/cpu bash scripts/test.sh
# (not the default: CI here reaches the registry, not that index).
TORCH_INDEX=()
if [ -n "${ARCHVIZ_TORCH_INDEX:-}" ]; then
  TORCH_INDEX=(--index-url "$ARCHVIZ_TORCH_INDEX")
fi
python -m pip install -q torch==2.13.0 ${TORCH_INDEX[@]+"${TORCH_INDEX[@]}"}
python -m pip install -q -e '.[test,torch,charts,onnx,keras]'

archviz check
# Lint and type-check with the rules [tool.ruff.lint] and [tool.mypy] in pyproject.toml name;
# either failing fails the run before pytest starts.
ruff check archviz tests benchmarks scripts
mypy archviz tests
# The torchvision tier (tests marked torchvision, tests/test_reference_models.py): the built-in
# specs against torchvision's own models. torchvision 0.29.1 needs torch 2.14.1, whose wheel is
# the CUDA build (~5.5 GB, about 70 s to install; it runs on the CPU), and torchvision 0.28 does
# not import beside the CPU torch 2.13.0 above, so the tier has a venv of its own. It runs before
# the main suite so that pytest's summary stays the last line; ARCHVIZ_NO_TORCHVISION=1 skips it.
if [ "$#" -eq 0 ] && [ "${ARCHVIZ_NO_TORCHVISION:-}" != 1 ]; then
  python -m venv .venv-torchvision
  .venv-torchvision/bin/python -m pip install -q torch==2.14.1 torchvision==0.29.1
  .venv-torchvision/bin/python -m pip install -q pytest onnx -e .
  .venv-torchvision/bin/python -m pytest -q -p no:cacheprovider -m torchvision tests/test_reference_models.py \
    tests/test_import_torchvision.py
fi
# Line coverage in the same pytest run (docs/robustness.md): the report and the gate's verdict
# print before pytest's summary line, which stays the last line; below 95% the run fails.
# A run narrowed by arguments (scripts/test.sh tests/test_ops.py) skips the gate.
COVERAGE=()
if [ "$#" -eq 0 ]; then
  COVERAGE=(--cov=archviz.analysis --cov=archviz.spec --cov=archviz.ops
            --cov-report=term-missing:skip-covered --cov-fail-under=95)
fi
python -m pytest -q -p no:cacheprovider ${COVERAGE[@]+"${COVERAGE[@]}"} "$@"
