"""The DuckDB twins of the trend tables (``*_sql`` beside their pandas functions: the
revenue bridge, the forecast's monthly revenue, the cohort grid, the buying section's
monthly grid and notebook 03's monthly revenue per region) return the pandas function's
table from the order lines of :func:`helpers.analysis.engine.open_lines`: on the bundled
sample (the whole market, a province and a city) and on hand-made lines with traps
(returns, a day whose returns exceed its purchases, lines outside the period and after
as_of, one order, customers without a region, ids and regions beyond ASCII, an empty
scope), with known answers for the hand-made lines. On the engine path (``prep.engine:
duckdb``) steps 3 and 4 use the twins and their tables equal the pandas path's.
"""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import context
from helpers.analysis import bridge, buying, cohorts, engine, forecast, kpis
from helpers.data.prepare import key_positions
from helpers.period import Period, order_days
from helpers.steps import insight, visuals
from helpers.steps.insight import _regions_of
from helpers.steps.visuals import orders_by_region

SCOPES = ["ALL", "广东", "广东省:深圳市"]
PERIOD = Period.ending("2025-12-31", months=12)  # (2024-12-31, 2025-12-31]; as_of 2026-01-01


@pytest.fixture(scope="module")
def sample(sample_run):
    return sample_run


def _scoped(run, region: str):
    """The report's context and a connection with its lines (:attr:`Context.orders`' rule)."""
    ctx = context.open_step(region=region, run_dir=str(run))
    path = run / "prep" / "orders.parquet"
    if ctx.scope.kind == "city":
        con = engine.open_lines(path, customer_ids=ctx.customers["customer_id"])
    elif ctx.scope.kind == "all":
        con = engine.open_lines(path)
    else:
        con = engine.open_lines(path, provinces=list(ctx.scope.provinces))
    assert con.execute("SELECT count(*) FROM lines").fetchone()[0] == len(ctx.orders) > 0
    return ctx, con


HAND = [  # order_id, customer_id, order_date, product_category, amount, province
    ("o1", "a", "2024-03-01", "x", 100.0, "北"),            # the previous period
    ("o2", "a", "2025-03-01 10:00", "x", 150.0, "北"),
    ("r1", "a", "2025-03-01 16:00", "x", -30.0, "北"),      # a return on a purchase day
    ("o3", "a", "2025-06-30", "y", 40.0, "北"),             # a category added (mix)
    ("o4", "b", "2024-05-01", "x", 80.0, "北"),             # lost
    ("r4", "b", "2024-05-01", "x", -20.0, "北"),            # a return in the previous period
    ("o5", "客户9", "2025-02-01", "x", 60.0, "南"),          # new; an id beyond ASCII
    ("o6", "c", "2024-04-01", "x", 10.0, "南"),
    ("o7", "c", "2025-04-01", "x", 20.0, "南"),
    ("r2", "c", "2025-04-01", "x", -50.0, "南"),            # the day's returns exceed it
    ("r3", "d", "2025-05-01", "x", -30.0, "南"),            # only a return: never bought
    ("o8", "e", "2026-01-01", "x", 90.0, "东"),             # on as_of: after the period
    ("o9", "e", "2026-02-01", "x", 90.0, "东"),             # after as_of
    ("o10", "f", "2022-06-01", "x", 60.0, "东"),            # before both periods: data start
    ("o11", "f", "2023-03-01", None, 60.0, "东"),           # no category
    ("o12", "g", "2025-02-20", "x", 70.0, "北"),            # g: a customer without a region
    ("o13", "g", "2024-02-20", "x", 70.0, "北"),
    ("o14", "h", "2025-07-01", None, 55.0, "北"),           # one order, no category
    ("o15", "B", "2025-01-31", "x", 5.0, "南"),             # a month's last day
    ("o16", "aa", "2025-02-28 23:59", "x", 5.0, "南"),      # the last minute of a month
    ("o17", "aa", "2024-12-31", "x", 7.0, "南"),            # the previous period's last day
    ("r5", "aa", "2024-08-10", "x", -3.0, "南"),            # a return before aa's first purchase
    ("o18", "B", "2025-12-31 23:00", "z", 9.0, "南"),       # the period's last day
    ("o19", "客户9", "2025-10-15", "x", 12.0, "南"),
]
#: customer -> region (g has none; x, not a customer with lines, is ignored)
WHERE = pd.Series({"a": "north", "b": "north", "h": "north", "客户9": "南区", "c": "南区",
                   "d": "南区", "B": "南区", "aa": "south", "e": "east", "f": "east", "g": pd.NA,
                   "x": "west"}, dtype="string")


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    """The hand-made lines saved as an ``orders.parquet`` and as the market reads them."""
    frame = pd.DataFrame(HAND, columns=["order_id", "customer_id", "order_date",
                                        "product_category", "amount", "province"])
    frame = frame.astype({c: "string" for c in ("order_id", "customer_id", "product_category",
                                                "province")}).assign(
        order_date=pd.to_datetime(frame["order_date"], format="ISO8601").astype("datetime64[ns]"))
    path = tmp_path_factory.mktemp("hand") / "orders.parquet"
    frame.to_parquet(path, index=False)
    return path, pd.read_parquet(path)


