"""Tests for helpers.analysis.actions: playbooks, action, campaign and partner lists."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import actions, segments
from helpers.analysis.partners import PTS_COLUMNS
from helpers.analysis.tiers import TIERS

# region, territory, tier (as helpers.analysis.tiers.region_tiers puts them; see test_tiers)
TIERED = [
    ("core", "华南", "core"), ("share_hot_but_falling", "华南", "declining"),
    ("share_hot_slightly_down", "华东", "steady"), ("growing_and_thin", "华东", "emerging"),
    ("thin", "华东", "gap"), ("blank", "西北", "gap"), ("tiny_growing", "西南", "steady"),
    ("tiny_falling_thin", "西南", "gap"), ("new_and_big", "华北", "core"),
    ("new_and_small", "华北", "emerging"), ("at_declining_edge", "华中", "declining"),
    ("at_core_edge", "华中", "core"), ("at_emerging_edge", "东北", "emerging"),
    ("at_gap_edge", "东北", "steady"),
]


@pytest.fixture
def tiered() -> pd.DataFrame:
    frame = pd.DataFrame(TIERED, columns=["region", "territory", "tier"])
    return frame.assign(level="province", tier_reason="reason of " + frame["region"])


def test_playbook_has_owner_and_kpi_for_every_action():
    for tier in TIERS:
        assert actions.PLAYBOOK[tier]
        for item in actions.PLAYBOOK[tier]:
            assert item["action"] and item["owner"] and item["kpi"]
    for segment in segments.SEGMENTS:
        assert actions.SEGMENT_PLAYBOOK[segment]["action"]
    assert actions.SEGMENT_PLAYBOOK["cannot lose them"]["campaign"] == "win back"
    assert actions.SEGMENT_PLAYBOOK["lost"]["campaign"] == "reactivation"


def test_playbook_table_lists_regions(tiered):
    table = actions.playbook(tiered)
    core = table[table["tier"] == "core"]
    assert len(core) == len(actions.PLAYBOOK["core"])
    assert core["regions"].iloc[0] == "core, new_and_big, at_core_edge"


def test_action_list_owners_by_territory(tiered):
    tiers = tiered
    reps = pd.DataFrame({"sales_rep_id": ["S1", "S2", "S3"], "name": ["张三", "李四", "王五"],
                         "region": ["华南", "华南", "华东"]})
    listed = actions.action_list(tiers, reps=reps)
    assert list(listed.columns) == ["region", "territory", "tier", "action", "owner_role",
                                     "owner", "kpi", "evidence"]
    assert len(listed) == sum(len(actions.PLAYBOOK[t]) for t in tiers["tier"])
    assert list(dict.fromkeys(listed["tier"])) == TIERS

    core = listed[listed["region"] == "core"].set_index("owner_role")
    assert core.loc["regional sales manager", "owner"] == "张三 (S1), 李四 (S2)"
    assert core.loc["marketing", "owner"] == "marketing"
    assert core.loc["regional sales manager", "evidence"] == "reason of core"

    steady_east = listed[listed["region"] == "share_hot_slightly_down"]
    assert steady_east["owner"].tolist() == ["王五 (S3)"]
    north = listed[(listed["region"] == "new_and_big")
                   & (listed["owner_role"] == "regional sales manager")]
    assert north["owner"].tolist() == ["regional sales manager"]   # no rep covers 华北


def test_action_list_without_reps_and_territory_level():
    tiers = pd.DataFrame({"region": ["华南", "华东"], "level": "territory",
                          "tier": ["core", "steady"], "tier_reason": ["a", "b"]})
    listed = actions.action_list(tiers)
    assert (listed["owner"] == listed["owner_role"]).all()
    assert listed["territory"].tolist() == ["华南"] * 4 + ["华东"]
    reps = pd.DataFrame({"sales_rep_id": ["S9"], "name": ["赵六"], "region": ["华东"]})
    with_reps = actions.action_list(tiers, reps=reps)
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
    out = actions.segment_actions(rfm_table, customers)
    assert list(out["customer_id"]) == ["d", "a", "c", "b"]
    assert list(out["campaign"]) == ["vip care", "vip care", "win back", "reactivation"]
    assert list(out.columns[:6]) == ["customer_id", "segment", "campaign", "action",
                                     "owner_role", "kpi"]
    assert {"name", "phone", "province"} <= set(out.columns)
    assert out.set_index("customer_id").loc["c", "name"] == "丙"



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
    # step 4's own tables: lifecycle (stage) and lifetime value (ltv)
    lifecycle = pd.DataFrame({"customer_id": ["a", "c", "d"],
                              "stage": ["active", "at risk", "active"]})
    ltv = pd.DataFrame({"customer_id": ["a", "b", "c", "d"],
                        "ltv": [5000.0, 0.0, 800.0, 100.0]})
    out = actions.segment_actions(rfm_table, customers, reps=REPS, lifecycle=lifecycle, ltv=ltv)
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
    # step 4's partner tiers (helpers.analysis.partners.partner_tiers columns)
    tiers = pd.DataFrame({
        "customer_id": ["p1", "p2", "p3", "p4"], "tier": ["A", "B", "C", "B"],
        "score": [18, 14, 7, 12],
        "pts_product": [4, 4, 1, 2], "pts_business_model": [4, 2, 2, 3],
        "pts_staff": [3, 3, 2, 2], "pts_capital": [4, 3, 1, 4],
        "pts_orders": [4, 4, 4, 4], "pts_years": [3, 2, 1, 1],
        "value_tier": ["high", "medium", "low", "low"], "revenue": [900.0, 500.0, 10.0, 50.0]})
    assert set(PTS_COLUMNS) < set(tiers.columns)
    customers = pd.DataFrame({"customer_id": ["p1", "p2", "p3", "p4"],
                              "sales_rep_id": ["S1", "S2", "S1", "S1"],
                              "name": ["甲", "乙", "丙", "丁"]})
    out = actions.partner_actions(tiers, customers, reps=REPS)
    assert list(out["customer_id"]) == ["p2", "p4", "p1", "p3"]   # B first, by score
    plan = out.set_index("customer_id")
    assert plan.loc["p2", "campaign"] == "development plan"
    assert plan.loc["p2", "owner"] == "李四 (S2)"
    assert plan.loc["p2", "focus"] == "business_model, years"      # its two lowest factors
    assert plan.loc["p4", "focus"] == "years, product"             # ties: by factor name
    assert plan.loc["p1", "owner"] == "channel manager" and plan.loc["p1", "focus"] == ""
    assert plan.loc["p3", "campaign"] == "maintain"
    assert plan.loc["p4", "partner_tier"] == "B"
    for tier in ("A", "B", "C"):
        item = actions.PARTNER_PLAYBOOK[tier]
        assert item["action"] and item["owner"] and item["kpi"]
    assert list(out.columns[:9]) == ["customer_id", "partner_tier", "score", "campaign",
                                     "action", "owner_role", "kpi", "owner", "focus"]
    assert plan.loc["p2", "value_tier"] == "medium" and plan.loc["p2", "revenue"] == 500.0
    with pytest.raises(KeyError, match=r"partner tiers need \['tier'\]"):
        actions.partner_actions(tiers.drop(columns="tier"), customers)


def test_online_channels_follow_the_market(tiered):
    """WeChat only where the market is China (strategy.online_channels: auto)."""
    from helpers.config import Strategy

    assert Strategy().channels("CN") == "wechat" and Strategy().channels("US") == "global"
    assert Strategy(online_channels="wechat").channels("DE") == "wechat"
    assert Strategy(online_channels="global").channels("CN") == "global"
    china = actions.action_list(tiered, channels="wechat")
    abroad = actions.action_list(tiered, channels="global")
    assert china["action"].str.contains("WeChat").any()
    assert not abroad["action"].str.contains("WeChat").any()
    assert abroad["action"].str.contains("social media ads").any()
    assert len(china) == len(abroad)                              # the same advice, other words
    assert not actions.playbook(tiered, channels="global")["action"].str.contains("WeChat").any()
    plays = actions.segment_playbook("global").set_index("segment")
    assert plays.loc["hibernating", "action"] == (
        "Low-cost reactivation: email or messaging-app campaign only")
    assert "WeChat" in actions.segment_playbook("wechat").set_index("segment").loc[
        "hibernating", "action"]
    with pytest.raises(ValueError, match="channels must be one of"):
        actions.playbook(tiered, channels="weibo")


def test_partner_focus_is_the_two_lowest_factors_of_every_b_partner():
    # the rule written out row by row (sorted (points, factor) pairs, missing points left
    # out) against the table's, on many partners with ties and missing points
    from helpers.analysis.actions import _weakest_factors
    from helpers.analysis.partners import PTS_COLUMNS

    rng = np.random.default_rng(7)
    n = 500
    points = pd.DataFrame(rng.integers(0, 4, size=(n, len(PTS_COLUMNS))).astype(float),
                          columns=PTS_COLUMNS)
    points = points.mask(rng.random(points.shape) < rng.random((n, 1)))  # 0-100% missing
    frame = points.assign(partner_tier=rng.choice(["A", "B", "C"], n))

    def by_hand(row):
        if row["partner_tier"] != "B":
            return ""
        pairs = sorted((float(row[c]), c) for c in PTS_COLUMNS if pd.notna(row[c]))[:2]
        return ", ".join(c.removeprefix("pts_") for _, c in pairs)

    expected = [by_hand(row) for _, row in frame.iterrows()]
    assert _weakest_factors(frame).tolist() == expected
    assert {len(e.split(", ")) for e in expected if e} == {1, 2}  # fewer points seen too
    assert "" in [e for e, t in zip(expected, frame["partner_tier"], strict=True) if t == "B"]
