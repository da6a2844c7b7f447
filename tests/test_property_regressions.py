"""The failing examples the property and fuzz tests found, kept as plain regression tests.

Each was a real bug, fixed in the product; docs/robustness.md lists them with the fix. The
specs are the shrunk examples hypothesis printed (or the smallest hand-made equivalent).
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import time
from pathlib import Path

import pytest

import archviz
from archviz.errors import SpecError
from archviz.shapes import window_output_length

ROOT = Path(__file__).resolve().parent.parent


# 1. ceil_mode pooling: a window longer than the (padded) input still gives one output when the
#    stride reaches past it; archviz said "pooling window 3 is larger than the input".
CEIL_CASES = [
    ("name: t\ninput: [1, 2, 2]\nlayers:\n  - max_pool2d: {kernel: 3, stride: 2, ceil_mode: true}\n", (1, 1, 1)),
    ("name: t\ninput: [1, 1, 1]\nlayers:\n  - max_pool2d: {kernel: [2, 3], padding: [[0, 0], [1, 1]], ceil_mode: true}\n",
     (1, 1, 1)),
    ("name: t\ninput: [1, 1, 1]\nlayers:\n  - max_pool2d: {kernel: 2, stride: 2, ceil_mode: true}\n", (1, 1, 1)),
    ("name: t\ninput: [2, 5, 4]\nlayers:\n  - avg_pool2d: {kernel: 4, stride: 3, padding: 1, ceil_mode: true}\n",
     (2, 2, 2)),
]


@pytest.mark.parametrize("text,shape", CEIL_CASES)
def test_ceil_mode_window_hanging_over_the_edge(text: str, shape: tuple[int, ...]) -> None:
    assert archviz.loads(text).analyze().totals.output_shape == shape


@pytest.mark.parametrize("text,shape", CEIL_CASES)
def test_ceil_mode_window_hanging_over_the_edge_agrees_with_torch(text: str, shape: tuple[int, ...]) -> None:
    pytest.importorskip("torch")
    import archviz.torch

    for device in ("meta", "cpu"):
        result = archviz.torch.verify(archviz.loads(text), device=device)
        assert result.ok, result.mismatches()


def test_window_output_length_follows_atens_pooling_rule() -> None:
    # ATen: out = floor((size + pads - k + (s - 1 if ceil)) / s) + 1, minus one if the last window
    # starts at or past size + left padding
    assert window_output_length(2, 3, 2, (0, 0), ceil_mode=True) == 1
    assert window_output_length(1, 2, 2, (0, 0), ceil_mode=True) == 1
    assert window_output_length(2, 3, 1, (0, 0), ceil_mode=True) == 0  # stride 1 cannot reach past it
    assert window_output_length(1, 4, 2, (0, 0), ceil_mode=True) == 0
    assert window_output_length(2, 3, 2, (0, 0), ceil_mode=False) == 0


# 2. nested repeats of entries that make no layers ran for hours (4 * 10**10 empty steps).
@pytest.mark.parametrize("text", [
    ("name: x\ninput: [3, 8, 8]\nlayers:\n  - relu\n"
     "  - {layers: [{layers: [{relu: {if: false}}], repeat: 20000}], repeat: 20000}\n"),
    "name: x\ninput: [3, 8, 8]\nlayers:\n  - relu\n  - {layers: [{layers: [], repeat: 20000}], repeat: 20000}\n",
    ("name: x\ninput: [3, 8, 8]\nblocks:\n  b0: {layers: [{relu: {repeat: 0}}]}\n"
     "  b1: {layers: [b0: {repeat: 20000}]}\n  b2: {layers: [b1: {repeat: 20000}]}\nlayers: [relu, b2]\n"),
])
@pytest.mark.no_cover  # a million expansion steps, traced, take 3x longer; test_error_table covers the limit
def test_repeats_of_nothing_stop_quickly(text: str) -> None:
    started = time.perf_counter()
    with pytest.raises(SpecError, match="expansion steps"):
        archviz.loads(text)
    assert time.perf_counter() - started < 20


# 3. a file without end (/dev/zero) was read whole: MemoryError.
def test_endless_file_is_refused() -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    with pytest.raises(SpecError, match="is a device, not a regular file"):  # refused before it is read
        archviz.load("/dev/zero")


# 4. "\ud800" in a double-quoted YAML string made a str that cannot be written: UnicodeEncodeError
#    (a traceback) in every output format.
def test_lone_surrogate_escape_is_refused() -> None:
    with pytest.raises(SpecError, match="lone surrogate"):
        archviz.loads('name: "x\\ud800"\ninput: [3, 8, 8]\nlayers: [relu]\n')


def test_surrogate_pair_escape_is_one_character() -> None:
    """JSON writes U+1F600 as "\\ud83d\\ude00"; YAML 1.2 and JSON read it as one character."""
    network = archviz.loads('name: "a\\ud83d\\ude00"\ninput: [3, 8, 8]\nlayers: [relu]\n')
    assert network.name == "a\U0001F600"


# 5. control characters in the network's name, description or reference reached the terminal
#    (escape sequences) and the exported source (NUL: a SyntaxError).
def test_control_characters_in_name_and_description_are_refused() -> None:
    with pytest.raises(SpecError, match="name must be printable"):
        archviz.loads('name: "net\\e[31mRED"\ninput: [3, 8, 8]\nlayers: [relu]\n')
    with pytest.raises(SpecError, match="description must be printable"):
        archviz.loads('name: x\ndescription: "a\\0b"\ninput: [3, 8, 8]\nlayers: [relu]\n')


# 6. a backslash in the description ('\N', a Windows path) made `archviz export` write a module
#    that does not compile ("malformed \N character escape").
def test_exported_source_keeps_backslashes(tmp_path: Path) -> None:
    from archviz.backends.pytorch.source import to_source

    description = "desc \\N and \\x and C:\\path\\ ''' end"
    network = archviz.loads(f"name: x\ndescription: {json.dumps(description)}\nreference: 'ends with \\'\n"
                            "input: [3, 8, 8]\nlayers: [relu]\n")
    docstring = ast.get_docstring(ast.parse(to_source(network)), clean=False)
    assert docstring is not None and docstring.startswith(description.replace("'''", '"""'))
    assert "ends with \\" in docstring


