"""The committed reports/ are exactly what `archviz report --out reports/` writes today."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "reports"
GENERATED_FOLDERS = ("specs", "diagrams")


@pytest.fixture(scope="module")
def regenerated() -> dict[str, bytes]:
    pytest.importorskip("torch")
    from archviz.render.external import find_dot

    find_dot()
    from archviz.report import build_reports

    return build_reports()


def test_committed_reports_are_current(regenerated: dict[str, bytes]) -> None:
    stale = [path for path, content in regenerated.items()
             if not (REPORTS / path).exists() or (REPORTS / path).read_bytes() != content]
    assert stale == [], "run: archviz report --out reports/"


def test_no_leftover_generated_files(regenerated: dict[str, bytes]) -> None:
    committed = {str(p.relative_to(REPORTS)) for folder in GENERATED_FOLDERS for p in (REPORTS / folder).rglob("*")
                 if p.is_file()}
    assert committed - set(regenerated) == set()


def test_reports_are_reproducible(regenerated: dict[str, bytes]) -> None:
    """No timestamps or machine paths: a second build gives the same bytes."""
    from archviz.report import build_reports

    again = build_reports(["vgg16", "resnet18"], verify=False)
    for path in ("diagrams/vgg16-graph.svg", "diagrams/vgg16-blocks.svg", "diagrams/vgg16-cost.svg",
                 "diagrams/resnet18-graph.svg"):
        assert again[path] == regenerated[path], path
    text = regenerated["README.md"].decode()
    assert "/work/" not in text and "/tmp/" not in text and "/root" not in text


def test_family_report_states_the_key_facts(regenerated: dict[str, bytes]) -> None:
    text = regenerated["README.md"].decode()
    assert "| D (vgg16) | 138,357,544 | 138 | 138 | ✓ |" in text
    assert "15,237,608 values" in text  # CS231n rows, recomputed
    assert "| fc8 | 4,100,096 | 4,097,000 | +3,096 |" in text  # the blog's bias error
    assert "| keras-seed-vgg16 | 37,694,248 | 37,694,248 | ✓ |" in text
    assert "| pool5 | 212 / 32 / 90 | 212 / 32 / 90 | ✓ |" in text
    assert "✗" not in text  # every published value agrees
    verification = regenerated["verification.md"].decode()
    assert verification.count("| meta |") == verification.count("| cpu |") == len(list((ROOT / "specs").glob("*.yaml")))
    assert "mismatch" not in verification and "not run" not in verification


# -- without torch, or with --no-verify: the verification results already there are kept ---------

def _folder_with_committed_verification(tmp_path: Path) -> Path:
    """A copy of the committed verification.md and vgg16 page, with inception-block's rows removed
    and vgg11's layer count changed (a result that no longer describes the spec)."""
    folder = tmp_path / "reports"
    (folder / "specs").mkdir(parents=True)
    lines = (REPORTS / "verification.md").read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if "(specs/inception-block.md)" not in line]
    kept = [line.replace("| 30 |", "| 29 |") if "(specs/vgg11.md)" in line else line for line in kept]
    assert len(kept) == len(lines) - 2 and sum("| 29 |" in line for line in kept) == 2
    (folder / "verification.md").write_text("".join(kept), encoding="utf-8")
    (folder / "specs" / "vgg16.md").write_bytes((REPORTS / "specs" / "vgg16.md").read_bytes())
    return folder


def _rows(page: str, spec: str) -> list[str]:
    return [line for line in page.splitlines() if f"(specs/{spec}.md)" in line]


