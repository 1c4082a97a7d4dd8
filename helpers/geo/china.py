"""China's gazetteer: provinces, prefecture cities, districts, and the keys to look them up by name.

Province names, codes, English names and one-character abbreviations live in
``provinces.csv`` beside this file; city and district names, codes and
representative points come from the gazetteer shipped with the ``cpca``
package; pinyin spellings of cities and districts are made with ``pypinyin``;
a few English exonyms (Harbin, Urumqi, Amoy ...) are in ``city_aliases.csv``.
Everything is read once and cached.

The lookups (:func:`lookup_city`, :func:`lookup_district`, :func:`province_of_text`)
take a name key (:func:`normalise_key`) and never guess: a name found in several
places with nothing to tell them apart is ``ambiguous``. Free text (addresses,
"Nanshan District, Shenzhen") is resolved in :mod:`helpers.geo.china_places`.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
MUNICIPALITIES = ("110000", "120000", "310000", "500000")
PLACEHOLDERS = ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划")
# Suffixes that spell the administrative level in pinyin or English.
_LEVEL_WORDS = re.compile(
    r"\b(sheng|shi|province|prov|municipality|city|autonomous region|autonomous prefecture|"
    r"zizhiqu|zizhizhou|special administrative region|s\.?a\.?r|zhuang|hui|uygur|uyghur|"
    r"uighur|district|new area|new district|xinqu|qu|county|xian|prefecture|diqu|region|"
    r"pref|dist|china|prc|"
    r"people'?s republic of)\b"
)
CJK = re.compile(r"[\u3400-\u9fff]")
_NATIONALITIES = (
    "朝鲜|白|藏|彝|傣|景颇|哈尼|苗|侗|布依|土家|蒙古|哈萨克|柯尔克孜|回|壮|羌|傈僳|黎|纳西|"
    "拉祜|佤|水|仡佬|瑶|畲|毛南|仫佬|达斡尔|鄂温克|鄂伦春|满|锡伯|塔吉克|裕固|东乡|保安|撒拉|土|"
    "普米|独龙|怒|各|门巴|珞巴|基诺|布朗|阿昌|德昂|京|赫哲|俄罗斯|乌孜别克|塔塔尔"
)
_CITY_SUFFIX = re.compile(rf"((?:(?:{_NATIONALITIES})族)+自治州|自治州|市|地区|盟)$")
DISTRICT_SUFFIX = re.compile(
    rf"((?:(?:{_NATIONALITIES})族)+自治[县旗]|自治[县旗]|新区|林区|特区|区|县|市|旗)$")


def normalise_key(value: object) -> str:
    """Return a lookup key: NFKC, lower case, no spaces, punctuation or level words.

    >>> normalise_key("Guangdong Sheng")
    'guangdong'
    >>> normalise_key(" 广东省 ")
    '广东省'
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    text = unicodedata.normalize("NFKC", str(value)).strip().lower()
    key = re.sub(r"[\s\-_.,'’`()（）·•]+", "", _LEVEL_WORDS.sub(" ", text))
    # "Xian" or "Shi" alone are names, not level words.
    return key or re.sub(r"[\s\-_.,'’`()（）·•]+", "", text)