# 7. a 20,000-layer spec took about a minute in `archviz summary` (rich lays out ~1 ms a row).
def test_long_tables_show_first_and_last_layers() -> None:
    from archviz.render.columns import select
    from archviz.render.table import MAX_TABLE_ROWS, render_summary

    text = "name: big\ninput: [3, 8, 8]\nlayers:\n" + "  - relu\n" * (MAX_TABLE_ROWS + 500)
    analysis = archviz.loads(text).analyze()
    started = time.perf_counter()
    table = render_summary(analysis, select(None), color=False)
    assert time.perf_counter() - started < 30
    assert "relu_1 " in table and f"relu_{MAX_TABLE_ROWS + 500} " in table
    assert f"\nrelu_{MAX_TABLE_ROWS // 2 + 1} " not in table  # not as a row; the note names it
    assert f"\nrelu_{MAX_TABLE_ROWS // 2} " in table
    assert "… 500 layers" in table
    assert (f"(500 of {MAX_TABLE_ROWS + 500:,} layers not shown, relu_{MAX_TABLE_ROWS // 2 + 1} to "
            f"relu_{MAX_TABLE_ROWS // 2 + 500}; --format csv, json or markdown lists every layer)"
            ) in " ".join(table.split())  # the note wraps at the table's width


# 8. '$' in a name was read as matplotlib mathtext: '$x^$' crashed `archviz chart` and `report`.
def test_dollar_signs_in_names_are_text_in_charts() -> None:
    pytest.importorskip("matplotlib")
    import xml.etree.ElementTree as ET

    from archviz.render.charts import render_chart

    network = archviz.loads('name: "$x^$"\ninput: [3, 8, 8]\nlayers:\n'
                            '  - conv2d: {name: "$\\\\frac$", filters: 2, kernel: 3}\n')
    for kind in ("cost", "memory", "compare"):
        svg = render_chart([network.analyze()], kind, "svg")
        text = " ".join("".join(e.itertext()) for e in ET.fromstring(svg).iter())
        assert "$x^$" in text
        assert kind == "compare" or "$\\frac$" in text


# 9. Graphviz expands \N, \G... inside HTML-like labels (a layer named '\N' showed as 'n0'), and a
#    ']' right after a tag is a syntax error in its HTML lexer (a network named ']' broke `diagram`).
def test_backslashes_and_brackets_in_graph_labels() -> None:
    import shutil

    from archviz.render.diagram import graph_source

    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    network = archviz.loads('name: "]"\ninput: [3, 8, 8]\nlayers:\n  - relu: {name: "\\\\N"}\n'
                            '  - {stage: "]\\\\G", layers: [{relu: {name: "a\\\\E]"}}]}\n')
    analysis = network.analyze()
    for detail in ("all", "stages"):
        result = subprocess.run(["dot", "-Tsvg"], input=graph_source(analysis, network, detail=detail).encode(),
                                capture_output=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        texts = re.findall(r"<text[^>]*>([^<]*)</text>", result.stdout.decode())
        assert "]" in texts and "]\\G" in texts
        if detail == "all":
            assert "\\N " in texts and "a\\E] " in texts


# 10. the verification Markdown put layer names in `code spans` a backtick could close, and the
#     spec name raw into a heading.
def test_verification_markdown_cannot_be_broken_out_of() -> None:
    from archviz.render.verify import _code

    assert _code("conv1_1") == "`conv1_1`"
    assert _code("a`b") == "``a`b``"
    assert _code("`x") == "`` `x ``"
