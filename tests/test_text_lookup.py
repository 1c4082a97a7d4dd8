"""The one lookup of displayed words, number formats and region names."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.geo.romanise import romanise
from helpers.text.format import currency_name, format_money, format_value
from helpers.text.lookup import (
    fill,
    headers,
    join,
    label,
    name_list,
    region_label,
    region_names,
    say,
    term,
    text,
    translate,
    words,
)

# --- labels, terms, texts, sentences ------------------------------------------------


def test_label_both_languages_and_fallback():
    assert label("customers", "en") == "Customers"
    assert label("customers", "zh") == "客户数"
    assert label("revenue", "zh-CN") == "收入"
    assert label("others", "zh") == "其他"
    assert label("gross_margin", "en") == "Gross margin"
    with pytest.raises(ValueError, match="lang must be one of"):
        label("revenue", "fr")


def test_term_shows_data_values_and_keeps_unknown_ones():
    assert term("segment", "champions", "zh") == "重要价值客户"
    assert term("segment", "champions", "en") == "champions"  # English shows the key
    assert term("stage", "at risk", "zh") == "流失风险"
    assert term("segment", "at risk", "zh") == "流失风险客户"  # same English, other term
    assert term("tier", "odd", "zh") == "odd" and term("tier", None, "zh") is None
    assert term("notebook", "extra", "zh", default="Extra") == "Extra"


def test_text_and_say_fill_values_and_name_unknown_keys():
    assert say("finding_core", "en", n=2, share=0.613, names="A, B") == (
        "2 core region(s) bring 61% of revenue: A, B")
    assert say("finding_core", "zh-CN", n=2, share=0.613, names="广东省、浙江省") == (
        "2 个核心地区贡献 61% 的收入：广东省、浙江省")
    assert text("objective_title", "compare_regions", "zh") == "地区对比"
    assert text("unit", "currency per currency", "en", currency="BRL") == "BRL per BRL"
    with pytest.raises(KeyError, match="no catalog entry say.nope"):
        say("nope", "en")
    with pytest.raises(ValueError, match="lang must be one of"):
        say("finding_core", "fr", n=1, share=0, names="")


def test_words_of_a_section():
    index = words("index", "zh")
    assert index["revenue"] == "收入" and index["region"] == "地区"
    assert words("index", "en")["revenue"] == "Revenue"


def test_join_and_name_list():
    assert join(["a", "b"], "en") == "a, b" and join(["a", "b"], "zh") == "a、b"
    assert join(["a", "b"], "zh", clauses=True) == "a；b"
    frame = pd.DataFrame({"region": list("甲乙丙"), "region_en": list("ABC")})
    assert name_list(frame, "en", limit=2) == "A, B and 1 more"
    assert name_list(frame, "zh", limit=2) == "甲、乙及另外 1 个"


def test_translate_is_display_only():
    frame = pd.DataFrame({"tier": ["core", "odd"], "revenue": [1.0, 2.0],
                          "owner": ["sales rep", "王伟 (R01)"]})
    shown = translate(frame, "zh", ["tier", "owner"])
    assert list(shown.columns) == ["分级", "收入", "负责人"]
    assert list(shown["分级"]) == ["核心", "odd"]  # unknown values stay as they are
    assert list(shown["负责人"]) == ["销售代表", "王伟 (R01)"]
    assert list(frame["tier"]) == ["core", "odd"]  # the input keeps its keys
    assert translate(frame, "en", ["tier"]) is frame
    with pytest.raises(KeyError):
        translate(frame, "zh", ["no such column kind"])


def test_translate_takes_the_sections_of_a_column():
    frame = pd.DataFrame({"basis": ["model", "floor: no spend or revenue to model"]})
    shown = translate(frame, "zh", {"basis": ("budget_basis",)})
    assert shown.iloc[:, 0].tolist() == ["模型", "下限：没有费用或收入可建模"]


def test_headers_in_chinese_index_name_too():
    frame = pd.DataFrame({"customers": [1]}).rename_axis("segment")
    shown = headers(frame, "zh")
    assert list(shown.columns) == ["客户数"] and shown.index.name == "客户分群"
    assert headers(frame, "en") is frame


# --- numbers -------------------------------------------------------------------------


def test_format_money():
    assert format_money(1_234_567, "en") == "1.23 M"
    assert format_money(25_000, "en") == "25 k"
    assert format_money(850, "en") == "850"
    assert format_money(8_500, "en") == "8,500" and format_money(9_999.7, "en") == "10 k"
    assert format_money(1_234_567, "zh") == "123万"
    assert format_money(25_000, "zh") == "2.5万"
    assert format_money(426_940_117, "zh") == "4.27亿"
    assert format_money(-837_000, "en", signed=True) == "-837 k"
    assert format_money(837_000, "zh", signed=True) == "+83.7万"
    assert format_money(float("nan"), "en") == "–"


def test_sentences_quote_money_in_the_language_habit():
    """``{x:money}`` / ``{x:amount}`` in catalog texts: never to the yuan above 1,000."""
    assert fill("{a:money}", "en", a=426_940_117, currency="CNY") == "427 M CNY"
    assert fill("{a:money}", "zh", a=426_940_117, currency="CNY") == "4.27亿元"
    assert fill("{a:money}", "zh", a=12_345, currency="USD") == "1.23万 USD"
    assert fill("{a:+amount} to {b:+money}", "en", a=-670_000, b=5_530_000,
                currency="BRL") == "-670 k to +5.53 M BRL"
    assert fill("{n:,} and {p:.0%}", "en", n=5000, p=0.25) == "5,000 and 25%"
    with pytest.raises(KeyError, match="currency"):
        fill("{a:money}", "en", a=1)
    shown = say("finding_size", "en", customers=5000, revenue=426_940_117, currency="CNY")
    assert "427 M CNY" in shown and "426,940,117" not in shown


def test_format_value_by_column():
    assert format_value(0.25, "share") == "25.0%"
    assert format_value(0.25, "growth_yoy") == "+25.0%"
    assert format_value(1_500_000, "revenue", "zh") == "150万"
    assert format_value(12, "customers") == "12" and format_value(1.5, "gap_ratio") == "1.50"
    assert format_value(None, "revenue") == "–"


def test_currency_name():
    assert currency_name("CNY", "zh") == "元" and currency_name("CNY", "en") == "CNY"
    assert currency_name("BRL", "zh") == "BRL"


# --- region names --------------------------------------------------------------------


def test_region_label_frame_and_row():
    frame = pd.DataFrame({"region": ["广东省", "华南"], "region_en": ["Guangdong", None]})
    assert region_label(frame, "en").tolist() == ["Guangdong", "South China"]
    assert region_label(frame, "zh").tolist() == ["广东省", "华南"]
    assert region_label(frame.iloc[0], "en") == "Guangdong"
    assert region_label({"region": "深圳市", "region_en": "Shenzhen"}, "zh") == "深圳市"


def test_region_names():
    assert region_names(["广东省", "华东", "深圳市", "Atlantis"], "en").tolist() == [
        "Guangdong", "East China", "Shenzhen", "Atlantis"]
    assert region_names(["广东省", None], "zh").tolist() == ["广东省", ""]
    assert region_names(["北京市"], "en").tolist() == ["Beijing"]


def test_romanise_city_names():
    assert romanise("深圳市") == "Shenzhen" and romanise("重庆市") == "Chongqing"
    assert romanise("西双版纳傣族自治州") == "Xishuangbanna"
    assert romanise("黔东南苗族侗族自治州") == "Qiandongnan"
    assert romanise("那曲地区") == "Naqu" and romanise("神农架林区") == "Shennongjia"
    assert romanise("São Paulo") == "São Paulo"
    cities = pd.DataFrame({"region": ["广州市", "深圳市"], "region_en": ["广州市", None]})
    assert region_label(cities, "en").tolist() == ["Guangzhou", "Shenzhen"]
    assert region_label(cities, "zh").tolist() == ["广州市", "深圳市"]
