"""Issue 13, class 4: no cache folder can change an answer, hang a run or lose a user's files.

archviz used to keep parsed specs in ``$ARCHVIZ_CACHE_DIR`` / ``$XDG_CACHE_HOME/archviz/parsed``;
an entry planted there made ``archviz check`` pass a spec whose YAML fails its ``expect``. Now
nothing is read from or written to any cache folder: the built-in specs' parsed copies ship in
the package (archviz/spec/preparsed.py), bound to their exact text, and the gate does not even
use those. The planted entries below are the ones the old cache read (its name and format).
"""

from __future__ import annotations

import json
import os
import time
import zlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

import archviz
from archviz.cli.main import app
from archviz.spec import preparsed, yamlio
from archviz.spec.document import BUILTIN_DIR

ROOT = Path(__file__).resolve().parent.parent
BUILTIN_FILES = sorted(BUILTIN_DIR.rglob("*.yaml"))

# params 2*3*3*3 + 2 = 56 (a 3x3 conv, 3 -> 2 channels, with bias); the expectation is wrong
FAILING_SPEC = """\
name: tiny
input: [3, 8, 8]
layers:
  - conv2d: {filters: 2, kernel: 3}
expect:
  params: 57
"""


def _located(value: object) -> object:
    if isinstance(value, dict):
        return ("map", str(value.location),  # type: ignore[attr-defined]
                tuple((k, str(value.key_locations[k]), _located(v)) for k, v in value.items()))  # type: ignore[attr-defined]
    if isinstance(value, list):
        return ("seq", str(value.location), tuple(map(str, value.item_locations)),  # type: ignore[attr-defined]
                tuple(_located(v) for v in value))
    return (type(value).__name__, value)


# -- the shipped copies ------------------------------------------------------------------------
# The measured path (benchmarks/run.py, cold summary) must have its copies; a spec added or edited
# without rerunning the script is only slower, so it is reported as skipped, not failed.
MEASURED = {"vgg16.yaml", "base/vgg.yaml"}


@pytest.mark.parametrize("path", BUILTIN_FILES, ids=lambda p: str(p.relative_to(BUILTIN_DIR)))
def test_every_shipped_copy_is_what_the_parser_gives(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    parsed = yamlio.parse_yaml(text, "x.yaml")
    target = preparsed.entry_path(path)
    assert target is not None
    current = target.is_file() and json.loads(target.read_text(encoding="utf-8")).get("text") == text
    if not current:
        if path.relative_to(BUILTIN_DIR).as_posix() in MEASURED:
            pytest.fail(f"{target} is missing or stale: run python scripts/preparse_specs.py")
        pytest.skip(f"{target} is missing or stale (the YAML is parsed instead): run python scripts/preparse_specs.py")
    assert target.read_text(encoding="utf-8") == preparsed.entry_text(text, parsed)
    shipped = preparsed.load(path, text, "x.yaml")
    assert shipped is not None and _located(shipped) == _located(parsed)


def test_a_copy_is_used_only_for_its_exact_text() -> None:
    path = BUILTIN_DIR / "vgg16.yaml"
    text = path.read_text(encoding="utf-8")
    assert preparsed.load(path, text, "vgg16") is not None
    assert preparsed.load(path, text.replace("filters: 64", "filters: 65"), "vgg16") is None
    assert preparsed.load(path, text + "\n", "vgg16") is None
    with preparsed.bypassed():
        assert preparsed.load(path, text, "vgg16") is None
    assert preparsed.load(path, text, "vgg16") is not None  # the block ends


@pytest.mark.parametrize("path", [
    Path("/tmp/vgg16.yaml"),
    BUILTIN_DIR / ".." / ".." / "tmp" / "x.yaml",  # would name a file outside the package
    BUILTIN_DIR / "parsed" / "vgg16.yaml",
    BUILTIN_DIR / "vgg16.yml",
    BUILTIN_DIR,
])
def test_only_builtin_spec_files_have_copies(path: Path) -> None:
    assert preparsed.entry_path(path) is None


@pytest.mark.parametrize("content", [b"{ damaged", b"[1, 2]", b"{}", b'{"format": 99}', b"[" * 100_000,
                                     b'{"format": 1, "text": "name: a\\n", "data": ["m", 1, 1, [["x"]]]}',
                                     b'{"format": 1, "text": "name: a\\n", "data": ["q", 1, 1, []]}',
                                     b'{"format": 1, "text": "name: a\\n", "data": "not a mapping"}'])
def test_a_damaged_copy_is_ignored(content: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preparsed, "SPECS_DIR", tmp_path)
    monkeypatch.setattr(preparsed, "PARSED_DIR", tmp_path / "parsed")
    (tmp_path / "parsed").mkdir()
    (tmp_path / "parsed" / "a.json").write_bytes(content)
    assert preparsed.load(tmp_path / "a.yaml", "name: a\n", "a.yaml") is None


def test_an_oversized_copy_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preparsed, "SPECS_DIR", tmp_path)
    monkeypatch.setattr(preparsed, "PARSED_DIR", tmp_path / "parsed")
    (tmp_path / "parsed").mkdir()
    text = "name: a\n"
    entry = preparsed.entry_text(text, yamlio.parse_yaml(text, "a.yaml"))
    (tmp_path / "parsed" / "a.json").write_text(entry + " " * preparsed.MAX_ENTRY_BYTES)
    assert preparsed.load(tmp_path / "a.yaml", text, "a.yaml") is None
    (tmp_path / "parsed" / "a.json").write_text(entry)
    assert preparsed.load(tmp_path / "a.yaml", text, "a.yaml") == {"name": "a"}


