"""Step 3 maps (folium): filled regions, graduated symbols and customer points.

Functions return the folium map and never change their input. The maps are
:class:`helpers.viz.assets.OfflineMap` objects: Leaflet and its plugins are inlined, so a
report opens with the network off (the base map tiles are the only thing a map may
fetch, and ``tiles=None`` turns them off).

Every string that comes from the data is escaped before it reaches a tooltip, popup
or caption: Leaflet shows tooltip text as HTML, and folium may wrap text in a
JavaScript template literal, so HTML (``<``, ``&``, quotes), template-literal
syntax (backtick, ``${``, backslash) and Jinja2's braces are neutralised by
:func:`escape` (:func:`helpers.text.markup.html_text`). Data reaching a ``<script>``
block is JSON with ``<``, ``>`` and ``&`` written as ``\\u003c`` ... Data is never
template source: captions and legends are :class:`helpers.viz.assets.RawHTML` values
(``folium.Element(text)`` would compile ``text`` as a Jinja2 template), and
importing :mod:`helpers.viz.assets` makes every map element insert its rendered
output as a value (see there).

Tiles (``tiles=``): ``"OpenStreetMap"`` (default, also ``"osm"``), ``"amap"`` (AMap /
Gaode street map; it is drawn in GCJ-02, so every point and outline is shifted from
WGS-84 to GCJ-02 to sit on the right street), or ``None`` / ``"none"`` for no base
map (offline reports: the filled regions and points still show). Reports choose with
``report.tiles`` in ``workbook.yaml``.
"""

from __future__ import annotations

import json
import math
import re

import folium
import numpy as np
import pandas as pd
import shapely
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

from helpers.geo import boundaries, coords
from helpers.text.format import format_value
from helpers.text.lookup import label, region_label, region_names
from helpers.text.markup import html_text
from helpers.viz.assets import OfflineMap, RawHTML

CHINA_CENTER = (35.0, 105.0)
MIN_RADIUS = 4.0
MAX_RADIUS = 30.0
BUBBLE_COLOR = "#1f77b4"
BLANK_COLOR = "#808080"
#: ColorBrewer YlGnBu, light to dark: the classes of a filled map.
PALETTE = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
NO_CUSTOMERS_COLOR = "#d0d0d0"
NO_DATA_COLOR = "#ffffff"
POINT_COLOR = "#3186cc"
TOOLTIP_COLUMNS = ("customers", "active_customers", "revenue", "share", "growth_yoy",
                   "gap_ratio")

AMAP_TILES = ("https://webrd0{s}.is.autonavi.com/appmaptile?"
              "lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}")

# A "{" that would start a Jinja2 expression, statement or comment. JSON's own braces
# are always followed by '"' or '}', so these occur only inside strings.
_TEMPLATE_OPENER = re.compile(r"\{(?=[{%#])")


def escape(text: object) -> str:
    """Escape data text for HTML inside folium tooltips, popups and captions.

    Parameters
    ----------
    text : object
        Any value; converted with ``str``.

    Returns
    -------
    str
        :func:`helpers.text.markup.html_text`: ``html.escape(text, quote=True)`` with
        backtick, ``$``, backslash and braces also turned into character
        references, so the text can neither open a tag, break out of the
        JavaScript template literal folium wraps it in, nor read as a Jinja2
        expression.
    """
    return html_text(text)


def _js(value) -> str:
    """JSON for a ``<script>`` block: ``<``, ``>``, ``&`` and a brace that would open a
    Jinja2 tag (``{{``, ``{%``, ``{#``, only ever inside strings) as unicode escapes."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return _TEMPLATE_OPENER.sub(r"\\u007b", text)


# --------------------------------------------------------------------------- base map


def _tiles(tiles: str | None) -> tuple[folium.TileLayer | None, bool]:
    """The tile layer for a ``tiles`` option and whether it is drawn in GCJ-02."""
    key = "none" if tiles is None else str(tiles).strip().lower()
    if key in ("none", "", "offline"):
        return None, False
    if key in ("amap", "gaode", "autonavi"):
        layer = folium.TileLayer(tiles=AMAP_TILES, attr="&copy; 高德地图 AutoNavi",
                                 name="AMap", subdomains="1234", max_zoom=18)
        return layer, True
    if key in ("osm", "openstreetmap"):
        return folium.TileLayer("OpenStreetMap", name="OpenStreetMap"), False
    return folium.TileLayer(str(tiles), name=str(tiles)), False


class _Projection:
    """WGS-84 (the tables) to the tiles' coordinates: unchanged, or GCJ-02 for AMap."""

    def __init__(self, gcj: bool):
        self.gcj = gcj

    def points(self, lat, lon) -> tuple[np.ndarray, np.ndarray]:
        lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
        if not self.gcj:
            return lat, lon
        return coords.wgs84_to_gcj02(lat, lon)

    @property
    def transform(self):
        return boundaries.to_gcj02 if self.gcj else None


