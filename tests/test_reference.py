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
