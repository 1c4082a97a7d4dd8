"""Step 1, goals: the analysis brief, its data checks and the tables notebook 01 shows.

The analyst picks an objective (the notebooks' ``objective`` parameter, checked by
:func:`helpers.context.open_step`); what it means (its KPIs, thresholds and what the
later steps put first) is in :mod:`helpers.catalog`. The brief (:func:`goals_brief`,
saved by :func:`save_brief` as ``goals.json``) states the objective, its KPIs, the
period against its baseline and whether the configured data can answer the
question, so that a missing input (marketing spend for ROI, partner firmographics
for A/B/C tiers) is a warning in step 1, not a crash in step 4.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from helpers.analysis.budget import spend_by_region
from helpers.catalog import KPIS, get_objective
from helpers.config import ConfigError, Partners
from helpers.context import Context
from helpers.files import write_json
from helpers.geo.reference import REFERENCE_SOURCES, has_region_reference
from helpers.period import Period
from helpers.steps.prep import line_counts
from helpers.text.format import currency_name
from helpers.text.lookup import headers, join, label, lang_code, say, term, text
from helpers.text.markup import md_text

__all__ = [
    "data_checks",
    "goals_brief",
    "save_brief",
    "load_brief",
    "question",
    "data_note",
    "checks_table",
    "brief_table",
    "kpi_table",
    "threshold_table",
    "first_table",
    "assumption_list",
    "kpi_name",
    "kpi_words",
    "section_titles",
    "first_note",
    "objective_note",
]


_FIRMOGRAPHICS = ("business_model", "headcount", "registered_capital", "years_active",
                  "main_product_tier")


def _count_in(frame, column: str) -> int:
    return int(frame[column].notna().sum()) if column in frame else 0


def data_checks(ctx: Context) -> dict[str, dict]:
    """What the configured data holds for each need in :data:`DATA_NEEDS`.

    Returns
    -------
    dict
        need -> ``{"available": bool, "detail": str, "what": str}``.
    """
    customers, p = ctx.customers, ctx.period
    counts = line_counts(ctx)
    in_period, in_baseline = int(counts["in_period"]), int(counts["in_baseline"])
    city = ctx.scope.kind == "city"  # spend is by province: none can be a city's
    spend = spend_by_region(ctx.prep.spend, [] if city else ctx.scope.provinces, p)
    spend = spend[spend["marketing_spend"] > 0]
    located = _count_in(customers, ctx.scope.sublevel)
    firmo = [c for c in _FIRMOGRAPHICS if _count_in(ctx.prep.customers, c) > 0]
    partners = ctx.prep.customers
    with_firmo = int(partners[firmo].notna().any(axis=1).sum()) if firmo else 0
    contacts = max(_count_in(customers, "phone"), _count_in(customers, "email"))
    reps = ctx.prep.reps
    country = ctx.config.geography.country
    population_ok = ctx.scope.sublevel == "province" and has_region_reference(country)
    reference = REFERENCE_SOURCES.get(country, {})
    lang = ctx.lang
    checks = {
        "customers": (len(customers) > 0, say("check_customers", lang, n=len(customers))),
        "locations": (located > 0, say("check_locations", lang, located=located, n=len(customers),
                                       level=term("level", ctx.scope.sublevel, lang))),
        "orders": (in_period > 0, say("check_orders", lang, n=in_period)),
        "baseline_orders": (in_baseline > 0,
                            say("check_baseline_orders", lang, n=in_baseline)),
        "population": (population_ok, say(
            "check_population_ok" if reference.get("gdp_year") else "check_population_only",
            lang, year=reference.get("population_year")) if population_ok else say(
            "check_population_no" if ctx.scope.sublevel != "province"
            else "check_population_none", lang)),
        "spend": (not spend.empty, say("check_spend_ok", lang,
                                       total=spend["marketing_spend"].sum(), n=len(spend),
                                       currency=currency_name(ctx.config.project.currency, lang))
                  if not spend.empty else say("check_spend_city" if city else "check_spend_no",
                                              lang)),
        "reps": (not reps.empty, say("check_reps_ok", lang, n=len(reps)) if not reps.empty
                 else say("check_reps_no", lang)),
        "firmographics": (with_firmo > 0 and len(firmo) >= 3,
                          say("check_firmographics_ok", lang, n=with_firmo,
                              columns=join([label(c, lang) for c in firmo], lang))
                          if firmo else say("check_firmographics_no", lang)),
        "contacts": (contacts > 0, say("check_contacts", lang, n=contacts)),
    }
    return {need: {"available": bool(ok), "detail": detail, "what": text("data_need", need, lang)}
            for need, (ok, detail) in checks.items()}


def _threshold_value(ctx: Context, name: str):
    config = ctx.config
    if name == "partners.tiers":
        return dict(config.partners.tiers)
    if name.startswith("budget."):
        return getattr(config.budget, name.split(".", 1)[1])
    if name.startswith("analysis."):
        return getattr(config.analysis, name.split(".", 1)[1])
    return getattr(config.strategy, name, None)


def _targets(ctx: Context) -> dict[str, float]:
    targets = dict(ctx.config.objectives.targets)
    unknown = sorted(set(targets) - set(KPIS))
    if unknown:
        raise ConfigError(f"{ctx.config.config_path}: objectives.targets: unknown KPI(s) "
                          f"{unknown}; expected some of {list(KPIS)}")
    return targets


def goals_brief(ctx: Context, objective: str | None = None) -> dict:
    """The analysis brief: objective, KPIs, periods, regions in scope and data checks.

    Parameters
    ----------
    ctx : Context
        The notebook context (:func:`helpers.context.open_step`).
    objective : str, optional
        A key of :data:`helpers.catalog.OBJECTIVES`; default: the context's.

    Returns
    -------
    dict
        ``objective``, ``objective_text``, ``question``, ``region``,
        ``region_label``, ``provinces_in_scope``, ``regions_compared`` (the
        level regions are compared at), ``period_start``/``period_end``,
        ``baseline_start``/``baseline_end``, ``baseline`` (in words), ``kpis``
        (the objective's KPIs: ``kpi``, ``definition``, ``formula``,
        ``unit``, ``better``, ``target``, ``needs``, ``available``),
        ``thresholds`` (name -> value), ``first`` (step -> sections first),
        ``data`` (``customers`` and ``orders`` counts, ``available``: need -> bool), ``data_checks`` (need ->
        available, detail), ``warnings`` and ``assumptions``.
    """
    chosen = get_objective(objective or ctx.objective)
    p, lang = ctx.period, ctx.lang
    currency = ctx.config.project.currency
    checks = data_checks(ctx)
    targets = _targets(ctx)
    kpis = []
    for key in chosen.kpis:
        item = KPIS[key]
        missing = [n for n in item["needs"] if not checks[n]["available"]]
        kpis.append({"kpi": key, **kpi_words(key, lang, currency=currency,
                                             partner_points=ctx.config.partners.tiers),
                     "better": item["better"],
                     "target": targets.get(key), "needs": ", ".join(item["needs"]),
                     "available": not missing, "missing": missing})
    warnings = []
    for kpi in kpis:
        for need in kpi["missing"]:
            warnings.append(say("warn_kpi", lang, kpi=kpi_name(kpi["kpi"], lang),
                                what=checks[need]["what"], detail=checks[need]["detail"]))
    # Data every objective leans on.
    for need in ("customers", "orders", "baseline_orders"):
        if not checks[need]["available"] and not any(need in k["missing"] for k in kpis):
            warnings.append(say("warn_need", lang, what=checks[need]["what"],
                                detail=checks[need]["detail"]))
    min_customers = ctx.config.analysis.min_customers
    if len(ctx.customers) < min_customers:
        warnings.append(say("warn_small", lang, n=len(ctx.customers), min=min_customers))
    assumptions = [
        say("assume_period", lang, start=f"{p.first_day:%Y-%m-%d}", end=f"{p.end:%Y-%m-%d}",
            months=p.months),
        say("assume_region", lang),
        say("assume_rules", lang),
    ]
    if checks["population"]["available"]:
        assumptions.append(say("assume_expected", lang))
    if "spend" in {n for k in chosen.kpis for n in KPIS[k]["needs"]}:
        assumptions.append(say("assume_response", lang, elasticity=ctx.config.budget.elasticity))
    words = chosen.words(lang, currency=currency)
    title, question = words["title"], words["question"]
    return {
        "objective": chosen.key,
        "lang": lang,
        "objective_text": f"{title}: {question}",
        "title": title,
        "question": question,
        "region": ctx.scope.name,
        "region_label": ctx.scope.label(ctx.lang),
        "provinces_in_scope": list(ctx.scope.provinces),
        "regions_compared": ctx.scope.sublevel,
        **({"benchmark_regions": _market_cities(ctx)} if ctx.scope.kind == "city" else {}),
        "period_start": p.first_day,
        "period_end": p.end,
        "baseline_start": p.previous.first_day,
        "baseline_end": p.previous.end,
        "baseline": words["baseline"],
        "kpis": kpis,
        "thresholds": {name: _threshold_value(ctx, name) for name in chosen.thresholds},
        "all_thresholds": ctx.config.strategy.model_dump(exclude={"online_channels"}),
        "first": chosen.first,
        "data": {"customers": len(ctx.customers), "orders": int(line_counts(ctx)["lines"]),
                 "available": {need: c["available"] for need, c in checks.items()}},
        "data_checks": checks,
        "warnings": warnings,
        "assumptions": assumptions,
    }


def _market_cities(ctx: Context) -> int:
    """How many cities a city report is judged against: the gazetteer's cities in the
    market's extent (the rows of ``ctx.benchmark``, counted without computing it)."""
    from helpers import geo

    return int(geo.cities()["province"].isin(ctx.market_areas).sum())


