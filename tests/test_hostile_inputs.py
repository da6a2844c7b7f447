"""Hostile values and the library boundary (issue 13): each class of input that once hung, ran for
seconds or ended in a traceback, and what archviz promises for it instead (docs/robustness.md).

Every refusal must be an ArchvizError (exit 2 from the command line) that says where the value was
written, and must come back at once: "at once" is checked with a wall-clock bound far below what
the old code took (seconds to forever) and far above what the new code takes (milliseconds).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pytest

import archviz
from archviz.errors import ArchvizError, ExpressionError, SpecError

NET = "name: t\ninput: [3, 8, 8]\n"
QUICK = 1.0  # seconds; round(5, -10**7) alone took 7-10 s before the bounds, 10**30 digits never ended


@contextmanager
def quickly(limit: float = QUICK) -> Iterator[None]:
    start = time.perf_counter()
    yield
    elapsed = time.perf_counter() - start
    assert elapsed < limit, f"took {elapsed:.2f} s"


# -- expressions: every operation's inputs, the tree, every intermediate number ---------------------
BIG = 10**30  # the largest magnitude an expression may read or make (archviz.spec.expr.MAX_MAGNITUDE)

# (expression, fragment of the message); `big` is bound to 10**30 and `w` to 2
HUGE_OPERANDS: list[tuple[str, str]] = [
    ("round(5, -10**30)", "round()'s digits must be between -64 and 64"),
    ("round(5, -10**7)", "round()'s digits must be between -64 and 64"),
    ("round(5, 10**30)", "round()'s digits must be between -64 and 64"),
    ("round(5, -big)", "round()'s digits must be between -64 and 64"),
    ("round(5.5, -big)", "round()'s digits must be between -64 and 64"),
    ("big + big", "number too large"),
    ("-big - big", "number too large"),
    ("big * big", "number too large"),
    ("big * big * big * big", "number too large"),
    ("big / 1e-30", "number too large"),
    ("big // 1e-300", "not a finite number"),
    ("big % 0", "division by zero"),
    ("big ** 64", "number too large"),
    ("2 ** 65", "power too large"),
    ("2 ** big", "power too large"),
    ("2 ** -big", "power too large"),
    ("2.0 ** (10 ** 30)", "power too large"),
    ("10 ** 31", "number too large"),
    ("1" + "0" * 31, "number too large"),
    ("1e300", "number too large"),
    ("-(10 ** 31)", "number too large"),
    ("abs(-big * 10)", "number too large"),
    ("min(big * 2, 1)", "number too large"),
    ("max(big, big * 2)", "number too large"),
    ("int(1e31)", "number too large"),
    ("floor(1e31)", "number too large"),
    ("ceil(-1e31)", "number too large"),
    ("int(big * 10)", "number too large"),
    ("big * 10 if w > 1 else 1", "number too large"),
    ("(big * 10) > 1 and 1", "number too large"),
    ("not big * 10", "number too large"),
    ("big * 10 == 0", "number too large"),
    ("-" * 490 + "1", "nested more than 100 levels deep"),
    ("not " * 120 + "1", "nested more than 100 levels deep"),
    ("+".join(["w"] * 150), "nested more than 100 levels deep"),
    ("(" * 210 + "1" + ")" * 210, "which is not an expression"),  # Python's parser: too many parentheses
    ("+(big * 10)", "number too large"),
    ("-big * 10 < 0 or 1", "number too large"),
    # what the language does not have at all: refused as such, not computed
    ("1 << 10 ** 6", "is not allowed"),
    ("w >> 1", "is not allowed"),
    ("w & 1", "is not allowed"),
    ('"ab" * 10 ** 9', "expected a number"),
    ('len("x" * 9)', "unknown function 'len'"),
    ("range(10 ** 9)", "unknown function 'range'"),
    ("sum([1] * 10 ** 9)", "unknown function 'sum'"),
    ("pow(2, 10 ** 9)", "unknown function 'pow'"),
    ("[1] * 10 ** 9", "is not allowed"),
    ("(w for w in ())", "is not allowed"),
    ('f"{w:>999999999}"', "is not allowed"),
]


def test_every_operator_and_function_is_tried_with_huge_operands() -> None:
    """A function or operator added to the evaluator must join HUGE_OPERANDS (and get its bound)."""
    import ast

    from archviz.spec import expr

    written = " ".join(expression for expression, _ in HUGE_OPERANDS)
    for name in expr.FUNCTIONS:
        assert f"{name}(" in written, f"{name}() is not tried with a huge operand"
    symbols = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: " / ", ast.FloorDiv: "//", ast.Mod: "%",
               ast.Pow: "**"}
    for operator_type in expr._BINARY:
        assert symbols[operator_type] in written, f"{operator_type.__name__} is not tried with a huge operand"


@pytest.mark.parametrize(("expression", "message"), HUGE_OPERANDS, ids=[case[0][:40] for case in HUGE_OPERANDS])
def test_expressions_with_huge_operands_fail_at_once(expression: str, message: str) -> None:
    text = NET + f"variables: {{big: {BIG}, w: 2}}\nlayers:\n  - conv2d: {{filters: '{expression}', kernel: 1}}\n"
    with quickly(), pytest.raises(ExpressionError) as caught:
        archviz.loads(text)
    assert message in caught.value.message
    assert expression[:20] in caught.value.message  # the expression itself is named (long ones are cut)
    assert str(caught.value.location) == "<string>:5:14"  # file:line:column of the attribute


@pytest.mark.parametrize("where", [
    "variables: {big: 1, n: 'round(5, -10**30)'}\nlayers: [{conv2d: {filters: n, kernel: 1}}]\n",
    "variables: {big: 1}\nlayers: [{relu: {name: 'r{round(5, -10**30)}'}}]\n",
    "variables: {big: 1}\nlayers: [{relu: {if: 'round(5, -10**30) > 0'}}]\n",
    "variables: {big: 1}\nlayers: [{relu: {repeat: 'round(5, -10**30)'}}]\n",
    ("variables: {big: 1}\nblocks:\n  b: {args: {f: 1}, layers: [{conv2d: {filters: f, kernel: 1}}]}\n"
     "layers: [{b: {f: 'round(5, -10**30)'}}]\n"),
])
def test_every_place_an_expression_is_written_is_bounded(where: str) -> None:
    with quickly(), pytest.raises(ExpressionError, match=r"round\(\)'s digits") as caught:
        archviz.loads(NET + where)
    assert caught.value.location is not None and caught.value.location.line is not None


def test_the_input_shape_expression_is_bounded() -> None:
    with quickly(), pytest.raises(ExpressionError, match=r"round\(\)'s digits") as caught:
        archviz.loads("name: t\ninput: [3, 'round(5, -10**30)', 8]\nlayers: [relu]\n")
    assert caught.value.location is not None and caught.value.location.line == 2


def test_variables_bound_from_outside_are_bounded_like_literals() -> None:
    spec = NET + "variables: {w: 2}\nlayers: [{conv2d: {filters: 'round(500, -w)', kernel: 1}}]\n"
    with quickly(), pytest.raises(SpecError, match="variable 'w' must be at most 10\\*\\*30 in magnitude. "
                                  "Received: an integer of 5,001 digits"):
        archviz.loads(spec, w=10**5000)  # a 5,000-digit value: str() of it raises ValueError
    with quickly(), pytest.raises(SpecError, match="variable 'w' must be a finite number. Received: w=nan"):
        archviz.loads(spec, w=float("nan"))
    network = archviz.loads(spec)
    with quickly(), pytest.raises(SpecError, match="variable 'w' must be at most"):
        network.with_variables(w=-(10**40))
    with quickly(), pytest.raises(SpecError, match="variable 'w' must be a number, true/false or text. "
                                  "Received: a value of type list"):
        network.with_variables(w=[1])
    # bound by something other than the overrides (a block argument): checked where it is read
    with quickly(), pytest.raises(ExpressionError, match="'f' is too large"):
        archviz.loads(NET + "blocks:\n  b: {args: {f: 1}, layers: [{conv2d: {filters: 'round(5, -f)', kernel: 1}}]}\n"
                      "layers: [{b: {f: " + "9" * 40 + "}}]\n")


def test_the_bounds_leave_ordinary_arithmetic_alone() -> None:
    text = NET + "variables: {w: 2}\nlayers:\n  - conv2d: {filters: 'round(1234.5, -2) // 100 + 2 ** 6 - w', kernel: 1}\n" \
        "  - conv2d: {filters: 'int(10 ** 30 // 10 ** 29) + ceil(1.5) + floor(2.5) + abs(-1) + max(1, 2) + min(3, 4)', " \
        "kernel: 1}\n  - relu: {if: '" + " + ".join(["w"] * 90) + " == 180'}\n"
    analysis = archviz.loads(text).analyze()
    assert [layer.output_shape[0] for layer in analysis.layers] == [12 + 64 - 2, 10 + 2 + 2 + 1 + 2 + 3, 20]  # the relu is kept


def test_hostile_expressions_through_the_command_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from archviz.cli.main import app

    spec = tmp_path / "net.yaml"
    spec.write_text(NET + "layers:\n  - conv2d: {filters: 'round(5, -10**30)', kernel: 1}\n")
    with quickly(3.0):
        result = CliRunner().invoke(app, ["summary", str(spec)])
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {spec}:4:14: ")
    assert "round()'s digits must be between -64 and 64" in result.output
    assert "round(5, -10**30)" in result.output


def test_errors_are_one_family() -> None:
    assert issubclass(ExpressionError, ArchvizError)


# -- numbers too long to read: 4,301 digits (int() refuses), base-60 integers (quadratic) ---------------
LONG_NUMBERS = ["1" + "0" * 4300, "-" + "9" * 5000, "1" + ":0" * 60_000, "0x" + "f" * 200, "1" + "0" * 200 + ".5"]


@pytest.mark.parametrize("number", LONG_NUMBERS, ids=["4301-digits", "5001-digits", "base-60", "hex", "float"])
def test_numbers_too_long_in_yaml_are_refused_where_written(number: str) -> None:
    for text in (NET + f"layers:\n  - conv2d: {{filters: {number}, kernel: 1}}\n",
                 NET + f"variables:\n  w: {number}\nlayers: [relu]\n",
                 NET + f"layers: [relu]\nexpect:\n  params: {number}\n"):
        with quickly(), pytest.raises(SpecError, match="a number may have at most 100 characters") as caught:
            archviz.loads(text)
        assert caught.value.location is not None and caught.value.location.line in (4, 5)
    quoted = number.lstrip("-")[:100]  # as text it is kept (a '-' would make it an expression)
    assert archviz.loads(NET + f"variables:\n  w: '{quoted}'\nlayers: [relu]\n").variables["w"] == quoted


def test_long_numbers_on_the_command_line() -> None:
    from archviz.spec.expand import parse_override
    from archviz.sweep import parse_vary

    for number in LONG_NUMBERS:
        with quickly(), pytest.raises(SpecError, match="--set w: a number may have at most 100 characters"):
            parse_override(f"w={number}")
    assert parse_override("w=" + "9" * 100) == ("w", int("9" * 100))  # at the limit: read (then refused by size)
    with quickly(), pytest.raises(SpecError, match="--vary width: a number may have at most 100 characters"):
        parse_vary(["width=1,2," + "1" * 4301])
    for grid in ("width=1.." + "1" * 4301, "input=" + "1" * 4301 + "..5", "input=1..5:" + "1" * 4301):
        with quickly(), pytest.raises(SpecError, match="range bounds may have at most 18 digits"):
            parse_vary([grid])


def test_lone_surrogates_on_the_command_line() -> None:
    from archviz.spec.expand import parse_override

    for given in ('tag="\\ud800"', "tag=\udcff", 'tag="a\\udfffb"'):  # an escape, an undecodable byte of argv
        with pytest.raises(SpecError, match="--set tag: the value must be Unicode text; it holds a lone surrogate"):
            parse_override(given)
    assert parse_override('tag="\\ud83d\\ude00"') == ("tag", "\U0001f600")  # a pair is one character


@pytest.mark.parametrize("command", [["summary", "--format", "json"], ["summary", "--format", "csv"],
                                     ["sweep", "--format", "json"], ["sweep", "--format", "csv"]])
def test_lone_surrogate_set_is_exit_2(command: list[str], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from archviz.cli.main import app

    spec = tmp_path / "net.yaml"
    spec.write_text(NET + "variables: {tag: a, w: 1}\nlayers: [{conv2d: {filters: w, kernel: 1}}]\n")
    vary = ["--vary", "w=1,2"] if command[0] == "sweep" else []
    result = CliRunner().invoke(app, [command[0], str(spec), *command[1:], *vary, "--set", 'tag="\\ud800"'])
    assert result.exit_code == 2, result.output
    assert "error: --set tag: the value must be Unicode text" in result.output


# -- only regular files are specs: FIFOs, devices, sockets, folders, symlink loops ------------------------
def test_a_fifo_is_refused_at_once_as_the_spec_and_through_extends(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    with quickly(), pytest.raises(SpecError, match=r"is a FIFO \(named pipe\), not a regular file") as caught:
        archviz.load(fifo)
    assert caught.value.location is not None and caught.value.location.file == str(fifo)
    (tmp_path / "child.yaml").write_text("name: c\nextends: fifo.yaml\n")
    with quickly(), pytest.raises(SpecError, match="is a FIFO") as caught:
        archviz.load(tmp_path / "child.yaml")
    assert "child.yaml:2:1" in caught.value.render()  # the extends line is named


def test_a_socket_and_a_device_are_refused(tmp_path: Path) -> None:
    import socket

    path = tmp_path / "s.yaml"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        with quickly(), pytest.raises(SpecError, match="is a socket, not a regular file"):
            archviz.load(path)
    finally:
        server.close()
    with quickly(), pytest.raises(SpecError, match="is a device, not a regular file"):
        archviz.load("/dev/null")


def test_a_file_swapped_for_a_fifo_after_the_check_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """stat says regular, the path is a FIFO by the time it is opened: the open does not block and
    the opened descriptor is checked again."""
    import os

    from archviz.spec import yamlio

    regular = os.stat(__file__)
    fifo = tmp_path / "swapped.yaml"
    os.mkfifo(fifo)
    monkeypatch.setattr(yamlio.os, "stat", lambda path: regular)
    with quickly(), pytest.raises(SpecError, match="is a FIFO"):
        yamlio.read_text(fifo, str(fifo))


def test_symlink_loops_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").symlink_to("b.yaml")
    (tmp_path / "b.yaml").symlink_to("a.yaml")
    (tmp_path / "child.yaml").write_text("name: c\nextends: a.yaml\n")
    with pytest.raises(SpecError, match="extends names 'a.yaml', which cannot be followed: a symlink loop") as caught:
        archviz.load(tmp_path / "child.yaml")
    assert caught.value.location is not None and caught.value.location.line == 2
    with pytest.raises(SpecError, match="cannot read the file: Too many levels of symbolic links"):
        archviz.load(tmp_path / "a.yaml")


def test_check_reads_its_folder_with_the_spec_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`archviz check` with no argument looked into ./specs with yaml.safe_load: a FIFO there hung,
    a 4,301-digit number or a Latin-1 file was a traceback."""
    import os

    from typer.testing import CliRunner

    from archviz.cli.main import app

    folder = tmp_path / "specs"
    folder.mkdir()
    monkeypatch.chdir(tmp_path)
    bad = {"fifo.yaml": None, "long.yaml": (NET + "layers: [relu]\nexpect: {params: 1" + "0" * 4300 + "}\n").encode(),
           "latin.yaml": b"name: caf\xe9\n"}
    expected = {"fifo.yaml": "is a FIFO", "long.yaml": ":4:18: a number may have at most 100",
                "latin.yaml": "is not UTF-8"}
    for name, content in bad.items():  # check stops at the first spec it cannot read: one at a time
        for old in folder.iterdir():
            old.unlink()
        if content is None:
            os.mkfifo(folder / name)
        else:
            (folder / name).write_bytes(content)
        with quickly(30.0):
            result = CliRunner().invoke(app, ["check"])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        assert f"{name}{expected[name]}" in result.output.replace(f"{name}: ", name), result.output[-2000:]


