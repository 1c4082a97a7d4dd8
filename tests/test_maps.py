"""Maps, outlines and offline assets: layers, classes, bounds, escaping, GCJ-02, no CDN."""

import json
import re

import folium
import numpy as np
import pandas as pd
import pytest
import shapely
from folium.plugins import Fullscreen
from shapely.geometry import Point, box

from helpers.config import load_config
from helpers.geo import boundaries
from helpers.geo.scope import Scope
from helpers.text.markup import html_text
from helpers.viz.assets import AssetError, OfflineMap, asset_text, external_references
from helpers.viz.maps.area import MapArea
from helpers.viz.maps.base import CustomerMapResult, RegionMapResult
from helpers.viz.maps.classes import PALETTE
from helpers.viz.maps.points import customer_map, grid_points, hexagon_counts
from helpers.viz.maps.regions import (
    BLANK_COLOR,
    NO_CUSTOMERS_COLOR,
    region_bubble_map,
    region_map,
)

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
TEMPLATE = "`${alert(1)}`"
OFFLINE = MapArea(tiles=None)  # the whole market of China, no tiles


_INLINED = re.compile(r"<(script|style)>/\* [\w.-]+ \*/.*?</\1>", re.S)


def _page(m):
    """The whole page, inlined Leaflet and plugins included."""
    return m.get_root().render()


def _html(m):
    """The page without the inlined library code: what the map itself wrote."""
    return _INLINED.sub("", _page(m))


# --- offline assets --------------------------------------------------------------


def test_offline_map_inlines_leaflet_and_plugins():
    m = customer_map(pd.DataFrame({"lat": [23.1, 30.2], "lon": [113.2, 120.1]}), area=OFFLINE).map
    page = _page(m)
    assert external_references(page) == []
    assert external_references(m._repr_html_()) == []  # the notebook iframe too
    for name in ("leaflet", "leaflet_css", "markerclusterjs", "markerclustercss",
                 "markerclusterdefaultcss", "leaflet-heat.js"):
        assert f"/* {name} */" in page
    assert "code.jquery.com" not in page and "bootstrap" not in page.lower()
    # Leaflet's own code and its layer-control icon (as a data URI) are in the page.
    assert "L.Map=" in page.replace(" ", "") or "Leaflet" in page
    assert 'url("data:image/png;base64,' in asset_text("leaflet_css")
    assert "sourceMappingURL" not in asset_text("leaflet")


def test_offline_map_refuses_a_resource_without_local_copy():
    m = OfflineMap(location=[30, 110], tiles=None)
    Fullscreen().add_to(m)  # a plugin whose script has no local copy
    with pytest.raises(AssetError, match="Control.Fullscreen"):
        _page(m)


def test_external_references_finds_cdn_links_also_inside_srcdoc():
    inner = '<script src="https://cdn.example/x.js"></script><link href="//cdn.example/y.css">'
    page = (f'<a href="https://example.org">a link is fine</a>'
            f'<iframe srcdoc="{html_text(inner)}"></iframe>'
            '<img src="data:image/png;base64,AAAA"><style>@import url(http://x/y.css);</style>')
    assert sorted(external_references(page)) == [
        "//cdn.example/y.css", "http://x/y.css", "https://cdn.example/x.js"]
    assert external_references(folium.Map()._repr_html_())  # plain folium does load CDNs


# --- outlines ----------------------------------------------------------------------


def test_china_provinces_are_wgs84_and_simplified():
    provinces = boundaries.china_regions("province")
    assert len(provinces) == 34 and {"广东省", "台湾省", "香港特别行政区"} <= set(provinces["region"])
    points = sum(shapely.get_num_coordinates(g) for g in provinces["geometry"])
    assert 5_000 < points < 60_000  # 940k points before simplification
    guangdong = provinces.set_index("region").loc["广东省", "geometry"]
    # Guangzhou's and Shenzhen's city halls lie inside Guangdong, Hong Kong's does not.
    assert guangdong.contains(Point(113.2644, 23.1291)) and guangdong.contains(Point(114.0579, 22.5431))
    assert not guangdong.contains(Point(114.1694, 22.3193))
    # Converted from GCJ-02: the AMap file's outline lies ~300-600 m east of the result.
    raw, _ = boundaries._read_geometry("administrative/amap/land/440000.geojson")
    shift = np.array(raw.centroid.coords[0]) - np.array(guangdong.centroid.coords[0])
    assert 0.002 < shift[0] < 0.008


