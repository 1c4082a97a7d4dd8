"""Step 2, data prep: configured exports in, canonical tables and a row ledger out.

For every input file ``rows read = kept + merged + quarantined``; a row never
disappears without a reason (:mod:`helpers.data.ledger`). Quarantined rows keep
their file and line number.

:func:`build_prep` runs the pieces in order: each table's sources read, mapped and
typed (:mod:`helpers.data.mapping`, :mod:`helpers.data.clean`) -> customers merged
to one row each and duplicates under different ids found (:mod:`helpers.data.identity`)
-> customers located (:mod:`helpers.data.locate`) -> the table rules for orders
(returns, amounts, unknown customers, future dates) and spend -> every table
validated (:mod:`helpers.data.schemas`). :func:`save_prep` and :func:`load_prep`
write and read the result with a summary that notices a damaged folder.

Rows the reader could not take (ragged lines, lines in another encoding,
over-long values) are set aside first, with the reader's reason. When one reason
sets aside more than ``prep.max_quarantine_share`` of a file's rows, step 2 stops
with :class:`helpers.data.ledger.QuarantineStop`, naming the file, column, reason,
example lines and the likely fix, instead of going on with a fraction of the data.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import geo
from helpers.config import Config
from helpers.data.engine import OrdersEngine, ParquetTable, choose_engine, give_back_memory
from helpers.data.identity import (
    duplicate_targets,
    merge_customers,
    merge_duplicates,
    name_duplicates,
)
from helpers.data.inputs import SourceError
from helpers.data.ledger import Ledger, check_ledger, check_stop
from helpers.data.locate import (
    LOCATION,
    bare_customers,
    fill_location,
    locate,
    location_from_orders,
)
from helpers.data.mapping import SourceReader, keep_status, read_table
from helpers.data.schemas import validate
from helpers.files import atomic_path, read_csv, sha256_file, write_atomic, write_csv

TABLES = ("customers", "orders", "reps", "spend")


@dataclass
class PrepResult:
    """The output of step 2: canonical tables plus the accounts of what happened.

    ``duplicates`` lists customers under different ids that look like one
    (same name and phone, or name and city): flagged, merged only when
    ``identity.duplicates.action`` is ``merge``. ``engine`` says where the orders were
    prepared (:func:`helpers.data.engine.choose_engine`); on the DuckDB path ``orders``
    is a :class:`helpers.data.engine.ParquetTable` until :meth:`loaded`.
    """

    customers: pd.DataFrame
    orders: pd.DataFrame | ParquetTable
    reps: pd.DataFrame
    spend: pd.DataFrame
    ledger: pd.DataFrame
    quarantine: pd.DataFrame
    unresolved: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    duplicates: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["group", "match", "customer_id", "name", "kept_id"]))

    engine: dict = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The four canonical tables by name."""
        return {name: getattr(self, name) for name in TABLES}

    def loaded(self) -> PrepResult:
        """The result with every table in pandas (the orders read from their Parquet
        file on the DuckDB path)."""
        if isinstance(self.orders, ParquetTable):
            return replace(self, orders=self.orders.frame())
        return self


# --------------------------------------------------------------------------- table rules


