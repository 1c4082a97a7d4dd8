"""Budget reallocation: hand-computed splits, exact floors/caps/total, infeasible configs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

from helpers.analysis import budget
from helpers.period import Period


def regions(spend, revenue, **extra) -> pd.DataFrame:
    names = [f"r{i}" for i in range(len(spend))]
    return pd.DataFrame({"region": names, "spend": spend, "revenue": revenue, **extra})


# ----------------------------------------------------------------------------- hand-made


def test_unbounded_split_by_hand():
    # e = 0.5: budget_i ∝ (R_i / S_i^0.5)^2 = R_i^2 / S_i -> 1e6/100 : 16e6/100 = 1 : 16.
    # 200 * 1/17 = 11.76 and 200 * 16/17 = 188.24 -> whole units 12 and 188.
    out = budget.propose(regions([100.0, 100.0], [1000.0, 4000.0]), total=200, elasticity=0.5)
    assert out["new_spend"].tolist() == [12.0, 188.0]
    assert out["basis"].tolist() == ["model", "model"]
    assert out["change"].tolist() == [-88.0, 88.0]
    assert out["roi"].tolist() == [10.0, 40.0]
    assert out["marginal_return"].tolist() == [5.0, 20.0]   # e * R / S
    # expected revenue R * (new / S)^e: 1000 * 0.12^0.5 and 4000 * 1.88^0.5
    assert out["expected_revenue"].tolist() == pytest.approx([1000 * 0.12 ** 0.5,
                                                               4000 * 1.88 ** 0.5])


def test_floor_then_cap_by_hand():
    frame = regions([100.0, 100.0], [1000.0, 4000.0])
    floored = budget.propose(frame, total=200, elasticity=0.5, floor_vs_current=0.5)
    assert floored["new_spend"].tolist() == [50.0, 150.0]
    assert floored["basis"].tolist() == ["floor", "model"]
    assert floored["floor_rule"].iloc[0] == "budget.floor_vs_current 0.5 x current"
    capped = budget.propose(frame, total=200, elasticity=0.5, floor_vs_current=0.5,
                            cap_vs_current=1.2)
    assert capped["new_spend"].tolist() == [80.0, 120.0]
    assert capped["basis"].tolist() == ["model", "cap"]


def test_units_and_largest_remainders():
    # Three equal regions, total 1000 in units of 300 is not allowed; in units of 10 the
    # 333.3 each becomes 340, 330, 330 (the first region breaks the tie).
    frame = regions([100.0, 100.0, 100.0], [500.0, 500.0, 500.0])
    with pytest.raises(budget.BudgetError, match="not a whole multiple of budget.unit 300"):
        budget.propose(frame, total=1000, unit=300)
    out = budget.propose(frame, total=1000, unit=10)
    assert sorted(out["new_spend"].tolist()) == [330.0, 330.0, 340.0]
    assert out["new_spend"].sum() == 1000


def test_floors_round_up_and_caps_down_to_the_unit():
    frame = regions([1000.0, 1000.0], [1000.0, 9000.0])
    out = budget.propose(frame, total=2000, unit=100, floors={"r0": 1250.0}, caps={"r1": 740.0})
    assert out["new_spend"].tolist() == [1300.0, 700.0]   # floor 1250 -> 1300, cap 740 -> 700
    assert out["floor_rule"].iloc[0] == "budget.floors.r0"
    assert out["cap_rule"].iloc[1] == "budget.caps.r1"


def test_regions_without_spend_or_revenue_get_their_floor():
    frame = regions([0.0, 100.0, 100.0], [0.0, 0.0, 900.0], tier=["gap", "steady", "core"])
    out = budget.propose(frame, total=300, unit=1, tier_floors={"gap": 30.0})
    assert out["new_spend"].tolist() == [30.0, 0.0, 270.0]
    assert out["basis"].iloc[0] == "floor: no spend or revenue to model"
    assert out["floor_rule"].iloc[0] == "budget.tier_floors.gap"
    assert math.isnan(out["expected_revenue"].iloc[0])


def test_responsiveness_by_hand():
    frame = pd.DataFrame({"growth_yoy": [0.44, -0.9, 3.0, np.nan],
                          "gap_ratio": [0.25, 4.0, 1.0, np.nan]})
    m = budget.responsiveness(frame, momentum=1.0, headroom=0.5)
    # (1.44) * 2, (0.5: growth clipped at -50%) * 0.5, (2: clipped at +100%) * 1, 1
    assert m.tolist() == pytest.approx([2.88, 0.25, 2.0, 1.0])
    assert budget.responsiveness(frame).tolist() == [1.0] * 4


def test_responsiveness_moves_money_to_the_responsive_region():
    frame = regions([100.0, 100.0], [1000.0, 1000.0], growth_yoy=[0.0, 0.0],
                    gap_ratio=[1.0, 0.25])
    out = budget.propose(frame, total=200, elasticity=0.5, headroom=0.5)
    # m = 1 and 2: budget ∝ (m R / S^0.5)^2 -> 1 : 4 -> 40 and 160.
    assert out["new_spend"].tolist() == [40.0, 160.0]
    # expected revenue R + m R ((new/S)^e - 1)
    assert out["expected_revenue"].tolist() == pytest.approx(
        [1000 + 1000 * (0.4 ** 0.5 - 1), 1000 + 2 * 1000 * (1.6 ** 0.5 - 1)])


# ----------------------------------------------------------------------------- optimality


def test_matches_a_general_optimiser():
    """The water-filling split equals scipy's SLSQP on the same concave problem."""
    spend = np.array([300.0, 120.0, 80.0, 500.0])
    revenue = np.array([9000.0, 2000.0, 3000.0, 6000.0])
    lo = np.array([150.0, 60.0, 40.0, 250.0])
    hi = np.array([600.0, 240.0, 160.0, 1000.0])
    e, total = 0.3, 1000.0
    frame = regions(spend, revenue).assign(floor=lo, cap=hi)
    ours = budget.reallocate(frame, total=total, elasticity=e, unit=0.001)["new_spend"]

    def negative_revenue(x):
        return -float((revenue * (x / spend) ** e).sum())

    best = minimize(negative_revenue, x0=spend / spend.sum() * total, method="SLSQP",
                    bounds=list(zip(lo, hi, strict=True)),
                    constraints=[{"type": "eq", "fun": lambda x: x.sum() - total}],
                    options={"ftol": 1e-12, "maxiter": 500})
    assert best.success
    assert ours.to_numpy() == pytest.approx(best.x, abs=0.05)
    assert negative_revenue(ours.to_numpy()) <= best.fun + 1e-6