def ascii_fold(text: str) -> str:
    """Drop accents and tone marks: ``Xī'ān`` -> ``Xi'an``."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


# --------------------------------------------------------------------------- gazetteer


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
def provinces() -> pd.DataFrame:
    """The 34 provincial-level units with code, names, territory and a point.

    Columns: ``province_code`` (6-digit string), ``province`` (official full
    name), ``province_short``, ``province_abbr`` (one character),
    ``province_en``, ``aliases`` (``|``-separated), ``territory`` (default
    sales territory), ``lat``, ``lon`` (capital, WGS-84 within ~500 m).
    """
    table = pd.read_csv(HERE / "provinces.csv", dtype=str, keep_default_na=False)
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
def cities() -> pd.DataFrame:
    """Prefecture-level cities, the four municipalities as one city each, and the
    county-level cities governed directly by a province (济源市, 仙桃市 ...).

    Columns: ``city_code``, ``city``, ``province_code``, ``province``, ``lat``,
    ``lon`` (NaN for the few units the gazetteer has no point for).
    """
    codes = _adcodes()
    prefecture = codes[(codes["level"] == "city") & ~codes["name"].isin(PLACEHOLDERS)
                       & codes["lat"].notna()]
    municipal = codes[(codes["level"] == "province") & codes["province_code"].isin(
        MUNICIPALITIES)].assign(city_code=lambda d: d["code"].str[:2] + "0100")
    direct_parents = codes.loc[(codes["level"] == "city") & codes["name"].str.endswith(
        "直辖县级行政区划"), "code"]
    # Some of these have no point in cpca (定州市, 辛集市): kept, located by their province.
    direct = codes[(codes["level"] == "district") & codes["city_code"].isin(direct_parents)
                   & codes["name"].str.endswith("市")]
    direct = direct.assign(city_code=direct["code"])
    table = pd.concat([prefecture, municipal, direct], ignore_index=True)
    table = table.drop_duplicates("city_code")
    names = provinces().set_index("province_code")["province"]
    return (
        table.assign(province=table["province_code"].map(names))
        .rename(columns={"name": "city"})
        .loc[:, ["city_code", "city", "province_code", "province", "lat", "lon"]]
        .sort_values("city_code", ignore_index=True)
    )


@lru_cache(maxsize=1)
def districts() -> pd.DataFrame:
    """County-level units (districts, counties, county-level cities) under their city.

    Columns: ``district_code``, ``district``, ``city_code``, ``city``,
    ``province_code``, ``province``, ``lat``, ``lon``.
    """
    codes = _adcodes()
    rows = codes[(codes["level"] == "district") & ~codes["name"].isin(PLACEHOLDERS)].copy()
    municipal = rows["province_code"].isin(MUNICIPALITIES)
    rows.loc[municipal, "city_code"] = rows.loc[municipal, "code"].str[:2] + "0100"
    city_table = cities().set_index("city_code")
    direct = ~rows["city_code"].isin(city_table.index) & rows["code"].isin(city_table.index)
    rows.loc[direct, "city_code"] = rows.loc[direct, "code"]
    rows = rows[rows["city_code"].isin(city_table.index)]
    return pd.DataFrame({
        "district_code": rows["code"].to_numpy(),
        "district": rows["name"].to_numpy(),
        "city_code": rows["city_code"].to_numpy(),
        "city": rows["city_code"].map(city_table["city"]).to_numpy(),
        "province_code": rows["province_code"].to_numpy(),
        "province": rows["province_code"].map(
            provinces().set_index("province_code")["province"]).to_numpy(),
        "lat": rows["lat"].to_numpy(),
        "lon": rows["lon"].to_numpy(),
    }).sort_values("district_code", ignore_index=True)


# --------------------------------------------------------------------------- lookups


def _pinyin_keys(name: str) -> tuple[str, list[str]]:
    """The usual pinyin of a Chinese name, and the other readings of its characters."""
    from pypinyin import Style, lazy_pinyin, pinyin

    main = "".join(lazy_pinyin(name))
    readings = pinyin(name, style=Style.NORMAL, heteronym=True)
    others = []
    if len(readings) <= 5:
        for combo in itertools.islice(itertools.product(*readings), 16):
            key = "".join(combo)
            if key != main:
                others.append(key)
    return main, others


def short_city(name: str) -> str:
    """A city name without its level word (深圳市 -> 深圳, 延边朝鲜族自治州 -> 延边)."""
    short = _CITY_SUFFIX.sub("", name)
    return short if len(short) >= 2 else name


def _short_district(name: str) -> str:
    short = DISTRICT_SUFFIX.sub("", name)
    return short if len(short) >= 2 else name


@lru_cache(maxsize=1)
def province_lookup() -> dict[str, str]:
    """Name key (official, short, abbreviation, English, code, alias, pinyin) -> province."""
    lookup: dict[str, str] = {}
    for row in provinces().itertuples(index=False):
        names = [row.province, row.province_short, row.province_abbr, row.province_en,
                 row.province_code, *row.aliases.split("|")]
        for name in names:
            if name:
                lookup.setdefault(normalise_key(name), row.province)
        lookup.setdefault(normalise_key(_pinyin_keys(row.province_short)[0]), row.province)
    return lookup


@lru_cache(maxsize=1)
def city_keys() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Key -> city codes: (Chinese names and first readings, other pinyin readings)."""
    primary: dict[str, list[str]] = {}
    secondary: dict[str, list[str]] = {}

    def add(table, key, code):
        if key:
            codes = table.setdefault(key, [])
            if code not in codes:
                codes.append(code)

    aliases = pd.read_csv(HERE / "city_aliases.csv", dtype=str)
    for row in aliases.itertuples(index=False):
        add(primary, normalise_key(ascii_fold(row.alias)), row.city_code)
    for row in cities().itertuples(index=False):
        short = short_city(row.city)
        for name in (row.city, short):
            add(primary, normalise_key(name), row.city_code)
        main, others = _pinyin_keys(short)
        add(primary, main, row.city_code)
        for key in others:
            add(secondary, key, row.city_code)
    return primary, secondary