def test_cities_of_one_province():
    cities = boundaries.china_regions("city", province="广东省")
    assert len(cities) == 21 and {"深圳市", "广州市", "东莞市"} <= set(cities["region"])
    assert (cities["province"] == "广东省").all() and cities["region_code"].str.match(r"44\d{4}").all()
    with pytest.raises(ValueError, match="unknown province"):
        boundaries.china_regions("city", province="Atlantis")


def test_world_countries_subset():
    world = boundaries.world_countries(["usa", "BRA", "CHN"])
    assert set(world["iso3"]) == {"USA", "BRA", "CHN"}
    usa = world.set_index("iso3").loc["USA"]
    assert usa["region_en"] == "United States" and usa["geometry"].contains(Point(-98.5, 39.8))
    with pytest.raises(ValueError, match="XXX"):
        boundaries.world_countries(["XXX"])


def test_attach_outlines_matches_names_and_suffixes():
    outlines = pd.DataFrame({"region": ["那曲市", "广东省", "广西壮族自治区"],
                             "region_code": ["540600", "440000", "450000"],
                             "geometry": [box(0, 0, 1, 1), box(1, 1, 2, 2), box(2, 2, 3, 3)]})
    kpis = pd.DataFrame({"region": ["那曲地区", "广东省", "广西", "莱芜市"], "customers": [1, 2, 3, 4]})
    out = boundaries.attach_outlines(kpis, outlines)
    assert out["region_code"].tolist() == ["540600", "440000", "450000", None]
    assert out["geometry"].iloc[3] is None
    assert "geometry" not in kpis.columns


# --- what the maps show -------------------------------------------------------------


def test_map_area_of_a_report_scope_and_config():
    config = load_config()
    whole = MapArea.of(Scope.parse("ALL", config), config)
    assert whole == MapArea(country="CN", province=None, tiles=config.report.tiles)
    assert whole.level == "province"
    territory = MapArea.of(Scope.parse("华东", config), config)
    assert territory.province is None and territory.level == "province"
    guangdong = MapArea.of(Scope.parse("Guangdong", config), config)
    assert guangdong.province == "广东省" and guangdong.level == "city"
    tiles = config.model_copy(update={"report": config.report.model_copy(update={"tiles": "amap"})})
    assert MapArea.of(Scope.parse("ALL", config), tiles).tiles == "amap"


def test_map_area_outlines_and_borders():
    provinces = MapArea().borders()
    assert len(provinces) == 34 and set(provinces["level"]) == {"province"}
    cities = MapArea(province="广东省").borders()
    assert len(cities) == 21 and (cities["province"] == "广东省").all()
    # no state outlines ship for Brazil: its maps are drawn on the country's outline
    assert MapArea(country="BR").outlines().empty
    assert MapArea(country="BR").borders()["iso3"].tolist() == ["BRA"]
    us = MapArea(country="US").outlines()                 # bokeh-sampledata's Census outlines
    assert len(us) == 51 and {"California", "District of Columbia"} <= set(us["region"])
    assert MapArea().outlines("territory").empty  # territories have no outlines of their own
    assert len(MapArea(province="广东省").outlines("province")) == 34


def test_customer_map_draws_the_area_borders(customers):
    city = _html(customer_map(customers.head(20), area=MapArea(province="广东省", tiles=None)).map)
    assert "City borders" in city and "Province borders" not in city
    brazil = _html(customer_map(customers.head(20), area=MapArea(country="BR", tiles=None)).map)
    assert "Country borders" in brazil
    bare = _html(customer_map(customers.head(20), area=OFFLINE, borders=False).map)
    assert "wb-outline" not in bare


