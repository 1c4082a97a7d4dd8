"""Small, vectorised statistics that several step-4 analyses share.

- :func:`two_by_two` tests many 2x2 tables at once (Pearson's chi-square without
  continuity correction, i.e. the two-proportion z-test), only where every expected
  count reaches ``min_expected`` (Cochran's rule); elsewhere the p-value is NaN: the
  counts do not allow a test.
- :func:`bh_adjust` corrects p-values for testing many cells at once (Benjamini-Hochberg
  false discovery rate, :func:`scipy.stats.false_discovery_control`), NaN kept as NaN.
- :func:`t_interval` gives the t-interval of a mean from count, mean and standard
  deviation (NaN below two values).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["two_by_two", "bh_adjust", "t_interval", "MIN_EXPECTED"]

#: Cochran's rule: a chi-square test only where every expected count is at least this.
MIN_EXPECTED = 5.0


def two_by_two(a, row1, col1, total, *, min_expected: float = MIN_EXPECTED) -> np.ndarray:
    """p-values of many 2x2 tables given by one cell and the margins.

    Each table is ``[[a, row1 - a], [col1 - a, total - row1 - col1 + a]]``: ``a``
    members of a group (``row1`` of them) with a trait (``col1`` of ``total`` have it).

    Parameters
    ----------
    a, row1, col1, total : array-like of numbers
        Broadcast against each other.
    min_expected : float
        The smallest expected count every cell must reach for a test.

    Returns
    -------
    ndarray of float
        Pearson's chi-square p-value (1 degree of freedom, no continuity correction,
        as :func:`scipy.stats.chi2_contingency` with ``correction=False``); NaN where
        an expected count is below ``min_expected`` or a margin is empty.
    """
    a, row1, col1, total = (np.asarray(x, dtype=float) for x in (a, row1, col1, total))
    row2, col2 = total - row1, total - col1
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.stack([row1 * col1, row1 * col2, row2 * col1, row2 * col2]) / total
        observed = np.stack([a, row1 - a, col1 - a, row2 - col1 + a])
        chi2 = ((observed - expected) ** 2 / expected).sum(axis=0)
        ok = (expected >= min_expected).all(axis=0) & (total > 0)
    return np.where(ok, stats.chi2.sf(np.where(ok, chi2, 0.0), 1), np.nan)


def bh_adjust(p) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values; NaN (no test) stays NaN and does not count
    among the tests."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    tested = ~np.isnan(p)
    if tested.any():
        out[tested] = stats.false_discovery_control(p[tested], method="bh")
    return out


def t_interval(n, mean, sd, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """The two-sided t-interval of a mean: ``mean ± t(level, n-1) · sd / √n``.

    NaN where ``n`` is below 2 (no spread to measure); a spread of 0 gives a point.
    """
    n = np.asarray(n, dtype=float)
    mean, sd = np.asarray(mean, dtype=float), np.asarray(sd, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = stats.t.ppf(0.5 + level / 2, np.where(n >= 2, n - 1, np.nan)) * sd / np.sqrt(n)
    return mean - half, mean + half


def shares(counts: pd.Series, total: pd.Series) -> pd.Series:
    """``counts / total`` as float, NaN where ``total`` is 0."""
    return counts.astype(float) / total.astype(float).where(total > 0)
