"""What a reader of the shared reports sees: no technical noise, and Chinese reports in Chinese.

A batch on the bundled sample (whole market and Guangdong, English and Chinese) is
rendered once; every report's visible text (scripts, styles and the maps' iframes
left out) is checked.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from helpers.text.lookup import label
from helpers.text.tables import header

#: Text that never belongs in a shared report.
NOISE = ("Warning", "Traceback", "/work", "site-packages", ".venv", "--baseline-run", "<Axes",
         "NaN", "<NA>", "None", "0 rows ×")
#: Money quoted to the unit (``426,940,117 CNY``, ``12,347,000 元``): sentences use the
#: tables' habit (``427 M CNY``, ``4.27亿元``).
MONEY_TO_THE_UNIT = re.compile(r"\d{1,3}(?:,\d{3}){2,}\s*(?:CNY|元)")
#: Markdown bold left as text (masked names such as 魏** are not bold).
LITERAL_BOLD = re.compile(r"\*\*[^\s*][^*\n]*?[^\s*]\*\*")
#: An English word: three letters or more.
WORD = re.compile(r"[A-Za-z]{3,}")
#: Codes: file names, config keys and values, encodings, the run's parameters and commit
#: as a Chinese text cites them (``workbook.yaml``, ``sources.customers``,
#: ``report.show_rep_names``, ``strategy:``, ``utf-8-sig``, ``mask_pii=True``, ``2a50fe95``).
CODE = re.compile(r"[^\s（）()，,；;：:]+\.(?:xlsx?|csv|json|ya?ml|parquet)\b|"
                  r"[A-Za-z0-9_\-]+(?:[._/][A-Za-z0-9_\-]+)+(?::|=[^\s,]+)?|"
                  r"[A-Za-z]+_[A-Za-z0-9_]+(?:=\S+)?|"
                  r"[A-Za-z]+:(?![A-Za-z])|[A-Za-z]+=[^\s,]+|[A-Za-z]+-\d[\w-]*|"
                  r"\b[0-9a-f]{7,40}\b")
#: English a Chinese report may show: abbreviations, method and person names, the
#: sample's project name (proper names), units.
ALLOWED = frozenset({
    "CNY", "RFM", "GDP", "ROI", "HHI", "VIP", "CSV", "Excel", "ERP", "CRM", "NBD", "BG",
    "Gamma", "Getis", "Ord", "Moran", "DBSCAN", "haversine", "eps", "means", "Gini",
    "silhouette", "Calinski", "Harabasz", "Davies", "Bouldin", "README", "Access", "geonames",
    "control", "devices", "customer", "distribution", "ALL", "min",
    "crm", "erp", "hr", "marketing",  # the sample's source names (ids in workbook.yaml)
    "true",  # a config value (report.show_rep_names: true)
})
#: At most this many English words outside :data:`ALLOWED` in one Chinese report.
MAX_ENGLISH = 0


def visible_text(html: str) -> str:
    """What a reader sees of a page: no scripts, styles, iframes (maps) or templates."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "iframe", "noscript", "template"]):
        tag.decompose()
    return soup.get_text(" ", strip=True)


def english_words(text: str) -> Counter:
    """English words of ``text`` outside :data:`ALLOWED`, codes left out."""
    return Counter(w for w in WORD.findall(CODE.sub(" ", text)) if w not in ALLOWED)


@pytest.fixture(scope="module")
def reports(sample_reports) -> dict[str, Path]:
    """The sample's whole market and Guangdong, all five steps, in English and Chinese
    (one batch for the session: ``sample_reports`` in ``conftest.py``)."""
    return sample_reports


def _pages(run: Path) -> list[Path]:
    pages = sorted(run.glob("*/0*.html")) + [run / "index.html"]
    assert len(pages) == 11, pages  # 2 regions x 5 steps and the index
    return pages


@pytest.mark.kernel
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_technical_noise_in_any_report(reports, lang):
    found = {}
    for page in _pages(reports[lang]):
        text = visible_text(page.read_text(encoding="utf-8"))
        hits = ([n for n in NOISE if n in text] + LITERAL_BOLD.findall(text)
                + MONEY_TO_THE_UNIT.findall(text))
        if hits:
            found[f"{page.parent.name}/{page.name}"] = hits
    assert not found


@pytest.mark.kernel
def test_chinese_reports_are_in_chinese(reports):
    found = {}
    for page in _pages(reports["zh"]):
        words = english_words(visible_text(page.read_text(encoding="utf-8")))
        if sum(words.values()) > MAX_ENGLISH:
            found[f"{page.parent.name}/{page.name}"] = words.most_common(20)
    assert not found


@pytest.mark.kernel
def test_chinese_excel_exports_are_in_chinese(reports):
    """``actions.xlsx`` is read by people: in a Chinese run its sheet names, headers and
    catalog terms (segments, stages, tiers, actions, owners' roles) are Chinese; the numbers
    stay numbers (the CSV exports keep the English keys)."""
    from openpyxl import load_workbook

    terms = {label(c, "zh") for c in ("segment", "tier", "action", "campaign", "lifecycle",
                                       "owner_role", "kpi")}
    for region in ("all", "guangdong"):
        book = load_workbook(reports["zh"] / region / "actions.xlsx", read_only=True)
        # the long lists are in the whole market's workbook only (report.excel_lists)
        first = ["地区行动", "客户活动名单"] if region == "all" else ["地区行动"]
        assert book.sheetnames[:len(first)] == first, book.sheetnames
        assert region == "all" or "客户活动名单" not in book.sheetnames
        for sheet in book.worksheets:
            rows = list(sheet.iter_rows(values_only=True))
            head = [str(h) for h in rows[0]]
            assert not english_words(" ".join(head)), (sheet.title, head)
            shown = [i for i, h in enumerate(head) if h in terms]
            cells = " ".join(str(r[i]) for r in rows[1:] for i in shown if r[i] is not None)
            assert not english_words(cells), (sheet.title, english_words(cells).most_common(5))
    english = load_workbook(reports["en"] / "all" / "actions.xlsx", read_only=True)
    assert english.sheetnames[:2] == ["Region actions", "Campaign list"]
    money = next(english.worksheets[1].iter_rows(values_only=True))
    assert header("ltv_12m", "money", "en", "CNY") in money  # the currency on money


@pytest.mark.kernel
def test_report_tables_have_no_index_and_link_their_exports(reports):
    """Tables start with a named column (never 0, 1, 2 ...), and a cut table links to its
    export next to the report."""
    page = reports["en"] / "all" / "04_insight.html"
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    tables = soup.find_all("table")
    assert tables and all(t.find("th").get_text(strip=True) for t in tables)
    links = [a["href"] for a in soup.select(".wb-table-note a")]
    assert "region_kpis.csv" in links
    assert all((page.parent / href).exists() for href in links)


def test_money_to_the_unit_is_found():
    assert MONEY_TO_THE_UNIT.findall("收入 426,940,117 元；427 M CNY；88,730 lines") \
        == ["426,940,117 元"]


def test_english_words_leave_codes_and_the_allow_list_out():
    text = ("见 workbook.yaml（strategy:）与 report.show_rep_names；RFM 分群 under-penetrated 0.5；"
            "示例 - 超市.xls")
    assert english_words(text) == Counter({"under": 1, "penetrated": 1})
    assert LITERAL_BOLD.findall("魏** (S01) **bold** 上************") == ["**bold**"]
