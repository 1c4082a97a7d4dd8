"""Order lines aggregated inside DuckDB, straight from the orders' Parquet: the per-customer
purchase summary and the per-customer facts behind the region KPIs, without the lines in
pandas.

Large runs (step 2 on the DuckDB path, or a large ``orders.parquet``: :func:`choose`) would
otherwise read every order line into pandas to make tables of one row per customer. Here
DuckDB scans only the columns it needs (``customer_id``, ``order_date``, ``amount``,
``order_id``) and returns one row per customer (one per customer and purchase day for
:func:`purchase_days`), with the rules of the pandas functions they twin:

- :func:`purchase_summary` and :func:`purchase_days` are
  :func:`helpers.analysis.customers.purchase_summary` and ``purchase_days`` (the rules:
  that module's docstring);
- :func:`customer_windows` is :func:`helpers.analysis.kpis.customer_windows`, what
  :func:`helpers.analysis.kpis.region_kpis` takes instead of the lines (``windows=``).

The same rows, columns and types; sums of amounts are added in another order than pandas'
(per customer, with DuckDB's compensated ``fsum``), so a money total may differ from the
pandas path in its last binary digits (``tests/test_line_engine.py`` compares with
``pd.testing.assert_frame_equal``'s tolerance; counts, days and ids are exact).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

import pandas as pd

from helpers.data.engine import lit as _lit
from helpers.period import Period

__all__ = ["MIN_PARQUET_MB", "choose", "connect", "memory_limit", "open_lines", "source",
           "fetch", "day", "in_period", "purchase_summary", "purchase_days", "purchase_days_sql",
           "customer_windows", "order_days"]

#: A saved ``orders.parquet`` at least this large is aggregated in DuckDB even when step 2
#: ran on pandas (:func:`choose`).
MIN_PARQUET_MB = 100.0
#: DuckDB's memory (MiB) while it sums the order lines: this, or
#: :data:`LIMIT_PER_PARQUET_BYTE` times the size of the Parquet file read when that is more,
#: at most :data:`MAX_LIMIT_MIB` (:func:`memory_limit`). Beyond it, it spills to a
#: temporary folder.
MEMORY_LIMIT_MIB = 1024
#: The purchase summary's per-customer count of distinct orders and gaps between purchase
#: days over 100M lines (a 1.7 GB ``orders.parquet``) failed in 1 GB and in 2 GB even
#: spilling, and ran in 4 GB (214 s, under load): about 2.5 times the file.
LIMIT_PER_PARQUET_BYTE = 2.5
MAX_LIMIT_MIB = 8192
THREADS = 2


def choose(prep_summary: dict, orders_path: Path) -> dict:
    """Where the market-wide per-customer tables are aggregated: ``{"path": "duckdb" |
    "pandas", "reason": ...}``. DuckDB when step 2 prepared the orders in DuckDB
    (``prep.json``'s ``engine.path``) or ``orders.parquet`` holds at least
    :data:`MIN_PARQUET_MB`; pandas otherwise (small data: pandas is faster)."""
    prep_path = (prep_summary.get("engine") or {}).get("path")
    try:
        mb = round(Path(orders_path).stat().st_size / 1e6, 1)
    except OSError:
        return {"path": "pandas", "reason": f"no {Path(orders_path).name}"}
    if prep_path == "duckdb":
        return {"path": "duckdb", "reason": "step 2 prepared the orders in DuckDB",
                "orders_parquet_mb": mb}
    if mb >= MIN_PARQUET_MB:
        return {"path": "duckdb", "orders_parquet_mb": mb,
                "reason": f"orders.parquet {mb:,} MB >= {MIN_PARQUET_MB:,.0f} MB"}
    return {"path": "pandas", "orders_parquet_mb": mb,
            "reason": f"orders.parquet {mb:,} MB < {MIN_PARQUET_MB:,.0f} MB"}


def memory_limit(path: Path | None = None) -> str:
    """DuckDB's memory limit for reading the Parquet file ``path``: :data:`MEMORY_LIMIT_MIB`,
    or :data:`LIMIT_PER_PARQUET_BYTE` times the file's size when more (at most
    :data:`MAX_LIMIT_MIB`), as DuckDB's setting (``'2560MiB'``)."""
    try:
        size = Path(path).stat().st_size if path is not None else 0
    except OSError:
        size = 0
    share = min(int(size * LIMIT_PER_PARQUET_BYTE / 2**20), MAX_LIMIT_MIB)
    return f"{max(MEMORY_LIMIT_MIB, share)}MiB"


@lru_cache(maxsize=1)
def _spill_folder() -> str:
    """One temporary folder per process where the connections spill (removed at exit),
    rather than DuckDB's default ``.tmp`` in whatever the working directory is."""
    folder = tempfile.mkdtemp(prefix="workbook-duckdb-")
    atexit.register(shutil.rmtree, folder, True)
    return folder


