"""Tests for helpers.analysis.concentration (its sentences: tests/test_text_narrative.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from helpers.analysis.concentration import concentration, lorenz


def _gini_mean_abs_difference(values):
    x = np.clip(np.asarray(values, dtype=float), 0, None)
    return np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean())


def test_concentration_single_holder():
    stats = concentration([0, 0, 0, 10])
    assert stats["n"] == 4
    assert stats["gini"] == pytest.approx(0.75)
    assert stats["hhi"] == pytest.approx(1.0)
    assert stats["top20_share"] == pytest.approx(1.0)
    assert stats["top_k_for_80"] == 1


def test_concentration_hand_computed():
    stats = concentration(pd.Series([30, 10, 40, 20]))
    assert stats["gini"] == pytest.approx(0.25)
    assert stats["hhi"] == pytest.approx(0.30)
    assert stats["top20_share"] == pytest.approx(0.40)      # ceil(0.8) = 1 unit
    assert stats["top_k_for_80"] == 3                      # 40, 70, 90
    assert stats["total"] == 100.0


def test_concentration_boundary_and_clipping():
    stats = concentration([8, 1, 1])
    assert stats["top_k_for_80"] == 1                      # exactly 80% counts
    assert stats["gini"] == pytest.approx(14 / 30)
    clipped = concentration([-5, 5, 5])
    assert clipped["n"] == 3 and clipped["total"] == 10.0
    assert clipped["gini"] == pytest.approx(1 / 3)
    assert clipped["top20_share"] == pytest.approx(0.5)


def test_concentration_zero_total():
    stats = concentration([0, -3])
    assert math.isnan(stats["gini"]) and stats["top_k_for_80"] == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gini_matches_mean_absolute_difference_and_lorenz(seed):
    values = np.random.default_rng(seed).lognormal(size=37)
    gini = concentration(values)["gini"]
    assert gini == pytest.approx(_gini_mean_abs_difference(values))
    curve = lorenz(values)
    x, y = curve["cum_units_share"].to_numpy(), curve["cum_value_share"].to_numpy()
    area = np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2)
    assert gini == pytest.approx(1 - 2 * area)


def test_lorenz_points():
    curve = lorenz([40, 10, 30, 20])
    assert curve["cum_units_share"].tolist() == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])
    assert curve["cum_value_share"].tolist() == pytest.approx([0, 0.1, 0.3, 0.6, 1.0])
