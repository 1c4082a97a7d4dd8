"""Bilingual (English / Chinese) labels for charts and maps.

Only display text lives here; the charts and maps choose which key they need.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

LANGS = ("en", "zh")

LABELS: dict[str, dict[str, str]] = {
    "region": {"en": "Region", "zh": "地区"},
    "customers": {"en": "Customers", "zh": "客户数"},
    "active_customers": {"en": "Active customers", "zh": "活跃客户数"},
    "new_customers": {"en": "New customers", "zh": "新客户数"},
    "revenue": {"en": "Revenue", "zh": "收入"},
    "revenue_prev": {"en": "Revenue (previous period)", "zh": "上期收入"},
    "growth": {"en": "YoY growth", "zh": "同比增长"},
    "growth_yoy": {"en": "YoY growth", "zh": "同比增长"},
    "share": {"en": "Revenue share", "zh": "收入占比"},
    "share_of": {"en": "Share of {value}", "zh": "{value}占比"},
    "cumulative_share": {"en": "Cumulative share", "zh": "累计占比"},
    "orders": {"en": "Orders", "zh": "订单数"},
    "aov": {"en": "Average order value", "zh": "平均订单金额"},
    "amount": {"en": "Amount", "zh": "金额"},
    "month": {"en": "Month", "zh": "月份"},
    "others": {"en": "Others", "zh": "其他"},
    "no_customers": {"en": "no customers", "zh": "无客户"},
    "customer": {"en": "Customer", "zh": "客户"},
    "customer_points": {"en": "Customers (clusters)", "zh": "客户分布(聚合)"},
    "heatmap": {"en": "Customer density", "zh": "客户密度"},
    "regions": {"en": "Regions", "zh": "地区"},
    # titles and captions: templates filled with str.format
    "title_bars": {"en": "{value} by region", "zh": "各地区{value}"},
    "title_share": {"en": "Concentration of {value} (Pareto)", "zh": "{value}集中度(帕累托)"},
    "title_trend": {"en": "Monthly {value}", "zh": "月度{value}"},
    "title_scatter": {"en": "Customers vs revenue by region", "zh": "各地区客户数与收入"},
    "pareto_note": {
        "en": "{n} of {total} regions make 80%",
        "zh": "{n}/{total} 个地区贡献80%",
    },
    "mark_80": {"en": "80%", "zh": "80%"},
    "bubble_caption": {
        "en": "Circle area ∝ {value}; grey hollow circles: regions with no customers",
        "zh": "圆面积 ∝ {value};灰色空心圆:无客户地区",
    },
    "points_caption": {
        "en": "{n} customers mapped, {skipped} without coordinates skipped",
        "zh": "已绘制 {n} 位客户,{skipped} 位缺少坐标未绘制",
    },
}


def _lang(lang: str) -> str:
    """Normalise a language code to ``"en"`` or ``"zh"`` (``zh-CN``, ``zh_Hans`` ... -> ``zh``)."""
    code = str(lang).strip().lower()
    if code.startswith("zh"):
        return "zh"
    if code.startswith("en"):
        return "en"
    raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")


def label(key: str, lang: str = "en") -> str:
    """Return the display label of ``key`` in ``lang``.

    Parameters
    ----------
    key : str
        Label key, usually a column name (``"revenue"``, ``"share"``) or a title
        template (``"title_bars"``).
    lang : {"en", "zh"}
        Language; ``zh-CN`` and similar are accepted as ``zh``.

    Returns
    -------
    str
        The label. Unknown keys fall back to the key itself, made readable
        (``"gross_margin"`` -> ``"Gross margin"``), so any column can be plotted.
    """
    code = _lang(lang)
    entry = LABELS.get(key)
    if entry is None:
        return str(key).replace("_", " ").capitalize()
    return entry[code]


def _pick(row: Mapping, code: str) -> str:
    name = row.get("region")
    name_en = row.get("region_en")
    if code == "en" and name_en is not None and not pd.isna(name_en) and str(name_en):
        return str(name_en)
    if name is None or pd.isna(name):
        return "" if name_en is None or pd.isna(name_en) else str(name_en)
    return str(name)


def region_label(row_or_names: pd.DataFrame | pd.Series | Mapping, lang: str = "en"):
    """Display name(s) of regions: ``region_en`` for English, ``region`` for Chinese.

    Parameters
    ----------
    row_or_names : DataFrame, Series or mapping
        A frame with ``region`` and (optionally) ``region_en`` columns, or one row
        of such a frame (Series or dict).
    lang : {"en", "zh"}
        Language. English falls back to the Chinese name where ``region_en`` is
        missing; Chinese falls back to the English name where ``region`` is missing.

    Returns
    -------
    Series of str (same index as the frame) or str (for one row).
    """
    code = _lang(lang)
    if isinstance(row_or_names, pd.DataFrame):
        frame = row_or_names
        if "region" not in frame.columns and "region_en" not in frame.columns:
            raise KeyError("region_label needs a 'region' or 'region_en' column")
        return pd.Series(
            [_pick(r, code) for r in frame.to_dict("records")], index=frame.index, dtype=object
        )
    return _pick(row_or_names, code)


MONEY_COLUMNS = frozenset({"revenue", "revenue_prev", "aov", "amount"})


def format_money(value: float, lang: str = "en") -> str:
    """Format a CNY amount for display: ``万`` (10k) for Chinese, k/M/B for English.

    Parameters
    ----------
    value : float
        Amount in CNY. Missing values give ``"–"``.
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
    if _lang(lang) == "zh":
        wan = value / 1e4
        if abs(wan) >= 100:
            return f"{wan:,.0f}万"
        return f"{wan:,.2f}".rstrip("0").rstrip(".") + "万"
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:,.3g}{suffix}"
    return f"{value:,.0f}"


def format_value(value: float, key: str, lang: str = "en") -> str:
    """Format one KPI value for display according to its column name.

    Money columns go through :func:`format_money`, ``share`` and ``growth_yoy``
    become percentages, everything else gets thousands separators.
    """
    if value is None or pd.isna(value):
        return "–"
    if key in MONEY_COLUMNS:
        return format_money(value, lang)
    if key in ("share", "growth", "growth_yoy"):
        sign = "+" if key != "share" and value > 0 else ""
        return f"{sign}{float(value):.1%}"
    return f"{float(value):,.0f}" if float(value).is_integer() else f"{float(value):,.2f}"
