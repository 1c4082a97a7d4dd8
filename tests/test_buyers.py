"""Who the customers are and how they buy (issue 15, items 2 and 3): known answers on
hand-made frames for every number (tests, intervals, indices, quantiles, the seasonal
index and its F-test, weekdays, discounts), checked against scipy and statsmodels."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers.analysis import buying, profiles
from helpers.analysis.stats import bh_adjust, t_interval, two_by_two
from helpers.config import ConfigError, load_config

# --------------------------------------------------------------------------- shared tests


def test_two_by_two_is_pearsons_chi_square_where_counts_allow():
    table = np.array([[70, 30], [30, 70]])
    expected = stats.chi2_contingency(table, correction=False).pvalue
    # by hand: N (ad - bc)^2 / (r1 r2 c1 c2) = 200 * 4000^2 / 100^4 = 32
    assert expected == pytest.approx(stats.chi2.sf(32.0, 1))
    got = two_by_two([70, 2], [100, 10], [100, 4], [200, 200])
    assert got[0] == pytest.approx(expected)
    assert math.isnan(got[1])        # expected count 10 * 4 / 200 = 0.2 < 5: no test


def test_bh_adjust_matches_statsmodels_and_keeps_untested():
    from statsmodels.stats.multitest import multipletests

    p = np.array([0.01, np.nan, 0.04, 0.03, 0.2])
    got = bh_adjust(p)
    want = multipletests(p[~np.isnan(p)], method="fdr_bh")[1]
    assert math.isnan(got[1])
    np.testing.assert_allclose(got[~np.isnan(p)], want)


def test_t_interval_matches_scipy():
    values = np.array([3.0, 5.0, 9.0, 11.0])
    low, high = t_interval([4], [values.mean()], [values.std(ddof=1)], 0.95)
    want = stats.t.interval(0.95, 3, loc=values.mean(), scale=stats.sem(values))
    assert (low[0], high[0]) == pytest.approx(want)
    low, _ = t_interval([1], [3.0], [np.nan])
    assert math.isnan(low[0])


# --------------------------------------------------------------------------- profiles


def _people() -> pd.DataFrame:
    """Region A: 70 dealers, 30 integrators; B: 30 and 70; C: 3 customers (too few to test)."""
    rows = ([("A", "dealer")] * 70 + [("A", "integrator")] * 30 + [("B", "dealer")] * 30
            + [("B", "integrator")] * 70 + [("C", "dealer"), ("C", "direct"), ("C", None)])
    frame = pd.DataFrame(rows, columns=["province", "channel"])
    return frame.assign(customer_id=[f"c{i:03d}" for i in range(len(frame))],
                        industry="retail")


def test_profile_attributes_present_with_two_values_or_more():
    people = _people()
    # by default the known attributes present; one with a single value is said, not profiled
    assert profiles.profile_attributes(people) == (["channel"], {"industry": "one_value"})
    chosen, left = profiles.profile_attributes(people, ["industry", "gender", "channel"])
    assert chosen == ["channel"] and left == {"industry": "one_value", "gender": "not_mapped"}


def test_attribute_mix_shares_index_and_test_by_hand():
    people = _people()
    mix = profiles.attribute_mix(people, people, level="province", attributes=["channel"])
    a = mix.set_index(["region", "value"]).loc[("A", "dealer")]
    # market: 101 dealers of 202 known (C's missing value is unknown, not a value)
    assert (a["customers"], a["known"], a["market_customers"], a["market_known"]) == (70, 100,
                                                                                     101, 202)
    assert a["share_in_region"] == 0.7 and a["share_in_market"] == pytest.approx(101 / 202)
    assert a["share_index"] == pytest.approx(100 * 0.7 / (101 / 202))
    want = stats.chi2_contingency([[70, 30], [31, 71]], correction=False).pvalue
    assert a["p"] == pytest.approx(want) and a["significant"]
    c = mix.loc[mix["region"] == "C"]
    assert c["p"].isna().all() and not c["significant"].any()    # 2 known: no test
    np.testing.assert_allclose(mix["p_adj"].dropna(), bh_adjust(mix["p"].dropna()))


def test_values_beyond_the_most_frequent_are_other():
    people = _people()
    mix = profiles.attribute_mix(people, people, level="province", attributes=["channel"],
                                 max_values=2)
    assert set(mix["value"]) == {"dealer", "integrator", profiles.OTHER}    # direct: 1
    other = mix.set_index(["region", "value"]).loc[("C", profiles.OTHER)]
    assert (other["customers"], other["market_customers"]) == (1, 1)
    one = profiles.attribute_mix(people, people, level="province", attributes=["channel"],
                                 max_values=1)
    assert set(one["value"]) == {"dealer", profiles.OTHER}


def test_value_by_attribute_top_customers_means_and_intervals():
    # 10 buyers in A: the 2 largest (top 20%) are integrators
    revenue = pd.Series([1000.0, 900.0, 100, 110, 120, 130, 140, 150, 160, 170],
                        index=[f"k{i}" for i in range(10)])
    people = pd.DataFrame({"customer_id": revenue.index, "province": "A",
                           "channel": ["integrator"] * 2 + ["dealer"] * 8})
    people = pd.concat([people, pd.DataFrame({"customer_id": ["none"], "province": ["A"],
                                              "channel": ["dealer"]})])   # bought nothing
    got = profiles.value_by_attribute(people, revenue, level="province", attributes=["channel"],
                                      market="ALL", top_share=0.2, min_expected=0)
    whole = got.loc[got["group"] == "market"].set_index("value")
    region = got.loc[got["group"] == "region"].set_index("value")
    assert whole.loc["integrator", "top_customers"] == 2 and whole.loc["dealer",
                                                                       "top_customers"] == 0
    assert whole.loc["dealer", "buyers"] == 8                          # buyers only
    dealers = np.array([100, 110, 120, 130, 140, 150, 160, 170.0])
    assert whole.loc["dealer", "mean_revenue"] == pytest.approx(dealers.mean())
    low, high = stats.t.interval(0.95, 7, loc=dealers.mean(), scale=stats.sem(dealers))
    assert (whole.loc["dealer", "mean_low"], whole.loc["dealer", "mean_high"]) == pytest.approx(
        (low, high))
    assert whole.loc["integrator", "top_share"] == 1.0
    assert whole.loc["integrator", "buyer_share"] == pytest.approx(0.2)
    assert whole.loc["integrator", "top_index"] == pytest.approx(500.0)
    assert region.loc["integrator", "region"] == "A"
    assert region.loc["integrator", "top_index"] == pytest.approx(500.0)
    # with Cochran's rule the 2 top customers are too few for a test
    strict = profiles.value_by_attribute(people, revenue, level="province",
                                         attributes=["channel"])
    assert strict["p"].isna().all() and not strict["significant"].any()


# --------------------------------------------------------------------------- seasonality

FACTORS = np.array([80, 70, 100, 100, 100, 110, 100, 100, 100, 90, 120, 130], float)


def _months(n: int, start: str = "2022-01") -> pd.PeriodIndex:
    return pd.period_range(start, periods=n, freq="M")


def test_seasonal_index_recovers_a_planted_pattern_under_a_trend():
    months = _months(36)
    revenue = 1000 * np.exp(0.02 * np.arange(36)) * FACTORS[months.month - 1]
    got = buying.seasonality(pd.DataFrame({"ALL": revenue}, index=months)).iloc[0]
    np.testing.assert_allclose([got[f"m{m}"] for m in range(1, 13)], FACTORS)  # mean 100
    assert got["significant"] and got["p"] == 0.0 and got["reason_key"] == ""
    assert (got["peak_month"], got["low_month"]) == (12, 2)
    assert (got["peak_index"], got["low_index"]) == pytest.approx((130.0, 70.0))


def test_seasonality_f_test_matches_statsmodels():
    import statsmodels.api as sm

    months = _months(30, "2021-07")
    rng = np.random.default_rng(3)
    revenue = 500 * np.exp(0.01 * np.arange(30) + rng.normal(0, 0.15, 30)) * \
        FACTORS[months.month - 1] ** 0.3
    got = buying.seasonality(pd.DataFrame({"ALL": revenue}, index=months)).iloc[0]
    t = np.arange(30.0)
    dummies = pd.get_dummies(pd.Categorical(months.month), drop_first=True, dtype=float)
    full = sm.OLS(np.log(revenue), np.column_stack([np.ones(30), t, dummies])).fit()
    reduced = sm.OLS(np.log(revenue), np.column_stack([np.ones(30), t])).fit()
    f, p, df = full.compare_f_test(reduced)
    assert df == 11 and got["f"] == pytest.approx(f) and got["p"] == pytest.approx(p)
    effects = np.r_[0.0, full.params[2:]]
    want = np.exp(effects - effects.mean())
    np.testing.assert_allclose([got[f"m{m}"] for m in range(1, 13)], 100 * want / want.mean())


def test_no_pattern_where_months_are_noise():
    months = _months(36)
    revenue = 1000 * np.exp(np.random.default_rng(1).normal(0, 0.1, 36))
    got = buying.seasonality(pd.DataFrame({"ALL": revenue}, index=months)).iloc[0]
    assert got["p"] > 0.05 and not got["significant"]


def test_seasonality_says_why_it_is_not_measured():
    months = _months(20)
    short = buying.seasonality(pd.DataFrame({"ALL": np.full(20, 5.0)}, index=months))
    assert short.iloc[0]["reason_key"] == "short_history" and math.isnan(short.iloc[0]["m1"])
    months = _months(30)
    gap = np.full(30, 5.0)
    gap[4] = 0.0
    got = buying.seasonality(pd.DataFrame({"ALL": np.full(30, 5.0), "B": gap}, index=months))
    assert list(got["reason_key"]) == ["", "months_without_revenue"]
    assert pd.isna(got.iloc[1]["peak_month"]) and not got.iloc[1]["significant"]


def test_monthly_grid_keeps_complete_months_only():
    lines = pd.DataFrame({"customer_id": ["a", "b", "a", "b", "a"],
                          "order_date": pd.to_datetime(["2024-01-15", "2024-02-03", "2024-02-20",
                                                        "2024-03-31", "2024-04-10"]),
                          "amount": [1.0, 2.0, 3.0, 4.0, 5.0]})
    regions = pd.Series({"a": "North", "b": "South"})
    # data start mid-January: January is incomplete; as of 2024-04-15: April is incomplete
    grid = buying.monthly_revenue_grid(lines, regions, data_start="2024-01-15",
                                       as_of="2024-04-15")
    assert [str(m) for m in grid.index] == ["2024-02", "2024-03"]
    assert grid.to_dict("list") == {"ALL": [5.0, 4.0], "North": [3.0, 0.0],
                                    "South": [2.0, 4.0]}
    full = buying.monthly_revenue_grid(lines, regions, data_start="2024-01-01",
                                       as_of="2024-05-01")
    assert len(full) == 4 and full["ALL"].sum() == 15.0


# --------------------------------------------------------------------------- frequency, orders


def test_buying_summary_quartiles_by_hand():
    days = pd.DataFrame({
        "customer_id": ["a"] * 4 + ["b"] * 2 + ["c"],
        "day": pd.to_datetime(["2023-12-20", "2024-01-10", "2024-01-20", "2024-03-01",
                               "2024-02-01", "2024-02-11", "2024-05-05"]),
        "gap_days": [np.nan, 21.0, 10.0, 41.0, np.nan, 10.0, np.nan]})
    orders = pd.DataFrame({"value": [10.0, 20, 30, 40, 50, 60, 70],
                           "region": pd.Categorical(["N", "N", "N", "S", "S", "S", "S"])})
    regions = pd.Series({"a": "N", "b": "S", "c": "S"})
    got = buying.buying_summary(days, orders, regions, start="2024-01-01", min_count=2)
    whole = got.iloc[0]
    # purchase days in 2024: a 3, b 2, c 1
    assert whole["region"] == "ALL" and whole["buyers"] == 3
    assert whole["days_median"] == 2.0 and whole["one_day_share"] == pytest.approx(1 / 3)
    # intervals ending in 2024: 21, 10, 41 (a) and 10 (b)
    assert whole["intervals"] == 4
    assert whole["interval_median"] == np.percentile([21, 10, 41, 10], 50)
    assert whole["interval_q1"] == np.percentile([21, 10, 41, 10], 25)
    assert whole["order_median"] == 40.0 and whole["order_p90"] == np.percentile(
        [10, 20, 30, 40, 50, 60, 70], 90)
    south = got.set_index("region").loc["S"]
    assert south["orders"] == 4 and south["order_q1"] == np.percentile([40, 50, 60, 70], 25)
    # N has one buyer and 3 intervals: below min_count 2 no frequency quartile, intervals kept
    north = got.set_index("region").loc["N"]
    assert north["buyers"] == 1 and math.isnan(north["days_median"])
    assert north["interval_median"] == 21.0


def test_period_orders_sum_lines_and_leave_returns_out():
    lines = pd.DataFrame({"order_id": ["o1", "o1", "o2", "r1"], "customer_id": ["a", "a", "b", "a"],
                          "order_date": pd.to_datetime(["2024-01-02"] * 4),
                          "amount": [5.0, 7.0, 3.0, -4.0], "province": ["N", "N", "S", "N"]})
    regions = pd.Series({"a": "N", "b": "S"})
    for column in (None, "province"):
        got = buying.period_orders(lines, regions, column)
        assert got["value"].tolist() == [12.0, 3.0]
        assert list(got["region"]) == ["N", "S"]


def test_weekdays_count_and_test_against_the_rest():
    monday = pd.Timestamp("2024-03-04")
    assert monday.weekday() == 0
    dates = [monday] * 60 + [monday + pd.Timedelta(days=5)] * 40 + [monday] * 30 + \
        [monday + pd.Timedelta(days=1, hours=15)] * 70
    orders = pd.DataFrame({"order_date": dates, "region": ["N"] * 100 + ["S"] * 100})
    got = buying.weekdays(orders).set_index("region")
    assert got.loc["ALL", "orders"] == 200 and got.loc["ALL", "mon"] == pytest.approx(0.45)
    assert got.loc["N", "sat"] == 0.4 and got.loc["N", "weekend_share"] == 0.4
    want = stats.chi2_contingency([[60, 0, 40], [30, 70, 0]], correction=False).pvalue
    assert got.loc["N", "p"] == pytest.approx(want) and got.loc["N", "significant"]


# --------------------------------------------------------------------------- discounts


def _discounted_lines() -> pd.DataFrame:
    discount = [0.0] * 30 + [0.1] * 30 + [0.25] * 30
    quantity = [1, 2, 3] * 10 + [2, 3, 4] * 10 + [4, 5, 6] * 10
    amount = [100.0 + i for i in range(90)]
    customer = ["full"] * 15 + ["mixed"] * 30 + ["deal"] * 45
    return pd.DataFrame({"customer_id": customer, "amount": amount, "quantity": quantity,
                         "discount": discount})


def test_discount_bands_correlation_and_discount_only_customers():
    lines = _discounted_lines()
    regions = pd.Series({"full": "N", "mixed": "N", "deal": "S"})
    bands, by_region, note = buying.discounts(lines, regions, min_count=10)
    assert note["computed"] and note["lines"] == 90 and note["discounted_lines"] == 60
    assert bands["band"].tolist() == [0, 1, 3]               # none, up to 10%, 20-30%
    assert bands["mean_quantity"].tolist() == [2.0, 3.0, 5.0]
    q = np.array([4, 5, 6] * 10, float)
    low, high = stats.t.interval(0.95, 29, loc=5.0, scale=stats.sem(q))
    assert (bands["quantity_low"].iloc[2], bands["quantity_high"].iloc[2]) == pytest.approx(
        (low, high))
    rho, p = stats.spearmanr(lines["discount"], lines["quantity"])
    assert note["spearman_quantity"] == pytest.approx(rho) and note["spearman_quantity_p"] == \
        pytest.approx(p)
    assert note["discount_only_customers"] == 1                # "deal"
    deal = sum(100.0 + i for i in range(45, 90))
    assert note["discount_only_revenue_share"] == pytest.approx(deal / lines["amount"].sum())
    whole = by_region.set_index("region")
    discounted = lines.loc[lines["discount"] > 0, "amount"].sum()
    assert whole.loc["ALL", "discounted_share"] == pytest.approx(discounted
                                                                 / lines["amount"].sum())
    assert whole.loc["S", "discounted_share"] == 1.0
    weights = np.array([100.0 + i for i in range(45, 90)])
    rates = np.array([0.1] * 15 + [0.25] * 30)
    assert whole.loc["S", "mean_discount"] == pytest.approx((weights * rates).sum()
                                                             / weights.sum())


def test_discounts_read_percent_and_list_prices_and_say_what_is_missing():
    lines = _discounted_lines()
    percent = lines.assign(discount=lines["discount"] * 100)
    value, note = buying.line_discounts(percent)
    assert note["percent"] and value.max() == pytest.approx(0.25)
    priced = pd.DataFrame({"amount": [80.0, 100.0, 90.0, 50.0], "quantity": [2, 1, 1, 1],
                           "list_price": [50.0, 100.0, 100.0, 0.0]})
    value, note = buying.line_discounts(priced)
    assert note["source"] == "list_price"
    np.testing.assert_allclose(value.to_numpy()[:3], [0.2, 0.0, 0.1])
    assert math.isnan(value.iloc[3])
    regions = pd.Series({"a": "N"})
    plain = pd.DataFrame({"customer_id": ["a"], "amount": [5.0]})
    assert buying.discounts(plain, regions)[2]["reason_key"] == "no_discount_column"
    none = plain.assign(discount=0.0)
    assert buying.discounts(none, regions)[2]["reason_key"] == "no_discounted_lines"


# --------------------------------------------------------------------------- config


def test_profile_attributes_must_be_customer_columns(tmp_path):
    path = tmp_path / "workbook.yaml"
    path.write_text(
        "sources:\n  customers: [{name: c, file: c.csv, columns: {customer_id: id}}]\n"
        "  orders: [{name: o, file: o.csv, columns: {order_id: o, customer_id: c, "
        "order_date: d, amount: a}}]\nanalysis: {profile_attributes: [channel, hair_colour]}\n",
        encoding="utf-8")
    with pytest.raises(ConfigError, match="analysis.profile_attributes.*hair_colour"):
        load_config(path)


# --------------------------------------------------------------------------- step 5


def test_a_region_with_a_significant_top_profile_gets_the_prospecting_action():
    from helpers.analysis.actions import PROFILE_ACTION, action_list, with_profile_actions
    from helpers.text.narrative.buyers import profile_evidence

    value = pd.DataFrame({
        "group": ["market", "region", "region", "region"],
        "region": ["ALL", "广东省", "广东省", "浙江省"],
        "attribute": ["channel", "channel", "industry", "channel"],
        "value": ["integrator", "integrator", "school", "integrator"],
        "top_share": [0.5, 0.6, 0.1, 0.6], "buyer_share": [0.3, 0.2, 0.3, 0.2],
        "top_index": [166.7, 300.0, 33.3, 300.0], "significant": [True, True, True, False]})
    said = profile_evidence(value, "en")
    # only the region row significant and over-represented (not the under-represented school,
    # not Zhejiang's, not the market's)
    assert said == {"广东省": "over-represented among its top 20% of customers by revenue: "
                            "integrator (channel, 60% of the top against 20% of buyers)"}
    assert "头部客户中占 60%" in profile_evidence(value, "zh")["广东省"]
    tiers = pd.DataFrame({"region": ["浙江省", "广东省"], "tier": ["core", "core"],
                          "tier_reason": ["a", "b"], "territory": ["华东", "华南"]})
    reps = pd.DataFrame({"sales_rep_id": ["S1"], "name": ["魏明"], "region": ["华南"]})
    plain = action_list(tiers, reps=reps)
    got = with_profile_actions(plain, tiers, said, reps=reps)
    assert len(got) == len(plain) + 1
    added = got.loc[got["action"] == PROFILE_ACTION["action"]]
    assert list(added["region"]) == ["广东省"] and added.index[0] == len(got) - 1
    assert added.iloc[0]["owner"] == "魏明 (S1)" and added.iloc[0]["evidence"] == said["广东省"]
    assert with_profile_actions(plain, tiers, {}).equals(plain)
