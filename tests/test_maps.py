"""Folium maps: markers, blank regions, bounds, escaping, offline tiles."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from helpers.maps import BLANK_COLOR, customer_map, escape, region_bubble_map

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
TEMPLATE = "`${alert(1)}`"


@pytest.fixture
def kpis():
    return pd.DataFrame(
        {
            "region": ["广东省", "浙江省", "西藏自治区", SCRIPT, "未知"],
            "region_en": ["Guangdong", "Zhejiang", "Tibet", IMG, "Unknown"],
            "level": "province",
            "lat": [23.13, 30.27, 29.65, 31.23, np.nan],
            "lon": [113.26, 120.15, 91.13, 121.47, np.nan],
            "customers": [40, 10, 0, 5, 3],
            "revenue": [4_000_000.0, 1_000_000.0, 0.0, 250_000.0, 10.0],
            "share": [0.76, 0.19, 0.0, 0.05, 0.0],
            "growth_yoy": [0.12, -0.05, np.nan, 0.3, np.nan],
        }
    )


def _html(m):
    return m.get_root().render()


def _circle_options(html):
    """The option objects of every L.circleMarker(...) call, in order."""
    return re.findall(r"L\.circleMarker\(\s*\[[^\]]*\],\s*(\{.*?\})\s*\)", html, flags=re.S)


def test_bubble_map_markers_bounds_and_blank(kpis):
    before = kpis.copy()
    m = region_bubble_map(kpis)
    html = _html(m)
    options = _circle_options(html)
    assert len(options) == 4  # the row without coordinates is skipped
    assert m.skipped_points == 1
    assert "fitBounds" in html
    assert "[[23.13, 91.13], [31.23, 121.47]]" in html
    blank = [o for o in options if BLANK_COLOR in o]
    assert len(blank) == 1
    assert '"fill": false' in blank[0]
    assert "no customers" in html
    assert "Circle area" in html  # the caption says what the size means
    assert "Tibet" in html and "Guangdong" in html
    radii = [float(re.search(r'"radius": ([0-9.]+)', o).group(1)) for o in options]
    assert radii[0] == max(radii)  # Guangdong, the largest revenue
    pd.testing.assert_frame_equal(kpis, before)


def test_bubble_map_tooltip_kpis_chinese(kpis):
    html = _html(region_bubble_map(kpis, lang="zh"))
    assert "广东省" in html and "客户数: 40" in html and "收入: 400万" in html
    assert "收入占比: 76.0%" in html and "同比增长: +12.0%" in html
    assert "无客户" in html


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_bubble_map_escapes_region_names(kpis, lang):
    data = kpis.assign(region_en=kpis["region_en"].where(kpis.index != 1, TEMPLATE))
    html = _html(region_bubble_map(data, lang=lang))
    for raw in (SCRIPT, IMG, TEMPLATE, "${alert"):
        assert raw not in html
    if lang == "zh":
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    else:
        assert "&lt;img src=x onerror=alert(1)&gt;" in html
        assert "&#96;&#36;{alert(1)}&#96;" in html


def test_bubble_map_without_tiles(kpis):
    html = _html(region_bubble_map(kpis, tiles=None))
    assert "tileLayer" not in html and "openstreetmap" not in html.lower()
    assert "tileLayer" in _html(region_bubble_map(kpis))


@pytest.fixture
def customers():
    n = 1000
    rng = np.random.default_rng(0)
    lat = rng.uniform(20, 40, n)
    lat[:7] = np.nan
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "name": [SCRIPT if i == 10 else IMG if i == 11 else f"客户{i}" for i in range(n)],
            "province": "广东省",
            "lat": lat,
            "lon": rng.uniform(100, 120, n),
            "channel": "经销商",
        }
    )


def _cluster_data(html):
    return re.search(r"var data = (\[.*?\]\]);", html, flags=re.S).group(1)


def test_customer_map_cluster_heat_layers_and_skips(customers):
    before = customers.copy()
    m = customer_map(customers)
    html = _html(m)
    assert m.skipped_points == 7
    assert "markerClusterGroup" in html
    assert "heatLayer" in html
    assert "L.control.layers" in html
    assert "fitBounds" in html
    assert html.count("L.circleMarker(new") == 1  # one JS callback, not 1000 markers
    data = _cluster_data(html)
    assert data.count("], [") == 993 - 1
    assert "7 without coordinates skipped" in html
    pd.testing.assert_frame_equal(customers, before)


def test_customer_map_masks_pii(customers):
    html = _html(customer_map(customers, mask_pii=True))
    for secret in ("客户12", "C00012", "alert(1)", "onerror"):
        assert secret not in html


def test_customer_map_escapes_names_when_shown(customers):
    html = _html(customer_map(customers, mask_pii=False, lang="zh"))
    for raw in (SCRIPT, IMG, "\\u003cscript", "\\u003cimg"):
        assert raw not in html
    rows = json.loads(_cluster_data(html))
    names = [row[2] for row in rows]
    assert len(rows) == 993 and "客户12" in names
    # escaped on the Python side, so Leaflet shows the text instead of running it
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in names
    assert "&lt;img src=x onerror=alert(1)&gt;" in names
    assert "缺少坐标" in html


def test_customer_map_offline_and_empty():
    empty = pd.DataFrame({"lat": [np.nan], "lon": [np.nan], "name": ["x"]})
    m = customer_map(empty, tiles=None)
    html = _html(m)
    assert m.skipped_points == 1
    assert "tileLayer" not in html
    assert "markerClusterGroup" not in html


def test_escape_neutralises_html_and_template_literals():
    assert escape(SCRIPT) == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert escape(TEMPLATE) == "&#96;&#36;{alert(1)}&#96;"
    assert escape("a\"b'c\\") == "a&quot;b&#x27;c&#92;"
