"""The region a report is about: the whole market, a territory, a province or a city.

For a country other than China (``geography.country``) a "province" is its
first-level subdivision (a Brazilian or US state); territories are optional. Cities
(prefecture-level cities, the four municipalities as one city each, and the
county-level cities a province governs directly: :func:`helpers.geo.china.cities`)
are regions of a China market only: the gazetteer has no second level elsewhere.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from helpers import geo
from helpers.config import Config
from helpers.geo.extent import extent_names
from helpers.geo.territories import RegionError, territory_en, territory_map

ALL = "ALL"
#: ``--regions`` words that stand for a list of regions (:func:`list_regions`).
KEYWORDS = ("territories", "provinces", "cities")
#: Separates a province from one of its cities (``广东:广州``) or from ``cities``.
CITY_SEPARATOR = ":"

#: pandas copies a frame only when it is changed (copy-on-write, always on from pandas 3).
_COPY_ON_WRITE = int(pd.__version__.split(".")[0]) >= 3


def slugify(text: str) -> str:
    """Folder-safe lower-case name: ``East China`` -> ``east-china``, ``São Paulo`` ->
    ``sao-paulo``; CJK is kept."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", str(text))
                     if not unicodedata.combining(c))
    slug = re.sub(r"[^\w]+", "-", unicodedata.normalize("NFKC", folded).strip().lower()).strip("-")
    return slug or "region"


