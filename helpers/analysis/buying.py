"""How customers buy, by region: frequency and the intervals between purchases, order
sizes, seasonality, days of the week and the response to discounts.

The rules of :mod:`helpers.analysis.customers` hold: a purchase is a line with a
positive amount; a **purchase day** is a day with a purchase; an **order** is the
distinct ``order_id`` of purchase lines (its value the sum of its purchase lines, its
date and customer those of its first line).

- :func:`period_orders`: one row per order of the period with its region.
- :func:`buying_summary`: per region (and a row for the whole report) purchase days per
  buying customer in the period (quartiles, share buying on one day only), the days
  between consecutive purchase days ending in the period (quartiles) and the order
  values (10th, 25th, 50th, 75th, 90th percentiles and the mean). A quantity is NaN
  where fewer than ``min_count`` values carry it.
- :func:`monthly_revenue_grid` and :func:`seasonality`: a month-of-year index from the
  complete months of the history: ``log(revenue) = a + b·t + s(month)`` fitted by least
  squares (the trend taken out), the index ``100·exp(s)`` scaled to average 100, and an
  F-test of the month terms against trend alone (equivalently: is the month pattern
  larger than its year-to-year noise), corrected over the regions (Benjamini-Hochberg).
  Needs ``min_months`` complete months (two years by default) with revenue in each.
- :func:`weekdays`: each region's orders per day of the week against the rest of the
  report's (2x7 chi-square where every expected count reaches 5; corrected).
- :func:`discounts`: when lines carry a discount (or a list price): lines, quantity and
  value per discount band with t-intervals, Spearman's rank correlation of discount with
  quantity and with line value, and the revenue bought on discount per region. It is
  observational: it shows association, never the effect of giving a discount.

On large data the lines stay in DuckDB (:attr:`helpers.context.Context.lines`):
:func:`buying_summary_sql` and :func:`weekdays_sql` form the purchase days and the
period's orders and take their quantiles or weekday counts per region there (what comes back
is a row per region, not per order or purchase day), :func:`has_time_sql`,
:func:`monthly_revenue_grid_sql` and :func:`discounts_sql` do their per-line work there, and
:func:`seasonality` reads the monthly grid. (:func:`period_orders_sql` returns the period's
orders, one row per order, for tests and tools; step 4 does not fetch it.)

Keys and numbers only: the words are in :mod:`helpers.text.narrative.buyers`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from helpers.analysis.engine import day as _day
from helpers.analysis.engine import fetch as _fetch
from helpers.analysis.engine import in_period as _in_period
from helpers.analysis.stats import MIN_EXPECTED, bh_adjust, t_interval
from helpers.data.engine import lit as _lit
from helpers.period import Period

__all__ = ["period_orders", "period_orders_sql", "has_time", "has_time_sql", "buying_summary",
           "buying_summary_sql", "weekdays_sql",
           "monthly_revenue_grid", "monthly_revenue_grid_sql", "seasonality",
           "weekdays", "line_discounts", "discounts", "discounts_sql", "BUYING_COLUMNS",
           "DISCOUNT_BANDS",
           "WEEKDAYS"]

BUYING_COLUMNS = ["region", "buyers", "days_q1", "days_median", "days_q3", "days_mean",
                  "one_day_share", "intervals", "interval_q1", "interval_median",
                  "interval_q3", "orders", "order_p10", "order_q1", "order_median",
                  "order_q3", "order_p90", "order_mean"]
#: Upper edges of the discount bands (fractions); the first band is "no discount".
DISCOUNT_BANDS = (0.0, 0.1, 0.2, 0.3, 0.5, 1.0)
#: Column names of the days of the week, Monday first.
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def line_regions(lines: pd.DataFrame, regions: pd.Series, column: str | None = None
                 ) -> pd.Categorical:
    """The region of each line: ``regions`` (by customer id) looked up once per customer,
    or the lines' own ``column`` when given (orders carry their customer's province);
    a region that is not in ``regions``' values is missing."""
    kept = pd.Index(regions.dropna().unique())
    if column is not None and column in lines.columns:
        codes, values = pd.factorize(lines[column])
        own = kept.get_indexer(values)
    else:
        codes, ids = pd.factorize(lines["customer_id"])
        own = kept.get_indexer(regions.reindex(ids))
    picked = np.where(codes >= 0, own[np.maximum(codes, 0)], -1) if len(own) else \
        np.full(len(codes), -1)
    return pd.Categorical.from_codes(picked, categories=kept)


def period_orders(lines: pd.DataFrame, regions: pd.Series, column: str | None = None
                  ) -> pd.DataFrame:
    """One row per order of ``lines``: ``order_id``, ``customer_id``, ``order_date``,
    ``value`` (sum of its purchase lines) and ``region`` (:func:`line_regions`).

    Lines with an amount of 0 or less are no purchase and left out; without an
    ``order_id`` column each line is an order. (The DuckDB twin: :func:`period_orders_sql`.)
    """
    bought = lines.loc[lines["amount"].to_numpy(dtype=float) > 0]
    if "order_id" in bought.columns:
        codes, ids = pd.factorize(bought["order_id"])
    else:
        codes, ids = np.arange(len(bought)), pd.Index(np.arange(len(bought)))
    value = np.bincount(codes, weights=bought["amount"].to_numpy(dtype=float),
                        minlength=len(ids))
    first = np.unique(codes, return_index=True)[1] if len(codes) else np.array([], int)
    region = line_regions(bought.iloc[first], regions, column)
    return pd.DataFrame({"order_id": np.asarray(ids),
                         "customer_id": bought["customer_id"].iloc[first].to_numpy(),
                         "order_date": bought["order_date"].iloc[first].to_numpy(),
                         "value": value, "region": region})


def _orders_sql(con, column: str | None, period: Period) -> tuple[str, str, str | None]:
    """SQL of the orders of the view ``lines`` of ``con`` in ``period`` (:func:`period_orders`'
    rule): ``order_id``, ``customer_id``, ``order_date`` and ``own`` (the lines' ``column``,
    when they carry it) of each order's first purchase line, ``value`` (the sum of its
    purchase lines) and ``first`` (the number of its first line in the file). Returns the
    SQL, the key (``order_id``, or ``line`` without order ids) and the column used."""
    names = _columns(con, "lines")
    column = column if column is not None and column in names else None
    line = ("row_number() OVER ()" if "order_id" in names else "row_number() OVER () - 1")
    key = "order_id" if "order_id" in names else "line"
    own = f", arg_min({_q(column)}, line) AS own" if column else ""
    # a scan and a filter keep the file's order (DuckDB's preserve_insertion_order), so
    # row_number() OVER () numbers the lines as pandas sees them
    sql = f"""SELECT {key} AS order_id, arg_min(customer_id, line) AS customer_id,
            arg_min(order_date, line) AS order_date, fsum(amount) AS value,
            min(line) AS first{own}
        FROM (SELECT *, CAST(amount AS DOUBLE) AS amount, {line} AS line FROM lines
              WHERE {_in_period(period)} AND CAST(amount AS DOUBLE) > 0)
        GROUP BY {key}"""
    return sql, key, column


