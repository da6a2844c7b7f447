"""The HTML report in a real browser: headless Chromium driven by Selenium."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import archviz
from archviz.cli.main import app

ROOT = Path(__file__).resolve().parent.parent


def chromium():  # type: ignore[no-untyped-def]
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.skip("Chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 "--window-size=1280,2200"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("html") / "vgg16.html"
    result = CliRunner().invoke(app, ["report", "vgg16", "--out", str(out)])
    assert result.exit_code == 0, result.output
    browser = chromium()
    try:
        browser.get(out.as_uri())
        yield browser
    finally:
        browser.quit()


def test_page_loads_without_console_errors(page) -> None:  # type: ignore[no-untyped-def]
    errors = [entry for entry in page.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    assert page.title.startswith("vgg16")
    assert page.find_element("css selector", "header h1").text == "vgg16"
    assert len(page.find_elements("css selector", "svg")) >= 3  # blocks figure, chart, graph inline


def _conv(inputs: int, filters: int) -> int:
    return 9 * inputs * filters + filters  # a 3x3 convolution's weights and biases


def _dense(inputs: int, outputs: int) -> int:
    return inputs * outputs + outputs


# VGG16's stages, counted by hand from Table 1 of the paper: (layers, params)
VGG16_STAGES = {
    "conv1": (5, _conv(3, 64) + _conv(64, 64)),
    "conv2": (5, _conv(64, 128) + _conv(128, 128)),
    "conv3": (7, _conv(128, 256) + 2 * _conv(256, 256)),
    "conv4": (7, _conv(256, 512) + 2 * _conv(512, 512)),
    "conv5": (7, 3 * _conv(512, 512)),
    "classifier": (9, _dense(512 * 7 * 7, 4096) + _dense(4096, 4096) + _dense(4096, 1000)),
}


def _shown(page, selector: str) -> list:  # type: ignore[no-untyped-def]
    return [r for r in page.find_elements("css selector", selector) if r.is_displayed()]


def test_one_row_per_layer(page) -> None:  # type: ignore[no-untyped-def]
    rows = page.find_elements("css selector", "#layers tbody tr.layer")
    assert len(rows) == len(archviz.load("vgg16").analyze().layers) == 40


def test_stage_subtotals_follow_their_stage(page) -> None:  # type: ignore[no-untyped-def]
    """A subtotal row after each stage's last layer, as the terminal table has them, with the
    stage's layer count and its parameters (counted by hand above)."""
    rows = page.find_elements("css selector", "#layers tbody tr")
    subtotals = [(i, r) for i, r in enumerate(rows) if "subtotal" in (r.get_attribute("class") or "")]
    seen = {}
    for index, row in subtotals:
        cells = row.find_elements("css selector", "td")
        stage = cells[0].text.removesuffix(" total")
        seen[stage] = (int(cells[1].text.split()[0]), int(cells[4].text.replace(",", "")))
        before = rows[index - 1].find_elements("css selector", "td")[2].text
        assert before == stage  # it follows the stage's last layer
    assert seen == VGG16_STAGES
    assert sum(params for _, params in VGG16_STAGES.values()) == 138_357_544


def test_sorting_by_params(page) -> None:  # type: ignore[no-untyped-def]
    headers = page.find_elements("css selector", "#layers thead th")
    params = next(h for h in headers if h.text.startswith("Params"))
    params.click()  # first click: largest first
    first = page.find_elements("css selector", "#layers tbody tr")[0]
    assert first.find_elements("css selector", "td")[0].text == "fc6"
    assert _shown(page, "#layers tbody tr.subtotal") == []  # a subtotal is no layer to rank
    params.click()  # second click: smallest first
    values = [int(r.find_elements("css selector", "td")[4].get_attribute("data-value"))
              for r in _shown(page, "#layers tbody tr")]
    assert len(values) == 40 and values == sorted(values)
    assert params.get_attribute("aria-sort") == "ascending"
    params.click()  # third click: network order again, with the stage subtotals
    assert params.get_attribute("aria-sort") is None
    names = [r.find_elements("css selector", "td")[0].text for r in _shown(page, "#layers tbody tr")]
    assert names[:6] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1", "conv1 total"]
    assert len(names) == 40 + len(VGG16_STAGES) and names[-1] == "classifier total"


