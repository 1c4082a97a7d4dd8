"""Step 1, goals: the objective catalog and the analysis brief."""

from __future__ import annotations

import pandas as pd

from helpers.steps import Context

OBJECTIVES = {
    "find_new_markets": "Find new markets: where are blank and under-served regions?",
    "reallocate_resources": "Reallocate sales and marketing resources between regions",
    "compare_regions": "Compare regions on size, growth and efficiency",
    "keep_valuable_customers": "Keep and grow valuable customers",
    "tier_partners": "Tier channel partners A/B/C",
}
KPIS = [
    ("customers", "customers with a location in the region", "count"),
    ("active_customers", "customers with an order in the last active window", "count"),
    ("revenue", "net order amount in the period (returns subtracted)", "CNY"),
    ("growth_yoy", "(revenue - previous period revenue) / previous period revenue", "%"),
    ("share", "region revenue / market revenue in the period", "%"),
    ("customers_per_million", "customers per million residents (2020 census)", "per 1M"),
    ("gap_ratio", "customers / customers expected from population and GDP", "ratio"),
]


def goals_brief(ctx: Context, objective: str = "find_new_markets") -> dict:
    """The analysis brief: objective, KPIs, periods, regions in scope and data checks."""
    if objective not in OBJECTIVES:
        raise ValueError(f"parameter objective must be one of {list(OBJECTIVES)}, got {objective!r}")
    p = ctx.period
    has_spend = not ctx.prep.spend.empty
    has_firmographics = "business_model" in ctx.prep.customers and \
        ctx.prep.customers["business_model"].notna().any()
    return {
        "objective": objective,
        "objective_text": OBJECTIVES[objective],
        "region": ctx.scope.name,
        "region_label": ctx.scope.label(ctx.lang),
        "provinces_in_scope": list(ctx.scope.provinces),
        "period_start": p["start"] + pd.Timedelta(days=1),
        "period_end": p["end"],
        "baseline_start": p["prev_start"] + pd.Timedelta(days=1),
        "baseline_end": p["prev_end"],
        "kpis": [{"kpi": k, "definition": d, "unit": u} for k, d, u in KPIS],
        "thresholds": ctx.config.strategy.model_dump(),
        "data": {"customers": len(ctx.customers), "orders": len(ctx.orders),
                 "marketing_spend": has_spend, "partner_firmographics": has_firmographics},
        "warnings": [w for w, ok in [
            ("no marketing spend configured: ROI cannot be computed", has_spend),
            ("no partner firmographics: A/B/C partner tiers cannot be computed", has_firmographics),
            (f"only {len(ctx.customers)} customers in scope: treat rates with care",
             len(ctx.customers) >= ctx.config.analysis.min_customers),
        ] if not ok],
    }
