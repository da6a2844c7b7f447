"""The committed reports/ are exactly what `archviz report --out reports/` writes today."""

from __future__ import annotations

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