def test_free_regions_share_one_marginal_return():
    frame = regions([100.0, 200.0, 300.0, 50.0], [1000.0, 3000.0, 2500.0, 900.0])
    out = budget.propose(frame, total=650, elasticity=0.4, unit=0.01, floor_vs_current=0.5,
                         cap_vs_current=1.5)
    free = out[out["basis"] == "model"]
    assert len(free) >= 2
    assert free["marginal_return_new"].max() == pytest.approx(
        free["marginal_return_new"].min(), rel=1e-3)
    # a region at its floor earns less at the margin; one at its cap more
    level = free["marginal_return_new"].mean()
    assert (out.loc[out["basis"] == "floor", "marginal_return_new"] <= level * 1.001).all()
    assert (out.loc[out["basis"] == "cap", "marginal_return_new"] >= level * 0.999).all()


@pytest.mark.parametrize("seed", range(25))
def test_floors_caps_and_total_exactly(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 12))
    spend = np.round(rng.uniform(0, 5000, n), 2) * (rng.random(n) > 0.15)
    revenue = np.round(rng.uniform(0, 200_000, n), 2) * (rng.random(n) > 0.1)
    unit = float(rng.choice([1, 10, 1000, 0.5]))
    frame = regions(spend, revenue, tier=rng.choice(["gap", "core", "steady"], n))
    current = spend.sum()
    total = round(current * rng.uniform(0.8, 1.3) / unit) * unit + unit * n
    settings = {"floor_vs_current": float(rng.uniform(0, 0.7)),
                "cap_vs_current": float(rng.uniform(1.3, 3)),
                "tier_floors": {"gap": float(rng.uniform(0, 300))},
                "cap_share": None if rng.random() < 0.5 else float(rng.uniform(0.5, 1))}
    try:
        out = budget.propose(frame, total=total, elasticity=float(rng.uniform(0.05, 0.9)),
                             unit=unit, momentum=1.0, headroom=0.5, **settings)
    except budget.BudgetError as exc:
        assert "no split is possible" in str(exc)
        return
    new = out["new_spend"].to_numpy()
    assert new.sum() == total                       # exactly, not approximately
    assert (new >= out["floor"].to_numpy()).all()
    assert (new <= out["cap"].to_numpy()).all()
    assert np.all(np.round(new / unit) * unit == new)