def test_filtering(page) -> None:  # type: ignore[no-untyped-def]
    box = page.find_element("id", "filter")
    box.clear()
    box.send_keys("fc")
    visible = _shown(page, "#layers tbody tr")
    # the classifier's subtotal is not shown beside three of its nine layers
    assert sorted(r.find_elements("css selector", "td")[0].text for r in visible) == ["fc6", "fc7", "fc8"]
    assert page.find_element("id", "count").text == "3 of 40 layers"
    box.clear()
    box.send_keys("classifier")  # a whole stage: its subtotal is true of what is shown
    names = [r.find_elements("css selector", "td")[0].text for r in _shown(page, "#layers tbody tr")]
    assert names[-1] == "classifier total" and len(names) == VGG16_STAGES["classifier"][0] + 1
    box.clear()
    box.send_keys(" ")
    box.clear()


def test_screenshot(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shot = tmp_path / "vgg16-report.png"
    page.find_element("id", "filter").clear()
    assert page.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    keep = ROOT / "tests" / "artifacts"
    keep.mkdir(exist_ok=True)
    shutil.copy(shot, keep / shot.name)


def test_html_is_self_contained_and_escaped(tmp_path: Path) -> None:
    spec = tmp_path / "evil.yaml"
    spec.write_text('name: "<script>alert(1)</script>"\ninput: [3, 8, 8]\ndescription: "<b>&\\""\n'
                    'layers:\n  - conv2d: {name: "<img src=x onerror=alert(1)>", filters: 4, kernel: 3}\n')
    out = tmp_path / "evil.html"
    assert CliRunner().invoke(app, ["report", str(spec), "--out", str(out)]).exit_code == 0
    text = out.read_text()
    assert "<script>alert(1)</script>" not in text and "<img src=x" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    # nothing is fetched: no external scripts, styles, images or fonts (XML namespace names are not fetched)
    assert not re.search(r'(src|href)\s*=\s*["\'](https?:)?//', text)
    assert "<link" not in text and "@import" not in text and "url(http" not in text
    assert text.count("<script>") == 1  # only archviz's own inline script


def test_printed_report_keeps_every_layer_row_and_column(tmp_path: Path) -> None:
    """Printing (Save as PDF) lost 16 of VGG16's 40 rows and every column after MACs; the print
    stylesheet lets the table run over pages at a size that fits every column."""
    import re
    import subprocess

    from archviz.render.columns import COLUMNS
    from archviz.report.html import TABLE_COLUMNS, render_html_report

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if (browser is None or shutil.which("pdftotext") is None) and not os.environ.get("CI"):
        pytest.skip("Chromium and pdftotext are needed (apt-get install chromium poppler-utils)")
    network = archviz.load("vgg16")
    analysis = network.analyze()
    page = tmp_path / "vgg16.html"
    page.write_text(render_html_report(network, analysis), encoding="utf-8")
    pdf = tmp_path / "vgg16.pdf"
    subprocess.run([str(browser), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--no-pdf-header-footer", f"--print-to-pdf={pdf}",
                    page.as_uri()], capture_output=True, timeout=120, check=False)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, timeout=60,
                          check=True).stdout
    # a table row prints the name then the paper label on one line (the figures never do)
    missing = [r.name for r in analysis.layers
               if not re.search(rf"\b{re.escape(r.name)}\s+{re.escape(r.label)}\s", text)]
    assert missing == []
    assert [COLUMNS[c].header for c in TABLE_COLUMNS if COLUMNS[c].header not in text] == []
    assert "MACS" not in text and "FLOPS" not in text  # no uppercase transform: MACs stays MACs
    # each figure prints whole on the page of its heading (the memory chart, taller than a page,
    # ran over two with a blank one between; the blocks figure printed cut, with a scrollbar)
    pages = text.split("\f")
    for heading, inside in (("Architecture", "138.4 M params"), ("Where the activation memory goes", "relu5_3"),
                            ("Where the activation memory goes", "prob")):
        page_of = [i for i, p in enumerate(pages) if heading in p]
        assert len(page_of) == 1 and inside in pages[page_of[0]], heading
    assert "Layer graph" not in text  # folded away on screen: no empty heading on paper
    assert all(p.strip() for p in pages[:-1])


