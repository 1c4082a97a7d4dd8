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
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from helpers.analysis.budget import spend_by_region
from helpers.config import ConfigError
from helpers.period import Period
from helpers.text.markup import md_text
from helpers.text.phrases import headers, say, tr

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
    "load_brief",
    "priorities",
    "section_titles",
    "first_note",
]


@dataclass(frozen=True)
class Objective:
    """One business question the workbook can answer."""

    key: str
    title: str
    question: str
    kpis: tuple[str, ...]
    baseline: str
    thresholds: tuple[str, ...]
    first: dict  # step ("03", "04", "05") -> keys of SECTIONS[step] it puts first, in order


#: KPI -> definition (formula), unit, which way is better, the data it needs.
KPIS: dict[str, dict] = {
    "customers": {
        "definition": "customers whose region is known", "formula": "count(customer_id)",
        "unit": "customers", "better": "higher", "needs": ("customers", "locations")},
    "new_customers": {
        "definition": "customers who signed up in the period (first order when no signup date)",
        "formula": "count(signup_date in period)", "unit": "customers", "better": "higher",
        "needs": ("customers",)},
    "active_customers": {
        "definition": "customers with a positive order line in the last analysis.active_months",
        "formula": "count(customers with an order in the active window)",
        "unit": "customers", "better": "higher", "needs": ("orders",)},
    "active_rate": {
        "definition": "share of customers who are active",
        "formula": "active_customers / customers", "unit": "%", "better": "higher",
        "needs": ("orders",)},
    "revenue": {
        "definition": "net order amount in the period, returns subtracted",
        "formula": "sum(amount) over orders in the period", "unit": "CNY", "better": "higher",
        "needs": ("orders",)},
    "growth_yoy": {
        "definition": "revenue growth on the baseline period",
        "formula": "(revenue - revenue_prev) / revenue_prev", "unit": "%",
        "better": "higher", "needs": ("orders", "baseline_orders")},
    "share": {
        "definition": "share of the market's revenue in the period",
        "formula": "region revenue / revenue of all regions in scope", "unit": "%",
        "better": "higher", "needs": ("orders",)},
    "customers_per_million": {
        "definition": "penetration: customers per million residents (2020 census)",
        "formula": "customers / (population_10k / 100)", "unit": "per 1M people",
        "better": "higher", "needs": ("customers", "population")},
    "gap_ratio": {
        "definition": "customers against the count expected from population and GDP "
                      "(below 1: under-served, 0: blank)",
        "formula": "customers / (total customers x sqrt(pop x GDP) / sum sqrt(pop x GDP))",
        "unit": "ratio", "better": "higher", "needs": ("customers", "population")},
    "hotspot": {
        "definition": "Getis-Ord Gi* z-score of the region with its neighbours "
                      "(bin >= 2: hot spot at 95% confidence)",
        "formula": "Gi* z of region revenue (step 4)", "unit": "z", "better": "higher",
        "needs": ("customers", "locations")},
    "top20_share": {
        "definition": "share of revenue from the top 20% of customers (concentration)",
        "formula": "sum(revenue of top ceil(0.2 n) customers) / sum(revenue)", "unit": "%",
        "better": "lower", "needs": ("orders",)},
    "aov": {
        "definition": "average order value", "formula": "revenue / orders", "unit": "CNY",
        "better": "higher", "needs": ("orders",)},
    "revenue_per_customer": {
        "definition": "revenue per active customer", "formula": "revenue / active_customers",
        "unit": "CNY", "better": "higher", "needs": ("orders",)},
    "marketing_spend": {
        "definition": "marketing spend in the period",
        "formula": "sum(spend amount) over quarters in the period (pro rata by day)",
        "unit": "CNY", "better": "n/a", "needs": ("spend",)},
    "roi": {
        "definition": "revenue per CNY of marketing spend",
        "formula": "revenue / marketing_spend", "unit": "CNY per CNY", "better": "higher",
        "needs": ("orders", "spend")},
    "marginal_return": {
        "definition": "revenue from one more CNY of spend (budget model)",
        "formula": "budget.elasticity x revenue / marketing_spend", "unit": "CNY per CNY",
        "better": "higher", "needs": ("orders", "spend")},
    "customers_per_rep": {
        "definition": "customers per sales rep of the territory",
        "formula": "customers / reps covering the territory", "unit": "customers",
        "better": "n/a", "needs": ("customers", "reps")},
    "champions": {
        "definition": "customers in the RFM segment champions (recent, frequent)",
        "formula": "count(segment == champions)", "unit": "customers", "better": "higher",
        "needs": ("orders",)},
    "at_risk_value": {
        "definition": "net revenue to date of customers at risk or that we cannot lose",
        "formula": "sum(monetary) where segment in (at risk, cannot lose them)",
        "unit": "CNY", "better": "lower", "needs": ("orders",)},
    "ltv_12m": {
        "definition": "expected value of a customer in the next 12 months (BG/NBD and "
                      "Gamma-Gamma, step 4)",
        "formula": "expected purchases x expected order value", "unit": "CNY",
        "better": "higher", "needs": ("orders", "baseline_orders")},
    "partner_tiers": {
        "definition": "channel partners in A/B/C tiers by the scoring table of step 4",
        "formula": "points per factor; >= 16 A, 10 to < 16 B, < 10 C", "unit": "partners",
        "better": "n/a", "needs": ("firmographics",)},
    "b_tier_partners": {
        "definition": "B-tier partners: the ones a development plan can lift to A",
        "formula": "count(partner tier == B)", "unit": "partners", "better": "n/a",
        "needs": ("firmographics",)},
}