def key_positions(values: pd.Series, keys: pd.Series) -> np.ndarray:
    """Position of each value in ``keys`` (-1 when absent), looked up once per distinct value."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pa.array(values.astype("string"))
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    encoded = pc.dictionary_encode(array)
    distinct = pd.Index(pd.arrays.ArrowStringArray(encoded.dictionary), dtype="string")
    where = pd.Index(keys.astype("string")).get_indexer(distinct)
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype("int64")
    if not len(where):
        return np.full(len(codes), -1, dtype="int64")
    return np.where(codes < 0, -1, where.take(np.where(codes < 0, 0, codes)))


def _take_text(values: pd.Series, positions: np.ndarray) -> pd.Series:
    """``values`` (text) at ``positions`` (-1: missing), taken by pyarrow (no Python objects)."""
    import pyarrow as pa

    array = pa.array(values.astype("string"))
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    taken = array.take(pa.array(positions, mask=positions < 0, type=pa.int64()))
    return pd.Series(pd.arrays.ArrowStringArray(taken), dtype="string")


def _prepare_orders(orders: pd.DataFrame, customers: pd.DataFrame, config: Config,
                    ledger: Ledger) -> pd.DataFrame:
    """The orders' table rules, per source: ``keep_status``, returns (set aside or netted),
    zero and negative amounts, unknown customers and future dates; each kept order
    takes its customer's province and territory."""
    if orders.empty:
        return orders
    sources = {s.name: s for s in config.sources["orders"]}
    kept = []
    tomorrow = pd.Timestamp.today().normalize() + pd.Timedelta(days=1)
    orders = orders.assign(_pos=key_positions(orders["customer_id"], customers["customer_id"]))
    names = pd.unique(np.asarray(orders["_source"], dtype=object))
    parts = [(names[0], orders)] if len(names) == 1 else orders.groupby(
        "_source", sort=False, observed=True)
    for name, part in parts:
        source = sources[name]
        if source.keep_status is not None and "status" in part:
            part = keep_status(part, source, "orders", ledger)
        if source.returns is not None:
            if source.returns.column not in part:
                raise SourceError(f"source '{name}': returns.column {source.returns.column!r} "
                                  "is not a mapped canonical column of the orders")
            is_return = part[source.returns.column].isin(source.returns.values)
            if source.returns.action == "exclude":
                part = part.assign(_return=False)
                part = ledger.quarantine("orders", part, is_return,
                                         "return excluded (returns.action: exclude)",
                                         column=source.returns.column, rule=True)
            else:
                part = part.assign(_return=is_return,
                                   amount=part["amount"].where(~is_return, -part["amount"].abs()))
        else:
            part = part.assign(_return=False)
        if source.zero_amount == "quarantine":
            part = ledger.quarantine("orders", part, part["amount"] == 0, "amount is zero",
                                     column="amount")
        if source.negative_amount == "quarantine":
            part = ledger.quarantine("orders", part, (part["amount"] < 0) & ~part["_return"],
                                     "amount is negative (not a return)", column="amount")
        part = ledger.quarantine("orders", part, part["_pos"].to_numpy() < 0,
                                 "unknown customer_id", column="customer_id")
        part = ledger.quarantine("orders", part, part["order_date"] >= tomorrow,
                                 "order_date in the future", column="order_date")
        part = ledger.settle("orders", part)
        ledger.count("orders", part, "kept")
        kept.append(part.drop(columns="_return"))
    orders = pd.concat(kept, ignore_index=True) if len(kept) > 1 else kept[0]
    pos = orders["_pos"].to_numpy()
    drop = [c for c in ("country", "city", "district", "address", "lat", "lon", "_pos")
            if c in orders]
    province = _take_text(customers["province"], pos)
    territory = _take_text(customers["territory"], pos)
    province.index = territory.index = orders.index
    source = pd.Series(np.asarray(orders["_source"], dtype=object), index=orders.index,
                       dtype="string") if orders["_source"].nunique() > 1 else pd.Series(
        str(orders["_source"].iloc[0]) if len(orders) else pd.NA, index=orders.index,
        dtype="string")
    return orders.drop(columns=drop).assign(province=province, territory=territory,
                                            source=source)


def _prepare_spend(spend: pd.DataFrame, config: Config, ledger: Ledger) -> pd.DataFrame:
    """Marketing spend per province and quarter: unknown provinces, periods that are not
    quarters and negative amounts set aside."""
    if spend.empty:
        return pd.DataFrame({"province": pd.Series(dtype="string"),
                             "period": pd.Series(dtype="string"), "amount": pd.Series(dtype="float64")})
    country = config.geography.country
    province = geo.resolve_provinces(spend["region"].astype("string"), country)["province"]
    spend = spend.assign(province=province)
    spend = ledger.quarantine("spend", spend, spend["province"].isna(), "unknown province",
                              column="region")
    period = spend["period"].str.upper().str.replace(r"[\s\-_]", "", regex=True)
    spend = spend.assign(period=period)
    spend = ledger.quarantine("spend", spend, ~period.str.match(r"^\d{4}Q[1-4]$").fillna(False),
                              "period is not a quarter like 2024Q1", column="period")
    spend = ledger.quarantine("spend", spend, spend["amount"] < 0, "amount is negative",
                              column="amount")
    spend = ledger.settle("spend", spend)
    ledger.count("spend", spend, "kept")
    return spend