def period_orders_sql(con, regions: pd.Series, column: str | None = None, *, period: Period
                      ) -> pd.DataFrame:
    """The DuckDB twin of :func:`period_orders`: the orders of the view ``lines`` of ``con``
    (:func:`helpers.analysis.engine.open_lines`) in ``period`` (the lines of
    :attr:`helpers.context.Context.period_orders`), summed in DuckDB. The result is one row
    per order (no line reaches pandas), in the order of each order's first line in the
    file, as the pandas function has them. Step 4 does not fetch it: what it reads of the
    orders is aggregated in DuckDB too (:func:`buying_summary_sql`, :func:`weekdays_sql`).
    """
    sql, key, column = _orders_sql(con, column, period)
    orders = _fetch(con, sql + " ORDER BY first")
    firsts = orders.rename(columns={"own": column}) if column else orders
    ids = (np.asarray(orders["order_id"], dtype=object) if key == "order_id"
           else orders["order_id"].to_numpy(dtype=np.int64))
    return pd.DataFrame({"order_id": ids,
                         "customer_id": np.asarray(orders["customer_id"], dtype=object),
                         "order_date": orders["order_date"].to_numpy(dtype="datetime64[ns]"),
                         # no order: np.bincount's int64, as the pandas function's
                         "value": orders["value"].to_numpy(dtype=float if len(orders)
                                                           else np.int64),
                         "region": line_regions(firsts, regions, column)})


class _Regions:
    """``regions`` (by customer id) registered in DuckDB as ``{name}`` (``customer_id``,
    ``code``: the position of the region among ``regions``' distinct values, the
    categories of :func:`line_regions`) and ``{name}_names`` (``region`` as text,
    ``code``), for the SQL of :func:`line_regions`' rule: :meth:`code` of a row."""

    def __init__(self, con, regions: pd.Series, name: str):
        where = regions.dropna()
        if not where.index.is_unique:
            raise ValueError("regions: a customer_id appears more than once")
        self.labels = pd.Index(where.unique())
        self.con, self.name = con, name
        con.register(name, pd.DataFrame({
            "customer_id": pd.Series(where.index, dtype="string"),
            "code": self.labels.get_indexer(where).astype(np.int32)}))
        con.register(f"{name}_names", pd.DataFrame({
            "region": pd.Series(self.labels.astype(str), dtype="string"),
            "code": np.arange(len(self.labels), dtype=np.int32)}))

    def join(self, rows: str, column: str | None = None) -> str:
        """``rows`` (a subquery with ``customer_id``, and ``own`` when ``column``) with
        ``code``: the region of the row's customer, or of its own ``column`` (NULL: in
        no region)."""
        if column is None:
            return (f"SELECT t.*, r.code FROM ({rows}) t "
                    f"LEFT JOIN {self.name} r ON t.customer_id = r.customer_id")
        return (f"SELECT t.*, r.code FROM ({rows}) t "
                f"LEFT JOIN {self.name}_names r ON CAST(t.own AS VARCHAR) = r.region")

    def close(self) -> None:
        self.con.unregister(self.name)
        self.con.unregister(f"{self.name}_names")


def has_time(lines: pd.DataFrame) -> bool:
    """Whether any line's ``order_date`` carries a time of day (not midnight): can the
    weekday pattern be read at the hour? (The DuckDB twin: :func:`has_time_sql`.)"""
    stamps = lines["order_date"].to_numpy().astype("datetime64[ns]").view(np.int64)
    return bool((stamps % 86_400_000_000_000 != 0).any())


def has_time_sql(con, *, period: Period) -> bool:
    """The DuckDB twin of :func:`has_time` for the lines of the view ``lines`` in
    ``period``."""
    found = con.execute(f"SELECT bool_or(order_date <> date_trunc('day', order_date)) "
                        f"FROM lines WHERE {_in_period(period)}").fetchone()[0]
    return bool(found)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(con, view: str) -> list[str]:
    return [row[0] for row in con.execute(f"DESCRIBE {view}").fetchall()]


def _quantiles(values: np.ndarray, groups: pd.Categorical, qs: Sequence[float],
               market: str, min_count: int, prefix: str, names: Sequence[str]) -> pd.DataFrame:
    """Quantiles ``qs`` of ``values`` per group and for all (``market``), count and mean;
    NaN quantiles and mean below ``min_count`` values."""
    values = np.asarray(values, dtype=float)
    codes = np.asarray(groups.codes, dtype=np.int64)
    labels = [market, *groups.categories]
    both_codes = np.concatenate([np.zeros(len(values), np.int64), codes[codes >= 0] + 1])
    both = pd.Series(np.concatenate([values, values[codes >= 0]]))
    columns = [f"{prefix}_{n}" for n in names]
    if not len(values):
        return pd.DataFrame({**dict.fromkeys(columns, [np.nan]), f"{prefix}_count": [0],
                             f"{prefix}_mean": [np.nan]}, index=[market])
    by = both.groupby(both_codes, sort=True)
    out = by.quantile(list(qs)).unstack()
    out.columns = columns
    out[f"{prefix}_count"] = by.size()
    out[f"{prefix}_mean"] = by.mean()
    out.index = [labels[i] for i in out.index]
    return _few_left_out(out, prefix, min_count)


def _few_left_out(out: pd.DataFrame, prefix: str, min_count: int) -> pd.DataFrame:
    """``out`` with its quantiles and mean NaN in the rows of fewer than ``min_count``
    values."""
    few = out[f"{prefix}_count"] < min_count
    cols = [c for c in out.columns if c != f"{prefix}_count"]
    out.loc[few, cols] = np.nan
    return out


#: Every quantile :func:`buying_summary` reads (order values: all; days and intervals: the
#: quartiles), computed at once in DuckDB.
_QS = (0.1, 0.25, 0.5, 0.75, 0.9)


