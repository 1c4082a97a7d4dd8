"""The customer map: every customer as a point, their density, customers per hexagon.

It scales to 100k customers: the coordinates are written once into the page as a
flat array; one leaflet.markercluster layer (circle markers built in the browser and
added in chunks) and one leaflet.heat layer are drawn from it, so the page grows by
about 15 bytes per customer and there is no Python object per marker. Beyond
:data:`MAX_POINTS` customers the points are merged on a grid (:func:`grid_points`: one
point per occupied cell, carrying its count of customers), so the page stays within the
report's size budget at a million customers; the caption says so.
"""

from __future__ import annotations

import folium
import numpy as np
import pandas as pd
import shapely

from helpers.geo import boundaries
from helpers.text.lookup import label
from helpers.text.markup import html_text
from helpers.viz.maps.area import CHINA, MapArea
from helpers.viz.maps.base import (
    CustomerMapResult,
    Projection,
    add_borders,
    add_caption,
    base_map,
    fit,
    located,
    point_bounds,
)
from helpers.viz.maps.classes import PALETTE, class_colors, value_classes
from helpers.viz.maps.elements import ClusterLayer, HeatLayer, PointData, RegionLayer

#: Most hexagons the hexagon layer draws; the H3 resolution is lowered until they fit.
MAX_HEXAGONS = 2000


#: Most points the customer map draws one by one (about 15 bytes each in the page): beyond
#: it customers are merged per grid cell (:func:`grid_points`), so a report stays under
#: 5 MB at a million customers.
MAX_POINTS = 150_000

#: Grid steps (degrees) tried, finest first, when there are more than :data:`MAX_POINTS`
#: customers: 0.001 degree is about 100 m, 0.1 degree about 11 km.
GRID_STEPS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)

#: Kilometres per degree of latitude (for saying the grid step in words).
KM_PER_DEGREE = 111.32


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


def grid_points(lat, lon, *, max_points: int = MAX_POINTS,
                steps: tuple[float, ...] = GRID_STEPS) -> tuple[pd.DataFrame, float | None]:
    """Customers merged per grid cell, on the finest grid with at most ``max_points`` cells.

    Parameters
    ----------
    lat, lon : array-like
        Point coordinates (degrees), already valid.
    max_points : int
        Most cells (points drawn) allowed.
    steps : tuple of float
        Grid steps in degrees, finest first; when none fits, the last is doubled until
        one does.

    Returns
    -------
    (DataFrame, float or None)
        One row per occupied cell: ``lat``/``lon`` (the mean position of its customers)
        and ``customers``, in cell order; and the step used. When there are at most
        ``max_points`` customers nothing is merged: one row per customer (count 1) and
        step None.
    """
    lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
    if len(lat) <= max_points:
        return pd.DataFrame({"lat": lat, "lon": lon,
                             "customers": np.ones(len(lat), dtype=np.int64)}), None
    def cells_of(step: float) -> tuple[np.ndarray, np.ndarray]:
        row = np.floor((lat + 90.0) / step).astype(np.int64)
        col = np.floor((lon + 180.0) / step).astype(np.int64)
        return np.unique(row * (int(360.0 / step) + 2) + col, return_inverse=True)

    step = steps[0]
    for step in steps:
        cells, group = cells_of(step)
        if len(cells) <= max_points:
            break
    while len(cells) > max_points:          # past the last step: coarser until it fits
        step *= 2
        cells, group = cells_of(step)
    count = np.bincount(group)
    frame = pd.DataFrame({"lat": np.bincount(group, weights=lat) / count,
                          "lon": np.bincount(group, weights=lon) / count,
                          "customers": count.astype(np.int64)})
    return frame, step


def _hexagon_collection(hexagons: pd.DataFrame, projection: Projection, lang: str) -> dict:
    """GeoJSON of the hexagons for :class:`RegionLayer`, coloured in count classes."""
    import h3

    edges = value_classes(hexagons["customers"].astype(float), len(PALETTE))
    colors = class_colors(len(edges) + 1)
    shapes = pd.DataFrame({
        "geometry": [shapely.Polygon(np.round(np.array(h3.cell_to_boundary(cell))[:, ::-1], 3))
                     for cell in hexagons["cell"]],
        "style": [{"fillColor": colors[int(np.searchsorted(edges, n, side="right"))],
                   "fillOpacity": 0.7, "color": "#555555", "weight": 0.5,
                   "className": "wb-hexagon"} for n in hexagons["customers"]],
        "tip": [html_text(label("hexagon_tip", lang).format(n=int(n)))
                for n in hexagons["customers"]],
    })
    return boundaries.feature_collection(shapes, ["style", "tip"],
                                         transform=projection.transform)


