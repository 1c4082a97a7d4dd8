"""Tests for helpers.analysis.kpi on small hand-made tables with hand-computed answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import kpi

END = "2024-12-31"


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


# --------------------------------------------------------------------------- periods


def test_period_windows_explicit_end():
    w = kpi.period_windows(pd.DataFrame({"order_date": []}), "2024-12-31", 12)
    assert w["end"] == pd.Timestamp("2024-12-31")
    assert w["start"] == pd.Timestamp("2023-12-31")
    assert w["prev_end"] == pd.Timestamp("2023-12-31")
    assert w["prev_start"] == pd.Timestamp("2022-12-31")


def test_period_windows_default_end_is_last_order_day(orders):
    w = kpi.period_windows(orders)
    assert w["end"] == pd.Timestamp("2024-12-31")  # 15:30 normalised to the day
    assert w["start"] == pd.Timestamp("2023-12-31")
    assert kpi.period_windows(orders, "")["end"] == w["end"]


def test_period_windows_month_end_arithmetic():
    w = kpi.period_windows(pd.DataFrame({"order_date": []}), "2024-05-31", months=3)
    assert w["start"] == pd.Timestamp("2024-02-29")
    assert w["prev_start"] == pd.Timestamp("2023-11-29")


# --------------------------------------------------------------------------- region KPIs


def test_region_kpis_province_exact(customers, orders):
    before_c, before_o = customers.copy(), orders.copy()
    table = kpi.region_kpis(customers, orders, level="province", period_end=END)
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
    table = kpi.region_kpis(customers, orders, period_end=END, active_months=6,
                            min_customers=3).set_index("region")
    # Active window (2024-06-30, 2024-12-31]: only c1's o3; o9 is on the excluded start day.
    assert table["active_customers"].tolist() == [1, 0, 0]
    assert table["small_sample"].tolist() == [False, True, True]


def test_region_kpis_growth_nan_without_previous_revenue(customers, orders):
    late = orders[orders["order_date"] >= "2024-01-01"]
    table = kpi.region_kpis(customers, late, period_end=END).set_index("region")
    assert math.isnan(table.loc["广东省", "growth_yoy"])
    assert table.loc["广东省", "revenue_prev"] == 0.0


def test_region_kpis_universe_adds_blank_province(customers, orders):
    table = kpi.region_kpis(customers, orders, period_end=END,
                            universe=["广东省", "西藏自治区"])
    assert list(table["region"]) == ["广东省", "江苏省", "四川省", "西藏自治区"]
    blank = table.set_index("region").loc["西藏自治区"]
    assert blank["customers"] == 0 and blank["revenue"] == 0.0 and blank["orders"] == 0
    assert blank["region_en"] == "Tibet"
    assert blank["lat"] == pytest.approx(29.65, abs=0.1)


def test_region_kpis_reference_expected_and_gap(customers, orders):
    reference = pd.DataFrame({
        "province_code": ["440000", "320000", "510000", "540000"],
        "province": ["广东省", "江苏省", "四川省", "西藏自治区"],
        "population_10k": [100.0, 100.0, 25.0, 50.0],
        "gdp_100m_cny": [400.0, 100.0, 100.0, 50.0],
    })
    # weights sqrt(pop * gdp) = 200, 100, 50, 50 of 400; 6 customers in all.
    table = kpi.region_kpis(customers, orders, period_end=END,
                            reference=reference).set_index("region")
    assert list(table.index) == ["广东省", "江苏省", "四川省", "西藏自治区"]
    assert table["expected_customers"].tolist() == pytest.approx([3.0, 1.5, 0.75, 0.75])
    assert table["gap_ratio"].tolist() == pytest.approx([1.0, 2 / 1.5, 1 / 0.75, 0.0])
    assert table["customers_per_million"].tolist() == pytest.approx([3.0, 2.0, 4.0, 0.0])
    assert table.loc["西藏自治区", "customers"] == 0


def test_region_kpis_bundled_reference_lists_31_provinces(customers, orders):
    reference = kpi.load_province_reference()
    assert len(reference) == 31
    assert reference.loc[reference["province"] == "广东省", "population_10k"].item() == 12601
    table = kpi.region_kpis(customers, orders, period_end=END, reference=reference)
    assert len(table) == 31
    assert (table["customers"] == 0).sum() == 28
    assert table["expected_customers"].sum() == pytest.approx(6.0)
    only_customers = kpi.region_kpis(customers, orders, period_end=END, reference=reference,
                                     universe=[])
    assert len(only_customers) == 3


def test_region_kpis_territory_and_city(customers, orders):
    terr = kpi.region_kpis(customers, orders, level="territory",
                           period_end=END).set_index("region")
    assert terr.loc["华南", "region_en"] == "South China"
    assert terr.loc["华南", "lat"] == pytest.approx(23.0)    # mean of 22, 23, 24
    assert terr.loc["华东", "lon"] == pytest.approx(119.0)
    assert terr.loc["华南", "revenue"] == 2900.0

    city = kpi.region_kpis(customers, orders, level="city", period_end=END).set_index("region")
    assert city.loc["深圳市", "revenue"] == 2600.0           # 1500 + 500 + 800 - 200
    assert city.loc["深圳市", "customers"] == 2
    assert city.loc["深圳市", "lat"] == pytest.approx(22.54, abs=0.05)
    assert city["revenue"].sum() == 4800.0


def test_region_kpis_rejects_unknown_level(customers, orders):
    with pytest.raises(ValueError, match="level"):
        kpi.region_kpis(customers, orders, level="district")


# --------------------------------------------------------------------------- concentration


def _gini_mean_abs_difference(values):
    x = np.clip(np.asarray(values, dtype=float), 0, None)
    return np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean())


def test_concentration_single_holder():
    stats = kpi.concentration([0, 0, 0, 10])
    assert stats["n"] == 4
    assert stats["gini"] == pytest.approx(0.75)
    assert stats["hhi"] == pytest.approx(1.0)
    assert stats["top20_share"] == pytest.approx(1.0)
    assert stats["top_k_for_80"] == 1


def test_concentration_hand_computed():
    stats = kpi.concentration(pd.Series([30, 10, 40, 20]))
    assert stats["gini"] == pytest.approx(0.25)
    assert stats["hhi"] == pytest.approx(0.30)
    assert stats["top20_share"] == pytest.approx(0.40)      # ceil(0.8) = 1 unit
    assert stats["top_k_for_80"] == 3                      # 40, 70, 90
    assert stats["total"] == 100.0


def test_concentration_boundary_and_clipping():
    stats = kpi.concentration([8, 1, 1])
    assert stats["top_k_for_80"] == 1                      # exactly 80% counts
    assert stats["gini"] == pytest.approx(14 / 30)
    clipped = kpi.concentration([-5, 5, 5])
    assert clipped["n"] == 3 and clipped["total"] == 10.0
    assert clipped["gini"] == pytest.approx(1 / 3)
    assert clipped["top20_share"] == pytest.approx(0.5)


def test_concentration_zero_total():
    stats = kpi.concentration([0, -3])
    assert math.isnan(stats["gini"]) and stats["top_k_for_80"] == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gini_matches_mean_absolute_difference_and_lorenz(seed):
    values = np.random.default_rng(seed).lognormal(size=37)
    gini = kpi.concentration(values)["gini"]
    assert gini == pytest.approx(_gini_mean_abs_difference(values))
    curve = kpi.lorenz(values)
    x, y = curve["cum_units_share"].to_numpy(), curve["cum_value_share"].to_numpy()
    area = np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2)
    assert gini == pytest.approx(1 - 2 * area)


def test_lorenz_points():
    curve = kpi.lorenz([40, 10, 30, 20])
    assert curve["cum_units_share"].tolist() == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])
    assert curve["cum_value_share"].tolist() == pytest.approx([0, 0.1, 0.3, 0.6, 1.0])


# --------------------------------------------------------------------------- trends


def test_monthly_revenue_fills_gaps(orders):
    monthly = kpi.monthly_revenue(orders[orders["order_date"] >= "2024-01-01"])
    assert monthly["month"].iloc[0] == pd.Timestamp("2024-01-01")
    assert len(monthly) == 12
    m = monthly.set_index("month")
    assert m.loc["2024-01-01", "revenue"] == 1900.0        # o2 + o10
    assert m.loc["2024-01-01", "orders"] == 2
    assert m.loc["2024-05-01", "revenue"] == -200.0 and m.loc["2024-05-01", "orders"] == 0
    assert m.loc["2024-03-01", "revenue"] == 0.0           # gap month present
    assert m["revenue"].sum() == 4800.0


def test_monthly_revenue_by_group(orders):
    monthly = kpi.monthly_revenue(orders, by="province")
    assert list(monthly.columns) == ["province", "month", "revenue", "orders"]
    per = monthly.groupby("province")["revenue"].sum()
    assert per["广东省"] == 3900.0 and per["四川省"] == 1300.0
    months_each = monthly.groupby("province").size()
    assert months_each.nunique() == 1                        # same span for every group


# --------------------------------------------------------------------------- step 4 additions


def test_region_kpis_growth_pop_yoy_and_reps(customers, orders):
    reps = customers.assign(sales_rep_id=["s1", "s1", "s2", "s3", None, "s4"])
    table = kpi.region_kpis(reps, orders, period_end=END, months=6,
                            pop_months=3).set_index("region")
    # Current period (2024-06-30, 2024-12-31]: 广东 has o3 (500) only.
    assert table.loc["广东省", "revenue"] == 500.0
    # Same window a year earlier (2023-06-30, 2023-12-31]: nothing in 广东; 江苏 o8 1000.
    assert table.loc["江苏省", "revenue_last_year"] == 1000.0
    assert math.isnan(table.loc["广东省", "growth_yoy"])
    # Previous period (2023-12-30, 2024-06-30] (month-end arithmetic of period_windows):
    # 江苏 o8 1000 + o9 1500 + o10 400.
    assert table.loc["江苏省", "revenue_prev"] == 2900.0
    # Recent 3 months (2024-09-30, 2024-12-31] vs (2024-06-30, 2024-09-30].
    assert table.loc["广东省", "revenue_recent"] == 500.0
    assert table.loc["广东省", "revenue_recent_prev"] == 0.0
    assert table["reps"].tolist() == [2, 1, 1]
    assert table.loc["广东省", "customers_per_rep"] == pytest.approx(1.5)
    assert table.loc["广东省", "revenue_per_rep"] == pytest.approx(250.0)


def test_region_kpis_growth_pop_by_hand(customers, orders):
    table = kpi.region_kpis(customers, orders, period_end=END, pop_months=6).set_index("region")
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
    table = kpi.region_kpis(customers, orders, period_end="2018-06-30",
                            reference=None).set_index("region")
    assert table.loc["SP", "lat"] == pytest.approx(-23.6)
    assert table.loc["SP", "lon"] == pytest.approx(-46.7)
    assert table.loc["RJ", "region_en"] == "RJ" and table.loc["SP", "revenue"] == 30.0
    assert "expected_customers" not in table.columns


def test_marketing_roi_pro_rata_by_day():
    kpis = pd.DataFrame({"region": ["广东省", "江苏省", "四川省"],
                         "revenue": [1000.0, 500.0, 100.0]})
    spend = pd.DataFrame({"province": ["广东省", "广东省", "江苏省", "江苏省"],
                          "period": ["2024Q1", "2024q2", "2023Q4", "2024Q2"],
                          "amount": [91.0, 91.0, 92.0, 0.0]})
    # Period 2024-01-01 .. 2024-05-31: all of Q1 (91 days), 61 of Q2's 91 days.
    out = kpi.marketing_roi(kpis, spend, start=pd.Timestamp("2023-12-31"),
                            end=pd.Timestamp("2024-05-31")).set_index("region")
    assert out.loc["广东省", "marketing_spend"] == pytest.approx(91 + 61)
    assert out.loc["广东省", "roi"] == pytest.approx(1000 / 152)
    assert out.loc["江苏省", "marketing_spend"] == 0.0 and math.isnan(out.loc["江苏省", "roi"])
    assert math.isnan(out.loc["四川省", "marketing_spend"])
    with pytest.raises(ValueError, match="spend row 1: period must be a quarter"):
        kpi.marketing_roi(kpis, spend.assign(period="Jan 2024"), start=pd.Timestamp(
            "2023-12-31"), end=pd.Timestamp("2024-05-31"))
    terr = kpi.marketing_roi(pd.DataFrame({"region": ["华南"], "revenue": [10.0]}), spend,
                             start=pd.Timestamp("2023-12-31"), end=pd.Timestamp("2024-05-31"),
                             region_of_province=pd.Series({"广东省": "华南", "江苏省": "华东"}))
    assert terr["marketing_spend"].item() == pytest.approx(152.0)


def _generated_market(seed: int = 5):
    """30 regions whose customers follow population and GDP, one planted gap."""
    rng = np.random.default_rng(seed)
    pop = rng.uniform(300, 10000, 30)
    gdp = pop * rng.uniform(3, 12, 30)
    mu = 0.02 * pop**0.6 * gdp**0.5
    customers = rng.poisson(mu).astype(float)
    planted = int(np.argsort(pop)[-2])              # the second most populous region
    customers[planted] = round(mu[planted] * 0.15)  # 15% of what it should have
    return pd.Series(customers), pd.Series(pop), pd.Series(gdp), planted


def test_expected_customers_poisson_solves_the_likelihood_equations():
    customers, pop, gdp, _ = _generated_market()
    expected, info = kpi.expected_customers(customers, pop, gdp)
    assert info["method"] == "poisson" and info["regions"] == 30
    residual = customers - expected
    assert residual.sum() == pytest.approx(0.0, abs=1e-4 * customers.sum())
    assert (residual * np.log(pop)).sum() == pytest.approx(0.0, abs=1e-3 * customers.sum())
    assert (residual * np.log(gdp)).sum() == pytest.approx(0.0, abs=1e-3 * customers.sum())
    few, info = kpi.expected_customers(customers[:5], pop[:5], gdp[:5])
    assert info["method"] == "allocation" and "only 5 regions" in info["reason"]


def test_market_gaps_rank_the_planted_populous_province_first():
    customers, pop, gdp, planted = _generated_market()
    names = [f"p{i}" for i in range(30)]
    cust = pd.DataFrame({"customer_id": [f"{n}-{k}" for n, c in zip(names, customers,
                                                                      strict=True)
                                         for k in range(int(c))]})
    cust = cust.assign(province=cust["customer_id"].str.split("-").str[0])
    orders = pd.DataFrame({"order_id": ["o"], "customer_id": [cust["customer_id"].iloc[0]],
                           "order_date": [pd.Timestamp("2024-06-01")], "amount": [1.0]})
    reference = pd.DataFrame({"province": names, "population_10k": pop, "gdp_100m_cny": gdp})
    table = kpi.region_kpis(cust, orders, period_end=END, reference=reference)
    assert table["expected_method"].eq("poisson").all()
    gaps = kpi.market_gaps(table)
    assert gaps.iloc[0]["region"] == f"p{planted}" and gaps.iloc[0]["gap_rank"] == 1
    assert gaps.iloc[0]["gap_kind"] == "under-penetrated" and gaps.iloc[0]["gap_p"] < 1e-6
    assert (gaps["customer_gap"].diff().dropna() <= 0).all()
    assert gaps["gap_ratio"].lt(1).all()


def test_expected_customers_poisson_equals_scikit_learn():
    from sklearn.linear_model import PoissonRegressor

    customers, pop, gdp, _ = _generated_market(seed=11)
    expected, info = kpi.expected_customers(customers, pop, gdp, method="poisson")
    features = np.column_stack([np.log(pop), np.log(gdp)])
    reference = PoissonRegressor(alpha=0.0, tol=1e-12, max_iter=10_000).fit(features, customers)
    assert info["intercept"] == pytest.approx(reference.intercept_, rel=1e-6)
    assert [info["log_population"], info["log_gdp"]] == pytest.approx(reference.coef_, rel=1e-5)
    np.testing.assert_allclose(expected, reference.predict(features), rtol=1e-6)
    assert info["deviance_explained"] == pytest.approx(reference.score(features, customers),
                                                       rel=1e-6)
