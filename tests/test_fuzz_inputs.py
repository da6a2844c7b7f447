"""No input breaks the tool: mutated specs, random bytes and hostile YAML give exit 0 with sane
numbers or exit 2 with one message naming the file; never a traceback, a hang, a memory blow-up
or a partial output file.

Most examples run in-process through typer's CliRunner (milliseconds each), under an alarm that
turns a hang into a failure. A handful of the nastiest inputs run in a real subprocess with an
address-space limit (``RLIMIT_AS``) and a timeout, to prove the exit codes and the absence of
tracebacks for real. Budgets and seeds: tests/archviz_strategies.py and docs/robustness.md.
"""

from __future__ import annotations

import copy
import json
import math
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from archviz_strategies import examples, graph_specs, sequential_specs
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from archviz.cli.main import app

# Line coverage comes from the directed tests (test_error_table.py and the rest); tracing makes
# these generated examples three to five times slower, so they run untraced (pytest-cov).
pytestmark = pytest.mark.no_cover

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
HANG_SECONDS = 20  # an example still running after this is a hang (CI machines are slow)
MEMORY_LIMIT = 2 * 1024**3  # address space for the subprocess runs: torch is not imported by them
runner = CliRunner()
COMMAND: Any = typer.main.get_command(app)  # built once: typer's own runner rebuilds it per call (~80 ms)


class Hang(BaseException):
    """Raised by the alarm; a BaseException so no ``except Exception`` in the product can swallow it."""


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    def alarm(signum: int, frame: Any) -> None:
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


STATS = {"runs": 0, "exit_0": 0, "exit_2": 0, "slowest": 0.0}


def invoke(args: list[str]) -> Any:
    started = time.perf_counter()
    try:
        with deadline(HANG_SECONDS):
            result = runner.invoke(COMMAND, args)
    except Hang:
        pytest.fail(f"archviz {' '.join(args)} hangs: still running after {HANG_SECONDS} s", pytrace=False)
    elapsed = time.perf_counter() - started
    STATS["runs"] += 1
    STATS["slowest"] = max(STATS["slowest"], elapsed)
    STATS[f"exit_{result.exit_code}"] = STATS.get(f"exit_{result.exit_code}", 0) + 1
    return result


def assert_clean(result: Any, path: Path, out: Path | None = None, fmt: str = "table") -> None:
    """Exit 0 with sane output, or exit 2 with one message naming the file; nothing else."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"uncaught {type(result.exception).__name__}: {result.exception}") from result.exception
    assert result.exit_code in (0, 2), (result.exit_code, result.output)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert result.stdout == ""
        assert result.stderr.startswith("error: "), result.stderr
        # the spec's own path, or a file it extends (which lies in its folder)
        assert result.stderr.startswith((f"error: {path}", f"error: {path.parent}")), result.stderr
        if out is not None:
            assert not out.exists(), "a failed command left an output file"
        return
    text = out.read_text(encoding="utf-8") if out is not None else result.stdout
    if fmt == "json":
        assert_sane_json(json.loads(text))
    elif fmt == "csv":
        lines = text.splitlines()
        assert lines and lines[0].startswith("name")
    else:
        assert text.strip()
    if out is not None:
        assert [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")] == []


def assert_sane_json(data: dict[str, Any]) -> None:
    totals = data["totals"]
    for key in ("params", "buffers", "macs", "flops", "elementwise_ops", "activation_elements"):
        assert isinstance(totals[key], int) and totals[key] >= 0, key
    assert totals["params"] == sum(layer["params"] for layer in data["layers"])
    assert totals["macs"] == sum(layer["macs"] for layer in data["layers"])
    assert totals["flops"] == 2 * totals["macs"]
    for layer in data["layers"]:
        assert all(isinstance(d, int) and d >= 1 for d in layer["output_shape"]), layer
    for name, total in data["conventions"].items():
        assert isinstance(total, int) and total >= 0, name


# -- the seeds: every built-in spec, made self-contained, plus generated ones ---------------

def _self_contained(path: Path) -> dict[str, Any]:
    """A spec with its 'extends' chain merged in, so mutations can reach the blocks too."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    parent_name = data.pop("extends", None)
    if parent_name is None:
        return data
    parent = _self_contained(path.parent / parent_name)
    merged = {k: v for k, v in parent.items() if k not in ("name", "description", "expect", "abstract")}
    for key in ("variables", "blocks"):
        merged[key] = {**parent.get(key, {}), **data.get(key, {})}
    merged.update({k: v for k, v in data.items() if k not in ("variables", "blocks")})
    return merged


