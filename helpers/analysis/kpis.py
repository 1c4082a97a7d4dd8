"""Headline KPIs per region and revenue per month (steps 3 and 4).

Every function takes DataFrames and returns new ones; inputs are never modified.
The canonical ``customers`` and ``orders`` tables are described in
``docs/architecture.md``; the windows come from one :class:`helpers.period.Period`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from helpers import geo
from helpers.analysis.benchmark import Benchmark
from helpers.analysis.gaps import REFERENCE_COLUMNS, reference_columns
from helpers.analysis.ratios import safe_ratio
from helpers.geo.coords import precise_for
from helpers.geo.territories import territory_en
from helpers.period import MIN_COVERAGE, Period

__all__ = ["region_kpis", "monthly_revenue", "monthly_revenue_sql", "baselines", "customer_windows",
           "customer_windows_sql", "windows_of", "WINDOW_COLUMNS", "line_counts",
           "line_counts_sql", "period_revenue", "period_revenue_sql", "period_amounts",
           "period_amounts_sql"]

_LEVELS = ("territory", "province", "city")


def _region_points(level: str, names: pd.Series, customers: pd.DataFrame,
                   key: str, country: str = "CN") -> pd.DataFrame:
    """``region``, ``region_en``, ``lat``, ``lon`` for each region name."""
    frame = pd.DataFrame({"region": pd.Series(names, dtype=object).unique()})
    fallback = None
    if level == "province":
        gaz = geo.provinces(country)[["province", "province_en", "lat", "lon"]]
        gaz = gaz.rename(columns={"province": "region", "province_en": "region_en"})
        frame = frame.merge(gaz, on="region", how="left")
        if country != "CN":
            # Outside China a state sits at the mean position of its customers (as it
            # always has); its gazetteer point only places a state without customers.
            fallback = frame.set_index("region")[["lat", "lon"]]
            frame = frame.assign(lat=np.nan, lon=np.nan)
    elif level == "city":
        gaz = geo.cities()
        gaz = gaz[gaz["city"] != "市辖区"]
        # Prefer the city codes the customers carry (city names can repeat).
        if "city_code" in customers.columns:
            codes = (customers[[key, "city_code"]].dropna()
                     .drop_duplicates(key).rename(columns={key: "region"}))
            by_code = codes.merge(gaz[["city_code", "lat", "lon"]].drop_duplicates("city_code"),
                                  on="city_code", how="inner")[["region", "lat", "lon"]]
        else:
            by_code = pd.DataFrame(columns=["region", "lat", "lon"])
        by_name = (gaz.drop_duplicates("city")[["city", "lat", "lon"]]
                   .rename(columns={"city": "region"}))
        points = pd.concat([by_code, by_name], ignore_index=True).drop_duplicates("region")
        frame = frame.merge(points, on="region", how="left").assign(region_en=np.nan)
    else:  # territory: the mean position of its customers
        frame = frame.assign(lat=np.nan, lon=np.nan,
                             region_en=frame["region"].map(territory_en))
    # Regions the gazetteer does not know (a territory, a Brazilian or US state, a city
    # outside China): the mean position of their customers.
    # Only customers placed at least as finely as the level count: cities whose customers
    # sit on their state's centroid have no position of their own.
    missing = frame["lat"].isna() | frame["lon"].isna()
    if missing.any() and {"lat", "lon"} <= set(customers.columns):
        placed = customers
        if "geo_precision" in customers.columns and level in ("province", "city"):
            placed = customers.loc[precise_for(customers["geo_precision"], level).to_numpy()]
        mean = (placed[[key, "lat", "lon"]].astype({"lat": float, "lon": float})
                .groupby(key, dropna=True)[["lat", "lon"]].mean())
        frame.loc[missing, "lat"] = frame.loc[missing, "region"].map(mean["lat"])
        frame.loc[missing, "lon"] = frame.loc[missing, "region"].map(mean["lon"])
    missing = frame["lat"].isna() | frame["lon"].isna()
    if fallback is not None and missing.any():
        frame.loc[missing, "lat"] = frame.loc[missing, "region"].map(fallback["lat"])
        frame.loc[missing, "lon"] = frame.loc[missing, "region"].map(fallback["lon"])
    region_en = frame["region_en"].astype(object)
    frame = frame.assign(region_en=region_en.where(region_en.notna(), frame["region"]))
    return frame[["region", "region_en", "lat", "lon"]].astype({"lat": float, "lon": float})


def region_kpis(
    customers: pd.DataFrame,
    orders: pd.DataFrame,
    *,
    level: str = "province",
    period: Period | None = None,
    active_months: int = 12,
    pop_months: int = 3,
    reference: pd.DataFrame | None = None,
    universe: Sequence[str] | None = None,
    min_customers: int = 5,
    expected_method: str = "auto",
    benchmark: Benchmark | None = None,
    country: str = "CN",
    data_dates: pd.Series | None = None,
    min_coverage: float = MIN_COVERAGE,
    windows: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row of headline KPIs per region.

    Orders are attributed to the region of their customer (looked up through
    ``customer_id``), so all levels use the same customer geography.
    Customers whose region is missing are left out of every row; ``share``
    is relative to the revenue of the rows returned. Works for any country:
    a region the China gazetteer does not know (a Brazilian or US state)
    is placed at the mean position of its customers.

    Parameters
    ----------
    customers, orders : DataFrame
        Canonical tables. ``customers`` needs ``customer_id`` and the level
        column (``territory``, ``province`` or ``city``); ``signup_date``,
        ``lat``/``lon``, ``city_code`` and ``sales_rep_id`` are used when
        present.
    level : {"territory", "province", "city"}
        The region column to group by.
    period : Period, optional
        The current period; the previous one is ``period.previous``. Default:
        the 12 months up to the day of the last order.
    active_months : int
        A customer with a positive order line in the ``active_months``
        ending with the period is active.
    pop_months : int
        Length of the recent window for period-over-period growth (the
        last ``pop_months`` against the ``pop_months`` before them).
    reference : DataFrame, optional
        Population and GDP per region
        (:func:`helpers.geo.reference.load_region_reference`, or any table
        with ``region`` or ``province``, ``population_10k`` and ``gdp_100m_cny``;
        GDP may be empty: the gap model then uses population only). Used
        only when ``level == "province"``; adds the penetration and gap
        columns. ``None``: no such columns.
    universe : sequence of str, optional
        Region names that must appear even with no customers (they get
        ``customers == 0``: the blank regions). Default: for provinces with a
        reference, all provinces in the reference (31 mainland provinces);
        otherwise only regions with customers. Pass ``[]`` to list only
        regions with customers.
    min_customers : int
        Regions with fewer customers are flagged ``small_sample``; their
        rates and growth should not be trusted.
    expected_method : {"auto", "poisson", "allocation"}
        How ``expected_customers`` is computed; see
        :func:`helpers.analysis.gaps.expected_customers`.
    benchmark : Benchmark, optional
        The whole market at the same level, in a territory report (provinces)
        or a city report (cities): ``market_share`` (the region's share of the
        market's revenue) is added, and at province level the gap columns are
        the market-wide model's
        (:func:`helpers.analysis.gaps.reference_columns`). ``share`` stays
        the share of the returned rows.
    country : str, default "CN"
        The market's ISO code (``geography.country``): provinces (states) are placed at
        its gazetteer's points, so a blank state (no customers to average) still has
        a position on the maps.
    data_dates : Series, optional
        The order dates of the whole export, which say which days the data cover
        (:func:`baselines`); default: the dates of ``orders``.
    min_coverage : float
        A growth is measured only against a window whose days the data cover at
        least this share of (:meth:`helpers.period.Period.coverage`); otherwise it
        is NaN and ``baseline_ok`` is False.
    windows : DataFrame, optional
        The order lines already summed per customer (:func:`customer_windows`, or its
        DuckDB twin :func:`helpers.analysis.engine.customer_windows` of the orders'
        Parquet, for the same ``period``, ``active_months`` and ``pop_months``): used
        instead of ``orders``' lines, which may then be None (``period`` and
        ``data_dates`` are then required). The same table; money sums are added per
        customer first, so they may differ in their last binary digits.

    Returns
    -------
    DataFrame
        Sorted by ``revenue`` descending, columns:

        - ``region``, ``region_en`` (English where known, else the name),
          ``region_zh`` (a world market's countries: the Chinese name),
          ``level``, ``lat``, ``lon`` (gazetteer point for province and city;
          mean customer position for a territory or an unknown region, from the
          customers placed at least as finely as the level: NaN for a city whose
          customers are only at their state's centroid)
        - ``customers``: all customers of the region
        - ``new_customers``: signup date in the current period, or (signup
          missing) first order line in it
        - ``active_customers``: at least one positive order line in the
          last ``active_months``
        - ``orders``: positive order lines in the current period
        - ``revenue``, ``revenue_prev``: net ``amount`` (returns subtract) in
          the current and previous period
        - ``revenue_last_year``: net amount in the same window one year
          earlier (equal to ``revenue_prev`` for a 12-month period)
        - ``growth_yoy``: ``(revenue - revenue_last_year) / revenue_last_year``,
          NaN when the base is not positive or the data cover less than
          ``min_coverage`` of the year-earlier window
        - ``baseline_coverage`` and ``baseline_ok``: the share of the year-earlier
          window's days the data cover, and whether it is enough for growth (the
          same on every row; the tiers fall back to rules without growth when not)
        - ``revenue_recent``, ``revenue_recent_prev``: the last ``pop_months``
          and the ``pop_months`` before them; ``growth_pop`` their relative
          change (seasonality is not removed: read it beside ``growth_yoy``;
          NaN when the data cover less than ``min_coverage`` of the earlier window,
          whose coverage is ``recent_baseline_coverage``)
        - ``aov`` (revenue / orders), ``orders_per_customer`` and
          ``revenue_per_customer`` (per active customer); NaN when the
          denominator is 0
        - ``share``: revenue / total revenue of the returned rows
        - ``reps`` (distinct ``sales_rep_id`` of the region's customers),
          ``customers_per_rep`` and ``revenue_per_rep``; NaN without reps
        - with a reference at province level: ``population_10k``,
          ``gdp_100m_cny``, ``customers_per_million``,
          ``revenue_per_capita`` (revenue in the project currency per resident: market intensity),
          ``revenue_per_100m_gdp`` (revenue in the project currency per 100 million CNY of
          GDP), ``expected_customers`` (see
          :func:`helpers.analysis.gaps.expected_customers`),
          ``expected_method``, ``gap_ratio`` (``customers /
          expected_customers``), ``customer_gap`` (``expected - customers``)
          and ``gap_p`` (Poisson probability of so few customers or fewer if
          the region were like the others: small is a real gap)
        - ``small_sample``: ``customers < min_customers``
        - with a benchmark: ``market_share``
    """
    if level not in _LEVELS:
        raise ValueError(f"level must be one of {_LEVELS}, got {level!r}")
    if level not in customers.columns:
        raise KeyError(f"customers has no {level!r} column")
    if benchmark is not None and set(benchmark.kpis.get("level", [level])) != {level}:
        levels = ", ".join(sorted(map(str, set(benchmark.kpis["level"]))))
        raise ValueError(f"a benchmark of {levels} rows cannot judge {level} rows")
    if windows is not None and (period is None or data_dates is None):
        raise ValueError("region_kpis with windows= needs period and data_dates")
    period = period or Period.ending(None, dates=orders["order_date"])
    recent = Period.ending(period.end, pop_months)
    covered = baselines(period, pop_months=pop_months, min_coverage=min_coverage,
                        dates=orders["order_date"] if data_dates is None else data_dates)

    key = level
    cust = customers.loc[customers[key].notna()]
    # Integer positions instead of string keys: each order line's customer row in
    # ``cust`` (-1: unknown customer or region missing) and each customer's region code.
    customer_index = pd.Index(cust["customer_id"])
    if not customer_index.is_unique:
        raise ValueError("customers: customer_id must be unique (one row per customer)")
    region_code, region_names = pd.factorize(cust[key].astype(object))
    n_regions = len(region_names)
    if windows is None:
        pos_all = customer_index.get_indexer(orders["customer_id"])
        keep = pos_all >= 0
        pos = pos_all[keep]
        line_region = region_code[pos]
        amount = orders["amount"].to_numpy(dtype=float)[keep]
        positive = amount > 0
        dates = pd.to_datetime(orders["order_date"]).dt.normalize().to_numpy()[keep]

        def per_region(mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
            counted = np.bincount(line_region[mask], minlength=n_regions,
                                  weights=None if weights is None else weights[mask])
            # money stays float also when no line falls in the window (numpy's bincount
            # of nothing is int64 even with weights)
            return counted if weights is None else counted.astype(float)

        current = period.contains(dates)
        active_window = Period.ending(period.end, active_months).contains(dates)
        # New customers: signup date in the period; first order when signup is missing.
        first_order = (pd.Series(dates).groupby(pos).min()
                       .reindex(np.arange(len(cust))).to_numpy())
    else:  # the lines summed per customer: the same sums, customer by customer
        pos_all = customer_index.get_indexer(windows["customer_id"])
        keep = pos_all >= 0
        pos = pos_all[keep]
        facts = windows.loc[keep]
        first_order = np.full(len(cust), np.datetime64("NaT"), dtype="datetime64[ns]")
        first_order[pos] = facts["first_order"].to_numpy(dtype="datetime64[ns]")

        def summed(column: str) -> np.ndarray:
            # float also when no customer has a row (as per_region)
            return np.bincount(region_code[pos], minlength=n_regions,
                               weights=facts[column].to_numpy(dtype=float)).astype(float)
    signup = (pd.to_datetime(cust["signup_date"]).to_numpy(dtype="datetime64[ns]")
              if "signup_date" in cust.columns
              else np.full(len(cust), np.datetime64("NaT"), dtype="datetime64[ns]"))
    started = pd.Series(np.where(pd.isna(signup), first_order, signup))
    is_new = period.contains(started).to_numpy()
    active = np.zeros(len(cust), dtype=bool)
    if windows is None:
        active[pos[positive & active_window]] = True
    else:
        active[pos[facts["active"].to_numpy(dtype=bool)]] = True

    rep = (cust["sales_rep_id"].to_numpy(dtype=object) if "sales_rep_id" in cust.columns
           else np.full(len(cust), None, dtype=object))
    reps = (pd.DataFrame({"region": region_code, "rep": rep}).dropna().drop_duplicates()
            .groupby("region").size().reindex(np.arange(n_regions), fill_value=0).to_numpy())
    region_index = pd.Index(np.asarray(region_names, dtype=object), name="region",
                            dtype=object)
    counts = pd.DataFrame({
        "customers": np.bincount(region_code, minlength=n_regions),
        "new_customers": np.bincount(region_code, weights=is_new, minlength=n_regions),
        "active_customers": np.bincount(region_code, weights=active, minlength=n_regions),
        "reps": reps,
    }, index=region_index)
    if windows is None:
        money = pd.DataFrame({
            "orders": per_region(current & positive),
            "revenue": per_region(current, amount),
            "revenue_prev": per_region(period.previous.contains(dates), amount),
            "revenue_last_year": per_region(period.years_earlier(1).contains(dates), amount),
            "revenue_recent": per_region(recent.contains(dates), amount),
            "revenue_recent_prev": per_region(recent.previous.contains(dates), amount),
        }, index=region_index)
    else:
        money = pd.DataFrame({c: summed(c) for c in _MONEY_WINDOWS}, index=region_index)

    names = list(counts.index)
    if universe is None and level == "province" and reference is not None:
        universe = list(reference["region" if "region" in reference.columns else "province"])
    for name in universe or []:
        if name not in names:
            names.append(name)

    table = (pd.DataFrame(index=pd.Index(names, name="region", dtype=object))
             .join(counts).join(money))
    int_cols = ["customers", "new_customers", "active_customers", "orders", "reps"]
    table[int_cols] = table[int_cols].fillna(0).astype("int64")
    money_cols = ["revenue", "revenue_prev", "revenue_last_year", "revenue_recent",
                  "revenue_recent_prev"]
    table[money_cols] = table[money_cols].fillna(0.0)
    table = table.reset_index()

    total_revenue = table["revenue"].sum()
    yoy, pop = covered["yoy"], covered["recent"]
    growth_yoy = safe_ratio(table["revenue"] - table["revenue_last_year"],
                            table["revenue_last_year"])
    growth_pop = safe_ratio(table["revenue_recent"] - table["revenue_recent_prev"],
                            table["revenue_recent_prev"])
    table = table.assign(
        level=level,
        growth_yoy=growth_yoy if yoy["enough"] else np.nan,
        growth_pop=growth_pop if pop["enough"] else np.nan,
        baseline_coverage=yoy["coverage"],
        baseline_ok=yoy["enough"],
        recent_baseline_coverage=pop["coverage"],
        aov=safe_ratio(table["revenue"], table["orders"]),
        orders_per_customer=safe_ratio(table["orders"], table["active_customers"]),
        revenue_per_customer=safe_ratio(table["revenue"], table["active_customers"]),
        share=(table["revenue"] / total_revenue) if total_revenue > 0 else np.nan,
        customers_per_rep=safe_ratio(table["customers"], table["reps"]),
        revenue_per_rep=safe_ratio(table["revenue"], table["reps"]),
    )
    table = table.merge(_region_points(level, table["region"], cust, key, country),
                        on="region", how="left")

    if level == "province" and country == "WORLD":  # countries: their Chinese names too
        zh = geo.provinces(country).set_index("province")["province_zh"]
        table = table.assign(region_zh=table["region"].map(zh))
    columns = ["region", "region_en", *(["region_zh"] if "region_zh" in table else []),
               "level", "lat", "lon", "customers", "new_customers",
               "active_customers", "orders", "revenue", "revenue_prev", "growth_yoy", "aov",
               "orders_per_customer", "revenue_per_customer", "share",
               "revenue_last_year", "revenue_recent", "revenue_recent_prev", "growth_pop",
               "reps", "customers_per_rep", "revenue_per_rep", "baseline_coverage",
               "baseline_ok", "recent_baseline_coverage"]
    if level == "province" and reference is not None:
        table = reference_columns(table, reference, method=expected_method,
                                  benchmark=benchmark)
        columns += REFERENCE_COLUMNS
    table = table.assign(small_sample=table["customers"] < min_customers)
    columns.append("small_sample")
    if benchmark is not None:
        table = table.assign(market_share=benchmark.share(table["region"]))
        columns.append("market_share")
    return (table[columns]
            .sort_values(["revenue", "customers", "region"], ascending=[False, False, True],
                         kind="mergesort")
            .reset_index(drop=True))


#: The per-customer sums :func:`region_kpis` adds up per region (``windows=``).
_MONEY_WINDOWS = ("orders", "revenue", "revenue_prev", "revenue_last_year", "revenue_recent",
                  "revenue_recent_prev")
#: Columns of :func:`customer_windows` after ``customer_id``.
WINDOW_COLUMNS = ["first_order", "active", *_MONEY_WINDOWS]


def windows_of(period: Period, *, active_months: int, pop_months: int) -> dict[str, Period]:
    """The windows :func:`region_kpis` sums the lines over: ``current`` (the period),
    ``active`` (the ``active_months`` ending with it), and one per money column."""
    recent = Period.ending(period.end, pop_months)
    return {"current": period, "active": Period.ending(period.end, active_months),
            "revenue": period, "revenue_prev": period.previous,
            "revenue_last_year": period.years_earlier(1), "revenue_recent": recent,
            "revenue_recent_prev": recent.previous}


def customer_windows(orders: pd.DataFrame, *, period: Period, active_months: int = 12,
                     pop_months: int = 3) -> pd.DataFrame:
    """The order lines of each customer summed the way :func:`region_kpis` uses them: one
    row per ``customer_id`` (sorted), ``first_order`` (the first line's day),
    ``active`` (a positive line in the ``active_months`` ending with the period),
    ``orders`` (positive lines in the period) and the net amount in each window
    (``revenue``: the period, ``revenue_prev``, ``revenue_last_year``,
    ``revenue_recent``, ``revenue_recent_prev``: :func:`windows_of`).

    What ``region_kpis(..., windows=)`` takes instead of the lines: one row per customer,
    not per line. Its DuckDB twin is :func:`customer_windows_sql` (the lines of a
    connection's view; :func:`helpers.analysis.engine.customer_windows`: of a Parquet file).
    """
    windows = windows_of(period, active_months=active_months, pop_months=pop_months)
    lines = orders.loc[orders["customer_id"].notna()]
    day = pd.to_datetime(lines["order_date"]).dt.normalize()
    amount = lines["amount"].astype(float)
    positive = amount > 0
    frame = pd.DataFrame({"customer_id": lines["customer_id"], "first_order": day,
                          "orders": (positive & windows["current"].contains(day)).astype("int64"),
                          "active": positive & windows["active"].contains(day)})
    for name in _MONEY_WINDOWS[1:]:
        frame[name] = amount.where(windows[name].contains(day), 0.0)
    out = frame.groupby("customer_id", sort=True).agg(
        first_order=("first_order", "min"), active=("active", "any"),
        **{c: (c, "sum") for c in _MONEY_WINDOWS})
    return out.reset_index()[["customer_id", *WINDOW_COLUMNS]]


def _inside(period: Period) -> str:
    """SQL: the line's ``day`` (a DATE) is in ``period``
    (:func:`helpers.analysis.engine.in_period`)."""
    from helpers.analysis.engine import in_period

    return in_period(period, "day")


def _days_of(source: str, columns: str = "customer_id, amount") -> str:
    """SQL: the lines of ``source`` (a view of the connection, or a table expression) with
    their ``day`` (a DATE) and ``amount`` as a double."""
    columns = columns.replace("amount", "CAST(amount AS DOUBLE) AS amount")
    return f"SELECT {columns}, CAST(order_date AS DATE) AS day FROM {source}"


def customer_windows_sql(con, *, period: Period, active_months: int = 12, pop_months: int = 3,
                         source: str = "lines") -> pd.DataFrame:
    """The DuckDB twin of :func:`customer_windows`: the same table from the order lines of
    ``con``'s view ``source`` (``lines``: the scope's, :func:`helpers.analysis.engine.
    open_lines`; ``market_lines``: the market's; or a table expression such as
    ``read_parquet('...')``), summed in SQL: one row per customer back."""
    from helpers.analysis.engine import fetch

    windows = windows_of(period, active_months=active_months, pop_months=pop_months)
    sums = ", ".join(f"fsum(amount) FILTER (WHERE {_inside(p)}) AS {name}"
                     for name, p in windows.items() if name.startswith("revenue"))
    sql = f"""SELECT customer_id, min(day) AS first_order,
            count(*) FILTER (WHERE amount > 0 AND {_inside(windows['current'])}) AS orders,
            coalesce(bool_or(amount > 0 AND {_inside(windows['active'])}), false) AS active,
            {sums}
        FROM ({_days_of(source)}) WHERE customer_id IS NOT NULL
        GROUP BY customer_id ORDER BY customer_id"""
    out = fetch(con, sql)
    money = [c for c in WINDOW_COLUMNS if c.startswith("revenue")]
    out = out.assign(first_order=out["first_order"].astype("datetime64[ns]"),
                     orders=out["orders"].astype("int64"), active=out["active"].astype(bool),
                     **{c: out[c].astype(float).fillna(0.0) for c in money})
    return out[["customer_id", *WINDOW_COLUMNS]]


#: Columns of :func:`line_counts`.
LINE_COUNT_COLUMNS = ["lines", "in_period", "in_baseline"]


def line_counts(orders: pd.DataFrame, *, period: Period) -> pd.DataFrame:
    """How many order lines there are: one row, ``lines`` (all of ``orders``),
    ``in_period`` (dated in ``period``) and ``in_baseline`` (in the period before it,
    ``period.previous``), as int64. Returns and lines without a customer count too.
    Its DuckDB twin is :func:`line_counts_sql`."""
    dates = orders["order_date"]
    return pd.DataFrame({"lines": [len(orders)],
                         "in_period": [int(period.contains(dates).sum())],
                         "in_baseline": [int(period.previous.contains(dates).sum())]},
                        dtype="int64")


def line_counts_sql(con, *, period: Period, source: str = "lines") -> pd.DataFrame:
    """The DuckDB twin of :func:`line_counts`: the lines of ``con``'s view ``source``
    (as :func:`customer_windows_sql`) counted in SQL."""
    from helpers.analysis.engine import fetch

    out = fetch(con, f"""SELECT count(*) AS lines,
        count(*) FILTER (WHERE {_inside(period)}) AS in_period,
        count(*) FILTER (WHERE {_inside(period.previous)}) AS in_baseline
        FROM ({_days_of(source, "1 AS one")})""")
    return out.astype("int64")[LINE_COUNT_COLUMNS]


def period_revenue(orders: pd.DataFrame, *, period: Period, buying: bool = False) -> pd.Series:
    """Net revenue per customer in ``period``: the amounts of each customer's lines in it
    summed (returns net), a Series named ``amount`` indexed by ``customer_id`` (sorted;
    lines without a customer left out). ``buying``: only the customers buying in the
    period (a line with a positive amount in it), those a headline's
    ``customers_buying`` counts. Its DuckDB twin is :func:`period_revenue_sql`."""
    inside = orders.loc[period.contains(orders["order_date"])]
    if buying:
        bought = inside.loc[inside["amount"] > 0, "customer_id"].unique()
        inside = inside.loc[inside["customer_id"].isin(bought)]
    return inside.groupby("customer_id")["amount"].sum()


def period_revenue_sql(con, *, period: Period, buying: bool = False,
                       source: str = "lines") -> pd.Series:
    """The DuckDB twin of :func:`period_revenue`: the lines of ``con``'s view ``source``
    (as :func:`customer_windows_sql`) summed per customer in SQL."""
    from helpers.analysis.engine import fetch

    having = "HAVING bool_or(amount > 0)" if buying else ""
    out = fetch(con, f"""SELECT customer_id, fsum(amount) AS amount
        FROM ({_days_of(source)}) WHERE customer_id IS NOT NULL AND {_inside(period)}
        GROUP BY customer_id {having} ORDER BY customer_id""")
    return out.set_index("customer_id")["amount"].astype(float)


def period_amounts(orders: pd.DataFrame, *, period: Period) -> pd.DataFrame:
    """The amount of every order line in ``period``, smallest first (column ``amount``,
    index 0..n-1): what the order values histogram draws
    (:func:`helpers.viz.charts.plot_order_values`). One row per line of the period,
    not per customer. Its DuckDB twin is :func:`period_amounts_sql`."""
    inside = orders.loc[period.contains(orders["order_date"]), ["amount"]]
    return (inside.astype({"amount": float}).sort_values("amount", kind="mergesort")
            .reset_index(drop=True))


def period_amounts_sql(con, *, period: Period, source: str = "lines") -> pd.DataFrame:
    """The DuckDB twin of :func:`period_amounts`: the period's lines of ``con``'s view
    ``source`` (as :func:`customer_windows_sql`) chosen and sorted in SQL; only their
    amounts come back (a row per line of the period)."""
    from helpers.analysis.engine import fetch

    out = fetch(con, f"""SELECT amount FROM ({_days_of(source, "amount")})
        WHERE {_inside(period)} ORDER BY amount NULLS LAST""")
    return out.astype({"amount": float})


def baselines(period: Period, *, dates: pd.Series, pop_months: int = 3,
              min_coverage: float = MIN_COVERAGE) -> dict:
    """Whether the data cover the windows growth is measured against.

    Parameters
    ----------
    period : Period
        The current period.
    dates : Series
        The order dates of the whole export (the days the data cover run from the first
        to the last of them).
    pop_months : int
        Length of the recent window (:func:`region_kpis`).
    min_coverage : float
        The share of a window's days the data must cover.

    Returns
    -------
    dict
        ``yoy`` (the same window a year earlier: ``growth_yoy``) and ``recent`` (the
        ``pop_months`` before the last ``pop_months``: ``growth_pop``), each
        :meth:`helpers.period.Period.coverage`; ``pop_months``; ``reason_key`` ``"thin_baseline"`` when
        the year-earlier window is not covered enough. Keys and numbers only.
    """
    recent = Period.ending(period.end, pop_months)
    out = {"yoy": period.years_earlier(1).coverage(dates, min_coverage=min_coverage),
           "recent": recent.previous.coverage(dates, min_coverage=min_coverage),
           "pop_months": int(pop_months)}
    if not out["yoy"]["enough"]:
        out["reason_key"] = "thin_baseline"
    return out


def monthly_revenue(orders: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Net revenue and positive order lines per calendar month.

    Months without orders inside the covered span appear with 0 (for each
    group when ``by`` is given), so trend lines do not skip gaps.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders (``order_date``, ``amount``; ``by`` when given).
    by : str, optional
        A column to split by (``territory``, ``province``, ``product_category``).
        Rows where it is missing are dropped.

    Returns
    -------
    DataFrame
        ``month`` (Timestamp of the month start), ``by`` when given,
        ``revenue`` (net amount) and ``orders`` (positive order lines),
        sorted by group then month.

    Its DuckDB twin, on order lines that stay in DuckDB: :func:`monthly_revenue_sql`.
    """
    cols = ["order_date", "amount"] + ([by] if by else [])
    frame = orders.loc[orders["order_date"].notna(), cols]
    if by:
        frame = frame.loc[frame[by].notna()]
    frame = frame.assign(
        month=pd.to_datetime(frame["order_date"]).dt.to_period("M").dt.to_timestamp(),
        amount=frame["amount"].astype(float),
        positive=frame["amount"].astype(float) > 0,
    )
    keys = [by, "month"] if by else ["month"]
    out_cols = keys + ["revenue", "orders"]
    if frame.empty:
        return pd.DataFrame(columns=out_cols)
    grouped = frame.groupby(keys).agg(revenue=("amount", "sum"), orders=("positive", "sum"))
    return _every_month(grouped, by)


def _every_month(grouped: pd.DataFrame, by: str | None) -> pd.DataFrame:
    """:func:`monthly_revenue`'s table from its sums (``revenue``, ``orders``) indexed by
    ``by`` (when given) and ``month``: every month from the first to the last, for every
    group."""
    keys = [by, "month"] if by else ["month"]
    month = grouped.index.get_level_values("month")
    months = pd.date_range(month.min(), month.max(), freq="MS", name="month")
    if by:
        groups = pd.Index(sorted(grouped.index.get_level_values(by).unique()), name=by)
        full = pd.MultiIndex.from_product([groups, months], names=keys)
    else:
        full = months
    grouped = grouped.reindex(full, fill_value=0)
    return (grouped.reset_index()
            .astype({"revenue": float, "orders": "int64"})
            .loc[:, keys + ["revenue", "orders"]])


def monthly_revenue_sql(con, by: str | None = None, *,
                        customers: pd.DataFrame | None = None) -> pd.DataFrame:
    """The DuckDB twin of :func:`monthly_revenue`: the same table from the order lines of
    the view ``lines`` of ``con`` (:func:`helpers.analysis.engine.open_lines`), summed per
    month (and group) in DuckDB.

    ``by`` is the lines' own column, or, with ``customers`` (``customer_id`` and ``by``,
    one row per customer), their customer's: lines of customers not in ``customers``
    have none (the lines of :func:`helpers.steps.visuals.orders_by_region`).
    """
    from helpers.analysis.engine import fetch

    out_cols = ([by] if by else []) + ["month", "revenue", "orders"]
    month = "CAST(date_trunc('month', l.order_date) AS TIMESTAMP)"
    group = ""
    source = "lines l"
    if by and customers is not None:
        people = customers[["customer_id", by]].dropna()
        if not people["customer_id"].is_unique:
            raise ValueError("customers: a customer_id appears more than once")
        con.register("monthly_groups", pd.DataFrame(
            {"customer_id": people["customer_id"].astype("string"),
             "grp": people[by].astype("string")}))
        source, group = "lines l JOIN monthly_groups g USING (customer_id)", "g.grp"
    elif by:
        group = 'l."' + by.replace('"', '""') + '"'
    select = f"{group} AS grp, " if by else ""
    try:
        sums = fetch(con, f"""SELECT {select}{month} AS month,
                coalesce(fsum(CAST(l.amount AS DOUBLE)), 0) AS revenue,
                count(*) FILTER (WHERE l.amount > 0) AS orders
            FROM {source} WHERE l.order_date IS NOT NULL
            {f"AND {group} IS NOT NULL" if by else ""} GROUP BY ALL""")
    finally:
        if by and customers is not None:
            con.unregister("monthly_groups")
    if sums.empty:
        return pd.DataFrame(columns=out_cols)
    sums = sums.assign(month=pd.to_datetime(sums["month"]).dt.to_period("M").dt.to_timestamp())
    if by:
        sums = sums.rename(columns={"grp": by})
    keys = [by, "month"] if by else ["month"]
    # sorted as groupby sorts (when every month of every group has lines, the table keeps
    # this index, as monthly_revenue's keeps its groupby's)
    return _every_month(sums.sort_values(keys, ignore_index=True).set_index(keys), by)