def test_lone_surrogates_through_the_library() -> None:
    spec = NET + "variables: {tag: a}\nlayers: [relu]\n"
    with pytest.raises(SpecError, match="variable 'tag' must be Unicode text; it holds a lone surrogate"):
        archviz.loads(spec, tag="\ud800")
    with pytest.raises(SpecError, match="variable 'tag' must be Unicode text"):
        archviz.loads(spec).with_variables(tag="x\udcff")
    with pytest.raises(SpecError):  # a surrogate written in the text itself, not as an escape
        archviz.loads("name: t\ud800\ninput: [3, 8, 8]\nlayers: [relu]\n")
    with pytest.raises(SpecError, match="its name holds a lone surrogate"):
        archviz.load("\ud800.yaml")


# -- float attributes: finite, within the range the op's attribute table declares -------------------
def _float_attributes() -> list[tuple[str, str]]:
    from archviz.ops import OP_REGISTRY

    return [(op, key) for op, cls in sorted(OP_REGISTRY.items()) for key, attribute in cls.attributes.items()
            if attribute.kind == "float"]


def test_every_op_with_a_float_attribute_is_covered() -> None:
    found = {op for op, _ in _float_attributes()}
    assert {"dropout", "batch_norm", "lrn", "elu", "leaky_relu"} <= found  # the table reads the registry


