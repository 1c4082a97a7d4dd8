"""Marketing spend in the analysis period and the return on it, per region."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from helpers.analysis.ratios import safe_ratio
from helpers.period import Period

__all__ = ["marketing_roi"]


def _quarter_bounds(quarter: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``'2024Q1'`` -> (first day, last day) of the quarter; ValueError otherwise."""
    text = str(quarter).strip().upper()
    if not re.fullmatch(r"\d{4}Q[1-4]", text):
        raise ValueError(f"not a quarter: {quarter!r}")
    quarter = pd.Period(text, freq="Q")
    return quarter.start_time.normalize(), quarter.end_time.normalize()


def marketing_roi(kpis: pd.DataFrame, spend: pd.DataFrame | None, *, period: Period,
                  region_of_province: pd.Series | None = None) -> pd.DataFrame:
    """Add marketing spend in the period and ROI (revenue per CNY of spend) to KPI rows.

    Spend is recorded per province and quarter (``2024Q1``); a quarter that
    only partly overlaps the period counts by the share of its days inside
    it. Regions above province level (territories) get the spend of their
    provinces through ``region_of_province``. For cities there is no spend
    (the columns are NaN).

    Parameters
    ----------
    kpis : DataFrame
        :func:`helpers.analysis.kpis.region_kpis` output (``region``, ``revenue``).
    spend : DataFrame or None
        Canonical spend: ``province``, ``period``, ``amount``.
    period : Period
        The analysis period.
    region_of_province : Series, optional
        Province -> KPI region (e.g. its territory); default: the province itself.

    Returns
    -------
    DataFrame
        ``kpis`` with ``marketing_spend`` (CNY in the period; NaN when the
        region has no spend record) and ``roi`` (``revenue /
        marketing_spend``; NaN when spend is not positive).

    Raises
    ------
    ValueError
        When a ``period`` is not a quarter like ``2024Q1`` (the row is named).
    """
    if spend is None or spend.empty or "province" not in spend.columns:
        return kpis.assign(marketing_spend=np.nan, roi=np.nan)
    first_day, last_day = period.first_day, period.end
    amounts = []
    for row, (quarter, amount) in enumerate(zip(spend["period"], spend["amount"],
                                                strict=True)):
        try:
            q_start, q_end = _quarter_bounds(quarter)
        except ValueError:
            raise ValueError(f"spend row {row + 1}: period must be a quarter like 2024Q1, "
                             f"got {quarter!r}") from None
        overlap = (min(q_end, last_day) - max(q_start, first_day)).days + 1
        days = (q_end - q_start).days + 1
        amounts.append(float(amount) * max(overlap, 0) / days)
    region = spend["province"]
    if region_of_province is not None:
        region = region.map(region_of_province)
    per_region = pd.Series(amounts, index=spend.index).groupby(region.to_numpy()).sum()
    spent = kpis["region"].map(per_region).astype(float)
    return kpis.assign(marketing_spend=spent, roi=safe_ratio(kpis["revenue"], spent))
