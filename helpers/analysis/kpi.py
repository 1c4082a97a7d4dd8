"""Region KPIs, analysis periods and revenue concentration (step 4, insight).

Every function takes DataFrames and returns new ones; inputs are never modified.
The canonical ``customers`` and ``orders`` tables are described in
``docs/architecture.md``.

Periods
-------
An analysis period is the half-open interval ``(start, end]`` on calendar days:
an order dated on ``end`` belongs to the period, one dated on ``start`` belongs
to the previous period. Order timestamps are compared by their day.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import geo
from helpers.config import PROJECT_ROOT

__all__ = [
    "REFERENCE_FILE",
    "TERRITORY_EN",
    "load_province_reference",
    "period_windows",
    "region_kpis",
    "expected_customers",
    "market_gaps",
    "marketing_roi",
    "concentration",
    "lorenz",
    "monthly_revenue",
]

REFERENCE_FILE = (
    PROJECT_ROOT / "data" / "reference" / "cn_province_stats.csv"
)

#: English names of the default sales territories (others keep their own name).
TERRITORY_EN = {
    "华东": "East China",
    "华南": "South China",
    "华北": "North China",
    "华中": "Central China",
    "西南": "Southwest China",
    "西北": "Northwest China",
    "东北": "Northeast China",
}

_LEVELS = ("territory", "province", "city")


# --------------------------------------------------------------------------- reference


@lru_cache(maxsize=4)
def _read_reference(path: str) -> pd.DataFrame:
    return pd.read_csv(
        path,
        dtype={"province_code": str, "province": str},
        encoding="utf-8",
    )


def load_province_reference(path: str | Path | None = None) -> pd.DataFrame:
    """Population and GDP per mainland province.

    Parameters
    ----------
    path : str or Path, optional
        A CSV with ``province_code``, ``province``, ``population_10k`` and
        ``gdp_100m_cny``. Default: the bundled
        ``data/reference/cn_province_stats.csv`` (2020 census population in
        10k persons, 2020 GDP in 100 million CNY; see its README).

    Returns
    -------
    DataFrame
        One row per province with ``province_code`` (string), ``province``
        (official full name), ``population_10k`` and ``gdp_100m_cny`` (float).
    """
    file = Path(path) if path is not None else REFERENCE_FILE
    table = _read_reference(str(file)).copy()
    missing = {"province", "population_10k", "gdp_100m_cny"} - set(table.columns)
    if missing:
        raise ValueError(f"{file}: missing columns {sorted(missing)}")
    return table.assign(
        population_10k=table["population_10k"].astype(float),
        gdp_100m_cny=table["gdp_100m_cny"].astype(float),
    )


# --------------------------------------------------------------------------- periods


def period_windows(
    orders: pd.DataFrame, period_end: object = None, months: int = 12
) -> dict[str, pd.Timestamp]:
    """The current analysis period and the previous period of equal length.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders; only ``order_date`` is read (for the default end).
    period_end : date-like, optional
        Last day of the current period. Default: the day of the last order.
        An empty string counts as missing (notebook parameters use ``""``).
    months : int
        Length of each period in calendar months.

    Returns
    -------
    dict
        ``start``, ``end``, ``prev_start``, ``prev_end`` (normalised
        Timestamps) and ``months``. The current period is ``(start, end]``
        and the previous one ``(prev_start, prev_end]`` with
        ``prev_end == start``: both include their end day and exclude their
        start day, so consecutive periods never share a day.

    Examples
    --------
    ``period_end="2024-12-31", months=12`` gives the current period
    2024-01-01 .. 2024-12-31 (start 2023-12-31 excluded) and the previous
    period 2023-01-01 .. 2023-12-31.
    """
    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}")
    if period_end is None or (isinstance(period_end, str) and not period_end.strip()):
        dates = pd.to_datetime(orders["order_date"]).dropna()
        if dates.empty:
            raise ValueError("no order dates to derive period_end from; pass period_end")
        end = dates.max()
    else:
        end = pd.Timestamp(period_end)
    end = end.normalize()
    offset = pd.DateOffset(months=months)
    start = end - offset
    prev_start = start - offset
    return {"start": start, "end": end, "prev_start": prev_start, "prev_end": start,
            "months": months}


def _in_window(dates: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Boolean mask of ``start < day <= end`` (NaT is outside)."""
    days = pd.to_datetime(dates).dt.normalize()
    return ((days > start) & (days <= end)).fillna(False).astype(bool)


