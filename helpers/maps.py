"""Step 3 maps (folium): region bubbles and customer points.

Functions return the folium Map and never change their input. Every string that
comes from the data is escaped before it reaches a tooltip, popup or caption:
folium inserts tooltip text into a JavaScript template literal and Leaflet shows it
as HTML, so both HTML (``<``, ``&``, quotes) and template-literal syntax (backtick,
``${``, backslash) are neutralised by :func:`escape`.

``tiles=None`` gives a map without a base layer, for offline reports.
"""

from __future__ import annotations

import html
import math

import folium
import numpy as np
import pandas as pd
from folium.plugins import FastMarkerCluster, HeatMap

from helpers.labels import format_value, label, region_label

CHINA_CENTER = (35.0, 105.0)
MIN_RADIUS = 4.0
MAX_RADIUS = 30.0
BUBBLE_COLOR = "#1f77b4"
BLANK_COLOR = "#808080"

_JS_LITERAL = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;"})


def escape(text: object) -> str:
    """Escape data text for HTML inside folium tooltips and popups.

    Parameters
    ----------
    text : object
        Any value; converted with ``str``.

    Returns
    -------
    str
        ``html.escape(text, quote=True)`` with backtick, ``$`` and backslash also
        turned into character references, so the text can neither open a tag nor
        break out of the JavaScript template literal folium wraps it in.
    """
    return html.escape(str(text), quote=True).translate(_JS_LITERAL)


def _base_map(tiles: str | None, center=CHINA_CENTER) -> folium.Map:
    return folium.Map(location=list(center), zoom_start=4, tiles=tiles, control_scale=True)


def _fit(m: folium.Map, lats: pd.Series, lons: pd.Series) -> None:
    if len(lats):
        m.fit_bounds([[lats.min(), lons.min()], [lats.max(), lons.max()]])


def _add_caption(m: folium.Map, text: str) -> None:
    """A small fixed box at the bottom left of the map (text must be escaped)."""
    box = (
        '<div class="map-caption" style="position:absolute;bottom:24px;left:10px;'
        "z-index:1000;background:rgba(255,255,255,0.85);padding:4px 8px;"
        f'font:12px sans-serif;border-radius:4px;">{text}</div>'
    )
    m.get_root().html.add_child(folium.Element(box))


def _coords(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Rows with finite, in-range lat/lon (new 0..n-1 index) and the number left out."""
    lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    kept = frame.iloc[np.flatnonzero(ok)].reset_index(drop=True).assign(lat=lat[ok], lon=lon[ok])
    return kept, int((~ok).sum())


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
        folium tile layer name; None gives a map without tiles (offline).

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
    names = region_label(frame, lang)
    customers = pd.to_numeric(frame["customers"], errors="coerce").fillna(0)
    sizes = pd.to_numeric(frame[value], errors="coerce").fillna(0).clip(lower=0)
    top = float(sizes.max()) if len(sizes) else 0.0
    shown = [c for c in ("customers", "revenue", "share", "growth_yoy") if c in frame.columns]
    if value not in shown:
        shown.append(value)

    m = _base_map(tiles)
    for i, row in enumerate(frame.to_dict("records")):
        name = escape(names.iloc[i])
        location = [row["lat"], row["lon"]]
        if customers.iloc[i] <= 0:
            tip = f"<b>{name}</b><br>{escape(label('no_customers', lang))}"
            folium.CircleMarker(
                location,
                radius=MIN_RADIUS,
                color=BLANK_COLOR,
                weight=1.5,
                fill=False,
                tooltip=folium.Tooltip(tip),
            ).add_to(m)
            continue
        radius = MIN_RADIUS
        if top > 0:
            radius += (MAX_RADIUS - MIN_RADIUS) * math.sqrt(float(sizes.iloc[i]) / top)
        lines = [f"<b>{name}</b>"] + [
            f"{escape(label(c, lang))}: {escape(format_value(row[c], c, lang))}" for c in shown
        ]
        folium.CircleMarker(
            location,
            radius=round(radius, 2),
            color=BUBBLE_COLOR,
            weight=1,
            fill=True,
            fill_color=BUBBLE_COLOR,
            fill_opacity=0.5,
            tooltip=folium.Tooltip("<br>".join(lines)),
        ).add_to(m)
    _fit(m, frame["lat"], frame["lon"])
    _add_caption(m, escape(label("bubble_caption", lang).format(value=label(value, lang))))
    m.skipped_points = skipped
    return m


_NAMED_POINT = """function (row) {
    var marker = L.circleMarker(new L.LatLng(row[0], row[1]),
        {radius: 5, color: "#3186cc", weight: 1, fillOpacity: 0.7});
    if (row.length > 2) { marker.bindTooltip(row[2]); }
    return marker;
}"""


def customer_map(
    customers: pd.DataFrame,
    *,
    lang: str = "en",
    mask_pii: bool = True,
    tiles: str | None = "OpenStreetMap",
) -> folium.Map:
    """Map of customer locations that scales to 100k customers.

    Points go into one :class:`folium.plugins.FastMarkerCluster` (rendered in the
    browser from a plain list, not one Python marker per customer) and a
    :class:`folium.plugins.HeatMap` layer; a LayerControl switches between them.

    Parameters
    ----------
    customers : DataFrame
        Canonical customers table; needs ``lat`` and ``lon``. Rows without valid
        coordinates are skipped and counted.
    lang : {"en", "zh"}, default "en"
        Language of layer names and caption.
    mask_pii : bool, default True
        When True the map holds coordinates only (no names or ids). When False the
        customer ``name`` (escaped) is shown as a tooltip on each point.
    tiles : str or None, default "OpenStreetMap"
        folium tile layer name; None gives a map without tiles (offline).

    Returns
    -------
    folium.Map
        ``m.skipped_points`` holds the number of customers left out for lack of
        coordinates; a caption on the map says the same.
    """
    if "lat" not in customers.columns or "lon" not in customers.columns:
        raise KeyError("customer_map needs 'lat' and 'lon' columns")
    frame, skipped = _coords(customers)
    points = np.round(frame[["lat", "lon"]].to_numpy(dtype=float), 6).tolist()
    if not mask_pii and "name" in frame.columns:
        names = frame["name"].astype(object).where(frame["name"].notna(), "")
        points = [[*p, escape(n)] for p, n in zip(points, names, strict=True)]

    m = _base_map(tiles)
    if points:
        FastMarkerCluster(
            points, callback=_NAMED_POINT, name=label("customer_points", lang)
        ).add_to(m)
        HeatMap([p[:2] for p in points], name=label("heatmap", lang), show=False, radius=12).add_to(
            m
        )
    folium.LayerControl(collapsed=False).add_to(m)
    _fit(m, frame["lat"], frame["lon"])
    _add_caption(m, escape(label("points_caption", lang).format(n=len(points), skipped=skipped)))
    m.skipped_points = skipped
    return m


# The architecture page names the bubble map after provinces; both names work.
province_bubble_map = region_bubble_map
