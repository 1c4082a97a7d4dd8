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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from helpers import files
from helpers.text.lookup import say, term
from helpers.text.markup import unsafe_markup
from helpers.viz.assets import external_references

__all__ = ["render_html", "order_sections", "load_translations", "translate_markdown",
           "notebook_title", "OfflineReportError", "UnsafeReportError"]


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

    Returns
    -------
    Path
        ``html``.

    Notes
    -----
    Code inputs and the In/Out prompts are removed; outputs (tables, figures,
    folium iframes, error tracebacks) are kept. Cells tagged ``remove-cell`` are
    dropped and outputs of cells tagged ``remove-output`` hidden. Images that
    markdown cells reference are embedded.

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
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    ipynb, html_path = Path(ipynb), Path(html)
    nb = nbformat.read(ipynb, as_version=4)
    nb.metadata["title"] = title  # the lab template reads <title> from here
    nb.cells = order_sections(translate_markdown(nb.cells, translations or {}), section_order)

    c = Config()
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_cell_tags = set(REMOVE_CELL_TAGS)
    c.TagRemovePreprocessor.remove_all_outputs_tags = set(REMOVE_OUTPUT_TAGS)
    exporter = HTMLExporter(
        config=c,
        template_name="lab",
        extra_loaders=[jinja2.PackageLoader("helpers.run", "templates/nbconvert")],
        template_file=REPORT_TEMPLATE,
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    resources = {
        "metadata": {"name": title, "path": str(ipynb.parent)},
        "wb_title": title,
        "wb_index_href": index_href,
        "wb_index_text": say("all_regions", "en") if index_text is None else index_text,
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
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
