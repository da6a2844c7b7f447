"""The fast paths give exactly what the plain paths give, and stay light (no timing here: see benchmarks/)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import archviz
from archviz.analysis import LayerRecord, Plan, Totals, analyze_layers
from archviz.cli.fast import parse
from archviz.cli.main import app
from archviz.errors import ArchvizError
from archviz.spec import yamlio

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("pandas", "graphviz", "matplotlib", "torch", "typer", "rich", "click", "networkx", "numpy")


def _run(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    code = "import sys; from archviz.cli.main import run; sys.argv[0] = 'archviz'; run()"
    return subprocess.run([sys.executable, "-c", code, *args], check=False, cwd=cwd, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


# -- the CLI fast path -------------------------------------------------------------------------
FAST_CASES = [
    ("summary", "vgg16", "--format", "json"),
    ("summary", "--format", "json"),
    ("summary", "vgg11-bn", "-f", "json", "-i", "3x227x227", "-b", "4"),
    ("summary", "vgg16", "--format=json", "--set", "num_classes=10", "-s", "width=0.5"),
    ("summary", "specs/resnet18.yaml", "--format", "csv"),
    ("summary", "inception-block", "--format", "csv", "--flops", "--columns", "name,inputs,output_shape,flops"),
    ("summary", "vgg16", "--format", "csv", "--units", "raw", "--input", "64"),
    ("summary", "vgg16", "--format", "json", "--columns", "name,params"),
]
FAST_ERRORS = [
    ("summary", "tests/data/bad/13-cycle.yaml", "--format", "json"),
    ("summary", "tests/data/bad/10-kernel-larger-than-input.yaml", "--format", "csv"),
    ("summary", "vgg16", "--format", "json", "--input", "3x8x8"),
    ("summary", "vgg16", "--format", "json", "--set", "nope=1"),
    ("summary", "vgg16", "--format", "csv", "--columns", "name,parms"),
    ("summary", "no-such-spec", "--format", "json"),
]
# The table (rich), markdown and html, and the options only they use; piped, so no colour.
TABLE_CASES = [
    ("summary",),
    ("summary", "vgg16"),
    ("summary", "resnet18", "--units", "raw", "--flops"),
    ("summary", "specs/vgg16.yaml", "--width", "70"),                 # narrow: columns left out, a note
    ("summary", "vgg16", "--width=30", "--units=raw"),                # narrower than any table
    ("summary", "inception-block", "--columns", "name,inputs,output_shape,flops", "--width", "200"),
    ("summary", "vgg11-bn", "-i", "3x227x227", "-b", "8", "--convention", "fvcore"),
    ("summary", "vgg16", "--set", "num_classes=10", "-c", "name,op,params,params_pct", "--convention=thop"),
    ("summary", "vgg11-lrn", "--format", "markdown"),
    ("summary", "vgg16", "-f", "markdown", "--units", "raw", "--columns", "name,params", "--flops"),
    ("summary", "resnet18", "--format", "html", "--flops"),
    ("summary", "vgg16", "--format=html", "--units", "raw", "--convention", "fvcore"),
    ("summary", "vgg16", "--format", "table", "--width", "90"),
    ("summary", "vgg16", "--format", "json", "--convention", "thop"),
    ("summary", "vgg16", "--format", "csv", "--width", "20", "--units", "raw"),
    ("summary", "vgg16", "--until", "relu4_3", "--format", "csv"),
    ("summary", "resnet18", "-u", "layer2_2.out,layer1_2.out", "--format", "json"),
    ("summary", "vgg16", "--input", "512", "--batch", "32", "--dtype", "bfloat16"),
    ("summary", "vgg16", "--dtype=int8", "--format", "json"),
    ("summary", "resnet18", "--dtype", "float16", "--format", "markdown"),
]
TABLE_ERRORS = [
    ("summary", "specs/no-such-file.yaml"),                           # a missing spec file: exit 2
    ("summary", "no-such-spec", "--width", "80"),
    ("summary", "vgg17"),
    ("summary", "tests/data/bad/13-cycle.yaml"),
    ("summary", "specs/base/vgg.yaml"),
    ("summary", "vgg16", "--columns", "name,parms"),
    ("summary", "vgg16", "--convention", "fvcor"),
    ("summary", "vgg16", "--columns", "name,parms", "--convention", "fvcor"),  # which error comes first
    ("summary", "vgg16", "--format", "json", "--convention", "fvcor"),
    ("summary", "vgg16", "--input", "3x16x16", "--format", "markdown"),
    ("summary", "vgg16", "--set", "nope=1", "--format", "html"),
    ("summary", "vgg16", "--out", "no-such-folder/vgg16.txt"),
    ("summary", "vgg16", "--until", "pool6"),
    ("summary", "vgg16", "--until", ","),
]


@pytest.mark.parametrize("args", FAST_CASES + FAST_ERRORS + TABLE_CASES + TABLE_ERRORS,
                         ids=lambda a: " ".join(a[1:]) or "(no arguments)")
def test_fast_path_prints_what_typer_prints(args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the cases name files relative to the checkout, as _run does
    assert parse(list(args)) is not None  # the fast path takes it
    fast = _run(*args)
    typer_result = CliRunner().invoke(app, list(args))
    assert fast.returncode == typer_result.exit_code
    assert fast.stdout == typer_result.stdout
    assert fast.stderr == typer_result.stderr


@pytest.mark.parametrize("args", [
    ("summary", "vgg16", "--format", "JSON"),               # typer words the choice error
    ("summary", "vgg16", "--format", "Table"),
    ("summary", "vgg16", "--units", "RAW"),
    ("summary", "vgg16", "--width", "0"),                   # click's int() and typer's range are theirs
    ("summary", "vgg16", "--width", "-1"),
    ("summary", "vgg16", "--width", "080"),
    ("summary", "vgg16", "--width", "+80"),
    ("summary", "vgg16", "--width", " 80"),
    ("summary", "vgg16", "--width", "8_0"),
    ("summary", "vgg16", "--width", "eighty"),
    ("summary", "vgg16", "--width", "123456"),
    ("summary", "vgg16", "--width"),
    ("summary", "vgg16", "--width", "80", "--width", "90"),
    ("summary", "vgg16", "--convention", "-x"),
    ("summary", "vgg16", "--convention="),
    ("summary", "vgg16", "--no-flops"),
    ("summary", "vgg16", "--flops", "--flops"),
    ("summary", "vgg16", "-h"),
    ("summary", "--help"),
    ("summary", "vgg16", "-w", "80"),
    ("summary", "vgg16", "--format", "json", "--batch", "0"),
    ("summary", "vgg16", "--format", "json", "--batch", "2x"),
    ("summary", "vgg16", "--format", "json", "--help"),
    ("summary", "vgg16", "vgg19", "--format", "json"),      # extra argument
    ("summary", "vgg16", "--format", "json", "--format", "csv"),
    ("summary", "vgg16", "-fjson"),
    ("summary", "vgg16", "--format"),
    ("summary", "vgg16", "--format", "json", "--input", "-3"),
    ("summary", "vgg16", "--format", "json", "--"),
    ("compare", "vgg16", "vgg19", "--format", "json"),
    ("--version",),
    (),
])
def test_fast_path_declines_what_typer_should_answer(args: tuple[str, ...]) -> None:
    assert parse(list(args)) is None


def test_fast_path_writes_out_files_like_typer(tmp_path: Path) -> None:
    out = tmp_path / "vgg16.json"
    result = _run("summary", "vgg16", "--format", "json", "--out", str(out))
    assert result.returncode == 0 and result.stdout == ""
    assert json.loads(out.read_text())["totals"]["params"] == 138_357_544
    typer_out = tmp_path / "typer.json"
    CliRunner().invoke(app, ["summary", "vgg16", "--format", "json", "--out", str(typer_out)])
    assert out.read_bytes() == typer_out.read_bytes()


def test_summary_json_imports_nothing_heavy() -> None:
    """The summary path must not import pandas, graphviz, matplotlib or torch (nor typer/rich)."""
    probe = ("import sys; from archviz.cli.main import run; sys.argv = ['archviz', 'summary', 'vgg16', "
             "'--format', 'json']\n"
             "try:\n    run()\nexcept SystemExit as exc:\n    assert exc.code == 0, exc.code\n"
             f"heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))\n"
             "print('HEAVY', heavy, file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", probe], check=False, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["params"] == 138_357_544
    assert "HEAVY []" in result.stderr


@pytest.mark.parametrize("args", [
    ("summary", "vgg16"),
    ("summary", "resnet18", "--width", "60", "--units", "raw"),
    ("summary", "vgg16", "--format", "markdown"),
    ("summary", "vgg16", "--format", "html", "--convention", "fvcore"),
], ids=lambda a: " ".join(a[1:]))
def test_fast_table_writes_out_files_like_typer(args: tuple[str, ...], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    fast_out, typer_out = tmp_path / "fast.txt", tmp_path / "typer.txt"
    result = _run(*args, "--out", str(fast_out))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    monkeypatch.chdir(ROOT)
    typer_result = CliRunner().invoke(app, [*args, "--out", str(typer_out)])
    assert typer_result.exit_code == 0 and typer_result.stdout == ""
    assert fast_out.read_bytes() == typer_out.read_bytes()
    assert b"\x1b[" not in fast_out.read_bytes()  # a file gets no colour


def test_fast_table_of_a_long_network_leaves_out_what_typer_leaves_out(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    spec = tmp_path / "stack.yaml"
    spec.write_text("name: stack\ninput: [8, 16, 16]\nlayers:\n"
                    "  - {layers: [conv2d: {filters: 8, kernel: 3, padding: 1}, relu], repeat: 600}\n")
    fast = _run("summary", str(spec), "--width", "100")
    monkeypatch.chdir(ROOT)
    typer_result = CliRunner().invoke(app, ["summary", str(spec), "--width", "100"])
    assert fast.returncode == typer_result.exit_code == 0
    assert fast.stdout == typer_result.stdout
    assert "layers not shown" in fast.stdout


# -- in a terminal: colour, the terminal's width, narrow terminals -----------------------------
TYPER_CODE = "import sys; from archviz.cli.main import app; sys.argv[0] = 'archviz'; app()"
FAST_CODE = "import sys; from archviz.cli.main import run; sys.argv[0] = 'archviz'; run()"


def _in_terminal(code: str, args: tuple[str, ...], columns: int, env: dict[str, str]) -> tuple[int, bytes, bytes]:
    """Run with stdout on a pseudo-terminal ``columns`` wide: exit code, terminal output, stderr."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    # COLUMNS would override the terminal's own size, and the colour variables its colour
    clean = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR")}
    process = subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, stdin=subprocess.DEVNULL,
                               stdout=slave, stderr=subprocess.PIPE, env={**clean, "TERM": "xterm-256color", **env})
    os.close(slave)
    chunks = []
    while True:  # read while it writes: a terminal holds only a few kilobytes
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert process.stderr is not None
    stderr = process.stderr.read()
    process.stderr.close()
    return process.wait(timeout=60), b"".join(chunks), stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sets the pseudo-terminal's size the Linux way")
