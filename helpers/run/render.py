"""HTML reports: executed notebooks rendered without code (the run's index: :mod:`helpers.run.index`).

Reports are read by people who do not run Python, often offline or behind an
intranet proxy, so the pages carry no code, load nothing from a CDN (nbconvert's
require.js, MathJax and mermaid loaders are dropped; maps carry Leaflet inline, see
``helpers.viz.assets``) and escape every string that comes from data or from an error
message (:func:`helpers.text.markup.html_text`; markdown outputs use
:func:`helpers.text.markup.md_text`). :func:`render_html` refuses to write a page that
would still load a script, stylesheet or image from the network, or that carries an
event-handler attribute or a ``javascript:`` URL (the workbook writes neither, so
one there is text from the data that went around the escaping).

Every report opens with a bar (:func:`navigation`): the run's index, the region's
steps with the current one marked, previous/next, and the region's downloads. Its links
are relative to the report's folder (``../index.html``, ``04_insight.html``,
``actions.xlsx``), so the run folder still works zipped and sent, and link only files
that exist: a region's bars are rewritten when all its steps have run
(:func:`refresh_navigation`), so the first steps link the later ones and the exports
of step 5. A long report gets a table of contents from its ``h2`` headings
(:func:`table_of_contents`), and the exports its text names in ``code`` become links
(:func:`link_exports`). No script is needed for either.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

from helpers import files
from helpers.text.lookup import say, term, text
from helpers.text.markup import html_text, unsafe_markup
from helpers.viz.assets import external_references

__all__ = ["render_html", "order_sections", "load_translations", "translate_markdown",
           "notebook_title", "navigation", "refresh_navigation", "table_of_contents",
           "link_exports", "DOWNLOADS", "OfflineReportError", "UnsafeReportError"]


class OfflineReportError(ValueError):
    """A rendered report would load something from the network when opened."""


class UnsafeReportError(ValueError):
    """A rendered report would run script from its content (an event handler, a
    ``javascript:`` URL): text from the data reached the page as markup."""


#: The page nbconvert renders (``templates/nbconvert/workbook_report.html.j2``): JupyterLab's
#: template minus its CDN scripts, plus a slim banner naming the report and linking
#: back to the run's index.
REPORT_TEMPLATE = "workbook_report.html.j2"

# A cell tagged ``section-<key>`` starts a section that runs to the next such cell.
SECTION_TAG_PREFIX = "section-"

# Cells an author can keep out of the shared report by tagging them.
REMOVE_CELL_TAGS = {"remove_cell", "remove-cell"}
REMOVE_OUTPUT_TAGS = {"remove_output", "remove-output"}

#: The region's files a reader may want, in the bar's order (linked when they exist;
#: words: catalog section ``download``). Step 5 writes them
#: (:func:`helpers.steps.strategy.save_strategy`).
DOWNLOADS = ("actions.xlsx", "actions.csv", "campaign_list.csv", "partner_plans.csv",
             "budget.csv")

#: A report gets a table of contents from this many ``h2`` headings on.
TOC_MIN_HEADINGS = 4

# The bar sits between these comments, so that refresh_navigation can replace it (text
# from the data cannot write them: it is escaped).
NAV_START, NAV_END = "<!--wb-nav-->", "<!--/wb-nav-->"
# Where the template leaves room for the table of contents.
TOC_MARK = "<!--wb-toc-->"
# A file name the text shows as code (`actions.xlsx`); linked already when the tag right
# before it is a link of class wb-file (:func:`link_exports`). The pattern starts with its
# literal, so a page's megabytes of embedded images are skipped at string-search speed.
_FILE_CODE = re.compile(r"<code>([\w.\-]+\.(?:csv|xlsx))</code>")
_FILE_LINK = '<a class="wb-file" '


def notebook_title(name: str, lang: str = "en") -> str:
    """``04_insight.ipynb`` -> ``04 Insight`` (``04 洞察`` in Chinese); ``02_data_prep`` ->
    ``02 Data prep``. A notebook the catalog does not name shows its words capitalised."""
    stem = Path(name).stem
    number, _, rest = stem.partition("_")
    if not rest:
        return stem.replace("_", " ")
    shown = rest.replace("_", " ").strip()
    return f"{number} {term('notebook', rest, lang, default=shown[:1].upper() + shown[1:])}"


def render_html(
    ipynb: Path,
    html: Path,
    *,
    title: str,
    index_href: str | None = None,
    index_text: str | None = None,
    section_order: Sequence[str] = (),
    translations: Mapping[str, str] | None = None,
    steps: Sequence[str] = (),
    lang: str = "en",
) -> Path:
    """Render an executed notebook to a self-contained HTML report without code.

    Parameters
    ----------
    ipynb : Path
        The executed notebook.
    html : Path
        Where to write the page (folders are created).
    title : str
        The page ``<title>`` and banner, e.g. ``04 Insight — East China — run 20261123-113000``.
    index_href : str, optional
        Relative URL of the run's index page for a back link (``../index.html``).
    index_text : str, optional
        Text of that link (default: "All regions", ``say("all_regions")``).
    section_order : sequence of str
        Section keys to put first (the objective's order, ``helpers.catalog.OBJECTIVES``);
        see :func:`order_sections`. Empty: the notebook's own order.
    translations : mapping, optional
        English markdown cell source -> the text to show instead
        (:func:`load_translations`); cells without an entry stay as they are.
    steps : sequence of str
        The region's notebooks in order (``01_goals.ipynb`` ...) for the bar's steps and
        previous/next (:func:`navigation`); empty: the bar links the index only.
    lang : str
        The language of the bar and the table of contents.

    Returns
    -------
    Path
        ``html``.

    Notes
    -----
    Code inputs and the In/Out prompts are removed; outputs (tables, figures,
    folium iframes, error tracebacks) are kept. Cells tagged ``remove-cell`` are
    dropped and outputs of cells tagged ``remove-output`` hidden. Images that
    markdown cells reference are embedded. The page opens with the bar of
    :func:`navigation`; with :data:`TOC_MIN_HEADINGS` ``h2`` headings or more it has a
    table of contents (:func:`table_of_contents`); the exports its text names in
    ``code`` are linked when they exist beside it (:func:`link_exports`).

    Raises
    ------
    OfflineReportError
        When the page (or a map inside it) would load a script, stylesheet or image
        from the network (``helpers.viz.assets.external_references``); nothing is
        written then. Map tiles are not counted: they are an option of the map
        (``report.tiles``), and the map works without them.
    UnsafeReportError
        When the page (or a map inside it) has a tag with an event-handler
        attribute (``onerror=`` ...) or a ``javascript:`` URL
        (:func:`helpers.text.markup.unsafe_markup`): the workbook writes neither, so
        text from the data reached the page as markup; nothing is written then.
    """
    import nbformat

    ipynb, html_path = Path(ipynb), Path(html)
    nb = nbformat.read(ipynb, as_version=4)
    nb.metadata["title"] = title  # the lab template reads <title> from here
    nb.cells = order_sections(translate_markdown(nb.cells, translations or {}), section_order)

    exporter = _exporter()
    resources = {
        "metadata": {"name": title, "path": str(ipynb.parent)},
        "wb_title": title,
        "wb_index_href": index_href,
        "wb_index_text": say("all_regions", lang) if index_text is None else index_text,
        "wb_nav": navigation(html_path, steps, lang, index_href=index_href,
                             index_text=index_text),
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    body = link_exports(body.replace(TOC_MARK, table_of_contents(body, lang), 1),
                        html_path.parent)
    external = external_references(body)
    if external:
        shown = ", ".join(sorted(set(external))[:5])
        raise OfflineReportError(
            f"{ipynb.name}: the report would load {len(external)} resource(s) from the "
            f"internet ({shown}); build maps with helpers.viz.maps (Leaflet inlined) and embed "
            "images instead of linking them"
        )
    unsafe = unsafe_markup(body)
    if unsafe:
        shown = "; ".join(unsafe[:3])
        raise UnsafeReportError(
            f"{ipynb.name}: the report would run script from its content ({len(unsafe)} "
            f"tag(s), e.g. {shown}): text from the data reached the page as markup. "
            "Show data with helpers.text.markup.md_text (markdown) or html_text (HTML)"
        )
    files.write_atomic(html_path, body)  # whole or not at all (a full disk leaves no half page)
    return html_path


_exporters = threading.local()


def _exporter():
    """This thread's HTML exporter for reports, made on first use and reused.

    Making one (its configuration, the template's jinja environment) costs about as
    much as rendering a report, and nothing of a report stays in it: each call passes
    its own notebook and resources. One per thread, since an exporter is not known to
    be safe to share between threads (the batch renders in several).
    """
    exporter = getattr(_exporters, "exporter", None)
    if exporter is None:
        import jinja2
        from nbconvert import HTMLExporter
        from traitlets.config import Config

        c = Config()
        c.TagRemovePreprocessor.enabled = True
        c.TagRemovePreprocessor.remove_cell_tags = set(REMOVE_CELL_TAGS)
        c.TagRemovePreprocessor.remove_all_outputs_tags = set(REMOVE_OUTPUT_TAGS)
        exporter = _exporters.exporter = HTMLExporter(
            config=c,
            template_name="lab",
            extra_loaders=[jinja2.PackageLoader("helpers.run", "templates/nbconvert")],
            template_file=REPORT_TEMPLATE,
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            embed_images=True,
        )
    return exporter


@cache
def _environment():
    import jinja2

    return jinja2.Environment(loader=jinja2.PackageLoader("helpers.run", "templates"),
                              autoescape=True, undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)


def navigation(html: Path, steps: Sequence[str], lang: str = "en", *,
               index_href: str | None = "../index.html", index_text: str | None = None) -> str:
    """The bar of the report ``html`` (``templates/report_nav.html.j2``), from what is on disk.

    Parameters
    ----------
    html : Path
        The report the bar is for; the other pages and the downloads are looked for
        in its folder.
    steps : sequence of str
        The region's notebooks (or reports) in order, ``01_goals.ipynb`` ...
    lang : str
        The bar's language (catalog sections ``report_nav`` and ``download``).
    index_href : str, optional
        Relative URL of the run's index page (None: no index link).
    index_text : str, optional
        Text of that link (default: "All regions").

    Returns
    -------
    str
        The bar's HTML between the markers :data:`NAV_START` and :data:`NAV_END`.
        A step links its page when the page exists (the current one always, marked
        ``aria-current="page"``), previous and next link the nearest existing
        pages, and :data:`DOWNLOADS` are linked when the file exists. All links are
        relative to the report's folder.
    """
    html = Path(html)
    folder = html.parent
    pages = [Path(step).with_suffix(".html").name for step in steps]
    shown = [{"href": page, "label": notebook_title(page, lang), "current": page == html.name,
              "exists": page == html.name or (folder / page).is_file()} for page in pages]
    here = pages.index(html.name) if html.name in pages else None
    previous = next_ = None
    if here is not None:
        previous = next((s for s in reversed(shown[:here]) if s["exists"]), None)
        next_ = next((s for s in shown[here + 1:] if s["exists"]), None)
    downloads = [{"href": name, "file": name, "label": text("download", name, lang)}
                 for name in DOWNLOADS if (folder / name).is_file()]
    words = {key: text("report_nav", key, lang)
             for key in ("label", "steps", "previous", "next", "downloads")}
    bar = _environment().get_template("report_nav.html.j2").render(
        index_href=index_href, steps=shown, previous=previous, next=next_,
        downloads=downloads, words=words,
        index_text=text("report_nav", "index", lang) if index_text is None else index_text)
    return NAV_START + bar + NAV_END


def refresh_navigation(folder: Path, steps: Sequence[str], lang: str = "en", *,
                       index_href: str | None = "../index.html",
                       index_text: str | None = None) -> list[Path]:
    """Rewrite the bar of every report of ``steps`` in ``folder`` from what is there now.

    A region's reports are rendered one by one as its notebooks run, so the first
    ones cannot yet link the later pages or step 5's downloads; called when the
    region is done, this links them (and unlinks what is not there). Exports named
    in the text are linked too (:func:`link_exports`). Pages without a bar are left
    as they are. Returns the pages rewritten.
    """
    from helpers import files

    folder = Path(folder)
    changed = []
    for step in steps:
        page = folder / Path(step).with_suffix(".html").name
        if not page.is_file():
            continue
        before = page.read_text(encoding="utf-8")
        if NAV_START not in before or NAV_END not in before:
            continue
        bar = navigation(page, steps, lang, index_href=index_href, index_text=index_text)
        start, end = before.index(NAV_START), before.index(NAV_END) + len(NAV_END)
        after = link_exports(before[:start] + bar + before[end:], folder)
        if after != before:
            files.write_atomic(page, after)
            changed.append(page)
    return changed


class _Headings(HTMLParser):
    """The ``h2`` headings of a page: (id, text), the permalink's pilcrow left out."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []
        self._id: str | None = None
        self._text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag == "h2":
            self._id, self._text = dict(attrs).get("id") or "", []
        elif self._id is not None and tag == "a" and "anchor-link" in (dict(attrs).get("class") or ""):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag == "a" and self._skip:
            self._skip -= 1
        elif tag == "h2" and self._id is not None:
            words = " ".join("".join(self._text).split())
            if self._id and words:
                self.found.append((self._id, words))
            self._id = None

    def handle_data(self, data):
        if self._id is not None and not self._skip:
            self._text.append(data)


def table_of_contents(page: str, lang: str = "en") -> str:
    """A table of contents of the page's ``h2`` headings (plain anchors, no script).

    Empty when the page has fewer than :data:`TOC_MIN_HEADINGS` headings with an id
    (nbconvert gives every markdown heading one). The list sits in a ``<details>``
    element: open, and one tap folds it away on a phone.
    """
    parser = _Headings()
    parser.feed(page)
    if len(parser.found) < TOC_MIN_HEADINGS:
        return ""
    items = "".join(f'<li><a href="#{html_text(anchor)}">{html_text(words)}</a></li>'
                    for anchor, words in parser.found)
    title = html_text(text("report_nav", "contents", lang))
    return (f'<nav class="wb-toc" aria-label="{title}"><details open>'
            f"<summary>{title}</summary><ol>{items}</ol></details></nav>")


def link_exports(page: str, folder: Path) -> str:
    """The page with every file name shown as code (``<code>actions.xlsx</code>``) linked
    to that file when it exists in ``folder`` (the report's folder; the link is relative).
    Only ``.csv`` and ``.xlsx`` names without a folder; names linked already stay as they are.
    """
    folder = Path(folder)

    def one(match: re.Match) -> str:
        name = match[1]
        if _linked(page, match.start()) or not (folder / name).is_file():
            return match[0]
        return f'<a class="wb-file" href="{html_text(name)}"><code>{name}</code></a>'

    return _FILE_CODE.sub(one, page)


def _linked(page: str, at: int) -> bool:
    """Whether the ``<code>`` at ``at`` in ``page`` comes right after an opening
    ``<a class="wb-file" ...>`` tag (one without ``>`` inside it)."""
    if not page.startswith(">", at - 1):
        return False
    tag_open = page.rfind(">", 0, at - 1) + 1  # the tag starts after the '>' before it
    return page.find(_FILE_LINK, tag_open, at) >= 0


def load_translations(folder: Path, lang: str) -> dict[str, str]:
    """The notebooks' markdown in ``lang`` from ``<folder>/<lang>.yaml`` (empty for English).

    The file is a list of ``{notebook, en, zh}`` items, one per markdown cell:
    ``en`` is the cell's exact source (the key, as in gettext), ``<lang>`` the
    text the report shows. A cell whose English changed simply has no entry
    and shows in English until the file is updated (``tests/test_notebooks.py``
    fails on that). Raises ValueError naming the file and item when it is malformed.
    """
    import yaml

    path = Path(folder) / f"{lang}.yaml"
    if lang == "en" or not path.exists():
        return {}
    try:
        items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(items, list):
        raise ValueError(f"{path}: expected a list of {{notebook, en, {lang}}} items")
    table: dict[str, str] = {}
    for i, item in enumerate(items, start=1):
        if not (isinstance(item, dict) and isinstance(item.get("en"), str)
                and isinstance(item.get(lang), str)):
            raise ValueError(f"{path}: item {i} needs the text keys 'en' and {lang!r}")
        table[item["en"].strip()] = item[lang]
    return table


def translate_markdown(cells: list, translations: Mapping[str, str]) -> list:
    """The cells with each markdown cell found in ``translations`` replaced (tags kept)."""
    if not translations:
        return cells
    out = []
    for cell in cells:
        text = translations.get(cell.source.strip()) if cell.cell_type == "markdown" else None
        if text is not None:
            cell = cell.copy()
            cell.source = text
        out.append(cell)
    return out


def _section_key(cell) -> str | None:
    for tag in cell.get("metadata", {}).get("tags", []):
        if tag.startswith(SECTION_TAG_PREFIX):
            return tag[len(SECTION_TAG_PREFIX):]
    return None


def order_sections(cells: list, order: Sequence[str]) -> list:
    """The cells with the sections named in ``order`` moved to the front.

    A section starts at a cell tagged ``section-<key>`` and runs to the next
    tagged cell. Cells before the first section (title, parameters, setup) stay
    first; the sections in ``order`` follow in that order, then the others in the
    notebook's order. Keys in ``order`` that the notebook lacks are ignored. Only
    the page changes: the notebook ran top to bottom, so no number changes.
    """
    head: list = []
    sections: list[tuple[str, list]] = []
    for cell in cells:
        key = _section_key(cell)
        if key is not None:
            sections.append((key, [cell]))
        elif sections:
            sections[-1][1].append(cell)
        else:
            head.append(cell)
    rank = {key: i for i, key in enumerate(order)}
    ranked = sorted(range(len(sections)),
                    key=lambda i: (rank.get(sections[i][0], len(rank)), i))
    return head + [cell for i in ranked for cell in sections[i][1]]
