#!/usr/bin/env bash
# GPU check for archviz's PyTorch backend, on one CUDA GPU (sized for an H100/H200: ~1-2 minutes).
#
#   bash scripts/gpu-check.sh            # from the repository root
#
# Verifies every built-in spec on cuda (default input and a second size), benchmarks VGG16 and
# VGG19 at batch 64 in fp32 and in bf16 channels_last, and writes results.json and results.md
# into $OUT when set, else reports/gpu/. Commit those under reports/gpu/.
#
# Python: if the python3 on PATH already has torch and archviz's dependencies, it is used as it is
# with the repository on PYTHONPATH (no network needed). Otherwise a virtual environment is made
# (.venv-gpu; with --system-site-packages when torch is importable) and torch and archviz are
# installed with pip. PYTHON=... picks another interpreter. Everything runs under one hard timeout.
set -euo pipefail

cd "$(dirname "$0")/.."
LIMIT=${GPU_CHECK_TIMEOUT:-270}
DEST=${OUT:-reports/gpu}
PY=${PYTHON:-python3}
export PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1
deadline=$((SECONDS + LIMIT))

if "$PY" -c "import torch, yaml, networkx, rich, typer" 2>/dev/null; then
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
else
    VENV=${VENV:-.venv-gpu}
    if "$PY" -c "import torch" 2>/dev/null; then
        "$PY" -m venv --system-site-packages "$VENV"
    else
        "$PY" -m venv "$VENV"
        timeout $((deadline - SECONDS)) "$VENV/bin/pip" install -q torch
    fi
    timeout $((deadline - SECONDS)) "$VENV/bin/pip" install -q -e .
    PY="$VENV/bin/python"
fi

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
mkdir -p "$DEST"
timeout $((deadline - SECONDS)) "$PY" scripts/gpu_check.py --out "$DEST" "$@"