#: The hand-made lines' distinct order days (what the bridge's coverage reads).
DAYS = order_days(pd.to_datetime(pd.Series([line[2] for line in HAND]), format="ISO8601"))
#: The scopes of the hand-made lines: every line, a province's, none.
HAND_SCOPES = {"all": None, "south": ["南"], "empty": ["nowhere"]}


def _hand_scope(hand, scope: str):
    path, frame = hand
    provinces = HAND_SCOPES[scope]
    if provinces is None:
        return engine.open_lines(path), frame
    return (engine.open_lines(path, provinces=provinces),
            frame.loc[frame["province"].isin(provinces)].reset_index(drop=True))


# ------------------------------------------------------------------------------ the bridge

@pytest.mark.parametrize("region", SCOPES)
def test_sample_bridge_in_the_engine_equals_pandas(sample, region):
    ctx, con = _scoped(sample, region)
    regions = _regions_of(ctx, ctx.kpis_by_region())
    expected = bridge.bridge(ctx.orders, ctx.period, dates=ctx.prep.orders["order_date"],
                             regions=regions)
    got = bridge.bridge_sql(con, ctx.period, dates=ctx.order_days, regions=regions)
    pd.testing.assert_frame_equal(got[0], expected[0])
    assert got[1] == expected[1] and expected[1]["shown"]
    assert len(expected[0]) > 1 and expected[0]["customers"].iloc[-1] > 0


@pytest.mark.parametrize("scope", list(HAND_SCOPES))
@pytest.mark.parametrize("category", ["product_category", None])
def test_hand_bridge_in_the_engine_equals_pandas(hand, scope, category):
    con, lines = _hand_scope(hand, scope)
    for regions in (WHERE, None):
        expected = bridge.bridge(lines, PERIOD, dates=hand[1]["order_date"], regions=regions,
                                 category=category)
        got = bridge.bridge_sql(con, PERIOD, dates=DAYS, regions=regions, category=category)
        pd.testing.assert_frame_equal(got[0], expected[0])
        assert got[1] == expected[1]
    # previous periods the data do not cover: no table, the same note
    thin = Period.ending("2023-06-30", months=12)
    expected = bridge.bridge(lines, thin, dates=hand[1]["order_date"], category=category)
    got = bridge.bridge_sql(con, thin, dates=DAYS, category=category)
    pd.testing.assert_frame_equal(got[0], expected[0])
    assert got[1] == expected[1] and not got[1]["shown"]


def test_hand_bridge_known_answers(hand):
    con, _ = _hand_scope(hand, "all")
    table, note = bridge.bridge_sql(con, PERIOD, dates=DAYS, regions=WHERE)
    total = table.iloc[-1]
    # this period: a 160, 客户9 72, c -30, d -30, g 70, h 55, B 14, aa 5; before: a 100,
    # b 60, c 10, g 70, aa 4; new: 客户9, d, h, B (d's return is a line); lost: b
    assert (total["revenue"], total["revenue_prev"]) == (316.0, 244.0)
    assert (total["customers_new"], total["customers_lost"], total["customers"]) == (4, 1, 8)
    assert total["from_mix"] == 40.0  # a added y (B's z: B is new, no mix)
    # the previous period's days with lines: o1, o4 and r4, o6, o13, o17, r5
    assert note["previous"]["days_with_orders"] == 6 and note["previous"]["coverage"] == 1.0
    south = table.set_index("region").loc["南区"]
    assert south["revenue"] == 72.0 - 30.0 - 30.0 + 14.0 and south["customers_new"] == 3
    assert set(table["region"].dropna()) == {"north", "南区", "south"}  # g in the total only
    empty = bridge.bridge_sql(_hand_scope(hand, "empty")[0], PERIOD, dates=DAYS,
                              regions=WHERE)[0]
    assert len(empty) == 1 and empty["revenue"].iloc[0] == 0.0