def _quantile_stats_sql(con, rows: str) -> pd.DataFrame:
    """Per ``kind`` of the ``rows`` (a subquery: ``kind``, ``v`` DOUBLE, ``code`` the
    region, NULL in none) and per region of each kind: ``n``, ``mean``, ``ones`` (the share
    of values equal to 1) and ``q`` (the quantiles :data:`_QS`); ``code`` -1 is the kind's
    row for every value.

    ``quantile_cont`` is numpy's and pandas' default quantile (linear interpolation
    between the closest ranks, ``(n - 1) q``); it interpolates with another formula, so a
    quantile may differ from pandas' in its last binary digit."""
    qs = ", ".join(repr(q) for q in _QS)
    stats = _fetch(con, f"""SELECT kind, CASE WHEN GROUPING(code) = 1 THEN -1 ELSE code END
            AS code, count(*) AS n, avg(v) AS mean,
            avg(CASE WHEN v = 1 THEN 1.0 ELSE 0.0 END) AS ones,
            quantile_cont(v, [{qs}]) AS q
        FROM ({rows}) GROUP BY GROUPING SETS ((kind), (kind, code))""")
    return stats.loc[stats["code"].notna()]


def _quantiles_from(stats: pd.DataFrame, kind: str, labels: pd.Index, qs: Sequence[float],
                    market: str, min_count: int, prefix: str, names: Sequence[str]
                    ) -> pd.DataFrame:
    """:func:`_quantiles`' table from the ``kind`` rows of :func:`_quantile_stats_sql`."""
    columns = [f"{prefix}_{n}" for n in names]
    rows = stats.loc[stats["kind"] == kind].sort_values("code")
    if not len(rows):
        return pd.DataFrame({**dict.fromkeys(columns, [np.nan]), f"{prefix}_count": [0],
                             f"{prefix}_mean": [np.nan]}, index=[market])
    picked = [_QS.index(q) for q in qs]
    values = np.array([[float(row[i]) for i in picked] for row in rows["q"]], dtype=float)
    out = pd.DataFrame(values.reshape(len(rows), len(qs)), columns=columns)
    out[f"{prefix}_count"] = rows["n"].to_numpy(dtype=np.int64)
    out[f"{prefix}_mean"] = rows["mean"].to_numpy(dtype=float)
    codes = rows["code"].to_numpy(dtype=np.int64)
    out.index = [market if c < 0 else labels[c] for c in codes]
    return _few_left_out(out, prefix, min_count)


def _sorted_regions(customer_ids: pd.Series, regions: pd.Series) -> pd.Categorical:
    """Regions of rows sorted by customer id: looked up once per run of equal ids."""
    ids = customer_ids.to_numpy()
    if not len(ids):
        return pd.Categorical([], categories=pd.Index(regions.dropna().unique()))
    starts = np.r_[0, np.flatnonzero(ids[1:] != ids[:-1]) + 1]
    kept = pd.Index(regions.dropna().unique())
    own = kept.get_indexer(regions.reindex(ids[starts]))
    lengths = np.diff(np.r_[starts, len(ids)])
    return pd.Categorical.from_codes(np.repeat(own, lengths), categories=kept)


def buying_summary(days: pd.DataFrame, orders: pd.DataFrame, regions: pd.Series, *,
                   start, market: str = "ALL", min_count: int = 20) -> pd.DataFrame:
    """Frequency, intervals and order sizes per region (module docstring).

    Parameters
    ----------
    days : DataFrame
        :func:`helpers.analysis.customers.purchase_days` up to the end of the period
        (``customer_id``, ``day``, ``gap_days``; sorted by customer).
    orders : DataFrame
        :func:`period_orders` of the period.
    regions : Series
        Region by ``customer_id`` (NA: in no region; counted in the report's row only).
    start : date-like
        First day of the period.
    market : str
        The ``region`` of the row for the whole report (first row).
    min_count : int
        Fewest values for quantiles (buyers, intervals, orders).

    Returns
    -------
    DataFrame
        :data:`BUYING_COLUMNS`, one row per region with buyers or orders, the report's
        first. (The DuckDB twin, from the order lines: :func:`buying_summary_sql`.)
    """
    recent = days.loc[(days["day"] >= pd.Timestamp(start)).to_numpy()]
    region = _sorted_regions(recent["customer_id"], regions)
    ids = recent["customer_id"].to_numpy()
    first = np.r_[True, ids[1:] != ids[:-1]] if len(ids) else np.zeros(0, bool)
    count = np.diff(np.r_[np.flatnonzero(first), len(ids)]).astype(float)
    per_region = pd.Categorical.from_codes(region.codes[first], categories=region.categories)
    freq = _quantiles(count, per_region, (0.25, 0.5, 0.75), market, min_count, "days",
                      ("q1", "median", "q3"))
    once = _quantiles((count == 1).astype(float), per_region, (0.5,), market, 1, "once",
                      ("median",))["once_mean"]
    gap = recent["gap_days"].to_numpy(dtype=float)
    has = ~np.isnan(gap)
    gaps = _quantiles(gap[has], pd.Categorical.from_codes(region.codes[has],
                                                         categories=region.categories),
                      (0.25, 0.5, 0.75), market, min_count, "interval", ("q1", "median", "q3"))
    size = _quantiles(orders["value"].to_numpy(dtype=float), pd.Categorical(orders["region"]),
                      (0.1, 0.25, 0.5, 0.75, 0.9), market, min_count, "order",
                      ("p10", "q1", "median", "q3", "p90"))
    return _buying_table(freq, once, gaps, size, market, min_count)


def _buying_table(freq: pd.DataFrame, once: pd.Series, gaps: pd.DataFrame,
                  size: pd.DataFrame, market: str, min_count: int) -> pd.DataFrame:
    """:func:`buying_summary`'s table from its per-region quantiles (:func:`_quantiles`):
    purchase days per buyer, the share buying on one day, intervals and order values."""
    out = freq.join(gaps, how="outer").join(size, how="outer")
    out["one_day_share"] = once.reindex(out.index)
    out = out.rename(columns={"days_count": "buyers", "interval_count": "intervals",
                              "order_count": "orders"})
    for col in ("buyers", "intervals", "orders"):
        out[col] = out[col].fillna(0).astype("int64")
    out.loc[out["buyers"] < min_count, "one_day_share"] = np.nan
    out = out.rename_axis("region").reset_index()
    first_row = out["region"] == market
    out = pd.concat([out.loc[first_row], out.loc[~first_row].sort_values(
        "orders", ascending=False, kind="mergesort")])
    return out[BUYING_COLUMNS].reset_index(drop=True)


