"""What every map is built from, and what the map functions return.

The base map and its tiles, the projection from WGS-84 (the tables) to the tiles'
coordinates, bounds, the caption and legend boxes, thin borders for orientation; and
:class:`MapResult`, the map with what was drawn on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import folium
import numpy as np
import pandas as pd

from helpers.geo import boundaries, coords
from helpers.text.lookup import label
from helpers.viz.assets import OfflineMap, RawHTML
from helpers.viz.maps.elements import FitBounds, RegionLayer

CHINA_CENTER = (35.0, 105.0)

AMAP_TILES = ("https://webrd0{s}.is.autonavi.com/appmaptile?"
              "lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}")


# --------------------------------------------------------------------------- results


#: folium's hint for untrusted notebooks, behind every map's iframe.
_TRUST_NOTE = re.compile(r'<span style="color:#565656">Make this Notebook Trusted[^<]*</span>')


@dataclass(frozen=True, repr=False)
class MapResult:
    """A map and what was left off it; in a notebook it displays as the map.

    Attributes
    ----------
    map : folium.Map
        The map (an :class:`helpers.viz.assets.OfflineMap`): ``result.map.save(path)``.
    skipped : int
        Rows left out because they could not be placed (no valid coordinates, and
        for a region no outline either).
    """

    map: folium.Map
    skipped: int

    def _repr_html_(self) -> str:
        # folium puts "Make this Notebook Trusted ..." behind the map's iframe: not for a report
        return _TRUST_NOTE.sub("", self.map._repr_html_())

    def __repr__(self) -> str:
        facts = ", ".join(f"{name}={self._fact(name)}" for name in self.__dataclass_fields__
                          if name != "map")
        return f"{type(self).__name__}({facts})"

    def _fact(self, name: str) -> object:
        value = getattr(self, name)
        if isinstance(value, pd.DataFrame):
            return f"<{len(value)} rows>"
        return f"<{len(value)} names>" if isinstance(value, tuple) else value


@dataclass(frozen=True, repr=False)
class RegionMapResult(MapResult):
    """:class:`MapResult` of a filled region map.

    Attributes
    ----------
    features : int
        Outlines drawn (regions of the table and the absent ones around them).
    graduated : int
        Circles drawn for regions of the table without an outline.
    labels : tuple of str
        The region names written on the map (escaped HTML), most important first.
    """

    features: int
    graduated: int
    labels: tuple[str, ...] = ()


@dataclass(frozen=True, repr=False)
class CustomerMapResult(MapResult):
    """:class:`MapResult` of a customer map.

    Attributes
    ----------
    hexagons : DataFrame
        Customers per H3 hexagon (:func:`helpers.viz.maps.points.hexagon_counts`);
        empty without the hexagon layer.
    resolution : int or None
        The hexagons' H3 resolution (None without the layer).
    grid_step : float or None
        The grid (degrees) customers were merged on (None: one point per customer).
    """

    hexagons: pd.DataFrame
    resolution: int | None
    grid_step: float | None = None


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


class Projection:
    """WGS-84 (the tables) to the tiles' coordinates: unchanged, or GCJ-02 for AMap."""

    def __init__(self, gcj: bool):
        self.gcj = gcj

    def points(self, lat, lon) -> tuple[np.ndarray, np.ndarray]:
        """Latitudes and longitudes in the tiles' coordinates."""
        lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
        if not self.gcj:
            return lat, lon
        return coords.wgs84_to_gcj02(lat, lon)

    @property
    def transform(self):
        """``f(lon, lat)`` for :func:`helpers.geo.boundaries.feature_collection` (or None)."""
        return boundaries.to_gcj02 if self.gcj else None


def base_map(tiles: str | None, center=CHINA_CENTER) -> tuple[OfflineMap, Projection]:
    """An offline map on ``tiles`` (see :class:`helpers.viz.maps.area.MapArea`) and the
    projection its layers are drawn in."""
    layer, gcj = _tiles(tiles)
    m = OfflineMap(location=list(center), zoom_start=4, tiles=None, control_scale=True)
    m.options["maxZoom"] = 18  # markercluster needs it even without tiles
    m.options["zoomSnap"] = 0.25  # fitted bounds fill a small (phone) frame closely
    if layer is not None:
        layer.add_to(m)
    return m, Projection(gcj)


