"""The analyses give keys and numbers; helpers.text says them, in English and in Chinese.

Every sentence that used to be built inside helpers/analysis (tier reasons, budget notes,
partner tier reasons, the fallbacks and methods of step 4's notes, run-comparison
warnings) is checked here in both languages with the same numbers. The English is what
the saved files hold, word for word as before; the Chinese is what a Chinese report shows.
"""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from sentences import same_numbers

from helpers.analysis import tiers
from helpers.text.narrative.audience import Audience
from helpers.text.narrative.budget import budget_notes
from helpers.text.narrative.insight import narrate
from helpers.text.narrative.notes import (
    gap_model_reason,
    hotspot_reason,
    isolation_reason,
    ltv_reason,
    note_texts,
    warning_texts,
)
from helpers.text.narrative.tiers import (
    partner_reasons,
    tier_reason,
    tier_reasons,
    with_partner_reasons,
)

ANALYSIS = Path(__file__).resolve().parents[1] / "helpers" / "analysis"
CJK = re.compile(r"[\u4e00-\u9fff]")
EN, ZH = Audience(), Audience(lang="zh")


def both(en: str, zh: str) -> None:
    """The Chinese sentence is Chinese and carries the numbers of the English one."""
    assert CJK.search(zh) and not CJK.search(en), (en, zh)
    same_numbers(en, zh)


# --------------------------------------------------------------------------- the layers


def _analysis_modules():
    return sorted(ANALYSIS.glob("*.py"))


