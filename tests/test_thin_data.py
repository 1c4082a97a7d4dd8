"""Thin data (issue 12): every method checks whether the data can carry it, and says so.

Each fixture is generated here, as a real export of that shape would arrive: one month of
data; one order per customer; a baseline with 9 days of data; no coordinates (customers at
their state's centre); ties everywhere; one region only; two customers. The tests assert the
statements the workbook makes (the notes' keys in ``insight_notes.json`` and the rendered
words, English and Chinese) and that nothing crashes, at the level of the step functions
(no kernel); one kernel test runs the batch end to end on two fixtures.
"""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import yaml

from helpers import context
from helpers.analysis import kpis as region_measures
from helpers.analysis import segments
from helpers.analysis.customers import purchase_summary
from helpers.period import Period, order_days
from helpers.steps import insight, strategy

#: Customers per province of the China fixtures: Henan (about 99 million people) has one
#: customer where some twenty are expected, the others are near their expected count.
CN_CUSTOMERS = {"广东": 20, "江苏": 16, "浙江": 14, "山东": 14, "北京": 10, "上海": 10,
                "四川": 10, "湖北": 8, "福建": 8, "湖南": 8, "河北": 8, "安徽": 6,
                "河南": 1}


def _config(country: str = "CN", currency: str = "CNY") -> dict:
    return {
        "project": {"name": "thin fixture", "currency": currency},
        "paths": {"data": "data", "reports": "reports"},
        "sources": {
            "customers": [{"name": "crm", "file": "customers.csv",
                           "columns": {"customer_id": "id", "province": "province",
                                       "city": "city"}}],
            "orders": [{"name": "erp", "file": "orders.csv",
                        "columns": {"order_id": "order", "customer_id": "customer",
                                    "order_date": "date", "amount": "amount"},
                        "dates": {"order_date": "%Y-%m-%d"}}],
        },
        "geography": {"country": country},
    }


