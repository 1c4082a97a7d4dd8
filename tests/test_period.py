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
