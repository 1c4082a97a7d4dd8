"""Rendered reports in headless Chromium with the network off.

A batch runs on a tiny generated dataset in which two customers are named
``<img src=x onerror=alert(1)>`` and ``<script>alert(1)</script>`` (personal data not
masked, so the names reach the maps' tooltips and the tables), with no map tiles. The
national and the Guangdong reports are opened from ``file://`` in Chromium with
DevTools' offline emulation on, every request logged and ``window.alert`` replaced by
a recorder in every frame. The tests assert: no request leaves the machine, no
console error, the Leaflet maps have the expected layers and regions, the chart
images are there, and no script from the data runs (the planted names show as text).

Screenshots of the maps and charts, in English and Chinese, are saved to
``tests/artifacts/`` (git-ignored) for a person to look at.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them); the
tests are skipped when there is no Chromium binary.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from browsers import CHROMIUM, offline_chromium

from helpers.config import DEFAULT_CONFIG, PROJECT_ROOT
from helpers.viz.maps.points import hexagon_counts

ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"
IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(1)</script>"
# Requests that never leave the machine: the page's own files and inline data, and
# Chromium's internal pages (under load it may load chrome://resources icons itself).
LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:", "chrome:", "chrome-extension:",
                 "devtools:")

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium binary (Debian package "
                       "'chromium'; .ci/run installs it): browser tests not run"),
]

# Runs in every frame (iframes of the maps too) before the page's own scripts.
RECORD_ALERTS = """
window.__alerts = [];
window.alert = window.confirm = window.prompt = function (m) { window.__alerts.push(String(m)); };
"""


# --------------------------------------------------------------------------- reports


def _plant_names(tables: dict) -> list[str]:
    """Name two Guangdong customers with HTML; return their ids."""
    customers = tables["customers"]
    ids = customers.loc[customers["province"].astype(str).str.startswith("广东"),
                        "customer_id"].head(2).tolist()
    names = {ids[0]: IMG, ids[1]: SCRIPT}
    tables["customers"] = customers.assign(
        name=customers["customer_id"].map(names).fillna(customers["name"]))
    return ids


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Batch runs: all five notebooks in English, notebook 03 in Chinese."""
    import samplegen as sample
    from helpers.run import batch

    folder = tmp_path_factory.mktemp("browser")
    tables = sample.generate(n_customers=400, seed=11)
    planted = _plant_names(tables)
    sample.write_raw(tables, folder / "data", seed=11)
    config = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    config["paths"] = {"data": "data", "reports": "reports"}
    config["report"] = {**config.get("report", {}), "mask_pii": False, "tiles": "none"}
    config_path = folder / "workbook.yaml"
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                           encoding="utf-8")
    only_03 = folder / "nb03"
    only_03.mkdir()
    shutil.copy(PROJECT_ROOT / "notebooks" / "03_visualization.ipynb", only_03)
    common = ["--config", str(config_path), "--regions", "广东", "--jobs", "2",
              "--reports", str(folder / "reports")]
    assert batch.main([*common, "--run-id", "en", "--lang", "en"]) == 0
    assert batch.main([*common, "--run-id", "zh", "--lang", "zh",
                       "--notebooks", str(only_03)]) == 0
    return {"root": folder / "reports", "planted": planted}


@pytest.fixture(scope="module")
def browser():
    with offline_chromium(1280, logs=True, on_new_document=RECORD_ALERTS) as driver:
        driver.set_script_timeout(30)
        yield driver


