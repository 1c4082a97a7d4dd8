"""The run's landing page ``index.html``: one entry per region, rendered from a template.

The page is ``templates/index.html.j2`` (Jinja2, autoescape on); this module only
gathers what it shows from the run record (``manifest.json``), each region's
``headline.json`` and the run comparison (``monitoring.json``), with the words from
the text catalog (:func:`helpers.text.lookup.words`). Every value reaches the page
through the template engine, which escapes it with
:func:`helpers.text.markup.html_text` (the environment's ``finalize``): markup comes
from the template file only, and nothing from the data is marked safe.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
import pandas as pd
from markupsafe import Markup

from helpers import files
from helpers.analysis.tiers import TIERS
from helpers.period import Period
from helpers.run.render import notebook_title
from helpers.text.format import currency_name, format_money
from helpers.text.lookup import join, region_label, term, translate, words
from helpers.text.markup import html_text
from helpers.text.tables import header

__all__ = ["write_index", "index_page"]



def _escaped(value: Any) -> Markup:
    """Every ``{{ value }}`` of the template: escaped as text, unless the template made it.

    Output of the template's own macros and blocks is already :class:`Markup`
    (escaped as it was built); anything else is text from the data, the config, the
    catalog or an error message.
    """
    return value if isinstance(value, Markup) else Markup(html_text(value))


@cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment of the run's pages: the package's templates, autoescape on."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("helpers.run", "templates"),
        autoescape=True,
        finalize=_escaped,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else number


def _count(value: Any) -> str | None:
    """``1500`` -> ``1,500``; None when not a number (the page shows a dash)."""
    number = _number(value)
    return None if number is None else f"{number:,.0f}"


def _money(value: Any, lang: str, *, signed: bool = False) -> str | None:
    """An amount as the report tables show it (``427 M``, ``4.27亿``); None when missing."""
    number = _number(value)
    return None if number is None else format_money(number, lang, signed=signed)


def _growth(value: Any) -> dict | None:
    """A growth rate as text (``+2.9%``) and its colour class (up, down); None when missing."""
    number = _number(value)
    if number is None:
        return None
    return {"text": f"{number:+.1%}", "css": "up" if number > 0 else "down" if number < 0 else ""}


def _duration(value: Any) -> str:
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
    return quote(str(path).replace("\\", "/"))


def _headline(run_dir: Path, region: dict) -> dict:
    """The region's ``headline`` from its record, else from ``<slug>/headline.json``."""
    headline = region.get("headline")
    if isinstance(headline, dict):
        return headline
    slug = region.get("slug")
    return _read_json(run_dir / str(slug) / "headline.json") if slug else {}


def _tiers(headline: dict, lang: str, *, single: bool = False) -> list[dict]:
    """How many of the report's regions are in each tier (``headline.json``'s ``tiers``);
    ``single``: a city report, whose one region's tier is shown without a count.

    Falls back to the single ``tier`` of older runs; empty when step 5 did not run.
    """
    counts = headline.get("tiers")
    if isinstance(counts, dict) and counts:
        names = [t for t in TIERS if t in counts] + sorted(
            str(t) for t in counts if t not in TIERS)
        if single:
            return [{"css": t, "name": term("tier", t, lang), "count": None, "title": None}
                    for t in names]
        return [{"css": t, "name": term("tier", t, lang), "count": _count(counts[t]),
                 "title": f"{t}: {_count(counts[t]) or '—'}"} for t in names]
    tier = headline.get("tier")
    if tier in (None, ""):
        return []
    return [{"css": None, "name": tier, "count": None, "title": None}]


def _links(run_dir: Path, region: dict, text: dict, lang: str) -> list[dict]:
    """The region's reports, one per notebook: linked when its page exists."""
    links = []
    for item in region.get("notebooks") or []:
        status = str(item.get("status") or "skipped")
        href = item.get("html")
        linked = bool(href) and (run_dir / href).exists()
        links.append({
            "css": _css(status),
            "caption": notebook_title(str(item.get("notebook") or ""), lang),
            "href": _href(href) if linked else None,
            "tip": item.get("error") if linked else None,
            "note": None if status == "ok" else text.get(status, status),
        })
    return links


