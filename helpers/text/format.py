"""Numbers as a report shows them: money, percentages, counts, table floats, currencies.

    format_money(1_234_567, "en")   # '1.23M'
    format_money(1_234_567, "zh")   # '123万'
    format_value(0.25, "share")     # '25.0%'
    report_number(81929027.4)       # '81,929,027'
    currency_name("CNY", "zh")      # '元'
"""

from __future__ import annotations

import pandas as pd

from helpers.text.lookup import lang_code, term

__all__ = ["MONEY_COLUMNS", "PERCENT_COLUMNS", "format_money", "format_value", "report_number",
           "currency_name"]

#: Columns holding amounts of money.
MONEY_COLUMNS = frozenset({"revenue", "revenue_prev", "aov", "amount"})
#: Columns holding fractions shown as percentages (growth with a sign).
PERCENT_COLUMNS = frozenset({"share", "growth", "growth_yoy"})


def format_money(value: float, lang: str = "en") -> str:
    """An amount in the language's habit: ``万`` (10k) for Chinese, k/M/B for English.

    Parameters
    ----------
    value : float
        Amount in the project currency. Missing values give ``"–"``.
    lang : {"en", "zh"}
        Language.

    Returns
    -------
    str
        For example ``1234567`` -> ``"1.23M"`` (en) or ``"123万"`` (zh).
    """
    if value is None or pd.isna(value):
        return "–"
    value = float(value)
    if value == 0:
        return "0"
    if lang_code(lang) == "zh":
        wan = value / 1e4
        if abs(wan) >= 100:
            return f"{wan:,.0f}万"
        return f"{wan:,.2f}".rstrip("0").rstrip(".") + "万"
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:,.3g}{suffix}"
    return f"{value:,.0f}"


def format_value(value: float, key: str, lang: str = "en") -> str:
    """One KPI value for display according to its column name.

    Money columns go through :func:`format_money`, :data:`PERCENT_COLUMNS` become
    percentages (growth with a sign), everything else gets thousands separators.
    """
    if value is None or pd.isna(value):
        return "–"
    if key in MONEY_COLUMNS:
        return format_money(value, lang)
    if key in PERCENT_COLUMNS:
        sign = "+" if key != "share" and value > 0 else ""
        return f"{sign}{float(value):.1%}"
    return f"{float(value):,.0f}" if float(value).is_integer() else f"{float(value):,.2f}"


def report_number(value: float) -> str:
    """How a float reads in a report table: ``81,929,027``, ``1,234``, ``0.192``, ``-3.5``.

    Thousands separated and no decimals from 1,000 on; below that up to four
    significant digits (pandas' ``display.float_format``; the data keep full precision).
    """
    if abs(value) >= 999.5:  # what would round to 1,000 or more
        return f"{value:,.0f}"
    return f"{value:.4g}"


def currency_name(code: str, lang: str = "en") -> str:
    """How a sentence names the project currency (``project.currency``): CNY is 元 in Chinese.

    Codes the catalog does not name are shown as they are (BRL, USD).
    """
    return term("currency", str(code), lang)
