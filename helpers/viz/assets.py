"""Scripts and styles for offline reports: Leaflet and its plugins, inlined.

folium links Leaflet, its plugins and their styles from public CDNs, so a map in a
report saved to disk is blank without internet (and in intranets that block the CDNs).
:class:`OfflineMap` is a :class:`folium.Map` that renders the same page with every
script and stylesheet *inlined* from files installed by ``requirements.txt``:

==========================  ==============================================  =======
folium resource name        local file (package)                            version
==========================  ==============================================  =======
``leaflet``                 ``data/leaflet.js`` (XStatic-Leaflet)           1.9.3
``leaflet_css``             ``data/leaflet.css`` (images as data URIs)      1.9.3
``markerclusterjs``         ``data/leaflet.markercluster.js``               1.4.1
                            (XStatic-Leaflet-MarkerCluster)
``markerclustercss``        ``data/MarkerCluster.css``                      1.4.1
``markerclusterdefaultcss`` ``data/MarkerCluster.Default.css``              1.4.1
``leaflet-heat.js``         ``templates/leaflet_heat.min.js`` (folium)      0.2.0
==========================  ==============================================  =======

jQuery, Bootstrap and the awesome-markers icons that ``folium.Map`` pulls in by
default are dropped: the workbook's maps do not use them. An element that needs a
resource without a local copy makes rendering fail with :class:`AssetError` naming
it, so a report can never silently depend on the internet again.
:func:`external_references` finds what a finished HTML page would still load from
the network (``report.render_html`` checks every report with it).

**No data through a template engine.** branca (under folium) renders each map
element's Jinja2 macros and then wraps the *output* in ``Element(output)``, which
compiles that output as a new template: a customer or city name holding
``{{ ... }}`` in a tooltip, a GeoJSON property or a layer name would be executed
with Python's full power when the map is drawn (and a stray ``{%`` makes the map
fail). Importing this module replaces :meth:`branca.element.MacroElement.render`
by :func:`render_macro_element`, which inserts each macro's output as a value
(:class:`RawHTML`, whose template is fixed). Nothing else changes: the macros
still render with the element as ``this``, in the same order, into the same
parts of the page.
"""

from __future__ import annotations

import base64
import html
import re
from functools import cache
from importlib import resources

import folium
from branca.element import CssLink, Element, Figure, JavascriptLink, MacroElement

__all__ = ["AssetError", "OfflineMap", "RawHTML", "asset_text", "external_references",
           "inline_figure", "render_macro_element"]

# folium's resource name -> (package holding the file, path inside the package)
LOCAL_ASSETS: dict[str, tuple[str, str]] = {
    "leaflet": ("xstatic.pkg.leaflet", "data/leaflet.js"),
    "leaflet_css": ("xstatic.pkg.leaflet", "data/leaflet.css"),
    "markerclusterjs": ("xstatic.pkg.leaflet_markercluster", "data/leaflet.markercluster.js"),
    "markerclustercss": ("xstatic.pkg.leaflet_markercluster", "data/MarkerCluster.css"),
    "markerclusterdefaultcss": (
        "xstatic.pkg.leaflet_markercluster",
        "data/MarkerCluster.Default.css",
    ),
    "leaflet-heat.js": ("folium", "templates/leaflet_heat.min.js"),
}

_SOURCE_MAP = re.compile(r"^\s*//# sourceMappingURL=.*$|/\*# sourceMappingURL=.*?\*/", re.M)
_CSS_URL = re.compile(r"url\(\s*['\"]?(?!data:|#)([^'\")]+?)['\"]?\s*\)")
_MIME = {".png": "image/png", ".svg": "image/svg+xml", ".gif": "image/gif"}


class AssetError(RuntimeError):
    """A map element needs a script or style that has no offline copy."""


def _read(package: str, path: str) -> str:
    try:
        return resources.files(package).joinpath(path).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise AssetError(
            f"offline asset {path!r} not found in package {package!r} ({exc}); "
            "reinstall the requirements (pip install -r requirements.txt)"
        ) from None