def _base_map(tiles: str | None, center=CHINA_CENTER) -> tuple[OfflineMap, _Projection]:
    layer, gcj = _tiles(tiles)
    m = OfflineMap(location=list(center), zoom_start=4, tiles=None, control_scale=True)
    m.options["maxZoom"] = 18  # markercluster needs it even without tiles
    if layer is not None:
        layer.add_to(m)
    return m, _Projection(gcj)


def _fit(m: folium.Map, bounds: tuple[float, float, float, float] | None) -> None:
    """Fit to ``(min_lon, min_lat, max_lon, max_lat)`` when there is anything to fit."""
    if bounds is None or not all(np.isfinite(bounds)):
        return
    min_lon, min_lat, max_lon, max_lat = bounds
    m.fit_bounds([[min_lat, min_lon], [max_lat, max_lon]])


def _point_bounds(lats, lons) -> tuple[float, float, float, float] | None:
    lats, lons = np.asarray(lats, dtype=float), np.asarray(lons, dtype=float)
    if not len(lats):
        return None
    return float(lons.min()), float(lats.min()), float(lons.max()), float(lats.max())


def _union_bounds(*bounds):
    found = [b for b in bounds if b is not None]
    if not found:
        return None
    return (min(b[0] for b in found), min(b[1] for b in found),
            max(b[2] for b in found), max(b[3] for b in found))


def _add_caption(m: folium.Map, text: str) -> None:
    """A small fixed box at the bottom left of the map (text must be escaped)."""
    box = (
        '<div class="map-caption" style="position:absolute;bottom:48px;left:10px;'
        "z-index:1000;background:rgba(255,255,255,0.85);padding:4px 8px;max-width:60%;"
        f'font:12px sans-serif;border-radius:4px;">{text}</div>'
    )
    m.get_root().html.add_child(RawHTML(box))