def test_does_not_modify_its_input():
    frame = regions([100.0, 100.0], [1000.0, 4000.0])
    before = frame.copy()
    budget.propose(frame, total=200, floor_vs_current=0.5)
    pd.testing.assert_frame_equal(frame, before)


# ----------------------------------------------------------------------------- infeasible


def test_floors_above_total_is_a_clear_error():
    frame = regions([100.0, 100.0], [1000.0, 4000.0])
    with pytest.raises(budget.BudgetError) as err:
        budget.propose(frame, total=100, floor_vs_current=0.6)
    message = str(err.value)
    assert "floors add up to 120" in message and "total 100" in message
    assert "budget.floor_vs_current" in message


def test_caps_below_total_is_a_clear_error():
    frame = regions([100.0, 100.0], [1000.0, 4000.0])
    with pytest.raises(budget.BudgetError, match=r"caps add up to 300, less than the total 400"):
        budget.propose(frame, total=400, cap_vs_current=1.5)


def test_floor_above_cap_names_the_region_and_both_rules():
    frame = regions([100.0, 100.0], [1000.0, 4000.0])
    with pytest.raises(budget.BudgetError) as err:
        budget.propose(frame, total=200, floors={"r1": 150.0}, caps={"r1": 120.0})
    message = str(err.value)
    assert "r1: floor 150 (budget.floors.r1) > cap 120 (budget.caps.r1)" in message


def test_held_regions_cannot_absorb_the_total():
    frame = regions([0.0, 100.0], [0.0, 1000.0])
    with pytest.raises(budget.BudgetError, match="without spend or revenue stay at their floor"):
        budget.propose(frame, total=500, cap_vs_current=2.0)


def test_bad_settings_and_unknown_regions():
    frame = regions([100.0], [1000.0])
    with pytest.raises(budget.BudgetError, match="elasticity"):
        budget.propose(frame, total=100, elasticity=1.0)
    with pytest.raises(budget.BudgetError, match="not in the plan"):
        budget.propose(frame, total=100, floors={"Atlantis": 1.0})
    with pytest.raises(budget.BudgetError, match="no regions"):
        budget.propose(frame.iloc[:0], total=100)


def test_an_absolute_floor_lifts_the_relative_cap():
    # r0 spends 8: cap 2 x 8 = 16 would clash with the tier floor 30; the floor wins,
    # explicit caps do not give way.
    frame = regions([8.0, 200.0], [100.0, 5000.0], tier=["gap", "core"])
    out = budget.propose(frame, total=208, tier_floors={"gap": 30.0}, cap_vs_current=2.0)
    assert out["new_spend"].tolist() == [30.0, 178.0]
    assert out["cap_rule"].iloc[0] == ("budget.cap_vs_current 2 x current, raised to "
                                       "budget.tier_floors.gap")
    with pytest.raises(budget.BudgetError, match="r0: floor 30"):
        budget.propose(frame, total=208, tier_floors={"gap": 30.0}, caps={"r0": 20.0})


def test_spend_by_region_counts_quarters_by_their_days_in_the_period():
    spend = pd.DataFrame({"province": ["甲", "甲", "甲", "乙", "乙"],
                          "period": ["2024Q4", "2025Q1", "2025Q2", "2025Q1", "2023Q1"],
                          "amount": [9200.0, 9000.0, 9100.0, 500.0, 999.0]})
    # period (2024-11-30, 2025-03-31]: 31 of Q4's 92 days, all of Q1, none of Q2
    period = Period.between("2024-12-01", "2025-03-31")
    out = budget.spend_by_region(spend, ["甲", "乙", "丙"], period)
    assert out.set_index("region")["marketing_spend"].to_dict() == pytest.approx(
        {"甲": 9200 * 31 / 92 + 9000, "乙": 500.0, "丙": 0.0})
    assert set(budget.spend_by_region(spend, None, period)["region"]) == {"甲", "乙"}
    assert budget.spend_by_region(spend.iloc[:0], None, Period.ending("2024-12-31")).empty