def _css_with_data_uris(css: str, package: str, folder: str) -> str:
    """Replace relative ``url(images/x.png)`` in a stylesheet with data URIs."""

    def embed(match: re.Match) -> str:
        relative = match.group(1)
        suffix = relative[relative.rfind(".") :].lower()
        data = resources.files(package).joinpath(folder, relative).read_bytes()
        encoded = base64.b64encode(data).decode("ascii")
        return f'url("data:{_MIME.get(suffix, "application/octet-stream")};base64,{encoded}")'

    return _CSS_URL.sub(embed, css)


@cache
def asset_text(name: str) -> str:
    """The text of one offline asset, ready to inline.

    Parameters
    ----------
    name : str
        folium's resource name (``"leaflet"``, ``"markerclustercss"`` ...), a key of
        :data:`LOCAL_ASSETS`.

    Returns
    -------
    str
        The script or stylesheet, source-map comments removed, stylesheet images
        embedded as data URIs and ``</`` escaped so it cannot close its tag early.

    Raises
    ------
    AssetError
        When ``name`` has no local copy.
    """
    if name not in LOCAL_ASSETS:
        raise AssetError(f"no offline copy of {name!r}; known: {sorted(LOCAL_ASSETS)}")
    package, path = LOCAL_ASSETS[name]
    text = _SOURCE_MAP.sub("", _read(package, path))
    if path.endswith(".css"):
        text = _css_with_data_uris(text, package, path.rpartition("/")[0])
        return text.replace("</", "<\\/")
    return text.replace("</", "<\\/")


class RawHTML(Element):
    """Markup put into a map page as it is: a value, never compiled as a template.

    ``folium.Element(text)`` compiles ``text`` as a Jinja2 template; this element
    renders ``text`` unchanged. The text must already be safe HTML (data in it
    escaped with :func:`helpers.text.markup.html_text`).
    """

    def __init__(self, text: str):
        super().__init__()
        self._name = "RawHTML"
        self.text = str(text)

    def render(self, **kwargs) -> str:
        return self.text


def render_macro_element(self: MacroElement, **kwargs) -> None:
    """:meth:`branca.element.MacroElement.render` without compiling its output.

    Renders the element's ``header``, ``html`` and ``script`` macros (with the
    element as ``this``) into the figure's parts of the same names, each output
    added as a :class:`RawHTML` value, then renders the children: what branca
    does, except that branca compiles each output as a new Jinja2 template and
    so executes any ``{{ ... }}`` that data put into it.
    """
    figure = self.get_root()
    if not isinstance(figure, Figure):
        raise TypeError(f"cannot render {type(self).__name__}: it is not in a Figure")
    macros = self._template.module.__dict__
    for part in ("header", "html", "script"):
        macro = macros.get(part)
        if macro is not None:
            getattr(figure, part).add_child(RawHTML(macro(self, kwargs)), name=self.get_name())
    for element in self._children.values():
        element.render(**kwargs)


MacroElement.render = render_macro_element


class _InlineScript(Element):
    """``<script>`` with the asset's code in the page instead of a ``src``."""

    def __init__(self, name: str):
        super().__init__()
        self._name = "InlineScript"
        self.asset = name

    def render(self, **kwargs) -> str:
        return f"<script>/* {self.asset} */\n{asset_text(self.asset)}\n</script>"


class _InlineStyle(Element):
    """``<style>`` with the asset's rules in the page instead of a ``<link>``."""

    def __init__(self, name: str):
        super().__init__()
        self._name = "InlineStyle"
        self.asset = name

    def render(self, **kwargs) -> str:
        return f"<style>/* {self.asset} */\n{asset_text(self.asset)}\n</style>"


def inline_figure(figure: Figure) -> Figure:
    """Replace every script and stylesheet link in ``figure.header`` by inline code.

    Call after the figure's children have rendered (they add their links then).

    Raises
    ------
    AssetError
        Naming the resource and its URL when there is no local copy.
    """
    header = figure.header
    for name, child in list(header._children.items()):
        if isinstance(child, JavascriptLink | CssLink):
            if name not in LOCAL_ASSETS:
                raise AssetError(
                    f"map resource {name!r} ({child.url}) has no offline copy: the report "
                    "would need the internet. Use map elements whose scripts helpers.viz.assets "
                    f"inlines ({', '.join(sorted(LOCAL_ASSETS))})"
                )
            inline = _InlineScript(name) if isinstance(child, JavascriptLink) else _InlineStyle(name)
            header._children[name] = inline
            inline._parent = header
    return figure


