"""Step 3 maps (folium): filled regions, graduated symbols and customer points.

==============  ===========================================================================
module          holds
==============  ===========================================================================
``area``        :class:`~helpers.viz.maps.area.MapArea`: what a report's maps show (the
                country, a city map's province, the base map) and the outlines that follow
``regions``     :func:`~helpers.viz.maps.regions.region_map` (filled regions, circles where
                no outline exists) and :func:`~helpers.viz.maps.regions.region_bubble_map`
``points``      :func:`~helpers.viz.maps.points.customer_map` (clusters, heat, hexagons) and
                :func:`~helpers.viz.maps.points.hexagon_counts`
``base``        what every map is built from: the base map and its tiles, the projection to
                the tiles' coordinates, bounds, caption, legend, borders, and the results
                (:class:`~helpers.viz.maps.base.MapResult` and its kinds)
``classes``     colour classes of a filled map and their legend
``elements``    the folium elements the maps draw with, and data as JSON for a ``<script>``
==============  ===========================================================================

Functions return a result that holds the map and what was drawn (outlines, circles,
rows left out, hexagons); in a notebook the result displays as the map. They never
change their input. The maps are :class:`helpers.viz.assets.OfflineMap` objects:
Leaflet and its plugins are inlined, so a report opens with the network off (the base
map tiles are the only thing a map may fetch, and ``tiles=None`` turns them off).

Every string that comes from the data is escaped before it reaches a tooltip, popup
or caption: Leaflet shows tooltip text as HTML, and folium may wrap text in a
JavaScript template literal, so HTML (``<``, ``&``, quotes), template-literal
syntax (backtick, ``${``, backslash) and Jinja2's braces are neutralised by
:func:`helpers.text.markup.html_text`. Data reaching a ``<script>`` block is JSON with
``<``, ``>`` and ``&`` written as ``\\u003c`` ... (:func:`helpers.viz.maps.elements.script_json`).
Data is never template source: captions and legends are
:class:`helpers.viz.assets.RawHTML` values (``folium.Element(text)`` would compile
``text`` as a Jinja2 template), and importing :mod:`helpers.viz.assets` makes every map
element insert its rendered output as a value (see there).

Tiles (``MapArea.tiles``): ``"osm"`` (OpenStreetMap, the default), ``"amap"`` (AMap /
Gaode street map; it is drawn in GCJ-02, so every point and outline is shifted from
WGS-84 to GCJ-02 to sit on the right street), or ``None`` / ``"none"`` for no base
map (offline reports: the filled regions and points still show). Reports choose with
``report.tiles`` in ``workbook.yaml``.
"""
