"""Step 1, goals: the objective catalog, the KPI catalog and the analysis brief.

The analyst picks an objective (the notebooks' ``objective`` parameter). The
objective says which KPIs judge the regions, against which baseline and
thresholds, and which parts of steps 3 to 5 come first. It never changes what
is computed or how: every step computes the same tables for every objective
and only puts the relevant ones first.

The brief (:func:`goals_brief`, saved as ``goals.json``) also checks whether the
configured data can answer the question, so that a missing input (marketing
spend for ROI, partner firmographics for A/B/C tiers) is a warning in step 1,
not a crash in step 4.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from helpers.analysis.budget import spend_by_region
from helpers.config import ConfigError, Partners
from helpers.period import Period
from helpers.text.format import currency_name
from helpers.text.lookup import headers, lang_code, say, term, text
from helpers.text.markup import md_text

if TYPE_CHECKING:  # steps pulls in prep, fonts and charts; the batch only needs the catalog
    from helpers.context import Context

__all__ = [
    "Objective",
    "OBJECTIVES",
    "KPIS",
    "DATA_NEEDS",
    "SECTIONS",
    "STEP5_SECTIONS",
    "get_objective",
    "data_checks",
    "goals_brief",
    "brief_table",
    "kpi_table",
    "kpi_name",
    "kpi_words",
    "load_brief",
    "priorities",
    "section_titles",
    "first_note",
]


@dataclass(frozen=True)
class Objective:
    """One business question the workbook can answer.

    Its words (title, question, baseline) are in the text catalog under its key
    (:meth:`words`).
    """

    key: str
    kpis: tuple[str, ...]
    thresholds: tuple[str, ...]
    first: dict  # step ("03", "04", "05") -> keys of SECTIONS[step] it puts first, in order

    def words(self, lang: str = "en", *, currency: str = "CNY") -> dict[str, str]:
        """``title``, ``question`` and ``baseline`` in ``lang`` (money in ``currency``)."""
        money = currency_name(currency, lang)
        return {part: text(f"objective_{part}", self.key, lang, currency=money)
                for part in ("title", "question", "baseline")}


#: KPI -> unit (a key of the catalog section ``unit``), which way is better, the data it
#: needs. Definitions and formulas are in the catalog (``kpi_definition``, ``kpi_formula``).
KPIS: dict[str, dict] = {
    "customers": {"unit": "customers", "better": "higher", "needs": ("customers", "locations")},
    "new_customers": {"unit": "customers", "better": "higher", "needs": ("customers",)},
    "active_customers": {"unit": "customers", "better": "higher", "needs": ("orders",)},
    "active_rate": {"unit": "%", "better": "higher", "needs": ("orders",)},
    "revenue": {"unit": "currency", "better": "higher", "needs": ("orders",)},
    "growth_yoy": {"unit": "%", "better": "higher", "needs": ("orders", "baseline_orders")},
    "share": {"unit": "%", "better": "higher", "needs": ("orders",)},
    "customers_per_million": {"unit": "per 1M people", "better": "higher",
                              "needs": ("customers", "population")},
    "gap_ratio": {"unit": "ratio", "better": "higher", "needs": ("customers", "population")},
    "hotspot": {"unit": "z", "better": "higher", "needs": ("customers", "locations")},
    "top20_share": {"unit": "%", "better": "lower", "needs": ("orders",)},
    "aov": {"unit": "currency", "better": "higher", "needs": ("orders",)},
    "revenue_per_customer": {"unit": "currency", "better": "higher", "needs": ("orders",)},
    "marketing_spend": {"unit": "currency", "better": "n/a", "needs": ("spend",)},
    "roi": {"unit": "currency per currency", "better": "higher", "needs": ("orders", "spend")},
    "marginal_return": {"unit": "currency per currency", "better": "higher",
                        "needs": ("orders", "spend")},
    "customers_per_rep": {"unit": "customers", "better": "n/a", "needs": ("customers", "reps")},
    "champions": {"unit": "customers", "better": "higher", "needs": ("orders",)},
    "at_risk_value": {"unit": "currency", "better": "lower", "needs": ("orders",)},
    "ltv_12m": {"unit": "currency", "better": "higher", "needs": ("orders", "baseline_orders")},
    "partner_tiers": {"unit": "partners", "better": "n/a", "needs": ("firmographics",)},
    "b_tier_partners": {"unit": "partners", "better": "n/a", "needs": ("firmographics",)},
}

#: The data checks of step 1 (what each is and where to configure it: the catalog's
#: ``data_need``).
DATA_NEEDS: tuple[str, ...] = ("customers", "locations", "orders", "baseline_orders",
                               "population", "spend", "reps", "firmographics", "contacts")

#: The sections of steps 3 to 5, in each notebook's own order (their titles: the catalog's
#: ``section_03`` ...). In notebooks 03 and 04 a section starts at the markdown cell
#: tagged ``section-<key>``; the shared report (:func:`helpers.run.render.render_html`)
#: puts the objective's first.
SECTIONS: dict[str, tuple[str, ...]] = {
    "03": ("revenue_by_region", "concentration", "customers_vs_revenue", "trend",
           "order_values", "segment_mix", "region_map", "customer_map"),
    "04": ("region_kpis", "hotspots", "gaps", "isolated", "concentration", "segments",
           "clusters", "lifecycle", "ltv", "partners"),
    "05": ("tiers", "playbook", "budget", "customers", "partners", "monitoring"),
}

#: The sections of step 5, in their default order.
STEP5_SECTIONS = SECTIONS["05"]

OBJECTIVES: dict[str, Objective] = {o.key: o for o in [
    Objective(
        key="find_new_markets",
        kpis=("customers", "customers_per_million", "gap_ratio", "new_customers",
              "growth_yoy", "hotspot", "share"),
        thresholds=("gap_ratio", "potential_growth", "potential_ratio", "emerging_growth"),
        first={"03": ["region_map", "customers_vs_revenue"],
               "04": ["gaps", "hotspots", "isolated"],
               "05": ["tiers", "playbook", "budget", "customers", "partners", "monitoring"]},
    ),
    Objective(
        key="reallocate_resources",
        kpis=("revenue", "share", "growth_yoy", "marketing_spend", "roi", "marginal_return",
              "customers_per_rep"),
        thresholds=("hot_share", "declining_growth", "budget.floor_vs_current",
                    "budget.cap_vs_current", "budget.elasticity"),
        first={"03": ["revenue_by_region", "concentration"],
               "04": ["region_kpis", "concentration"],
               "05": ["budget", "tiers", "playbook", "customers", "partners", "monitoring"]},
    ),
    Objective(
        key="compare_regions",
        kpis=("revenue", "share", "growth_yoy", "customers", "active_rate", "aov",
              "revenue_per_customer", "top20_share"),
        thresholds=("hot_share", "hot_growth", "emerging_growth", "declining_growth",
                    "gap_ratio"),
        first={"03": ["revenue_by_region", "trend"],
               "04": ["region_kpis", "concentration", "hotspots"],
               "05": ["tiers", "monitoring", "playbook", "budget", "customers", "partners"]},
    ),
    Objective(
        key="keep_valuable_customers",
        kpis=("active_customers", "active_rate", "champions", "at_risk_value", "ltv_12m",
              "revenue_per_customer", "top20_share"),
        thresholds=("analysis.active_months", "analysis.rfm_bins"),
        first={"03": ["customer_map", "concentration", "segment_mix"],
               "04": ["segments", "lifecycle", "ltv"],
               "05": ["customers", "monitoring", "partners", "tiers", "playbook", "budget"]},
    ),
    Objective(
        key="tier_partners",
        kpis=("partner_tiers", "b_tier_partners", "revenue_per_customer", "customers_per_rep",
              "revenue"),
        thresholds=("partners.tiers",),
        first={"03": ["customer_map", "revenue_by_region"],
               "04": ["partners", "segments"],
               "05": ["partners", "customers", "tiers", "playbook", "budget", "monitoring"]},
    ),
]}

_FIRMOGRAPHICS = ("business_model", "headcount", "registered_capital", "years_active",
                  "main_product_tier")


def get_objective(key: str) -> Objective:
    """The catalog entry for ``key``; a clear error naming the choices otherwise."""
    if key not in OBJECTIVES:
        raise ValueError(f"parameter objective must be one of {list(OBJECTIVES)}, got {key!r}")
    return OBJECTIVES[key]


def _count_in(frame, column: str) -> int:
    return int(frame[column].notna().sum()) if column in frame else 0


def data_checks(ctx: Context) -> dict[str, dict]:
    """What the configured data holds for each need in :data:`DATA_NEEDS`.

    Returns
    -------
    dict
        need -> ``{"available": bool, "detail": str, "what": str}``.
    """
    customers, orders, p = ctx.customers, ctx.orders, ctx.period
    in_period = p.contains(orders["order_date"])
    in_baseline = p.previous.contains(orders["order_date"])
    spend = spend_by_region(ctx.prep.spend, ctx.scope.provinces, p)
    spend = spend[spend["marketing_spend"] > 0]
    located = _count_in(customers, ctx.scope.sublevel)
    firmo = [c for c in _FIRMOGRAPHICS if _count_in(ctx.prep.customers, c) > 0]
    partners = ctx.prep.customers
    with_firmo = int(partners[firmo].notna().any(axis=1).sum()) if firmo else 0
    contacts = max(_count_in(customers, "phone"), _count_in(customers, "email"))
    reps = ctx.prep.reps
    population_ok = ctx.scope.sublevel == "province"
    lang = ctx.lang
    checks = {
        "customers": (len(customers) > 0, say("check_customers", lang, n=len(customers))),
        "locations": (located > 0, say("check_locations", lang, located=located, n=len(customers),
                                       level=term("level", ctx.scope.sublevel, lang))),
        "orders": (bool(in_period.any()), say("check_orders", lang, n=int(in_period.sum()))),
        "baseline_orders": (bool(in_baseline.any()),
                            say("check_baseline_orders", lang, n=int(in_baseline.sum()))),
        "population": (population_ok, say("check_population_ok" if population_ok
                                          else "check_population_no", lang)),
        "spend": (not spend.empty, say("check_spend_ok", lang,
                                       total=spend["marketing_spend"].sum(), n=len(spend),
                                       currency=currency_name(ctx.config.project.currency, lang))
                  if not spend.empty else say("check_spend_no", lang)),
        "reps": (not reps.empty, say("check_reps_ok", lang, n=len(reps)) if not reps.empty
                 else say("check_reps_no", lang)),
        "firmographics": (with_firmo > 0 and len(firmo) >= 3,
                          say("check_firmographics_ok", lang, n=with_firmo,
                              columns=", ".join(firmo))
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


def goals_brief(ctx: Context, objective: str = "find_new_markets") -> dict:
    """The analysis brief: objective, KPIs, periods, regions in scope and data checks.

    Parameters
    ----------
    ctx : Context
        The notebook context (:func:`helpers.context.open_step`).
    objective : str
        A key of :data:`OBJECTIVES`.

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
    chosen = get_objective(objective)
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
        "period_start": p.first_day,
        "period_end": p.end,
        "baseline_start": p.previous.first_day,
        "baseline_end": p.previous.end,
        "baseline": words["baseline"],
        "kpis": kpis,
        "thresholds": {name: _threshold_value(ctx, name) for name in chosen.thresholds},
        "all_thresholds": ctx.config.strategy.model_dump(),
        "first": chosen.first,
        "data": {"customers": len(ctx.customers), "orders": len(ctx.orders),
                 "available": {need: c["available"] for need, c in checks.items()}},
        "data_checks": checks,
        "warnings": warnings,
        "assumptions": assumptions,
    }