def _no_region(headline: dict, text: dict) -> str | None:
    """"of which N in no region" when the headline counts customers in no region row."""
    lines = headline.get("no_region")
    count = _number(lines.get("customers")) if isinstance(lines, dict) else None
    return text["no_region_customers"].format(n=int(count)) if count else None


def _row(run_dir: Path, region: dict, text: dict, lang: str) -> dict:
    """What the page shows of one region."""
    slug = str(region.get("slug") or "")
    headline = _headline(run_dir, region)
    status = str(region.get("status") or "skipped")
    label = region.get("label") or headline.get("label") or region.get("region") or slug
    name = region.get("region")
    return {
        "slug": slug, "css": _css(status), "status": text.get(status, status), "label": label,
        "name": name if name and str(name) != str(label) else None,
        "error": region.get("error"),
        "customers": _count(headline.get("customers")),
        "no_region": _no_region(headline, text),
        "active": _count(headline.get("active_customers")),
        "revenue": _money(headline.get("revenue"), lang),
        "growth": _growth(headline.get("growth_yoy")),
        "tiers": _tiers(headline, lang, single=region.get("kind") == "city"),
        "links": _links(run_dir, region, text, lang),
        "downloads": _downloads(run_dir, slug, text),
    }


#: Files of a region folder the index links (the exports a manager forwards).
DOWNLOADS = ("actions.xlsx", "campaign_list.csv", "budget.csv")


def _downloads(run_dir: Path, slug: str, text: dict) -> list[dict]:
    """The region's exports that exist, as links relative to the run folder."""
    if not slug:
        return []
    return [{"href": _href(f"{slug}/{name}"), "caption": text[f"download_{name.split('.')[0]}"],
             "file": name}
            for name in DOWNLOADS if (run_dir / slug / name).is_file()]


def _read_csv(path: Path) -> pd.DataFrame | None:
    """A CSV of the run (:func:`helpers.files.read_csv`); None when missing or unreadable."""
    if not path.is_file():
        return None
    try:
        return files.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError):
        return None


def _market(regions: list[dict]) -> dict | None:
    """The whole market's record: the region of kind ``all`` (else slug ``all``)."""
    for region in regions:
        if region.get("kind") == "all" or str(region.get("slug") or "") == "all":
            return region
    return None


def _figures(headline: dict, lang: str, currency: str) -> list[dict]:
    """The market's headline figures, each saying which population it counts
    (``population_meaning`` in the catalog)."""
    text, meaning = words("index", lang), words("population_meaning", lang)
    months = _number(headline.get("active_months"))
    figures = []
    for key, value, counts in (
            ("customers", _count(headline.get("customers")), meaning["all"]),
            ("active", _count(headline.get("active_customers")),
             meaning["active"].format(months=int(months)) if months is not None else None),
            ("revenue", _money(headline.get("revenue"), lang), meaning["revenue"])):
        if value is None:
            continue
        unit = header("revenue", "money", lang, currency) if key == "revenue" else text[key]
        figures.append({"key": key, "label": unit, "value": value, "population": counts})
    growth = _growth(headline.get("growth_yoy"))
    if growth is not None:
        figures.append({"key": "growth", "label": text["growth"], "value": growth,
                        "population": text["growth_basis"]})
    return figures


def _legend(headline: dict, lang: str) -> list[tuple[str, str]]:
    """What each population word of the page means (the note under the regions)."""
    population, meaning = words("population", lang), words("population_meaning", lang)
    shown = [(population["all"], meaning["all"])]
    months = _number(headline.get("active_months"))
    if months is not None:
        shown.append((population["active"], meaning["active"].format(months=int(months))))
    shown.append((population["revenue"], meaning["revenue"]))
    return shown