# --------------------------------------------------------------------------- region KPIs


def _region_points(level: str, names: pd.Series, customers: pd.DataFrame,
                   key: str) -> pd.DataFrame:
    """``region``, ``region_en``, ``lat``, ``lon`` for each region name."""
    frame = pd.DataFrame({"region": pd.Series(names, dtype=object).unique()})
    if level == "province":
        gaz = geo.provinces()[["province", "province_en", "lat", "lon"]]
        gaz = gaz.rename(columns={"province": "region", "province_en": "region_en"})
        frame = frame.merge(gaz, on="region", how="left")
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
                             region_en=frame["region"].map(TERRITORY_EN))
    # Regions the gazetteer does not know (a territory, a Brazilian or US state, a city
    # outside China): the mean position of their customers.
    missing = frame["lat"].isna() | frame["lon"].isna()
    if missing.any() and {"lat", "lon"} <= set(customers.columns):
        mean = (customers[[key, "lat", "lon"]].astype({"lat": float, "lon": float})
                .groupby(key, dropna=True)[["lat", "lon"]].mean())
        frame.loc[missing, "lat"] = frame.loc[missing, "region"].map(mean["lat"])
        frame.loc[missing, "lon"] = frame.loc[missing, "region"].map(mean["lon"])
    region_en = frame["region_en"].astype(object)
    frame = frame.assign(region_en=region_en.where(region_en.notna(), frame["region"]))
    return frame[["region", "region_en", "lat", "lon"]].astype({"lat": float, "lon": float})


def _safe_ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """``numerator / denominator`` with NaN where the denominator is not positive."""
    num = numerator.astype(float)
    den = denominator.astype(float)
    return (num / den.where(den > 0)).astype(float)


def _expected_by_allocation(customers: pd.Series, population: pd.Series,
                            gdp: pd.Series) -> pd.Series:
    """Allocate the total customer count by a population-and-GDP weight.

    Weight of a region = ``sqrt(population * gdp)`` (the geometric mean of the
    two, so a region with half the people and twice the output weighs the
    same). ``expected = total customers * weight / sum of weights`` over the
    regions that have both reference values; the others get NaN.
    """
    weight = np.sqrt(population.astype(float) * gdp.astype(float))
    usable = weight.notna() & (weight > 0)
    total = customers[usable].sum()
    share = weight.where(usable) / weight[usable].sum()
    return (share * total).astype(float)


#: The Poisson model needs at least this many regions with reference values ...
MODEL_MIN_REGIONS = 8
#: ... and at least this many customers among them; otherwise the allocation is used.
MODEL_MIN_CUSTOMERS = 30


def _poisson_glm(x: np.ndarray, y: np.ndarray, *, max_iter: int = 100,
                 tol: float = 1e-10) -> tuple[np.ndarray | None, float, str]:
    """Maximum likelihood Poisson regression with log link (Newton / IRLS).

    Returns the coefficients, the share of deviance explained (D²) and an empty
    reason; or ``None`` and the reason when it does not converge.
    """
    beta = np.zeros(x.shape[1])
    beta[0] = np.log(max(y.mean(), 1e-9))
    for _ in range(max_iter):
        mu = np.exp(x @ beta)
        gradient = x.T @ (y - mu)
        hessian = x.T @ (x * mu[:, None])
        try:
            step = np.linalg.solve(hessian, gradient)
        except np.linalg.LinAlgError:
            return None, np.nan, "the Poisson fit is singular (population and GDP collinear)"
        # Step halving: never accept a step that lowers the log-likelihood.
        loglik = np.sum(y * (x @ beta) - mu)
        for _ in range(40):
            trial = beta + step
            eta = x @ trial
            if np.all(np.isfinite(eta)) and np.sum(y * eta - np.exp(eta)) >= loglik - 1e-12:
                break
            step = step / 2
        beta = beta + step
        if not np.all(np.isfinite(beta)):
            return None, np.nan, "the Poisson fit diverged"
        if np.max(np.abs(step)) < tol:
            mu = np.exp(x @ beta)
            with np.errstate(divide="ignore", invalid="ignore"):
                term = np.where(y > 0, y * np.log(y / mu), 0.0)
                null_term = np.where(y > 0, y * np.log(y / y.mean()), 0.0)
            deviance = 2 * np.sum(term - (y - mu))
            null = 2 * np.sum(null_term)
            return beta, float(1 - deviance / null) if null > 0 else np.nan, ""
    return None, np.nan, f"the Poisson fit did not converge in {max_iter} iterations"


