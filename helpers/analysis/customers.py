"""One purchase summary per customer: the facts RFM, clusters, lifecycle and lifetime value use.

Every customer measure of step 4 starts from the same rules, written once here:

- **Lines that count**: order lines dated before the as-of day (the day after
  the analysis period; lines on or after it are the future) with a customer id.
  Dates are compared by their day.
- **A purchase** is a line with a positive amount. A return or credit note
  (amount 0 or below) is never a purchase, so it does not make a customer
  recent, but its amount counts in the customer's value.
- **Orders** are the distinct ``order_id`` of the purchase lines (each line is
  an order when there is no ``order_id``); an order of several lines counts once.
- **Purchase days** are the distinct days with a purchase: several purchases on
  one day are one purchase event, as in the BG/NBD literature (the time unit of
  the lifetime value model is the day, its clock runs in weeks).
- **Value**: ``monetary`` is the net amount of all the customer's counted
  lines (returns subtract, also those on days without a purchase). The value of
  a purchase day is the net amount of that day's lines, and not below 0 (a
  return larger than the day's purchases belongs to an earlier purchase).
- **Days**: recency and tenure are whole days from the last / first purchase
  day to the as-of day; the BG/NBD quantities are in weeks (days / 7).

:func:`purchase_summary` gives one row per customer with a purchase;
:func:`purchase_days` the rows behind it (one per customer and purchase day),
for rules that look at each silence between purchases (lifecycle's
"reactivated"). The consumers take these tables, not orders:
:func:`helpers.analysis.segments.rfm`,
:func:`helpers.analysis.clusters.customer_features`,
:func:`helpers.analysis.lifecycle.lifecycle` and
:func:`helpers.analysis.ltv.customer_ltv`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["SUMMARY_COLUMNS", "default_as_of", "purchase_days", "purchase_summary"]

#: Columns of :func:`purchase_summary`, in order.
SUMMARY_COLUMNS = ["customer_id", "first_purchase", "last_purchase", "orders",
                   "purchase_days", "monetary", "recency_days", "tenure_days",
                   "longest_gap_days", "repeat_purchases", "span_weeks", "tenure_weeks",
                   "repeat_value"]


def default_as_of(orders: pd.DataFrame) -> pd.Timestamp:
    """The day after the last order day: every order counts.

    Raises
    ------
    ValueError
        When ``orders`` has no order date.
    """
    dates = pd.to_datetime(orders["order_date"]).dropna()
    if dates.empty:
        raise ValueError("no order dates; pass as_of")
    return dates.max().normalize() + pd.Timedelta(days=1)


def _as_of(orders: pd.DataFrame, as_of: object) -> pd.Timestamp:
    if as_of is None or (isinstance(as_of, str) and not as_of.strip()):
        return default_as_of(orders)
    return pd.Timestamp(as_of).normalize()


def _lines(orders: pd.DataFrame, as_of: pd.Timestamp) -> tuple[pd.DataFrame, pd.Index]:
    """The counted lines with integer customer and order codes, and the customer ids.

    Integer codes group much faster than strings; the customer codes are sorted
    like the ids, so tables ordered by code are ordered by ``customer_id``.
    """
    day = pd.to_datetime(orders["order_date"]).dt.normalize()
    keep = (day.notna() & (day < as_of) & orders["customer_id"].notna()).to_numpy()
    codes, ids = pd.factorize(orders["customer_id"][keep], sort=True)
    order_codes = (pd.factorize(orders["order_id"][keep])[0] if "order_id" in orders.columns
                   else np.arange(int(keep.sum())))
    lines = pd.DataFrame({
        "customer": codes,
        "order": order_codes,
        "day": day[keep].to_numpy(),
        "amount": orders["amount"][keep].astype(float).to_numpy(),
    })
    return lines, pd.Index(ids)


def _days(lines: pd.DataFrame) -> pd.DataFrame:
    """One row per customer code and purchase day: ``value`` and ``gap_days``.

    Vectorised with numpy (four times faster than a two-key groupby at 100k
    customers): the lines are sorted by one int64 key per (customer, day), each
    run of equal keys is one day, whose net amount and largest line come from
    ``reduceat``; days without a positive line are dropped.
    """
    day = lines["day"].to_numpy().astype("datetime64[D]").astype(np.int64)
    first = int(day.min()) if len(day) else 0
    key = lines["customer"].to_numpy().astype(np.int64) * _DAY_SPAN + (day - first)
    order = np.argsort(key, kind="stable")
    key, amount = key[order], lines["amount"].to_numpy(dtype=float)[order]
    if not len(key):
        return pd.DataFrame({"customer": pd.Series(dtype="int64"),
                             "day": pd.Series(dtype="datetime64[ns]"),
                             "value": pd.Series(dtype=float), "gap_days": pd.Series(dtype=float)})
    starts = np.r_[0, np.flatnonzero(np.diff(key)) + 1]
    net = np.add.reduceat(amount, starts)
    bought = np.maximum.reduceat(amount, starts) > 0
    key, net = key[starts][bought], net[bought]
    customer, day = key // _DAY_SPAN, key % _DAY_SPAN + first
    same = np.r_[False, customer[1:] == customer[:-1]]
    gap = np.where(same, np.r_[0, np.diff(day)], np.nan)
    return pd.DataFrame({"customer": customer,
                         "day": day.astype("datetime64[D]").astype("datetime64[ns]"),
                         "value": np.clip(net, 0.0, None), "gap_days": gap})


#: More days than any order history spans (about 2,800 years): the day part of a key.
_DAY_SPAN = 1 << 20


def purchase_days(orders: pd.DataFrame, *, as_of: object = None) -> pd.DataFrame:
    """One row per customer and purchase day (see the module docstring for the rules).

    Parameters
    ----------
    orders : DataFrame
        Canonical orders: ``customer_id``, ``order_date``, ``amount``.
    as_of : date-like, optional
        Lines on or after this day are left out. Default: the day after the
        last order (:func:`default_as_of`).

    Returns
    -------
    DataFrame
        ``customer_id``, ``day``, ``value`` (net amount of the day's lines,
        not below 0) and ``gap_days`` (days since the customer's previous
        purchase day; NaN on the first), sorted by customer and day.
    """
    lines, ids = _lines(orders, _as_of(orders, as_of))
    days = _days(lines)
    return pd.DataFrame({"customer_id": ids[days["customer"].to_numpy()],
                         "day": days["day"].to_numpy(), "value": days["value"].to_numpy(),
                         "gap_days": days["gap_days"].to_numpy()}, index=days.index)


def purchase_summary(orders: pd.DataFrame, *, as_of: object = None) -> pd.DataFrame:
    """Every customer's purchases before ``as_of`` in one row (rules: module docstring).

    Parameters
    ----------
    orders : DataFrame
        Canonical orders: ``customer_id``, ``order_date``, ``amount``, and
        ``order_id`` (when absent each line counts as one order).
    as_of : date-like, optional
        The day the summary is taken (usually the day after the analysis
        period); lines on or after it are left out. Default: the day after the
        last order (:func:`default_as_of`).

    Returns
    -------
    DataFrame
        One row per customer with at least one purchase before ``as_of``, sorted
        by ``customer_id`` (:data:`SUMMARY_COLUMNS`):

        - ``first_purchase``, ``last_purchase``: days of the first and last purchase
        - ``orders``: distinct orders with a purchase line
        - ``purchase_days``: distinct days with a purchase
        - ``monetary``: net amount of all the customer's lines (returns subtract)
        - ``recency_days``, ``tenure_days``: days from the last / first purchase
          to ``as_of`` (the latest possible buyer has recency 1)
        - ``longest_gap_days``: longest silence between two purchase days (0
          with a single purchase day)
        - ``repeat_purchases``: purchase days after the first (BG/NBD's ``x``)
        - ``span_weeks``: weeks from the first to the last purchase day
          (BG/NBD's recency ``t_x``)
        - ``tenure_weeks``: ``tenure_days / 7`` (BG/NBD's age ``T``)
        - ``repeat_value``: mean value of the repeat purchase days, 0 without
          repeats (Gamma-Gamma's mean transaction value)
    """
    as_of = _as_of(orders, as_of)
    lines, ids = _lines(orders, as_of)
    bought = lines.loc[lines["amount"] > 0]
    if bought.empty:
        return pd.DataFrame({c: pd.Series(dtype=_DTYPES.get(c, float))
                             for c in SUMMARY_COLUMNS})
    per = bought.groupby("customer").agg(first_purchase=("day", "min"),
                                         last_purchase=("day", "max"),
                                         orders=("order", "nunique"))
    days = _days(lines)
    by_customer = days.groupby("customer")
    repeat = days.loc[days["day"] > days["customer"].map(per["first_purchase"])]
    per = per.assign(
        purchase_days=by_customer.size(),
        monetary=lines.groupby("customer")["amount"].sum(),
        longest_gap_days=by_customer["gap_days"].max().fillna(0),
        repeat_value=repeat.groupby("customer")["value"].mean(),
    )
    span = (per["last_purchase"] - per["first_purchase"]).dt.days
    tenure = (as_of - per["first_purchase"]).dt.days
    per = per.assign(
        orders=per["orders"].astype("int64"),
        purchase_days=per["purchase_days"].astype("int64"),
        recency_days=(as_of - per["last_purchase"]).dt.days.astype("int64"),
        tenure_days=tenure.astype("int64"),
        longest_gap_days=per["longest_gap_days"].astype("int64"),
        repeat_purchases=(per["purchase_days"] - 1).astype("int64"),
        span_weeks=span / 7.0,
        tenure_weeks=tenure / 7.0,
        repeat_value=per["repeat_value"].fillna(0.0),
    )
    per = per.reset_index()
    per = per.assign(customer=ids[per["customer"].to_numpy()])
    return per.rename(columns={"customer": "customer_id"})[SUMMARY_COLUMNS]


_DTYPES = {"customer_id": object, "first_purchase": "datetime64[ns]",
           "last_purchase": "datetime64[ns]", "orders": "int64", "purchase_days": "int64",
           "recency_days": "int64", "tenure_days": "int64", "longest_gap_days": "int64",
           "repeat_purchases": "int64"}