def words_in_analysis(path: Path) -> list[str]:
    """What makes ``path`` produce words: imports of helpers.text (or steps, run), ``lang``."""
    tree = ast.parse(path.read_text("utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            names = []
        found += [f"imports {n}" for n in names
                  if n.split(".")[:2] in (["helpers", "text"], ["helpers", "steps"],
                                          ["helpers", "run"])]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            a = node.args
            for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs]:
                if arg.arg == "lang":
                    found.append(f"{getattr(node, 'name', 'lambda')} takes lang")
    return found


def test_no_analysis_module_imports_the_text_layer_or_takes_a_language():
    """DESIGN.md: analysis modules are pure DataFrame -> DataFrame with no language; they
    never import helpers.text (nor steps or run) and no function takes ``lang``."""
    assert len(_analysis_modules()) >= 15
    problems = {p.name: words_in_analysis(p) for p in _analysis_modules()}
    assert not {k: v for k, v in problems.items() if v}, problems


def test_the_layer_check_sees_an_import_and_a_lang_parameter(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from helpers.text.lookup import say\nimport helpers.steps.insight\n"
                   "def reason(row, *, lang='en'):\n    return say('x', lang)\n", "utf-8")
    assert words_in_analysis(bad) == ["imports helpers.text.lookup",
                                      "imports helpers.text.lookup.say",
                                      "imports helpers.steps.insight", "reason takes lang"]


# --------------------------------------------------------------------------- region tiers

GROWTH = {"growth": 0.04, "new_revenue": False}
SMALL = {"small": True, "customers": 3, "min_customers": 5}
BIG = {"small": False, "customers": 20, "min_customers": 5}
TIER_CASES = [
    ("no_customers", {}, "no customers", "无客户"),
    ("core", {"share": 0.3, "min_share": 0.06, **GROWTH, "min_growth": -0.05, "hot": True,
              "gi_bin": 3, "gi_z": 3.4, "hotspot_bin": 2},
     "share 30.0% ≥ 6.0%, growth +4.0% ≥ -5.0%; Gi* hot spot (z 3.40, bin 3 ≥ 2)",
     "占比 30.0% ≥ 6.0%，增长 +4.0% ≥ -5.0%; Gi* 热点（z 3.40, 等级 3 ≥ 2）"),
    ("core_hotspot", {"share": 0.04, "min_share": 0.03, "growth": math.nan,
                      "new_revenue": True, "min_growth": -0.05, "hot": True},
     "Gi* hot spot, share 4.0% ≥ 3.0%, growth n/a (no revenue in the previous period)",
     "Gi* 热点, 占比 4.0% ≥ 3.0%，增长无法计算（上期无收入）"),
    ("core_share", {"share": 0.3, "min_share": 0.06, "hot": False, "coverage": 9 / 365},
     "share 30.0% ≥ 6.0%, growth not measured: the data cover 2.5% of the year before, so no "
     "emerging or declining tier",
     "占比 30.0% ≥ 6.0%，未计算增长：数据只覆盖上一年的 2.5%，因此不评为新兴或下滑"),
    ("steady_no_growth", {"share": 0.02, "ratio": 0.8, "min_ratio": 0.5, "coverage": None,
                          **BIG},
     "share 2.0%, gap ratio 0.80 ≥ 0.5: no rule met; growth not measured: the data do not "
     "cover the year before, so no emerging or declining tier",
     "占比 2.0%, 缺口比 0.80 ≥ 0.5：未满足任何规则; 未计算增长：数据未覆盖上一年，因此不评为新兴或下滑"),
    ("declining", {"growth": -0.2, "max_growth": -0.1, "share": 0.2},
     "growth -20.0% ≤ -10.0% (share 20.0%)", "增长 -20.0% ≤ -10.0%（占比 20.0%）"),
    ("emerging", {"growth": 0.5, "new_revenue": False, "min_growth": 0.25, "share": 0.03,
                  "max_share": 0.06},
     "growth +50.0% ≥ +25.0%, share 3.0% < 6.0%", "增长 +50.0% ≥ +25.0%，占比 3.0% < 6.0%"),
    ("gap", {"ratio": 0.2, "max_ratio": 0.5, "expected": 10.0, **SMALL},
     "3 customers vs 10.0 expected from population and GDP (ratio 0.20 < 0.5); only 3 "
     "customers (< 5): growth not trusted, so no core/declining/emerging tier",
     "3 家客户，按人口和GDP期望 10.0 家（比值 0.20 < 0.5）; 仅 3 家客户（< 5）：增长不可靠，"
     "不评为核心/下滑/新兴"),
    ("gap", {"ratio": 0.3, "max_ratio": 0.5, "expected": None, **BIG},
     "gap ratio 0.30 < 0.5", "缺口比 0.30 < 0.5"),
    ("potential", {"growth": 0.12, "min_growth": 0.1, "ratio": 0.8, "max_ratio": 1.0,
                   "customers": 20, "expected": 25.0},
     "growth +12.0% ≥ +10.0% with room to grow: 20 customers vs 25.0 expected, ratio 0.80 < 1",
     "增长 +12.0% ≥ +10.0% 且仍有空间：20 家客户，期望 25.0 家，比值 0.80 < 1"),
    ("steady", {"share": 0.1, **GROWTH, "ratio": 0.5, "min_ratio": 0.5, **BIG},
     "share 10.0%, growth +4.0%, gap ratio 0.50 ≥ 0.5: no rule met",
     "占比 10.0%, 增长 +4.0%, 缺口比 0.50 ≥ 0.5：未满足任何规则"),
    ("steady", {"share": math.nan, **GROWTH, "ratio": None, "min_ratio": 0.5, **SMALL},
     "share n/a: no rule met; only 3 customers (< 5): growth not trusted, so no "
     "core/declining/emerging tier",
     "占比无法计算：未满足任何规则; 仅 3 家客户（< 5）：增长不可靠，不评为核心/下滑/新兴"),
]


@pytest.mark.parametrize(("rule", "values", "en", "zh"), TIER_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(TIER_CASES)])
def test_tier_reason_in_english_and_chinese(rule, values, en, zh):
    assert tier_reason(rule, values) == en
    assert tier_reason(rule, values, "zh") == zh
    if rule != "no_customers":
        both(en, zh)


