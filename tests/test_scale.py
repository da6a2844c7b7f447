"""Issue 13, classes 8, 9 and 10: what a command costs is bounded before it starts.

Sweeps never build their grid (class 9); ``verify --device cpu`` refuses a model the machine
cannot hold (class 8); the layer limit is what every command analyses in seconds (class 10).
"""

from __future__ import annotations

import itertools
import os
import select
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from typer.testing import CliRunner

import archviz
from archviz.cli.main import app
from archviz.errors import SpecError
from archviz.sweep import MAX_TABLE_ROWS, MAX_VARIANTS, Values, lazy_product, parse_vary, plan_sweep, run_sweep

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


# -- class 9: sweeps stream from a lazy grid ---------------------------------------------------
def test_ninety_six_million_variants_take_no_memory() -> None:
    tracemalloc.start()
    try:
        start = time.perf_counter()
        grid = parse_vary(["input=32..8000031", "num_classes=10,20..29,1000"])
        plan = plan_sweep("vgg16", grid)
        first = next(run_sweep(plan))
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(grid["input"]) == 8_000_000 and grid["input"][-1] == 8_000_031
    assert plan.size == 8_000_000 * 12  # 1 + 10 + 1 classes
    assert (first["num_classes"], first["input"], first["params"]) == (10, (3, 32, 32), 33_638_218)
    assert elapsed < 5  # the old grid was a list of 100M shapes: MemoryError at 3.9 GB
    assert peak < 20_000_000  # the network and its plan; nothing per value


def test_the_memory_of_a_long_sweep_does_not_grow_with_its_rows() -> None:
    rows = archviz.iter_sweep("vgg16", vary={"input": range(32, 10_000_032)})
    for _ in range(200):
        next(rows)  # warm: the plan, the first memo entries
    tracemalloc.start()
    try:
        for _ in range(1_000):
            next(rows)
        after_1000, _ = tracemalloc.get_traced_memory()
        for _ in range(2_000):
            row = next(rows)
        after_3000, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert row["input"] == (3, 3231, 3231)
    assert after_3000 - after_1000 < 1_500_000  # bounded memos only; rows are not kept


def test_values_and_lazy_product_agree_with_lists_and_itertools() -> None:
    pieces = [(7, 8), range(10, 20, 3), (), ("a",), range(5, 0, -2)]
    values = Values(pieces)
    expected = [7, 8, 10, 13, 16, 19, "a", 5, 3, 1]
    assert list(values) == expected and len(values) == len(expected) and values == expected
    assert [values[i] for i in range(-len(expected), len(expected))] == expected * 2
    for bad in (len(expected), -len(expected) - 1):
        with pytest.raises(IndexError):
            values[bad]
    with pytest.raises(TypeError):
        values[1:2]
    assert values != expected[:-1] and values != [*expected[:-1], 2] and values != "abc"
    for sequences in ([], [range(3)], [range(2), "xy", (True, None, 1.5)], [range(2), (), "ab"], [values, values]):
        assert list(lazy_product(sequences)) == list(itertools.product(*sequences))


def test_vary_ranges_are_checked_without_expanding() -> None:
    with pytest.raises(SpecError, match="input sizes must be >= 1"):
        plan_sweep("vgg16", parse_vary(["input=0..99999999"]))
    with pytest.raises(SpecError, match="batch sizes must be integers >= 1"):
        plan_sweep("vgg16", parse_vary(["batch=0..99999999"]))
    with pytest.raises(SpecError, match="input sizes must be >= 1"):
        plan_sweep("vgg16", {"input": range(100, -1, -1)})  # the least value is at the end
    start = time.perf_counter()
    with pytest.raises(SpecError, match=f"400,000,000 variants; the limit is {MAX_VARIANTS:,}"):
        plan_sweep("vgg16", parse_vary(["num_classes=1..20000", "input=32..20031"]))
    with pytest.raises(SpecError, match="has 100,000,001 values"):
        parse_vary(["num_classes=1..100000000,7"])  # the pieces together
    assert time.perf_counter() - start < 5


def _first_lines(args: list[str], count: int, timeout: float) -> tuple[list[str], float]:
    """The first ``count`` lines a command prints and the seconds until the last of them; then it is stopped."""
    process = subprocess.Popen([sys.executable, "-c", "from archviz.cli.main import run; run()", *args], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ})
    assert process.stdout is not None
    lines: list[str] = []
    start = time.perf_counter()
    buffer = b""
    try:
        while len(lines) < count and time.perf_counter() - start < timeout:
            ready, _, _ = select.select([process.stdout], [], [], 0.5)
            if ready:
                chunk = os.read(process.stdout.fileno(), 65536)
                if not chunk:
                    break
                buffer += chunk
                *complete, buffer = buffer.split(b"\n")
                lines += [line.decode() for line in complete]
        return lines[:count], time.perf_counter() - start
    finally:
        process.kill()
        process.wait()


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_the_first_row_of_a_huge_sweep_comes_at_once(fmt: str) -> None:
    lines, seconds = _first_lines(["sweep", "vgg16", "--vary", "input=32..100000031", "--format", fmt],
                                  2 if fmt == "csv" else 12, timeout=30)
    text = "\n".join(lines)
    assert "3x32x32" in text or '"input": [\n' in text or "32" in text
    assert "37694248" in text  # VGG16 at 32x32: the first row's params (flatten gives 512 features)
    if fmt == "json":
        assert '"variants": 100000000' in text
    assert seconds < 15  # before: no row in 20 s for a 10M range, MemoryError for this one


