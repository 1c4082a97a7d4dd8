"""Step 4 on the bundled sample: the insight tables find the story it was built with."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from sentences import same_numbers

from helpers import context
from helpers.config import load_config
from helpers.steps import insight
from helpers.text.lookup import say
from samplegen import STORY


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("insight_run")


@pytest.fixture(scope="module")
def national(run_dir):
    ctx = context.open_step(run_dir=str(run_dir))
    tables = insight.insight_tables(ctx)
    insight.save_insight(ctx, tables)
    return ctx, tables


def test_hot_spots_are_the_coastal_cluster(national):
    _, tables = national
    kpis = tables["region_kpis"].set_index("region")
    assert len(kpis) == 31
    for column in ["gi_z", "gi_p", "gi_p_fdr", "gi_bin", "hotspot", "lisa_quadrant"]:
        assert column in kpis.columns
    hot = set(kpis.index[kpis["gi_bin"] >= 2])
    # The Yangtze delta of the planted hot provinces is hot at 95% or more after FDR ...
    assert {"上海市", "江苏省", "浙江省"} <= hot
    # ... and nothing outside the planted hot and strong provinces is.
    assert hot <= set(STORY["hot"]) | set(STORY["strong"])
    assert kpis.loc["上海市", "hotspot"] == "hot 99%"
    assert set(kpis["gi_bin"].dropna().astype(int)) <= set(range(-3, 4))
    assert tables["notes"]["hotspots"]["weights"] == "contiguity"
    assert tables["headline"]["hot_spots"] == sorted(hot, key=list(kpis.index).index)


def test_blank_and_underserved_provinces(national):
    _, tables = national
    kpis = tables["region_kpis"].set_index("region")
    assert set(kpis.index[kpis["customers"] == 0]) == set(STORY["blank"])
    gaps = tables["market_gaps"]
    assert list(gaps["region"].head(3)) == ["河南省", "四川省", "湖南省"]  # the underserved
    assert set(gaps.loc[gaps["gap_kind"] == "blank", "region"]) == set(STORY["blank"])
    for province in STORY["underserved"]:
        assert kpis.loc[province, "gap_ratio"] < 0.5 and kpis.loc[province, "gap_p"] < 0.001
    assert tables["notes"]["gaps"]["method"] == "poisson"
    # ROI and reps from the sample's spend and sales reps.
    assert kpis.loc["广东省", "marketing_spend"] > 0 and kpis.loc["广东省", "roi"] > 1
    assert kpis.loc["广东省", "reps"] >= 1


def test_isolated_customers_are_the_planted_ones(national):
    _, tables = national
    isolated = tables["isolated_customers"]
    planted = json.loads((load_config("").base_dir / "data" / "sample" / "mess.json")
                         .read_text("utf-8"))["story"]["isolated_customer_ids"]
    assert set(isolated["customer_id"]) == set(planted)
    assert set(isolated["city"]) == set(STORY["isolated"])
    assert (isolated["nearest_customer_km"] > 290).all()
    assert {"channel", "revenue", "segment", "stage", "ltv"} <= set(isolated.columns)


def test_segments_lifecycle_ltv_partners_are_complete(national):
    ctx, tables = national
    n_customers = len(ctx.customers)
    assert tables["lifecycle"]["customer_id"].nunique() == n_customers
    assert tables["lifecycle_summary"]["customers"].sum() == n_customers
    assert set(tables["lifecycle"]["stage"]) <= {"new", "reactivated", "active", "at risk",
                                                 "churned", "no orders"}
    ltv_note = tables["notes"]["ltv"]
    assert ltv_note["method"] == "bgnbd+gammagamma"
    assert tables["ltv"]["p_alive"].between(0, 1).all()
    scores = tables["cluster_scores"]
    assert scores["chosen"].sum() == 1 and 2 <= tables["notes"]["clusters"]["k"] <= 8
    assert tables["notes"]["clusters"]["silhouette_sampled"]
    assert tables["cluster_profiles"]["description"].str.len().gt(0).all()
    tiers = tables["partner_tiers"]
    assert set(tiers["tier"]) == {"A", "B", "C"}
    assert tiers["customer_id"].isin(ctx.customers["customer_id"]).all()
    assert tables["concentration"]["statement_top20_customers"].startswith("The top 20%")


def test_ensure_insight_reads_back_what_was_saved(national, run_dir):
    ctx, tables = national
    for name in insight.FILES:
        assert (ctx.out / insight.FILES[name]).exists(), name
    again = insight.ensure_insight(context.open_step(run_dir=str(run_dir)))
    pd.testing.assert_series_equal(again["region_kpis"]["gi_bin"],
                                   tables["region_kpis"]["gi_bin"].astype("Int64"),
                                   check_names=False)
    assert list(again["isolated_customers"]["customer_id"]) == list(
        tables["isolated_customers"]["customer_id"])
    assert again["headline"]["isolated_customers"] == 6
    assert again["notes"]["ltv"]["method"] == "bgnbd+gammagamma"


def test_territory_report_takes_hot_spots_from_the_national_pattern(national, run_dir):
    ctx = context.open_step(region="华东", run_dir=str(run_dir))
    tables = insight.insight_tables(ctx)
    kpis = tables["region_kpis"].set_index("region")
    assert len(kpis) == 7 and "national pattern" in tables["notes"]["hotspots"]["scope"]
    national_kpis = national[1]["region_kpis"].set_index("region")
    pd.testing.assert_series_equal(kpis["gi_z"], national_kpis.loc[kpis.index, "gi_z"])
    assert tables["isolated_customers"].empty   # none of them is in East China


def test_a_municipality_is_its_own_one_city(national, run_dir):
    """北京市's one city is 北京市: the buyers' tables key the report's row by the scope's
    name, so the city is counted in that row only (it failed with duplicate labels)."""
    from helpers.steps import strategy

    ctx = context.open_step(region="北京", run_dir=str(run_dir))
    tables = insight.insight_tables(ctx)
    assert list(tables["region_kpis"]["region"]) == ["北京市"]
    buyers = int(tables["region_kpis"]["customers"].iloc[0])
    for name in ("buying", "seasonality", "weekdays", "discount_regions"):
        frame = tables[name]
        assert not frame["region"].duplicated().any(), name
        assert set(frame["region"]) <= {"北京市"}, name
    assert tables["buying"]["region"].tolist() == ["北京市"]
    # the report's row counts the city's buyers of the period
    period = ctx.period_orders
    assert tables["buying"]["buyers"].iloc[0] == period.loc[
        period["amount"] > 0, "customer_id"].nunique() <= buyers
    plan = strategy.strategy_tables(ctx, tables)
    assert set(plan["tiers"]["region"]) == {"北京市"}
    # nothing spreads over one city: said in words, not a Gini of one region
    spread = tables["concentration"]
    assert spread["regions"] is None and spread["statement_top20_regions"] == ""
    assert spread["statement_regions"] == say("concentration_municipality", "en",
                                              region="Beijing")


def test_a_municipality_draws_no_chart_of_one_city(national, run_dir):
    """Step 3 of 北京 (one city, itself) says so instead of one bar; 广东 draws its cities."""
    import matplotlib.pyplot as plt

    from helpers.steps import visuals

    plt.close("all")
    ctx = context.open_step(region="北京", run_dir=str(run_dir), lang="zh")
    tables = visuals.visual_tables(ctx)
    sentence = say("charts_municipality", "zh", region="北京市")
    for draw in (visuals.region_bars, visuals.region_share, visuals.customers_against_revenue):
        assert draw(ctx, tables).data == sentence
    assert not plt.get_fignums()
    assert visuals.lorenz_curves(ctx, tables).data == say("lorenz_municipality", "zh",
                                                          region="北京市")
    assert len(plt.gcf().axes) == 1  # the customers' curve only
    plt.close("all")
    province = context.open_step(region="广东", run_dir=str(run_dir))
    assert province.single_region(visuals.visual_tables(province)["kpis"]) is None


OLIST = load_config("").base_dir.parent / "shared" / "data" / "real" / "olist"


@pytest.mark.skipif(not OLIST.exists(), reason="real Olist data not present")
def test_brazilian_states_on_real_olist_data(tmp_path):
    from helpers.config import PROJECT_ROOT

    ctx = context.open_step(config=str(PROJECT_ROOT / "examples" / "olist.yaml"),
                          run_dir=str(tmp_path))
    tables = insight.insight_tables(ctx)
    kpis = tables["region_kpis"].set_index("region")
    assert len(kpis) == 27                                       # 26 states and the DF
    assert kpis["lat"].between(-34, 6).all() and kpis["lon"].between(-74, -34).all()
    # IBGE 2022 population, no GDP: the gap model says it uses population only
    assert kpis.loc["São Paulo", "population_10k"] == pytest.approx(4441.1238)
    assert tables["notes"]["gaps"]["inputs_key"] == "population_only"
    assert kpis["expected_customers"].sum() == pytest.approx(kpis["customers"].sum(), rel=1e-6)
    assert "outside_extent" not in tables["headline"]             # all 27 units are in
    assert tables["notes"]["hotspots"]["weights"] == "knn"
    assert kpis.loc["São Paulo", "gi_bin"] >= 2                  # the south-east cluster
    assert kpis.loc["Acre", "gi_bin"] <= 0
    assert tables["partner_tiers"].empty                         # no firmographics
    assert tables["notes"]["ltv"]["customers"] > 20_000


def test_explain_names_the_story_in_plain_words_and_escapes_data(national):
    ctx, tables = national
    hot = insight.explain(ctx, tables, "hotspots")
    assert "Shanghai" in hot and "Jiangsu" in hot and "Zhejiang" in hot
    gaps = insight.explain(ctx, tables, "gaps")
    assert gaps.index("Henan") < gaps.index("Sichuan") < gaps.index("Hunan")
    assert all(name in gaps for name in ["Tibet", "Qinghai", "Ningxia"])
    assert "**6 customer(s) stand alone**" in insight.explain(ctx, tables, "isolated")
    assert "A from 16 points, B from 10" in insight.explain(ctx, tables, "partners")
    for topic in ["concentration", "segments", "clusters", "lifecycle", "ltv"]:
        assert insight.explain(ctx, tables, topic)
    hostile = dict(tables, region_kpis=tables["region_kpis"].assign(
        region_en=tables["region_kpis"]["region_en"].where(
            tables["region_kpis"]["region"] != "上海市", "<script>x</script>")))
    text = insight.explain(ctx, hostile, "hotspots")
    assert "<script>" not in text and "&lt;script&gt;" in text
    with pytest.raises(ValueError, match="unknown topic"):
        insight.explain(ctx, tables, "weather")


def test_explain_in_chinese_names_the_same_story(national):
    import dataclasses
    import re

    ctx, tables = national
    zh = dataclasses.replace(ctx, lang="zh")
    hot = insight.explain(zh, tables, "hotspots")
    assert "上海市" in hot and "江苏省" in hot and "**95%及以上置信度的热点**：" in hot
    gaps = insight.explain(zh, tables, "gaps")
    assert gaps.index("河南省") < gaps.index("四川省") < gaps.index("湖南省")
    assert "**6 家客户是孤立的**" in insight.explain(zh, tables, "isolated")
    assert "A类 16 分起，B类 10 分起" in insight.explain(zh, tables, "partners")
    # (concentration statements are written when the tables are built, in the run's language)
    for topic in ["hotspots", "gaps", "isolated", "segments", "clusters", "lifecycle", "ltv",
                  "partners"]:
        en, cn = insight.explain(ctx, tables, topic), insight.explain(zh, tables, topic)
        assert re.search("[\u4e00-\u9fff]", cn), topic
        same_numbers(en, cn)  # amounts of money each in its language's habit


def test_every_hot_spot_value_has_a_chinese_label():
    from typing import get_args

    from helpers.config import Analysis
    from helpers.text.lookup import label

    values = [v for v in get_args(Analysis.model_fields["hotspot_value"].annotation)
              if v != "auto"]
    assert values and all(re.search("[\u4e00-\u9fff]", label(v, "zh")) for v in values)


def test_the_tables_notebook_04_shows(national):
    """Notebook 04 calls insight.table for each table: the column picks, order and rows
    are decided here, personal data masked, key values in the report's language."""
    import dataclasses

    ctx, tables = national
    shown = {name: insight.table(ctx, tables, name) for name in insight.TABLES}
    # the mix's tables list only what differs beyond chance (the words say when nothing does)
    assert all(t is not None for n, t in shown.items()
               if n not in ("mix_index", "cross_sell", "segment_gaps", "discount_bands",
                            "discount_regions", "profile_mix", "look_for"))
    # the sample's orders carry no discount: those two tables are left out (words say why);
    # so are the profile tables without a significant difference (the words say so)
    left_out = {n for n, t in shown.items() if t is None} - {"mix_index", "cross_sell",
                                                             "segment_gaps"}
    assert {"discount_bands", "discount_regions"} <= left_out <= {
        "discount_bands", "discount_regions", "profile_mix", "look_for"}
    kpis = shown["region_kpis"].data  # the first 15 by revenue, the rest in the export
    assert len(kpis) == 15 and list(kpis.columns[:3]) == ["region", "customers",
                                                         "active_customers"]
    assert kpis["revenue"].is_monotonic_decreasing and "region_kpis.csv" in \
        shown["region_kpis"].notes[-1]
    assert kpis["region"].iloc[0] == "Guangdong"  # region names in the report's language
    hot = shown["hotspots"].data  # significant regions only; the quiet ones counted
    assert hot["gi_z"].is_monotonic_decreasing and len(hot) < len(tables["region_kpis"])
    assert "hotspot" in hot and "not significant" not in set(hot["hotspot"])
    gaps = shown["gaps"].data  # the first 10 of the ranked gaps
    assert len(gaps) == min(10, len(tables["market_gaps"])) and gaps["gap_rank"].iloc[0] == 1
    assert gaps["gap_rank"].is_monotonic_increasing
    assert "lat" not in shown["isolated"].data and len(shown["ltv"].data) == 10
    assert "T_weeks" not in shown["ltv"].data and "method" not in shown["ltv"].data
    partners = shown["partners"].data
    assert len(partners) == 15 and partners["revenue"].is_monotonic_decreasing
    assert "flag_new" not in partners and "flags" in partners
    names = set(ctx.customers["name"].dropna())
    assert not names & set(partners["name"])  # masked in a shared report
    zh = dataclasses.replace(ctx, lang="zh")
    segments = insight.table(zh, tables, "segments").view
    assert "重要价值客户" in set(segments.iloc[:, 0])  # segment names in Chinese
    assert segments.columns[0] == "客户分群" and "champions" not in segments.to_string()
    assert insight.table(ctx, {**tables, "partner_tiers": tables["partner_tiers"].head(0)},
                         "partners") is None
    with pytest.raises(ValueError, match="unknown table 'weather'"):
        insight.table(ctx, tables, "weather")


