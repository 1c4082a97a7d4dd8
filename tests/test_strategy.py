"""Tests for helpers.analysis.tiers: tiers and their rule order, playbook, action lists."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from helpers.analysis import segments
from helpers.analysis import tiers as strategy

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
    tiers = strategy.region_tiers(kpis, rules=RULES)
    pd.testing.assert_frame_equal(kpis, before)
    assert "tier" not in kpis.columns
    got = dict(zip(tiers["region"], tiers["tier"], strict=True))
    assert got == {c[0]: c[-1] for c in CASES}
    assert set(tiers["tier"]) == set(strategy.TIERS)


def test_region_tier_reasons_carry_the_numbers(kpis):
    reason = strategy.region_tiers(kpis, rules=RULES).set_index("region")["tier_reason"]
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
    en = strategy.region_tiers(kpis, rules=RULES)
    zh = strategy.region_tiers(kpis, rules=RULES, lang="zh")
    assert list(zh["tier"]) == list(en["tier"])  # the tiers stay English keys
    reason = zh.set_index("region")["tier_reason"]
    assert reason["core"] == "占比 30.0% ≥ 6.0%，增长 +4.0% ≥ -5.0%"
    assert reason["share_hot_but_falling"] == "增长 -20.0% ≤ -10.0%（占比 20.0%）"
    assert reason["thin"] == "8 家客户，按人口和GDP期望 26.7 家（比值 0.30 < 0.5）"
    assert reason["blank"] == "无客户"
    assert reason["tiny_growing"].endswith("增长不可靠，不评为核心/下滑/新兴")
    assert reason["at_gap_edge"] == "占比 3.0%, 增长 +0.0%, 缺口比 0.50 ≥ 0.5：未满足任何规则"
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in r) for r in reason)


def test_region_tiers_small_sample_from_min_customers(kpis):
    tiers = strategy.region_tiers(kpis.drop(columns="small_sample"), rules=RULES,
                                  min_customers=10)
    got = tiers.set_index("region")["tier"]
    assert got["at_emerging_edge"] == "steady"      # 9 customers < 10: growth not trusted
    assert got["thin"] == "gap"
    assert got["at_declining_edge"] == "declining"  # 12 customers: trusted


def test_region_tiers_without_gap_ratio(kpis):
    tiers = strategy.region_tiers(kpis.drop(columns=["gap_ratio", "expected_customers"]),
                                  rules=RULES)
    assert tiers.set_index("region").loc["thin", "tier"] == "steady"


def test_region_tiers_requires_all_rules(kpis):
    with pytest.raises(KeyError, match="gap_ratio"):
        strategy.region_tiers(kpis, rules={k: v for k, v in RULES.items() if k != "gap_ratio"})


def test_playbook_has_owner_and_kpi_for_every_action():
    for tier in strategy.TIERS:
        assert strategy.PLAYBOOK[tier]
        for item in strategy.PLAYBOOK[tier]:
            assert item["action"] and item["owner"] and item["kpi"]
    for segment in segments.SEGMENTS:
        assert strategy.SEGMENT_PLAYBOOK[segment]["action"]
    assert strategy.SEGMENT_PLAYBOOK["cannot lose them"]["campaign"] == "win back"
    assert strategy.SEGMENT_PLAYBOOK["lost"]["campaign"] == "reactivation"


def test_playbook_table_lists_regions(kpis):
    table = strategy.playbook(strategy.region_tiers(kpis, rules=RULES))
    core = table[table["tier"] == "core"]
    assert len(core) == len(strategy.PLAYBOOK["core"])
    assert core["regions"].iloc[0] == "core, new_and_big, at_core_edge"


def test_action_list_owners_by_territory(kpis):
    tiers = strategy.region_tiers(kpis, rules=RULES)
    reps = pd.DataFrame({"sales_rep_id": ["S1", "S2", "S3"], "name": ["张三", "李四", "王五"],
                         "region": ["华南", "华南", "华东"]})
    actions = strategy.action_list(tiers, reps=reps)
    assert list(actions.columns) == ["region", "territory", "tier", "action", "owner_role",
                                     "owner", "kpi", "evidence"]
    assert len(actions) == sum(len(strategy.PLAYBOOK[t]) for t in tiers["tier"])
    assert list(dict.fromkeys(actions["tier"])) == strategy.TIERS

    core = actions[actions["region"] == "core"].set_index("owner_role")
    assert core.loc["regional sales manager", "owner"] == "张三 (S1), 李四 (S2)"
    assert core.loc["marketing", "owner"] == "marketing"
    assert core.loc["regional sales manager", "evidence"].startswith("share 30.0%")

    steady_east = actions[actions["region"] == "share_hot_slightly_down"]
    assert steady_east["owner"].tolist() == ["王五 (S3)"]
    north = actions[(actions["region"] == "new_and_big")
                    & (actions["owner_role"] == "regional sales manager")]
    assert north["owner"].tolist() == ["regional sales manager"]   # no rep covers 华北


def test_action_list_without_reps_and_territory_level():
    tiers = pd.DataFrame({"region": ["华南", "华东"], "level": "territory",
                          "tier": ["core", "steady"], "tier_reason": ["a", "b"]})
    actions = strategy.action_list(tiers)
    assert (actions["owner"] == actions["owner_role"]).all()
    assert actions["territory"].tolist() == ["华南"] * 4 + ["华东"]
    reps = pd.DataFrame({"sales_rep_id": ["S9"], "name": ["赵六"], "region": ["华东"]})
    with_reps = strategy.action_list(tiers, reps=reps)
    assert with_reps.loc[with_reps["region"] == "华东", "owner"].tolist() == ["赵六 (S9)"]


def test_segment_actions_campaign_list():
    rfm_table = pd.DataFrame({
        "customer_id": ["a", "b", "c", "d"],
        "recency_days": [5, 400, 200, 3],
        "frequency": [9, 1, 6, 8],
        "monetary": [900.0, 10.0, 600.0, 1200.0],
        "segment": ["champions", "lost", "at risk", "champions"],
    })
    customers = pd.DataFrame({"customer_id": ["a", "b", "c", "d", "e"],
                              "name": ["甲", "乙", "丙", "丁", "戊"],
                              "phone": ["1", "2", "3", "4", "5"],
                              "province": ["广东省"] * 5})
    out = strategy.segment_actions(rfm_table, customers)
    assert list(out["customer_id"]) == ["d", "a", "c", "b"]
    assert list(out["campaign"]) == ["vip care", "vip care", "win back", "reactivation"]
    assert list(out.columns[:6]) == ["customer_id", "segment", "campaign", "action",
                                     "owner_role", "kpi"]
    assert {"name", "phone", "province"} <= set(out.columns)
    assert out.set_index("customer_id").loc["c", "name"] == "丙"


# ----------------------------------------------------------------------------- hot spots


def _one(**row) -> pd.DataFrame:
    base = {"region": "x", "customers": 20, "revenue": 100.0, "revenue_prev": 100.0,
            "growth_yoy": 0.0, "share": 0.04, "gap_ratio": 1.0, "expected_customers": 20.0,
            "small_sample": False}
    return pd.DataFrame([{**base, **row}])


HOT_RULES = {**RULES, "hotspot_bin": 2, "hotspot_share": 0.03}


def test_a_hot_spot_is_core_from_a_smaller_share():
    tiers = strategy.region_tiers(_one(gi_bin=2, gi_z=2.1), rules=HOT_RULES)
    assert tiers["tier"].iloc[0] == "core"
    assert tiers["tier_reason"].iloc[0] == ("Gi* hot spot (z 2.10, bin 2 ≥ 2), share 4.0% ≥ 3.0%, "
                                            "growth +0.0% ≥ -5.0%")
    # below the hot-spot share, or not significant, or shrinking: not core
    assert strategy.region_tiers(_one(gi_bin=2, share=0.02), rules=HOT_RULES)["tier"].iloc[0] \
        == "steady"
    assert strategy.region_tiers(_one(gi_bin=1), rules=HOT_RULES)["tier"].iloc[0] == "steady"
    assert strategy.region_tiers(_one(gi_bin=3, growth_yoy=-0.2), rules=HOT_RULES)[
        "tier"].iloc[0] == "declining"
    # the rule is off without hotspot_share (the old five rules)
    assert strategy.region_tiers(_one(gi_bin=3), rules=RULES)["tier"].iloc[0] == "steady"


def test_core_by_share_names_the_hot_spot_as_evidence():
    tiers = strategy.region_tiers(_one(share=0.3, gi_bin=3, gi_z=3.4), rules=HOT_RULES)
    assert tiers["tier_reason"].iloc[0] == ("share 30.0% ≥ 6.0%, growth +0.0% ≥ -5.0%; "
                                            "Gi* hot spot (z 3.40, bin 3 ≥ 2)")
    flagged = strategy.region_tiers(_one(hotspot=True), rules=HOT_RULES)
    assert flagged["tier"].iloc[0] == "core"


def test_emerging_by_potential_comes_after_gap():
    rules = {**RULES, "potential_growth": 0.10, "potential_ratio": 1.0}
    kpis = pd.concat([
        _one(region="room", growth_yoy=0.12, gap_ratio=0.8, expected_customers=25.0),
        _one(region="thin", growth_yoy=0.12, gap_ratio=0.3, expected_customers=66.7),
        _one(region="full", growth_yoy=0.12, gap_ratio=1.0),
        _one(region="slow", growth_yoy=0.09, gap_ratio=0.8),
        _one(region="tiny", growth_yoy=0.12, gap_ratio=0.8, customers=3, small_sample=True),
    ], ignore_index=True)
    tiers = strategy.region_tiers(kpis, rules=rules).set_index("region")
    assert tiers["tier"].to_dict() == {"room": "emerging", "thin": "gap", "full": "steady",
                                       "slow": "steady", "tiny": "steady"}
    assert tiers.loc["room", "tier_reason"] == ("growth +12.0% ≥ +10.0% with room to grow: "
                                                "20 customers vs 25.0 expected, ratio 0.80 < 1")
    off = strategy.region_tiers(kpis, rules=RULES).set_index("region")
    assert off.loc["room", "tier"] == "steady"


# ----------------------------------------------------------------------------- campaigns


REPS = pd.DataFrame({"sales_rep_id": ["S1", "S2"], "name": ["张三", "李四"],
                     "region": ["华南", "华东"]})


def test_campaign_owner_lifecycle_and_value():
    rfm_table = pd.DataFrame({
        "customer_id": ["a", "b", "c", "d"], "recency_days": [5, 400, 200, 3],
        "frequency": [9, 1, 6, 8], "monetary": [900.0, 10.0, 600.0, 1200.0],
        "segment": ["champions", "lost", "at risk", "champions"]})
    customers = pd.DataFrame({"customer_id": ["a", "b", "c", "d"],
                              "sales_rep_id": ["S1", "S2", "S2", "S9"],
                              "phone": ["1", "2", "3", "4"]})
    lifecycle = pd.DataFrame({"customer_id": ["a", "c", "d"],
                              "lifecycle": ["active", "at risk", "active"]})
    ltv = pd.DataFrame({"customer_id": ["a", "b", "c", "d"],
                        "ltv_12m": [5000.0, 0.0, 800.0, 100.0]})
    out = strategy.segment_actions(rfm_table, customers, reps=REPS, lifecycle=lifecycle, ltv=ltv)
    # champions ordered by 12-month value (a before d), not by money to date
    assert list(out["customer_id"]) == ["a", "d", "c", "b"]
    owner = out.set_index("customer_id")["owner"]
    assert owner["a"] == "张三 (S1)"            # account manager: the customer's own rep
    assert owner["d"] == "account manager"      # rep S9 unknown: the role
    assert owner["c"] == "李四 (S2)"             # at risk: sales rep
    assert owner["b"] == "marketing"            # lost: mass mailing, no sales time
    assert out.set_index("customer_id").loc["c", "lifecycle"] == "at risk"
    assert pd.isna(out.set_index("customer_id").loc["b", "lifecycle"])
    assert list(out.columns[:7]) == ["customer_id", "segment", "campaign", "action",
                                     "owner_role", "kpi", "owner"]
    assert {"lifecycle", "ltv_12m", "phone"} <= set(out.columns)


def test_partner_plans_by_tier_with_focus_for_b():
    tiers = pd.DataFrame({
        "customer_id": ["p1", "p2", "p3", "p4"], "partner_tier": ["A", "B", "C", "b"],
        "score": [18, 14, 7, 12],
        "points_product": [4, 4, 1, 2], "points_model": [4, 2, 2, 3],
        "pts_staff": [3, 3, 2, 2], "points_finance": [4, 3, 1, 4],
        "points_years": [3, 2, 1, 1]})
    customers = pd.DataFrame({"customer_id": ["p1", "p2", "p3", "p4"],
                              "sales_rep_id": ["S1", "S2", "S1", "S1"],
                              "name": ["甲", "乙", "丙", "丁"]})
    out = strategy.partner_actions(tiers, customers, reps=REPS)
    assert list(out["customer_id"]) == ["p2", "p4", "p1", "p3"]   # B first, by score
    plan = out.set_index("customer_id")
    assert plan.loc["p2", "campaign"] == "development plan"
    assert plan.loc["p2", "owner"] == "李四 (S2)"
    assert plan.loc["p2", "focus"] == "model, years"               # its two lowest factors
    assert plan.loc["p4", "focus"] == "years, product"             # ties: by factor name
    assert plan.loc["p1", "owner"] == "channel manager" and plan.loc["p1", "focus"] == ""
    assert plan.loc["p3", "campaign"] == "maintain"
    assert plan.loc["p4", "partner_tier"] == "B"
    for tier in ("A", "B", "C"):
        item = strategy.PARTNER_PLAYBOOK[tier]
        assert item["action"] and item["owner"] and item["kpi"]
    with pytest.raises(KeyError, match="partner tiers need"):
        strategy.partner_actions(tiers.drop(columns="partner_tier"), customers)
