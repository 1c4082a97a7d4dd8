"""Customer lifecycle stages: new, active, at risk, churned, reactivated (step 4, insight).

Stages come from the dates of each customer's positive order lines before the
as-of day, with windows in months (``workbook.yaml`` ``analysis:``):

Checked in this order; the first rule that holds wins:

- **new**: first order within the last ``new_months``;
- **reactivated**: an order within the last ``new_months`` that came after a
  silence of at least ``churn_months`` (came back);
- **active**: last order within the last ``at_risk_months``;
- **at risk**: last order ``at_risk_months`` to ``churn_months`` ago;
- **churned**: no order for ``churn_months`` or longer;
- **no orders**: a customer without any positive order line (a prospect).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["STAGES", "lifecycle", "lifecycle_summary"]

STAGES = ["new", "reactivated", "active", "at risk", "churned", "no orders"]


def lifecycle(orders: pd.DataFrame, *, as_of: object, customers: pd.DataFrame | None = None,
              new_months: int = 3, at_risk_months: int = 6,
              churn_months: int = 12) -> pd.DataFrame:
    """The lifecycle stage of every customer on ``as_of``.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders (``customer_id``, ``order_date``, ``amount``).
        Lines on or after ``as_of`` are ignored; returns (amount <= 0) do
        not count as orders.
    as_of : date-like
        The day the stages are computed for (usually the day after the period).
    customers : DataFrame, optional
        When given, customers without any order appear as ``no orders``.
    new_months, at_risk_months, churn_months : int
        Windows in months, ``new_months <= at_risk_months <= churn_months``.

    Returns
    -------
    DataFrame
        ``customer_id``, ``first_order``, ``last_order``, ``orders``,
        ``days_since_last``, ``longest_gap_days`` (longest silence between
        two consecutive order days), ``stage``, sorted by id.
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

    day = pd.to_datetime(orders["order_date"]).dt.normalize()
    keep = (day.notna() & (day < as_of) & (orders["amount"].astype(float) > 0)
            & orders["customer_id"].notna())
    # Group on integer codes of the ids (sorted like the ids): much faster than strings.
    codes, ids = pd.factorize(orders["customer_id"][keep], sort=True)
    lines = pd.DataFrame({"customer_id": codes, "day": day[keep].to_numpy()})
    days = lines.drop_duplicates().sort_values(["customer_id", "day"])
    gap = days.groupby("customer_id")["day"].diff().dt.days
    per = days.assign(gap=gap).groupby("customer_id").agg(
        first_order=("day", "min"), last_order=("day", "max"),
        longest_gap_days=("gap", "max"))
    per = per.join(lines.groupby("customer_id").size().rename("orders"))
    # Came back: an order day in the new window after a silence of churn_months or more.
    comeback = days.loc[(gap >= churn_days) & (days["day"] >= new_start), "customer_id"]
    per = per.assign(
        days_since_last=(as_of - per["last_order"]).dt.days.astype("int64"),
        orders=per["orders"].astype("int64"),
        longest_gap_days=per["longest_gap_days"].fillna(0).astype("int64"),
    )
    recent = per["last_order"] >= new_start
    stage = np.select(
        [per["first_order"] >= new_start,
         recent & per.index.isin(comeback.unique()),
         per["last_order"] >= risk_start,
         per["last_order"] >= churn_start],
        ["new", "reactivated", "active", "at risk"], "churned")
    per = per.assign(stage=stage).reset_index()
    per = per.assign(customer_id=ids[per["customer_id"].to_numpy()])
    if customers is not None:
        known = set(per["customer_id"].astype(object))
        never = customers.loc[~customers["customer_id"].astype(object).isin(known),
                              ["customer_id"]]
        per = pd.concat([per, never.assign(stage="no orders", orders=0)], ignore_index=True)
        per = per.astype({"orders": "int64"})
    columns = ["customer_id", "first_order", "last_order", "orders", "days_since_last",
               "longest_gap_days", "stage"]
    return per[columns].sort_values("customer_id", kind="mergesort").reset_index(drop=True)


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
