"""Step 2 out of core: orders and customers prepared inside DuckDB, with the rules of the
pandas path.

The orders are the table that grows with the lines. On this path (``prep.engine``,
:func:`choose_engine`) they never become one pandas frame: each orders source is read
into a DuckDB database on disk (UTF-8 CSV by DuckDB's reader, GBK and other encodings
transcoded to UTF-8 while streaming; Excel, Parquet, gzip and any CSV that DuckDB's
strict reader refuses - ragged lines, mixed encodings, blank lines, values over
lines - by the pandas reader of :mod:`helpers.data.read`, file by file), and every
row rule runs in SQL: exact duplicates, joins, filters, the column mapping, ids,
``keep_status``, returns, amounts, dates, unknown customers, the ship-to of
customers without a location and the ledger's counts. What needs Python runs once
per *distinct* value with the very functions the pandas path uses
(:func:`helpers.data.clean.parse_dates`, :func:`~helpers.data.clean.parse_numbers`,
:func:`~helpers.data.clean.normalise_ids` on non-ASCII ids) and is joined back. Where
a rule is SQL (text trimming, ids, the ship-to choice) it sits beside its pandas twin
and ``tests/test_engine_prep.py`` checks that both give the same answer. The rows set
aside (few) come back to pandas and go through :meth:`helpers.data.ledger.Ledger.settle`,
so the quarantine and the ledger are written by one piece of code on both paths.

The kept orders are written by DuckDB's ``COPY`` into ``orders.parquet`` in file order,
with the pandas schema of the canonical table in the file's metadata (:class:`ParquetTable`).

The customers' sources are read, typed and settled by the same code
(:meth:`OrdersEngine.customers`; their dates and numbers are left empty with the notes of
:func:`helpers.data.clean.to_dates` and ``to_numbers`` rather than set aside) and merged to
one row per customer_id inside DuckDB (:func:`helpers.data.identity.merge_customers`:
per source, an id repeated within it takes the first non-empty value of each column; the
sources are then joined on customer_id, the first source's value winning). Only the merged
customers - one row each - come to pandas, for the work on names and places
(:func:`~helpers.data.identity.name_duplicates`, :func:`helpers.data.locate.locate`,
each place name resolved once); meanwhile DuckDB keeps :data:`RESTING_LIMIT` in memory
(:meth:`OrdersEngine.rest`) and the customers' columns no rule reads wait in a Parquet file
(:func:`helpers.data.prepare.park_columns`). Reps and spend (small) stay on the pandas path.

Where the time goes (``bench/prep_speed.py``, 10M lines): the SQL does each piece of work
once per column where it can (a column that is all ASCII needs no Python map for its ids;
dates and numbers are parsed once per distinct value, all of a source's from one
``GROUPING SETS`` scan). The scan that checks a file DuckDB read also tells whether its
ids' columns are all ASCII, hold ``.0`` or look like scientific notation (the mapped view
is scanned for them only when that leaves the answer open); each row's hash is made as
it is read (``_hash``), so exact duplicates are compared value by value only among rows
whose hash repeats; the rows read per file come from the tables' counts. The typed table
is made in one scan and in no order (``_ord`` orders wherever order matters), and the
orders' final view is scanned twice: once for the rows set aside, once by the ``COPY``,
whose ``ORDER BY`` is the one sort (DuckDB keeps no row order through joins); the sort
carries only the values that differ from row to row (the source's name is put in after
it). DuckDB has
:data:`MEMORY_LIMIT` and spills beyond it; a larger limit is faster (less spilling) and
costs the memory. In :meth:`OrdersEngine.finish` pandas holds the customers, so DuckDB gets
:data:`FINISH_LIMIT` there, and the rows set aside come to pandas :data:`SETTLE_ROWS` at
a time. Both limits grow with the orders' files beyond about 2 GB (:func:`memory_limits`).
"""

from __future__ import annotations

import codecs
import re
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.config import Config
from helpers.data.clean import (
    DATE_COLUMNS,
    EXCEL_ZERO,
    FLOAT_COLUMNS,
    ID_COLUMNS,
    INT_COLUMNS,
    INVISIBLE,
    SCIENTIFIC_ID,
    WHITESPACE,
    _formats_text,
    join_keys,
    normalise_ids,
    parse_dates,
    parse_numbers,
)
from helpers.data.csv_files import read_notes
from helpers.data.inputs import SourceError
from helpers.data.ledger import Ledger
from helpers.data.locate import LOCATION
from helpers.data.mapping import KEYS, SourceReader, _referenced, join_right, needed_columns
from helpers.data.read import (
    CSV_SUFFIXES,
    check_columns,
    read_file,
    same_layout,
    source_files,
    source_spec,
)
from helpers.data.sniff import detect_encoding, file_kind, head_bytes, layout
from helpers.data.sources import Source

CUSTOMERS_K = 1000  # the customers' sources are numbered from here (the orders' from 0)
MEMORY_LIMIT = "512MB"  # DuckDB's own limit; it spills to its temporary folder beyond it
RESTING_LIMIT = "64MB"  # while pandas works on the customers (:meth:`OrdersEngine.rest`)
# in :meth:`OrdersEngine.finish`, beside the customers pandas now holds (no CSV buffers to
# fit: the final sort spills a little more instead)
FINISH_LIMIT = "256MB"
# Beyond a few GB of orders (100M lines) DuckDB joins millions of distinct values (amounts,
# coordinates, customers) that must fit in its memory: both limits grow with the orders'
# files, by this share of their size, up to MAX_LIMIT_MB.
LIMIT_SHARE = 0.25
MAX_LIMIT_MB = 2048
THREADS = 2
SETTLE_ROWS = 50_000  # rows set aside that come to pandas at once (:meth:`OrdersEngine._settle`)
# DuckDB reads CSV in buffers of 16 lines of this size per thread: 16 MB lines would ask for
# 256 MB buffers (over memory_limit: the read failed and pandas took the file). A longer
# line fails the read and the pandas reader takes the file.
MAX_LINE_BYTES = 2 << 20
_ASCII_WS = "".join(c for c in WHITESPACE if c.isascii())
# the columns of a table read (``f_k_j``) that are not the file's own
_BOOKKEEPING = ("_line", "_issue", "_text", "_hash", "_blank")


# --------------------------------------------------------------------------- choosing


def engine_unsupported(config: Config) -> str | None:
    """Why the orders and customers of ``config`` cannot go through DuckDB (None: they can)."""
    for source in config.sources.get("customers", []) + config.sources.get("orders", []):
        for canon, spec in source.columns.items():
            if not isinstance(spec, str) and spec.expr is not None:
                return (f"source '{source.name}': columns.{canon} is an expression "
                        "(expr), evaluated by pandas only")
    for source in config.sources.get("orders", []):
        if config.geography.customer_location != "none" and (
                {"lat", "lon"} & set(source.columns)):
            return (f"source '{source.name}': ship-to coordinates (lat, lon) with "
                    "geography.customer_location, chosen by pandas only")
    return None


def orders_bytes(config: Config) -> int:
    """The size of the orders' input files (their own files, not joins)."""
    total = 0
    for source in config.sources.get("orders", []):
        try:
            total += sum(p.stat().st_size for p in source_files(source, config.data_dir))
        except (SourceError, OSError):
            pass  # the reader names a missing file
    return total


def choose_engine(config: Config) -> dict:
    """Where the orders are prepared: ``{"path": "pandas" | "duckdb", "reason": ...,
    "orders_mb": ...}`` from ``prep.engine`` and, when ``auto``, the size of the orders'
    files against ``prep.engine_min_mb``."""
    setting, limit = config.prep.engine, config.prep.engine_min_mb
    mb = round(orders_bytes(config) / 1e6, 1)
    record = {"setting": setting, "orders_mb": mb}
    if setting == "pandas":
        return {**record, "path": "pandas", "reason": "prep.engine: pandas"}
    if setting == "auto" and mb < limit:
        return {**record, "path": "pandas",
                "reason": f"orders files {mb:,} MB < prep.engine_min_mb {limit:,}"}
    why = engine_unsupported(config)
    if why is not None:
        return {**record, "path": "pandas", "reason": f"DuckDB path not possible: {why}"}
    reason = ("prep.engine: duckdb" if setting == "duckdb" else
              f"orders files {mb:,} MB >= prep.engine_min_mb {limit:,}")
    return {**record, "path": "duckdb", "reason": reason}