@pytest.mark.parametrize(("op", "key"), _float_attributes())
@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", "'w * 1'", "'w'"])
def test_float_attributes_refuse_nan_and_infinity(op: str, key: str, value: str) -> None:
    """NaN passed every comparison: summary exited 0, verify raised, export wrote nn.Dropout(nan)."""
    with pytest.raises(SpecError) as caught:
        archviz.loads(NET + f"variables: {{w: .nan}}\nlayers: [{{{op}: {{{key}: {value}}}}}]\n").analyze()
    assert "finite number" in caught.value.message, caught.value.render()
    assert caught.value.location is not None and caught.value.location.line == 4


# (op, attribute, refused values, accepted values): the ranges PyTorch itself enforces or needs
RANGES = [
    ("dropout", "rate", [-0.1, 1, 1.5], [0, 0.5, 0.999]),
    ("stochastic_depth", "rate", [-0.1, 1], [0, 0.2]),
    ("batch_norm", "eps", [0, -1e-5], [1e-12, 1]),
    ("batch_norm", "momentum", [-0.1, 1.01], [0, 0.1, 1]),
    ("layer_norm", "eps", [0], [1e-6]),
    ("lrn", "k", [0, -1], [1, 2]),
    ("lrn", "alpha", [-1e-4], [0, 1e-4]),
    ("lrn", "beta", [-0.75], [0, 0.75]),
]


