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
from helpers.context import Context
from helpers.steps import market

__all__ = ["visual_tables", "customer_revenue", "orders_by_region", "segments_by_region"]


def customer_revenue(ctx: Context) -> pd.Series:
    """Net revenue per customer in the analysis period (the customers' Lorenz curve)."""
    return ctx.period_orders.groupby("customer_id")["amount"].sum()


def orders_by_region(ctx: Context) -> pd.DataFrame:
    """The scope's orders with the region of their customer (column ``ctx.scope.sublevel``).

    A region report compares where customers sit, so an order's own ship-to region,
    when the data has one, gives way to its customer's.
    """
    level = ctx.scope.sublevel
    return (ctx.orders.drop(columns=[level], errors="ignore")
            .merge(ctx.customers[["customer_id", level]], on="customer_id", how="left"))


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
        "monthly": monthly_revenue(orders_by_region(ctx), by=level),
        "segments": segments_by_region(ctx),
    }