# --------------------------------------------------------------------------- SQL pieces


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def lit(value) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def clean_text_sql(expr: str) -> str:
    """SQL twin of :func:`helpers.data.read._clean_text`: surrounding white space
    (:data:`~helpers.data.clean.WHITESPACE`) trimmed, empty text as NULL."""
    # trimming with a set is slow: only when an end is white space (or the text is empty:
    # ''[1] is ''). The first and last characters as [1] and [-1]: a quarter less CPU than
    # left(, 1) and right(, 1) (the read of every column of every CSV goes through this)
    ws = lit(WHITESPACE)
    return (f"CASE WHEN contains({ws}, {expr}[1]) OR contains({ws}, {expr}[-1]) "
            f"THEN nullif(trim({expr}, {ws}), '') ELSE {expr} END")


def _row_hash(columns: list[str]) -> str:
    """The column ``_hash``: one hash of a row's values as read (exact duplicates are looked
    for among the rows whose hash repeats)."""
    return f"hash({', '.join(q(c) for c in columns)}) AS _hash"


def ascii_ids_sql(expr: str) -> str:
    """SQL twin of :func:`helpers.data.clean.normalise_ids` for ASCII text (non-ASCII
    ids are normalised in Python, once per distinct value)."""
    ws = lit(_ASCII_WS)
    trimmed = (f"CASE WHEN contains({ws}, left({expr}, 1)) OR contains({ws}, right({expr}, 1)) "
               f"THEN trim({expr}, {ws}) ELSE {expr} END")
    return (f"nullif(CASE WHEN contains({expr}, '.0') THEN regexp_replace({trimmed}, "
            rf"'^(-?[0-9]+)\.0+$', '\1') ELSE {trimmed} END, '')")


def ascii_join_keys_sql(expr: str) -> str:
    """SQL twin of :func:`helpers.data.clean.join_keys` for ASCII text."""
    return rf"regexp_replace({ascii_ids_sql(expr)}, '^0+([0-9])', '\1')"


def is_ascii_sql(expr: str) -> str:
    return f"(strlen({expr}) = length({expr}))"


def memory_limits(orders_bytes: int) -> tuple[str, str]:
    """DuckDB's memory limit while reading and typing, and in :meth:`OrdersEngine.finish`:
    :data:`MEMORY_LIMIT` and :data:`FINISH_LIMIT`, or :data:`LIMIT_SHARE` of the orders'
    files when that is more (at most :data:`MAX_LIMIT_MB`)."""
    share = min(int(orders_bytes * LIMIT_SHARE / 2**20), MAX_LIMIT_MB)
    return tuple(f"{max(int(limit[:-2]), share)}MB" for limit in (MEMORY_LIMIT, FINISH_LIMIT))


def connect(folder: Path, limit: str = MEMORY_LIMIT):
    """A DuckDB database in ``folder`` with bounded memory and two threads."""
    import duckdb

    con = duckdb.connect()  # in memory; beyond memory_limit it spills to temp_directory
    con.execute(f"SET memory_limit = '{limit}'")
    con.execute(f"SET threads = {THREADS}")
    con.execute(f"SET temp_directory = {lit(folder / 'spill')}")
    con.execute("SET preserve_insertion_order = true")
    return con


def _python_map(con, name: str, values_sql: str, func) -> str:
    """Register ``name`` (value, result): ``func`` applied once to the distinct values
    ``values_sql`` returns (a Series in, a Series out). Returns ``name``."""
    import pyarrow as pa

    values = con.execute(values_sql).to_arrow_table().column(0).to_pylist()
    series = pd.Series(values, dtype="string")
    result = func(series) if len(series) else pd.Series([], dtype="string")
    table = pa.table({"value": pa.array(series.to_numpy(dtype=object, na_value=None),
                                        type=pa.string()),
                      "result": pa.array(result.astype("string").to_numpy(
                          dtype=object, na_value=None), type=pa.string())})
    con.register(f"_{name}", table)
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _{name}")
    con.unregister(f"_{name}")
    return name


# --------------------------------------------------------------------------- the result


class ParquetTable:
    """A canonical table the engine wrote as Parquet and did not read into pandas.

    ``path`` is the file, ``rows`` its rows; :meth:`frame` reads it (the pandas
    dtypes are kept in the file's schema). The temporary folder holding it goes with
    the object.
    """

    def __init__(self, path: Path, rows: int, columns: list[str], folder: Path | None = None):
        self.path, self.rows, self.columns = Path(path), int(rows), list(columns)
        if folder is not None:
            self._cleanup = weakref.finalize(self, shutil.rmtree, str(folder), True)

    @classmethod
    def of(cls, path: Path) -> ParquetTable:
        """The table of a Parquet file, from its footer (rows and column names; no data read)."""
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(path).metadata
        return cls(path, meta.num_rows, meta.schema.to_arrow_schema().names)

    def __len__(self) -> int:
        return self.rows

    def __getitem__(self, column: str) -> pd.Series:
        """One column, read alone from the file (e.g. ``order_date`` for the period)."""
        if column not in self.columns:
            raise KeyError(f"{self.path.name} has no column {column!r}")
        return pd.read_parquet(self.path, columns=[column])[column]

    def frame(self) -> pd.DataFrame:
        return pd.read_parquet(self.path)


@dataclass
class _Step:
    """One reason to set a row aside, in the order the pandas path checks them."""

    sql: str            # the reason text when the row is set aside, else NULL
    reasons: list[str]  # the reasons it can give
    column: str | None = None
    raw: str | None = None      # the column holding the value as read, shown in the quarantine
    rule: bool = False
    shown_as: str | None = None
    formats: list[str] | None = None


# --------------------------------------------------------------------------- the engine