def test_map_results_display_as_their_map(kpis, customers):
    from IPython.core.formatters import DisplayFormatter

    region = region_map(kpis, area=OFFLINE)
    points = customer_map(customers.head(20), area=OFFLINE)
    for result in (region, points, region_bubble_map(kpis, area=OFFLINE)):
        data, _ = DisplayFormatter().format(result)  # what a notebook cell shows: the map
        page = data["text/html"]
        assert page.count("<iframe srcdoc=") == 1 and result.map.get_name() in page
        assert "map-caption" in page and external_references(page) == []
    assert isinstance(region, RegionMapResult) and isinstance(points, CustomerMapResult)
    assert repr(region) == "RegionMapResult(skipped=1, features=34, graduated=0, labels=<5 names>)"
    assert repr(points) == (f"CustomerMapResult(skipped=7, hexagons=<{len(points.hexagons)} "
                            f"rows>, resolution={points.resolution}, grid_step=None)")


# --- filled region map --------------------------------------------------------------


@pytest.fixture
def kpis():
    return pd.DataFrame(
        {
            "region": ["广东省", "浙江省", "西藏自治区", "江苏省", "四川省", "未知省"],
            "region_en": ["Guangdong", "Zhejiang", "Tibet", IMG, "Sichuan", "Unknown"],
            "level": "province",
            "lat": [23.13, 30.27, 29.65, 32.06, 30.57, np.nan],
            "lon": [113.26, 120.15, 91.13, 118.80, 104.07, np.nan],
            "customers": [40, 10, 0, 5, 8, 3],
            "active_customers": [30, 8, 0, 5, 6, 3],
            "revenue": [4_000_000.0, 1_000_000.0, 0.0, 250_000.0, 600_000.0, 10.0],
            "share": [0.68, 0.17, 0.0, 0.04, 0.1, 0.0],
            "growth_yoy": [0.12, -0.05, np.nan, 0.3, 0.0, np.nan],
        }
    )


def _features(page: str) -> list[dict]:
    data = re.search(r"L\.geoJSON\((\{.*?\}), \{", page, flags=re.S).group(1)
    return json.loads(data)["features"]


def test_region_map_fills_classes_blank_and_no_data(kpis):
    before = kpis.copy()
    result = region_map(kpis, area=OFFLINE, classes=3)
    page = _html(result.map)
    features = _features(page)
    assert result.features == len(features) == 34  # every province outline
    states = [f["properties"]["style"]["className"] for f in features]
    assert states.count("wb-region wb-data") == 4
    assert states.count("wb-region wb-no_customers") == 1  # Tibet
    assert states.count("wb-region wb-no_data") == 29  # the rest of the provinces, HK, MO, TW
    fills = {f["properties"]["tip"].split("</b>")[0][3:]: f["properties"]["style"]["fillColor"]
             for f in features}
    assert fills["Tibet"] == NO_CUSTOMERS_COLOR
    assert fills["Guangdong"] == PALETTE[-1]  # the largest revenue: darkest class
    assert fills["Guangdong"] != fills["Sichuan"]
    assert result.graduated == 0 and result.skipped == 1  # 未知省: no outline, no coordinates
    assert 'class="wb-legend"' in page and "No customers" in page and "No data" in page
    assert "fitBounds" in page and "L.control.layers" in page
    assert external_references(page) == []
    pd.testing.assert_frame_equal(kpis, before)


def test_region_map_tooltips_escaped_and_chinese(kpis):
    page = _html(region_map(kpis, area=OFFLINE, lang="en").map)
    tips = [f["properties"]["tip"] for f in _features(page)]
    jiangsu = next(t for t in tips if "onerror" in t)
    assert jiangsu.startswith("<b>&lt;img src=x onerror=alert(1)&gt;</b>")
    assert IMG not in page and SCRIPT not in page
    zh = _html(region_map(kpis, area=OFFLINE, lang="zh").map)
    guangdong = next(t for t in (f["properties"]["tip"] for f in _features(zh)) if "广东省" in t)
    assert "客户数: 40" in guangdong and "收入: 400万" in guangdong and "同比增长: +12.0%" in guangdong
    assert "无客户" in zh and "收入" in zh


def _labels(page: str) -> list[list]:
    return json.loads(re.search(r"rows = (\[.*?\]);", page).group(1))


