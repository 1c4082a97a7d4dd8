"""The market's extent (``geography.extent``): which first-level areas belong to the market.

Known answers: a US market is the 50 states and DC; customers in Puerto Rico and Guam are
counted in the headline but never tiered, never a gap and never given an action.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from helpers import context
from helpers.config import ConfigError, load_config
from helpers.geo.extent import default_extent, market_areas
from helpers.geo.scope import Scope, list_regions
from helpers.steps import insight, strategy

#: Customers per area of the generated US fixture (outside the extent: PR, GU).
US_CUSTOMERS = {"CA": 40, "TX": 30, "NY": 20, "FL": 20, "IL": 12, "PA": 12, "OH": 10,
                "GA": 10, "WA": 8, "MA": 8, "PR": 6, "GU": 3}


def _amount(i: int) -> float:
    return 50.0 + 25.0 * (i % 7)


def _revenue(state: str) -> float:
    """The fixture's revenue of ``state`` in 2025, by hand."""
    return sum(_amount(i) * (1 + i % 12) for i in range(US_CUSTOMERS[state]))


def _write(folder, config: dict):
    path = folder / "workbook.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return path


def _us_config(folder, geography: dict | None = None) -> dict:
    return {
        "project": {"name": "US fixture", "currency": "USD"},
        "paths": {"data": "data", "reports": "reports"},
        "sources": {
            "customers": [{"name": "crm", "file": "customers.csv",
                           "columns": {"customer_id": "id", "province": "state",
                                       "city": "city"}}],
            "orders": [{"name": "erp", "file": "orders.csv",
                        "columns": {"order_id": "order", "customer_id": "customer",
                                    "order_date": "date", "amount": "amount"},
                        "dates": {"order_date": "%Y-%m-%d"}}],
        },
        "geography": {"country": "US", **(geography or {})},
    }


@pytest.fixture(scope="module")
def us_market(tmp_path_factory):
    """A generated US market: 179 customers in 10 states, Puerto Rico (6) and Guam (3);
    customer ``i`` of a state orders ``50 + 25 * (i % 7)`` a month in the first
    ``1 + i % 12`` months of 2025."""
    folder = tmp_path_factory.mktemp("us")
    (folder / "data").mkdir()
    rows, orders = [], []
    for state, n in US_CUSTOMERS.items():
        for i in range(n):
            cid = f"{state}{i:03d}"
            rows.append({"id": cid, "state": state, "city": ""})
            orders += [{"order": f"{cid}-{m}", "customer": cid, "date": f"2025-{m:02d}-15",
                        "amount": _amount(i)} for m in range(1, 2 + i % 12)]
    pd.DataFrame(rows).to_csv(folder / "data" / "customers.csv", index=False)
    pd.DataFrame(orders).to_csv(folder / "data" / "orders.csv", index=False)
    path = _write(folder, _us_config(folder))
    ctx = context.open_step(config=str(path), run_dir=str(folder / "run"))
    tables = insight.insight_tables(ctx)
    return ctx, tables, strategy.strategy_tables(ctx, tables)


def test_default_extents_by_country():
    us = default_extent("US")
    assert int(us["in_extent"].sum()) == 51 and len(us) == 57
    assert set(us.loc[~us["in_extent"], "province_code"]) == {
        "US-PR", "US-GU", "US-AS", "US-MP", "US-UM", "US-VI"}
    assert "District of Columbia" in set(us.loc[us["in_extent"], "province"])
    assert default_extent("BR")["in_extent"].sum() == 27
    china = default_extent("CN")
    assert china["in_extent"].sum() == 31
    assert set(china.loc[~china["in_extent"], "province"]) == {
        "香港特别行政区", "澳门特别行政区", "台湾省"}
    assert default_extent("DE")["in_extent"].sum() == 16


def test_include_and_exclude_in_any_spelling():
    us = market_areas("US", include=["Puerto Rico", "gu"], exclude=["US-DC"])
    inside = set(us.loc[us["in_extent"], "province"])
    assert len(inside) == 52 and {"Puerto Rico", "Guam"} <= inside
    assert "District of Columbia" not in inside
    china = market_areas("CN", include=["香港", "Macao", "台湾"])
    assert china["in_extent"].sum() == 34


def test_config_key_is_checked_and_named(tmp_path):
    base = _us_config(tmp_path, {"extent": {"include": ["Puerto Rico"]}})
    config = load_config(_write(tmp_path, base))
    whole = Scope.parse("ALL", config)
    assert len(whole.provinces) == 52 and "Puerto Rico" in whole.provinces
    assert len(list_regions(config, "provinces")) == 1 + 52
    base["geography"]["extent"] = {"include": ["Porto Rico"]}
    with pytest.raises(ConfigError, match=r"geography.extent.include.*'Porto Rico'.*Puerto Rico"):
        load_config(_write(tmp_path, base))
    base["geography"]["extent"] = {"exclude": ["Atlantis"]}
    with pytest.raises(ConfigError, match=r"geography.extent.exclude.*Atlantis"):
        load_config(_write(tmp_path, base))
    base["geography"]["extent"] = {"inlcude": ["PR"]}
    with pytest.raises(ConfigError, match=r"geography.extent.inlcude"):
        load_config(_write(tmp_path, base))


def test_whole_market_of_us_is_fifty_states_and_dc(us_market):
    ctx, _, _ = us_market
    assert len(ctx.scope.provinces) == 51
    assert "Puerto Rico" not in ctx.scope.provinces and "Guam" not in ctx.scope.provinces