def test_a_table_too_long_to_lay_out_is_refused_before_it_runs() -> None:
    result = runner.invoke(app, ["sweep", "vgg16", "--vary", "input=1..20000:2", "--vary", "batch=1..3"])
    assert result.exit_code == 2
    assert f"this grid has 30,000 variants; the table's limit is {MAX_TABLE_ROWS:,}" in result.stderr
    assert "--format csv" in result.stderr and result.stdout == ""


# -- class 8: verify --device cpu knows its memory before it allocates -------------------------
TWO_LAYERS = """\
name: two
input: [3, 8, 8]
layers:
  - conv2d: {filters: 2, kernel: 3}
  - relu
"""


def _two_layers(tmp_path: Path) -> Path:
    spec = tmp_path / "two.yaml"
    spec.write_text(TWO_LAYERS)
    return spec


def test_the_estimate_counts_weights_input_and_live_outputs(tmp_path: Path) -> None:
    from archviz.backends.pytorch.memory import estimate

    analysis = archviz.load(_two_layers(tmp_path)).analyze()
    # weights 2*3*3*3 + 2 = 56 values; input 3*8*8 = 192; each output 2*6*6 = 72 values. The conv's
    # output is alive while relu writes its own (2 x 72), plus one workspace of the largest (72).
    assert estimate(analysis) == (56 * 4, 192 * 4, 3 * 72 * 4)
    assert estimate(analysis, "fp16") == (56 * 2, 192 * 2 + 192 * 4, 3 * 72 * 2)  # input drawn in float32
    batch4 = archviz.load(_two_layers(tmp_path)).analyze(batch=4)
    assert estimate(batch4).total == 56 * 4 + 4 * 192 * 4 + 4 * 3 * 72 * 4


def test_the_estimate_frees_an_output_after_its_last_reader() -> None:
    from archviz.backends.pytorch.memory import estimate

    analysis = archviz.load("resnet18").analyze((3, 64, 64))
    value = 4
    peak_live = 0
    for index in range(len(analysis.layers)):  # the plain way: which outputs are still needed here
        alive = 0
        for earlier, record in enumerate(analysis.layers[: index + 1]):
            readers = [i for i, later in enumerate(analysis.layers) if record.name in later.inputs]
            if earlier == index or not readers or max(readers) >= index:
                alive += record.output_elements * value
        peak_live = max(peak_live, alive)
    largest = max(record.output_elements for record in analysis.layers) * value
    assert estimate(analysis).activations == peak_live + largest
    assert peak_live < sum(record.output_elements for record in analysis.layers) * value  # not everything at once


def test_cpu_verify_of_a_model_too_large_is_refused_before_allocating() -> None:
    pytest.importorskip("torch")
    start = time.perf_counter()
    result = runner.invoke(app, ["verify", "vgg16", "--device", "cpu", "--input", "3x30000x30000"])
    assert result.exit_code == 2 and result.stdout == ""
    message = result.stderr
    assert message.startswith("error: verify --device cpu would allocate about ")
    # weights: 512 * 937 * 937 * 4096 + 4096 (fc6 grows with the input) + the other 7 layers
    assert "weights 7,365.1 GB" in message and "available" in message
    assert "--device meta" in message and "--force" in message
    assert time.perf_counter() - start < 20


def test_force_runs_anyway_and_large_runs_say_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    from archviz.backends.pytorch import memory

    spec = str(_two_layers(tmp_path))
    monkeypatch.setattr(memory, "available_bytes", lambda: 1_000)
    refused = runner.invoke(app, ["verify", spec, "--device", "cpu"])
    assert refused.exit_code == 2
    assert "this machine has 0.0 MB available" in refused.stderr
    monkeypatch.setattr(memory, "WARN_BYTES", 1)
    forced = runner.invoke(app, ["verify", spec, "--device", "cpu", "--force"])
    assert forced.exit_code == 0, forced.output
    assert "warning: --device cpu allocates about 0.0 MB for this run; 0.0 MB available" in forced.stderr
    import archviz.torch

    with pytest.raises(memory.BackendError, match="would allocate"):
        archviz.torch.verify(archviz.load(spec), device="cpu")
    for backend in ("onnxruntime", "keras"):  # a refusal comes before the backend is even needed
        other = runner.invoke(app, ["verify", spec, "--backend", backend])
        if "not installed" not in other.stderr:
            assert other.exit_code == 2 and f"verify --backend {backend} would allocate" in other.stderr
    with pytest.raises(memory.BackendError, match="benchmark --device cpu would allocate"):
        archviz.torch.benchmark(archviz.load(spec), iterations=1)
    assert archviz.torch.verify(archviz.load(spec), device="meta").ok  # the meta device allocates nothing


