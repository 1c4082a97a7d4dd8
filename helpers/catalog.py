"""Every per-objective setting in one place: objectives, KPIs, data needs, section keys.

The analyst picks an objective (the notebooks' ``objective`` parameter). The
objective says which KPIs judge the regions, which thresholds it leans on, which
sections of steps 3 to 5 the shared report puts first, which findings lead the
executive summary and how the budget proposal moves money (its ``budget`` rule,
:mod:`helpers.analysis.budget`). It never changes a measurement: every step computes
the same tables for every objective and only puts the relevant ones first; the one
recommendation that follows the objective is the budget.

This module holds keys only. Their words (objective titles and questions, KPI
definitions and formulas, units, data needs, section titles) are in the text
catalog (``helpers/text/catalog/goals.yaml``), looked up with
:mod:`helpers.text.lookup`.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpers.analysis.budget import PLAYBOOK_RULE
from helpers.text.format import currency_name
from helpers.text.lookup import text

__all__ = ["Objective", "OBJECTIVES", "KPIS", "DATA_NEEDS", "SECTIONS", "FINDINGS",
           "get_objective"]

#: KPI -> unit (a key of the catalog section ``unit``), which way is better, the data it
#: needs (keys of :data:`DATA_NEEDS`). Definitions and formulas are in the catalog
#: (``kpi_definition``, ``kpi_formula``).
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
#: ``section_03`` ...). A section starts at the notebook's markdown cell tagged
#: ``section-<key>``; the shared report (:func:`helpers.run.render.render_html`) puts the
#: objective's first.
SECTIONS: dict[str, tuple[str, ...]] = {
    "03": ("revenue_by_region", "concentration", "customers_vs_revenue", "trend",
           "order_values", "segment_mix", "region_map", "customer_map"),
    "04": ("region_kpis", "hotspots", "gaps", "isolated", "concentration", "segments",
           "clusters", "lifecycle", "ltv", "partners", "mix", "cohorts", "bridge",
           "forecast", "profiles", "buying", "seasonality", "discounts"),
    "05": ("tiers", "playbook", "budget", "customers", "partners", "monitoring"),
}

#: The kinds of finding the executive summary can state
#: (:func:`helpers.text.narrative.summary.findings`).
FINDINGS: tuple[str, ...] = ("size", "core", "gap", "emerging", "declining", "concentration",
                             "at_risk", "champions", "budget", "partners", "monitoring")


@dataclass(frozen=True)
class Objective:
    """One business question the workbook can answer.

    Attributes
    ----------
    key : str
        Its key (the notebooks' ``objective`` parameter); its words are in the text
        catalog under this key (:meth:`words`).
    kpis : tuple of str
        Keys of :data:`KPIS` that judge the regions.
    thresholds : tuple of str
        Config keys it leans on (``strategy.<name>`` when unqualified).
    first : dict
        Step (``"03"``, ``"04"``, ``"05"``) -> keys of ``SECTIONS[step]`` the shared
        report puts first, in that order.
    findings : tuple of str
        Every kind of :data:`FINDINGS`, in the order the executive summary picks them.
    budget : dict
        Tier -> how the budget proposal may move a region of that tier (one of
        :data:`helpers.analysis.budget.POLICIES`; the table and what each means: that
        module's docstring).
    """

    key: str
    kpis: tuple[str, ...]
    thresholds: tuple[str, ...]
    first: dict[str, tuple[str, ...]]
    findings: tuple[str, ...]
    budget: dict[str, str]

    def words(self, lang: str = "en", *, currency: str = "CNY") -> dict[str, str]:
        """``title``, ``question`` and ``baseline`` in ``lang`` (money in ``currency``)."""
        money = currency_name(currency, lang)
        return {part: text(f"objective_{part}", self.key, lang, currency=money)
                for part in ("title", "question", "baseline")}


OBJECTIVES: dict[str, Objective] = {o.key: o for o in [
    Objective(
        key="find_new_markets",
        kpis=("customers", "customers_per_million", "gap_ratio", "new_customers",
              "growth_yoy", "hotspot", "share"),
        thresholds=("gap_ratio", "potential_growth", "potential_ratio", "emerging_growth"),
        first={"03": ("region_map", "customers_vs_revenue"),
               "04": ("gaps", "hotspots", "isolated"),
               "05": ("tiers", "playbook", "budget", "customers", "partners", "monitoring")},
        findings=("gap", "emerging", "core", "budget", "size", "declining", "monitoring",
                  "concentration", "at_risk", "partners", "champions"),
        budget={"core": "hold", "emerging": "reserve", "gap": "reserve", "declining": "hold",
                "steady": "give"},
    ),
    Objective(
        key="reallocate_resources",
        kpis=("revenue", "share", "growth_yoy", "marketing_spend", "roi", "marginal_return",
              "customers_per_rep"),
        thresholds=("hot_share", "declining_growth", "budget.floor_vs_current",
                    "budget.cap_vs_current", "budget.elasticity"),
        first={"03": ("revenue_by_region", "concentration"),
               "04": ("region_kpis", "concentration"),
               "05": ("budget", "tiers", "playbook", "customers", "partners", "monitoring")},
        findings=("budget", "declining", "core", "emerging", "gap", "size", "concentration",
                  "monitoring", "at_risk", "partners", "champions"),
        budget={**PLAYBOOK_RULE, "core": "limit", "emerging": "limit", "gap": "limit",
                "declining": "limit"},
    ),
    Objective(
        key="compare_regions",
        kpis=("revenue", "share", "growth_yoy", "customers", "active_rate", "aov",
              "revenue_per_customer", "top20_share"),
        thresholds=("hot_share", "hot_growth", "emerging_growth", "declining_growth",
                    "gap_ratio"),
        first={"03": ("revenue_by_region", "trend"),
               "04": ("region_kpis", "concentration", "hotspots"),
               "05": ("tiers", "monitoring", "playbook", "budget", "customers", "partners")},
        findings=("size", "core", "declining", "emerging", "monitoring", "concentration",
                  "gap", "budget", "at_risk", "champions", "partners"),
        budget=dict(PLAYBOOK_RULE),
    ),
    Objective(
        key="keep_valuable_customers",
        kpis=("active_customers", "active_rate", "champions", "at_risk_value", "ltv_12m",
              "revenue_per_customer", "top20_share"),
        thresholds=("analysis.active_months", "analysis.rfm_bins"),
        first={"03": ("customer_map", "concentration", "segment_mix"),
               "04": ("segments", "lifecycle", "ltv"),
               "05": ("customers", "monitoring", "partners", "tiers", "playbook", "budget")},
        findings=("at_risk", "champions", "concentration", "monitoring", "size", "partners",
                  "declining", "core", "budget", "gap", "emerging"),
        budget={**PLAYBOOK_RULE, "steady": "limit"},
    ),
    Objective(
        key="tier_partners",
        kpis=("partner_tiers", "b_tier_partners", "revenue_per_customer", "customers_per_rep",
              "revenue"),
        thresholds=("partners.tiers",),
        first={"03": ("customer_map", "revenue_by_region"),
               "04": ("partners", "segments"),
               "05": ("partners", "customers", "tiers", "playbook", "budget", "monitoring")},
        findings=("partners", "champions", "at_risk", "size", "core", "concentration",
                  "monitoring", "declining", "gap", "emerging", "budget"),
        budget=dict(PLAYBOOK_RULE),
    ),
]}


def get_objective(key: str) -> Objective:
    """The catalog entry for ``key``; a clear error naming the parameter and the choices."""
    if key not in OBJECTIVES:
        raise ValueError(f"parameter objective must be one of {list(OBJECTIVES)}, got {key!r}")
    return OBJECTIVES[key]