def brief_table(brief: dict):
    """The brief as a two-column table (item, value) for the report, in the brief's language."""
    lang = brief.get("lang", "en")
    rows = [
        ("objective", brief["title"]),
        ("question", brief["question"]),
        ("region", brief["region_label"]),
        ("regions compared",
         say("regions_compared_city", lang, n=brief["benchmark_regions"])
         if "benchmark_regions" in brief else
         say("regions_compared", lang, n=len(brief["provinces_in_scope"]),
             level=term("level", brief["regions_compared"], lang))),
        ("period", Period.between(brief["period_start"], brief["period_end"]).label(lang)),
        ("baseline period",
         Period.between(brief["baseline_start"], brief["baseline_end"]).label(lang)),
        ("baseline", brief["baseline"]),
        ("customers in scope", f"{brief['data']['customers']:,}"),
        ("order lines in scope", f"{brief['data']['orders']:,}"),
        ("step 5 puts first", ", ".join(section_titles("05", brief["first"]["05"][:3], lang))),
    ]
    frame = pd.DataFrame([(text("brief", item, lang), value) for item, value in rows],
                         columns=["item", "value"]).set_index("item")
    return headers(frame, lang)


def kpi_table(brief: dict):
    """The objective's KPIs with formula, unit, target and whether the data has them."""
    lang = brief.get("lang", "en")
    frame = pd.DataFrame(brief["kpis"])
    frame = frame.assign(
        target=[_target_text(t, u, b) for t, u, b in
                zip(frame["target"], frame["unit"], frame["better"], strict=True)],
        data=[text("brief", "yes", lang) if ok else text("brief", "MISSING: ", lang) + join(
            [text("data_name", need, lang) for need in m], lang)
              for ok, m in zip(frame["available"], frame["missing"], strict=True)],
        kpi=[kpi_name(k, lang) for k in frame["kpi"]],
    )
    table = frame[["kpi", "definition", "formula", "unit", "target", "data"]].set_index("kpi")
    return headers(table, lang)


