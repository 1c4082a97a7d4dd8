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

    cust = np.repeat(np.arange(len(count), dtype=np.int32), count)
    m = len(cust)
    pc = p[cust]
    # Flatten the per-province cumulative curves into one increasing array.
    span = cum[:, -1].max() + 1.0
    flat = (cum[:, 1:] + (np.arange(n_prov) * span)[:, None]).ravel()
    # Stratified: a customer's k-th of K orders falls in the k-th K-quantile of its
    # window (partners reorder regularly), so yearly revenue is not Poisson noise.
    rank = np.arange(m, dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
    frac = (rank + rng.random(m)) / count[cust]
    del rank
    target = lo[cust] + frac * (hi[cust] - lo[cust]) + pc * span
    del frac
    day = np.searchsorted(flat, target, side="left") - pc.astype(np.int64) * n_days
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
    del want, u, channel

    # Returns: ~4% of sales come back 3-45 days later, as negative lines.
    back = np.flatnonzero(rng.random(m) < 0.04)
    r_day = np.minimum(day[back] + rng.integers(3, 46, size=len(back)), n_days - 1)
    full = rng.random(len(back)) < 0.7
    r_qty = np.where(full, quantity[back],
                     np.maximum(1, np.ceil(quantity[back] * rng.uniform(0.2, 0.9, len(back)))))
    r_qty = r_qty.astype(np.int64)

    all_cust = np.concatenate([cust, cust[back]])
    all_day = np.concatenate([day, r_day.astype(np.int32)])
    all_qty = np.concatenate([quantity, -r_qty])
    all_unit = np.concatenate([unit, unit[back]])
    all_cat = np.concatenate([cat, cat[back]])
    is_return = np.zeros(len(all_cust), dtype=bool)
    is_return[m:] = True
    del cust, day, quantity, unit, cat
    all_unit = _calibrate_growth(all_unit, all_qty, all_day, p[all_cust], prov, n_days)

    order = np.lexsort((all_cust, all_day))
    n_lines = len(order)
    qty = all_qty[order]
    amount = (qty * all_unit[order]).astype(np.float64)
    del all_qty, all_unit
    cust_sorted = all_cust[order]
    del all_cust
    day_sorted = all_day[order]
    del all_day
    cat_sorted = all_cat[order]
    ret_sorted = is_return[order].astype(np.int8)
    del all_cat, is_return, order
    width = max(7, len(str(n_lines)))
    dates = np.datetime64(start_ts.date(), "D") + day_sorted.astype("timedelta64[D]")
    del day_sorted
    columns = {
        "order_id": prefixed_ids("D", np.arange(1, n_lines + 1), width),
        "customer_id": arrow_take(customer_ids, cust_sorted),
        "order_date": pd.Series(dates.astype("datetime64[ns]"), copy=False),
        "amount": pd.Series(amount, copy=False),
        "quantity": pd.Series(pd.array(qty, dtype="Int64"), copy=False),
        "product_category": decode(cat_sorted, CATEGORIES),
        "status": decode(ret_sorted, [STATUS_DONE, STATUS_RETURN]),
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


def _calibrate_growth(unit, quantity, day, line_prov, prov, n_days) -> np.ndarray:
    """Keep chance growth of provinces outside the growth story in a band.

    A few large accounts signing up or churning can swing a small province's revenue by
    +-30% in a year, which would blur the planted story. Prices of the last year's lines
    of such a province are scaled so that its last-year / prior-year revenue ratio lies
    in [0.95, 1.15] (a regional price level; the emerging, declining and eroding provinces
    are left alone).
    """
    window = min(365, n_days // 2)
    last = day >= n_days - window
    prior = (day >= n_days - 2 * window) & ~last
    gross = quantity * unit
    n_prov = len(prov)
    rev_last = np.bincount(line_prov[last], weights=gross[last], minlength=n_prov)
    rev_prior = np.bincount(line_prov[prior], weights=gross[prior], minlength=n_prov)
    known = (rev_last > 0) & (rev_prior > 0)
    ratio = np.divide(rev_last, rev_prior, out=np.ones(n_prov), where=known)
    story = STORY["emerging"] + STORY["declining"] + STORY["eroding"]
    free = known & ~prov["province"].isin(story).to_numpy()
    factor = np.where(free, np.clip(ratio, 0.95, 1.15) / ratio, 1.0)
    return np.where(last, np.round(unit * factor[line_prov]), unit)
