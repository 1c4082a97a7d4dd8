"""The DuckDB twins of the line readers of :mod:`helpers.analysis.mix`,
:mod:`helpers.analysis.buying` and :mod:`helpers.analysis.partners` (``*_sql``) give the
pandas functions' tables from the views of :func:`helpers.analysis.engine.open_lines`: on
the bundled sample (the whole market, a province, a city and a territory judged against
the market) and on hand-made lines with traps (returns, a day whose returns exceed its
purchases, lines outside the period or after as-of, one order, customers without a
region, ids beyond ASCII, an empty scope).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import context
from helpers.analysis import engine, mix, profiles
from helpers.period import Period


def _open(ctx, path: Path):
    """The scope's views, as the engine path of a region notebook opens them."""
    if ctx.scope.kind == "city":
        return engine.open_lines(path, customer_ids=ctx.customers["customer_id"])
    if ctx.scope.kind == "all":
        return engine.open_lines(path)
    return engine.open_lines(path, provinces=list(ctx.scope.provinces))


def _same_notes(twin: dict, pandas: dict) -> None:
    assert twin.keys() == pandas.keys()
    for key, value in pandas.items():
        if isinstance(value, float):
            assert twin[key] == pytest.approx(value, rel=1e-9, abs=1e-9), key
        elif isinstance(value, dict):
            _same_notes(twin[key], value)
        else:
            assert twin[key] == value, key


@pytest.fixture(scope="module")
def sample(sample_run):
    return sample_run


SCOPES = ["ALL", "广东", "广东:深圳", "华东"]


@pytest.mark.parametrize("region", SCOPES)
def test_sample_mix_and_targets_equal_pandas(sample, region):
    ctx = context.open_step(region=region, run_dir=str(sample))
    con = _open(ctx, sample / "prep" / "orders.parquet")
    a, p, level = ctx.config.analysis, ctx.period, ctx.scope.sublevel
    people = ctx.customers.drop_duplicates("customer_id").set_index("customer_id")
    regions = people[level] if level in people.columns else pd.Series(dtype=object)
    market = ctx.prep.orders if ctx.benchmark is not None else None
    options = {"min_customers": 5, "min_coverage": a.min_baseline_coverage,
               "alpha": 0.5, "gap_index": 95.0, "rest_index": 50.0}  # loose: gaps to list
    expected, expected_note = mix.category_mix(
        ctx.orders, regions, period=p, market_orders=market,
        data_dates=ctx.prep.orders["order_date"], **options)
    found, note = mix.category_mix_sql(con, regions, period=p, market_lines=market is not None,
                                       **options)
    assert len(expected) and expected["revenue"].sum() > 0
    pd.testing.assert_frame_equal(found, expected)
    _same_notes(note, expected_note)
    assert note["baseline"]["days_with_orders"] > 0  # the whole export's days, from SQL

    attributes, _ = profiles.profile_attributes(people.reset_index(), a.profile_attributes)
    assert attributes
    reference = ctx.prep.customers if market is not None else None
    expected_seg, expected_seg_note = mix.segment_mix(
        ctx.orders, people.reset_index(), attributes=attributes, period=p, market_orders=market,
        reference=reference, data_dates=ctx.prep.orders["order_date"],
        max_values=a.profile_max_values, **options)
    found_seg, seg_note = mix.segment_mix_sql(
        con, people.reset_index(), attributes=attributes, period=p,
        market_lines=market is not None, reference=reference,
        max_values=a.profile_max_values, **options)
    pd.testing.assert_frame_equal(found_seg, expected_seg)
    _same_notes(seg_note, expected_seg_note)

    gaps = mix.largest_gaps(expected, top=5)
    if not len(gaps):  # no gap by the rule: offer the region's least bought categories
        gaps = expected.sort_values("penetration_index").head(3)
    targets = mix.cross_sell_targets(gaps, ctx.orders, regions, period=p)
    assert len(targets)
    pd.testing.assert_frame_equal(mix.cross_sell_targets_sql(con, gaps, regions, period=p),
                                  targets)
    chosen = expected_seg.sort_values("penetration_index").head(4)
    by_segment = mix.segment_targets(chosen, ctx.orders, ctx.customers, period=p,
                                     reference=reference, max_values=a.profile_max_values)
    assert len(by_segment)
    pd.testing.assert_frame_equal(
        mix.segment_targets_sql(con, chosen, ctx.customers, period=p, reference=reference,
                                max_values=a.profile_max_values), by_segment)


