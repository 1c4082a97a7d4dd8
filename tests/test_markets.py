"""Markets through configuration alone: a US market whose customers are located by the
ship-to state and city of their orders, its headline, blank states and extent; the
filled maps of a US and a world market show the blank regions.

Known answers by hand: 12 customers ship to California (Los Angeles, San Diego), 6 to
Texas (Houston), 2 to Puerto Rico (outside the extent), 1 has no ship-to at all.
"""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from helpers import context
from helpers.steps import insight, strategy
from helpers.viz.maps import regions
from helpers.viz.maps.area import MapArea

#: customer -> ship-to (state, city) of its orders; None: no ship-to.
SHIP_TO = {**{f"CA{i:02d}": ("CA", "Los Angeles" if i % 2 else "San Diego") for i in range(12)},
           **{f"TX{i:02d}": ("Texas", "Houston") for i in range(6)},
           **{f"PR{i:02d}": ("PR", "San Juan") for i in range(2)},
           "XX00": None}


@pytest.fixture(scope="module")
def ship_to_market(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shipto")
    (folder / "data").mkdir()
    customers = pd.DataFrame({"id": list(SHIP_TO), "name": [f"Customer {c}" for c in SHIP_TO]})
    orders = []
    for k, (cid, place) in enumerate(SHIP_TO.items()):
        for m in range(1, 4):
            orders.append({"order": f"{cid}-{m}", "customer": cid, "date": f"2025-{m * 3:02d}-01",
                           "amount": 100.0 + k, "ship_state": place[0] if place else "",
                           "ship_city": place[1] if place else ""})
    customers.to_csv(folder / "data" / "customers.csv", index=False)
    pd.DataFrame(orders).to_csv(folder / "data" / "orders.csv", index=False)
    config = {
        "project": {"name": "Ship-to fixture", "currency": "USD"},
        "paths": {"data": "data", "reports": "reports"},
        "sources": {
            "customers": [{"name": "crm", "file": "customers.csv",
                           "columns": {"customer_id": "id", "name": "name"}}],
            "orders": [{"name": "erp", "file": "orders.csv",
                        "columns": {"order_id": "order", "customer_id": "customer",
                                    "order_date": "date", "amount": "amount",
                                    "province": "ship_state", "city": "ship_city"},
                        "dates": {"order_date": "%Y-%m-%d"}}],
        },
        "geography": {"country": "US", "customer_location": "most_frequent"},
    }
    path = folder / "workbook.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), "utf-8")
    ctx = context.open_step(config=str(path), run_dir=str(folder / "run"))
    tables = insight.insight_tables(ctx)
    return ctx, tables, strategy.strategy_tables(ctx, tables)


def test_customers_take_the_ship_to_of_their_orders(ship_to_market):
    ctx, tables, _ = ship_to_market
    customers = ctx.prep.customers.set_index("customer_id")
    assert customers.loc["CA01", "province"] == "California"
    assert customers.loc["CA01", "city"] == "Los Angeles"
    assert customers.loc["CA01", "geo_precision"] == "city"            # at its town
    assert pd.isna(customers.loc["XX00", "province"])


def test_ship_to_headline_counts_every_kept_customer(ship_to_market):
    _, tables, plan = ship_to_market
    headline = tables["headline"]
    assert headline["customers"] == len(SHIP_TO) == 21
    revenue = sum(3 * (100.0 + k) for k in range(len(SHIP_TO)))
    assert headline["revenue"] == pytest.approx(revenue)
    lines = tables["no_region"].set_index("reason")
    assert lines.loc["outside_extent", "customers"] == 2                # Puerto Rico
    assert lines.loc["unresolved", "customers"] == 1                    # no ship-to
    kpis = tables["region_kpis"].set_index("region")
    assert kpis.loc["California", "customers"] == 12 and kpis.loc["Texas", "customers"] == 6
    assert len(kpis) == 51 and "Puerto Rico" not in kpis.index
    assert "Puerto Rico" not in set(plan["tiers"]["region"])
    assert "Puerto Rico" not in set(plan["actions"]["region"])


def test_blank_states_show_on_the_us_map(ship_to_market):
    ctx, tables, _ = ship_to_market
    result = regions.region_map(tables["region_kpis"], area=MapArea.of(ctx.scope, ctx.config))
    page = result.map.get_root().render()
    assert result.features == 51                                        # every state outlined
    assert page.count("wb-no_customers") >= 49                          # 49 states without
    assert "Wyoming" in page


def test_blank_countries_show_on_the_world_map():
    kpis = pd.DataFrame({"region": ["Germany", "France", "Nigeria"], "region_en": None,
                         "level": "province", "lat": [51.2, 47.3, 9.1], "lon": [10.4, 2.5, 8.7],
                         "customers": [30, 25, 0], "revenue": [900.0, 600.0, 0.0]})
    result = regions.region_map(kpis, area=MapArea(country="WORLD", tiles=None))
    page = result.map.get_root().render()
    assert result.features > 240 and "Nigeria" in page and "wb-no_customers" in page
