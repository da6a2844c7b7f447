"""Number formatting for people: exact with separators, or short with units (M, G)."""

from __future__ import annotations

from collections.abc import Sequence


def exact(value: int) -> str:
    """138357544 -> '138,357,544'."""
    return f"{value:,}"


def human(value: int, unit: str = "") -> str:
    """138357544 -> '138.36 M'; values under 10,000 stay exact."""
    if abs(value) < 10_000:
        return f"{value:,}{(' ' + unit) if unit else ''}"
    for threshold, suffix in ((10**15, "P"), (10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K")):
        if abs(value) >= threshold:
            number = value / threshold
            text = f"{number:.2f}" if abs(number) < 100 else f"{number:.1f}"
            return f"{text} {suffix}{unit}"
    return str(value)


def millions(value: int) -> str:
    """Parameters in millions as the VGG paper's Table 2 prints them: whole millions from 10 M
    up (138357544 -> '138'), three significant digits below, so a small network never shows 0
    (163696 -> '0.164', 2300000 -> '2.3')."""
    if abs(value) >= 9_500_000:
        return str(round(value / 1e6))
    if value == 0:
        return "0"
    return f"{value / 1e6:#.3g}".rstrip("0").rstrip(".")


def human_bytes(value: int) -> str:
    """Binary units: 553430176 -> '527.80 MiB'."""
    size = float(value)
    for suffix in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(size) < 1024 or suffix == "PiB":
            return f"{int(size)} B" if suffix == "B" else f"{size:.2f} {suffix}"
        size /= 1024
    return f"{value} B"


def shape(dims: Sequence[int]) -> str:
    """(64, 224, 224) -> '64x224x224'."""
    return "x".join(str(d) for d in dims)


def percent(part: int, whole: int) -> str:
    if whole == 0 or part == 0:
        return "-"
    share = 100 * part / whole
    if part and share < 0.01:
        return "<0.01%"
    return f"{share:.2f}%"
