"""The reports and the index in Chromium at a desktop width, on a phone and printed.

The sample batch of ``conftest.sample_reports`` (whole market and Guangdong, all five
steps, English and Chinese) is opened at 1400 px, at 390 px (a phone) and with print
media emulated at the width of an A4 page's text (186 mm = 703 px). Asserted: the page
body never scrolls sideways at 390 px or in print, tables and maps stay within the
printed page, the bar is hidden in print, every link of the bar (and every export
the text links, every table-of-contents entry) resolves offline, and the current step
is marked. Screenshots of 04 and 05 (1400, 390, print) and a PDF of 05 are saved to
``tests/artifacts/`` (git-ignored) for a person to look at.

Needs Debian's ``chromium`` and ``chromium-driver``; skipped without Chromium.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from urllib.parse import unquote

import pytest
from browsers import CHROMIUM, offline_chromium

from helpers.config import PROJECT_ROOT

ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"
STEPS = ("01_goals", "02_data_prep", "03_visualization", "04_insight", "05_strategy")
#: Widths: a desktop, a phone, and an A4 page's text (210 mm - 2 x 12 mm at 96 px/in).
DESKTOP, PHONE, PRINT = 1400, 390, 703

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium binary (Debian package "
                       "'chromium'; .ci/run installs it): browser tests not run"),
]

# What the page shows of its layout and links.
FACTS = """
function box(e) { var r = e.getBoundingClientRect(); return [r.left, r.right, r.width]; }
var nav = document.querySelector('nav.wb-nav');
return {
  width: window.innerWidth,
  scroll: document.scrollingElement.scrollWidth,
  nav: nav ? Array.from(nav.querySelectorAll('a[href]')).map(function (a) {
      return a.getAttribute('href'); }) : null,
  nav_shown: nav ? getComputedStyle(nav).display !== 'none' : null,
  current: nav ? Array.from(nav.querySelectorAll('[aria-current=page]')).map(function (a) {
      return a.getAttribute('href'); }) : null,
  files: Array.from(document.querySelectorAll('a.wb-file, .wb-table-note a')).map(
      function (a) { return a.getAttribute('href'); }),
  toc: Array.from(document.querySelectorAll('nav.wb-toc a')).map(function (a) {
      var id = a.getAttribute('href').slice(1);
      return !!(document.getElementById(id) || document.getElementById(decodeURIComponent(id)));
  }),
  tables: Array.from(document.querySelectorAll('table')).map(box),
  maps: Array.from(document.querySelectorAll('iframe')).map(box),
  images: Array.from(document.querySelectorAll('.jp-RenderedImage img')).map(box),
};
"""


@pytest.fixture(scope="module")
def driver():
    with offline_chromium(DESKTOP, flags=("--hide-scrollbars",)) as browser:
        yield browser


def _open(driver, page: Path, width: int, media: str = "screen") -> dict:
    """The page's :data:`FACTS` at ``width`` px with ``media`` emulated."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 500})
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": media})
    driver.get(page.as_uri())
    deadline = time.monotonic() + 20
    while driver.execute_script("return document.readyState") != "complete":
        assert time.monotonic() < deadline, f"{page} did not load"
        time.sleep(0.1)
    time.sleep(0.3)  # layout after the maps' frames
    return driver.execute_script(FACTS)


def _pages(run: Path) -> list[Path]:
    return [run / region / f"{step}.html" for region in ("all", "guangdong") for step in STEPS]


def _within(boxes: list, width: float) -> list:
    return [b for b in boxes if b[0] < -1 or b[1] > width + 1]


def _shoot(driver, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.scrollingElement.scrollHeight")
    width = driver.execute_script("return window.innerWidth")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": min(int(height), 8000), "deviceScaleFactor": 1,
        "mobile": width < 500})
    time.sleep(0.3)
    driver.save_screenshot(str(ARTIFACTS / f"layout_{name}.png"))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_reports_fit_a_phone_and_a_printed_page_and_their_links_resolve(
        sample_reports, driver, lang):
    run = sample_reports[lang]
    problems: dict[str, list] = {}
    for page in _pages(run):
        where = f"{page.parent.name}/{page.name}"
        desk = _open(driver, page, DESKTOP)
        # the bar: every link resolves to a file of the run folder, relative, offline
        hrefs = desk["nav"] + desk["files"]
        assert desk["nav"] and "../index.html" in desk["nav"], where
        assert all(not h.startswith(("/", "file:", "http")) for h in hrefs), (where, hrefs)
        missing = [h for h in hrefs if not (page.parent / unquote(h)).is_file()]
        if missing:
            problems.setdefault(where, []).append(("dead links", missing))
        if desk["current"] != [page.name]:
            problems.setdefault(where, []).append(("current step", desk["current"]))
        if not all(desk["toc"]) or (page.stem in ("04_insight", "05_strategy") and not desk["toc"]):
            problems.setdefault(where, []).append(("table of contents", desk["toc"]))
        if page.stem == "05_strategy":  # step 5 names its exports in the text: linked
            assert {"actions.xlsx", "campaign_list.csv"} <= set(desk["files"]), where
            assert {"actions.xlsx", "actions.csv", "campaign_list.csv"} <= set(desk["nav"])
        phone = _open(driver, page, PHONE)
        if phone["scroll"] > phone["width"] + 1:
            problems.setdefault(where, []).append(("390 px scrolls sideways", phone["scroll"]))
        printed = _open(driver, page, PRINT, "print")
        if printed["scroll"] > printed["width"] + 1:
            problems.setdefault(where, []).append(("print wider than A4", printed["scroll"]))
        for kind in ("tables", "maps", "images"):
            outside = _within(printed[kind], printed["width"])
            if outside:
                problems.setdefault(where, []).append((f"print: {kind} off the page", outside))
        if printed["nav_shown"]:
            problems.setdefault(where, []).append(("print shows the bar", True))
    assert not problems


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_index_fits_a_phone_and_a_printed_page(sample_reports, driver, lang):
    index = sample_reports[lang] / "index.html"
    for width, media in ((PHONE, "screen"), (PRINT, "print")):
        facts = _open(driver, index, width, media)
        assert facts["scroll"] <= facts["width"] + 1, (width, media, facts["scroll"])
        assert not _within(facts["tables"], facts["width"]), (width, media)


def test_screenshots_and_a_printed_pdf_for_a_person(sample_reports, driver):
    """Screenshots of 04 and 05 in both languages at 1400 px, 390 px and as printed, and
    05 as Chromium prints it to A4 (the PDF's page count is asserted loosely: the
    strategy report printed to more than 16 A4 pages before the print styles)."""
    for lang in ("en", "zh"):
        for step in ("04_insight", "05_strategy"):
            page = sample_reports[lang] / "all" / f"{step}.html"
            for width, media in ((DESKTOP, "screen"), (PHONE, "screen"), (PRINT, "print")):
                _open(driver, page, width, media)
                _shoot(driver, f"{lang}_{step}_{'print' if media == 'print' else width}")
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "screen"})
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        driver.get((sample_reports[lang] / "all" / "05_strategy.html").as_uri())
        time.sleep(1.0)
        pdf = base64.b64decode(driver.execute_cdp_cmd("Page.printToPDF", {
            "paperWidth": 8.27, "paperHeight": 11.69, "preferCSSPageSize": True,
            "printBackground": False})["data"])
        assert pdf.startswith(b"%PDF")
        (ARTIFACTS / f"layout_{lang}_05_strategy.pdf").write_bytes(pdf)
