"""Step 2 on the real datasets in ../shared/data/real, through the configs in examples/.

Every expected number here is computed independently with plain pandas from the
files themselves, not from the workbook. The tests skip when the folder is absent
(a fresh clone of the project does not have it).
"""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.config import PROJECT_ROOT, load_config
from helpers.data.ledger import check_ledger
from helpers.data.prepare import build_prep

REAL = PROJECT_ROOT.parent / "shared" / "data" / "real"
SUPERSTORE = REAL / "cn_superstore" / "示例 - 超市.xls"
OLIST = REAL / "olist"

pytestmark = pytest.mark.realdata
needs_superstore = pytest.mark.skipif(not SUPERSTORE.exists(), reason=f"{SUPERSTORE} not present")
needs_olist = pytest.mark.skipif(not OLIST.exists(), reason=f"{OLIST} not present")


def rows(result, table, outcome, reason=None):
    ledger = result.ledger.query("table == @table and outcome == @outcome")
    if reason is not None:
        ledger = ledger[ledger["reason"].str.contains(reason, regex=False)]
    return int(ledger["rows"].sum())


# --------------------------------------------------------------------------- superstore


@pytest.fixture(scope="module")
def superstore():
    return build_prep(load_config(PROJECT_ROOT / "examples" / "cn_superstore.yaml"))


@pytest.fixture(scope="module")
def superstore_raw():
    book = pd.ExcelFile(SUPERSTORE, engine="calamine")
    lines = pd.read_excel(book, sheet_name="订单", dtype=str)
    returned = pd.read_excel(book, sheet_name="退货", dtype=str)
    return lines, returned


@needs_superstore
def test_superstore_rows_customers_and_revenue(superstore, superstore_raw):
    lines, returned = superstore_raw
    is_returned = lines["订单 ID"].isin(returned["订单 ID"])
    assert len(lines) == 10_000
    assert rows(superstore, "orders", "read") == len(lines)
    assert rows(superstore, "orders", "quarantined", "return excluded") == int(is_returned.sum())
    assert len(superstore.orders) == int((~is_returned).sum())
    kept_revenue = lines.loc[~is_returned, "销售额"].astype(float).sum()
    assert superstore.orders["amount"].sum() == pytest.approx(kept_revenue, rel=1e-9)
    # customers derived from the order lines: one per 客户 ID
    assert len(superstore.customers) == lines["客户 ID"].nunique() == 790
    assert rows(superstore, "customers", "merged") == len(lines) - 790
    # an order is (订单 ID, 客户 ID, 订单日期): 订单 ID alone repeats across customers
    triples = lines.loc[~is_returned, ["订单 ID", "客户 ID", "订单日期"]].drop_duplicates()
    assert superstore.orders["order_id"].nunique() == len(triples)
    assert lines.groupby("订单 ID")["客户 ID"].nunique().max() > 1  # the trap is real
    totals = check_ledger(superstore.ledger)
    assert totals["balanced"].all()


@needs_superstore
def test_superstore_every_province_resolves(superstore, superstore_raw):
    lines, _ = superstore_raw
    names = lines["省/自治区"].unique()
    assert len(names) == 31
    assert superstore.customers["province"].notna().all()
    assert superstore.customers["province"].nunique() == 31
    assert not (superstore.unresolved["column"] == "province").any()
    assert superstore.customers["territory"].notna().all()


@needs_superstore
def test_superstore_location_is_the_most_frequent_ship_to(superstore, superstore_raw):
    lines, _ = superstore_raw
    # The ship-to is (province, city); count order lines per customer and place.
    counts = lines.groupby(["客户 ID", "省/自治区", "城市"]).size().rename("n").reset_index()
    top = counts.sort_values("n", ascending=False).groupby("客户 ID")
    first, second = top.nth(0).set_index("客户 ID"), top.nth(1).set_index("客户 ID")
    clear = first.index[~first.index.isin(second.index) | (
        first["n"] > second["n"].reindex(first.index).fillna(0))]
    expected = first.loc[clear, "省/自治区"]
    got = superstore.customers.set_index("customer_id").loc[clear, "province"]
    assert len(clear) > 500  # customers whose most frequent ship-to has no tie
    assert (got.str[:2] == expected.str[:2]).all()


