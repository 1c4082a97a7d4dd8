"""The folium elements the maps draw with, and data as JSON for a ``<script>`` block.

Each element's template is fixed code; the data reaches it only through
:func:`script_json` (and :mod:`helpers.viz.assets` inserts the rendered output as a
value, never as template source).
"""

from __future__ import annotations

import json
import re

import folium
import numpy as np
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

# Imported for its effect: every map element inserts its rendered output as a value.
import helpers.viz.assets  # noqa: F401

#: Colour of the customer points.
POINT_COLOR = "#3186cc"

# A "{" that would start a Jinja2 expression, statement or comment. JSON's own braces
# are always followed by '"' or '}', so these occur only inside strings.
_TEMPLATE_OPENER = re.compile(r"\{(?=[{%#])")


def script_json(value) -> str:
    """JSON for a ``<script>`` block.

    Parameters
    ----------
    value : JSON-serialisable
        No NaN or infinity (refused).

    Returns
    -------
    str
        Compact JSON with ``<``, ``>``, ``&`` and a brace that would open a Jinja2
        tag (``{{``, ``{%``, ``{#``, only ever inside strings) as unicode escapes, so
        the text can neither close the script nor read as template source.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return _TEMPLATE_OPENER.sub(r"\\u007b", text)


class RegionLayer(Layer):
    """One GeoJSON layer of region outlines, styled and labelled per feature.

    Each feature carries ``style`` (Leaflet path options) and ``tip`` (escaped HTML)
    in its properties; the layer highlights the region under the mouse.

    Parameters
    ----------
    collection : dict
        A GeoJSON FeatureCollection (:func:`helpers.geo.boundaries.feature_collection`).
    name : str
        The layer's name in the layer control.
    show : bool, default True
        Whether the layer is on when the map opens.

    Attributes
    ----------
    features : int
        The number of features drawn.
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
        self.data_js = script_json(collection)
        self.features = len(collection["features"])


class PointData(folium.MacroElement):
    """Customer coordinates as one flat JS array (``[lat0, lon0, lat1, lon1, ...]``),
    shared by the cluster and heat layers, and optional escaped tooltip texts.

    Parameters
    ----------
    coords : ndarray
        ``(n, 2)`` latitudes and longitudes, already rounded as they may be shown.
    tips : list of str, optional
        One escaped HTML tooltip per point; None: no tooltips.
    weights : ndarray, optional
        Customers per point when points were merged on a grid; None: one each.
    weight_tip : str, optional
        Tooltip of a merged point (catalog text, not data), ``{n}`` standing for its count.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = {{ this.coords_js }};
        var {{ this.get_name() }}_tips = {{ this.tips_js }};
        var {{ this.get_name() }}_n = {{ this.weights_js }};
        var {{ this.get_name() }}_ntip = {{ this.weight_tip_js }};
        {% endmacro %}
        """
    )

    def __init__(self, coords: np.ndarray, tips: list[str] | None,
                 weights: np.ndarray | None = None, weight_tip: str = "{n}"):
        super().__init__()
        self._name = "PointData"
        self.coords_js = script_json(coords.ravel().tolist())
        self.tips_js = "null" if tips is None else script_json(tips)
        self.weights_js = "null" if weights is None else script_json(
            np.asarray(weights, dtype=np.int64).tolist())
        self.weight_tip_js = script_json(weight_tip)


