"""Tests for helpers.analysis.concentration (and the sentences of helpers.text.statements)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from helpers.analysis.concentration import concentration, lorenz
from helpers.text.statements import concentration_statement, top20_statement


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


def test_concentration_statement_en_zh():
    values = [5, 50, 10, 30, 5]
    names = ["E", "A", "C", "B", "D"]
    assert concentration_statement(values, names) == (
        "80% of revenue comes from 2 provinces (of 5): A, B.")
    assert concentration_statement(values, names, lang="zh") == (
        "80%的收入来自2个省份（共5个）：A、B。")
    single = concentration_statement([90, 10], ["X", "Y"], unit="cities")
    assert single == "90% of revenue comes from 1 city (of 2): X."
    many = concentration_statement([1] * 10, list("abcdefghij"), max_names=3)
    assert many == "80% of revenue comes from 8 provinces (of 10): a, b, c and 5 more."


def test_top20_statement():
    values = [1.0] * 80 + [100.0] * 20
    assert top20_statement(values) == (
        "The top 20% of customers (20 of 100) bring 96% of revenue; Gini 0.76.")
    assert top20_statement(values, unit="provinces", lang="zh") == (
        "前20%的省份（100个中的20个）贡献了96%的收入；基尼系数0.76。")
