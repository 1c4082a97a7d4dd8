"""Region maps: filled regions coloured by a KPI, and graduated circles.

:func:`region_map` fills each region's outline in colour classes and draws a circle
where a region has no outline; :func:`region_bubble_map` draws one circle per region.
"""

from __future__ import annotations

import math

import folium
import numpy as np
import pandas as pd

from helpers.geo import boundaries
from helpers.text.format import format_value
from helpers.text.lookup import join, label, lang_code, region_label, region_names, text
from helpers.text.markup import html_text
from helpers.viz.assets import RawHTML
from helpers.viz.maps.area import CHINA, MapArea
from helpers.viz.maps.base import (
    MapResult,
    RegionMapResult,
    add_borders,
    add_caption,
    add_legend,
    base_map,
    fit,
    located,
    main_part,
    point_bounds,
    union_bounds,
)
from helpers.viz.maps.classes import class_colors, class_legend, value_classes
from helpers.viz.maps.elements import LABEL_CSS, LabelLayer, RegionLayer

MIN_RADIUS = 4.0
MAX_RADIUS = 30.0
BUBBLE_COLOR = "#1f77b4"
BLANK_COLOR = "#808080"
NO_CUSTOMERS_COLOR = "#d0d0d0"
NO_DATA_COLOR = "#ffffff"
#: What an outline without a KPI row may mean (``absent``), each the catalog label of its
#: tooltip and legend.
ABSENT_LABELS = ("no_customers", "no_data", "outside_report")
TOOLTIP_COLUMNS = ("customers", "active_customers", "revenue", "share", "growth_yoy",
                   "gap_ratio")


def _require(kpis: pd.DataFrame, *columns: str) -> None:
    missing = [c for c in columns if c not in kpis.columns]
    if missing:
        raise KeyError(f"missing column(s) {missing}; have {list(kpis.columns)}")


def _tooltip(name: str, row: dict, columns: list[str], lang: str) -> str:
    lines = [f"<b>{html_text(name)}</b>"] + [
        f"{html_text(label(c, lang))}: {html_text(format_value(row.get(c), c, lang))}"
        for c in columns
    ]
    return "<br>".join(lines)


def _tooltip_columns(frame: pd.DataFrame, value: str) -> list[str]:
    shown = [c for c in TOOLTIP_COLUMNS if c in frame.columns]
    return shown if value in shown else [*shown, value]


def _radius(value: float, top: float) -> float:
    if top <= 0 or not np.isfinite(value) or value <= 0:
        return MIN_RADIUS
    return round(MIN_RADIUS + (MAX_RADIUS - MIN_RADIUS) * math.sqrt(value / top), 2)


# --------------------------------------------------------------------------- bubbles


