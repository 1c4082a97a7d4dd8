"""The revenue forecast (helpers.analysis.forecast): month windows, the backtest coverage
of the interval on generated seasonal data with known noise, and the gates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.analysis.forecast import (
    FORECAST_COLUMNS,
    TOTAL,
    forecast_series,
    monthly_revenue,
    region_forecasts,
)


def test_month_windows_end_on_the_period_end_and_cover_whole_months():
    orders = pd.DataFrame({
        "customer_id": ["a", "a", "b", "c", "b"],
        "order_date": pd.to_datetime(["2025-01-15", "2025-01-16", "2025-02-15",
                                      "2025-03-15", "2024-12-20"]),
        "amount": [1.0, 2.0, 4.0, 8.0, 16.0]})
    monthly = monthly_revenue(orders, "2025-03-15", first_day="2024-12-20",
                              regions=pd.Series({"a": "x", "b": "y"}))
    # (2024-12-15, 2025-01-15] starts before the data (2024-12-20): left out
    assert list(monthly.index) == list(pd.to_datetime(["2025-02-15", "2025-03-15"]))
    assert monthly[TOTAL].tolist() == [2.0 + 4.0, 8.0]
    assert monthly["x"].tolist() == [2.0, 0.0] and monthly["y"].tolist() == [4.0, 0.0]


def _seasonal(seed: int, months: int, noise: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(months)
    return 1000 + 150 * np.sin(2 * np.pi * t / 12) + rng.normal(0, noise, months)


@pytest.mark.parametrize(("months", "band"), [(120, (0.70, 0.90)), (48, (0.75, 0.97))])
def test_the_interval_covers_about_its_level_in_the_backtest(months, band):
    """Known answer: a seasonal series with known Gaussian noise (sd 40). Pooled over 8
    series and 12 rolling origins each (3-month totals), the 80% interval holds the actual
    total in 70% to 90% of the windows with ten years of history (86% measured), and in 75%
    to 97% with four (92%: the error scale counts the 17 values estimated from the data,
    so a short history gets a cautious interval); the point forecast is off by about the
    noise (3-month total 3,000, its noise sd 69: median error 1-4%)."""
    covered = origins = 0
    errors = []
    for seed in range(8):
        found = forecast_series(_seasonal(seed, months, 40.0), horizon=3, level=0.8,
                                origins=12, seed=seed)
        assert found["shown"] and found["model"].endswith(",A"), found  # seasonal
        covered += found["backtest_covered"]
        origins += found["backtest_origins"]
        errors.append(found["backtest_error"])
        assert found["forecast_low"] < found["forecast"] < found["forecast_high"]
    assert origins == 96
    assert band[0] <= covered / origins <= band[1], covered / origins
    assert 0.01 <= np.median(errors) <= 0.04


def test_a_wider_level_covers_more():
    y = _seasonal(3, 60, 40.0)
    narrow = forecast_series(y, level=0.5, origins=12)
    wide = forecast_series(y, level=0.95, origins=12)
    assert narrow["forecast"] == pytest.approx(wide["forecast"])
    assert wide["forecast_high"] - wide["forecast_low"] > 1.8 * (
        narrow["forecast_high"] - narrow["forecast_low"])
    assert wide["backtest_covered"] >= narrow["backtest_covered"]


def test_too_little_history_says_why_instead_of_a_number():
    short = forecast_series(np.r_[np.zeros(10), np.full(14, 100.0)], min_months=18)
    assert short == {**short, "shown": False, "reason_key": "short_history", "months": 14,
                     "min_months": 18}
    assert "forecast" not in short
    sparse = np.full(30, 100.0)
    sparse[1::3] = 0.0  # 10 of 30 months without revenue
    found = forecast_series(sparse, max_zero_share=0.25)
    assert (found["shown"], found["reason_key"], found["zero_months"]) == (False, "sparse", 10)
    assert forecast_series(sparse, max_zero_share=0.4)["shown"]
    with pytest.raises(ValueError, match="level"):
        forecast_series(sparse, level=80)


def test_regions_and_total_in_one_table():
    index = pd.date_range("2020-01-31", periods=40, freq="ME")
    monthly = pd.DataFrame({TOTAL: _seasonal(1, 40, 30.0) + 500,
                            "big": _seasonal(2, 40, 30.0),
                            "new": np.r_[np.zeros(30), np.full(10, 50.0)]}, index=index)
    table, note = region_forecasts(monthly, horizon=3, level=0.8, origins=6)
    assert list(table.columns) == FORECAST_COLUMNS
    assert table["region"].tolist()[:2] == ["big", "new"] and table["is_total"].tolist() == [
        False, False, True]
    big, new, total = (table.iloc[i] for i in range(3))
    assert big["shown"] and big["backtest_origins"] == 6 and not new["shown"]
    assert new["reason_key"] == "short_history" and new["months"] == 10
    assert big["forecast_change"] == pytest.approx(
        big["forecast"] / big["revenue_year_ago"] - 1)
    assert note["regions"] == 2 and note["regions_shown"] == 1 and note["shown"]
    assert note["pooled_origins"] == 6 and note["pooled_coverage"] == pytest.approx(
        big["backtest_covered"] / 6)


def test_each_backtest_origin_forecasts_from_the_months_before_it_only():
    """The backtest's model runs over the whole history with the parameters fitted before
    the first origin; a simulation anchored after month t-1 is the forecast a fit on
    months 0..t-1 gives, and months after the origin do not change it."""
    from helpers.analysis.forecast import _fit, _tracked

    y = _seasonal(0, 40, 30.0)
    before = _fit(y[:30], True, True)
    zero = np.zeros((3, 1))

    def from_origin(track, t):
        return np.ravel(track.simulate(3, anchor=t - 1, repetitions=1, random_errors=zero))

    track = _tracked(before, y, True, True)
    assert np.allclose(from_origin(track, 30), before.forecast(3))
    later = y.copy()
    later[35:] += 1000.0
    moved = _tracked(before, later, True, True)
    assert np.allclose(from_origin(moved, 34), from_origin(track, 34))
    assert not np.allclose(from_origin(moved, 37), from_origin(track, 37))


def _forecast_words(monthly, lang, **settings):
    from helpers.text.narrative.audience import Audience
    from helpers.text.narrative.insight import narrate

    table, note = region_forecasts(monthly, **settings)
    note.update(first_day=pd.Timestamp("2023-05-01"), last_day=pd.Timestamp("2023-07-31"))
    return table, narrate("forecast", {"forecast": table, "notes": {"forecast": note}},
                          Audience(lang=lang, currency="CNY"))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_forecast_in_plain_words(lang):
    index = pd.date_range("2020-01-31", periods=40, freq="ME")
    monthly = pd.DataFrame({TOTAL: _seasonal(1, 40, 30.0) + 500,
                            "big": _seasonal(2, 40, 30.0),
                            "new": np.r_[np.zeros(30), np.full(10, 50.0)]}, index=index)
    table, said = _forecast_words(monthly, lang, horizon=3, level=0.8, origins=6)
    total = table.iloc[-1]
    said = said.replace("\\", "")
    if lang == "en":
        assert said.startswith(f"Next 3 months (2023-05-01 – 2023-07-31): **{total['forecast']:,.0f} "
                               f"CNY** expected, 80% prediction interval")
        assert (f"the interval held the actual revenue of the 3 months that followed "
                f"{int(total['backtest_covered'])} times") in said
        assert "1 of 2 provinces have a forecast of their own" in said
        assert "No forecast for 1 provinces with fewer than 18 months of revenue (new)." in said
    else:
        assert said.startswith("未来 3 个月（2023-05-01 – 2023-07-31）：预计 **")
        assert "不做预测：1 个省份收入历史不足 18 个月（new）。" in said
    # a scope too short for a forecast: the reason instead of a number
    _, short = _forecast_words(monthly.iloc[-15:], lang)
    assert short.replace("\\", "").startswith(
        "**No revenue forecast**: only 15 months of revenue history (at least 18" if lang == "en"
        else "**不做收入预测**：收入历史仅 15 个月（拟合模型并用历史检验至少需要 18 个月）")


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("forecast_interval", 80, "less than 1"), ("forecast_min_months", 6, "greater than or equal"),
    ("forecast_backtest_origins", 2, "greater than or equal"),
    ("forecast_max_zero_share", 1.5, "less than 1")])
def test_a_wrong_forecast_setting_names_its_key(tmp_path, key, value, expected):
    import yaml

    from helpers.config import PROJECT_ROOT, ConfigError, load_config

    config = yaml.safe_load((PROJECT_ROOT / "workbook.yaml").read_text("utf-8"))
    config["analysis"][key] = value
    config["paths"]["data"] = str(PROJECT_ROOT / "data" / "sample")
    path = tmp_path / "workbook.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    with pytest.raises(ConfigError, match=rf"analysis\.{key}: Input should be {expected}"):
        load_config(path)
    defaults = load_config(PROJECT_ROOT / "workbook.yaml").analysis
    assert (defaults.forecast_months, defaults.forecast_interval, defaults.forecast_min_months,
            defaults.forecast_max_zero_share, defaults.forecast_backtest_origins) == (
                3, 0.8, 18, 0.25, 8)


def test_the_month_by_month_table_holds_the_history_and_each_forecast_month():
    """months=True: each series' months from its first revenue, then its forecast months
    (a month after the period's end, two, three) whose points add up to the forecast's
    total (the same first simulated path) and lie inside their own interval."""
    from helpers.analysis.forecast import PATH_COLUMNS

    index = pd.date_range("2020-01-31", periods=40, freq="ME")
    big = _seasonal(2, 40, 30.0)
    monthly = pd.DataFrame({TOTAL: big + 50, "big": big,
                            "new": np.r_[np.zeros(30), np.full(10, 50.0)]}, index=index)
    table, note, path = region_forecasts(monthly, horizon=3, level=0.8, origins=6,
                                         months=True)
    again, _ = region_forecasts(monthly, horizon=3, level=0.8, origins=6)
    pd.testing.assert_frame_equal(table, again)  # the table does not change
    assert list(path.columns) == PATH_COLUMNS
    mine = path.loc[path["region"] == "big"]
    actual, ahead = mine.loc[mine["kind"] == "actual"], mine.loc[mine["kind"] == "forecast"]
    assert np.allclose(actual["revenue"], big) and list(actual["month_end"]) == list(index)
    # windows end on the period's day of the month, as the history's do (2023-04-30 + k)
    assert list(ahead["month_end"]) == list(pd.to_datetime(
        ["2023-05-30", "2023-06-30", "2023-07-30"]))
    row = table.set_index("region").loc["big"]
    assert ahead["revenue"].sum() == pytest.approx(row["forecast"])
    assert (ahead["low"] < ahead["revenue"]).all() and (ahead["revenue"] < ahead["high"]).all()
    # one month's interval is narrower than the three months' total's
    assert (ahead["high"] - ahead["low"]).max() < row["forecast_high"] - row["forecast_low"]
    new = path.loc[path["region"] == "new"]  # no forecast: its 10 months only
    assert len(new) == 10 and new["kind"].eq("actual").all()
    total = path.loc[path["is_total"]]
    assert total["region"].isna().all() and (total["kind"] == "forecast").sum() == 3


def _forecast_tables(monthly):
    table, note, path = region_forecasts(monthly, horizon=3, level=0.8, origins=6,
                                         months=True)
    note.update(first_day=pd.Timestamp("2023-05-01"), last_day=pd.Timestamp("2023-07-31"))
    return {"forecast": table, "forecast_months": path, "notes": {"forecast": note}}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_forecast_section_draws_the_band_or_says_why(tiny_config, tmp_path, lang):
    """Step 4's forecast section: the words, the chart of the scope's months with the
    forecast's band (its title the totals of the table), the table; no chart when the
    scope has too little history, the words say why."""
    import dataclasses

    from helpers import context
    from helpers.steps import insight
    from helpers.viz.charts import forecast_title

    ctx = dataclasses.replace(context.open_step(config=str(tiny_config),
                                                run_dir=str(tmp_path / "run")), lang=lang)
    index = pd.date_range("2020-01-31", periods=40, freq="ME")
    tables = _forecast_tables(pd.DataFrame({TOTAL: _seasonal(1, 40, 30.0) + 500,
                                            "big": _seasonal(2, 40, 30.0)}, index=index))
    parts = insight.section(ctx, tables, "forecast").parts
    charts = [p for p in parts if hasattr(p, "png")]
    assert len(charts) == 1 and parts.index(charts[0]) == 1  # after the words
    total = tables["forecast"].loc[tables["forecast"]["is_total"]].iloc[0]
    title = forecast_title(total, months=3, level=0.8, lang=lang, currency="CNY")
    assert charts[0].alt == title
    assert title.startswith("Next 3 months: " if lang == "en" else "未来3个月：预计")
    assert f'alt="{title}"' in charts[0].to_html()
    words = parts[0].data
    assert ("Checked on the history" if lang == "en" else "已用历史检验") in words

    short = pd.DataFrame({TOTAL: np.full(10, 500.0), "big": np.full(10, 400.0)},
                         index=index[:10])
    parts = insight.section(ctx, _forecast_tables(short), "forecast").parts
    assert not [p for p in parts if hasattr(p, "png")]
    assert ("No revenue forecast" if lang == "en" else "不做收入预测") in parts[0].data