@pytest.mark.parametrize(("op", "key", "refused", "accepted"), RANGES, ids=[f"{r[0]}.{r[1]}" for r in RANGES])
def test_float_attribute_ranges(op: str, key: str, refused: list[float], accepted: list[float]) -> None:
    for value in refused:
        with pytest.raises(SpecError, match=f"{key} must be [<>]=? ") as caught:
            archviz.loads(NET + f"layers: [{{{op}: {{{key}: {value}}}}}]\n")
        assert caught.value.location is not None and caught.value.location.line == 3
    for value in accepted:
        layer = archviz.loads(NET + f"layers: [{{{op}: {{{key}: {value}}}}}]\n").layers[0]
        assert getattr(layer.op, key) == value


def test_ranges_are_in_the_schema_and_the_docs() -> None:
    from archviz.ops import OP_REGISTRY
    from archviz.schema_gen import build_schema

    rate = OP_REGISTRY["dropout"].attributes["rate"]
    eps = OP_REGISTRY["batch_norm"].attributes["eps"]
    momentum = OP_REGISTRY["batch_norm"].attributes["momentum"]
    assert (rate.range_text(), eps.range_text(), momentum.range_text()) == ("in [0, 1)", "> 0", "in [0, 1]")
    schema = str(build_schema())
    assert "'exclusiveMaximum': 1" in schema and "'exclusiveMinimum': 0" in schema
    docs = (Path(__file__).resolve().parent.parent / "docs" / "spec.md").read_text(encoding="utf-8")
    assert "| `rate` | float in [0, 1) | `0.5` | Drop probability. |" in docs