def test_method_facts_are_the_settings_and_the_gain_of_ten_percent_more_spend():
    facts = budget.method_facts(elasticity=0.5, unit=1000, total=1_234_000,
                                current_total=1_200_000, momentum=0.5)
    assert facts == {"elasticity": 0.5, "gain": pytest.approx((1.1 ** 0.5 - 1) * 100),
                     "unit": 1000.0, "total": 1_234_000.0, "current_total": 1_200_000.0,
                     "momentum": 0.5, "headroom": 0.0, "elasticity_range": [0.5, 0.5],
                     "objective": None, "policies": {}, "reserve": {}, "max_cut": None}
    rule = budget.method_facts(elasticity=0.2, unit=1, total=1, current_total=1,
                               elasticity_range=(0.1, 0.3), objective="find_new_markets",
                               policies={"gap": "reserve", "core": "hold"},
                               reserve={"gap": 30000, "emerging": 60000}, max_cut=0.2)
    assert rule["reserve"] == {"gap": 30000.0}   # only the tiers the rule reserves for
    assert rule["elasticity_range"] == [0.1, 0.3] and rule["max_cut"] == 0.2
    assert facts["gain"] == pytest.approx(4.88, abs=0.01)  # 10% more spend: 4.9% more revenue


# ----------------------------------------------------------------------------- objective rules


def tiered(spend, revenue, tiers) -> pd.DataFrame:
    return regions(spend, revenue, tier=tiers)


def test_reserve_rule_by_hand():
    # A steady region (spend 100, revenue 100) funds a gap region (spend 100, revenue
    # 1000) and a blank gap region. Reserve 20 per gap region on top of current spend:
    # floors 120 (100 + 20) and 20 (0 + 20); the steady region may give down to 50.
    # e = 0.5 between the two modelled regions: weights R^2 / S = 100 : 10000, so the
    # free split of 300 would give the gap region 297; its cap (2 x 100) holds it at 200
    # and the steady one keeps 300 - 200 - 20 = 80.
    frame = tiered([100.0, 100.0, 0.0], [100.0, 1000.0, 0.0], ["steady", "gap", "gap"])
    out = budget.propose(frame, total=300, elasticity=0.5, floor_vs_current=0.5,
                         cap_vs_current=2.0, policies={"gap": "reserve", "steady": "give"},
                         reserve={"gap": 20})
    assert out["new_spend"].tolist() == [80.0, 200.0, 20.0]
    assert out["floor"].tolist() == [50.0, 120.0, 20.0]
    assert out["reserve"].tolist() == [0.0, 20.0, 20.0]
    assert out["floor_rule"].iloc[1] == "budget.reserve.gap 20 + current"
    assert out["reason"].tolist() == ["cut", "reserve_gain", "reserve"]
    # a steady region under "give" is never raised, even with the best return: it gives
    # the gap region its reserve of 10 and nothing more
    rich = tiered([100.0, 100.0], [5000.0, 100.0], ["steady", "gap"])
    held = budget.propose(rich, total=200, elasticity=0.5, policies={"gap": "reserve",
                                                                      "steady": "give"},
                          reserve={"gap": 10})
    assert held["new_spend"].tolist() == [90.0, 110.0]
    assert held["cap"].iloc[0] == 100.0 and held["cap_rule"].iloc[0] == "objective: give current"
    assert held["reason"].tolist() == ["cut", "reserve"]


def test_keep_hold_and_limit_by_hand():
    # Region r0 has by far the best return; r1 (core, keep) may not be cut, r2 (declining,
    # limit 0.25) at most by a quarter, r3 (steady, free) down to the floor 0.5.
    frame = tiered([100.0, 100.0, 100.0, 100.0], [9000.0, 100.0, 100.0, 100.0],
                   ["emerging", "core", "declining", "steady"])
    out = budget.propose(frame, total=400, elasticity=0.5, floor_vs_current=0.5,
                         policies={"emerging": "keep", "core": "keep", "declining": "limit",
                                   "steady": "free"}, max_cut=0.25)
    assert out["new_spend"].tolist() == [175.0, 100.0, 75.0, 50.0]
    assert out["reason"].tolist() == ["gain", "keep", "limit", "cut_floor"]
    assert out["floor_rule"].iloc[2] == "budget.max_cut 0.25"
    # hold: neither cut nor raised
    held = budget.propose(frame, total=400, elasticity=0.5, floor_vs_current=0.5,
                          policies={"core": "hold"})
    assert held.loc[1, "new_spend"] == 100.0 and held.loc[1, "reason"] == "hold"
    assert held.loc[1, "cap_rule"] == "objective: hold current"


def test_protected_regions_shrink_only_in_proportion_to_a_smaller_total():
    # The total falls from 400 to 300 (75%): a kept region keeps at least 75 of its 100.
    frame = tiered([100.0, 100.0, 100.0, 100.0], [100.0, 100.0, 9000.0, 9000.0],
                   ["core", "steady", "steady", "steady"])
    out = budget.propose(frame, total=300, elasticity=0.5, policies={"core": "keep"})
    assert out.loc[0, "new_spend"] == 75.0 and out.loc[0, "reason"] == "shrink"
    assert out.loc[1, "new_spend"] == 0.0