# ------------------------------------------------------------- the forecast's monthly revenue

@pytest.mark.parametrize("region", SCOPES)
def test_sample_forecast_months_in_the_engine_equal_pandas(sample, region):
    ctx, con = _scoped(sample, region)
    regions = _regions_of(ctx, ctx.kpis_by_region())
    first = ctx.prep.orders["order_date"].min()
    for end in (ctx.period.end, pd.Timestamp("2025-03-31"), pd.Timestamp("2024-02-29")):
        for where in (regions, None):
            expected = forecast.monthly_revenue(ctx.orders, end, first_day=first, regions=where)
            pd.testing.assert_frame_equal(
                forecast.monthly_revenue_sql(con, end, first_day=first, regions=where), expected)
    assert expected[forecast.TOTAL].sum() > 0


@pytest.mark.parametrize("scope", list(HAND_SCOPES))
def test_hand_forecast_months_in_the_engine_equal_pandas(hand, scope):
    con, lines = _hand_scope(hand, scope)
    for end in ("2025-12-31", "2025-02-28", "2025-03-31", "2025-04-30", "2022-06-15"):
        for first in ("2022-06-01", "2022-05-31", "2024-12-15"):
            for where in (WHERE, None):
                expected = forecast.monthly_revenue(lines, end, first_day=first, regions=where)
                got = forecast.monthly_revenue_sql(con, end, first_day=first, regions=where)
                pd.testing.assert_frame_equal(got, expected)


def test_hand_forecast_months_known_answers(hand):
    con, _ = _hand_scope(hand, "all")
    monthly = forecast.monthly_revenue_sql(con, "2025-12-31", first_day="2022-06-01",
                                           regions=WHERE)
    # windows (e - 1 month, e]: 2022-06-30 is the first one the data cover whole
    assert monthly.index[0] == pd.Timestamp("2022-06-30")
    assert monthly.index[-1] == pd.Timestamp("2025-12-31") and len(monthly) == 43
    # the total, then the regions of the customers with lines by name (g: none; x: no lines)
    assert list(monthly.columns) == [forecast.TOTAL, "east", "north", "south", "南区"]
    # (2025-01-31, 2025-02-28]: o5 60, o12 70 (g: the total only), o16 5 at 23:59
    feb = monthly.loc["2025-02-28"]
    assert (feb[forecast.TOTAL], feb["南区"], feb["south"], feb["north"]) == (135.0, 60.0, 5.0, 0.0)
    assert monthly.loc["2025-01-31", forecast.TOTAL] == 5.0       # o15 on the 31st
    assert monthly.loc["2024-12-31", "south"] == 7.0               # o17
    assert monthly.loc["2025-04-30", "南区"] == -30.0               # c: 20 - 50 on 04-01
    assert monthly.loc["2025-05-31", "南区"] == -30.0               # d: a return only
    assert monthly["east"].sum() == 120.0                          # f's two lines; e after
    march = forecast.monthly_revenue_sql(con, "2025-03-31", first_day="2022-06-01")
    # the window ending on 2025-02-28 (DateOffset: the 31st -> the month's last day)
    assert march.loc["2025-02-28", forecast.TOTAL] == 135.0


# -------------------------------------------------------------------------- the cohort grid

def _cohort_regions(ctx, kpis) -> pd.Series:
    """The regions of :func:`helpers.steps.insight._mix_and_cohorts`."""
    level = ctx.scope.sublevel
    people = ctx.customers.drop_duplicates("customer_id").set_index("customer_id")
    return people[level].where(people[level].isin(kpis["region"]))


@pytest.mark.parametrize("region", SCOPES)
def test_sample_cohorts_in_the_engine_equal_pandas(sample, region):
    ctx, con = _scoped(sample, region)
    regions = _cohort_regions(ctx, ctx.kpis_by_region())
    start = ctx.prep.orders["order_date"].min()
    for as_of in (ctx.period.as_of, pd.Timestamp("2024-05-17")):
        for where in (None, pd.Series(dtype=object), regions):  # regions last: checked below
            expected = cohorts.cohort_retention(ctx.orders, as_of=as_of, regions=where,
                                                data_start=start)
            got = cohorts.cohort_retention_sql(con, as_of=as_of, regions=where,
                                               data_start=start)
            pd.testing.assert_frame_equal(got[0], expected[0])
            assert got[1] == expected[1]
    assert expected[1]["customers"] > 0 and expected[0]["region"].notna().any()


