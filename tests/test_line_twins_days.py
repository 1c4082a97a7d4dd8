"""The DuckDB twins of step 4's readers of the purchase days and of the period's orders
(``*_sql`` beside their pandas functions: :func:`helpers.analysis.buying.buying_summary_sql`,
:func:`~helpers.analysis.buying.weekdays_sql`,
:func:`helpers.analysis.lifecycle.lifecycle_sql`,
:func:`helpers.analysis.ltv.holdout_data_sql`, ``holdout_check_sql`` and
``lifetime_value_sql``) give the pandas functions' tables from the order lines of
:func:`helpers.analysis.engine.open_lines`, without a row per purchase day or per order in
pandas: on the bundled sample (the whole market, a province and a city) and on hand-made
lines with traps and known answers (returns, a day whose returns exceed its purchases,
lines after as_of, one order, customers without a region, ids beyond ASCII, silences of
exactly the churn window, an empty scope).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from helpers import context
from helpers.analysis import buying, engine, lifecycle, ltv
from helpers.analysis.customers import purchase_days, purchase_summary
from helpers.period import Period

SCOPES = ["ALL", "广东", "广东:深圳"]
PERIOD = Period.between("2024-01-01", "2024-12-31")          # as_of 2025-01-01


def _open(ctx, path):
    """The scope's views, as the engine path of a region notebook opens them."""
    if ctx.scope.kind == "city":
        return engine.open_lines(path, customer_ids=ctx.customers["customer_id"])
    if ctx.scope.kind == "all":
        return engine.open_lines(path)
    return engine.open_lines(path, provinces=list(ctx.scope.provinces))


def _same(twin, pandas) -> None:
    """Notes: numbers to 1e-9 relative, everything else exactly."""
    if isinstance(pandas, dict):
        assert isinstance(twin, dict) and list(twin) == list(pandas)
        for key in pandas:
            _same(twin[key], pandas[key])
    elif isinstance(pandas, float) and not math.isnan(pandas):
        assert twin == pytest.approx(pandas, rel=1e-9, abs=1e-12)
    elif isinstance(pandas, float):
        assert math.isnan(twin)
    else:
        assert twin == pandas


@pytest.fixture(scope="module")
def sample(sample_run):
    return sample_run


def _buying_args(ctx):
    """The regions and the lines' own region column, as step 4's ``_buyers`` has them."""
    level = ctx.scope.sublevel
    people = ctx.customers.drop_duplicates("customer_id")
    regions = (people.set_index("customer_id")[level] if level in people
               else pd.Series(pd.NA, index=people["customer_id"], dtype="string"))
    regions = regions.where(regions != ctx.scope.name)  # the report's own row is first
    return regions, (level if level == "province" else None)


@pytest.mark.parametrize("region", SCOPES)
def test_sample_buying_and_weekdays_equal_pandas(sample, region):
    ctx = context.open_step(region=region, run_dir=str(sample))
    con = _open(ctx, sample / "prep" / "orders.parquet")
    p, regions, column = ctx.period, *_buying_args(ctx)
    days = purchase_days(ctx.orders, as_of=p.as_of)
    orders = buying.period_orders(ctx.period_orders, regions, column)
    expected = buying.buying_summary(days, orders, regions, start=p.first_day,
                                     market=ctx.scope.name, min_count=5)
    assert len(expected) > (ctx.scope.kind != "city") and expected["intervals"].iloc[0] > 0
    assert expected["order_median"].notna().sum() > (ctx.scope.kind != "city")
    found = buying.buying_summary_sql(con, regions, period=p, market=ctx.scope.name,
                                      min_count=5, column=column)
    pd.testing.assert_frame_equal(found, expected, rtol=1e-9)
    want = buying.weekdays(orders, market=ctx.scope.name)
    assert want["p"].notna().any() or region != "ALL"
    pd.testing.assert_frame_equal(
        buying.weekdays_sql(con, regions, period=p, column=column, market=ctx.scope.name),
        want, rtol=1e-9)


