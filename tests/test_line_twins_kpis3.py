"""The DuckDB twins of the line readers behind the region KPIs and the counts of steps 1-4
(:func:`helpers.analysis.kpis.customer_windows_sql`, ``line_counts_sql``,
``period_revenue_sql``, ``period_amounts_sql``, :func:`helpers.analysis.extent.
no_region_sql`) return the tables of their pandas functions on the same lines: the bundled
sample's (the whole market, a province, a city) and hand-made lines with traps (returns,
a day whose returns exceed its purchases, lines outside the period and after it, one order,
customers without a region, ids beyond ASCII, an empty scope).
"""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import context
from helpers.analysis import engine, extent, kpis
from helpers.config import RunPaths, load_config
from helpers.geo.scope import Scope
from helpers.period import Period
from helpers.steps import goals, prep, visuals
from helpers.steps.prep import ensure_prep


@pytest.fixture(scope="module")
def sample(sample_run):
    return sample_run


def _con(ctx):
    """The scope's lines in DuckDB, as :attr:`helpers.context.Context.orders` holds them."""
    path = ctx.run.prep / "orders.parquet"
    if ctx.scope.kind == "city":
        return engine.open_lines(path, customer_ids=ctx.customers["customer_id"])
    return engine.open_lines(path, provinces=None if ctx.scope.kind == "all"
                             else list(ctx.scope.provinces))


def _same_twins(con, lines: pd.DataFrame, period: Period, *, active_months: int,
                pop_months: int) -> None:
    pd.testing.assert_frame_equal(
        kpis.customer_windows_sql(con, period=period, active_months=active_months,
                                  pop_months=pop_months),
        kpis.customer_windows(lines, period=period, active_months=active_months,
                              pop_months=pop_months))
    pd.testing.assert_frame_equal(kpis.line_counts_sql(con, period=period),
                                  kpis.line_counts(lines, period=period))
    for buying in (False, True):
        pd.testing.assert_series_equal(
            kpis.period_revenue_sql(con, period=period, buying=buying),
            kpis.period_revenue(lines, period=period, buying=buying))
    pd.testing.assert_frame_equal(kpis.period_amounts_sql(con, period=period),
                                  kpis.period_amounts(lines, period=period))


@pytest.mark.parametrize("region", ["ALL", "广东", "广东:深圳"])
def test_sample_twins_equal_pandas(sample, region):
    ctx = context.open_step(region=region, run_dir=str(sample))
    a = ctx.config.analysis
    con = _con(ctx)
    lines = ctx.orders
    assert con.execute("SELECT count(*) FROM lines").fetchone()[0] == len(lines) > 0
    _same_twins(con, lines, ctx.period, active_months=a.active_months, pop_months=a.pop_months)
    # what the pandas functions say of the sample (not an empty comparison)
    assert kpis.line_counts(lines, period=ctx.period).iloc[0].min() > 0
    assert kpis.period_revenue(lines, period=ctx.period).sum() == pytest.approx(
        lines.loc[ctx.period.contains(lines["order_date"]), "amount"].sum())
    # the customers in no region row, as Context.no_region counts them
    level = ctx.scope.sublevel
    args = dict(level=level, areas=ctx.market_areas, country=ctx.config.geography.country,
                period=ctx.period, active_months=a.active_months, pop_months=a.pop_months)
    pd.testing.assert_frame_equal(extent.no_region_sql(con, ctx.customers, **args),
                                  extent.no_region(ctx.customers, lines, **args))
    # the whole market's lines (a city's benchmark) from the same connection
    pd.testing.assert_frame_equal(
        kpis.customer_windows_sql(con, period=ctx.period, active_months=a.active_months,
                                  pop_months=a.pop_months, source="market_lines"),
        kpis.customer_windows(ctx.prep.orders, period=ctx.period,
                              active_months=a.active_months, pop_months=a.pop_months))


