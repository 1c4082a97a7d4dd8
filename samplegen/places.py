"""Provinces and prefecture cities with their sampling weights (independent of the seed).

The weights plant the geographic side of :data:`~samplegen.story.STORY`: penetration per
province, capitals and big cities, Xinjiang's few cities, and empty land around the
isolated cities.
"""

from __future__ import annotations

import re
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import geo
from samplegen.story import GROWTH, ISOLATION_KM, PENETRATION, STORY

_BIG_CITIES = {
    "广州市", "深圳市", "东莞市", "佛山市", "杭州市", "宁波市", "温州市", "南京市", "苏州市",
    "无锡市", "常州市", "青岛市", "济南市", "烟台市", "厦门市", "福州市", "泉州市", "沈阳市",
    "大连市", "武汉市", "成都市", "郑州市", "长沙市", "西安市", "合肥市", "石家庄市",
}
# Xinjiang's ordinary customers sit in these cities only (the west is left to the isolated).
_XINJIANG_CITIES = {"乌鲁木齐市": 6.0, "昌吉回族自治州": 1.5, "伊犁哈萨克自治州": 1.0,
                    "巴音郭楞蒙古自治州": 1.0}
_JUNK_CITIES = {"市辖区", "县", "省直辖县级行政区划"}

_ETHNIC_STATE = re.compile(
    r"^(.+?)(?:(?:朝鲜|土家|苗|藏|羌|彝|布依|侗|哈尼|壮|傣|白|景颇|傈僳|回|蒙古|柯尔克孜|"
    r"哈萨克)族?)+自治州$"
)


def haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance in km (arrays broadcast).

    Parameters
    ----------
    lat1, lon1, lat2, lon2 : float or array-like
        Degrees (WGS-84).

    Returns
    -------
    float or ndarray
        The distance on a sphere of radius 6371 km.
    """
    lat1, lon1, lat2, lon2 = map(np.radians, (lat1, lon1, lat2, lon2))
    h = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    return 6371.0 * 2 * np.arcsin(np.sqrt(h))


def _short_city(name: str) -> str:
    """The name a company would put before its own (深圳市, 喀什, 延边)."""
    if name.endswith("市"):
        return name
    match = _ETHNIC_STATE.match(name)
    if match:
        return match.group(1)
    return re.sub(r"(地区|盟)$", "", name)


@lru_cache(maxsize=1)
def places() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Provinces (31, mainland) and usable prefecture cities with sampling weights.

    Returns
    -------
    prov : DataFrame
        One row per province: ``helpers.geo.provinces()`` columns, population, GDP,
        ``penetration``, ``weight`` and ``growth``.
    city : DataFrame
        One row per usable city: ``helpers.geo.cities()`` columns, ``prov_idx`` (row of
        ``prov``), ``weight``, ``isolated``, ``territory`` and ``short`` (name prefix).
    """
    prov = geo.provinces()
    prov = prov[prov["territory"] != "港澳台"].reset_index(drop=True)
    stats_file = Path(__file__).resolve().parents[1] / "data" / "reference" / "cn_province_stats.csv"
    stats = pd.read_csv(stats_file, dtype={"province_code": str})
    prov = prov.merge(stats[["province_code", "population_10k", "gdp_100m_cny"]],
                      on="province_code", how="left", validate="1:1")
    prov["penetration"] = prov["province"].map(PENETRATION).fillna(1.0)
    prov["weight"] = prov["population_10k"] * prov["penetration"]
    prov["growth"] = prov["province"].map(GROWTH).fillna(0.0)

    city = geo.cities()
    city = city[city["lat"].notna() & ~city["city"].isin(_JUNK_CITIES)]
    city = city.drop_duplicates("city_code", keep="last")  # municipalities: keep 北京市
    city = city[city["province"].isin(prov["province"])].reset_index(drop=True)
    city["prov_idx"] = city["province"].map(pd.Series(prov.index, index=prov["province"]))

    # Structural city size: capital x4, big cities x3, others 0.35..1 from a hash.
    hashed = city["city_code"].map(lambda c: zlib.crc32(c.encode()) % 1000 / 1000.0)
    size = 0.35 + 0.65 * hashed.to_numpy()
    capital = np.zeros(len(city), dtype=bool)
    for p_idx, row in prov.iterrows():
        mask = (city["prov_idx"] == p_idx).to_numpy()
        if mask.any():
            dist = haversine_km(row["lat"], row["lon"], city["lat"].to_numpy()[mask],
                                 city["lon"].to_numpy()[mask])
            capital[np.flatnonzero(mask)[np.argmin(dist)]] = True
    size = np.where(capital, 4.0, np.where(city["city"].isin(_BIG_CITIES), 3.0, size))
    xinjiang = (city["province"] == "新疆维吾尔自治区").to_numpy()
    size = np.where(xinjiang, city["city"].map(_XINJIANG_CITIES).fillna(0.0), size)

    # Isolated cities: no ordinary customers in them or within ISOLATION_KM of them.
    isolated = city["city"].isin(STORY["isolated"]).to_numpy()
    iso = city[isolated]
    near = np.zeros(len(city), dtype=bool)
    for lat, lon in zip(iso["lat"], iso["lon"], strict=True):
        near |= haversine_km(lat, lon, city["lat"].to_numpy(), city["lon"].to_numpy()) < ISOLATION_KM
    size = np.where(near, 0.0, size)

    # City weight = province weight shared by relative city size.
    prov_size = pd.Series(size).groupby(city["prov_idx"]).transform("sum").to_numpy()
    share = np.divide(size, prov_size, out=np.zeros_like(size), where=prov_size > 0)
    city["weight"] = share * prov["weight"].to_numpy()[city["prov_idx"]]
    city["isolated"] = isolated
    city["territory"] = prov["territory"].to_numpy()[city["prov_idx"]]
    city["short"] = city["city"].map(_short_city)
    return prov, city
