"""Numbers as a report shows them: money, percentages, counts, currencies.

One home for how an amount reads, in tables, sentences, chart titles and axes alike:

    format_money(1_234_567, "en")               # '1.23 M'
    format_money(81_929_027, "zh")              # '8,193万'
    format_money(426_940_117, "zh")             # '4.27亿'
    money_text(1_234_567, "en", "USD")          # '1.23 M USD'
    money_text(1_234_567, "zh", "CNY")          # '123万元'
    format_value(0.25, "share")                 # '25.0%'
    report_number(81929027.4)                   # '81,929,027'
    currency_name("CNY", "zh")                  # '元'

Catalog sentences use the same habit through the format specs ``{x:money}`` (amount and
currency; needs a ``currency`` value), ``{x:amount}`` (amount alone) and their signed
forms ``{x:+money}`` / ``{x:+amount}`` (see :func:`helpers.text.lookup.text`); money is
never quoted to the yuan above 1,000.
"""

from __future__ import annotations

import math

import pandas as pd

from helpers.text.lookup import lang_code, term

__all__ = ["KINDS", "MONEY_COLUMNS", "PERCENT_COLUMNS", "is_missing", "plain_number",
           "format_money", "money_text", "format_percent", "format_value", "report_number", "currency_name"]

#: How each known column reads. ``money``: an amount in the project currency;
#: ``money_delta``: a change of an amount (with a sign); ``percent``: a fraction shown
#: as a percentage; ``percent_delta``: a change as a signed percentage; ``count``: a
#: whole number; ``decimal``: a number with two decimals; ``one``: one decimal.
KINDS: dict[str, str] = {
    **dict.fromkeys(["revenue", "revenue_prev", "revenue_last_year", "aov", "amount",
                     "marketing_spend", "revenue_per_customer", "revenue_per_rep", "spend",
                     "new_spend", "floor", "cap", "ltv", "ltv_low", "ltv_high", "ltv_12m", "monetary",
                     "monetary_mean", "monetary_value", "historical_value", "expected_value",
                     "revenue_before", "revenue_now", "value_sum", "revenue_per_capita",
                     "ltv_12m_sum", "revenue_recent", "revenue_year_ago", "forecast",
                     "forecast_low", "forecast_high"],
                    "money"),
    **dict.fromkeys(["change", "expected_revenue_change", "revenue_change", "from_new",
                     "from_lost", "from_more", "from_less", "from_mix", "base_change",
                     "driver_net"], "money_delta"),
    **dict.fromkeys(["share", "customer_share", "revenue_share", "market_share", "active_rate",
                     "top20_share", "p_alive", "value_share"], "percent"),
    **dict.fromkeys(["growth", "growth_yoy", "growth_pop", "change_pct", "share_delta",
                     "growth_yoy_delta", "forecast_change"], "percent_delta"),
    **dict.fromkeys(["customers", "active_customers", "new_customers", "orders", "reps",
                     "partners", "rows", "read", "kept", "merged", "quarantined",
                     "expected_customers", "customer_gap", "gap_rank", "population_10k",
                     "gdp_100m_cny", "customers_before", "customers_now", "quantity",
                     "orders_to_date", "high_value", "churned", "incomplete", "score",
                     "repeat_customers",
                     "b_partners", "group", "k"], "count"),
    **dict.fromkeys(["gap_ratio", "roi", "marginal_return", "orders_per_customer", "gi_z",
                     "revenue_per_100m_gdp", "customers_per_million", "gini", "hhi",
                     "expected_purchases"], "decimal"),
    **dict.fromkeys(["customers_per_rep", "nearest_customer_km", "nearest_cluster_km",
                     "frequency_mean", "recency_mean"], "one"),
    # category mix and cohort retention
    **dict.fromkeys(["penetration", "market_penetration", "retention", "revenue_retention",
                     "older_retention", "newer_retention", "drop"], "percent"),
    **dict.fromkeys(["region_customers", "targets", "cohorts", "older_customers",
                     "newer_customers", "categories_bought"], "count"),
    **dict.fromkeys(["category_index", "penetration_index", "rest_index",
                     "missing_customers"], "one"),
    **dict.fromkeys(["growth_prev", "market_growth"], "percent_delta"),
}