#: A map on a phone (a map frame 480 px wide or less): the layer control folds to its
#: button, the legend to its title and the caption to its first line across the top (a tap
#: opens each: ``:focus``; no script), so the boxes do not cover the map.
NARROW_MAP_CSS = """<style>
@media (max-width: 480px) {
  .leaflet-control-layers-expanded:not(:hover):not(:focus-within) .leaflet-control-layers-list {
    display: none; }
  .leaflet-control-layers-expanded:not(:hover):not(:focus-within) {
    padding: 0; }
  .leaflet-control-layers-expanded:not(:hover):not(:focus-within) .leaflet-control-layers-toggle {
    display: block; }
  .map-caption { font-size: 10px !important; padding: 2px 5px !important; top: 10px !important;
    bottom: auto !important; left: 46px !important; right: 54px !important;
    max-width: none !important; }
  .map-caption:not(:hover):not(:focus) { white-space: nowrap; overflow: hidden;
    text-overflow: ellipsis; }
  .wb-legend { font-size: 10px !important; padding: 3px 6px !important; bottom: 18px !important; }
  .wb-legend span[style*="width:16px"] { width: 10px !important; height: 8px !important; }
  .wb-legend:not(:hover):not(:focus) > div { display: none !important; }
  .wb-legend:not(:hover):not(:focus) > b::after { content: " ▸"; }
}
</style>"""


class OfflineMap(folium.Map):
    """A :class:`folium.Map` whose page carries its scripts and styles inline.

    Same arguments as ``folium.Map``. Only Leaflet itself is loaded by default
    (folium's jQuery, Bootstrap and awesome-markers are left out); plugins add their
    own resources, which are inlined when a local copy exists (see
    :data:`LOCAL_ASSETS`) and raise :class:`AssetError` otherwise. The map works the
    same in a notebook (iframe ``srcdoc``), in an nbconvert report and saved with
    ``m.save(path)``, with the network off.
    """

    default_js = [("leaflet", "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js")]
    default_css = [("leaflet_css", "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css")]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.get_root().header.add_child(RawHTML(NARROW_MAP_CSS), name="wb_narrow_map")

    def render(self, **kwargs):
        super().render(**kwargs)
        inline_figure(self.get_root())


# --------------------------------------------------------------------------- checks

# Attributes through which a page loads something when it opens (links <a href> are
# not loaded). Matched in the page and, unescaped once, inside iframe srcdoc pages.
_LOADING = re.compile(
    r"<(script|img|iframe|embed|source|audio|video|input)\b[^>]*?\bsrc\s*=\s*['\"]?([^'\"\s>]+)"
    r"|<link\b[^>]*?\bhref\s*=\s*['\"]?([^'\"\s>]+)"
    r"|@import\s+(?:url\()?\s*['\"]?([^'\"\s)]+)"
    r"|url\(\s*['\"]?((?:https?:)?//[^'\")]+)",
    re.I,
)
_SRCDOC = re.compile(r"\bsrcdoc\s*=\s*\"([^\"]*)\"", re.I | re.S)


def external_references(page: str) -> list[str]:
    """URLs a page (and the iframe ``srcdoc`` pages inside it) would load from the network.

    Parameters
    ----------
    page : str
        An HTML document.

    Returns
    -------
    list of str
        Every ``http:``, ``https:`` or protocol-relative (``//host``) URL in a
        ``src`` attribute, a ``<link href>``, a CSS ``@import`` or ``url()``, in
        order of appearance; links a reader clicks (``<a href>``) are not counted.
    """
    found: list[str] = []
    pages = [page]
    while pages:
        text = pages.pop()
        for match in _LOADING.finditer(text):
            url = next(g for g in match.groups()[1:] if g)
            if url.lower().startswith(("http:", "https:", "//")):
                found.append(url)
        pages.extend(html.unescape(doc) for doc in _SRCDOC.findall(text))
    return found