def expected_customers(customers: pd.Series, population: pd.Series, gdp: pd.Series,
                       *, method: str = "auto") -> tuple[pd.Series, dict]:
    """Customers a region would have if it were like the others, from population and GDP.

    Two methods:

    - ``"poisson"``: a log-linear Poisson regression (generalised linear
      model with log link, maximum likelihood by Newton's method / IRLS, no
      penalty) of the customer count on
      ``log(population)`` and ``log(GDP)`` over the regions with both
      reference values, blank regions included. The fitted mean is the
      expected count. With an intercept the fitted counts add up to the
      actual total (the likelihood equations), so the model only moves
      customers between regions. It assumes regions differ only by
      population, GDP and Poisson noise; everything else (history, channel
      reach) shows up as a gap.
    - ``"allocation"``: the total shared by ``sqrt(population * GDP)``
      (the fallback when there are fewer than :data:`MODEL_MIN_REGIONS`
      regions or :data:`MODEL_MIN_CUSTOMERS` customers, or the fit fails).

    Parameters
    ----------
    customers, population, gdp : Series
        Aligned per region; population and GDP in any fixed units.
    method : {"auto", "poisson", "allocation"}
        ``"auto"``: the model when there are enough regions and customers.

    Returns
    -------
    expected : Series
        Expected customers (NaN where a reference value is missing).
    info : dict
        ``method`` used, ``regions`` and ``customers`` the fit saw, and for
        the model the coefficients (``intercept``, ``log_population``,
        ``log_gdp``), ``deviance_explained`` (D², like R² for counts) and
        ``reason`` when it fell back.
    """
    if method not in ("auto", "poisson", "allocation"):
        raise ValueError(f"method must be auto, poisson or allocation, got {method!r}")
    pop = population.astype(float)
    out = gdp.astype(float)
    y = customers.astype(float)
    usable = pop.notna() & out.notna() & (pop > 0) & (out > 0)
    info: dict = {"regions": int(usable.sum()), "customers": int(y[usable].sum())}
    reason = ""
    if method == "auto":
        if info["regions"] < MODEL_MIN_REGIONS:
            reason = f"only {info['regions']} regions with reference values"
        elif info["customers"] < MODEL_MIN_CUSTOMERS:
            reason = f"only {info['customers']} customers"
        method = "allocation" if reason else "poisson"
    if method == "poisson":
        features = np.column_stack([np.ones(int(usable.sum())), np.log(pop[usable]),
                                    np.log(out[usable])])
        beta, deviance_explained, reason = _poisson_glm(features, y[usable].to_numpy())
        if beta is not None:
            expected = pd.Series(np.nan, index=customers.index, dtype=float)
            expected[usable] = np.exp(features @ beta)
            info.update(method="poisson", intercept=float(beta[0]),
                        log_population=float(beta[1]), log_gdp=float(beta[2]),
                        deviance_explained=deviance_explained)
            return expected, info
        reason = reason or "fit gave non-finite values"
    info.update(method="allocation")
    if reason:
        info["reason"] = reason
    return _expected_by_allocation(customers, population, gdp), info