@pytest.mark.parametrize(("args", "columns", "env"), [
    (("summary", "vgg16"), 120, {}),
    (("summary", "vgg16"), 60, {}),                          # narrow: columns left out, and a note
    (("summary", "resnet18", "--units", "raw", "--flops"), 100, {}),
    (("summary", "vgg16"), 100, {"COLUMNS": "70"}),          # COLUMNS wins over the terminal's size
    (("summary", "vgg16", "--width", "150"), 60, {}),
    (("summary", "vgg16"), 100, {"NO_COLOR": "1"}),
    (("summary", "vgg16"), 100, {"TERM": "dumb"}),
    (("summary", "vgg16", "--format", "markdown"), 60, {}),
    (("summary", "no-such-spec"), 80, {}),
], ids=str)
def test_fast_table_in_a_terminal_is_typers(args: tuple[str, ...], columns: int, env: dict[str, str]) -> None:
    assert parse(list(args)) is not None
    fast = _in_terminal(FAST_CODE, args, columns, env)
    assert fast == _in_terminal(TYPER_CODE, args, columns, env)
    if args[-1] == "vgg16" and "TERM" not in env:
        assert b"\x1b[" in fast[1]  # it did take the terminal's route


def test_fast_table_out_file_from_a_terminal_has_no_colour(tmp_path: Path) -> None:
    fast_out, typer_out = tmp_path / "fast.txt", tmp_path / "typer.txt"
    fast = _in_terminal(FAST_CODE, ("summary", "vgg16", "--out", str(fast_out)), 50, {})
    typer_result = _in_terminal(TYPER_CODE, ("summary", "vgg16", "--out", str(typer_out)), 50, {})
    assert fast == typer_result == (0, b"", b"")
    assert fast_out.read_bytes() == typer_out.read_bytes()
    assert b"\x1b[" not in fast_out.read_bytes()


