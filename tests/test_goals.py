"""Step 1: the objective catalog, data checks and the brief on the tiny dataset."""

from __future__ import annotations

import dataclasses
import json

import pytest
import yaml

from helpers.catalog import DATA_NEEDS, FINDINGS, KPIS, OBJECTIVES, SECTIONS, get_objective
from helpers.config import ConfigError, load_config
from helpers.context import open_step
from helpers.steps import goals
from helpers.text.lookup import say, text


def variant(tiny_config, tmp_path_factory, name, change):
    """A copy of the tiny config (same data folder) with ``change`` applied."""
    raw = yaml.safe_load(tiny_config.read_text("utf-8"))
    raw["paths"] = {"data": str(tiny_config.parent / "data"),
                    "reports": str(tmp_path_factory.mktemp(name))}
    change(raw)
    path = tmp_path_factory.mktemp(name) / "workbook.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    return path


def context(config, tmp_path_factory, region="ALL"):
    run = tmp_path_factory.mktemp("run")
    return open_step(region=region, run_dir=str(run), config=str(config))


@pytest.fixture(scope="module")
def full(tiny_config, tmp_path_factory):
    return context(tiny_config, tmp_path_factory)


@pytest.fixture(scope="module")
def no_spend_no_erp(tiny_config, tmp_path_factory):
    def strip(raw):
        raw["sources"].pop("spend")
        raw["sources"]["customers"] = [s for s in raw["sources"]["customers"]
                                       if s["name"] != "erp"]
    return context(variant(tiny_config, tmp_path_factory, "bare", strip), tmp_path_factory)


def test_catalog_is_complete():
    config = load_config()
    assert list(OBJECTIVES) == ["find_new_markets", "reallocate_resources", "compare_regions",
                                "keep_valuable_customers", "tier_partners"]
    for key, item in OBJECTIVES.items():
        words = item.words("en")
        assert item.key == key and words["title"] and words["question"] and words["baseline"]
        assert item.kpis and set(item.kpis) <= set(KPIS)
        assert sorted(item.first["05"]) == sorted(SECTIONS["05"])
        assert set(item.first) == set(SECTIONS)
        for step in ("03", "04"):  # every name is a section the step has
            assert item.first[step] and set(item.first[step]) <= set(SECTIONS[step])
        # every finding kind once, in the objective's order
        assert sorted(item.findings) == sorted(FINDINGS)
        for name in item.thresholds:  # every threshold is a config key
            section, _, attr = name.rpartition(".")
            holder = getattr(config, section or "strategy")
            assert hasattr(holder, attr), name
    for key, kpi in KPIS.items():
        words = goals.kpi_words(key, "en")
        assert words["definition"] and words["formula"] and words["unit"], key
        assert set(kpi["needs"]) <= set(DATA_NEEDS), key
        assert kpi["better"] in ("higher", "lower", "n/a")
    assert set(config.objectives.targets) <= set(KPIS)


def test_unknown_objective_names_the_parameter_and_the_choices():
    with pytest.raises(ValueError, match="parameter objective must be one of "
                                         r"\['find_new_markets'.*'tier_partners'\], got 'grow'"):
        get_objective("grow")


def test_brief_with_full_data(full):
    brief = goals.goals_brief(full, "reallocate_resources")
    assert brief["objective"] == "reallocate_resources"
    assert brief["warnings"] == []
    assert all(k["available"] for k in brief["kpis"])
    assert [k["kpi"] for k in brief["kpis"]] == list(OBJECTIVES["reallocate_resources"].kpis)
    assert brief["kpis"][0]["formula"] == "sum(amount) over orders in the period"
    roi = next(k for k in brief["kpis"] if k["kpi"] == "roi")
    assert roi["target"] == 30 and roi["unit"] == "CNY per CNY"
    assert brief["thresholds"]["budget.floor_vs_current"] == 0.5
    assert brief["first"]["05"][0] == "budget"
    assert len(brief["provinces_in_scope"]) == 31 and brief["regions_compared"] == "province"
    p = full.period
    assert str(brief["period_end"])[:10] == f"{p.end:%Y-%m-%d}"
    assert brief["period_start"] == p.first_day and brief["baseline_end"] == p.start
    assert (brief["period_start"] - brief["baseline_start"]).days in (365, 366)
    assert all(brief["data"]["available"].values())
    assert brief["data"]["customers"] == len(full.customers)
    # the brief is JSON-ready; step 1 saves it as goals.json
    assert goals.save_brief(full, brief) == full.out / "goals.json"
    saved = json.loads((full.out / "goals.json").read_text("utf-8"))
    assert saved["data_checks"]["spend"]["available"] is True