@pytest.mark.parametrize("scope", list(HAND_SCOPES))
def test_hand_cohorts_in_the_engine_equal_pandas(hand, scope):
    con, lines = _hand_scope(hand, scope)
    # as_of: a quarter's first day, inside one, the day after the first line, the first
    # line's day (no line before it), before every line
    for as_of in ("2026-01-01", "2025-11-15", "2025-04-01", "2022-06-02", "2022-06-01",
                  "2022-01-01"):
        for start in (None, "2022-01-01"):
            for where in (WHERE, None):
                expected = cohorts.cohort_retention(lines, as_of=as_of, regions=where,
                                                    data_start=start)
                got = cohorts.cohort_retention_sql(con, as_of=as_of, regions=where,
                                                   data_start=start)
                pd.testing.assert_frame_equal(got[0], expected[0])
                assert got[1] == expected[1]


def test_hand_cohorts_known_answers(hand):
    con, _ = _hand_scope(hand, "all")
    grid, note = cohorts.cohort_retention_sql(con, as_of="2026-01-01", regions=WHERE)
    # first purchases (d never bought; e's lines are on and after as_of): f 2022Q2,
    # a and g 2024Q1, b and c 2024Q2, aa 2024Q4, 客户9 and B 2025Q1, h 2025Q3
    assert note == {"customers": 9, "cohorts": 6, "first_quarter": "2022Q2",
                    "last_quarter": "2025Q4"}
    scope = grid.loc[grid["region"].isna()].set_index(["cohort", "quarter"])
    assert scope.loc[("2024Q1", 0), ["customers", "retained", "revenue"]].tolist() == [
        2, 2, 170.0]
    # a year later both bought again: a 150 - 30, g 70
    assert scope.loc[("2024Q1", 4), ["retained", "revenue"]].tolist() == [2, 190.0]
    # aa's return in 2024Q3, before its first purchase (2024Q4), is in no cohort's cells
    assert scope.loc[("2024Q4", 0), ["customers", "revenue"]].tolist() == [1, 7.0]
    # b's return in its first quarter; c bought on a day its returns exceeded (20 - 50)
    assert scope.loc[("2024Q2", 0), "revenue"] == 60.0 + 10.0
    assert scope.loc[("2024Q2", 4), ["retained", "revenue"]].tolist() == [1, -30.0]
    assert scope.loc[("2025Q3", 0), "customers"] == 1 and ("2025Q3", 2) not in scope.index
    assert grid.loc[grid["left_censored"], "cohort"].unique().tolist() == ["2022Q2"]
    # g has no region: in the scope's grid only
    north = grid.loc[grid["region"] == "north"].set_index(["cohort", "quarter"])
    assert north.loc[("2024Q1", 0), "customers"] == 1
    assert sorted(grid["region"].dropna().unique()) == ["east", "north", "south", "南区"]


# --------------------------------------------------------------- the buying section's grid

def _buying_regions(ctx, kpis) -> tuple[pd.Series, str | None]:
    """The regions and line column of :func:`helpers.steps.insight._buyers`."""
    level, market = ctx.scope.sublevel, ctx.scope.name
    regions = ctx.customers.drop_duplicates("customer_id").set_index("customer_id")[level]
    regions = regions.where(regions.isin(kpis["region"]) & (regions != market))
    return regions, (level if level == "province" else None)


@pytest.mark.parametrize("region", SCOPES)
def test_sample_monthly_grid_in_the_engine_equals_pandas(sample, region):
    ctx, con = _scoped(sample, region)
    regions, column = _buying_regions(ctx, ctx.kpis_by_region())
    start = ctx.prep.orders["order_date"].min()
    for as_of in (ctx.period.as_of, pd.Timestamp("2024-05-17")):
        for col in {column, None}:
            options = {"data_start": start, "as_of": as_of, "market": ctx.scope.name,
                       "max_months": 60, "column": col}
            expected = buying.monthly_revenue_grid(ctx.orders, regions, **options)
            pd.testing.assert_frame_equal(
                buying.monthly_revenue_grid_sql(con, regions, **options), expected)
    assert expected.shape[0] > 12 and expected[ctx.scope.name].sum() > 0


#: customer -> province for the grid's lines' own column: 东 is not a region of the report
PROVINCE = pd.Series({"a": "北", "c": "南", "g": pd.NA}, dtype="string")


