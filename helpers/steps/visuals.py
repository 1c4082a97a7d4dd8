"""Step 3, visualization: the tables notebook 03 draws its charts and maps from.

:func:`visual_tables` computes them for the scope of a report; the charts and maps
themselves are :mod:`helpers.viz`'s. Step 3 saves nothing: its tables are views of
step 2's data that step 4 computes again in full (and saves), so there is no
save or load here.
"""

from __future__ import annotations

import pandas as pd

from helpers.analysis import segments
from helpers.analysis.kpis import monthly_revenue
from helpers.context import SINGLE_REGION_KEYS, Context
from helpers.data.prepare import key_positions
from helpers.steps import market
from helpers.text.lookup import say
from helpers.text.markup import md_text

__all__ = ["visual_tables", "customer_revenue", "orders_by_region", "segments_by_region",
           "one_region", "region_bars", "region_share", "lorenz_curves",
           "customers_against_revenue"]


def customer_revenue(ctx: Context) -> pd.Series:
    """Net revenue per customer in the analysis period (the customers' Lorenz curve)."""
    return ctx.period_orders.groupby("customer_id")["amount"].sum()


def orders_by_region(ctx: Context, columns: list[str] | None = None) -> pd.DataFrame:
    """The scope's orders with the region of their customer (column ``ctx.scope.sublevel``).

    A region report compares where customers sit, so an order's own ship-to region,
    when the data has one, gives way to its customer's. ``columns``: only these columns
    of the orders (and ``customer_id``) are copied, not every column of every line.
    """
    level = ctx.scope.sublevel
    orders = ctx.orders
    if columns is not None:
        orders = orders[["customer_id", *[c for c in columns if c != "customer_id"]]]
    # each line's customer row (customer_id is unique), looked up once per distinct id by
    # pyarrow: a left merge's result without a hash join or Python strings for every line
    where = key_positions(orders["customer_id"], ctx.customers["customer_id"])
    region = ctx.customers[level].array.take(where, allow_fill=True)
    return (orders.drop(columns=[level], errors="ignore").reset_index(drop=True)
            .assign(**{level: region}))


def segments_by_region(ctx: Context) -> pd.DataFrame:
    """The RFM table (:func:`helpers.analysis.segments.rfm`, as of the end of the period)
    with each customer's region (column ``ctx.scope.sublevel``)."""
    level = ctx.scope.sublevel
    summary, _ = market.purchases(ctx, with_days=False)  # the scope's rows, once per run
    rfm = segments.rfm(summary, bins=ctx.config.analysis.rfm_bins)
    return rfm.merge(ctx.customers[["customer_id", level]], on="customer_id", how="left")


def visual_tables(ctx: Context) -> dict:
    """Everything notebook 03 draws, for the scope of ``ctx``.

    Returns
    -------
    dict
        ``level`` (the regions compared: ``province``, or ``city`` in a province
        report), ``unit`` (how a chart counts them: ``provinces`` or ``cities``),
        ``kpis`` (:meth:`helpers.context.Context.kpis_by_region`, blank regions included, for
        the map and the regions' Lorenz curve), ``regions`` (the regions with
        customers, for bars and scatter), ``customer_revenue``
        (:func:`customer_revenue`), ``period_orders`` (the period's orders, for order
        values), ``monthly`` (monthly revenue per region of the customers'
        :func:`orders_by_region`) and ``segments`` (:func:`segments_by_region`).
    """
    level = ctx.scope.sublevel
    kpis = ctx.kpis_by_region()
    return {
        "level": level,
        "unit": "provinces" if level == "province" else "cities",
        "kpis": kpis,
        "regions": kpis[kpis["customers"] > 0],
        "customer_revenue": customer_revenue(ctx),
        "period_orders": ctx.period_orders,
        "monthly": monthly_revenue(orders_by_region(ctx, ["order_date", "amount"]), by=level),
        "segments": segments_by_region(ctx),
    }


# ----------------------------------------------------------------------------- the charts
# Notebook 03 draws the charts comparing regions through these: a report with one region
# to compare (a city; a municipality, whose one city is itself; a territory of one
# province or the one region with customers) says so in words instead of drawing a
# chart of one bar or point (:meth:`helpers.context.Context.single_region`).

def one_region(ctx: Context, regions: pd.DataFrame, key: str = "charts"):
    """The sentence (catalog ``<key>_one_region``, ``_municipality`` or ``_only_region``)
    saying that a chart comparing the report's ``regions`` has one region to show (a
    Markdown); None when there are several."""
    reason = ctx.single_region(regions)
    if reason is None:
        return None
    from IPython.display import Markdown

    from helpers.text.lookup import region_label

    if reason == "one_region":
        name = str(region_label(regions, ctx.lang).iloc[0])
    else:
        name = ctx.scope.label(ctx.lang)
    return Markdown(say(f"{key}_{SINGLE_REGION_KEYS[reason]}", ctx.lang, region=md_text(name)))


def region_bars(ctx: Context, tables: dict, *, top: int = 12):
    """Revenue and customers by region, side by side (the sentence of :func:`one_region`
    when one region has customers)."""
    said = one_region(ctx, tables["regions"])
    if said is not None:
        return said
    import matplotlib.pyplot as plt

    from helpers.viz import charts

    currency = ctx.config.project.currency
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
    charts.plot_region_bars(tables["regions"], value="revenue", top=top, lang=ctx.lang,
                            currency=currency, ax=axes[0])
    charts.plot_region_bars(tables["regions"], value="customers", top=top, lang=ctx.lang,
                            ax=axes[1])
    fig.tight_layout()
    return None


def region_share(ctx: Context, tables: dict):
    """Each region's share of revenue with the cumulative line (the Pareto chart), or
    the sentence of :func:`one_region`."""
    said = one_region(ctx, tables["regions"])
    if said is not None:
        return said
    from helpers.viz import charts

    charts.plot_share(tables["regions"], value="revenue", lang=ctx.lang)
    return None


def lorenz_curves(ctx: Context, tables: dict):
    """The Lorenz curves of regions (blank ones included) and customers; a report with
    one region draws its customers' only, and says why (:func:`one_region`)."""
    import matplotlib.pyplot as plt

    from helpers.viz import charts

    said = one_region(ctx, tables["kpis"], "lorenz")
    if said is not None:
        fig, ax = plt.subplots(figsize=(6, 5.5))
        charts.plot_lorenz(tables["customer_revenue"], value="revenue", unit="customers",
                           lang=ctx.lang, ax=ax)
        fig.tight_layout()
        return said
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.5))
    charts.plot_lorenz(tables["kpis"], value="revenue", unit=tables["unit"], lang=ctx.lang,
                       ax=axes[0])
    charts.plot_lorenz(tables["customer_revenue"], value="revenue", unit="customers",
                       lang=ctx.lang, ax=axes[1])
    fig.tight_layout()
    return None


def customers_against_revenue(ctx: Context, tables: dict):
    """Customers against revenue per region, or the sentence of :func:`one_region`."""
    said = one_region(ctx, tables["regions"])
    if said is not None:
        return said
    from helpers.viz import charts

    charts.plot_customers_vs_revenue(tables["regions"], lang=ctx.lang,
                                     currency=ctx.config.project.currency)
    return None
