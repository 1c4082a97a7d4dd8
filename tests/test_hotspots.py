"""Tests for helpers.analysis.hotspots: Gi* against esda and the Getis-Ord formula."""

from __future__ import annotations

import warnings

import esda
import numpy as np
import pandas as pd
from libpysal.weights import W, lat2W
from scipy import stats

from helpers import geo
from helpers.analysis import hotspots
from helpers.analysis.benchmark import Benchmark


def _lattice(n_side: int = 7, seed: int = 3):
    """Values on an n x n grid with a planted 2 x 2 hot block; rook neighbours."""
    rng = np.random.default_rng(seed)
    y = rng.gamma(4.0, 25.0, size=n_side * n_side)
    hot = [2 * n_side + 2, 2 * n_side + 3, 3 * n_side + 2, 3 * n_side + 3]
    y[hot] += 400.0
    rows, cols = np.divmod(np.arange(n_side * n_side), n_side)
    # Points on a 1-degree grid near the equator; the region names are the cell ids.
    kpis = pd.DataFrame({"region": [f"r{i}" for i in range(n_side * n_side)],
                         "lat": rows * 1.0, "lon": cols * 1.0, "value": y,
                         "level": "grid"})
    return kpis, y, hot, lat2W(n_side, n_side, rook=True)


def _gi_star_by_formula(y: np.ndarray, w: W) -> np.ndarray:
    """Getis and Ord (1995) Gi* with binary weights including the region itself."""
    n = len(y)
    a = w.full()[0] + np.eye(n)
    mean = y.mean()
    s = np.sqrt((y**2).mean() - mean**2)
    wsum = a.sum(axis=1)
    return (a @ y - mean * wsum) / (s * np.sqrt((n * (a**2).sum(axis=1) - wsum**2) / (n - 1)))


def test_gi_star_equals_esda_and_formula_and_finds_the_planted_spot(monkeypatch):
    kpis, y, hot, w = _lattice()
    # Give hotspots the lattice weights (rook) instead of KNN.
    monkeypatch.setattr(hotspots, "region_weights",
                        lambda *a, **k: (w, {"weights": "lattice"}))
    table, info = hotspots.hotspots(kpis, value="value")
    assert info["computed"] and info["regions"] == 49

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = esda.G_Local(y, lat2W(7, 7, rook=True), transform="B", star=True,
                                 permutations=0)
    np.testing.assert_allclose(table["gi_z"], reference.Zs, rtol=1e-10)
    np.testing.assert_allclose(table["gi_z"], _gi_star_by_formula(y, lat2W(7, 7, rook=True)),
                               rtol=1e-10)
    np.testing.assert_allclose(table["gi_p"], 2 * stats.norm.sf(np.abs(reference.Zs)))
    np.testing.assert_allclose(table["gi_p_fdr"],
                               stats.false_discovery_control(table["gi_p"], method="bh"))
    # The planted block is hot at 99% after the FDR correction ...
    assert (table.loc[hot, "gi_bin"] == 3).all()
    assert (table.loc[hot, "hotspot"] == "hot 99%").all()
    # ... and the far corner is not hot.
    assert table.loc[48, "gi_bin"] <= 0
    assert set(table["lisa_quadrant"]) <= {"HH", "LH", "LL", "HL", "ns"}
    assert (table.loc[hot, "lisa_quadrant"] == "HH").sum() >= 2


def test_lisa_matches_esda_analytic_moments(monkeypatch):
    kpis, y, _, w = _lattice()
    monkeypatch.setattr(hotspots, "region_weights",
                        lambda *a, **k: (w, {"weights": "lattice"}))
    table, _ = hotspots.hotspots(kpis, value="value")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lm = esda.Moran_Local(y, lat2W(7, 7, rook=True), transformation="r", permutations=0)
    np.testing.assert_allclose(table["lisa_i"], lm.Is)
    z = (lm.Is - lm.EI) / np.sqrt(lm.VI)
    np.testing.assert_allclose(table["lisa_p"], 2 * stats.norm.sf(np.abs(z)))
    significant = table["lisa_p_fdr"] < 0.05
    quadrant = pd.Series(lm.q).map({1: "HH", 2: "LH", 3: "LL", 4: "HL"})
    assert (table.loc[significant, "lisa_quadrant"] == quadrant[significant]).all()
    assert (table.loc[~significant, "lisa_quadrant"] == "ns").all()