def _lines(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["order_id", "customer_id", "order_date", "amount",
                                        "product_category", "province"])
    return frame.astype({"order_id": "string", "customer_id": "string", "amount": float,
                         "product_category": "string", "province": "string"}).assign(
        order_date=pd.to_datetime(frame["order_date"], format="ISO8601").astype("datetime64[ns]"))


EDGE = [
    ("o1", "a", "2024-01-01 09:30", 100.0, "门禁", "广东"),
    ("o2", "a", "2024-01-01 17:00", 50.0, "锁", "广东"),
    ("o2", "a", "2024-01-01 17:00", 25.0, "锁", "广东"),   # a second line of order o2
    ("r1", "a", "2024-01-29", -100.0, "门禁", "广东"),       # a return
    ("o3", "b", "2024-02-26", 80.0, "门禁", "广东"),         # one order
    ("r3", "c", "2024-02-01", 10.0, "锁", "浙江"),
    ("r4", "c", "2024-02-01", -70.0, "锁", "浙江"),          # returns above purchases
    ("o9", "c", "2024-02-02", 40.0, "Cameras", "浙江"),
    ("r5", "d", "2024-01-10", -30.0, "门禁", "浙江"),        # only a return
    ("o6", "e", "2024-03-10", 90.0, "锁", "浙江"),           # after as-of (the period's end)
    ("o7", "e", "2025-01-01", 90.0, "锁", "浙江"),           # after the period
    ("o8", "f", "2023-02-01", 60.0, "门禁", "北京"),         # the previous period
    ("o10", "f", "2023-06-01", 30.0, "锁", "北京"),
    ("o11", "f", "2024-02-10", 70.0, None, "北京"),          # no category
    ("o12", "f", "2024-02-10", 20.0, "锁", "北京"),
    ("o19", "f", "2021-02-10", 20.0, None, "北京"),          # no category, long before
    ("o13", "g", "2024-02-20", 70.0, "Cameras", "北京"),     # a customer without a region
    ("o14", "客户9", "2024-02-21", 5.0, "门禁", "广东"),
    ("o15", "客户9", "2024-02-21", 7.0, "锁", "广东"),
    ("o16", "B", "2024-02-21", 5.0, "Cameras", "广东"),
    ("o17", "B", "2024-02-22", 9.0, "门禁", "广东"),
    ("o18", "aa", "2024-02-21", 5.0, "门禁", "广东"),
]
PEOPLE = pd.DataFrame({"customer_id": ["a", "b", "c", "d", "e", "f", "g", "客户9", "B", "aa"],
                       "province": ["广东", "广东", "浙江", "浙江", "浙江", "北京", None,
                                    "广东", "广东", "广东"],
                       "channel": ["经销", "直销", "经销", "直销", "经销", "经销", "直销",
                                   "经销", "直销", None]}).astype("string")
PERIOD = Period.ending("2024-03-09", 12)


@pytest.fixture()
def edge(tmp_path):
    path = tmp_path / "orders.parquet"
    _lines(EDGE).to_parquet(path, index=False)
    return path, pd.read_parquet(path)