def kpi_name(key: str, lang: str = "en") -> str:
    """How a report names a KPI: its key in English (``customers_per_million``), its
    label in Chinese (每百万人客户数)."""
    return key if lang_code(lang) == "en" else term("label", key, lang)


def kpi_words(key: str, lang: str = "en", *, currency: str = "CNY",
              partner_points: Mapping[str, float] | None = None) -> dict[str, str]:
    """``definition``, ``formula`` and ``unit`` of the KPI ``key`` in ``lang``.

    Money is named in ``currency`` (``project.currency``); the partner-tier formula
    shows the thresholds ``partner_points`` (``partners.tiers``: A and B points; default:
    the config's default).
    """
    money = currency_name(currency, lang)
    if key == "partner_tiers":
        points = Partners().tiers if partner_points is None else partner_points
        formula = say("partner_formula", lang, a=points["A"], b=points["B"])
    else:
        formula = text("kpi_formula", key, lang)
    return {"definition": text("kpi_definition", key, lang, currency=money),
            "formula": formula, "unit": text("unit", KPIS[key]["unit"], lang, currency=money)}


def _target_text(target, unit: str, better: str) -> str:
    if target is None or target != target:
        return ""
    sign = "≥" if better == "higher" else "≤" if better == "lower" else "="
    value = f"{target:.0%}" if unit == "%" else f"{target:g}"
    return f"{sign} {value}"


