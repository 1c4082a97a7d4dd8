"""The notebook context: parameters checked by open_step, report tables, no global state."""

from __future__ import annotations

import dataclasses
import math
import re

import pandas as pd
import pytest
from IPython.display import Markdown

from helpers.analysis import kpis
from helpers.config import ConfigError
from helpers.context import Blocks, open_step
from helpers.steps import visuals
from helpers.text.format import report_number
from helpers.text.tables import report_table


@pytest.mark.parametrize(("value", "shown"), [
    (81929027.0, "81,929,027"), (-1234.4, "-1,234"), (999.99, "1,000"), (999.4, "999.4"),
    (0.192, "0.192"), (-0.0405, "-0.0405"), (12.0, "12"), (0.0, "0"), (100.25, "100.2"),
])
def test_report_number(value, shown):
    assert report_number(value) == shown


def test_tables_read_as_reports_write_numbers_and_keep_missing_values():
    before = pd.get_option("display.float_format")
    table = report_table(pd.DataFrame({"revenue": [81929027.0, math.nan], "share": [0.192, 0.5],
                                       "reason": ["x" * 100, "y"]}))
    html = table.to_html()
    assert "81.9 M" in html and "19.2%" in html and "NaN" not in html and "–" in html
    assert "Revenue (CNY)" in html and "<th>Reason</th>" in html  # catalog headers, currency
    assert "x" * 100 in html  # text up to 120 characters is not cut at pandas' 50
    assert "81.9 M" in repr(table)
    assert html == table._repr_html_()
    assert pd.get_option("display.float_format") == before  # no pandas option changed
    zh = report_table(pd.DataFrame({"revenue": [1.2e8, 350000.0]}), "zh", currency="USD")
    assert list(zh.view.iloc[:, 0]) == ["1.2亿", "35万"] and zh.view.columns[0] == "收入（USD）"


def test_tables_escape_text_from_the_data():
    html = report_table(pd.DataFrame({"name": ["<script>alert(1)</script>", "<img src=x>"]}),
                        rows=None).to_html()
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_open_step_changes_no_pandas_option(tmp_path):
    """It set display.float_format and max_colwidth process-wide, which leaked into the
    analyst's session and from one notebook to the next in a warm kernel."""
    with pd.option_context("display.float_format", None, "display.max_colwidth", 50):
        open_step(run_dir=str(tmp_path / "run"))
        assert pd.get_option("display.float_format") is None
        assert pd.get_option("display.max_colwidth") == 50


@pytest.mark.parametrize(("parameters", "message"), [
    ({"lang": "fr"}, r"parameter lang must be 'en' or 'zh', got 'fr'"),
    ({"period_end": "2025-13-45"}, r"parameter period_end must be a date like 2025-12-31, "
                                   r"got '2025-13-45'"),
    ({"period_end": "last month"}, r"parameter period_end must be a date"),
    # day and month could be read either way: ISO only, as the batch's --period-end
    ({"period_end": "01/02/2025"}, r"parameter period_end must be a date like 2025-12-31, "
                                   r"got '01/02/2025'"),
    ({"region": "Atlantis"}, r"parameter region: unknown region 'Atlantis': expected ALL, a "
                             r"territory"),
    ({"objective": "grow"}, r"parameter objective must be one of \['find_new_markets', "
                            r"'reallocate_resources', .*\], got 'grow'"),
    ({"objective": ""}, r"parameter objective must be one of \[.*\], got ''"),
    ({"lang": None}, r"parameter lang must be 'en' or 'zh', got None"),
    ({"mask_pii": "no"}, r"parameter mask_pii must be True or False, got 'no'"),
])
def test_open_step_names_the_bad_parameter(tmp_path, parameters, message):
    with pytest.raises(ValueError, match=message):
        open_step(run_dir=str(tmp_path / "run"), **parameters)


def test_open_step_names_a_missing_config_file(tmp_path):
    missing = tmp_path / "nowhere" / "workbook.yaml"
    with pytest.raises(ConfigError, match=f"config file not found: {re.escape(str(missing))}"):
        open_step(run_dir=str(tmp_path / "run"), config=str(missing))


def test_open_step_empty_region_is_the_whole_market(tmp_path):
    """The parameter left empty reads as its default (ALL), as papermill leaves it."""
    ctx = open_step(region="", run_dir=str(tmp_path / "run"))
    assert ctx.scope.kind == "all" and ctx.out == tmp_path / "run" / "all"


def test_open_step_keeps_the_parameters(tmp_path):
    ctx = open_step(region="广东", run_dir=str(tmp_path / "run"), lang="zh",
                    objective="tier_partners", period_end="2024-12-31", mask_pii=False)
    assert ctx.objective == "tier_partners" and ctx.lang == "zh" and not ctx.mask_pii
    assert list(ctx.scope.provinces) == ["广东省"] and ctx.out == tmp_path / "run" / "guangdong"
    assert ctx.period_end_param == "2024-12-31"


