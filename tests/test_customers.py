"""Tests for helpers.analysis.customers: the one purchase summary, by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.analysis import clusters, lifecycle, ltv, segments
from helpers.analysis.customers import (
    SUMMARY_COLUMNS,
    default_as_of,
    purchase_days,
    purchase_summary,
)


def _orders(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["order_id", "customer_id", "order_date", "amount"])
    return frame.assign(order_date=pd.to_datetime(frame["order_date"], format="ISO8601"))


def test_purchase_summary_by_hand():
    orders = _orders([
        ("o1", "a", "2024-01-01", 100.0),
        ("o2", "a", "2024-01-01", 50.0),     # same day: one purchase day of 150
        ("o3", "a", "2024-01-15", 200.0),
        ("o4", "a", "2024-01-29", 300.0),
        ("o5", "a", "2024-01-29", -100.0),   # return the same day: a purchase day of 200
        ("o6", "b", "2024-02-26", 80.0),     # 13 days before as-of (leap year)
        ("o7", "c", "2024-03-10", 90.0),     # on the as-of day: left out
    ])
    before = orders.copy()
    summary = purchase_summary(orders, as_of="2024-03-10")
    pd.testing.assert_frame_equal(orders, before)
    assert list(summary.columns) == SUMMARY_COLUMNS
    assert list(summary["customer_id"]) == ["a", "b"]
    a, b = summary.set_index("customer_id").loc["a"], summary.set_index("customer_id").loc["b"]
    assert a["first_purchase"] == pd.Timestamp("2024-01-01")
    assert a["last_purchase"] == pd.Timestamp("2024-01-29")
    assert a["orders"] == 4 and a["purchase_days"] == 3      # o1, o2, o3, o4; 3 days
    assert a["monetary"] == pytest.approx(550.0)
    assert a["recency_days"] == 41 and a["tenure_days"] == 69
    assert a["longest_gap_days"] == 14
    assert a["repeat_purchases"] == 2
    assert a["span_weeks"] == pytest.approx(4.0) and a["tenure_weeks"] == pytest.approx(69 / 7)
    assert a["repeat_value"] == pytest.approx(200.0)          # (200 + 200) / 2
    assert b["repeat_purchases"] == 0 and b["repeat_value"] == 0.0
    assert b["tenure_weeks"] == pytest.approx(13 / 7) and b["longest_gap_days"] == 0


def test_returns_are_never_purchases_but_count_in_value():
    orders = _orders([
        ("o1", "a", "2024-01-10", 500.0),
        ("r1", "a", "2024-02-20", -200.0),   # a later return: not a purchase, value 300
        ("o2", "b", "2024-01-05", 100.0),
        ("o3", "b", "2024-02-01", 100.0),    # bought 100 and returned 400 the same day:
        ("r2", "b", "2024-02-01", -400.0),   # still a purchase day, worth 0 (not -300)
        ("r3", "c", "2024-02-15", -50.0),    # returns only: not a customer with purchases
        ("z0", "d", "2024-02-01", 0.0),      # a zero line is no purchase either
    ])
    summary = purchase_summary(orders, as_of="2024-03-01").set_index("customer_id")
    assert list(summary.index) == ["a", "b"]
    assert summary.loc["a", "last_purchase"] == pd.Timestamp("2024-01-10")
    assert summary.loc["a", "recency_days"] == 51 and summary.loc["a", "monetary"] == 300.0
    assert summary.loc["b", "purchase_days"] == 2 and summary.loc["b", "repeat_purchases"] == 1
    assert summary.loc["b", "monetary"] == -200.0
    assert summary.loc["b", "repeat_value"] == 0.0
    days = purchase_days(orders, as_of="2024-03-01")
    assert days["customer_id"].tolist() == ["a", "b", "b"]
    assert days["value"].tolist() == [500.0, 100.0, 0.0]
    assert days["gap_days"].isna().tolist() == [True, True, False]
    assert days["gap_days"].iloc[2] == 27


def test_orders_lines_days_and_times():
    orders = _orders([
        ("o1", "a", "2024-01-01T09:00", 10.0),
        ("o1", "a", "2024-01-01T09:00", 20.0),      # a second line of o1: one order
        ("o2", "a", "2024-01-31T23:59", 5.0),       # late on the last day before as-of
        ("o3", "a", "2024-02-01T00:30", 7.0),       # on the as-of day: left out
        ("o4", None, "2024-01-05", 9.0),            # no customer: left out
        ("o5", "b", None, 9.0),                     # no date: left out
    ])
    summary = purchase_summary(orders, as_of="2024-02-01").set_index("customer_id")
    assert list(summary.index) == ["a"]
    assert summary.loc["a", "orders"] == 2 and summary.loc["a", "purchase_days"] == 2
    assert summary.loc["a", "recency_days"] == 1 and summary.loc["a", "monetary"] == 35.0
    without_ids = purchase_summary(orders.drop(columns="order_id"), as_of="2024-02-01")
    assert without_ids.set_index("customer_id").loc["a", "orders"] == 3   # each line


def test_default_as_of_is_the_day_after_the_last_order():
    orders = _orders([("o1", "a", "2024-05-01T15:00", 10.0), ("r1", "a", "2024-05-03", -1.0)])
    assert default_as_of(orders) == pd.Timestamp("2024-05-04")
    summary = purchase_summary(orders)
    assert summary["recency_days"].item() == 3 and summary["monetary"].item() == 9.0
    with pytest.raises(ValueError, match="no order dates"):
        purchase_summary(orders.iloc[:0])
    empty = purchase_summary(orders, as_of="2024-01-01")
    assert empty.empty and list(empty.columns) == SUMMARY_COLUMNS
    assert segments.rfm(empty).empty and clusters.customer_features(empty).empty


def test_rfm_clusters_lifecycle_and_ltv_read_the_same_facts():
    """Before the one summary each module had its own rules: lifecycle counted order
    lines (2 for a two-line order), lifetime value skipped a purchase day whose
    lines netted to 0 or less and left returns on other days out of its value."""
    orders = _orders([
        ("o1", "a", "2024-01-02", 60.0), ("o1", "a", "2024-01-02", 40.0),  # one order
        ("o2", "a", "2024-03-01", 50.0), ("r1", "a", "2024-03-01", -80.0),
        ("r2", "a", "2024-03-20", -10.0),                                  # a later return
        ("o3", "b", "2024-02-10", 70.0),
    ])
    as_of = pd.Timestamp("2024-04-01")
    summary = purchase_summary(orders, as_of=as_of)
    rfm = segments.rfm(summary).set_index("customer_id")
    features = clusters.customer_features(summary).set_index("customer_id")
    stages = lifecycle.lifecycle(summary, purchase_days(orders, as_of=as_of),
                                 as_of=as_of).set_index("customer_id")
    value, _ = ltv.customer_ltv(summary, min_repeat_customers=20)
    value = value.set_index("customer_id")
    for cid in ("a", "b"):
        assert rfm.loc[cid, "frequency"] == features.loc[cid, "frequency"] \
            == stages.loc[cid, "orders"], cid
        assert rfm.loc[cid, "recency_days"] == features.loc[cid, "recency_days"] \
            == stages.loc[cid, "days_since_last"], cid
        assert rfm.loc[cid, "last_order_date"] == stages.loc[cid, "last_order"], cid
        assert rfm.loc[cid, "monetary"] == value.loc[cid, "historical_value"], cid
        assert value.loc[cid, "T_weeks"] * 7 == pytest.approx(features.loc[cid, "tenure_days"])
    assert rfm.loc["a", "frequency"] == 2                     # o1 (two lines) and o2
    assert rfm.loc["a", "monetary"] == 60.0                   # 100 + 50 - 80 - 10
    assert value.loc["a", "frequency"] == 1                   # 2024-03-01 is a purchase day
    assert value.loc["a", "recency_weeks"] == pytest.approx(59 / 7)