# --------------------------------------------------------------------------- bounds


def fit(m: folium.Map, bounds: tuple[float, float, float, float] | None) -> None:
    """Fit to ``(min_lon, min_lat, max_lon, max_lat)`` when there is anything to fit."""
    if bounds is None or not all(np.isfinite(bounds)):
        return
    min_lon, min_lat, max_lon, max_lat = (float(v) for v in bounds)
    m.add_child(FitBounds([[min_lat, min_lon], [max_lat, max_lon]]))


def point_bounds(lats, lons) -> tuple[float, float, float, float] | None:
    """``(min_lon, min_lat, max_lon, max_lat)`` of points (None: no points)."""
    lats, lons = np.asarray(lats, dtype=float), np.asarray(lons, dtype=float)
    if not len(lats):
        return None
    return float(lons.min()), float(lats.min()), float(lons.max()), float(lats.max())


def union_bounds(*bounds):
    """The bounds holding every given bounds (None ones ignored; None: none given)."""
    found = [b for b in bounds if b is not None]
    if not found:
        return None
    return (min(b[0] for b in found), min(b[1] for b in found),
            max(b[2] for b in found), max(b[3] for b in found))


def main_part(geometry):
    """The largest polygon of a (multi)polygon."""
    parts = list(getattr(geometry, "geoms", [geometry]))
    return max(parts, key=lambda g: g.area)


def located(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Rows with finite, in-range ``lat``/``lon`` (new 0..n-1 index) and the number left out."""
    lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    kept = frame.iloc[np.flatnonzero(ok)].reset_index(drop=True).assign(lat=lat[ok], lon=lon[ok])
    return kept, int((~ok).sum())


# --------------------------------------------------------------------------- boxes, borders


def add_caption(m: folium.Map, text: str) -> None:
    """A small fixed box at the bottom left of the map (``text`` must be escaped)."""
    box = (
        '<div class="map-caption" tabindex="0" style="position:absolute;bottom:48px;left:10px;'
        "z-index:1000;background:rgba(255,255,255,0.85);padding:4px 8px;max-width:60%;"
        f'font:12px sans-serif;border-radius:4px;">{text}</div>'
    )
    m.get_root().html.add_child(RawHTML(box))


def add_legend(m: folium.Map, title: str, rows: list[tuple[str, str, str]]) -> None:
    """Legend box at the bottom right: (fill colour, border style, escaped text) rows."""
    items = "".join(
        f'<div style="display:flex;align-items:center;gap:6px;margin:2px 0;">'
        f'<span style="display:inline-block;width:16px;height:12px;background:{fill};'
        f'border:1px {border} #666;"></span><span>{text}</span></div>'
        for fill, border, text in rows
    )
    box = (
        '<div class="wb-legend" tabindex="0" style="position:absolute;bottom:24px;right:10px;z-index:1000;'
        "background:rgba(255,255,255,0.9);padding:6px 10px;font:12px sans-serif;"
        f'border-radius:4px;box-shadow:0 1px 3px rgba(0,0,0,.3);"><b>{title}</b>{items}</div>'
    )
    m.get_root().html.add_child(RawHTML(box))


def add_borders(m: folium.Map, outlines: pd.DataFrame, projection: Projection,
                lang: str) -> None:
    """Thin, non-interactive borders of ``outlines`` in their own layer (orientation)."""
    style = {"color": "#777777", "weight": 0.8, "fill": False, "interactive": False,
             "className": "wb-outline"}
    collection = boundaries.feature_collection(
        outlines.assign(style=[style] * len(outlines)), ["style"],
        transform=projection.transform)
    level = str(outlines["level"].iloc[0]) if "level" in outlines.columns else ""
    RegionLayer(collection, label(f"borders_{level}" if level else "borders", lang)).add_to(m)