@pytest.fixture(scope="module")
def ctx(tiny_config, tmp_path_factory):
    return open_step(run_dir=str(tmp_path_factory.mktemp("run")), config=str(tiny_config))


def test_period_orders_are_the_orders_of_the_period(ctx):
    inside = ctx.period_orders
    p = ctx.period
    assert len(inside) and inside["order_date"].between(p.first_day, p.end).all()
    outside = ctx.orders.drop(index=inside.index)
    assert not outside["order_date"].between(p.first_day, p.end).any()


def test_show_masks_before_it_translates(ctx):
    zh = dataclasses.replace(ctx, lang="zh")
    frame = pd.DataFrame({"city": ["深圳市"], "segment": ["champions"], "name": ["甲乙公司"],
                          "note": ["call 13812345678"]})
    shown = zh.show(frame, columns=("city", "name"), free_text=("note",)).view
    assert list(shown.columns)[:3] == ["城市", "客户分群", "名称"]  # headers in Chinese ...
    assert shown.iloc[0].tolist()[:3] == ["深**", "重要价值客户", "甲***"]  # ... values masked
    assert "13812345678" not in shown.iloc[0, 3] and "5678" in shown.iloc[0, 3]
    assert frame.loc[0, "city"] == "深圳市"  # the input is not changed
    # the run said not to mask: the values shown are the data's (keys as they are)
    plain = dataclasses.replace(ctx, mask_pii=False).show(frame, columns=("city",)).data
    assert plain.equals(frame)
    # terms (segments, tiers ...) always read in the report's language
    english = ctx.show(frame, columns=()).view
    assert list(english.columns)[:2] == ["City", "Segment"]
    assert english.iloc[0].tolist()[:2] == ["深圳市", "champions"]
    assert len(ctx.show(pd.DataFrame({"x": range(30)})).data) == 20
    assert len(ctx.show(pd.DataFrame({"x": range(30)}), rows=None).data) == 30


def test_blocks_show_their_parts_in_order(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    table = report_table(pd.DataFrame({"revenue": [1234567.0]}))
    blocks = Blocks(Markdown("**a**"), None, table)
    blocks._ipython_display_()
    assert shown == [blocks.parts[0], table] and len(blocks.parts) == 2
    assert blocks.text().startswith("**a**\n<div") and "1.23 M" in blocks.text()


def test_kpis_by_region_is_the_region_kpi_table_of_the_scope(ctx, tiny_config, tmp_path):
    a = ctx.config.analysis
    table = ctx.kpis_by_region()
    assert len(table) == 31 and (table["level"] == "province").all()
    expected = kpis.region_kpis(ctx.customers, ctx.orders, level="province", period=ctx.period,
                                active_months=a.active_months, pop_months=a.pop_months,
                                universe=list(ctx.scope.provinces),
                                min_customers=a.min_customers)
    pd.testing.assert_frame_equal(table[expected.columns], expected)
    assert "market_share" not in table  # the whole market is its own benchmark
    # a territory's provinces are judged against the whole market
    east = open_step(region="华东", run_dir=str(tmp_path / "run"), config=str(tiny_config))
    territory = east.kpis_by_region()
    assert set(territory["region"]) == set(east.scope.provinces)
    assert territory["share"].sum() == pytest.approx(1.0)
    national = table.set_index("region")["revenue"]
    assert territory.set_index("region")["market_share"].to_dict() == pytest.approx(
        (national / national.sum()).loc[list(territory["region"])].to_dict())


def test_the_tables_notebook_03_draws(ctx):
    """Notebook 03 only calls visuals.visual_tables and draws; the numbers agree with the
    period's orders (hand-summed here)."""
    tables = visuals.visual_tables(ctx)
    assert tables["level"] == "province" and tables["unit"] == "provinces"
    assert (tables["regions"]["customers"] > 0).all()
    assert len(tables["regions"]) == (tables["kpis"]["customers"] > 0).sum()
    period_orders = ctx.orders[ctx.orders["order_date"].between(ctx.period.first_day,
                                                                ctx.period.end)]
    assert tables["customer_revenue"].sum() == pytest.approx(period_orders["amount"].sum())
    assert tables["kpis"]["revenue"].sum() == pytest.approx(period_orders["amount"].sum())
    assert len(tables["period_orders"]) == len(period_orders)
    monthly = tables["monthly"]
    assert monthly["revenue"].sum() == pytest.approx(ctx.orders["amount"].sum())
    segments = tables["segments"]
    assert "province" in segments and segments["customer_id"].is_unique
    assert set(segments["customer_id"]) == set(ctx.orders["customer_id"])
    # a customer's region wins over an order's own ship-to region
    by_region = visuals.orders_by_region(ctx)
    home = ctx.customers.set_index("customer_id")["province"]
    assert by_region["province"].equals(by_region["customer_id"].map(home))