class OrdersEngine:
    """The orders of one build, inside DuckDB: :meth:`stage` (read, map, type: where
    ``read_table`` runs on the pandas path), :meth:`ship_to`, :meth:`remap` and
    :meth:`finish` (the table rules, the ledger, ``orders.parquet``)."""

    def __init__(self, config: Config, reader: SourceReader, ledger: Ledger, notes: list[str]):
        self.config, self.reader, self.ledger, self.notes = config, reader, ledger, notes
        self.folder = Path(tempfile.mkdtemp(prefix="prep_duckdb_"))
        self.limits = memory_limits(orders_bytes(config))
        self.con = connect(self.folder, self.limits[0])
        self.sources: list[tuple[Source, list[_Step], list[str]]] = []
        self.pandas_files: list[str] = []
        self.target: pd.Series | None = None
        self.dropped: dict[int, list[str]] = {}  # per source: the tables read, dropped once typed
        self.rows_per_file: dict[int, list[tuple[str, int]]] = {}  # per source: rows in t_k
        self.file_columns: dict[int, set[str]] = {}
        self.read_facts: dict[int, dict] = {}  # per source: facts on ids' columns (_read_duckdb)
        self.hashes: dict[int, str] = {}  # per source: SQL of its rows' ``_hash`` (blank too)
        self.read_rows: dict[int, dict[str, int]] = {}  # per source: rows of raw_k per file
        self.lookups: dict[str, list[str]] = {}  # per view: the joins of its reason tables

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def rest(self) -> None:
        """While pandas works on the customers, DuckDB keeps :data:`RESTING_LIMIT` in memory
        (its tables go to its temporary folder); :meth:`finish` gives it
        :data:`FINISH_LIMIT` (:func:`memory_limits`)."""
        self.con.execute(f"SET memory_limit = '{RESTING_LIMIT}'")

    def record(self) -> dict:
        """What the engine did, for ``prep.json``."""
        return {"files_read_by_pandas": self.pandas_files}

    # ----------------------------------------------------------------- reading

    def _read_duckdb(self, path: Path, spec, table: str, fileno: int,
                     ids: tuple[str, ...] = (), facts: dict | None = None) -> int | None:
        """Read one CSV with DuckDB's strict reader into ``table``; the number of the
        first data line, or None when the pandas reader must take the file. For the
        columns ``ids`` (ids' columns), what the scan that checks the file also tells is
        put in ``facts`` (column -> [every value ASCII, a value holds '.0', a value looks
        like scientific notation], over the files read so far)."""
        suffix = path.suffix.lower()
        if suffix not in CSV_SUFFIXES or not path.exists():
            return None
        head = head_bytes(path)
        if not head.strip() or file_kind(head) != "text":
            return None
        auto = spec.encoding.lower() == "auto"
        encoding = detect_encoding(head) if auto else spec.encoding
        name = codecs.lookup(encoding).name
        if name.startswith(("utf-16", "utf-32")):
            return None
        delimiter, skip, names = layout(head.decode(encoding, errors="replace"), spec, path)
        source = path
        if name not in ("utf-8", "utf-8-sig"):
            source = self.folder / f"utf8_{fileno}.csv"
            try:
                _transcode(path, encoding, source)
            except UnicodeDecodeError:
                return None
        quotes, blank = _scan(source)
        if blank:
            return None
        notes: list[str] = []
        columns = check_columns(names, [], path, spec, notes)
        struct = "{" + ", ".join(f"{lit(f'c{i}')}: 'VARCHAR'" for i in range(len(names))) + "}"
        select = ", ".join(f"{clean_text_sql(q(f'c{i}'))} AS {q(c)}"
                           for i, c in enumerate(columns))
        # a blank row: every field empty as read (a field of whitespace is text, as on the
        # pandas path: the row is read, then its empty values are set aside)
        blank = " AND ".join(f"nullif({q(f'c{i}')}, '') IS NULL" for i in range(len(names)))
        try:
            self.con.execute(
                f"CREATE TABLE {table} AS SELECT *, {_row_hash(columns)} FROM (SELECT {select}, "
                f"{blank} AS _blank FROM read_csv({lit(source)}, "
                f"header = false, skip = {skip + 1}, delim = {lit(delimiter)}, quote = '\"', "
                f"escape = '\"', columns = {struct}, auto_detect = false, strict_mode = true, "
                f"null_padding = false, max_line_size = {MAX_LINE_BYTES}))")
        except Exception:  # noqa: BLE001 - duckdb raises several types: pandas reads it
            self.con.execute(f"DROP TABLE IF EXISTS {table}")
            return None
        checks = []
        if quotes:
            checks += [f"bool_or(contains({q(c)}, chr(10)))" for c in columns]
        checks += [f"max(strlen({q(c)})) > {int(spec.max_chars)}" for c in
                   (spec.need or columns) if c in columns]  # bytes: at least the characters
        ids = [c for c in dict.fromkeys(ids) if c in columns]
        found = [f"coalesce({agg}, {default})" for c in ids for agg, default in (
            (f"bool_and({is_ascii_sql(q(c))})", "true"), (f"bool_or(contains({q(c)}, '.0'))", "false"),
            (f"bool_or(contains({q(c)}, '+') AND regexp_matches({q(c)}, {lit(SCIENTIFIC_ID)}))",
             "false"))]
        row = self.con.execute(f"SELECT {', '.join(checks + found)} FROM {table}").fetchone() \
            if checks or found else ()
        if any(row[:len(checks)]):
            self.con.execute(f"DROP TABLE {table}")
            return None
        if facts is not None:
            for i, c in enumerate(ids):
                ascii_only, dot_zero, scientific = row[len(checks) + 3 * i:len(checks) + 3 * i + 3]
                was = facts.get(c, [True, False, False])
                facts[c] = [was[0] and ascii_only, was[1] or dot_zero, was[2] or scientific]
        self.notes += notes
        read_notes(path, spec, self.notes, encoding=encoding, detected=auto, bad={},
                   delimiter=delimiter, skip=skip)
        return skip + 2

    def _read_source(self, source: Source, k: int, need: tuple[str, ...]) -> list[str]:
        """The raw rows of ``source`` in table ``raw_k`` (columns as read, ``_ord``,
        ``_line``, ``_file``, ``_issue``, ``_text``); returns the raw column names."""
        spec = source_spec(source, need, self.config.prep.max_field_chars)
        paths = source_files(source, self.config.data_dir)
        ids = tuple(source.columns[c] for c in ID_COLUMNS
                    if isinstance(source.columns.get(c), str))
        self.read_facts[k] = {}
        parts, layouts, hashes, counts = [], [], [], []
        for j, path in enumerate(paths):
            table = f"f_{k}_{j}"
            first = self._read_duckdb(path, spec, table, j, ids, self.read_facts[k])
            if first is None:
                frame = read_file(path, spec, self.notes)
                self.pandas_files.append(str(path))
                frame = frame.drop(columns="_file")
                for col in ("_issue", "_text"):
                    if col not in frame:
                        frame[col] = pd.Series(pd.NA, index=frame.index, dtype="string")
                import pyarrow as pa
                arrow = pa.Table.from_pandas(frame.astype({c: "string" for c in frame.columns
                                                           if c != "_line"}),
                                             preserve_index=False)
                self.con.register("_frame", arrow)
                read = [c for c in frame.columns if c not in _BOOKKEEPING]
                self.con.execute(f"CREATE TABLE {table} AS SELECT *, {_row_hash(read)} "
                                 "FROM _frame")
                self.con.unregister("_frame")
                del frame, arrow
                line = "_line"
            else:
                line = f"rowid + {first}"
            columns = [r[0] for r in self.con.execute(f"DESCRIBE {table}").fetchall()]
            raw = [c for c in columns if c not in _BOOKKEEPING]
            layouts.append(raw)
            issue = "_issue" if "_issue" in columns else "NULL::VARCHAR"
            text = "_text" if "_text" in columns else "NULL::VARCHAR"
            blank = "_blank" if "_blank" in columns else (
                " AND ".join(f"{q(c)} IS NULL" for c in raw) or "false")
            counts.append((table, path.name, blank))
            hashes.append(f"SELECT _hash FROM {table}"
                          + (" WHERE _issue IS NULL" if "_issue" in columns else ""))
            parts.append((table, raw, f"SELECT {', '.join(q(c) for c in raw)}, "
                          f"(rowid + {j << 40})::BIGINT AS _ord, ({line})::BIGINT AS _line, "
                          f"{lit(path.name)} AS _file, {issue}::VARCHAR AS _issue, "
                          f"{text}::VARCHAR AS _text, _hash FROM {table} WHERE NOT ({blank})"))
        same_layout(source, paths, layouts)
        self.con.execute(f"CREATE VIEW raw_{k} AS " + " UNION ALL ".join(p for _, _, p in parts))
        self.dropped[k] = [table for table, _, _ in parts]
        # the rows' hashes straight from the tables read: blank rows (not in raw_k) too, so
        # at most more hashes repeat (rows are then compared value by value), none fewer
        self.hashes[k] = " UNION ALL ".join(hashes)
        # the rows of raw_k per file: each table's rows less its blank ones (counted from
        # the tables' statistics where no column is all empty, not by a scan of raw_k)
        self.read_rows[k] = {}
        for table, name, blank in counts:
            rows = self.con.execute(f"SELECT (SELECT count(*) FROM {table}) - "
                                    f"(SELECT count(*) FROM {table} WHERE {blank})").fetchone()[0]
            self.read_rows[k][name] = self.read_rows[k].get(name, 0) + rows
        # the columns DuckDB read and trimmed (none when the pandas reader took a file: it may
        # cut an over-long value short)
        self.file_columns[k] = set(layouts[0]) if not any(
            str(p) in self.pandas_files for p in paths) else set()
        return layouts[0]

    # ----------------------------------------------------------------- one source

    def stage(self) -> None:
        """Read, merge exact duplicates, join, filter, map and type every orders source
        (what ``read_table`` does on the pandas path), counting in the ledger."""
        for k, source in enumerate(self.config.sources.get("orders", [])):
            self.sources.append(self._stage_source(source, k, "orders"))

    def _stage_source(self, source: Source, k: int, table: str
                      ) -> tuple[Source, list[_Step], list[str]]:
        con, ledger = self.con, self.ledger
        raw_cols = self._read_source(source, k, needed_columns(source))
        for file, rows in self.read_rows.pop(k).items():
            ledger.add(table, source.name, file, "read", rows)
        steps: list[_Step] = []
        issues = [r[0] for r in con.execute(
            f"SELECT DISTINCT _issue FROM raw_{k} WHERE _issue IS NOT NULL").fetchall()]
        if issues:
            steps.append(_Step("r._issue", issues, raw="_text", shown_as="line text"))
        # exact duplicates: rows the reader took, identical in every column; only rows whose
        # hash (``_hash``, made as the file was read) repeats are compared value by value
        cols = ", ".join(q(c) for c in raw_cols)
        con.execute(f"""CREATE TABLE dup_{k} AS
            WITH c AS (SELECT _hash FROM ({self.hashes.pop(k)}) GROUP BY _hash
                       HAVING count(*) > 1),
                 rows AS (SELECT _ord, _file, row_number() OVER (PARTITION BY {cols}
                                                                 ORDER BY _ord) AS n
                          FROM raw_{k} WHERE _issue IS NULL AND _hash IN (SELECT _hash FROM c))
            SELECT _ord, _file FROM rows WHERE n > 1""")
        for file, rows in con.execute(f"SELECT _file, count(*) FROM dup_{k} GROUP BY _file "
                                      "ORDER BY min(_ord)").fetchall():
            ledger.add(table, source.name, file, "merged", rows, "exact duplicate row")
        # joins
        from_sql = f"(SELECT * FROM raw_{k} WHERE _ord NOT IN (SELECT _ord FROM dup_{k})) r"
        present = list(raw_cols)
        for i, join in enumerate(source.joins):
            right = join_right(join, self.reader.join(join, source), source, present)
            new = [c for c in right.columns if not c.startswith("_k")]
            import pyarrow as pa
            right = right.astype({c: "string" for c in right.columns
                                  if not pd.api.types.is_numeric_dtype(right[c])})
            con.register("_right", pa.Table.from_pandas(right, preserve_index=False))
            con.execute(f"CREATE TABLE j_{k}_{i} AS SELECT * FROM _right")
            con.unregister("_right")
            conds, looks = [], []
            for n, key in enumerate(join.left_keys):
                lk = _python_map(con, f"jk_{k}_{i}_{n}",
                                 f"SELECT DISTINCT {q(key)} FROM raw_{k} WHERE "
                                 f"{q(key)} IS NOT NULL AND NOT {is_ascii_sql(q(key))}",
                                 join_keys)
                expr = (f"CASE WHEN {is_ascii_sql('r.' + q(key))} THEN "
                        f"{ascii_join_keys_sql('r.' + q(key))} ELSE lk{n}.result END")
                looks.append(f"LEFT JOIN {lk} lk{n} ON lk{n}.value = r.{q(key)}")
                conds.append(f"j{i}._k{n} = {expr}")
            from_sql = (f"(SELECT r.*, {', '.join(f'j{i}.{q(c)}' for c in new)} FROM {from_sql} "
                        f"{' '.join(looks)} "
                        f"LEFT JOIN j_{k}_{i} j{i} ON {' AND '.join(conds)}) r")
            present += new
        missing = sorted(c for c in _referenced(source) if c not in present)
        if missing:
            shown = [c for c in present if not c.startswith("_")]
            raise SourceError(f"source '{source.name}' ({source.file_label}): column(s) "
                              f"{missing} not found; after joins it has {shown}")
        con.execute(f"CREATE VIEW j_{k} AS SELECT * FROM {from_sql}")
        # filters (on the columns of the file, or the canonical column's source column)
        for n, rule in enumerate(source.filters):
            spec = source.columns.get(rule.column)
            column = spec if isinstance(spec, str) else rule.column
            if column not in present:
                raise SourceError(f"source '{source.name}': filter column {rule.column!r} is "
                                  "neither a mapped canonical column nor a column of the file")
            listed = rule.in_ if rule.in_ is not None else rule.not_in
            inside = f"coalesce({q(column)} IN ({', '.join(lit(v) for v in listed)}), false)" \
                if listed else "false"
            drop = f"NOT {inside}" if rule.in_ is not None else inside
            values = [r[0] for r in con.execute(
                f"SELECT DISTINCT coalesce({q(column)}, '(empty)') FROM j_{k} WHERE {drop}"
            ).fetchall()]
            word = "not in" if rule.in_ is not None else "in"
            reasons = {v: (f"{rule.reason} ({rule.column} {v!r})" if rule.reason else
                           f"{rule.column} {v!r} {word} filter {listed}") for v in sorted(values)}
            steps.append(_Step(self._lookup(f"fr_{k}_{n}", reasons, f"coalesce(r.{q(column)}, "
                                            "'(empty)')", drop, f"m_{k}"), list(reasons.values()),
                               column=rule.column, rule=True))
        # the mapping, in the order of the columns
        mapped = {}
        for canon, spec in source.columns.items():
            if isinstance(spec, str):
                mapped[canon] = f"r.{q(spec)}"
            elif spec.const is not None:
                mapped[canon] = lit(str(spec.const))
            else:
                parts = re.split(r"(\{[^{}]+\})", spec.template)
                pieces = [f"coalesce(r.{q(p[1:-1])}, '')" if p.startswith("{") and p.endswith("}")
                          else lit(p) for p in parts if p]
                mapped[canon] = "(" + " || ".join(pieces or ["''"]) + ")"
        con.execute(f"CREATE VIEW m_{k} AS SELECT r._ord, r._line, r._file, r._issue, r._text, "
                    + ", ".join(f"{expr} AS {q('_m_' + c)}" for c, expr in mapped.items())
                    + (", " + ", ".join(f"({s.sql}) AS _s{n}" for n, s in enumerate(steps))
                       if steps else "")
                    + f" FROM j_{k} r " + " ".join(self.lookups.get(f"m_{k}", [])))
        return self._type_source(source, k, list(mapped), steps, table)

    def _lookup(self, name: str, reasons: dict[str, str], key_sql: str, when: str,
                view: str) -> str:
        """SQL giving the reason of ``reasons`` (value -> reason) for ``key_sql`` where
        ``when``: a table joined in ``view`` (a correlated subquery would make DuckDB keep
        every row of the view for a dependent join)."""
        import pyarrow as pa

        self.con.register("_l", pa.table({"_lv": pa.array(list(reasons), pa.string()),
                                          "_lr": pa.array(list(reasons.values()), pa.string())}))
        self.con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _l")
        self.con.unregister("_l")
        self.lookups.setdefault(view, []).append(f"LEFT JOIN {name} ON {name}._lv = {key_sql}")
        return f"CASE WHEN {when} THEN {name}._lr END"

    def _type_source(self, source: Source, k: int, canon: list[str], steps: list[_Step],
                     table: str) -> tuple[Source, list[_Step], list[str]]:
        """Ids, dates and numbers of one mapped source (``m_k``), into ``t_k`` with the
        reasons of step 1 (``_r1``).

        Work that a column turns out not to need is left out: one scan first tells, per
        id column, whether every value is ASCII (then no Python map and no join), holds
        ``.0`` (a float id) and how many values hold invisible characters or look like
        scientific notation (the notes). Dates and numbers are parsed once per distinct
        value from one ``GROUP BY`` each, which also gives their notes; the typed table is
        then made in one scan with the values computed once (inner query) and the reasons
        over them (outer query)."""
        con, notes, config = self.con, self.notes, self.config
        m = f"m_{k}"
        typed = {c: f"m.{q('_m_' + c)}" for c in canon}
        inner: dict[str, str] = {}   # helper columns computed once in the inner query
        joins: list[str] = []
        # the earlier reasons as one column each, kept
        early = [f"m._s{n}" for n in range(len(steps))]
        # ids: ASCII in SQL, the rest in Python once per distinct value
        ids = [c for c in ID_COLUMNS if c in canon]
        # a column mapped straight from the file's own text is trimmed already (no empty text)
        clean = {c for c in canon if isinstance(source.columns.get(c), str)
                 and source.columns[c] in self.file_columns[k]}
        facts: dict[str, tuple] = {}
        for col in ids:
            # what the read told of every row of the files (more rows than m_k's: a value
            # '.0' may be in a duplicate only, the regexp then just finds none to change):
            # all ASCII and nothing like scientific notation -> no invisible characters and
            # no scientific ids in m_k either; else m_k is scanned
            read = self.read_facts.get(k, {}).get(source.columns[col]) if col in clean else None
            if read is not None and read[0] and not read[2]:
                facts[col] = (True, read[1], 0, 0)
        scan = [c for c in ids if c not in facts]
        if scan:
            aggs = []
            for col in scan:
                raw = q("_m_" + col)
                aggs += [f"coalesce(bool_and({is_ascii_sql(raw)}), true)",
                         f"coalesce(bool_or(contains({raw}, '.0')), false)",
                         f"count(*) FILTER (NOT {is_ascii_sql(raw)} AND "
                         f"regexp_matches({raw}, {lit(INVISIBLE)}))",
                         f"count(*) FILTER (contains({raw}, '+') AND "
                         f"regexp_matches({raw}, {lit(SCIENTIFIC_ID)}))"]
            row = con.execute(f"SELECT {', '.join(aggs)} FROM {m}").fetchone()
            facts.update({col: row[4 * i:4 * i + 4] for i, col in enumerate(scan)})
        for col in ids:
            raw = q("_m_" + col)
            ascii_only, dot_zero, hidden, scientific = facts[col]
            self._id_notes(source, m, col, hidden, scientific)
            if col in clean:
                expr = (f"CASE WHEN contains(m.{raw}, '.0') THEN regexp_replace(m.{raw}, "
                        rf"'^(-?[0-9]+)\.0+$', '\1') ELSE m.{raw} END" if dot_zero else f"m.{raw}")
            else:
                expr = ascii_ids_sql("m." + raw)
            if not ascii_only:
                ids_map = _python_map(con, f"id_{k}_{col}", f"SELECT DISTINCT {raw} FROM {m} "
                                      f"WHERE {raw} IS NOT NULL AND NOT {is_ascii_sql(raw)}",
                                      normalise_ids)
                joins.append(f"LEFT JOIN {ids_map} ON {ids_map}.value = m.{raw}")
                expr = (f"CASE WHEN {is_ascii_sql('m.' + raw)} THEN {expr} "
                        f"ELSE {ids_map}.result END")
            inner[f"_t_{col}"] = expr
            typed[col] = f"m.{q('_t_' + col)}"
        new_steps = list(steps)
        key = KEYS[table]
        if key in canon:
            new_steps.append(_Step(f"CASE WHEN ({typed[key]}) IS NULL THEN {lit(key + ' is empty')} END",
                                   [f"{key} is empty"], column=key))
        # dates and numbers: the distinct values of every such column from one scan
        year = config.prep.earliest_year
        import pyarrow as pa
        numeric = [c for c in INT_COLUMNS + FLOAT_COLUMNS + ("amount",) if c in canon]
        distincts = self._distinct(m, [c for c in DATE_COLUMNS if c in canon] + numeric)
        for col in [c for c in DATE_COLUMNS if c in canon]:
            raw = q("_m_" + col)
            fmt = source.dates.get(col)
            values, counts, first = distincts[col]
            distinct = pd.Series(values, dtype="string")
            parsed, used, beyond = parse_dates(distinct, fmt)
            beyond = np.asarray(beyond, dtype="int8")
            if fmt is None and values:
                got = int(counts[parsed.notna().to_numpy()].sum())
                notes.append(f"{source.name}: {col}: no format configured; inferred "
                             f"{used or 'none found'!r} ({got} of {int(counts.sum())} values "
                             "parse)")
            required = table == "orders" and col == "order_date"
            if not required:  # left empty with a note (to_dates): unparsed, early, late
                parsed = self._date_notes(source, col, distinct, counts, first, parsed, used,
                                          beyond)
            dates = f"d_{k}_{col}"
            con.register("_d", pa.table({
                "value": pa.array(values, type=pa.string()),
                "parsed": pa.array(parsed.to_numpy(), type=pa.timestamp("ns"),
                                   mask=parsed.isna().to_numpy()),
                "beyond": pa.array(beyond)}))
            con.execute(f"CREATE TABLE {dates} AS SELECT * FROM _d")
            con.unregister("_d")
            joins.append(f"LEFT JOIN {dates} ON {dates}.value = m.{raw}")
            inner[f"_t_{col}"] = f"{dates}.parsed"
            if not required:
                typed[col] = f"m.{q('_t_' + col)}"
                continue
            inner[f"_b_{col}"] = f"coalesce({dates}.beyond, 0)"
            ts = f"m.{q('_t_' + col)}"
            bey = f"m.{q('_b_' + col)}"
            typed[col] = ts
            early_ts = lit(pd.Timestamp(year=year, month=1, day=1))
            mismatch = f"{col} does not match {_formats_text(used)}"
            formats = [] if used is None else [used] if isinstance(used, str) else list(used)
            new_steps += [
                _Step(f"CASE WHEN m.{raw} IS NULL THEN {lit(col + ' is empty')} END",
                      [f"{col} is empty"], column=col),
                _Step(f"CASE WHEN {bey} > 0 THEN {lit(col + ' in the future')} END",
                      [f"{col} in the future"], column=col, raw=f"_raw_{col}"),
                _Step(f"CASE WHEN {ts} < {early_ts}::TIMESTAMP_NS OR {bey} < 0 THEN "
                      f"{lit(f'{col} before {year} (prep.earliest_year)')} END",
                      [f"{col} before {year} (prep.earliest_year)"], column=col,
                      raw=f"_raw_{col}"),
                _Step(f"CASE WHEN {ts} IS NULL AND m.{raw} IS NOT NULL AND {bey} = 0 THEN "
                      f"{lit(mismatch)} END", [mismatch], column=col, raw=f"_raw_{col}",
                      formats=formats),
            ]
        # numbers: parsed once per distinct value; the notes from the counts per value
        for col in numeric:
            raw = q("_m_" + col)
            listed, counts, first = distincts[col]
            values = pd.Series(listed, dtype="string")
            number = (parse_numbers(values) if len(values) else pd.Series([], dtype="float64")
                      ).to_numpy(dtype="float64")
            nums = f"n_{k}_{col}"
            con.register("_n", pa.table({"value": pa.array(values.to_numpy(dtype=object),
                                                           type=pa.string()),
                                         "result": pa.array(number, from_pandas=True)}))
            con.execute(f"CREATE TABLE {nums} AS SELECT * FROM _n")
            con.unregister("_n")
            joins.append(f"LEFT JOIN {nums} ON {nums}.value = m.{raw}")
            if col == "amount" and table == "orders":
                inner[f"_t_{col}"] = f"{nums}.result"
                value = f"m.{q('_t_' + col)}"
                new_steps += [
                    _Step(f"CASE WHEN m.{raw} IS NULL THEN 'amount is empty' END",
                          ["amount is empty"], column=col),
                    _Step(f"CASE WHEN m.{raw} IS NOT NULL AND {value} IS NULL THEN "
                          "'amount is not a number' END",
                          ["amount is not a number"], column=col, raw=f"_raw_{col}"),
                    _Step(f"CASE WHEN coalesce(isinf({value}), false) THEN "
                          "'amount is not a finite number' END",
                          ["amount is not a finite number"], column=col, raw=f"_raw_{col}"),
                ]
                typed[col] = value
                continue
            bad, infinite = np.isnan(number), np.isinf(number)
            if bad.any():
                n_bad, bad_ex = int(counts[bad].sum()), values.iloc[_first(bad, first)]
                notes.append(f"{table}.{col}: {n_bad} value(s) are not numbers and "
                             f"were left empty (e.g. {bad_ex!r})")
            if infinite.any():
                n_inf, inf_ex = int(counts[infinite].sum()), values.iloc[_first(infinite, first)]
                notes.append(f"{table}.{col}: {n_inf} value(s) are not finite "
                             f"numbers and were left empty (e.g. {inf_ex!r})")
            finite = f"CASE WHEN isinf({nums}.result) THEN NULL ELSE {nums}.result END"
            if col in INT_COLUMNS:
                with np.errstate(invalid="ignore"):
                    frac = np.isfinite(number) & (number != np.floor(number))
                if frac.any():
                    at = _first(frac, first)
                    n_frac, ex, exn = int(counts[frac].sum()), values.iloc[at], number[at]
                    notes.append(f"{table}.{col}: {n_frac} value(s) have a fraction "
                                 f"and were rounded to whole numbers, as {col} holds whole "
                                 f"numbers (e.g. {ex!r} -> {np.round(exn):.0f})")
                inner[f"_t_{col}"] = f"round_even({finite}, 0)::BIGINT"
            else:
                inner[f"_t_{col}"] = finite
            typed[col] = f"m.{q('_t_' + col)}"
        raws = [s.raw for s in new_steps if s.raw and s.raw != "_text"]
        reason = "coalesce(" + ", ".join(
            [*early, *[f"({s.sql})" for s in new_steps[len(steps):]]]) + ")" if new_steps \
            else "NULL::VARCHAR"
        # the values as read are shown for rows these reasons set aside, kept for them only
        raw_sql = [f"CASE WHEN m._r1 IS NOT NULL THEN m.{q('_m_' + r.removeprefix('_raw_'))} "
                   f"END AS {q(r)}" for r in dict.fromkeys(raws)]
        extra = "".join(f", {expr} AS {q(name)}" for name, expr in inner.items())
        typed_sql = ", ".join(f"{expr} AS {q(c)}" for c, expr in typed.items())
        self.con.execute("SET preserve_insertion_order = false")  # t_k: in no order anyway
        try:
            self.con.execute(
                f"CREATE TABLE t_{k} AS SELECT m._ord, m._line, m._file, m._text, "
                + ", ".join(q(c) for c in typed) + "".join(f", {r}" for r in raw_sql)
                + f", m._r1 FROM (SELECT m.*, {typed_sql}, {reason} AS _r1 FROM "
                f"(SELECT m.*{extra} FROM {m} m {' '.join(joins)}) m) m")
        finally:
            self.con.execute("SET preserve_insertion_order = true")
        # (in no order: _ord orders wherever order matters)
        self.rows_per_file[k] = con.execute(f"SELECT _file, count(*) FROM t_{k} GROUP BY _file "
                                            "ORDER BY min(_ord)").fetchall()
        for view in (m, f"j_{k}", f"raw_{k}"):
            con.execute(f"DROP VIEW {view}")
        for name in self.dropped.pop(k, []):
            con.execute(f"DROP TABLE {name}")
        return source, new_steps, canon

    def _distinct(self, view: str, columns: list[str]) -> dict[str, tuple]:
        """Per column of ``view`` (its mapped ``_m_`` text): the distinct values (not NULL),
        how many rows hold each and the first such row (``_ord``), in the order of that
        first row; one ``GROUPING SETS`` scan for all the columns."""
        if not columns:
            return {}
        raws = [q("_m_" + c) for c in columns]
        sets = ", ".join(f"({r})" for r in raws)
        table = self.con.execute(
            f"SELECT grouping({', '.join(raws)}) AS _set, {', '.join(raws)}, count(*) AS _n, "
            f"min(_ord) AS _first FROM {view} GROUP BY GROUPING SETS ({sets})").to_arrow_table()
        frame = table.to_pandas(types_mapper={pa_string(): pd.StringDtype("pyarrow")}.get)
        out = {}
        width = len(columns)
        for i, col in enumerate(columns):
            raw = "_m_" + col
            mine = frame[(frame["_set"].to_numpy() == (1 << width) - 1 - (1 << (width - 1 - i)))
                         & frame[raw].notna().to_numpy()].sort_values("_first", kind="stable")
            out[col] = (mine[raw].tolist(), mine["_n"].to_numpy(dtype="int64"),
                        mine["_first"].to_numpy(dtype="int64"))
        return out

    def _date_notes(self, source: Source, col: str, values: pd.Series, counts: np.ndarray,
                    first: np.ndarray, parsed: pd.Series, used, beyond: np.ndarray) -> pd.Series:
        """The notes of :func:`helpers.data.clean.to_dates` on a date that is not required
        (values not parsed, before ``prep.earliest_year``, in the future: left empty), from
        the distinct ``values`` with their ``counts`` and ``first`` rows; the dates kept."""
        year = self.config.prep.earliest_year
        earliest = pd.Timestamp(year=year, month=1, day=1)
        tomorrow = pd.Timestamp.today().normalize() + pd.Timedelta(days=1)
        bad = (parsed.isna() & (beyond == 0)).to_numpy()
        early = ((parsed < earliest) | (beyond < 0)).to_numpy()
        late = ((parsed >= tomorrow) | (beyond > 0)).to_numpy()
        if bad.any():
            self.notes.append(f"{source.name}: {col}: {int(counts[bad].sum())} value(s) not in "
                              f"{_formats_text(used)} were left empty "
                              f"(e.g. {values.iloc[_first(bad, first)]!r})")
        if early.any():
            zero = parsed[early].dt.strftime("%Y-%m-%d").isin(EXCEL_ZERO).any()
            self.notes.append(
                f"{source.name}: {col}: {int(counts[early].sum())} value(s) before {year} "
                f"(prep.earliest_year) were left empty (e.g. "
                f"{values.iloc[_first(early, first)]!r})" + (
                    "; 1899-12-30 and 1900-01-00 are what Excel shows for an "
                    "empty date cell" if zero else ""))
        if late.any():
            self.notes.append(f"{source.name}: {col}: {int(counts[late].sum())} value(s) in the "
                              f"future were left empty (e.g. "
                              f"{values.iloc[_first(late, first)]!r})")
        return parsed.mask(early | late)

    def _id_notes(self, source: Source, m: str, col: str, hidden: int, scientific: int) -> None:
        """The notes of :func:`helpers.data.clean.id_notes` (invisible characters,
        scientific notation), counted in SQL (``hidden``, ``scientific``: how many)."""
        raw = q("_m_" + col)
        if hidden:
            lines = self.con.execute(
                f"SELECT list(_line ORDER BY _ord)[1:3] FROM {m} "
                f"WHERE regexp_matches({raw}, {lit(INVISIBLE)})").fetchone()[0]
            self.notes.append(f"{source.name}: {col}: {hidden} id(s) held invisible "
                              "characters (zero-width space, byte-order mark ...) that were "
                              f"removed (line(s) {', '.join(str(n) for n in lines)} ...)")
        if scientific:
            distinct, first = self.con.execute(
                f"SELECT count(DISTINCT {raw}), arg_min({raw}, _ord) FROM {m} "
                f"WHERE regexp_matches({raw}, {lit(SCIENTIFIC_ID)})").fetchone()
            self.notes.append(
                f"{source.name}: {col}: {scientific} id(s) look like numbers Excel wrote "
                f"in scientific notation ({distinct} distinct, e.g. {first!r}): "
                "their digits are lost and cannot be recovered, so rows that share one such id "
                f"are taken as one {col.removesuffix('_id')}; re-export the column formatted "
                "as text")

    # ----------------------------------------------------------------- customers

    def customers(self) -> tuple[pd.DataFrame, dict[tuple[str, str], int]]:
        """The customers read, typed and settled source by source (``read_table`` on the
        pandas path) and merged to one row per customer_id (:func:`helpers.data.identity.
        merge_customers`) inside DuckDB: the first non-empty value of each column in source
        and file order, ``source`` naming every source a customer came from. Returns the
        merged customers (one pandas row per customer, text as Arrow strings) and the rows
        merged into an earlier one per (source, file)."""
        import pyarrow as pa

        con = self.con
        staged, aside_per_source = [], []
        for i, source in enumerate(self.config.sources.get("customers", [])):
            k = CUSTOMERS_K + i
            source, steps, canon = self._stage_source(source, k, "customers")
            raws = [r[0] for r in con.execute(f"DESCRIBE t_{k}").fetchall()
                    if r[0].startswith("_raw_")]
            con.execute(f"CREATE VIEW s_{k} AS SELECT *, _r1 AS _reason FROM t_{k}")
            aside_per_source.append(self._settle(k, source, steps, canon, raws, "customers", "s"))
            con.execute(f"DROP VIEW s_{k}")
            staged.append((k, source, canon))
        if not staged:
            return pd.DataFrame(), {}
        # pandas' concat: the first source's columns, its bookkeeping, then new columns
        order = [c for c in staged[0][2] if c != "customer_id"] + ["_line", "_file", "_source"]
        order += [c for _, _, canon in staged[1:] for c in canon
                  if c not in order and c != "customer_id"]
        order = list(dict.fromkeys(order))
        # per source, one row per customer_id (rows of one id merged when it repeats there:
        # the first non-empty value of each column); then the sources joined on customer_id,
        # the first source's value where it has one (what groupby().first() gives)
        rows, joined, have = [], "", []
        for i, (k, source, canon) in enumerate(staged):
            aside = dict(aside_per_source[i])
            rows += [(source.name, f, n - aside.get(f, 0)) for f, n in self.rows_per_file[k]]
            cols = [c for c in canon if c != "customer_id"]
            base = (f"SELECT customer_id, ((({i}::BIGINT) << 56) + _ord) AS _g, _line, _file"
                    + "".join(f", {q(c)}" for c in cols) + f" FROM t_{k} WHERE _r1 IS NULL")
            n, distinct = con.execute(f"SELECT count(*), count(DISTINCT customer_id) "
                                      f"FROM t_{k} WHERE _r1 IS NULL").fetchone()
            if n > distinct:
                firsts = "".join(f", arg_min({q(c)}, _g) FILTER (WHERE {q(c)} IS NOT NULL) "
                                 f"AS {q(c)}" for c in cols)
                base = (f"SELECT customer_id, min(_g) AS _g, arg_min(_line, _g) AS _line, "
                        f"arg_min(_file, _g) AS _file{firsts} FROM ({base}) GROUP BY customer_id")
            con.execute(f"CREATE VIEW u_{i} AS {base}")
            on = f"s{i}.customer_id = coalesce({', '.join(f's{j}.customer_id' for j in range(i))})"
            joined += f"u_{i} s{i}" if not i else f" FULL JOIN u_{i} s{i} ON {on}"
            have.append(set(cols))

        def first(col: str, present: list[int]) -> str:
            values = [f"s{i}.{q(col)}" for i in present]
            return values[0] if len(values) == 1 else f"coalesce({', '.join(values)})"

        every = list(range(len(staged)))
        found = [f"s{i}.customer_id IS NOT NULL" for i in every]
        select = [f"{first('customer_id', every)} AS customer_id"]
        for c in order:
            if c == "_source":
                select.append("CASE " + " ".join(f"WHEN {f} THEN {lit(source.name)}" for f, (
                    _, source, _) in zip(found, staged, strict=True)) + " END AS _source")
            else:
                select.append(f"{first(c, every if c.startswith('_') else [i for i in every if c in have[i]])} AS {q(c)}")
        select.append(" + ".join(f"(({f})::BIGINT << {i})" for i, f in enumerate(found))
                      + " AS _from")
        merged = con.execute(f"SELECT {', '.join(select)} FROM {joined} "
                             f"ORDER BY {first('_g', every)}").to_arrow_table()
        for i in every:
            con.execute(f"DROP VIEW u_{i}")
        for k, _, _ in staged:
            con.execute(f"DROP TABLE t_{k}")
        customers = merged.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow"),
                                                   pa.int64(): pd.Int64Dtype()}.get)
        customers["_line"] = customers["_line"].astype("int64")
        # the sources a customer came from, in config order (crm, crm+erp, erp)
        names = [source.name for _, source, _ in staged]
        bits = customers.pop("_from").to_numpy()
        labels = {int(b): "+".join(n for j, n in enumerate(names) if int(b) >> j & 1)
                  for b in np.unique(bits)}
        customers["source"] = pd.Series(bits, index=customers.index).map(labels).astype("string")
        firsts_per_file = customers.groupby(["_source", "_file"], sort=False).size()
        repeated = {(s, f): n - int(firsts_per_file.get((s, f), 0)) for s, f, n in rows}
        return customers, {key: n for key, n in repeated.items() if n}

    def ship_columns(self) -> list[str]:
        """The location columns the orders map (ship-to)."""
        return [c for c in LOCATION if any(c in canon for _, _, canon in self.sources)]

    def ship_to(self, bare_ids: pd.Series, rule: str) -> pd.DataFrame:
        """SQL twin of :func:`helpers.data.locate.choose_ship_to` over the usable orders of
        ``bare_ids``; the chosen ship-to per customer (indexed by customer_id)."""
        import pyarrow as pa

        ship = self.ship_columns()
        self.con.register("_bare", pa.table({"customer_id": pa.array(
            bare_ids.astype("string").to_numpy(dtype=object, na_value=None), type=pa.string())}))
        self.con.execute("CREATE OR REPLACE TABLE bare AS SELECT DISTINCT * FROM _bare")
        self.con.unregister("_bare")
        union = " UNION ALL ".join(
            f"SELECT customer_id, order_date, _line, {k}::BIGINT AS _k, _ord, "
            + ", ".join(f"{q(c) if c in canon else 'NULL::VARCHAR'} AS {q(c)}" for c in ship)
            + f" FROM t_{k} WHERE _r1 IS NULL AND customer_id IN (SELECT customer_id FROM bare)"
            for k, (_, _, canon) in enumerate(self.sources))
        place = " || '|' || ".join(f"coalesce({q(c)}, '')" for c in ship)
        anyship = " OR ".join(f"{q(c)} IS NOT NULL" for c in ship)
        rows = f"(SELECT *, {place} AS _place FROM ({union}) WHERE {anyship})"
        cols = ", ".join(q(c) for c in ship)
        if rule == "most_frequent":
            sql = f"""WITH rows AS {rows},
                stats AS (SELECT customer_id, _place, count(*) AS n, max(order_date) AS last,
                                 arg_min(struct_pack({cols}), (_k, _ord)) AS v
                          FROM rows GROUP BY customer_id, _place)
                SELECT customer_id, unnest(v) FROM stats
                QUALIFY row_number() OVER (PARTITION BY customer_id
                                           ORDER BY n DESC, last DESC, _place) = 1"""
        else:
            way = "ASC" if rule == "first" else "DESC"
            sql = f"""SELECT customer_id, {cols} FROM {rows}
                QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY order_date {way},
                                           _line {way}, _place, _k, _ord) = 1"""
        chosen = self.con.execute(sql).to_arrow_table().to_pandas(
            types_mapper=lambda t: pd.StringDtype() if str(t) == "string" else None)
        return chosen.set_index("customer_id")[ship]

    def remap(self, target: pd.Series) -> None:
        """Orders of customers merged into another id move to that id
        (:func:`helpers.data.identity.duplicate_targets`)."""
        self.target = target

    # ----------------------------------------------------------------- the table rules

    def finish(self, customers: pd.DataFrame, folder: Path) -> ParquetTable:
        """The orders' table rules (``_prepare_orders`` on the pandas path), the rows set
        aside settled through the ledger, the kept orders written to
        ``folder / orders.parquet``."""
        import pyarrow as pa

        con = self.con
        give_back_memory()  # what pandas freed on the customers, before DuckDB takes its limit
        con.execute(f"SET memory_limit = '{self.limits[1]}'")
        con.register("_c", pa.table({
            c: pa.array(customers[c].astype("string").to_numpy(dtype=object, na_value=None),
                        type=pa.string()) for c in ("customer_id", "province", "territory")}))
        con.execute("CREATE OR REPLACE TABLE cust AS SELECT * FROM _c")
        con.unregister("_c")
        target = self.target if self.target is not None else pd.Series(dtype="string")
        con.register("_t", pa.table({"old": pa.array(list(target.index.astype(str)), pa.string()),
                                     "new": pa.array(list(target.astype(str)), pa.string())}))
        con.execute("CREATE OR REPLACE TABLE target AS SELECT * FROM _t")
        con.unregister("_t")
        tomorrow = pd.Timestamp.today().normalize() + pd.Timedelta(days=1)
        columns: list[str] = []
        selects = []
        for k, (source, steps, canon) in enumerate(self.sources):
            cols = [c for c in canon if c not in ("country", "city", "district", "address",
                                                   "lat", "lon")]
            columns += [c for c in cols if c not in columns]
            more = []
            if source.keep_status is not None and "status" in canon:
                drop = (f"NOT coalesce(o.status IN ({', '.join(lit(v) for v in source.keep_status)}),"
                        " false)") if source.keep_status else "true"
                values = [r[0] for r in con.execute(
                    f"SELECT DISTINCT coalesce(status, '(empty)') FROM t_{k} o WHERE {drop}"
                ).fetchall()]
                reasons = {v: f"status {v!r} not in keep_status" for v in sorted(values)}
                more.append(_Step(self._lookup(f"ks_{k}", reasons, "coalesce(o.status, '(empty)')",
                                               drop, f"o_{k}"), list(reasons.values()),
                                  column="status",
                                  rule=True))
            is_return = "false"
            amount = "o.amount"
            if source.returns is not None:
                if source.returns.column not in canon:
                    raise SourceError(f"source '{source.name}': returns.column "
                                      f"{source.returns.column!r} is not a mapped canonical "
                                      "column of the orders")
                hit = (f"coalesce(o.{q(source.returns.column)} IN "
                       f"({', '.join(lit(v) for v in source.returns.values)}), false)")
                if source.returns.action == "exclude":
                    why = "return excluded (returns.action: exclude)"
                    more.append(_Step(f"CASE WHEN {hit} THEN {lit(why)} END", [why],
                                      column=source.returns.column, rule=True))
                else:
                    is_return = hit
                    amount = f"CASE WHEN {hit} THEN -abs(o.amount) ELSE o.amount END"
            if source.zero_amount == "quarantine":
                more.append(_Step(f"CASE WHEN ({amount}) = 0 THEN 'amount is zero' END",
                                  ["amount is zero"], column="amount"))
            if source.negative_amount == "quarantine":
                why = "amount is negative (not a return)"
                more.append(_Step(f"CASE WHEN ({amount}) < 0 AND NOT {is_return} THEN "
                                  f"{lit(why)} END", [why], column="amount"))
            more.append(_Step("CASE WHEN c.customer_id IS NULL THEN 'unknown customer_id' END",
                              ["unknown customer_id"], column="customer_id"))
            more.append(_Step(f"CASE WHEN o.order_date >= {lit(tomorrow)}::TIMESTAMP_NS THEN "
                              "'order_date in the future' END", ["order_date in the future"],
                              column="order_date"))
            reason = "coalesce(o._r1, " + ", ".join(f"({s.sql})" for s in more) + ")"
            body = {c: f"o.{q(c)}" for c in canon}
            body["customer_id"] = "coalesce(tg.new, o.customer_id)"
            body["amount"] = amount
            raws = [r[0] for r in con.execute(f"DESCRIBE t_{k}").fetchall()
                    if r[0].startswith("_raw_")]
            selects.append((k, source, steps + more, canon, reason, body, raws))
        return self._write(selects, columns, folder)

    def _write(self, selects, columns, folder: Path) -> ParquetTable:
        """The rows set aside settled (one scan per source), the kept rows written by
        DuckDB's ``COPY`` straight to ``orders.parquet`` (one more scan, in file order)
        with the pandas schema of the canonical table in the file's metadata."""
        import json

        import pyarrow.parquet as pq

        con, ledger = self.con, self.ledger
        # as pandas' assign: a mapped (ship-to) province keeps its place, now the customer's
        out_cols = list(columns) + ([] if "province" in columns else ["province"])
        out_cols += ["territory", "source"]
        dtypes = {c: "string" for c in out_cols}
        dtypes.update({c: "float64" for c in FLOAT_COLUMNS if c in dtypes})  # discount ...
        dtypes.update({c: "Int64" for c in INT_COLUMNS if c in dtypes})
        dtypes.update({"order_date": "datetime64[ns]", "amount": "float64", "quantity": "Int64"})
        sql_types = {"string": "VARCHAR", "float64": "DOUBLE", "Int64": "BIGINT",
                     "datetime64[ns]": "TIMESTAMP_NS"}
        empty = pd.DataFrame({c: pd.Series(dtype=dtypes[c]) for c in out_cols})
        pandas_meta = pa_schema_metadata(empty)
        for k, source, steps, canon, reason, body, raws in selects:
            con.execute(f"""CREATE VIEW o_{k} AS SELECT o._ord, o._line, o._file, o._text,
                {', '.join(f'{e} AS {q(c)}' for c, e in body.items())},
                {''.join(f'o.{q(r)}, ' for r in raws)}
                c.province AS province_c, c.territory AS territory_c,
                {reason} AS _reason
                FROM t_{k} o LEFT JOIN target tg ON tg.old = o.customer_id
                LEFT JOIN cust c ON c.customer_id = coalesce(tg.new, o.customer_id)
                {' '.join(self.lookups.get(f"o_{k}", []))}""")
            aside = self._settle(k, source, steps, canon, raws)
            for file, rows in self.rows_per_file[k]:
                ledger.add("orders", source.name, file, "kept", rows - aside.get(file, 0))
        give_back_memory()  # the settling's temporaries, before the sort takes its memory
        path = folder / "orders.parquet"
        # the sort carries what differs from row to row; the source's name and the columns
        # no source maps are put in after it
        carried = [c for c in out_cols if c in ("province", "territory") or c != "source" and any(
            c in canon for _, _, _, canon, _, _, _ in selects)]
        many = len(selects) > 1
        sql = " UNION ALL ".join(
            "SELECT " + ", ".join(
                ("province_c" if c == "province" else "territory_c" if c == "territory"
                 else q(c) if c in canon else
                 "NULL") + f"::{sql_types[dtypes[c]]} AS {q(c)}" for c in carried)
            + (f", {k} AS _k" if many else "") + f", _ord FROM o_{k} WHERE _reason IS NULL"
            for k, source, _, canon, _, _, _ in selects)
        name = ("CASE _k " + " ".join(f"WHEN {k} THEN {lit(source.name)}"
                                      for k, source, *_ in selects) + " END") if many \
            else lit(selects[0][1].name) if selects else "NULL"
        after = {"source": name}
        outer = ", ".join(q(c) if c in carried else
                          f"{after.get(c, 'NULL')}::{sql_types[dtypes[c]]} AS {q(c)}"
                          for c in out_cols)
        # joins keep no order in DuckDB: the file order is asked for (a SELECT over the
        # ordered rows keeps their order)
        con.execute(f"COPY (SELECT {outer} FROM (SELECT * FROM ({sql}) ORDER BY "
                    f"{'_k, ' if many else ''}_ord)) TO {lit(path)} (FORMAT parquet, "
                    f"COMPRESSION snappy, KV_METADATA {{pandas: {lit(pandas_meta)}}})")
        meta = pq.ParquetFile(path).metadata
        names = [meta.schema.column(j).name for j in range(meta.num_columns)]
        problems = {c: sum(meta.row_group(i).column(names.index(c)).statistics.null_count
                           for i in range(meta.num_row_groups))
                    for c in ("order_id", "customer_id", "order_date", "amount") if c in names}
        if any(problems.values()):
            from helpers.data.schemas import ValidationFailed
            raise ValidationFailed("table 'orders': empty values in non-nullable columns: "
                                   + json.dumps({c: n for c, n in problems.items() if n}))
        return ParquetTable(path, meta.num_rows, out_cols)

    def _settle(self, k: int, source: Source, steps: list[_Step], canon: list[str],
                raws: list[str], table: str = "orders", view: str = "o") -> dict[str, int]:
        """The rows of source ``k`` (view ``{view}_{k}``, reason ``_reason``) set aside,
        through the ledger (counts and quarantine as on the pandas path); their number per
        file. They come to pandas :data:`SETTLE_ROWS` at a time, in file order
        (:meth:`helpers.data.ledger.Ledger.consolidate` makes the parts one)."""
        con, ledger = self.con, self.ledger
        types = {c: "string" for c in canon}
        types.update({c: "datetime64[ns]" for c in DATE_COLUMNS if c in canon})
        types.update({c: "float64" for c in FLOAT_COLUMNS + ("amount",) if c in canon})
        types.update({c: "Int64" for c in INT_COLUMNS if c in canon})
        marks = (len(ledger.rows), len(ledger.quarantined), len(ledger.reasons))
        budget: dict[str, int] = {}
        per_file: dict[str, int] = {}
        batches = con.execute(f"SELECT * FROM {view}_{k} WHERE _reason IS NOT NULL "
                              "ORDER BY _ord").to_arrow_reader(SETTLE_ROWS)
        for batch in batches:
            if not batch.num_rows:
                continue
            frame = batch.to_pandas(
                types_mapper=lambda t: pd.StringDtype() if str(t) == "string" else None)
            typed = pd.DataFrame({c: frame[c].astype(types[c]) for c in canon})
            typed = typed.assign(_line=frame["_line"].to_numpy(),
                                 _file=frame["_file"].astype(object), _source=source.name)
            reason = frame["_reason"]
            for step in steps:
                for why in step.reasons:
                    mask = (reason == why).fillna(False).to_numpy(dtype=bool)
                    if not mask.any():
                        continue
                    raw = frame[step.raw] if step.raw else None
                    typed = ledger.quarantine(table, typed, mask, why, column=step.column,
                                              raw=raw, rule=step.rule, shown_as=step.shown_as)
                    if step.formats is not None:
                        ledger.formats.setdefault(why, step.formats)
            ledger.settle(table, typed, budget)
            for f, n in frame["_file"].value_counts(sort=False).items():
                per_file[str(f)] = per_file.get(str(f), 0) + int(n)
            del frame, typed
        ledger.consolidate(*marks, [why for step in steps for why in step.reasons])
        return per_file


