"""China geography: the province gazetteer, prefecture cities and place-name resolution.

Province names, codes, English names and one-character abbreviations live in
``provinces.csv`` beside this file; city and district coordinates come from the
gazetteer shipped with the ``cpca`` package (administrative codes with a
representative point per unit). Everything is read once and cached.

Resolution works on *distinct* values and maps back, so millions of rows cost
as much as the number of different spellings.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "provinces",
    "cities",
    "resolve_provinces",
    "resolve_cities",
    "normalise_key",
]

_PROVINCE_FILE = Path(__file__).with_name("provinces.csv")
# Suffixes that spell the administrative level in pinyin or English.
_LEVEL_WORDS = re.compile(
    r"\b(sheng|shi|province|municipality|city|autonomous region|zizhiqu|"
    r"special administrative region|sar|zhuang|hui|uygur|uyghur|uighur)\b"
)


def normalise_key(value: object) -> str:
    """Return a lookup key: lower case, no spaces, hyphens or level words.

    >>> normalise_key("Guangdong Sheng")
    'guangdong'
    >>> normalise_key(" 广东省 ")
    '广东省'
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    text = str(value).strip().lower()
    text = _LEVEL_WORDS.sub(" ", text)
    return re.sub(r"[\s\-_.,'’()（）]+", "", text)


@lru_cache(maxsize=1)
def provinces() -> pd.DataFrame:
    """The 34 provincial-level units with code, names, territory and a point.

    Columns: ``province_code`` (6-digit string), ``province`` (official full
    name), ``province_short``, ``province_abbr`` (one character),
    ``province_en``, ``aliases`` (``|``-separated), ``territory`` (default
    sales territory), ``lat``, ``lon`` (capital, WGS-84 within ~500 m).
    """
    table = pd.read_csv(_PROVINCE_FILE, dtype=str, keep_default_na=False)
    table = table.rename(
        columns={
            "code": "province_code",
            "name": "province",
            "short": "province_short",
            "abbr": "province_abbr",
            "en": "province_en",
        }
    )
    points = _adcodes().query("level == 'province'")[["province_code", "lat", "lon"]]
    return table.merge(points, on="province_code", how="left", validate="1:1")


@lru_cache(maxsize=1)
def _adcodes() -> pd.DataFrame:
    path = resources.files("cpca").joinpath("resources", "adcodes.csv")
    with resources.as_file(path) as file:
        raw = pd.read_csv(file, dtype={"adcode": str})
    code = raw["adcode"].str[:6]
    level = np.select(
        [code.str[2:] == "0000", code.str[4:] == "00"], ["province", "city"], "district"
    )
    return pd.DataFrame(
        {
            "code": code,
            "name": raw["name"],
            "level": level,
            "province_code": code.str[:2] + "0000",
            "city_code": code.str[:4] + "00",
            "lat": raw["latitude"].astype(float),
            "lon": raw["longitude"].astype(float),
        }
    )


@lru_cache(maxsize=1)
def cities() -> pd.DataFrame:
    """Prefecture-level cities (and the four municipalities as one city each).

    Columns: ``city_code``, ``city``, ``province_code``, ``province``, ``lat``,
    ``lon``. County-level cities directly under a province (e.g. in Hainan or
    Henan) are not listed.
    """
    codes = _adcodes()
    placeholders = ["市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"]
    prefecture = codes[(codes["level"] == "city") & ~codes["name"].isin(placeholders)
                       & codes["lat"].notna()]
    municipal = codes.query(
        "level == 'province' and province_code in ['110000','120000','310000','500000']"
    ).assign(city_code=lambda d: d["code"].str[:2] + "0100")
    table = pd.concat([prefecture, municipal], ignore_index=True)
    names = provinces().set_index("province_code")["province"]
    return (
        table.assign(province=table["province_code"].map(names))
        .rename(columns={"name": "city"})
        .loc[:, ["city_code", "city", "province_code", "province", "lat", "lon"]]
        .sort_values("city_code", ignore_index=True)
    )


@lru_cache(maxsize=1)
def _province_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    for row in provinces().itertuples(index=False):
        names = [row.province, row.province_short, row.province_abbr, row.province_en,
                 row.province_code, *row.aliases.split("|")]
        for name in names:
            if name:
                lookup.setdefault(normalise_key(name), row.province)
    return lookup