def test_missing_data_is_a_warning_for_the_objectives_that_need_it(no_spend_no_erp):
    ctx = no_spend_no_erp
    checks = goals.data_checks(ctx)
    assert not checks["spend"]["available"] and not checks["firmographics"]["available"]
    assert checks["orders"]["available"] and checks["population"]["available"]

    realloc = goals.goals_brief(ctx, "reallocate_resources")
    text = " ".join(realloc["warnings"])
    assert "roi cannot be computed: it needs marketing spend" in text
    assert "sources.spend" in text
    assert not next(k for k in realloc["kpis"] if k["kpi"] == "roi")["available"]

    partners = goals.goals_brief(ctx, "tier_partners")
    assert any(w.startswith("partner_tiers cannot be computed") and "firmographics" in w
               for w in partners["warnings"])
    table = goals.kpi_table(partners)
    assert table.loc["partner_tiers", "data"] == "MISSING: firmographics"  # en word = key

    # the same data answers finding new markets fully
    assert goals.goals_brief(ctx, "find_new_markets")["warnings"] == []


def test_province_report_has_no_population_per_city(tiny_config, tmp_path_factory):
    ctx = context(tiny_config, tmp_path_factory, region="广东")
    brief = goals.goals_brief(ctx, "find_new_markets")
    assert brief["regions_compared"] == "city"
    assert any(w.startswith("gap_ratio cannot be computed") for w in brief["warnings"])
    assert brief["provinces_in_scope"] == ["广东省"]


def test_unknown_target_names_the_key(tiny_config, tmp_path_factory):
    config = variant(tiny_config, tmp_path_factory, "targets",
                     lambda raw: raw.setdefault("objectives", {}).update(
                         targets={"happiness": 1.0}))
    ctx = context(config, tmp_path_factory)
    with pytest.raises(ConfigError, match=r"objectives.targets: unknown KPI\(s\) \['happiness'\]"):
        goals.goals_brief(ctx, "find_new_markets")


def test_tables_for_the_report(full):
    brief = goals.goals_brief(full, "find_new_markets")
    table = goals.brief_table(brief)
    assert table.loc["objective", "value"] == "Find new markets"
    assert table.loc["step 5 puts first", "value"] == (
        "Region tiers and their evidence, Playbook and action list, Budget reallocation")
    kpis = goals.kpi_table(brief)
    assert list(kpis.columns) == ["definition", "formula", "unit", "target", "data"]
    assert kpis.loc["gap_ratio", "target"] == "≥ 1"
    assert kpis.loc["growth_yoy", "target"] == "≥ 10%"
    assert (kpis["data"] == "yes").all()


def test_load_brief_is_the_saved_one_unless_stale(full):
    goals.save_brief(full, goals.goals_brief(full, "tier_partners"))
    assert goals.load_brief(full, "tier_partners")["objective"] == "tier_partners"
    # a saved brief for another objective is stale: the parameter wins
    assert goals.load_brief(full, "compare_regions")["objective"] == "compare_regions"
    # the context's objective is the default
    assert full.objective == "find_new_markets"
    assert goals.load_brief(full)["objective"] == "find_new_markets"
    brief = goals.load_brief(full, "keep_valuable_customers")
    assert list(brief["first"]["05"][:2]) == ["customers", "monitoring"]


def test_first_note_names_the_sections_in_order():
    brief = {"title": "Keep <and> [grow](javascript:x)", "first": OBJECTIVES[
        "keep_valuable_customers"].first}
    note = goals.first_note(brief, "04")  # the title and section names are markdown text
    assert note == ("Objective: **Keep &lt;and&gt; \\[grow\\]\\(javascript\\:x\\)**. The shared "
                    "report puts first: *Customer segments \\(RFM\\)*; *Lifecycle*; "
                    "*Lifetime value*.")
    assert goals.first_note({"title": "x"}, "03") == "Objective: **x**."
    assert goals.section_titles("03", ["trend", "nope"]) == ["Monthly revenue trend", "nope"]