def region_bubble_map(
    kpis: pd.DataFrame,
    *,
    value: str = "revenue",
    area: MapArea = CHINA,
    lang: str = "en",
) -> MapResult:
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
    area : MapArea, default :data:`~helpers.viz.maps.area.CHINA`
        Its ``tiles`` are the base map (``"amap"``: points shifted to GCJ-02).
    lang : {"en", "zh"}, default "en"
        Language of names and labels.

    Returns
    -------
    MapResult
        The map, with the circles, bounds fitted to them and a caption explaining
        the size; ``skipped`` is the number of rows left out for lack of coordinates.
    """
    _require(kpis, "lat", "lon", "customers", value)
    frame, skipped = located(kpis)
    m, projection = base_map(area.tiles)
    lat, lon = projection.points(frame["lat"], frame["lon"])
    _add_bubbles(m, frame.assign(lat=lat, lon=lon), value=value, lang=lang)
    fit(m, point_bounds(lat, lon))
    add_caption(m, html_text(label("bubble_caption", lang).format(value=label(value, lang))))
    return MapResult(m, skipped)


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
    shown = _tooltip_columns(frame, value)
    for i, row in enumerate(frame.to_dict("records")):
        location = [row["lat"], row["lon"]]
        if customers.iloc[i] <= 0:
            tip = f"<b>{html_text(names.iloc[i])}</b><br>{html_text(label('no_customers', lang))}"
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


def region_map(
    kpis: pd.DataFrame,
    *,
    value: str = "revenue",
    area: MapArea = CHINA,
    outlines: pd.DataFrame | None = None,
    absent: str | None = None,
    classes: int = 5,
    label_top: int = 5,
    label_blank: int = 8,
    lang: str = "en",
) -> RegionMapResult:
    """Filled map of regions coloured by ``value``, with circles where no outline exists.

    Parameters
    ----------
    kpis : DataFrame
        Region KPI table (``helpers.analysis.kpis.region_kpis``): ``region``, ``region_en``,
        ``level``, ``lat``, ``lon``, ``customers`` and ``value``; the tooltip shows
        customers, active customers, revenue, share, YoY growth and the gap ratio
        when present.
    value : str, default "revenue"
        Column that colours the regions, in ``classes`` classes of about equal
        size (quantiles of the positive values; zero and negative values fall in
        the first class).
    area : MapArea, default :data:`~helpers.viz.maps.area.CHINA`
        What the map shows (:meth:`MapArea.of` a report's scope and config): the
        outlines come from :meth:`MapArea.outlines` for the table's ``level``
        (a province's cities for a city map); where the area has none (states
        outside China), its country's outline is drawn as thin borders beneath
        the circles, for orientation; ``tiles`` is the base map.
    outlines : DataFrame, optional
        Outlines to fill instead of the area's (``helpers.geo.boundaries`` columns).
    absent : {"no_customers", "no_data", "outside_report"}, optional
        What an outline without a KPI row means: a region with no customers (default
        for cities: the KPI table lists only cities with customers), a region
        outside the market (default otherwise: Hong Kong, Macao, Taiwan, provinces
        outside a territory) or, drawn alike but named so, a region outside this
        report (default in a city report: the other cities around its city).
    classes : int, default 5
        Number of colour classes.
    label_top, label_blank : int, default 5 and 8
        Regions named on the map by a permanent label: the ``label_top`` largest by
        ``value`` and the first ``label_blank`` regions without customers (the
        table's, largest population first when it has ``population_10k``, then the
        outlines without a row when ``absent`` is ``no_customers``). A label that
        would cover another is hidden until the map is zoomed in. The caption
        names the three largest with their share, and the regions without
        customers (at most ``label_blank``, then "and n more").
    lang : {"en", "zh"}
        Language of names, legend, tooltips and captions.

    Returns
    -------
    RegionMapResult
        The map: the filled regions (one GeoJSON layer; grey dashed for no
        customers, white for no data) and, when some regions have no outline,
        graduated circles at their centroids; region labels; a legend, a caption, a
        layer control and bounds fitted to the regions of the table. ``features``
        is the number of outlines drawn, ``graduated`` the number of circles,
        ``skipped`` the rows with neither outline nor coordinates and ``labels``
        the names written on the map.
    """
    _require(kpis, "region", "customers", value)
    levels = kpis["level"].dropna().unique() if "level" in kpis.columns else []
    level = str(levels[0]) if len(levels) else "province"
    if outlines is None:
        outlines = area.outlines(level)
    if absent is None:  # a city report's neighbours are outside it, not without customers
        absent = ("outside_report" if area.city is not None
                  else "no_customers" if level == "city" else "no_data")
    if absent not in ABSENT_LABELS:
        raise ValueError(f"absent must be one of {', '.join(ABSENT_LABELS)}, got {absent!r}")

    frame = boundaries.attach_outlines(kpis.reset_index(drop=True), outlines)
    values = pd.to_numeric(frame[value], errors="coerce")
    customers = pd.to_numeric(frame["customers"], errors="coerce").fillna(0)
    edges = value_classes(values[customers > 0], classes)
    colors = class_colors(len(edges) + 1)
    fill = [colors[k] for k in
            np.searchsorted(edges, values.fillna(0).to_numpy(dtype=float), side="right")]

    m, projection = base_map(area.tiles)
    if not len(outlines):
        add_borders(m, boundaries.country_outline(area.country), projection, lang)
    shapes = _region_shapes(frame, outlines, fill, customers, value=value, absent=absent,
                            lang=lang)
    collection = boundaries.feature_collection(shapes, ["style", "tip", "code"],
                                               transform=projection.transform)
    layer = RegionLayer(collection, label("filled_regions", lang).format(value=label(value, lang)))
    if layer.features:
        layer.add_to(m)

    # Circles where a region has no outline (US states, a city merged away ...).
    no_outline = frame.assign(_fill=fill)[frame["geometry"].isna()]
    if "lat" in no_outline.columns and "lon" in no_outline.columns:
        circles, skipped = located(no_outline)
    else:
        circles, skipped = no_outline.iloc[:0], len(no_outline)
    circle_bounds = None
    if len(circles):
        group = folium.FeatureGroup(name=label("graduated", lang), overlay=True)
        lat, lon = projection.points(circles["lat"], circles["lon"])
        top = float(values.clip(lower=0).max()) if values.notna().any() else 0.0
        _add_bubbles(group, circles.assign(lat=lat, lon=lon), value=value, lang=lang,
                     colors=list(circles["_fill"]), top=top)
        group.add_to(m)
        circle_bounds = point_bounds(lat, lon)
    folium.LayerControl(collapsed=False).add_to(m)

    # Bounds: the regions of the table (outlines and circles), else every outline.
    matched = set(frame["region_code"].dropna())
    in_table = shapes[shapes["code"].isin(matched)] if matched else shapes
    fit(m, union_bounds(_shape_bounds(in_table, projection), circle_bounds))

    rows = class_legend(edges, colors, value, lang)
    rows.append((NO_CUSTOMERS_COLOR, "dashed", html_text(label("legend_no_customers", lang))))
    if absent != "no_customers" and len(shapes) > len(in_table):
        rows.append((NO_DATA_COLOR, "dotted", html_text(label(f"legend_{absent}", lang))))
    add_legend(m, html_text(label(value, lang)), rows)

    top, blank = _named_regions(frame, outlines, values, customers, absent=absent, lang=lang)
    rows = [(*_label_point(row, projection), html_text(name), kind)
            for kind, chosen, n in (("top", top, label_top), ("blank", blank, label_blank))
            for name, row in chosen[:n]]
    rows = [r for r in rows if np.isfinite(r[0]) and np.isfinite(r[1])]
    if rows:
        m.get_root().html.add_child(RawHTML(LABEL_CSS))
        LabelLayer(rows).add_to(m)

    notes = [_finding(top, blank, values, customers, value=value, lang=lang,
                      limit=label_blank)]
    caption = "region_caption" if len(colors) > 1 else "region_caption_one"
    notes.append(label(caption, lang).format(value=label(value, lang), k=len(colors)))
    if len(circles):
        notes.append(label("circles_note", lang).format(n=len(circles)))
    if skipped:
        notes.append(label("skipped_regions", lang).format(n=skipped))
    gap = "" if lang_code(lang) == "zh" else " "  # Chinese sentences run on without spaces
    add_caption(m, html_text(gap.join(n for n in notes if n)))
    return RegionMapResult(m, skipped, features=layer.features, graduated=len(circles),
                           labels=tuple(name for _lat, _lon, name, _kind in rows))


def _named_regions(frame: pd.DataFrame, outlines: pd.DataFrame, values: pd.Series,
                   customers: pd.Series, *, absent: str, lang: str):
    """The regions a map names: the largest by value, then those without customers.

    Returns two lists of ``(display name, row)``: every region with customers,
    largest value first; every region without customers (the table's, largest
    population first, then the outlines without a row when they mean no customers).
    """
    names = region_label(frame, lang)
    order = values.where(customers > 0).dropna().sort_values(ascending=False, kind="stable")
    top = [(names.loc[i], frame.loc[i]) for i in order.index]
    empty = frame[customers <= 0]
    if "population_10k" in empty.columns:
        empty = empty.assign(_pop=pd.to_numeric(empty["population_10k"], errors="coerce"))
        empty = empty.sort_values("_pop", ascending=False, kind="stable", na_position="last")
    blank = [(names.loc[i], frame.loc[i]) for i in empty.index]
    if absent == "no_customers":
        matched = set(frame["region_code"].dropna())
        for row in outlines.to_dict("records"):
            code = row.get("region_code", row.get("iso3"))
            if code in matched or row.get("geometry") is None:
                continue
            if lang_code(lang) == "en" and isinstance(row.get("region_en"), str):
                name = row["region_en"]
            else:
                name = region_names([row["region"]], lang)[0]
            blank.append((name, pd.Series(row)))
    return top, blank


def _label_point(row: pd.Series, projection) -> tuple[float, float]:
    """Where a region's label goes (tiles' coordinates): inside its largest part,
    else at its ``lat``/``lon``."""
    geometry = row.get("geometry")
    if geometry is not None and not (isinstance(geometry, float) and np.isnan(geometry)):
        point = main_part(geometry).representative_point()
        lat, lon = point.y, point.x
    else:
        lat = pd.to_numeric(pd.Series([row.get("lat")]), errors="coerce").iloc[0]
        lon = pd.to_numeric(pd.Series([row.get("lon")]), errors="coerce").iloc[0]
    lat, lon = projection.points([lat], [lon])
    return float(lat[0]), float(lon[0])


def _finding(top, blank, values: pd.Series, customers: pd.Series, *, value: str, lang: str,
             limit: int) -> str:
    """The caption's first sentences: the three largest regions with their share of the
    total, and the regions without customers."""
    parts = []
    total = float(values.where(customers > 0).clip(lower=0).sum())
    if len(top) >= 2 and total > 0:
        first = top[:3]
        share = sum(max(float(values.loc[row.name]), 0.0) for _name, row in first) / total
        word = label(value, lang)
        word = word[0].lower() + word[1:] if lang_code(lang) == "en" else word
        parts.append(text("chart", "map_top", lang, names=join([n for n, _ in first], lang),
                          share=f"{share:.0%}", value=word))
    if blank:
        names = join([n for n, _ in blank[:limit]], lang)
        if len(blank) > limit:
            names = text("chart", "map_more", lang, names=names, n=len(blank) - limit)
        parts.append(text("chart", "map_blank", lang, names=names))
    return ("" if lang_code(lang) == "zh" else " ").join(parts)


def _region_shapes(frame: pd.DataFrame, outlines: pd.DataFrame, fill: list[str],
                   customers: pd.Series, *, value: str, absent: str,
                   lang: str) -> pd.DataFrame:
    """One row per outline to draw: ``geometry``, ``style``, ``tip`` (escaped), ``code``.

    The table's regions with an outline first (class colour, or grey dashed for no
    customers), then the outlines the table has no row for (``absent``).
    """
    names = region_label(frame, lang)
    shown = _tooltip_columns(frame, value)
    features = []
    for i, row in enumerate(frame.to_dict("records")):
        if row["geometry"] is None:
            continue
        if customers.iloc[i] <= 0:
            style = {"fillColor": NO_CUSTOMERS_COLOR, "color": "#777777", "weight": 1,
                     "dashArray": "4 3", "fillOpacity": 0.8}
            tip = f"<b>{html_text(names.iloc[i])}</b><br>{html_text(label('no_customers', lang))}"
            state = "no_customers"
        else:
            style = {"fillColor": fill[i], "color": "#555555", "weight": 1, "fillOpacity": 0.8}
            tip = _tooltip(names.iloc[i], row, shown, lang)
            state = "data"
        style["className"] = f"wb-region wb-{state}"
        features.append({"geometry": row["geometry"], "style": style, "tip": tip,
                         "code": row["region_code"]})
    matched = set(frame["region_code"].dropna())
    absent_label = label(absent, lang)
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
                         "tip": f"<b>{html_text(name)}</b><br>{html_text(absent_label)}"})
    return pd.DataFrame(features, columns=["geometry", "style", "tip", "code"])


def _shape_bounds(shapes: pd.DataFrame, projection) -> tuple[float, ...] | None:
    """Bounds of the main part of each shape (far-off islets would zoom the map out)."""
    if not len(shapes):
        return None
    b = np.array([main_part(g).bounds for g in shapes["geometry"]])
    lat, lon = projection.points([b[:, 1].min(), b[:, 3].max()], [b[:, 0].min(), b[:, 2].max()])
    return (lon[0], lat[0], lon[1], lat[1])