def test_kept_spend_rounds_up_to_the_unit():
    # unit 10: current 94 becomes 100 for a kept region (never a cut by rounding)
    frame = tiered([94.0, 206.0], [100.0, 5000.0], ["core", "steady"])
    out = budget.propose(frame, total=300, elasticity=0.5, unit=10, policies={"core": "keep"})
    assert out["new_spend"].tolist() == [100.0, 200.0]
    assert out["floor"].iloc[0] == 100.0 and out["reason"].iloc[0] == "keep"


def test_rule_scaled_down_when_its_floors_do_not_fit():
    # Two kept regions of 100 and a reserve of 100 for a blank gap region need 300 of
    # a total of 200: kept spend and the reserve are scaled by the largest fit that fits
    # (fit f: 3 x ceil(100 f) <= 200 in whole units -> ceil(100 f) <= 66 -> f = 0.66,
    # found by bisection to 0.1%).
    frame = tiered([100.0, 100.0, 0.0], [100.0, 100.0, 0.0], ["core", "core", "gap"])
    out = budget.propose(frame, total=200, elasticity=0.5,
                         policies={"core": "keep", "gap": "reserve"}, reserve={"gap": 100})
    assert 0.659 <= out["fit"].iloc[0] <= 0.66
    assert out["new_spend"].sum() == 200
    assert (out["new_spend"] >= out["floor"]).all()
    assert out.loc[2, "new_spend"] == 66   # the scaled reserve (0 + 66)
    assert set(out["reason"]) <= {"shrink", "keep", "reserve"}


def test_unknown_policy_and_bad_max_cut_are_clear_errors():
    frame = tiered([100.0], [100.0], ["core"])
    with pytest.raises(budget.BudgetError, match=r"unknown budget policy \['grow'\]"):
        budget.propose(frame, total=100, policies={"core": "grow"})
    with pytest.raises(budget.BudgetError, match="budget.max_cut must be between 0 and 1"):
        budget.propose(frame, total=100, policies={"core": "limit"}, max_cut=1.5)


def test_effect_range_brackets_the_point_estimate_by_hand():
    # One region doubles (100 -> 200, revenue 1000), one halves (100 -> 50, revenue 1000),
    # m = 1. At e: 1000 (2^e - 1) + 1000 (0.5^e - 1).
    table = regions([100.0, 100.0], [1000.0, 1000.0], new_spend=[200.0, 50.0])
    effect = budget.effect_range(table, elasticity=0.2, low=0.1, high=0.3, steps=3)

    def at(e):
        return 1000 * (2 ** e - 1) + 1000 * (0.5 ** e - 1)

    assert effect["central"] == pytest.approx(at(0.2))
    assert effect["low"] == pytest.approx(min(at(0.1), at(0.2), at(0.3)))
    assert effect["high"] == pytest.approx(max(at(0.1), at(0.2), at(0.3)))
    assert effect["low"] <= effect["central"] <= effect["high"]
    # responsiveness switched off is part of the range: m = 2 for the region that gains
    with_m = table.assign(response=[2.0, 1.0])
    wide = budget.effect_range(with_m, elasticity=0.2, low=0.1, high=0.3, steps=3)
    assert wide["central"] == pytest.approx(2000 * (2 ** 0.2 - 1) + 1000 * (0.5 ** 0.2 - 1))
    assert wide["low"] == pytest.approx(min(at(0.1), at(0.2), at(0.3)))
    with pytest.raises(budget.BudgetError, match="must hold budget.elasticity 0.2"):
        budget.effect_range(table, elasticity=0.2, low=0.3, high=0.4)


def test_every_objective_has_a_budget_rule_for_every_tier():
    from helpers.analysis.tiers import TIERS
    from helpers.catalog import OBJECTIVES

    for objective in OBJECTIVES.values():
        assert set(objective.budget) == set(TIERS), objective.key
        assert set(objective.budget.values()) <= set(budget.POLICIES)
    assert set(budget.PLAYBOOK_NEEDS) == set(TIERS)
    # the playbooks that invest, pilot, test or defend are never cut freely
    for objective in OBJECTIVES.values():
        for tier in ("core", "emerging", "gap", "declining"):
            assert objective.budget[tier] != "free", (objective.key, tier)
