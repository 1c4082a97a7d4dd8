"""One definition per number: every customer and revenue total of a run, on the index and in
the five reports and their saved files, agrees with the others of the same definition.

The definitions (catalog sections ``population`` and ``population_meaning``):

- all customers: every kept customer of the report (``headline.customers``), in a
  region row or not;
- active: a purchase in the ``active_months`` up to the end of the period
  (``headline.active_customers``);
- buying in the period: a purchase in the analysis period (``headline.customers_buying``,
  the customers the concentration counts); with the default 12-month period and
  ``active_months`` 12 the same customers as active;
- with orders to date: a purchase on or before the end of the period
  (``headline.customers_with_orders``: RFM, groups, lifetime value);
- net revenue in the period (``headline.revenue``).

One batch on the bundled sample: the whole market and one territory (South China).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from bs4 import BeautifulSoup


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _visible(path: Path) -> str:
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    for tag in soup(["script", "style", "iframe", "noscript", "template"]):
        tag.decompose()
    return re.sub(r"\s+", " ", soup.get_text(" ", strip=True))


def _int(text: str) -> int:
    return int(text.replace(",", ""))


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """The sample's whole market and South China, all five steps, in English."""
    from stubs import sample_config

    from helpers.run import batch

    folder = tmp_path_factory.mktemp("totals")
    config_path = sample_config(folder)
    assert batch.main(["--config", str(config_path), "--regions", "ALL,华南", "--jobs", "2",
                       "--reports", str(folder / "reports"), "--run-id", "totals",
                       "--lang", "en"]) == 0
    return folder / "reports" / "totals"


def _folders(run: Path) -> dict[str, Path]:
    manifest = _json(run / "manifest.json")
    return {r["kind"]: run / r["slug"] for r in manifest["regions"]}


@pytest.mark.kernel
def test_every_total_agrees_with_its_definition(run):
    folders = _folders(run)
    assert set(folders) == {"all", "territory"}
    index = BeautifulSoup((run / "index.html").read_text(encoding="utf-8"), "html.parser")
    market_ledger = _json(folders["all"] / "data_quality.json")
    for kind, folder in folders.items():
        headline = _json(folder / "headline.json")
        kpis = pd.read_csv(folder / "region_kpis.csv")
        unplaced = (pd.read_csv(folder / "no_region.csv") if (folder / "no_region.csv").exists()
                    else pd.DataFrame({"customers": [], "active_customers": [], "revenue": []}))
        # all customers: the region rows plus those in no region row; the ledger's scope
        everyone = int(kpis["customers"].sum() + unplaced["customers"].sum())
        assert headline["customers"] == everyone, kind
        active = int(kpis["active_customers"].sum() + unplaced["active_customers"].sum())
        assert headline["active_customers"] == active, kind
        revenue = float(kpis["revenue"].sum() + unplaced["revenue"].sum())
        assert headline["revenue"] == pytest.approx(revenue), kind
        # buying in the period: what the concentration of revenue across customers counts;
        # the same customers as active with the default windows (12 and 12 months)
        concentration = _json(folder / "concentration.json")
        assert concentration["customers"]["n"] == headline["customers_buying"], kind
        assert headline["active_months"] == 12
        assert headline["customers_buying"] == headline["active_customers"], kind
        # with orders to date: RFM, lifetime value and groups
        rfm = pd.read_csv(folder / "rfm.csv")
        notes = _json(folder / "insight_notes.json")
        assert len(rfm) == headline["customers_with_orders"], kind
        assert notes["ltv"]["customers"] == notes["clusters"]["customers"] == len(rfm), kind
        # the revenue bridge ends on the same net revenue, its regions on the region rows'
        bridge = pd.read_csv(folder / "revenue_bridge.csv")
        total = bridge.loc[bridge["is_total"]].iloc[0]
        assert total["revenue"] == pytest.approx(headline["revenue"]), kind
        assert total["change"] == pytest.approx(headline["bridge"]["change"]), kind
        regions = bridge.loc[~bridge["is_total"]].set_index("region")["revenue"]
        assert regions.to_dict() == pytest.approx(
            kpis.set_index("region")["revenue"].loc[regions.index].to_dict()), kind
        # step 5: tiers and the executive summary's size finding
        tiers = pd.read_csv(folder / "region_tiers.csv")
        assert float(tiers["revenue"].sum()) == pytest.approx(kpis["revenue"].sum()), kind
        summary = {f["kind"]: f for f in _json(folder / "executive_summary.json")["findings"]}
        if "size" in summary:
            assert summary["size"]["value"] == pytest.approx(headline["revenue"]), kind
            assert f"{headline['customers']:,} customers" in summary["size"]["text"]

        # what a reader sees: 01 and 02 count all customers, 04 the buying and the
        # customers with orders, 05 all customers again
        goals = _visible(folder / "01_goals.html")
        shown = re.search(r"([\d,]+) customers in scope \(all customers\)", goals)
        assert shown and _int(shown.group(1)) == headline["customers"], kind
        ledger = _json(folder / "data_quality.json")
        assert ledger["customers_in_scope"] == headline["customers"], kind
        insight = _visible(folder / "04_insight.html")
        counted = re.search(r"Customers counted: ([\d,]+) buying in the period", insight)
        assert counted and _int(counted.group(1)) == headline["customers_buying"], kind
        top20 = re.search(r"The top 20% of customers \([\d,]+ of ([\d,]+)\)", insight)
        assert top20 and _int(top20.group(1)) == headline["customers_buying"], kind
        groups = re.search(r"on ([\d,]+) customers with orders to date", insight)
        assert groups and _int(groups.group(1)) == headline["customers_with_orders"], kind
        strategy = _visible(folder / "05_strategy.html")
        if "size" in summary:
            assert f"{headline['customers']:,} customers, revenue" in strategy

        # the index: the market's figures on the first screen, the territory's card
        if kind == "all":
            figures = {div["class"][1]: div.find(class_="value").get_text(strip=True)
                       for div in index.select("#market .figure")}
            assert _int(figures["customers"]) == headline["customers"]
            assert _int(figures["active"]) == headline["active_customers"]
        else:
            card = index.find(id=f"region-{folder.name}")
            assert _int(card.find("dd", class_="customers").get_text()) == headline["customers"]
            assert _int(card.find("dd", class_="active").get_text()) == \
                headline["active_customers"]

    # the same definition gives the same number across reports: the territory's totals are
    # its provinces' rows in the whole market's report
    market = pd.read_csv(folders["all"] / "region_tiers.csv")
    territory = _json(folders["territory"] / "headline.json")
    provinces = market.loc[market["territory"] == territory["region"]]
    assert len(provinces) > 1
    assert territory["customers"] == int(provinces["customers"].sum())
    assert territory["revenue"] == pytest.approx(float(provinces["revenue"].sum()))
    assert market_ledger["customers_in_scope"] == _json(folders["all"] / "headline.json")[
        "customers"]
