"""Every command that needs an optional module says which extra to install (exit 2, one line), with
the module really hidden from a fresh interpreter; what does not need it keeps working without it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from archviz.optional import EXTRAS, MissingDependencyError, as_missing_dependency, install_command

ROOT = Path(__file__).resolve().parent.parent
HIDER = ROOT / "tests" / "hide_modules.py"


def run_without(hidden: str, *args: str, cwd: Path, broken: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "ARCHVIZ_NO_CACHE": "1"}
    env.pop("ARCHVIZ_DEBUG", None)
    return subprocess.run([sys.executable, str(HIDER), hidden, broken, "--", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def assert_names_the_extra(result: subprocess.CompletedProcess[str], module: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: ") and f"needs {module}, which is not installed" in first, result.stderr
    assert first.endswith(install_command(module)), first
    assert result.stderr.count("error:") == 1


def test_every_extra_named_in_messages_exists_in_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    for module, extra in EXTRAS.items():
        assert any(requirement.startswith(module) for requirement in extras[extra.name]), (module, extra.name)
    # Drawing is part of the tool: a plain install carries matplotlib and cairosvg; torch stays optional.
    defaults = {requirement.split(">")[0].split("=")[0] for requirement in project["dependencies"]}
    assert {"matplotlib", "cairosvg"} <= defaults
    assert "torch" not in defaults


def test_an_import_error_deep_inside_maps_to_its_extra() -> None:
    mapped = as_missing_dependency(ModuleNotFoundError("No module named 'matplotlib.figure'", name="matplotlib.figure"))
    assert isinstance(mapped, MissingDependencyError) and isinstance(mapped, ImportError)
    assert mapped.render().startswith("drawing charts needs matplotlib, which is not installed; "
                                      "install it with: pip install 'archviz[charts]'")
    assert as_missing_dependency(ModuleNotFoundError("No module named 'yaml'", name="yaml")) is None
    assert as_missing_dependency(ValueError("matplotlib")) is None


def test_chart_without_matplotlib(tmp_path: Path) -> None:
    result = run_without("matplotlib", "chart", "--out", "vgg16-cost.svg", cwd=tmp_path)
    assert_names_the_extra(result, "matplotlib")
    assert list(tmp_path.iterdir()) == []


def test_html_report_without_matplotlib(tmp_path: Path) -> None:
    result = run_without("matplotlib", "report", "vgg16", "--out", "vgg16.html", cwd=tmp_path)
    assert_names_the_extra(result, "matplotlib")
    assert list(tmp_path.iterdir()) == []


def test_sweep_chart_without_matplotlib_refuses_before_printing_rows(tmp_path: Path) -> None:
    result = run_without("matplotlib", "sweep", "resnet18", "--vary", "width=0.25,0.5", "--chart", "pareto.svg",
                         cwd=tmp_path)
    assert_names_the_extra(result, "matplotlib")
    assert result.stdout == ""  # the table is not printed and then abandoned
    assert list(tmp_path.iterdir()) == []


def test_sweep_without_chart_needs_no_matplotlib(tmp_path: Path) -> None:
    result = run_without("matplotlib,torch,cairosvg", "sweep", "vgg16", "--vary", "num_classes=10,1000",
                         "--format", "csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    params = lines[0].split(",").index("params")
    # VGG16's classifier ends in fc8 = 4096 x classes + classes: 10 classes instead of 1000 is 990 x 4097 fewer.
    assert [int(line.split(",")[params]) for line in lines[1:]] == [138_357_544 - 990 * 4097, 138_357_544]


def test_blocks_png_without_cairosvg(tmp_path: Path) -> None:
    result = run_without("cairosvg", "diagram", "vgg19", "--style", "blocks", "--out", "vgg19.png", cwd=tmp_path)
    assert_names_the_extra(result, "cairosvg")
    assert list(tmp_path.iterdir()) == []
    svg = run_without("cairosvg,matplotlib", "diagram", "vgg19", "--style", "blocks", "--out", "vgg19.svg",
                      cwd=tmp_path)
    assert svg.returncode == 0, svg.stderr
    assert (tmp_path / "vgg19.svg").read_text(encoding="utf-8").startswith("<svg")


def test_blocks_png_without_the_cairo_library(tmp_path: Path) -> None:
    """cairosvg installed, the system's libcairo not: cairocffi raises OSError on import."""
    result = run_without("", "diagram", "vgg19", "--style", "blocks", "--out", "vgg19.png", cwd=tmp_path,
                         broken="cairocffi")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: cannot convert SVG to PNG: cairosvg is installed but the Cairo library")
    assert "apt-get install libcairo2" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [["verify", "vgg16"], ["verify", "vgg16", "--device", "cpu", "--benchmark"]])
def test_verify_without_torch(tmp_path: Path, args: list[str]) -> None:
    result = run_without("torch", *args, cwd=tmp_path)
    assert_names_the_extra(result, "torch")
    assert "--index-url https://download.pytorch.org/whl/cpu" in result.stderr  # the CPU build, offered


def test_what_needs_no_optional_module_works_without_any(tmp_path: Path) -> None:
    hidden = "torch,matplotlib,cairosvg"
    export = run_without(hidden, "export", "vgg16", "--to", "pytorch", cwd=tmp_path)
    assert export.returncode == 0, export.stderr
    assert "import torch" in export.stdout and "nn.Conv2d(3, 64" in export.stdout
    summary = run_without(hidden, "summary", "vgg16", "--format", "json", cwd=tmp_path)
    assert summary.returncode == 0, summary.stderr
    assert json.loads(summary.stdout)["totals"]["params"] == 138_357_544


@pytest.mark.parametrize(("hidden", "module", "args"), [
    ("onnx", "onnx", ["export", "vgg16", "--to", "onnx", "--out", "vgg16.onnx"]),
    ("onnxruntime", "onnxruntime", ["verify", "vgg16", "--backend", "onnxruntime"]),
    ("keras", "keras", ["verify", "vgg16", "--backend", "keras"]),
])
def test_the_other_frameworks_name_their_extra(tmp_path: Path, hidden: str, module: str, args: list[str]) -> None:
    result = run_without(hidden, *args, cwd=tmp_path)
    assert_names_the_extra(result, module)
    assert list(tmp_path.iterdir()) == []