def test_areas_outside_are_reported_with_customers_and_revenue(us_market):
    _, tables, _ = us_market
    outside = tables["no_region"].set_index("region")
    assert set(outside.index) == {"Puerto Rico", "Guam"}
    assert outside.loc["Puerto Rico", "customers"] == 6
    assert outside.loc["Guam", "customers"] == 3
    # PR: i = 0..5 -> 50*1 + 75*2 + 100*3 + 125*4 + 150*5 + 175*6 = 2,800
    assert outside.loc["Puerto Rico", "revenue"] == pytest.approx(2_800.0)
    assert outside.loc["Guam", "revenue"] == pytest.approx(_revenue("GU"))
    assert (outside["reason"] == "outside_extent").all()
    note = tables["notes"]["extent"]
    assert note["customers"] == 9 and set(note["areas"]) == {"Puerto Rico", "Guam"}
    assert "outside the market" in note["text"]
    headline = tables["headline"]
    total = sum(US_CUSTOMERS.values())
    assert headline["customers"] == total                       # nobody lost from the headline
    assert headline["revenue"] == pytest.approx(sum(_revenue(s) for s in US_CUSTOMERS))
    assert headline["outside_extent"]["customers"] == 9
    assert headline["no_region"]["customers"] == 9
    assert headline["no_region"]["reasons"] == {"outside_extent": {
        "customers": 9, "revenue": pytest.approx(2_800.0 + _revenue("GU"))}}
    assert "Puerto Rico" in insight.explain(us_market[0], tables, "gaps")


def test_areas_outside_are_never_tiered_gaps_or_actions(us_market):
    _, tables, plan = us_market
    kpis = tables["region_kpis"]
    outside = {"Puerto Rico", "Guam", "American Samoa", "Northern Mariana Islands",
               "United States Minor Outlying Islands", "Virgin Islands, U.S."}
    assert len(kpis) == 51                                       # every state and DC, blanks too
    assert not outside & set(kpis["region"])
    assert not outside & set(tables["market_gaps"]["region"])
    assert not outside & set(tables["headline"]["blank_regions"])
    assert not outside & set(plan["tiers"]["region"])
    assert not outside & set(plan["actions"]["region"])
    assert "Wyoming" in set(tables["market_gaps"]["region"])     # a blank state is a gap


def test_us_gap_model_uses_population_only(us_market):
    _, tables, _ = us_market
    kpis = tables["region_kpis"].set_index("region")
    note = tables["notes"]["gaps"]
    assert note["inputs_key"] == "population_only" and "log_gdp" not in note
    assert note["regions"] == 51 and "population only" in note["inputs"]
    assert kpis.loc["California", "population_10k"] == pytest.approx(3953.8223)
    assert kpis["gdp_100m_cny"].isna().all()
    # per-capita KPIs: California's revenue over its 39,538,223 residents
    assert kpis.loc["California", "revenue_per_capita"] == pytest.approx(
        _revenue("CA") / 39_538_223)
    assert kpis.loc["California", "customers_per_million"] == pytest.approx(
        40 / 39.538223)
    assert np.isfinite(kpis["expected_customers"]).all()
    # the fit keeps the total of the market's customers (Poisson likelihood equations)
    assert kpis["expected_customers"].sum() == pytest.approx(170, rel=1e-6)


def test_outside_table_is_saved_and_read_back(us_market):
    ctx, tables, _ = us_market
    insight.save_insight(ctx, tables)
    assert (ctx.out / "no_region.csv").exists()
    again = insight.ensure_insight(ctx)["no_region"].set_index("region")
    assert again.loc["Guam", "customers"] == 3 and set(again.index) == {"Puerto Rico", "Guam"}
    insight.save_insight(ctx, {**tables, "no_region": tables["no_region"].iloc[0:0]})
    assert not (ctx.out / "no_region.csv").exists()


def test_step1_names_the_population_reference_the_market_has(us_market, tmp_path):
    """Step 1's data check used to promise China's census and GDP to every market."""
    from helpers.steps import goals

    ctx, _, _ = us_market
    population = goals.data_checks(ctx)["population"]
    assert population["available"]
    assert "(2020)" in population["detail"] and "population only" in population["detail"]
    # a market with no bundled reference (Germany) says so, and the check is not available
    folder = tmp_path / "de"
    folder.mkdir()
    (folder / "data").mkdir()
    shutil.copy(ctx.config.data_dir / "customers.csv", folder / "data" / "customers.csv")
    shutil.copy(ctx.config.data_dir / "orders.csv", folder / "data" / "orders.csv")
    config = _us_config(folder)
    config["geography"] = {"country": "DE"}
    config["sources"]["customers"][0]["columns"].pop("province")
    de = context.open_step(config=str(_write(folder, config)), run_dir=str(folder / "run"))
    population = goals.data_checks(de)["population"]
    assert not population["available"]
    assert "no population reference for this market" in population["detail"]


def test_playbooks_outside_china_name_no_wechat(us_market):
    """China's online channels (WeChat) are not advised to a US market."""
    _, _, plan = us_market
    for name in ("actions", "playbook", "segment_playbook", "campaign"):
        words = plan[name]["action"].astype(str)
        assert not words.str.contains("WeChat").any(), name
    assert plan["segment_playbook"]["action"].str.contains("messaging-app campaign").any()


def test_blank_states_have_a_position_for_the_maps(us_market):
    """A state without customers has no customers to average: its gazetteer point places
    it (it used to have none, and the maps left it out)."""
    _, tables, _ = us_market
    kpis = tables["region_kpis"].set_index("region")
    assert kpis.loc["Wyoming", "customers"] == 0
    assert kpis.loc["Wyoming", ["lat", "lon"]].notna().all()
    assert 40 < kpis.loc["Wyoming", "lat"] < 46 and -112 < kpis.loc["Wyoming", "lon"] < -104
    assert kpis[["lat", "lon"]].notna().all().all()