@pytest.mark.parametrize("command", ["summary", "export", "verify"])
def test_nan_attribute_is_exit_2_for_every_command(command: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from archviz.cli.main import app

    spec = tmp_path / "net.yaml"
    spec.write_text(NET + "layers:\n  - dropout: {rate: .nan}\n")
    out = ["--out", str(tmp_path / "net.py")] if command == "export" else []
    result = CliRunner().invoke(app, [command, str(spec), *out])
    assert result.exit_code == 2, result.output
    assert f"error: {spec}:4:" in result.output and "rate must be a finite number" in result.output
    assert not (tmp_path / "net.py").exists()


# -- the library boundary: one exception family, exact integers only ----------------------------------
@pytest.mark.parametrize("given", [None, 123, 1.5, b"vgg16", ["vgg16"], object()])
def test_load_takes_a_path_or_a_name(given: object) -> None:
    with pytest.raises(archviz.ArgumentError, match=r"load\(\) takes a spec file's path or a built-in name") as caught:
        archviz.load(given)  # type: ignore[arg-type]
    assert isinstance(caught.value, ArchvizError) and isinstance(caught.value, TypeError)


@pytest.mark.parametrize("given", [b"name: t\n", bytearray(b"x"), 5, None, Path("net.yaml")])
def test_loads_takes_text(given: object) -> None:
    with pytest.raises(archviz.ArgumentError, match=r"loads\(\) takes the spec's YAML text as a str"):
        archviz.loads(given)  # type: ignore[arg-type]


def test_loads_of_a_5000_digit_integer() -> None:
    with quickly(), pytest.raises(SpecError, match="a number may have at most 100 characters"):
        archviz.loads(NET + "layers: [{conv2d: {filters: " + "9" * 5000 + ", kernel: 1}}]\n")


@pytest.fixture(scope="module")
def vgg16() -> archviz.Network:
    return archviz.load("vgg16")


@pytest.mark.parametrize("shape", ["abc", b"abc", 224, 3.0, (True, 224, 224), (3, 224, 224.0), (3, 224, "224"),
                                   (3, None, 224), [3, 224, 1.5]])
def test_input_shapes_are_exact_integers(vgg16: archviz.Network, shape: object) -> None:
    for call in (vgg16.analyze, vgg16.totals_at):
        with pytest.raises(archviz.ArgumentError, match="input_shape must be"):
            call(shape)  # type: ignore[arg-type]


@pytest.mark.parametrize("batch", [None, 1.5, 2.0, True, "2", (1,)])
def test_batch_is_an_exact_integer(vgg16: archviz.Network, batch: object) -> None:
    for call in (vgg16.analyze, vgg16.totals_at):
        with pytest.raises(archviz.ArgumentError, match="batch must be integers"):
            call(None, batch)  # type: ignore[arg-type]


def test_sizes_beyond_the_limit_are_refused_without_printing_them(vgg16: archviz.Network) -> None:
    from archviz.errors import ShapeError

    with quickly(), pytest.raises(ShapeError, match="input dimensions must be <= 2,147,483,647"):
        vgg16.analyze((3, 10**5000, 224))
    with quickly(), pytest.raises(ShapeError, match="batch must be <= 2,147,483,647. Received: batch=an integer of"):
        vgg16.totals_at(None, 10**5000)
    with pytest.raises(ShapeError, match="batch must be >= 1"):
        vgg16.totals_at(None, 0)


def test_a_float_query_cannot_leak_into_the_memo() -> None:
    """totals_at((3, 224, 224.0)) was answered, and the integer query after it returned 15470264320.0."""
    network = archviz.load("vgg16")
    with pytest.raises(archviz.ArgumentError):
        network.totals_at((3, 224, 224.0))  # type: ignore[arg-type]
    totals = network.totals_at((3, 224, 224))
    assert totals.macs == 15_470_264_320 and type(totals.macs) is int  # VGG-16's published 15.47 GMACs
    assert type(network.analyze(batch=2).totals.macs) is int


def test_integer_types_that_are_not_int_are_converted() -> None:
    import numpy as np

    network = archviz.load("vgg16")
    totals = network.totals_at((np.int64(3), np.int32(224), 224), batch=np.int64(2))  # type: ignore[arg-type]
    assert totals.macs == 2 * 15_470_264_320 and type(totals.macs) is int
    assert network.analyze([3, 224, 224]).totals.params == 138_357_544  # a list is a sequence too


@pytest.mark.parametrize(("vary", "message"), [
    ({"num_classes": 5}, r"vary\['num_classes'\] must be a list of values. Received: int 5"),
    ({"num_classes": "10"}, r"vary\['num_classes'\] must be a list of values. Received: str"),
    ({"num_classes": None}, r"vary\['num_classes'\] must be a list of values"),
    ({"num_classes": [[1]]}, "variable 'num_classes' must be a number, true/false or text"),
    ({"num_classes": [float("nan")]}, "variable 'num_classes' must be a finite number"),
    ({"num_classes": [10**5000]}, "variable 'num_classes' must be at most 10\\*\\*30"),
    ({"input": [10**5000]}, "input sizes must be <= 2,147,483,647"),
    ({"input": [(3, 10**5000, 1)]}, "input sizes must be <= 2,147,483,647"),
    ({"batch": 2}, r"vary\['batch'\] must be a list of values"),
    ({"batch": [1.5]}, "batch sizes must be integers >= 1"),
    ({"batch": [10**5000]}, "batch sizes must be <= 2,147,483,647"),
    ([("num_classes", [1])], "vary must map names to lists of values"),
])
def test_sweep_arguments_are_checked_before_any_row(vary: object, message: str) -> None:
    with quickly(5.0), pytest.raises(ArchvizError, match=message):
        archviz.sweep("vgg16", vary=vary)  # type: ignore[arg-type]


def test_sweep_batch_argument_is_checked() -> None:
    with pytest.raises(archviz.ArgumentError, match="batch must be an integer or a list of integers"):
        list(archviz.iter_sweep("vgg16", batch=1.5))  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="batch sizes must be integers >= 1"):
        list(archviz.iter_sweep("vgg16", batch=[True]))