def _lines(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["order_id", "customer_id", "order_date", "amount",
                                        "province"])
    return frame.astype({"order_id": "string", "customer_id": "string", "amount": float,
                         "province": "string"}).assign(
        order_date=pd.to_datetime(frame["order_date"], format="ISO8601").astype(
            "datetime64[ns]"))


# The period: (2023-12-29, 2024-02-29] (pandas' month arithmetic); its baseline
# (2023-10-29, 2023-12-29]; active: the 12 months to 2024-02-29; recent (pop_months=1):
# (2024-01-29, 2024-02-29], before it (2023-12-29, 2024-01-29].
PERIOD = Period.ending("2024-02-29", 2)
EDGE = [
    ("o1", "a", "2024-01-01 09:30", 100.0, "广东"),
    ("o2", "a", "2024-01-01 17:00", 50.0, "广东"),   # the same day, later
    ("o3", "a", "2024-02-29 23:59", 200.0, "广东"),  # the period's last day, late
    ("r1", "a", "2024-02-05", -40.0, "广东"),        # a return on a day without a purchase
    ("o4", "b", "2024-02-26", 80.0, "广东"),         # one order
    ("z1", "b", "2024-02-27", 0.0, "广东"),          # a line of nothing: not an order
    ("r2", "c", "2024-02-01", 10.0, "浙江"),
    ("r3", "c", "2024-02-01", -70.0, "浙江"),        # returns beyond the day's purchases
    ("r4", "d", "2024-01-10", -30.0, "浙江"),        # only a return: not buying
    ("o5", "e", "2024-03-01", 90.0, "浙江"),         # after the period (the as-of day)
    ("o6", "e", "2023-12-29", 90.0, "浙江"),         # the period's start: the baseline's
    ("o7", "f", "2023-11-01", 60.0, "北京"),         # the baseline
    ("o8", "f", "2023-01-15", 60.0, "北京"),         # the year-earlier window
    ("o9", "g", "2024-02-20", 70.0, None),           # a line without a province
    ("o10", "客户9", "2024-02-21", 5.0, "香港"),      # an id beyond ASCII, outside the extent
    ("o11", "B", "2024-02-21", 5.0, "广东"),          # capitals before small letters
    ("o12", "x", "2024-02-20", 70.0, "广东"),         # not a customer (unknown id)
    ("o13", None, "2024-02-20", 70.0, "广东"),        # no customer id
    ("o14", "h", None, 70.0, "广东"),                 # no date
]
PEOPLE = pd.DataFrame({
    "customer_id": ["a", "b", "c", "d", "e", "f", "g", "客户9", "B", "k", "m"],
    "province": ["广东", "广东", "浙江", "浙江", "浙江", "北京", None, "香港", "广东", None,
                 "广东"],
    "city": ["深圳", None, "杭州", "杭州", None, "北京", None, None, "深圳", None, "广州"],
    "country": ["CN", "CN", "CN", "CN", "CN", "CN", "CN", "CN", "CN", "US", "CN"],
})  # g: not resolved; k: abroad, without orders; m: without orders
AREAS = ("广东", "浙江", "北京")


@pytest.fixture
def edge(tmp_path):
    path = tmp_path / "orders.parquet"
    _lines(EDGE).to_parquet(path, index=False)
    return path, pd.read_parquet(path)  # as the market reads it


@pytest.mark.parametrize("scope", ["all", "provinces", "customers", "empty", "nobody"])
def test_edge_cases_equal_pandas(edge, scope):
    path, lines = edge
    if scope == "provinces":
        con, lines = (engine.open_lines(path, provinces=["广东", "香港"]),
                      lines[lines["province"].isin(["广东", "香港"])])
    elif scope == "customers":
        ids = ["a", "c", "客户9", "d"]
        con, lines = engine.open_lines(path, customer_ids=ids), lines[
            lines["customer_id"].isin(ids)]
    elif scope == "empty":
        con, lines = engine.open_lines(path, provinces=[]), lines.iloc[0:0]
    elif scope == "nobody":
        con, lines = engine.open_lines(path, customer_ids=[]), lines.iloc[0:0]
    else:
        con = engine.open_lines(path)
    _same_twins(con, lines, PERIOD, active_months=12, pop_months=1)
    for level in ("province", "city"):
        args = dict(level=level, areas=AREAS, country="CN", period=PERIOD, active_months=12,
                    pop_months=1)
        pd.testing.assert_frame_equal(extent.no_region_sql(con, PEOPLE, **args),
                                      extent.no_region(PEOPLE, lines, **args))


