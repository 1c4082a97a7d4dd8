"""The market-wide results every region's reports slice: computed once per run, kept in
the run folder.

In a batch every region's notebooks would otherwise compute again what is the same for
all of them. This module holds those results, each computed once for the whole market
and saved in ``<run>/market/`` (Parquet tables and JSON notes, written atomically), where
every region's notebook, on any engine or Dask worker that sees the run folder, loads
it and takes its own rows:

- ``province_kpis``: the whole market's province KPIs (:meth:`Context._kpis_by_region`
  of every customer and province): the national report's KPI table and the benchmark
  every territory report judges its provinces against (steps 3, 4 and 5);
- ``purchases``: the per-customer purchase summary and purchase days on the period's
  ``as_of`` (:func:`helpers.analysis.customers.purchase_summary`, ``purchase_days``; no
  purchase days on large data, where their readers aggregate them in DuckDB):
  each customer's rows depend on that customer's orders only, so a region's tables
  are the rows of its customers (step 3's segments; step 4: RFM, lifecycle, lifetime
  value, clusters, buying);
- ``isolation``: the isolated customers, judged against every customer of the market
  (:func:`helpers.analysis.isolation.isolated_customers`; step 4 keeps the region's).

What is fitted per region (RFM quantile bins, the lifetime-value model, K-means
clusters, forecasts) is not here: a region's numbers stay its own.

On large data (:func:`aggregation`: step 2 ran on DuckDB, or ``orders.parquet`` is large)
the province KPIs and the purchase tables are summed inside DuckDB straight from the
saved ``orders.parquet`` (:mod:`helpers.analysis.engine`), and :func:`build_run` leaves the
order lines in that file: what comes back to pandas is one row per customer, the same
tables as pandas makes (the purchase days, a row per customer and purchase day, are not
made there: step 4 reads them in DuckDB).

A result is used only when its key matches: the prep's fingerprint and files
(``prep/prep.json``: config, inputs, prep code, each table's SHA-256), the rows of the
loaded tables, the whole config, the period and the code of the ``helpers`` package
and the reference data (:func:`cache_key`). Anything else (another config, period,
data or code) computes afresh and replaces the file. Without a saved prep (tables
handed to the context directly) nothing is cached.

The batch builds every result before the fan-out (:func:`build`): the regions' kernels
and Dask workers then only read them. A notebook that finds a result missing or stale
(opened alone in JupyterLab, ``reports/interactive``) computes it and saves it; two
notebooks doing so at once compute the same bytes and the last atomic rename wins, so
no lock is needed (file locks are unreliable on the network storage Dask runs use).
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from pyarrow import ArrowException

from helpers.analysis import customers as purchase
from helpers.analysis import engine, isolation
from helpers.config import Config, RunPaths
from helpers.data.prepare import PrepDamaged, read_prep_summary
from helpers.files import atomic_path
from helpers.geo.reference import REFERENCE_DIR
from helpers.geo.scope import Scope

if TYPE_CHECKING:
    from helpers.context import Context

__all__ = ["FOLDER", "RESULTS", "cache_key", "build", "province_kpis", "purchases",
           "isolated", "code_sha256", "build_run"]

#: The folder of the run that holds the results.
FOLDER = "market"
#: Bumped when what a result holds changes shape.
VERSION = 1
#: The results :func:`build` makes.
RESULTS = ("province_kpis", "purchases", "isolation")

_HELPERS = Path(__file__).resolve().parents[1]


@lru_cache(maxsize=1)
def code_sha256() -> str:
    """One SHA-256 over the ``helpers`` package (code and its data files) and the
    reference data: a result made by other code is not used."""
    digest = hashlib.sha256()
    for root in (_HELPERS, REFERENCE_DIR):
        for file in sorted(f for f in root.rglob("*") if f.is_file()
                           and f.suffix in (".py", ".csv", ".yaml", ".json")
                           and "__pycache__" not in f.parts):
            digest.update(f"{root.name}/{file.relative_to(root).as_posix()}".encode() + b"\0")
            digest.update(file.read_bytes())
    return digest.hexdigest()


def cache_key(ctx: Context) -> str | None:
    """What the market-wide results of ``ctx``'s run depend on, as one SHA-256 (None:
    no saved prep to key them by, nothing is cached); worked out once per context."""
    if "_market_key" not in ctx.__dict__:
        ctx.__dict__["_market_key"] = _key(ctx)
    return ctx.__dict__["_market_key"]


def _key(ctx: Context) -> str | None:
    prep = ctx.prep  # loaded (or built and saved, outside a batch) before its summary is read
    try:
        summary = read_prep_summary(ctx.run.prep)
    except PrepDamaged:
        return None
    if not isinstance(summary.get("fingerprint"), dict):
        return None
    period = ctx.period
    facts = {
        "version": VERSION,
        "prep": {"fingerprint": summary["fingerprint"], "files": summary["files"]},
        "rows": {"customers": len(prep.customers), "orders": len(prep.orders)},
        "config": ctx.config.model_dump(mode="json"),
        "period": [str(period.first_day), str(period.end), str(period.as_of)],
        "code": code_sha256(),
    }
    text = json.dumps(facts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _path(ctx: Context, name: str, key: str) -> Path:
    """The result's index file: ``<run>/market/<name>-<key>.json`` (its parts beside it)."""
    return ctx.run.root / FOLDER / f"{name}-{key[:16]}.json"


