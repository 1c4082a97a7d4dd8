"""HTML reports: executed notebooks rendered without code, and a run's ``index.html``.

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

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from helpers import files
from helpers.analysis.tiers import TIERS
from helpers.period import Period
from helpers.text.lookup import say, term, words
from helpers.text.markup import html_text, unsafe_markup
from helpers.viz.assets import external_references

__all__ = ["render_html", "order_sections", "load_translations", "translate_markdown",
           "write_index", "notebook_title", "OfflineReportError", "UnsafeReportError"]


class OfflineReportError(ValueError):
    """A rendered report would load something from the network when opened."""


class UnsafeReportError(ValueError):
    """A rendered report would run script from its content (an event handler, a
    ``javascript:`` URL): text from the data reached the page as markup."""


# The page nbconvert renders: JupyterLab's template minus its CDN scripts, plus a
# slim banner naming the report (and linking back to the run's index).
_REPORT_TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<style type="text/css">
.wb-banner { font-family: system-ui, -apple-system, "Segoe UI", "PingFang SC",
  "Microsoft YaHei", sans-serif; display: flex; gap: 1em; align-items: baseline;
  justify-content: space-between; padding: .6em 1.2em; margin: 0 0 1em;
  background: #1f3a5f; color: #fff; font-size: 15px; }
.wb-banner a { color: #cfe3ff; text-decoration: none; white-space: nowrap; }
.wb-banner a:hover { text-decoration: underline; }
.wb-banner .wb-title { font-weight: 600; }
.celltag_papermill-error-cell-tag { color: #b42318; font-weight: 600; }
@media print { .wb-banner { background: none; color: #000; border-bottom: 1px solid #999; }
  .wb-banner a { display: none; } }
</style>
{%- endblock extra_css -%}
{%- block body_header -%}
{{ super() }}
<header class="wb-banner"><span class="wb-title">{{ resources.wb_title | e }}</span>
{%- if resources.wb_index_href %}<a href="{{ resources.wb_index_href | e }}">{{ resources.wb_index_text | e }}</a>{% endif -%}
</header>
{%- endblock body_header -%}
"""

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
        Section keys to put first (the objective's order, ``goals.OBJECTIVES``);
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
        extra_loaders=[jinja2.DictLoader({"workbook_report.html.j2": _REPORT_TEMPLATE})],
        template_file="workbook_report.html.j2",
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


# ---------------------------------------------------------------------------
# index.html

_INDEX_CSS = """
:root { --ink: #1d2733; --muted: #5b6776; --line: #dde3ea; --head: #1f3a5f;
  --ok: #1a7f37; --bad: #b42318; --bad-bg: #fdf1f0; --skip: #8a94a1; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #f6f8fa;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "PingFang SC", "Hiragino Sans GB",
  "Microsoft YaHei", "Noto Sans CJK SC", sans-serif; }
header { background: var(--head); color: #fff; padding: 1.4em 2em 1.2em; }
header h1 { margin: 0 0 .3em; font-size: 1.5em; font-weight: 600; }
header .facts { display: flex; flex-wrap: wrap; gap: .3em 2em; color: #d6e2f0; }
header .facts b { color: #fff; font-weight: 600; }
main { max-width: 1200px; margin: 1.5em auto; padding: 0 1.5em; }
.summary { font-size: 1.05em; margin: 0 0 1em; }
.summary .bad { color: var(--bad); font-weight: 600; }
.banner-bad { background: var(--bad-bg); border-left: 4px solid var(--bad); color: var(--bad);
  padding: .8em 1em; margin: 0 0 1em; white-space: pre-wrap; }
table { width: 100%; border-collapse: collapse; background: #fff;
  box-shadow: 0 1px 2px rgba(0,0,0,.06); }
th, td { padding: .55em .8em; border-bottom: 1px solid var(--line); vertical-align: top;
  text-align: left; }
th { background: #eef2f6; font-weight: 600; font-size: .9em; color: var(--muted);
  text-transform: uppercase; letter-spacing: .03em; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.failed td, tr.interrupted td { background: var(--bad-bg); }
tr.failed td:first-child, tr.interrupted td:first-child { border-left: 4px solid var(--bad); }
.label { font-weight: 600; }
.slug { color: var(--muted); font-size: .85em; }
.status { font-weight: 600; white-space: nowrap; }
.status.ok { color: var(--ok); } .status.failed, .status.interrupted { color: var(--bad); }
.status.skipped, .status.not-run, .status.running { color: var(--skip); }
.error { color: var(--bad); font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: .85em; margin-top: .3em; white-space: pre-wrap; word-break: break-word; }
.up { color: var(--ok); } .down { color: var(--bad); } .na { color: var(--skip); }
.tier { display: inline-block; padding: 0 .5em; margin: 0 .2em .2em 0; border-radius: 1em;
  background: #e7eef7; font-size: .9em; white-space: nowrap; }
.tier.core { background: #d9f2e3; } .tier.emerging { background: #dce9fb; }
.tier.declining { background: #fbe0dc; } .tier.gap { background: #eeeeee; }
ul.links { list-style: none; margin: 0; padding: 0; }
ul.links li { white-space: nowrap; }
ul.links a { color: #0b5cad; text-decoration: none; }
ul.links a:hover { text-decoration: underline; }
ul.links .failed a, ul.links .failed, ul.links .interrupted { color: var(--bad); }
ul.links .skipped, ul.links .not-run, ul.links .running { color: var(--skip); }
footer { max-width: 1200px; margin: 0 auto 2em; padding: 0 1.5em; color: var(--muted);
  font-size: .85em; }
footer a { color: inherit; }
@media print {
  body { background: #fff; font-size: 11pt; }
  header { background: none; color: #000; border-bottom: 2px solid #000; padding: 0 0 .5em; }
  header .facts, header .facts b { color: #000; }
  main, footer { max-width: none; margin: 1em 0; padding: 0; }
  table { box-shadow: none; }
  tr { page-break-inside: avoid; }
  ul.links a { color: #000; }
}
"""


def _e(value: Any) -> str:
    """Text from data, config or an error message, escaped for HTML."""
    return html_text(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else number


def _fmt_int(value: Any) -> str:
    number = _number(value)
    return '<span class="na">—</span>' if number is None else f"{number:,.0f}"


def _fmt_money(value: Any, currency: str = "") -> str:
    number = _number(value)
    if number is None:
        return '<span class="na">—</span>'
    text = f"{number:,.0f}"
    return f"{text} {_e(currency)}" if currency else text


def _fmt_growth(value: Any) -> str:
    number = _number(value)
    if number is None:
        return '<span class="na">—</span>'
    cls = "up" if number > 0 else "down" if number < 0 else ""
    return f'<span class="{cls}">{number:+.1%}</span>'


def _fmt_seconds(value: Any) -> str:
    number = _number(value)
    if number is None:
        return ""
    minutes, seconds = divmod(int(round(number)), 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{number:.1f} s"


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _css(status: str) -> str:
    """A status as a CSS class: ``not run`` -> ``not-run``."""
    return status.replace(" ", "-")


def _href(path: str) -> str:
    """A relative URL for a path inside the run folder, percent-encoded."""
    return _e(quote(str(path).replace("\\", "/")))


def _tier_html(headline: dict, lang: str = "en") -> str:
    """How many of the report's regions are in each tier (``headline.json``'s ``tiers``).

    Falls back to the single ``tier`` of older runs; empty when step 5 did not run.
    """
    counts = headline.get("tiers")
    if isinstance(counts, dict) and counts:
        names = [t for t in TIERS if t in counts] + sorted(
            str(t) for t in counts if t not in TIERS)
        return "".join(f'<span class="tier {_e(t)}" title="{_e(t)}: {_fmt_int(counts[t])}">'
                       f'{_e(term("tier", t, lang))} {_fmt_int(counts[t])}</span>' for t in names)
    tier = headline.get("tier")
    return f'<span class="tier">{_e(tier)}</span>' if tier not in (None, "") else ""


def _region_row(run_dir: Path, region: dict, text: dict, currency: str,
                lang: str = "en") -> str:
    slug = str(region.get("slug") or "")
    headline = region.get("headline")
    if not isinstance(headline, dict):
        headline = _read_json(run_dir / slug / "headline.json") if slug else {}
    status = str(region.get("status") or "skipped")
    label = region.get("label") or headline.get("label") or region.get("region") or slug

    cells = [f'<div class="label">{_e(label)}</div>']
    name = region.get("region")
    if name and str(name) != str(label):
        cells.append(f'<div class="slug">{_e(name)}</div>')
    if region.get("error"):
        cells.append(f'<div class="error">{_e(region["error"])}</div>')

    links = []
    for item in region.get("notebooks") or []:
        nb_name = str(item.get("notebook") or "")
        nb_status = str(item.get("status") or "skipped")
        caption = _e(notebook_title(nb_name, lang))
        href = item.get("html")
        if href and (run_dir / href).exists():
            tip = f' title="{_e(item["error"])}"' if item.get("error") else ""
            entry = f'<a href="{_href(href)}"{tip}>{caption}</a>'
        else:
            entry = caption
        if nb_status != "ok":
            entry += f" ({_e(text.get(nb_status, nb_status))})"
        links.append(f'<li class="{_e(_css(nb_status))}">{entry}</li>')

    tier_html = _tier_html(headline, lang)
    return (
        f'<tr class="{_e(_css(status))}" id="region-{_e(slug)}">'
        f'<td>{"".join(cells)}</td>'
        f'<td><span class="status {_e(_css(status))}">{_e(text.get(status, status))}</span></td>'
        f'<td class="num">{_fmt_int(headline.get("customers"))}</td>'
        f'<td class="num">{_fmt_int(headline.get("active_customers"))}</td>'
        f'<td class="num">{_fmt_money(headline.get("revenue"), currency)}</td>'
        f'<td class="num">{_fmt_growth(headline.get("growth_yoy"))}</td>'
        f"<td>{tier_html}</td>"
        f'<td><ul class="links">{"".join(links)}</ul></td>'
        "</tr>"
    )


def _day(value: Any) -> str:
    """``2025-12-31 00:00:00`` -> ``2025-12-31``; other text as it is."""
    text = "" if value is None else str(value).strip()
    for midnight in (" 00:00:00", "T00:00:00"):
        if text.endswith(midnight):
            return text[: -len(midnight)]
    return text


def _period(run_dir: Path, regions: list[dict], meta: dict) -> str:
    if meta.get("period"):
        return str(meta["period"])
    for region in regions:  # the whole market comes first
        slug = region.get("slug")
        headline = region.get("headline")
        if not isinstance(headline, dict):
            headline = _read_json(run_dir / str(slug) / "headline.json") if slug else {}
        start, end = _day(headline.get("period_start")), _day(headline.get("period_end"))
        if start and end:
            try:
                return Period.between(start, end).label()
            except ValueError:  # not dates: shown as they are
                pass
        if start or end:
            return f"{start or '…'} – {end or '…'}"
    return ""


def _monitoring_html(run_dir: Path, lang: str, currency: str) -> str:
    """The run comparison (``monitoring.json`` by ``helpers.analysis.monitor``), when present."""
    data = _read_json(run_dir / "monitoring.json")
    rows = [r for r in data.get("regions") or [] if isinstance(r, dict)]
    if not rows:
        return ""
    text = words("monitoring", lang)
    body = []
    for r in rows:
        revenue = (f"{_fmt_money(r.get('revenue_before'), currency)} → "
                   f"{_fmt_money(r.get('revenue_now'), currency)} "
                   f"({_fmt_growth(r.get('revenue_change'))})")
        blank = ", ".join(map(str, r.get("newly_blank") or [])) or "—"
        hot = ", ".join(map(str, r.get("newly_hot") or [])) or "—"
        slug = str(r.get("slug") or "")
        body.append(
            f'<tr id="monitoring-{_e(slug)}"><td class="label">{_e(r.get("label") or slug)}</td>'
            f'<td class="num">{revenue}</td><td class="num">{_fmt_int(r.get("tier_changes"))}</td>'
            f"<td>{_e(blank)}</td><td>{_e(hot)}</td>"
            f'<td class="num">{_fmt_int(r.get("champions_to_at_risk"))}</td></tr>')
    run = Path(str(data.get("baseline_run") or "")).name
    return (f'<section class="monitoring"><h2>{_e(text["title"].format(run=run))}</h2>'
            f"<table><thead><tr><th>{text['region']}</th><th class=\"num\">{text['revenue']}</th>"
            f"<th class=\"num\">{text['tiers']}</th><th>{text['blank']}</th>"
            f"<th>{text['hot']}</th><th class=\"num\">{text['champions']}</th></tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></section>")


def write_index(run_dir: Path, regions: list[dict], *, meta: dict | None = None) -> Path:
    """Write the run's landing page ``run_dir/index.html`` and return its path.

    Parameters
    ----------
    run_dir : Path
        ``reports/<run_id>``; links are relative to it.
    regions : list of dict
        One per region, in display order, as in ``manifest.json``: ``region``
        (name), ``label``, ``slug``, ``status`` (ok, failed, interrupted, not run,
        running), ``error`` (message or None), ``notebooks`` (list of dicts with
        ``notebook`` (file name), ``status`` (also skipped), ``html`` (path relative
        to ``run_dir``) and ``error``) and optionally ``headline`` (else read from
        ``<slug>/headline.json`` when present: ``customers``,
        ``active_customers``, ``revenue``, ``growth_yoy``, ``period_start``,
        ``period_end``, ``tier``).
    meta : dict, optional
        Run facts, as in ``manifest.json`` (``run_id``, ``started``,
        ``duration_seconds``, ``project``, ``currency``, ``parameters``,
        ``git_commit``, ``prep``, ``status``); read from ``run_dir/manifest.json``
        when omitted. A run ``interrupted`` or still ``running`` gets a banner saying so.

    Notes
    -----
    The page is self-contained (inline CSS, no scripts) and prints cleanly.
    Every string from data, config or error messages is HTML-escaped.
    """
    run_dir = Path(run_dir)
    if meta is None:
        meta = _read_json(run_dir / "manifest.json")
    parameters = meta.get("parameters") if isinstance(meta.get("parameters"), dict) else {}
    lang = "zh" if parameters.get("lang") == "zh" else "en"
    text = words("index", lang)
    run_id = str(meta.get("run_id") or run_dir.name)
    project = str(meta.get("project") or "")
    currency = str(meta.get("currency") or "")

    n = len(regions)
    ok = sum(1 for r in regions if r.get("status") == "ok")
    failed = sum(1 for r in regions if r.get("status") == "failed")
    summary = text["summary"].format(ok=ok, n=n)
    if failed:
        summary += f'<span class="bad">{text["summary_failed"].format(failed=failed)}</span>'
    for status, key in (("interrupted", "summary_interrupted"), ("not run", "summary_not_run")):
        count = sum(1 for r in regions if r.get("status") == status)
        if count:
            summary += f'<span class="bad">{text[key].format(count=count)}</span>'

    facts = [f"<span>{text['title']} <b>{_e(run_id)}</b></span>"]
    period = _period(run_dir, regions, meta)
    if period:
        facts.append(f"<span>{text['period']} <b>{_e(period)}</b></span>")
    if meta.get("started"):
        facts.append(f"<span>{text['started']} <b>{_e(meta['started'])}</b></span>")
    if meta.get("duration_seconds") is not None:
        facts.append(
            f"<span>{text['duration']} <b>{_e(_fmt_seconds(meta['duration_seconds']))}</b></span>"
        )

    prep = meta.get("prep") if isinstance(meta.get("prep"), dict) else {}
    prep_banner = ""
    if prep.get("status") in ("failed", "interrupted"):
        key = "prep_failed" if prep["status"] == "failed" else "prep_interrupted"
        prep_banner = (
            f'<div class="banner-bad">{_e(text[key])}\n{_e(prep.get("error") or "")}</div>'
        )
    elif meta.get("status") in ("interrupted", "running"):
        key = "run_interrupted" if meta["status"] == "interrupted" else "run_running"
        prep_banner = f'<div class="banner-bad">{_e(text[key].format(run_id=run_id))}</div>'

    rows = "".join(_region_row(run_dir, r, text, currency, lang) for r in regions)
    table = (
        "<table><thead><tr>"
        f"<th>{text['region']}</th><th>{text['status']}</th>"
        f"<th class=\"num\">{text['customers']}</th><th class=\"num\">{text['active']}</th>"
        f"<th class=\"num\">{text['revenue']}</th><th class=\"num\">{text['growth']}</th>"
        f"<th>{text['tier']}</th><th>{text['reports']}</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
        if regions
        else f"<p>{text['no_regions']}</p>"
    )

    shown = {k: v for k, v in parameters.items() if k in ("regions", "period_end", "lang", "mask_pii")}
    footer_bits = [f'<a href="manifest.json">{text["manifest"]}</a>']
    if shown:
        footer_bits.append(
            f"{text['parameters']}: "
            + ", ".join(f"{_e(k)}={_e(v if v != '' else '—')}" for k, v in shown.items())
        )
    if meta.get("git_commit"):
        footer_bits.append(f"{text['commit']} {_e(str(meta['git_commit'])[:12])}")

    heading = f"{_e(project)} — {text['title']} {_e(run_id)}" if project else f"{text['title']} {_e(run_id)}"
    page = f"""<!DOCTYPE html>
<html lang="{'zh-CN' if lang == 'zh' else 'en'}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{heading}</title>
<style>{_INDEX_CSS}</style>
</head>
<body>
<header>
<h1>{heading}</h1>
<div class="facts">{"".join(facts)}</div>
</header>
<main>
<p class="summary">{summary}</p>
{prep_banner}
{table}
{_monitoring_html(run_dir, lang, currency)}
</main>
<footer>{" · ".join(footer_bits)}</footer>
</body>
</html>
"""
    return files.write_atomic(run_dir / "index.html", page)
