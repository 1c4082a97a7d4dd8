"""Customers who are not in any region row of a report, and why.

A US market holds the 50 states and DC by default; customers in Puerto Rico or Guam
are kept (they are real customers and count in the market's headline) but their areas
are not regions of the market: they are never tiered, never a gap and never get a
recruitment action. :func:`outside_extent` lists those areas with their customers and
revenue, so a report can name them.

The same holds for customers with no region at all: a place name step 2 could not
resolve, a customer in another country, or (in a province report, whose regions are
cities) a customer whose city is unknown. :func:`no_region` lists every such group
as one line with its ``reason``, so a report's headline counts every kept customer and
the region rows plus these lines add up to it.
"""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd

from helpers.analysis.kpis import region_kpis
from helpers.period import Period

__all__ = ["OUTSIDE_COLUMNS", "NO_REGION_REASONS", "in_extent", "outside_extent", "no_region",
           "no_region_sql"]

#: Columns of :func:`outside_extent`.
OUTSIDE_COLUMNS = ["region", "region_en", "customers", "active_customers", "orders",
                   "revenue", "revenue_last_year", "reason"]

#: Reasons of :func:`no_region`, in the order its lines are listed: an area outside the
#: market's extent, a customer in another country, a place name not resolved, a city
#: unknown (province reports).
NO_REGION_REASONS = ("outside_extent", "abroad", "unresolved", "no_city")


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


def outside_extent(customers: pd.DataFrame, orders: pd.DataFrame | None,
                   areas: Collection[str], *, period: Period | None = None,
                   active_months: int = 12, pop_months: int = 3,
                   windows: pd.DataFrame | None = None,
                   data_dates: pd.Series | None = None) -> pd.DataFrame:
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
    windows, data_dates : DataFrame, Series, optional
        The lines summed per customer instead of ``orders`` (None), as
        :func:`helpers.analysis.kpis.region_kpis`.

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
        return _empty()
    table = region_kpis(outside, orders, level="province", period=period,
                        active_months=active_months, pop_months=pop_months, universe=[],
                        windows=windows, data_dates=data_dates)
    return table.assign(reason="outside_extent")[OUTSIDE_COLUMNS]


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c in (
        "customers", "active_customers", "orders") else "float64" if c.startswith(
        "revenue") else object) for c in OUTSIDE_COLUMNS})


def no_region(customers: pd.DataFrame, orders: pd.DataFrame | None, *, level: str,
              areas: Collection[str], country: str, period: Period | None = None,
              active_months: int = 12, pop_months: int = 3,
              windows: pd.DataFrame | None = None,
              data_dates: pd.Series | None = None) -> pd.DataFrame:
    """Every kept customer who is not in a region row of the report, by reason.

    Parameters
    ----------
    customers, orders : DataFrame
        The report's canonical tables (``customers`` with ``province``, ``country``
        and, for ``level="city"``, ``city``).
    level : {"province", "city"}
        The report's region level: provinces (the market, a territory) or cities
        (a province report).
    areas : collection of str
        Official names of the areas in the market (province level only).
    country : str
        The market's ISO country code: a customer with another ``country`` is
        ``abroad`` (never in a world market, ``WORLD``).
    period, active_months, pop_months
        As :func:`helpers.analysis.kpis.region_kpis`.
    windows, data_dates : DataFrame, Series, optional
        The lines summed per customer instead of ``orders`` (None), as
        :func:`helpers.analysis.kpis.region_kpis` (what the DuckDB twin,
        :func:`no_region_sql`, passes).

    Returns
    -------
    DataFrame
        :data:`OUTSIDE_COLUMNS`, one line per group, in the order of
        :data:`NO_REGION_REASONS`: ``outside_extent`` lines name their area
        (``region``, as :func:`outside_extent`); ``abroad``, ``unresolved`` and
        ``no_city`` lines have no ``region`` (NA). Customers and revenue are
        counted as in :func:`~helpers.analysis.kpis.region_kpis`, so the region rows
        and these lines add up to every customer of the report. Empty when every
        customer is in a region row.
    """
    if level == "city":
        groups = [("no_city", customers["city"].isna())] if "city" in customers else [
            ("no_city", pd.Series(True, index=customers.index))]
        outside = _empty()
    elif level == "province":
        bare = customers["province"].isna()
        # In a world market no customer is abroad: a country it cannot place is unresolved.
        elsewhere = (customers["country"].notna() & (customers["country"] != country)
                     if "country" in customers and country != "WORLD"
                     else pd.Series(False, index=customers.index))
        groups = [("abroad", bare & elsewhere), ("unresolved", bare & ~elsewhere)]
        outside = outside_extent(customers, orders, areas, period=period,
                                 active_months=active_months, pop_months=pop_months,
                                 windows=windows, data_dates=data_dates)
    else:
        raise ValueError(f"level must be 'province' or 'city', got {level!r}")
    lines = [outside] if len(outside) else []
    for reason, mask in groups:
        if not mask.any():
            continue
        # One group: the reason stands in for the region name while counting.
        group = customers.loc[mask].assign(province=reason)
        table = region_kpis(group, orders, level="province", period=period,
                            active_months=active_months, pop_months=pop_months, universe=[],
                            windows=windows, data_dates=data_dates)
        lines.append(table.assign(region=pd.NA, region_en=pd.NA, reason=reason)[OUTSIDE_COLUMNS])
    if not lines:
        return _empty()
    return pd.concat(lines, ignore_index=True)


def no_region_sql(con, customers: pd.DataFrame, *, level: str, areas: Collection[str],
                  country: str, period: Period | None = None, active_months: int = 12,
                  pop_months: int = 3, windows: pd.DataFrame | None = None,
                  data_dates: pd.Series | None = None) -> pd.DataFrame:
    """The DuckDB twin of :func:`no_region`: the same lines from the order lines of
    ``con``'s view ``lines`` (:func:`helpers.analysis.engine.open_lines`), summed per
    customer in SQL (:func:`helpers.analysis.kpis.customer_windows_sql`) and counted by
    :func:`no_region` from those sums. ``windows`` and ``data_dates``: those sums and the
    order days (:func:`helpers.analysis.engine.order_days`) when the caller has them
    already (a report's :meth:`helpers.context.Context.no_region`), not read again."""
    from helpers.analysis.engine import order_days
    from helpers.analysis.kpis import customer_windows_sql

    dates = order_days(con) if data_dates is None else data_dates
    period = period or Period.ending(None, dates=dates)
    if windows is None:
        windows = customer_windows_sql(con, period=period, active_months=active_months,
                                       pop_months=pop_months)
    return no_region(customers, None, level=level, areas=areas, country=country,
                     period=period, active_months=active_months, pop_months=pop_months,
                     windows=windows, data_dates=dates)