def test_every_tier_rule_has_words_and_an_unknown_one_is_named():
    assert {c[0] for c in TIER_CASES} == set(tiers.RULES)
    with pytest.raises(ValueError, match="unknown tier rule 'hot'"):
        tier_reason("hot", {})


def test_tier_reasons_of_the_analysis_table_in_both_languages():
    kpis = pd.DataFrame({"region": ["a", "b"], "customers": [50, 0],
                         "revenue": [3000.0, 0.0], "revenue_prev": [2884.6, 0.0],
                         "growth_yoy": [0.04, math.nan], "share": [0.3, 0.0]})
    rules = {"hot_share": 0.06, "hot_growth": -0.05, "emerging_growth": 0.25,
             "declining_growth": -0.10, "gap_ratio": 0.5}
    tiered = tiers.region_tiers(kpis, rules=rules)
    assert tier_reasons(tiered).tolist() == ["share 30.0% ≥ 6.0%, growth +4.0% ≥ -5.0%",
                                             "no customers"]
    assert tier_reasons(tiered, "zh").tolist() == ["占比 30.0% ≥ 6.0%，增长 +4.0% ≥ -5.0%",
                                                   "无客户"]


# --------------------------------------------------------------------------- budget

METHOD = {"basis": "change", "total_change": 0.05, "period": "2025-01-01 – 2025-12-31",
          "elasticity": 0.5, "gain": (1.1 ** 0.5 - 1) * 100, "unit": 1000.0,
          "total": 1_234_000.0, "current_total": 1_200_000.0, "momentum": 0.5, "headroom": 0.0}


def test_budget_notes_in_english_and_chinese_carry_the_same_numbers():
    en, zh = budget_notes(METHOD, EN), budget_notes(METHOD, ZH)
    assert len(en) == len(zh) == 8
    assert en[0] == "Total basis: current spend x (1 + budget.total_change 0.05)."
    assert zh[0] == "总额依据：当前费用 × (1 + budget.total_change 0.05)。"
    assert en[1].endswith(": 1.2 M CNY in total.") and "2025-01-01 – 2025-12-31" in en[1]
    assert zh[1].endswith("合计 120万元。")
    assert en[2] == "New total: 1.23 M CNY; every amount is a whole multiple of 1,000 CNY."
    assert zh[2] == "新总额：123万元；每个金额都是 1,000元的整数倍。"
    assert "about 4.9% more revenue" in en[3] and "约带来 4.9%" in zh[3]
    assert "(1 + growth)^0.5" in en[4] and "(1 + 增长)^0.5" in zh[4]
    assert en[5].endswith("(revenue from one more CNY).") and "（多投一元带来的收入）" in zh[5]
    for english, chinese in zip(en, zh, strict=True):
        both(english, chinese)


def test_budget_notes_name_the_project_currency():
    """The split used to say 'one more CNY' whatever project.currency was."""
    en = budget_notes(METHOD, Audience(currency="BRL"))
    zh = budget_notes(METHOD, Audience(lang="zh", currency="BRL"))
    assert not any("CNY" in n or "元" in n for n in en + zh)
    assert "1.2 M BRL in total" in en[1] and "合计 120万 BRL" in zh[1]
    assert "(revenue from one more BRL)" in en[5] and "（多投一BRL带来的收入）" in zh[5]


def test_budget_basis_and_responsiveness_variants():
    total = budget_notes({**METHOD, "basis": "total", "momentum": 0.0}, EN)
    assert total[0] == "Total basis: budget.total."
    assert total[4] == "Responsiveness m = 1 for every region."
    scaled = budget_notes({**METHOD, "basis": "scaled", "headroom": 0.3}, ZH)
    assert scaled[0] == "总额依据：按本范围占当前费用的比例缩放的 budget.total。"
    assert "(期望客户数 / 实际客户数)^0.3" in scaled[4]
    with pytest.raises(ValueError, match="unknown budget basis 'guess'"):
        budget_notes({**METHOD, "basis": "guess"}, EN)