def test_available_memory_honours_a_cgroup_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from archviz.backends.pytorch import memory

    monkeypatch.setattr(memory, "CGROUP_V1", tmp_path / "none")
    monkeypatch.setattr(memory, "CGROUP_V2", tmp_path)
    (tmp_path / "memory.max").write_text("1000000\n")
    (tmp_path / "memory.current").write_text("400000\n")
    assert memory._cgroup_room() == 600_000
    assert memory.available_bytes() == 600_000  # less than any machine's MemAvailable
    (tmp_path / "memory.max").write_text("max\n")
    assert memory._cgroup_room() is None
    meminfo = memory._meminfo_available()
    assert meminfo is not None and meminfo > 0 and memory.available_bytes() == meminfo
    assert memory.describe(1_500_000_000) == "1.5 GB" and memory.describe(2_500_000) == "2.5 MB"


# -- class 10: the layer limit is what every command handles in seconds ------------------------
def _stack(tmp_path: Path, layers: int) -> Path:
    spec = tmp_path / f"stack{layers}.yaml"
    spec.write_text(f"name: stack\ninput: [8, 16, 16]\nlayers:\n"
                    f"  - conv2d: {{filters: 8, kernel: 3, padding: 1, repeat: {layers}}}\n")
    return spec


def test_one_layer_past_the_limit_is_refused_at_once(tmp_path: Path) -> None:
    from archviz.spec.expand import MAX_LAYERS

    assert MAX_LAYERS == 20_000
    start = time.perf_counter()
    result = runner.invoke(app, ["summary", str(_stack(tmp_path, 20_001)), "--format", "json"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "repeat must be" in result.stderr or "more than 20,000 layers, the limit" in result.stderr
    assert time.perf_counter() - start < 10


def test_a_summary_at_the_limit_is_exact(tmp_path: Path) -> None:
    import json

    result = runner.invoke(app, ["summary", str(_stack(tmp_path, 20_000)), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert len(data["layers"]) == 20_000
    assert data["totals"]["params"] == 20_000 * (8 * 8 * 9 + 8)  # 3x3 conv, 8 -> 8 channels, with bias
    assert data["totals"]["macs"] == 20_000 * (16 * 16 * 8 * 8 * 9)


def test_per_layer_tables_show_the_first_and_last_500_layers(tmp_path: Path) -> None:
    result = runner.invoke(app, ["conventions", str(_stack(tmp_path, 1_200)), "--per-layer"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert sum("… 200 layers (csv and json list every one)" in line for line in lines) == 1
    shown = [line for line in lines if line.lstrip("│ ").startswith("conv2d_")]
    assert len(shown) == 1_000
    names = [line.replace("│", " ").split()[0] for line in shown]
    assert names[:2] == ["conv2d_1", "conv2d_2"] and names[499:501] == ["conv2d_500", "conv2d_701"]
    assert names[-1] == "conv2d_1200"
    assert "147,456" in shown[0]  # MACs of one layer: 16 * 16 * 8 * 8 * 9
    full = runner.invoke(app, ["conventions", str(_stack(tmp_path, 1_200)), "--per-layer", "--format", "csv"])
    assert len(full.stdout.splitlines()) == 1 + 1_200  # the machine formats list every layer


def test_verify_stops_at_its_own_limit_and_shortens_its_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    from archviz.cli.verify import MAX_VERIFY_LAYERS
    from archviz.render import table

    start = time.perf_counter()
    refused = runner.invoke(app, ["verify", str(_stack(tmp_path, MAX_VERIFY_LAYERS + 1))])
    assert refused.exit_code == 2
    assert f"it stops at {MAX_VERIFY_LAYERS:,} layers. Received: {MAX_VERIFY_LAYERS + 1:,} layers" in refused.stderr
    assert time.perf_counter() - start < 30  # nothing was built
    monkeypatch.setattr(table, "MAX_TABLE_ROWS", 10)
    result = runner.invoke(app, ["verify", str(_stack(tmp_path, 30)), "--width", "200"])
    assert result.exit_code == 0, result.stderr
    assert "… 20 layers (0 checks among them differ; json and markdown list every layer)" in result.stdout
    assert "conv2d_5 " in result.stdout and "conv2d_26 " in result.stdout and "conv2d_6 " not in result.stdout


def test_a_chart_of_more_points_than_it_keeps_is_refused_before_it_runs(tmp_path: Path) -> None:
    from archviz.cli.sweep import MAX_CHART_POINTS

    result = runner.invoke(app, ["sweep", "vgg16", "--vary", "input=32..100000031", "--format", "csv",
                                 "--chart", str(tmp_path / "c.svg")])
    assert result.exit_code == 2 and result.stdout == ""
    assert f"this grid has 100,000,000 variants; the chart's limit is {MAX_CHART_POINTS:,}" in result.stderr
    assert not (tmp_path / "c.svg").exists()
