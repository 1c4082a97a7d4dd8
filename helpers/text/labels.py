"""Bilingual (English / Chinese) labels for charts and maps.

Only display text lives here; the charts and maps choose which key they need.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

import pandas as pd

LANGS = ("en", "zh")

LABELS: dict[str, dict[str, str]] = {
    "region": {"en": "Region", "zh": "地区"},
    "customers": {"en": "Customers", "zh": "客户数"},
    "active_customers": {"en": "Active customers", "zh": "活跃客户数"},
    "new_customers": {"en": "New customers", "zh": "新客户数"},
    "revenue": {"en": "Revenue", "zh": "收入"},
    "revenue_prev": {"en": "Revenue (previous period)", "zh": "上期收入"},
    "revenue_per_capita": {"en": "Revenue per capita", "zh": "人均收入"},
    "customers_per_million": {"en": "Customers per million people", "zh": "每百万人客户数"},
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
    "hexagons": {"en": "Customers per hexagon", "zh": "蜂窝网格客户数"},
    "hexagon_tip": {"en": "{n} customers in this hexagon", "zh": "该网格内 {n} 家客户"},
    "regions": {"en": "Regions", "zh": "地区"},
    "provinces": {"en": "provinces", "zh": "省份"},
    "cities": {"en": "cities", "zh": "城市"},
    "territories": {"en": "territories", "zh": "大区"},
    "customers_unit": {"en": "customers", "zh": "客户"},
    "regions_unit": {"en": "regions", "zh": "地区"},
    "province": {"en": "Province", "zh": "省份"},
    "city": {"en": "City", "zh": "城市"},
    "territory": {"en": "Territory", "zh": "大区"},
    "channel": {"en": "Channel", "zh": "客户类型"},
    "product_category": {"en": "Product category", "zh": "产品类别"},
    "gap_ratio": {"en": "Customers vs expected", "zh": "客户数/预期"},
    "segment": {"en": "Segment", "zh": "客户分群"},
    "no_data": {"en": "no data", "zh": "无数据"},
    # maps
    "filled_regions": {"en": "Regions by {value}", "zh": "各地区{value}"},
    "graduated": {"en": "Regions without outline (circles)", "zh": "无边界地区(圆圈)"},
    "legend_any": {"en": "with customers", "zh": "有客户"},
    "legend_no_customers": {"en": "No customers", "zh": "无客户"},
    "legend_no_data": {"en": "No data (outside the market)", "zh": "无数据(不在市场范围内)"},
    "borders": {"en": "Borders", "zh": "边界"},
    "borders_province": {"en": "Province borders", "zh": "省界"},
    "borders_city": {"en": "City borders", "zh": "市界"},
    "borders_country": {"en": "Country borders", "zh": "国界"},
    "region_caption": {
        "en": "Colour: {value}, in {k} classes of about equal size; grey dashed: no customers.",
        "zh": "颜色:{value},分{k}档(每档地区数大致相同);灰色虚线:无客户。",
    },
    "circles_note": {
        "en": "Circles: {n} region(s) without an outline, area ∝ value.",
        "zh": "圆圈:{n} 个无边界数据的地区,面积 ∝ 数值。",
    },
    "skipped_regions": {
        "en": "{n} region(s) without outline or coordinates not shown.",
        "zh": "{n} 个地区既无边界也无坐标,未显示。",
    },
    # charts
    "title_lorenz": {
        "en": "Concentration of {value} across {units} (Lorenz curve)",
        "zh": "{value}在{units}间的集中度(洛伦兹曲线)",
    },
    "cum_units_share": {"en": "Cumulative share of {units} (smallest first)",
                        "zh": "{units}累计占比(从小到大)"},
    "cum_value_share": {"en": "Cumulative share of {value}", "zh": "{value}累计占比"},
    "equality": {"en": "Perfect equality", "zh": "完全均等"},
    "gini_note": {
        "en": "Gini {gini:.2f}\ntop 20% of {units} hold {top20:.0%}",
        "zh": "基尼系数 {gini:.2f}\n前20%{units}占 {top20:.0%}",
    },
    "title_order_values": {"en": "Distribution of order values", "zh": "订单金额分布"},
    "order_value_log": {"en": "Order value (log scale)", "zh": "订单金额(对数刻度)"},
    "order_lines": {"en": "Order lines", "zh": "订单行数"},
    "median_note": {"en": "median {v}", "zh": "中位数 {v}"},
    "mean_note": {"en": "mean {v}", "zh": "平均值 {v}"},
    "returns_note": {
        "en": "{n:,} return or zero lines (amount ≤ 0) not shown",
        "zh": "{n:,} 条退货或零金额订单行(金额 ≤ 0)未显示",
    },
    "title_segment_mix": {"en": "Customer segments by region (RFM)",
                          "zh": "各地区客户分群(RFM)"},
    "share_of_customers": {"en": "Share of customers", "zh": "客户占比"},
    # RFM segments (helpers.analysis.segments.SEGMENTS)
    "champions": {"en": "Champions", "zh": "重要价值客户"},
    "loyal": {"en": "Loyal", "zh": "忠诚客户"},
    "potential loyalists": {"en": "Potential loyalists", "zh": "潜力忠诚客户"},
    "new customers": {"en": "New customers", "zh": "新客户"},
    "promising": {"en": "Promising", "zh": "有潜力客户"},
    "need attention": {"en": "Need attention", "zh": "需关注客户"},
    "about to sleep": {"en": "About to sleep", "zh": "即将沉睡客户"},
    "cannot lose them": {"en": "Cannot lose them", "zh": "不能流失的客户"},
    "at risk": {"en": "At risk", "zh": "流失风险客户"},
    "hibernating": {"en": "Hibernating", "zh": "休眠客户"},
    "lost": {"en": "Lost", "zh": "已流失客户"},
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


_CJK = re.compile(r"[\u4e00-\u9fff]")
_ETHNIC = ("朝鲜|傣|哈尼|彝|藏|蒙古|哈萨克|柯尔克孜|布依|苗|土家|侗|白|傈僳|景颇|壮|回|羌|"
           "纳西|拉祜|佤|瑶|黎|畲|维吾尔|撒拉|保安|东乡|裕固|锡伯|满|仡佬|水|毛南|仫佬|塔吉克")
_CITY_SUFFIX = re.compile(rf"((?:(?:{_ETHNIC})族?)+自治州|自治州|地区|林区|盟|市)$")


@lru_cache(maxsize=4096)
def romanise(name: str) -> str:
    """English display name of a Chinese place without one: its pinyin.

    Provinces and the usual territories get their English names (广东省 ->
    Guangdong, 华南 -> South China); other names lose their administrative suffix
    (市, 地区, 盟, 自治州 with its ethnic groups) and are written in pinyin with
    ``pypinyin`` (深圳市 -> Shenzhen, 西双版纳傣族自治州 -> Xishuangbanna).
    Text without Chinese characters is returned as it is.
    """
    text = str(name).strip()
    if not _CJK.search(text):
        return text
    from helpers import geo
    from helpers.geo.territories import TERRITORY_EN

    provinces = geo.provinces()
    known = {**dict(zip(provinces["province"], provinces["province_en"], strict=True)),
             **TERRITORY_EN}
    if text in known:
        return known[text]
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(_CITY_SUFFIX.sub("", text) or text)).capitalize()


def _pick(row: Mapping, code: str) -> str:
    name = row.get("region")
    name_en = row.get("region_en")
    has_name = name is not None and not pd.isna(name) and str(name) != ""
    has_en = name_en is not None and not pd.isna(name_en) and str(name_en) != ""
    if code == "en":
        if has_en and not _CJK.search(str(name_en)):
            return str(name_en)
        chinese = str(name) if has_name else str(name_en) if has_en else ""
        return romanise(chinese) if chinese else ""
    if not has_name:
        return str(name_en) if has_en else ""
    return str(name)


def region_label(row_or_names: pd.DataFrame | pd.Series | Mapping, lang: str = "en"):
    """Display name(s) of regions: ``region_en`` for English, ``region`` for Chinese.

    Parameters
    ----------
    row_or_names : DataFrame, Series or mapping
        A frame with ``region`` and (optionally) ``region_en`` columns, or one row
        of such a frame (Series or dict).
    lang : {"en", "zh"}
        Language. Where ``region_en`` is missing (or Chinese, as for cities) English
        shows :func:`romanise` of the name (深圳市 -> Shenzhen); Chinese falls back to
        the English name where ``region`` is missing.

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


REGION_LEVELS = ("province", "territory", "city", "region")


def region_names(names, lang: str = "en", level: str = "province") -> pd.Series:
    """Display names of raw region values (for legends keyed by region name).

    Parameters
    ----------
    names : sequence of str
        Region names as the tables hold them: official province names (广东省),
        territory names (华东) or city names.
    lang : {"en", "zh"}
        English turns provinces into their English names (Guangdong), the usual
        territories into theirs (East China) and other Chinese names into pinyin
        (:func:`romanise`: 深圳市 -> Shenzhen). Chinese keeps the names.
    level : {"province", "territory", "city", "region"}
        What the names are; ``region`` tries provinces, then territories.

    Returns
    -------
    Series of str, in the order of ``names``.
    """
    values = pd.Series(list(names), dtype=object)
    if _lang(lang) == "zh":
        return values.map(lambda v: "" if v is None or pd.isna(v) else str(v))
    return values.map(lambda v: "" if v is None or pd.isna(v) else romanise(str(v)))


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
