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
from helpers.text.lookup import join, lang_code, say, term

__all__ = ["concentration_statement", "top20_statement"]


def _none(n: int, unit: str, what: str, lang: str) -> str:
    return say("concentration_none", lang, n=n, what=term("measure", what, lang),
               unit=term("count_unit", unit, lang) if lang == "zh" else unit)


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
    ``top_k_for_80`` in :func:`helpers.analysis.concentration.concentration`), largest first;
    the percentage is their actual combined share.

    Parameters
    ----------
    values : Series or sequence of float
        One total per unit.
    names : Series or sequence of str, optional
        Unit names aligned with ``values`` (default: the index of ``values``).
    unit : str
        Plural noun for the units (``provinces``, ``territories``, ``cities``,
        ``customers``, ``partners``, ``regions``: section ``count_unit`` of the catalog).
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
    lang = lang_code(lang)
    series = pd.Series(values, dtype=float)
    labels = (pd.Series(series.index, dtype=object) if names is None
              else pd.Series(list(names), dtype=object))
    if len(labels) != len(series):
        raise ValueError("names and values have different lengths")
    stats = concentration(series)
    n, k = stats["n"], stats["top_k_for_80"]
    if k == 0:
        return _none(n, unit, what, lang)
    clipped = nonnegative(series)
    order = np.argsort(-clipped, kind="stable")[:k]
    share = clipped[order].sum() / clipped.sum()
    listed = [str(labels.iloc[i]) for i in order[:max_names]]
    more = say("and_more", lang, n=k - max_names) if k > max_names else ""
    noun = term("count_unit_one" if k == 1 else "count_unit", unit, lang)
    return say("concentration", lang, share=share, what=term("measure", what, lang), k=k,
               unit=noun, n=n, names=join(listed, lang), more=more)


def top20_statement(values: pd.Series | Sequence[float], unit: str = "customers",
                    lang: str = "en", *, what: str = "revenue") -> str:
    """One sentence on the share of the top 20% of units (the 80/20 check).

    Returns
    -------
    str
        e.g. ``"The top 20% of customers (1,000 of 5,000) bring 74% of revenue;
        Gini 0.68."`` or ``"前20%的客户（5000个中的1000个）贡献了74%的收入；基尼系数0.68。"``
    """
    lang = lang_code(lang)
    stats = concentration(values)
    n = stats["n"]
    if n == 0 or not stats["total"] > 0:
        return _none(n, unit, what, lang)
    return say("top20", lang, unit=term("noun", unit, lang), top=math.ceil(0.2 * n), n=n,
               share=stats["top20_share"], what=term("measure", what, lang), gini=stats["gini"])
