"""The README's install instructions say what really happens, and scripts/test.sh does what they say."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from archviz.optional import EXTRAS

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


# -- the acceptance run: a fresh venv with exactly the README's install line, then every command it shows --

INSTALL_LINE = "python3 -m venv .venv && . .venv/bin/activate && pip install -e . && archviz summary specs/vgg16.yaml"


def readme_commands() -> list[str]:
    """Every archviz command README.md shows: the lines of its ```bash blocks and the `$ ` lines of its
    ```text sessions that start with `archviz`, without their explaining comment. Inline code in the prose
    names commands (often with a file the reader brings) and is not run; setup lines (apt-get, pip,
    bash scripts/test.sh) are not commands of the tool; the install line is run first, as written."""
    found = []
    for block in code_blocks(README, "bash"):
        found += [line for line in block.splitlines() if line.startswith("archviz ")]
    for block in code_blocks(README, "text"):
        found += [line[2:] for line in block.splitlines() if line.startswith("$ archviz ")]
    commands: list[str] = []
    for line in found:
        command = re.sub(r"\s+#.*$", "", line)
        if command not in commands:
            commands.append(command)
    return commands


def written_files(command: str) -> set[str]:
    """The files a command writes: its --out/-o value and the target of a `>` redirection."""
    words = shlex.split(command)
    return {words[i + 1] for i, word in enumerate(words[:-1]) if word in ("--out", "-o", ">")}


def test_the_readme_install_line_is_the_one_the_acceptance_run_uses() -> None:
    assert INSTALL_LINE in code_blocks(README, "bash")[0].splitlines()
    commands = readme_commands()
    assert "archviz report --out reports/" in commands and "archviz verify vgg16" in commands
    assert "archviz summary specs/vgg16.yaml" in commands
    assert "archviz export vgg16 --to pytorch > vgg16_module.py" in commands
    assert written_files("archviz export vgg16 --to pytorch > vgg16_module.py") == {"vgg16_module.py"}
    assert written_files("archviz export resnet18 --to onnx --out resnet18.onnx") == {"resnet18.onnx"}
    assert len(commands) == len(set(commands)) >= 15


def _clean_copy(destination: Path) -> Path:
    """The working tree as a fresh clone has it: tracked and not-ignored files, no venv, no build output."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=False)
    if listed.returncode == 0:
        for name in filter(None, listed.stdout.decode("utf-8").split("\0")):
            source, target = ROOT / name, destination / name
            if source.is_symlink() or source.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                if source.is_symlink():  # specs/ is a link into the package: a clone has the link
                    target.symlink_to(os.readlink(source))
                else:
                    shutil.copy2(source, target)
    else:  # not a git checkout (an unpacked archive): everything but what .gitignore names
        shutil.copytree(ROOT, destination, symlinks=True, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
            ".git", ".venv*", "__pycache__", "*.egg-info", "build", "dist", ".*_cache", ".hypothesis"))
    return destination


def _shell_environment() -> dict[str, str]:
    """The caller's environment without the test session's Python: nothing of it may leak into the new venv."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "ARCHVIZ_DEBUG", "COLUMNS")}
    if sys.prefix != sys.base_prefix:  # the session runs in a venv (scripts/test.sh's): its bin goes last,
        # so that `python3` is the interpreter a new shell has, as where the README's line is typed
        here = str(Path(sys.executable).parent)
        folders = [folder for folder in os.environ.get("PATH", "").split(os.pathsep) if folder != here]
        env["PATH"] = os.pathsep.join([*folders, here])
    return env


@pytest.fixture(scope="session")
def fresh_install(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean copy of the repository with the README's first command run in it, exactly as written."""
    probe = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--dest",
                            str(tmp_path_factory.mktemp("probe")), "pyyaml"],
                           capture_output=True, text=True, timeout=180, check=False)
    if probe.returncode != 0:
        pytest.skip(f"no package registry is reachable for pip: {probe.stderr.strip().splitlines()[-1:]}")
    clone = _clean_copy(tmp_path_factory.mktemp("clone"))
    result = subprocess.run(["bash", "-c", INSTALL_LINE], cwd=clone, env=_shell_environment(),
                            capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, f"the README's install line failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    # It ends with `archviz summary specs/vgg16.yaml`: the summary's totals, as the README shows them.
    assert "Params (learnable)          138,357,544 (138.4 M)" in result.stdout
    return clone


# What may exit 2 after the README's install: a command that needs a framework (torch, ONNX, Keras,
# torchvision: the parts the install leaves out, each named by its extra), or a system program the
# README's apt-get line installs, where it is missing. A command that reads a file an earlier such
# command did not write is not run (the README's flow: install the extra, then go on).
_OPTIONAL = "|".join(sorted({extra.name for extra in EXTRAS.values()} - {"charts", "figures"}))
_DOCUMENTED_EXIT_2 = [re.compile(rf"^error: .* needs [\w.]+, which is not installed; install it with: "
                                 rf"pip install 'archviz\[({_OPTIONAL})\]'$")]
if shutil.which("dot") is None:
    _DOCUMENTED_EXIT_2.append(re.compile(r"^error: Graphviz's 'dot' program was not found"))


def test_every_readme_command_works_after_the_readme_install(fresh_install: Path) -> None:
    clone = fresh_install
    verification_before = {page.name: _verification_section(page) for page in (clone / "reports" / "specs").glob("*.md")}
    failures = []
    unwritten: set[str] = set()
    for command in readme_commands():
        if unwritten & set(shlex.split(command)):
            continue
        result = subprocess.run(["bash", "-c", f". .venv/bin/activate && {command}"], cwd=clone,
                                env=_shell_environment(), capture_output=True, text=True, timeout=600, check=False)
        first = (result.stderr.splitlines() or [""])[0]
        documented = result.returncode == 2 and any(p.match(first) for p in _DOCUMENTED_EXIT_2)
        if not (result.returncode == 0 or documented) or "Traceback" in result.stderr:
            failures.append(f"{command}: exit {result.returncode}\n{result.stderr[-2000:]}")
        if documented:
            unwritten |= written_files(command)
    assert failures == []
    # The files the README's commands write are there and are what they say.
    assert (clone / "vgg16.svg").read_text(encoding="utf-8").lstrip().startswith(("<?xml", "<svg")) or \
        shutil.which("dot") is None
    assert (clone / "vgg19.png").read_bytes().startswith(b"\x89PNG")
    assert (clone / "resnet18.pdf").read_bytes().startswith(b"%PDF") or shutil.which("dot") is None
    assert b"<svg" in (clone / "pareto.svg").read_bytes()
    assert "<html" in (clone / "vgg16.html").read_text(encoding="utf-8").lower()
    sizes = (clone / "sizes.csv").read_text(encoding="utf-8").splitlines()
    assert len(sizes) == 1 + len(range(32, 513, 32))
    assert "class " in (clone / "vgg16_module.py").read_text(encoding="utf-8")
    # Without torch, regenerating the reports leaves every committed page's verification as it was.
    assert {page.name: _verification_section(page) for page in (clone / "reports" / "specs").glob("*.md")
            if page.name in verification_before} == verification_before


def _verification_section(page: Path) -> str:
    text = page.read_text(encoding="utf-8")
    start = text.find("## Verification against PyTorch")
    return text[start: text.find("\n## ", start + 1)] if start >= 0 else ""
