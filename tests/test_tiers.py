"""Tests for helpers.analysis.tiers: region tiers, their rule order and the values that decide.

The reasons in words (English and Chinese) are checked through
:mod:`helpers.text.narrative.tiers`, which says what the analysis records.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from helpers.analysis import tiers
from helpers.analysis.benchmark import Benchmark
from helpers.text.narrative.tiers import with_tier_reasons

RULES = {"hot_share": 0.06, "hot_growth": -0.05, "emerging_growth": 0.25,
         "declining_growth": -0.10, "gap_ratio": 0.5}
NAN = math.nan

# region, territory, customers, revenue, revenue_prev, growth, share, gap_ratio, expected, tier
CASES = [
    ("core", "华南", 50, 3000.0, 2884.6, 0.04, 0.30, 1.2, 41.7, "core"),
    ("share_hot_but_falling", "华南", 40, 800.0, 1000.0, -0.20, 0.20, 1.0, 40.0, "declining"),
    ("share_hot_slightly_down", "华东", 30, 930.0, 1000.0, -0.07, 0.10, 1.0, 30.0, "steady"),
    ("growing_and_thin", "华东", 10, 150.0, 100.0, 0.50, 0.03, 0.3, 33.3, "emerging"),
    ("thin", "华东", 8, 100.0, 100.0, 0.0, 0.02, 0.3, 26.7, "gap"),
    ("blank", "西北", 0, 0.0, 0.0, NAN, 0.0, 0.0, 5.0, "gap"),
    ("tiny_growing", "西南", 3, 50.0, 20.0, 1.5, 0.01, 2.0, 1.5, "steady"),
    ("tiny_falling_thin", "西南", 2, 25.0, 50.0, -0.5, 0.005, 0.2, 10.0, "gap"),
    ("new_and_big", "华北", 20, 800.0, 0.0, NAN, 0.08, 1.0, 20.0, "core"),
    ("new_and_small", "华北", 6, 200.0, 0.0, NAN, 0.02, 0.9, 6.7, "emerging"),
    ("at_declining_edge", "华中", 12, 90.0, 100.0, -0.10, 0.04, 1.0, 12.0, "declining"),
    ("at_core_edge", "华中", 15, 95.0, 100.0, -0.05, 0.06, 1.0, 15.0, "core"),
    ("at_emerging_edge", "东北", 9, 125.0, 100.0, 0.25, 0.03, 1.0, 9.0, "emerging"),
    ("at_gap_edge", "东北", 9, 100.0, 100.0, 0.0, 0.03, 0.5, 18.0, "steady"),
]


@pytest.fixture
def kpis() -> pd.DataFrame:
    frame = pd.DataFrame(
        [c[:-1] for c in CASES],
        columns=["region", "territory", "customers", "revenue", "revenue_prev", "growth_yoy",
                 "share", "gap_ratio", "expected_customers"],
    )
    return frame.assign(level="province", small_sample=frame["customers"] < 5)


def test_region_tiers_every_rule(kpis):
    before = kpis.copy()
    tiered = tiers.region_tiers(kpis, rules=RULES)
    pd.testing.assert_frame_equal(kpis, before)
    assert "tier" not in kpis.columns
    got = dict(zip(tiered["region"], tiered["tier"], strict=True))
    assert got == {c[0]: c[-1] for c in CASES}
    assert set(tiered["tier"]) == set(tiers.TIERS)


def test_region_tiers_record_the_rule_and_the_values_that_decided(kpis):
    tiered = tiers.region_tiers(kpis, rules=RULES).set_index("region")
    assert "tier_reason" not in tiered  # no words in the analysis
    rule, values = tiered["tier_rule"], tiered["tier_values"]
    assert set(rule) <= set(tiers.RULES)
    assert rule["core"] == "core" and values["core"] == {
        "share": 0.30, "min_share": 0.06, "growth": 0.04, "new_revenue": False,
        "min_growth": -0.05, "hot": False}
    assert rule["share_hot_but_falling"] == "declining" and values["share_hot_but_falling"] == {
        "growth": -0.20, "max_growth": -0.10, "share": 0.20}
    assert rule["blank"] == "no_customers" and values["blank"] == {}
    assert rule["thin"] == "gap" and values["thin"] == {
        "ratio": 0.3, "max_ratio": 0.5, "expected": 26.7, "small": False, "customers": 8,
        "min_customers": 5}
    assert rule["tiny_growing"] == "steady" and values["tiny_growing"]["small"]
    assert rule["new_and_big"] == "core" and values["new_and_big"]["new_revenue"]
    assert rule["at_gap_edge"] == "steady" and values["at_gap_edge"]["ratio"] == 0.5


def test_region_tier_reasons_carry_the_numbers(kpis):
    reason = with_tier_reasons(tiers.region_tiers(kpis, rules=RULES)).set_index("region")[
        "tier_reason"]
    assert reason["core"] == "share 30.0% ≥ 6.0%, growth +4.0% ≥ -5.0%"
    assert reason["share_hot_but_falling"] == "growth -20.0% ≤ -10.0% (share 20.0%)"
    assert reason["growing_and_thin"] == "growth +50.0% ≥ +25.0%, share 3.0% < 6.0%"
    assert reason["thin"] == ("8 customers vs 26.7 expected from population and GDP "
                              "(ratio 0.30 < 0.5)")
    assert reason["blank"] == "no customers"
    assert "not trusted" in reason["tiny_growing"]
    assert "not trusted" in reason["tiny_falling_thin"]
    assert reason["tiny_falling_thin"].startswith("2 customers vs 10.0 expected")
    assert "no revenue in the previous period" in reason["new_and_big"]
    assert reason["share_hot_slightly_down"].startswith("share 10.0%, growth -7.0%")


def test_region_tier_reasons_in_chinese_carry_the_same_numbers(kpis):
    zh = with_tier_reasons(tiers.region_tiers(kpis, rules=RULES), "zh")
    assert set(zh["tier"]) <= set(tiers.TIERS)  # the tiers stay English keys
    reason = zh.set_index("region")["tier_reason"]
    assert reason["core"] == "占比 30.0% ≥ 6.0%，增长 +4.0% ≥ -5.0%"
    assert reason["share_hot_but_falling"] == "增长 -20.0% ≤ -10.0%（占比 20.0%）"
    assert reason["thin"] == "8 家客户，按人口和GDP期望 26.7 家（比值 0.30 < 0.5）"
    assert reason["blank"] == "无客户"
    assert reason["tiny_growing"].endswith("增长不可靠，不评为核心/下滑/新兴")
    assert reason["at_gap_edge"] == "占比 3.0%, 增长 +0.0%, 缺口比 0.50 ≥ 0.5：未满足任何规则"
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in r) for r in reason)


def test_region_tiers_small_sample_from_min_customers(kpis):
    tiered = tiers.region_tiers(kpis.drop(columns="small_sample"), rules=RULES,
                                min_customers=10)
    got = tiered.set_index("region")["tier"]
    assert got["at_emerging_edge"] == "steady"      # 9 customers < 10: growth not trusted
    assert got["thin"] == "gap"
    assert got["at_declining_edge"] == "declining"  # 12 customers: trusted


def test_region_tiers_without_gap_ratio(kpis):
    tiered = tiers.region_tiers(kpis.drop(columns=["gap_ratio", "expected_customers"]),
                                rules=RULES)
    assert tiered.set_index("region").loc["thin", "tier"] == "steady"


def test_region_tiers_requires_all_rules(kpis):
    with pytest.raises(KeyError, match="gap_ratio"):
        tiers.region_tiers(kpis, rules={k: v for k, v in RULES.items() if k != "gap_ratio"})


# ----------------------------------------------------------------------------- hot spots


def _one(**row) -> pd.DataFrame:
    base = {"region": "x", "customers": 20, "revenue": 100.0, "revenue_prev": 100.0,
            "growth_yoy": 0.0, "share": 0.04, "gap_ratio": 1.0, "expected_customers": 20.0,
            "small_sample": False}
    return pd.DataFrame([{**base, **row}])


HOT_RULES = {**RULES, "hotspot_bin": 2, "hotspot_share": 0.03}


def test_a_hot_spot_is_core_from_a_smaller_share():
    tiered = with_tier_reasons(tiers.region_tiers(_one(gi_bin=2, gi_z=2.1), rules=HOT_RULES))
    assert tiered["tier"].iloc[0] == "core" and tiered["tier_rule"].iloc[0] == "core_hotspot"
    assert tiered["tier_values"].iloc[0] == {
        "share": 0.04, "min_share": 0.03, "growth": 0.0, "new_revenue": False,
        "min_growth": -0.05, "hot": True, "gi_bin": 2, "gi_z": 2.1, "hotspot_bin": 2}
    assert tiered["tier_reason"].iloc[0] == ("Gi* hot spot (z 2.10, bin 2 ≥ 2), "
                                             "share 4.0% ≥ 3.0%, growth +0.0% ≥ -5.0%")
    # below the hot-spot share, or not significant, or shrinking: not core
    assert tiers.region_tiers(_one(gi_bin=2, share=0.02), rules=HOT_RULES)["tier"].iloc[0] \
        == "steady"
    assert tiers.region_tiers(_one(gi_bin=1), rules=HOT_RULES)["tier"].iloc[0] == "steady"
    assert tiers.region_tiers(_one(gi_bin=3, growth_yoy=-0.2), rules=HOT_RULES)[
        "tier"].iloc[0] == "declining"
    # the rule is off without hotspot_share (the old five rules)
    assert tiers.region_tiers(_one(gi_bin=3), rules=RULES)["tier"].iloc[0] == "steady"


def test_core_by_share_names_the_hot_spot_as_evidence():
    tiered = with_tier_reasons(tiers.region_tiers(_one(share=0.3, gi_bin=3, gi_z=3.4),
                                                  rules=HOT_RULES))
    assert tiered["tier_reason"].iloc[0] == ("share 30.0% ≥ 6.0%, growth +0.0% ≥ -5.0%; "
                                             "Gi* hot spot (z 3.40, bin 3 ≥ 2)")
    flagged = with_tier_reasons(tiers.region_tiers(_one(hotspot=True), rules=HOT_RULES))
    assert flagged["tier"].iloc[0] == "core"
    assert flagged["tier_reason"].iloc[0].startswith("Gi* hot spot, share 4.0% ≥ 3.0%")


def test_emerging_by_potential_comes_after_gap():
    rules = {**RULES, "potential_growth": 0.10, "potential_ratio": 1.0}
    kpis = pd.concat([
        _one(region="room", growth_yoy=0.12, gap_ratio=0.8, expected_customers=25.0),
        _one(region="thin", growth_yoy=0.12, gap_ratio=0.3, expected_customers=66.7),
        _one(region="full", growth_yoy=0.12, gap_ratio=1.0),
        _one(region="slow", growth_yoy=0.09, gap_ratio=0.8),
        _one(region="tiny", growth_yoy=0.12, gap_ratio=0.8, customers=3, small_sample=True),
    ], ignore_index=True)
    tiered = with_tier_reasons(tiers.region_tiers(kpis, rules=rules)).set_index("region")
    assert tiered["tier"].to_dict() == {"room": "emerging", "thin": "gap", "full": "steady",
                                        "slow": "steady", "tiny": "steady"}
    assert tiered.loc["room", "tier_reason"] == ("growth +12.0% ≥ +10.0% with room to grow: "
                                                 "20 customers vs 25.0 expected, ratio 0.80 < 1")
    off = tiers.region_tiers(kpis, rules=RULES).set_index("region")
    assert off.loc["room", "tier"] == "steady"


def test_a_benchmark_judges_share_against_the_whole_market(kpis):
    """In a territory report a region's share is its share of the market's revenue."""
    east = kpis[kpis["territory"] == "华东"].assign(share=lambda d: d["revenue"] /
                                                    d["revenue"].sum())
    alone = tiers.region_tiers(east, rules=RULES).set_index("region")
    assert alone.loc["growing_and_thin", "tier"] == "core"   # 150 of 1180: 12.7% ≥ 6%
    judged = tiers.region_tiers(east, rules=RULES, benchmark=Benchmark(kpis))
    whole = tiers.region_tiers(kpis, rules=RULES).set_index("region")
    mine = judged.set_index("region")
    assert mine["share"].tolist() == whole.loc[mine.index, "share"].tolist()
    assert mine["tier"].to_dict() == whole.loc[mine.index, "tier"].to_dict()
    assert mine["tier_rule"].to_dict() == whole.loc[mine.index, "tier_rule"].to_dict()
    assert mine["tier_values"].to_dict() == whole.loc[mine.index, "tier_values"].to_dict()
    assert mine.loc["growing_and_thin", "tier"] == "emerging"