def test_each_section_of_notebook_04_is_its_words_and_tables(national):
    """One call per section: the explanation (none for the KPI table) and the tables."""
    from helpers.catalog import SECTIONS

    ctx, tables = national
    assert list(insight.SECTION_TABLES) == list(SECTIONS["04"])
    for key in SECTIONS["04"]:
        parts = insight.section(ctx, tables, key).parts
        words = [p.data for p in parts if not hasattr(p, "to_html")]
        shown = [p for p in parts if hasattr(p, "to_html") and not hasattr(p, "png")]
        # a chart only where the section draws one (the revenue bridge's waterfall, the
        # forecast's band when the scope has a forecast)
        drawn = key == "bridge" or (key == "forecast" and tables["notes"]["forecast"]["shown"])
        assert [hasattr(p, "png") for p in parts].count(True) == drawn, key
        assert words == ([] if key == "region_kpis" else [insight.explain(ctx, tables, key)])
        # a table with nothing to show is left out (the mix when nothing differs by chance)
        # a table with nothing to show (the sample's orders carry no discount) is left out
        names = [n for n in insight.SECTION_TABLES[key]
                 if insight.table(ctx, tables, n) is not None]
        assert [p.data.equals(insight.table(ctx, tables, name).data)
                for p, name in zip(shown, names, strict=True)] == [True] * len(names), key
    # no partner tiers: the partner section shows its words and the (empty) summary only
    none = {**tables, "partner_tiers": tables["partner_tiers"].head(0)}
    assert len(insight.section(ctx, none, "partners").parts) == 2
    with pytest.raises(ValueError, match="unknown section 'weather' of step 4"):
        insight.section(ctx, tables, "weather")


