"""Tests for helpers.analysis.partners: A/B/C scores of hand-made partners against the table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from helpers.analysis import lifecycle, partners
from helpers.analysis.customers import purchase_days, purchase_summary
from helpers.config import Partners
from helpers.period import Period

NA = np.nan
# id, product, tiers, model, headcount, sales, tech, capital, order, payment, years
ROWS = [
    ("P1", "国产中端联网门禁", 2, "纯设备销售", 25, 5, 6, 200.0, 20000.0, "无拖欠", 5.0),
    ("P2", "国外高端品牌", 1, "销售+项目", 25, 3, 5, 100.0, 10000.0, "偶有拖欠", 2.0),
    ("P3", "国产低端单机", 3, "以项目为主", 8, 2, 2, 50.0, 8000.0, "现金流紧张", 1.5),
    ("P4", "非门禁为主", 1, "纯设备销售", 30, 5, 5, 500.0, 30000.0, "无拖欠", 10.0),
    ("P5", "国产中端联网门禁", 1, "门禁为项目附带", 30, 5, 5, 500.0, 30000.0, "无拖欠", 10.0),
    ("P6", "国产低端单机", 1, "以项目为主", 5, 1, 1, 20.0, 50000.0, "无拖欠", 0.5),
    ("P7", "国产中端联网门禁", 1, None, 12, 2, 3, NA, 5000.0, "无拖欠", 3.0),
    ("D1", None, None, None, None, None, None, NA, NA, None, NA),   # a direct account
]
# Hand-computed: product, model, staff, capital, orders, years, total, tier
EXPECTED = {
    "P1": (6, 4, 4, 4, 4, 4, 26, "A"),
    "P2": (2, 3, 3, 4, 2, 2, 16, "A"),      # exactly on the A threshold
    "P3": (3, 2, 2, 2, 1, 1, 11, "B"),
    "P4": (0, 4, 4, 4, 4, 4, 20, "C"),      # not access control: C directly
    "P5": (4, 0, 4, 4, 4, 4, 20, "C"),      # access control a side line: C directly
    "P6": (1, 2, 2, 2, 2, 1, 10, "B"),      # over 40k without arrears: `other` (2)
    "P7": (4, 0, 3, 0, 2, 4, 13, "B"),      # model and capital missing
}


@pytest.fixture
def customers() -> pd.DataFrame:
    frame = pd.DataFrame(ROWS, columns=[
        "customer_id", "main_product_tier", "product_tier_count", "business_model",
        "headcount", "sales_staff", "tech_staff", "registered_capital",
        "typical_order_value", "payment_behaviour", "years_active"])
    return frame.astype({"product_tier_count": "Int64", "headcount": "Int64",
                         "sales_staff": "Int64", "tech_staff": "Int64"}).assign(
        name=[f"partner {i}" for i in range(len(frame))], province="广东省",
        channel=["经销商"] * 7 + ["直销大客户"],
        signup_date=pd.to_datetime(["2020-01-01"] * 7 + ["2024-12-01"]))


def test_scores_match_the_table(customers):
    scored = partners.score_partners(customers).set_index("customer_id")
    assert list(scored.index) == ["P1", "P2", "P3", "P4", "P5", "P6", "P7"]  # D1 not scored
    columns = ["pts_product", "pts_business_model", "pts_staff", "pts_capital",
               "pts_orders", "pts_years", "score"]
    for pid, (*points, total, tier) in EXPECTED.items():
        assert scored.loc[pid, columns].tolist() == [*points, total], pid
        assert scored.loc[pid, "tier"] == tier, pid
    assert "tier_reason" not in scored  # the rule; helpers.text says it in words
    assert scored["tier_rule"].to_dict() == {"P1": "score", "P2": "score", "P3": "score",
                                             "P4": "direct_product", "P5": "direct_model",
                                             "P6": "score", "P7": "score"}
    assert scored.loc["P7", "missing"] == "business_model, capital"
    assert scored["incomplete"].tolist() == [False] * 6 + [True]


def test_thresholds_and_points_come_from_the_config(customers):
    stricter = Partners(tiers={"A": 20, "B": 12}).model_dump(exclude_none=True)
    tiers = partners.score_partners(customers, stricter).set_index("customer_id")["tier"]
    assert tiers[["P1", "P2", "P3", "P6", "P7"]].tolist() == ["A", "B", "C", "C", "B"]
    cheaper = Partners().model_dump(exclude_none=True)
    cheaper["years"] = {"rules": [{"min": 1, "points": 10}], "other": 0}
    scored = partners.score_partners(customers, cheaper).set_index("customer_id")
    assert scored.loc["P3", "pts_years"] == 10 and scored.loc["P6", "pts_years"] == 0
    with pytest.raises(ValidationError, match="A > B"):
        Partners(tiers={"A": 5, "B": 10})
    with pytest.raises(ValueError, match="unknown rule condition 'minimum'"):
        bad = Partners().model_dump(exclude_none=True)
        bad["capital"] = {"rules": [{"minimum": 1, "points": 1}], "other": 0}
        partners.score_partners(customers, bad)


def test_value_tiers_by_rank():
    revenue = pd.Series([100.0, 90, 80, 70, 60, 50, 40, 30, 20, 0])
    assert partners.value_tiers(revenue).tolist() == (
        ["high"] * 2 + ["medium"] * 3 + ["low"] * 5)


def test_partner_tiers_flags(customers):
    day = pd.Timestamp
    orders = pd.DataFrame(
        [("o1", "P1", day("2024-03-01"), 50000.0), ("o2", "P1", day("2024-06-01"), 40000.0),
         ("o3", "P1", day("2024-09-01"), 30000.0), ("o4", "P2", day("2024-05-01"), 20000.0),
         ("o5", "P2", day("2024-11-01"), 5000.0), ("o6", "P3", day("2022-05-01"), 9000.0),
         ("o7", "P6", day("2024-12-20"), 1000.0), ("o8", "P7", day("2024-02-01"), 3000.0)],
        columns=["order_id", "customer_id", "order_date", "amount"])
    stages = lifecycle.lifecycle(purchase_summary(orders, as_of="2025-01-01"),
                                 purchase_days(orders, as_of="2025-01-01"),
                                 as_of="2025-01-01", customers=customers)
    table = partners.partner_tiers(customers, orders, period=Period.ending("2024-12-31"),
                                   stages=stages)
    t = table.set_index("customer_id")
    assert list(table["tier"]) == sorted(table["tier"])
    assert t.loc["P1", "revenue"] == 120000.0 and t.loc["P1", "orders"] == 3
    # 7 partners: top ceil(1.4) = 2 high (P1, P2), up to ceil(3.5) = 4 medium (P7, P6)
    assert t["value_tier"].to_dict() == {"P1": "high", "P2": "high", "P7": "medium",
                                         "P6": "medium", "P3": "low", "P4": "low",
                                         "P5": "low"}
    # orders 3, 2, 0, 0, 0, 1, 1: the 0.8 quantile is 1.8, at least 2 orders: P1 and P2
    assert t.index[t["flag_high_frequency"]].tolist() == ["P1", "P2"]
    assert t["flag_new"].to_dict()["P6"] and not t.loc["P1", "flag_new"]
    assert t.loc["P3", "flag_churned"] and not t.loc["P1", "flag_churned"]
    assert t.loc["P1", "flag_high_value"] and not t.loc["P6", "flag_high_value"]
    summary = partners.tier_summary(table).set_index("tier")
    assert summary["partners"].to_dict() == {"A": 2, "B": 3, "C": 2}


def test_no_partners_gives_the_same_columns_and_no_rows(customers):
    direct = customers.loc[customers["customer_id"] == "D1"]
    orders = pd.DataFrame({"order_id": ["o1"], "customer_id": ["D1"],
                           "order_date": [pd.Timestamp("2024-05-01")], "amount": [10.0]})
    table = partners.partner_tiers(direct, orders, period=Period.ending("2024-12-31"))
    assert table.empty
    assert {"tier", "revenue", "value_tier", "flag_churned"} <= set(table.columns)
    assert partners.tier_summary(table).empty


def test_tier_balance_warns_when_one_tier_holds_most_and_suggests_quantiles():
    from helpers.analysis.partners import tier_balance
    from helpers.text.narrative.tiers import partner_balance

    # ten partners tiered by score, 7 of them in A (>= 16), and one C directly
    scores = [24, 22, 20, 19, 18, 17, 16, 12, 8, 6]
    frame = pd.DataFrame({"score": scores + [25],
                          "tier": ["A"] * 7 + ["B", "C", "C"] + ["C"],
                          "tier_rule": ["score"] * 10 + ["direct_product"]})
    note = tier_balance(frame, {"A": 16, "B": 10})
    assert note["counts"] == {"A": 7, "B": 1, "C": 3}
    assert note["crowded"] == "A" and note["shares"]["A"] == pytest.approx(7 / 11)
    # by hand: the 80% quantile of the ten scores ('higher') is 22, the 50% one is 18;
    # A from 22: 24, 22 (2 of 11); B from 18: 20, 19, 18 (3); the rest and the direct C: C
    assert note["suggested"] == {"A": 22.0, "B": 18.0}
    assert note["suggested_shares"] == pytest.approx({"A": 2 / 11, "B": 3 / 11, "C": 6 / 11})
    en = partner_balance(note, "en")
    assert "64% of the partners are in tier A, more than 50%" in en
    assert "A from 22 and B from 18 points would give A 18%, B 27% and C 55%" in en
    assert "64% 的伙伴属于A类" in partner_balance(note, "zh")
    # a balanced set: no warning, nothing said
    balanced = frame.assign(tier=["A", "A", "A", "B", "B", "B", "B", "C", "C", "C", "C"])
    assert tier_balance(balanced, {"A": 16, "B": 10})["crowded"] is None
    assert partner_balance(tier_balance(balanced, {"A": 16, "B": 10}), "en") == ""


def test_tier_balance_on_ties_and_few_partners():
    from helpers.analysis.partners import tier_balance

    tied = pd.DataFrame({"score": [16.0] * 6, "tier": ["A"] * 6, "tier_rule": ["score"] * 6})
    note = tier_balance(tied, {"A": 16, "B": 10})
    assert note["crowded"] == "A" and note["suggested"] is None   # scores do not differ
    few = tied.head(3).assign(score=[20.0, 18.0, 16.0])
    assert tier_balance(few, {"A": 16, "B": 10})["suggested"] is None  # fewer than 5
    assert tier_balance(few.head(0), {"A": 16, "B": 10})["partners"] == 0
