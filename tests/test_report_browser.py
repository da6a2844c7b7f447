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


def test_one_row_per_layer(page) -> None:  # type: ignore[no-untyped-def]
    rows = page.find_elements("css selector", "#layers tbody tr")
    assert len(rows) == len(archviz.load("vgg16").analyze().layers) == 40


def test_sorting_by_params(page) -> None:  # type: ignore[no-untyped-def]
    headers = page.find_elements("css selector", "#layers thead th")
    params = next(h for h in headers if h.text.startswith("Params"))
    params.click()  # first click: largest first
    first = page.find_elements("css selector", "#layers tbody tr")[0]
    assert first.find_elements("css selector", "td")[0].text == "fc6"
    params.click()  # second click: smallest first
    values = [int(r.find_elements("css selector", "td")[4].get_attribute("data-value"))
              for r in page.find_elements("css selector", "#layers tbody tr")]
    assert values == sorted(values)
    assert params.get_attribute("aria-sort") == "ascending"


def test_filtering(page) -> None:  # type: ignore[no-untyped-def]
    box = page.find_element("id", "filter")
    box.clear()
    box.send_keys("fc")
    visible = [r for r in page.find_elements("css selector", "#layers tbody tr") if r.is_displayed()]
    assert sorted(r.find_elements("css selector", "td")[0].text for r in visible) == ["fc6", "fc7", "fc8"]
    assert page.find_element("id", "count").text == "3 of 40 layers"
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


def test_expectations_table_uses_the_page_number_format() -> None:
    from archviz.report.html import render_html_report

    network = archviz.load("vgg16")
    page = render_html_report(network, network.analyze())
    section = page[page.index("<h2>Expectations</h2>"):]
    section = section[:section.index("</section>")]
    assert "138357544" not in section and "138,357,544" in section
    assert "[3, 3]" not in section and "<th>result</th>" in section
