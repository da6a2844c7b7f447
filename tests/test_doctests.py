"""The examples in archviz's docstrings are run: an example that no longer prints what it shows fails."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import archviz

MODULES = sorted(info.name for info in pkgutil.walk_packages(archviz.__path__, "archviz.")
                 if info.name != "archviz.__main__")  # importing __main__ runs the CLI


def _has_examples(name: str) -> bool:
    module = importlib.import_module(name)
    return any(test.examples for test in doctest.DocTestFinder().find(module))


@pytest.mark.parametrize("name", [name for name in MODULES if _has_examples(name)])
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS, verbose=False,
                             report=True)
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (see above)"


def test_the_examples_cover_the_public_api() -> None:
    names = [name for name in MODULES if _has_examples(name)]
    assert {"archviz.network", "archviz.sweep", "archviz.spec.expr"} <= set(names)