def _finish(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop bookkeeping columns, use nullable strings for text."""
    frame = frame.drop(columns=[c for c in frame.columns if c.startswith("_")]).reset_index(drop=True)
    text = frame.select_dtypes(include=["object", "string"]).columns
    return frame.astype({c: "string" for c in text})


# --------------------------------------------------------------------------- build


def build_prep(config: Config) -> PrepResult:
    """Run step 2 on the configured sources and return the canonical tables.

    Raises :class:`helpers.data.inputs.SourceError` for unreadable inputs,
    :class:`helpers.data.ledger.QuarantineStop` (a ``SourceError``) when one reason
    sets aside more than ``prep.max_quarantine_share`` of a file's rows, and
    :class:`helpers.data.schemas.ValidationFailed` listing every schema problem.
    """
    ledger, notes = Ledger(), []
    engine = choose_engine(config)
    if engine["path"] == "duckdb":
        return _build_duckdb(config, ledger, notes, engine)
    reader = SourceReader(config, notes)
    raw_customers = _read_customers(reader, ledger, notes, config)
    orders = read_table(reader, "orders", ledger, notes)
    customers, repeated = merge_customers(raw_customers)
    ledger.count("customers", repeated, "merged", "same customer_id as an earlier row (values combined)")
    customers = location_from_orders(customers, orders, config.geography.customer_location, notes)
    duplicates = name_duplicates(customers, config)
    if config.identity.duplicates.action == "merge":
        customers, orders = merge_duplicates(customers, orders, duplicates, ledger)
    else:
        _flag_duplicates(duplicates, notes)
    ledger.count("customers", customers, "kept")
    customers, unresolved, geo_notes = locate(customers, config)
    notes += geo_notes
    orders = _prepare_orders(orders, customers, config, ledger)
    reps, spend = _reps_and_spend(reader, ledger, notes, config)
    if orders.empty:
        orders = pd.DataFrame({c: pd.Series(dtype=t) for c, t in (
            ("order_id", "string"), ("customer_id", "string"), ("order_date", "datetime64[ns]"),
            ("amount", "float64"))})
    return _result(config, ledger, notes, customers, validate("orders", _finish(orders)), reps,
                   spend, unresolved, duplicates, engine)


def _read_customers(reader: SourceReader, ledger: Ledger, notes: list[str],
                    config: Config) -> pd.DataFrame:
    raw_customers = read_table(reader, "customers", ledger, notes)
    check_stop(ledger, config, ("customers",))
    if raw_customers.empty:
        _no_customers(config)
    return raw_customers


def _no_customers(config: Config) -> None:
    files = ", ".join(s.file_label for s in config.sources["customers"])
    raise SourceError(f"no customer rows to work with: every row of {files} was set aside "
                      "or the files hold none (see the ledger)")


def _flag_duplicates(duplicates: pd.DataFrame, notes: list[str]) -> None:
    if len(duplicates):
        notes.append(f"customers: {duplicates['group'].nunique()} group(s) of different ids look "
                     "like one customer (same name and phone or city); flagged in duplicates, "
                     "not merged (identity.duplicates.action: flag)")


def _reps_and_spend(reader: SourceReader, ledger: Ledger, notes: list[str],
                    config: Config) -> tuple[pd.DataFrame, pd.DataFrame]:
    reps = read_table(reader, "reps", ledger, notes)
    if not reps.empty:
        dup = reps.duplicated("sales_rep_id")
        ledger.count("reps", reps[dup], "merged", "same sales_rep_id as an earlier row")
        reps = reps[~dup]
        ledger.count("reps", reps, "kept")
    else:
        reps = pd.DataFrame({"sales_rep_id": pd.Series(dtype="string")})
    spend = _prepare_spend(read_table(reader, "spend", ledger, notes), config, ledger)
    return reps, spend


def _build_duckdb(config: Config, ledger: Ledger, notes: list[str], engine: dict) -> PrepResult:
    """:func:`build_prep` with the orders and customers inside DuckDB
    (:mod:`helpers.data.engine`): the same steps in the same order; the merged customers
    (one row each) are named and located in pandas, reps and spend take the pandas path."""
    import tempfile

    reader = SourceReader(config, notes)
    with tempfile.TemporaryDirectory(prefix="prep_parked_") as parked_folder:
        orders = OrdersEngine(config, reader, ledger, notes)
        try:
            customers, repeated = orders.customers()
            check_stop(ledger, config, ("customers",))
            if customers.empty:
                _no_customers(config)
            # the columns no rule reads wait on disk until the customers are located
            customers, parked = park_columns(customers, _working_columns(config),
                                             Path(parked_folder))
            give_back_memory()  # the parked columns' memory, before DuckDB reads the orders
            orders.stage()
            orders.rest()  # the customers' work in pandas below: DuckDB's tables on disk
            give_back_memory()
            for (source, file), rows in repeated.items():
                ledger.add("customers", source, file, "merged",
                           rows, "same customer_id as an earlier row (values combined)")
            rule = config.geography.customer_location
            bare = bare_customers(customers, rule, orders.ship_columns(), False)
            if bare is not None:
                chosen = orders.ship_to(customers.loc[bare, "customer_id"], rule)
                if len(chosen):
                    customers = fill_location(customers, bare, chosen, rule, notes)
            duplicates = name_duplicates(customers, config)
            if config.identity.duplicates.action == "merge":
                customers, _ = merge_duplicates(customers, pd.DataFrame(), duplicates, ledger)
                orders.remap(duplicate_targets(duplicates))
            else:
                _flag_duplicates(duplicates, notes)
            ledger.count("customers", customers, "kept")
            give_back_memory()  # what the duplicates' work freed, before locating
            customers, unresolved, geo_notes = locate(customers, config)
            notes += geo_notes
            folder = Path(tempfile.mkdtemp(prefix="prep_orders_"))
            table = orders.finish(customers, folder)
            table = ParquetTable(table.path, table.rows, table.columns, folder)
            engine = {**engine, **orders.record()}
        finally:
            orders.close()
        give_back_memory()  # DuckDB's memory, before the parked columns come back
        customers = unpark_columns(customers, parked)
    import pyarrow.parquet as pq

    validate("orders", pq.read_schema(table.path).empty_table().to_pandas())  # the dtypes
    reps, spend = _reps_and_spend(reader, ledger, notes, config)
    return _result(config, ledger, notes, customers, table, reps, spend, unresolved,
                   duplicates, engine)


def _working_columns(config: Config) -> set[str]:
    """The customers' columns the rules between the merge and the result read: the key and
    the ledger's bookkeeping, the location (:data:`helpers.data.locate.LOCATION`), the name
    and the fields of ``identity.duplicates.match``."""
    fields = {f for group in config.identity.duplicates.match for f in group}
    return {"customer_id", "name", "_line", "_file", "_source", *LOCATION, *fields}


@dataclass
class Parked:
    """Columns of the customers set aside on disk by :func:`park_columns`."""

    path: Path | None
    columns: list[str]  # the customers' columns in their order (the parked ones among them)
    rows: int


def park_columns(customers: pd.DataFrame, keep: set[str],
                 folder: Path) -> tuple[pd.DataFrame, Parked]:
    """``customers`` without the columns not in ``keep``, which go to a Parquet file in
    ``folder`` (text and all, as they are) until :func:`unpark_columns` brings them back:
    on the DuckDB path the 5.6M customers of 100M order lines hold 1.4 GB in columns that
    no rule reads between the merge and the result (contacts, dates, partner fields)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = list(customers.columns)
    rest = [c for c in columns if c not in keep and _parkable(customers[c].dtype)]
    if not rest:
        return customers, Parked(None, columns, len(customers))
    customers = customers.reset_index(drop=True)
    path = folder / "parked_customers.parquet"
    pq.write_table(pa.Table.from_pandas(customers[rest], preserve_index=False), path,
                   compression="lz4")
    return customers.drop(columns=rest), Parked(path, columns, len(customers))


def _parkable(dtype) -> bool:
    """Whether a column of ``dtype`` comes back from Parquet with that very dtype: Arrow
    text with ``pd.NA``, numbers, booleans, dates and pandas' nullable numbers (not
    Python objects)."""
    if isinstance(dtype, pd.StringDtype):
        return dtype.storage == "pyarrow" and dtype.na_value is pd.NA
    return isinstance(dtype, pd.core.dtypes.dtypes.BaseMaskedDtype) or (
        isinstance(dtype, np.dtype) and dtype.kind in "biufM")


def unpark_columns(customers: pd.DataFrame, parked: Parked) -> pd.DataFrame:
    """``customers`` (the rows :func:`park_columns` returned, some perhaps dropped, in the
    same order; columns perhaps added) with the parked columns back in their place: the
    columns parked or kept in their first order, then the columns added since."""
    import pyarrow.parquet as pq

    if parked.path is None:
        return customers
    table = pq.read_table(parked.path)
    rows = customers.index.to_numpy()
    if len(rows) != parked.rows or (len(rows) and (rows != np.arange(parked.rows)).any()):
        table = table.take(rows)
    back = table.to_pandas()
    back.index = customers.index
    order = [c for c in parked.columns if c in customers or c in back]
    order += [c for c in customers.columns if c not in parked.columns]
    return pd.concat([customers, back], axis=1)[order]


def _result(config: Config, ledger: Ledger, notes: list[str], customers: pd.DataFrame,
            orders, reps: pd.DataFrame, spend: pd.DataFrame, unresolved: pd.DataFrame,
            duplicates: pd.DataFrame, engine: dict) -> PrepResult:
    check_stop(ledger, config, TABLES)
    result = PrepResult(
        customers=validate("customers", _finish(customers)),
        orders=orders,
        reps=validate("reps", _finish(reps)),
        spend=validate("spend", _finish(spend.drop(columns=["region"], errors="ignore"))),
        ledger=ledger.frame(),
        quarantine=ledger.quarantine_frame(),
        unresolved=unresolved,
        notes=list(dict.fromkeys(notes)),
        duplicates=duplicates,
        engine=engine,
    )
    check_ledger(result.ledger)
    return result


# --------------------------------------------------------------------------- save and load


class PrepDamaged(Exception):
    """A saved prep folder cannot be used as it is: a file is missing, cut short or changed.

    Attributes
    ----------
    path : Path
        The file at fault.
    reason : str
        What is wrong with it.
    """

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


PREP_SUMMARY = "prep.json"
PREP_CSV = ("ledger", "quarantine", "unresolved", "duplicates")
#: Every file :func:`save_prep` writes besides the summary.
PREP_FILES = tuple([f"{name}.parquet" for name in TABLES] + [f"{name}.csv" for name in PREP_CSV])


def _prep_files(result: PrepResult) -> dict[str, pd.DataFrame]:
    tables = {**result.tables(), **{name: getattr(result, name) for name in PREP_CSV}}
    return dict(zip(PREP_FILES, tables.values(), strict=True))


def save_prep(result: PrepResult, folder: Path, fingerprint: dict) -> None:
    """Write the tables as Parquet, the ledger and quarantine as CSV, a summary as JSON.

    Each file is written whole or not at all (``helpers.files.atomic_path``); the
    summary ``prep.json`` goes last and records every file's size and SHA-256, so a
    folder cut short by a full disk or an interrupted run, or a file changed later,
    is noticed by :func:`load_prep`. ``fingerprint`` (what the tables were built
    from, see ``helpers.steps.prep.prep_fingerprint``) is kept in the summary.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / PREP_SUMMARY).unlink(missing_ok=True)  # the folder is incomplete until it is back
    files = {}
    for name, table in _prep_files(result).items():
        with atomic_path(folder / name) as tmp:
            if isinstance(table, ParquetTable):
                shutil.copyfile(table.path, tmp)
            elif name.endswith(".parquet"):
                table.to_parquet(tmp, index=False)
            else:
                write_csv(table, tmp)  # safe to open in Excel
        files[name] = {"bytes": (folder / name).stat().st_size,
                       "sha256": sha256_file(folder / name)}
    summary = {"fingerprint": fingerprint, "notes": result.notes, "engine": result.engine,
               "rows": {name: len(t) for name, t in result.tables().items()}, "files": files}
    write_atomic(folder / PREP_SUMMARY, json.dumps(summary, ensure_ascii=False, indent=2))


def read_prep_summary(folder: Path) -> dict:
    """The saved ``prep.json``; :class:`PrepDamaged` naming it when missing or unreadable."""
    path = folder / PREP_SUMMARY
    try:
        summary = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise PrepDamaged(path, "missing") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PrepDamaged(path, f"unreadable ({type(exc).__name__}: {exc})") from None
    if not isinstance(summary, dict) or not isinstance(summary.get("files"), dict):
        raise PrepDamaged(path, "not a prep summary of this version (no list of files)")
    return summary


def check_prep_files(folder: Path, summary: dict) -> None:
    """Check every prep file against the summary's size and SHA-256.

    Raises
    ------
    PrepDamaged
        Naming the first file that is missing, unlisted, unreadable, or of another
        size or content than when it was written.
    """
    for name in PREP_FILES:
        path, facts = Path(folder) / name, summary["files"].get(name)
        if not isinstance(facts, dict):
            raise PrepDamaged(path, f"not listed in {PREP_SUMMARY}")
        try:
            size, expected = path.stat().st_size, facts.get("bytes")
            if size != expected:
                shown = f"{expected:,}" if isinstance(expected, int) else repr(expected)
                raise PrepDamaged(path, f"{size:,} bytes where {PREP_SUMMARY} says {shown} "
                                        "(cut short or changed)")
            if sha256_file(path) != facts.get("sha256"):
                raise PrepDamaged(path, "content changed since it was written "
                                        f"(SHA-256 differs from {PREP_SUMMARY})")
        except FileNotFoundError:
            raise PrepDamaged(path, "missing") from None
        except OSError as exc:
            raise PrepDamaged(path, f"unreadable ({exc.strerror or exc})") from None


def load_prep(folder: Path, *, lazy_orders: bool = False) -> PrepResult:
    """Read what :func:`save_prep` wrote, after checking every file (:func:`check_prep_files`).

    ``lazy_orders``: the orders stay in their Parquet file (a :class:`ParquetTable`, read
    column by column on demand) for a reader that aggregates them in DuckDB
    (:func:`helpers.steps.market.build_run` on large data).

    Raises
    ------
    PrepDamaged
        Naming the first file that is missing, of another size or content than when
        it was written, or unreadable (the folder should then be built again).
    """
    folder = Path(folder)
    summary = read_prep_summary(folder)
    check_prep_files(folder, summary)
    frames: dict[str, pd.DataFrame] = {}
    for name in PREP_FILES:
        path, stem = folder / name, name.rsplit(".", 1)[0]
        try:
            if lazy_orders and name == "orders.parquet":
                frames[stem] = ParquetTable.of(path)
            elif name.endswith(".parquet"):
                frames[stem] = pd.read_parquet(path)
            elif stem == "duplicates":
                frames[stem] = read_csv(path, dtype={"customer_id": str, "kept_id": str})
            else:
                frames[stem] = read_csv(path, dtype={"rows": "int64", "line": "Int64"})
        except Exception as exc:  # intact bytes that still do not parse
            raise PrepDamaged(path, f"unreadable ({type(exc).__name__}: {exc})") from None
    return PrepResult(**frames, notes=list(summary.get("notes") or []),
                      engine=dict(summary.get("engine") or {}))
