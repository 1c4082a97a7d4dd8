"""How concentrated a total is across units: Gini, HHI, the top 20% and the Lorenz curve.

Numbers only; :mod:`helpers.text.narrative.concentration` puts them into words.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["nonnegative", "concentration", "lorenz"]


def nonnegative(values: pd.Series | Sequence[float]) -> np.ndarray:
    """Unit totals as floats with missing values 0 and negative ones (net returns) 0."""
    array = np.asarray(pd.Series(values, dtype=float).fillna(0.0), dtype=float)
    return np.clip(array, 0.0, None)


def concentration(values: pd.Series | Sequence[float]) -> dict[str, float | int]:
    """How concentrated a total is across units (regions, customers, ...).

    Negative unit totals (net returns) are clipped to 0 and missing values
    count as 0; every unit passed counts in ``n``.

    Parameters
    ----------
    values : Series or sequence of float
        One total per unit.

    Returns
    -------
    dict
        - ``n``: number of units
        - ``total``: sum after clipping
        - ``top20_share``: share of the total held by the top ``ceil(0.2 * n)``
          units
        - ``gini``: ``sum_i (2 i - n - 1) x_(i) / (n * sum x)`` with ``x``
          sorted ascending and ``i = 1..n``; equal to the mean absolute
          difference over all ordered pairs divided by twice the mean. This
          is the population definition without the ``n / (n - 1)`` small
          sample correction, so one unit holding everything among ``n`` gives
          ``(n - 1) / n`` (0.75 for n = 4), not 1.
        - ``hhi``: sum of squared shares, from ``1 / n`` (even) to 1
        - ``top_k_for_80``: smallest number of units that together hold at
          least 80% of the total

        With a zero total the shares and ``gini`` are NaN and
        ``top_k_for_80`` is 0.
    """
    x = np.sort(nonnegative(values))
    n = int(x.size)
    total = float(x.sum())
    if n == 0 or total <= 0:
        return {"n": n, "total": total, "top20_share": math.nan, "gini": math.nan,
                "hhi": math.nan, "top_k_for_80": 0}
    ranks = np.arange(1, n + 1)
    gini = float(np.sum((2 * ranks - n - 1) * x) / (n * total))
    shares = x / total
    descending = shares[::-1]
    top20 = math.ceil(0.2 * n)
    cumulative = np.cumsum(descending)
    top_k = int(np.searchsorted(cumulative, 0.8 - 1e-12, side="left") + 1)
    return {
        "n": n,
        "total": total,
        "top20_share": float(descending[:top20].sum()),
        "gini": gini,
        "hhi": float(np.sum(shares**2)),
        "top_k_for_80": min(top_k, n),
    }


def lorenz(values: pd.Series | Sequence[float]) -> pd.DataFrame:
    """Points of the Lorenz curve, units sorted from smallest to largest.

    Returns
    -------
    DataFrame
        ``n + 1`` rows of ``cum_units_share`` and ``cum_value_share``, from
        (0, 0) to (1, 1). Negative values are clipped to 0; with a zero total
        ``cum_value_share`` is NaN after the first point.
    """
    x = np.sort(nonnegative(values))
    n = x.size
    total = x.sum()
    cum_values = np.concatenate([[0.0], np.cumsum(x)])
    value_share = cum_values / total if total > 0 else np.r_[0.0, np.full(n, np.nan)]
    units = np.arange(n + 1) / n if n else np.array([0.0])
    return pd.DataFrame({"cum_units_share": units, "cum_value_share": value_share})
