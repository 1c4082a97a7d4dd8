"""The batch runner end to end, on two tiny stub notebooks and a stubbed data prep."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import nbformat
import pandas as pd
import pytest
import yaml
from stubs import stub_notebook

from helpers.catalog import OBJECTIVES, SECTIONS
from helpers.config import PROJECT_ROOT
from helpers.run import batch
from helpers.run.engine import NotebookFailed
from helpers.steps.goals import section_titles

FAILING_REGION = "华南"  # the stub notebook raises for this region
SOURCE_MARKER = "SOURCE_MARKER_7f3a"  # appears in code only, never in an output

PARAMETERS = '''region: str = "ALL"          # ALL, a territory (华东) or a province in any spelling
run_dir: str = ""            # reports/<run_id>; empty = reports/interactive
config: str = "workbook.yaml"  # path of the workbook config
period_end: str = ""         # last day of the analysis period; empty = last order date
lang: str = "en"             # en | zh
mask_pii: bool = True        # mask personal data in the report'''

WRITE = f'''import json
from pathlib import Path
from helpers.config import load_config
from helpers.geo.scope import Scope
scope = Scope.parse(region, load_config(config))
out = Path(run_dir) / scope.slug
out.mkdir(parents=True, exist_ok=True)
(out / "stub.txt").write_text(region, encoding="utf-8")
(out / "headline.json").write_text(json.dumps({{
    "region": scope.name, "label": scope.label(lang), "customers": 1234,
    "active_customers": 1000, "revenue": 5678901.5, "growth_yoy": 0.125,
    "period_start": "2025-01-01", "period_end": "2025-12-31"}}), encoding="utf-8")
marker = "{SOURCE_MARKER}"
print("stub ran for", scope.label(lang))'''

FAIL = f'''if region == "{FAILING_REGION}":
    raise ValueError("planted failure <b>&</b>")'''

TIER = '''import json
from pathlib import Path
from helpers.config import load_config
from helpers.geo.scope import Scope
scope = Scope.parse(region, load_config(config))
path = Path(run_dir) / scope.slug / "headline.json"
data = json.loads(path.read_text(encoding="utf-8"))
data["tier"] = "core"
path.write_text(json.dumps(data), encoding="utf-8")
print("tier written")'''


def _notebook(cells: list[str], path: Path) -> Path:
    return stub_notebook(path, PARAMETERS, *cells, title="# Stub report")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> dict:
    """Stub notebooks, a config whose data folder exists, and a reports folder."""
    root = tmp_path_factory.mktemp("project")
    notebooks = root / "notebooks"
    notebooks.mkdir()
    _notebook([WRITE, FAIL], notebooks / "01_stub_first.ipynb")
    _notebook([TIER], notebooks / "02_stub_second.ipynb")
    (notebooks / "README.ipynb").write_text("not a workbook step", encoding="utf-8")
    data = root / "data"
    data.mkdir()
    (data / "orders.csv").write_text("订单号,金额\n1,10\n", encoding="utf-8")
    raw = yaml.safe_load((PROJECT_ROOT / "workbook.yaml").read_text(encoding="utf-8"))
    raw["paths"]["data"] = str(data)
    raw["paths"]["reports"] = str(root / "reports")
    config = root / "workbook.yaml"
    config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return {"root": root, "notebooks": notebooks, "config": config, "reports": root / "reports"}


def _fake_prep(config, run, inputs):
    run.prep.mkdir(parents=True, exist_ok=True)
    (run.prep / "ledger.csv").write_text("table,outcome,rows\ncustomers,kept,1\n",
                                         encoding="utf-8")


def _run(project: dict, run_id: str, regions: str) -> tuple[int, Path]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(batch, "run_prep", _fake_prep)
        code = batch.main([
            "--config", str(project["config"]), "--regions", regions, "--jobs", "2",
            "--run-id", run_id, "--notebooks", str(project["notebooks"]),
            "--reports", str(project["reports"]),
        ])
    return code, project["reports"] / run_id


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.links += [v for k, v in attrs if k == "href" and v]
        if tag == "script" or (tag == "link" and dict(attrs).get("rel") == "stylesheet"):
            self.scripts += 1


def _links(page: Path) -> _Links:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="module")
def good_run(project):
    return _run(project, "good-run", "ALL")


@pytest.fixture(scope="module")
def failing_run(project):
    return _run(project, "failing-run", f"华东,{FAILING_REGION}")


@pytest.mark.kernel
def test_good_batch_writes_every_report(good_run, project):
    code, run_dir = good_run
    assert code == 0
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "ok"
    assert [r["slug"] for r in manifest["regions"]] == ["all"]
    assert (run_dir / "prep" / "ledger.csv").exists()
    for region in manifest["regions"]:
        assert region["status"] == "ok"
        assert [n["status"] for n in region["notebooks"]] == ["ok", "ok"]
        for name in ("01_stub_first", "02_stub_second"):
            assert (run_dir / region["slug"] / f"{name}.ipynb").exists()
            assert (run_dir / region["slug"] / f"{name}.html").exists()
        assert (run_dir / region["slug"] / "stub.txt").exists()
    # parameters reached the notebooks: absolute config and run_dir
    executed = nbformat.read(run_dir / "all" / "01_stub_first.ipynb", as_version=4)
    injected = next(c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", []))
    values: dict = {}
    exec(injected.source, values)
    assert values["region"] == "ALL"
    assert values["run_dir"] == str(run_dir) and values["config"] == str(project["config"])
    assert values["mask_pii"] is True and values["period_end"] == ""


@pytest.mark.kernel
def test_manifest_records_the_run(good_run, project):
    _, run_dir = good_run
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["run_id"] == "good-run"
    assert manifest["started"] and manifest["finished"] and manifest["duration_seconds"] >= 0
    assert manifest["config"]["path"] == str(project["config"])
    assert re.fullmatch(r"[0-9a-f]{64}", manifest["config"]["sha256"])
    inputs = {Path(i["path"]).name: i for i in manifest["inputs"]}
    assert re.fullmatch(r"[0-9a-f]{64}", inputs["orders.csv"]["sha256"])
    assert inputs["crm_customers.csv"]["sha256"] is None  # configured but absent
    assert manifest["packages"]["papermill"] and "pandera" in manifest["packages"]
    assert "git_commit" in manifest
    assert manifest["parameters"]["mask_pii"] is True and manifest["parameters"]["lang"] == "en"
    assert manifest["parameters"]["engine"] == "warm"  # the default
    assert manifest["prep"]["status"] == "ok"
    notebook = manifest["regions"][0]["notebooks"][0]
    assert notebook["seconds"] > 0 and notebook["error"] is None


@pytest.mark.kernel
def test_index_links_every_report(good_run):
    _, run_dir = good_run
    page = run_dir / "index.html"
    parsed = _links(page)
    assert parsed.scripts == 0
    reports = [link for link in parsed.links if link.endswith(".html")]
    assert len(reports) == 2
    for link in reports:
        assert (run_dir / unquote(link)).exists(), link
    text = page.read_text(encoding="utf-8")
    assert "Whole market" in text
    assert "1,234" in text and "+12.5%" in text and "core" in text
    assert "2025-01-01" in text


@pytest.mark.kernel
def test_html_hides_code(good_run):
    _, run_dir = good_run
    page = (run_dir / "all" / "01_stub_first.html").read_text(encoding="utf-8")
    assert "stub ran for Whole market" in page  # outputs are kept
    assert SOURCE_MARKER not in page  # code inputs are not
    assert "<title>01 Stub first — Whole market — run good-run</title>" in page
    assert 'src="http' not in page and "cdnjs" not in page  # nothing from a CDN


@pytest.mark.kernel
def test_a_failing_region_stops_alone(failing_run):
    code, run_dir = failing_run
    assert code == 1
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "failed"
    regions = {r["slug"]: r for r in manifest["regions"]}
    assert list(regions) == ["all", "east-china", "south-china"]
    for slug in ("all", "east-china"):
        assert regions[slug]["status"] == "ok"
        assert (run_dir / slug / "02_stub_second.html").exists()
    failed = regions["south-china"]
    assert failed["status"] == "failed"
    first, second = failed["notebooks"]
    assert first["status"] == "failed"
    assert first["error"] == "ValueError: planted failure <b>&</b>"
    assert "planted failure" in failed["error"]
    assert second["status"] == "skipped" and second["html"] is None
    assert not (run_dir / "south-china" / "02_stub_second.ipynb").exists()
    executed = (run_dir / "south-china" / "01_stub_first.ipynb").read_text(encoding="utf-8")
    assert "planted failure" in executed and "ValueError" in executed
    assert (run_dir / "south-china" / "01_stub_first.html").exists()


@pytest.mark.kernel
def test_index_marks_the_failed_region(failing_run):
    _, run_dir = failing_run
    text = (run_dir / "index.html").read_text(encoding="utf-8")
    row = re.search(r'<section class="card panel failed" id="region-south-china">.*?</section>',
                    text, re.S)
    assert row, "the failed region has a card marked failed"
    assert "planted failure &lt;b&gt;&amp;&lt;/b&gt;" in row.group(0)
    assert "<b>&</b>" not in text
    assert "1 failed" in text
    for link in _links(run_dir / "index.html").links:
        if link.endswith(".html"):
            assert (run_dir / unquote(link)).exists(), link


def test_bad_config_exits_2_naming_the_key(tmp_path, capsys):
    raw = yaml.safe_load((PROJECT_ROOT / "workbook.yaml").read_text(encoding="utf-8"))
    raw["analysis"]["period_months"] = "twelve"
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    code = batch.main(["--config", str(config), "--reports", str(tmp_path / "reports")])
    assert code == 2
    err = capsys.readouterr().err
    assert "analysis.period_months" in err
    assert "Traceback" not in err
    assert not (tmp_path / "reports").exists()


def test_missing_config_exits_2(tmp_path, capsys):
    code = batch.main(["--config", str(tmp_path / "nope.yaml")])
    assert code == 2
    assert "nope.yaml" in capsys.readouterr().err


def test_unknown_region_exits_2(project, tmp_path, capsys):
    code = batch.main(["--config", str(project["config"]), "--regions", "Atlantis",
                       "--notebooks", str(project["notebooks"]),
                       "--reports", str(tmp_path / "reports")])
    assert code == 2
    err = capsys.readouterr().err
    assert "Atlantis" in err and "Traceback" not in err
    assert not (tmp_path / "reports").exists()


def test_bad_period_end_exits_2(project, tmp_path, capsys):
    code = batch.main(["--config", str(project["config"]), "--period-end", "31/12/2025",
                       "--notebooks", str(project["notebooks"]),
                       "--reports", str(tmp_path / "reports")])
    assert code == 2
    assert "--period-end" in capsys.readouterr().err


def test_no_notebooks_exits_2(project, tmp_path, capsys):
    code = batch.main(["--config", str(project["config"]), "--notebooks", str(tmp_path),
                       "--reports", str(tmp_path / "reports")])
    assert code == 2
    assert "no notebooks" in capsys.readouterr().err


def test_a_broken_translation_file_exits_2_naming_it(project, tmp_path, capsys):
    notebooks = tmp_path / "notebooks"
    shutil.copytree(project["notebooks"], notebooks)
    (notebooks / "zh.yaml").write_text("- notebook: 01\n  en: only English\n", "utf-8")
    args = ["--config", str(project["config"]), "--notebooks", str(notebooks),
            "--reports", str(tmp_path / "reports")]
    assert batch.main([*args, "--lang", "zh"]) == 2
    err = capsys.readouterr().err
    assert "zh.yaml: item 1 needs the text keys 'en' and 'zh'" in err and "Traceback" not in err
    assert not (tmp_path / "reports").exists()


class _FakeEngine:
    """Writes the output without a kernel; fails for one notebook name."""

    def __init__(self, fail: str = ""):
        self.fail = fail
        self.calls: list[tuple[str, str]] = []

    def execute(self, notebook, output, parameters, cwd):
        self.calls.append((parameters["region"], Path(notebook).name))
        shutil.copy(notebook, output)
        if Path(notebook).name == self.fail:
            raise NotebookFailed(notebook, output, "KeyError: 'x'")


def test_prep_failure_runs_no_region(project, tmp_path, monkeypatch, capsys):
    def broken(config, run, inputs):
        raise RuntimeError("ledger does not balance")

    monkeypatch.setattr(batch, "run_prep", broken)
    engine = _FakeEngine()
    code = batch.main(["--config", str(project["config"]), "--run-id", "r",
                       "--notebooks", str(project["notebooks"]),
                       "--reports", str(tmp_path)], engine=engine)
    assert code == 1
    assert engine.calls == []
    assert "ledger does not balance" in capsys.readouterr().err
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "failed"
    assert manifest["prep"]["error"] == "RuntimeError: ledger does not balance"
    assert "ledger does not balance" in (tmp_path / "r" / "index.html").read_text("utf-8")


def test_regions_run_in_order_with_a_fake_engine(project, tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "run_prep", _fake_prep)
    engine = _FakeEngine(fail="01_stub_first.ipynb")
    code = batch.main(["--config", str(project["config"]), "--run-id", "r", "--jobs", "1",
                       "--regions", "广东,Guangdong,粤", "--lang", "zh", "--no-mask-pii",
                       "--notebooks", str(project["notebooks"]),
                       "--reports", str(tmp_path)], engine=engine)
    assert code == 1
    # 广东 spelled three ways is one region; 02 never runs after 01 failed
    assert engine.calls == [("ALL", "01_stub_first.ipynb"), ("广东省", "01_stub_first.ipynb")]
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text(encoding="utf-8"))
    assert [r["slug"] for r in manifest["regions"]] == ["all", "guangdong"]
    assert manifest["regions"][1]["label"] == "广东省"
    assert manifest["parameters"]["mask_pii"] is False
    assert manifest["parameters"]["lang"] == "zh"
    assert "失败" in (tmp_path / "r" / "index.html").read_text("utf-8")


def test_default_run_id_is_a_utc_timestamp(project, tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "run_prep", _fake_prep)
    code = batch.main(["--config", str(project["config"]), "--regions", "华北",
                       "--notebooks", str(project["notebooks"]), "--reports", str(tmp_path)],
                      engine=_FakeEngine())
    assert code == 0
    (run_dir,) = tmp_path.iterdir()
    assert re.fullmatch(r"\d{8}-\d{6}", run_dir.name)


# ----------------------------------------------------------------------------- objective and baseline


class _RecordingEngine(_FakeEngine):
    """Records parameters; the strategy notebook leaves a comparison when given a baseline."""

    def __init__(self):
        super().__init__()
        self.parameters: list[dict] = []

    def execute(self, notebook, output, parameters, cwd):
        super().execute(notebook, output, parameters, cwd)
        self.parameters.append(dict(parameters))
        if parameters["baseline_run"]:
            Path(output).parent.joinpath("comparison.json").write_text(json.dumps({
                "headline": {"revenue": {"before": 100.0, "now": 150.0, "change": 0.5}},
                "tier_changes": [{"region": "辽宁省"}], "newly_blank": ["<i>青海省</i>"],
                "newly_hot": [], "champions_to_at_risk": 4}), encoding="utf-8")


def test_objective_and_baseline_reach_every_notebook(project, tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "run_prep", _fake_prep)
    (tmp_path / "last-quarter").mkdir()
    engine = _RecordingEngine()
    code = batch.main(["--config", str(project["config"]), "--run-id", "r", "--regions", "ALL",
                       "--objective", "tier_partners", "--baseline-run", "last-quarter",
                       "--notebooks", str(project["notebooks"]), "--reports", str(tmp_path)],
                      engine=engine)
    assert code == 0
    assert len(engine.parameters) == 2
    for parameters in engine.parameters:
        assert parameters["objective"] == "tier_partners"
        assert parameters["baseline_run"] == str((tmp_path / "last-quarter").resolve())
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text("utf-8"))
    assert manifest["parameters"]["objective"] == "tier_partners"
    assert manifest["parameters"]["baseline_run"].endswith("last-quarter")
    monitoring = json.loads((tmp_path / "r" / "monitoring.json").read_text("utf-8"))
    assert monitoring["regions"][0]["tier_changes"] == 1
    page = (tmp_path / "r" / "index.html").read_text("utf-8")
    assert "Compared with run last-quarter" in page
    assert "&lt;i&gt;青海省&lt;/i&gt;" in page and "<i>青海省</i>" not in page
    assert "+50.0%" in page


def test_default_objective_and_no_baseline(project, tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "run_prep", _fake_prep)
    engine = _RecordingEngine()
    assert batch.main(["--config", str(project["config"]), "--run-id", "r", "--regions", "ALL",
                       "--notebooks", str(project["notebooks"]), "--reports", str(tmp_path)],
                      engine=engine) == 0
    assert {p["objective"] for p in engine.parameters} == {"find_new_markets"}
    assert {p["baseline_run"] for p in engine.parameters} == {""}
    assert not (tmp_path / "r" / "monitoring.json").exists()
    assert "Compared with run" not in (tmp_path / "r" / "index.html").read_text("utf-8")


def test_engine_option():
    assert batch.build_parser().parse_args(["--engine", "warm"]).engine == "warm"
    assert batch.build_parser().parse_args(["--engine", "papermill"]).engine == "papermill"
    assert batch.build_parser().parse_args([]).engine == batch.DEFAULT_ENGINE
    with pytest.raises(SystemExit):
        batch.build_parser().parse_args(["--engine", "turbo"])


def test_unknown_objective_or_baseline_exits_2(project, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        batch.main(["--config", str(project["config"]), "--objective", "get_rich"])
    assert stop.value.code == 2
    assert "find_new_markets" in capsys.readouterr().err
    code = batch.main(["--config", str(project["config"]), "--baseline-run", "no-such-run",
                       "--notebooks", str(project["notebooks"]),
                       "--reports", str(tmp_path / "reports")])
    assert code == 2
    err = capsys.readouterr().err
    assert "--baseline-run" in err and "no-such-run" in err and "Traceback" not in err
    assert not (tmp_path / "reports").exists()
    (tmp_path / "reports" / "same").mkdir(parents=True)
    code = batch.main(["--config", str(project["config"]), "--run-id", "same",
                       "--baseline-run", "same", "--notebooks", str(project["notebooks"]),
                       "--reports", str(tmp_path / "reports")])
    assert code == 2 and "is this run" in capsys.readouterr().err


# ----------------------------------------------------------------------------- every objective


REAL_NOTEBOOKS = PROJECT_ROOT / "notebooks"
FIRST_SECTION_04 = {"find_new_markets": "gaps", "reallocate_resources": "region_kpis",
                    "compare_regions": "region_kpis", "keep_valuable_customers": "segments",
                    "tier_partners": "partners"}
BARE = ("reallocate_resources", "tier_partners")  # run without spend and firmographics
ZH_RUN = "keep_valuable_customers"  # runs with --lang zh
FIRST_SECTION = {"find_new_markets": "tiers", "reallocate_resources": "budget",
                 "compare_regions": "tiers", "keep_valuable_customers": "customers",
                 "tier_partners": "partners"}


@pytest.fixture(scope="module")
def objective_runs(tiny_config, tmp_path_factory):
    """The five notebooks through the batch once per objective on the tiny dataset.

    The first run ends a year earlier and is the baseline of the others;
    ``reallocate_resources`` and ``tier_partners`` run on a copy of the config
    without marketing spend and without the ERP partner file (the data they need
    is missing); ``keep_valuable_customers`` runs in Chinese.
    """
    reports = tmp_path_factory.mktemp("reports")
    raw = yaml.safe_load(tiny_config.read_text("utf-8"))
    raw["paths"] = {"data": str(tiny_config.parent / "data"), "reports": str(reports)}
    raw["sources"].pop("spend")
    raw["sources"]["customers"] = [s for s in raw["sources"]["customers"] if s["name"] != "erp"]
    bare = tmp_path_factory.mktemp("bare") / "workbook.yaml"
    bare.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    codes = {}
    for objective in FIRST_SECTION:
        args = ["--config", str(bare if objective in BARE else tiny_config),
                "--regions", "ALL", "--jobs", "1", "--run-id", objective,
                "--objective", objective, "--notebooks", str(REAL_NOTEBOOKS),
                "--reports", str(reports)]
        if objective == ZH_RUN:
            args += ["--lang", "zh"]
        if objective == "find_new_markets":
            args += ["--period-end", "2024-12-31"]
        else:
            args += ["--baseline-run", "find_new_markets"]
        codes[objective] = batch.main(args)
    return reports, codes


def _heading_at(page: str, title: str) -> int:
    """Where the section heading ``title`` is on the page (-1: not there); the bar's
    downloads and the table of contents name some sections too, the heading is the
    one with nbconvert's permalink."""
    return page.find(f'>{title}<a class="anchor-link"')