def customer_map(
    customers: pd.DataFrame,
    *,
    area: MapArea = CHINA,
    lang: str = "en",
    mask_pii: bool = True,
    borders: bool = True,
    heat: bool = True,
    hexagons: bool = True,
    max_points: int = MAX_POINTS,
) -> CustomerMapResult:
    """Map of customer locations that scales to 100k customers.

    Parameters
    ----------
    customers : DataFrame
        Canonical customers table; needs ``lat`` and ``lon`` (WGS-84). Rows without
        valid coordinates are skipped and counted.
    area : MapArea, default :data:`~helpers.viz.maps.area.CHINA`
        What the map shows (:meth:`MapArea.of` a report's scope and config): its
        ``tiles`` are the base map (``"amap"``: points shifted to GCJ-02) and its
        :meth:`MapArea.borders` (provinces, a province's cities, or the country
        where no outlines exist) are drawn beneath the points.
    lang : {"en", "zh"}, default "en"
        Language of layer names and caption.
    mask_pii : bool, default True
        When True the map holds coordinates only (no names or ids), rounded to 3
        decimals (~100 m, so a point does not give away a street address). When
        False the customer ``name`` (escaped) is a tooltip on each point and
        coordinates keep 5 decimals.
    borders : bool, default True
        Draw the area's borders, thin and in their own layer, for orientation.
    heat : bool, default True
        Add the density (heat) layer.
    hexagons : bool, default True
        Add a layer (off until ticked) of customers counted per H3 hexagon
        (:func:`hexagon_counts`: at most :data:`MAX_HEXAGONS` cells), coloured in
        classes of about equal size: density without single points.
    max_points : int, default :data:`MAX_POINTS`
        Most points drawn one by one; beyond it customers are merged on a grid
        (:func:`grid_points`).

    Returns
    -------
    CustomerMapResult
        The map; ``skipped`` is the number of customers left out for lack of
        coordinates (a caption on the map says the same); ``hexagons`` the table
        of :func:`hexagon_counts` (empty without the layer) and ``resolution`` its
        H3 resolution; ``grid_step`` the grid (degrees) customers were merged on
        beyond :data:`MAX_POINTS` (None: every customer is its own point; when merged,
        names are not shown and each point's tooltip gives its count).
    """
    if "lat" not in customers.columns or "lon" not in customers.columns:
        raise KeyError("customer_map needs 'lat' and 'lon' columns")
    frame, skipped = located(customers)
    m, projection = base_map(area.tiles)
    if borders:
        outlines = area.borders()
        if len(outlines):
            add_borders(m, outlines, projection, lang)
    lat, lon = projection.points(frame["lat"], frame["lon"])
    drawn, step = grid_points(lat, lon, max_points=max_points)
    digits = 3 if mask_pii else 5
    coords = np.round(drawn[["lat", "lon"]].to_numpy(), digits)
    tips, weights = None, None
    if step is not None:
        weights = drawn["customers"].to_numpy()
    elif not mask_pii and "name" in frame.columns:
        names = frame["name"].astype(object).where(frame["name"].notna(), "")
        tips = [html_text(n) for n in names]
    if len(coords):
        points = PointData(coords, tips, weights, label("place_tip", lang))
        m.add_child(points)
        ClusterLayer(points, label("customer_points", lang)).add_to(m)
        if heat:
            HeatLayer(points, label("heatmap", lang)).add_to(m)
    cells, resolution = pd.DataFrame(columns=["cell", "customers"]), None
    if hexagons and len(coords):
        cells, resolution = hexagon_counts(frame["lat"], frame["lon"])
        RegionLayer(_hexagon_collection(cells, projection, lang),
                    label("hexagons", lang), show=False).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    fit(m, point_bounds(lat, lon))
    caption = label("points_caption", lang).format(n=len(frame), skipped=skipped)
    if step is not None:
        caption += label("points_grid_caption", lang).format(
            places=len(drawn), km=max(0.1, round(step * KM_PER_DEGREE, 1)))
    add_caption(m, html_text(caption))
    return CustomerMapResult(m, skipped, hexagons=cells, resolution=resolution, grid_step=step)
