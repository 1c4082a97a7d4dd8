"""Tests for helpers.analysis.gaps: expected customers (Poisson GLM) and market gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import gaps, kpis
from helpers.analysis.benchmark import Benchmark
from helpers.period import Period

END = "2024-12-31"


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
    expected, info = gaps.expected_customers(customers, pop, gdp)
    assert info["method"] == "poisson" and info["regions"] == 30
    residual = customers - expected
    assert residual.sum() == pytest.approx(0.0, abs=1e-4 * customers.sum())
    assert (residual * np.log(pop)).sum() == pytest.approx(0.0, abs=1e-3 * customers.sum())
    assert (residual * np.log(gdp)).sum() == pytest.approx(0.0, abs=1e-3 * customers.sum())
    few, info = gaps.expected_customers(customers[:5], pop[:5], gdp[:5])
    assert info["method"] == "allocation" and info["reason_key"] == "few_regions"
    assert info["regions"] == 5


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
    table = kpis.region_kpis(cust, orders, period=Period.ending(END), reference=reference)
    assert table["expected_method"].eq("poisson").all()
    ranked = gaps.market_gaps(table)
    assert ranked.iloc[0]["region"] == f"p{planted}" and ranked.iloc[0]["gap_rank"] == 1
    assert ranked.iloc[0]["gap_kind"] == "under-penetrated" and ranked.iloc[0]["gap_p"] < 1e-6
    assert (ranked["customer_gap"].diff().dropna() <= 0).all()
    assert ranked["gap_ratio"].lt(1).all()

    # The model note: fitted on the rows given, or on the whole market with a benchmark.
    note = gaps.gap_model(table)
    assert note["method"] == "poisson" and note["regions"] == 30 and "scope_key" not in note
    few = table[table["region"].isin(names[:3])]
    assert gaps.gap_model(few)["method"] == "allocation"
    market = gaps.gap_model(few, benchmark=Benchmark(table))
    assert market["regions"] == 30 and market["intercept"] == note["intercept"]
    assert market["scope_key"] == "market"


def test_expected_customers_poisson_equals_scikit_learn():
    from sklearn.linear_model import PoissonRegressor

    customers, pop, gdp, _ = _generated_market(seed=11)
    expected, info = gaps.expected_customers(customers, pop, gdp, method="poisson")
    features = np.column_stack([np.log(pop), np.log(gdp)])
    reference = PoissonRegressor(alpha=0.0, tol=1e-12, max_iter=10_000).fit(features, customers)
    assert info["intercept"] == pytest.approx(reference.intercept_, rel=1e-6)
    assert [info["log_population"], info["log_gdp"]] == pytest.approx(reference.coef_, rel=1e-5)
    np.testing.assert_allclose(expected, reference.predict(features), rtol=1e-6)
    assert info["deviance_explained"] == pytest.approx(reference.score(features, customers),
                                                       rel=1e-6)


def test_a_core_region_below_its_expected_customers_is_room_to_grow_not_a_gap():
    from helpers.text.narrative.audience import Audience
    from helpers.text.narrative.insight import TOPICS

    table = pd.DataFrame({
        "region": ["core-a", "gap-b", "blank-c", "steady-d"], "region_en": ["A", "B", "C", "D"],
        "customers": [600, 40, 0, 300], "expected_customers": [640.0, 250.0, 12.0, 280.0],
        "customer_gap": [40.0, 210.0, 12.0, -20.0], "gap_ratio": [0.9375, 0.16, 0.0, 1.07],
        "gap_p": [0.3, 1e-9, 1e-5, 0.8]})
    tiers = pd.Series({"core-a": "core", "gap-b": "gap", "blank-c": "gap", "steady-d": "steady"})
    found = gaps.market_gaps(table, tiers=tiers)
    kinds = found.set_index("region")["gap_kind"].to_dict()
    assert kinds == {"gap-b": "under-penetrated", "core-a": "room to grow", "blank-c": "blank"}
    assert found.set_index("region").loc["core-a", "tier"] == "core"
    assert (gaps.market_gaps(table)["gap_kind"] != "room to grow").all()  # without tiers
    # the step-4 text says how both hold, in English and Chinese
    tables = {"region_kpis": table.assign(expected_method="poisson"), "market_gaps": found,
              "notes": {"gaps": {"method": "poisson", "regions": 4}}}
    en = TOPICS["gaps"](tables, Audience(lang="en"))
    assert "A (core, 0.94 of expected)" in en and "room to grow" in en
    assert "B (210 fewer than expected)" in en
    zh = TOPICS["gaps"](tables, Audience(lang="zh"))
    assert "core\\-a（核心，为期望的 0.94 倍）" in zh and "仍有增长空间" in zh   # md-escaped