def _market(folder, customers: list[dict], orders: list[dict], config: dict | None = None):
    """Write a generated export and its workbook.yaml under ``folder``; the path of the config."""
    (folder / "data").mkdir(parents=True)
    pd.DataFrame(customers, columns=["id", "province", "city"]).to_csv(
        folder / "data" / "customers.csv", index=False)
    pd.DataFrame(orders, columns=["order", "customer", "date", "amount"]).to_csv(
        folder / "data" / "orders.csv", index=False)
    path = folder / "workbook.yaml"
    path.write_text(yaml.safe_dump(config or _config(), allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return path


def _cn_customers() -> list[dict]:
    return [{"id": f"{p}{i:02d}", "province": p, "city": ""}
            for p, n in CN_CUSTOMERS.items() for i in range(n)]


def _one_month(folder):
    """A marketplace export: March 2025 only, one order per customer, every amount its own."""
    people = _cn_customers()
    orders = [{"order": f"o{k}", "customer": c["id"], "date": f"2025-03-{1 + k % 28:02d}",
               "amount": 100.0 + 7 * (k % 20)} for k, c in enumerate(people)]
    return _market(folder, people, orders)


def _nine_day_baseline(folder):
    """Twelve months of 2025 and the last 9 days of 2024: the year before has 9 days of data."""
    people = _cn_customers()
    orders = []
    for k, c in enumerate(people):
        orders.append({"order": f"b{k}", "customer": c["id"],
                       "date": f"2024-12-{23 + k % 9:02d}", "amount": 20.0})
        orders += [{"order": f"o{k}-{m}", "customer": c["id"], "date": f"2025-{m:02d}-10",
                    "amount": 50.0 + k} for m in range(1, 13)]
    return _market(folder, people, orders)


def _open(path, folder, **parameters):
    return context.open_step(config=str(path), run_dir=str(folder / "run"), **parameters)


def _steps(ctx):
    tables = insight.insight_tables(ctx)
    return tables, strategy.strategy_tables(ctx, tables)


def _words(ctx, tables, key: str) -> str:
    return insight.section(ctx, tables, key).text()


@pytest.fixture(scope="module")
def one_month(tmp_path_factory):
    folder = tmp_path_factory.mktemp("one_month")
    path = _one_month(folder)
    ctx = _open(path, folder)
    return (ctx, *_steps(ctx))


@pytest.fixture(scope="module")
def nine_days(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nine_days")
    path = _nine_day_baseline(folder)
    ctx = _open(path, folder, period_end="2025-12-31")
    return (ctx, *_steps(ctx))


# ----------------------------------------------------------------------- the coverage rule


def test_coverage_of_a_window_by_hand():
    window = Period.ending("2024-12-31", 12)                  # 2024-01-01 .. 2024-12-31
    dates = pd.Series([pd.Timestamp("2024-12-23"), pd.Timestamp("2024-12-31 15:30"),
                       pd.Timestamp("2025-03-01")])
    got = window.coverage(dates)
    assert got["days"] == 366 and got["days_covered"] == 9
    assert got["coverage"] == pytest.approx(9 / 366) and not got["enough"]
    assert got["days_with_orders"] == 2 and "orders" not in got
    assert window.coverage(order_days(dates)) == got          # the distinct days suffice
    full = window.coverage(pd.Series(pd.to_datetime(["2023-06-01", "2025-01-05"])))
    assert full["coverage"] == 1.0 and full["enough"] and full["days_with_orders"] == 0
    # quiet days inside the data's span count as covered; an export after the window covers none
    assert window.coverage(pd.Series(pd.to_datetime(["2025-02-01"])))["days_covered"] == 0
    assert window.coverage(dates, min_coverage=0.02)["enough"]
    with pytest.raises(ValueError, match="min_coverage"):
        window.coverage(dates, min_coverage=80)


def test_baselines_name_the_thin_window():
    period = Period.ending("2025-03-28", 12)
    dates = pd.Series(pd.date_range("2025-03-01", "2025-03-28"))
    got = region_measures.baselines(period, dates=dates)
    assert got["reason_key"] == "thin_baseline"
    assert got["yoy"]["days_covered"] == 0 and not got["recent"]["enough"]


# ----------------------------------------------------------------------- one month of data


def test_one_month_has_no_growth_and_says_why(one_month):
    ctx, tables, _ = one_month
    kpis = tables["region_kpis"]
    assert kpis["growth_yoy"].isna().all() and kpis["growth_pop"].isna().all()
    assert not kpis["baseline_ok"].any() and (kpis["baseline_coverage"] == 0).all()
    assert tables["headline"]["growth_yoy"] is None
    note = tables["notes"]["growth"]
    assert note["reason_key"] == "thin_baseline" and note["yoy"]["days_covered"] == 0
    assert note["yoy_reason"] == ("growth on the year before not measured: the data cover 0 of "
                                  "the 366 days of 2023-03-29 – 2024-03-28 (at least 80% needed)")
    words = _words(ctx, tables, "region_kpis")
    assert "Growth on the year before is not measured" in words
    assert "no region is tiered emerging or declining" in words
    folder = ctx.out.parent.parent
    zh = _open(folder / "workbook.yaml", folder, lang="zh")
    assert "未计算同比增长" in _words(zh, tables, "region_kpis")


def test_one_month_tiers_fall_back_to_rules_without_growth(one_month):
    ctx, _, plan = one_month
    tiers = plan["tiers"].set_index("region")
    assert not tiers["tier"].isin(["emerging", "declining"]).any()
    assert set(tiers["tier_rule"]) <= {"core_share", "gap", "steady_no_growth", "no_customers"}
    # Henan: 1 customer where several are expected is a gap, not emerging
    henan = tiers.loc["河南省"]
    assert henan["gap_ratio"] < 0.5 and henan["revenue"] > 0
    assert (henan["tier"], henan["tier_rule"]) == ("gap", "gap")
    top = tiers.sort_values("share").iloc[-1]               # core by its share alone
    assert (top["tier"], top["tier_rule"]) == ("core", "core_share")
    assert "growth not measured: the data cover 0.0% of the year before" in top["tier_reason"]
    anhui = tiers.loc["安徽省"]                               # 6 customers, a small share
    assert anhui["share"] < 0.05 and anhui["gap_ratio"] >= 0.5
    assert (anhui["tier"], anhui["tier_rule"]) == ("steady", "steady_no_growth")
    shown = strategy.tiers_section(ctx, plan).text()
    assert "Without growth." in shown and "No region is tiered emerging or declining" in shown


def test_one_month_summary_names_no_fastest_growing_region(one_month):
    _, _, plan = one_month
    said = " ".join(f["text"] for f in plan["summary"]["findings"])
    kinds = [f.get("kind") for f in plan["summary"]["findings"]]
    assert "emerging" not in kinds and "growing" not in said.lower()
    assert "on the baseline" not in said


def test_one_order_each_makes_no_frequent_buyers(one_month):
    ctx, tables, _ = one_month
    rfm = tables["rfm"]
    assert (rfm["frequency"] == 1).all() and set(rfm["f_score"]) == {1}
    frequent = {"champions", "loyal", "potential loyalists", "cannot lose them", "at risk",
                "need attention"}
    assert not rfm["segment"].isin(frequent).any()
    note = tables["notes"]["segments"]
    assert note["reason_key"] == "frequency_uninformative"
    assert note["statements"][0].startswith("every customer has 1 order(s): frequency carries "
                                            "no information")
    words = _words(ctx, tables, "segments")
    assert "What the scores can tell apart" in words and "no one is called a frequent buyer" \
        in words
    assert "Champions" not in words


# ----------------------------------------------------------------------- a 9-day baseline


def test_nine_day_baseline_is_not_a_baseline(nine_days):
    ctx, tables, plan = nine_days
    note = tables["notes"]["growth"]
    assert note["yoy"]["days_covered"] == 9 and note["yoy"]["days"] == 366     # 2024
    assert note["reason_key"] == "thin_baseline"
    assert note["recent"]["enough"]                       # the last quarter has its quarter
    kpis = tables["region_kpis"]
    # without the rule growth would be about +2,700%: 12 months of 50+ against 20
    sold = kpis["customers"] > 0
    raw = kpis.loc[sold, "revenue"] / kpis.loc[sold, "revenue_last_year"] - 1
    assert (raw > 20).all() and kpis["growth_yoy"].isna().all()
    assert kpis.loc[sold, "growth_pop"].notna().all()
    assert "9 of the 366 days" in _words(ctx, tables, "region_kpis")
    assert not plan["tiers"]["tier"].isin(["emerging", "declining"]).any()
    on_disk = json.loads(json.dumps(tables["notes"], default=str))
    assert "9 of the 366 days of 2024-01-01 – 2024-12-31" in on_disk["growth"]["yoy_reason"]


def test_a_covered_baseline_still_measures_growth(tmp_path):
    """Control: the same customers over two full years are measured and tiered by growth."""
    people = _cn_customers()
    orders = [{"order": f"o{k}-{y}-{m}", "customer": c["id"], "date": f"{y}-{m:02d}-10",
               "amount": (50.0 if y == 2024 else 80.0) + k}
              for k, c in enumerate(people) for y in (2024, 2025) for m in range(1, 13)]
    path = _market(tmp_path, people, orders)
    ctx = _open(path, tmp_path)
    tables, plan = _steps(ctx)
    kpis = tables["region_kpis"]
    assert kpis["baseline_ok"].all()
    assert kpis.loc[kpis["customers"] > 0, "growth_yoy"].notna().all()
    assert "reason_key" not in tables["notes"]["growth"]
    assert "not measured" not in _words(ctx, tables, "region_kpis")
    rules = set(plan["tiers"]["tier_rule"])                 # +60% against a real baseline
    assert "core" in rules and not rules & {"core_share", "steady_no_growth"}


# ----------------------------------------------------------------------- no coordinates


@pytest.fixture(scope="module")
def state_centroids(tmp_path_factory):
    """A US export with state names, city names no gazetteer knows (sales zones) and no
    coordinates: every customer of a state is placed at the state's centre."""
    folder = tmp_path_factory.mktemp("centroids")
    cities = [f"Sales zone {z}" for z in "ABCDEFGHIJ"]
    people = [{"id": f"CA{i:03d}", "province": "CA", "city": cities[i % len(cities)]}
              for i in range(60)]
    people += [{"id": f"TX{i:03d}", "province": "TX", "city": "Sales zone K"} for i in range(10)]
    orders = [{"order": f"o{k}-{m}", "customer": c["id"], "date": f"2025-{m:02d}-15",
               "amount": 100.0 * (1 + k % 10) ** 2}
              for k, c in enumerate(people) for m in range(1, 1 + k % 4)]
    path = _market(folder, people, orders, _config("US", "USD"))
    return path, folder


def test_state_centroids_give_no_city_hot_spots_or_isolation(state_centroids):
    path, folder = state_centroids
    ctx = _open(path, folder, region="California")
    assert ctx.scope.sublevel == "city"
    assert set(ctx.customers["geo_precision"]) == {"province"}
    tables, _ = _steps(ctx)
    kpis = tables["region_kpis"]
    assert kpis["lat"].isna().all()                        # no city has a position of its own
    hot = tables["notes"]["hotspots"]
    assert not hot["computed"] and hot["reason_key"] == "centroids"
    assert hot["centroids"] == 60 and hot["customers"] == 60
    assert kpis["gi_bin"].isna().all() and tables["headline"]["hot_spots"] == []
    assert "placed only at the centre of their province, state or country" in hot["reason"]
    iso = tables["notes"]["isolation"]
    assert iso["reason_key"] == "centroids" and iso["centroids"] == 70
    assert tables["isolated_customers"].empty
    assert "which says nothing about the distance between customers" in iso["reason"]
    assert "No isolation check" in _words(ctx, tables, "isolated")
    assert "No hot" in _words(ctx, tables, "hotspots") or "centre" in _words(ctx, tables,
                                                                             "hotspots")
    zh = _open(path, folder, region="California", lang="zh")
    assert "中心点" in _words(zh, tables, "isolated")


def test_known_cities_outside_china_are_placed_at_their_town(tmp_path):
    """The same kind of export with real city names: each customer sits at its town
    (geonames), precision ``city``, so a state report's cities have positions."""
    cities = ["Los Angeles", "San Diego", "San Jose", "Fresno", "Sacramento", "Oakland",
              "Long Beach", "Bakersfield", "Anaheim", "Riverside"]
    people = [{"id": f"CA{i:03d}", "province": "CA", "city": cities[i % len(cities)]}
              for i in range(60)]
    people += [{"id": "NY000", "province": "NY", "city": "New York"}]     # New York City
    orders = [{"order": f"o{k}", "customer": c["id"], "date": "2025-03-15", "amount": 100.0}
              for k, c in enumerate(people)]
    path = _market(tmp_path, people, orders, _config("US", "USD"))
    ctx = _open(path, tmp_path, region="California")
    assert set(ctx.customers["geo_precision"]) == {"city"}
    la = ctx.customers[ctx.customers["city"] == "Los Angeles"].iloc[0]
    assert (round(la["lat"], 2), round(la["lon"], 2)) == (34.05, -118.24)    # geonames
    kpis = ctx.kpis_by_region()
    assert kpis["lat"].notna().all() and len(kpis) == 10
    new_york = _open(path, tmp_path).prep.customers.set_index("customer_id").loc["NY000"]
    assert new_york["geo_precision"] == "city" and round(new_york["lat"], 1) == 40.7


# ----------------------------------------------------------------------- ties, one region, two


def test_ties_everywhere(tmp_path):
    """Same day, one order, same amount: recency, frequency and spend carry no information."""
    people = _cn_customers()
    orders = [{"order": f"o{k}", "customer": c["id"], "date": "2025-03-10", "amount": 100.0}
              for k, c in enumerate(people)]
    ctx = _open(_market(tmp_path, people, orders), tmp_path)
    tables, plan = _steps(ctx)
    note = tables["notes"]["segments"]
    assert note["uninformative"] == ["recency_days", "frequency", "monetary"]
    rfm = tables["rfm"]
    assert rfm["rfm_score"].nunique() == 1 and rfm["segment"].nunique() == 1
    words = _words(ctx, tables, "segments")
    assert "recency carries no information" in words and "spend carries no information" in words
    assert "no one is called a frequent buyer" in words
    assert tables["notes"]["clusters"]["reason_key"] == "alike"
    assert "look the same on every measure" in _words(ctx, tables, "clusters")
    assert plan["summary"]["findings"]


def test_a_large_tie_on_frequency_is_said(tmp_path):
    """A marketplace: most bought once; they share the lowest frequency score."""
    people = _cn_customers()
    orders = [{"order": f"o{k}", "customer": c["id"], "date": f"2025-03-{1 + k % 28:02d}",
               "amount": 100.0 + k} for k, c in enumerate(people)]
    orders += [{"order": f"r{k}", "customer": c["id"], "date": "2025-02-01", "amount": 30.0}
               for k, c in enumerate(people[:6])]
    summary = purchase_summary(pd.DataFrame(
        {"order_id": [o["order"] for o in orders],
         "customer_id": [o["customer"] for o in orders],
         "order_date": pd.to_datetime([o["date"] for o in orders]),
         "amount": [o["amount"] for o in orders]}))
    table = segments.rfm(summary)
    info = segments.rfm_information(table)
    tie = info["tied"]["frequency"]
    assert tie["value"] == 1 and tie["customers"] == len(people) - 6 and tie["score"] == 1
    assert not table.loc[table["frequency"] == 1, "segment"].isin(
        ["champions", "loyal", "cannot lose them"]).any()
    ctx = _open(_market(tmp_path, people, orders), tmp_path)
    tables, _ = _steps(ctx)
    assert "127 customers (95%) have 1 order(s): they share one frequency score (1)" in \
        _words(ctx, tables, "segments")


def test_one_region_only(tmp_path):
    people = [{"id": f"g{i:02d}", "province": "广东", "city": "深圳"} for i in range(12)]
    orders = [{"order": f"o{i}-{m}", "customer": c["id"], "date": f"2025-{m:02d}-0{1 + i % 9}",
               "amount": 100.0 + i} for i, c in enumerate(people) for m in range(1, 4)]
    ctx = _open(_market(tmp_path, people, orders), tmp_path)
    tables, plan = _steps(ctx)
    # the other provinces are blank regions: the hot-spot statistics still have 31 regions
    assert tables["headline"]["blank_regions"] and len(tables["region_kpis"]) == 31
    assert tables["notes"]["gaps"]["reason_key"] == "few_customers"
    assert "gap" in set(plan["tiers"]["tier"])
    tiers = plan["tiers"].set_index("region")
    assert tiers.loc["广东省", "tier"] == "core"
    assert tiers.loc["广东省", "tier_rule"] == "core_share"
    assert (tiers.drop("广东省")["tier_rule"] == "no_customers").all()
    # step 3: one province with customers is no chart of one bar; the Lorenz curve of
    # the provinces (30 of them blank) and the concentration over them still stand
    import matplotlib.pyplot as plt

    from helpers.steps import visuals
    from helpers.text.lookup import say

    plt.close("all")
    shown = visuals.visual_tables(ctx)
    sentence = say("charts_only_region", "en", region="Guangdong")
    for draw in (visuals.region_bars, visuals.region_share, visuals.customers_against_revenue):
        assert draw(ctx, shown).data == sentence
    assert not plt.get_fignums()
    assert visuals.lorenz_curves(ctx, shown) is None and len(plt.gcf().axes) == 2
    plt.close("all")
    assert tables["concentration"]["regions"] is not None


def test_two_customers(tmp_path):
    people = [{"id": "a", "province": "广东", "city": "深圳"},
              {"id": "b", "province": "江苏", "city": "南京"}]
    orders = [{"order": "1", "customer": "a", "date": "2025-03-01", "amount": 100.0},
              {"order": "2", "customer": "b", "date": "2025-03-05", "amount": 300.0}]
    ctx = _open(_market(tmp_path, people, orders), tmp_path)
    tables, plan = _steps(ctx)
    assert tables["notes"]["growth"]["reason_key"] == "thin_baseline"
    assert tables["notes"]["segments"]["reason_key"] == "frequency_uninformative"
    assert tables["notes"]["ltv"]["reason_key"]                 # two customers: no value shown
    assert "k" not in tables["notes"]["clusters"]
    assert tables["notes"]["isolation"]["reason_key"] == "few_located"
    for key in insight.SECTION_TABLES:
        assert isinstance(_words(ctx, tables, key), str)
    assert not plan["tiers"]["tier"].isin(["emerging", "declining"]).any()
    assert all(not math.isnan(f["value"]) if isinstance(f["value"], float) else True
               for f in plan["summary"]["findings"])


# ----------------------------------------------------------------------- gap model reference


def test_a_market_without_reference_says_so(tmp_path):
    people = [{"id": f"d{i}", "province": "", "city": ""} for i in range(8)]
    orders = [{"order": f"o{i}", "customer": f"d{i}", "date": "2025-03-01", "amount": 10.0 + i}
              for i in range(8)]
    config = _config("DE", "EUR")
    config["sources"]["customers"][0]["columns"].pop("province")
    ctx = _open(_market(tmp_path, people, orders, config), tmp_path)
    tables, _ = _steps(ctx)
    assert tables["notes"]["gaps"]["reason_key"] == "no_reference"
    assert "No population and GDP reference" in _words(ctx, tables, "gaps")


# ----------------------------------------------------------------------- end to end


@pytest.mark.kernel
def test_batch_on_thin_data_says_what_it_cannot_measure(tmp_path):
    """The batch on the one-month export, English and Chinese: the step-4 and step-5 reports
    say growth is not measured and no one is a frequent buyer, and nothing fails."""
    from helpers.run import batch

    path = _one_month(tmp_path / "one_month")
    for lang in ("en", "zh"):
        code = batch.main(["--config", str(path), "--run-id", f"thin-{lang}", "--regions", "ALL",
                           "--reports", str(tmp_path / "reports"), "--lang", lang])
        assert code == 0
    en = tmp_path / "reports" / "thin-en" / "all"
    step4 = (en / "04_insight.html").read_text("utf-8")
    assert "Growth on the year before is not measured" in step4
    assert "no one is called a frequent buyer" in step4
    step5 = (en / "05_strategy.html").read_text("utf-8")
    assert "Without growth." in step5 and "growth not measured" in step5
    notes = json.loads((en / "insight_notes.json").read_text("utf-8"))
    assert notes["growth"]["reason_key"] == "thin_baseline"
    assert notes["segments"]["reason_key"] == "frequency_uninformative"
    tiers = pd.read_csv(en / "region_tiers.csv")
    assert not tiers["tier"].isin(["emerging", "declining"]).any()
    zh4 = (tmp_path / "reports" / "thin-zh" / "all" / "04_insight.html").read_text("utf-8")
    assert "未计算同比增长" in zh4 and "不把任何客户称为频繁购买" in zh4


# ----------------------------------------------------------------------- who buys, and how


def test_one_month_one_order_each_no_attributes_say_what_cannot_be_computed(one_month):
    """Issue 15 items 2 and 3 on thin data: no profile attribute, one purchase day each
    (no interval), one month (no seasonality), no discount column: each section says what
    cannot be computed instead of a number."""
    ctx, tables, _ = one_month
    assert tables["notes"]["profiles"]["reason_key"] == "no_attributes"
    assert tables["profile_mix"].empty and tables["profile_value"].empty
    assert "No customer attribute to profile" in _words(ctx, tables, "profiles")
    whole = tables["buying"].iloc[0]
    assert whole["intervals"] == 0 and math.isnan(whole["interval_median"])
    assert whole["days_median"] == 1 and whole["one_day_share"] == 1.0
    assert tables["notes"]["buying"]["reason_key"] == "no_repeat"
    said = _words(ctx, tables, "buying")
    assert "No customer bought on two different days" in said
    season = tables["seasonality"]
    assert (season["reason_key"] == "short_history").all() and season["m1"].isna().all()
    said = _words(ctx, tables, "seasonality")
    assert "Seasonality is not measured: the data hold 0 complete month(s)" in said
    assert "Order dates carry no time of day" in said
    assert tables["notes"]["discount"]["reason_key"] == "no_discount_column"
    assert "discount sensitivity cannot be measured" in _words(ctx, tables, "discounts")
    folder = ctx.out.parent.parent
    zh = _open(folder / "workbook.yaml", folder, lang="zh")
    assert "没有可分析的客户属性" in _words(zh, tables, "profiles")
    assert "未衡量季节性" in _words(zh, tables, "seasonality")
    assert "无法衡量购买间隔" in _words(zh, tables, "buying")