def buying_summary_sql(con, regions: pd.Series, *, period: Period, market: str = "ALL",
                       min_count: int = 20, column: str | None = None) -> pd.DataFrame:
    """The DuckDB twin of :func:`buying_summary` of the purchase days on ``period.as_of``
    (:func:`helpers.analysis.customers.purchase_days`) and :func:`period_orders` of the
    order lines of the view ``lines`` of ``con``: the purchase days, their intervals and
    the orders are formed and their quantiles taken per region in DuckDB (one row per
    region and measure comes back; :func:`_quantile_stats_sql` says how the quantiles
    compare). The purchase days take their customer's region in ``regions``; the orders
    their first line's ``column`` when the lines carry it, else their customer's
    (:func:`line_regions`)."""
    from helpers.analysis.engine import purchase_days_sql

    start = pd.Timestamp(period.first_day)
    days = purchase_days_sql(con, as_of=period.as_of)
    orders, _, column = _orders_sql(con, column, period)
    known = _Regions(con, regions, "buying_regions")
    try:
        stats = _quantile_stats_sql(con, f"""
            WITH recent AS MATERIALIZED (SELECT customer_id, gap_days FROM ({days})
                                         WHERE day >= {_day(start)})
            SELECT 'days' AS kind, CAST(n AS DOUBLE) AS v, code
                FROM ({known.join("SELECT customer_id, count(*) AS n FROM recent "
                                  "GROUP BY customer_id")})
            UNION ALL SELECT 'interval', gap_days, code
                FROM ({known.join("SELECT * FROM recent WHERE gap_days IS NOT NULL")})
            UNION ALL SELECT 'order', value, code FROM ({known.join(orders, column)})""")
    finally:
        known.close()
    labels = known.labels
    freq = _quantiles_from(stats, "days", labels, (0.25, 0.5, 0.75), market, min_count,
                           "days", ("q1", "median", "q3"))
    once = pd.Series(np.nan, index=freq.index, dtype=float)
    ones = stats.loc[stats["kind"] == "days"].sort_values("code")
    once.loc[:] = ones["ones"].to_numpy(dtype=float) if len(ones) else np.nan
    gaps = _quantiles_from(stats, "interval", labels, (0.25, 0.5, 0.75), market, min_count,
                           "interval", ("q1", "median", "q3"))
    size = _quantiles_from(stats, "order", labels, _QS, market, min_count, "order",
                           ("p10", "q1", "median", "q3", "p90"))
    return _buying_table(freq, once.rename("once_mean"), gaps, size, market, min_count)


def monthly_revenue_grid(lines: pd.DataFrame, regions: pd.Series, *, data_start, as_of,
                         market: str = "ALL", max_months: int = 60,
                         column: str | None = None) -> pd.DataFrame:
    """Net revenue per complete calendar month (rows, a monthly ``PeriodIndex``) and region
    (columns; ``market`` first: every line of the report).

    A month is complete when the data start on or before its first day
    (``data_start``, the first order date of the data) and it ends before ``as_of``;
    the latest ``max_months`` are kept. Months without revenue hold 0.

    Its DuckDB twin, on order lines that stay in DuckDB: :func:`monthly_revenue_grid_sql`.
    """
    months = _complete_months(data_start, as_of, max_months)
    if not len(months):
        return pd.DataFrame(index=months, columns=[market], dtype=float)
    when = pd.to_datetime(lines["order_date"])
    inside = ((when >= months[0].start_time) & (when <= months[-1].end_time)).to_numpy()
    part = lines.loc[inside]
    when = pd.to_datetime(part["order_date"]).to_numpy()
    month = (when.astype("datetime64[M]").astype(np.int64)
             - np.int64(months[0].ordinal))                       # 0 .. len(months) - 1
    region = line_regions(part, regions, column)
    kept = region.codes >= 0
    amount = part["amount"].to_numpy(dtype=float)
    n, k = len(months), len(region.categories)
    # float also without lines (bincount of no weights counts in integers)
    cells = np.bincount(month[kept] * k + region.codes[kept], weights=amount[kept],
                        minlength=n * k).astype(float).reshape(n, k)
    return _grid_table(cells, np.bincount(month, weights=amount, minlength=n).astype(float),
                       months, list(region.categories), market)


def _complete_months(data_start, as_of, max_months: int) -> pd.PeriodIndex:
    """The complete calendar months of :func:`monthly_revenue_grid`, the latest
    ``max_months``."""
    start = pd.Timestamp(data_start)
    first = pd.Period(start, "M") + (0 if start == start.normalize().replace(day=1) else 1)
    last = pd.Period(pd.Timestamp(as_of) - pd.Timedelta(days=1), "M")
    if pd.Timestamp(as_of) != (last + 1).start_time:   # as_of is not a month's first day
        last -= 1
    months = pd.period_range(first, last, freq="M") if first <= last else \
        pd.PeriodIndex([], freq="M")
    return months[-max_months:]


def _grid_table(cells: np.ndarray, total: np.ndarray, months: pd.PeriodIndex,
                names: list, market: str) -> pd.DataFrame:
    """:func:`monthly_revenue_grid`'s table from the sums per month and region (``cells``,
    months x ``names``) and of every line (``total``): regions without revenue left out."""
    table = pd.DataFrame(cells, index=months, columns=names)
    table = table.loc[:, (cells != 0).any(axis=0)] if len(names) else table
    table.insert(0, market, total)
    return table


def monthly_revenue_grid_sql(con, regions: pd.Series, *, data_start, as_of,
                             market: str = "ALL", max_months: int = 60,
                             column: str | None = None) -> pd.DataFrame:
    """The DuckDB twin of :func:`monthly_revenue_grid`: the same table from the order lines
    of the view ``lines`` of ``con`` (:func:`helpers.analysis.engine.open_lines`), summed
    per month and region in DuckDB (:func:`line_regions`' rule: the lines' own ``column``
    when they have it, else ``regions`` joined there by customer)."""
    from helpers.analysis.engine import fetch
    from helpers.data.engine import lit

    months = _complete_months(data_start, as_of, max_months)
    if not len(months):
        return pd.DataFrame(index=months, columns=[market], dtype=float)
    names = list(pd.Index(regions.dropna().unique()))
    columns = [c[0] for c in con.execute("SELECT * FROM lines LIMIT 0").description]
    start = lit(str(months[0].start_time))
    stop = lit(str((months[-1] + 1).start_time))
    month = (f"(year(order_date) - 1970) * 12 + month(order_date) - 1 "
             f"- {int(months[0].ordinal)}")
    body = (f"FROM lines WHERE order_date >= CAST({start} AS TIMESTAMP) "
            f"AND order_date < CAST({stop} AS TIMESTAMP)")
    sums_sql = """SELECT m, region, GROUPING(region) = 1 AS total, fsum(amount) AS revenue
        FROM ({lines}) GROUP BY GROUPING SETS ((m), (m, region))"""
    if column is not None and column in columns:
        quoted = '"' + column.replace('"', '""') + '"'
        sums = fetch(con, sums_sql.format(lines=f"SELECT {month} AS m, CAST({quoted} AS "
                                          f"VARCHAR) AS region, CAST(amount AS DOUBLE) "
                                          f"AS amount {body}"))
    else:
        where = regions.dropna()
        if not where.index.is_unique:
            raise ValueError("regions: a customer_id appears more than once")
        con.register("grid_regions", pd.DataFrame(
            {"customer_id": pd.Series(where.index, dtype="string"),
             "region": pd.Series(where.to_numpy(), dtype="string")}))
        try:
            sums = fetch(con, sums_sql.format(lines=f"""SELECT {month} AS m, r.region,
                CAST(l.amount AS DOUBLE) AS amount FROM (SELECT customer_id, order_date,
                amount {body}) l LEFT JOIN grid_regions r USING (customer_id)"""))
        finally:
            con.unregister("grid_regions")
    n, code = len(months), {str(name): i for i, name in enumerate(names)}
    total, cells = np.zeros(n), np.zeros((n, len(names)))
    for m, region, whole, revenue in sums.itertuples(index=False):
        if whole:
            total[int(m)] = revenue
        elif not pd.isna(region) and region in code:
            cells[int(m), code[region]] = revenue
    return _grid_table(cells, total, months, names, market)


