"""The market-wide results computed once per run (:mod:`helpers.steps.market`).

On the bundled sample, every step-4 and step-5 file of the whole market, a territory
and a province is the same byte for byte whether the region sliced the run's saved
market-wide results or computed everything itself; a saved result is used only under
its own key (prep fingerprint, config, period, code).
"""

from __future__ import annotations

import filecmp
import json
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import yaml

from helpers import context
from helpers.analysis import customers, isolation, kpis
from helpers.config import PROJECT_ROOT, RunPaths, load_config
from helpers.data.prepare import load_prep
from helpers.geo.scope import Scope
from helpers.run import batch
from helpers.steps import insight, market, strategy, visuals


class _Calls:
    """Counts the market-wide computations: purchase tables, isolation and the province
    KPIs of every province (the national table and a territory's benchmark)."""

    def __init__(self, monkeypatch, provinces: set[str]):
        self.counts = {"purchase_summary": 0, "purchase_days": 0, "isolated": 0,
                       "market_kpis": 0}
        for module, name, label in [(customers, "purchase_summary", "purchase_summary"),
                                    (customers, "purchase_days", "purchase_days"),
                                    (isolation, "isolated_customers", "isolated")]:
            monkeypatch.setattr(module, name, self._counted(getattr(module, name), label))
        real = kpis.region_kpis

        def region_kpis(*args, **kwargs):
            if kwargs.get("level") == "province" and set(kwargs.get("universe") or ()) == provinces:
                self.counts["market_kpis"] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(kpis, "region_kpis", region_kpis)

    def _counted(self, real, label):
        def wrapper(*args, **kwargs):
            self.counts[label] += 1
            return real(*args, **kwargs)
        return wrapper


def _steps_4_and_5(ctx) -> None:
    """What notebooks 04 and 05 compute and save."""
    insight.save_insight(ctx, insight.insight_tables(ctx))
    strategy.save_strategy(ctx, strategy.strategy_tables(ctx, insight.ensure_insight(ctx)))


def _same(a: Path, b: Path) -> bool:
    """Files alike; a workbook's sheets alike (its properties hold the time it was written)."""
    if a.suffix == ".xlsx":
        with zipfile.ZipFile(a) as left, zipfile.ZipFile(b) as right:
            names = [n for n in left.namelist() if not n.startswith("docProps/")]
            return (names == [n for n in right.namelist() if not n.startswith("docProps/")]
                    and all(left.read(n) == right.read(n) for n in names))
    return filecmp.cmp(a, b, shallow=False)


@pytest.fixture(scope="module")
def cached_run(tmp_path_factory) -> Path:
    """A run folder with the sample's prep saved and the market-wide results built."""
    run = tmp_path_factory.mktemp("cached")
    facts = market.build(context.open_step(run_dir=str(run)))
    assert facts["results"] == list(market.RESULTS) and facts["key"]
    assert sorted(p.name.split("-")[0] for p in _indexes(run)) == sorted(market.RESULTS)
    # tables as Parquet, notes as JSON: nothing a loader would run
    assert {p.suffix for p in (run / market.FOLDER).iterdir()} == {".json", ".parquet"}
    return run


@pytest.mark.parametrize("region", ["ALL", "华东", "广东"])
def test_every_file_of_steps_4_and_5_is_the_same_with_and_without_the_cache(
        cached_run, region, tmp_path, monkeypatch):
    config = load_config("")
    provinces = set(Scope.parse("ALL", config).provinces) & set(
        context.open_step(run_dir=str(cached_run)).market_areas)
    calls = _Calls(monkeypatch, provinces)
    sliced = context.open_step(region=region, run_dir=str(cached_run))
    _steps_4_and_5(sliced)
    used = dict(calls.counts)
    # the region read the market's results: none of them was computed again
    assert used == {"purchase_summary": 0, "purchase_days": 0, "isolated": 0,
                    "market_kpis": 0}

    alone = context.open_step(region=region, run_dir=str(tmp_path))
    alone.__dict__["prep"] = load_prep(cached_run / "prep")  # no saved prep: no cache
    assert market.cache_key(alone) is None
    _steps_4_and_5(alone)
    assert calls.counts["purchase_summary"] == 1 and calls.counts["isolated"] == 1
    assert calls.counts["market_kpis"] == (0 if region == "广东" else 1)
    assert not (tmp_path / market.FOLDER).exists()

    files = sorted(p.name for p in sliced.out.iterdir())
    assert files == sorted(p.name for p in alone.out.iterdir())
    assert {"region_kpis.csv", "rfm.csv", "lifecycle.csv", "ltv.csv", "isolated_customers.csv",
            "headline.json", "insight_notes.json", "actions.csv"} <= set(files)
    assert [f for f in files if not _same(sliced.out / f, alone.out / f)] == []


def test_the_sliced_tables_equal_the_regions_own(cached_run):
    """Known answer: the scope's rows of the market's purchase tables are the tables of
    the scope's orders, also for a territory and a province."""
    for region in ("华东", "广东"):
        ctx = context.open_step(region=region, run_dir=str(cached_run))
        summary, days = market.purchases(ctx)
        as_of = ctx.period.as_of
        pd.testing.assert_frame_equal(summary, customers.purchase_summary(ctx.orders, as_of=as_of))
        pd.testing.assert_frame_equal(days, customers.purchase_days(ctx.orders, as_of=as_of))
        assert set(summary["customer_id"]) <= set(ctx.customers["customer_id"])