def test_gi_bins_by_hand():
    z = np.array([3.0, 2.0, 1.7, 0.5, -2.5, -3.0, np.nan])
    p = np.array([0.001, 0.03, 0.08, 0.6, 0.04, 0.009, np.nan])
    assert hotspots.gi_bins(z, p).tolist() == [3, 2, 1, 0, -2, -3, 0]


def test_hotspots_refuses_too_few_regions():
    kpis = pd.DataFrame({"region": list("abcde"), "lat": [0.0, 1, 2, 3, 4],
                         "lon": [0.0, 1, 2, 3, 4], "revenue": [1.0, 2, 3, 4, 50],
                         "level": "city"})
    table, info = hotspots.hotspots(kpis, min_regions=8)
    assert not info["computed"] and info["reason_key"] == "few_regions"
    assert info["regions"] == 5 and info["min_regions"] == 8
    assert table["gi_z"].isna().all() and table["gi_bin"].isna().all()
    assert table["hotspot"].isna().all() and list(table["region"]) == list("abcde")


def test_region_weights_knn_for_points_and_contiguity_for_provinces():
    points = pd.DataFrame({"region": ["a", "b", "c", "d"], "lat": [0.0, 0.0, 0.0, 10.0],
                           "lon": [0.0, 1.0, 3.0, 0.0]})
    w, info = hotspots.region_weights(points, level="city", k=1)
    assert info["weights"] == "knn" and info["k"] == 1
    assert w.neighbors == {0: [1], 1: [0], 2: [1], 3: [0]}

    provinces = geo.provinces()
    mainland = provinces[provinces["territory"] != "港澳台"][["province", "lat", "lon"]]
    w, info = hotspots.region_weights(mainland.rename(columns={"province": "region"}),
                                     level="province")
    assert info["weights"] == "contiguity" and w.n == 31
    names = list(mainland["province"])
    neighbours = {names[i]: {names[j] for j in js} for i, js in w.neighbors.items()}
    assert neighbours["上海市"] == {"江苏省", "浙江省"}
    assert neighbours["海南省"] == {"广东省"}
    assert neighbours["北京市"] == {"天津市", "河北省"}
    assert all(len(v) >= 1 for v in neighbours.values())


def test_a_benchmark_computes_on_the_whole_market_and_shows_the_scope(monkeypatch):
    kpis, y, hot, w = _lattice()
    monkeypatch.setattr(hotspots, "region_weights",
                        lambda *a, **k: (w, {"weights": "lattice"}))
    whole, _ = hotspots.hotspots(kpis, value="value")
    # A "territory" of 4 rows (too few for the statistics on their own), two of them hot.
    scope = kpis.iloc[[hot[0], hot[1], 0, 48]].drop(columns="value").assign(revenue=1.0)
    alone, info = hotspots.hotspots(scope.assign(value=[5.0, 6, 1, 2]), value="value")
    assert not info["computed"]
    shown, info = hotspots.hotspots(scope, value="value", benchmark=Benchmark(kpis))
    assert info["computed"] and info["regions"] == 49 and info["scope_key"] == "market"
    assert list(shown["region"]) == list(scope["region"]) and (shown["revenue"] == 1.0).all()
    mine = whole.set_index("region").loc[scope["region"], hotspots.HOTSPOT_COLUMNS]
    pd.testing.assert_frame_equal(shown.set_index("region")[hotspots.HOTSPOT_COLUMNS], mine)