def _region_name(region: str, names: pd.DataFrame | None, lang: str) -> str:
    """A province (or city) as the page names it: its English name in English."""
    if names is not None:
        row = names.loc[names["region"] == region]
        if len(row):
            return region_label(row.iloc[0].to_dict(), lang)
    return region_label({"region": region}, lang)


def _budget_move(folder: Path, lang: str, currency: str, text: dict) -> dict | None:
    """The budget's direction: how much moves, towards which regions, from which."""
    plan = _read_json(folder / "budget.json").get("summary")
    table = _read_csv(folder / "budget.csv")
    if not isinstance(plan, dict) or not plan or table is None or "change" not in table:
        return None
    moved, total = _money(plan.get("moved"), lang), _money(plan.get("total"), lang)
    if moved is None or total is None or not _number(plan.get("moved")):
        return None
    table = table.assign(change=pd.to_numeric(table["change"], errors="coerce"))
    up = table.loc[table["change"] > 0].sort_values("change", ascending=False).head(3)
    down = table.loc[table["change"] < 0].sort_values("change").head(3)

    def named(rows: pd.DataFrame) -> str:
        return join([f"{_region_name(r['region'], table, lang)} "
                     f"{format_money(r['change'], lang, signed=True)}"
                     for r in rows.to_dict("records")], lang)

    money = currency_name(currency, lang) if currency else ""
    sentence = text["move_budget"].format(moved=moved, total=total, currency=money,
                                          up=named(up) if len(up) else "—")
    if len(down):
        sentence += text["move_budget_from"].format(down=named(down))
    return {"text": sentence, "href": _href(f"{folder.name}/budget.csv")}


def _tier_actions(folder: Path, lang: str, text: dict) -> list[dict]:
    """The first action of each tier (playbook order) and the regions it is for."""
    actions, tiers = _read_csv(folder / "actions.csv"), _read_csv(folder / "region_tiers.csv")
    if actions is None or not {"tier", "action", "region"} <= set(actions.columns):
        return []
    moves = []
    for tier in TIERS:
        rows = actions.loc[actions["tier"] == tier]
        if not len(rows):
            continue
        regions = list(dict.fromkeys(rows["region"].astype(str)))
        names = [_region_name(r, tiers, lang) for r in regions[:4]]
        more = text["and_more"].format(n=len(regions) - 4) if len(regions) > 4 else ""
        moves.append({"css": tier, "tier": term("tier", tier, lang),
                      "action": str(translate(rows[["action"]].head(1), lang, ["action"])
                                    .iloc[0, 0]),
                      "regions": join(names, lang) + more})
    return moves


def _tier_overview(folder: Path, headline: dict, lang: str, text: dict) -> list[dict]:
    """Regions per tier with their names (largest revenue first), in the tiers' order."""
    tiers = _read_csv(folder / "region_tiers.csv")
    if tiers is None or not {"region", "tier"} <= set(tiers.columns):
        return [{**t, "names": ""} for t in _tiers(headline, lang)]
    if "revenue" in tiers:
        tiers = tiers.assign(revenue=pd.to_numeric(tiers["revenue"], errors="coerce"))
        tiers = tiers.sort_values("revenue", ascending=False, kind="mergesort")
    out = []
    for tier in [t for t in TIERS if t in set(tiers["tier"])]:
        rows = tiers.loc[tiers["tier"] == tier]
        names = [region_label(r, lang) for r in rows.head(6).to_dict("records")]
        more = text["and_more"].format(n=len(rows) - 6) if len(rows) > 6 else ""
        out.append({"css": tier, "name": term("tier", tier, lang), "count": _count(len(rows)),
                    "title": None, "names": join(names, lang) + more})
    return out


