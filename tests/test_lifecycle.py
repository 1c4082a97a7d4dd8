"""Tests for helpers.analysis.lifecycle on hand-made customers, one per stage."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.analysis import lifecycle
from helpers.analysis.customers import purchase_days, purchase_summary

AS_OF = pd.Timestamp("2025-01-01")   # windows: new from 2024-10-01, at risk before
# 2024-07-01, churned before 2024-01-01 (3, 6, 12 months)


def _stages(orders: pd.DataFrame, **kwargs) -> pd.DataFrame:
    """Lifecycle stages on AS_OF from the customer summary of ``orders``."""
    return lifecycle.lifecycle(purchase_summary(orders, as_of=AS_OF),
                               purchase_days(orders, as_of=AS_OF), as_of=AS_OF, **kwargs)


def _orders(plan: dict[str, list[str]]) -> pd.DataFrame:
    rows = [(f"{c}{i}", c, day, 100.0) for c, days in plan.items()
            for i, day in enumerate(days)]
    frame = pd.DataFrame(rows, columns=["order_id", "customer_id", "order_date", "amount"])
    return frame.assign(order_date=pd.to_datetime(frame["order_date"]))


PLAN = {
    "new": ["2024-11-15"],
    "back": ["2022-05-01", "2024-12-01"],            # 31 months of silence, back in Dec
    "back_then_more": ["2022-05-01", "2024-10-10", "2024-12-20"],
    "active": ["2023-03-01", "2024-08-01"],
    "risk": ["2023-05-01", "2024-03-01"],
    "gone": ["2022-01-01", "2023-06-30"],
    "edge_new": ["2024-10-01"],                      # exactly on the new-window start
}


def test_lifecycle_stages_by_hand():
    orders = _orders(PLAN)
    orders.loc[len(orders)] = ["late", "gone", pd.Timestamp("2025-01-01"), 100.0]  # as-of day
    orders.loc[len(orders)] = ["ret", "active", pd.Timestamp("2024-12-01"), -100.0]  # return
    customers = pd.DataFrame({"customer_id": [*PLAN, "prospect"]})
    stages = _stages(orders, customers=customers)
    got = stages.set_index("customer_id")["stage"].to_dict()
    assert got == {"new": "new", "back": "reactivated", "back_then_more": "reactivated",
                   "active": "active", "risk": "at risk", "gone": "churned",
                   "edge_new": "new", "prospect": "no orders"}
    row = stages.set_index("customer_id").loc["back"]
    assert row["longest_gap_days"] == (pd.Timestamp("2024-12-01")
                                       - pd.Timestamp("2022-05-01")).days
    assert row["days_since_last"] == 31 and row["orders"] == 2
    assert stages.set_index("customer_id").loc["active", "orders"] == 2  # return not counted


def test_lifecycle_windows_are_configurable():
    orders = _orders(PLAN)
    wide = _stages(orders, new_months=1, at_risk_months=12,
                   churn_months=36).set_index("customer_id")["stage"]
    assert wide["new"] == "active"          # first order 1.5 months ago: no longer new
    assert wide["risk"] == "active" and wide["gone"] == "at risk"
    assert wide["back"] == "active"         # 31 months of silence is not churn at 36
    with pytest.raises(ValueError, match="new_months <= at_risk_months"):
        _stages(orders, new_months=6, at_risk_months=3)


def test_lifecycle_summary_counts_and_revenue():
    stages = _stages(_orders(PLAN))
    revenue = pd.Series({"new": 100.0, "back": 300.0, "active": 600.0})
    summary = lifecycle.lifecycle_summary(stages, revenue).set_index("stage")
    assert list(summary.index) == ["new", "reactivated", "active", "at risk", "churned"]
    assert summary["customers"].tolist() == [2, 2, 1, 1, 1]
    assert summary.loc["reactivated", "revenue"] == 300.0
    assert summary["revenue_share"].sum() == pytest.approx(1.0)