def test_edge_cases_known_answers(edge):
    path, _ = edge
    con = engine.open_lines(path)
    counts = kpis.line_counts_sql(con, period=PERIOD).iloc[0].to_dict()
    # in the period: o1 o2 o3 r1 o4 z1 r2 r3 r4 o9 o10 o11 o12 o13; the baseline: o6 o7
    assert counts == {"lines": 19, "in_period": 14, "in_baseline": 2}
    revenue = kpis.period_revenue_sql(con, period=PERIOD)
    assert revenue.to_dict() == {"B": 5.0, "a": 310.0, "b": 80.0, "c": -60.0, "d": -30.0,
                                 "g": 70.0, "x": 70.0, "客户9": 5.0}
    buying = kpis.period_revenue_sql(con, period=PERIOD, buying=True)
    assert list(buying.index) == ["B", "a", "b", "c", "g", "x", "客户9"]  # d only returned
    amounts = kpis.period_amounts_sql(con, period=PERIOD)["amount"].tolist()
    assert amounts == [-70.0, -40.0, -30.0, 0.0, 5.0, 5.0, 10.0, 50.0, 70.0, 70.0, 70.0, 80.0,
                       100.0, 200.0]
    windows = kpis.customer_windows_sql(con, period=PERIOD, active_months=12,
                                        pop_months=1).set_index("customer_id")
    assert windows.loc["a", "orders"] == 3 and windows.loc["a", "revenue"] == 310.0
    assert windows.loc["b", "orders"] == 1
    assert windows.loc["a", "revenue_recent"] == 160.0  # February: 200 - 40
    assert windows.loc["a", "revenue_recent_prev"] == 150.0  # January
    assert windows.loc["e", "revenue_prev"] == 90.0 and windows.loc["e", "revenue"] == 0.0
    assert windows.loc["f", "revenue_last_year"] == 60.0 and not windows.loc["d", "active"]
    assert windows.loc["f", "active"]  # 2023-11-01 is in the 12 active months
    assert windows.loc["h", "first_order"] is pd.NaT and windows.loc["h", "orders"] == 0
    lines = extent.no_region_sql(con, PEOPLE, level="province", areas=AREAS, country="CN",
                                 period=PERIOD, active_months=12, pop_months=1)
    assert lines["reason"].tolist() == ["outside_extent", "abroad", "unresolved"]
    assert lines["customers"].tolist() == [1, 1, 1]
    assert lines["revenue"].tolist() == [5.0, 0.0, 70.0]


# ------------------------------------------------------------------ the steps on both paths

@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The bundled sample prepared twice: step 2 on pandas and on DuckDB (``prep.engine``);
    the DuckDB run's reports read their lines in DuckDB (``ctx.lines``)."""
    runs = {}
    for way in ("pandas", "duckdb"):
        config = load_config("")
        config.prep.engine = way
        run = RunPaths.for_run(config, str(tmp_path_factory.mktemp(way)))
        ensure_prep(config, run)
        runs[way] = (config, run)
    return runs


def _step_ctx(runs, way: str, region: str) -> context.Context:
    config, run = runs[way]
    scope = Scope.parse(region, config)
    ctx = context.Context(config, scope, run, run.region(scope.slug), "en", True)
    assert (ctx.lines is None) == (way == "pandas")
    return ctx


