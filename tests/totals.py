"""One definition per number, checked on a finished run (``check_run``): every customer and
revenue total on the index, in the five reports and in their saved files agrees with the
others of the same definition (catalog sections ``population`` and ``population_meaning``):

- all customers: every kept customer of the report (``headline.customers``), in a
  region row or not;
- active: a purchase in the ``active_months`` up to the end of the period
  (``headline.active_customers``);
- buying in the period: a purchase in the analysis period (``headline.customers_buying``,
  the customers the concentration counts);
- with orders to date: a purchase on or before the end of the period
  (``headline.customers_with_orders``: RFM, groups, lifetime value);
- net revenue in the period (``headline.revenue``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from bs4 import BeautifulSoup

#: How the reports say each count, per language (the number is the first group).
SAID = {
    "en": {"goals": r"([\d,]+) customers in scope \(all customers\)",
           "counted": r"Customers counted: ([\d,]+) buying in the period",
           "top20": r"The top 20% of customers \([\d,]+ of ([\d,]+)\)",
           "with_orders": r"on ([\d,]+) customers with orders to date",
           "size": "{customers:,} customers, revenue"},
    "zh": {"goals": r"范围内 ([\d,]+) 家客户（全部客户）",
           "counted": r"计入客户：([\d,]+) 家分析期内有购买的客户",
           "top20": r"前20%的客户（([\d,]+)个中的",
           "with_orders": r"对 ([\d,]+) 家有订单记录的客户",
           "size": "{customers:,} 家客户，分析期收入"},
}


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def visible(path: Path) -> str:
    """What a reader sees of a page, whitespace collapsed."""
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    for tag in soup(["script", "style", "iframe", "noscript", "template"]):
        tag.decompose()
    return re.sub(r"\s+", " ", soup.get_text(" ", strip=True))


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def folders(run: Path) -> dict[str, Path]:
    """The run's region folders by kind (``all``, ``territory``, ``province`` ...)."""
    return {r["kind"]: run / r["slug"] for r in read_json(run / "manifest.json")["regions"]}


def _said(pattern: str, text: str, kind: str) -> int:
    found = re.search(pattern, text)
    assert found, (kind, pattern)
    return _int(found.group(1))


def check_scope(folder: Path, index: BeautifulSoup, kind: str, lang: str) -> dict:
    """Every total of one region's reports and files against its definition; returns the
    region's ``headline.json``."""
    said = SAID[lang]
    headline = read_json(folder / "headline.json")
    kpis = pd.read_csv(folder / "region_kpis.csv")
    unplaced = (pd.read_csv(folder / "no_region.csv") if (folder / "no_region.csv").exists()
                else pd.DataFrame({"customers": [], "active_customers": [], "revenue": []}))
    # all customers: the region rows plus those in no region row; the ledger's scope
    assert headline["customers"] == int(kpis["customers"].sum() + unplaced["customers"].sum())
    assert headline["active_customers"] == int(kpis["active_customers"].sum()
                                               + unplaced["active_customers"].sum()), kind
    revenue = float(kpis["revenue"].sum() + unplaced["revenue"].sum())
    assert headline["revenue"] == pytest.approx(revenue), kind
    assert read_json(folder / "data_quality.json")["customers_in_scope"] == \
        headline["customers"], kind
    # buying in the period: what the concentration of revenue across customers counts
    concentration = read_json(folder / "concentration.json")
    assert concentration["customers"]["n"] == headline["customers_buying"], kind
    # with orders to date: RFM, lifetime value and groups
    rfm = pd.read_csv(folder / "rfm.csv")
    notes = read_json(folder / "insight_notes.json")
    assert len(rfm) == headline["customers_with_orders"], kind
    assert notes["ltv"]["customers"] == len(rfm), kind
    if notes["clusters"].get("customers") is not None:
        assert notes["clusters"]["customers"] == len(rfm), kind
    # step 5: tiers and the executive summary's size finding
    tiers = pd.read_csv(folder / "region_tiers.csv")
    assert float(tiers["revenue"].sum()) == pytest.approx(kpis["revenue"].sum()), kind
    summary = {f["kind"]: f for f in read_json(folder / "executive_summary.json")["findings"]}
    size = said["size"].format(customers=headline["customers"])
    if "size" in summary:
        assert summary["size"]["value"] == pytest.approx(headline["revenue"]), kind
        assert summary["size"]["text"].startswith(size), kind

    # what a reader sees: 01 counts all customers, 04 the buying and the customers with
    # orders, 05 all customers again
    assert _said(said["goals"], visible(folder / "01_goals.html"), kind) == headline["customers"]
    insight = visible(folder / "04_insight.html")
    assert _said(said["counted"], insight, kind) == headline["customers_buying"]
    assert _said(said["top20"], insight, kind) == headline["customers_buying"]
    if re.search(said["with_orders"], insight):  # groups or lifetime value were shown
        assert _said(said["with_orders"], insight, kind) == headline["customers_with_orders"]
    if "size" in summary:
        assert size in visible(folder / "05_strategy.html"), kind

    # the index: the market's figures on the first screen, a region's card
    if kind == "all":
        figures = {div["class"][1]: div.find(class_="value").get_text(strip=True)
                   for div in index.select("#market .figure")}
        assert _int(figures["customers"]) == headline["customers"]
        assert _int(figures["active"]) == headline["active_customers"]
    else:
        card = index.find(id=f"region-{folder.name}")
        assert _int(card.find("dd", class_="customers").get_text()) == headline["customers"]
        assert _int(card.find("dd", class_="active").get_text()) == headline["active_customers"]
    return headline


def check_run(run: Path, lang: str = "en") -> dict[str, dict]:
    """:func:`check_scope` for every region of a finished run; the headlines by kind."""
    index = BeautifulSoup((run / "index.html").read_text(encoding="utf-8"), "html.parser")
    return {kind: check_scope(folder, index, kind, lang) for kind, folder in folders(run).items()}