@needs_superstore
def test_superstore_unresolved_cities_are_reported_with_counts(superstore):
    unresolved = superstore.unresolved
    assert set(unresolved.columns) >= {"column", "value", "rows", "nearest"}
    assert (unresolved["column"] == "city").all() and (unresolved["rows"] > 0).all()
    # every customer is located at least at its province's centre
    assert superstore.customers["geo_precision"].isin(["district", "city", "province"]).all()
    assert superstore.customers[["lat", "lon"]].notna().all().all()


# --------------------------------------------------------------------------- olist


@pytest.fixture(scope="module")
def olist():
    return build_prep(load_config(PROJECT_ROOT / "examples" / "olist.yaml"))


@pytest.fixture(scope="module")
def olist_raw():
    read = lambda name: pd.read_csv(OLIST / name, dtype=str)  # noqa: E731
    return {
        "orders": read("olist_orders_dataset.csv"),
        "customers": read("olist_customers_dataset.csv"),
        "payments": read("olist_order_payments_dataset.csv"),
        "geo": read("olist_geolocation_one_row_per_zip.csv"),
    }


@needs_olist
def test_olist_rows_customers_and_revenue(olist, olist_raw):
    orders, payments = olist_raw["orders"], olist_raw["payments"]
    paid = payments.assign(v=payments["payment_value"].astype(float)).groupby("order_id")["v"].sum()
    delivered = orders[orders["order_status"] == "delivered"]
    value = delivered["order_id"].map(paid)
    counted = delivered[value.notna() & (value != 0)]
    assert rows(olist, "orders", "read") == len(orders) == 22_870
    assert rows(olist, "orders", "quarantined", "not delivered") == int(
        (orders["order_status"] != "delivered").sum())
    assert len(olist.orders) == len(counted)
    assert olist.orders["amount"].sum() == pytest.approx(counted["order_id"].map(paid).sum(),
                                                        rel=1e-9)
    # the person is customer_unique_id, not the per-order customer_id
    people = olist_raw["customers"]["customer_unique_id"].nunique()
    assert len(olist.customers) == people == 22_684
    assert rows(olist, "customers", "merged") == 22_870 - people
    per_order = olist_raw["customers"].set_index("customer_id")["customer_unique_id"]
    expected = counted.set_index("order_id")["customer_id"].map(per_order)
    got = olist.orders.set_index("order_id")["customer_id"]
    assert (got.loc[expected.index] == expected).all()
    assert check_ledger(olist.ledger)["balanced"].all()


@needs_olist
def test_olist_all_27_states_resolve(olist, olist_raw):
    states = olist_raw["customers"]["customer_state"].unique()
    assert len(states) == 27
    assert olist.customers["province"].notna().all()
    assert olist.customers["province"].nunique() == 27
    assert set(olist.customers["province_code"].str[3:]) == set(states)
    assert olist.unresolved.empty
    assert set(olist.customers["territory"]) == {"Norte", "Nordeste", "Centro-Oeste", "Sudeste", "Sul"}


@needs_olist
def test_olist_coordinates_from_the_zip_table(olist, olist_raw):
    customers, points = olist_raw["customers"], olist_raw["geo"]
    first = customers.drop_duplicates("customer_unique_id")  # the first row of each person wins
    zip_key = first["customer_zip_code_prefix"].str.lstrip("0")
    table = points.assign(key=points["geolocation_zip_code_prefix"].str.lstrip("0")).set_index("key")
    lat = zip_key.map(table["geolocation_lat"].astype(float))
    lon = zip_key.map(table["geolocation_lng"].astype(float))
    has = lat.notna()
    far = has & ~(lat.between(-34, 6) & lon.between(-74, -34))  # far outside Brazil's box
    got = olist.customers.set_index("customer_id").loc[first["customer_unique_id"]]
    assert (got["geo_precision"] == "point").sum() == int(has.sum()) - int(
        (got["geo_flag"] == "outside_country").sum())
    assert int(far.sum()) >= 1
    assert (got.loc[far.to_numpy(), "geo_flag"] == "outside_country").all()
    # without a zip point: at their town when geonames has it (1,000+ people), else the state
    rest = got.loc[~has.to_numpy(), "geo_precision"]
    assert rest.isin(["city", "province"]).all() and (rest == "city").sum() > len(rest) / 2
    town = got[(got["geo_precision"] == "city")]
    assert town["lat"].between(-34, 6).all() and town["lon"].between(-74, -34).all()
    sao_paulo = town[town["city"].str.lower() == "sao paulo"]
    if len(sao_paulo):  # geonames' São Paulo: -23.5475, -46.63611
        assert sao_paulo["lat"].round(2).eq(-23.55).all()
    mine = got[got["geo_precision"] == "point"]
    assert mine["lat"].between(-34, 6).all() and mine["lon"].between(-74, -34).all()


