"""Place-name resolution against hand-labelled spellings."""

from __future__ import annotations

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
    assert cities[["lat", "lon"]].notna().all().all()
    assert set(cities["province"]) <= set(provinces["province"])


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