@pytest.mark.kernel
@pytest.mark.parametrize("objective", list(FIRST_SECTION))
def test_every_objective_runs_end_to_end(objective_runs, objective):
    reports, codes = objective_runs
    assert codes[objective] == 0
    run_dir = reports / objective
    manifest = json.loads((run_dir / "manifest.json").read_text("utf-8"))
    (region,) = manifest["regions"]
    assert [n["status"] for n in region["notebooks"]] == ["ok"] * 5
    out = run_dir / "all"
    assert all((out / f"{n}.html").exists() for n in
               ["01_goals", "02_data_prep", "03_visualization", "04_insight", "05_strategy"])
    assert json.loads((out / "goals.json").read_text("utf-8"))["objective"] == objective
    summary = json.loads((out / "executive_summary.json").read_text("utf-8"))
    assert summary["objective"] == objective and len(summary["findings"]) == 5
    # 05 puts first what the objective needs
    lang = "zh" if objective == ZH_RUN else "en"
    page = (out / "05_strategy.html").read_text("utf-8")
    titles = set(section_titles("05", FIRST_SECTION.values(), lang))
    first = min((_heading_at(page, t), t) for t in titles if _heading_at(page, t) >= 0)
    assert first[1] == section_titles("05", [FIRST_SECTION[objective]], lang)[0]
    # so do 04's report and 03's, though the notebooks ran top to bottom
    insight_page = (out / "04_insight.html").read_text("utf-8")
    # nothing technical on a shared page: esda's tqdm import warned with the venv's path
    assert "site-packages" not in insight_page and "TqdmWarning" not in insight_page
    headings = [(_heading_at(insight_page, t), t)
                for t in section_titles("04", SECTIONS["04"], lang)]
    assert all(at >= 0 for at, _ in headings)
    assert min(headings)[1] == section_titles("04", [FIRST_SECTION_04[objective]], lang)[0]
    visual_page = (out / "03_visualization.html").read_text("utf-8")
    first_03 = section_titles("03", OBJECTIVES[objective].first["03"][:1], lang)[0]
    assert min((_heading_at(visual_page, t), t)
               for t in section_titles("03", SECTIONS["03"], lang))[1] == first_03
    assert ("共享报告优先展示" if lang == "zh" else "The shared report puts first") in visual_page
    # contact data reach the exports, never the report
    if objective in BARE:  # the ERP file also carried no phones; the CRM does
        assert "Traceback" not in page + insight_page + visual_page
    campaign = pd.read_csv(out / "campaign_list.csv", dtype=str)
    phones = campaign["phone"].dropna()
    assert len(phones) and not any(p in page for p in phones)
    if objective != "find_new_markets":
        comparison = json.loads((out / "comparison.json").read_text("utf-8"))
        assert comparison["baseline_period"]["end"] == "2024-12-31"
        changes = pd.read_csv(out / "region_changes.csv")
        assert changes["tier_before"].notna().all() and changes["tier_now"].notna().all()
        compared = "与运行 find_new_markets 对比" if lang == "zh" else (
            "Compared with run find_new_markets")
        assert compared in (run_dir / "index.html").read_text("utf-8")