# -- the standard streams: full, closed, unable to encode (real processes: the streams are the point) --
ROOT = Path(__file__).resolve().parent.parent
# the typer-free summary, and the same through the typer app ('-fjson' is declined by the fast path)
ROUTES = {"fast": ["summary", "vgg16", "--format", "json"], "typer": ["summary", "vgg16", "-fjson"],
          "list": ["list"], "sweep": ["sweep", "vgg16", "--vary", "input=32,64", "--format", "csv"]}


def _archviz(args: list[str], stdout: IO[Any] | None = None, env: dict[str, str] | None = None,
             close: tuple[int, ...] = ()) -> subprocess.CompletedProcess[bytes]:
    import os

    def closing() -> None:
        for descriptor in close:
            os.close(descriptor)

    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    environment.pop("ARCHVIZ_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "archviz.cli.main", *args], cwd=ROOT, check=False, timeout=120,
                          stdout=stdout if stdout is not None else subprocess.PIPE,
                          stderr=subprocess.PIPE if 2 not in close else None,
                          preexec_fn=closing if close else None, env=environment)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
@pytest.mark.parametrize("route", list(ROUTES))
def test_stdout_on_a_full_device_is_exit_2(route: str) -> None:
    with open("/dev/full", "wb") as full:
        result = _archviz(ROUTES[route], stdout=full)
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert stderr.startswith("error: cannot write to standard output: No space left on device\n"), stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr and stderr.count("error:") == 1


@pytest.mark.parametrize("route", list(ROUTES))
def test_closed_stdout_is_exit_2(route: str) -> None:
    result = _archviz(ROUTES[route], close=(1,))
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert stderr.startswith("error: cannot write to standard output: standard output is closed\n"), stderr
    assert "AttributeError" not in stderr and "Traceback" not in stderr


def test_closed_stdout_does_not_stop_writing_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "vgg16.json"
    result = _archviz(["summary", "vgg16", "--format", "json", "--out", str(out)], close=(1,))
    assert result.returncode == 0, result.stderr.decode()
    assert json.loads(out.read_text())["totals"]["params"] == 138_357_544  # VGG-16's published count


def test_closed_stderr_still_exits_2_and_stdout_gets_nothing(tmp_path: Path) -> None:
    result = _archviz(["summary", str(tmp_path / "missing.yaml")], close=(2,))
    assert result.returncode == 2 and result.stdout == b""


@pytest.mark.parametrize("route", ["fast", "typer"])
def test_output_that_its_encoding_cannot_hold(route: str, tmp_path: Path) -> None:
    """PYTHONIOENCODING=ascii with non-ASCII names was a UnicodeEncodeError traceback."""
    spec = tmp_path / "net.yaml"
    spec.write_text('name: "café 😀"\ninput: [3, 8, 8]\nlayers:\n  - conv2d: {name: "cé", filters: 2, kernel: 1}\n',
                    encoding="utf-8")
    args = ["summary", str(spec), *ROUTES[route][2:]]
    result = _archviz(args, env={"PYTHONIOENCODING": "ascii"})
    assert result.returncode == 0, result.stderr.decode()
    data = json.loads(result.stdout.decode("ascii"))  # escapes keep it JSON, and the same strings
    assert data["name"] == "café 😀" and [layer["name"] for layer in data["layers"]] == ["cé"]
    table = _archviz(["summary", str(spec)], env={"PYTHONIOENCODING": "ascii"})
    assert table.returncode == 0, table.stderr.decode()
    text = table.stdout.decode("ascii")
    assert "c\\u00e9" in text and "\\u2500" not in text and "---" in text  # rules drawn in ASCII
    for fmt in ("csv", "markdown"):
        other = _archviz(["summary", str(spec), "--format", fmt], env={"PYTHONIOENCODING": "latin-1"})
        assert other.returncode == 0 and "cé".encode("latin-1") in other.stdout  # latin-1 has it: as itself
    heading = _archviz(["summary", str(spec), "--format", "markdown"], env={"PYTHONIOENCODING": "latin-1"})
    assert "### caf\xe9 \\ud83d\\ude00".encode("latin-1") in heading.stdout  # beyond latin-1: escaped