def test_region_map_names_the_largest_and_the_blank_regions(kpis):
    result = region_map(kpis, area=OFFLINE, label_top=3)
    page = _html(result.map)
    labels = _labels(page)
    # the three largest by revenue, then the province without customers
    assert [(name, kind) for _lat, _lon, name, kind in labels] == [
        ("Guangdong", "top"), ("Zhejiang", "top"), ("Sichuan", "top"), ("Tibet", "blank")]
    assert result.labels == ("Guangdong", "Zhejiang", "Sichuan", "Tibet")
    outlines = OFFLINE.outlines("province").set_index("region")
    for (lat, lon, _name, _kind), province in zip(labels, ["广东省", "浙江省", "四川省", "西藏自治区"],
                                                  strict=True):
        assert outlines.loc[province, "geometry"].contains(Point(lon, lat))  # inside its region
    # 4.0M + 1.0M + 0.6M of 5,850,010 (regions with customers) = 96%
    caption = re.search(r'class="map-caption"[^>]*>(.*?)</div>', page).group(1)
    assert caption.startswith("Largest: Guangdong, Zhejiang, Sichuan (96% of revenue). "
                              "No customers: Tibet. Colour:")
    assert "wb-map-label" in page and "L.tooltip" in page
    zh = region_map(kpis, area=OFFLINE, lang="zh")
    zh_page = _html(zh.map)
    assert [name for *_, name, _kind in _labels(zh_page)] == [
        "广东省", "浙江省", "四川省", "江苏省", "西藏自治区"]
    assert "收入最多：广东省、浙江省、四川省（占96%）。无客户：西藏自治区。" in zh_page
    # a name from the data is escaped in the labels, and neither label nor caption runs it
    assert html_text(IMG) in result.labels + region_map(kpis, area=OFFLINE).labels
    assert IMG not in _page(region_map(kpis, area=OFFLINE).map)


def test_city_map_names_cities_without_customers_from_the_outlines():
    cities = pd.DataFrame({"region": ["广州市", "深圳市"], "region_en": ["Guangzhou", "Shenzhen"],
                           "level": "city", "customers": [5, 3], "revenue": [500.0, 300.0]})
    result = region_map(cities, area=MapArea(province="广东省", tiles=None), label_blank=2)
    page = _html(result.map)
    kinds = [kind for *_, kind in _labels(page)]
    assert kinds == ["top", "top", "blank", "blank"]
    caption = re.search(r'class="map-caption"[^>]*>(.*?)</div>', page).group(1)
    assert "No customers: " in caption and " and 17 more." in caption  # 21 cities, 2 with customers


def test_region_map_graduated_symbols_without_outlines():
    states = pd.DataFrame({"region": ["São Paulo", "Bahia", "Acre"], "region_en": None,
                           "level": "province", "lat": [-23.5, -12.9, -9.0],
                           "lon": [-46.6, -41.7, -70.5], "customers": [10, 5, 0],
                           "revenue": [900.0, 100.0, 0.0]})
    assert boundaries.region_outlines("BR").empty  # no state outlines ship for Brazil
    # no outlines: the map itself draws the country's outline beneath the circles
    result = region_map(states, area=MapArea(country="BR", tiles=None))
    page = _html(result.map)
    assert result.features == 0 and result.graduated == 3
    assert "Country borders" in page and "wb-outline" in page  # the USA, for orientation
    assert "Regions by Revenue" not in page  # no empty filled layer
    radii = [float(r) for r in re.findall(r'"radius": ([0-9.]+)', page)]
    assert len(radii) == 3 and radii[0] > radii[1]  # area follows revenue
    assert page.count(BLANK_COLOR) >= 1  # Acre, no customers: still drawn, a grey ring
    assert "No customers" in page
    assert "[[-23.5,-70.5],[-9.0,-41.7]]" in page  # the bounds fitted (FitBounds)