@dataclass(frozen=True)
class Scope:
    """A region of the market and the provinces in it.

    Attributes
    ----------
    name : str
        ``ALL``, a territory name (华东), an official province name (广东省) or an
        official city name (广州市; city names are unique in China's gazetteer).
    kind : str
        ``all``, ``territory``, ``province`` or ``city``.
    provinces : tuple of str
        Official names of the provinces in scope (for ALL: every area of the market's
        extent, ``geography.extent``; China's 31 mainland provinces by default; for a
        city: its province).
    label_en, label_zh : str
        Headings for English and Chinese reports (a city's English name is its pinyin,
        with its province when another city is spelled the same: Suzhou (Anhui)).
    slug : str
        Folder name of the region in a run (a city's: ``guangdong-guangzhou``).
    """

    name: str
    kind: str
    provinces: tuple[str, ...]
    label_en: str
    label_zh: str
    slug: str

    @classmethod
    def parse(cls, region: str, config: Config) -> Scope:
        """Resolve ``region``: ALL, a territory, a province or, in a China market, a city.

        Any spelling of a province (广东省, 广东, 粤, Guangdong) or city (广州市, 广州,
        Guangzhou, Canton) resolves; a city may be qualified by its province
        (``广东:广州``, ``福建:Fuzhou``), which :attr:`spec` always is. A province's
        own name wins over a city spelled alike (吉林 is the province, 吉林市 the city).

        Raises
        ------
        RegionError
            Naming the region and the nearest known names when it is unknown, or the
            candidates when a city name fits several (Suzhou: 苏州市, 宿州市).
        """
        text = str(region or ALL).strip()
        country = config.geography.country
        mainland = geo.mainland(country)
        if text.upper() == ALL:
            # The words come from the text catalog, imported here: step 2 (which imports
            # this module, PREP_CODE) does not depend on them.
            from helpers.text.lookup import label

            return cls(ALL, "all", extent_names(config), label("whole_market", "en"),
                       label("whole_market", "zh"), "all")
        territories = territory_map(config)
        for name in config.geography.territories:
            english = territory_en(name)
            if text in (name, english) or slugify(text) == slugify(english):
                members = territories.loc[territories["territory"] == name, "province"]
                return cls(name, "territory", tuple(members), english, name, slugify(english))
        if CITY_SEPARATOR in text:  # after the territories: their names are the user's
            return cls._parse_qualified(text, config)
        resolved = geo.resolve_provinces(pd.Series([text], dtype="string"), country).iloc[0]
        if country == "CN" and resolved["province_match"] != "name":
            # 广州 and Guangzhou begin like 广东 and Guangdong: a city spelled so is the city.
            city = _city_named(text, None)
            if city is not None:
                return cls.city(city, config)
        if pd.isna(resolved["province"]):
            example = ("广东省, 广东, 粤, Guangdong" if country == "CN"
                       else "Germany, DE, DEU, 德国" if country == geo.WORLD else ", ".join(
                           mainland["province"].head(2).tolist()
                           + mainland["province_short"].head(1).tolist()))
            city = " or a city (广州, 广州市, Guangzhou, 广东:广州)" if country == "CN" else ""
            raise RegionError(
                f"unknown region {text!r}: expected ALL, a territory from "
                f"geography.territories ({', '.join(config.geography.territories)}), "
                f"a {'country' if country == geo.WORLD else 'province/state'} name of "
                f"{country} ({example}){city}; nearest: "
                f"{', '.join(geo.nearest_names(text, country)) or 'none'}"
            )
        province = str(resolved["province"])
        english = str(resolved["province_en"])
        chinese = province
        if country == geo.WORLD:  # a country of a world market: its Chinese name
            chinese = str(mainland.set_index("province")["province_zh"].get(province, province))
        return cls(province, "province", (province,), english, chinese, slugify(english))

    @classmethod
    def _parse_qualified(cls, text: str, config: Config) -> Scope:
        """``province:city`` (any spelling of each): the city, looked up in that province."""
        where, _, name = (part.strip() for part in text.partition(CITY_SEPARATOR))
        _china_only(config, text)
        outer = cls.parse(where, config)
        if outer.kind != "province":
            raise RegionError(f"region {text!r}: before {CITY_SEPARATOR!r} a province is "
                              f"expected (广东:广州), not {outer.kind} {outer.name!r}")
        city = _city_named(name, outer.name)
        if city is None:
            inside = _province_cities(outer.name)
            raise RegionError(
                f"unknown city {name!r} in {outer.name}: its cities are "
                f"{', '.join(inside) if len(inside) <= 25 else ', '.join(inside[:25]) + ' ...'}")
        return cls.city(city, config)

    @classmethod
    def city(cls, city: str, config: Config) -> Scope:
        """The scope of the city officially named ``city`` (广州市)."""
        from helpers.geo.romanise import romanise

        table = geo.cities().set_index("city")
        province = str(table.at[city, "province"])
        english = romanise(city)
        province_en = romanise(province)
        if english in _shared_english():
            label_en = f"{english} ({province_en})"
        else:
            label_en = english
        return cls(city, "city", (province,), label_en, city,
                   slugify(f"{province_en}-{english}"))

    @property
    def spec(self) -> str:
        """The text that :meth:`parse` turns back into this scope: the name, or for a city
        ``province:city`` (北京市 the city is not 北京市 the province). Notebooks get it as
        their ``region`` parameter and the run record keeps it."""
        if self.kind == "city":
            return f"{self.provinces[0]}{CITY_SEPARATOR}{self.name}"
        return self.name

    @property
    def sublevel(self) -> str:
        """The level regions are compared at inside this scope: provinces in the market
        and a territory, cities in a province, the city itself in a city."""
        return "city" if self.kind in ("province", "city") else "province"

    def label(self, lang: str = "en") -> str:
        return self.label_zh if lang == "zh" else self.label_en

    def filter(self, frame: pd.DataFrame, column: str = "province") -> pd.DataFrame:
        """Rows of ``frame`` whose ``column`` is a province in scope; for a city, rows of
        its province whose ``city`` is the city. A table without a ``city`` column (orders,
        marketing spend by province) has no rows of a city: filter orders by the city's
        customers (:attr:`helpers.context.Context.orders`)."""
        if self.kind == "all":  # pandas >= 3 copies on write: no copy of every line made here
            return frame.copy(deep=not _COPY_ON_WRITE)
        inside = frame[column].isin(self.provinces)
        if self.kind == "city":
            if "city" not in frame.columns:
                return frame.iloc[0:0].copy()
            inside &= frame["city"] == self.name
        return frame[inside.fillna(False).astype(bool)].copy()


