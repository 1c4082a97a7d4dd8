"""The order lines summed in DuckDB from the orders' Parquet (:mod:`helpers.analysis.engine`)
give the tables of the pandas functions they twin: the purchase summary and purchase days
(:mod:`helpers.analysis.customers`) and the region KPIs (:func:`helpers.analysis.kpis.
region_kpis` with ``windows=``), on the bundled sample (the whole market and a province) and
on hand-made lines (returns, one order, lines outside the period, customers without
orders); and the market-wide results use them on large data, without the lines in pandas.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from helpers import context
from helpers.analysis import customers, engine, kpis
from helpers.data.engine import ParquetTable
from helpers.data.prepare import load_prep
from helpers.period import Period, order_days
from helpers.steps import market
from helpers.steps import prep as prep_step


def _same_purchases(orders: pd.DataFrame, path: Path, as_of) -> None:
    pd.testing.assert_frame_equal(engine.purchase_summary(path, as_of=as_of),
                                  customers.purchase_summary(orders, as_of=as_of))
    pd.testing.assert_frame_equal(engine.purchase_days(path, as_of=as_of),
                                  customers.purchase_days(orders, as_of=as_of))


def _kpis(people: pd.DataFrame, orders: pd.DataFrame | None, period: Period, *,
          windows=None, dates=None, level="province") -> pd.DataFrame:
    return kpis.region_kpis(people, orders, level=level, period=period, active_months=12,
                            pop_months=3, universe=[], min_customers=1, windows=windows,
                            data_dates=dates)


@pytest.fixture(scope="module")
def sample(sample_run):
    return sample_run


@pytest.mark.parametrize("region", ["ALL", "广东"])
def test_sample_purchases_and_kpis_in_the_engine_equal_pandas(sample, region, tmp_path):
    ctx = context.open_step(region=region, run_dir=str(sample))
    path = sample / "prep" / "orders.parquet"
    if region != "ALL":  # the province's own lines, as a Parquet file of their own
        path = tmp_path / "orders.parquet"
        ctx.orders.to_parquet(path, index=False)
    assert len(pd.read_parquet(path)) == len(ctx.orders)
    _same_purchases(ctx.orders, path, ctx.period.as_of)
    a = ctx.config.analysis
    windows = engine.customer_windows(path, period=ctx.period, active_months=a.active_months,
                                      pop_months=a.pop_months)
    pd.testing.assert_frame_equal(windows, kpis.customer_windows(
        ctx.orders, period=ctx.period, active_months=a.active_months, pop_months=a.pop_months))
    # the report's own KPI table (provinces; a province report's cities), from the sums
    level = ctx.scope.sublevel
    expected = ctx._kpis_by_region(level, ctx.customers, ctx.orders,
                                   list(ctx.scope.provinces) if level == "province" else [],
                                   None)
    summed = ctx._kpis_by_region(level, ctx.customers, None,
                                 list(ctx.scope.provinces) if level == "province" else [],
                                 None, windows=windows, data_dates=engine.order_days(
                                     sample / "prep" / "orders.parquet"))
    pd.testing.assert_frame_equal(summed, expected)
    assert expected["revenue"].sum() > 0 and expected["orders"].sum() > 0


def _lines(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["order_id", "customer_id", "order_date", "amount"])
    return frame.astype({"order_id": "string", "customer_id": "string", "amount": float}).assign(
        order_date=pd.to_datetime(frame["order_date"], format="ISO8601").astype("datetime64[ns]"))


EDGE = [
    ("o1", "a", "2024-01-01 09:30", 100.0),
    ("o2", "a", "2024-01-01 17:00", 50.0),    # same day, later time: one purchase day
    ("o2", "a", "2024-01-01 17:00", 25.0),    # a second line of order o2
    ("o3", "a", "2024-01-15", 200.0),
    ("o4", "a", "2024-01-29", 300.0),
    ("r1", "a", "2024-01-29", -100.0),        # a return on a purchase day
    ("r2", "a", "2024-02-05", -40.0),         # a return on a day without a purchase
    ("o5", "b", "2024-02-26", 80.0),          # one order
    ("r3", "c", "2024-02-01", 10.0),
    ("r4", "c", "2024-02-01", -70.0),         # a day's net below 0: value 0, still a purchase
    ("r5", "d", "2024-01-10", -30.0),         # only a return: never a purchase
    ("o6", "e", "2024-03-10", 90.0),          # on the as-of day: left out of the summary
    ("o7", "e", "2025-01-01", 90.0),          # after the period
    ("o8", "f", "2022-06-01", 60.0),          # long before the period: prev and last year
    ("o9", "f", "2023-03-01", 60.0),          # the year-earlier window
    ("o10", "g", "2024-02-20", 70.0),         # a customer without a region
    ("o13", "客户9", "2024-02-21", 5.0),       # ids beyond ASCII sort after ASCII, as in Python
    ("o14", "B", "2024-02-21", 5.0),          # capitals before small letters
    ("o15", "aa", "2024-02-21", 5.0),
    ("o11", "x", "2024-02-20", 70.0),         # not a customer (unknown id)
    ("o12", None, "2024-02-20", 70.0),        # no customer id
]


def test_edge_cases_by_hand(tmp_path):
    orders = _lines(EDGE)
    path = tmp_path / "orders.parquet"
    orders.to_parquet(path, index=False)
    orders = pd.read_parquet(path)  # as the market reads it
    as_of = pd.Timestamp("2024-03-10")
    _same_purchases(orders, path, as_of)
    summary = engine.purchase_summary(path, as_of=as_of).set_index("customer_id")
    # known answers: a bought on 3 days (returns count in value only), d never bought
    assert list(summary.index) == ["B", "a", "aa", "b", "c", "f", "g", "x", "客户9"]
    assert summary.loc["a", "purchase_days"] == 3 and summary.loc["a", "orders"] == 4
    assert summary.loc["a", "monetary"] == pytest.approx(100 + 50 + 25 + 200 + 300 - 100 - 40)
    assert summary.loc["b", "repeat_purchases"] == 0 and summary.loc["b", "repeat_value"] == 0
    assert summary.loc["c", "monetary"] == -60.0
    days = engine.purchase_days(path, as_of=as_of)
    assert days.loc[days["customer_id"] == "c", "value"].tolist() == [0.0]
    # nothing bought before as_of: the empty tables of the pandas path
    _same_purchases(orders, path, pd.Timestamp("2020-01-01"))

    people = pd.DataFrame({"customer_id": ["a", "b", "c", "d", "e", "f", "g", "h"],
                           "province": ["广东", "广东", "浙江", "浙江", "浙江", "北京", None,
                                        "北京"],  # h: a customer without orders
                           "signup_date": pd.to_datetime([None, "2024-02-01", None, None,
                                                          None, "2021-01-01", None, None]
                                                         ).astype("datetime64[ns]")})
    people = people.astype({"customer_id": "string", "province": "string"})
    period = Period.ending("2024-03-09", 12)
    windows = engine.customer_windows(path, period=period, active_months=12, pop_months=3)
    pd.testing.assert_frame_equal(
        windows, kpis.customer_windows(orders, period=period, active_months=12, pop_months=3))
    dates = engine.order_days(path)
    pd.testing.assert_series_equal(dates, order_days(orders["order_date"]))
    assert (dates.iloc[0], dates.iloc[-1]) == (pd.Timestamp("2022-06-01"),
                                               pd.Timestamp("2025-01-01"))
    expected = _kpis(people, orders, period)
    pd.testing.assert_frame_equal(_kpis(people, None, period, windows=windows, dates=dates),
                                  expected)
    row = expected.set_index("region")
    assert row.loc["浙江", "revenue"] == -90.0 and row.loc["浙江", "orders"] == 1
    assert row.loc["北京", "customers"] == 2 and row.loc["北京", "revenue_last_year"] == 120.0
    assert row.loc["广东", "revenue"] == pytest.approx(535 + 80)
    with pytest.raises(ValueError, match="windows= needs period and data_dates"):
        kpis.region_kpis(people, None, windows=windows)


def test_choose_follows_the_prep_engine_and_the_file_size(tmp_path, monkeypatch):
    path = tmp_path / "orders.parquet"
    _lines(EDGE).to_parquet(path, index=False)
    assert engine.choose({"engine": {"path": "duckdb"}}, path)["path"] == "duckdb"
    assert engine.choose({"engine": {"path": "pandas"}}, path)["path"] == "pandas"
    monkeypatch.setattr(engine, "MIN_PARQUET_MB", 0.0)
    chosen = engine.choose({"engine": {"path": "pandas"}}, path)
    assert chosen["path"] == "duckdb" and "MB >=" in chosen["reason"]
    assert engine.choose({}, tmp_path / "missing.parquet")["path"] == "pandas"


def test_market_results_summed_in_the_engine_without_the_lines_in_pandas(sample, tmp_path,
                                                                         monkeypatch):
    """The batch's market build on large data (here: forced by the size switch) keeps the
    orders in their Parquet file and saves the tables the pandas path saves."""
    from helpers.config import RunPaths, load_config

    config = load_config("")
    runs, seen, real = {}, [], market.build

    def build(ctx):
        seen.append(ctx.prep.orders)
        return real(ctx)

    for way, limit in (("pandas", 1e12), ("duckdb", 0.0)):
        monkeypatch.setattr(engine, "MIN_PARQUET_MB", limit)
        run = tmp_path / way
        (run / "prep").mkdir(parents=True)
        for f in (sample / "prep").iterdir():
            (run / "prep" / f.name).write_bytes(f.read_bytes())
        (run / "manifest.json").write_text("{}", encoding="utf-8")
        seen.clear()
        monkeypatch.setattr(market, "build", build)
        facts = market.build_run(config, RunPaths(run))
        monkeypatch.setattr(market, "build", real)
        assert facts["aggregation"]["path"] == way
        assert isinstance(seen[0], ParquetTable) == (way == "duckdb")
        runs[way] = run
    for name in ("province_kpis", "purchases"):
        for part in (0, 1):
            files = [sorted((runs[w] / market.FOLDER).glob(f"{name}-*-{part}.parquet"))
                     for w in runs]
            if not files[0]:
                continue
            if (name, part) == ("purchases", 1):  # the days: not kept on the engine path
                assert not files[1]
                continue
            pd.testing.assert_frame_equal(pd.read_parquet(files[1][0]),
                                          pd.read_parquet(files[0][0]))
    # a notebook of the engine's run finds the results saved under the same key
    ctx = context.open_step(run_dir=str(runs["duckdb"]))
    assert market.aggregation(ctx)["path"] == "duckdb"
    summary, days = market.purchases(ctx)
    pd.testing.assert_frame_equal(summary, customers.purchase_summary(
        ctx.prep.orders, as_of=ctx.period.as_of))
    # no purchase days in the market's result (a row per customer and day): asked for,
    # they are summed from the report's lines
    pd.testing.assert_frame_equal(days, customers.purchase_days(
        ctx.prep.orders, as_of=ctx.period.as_of))
    index = json.loads(next(f for f in (runs["duckdb"] / market.FOLDER).glob("purchases-*.json")
                            if f.stem.count("-") == 1).read_text("utf-8"))  # not a part
    assert index["parts"] == ["frame", "json"]


def test_lazy_orders_read_one_column(sample):
    prep = load_prep(sample / "prep", lazy_orders=True)
    assert isinstance(prep.orders, ParquetTable)
    full = pd.read_parquet(sample / "prep" / "orders.parquet")
    assert len(prep.orders) == len(full)
    pd.testing.assert_series_equal(prep.orders["order_date"], full["order_date"])
    with pytest.raises(KeyError, match="no column 'nope'"):
        prep.orders["nope"]


@pytest.mark.parametrize("region", ["ALL", "华南", "广东", "广东:深圳市"])
def test_a_report_reads_its_own_lines_in_duckdb(sample, region, monkeypatch):
    """On large data a report's lines stay in their Parquet file: ``ctx.lines`` holds the
    scope's lines (the same as ``ctx.orders``), ``ctx.orders`` reads only them, the order
    days and the period are the same, and the scope's purchase tables equal pandas'."""
    pandas_ctx = context.open_step(region=region, run_dir=str(sample))
    assert pandas_ctx.lines is None                      # the sample is small
    monkeypatch.setattr(engine, "MIN_PARQUET_MB", 0.0)
    ctx = context.open_step(region=region, run_dir=str(sample))
    ctx.__dict__["prep"] = load_prep(sample / "prep", lazy_orders=True)
    assert isinstance(ctx.prep.orders, ParquetTable)
    expected = pandas_ctx.orders
    assert 0 < len(expected) < (len(pandas_ctx.prep.orders) if region != "ALL" else 10**9)
    counted = engine.fetch(ctx.lines, "SELECT count(*) AS n, fsum(amount) AS revenue, "
                                      "count(DISTINCT customer_id) AS ids FROM lines")
    assert int(counted["n"].iloc[0]) == len(expected)
    assert int(counted["ids"].iloc[0]) == expected["customer_id"].nunique()
    assert float(counted["revenue"].iloc[0]) == pytest.approx(expected["amount"].sum())
    pd.testing.assert_frame_equal(ctx.orders.reset_index(drop=True),
                                  expected.reset_index(drop=True))
    pd.testing.assert_series_equal(ctx.order_days, pandas_ctx.order_days)
    assert int(prep_step.line_counts(ctx)["lines"]) == len(expected)
    pd.testing.assert_frame_equal(ctx.first_orders(5).reset_index(drop=True),
                                  expected.head(5).reset_index(drop=True))
    assert ctx.period == pandas_ctx.period
    got, want = market.purchases(ctx), market.purchases(pandas_ctx)
    for a, b in zip(got, want, strict=True):
        pd.testing.assert_frame_equal(a, b)


def test_duckdb_memory_grows_with_the_lines_file_and_spills_to_a_temporary_folder(tmp_path):
    import tempfile

    small = tmp_path / "small.parquet"
    small.write_bytes(b"x" * 1000)
    assert engine.memory_limit(small) == "1024MiB" == engine.memory_limit(None)
    assert engine.memory_limit(tmp_path / "missing.parquet") == "1024MiB"
    large = tmp_path / "large.parquet"
    with open(large, "wb") as f:   # sparse: 2 GiB of size, no bytes written
        f.truncate(2 * 2**30)
    assert engine.memory_limit(large) == f"{int(2 * 1024 * engine.LIMIT_PER_PARQUET_BYTE)}MiB"
    with open(large, "wb") as f:
        f.truncate(100 * 2**30)
    assert engine.memory_limit(large) == f"{engine.MAX_LIMIT_MIB}MiB"
    con = engine.connect(small)
    spill = con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
    assert Path(spill).parent == Path(tempfile.gettempdir()) and Path(spill).is_dir()
    limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert limit.replace(" ", "") in ("1.0GiB", "1024.0MiB"), limit
    big = engine.connect(large).execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert big.replace(" ", "") == f"{engine.MAX_LIMIT_MIB / 1024:.1f}GiB", big