def test_a_spec_path_that_is_not_utf8(tmp_path: Path) -> None:
    """A command-line byte that is not UTF-8 becomes a lone surrogate: it must not break the output."""
    import os

    folder = os.fsencode(str(tmp_path))
    with open(folder + b"/\xff.yaml", "wb") as spec:
        spec.write(NET.encode() + b"layers: [relu]\n")
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([os.fsencode(sys.executable), b"-m", b"archviz.cli.main", b"summary",
                             folder + b"/\xff.yaml", b"--format", b"json"], cwd=ROOT, capture_output=True,
                            check=False, timeout=120, env=environment)
    assert result.returncode == 0, result.stderr.decode()
    data = json.loads(result.stdout)
    assert data["totals"]["output_shape"] == [3, 8, 8] and data["spec"].endswith("/\\xff.yaml")
    out = tmp_path / "out.json"
    written = subprocess.run([os.fsencode(sys.executable), b"-m", b"archviz.cli.main", b"summary",
                              folder + b"/\xff.yaml", b"--format", b"json", b"--out", os.fsencode(str(out))],
                             cwd=ROOT, capture_output=True, check=False, timeout=120, env=environment)
    assert written.returncode == 0, written.stderr.decode()  # a UTF-8 file cannot hold the surrogate either
    assert json.loads(out.read_text(encoding="utf-8"))["spec"].endswith("/\\xff.yaml")
    missing = subprocess.run([os.fsencode(sys.executable), b"-m", b"archviz.cli.main", b"summary", b"\xfe.yaml"],
                             cwd=ROOT, capture_output=True, check=False, timeout=120, env=environment)
    assert missing.returncode == 2 and missing.stderr.startswith(b"error: \\xfe.yaml: no such file")


@pytest.mark.parametrize(("expectation", "message"), [
    ("params: .nan", "expect.params must hold whole numbers >= 0"),
    ("params: .inf", "expect.params must hold whole numbers >= 0"),
    ("params: true", "expect.params must hold whole numbers >= 0"),
    ("macs: -1", "expect.macs must hold whole numbers >= 0"),
    ("flops: 1.5", "expect.flops must hold whole numbers >= 0"),
    ("params_millions: .nan", "expect.params_millions must be a finite number >= 0"),
    ("gmacs: -.inf", "expect.gmacs must"),
    ("output_shape: [2, .nan, 8]", "expect.output_shape must hold whole numbers"),
    ("layers: {c: {receptive_field: .nan}}", "expect.layers.c.receptive_field must hold whole numbers"),
    ("layers: {c: {params: [1, true]}}", "expect.layers.c.params must hold whole numbers"),
])
def test_expectations_that_no_network_can_meet_are_bad_input(expectation: str, message: str) -> None:
    """A NaN or negative expectation made `archviz check` report a failed check (exit 1), not bad input."""
    with pytest.raises(SpecError, match=message) as caught:
        archviz.loads(NET + f"layers: [{{conv2d: {{name: c, filters: 2, kernel: 1}}}}]\nexpect:\n  {expectation}\n")
    assert caught.value.location is not None and caught.value.location.line == 5


def test_expectations_as_the_specs_write_them_are_accepted() -> None:
    network = archviz.loads(NET + "layers: [{conv2d: {name: c, filters: 2, kernel: 1}}]\nexpect:\n"
                            "  params: 8\n  params_millions: 0.0\n  output_shape: [2, 8, 8]\n"
                            "  layers: {c: {receptive_field: [1, 1], effective_padding: 0, macs: 384}}\n")
    from archviz.expectations import check_expectations

    assert all(record.holds for record in check_expectations(network))


def test_a_fifo_given_as_a_keras_model_is_refused_at_once(tmp_path: Path) -> None:
    import os

    from archviz.backends.keras.reader import read_keras

    fifo = tmp_path / "model.keras"
    os.mkfifo(fifo)
    with quickly(), pytest.raises(SpecError, match=r"is a FIFO \(named pipe\), not a regular file; only regular "
                                  "files are read as models"):
        read_keras(fifo)