# --------------------------------------------------------------------------- partners


def test_partner_reasons_in_english_and_chinese():
    partners = pd.DataFrame({"customer_id": ["P1", "P2", "P3", "P4", "P5"],
                             "score": [16.0, 11.0, 7.5, 20.0, 20.0],
                             "tier": ["A", "B", "C", "C", "C"],
                             "tier_rule": ["score", "score", "score", "direct_product",
                                           "direct_model"],
                             "missing": ""})
    points = {"A": 16, "B": 10}
    en = partner_reasons(partners, Audience(partner_points=points))
    zh = partner_reasons(partners, Audience(lang="zh", partner_points=points))
    assert en.tolist() == ["score 16 >= 16", "score 11 >= 10 and < 16", "score 7.5 < 10",
                           "C directly: main business is not access control",
                           "C directly: access control only a side line on projects"]
    assert zh.tolist() == ["得分 16 ≥ 16", "得分 11 ≥ 10 且 < 16", "得分 7.5 < 10",
                           "直接评为C类：主营业务不是门禁", "直接评为C类：门禁只是项目中的附带业务"]
    for english, chinese in zip(en, zh, strict=True):
        both(english, chinese)
    saved = with_partner_reasons(partners, Audience(partner_points=points))
    assert list(saved.columns) == ["customer_id", "score", "tier", "tier_rule", "tier_reason",
                                   "missing"]
    assert "tier_reason" not in partners  # not changed


# --------------------------------------------------------------------------- step 4's notes

