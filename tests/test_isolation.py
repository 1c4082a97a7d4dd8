"""Tests for helpers.analysis.isolation: isolated customers by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from helpers.analysis import isolation
from helpers.geo.coords import haversine_km


def test_isolated_customers_by_hand():
    # A dense group of 5 around (30, 110), a pair 300 km east of it, one alone far north.
    customers = pd.DataFrame({
        "customer_id": ["g1", "g2", "g3", "g4", "g5", "p1", "p2", "lone", "centroid"],
        "lat": [30.0, 30.1, 29.9, 30.05, 29.95, 30.0, 30.02, 40.0, 45.0],
        "lon": [110.0, 110.1, 109.9, 110.05, 109.95, 113.1, 113.12, 110.0, 100.0],
        "city": ["A", "A", "A", "A", "A", "B", "B", "C", "D"],
        "geo_precision": ["point"] * 8 + ["province"],
    })
    found, info = isolation.isolated_customers(customers, eps_km=200, min_customers=3)
    assert info["clusters"] == 1 and info["excluded"] == 1 and info["isolated"] == 3
    assert list(found["customer_id"]) == ["lone", "p2", "p1"]    # farthest from a cluster first
    lone = found.set_index("customer_id").loc["lone"]
    expected = haversine_km(40.0, 110.0, 30.1, 110.1)  # nearest group member: g2
    assert lone["nearest_cluster_km"] == pytest.approx(expected, rel=1e-9)
    assert lone["nearest_customer_km"] == pytest.approx(expected, rel=1e-9)
    assert lone["nearest_cluster_city"] == "A" and lone["customers_within_eps"] == 1
    pair = found.set_index("customer_id").loc["p1"]
    assert pair["customers_within_eps"] == 2
    assert pair["nearest_customer_km"] == pytest.approx(
        haversine_km(30.0, 113.1, 30.02, 113.12), rel=1e-9)
    assert 280 < pair["nearest_cluster_km"] < 300
    assert math.isclose(haversine_km(0, 0, 0, 1), 111.195, rel_tol=1e-4)