@pytest.mark.kernel
def test_missing_data_warns_in_step_1_and_still_renders(objective_runs):
    reports, codes = objective_runs
    out = reports / "reallocate_resources" / "all"
    brief = json.loads((out / "goals.json").read_text("utf-8"))
    assert any(w.startswith("roi cannot be computed: it needs marketing spend")
               for w in brief["warnings"])
    goals_page = (out / "01_goals.html").read_text("utf-8")
    assert "Data missing for this objective" in goals_page
    assert "roi cannot be computed" in goals_page
    strategy_page = (out / "05_strategy.html").read_text("utf-8")
    assert "No marketing spend for the period" in strategy_page
    assert "Traceback" not in strategy_page
    assert not (out / "budget.csv").exists()
    # partner tiers without firmographics: a warning in step 1, the steps still render
    out = reports / "tier_partners" / "all"
    brief = json.loads((out / "goals.json").read_text("utf-8"))
    assert any(w.startswith("partner_tiers cannot be computed") and "firmographics" in w
               for w in brief["warnings"])
    assert "partner_tiers cannot be computed" in (out / "01_goals.html").read_text("utf-8")
    for page in ("04_insight.html", "05_strategy.html"):
        assert "Traceback" not in (out / page).read_text("utf-8")
    assert not (out / "partner_plans.csv").exists()
    # with the data, the same steps give the partner plans and a budget
    full = reports / "keep_valuable_customers" / "all"
    assert json.loads((full / "goals.json").read_text("utf-8"))["warnings"] == []
    assert (full / "partner_plans.csv").exists() and (full / "budget.csv").exists()
    plans = pd.read_csv(full / "partner_plans.csv")
    assert set(plans["partner_tier"]) <= {"A", "B", "C"}


