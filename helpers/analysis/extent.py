"""Customers in areas outside the market's extent (``geography.extent``).

A US market holds the 50 states and DC by default; customers in Puerto Rico or Guam
are kept (they are real customers and count in the market's headline) but their areas
are not regions of the market: they are never tiered, never a gap and never get a
recruitment action. :func:`outside_extent` lists those areas with their customers and
revenue, so a report can name them.
"""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd

from helpers.analysis.kpis import region_kpis
from helpers.period import Period

__all__ = ["OUTSIDE_COLUMNS", "in_extent", "outside_extent"]

#: Columns of :func:`outside_extent`.
OUTSIDE_COLUMNS = ["region", "region_en", "customers", "active_customers", "orders",
                   "revenue", "revenue_last_year", "reason"]


def in_extent(customers: pd.DataFrame, areas: Collection[str],
              column: str = "province") -> pd.DataFrame:
    """Customers whose ``column`` is one of ``areas`` (customers without an area are left out).

    Parameters
    ----------
    customers : DataFrame
        Canonical customers.
    areas : collection of str
        Official names of the areas in the market (:func:`helpers.geo.extent.extent_names`).
    column : str
        The area column.

    Returns
    -------
    DataFrame
        A copy of the rows inside the extent.
    """
    return customers.loc[customers[column].isin(list(areas))].copy()


def outside_extent(customers: pd.DataFrame, orders: pd.DataFrame, areas: Collection[str], *,
                   period: Period | None = None, active_months: int = 12,
                   pop_months: int = 3) -> pd.DataFrame:
    """Areas that have customers but lie outside the market's extent.

    Parameters
    ----------
    customers, orders : DataFrame
        Canonical tables (``customers`` with ``province``).
    areas : collection of str
        Official names of the areas in the market.
    period : Period, optional
        The current period (as :func:`helpers.analysis.kpis.region_kpis`).
    active_months, pop_months : int
        As :func:`helpers.analysis.kpis.region_kpis`.

    Returns
    -------
    DataFrame
        :data:`OUTSIDE_COLUMNS`, one row per area outside the extent with
        customers, by revenue descending: ``customers`` (all), ``active_customers``,
        ``orders`` and ``revenue`` in the period, ``revenue_last_year``, and
        ``reason`` ``outside_extent``. Empty when every located customer is inside.
    """
    located = customers.loc[customers["province"].notna()]
    outside = located.loc[~located["province"].isin(list(areas))]
    if outside.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c in (
            "customers", "active_customers", "orders") else "float64" if c.startswith(
            "revenue") else object) for c in OUTSIDE_COLUMNS})
    table = region_kpis(outside, orders, level="province", period=period,
                        active_months=active_months, pop_months=pop_months, universe=[])
    return table.assign(reason="outside_extent")[OUTSIDE_COLUMNS]
