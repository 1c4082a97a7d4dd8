"""Cohort retention: customers by the quarter of their first purchase, and how many of
them (and how much of their revenue) are still buying each quarter after.

:func:`cohort_retention` builds the grid for the scope as a whole and per region: a
cohort is the customers whose first purchase (a positive line) falls in one calendar
quarter; for each quarter since (``quarter`` 0 is the first), ``retained`` counts the
cohort's customers with a purchase in that quarter and ``revenue`` sums their net
revenue; ``retention = retained / customers`` and ``revenue_retention = revenue /
revenue of quarter 0``. Only quarters that ended by the end of the period count (a
quarter still running would read as churn), and the data's first quarter is marked
``left_censored``: its customers may have started long before the export.

:func:`retention_trend` states the rule that names a region whose newer cohorts retain
worse: among its cohorts with at least ``min_cohort`` customers, not left-censored and
with a finished next quarter, the older half (the first ``m // 2`` in time) and the
newer half (the last ``m // 2``) are pooled; ``older_retention`` and ``newer_retention``
are their shares of customers buying again in the quarter after the first. A region
retains worse when ``drop = older - newer`` is at least ``min_drop`` and a one-sided
Fisher exact test (older retains more) gives ``p_fdr < alpha`` after Benjamini-Hochberg
across the regions tested. A region needs at least two such cohorts; the scope's own
row (``region`` NA) is tested on its own (``p_fdr`` = ``p``).

Keys and numbers only; :mod:`helpers.text.narrative.mix` says them in words.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["COHORT_COLUMNS", "TREND_COLUMNS", "cohort_retention", "cohort_retention_sql",
           "retention_trend"]

#: The columns of :func:`cohort_retention`'s table.
COHORT_COLUMNS = ["region", "cohort", "quarter", "customers", "retained", "retention",
                  "revenue", "revenue_retention", "left_censored"]
#: The columns of :func:`retention_trend`'s table.
TREND_COLUMNS = ["region", "cohorts", "older_cohorts", "newer_cohorts", "older_customers",
                 "older_retained", "older_retention", "newer_customers", "newer_retained",
                 "newer_retention", "drop", "p", "p_fdr", "worse"]


def _quarter_codes(dates: pd.Series) -> np.ndarray:
    """Quarters as integers (year * 4 + quarter - 1): fast to subtract."""
    d = pd.DatetimeIndex(dates)
    return (d.year.to_numpy() * 4 + (d.month.to_numpy() - 1) // 3).astype("int64")


def _quarter_name(code: int) -> str:
    return f"{code // 4}Q{code % 4 + 1}"


def _last_finished(as_of: pd.Timestamp) -> int:
    """The last quarter that ended before ``as_of`` (the day after the period)."""
    last_day = pd.Timestamp(as_of).normalize() - pd.Timedelta(days=1)
    code = int(_quarter_codes(pd.Series([last_day]))[0])
    ends = (last_day + pd.Timedelta(days=1)).month in (1, 4, 7, 10) and \
        (last_day + pd.Timedelta(days=1)).day == 1
    return code if ends else code - 1


def cohort_retention(orders: pd.DataFrame, *, as_of, regions: pd.Series | None = None,
                     data_start=None) -> tuple[pd.DataFrame, dict]:
    """The retention grid of the scope (``region`` NA) and of each region.

    Parameters
    ----------
    orders : DataFrame
        ``customer_id``, ``order_date``, ``amount`` (lines on or after ``as_of`` are
        left out).
    as_of : date-like
        The day after the period (:attr:`helpers.period.Period.as_of`).
    regions : Series, optional
        ``customer_id`` -> region; customers without one count only in the scope's grid.
    data_start : date-like, optional
        The first day of the data (the whole export); default the first order date of
        ``orders``. Its quarter's cohort is ``left_censored``.

    Returns
    -------
    (DataFrame, dict)
        :data:`COHORT_COLUMNS` (cohort as ``2024Q1``; one row per cohort and finished
        quarter since, quarters without a purchase included with 0); the note:
        ``customers`` (with a first purchase in a finished quarter), ``first_quarter``,
        ``last_quarter`` (the last finished one), ``cohorts``; ``reason_key``
        ``no_finished_quarter`` when no quarter has ended since the first purchase.

    Its DuckDB twin, on order lines that stay in DuckDB: :func:`cohort_retention_sql`.
    """
    as_of = pd.Timestamp(as_of).normalize()
    lines = orders.loc[orders["order_date"] < as_of, ["customer_id", "order_date", "amount"]]
    empty = pd.DataFrame(columns=COHORT_COLUMNS)
    note: dict = {"customers": 0, "cohorts": 0}
    if lines.empty:
        note["reason_key"] = "no_finished_quarter"
        return empty, note
    start = (pd.Timestamp(data_start) if data_start is not None
             else lines["order_date"].min())
    first_data = int(_quarter_codes(pd.Series([start]))[0])
    last = _last_finished(as_of)
    quarter = _quarter_codes(lines["order_date"])
    customer, ids = pd.factorize(lines["customer_id"])
    amount = lines["amount"].to_numpy(float)
    positive = amount > 0
    # dense customer x quarter arrays (integer codes and bincount: fast at a million lines)
    q0 = int(quarter.min())
    width = max(last - q0 + 1, 1)
    inside = quarter <= last
    key = customer[inside] * width + (quarter[inside] - q0)
    cells = len(ids) * width
    bought = (np.bincount(key[positive[inside]], minlength=cells) > 0).reshape(len(ids), width)
    revenue = np.bincount(key, weights=amount[inside], minlength=cells).reshape(len(ids), width)
    has_first = bought.any(axis=1)
    first = np.where(has_first, bought.argmax(axis=1), -1)  # offset of the first quarter
    note.update(first_quarter=_quarter_name(first_data), last_quarter=_quarter_name(last),
                customers=int(has_first.sum()))
    if not has_first.any():
        note["reason_key"] = "no_finished_quarter"
        return empty, note
    # each customer's quarters counted from its first: column k is quarter first + k
    shift = first[:, None] + np.arange(width)[None, :]
    seen = (shift < width) & has_first[:, None]
    at = np.clip(shift, 0, width - 1)
    kept = np.take_along_axis(bought, at, axis=1) & seen
    spent = np.where(seen, np.take_along_axis(revenue, at, axis=1), 0.0)
    frames = [_grid(kept, spent, first, np.where(has_first, 0, -1), q0, width, [None])]
    if regions is not None:
        region = pd.Series(regions).groupby(level=0).first().reindex(ids)
        code, names = pd.factorize(region.to_numpy(), sort=True)
        frames.append(_grid(kept, spent, first, np.where(has_first, code, -1), q0, width,
                            list(names)))
    table = pd.concat(frames, ignore_index=True)
    table["left_censored"] = table["cohort"] == _quarter_name(first_data)
    note["cohorts"] = int(table.loc[table["region"].isna(), "cohort"].nunique())
    return table[COHORT_COLUMNS], note


def cohort_retention_sql(con, *, as_of, regions: pd.Series | None = None,
                         data_start=None) -> tuple[pd.DataFrame, dict]:
    """The DuckDB twin of :func:`cohort_retention`: the same table and note from the
    order lines of the view ``lines`` of ``con`` (:func:`helpers.analysis.engine.
    open_lines`). Each customer's quarters and first purchase are summed in DuckDB
    (``regions`` joined there); what comes to pandas is one row per region, cohort and
    quarter since."""
    from helpers.analysis.engine import day, fetch

    as_of = pd.Timestamp(as_of).normalize()
    empty = pd.DataFrame(columns=COHORT_COLUMNS)
    note: dict = {"customers": 0, "cohorts": 0}
    counted = f"FROM lines WHERE order_date < CAST({day(as_of)} AS TIMESTAMP)"
    quarter = "year(order_date) * 4 + quarter(order_date) - 1"
    n, lo, q0 = con.execute(f"SELECT count(*), min(order_date), min({quarter}) "
                            f"{counted}").fetchone()
    if not n:
        note["reason_key"] = "no_finished_quarter"
        return empty, note
    start = pd.Timestamp(data_start) if data_start is not None else pd.Timestamp(lo)
    first_data = int(_quarter_codes(pd.Series([start]))[0])
    last = _last_finished(as_of)
    q0 = int(q0)
    width = max(last - q0 + 1, 1)
    where = (pd.Series(regions) if regions is not None else pd.Series(dtype="string"))
    where = where.groupby(level=0).first().dropna()
    con.register("cohort_regions", pd.DataFrame(
        {"customer_id": pd.Series(where.index, dtype="string"),
         "region": pd.Series(where.to_numpy(), dtype="string")}))
    # per customer and finished quarter: bought (a positive line) and net revenue; each
    # customer's first quarter with a purchase; the sums by cohort and quarter since
    sql = f"""WITH cells AS (
            SELECT customer_id, {quarter} AS q, bool_or(amount > 0) AS bought,
                   fsum(CAST(amount AS DOUBLE)) AS revenue
            {counted} AND {quarter} <= {last} GROUP BY customer_id, q),
        firsts AS (
            SELECT customer_id, min(q) FILTER (WHERE bought) AS fq
            FROM cells GROUP BY customer_id HAVING bool_or(bought)),
        people AS (
            SELECT f.customer_id, f.fq, r.region
            FROM firsts f LEFT JOIN cohort_regions r USING (customer_id)),
        sizes AS (
            SELECT region, fq, -1 AS k, count(*) AS n, GROUPING(region) = 1 AS scope,
                   NULL::DOUBLE AS revenue
            FROM people GROUP BY GROUPING SETS ((fq), (region, fq))),
        quarters AS (
            SELECT p.region, p.fq, c.q - p.fq AS k, count(*) FILTER (WHERE c.bought)
                   AS n, GROUPING(p.region) = 1 AS scope, fsum(c.revenue) AS revenue
            FROM cells c JOIN people p USING (customer_id) WHERE c.q >= p.fq
            GROUP BY GROUPING SETS ((p.fq, k), (p.region, p.fq, k)))
        SELECT * FROM sizes UNION ALL SELECT * FROM quarters"""
    try:
        sums = fetch(con, sql)
    finally:
        con.unregister("cohort_regions")
    scope = sums["scope"].astype(bool)
    note.update(first_quarter=_quarter_name(first_data), last_quarter=_quarter_name(last),
                customers=int(sums.loc[scope & (sums["k"] == -1), "n"].sum()))
    if not note["customers"]:
        note["reason_key"] = "no_finished_quarter"
        return empty, note
    frames = [_summed_grid(sums.loc[scope], [None], q0, width)]
    if regions is not None:
        named = sums.loc[~scope & sums["region"].notna()]
        frames.append(_summed_grid(named, sorted(str(r) for r in named["region"].unique()),
                                   q0, width))
    table = pd.concat(frames, ignore_index=True)
    table["left_censored"] = table["cohort"] == _quarter_name(first_data)
    note["cohorts"] = int(table.loc[table["region"].isna(), "cohort"].nunique())
    return table[COHORT_COLUMNS], note


def _summed_grid(sums: pd.DataFrame, names: list, q0: int, width: int) -> pd.DataFrame:
    """:func:`_cells` of the sums of :func:`cohort_retention_sql` (``region``, ``fq``: the cohort,
    ``k``: -1 for the cohort's size, else the quarter since; ``n``, ``revenue``)."""
    code = {name: i for i, name in enumerate(names)}
    group = (np.zeros(len(sums), dtype=np.int64) if names == [None] else
             sums["region"].map(lambda r: code[str(r)]).to_numpy(dtype=np.int64))
    key = group * width + (sums["fq"].to_numpy(dtype=np.int64) - q0)
    k = sums["k"].to_numpy(dtype=np.int64)
    size = np.zeros(len(names) * width, dtype=np.int64)
    retained = np.zeros((len(names) * width, width))
    revenue = np.zeros((len(names) * width, width))
    is_size = k < 0
    size[key[is_size]] = sums["n"].to_numpy(dtype=np.int64)[is_size]
    retained[key[~is_size], k[~is_size]] = sums["n"].to_numpy(dtype=float)[~is_size]
    revenue[key[~is_size], k[~is_size]] = sums["revenue"].to_numpy(dtype=float)[~is_size]
    return _cells(size, retained, revenue, q0, width, names)


def _grid(kept: np.ndarray, spent: np.ndarray, first: np.ndarray, group: np.ndarray, q0: int,
          width: int, names: list) -> pd.DataFrame:
    """The cohort grids of the groups ``names``: ``kept`` and ``spent`` are each customer's
    purchases and net revenue by quarter since its first (``first``: its first quarter's
    offset from ``q0``), ``group`` its code in ``names`` (-1: none)."""
    counted = group >= 0
    cohort_key = group[counted] * width + first[counted]
    size = np.bincount(cohort_key, minlength=len(names) * width)
    retained = np.stack([np.bincount(cohort_key, weights=kept[counted, k],
                                     minlength=len(names) * width) for k in range(width)], 1)
    revenue = np.stack([np.bincount(cohort_key, weights=spent[counted, k],
                                    minlength=len(names) * width) for k in range(width)], 1)
    return _cells(size, retained, revenue, q0, width, names)


def _cells(size: np.ndarray, retained: np.ndarray, revenue: np.ndarray, q0: int, width: int,
           names: list) -> pd.DataFrame:
    """The rows of the cohort grids of the groups ``names`` from their sums by cohort key
    (group code * ``width`` + the cohort's offset from ``q0``): ``size`` (customers),
    ``retained`` and ``revenue`` (key x quarters since the first)."""
    rows = []
    for key in np.flatnonzero(size):
        g, offset = divmod(int(key), width)
        for k in range(width - offset):  # the quarters since that have ended
            rows.append((names[g], _quarter_name(q0 + offset), k, int(size[key]),
                         int(round(retained[key, k])), float(revenue[key, k]),
                         float(revenue[key, 0])))
    cells = pd.DataFrame(rows, columns=["region", "cohort", "quarter", "customers", "retained",
                                        "revenue", "start"])
    cells["retention"] = cells["retained"] / cells["customers"]
    with np.errstate(divide="ignore", invalid="ignore"):
        cells["revenue_retention"] = np.where(cells["start"] > 0,
                                              cells["revenue"] / cells["start"], np.nan)
    cells["region"] = cells["region"].astype(object)
    return cells.drop(columns="start")


def retention_trend(cohorts: pd.DataFrame, *, min_cohort: int = 20, min_drop: float = 0.05,
                    alpha: float = 0.05) -> pd.DataFrame:
    """Whether newer cohorts retain worse than older ones, per region and for the scope.

    Parameters
    ----------
    cohorts : DataFrame
        :func:`cohort_retention`'s table.
    min_cohort : int
        Cohorts with fewer customers are left out of the comparison.
    min_drop : float
        The least drop in next-quarter retention (a fraction: 0.05 = 5 points) that counts.
    alpha : float
        Significance level of the corrected p-value.

    Returns
    -------
    DataFrame
        :data:`TREND_COLUMNS`, one row per region with at least two cohorts that qualify
        and the scope's row first (``region`` NA); ``older_cohorts`` and ``newer_cohorts``
        as ``2023Q2–2023Q4``; ``worse`` the rule of the module docstring.
    """
    nxt = cohorts.loc[(cohorts["quarter"] == 1) & ~cohorts["left_censored"].astype(bool)
                      & (cohorts["customers"] >= min_cohort)]
    rows = []
    scope_rows = nxt["region"].isna()
    groups = [(None, nxt.loc[scope_rows])] + list(nxt.loc[~scope_rows].groupby("region"))
    for region, group in groups:
        group = group.sort_values("cohort")
        m = len(group) // 2
        if m < 1:
            continue
        old, new = group.head(m), group.tail(m)
        o_n, o_r = int(old["customers"].sum()), int(old["retained"].sum())
        n_n, n_r = int(new["customers"].sum()), int(new["retained"].sum())
        p = float(stats.fisher_exact([[o_r, o_n - o_r], [n_r, n_n - n_r]],
                                     alternative="greater").pvalue)
        rows.append({"region": region, "cohorts": len(group),
                     "older_cohorts": _span(old["cohort"]), "newer_cohorts": _span(new["cohort"]),
                     "older_customers": o_n, "older_retained": o_r,
                     "older_retention": o_r / o_n, "newer_customers": n_n,
                     "newer_retained": n_r, "newer_retention": n_r / n_n,
                     "drop": o_r / o_n - n_r / n_n, "p": p})
    if not rows:
        return pd.DataFrame(columns=TREND_COLUMNS)
    table = pd.DataFrame(rows)
    scope = table["region"].isna()
    table["p_fdr"] = table["p"]
    if (~scope).any():
        table.loc[~scope, "p_fdr"] = stats.false_discovery_control(
            table.loc[~scope, "p"].to_numpy(), method="bh")
    table["worse"] = (table["drop"] >= min_drop) & (table["p_fdr"] < alpha)
    table = pd.concat([table.loc[scope], table.loc[~scope].sort_values(
        ["worse", "drop"], ascending=[False, False], kind="mergesort")], ignore_index=True)
    return table[TREND_COLUMNS]


def _span(cohorts: pd.Series) -> str:
    first, last = str(cohorts.iloc[0]), str(cohorts.iloc[-1])
    return first if first == last else f"{first}–{last}"
