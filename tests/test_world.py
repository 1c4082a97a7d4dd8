"""A world market (``geography.country: WORLD``): the regions are countries.

Known answers on a generated export of 352 customers in 31 countries (the United States
dominant, 120 customers), 2 in "Atlantis" and 3 without a country, with territories of
countries named in several spellings (UK, KR, 中国, Czechia ...).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from helpers import context, geo
from helpers.config import ConfigError, load_config
from helpers.geo import boundaries
from helpers.geo.scope import RegionError, Scope
from helpers.steps import insight, strategy
from helpers.text.lookup import region_label

#: Customers per country as the export spells it ("" = no country).
COUNTS = {"USA": 120, "Germany": 30, "France": 25, "United Kingdom": 22, "EIRE": 8, "Spain": 10,
          "Italy": 12, "Netherlands": 9, "Belgium": 6, "Switzerland": 5, "Austria": 4,
          "Poland": 4, "Sweden": 4, "Norway": 3, "Denmark": 3, "Japan": 10, "South Korea": 6,
          "China": 8, "Singapore": 5, "India": 6, "Australia": 7, "Brazil": 6, "Mexico": 5,
          "Canada": 12, "Israel": 3, "UAE": 3, "South Africa": 2, "Portugal": 3, "Greece": 2,
          "Finland": 2, "Czech Republic": 2, "Atlantis": 2, "": 3}
EUROPE = ["Germany", "France", "UK", "Ireland", "Spain", "Italy", "Netherlands", "Belgium",
          "Switzerland", "Austria", "Poland", "Sweden", "Norway", "Denmark", "Portugal",
          "Greece", "Finland", "Czechia"]


def _amount(i: int) -> float:
    return 20.0 + 7.0 * (i % 11)


def _config(geography: dict) -> dict:
    return {
        "project": {"name": "World fixture", "currency": "GBP"},
        "paths": {"data": "data", "reports": "reports"},
        "sources": {
            "customers": [{"name": "crm", "file": "customers.csv",
                           "columns": {"customer_id": "id", "country": "country"}}],
            "orders": [{"name": "erp", "file": "orders.csv",
                        "columns": {"order_id": "order", "customer_id": "customer",
                                    "order_date": "date", "amount": "amount"},
                        "dates": {"order_date": "%Y-%m-%d"}}],
        },
        "geography": geography,
    }


def _write(folder, config: dict):
    path = folder / "workbook.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), "utf-8")
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Customer ``i`` orders ``20 + 7 (i % 11)`` in each of the months 1..(1 + i % 12) of 2025."""
    folder = tmp_path_factory.mktemp("world")
    (folder / "data").mkdir()
    rows, orders, i = [], [], 0
    for country, n in COUNTS.items():
        for _ in range(n):
            rows.append({"id": f"C{i:04d}", "country": country})
            orders += [{"order": f"C{i:04d}-{m}", "customer": f"C{i:04d}",
                        "date": f"2025-{m:02d}-10", "amount": _amount(i)}
                       for m in range(1, 2 + i % 12)]
            i += 1
    pd.DataFrame(rows).to_csv(folder / "data" / "customers.csv", index=False)
    pd.DataFrame(orders).to_csv(folder / "data" / "orders.csv", index=False)
    path = _write(folder, _config({"country": "WORLD", "territories": {
        "Europe": EUROPE, "Asia Pacific": ["Japan", "KR", "中国", "Singapore", "India", "AUS"],
        "Americas": ["United States", "Canada", "Brazil", "Mexico"]}}))
    return path, folder / "run"


def _open(world, region: str = "ALL", lang: str = "en"):
    path, run = world
    return context.open_step(region=region, config=str(path), run_dir=str(run), lang=lang)


def _revenue(rows: range) -> float:
    return sum(_amount(i) * (1 + i % 12) for i in rows)


def test_countries_are_the_regions_in_any_spelling():
    found = geo.resolve_provinces(pd.Series(["EIRE", "USA", "德国", "kr", "GBR", "Atlantis"],
                                            dtype="string"), "WORLD")
    assert list(found["province"].iloc[:5]) == ["Ireland", "United States", "Germany",
                                                 "South Korea", "United Kingdom"]
    assert found["province_match"].iloc[5] == "unresolved"
    assert geo.nearest_names("Germny", "WORLD")[0] == "Germany"
    table = geo.provinces("WORLD").set_index("province")
    assert len(table) == 249 and table.loc["Germany", "province_zh"] == "德国"


def test_whole_world_counts_every_kept_customer(world):
    tables = insight.insight_tables(_open(world))
    headline, kpis = tables["headline"], tables["region_kpis"].set_index("region")
    assert headline["customers"] == sum(COUNTS.values()) == 352
    assert headline["revenue"] == pytest.approx(_revenue(range(352)))
    assert kpis.loc["United States", "customers"] == 120           # the dominant country
    assert kpis.loc["Ireland", "customers"] == 8                   # EIRE
    assert kpis.loc["United Arab Emirates", "customers"] == 3      # UAE
    assert kpis["customers"].sum() == 347
    lines = tables["no_region"]
    assert lines["reason"].tolist() == ["unresolved"] and lines["customers"].item() == 5
    # every country of the world is a region, the blank ones included (a map shows them)
    assert len(kpis) == 249 and kpis.loc["Nigeria", "customers"] == 0
    assert np.isfinite(kpis.loc["Nigeria", ["lat", "lon"]].astype(float)).all()
    # the gap model runs on the UN population of the countries, and says so
    assert tables["notes"]["gaps"]["inputs_key"] == "population_only"
    assert kpis.loc["Germany", "population_10k"] == pytest.approx(8362.8710)  # WPP 2024, 2020