# --------------------------------------------------------------------------- steps 2-5


def run_steps(config_name, run_dir, steps=("02", "03", "04", "05")):
    """Steps of the workbook for the whole market, as a batch would run them."""
    import papermill as pm

    from helpers.run.engine import ensure_kernel

    ensure_kernel()
    for step in steps:
        path = next((PROJECT_ROOT / "notebooks").glob(f"{step}_*.ipynb"))
        pm.execute_notebook(path, run_dir / path.name, cwd=str(path.parent), kernel_name="python3",
                            language="python", progress_bar=False,
                            parameters={"region": "ALL", "run_dir": str(run_dir),
                                        "config": str(PROJECT_ROOT / "examples" / config_name)})
    return run_dir / "all"


def _outputs(notebook) -> str:
    """The text of every output of an executed notebook (markdown and plain text)."""
    import nbformat

    shown = []
    for cell in nbformat.read(notebook, as_version=4).cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            shown.append(data.get("text/markdown", "") + data.get("text/plain", ""))
    return "\n".join(shown)


@pytest.mark.kernel
@needs_superstore
def test_superstore_steps_2_to_5(tmp_path, superstore):
    import json

    out = run_steps("cn_superstore.yaml", tmp_path)
    assert json.loads((out / "data_quality.json").read_text("utf-8"))["ledger_balanced"] is True
    kpis = pd.read_csv(out / "region_kpis.csv")
    assert len(kpis) == 31 and kpis["customers"].sum() == len(superstore.customers)
    tiers = pd.read_csv(out / "region_tiers.csv")
    assert len(tiers) == 31 and tiers["tier"].notna().all()
    assert (out / "actions.csv").exists() and (out / "rfm.csv").exists()
    # the product mix (类别: three categories) and the cohorts render in step 4
    notes = json.loads((out / "insight_notes.json").read_text("utf-8"))
    mix = pd.read_csv(out / "category_mix.csv")
    assert notes["mix"]["categories"] == 3 and set(mix["category"]) == {"办公用品", "技术", "家具"}
    assert mix["region"].nunique() == notes["mix"]["regions"] > 20
    assert notes["cohorts"]["customers"] > 700 and (out / "cohort_trend.csv").exists()
    shown = _outputs(tmp_path / "04_insight.ipynb")
    assert "3 categories; " in shown and "Customers are grouped by the quarter" in shown
    assert (out / "cross_sell_list.csv").exists()
    assert (out / "revenue_bridge.csv").exists() and (out / "forecast.csv").exists()
    # cross-sell gaps by customer segment: 细分 (mapped as channel) in place of regions
    assert notes["segment_mix"]["attributes"] == ["channel"]
    segments = pd.read_csv(out / "segment_mix.csv")
    assert set(segments["attribute"]) == {"channel"} and segments["value"].nunique() == 3
    assert "gap_type" in pd.read_csv(out / "cross_sell_list.csv").columns
    assert (out / "forecast_months.csv").exists()


