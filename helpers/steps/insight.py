"""Step 4, insight: the tables step 4 computes and saves, and step 5 reads.

:func:`insight_tables` computes, for the scope of a report:

- ``region_kpis``: KPIs per region (:func:`helpers.analysis.kpis.region_kpis`) with
  marketing spend and ROI, the penetration and gap columns, and the hot-spot
  columns of :func:`helpers.analysis.hotspots.hotspots` (``gi_z``, ``gi_p``,
  ``gi_p_fdr``, ``gi_bin``, ``hotspot``, ``lisa_quadrant`` ...);
- ``market_gaps``: blank and under-penetrated regions ranked by gap size;
- ``concentration``: Gini, HHI, top-20% shares and plain statements;
- ``rfm`` and ``segment_summary``; ``clusters``, ``cluster_profiles`` and
  ``cluster_scores`` (K-means with k by silhouette);
- ``lifecycle`` and ``lifecycle_summary``; ``ltv`` (BG/NBD + Gamma-Gamma, with intervals from the parameters' uncertainty
  intervals) and ``ltv_regions`` (per region, with the interval of each total), both
  without values when the data cannot carry the model (the note says why);
- ``isolated_customers`` with their profile (isolation judged against the whole
  market); ``partner_tiers`` and
  ``partner_summary``;
- ``category_mix``: each region's revenue share per product category against the
  market's (the whole market in a territory report), its growth and the cross-sell gaps
  (:func:`helpers.analysis.mix.category_mix`); ``segment_mix``: the same by customer
  segment (the profile attributes' values in place of regions,
  :func:`helpers.analysis.mix.segment_mix`); ``cohorts`` and ``cohort_trend``: cohort
  retention of the scope and its regions and the regions whose newer cohorts retain
  worse (:mod:`helpers.analysis.cohorts`); their notes ``mix`` and ``cohorts``;
- ``revenue_bridge``: why revenue changed from the previous period, per region and for
  the scope (:func:`helpers.analysis.bridge.bridge`; no rows when the data do not cover
  the previous period), and ``forecast``: the next ``analysis.forecast_months`` per
  region and for the scope with its interval and backtest, or why none
  (:func:`helpers.analysis.forecast.region_forecasts`), and ``forecast_months``: each
  series' months and forecast months with their own interval (the forecast chart);
- ``no_region``: the customers in no row of ``region_kpis``, one line per reason
  (:func:`helpers.analysis.extent.no_region`: an area outside the market's extent
  ``geography.extent``, another country, a place name not resolved, a city unknown in
  a province report; written as ``no_region.csv`` only when not empty): counted in
  the headline's totals, never tiered, a gap or given an action;
- ``headline`` and ``notes`` (how each result was computed, sample sizes and
  any fallback; the headline's ``bridge``: the scope's change and its largest driver;
  ``extent`` and the headline's ``outside_extent`` when customers
  lie outside the extent, ``no_region`` with customers and revenue per reason when
  any customer is in no region row).

What is the same for every region (the per-customer purchase summary and days, the
isolated customers, the whole market's province KPIs) comes from the run's market-wide
results (:mod:`helpers.steps.market`), of which a region takes its rows. On large data
(``ctx.lines``) no table of one row per purchase day or per order reaches pandas: the
readers of the purchase days and of the period's orders (lifecycle, lifetime value's
holdout check, the buying section's quartiles and weekdays) are DuckDB twins that return
a row per customer or per region.

:func:`save_insight` writes them to the region folder; :func:`ensure_insight`
loads them, computing them first when a file is missing.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import Markdown

from helpers.analysis import (
    bridge,
    buying,
    clusters,
    forecast,
    gaps,
    hotspots,
    lifecycle,
    ltv,
    mix,
    partners,
    profiles,
    roi,
    segments,
)
from helpers.analysis import (
    cohorts as cohort_measures,
)
from helpers.analysis import (
    kpis as region_measures,
)
from helpers.analysis.concentration import concentration
from helpers.analysis.extent import OUTSIDE_COLUMNS
from helpers.analysis.kpis import period_revenue, period_revenue_sql
from helpers.analysis.tiers import region_tiers
from helpers.catalog import SECTIONS
from helpers.context import SINGLE_REGION_KEYS, Blocks, Context, Table
from helpers.files import read_csv, write_csv, write_json
from helpers.steps import market
from helpers.text.format import format_money
from helpers.text.lookup import join, label, lang_code, region_label, say, text
from helpers.text.narrative.audience import Audience
from helpers.text.narrative.concentration import concentration_statement, top20_statement
from helpers.text.narrative.insight import TOPICS, cluster_description, narrate
from helpers.text.narrative.notes import note_texts
from helpers.text.narrative.tiers import partner_reasons, with_partner_reasons
from helpers.text.tables import format_cell

__all__ = ["insight_tables", "save_insight", "ensure_insight", "explain", "table", "section",
           "audience", "ltv_shown", "cohort_chart", "cohort_charts", "forecast_chart", "FILES", "TABLES",
           "SECTION_TABLES"]

#: Table name -> file in the region folder.
FILES = {
    "region_kpis": "region_kpis.csv",
    "market_gaps": "market_gaps.csv",
    "rfm": "rfm.csv",
    "segment_summary": "segment_summary.csv",
    "clusters": "clusters.csv",
    "cluster_profiles": "cluster_profiles.csv",
    "cluster_scores": "cluster_scores.csv",
    "lifecycle": "lifecycle.csv",
    "lifecycle_summary": "lifecycle_summary.csv",
    "ltv": "ltv.csv",
    "ltv_regions": "ltv_regions.csv",
    "isolated_customers": "isolated_customers.csv",
    "partner_tiers": "partner_tiers.csv",
    "partner_summary": "partner_summary.csv",
    "category_mix": "category_mix.csv",
    "segment_mix": "segment_mix.csv",
    "cohorts": "cohorts.csv",
    "cohort_trend": "cohort_trend.csv",
    "revenue_bridge": "revenue_bridge.csv",
    "forecast": "forecast.csv",
    "forecast_months": "forecast_months.csv",
    # who the customers are and how they buy (_buyers)
    "profile_mix": "profile_mix.csv", "profile_value": "profile_value.csv",
    "buying": "buying.csv", "seasonality": "seasonality.csv", "weekdays": "weekdays.csv",
    "discount_bands": "discount_bands.csv", "discount_regions": "discount_regions.csv",
}
#: Written only when not empty (customers in no region row: outside the market's extent,
#: abroad, place name not resolved, city unknown).
OPTIONAL_FILES = {"no_region": "no_region.csv"}
JSON_FILES = {"concentration": "concentration.json", "headline": "headline.json",
              "notes": "insight_notes.json"}
_DATES = {"rfm": ["last_order_date"], "lifecycle": ["first_order", "last_order"],
          "forecast_months": ["month_end"]}
#: Columns read back as text (a category named 2024 stays the name "2024").
_TEXT = {"category_mix": {"category": "string"},
         "segment_mix": {"category": "string", "value": "string"}}
#: Fewer customers with orders than this: no clustering (too few to find groups).
MIN_CLUSTER_CUSTOMERS = 30


def _hotspot_value(kpis: pd.DataFrame, setting: str) -> str:
    if setting != "auto":
        return setting
    if "revenue_per_capita" in kpis.columns and kpis["revenue_per_capita"].notna().any():
        return "revenue_per_capita"
    return "revenue"


def _with_hotspots(ctx: Context, kpis: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Gi* and local Moran columns: in a territory report the national pattern
    (the benchmark's provinces), shown for the provinces in scope."""
    a = ctx.config.analysis
    benchmark = ctx.benchmark
    value = _hotspot_value(kpis if benchmark is None else benchmark.kpis, a.hotspot_value)
    table, note = hotspots.hotspots(kpis, value=value, level=ctx.scope.sublevel,
                                    min_regions=a.hotspot_min_regions, k=a.hotspot_k,
                                    benchmark=benchmark)
    return table, hotspots.with_precision(note, ctx.customers, ctx.scope.sublevel)