def seasonality(monthly: pd.DataFrame, *, min_months: int = 24, alpha: float = 0.05
                ) -> pd.DataFrame:
    """Month-of-year index per column of ``monthly`` (module docstring).

    Parameters
    ----------
    monthly : DataFrame
        :func:`monthly_revenue_grid`: consecutive months (rows, a monthly ``PeriodIndex``)
        by region (columns).
    min_months : int
        Fewest complete months (at least 14: 13 terms and one degree of freedom left).
    alpha : float
        False discovery rate ``significant`` is judged at.

    Returns
    -------
    DataFrame
        One row per region: ``months``, ``reason_key`` (``short_history``: fewer months
        than ``min_months``; ``months_without_revenue``: a month at 0 or below; empty
        when fitted), ``m1`` .. ``m12`` (the index, January first, average 100),
        ``f``, ``p``, ``p_adj``, ``significant``, ``peak_month``, ``peak_index``,
        ``low_month``, ``low_index``.
    """
    min_months = max(int(min_months), 14)
    n = len(monthly)
    cols = [f"m{m}" for m in range(1, 13)]
    out = pd.DataFrame({"region": list(monthly.columns), "months": n, "reason_key": ""})
    out[cols] = np.nan
    out[["f", "p"]] = np.nan
    values = monthly.to_numpy(dtype=float)
    positive = (values > 0).all(axis=0) if n else np.zeros(len(monthly.columns), bool)
    if n < min_months:
        out["reason_key"] = "short_history"
    else:
        out.loc[~positive, "reason_key"] = "months_without_revenue"
    fit = (out["reason_key"] == "").to_numpy()
    if fit.any():
        month_of = np.asarray(monthly.index.month) - 1
        t = np.arange(n, dtype=float)
        dummies = (month_of[:, None] == np.arange(1, 12)[None, :]).astype(float)
        full = np.column_stack([np.ones(n), t - t.mean(), dummies])
        reduced = full[:, :2]
        y = np.log(values[:, fit])
        beta, *_ = np.linalg.lstsq(full, y, rcond=None)
        rss_full = ((y - full @ beta) ** 2).sum(axis=0)
        beta_r, *_ = np.linalg.lstsq(reduced, y, rcond=None)
        rss_reduced = ((y - reduced @ beta_r) ** 2).sum(axis=0)
        df1, df2 = 11, n - full.shape[1]
        with np.errstate(divide="ignore", invalid="ignore"):
            f = ((rss_reduced - rss_full) / df1) / (rss_full / df2)
        f = np.where(rss_full <= 1e-12 * np.maximum(rss_reduced, 1e-300), np.inf, f)
        effect = np.vstack([np.zeros((1, y.shape[1])), beta[2:]])      # January = 0
        factor = np.exp(effect - effect.mean(axis=0))
        index = 100 * factor / factor.mean(axis=0)
        out.loc[fit, cols] = index.T
        out.loc[fit, "f"] = f
        out.loc[fit, "p"] = stats.f.sf(f, df1, df2)
    out["p_adj"] = bh_adjust(out["p"])
    out["significant"] = out["p_adj"] < alpha
    shown = out[cols].astype(float)
    has = shown.notna().any(axis=1)
    peak = shown[has].idxmax(axis=1).str[1:].astype(int)
    low = shown[has].idxmin(axis=1).str[1:].astype(int)
    out["peak_month"] = peak.reindex(out.index).astype("Int64")
    out["low_month"] = low.reindex(out.index).astype("Int64")
    out["peak_index"] = shown.max(axis=1)
    out["low_index"] = shown.min(axis=1)
    return out


def weekdays(orders: pd.DataFrame, *, market: str = "ALL", min_expected: float = MIN_EXPECTED,
             alpha: float = 0.05) -> pd.DataFrame:
    """Orders per day of the week, per region against the rest of the report.

    Parameters
    ----------
    orders : DataFrame
        :func:`period_orders` (``order_date``, ``region``).

    Returns
    -------
    DataFrame
        One row per region (the report's first, ``region`` = ``market``): ``orders``,
        the share of each day (:data:`WEEKDAYS`), ``weekend_share``, ``p`` (2x7
        chi-square, region against the other orders of the report; NaN where an
        expected count is below ``min_expected``), ``p_adj`` (Benjamini-Hochberg over
        the regions), ``significant``. (The DuckDB twin, from the order lines:
        :func:`weekdays_sql`.)
    """
    days = pd.to_datetime(orders["order_date"]).to_numpy().astype("datetime64[D]")
    day = (days.astype(np.int64) + 3) % 7                  # 1970-01-01 was a Thursday
    region = pd.Categorical(orders["region"])
    codes, k = np.asarray(region.codes, dtype=np.int64), len(region.categories)
    kept = codes >= 0
    cells = np.bincount(codes[kept] * 7 + day[kept], minlength=k * 7).reshape(k, 7)
    return _weekday_table(cells, np.bincount(day, minlength=7), list(region.categories),
                          market=market, min_expected=min_expected, alpha=alpha)