@pytest.mark.kernel
@needs_olist
def test_olist_steps_2_to_5(tmp_path, olist):
    import json

    out = run_steps("olist.yaml", tmp_path)
    assert json.loads((out / "data_quality.json").read_text("utf-8"))["ledger_balanced"] is True
    kpis = pd.read_csv(out / "region_kpis.csv")
    assert len(kpis) == 27 and set(kpis["region"]) == set(olist.customers["province"])
    assert kpis["customers"].sum() == len(olist.customers)
    assert kpis["revenue"].sum() <= olist.orders["amount"].sum() + 1e-6
    tiers = pd.read_csv(out / "region_tiers.csv")
    assert len(tiers) == 27 and tiers["tier"].notna().all()
    assert (out / "rfm.csv").exists()
    # the orders carry no category (the items' products are not mapped): step 4 says so
    notes = json.loads((out / "insight_notes.json").read_text("utf-8"))
    assert notes["mix"]["reason_key"] == "no_category"
    assert notes["segment_mix"]["reason_key"] in ("no_category", "no_attributes")
    shown = _outputs(tmp_path / "04_insight.ipynb")
    assert "The orders have no product category" in shown
    # one order per person mostly: cohorts are counted, the sections render
    assert notes["cohorts"]["customers"] > 10_000
    assert "Customers are grouped by the quarter of their first purchase" in shown
    assert (out / "revenue_bridge.csv").exists() and (out / "forecast.csv").exists()


# --------------------------------------------------------------------------- who buys, how


def _insight(config_name, prep, tmp_path, lang):
    from helpers import context
    from helpers.steps import insight

    ctx = context.open_step(config=str(PROJECT_ROOT / "examples" / config_name),
                            run_dir=str(tmp_path / lang), lang=lang)
    ctx.__dict__["prep"] = prep                     # the module's prep, not built again
    return ctx, insight.insight_tables(ctx)


@needs_superstore
def test_superstore_profiles_seasons_and_discounts(tmp_path, superstore):
    """Superstore: 细分 (Segment) is the one profile attribute, four years of order dates
    give a seasonal index, and 折扣 (Discount) is related to quantity, observationally."""
    from helpers.steps import insight

    ctx, tables = _insight("cn_superstore.yaml", superstore, tmp_path, "zh")
    assert tables["notes"]["profiles"]["attributes"] == ["channel"]
    assert set(tables["profile_mix"]["value"]) == set(superstore.customers["channel"].dropna())
    season = tables["seasonality"].iloc[0]
    assert season["months"] >= 40 and season["reason_key"] == ""
    note = tables["notes"]["discount"]
    lines = superstore.orders.loc[ctx.period.contains(superstore.orders["order_date"])]
    assert note["computed"] and note["lines"] == int((lines["amount"] > 0).sum())
    assert note["discounted_lines"] == int(((lines["amount"] > 0)
                                            & (lines["discount"] > 0)).sum())
    rho, _ = __import__("scipy.stats", fromlist=["spearmanr"]).spearmanr(
        lines.loc[lines["amount"] > 0, "discount"], lines.loc[lines["amount"] > 0, "quantity"])
    assert note["spearman_quantity"] == pytest.approx(rho)
    assert tables["notes"]["weekdays"]["has_time"] is False
    for key in ("profiles", "buying", "seasonality", "discounts"):
        said = insight.section(ctx, tables, key).text()
        assert said and "nan" not in said.lower()
    assert "这只是观察结果，不是实验" in insight.section(ctx, tables, "discounts").text()


@needs_olist
def test_olist_consumers_with_timestamps_and_one_order_each(tmp_path, olist):
    """Olist: no profile attribute mapped, time stamps, almost everyone buys once, 21
    complete months (too few for seasonality), no discount: each section says so."""
    from helpers.steps import insight

    ctx, tables = _insight("olist.yaml", olist, tmp_path, "en")
    notes = tables["notes"]
    assert notes["profiles"]["reason_key"] == "no_attributes"
    assert notes["weekdays"]["has_time"] is True
    whole = tables["buying"].iloc[0]
    assert whole["one_day_share"] > 0.95 and whole["intervals"] < 0.05 * whole["buyers"]
    assert tables["seasonality"].iloc[0]["reason_key"] == "short_history"
    assert notes["discount"]["reason_key"] == "no_discount_column"
    assert "No customer attribute to profile" in insight.section(ctx, tables, "profiles").text()
    said = insight.section(ctx, tables, "seasonality").text()
    assert "Seasonality is not measured" in said and "Orders carry a time stamp" in said