# --- issue 15's planted facts (samplegen STORY: cross_sell_gap, eroding, seasonal) --------
def _southwest(ctx) -> list[str]:
    """The provinces of the planted cross-sell gap's territory that have customers."""
    from helpers.geo.territories import territory_map

    places = territory_map(ctx.config)
    listed = places.loc[places["territory"] == STORY["cross_sell_gap"]["territory"], "province"]
    return [p for p in listed if p not in STORY["blank"]]


def test_the_planted_cross_sell_gap_is_found_and_targeted(national):
    """人脸识别终端 is a quarter as frequent on the 西南 provinces' lines: step 4 finds it
    under-indexed in each of them beyond chance, as a cross-sell gap (the only gaps of
    the market), and step 5 lists their customers who buy the rest but not it."""
    from helpers.analysis import mix
    from helpers.steps import strategy

    ctx, tables = national
    category, provinces = STORY["cross_sell_gap"]["category"], _southwest(ctx)
    assert sorted(provinces) == ["云南省", "四川省", "贵州省", "重庆市"]
    found = tables["category_mix"]
    gaps = found.loc[found["cross_sell_gap"].astype(bool)]
    assert set(zip(gaps["region"], gaps["category"], strict=True)) == {
        (p, category) for p in provinces}
    face = found.loc[(found["category"] == category)
                     & found["region"].isin(provinces)].set_index("region")
    # measured: index 34 (云南), 29 (重庆), 20 (贵州), 11 (四川); p_fdr 0.0002 .. 0.015
    assert (face["category_index"] < 40).all() and face["significant"].all()
    assert (face["penetration_index"] < 45).all() and (face["gap_p_fdr"] < 1e-4).all()
    assert (face["rest_index"] >= 90).all()   # they buy the other categories as usual
    # ... while it sells as usual elsewhere (no significant index of it outside 西南)
    others = found.loc[(found["category"] == category) & ~found["region"].isin(provinces)]
    assert not others["significant"].any() and others["category_index"].between(70, 140).all()
    # step 5: the customers to offer it, those of the gap's province who bought another
    # category in the period but not this one
    every = strategy.cross_sell_list(ctx, tables)
    assert set(every["gap_type"]) <= {"region", "segment"}
    listed = every.loc[every["gap_type"] == "region"]   # segment gaps come after (their own test)
    assert set(listed["category"]) == {category} and set(listed["region"]) == set(provinces)
    assert listed.groupby("region").size().to_dict() == face["targets"].to_dict()
    net = mix.customer_categories(ctx.orders, ctx.period)   # net of returns, per category
    chosen = net.loc[listed["customer_id"]]
    assert (chosen[category] <= 0).all() and ((chosen > 0).sum(axis=1) >= 1).all()
    assert listed["customer_id"].map(ctx.customers.set_index("customer_id")["province"]).eq(
        listed["region"]).all()


