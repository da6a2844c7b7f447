"""Did-you-mean suggestions for misspelt names."""

from __future__ import annotations

import os
from collections.abc import Iterable


def did_you_mean(name: str, choices: Iterable[str]) -> str | None:
    """A hint naming the closest choice (by similarity, else by a shared prefix of 4+), or None."""
    import difflib  # only on the error path

    options = [str(c) for c in choices]
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    best = max(options, key=lambda option: len(os.path.commonprefix([name, option])), default=None)
    if best is not None and len(os.path.commonprefix([name, best])) >= 4:
        return f"did you mean {best!r}?"
    return None
