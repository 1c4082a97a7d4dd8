"""Step 4, insight: the tables step 4 computes and saves, and step 5 reads."""

from __future__ import annotations

import json

import pandas as pd

from helpers import kpi, segments
from helpers.steps import Context, region_kpis, write_json


def insight_tables(ctx: Context) -> dict:
    """Step 4: region KPIs, concentration and RFM segments for the scope."""
    kpis = region_kpis(ctx)
    p = ctx.period
    in_period = ctx.orders[(ctx.orders["order_date"] > p["start"])
                           & (ctx.orders["order_date"] <= p["end"])]
    by_customer = in_period.groupby("customer_id")["amount"].sum()
    unit = "cities" if ctx.scope.sublevel == "city" else "provinces"
    names = kpis["region_en"] if ctx.lang == "en" else kpis["region"]
    concentration = {
        "regions": kpi.concentration(kpis.set_index("region")["revenue"]),
        "customers": kpi.concentration(by_customer),
        "statement_regions": kpi.concentration_statement(
            kpis["revenue"], names, unit=unit, lang=ctx.lang),
        "statement_customers": kpi.concentration_statement(
            by_customer, None, unit="customers", lang=ctx.lang),
    }
    rfm_table = segments.rfm(ctx.orders[ctx.orders["order_date"] <= p["end"]],
                             as_of=p["end"] + pd.Timedelta(days=1), bins=ctx.config.analysis.rfm_bins)
    total = kpis[["customers", "active_customers", "revenue", "revenue_prev"]].sum()
    headline = {
        "region": ctx.scope.name, "label": ctx.scope.label(ctx.lang),
        "customers": int(total["customers"]), "active_customers": int(total["active_customers"]),
        "revenue": float(total["revenue"]),
        "growth_yoy": float(total["revenue"] / total["revenue_prev"] - 1)
        if total["revenue_prev"] > 0 else None,
        "period_start": p["start"] + pd.Timedelta(days=1), "period_end": p["end"],
    }
    return {"region_kpis": kpis, "concentration": concentration, "rfm": rfm_table,
            "segment_summary": segments.segment_summary(rfm_table), "headline": headline}


def save_insight(ctx: Context, tables: dict) -> None:
    """Write step 4's tables to the region folder (read by step 5 and the index page)."""
    tables["region_kpis"].to_csv(ctx.out / "region_kpis.csv", index=False)
    tables["rfm"].to_csv(ctx.out / "rfm.csv", index=False)
    tables["segment_summary"].to_csv(ctx.out / "segment_summary.csv", index=False)
    write_json(tables["concentration"], ctx.out / "concentration.json")
    write_json(tables["headline"], ctx.out / "headline.json")


def ensure_insight(ctx: Context) -> dict:
    """Step 4's tables from the region folder, computed and saved first when missing."""
    needed = ["region_kpis.csv", "rfm.csv", "segment_summary.csv", "headline.json"]
    if not all((ctx.out / name).exists() for name in needed):
        tables = insight_tables(ctx)
        save_insight(ctx, tables)
        return tables
    return {
        "region_kpis": pd.read_csv(ctx.out / "region_kpis.csv"),
        "rfm": pd.read_csv(ctx.out / "rfm.csv", dtype={"customer_id": "string"}),
        "segment_summary": pd.read_csv(ctx.out / "segment_summary.csv"),
        "headline": json.loads((ctx.out / "headline.json").read_text("utf-8")),
    }