def save_brief(ctx: Context, brief: dict) -> Path:
    """Write ``brief`` to ``goals.json`` in the region folder (read by steps 3 to 5)."""
    return write_json(brief, ctx.out / "goals.json")


def load_brief(ctx: Context, objective: str | None = None) -> dict:
    """The brief step 1 saved in the region folder, or a fresh one when missing or stale.

    A saved brief for another objective (default: the context's) or language is
    stale: the notebook's parameters win.
    """
    objective = objective or ctx.objective
    path = ctx.out / "goals.json"
    if path.exists():
        try:
            saved = json.loads(path.read_text("utf-8"))
        except ValueError:
            saved = {}
        if (saved.get("objective") == objective and "first" in saved
                and saved.get("lang", "en") == ctx.lang):
            return saved
    return goals_brief(ctx, objective)


# --------------------------------------------------------------------------- what 01 shows


def question(brief: dict) -> str:
    """The objective and its question, in markdown (``**title**: question``)."""
    return f"**{md_text(brief['title'])}**: {md_text(brief['question'])}"


def data_note(brief: dict) -> str:
    """Markdown: the data the objective needs and the configured data lacks, or that
    nothing is missing."""
    lang = brief.get("lang", "en")
    if not brief["warnings"]:
        return say("data_complete", lang)
    return (say("data_missing", lang) + "\n\n"
            + "\n".join(f"- {md_text(w)}" for w in brief["warnings"]))


def checks_table(brief: dict) -> pd.DataFrame:
    """The data checks (one row per need: available, what was found, what it is)."""
    lang = brief.get("lang", "en")
    frame = pd.DataFrame([{"data": text("data_name", need, lang),
                           "available": text("brief", "yes" if c["available"] else "NO", lang),
                           "found": c["detail"], "what it is": c["what"]}
                          for need, c in brief["data_checks"].items()]).set_index("data")
    return headers(frame, lang)


def threshold_table(brief: dict) -> pd.DataFrame:
    """The config thresholds the objective leans on (name -> value as configured; a
    report shows the names in its language, catalog section ``threshold``)."""
    return pd.DataFrame({"value": {k: str(v) for k, v in brief["thresholds"].items()}})


def first_table(brief: dict) -> pd.DataFrame:
    """What the shared reports of steps 3 to 5 put first (step -> section titles)."""
    lang = brief.get("lang", "en")
    frame = pd.DataFrame([{"step": step, "first": "; ".join(section_titles(step, keys, lang))}
                          for step, keys in brief["first"].items()]).set_index("step")
    return headers(frame, lang)


def assumption_list(brief: dict) -> str:
    """The brief's assumptions as a markdown list."""
    return "\n".join(f"- {md_text(a)}" for a in brief["assumptions"])


def section_titles(step: str, keys, lang: str = "en") -> list[str]:
    """The titles of the sections ``keys`` of ``step`` in ``lang``, as the reports show them.

    They are the notebooks' section headings, which a Chinese report shows from
    ``notebooks/zh.yaml`` (``tests/test_notebooks.py`` checks that they agree). A key
    without a title is kept.
    """
    return [term(f"section_{step}", key, lang) for key in keys]


def first_note(brief: dict, step: str) -> str:
    """One line for the top of a step: what the shared report of that step puts first.

    The notebook itself runs in its own order; the HTML report moves the sections
    the objective names to the front (:func:`helpers.run.render.render_html`).
    """
    lang = brief.get("lang", "en")
    order = section_titles(step, brief.get("first", {}).get(step, []), lang)
    title = md_text(brief.get("title", brief.get("objective", "")))
    if not order:
        return say("objective_only", lang, title=title)
    return say("first_note", lang, title=title,
               sections="; ".join(f"*{md_text(t)}*" for t in order))


def objective_note(brief: dict) -> str:
    """One line for the top of step 5: the objective, and the data it lacks (step 1's
    warnings) when any."""
    lang = brief.get("lang", "en")
    title = md_text(brief["title"])
    if not brief["warnings"]:
        return say("objective_only", lang, title=title)
    return say("objective_missing", lang, title=title,
               warnings="; ".join(md_text(w) for w in brief["warnings"]))
