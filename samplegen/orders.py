"""The order lines: counts per customer, dates by seasonality and trend, products, returns.

Seasonality (Chinese New Year dip, National Day, Q4 peak, quiet weekends) and the order
intensity per province (growth, the emerging and declining story) shape the dates; the
last year's prices are calibrated so that provinces outside the story keep steady growth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from samplegen.arrow import arrow_take, decode, prefixed_ids
from samplegen.story import (
    CATEGORIES,
    CATEGORY_MIX,
    GAP_FACTOR,
    STATUS_DONE,
    STATUS_RETURN,
    STORY,
    UNIT_PRICE,
)

# Chinese New Year (first day) for the seasonality dip.
_CNY = ["2015-02-19", "2016-02-08", "2017-01-28", "2018-02-16", "2019-02-05", "2020-01-25",
        "2021-02-12", "2022-02-01", "2023-01-22", "2024-02-10", "2025-01-29", "2026-02-17",
        "2027-02-06", "2028-01-26", "2029-02-13", "2030-02-03", "2031-01-23", "2032-02-11",
        "2033-01-31", "2034-02-19", "2035-02-08"]
_MONTH_FACTOR = np.array([0.85, 0.72, 1.00, 1.00, 0.95, 1.05, 0.90, 0.90, 1.05, 0.95,
                          1.20, 1.35])


def _day_weights(start: pd.Timestamp, n_days: int) -> np.ndarray:
    """Seasonality per day (mean 1): CNY dip, National Day, Q4 peak, quiet weekends."""
    days = pd.date_range(start, periods=n_days, freq="D")
    weight = _MONTH_FACTOR[days.month.to_numpy() - 1].copy()
    weight[days.day_of_week.to_numpy() >= 5] *= 0.3
    for cny in pd.to_datetime(_CNY):
        offset = (days - cny).days.to_numpy()
        weight[(offset >= -10) & (offset <= 8)] *= 0.2
    national = (days.month == 10) & (days.day <= 7)
    weight[np.asarray(national)] *= 0.3
    return weight / weight.mean()


def _level(prov: pd.DataFrame, n_days: int) -> np.ndarray:
    """Order intensity per province and day (growth, the emerging and declining story)."""
    years_to_end = (n_days - 1 - np.arange(n_days)) / 365.0      # 0 on the last day
    years_from_start = np.arange(n_days) / 365.0
    level = np.exp(np.outer(prov["growth"].to_numpy(), years_from_start))
    for name in STORY["emerging"]:
        i = int(np.flatnonzero(prov["province"] == name)[0])
        level[i] = np.exp(-0.8 * years_to_end)                     # ~2.2x per year
    for name in STORY["declining"]:
        i = int(np.flatnonzero(prov["province"] == name)[0])
        ramp = np.clip(years_to_end / 1.5, 0.0, 1.0)                # 1 at 18 months -> 0 now
        level[i] = 0.4 + 0.6 * ramp
    return level


def draw_orders(rng, core, customer_ids, prov, start_ts, n_days) -> pd.DataFrame:
    """Order lines: Poisson counts per customer, dates by inverse CDF of seasonality x trend.

    The same draws as :func:`order_plan`, :func:`draw_lines` over all customers,
    :func:`revenue_by_year` / :func:`growth_factor` / :func:`calibrate`, :func:`sort_lines`
    and :func:`order_frame` (what ``samplegen.large`` does block by block).

    Parameters
    ----------
    rng : numpy.random.Generator
        The generator's stream.
    core : dict of ndarray
        :func:`~samplegen.customers.draw_customers`.
    customer_ids : Series
        The customers' ids, in ``core`` order.
    prov : DataFrame
        Provinces of :func:`~samplegen.places.places`.
    start_ts : Timestamp
        Day 0 of the history.
    n_days : int
        Days of history.

    Returns
    -------
    DataFrame
        The canonical ``orders``: ids ``D0000001``.. by date, status 已完成 or 已退货
        (returns 3-45 days after the sale, negative quantity and amount).
    """
    plan = order_plan(rng, core, prov, start_ts, n_days)
    lines = draw_lines(rng, plan, core, prov, 0, len(plan["count"]))
    line_prov = core["prov_idx"][lines["cust"]]
    factor = growth_factor(*revenue_by_year(lines, line_prov, len(prov), n_days), prov)
    lines["unit"] = calibrate(lines["unit"], lines["day"], line_prov, factor, n_days)
    del line_prov
    lines = sort_lines(lines)
    n_lines = len(lines["cust"])
    return order_frame(lines, customer_ids, start_ts, 1, line_id_width(n_lines))


def order_plan(rng, core, prov, start_ts, n_days) -> dict:
    """Each customer's window on the seasonality x trend curve and its number of lines.

    Draws the Poisson counts (one draw per customer, in ``core`` order). Returns ``cum``
    (cumulative curve per province), ``flat`` and ``span`` (the curves laid end to end),
    ``lo``/``hi`` (each customer's window on its curve), ``count`` (lines per customer)
    and ``n_days``.
    """
    n_prov = len(prov)
    weight = _day_weights(start_ts, n_days)[None, :] * _level(prov, n_days)
    cum = np.zeros((n_prov, n_days + 1))
    np.cumsum(weight, axis=1, out=cum[:, 1:])
    p = core["prov_idx"]
    first, last = core["first"], core["last"]
    active = first <= last
    lo = cum[p, np.clip(first, 0, n_days)]
    hi = cum[p, np.clip(last + 1, 0, n_days)]
    expected = np.where(active, core["rate"] / 365.0 * (hi - lo), 0.0)
    count = rng.poisson(expected)
    # Flatten the per-province cumulative curves into one increasing array.
    span = cum[:, -1].max() + 1.0
    flat = (cum[:, 1:] + (np.arange(n_prov) * span)[:, None]).ravel()
    return {"cum": cum, "flat": flat, "span": span, "lo": lo, "hi": hi, "count": count,
            "n_days": n_days}


def draw_lines(rng, plan, core, prov, first_customer: int, stop_customer: int) -> dict:
    """The lines of customers ``first_customer`` .. ``stop_customer - 1`` (sales, then returns).

    Returns ``cust`` (index in ``core``), ``day``, ``qty`` (returns negative), ``unit``
    (price before :func:`calibrate`), ``cat`` (index in ``CATEGORIES``) and ``ret``
    (1 for a return), unsorted: the sales in customer order, then their returns.
    """
    n_days = plan["n_days"]
    count = plan["count"][first_customer:stop_customer]
    p = core["prov_idx"]
    first, last = core["first"], core["last"]
    lo, hi, span = plan["lo"], plan["hi"], plan["span"]
    cust = np.repeat(np.arange(first_customer, stop_customer, dtype=np.int32), count)
    m = len(cust)
    pc = p[cust]
    # Stratified: a customer's k-th of K orders falls in the k-th K-quantile of its
    # window (partners reorder regularly), so yearly revenue is not Poisson noise.
    rank = np.arange(m, dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
    frac = (rank + rng.random(m)) / count[cust - first_customer]
    del rank
    target = lo[cust] + frac * (hi[cust] - lo[cust]) + pc * span
    del frac
    day = np.searchsorted(plan["flat"], target, side="left") - pc.astype(np.int64) * n_days
    day = np.clip(day, first[cust], last[cust]).astype(np.int32)
    del target, pc

    channel = core["channel"][cust]
    # the mix per channel, and in the cross-sell gap's territory (STORY) with less of its
    # category: [in the territory, channel, category]
    cat_cum = _category_mix().cumsum(axis=2)
    gap = (prov["territory"].to_numpy() == STORY["cross_sell_gap"]["territory"])[p[cust]]
    gap = gap.astype(np.int8)
    u = rng.random(m)
    cat = np.zeros(m, dtype=np.int8)
    for k in range(len(CATEGORIES) - 1):          # 7 vector passes, not a loop over rows
        cat += (u > cat_cum[gap, channel, k]).astype(np.int8)
    unit = np.round(UNIT_PRICE[cat] * rng.uniform(0.85, 1.2, size=m))
    want = core["value"][cust] * rng.lognormal(0.0, 0.4, size=m)
    quantity = np.maximum(1, np.round(want / unit)).astype(np.int64)
    del want, u, channel, gap

    # Returns: ~4% of sales come back 3-45 days later, as negative lines.
    back = np.flatnonzero(rng.random(m) < 0.04)
    r_day = np.minimum(day[back] + rng.integers(3, 46, size=len(back)), n_days - 1)
    full = rng.random(len(back)) < 0.7
    r_qty = np.where(full, quantity[back],
                     np.maximum(1, np.ceil(quantity[back] * rng.uniform(0.2, 0.9, len(back)))))
    r_qty = r_qty.astype(np.int64)
    ret = np.zeros(m + len(back), dtype=np.int8)
    ret[m:] = 1
    return {
        "cust": np.concatenate([cust, cust[back]]),
        "day": np.concatenate([day, r_day.astype(np.int32)]),
        "qty": np.concatenate([quantity, -r_qty]),
        "unit": np.concatenate([unit, unit[back]]),
        "cat": np.concatenate([cat, cat[back]]),
        "ret": ret,
    }


def sort_lines(lines: dict) -> dict:
    """The lines by day, then customer (stable: ties keep their order)."""
    order = np.lexsort((lines["cust"], lines["day"]))
    return {name: values[order] for name, values in lines.items()}


def line_id_width(n_lines: int) -> int:
    """Digits of the order numbers (``D`` + at least 7)."""
    return max(7, len(str(n_lines)))


def order_frame(lines: dict, customer_ids, start_ts, first_number: int,
                width: int) -> pd.DataFrame:
    """Sorted, calibrated lines as the canonical ``orders``, numbered from ``first_number``."""
    n_lines = len(lines["cust"])
    qty = lines["qty"]
    amount = (qty * lines["unit"]).astype(np.float64)
    dates = np.datetime64(start_ts.date(), "D") + lines["day"].astype("timedelta64[D]")
    columns = {
        "order_id": prefixed_ids("D", np.arange(first_number, first_number + n_lines), width),
        "customer_id": arrow_take(customer_ids, lines["cust"]),
        "order_date": pd.Series(dates.astype("datetime64[ns]"), copy=False),
        "amount": pd.Series(amount, copy=False),
        "quantity": pd.Series(pd.array(qty, dtype="Int64"), copy=False),
        "product_category": decode(lines["cat"], CATEGORIES),
        "status": decode(lines["ret"], [STATUS_DONE, STATUS_RETURN]),
    }
    return pd.DataFrame(columns, copy=False)


def _category_mix() -> np.ndarray:
    """:data:`CATEGORY_MIX` outside (``[0]``) and inside (``[1]``) the territory of
    ``STORY["cross_sell_gap"]``, where its category's share is :data:`GAP_FACTOR` times
    as large and the other categories share the rest as usual."""
    planted = CATEGORY_MIX.copy()
    planted[:, list(CATEGORIES).index(STORY["cross_sell_gap"]["category"])] *= GAP_FACTOR
    planted /= planted.sum(axis=1, keepdims=True)
    return np.stack([CATEGORY_MIX, planted])


def revenue_by_year(lines: dict, line_prov: np.ndarray, n_prov: int,
                    n_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Revenue per province in the last year and the year before (before :func:`calibrate`).

    The amounts are whole yuan, so sums over blocks of lines equal the sum over all.
    """
    window = min(365, n_days // 2)
    day = lines["day"]
    last = day >= n_days - window
    prior = (day >= n_days - 2 * window) & ~last
    gross = lines["qty"] * lines["unit"]
    rev_last = np.bincount(line_prov[last], weights=gross[last], minlength=n_prov)
    rev_prior = np.bincount(line_prov[prior], weights=gross[prior], minlength=n_prov)
    return rev_last, rev_prior


def growth_factor(rev_last: np.ndarray, rev_prior: np.ndarray, prov) -> np.ndarray:
    """Keep chance growth of provinces outside the growth story in a band.

    A few large accounts signing up or churning can swing a small province's revenue by
    +-30% in a year, which would blur the planted story. Prices of the last year's lines
    of such a province are scaled so that its last-year / prior-year revenue ratio lies
    in [0.95, 1.15] (a regional price level; the emerging, declining and eroding provinces
    are left alone). Returns the factor per province (1 for those left alone).
    """
    n_prov = len(prov)
    known = (rev_last > 0) & (rev_prior > 0)
    ratio = np.divide(rev_last, rev_prior, out=np.ones(n_prov), where=known)
    story = STORY["emerging"] + STORY["declining"] + STORY["eroding"]
    free = known & ~prov["province"].isin(story).to_numpy()
    return np.where(free, np.clip(ratio, 0.95, 1.15) / ratio, 1.0)


def calibrate(unit, day, line_prov, factor, n_days) -> np.ndarray:
    """The unit prices with :func:`growth_factor` applied to the last year's lines."""
    last = day >= n_days - min(365, n_days // 2)
    return np.where(last, np.round(unit * factor[line_prov]), unit)
