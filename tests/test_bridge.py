"""The revenue bridge (helpers.analysis.bridge): known answers on hand-made orders, and
every row of a generated dataset reconciles to the unit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.analysis.bridge import BRIDGE_COLUMNS, COMPONENTS, bridge, revenue_bridge
from helpers.period import Period

PERIOD = Period.ending("2025-12-31", months=12)
PARTS = [f"from_{part}" for part in COMPONENTS]


def _orders(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount",
                                        "product_category"])
    return frame.assign(order_date=pd.to_datetime(frame["order_date"]))


#: N new (100); L lost (80); M buys 50 -> 70 of a and adds b (30); S buys 60 -> 40 of a
#: and drops c (25); X only before both periods; the last day of each period is inside it.
HAND = _orders([
    ("N", "2025-03-01", 100.0, "a"),
    ("L", "2024-05-01", 80.0, "a"),
    ("M", "2024-02-01", 50.0, "a"), ("M", "2025-02-01", 70.0, "a"),
    ("M", "2025-12-31", 30.0, "b"),
    ("S", "2024-02-01", 60.0, "a"), ("S", "2024-12-31", 25.0, "c"),
    ("S", "2025-02-01", 40.0, "a"),
    ("X", "2023-06-01", 999.0, "a"),
])
WHERE = pd.Series({"N": "north", "L": "north", "M": "south", "S": "south"})


def test_each_part_is_the_customers_behind_it():
    table = revenue_bridge(HAND, PERIOD, regions=WHERE).set_index("region", drop=False)
    assert list(table.columns) == BRIDGE_COLUMNS
    total = table.loc[table["is_total"]].iloc[0]
    assert total[["revenue_prev", *PARTS, "revenue", "change"]].tolist() == [
        215.0, 100.0, -80.0, 20.0, -20.0, 5.0, 240.0, 25.0]
    assert total[["customers_prev", "customers", "customers_new", "customers_lost",
                  "customers_more", "customers_less"]].tolist() == [3, 3, 1, 1, 1, 1]
    north, south = table.loc["north"], table.loc["south"]
    assert north[PARTS].tolist() == [100.0, -80.0, 0.0, 0.0, 0.0]
    assert south[PARTS].tolist() == [0.0, 0.0, 20.0, -20.0, 5.0]
    # net of customers won and lost (+20) drives the market's +25; in the south the
    # existing customers net out (0) and the categories added bring the +5
    assert (total["driver"], total["driver_net"]) == ("new", 20.0)
    assert (south["driver"], south["driver_net"]) == ("mix", 5.0)
    assert table["is_total"].tolist() == [False, False, True]
    assert north["region"] == "north" and pd.isna(total["region"])


def test_without_categories_existing_customers_are_more_or_less_of_everything():
    table = revenue_bridge(HAND.drop(columns="product_category"), PERIOD)
    total = table.iloc[-1]
    # M: 50 -> 100 (+50), S: 85 -> 40 (-45); no mix part
    assert total[PARTS].tolist() == [100.0, -80.0, 50.0, -45.0, 0.0]
    assert total["revenue"] - total["revenue_prev"] == total[PARTS].sum()
    # the same without any category value
    empty = revenue_bridge(HAND.assign(product_category=pd.NA), PERIOD).iloc[-1]
    assert empty[PARTS].tolist() == total[PARTS].tolist()


def test_returns_and_lines_without_a_category():
    """A customer whose lines net to zero still bought (a line in the period); lines
    without a category are one category of their own."""
    orders = _orders([
        ("R", "2024-03-01", 50.0, None), ("R", "2025-03-01", 50.0, None),
        ("R", "2025-03-02", -50.0, None),                 # R: 50 -> 0 net, still a buyer
        ("Z", "2024-03-01", 10.0, "a"), ("Z", "2025-03-01", 10.0, None)])  # Z: a -> none
    total = revenue_bridge(orders, PERIOD).iloc[-1]
    assert total[PARTS].tolist() == [0.0, 0.0, 0.0, -50.0, 0.0]
    assert total[["customers_lost", "customers_less", "customers_same"]].tolist() == [0, 1, 1]


def _generated(seed: int, n: int = 400) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    customers = [f"c{i}" for i in range(n)]
    rows = rng.integers(0, n, 6000)
    days = pd.Timestamp("2023-06-01") + pd.to_timedelta(rng.integers(0, 940, 6000), "D")
    amount = np.round(rng.gamma(2.0, 300.0, 6000) * rng.choice([1, 1, 1, 1, -0.5], 6000), 2)
    orders = pd.DataFrame({"customer_id": np.asarray(customers)[rows], "order_date": days,
                           "amount": amount,
                           "product_category": rng.choice(["a", "b", "c", None], 6000)})
    regions = pd.Series(rng.choice(["r1", "r2", "r3", None], n), index=customers)
    return orders, regions


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_row_reconciles_to_the_unit(seed):
    orders, regions = _generated(seed)
    table = revenue_bridge(orders, PERIOD, regions=regions)
    assert np.allclose(table["revenue_prev"] + table[PARTS].sum(axis=1), table["revenue"],
                       atol=0.01, rtol=0)
    assert np.allclose(table["change"], table[PARTS].sum(axis=1), atol=0.01, rtol=0)
    # the revenue of each period is the orders' own
    now = orders.loc[PERIOD.contains(orders["order_date"]), "amount"].sum()
    before = orders.loc[PERIOD.previous.contains(orders["order_date"]), "amount"].sum()
    total = table.iloc[-1]
    assert total["revenue"] == pytest.approx(now, abs=0.01)
    assert total["revenue_prev"] == pytest.approx(before, abs=0.01)
    # the regions' rows add up to the customers with a region
    located = table.loc[~table["is_total"], ["revenue_prev", *PARTS, "revenue"]].sum()
    placed = orders.loc[orders["customer_id"].map(regions).notna()]
    assert located["revenue"] == pytest.approx(
        placed.loc[PERIOD.contains(placed["order_date"]), "amount"].sum(), abs=0.01)
    kinds = ["customers_new", "customers_lost", "customers_more", "customers_less",
             "customers_same"]
    union = table["customers_prev"] + table["customers_new"]  # bought in either period
    assert (union == table["customers"] + table["customers_lost"]).all()
    assert (table[kinds].sum(axis=1) == union).all()


def test_a_previous_period_the_data_do_not_cover_gives_no_numbers():
    export = pd.Series(pd.to_datetime(["2024-10-01", "2025-12-31"]))  # the data start late
    table, note = bridge(HAND, PERIOD, dates=export, min_coverage=0.8)
    assert table.empty and list(table.columns) == BRIDGE_COLUMNS
    assert note["shown"] is False and note["reason_key"] == "thin_baseline"
    assert note["previous"]["days_covered"] == 92 and not note["previous"]["enough"]
    table, note = bridge(HAND, PERIOD, dates=HAND["order_date"], min_coverage=0.8)
    assert note["shown"] and note["driver"] == "new" and note["driver_amount"] == 100.0
    assert note["change"] == 25.0 and note["mix"] is True


def test_growth_on_new_customers_over_an_eroding_base_is_flagged():
    table = revenue_bridge(HAND, PERIOD, regions=WHERE).set_index("region", drop=False)
    # north: +20 = new +100 over a base that lost all of its 80; south: no new customers
    assert table.loc["north", "base_change"] == -80.0 and table.loc["north", "eroding"]
    assert not table.loc["south", "eroding"]
    # a base 4% smaller is not erosion (EROSION 5%)
    small = _orders([("A", "2024-03-01", 100.0, "a"), ("A", "2025-03-01", 96.0, "a"),
                     ("B", "2025-03-01", 10.0, "a")])
    assert not revenue_bridge(small, PERIOD).iloc[-1]["eroding"]


def _words(orders, regions, lang, dates=None):
    from helpers.text.narrative.audience import Audience
    from helpers.text.narrative.insight import narrate

    table, note = bridge(orders, PERIOD, dates=orders["order_date"] if dates is None else dates,
                         regions=regions)
    return narrate("bridge", {"revenue_bridge": table, "notes": {"bridge": note}},
                   Audience(lang=lang, currency="CNY"))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_bridge_in_plain_words(lang):
    said = _words(HAND, WHERE, lang)
    if lang == "en":
        assert "Revenue went from **215 CNY** (2024-01-01 – 2024-12-31) to **240 CNY**" in said
        assert ("new customers +100; customers not buying again -80; existing customers buying "
                "more +20 and buying less -20; categories existing customers added or dropped "
                "+5") in said
        assert ("The largest driver: **new customers** (+100 CNY; net of customers not buying "
                "again: +20)") in said
        assert "Growth from new customers while last period's customers bring less: north." in said
    else:
        assert "最大驱动因素：**新客户**（+100元；扣除未再购买的客户后净额 +20）" in said
        assert "依靠新客户增长、而上期客户贡献减少的地区：north。" in said
    export = pd.Series(pd.to_datetime(["2024-10-01", "2025-12-31"]))
    thin = _words(HAND, WHERE, lang, dates=export)
    assert thin.replace("\\", "").startswith("**No revenue bridge**: the data cover 92 of the 366 days" if lang == "en"
                           else "**不做收入变动分解**：数据只覆盖 2024-01-01 – 2024-12-31 的 366 天中的 92 天")