class Page:
    """One report opened in the browser, with what it requested and logged."""

    def __init__(self, driver, path: Path):
        from selenium.webdriver.common.by import By

        self.driver, self.path, self.by = driver, path, By
        driver.get_log("browser")
        driver.get_log("performance")  # start both logs afresh
        driver.get(path.as_uri())
        self.wait_for_maps()
        self.console = driver.get_log("browser")
        self.requests = []
        for entry in driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                self.requests.append(message["params"]["request"]["url"])

    def wait_for_maps(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        for frame in self.frames():
            while True:
                self.driver.switch_to.frame(frame)
                ready = self.driver.execute_script(
                    "return !!document.querySelector('.leaflet-container') && "
                    "document.readyState === 'complete'")
                self.driver.switch_to.default_content()
                if ready or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        time.sleep(1.0)  # chunked marker loading and the heat layer

    def frames(self):
        return self.driver.find_elements(self.by.TAG_NAME, "iframe")

    def in_frame(self, index: int, script: str, *args):
        self.driver.switch_to.frame(self.frames()[index])
        try:
            return self.driver.execute_script(script, *args)
        finally:
            self.driver.switch_to.default_content()

    def alerts(self) -> list[str]:
        found = list(self.driver.execute_script("return window.__alerts || ['no recorder']"))
        for i in range(len(self.frames())):
            found += self.in_frame(i, "return window.__alerts || ['no recorder']")
        return found

    def screenshot_maps(self, prefix: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for i, frame in enumerate(self.frames()):
            self.driver.execute_script("arguments[0].scrollIntoView()", frame)
            time.sleep(0.5)
            frame.screenshot(str(ARTIFACTS / f"{prefix}_map{i + 1}.png"))

    def screenshot_charts(self, prefix: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for i, image in enumerate(self.charts()):
            self.driver.execute_script("arguments[0].scrollIntoView()", image)
            image.screenshot(str(ARTIFACTS / f"{prefix}_chart{i + 1}.png"))

    def charts(self):
        return self.driver.find_elements(self.by.CSS_SELECTOR, ".jp-RenderedImage img")


# What a map holds: its layer-control names, region outlines by state, cluster and heat.
MAP_FACTS = """
var maps = Object.keys(window).filter(function (k) { return /^map_/.test(k); })
    .map(function (k) { return window[k]; }).filter(function (v) { return v instanceof L.Map; });
function count(selector) { return document.querySelectorAll(selector).length; }
return {
  maps: maps.length,
  overlays: Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))
      .map(function (s) { return s.textContent.trim(); }),
  bases: count('.leaflet-control-layers-base label'),
  regions: count('path.wb-region'),
  with_data: count('path.wb-data'),
  no_customers: count('path.wb-no_customers'),
  no_data: count('path.wb-no_data'),
  outlines: count('path.wb-outline'),
  clusters: count('.marker-cluster') + count('.leaflet-overlay-pane path.leaflet-interactive'),
  heat: count('canvas.leaflet-heatmap-layer'),
  legend: count('.wb-legend'),
  hexagons: count('path.wb-hexagon'),
  tiles: count('.leaflet-tile'),
};
"""

# Tick an overlay in the layer control by its name; then count the hexagons drawn.
TICK_LAYER = """
var name = arguments[0];
Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label')).forEach(
  function (label) {
    if (label.textContent.trim() === name) { label.querySelector('input').click(); }
  });
return {hexagons: document.querySelectorAll('path.wb-hexagon').length};
"""

# Open the tooltip of every customer whose tooltip mentions "alert" (the planted names)
# as a reader would: zoom in, spread out a cluster of customers at one point, hover.
OPEN_PLANTED_TOOLTIPS = """
var done = arguments[arguments.length - 1];
var planted = [];
Object.keys(window).forEach(function (k) {
  var group;
  try { group = window[k]; } catch (e) { return; }
  if (!(group instanceof L.MarkerClusterGroup)) { return; }
  group.getLayers().forEach(function (marker) {
    var tip = marker.getTooltip && marker.getTooltip();
    if (tip && String(tip.getContent()).indexOf('alert') >= 0) { planted.push([group, marker]); }
  });
});
var shown = [], opened = 0;
function show(marker) {
  marker.openTooltip();
  if (marker.isTooltipOpen()) { opened += 1; }
  document.querySelectorAll('.leaflet-tooltip').forEach(function (t) { shown.push(t.textContent); });
}
function next(i) {
  if (i >= planted.length) {
    done({opened: opened, pending: planted.length, shown: shown,
          injected: document.querySelectorAll('img[src="x"], .leaflet-tooltip script').length});
    return;
  }
  var group = planted[i][0], marker = planted[i][1], map = group._map;
  group.unspiderfy();
  map.setView(marker.getLatLng(), map.getMaxZoom(), {animate: false});
  setTimeout(function () {
    if (!marker._map) {  // still in a cluster (customers at the same point): spread it out
      var cluster = marker.__parent;
      while (cluster && !cluster._icon) { cluster = cluster.__parent; }
      if (cluster) { cluster.spiderfy(); }
    }
    setTimeout(function () { show(marker); next(i + 1); }, 600);
  }, 400);
}
next(0);
"""


def _assert_offline_and_clean(page: Page) -> None:
    remote = [u for u in page.requests if not u.startswith(LOCAL_SCHEMES)]
    assert remote == [], f"{page.path.name} requested {remote[:5]}"
    errors = [e["message"] for e in page.console if e["level"] == "SEVERE"]
    assert errors == [], f"{page.path.name}: console errors {errors[:5]}"
    assert page.alerts() == []


def _kpi_counts(region_dir: Path) -> tuple[int, int]:
    kpis = pd.read_csv(region_dir / "region_kpis.csv")
    return int((kpis["customers"] > 0).sum()), int((kpis["customers"] == 0).sum())


# --------------------------------------------------------------------------- tests


def test_national_report_offline_maps_and_charts(runs, browser):
    page = Page(browser, runs["root"] / "en" / "all" / "03_visualization.html")
    _assert_offline_and_clean(page)
    assert len(page.frames()) == 2
    regions = page.in_frame(0, MAP_FACTS)
    with_data, blank = _kpi_counts(runs["root"] / "en" / "all")
    assert regions["maps"] == 1 and regions["legend"] == 1 and regions["tiles"] == 0
    assert regions["overlays"] == ["Regions by Revenue"] and regions["bases"] == 0
    # 31 mainland provinces coloured or grey, Hong Kong, Macao and Taiwan as no data
    assert regions["regions"] == 34 and regions["no_data"] == 3
    assert (regions["with_data"], regions["no_customers"]) == (with_data, blank)
    customers = page.in_frame(1, MAP_FACTS)
    assert customers["overlays"] == ["Province borders", "Customers (clusters)",
                                     "Customer density", "Customers per hexagon"]
    # the hexagon layer is off until ticked; ticked, it draws one hexagon per occupied cell
    assert customers["hexagons"] == 0
    shown = page.in_frame(1, TICK_LAYER, "Customers per hexagon")
    people = pd.read_parquet(runs["root"] / "en" / "prep" / "customers.parquet")
    located = people.dropna(subset=["lat", "lon"])
    expected, _ = hexagon_counts(located["lat"], located["lon"])
    assert shown["hexagons"] == len(expected) > 0
    assert customers["outlines"] == 34 and customers["clusters"] > 0 and customers["heat"] == 1
    charts = page.charts()
    assert len(charts) >= 7
    assert all(c.get_attribute("src").startswith("data:image/png") for c in charts)
    assert all(browser.execute_script("return arguments[0].naturalWidth", c) > 100
               for c in charts)
    page.screenshot_maps("national_en")
    page.screenshot_charts("national_en")


def test_province_report_shows_its_cities(runs, browser):
    page = Page(browser, runs["root"] / "en" / "guangdong" / "03_visualization.html")
    _assert_offline_and_clean(page)
    cities = page.in_frame(0, MAP_FACTS)
    with_data, _ = _kpi_counts(runs["root"] / "en" / "guangdong")
    assert cities["regions"] == 21  # Guangdong's prefecture cities
    assert cities["with_data"] == with_data
    assert cities["no_customers"] == 21 - with_data and cities["no_data"] == 0
    # Zoomed to the province: its outline fills the map, China does not.
    bounds = page.in_frame(0, """
        var m = Object.keys(window).filter(function (k) { return /^map_/.test(k); })
            .map(function (k) { return window[k]; })[0];
        var b = m.getBounds(); return [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()];""")
    south, west, north, east = bounds
    assert south < 20.3 and west < 109.7 and north > 25.4 and east > 117.1  # all of Guangdong
    assert north - south < 10 and east - west < 20  # ... and not much more (China: 35 x 60)
    assert page.in_frame(1, MAP_FACTS)["overlays"][0] == "City borders"
    page.screenshot_maps("guangdong_en")
    page.screenshot_charts("guangdong_en")


def test_planted_html_names_show_as_text_and_never_run(runs, browser):
    for region in ("all", "guangdong"):
        page = Page(browser, runs["root"] / "en" / region / "03_visualization.html")
        browser.execute_script("arguments[0].scrollIntoView()", page.frames()[1])
        browser.switch_to.frame(page.frames()[1])
        try:
            result = browser.execute_async_script(OPEN_PLANTED_TOOLTIPS)
        finally:
            browser.switch_to.default_content()
        assert result["pending"] == 2 and result["opened"] == 2
        assert IMG in result["shown"] and SCRIPT in result["shown"]  # as text
        assert result["injected"] == 0
        _assert_offline_and_clean(page)
        if region == "guangdong":
            page.screenshot_maps("xss_guangdong_en")
    # Every report of the run (tables in steps 4 and 5 too) opens clean.
    for html in sorted((runs["root"] / "en").glob("*/0[1-5]_*.html")):
        page = Page(browser, html)
        _assert_offline_and_clean(page)
        assert browser.find_elements(page.by.CSS_SELECTOR, 'img[src="x"]') == []


def test_chinese_reports(runs, browser):
    for region, n in (("all", 34), ("guangdong", 21)):
        page = Page(browser, runs["root"] / "zh" / region / "03_visualization.html")
        _assert_offline_and_clean(page)
        facts = page.in_frame(0, MAP_FACTS)
        assert facts["regions"] == n and facts["overlays"] == ["各地区收入"]
        assert page.in_frame(1, MAP_FACTS)["overlays"][1:] == ["客户分布(聚合)", "客户密度",
                                                               "蜂窝网格客户数"]
        assert page.in_frame(1, TICK_LAYER, "蜂窝网格客户数")["hexagons"] > 0
        legend = page.in_frame(0, "return document.querySelector('.wb-legend').textContent")
        assert "收入" in legend and "无客户" in legend
        name = "national" if region == "all" else "guangdong"
        page.screenshot_maps(f"{name}_zh")
        page.screenshot_charts(f"{name}_zh")