@lru_cache(maxsize=1)
def district_keys() -> dict[str, list[str]]:
    """Key (full or short name, pinyin) -> district codes."""
    table: dict[str, list[str]] = {}
    for row in districts().itertuples(index=False):
        short = _short_district(row.district)
        main, others = _pinyin_keys(short)
        keys = {normalise_key(row.district), normalise_key(short), main, *others}
        for key in keys:
            if key:
                table.setdefault(key, []).append(row.district_code)
    return table


@lru_cache(maxsize=1)
def _capitals() -> frozenset[str]:
    """City codes of provincial capitals (the seat a bare ambiguous name usually means)."""
    prov = provinces()
    table = cities()
    capitals = set()
    for row in prov.itertuples(index=False):
        mine = table[table["province_code"] == row.province_code]
        if len(mine):
            dist = (mine["lat"] - row.lat) ** 2 + (mine["lon"] - row.lon) ** 2
            capitals.add(mine.loc[dist.idxmin(), "city_code"])
    return frozenset(capitals)


def province_of_text(value: str) -> str | None:
    """The province ``value`` names (any spelling, accents dropped), or None."""
    key = normalise_key(value)
    lookup = province_lookup()
    if key in lookup:
        return lookup[key]
    folded = normalise_key(ascii_fold(value))
    return lookup.get(folded)


def pick_city(codes: list[str], province: str | None) -> tuple[str | None, str]:
    """One city code from candidates, using the province when given."""
    table = cities_by_code()
    if province is not None:
        inside = [c for c in codes if table.at[c, "province"] == province]
        if len(inside) == 1:
            return inside[0], "name"
        return (None, "ambiguous") if inside else (None, "conflict")
    if len(codes) == 1:
        return codes[0], "name"
    capitals = [c for c in codes if c in _capitals()]
    if len(capitals) == 1:
        return capitals[0], "name"
    return None, "ambiguous"


@lru_cache(maxsize=1)
def cities_by_code() -> pd.DataFrame:
    """:func:`cities` indexed by ``city_code``."""
    return cities().set_index("city_code")


@lru_cache(maxsize=1)
def districts_by_code() -> pd.DataFrame:
    """:func:`districts` indexed by ``district_code``."""
    return districts().set_index("district_code")


def lookup_city(key: str, province: str | None) -> tuple[str | None, str]:
    """The city code a name key means (within ``province`` when given) and how it was
    found: ``(code, "name")``, or ``(None, "ambiguous" | "conflict" | "unresolved")``."""
    primary, secondary = city_keys()
    if key in primary:
        return pick_city(primary[key], province)
    if key in secondary:
        return pick_city(secondary[key], province)
    return None, "unresolved"


@lru_cache(maxsize=1)
def _district_parents() -> dict[str, tuple[str, str]]:
    """District code -> (city code, province)."""
    table = districts()
    return dict(zip(table["district_code"], zip(table["city_code"], table["province"],
                                                strict=True), strict=True))


def lookup_district(key: str, city_code: str | None,
                    province: str | None) -> tuple[str | None, str]:
    """The district code a name key means (within ``city_code`` or ``province`` when
    given), as :func:`lookup_city` answers."""
    codes = district_keys().get(key, [])
    if not codes:
        return None, "unresolved"
    parents = _district_parents()
    if city_code is not None:
        codes = [c for c in codes if parents[c][0] == city_code]
    elif province is not None:
        codes = [c for c in codes if parents[c][1] == province]
    if len(codes) == 1:
        return codes[0], "name"
    return None, ("ambiguous" if codes else "conflict")


@lru_cache(maxsize=1)
def exact_aliases() -> dict[str, str]:
    """English city names as written, level words included (Canton City -> 广州市)."""
    aliases = pd.read_csv(HERE / "city_aliases.csv", dtype=str)
    return {" ".join(ascii_fold(a).lower().split()): code
            for a, code in zip(aliases["alias"], aliases["city_code"], strict=True)}