SEEDS = [_self_contained(path) for path in sorted(SPECS.glob("*.yaml"))]


def _small(seed: dict[str, Any]) -> dict[str, Any]:
    """VGG at 224 is slow to render thousands of times; the spec's own input stays in some seeds."""
    seed = copy.deepcopy(seed)
    seed.pop("expect", None)
    return seed


NASTY_VALUES: list[Any] = [
    None, True, False, 0, -1, -7, 1, 2, 3, 2**31 - 1, 2**31, 2**63, 2**64 + 1, 10**100, 0.5, -0.0, 1e308,
    float("inf"), float("-inf"), float("nan"), "", " ", "x", "same", "valid", "in", "input", "relu", "conv2d",
    "{i}", "{", "}", "{1/0}", "a{", "{__import__('os')}", "9**9**9", "1/0", "10**30 * 10**30", "2**64",
    "(" * 120 + "1" + ")" * 120, "-" * 400 + "1", "not " * 100 + "1", "max(" * 40 + "1" + ")" * 40,
    "__import__('os').system('true')", "().__class__", "lambda: 1", "'x' * 10**9", "a" * 600, "1e19 ** 64",
    "(-8) ** 0.5", "a\0b", "x" * 5000 + ".yaml",
    "=cmd|' /C calc'!A0", "<script>", "[bold]x[/]", "ünï", "\t", [], {}, [1], [0, 0], [1, 2, 3], [[1, 2], [3]],
    [[-1, 2], [3, 4]], {"x": 1}, {"relu": None}, ["relu"], [{"stage": "s"}],
]
NASTY_KEYS = ["frobnicate", "name", "inputs", "repeat", "if", "stage", "layers", "extends", "filters", "kernel",
              "padding", "units", "groups", "args", "blocks", "variables", "input", "expect", "abstract", "<<", ""]


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


@st.composite
def mutated_specs(draw: st.DrawFn) -> str:
    """A valid spec (built-in or generated) with 1-4 structural mutations, as YAML text."""
    if draw(st.booleans()):
        data = _small(draw(st.sampled_from(SEEDS)))
    else:
        data = yaml.safe_load(draw(st.one_of(sequential_specs(4), graph_specs(3))).text)
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(data)
        path = draw(st.sampled_from(paths))
        target = _get(data, path)
        parent: Any = _get(data, path[:-1]) if path else None
        how = draw(st.sampled_from(("replace", "replace", "delete", "add_key", "duplicate", "rename", "text")))
        if how == "replace" and path:
            parent[path[-1]] = copy.deepcopy(draw(st.sampled_from(NASTY_VALUES)))
        elif how == "delete" and path:
            del parent[path[-1]]
        elif how == "add_key" and isinstance(target, dict):
            target[draw(st.sampled_from(NASTY_KEYS))] = copy.deepcopy(draw(st.sampled_from(NASTY_VALUES)))
        elif how == "duplicate" and isinstance(target, list) and target:
            index = draw(st.integers(0, len(target) - 1))
            target.insert(index, copy.deepcopy(target[index]))
        elif how == "rename" and path and isinstance(target, str):
            parent[path[-1]] = target + draw(st.sampled_from(("_x", "1", ".x", "")))
        elif how == "text" and path:
            parent[path[-1]] = draw(st.text(max_size=12))
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=draw(st.booleans()),
                          default_flow_style=draw(st.sampled_from((None, False, True))), width=1000)
    return text


@st.composite
def text_mutations(draw: st.DrawFn) -> str:
    """Character-level damage to a spec's text: cuts, insertions of YAML syntax, swapped lines."""
    text = (SPECS / draw(st.sampled_from(sorted(p.name for p in SPECS.glob("*.yaml"))))).read_text(encoding="utf-8")
    for _ in range(draw(st.integers(1, 5))):
        how = draw(st.sampled_from(("cut", "insert", "swap", "truncate", "indent")))
        at = draw(st.integers(0, len(text)))
        if how == "cut":
            text = text[:at] + text[at + draw(st.integers(1, 40)):]
        elif how == "insert":
            text = text[:at] + draw(st.text(alphabet=":-[]{},&*!|>'\"#%@` \n\t?<=\\0123456789abz_.", max_size=8)) \
                + text[at:]
        elif how == "swap":
            lines = text.split("\n")
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
        elif how == "truncate":
            text = text[:at]
        else:
            lines = text.split("\n")
            i = draw(st.integers(0, len(lines) - 1))
            lines[i] = " " * draw(st.integers(1, 5)) + lines[i]
            text = "\n".join(lines)
    return text