def _driver(headline: dict, slug: str, lang: str, currency: str, text: dict) -> dict | None:
    """Why the market's revenue changed: its change on the previous period and the largest
    driver of the revenue bridge (``headline.json``'s ``bridge``, step 4); None without one."""
    bridge = headline.get("bridge")
    if not isinstance(bridge, dict) or not isinstance(bridge.get("driver"), str):
        return None
    change, before = _number(bridge.get("change")), _number(bridge.get("revenue_prev"))
    amount = _money(bridge.get("driver_amount"), lang, signed=True)
    if change is None or amount is None:
        return None
    moved = f"{change / before:+.1%}" if before else _money(change, lang, signed=True)
    return {"text": text["change_driver"].format(
                change=moved, driver=term("driver", bridge["driver"], lang), amount=amount,
                currency=currency_name(currency, lang) if currency else ""),
            "href": _href(f"{slug}/revenue_bridge.csv")}


def _story(run_dir: Path, regions: list[dict], lang: str, currency: str, text: dict
           ) -> dict | None:
    """The whole market's story for the first screen; None when the run has no such region.

    Its headline figures (with the population each counts), why revenue changed (the
    revenue bridge's largest driver, :func:`_driver`), the executive summary's
    findings (``executive_summary.json``, written by step 5 in the run's language), the
    recommended moves (the budget's direction from ``budget.json``/``budget.csv`` and the
    first action per tier from ``actions.csv``), and the regions per tier.
    """
    market = _market(regions)
    if market is None:
        return None
    slug = str(market.get("slug") or "")
    folder = run_dir / slug
    headline = _headline(run_dir, market)
    summary = _read_json(folder / "executive_summary.json")
    findings = [str(f.get("text")) for f in summary.get("findings") or []
                if isinstance(f, dict) and f.get("text")]
    move = _budget_move(folder, lang, currency, text)
    story = {
        "label": market.get("label") or headline.get("label") or slug,
        "figures": _figures(headline, lang, currency),
        "no_region": _no_region(headline, text),
        "findings": findings,
        "objective": _read_json(folder / "goals.json").get("title") or None,
        "budget": move,
        "driver": _driver(headline, slug, lang, currency, text),
        "actions": _tier_actions(folder, lang, text),
        "tiers": _tier_overview(folder, headline, lang, text),
        "links": _links(run_dir, market, text, lang),
        "downloads": _downloads(run_dir, slug, text),
        "legend": _legend(headline, lang),
    }
    if not (story["figures"] or findings):
        return None
    return story


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
        headline = _headline(run_dir, region)
        start, end = _day(headline.get("period_start")), _day(headline.get("period_end"))
        if start and end:
            try:
                return Period.between(start, end).label()
            except ValueError:  # not dates: shown as they are
                pass
        if start or end:
            return f"{start or '…'} – {end or '…'}"
    return ""


def _monitoring(run_dir: Path, lang: str) -> dict | None:
    """The run comparison (``monitoring.json`` by ``helpers.analysis.monitor``), when present."""
    data = _read_json(run_dir / "monitoring.json")
    rows = [r for r in data.get("regions") or [] if isinstance(r, dict)]
    if not rows:
        return None
    run = Path(str(data.get("baseline_run") or "")).name
    return {
        "title": words("monitoring", lang)["title"].format(run=run),
        "rows": [{
            "slug": str(r.get("slug") or ""),
            "label": r.get("label") or str(r.get("slug") or ""),
            "revenue_before": _money(r.get("revenue_before"), lang),
            "revenue_now": _money(r.get("revenue_now"), lang),
            "revenue_change": _growth(r.get("revenue_change")),
            "tier_changes": _count(r.get("tier_changes")),
            "newly_blank": ", ".join(map(str, r.get("newly_blank") or [])) or "—",
            "newly_hot": ", ".join(map(str, r.get("newly_hot") or [])) or "—",
            "champions_to_at_risk": _count(r.get("champions_to_at_risk")),
        } for r in rows],
    }


def _summary(regions: list[dict], text: dict) -> tuple[str, list[str]]:
    """``5 of 8 regions ok`` and the parts shown in red (failed, interrupted, not run)."""
    def count(status: str) -> int:
        return sum(1 for r in regions if r.get("status") == status)

    bad = []
    if count("failed"):
        bad.append(text["summary_failed"].format(failed=count("failed")))
    for status, key in (("interrupted", "summary_interrupted"), ("not run", "summary_not_run")):
        if count(status):
            bad.append(text[key].format(count=count(status)))
    return text["summary"].format(ok=count("ok"), n=len(regions)), bad


