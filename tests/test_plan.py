"""Step 5 on the tiny dataset: tables, budget, exports, summary, sections, run comparison."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil

import pandas as pd
import pytest
import yaml

from helpers import context
from helpers.analysis.partners import PTS_COLUMNS
from helpers.analysis.tiers import TIERS
from helpers.catalog import OBJECTIVES, SECTIONS
from helpers.steps import strategy
from helpers.steps.insight import audience, ensure_insight
from helpers.text.format import format_money
from helpers.text.narrative import summary


def variant(tiny_config, tmp_path_factory, name, change):
    raw = yaml.safe_load(tiny_config.read_text("utf-8"))
    raw["paths"] = {"data": str(tiny_config.parent / "data"),
                    "reports": str(tmp_path_factory.mktemp(name))}
    change(raw)
    path = tmp_path_factory.mktemp(name) / "workbook.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    return path


def findings(ctx, insight, tables):
    """The candidate findings of the executive summary, as step 5 words them."""
    return summary.findings(insight, tables, audience(ctx),
                            concentration=strategy.customer_concentration(insight))


def step5(config, run_dir, region="ALL", period_end="", baseline_run=""):
    ctx = context.open_step(region=region, run_dir=str(run_dir), config=str(config),
                          period_end=period_end)
    insight = ensure_insight(ctx)
    return ctx, insight, strategy.strategy_tables(ctx, insight, baseline_run=baseline_run)


@pytest.fixture(scope="module")
def national(tiny_config, tmp_path_factory):
    return step5(tiny_config, tmp_path_factory.mktemp("run"))


def test_tables_do_not_depend_on_the_objective(national, tiny_config, tmp_path_factory):
    ctx, insight, tables = national
    again = strategy.strategy_tables(dataclasses.replace(ctx, objective="tier_partners"), insight)
    for key in ("tiers", "actions", "campaign"):
        pd.testing.assert_frame_equal(tables[key], again[key])
    assert tables["summary"]["objective"] == "find_new_markets"
    assert again["summary"]["objective"] == "tier_partners"
    candidates = findings(ctx, insight, tables)
    tops = {}
    for objective in OBJECTIVES:
        summary = strategy.executive_summary(ctx, insight, tables, objective)
        assert summary["objective"] == objective and len(summary["findings"]) == 5
        for item in summary["findings"]:  # the same finding says the same number everywhere
            assert item["text"] == candidates[item["kind"]]["text"]
            assert any(ch.isdigit() for ch in item["text"])
        kinds = [item["kind"] for item in summary["findings"]]  # in the objective's order
        assert kinds == [k for k in OBJECTIVES[objective].findings if k in candidates][:5]
        tops[objective] = kinds[0]
    partners_first = "partners" if tables["partners"] is not None else "champions"
    assert tops == {"find_new_markets": "gap", "reallocate_resources": "budget",
                    "compare_regions": "size", "keep_valuable_customers": "at_risk",
                    "tier_partners": partners_first}
    shown = strategy.summary_section(tables).data.splitlines()
    assert [line.split(". ", 1)[0] for line in shown] == ["1", "2", "3", "4", "5"]


def test_the_summary_is_saved_with_the_exports_and_showing_writes_nothing(national):
    """executive_summary wrote its file while the report displayed it; now save_strategy
    writes it and showing the sections touches no file."""
    ctx, _, tables = national
    strategy.save_strategy(ctx, tables)
    saved = json.loads((ctx.out / "executive_summary.json").read_text("utf-8"))
    assert saved == json.loads(json.dumps(tables["summary"]))
    before = {p: p.stat().st_mtime_ns for p in ctx.run.root.rglob("*")}
    shown = [strategy.summary_section(tables).data, *section_texts(ctx, tables).values()]
    assert all(shown)
    assert {p: p.stat().st_mtime_ns for p in ctx.run.root.rglob("*")} == before


SECTION_FUNCTIONS = {"tiers": strategy.tiers_section, "playbook": strategy.playbook_section,
            "budget": strategy.budget_section, "customers": strategy.customers_section,
            "partners": strategy.partners_section, "monitoring": strategy.monitoring_section}


def section_texts(ctx, tables) -> dict[str, str]:
    """What each section of notebook 05 shows (markdown as written, tables as HTML)."""
    return {key: show(ctx, tables).text() for key, show in SECTION_FUNCTIONS.items()}


def test_every_step5_section_has_its_function():
    assert list(SECTION_FUNCTIONS) == list(SECTIONS["05"])


def test_budget_on_the_tiny_data(national):
    ctx, _, tables = national
    result = tables["budget"]
    assert result["error"] is None and result["message"] is None
    table = result["table"]
    current = table["spend"].sum()
    unit = ctx.config.budget.unit                                   # 10,000 by default
    assert unit == 10000
    assert table["new_spend"].sum() == round(current / unit) * unit   # same money, exactly
    assert (table["new_spend"] >= table["floor"]).all()
    assert (table["new_spend"] <= table["cap"]).all()
    assert (table["new_spend"] % unit == 0).all()
    blank = table[table["tier"].eq("gap") & table["spend"].eq(0)]
    assert (blank["new_spend"] == 30000).all()          # budget.tier_floors.gap
    assert result["summary"]["moved"] == table["change"].clip(lower=0).sum()
    assert any("elasticity" in n or "spend^0.2" in n for n in result["notes"])


def budget_for(config, tmp_path_factory, tiers, region="ALL"):
    """The budget of ``tiers`` under another config (no step 4 recomputed)."""
    ctx = context.open_step(region=region, run_dir=str(tmp_path_factory.mktemp("run")),
                          config=str(config))
    return ctx, strategy.budget_plan(ctx, tiers)


def test_budget_total_from_config_and_scaled_for_a_territory(national, tiny_config,
                                                            tmp_path_factory):
    tiers = national[2]["tiers"]
    config = variant(tiny_config, tmp_path_factory, "total",
                     lambda raw: raw["budget"].update(total=2_000_000, cap_vs_current=None,
                                                      floors={"广东": 150000}))
    _, result = budget_for(config, tmp_path_factory, tiers)
    table = result["table"]
    assert table["new_spend"].sum() == 2_000_000
    assert table.set_index("region").loc["广东省", "new_spend"] >= 150000
    national_current = table["spend"].sum()
    east_ctx, east = budget_for(config, tmp_path_factory,
                                tiers[tiers["territory"] == "华东"], region="华东")
    east_table = east["table"]
    assert set(east_table["region"]) == set(east_ctx.scope.provinces)
    expected = round(2_000_000 * east_table["spend"].sum() / national_current / 10000) * 10000
    assert east_table["new_spend"].sum() == expected
    assert east["notes"][0].startswith('The objective "Find new markets" decides')
    assert "scaled" in east["notes"][1]


def test_budget_infeasible_config_is_reported_not_raised(national, tiny_config,
                                                        tmp_path_factory):
    ctx, insight, tables = national
    config = variant(tiny_config, tmp_path_factory, "infeasible",
                     lambda raw: raw["budget"].update(total_change=-0.8))
    bad_ctx, result = budget_for(config, tmp_path_factory, tables["tiers"])
    error = result["error"]
    assert result["table"] is None
    assert "floors add up to" in error and "budget.floor_vs_current" in error
    assert str(bad_ctx.config.config_path) in error
    strategy.save_strategy(bad_ctx, {**tables, "budget": result, "comparison": None})
    assert not (bad_ctx.out / "budget.csv").exists()
    saved = json.loads((bad_ctx.out / "budget.json").read_text("utf-8"))
    assert saved["error"] == error


def test_no_budget_without_spend_or_inside_a_province(national, tiny_config, tmp_path_factory):
    tiers = national[2]["tiers"].drop(columns=["marketing_spend", "roi"], errors="ignore")
    config = variant(tiny_config, tmp_path_factory, "nospend",
                     lambda raw: raw["sources"].pop("spend"))
    _, result = budget_for(config, tmp_path_factory, tiers)
    assert result["table"] is None
    assert "No marketing spend" in result["message"]
    _, province = budget_for(tiny_config, tmp_path_factory, tiers, region="广东")
    assert "per province" in province["message"]


def test_spend_from_step4_or_computed_agree(national):
    ctx, _, tables = national
    tiers = tables["tiers"]
    computed = strategy.budget_plan(ctx, tiers.drop(columns=["marketing_spend", "roi"],
                                                errors="ignore"))["table"]
    from_kpis = strategy.budget_plan(ctx, tiers)["table"]
    assert computed.set_index("region")["spend"].to_dict() == pytest.approx(
        from_kpis.set_index("region")["spend"].to_dict())
    assert computed["spend"].sum() > 0


def test_unknown_region_in_budget_floors_names_the_key(national, tiny_config, tmp_path_factory):
    config = variant(tiny_config, tmp_path_factory, "badfloor",
                     lambda raw: raw["budget"].update(floors={"Atlantis": 1000}))
    with pytest.raises(ValueError, match=r"budget.floors: unknown province name\(s\) \['Atlantis'\]"):
        budget_for(config, tmp_path_factory, national[2]["tiers"])


def test_step4_tables_feed_partner_plans_and_campaigns(national, tiny_config, tmp_path_factory):
    """Step 5 uses the step-4 tables it is given; it read some of them again from the
    region folder (plan.load_step4_extras)."""
    run = tmp_path_factory.mktemp("run") / "copy"
    shutil.copytree(national[0].run.root, run)     # step 4's tables are loaded, not rebuilt
    ctx, insight, _ = step5(tiny_config, run)
    ids = insight["rfm"]["customer_id"].head(6).tolist()
    # step 4's tables, with the columns step 4 writes (in memory only: not in the folder)
    insight = {**insight, "partner_tiers": pd.DataFrame({
        "customer_id": ids, "tier": ["A", "B", "B", "C", "B", "A"],
        "score": [17, 12, 15, 6, 10, 20], **{c: 4 for c in PTS_COLUMNS},
        "pts_staff": [4, 2, 3, 2, 2, 4], "pts_years": [4, 4, 1, 1, 2, 4],
        "pts_capital": [4, 3, 4, 1, 1, 4], "value_tier": "low", "revenue": 0.0}),
        "lifecycle": pd.DataFrame({"customer_id": ids, "stage": "active"}),
        "ltv": pd.DataFrame({"customer_id": ids, "ltv": [1e6, 2e6, 3e6, 4e6, 5e6, 6e6]})}
    tables = strategy.strategy_tables(ctx, insight)
    partners = tables["partners"]
    assert partners["partner_tier"].tolist()[:3] == ["B", "B", "B"]
    assert partners["score"].tolist()[:3] == [15, 12, 10]
    assert partners.set_index("customer_id").loc[ids[2], "focus"] == "years, staff"
    campaign = tables["campaign"].set_index("customer_id")
    assert campaign.loc[ids[0], "lifecycle"] == "active"
    assert campaign.loc[ids[5], "ltv_12m"] == 6e6
    finding = findings(ctx, insight, tables)["partners"]
    assert finding["text"].startswith("3 B-tier partners get a development plan (A 2, C 1)")
    strategy.save_strategy(ctx, tables)
    assert len(pd.read_csv(ctx.out / "partner_plans.csv")) == 6
    sheets = pd.ExcelFile(ctx.out / "actions.xlsx", engine="openpyxl").sheet_names
    # the cross-sell list when step 4 found a gap (of a region or of a customer segment)
    cross_sell = ["Cross-sell list"] if len(tables["cross_sell"]) else []
    assert sheets == ["Region actions", "Campaign list", *cross_sell, "Partner plans", "Budget"]


def test_exports_hold_contacts_and_the_report_does_not(national):
    ctx, insight, tables = national
    strategy.save_strategy(ctx, tables)
    out = ctx.out
    campaign = pd.read_csv(out / "campaign_list.csv", dtype=str)
    assert {"name", "phone", "email", "owner", "campaign"} <= set(campaign.columns)
    assert len(campaign) == len(insight["rfm"])
    assert campaign["phone"].notna().sum() > 0
    budget_csv = pd.read_csv(out / "budget.csv")
    assert budget_csv["new_spend"].sum() == tables["budget"]["table"]["new_spend"].sum()
    headline = json.loads((out / "headline.json").read_text("utf-8"))
    assert headline["tier"] in {"core", "emerging", "gap", "declining", "steady"}
    assert sum(headline["tiers"].values()) == len(tables["tiers"])

    sections = section_texts(ctx, tables)
    shown = "\n".join(sections.values())
    assert "Current spend" in sections["budget"] and "<table" in sections["customers"]
    customers = ctx.prep.customers
    for column in ("phone", "email", "name", "contact"):
        values = customers[column].dropna().astype(str)
        values = values[values.str.len() >= 4]
        leaked = [v for v in values if v in shown]
        assert not leaked, f"{column} reached the report: {leaked[:3]}"


def test_reps_names_are_masked_in_the_report_unless_configured(national, monkeypatch):
    ctx, _, tables = national
    reps = ctx.prep.reps
    assert len(reps) and reps["name"].str.len().min() >= 2
    shown = strategy.playbook_section(ctx, tables).text()
    leaked = [n for n in reps["name"] if n in shown]
    assert not leaked, f"reps' names reached the report: {leaked[:3]}"
    assert "masked" in shown and "report.show_rep_names" in shown
    # the playbook names each tier's regions in the report's language (not 广东省 in English)
    assert "Guangdong" in shown and "广东省" not in shown
    actions, masked = strategy.shown_actions(ctx, tables)
    assert masked and len(actions) == len(tables["actions"])
    assert (actions["owner"] != tables["actions"]["owner"]).any()
    assert actions.drop(columns="owner").equals(tables["actions"].drop(columns="owner"))
    first = reps.iloc[0]
    assert f"{first['name'][0]}{'*' * max(len(first['name']) - 1, 2)} ({first['sales_rep_id']})" \
        in " ".join(actions["owner"])
    # the exports are the contact lists: full names
    strategy.save_strategy(ctx, tables)
    from openpyxl import load_workbook
    exported = pd.read_csv(ctx.out / "actions.csv")
    assert any(n in " ".join(exported["owner"]) for n in reps["name"])
    sheet = load_workbook(ctx.out / "actions.xlsx")["Region actions"]
    assert any(n in str(c.value) for row in sheet.iter_rows() for c in row for n in reps["name"])

    monkeypatch.setattr(ctx.config.report, "show_rep_names", True)
    assert any(n in strategy.playbook_section(ctx, tables).text() for n in reps["name"])
    shown_again, masked_again = strategy.shown_actions(ctx, tables)
    assert shown_again is tables["actions"] and not masked_again


def test_comparison_of_two_runs_on_different_periods(national, tiny_config, tmp_path_factory):
    earlier = tmp_path_factory.mktemp("earlier")
    ctx_a, _, tables_a = step5(tiny_config, earlier, period_end="2024-12-31")
    strategy.save_strategy(ctx_a, tables_a)
    ctx_b, insight_b, _ = national
    (ctx_b.out / "region_tiers.csv").unlink(missing_ok=True)   # as in a fresh run's step 5
    tables_b = strategy.strategy_tables(ctx_b, insight_b, baseline_run=str(earlier))
    result = tables_b["comparison"]
    assert "error" not in result
    regions = result["regions"].set_index("region")
    kpis_a = tables_a["tiers"].set_index("region")
    kpis_b = tables_b["tiers"].set_index("region")
    for province in ["广东省", "辽宁省", "安徽省"]:
        assert regions.loc[province, "revenue_delta"] == pytest.approx(
            kpis_b.loc[province, "revenue"] - kpis_a.loc[province, "revenue"])
        assert regions.loc[province, "tier_before"] == kpis_a.loc[province, "tier"]
        assert regions.loc[province, "tier_now"] == kpis_b.loc[province, "tier"]
        assert regions.loc[province, "customers_delta"] == (
            kpis_b.loc[province, "customers"] - kpis_a.loc[province, "customers"])
    assert regions["tier_now"].notna().all()
    changed = set(regions.index[regions["tier_changed"]])
    assert changed == set(kpis_b.index[kpis_b["tier"] != kpis_a["tier"].reindex(kpis_b.index)])
    summary = result["summary"]
    assert summary["baseline_period"]["end"] == "2024-12-31"
    assert summary["period"]["end"] != "2024-12-31"
    matrix = result["migration"]
    assert matrix.drop(columns="(not scored)").to_numpy().sum() == len(insight_b["rfm"])
    strategy.save_strategy(ctx_b, tables_b)
    assert json.loads((ctx_b.out / "comparison.json").read_text("utf-8"))["baseline_run"] == \
        earlier.name
    assert "monitoring" in findings(ctx_b, insight_b, tables_b)

    shown = strategy.monitoring_section(ctx_b, tables_b).text()
    assert shown.startswith(f"Run {earlier.name} (period ") and "Tier changes: " in shown
    assert "<th>Tier before</th>" in shown and "Segment migration" in shown

    missing = strategy.comparison(ctx_b, "no-such-run")
    assert "not found" in missing["error"]
    assert strategy.monitoring_section(ctx_b, {**tables_b, "comparison": missing}).text() \
        .startswith("**No comparison:** ")
    assert strategy.comparison(ctx_b, "") is None


def test_summary_and_sections_in_chinese_keep_numbers_and_keys(national):
    ctx, insight, tables = national
    zh = dataclasses.replace(ctx, lang="zh")
    found_en, found_zh = findings(ctx, insight, tables), findings(zh, insight, tables)
    assert set(found_zh) == set(found_en)
    for kind, item in found_zh.items():
        assert item["value"] == found_en[kind]["value"]
        assert any("\u4e00" <= ch <= "\u9fff" for ch in item["text"]), kind
    h = insight["headline"]
    assert found_zh["size"]["text"].startswith(f"{h['customers']:,} 家客户，分析期收入 "
                                               f"{format_money(h['revenue'], 'zh')}元")
    sections = section_texts(zh, tables)
    page = "\n".join(sections.values())
    assert sections["tiers"].startswith("每个地区归入其满足规则的第一个分级")
    assert sections["budget"].startswith("当前费用 ")
    assert "<th>分级</th>" in page and "核心" in page and "区域销售经理" in page
    assert "本报告未与较早的运行比较" in sections["monitoring"]
    # the tables themselves keep their English keys (exports, run comparisons)
    assert set(tables["tiers"]["tier"]) <= set(TIERS)


@pytest.mark.parametrize("territory", ["华北", "华东"])
def test_a_province_has_the_same_tier_in_its_territory_report(national, tiny_config,
                                                              tmp_path_factory, territory):
    """Territory reports judge provinces against the whole market, as the national one does."""
    _, _, tables = national
    ctx, insight, local = step5(tiny_config, tmp_path_factory.mktemp("run"), region=territory)
    kpis = insight["region_kpis"]
    # share stays the territory's own; the market share and the gap model are the market's
    assert kpis["share"].sum() == pytest.approx(1.0)
    whole = tables["tiers"].set_index("region")
    mine = local["tiers"].set_index("region")
    assert set(mine.index) == set(ctx.scope.provinces)
    pd.testing.assert_series_equal(kpis.set_index("region")["market_share"].loc[mine.index],
                                   whole.loc[mine.index, "share"], check_names=False)
    pd.testing.assert_series_equal(mine["gap_ratio"], whole.loc[mine.index, "gap_ratio"])
    assert mine["tier"].to_dict() == whole.loc[mine.index, "tier"].to_dict()
    assert mine["tier_reason"].to_dict() == whole.loc[mine.index, "tier_reason"].to_dict()
    assert "judged against the whole market" in strategy.tiers_section(ctx, local).text()
    assert "judged against" not in strategy.tiers_section(national[0], tables).text()


def test_files_hold_the_reasons_and_budget_notes_in_the_runs_language(national, tiny_config,
                                                                      tmp_path_factory):
    """A Chinese run writes its tier reasons (actions.xlsx evidence) and budget notes in
    Chinese, as before the words moved out of the analyses; the keys stay English."""
    ctx_en, _, en = national
    run_dir = tmp_path_factory.mktemp("run-zh")
    ctx = context.open_step(region="ALL", run_dir=str(run_dir), config=str(tiny_config),
                            lang="zh")
    zh = strategy.strategy_tables(ctx, ensure_insight(ctx))
    assert zh["tiers"]["tier"].tolist() == en["tiers"]["tier"].tolist()
    cjk = re.compile(r"[\u4e00-\u9fff]")
    assert zh["tiers"]["tier_reason"].map(lambda t: bool(cjk.search(t))).all()
    assert not en["tiers"]["tier_reason"].map(lambda t: bool(cjk.search(t))).any()
    strategy.save_strategy(ctx, zh)
    saved = pd.read_csv(ctx.out / "actions.csv")
    assert saved["evidence"].map(lambda t: bool(cjk.search(str(t)))).all()
    notes = json.loads((ctx.out / "budget.json").read_text("utf-8"))["notes"]
    assert en["budget"]["notes"] and len(notes) == len(en["budget"]["notes"])
    assert all(cjk.search(n) for n in notes)


def test_the_long_lists_go_to_excel_once_in_the_markets_workbook(national, tiny_config,
                                                                 tmp_path_factory):
    """``report.excel_lists: market`` (the default): the campaign and partner lists are
    written to Excel in the whole market's ``actions.xlsx`` only, with every region's rows;
    a region's workbook holds its action list (and budget), its lists are its CSV files.
    ``every_region`` writes them into the region's workbook too."""
    ctx, insight, tables = national
    strategy.save_strategy(ctx, tables)
    market = pd.read_excel(ctx.out / "actions.xlsx", sheet_name=None, engine="openpyxl")
    long_lists = ["Campaign list", "Cross-sell list", "Partner plans"]
    assert list(market)[0] == "Region actions"
    assert [s for s in market if s in long_lists] == (
        long_lists if len(tables["cross_sell"]) else ["Campaign list", "Partner plans"])
    assert len(market["Campaign list"]) == len(tables["campaign"])

    local_ctx, _, local = step5(tiny_config, tmp_path_factory.mktemp("run"), region="华东")
    assert ctx.config.report.excel_lists == "market"
    strategy.save_strategy(local_ctx, local)
    sheets = pd.ExcelFile(local_ctx.out / "actions.xlsx", engine="openpyxl").sheet_names
    assert sheets[0] == "Region actions"
    assert not {"Campaign list", "Partner plans", "Cross-sell list"} & set(sheets)
    mine = pd.read_csv(local_ctx.out / "campaign_list.csv", dtype={"customer_id": str})
    assert len(mine) == len(local["campaign"]) > 0
    assert set(mine["customer_id"]) <= set(market["Campaign list"].iloc[:, 0].astype(str))
    assert len(pd.read_csv(local_ctx.out / "partner_plans.csv")) == len(local["partners"])

    report = ctx.config.report.model_copy(update={"excel_lists": "every_region"})
    every = dataclasses.replace(local_ctx, config=ctx.config.model_copy(update={"report": report}))
    strategy.save_strategy(every, local)
    book = pd.read_excel(every.out / "actions.xlsx", sheet_name=None, engine="openpyxl")
    assert list(book)[0] == "Region actions"
    assert [s for s in book if s in long_lists] == (
        long_lists if len(local["cross_sell"]) else ["Campaign list", "Partner plans"])
    assert len(book["Campaign list"]) == len(local["campaign"])


