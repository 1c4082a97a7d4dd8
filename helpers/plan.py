"""Step 5, strategy: region tiers, actions and campaign lists, the executive summary."""

from __future__ import annotations

import html
import json

import pandas as pd
from IPython.display import Markdown

from helpers import strategy
from helpers.scope import territory_map
from helpers.steps import Context, write_json


def strategy_tables(ctx: Context, insight: dict) -> dict:
    """Step 5: region tiers with evidence, the action list and the campaign list."""
    rules = ctx.config.strategy.model_dump()
    tiers = strategy.region_tiers(insight["region_kpis"], rules=rules,
                                  min_customers=ctx.config.analysis.min_customers)
    if "territory" not in tiers and ctx.scope.sublevel == "province":
        territory = territory_map(ctx.config).set_index("province")["territory"]
        tiers = tiers.assign(territory=tiers["region"].map(territory))
    elif "territory" not in tiers:
        tiers = tiers.assign(territory=ctx.customers["territory"].dropna().iloc[0]
                             if ctx.customers["territory"].notna().any() else pd.NA)
    actions = strategy.action_list(tiers, reps=ctx.prep.reps)
    campaign = strategy.segment_actions(insight["rfm"], ctx.prep.customers)
    return {"tiers": tiers, "actions": actions, "campaign": campaign,
            "playbook": strategy.playbook(tiers)}


def save_strategy(ctx: Context, tables: dict) -> None:
    """Write tiers and action lists (CSV and Excel); personal data only goes to files."""
    tables["tiers"].to_csv(ctx.out / "region_tiers.csv", index=False)
    tables["actions"].to_csv(ctx.out / "actions.csv", index=False)
    with pd.ExcelWriter(ctx.out / "actions.xlsx") as book:
        tables["actions"].to_excel(book, sheet_name="region actions", index=False)
        tables["campaign"].to_excel(book, sheet_name="campaign list", index=False)
    tables["campaign"].to_csv(ctx.out / "campaign_list.csv", index=False)
    headline_path = ctx.out / "headline.json"
    headline = json.loads(headline_path.read_text("utf-8")) if headline_path.exists() else {}
    counts = tables["tiers"]["tier"].value_counts().to_dict()
    headline["tiers"] = counts
    headline["tier"] = _overall_tier(tables["tiers"])
    write_json(headline, headline_path)


def executive_summary(ctx: Context, insight: dict, tables: dict) -> Markdown:
    """The findings that open the strategy report, each with its number (text escaped)."""
    headline, tiers = insight["headline"], tables["tiers"]
    name = "region_en" if ctx.lang == "en" else "region"
    growth = headline.get("growth_yoy")
    findings = [
        f"**{headline['customers']:,} customers**, revenue **{headline['revenue']:,.0f}** "
        f"in the period" + (f", **{growth:+.1%}** on the baseline" if growth is not None else ""),
    ]
    for tier in ["core", "emerging", "declining", "gap"]:
        regions = tiers.loc[tiers["tier"] == tier].sort_values("revenue", ascending=False)[name]
        if len(regions):
            more = " ..." if len(regions) > 6 else ""
            findings.append(f"**{tier}**: {len(regions)} region(s): "
                            f"{', '.join(map(str, regions.head(6)))}{more}")
    return Markdown("\n".join(f"- {html.escape(line)}" for line in findings))


def _overall_tier(tiers: pd.DataFrame) -> str:
    """The tier holding most revenue: how the region reads at a glance on the index page."""
    by_revenue = tiers.groupby("tier")["revenue"].sum()
    return str(by_revenue.idxmax()) if by_revenue.sum() > 0 else "gap"