def test_brief_in_chinese_keeps_the_keys(no_spend_no_erp):
    ctx = dataclasses.replace(no_spend_no_erp, lang="zh")
    brief = goals.goals_brief(ctx, "tier_partners")
    assert brief["lang"] == "zh" and brief["objective"] == "tier_partners"
    assert brief["title"] == "渠道伙伴分级" and brief["question"].endswith("？")
    assert [k["kpi"] for k in brief["kpis"]] == list(OBJECTIVES["tier_partners"].kpis)
    # a KPI is named in the report's language (its key stays in the brief)
    warning = next(w for w in brief["warnings"] if w.startswith("伙伴分级"))
    assert warning.startswith("伙伴分级 无法计算：需要伙伴企业资料") and "未映射" in warning
    table = goals.brief_table(brief)
    assert table.index.name == "项目" and table.loc["目标", "值"] == "渠道伙伴分级"
    assert table.loc["第5步优先展示"].iloc[0].startswith("渠道伙伴计划")
    kpis = goals.kpi_table(brief)
    assert "定义" in kpis.columns and kpis.loc["伙伴分级", "数据"] == "缺少：企业资料"
    assert kpis.loc["伙伴分级", "公式"] == "各因素得分相加；≥ 16 为A类，10 至 < 16 为B类，< 10 为C类"
    assert "共享报告优先展示" in goals.first_note(brief, "04")
    # a brief saved in English is stale for a Chinese report
    goals.save_brief(ctx, goals.goals_brief(no_spend_no_erp, "tier_partners"))
    assert goals.load_brief(ctx, "tier_partners")["lang"] == "zh"
    assert goals.load_brief(no_spend_no_erp, "tier_partners")["lang"] == "en"


def test_partner_thresholds_and_currency_come_from_the_config(tiny_config, tmp_path_factory):
    """The partner-tier formula shows partners.tiers (it was written out as >= 16 / 10), and
    money is named in project.currency (it was CNY whatever the config said)."""
    def change(raw):
        raw.setdefault("partners", {})["tiers"] = {"A": 20, "B": 12}
        raw["project"]["currency"] = "BRL"

    ctx = context(variant(tiny_config, tmp_path_factory, "brl", change), tmp_path_factory)
    brief = goals.goals_brief(ctx, "tier_partners")
    assert brief["thresholds"] == {"partners.tiers": {"A": 20.0, "B": 12.0}}
    formula = next(k["formula"] for k in brief["kpis"] if k["kpi"] == "partner_tiers")
    assert formula == "points per factor; >= 20 A, 12 to < 20 B, < 12 C"
    revenue = next(k for k in brief["kpis"] if k["kpi"] == "revenue")
    assert revenue["unit"] == "BRL"
    question = goals.goals_brief(ctx, "reallocate_resources")["question"]
    assert question == "Where does the next BRL of marketing and the next sales rep earn most?"


def test_what_notebook_01_shows(no_spend_no_erp):
    """The brief's parts as notebook 01 shows them (it only calls these)."""
    brief = goals.goals_brief(no_spend_no_erp, "reallocate_resources")
    assert goals.question(brief) == ("**Reallocate sales and marketing resources**: Where does "
                                     "the next CNY of marketing and the next sales rep earn "
                                     "most\\?")
    note = goals.data_note(brief)
    assert note.startswith(say("data_missing", "en"))
    assert note.count("\n- ") == len(brief["warnings"]) > 0
    checks = goals.checks_table(brief)
    names = {need: text("data_name", need, "en") for need in DATA_NEEDS}  # in words
    assert list(checks.index) == list(names.values())
    assert list(checks.columns) == ["available", "found", "what it is"]
    assert checks.loc[names["spend"], "available"] == "NO"
    assert checks.loc[names["orders"], "available"] == "yes"
    zh = goals.checks_table({**brief, "lang": "zh"})
    assert zh.index[0] == "客户" and not any(need in zh.index for need in DATA_NEEDS)
    thresholds = goals.threshold_table(brief)
    assert thresholds.loc["budget.floor_vs_current", "value"] == "0.5"
    assert list(thresholds.index) == list(OBJECTIVES["reallocate_resources"].thresholds)
    first = goals.first_table(brief)
    assert list(first.index) == ["03", "04", "05"]
    assert first.loc["05", "first"].startswith("Budget reallocation; Region tiers")
    assert goals.assumption_list(brief).count("- ") >= 3
    assert goals.objective_note(brief).startswith(
        "Objective: **Reallocate sales and marketing resources**. Data missing for it (see "
        "step 1): marketing\\_spend cannot be computed")
    complete = goals.goals_brief(no_spend_no_erp, "find_new_markets")
    assert goals.data_note(complete) == say("data_complete", "en")
    assert goals.objective_note(complete) == "Objective: **Find new markets**."


def test_what_notebook_01_shows_escapes_text_from_data():
    brief = {"lang": "en", "title": "<b>x</b>", "question": "[a](javascript:b)",
             "warnings": ["`c` <img src=x onerror=alert(1)>"], "assumptions": ["*d*"]}
    shown = " ".join([goals.question(brief), goals.data_note(brief),
                      goals.objective_note(brief), goals.assumption_list(brief)])
    assert "<b>" not in shown and "<img" not in shown and "](javascript" not in shown
    assert "&lt;b&gt;" in shown and "&lt;img" in shown