def test_us_states_are_filled_and_blank_states_drawn():
    """The US has state outlines (Census TIGER via bokeh-sampledata): every state of the
    table is filled, the blank ones grey and dashed, Alaska in one piece."""
    outlines = boundaries.us_states()
    assert len(outlines) == 51 and outlines["region_code"].str.fullmatch(r"US-[A-Z]{2}").all()
    alaska = outlines.set_index("region").loc["Alaska", "geometry"]
    assert alaska.bounds[0] < -180 and alaska.bounds[2] < -129     # Aleutians shifted west
    california = outlines.set_index("region").loc["California", "geometry"]
    assert california.contains(shapely.Point(-119.4, 36.8))        # Fresno County
    assert not california.contains(shapely.Point(-99.9, 31.0))     # Texas
    states = pd.DataFrame({"region": list(outlines["region"]), "region_en": None,
                           "level": "province", "lat": 0.0, "lon": 0.0,
                           "customers": [5 if r in ("California", "Texas") else 0
                                         for r in outlines["region"]],
                           "revenue": [900.0 if r == "California" else 100.0
                                       if r == "Texas" else 0.0 for r in outlines["region"]]})
    result = region_map(states, area=MapArea(country="US", tiles=None))
    page = _html(result.map)
    assert result.features == 51 and result.graduated == 0
    assert page.count("wb-no_customers") >= 49                    # Wyoming and the others
    assert "Wyoming" in page and "Country borders" not in page


def test_region_map_city_drill_down():
    cities = pd.DataFrame({"region": ["深圳市", "广州市", "莱芜市"], "region_en": None,
                           "level": "city", "lat": [22.54, 23.13, 36.2], "lon": [114.06, 113.26, 117.7],
                           "customers": [20, 30, 2], "revenue": [2e6, 3e6, 1e4]})
    result = region_map(cities, area=MapArea(province="广东省", tiles=None), lang="zh")
    features = _features(_html(result.map))
    assert result.features == 21 and result.graduated == 1  # 莱芜 has no outline
    assert "wb-outline" not in _html(result.map)  # the cities' outlines need no borders beneath
    blank = [f for f in features if "no_customers" in f["properties"]["style"]["className"]]
    assert len(blank) == 19  # Guangdong's cities without customers are market gaps
    assert all("无客户" in f["properties"]["tip"] for f in blank)


def test_region_map_on_amap_tiles_shifts_to_gcj02(kpis):
    plain = _features(_html(region_map(kpis.head(1), area=OFFLINE).map))
    amap_page = _html(region_map(kpis.head(1), area=MapArea(tiles="amap")).map)
    shifted = _features(amap_page)
    assert "autonavi.com" in amap_page and "tile.openstreetmap" not in amap_page
    a = np.array(plain[0]["geometry"]["coordinates"][0][0][0])
    b = np.array(shifted[0]["geometry"]["coordinates"][0][0][0])
    assert 0.002 < abs(b[0] - a[0]) < 0.01  # ~500 m, as the tiles are drawn


# --- bubbles -------------------------------------------------------------------------


def _circle_options(page):
    """The option objects of every L.circleMarker(...) call, in order."""
    return re.findall(r"L\.circleMarker\(\s*\[[^\]]*\],\s*(\{.*?\})\s*\)", page, flags=re.S)


def test_bubble_map_markers_bounds_and_blank(kpis):
    result = region_bubble_map(kpis)
    page = _html(result.map)
    options = _circle_options(page)
    assert len(options) == 5 and result.skipped == 1
    assert "[[23.13,91.13],[32.06,120.15]]" in page  # the bounds fitted (FitBounds)
    blank = [o for o in options if BLANK_COLOR in o]
    assert len(blank) == 1 and '"fill": false' in blank[0]
    radii = [float(re.search(r'"radius": ([0-9.]+)', o).group(1)) for o in options]
    assert radii[0] == max(radii)
    assert "tileLayer" in page and "tileLayer" not in _html(region_bubble_map(kpis, area=OFFLINE).map)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_bubble_map_escapes_region_names(kpis, lang):
    data = kpis.assign(region=kpis["region"].where(kpis.index != 1, SCRIPT),
                       region_en=kpis["region_en"].where(kpis.index != 1, TEMPLATE))
    page = _html(region_bubble_map(data, lang=lang).map)
    for raw in (SCRIPT, IMG, TEMPLATE, "${alert"):
        assert raw not in page


# --- customers -------------------------------------------------------------------------


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
        }
    )


