"""The five notebooks: committed clean and in sync, and run with papermill on a tiny dataset.

The run tests execute all five notebooks for the whole market and for one province
and check what they wrote, not only that they ran.
"""

from __future__ import annotations

import json

import jupytext
import nbformat
import pandas as pd
import papermill as pm
import pytest

from helpers.config import PROJECT_ROOT
from helpers.run.engine import ensure_kernel

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PARAMETERS = ["region", "run_dir", "config", "period_end", "lang", "mask_pii", "objective",
              "baseline_run"]


def test_five_notebooks_exist():
    assert [p.stem for p in NOTEBOOKS] == [
        "01_goals", "02_data_prep", "03_visualization", "04_insight", "05_strategy"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs_and_with_parameters(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    first = code[0]
    assert "parameters" in first.metadata.get("tags", [])
    names = [line.split(":")[0] for line in first.source.splitlines() if ":" in line]
    assert names == PARAMETERS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_matches_its_py_pair(path):
    paired = jupytext.read(path.with_suffix(".py"))
    nb = nbformat.read(path, as_version=4)
    assert [c.source for c in nb.cells] == [c.source for c in paired.cells]
    assert [c.cell_type for c in nb.cells] == [c.cell_type for c in paired.cells]


def _tagged_sections(path) -> dict[str, str]:
    """Section key -> the first line of its markdown cell, in the notebook's order."""
    tagged = {}
    for cell in nbformat.read(path, as_version=4).cells:
        keys = [t[len("section-"):] for t in cell.metadata.get("tags", [])
                if t.startswith("section-")]
        if keys:
            assert cell.cell_type == "markdown", (path.name, keys)
            assert len(keys) == 1 and keys[0] not in tagged, (path.name, keys)
            tagged[keys[0]] = cell.source.splitlines()[0]
    return tagged


@pytest.mark.parametrize("step", ["03", "04", "05"])
def test_sections_are_tagged_as_the_catalog_names_them(step):
    """The report reorders sections by tag (:func:`helpers.run.render.order_sections`), so
    the tags, their titles in English and Chinese and every objective's order must agree
    with :data:`helpers.catalog.SECTIONS`."""
    from helpers.catalog import OBJECTIVES, SECTIONS
    from helpers.run.render import load_translations
    from helpers.steps.goals import section_titles

    (path,) = [p for p in NOTEBOOKS if p.name.startswith(step)]
    tagged = _tagged_sections(path)
    assert list(tagged) == list(SECTIONS[step])
    translations = {k.splitlines()[0]: v.splitlines()[0]
                    for k, v in load_translations(PROJECT_ROOT / "notebooks", "zh").items()}
    for lang in ("en", "zh"):
        titles = section_titles(step, SECTIONS[step], lang)
        shown = tagged if lang == "en" else {k: translations.get(v) for k, v in tagged.items()}
        assert shown == {key: f"## {title}"
                         for key, title in zip(SECTIONS[step], titles, strict=True)}, lang
    for objective in OBJECTIVES.values():
        first = objective.first[step]
        assert first and set(first) <= set(tagged), (objective.key, first)
        assert len(set(first)) == len(first), objective.key


@pytest.mark.parametrize(("step", "call"), [("04", 'insight.section(ctx, tables, "{key}")'),
                                            ("05", "strategy.{key}_section(ctx, tables)")])
def test_each_section_is_one_call_and_moves_as_the_objective_says(step, call):
    """Steps 4 and 5 show each section with one call right after its heading; the shared
    report puts the objective's sections first with one mechanism
    (:func:`helpers.run.render.order_sections`), leaving what comes before the first
    section (in step 5 the executive summary) on top."""
    from helpers.catalog import OBJECTIVES
    from helpers.run.render import order_sections

    (path,) = [p for p in NOTEBOOKS if p.name.startswith(step)]
    cells = nbformat.read(path, as_version=4).cells
    for objective in OBJECTIVES.values():
        ordered = order_sections(cells, objective.first[step])
        tagged = [(i, t[len("section-"):]) for i, c in enumerate(ordered)
                  for t in c.metadata.get("tags", []) if t.startswith("section-")]
        keys = [key for _, key in tagged]
        assert keys[:len(objective.first[step])] == list(objective.first[step]), objective.key
        for i, key in tagged:
            assert ordered[i + 1].cell_type == "code" and ordered[i + 1].source == call.format(
                key=key), (key, ordered[i + 1].source)
        if step == "05":
            assert any(c.source.startswith("## Executive summary")
                       for c in ordered[:tagged[0][0]])


def test_every_markdown_cell_has_a_current_chinese_translation():
    """notebooks/zh.yaml is keyed by the English text: an edited cell needs a new entry."""
    from helpers.run.render import load_translations
    from helpers.steps.goals import section_titles

    translations = load_translations(PROJECT_ROOT / "notebooks", "zh")
    sources = []
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "markdown":
                continue
            sources.append(cell.source.strip())
            assert cell.source.strip() in translations, f"{path.name}: {cell.source[:60]!r}"
            text = translations[cell.source.strip()]
            assert text.strip() and text.strip() != cell.source.strip()
            # headings keep their level; section headings read as helpers.catalog.SECTIONS says
            level = cell.source.lstrip().split(" ", 1)[0]
            if level.startswith("#"):
                assert text.lstrip().split(" ", 1)[0] == level
            keys = [t[len("section-"):] for t in cell.metadata.get("tags", [])
                    if t.startswith("section-")]
            if keys:
                title = section_titles(path.name[:2], keys[:1], "zh")[0]
                assert text.splitlines()[0] == f"## {title}"
    stale = set(translations) - set(sources)
    assert not stale, f"entries for text no notebook has any more: {sorted(stale)[:3]}"


def run_all(tiny_config, run_dir, region):
    ensure_kernel()
    for path in NOTEBOOKS:
        out = run_dir / f"{region}-{path.name}"
        pm.execute_notebook(
            path, out, cwd=str(path.parent), kernel_name="python3", language="python",
            progress_bar=False, parameters={"region": region, "run_dir": str(run_dir), "config": str(tiny_config)},
        )


@pytest.fixture(scope="module")
def national(tiny_config, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    run_all(tiny_config, run_dir, "ALL")
    return run_dir


@pytest.mark.kernel
def test_whole_market_run_writes_every_artifact(national):
    out = national / "all"
    for name in ["goals.json", "data_quality.json", "region_kpis.csv", "concentration.json",
                 "rfm.csv", "segment_summary.csv", "headline.json", "region_tiers.csv",
                 "actions.csv", "actions.xlsx", "campaign_list.csv"]:
        assert (out / name).exists(), name
    for name in ["customers.parquet", "orders.parquet", "ledger.csv", "quarantine.csv"]:
        assert (national / "prep" / name).exists(), name

    quality = json.loads((out / "data_quality.json").read_text("utf-8"))
    assert quality["ledger_balanced"] is True

    kpis = pd.read_csv(out / "region_kpis.csv")
    assert len(kpis) == 31  # every mainland province, blank ones included
    assert (kpis["customers"] >= 0).all() and kpis["share"].sum() == pytest.approx(1.0)
    headline = json.loads((out / "headline.json").read_text("utf-8"))
    orders = pd.read_parquet(national / "prep" / "orders.parquet")
    assert 0 < headline["revenue"] <= orders["amount"].sum()
    assert headline["customers"] == kpis["customers"].sum()
    assert headline["tier"] in {"core", "emerging", "gap", "declining", "steady"}

    tiers = pd.read_csv(out / "region_tiers.csv")
    assert set(tiers["tier"]) <= {"core", "emerging", "gap", "declining", "steady"}
    assert (tiers.loc[tiers["customers"] == 0, "tier"] == "gap").all()
    assert tiers["tier_reason"].notna().all()
    actions = pd.read_csv(out / "actions.csv")
    assert set(actions["region"]) == set(tiers["region"])

    goals = json.loads((out / "goals.json").read_text("utf-8"))
    assert goals["objective"] == "find_new_markets" and len(goals["provinces_in_scope"]) == 31


@pytest.mark.kernel
def test_maps_and_charts_are_in_the_executed_notebook(national):
    nb = nbformat.read(national / "ALL-03_visualization.ipynb", as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    maps = [o for o in outputs if "leaflet" in str(o.get("data", {}).get("text/html", "")).lower()]
    assert len(images) >= 4 and len(maps) == 2


@pytest.mark.kernel
def test_province_run_reports_cities(tiny_config, tmp_path):
    run_all(tiny_config, tmp_path, "广东")
    out = tmp_path / "guangdong"
    kpis = pd.read_csv(out / "region_kpis.csv")
    assert kpis["level"].eq("city").all() and kpis["region"].str.endswith("市").all()
    customers = pd.read_parquet(tmp_path / "prep" / "customers.parquet")
    assert kpis["customers"].sum() == (customers["province"] == "广东省").sum()
    goals = json.loads((out / "goals.json").read_text("utf-8"))
    assert goals["provinces_in_scope"] == ["广东省"]


@pytest.mark.kernel
def test_defaults_on_the_bundled_sample_find_the_story(tmp_path):
    """With default parameters (only the run folder moved out of the repo)."""
    from samplegen import STORY

    ensure_kernel()
    for path in NOTEBOOKS:
        pm.execute_notebook(path, tmp_path / path.name, cwd=str(path.parent),
                            kernel_name="python3", language="python", progress_bar=False,
                            parameters={"run_dir": str(tmp_path)})
    tiers = pd.read_csv(tmp_path / "all" / "region_tiers.csv").set_index("region")
    assert set(tiers.index[tiers["customers"] == 0]) == set(STORY["blank"])
    assert (tiers.loc[STORY["blank"], "tier"] == "gap").all()
    assert (tiers.loc[STORY["hot"], "tier"] == "core").all()
    assert tiers.loc[STORY["declining"], "tier"].eq("declining").all()
    kpis = pd.read_csv(tmp_path / "all" / "region_kpis.csv").set_index("region")
    for province in STORY["underserved"]:
        assert kpis.loc[province, "gap_ratio"] < 0.5

    # step 5: every planted role in its tier, with the numbers that put it there
    assert tiers.loc[STORY["emerging"], "tier"].eq("emerging").all()
    assert tiers.loc[STORY["underserved"], "tier"].eq("gap").all()
    for province in STORY["hot"]:
        assert f"share {tiers.loc[province, 'share']:.1%} ≥ 5.0%" in tiers.loc[province,
                                                                              "tier_reason"]
    for province in STORY["declining"]:
        growth = tiers.loc[province, "growth_yoy"]
        assert tiers.loc[province, "tier_reason"].startswith(f"growth {growth:+.1%} ≤ -10.0%")
    for province in STORY["underserved"]:
        assert f"ratio {tiers.loc[province, 'gap_ratio']:.2f} < 0.5" in tiers.loc[
            province, "tier_reason"]
    assert (tiers.loc[STORY["blank"], "tier_reason"] == "no customers").all()
    assert tiers.loc[STORY["emerging"], "tier_reason"].str.contains("≥ +50.0%", regex=False).all()

    # the budget: the same money (the total exactly, in units of 10,000), every floor and
    # cap met, and the default objective's rule (find new markets): the emerging and
    # under-served provinces get, the declining one keeps its spend (its playbook defends
    # key accounts; issue 12: it was cut by half)
    plan = pd.read_csv(tmp_path / "all" / "budget.csv").set_index("region")
    assert plan["new_spend"].sum() == round(plan["spend"].sum() / 10000) * 10000
    assert (plan["new_spend"] >= plan["floor"]).all() and (plan["new_spend"] <= plan["cap"]).all()
    assert (plan["new_spend"] % 10000 == 0).all()
    assert (plan.loc[STORY["declining"], "change"] >= 0).all()
    assert (plan.loc[STORY["declining"], "reason"] == "hold").all()
    assert (plan.loc[STORY["emerging"] + ["河南省", "湖南省"], "change"] > 0).all()
    assert (plan.loc[STORY["blank"], "new_spend"] == 30000).all()
    summary = json.loads((tmp_path / "all" / "executive_summary.json").read_text("utf-8"))
    assert len(summary["findings"]) == 5
    assert all(any(ch.isdigit() for ch in f["text"]) for f in summary["findings"])