@pytest.mark.parametrize("scope", [None, ("广东",), ("湖南",)])  # all, a province, no line
def test_mix_edge_cases_by_hand(edge, scope):
    path, orders = edge
    con = engine.open_lines(path, provinces=scope)
    lines = orders if scope is None else orders.loc[orders["province"].isin(scope)]
    regions = PEOPLE.set_index("customer_id")["province"]
    options = {"min_customers": 1, "min_coverage": 0.5, "alpha": 0.9, "gap_index": 100.0,
               "rest_index": 0.0}
    for market in (False, True):
        expected, expected_note = mix.category_mix(
            lines, regions, period=PERIOD, market_orders=orders if market else None,
            data_dates=orders["order_date"], **options)
        found, note = mix.category_mix_sql(con, regions, period=PERIOD, market_lines=market,
                                           **options)
        pd.testing.assert_frame_equal(found, expected)
        _same_notes(note, expected_note)
        if scope is None or market:
            assert note["uncategorised_lines"] == 1 and note["uncategorised_revenue"] == 70.0
    expected, _ = mix.category_mix(orders, regions, period=PERIOD, **options)
    # known answers: 广东 bought 门禁 (b 80, 客户9 5, B 9, aa 5; a's 100 returned) and
    # 锁 (a 75, 客户9 7); c's 锁 nets -60: 浙江's one buyer c bought Cameras only
    gd = expected.loc[expected["region"] == "广东"].set_index("category")
    assert gd.loc["门禁", "revenue"] == pytest.approx(99.0)
    assert gd.loc["锁", "customers"] == 2 and gd.loc["门禁", "customers"] == 4
    assert gd["region_customers"].iloc[0] == 5
    zj = expected.loc[expected["region"] == "浙江"].set_index("category")
    assert zj["region_customers"].iloc[0] == 1 and zj.loc["Cameras", "revenue"] == 40.0
    targets = mix.cross_sell_targets(expected, lines, regions, period=PERIOD)
    pd.testing.assert_frame_equal(
        mix.cross_sell_targets_sql(con, expected, regions, period=PERIOD), targets)
    if scope is None:
        row = targets.loc[(targets["region"] == "广东") & (targets["category"] == "Cameras")]
        assert list(row["customer_id"]) == ["b", "a", "客户9", "aa"]  # by revenue, then id
    segments, _ = mix.segment_mix(lines, PEOPLE, attributes=["channel"], period=PERIOD,
                                  data_dates=orders["order_date"], **options)
    found, _ = mix.segment_mix_sql(con, PEOPLE, attributes=["channel"], period=PERIOD,
                                   market_lines=False, **options)
    pd.testing.assert_frame_equal(found, segments)  # default dates: market_lines', as here
    pd.testing.assert_frame_equal(
        mix.segment_targets_sql(con, segments, PEOPLE, period=PERIOD),
        mix.segment_targets(segments, lines, PEOPLE, period=PERIOD))


def test_mix_without_categories(tmp_path):
    orders = _lines(EDGE).assign(product_category=pd.NA).astype({"product_category": "string"})
    path = tmp_path / "orders.parquet"
    orders.to_parquet(path, index=False)
    con = engine.open_lines(path)
    regions = PEOPLE.set_index("customer_id")["province"]
    assert mix.category_mix_sql(con, regions, period=PERIOD)[1]["reason_key"] == "no_category"
    orders.drop(columns="product_category").to_parquet(path, index=False)
    con = engine.open_lines(path)
    found, note = mix.category_mix_sql(con, regions, period=PERIOD)
    assert note["reason_key"] == "no_category" and found.empty
    assert np.array_equal(found.columns, mix.MIX_COLUMNS)


# ---- buying: the period's orders, whether dates carry a time, discounts ----------------

def _buying_args(ctx):
    """The regions and the lines' own region column, as step 4's ``_buyers`` has them."""
    level = ctx.scope.sublevel
    people = ctx.customers.drop_duplicates("customer_id")
    regions = (people.set_index("customer_id")[level] if level in people
               else pd.Series(pd.NA, index=people["customer_id"], dtype="string"))
    return regions, (level if level == "province" else None)