def _banner(meta: dict, text: dict, run_id: str) -> dict | None:
    """A failed or interrupted prep, or a run interrupted or not finished; None when none."""
    prep = meta.get("prep") if isinstance(meta.get("prep"), dict) else {}
    if prep.get("status") in ("failed", "interrupted"):
        key = "prep_failed" if prep["status"] == "failed" else "prep_interrupted"
        return {"title": text[key], "detail": prep.get("error") or ""}
    if meta.get("status") in ("interrupted", "running"):
        key = "run_interrupted" if meta["status"] == "interrupted" else "run_running"
        return {"title": text[key].format(run_id=run_id), "detail": None}
    return None


def _inputs(meta: dict) -> str:
    """The run's input files by name (never their paths), once each."""
    names = [Path(str(item.get("file") or item.get("path") or "")).name
             for item in meta.get("inputs") or [] if isinstance(item, dict)]
    return ", ".join(dict.fromkeys(n for n in names if n))


def _when(value: Any, utc: str) -> str:
    """``2026-12-03T23:09:47Z`` -> ``2026-12-03 23:09 UTC`` (``utc``: the catalog's word);
    other text as it is."""
    text = str(value or "").strip()
    if len(text) >= 16 and text[10] == "T":
        return f"{text[:10]} {text[11:16]}" + (utc if text.endswith("Z") else "")
    return text


def _settings(parameters: dict, lang: str, text: dict) -> str:
    """The run's parameters in words: which regions, where the period ends, whether
    personal data is masked (the objective is said with the findings; the manifest has
    them all, as given)."""
    regions = str(parameters.get("regions") or "")
    if regions in ("territories", "provinces", "cities"):
        parts = [text[f"settings_regions_{regions}"]]
    else:
        names = [_regions_item(n.strip(), text) for n in regions.split(",") if n.strip()]
        parts = [text["settings_regions_named"].format(names=join(names, lang))] if names else []
    end = parameters.get("period_end")
    parts.append(text["settings_period_end"].format(date=end) if end
                 else text["settings_period_last_order"])
    if "mask_pii" in parameters:
        parts.append(text["settings_masked" if parameters["mask_pii"] else "settings_shown"])
    said = join(parts, lang, clauses=True)
    return said[:1].upper() + said[1:]


def _regions_item(item: str, text: dict) -> str:
    """One item of ``--regions`` in words: ALL, ``territories`` ... ``广东:cities``, a name."""
    if item.upper() == "ALL":
        return text["whole_market"]
    if item in ("territories", "provinces", "cities"):
        return text[f"settings_regions_{item}"]
    where, separator, last = item.rpartition(":")
    if separator and last.strip() == "cities":
        return text["settings_cities_of"].format(name=where.strip())
    return item


def _city_groups(run_dir: Path, regions: list[dict], rows: list[dict], text: dict,
                 lang: str, currency: str, provinces: dict[str, str]) -> list[dict]:
    """The city regions by province, in run order: each group's province (its name in
    ``lang``, the anchor of its own card when the run has one: ``provinces``, name ->
    slug), the cities' cards and a
    line counting them (and their revenue). A group is open when it is the only one or
    when one of its cities is not ok, so a failure is never folded away."""
    from helpers.geo.scope import slugify
    from helpers.text.lookup import region_label

    groups: dict[str, dict] = {}
    for region, row in zip(regions, rows, strict=True):
        province = str(region.get("province") or "")
        label = region_label({"region": province}, lang) if province else ""
        group = groups.setdefault(province, {
            "province": province, "label": label or province,
            "slug": slugify(region_label({"region": province}, "en") or province),
            "anchor": provinces.get(province), "rows": [], "revenue": 0.0, "bad": 0})
        group["rows"].append(row)
        revenue = _number(_headline(run_dir, region).get("revenue"))
        group["revenue"] += revenue or 0.0
        group["bad"] += region.get("status") != "ok"
    out = []
    for group in groups.values():
        n = len(group["rows"])
        line = text["city_group" if n != 1 else "city_group_one"].format(n=n, ok=n - group["bad"])
        if group["bad"]:
            line += text["city_group_failed"].format(failed=group["bad"])
        money = _money(group["revenue"], lang)
        if money is not None and group["revenue"]:
            line += text["city_group_revenue"].format(
                revenue=f"{money} {currency}" if currency else money)
        out.append({**group, "summary": line,
                    "open": len(groups) == 1 or bool(group["bad"])})
    return out