@pytest.mark.parametrize("region", SCOPES)
def test_sample_lifecycle_and_lifetime_value_equal_pandas(sample, region):
    ctx = context.open_step(region=region, run_dir=str(sample))
    con = _open(ctx, sample / "prep" / "orders.parquet")
    a, as_of = ctx.config.analysis, ctx.period.as_of
    summary = purchase_summary(ctx.orders, as_of=as_of)
    days = purchase_days(ctx.orders, as_of=as_of)
    windows = {"new_months": a.new_months, "at_risk_months": a.at_risk_months,
               "churn_months": a.churn_months}
    expected = lifecycle.lifecycle(summary, days, as_of=as_of, customers=ctx.customers,
                                   **windows)
    assert (expected["stage"] == "reactivated").any()
    pd.testing.assert_frame_equal(
        lifecycle.lifecycle_sql(con, summary, as_of=as_of, customers=ctx.customers, **windows),
        expected)
    regions = ctx.customers.drop_duplicates("customer_id").set_index("customer_id")[
        ctx.scope.sublevel]
    options = {"regions": regions, "months": a.ltv_months, "interval_draws": 20,
               "min_repeat_customers": a.ltv_min_repeat_customers,
               "holdout_months": a.ltv_holdout_months}
    table, by_region, note = ltv.lifetime_value(summary, days, as_of=as_of, **options)
    assert "holdout" in note
    found = ltv.lifetime_value_sql(con, summary, as_of=as_of, **options)
    pd.testing.assert_frame_equal(found[0], table)
    pd.testing.assert_frame_equal(found[1], by_region)
    _same(found[2], note)
    split = note["history"]
    frame = ltv.holdout_data(days, split=split["split"], as_of=split["as_of"])
    assert (frame["x"] > 0).any() and (frame["actual"] > 0).any()
    pd.testing.assert_frame_equal(
        ltv.holdout_data_sql(con, split=split["split"], as_of=split["as_of"]), frame)


HAND = [  # order_id, customer_id, order_date, amount, province
    ("o1", "a", "2023-12-20", 10.0, "北"),
    ("o2", "a", "2024-01-10 09:00", 20.0, "北"),
    ("o3", "a", "2024-01-20", 30.0, "北"),
    ("r1", "a", "2024-01-20", -50.0, "北"),       # returns above the day's purchases
    ("o4", "a", "2024-03-01", 40.0, "北"),
    ("o5", "b", "2024-02-01", 50.0, "南"),
    ("o6", "b", "2024-02-11", 35.0, "南"),
    ("o6", "b", "2024-02-11", 25.0, "南"),        # an order of two lines: one order of 60
    ("o7", "c", "2024-05-05", 70.0, "南"),        # one order
    ("r2", "d", "2024-06-01", -30.0, "北"),       # only a return: never a purchase
    ("o8", "e", "2025-01-01", 90.0, "北"),        # on as_of: after the period
    ("o9", "g", "2024-06-01", 5.0, "南"),         # no region
    ("p1", "客户9", "2022-01-01", 15.0, "南"),     # an id beyond ASCII
    ("o10", "客户9", "2024-04-01", 15.0, "南"),    # back after 821 days, before the new window
    ("p2", "h", "2023-01-15", 8.0, "北"),
    ("o11", "h", "2024-11-15", 8.0, "北"),        # back after 670 days in the new window
    ("p3", "m", "2023-11-20", 6.0, "北"),
    ("o12", "m", "2024-11-20", 6.0, "北"),        # back after 366 days: the churn window
    ("p4", "m2", "2023-11-21", 6.0, "北"),
    ("o13", "m2", "2024-11-20", 6.0, "北"),       # 365 days: one short of it
    ("p5", "n", "2023-01-01", 4.0, "北"),
    ("r3", "n", "2024-11-01", -4.0, "北"),        # a return in the new window: no comeback
]
WHERE = pd.Series({"a": "N", "d": "N", "e": "N", "h": "N", "m": "N", "m2": "N", "n": "N",
                   "b": "S", "c": "S", "客户9": "S", "g": pd.NA}, dtype="string")


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    frame = pd.DataFrame(HAND, columns=["order_id", "customer_id", "order_date", "amount",
                                        "province"]).astype(
        {"order_id": "string", "customer_id": "string", "province": "string"})
    frame["order_date"] = pd.to_datetime(frame["order_date"], format="ISO8601").astype(
        "datetime64[ns]")
    path = tmp_path_factory.mktemp("days") / "orders.parquet"
    frame.to_parquet(path, index=False)
    return path, pd.read_parquet(path)


