"""The README's install instructions say what really happens, and scripts/test.sh does what they say."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
TEST_SH = (ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def test_the_torch_pin_is_not_called_the_cpu_build() -> None:
    """`pip install torch==2.13.0` is the CPU build only where a local CPU wheel is configured; from the
    public registry it is the CUDA build. The README says so and offers PyTorch's CPU index."""
    for block in code_blocks(README, "bash"):
        for line in block.splitlines():
            if "pip install torch" in line and CPU_INDEX not in line:
                assert "cpu" not in line.lower(), line
    assert f"pip install torch==2.13.0 --index-url {CPU_INDEX}" in README
    assert "CUDA build" in README
    assert "torch==2.13.0 (CPU)" not in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_test_sh_keeps_the_plain_pin_and_offers_the_cpu_index() -> None:
    # The default stays the plain pin (CI reaches the registry, not PyTorch's index); one variable picks the index.
    assert re.search(r'^python -m pip install -q torch==2\.13\.0 \$\{TORCH_INDEX\[@\]\+"\$\{TORCH_INDEX\[@\]\}"\}$',
                     TEST_SH, flags=re.MULTILINE)
    assert 'TORCH_INDEX=(--index-url "$ARCHVIZ_TORCH_INDEX")' in TEST_SH
    assert f"ARCHVIZ_TORCH_INDEX={CPU_INDEX} bash scripts/test.sh" in TEST_SH


def test_python3_venv_is_installed_where_a_venv_cannot_be_made() -> None:
    """A stock Debian's `python3 -m venv` fails until python3-venv is installed."""
    fallback = TEST_SH[TEST_SH.index("if ! python3 -m venv .venv; then"):]
    assert "apt-get install -y -qq python3-venv" in fallback.split("fi\n. .venv/bin/activate")[0]
    assert "python3 -m venv --clear .venv" in fallback
    first = code_blocks(README, "bash")[0]
    assert "apt-get install -y python3-venv" in first
    assert first.index("python3-venv") < first.index("python3 -m venv .venv")