@pytest.mark.parametrize("scope", list(HAND_SCOPES))
def test_hand_monthly_grid_in_the_engine_equals_pandas(hand, scope):
    con, lines = _hand_scope(hand, scope)
    for as_of in ("2026-01-01", "2025-11-15", "2022-07-01", "2022-06-02"):
        for start in ("2022-06-01", "2022-06-02", "2025-01-01"):
            for regions, column in ((WHERE, None), (PROVINCE, "province"),
                                    (WHERE, "no_such_column"), (WHERE.iloc[:0], None)):
                for most in (60, 12):
                    options = {"data_start": start, "as_of": as_of, "market": "ALL",
                               "max_months": most, "column": column}
                    expected = buying.monthly_revenue_grid(lines, regions, **options)
                    got = buying.monthly_revenue_grid_sql(con, regions, **options)
                    pd.testing.assert_frame_equal(got, expected)


def test_hand_monthly_grid_known_answers(hand):
    con, _ = _hand_scope(hand, "all")
    grid = buying.monthly_revenue_grid_sql(con, WHERE, data_start="2022-06-01",
                                           as_of="2026-01-01", market="ALL")
    # complete months 2022-06 .. 2025-12; west (no lines) left out; the regions' order
    assert (str(grid.index[0]), str(grid.index[-1]), len(grid)) == ("2022-06", "2025-12", 43)
    assert list(grid.columns) == ["ALL", "north", "南区", "south", "east"]
    feb = grid.loc[pd.Period("2025-02", "M")]
    assert feb.tolist() == [135.0, 0.0, 60.0, 5.0, 0.0]  # g (70): in ALL only
    assert grid.loc[pd.Period("2025-04", "M"), "南区"] == -30.0  # c: 20 - 50
    own = buying.monthly_revenue_grid_sql(con, PROVINCE, data_start="2022-06-02",
                                          as_of="2025-11-15", market="ALL", max_months=12,
                                          column="province")
    # from 2022-07 (June is not whole) to 2025-10 (November is not over), the last 12;
    # every line of 北 counts to it (b and g too), 东 to no column
    assert (str(own.index[0]), str(own.index[-1])) == ("2024-11", "2025-10")
    assert list(own.columns) == ["ALL", "北", "南"]
    assert own.loc[pd.Period("2025-02", "M")].tolist() == [135.0, 70.0, 65.0]


# ------------------------------------------------ notebook 03's monthly revenue per region

@pytest.mark.parametrize("region", SCOPES)
def test_sample_monthly_revenue_in_the_engine_equals_pandas(sample, region):
    ctx, con = _scoped(sample, region)
    level = ctx.scope.sublevel
    expected = kpis.monthly_revenue(orders_by_region(ctx, ["order_date", "amount"]), by=level)
    got = kpis.monthly_revenue_sql(con, level, customers=ctx.customers[["customer_id", level]])
    pd.testing.assert_frame_equal(got, expected)
    assert expected["revenue"].sum() > 0 and expected[level].nunique() >= 1
    for by in (None, "product_category", "province"):  # the lines' own columns
        pd.testing.assert_frame_equal(kpis.monthly_revenue_sql(con, by),
                                      kpis.monthly_revenue(ctx.orders, by))