def _clusters(summary: pd.DataFrame, a) -> tuple[dict, dict]:
    features = clusters.customer_features(summary)
    note = {"customers": int(len(features)), "features": clusters.FEATURES,
            "transform": "log1p, then standardised"}
    empty = {"clusters": pd.DataFrame(columns=["customer_id", "cluster"]),
             "cluster_profiles": pd.DataFrame(columns=["cluster", "customers", "description"]),
             "cluster_scores": pd.DataFrame(columns=["k", "silhouette", "calinski_harabasz",
                                                     "davies_bouldin", "inertia", "chosen"])}
    if len(features) < MIN_CLUSTER_CUSTOMERS:
        note["min_customers"] = MIN_CLUSTER_CUSTOMERS
        note["reason"] = (f"only {len(features)} customers with orders (at least "
                          f"{MIN_CLUSTER_CUSTOMERS} are needed)")
        return empty, note
    if len(features[clusters.FEATURES].drop_duplicates()) < 2:
        note["reason_key"] = "alike"  # every customer behaves the same: nothing to split
        return empty, note
    model = clusters.CustomerClusters(range(2, a.cluster_k_max + 1),
                                      sample_size=a.silhouette_sample).fit(features)
    note.update(k=model.k_, silhouette_sample=model.silhouette_sample_,
                silhouette_sampled=model.silhouette_sample_ < len(features),
                fit_sample=model.fit_sample_)
    labelled = features.assign(cluster=model.labels_)
    profiles = clusters.describe_clusters(features, model.labels_)
    described = profiles.assign(description=[
        cluster_description(row, clusters.FEATURES) for row in profiles.to_dict("records")])
    return {"clusters": labelled, "cluster_profiles": described,
            "cluster_scores": model.scores_}, note