def give_back_memory() -> None:
    """Return freed memory to the system (Arrow's memory pool, and the C heap by glibc's
    ``malloc_trim`` where there is one): pandas' temporaries on the customers leave freed pages that would
    otherwise count in the peak when DuckDB takes its memory again."""
    import ctypes
    import ctypes.util

    import pyarrow as pa

    pa.default_memory_pool().release_unused()  # Arrow's own pool (the text columns)
    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def pa_string():
    import pyarrow as pa

    return pa.string()


def _first(mask: np.ndarray, first: np.ndarray) -> int:
    """The position, among distinct values, of the earliest row's value where ``mask``."""
    return int(np.flatnonzero(mask)[np.argmin(first[mask])])


def pa_schema_metadata(empty: pd.DataFrame) -> str:
    """The pandas metadata (JSON) pyarrow writes for ``empty``'s columns and dtypes: kept in
    a Parquet file written by DuckDB, ``pd.read_parquet`` gives back those dtypes."""
    import pyarrow as pa

    return pa.Schema.from_pandas(empty, preserve_index=False).metadata[b"pandas"].decode()


def _transcode(path: Path, encoding: str, target: Path) -> None:
    """``path`` in ``encoding`` written to ``target`` as UTF-8, streaming (strict: a byte
    that does not decode raises UnicodeDecodeError)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    with open(path, "rb") as src, open(target, "w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(1 << 24):
            dst.write(decoder.decode(chunk))
        dst.write(decoder.decode(b"", final=True))


def _scan(path: Path) -> tuple[bool, bool]:
    """Whether the file holds a quote, and a blank line (read in chunks)."""
    quotes = blank = False
    tail = b""
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 24):
            quotes = quotes or b'"' in chunk
            if not blank:  # "\n\n" or "\n\r\n": from the newlines' positions (numpy)
                text = np.frombuffer(tail + chunk, dtype=np.uint8)
                lines = np.flatnonzero(text == 10)
                gaps = np.diff(lines)
                blank = bool((gaps == 1).any() or (
                    (gaps == 2) & (text[lines[:-1] + 1] == 13)).any())
            tail = chunk[-2:]
    return quotes, blank