def region_kpis(
    customers: pd.DataFrame,
    orders: pd.DataFrame,
    *,
    level: str = "province",
    period_end: object = None,
    months: int = 12,
    active_months: int = 12,
    pop_months: int = 3,
    reference: pd.DataFrame | None = None,
    universe: Sequence[str] | None = None,
    min_customers: int = 5,
    expected_method: str = "auto",
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
    period_end : date-like, optional
        Last day of the current period (default: last order day); see
        :func:`period_windows`.
    months : int
        Length of the current and the previous period.
    active_months : int
        A customer with a positive order line in the ``active_months``
        ending at ``period_end`` is active.
    pop_months : int
        Length of the recent window for period-over-period growth (the
        last ``pop_months`` against the ``pop_months`` before them).
    reference : DataFrame, optional
        Population and GDP per region (:func:`load_province_reference`, or
        any table with ``province``, ``population_10k`` and
        ``gdp_100m_cny``). Used only when ``level == "province"``; adds the
        penetration and gap columns. ``None``: no such columns.
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
        How ``expected_customers`` is computed; see :func:`expected_customers`.

    Returns
    -------
    DataFrame
        Sorted by ``revenue`` descending, columns:

        - ``region``, ``region_en`` (English where known, else the name),
          ``level``, ``lat``, ``lon`` (gazetteer point for province and city;
          mean customer position for a territory or an unknown region)
        - ``customers``: all customers of the region
        - ``new_customers``: signup date in the current period, or (signup
          missing) first order line in it
        - ``active_customers``: at least one positive order line in the
          last ``active_months``
        - ``orders``: positive order lines in the current period
        - ``revenue``, ``revenue_prev``: net ``amount`` (returns subtract) in
          the current and previous period
        - ``revenue_last_year``: net amount in the same window one year
          earlier (equal to ``revenue_prev`` when ``months == 12``)
        - ``growth_yoy``: ``(revenue - revenue_last_year) / revenue_last_year``,
          NaN when the base is not positive
        - ``revenue_recent``, ``revenue_recent_prev``: the last ``pop_months``
          and the ``pop_months`` before them; ``growth_pop`` their relative
          change (seasonality is not removed: read it beside ``growth_yoy``)
        - ``aov`` (revenue / orders), ``orders_per_customer`` and
          ``revenue_per_customer`` (per active customer); NaN when the
          denominator is 0
        - ``share``: revenue / total revenue of the returned rows
        - ``reps`` (distinct ``sales_rep_id`` of the region's customers),
          ``customers_per_rep`` and ``revenue_per_rep``; NaN without reps
        - with a reference at province level: ``population_10k``,
          ``gdp_100m_cny``, ``customers_per_million``,
          ``revenue_per_capita`` (CNY per resident: market intensity),
          ``revenue_per_100m_gdp`` (revenue in CNY per 100 million CNY of
          GDP), ``expected_customers`` (see :func:`expected_customers`),
          ``expected_method``, ``gap_ratio`` (``customers /
          expected_customers``), ``customer_gap`` (``expected - customers``)
          and ``gap_p`` (Poisson probability of so few customers or fewer if
          the region were like the others: small is a real gap)
        - ``small_sample``: ``customers < min_customers``
    """
    if level not in _LEVELS:
        raise ValueError(f"level must be one of {_LEVELS}, got {level!r}")
    if level not in customers.columns:
        raise KeyError(f"customers has no {level!r} column")
    if pop_months < 1:
        raise ValueError(f"pop_months must be at least 1, got {pop_months}")
    windows = period_windows(orders, period_end, months)
    start, end, prev_start = windows["start"], windows["end"], windows["prev_start"]
    active_start = end - pd.DateOffset(months=active_months)
    year = pd.DateOffset(years=1)
    recent_start = end - pd.DateOffset(months=pop_months)
    recent_prev_start = recent_start - pd.DateOffset(months=pop_months)

    key = level
    cust = customers.loc[customers[key].notna()]
    # Integer positions instead of string keys: each order line's customer row in
    # ``cust`` (-1: unknown customer or region missing) and each customer's region code.
    customer_index = pd.Index(cust["customer_id"])
    if not customer_index.is_unique:
        raise ValueError("customers: customer_id must be unique (one row per customer)")
    pos_all = customer_index.get_indexer(orders["customer_id"])
    keep = pos_all >= 0
    pos = pos_all[keep]
    region_code, region_names = pd.factorize(cust[key].astype(object))
    n_regions = len(region_names)
    line_region = region_code[pos]
    amount = orders["amount"].to_numpy(dtype=float)[keep]
    positive = amount > 0
    dates = pd.to_datetime(orders["order_date"]).dt.normalize().to_numpy()[keep]

    def window(lo: pd.Timestamp, hi: pd.Timestamp) -> np.ndarray:
        """Lines with ``lo < day <= hi`` (NaT is outside)."""
        return (dates > np.datetime64(lo)) & (dates <= np.datetime64(hi))

    def per_region(mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(line_region[mask], minlength=n_regions,
                           weights=None if weights is None else weights[mask])

    current = window(start, end)
    active_window = window(active_start, end)

    # New customers: signup date in the period; first order when signup is missing.
    first_order = (pd.Series(dates).groupby(pos).min()
                   .reindex(np.arange(len(cust))).to_numpy())
    signup = (pd.to_datetime(cust["signup_date"]).to_numpy(dtype="datetime64[ns]")
              if "signup_date" in cust.columns
              else np.full(len(cust), np.datetime64("NaT"), dtype="datetime64[ns]"))
    started = pd.Series(np.where(pd.isna(signup), first_order, signup))
    is_new = _in_window(started, start, end).to_numpy()
    active = np.zeros(len(cust), dtype=bool)
    active[pos[positive & active_window]] = True

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
    money = pd.DataFrame({
        "orders": per_region(current & positive),
        "revenue": per_region(current, amount),
        "revenue_prev": per_region(window(prev_start, start), amount),
        "revenue_last_year": per_region(window(start - year, end - year), amount),
        "revenue_recent": per_region(window(recent_start, end), amount),
        "revenue_recent_prev": per_region(window(recent_prev_start, recent_start), amount),
    }, index=region_index)

    names = list(counts.index)
    if universe is None and level == "province" and reference is not None:
        universe = list(reference["province"])
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
    table = table.assign(
        level=level,
        growth_yoy=_safe_ratio(table["revenue"] - table["revenue_last_year"],
                               table["revenue_last_year"]),
        growth_pop=_safe_ratio(table["revenue_recent"] - table["revenue_recent_prev"],
                               table["revenue_recent_prev"]),
        aov=_safe_ratio(table["revenue"], table["orders"]),
        orders_per_customer=_safe_ratio(table["orders"], table["active_customers"]),
        revenue_per_customer=_safe_ratio(table["revenue"], table["active_customers"]),
        share=(table["revenue"] / total_revenue) if total_revenue > 0 else np.nan,
        customers_per_rep=_safe_ratio(table["customers"], table["reps"]),
        revenue_per_rep=_safe_ratio(table["revenue"], table["reps"]),
    )
    table = table.merge(_region_points(level, table["region"], cust, key), on="region",
                        how="left")

    columns = ["region", "region_en", "level", "lat", "lon", "customers", "new_customers",
               "active_customers", "orders", "revenue", "revenue_prev", "growth_yoy", "aov",
               "orders_per_customer", "revenue_per_customer", "share",
               "revenue_last_year", "revenue_recent", "revenue_recent_prev", "growth_pop",
               "reps", "customers_per_rep", "revenue_per_rep"]
    if level == "province" and reference is not None:
        ref = reference[["province", "population_10k", "gdp_100m_cny"]].rename(
            columns={"province": "region"})
        table = table.merge(ref, on="region", how="left")
        expected, info = expected_customers(table["customers"], table["population_10k"],
                                            table["gdp_100m_cny"], method=expected_method)
        from scipy.stats import poisson

        gap_p = pd.Series(poisson.cdf(table["customers"], expected.fillna(0)),
                          index=table.index).where(expected.notna())
        table = table.assign(
            customers_per_million=_safe_ratio(table["customers"], table["population_10k"] / 100),
            revenue_per_capita=_safe_ratio(table["revenue"], table["population_10k"] * 1e4),
            revenue_per_100m_gdp=_safe_ratio(table["revenue"], table["gdp_100m_cny"]),
            expected_customers=expected,
            expected_method=info["method"],
            gap_ratio=_safe_ratio(table["customers"], expected),
            customer_gap=expected - table["customers"],
            gap_p=gap_p,
        )
        columns += ["population_10k", "gdp_100m_cny", "customers_per_million",
                    "revenue_per_capita", "revenue_per_100m_gdp", "expected_customers", "expected_method",
                    "gap_ratio", "customer_gap", "gap_p"]
    table = table.assign(small_sample=table["customers"] < min_customers)
    columns.append("small_sample")
    return (table[columns]
            .sort_values(["revenue", "customers", "region"], ascending=[False, False, True],
                         kind="mergesort")
            .reset_index(drop=True))


# --------------------------------------------------------------------------- gaps and ROI


def market_gaps(kpis: pd.DataFrame, *, max_ratio: float = 1.0) -> pd.DataFrame:
    """Blank and under-penetrated regions, ranked by the size of the gap.

    Parameters
    ----------
    kpis : DataFrame
        :func:`region_kpis` output with a reference (``expected_customers``,
        ``gap_ratio``, ``customer_gap``, ``gap_p``).
    max_ratio : float
        Regions with ``gap_ratio`` below this are listed (blank regions have 0).

    Returns
    -------
    DataFrame
        The listed rows of ``kpis`` sorted by ``customer_gap`` (missing
        customers) descending, with ``gap_rank`` (1 = largest gap) and
        ``gap_kind`` (``blank``: no customers; ``under-penetrated``: fewer
        than expected). Empty when ``kpis`` has no gap columns.
    """
    if "customer_gap" not in kpis.columns:
        return kpis.iloc[0:0].assign(gap_rank=pd.Series(dtype="int64"),
                                     gap_kind=pd.Series(dtype=object))
    rows = kpis.loc[kpis["gap_ratio"].lt(max_ratio) & kpis["customer_gap"].gt(0)]
    rows = rows.sort_values(["customer_gap", "region"], ascending=[False, True],
                            kind="mergesort").reset_index(drop=True)
    return rows.assign(
        gap_rank=np.arange(1, len(rows) + 1, dtype="int64"),
        gap_kind=np.where(rows["customers"].eq(0), "blank", "under-penetrated"),
    )


def _quarter_bounds(period: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``'2024Q1'`` -> (first day, last day) of the quarter; ValueError otherwise."""
    text = str(period).strip().upper()
    if not re.fullmatch(r"\d{4}Q[1-4]", text):
        raise ValueError(f"not a quarter: {period!r}")
    quarter = pd.Period(text, freq="Q")
    return quarter.start_time.normalize(), quarter.end_time.normalize()


def marketing_roi(kpis: pd.DataFrame, spend: pd.DataFrame | None, *,
                  start: pd.Timestamp, end: pd.Timestamp,
                  region_of_province: pd.Series | None = None) -> pd.DataFrame:
    """Add marketing spend in the period and ROI (revenue per CNY of spend) to KPI rows.

    Spend is recorded per province and quarter (``2024Q1``); a quarter that
    only partly overlaps the period ``(start, end]`` counts pro rata by
    day. Regions above province level (territories) get the spend of their
    provinces through ``region_of_province``. For cities there is no spend
    (the columns are NaN).

    Parameters
    ----------
    kpis : DataFrame
        :func:`region_kpis` output (``region``, ``revenue``).
    spend : DataFrame or None
        Canonical spend: ``province``, ``period``, ``amount``.
    start, end : Timestamp
        The period (``start`` excluded), as from :func:`period_windows`.
    region_of_province : Series, optional
        Province -> KPI region (e.g. its territory); default: the province itself.

    Returns
    -------
    DataFrame
        ``kpis`` with ``marketing_spend`` (CNY in the period; NaN when the
        region has no spend record) and ``roi`` (``revenue /
        marketing_spend``; NaN when spend is not positive).

    Raises
    ------
    ValueError
        When a ``period`` is not a quarter like ``2024Q1`` (the row is named).
    """
    if spend is None or spend.empty or "province" not in spend.columns:
        return kpis.assign(marketing_spend=np.nan, roi=np.nan)
    first_day = pd.Timestamp(start).normalize() + pd.Timedelta(days=1)
    last_day = pd.Timestamp(end).normalize()
    amounts = []
    for row, (period, amount) in enumerate(zip(spend["period"], spend["amount"],
                                               strict=True)):
        try:
            q_start, q_end = _quarter_bounds(period)
        except ValueError:
            raise ValueError(f"spend row {row + 1}: period must be a quarter like 2024Q1, "
                             f"got {period!r}") from None
        overlap = (min(q_end, last_day) - max(q_start, first_day)).days + 1
        days = (q_end - q_start).days + 1
        amounts.append(float(amount) * max(overlap, 0) / days)
    region = spend["province"]
    if region_of_province is not None:
        region = region.map(region_of_province)
    per_region = pd.Series(amounts, index=spend.index).groupby(region.to_numpy()).sum()
    spent = kpis["region"].map(per_region).astype(float)
    return kpis.assign(marketing_spend=spent, roi=_safe_ratio(kpis["revenue"], spent))


# --------------------------------------------------------------------------- concentration


def _clipped(values: pd.Series | Sequence[float]) -> np.ndarray:
    array = np.asarray(pd.Series(values, dtype=float).fillna(0.0), dtype=float)
    return np.clip(array, 0.0, None)


def concentration(values: pd.Series | Sequence[float]) -> dict[str, float | int]:
    """How concentrated a total is across units (regions, customers, ...).

    Negative unit totals (net returns) are clipped to 0 and missing values
    count as 0; every unit passed counts in ``n``.

    Parameters
    ----------
    values : Series or sequence of float
        One total per unit.

    Returns
    -------
    dict
        - ``n``: number of units
        - ``total``: sum after clipping
        - ``top20_share``: share of the total held by the top ``ceil(0.2 * n)``
          units
        - ``gini``: ``sum_i (2 i - n - 1) x_(i) / (n * sum x)`` with ``x``
          sorted ascending and ``i = 1..n``; equal to the mean absolute
          difference over all ordered pairs divided by twice the mean. This
          is the population definition without the ``n / (n - 1)`` small
          sample correction, so one unit holding everything among ``n`` gives
          ``(n - 1) / n`` (0.75 for n = 4), not 1.
        - ``hhi``: sum of squared shares, from ``1 / n`` (even) to 1
        - ``top_k_for_80``: smallest number of units that together hold at
          least 80% of the total

        With a zero total the shares and ``gini`` are NaN and
        ``top_k_for_80`` is 0.
    """
    x = np.sort(_clipped(values))
    n = int(x.size)
    total = float(x.sum())
    if n == 0 or total <= 0:
        return {"n": n, "total": total, "top20_share": math.nan, "gini": math.nan,
                "hhi": math.nan, "top_k_for_80": 0}
    ranks = np.arange(1, n + 1)
    gini = float(np.sum((2 * ranks - n - 1) * x) / (n * total))
    shares = x / total
    descending = shares[::-1]
    top20 = math.ceil(0.2 * n)
    cumulative = np.cumsum(descending)
    top_k = int(np.searchsorted(cumulative, 0.8 - 1e-12, side="left") + 1)
    return {
        "n": n,
        "total": total,
        "top20_share": float(descending[:top20].sum()),
        "gini": gini,
        "hhi": float(np.sum(shares**2)),
        "top_k_for_80": min(top_k, n),
    }


def lorenz(values: pd.Series | Sequence[float]) -> pd.DataFrame:
    """Points of the Lorenz curve, units sorted from smallest to largest.

    Returns
    -------
    DataFrame
        ``n + 1`` rows of ``cum_units_share`` and ``cum_value_share``, from
        (0, 0) to (1, 1). Negative values are clipped to 0; with a zero total
        ``cum_value_share`` is NaN after the first point.
    """
    x = np.sort(_clipped(values))
    n = x.size
    total = x.sum()
    cum_values = np.concatenate([[0.0], np.cumsum(x)])
    value_share = cum_values / total if total > 0 else np.r_[0.0, np.full(n, np.nan)]
    units = np.arange(n + 1) / n if n else np.array([0.0])
    return pd.DataFrame({"cum_units_share": units, "cum_value_share": value_share})


# --------------------------------------------------------------------------- trends


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
    months = pd.date_range(frame["month"].min(), frame["month"].max(), freq="MS", name="month")
    if by:
        groups = pd.Index(sorted(frame[by].unique()), name=by)
        full = pd.MultiIndex.from_product([groups, months], names=keys)
    else:
        full = months
    grouped = grouped.reindex(full, fill_value=0)
    return (grouped.reset_index()
            .astype({"revenue": float, "orders": "int64"})
            .loc[:, out_cols])