#: Data check -> what it is and where to configure it.
DATA_NEEDS: dict[str, str] = {
    "customers": "customers in scope (sources.customers)",
    "locations": "customers with a province (sources.customers: province, city or lat/lon)",
    "orders": "orders in the analysis period (sources.orders)",
    "baseline_orders": "orders in the baseline period, for growth and lifetime value",
    "population": "population and GDP per region (bundled for provinces; not for cities)",
    "spend": "marketing spend per province and quarter in the period (sources.spend)",
    "reps": "sales reps with their territory (sources.reps)",
    "firmographics": "partner firmographics: business_model, headcount, registered_capital, "
                     "years_active, main_product_tier (sources.customers, e.g. the ERP export)",
    "contacts": "contact fields for campaign lists: phone or email (sources.customers)",
}

#: The sections of steps 3 to 5 (key -> title), in each notebook's own order. In
#: notebooks 03 and 04 a section starts at the markdown cell tagged ``section-<key>``;
#: the shared report (:func:`helpers.run.render.render_html`) puts the objective's first.
SECTIONS: dict[str, dict[str, str]] = {
    "03": {
        "revenue_by_region": "Revenue and customers by region",
        "concentration": "How concentrated is revenue?",
        "customers_vs_revenue": "Customers against revenue",
        "trend": "Monthly revenue trend",
        "order_values": "How large is a typical order?",
        "segment_mix": "What kind of customers does each region have?",
        "region_map": "Map: where is the money?",
        "customer_map": "Map: every customer",
    },
    "04": {
        "region_kpis": "Region KPIs",
        "hotspots": "Hot and cold spots",
        "gaps": "Market gaps: blank and under-served regions",
        "isolated": "Isolated customers",
        "concentration": "Concentration",
        "segments": "Customer segments (RFM)",
        "clusters": "Behaviour clusters (K-means)",
        "lifecycle": "Lifecycle",
        "ltv": "Lifetime value",
        "partners": "Channel partners: A/B/C",
    },
    "05": {
        "tiers": "Region tiers and their evidence",
        "playbook": "Playbook and action list",
        "budget": "Budget reallocation",
        "customers": "Customer campaigns",
        "partners": "Channel partner plans",
        "monitoring": "Compared with an earlier run",
    },
}

#: The sections of step 5, in their default order.
STEP5_SECTIONS = tuple(SECTIONS["05"])