class FitBounds(folium.MacroElement):
    """Fit the map to ``bounds`` (``[[south, west], [north, east]]``) when it loads and again
    whenever its frame changes size (a phone turned round, a report printed), so the whole
    area shows in any frame."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }}, bounds = {{ this.bounds_js }};
            function refit() { map.invalidateSize(); map.fitBounds(bounds); }
            map.fitBounds(bounds);
            map.on("resize", refit);
            window.addEventListener("load", refit);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, bounds: list[list[float]]):
        super().__init__()
        self._name = "FitBounds"
        self.bounds_js = script_json(bounds)


class ClusterLayer(JSCSSMixin, Layer):
    """All customers as circle markers in one leaflet.markercluster group, added in
    chunks by ``addLayers`` (fast for 100k points).

    Parameters
    ----------
    points : PointData
        The coordinates (already added to the map).
    name : str
        The layer's name in the layer control.
    show : bool, default True
        Whether the layer is on when the map opens.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var n = {{ this.points.get_name() }}_n, options = {
                chunkedLoading: true, showCoverageOnHover: false, maxClusterRadius: 50};
            if (n) {
                // merged points: a cluster counts the customers of its points, not the points
                options.iconCreateFunction = function (cluster) {
                    var total = 0;
                    cluster.getAllChildMarkers().forEach(function (m) { total += m.options.n; });
                    var size = total < 10 ? "small" : total < 100 ? "medium" : "large";
                    return L.divIcon({html: "<div><span>" + total.toLocaleString() + "</span></div>",
                        className: "marker-cluster marker-cluster-" + size, iconSize: L.point(40, 40)});
                };
            }
            return L.markerClusterGroup(options);
        })();
        (function () {
            var d = {{ this.points.get_name() }}, tips = {{ this.points.get_name() }}_tips;
            var n = {{ this.points.get_name() }}_n, ntip = {{ this.points.get_name() }}_ntip;
            var markers = new Array(d.length / 2);
            for (var i = 0; i < d.length; i += 2) {
                var k = n ? n[i / 2] : 1;
                var marker = L.circleMarker([d[i], d[i + 1]], {radius: k > 1 ? 5 + Math.min(6, Math.log2(k)) : 5,
                    color: "{{ this.color }}", weight: 1, fillOpacity: 0.7, n: k});
                if (tips) { marker.bindTooltip(tips[i / 2]); }
                else if (n) { marker.bindTooltip(ntip.replace("{n}", k.toLocaleString())); }
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

    def __init__(self, points: PointData, name: str, *, show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "ClusterLayer"
        self.points = points
        self.color = POINT_COLOR


class HeatLayer(JSCSSMixin, Layer):
    """A leaflet.heat density layer of the same points as a :class:`ClusterLayer`
    (and the same parameters)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var d = {{ this.points.get_name() }}, n = {{ this.points.get_name() }}_n;
            var pts = new Array(d.length / 2);
            for (var i = 0; i < d.length; i += 2) {
                pts[i / 2] = n ? [d[i], d[i + 1], n[i / 2]] : [d[i], d[i + 1]];
            }
            return L.heatLayer(pts, {radius: 14, blur: 16, minOpacity: 0.25, maxZoom: 10});
        })();
        {% endmacro %}
        """
    )
    default_js = [("leaflet-heat.js", "https://cdn.jsdelivr.net/gh/python-visualization/folium@main/folium/templates/leaflet_heat.min.js")]

    def __init__(self, points: PointData, name: str, *, show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "HeatLayer"
        self.points = points


#: How the region labels look: small text without the tooltip's arrow; blank regions grey.
LABEL_CSS = (
    "<style>.leaflet-tooltip.wb-map-label{padding:0 4px;font:11px/1.4 sans-serif;"
    "background:rgba(255,255,255,.8);border:1px solid #999;box-shadow:none;color:#222}"
    ".leaflet-tooltip.wb-map-label:before{display:none}"
    ".leaflet-tooltip.wb-label-blank{color:#555;border-style:dashed}</style>"
)


class LabelLayer(folium.MacroElement):
    """Permanent region names on a map, the most important first.

    Each label is a non-interactive Leaflet tooltip at a point; after every zoom a
    label that would overlap one placed before it is hidden (it shows again when
    zoomed in), so labels never cover each other.

    Parameters
    ----------
    rows : list of (lat, lon, str, str)
        Position in the tiles' coordinates, the name as escaped HTML
        (:func:`helpers.text.markup.html_text`) and its kind (``top`` or ``blank``,
        the CSS class ``wb-label-<kind>``), in the order of importance.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }}, rows = {{ this.rows_js }};
            var labels = rows.map(function (r) {
                return L.tooltip({permanent: true, direction: "center", interactive: false,
                                  className: "wb-map-label wb-label-" + r[3]})
                    .setLatLng([r[0], r[1]]).setContent(r[2]).addTo(map);
            });
            function declutter() {
                var placed = [];
                labels.forEach(function (label) {
                    var el = label.getElement();
                    if (!el) { return; }
                    el.style.visibility = "visible";
                    var b = el.getBoundingClientRect();
                    var hit = placed.some(function (p) {
                        return b.left < p.right && b.right > p.left &&
                               b.top < p.bottom && b.bottom > p.top;
                    });
                    if (hit) { el.style.visibility = "hidden"; } else { placed.push(b); }
                });
            }
            map.on("zoomend", declutter);
            map.whenReady(function () { setTimeout(declutter, 0); });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, rows: list[tuple[float, float, str, str]]):
        super().__init__()
        self._name = "LabelLayer"
        self.rows_js = script_json([[round(float(lat), 5), round(float(lon), 5), name, kind]
                                    for lat, lon, name, kind in rows])
        self.count = len(rows)
