"""Nothing lost from a headline: customers in no region row are their own lines.

Known answers on a generated US market (counted by hand below): 12 customers in
California (2 of them without a city), 5 in Texas, 3 in Puerto Rico (outside the
market's extent), 4 whose state is "Atlantis" (not resolved) and 2 in Mexico (abroad).
The whole market's headline counts all 26; California's report counts its 12; the
state reports plus the market's no-region lines add up to the market.
"""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from helpers import context
from helpers.analysis.extent import no_region
from helpers.steps import insight

#: (state, city, country, customers) of the fixture.
GROUPS = [("CA", "Los Angeles", "US", 6), ("CA", "San Diego", "US", 4), ("CA", "", "US", 2),
          ("TX", "Houston", "US", 5), ("PR", "San Juan", "US", 3), ("Atlantis", "", "US", 4),
          ("Jalisco", "Guadalajara", "MX", 2)]


def _amount(i: int) -> float:
    return 100.0 + 10.0 * i


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    """Customer ``i`` (numbered across the fixture) orders ``100 + 10 i`` once in 2025-06."""
    folder = tmp_path_factory.mktemp("noregion")
    (folder / "data").mkdir()
    rows, orders, i = [], [], 0
    for state, city, country, n in GROUPS:
        for _ in range(n):
            cid = f"C{i:03d}"
            rows.append({"id": cid, "state": state, "city": city, "country": country})
            orders.append({"order": f"O{i:03d}", "customer": cid, "date": "2025-06-15",
                           "amount": _amount(i)})
            i += 1
    pd.DataFrame(rows).to_csv(folder / "data" / "customers.csv", index=False)
    pd.DataFrame(orders).to_csv(folder / "data" / "orders.csv", index=False)
    config = {
        "project": {"name": "No-region fixture", "currency": "USD"},
        "paths": {"data": "data", "reports": "reports"},
        "sources": {
            "customers": [{"name": "crm", "file": "customers.csv",
                           "columns": {"customer_id": "id", "province": "state",
                                       "city": "city", "country": "country"}}],
            "orders": [{"name": "erp", "file": "orders.csv",
                        "columns": {"order_id": "order", "customer_id": "customer",
                                    "order_date": "date", "amount": "amount"},
                        "dates": {"order_date": "%Y-%m-%d"}}],
        },
        "geography": {"country": "US"},
    }
    path = folder / "workbook.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path, folder / "run"


def _revenue(*groups: int) -> float:
    """Revenue of the fixture's groups (indices into GROUPS), by hand."""
    start, total = 0, 0.0
    for g, (_, _, _, n) in enumerate(GROUPS):
        if g in groups:
            total += sum(_amount(i) for i in range(start, start + n))
        start += n
    return total


def _tables(market, region: str) -> dict:
    path, run = market
    ctx = context.open_step(region=region, config=str(path), run_dir=str(run))
    return insight.insight_tables(ctx)


def test_whole_market_counts_every_kept_customer(market):
    tables = _tables(market, "ALL")
    headline, lines = tables["headline"], tables["no_region"]
    assert headline["customers"] == 26
    assert headline["revenue"] == pytest.approx(_revenue(*range(len(GROUPS))))
    by_reason = lines.groupby("reason")["customers"].sum().to_dict()
    assert by_reason == {"outside_extent": 3, "abroad": 2, "unresolved": 4}
    assert list(lines["reason"]) == ["outside_extent", "abroad", "unresolved"]
    assert lines.loc[lines["reason"] == "unresolved", "revenue"].item() == pytest.approx(
        _revenue(5))
    assert lines.loc[lines["reason"] == "abroad", "revenue"].item() == pytest.approx(
        _revenue(6))
    assert lines["region"].isna().sum() == 2                      # abroad, unresolved
    # the region rows plus the no-region lines are every customer
    assert tables["region_kpis"]["customers"].sum() + lines["customers"].sum() == 26
    note = tables["notes"]["no_region"]
    assert note["customers"] == 9 and note["reasons"]["unresolved"]["customers"] == 4
    assert "9 customers in no region row" in note["text"]
    assert headline["no_region"]["revenue"] == pytest.approx(_revenue(4, 5, 6))


def test_a_state_report_counts_customers_without_a_city(market):
    tables = _tables(market, "California")
    headline = tables["headline"]
    assert headline["customers"] == 12                            # 10 with a city, 2 without
    assert headline["revenue"] == pytest.approx(_revenue(0, 1, 2))
    lines = tables["no_region"]
    assert list(lines["reason"]) == ["no_city"] and lines["customers"].item() == 2
    assert tables["region_kpis"]["customers"].sum() == 10


def test_state_reports_and_no_region_lines_reconcile_with_the_market(market):
    whole = _tables(market, "ALL")
    states = [_tables(market, name)["headline"] for name in ("California", "Texas")]
    outside = whole["no_region"]
    assert sum(h["customers"] for h in states) + outside["customers"].sum() == (
        whole["headline"]["customers"])
    assert sum(h["revenue"] for h in states) + outside["revenue"].sum() == pytest.approx(
        whole["headline"]["revenue"])


def test_the_report_says_who_is_in_no_region(market):
    path, run = market
    for lang, words in (("en", ["9 customer(s) are in no region", "4 whose place name",
                                "2 in other countries", "Puerto Rico"]),
                        ("zh", ["9 家客户不属于任何地区", "4 家的地名未能识别",
                                "2 家在其他国家"])):
        ctx = context.open_step(region="ALL", config=str(path), run_dir=str(run), lang=lang)
        shown = insight.section(ctx, insight.insight_tables(ctx), "region_kpis").text()
        for word in words:
            assert word in shown, (lang, word)


def test_no_lines_when_everyone_has_a_region():
    customers = pd.DataFrame({"customer_id": ["a", "b"], "province": ["California", "Texas"],
                              "country": ["US", "US"], "city": ["x", "y"]})
    orders = pd.DataFrame({"customer_id": ["a", "b"], "amount": [1.0, 2.0],
                           "order_date": pd.to_datetime(["2025-01-01", "2025-01-02"])})
    lines = no_region(customers, orders, level="province", areas=["California", "Texas"],
                      country="US")
    assert lines.empty and "reason" in lines.columns
    with pytest.raises(ValueError, match="level"):
        no_region(customers, orders, level="territory", areas=[], country="US")


def test_step2_lists_who_is_in_no_region(market):
    from helpers.steps import prep

    path, run = market
    ctx = context.open_step(region="ALL", config=str(path), run_dir=str(run))
    assert "4 whose place name could not be resolved" in prep.no_region(ctx).data
    assert prep.data_quality(ctx)["no_region"] == {"outside_extent": 3, "abroad": 2,
                                                    "unresolved": 4}
    texas = context.open_step(region="Texas", config=str(path), run_dir=str(run), lang="zh")
    assert prep.no_region(texas).data == "本报告的每家客户都属于某个地区。"