FORMATS = ("table", "json", "csv", "markdown", "html")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the built-in specs next to the fuzzed files (so 'extends' can resolve)."""
    path = tmp_path_factory.mktemp("fuzz")
    (path / "base").mkdir()
    for spec in [*SPECS.glob("*.yaml"), *SPECS.glob("base/*.yaml")]:
        (path / spec.relative_to(SPECS)).write_bytes(spec.read_bytes())
    return path


def _run_summary(folder: Path, data: bytes, fmt: str, to_file: bool, twice: bool = False) -> None:
    spec = folder / "spec.yaml"
    spec.write_bytes(data)
    out = folder / "out" / f"result.{fmt}"
    out.parent.mkdir(exist_ok=True)
    if out.exists():
        out.unlink()
    args = ["summary", str(spec), "--format", fmt] + (["--out", str(out)] if to_file else [])
    first = invoke(args)
    assert_clean(first, spec, out if to_file else None, fmt)
    if twice and not to_file:  # a second run gives the same answer
        second = invoke(args)
        assert (second.exit_code, second.stdout, second.stderr) == (first.exit_code, first.stdout, first.stderr)


@settings(max_examples=examples(800))
@given(text=mutated_specs(), fmt=st.sampled_from(FORMATS), to_file=st.booleans())
def test_mutated_specs_never_break_the_cli(folder: Path, text: str, fmt: str, to_file: bool) -> None:
    _run_summary(folder, text.encode("utf-8"), fmt, to_file, twice=True)


@settings(max_examples=examples(400))
@given(text=text_mutations(), fmt=st.sampled_from(FORMATS))
def test_damaged_yaml_never_breaks_the_cli(folder: Path, text: str, fmt: str) -> None:
    _run_summary(folder, text.encode("utf-8"), fmt, False)


@settings(max_examples=examples(500))
@given(data=st.one_of(st.binary(max_size=300), st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_random_bytes_never_break_the_cli(folder: Path, data: bytes) -> None:
    _run_summary(folder, data, "json", False)


YAML_TOKENS = ["name: n", "input: [3, 8, 8]", "layers:", "- relu", "- conv2d: {filters: 2, kernel: 1}", "&a", "*a",
               "!!python/object/apply:os.system", "!!str", "!!binary", "!!set", "<<: *a", "? x", "- [", "]", "{", "}",
               "%YAML 1.1", "%TAG ! tag:yaml.org,2002:python/", "---", "...", "|", ">", "'", '"', "#", "\t", "\\u0000",
               '"\\ud800"', '"\\e[31m"', "stage: s", "repeat: 200000", "if: x", "extends: /etc/passwd"]


@settings(max_examples=examples(400))
@given(tokens=st.lists(st.tuples(st.sampled_from(YAML_TOKENS), st.integers(0, 6), st.booleans()), max_size=25))
def test_yaml_token_soup_never_breaks_the_cli(folder: Path, tokens: list[tuple[str, int, bool]]) -> None:
    """Random lines of YAML syntax, tags, anchors and directives: deeper into the parser than bytes."""
    text = "".join(" " * indent + token + ("\n" if newline else " ") for token, indent, newline in tokens)
    _run_summary(folder, text.encode("utf-8"), "json", False)


@settings(max_examples=examples(300))
@given(args=st.lists(st.sampled_from(["--input", "--batch", "--set", "--columns", "--convention", "--units",
                                      "3x8x8", "0", "-1", "1x1x" + "9" * 40, "99999999999999999999", "2",
                                      "width=.inf", "num_classes=0", "num_classes=1e400", "x=", "=", "name,parms",
                                      "fvcore", "raw", "1", "3x224x224", "width=0.3"]), max_size=6),
       spec=st.sampled_from(["vgg11", "resnet18", "inception-block", "vgg16-cifar10"]))
def test_random_options_never_break_the_cli(args: list[str], spec: str) -> None:
    result = invoke(["summary", spec, "--format", "json", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"uncaught {type(result.exception).__name__}") from result.exception
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 0:
        assert_sane_json(json.loads(result.stdout))


def test_fuzz_statistics_are_recorded() -> None:
    """Runs last in this module: the figures docs/robustness.md quotes (pytest -s prints them)."""
    print(f"\nfuzz: {STATS}")


# -- hostile inputs, one by one ------------------------------------------------------------

def _spec(folder: Path, text: str, name: str = "hostile.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_subprocess(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The real command in a fresh interpreter, with 2 GiB of address space and a timeout."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop("ARCHVIZ_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "archviz.cli.main", *args], cwd=ROOT, capture_output=True, check=False,
                          text=True, timeout=timeout, preexec_fn=_limit_memory, env=env)


def _billion_laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        prev, cur = chr(ord("a") + level - 1), chr(ord("a") + level)
        lines.append(f"{cur}: &{cur} [" + ",".join(f"*{prev}" for _ in range(10)) + "]")
    return "\n".join(lines) + "\nname: x\ninput: [3, 8, 8]\nlayers: [relu]\n"


def _layer_bomb() -> str:
    """Aliases that expand into layers rather than plain values: 10**6 relus from 60 lines."""
    lines = ["name: x", "input: [3, 8, 8]", "layers:", "  - &l0 {layers: [" + ", ".join(["relu"] * 10) + "]}"]
    for level in range(1, 6):
        lines.append(f"  - &l{level} {{layers: [" + ", ".join(f"*l{level - 1}" for _ in range(10)) + "]}")
    return "\n".join(lines) + "\n"


HOSTILE: dict[str, str] = {
    "billion-laughs": _billion_laughs(),
    "layer-bomb": _layer_bomb(),
    "deep-flow-nesting": "name: x\ninput: [3, 8, 8]\nlayers: " + "[" * 50_000 + "]" * 50_000 + "\n",
    "deep-block-nesting": "name: x\ninput: [3, 8, 8]\nlayers:\n" + "".join(" " * i + "- \n" for i in range(0, 4000, 2)),
    "deep-mapping-nesting": "name: x\n" + "".join(" " * i + f"k{i}:\n" for i in range(0, 3000, 1)),
    "nested-repeats-of-nothing": ("name: x\ninput: [3, 8, 8]\nlayers:\n  - relu\n"
                                  "  - {layers: [{layers: [{relu: {if: false}}], repeat: 20000}], repeat: 20000}\n"),
    "blocks-repeating-nothing": ("name: x\ninput: [3, 8, 8]\nblocks:\n"
                                 "  b0: {layers: [{relu: {if: false}}]}\n"
                                 + "".join(f"  b{i}: {{layers: [b{i - 1}: {{repeat: 20000}}]}}\n" for i in range(1, 6))
                                 + "layers: [relu, b5]\n"),
    "repeat-too-large": "name: x\ninput: [3, 8, 8]\nlayers:\n  - relu: {repeat: 1000000000000}\n",
    "nested-repeats-over-limit": ("name: x\ninput: [3, 8, 8]\nlayers:\n"
                                  "  - {layers: [{relu: {repeat: 10000}}], repeat: 10000}\n"),
    "recursive-block": "name: x\ninput: [3, 8, 8]\nblocks:\n  b: {layers: [relu, b: {repeat: 2}]}\nlayers: [b]\n",
    "expression-power": "name: x\ninput: [3, 8, 8]\nlayers:\n  - conv2d: {filters: '9**9**9', kernel: 1}\n",
    "expression-tower": "name: x\ninput: [3, 8, 8]\nlayers:\n  - conv2d: {filters: '(2**64)**64', kernel: 1}\n",
    "expression-deep": "name: x\ninput: [3, 8, 8]\nlayers:\n  - conv2d: {filters: '" + "(" * 240 + "1" + ")" * 240
                       + "', kernel: 1}\n",
    "python-object-tag": "name: !!python/object/apply:os.system ['touch pwned']\ninput: [3, 8, 8]\nlayers: [relu]\n",
    "python-name-tag": "name: x\ninput: [3, 8, 8]\nlayers: [!!python/name:os.system relu]\n",
    "tag-directive": "%TAG !p! tag:yaml.org,2002:python/\n---\nname: !p!object/apply:os.system ['touch pwned']\n"
                     "input: [3, 8, 8]\nlayers: [relu]\n",
    "local-tag": "name: !include /etc/passwd\ninput: [3, 8, 8]\nlayers: [relu]\n",
    "binary-tag": "name: !!binary aGVsbG8=\ninput: [3, 8, 8]\nlayers: [relu]\n",
    "merge-key": "base: &b {name: x}\n<<: *b\ninput: [3, 8, 8]\nlayers: [relu]\n",
    "extends-parent": "name: x\nextends: ../outside.yaml\n",
    "extends-absolute": "name: x\nextends: /etc/passwd\n",
    "extends-dotdot-inside": "name: x\nextends: base/../../outside.yaml\n",
    "extends-devzero": "name: x\nextends: /dev/zero\n",
    "extends-self": "name: x\nextends: hostile.yaml\n",
    "extends-folder": "name: x\nextends: base\n",
    "extends-nul": 'name: x\nextends: "a\\0b.yaml"\n',
    "extends-long-name": "name: x\nextends: " + "y" * 5000 + ".yaml\n",
    "lone-surrogate": 'name: "x\\ud800"\ninput: [3, 8, 8]\nlayers: [relu]\n',
    "control-characters-in-name": 'name: "x\\e[2J\\e]0;title\\a"\ninput: [3, 8, 8]\nlayers: [relu]\n',
    "nul-in-description": 'name: x\ndescription: "a\\0b"\ninput: [3, 8, 8]\nlayers: [relu]\n',
    "huge-input": "name: x\ninput: [2147483647, 2147483647, 2147483647]\nlayers: [relu]\n",
    "input-over-limit": "name: x\ninput: [3, 2147483648, 8]\nlayers: [relu]\n",
    "huge-filters": "name: x\ninput: [3, 8, 8]\nlayers:\n  - conv2d: {filters: 2147483647, kernel: 1}\n"
                    "  - conv2d: {filters: 2147483647, kernel: 1}\n",
    "infinite-float": "name: x\ninput: [3, 8, 8]\nlayers:\n  - conv2d: {filters: .inf, kernel: 1}\n",
    "nan-float": "name: x\ninput: [3, 8, 8]\nlayers:\n  - dropout: {rate: .nan}\n",
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_spec_in_process(folder: Path, case: str) -> None:
    path = _spec(folder, HOSTILE[case])
    fmt = "table" if len(HOSTILE[case]) < 200 else "json"  # the long ones are slow to draw, and refused anyway
    assert_clean(invoke(["summary", str(path), "--format", fmt]), path, None, fmt)
    assert not (ROOT / "pwned").exists() and not (folder / "pwned").exists()


SUBPROCESS_CASES = ("billion-laughs", "layer-bomb", "deep-flow-nesting", "nested-repeats-of-nothing",
                    "tag-directive", "lone-surrogate", "huge-input")


@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_hostile_spec_in_a_real_process(tmp_path: Path, case: str) -> None:
    """The real command under a 2 GiB address-space limit: exit 0 or 2, no traceback, in seconds."""
    path = _spec(tmp_path, HOSTILE[case])
    started = time.perf_counter()
    result = run_subprocess(["summary", str(path), "--format", "json"])
    elapsed = time.perf_counter() - started
    assert result.returncode in (0, 2), result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr
    if result.returncode == 2:
        assert result.stdout == "" and str(path) in result.stderr
    else:
        assert_sane_json(json.loads(result.stdout))
    assert elapsed < 30, f"{case} took {elapsed:.1f} s"
    assert not (tmp_path / "pwned").exists() and not (ROOT / "pwned").exists()


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_endless_files_are_refused_without_reading_them_whole(device: str) -> None:
    if not Path(device).exists():
        pytest.skip(f"{device} does not exist here")
    result = run_subprocess(["summary", device], timeout=30)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr
    assert result.stderr.startswith(f"error: {device}")


@pytest.mark.parametrize("name", ["x" * 5000 + ".yaml", "x" * 5000, "a/" * 3000 + "b.yaml"])
def test_spec_paths_the_system_cannot_look_up(name: str) -> None:
    """Names longer than the file system allows were an OSError traceback."""
    result = invoke(["summary", name])
    assert result.exit_code == 2 and result.stderr.startswith(f"error: {name[:50]}"), result.output[-500:]


def test_symlink_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "secret.yaml"
    outside.write_text("name: secret\ninput: [3, 8, 8]\nlayers: [relu]\n")
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "base.yaml").symlink_to(outside)
    spec = _spec(folder, "name: x\nextends: base.yaml\n")
    result = invoke(["summary", str(spec)])
    assert result.exit_code == 2
    assert "extends may only name a file in the spec's own folder or below" in result.stderr


def test_extends_cycle_is_refused(tmp_path: Path) -> None:
    _spec(tmp_path, "name: a\nextends: b.yaml\n", "a.yaml")
    _spec(tmp_path, "name: b\nextends: a.yaml\n", "b.yaml")
    result = invoke(["summary", str(tmp_path / "a.yaml")])
    assert result.exit_code == 2 and "cycle" in result.stderr


def test_yaml_tags_execute_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    for tag in ("!!python/object/apply:os.system", "!!python/object/apply:subprocess.call",
                "!!python/object/new:os.system"):
        spec = _spec(tmp_path, f"name: {tag} ['touch {marker}']\ninput: [3, 8, 8]\nlayers: [relu]\n")
        result = run_subprocess(["summary", str(spec)])
        assert result.returncode == 2 and "is not allowed" in result.stderr
    assert not marker.exists()


# -- sizes: 20,000 layers, counts beyond 64 bits ---------------------------------------------

def test_twenty_thousand_layers_analyse_quickly(tmp_path: Path) -> None:
    # block style, as yaml.safe_dump and people write it (a flow mapping per line is slower to
    # read: docs/robustness.md, "Limits")
    text = "name: big\ninput: [3, 8, 8]\nlayers:\n" + "".join(
        f"  - conv2d:\n      name: c{i}\n      filters: 3\n      kernel: 1\n" if i % 2 else "  - relu\n"
        for i in range(20_000))
    import archviz
    from archviz.render.columns import select
    from archviz.render.formats import to_csv, to_html_table, to_json, to_markdown
    from archviz.render.table import render_summary

    started = time.perf_counter()
    analysis = archviz.loads(text).analyze()
    analysed = time.perf_counter() - started
    assert analysis.totals.layers == 20_000
    assert analysis.totals.params == 10_000 * 12
    assert analysed < 10, f"20,000 layers took {analysed:.1f} s to load and analyse"
    columns = select(None)
    for render in (lambda: to_json(analysis), lambda: to_csv(analysis, columns),
                   lambda: to_markdown(analysis, columns), lambda: to_html_table(analysis, columns),
                   lambda: render_summary(analysis, columns, color=False)):
        started = time.perf_counter()
        assert render()
        assert time.perf_counter() - started < 10
    spec = _spec(tmp_path, text)
    started = time.perf_counter()
    table = run_subprocess(["summary", str(spec)], timeout=120)  # the default command, for real
    elapsed = time.perf_counter() - started
    assert table.returncode == 0 and "19,000 of 20,000 layers not shown" in table.stdout, table.stderr[-2000:]
    assert elapsed < 30, f"archviz summary of 20,000 layers took {elapsed:.1f} s"


def test_counts_beyond_64_bits_stay_exact(tmp_path: Path) -> None:
    """2**62 elements per sample at batch 2**10: every total is past 2**64, and JSON and CSV keep
    every digit (Python ints; no float anywhere on the way)."""
    spec = _spec(tmp_path, "name: wide\ninput: [1, 2147483647, 2147483647]\nlayers:\n"
                           "  - conv2d: {filters: 1, kernel: 1}\n  - relu\n  - global_avg_pool2d\n"
                           "  - dense: {units: 3}\n")
    batch = 2**10
    hw = 2147483647**2
    json_result = invoke(["summary", str(spec), "--format", "json", "--batch", str(batch)])
    assert json_result.exit_code == 0, json_result.output
    data = json.loads(json_result.stdout)
    conv = data["layers"][0]
    assert conv["macs"] == hw * batch > 2**64
    assert conv["output_elements"] == hw * batch
    assert data["totals"]["macs"] == hw * batch + 3 * batch
    assert data["totals"]["flops"] == 2 * data["totals"]["macs"]
    assert data["totals"]["activation_bytes"] == 4 * data["totals"]["activation_elements"]
    assert all(isinstance(v, int) for v in data["conventions"].values())
    csv_result = invoke(["summary", str(spec), "--format", "csv", "--columns", "name,macs,activations",
                         "--batch", str(batch)])
    assert csv_result.exit_code == 0
    assert csv_result.stdout.splitlines()[1] == f"conv2d_1,{hw * batch},{hw * batch}"
    table = invoke(["summary", str(spec), "--batch", str(batch), "--units", "raw"])
    assert table.exit_code == 0 and f"{hw * batch:,}" in table.stdout
    assert not math.isinf(float(data["totals"]["training_bytes_estimate"]))