def test_a_long_list_holds_its_first_rows_in_excel_and_says_where_all_are(national, tmp_path):
    """``report.excel_list_rows``: a list longer than the limit keeps its first rows (its own
    order) in its sheet of ``actions.xlsx``, under a first line saying how many rows the
    list has and which CSV file holds them all; the CSV keeps every row; a list no longer
    than the limit is written as before (header on the first row, every row). In a Chinese
    report the line is Chinese."""
    from openpyxl import load_workbook

    from helpers.text.tables import export_sheet

    ctx, _, tables = national
    campaign, partners = tables["campaign"], tables["partners"]
    limit = len(partners)  # the partner plans fit exactly, the campaign list does not
    assert len(campaign) > limit > 0
    report = ctx.config.report.model_copy(update={"excel_list_rows": limit})
    config = ctx.config.model_copy(update={"report": report})
    for lang, sheet, plans, words in (("en", "Campaign list", "Partner plans",
                                       f"The first {limit:,} of the list's {len(campaign):,} "
                                       f"rows, in its order of priority; all "
                                       f"{len(campaign):,} rows are in campaign_list.csv."),
                                      ("zh", "客户活动名单", "渠道伙伴计划",
                                       f"此处为名单按优先顺序的前 {limit:,} 行，名单共 "
                                       f"{len(campaign):,} 行；全部 {len(campaign):,} 行见 "
                                       "campaign_list.csv。")):
        out = tmp_path / lang
        out.mkdir()
        cut = dataclasses.replace(ctx, config=config, out=out, lang=lang)
        strategy.save_strategy(cut, tables)
        book = load_workbook(out / "actions.xlsx")
        rows = [[c.value for c in row] for row in book[sheet].iter_rows()]
        assert rows[0][0] == words and not any(rows[0][1:])
        whole = export_sheet(campaign, lang, currency=ctx.config.project.currency)
        assert rows[1] == list(whole.columns)
        assert len(rows) == 2 + limit
        assert [r[0] for r in rows[2:]] == campaign["customer_id"].astype(str).head(limit).tolist()
        assert book[sheet].freeze_panes == "A3"
        shown = pd.read_excel(out / "actions.xlsx", sheet_name=sheet, header=1,
                              engine="openpyxl", dtype={whole.columns[0]: str})
        assert len(shown) == limit
        pd.testing.assert_series_equal(shown.iloc[:, 0], whole.iloc[:limit, 0].astype(str),
                                       check_names=False)
        saved = pd.read_csv(out / "campaign_list.csv", dtype={"customer_id": str})
        assert saved["customer_id"].tolist() == campaign["customer_id"].astype(str).tolist()
        # the partner plans are not longer than the limit: as before
        plan_rows = [[c.value for c in row] for row in book[plans].iter_rows()]
        assert plan_rows[0] == list(export_sheet(partners, lang).columns)
        assert len(plan_rows) == 1 + len(partners) and book[plans].freeze_panes == "A2"
        assert book.sheetnames[0] == ("Region actions" if lang == "en" else "地区行动")


def test_excel_list_counts_every_row():
    """:func:`strategy.excel_list`: at most ``rows`` rows, the first ones, and the line that
    counts the rest; the list as it is (and no line) when it fits."""
    frame = pd.DataFrame({"customer_id": [f"C{i}" for i in range(7)]})
    kept, note = strategy.excel_list(frame, "campaign_list.csv", 3)
    assert kept["customer_id"].tolist() == ["C0", "C1", "C2"]
    assert note == ("The first 3 of the list's 7 rows, in its order of priority; all 7 rows "
                    "are in campaign_list.csv.")
    for rows in (7, 8):
        kept, note = strategy.excel_list(frame, "campaign_list.csv", rows)
        assert kept is frame and note is None
    _, note = strategy.excel_list(pd.DataFrame({"a": range(1_234_567)}), "x.csv", 1_000_000,
                                  "zh")
    assert note == "此处为名单按优先顺序的前 1,000,000 行，名单共 1,234,567 行；全部 1,234,567 行见 x.csv。"