OBJECTIVES: dict[str, Objective] = {o.key: o for o in [
    Objective(
        key="find_new_markets",
        title="Find new markets",
        question="Where are the blank and under-served regions, and which are worth entering?",
        kpis=("customers", "customers_per_million", "gap_ratio", "new_customers",
              "growth_yoy", "hotspot", "share"),
        baseline="the same regions in the previous period of equal length; penetration "
                 "against the count expected from population and GDP",
        thresholds=("gap_ratio", "potential_growth", "potential_ratio", "emerging_growth"),
        first={"03": ["region_map", "customers_vs_revenue"],
               "04": ["gaps", "hotspots", "isolated"],
               "05": ["tiers", "playbook", "budget", "customers", "partners", "monitoring"]},
    ),
    Objective(
        key="reallocate_resources",
        title="Reallocate sales and marketing resources",
        question="Where does the next CNY of marketing and the next sales rep earn most?",
        kpis=("revenue", "share", "growth_yoy", "marketing_spend", "roi", "marginal_return",
              "customers_per_rep"),
        baseline="current spend and revenue of each region in the period; growth on the "
                 "previous period",
        thresholds=("hot_share", "declining_growth", "budget.floor_vs_current",
                    "budget.cap_vs_current", "budget.elasticity"),
        first={"03": ["revenue_by_region", "concentration"],
               "04": ["region_kpis", "concentration"],
               "05": ["budget", "tiers", "playbook", "customers", "partners", "monitoring"]},
    ),
    Objective(
        key="compare_regions",
        title="Compare regions",
        question="How do regions compare on size, growth and efficiency, and what changed?",
        kpis=("revenue", "share", "growth_yoy", "customers", "active_rate", "aov",
              "revenue_per_customer", "top20_share"),
        baseline="the previous period of equal length; an earlier run when baseline_run is set",
        thresholds=("hot_share", "hot_growth", "emerging_growth", "declining_growth",
                    "gap_ratio"),
        first={"03": ["revenue_by_region", "trend"],
               "04": ["region_kpis", "concentration", "hotspots"],
               "05": ["tiers", "monitoring", "playbook", "budget", "customers", "partners"]},
    ),
    Objective(
        key="keep_valuable_customers",
        title="Keep and grow valuable customers",
        question="Which customers carry the business, which are slipping, and what do we do?",
        kpis=("active_customers", "active_rate", "champions", "at_risk_value", "ltv_12m",
              "revenue_per_customer", "top20_share"),
        baseline="each customer's RFM segment in an earlier run (baseline_run); activity in "
                 "the last analysis.active_months",
        thresholds=("analysis.active_months", "analysis.rfm_bins"),
        first={"03": ["customer_map", "concentration", "segment_mix"],
               "04": ["segments", "lifecycle", "ltv"],
               "05": ["customers", "monitoring", "partners", "tiers", "playbook", "budget"]},
    ),
    Objective(
        key="tier_partners",
        title="Tier channel partners",
        question="Which dealers and integrators are A, B or C partners, and how do we develop "
                 "the B tier?",
        kpis=("partner_tiers", "b_tier_partners", "revenue_per_customer", "customers_per_rep",
              "revenue"),
        baseline="the scoring table of step 4 (points per factor), revenue in the period",
        thresholds=("partner tier points: A >= 16, B 10 to < 16, C < 10",),
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
        "locations": (located > 0, say("check_locations", lang, located=located,
                                       n=len(customers), level=tr(ctx.scope.sublevel, lang))),
        "orders": (bool(in_period.any()), say("check_orders", lang, n=int(in_period.sum()))),
        "baseline_orders": (bool(in_baseline.any()),
                            say("check_baseline_orders", lang, n=int(in_baseline.sum()))),
        "population": (population_ok, say("check_population_ok" if population_ok
                                          else "check_population_no", lang)),
        "spend": (not spend.empty, say("check_spend_ok", lang,
                                       total=spend["marketing_spend"].sum(), n=len(spend))
                  if not spend.empty else say("check_spend_no", lang)),
        "reps": (not reps.empty, say("check_reps_ok", lang, n=len(reps)) if not reps.empty
                 else say("check_reps_no", lang)),
        "firmographics": (with_firmo > 0 and len(firmo) >= 3,
                          say("check_firmographics_ok", lang, n=with_firmo,
                              columns=", ".join(firmo))
                          if firmo else say("check_firmographics_no", lang)),
        "contacts": (contacts > 0, say("check_contacts", lang, n=contacts)),
    }
    return {need: {"available": bool(ok), "detail": detail, "what": tr(DATA_NEEDS[need], lang)}
            for need, (ok, detail) in checks.items()}


def _threshold_value(ctx: Context, name: str):
    config = ctx.config
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
    checks = data_checks(ctx)
    targets = _targets(ctx)
    kpis = []
    for key in chosen.kpis:
        item = KPIS[key]
        missing = [n for n in item["needs"] if not checks[n]["available"]]
        kpis.append({"kpi": key, "definition": tr(item["definition"], lang),
                     "formula": item["formula"], "unit": tr(item["unit"], lang),
                     "better": item["better"],
                     "target": targets.get(key), "needs": ", ".join(item["needs"]),
                     "available": not missing, "missing": missing})
    warnings = []
    for kpi in kpis:
        for need in kpi["missing"]:
            warnings.append(say("warn_kpi", lang, kpi=kpi["kpi"], what=checks[need]["what"],
                                detail=checks[need]["detail"]))
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
    title, question = tr(chosen.title, lang), tr(chosen.question, lang)
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
        "baseline": tr(chosen.baseline, lang),
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
                                 level=tr(brief["regions_compared"], lang))),
        ("period", Period.between(brief["period_start"], brief["period_end"]).label(lang)),
        ("baseline period",
         Period.between(brief["baseline_start"], brief["baseline_end"]).label(lang)),
        ("baseline", brief["baseline"]),
        ("customers in scope", f"{brief['data']['customers']:,}"),
        ("order lines in scope", f"{brief['data']['orders']:,}"),
        ("step 5 puts first", ", ".join(section_titles("05", brief["first"]["05"][:3], lang))),
    ]
    frame = pd.DataFrame([(tr(item, lang), value) for item, value in rows],
                         columns=["item", "value"]).set_index("item")
    return headers(frame, lang)


def kpi_table(brief: dict):
    """The objective's KPIs with formula, unit, target and whether the data has them."""
    lang = brief.get("lang", "en")
    frame = pd.DataFrame(brief["kpis"])
    frame = frame.assign(
        target=[_target_text(t, u, b) for t, u, b in
                zip(frame["target"], frame["unit"], frame["better"], strict=True)],
        data=[tr("yes", lang) if ok else tr("MISSING: ", lang) + ", ".join(m)
              for ok, m in zip(frame["available"], frame["missing"], strict=True)],
    )
    table = frame[["kpi", "definition", "formula", "unit", "target", "data"]].set_index("kpi")
    return headers(table, lang)


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
    titles = SECTIONS.get(step, {})
    return [tr(titles.get(key, key), lang) for key in keys]


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