def test_the_planted_gap_holds_for_the_territory_as_a_whole(national):
    """With the territories as the regions, 西南 itself under-indexes on 人脸识别终端."""
    from helpers.analysis import mix
    from helpers.geo.territories import territory_map

    ctx, _ = national
    places = territory_map(ctx.config).set_index("province")["territory"]
    people = ctx.customers.drop_duplicates("customer_id").set_index("customer_id")
    table, note = mix.category_mix(ctx.orders, people["province"].map(places),
                                   period=ctx.period)
    row = table.set_index(["region", "category"]).loc[
        (STORY["cross_sell_gap"]["territory"], STORY["cross_sell_gap"]["category"])]
    # measured: index 27, p_fdr 1e-17; of 357 buying customers 286 buy the rest but not it
    assert row["category_index"] < 35 and row["p_fdr"] < 1e-10 and row["cross_sell_gap"]
    gaps = table.loc[table["cross_sell_gap"].astype(bool), ["region", "category"]]
    assert gaps.values.tolist() == [[STORY["cross_sell_gap"]["territory"],
                                     STORY["cross_sell_gap"]["category"]]]


def test_the_planted_eroding_region_is_the_bridge_s_only_one(national):
    """湖北省 grows on new customers while last year's customers bring much less: the
    revenue bridge flags it, and only it, as eroding; its tier is not declining."""
    from helpers.analysis.tiers import region_tiers

    ctx, tables = national
    moved = tables["revenue_bridge"]
    assert moved.loc[moved["eroding"].astype(bool), "region"].tolist() == STORY["eroding"]
    hubei = moved.set_index("region").loc[STORY["eroding"][0]]
    # measured: 7.60 M -> 8.86 M (+16.6%); new +4.21 M, lost -2.57 M (new = 1.64 x lost),
    # last year's customers together -2.95 M (-38.8% of the previous year)
    assert 0.05 < hubei["change_pct"] < 0.5
    assert hubei["from_new"] > 1.4 * -hubei["from_lost"]
    assert hubei["base_change"] < -0.3 * hubei["revenue_prev"]
    parts = sum(hubei[f"from_{p}"] for p in ("new", "lost", "more", "less", "mix"))
    assert hubei["revenue_prev"] + parts == pytest.approx(hubei["revenue"], abs=1e-6)
    rules = ctx.config.strategy.model_dump(exclude={"online_channels"})
    tiers = region_tiers(tables["region_kpis"], rules=rules,
                         min_customers=ctx.config.analysis.min_customers,
                         benchmark=ctx.benchmark).set_index("region")
    # +16.6% with customers below the population-expected count: emerging by the
    # "growing with room to grow" rule (it was steady at -3.7% before it was planted)
    assert (tiers.loc[STORY["eroding"], "tier"] != "declining").all()
    assert "Growth from new customers while last period's customers bring less: Hubei." in \
        insight.explain(ctx, tables, "bridge")


def test_the_planted_season_peaks_in_december_and_is_lowest_in_february(national):
    ctx, tables = national
    season = tables["seasonality"].set_index("region").loc["ALL"]
    planted = STORY["seasonal"]
    assert (season["peak_month"], season["low_month"]) == (planted["peak"], planted["low"])
    # measured: December 143, February 53 (January 64), p 1.6e-7 over 36 months
    assert season["months"] == 36 and season["p"] < 1e-4 and season["significant"]
    assert season["peak_index"] > 130 and season["low_index"] < 60
    assert season["low_index"] < season["m1"] - 5          # the low is clearly February
    words = insight.explain(ctx, tables, "seasonality")
    assert re.search(r"the peak is December \(index 1\d\d\), the low February \(index \d\d\)",
                     words)
