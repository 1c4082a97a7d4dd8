"""Customer lifecycle stages: new, active, at risk, churned, reactivated (step 4, insight).

Stages come from each customer's purchase days before the as-of day (the one
customer summary, :mod:`helpers.analysis.customers`), with windows in months
(``workbook.yaml`` ``analysis:``):

Checked in this order; the first rule that holds wins:

- **new**: first order within the last ``new_months``;
- **reactivated**: an order within the last ``new_months`` that came after a
  silence of at least ``churn_months`` (came back);
- **active**: last order within the last ``at_risk_months``;
- **at risk**: last order ``at_risk_months`` to ``churn_months`` ago;
- **churned**: no order for ``churn_months`` or longer;
- **no orders**: a customer without any purchase (a prospect).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["STAGES", "lifecycle", "lifecycle_sql", "lifecycle_summary"]

STAGES = ["new", "reactivated", "active", "at risk", "churned", "no orders"]


def lifecycle(summary: pd.DataFrame, days: pd.DataFrame, *, as_of: object,
              customers: pd.DataFrame | None = None, new_months: int = 3,
              at_risk_months: int = 6, churn_months: int = 12) -> pd.DataFrame:
    """The lifecycle stage of every customer on ``as_of``. (The DuckDB twin, reading the
    order lines instead of ``days``: :func:`lifecycle_sql`.)

    Parameters
    ----------
    summary : DataFrame
        :func:`helpers.analysis.customers.purchase_summary` taken on ``as_of``
        (purchases are positive lines before it; returns are not purchases).
    days : DataFrame
        :func:`helpers.analysis.customers.purchase_days` on the same day (for
        the silences before each purchase); :func:`lifecycle_sql` passes its
        connection instead.
    as_of : date-like
        The day the stages are computed for (usually the day after the period).
    customers : DataFrame, optional
        When given, customers without any purchase appear as ``no orders``.
    new_months, at_risk_months, churn_months : int
        Windows in months, ``new_months <= at_risk_months <= churn_months``.

    Returns
    -------
    DataFrame
        ``customer_id``, ``first_order``, ``last_order`` (first and last
        purchase day), ``orders`` (distinct orders with a purchase),
        ``days_since_last``, ``longest_gap_days`` (longest silence between
        two consecutive purchase days), ``stage``, sorted by id.
    """
    if not 1 <= new_months <= at_risk_months <= churn_months:
        raise ValueError("lifecycle windows must satisfy 1 <= new_months <= at_risk_months "
                         f"<= churn_months, got {new_months}, {at_risk_months}, "
                         f"{churn_months}")
    as_of = pd.Timestamp(as_of).normalize()
    new_start = as_of - pd.DateOffset(months=new_months)
    risk_start = as_of - pd.DateOffset(months=at_risk_months)
    churn_start = as_of - pd.DateOffset(months=churn_months)
    churn_days = (as_of - churn_start).days

    per = summary.rename(columns={"first_purchase": "first_order",
                                  "last_purchase": "last_order",
                                  "recency_days": "days_since_last"})
    # Came back: a purchase day in the new window after a silence of churn_months or more.
    if isinstance(days, pd.DataFrame):
        comeback = days.loc[(days["gap_days"] >= churn_days) & (days["day"] >= new_start),
                            "customer_id"].unique()
    else:  # a DuckDB connection with the order lines (lifecycle_sql)
        comeback = _comebacks_sql(days, as_of=as_of, new_start=new_start,
                                  churn_days=churn_days)
    recent = per["last_order"] >= new_start
    stage = np.select(
        [per["first_order"] >= new_start,
         recent & per["customer_id"].isin(comeback),
         per["last_order"] >= risk_start,
         per["last_order"] >= churn_start],
        ["new", "reactivated", "active", "at risk"], "churned")
    per = per.assign(stage=stage)
    if customers is not None:
        known = set(per["customer_id"].astype(object))
        never = customers.loc[~customers["customer_id"].astype(object).isin(known),
                              ["customer_id"]]
        per = pd.concat([per, never.assign(stage="no orders", orders=0)], ignore_index=True)
        per = per.astype({"orders": "int64"})
    columns = ["customer_id", "first_order", "last_order", "orders", "days_since_last",
               "longest_gap_days", "stage"]
    return per[columns].sort_values("customer_id", kind="mergesort").reset_index(drop=True)


def lifecycle_sql(con, summary: pd.DataFrame, *, as_of: object,
                  customers: pd.DataFrame | None = None, new_months: int = 3,
                  at_risk_months: int = 6, churn_months: int = 12) -> pd.DataFrame:
    """The DuckDB twin of :func:`lifecycle`: the same table, the silences before each
    purchase day read from the order lines of the view ``lines`` of ``con``
    (:func:`helpers.analysis.engine.open_lines`; the purchase days of
    :func:`helpers.analysis.engine.purchase_days_sql` on ``as_of``) in DuckDB, which
    returns only the customers who came back. ``summary`` is
    :func:`helpers.analysis.customers.purchase_summary` of the same lines on ``as_of``."""
    return lifecycle(summary, con, as_of=as_of, customers=customers, new_months=new_months,
                     at_risk_months=at_risk_months, churn_months=churn_months)


def _comebacks_sql(con, *, as_of: pd.Timestamp, new_start: pd.Timestamp,
                   churn_days: int) -> np.ndarray:
    """The customers with a purchase day on or after ``new_start`` that came after a
    silence of ``churn_days`` or more (:func:`lifecycle`'s "reactivated")."""
    from helpers.analysis.engine import day, fetch, purchase_days_sql

    found = fetch(con, f"SELECT DISTINCT customer_id FROM ({purchase_days_sql(con, as_of=as_of)}) "
                       f"WHERE gap_days >= {int(churn_days)} AND day >= {day(new_start)}")
    return found["customer_id"].to_numpy(dtype=object)


def lifecycle_summary(stages: pd.DataFrame, revenue: pd.Series | None = None) -> pd.DataFrame:
    """Customers (and revenue, when given) per stage, in :data:`STAGES` order.

    Parameters
    ----------
    stages : DataFrame
        :func:`lifecycle` output.
    revenue : Series, optional
        Revenue per ``customer_id`` (e.g. in the period).

    Returns
    -------
    DataFrame
        ``stage``, ``customers``, ``customer_share``, ``revenue``,
        ``revenue_share`` (with ``revenue``). What each stage means is in the text
        catalog (``stage_meaning``, :mod:`helpers.text.lookup`).
    """
    counts = stages["stage"].value_counts()
    present = [s for s in STAGES if s in counts.index]
    out = pd.DataFrame({"stage": present, "customers": [int(counts[s]) for s in present]})
    out = out.assign(customer_share=out["customers"] / out["customers"].sum())
    if revenue is not None:
        per = stages["customer_id"].map(revenue).fillna(0.0).groupby(stages["stage"]).sum()
        out = out.assign(revenue=out["stage"].map(per).astype(float))
        total = out["revenue"].sum()
        out = out.assign(revenue_share=out["revenue"] / total if total > 0 else np.nan)
    return out
