"""The planted mess: how much of it, messy spellings of places, where duplicates go.

:func:`~samplegen.raw.write_raw` plants it; ``mess.json`` counts it.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd

from helpers import geo

PROVINCE_STYLES = ["full", "short", "english", "abbreviation", "pinyin_sheng", "letters",
                   "english_lower"]
_STYLE_SHARE = [0.55, 0.15, 0.08, 0.06, 0.06, 0.05, 0.05]
# How much mess to plant.
CRM_DUPLICATE_ROWS = 30
ORDERS_UNKNOWN_CUSTOMER = 15
ORDERS_DUPLICATE_LINES = 20
ORDERS_BAD_AMOUNT = (3, 3)          # empty, text (#VALUE!)
ERP_ONLY_SHARE = 0.02
CANCELLED_SHARE = 0.02


@lru_cache(maxsize=1)
def spellings() -> pd.DataFrame:
    """One row per province, one column per spelling style."""
    table = geo.provinces().set_index("province")
    letters = table["aliases"].str.split("|").map(
        lambda names: next((a for a in names if re.fullmatch(r"[A-Z]{2}", a)), None))
    level = np.select([table.index.str.endswith("省"), table.index.str.endswith("市")],
                      [" Sheng", " Shi"], " Zizhiqu")
    return pd.DataFrame(
        {
            "full": table.index,
            "short": table["province_short"],
            "english": table["province_en"],
            "abbreviation": table["province_abbr"],
            "pinyin_sheng": table["province_en"] + level,
            "letters": letters.fillna(table["province_en"]),
            "english_lower": table["province_en"].str.lower(),
        },
        index=table.index,
    )


def spell_provinces(rng, province: pd.Series) -> tuple[pd.Series, dict[str, int]]:
    """Each value spelled in a random style; returns the spellings and a count per style."""
    style = rng.choice(len(PROVINCE_STYLES), size=len(province), p=_STYLE_SHARE)
    table = spellings()
    out = pd.Series(pd.NA, index=province.index, dtype="string")
    counts = {}
    for k, name in enumerate(PROVINCE_STYLES):             # one vector pass per style
        mask = style == k
        out[mask] = province[mask].map(table[name]).astype("string").to_numpy()
        counts[name] = int(mask.sum())
    return out, counts


def spell_cities(rng, city: pd.Series, p_missing: float, p_short: float, keep: np.ndarray):
    """Official name, the name without 市, or empty (never for rows in ``keep``).

    Returns the spellings and the masks of empty and shortened names.
    """
    u = rng.random(len(city))
    missing = (u < p_missing) & ~keep
    short = ((u >= p_missing) & (u < p_missing + p_short)
             & city.str.endswith("市").to_numpy() & ~keep)
    out = city.copy()
    out[short] = city[short].str.slice(0, -1).to_numpy()
    out[missing] = pd.NA
    return out, missing, short


def file_order(n: int, duplicates: np.ndarray, extra_position=()) -> np.ndarray:
    """Rows of a file: each duplicate right after its original, extra rows where placed.

    Parameters
    ----------
    n : int
        Number of original rows (``0..n-1``, in order).
    duplicates : ndarray of int
        Rows written twice; the copy follows the original.
    extra_position : array of float, optional
        One position per extra row (row ``n + k``): it goes after the originals whose
        index is below the position.

    Returns
    -------
    ndarray of int
        The row numbers in file order.
    """
    extra_position = np.asarray(extra_position, dtype=float)
    rows = np.concatenate([np.arange(n), duplicates, n + np.arange(len(extra_position))])
    position = np.concatenate([np.arange(n), duplicates + 0.5, extra_position])
    return rows[np.argsort(position, kind="stable")]
