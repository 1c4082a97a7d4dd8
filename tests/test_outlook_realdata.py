"""Step 4's revenue bridge and forecast on the real datasets in ../shared/data/real
(examples/olist.yaml, examples/cn_superstore.yaml): the sections render, in English and
Chinese, or say why they cannot; the bridge reconciles with the orders' own sums.

The tests skip when the folder is absent (a fresh clone of the project does not have it).
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from helpers import context
from helpers.config import PROJECT_ROOT
from helpers.context import Blocks
from helpers.steps import insight

REAL = PROJECT_ROOT.parent / "shared" / "data" / "real"
DATASETS = {"olist.yaml": REAL / "olist", "cn_superstore.yaml": REAL / "cn_superstore"}

pytestmark = pytest.mark.realdata
PARTS = ["from_new", "from_lost", "from_more", "from_less", "from_mix"]


@pytest.fixture(scope="module", params=list(DATASETS))
def computed(request, tmp_path_factory):
    if not DATASETS[request.param].exists():
        pytest.skip(f"{DATASETS[request.param]} not present")
    ctx = context.open_step(config=str(PROJECT_ROOT / "examples" / request.param),
                            run_dir=str(tmp_path_factory.mktemp("outlook")))
    kpis = ctx.kpis_by_region(ctx.scope.sublevel)
    tables, notes = insight._bridge_and_forecast(ctx, kpis)
    return ctx, {**tables, "notes": notes}


def test_the_bridge_reconciles_with_the_orders(computed):
    ctx, tables = computed
    note, table = tables["notes"]["bridge"], tables["revenue_bridge"]
    assert note["previous"]["enough"] and note["shown"]  # both exports cover the year before
    orders, period = ctx.orders, ctx.period
    total = table.loc[table["is_total"]].iloc[0]
    assert total["revenue"] == pytest.approx(
        orders.loc[period.contains(orders["order_date"]), "amount"].sum(), abs=0.01)
    assert total["revenue_prev"] == pytest.approx(
        orders.loc[period.previous.contains(orders["order_date"]), "amount"].sum(), abs=0.01)
    assert np.allclose(table["revenue_prev"] + table[PARTS].sum(axis=1), table["revenue"],
                       atol=0.01, rtol=0)
    regions = table.loc[~table["is_total"]]
    assert set(regions["region"]) <= set(ctx.kpis_by_region(ctx.scope.sublevel)["region"])
    assert note["mix"] == ("product_category" in orders and orders["product_category"].notna().any())


def test_the_forecast_is_given_or_says_why_for_every_region(computed):
    _, tables = computed
    ahead = tables["forecast"]
    shown = ahead.loc[ahead["shown"]]
    assert len(ahead) >= 28 and len(shown) >= 1
    assert (shown["forecast_low"] <= shown["forecast"]).all()
    assert (shown["forecast"] <= shown["forecast_high"]).all()
    assert (shown["backtest_origins"] >= 4).all()
    assert shown["backtest_coverage"].between(0, 1).all()
    hidden = ahead.loc[~ahead["shown"]]
    assert hidden["reason_key"].isin(["short_history", "sparse", "failed"]).all()
    assert hidden["forecast"].isna().all()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_sections_render_in_both_languages(computed, lang):
    ctx, tables = computed
    shown = dataclasses.replace(ctx, lang=lang)
    bridge = insight.section(shown, tables, "bridge")
    assert any(hasattr(p, "png") for p in bridge.parts)  # the waterfall
    words = Blocks(*(p for p in bridge.parts if not hasattr(p, "png"))).text()  # no base64
    assert ("Revenue went from" if lang == "en" else "收入由") in words
    assert ("The largest driver" if lang == "en" else "最大驱动因素") in words
    parts = insight.section(shown, tables, "forecast").parts
    note = tables["notes"]["forecast"]
    # the forecast's chart (months, forecast and band) exactly when the scope has one
    assert sum(hasattr(p, "png") for p in parts) == int(note["shown"])
    ahead = Blocks(*(p for p in parts if not hasattr(p, "png"))).text()
    if note["shown"]:
        assert ("Checked on the history" if lang == "en" else "已用历史检验") in ahead
    else:
        assert ("No revenue forecast" if lang == "en" else "不做收入预测") in ahead
    if note["regions_shown"] < note["regions"]:  # the regions without one are named
        assert ("No forecast for" if lang == "en" else "不做预测") in ahead
    for noise in (r"\bnan\b", r"\bNaN\b", r"\bNone\b", "<NA>"):  # Hainan is a province
        assert not re.search(noise, words) and not re.search(noise, ahead), noise
