"""Sales territories: their English names and which provinces each one holds.

Territories are the user's grouping of provinces (``geography.territories`` in
``workbook.yaml``: 华东, 华南, EMEA ...). The default Chinese territories have the
English names of :data:`TERRITORY_EN`; any other territory is called by its own
name in both languages.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from helpers import geo
from helpers.config import Config

__all__ = ["TERRITORY_EN", "RegionError", "territory_en", "territory_map"]

#: English names of the usual Chinese sales territories. They name the territory in
#: English reports, the index page and the report folders (``southwest``), so they
#: must not change between runs (a run is compared with an earlier one by folder).
TERRITORY_EN = {
    "华东": "East China", "华南": "South China", "华北": "North China",
    "华中": "Central China", "西南": "Southwest", "西北": "Northwest", "东北": "Northeast",
}


class RegionError(ValueError):
    """A region that cannot be resolved: a name that is neither ALL, a configured
    territory nor a province, or a territory listing an unknown province."""


def territory_en(name: str) -> str:
    """The English name of territory ``name`` (its own name when it has none)."""
    return TERRITORY_EN.get(name, name)


def territory_map(config: Config) -> pd.DataFrame:
    """Province -> territory from ``geography.territories`` (names resolved).

    Returns
    -------
    DataFrame
        ``province`` (official name) and ``territory``, one row per listed province.

    Raises
    ------
    RegionError
        Naming the config key when a listed province is unknown or listed twice.

    Resolved once per process for the same territories (every notebook parses its region
    and each resolution reads the gazetteer): each call gets its own copy.
    """
    listed = tuple((territory, tuple(names))
                   for territory, names in config.geography.territories.items())
    return _territory_map(config.config_path, config.geography.country, listed).copy()


@lru_cache(maxsize=8)
def _territory_map(config_path, country: str, listed: tuple) -> pd.DataFrame:
    rows = []
    for territory, names in listed:
        resolved = geo.resolve_provinces(pd.Series(list(names), dtype="string"), country)
        bad = [n for n, p in zip(names, resolved["province"], strict=True) if pd.isna(p)]
        if bad:
            what = "country" if country == geo.WORLD else "province or state"
            hints = "; ".join(f"{name!r}: nearest {', '.join(geo.nearest_names(name, country)) or 'none'}"
                              for name in bad)
            raise RegionError(
                f"{config_path}: geography.territories.{territory}: unknown "
                f"{what} name(s) of {country}: {hints}"
            )
        rows += [(p, territory) for p in resolved["province"]]
    table = pd.DataFrame(rows, columns=["province", "territory"])
    dup = table[table["province"].duplicated()]
    if not dup.empty:
        raise RegionError(
            f"{config_path}: geography.territories: province(s) "
            f"{sorted(dup['province'])} listed in more than one territory"
        )
    return table
