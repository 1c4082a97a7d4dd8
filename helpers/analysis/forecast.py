"""Where revenue is heading: next months' revenue per region with a prediction interval.

Each series is the net revenue of calendar-month windows ending on the period's last
day (``(end - 1 month, end]``, the month before it, ...), from the first window the data
cover whole; a region's series starts at its first month with revenue. It is forecast
with statsmodels' exponential smoothing state-space model
(:class:`statsmodels.tsa.exponential_smoothing.ets.ETSModel`, additive errors, a damped
trend, heuristic initial states), with a 12-month seasonal part too when the history is
long enough to fit and check one, whichever of the two has the smaller AICc.

The model is fitted once, on the months before the first of the last ``origins``
backtest origins, and then run month by month through the whole history with those
parameters (rolling origin without refitting, Tashman 2000): at each origin it forecasts
the following ``horizon`` months, and the share of those windows whose actual revenue
fell inside the interval (its empirical coverage) is reported next to the nominal level;
its forecast from the period's last month is the one shown, so the model checked is the
model used. Intervals come from simulated future paths (statsmodels' ``simulate``) with
an error scale that counts the initial states among what was estimated
(:func:`_scale`). Refitting at every origin would take about ten times longer per region.

A series too short to fit and check (``short_history``), with too many months without
revenue (``sparse``) or on which the model fails (``failed``) gets no forecast: the
reason and its numbers instead. Numbers only: the words are in
:mod:`helpers.text.narrative.insight`.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

with warnings.catch_warnings():  # statsmodels' own deprecation notices on import
    warnings.simplefilter("ignore")
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

__all__ = ["FORECAST_COLUMNS", "PATH_COLUMNS", "MIN_ORIGINS", "SEASON", "monthly_revenue",
           "monthly_revenue_sql", "forecast_series", "region_forecasts"]

#: Months in a season (the seasonal part of the model).
SEASON = 12
#: The fewest backtest origins a forecast needs (fewer: ``short_history``).
MIN_ORIGINS = 4
#: The fewest months a model without (with) a seasonal part is fitted on.
_MIN_FIT = {False: 12, True: 2 * SEASON}
#: Simulated paths per interval.
DRAWS = 1000
#: The columns of :func:`region_forecasts`' table.
FORECAST_COLUMNS: list[str] = [
    "region", "is_total", "shown", "reason_key", "months", "zero_months", "model",
    "revenue_recent", "revenue_year_ago", "forecast", "forecast_low", "forecast_high",
    "forecast_change", "backtest_origins",
    "backtest_covered", "backtest_coverage", "backtest_error"]
#: The columns of the month-by-month table of :func:`region_forecasts` (``months=True``):
#: each series' history (``kind`` ``actual``) and its forecast months (``forecast``, with
#: the month's own interval ``low`` .. ``high``).
PATH_COLUMNS: list[str] = ["region", "is_total", "month_end", "kind", "revenue", "low", "high"]


def _edges(end: pd.Timestamp, first_day: pd.Timestamp) -> list[pd.Timestamp]:
    """Month edges ``e_0 < ... < e_n = end``: windows ``(e_{j-1}, e_j]`` the data cover
    whole (``e_0`` is not before the day before ``first_day``)."""
    end, floor = pd.Timestamp(end).normalize(), pd.Timestamp(first_day).normalize()
    edges, i = [end], 1
    while True:
        edge = end - pd.DateOffset(months=i)
        if edge < floor - pd.Timedelta(days=1):
            break
        edges.append(edge)
        i += 1
    return edges[::-1]


def monthly_revenue(orders: pd.DataFrame, end: object, *, first_day: object,
                    regions: pd.Series | None = None) -> pd.DataFrame:
    """Net revenue per month window ending on ``end``, per region and in total.

    Parameters
    ----------
    orders : DataFrame
        ``customer_id``, ``order_date``, ``amount``.
    end : date-like
        The last day of the last window (the period's end).
    first_day : date-like
        The first day the data cover: windows starting before it are left out.
    regions : Series, optional
        ``customer_id`` -> region; customers without one count only in the total.

    Returns
    -------
    DataFrame
        Index: each window's last day (ascending); the total of every customer in the
        column :data:`TOTAL`, then one column per region of the customers of ``orders``
        (in name order); zeros where a window has no revenue.

    Its DuckDB twin, on order lines that stay in DuckDB: :func:`monthly_revenue_sql`.
    """
    edges = _edges(pd.Timestamp(end), pd.Timestamp(first_day))
    index = pd.DatetimeIndex(edges[1:], name="month_end")
    if len(edges) < 2:
        return pd.DataFrame({TOTAL: pd.Series(dtype=float)}, index=index)
    days = pd.to_datetime(orders["order_date"]).dt.normalize().to_numpy()
    slot = np.searchsorted(np.asarray(edges, dtype="datetime64[ns]"), days, side="left") - 1
    inside = (slot >= 0) & (slot < len(index))
    amount = orders["amount"].to_numpy(dtype=float)
    months = len(index)
    # float also without a line inside (bincount of no weights counts in integers)
    out = {TOTAL: np.bincount(slot[inside], weights=amount[inside],
                              minlength=months).astype(float)}
    if regions is not None:
        # each order's region through its customer (one lookup per customer, not per line)
        customer, ids = orders["customer_id"].factorize()
        where = pd.Series(regions).astype("string")
        where.index = where.index.astype("string")
        region, names = pd.Series(where.reindex(pd.Index(ids).astype("string")).to_numpy(),
                                  dtype="string").factorize()
        line = region[customer]
        use = inside & (line >= 0)
        sums = np.bincount(line[use] * months + slot[use], weights=amount[use],
                           minlength=len(names) * months).astype(float).reshape(
                               len(names), months)
        out.update({name: sums[i] for i, name in sorted(enumerate(names), key=lambda n: n[1])})
    return pd.DataFrame(out, index=index)


def monthly_revenue_sql(con, end: object, *, first_day: object,
                        regions: pd.Series | None = None) -> pd.DataFrame:
    """The DuckDB twin of :func:`monthly_revenue`: the same table from the order lines of
    the view ``lines`` of ``con`` (:func:`helpers.analysis.engine.open_lines`), summed per
    window and region in DuckDB (``regions``, one row per customer, is joined there)."""
    from helpers.analysis.engine import day, fetch

    edges = _edges(pd.Timestamp(end), pd.Timestamp(first_day))
    index = pd.DatetimeIndex(edges[1:], name="month_end")
    if len(edges) < 2:
        return pd.DataFrame({TOTAL: pd.Series(dtype=float)}, index=index)
    months, last = len(index), edges[-1]
    # a month's window edge falls on min(last.day, the month's length) (DateOffset):
    # a day after it belongs to the window ending in the next month
    d = "CAST(order_date AS DATE)"
    back = (f"({last.year * 12 + last.month} - (year({d}) * 12 + month({d})) "
            f"- CASE WHEN day({d}) > {last.day} THEN 1 ELSE 0 END)")
    slot = (f"CASE WHEN {d} > {day(edges[0])} AND {d} <= {day(last)} "
            f"THEN {months - 1} - {back} END")
    if regions is None:
        sums = fetch(con, f"""SELECT slot, fsum(amount) AS revenue FROM (SELECT {slot} AS slot,
            CAST(amount AS DOUBLE) AS amount FROM lines) WHERE slot IS NOT NULL GROUP BY slot""")
        sums = sums.assign(region=pd.NA, total=True)
    else:
        where = pd.Series(regions).astype("string")
        where.index = where.index.astype("string")
        if not where.index.is_unique:
            raise ValueError("regions: a customer_id appears more than once")
        where = where.dropna()
        con.register("monthly_regions", pd.DataFrame(
            {"customer_id": where.index, "region": where.to_numpy()}))
        try:  # lines outside the windows name their customers' regions too (zero columns)
            sums = fetch(con, f"""SELECT slot, region, GROUPING(region) = 1 AS total,
                    fsum(amount) AS revenue
                FROM (SELECT {slot} AS slot, CAST(amount AS DOUBLE) AS amount, customer_id
                      FROM lines) LEFT JOIN monthly_regions USING (customer_id)
                GROUP BY GROUPING SETS ((slot), (slot, region))""")
        finally:
            con.unregister("monthly_regions")
    inside = sums.loc[sums["slot"].notna()]
    table = {TOTAL: np.zeros(months)}
    for name in sorted(str(r) for r in sums.loc[~sums["total"] & sums["region"].notna(),
                                                 "region"].unique()):
        table[name] = np.zeros(months)
    for slot_, region, total, revenue in inside[["slot", "region", "total", "revenue"]] \
            .itertuples(index=False):
        if total:
            table[TOTAL][int(slot_)] = revenue
        elif not pd.isna(region):
            table[str(region)][int(slot_)] = revenue
    return pd.DataFrame(table, index=index)


#: The column of :func:`monthly_revenue` holding every customer's revenue.
TOTAL = "\x00total"


def _spec(trend: bool, seasonal: bool) -> dict:
    # heuristic initial states (Hyndman et al. 2008): fitted in milliseconds; estimating
    # them too takes about a hundred times longer per fit
    spec: dict = {"error": "add", "initialization_method": "heuristic"}
    if trend:
        spec.update(trend="add", damped_trend=True)
    if seasonal:
        spec.update(seasonal="add", seasonal_periods=SEASON)
    return spec


def _name(trend: bool, seasonal: bool) -> str:
    """The model in ETS notation: error, trend, season (``A,Ad,A``)."""
    return f"A,{'Ad' if trend else 'N'},{'A' if seasonal else 'N'}"


def _fit(y: np.ndarray, trend: bool, seasonal: bool):
    """The model fitted on ``y`` (statsmodels' ETSResults)."""
    with warnings.catch_warnings():  # statsmodels' fit notes (convergence, bounds)
        warnings.simplefilter("ignore")
        # parameters to about 4 digits (L-BFGS-B's factr 1e10; scipy's default 1e7 costs
        # twice the iterations for digits no forecast needs)
        result = ETSModel(y, **_spec(trend, seasonal)).fit(disp=False, maxiter=200,
                                                           factr=1e10)
    if not np.isfinite(result.aicc) or not np.all(np.isfinite(result.params)):
        raise ValueError("the fit did not give finite parameters")
    return result


def _tracked(fitted, y: np.ndarray, trend: bool, seasonal: bool):
    """``fitted``'s model (its parameters and initial states) run over all of ``y``: its
    state after each month depends only on the months up to it, so a simulation anchored
    there forecasts from that month with the parameters ``fitted`` estimated."""
    spec = {**_spec(trend, seasonal), "initialization_method": "known",
            "initial_level": fitted.initial_level}
    if trend:
        spec["initial_trend"] = fitted.initial_trend
    if seasonal:
        spec["initial_seasonal"] = fitted.initial_seasonal
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ETSModel(y, **spec).smooth(fitted.params)


def _scale(result, trend: bool, seasonal: bool) -> float:
    """The error scale of a fit, unbiased for what it estimated from the data: its
    smoothing parameters and its initial states (level, trend, ``SEASON - 1`` seasonal
    states; the heuristic takes them from the first seasons of the same months), as
    Hyndman et al. (2008) and R's ``forecast::ets`` count them. statsmodels' ``mse``
    divides by the months alone, which on a few years of history makes the interval far
    too narrow."""
    k = len(result.params) + 1 + int(trend) + (SEASON - 1 if seasonal else 0)
    dof = max(int(result.nobs) - k, 1)
    return float(np.sqrt(result.sse / dof))


def _interval(result, horizon: int, level: float, rng: np.random.Generator, floor: float | None,
              *, sigma: float, last: int | None = None, months: list | None = None
              ) -> tuple[float, float, float]:
    """The point forecast of the ``horizon`` months after month ``last`` (default: the last
    month of ``result``) and its interval, from :data:`DRAWS` simulated paths with normal
    errors of scale ``sigma`` (:func:`_scale`). ``months``, when given, receives each
    month's point forecast and interval from the same paths (``(point, low, high)``)."""
    errors = np.column_stack([np.zeros(horizon),  # the first path: the point forecast
                              rng.standard_normal((horizon, DRAWS)) * sigma])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # statsmodels anchors a simulation at the state after month ``anchor``
        paths = np.asarray(result.simulate(horizon, anchor="end" if last is None else last,
                                           repetitions=errors.shape[1],
                                           random_errors=errors), dtype=float)
    paths = paths.reshape(horizon, -1)
    totals = paths.sum(axis=0)
    point = float(totals[0])
    low, high = (float(v) for v in np.quantile(totals[1:], [(1 - level) / 2, (1 + level) / 2]))
    if floor is not None:
        low, high, point = max(low, floor), max(high, floor), max(point, floor)
    if months is not None:
        bounds = np.quantile(paths[:, 1:], [(1 - level) / 2, (1 + level) / 2], axis=1)
        for m in range(horizon):
            values = (float(paths[m, 0]), float(bounds[0, m]), float(bounds[1, m]))
            months.append(tuple(max(v, floor) for v in values) if floor is not None
                          else values)
    return point, low, high


def forecast_series(y, *, horizon: int = 3, level: float = 0.8, min_months: int = 18,
                    max_zero_share: float = 0.25, origins: int = 12, seed: int = 0) -> dict:
    """Forecast the total of the next ``horizon`` months of one monthly series.

    Parameters
    ----------
    y : array-like
        Monthly net revenue, oldest first, the last value the last month of the period.
        Leading zero months (before the first revenue) are dropped.
    horizon : int
        Months ahead (``analysis.forecast_months``).
    level : float
        Nominal level of the interval (``analysis.forecast_interval``), 0..1.
    min_months : int
        Fewest months with a history (``analysis.forecast_min_months``).
    max_zero_share : float
        Largest share of months without revenue (``analysis.forecast_max_zero_share``).
    origins : int
        Most backtest origins (``analysis.forecast_backtest_origins``).
    seed : int
        Seed of the simulated paths (the same data give the same interval).

    Returns
    -------
    dict
        ``shown``; ``months`` and ``zero_months`` of the history; ``revenue_recent`` (the
        last ``horizon`` months' total) and ``revenue_year_ago`` (the total of the months
        a year before the forecast's, NaN when the history is shorter). When shown:
        ``model`` (ETS notation), ``forecast``, ``forecast_low``, ``forecast_high``, and
        the backtest:
        ``backtest_origins``, ``backtest_covered`` (windows inside the interval),
        ``backtest_coverage`` and ``backtest_error`` (median absolute error of the
        point forecast relative to the actual total), and ``path``: each forecast month's
        ``(point, low, high)`` from the same simulated paths (the interval of one month,
        not of the total). Else ``reason_key``
        (``short_history``, ``sparse`` or ``failed``). Always ``min_months`` (the
        setting, or more when the horizon needs it: the simplest model is fitted on 12
        months and checked at :data:`MIN_ORIGINS` origins), ``max_zero_share`` and
        ``min_origins``. Intervals are floored at 0 when the
        history has no negative month.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1 month, got {horizon}")
    values = np.asarray(y, dtype=float)
    values = np.where(np.isfinite(values), values, 0.0)
    started = np.flatnonzero(values != 0)
    values = values[started[0]:] if len(started) else values[:0]
    n, zeros = len(values), int((values == 0).sum())
    out: dict = {"months": int(n), "zero_months": zeros,
                 "revenue_recent": float(values[-horizon:].sum()) if n >= horizon else np.nan,
                 "revenue_year_ago": (float(values[n - SEASON:n - SEASON + horizon].sum())
                              if n >= SEASON and horizon <= SEASON else np.nan),
                 # the fewest months to fit the simplest model and check it MIN_ORIGINS times
                 "min_months": max(int(min_months), horizon + _MIN_FIT[False] - 1 + MIN_ORIGINS),
                 "max_zero_share": float(max_zero_share), "min_origins": MIN_ORIGINS}
    if n < out["min_months"]:
        return {**out, "shown": False, "reason_key": "short_history"}
    if zeros / n > max_zero_share:
        return {**out, "shown": False, "reason_key": "sparse"}
    floor = 0.0 if (values >= 0).all() else None
    seasonal_ok = n - horizon - _MIN_FIT[True] + 1 >= MIN_ORIGINS
    rng = np.random.default_rng(seed)
    try:
        # fitted on the months before the first backtest origin: a damped trend, with a
        # seasonal part when that history can fit one, whichever has the smaller AICc
        first = max(_MIN_FIT[seasonal_ok], n - horizon - origins + 1)
        fits = {seasonal: _fit(values[:first], True, seasonal)
                for seasonal in ((True, False) if seasonal_ok else (False,))}
        seasonal, before = min(fits.items(), key=lambda item: item[1].aicc)
        # then updated month by month through the whole history without refitting
        # (rolling origin, Tashman 2000): each origin forecasts the months after it, and the
        # last one, at the period's end, is the forecast; the backtest checks this model
        track = _tracked(before, values, True, seasonal)
        sigma = _scale(before, True, seasonal)
        path: list = []
        point, low, high = _interval(track, horizon, level, rng, floor, sigma=sigma,
                                     months=path)
        hits, errors = [], []
        for t in range(first, n - horizon + 1):
            guess, lo, hi = _interval(track, horizon, level, rng, floor, last=t - 1,
                                      sigma=sigma)
            actual = float(values[t:t + horizon].sum())
            hits.append(lo <= actual <= hi)
            if actual != 0:
                errors.append(abs(guess - actual) / abs(actual))
    except (ValueError, np.linalg.LinAlgError):
        return {**out, "shown": False, "reason_key": "failed"}
    return {**out, "shown": True, "model": _name(True, seasonal), "forecast": point,
            "forecast_low": low, "forecast_high": high, "path": path,
            "backtest_origins": len(hits),
            "backtest_covered": int(sum(hits)),
            "backtest_coverage": float(np.mean(hits)) if hits else np.nan,
            "backtest_error": float(np.median(errors)) if errors else np.nan}


def region_forecasts(monthly: pd.DataFrame, *, horizon: int = 3, level: float = 0.8,
                     min_months: int = 18, max_zero_share: float = 0.25,
                     origins: int = 12, seed: int = 0, months: bool = False
                     ) -> tuple[pd.DataFrame, dict] | tuple[pd.DataFrame, dict, pd.DataFrame]:
    """:func:`forecast_series` for every column of :func:`monthly_revenue`.

    With ``months=True`` a third table follows, month by month (:data:`PATH_COLUMNS`): each
    series' history from its first month with revenue (``kind`` ``actual``) and, when it
    has a forecast, its ``horizon`` forecast months (``kind`` ``forecast``: the point
    forecast in ``revenue``, the month's own interval in ``low`` .. ``high``), for the
    forecast chart.

    Returns
    -------
    (DataFrame, dict)
        :data:`FORECAST_COLUMNS`, one row per region (largest recent revenue first) and a
        last row ``is_total`` (``region`` NA); ``change_pct`` is the forecast against
        ``recent``. The note: the settings, the months of history (``first_month_end``,
        ``last_month_end``, ``data_months``), the regions shown and not, the backtest
        pooled over the regions shown (``pooled_origins``, ``pooled_covered``,
        ``pooled_coverage``), and whether the whole scope has a forecast (``shown``; else
        ``reason_key`` with its series' ``months``, ``zero_months`` and ``min_months``).
    """
    if TOTAL not in monthly.columns:
        raise ValueError("monthly revenue needs the column of every customer's total "
                         "(forecast.TOTAL, as monthly_revenue returns it)")
    rows, steps = [], []
    # one BLAS thread: the fits are tiny, and L-BFGS-B's BLAS threads cost five times the
    # work on a busy 2-core machine (bench/insight_speed.py)
    with threadpool_limits(limits=1):
        for column in monthly.columns:
            found = forecast_series(monthly[column].to_numpy(), horizon=horizon, level=level,
                                    min_months=min_months, max_zero_share=max_zero_share,
                                    origins=origins, seed=seed)
            rows.append({"region": pd.NA if column == TOTAL else column,
                         "is_total": column == TOTAL, **found})
            if months:
                steps.append(_path_rows(monthly[column], found, column))
    table = pd.DataFrame(rows).reindex(columns=FORECAST_COLUMNS)
    table["forecast_change"] = np.where(
        table["shown"].fillna(False).astype(bool) & (table["revenue_year_ago"] > 0),
        table["forecast"] / table["revenue_year_ago"] - 1, np.nan)
    table = pd.concat([table.loc[~table["is_total"]].sort_values(
        "revenue_recent", ascending=False, kind="mergesort"), table.loc[table["is_total"]]],
        ignore_index=True)
    table = table.assign(region=table["region"].astype("string"),
                         is_total=table["is_total"].astype(bool),
                         shown=table["shown"].astype(bool))
    regions = table.loc[~table["is_total"]]
    shown = regions.loc[regions["shown"]]
    needed = max(int(min_months), horizon + _MIN_FIT[False] - 1 + MIN_ORIGINS)
    note = {"horizon": int(horizon), "interval": float(level), "min_months": needed,
            "max_zero_share": float(max_zero_share), "origins": int(origins),
            "min_origins": MIN_ORIGINS,
            "first_month_end": monthly.index[0] if len(monthly) else None,
            "last_month_end": monthly.index[-1] if len(monthly) else None,
            "data_months": int(len(monthly)), "regions": int(len(regions)),
            "regions_shown": int(len(shown)),
            "pooled_origins": int(shown["backtest_origins"].sum()),
            "pooled_covered": int(shown["backtest_covered"].sum())}
    note["pooled_coverage"] = (note["pooled_covered"] / note["pooled_origins"]
                               if note["pooled_origins"] else None)
    total = table.loc[table["is_total"]].iloc[0]
    note["shown"] = bool(total["shown"])
    if not note["shown"]:  # why, with the numbers of the whole scope's series
        note.update(reason_key=total["reason_key"], months=int(total["months"]),
                    zero_months=int(total["zero_months"]))
    if not months:
        return table, note
    path = (pd.concat(steps, ignore_index=True) if steps
            else pd.DataFrame(columns=PATH_COLUMNS))
    path = path.assign(region=path["region"].astype("string"),
                       is_total=path["is_total"].astype(bool))
    return table, note, path.reindex(columns=PATH_COLUMNS)


def _path_rows(series: pd.Series, found: dict, column) -> pd.DataFrame:
    """One series' rows of the month-by-month table (:data:`PATH_COLUMNS`)."""
    values = series.to_numpy(dtype=float)
    values = np.where(np.isfinite(values), values, 0.0)
    started = np.flatnonzero(values != 0)
    first = started[0] if len(started) else len(values)
    history = pd.DataFrame({"month_end": series.index[first:], "kind": "actual",
                            "revenue": values[first:], "low": np.nan, "high": np.nan})
    ahead = found.get("path") or []
    if ahead and len(series):
        end = pd.Timestamp(series.index[-1])
        future = pd.DataFrame(ahead, columns=["revenue", "low", "high"]).assign(
            month_end=[end + pd.DateOffset(months=k) for k in range(1, len(ahead) + 1)],
            kind="forecast")
        history = pd.concat([history, future], ignore_index=True)
    return history.assign(region=pd.NA if column == TOTAL else column,
                          is_total=column == TOTAL)