def _points(page):
    coords = json.loads(re.search(r"var point_data_\w+ = (\[.*?\]);", page).group(1))
    tips = json.loads(re.search(r"var point_data_\w+_tips = (null|\[.*?\]);", page).group(1))
    return np.array(coords).reshape(-1, 2), tips


def test_customer_map_one_array_cluster_heat_and_skips(customers):
    before = customers.copy()
    result = customer_map(customers, area=OFFLINE)
    page = _html(result.map)
    coords, tips = _points(page)
    assert result.skipped == 7 and len(coords) == 993 and tips is None
    assert page.count("L.markerClusterGroup(") == 1 and "addLayers(markers)" in page
    assert "L.heatLayer(" in page and "L.control.layers" in page and "fitBounds" in page
    assert "993 customers mapped, 7 without coordinates skipped" in page
    # masked: coordinates rounded to 3 decimals (~100 m)
    assert np.allclose(coords, np.round(coords, 3))
    pd.testing.assert_frame_equal(customers, before)


def test_customer_map_masks_pii(customers):
    page = _html(customer_map(customers, mask_pii=True, area=OFFLINE).map)
    for secret in ("客户12", "C00012", "alert(1)", "onerror"):
        assert secret not in page


def test_customer_map_escapes_names_when_shown(customers):
    page = _html(customer_map(customers, mask_pii=False, lang="zh", area=OFFLINE).map)
    for raw in (SCRIPT, IMG, "<script>alert", "<img"):
        assert raw not in page
    _, tips = _points(page)
    assert len(tips) == 993 and "客户12" in tips
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in tips
    assert "&lt;img src=x onerror=alert(1)&gt;" in tips
    assert "缺少坐标" in page


def test_customer_map_outline_layer_and_amap(customers):
    page = _html(customer_map(customers.head(50), area=MapArea(tiles="amap")).map)
    assert "Province borders" in page and "wb-outline" in page
    coords, _ = _points(page)
    plain, _ = _points(_html(customer_map(customers.head(50), area=OFFLINE).map))
    assert np.abs(coords - plain).max() < 0.01 and np.abs(coords - plain).max() > 0.001


def test_customer_map_offline_and_empty():
    empty = pd.DataFrame({"lat": [np.nan], "lon": [np.nan], "name": ["x"]})
    result = customer_map(empty, area=OFFLINE)
    page = _html(result.map)
    assert result.skipped == 1 and len(result.hexagons) == 0 and result.resolution is None
    assert "tileLayer" not in page and "markerClusterGroup(" not in page


def test_map_text_escaping_neutralises_html_template_literals_and_jinja():
    assert html_text(SCRIPT) == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert html_text(TEMPLATE) == "&#96;&#36;&#123;alert(1)&#125;&#96;"
    assert html_text("{{ x }}{% y %}") == "&#123;&#123; x &#125;&#125;&#123;% y %&#125;"
    assert html_text("a\"b'c\\") == "a&quot;b&#x27;c&#92;"


def test_hexagon_counts_match_h3_and_coarsen_to_fit():
    import h3

    lat = np.array([23.1291, 23.1292, 23.1290, 39.9042])
    lon = np.array([113.2644, 113.2645, 113.2643, 116.4074])
    table, resolution = hexagon_counts(lat, lon, resolutions=range(7, 1, -1))
    assert resolution == 7 and list(table["customers"]) == [3, 1]
    assert table.loc[0, "cell"] == h3.latlng_to_cell(23.1291, 113.2644, 7)
    assert table.loc[1, "cell"] == h3.latlng_to_cell(39.9042, 116.4074, 7)
    # by default the size follows the extent: Guangzhou to Beijing (~1,900 km) gives
    # edges of at least ~19 km (resolution 4: 26 km); points within a city, the finest (7)
    assert hexagon_counts(lat, lon)[1] == 4
    assert hexagon_counts(lat[:3], lon[:3])[1] == 7
    # Guangzhou and Beijing never share a cell: the coarsest resolution is the last tried
    coarse, resolution = hexagon_counts(lat, lon, max_cells=1, resolutions=range(7, 1, -1))
    assert resolution == 2 and coarse["customers"].sum() == 4 and len(coarse) == 2
    # at a resolution that fits, every point is counted once
    spread = np.random.default_rng(1)
    many_lat, many_lon = spread.uniform(20, 40, 5000), spread.uniform(100, 120, 5000)
    table, resolution = hexagon_counts(many_lat, many_lon, max_cells=300,
                                       resolutions=range(7, 1, -1))
    assert len(table) <= 300 and table["customers"].sum() == 5000 and resolution < 7
    expected = pd.Series([h3.latlng_to_cell(a, b, resolution)
                          for a, b in zip(many_lat, many_lon, strict=True)]).value_counts()
    assert table.set_index("cell")["customers"].to_dict() == expected.to_dict()