@pytest.mark.kernel
def test_a_chinese_run_writes_the_generated_text_in_chinese(objective_runs):
    reports, codes = objective_runs
    out = reports / ZH_RUN / "all"
    brief = json.loads((out / "goals.json").read_text("utf-8"))
    assert brief["lang"] == "zh" and brief["title"] == "保留并发展有价值的客户"
    goals_page = (out / "01_goals.html").read_text("utf-8")
    assert "已配置的数据覆盖该目标的全部指标" in goals_page and "第5步优先展示" in goals_page
    summary = json.loads((out / "executive_summary.json").read_text("utf-8"))
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in f["text"]) for f in summary["findings"])
    strategy_page = (out / "05_strategy.html").read_text("utf-8")
    assert "地区分级及依据" in strategy_page and "客户活动" in strategy_page
    # the notebooks' own text too (notebooks/zh.yaml), not the English
    assert "第5步" in strategy_page and "Step 5 · Strategy" not in strategy_page
    assert "热点与冷点" in (out / "04_insight.html").read_text("utf-8")
    assert "05 策略 — 全国市场 — 运行 keep_valuable_customers" in strategy_page
    assert ">05 策略</a>" in (reports / ZH_RUN / "index.html").read_text("utf-8")
    # the files keep their English keys, so a Chinese run compares with an English one
    tiers = pd.read_csv(out / "region_tiers.csv")
    assert set(tiers["tier"]) <= {"core", "declining", "emerging", "gap", "steady"}
    assert (out / "region_changes.csv").exists()