def test_fast_path_knows_typers_choices() -> None:
    """The fast path takes exactly the --format and --units values the typer command offers."""
    from archviz.analysis import DTYPES as ANALYSIS_DTYPES
    from archviz.cli.common import Dtype
    from archviz.cli.summarize import DTYPES, FORMATS, UNITS
    from archviz.cli.summary import Format, Units

    assert tuple(f.value for f in Format) == FORMATS
    assert tuple(u.value for u in Units) == UNITS
    assert tuple(d.value for d in Dtype) == DTYPES == ANALYSIS_DTYPES


@pytest.mark.parametrize(("fmt", "allowed"), [("table", {"rich"}), ("markdown", set()), ("html", set())])
def test_summary_table_imports_nothing_heavy(fmt: str, allowed: set[str]) -> None:
    """The table imports rich, but none of typer, click, pandas, graphviz, matplotlib, torch, networkx."""
    probe = ("import sys; from archviz.cli.main import run; sys.argv = ['archviz', 'summary', 'vgg16', "
             f"'--format', {fmt!r}, '--convention', 'fvcore']\n"
             "try:\n    run()\nexcept SystemExit as exc:\n    assert exc.code == 0, exc.code\n"
             f"heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))\n"
             "print('HEAVY', heavy, file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", probe], check=False, cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "138,357,544" in result.stdout
    assert f"HEAVY {sorted(allowed)}" in result.stderr