def _scope(hand, provinces):
    path, frame = hand
    con = engine.open_lines(path, provinces=provinces)
    lines = frame if provinces is None else frame.loc[frame["province"].isin(provinces)]
    return con, lines


@pytest.mark.parametrize("provinces", [None, ["南"], ["nowhere"]])
@pytest.mark.parametrize("column", [None, "province"])
def test_hand_buying_known_answers(hand, provinces, column):
    con, lines = _scope(hand, provinces)
    # the lines' own column holds provinces: the regions are then provinces too (step 4's)
    regions = WHERE if column is None else WHERE.map({"N": "北", "S": "南"}).astype("string")
    south_name = "S" if column is None else "南"
    days = purchase_days(lines, as_of=PERIOD.as_of)
    orders = buying.period_orders(lines.loc[PERIOD.contains(lines["order_date"])], regions,
                                  column)
    expected = buying.buying_summary(days, orders, regions, start=PERIOD.first_day,
                                     min_count=2)
    found = buying.buying_summary_sql(con, regions, period=PERIOD, min_count=2, column=column)
    pd.testing.assert_frame_equal(found, expected, rtol=1e-9)
    weekdays = buying.weekdays(orders)
    pd.testing.assert_frame_equal(buying.weekdays_sql(con, regions, period=PERIOD,
                                                      column=column), weekdays, rtol=1e-9)
    if provinces == ["nowhere"]:   # an empty scope: the report's row, nothing in it
        assert found["region"].tolist() == ["ALL"] and found["buyers"].iloc[0] == 0
        assert found["orders"].iloc[0] == 0 and math.isnan(found["order_median"].iloc[0])
        assert weekdays["orders"].tolist() == [0]
        return
    if provinces is not None:
        return
    whole = found.iloc[0]
    # purchase days in 2024: a 3 (01-10, 01-20, 03-01), b 2, c, g, 客户9, h, m, m2 1 each
    assert whole["buyers"] == 8 and whole["days_median"] == 1.0
    assert whole["one_day_share"] == pytest.approx(6 / 8)
    assert whole["days_q3"] == np.percentile([3, 2, 1, 1, 1, 1, 1, 1], 75)
    # intervals ending in 2024: a 21, 10, 41; b 10; 客户9 821; h 670; m 366; m2 365
    gaps = [21, 10, 41, 10, 821, 670, 366, 365]
    assert whole["intervals"] == 8
    assert whole["interval_median"] == pytest.approx(np.percentile(gaps, 50), rel=1e-12)
    assert whole["interval_q1"] == pytest.approx(np.percentile(gaps, 25), rel=1e-12)
    # orders: o2 .. o7 (o6 one of 60), o9, o10 .. o13; none for r1, r2, r3 or o8
    values = [20, 30, 40, 50, 60, 70, 5, 15, 8, 6, 6]
    assert whole["orders"] == 11 and whole["order_mean"] == pytest.approx(np.mean(values))
    assert whole["order_p90"] == pytest.approx(np.percentile(values, 90), rel=1e-12)
    south = found.set_index("region").loc[south_name]
    # by customer: b, c, 客户9 (g has none); by the line's province also g's o9
    assert south["orders"] == (4 if column is None else 5)
    assert weekdays["orders"].iloc[0] == 11
    assert pd.Timestamp("2024-01-20").weekday() == 5      # o3 was on a Saturday
    assert weekdays.set_index("region").loc["ALL", "sat"] == pytest.approx(2 / 11)  # o3, o9


