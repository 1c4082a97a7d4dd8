"""Ratios that are NaN, not infinite, where the denominator is not positive."""

from __future__ import annotations

import pandas as pd

__all__ = ["safe_ratio"]


def safe_ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """``numerator / denominator`` as float, NaN where the denominator is not positive."""
    num = numerator.astype(float)
    den = denominator.astype(float)
    return (num / den.where(den > 0)).astype(float)