def _same(got, want, where: str) -> None:
    """Tables, Series and dicts of them equal (money to pandas' default tolerance)."""
    if isinstance(want, pd.DataFrame):
        pd.testing.assert_frame_equal(got, want, obj=where)
    elif isinstance(want, pd.Series):
        pd.testing.assert_series_equal(got, want, obj=where)
    elif isinstance(want, dict):
        assert set(got) == set(want), where
        for key in want:
            _same(got[key], want[key], f"{where}[{key!r}]")
    else:
        assert got == want, where


@pytest.mark.parametrize("region", ["ALL", "华南", "广东", "广东:深圳市"])
def test_steps_on_the_duckdb_lines_equal_the_pandas_path(two_runs, region):
    pandas_ctx, ctx = (_step_ctx(two_runs, way, region) for way in ("pandas", "duckdb"))
    assert ctx.period == pandas_ctx.period
    # the region KPIs (and the benchmark a territory's or a city's are judged against)
    want = pandas_ctx.kpis_by_region()
    assert want["customers"].sum() > 0 and want["revenue"].sum() > 0
    _same(ctx.kpis_by_region(), want, "kpis_by_region")
    if ctx.benchmark is not None:
        _same(ctx.benchmark.kpis, pandas_ctx.benchmark.kpis, "benchmark")
    if region == "广东":  # a province report's cities, and its provinces as rows
        _same(ctx.kpis_by_region("province"), pandas_ctx.kpis_by_region("province"),
              "kpis_by_region(province)")
    _same(ctx.no_region(), pandas_ctx.no_region(), "no_region")
    # step 1: the brief's counts and checks
    _same(goals.goals_brief(ctx), goals.goals_brief(pandas_ctx), "goals_brief")
    # step 2: the report's counts (the rows of the whole market: both paths' tables)
    quality, want_quality = prep.data_quality(ctx), prep.data_quality(pandas_ctx)
    assert quality["orders_in_scope"] == len(pandas_ctx.orders) > 0
    _same(quality, want_quality, "data_quality")
    _same(prep.table_rows(ctx), prep.table_rows(pandas_ctx), "table_rows")
    # step 3: what notebook 03 draws
    _same(visuals.visual_tables(ctx), visuals.visual_tables(pandas_ctx), "visual_tables")
    assert len(visuals.order_values(ctx)) == int(pandas_ctx.period.contains(
        pandas_ctx.orders["order_date"]).sum())


@pytest.mark.parametrize(("region", "column"), [("ALL", "province"), ("广东", "city")])
def test_customers_in_no_region_on_the_duckdb_lines_equal_the_pandas_path(two_runs, region,
                                                                           column):
    """The sample's customers all have a region: some lose theirs (a place name not
    resolved; no city in a province report), the same in both reports."""
    tables = {}
    for way in ("pandas", "duckdb"):
        ctx = _step_ctx(two_runs, way, region)
        people = ctx.customers.copy()
        people.loc[people.index[::7], column] = None
        ctx.__dict__["customers"] = people
        tables[way] = ctx.no_region(), ctx.kpis_by_region()
    lines, regions = tables["pandas"]
    reason = "unresolved" if column == "province" else "no_city"
    assert lines["reason"].tolist() == [reason] and lines["revenue"].sum() > 0
    if region != "ALL":  # (the market's province rows are the run's, of every customer)
        assert lines["customers"].sum() + regions["customers"].sum() == len(people)
    _same(tables["duckdb"][0], lines, "no_region")
    _same(tables["duckdb"][1], regions, "kpis_by_region")


def test_step4_concentration_on_the_duckdb_lines_equals_the_pandas_path(two_runs):
    """Step 4's tables of the region KPIs and of the revenue across the customers buying
    in the period (``concentration``) and of the customers in no region."""
    from helpers.steps import insight

    got, want = (insight.insight_tables(_step_ctx(two_runs, way, "广东"))
                 for way in ("duckdb", "pandas"))
    assert want["concentration"]["customers"]["top20_share"] > 0
    for name in ("region_kpis", "concentration", "no_region"):
        _same(got[name], want[name], name)