def test_library_import_is_light() -> None:
    probe = (f"import sys, archviz; archviz.load('vgg16').analyze(); "
             f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))")
    result = subprocess.run([sys.executable, "-c", probe], check=False, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_shell_completion_is_left_to_typer() -> None:
    from archviz.cli.fast import try_fast

    os.environ["_ARCHVIZ_COMPLETE"] = "bash_source"
    try:
        assert try_fast(["summary", "vgg16", "--format", "json"]) is None
    finally:
        del os.environ["_ARCHVIZ_COMPLETE"]


# -- the analysis fast paths -------------------------------------------------------------------
# VGG16's params at 200x232: pool5 gives 512x6x7, so fc6 has 512*6*7 inputs instead of 512*7*7
FC6_AT_200x232 = 138_357_544 - 512 * (7 * 7 - 6 * 7) * 4096


def test_records_have_every_field() -> None:
    """Records are built from positional tuples (tuple.__new__): each value must sit in its field."""
    analysis = archviz.load("vgg16").analyze((3, 200, 232), batch=2)
    record = analysis.layer("conv1_2")
    assert record.as_dict() == {
        "name": "conv1_2", "op": "conv2d", "family": "conv", "label": "conv3-64",
        "attributes": {"filters": 64, "kernel": (3, 3), "padding": ((1, 1), (1, 1)), "stride": (1, 1),
                       "dilation": (1, 1), "groups": 1, "bias": True, "activation": "linear"},
        "stage": "conv1", "inputs": ("relu1_1",), "input_shapes": ((64, 200, 232),), "output_shape": (64, 200, 232),
        "params": 36_928, "buffers": 0, "macs": 2 * 200 * 232 * 64 * 576, "flops": 4 * 200 * 232 * 64 * 576,
        "bias_adds": 2 * 200 * 232 * 64, "elementwise_ops": 0, "input_elements": 2 * 64 * 200 * 232,
        "output_elements": 2 * 64 * 200 * 232, "activation_bytes": 8 * 64 * 200 * 232,
        "receptive_field": (5, 5), "effective_stride": (1, 1), "effective_padding": (2, 2),
        "line": record.line, "field_note": "",
    }
    assert analysis.layer("fc6").field_note == "global"
    totals = analysis.totals
    assert (totals.params, totals.trainable_params, totals.flops, totals.param_bytes, totals.param_bytes_bf16,
            totals.input_elements, totals.output_shape, totals.layers) == (
        FC6_AT_200x232, FC6_AT_200x232, 2 * totals.macs, 4 * FC6_AT_200x232, 2 * FC6_AT_200x232, 2 * 3 * 200 * 232,
        (1000,), 40)
    assert totals.activation_bytes == 4 * totals.activation_elements
    assert totals.buffer_bytes == 4 * totals.buffers
    assert analysis.totals == Totals(**analysis.totals.as_dict())
    with pytest.raises(AttributeError):
        record.params = 1  # type: ignore[misc]
    assert record == LayerRecord(**record.as_dict())
    assert repr(record) == repr(LayerRecord(**record.as_dict()))


@pytest.mark.parametrize("name", archviz.builtin_names())
def test_totals_only_equals_full_analysis(name: str) -> None:
    network = archviz.load(name)
    shapes: list[tuple[int, ...] | None] = [None]
    if len(network.input_shape) == 3:
        shapes += [(network.input_shape[0], 257, 301), (network.input_shape[0], 512, 512)]
    for shape in shapes:
        for batch in (1, 3):
            # a network made for one size (SSD300, FCN's crop) refuses others: both paths alike
            try:
                full = network.analyze(shape, batch).totals
            except ArchvizError as refused:
                with pytest.raises(ArchvizError) as lean:
                    network.totals_at(shape, batch)
                assert str(lean.value) == str(refused)
                continue
            assert network.totals_at(shape, batch) == full


def test_totals_only_raises_what_analyze_raises() -> None:
    network = archviz.load("vgg16")
    with pytest.raises(ArchvizError) as full:
        network.analyze((3, 16, 16))
    with pytest.raises(ArchvizError) as lean:
        network.totals_at((3, 16, 16))
    assert str(full.value) == str(lean.value)
    assert "pool5" in str(full.value) or "layer" in str(full.value)


def test_plan_is_reused_and_optional() -> None:
    network = archviz.load("resnet18")
    assert network.plan is network.plan
    without = analyze_layers(network.name, network.document.file, network.ordered, network.input_shape,
                             variables=network.variables)
    assert without == network.analyze()
    assert isinstance(Plan(network.ordered).steps[0][2], tuple)
    assert isinstance(network.totals_at(), Totals)


def test_reanalysis_keeps_known_values() -> None:
    network = archviz.load("vgg16")
    for _ in range(3):  # the plan and the ops' precomputed windows are reused, not consumed
        assert network.analyze((3, 224, 224)).totals.params == 138_357_544
        assert network.analyze((3, 224, 224)).layer("pool5").receptive_field == (212, 212)
        assert network.totals_at((3, 32, 32), 2).params == 37_694_248  # flatten gives 512 features
        assert network.totals_at((3, 224, 224)).macs == 15_470_264_320


# -- the YAML fast path ------------------------------------------------------------------------
def _located(value: object) -> object:
    if isinstance(value, dict):
        return ("map", str(value.location),  # type: ignore[attr-defined]
                tuple((k, str(value.key_locations[k]), _located(v)) for k, v in value.items()))  # type: ignore[attr-defined]
    if isinstance(value, list):
        return ("seq", str(value.location), tuple(map(str, value.item_locations)),  # type: ignore[attr-defined]
                tuple(_located(v) for v in value))
    return (type(value).__name__, value)


SPEC_FILES = sorted(p for p in (ROOT / "archviz" / "specs").rglob("*.yaml")) + \
    sorted((ROOT / "tests" / "data").rglob("*.yaml"))


@pytest.mark.skipif(yamlio.c_loader() is None, reason="PyYAML built without libyaml")
@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_libyaml_gives_the_same_located_data(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        pytest.skip("not text")
    fast = yamlio._compose_fast(text, "x.yaml")
    monkeypatch.setattr(yamlio, "USE_LIBYAML", False)
    try:
        slow: object = yamlio._parse(text, "x.yaml")
    except ArchvizError as exc:
        slow = exc
    if fast is None:
        return  # the pure-Python path decides (errors, odd documents)
    assert not isinstance(slow, ArchvizError)
    assert _located(fast) == _located(slow)


def test_deep_nesting_never_reaches_libyaml() -> None:
    """libyaml recurses in C and crashes on very deep nesting; such text goes to PyYAML."""
    deep = "a: " + "[" * 100_000 + "]" * 100_000 + "\n"
    assert yamlio.nesting_bound(deep) > yamlio.C_NESTING_BOUND
    assert yamlio._compose_fast(deep, "deep.yaml") is None
    dashes = "- " * 5_000 + "x\n"
    assert yamlio.nesting_bound(dashes) > yamlio.C_NESTING_BOUND


def test_garbage_collector_is_restored() -> None:
    import gc

    network = archviz.load("vgg16")
    assert gc.isenabled()
    network.analyze()
    network.totals_at()
    with pytest.raises(ArchvizError):
        network.analyze((3, 8, 8))
    assert gc.isenabled()
    gc.disable()
    try:
        network.analyze()
        archviz.load("vgg11")
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()


# -- the built-in specs' parsed copies (tests/test_hostile_cache.py tests them as data) -----------
def test_builtin_summary_does_not_import_yaml(tmp_path: Path) -> None:
    probe = ("import sys; from archviz.cli.main import run; sys.argv = ['archviz', 'summary', 'vgg16', "
             "'--format', 'json']\ntry:\n    run()\nexcept SystemExit:\n    pass\n"
             "print('YAML', 'yaml' in sys.modules, file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", probe], check=False, cwd=ROOT, capture_output=True,
                            text=True, timeout=60, env={**os.environ, "XDG_CACHE_HOME": str(tmp_path)})
    assert "YAML False" in result.stderr
    assert json.loads(result.stdout)["totals"]["params"] == 138_357_544
    assert list(tmp_path.iterdir()) == []  # nothing is written at run time


def _fields_layer_by_layer(network: archviz.Network, shape: tuple[int, ...]) -> dict[str, Any]:
    """Receptive fields composed the plain way: every layer asks its op, at this input."""
    from archviz.ops import GLOBAL, POINTWISE, Window
    from archviz.shapes import IDENTITY_FIELD

    analysis = network.analyze(shape)
    fields: dict[str, Any] = {"input": (IDENTITY_FIELD, IDENTITY_FIELD)}
    for layer, record in zip(network.ordered, analysis.layers, strict=True):
        incoming = [fields[name] for name in layer.inputs]
        rule = layer.op.field_rule(record.input_shapes)
        if any(f is None for f in incoming) or rule == GLOBAL:
            fields[layer.name] = None
        elif rule == POINTWISE:
            fields[layer.name] = incoming[0]
        else:
            assert isinstance(rule, Window)
            base = incoming[0]
            fields[layer.name] = tuple(base[axis].through(rule.kernel[axis], rule.stride[axis], rule.pad_before[axis],
                                                          rule.dilation[axis]) for axis in range(2))
    return fields


@pytest.mark.parametrize("size", [15, 16, 33, 64])
def test_fields_that_depend_on_the_input_are_composed_at_each_input(size: int) -> None:
    """'same' padding with stride 2 pads by the input's parity; adaptive pooling's window is the
    input over the output size: those fields (and every field after them) are not the plan's."""
    network = archviz.loads(
        "name: f\ninput: [3, 16, 16]\nlayers:\n"
        "  - conv2d: {filters: 4, kernel: 3, padding: 1, name: a}\n"
        "  - conv2d: {filters: 4, kernel: 3, stride: 2, padding: same, name: b}\n"
        "  - conv2d: {filters: 4, kernel: 3, padding: 1, name: c}\n"
        "  - max_pool2d: {kernel: 3, stride: 2, padding: same, name: d}\n"
        "  - adaptive_avg_pool2d: {output_size: 2, name: e}\n"
        "  - conv2d: {filters: 4, kernel: 1, name: g}\n")
    expected = _fields_layer_by_layer(network, (3, size, size))
    analysis = network.analyze((3, size, size))
    for record in analysis.layers:
        pair = expected[record.name]
        if pair is None:
            assert record.receptive_field is None, record.name
        else:
            assert record.receptive_field == (pair[0].size, pair[1].size), record.name  # type: ignore[index]
            assert record.effective_padding == (pair[0].padding, pair[1].padding), record.name  # type: ignore[index]
            assert record.effective_stride == (pair[0].stride, pair[1].stride), record.name  # type: ignore[index]
    # the parity really changes the padding of 'b' and everything after it
    assert network.analyze((3, 15, 15)).layer("c").effective_padding != network.analyze((3, 16, 16)).layer(
        "c").effective_padding


@pytest.mark.parametrize("name", ["vgg16", "resnet18", "inception-block", "vgg16-dense", "vgg11-lrn"])
def test_remembered_records_equal_fresh_analyses(name: str) -> None:
    """analyze() reuses a record where its step sees input shapes (and batch) it saw before, and
    every record after a cut reached with a shape seen there before: every analysis must equal
    one by a plan that remembers nothing, in any order of shapes."""
    network = archviz.load(name)
    channels = network.input_shape[0]
    sizes = [224, 225, 227, 224, 231, 256, 225, 257, 300, 224]
    for size, batch in zip(sizes, [1, 1, 2, 1, 3, 1, 2, 1, 1, 1], strict=True):
        shape = (channels, size, size + 7)
        fresh = analyze_layers(network.name, network.document.file, network.ordered, shape, batch,
                               network.variables, Plan(network.ordered))
        assert network.analyze(shape, batch) == fresh
    assert network.plan.remembered  # it did remember
    assert bool(network.plan.tails) == (name != "inception-block")  # its fields follow the input


def test_remembered_records_skip_fields_that_follow_the_input() -> None:
    network = archviz.loads("name: s\ninput: [3, 16, 16]\nlayers:\n"
                            "  - conv2d: {filters: 4, kernel: 3, stride: 2, padding: same}\n"
                            "  - conv2d: {filters: 4, kernel: 3, padding: 1}\n")
    for size in (15, 16, 15, 17, 16):
        fresh = analyze_layers(network.name, network.document.file, network.ordered, (3, size, size),
                               plan=Plan(network.ordered))
        assert network.analyze((3, size, size)) == fresh
    assert not network.plan.remembered and not network.plan.tails  # both fields follow the input's parity


def test_remembered_records_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    from archviz import analysis

    monkeypatch.setattr(analysis, "RECORDS_LIMIT", 100)
    network = archviz.load("vgg11")
    for size in range(100, 140):
        network.analyze((3, size, size))
        assert len(network.plan.remembered) <= 100 + len(network.plan.steps)
        assert len(network.plan.tails) <= 100 + len(network.plan.steps)