def _coords(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Rows with finite, in-range lat/lon (new 0..n-1 index) and the number left out."""
    lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    kept = frame.iloc[np.flatnonzero(ok)].reset_index(drop=True).assign(lat=lat[ok], lon=lon[ok])
    return kept, int((~ok).sum())


def _tooltip(name: str, row: dict, columns: list[str], lang: str) -> str:
    lines = [f"<b>{escape(name)}</b>"] + [
        f"{escape(label(c, lang))}: {escape(format_value(row.get(c), c, lang))}"
        for c in columns
    ]
    return "<br>".join(lines)


def _main_part(geometry):
    """The largest polygon of a (multi)polygon."""
    parts = list(getattr(geometry, "geoms", [geometry]))
    return max(parts, key=lambda g: g.area)


def _radius(value: float, top: float) -> float:
    if top <= 0 or not np.isfinite(value) or value <= 0:
        return MIN_RADIUS
    return round(MIN_RADIUS + (MAX_RADIUS - MIN_RADIUS) * math.sqrt(value / top), 2)


# --------------------------------------------------------------------------- bubbles


def region_bubble_map(
    kpis: pd.DataFrame,
    *,
    value: str = "revenue",
    lang: str = "en",
    tiles: str | None = "OpenStreetMap",
) -> folium.Map:
    """Bubble map of regions: one circle per region, area proportional to ``value``.

    Parameters
    ----------
    kpis : DataFrame
        Region KPI table with ``region``, ``region_en``, ``lat``, ``lon``,
        ``customers`` and ``value``; ``revenue``, ``share`` and ``growth_yoy`` are
        shown in the tooltip when present. Regions whose ``customers`` is 0 or
        missing (blank regions) are drawn as small grey hollow circles labelled
        "no customers". Rows without coordinates are skipped.
    value : str, default "revenue"
        Column that sets the circle size (radius ∝ sqrt(value); negative values
        count as 0).
    lang : {"en", "zh"}, default "en"
        Language of names and labels.
    tiles : str or None, default "OpenStreetMap"
        Base map: ``"OpenStreetMap"``, ``"amap"`` (points shifted to GCJ-02) or
        None (no tiles, offline).

    Returns
    -------
    folium.Map
        With the circles, bounds fitted to them, and a caption explaining the size.
        ``m.skipped_points`` holds the number of rows left out for lack of coordinates.
    """
    missing = [c for c in ("lat", "lon", "customers", value) if c not in kpis.columns]
    if missing:
        raise KeyError(f"missing column(s) {missing}; have {list(kpis.columns)}")
    frame, skipped = _coords(kpis)
    m, projection = _base_map(tiles)
    lat, lon = projection.points(frame["lat"], frame["lon"])
    _add_bubbles(m, frame.assign(lat=lat, lon=lon), value=value, lang=lang)
    _fit(m, _point_bounds(lat, lon))
    _add_caption(m, escape(label("bubble_caption", lang).format(value=label(value, lang))))
    m.skipped_points = skipped
    return m


def _add_bubbles(parent, frame: pd.DataFrame, *, value: str, lang: str,
                 colors: list[str] | None = None, top: float | None = None) -> int:
    """One circle per row of ``frame`` (projected lat/lon): sized by ``value``.

    Rows with no customers get a small grey ring. ``colors`` (one per row) fills
    the circles with the class colours of a filled map instead of one blue.
    """
    names = region_label(frame, lang)
    customers = pd.to_numeric(frame["customers"], errors="coerce").fillna(0)
    sizes = pd.to_numeric(frame[value], errors="coerce").fillna(0).clip(lower=0)
    if top is None:
        top = float(sizes.max()) if len(sizes) else 0.0
    shown = [c for c in TOOLTIP_COLUMNS if c in frame.columns]
    if value not in shown:
        shown.append(value)
    for i, row in enumerate(frame.to_dict("records")):
        location = [row["lat"], row["lon"]]
        if customers.iloc[i] <= 0:
            tip = f"<b>{escape(names.iloc[i])}</b><br>{escape(label('no_customers', lang))}"
            folium.CircleMarker(location, radius=MIN_RADIUS, color=BLANK_COLOR, weight=1.5,
                                fill=False, tooltip=folium.Tooltip(tip)).add_to(parent)
            continue
        fill = colors[i] if colors is not None else BUBBLE_COLOR
        folium.CircleMarker(
            location,
            radius=_radius(float(sizes.iloc[i]), top),
            color="#333333" if colors is not None else BUBBLE_COLOR,
            weight=1,
            fill=True,
            fill_color=fill,
            fill_opacity=0.75 if colors is not None else 0.5,
            tooltip=folium.Tooltip(_tooltip(names.iloc[i], row, shown, lang)),
        ).add_to(parent)
    return len(frame)


# --------------------------------------------------------------------------- filled regions


class _RegionLayer(Layer):
    """One GeoJSON layer of region outlines, styled and labelled per feature.

    Each feature carries ``style`` (Leaflet path options) and ``tip`` (escaped HTML)
    in its properties; the layer highlights the region under the mouse.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJSON({{ this.data_js }}, {
            style: function (feature) { return feature.properties.style; },
            onEachFeature: function (feature, layer) {
                if (!feature.properties.tip) { return; }
                layer.bindTooltip(feature.properties.tip, {sticky: true});
                layer.on({
                    mouseover: function (e) {
                        e.target.setStyle({weight: 2.5, color: "#222222"});
                        e.target.bringToFront();
                    },
                    mouseout: function (e) { {{ this.get_name() }}.resetStyle(e.target); }
                });
            }
        });
        {% endmacro %}
        """
    )

    def __init__(self, collection: dict, name: str, *, show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "RegionLayer"
        self.data_js = _js(collection)
        self.features = len(collection["features"])


def _classes(values: pd.Series, k: int) -> np.ndarray:
    """Upper-open class edges (``k - 1`` inner edges) of about equal counts.

    Edges are quantiles of the positive values, rounded to two significant digits
    so the legend reads well; duplicates are dropped, so there may be fewer classes.
    """
    positive = values[values > 0].to_numpy(dtype=float)
    if positive.size == 0:
        return np.array([])
    k = max(1, min(k, len(np.unique(positive))))
    inner = np.quantile(positive, np.linspace(0, 1, k + 1)[1:-1])
    rounded = []
    for edge in inner:
        digits = 1 - int(math.floor(math.log10(abs(edge)))) if edge > 0 else 0
        rounded.append(round(float(edge), digits))
    return np.unique(np.array(rounded, dtype=float))


def _palette(n: int) -> list[str]:
    if n <= 1:
        return [PALETTE[2]]
    picks = np.round(np.linspace(0, len(PALETTE) - 1, n)).astype(int)
    return [PALETTE[i] for i in picks]


def _legend(m: folium.Map, title: str, rows: list[tuple[str, str, str]]) -> None:
    """Legend box at the bottom right: (fill colour, border style, escaped text) rows."""
    items = "".join(
        f'<div style="display:flex;align-items:center;gap:6px;margin:2px 0;">'
        f'<span style="display:inline-block;width:16px;height:12px;background:{fill};'
        f'border:1px {border} #666;"></span><span>{text}</span></div>'
        for fill, border, text in rows
    )
    box = (
        '<div class="wb-legend" style="position:absolute;bottom:24px;right:10px;z-index:1000;'
        "background:rgba(255,255,255,0.9);padding:6px 10px;font:12px sans-serif;"
        f'border-radius:4px;box-shadow:0 1px 3px rgba(0,0,0,.3);"><b>{title}</b>{items}</div>'
    )
    m.get_root().html.add_child(RawHTML(box))


def default_outlines(level: str, province: str | None = None,
                     country: str = "CN") -> pd.DataFrame:
    """The outlines a filled map of ``level`` uses (empty where none are available).

    Chinese ``province`` and ``city`` outlines come from
    :func:`helpers.geo.boundaries.china_regions` (``province`` limits cities to one
    province), ``country`` from :func:`helpers.geo.boundaries.world_countries`; other
    countries' states and any other level (territories) have no outlines, so their
    regions are drawn as circles.
    """
    if level in ("province", "city"):
        return boundaries.region_outlines(country, level,
                                          province=province if level == "city" else None)
    if level == "country":
        return boundaries.world_countries()
    return pd.DataFrame(columns=["region", "region_code", "level", "geometry"])


def _add_borders(m: folium.Map, outlines: pd.DataFrame, projection: _Projection,
                 lang: str) -> None:
    """Thin, non-interactive borders of ``outlines`` in their own layer (context)."""
    style = {"color": "#777777", "weight": 0.8, "fill": False, "interactive": False,
             "className": "wb-outline"}
    collection = boundaries.feature_collection(
        outlines.assign(style=[style] * len(outlines)), ["style"],
        transform=projection.transform)
    level = str(outlines["level"].iloc[0]) if "level" in outlines.columns else ""
    _RegionLayer(collection, label(f"borders_{level}" if level else "borders", lang)).add_to(m)


def region_map(
    kpis: pd.DataFrame,
    *,
    value: str = "revenue",
    outlines: pd.DataFrame | None = None,
    province: str | None = None,
    absent: str | None = None,
    context: pd.DataFrame | None = None,
    country: str = "CN",
    classes: int = 5,
    lang: str = "en",
    tiles: str | None = "OpenStreetMap",
) -> folium.Map:
    """Filled map of regions coloured by ``value``, with circles where no outline exists.

    Parameters
    ----------
    kpis : DataFrame
        Region KPI table (``helpers.analysis.kpi.region_kpis``): ``region``, ``region_en``,
        ``level``, ``lat``, ``lon``, ``customers`` and ``value``; the tooltip shows
        customers, active customers, revenue, share, YoY growth and the gap ratio
        when present.
    value : str, default "revenue"
        Column that colours the regions, in ``classes`` classes of about equal
        size (quantiles of the positive values; zero and negative values fall in
        the first class).
    outlines : DataFrame, optional
        Region outlines (``helpers.geo.boundaries``); default :func:`default_outlines`
        for the table's ``level`` (and ``province`` for cities).
    province : str, optional
        For a city map: the province whose cities are drawn (drill-down).
    absent : {"no_customers", "no_data"}, optional
        What an outline without a KPI row means: a region with no customers (default
        for cities: the KPI table lists only cities with customers) or a region
        outside the market (default otherwise: Hong Kong, Macao, Taiwan, provinces
        outside a territory).
    context : DataFrame, optional
        Outlines drawn as thin borders beneath, for orientation (the country's
        outline when its states are circles).
    country : str, default "CN"
        ``geography.country``: which outlines :func:`default_outlines` looks up.
    classes : int, default 5
        Number of colour classes.
    lang : {"en", "zh"}
        Language of names, legend, tooltips and captions.
    tiles : str or None
        ``"OpenStreetMap"``, ``"amap"`` (geometry shifted to GCJ-02) or None.

    Returns
    -------
    folium.Map
        Layers: the filled regions (one GeoJSON layer; grey dashed for no
        customers, white for no data) and, when some regions have no outline,
        graduated circles at their centroids; a legend, a caption, a layer control
        and bounds fitted to the regions of the table. ``m.region_features`` is the
        number of outlines drawn, ``m.graduated`` the number of circles and
        ``m.skipped_points`` the rows with neither outline nor coordinates.
    """
    missing = [c for c in ("region", "customers", value) if c not in kpis.columns]
    if missing:
        raise KeyError(f"missing column(s) {missing}; have {list(kpis.columns)}")
    levels = kpis["level"].dropna().unique() if "level" in kpis.columns else []
    level = str(levels[0]) if len(levels) else "province"
    if outlines is None:
        outlines = default_outlines(level, province, country)
    if absent is None:
        absent = "no_customers" if level == "city" else "no_data"
    if absent not in ("no_customers", "no_data"):
        raise ValueError(f"absent must be 'no_customers' or 'no_data', got {absent!r}")

    frame = boundaries.attach_outlines(kpis.reset_index(drop=True), outlines)
    values = pd.to_numeric(frame[value], errors="coerce")
    customers = pd.to_numeric(frame["customers"], errors="coerce").fillna(0)
    edges = _classes(values[customers > 0], classes)
    colors = _palette(len(edges) + 1)
    klass = np.searchsorted(edges, values.fillna(0).to_numpy(dtype=float), side="right")
    fill = [colors[k] for k in klass]
    names = region_label(frame, lang)
    shown = [c for c in TOOLTIP_COLUMNS if c in frame.columns]
    if value not in shown:
        shown.append(value)

    m, projection = _base_map(tiles)
    if context is not None and len(context):
        _add_borders(m, context, projection, lang)
    features = []
    for i, row in enumerate(frame.to_dict("records")):
        if row["geometry"] is None:
            continue
        if customers.iloc[i] <= 0:
            style = {"fillColor": NO_CUSTOMERS_COLOR, "color": "#777777", "weight": 1,
                     "dashArray": "4 3", "fillOpacity": 0.8}
            tip = f"<b>{escape(names.iloc[i])}</b><br>{escape(label('no_customers', lang))}"
            state = "no_customers"
        else:
            style = {"fillColor": fill[i], "color": "#555555", "weight": 1, "fillOpacity": 0.8}
            tip = _tooltip(names.iloc[i], row, shown, lang)
            state = "data"
        style["className"] = f"wb-region wb-{state}"
        features.append({"geometry": row["geometry"], "style": style, "tip": tip,
                         "code": row["region_code"]})
    matched = {code for code in frame["region_code"].dropna()}
    absent_label = label("no_customers" if absent == "no_customers" else "no_data", lang)
    for row in outlines.to_dict("records"):
        code = row.get("region_code", row.get("iso3"))
        if code in matched or row["geometry"] is None:
            continue
        if lang == "en" and isinstance(row.get("region_en"), str):
            name = row["region_en"]
        else:
            name = region_names([row["region"]], lang)[0]
        if absent == "no_customers":
            style = {"fillColor": NO_CUSTOMERS_COLOR, "color": "#777777", "weight": 1,
                     "dashArray": "4 3", "fillOpacity": 0.8,
                     "className": "wb-region wb-no_customers"}
        else:
            style = {"fillColor": NO_DATA_COLOR, "color": "#aaaaaa", "weight": 0.8,
                     "dashArray": "1 3", "fillOpacity": 0.4,
                     "className": "wb-region wb-no_data"}
        features.append({"geometry": row["geometry"], "style": style, "code": code,
                         "tip": f"<b>{escape(name)}</b><br>{escape(absent_label)}"})
    shapes = pd.DataFrame(features, columns=["geometry", "style", "tip", "code"])
    collection = boundaries.feature_collection(shapes, ["style", "tip", "code"],
                                               transform=projection.transform)
    layer_name = label("filled_regions", lang).format(value=label(value, lang))
    layer = _RegionLayer(collection, layer_name)
    if layer.features:
        layer.add_to(m)

    # Circles where a region has no outline (US states, a city merged away ...).
    no_outline = frame.assign(_fill=fill)[frame["geometry"].isna()]
    if "lat" in no_outline.columns and "lon" in no_outline.columns:
        located, skipped = _coords(no_outline)
    else:
        located, skipped = no_outline.iloc[:0], len(no_outline)
    circle_bounds = None
    if len(located):
        group = folium.FeatureGroup(name=label("graduated", lang), overlay=True)
        lat, lon = projection.points(located["lat"], located["lon"])
        top = float(values.clip(lower=0).max()) if values.notna().any() else 0.0
        _add_bubbles(group, located.assign(lat=lat, lon=lon), value=value, lang=lang,
                     colors=list(located["_fill"]), top=top)
        group.add_to(m)
        circle_bounds = _point_bounds(lat, lon)
    folium.LayerControl(collapsed=False).add_to(m)

    # Bounds: the regions of the table (outlines and circles), else every outline.
    in_table = shapes[shapes["code"].isin(matched)] if matched else shapes
    shape_bounds = None
    if len(in_table):
        # The main part of each region: far-off islets would zoom the map out.
        b = np.array([_main_part(g).bounds for g in in_table["geometry"]])
        lat, lon = projection.points([b[:, 1].min(), b[:, 3].max()],
                                     [b[:, 0].min(), b[:, 2].max()])
        shape_bounds = (lon[0], lat[0], lon[1], lat[1])
    _fit(m, _union_bounds(shape_bounds, circle_bounds))

    rows = []
    formatted = [format_value(e, value, lang) for e in edges]
    for k, color in enumerate(colors):
        if len(edges) == 0:
            text = label("legend_any", lang)
        elif k == 0:
            text = f"&lt; {escape(formatted[0])}"
        elif k == len(edges):
            text = f"≥ {escape(formatted[-1])}"
        else:
            text = f"{escape(formatted[k - 1])} – {escape(formatted[k])}"
        rows.append((color, "solid", text))
    rows.append((NO_CUSTOMERS_COLOR, "dashed", escape(label("legend_no_customers", lang))))
    if absent == "no_data" and len(shapes) > len(in_table):
        rows.append((NO_DATA_COLOR, "dotted", escape(label("legend_no_data", lang))))
    _legend(m, escape(label(value, lang)), rows)

    notes = [label("region_caption", lang).format(value=label(value, lang), k=len(colors))]
    if len(located):
        notes.append(label("circles_note", lang).format(n=len(located)))
    if skipped:
        notes.append(label("skipped_regions", lang).format(n=skipped))
    _add_caption(m, escape(" ".join(notes)))
    m.region_features = layer.features
    m.graduated = len(located)
    m.skipped_points = skipped
    return m


# --------------------------------------------------------------------------- customers


class _PointData(folium.MacroElement):
    """Customer coordinates as one flat JS array (``[lat0, lon0, lat1, lon1, ...]``),
    shared by the cluster and heat layers, and optional escaped tooltip texts."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = {{ this.coords_js }};
        var {{ this.get_name() }}_tips = {{ this.tips_js }};
        {% endmacro %}
        """
    )

    def __init__(self, coords: np.ndarray, tips: list[str] | None):
        super().__init__()
        self._name = "PointData"
        self.coords_js = _js(coords.ravel().tolist())
        self.tips_js = "null" if tips is None else _js(tips)


class _ClusterLayer(JSCSSMixin, Layer):
    """All customers as circle markers in one leaflet.markercluster group, added in
    chunks by ``addLayers`` (fast for 100k points)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.markerClusterGroup({
            chunkedLoading: true, showCoverageOnHover: false, maxClusterRadius: 50});
        (function () {
            var d = {{ this.points.get_name() }}, tips = {{ this.points.get_name() }}_tips;
            var markers = new Array(d.length / 2);
            for (var i = 0; i < d.length; i += 2) {
                var marker = L.circleMarker([d[i], d[i + 1]], {radius: 5,
                    color: "{{ this.color }}", weight: 1, fillOpacity: 0.7});
                if (tips) { marker.bindTooltip(tips[i / 2]); }
                markers[i / 2] = marker;
            }
            {{ this.get_name() }}.addLayers(markers);
        })();
        {% endmacro %}
        """
    )
    default_js = [("markerclusterjs", "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/leaflet.markercluster.js")]
    default_css = [
        ("markerclustercss", "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.css"),
        ("markerclusterdefaultcss", "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.Default.css"),
    ]

    def __init__(self, points: _PointData, name: str, *, show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "ClusterLayer"
        self.points = points
        self.color = POINT_COLOR


class _HeatLayer(JSCSSMixin, Layer):
    """A leaflet.heat density layer of the same points."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var d = {{ this.points.get_name() }}, pts = new Array(d.length / 2);
            for (var i = 0; i < d.length; i += 2) { pts[i / 2] = [d[i], d[i + 1]]; }
            return L.heatLayer(pts, {radius: 14, blur: 16, minOpacity: 0.25, maxZoom: 10});
        })();
        {% endmacro %}
        """
    )
    default_js = [("leaflet-heat.js", "https://cdn.jsdelivr.net/gh/python-visualization/folium@main/folium/templates/leaflet_heat.min.js")]

    def __init__(self, points: _PointData, name: str, *, show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "HeatLayer"
        self.points = points


#: Most hexagons the hexagon layer draws; the H3 resolution is lowered until they fit.
MAX_HEXAGONS = 2000


#: Hexagons across the customers' extent: fine enough to show a pattern, coarse
#: enough to be seen at the zoom the map opens with.
HEXAGONS_ACROSS = 100


def hexagon_counts(lat, lon, *, max_cells: int = MAX_HEXAGONS,
                   resolutions: range | None = None) -> tuple[pd.DataFrame, int]:
    """Customers per H3 hexagon, at the finest resolution with at most ``max_cells`` cells.

    Parameters
    ----------
    lat, lon : array-like
        Point coordinates (degrees), already valid.
    max_cells : int
        Upper bound on occupied cells (keeps the page small at 100k customers).
    resolutions : range, optional
        H3 resolutions to try, finest first (7: edges of about 1.4 km, 2: about
        180 km). Default: from the finest whose edge is at least the extent's
        diagonal / :data:`HEXAGONS_ACROSS` (3 for China, 5 for Guangdong)
        down to 2.

    Returns
    -------
    (DataFrame, int)
        ``cell`` (H3 index), ``customers``, ``lat``/``lon`` (cell centre), sorted by
        ``customers`` descending; and the resolution used.
    """
    import h3

    lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
    if resolutions is None:
        diagonal = h3.great_circle_distance((lat.min(), lon.min()), (lat.max(), lon.max()),
                                            unit="km") if len(lat) else 0.0
        finest = next((r for r in range(7, 1, -1)
                       if h3.average_hexagon_edge_length(r, unit="km")
                       >= diagonal / HEXAGONS_ACROSS), 2)
        resolutions = range(finest, 1, -1)
    resolution = resolutions[-1]
    counts = pd.Series(dtype="int64")
    for resolution in resolutions:
        cells = [h3.latlng_to_cell(a, b, resolution) for a, b in zip(lat, lon, strict=True)]
        counts = pd.Series(cells, dtype=object).value_counts()
        if len(counts) <= max_cells:
            break
    centres = [h3.cell_to_latlng(c) for c in counts.index]
    frame = pd.DataFrame({"cell": counts.index.astype(str), "customers": counts.to_numpy(),
                          "lat": [c[0] for c in centres], "lon": [c[1] for c in centres]})
    return frame.sort_values(["customers", "cell"], ascending=[False, True],
                             ignore_index=True), resolution


def _hexagon_collection(hexagons: pd.DataFrame, projection: _Projection, lang: str) -> dict:
    """GeoJSON of the hexagons for :class:`_RegionLayer`, coloured in count classes."""
    import h3

    edges = _classes(hexagons["customers"].astype(float), len(PALETTE))
    colors = _palette(len(edges) + 1)
    shapes = pd.DataFrame({
        "geometry": [shapely.Polygon(np.round(np.array(h3.cell_to_boundary(cell))[:, ::-1], 3))
                     for cell in hexagons["cell"]],
        "style": [{"fillColor": colors[int(np.searchsorted(edges, n, side="right"))],
                   "fillOpacity": 0.7, "color": "#555555", "weight": 0.5,
                   "className": "wb-hexagon"} for n in hexagons["customers"]],
        "tip": [escape(label("hexagon_tip", lang).format(n=int(n)))
                for n in hexagons["customers"]],
    })
    return boundaries.feature_collection(shapes, ["style", "tip"],
                                         transform=projection.transform)


def customer_map(
    customers: pd.DataFrame,
    *,
    lang: str = "en",
    mask_pii: bool = True,
    tiles: str | None = "OpenStreetMap",
    outlines: pd.DataFrame | None = None,
    heat: bool = True,
    hexagons: bool = True,
) -> folium.Map:
    """Map of customer locations that scales to 100k customers.

    The coordinates are written once into the page as a flat array; one
    leaflet.markercluster layer (circle markers built in the browser and added in
    chunks) and one leaflet.heat layer are drawn from it, so the page grows by about
    15 bytes per customer and there is no Python object per marker.

    Parameters
    ----------
    customers : DataFrame
        Canonical customers table; needs ``lat`` and ``lon`` (WGS-84). Rows without
        valid coordinates are skipped and counted.
    lang : {"en", "zh"}, default "en"
        Language of layer names and caption.
    mask_pii : bool, default True
        When True the map holds coordinates only (no names or ids), rounded to 3
        decimals (~100 m, so a point does not give away a street address). When
        False the customer ``name`` (escaped) is a tooltip on each point and
        coordinates keep 5 decimals.
    tiles : str or None, default "OpenStreetMap"
        ``"OpenStreetMap"``, ``"amap"`` (points shifted to GCJ-02) or None.
    outlines : DataFrame, optional
        Region outlines (``helpers.geo.boundaries``) drawn as thin borders for context,
        in their own layer.
    heat : bool, default True
        Add the density (heat) layer.
    hexagons : bool, default True
        Add a layer (off until ticked) of customers counted per H3 hexagon
        (:func:`hexagon_counts`: at most :data:`MAX_HEXAGONS` cells), coloured in
        classes of about equal size: density without single points.

    Returns
    -------
    folium.Map
        ``m.skipped_points`` holds the number of customers left out for lack of
        coordinates; a caption on the map says the same. ``m.hexagons`` is the
        table of :func:`hexagon_counts` (empty without the layer) and
        ``m.hexagon_resolution`` its H3 resolution.
    """
    if "lat" not in customers.columns or "lon" not in customers.columns:
        raise KeyError("customer_map needs 'lat' and 'lon' columns")
    frame, skipped = _coords(customers)
    m, projection = _base_map(tiles)
    if outlines is not None and len(outlines):
        _add_borders(m, outlines, projection, lang)
    lat, lon = projection.points(frame["lat"], frame["lon"])
    digits = 3 if mask_pii else 5
    coords = np.round(np.column_stack([lat, lon]), digits)
    tips = None
    if not mask_pii and "name" in frame.columns:
        names = frame["name"].astype(object).where(frame["name"].notna(), "")
        tips = [escape(n) for n in names]
    if len(coords):
        points = _PointData(coords, tips)
        m.add_child(points)
        _ClusterLayer(points, label("customer_points", lang)).add_to(m)
        if heat:
            _HeatLayer(points, label("heatmap", lang)).add_to(m)
    m.hexagons, m.hexagon_resolution = pd.DataFrame(columns=["cell", "customers"]), None
    if hexagons and len(coords):
        m.hexagons, m.hexagon_resolution = hexagon_counts(frame["lat"], frame["lon"])
        _RegionLayer(_hexagon_collection(m.hexagons, projection, lang),
                     label("hexagons", lang), show=False).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    _fit(m, _point_bounds(lat, lon))
    _add_caption(m, escape(label("points_caption", lang).format(n=len(coords), skipped=skipped)))
    m.skipped_points = skipped
    return m


# The architecture page names the bubble map after provinces; both names work.
province_bubble_map = region_bubble_map