def list_regions(config: Config, which: str = "territories") -> list[str]:
    """Regions of a batch, the whole market (ALL) always first, each region once.

    ``which`` is a comma-separated list of region names (any spelling :meth:`Scope.parse`
    takes) and of the words ``territories`` (each territory), ``provinces`` (each
    province of the market), ``cities`` (each city of the market, China only) and
    ``<region>:cities`` (the cities of a province or territory: ``广东:cities``).
    Cities are listed as ``province:city`` (:attr:`Scope.spec`), by province.

    Raises
    ------
    RegionError
        ``cities`` in a market outside China, or ``<region>:cities`` with a region
        that is not ALL, a territory or a province.
    """
    regions: list[str] = []
    for item in (part.strip() for part in str(which).split(",")):
        if not item:
            continue
        if item == "territories":
            regions += list(config.geography.territories)
        elif item == "provinces":
            regions += list(territory_map(config)["province"]) or list(extent_names(config))
        elif item == "cities" or item.endswith(CITY_SEPARATOR + "cities"):
            _china_only(config, item)
            where = item[: -len("cities")].rstrip(CITY_SEPARATOR).strip() or ALL
            regions += [f"{province}{CITY_SEPARATOR}{city}"
                        for province, city in _cities_of(config, where)]
        else:
            regions.append(item)
    out = [ALL]
    for region in regions:
        if region.upper() != ALL and region not in out:
            out.append(region)
    return out


def region_spec(record: dict) -> str:
    """What :meth:`Scope.parse` takes for a region of a run record (``manifest.json``):
    its name, or ``province:city`` for a city."""
    if record.get("kind") == "city" and record.get("province"):
        return f"{record['province']}{CITY_SEPARATOR}{record['region']}"
    return str(record["region"])


def _china_only(config: Config, what: str) -> None:
    country = config.geography.country
    if country != "CN":
        raise RegionError(
            f"{what!r}: cities are regions of a China market only (geography.country is "
            f"{country}); the gazetteer has no cities of {country}: use provinces"
            f"{'' if country == geo.WORLD else ' (states)'} or territories")


def _cities_of(config: Config, where: str) -> list[tuple[str, str]]:
    """(province, city) of every city in the provinces of scope ``where`` (ALL: the
    market's extent), by province in gazetteer order, then by city code."""
    scope = Scope.parse(where, config)
    if scope.kind == "city":
        raise RegionError(f"{where}{CITY_SEPARATOR}cities: {where!r} is a city; "
                          "expected ALL, a territory or a province before ':cities'")
    provinces = [p for p in extent_names(config) if p in scope.provinces]
    table = geo.cities()
    rows = []
    for province in provinces:
        rows += [(province, city) for city in table.loc[table["province"] == province, "city"]]
    return rows


def _province_cities(province: str) -> list[str]:
    table = geo.cities()
    return list(table.loc[table["province"] == province, "city"])


def _city_named(text: str, province: str | None) -> str | None:
    """The official name of the city ``text`` spells (within ``province`` when given);
    None when no city is spelled so; RegionError when several are and nothing tells
    them apart (no capital rule here: a report must be about the city the user meant)."""
    from helpers.geo import china

    value = unicodedata.normalize("NFKC", text).strip()
    key = china.normalise_key(value if china.CJK.search(value) else china.ascii_fold(value))
    primary, secondary = china.city_keys()
    codes = primary.get(key) or secondary.get(key) or []
    alias = china.exact_aliases().get(" ".join(china.ascii_fold(value).lower().split()))
    if not codes and alias is not None:
        codes = [alias]
    table = china.cities_by_code()
    if province is not None:
        codes = [c for c in codes if table.at[c, "province"] == province]
    if not codes:
        return None
    if len(codes) > 1:
        candidates = [f"{table.at[c, 'city']} ({table.at[c, 'province']})" for c in codes]
        qualified = [f"{table.at[c, 'province']}{CITY_SEPARATOR}{table.at[c, 'city']}"
                     for c in codes]
        raise RegionError(f"ambiguous city {text!r}: it may be {', '.join(candidates)}; "
                          f"name one with its province ({' or '.join(qualified)}) or in "
                          "Chinese")
    return str(table.at[codes[0], "city"])


@lru_cache(maxsize=1)
def _shared_english() -> frozenset[str]:
    """English city names that several cities share (Suzhou, Fuzhou, Taizhou ...)."""
    from helpers.geo.romanise import romanise

    names = geo.cities()["city"].map(romanise)
    return frozenset(names[names.duplicated(keep=False)])
