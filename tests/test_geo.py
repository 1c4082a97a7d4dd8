"""Place-name resolution against hand-labelled spellings."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from helpers import geo

LABELLED = {
    "广东省": "广东省", "广东": "广东省", "粤": "广东省", "Guangdong": "广东省",
    "guangdong sheng": "广东省", "GD": "广东省", "Guangdong Province": "广东省",
    "内蒙古": "内蒙古自治区", "Inner Mongolia": "内蒙古自治区", "Nei Mongol": "内蒙古自治区",
    "新疆": "新疆维吾尔自治区", "Xinjiang Uygur Autonomous Region": "新疆维吾尔自治区",
    "广西壮族自治区": "广西壮族自治区", "桂": "广西壮族自治区", "Shaanxi": "陕西省",
    "Shanxi": "山西省", "陕": "陕西省", "晋": "山西省", "Beijing Shi": "北京市", "京": "北京市",
    "沪": "上海市", "Hong Kong": "香港特别行政区", "澳门": "澳门特别行政区", "Tibet": "西藏自治区",
    "Xizang": "西藏自治区", "黑龙江省": "黑龙江省", "Heilongjiang": "黑龙江省", "渝": "重庆市",
    "川": "四川省", "Szechuan": "四川省", "440000": "广东省", "浙江杭州西湖区": "浙江省",
}


def test_labelled_province_spellings_all_resolve():
    values = pd.Series(list(LABELLED))
    got = geo.resolve_provinces(values)
    wrong = {v: g for v, g, want in zip(values, got["province"], LABELLED.values(), strict=True) if g != want}
    assert wrong == {}


def test_unresolved_and_missing_are_reported_not_guessed():
    got = geo.resolve_provinces(pd.Series(["Atlantis", None, "  "]))
    assert got["province"].isna().all()
    assert list(got["province_match"]) == ["unresolved", "missing", "missing"]


def test_gazetteer_shape():
    provinces = geo.provinces()
    assert len(provinces) == 34 and provinces["province_code"].is_unique
    assert provinces[["lat", "lon"]].notna().all().all()
    cities = geo.cities()
    assert len(cities) > 300 and cities["city_code"].is_unique
    # Only a few county-level cities under a province lack a point in cpca (定州市, 辛集市).
    no_point = cities[cities[["lat", "lon"]].isna().any(axis=1)]
    assert len(no_point) <= 5 and (no_point["city_code"].str[2:4] == "90").all()
    assert set(cities["province"]) <= set(provinces["province"])
    districts = geo.districts()
    assert len(districts) > 2500 and districts["district_code"].is_unique
    assert districts["city_code"].isin(cities["city_code"]).all()


@pytest.mark.parametrize(
    "city, province, expected, status",
    [("深圳", "广东省", "深圳市", "name"), ("朝阳", "辽宁省", "朝阳市", "name"),
     ("苏州", None, "苏州市", "name"), ("深圳", "浙江省", None, "unresolved"),
     (None, "广东省", None, "missing")],
)
def test_city_resolution_uses_province(city, province, expected, status):
    frame = pd.DataFrame({"city": [city], "province": [province]})
    got = geo.resolve_cities(frame).iloc[0]
    assert (pd.isna(got["city"]) if expected is None else got["city"] == expected)
    assert got["city_match"] == status


FIXTURES = Path(__file__).parent / "fixtures"


def test_labelled_messy_place_strings_resolve_at_least_995_percent():
    """tests/fixtures/places_cn.csv: 700+ strings (names, abbreviations, pinyin, English,
    addresses, ambiguous names that must stay unresolved) with their true place."""
    table = pd.read_csv(FIXTURES / "places_cn.csv", dtype=str, keep_default_na=False)
    assert len(table) >= 500
    got = geo.resolve_places(table["text"])
    same = pd.concat([got[c].fillna("").eq(table[c]) for c in ("province", "city", "district")],
                     axis=1).all(axis=1)
    wrong = table[~same].assign(got_province=got["province"], got_city=got["city"],
                                got_district=got["district"])
    assert same.mean() >= 0.995, wrong.head(20).to_string()


@pytest.mark.parametrize(
    "text, province, city, district",
    [("陕西安康岚皋县", "陕西省", "安康市", "岚皋县"),      # not 西安 across the seam
     ("海南藏族自治州共和县", "青海省", "海南藏族自治州", "共和县"),  # not Hainan province
     ("吉林省吉林市船营区", "吉林省", "吉林市", "船营区"),
     ("北京海淀", "北京市", "北京市", "海淀区"),             # district without 区
     ("Chaoyang District, Beijing", "北京市", "北京市", "朝阳区")],
)
def test_address_traps(text, province, city, district):
    got = geo.resolve_places(pd.Series([text])).iloc[0]
    assert (got["province"], got["city"], got["district"]) == (province, city, district)


def test_ambiguous_names_are_not_guessed():
    got = geo.resolve_places(pd.Series(["朝阳区", "鼓楼区", "Suzhou", "Atlantis"]))
    assert got["province"].isna().all()
    assert list(got["place_match"]) == ["ambiguous", "ambiguous", "ambiguous", "unresolved"]
    # ... but a province tells them apart
    frame = pd.DataFrame({"city": ["Suzhou", "Suzhou"], "province": ["江苏省", "安徽省"]})
    assert list(geo.resolve_cities(frame)["city"]) == ["苏州市", "宿州市"]


def test_resolution_works_on_distinct_values(monkeypatch):
    calls = []
    original = geo.china_places._resolve_one
    monkeypatch.setattr(geo.china_places, "_resolve_one", lambda v: calls.append(v) or original(v))
    values = pd.Series(["Guangdong", "深圳", "Guangdong"] * 10_000)
    got = geo.resolve_places(values)
    assert sorted(calls) == ["Guangdong", "深圳"]
    assert got["province"].eq("广东省").all() and len(got) == 30_000


def test_nearest_names_for_the_unresolved_report():
    assert "广东省" in geo.nearest_names("广东生")
    assert geo.nearest_names("Sao Palo", "BR")[0] == "São Paulo"


@pytest.mark.parametrize(
    "value, code",
    [("CN", "CN"), ("CHN", "CN"), ("China", "CN"), ("中国", "CN"), ("德国", "DE"),
     ("Germany", "DE"), ("EIRE", "IE"), ("RSA", "ZA"), ("USA", "US"), ("U.S.A.", "US"),
     ("United Kingdom", "GB"), ("UK", "GB"), ("Brasil", None), ("Brazil", "BR"),
     ("Hong Kong", "HK"), ("Atlantis", None)],
)
def test_countries(value, code):
    got = geo.resolve_countries(pd.Series([value])).iloc[0]
    assert (pd.isna(got["country"]) if code is None else got["country"] == code)


def test_states_of_brazil_and_the_us():
    br = geo.provinces("BR")
    assert len(br) == 27 and (br["point"] == "state").all()
    got = geo.resolve_provinces(pd.Series(["SP", "sao paulo", "São Paulo", "BR-RJ", "XX"]), "BR")
    assert list(got["province_code"].fillna("")) == ["BR-SP", "BR-SP", "BR-SP", "BR-RJ", ""]
    # São Paulo state's point lies in the state (São Paulo city is at -23.55, -46.63).
    sp = br.set_index("province_code").loc["BR-SP"]
    assert -25.5 < sp["lat"] < -20 and -53 < sp["lon"] < -44
    us = geo.provinces("US")
    got = geo.resolve_provinces(pd.Series(["CA", "California", "new york", "TX"]), "US")
    assert list(got["province_code"]) == ["US-CA", "US-CA", "US-NY", "US-TX"]
    ca = us.set_index("province_code").loc["US-CA"]
    assert 32 < ca["lat"] < 42 and -125 < ca["lon"] < -114


def test_points_inside_and_outside_a_country():
    lat = pd.Series([-23.55, 38.72, 22.54, 40.0, 22.28, 40.1])
    lon = pd.Series([-46.63, -9.14, 114.06, 124.4, 114.16, 124.35])
    # São Paulo, Lisbon, Shenzhen, Dandong (border town), Hong Kong, near Sinuiju side
    assert geo.inside_country(lat, lon, ("BR",)).tolist() == [True, False, False, False, False, False]
    china = geo.inside_country(lat, lon, geo.world.CHINA_PARTS).tolist()
    assert china[:5] == [False, False, True, True, True]


def test_gcj02_and_bd09_match_a_reference_implementation():
    """The forward shift equals coordTransform's; the inverse round-trips to < 1 mm."""
    import coordTransform as ct
    import numpy as np

    rng = np.random.default_rng(1)
    lat = rng.uniform(18, 50, 200)
    lon = rng.uniform(75, 133, 200)
    glat, glon = geo.coords.wgs84_to_gcj02(lat, lon)
    ref = np.array([ct.wgs84_to_gcj02(x, y) for x, y in zip(lon, lat, strict=True)])
    assert np.allclose(glon, ref[:, 0], atol=1e-9) and np.allclose(glat, ref[:, 1], atol=1e-9)
    wlat, wlon = geo.coords.to_wgs84(glat, glon, "gcj02")
    assert np.abs(wlat - lat).max() < 1e-8 and np.abs(wlon - lon).max() < 1e-8
    # BD-09 from the reference, back to WGS-84 (the published BD rotation and its inverse
    # agree to ~20 cm).
    bd = np.array([ct.wgs84_to_bd09(x, y) for x, y in zip(lon, lat, strict=True)])
    blat, blon = geo.coords.to_wgs84(bd[:, 1], bd[:, 0], "bd09")
    assert np.abs(blat - lat).max() < 5e-6 and np.abs(blon - lon).max() < 5e-6
    # the shift is a few hundred metres: the conversion is not a no-op
    assert np.abs(glat - lat).max() > 1e-3
    # Tiananmen: WGS-84 (39.908722, 116.397499) is GCJ-02 (39.910126, 116.403743)
    g = geo.coords.wgs84_to_gcj02(39.908722, 116.397499)
    assert (round(float(g[0]), 6), round(float(g[1]), 6)) == (39.910126, 116.403743)
    # outside China nothing moves
    assert geo.coords.wgs84_to_gcj02(48.85, 2.35) == (48.85, 2.35)
