"""Reports on large data leave the order lines in ``orders.parquet`` and sum them in DuckDB
(:attr:`helpers.context.Context.lines`, the ``*_sql`` twins): steps 3-5 of the bundled
sample, run that way, give the tables and files of the pandas way, for the whole market, a
territory, a province and a city.

The engine way is forced on the small sample by lowering the size from which a saved
``orders.parquet`` is summed in DuckDB (:data:`helpers.analysis.engine.MIN_PARQUET_MB`).
Sums of money are added in another order in DuckDB, so numbers may differ in their last
binary digits: frames are compared with a relative tolerance of 1e-9, everything else
exactly. The engine way must not fetch a table of one row per order line, per customer and
purchase day (the purchase days) or per order (the period's orders): their readers are
refused.
"""

from __future__ import annotations

import json
import math
import shutil

import pandas as pd
import pytest

from helpers import context
from helpers.analysis import buying, customers, engine, ltv
from helpers.data.engine import ParquetTable
from helpers.steps import insight, strategy, visuals
from helpers.steps.prep import lines_stay_in_file

REGIONS = ["ALL", "华南", "广东", "广东:深圳市"]


@pytest.fixture(scope="module")
def prep(sample_run):
    return sample_run / "prep"


def _batch_run(prep, folder):
    """A batch run folder holding a copy of ``prep`` (the prep is then read as saved)."""
    folder.mkdir()
    shutil.copytree(prep, folder / "prep")
    (folder / "manifest.json").write_text("{}", encoding="utf-8")
    return folder


def _same(a, b, where: str) -> None:
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, rtol=1e-9, obj=where)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, rtol=1e-9, obj=where)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), where
        for key in a:
            _same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list | tuple):
        assert isinstance(b, list | tuple) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, float) and not (math.isnan(a) and math.isnan(b)):
        assert b == pytest.approx(a, rel=1e-9), where
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b), where
    else:
        assert a == b, where


def _files(folder) -> dict:
    out = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".csv":
            out[path.name] = pd.read_csv(path)
        elif path.suffix == ".json":
            out[path.name] = json.loads(path.read_text(encoding="utf-8"))
    return out


def _report(run, region: str) -> tuple[dict, dict, dict]:
    ctx = context.open_step(region=region, run_dir=str(run))
    shown = visuals.visual_tables(ctx)
    found = insight.insight_tables(ctx)
    insight.save_insight(ctx, found)
    strategy.save_strategy(ctx, strategy.strategy_tables(ctx, found))
    return ctx, shown, _files(ctx.out)


@pytest.mark.parametrize("region", REGIONS)
def test_steps_3_to_5_on_lines_in_duckdb_equal_pandas(prep, region, tmp_path, monkeypatch):
    pandas_run = _batch_run(prep, tmp_path / "pandas")
    assert not lines_stay_in_file(pandas_run / "prep")
    pandas_ctx, pandas_shown, pandas_files = _report(pandas_run, region)
    assert pandas_ctx.lines is None and isinstance(pandas_ctx.prep.orders, pd.DataFrame)

    monkeypatch.setattr(engine, "MIN_PARQUET_MB", 0.0)

    def refused(*args, **kwargs):
        raise AssertionError("a report on large data read a column of every line")

    monkeypatch.setattr(ParquetTable, "__getitem__", refused)
    monkeypatch.setattr(ParquetTable, "frame", refused)

    def line_sized(*args, **kwargs):
        raise AssertionError("a report on large data fetched a table of one row per "
                             "customer and purchase day, or per order")

    # the purchase days and the period's orders are aggregated in DuckDB (the *_sql twins)
    for module, name in ((customers, "purchase_days"), (engine, "purchase_days"),
                         (buying, "period_orders"), (buying, "period_orders_sql"),
                         (ltv, "holdout_data")):
        monkeypatch.setattr(module, name, line_sized)
    duck_run = _batch_run(prep, tmp_path / "duckdb")
    assert lines_stay_in_file(duck_run / "prep")
    ctx, shown, files = _report(duck_run, region)
    assert ctx.lines is not None and isinstance(ctx.prep.orders, ParquetTable)
    _same(pandas_shown, shown, "visual_tables")
    assert list(files) == list(pandas_files) and len(files) > 10
    for name in files:
        _same(pandas_files[name], files[name], name)
    assert "orders" not in ctx.__dict__, "a report on large data read its lines into pandas"