def test_report_without_torch_keeps_the_committed_verification(tmp_path: Path) -> None:
    """`archviz report --out reports/` without torch used to rewrite every page's "✓ 140 checks agree" to
    "not run (torch is not installed)" and exit 0 without a word."""
    from test_optional_dependencies import run_without

    folder = _folder_with_committed_verification(tmp_path)
    result = run_without("torch", "report", "vgg16", "vgg11", "inception-block", "--out", "reports", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("note: torch is not installed: the verification against PyTorch was not run; "
                                    "kept the results of 1 of 3 specs as reports/verification.md has them; "
                                    "2 say 'not run' (vgg11, inception-block); pip install 'archviz[torch]' to run it\n")
    # vgg16's page is byte for byte the committed one, its verification section included.
    assert (folder / "specs" / "vgg16.md").read_bytes() == (REPORTS / "specs" / "vgg16.md").read_bytes()
    committed = (REPORTS / "verification.md").read_text(encoding="utf-8")
    written = (folder / "verification.md").read_text(encoding="utf-8")
    assert _rows(written, "vgg16") == _rows(committed, "vgg16")
    assert "✓ 140 checks agree, 24 not measured by PyTorch" in _rows(written, "vgg16")[0]
    for spec in ("vgg11", "inception-block"):
        rows = _rows(written, spec)
        assert len(rows) == 2 and all(row.endswith("| not run (torch is not installed) |") for row in rows), rows


def test_no_verify_keeps_the_results_too(tmp_path: Path) -> None:
    from archviz.report import build_reports

    folder = _folder_with_committed_verification(tmp_path)
    notes: list[str] = []
    files = build_reports(["vgg16"], verify=False, previous=folder, log=notes.append)
    assert files["specs/vgg16.md"] == (REPORTS / "specs" / "vgg16.md").read_bytes()
    assert notes == [(f"--no-verify: the verification against PyTorch was not run; kept the results of 1 of 1 specs "
                     f"as {folder / 'verification.md'} has them")]
    fresh = build_reports(["vgg16"], verify=False)  # no earlier report: nothing to keep
    assert "| meta | 3x224x224 | not run (--no-verify) |" in fresh["specs/vgg16.md"].decode()


# -- the Markdown as GitHub renders it ------------------------------------------------------------

FENCED = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
CODE_SPAN = re.compile(r"(`+)[^\n]*?\1")
# a tag name in angle brackets: GitHub passes it through as HTML, and an unknown tag's text vanishes
RAW_TAG = re.compile(r"</?[A-Za-z][\w-]*[^>]*>")
INTENDED_TAGS = {"<br>"}  # line breaks inside table cells
# a number, an ordinary space, then a unit that archviz writes: a wide table's cell may wrap there
SPLIT_UNIT = re.compile(r"\d (?:[KMGTP]i?B|[KMGTP]|B)\b")


def _outside_code(text: str) -> str:
    return CODE_SPAN.sub("", FENCED.sub("", text))


@pytest.fixture(scope="module")
def markdown_pages() -> dict[str, str]:
    from archviz.report import build_reports

    files = build_reports(["vgg16", "resnet18"], verify=False)
    return {path: content.decode() for path, content in files.items() if path.endswith(".md")}


def test_markdown_has_no_raw_tags_outside_code(markdown_pages: dict[str, str]) -> None:
    """reports/README.md wrote conv<kernel>-<filters> as text: GitHub took <kernel> and <filters>
    for HTML tags and the words disappeared."""
    assert set(markdown_pages) == {"README.md", "verification.md", "specs/vgg16.md", "specs/resnet18.md"}
    for path, text in markdown_pages.items():
        tags = set(RAW_TAG.findall(_outside_code(text))) - INTENDED_TAGS
        assert tags == set(), path
    assert "`conv<kernel>-<filters>`" in markdown_pages["README.md"]


def test_numbers_and_units_do_not_wrap_apart(markdown_pages: dict[str, str]) -> None:
    for path, text in markdown_pages.items():
        assert SPLIT_UNIT.findall(_outside_code(text)) == [], path
    page = markdown_pages["specs/vgg16.md"]
    # VGG16's 138,357,544 params, 15,470,264,320 MACs, and 138,357,544 x 4 bytes of float32 weights
    assert "138,357,544 (138.4\u00a0M)" in page and "15,470,264,320 (15.47\u00a0G)" in page
    assert f"{138_357_544 * 4 / 2**20:.2f}\u00a0MiB fp32" in page
    assert "|---:|" in page  # still a table GitHub aligns


def test_no_break_spaces_leave_code_alone() -> None:
    from archviz.report.markdown import keep_units_together

    text = "a 3 M cell | `archviz summary --input 3 224 B` | 0 B\n```\n1 G\n```\nvgg16 M, 2.5 GiB"
    assert keep_units_together(text) == ("a 3\u00a0M cell | `archviz summary --input 3 224 B` | 0\u00a0B\n"
                                         "```\n1 G\n```\nvgg16 M, 2.5\u00a0GiB")
