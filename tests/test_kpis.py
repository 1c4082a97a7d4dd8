"""Tests for helpers.analysis.kpis on small hand-made tables with hand-computed answers."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from helpers.analysis import kpis
from helpers.analysis.benchmark import Benchmark
from helpers.config import load_config
from helpers.geo.reference import load_province_reference
from helpers.geo.scope import Scope
from helpers.period import Period

END = "2024-12-31"
PERIOD = Period.ending(END)


@pytest.fixture
def customers() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["c1", "c2", "c3", "c4", "c5", "c6"],
        "province": ["广东省", "广东省", "广东省", "江苏省", "江苏省", "四川省"],
        "territory": ["华南", "华南", "华南", "华东", "华东", "西南"],
        "city": ["深圳市", "深圳市", "广州市", "南京市", "苏州市", "成都市"],
        "city_code": ["440300", "440300", "440100", "320100", "320500", "510100"],
        "lat": [22.0, 23.0, 24.0, 32.0, 31.0, 30.6],
        "lon": [114.0, 113.0, 113.0, 118.0, 120.0, 104.0],
        "signup_date": pd.to_datetime(
            ["2020-05-01", "2024-03-01", None, "2019-01-01", "2023-12-31", "2022-06-01"]),
        "channel": ["经销商"] * 6,
    })


@pytest.fixture
def orders() -> pd.DataFrame:
    rows = [
        ("o1", "c1", "2023-03-01", 1000.0),   # previous period
        ("o2", "c1", "2024-01-15", 1500.0),   # current
        ("o3", "c1", "2024-12-31T15:30:00", 500.0),  # current: the end day is included
        ("o4", "c2", "2024-04-01", 800.0),
        ("o5", "c2", "2024-05-01", -200.0),   # a return: reduces revenue, not an order
        ("o6", "c3", "2024-02-10", 300.0),    # c3 has no signup date: new by first order
        ("o7", "c4", "2023-06-01", 2000.0),
        ("o8", "c4", "2023-12-31", 1000.0),   # start day: belongs to the previous period
        ("o9", "c4", "2024-06-30", 1500.0),
        ("o10", "c5", "2024-01-01", 400.0),
        ("o11", "c6", "2022-12-31", 700.0),   # before the previous period
        ("o12", "c6", "2023-02-01", 600.0),
    ]
    frame = pd.DataFrame(rows, columns=["order_id", "customer_id", "order_date", "amount"])
    frame["order_date"] = pd.to_datetime(frame["order_date"], format="ISO8601")
    return frame.assign(
        quantity=pd.array([1] * 12, dtype="Int64"),
        product_category="reader",
        status="已完成",
        province=frame["customer_id"].map(
            {"c1": "广东省", "c2": "广东省", "c3": "广东省", "c4": "江苏省", "c5": "江苏省",
             "c6": "四川省"}),
    )


# --------------------------------------------------------------------------- region KPIs


def test_region_kpis_province_exact(customers, orders):
    before_c, before_o = customers.copy(), orders.copy()
    table = kpis.region_kpis(customers, orders, level="province", period=PERIOD)
    pd.testing.assert_frame_equal(customers, before_c)
    pd.testing.assert_frame_equal(orders, before_o)

    assert list(table["region"]) == ["广东省", "江苏省", "四川省"]
    t = table.set_index("region")
    assert t.loc["广东省", "region_en"] == "Guangdong"
    assert (t["level"] == "province").all()
    assert t["customers"].tolist() == [3, 2, 1]
    assert t["new_customers"].tolist() == [2, 0, 0]      # c2 by signup, c3 by first order
    assert t["active_customers"].tolist() == [3, 2, 0]
    assert t["orders"].tolist() == [4, 2, 0]
    assert t["revenue"].tolist() == [2900.0, 1900.0, 0.0]
    assert t["revenue_prev"].tolist() == [1000.0, 3000.0, 600.0]
    assert t.loc["广东省", "growth_yoy"] == pytest.approx(1.9)
    assert t.loc["江苏省", "growth_yoy"] == pytest.approx(-1100 / 3000)
    assert t.loc["四川省", "growth_yoy"] == pytest.approx(-1.0)
    assert t.loc["广东省", "aov"] == pytest.approx(725.0)
    assert math.isnan(t.loc["四川省", "aov"])
    assert t.loc["广东省", "orders_per_customer"] == pytest.approx(4 / 3)
    assert t.loc["江苏省", "revenue_per_customer"] == pytest.approx(950.0)
    assert t["share"].tolist() == pytest.approx([2900 / 4800, 1900 / 4800, 0.0])
    assert t["small_sample"].tolist() == [True, True, True]
    assert t.loc["广东省", "lat"] == pytest.approx(23.13, abs=0.05)  # Guangzhou, not the mean
    assert "population_10k" not in table.columns


def test_region_kpis_active_window_and_min_customers(customers, orders):
    table = kpis.region_kpis(customers, orders, period=PERIOD, active_months=6,
                            min_customers=3).set_index("region")
    # Active window (2024-06-30, 2024-12-31]: only c1's o3; o9 is on the excluded start day.
    assert table["active_customers"].tolist() == [1, 0, 0]
    assert table["small_sample"].tolist() == [False, True, True]


def test_region_kpis_growth_nan_without_previous_revenue(customers, orders):
    late = orders[orders["order_date"] >= "2024-01-01"]
    table = kpis.region_kpis(customers, late, period=PERIOD).set_index("region")
    assert math.isnan(table.loc["广东省", "growth_yoy"])
    assert table.loc["广东省", "revenue_prev"] == 0.0


def test_region_kpis_universe_adds_blank_province(customers, orders):
    table = kpis.region_kpis(customers, orders, period=PERIOD,
                            universe=["广东省", "西藏自治区"])
    assert list(table["region"]) == ["广东省", "江苏省", "四川省", "西藏自治区"]
    blank = table.set_index("region").loc["西藏自治区"]
    assert blank["customers"] == 0 and blank["revenue"] == 0.0 and blank["orders"] == 0
    assert blank["region_en"] == "Tibet"
    assert blank["lat"] == pytest.approx(29.65, abs=0.1)


REFERENCE = pd.DataFrame({
    "province_code": ["440000", "320000", "510000", "540000"],
    "province": ["广东省", "江苏省", "四川省", "西藏自治区"],
    "population_10k": [100.0, 100.0, 25.0, 50.0],
    "gdp_100m_cny": [400.0, 100.0, 100.0, 50.0],
})


def test_region_kpis_reference_expected_and_gap(customers, orders):
    reference = REFERENCE
    # weights sqrt(pop * gdp) = 200, 100, 50, 50 of 400; 6 customers in all.
    table = kpis.region_kpis(customers, orders, period=PERIOD,
                             reference=reference).set_index("region")
    assert list(table.index) == ["广东省", "江苏省", "四川省", "西藏自治区"]
    assert table["expected_customers"].tolist() == pytest.approx([3.0, 1.5, 0.75, 0.75])
    assert table["gap_ratio"].tolist() == pytest.approx([1.0, 2 / 1.5, 1 / 0.75, 0.0])
    assert table["customers_per_million"].tolist() == pytest.approx([3.0, 2.0, 4.0, 0.0])
    assert table.loc["西藏自治区", "customers"] == 0


def test_region_kpis_bundled_reference_lists_31_provinces(customers, orders):
    reference = load_province_reference()
    table = kpis.region_kpis(customers, orders, period=PERIOD, reference=reference)
    assert len(table) == 31
    assert (table["customers"] == 0).sum() == 28
    assert table["expected_customers"].sum() == pytest.approx(6.0)
    only_customers = kpis.region_kpis(customers, orders, period=PERIOD, reference=reference,
                                      universe=[])
    assert len(only_customers) == 3


def test_region_kpis_territory_and_city(customers, orders):
    terr = kpis.region_kpis(customers, orders, level="territory",
                            period=PERIOD).set_index("region")
    assert terr.loc["华南", "region_en"] == "South China"
    assert terr.loc["华南", "lat"] == pytest.approx(23.0)    # mean of 22, 23, 24
    assert terr.loc["华东", "lon"] == pytest.approx(119.0)
    assert terr.loc["华南", "revenue"] == 2900.0

    city = kpis.region_kpis(customers, orders, level="city", period=PERIOD).set_index("region")
    assert city.loc["深圳市", "revenue"] == 2600.0           # 1500 + 500 + 800 - 200
    assert city.loc["深圳市", "customers"] == 2
    assert city.loc["深圳市", "lat"] == pytest.approx(22.54, abs=0.05)
    assert city["revenue"].sum() == 4800.0


def test_region_kpis_rejects_unknown_level(customers, orders):
    with pytest.raises(ValueError, match="level"):
        kpis.region_kpis(customers, orders, level="district")


def test_territory_rows_have_the_english_name_of_the_territory_report(customers, orders):
    """One territory table: 西南 is "Southwest" in its report (heading, folder
    ``southwest``) and in territory KPI rows alike (it was "Southwest China" here)."""
    config = load_config()
    terr = kpis.region_kpis(customers, orders, level="territory", period=PERIOD)
    assert set(terr["region"]) == {"华南", "华东", "西南"}
    for name, english in zip(terr["region"], terr["region_en"], strict=True):
        assert english == Scope.parse(name, config).label_en, name
    assert terr.set_index("region").loc["西南", "region_en"] == "Southwest"


def test_a_benchmark_gives_the_market_share_and_the_market_gap_model(customers, orders):
    """A "territory" of Guangdong and Sichuan judged against the whole market."""
    market = kpis.region_kpis(customers, orders, period=PERIOD, reference=REFERENCE)
    inside = customers["province"].isin(["广东省", "四川省"])
    mine = kpis.region_kpis(customers[inside], orders[orders["customer_id"].isin(
        customers.loc[inside, "customer_id"])], period=PERIOD, reference=REFERENCE,
        universe=["广东省", "四川省"], benchmark=Benchmark(market))
    alone = kpis.region_kpis(customers[inside], orders, period=PERIOD, reference=REFERENCE,
                             universe=["广东省", "四川省"])
    t, m = mine.set_index("region"), market.set_index("region")
    assert list(t.index) == ["广东省", "四川省"]
    assert t["share"].tolist() == pytest.approx([1.0, 0.0])        # the territory's own
    assert t["market_share"].tolist() == pytest.approx([2900 / 4800, 0.0])
    assert list(mine.columns) == [*alone.columns, "market_share"]
    # The market's model (6 customers over weights 200, 100, 50, 50), not a fit on the two
    # provinces alone (4 customers over 200 and 50: 3.2 and 0.8).
    assert t["expected_customers"].tolist() == pytest.approx([3.0, 0.75])
    assert alone.set_index("region")["expected_customers"].tolist() == pytest.approx([3.2, 0.8])
    for column in ("expected_method", "gap_ratio", "customer_gap", "gap_p"):
        assert t[column].tolist() == m.loc[t.index, column].tolist(), column
    assert t["population_10k"].tolist() == [100.0, 25.0]
    # a benchmark judges rows of its own level (provinces here; cities in a city report)
    with pytest.raises(ValueError, match="a benchmark of province rows cannot judge city rows"):
        kpis.region_kpis(customers, orders, level="city", period=PERIOD,
                         benchmark=Benchmark(market))


# --------------------------------------------------------------------------- trends


def test_monthly_revenue_fills_gaps(orders):
    monthly = kpis.monthly_revenue(orders[orders["order_date"] >= "2024-01-01"])
    assert monthly["month"].iloc[0] == pd.Timestamp("2024-01-01")
    assert len(monthly) == 12
    m = monthly.set_index("month")
    assert m.loc["2024-01-01", "revenue"] == 1900.0        # o2 + o10
    assert m.loc["2024-01-01", "orders"] == 2
    assert m.loc["2024-05-01", "revenue"] == -200.0 and m.loc["2024-05-01", "orders"] == 0
    assert m.loc["2024-03-01", "revenue"] == 0.0           # gap month present
    assert m["revenue"].sum() == 4800.0


def test_monthly_revenue_by_group(orders):
    monthly = kpis.monthly_revenue(orders, by="province")
    assert list(monthly.columns) == ["province", "month", "revenue", "orders"]
    per = monthly.groupby("province")["revenue"].sum()
    assert per["广东省"] == 3900.0 and per["四川省"] == 1300.0
    months_each = monthly.groupby("province").size()
    assert months_each.nunique() == 1                        # same span for every group


# --------------------------------------------------------------------------- step 4 additions


def test_region_kpis_growth_pop_yoy_and_reps(customers, orders):
    reps = customers.assign(sales_rep_id=["s1", "s1", "s2", "s3", None, "s4"])
    table = kpis.region_kpis(reps, orders, period=Period.ending(END, 6),
                            pop_months=3).set_index("region")
    # Current period (2024-06-30, 2024-12-31]: 广东 has o3 (500) only.
    assert table.loc["广东省", "revenue"] == 500.0
    # Same window a year earlier (2023-06-30, 2023-12-31]: nothing in 广东; 江苏 o8 1000.
    assert table.loc["江苏省", "revenue_last_year"] == 1000.0
    assert math.isnan(table.loc["广东省", "growth_yoy"])
    # Previous period (2023-12-30, 2024-06-30] (month-end arithmetic of Period.previous):
    # 江苏 o8 1000 + o9 1500 + o10 400.
    assert table.loc["江苏省", "revenue_prev"] == 2900.0
    # Recent 3 months (2024-09-30, 2024-12-31] vs (2024-06-30, 2024-09-30].
    assert table.loc["广东省", "revenue_recent"] == 500.0
    assert table.loc["广东省", "revenue_recent_prev"] == 0.0
    assert table["reps"].tolist() == [2, 1, 1]
    assert table.loc["广东省", "customers_per_rep"] == pytest.approx(1.5)
    assert table.loc["广东省", "revenue_per_rep"] == pytest.approx(250.0)


def test_region_kpis_growth_pop_by_hand(customers, orders):
    table = kpis.region_kpis(customers, orders, period=PERIOD, pop_months=6).set_index("region")
    # (2024-06-30, 2024-12-31]: 广东 500; (2023-12-31, 2024-06-30]: 1500 + 800 - 200 + 300.
    assert table.loc["广东省", "growth_pop"] == pytest.approx(500 / 2400 - 1)
    assert table.loc["江苏省", "growth_yoy"] == pytest.approx(-1100 / 3000)  # months = 12


def test_region_kpis_for_a_country_outside_the_gazetteer():
    customers = pd.DataFrame({
        "customer_id": ["a", "b", "c"], "province": ["SP", "SP", "RJ"],
        "lat": [-23.5, -23.7, -22.9], "lon": [-46.6, -46.8, -43.2]})
    orders = pd.DataFrame({"order_id": ["1", "2", "3"], "customer_id": ["a", "b", "c"],
                           "order_date": pd.to_datetime(["2018-01-05"] * 3),
                           "amount": [10.0, 20.0, 5.0]})
    table = kpis.region_kpis(customers, orders, period=Period.ending("2018-06-30"),
                            reference=None).set_index("region")
    assert table.loc["SP", "lat"] == pytest.approx(-23.6)
    assert table.loc["SP", "lon"] == pytest.approx(-46.7)
    assert table.loc["RJ", "region_en"] == "RJ" and table.loc["SP", "revenue"] == 30.0
    assert "expected_customers" not in table.columns
