"""Tests for helpers.period.Period on hand-made dates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.period import Period


def test_twelve_months_ending_on_a_year_end():
    p = Period.ending("2024-12-31", months=12)
    assert p.start == pd.Timestamp("2023-12-31") and p.end == pd.Timestamp("2024-12-31")
    assert p.first_day == pd.Timestamp("2024-01-01")
    assert p.as_of == pd.Timestamp("2025-01-01")
    assert p.months == 12
    assert p.label() == p.label("zh") == "2024-01-01 – 2024-12-31"
    assert str(p) == p.label()


def test_previous_window_ends_where_this_one_starts():
    p = Period.ending("2024-12-31", months=12)
    prev = p.previous
    assert prev == Period(pd.Timestamp("2022-12-31"), pd.Timestamp("2023-12-31"), 12)
    assert prev.end == p.start
    assert prev.label() == "2023-01-01 – 2023-12-31"
    days = pd.Series(pd.to_datetime(["2023-12-31", "2024-01-01"]))
    # the shared boundary day belongs to exactly one of the two periods
    assert p.contains(days).tolist() == [False, True]
    assert prev.contains(days).tolist() == [True, False]


def test_boundaries_start_excluded_end_included_by_day():
    p = Period.between("2024-01-01", "2024-06-30")
    dates = pd.Series(pd.to_datetime([
        "2023-12-31 09:00",   # on start, with a time of day: outside
        "2023-12-31",         # on start: outside
        "2024-01-01 00:00",   # first day: inside
        "2024-06-30 23:59",   # last day late in the evening: inside
        "2024-07-01 00:00",   # the as-of day: outside
        None,                 # NaT: outside
    ], format="ISO8601"), index=list("abcdef"))
    inside = p.contains(dates)
    assert inside.index.tolist() == list("abcdef")
    assert inside.dtype == bool
    assert inside.tolist() == [False, False, True, True, False, False]
    # arrays and strings are compared the same way
    as_array = p.contains(dates.to_numpy())
    assert isinstance(as_array, np.ndarray) and as_array.tolist() == inside.tolist()
    assert p.contains(["2024-03-01", "2024-07-01"]).tolist() == [True, False]


def test_month_end_arithmetic_and_leap_days():
    may = Period.ending("2024-05-31", months=3)
    assert may.start == pd.Timestamp("2024-02-29")          # Feb 29 in a leap year
    assert may.first_day == pd.Timestamp("2024-03-01")
    assert may.previous.start == pd.Timestamp("2023-11-29")
    leap = Period.ending("2024-02-29", months=12)
    assert leap.start == pd.Timestamp("2023-02-28")
    assert leap.first_day == pd.Timestamp("2023-03-01")
    assert leap.as_of == pd.Timestamp("2024-03-01")
    assert leap.contains(pd.Series(pd.to_datetime(["2024-02-29 18:00"]))).item()
    earlier = Period.ending("2024-02-29", months=1).years_earlier()
    # both ends move a year: (2023-01-29, 2023-02-28], not 1 month before 2023-02-28
    assert (earlier.start, earlier.end) == (pd.Timestamp("2023-01-29"),
                                            pd.Timestamp("2023-02-28"))


def test_default_end_is_the_last_order_day():
    dates = pd.Series(pd.to_datetime(["2024-03-01", "2024-12-31 15:30", None],
                                     format="ISO8601"))
    p = Period.ending("", months=12, dates=dates)
    assert p.end == pd.Timestamp("2024-12-31")               # 15:30 normalised to the day
    assert Period.ending(None, dates=dates) == p
    with pytest.raises(ValueError, match="no order dates"):
        Period.ending("", dates=pd.Series([], dtype="datetime64[ns]"))
    with pytest.raises(ValueError, match="months must be at least 1"):
        Period.ending("2024-12-31", months=0)


def test_between_first_and_last_day():
    p = Period.between("2025-01-01", "2025-12-31 10:00")
    assert p.start == pd.Timestamp("2024-12-31") and p.end == pd.Timestamp("2025-12-31")
    assert p.label() == "2025-01-01 – 2025-12-31"
    with pytest.raises(ValueError, match="length in months"):
        _ = p.previous
    with pytest.raises(ValueError, match="start < end"):
        Period.between("2025-02-01", "2025-01-01")
    with pytest.raises(ValueError, match="lang"):
        p.label("fr")


def test_order_times_on_the_last_day_count_everywhere():
    """Orders with a time of day (15:30 on the period's last day) are in the period for
    every consumer: the brief's order count and the period's orders (step 1 and the
    concentration window, Period.contains), the region KPIs and the customer summary
    (as of the day after the period); an order at 00:30 the next day is not (issue 12)."""
    from helpers.analysis import kpis
    from helpers.analysis.concentration import concentration
    from helpers.analysis.customers import purchase_summary

    p = Period.ending("2025-12-31", 12)
    orders = pd.DataFrame({
        "order_id": ["a", "b", "c", "d"], "customer_id": ["c1", "c1", "c2", "c3"],
        "order_date": pd.to_datetime(["2025-01-01 00:00:00", "2025-12-31 15:30:00",
                                      "2025-12-31 23:59:59", "2026-01-01 00:30:00"]),
        "amount": [100.0, 200.0, 300.0, 400.0]})
    inside = p.contains(orders["order_date"])
    assert inside.tolist() == [True, True, True, False]
    assert p.contains(orders["order_date"].to_numpy()).tolist() == [True, True, True, False]
    assert p.contains(pd.to_datetime(["2024-12-31 23:59"])).tolist() == [False]
    # the concentration of the period's revenue counts the 15:30 and 23:59 orders
    by_customer = orders.loc[inside].groupby("customer_id")["amount"].sum()
    assert by_customer.to_dict() == {"c1": 300.0, "c2": 300.0}
    assert concentration(by_customer)["top20_share"] == pytest.approx(0.5)
    customers = pd.DataFrame({"customer_id": ["c1", "c2", "c3"],
                              "province": ["广东省", "广东省", "浙江省"]})
    table = kpis.region_kpis(customers, orders, period=p).set_index("region")
    assert table.loc["广东省", "revenue"] == 600.0
    assert table.loc["浙江省", "revenue"] == 0.0
    summary = purchase_summary(orders, as_of=p.as_of).set_index("customer_id")
    assert summary.loc["c1", "monetary"] == 300.0 and summary.loc["c1", "recency_days"] == 1
    assert "c3" not in summary.index