# who the customers are and how they buy (helpers.analysis.profiles, .buying)
KINDS.update({
    **dict.fromkeys(["mean_revenue", "mean_low", "mean_high", "order_q1", "order_median",
                     "order_q3", "mean_value"], "money"),
    **dict.fromkeys(["share_in_region", "share_in_market", "top_share", "buyer_share",
                     "one_day_share", "mon", "tue", "wed", "thu", "fri", "sat", "sun",
                     "weekend_share", "line_share", "discounted_share", "mean_discount"],
                    "percent"),
    **dict.fromkeys(["buyers", "intervals", "lines", "months"], "count"),
    **dict.fromkeys(["share_index", "top_index", "peak_index", "low_index", "days_median",
                     "interval_q1", "interval_median", "interval_q3", "mean_quantity",
                     "quantity_low", "quantity_high"], "one"),
    "p_adj": "decimal",
})

#: Columns holding amounts of money (or changes of amounts).
MONEY_COLUMNS = frozenset(k for k, kind in KINDS.items() if kind in ("money", "money_delta"))
#: Columns holding fractions shown as percentages.
PERCENT_COLUMNS = frozenset(k for k, kind in KINDS.items()
                            if kind in ("percent", "percent_delta"))


def is_missing(value) -> bool:
    """Whether ``value`` shows as a dash: None, NaN, NA, NaT (a list or text is a value)."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def plain_number(value: float, digits: int = 0) -> str:
    """``value`` with thousands separators and ``digits`` decimals, never ``-0``."""
    shown = f"{value:,.{digits}f}"
    return shown[1:] if shown.startswith("-") and float(shown[1:].replace(",", "")) == 0 else shown


def format_money(value: float, lang: str = "en", *, signed: bool = False) -> str:
    """An amount in the language's habit: ``1.23 M``, ``350 k``, ``8,500`` in English;
    ``1.23亿``, ``8,193万``, ``12.5万``, ``8,500`` in Chinese (whole digits below 10,000,
    three significant digits from there on, four for thousands of 万; the currency is said
    elsewhere, :func:`money_text`).

    ``signed`` puts ``+`` before a rise. Missing values give ``–``.
    """
    if is_missing(value):
        return "–"
    value = float(value)
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    size = abs(value)
    if lang_code(lang) == "zh":
        steps = ((1e8, "亿"), (1e4, "万"))
    else:
        steps = ((1e9, " B"), (1e6, " M"), (1e3, " k"))
    shown = None
    for step, suffix in steps:
        if size >= step * 0.9995 and size >= 9999.5:  # below 10,000: the digits themselves
            scaled = size / step
            digits = 0 if scaled >= 99.95 else 1 if scaled >= 9.995 else 2
            shown = plain_number(scaled, digits)
            if "." in shown:
                shown = shown.rstrip("0").rstrip(".")
            shown += suffix
            break
    if shown is None:
        shown = plain_number(size, 0)
    if shown == "0":
        return "0"
    sign = "-" if value < 0 else "+" if signed else ""
    return sign + shown


def money_text(amount: float, lang: str = "en", currency: str = "CNY", *,
               signed: bool = False) -> str:
    """An amount in a sentence, with its currency: ``4.2 M CNY``, ``8,193万元``, ``1.2 M USD``."""
    shown = format_money(amount, lang, signed=signed)
    name = currency_name(currency, lang)
    if lang_code(lang) == "zh" and not name.isascii():
        return f"{shown}{name}"
    return f"{shown} {name}"


def format_percent(value: float, signed: bool = False) -> str:
    """A fraction as a percentage with one decimal (``19.2%``, ``+7.5%``; ``0%``, never ``-0.0%``)."""
    if is_missing(value):
        return "–"
    number = float(value) * 100
    shown = plain_number(abs(number), 1)
    if shown == "0.0":
        return "0%"
    sign = "-" if number < 0 else "+" if signed else ""
    return f"{sign}{shown}%"


def format_value(value: float, key: str, lang: str = "en") -> str:
    """One KPI value for display according to its column name (:data:`KINDS`): money
    through :func:`format_money`, fractions as percentages (changes with a sign), everything
    else with thousands separators."""
    if is_missing(value):
        return "–"
    kind = KINDS.get(key, "number")
    if kind in ("money", "money_delta"):
        return format_money(value, lang, signed=kind == "money_delta")
    if kind in ("percent", "percent_delta"):
        return format_percent(value, signed=kind == "percent_delta")
    value = float(value)
    return plain_number(value, 0) if value.is_integer() else plain_number(value, 2)


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