def index_page(run_dir: Path, regions: list[dict], meta: dict) -> str:
    """The HTML of the run's landing page (see :func:`write_index` for the arguments)."""
    run_dir = Path(run_dir)
    parameters = meta.get("parameters") if isinstance(meta.get("parameters"), dict) else {}
    lang = "zh" if parameters.get("lang") == "zh" else "en"
    text = words("index", lang)
    run_id = str(meta.get("run_id") or run_dir.name)
    currency = str(meta.get("currency") or "")
    facts = []
    period = _period(run_dir, regions, meta)
    if period:
        facts.append((text["period"], period))
    inputs = _inputs(meta)
    if inputs:
        facts.append((text["data"], inputs))
    if meta.get("started"):
        facts.append((text["started"], _when(meta["started"], text["utc"])))
    if meta.get("duration_seconds") is not None:
        facts.append((text["duration"], _duration(meta["duration_seconds"])))
    if parameters:
        facts.append((text["settings"], _settings(parameters, lang, text)))
    summary, summary_bad = _summary(regions, text)
    story = _story(run_dir, regions, lang, currency, text)
    market = _market(regions) if story is not None else None
    # cities are grouped under their provinces, after the other regions' cards
    cities = [r for r in regions if r is not market and r.get("kind") == "city"]
    others = [r for r in regions if r is not market and r.get("kind") != "city"]
    return environment().get_template("index.html.j2").render(
        lang=lang, text=text, monitoring_text=words("monitoring", lang),
        run_id=run_id, project=str(meta.get("project") or ""),
        currency=currency_name(currency, lang) if currency else "", facts=facts,
        summary=summary, summary_bad=summary_bad, banner=_banner(meta, text, run_id),
        story=story,
        revenue_header=header("revenue", "money", lang, currency) if currency
        else text["revenue"],
        rows=[_row(run_dir, region, text, lang) for region in others],
        groups=_city_groups(run_dir, cities, [_row(run_dir, r, text, lang) for r in cities],
                            text, lang, currency_name(currency, lang) if currency else "",
                            {str(r.get("region")): str(r.get("slug") or "") for r in others
                             if r.get("kind") == "province"}),
        monitoring=_monitoring(run_dir, lang),
        commit=str(meta["git_commit"])[:12] if meta.get("git_commit") else "",
    )


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
        ``period_end``, ``active_months``, ``tiers`` (regions per tier) or the ``tier``
        of older runs). The region of kind ``all`` (the whole market) is told as the
        page's story from its folder's ``executive_summary.json``, ``budget.json``,
        ``budget.csv``, ``actions.csv`` and ``region_tiers.csv`` when present; every
        other region gets a card.
    meta : dict, optional
        Run facts, as in ``manifest.json`` (``run_id``, ``started``,
        ``duration_seconds``, ``project``, ``currency``, ``parameters``,
        ``git_commit``, ``prep``, ``status``); read from ``run_dir/manifest.json``
        when omitted. A run ``interrupted`` or still ``running`` gets a banner saying so.

    Returns
    -------
    Path
        ``run_dir/index.html``, written whole or not at all.

    Notes
    -----
    The page is self-contained (inline CSS, no scripts) and prints cleanly.
    Every string from data, config or error messages is HTML-escaped.
    """
    run_dir = Path(run_dir)
    if meta is None:
        meta = _read_json(run_dir / "manifest.json")
    return files.write_atomic(run_dir / "index.html", index_page(run_dir, regions, meta))