def test_territories_of_countries(world):
    ctx = _open(world, "Europe")
    assert ctx.scope.kind == "territory" and len(ctx.scope.provinces) == 18
    tables = insight.insight_tables(ctx)
    europe = sum(COUNTS[c] for c in ["Germany", "France", "United Kingdom", "EIRE", "Spain",
                                     "Italy", "Netherlands", "Belgium", "Switzerland",
                                     "Austria", "Poland", "Sweden", "Norway", "Denmark",
                                     "Portugal", "Greece", "Finland", "Czech Republic"])
    assert tables["headline"]["customers"] == europe == 154
    plan = strategy.strategy_tables(ctx, tables)
    assert set(plan["tiers"]["region"]) <= set(ctx.scope.provinces)
    assert not plan["actions"]["action"].str.contains("WeChat").any()


def test_a_country_report_in_a_world_market(world):
    ctx = _open(world, "DE", lang="zh")
    assert ctx.scope.name == "Germany" and ctx.scope.label("zh") == "德国"
    tables = insight.insight_tables(ctx)
    assert tables["headline"]["customers"] == 30             # no cities: counted, no_city line
    assert tables["no_region"]["reason"].tolist() == ["no_city"]


def test_country_names_in_chinese_reports(world):
    kpis = insight.insight_tables(_open(world))["region_kpis"].head(3)
    assert list(region_label(kpis, "zh")) == ["美国", "德国", "法国"]
    assert list(region_label(kpis, "en")) == ["United States", "Germany", "France"]
    zh = _open(world, lang="zh")
    tables = insight.insight_tables(zh)
    shown = insight.section(zh, tables, "region_kpis").text() + insight.section(
        zh, tables, "gaps").text()
    assert "美国" in shown and "德国" in shown and "United States" not in shown


def test_wrong_names_list_the_nearest_valid_ones(world, tmp_path):
    path, _ = world
    config = load_config(path)
    with pytest.raises(RegionError, match=r"unknown region 'Germny'.*nearest: Germany"):
        Scope.parse("Germny", config)
    bad = _config({"country": "WORLD", "territories": {"Europe": ["Germany", "Frnace"]}})
    with pytest.raises(RegionError, match=r"territories.Europe: unknown country name.*"
                                          r"'Frnace': nearest France"):
        Scope.parse("Europe", load_config(_write(tmp_path, bad)))
    with pytest.raises(ConfigError, match=r"geography.country.*WORLD"):
        load_config(_write(tmp_path, _config({"country": "Atlantis"})))


def test_the_world_map_has_every_country_outline():
    outlines = boundaries.region_outlines("WORLD")
    assert len(outlines) > 240
    named = outlines.set_index("region_code")["region"]
    assert named["DE"] == "Germany" and named["KR"] == "South Korea"


def test_the_world_example_config_runs_on_an_export_of_its_layout(tmp_path):
    """examples/world.yaml on a generated invoice-line export with the layout and the
    traps it names: EIRE, RSA, USA, Channel Islands, Unspecified, European Community,
    cancelled invoices (C...) with negative quantities, lines without a CustomerID."""
    from helpers.config import PROJECT_ROOT

    spellings = {"United Kingdom": 40, "EIRE": 6, "France": 5, "Germany": 5, "RSA": 2,
                 "USA": 3, "Channel Islands": 2, "Unspecified": 2, "European Community": 1,
                 "Norway": 2, "Japan": 1}
    rows, n = [], 0
    for country, customers in spellings.items():
        for _ in range(customers):
            cid = 12000 + n
            for k in range(1 + n % 4):
                rows.append({"InvoiceNo": f"{500000 + 10 * n + k}", "StockCode": "85123A",
                             "Description": "WHITE HANGING HEART", "Quantity": 2 + k,
                             "InvoiceDate": f"2011-{1 + (n + 3 * k) % 12:02d}-0{1 + k} 10:15",
                             "UnitPrice": 2.55, "CustomerID": cid, "Country": country})
            n += 1
    rows.append({**rows[0], "InvoiceNo": "C599999", "Quantity": -2})     # a cancellation
    rows.append({**rows[1], "InvoiceNo": "599998", "CustomerID": None})  # no customer
    data = tmp_path / "data"
    data.mkdir()
    pd.DataFrame(rows).to_csv(data / "online_retail.csv", index=False)
    config = yaml.safe_load((PROJECT_ROOT / "examples" / "world.yaml").read_text("utf-8"))
    config["paths"] = {"data": str(data), "reports": str(tmp_path / "reports")}
    path = _write(tmp_path, config)
    ctx = context.open_step(config=str(path), run_dir=str(tmp_path / "run"))
    tables = insight.insight_tables(ctx)
    kpis = tables["region_kpis"].set_index("region")
    assert tables["headline"]["customers"] == n == 69                     # every kept customer
    assert kpis.loc["United Kingdom", "customers"] == 42                  # + Channel Islands
    assert kpis.loc["Ireland", "customers"] == 6 and kpis.loc["South Africa", "customers"] == 2
    assert kpis.loc["United States", "customers"] == 3
    lines = tables["no_region"].set_index("reason")
    assert lines.loc["unresolved", "customers"] == 3                      # Unspecified, EC
    ledger = ctx.prep.ledger
    orders = ledger[(ledger["table"] == "orders")]
    counted = orders.groupby("outcome")["rows"].sum()
    assert counted["read"] == len(rows)                                   # no line lost
    assert counted["read"] == counted.drop("read").sum()
    assert counted["quarantined"] >= 1                                    # the line without id
    home = context.open_step(region="Home market", config=str(path),
                             run_dir=str(tmp_path / "run"))
    assert insight.insight_tables(home)["headline"]["customers"] == 42
