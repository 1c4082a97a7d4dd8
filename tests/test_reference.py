"""Tests for helpers.geo.reference: the bundled population/GDP and adjacency tables."""

from __future__ import annotations

from helpers import geo
from helpers.geo.reference import load_adjacency, load_province_reference


def test_province_reference_lists_31_provinces():
    reference = load_province_reference()
    assert len(reference) == 31
    assert reference.loc[reference["province"] == "广东省", "population_10k"].item() == 12601
    assert reference["gdp_100m_cny"].dtype == float
    provinces = geo.provinces()
    assert set(reference["province"]) == set(
        provinces.loc[provinces["territory"] != "港澳台", "province"])


def test_adjacency_file_is_symmetric_and_complete():
    pairs = load_adjacency()
    assert len(pairs) == 69 and (pairs["link"] == "sea").sum() == 1
    names = set(pairs["province_a"]) | set(pairs["province_b"])
    provinces = geo.provinces()
    assert names == set(provinces.loc[provinces["territory"] != "港澳台", "province"])
    assert not pairs.duplicated(["province_a", "province_b"]).any()


# ----------------------------------------------------------------- markets outside China

import re  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from helpers.analysis.gaps import expected_customers, reference_columns  # noqa: E402
from helpers.config import PROJECT_ROOT  # noqa: E402
from helpers.geo.reference import has_region_reference, load_region_reference  # noqa: E402

README = (PROJECT_ROOT / "data" / "reference" / "README.md").read_text(encoding="utf-8")


def test_us_states_census_2020_known_values():
    us = load_region_reference("US").set_index("region")
    assert len(us) == 51                                   # 50 states and DC, no territories
    assert us.loc["California", "population"] == 39_538_223
    assert us.loc["Wyoming", "population"] == 576_851
    assert us.loc["District of Columbia", "population"] == 689_545
    assert us["population"].sum() == 331_449_281           # the official 50 + DC total
    assert us.loc["Texas", "region_code"] == "US-TX"
    assert set(us.index) == set(geo.provinces("US").query(
        "not province_code.isin(['US-PR','US-GU','US-AS','US-MP','US-UM','US-VI'])")["province"])
    assert (us["population_year"] == 2020).all() and us["gdp_100m_cny"].isna().all()
    assert us["population_source"].str.contains("Census Bureau").all()


def test_brazil_units_ibge_2022_and_the_readme_states_the_sum():
    br = load_region_reference("BR").set_index("region_code")
    assert len(br) == 27 and set(br["region"]) == set(geo.provinces("BR")["province"])
    assert br.loc["BR-SP", "population"] == 44_411_238
    assert br.loc["BR-SP", "region"] == "São Paulo"
    assert (br["population_year"] == 2022).all()
    total = int(br["population"].sum())
    # every row from IBGE's revised census release: the rows sum to its total exactly
    assert total == 203_080_756 and f"{total:,}" in README
    assert br.loc["BR-MG", "population"] == 20_539_989
    assert br.loc["BR-RJ", "population"] == 16_055_174


def test_countries_world_population_prospects_2024():
    world = load_region_reference("WORLD").set_index("region_code")
    assert world.loc["US", "population"] == 339_436_155
    assert world.loc["BR", "population"] == 208_660_838
    assert world.loc["CN", "population"] == 1_426_106_091      # mainland; HK, MO, TW apart
    assert world.loc["IE", "population"] == 4_982_609
    assert "NA" in world.index                                 # Namibia is not a missing value
    assert world.index.is_unique and len(world) >= 230
    assert load_region_reference("WORLD", year=2025).set_index("region_code").loc[
        "DE", "population"] == 84_075_074
    assert (world["population_year"] == 2020).all()
    assert world["population_source"].str.contains("World Population Prospects 2024").all()


def test_china_through_the_loader_is_the_bundled_file():
    china = load_region_reference("CN")
    original = load_province_reference()
    assert china["region"].tolist() == original["province"].tolist()
    assert china["population_10k"].tolist() == original["population_10k"].tolist()
    assert china["gdp_100m_cny"].tolist() == original["gdp_100m_cny"].tolist()


def test_markets_without_a_file_are_named():
    assert has_region_reference("us") and not has_region_reference("DE")
    with pytest.raises(ValueError, match=re.escape("no bundled population reference for 'DE'")):
        load_region_reference("DE")


def test_gap_model_with_customers_proportional_to_population_expects_the_actual():
    us = load_region_reference("US")
    customers = us["population"] / 100_000                 # exactly proportional
    for method in ("poisson", "allocation"):
        expected, info = expected_customers(customers, us["population_10k"],
                                            us["gdp_100m_cny"], method=method)
        assert info["inputs_key"] == "population_only" and info["regions"] == 51
        np.testing.assert_allclose(expected, customers, rtol=1e-6)
    _, info = expected_customers(customers, us["population_10k"], us["gdp_100m_cny"],
                                 method="poisson")
    assert info["log_population"] == pytest.approx(1.0, abs=1e-6)
    # whole customers: round(population / 100,000); expected within rounding of actual
    whole = (us["population"] / 100_000).round()
    table = reference_columns(pd.DataFrame({"region": us["region"], "customers": whole,
                                            "revenue": whole * 10.0}), us)
    assert (table["expected_customers"] - table["customers"]).abs().max() < 1.0
    assert table["expected_method"].eq("poisson").all()
