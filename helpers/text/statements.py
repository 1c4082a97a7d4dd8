"""Sentences on how concentrated a total is (the 80/20 check), in English or Chinese.

The numbers come from :func:`helpers.analysis.concentration.concentration`; this module only
puts them into words.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from helpers.analysis.concentration import concentration, nonnegative

__all__ = ["concentration_statement", "top20_statement"]


_UNITS_ZH = {
    "provinces": "个省份",
    "territories": "个大区",
    "cities": "个城市",
    "customers": "个客户",
    "partners": "个合作伙伴",
    "regions": "个区域",
}
_SINGULAR = {
    "provinces": "province",
    "territories": "territory",
    "cities": "city",
    "customers": "customer",
    "partners": "partner",
    "regions": "region",
}
_WHAT_ZH = {"revenue": "收入", "customers": "客户", "orders": "订单"}


def concentration_statement(
    values: pd.Series | Sequence[float],
    names: pd.Series | Sequence[str] | None = None,
    unit: str = "provinces",
    lang: str = "en",
    *,
    what: str = "revenue",
    max_names: int = 5,
) -> str:
    """One sentence on how few units hold most of the total.

    The units named are the smallest set holding at least 80% (see
    ``top_k_for_80`` in :func:`concentration`), largest first; the
    percentage is their actual combined share.

    Parameters
    ----------
    values : Series or sequence of float
        One total per unit.
    names : Series or sequence of str, optional
        Unit names aligned with ``values`` (default: the index of ``values``).
    unit : str
        Plural noun for the units (``provinces``, ``territories``, ``cities``,
        ``customers`` have Chinese forms).
    lang : {"en", "zh"}
    what : str
        What the values measure (``revenue``, ``customers``, ``orders``).
    max_names : int
        At most this many names are listed.

    Returns
    -------
    str
        e.g. ``"83% of revenue comes from 5 provinces (of 28): 广东省, 江苏省,
        浙江省, 上海市, 山东省."`` or in Chinese ``"83%的收入来自5个省份（共28个）：
        广东省、江苏省、浙江省、上海市、山东省。"``
    """
    series = pd.Series(values, dtype=float)
    labels = (pd.Series(series.index, dtype=object) if names is None
              else pd.Series(list(names), dtype=object))
    if len(labels) != len(series):
        raise ValueError("names and values have different lengths")
    stats = concentration(series)
    n, k = stats["n"], stats["top_k_for_80"]
    if k == 0:
        return (f"No positive {what} across {n} {unit}." if lang != "zh"
                else f"{n}{_UNITS_ZH.get(unit, unit)}均无正{_WHAT_ZH.get(what, what)}。")
    clipped = nonnegative(series)
    order = np.argsort(-clipped, kind="stable")[:k]
    share = clipped[order].sum() / clipped.sum()
    listed = [str(labels.iloc[i]) for i in order[:max_names]]
    if lang == "zh":
        more = f"等{k}个" if k > max_names else ""
        return (f"{share:.0%}的{_WHAT_ZH.get(what, what)}来自{k}{_UNITS_ZH.get(unit, unit)}"
                f"（共{n}个）：{'、'.join(listed)}{more}。")
    more = f" and {k - max_names} more" if k > max_names else ""
    noun = _SINGULAR.get(unit, unit) if k == 1 else unit
    return f"{share:.0%} of {what} comes from {k} {noun} (of {n}): {', '.join(listed)}{more}."


def top20_statement(values: pd.Series | Sequence[float], unit: str = "customers",
                    lang: str = "en", *, what: str = "revenue") -> str:
    """One sentence on the share of the top 20% of units (the 80/20 check).

    Returns
    -------
    str
        e.g. ``"The top 20% of customers (1,000 of 5,000) bring 74% of revenue;
        Gini 0.68."`` or ``"前20%的客户（5000个中的1000个）贡献了74%的收入；基尼系数0.68。"``
    """
    stats = concentration(values)
    n = stats["n"]
    if n == 0 or not stats["total"] > 0:
        return (f"No positive {what} across {n} {unit}." if lang != "zh"
                else f"{n}{_UNITS_ZH.get(unit, unit)}均无正{_WHAT_ZH.get(what, what)}。")
    top = math.ceil(0.2 * n)
    if lang == "zh":
        return (f"前20%的{_UNITS_ZH.get(unit, unit)[1:]}（{n}个中的{top}个）贡献了"
                f"{stats['top20_share']:.0%}的{_WHAT_ZH.get(what, what)}；"
                f"基尼系数{stats['gini']:.2f}。")
    return (f"The top 20% of {unit} ({top:,} of {n:,}) bring {stats['top20_share']:.0%} "
            f"of {what}; Gini {stats['gini']:.2f}.")