def brief_table(brief: dict):
    """The brief as a two-column table (item, value) for the report, in the brief's language."""
    lang = brief.get("lang", "en")
    rows = [
        ("objective", brief["title"]),
        ("question", brief["question"]),
        ("region", brief["region_label"]),
        ("regions compared", say("regions_compared", lang, n=len(brief["provinces_in_scope"]),
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
        data=[text("brief", "yes", lang) if ok else text("brief", "MISSING: ", lang) + ", ".join(m)
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


def load_brief(ctx: Context, objective: str = "find_new_markets") -> dict:
    """The brief step 1 saved in the region folder, or a fresh one when missing or stale.

    A saved brief for another objective or language is stale: the notebook's
    parameters win.
    """
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


def priorities(brief: dict, step: str, sections=None) -> list[str]:
    """The sections of ``step`` in the order the objective puts them.

    Parameters
    ----------
    brief : dict
        :func:`goals_brief` output (or ``goals.json``).
    step : str
        ``"03"``, ``"04"`` or ``"05"``.
    sections : sequence of str, optional
        Every section the step has; those the objective does not name follow
        in their own order. Default: the objective's list.
    """
    first = list(brief.get("first", {}).get(step, []))
    if sections is None:
        return first
    return [s for s in first if s in sections] + [s for s in sections if s not in first]


def section_titles(step: str, keys, lang: str = "en") -> list[str]:
    """The titles of the sections ``keys`` of ``step`` in ``lang``, as the reports show them.

    Step 5's headings are generated in ``lang``; those of steps 3 and 4 are the
    notebooks' headings, which a Chinese report shows from ``notebooks/zh.yaml``.
    A key without a title is kept.
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