# -- generated expressions: bounded whatever they combine, and right where they answer ---------------
def _expressions() -> Any:
    from hypothesis import strategies as st

    atoms = st.one_of(
        st.sampled_from(["big", "w", "f", "0", "1", "-1", "64", "2.5", "1e-300", "1e30", "10**30", "9**9", "True"]),
        st.integers(-(10**31), 10**31).map(str),
        st.floats(allow_nan=False, allow_infinity=False).map(repr),
    )

    def combine(inner: Any) -> Any:
        binary = st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "//", "%", "**", "<", "==", ">=", "and", "or"]),
                           inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})")
        unary = st.tuples(st.sampled_from(["-", "+", "not "]), inner).map(lambda t: f"{t[0]}({t[1]})")
        call = st.tuples(st.sampled_from(["min", "max", "abs", "round", "int", "floor", "ceil"]),
                         st.lists(inner, min_size=1, max_size=2)).map(lambda t: f"{t[0]}({', '.join(t[1])})")
        choice = st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})")
        return st.one_of(binary, unary, call, choice)

    return st.recursive(atoms, combine, max_leaves=12)


@pytest.mark.no_cover
def test_generated_expressions_answer_quickly_or_refuse() -> None:
    """Any mix of the evaluator's operations, on operands up to and past its bounds, answers within
    a fraction of a second or raises ExpressionError; where it answers, Python's own arithmetic
    (run only then: its intermediates are known to be small) gives the same value."""
    import math

    from archviz_strategies import examples
    from hypothesis import given, settings

    from archviz.spec.expr import evaluate

    names = {"big": 10**30, "w": 2, "f": 0.5}
    python_names = {**names, "min": min, "max": max, "abs": abs, "round": round, "int": int,
                    "floor": math.floor, "ceil": math.ceil, "True": True}

    @settings(max_examples=examples(400))
    @given(_expressions())
    def check(text: str) -> None:
        start = time.perf_counter()
        try:
            value = evaluate(text, names)
        except ExpressionError:
            value = None
        assert time.perf_counter() - start < 0.5, text
        if value is None or " and " in text or " or " in text:  # archviz's and/or give a bool
            return
        expected = eval(text, {"__builtins__": {}}, python_names)  # the oracle: generated arithmetic only
        assert value == expected or (isinstance(value, float) and math.isclose(value, expected)), text

    check()


def test_check_with_a_symlink_loop_in_its_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Path.resolve() of the loop raised RuntimeError before the spec was read."""
    from typer.testing import CliRunner

    from archviz.cli.main import app

    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "a.yaml").symlink_to("b.yaml")
    (tmp_path / "specs" / "b.yaml").symlink_to("a.yaml")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["check"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "specs/a.yaml: cannot read the file: Too many levels of symbolic links" in result.output



@pytest.mark.parametrize("name", [None, 5, b"pool5", ["pool5"]])
def test_truncate_takes_layer_names(vgg16: archviz.Network, name: object) -> None:
    with pytest.raises(archviz.ArgumentError, match="truncate takes layer names"):
        vgg16.truncate(name)  # type: ignore[arg-type]
    assert vgg16.truncate("pool5").analyze().totals.params == 14_714_688  # VGG-16's convolutional part


def _nested_blocks(blocks: int, levels: int, innermost: str) -> str:
    """``blocks`` blocks, each calling the next from inside ``levels`` nested groups."""
    lines = [NET.rstrip("\n"), "blocks:"]
    for index in range(blocks):
        body = f"b{index + 1}" if index < blocks - 1 else innermost
        for _ in range(levels):
            body = "{layers: [" + body + "]}"
        lines.append(f"  b{index}: {{layers: [{body}]}}")
    return "\n".join([*lines, "layers: [b0]", ""])


def test_groups_nested_inside_block_bodies_are_bounded_together() -> None:
    """YAML allows 64 levels and blocks call 32 deep; one inside the other reached Python's
    recursion limit: "the spec is nested too deeply to analyse", without a file or line."""
    with quickly(5.0), pytest.raises(SpecError, match="layers are nested more than 150 levels deep") as caught:
        archviz.loads(_nested_blocks(30, 28, "relu"))
    assert caught.value.location is not None and caught.value.location.line is not None
    # just below the bound, with a deep expression at the bottom and a deep stack above: it works
    text = _nested_blocks(5, 28, "{conv2d: {filters: '" + "-" * 98 + "4', kernel: 1}}")

    def deep(frames: int) -> int:
        return deep(frames - 1) if frames else archviz.loads(text).analyze().totals.params

    assert deep(150) == 16  # conv 1x1: 3 x 4 weights + 4 biases


def test_recursion_in_the_expansion_names_the_file() -> None:
    """Should the caller's stack be nearly full already, the expansion still says which spec."""
    import inspect

    from archviz.spec.document import read_document_text
    from archviz.spec.expand import expand

    document = read_document_text(_nested_blocks(4, 28, "relu"))
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 120)
    try:
        with pytest.raises(SpecError, match="the spec is nested too deeply to expand") as caught:
            expand(document)
    finally:
        sys.setrecursionlimit(limit)
    assert caught.value.location is not None and caught.value.location.file == "<string>"
