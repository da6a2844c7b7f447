"""One colour-blind-safe palette: every renderer takes its colours from archviz.render.palette."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

import archviz
from archviz.render import palette
from archviz.render.theme import DARK, LIGHT

PACKAGE = Path(archviz.__file__).parent
# A colour literal: #rgb or #rrggbb (not an HTML entity such as &#93;, nor a Markdown heading)
COLOUR = re.compile(r"(?<![&\w])#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b")


def test_no_renderer_writes_a_colour_of_its_own() -> None:
    """Graph, blocks figure, charts, HTML report and exports: the only colour literals in the
    package are the palette's."""
    offenders = {
        str(path.relative_to(PACKAGE)): COLOUR.findall(path.read_text(encoding="utf-8"))
        for path in PACKAGE.rglob("*.py") if path.name != "palette.py"
    }
    assert {path: found for path, found in offenders.items() if found} == {}


def test_okabe_ito_is_the_published_palette() -> None:
    # Okabe & Ito (2008), in RGB: orange 230,159,0; sky blue 86,180,233; bluish green 0,158,115;
    # yellow 240,228,66; blue 0,114,178; vermillion 213,94,0; reddish purple 204,121,167
    published = {"orange": (230, 159, 0), "sky blue": (86, 180, 233), "bluish green": (0, 158, 115),
                 "yellow": (240, 228, 66), "blue": (0, 114, 178), "vermillion": (213, 94, 0),
                 "reddish purple": (204, 121, 167)}
    for name, rgb in published.items():
        assert palette.OKABE_ITO[name] == "#{:02x}{:02x}{:02x}".format(*rgb)


def test_family_colours_stay_apart_for_a_deuteranope() -> None:
    # the simulation itself: matplotlib's red and green collapse for a deuteranope (ΔE 120 -> 7),
    # and so did the old theme's conv and dense outlines (31 -> 4); blue and orange do not
    assert palette.distance(palette.deuteranopia("#d62728"), palette.deuteranopia("#2ca02c")) < 10
    assert palette.distance(palette.deuteranopia("#3b78b8"), palette.deuteranopia("#7357b0")) < 5
    assert palette.distance(palette.deuteranopia("#0072b2"), palette.deuteranopia("#e69f00")) > 50
    hues = palette.FAMILY_HUES
    for (first, a), (second, b) in itertools.combinations(hues.items(), 2):
        seen = palette.distance(palette.deuteranopia(a), palette.deuteranopia(b))
        assert seen > 15, (first, second, seen)
    # the pair the issue found nearly identical: conv and dense outlines
    conv, dense = LIGHT.family("conv").border, LIGHT.family("dense").border
    assert palette.distance(palette.deuteranopia(conv), palette.deuteranopia(dense)) > 30


@pytest.mark.parametrize("theme", [LIGHT, DARK], ids=["light", "dark"])
def test_themes_are_built_from_the_palette(theme) -> None:  # type: ignore[no-untyped-def]
    for family, hue in palette.FAMILY_HUES.items():
        assert theme.family(family).solid == hue


def test_report_stripes_match_the_figures() -> None:
    from archviz.report.html import _palette_css

    css = _palette_css()
    assert f"tr.fam-pool td:first-child{{border-left:4px solid {palette.FAMILY_HUES['pool']}}}" in css
    assert LIGHT.family("pool").solid == palette.FAMILY_HUES["pool"]  # the figure's pool boxes