@pytest.mark.parametrize("kind", ["fifo", "symlink to /dev/zero", "symlink to a good copy"])
def test_a_copy_that_is_not_a_regular_file_is_not_opened(kind: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preparsed, "SPECS_DIR", tmp_path)
    monkeypatch.setattr(preparsed, "PARSED_DIR", tmp_path / "parsed")
    (tmp_path / "parsed").mkdir()
    text = "name: a\n"
    good = tmp_path / "good.json"
    good.write_text(preparsed.entry_text(text, yamlio.parse_yaml(text, "a.yaml")))
    entry = tmp_path / "parsed" / "a.json"
    if kind == "fifo":
        os.mkfifo(entry)  # opening it for reading would wait for a writer forever
    else:
        entry.symlink_to("/dev/zero" if "zero" in kind else good)
    start = time.perf_counter()
    assert preparsed.load(tmp_path / "a.yaml", text, "a.yaml") is None
    assert time.perf_counter() - start < 5


def test_write_all_rewrites_stale_copies_and_removes_orphans(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preparsed, "SPECS_DIR", tmp_path)
    monkeypatch.setattr(preparsed, "PARSED_DIR", tmp_path / "parsed")
    (tmp_path / "base").mkdir()
    (tmp_path / "a.yaml").write_text("name: a\nlayers: [relu]\n")
    (tmp_path / "base" / "b.yaml").write_text("abstract: true\n")
    (tmp_path / "broken.yaml").write_text("name: [\n")  # errors always come from the parser: no copy
    (tmp_path / "parsed" / "gone").mkdir(parents=True)
    (tmp_path / "parsed" / "gone" / "old.json").write_text("{}")
    written = preparsed.write_all()
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == [
        "parsed/a.json", "parsed/base/b.json", "parsed/gone/old.json"]
    assert not (tmp_path / "parsed" / "broken.json").exists()
    assert preparsed.load(tmp_path / "a.yaml", "name: a\nlayers: [relu]\n", "a.yaml") == {"name": "a",
                                                                                          "layers": ["relu"]}
    assert preparsed.write_all() == []  # up to date: nothing rewritten


# -- hostile cache folders ---------------------------------------------------------------------
def _old_entry_name(text: str) -> str:
    data = text.encode("utf-8")
    return f"{len(data)}-{zlib.crc32(data):08x}.json"


def _planted(text: str, data: object) -> str:
    return json.dumps({"format": 1, "archviz": archviz.__version__, "text": text, "data": data})


def _hostile_folder(folder: Path, spec_text: str) -> None:
    """Entries under the old cache's names: lies, traps and a user's own JSON files."""
    folder.mkdir(parents=True, exist_ok=True)
    lie = yamlio.parse_yaml(spec_text.replace("params: 57", "params: 56"), "x.yaml")  # a passing expect
    (folder / _old_entry_name(spec_text)).write_text(_planted(spec_text, preparsed.encode(lie)))
    vgg16 = (BUILTIN_DIR / "vgg16.yaml").read_text(encoding="utf-8")
    os.mkfifo(folder / _old_entry_name(vgg16))  # a reader that opens it waits forever
    base = (BUILTIN_DIR / "base" / "vgg.yaml").read_text(encoding="utf-8")
    (folder / _old_entry_name(base)).symlink_to("/dev/zero")
    for index in range(600):
        (folder / f"user-{index}.json").write_text("{}")


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.lstat().st_mode, p.lstat().st_mtime_ns) for p in folder.rglob("*")}


def test_every_verdict_is_the_same_with_a_cold_warm_and_hostile_cache(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(FAILING_SPEC)
    runner = CliRunner()
    commands = [["check", str(spec)], ["check", str(spec), "--format", "json"], ["check", "vgg16"],
                ["summary", str(spec), "--format", "json"], ["summary", "vgg16", "--format", "json"],
                ["compare", "vgg16", str(spec), "--format", "json"]]
    answers: dict[str, list[tuple[int, str]]] = {}
    for state in ("cold", "warm", "hostile"):
        cache = tmp_path / state
        monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
        monkeypatch.setenv("ARCHVIZ_CACHE_DIR", str(cache / "archviz" / "parsed"))
        monkeypatch.delenv("ARCHVIZ_NO_CACHE", raising=False)
        if state == "hostile":
            _hostile_folder(cache / "archviz" / "parsed", FAILING_SPEC)
        before = _snapshot(cache) if cache.exists() else {}
        for _ in range(2 if state == "warm" else 1):  # warm: the second run of each
            answers[state] = [(result.exit_code, result.stdout)
                              for result in (runner.invoke(app, command) for command in commands)]
        assert (_snapshot(cache) if cache.exists() else {}) == before  # nothing written, nothing deleted
    assert answers["cold"] == answers["warm"] == answers["hostile"]
    codes = [code for code, _ in answers["cold"]]
    assert codes == [1, 1, 0, 0, 0, 0]  # 56 params, not 57: the check fails however the cache looks
    assert json.loads(answers["hostile"][3][1])["totals"]["params"] == 56