def test_customer_map_hexagon_layer(customers):
    result = customer_map(customers, area=OFFLINE, lang="zh")
    page = _html(result.map)
    assert result.hexagons["customers"].sum() == 993 and result.resolution is not None
    (layer,) = [c for c in result.map._children.values()
                if getattr(c, "layer_name", None) == "蜂窝网格客户数"]
    assert not layer.show and "wb-hexagon" in page  # off until ticked
    features = json.loads(layer.data_js)["features"]
    assert len(features) == len(result.hexagons) == layer.features
    assert features[0]["properties"]["tip"] == (
        f"该网格内 {int(result.hexagons['customers'].max())} 家客户")
    assert {f["properties"]["style"]["fillColor"] for f in features} <= set(PALETTE)
    ring = features[0]["geometry"]["coordinates"][0]
    assert len(ring) == 7 and ring[0] == ring[-1]  # a closed hexagon, lon/lat order
    assert abs(ring[0][0] - result.hexagons.loc[0, "lon"]) < 1
    assert abs(ring[0][1] - result.hexagons.loc[0, "lat"]) < 1
    plain = customer_map(customers, area=OFFLINE, hexagons=False)
    assert len(plain.hexagons) == 0 and "wb-hexagon" not in _html(plain.map)


# --- no data through a template engine -----------------------------------------------

# Jinja2 payloads: one that creates the folder named in $WB_TEMPLATE_PROBE (no quotes,
# so no escaping gets in its way), one that prints the pid, one that is not valid Jinja2.
MAKE_DIR = ("{{ cycler.__init__.__globals__.os.mkdir("
            "cycler.__init__.__globals__.os.environ.WB_TEMPLATE_PROBE) }}")
PID = "{{ dict(PID=1)|list|first ~ cycler.__init__.__globals__.os.getpid() }}"
BROKEN = "{% if %} {{ '\\ }}"
SUM = "{{ dict(EVAL=1)|list|first ~ 7 * 191 }}"


@pytest.fixture
def probe(tmp_path, monkeypatch):
    folder = tmp_path / "created-by-a-template"
    monkeypatch.setenv("WB_TEMPLATE_PROBE", str(folder))
    return folder


def _no_template_ran(page: str, probe) -> None:
    assert not probe.exists(), "a name from the data ran as a Jinja2 template"
    assert not re.search(r"PID\d", page) and "EVAL1337" not in page


def test_customer_names_are_never_template_source(probe):
    names = [MAKE_DIR, PID, BROKEN, SUM]
    frame = pd.DataFrame({"name": names, "lat": [23.1, 23.2, 23.3, 23.4],
                          "lon": [113.1, 113.2, 113.3, 113.4]})
    m = customer_map(frame, mask_pii=False, area=OFFLINE).map
    page = _page(m)
    _no_template_ran(page, probe)
    tips = json.loads(re.search(r"_tips = (\[.*?\]);", page).group(1))
    assert tips == [html_text(n) for n in names]  # the names are there, as text


def test_region_names_are_never_template_source(probe, kpis):
    names = [MAKE_DIR, PID, BROKEN, SUM, IMG, "{# an open comment"]
    table = kpis.assign(region=names, region_en=names[::-1])
    no_outlines = pd.DataFrame(columns=["region", "region_code", "level", "geometry"])
    for lang in ("en", "zh"):
        for result in (region_bubble_map(table, lang=lang, area=OFFLINE),
                       region_map(table, outlines=no_outlines, lang=lang, area=OFFLINE),
                       region_map(table, lang=lang, area=OFFLINE)):
            page = _page(result.map)
            _no_template_ran(page, probe)
            assert html_text(SUM) in page or json.dumps(html_text(SUM)) in page


