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