@pytest.mark.parametrize("region", ["ALL", "华东", "广东"])
def test_step_3_tables_are_the_same_with_and_without_the_cache(cached_run, region, tmp_path):
    sliced = context.open_step(region=region, run_dir=str(cached_run))
    alone = context.open_step(region=region, run_dir=str(tmp_path))
    alone.__dict__["prep"] = load_prep(cached_run / "prep")
    pd.testing.assert_frame_equal(visuals.segments_by_region(sliced),
                                  visuals.segments_by_region(alone))
    pd.testing.assert_frame_equal(sliced.kpis_by_region(), alone.kpis_by_region())


def _batch_run(cached_run: Path, tmp_path: Path) -> Path:
    """A copy of the cached run's prep in a batch run folder (``manifest.json``): a
    notebook loads its prep as it is, whatever its fingerprint says."""
    run = tmp_path / "run"
    shutil.copytree(cached_run / "prep", run / "prep")
    (run / "manifest.json").write_text("{}", encoding="utf-8")
    return run


def _indexes(run: Path) -> list[Path]:
    """The results' index files in the run's market folder (their parts are ``-N``)."""
    return [p for p in (run / market.FOLDER).glob("*.json") if p.stem.count("-") == 1]


def _plant(ctx) -> Path:
    """A made-up isolation result saved under the context's key."""
    key = market.cache_key(ctx)
    path = ctx.run.root / market.FOLDER / f"isolation-{key[:16]}.json"
    planted = (pd.DataFrame({"customer_id": ["PLANTED"]}), {"planted": True})
    market._save(path, key, planted)
    return path


def test_a_saved_result_is_used_under_its_key_only(cached_run, tmp_path):
    run = _batch_run(cached_run, tmp_path)
    ctx = context.open_step(run_dir=str(run))
    planted = _plant(ctx)
    # the same run, config and period: the saved result is what the region gets
    found, note = market.isolated(context.open_step(region="华东", run_dir=str(run)))
    assert note == {"planted": True} and list(found["customer_id"]) == ["PLANTED"]

    # another period: another key, computed afresh
    other = context.open_step(run_dir=str(run), period_end="2025-06-30")
    assert market.cache_key(other) != market.cache_key(ctx)
    assert "planted" not in market.isolated(other)[1]

    # another config (one analysis setting changed): computed afresh
    raw = yaml.safe_load((PROJECT_ROOT / "workbook.yaml").read_text("utf-8"))
    raw["paths"]["data"] = str(PROJECT_ROOT / "data" / "sample")
    raw.setdefault("analysis", {})["isolation_km"] = 150
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    edited = context.open_step(run_dir=str(run), config=str(changed))
    assert market.cache_key(edited) != market.cache_key(ctx)
    found, note = market.isolated(edited)
    assert "planted" not in note and note["eps_km"] == 150

    # another prep (its fingerprint says other inputs): computed afresh, the stale file gone
    _plant(ctx)
    summary = json.loads((run / "prep" / "prep.json").read_text("utf-8"))
    summary["fingerprint"]["inputs"] = {"/elsewhere/orders.csv": "0" * 64}
    (run / "prep" / "prep.json").write_text(json.dumps(summary), "utf-8")
    fresh = context.open_step(run_dir=str(run))
    assert market.cache_key(fresh) != market.cache_key(ctx)
    found, note = market.isolated(fresh)
    assert "planted" not in note and "PLANTED" not in set(found["customer_id"])
    assert not planted.exists()


def test_without_a_saved_prep_nothing_is_cached(tmp_path):
    run = RunPaths(tmp_path / "empty")
    assert market.build_run(load_config(""), run) == {"key": None, "results": []}
    assert not (tmp_path / "empty" / market.FOLDER).exists()


class _Engine:
    """Runs no notebook: copies it (the batch's own steps are under test)."""

    def execute(self, notebook, output, parameters, cwd):
        shutil.copy(notebook, output)


def test_the_batch_builds_the_results_before_the_regions(tmp_path):
    from stubs import sample_config, stub_notebook

    config = sample_config(tmp_path)
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    stub_notebook(notebooks / "01_stub.ipynb", 'region: str = "ALL"', "print(region)")
    code = batch.main(["--config", str(config), "--regions", "华东", "--run-id", "r",
                       "--notebooks", str(notebooks)], engine=_Engine())
    assert code == 0
    run = tmp_path / "reports" / "r"
    attempt = json.loads((run / "manifest.json").read_text("utf-8"))["attempts"][-1]
    assert attempt["market"]["status"] == "ok"
    assert attempt["market"]["results"] == list(market.RESULTS)
    saved = {p.name for p in _indexes(run)}
    assert saved == {f"{name}-{attempt['market']['key']}.json" for name in market.RESULTS}
    # a notebook of the run finds them under its own key
    ctx = context.open_step(region="华东", run_dir=str(run), config=str(config))
    assert market.cache_key(ctx)[:16] == attempt["market"]["key"]


def test_a_saved_result_round_trips_tables_and_notes(tmp_path):
    """Parquet tables keep their dtypes (object columns as object), notes their NumPy
    numbers as plain numbers; another key or a missing part reads as nothing saved."""
    import numpy as np

    frame = pd.DataFrame({"customer_id": pd.array(["a", "b"], dtype="string"),
                          "label": pd.Series(["x", np.nan], dtype=object),  # NaN, as pandas fills
                          "n": pd.array([1, None], dtype="Int64")})
    path = tmp_path / "isolation-0123456789abcdef.json"
    market._save(path, "k1", (frame, {"count": np.int64(2), "share": np.float64(0.5)}))
    back, note = market._load(path, "k1")
    pd.testing.assert_frame_equal(back, frame)
    assert note == {"count": 2, "share": 0.5} and type(note["count"]) is int
    assert market._load(path, "k2") is None
    (tmp_path / "isolation-0123456789abcdef-0.parquet").unlink()
    assert market._load(path, "k1") is None