def test_expectations_table_uses_the_page_number_format() -> None:
    from archviz.report.html import render_html_report

    network = archviz.load("vgg16")
    page = render_html_report(network, network.analyze())
    section = page[page.index("<h2>Expectations</h2>"):]
    section = section[:section.index("</section>")]
    assert "138357544" not in section and "138,357,544" in section
    assert "[3, 3]" not in section and "<th>result</th>" in section


# What the page measures in the browser: the page's own width, where the layer table's columns and
# its first numbers end, and the frames of the figures.
MEASURE = """
const heads=[...document.querySelectorAll('#layers thead th')];
const edge=h=>heads.find(x=>x.textContent===h).getBoundingClientRect().right;
const frame=document.querySelector('#layers').closest('.scroll').getBoundingClientRect();
const params=document.querySelector('#layers tbody tr.layer td:nth-child(5)').getBoundingClientRect();
// per figure: its frame's right edge and widths, the picture's drawn and natural widths, and the
// height its smallest text is drawn at (font sizes are in viewBox units)
const figures=[...document.querySelectorAll('div.figure')].map(f=>{
  const svg=f.querySelector('svg'), drawn=svg.getBoundingClientRect().width;
  const sizes=[...svg.querySelectorAll('text')].map(t=>parseFloat(getComputedStyle(t).fontSize));
  const text=Math.min(...sizes)*drawn/svg.viewBox.baseVal.width;
  return [f.getBoundingClientRect().right, f.clientWidth, f.scrollWidth, drawn, svg.width.baseVal.value, text];});
const cards=[...document.querySelectorAll('.card')].map(c=>c.getBoundingClientRect().right);
return {viewport: innerWidth, page: document.scrollingElement.scrollWidth, frameLeft: frame.left,
        frameRight: frame.right, rf: edge('RF'), stride: edge('Eff. stride'), pad: edge('Eff. pad'),
        paramsLeft: params.left, paramsRight: params.right, figures: figures, cards: cards};
"""