def test_every_folium_element_inserts_its_output_as_a_value(probe):
    """Importing helpers.viz.assets makes branca insert each macro's output as a value:
    a plain folium tooltip, layer name or attribution holding Jinja2 stays text."""
    m = folium.Map(tiles=None)
    folium.CircleMarker([23.1, 113.1], tooltip=SUM).add_to(m)
    folium.CircleMarker([23.2, 113.2], tooltip=folium.Tooltip(MAKE_DIR)).add_to(m)
    folium.FeatureGroup(name=PID).add_to(m)
    folium.TileLayer("OpenStreetMap", attr=BROKEN, name=SUM).add_to(m)
    folium.LayerControl().add_to(m)
    page = m.get_root().render()
    _no_template_ran(page, probe)
    assert SUM in page and MAKE_DIR in page  # inserted as they are (folium does not escape)


def test_captions_are_raw_html_values(probe):
    from helpers.viz.assets import RawHTML

    m = OfflineMap(tiles=None)
    m.get_root().html.add_child(RawHTML(f"<div class='x'>{html_text(MAKE_DIR)}</div>"))
    page = _page(m)
    _no_template_ran(page, probe)
    assert html_text(MAKE_DIR) in page


def test_grid_points_merges_on_the_finest_grid_that_fits():
    # 6 customers: two at one spot, three within 0.004 degree of each other, one far away
    lat = np.array([30.0001, 30.0002, 31.0001, 31.0031, 31.0041, 40.0])
    lon = np.array([110.0001, 110.0002, 111.0001, 111.0011, 111.0041, 120.0])
    same, step = grid_points(lat, lon, max_points=6)
    assert step is None and same["customers"].tolist() == [1] * 6
    assert same["lat"].tolist() == lat.tolist()
    # 0.001 degree: cells (30.000,110.000) x2, (31.000,111.000), (31.003,111.001),
    # (31.004,111.004), (40,120) -> 5 cells, over 4; 0.002: 31.0031 and 31.0041 share a row
    # (15502) but not a column (55500 vs 55502) -> 5; 0.005 -> 3 cells
    merged, step = grid_points(lat, lon, max_points=4)
    assert step == 0.005
    merged = merged.sort_values("lat", ignore_index=True)
    assert merged["customers"].tolist() == [2, 3, 1]
    assert merged.loc[0, "lat"] == pytest.approx(30.00015)
    assert merged.loc[1, "lat"] == pytest.approx((31.0001 + 31.0031 + 31.0041) / 3)
    assert merged.loc[1, "lon"] == pytest.approx((111.0001 + 111.0011 + 111.0041) / 3)
    assert merged["customers"].sum() == len(lat)


def test_customer_map_merges_points_beyond_its_limit(customers):
    located = customers.dropna(subset=["lat", "lon"])
    result = customer_map(customers, area=OFFLINE, max_points=200, mask_pii=False)
    page = _html(result.map)
    coords, tips = _points(page)
    weights = json.loads(re.search(r"var point_data_\w+_n = (null|\[.*?\]);", page).group(1))
    assert result.grid_step is not None and 0 < len(coords) <= 200
    assert len(weights) == len(coords) and sum(weights) == len(located) == 993
    assert tips is None and "客户12" not in page          # merged points carry no names
    assert "iconCreateFunction" in page and "993 customers mapped" in page
    assert f"merged into {len(coords):,} points" in page
    zh = _html(customer_map(customers, area=OFFLINE, max_points=200, lang="zh").map)
    ntip = json.loads(re.search(r'var point_data_\w+_ntip = (".*?");', zh).group(1))
    assert "合并为" in zh and ntip == "此处 {n} 家客户"
    # under the limit nothing changes: one point per customer, no weights
    plain = _html(customer_map(customers, area=OFFLINE).map)
    assert re.search(r"var point_data_\w+_n = null;", plain)
