"""What gets written and printed, against hostile input (issue 13, items 1, 2, 7, 11, 13, 14).

- file names made from a spec (report pages, per-spec diagrams) are slugs inside --out;
- --out at a device, a FIFO, a symlink or a folder: written through, kept, or refused; never replaced;
- a failing command writes nothing: no temporary file, no half-written report folder;
- every message shows control characters escaped and long values cut;
- a file that is not a spec is never echoed;
- --width out of range, a closed stdout pipe.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archviz.cli.main import app
from archviz.cli.output import inside, safe_file_name, spec_file_name, write_tree
from archviz.errors import OutputError, shorten, shown, visible

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()
TINY = "input: [3, 8, 8]\nlayers:\n  - conv2d: {filters: 2, kernel: 3}\n"


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def run(args: list[str], cwd: Path | None = None, file_limit: int | None = None, timeout: float = 60,
        preexec: Callable[[], None] | None = None) -> subprocess.CompletedProcess[str]:
    """archviz in a real process; ``file_limit``: RLIMIT_FSIZE in bytes (SIGXFSZ ignored, as Python does)."""

    def limit() -> None:
        if file_limit is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, file_limit))
        if preexec is not None:
            preexec()

    env = {**os.environ, "PYTHONPATH": str(ROOT), "ARCHVIZ_NO_CACHE": "1"}
    return subprocess.run([sys.executable, "-m", "archviz.cli.main", *args], cwd=cwd or ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, preexec_fn=limit, check=False)


def spec(folder: Path, name: str, file: str = "net.yaml") -> Path:
    path = folder / file
    path.write_text(f"name: {json.dumps(name)}\n{TINY}")  # a JSON string is a YAML double-quoted one
    return path


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# --- 1. names from a spec are slugs confined to the output folder ----------------------------------

@pytest.mark.parametrize(("text", "slug"), [
    ("vgg16", "vgg16"), ("vgg16-bn", "vgg16-bn"), ("resnet_18.v2", "resnet_18.v2"),
    ("../../../../tmp/x", "tmp-x"), ("/tmp/x", "tmp-x"), ("a\\..\\b", "a-.-b"), ("My net: v2", "My-net-v2"),
    (".hidden", "hidden"), ("名前", "名前"), ("a/../../b", "a-.-.-b"),
])
def test_file_names_are_slugs(text: str, slug: str) -> None:
    assert safe_file_name(text) == slug
    assert "/" not in slug and "\\" not in slug and not slug.startswith(".") and ".." not in slug


@pytest.mark.parametrize("text", ["", "..", "...", "/", "//..//", " ", "-", "x" * 201])
def test_names_that_make_no_file_name_are_errors(text: str) -> None:
    with pytest.raises(OutputError):
        safe_file_name(text)


def test_spec_arguments_name_files_by_their_file_name() -> None:
    assert spec_file_name("vgg16") == "vgg16"
    assert spec_file_name("../../x.yaml") == "x"
    assert spec_file_name("/etc/evil.YML") == "evil"
    assert spec_file_name("specs\\base\\y.yaml") == "y"


def test_inside_refuses_escapes_and_symlinked_folders(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "out" / "diagrams")
    assert inside(tmp_path / "out", "specs/a.md") == tmp_path.resolve() / "out" / "specs" / "a.md"
    for relative in ("../x.html", "/tmp/x.html", "diagrams/a.svg", "a/../../x"):
        with pytest.raises(OutputError):
            inside(tmp_path / "out", relative)


@pytest.mark.parametrize("relative", [True, False])
def test_html_report_pages_stay_in_the_folder(tmp_path: Path, relative: bool) -> None:
    work = tmp_path / "a" / "b" / "c"
    work.mkdir(parents=True)
    victim = tmp_path / "victim"  # the page would be victim.html
    name = os.path.relpath(victim, work / "pages") if relative else str(victim)
    path = spec(work, name)
    result = invoke("report", str(path), "--format", "html", "--out", str(work / "pages"))
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "victim.html").exists()
    page = f"a/b/c/pages/{safe_file_name(name)}.html"
    assert listing(tmp_path) == ["a", "a/b", "a/b/c", "a/b/c/net.yaml", "a/b/c/pages", page]
    assert "victim" in page and ".." not in page


def test_a_name_that_makes_no_file_name_writes_nothing(tmp_path: Path) -> None:
    good = spec(tmp_path, "fine", "good.yaml")
    bad = spec(tmp_path, "...", "bad.yaml")
    result = invoke("report", str(good), str(bad), "--format", "html", "--out", str(tmp_path / "pages"))
    assert result.exit_code == 2
    assert "cannot make a file name" in result.stderr
    assert not (tmp_path / "pages").exists()


def test_two_specs_with_one_slug_write_nothing(tmp_path: Path) -> None:
    one = spec(tmp_path, "a/b", "one.yaml")
    two = spec(tmp_path, "a-b", "two.yaml")
    result = invoke("report", str(one), str(two), "--format", "html", "--out", str(tmp_path / "pages"))
    assert result.exit_code == 2
    assert "same page" in result.stderr
    assert not (tmp_path / "pages").exists()


def test_markdown_report_of_a_relative_path_stays_in_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "w" / "deep"
    work.mkdir(parents=True)
    spec(tmp_path, "x", "x.yaml")
    monkeypatch.chdir(work)
    result = invoke("report", "../../x.yaml", "--no-verify", "--out", "rep")
    assert result.exit_code == 0, result.output
    assert listing(tmp_path) == [
        "w", "w/deep", "w/deep/rep", "w/deep/rep/README.md", "w/deep/rep/diagrams", "w/deep/rep/diagrams/accuracy.svg",
        "w/deep/rep/diagrams/vgg-family-compare.svg", "w/deep/rep/diagrams/vgg-family-errors.svg",
        "w/deep/rep/diagrams/x-blocks.svg",
        "w/deep/rep/diagrams/x-cost.svg", "w/deep/rep/diagrams/x-graph.svg", "w/deep/rep/specs",
        "w/deep/rep/specs/x.md", "w/deep/rep/verification.md", "x.yaml"]
    page = (work / "rep" / "specs" / "x.md").read_text()
    assert "[x.yaml](../../../../x.yaml)" in page  # from rep/specs/ up to tmp_path
    assert (work / "rep" / "specs" / "../../../../x.yaml").resolve() == (tmp_path / "x.yaml").resolve()


# --- 2. --out at special files ----------------------------------------------------------------------

def test_out_dev_null_stays_a_device() -> None:
    before = os.stat("/dev/null")
    for args in (["summary", "vgg16", "-f", "csv"], ["sweep", "vgg16", "--vary", "width=1,2", "-f", "csv"],
                 ["schema"], ["diagram", "vgg16", "--out", "/dev/null"]):
        result = invoke(*args, *([] if "diagram" in args else ["--out", "/dev/null"]))
        # diagram picks the format from the extension: /dev/null has none
        assert result.exit_code == (2 if "diagram" in args else 0), (args, result.output)
        after = os.stat("/dev/null")
        assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize("args", [["summary", "vgg16", "-f", "json"], ["sweep", "vgg16", "--vary", "width=1,2"],
                                  ["sweep", "vgg16", "--vary", "width=1,2", "-f", "csv"], ["schema"]])
def test_out_dev_full_is_a_write_error(args: list[str]) -> None:
    result = invoke(*args, "--out", "/dev/full")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: cannot write /dev/full: No space left on device")
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_a_fifo_nobody_reads_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    started = time.monotonic()
    result = run(["summary", "vgg16", "-f", "csv", "--out", str(fifo)], timeout=30)
    assert result.returncode == 2, result.stderr
    assert "nothing is reading this FIFO" in result.stderr
    assert time.monotonic() - started < 25
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_fifo_with_a_reader_gets_the_output(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    time.sleep(0.2)  # let cat open its end
    result = invoke("summary", "vgg16", "-f", "csv", "--out", str(fifo))
    data, _ = reader.communicate(timeout=30)
    assert result.exit_code == 0, result.output
    assert data.decode().splitlines()[0].startswith("name,op,output_shape,params")
    # the header and 40 layers: 13 conv + 13 relu, 5 pools, flatten, 3 dense + 2 relu + 2 dropout, softmax
    assert len(data.decode().splitlines()) == 1 + 13 + 13 + 5 + 1 + 3 + 2 + 2 + 1
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.skipif(not os.path.exists("/dev/stdout"), reason="no /dev/stdout")
def test_out_dev_stdout_on_a_pipe_is_written_through() -> None:
    result = run(["summary", "vgg16", "-f", "csv", "--out", "/dev/stdout"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == "conv1_1,conv3-64,64x224x224,1792,0.0013,86704128,0.5605,3x3"


def test_a_symlink_stays_and_its_target_is_written(tmp_path: Path) -> None:
    (tmp_path / "real.csv").write_text("old")
    os.symlink("real.csv", tmp_path / "link.csv")
    os.symlink("new.csv", tmp_path / "dangling.csv")
    for link in ("link.csv", "dangling.csv"):
        result = invoke("summary", "vgg16", "-f", "csv", "--out", str(tmp_path / link))
        assert result.exit_code == 0, result.output
        assert os.path.islink(tmp_path / link)
    assert (tmp_path / "real.csv").read_text().startswith("name,op,")
    assert (tmp_path / "new.csv").read_text().startswith("name,op,")
    assert listing(tmp_path) == ["dangling.csv", "link.csv", "new.csv", "real.csv"]


def test_a_folder_or_an_empty_name_is_refused_and_nothing_is_left(tmp_path: Path) -> None:
    (tmp_path / "x.svg").mkdir()
    (tmp_path / "x.csv").mkdir()
    assert invoke("diagram", "vgg16", "--out", str(tmp_path / "x.svg")).exit_code == 2
    result = invoke("summary", "vgg16", "-f", "csv", "--out", str(tmp_path / "x.csv"))
    assert result.exit_code == 2 and "it is a folder" in result.stderr
    assert listing(tmp_path) == ["x.csv", "x.svg"]
    empty = run(["summary", "vgg16", "-f", "csv", "--out", ""], cwd=tmp_path / "x.csv")
    assert empty.returncode == 2 and "a file name is needed" in empty.stderr
    assert listing(tmp_path) == ["x.csv", "x.svg"]


def test_existing_file_mode_is_kept(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    out.write_text("old")
    out.chmod(0o640)
    assert invoke("summary", "vgg16", "-f", "csv", "--out", str(out)).exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o640


# --- 7. nothing is written when a command fails ------------------------------------------------------

WRITERS = [
    ["summary", "vgg16", "-f", "json", "--out", "{out}.json"],
    ["diagram", "vgg16", "--out", "{out}.dot"],
    ["diagram", "vgg16", "--style", "blocks", "--out", "{out}.svg"],
    ["sweep", "vgg16", "--vary", "input=32..400:8", "--out", "{out}.txt"],
    ["sweep", "vgg16", "--vary", "input=32..400:8", "-f", "csv", "--out", "{out}.csv"],
    ["export", "vgg16", "--out", "{out}.py"],
    ["schema", "--out", "{out}.json"],
    ["chart", "vgg16", "--out", "{out}.svg"],
    ["report", "vgg16", "--out", "{out}.html"],
]


@pytest.mark.parametrize("args", WRITERS, ids=lambda a: " ".join(a[:2]))
def test_a_file_size_limit_leaves_the_original_and_no_temporary(tmp_path: Path, args: list[str]) -> None:
    out = args[-1].format(out=str(tmp_path / "out"))
    Path(out).write_text("original")
    result = run([*args[:-1], out], file_limit=1024)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: cannot write {out}: File too large"), result.stderr
    assert "Traceback" not in result.stderr
    assert Path(out).read_text() == "original"
    assert listing(tmp_path) == [Path(out).name]


def test_verify_with_a_file_size_limit_writes_nothing(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    out = tmp_path / "verify.json"
    result = run(["verify", "vgg11", "--device", "meta", "-f", "json", "--out", str(out)], file_limit=1024,
                 timeout=180)
    assert result.returncode == 2, result.stderr
    assert "File too large" in result.stderr
    assert listing(tmp_path) == []


def test_sweep_chart_that_fails_leaves_no_out_file(tmp_path: Path) -> None:
    result = invoke("sweep", "vgg16", "--vary", "width=1,2", "-f", "csv", "--out", str(tmp_path / "rows.csv"),
                    "--chart", str(tmp_path / "missing" / "chart.svg"))
    assert result.exit_code == 2
    assert listing(tmp_path) == []


def test_a_read_only_folder_is_a_clean_error(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    tmp_path.chmod(0o755)
    # root writes anywhere: run as nobody then (the checkout and the venv must be readable by it)
    as_nobody = (lambda: os.setuid(65534)) if os.geteuid() == 0 else None
    try:
        probe = run(["--version"], preexec=as_nobody, cwd=tmp_path)
    except OSError as exc:
        pytest.skip(f"Python does not run as an unprivileged user here: {exc}")
    if probe.returncode != 0:
        pytest.skip(f"archviz does not run as an unprivileged user here: {probe.stderr[-200:]}")
    result = run(["summary", "vgg16", "-f", "csv", "--out", str(folder / "x.csv")], preexec=as_nobody, cwd=tmp_path)
    assert result.returncode == 2
    assert "Permission denied" in result.stderr and "Traceback" not in result.stderr
    assert listing(folder) == []


def test_a_report_folder_is_written_whole_or_not_at_all(tmp_path: Path) -> None:
    spec(tmp_path, "x", "x.yaml")
    result = run(["report", str(tmp_path / "x.yaml"), "vgg11", "--no-verify", "--out", str(tmp_path / "rep")],
                 file_limit=20_000)
    assert result.returncode == 2, result.stderr
    assert "File too large" in result.stderr
    assert listing(tmp_path) == ["x.yaml"]  # neither the folder nor its staging folder


def test_a_report_into_an_existing_folder_changes_nothing_when_it_fails(tmp_path: Path) -> None:
    spec(tmp_path, "x", "x.yaml")
    rep = tmp_path / "rep"
    assert invoke("report", str(tmp_path / "x.yaml"), "--no-verify", "--out", str(rep)).exit_code == 0
    (rep / "notes.txt").write_text("mine")
    (rep / "verification.md").unlink()
    (rep / "verification.md").mkdir()  # one target is something else now
    before = {p: p.read_bytes() for p in rep.rglob("*") if p.is_file()}
    result = invoke("report", str(tmp_path / "x.yaml"), "--no-verify", "--out", str(rep))
    assert result.exit_code == 2
    assert {p: p.read_bytes() for p in rep.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep", "x.yaml"]


def test_write_tree_puts_everything_back_on_an_interrupt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    write_tree(out, {"a.md": b"old a", "b.md": b"old b", "sub/c.md": b"old c"})
    calls = []
    real_replace = os.replace

    def interrupted(source: object, target: object) -> None:
        calls.append(target)
        if len(calls) == 4:  # a and b's old copies set aside, a moved in: then Ctrl-C
            raise KeyboardInterrupt
        real_replace(source, target)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_tree(out, {"a.md": b"new a", "b.md": b"new b", "sub/c.md": b"new c", "sub/d/e.md": b"new e"})
    monkeypatch.setattr(os, "replace", real_replace)
    assert {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()} == {
        "a.md": b"old a", "b.md": b"old b", "sub/c.md": b"old c"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_write_tree_refuses_a_file_where_the_folder_goes(tmp_path: Path) -> None:
    (tmp_path / "rep").write_text("a file")
    with pytest.raises(OutputError, match="a file of that name exists"):
        write_tree(tmp_path / "rep", {"a.md": b"x"})
    assert (tmp_path / "rep").read_text() == "a file"


# --- 11. terminal escapes in messages ---------------------------------------------------------------

CONTROL = "\x1b]0;title\x07\x1b[2J"


def test_escape_sequences_from_extends_are_shown_not_obeyed(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text('name: x\nextends: "\\e]0;title\\a\\e[2J.yaml"\n' + TINY)
    result = invoke("summary", str(tmp_path / "s.yaml"))
    assert result.exit_code == 2
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "\\x1b]0;title\\x07\\x1b[2J.yaml" in result.stderr


@pytest.mark.parametrize("value", [CONTROL, "a\nerror: forged line", "\u202eevil", "x\x00y", "\x9b2J"])
def test_escape_sequences_from_the_command_line_are_shown_not_obeyed(value: str) -> None:
    result = invoke("summary", "vgg16", "--set", f"num_classes={value}")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: ") and all(line.startswith("  ") for line in lines[1:])  # nothing forged
    assert all(line.isprintable() for line in lines)


def test_visible_escapes_every_invisible_character() -> None:
    assert visible("ok é 名") == "ok é 名"
    assert visible(CONTROL) == "\\x1b]0;title\\x07\\x1b[2J"
    assert visible("\u202e\u200b\ud800\x85\u2028") == "\\u202e\\u200b\\ud800\\x85\\u2028"
    assert visible("a\tb\nc") == "a\\tb\\nc"


# --- 13. short messages, no echo of files that are not specs ------------------------------------------

def test_a_huge_layer_name_gives_a_short_message(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("name: x\ninput: [3, 8, 8]\nlayers:\n  - conv2d: {filters: 2, kernel: 3, name: "
                                     + "b" * 900_000 + "}\n")
    result = invoke("summary", str(tmp_path / "s.yaml"))
    assert result.exit_code == 2
    assert len(result.stderr) < 1_000
    assert "more]" in result.stderr  # says that it cut


def test_a_huge_set_value_gives_a_short_message() -> None:
    result = invoke("summary", "vgg16", "--set", "num_classes=" + "x" * 10_000)
    assert result.exit_code == 2
    assert len(result.stderr) < 600 and "more]" in result.stderr


def test_shorten_keeps_both_ends() -> None:
    text = "start" + "x" * 1000 + "end"
    cut = shorten(text, 50)
    assert cut.startswith("start") and cut.endswith("end") and len(cut) <= 55
    assert shorten("short") == "short"
    assert len(shown("word " * 10_000)) <= 500


SECRET = "$6$rounds=5000$saltsalt$Zm9vYmFyYmF6cXV4"


@pytest.mark.parametrize("text", [
    f"root:{SECRET}:20228:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",   # /etc/shadow
    f"root:x:0:0:root:/root:/bin/bash\ntoken: {SECRET}\n",                  # parses as a mapping
    f"*{SECRET[3:9]}\n",                                                    # an undefined alias
    f"{SECRET}\n  {SECRET}: [\n",                                           # broken YAML
    f"key\t{SECRET}\n",
])
def test_a_file_that_is_not_a_spec_is_never_echoed(tmp_path: Path, text: str) -> None:
    (tmp_path / "shadow").write_text(text)
    result = invoke("summary", str(tmp_path / "shadow"))
    assert result.exit_code == 2
    for word in (SECRET, SECRET[3:9], "root:", "daemon", "bash", "token:"):
        assert word not in result.stderr, result.stderr


def test_a_spec_file_still_names_its_unknown_key_and_alias(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("name: x\nlayrs: []\n")
    assert "unknown top-level key 'layrs'" in invoke("summary", str(tmp_path / "a.yaml")).stderr
    (tmp_path / "b.yaml").write_text("name: *nope\n")
    assert "undefined alias 'nope'" in invoke("summary", str(tmp_path / "b.yaml")).stderr


# --- 14. odd option values, a closed pipe ---------------------------------------------------------

@pytest.mark.parametrize("width", ["0", "-5", "19", "10001"])
@pytest.mark.parametrize("command", ["summary", "verify"])
def test_width_out_of_range_is_refused(command: str, width: str) -> None:
    from archviz.cli.fast import parse

    assert parse([command, "vgg16", f"--width={width}"]) is None  # the fast path leaves it to typer
    result = invoke(command, "vgg16", f"--width={width}")
    assert result.exit_code == 2
    assert "between 20 and 10000" in result.stderr


def _closed_early(args: list[str]) -> tuple[int, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ARCHVIZ_NO_CACHE": "1"}
    process = subprocess.Popen([sys.executable, "-m", "archviz.cli.main", *args], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()  # as `| head -1` does
    stderr = process.stderr.read().decode()
    return process.wait(timeout=60), stderr


@pytest.mark.parametrize("args", [
    ["sweep", "vgg16", "--vary", "input=32..4000:8", "-f", "csv"],             # typer path, streamed
    ["sweep", "vgg16", "--vary", "input=32..4000:8", "-f", "json"],
])
def test_a_closed_pipe_ends_quietly_with_141(args: list[str]) -> None:
    code, stderr = _closed_early(args)
    assert code == 141
    assert stderr == ""


class _ClosedPipe:
    """A stdout whose reader has gone: every write fails as a closed pipe does."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_pipe_on_the_fast_summary_ends_quietly_with_141(monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from archviz.cli.fast import try_fast

    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert try_fast(["summary", "vgg16", "-f", "csv"]) == 141
    assert capsys.readouterr().err == ""