def weekdays_sql(con, regions: pd.Series, *, period: Period, column: str | None = None,
                 market: str = "ALL", min_expected: float = MIN_EXPECTED,
                 alpha: float = 0.05) -> pd.DataFrame:
    """The DuckDB twin of :func:`weekdays` of :func:`period_orders` of the order lines of
    the view ``lines`` of ``con`` in ``period``: the orders are formed and counted per
    region and day of the week in DuckDB (at most 7 rows per region come back); their
    region is :func:`line_regions`' (``column`` of the first line when the lines carry
    it, else the customer's in ``regions``)."""
    orders, _, column = _orders_sql(con, column, period)
    known = _Regions(con, regions, "weekday_regions")
    try:
        counts = _fetch(con, f"""SELECT code, isodow(order_date) - 1 AS day, count(*) AS n
            FROM ({known.join(orders, column)}) GROUP BY ALL""")
    finally:
        known.close()
    k = len(known.labels)
    cells, total = np.zeros((k, 7), np.int64), np.zeros(7, np.int64)
    for code, day, n in counts.itertuples(index=False):
        total[int(day)] += int(n)
        if not pd.isna(code):
            cells[int(code), int(day)] += int(n)
    return _weekday_table(cells, total, list(known.labels), market=market,
                          min_expected=min_expected, alpha=alpha)


def _weekday_table(cells: np.ndarray, total: np.ndarray, names: list, *, market: str,
                   min_expected: float, alpha: float) -> pd.DataFrame:
    """:func:`weekdays`' table from the orders per region and day of the week (``cells``,
    regions ``names`` x 7, Monday first) and of the whole report (``total``)."""
    counts = pd.DataFrame(cells, index=names, columns=range(7))
    counts = counts.loc[counts.sum(axis=1) > 0]
    total = np.asarray(total).astype(float)
    table = pd.DataFrame([total], index=[market], columns=range(7))
    table = pd.concat([table, counts.astype(float)])
    p = [np.nan]
    for row in counts.to_numpy(dtype=float):
        rest = total - row
        grid = np.vstack([row, rest])
        grid = grid[:, grid.sum(axis=0) > 0]
        if grid.shape[1] < 2 or row.sum() == 0 or rest.sum() == 0:
            p.append(np.nan)
            continue
        result = stats.chi2_contingency(grid, correction=False)
        p.append(result.pvalue if (result.expected_freq >= min_expected).all() else np.nan)
    n = table.sum(axis=1)
    out = table.div(n.where(n > 0), axis=0)
    out.columns = list(WEEKDAYS)
    out.insert(0, "orders", n.astype("int64"))
    out["weekend_share"] = out["sat"] + out["sun"]
    out["p"] = p
    out["p_adj"] = bh_adjust(out["p"])
    out["significant"] = out["p_adj"] < alpha
    out = out.rename_axis("region").reset_index()
    return pd.concat([out.iloc[:1], out.iloc[1:].sort_values("orders", ascending=False,
                                                             kind="mergesort")],
                     ignore_index=True)


def line_discounts(lines: pd.DataFrame) -> tuple[pd.Series, dict]:
    """The discount of each line as a fraction of its list value, and how it was read.

    From ``discount`` when mapped (fractions; a column whose values go above 1 and up to
    100 is read as percent), else from ``list_price`` (per unit; the line's list value is
    ``list_price`` x ``quantity``, x 1 without a quantity): 1 - amount / list value.
    Values outside 0 .. 1 are left empty and counted.

    Returns
    -------
    (Series, dict)
        The discounts (NaN where unknown) and ``source`` (``discount``, ``list_price``
        or None), ``percent`` (bool), ``out_of_range`` (lines left empty).
    """
    note: dict = {"source": None, "percent": False, "out_of_range": 0}
    if "discount" in lines.columns and lines["discount"].notna().any():
        value = lines["discount"].astype(float)
        note["source"] = "discount"
        if (value > 1).any() and (value <= 100).all():
            value, note["percent"] = value / 100, True
    elif "list_price" in lines.columns and lines["list_price"].notna().any():
        units = (lines["quantity"].astype(float).fillna(1.0) if "quantity" in lines.columns
                 else 1.0)
        listed = lines["list_price"].astype(float) * units
        value = 1 - lines["amount"].astype(float) / listed.where(listed > 0)
        note["source"] = "list_price"
    else:
        return pd.Series(np.nan, index=lines.index), note
    bad = value.notna() & ~value.between(0, 1)
    note["out_of_range"] = int(bad.sum())
    return value.mask(bad), note