def _resolve_province_text(value: str) -> tuple[str | None, str]:
    key = normalise_key(value)
    if not key:
        return None, "missing"
    lookup = _province_lookup()
    if key in lookup:
        return lookup[key], "name"
    # A Chinese string that starts with a province name (an address, 广东深圳...).
    for full_or_short in sorted(lookup, key=len, reverse=True):
        if len(full_or_short) >= 2 and not full_or_short.isascii() and key.startswith(full_or_short):
            return lookup[full_or_short], "prefix"
    return None, "unresolved"


def resolve_provinces(values: pd.Series) -> pd.DataFrame:
    """Resolve raw province spellings to canonical province records.

    Parameters
    ----------
    values : Series
        Raw spellings: 广东省, 广东, 粤, Guangdong, "Guangdong Sheng", GD, codes.

    Returns
    -------
    DataFrame
        Indexed like ``values`` with ``province`` (official name or NA),
        ``province_code``, ``province_en`` and ``province_match`` (``name``,
        ``prefix``, ``missing`` or ``unresolved``).
    """
    distinct = pd.Series(values.dropna().astype(str).unique())
    resolved = {v: _resolve_province_text(v) for v in distinct}
    table = provinces().set_index("province")
    canonical = values.map(lambda v: resolved.get(str(v), (None, "missing"))[0]
                           if pd.notna(v) else None)
    match = values.map(lambda v: resolved.get(str(v), (None, "missing"))[1]
                       if pd.notna(v) else "missing")
    canonical = canonical.astype("string")
    return pd.DataFrame(
        {
            "province": canonical,
            "province_code": canonical.map(table["province_code"]).astype("string"),
            "province_en": canonical.map(table["province_en"]).astype("string"),
            "province_match": match.astype("string"),
        },
        index=values.index,
    )


@lru_cache(maxsize=1)
def _city_lookup() -> pd.DataFrame:
    table = cities()
    short = table["city"].str.replace(r"(市|地区|盟|自治州|.族.*自治州)$", "", regex=True)
    keys = pd.concat(
        [table.assign(key=table["city"]), table.assign(key=short)], ignore_index=True
    )
    return keys.drop_duplicates(["key", "province"])


def resolve_cities(frame: pd.DataFrame, *, city: str = "city",
                   province: str = "province") -> pd.DataFrame:
    """Resolve raw city names, using the (already resolved) province to disambiguate.

    Returns a frame indexed like ``frame`` with ``city`` (official name or NA),
    ``city_code``, ``city_lat``, ``city_lon`` and ``city_match`` (``name``,
    ``missing``, ``ambiguous`` when the name exists in several provinces and
    none was given, ``unresolved``).
    """
    lookup = _city_lookup()
    pairs = frame[[city, province]].astype("string").drop_duplicates()
    rows = []
    for raw_city, prov in pairs.itertuples(index=False):
        key = "" if pd.isna(raw_city) else str(raw_city).strip()
        hits = lookup[lookup["key"] == key] if key else lookup.iloc[0:0]
        if not key:
            status = "missing"
        elif not pd.isna(prov) and (hits["province"] == prov).any():
            hits, status = hits[hits["province"] == prov], "name"
        elif len(hits) == 1 and pd.isna(prov):
            status = "name"
        elif len(hits) > 1 and pd.isna(prov):
            status = "ambiguous"
        else:
            status = "unresolved"
        hit = hits.iloc[0] if status == "name" else None
        rows.append(
            {
                "_raw_city": raw_city,
                "_raw_province": prov,
                "city": None if hit is None else hit["city"],
                "city_code": None if hit is None else hit["city_code"],
                "city_lat": np.nan if hit is None else hit["lat"],
                "city_lon": np.nan if hit is None else hit["lon"],
                "city_match": status,
            }
        )
    mapping = pd.DataFrame(rows, columns=["_raw_city", "_raw_province", "city", "city_code",
                                          "city_lat", "city_lon", "city_match"])
    keys = frame[[city, province]].astype("string").set_axis(["_raw_city", "_raw_province"], axis=1)
    merged = keys.merge(mapping, on=["_raw_city", "_raw_province"], how="left")
    merged.index = frame.index
    return merged.drop(columns=["_raw_city", "_raw_province"]).astype(
        {"city": "string", "city_code": "string", "city_match": "string"}
    )
