"""Chinese place names in any spelling resolved to canonical records: province, city, district.

Names, pinyin, English and free-text addresses (广东省深圳市南山区科技园, 深圳市,
"Nanshan District, Shenzhen", Guangdong, 粤 ...) are looked up in China's gazetteer
(:mod:`helpers.geo.china`); what is not a bare name is parsed as an address by
``cpca`` and checked against the text.

Resolution works on *distinct* values and maps back, so millions of rows cost
as much as the number of different spellings. Nothing is guessed: a name that
exists in several places and has no province to tell them apart is reported
``ambiguous``; a name not found is ``unresolved``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import numpy as np
import pandas as pd

from helpers.geo.china import (
    CJK,
    DISTRICT_SUFFIX,
    MUNICIPALITIES,
    ascii_fold,
    cities,
    cities_by_code,
    city_keys,
    district_keys,
    districts_by_code,
    exact_aliases,
    lookup_city,
    lookup_district,
    normalise_key,
    pick_city,
    province_lookup,
    province_of_text,
    provinces,
    short_city,
)

_EMPTY = {"province": None, "city_code": None, "district_code": None, "match": "missing"}


def _resolve_latin(text: str) -> dict:
    """English or pinyin: tokens split on commas are tried as province, city, district."""
    folded = ascii_fold(unicodedata.normalize("NFKC", text))
    exact = exact_aliases().get(" ".join(folded.lower().split()))
    if exact is not None:
        return {"province": cities_by_code().at[exact, "province"], "city_code": exact,
                "district_code": None, "match": "city"}
    parts = [p for p in re.split(r"[,/;|，、]+", folded) if normalise_key(p)]
    if len(parts) == 1:  # "Shenzhen Guangdong" or "Guangdong Shenzhen"
        words = parts[0].split()
        for cut in range(1, len(words)):
            left, right = " ".join(words[:cut]), " ".join(words[cut:])
            if province_of_text(left) or province_of_text(right):
                parts = [left, right]
                break
    province = None
    rest = []
    for part in parts:
        found = province_of_text(part)
        if found and province is None:
            province = found
        else:
            rest.append(part)
    if province is None and not rest:
        return dict(_EMPTY, match="unresolved")
    city_code, district_code, status = None, None, "province" if province else "unresolved"
    leftover = []
    for part in rest:
        key = normalise_key(part)
        district_word = re.compile(r"\b(district|qu|county|xian)\b")
        named_district = (district_word.search(part.lower()) is not None
                          and district_word.sub("", part.lower()).strip() != "")
        if city_code is None and not named_district:
            code, how = lookup_city(key, province)
            if code is not None:
                city_code = code
                province = province or cities_by_code().at[code, "province"]
                status = "city"
                continue
            if how == "ambiguous":
                status = "ambiguous"
        leftover.append((key, named_district))
    for key, named_district in leftover:
        if city_code is None and province is None and not named_district:
            continue  # a bare pinyin word is not taken for a district without context
        code, how = lookup_district(key, city_code, province)
        if code is not None:
            district_code = code
            row = districts_by_code().loc[code]
            city_code, province = row["city_code"], row["province"]
            status = "district"
        elif how == "ambiguous" and status == "unresolved":
            status = "ambiguous"
    if province is None:
        return dict(_EMPTY, match=status if status == "ambiguous" else "unresolved")
    return {"province": province, "city_code": city_code, "district_code": district_code,
            "match": status}


def _resolve_chinese_names(text: str) -> dict | None:
    """A bare province, city or district name (with or without its level word)."""
    key = normalise_key(text)
    province = province_lookup().get(key)
    if province is not None:
        return {"province": province, "city_code": None, "district_code": None,
                "match": "province"}
    primary, _ = city_keys()
    if key in primary:
        code, how = pick_city(primary[key], None)
        if code is not None:
            return {"province": cities_by_code().at[code, "province"], "city_code": code,
                    "district_code": None, "match": "city"}
        return dict(_EMPTY, match=how)
    codes = district_keys().get(key, [])
    if codes and DISTRICT_SUFFIX.search(text.strip()):
        if len(codes) == 1:
            row = districts_by_code().loc[codes[0]]
            return {"province": row["province"], "city_code": row["city_code"],
                    "district_code": codes[0], "match": "district"}
        return dict(_EMPTY, match="ambiguous")
    return None


@lru_cache(maxsize=1)
def _province_prefixes() -> list[tuple[str, str]]:
    """(written prefix, official name), longest first: 内蒙古自治区, 内蒙古, 内蒙, 广东 ..."""
    pairs = {}
    for row in provinces().itertuples(index=False):
        names = [row.province, row.province_short] + [
            a for a in row.aliases.split("|") if CJK.search(a) and len(a) >= 2]
        for name in names:
            pairs.setdefault(name, row.province)
    return sorted(pairs.items(), key=lambda p: -len(p[0]))


@lru_cache(maxsize=64)
def _cities_starting(prefix: str) -> tuple[str, ...]:
    names = cities()["city"]
    return tuple(n for n in names if n.startswith(prefix) and len(n) > len(prefix) + 1)


def _expand_province(text: str) -> str:
    """Write a leading short province name in full (陕西安康 -> 陕西省安康), so that
    the parser does not read a city across the seam (陕[西安]康)."""
    for prefix, official in _province_prefixes():
        if text.startswith(prefix):
            # 海南藏族自治州, 吉林市: a city whose name starts like a province.
            if any(text.startswith(c) for c in _cities_starting(prefix)):
                return text
            rest = text[len(prefix):]
            if prefix == official or official.startswith(prefix + rest[:1]):
                return text
            # 广西壮族自治区, 内蒙古自治区: the level words may follow the short name.
            for tail in ("壮族自治区", "回族自治区", "维吾尔自治区", "自治区", "特别行政区", "省", "市"):
                if rest.startswith(tail):
                    rest = rest[len(tail):]
                    break
            return official + rest
    return text


def _cpca_rows(texts: list[str]) -> list[dict]:
    """Parse Chinese addresses with cpca, then check what it found against the text."""
    import cpca

    if not texts:
        return []
    texts = [_expand_province(t) for t in texts]
    parsed = cpca.transform(texts)
    city_table = cities_by_code()
    district_table = districts_by_code()
    rows = []
    for text, rec in zip(texts, parsed.itertuples(index=False), strict=True):
        prov, city, dist, rest, adcode = rec
        if pd.isna(prov):
            rows.append(dict(_EMPTY, match="unresolved"))
            continue
        code = str(adcode)
        city_code = district_code = None
        province = str(prov)
        if province == "台湾省" or province.endswith("特别行政区"):
            rows.append({"province": province, "city_code": None, "district_code": None,
                         "match": "province"})
            continue
        if pd.notna(dist) and code in district_table.index:
            district_code = code
            city_code = district_table.at[code, "city_code"]
        elif pd.notna(dist) and code in city_table.index:  # 济源市 under 省直辖
            city_code = code
        elif pd.notna(city):
            city_code = code[:4] + "00" if code[:4] + "00" in city_table.index else None
        # cpca picks one city for a bare district name found in several: report ambiguous.
        if district_code is not None:
            prov_named = any(n in text for n in _province_names(province))
            city_named = any(n in text for n in _city_names(city_code))
            if not prov_named and not city_named:
                key = normalise_key(district_table.at[district_code, "district"])
                if len(district_keys().get(key, [])) > 1:
                    rows.append(dict(_EMPTY, match="ambiguous"))
                    continue
        # A city cpca does not know (an old name: 湖北襄樊).
        if city_code is None and isinstance(rest, str) and rest:
            primary = city_keys()[0]
            for size in (4, 3, 2):
                codes = [c for c in primary.get(normalise_key(rest[:size]), [])
                         if city_table.at[c, "province"] == province]
                if len(codes) == 1:
                    city_code, rest = codes[0], rest[size:]
                    break
        # A district cpca could not see because its level word is missing (北京海淀).
        if district_code is None and isinstance(rest, str) and rest:
            for size in (4, 3, 2):
                code2, how = lookup_district(normalise_key(rest[:size]), city_code, province)
                if code2 is not None:
                    district_code = code2
                    city_code = district_table.at[code2, "city_code"]
                    break
        match = "district" if district_code else "city" if city_code else "province"
        rows.append({"province": province, "city_code": city_code,
                     "district_code": district_code, "match": match})
    return rows


@lru_cache(maxsize=64)
def _province_names(province: str) -> tuple[str, ...]:
    row = provinces().set_index("province").loc[province]
    return (province, row["province_short"])


@lru_cache(maxsize=4096)
def _city_names(city_code: str | None) -> tuple[str, ...]:
    if city_code is None:
        return ()
    name = cities_by_code().at[city_code, "city"]
    return (name, short_city(name))


def _resolve_one(text: str) -> dict | None:
    """Resolve without cpca when possible; None means: parse as an address."""
    clean = unicodedata.normalize("NFKC", text).strip()
    if not clean:
        return dict(_EMPTY)
    if not CJK.search(clean):
        return _resolve_latin(clean)
    return _resolve_chinese_names(clean)


def _records(values: pd.Series) -> pd.DataFrame:
    """Resolve distinct strings; one row per distinct value, indexed by the value."""
    distinct = pd.Index(values.dropna().astype(str).unique())
    found: dict[str, dict] = {}
    addresses = []
    for value in distinct:
        rec = _resolve_one(value)
        if rec is None:
            addresses.append(value)
        else:
            found[value] = rec
    cleaned = [re.sub(r"[\s,，、/|]+", "", unicodedata.normalize("NFKC", v)) for v in addresses]
    for value, rec in zip(addresses, _cpca_rows(cleaned), strict=True):
        found[value] = rec
    table = pd.DataFrame.from_dict(found, orient="index",
                                   columns=["province", "city_code", "district_code", "match"])
    return table


def resolve_places(values: pd.Series) -> pd.DataFrame:
    """Resolve free-text Chinese places (names, pinyin, English or addresses).

    Parameters
    ----------
    values : Series
        Any spelling: 广东省深圳市南山区科技园, 深圳市, "Nanshan District, Shenzhen",
        Guangdong, 粤 ...

    Returns
    -------
    DataFrame
        Indexed like ``values``: ``province``, ``province_code``, ``city``,
        ``city_code``, ``district``, ``district_code``, ``lat``, ``lon`` (the
        finest level found) and ``place_match`` (``district``, ``city``,
        ``province``, ``ambiguous``, ``unresolved`` or ``missing``).
    """
    table = _records(values)
    codes, uniques = pd.factorize(values.astype("string"))
    rec = table.reindex(pd.Index(uniques.astype(str)))
    prov_table = provinces().set_index("province")
    city_table = cities_by_code()
    district_table = districts_by_code()
    city_code = rec["city_code"].astype("string")
    # A municipality is its own (and only) city: 北京 -> 北京市 / 北京市.
    municipal = rec["province"].map(prov_table["province_code"]).isin(MUNICIPALITIES)
    city_code = city_code.mask(municipal & city_code.isna(),
                               rec["province"].map(prov_table["province_code"]).str[:2] + "0100")
    out = pd.DataFrame({
        "province": rec["province"].astype("string"),
        "city_code": city_code.astype("string"),
        "district_code": rec["district_code"].astype("string"),
        "place_match": rec["match"].fillna("missing").astype("string"),
    }).reset_index(drop=True)
    # A county-level city under its province is the city itself, not also a district.
    same = (out["district_code"] == out["city_code"]).fillna(False)
    out = out.assign(district_code=out["district_code"].mask(same),
                     place_match=out["place_match"].mask(same, "city"))
    out = out.assign(
        province_code=out["province"].map(prov_table["province_code"]).astype("string"),
        city=out["city_code"].map(city_table["city"]).astype("string"),
        district=out["district_code"].map(district_table["district"]).astype("string"),
    )
    lat = out["district_code"].map(district_table["lat"]).fillna(
        out["city_code"].map(city_table["lat"])).fillna(out["province"].map(prov_table["lat"]))
    lon = out["district_code"].map(district_table["lon"]).fillna(
        out["city_code"].map(city_table["lon"])).fillna(out["province"].map(prov_table["lon"]))
    out = out.assign(lat=lat.astype("float64"), lon=lon.astype("float64"))
    columns = ["province", "province_code", "city", "city_code", "district", "district_code",
               "lat", "lon", "place_match"]
    missing_row = pd.DataFrame([{c: pd.NA for c in columns}]).assign(
        place_match="missing", lat=np.nan, lon=np.nan)
    full = pd.concat([out[columns], missing_row[columns]], ignore_index=True)
    return take_rows(full, np.where(codes < 0, len(out), codes), values.index)


def resolve_provinces(values: pd.Series) -> pd.DataFrame:
    """Resolve raw province spellings to canonical province records.

    Parameters
    ----------
    values : Series
        Raw spellings: 广东省, 广东, 粤, Guangdong, "Guangdong Sheng", GD, codes,
        or an address that starts with one (广东深圳南山区).

    Returns
    -------
    DataFrame
        Indexed like ``values`` with ``province`` (official name or NA),
        ``province_code``, ``province_en`` and ``province_match`` (``name``,
        ``prefix``, ``missing`` or ``unresolved``).
    """
    codes, uniques = pd.factorize(values.astype("string"))
    distinct = pd.Series(uniques.astype(str))
    direct = distinct.map(lambda v: province_of_text(v) if normalise_key(v) else None)
    match = pd.Series(np.where(direct.notna(), "name", "unresolved"), dtype=object)
    match[distinct.map(normalise_key) == ""] = "missing"
    todo = direct.isna() & (match != "missing")
    if todo.any():
        places = resolve_places(distinct[todo])
        direct[todo] = places["province"].astype(object).where(places["province"].notna(), None)
        match[todo & direct.notna()] = "prefix"
    table = provinces().set_index("province")
    province = pd.Series(direct.to_numpy(), dtype="string")
    frame = pd.DataFrame({
        "province": province,
        "province_code": province.map(table["province_code"]).astype("string"),
        "province_en": province.map(table["province_en"]).astype("string"),
        "province_match": pd.Series(match.to_numpy(), dtype="string"),
    })
    missing = pd.DataFrame({"province": [pd.NA], "province_code": [pd.NA], "province_en": [pd.NA],
                            "province_match": ["missing"]}).astype("string")
    full = pd.concat([frame, missing], ignore_index=True)
    return take_rows(full, np.where(codes < 0, len(frame), codes), values.index)


def resolve_cities(frame: pd.DataFrame, *, city: str = "city",
                   province: str = "province") -> pd.DataFrame:
    """Resolve raw city names, using the (already resolved) province to disambiguate.

    Parameters
    ----------
    frame : DataFrame
        With the raw ``city`` column and the official ``province`` name (or NA).

    Returns
    -------
    DataFrame
        Indexed like ``frame`` with ``city`` (official name or NA), ``city_code``,
        ``city_lat``, ``city_lon``, ``district``, ``district_code`` (when the
        value named one, 深圳市南山区) and ``city_match`` (``name``, ``missing``,
        ``ambiguous`` when the name exists in several provinces and none was given,
        ``unresolved``).
    """
    pairs = frame[[city, province]].astype("string")
    codes, uniques = pd.factorize(pd.MultiIndex.from_frame(pairs))
    rows = []
    for raw_city, prov in uniques:
        prov = None if pd.isna(prov) else str(prov)
        text = "" if pd.isna(raw_city) else unicodedata.normalize("NFKC", str(raw_city)).strip()
        rows.append(_city_row(text, prov))
    columns = ["city_code", "district_code", "city_match"]
    table = pd.DataFrame(rows, columns=columns)
    missing = pd.DataFrame([{"city_code": None, "district_code": None, "city_match": "missing"}])
    taken = pd.concat([table, missing], ignore_index=True)  # one row per distinct pair
    city_table = cities_by_code()
    district_table = districts_by_code()
    out = pd.DataFrame({
        "city": taken["city_code"].map(city_table["city"]),
        "city_code": taken["city_code"],
        "city_lat": taken["city_code"].map(city_table["lat"]).astype("float64"),
        "city_lon": taken["city_code"].map(city_table["lon"]).astype("float64"),
        "district": taken["district_code"].map(district_table["district"]),
        "district_code": taken["district_code"],
        "district_lat": taken["district_code"].map(district_table["lat"]).astype("float64"),
        "district_lon": taken["district_code"].map(district_table["lon"]).astype("float64"),
        "city_match": taken["city_match"],
    })
    return take_rows(out, np.where(codes < 0, len(table), codes), frame.index)


def take_rows(table: pd.DataFrame, positions: np.ndarray, index: pd.Index) -> pd.DataFrame:
    """The rows of ``table`` (one per distinct value) at ``positions``, indexed by
    ``index``: floats as float64, everything else as text (``string``), taken by NumPy and
    Arrow without a Python object per row (5.6M customers at 100M order lines)."""
    import pyarrow as pa

    columns = {}
    for name, col in table.items():
        if col.dtype.kind == "f":
            columns[name] = col.to_numpy(dtype="float64")[positions]
        else:
            text = pa.array(col.astype("string").to_numpy(dtype=object, na_value=None),
                            type=pa.string())
            columns[name] = pd.arrays.ArrowStringArray(text.take(positions))
    return pd.DataFrame(columns, index=index)


def _city_row(text: str, province: str | None) -> dict:
    if not text:
        return {"city_code": None, "district_code": None, "city_match": "missing"}
    key = normalise_key(ascii_fold(text) if not CJK.search(text) else text)
    code, how = lookup_city(key, province)
    if code is not None:
        return {"city_code": code, "district_code": None, "city_match": "name"}
    # An address or "city district" string: parse it, accept when it agrees with the province.
    place = resolve_places(pd.Series([text if province is None or not CJK.search(text)
                                       else province + text]))
    rec = place.iloc[0]
    if pd.notna(rec["city_code"]) and (province is None or rec["province"] == province):
        if province is None and rec["place_match"] == "ambiguous":
            return {"city_code": None, "district_code": None, "city_match": "ambiguous"}
        return {"city_code": rec["city_code"],
                "district_code": None if pd.isna(rec["district_code"]) else rec["district_code"],
                "city_match": "name"}
    if how == "ambiguous" or rec["place_match"] == "ambiguous":
        return {"city_code": None, "district_code": None, "city_match": "ambiguous"}
    return {"city_code": None, "district_code": None, "city_match": "unresolved"}


def nearest_names(value: str, n: int = 3) -> list[str]:
    """Up to ``n`` gazetteer names closest in spelling to ``value`` (for reports)."""
    import difflib

    names = list(province_lookup()) + list(city_keys()[0])
    key = normalise_key(value)
    close = difflib.get_close_matches(key, names, n=n * 3, cutoff=0.6)
    labels = []
    primary = city_keys()[0]
    for name in close:
        label = province_lookup().get(name)
        if label is None and name in primary:
            label = "/".join(cities_by_code().at[c, "city"] for c in primary[name][:2])
        if label and label not in labels:
            labels.append(label)
    return labels[:n]