def _lifetime_value(ctx: Context, summary: pd.DataFrame, days: pd.DataFrame | None
                    ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Lifetime value where the data carry it, per customer and per region of the report
    (``days`` None on large data: the twin reads the lines, :attr:`Context.lines`)."""
    a = ctx.config.analysis
    level = ctx.scope.sublevel
    regions = (ctx.customers.drop_duplicates("customer_id").set_index("customer_id")[level]
               if level in ctx.customers.columns else None)
    options = dict(
        regions=regions, months=a.ltv_months,
        discount_monthly=a.ltv_discount_monthly, penalizer=a.ltv_penalizer,
        min_repeat_customers=a.ltv_min_repeat_customers,
        min_repeat_share=a.ltv_min_repeat_share, holdout_months=a.ltv_holdout_months,
        min_calibration_months=a.ltv_min_calibration_months,
        min_holdout_months=a.ltv_min_holdout_months, tolerance=a.ltv_holdout_tolerance,
        interval_draws=a.ltv_interval_draws, interval=a.ltv_interval, seed=a.ltv_seed)
    # on large data the holdout's per-customer data are summed in DuckDB (ctx.lines)
    return (ltv.lifetime_value_sql(ctx.lines, summary, as_of=ctx.period.as_of, **options)
            if ctx.lines is not None
            else ltv.lifetime_value(summary, days, as_of=ctx.period.as_of, **options))


def _regions_of(ctx: Context, kpis: pd.DataFrame) -> pd.Series | None:
    """``customer_id`` -> its region row of ``kpis`` (NA for customers in none)."""
    level = ctx.scope.sublevel
    if level not in ctx.customers.columns:
        return None
    where = ctx.customers.drop_duplicates("customer_id").set_index("customer_id")[level]
    return where.where(where.isin(kpis["region"]))


def _named(table: pd.DataFrame, kpis: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the regions' other names of ``kpis`` (``region_en``, ``region_zh``)."""
    names = [c for c in ("region_en", "region_zh") if c in kpis.columns]
    if not names:
        return table
    other = kpis.drop_duplicates("region").set_index("region")[names]
    return table.assign(**{c: table["region"].map(other[c]) for c in names})


def _bridge_and_forecast(ctx: Context, kpis: pd.DataFrame) -> tuple[dict, dict]:
    """Why revenue changed (the bridge from the previous period) and where it is heading
    (the next months' forecast), per region of ``kpis`` and for the whole scope."""
    a, p = ctx.config.analysis, ctx.period
    regions, dates = _regions_of(ctx, kpis), ctx.order_days
    # on large data the lines stay in DuckDB (ctx.lines): the twins sum them there
    in_sql = ctx.lines is not None
    lines = ctx.lines if in_sql else ctx.orders
    moved, moved_note = (bridge.bridge_sql if in_sql else bridge.bridge)(
        lines, p, dates=dates, regions=regions, min_coverage=a.min_baseline_coverage)
    monthly = (forecast.monthly_revenue_sql if in_sql else forecast.monthly_revenue)(
        lines, p.end, first_day=dates.min(), regions=regions)
    ahead, ahead_note, path = forecast.region_forecasts(
        monthly, horizon=a.forecast_months, level=a.forecast_interval,
        min_months=a.forecast_min_months, max_zero_share=a.forecast_max_zero_share,
        origins=a.forecast_backtest_origins, months=True)
    ahead_note.update(first_day=p.as_of, last_day=p.end + pd.DateOffset(months=a.forecast_months))
    return ({"revenue_bridge": _named(moved, kpis), "forecast": _named(ahead, kpis),
             "forecast_months": _named(path, kpis)},
            {"bridge": moved_note, "forecast": ahead_note})


def ltv_shown(tables: dict) -> bool:
    """Whether the data carried lifetime value (step 4's note): only then do reports and
    step 5 use its values."""
    return bool(tables["notes"]["ltv"].get("shown"))


def _present(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    """Those of ``columns`` that ``frame`` has, in that order (a scope without population
    reference has no gap columns; data without firmographics no partner profile)."""
    return [c for c in columns if c in frame.columns]


def _isolated(ctx: Context, tables: dict, revenue: pd.Series) -> tuple[pd.DataFrame, dict]:
    """Isolated customers of the scope (isolation judged against all customers)."""
    found, note = market.isolated(ctx)  # judged against the market, computed once per run
    found = found.loc[found["customer_id"].isin(ctx.customers["customer_id"])]
    profile_cols = _present(ctx.customers, ["name", "channel", "industry", "business_model",
                                            "main_product_tier", "headcount", "signup_date",
                                            "sales_rep_id"])
    profile = ctx.customers.set_index("customer_id")[profile_cols]
    rfm = tables["rfm"].set_index("customer_id")
    stage = tables["lifecycle"].set_index("customer_id")["stage"]
    value = tables["ltv"].set_index("customer_id")["ltv"] if len(tables["ltv"]) else None
    found = found.join(profile, on="customer_id").assign(
        revenue=found["customer_id"].map(revenue).fillna(0.0),
        orders_to_date=found["customer_id"].map(rfm["frequency"]).fillna(0).astype("int64"),
        last_order_date=found["customer_id"].map(rfm["last_order_date"]),
        segment=found["customer_id"].map(rfm["segment"]),
        stage=found["customer_id"].map(stage),
        ltv=found["customer_id"].map(value) if value is not None else np.nan,
    )
    note["in_scope"] = int(len(found))
    return found.reset_index(drop=True), note


def _with_meaning(summary: pd.DataFrame, column: str) -> pd.DataFrame:
    """``summary`` with ``meaning``: what each segment or stage means, in English (the CSV's
    language; reports translate it, :func:`helpers.text.lookup.translate`)."""
    section = f"{column}_meaning"
    return summary.assign(meaning=[text(section, key) for key in summary[column]])


def _with_names(frame: pd.DataFrame, kpis: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the regions' English names (``region_en``) of the KPI table."""
    if "region_en" not in kpis.columns or "region" not in frame.columns:
        return frame
    names = kpis.drop_duplicates("region").set_index("region")["region_en"]
    return frame.assign(region_en=frame["region"].map(names))


def _mix_and_cohorts(ctx: Context, kpis: pd.DataFrame, notes: dict) -> dict:
    """The category mix by region (judged against the whole market in a territory report)
    and the cohort retention of the scope and its regions; their notes go into ``notes``."""
    a, p, level = ctx.config.analysis, ctx.period, ctx.scope.sublevel
    people = ctx.customers.drop_duplicates("customer_id").set_index("customer_id")
    regions = (people[level].where(people[level].isin(kpis["region"]))
               if level in people.columns else pd.Series(dtype=object))
    # on large data the lines stay in DuckDB (ctx.lines): the twins sum them there
    benchmark, on_lines = ctx.benchmark is not None, ctx.lines is not None
    market = ctx.prep.orders if benchmark and not on_lines else None
    options = {"period": p, "data_dates": ctx.order_days, "min_customers": a.mix_min_customers,
               "min_coverage": a.min_baseline_coverage, "alpha": a.significance,
               "gap_index": a.mix_gap_index, "rest_index": a.mix_rest_index}
    category_mix, notes["mix"] = (
        mix.category_mix_sql(ctx.lines, regions, market_lines=benchmark, **options) if on_lines
        else mix.category_mix(ctx.orders, regions, market_orders=market, **options))
    if benchmark:
        notes["mix"]["scope_key"] = "market_city" if ctx.scope.kind == "city" else "market"
    # the same gap rule with customer segments (profile attributes) in place of regions
    attributes, _ = profiles.profile_attributes(people.reset_index(), a.profile_attributes)
    options.update(attributes=attributes, max_values=a.profile_max_values,
                   reference=ctx.prep.customers if benchmark else None)
    segment_mix, notes["segment_mix"] = (
        mix.segment_mix_sql(ctx.lines, people.reset_index(), market_lines=benchmark, **options)
        if on_lines else mix.segment_mix(ctx.orders, people.reset_index(),
                                         market_orders=market, **options))
    grid, notes["cohorts"] = (cohort_measures.cohort_retention_sql if on_lines
                              else cohort_measures.cohort_retention)(
        ctx.lines if on_lines else ctx.orders, as_of=p.as_of, regions=regions,
        data_start=ctx.order_days.min())
    notes["cohorts"].update(min_customers=a.cohort_min_customers,
                            min_drop=a.cohort_min_drop, alpha=a.significance)
    trend = cohort_measures.retention_trend(grid, min_cohort=a.cohort_min_customers,
                                            min_drop=a.cohort_min_drop, alpha=a.significance)
    notes["cohorts"]["worse"] = [str(r) for r in trend.loc[trend["worse"].astype(bool)
                                                           & trend["region"].notna(), "region"]]
    return {"category_mix": _with_names(category_mix, kpis), "segment_mix": segment_mix,
            "cohorts": grid,
            "cohort_trend": _with_names(trend, kpis)}


def insight_tables(ctx: Context) -> dict:
    """Every step-4 table for the scope of ``ctx`` (see the module docstring)."""
    a = ctx.config.analysis
    p = ctx.period
    level = ctx.scope.sublevel
    kpis = ctx.kpis_by_region(level)
    kpis = roi.marketing_roi(kpis, ctx.prep.spend if level == "province" else None, period=p)
    kpis, hot_note = _with_hotspots(ctx, kpis)
    # Whether the data cover the windows growth is measured against (region_kpis left
    # growth NaN where they do not).
    notes: dict = {"growth": region_measures.baselines(
        p, dates=ctx.order_days, pop_months=a.pop_months,
        min_coverage=a.min_baseline_coverage), "hotspots": hot_note}
    if "expected_method" in kpis.columns and len(kpis):
        notes["gaps"] = gaps.gap_model(kpis, method=a.expected_model, benchmark=ctx.benchmark)
    else:
        notes["gaps"] = {"reason_key": "no_reference"}

    as_of = p.as_of
    # Revenue across the customers buying in the period (a purchase line in it): the
    # population the headline's ``customers_buying`` counts; net returns count as 0.
    by_customer = (period_revenue_sql(ctx.lines, period=p, buying=True)
                   if ctx.lines is not None
                   else period_revenue(ctx.period_orders, period=p, buying=True))
    unit = "cities" if level == "city" else "provinces"
    names = region_label(kpis, ctx.lang)
    how_concentrated = {
        "regions": concentration(kpis.set_index("region")["revenue"]),
        "customers": concentration(by_customer),
        "statement_regions": concentration_statement(
            kpis["revenue"], names, unit=unit, lang=ctx.lang),
        "statement_customers": concentration_statement(
            by_customer, None, unit="customers", lang=ctx.lang),
        "statement_top20_regions": top20_statement(kpis["revenue"], unit=unit,
                                                       lang=ctx.lang),
        "statement_top20_customers": top20_statement(by_customer, unit="customers",
                                                         lang=ctx.lang)
        + ("" if lang_code(ctx.lang) == "zh" else " ")
        + say("customers_counted", ctx.lang, n=len(by_customer)),
    }
    single = ctx.single_region(kpis)
    if single is not None:  # one region: nothing spreads over regions
        key = f"concentration_{SINGLE_REGION_KEYS[single]}"
        how_concentrated.update(regions=None, statement_top20_regions="",
                                statement_regions=say(key, ctx.lang, region=(
                                    names.iloc[0] if single == "one_region"
                                    else ctx.scope.label(ctx.lang))))
    # One purchase summary per customer, on the day after the period, for RFM,
    # lifecycle, lifetime value and clusters alike: the scope's customers' rows of the
    # market's tables (computed once per run, helpers.steps.market).
    # On large data (ctx.lines) the purchase days (a row per customer and purchase day)
    # are not fetched: lifecycle, lifetime value and the buying section read them in DuckDB.
    on_lines = ctx.lines is not None
    summary, days = market.purchases(ctx, with_days=not on_lines)
    rfm_table = segments.rfm(summary, bins=a.rfm_bins)
    notes["segments"] = segments.rfm_information(rfm_table, bins=a.rfm_bins)
    stages = (lifecycle.lifecycle_sql(ctx.lines, summary, as_of=as_of, customers=ctx.customers,
                                      new_months=a.new_months, at_risk_months=a.at_risk_months,
                                      churn_months=a.churn_months) if on_lines
              else lifecycle.lifecycle(summary, days, as_of=as_of, customers=ctx.customers,
                                       new_months=a.new_months,
                                       at_risk_months=a.at_risk_months,
                                       churn_months=a.churn_months))
    notes["lifecycle"] = {"as_of": as_of, "new_months": a.new_months,
                          "at_risk_months": a.at_risk_months, "churn_months": a.churn_months}
    value, value_regions, notes["ltv"] = _lifetime_value(ctx, summary, days)
    cluster_tables, notes["clusters"] = _clusters(summary, a)
    # each region's tier (step 5's rule), so that the gap table says "room to grow" for a
    # core or growing region below its expected customers instead of calling it a gap
    tier_of = region_tiers(kpis, rules=ctx.config.strategy.model_dump(),
                           min_customers=a.min_customers,
                           benchmark=ctx.benchmark).set_index("region")["tier"]
    tables = {"region_kpis": kpis, "market_gaps": gaps.market_gaps(kpis, tiers=tier_of),
              "concentration": how_concentrated, "rfm": rfm_table,
              "segment_summary": _with_meaning(segments.segment_summary(rfm_table), "segment"),
              "lifecycle": stages,
              "lifecycle_summary": _with_meaning(
                  lifecycle.lifecycle_summary(stages, by_customer), "stage"),
              "ltv": value, "ltv_regions": value_regions, **cluster_tables}
    tables["isolated_customers"], notes["isolation"] = _isolated(ctx, tables, by_customer)
    scoring = ctx.config.partners.model_dump(exclude_none=True)
    tiers = with_partner_reasons(
        partners.partner_tiers_sql(ctx.lines, ctx.customers, period=p, stages=stages,
                                   scoring=scoring) if ctx.lines is not None
        else partners.partner_tiers(ctx.customers, ctx.orders, period=p, stages=stages,
                                    scoring=scoring), audience(ctx).for_files())
    tables["partner_tiers"] = tiers
    tables["partner_summary"] = partners.tier_summary(tiers)
    notes["partners"] = partners.tier_balance(tiers, ctx.config.partners.tiers)
    tables.update(_buyers(ctx, kpis, by_customer, days, notes))

    tables.update(_mix_and_cohorts(ctx, kpis, notes))
    found, found_notes = _bridge_and_forecast(ctx, kpis)
    tables.update(found)
    notes.update(found_notes)

    # Every customer of the report counts in the headline: the region rows plus the
    # customers in no region row (outside the extent, abroad, place not resolved, no city).
    unplaced = ctx.no_region()
    tables["no_region"] = unplaced
    counted = ["customers", "active_customers", "revenue", "revenue_last_year"]
    total = kpis[counted].sum() + unplaced[counted].sum()
    outside = unplaced.loc[unplaced["reason"] == "outside_extent"]
    if len(outside):
        notes["extent"] = {"reason_key": "outside_extent", "areas": list(outside["region"]),
                           "customers": int(outside["customers"].sum()),
                           "revenue": float(outside["revenue"].sum())}
    if len(unplaced):
        notes["no_region"] = {
            "reason_key": "no_region", "customers": int(unplaced["customers"].sum()),
            "revenue": float(unplaced["revenue"].sum()),
            "reasons": {reason: {"customers": int(group["customers"].sum()),
                                 "revenue": float(group["revenue"].sum())}
                        for reason, group in unplaced.groupby("reason", sort=False)}}
    hot = kpis.loc[kpis["gi_bin"].fillna(0).astype(int) >= 2, "region"]
    headline = {
        "region": ctx.scope.name, "label": ctx.scope.label(ctx.lang),
        "customers": int(total["customers"]), "active_customers": int(total["active_customers"]),
        "active_months": int(a.active_months), "customers_buying": int(len(by_customer)),
        "customers_with_orders": int(len(rfm_table)),
        "revenue": float(total["revenue"]),
        "growth_yoy": float(total["revenue"] / total["revenue_last_year"] - 1)
        if total["revenue_last_year"] > 0 and notes["growth"]["yoy"]["enough"] else None,
        "period_start": p.first_day, "period_end": p.end,
        "hot_spots": list(hot),
        "blank_regions": list(kpis.loc[kpis["customers"] == 0, "region"]),
        "isolated_customers": int(len(tables["isolated_customers"])),
        "ltv_12m_total": notes["ltv"].get("total_ltv") if notes["ltv"]["shown"] else None,
        "partners_a": int((tiers["tier"] == "A").sum()) if len(tiers) else 0,
    }
    if notes["bridge"]["shown"]:  # the largest driver of the change (the index's story)
        headline["bridge"] = {k: notes["bridge"][k] for k in (
            "revenue_prev", "change", "driver", "driver_amount", "driver_net")}
    if len(outside):  # counted in the totals above, never tiered or a gap
        headline["outside_extent"] = notes["extent"]
    if len(unplaced):
        headline["no_region"] = notes["no_region"]
    tables["headline"] = headline
    tables["notes"] = note_texts(notes)  # keys and numbers, and the English the file holds
    return tables


def _buyers(ctx: Context, kpis: pd.DataFrame, revenue: pd.Series, days: pd.DataFrame,
            notes: dict) -> dict:
    """Who the customers are (:mod:`helpers.analysis.profiles`) and how they buy
    (:mod:`helpers.analysis.buying`), per region of the report; their notes go to ``notes``
    (``profiles``, ``buying``, ``seasonality``, ``weekdays``, ``discount``). ``days``
    are the scope's purchase days, None on large data (the twins read ``ctx.lines``)."""
    a, level, market, p = ctx.config.analysis, ctx.scope.sublevel, ctx.scope.name, ctx.period
    people = ctx.customers.drop_duplicates("customer_id")
    regions = (people.set_index("customer_id")[level] if level in people
               else pd.Series(pd.NA, index=people["customer_id"], dtype="string"))
    # rows of region_kpis only; a region that is the whole report (a city report's city,
    # Beijing the city in Beijing's report) is its first row, not a second one
    regions = regions.where(regions.isin(kpis["region"]) & (regions != market))
    # the market a province is compared with is the whole market (as for hot spots and gaps)
    reference = ctx.prep.customers if ctx.benchmark is not None else ctx.customers
    attributes, left_out = profiles.profile_attributes(people, a.profile_attributes)
    options = {"max_values": a.profile_max_values, "alpha": a.significance}
    frame = people.assign(**{level: regions.to_numpy()})
    out = {"profile_mix": profiles.attribute_mix(frame, reference.drop_duplicates("customer_id"),
                                                 level=level, attributes=attributes,
                                                 **options),
           "profile_value": profiles.value_by_attribute(
               frame, revenue, level=level, attributes=attributes, market=market,
               top_share=a.profile_top_share, **options)}
    notes["profiles"] = {"attributes": attributes, "left_out": left_out, "market": market,
                         "reference": "market" if level == "province"
                         or ctx.benchmark is not None else "scope",
                         "customers": int(len(people)), "buyers": int((revenue > 0).sum()),
                         "top_share": a.profile_top_share, "alpha": a.significance,
                         **({} if attributes else {"reason_key": "no_attributes"})}
    lines = ctx.period_orders if ctx.lines is None else None   # else: the lines in DuckDB
    column = level if level == "province" else None    # orders carry their customer's
    if lines is not None:
        orders = buying.period_orders(lines, regions, column)
        out["buying"] = buying.buying_summary(days, orders, regions, start=p.first_day,
                                              market=market, min_count=a.buying_min_count)
        repeat = int((days.loc[days["day"] >= p.first_day, "gap_days"].notna()).sum())
        n_orders = int(len(orders))
    else:  # the orders and purchase days formed and summed per region in DuckDB
        out["buying"] = buying.buying_summary_sql(ctx.lines, regions, period=p, market=market,
                                                  min_count=a.buying_min_count, column=column)
        whole = out["buying"].iloc[0]       # the report's row: every order and interval
        repeat, n_orders = int(whole["intervals"]), int(whole["orders"])
    notes["buying"] = {"orders": n_orders, "buyers": int(out["buying"]["buyers"].iloc[0])
                       if len(out["buying"]) else 0, "intervals": repeat,
                       "min_count": a.buying_min_count,
                       **({"reason_key": "no_orders"} if not n_orders else
                          {"reason_key": "no_repeat"} if not repeat else {})}
    in_sql = ctx.lines is not None  # the lines in DuckDB: the twin sums them there
    grid = (buying.monthly_revenue_grid_sql if in_sql else buying.monthly_revenue_grid)(
        ctx.lines if in_sql else ctx.orders, regions, data_start=ctx.order_days.min(),
        as_of=p.as_of, market=market, max_months=a.seasonality_max_months, column=column)
    out["seasonality"] = buying.seasonality(grid, min_months=a.seasonality_min_months,
                                            alpha=a.significance)
    notes["seasonality"] = {"months": int(len(grid)), "min_months": a.seasonality_min_months,
                            "first": str(grid.index[0]) if len(grid) else None,
                            "last": str(grid.index[-1]) if len(grid) else None}
    out["weekdays"] = (buying.weekdays(orders, market=market, alpha=a.significance)
                       if lines is not None else
                       buying.weekdays_sql(ctx.lines, regions, period=p, column=column,
                                           market=market, alpha=a.significance))
    notes["weekdays"] = {"has_time": buying.has_time(lines) if lines is not None
                         else buying.has_time_sql(ctx.lines, period=p),
                         "orders": n_orders}
    out["discount_bands"], out["discount_regions"], notes["discount"] = (
        buying.discounts(lines, regions, market=market, min_count=a.buying_min_count,
                         column=column) if lines is not None else
        buying.discounts_sql(ctx.lines, regions, period=p, market=market,
                             min_count=a.buying_min_count, column=column))
    english = kpis.set_index("region")["region_en"] if "region_en" in kpis else None
    for name in ("profile_mix", "profile_value", "buying", "seasonality", "weekdays",
                 "discount_regions"):  # the regions' English names, as region_kpis has them
        frame = out[name]
        if english is not None and "region" in frame:
            frame.insert(frame.columns.get_loc("region") + 1, "region_en",
                         frame["region"].map(english).astype(object))
    return out


def save_insight(ctx: Context, tables: dict) -> None:
    """Write step 4's tables to the region folder (read by step 5 and the index page)."""
    ctx.out.mkdir(parents=True, exist_ok=True)
    for name, file in FILES.items():
        write_csv(tables[name], ctx.out / file)
    for name, file in OPTIONAL_FILES.items():
        if tables.get(name) is not None and len(tables[name]):
            write_csv(tables[name], ctx.out / file)
        else:  # no stale file from an earlier computation in this folder
            (ctx.out / file).unlink(missing_ok=True)
    for name, file in JSON_FILES.items():
        write_json(tables[name], ctx.out / file)


def _read(folder: Path, name: str) -> pd.DataFrame:
    frame = read_csv(folder / FILES[name], dtype={"customer_id": "string",
                                                   **_TEXT.get(name, {})},
                     parse_dates=_DATES.get(name, []))
    if name == "region_kpis" and "gi_bin" in frame.columns:
        frame = frame.assign(gi_bin=frame["gi_bin"].astype("Int64"))
    return frame


def ensure_insight(ctx: Context) -> dict:
    """Step 4's tables from the region folder, computed and saved first when missing."""
    needed = [*FILES.values(), *JSON_FILES.values()]
    if not all((ctx.out / name).exists() for name in needed):
        tables = insight_tables(ctx)
        save_insight(ctx, tables)
        return tables
    tables = {name: _read(ctx.out, name) for name in FILES}
    for name, file in OPTIONAL_FILES.items():
        tables[name] = (read_csv(ctx.out / file) if (ctx.out / file).exists()
                        else pd.DataFrame(columns=OUTSIDE_COLUMNS))
    for name, file in JSON_FILES.items():
        tables[name] = json.loads((ctx.out / file).read_text("utf-8"))
    return tables


# --------------------------------------------------------------------------- plain words


def audience(ctx: Context) -> Audience:
    """Language, currency, compared regions and partner thresholds of ``ctx``'s report."""
    country = getattr(ctx.config.geography, "country", "CN")
    regions = ("cities" if ctx.scope.sublevel == "city" else "provinces" if country == "CN"
               else "countries" if country == "WORLD" else "states")
    return Audience(lang=ctx.lang, currency=ctx.config.project.currency, regions=regions,
                    partner_points=dict(ctx.config.partners.tiers))


def explain(ctx: Context, tables: dict, topic: str) -> str:
    """What one step-4 result means for the business, in a few plain sentences.

    Parameters
    ----------
    ctx : Context
        Its ``lang`` (en | zh) is the language of the sentences.
    tables : dict
        :func:`insight_tables` (or :func:`ensure_insight`) output.
    topic : str
        A key of :data:`helpers.text.narrative.insight.TOPICS` (``hotspots``,
        ``gaps``, ``isolated``, ``concentration``, ``segments``, ``clusters``,
        ``lifecycle``, ``ltv``, ``partners``, ``bridge``, ``forecast``).

    Returns
    -------
    str
        Markdown; every name that comes from the data is shown as text.
    """
    return narrate(topic, tables, audience(ctx))


# --------------------------------------------------------------------------- what 04 shows


def _region_kpis(ctx: Context, tables: dict) -> Table:
    kpis = tables["region_kpis"].sort_values("revenue", ascending=False, kind="mergesort")
    return ctx.show(kpis, rows=15, file=FILES["region_kpis"], shown=[
        "region", "customers", "active_customers", "revenue", "share", "growth_yoy",
        "growth_pop", "revenue_per_customer", "marketing_spend", "roi", "customers_per_rep",
        "small_sample"])


def _hotspots(ctx: Context, tables: dict) -> Table:
    """Only the regions with a significant pattern; the quiet ones are counted."""
    kpis = tables["region_kpis"]
    significant = kpis.loc[kpis["gi_bin"].fillna(0).astype(int) != 0].sort_values(
        "gi_z", ascending=False)
    value = "revenue_per_capita" if "revenue_per_capita" in kpis and \
        kpis["revenue_per_capita"].notna().any() else "revenue"
    return ctx.show(significant, rows=None, total=len(kpis), file=FILES["region_kpis"],
                    more_key="hotspots_quiet", empty=text("table", "hotspots_none", ctx.lang),
                    shown=["region", value, "gi_z", "hotspot", "lisa_quadrant"])


def _gaps(ctx: Context, tables: dict) -> Table:
    return ctx.show(tables["market_gaps"], rows=10, file=FILES["market_gaps"],
                    empty=text("table", "gaps_none", ctx.lang),
                    shown=["gap_rank", "region", "gap_kind", "tier", "customers", "expected_customers",
                           "customer_gap", "customers_per_million", "revenue_per_100m_gdp"])


def _isolated_table(ctx: Context, tables: dict) -> Table:
    return ctx.show(tables["isolated_customers"], rows=10, file=FILES["isolated_customers"],
                    empty=text("table", "isolated_none", ctx.lang),
                    shown=["customer_id", "name", "province", "city", "nearest_cluster_city",
                           "nearest_cluster_km", "revenue", "segment", "stage", "ltv"])


#: The concentration measures notebook 04 shows, and how each reads.
_CONCENTRATION_ROWS = {"n": "count", "total": "money", "gini": "decimal", "hhi": "decimal",
                       "top20_share": "percent", "top_k_for_80": "count"}


def _concentration(ctx: Context, tables: dict) -> Table:
    c = tables["concentration"]
    units = [u for u in ("regions", "customers") if c.get(u) is not None]  # a city: customers
    rows = [{"measure": label(f"concentration_{key}", ctx.lang),
             **{unit: format_cell(c[unit].get(key), kind, ctx.lang) for unit in units}}
            for key, kind in _CONCENTRATION_ROWS.items()]
    return ctx.show(pd.DataFrame(rows), rows=None)


def _clusters_table(ctx: Context, tables: dict) -> Table:
    """The groups K-means found, in words (the quality scores stay in cluster_scores.csv)."""
    profiles = tables["cluster_profiles"]
    if len(profiles) and "median_recency_days" in profiles:
        profiles = profiles.assign(description=[
            cluster_description(row, clusters.FEATURES, ctx.lang)
            for row in profiles.to_dict("records")])
    return ctx.show(profiles, rows=None, empty=text("table", "clusters_none", ctx.lang),
                    shown=["cluster", "customers", "customer_share", "revenue_share",
                           "description"])


def _top_ltv(ctx: Context, tables: dict) -> Table | None:
    if not ltv_shown(tables):  # the words say why, in place of the numbers
        return None
    return ctx.show(tables["ltv"].sort_values("ltv", ascending=False), rows=10,
                    file=FILES["ltv"], shown=["customer_id", "ltv", "ltv_low", "ltv_high",
                                              "p_alive", "expected_purchases",
                                              "historical_value"])


#: The partner flags, shown as one column of words.
_FLAGS = ("flag_new", "flag_high_frequency", "flag_high_value", "flag_churned")


def _ltv_regions(ctx: Context, tables: dict) -> Table | None:
    if not ltv_shown(tables) or not len(tables["ltv_regions"]):
        return None
    return ctx.show(tables["ltv_regions"], rows=15, file=FILES["ltv_regions"],
                    shown=["region", "customers", "repeat_customers", "ltv", "ltv_low",
                           "ltv_high"])


def _bridge_table(ctx: Context, tables: dict) -> Table | None:
    """Each region's revenue bridge, largest change first (none when the previous period
    is not covered: the words say why)."""
    note = tables["notes"]["bridge"]
    if not note.get("shown"):
        return None
    moved = tables["revenue_bridge"]
    regions = moved.loc[~moved["is_total"].astype(bool)]
    parts = [f"from_{p}" for p in bridge.COMPONENTS if note.get("mix") or p != "mix"]
    return ctx.show(regions, rows=15, file=FILES["revenue_bridge"], terms=["driver"],
                    shown=["region", "revenue_prev", *parts, "revenue", "change",
                           "change_pct", "driver"])


def _bridge_chart(ctx: Context, tables: dict):
    """The scope's revenue bridge as a waterfall (None without a bridge)."""
    from helpers.viz.charts import ChartImage, bridge_title, plot_revenue_bridge

    note = tables["notes"]["bridge"]
    if not note.get("shown"):
        return None
    moved = tables["revenue_bridge"]
    total = moved.loc[moved["is_total"].astype(bool)].iloc[0]
    currency = ctx.config.project.currency
    ax = plot_revenue_bridge(total, lang=ctx.lang, currency=currency,
                             mix=bool(note.get("mix")))
    return ChartImage(ax.figure, alt=bridge_title(total, ctx.lang, currency))


def _forecast_table(ctx: Context, tables: dict) -> Table | None:
    """The regions with a forecast of their own (the others are named in the words)."""
    ahead = tables["forecast"]
    shown = ahead.loc[~ahead["is_total"].astype(bool) & ahead["shown"].astype(bool)]
    if not len(shown):
        return None
    shown = shown.assign(backtest=[f"{int(c)}/{int(n)}" for c, n in
                                   zip(shown["backtest_covered"], shown["backtest_origins"],
                                       strict=True)])
    return ctx.show(shown, rows=15, file=FILES["forecast"],
                    shown=["region", "revenue_year_ago", "revenue_recent", "forecast",
                           "forecast_low", "forecast_high", "forecast_change", "backtest",
                           "model"])


def forecast_chart(ctx: Context, tables: dict):
    """The scope's monthly revenue, its forecast months and their prediction interval as a
    band (None when the scope has no forecast: the words say why)."""
    from helpers.viz.charts import ChartImage, forecast_title, plot_forecast

    note = tables["notes"]["forecast"]
    ahead, path = tables["forecast"], tables.get("forecast_months")
    total = ahead.loc[ahead["is_total"].astype(bool)]
    if (not note.get("shown") or path is None or not len(total)
            or not bool(total["shown"].iloc[0])):
        return None
    series = path.loc[path["is_total"].astype(bool)]
    if not (series["kind"] == "forecast").any():
        return None
    row, currency = total.iloc[0], ctx.config.project.currency
    settings = {"months": int(note["horizon"]), "level": float(note["interval"]),
                "lang": ctx.lang, "currency": currency}
    ax = plot_forecast(series, row, **settings)
    return ChartImage(ax.figure, alt=forecast_title(row, **settings))


def _partners(ctx: Context, tables: dict) -> Table | None:
    partner_table = tables["partner_tiers"]
    if not len(partner_table):
        return None
    flags = [c for c in _FLAGS if c in partner_table]
    shown = partner_table.assign(  # why each tier, in the report's language
        tier_reason=partner_reasons(partner_table, audience(ctx)),
        flags=[join([label(c, ctx.lang) for c in flags if row[c] is True or row[c] == 1],
                    ctx.lang) for row in partner_table[flags].to_dict("records")])
    return ctx.show(shown.sort_values("revenue", ascending=False), rows=15,
                    file=FILES["partner_tiers"],
                    shown=["customer_id", "name", "province", "city", "tier", "score",
                           "tier_reason", "value_tier", "revenue", "flags", "missing"])


def _summary_table(ctx: Context, tables: dict, name: str, key: str) -> Table:
    return ctx.show(tables[name], rows=None, shown=[key, "customers", "customer_share",
                                                    "revenue", "revenue_share", "recency_mean",
                                                    "meaning"])


def _mix_index(ctx: Context, tables: dict) -> Table | None:
    """The region and category pairs whose index differs from the market beyond chance,
    the largest first (every pair is in category_mix.csv)."""
    found = tables["category_mix"]
    if not len(found):  # the words say why
        return None
    significant = found.loc[found["significant"].astype(bool)]
    if not len(significant):  # the words say no mix differs beyond chance
        return None
    shown = significant.reindex(significant["z"].abs().sort_values(ascending=False).index)
    return ctx.show(shown, rows=15, file=FILES["category_mix"],
                    shown=["region", "category", "revenue", "share", "market_share",
                           "category_index", "growth_prev", "region_customers"])


def _cross_sell(ctx: Context, tables: dict) -> Table | None:
    found = tables["category_mix"]
    if not len(found):
        return None
    gaps = found.loc[found["cross_sell_gap"].astype(bool)].sort_values(
        "missing_customers", ascending=False, kind="mergesort")
    if not len(gaps):  # the words say there is none
        return None
    return ctx.show(gaps, rows=10, file=FILES["category_mix"],
                    shown=["region", "category", "region_customers", "customers",
                           "penetration", "market_penetration", "penetration_index",
                           "rest_index", "missing_customers", "targets"])


def _segment_gaps(ctx: Context, tables: dict) -> Table | None:
    """The cross-sell gaps by customer segment, most buyers short first (every segment and
    category is in segment_mix.csv)."""
    from helpers.text.narrative.buyers import value_name

    found = tables.get("segment_mix")
    if found is None or not len(found):
        return None
    gaps = found.loc[found["cross_sell_gap"].astype(bool)].sort_values(
        "missing_customers", ascending=False, kind="mergesort")
    if not len(gaps):  # the words say there is none
        return None
    gaps = gaps.assign(attribute=[label(v, ctx.lang) for v in gaps["attribute"]],
                       value=[value_name(v, ctx.lang) for v in gaps["value"]])
    return ctx.show(gaps, rows=10, file=FILES["segment_mix"],
                    shown=["attribute", "value", "category", "region_customers",
                           "penetration", "market_penetration", "penetration_index",
                           "missing_customers", "targets"])


def _cohort_trend(ctx: Context, tables: dict) -> Table | None:
    trend = tables["cohort_trend"]
    regions = trend.loc[trend["region"].notna()]
    if not len(regions):  # the words say the counts do not allow it
        return None
    return ctx.show(regions, rows=15, file=FILES["cohort_trend"],
                    shown=["region", "cohorts", "older_cohorts", "older_customers",
                           "older_retention", "newer_cohorts", "newer_customers",
                           "newer_retention", "drop", "worse"])


def cohort_chart(ctx: Context, tables: dict):
    """The heat map of the scope's cohorts (customers and revenue kept), or None when there
    is no cohort to draw (the words say why)."""
    import matplotlib.pyplot as plt

    from helpers.viz.charts import plot_cohort_retention

    grid = tables["cohorts"]
    scope = grid.loc[grid["region"].isna() & ~grid["left_censored"].astype(bool)]
    if scope.empty or scope["quarter"].max() < 1:
        return None
    rows = scope["cohort"].nunique()
    figure, axes = plt.subplots(2, 1, figsize=(9, 2 * (1.5 + 0.35 * max(rows, 4))),
                                layout="constrained")
    for ax, value in zip(axes, ("retention", "revenue_retention"), strict=True):
        plot_cohort_retention(scope, value=value, lang=ctx.lang, ax=ax)
    return figure


#: At most this many regions get a cohort heat map of their own (of those whose newer
#: cohorts retain worse, the largest drop first); the words name the others.
MAX_REGION_COHORT_MAPS = 4


def _region_cohorts(grid: pd.DataFrame, region, min_customers: int) -> pd.DataFrame:
    """One region's cohorts of at least ``min_customers`` customers (those the retention
    rule compares), without the data's first quarter."""
    mine = grid.loc[(grid["region"].astype("string") == str(region))
                    & ~grid["left_censored"].astype(bool)]
    size = mine.loc[mine["quarter"] == 0].set_index("cohort")["customers"]
    return mine.loc[mine["cohort"].isin(size.index[size >= min_customers])]


def _region_cohort_parts(ctx: Context, tables: dict) -> list:
    """Heat maps of the regions whose newer cohorts retain worse (at most
    :data:`MAX_REGION_COHORT_MAPS`, small multiples of customers kept), each only from the
    region's cohorts of at least ``analysis.cohort_min_customers``; the words say which
    regions are drawn and why others are not."""
    import matplotlib.pyplot as plt

    from helpers.text.markup import chart_text
    from helpers.text.narrative.mix import cohort_maps
    from helpers.viz.charts import ChartImage, plot_cohort_retention

    note = tables["notes"].get("cohorts") or {}
    trend = tables["cohort_trend"]
    if note.get("reason_key") or not len(trend):
        return []
    worse = trend.loc[trend["region"].notna() & trend["worse"].astype(bool)]
    if not len(worse):  # the section's words say no region's newer cohorts retain worse
        return []
    worse = worse.sort_values("drop", ascending=False, kind="mergesort")
    names = list(region_label(worse, ctx.lang))
    least = int(note.get("min_customers", 1))
    drawn, thin = [], []
    for name, region in zip(names, worse["region"], strict=True):
        cells = _region_cohorts(tables["cohorts"], region, least)
        enough = cells["cohort"].nunique() >= 2 and (cells["quarter"] >= 1).any()
        (drawn if enough else thin).append((name, cells))
    shown, more = drawn[:MAX_REGION_COHORT_MAPS], drawn[MAX_REGION_COHORT_MAPS:]
    words = Markdown(cohort_maps([n for n, _ in shown], [n for n, _ in more],
                                 [n for n, _ in thin], least, ctx.lang))
    if not shown:
        return [words]
    columns = min(2, len(shown))
    rows = -(-len(shown) // columns)
    height = max(cells["cohort"].nunique() for _, cells in shown)
    figure, axes = plt.subplots(rows, columns, figsize=(7.5 * columns, rows * (1.6 + 0.35 * max(
        height, 4))), layout="constrained", squeeze=False)
    for ax, (name, cells) in zip(axes.flat, shown, strict=False):
        plot_cohort_retention(cells, value="retention", lang=ctx.lang, ax=ax)
        ax.set_title(chart_text(text("chart", "cohort_region", ctx.lang, region=name,
                                     title=ax.get_title())), fontsize="medium")
    for ax in list(axes.flat)[len(shown):]:
        ax.set_visible(False)
    alt = text("chart", "cohort_region_maps", ctx.lang, names=join([n for n, _ in shown],
                                                                    ctx.lang))
    return [words, ChartImage(figure, alt=alt)]


def cohort_charts(ctx: Context, tables: dict):
    """What notebook 04 draws after the cohort section: the scope's heat map
    (:func:`cohort_chart`) and those of the regions whose newer cohorts retain worse, where
    their counts allow (:data:`MAX_REGION_COHORT_MAPS` at most; the words say why others
    are not drawn)."""
    from helpers.viz.charts import ChartImage

    figure = cohort_chart(ctx, tables)
    scope = None
    if figure is not None:
        scope = ChartImage(figure, alt=figure.axes[0].get_title())
    return Blocks(scope, *_region_cohort_parts(ctx, tables))


def _market_named(ctx: Context, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the row of the whole report named as such (``region`` is the scope's
    key there) and missing English names left to :func:`helpers.text.lookup.region_label`."""
    whole = frame["region"].astype(str) == str(ctx.scope.name)
    if not whole.any():
        return frame
    name = text("buyers", "whole_report", ctx.lang)
    out = frame.assign(region=frame["region"].astype(object).where(~whole, name))
    return out.assign(region_en=out["region_en"].where(~whole, name)) if "region_en" in out \
        else out


def _worded(ctx: Context, frame: pd.DataFrame) -> pd.DataFrame:
    """Attribute names and grouped values in the report's language."""
    from helpers.text.narrative.buyers import attribute_name, value_name

    return frame.assign(attribute=[attribute_name(a, ctx.lang) for a in frame["attribute"]],
                        value=[value_name(v, ctx.lang) for v in frame["value"]])


def _profile_mix(ctx: Context, tables: dict) -> Table | None:
    mix = tables["profile_mix"]
    if not tables["notes"].get("profiles", {}).get("attributes"):
        return None
    found = mix.loc[mix["significant"].fillna(False).astype(bool)].sort_values("p_adj")
    if not len(found):  # the words say so
        return None
    return ctx.show(_worded(ctx, found), rows=15, file=FILES["profile_mix"], total=len(found),
                    shown=["region", "attribute", "value", "customers", "share_in_region",
                           "share_in_market", "share_index", "p_adj"])


def _profile_value(ctx: Context, tables: dict) -> Table | None:
    value = tables["profile_value"]
    if not len(value):
        return None
    whole = value.loc[value["group"] == "market"].sort_values(["attribute", "top_index"],
                                                               ascending=[True, False])
    # the interval as one column (the bounds are in profile_value.csv)
    whole = whole.assign(mean_interval=[
        "–" if pd.isna(lo) else f"{format_money(lo, ctx.lang)} – {format_money(hi, ctx.lang)}"
        for lo, hi in zip(whole["mean_low"], whole["mean_high"], strict=True)])
    return ctx.show(_worded(ctx, whole), rows=None, file=FILES["profile_value"],
                    shown=["attribute", "value", "buyers", "mean_revenue", "mean_interval",
                           "buyer_share", "top_share", "top_index"])


def _look_for(ctx: Context, tables: dict) -> Table | None:
    from helpers.text.narrative.buyers import look_for

    if not len(tables["profile_value"]):
        return None
    found = look_for(tables["profile_value"])
    if not len(found):  # the words say so
        return None
    return ctx.show(_worded(ctx, found), rows=15, file=FILES["profile_value"],
                    total=len(found),
                    shown=["region", "attribute", "value", "buyers", "buyer_share",
                           "top_share", "top_index"])


def _buying_table(ctx: Context, tables: dict) -> Table | None:
    if not len(tables["buying"]) or not tables["buying"]["orders"].iloc[0]:
        return None
    return ctx.show(_market_named(ctx, tables["buying"]), rows=16, file=FILES["buying"],
                    shown=["region", "buyers", "days_median", "one_day_share",
                           "interval_median", "orders", "order_q1", "order_median",
                           "order_q3"])


def _season_table(ctx: Context, tables: dict) -> Table | None:
    from helpers.text.narrative.buyers import month_name

    season = tables["seasonality"]
    fitted = season.loc[season["reason_key"].fillna("") == ""] if len(season) else season
    if not len(fitted):
        return None
    shown = pd.concat([fitted.iloc[:1], fitted.iloc[1:].loc[
        fitted.iloc[1:]["significant"].fillna(False).astype(bool)]])
    shown = _market_named(ctx, shown).assign(
        peak_month=[month_name(m, ctx.lang) for m in shown["peak_month"]],
        low_month=[month_name(m, ctx.lang) for m in shown["low_month"]])
    return ctx.show(shown, rows=16, file=FILES["seasonality"], total=len(shown),
                    shown=["region", "months", "peak_month", "peak_index", "low_month",
                           "low_index", "p_adj", "significant"])


def _weekday_table(ctx: Context, tables: dict) -> Table | None:
    days = tables["weekdays"]
    if not len(days) or not days["orders"].iloc[0]:
        return None
    shown = pd.concat([days.iloc[:1], days.iloc[1:].loc[
        days.iloc[1:]["significant"].fillna(False).astype(bool)]])
    return ctx.show(_market_named(ctx, shown), rows=16, file=FILES["weekdays"],
                    total=len(shown), shown=["region", "orders", "mon", "tue", "wed", "thu",
                                             "fri", "sat", "sun", "weekend_share"])


def _discount_tables(ctx: Context, tables: dict, name: str) -> Table | None:
    if not tables["notes"].get("discount", {}).get("computed"):
        return None
    frame = tables[name]
    if name == "discount_bands":
        frame = frame.assign(band=[
            text("buyers", "band_none", ctx.lang) if b == 0 else
            text("buyers", "band_range", ctx.lang, low=lo, high=hi)
            for b, lo, hi in zip(frame["band"], frame["low"], frame["high"], strict=True)])
        frame = frame.assign(quantity_interval=[
            "–" if pd.isna(lo) else f"{lo:,.1f} – {hi:,.1f}"
            for lo, hi in zip(frame["quantity_low"], frame["quantity_high"], strict=True)])
        shown = ["band", "lines", "line_share", "revenue_share", "mean_quantity",
                 "quantity_interval", "mean_value"]
    else:
        frame = _market_named(ctx, frame)
        shown = ["region", "lines", "revenue", "discounted_share", "mean_discount"]
    return ctx.show(frame, rows=16, file=FILES[name], shown=shown)


#: The tables notebook 04 shows, by name (:func:`table`).
TABLES = {
    "region_kpis": _region_kpis,
    "hotspots": _hotspots,
    "gaps": _gaps,
    "isolated": _isolated_table,
    "concentration": _concentration,
    "segments": lambda ctx, tables: _summary_table(ctx, tables, "segment_summary", "segment"),
    "clusters": _clusters_table,
    "lifecycle": lambda ctx, tables: _summary_table(ctx, tables, "lifecycle_summary", "stage"),
    "ltv": _top_ltv,
    "ltv_regions": _ltv_regions,
    "partner_summary": lambda ctx, tables: ctx.show(
        tables["partner_summary"], rows=None, shown=["tier", "partners", "revenue",
                                                     "revenue_share", "high_value", "churned",
                                                     "incomplete"]),
    "partners": _partners,
    "mix_index": _mix_index,
    "cross_sell": _cross_sell,
    "segment_gaps": _segment_gaps,
    "cohort_trend": _cohort_trend,
    "bridge": _bridge_table,
    "forecast": _forecast_table,
    "profile_mix": _profile_mix, "profile_value": _profile_value, "look_for": _look_for,
    "buying": _buying_table, "seasonality": _season_table, "weekdays": _weekday_table,
    "discount_bands": lambda ctx, tables: _discount_tables(ctx, tables, "discount_bands"),
    "discount_regions": lambda ctx, tables: _discount_tables(ctx, tables, "discount_regions"),
}


def table(ctx: Context, tables: dict, name: str) -> Table | None:
    """One step-4 table as the report shows it: its columns, order and rows, personal data
    masked (:meth:`helpers.context.Context.show`), headers and key values in the report's
    language where the report translates them.

    Parameters
    ----------
    ctx : Context
    tables : dict
        :func:`insight_tables` (or :func:`ensure_insight`) output.
    name : str
        A key of :data:`TABLES`.

    Returns
    -------
    Table or None
        None when there is nothing to show (no partner tiers; no lifetime value when the
        data cannot carry it: :func:`ltv_shown`).
    """
    if name not in TABLES:
        raise ValueError(f"unknown table {name!r}; expected one of {list(TABLES)}")
    return TABLES[name](ctx, tables)


#: The tables each section of notebook 04 shows after its explanation (keys of
#: :data:`TABLES`), by section key (``helpers.catalog.SECTIONS["04"]``).
SECTION_TABLES: dict[str, tuple[str, ...]] = {
    **{key: (key,) for key in SECTIONS["04"]},
    "ltv": ("ltv_regions", "ltv"),
    "partners": ("partner_summary", "partners"),
    "mix": ("mix_index", "cross_sell", "segment_gaps"),
    "cohorts": ("cohort_trend",),
    "profiles": ("profile_mix", "profile_value", "look_for"),
    "seasonality": ("seasonality", "weekdays"),
    "discounts": ("discount_bands", "discount_regions"),
}


def section(ctx: Context, tables: dict, key: str) -> Blocks:
    """One section of notebook 04 as the report shows it: what the result means for the
    business (:func:`explain`; the KPI table has no such words) and its tables
    (:data:`SECTION_TABLES`, :func:`table`).

    Parameters
    ----------
    ctx : Context
    tables : dict
        :func:`insight_tables` (or :func:`ensure_insight`) output.
    key : str
        A section key of notebook 04 (``helpers.catalog.SECTIONS["04"]``); its heading
        and fixed words are the notebook's markdown cell tagged ``section-<key>``.
    """
    if key not in SECTION_TABLES:
        raise ValueError(f"unknown section {key!r} of step 4; expected one of "
                         f"{list(SECTION_TABLES)}")
    said = explain(ctx, tables, key) if key in TOPICS else ""
    words = Markdown(said) if said else None
    chart = (_bridge_chart(ctx, tables) if key == "bridge" else
             forecast_chart(ctx, tables) if key == "forecast" else None)
    return Blocks(words, chart, *(table(ctx, tables, name) for name in SECTION_TABLES[key]))