@pytest.fixture(scope="module")
def page_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("responsive") / "vgg16.html"
    result = CliRunner().invoke(app, ["report", "vgg16", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _measure_at(browser, page: Path, width: int) -> dict:  # type: ignore[no-untyped-def]
    browser.set_window_size(width, 1000)
    browser.get(page.as_uri())
    inner = browser.execute_script("return innerWidth")
    if inner != width:  # the window's frame, where there is one, is not the page's
        browser.set_window_size(2 * width - inner, 1000)
        browser.get(page.as_uri())
    measured: dict = browser.execute_script(MEASURE)  # type: ignore[type-arg]
    assert measured["viewport"] == width
    return measured


@pytest.mark.parametrize("spec", ["vgg16", "resnet18"])
def test_wide_screen_shows_every_column(spec: str, tmp_path: Path) -> None:
    """At 1400 px the RF, stride and padding columns were past the table's frame (VGG16: RF's
    right edge at 1,288 px in a frame ending at 1,266): now every column is inside the frame.
    A figure that needs more than the text column (resnet18's blocks) gets a wider frame."""
    page_file = tmp_path / f"{spec}.html"
    assert CliRunner().invoke(app, ["report", spec, "--out", str(page_file)]).exit_code == 0
    browser = chromium()
    try:
        m = _measure_at(browser, page_file, 1400)
    finally:
        browser.quit()
    assert m["page"] <= 1400
    assert m["rf"] <= m["stride"] <= m["pad"] <= m["frameRight"] <= 1400
    # the figures fit their frames without scrolling, every text at least 8 px high
    assert len(m["figures"]) == 3  # blocks, cost chart, memory chart (the graph is folded away)
    for _, client, scroll, _, _, text in m["figures"]:
        assert scroll <= client and text >= 7.95


def test_phone_width_scrolls_inside_the_page(page_file: Path, tmp_path: Path) -> None:
    """At 420 px (a phone) nothing widens the page; the table scrolls inside its frame with its
    first numbers in view, figures shrink until their smallest text is 8 px and then scroll in
    their frames (they were shrunk to 374 px: the cost chart's 8.5 pt labels at 3.8 px), cards wrap."""
    browser = chromium()
    try:
        m = _measure_at(browser, page_file, 420)
        assert browser.save_screenshot(str(tmp_path / "vgg16-420.png"))
    finally:
        browser.quit()
    assert m["page"] <= 420
    assert m["frameLeft"] <= m["paramsLeft"] < m["paramsRight"] <= m["frameRight"] <= 420  # Params in view
    assert m["pad"] > m["frameRight"]  # the rest is there, a swipe away
    for right, client, scroll, drawn, natural, text in m["figures"]:
        assert right <= 420 and drawn <= natural + 0.5
        assert text >= 7.95 or drawn >= natural - 0.5  # readable, or as large as it is drawn
        assert scroll > client  # wider than a phone: it scrolls inside its frame
    assert max(m["cards"]) <= 420 and len(set(m["cards"])) == 2  # two cards a row


def test_headline_cards(page) -> None:  # type: ignore[no-untyped-def]
    """Training memory is labelled an estimate and follows docs/conventions.md's float32 formula
    (weights, gradients and one momentum buffer, 3 x params x 4 bytes, plus the input and every
    layer output kept for backward); the receptive field is pool5's, as TensorFlow's
    receptive_field table publishes it (212 px at stride 32)."""
    from archviz.report.published import TF_VGG16_FIELDS

    cards = {c.find_element("css selector", ".label").text: c for c in page.find_elements("css selector", ".card")}
    analysis = archviz.load("vgg16").analyze()
    kept = analysis.totals.activation_elements + 3 * 224 * 224
    expected = 3 * 138_357_544 * 4 + kept * 4
    training = cards["Training memory (estimate)"]
    value = training.find_element("css selector", ".value").text
    number, unit = value.split()
    assert unit == "GiB" and abs(float(number) - expected / 2**30) < 0.005
    assert "weights + gradients + one SGD-momentum buffer" in (training.get_attribute("title") or "")
    field, stride, _ = TF_VGG16_FIELDS["pool5"]
    rf = cards["Receptive field (exact)"]
    assert rf.find_element("css selector", ".value").text == f"{field}×{field} px"
    assert rf.find_element("css selector", ".exact").text == f"pool5, effective stride {stride}"


def test_memory_chart_and_graph_legend_are_embedded(page) -> None:  # type: ignore[no-untyped-def]
    """The memory chart has a row per layer (ReLUs too, in place, which the cost chart leaves out);
    the graph keeps its title block's colour key, one entry per family it draws."""
    sections = {s.find_element("css selector", "h2").text: s for s in page.find_elements("css selector", "section")}
    memory = sections["Where the activation memory goes"].get_attribute("innerHTML")
    assert "<svg" in memory and "relu1_1" in memory and "prob" in memory
    graph = sections["Layer graph"].find_element("css selector", "svg")
    texts = [t.get_attribute("textContent").strip() for t in graph.find_elements("css selector", "text")]
    assert {"input", "conv", "pool", "dense"} <= set(texts[:8])


def test_cost_chart_panels_tick_labels_do_not_meet_in_the_browser(page) -> None:  # type: ignore[no-untyped-def]
    """The parameters panel's last tick ("120 M") ran into the MACs panel's "0" (11.5 px apart
    at this window, about one text height); measured in the page's own fonts."""
    sections = {s.find_element("css selector", "h2").text: s for s in page.find_elements("css selector", "section")}
    chart = sections["Where the parameters and the compute sit"].find_element("css selector", "svg")
    left_end, right_start, height = page.execute_script("""
        const boxes = id => [...arguments[0].querySelectorAll(`g[id="${id}"] g[id^="xtick_"] text`)]
            .map(text => text.getBoundingClientRect()).filter(box => box.width > 0);
        const left = boxes("axes_1"), right = boxes("axes_2");
        return [Math.max(...left.map(box => box.right)), Math.min(...right.map(box => box.left)), left[0].height];
    """, chart)
    assert right_start - left_end >= 1.5 * height, (left_end, right_start, height)