def test_permission_denied_is_a_clean_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a read-only folder gives a user who is not root (the tests may run as root)."""
    import tempfile

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    result = invoke("summary", "vgg16", "-f", "csv", "--out", str(tmp_path / "x.csv"))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: cannot write {tmp_path / 'x.csv'}: Permission denied")
    assert "hint: write where you have permission" in result.stderr
    assert listing(tmp_path) == []


def test_a_symlink_loop_is_a_clean_error(tmp_path: Path) -> None:
    os.symlink("b", tmp_path / "a")
    os.symlink("a", tmp_path / "b")
    result = invoke("summary", "vgg16", "-f", "csv", "--out", str(tmp_path / "a"))
    assert result.exit_code == 2
    assert "Too many levels of symbolic links" in result.stderr
    assert listing(tmp_path) == ["a", "b"]


def test_an_interrupt_while_writing_leaves_the_old_file(tmp_path: Path) -> None:
    from archviz.cli.output import open_output

    out = tmp_path / "out.csv"
    out.write_text("original")
    with pytest.raises(KeyboardInterrupt), open_output(out) as stream:
        stream.write(b"half of it")
        raise KeyboardInterrupt
    assert out.read_text() == "original"
    assert listing(tmp_path) == ["out.csv"]


def test_a_relative_xdg_cache_home_writes_nothing_in_the_working_folder(tmp_path: Path) -> None:
    """XDG: a relative XDG_CACHE_HOME is ignored. archviz keeps no user cache now (the built-in
    specs ship pre-parsed), so no command writes anything but its --out, wherever it runs."""
    spec(tmp_path, "x", "x.yaml")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": "cache"}
    env.pop("ARCHVIZ_NO_CACHE", None)
    for args in (["summary", "x.yaml", "-f", "json"], ["summary", "vgg16"], ["check", "x.yaml"]):
        subprocess.run([sys.executable, "-m", "archviz.cli.main", *args], cwd=tmp_path, env=env,
                       capture_output=True, timeout=60, check=False)
    assert listing(tmp_path) == ["x.yaml"]