def _load(path: Path, key: str, skip: tuple[int, ...] = ()):
    """The value saved at ``path`` under ``key``; None when missing, partial or another key.
    The parts numbered in ``skip`` are not read (None in their place).

    Tables are Parquet and notes JSON, never pickles: a run folder may sit on storage
    other people can write (a Dask run's), and loading a pickle runs whatever it holds.
    """
    try:
        index = json.loads(path.read_text("utf-8"))
        if not isinstance(index, dict) or index.get("key") != key:
            return None
        parts = []
        for i, kind in enumerate(index["parts"]):
            if i in skip:
                parts.append(None)
                continue
            part = path.with_name(f"{path.stem}-{i}.{'parquet' if kind == 'frame' else 'json'}")
            if kind == "frame":  # object columns as object (Parquet reads them as strings;
                # a missing value comes back as NaN)
                frame = pd.read_parquet(part)
                objects = index["objects"][i]
                parts.append(frame.astype(dict.fromkeys(objects, object)) if objects else frame)
            else:
                parts.append(json.loads(part.read_text("utf-8")))
    except (OSError, ValueError, KeyError, TypeError, ArrowException):
        return None  # missing, partial or from other code: computed again
    return parts[0] if index.get("single") else tuple(parts)


def _plain(value):
    """A note's NumPy number as the Python number it holds (JSON has no NumPy types)."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} cannot be saved in a market-wide note")


def _save(path: Path, key: str, value) -> None:
    """``value`` (a DataFrame, or a tuple of DataFrames and JSON-able dicts) at ``path``:
    the parts first, the index last (a reader that finds the index finds its parts)."""
    single = isinstance(value, pd.DataFrame)
    parts = [value] if single else list(value)
    kinds, objects = [], []
    for i, part in enumerate(parts):
        kind = "frame" if isinstance(part, pd.DataFrame) else "json"
        target = path.with_name(f"{path.stem}-{i}.{'parquet' if kind == 'frame' else 'json'}")
        with atomic_path(target) as tmp:
            if kind == "frame":
                part.to_parquet(tmp)
            else:
                tmp.write_text(json.dumps(part, ensure_ascii=False, default=_plain), "utf-8")
        kinds.append(kind)
        objects.append([str(c) for c, t in part.dtypes.items()
                        if pd.api.types.is_object_dtype(t)]
                       if kind == "frame" else [])
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps({"key": key, "single": single, "parts": kinds,
                                   "objects": objects}, ensure_ascii=False), "utf-8")


def _shared(ctx: Context, name: str, compute, key: str | None = None,
            skip: tuple[int, ...] = ()):
    """The result ``name`` of this run: loaded when saved under the same key (without the
    parts numbered in ``skip``), else computed by ``compute()`` and saved (older files of
    that result removed)."""
    key = cache_key(ctx) if key is None else key
    if key is None:
        return compute()
    path = _path(ctx, name, key)
    saved = _load(path, key, skip)
    if saved is not None:
        return saved
    value = compute()
    try:
        _save(path, key, value)
        for old in path.parent.glob(f"{name}-*"):
            if not old.name.startswith(f"{path.stem}"):
                old.unlink(missing_ok=True)
    except (OSError, TypeError, ValueError):
        # a read-only or full run folder, or a note JSON cannot hold: the result is still
        # right, only not kept (computed again by the next notebook)
        pass
    return value


def _all_provinces(ctx: Context) -> list[str]:
    return list(Scope.parse("ALL", ctx.config).provinces)


def aggregation(ctx: Context) -> dict:
    """Where the market-wide tables sum the order lines: ``{"path": "duckdb" | "pandas",
    "reason": ...}`` (:func:`helpers.analysis.engine.choose`: DuckDB, straight from the
    saved ``orders.parquet``, when step 2 ran on DuckDB or the file is large; pandas for
    small data and when there is no saved prep). Worked out once per context; the
    batch records it in the manifest (``attempts[].market.aggregation``)."""
    if "_market_aggregation" not in ctx.__dict__:
        if cache_key(ctx) is None:
            chosen = {"path": "pandas", "reason": "no saved prep"}
        else:
            chosen = engine.choose(read_prep_summary(ctx.run.prep), _orders_parquet(ctx))
        ctx.__dict__["_market_aggregation"] = chosen
    return ctx.__dict__["_market_aggregation"]


def _orders_parquet(ctx: Context) -> Path:
    return ctx.run.prep / "orders.parquet"


def _in_engine(ctx: Context) -> bool:
    return aggregation(ctx)["path"] == "duckdb"


def _province_kpis(ctx: Context) -> pd.DataFrame:
    if not _in_engine(ctx):
        return ctx._kpis_by_region("province", ctx.prep.customers, ctx.prep.orders,
                                   _all_provinces(ctx), None)
    a, path = ctx.config.analysis, _orders_parquet(ctx)
    con = engine.connect(path)
    windows = engine.customer_windows(path, period=ctx.period, active_months=a.active_months,
                                      pop_months=a.pop_months, con=con)
    return ctx._kpis_by_region("province", ctx.prep.customers, None, _all_provinces(ctx),
                               None, windows=windows)


def province_kpis(ctx: Context, key: str | None = None) -> pd.DataFrame:
    """The whole market's province KPIs: every customer, every province of the market
    (what the national report shows and a territory's benchmark holds); on large data
    the lines are summed per customer in DuckDB (:func:`aggregation`)."""
    return _shared(ctx, "province_kpis", lambda: _province_kpis(ctx), key)


def _purchase_tables(ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    as_of = ctx.period.as_of
    if _in_engine(ctx):
        # no purchase days (a row per customer and purchase day): on large data their
        # readers aggregate them in DuckDB (lifecycle_sql, lifetime_value_sql,
        # buying_summary_sql), from the report's own lines
        path = _orders_parquet(ctx)
        con = engine.connect(path)
        return engine.purchase_summary(path, as_of=as_of, con=con), None
    return (purchase.purchase_summary(ctx.prep.orders, as_of=as_of),
            purchase.purchase_days(ctx.prep.orders, as_of=as_of))


def _market_purchases(ctx: Context, key: str | None = None, with_days: bool = True
                      ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The market's purchase summary and purchase days (the days not read from the saved
    result when ``with_days`` is False: a row per customer and purchase day, as many as
    the lines nearly)."""
    return _shared(ctx, "purchases", lambda: _purchase_tables(ctx), key,
                   skip=() if with_days else (1,))


def purchases(ctx: Context, *, with_days: bool = True
              ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The scope's purchase summary and purchase days on the period's ``as_of``: the
    rows of the market-wide tables whose customer's orders are the scope's (the days
    are None when ``with_days`` is False).

    The same tables as :func:`helpers.analysis.customers.purchase_summary` and
    ``purchase_days`` of ``ctx.orders``; computed from them directly when nothing
    is cached, when the scope has no purchases, or when a customer of the scope has
    orders outside it (then the market's rows are not the scope's). On large data
    (:func:`aggregation`) the market's result holds no purchase days (a row per customer
    and purchase day): step 4 asks for none there (its readers of the days have DuckDB
    twins); asked for, they are summed from the scope's lines (``ctx.lines``).
    """
    key = cache_key(ctx)
    if key is None or not _scope_lines_whole(ctx):
        return _direct_purchases(ctx, with_days)
    summary, days = _market_purchases(ctx, key, with_days)
    days = days if with_days else None
    own = with_days and days is None  # large data: the market's result keeps no days
    if ctx.scope.kind == "all":
        summary, days = summary.copy(), None if days is None else days.copy()
    else:
        ids = _scope_ids(ctx)
        summary = summary.loc[summary["customer_id"].isin(ids)].reset_index(drop=True)
        if days is not None:
            days = days.loc[days["customer_id"].isin(ids)].reset_index(drop=True)
    if own:
        days = _direct_purchases(ctx, True)[1]
    if not len(summary) or (days is not None and not len(days)):
        return _direct_purchases(ctx, with_days)  # the empty tables' own column types
    return summary, days


def _scope_ids(ctx: Context) -> pd.Series:
    """The distinct customer ids of the scope's order lines."""
    if ctx.lines is not None:
        return engine.fetch(ctx.lines, "SELECT DISTINCT customer_id FROM lines "
                                       "WHERE customer_id IS NOT NULL")["customer_id"]
    return pd.Series(pd.unique(ctx.orders["customer_id"].dropna()))


def _scope_lines_whole(ctx: Context) -> bool:
    """Whether every order line of the scope's customers is in the scope (orders take
    their customer's province): only then is the market's row of a customer the scope's."""
    if ctx.scope.kind == "all":
        return True
    if ctx.lines is not None:
        inside, theirs = ctx.lines.execute(
            "SELECT (SELECT count(*) FROM lines), count(*) FROM market_lines WHERE customer_id "
            "IN (SELECT DISTINCT customer_id FROM lines)").fetchone()
        return int(inside) == int(theirs)
    orders = ctx.orders
    ids = pd.unique(orders["customer_id"].dropna())
    return int(ctx.prep.orders["customer_id"].isin(ids).sum()) == len(orders)


def _direct_purchases(ctx: Context, with_days: bool) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    as_of = ctx.period.as_of
    if ctx.lines is not None:
        return (engine.purchase_summary(ctx.lines, as_of=as_of),
                engine.purchase_days(ctx.lines, as_of=as_of) if with_days else None)
    return (purchase.purchase_summary(ctx.orders, as_of=as_of),
            purchase.purchase_days(ctx.orders, as_of=as_of) if with_days else None)


def isolated(ctx: Context) -> tuple[pd.DataFrame, dict]:
    """Isolated customers judged against every customer of the market, and the note
    (:func:`helpers.analysis.isolation.isolated_customers` with the config's
    ``analysis.isolation_km`` and ``isolation_min_customers``)."""
    a = ctx.config.analysis
    return _shared(ctx, "isolation", lambda: isolation.isolated_customers(
        ctx.prep.customers, eps_km=a.isolation_km, min_customers=a.isolation_min_customers))


def build(ctx: Context) -> dict:
    """Every market-wide result of ``ctx``'s run, computed and saved unless saved already
    under the same key (the batch, before the fan-out). Returns the manifest's facts:
    ``key`` (None: no saved prep, nothing cached) and ``results``."""
    key = cache_key(ctx)
    if key is None:
        return {"key": None, "results": []}
    province_kpis(ctx, key)
    _market_purchases(ctx, key)
    isolated(ctx)
    return {"key": key[:16], "results": list(RESULTS), "aggregation": aggregation(ctx)}


def build_run(config: Config, run: RunPaths, period_end: str = "") -> dict:
    """:func:`build` for a batch run: the whole market's context with the run's
    ``period_end``, its prep read from ``run.prep`` (not kept in this process). A run
    without a saved prep summary builds nothing (``key`` None)."""
    from helpers.context import Context
    from helpers.data.prepare import load_prep
    from helpers.steps.prep import lines_stay_in_file

    try:
        read_prep_summary(run.prep)
    except PrepDamaged:  # no saved prep (tables made elsewhere): nothing to key results by
        return {"key": None, "results": []}
    scope = Scope.parse("ALL", config)
    ctx = Context(config, scope, run, run.root / scope.slug, "en", True, period_end)
    # summed in DuckDB: the order lines stay in their Parquet file, not read into pandas
    ctx.__dict__["prep"] = load_prep(run.prep, lazy_orders=lines_stay_in_file(run.prep))
    return build(ctx)