def _with_discounts(orders: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The sample's lines with a discount (a fraction; in percent) or a list price."""
    i = np.arange(len(orders))
    off = np.where(i % 3 == 0, 0.0, (i % 9) / 20)                 # 0 .. 0.4, a third none
    if kind == "percent":
        return orders.assign(discount=off * 100)
    if kind == "fraction":  # some out of range, some unknown
        return orders.assign(discount=np.where(i % 41 == 5, -0.5,
                                               np.where(i % 50 == 7, np.nan, off)))
    units = orders["quantity"].astype(float).fillna(1.0).to_numpy()
    price = orders["amount"].to_numpy(float) / (1 - off) / units
    return orders.assign(list_price=np.where(i % 37 == 3, np.nan, price))


@pytest.mark.parametrize("region", SCOPES[:3])
def test_sample_buying_equals_pandas(sample, region, tmp_path):
    from helpers.analysis import buying

    ctx = context.open_step(region=region, run_dir=str(sample))
    regions, column = _buying_args(ctx)
    con = _open(ctx, sample / "prep" / "orders.parquet")
    lines = ctx.period_orders
    orders = buying.period_orders(lines, regions, column)
    assert len(orders) and orders["region"].notna().any()
    pd.testing.assert_frame_equal(
        buying.period_orders_sql(con, regions, column, period=ctx.period), orders)
    assert buying.has_time_sql(con, period=ctx.period) == buying.has_time(lines)
    expected = buying.discounts(lines, regions, market=ctx.scope.name, column=column)
    assert expected[2]["reason_key"] == "no_discount_column"
    found = buying.discounts_sql(con, regions, period=ctx.period, market=ctx.scope.name,
                                 column=column)
    pd.testing.assert_frame_equal(found[0], expected[0])
    pd.testing.assert_frame_equal(found[1], expected[1])
    assert found[2] == expected[2]

    assert isinstance(ctx.prep.orders.index, pd.RangeIndex)  # the file's order
    for kind in ("fraction", "percent", "list_price"):
        full = _with_discounts(ctx.prep.orders, kind)
        path = tmp_path / f"{kind}.parquet"
        full.to_parquet(path, index=False)
        con = _open(ctx, path)
        mine = full.loc[lines.index]
        expected = buying.discounts(mine, regions, market=ctx.scope.name, column=column,
                                    min_count=5)
        assert expected[2]["computed"], expected[2]
        assert expected[2]["spearman_value"] is not None
        found = buying.discounts_sql(con, regions, period=ctx.period, market=ctx.scope.name,
                                     column=column, min_count=5)
        pd.testing.assert_frame_equal(found[0], expected[0])
        pd.testing.assert_frame_equal(found[1], expected[1])
        _same_notes(found[2], expected[2])


BUYING_EDGE = [  # order_id, customer, date, amount, province, discount, quantity
    ("o1", "a", "2024-01-01 09:30", 100.0, "广东", 0.0, 2),
    ("o1", "a", "2024-01-01 09:30", 50.0, "广东", 0.2, 1),     # a second line of o1
    ("o2", "a", "2024-01-01", -30.0, "广东", 0.0, 1),          # a return: no order
    ("o3", "b", "2024-02-26", 80.0, "广东", 0.1, None),        # one order, no quantity
    ("o4", "c", "2024-02-01", 10.0, "浙江", 0.5, 3),
    ("o4", "c", "2024-02-01", -70.0, "浙江", 0.0, 1),          # returns above the purchase
    ("o5", "d", "2024-03-10", 90.0, "浙江", 0.3, 1),           # after the period's end
    ("o6", "e", "2023-02-01", 60.0, "北京", 0.0, 1),           # before the period
    ("o7", "g", "2024-02-20", 70.0, "北京", 0.25, 4),          # a customer without a region
    ("o8", "客户9", "2024-02-21", 5.0, "广东", 0.0, 1),
    ("o9", "B", "2024-02-21", 5.0, "广东", 3.0, 1),            # out of range
    ("o10", "B", "2024-02-22", 9.0, "湖南", None, 1),          # no discount; a province
]                                                               # without a region


@pytest.mark.parametrize("scope", [None, ("广东",), ("西藏",)])
@pytest.mark.parametrize("column", [None, "province"])
def test_buying_edge_cases_by_hand(tmp_path, scope, column):
    from helpers.analysis import buying

    frame = pd.DataFrame(BUYING_EDGE, columns=["order_id", "customer_id", "order_date",
                                               "amount", "province", "discount", "quantity"])
    frame = frame.astype({"order_id": "string", "customer_id": "string", "amount": float,
                          "province": "string", "discount": float, "quantity": "Int64"})
    frame["order_date"] = pd.to_datetime(frame["order_date"], format="ISO8601").astype(
        "datetime64[ns]")
    path = tmp_path / "orders.parquet"
    frame.to_parquet(path, index=False)
    frame = pd.read_parquet(path)
    con = engine.open_lines(path, provinces=scope)
    lines = frame if scope is None else frame.loc[frame["province"].isin(scope)]
    lines = lines.loc[PERIOD.contains(lines["order_date"])]
    regions = PEOPLE.set_index("customer_id")["province"]
    orders = buying.period_orders(lines, regions, column)
    pd.testing.assert_frame_equal(buying.period_orders_sql(con, regions, column, period=PERIOD),
                                  orders)
    if scope is None:  # known answers: o1 is one order of 150; o2, o4 and o5 are none
        assert list(orders["order_id"]) == ["o1", "o3", "o4", "o7", "o8", "o9", "o10"]
        assert orders["value"].iloc[0] == 150.0
        # g has no region but its line's province; 湖南 is no region's
        missing = [3] if column is None else [6]
        assert orders["region"].isna().tolist() == [i in missing for i in range(7)]
    assert buying.has_time_sql(con, period=PERIOD) == (scope != ("西藏",))
    assert buying.has_time(lines) == (scope != ("西藏",))
    expected = buying.discounts(lines, regions, market="ALL", column=column, min_count=2)
    found = buying.discounts_sql(con, regions, period=PERIOD, market="ALL", column=column,
                                 min_count=2)
    pd.testing.assert_frame_equal(found[0], expected[0])
    pd.testing.assert_frame_equal(found[1], expected[1])
    _same_notes(found[2], expected[2])
    if scope is None:
        assert found[2]["out_of_range"] == 1 and found[2]["lines"] == 6
        assert found[2]["discount_only_customers"] == 3  # b, c, g


def test_period_orders_without_order_ids(tmp_path):
    from helpers.analysis import buying

    frame = _lines(EDGE).drop(columns="order_id")
    path = tmp_path / "orders.parquet"
    frame.to_parquet(path, index=False)
    frame = pd.read_parquet(path)
    con = engine.open_lines(path)
    regions = PEOPLE.set_index("customer_id")["province"]
    lines = frame.loc[PERIOD.contains(frame["order_date"])]
    expected = buying.period_orders(lines, regions)
    n = int((lines["amount"] > 0).sum())
    assert n > 10 and expected["order_id"].tolist() == list(range(n))
    pd.testing.assert_frame_equal(buying.period_orders_sql(con, regions, period=PERIOD),
                                  expected)


# ---- partners: revenue and purchase lines of each partner in the period -----------------

@pytest.mark.parametrize("region", SCOPES[:3])
def test_sample_partner_tiers_equal_pandas(sample, region):
    from helpers.analysis import partners

    ctx = context.open_step(region=region, run_dir=str(sample))
    con = _open(ctx, sample / "prep" / "orders.parquet")
    scoring = ctx.config.partners.model_dump(exclude_none=True)
    expected = partners.partner_tiers(ctx.customers, ctx.orders, period=ctx.period,
                                      scoring=scoring)
    assert len(expected) and expected["revenue"].sum() > 0 and expected["orders"].sum() > 0
    pd.testing.assert_frame_equal(
        partners.partner_tiers_sql(con, ctx.customers, period=ctx.period, scoring=scoring),
        expected)


def test_partner_tiers_edge_cases_by_hand(edge):
    from helpers.analysis import partners

    path, orders = edge
    people = PEOPLE.assign(headcount=[25, 12, 3, 30, 8, 15, None, 40, 5, 22],
                           years_active=[5, 1, 3, 2, 4, 6, 1, 3, 2, 10],
                           signup_date=pd.to_datetime(["2020-01-01", "2024-02-01", None, None,
                                                       None, "2021-01-01", None, "2024-01-05",
                                                       None, None]).astype("datetime64[ns]"))
    for scope in (None, ("广东",), ("湖南",)):
        con = engine.open_lines(path, provinces=scope)
        lines = orders if scope is None else orders.loc[orders["province"].isin(scope)]
        expected = partners.partner_tiers(people, lines, period=PERIOD)
        found = partners.partner_tiers_sql(con, people, period=PERIOD)
        pd.testing.assert_frame_equal(found, expected)
    mine = expected.set_index("customer_id")  # no line in 湖南: no revenue, all churned
    assert (mine["revenue"] == 0).all() and mine["flag_churned"].all()
    found = partners.partner_tiers_sql(engine.open_lines(path), people,
                                       period=PERIOD).set_index("customer_id")
    # known answers: c nets 10 - 70 + 40 = -20 from 2 purchase lines; a 100 + 75 - 100
    assert found.loc["c", "revenue"] == -20.0 and found.loc["c", "orders"] == 2
    assert found.loc["a", "revenue"] == 75.0 and found.loc["a", "orders"] == 3
    assert found.loc["d", "orders"] == 0 and found.loc["e", "revenue"] == 0.0