NOTE_CASES = [
    (hotspot_reason, {"reason_key": "few_regions", "regions": 5, "min_regions": 8},
     "only 5 regions with a position (at least 8 are needed for local spatial statistics)",
     "仅 5 个地区有位置（局部空间统计至少需要 8 个）"),
    (hotspot_reason, {"reason_key": "same_value", "value": "revenue_per_capita"},
     "revenue_per_capita is the same in every region", "各地区的人均收入都相同"),
    (gap_model_reason, {"reason_key": "few_regions", "regions": 5},
     "only 5 regions with reference values", "仅 5 个地区有参考数据"),
    (gap_model_reason, {"reason_key": "few_customers", "customers": 12},
     "only 12 customers", "仅 12 家客户"),
    (gap_model_reason, {"reason_key": "singular"},
     "the Poisson fit is singular (population and GDP collinear)", "泊松回归矩阵奇异（人口与GDP共线）"),
    (gap_model_reason, {"reason_key": "diverged"}, "the Poisson fit diverged", "泊松回归发散"),
    (gap_model_reason, {"reason_key": "not_converged", "max_iter": 100},
     "the Poisson fit did not converge in 100 iterations", "泊松回归在 100 次迭代内未收敛"),
    (gap_model_reason, {"reason_key": "non_finite"}, "fit gave non-finite values",
     "拟合得到非有限值"),
    (gap_model_reason, {"reason_key": "no_reference"},
     "no population/GDP reference at this level", "该层级没有人口/GDP参考数据"),
    (isolation_reason, {"reason_key": "few_located", "located": 2},
     "only 2 customers with a precise position", "仅 2 家客户有精确位置"),
    (ltv_reason, {"reason_key": "no_purchases"}, "no purchases before the as-of day",
     "截止日之前没有购买"),
    (ltv_reason, {"reason_key": "few_repeat", "repeat_customers": 1,
                  "min_repeat_customers": 20},
     "only 1 customers with repeat purchases (at least 20 needed)", "仅 1 家客户有重复购买（至少需要 20 家）"),
    (ltv_reason, {"reason_key": "bgnbd_failed"}, "BG/NBD did not converge with any penalty",
     "BG/NBD 在任何惩罚系数下都未收敛"),
    (ltv_reason, {"reason_key": "bgnbd_a_one"},
     "BG/NBD gives a = 1: expected purchases undefined", "BG/NBD 得到 a = 1：预期购买次数无定义"),
    (ltv_reason, {"reason_key": "short_history", "history": {"history_days": 30},
                  "gate": {"min_calibration_months": 6, "min_holdout_months": 3}},
     "only 30 days of purchase history: the holdout check needs at least 6 months to fit on "
     "and 3 months to test on", "购买历史仅 30 天：留出检验至少需要 6 个月用于拟合、3 个月用于检验"),
    (ltv_reason, {"reason_key": "rare_repeat", "repeat_customers": 132, "repeat_share": 0.0059,
                  "gate": {"min_repeat_share": 0.05}},
     "only 132 customers (0.6%) bought on more than one day (at least 5% needed); one purchase "
     "each shows neither how often nor how long customers buy",
     "仅 132 家客户（0.6%）在不止一天有购买（至少需要 5%）；每家只买一次，无法看出客户多久买一次、会买多久"),
    (ltv_reason, {"reason_key": "holdout_not_fitted", "history": {"split": "2025-01-01"},
                  "holdout": {"repeat_customers": 3}},
     "BG/NBD could not be fitted on the history before 2025-01-01 (3 customers with repeat "
     "purchases in it), so it could not be checked",
     "BG/NBD 无法在 2025-01-01 之前的历史上拟合（其中有重复购买的客户 3 家），因此无法检验"),
    (ltv_reason, {"reason_key": "holdout_worse",
                  "history": {"split": "2016-08-31", "holdout_days": 487},
                  "holdout": {"model": {"rmse": 1.969}, "baseline": "mean_rate",
                              "mean_rate": {"rmse": 1.726}}},
     "fitted on the history before 2016-08-31 and tested on the 487 days from then, the model "
     "predicted each customer's purchases no better than the naive rule that every customer "
     "buys at the average rate (error per customer 1.97 purchases against 1.73)",
     "用 2016-08-31 之前的历史拟合、并在其后 487 天检验，模型对每位客户购买次数的预测并不比"
     "“每位客户都按平均频率购买”这一简单规则更准（每位客户误差 1.97 次，对照 1.73 次）"),
    (ltv_reason, {"reason_key": "holdout_off",
                  "history": {"split": "2025-01-01", "holdout_days": 365},
                  "holdout": {"model": {"predicted": 1500.2}, "actual": 1000.0,
                              "tolerance": 0.25}},
     "fitted on the history before 2025-01-01, the model predicted 1,500 purchases in the 365 "
     "days from then and 1,000 were made, more than 25% off",
     "用 2025-01-01 之前的历史拟合，模型预测其后 365 天有 1,500 次购买，实际为 1,000 次，偏差超过 25%"),
]


@pytest.mark.parametrize(("say_it", "note", "en", "zh"), NOTE_CASES,
                         ids=[f"{c[0].__name__}-{next(iter(c[1].values()))}" for c in NOTE_CASES])
def test_note_reason_in_english_and_chinese(say_it, note, en, zh):
    assert say_it(note) == en
    assert say_it(note, "zh") == zh
    assert CJK.search(zh)
    same_numbers(en, zh)


def test_unknown_reasons_are_named():
    with pytest.raises(ValueError, match="unknown hot-spot reason 'rain'"):
        hotspot_reason({"reason_key": "rain"})
    with pytest.raises(ValueError, match="unknown isolation reason 'rain'"):
        isolation_reason({"reason_key": "rain"})
    with pytest.raises(KeyError, match="note.ltv_rain"):
        ltv_reason({"reason_key": "rain"})


