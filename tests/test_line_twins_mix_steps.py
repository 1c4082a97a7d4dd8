"""Step 4's mix, buying and partner tables and step 5's cross-sell list on the engine path
(``prep.engine: duckdb``: the lines stay in DuckDB, ``ctx.lines``, and the ``*_sql``
twins read them) equal the pandas path's (``prep.engine: pandas``), on the bundled sample
for the whole market, a territory judged against the market and a city."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from helpers import context
from helpers.config import DEFAULT_CONFIG, PROJECT_ROOT
from helpers.steps import insight, strategy

TABLES = ["category_mix", "segment_mix", "partner_tiers", "partner_summary", "buying",
          "weekdays", "discount_bands", "discount_regions"]
NOTES = ["mix", "segment_mix", "partners", "buying", "weekdays", "discount"]


@pytest.fixture(scope="module")
def configs(tmp_path_factory):
    """The shipped config on the sample, once per prep engine; mix settings loose enough
    that the sample has cross-sell gaps to list."""
    folder = tmp_path_factory.mktemp("twin_steps")
    paths = {}
    for way in ("pandas", "duckdb"):
        raw = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
        raw["paths"]["data"] = str(PROJECT_ROOT / "data" / "sample")
        raw["prep"]["engine"] = way
        raw["analysis"].update(mix_min_customers=5, mix_gap_index=95.0, mix_rest_index=50.0,
                               significance=0.5)
        path = folder / f"{way}.yaml"
        path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        paths[way] = (path, folder / f"run-{way}")
    return paths


def _same(found, expected, what):
    if isinstance(expected, pd.DataFrame):
        pd.testing.assert_frame_equal(found, expected, obj=what)
    elif isinstance(expected, dict):
        assert found.keys() == expected.keys(), what
        for key in expected:
            _same(found[key], expected[key], f"{what}.{key}")
    elif isinstance(expected, float):
        assert found == pytest.approx(expected, rel=1e-9, nan_ok=True), what
    else:
        assert found == expected, what


@pytest.mark.parametrize("region", ["ALL", "华东", "广东:深圳"])
def test_steps_4_and_5_on_the_engine_path_equal_pandas(configs, region):
    results = {}
    for way, (path, run) in configs.items():
        ctx = context.open_step(region=region, run_dir=str(run), config=str(path))
        assert (ctx.lines is not None) == (way == "duckdb")
        tables = insight.insight_tables(ctx)
        results[way] = (tables, strategy.cross_sell_list(ctx, tables))
    (want, want_list), (got, got_list) = results["pandas"], results["duckdb"]
    for name in TABLES:
        _same(got[name], want[name], name)
    for name in NOTES:
        _same(got["notes"][name], want["notes"][name], f"notes.{name}")
    assert len(want["category_mix"]) and want["category_mix"]["cross_sell_gap"].any()
    assert len(want_list) and len(want["partner_tiers"]) and len(want["buying"])
    _same(got_list, want_list, "cross_sell_list")
