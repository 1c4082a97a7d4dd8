"""Text from the data inside what a report shows: HTML, markdown, chart text.

Reports are shared outside the analysis team, and every name in them (customers,
partners, cities, categories, reps, territories, file names, the run id ...) comes
from exports or a config that someone else wrote. A value is therefore always
inserted as *text*, never as markup or template source:

- :func:`html_text` for HTML (tables built by hand, map tooltips and captions, the
  index page): every character that could open a tag, end an attribute, close a
  JavaScript template literal or start a Jinja2 expression becomes a character
  reference.
- :func:`md_text` for markdown (the ``IPython.display.Markdown`` outputs of the
  notebooks and helpers, which nbconvert renders with raw HTML and any link
  scheme allowed): the HTML escapes above, every other markdown punctuation
  backslash-escaped and line breaks folded, so no tag, link, code span, emphasis,
  list, table or math can start inside the value. Never put data in a code span.
- :func:`chart_text` for matplotlib (a ``$`` pair would switch on mathtext).

    >>> md_text("[x](javascript:alert(1))")
    '\\\\[x\\\\]\\\\(javascript\\\\:alert\\\\(1\\\\)\\\\)'
    >>> html_text('<b a="1">{{ x }}</b>')
    '&lt;b a=&quot;1&quot;&gt;&#123;&#123; x &#125;&#125;&lt;/b&gt;'
"""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser

__all__ = ["html_text", "md_text", "chart_text", "unsafe_markup"]

# Characters written as character references in HTML and markdown: HTML syntax,
# the JavaScript template literal folium wraps tooltips in (backtick, ``$``,
# backslash) and Jinja2's delimiters (``{``, ``}``).
_ENTITIES = {
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;",
    "`": "&#96;", "$": "&#36;", "\\": "&#92;", "{": "&#123;", "}": "&#125;",
}
_HTML = str.maketrans(_ENTITIES)
# Every other ASCII punctuation character markdown may read as syntax (emphasis,
# links, lists, headings, tables, strikethrough, definition lists, math
# delimiters): CommonMark lets any of them be backslash-escaped.
_MD_PUNCTUATION = "!#%()*+,-./:;=?@[]^_|~"
_MD = str.maketrans({**_ENTITIES, **{c: "\\" + c for c in _MD_PUNCTUATION}})


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def html_text(value: object) -> str:
    """``value`` as text for HTML: safe in element content and quoted attributes.

    Parameters
    ----------
    value : object
        Any value; converted with ``str`` (None and NaN give ``""``).

    Returns
    -------
    str
        ``&``, ``<``, ``>``, both quotes, backtick, ``$``, backslash, ``{`` and ``}``
        as character references. The browser shows the original text; the result
        can neither open a tag, end a quoted attribute, break out of a JavaScript
        template literal, nor be read as a Jinja2 expression.
    """
    return _text(value).translate(_HTML)


def md_text(value: object) -> str:
    """``value`` as text inside markdown that nbconvert renders to a shared report.

    Parameters
    ----------
    value : object
        Any value; converted with ``str`` (None and NaN give ``""``).

    Returns
    -------
    str
        The text on one line (runs of white space, line breaks included, become
        one space), with the characters of :func:`html_text` as character
        references and every other markdown punctuation character
        (``!#%()*+,-./:;=?@[]^_|~``) backslash-escaped. Rendered, it shows
        exactly the original text: no tag, link (``[x](javascript:...)``), code
        span, emphasis, heading, list, table or math can start inside it. Use it
        for every value from the data, the config or the run that goes into a
        markdown string; do not put the result in a code span (backslash escapes
        do not work there).
    """
    return " ".join(_text(value).split()).translate(_MD)


def chart_text(value: object) -> str:
    """``value`` as literal text for a matplotlib label, title or legend entry.

    A pair of ``$`` would switch matplotlib's mathtext on (and a stray ``\\`` or
    ``^`` inside it can make the chart fail); each ``$`` is escaped as ``\\$``.
    """
    return _text(value).replace("$", r"\$")


# URL attributes a ``javascript:`` (or ``vbscript:``, ``data:text/html``) URL would run from.
_URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster",
                   "background"}
_SCRIPT_URL = re.compile(r"^(?:javascript|vbscript|data\s*:\s*text/html)", re.I)
_URL_NOISE = re.compile(r"[\x00-\x20]+")  # browsers skip these inside a scheme


class _Scanner(HTMLParser):
    """Collects start tags that carry an event handler or a script URL."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.pages: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            name = name.lower()
            if name.startswith("on"):
                self.found.append(self._show(tag, name, value))
            elif name in _URL_ATTRIBUTES and value and _SCRIPT_URL.match(
                    _URL_NOISE.sub("", value)):
                self.found.append(self._show(tag, name, value))
            elif name == "srcdoc" and value:
                self.pages.append(value)

    handle_startendtag = handle_starttag

    @staticmethod
    def _show(tag, name, value) -> str:
        return f"<{tag} {name}={(value or '')[:120]!r}>"


def unsafe_markup(page: str) -> list[str]:
    """Tags in an HTML page that would run script: event handlers and script URLs.

    The workbook never writes either into a report: its maps bind their events in
    their own scripts, and text from the data reaches a page only through
    :func:`html_text` or :func:`md_text`, so it is never a tag. A hit means a value
    went around them.

    Parameters
    ----------
    page : str
        An HTML document; iframe ``srcdoc`` pages inside it (the maps) are
        scanned too.

    Returns
    -------
    list of str
        One entry per offending attribute (``<tag name='value'>``, the value cut
        at 120 characters), in order of appearance. ``<script>`` elements are
        not counted (the maps need their own).
    """
    found: list[str] = []
    pages = [page]
    while pages:
        scanner = _Scanner()
        scanner.feed(pages.pop(0))
        scanner.close()
        found.extend(scanner.found)
        pages.extend(scanner.pages)
    return found