def discounts(lines: pd.DataFrame, regions: pd.Series, *, market: str = "ALL",
              bands: Sequence[float] = DISCOUNT_BANDS, interval: float = 0.95,
              min_count: int = 20, column: str | None = None
              ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Quantity and value by discount band, the correlation of discount with quantity and
    value, and the revenue bought on discount per region (module docstring).

    Parameters
    ----------
    lines : DataFrame
        Order lines of the period (``amount``, ``customer_id``, ``discount`` or
        ``list_price``, optional ``quantity``); purchases (amount above 0) count.
    regions : Series
        Region by ``customer_id``.
    column : str, optional
        The lines' own region column (:func:`line_regions`).

    Returns
    -------
    (DataFrame, DataFrame, dict)
        ``bands``: ``band`` (0: no discount; then up to each edge of ``bands``),
        ``low``, ``high``, ``lines``, ``line_share``, ``revenue_share``,
        ``mean_quantity`` with ``quantity_low``/``quantity_high``, ``mean_value`` with
        ``value_low``/``value_high`` (t-intervals; NaN below ``min_count`` lines);
        ``regions``: ``region`` (the report's first), ``lines``, ``revenue``,
        ``discounted_share`` (of revenue), ``mean_discount`` (revenue-weighted);
        the note: ``computed``, ``reason_key`` (``no_discount_column``,
        ``no_discounted_lines``, ``no_undiscounted_lines``), ``source``, ``lines``,
        ``discounted_lines``, ``spearman_quantity``/``_p``, ``spearman_value``/``_p``,
        ``customers``, ``discount_only_customers`` and their ``discount_only_revenue_share``.
        (The DuckDB twin: :func:`discounts_sql`.)
    """
    bought = lines.loc[lines["amount"].to_numpy(dtype=float) > 0]
    value, note = line_discounts(bought)
    empty = _no_discounts()
    if note["source"] is None:
        return (*empty, {**note, "computed": False, "reason_key": "no_discount_column"})
    known = value.notna().to_numpy()
    frame = pd.DataFrame({"discount": value.to_numpy()[known],
                          "amount": bought["amount"].to_numpy(dtype=float)[known],
                          "customer_id": bought["customer_id"].to_numpy()[known],
                          "region": line_regions(bought, regions, column)[known]})
    has_qty = "quantity" in bought.columns and bought["quantity"].notna().any()
    frame["quantity"] = (bought["quantity"].astype(float).to_numpy()[known] if has_qty
                         else np.nan)
    discounted = frame["discount"] > 0
    note.update(lines=int(len(frame)), discounted_lines=int(discounted.sum()),
                quantity=bool(has_qty))
    if not discounted.any() or discounted.all():
        key = "no_discounted_lines" if not discounted.any() else "no_undiscounted_lines"
        return (*empty, {**note, "computed": False, "reason_key": key})
    edges = np.asarray(bands, dtype=float)
    band = np.searchsorted(edges, frame["discount"].to_numpy(), side="left")
    frame["band"] = band
    by = frame.groupby("band", sort=True)
    table = by.agg(lines=("amount", "size"), revenue=("amount", "sum"),
                   mean_quantity=("quantity", "mean"), sd_quantity=("quantity", "std"),
                   n_quantity=("quantity", "count"), mean_value=("amount", "mean"),
                   sd_value=("amount", "std")).reset_index()
    bands_table = _band_table(table, edges, interval=interval, min_count=min_count)
    for target, col in (("quantity", "quantity"), ("value", "amount")):
        pair = frame[["discount", col]].dropna()
        if len(pair) >= min_count and pair[col].nunique() > 1:
            rho, p = stats.spearmanr(pair["discount"], pair[col])
            note[f"spearman_{target}"], note[f"spearman_{target}_p"] = float(rho), float(p)
        else:
            note[f"spearman_{target}"] = note[f"spearman_{target}_p"] = None
    frame["discounted_revenue"] = frame["amount"].where(discounted, 0.0)
    frame["weighted"] = frame["amount"] * frame["discount"]
    whole = frame.assign(region=market)
    grouped = pd.concat([whole, frame.dropna(subset=["region"]).astype({"region": object})]
                        ).groupby("region", sort=False)
    per = grouped.agg(lines=("amount", "size"), revenue=("amount", "sum"),
                      discounted=("discounted_revenue", "sum"), weighted=("weighted", "sum"))
    regions_table = _region_table(per.reset_index())
    by_customer = frame.groupby("customer_id").agg(revenue=("amount", "sum"),
                                                   discounted=("discounted_revenue", "sum"))
    only = by_customer["discounted"] >= by_customer["revenue"]
    note.update(computed=True, customers=int(len(by_customer)),
                discount_only_customers=int(only.sum()),
                discount_only_revenue_share=float(by_customer.loc[only, "revenue"].sum()
                                                  / by_customer["revenue"].sum()),
                discounted_revenue_share=float(frame["discounted_revenue"].sum()
                                               / frame["amount"].sum()))
    return bands_table.reset_index(drop=True), regions_table, note


def _no_discounts() -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`discounts`' two tables without rows."""
    return (pd.DataFrame(columns=["band", "low", "high", "lines", "line_share",
                                  "revenue_share", "mean_quantity", "quantity_low",
                                  "quantity_high", "mean_value", "value_low", "value_high"]),
            pd.DataFrame(columns=["region", "lines", "revenue", "discounted_share",
                                  "mean_discount"]))


def _band_table(table: pd.DataFrame, edges: np.ndarray, *, interval: float,
                min_count: int) -> pd.DataFrame:
    """:func:`discounts`' bands from the sums per band (``band``, ``lines``, ``revenue``,
    ``mean_quantity``, ``sd_quantity``, ``n_quantity``, ``mean_value``, ``sd_value``)."""
    table = table.copy()
    table["low"] = [0.0 if b == 0 else edges[b - 1] for b in table["band"]]
    table["high"] = [edges[b] if b < len(edges) else np.nan for b in table["band"]]
    table["line_share"] = table["lines"] / table["lines"].sum()
    table["revenue_share"] = table["revenue"] / table["revenue"].sum()
    table["quantity_low"], table["quantity_high"] = t_interval(
        table["n_quantity"], table["mean_quantity"], table["sd_quantity"], interval)
    table["value_low"], table["value_high"] = t_interval(
        table["lines"], table["mean_value"], table["sd_value"], interval)
    few = table["lines"] < min_count
    table.loc[few, ["mean_quantity", "quantity_low", "quantity_high", "mean_value",
                    "value_low", "value_high"]] = np.nan
    return table[_no_discounts()[0].columns].reset_index(drop=True)


def _region_table(per: pd.DataFrame) -> pd.DataFrame:
    """:func:`discounts`' regions from the sums per region (``region``: the report's
    first, then the others in the order of their first line; ``lines``, ``revenue``,
    ``discounted``, ``weighted``)."""
    per = per.assign(discounted_share=per["discounted"] / per["revenue"],
                     mean_discount=per["weighted"] / per["revenue"])
    per = pd.concat([per.iloc[:1], per.iloc[1:].sort_values("revenue", ascending=False,
                                                             kind="mergesort")])
    return per[_no_discounts()[1].columns].reset_index(drop=True)


def _spearman(rho: float, n: int) -> tuple[float, float]:
    """Spearman's rho of ``n`` pairs and its two-sided p-value, as
    :func:`scipy.stats.spearmanr` (Student's t with n - 2 degrees of freedom)."""
    dof = n - 2
    with np.errstate(divide="ignore"):
        t = rho * np.sqrt(np.clip(dof / ((rho + 1.0) * (1.0 - rho)), 0, None))
    return float(rho), float(2 * stats.t.sf(abs(t), dof))


def discounts_sql(con, regions: pd.Series, *, period: Period, market: str = "ALL",
                  bands: Sequence[float] = DISCOUNT_BANDS, interval: float = 0.95,
                  min_count: int = 20, column: str | None = None
                  ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The DuckDB twin of :func:`discounts` for the lines of the view ``lines`` of ``con``
    in ``period`` (:attr:`helpers.context.Context.period_orders`' lines): each line's
    discount (:func:`line_discounts`' rule), the sums per band, region and customer and
    the rank correlations are made in DuckDB; pandas gets the bands, the regions and
    one row of counts.
    """
    names = _columns(con, "lines")
    amount = "CAST(amount AS DOUBLE)"
    bought = f"FROM lines WHERE {_in_period(period)} AND {amount} > 0"
    note: dict = {"source": None, "percent": False, "out_of_range": 0}

    def has(name: str) -> bool:
        return name in names and con.execute(
            f"SELECT count({_q(name)}) > 0 {bought}").fetchone()[0]

    if has("discount"):
        d = f"CAST({_q('discount')} AS DOUBLE)"
        note["source"] = "discount"
        if con.execute(f"SELECT coalesce(bool_or({d} > 1), false) AND count(*) FILTER "
                       f"(WHERE {d} IS NULL OR NOT {d} <= 100) = 0 {bought}").fetchone()[0]:
            d, note["percent"] = f"({d} / 100)", True
    elif has("list_price"):
        units = (f"coalesce(CAST({_q('quantity')} AS DOUBLE), 1.0)" if "quantity" in names
                 else "1.0")
        listed = f"(CAST({_q('list_price')} AS DOUBLE) * {units})"
        d = f"(1 - {amount} / CASE WHEN {listed} > 0 THEN {listed} END)"
        note["source"] = "list_price"
    else:
        return (*_no_discounts(), {**note, "computed": False,
                                   "reason_key": "no_discount_column"})
    has_qty = has("quantity")
    quantity = f"CAST({_q('quantity')} AS DOUBLE)" if has_qty else "CAST(NULL AS DOUBLE)"
    kept = regions[~regions.index.duplicated()].dropna()
    if column is not None and column in names:
        con.register("_twin_regions", pd.DataFrame(
            {"key": pd.unique(kept.astype(str)), "region": pd.unique(kept.astype(str))}))
        key = _q(column)
    else:
        con.register("_twin_regions", pd.DataFrame({"key": kept.index.astype(str),
                                                    "region": kept.astype(str).to_numpy()}))
        key = "customer_id"
    try:
        return _discounts_sql(con, note, discount=d, bought=bought, quantity=quantity,
                              key=key, has_qty=has_qty, market=market, bands=bands,
                              interval=interval, min_count=min_count)
    finally:
        con.unregister("_twin_regions")
        con.execute("DROP VIEW IF EXISTS _twin_discounts")


def _discounts_sql(con, note: dict, *, discount: str, bought: str, quantity: str, key: str,
                   has_qty: bool, market: str, bands, interval: float, min_count: int):
    out_of_range, = con.execute(f"SELECT count(*) FILTER (WHERE NOT ({discount} BETWEEN 0 "
                                f"AND 1)) {bought}").fetchone()
    note["out_of_range"] = int(out_of_range)
    edges = np.asarray(bands, dtype=float)
    band = " + ".join(f"CAST(d > {e:.17e} AS INTEGER)" for e in edges) or "0"
    # the known discounts of the purchase lines, numbered in the file's order (a scan and
    # a filter keep it: DuckDB's preserve_insertion_order)
    con.execute(f"""CREATE OR REPLACE TEMP VIEW _twin_discounts AS
        SELECT *, {band} AS band, CASE WHEN d > 0 THEN amount ELSE 0.0 END AS discounted_revenue
        FROM (SELECT {discount} AS d, CAST(amount AS DOUBLE) AS amount, l.customer_id,
                     r.region, {quantity} AS quantity, l.line
              FROM (SELECT *, row_number() OVER () AS line {bought}) l
              LEFT JOIN _twin_regions r ON r.key = l.{key})
        WHERE d BETWEEN 0 AND 1""")
    lines, discounted = con.execute("SELECT count(*), count(*) FILTER (WHERE d > 0) "
                                    "FROM _twin_discounts").fetchone()
    note.update(lines=int(lines), discounted_lines=int(discounted), quantity=bool(has_qty))
    if not discounted or discounted == lines:
        key_ = "no_discounted_lines" if not discounted else "no_undiscounted_lines"
        return (*_no_discounts(), {**note, "computed": False, "reason_key": key_})
    table = _fetch(con, """SELECT band, count(*) AS lines, fsum(amount) AS revenue,
            avg(quantity) AS mean_quantity, stddev_samp(quantity) AS sd_quantity,
            count(quantity) AS n_quantity, avg(amount) AS mean_value,
            stddev_samp(amount) AS sd_value
        FROM _twin_discounts GROUP BY band ORDER BY band""")
    table = table.astype({"band": "int64", "lines": "int64", "n_quantity": "int64",
                          **{c: float for c in ("revenue", "mean_quantity", "sd_quantity",
                                                "mean_value", "sd_value")}})
    bands_table = _band_table(table, edges, interval=interval, min_count=min_count)
    for target, col in (("quantity", "quantity"), ("value", "amount")):
        rho, n, distinct = con.execute(f"""SELECT corr(rd, rx), count(*), count(DISTINCT x)
            FROM (SELECT rank() OVER (ORDER BY d) + (count(*) OVER (PARTITION BY d) - 1) / 2.0
                         AS rd,
                         rank() OVER (ORDER BY x) + (count(*) OVER (PARTITION BY x) - 1) / 2.0
                         AS rx, x
                  FROM (SELECT d, {col} AS x FROM _twin_discounts WHERE {col} IS NOT NULL))
            """).fetchone()
        if n >= min_count and distinct > 1:
            note[f"spearman_{target}"], note[f"spearman_{target}_p"] = _spearman(rho, n)
        else:
            note[f"spearman_{target}"] = note[f"spearman_{target}_p"] = None
    # the report's lines under the market's name, then each region's (a region of that
    # name adds to the market's row, as in pandas' groupby)
    per = _fetch(con, f"""SELECT region, count(*) AS lines, fsum(amount) AS revenue,
            fsum(discounted_revenue) AS discounted, fsum(amount * d) AS weighted
        FROM (SELECT {_lit(market)} AS region, amount, discounted_revenue, d, 0 AS line
              FROM _twin_discounts UNION ALL
              SELECT region, amount, discounted_revenue, d, line FROM _twin_discounts
              WHERE region IS NOT NULL)
        GROUP BY region ORDER BY min(line)""")
    per = per.astype({"lines": "int64", "revenue": float, "discounted": float,
                      "weighted": float}).assign(region=np.asarray(per["region"], dtype=object))
    regions_table = _region_table(per)
    customers, only, only_revenue, revenue, disc, total = con.execute("""
        SELECT count(*), count(*) FILTER (WHERE discounted >= revenue),
               coalesce(fsum(revenue) FILTER (WHERE discounted >= revenue), 0), fsum(revenue),
               (SELECT fsum(discounted_revenue) FROM _twin_discounts),
               (SELECT fsum(amount) FROM _twin_discounts)
        FROM (SELECT customer_id, fsum(amount) AS revenue,
                     fsum(discounted_revenue) AS discounted
              FROM _twin_discounts WHERE customer_id IS NOT NULL GROUP BY customer_id)
        """).fetchone()
    note.update(computed=True, customers=int(customers), discount_only_customers=int(only),
                discount_only_revenue_share=float(only_revenue / revenue),
                discounted_revenue_share=float(disc / total))
    return bands_table, regions_table, note