def connect(path: Path | None = None):
    """An in-memory DuckDB with bounded memory (:func:`memory_limit` of the Parquet file
    ``path`` it will read), spilling to a temporary folder, two threads, no progress bar."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{memory_limit(path)}'")
    con.execute(f"SET temp_directory = {_lit(_spill_folder())}")
    con.execute(f"SET threads = {THREADS}")
    con.execute("SET enable_progress_bar = false")
    return con


def day(ts) -> str:
    """A SQL DATE literal of the day of ``ts``."""
    return f"DATE {_lit(pd.Timestamp(ts).strftime('%Y-%m-%d'))}"


def in_period(period: Period, when: str = "CAST(order_date AS DATE)") -> str:
    """SQL: the day ``when`` (a line's order day by default) is in ``period``, as
    :meth:`helpers.period.Period.contains` (after ``start``, up to ``end``, by day; a
    missing date is outside)."""
    return f"({when} > {day(period.start)} AND {when} <= {day(period.end)})"


def open_lines(path: Path, *, provinces=None, customer_ids=None, con=None):
    """A DuckDB connection (:func:`connect`) with two views of the order lines in the
    Parquet file ``path``, the columns of ``orders.parquet``:

    - ``market_lines``: every line (the whole market, a benchmark's reference);
    - ``lines``: the scope's lines, those whose ``province`` is one of ``provinces``,
      or whose ``customer_id`` is one of ``customer_ids`` (a city's: orders carry their
      customer's province, not the city), every line when both are None
      (:attr:`helpers.context.Context.orders`' rule).

    The twins of the pandas functions that read order lines (``*_sql`` beside them in
    :mod:`helpers.analysis`) read these views and return the pandas function's table.
    """
    con = con or connect(path)
    parquet = f"read_parquet({_lit(Path(path))})"
    con.execute(f"CREATE OR REPLACE VIEW market_lines AS SELECT * FROM {parquet}")
    if customer_ids is not None:
        ids = pd.DataFrame({"customer_id": pd.Series(pd.unique(pd.Series(customer_ids)
                                                              .dropna()), dtype="string")})
        con.register("scope_customer_ids", ids)
        where = "customer_id IN (SELECT customer_id FROM scope_customer_ids)"
    elif provinces is not None:
        names = ", ".join(_lit(p) for p in provinces) or "NULL"
        where = f"province IN ({names})"
    else:
        where = "true"
    con.execute(f"CREATE OR REPLACE VIEW lines AS SELECT * FROM market_lines WHERE {where}")
    return con


def source(lines, con=None) -> tuple:
    """``(connection, relation)`` to read order lines from: ``lines`` is the path of a
    Parquet file (read with ``read_parquet`` on ``con`` or a new :func:`connect`) or a
    connection from :func:`open_lines` (its view ``lines``)."""
    if isinstance(lines, (str, Path)):
        return con or connect(lines), f"read_parquet({_lit(Path(lines))})"
    return lines, "lines"


def _has_column(con, relation: str, name: str) -> bool:
    return name in [c[0] for c in con.execute(f"SELECT * FROM {relation} LIMIT 0").description]


def fetch(con, sql: str) -> pd.DataFrame:
    """The result of ``sql`` as a DataFrame, text as pandas' ``string`` dtype."""
    return con.execute(sql).to_arrow_table().to_pandas(
        types_mapper=lambda t: pd.StringDtype() if str(t) == "string" else None)


def _lines_sql(con, relation: str, as_of: pd.Timestamp) -> str:
    """The counted lines (:func:`helpers.analysis.customers._lines`): a customer id, a
    date before ``as_of`` by day; ``day`` (a DATE), ``amount``, ``order_id``."""
    order = "order_id" if _has_column(con, relation, "order_id") else "row_number() OVER ()"
    return (f"SELECT customer_id, CAST(order_date AS DATE) AS day, CAST(amount AS DOUBLE) "
            f"AS amount, {order} AS order_id FROM {relation} "
            f"WHERE customer_id IS NOT NULL AND order_date IS NOT NULL "
            f"AND CAST(order_date AS DATE) < {day(as_of)}")


def _days_sql(counted: str) -> str:
    """One row per customer and purchase day (:func:`helpers.analysis.customers._days`)
    of the ``counted`` lines (:func:`_lines_sql`)."""
    return f"""SELECT customer_id, day, greatest(fsum(amount), 0.0) AS value
        FROM ({counted}) GROUP BY customer_id, day HAVING max(amount) > 0"""


def _gaps_sql(counted: str) -> str:
    return f"""SELECT customer_id, day, value,
        CAST(day - lag(day) OVER (PARTITION BY customer_id ORDER BY day) AS DOUBLE) AS gap_days
        FROM ({_days_sql(counted)})"""


def purchase_days_sql(con, *, as_of, relation: str = "lines") -> str:
    """SQL of :func:`purchase_days`' rows (``customer_id``, ``day`` a DATE, ``value``,
    ``gap_days``; unordered) of the order lines in ``relation`` of ``con``: what the twins
    that read the purchase days (lifecycle, lifetime value's holdout, the buying section)
    aggregate in DuckDB instead of fetching a row per customer and purchase day."""
    return _gaps_sql(_lines_sql(con, relation, pd.Timestamp(as_of).normalize()))


# Every query ends ORDER BY customer_id: DuckDB compares text byte by byte in UTF-8, the
# order of the code points, which is Python's order of the strings (pandas' sort of the ids).


def purchase_days(lines, *, as_of, con=None) -> pd.DataFrame:
    """:func:`helpers.analysis.customers.purchase_days` of the order ``lines`` (a Parquet
    file's path or an :func:`open_lines` connection: :func:`source`; ``as_of`` required)."""
    con, relation = source(lines, con)
    as_of = pd.Timestamp(as_of).normalize()
    counted = _lines_sql(con, relation, as_of)
    days = fetch(con, _gaps_sql(counted) + " ORDER BY customer_id, day")
    days = days.assign(day=days["day"].astype("datetime64[ns]"),
                       value=days["value"].astype(float), gap_days=days["gap_days"].astype(float))
    return days[["customer_id", "day", "value", "gap_days"]]


def purchase_summary(lines, *, as_of, con=None) -> pd.DataFrame:
    """:func:`helpers.analysis.customers.purchase_summary` of the order ``lines`` (a
    Parquet file's path or an :func:`open_lines` connection: :func:`source`; ``as_of``
    required): one row per customer with a purchase before ``as_of``."""
    from helpers.analysis.customers import _DTYPES, SUMMARY_COLUMNS

    con, relation = source(lines, con)
    as_of = pd.Timestamp(as_of).normalize()
    counted = _lines_sql(con, relation, as_of)
    sql = f"""WITH counted AS ({counted}),
        per AS (SELECT customer_id, min(day) FILTER (WHERE amount > 0) AS first_purchase,
                       max(day) FILTER (WHERE amount > 0) AS last_purchase,
                       count(DISTINCT order_id) FILTER (WHERE amount > 0) AS orders,
                       fsum(amount) AS monetary
                FROM counted GROUP BY customer_id HAVING max(amount) > 0),
        days AS ({_gaps_sql(counted)}),
        perday AS (SELECT d.customer_id, count(*) AS purchase_days,
                          coalesce(max(d.gap_days), 0) AS longest_gap_days,
                          avg(d.value) FILTER (WHERE d.day > p.first_purchase) AS repeat_value
                   FROM days d JOIN per p USING (customer_id) GROUP BY d.customer_id)
        SELECT p.customer_id, p.first_purchase, p.last_purchase, p.orders, d.purchase_days,
               p.monetary, d.longest_gap_days, d.repeat_value
        FROM per p JOIN perday d USING (customer_id) ORDER BY p.customer_id"""
    per = fetch(con, sql)
    if per.empty:
        return pd.DataFrame({c: pd.Series(dtype=_DTYPES.get(c, float)) for c in SUMMARY_COLUMNS})
    first = per["first_purchase"].astype("datetime64[ns]")
    last = per["last_purchase"].astype("datetime64[ns]")
    span = (last - first).dt.days
    tenure = (as_of - first).dt.days
    days = per["purchase_days"].astype("int64")
    per = per.assign(
        first_purchase=first, last_purchase=last,
        orders=per["orders"].astype("int64"), purchase_days=days,
        monetary=per["monetary"].astype(float),
        recency_days=(as_of - last).dt.days.astype("int64"),
        tenure_days=tenure.astype("int64"),
        longest_gap_days=per["longest_gap_days"].astype("int64"),
        repeat_purchases=(days - 1).astype("int64"),
        span_weeks=span / 7.0, tenure_weeks=tenure / 7.0,
        repeat_value=per["repeat_value"].astype(float).fillna(0.0),
    )
    return per[SUMMARY_COLUMNS]


def order_days(lines, con=None) -> pd.Series:
    """The distinct days with an order line (a Parquet file's path or an :func:`open_lines`
    connection: :func:`source`), in order (:func:`helpers.period.order_days` of the
    lines: what the period and the coverage of a comparison read from the order dates)."""
    con, relation = source(lines, con)
    days = fetch(con, f"SELECT DISTINCT CAST(order_date AS DATE) AS day FROM {relation} "
                      f"WHERE order_date IS NOT NULL ORDER BY 1")
    return pd.Series(days["day"].astype("datetime64[ns]").to_numpy(), name="order_date")


def customer_windows(lines, *, period: Period, active_months: int, pop_months: int,
                     con=None) -> pd.DataFrame:
    """:func:`helpers.analysis.kpis.customer_windows` of the order ``lines`` (a Parquet
    file's path or an :func:`open_lines` connection: :func:`source`): one row per
    customer id of the lines (:func:`helpers.analysis.kpis.customer_windows_sql` reading
    them)."""
    from helpers.analysis.kpis import customer_windows_sql

    con, relation = source(lines, con)
    return customer_windows_sql(con, period=period, active_months=active_months,
                                pop_months=pop_months, source=relation)