def test_note_texts_add_the_english_the_notes_file_held_before():
    """insight_notes.json keeps its English sentences, word for word, beside the keys."""
    notes = {
        "hotspots": {"value": "revenue", "regions": 28, "computed": True,
                     "weights": "contiguity", "lonely": 2, "unlocated": 3,
                     "scope_key": "market"},
        "gaps": {"regions": 5, "customers": 40, "method": "allocation",
                 "reason_key": "few_regions", "scope_key": "market"},
        "isolation": {"located": 2, "excluded": 0, "eps_km": 200.0, "min_customers": 3,
                      "clusters": 0, "isolated": 0, "reason_key": "few_located"},
        "ltv": {"customers": 9, "repeat_customers": 4, "method": "bgnbd+historical aov"},
        "lifecycle": {"new_months": 3},
    }
    worded = note_texts(notes)
    assert worded["hotspots"] == {**notes["hotspots"], "inference": (
        "analytic (normal approximation), no permutations; Benjamini-Hochberg false "
        "discovery rate over the regions"), "description": (
        "provinces sharing a border are neighbours (Guangdong-Hainan linked across the "
        "strait); 2 region(s) without a neighbour in scope linked to the nearest"),
        "note": "3 region(s) without a position left out",
        "scope": "computed on all provinces (a national pattern), shown for the scope"}
    assert worded["gaps"] == {**notes["gaps"], "reason": "only 5 regions with reference values",
                              "scope": "fitted on all provinces (the whole market), shown "
                                       "for the scope"}
    assert worded["isolation"] == {**notes["isolation"], "method": (
        "DBSCAN, haversine, eps 200 km, at least 3 customers within eps for a cluster core"),
        "reason": "only 2 customers with a precise position"}
    assert worded["ltv"] == {**notes["ltv"], "gammagamma_fallback": (
        "Gamma-Gamma did not converge: mean order value used")}
    assert worded["lifecycle"] == notes["lifecycle"]
    knn = note_texts({"hotspots": {"computed": True, "weights": "knn", "k": 5}})["hotspots"]
    assert knn["description"] == ("each region's 5 nearest regions by great-circle distance "
                                  "between region points are its neighbours")
    assert "description" not in notes["hotspots"]  # not changed


def test_chinese_report_says_why_a_method_did_not_speak_in_chinese():
    """Hot spots, isolation and lifetime value used to show their English reason."""
    tables = {
        "region_kpis": pd.DataFrame(),
        "isolated_customers": pd.DataFrame(columns=["customer_id"]),
        "notes": {"hotspots": {"value": "revenue", "regions": 4, "computed": False,
                               "reason_key": "few_regions", "min_regions": 8},
                  "isolation": {"located": 2, "eps_km": 200.0, "min_customers": 3,
                                "reason_key": "few_located"},
                  "ltv": {"customers": 0, "shown": False, "reason_key": "no_purchases"}},
    }
    hot, isolated, value = (narrate(t, tables, ZH) for t in ("hotspots", "isolated", "ltv"))
    assert hot == "本报告没有热点统计：仅 4 个地区有位置（局部空间统计至少需要 8 个）。"
    assert isolated == "本报告没有做孤立客户检查：仅 2 家客户有精确位置。"
    assert value == "这些数据不足以支撑客户生命周期价值，因此不显示，第5步也不使用：截止日之前没有购买。"
    assert narrate("isolated", tables, EN) == (
        "No isolation check for this report: only 2 customers with a precise position.")
    assert narrate("hotspots", tables, EN).startswith(
        "No hot-spot statistics for this report: only 4 regions with a position")


# --------------------------------------------------------------------------- run comparison


def test_comparison_warnings_in_english_and_chinese():
    warnings = [{"key": "same_period"}, {"key": "no_region_tables", "folder": "/runs/a/all"},
                {"key": "no_rfm"}]
    assert warning_texts(warnings) == [
        "the baseline run covers the same period as this run",
        "no region_tiers.csv or region_kpis.csv in /runs/a/all: no region comparison",
        "rfm.csv missing in one of the runs: no segment migration"]
    zh = warning_texts(warnings, "zh")
    assert zh == ["基准运行与本次运行的分析期相同",
                  "/runs/a/all 中没有 region_tiers.csv 或 region_kpis.csv：无法比较各地区",
                  "其中一次运行缺少 rfm.csv：无法比较客户分群的迁移"]
    assert warning_texts([], "zh") == []