@pytest.mark.parametrize("provinces", [None, ["南"], ["nowhere"]])
def test_hand_lifecycle_and_holdout_known_answers(hand, provinces):
    con, lines = _scope(hand, provinces)
    as_of = PERIOD.as_of
    summary = purchase_summary(lines, as_of=as_of)
    days = purchase_days(lines, as_of=as_of)
    people = pd.DataFrame({"customer_id": pd.Series(list(WHERE.index) + ["x"], dtype="string")})
    expected = lifecycle.lifecycle(summary, days, as_of=as_of, customers=people)
    found = lifecycle.lifecycle_sql(con, summary, as_of=as_of, customers=people)
    pd.testing.assert_frame_equal(found, expected)
    stage = found.set_index("customer_id")["stage"]
    if provinces is None:
        # back after 670 and after exactly 366 days (12 months before 2025-01-01) in the new
        # window; 365 days is one short; 客户9 came back before the window; n only returned
        assert stage["h"] == stage["m"] == "reactivated"
        assert stage["m2"] == "active" and stage["客户9"] == "at risk"
        assert stage["n"] == "churned" and stage["d"] == stage["x"] == "no orders"
    split, end = "2024-07-01", "2025-01-01"
    frame = ltv.holdout_data(days, split=split, as_of=end)
    pd.testing.assert_frame_equal(ltv.holdout_data_sql(con, split=split, as_of=end), frame)
    if provinces is None:
        row = frame.set_index("customer_id").loc["a"]
        # a: 2023-12-20, 01-10, 01-20 (its returns do not undo the purchase), 03-01
        assert row["x"] == 3 and row["t_x"] == 72 / 7 and row["T"] == 194 / 7
        assert row["actual"] == 0
        assert frame.set_index("customer_id").loc["h", "actual"] == 1
        assert "e" not in set(frame["customer_id"])   # its only purchase is on as_of
    check = ltv.holdout_check(days, split=split, as_of=end, min_repeat_customers=1)
    _same(ltv.holdout_check_sql(con, split=split, as_of=end, min_repeat_customers=1), check)
    value = ltv.lifetime_value(summary, days, as_of=as_of, min_calibration_months=1,
                               min_holdout_months=1, min_repeat_customers=1)
    found_value = ltv.lifetime_value_sql(con, summary, as_of=as_of, min_calibration_months=1,
                                         min_holdout_months=1, min_repeat_customers=1)
    pd.testing.assert_frame_equal(found_value[0], value[0])
    pd.testing.assert_frame_equal(found_value[1], value[1])
    _same(found_value[2], value[2])
    if provinces == ["nowhere"]:
        assert value[2]["reason_key"] == "no_purchases" and not len(frame)
    else:
        assert "holdout" in value[2]


def test_regions_twice_are_refused(hand):
    con, _ = _scope(hand, None)
    twice = pd.Series(["N", "S"], index=pd.Index(["a", "a"], dtype="string"))
    with pytest.raises(ValueError, match="customer_id appears more than once"):
        buying.buying_summary_sql(con, twice, period=PERIOD)


def test_quantile_cont_is_pandas_linear_quantile():
    """The twins' quantiles (``quantile_cont``) are pandas' and numpy's default (linear
    between the closest ranks, (n - 1) q); ``quantile_disc`` is not (it takes a value)."""
    con = engine.connect()
    cases = {"four": [4.0, 1.0, 3.0, 2.0], "one": [7.0], "ties": [1.0, 1.0, 1.0, 5.0, 9.0],
             "money": [0.1, 0.2, 1e6 / 3, 12.5, 99.99, 3.0, 0.3]}
    for name, values in cases.items():
        con.register("v", pd.DataFrame({"x": values}))
        for q in buying._QS:
            cont, disc = con.execute(f"SELECT quantile_cont(x, {q}), quantile_disc(x, {q}) "
                                     "FROM v").fetchone()
            want = pd.Series(values).groupby([0] * len(values)).quantile(q).iloc[0]
            assert want == np.quantile(values, q)
            assert cont == pytest.approx(want, rel=1e-14, abs=0), (name, q)  # last digits
        con.unregister("v")
    con.register("v", pd.DataFrame({"x": cases["four"]}))
    # by hand: 1, 2, 3, 4 at 0.25 lies at rank 0.75 between 1 and 2: 1.75
    assert con.execute("SELECT quantile_cont(x, 0.25), quantile_disc(x, 0.25) FROM v"
                       ).fetchone() == (1.75, 1.0)