def _with_regions(lines: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """The lines with their customer's ``region`` (:func:`orders_by_region`'s rule)."""
    where = key_positions(lines["customer_id"], customers["customer_id"])
    return lines.assign(region=customers["region"].array.take(where, allow_fill=True))


#: the customers of the hand-made lines and their regions (g: none; x: no lines)
CUSTOMERS = pd.DataFrame({"customer_id": WHERE.index, "region": WHERE.to_numpy()}).astype(
    "string")


@pytest.mark.parametrize("scope", list(HAND_SCOPES))
def test_hand_monthly_revenue_in_the_engine_equals_pandas(hand, scope):
    con, lines = _hand_scope(hand, scope)
    for people in (CUSTOMERS, CUSTOMERS.iloc[:3], CUSTOMERS.iloc[:0]):
        expected = kpis.monthly_revenue(_with_regions(lines, people), by="region")
        got = kpis.monthly_revenue_sql(con, "region", customers=people)
        pd.testing.assert_frame_equal(got, expected)
    for by in (None, "product_category", "province"):
        pd.testing.assert_frame_equal(kpis.monthly_revenue_sql(con, by),
                                      kpis.monthly_revenue(lines, by))


def test_hand_monthly_revenue_known_answers(hand):
    con, _ = _hand_scope(hand, "all")
    monthly = kpis.monthly_revenue_sql(con, "region", customers=CUSTOMERS)
    # every month from f's first line (2022-06) to e's last (2026-02) for every region
    # with lines (g has none: left out; x has no lines)
    assert sorted(monthly["region"].unique()) == ["east", "north", "south", "南区"]
    assert len(monthly) == 4 * 45
    at = monthly.set_index(["region", "month"])
    assert at.loc[("north", pd.Timestamp("2025-03-01"))].tolist() == [120.0, 1]  # 150 - 30
    assert at.loc[("north", pd.Timestamp("2025-02-01"))].tolist() == [0.0, 0]    # g: none
    assert at.loc[("南区", pd.Timestamp("2025-04-01"))].tolist() == [-30.0, 1]    # c
    assert at.loc[("南区", pd.Timestamp("2025-05-01"))].tolist() == [-30.0, 0]    # d
    assert at.loc[("east", pd.Timestamp("2026-01-01"))].tolist() == [90.0, 1]
    total = kpis.monthly_revenue_sql(con).set_index("month")
    assert total.loc[pd.Timestamp("2025-02-01")].tolist() == [135.0, 3]  # g counts here


# ------------------------------------------------------- the steps on the engine path

def _duck(run, region: str = "ALL"):
    """A report's context whose prep is made by DuckDB (``prep.engine: duckdb``): its
    lines stay in DuckDB (``ctx.lines``)."""
    ctx = context.open_step(region=region, run_dir=str(run))
    ctx.config.prep.engine = "duckdb"
    return ctx


@pytest.fixture(scope="module")
def duck_run(tmp_path_factory):
    """The bundled sample prepared by DuckDB, in a run folder."""
    run = tmp_path_factory.mktemp("duck")
    assert _duck(run).prep.engine["path"] == "duckdb"
    return run


def _refuse(name: str):
    def refused(*args, **kwargs):
        raise AssertionError(f"{name} read the order lines in pandas on the engine path")
    return refused


def _twins_only(monkeypatch) -> None:
    """The pandas functions with twins refuse to run (the engine path uses the twins)."""
    from helpers.analysis import cohorts as cohort_module

    for module, name in ((bridge, "bridge"), (forecast, "monthly_revenue"),
                         (cohort_module, "cohort_retention"),
                         (buying, "monthly_revenue_grid"), (visuals, "monthly_revenue")):
        monkeypatch.setattr(module, name, _refuse(name))


def test_step4_tables_on_the_engine_path_equal_pandas(sample, duck_run, monkeypatch):
    pandas_ctx = context.open_step(run_dir=str(sample))
    assert pandas_ctx.lines is None  # the sample is small: pandas
    expected = insight.insight_tables(pandas_ctx)
    ctx = _duck(duck_run)
    assert ctx.lines is not None
    _twins_only(monkeypatch)
    got = insight.insight_tables(ctx)
    assert set(got) == set(expected)
    for key, table in expected.items():
        if isinstance(table, pd.DataFrame):
            pd.testing.assert_frame_equal(got[key], table, obj=key)
        else:
            assert got[key] == table, key
    assert len(expected["revenue_bridge"]) > 1 and len(expected["cohorts"]) > 0
    assert expected["notes"]["bridge"]["shown"] and len(expected["seasonality"]) > 0


@pytest.mark.parametrize("region", SCOPES)
def test_step_trends_on_the_engine_path_equal_pandas(sample, duck_run, region, monkeypatch):
    """The bridge, the forecast and notebook 03's monthly revenue of a province and a city
    (the whole market: every step-4 table, above)."""
    pandas_ctx = context.open_step(region=region, run_dir=str(sample))
    kpis = pandas_ctx.kpis_by_region()
    expected = (insight._bridge_and_forecast(pandas_ctx, kpis),
                visuals.monthly_by_region(pandas_ctx))
    ctx = _duck(duck_run, region)
    assert ctx.lines is not None
    _twins_only(monkeypatch)
    got = (insight._bridge_and_forecast(ctx, ctx.kpis_by_region()),
           visuals.monthly_by_region(ctx))
    for key, table in expected[0][0].items():
        pd.testing.assert_frame_equal(got[0][0][key], table, obj=key)
    assert got[0][1] == expected[0][1]
    pd.testing.assert_frame_equal(got[1], expected[1])
    assert len(expected[1]) > 0 and expected[0][1]["bridge"]["shown"]
