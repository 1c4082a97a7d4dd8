"""Step 2, data prep: configured exports in, canonical tables and a row ledger out.

For every input file ``rows read = kept + merged + quarantined``; a row never
disappears without a reason. Quarantined rows keep their file and line number.

The order of work, per source: read (encoding, delimiter, header row found) ->
exact duplicate rows merged -> joins (other files by key) -> row filters ->
columns mapped (source column, constant, template or expression) -> ids
normalised -> types (dates, numbers) -> table rules (returns, amounts, unknown
customers, future dates). Values are parsed per *distinct* value and mapped
back, so large files cost what their variety costs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import geo
from helpers.config import Config, Join, Source
from helpers.exports import read_csv, write_csv
from helpers.io import FileSpec, SourceError, read_file, read_source, resolve_files, source_paths
from helpers.schemas import validate
from helpers.scope import territory_map

INT_COLUMNS = ("headcount", "sales_staff", "tech_staff", "product_tier_count", "quantity")
FLOAT_COLUMNS = ("registered_capital", "years_active", "typical_order_value", "lat", "lon")
DATE_COLUMNS = ("signup_date", "order_date")
ID_COLUMNS = ("customer_id", "order_id", "sales_rep_id")
TABLES = ("customers", "orders", "reps", "spend")
KEYS = {"customers": "customer_id", "orders": "order_id", "reps": "sales_rep_id",
        "spend": "region"}
LOCATION = ("country", "province", "city", "district", "address", "lat", "lon")
# Formats tried, in order, when a date column has none configured.
DATE_FORMATS = (
    "%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f",
    "%Y年%m月%d日", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%m-%d-%Y",
    "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%m/%d/%Y %H:%M:%S",
    "%d-%b-%Y", "%d %b %Y", "%b %d, %Y", "%Y-%m",
)
EXCEL_SERIAL = "excel serial day"
CACHE_ROWS = 2_000_000  # files up to this size are read once per build and shared


@dataclass
class PrepResult:
    """The output of step 2: canonical tables plus the accounts of what happened.

    ``duplicates`` lists customers under different ids that look like one
    (same name and phone, or name and city): flagged, merged only when
    ``identity.duplicates.action`` is ``merge``.
    """

    customers: pd.DataFrame
    orders: pd.DataFrame
    reps: pd.DataFrame
    spend: pd.DataFrame
    ledger: pd.DataFrame
    quarantine: pd.DataFrame
    unresolved: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    duplicates: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["group", "match", "customer_id", "name", "kept_id"]))

    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, name) for name in TABLES}


class _Ledger:
    """Collects row outcomes per file and the quarantined rows themselves."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.quarantined: list[pd.DataFrame] = []
        self.reasons: list[str] = []

    def add(self, table: str, source: str, file: str, outcome: str, rows: int,
            reason: str = "") -> None:
        if rows:
            self.rows.append({"table": table, "source": source, "file": file,
                              "outcome": outcome, "reason": reason, "rows": int(rows)})

    def count(self, table: str, frame: pd.DataFrame, outcome: str, reason: str = "") -> None:
        """Add ``frame``'s rows per source and file under ``outcome``."""
        if len(frame):
            for (source, file), rows in frame.groupby(["_source", "_file"], sort=False).size().items():
                self.add(table, source, file, outcome, rows, reason)

    def quarantine(self, table: str, frame: pd.DataFrame, mask, reason: str) -> pd.DataFrame:
        """Mark the rows of ``frame`` where ``mask`` holds for quarantine with ``reason``.

        Rows already marked keep their first reason. The rows stay in the frame (so
        that a large frame is not copied once per check) until :meth:`settle`.
        """
        mask = pd.Series(mask, index=frame.index).fillna(False).to_numpy(dtype=bool)
        if not mask.any():
            return frame
        if reason not in self.reasons:
            self.reasons.append(reason)
        code = self.reasons.index(reason) + 1
        marks = frame["_rq"].to_numpy() if "_rq" in frame else np.zeros(len(frame), "int16")
        return frame.assign(_rq=np.where(mask & (marks == 0), code, marks).astype("int16"))

    def settle(self, table: str, frame: pd.DataFrame) -> pd.DataFrame:
        """Move the marked rows to quarantine (counted per file and reason); return the rest."""
        if "_rq" not in frame:
            return frame
        marks = frame["_rq"].to_numpy()
        keep = marks == 0
        if keep.all():
            return frame.drop(columns="_rq")
        marked = frame.iloc[np.flatnonzero(~keep)]
        codes = marks[~keep]
        for code in sorted(set(np.unique(codes).tolist())):
            bad = marked[codes == code]
            reason = self.reasons[code - 1]
            self.count(table, bad, "quarantined", reason)
            shown = [c for c in bad.columns if not c.startswith("_")]
            values = bad[shown].head(100_000).astype("string")
            records = [json.dumps({k: v for k, v in rec.items() if not pd.isna(v)},
                                  ensure_ascii=False) for rec in values.to_dict("records")]
            records += ["{}"] * (len(bad) - len(records))
            self.quarantined.append(pd.DataFrame({
                "table": table, "source": np.asarray(bad["_source"], dtype=object),
                "file": np.asarray(bad["_file"], dtype=object), "line": bad["_line"].to_numpy(),
                "reason": reason, "values": records,
            }))
        return _keep_rows(frame, keep).drop(columns="_rq")

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["table", "source", "file", "outcome", "reason", "rows"])

    def quarantine_frame(self) -> pd.DataFrame:
        columns = ["table", "source", "file", "line", "reason", "values"]
        if not self.quarantined:
            return pd.DataFrame(columns=columns).astype({"line": "Int64"})
        out = pd.concat(self.quarantined, ignore_index=True)
        return out.astype({"line": "Int64"})[columns]


def _keep_rows(frame: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """``frame[keep]``, with text columns filtered by pyarrow (faster than a take)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    mask = pa.array(keep)
    columns = {}
    for col in frame.columns:
        values = frame[col]
        if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
            array = pa.array(values)
            if isinstance(array, pa.ChunkedArray):
                array = array.combine_chunks()
            columns[col] = pd.arrays.ArrowStringArray(pc.filter(array, mask))
        else:
            columns[col] = values.array[keep]
    return pd.DataFrame(columns, index=frame.index[keep])


# --------------------------------------------------------------------------- distinct values


def map_distinct(series: pd.Series, func) -> pd.Series:
    """Apply ``func`` (Series of distinct values -> Series of results) once per distinct value."""
    codes, uniques = pd.factorize(series)
    if len(uniques) == 0:
        return func(pd.Series(series.iloc[:0]))
    results = pd.Series(func(pd.Series(uniques)).to_numpy())
    out = results.take(np.where(codes < 0, 0, codes)).to_numpy()
    out = pd.Series(out, index=series.index, dtype=results.dtype)
    return out.mask(codes < 0) if (codes < 0).any() else out


def normalise_ids(series: pd.Series) -> pd.Series:
    """Identifiers as clean text: ``"17850.0"`` (a number read as float) -> ``"17850"``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = series.astype("string").str.strip()
    array = pa.array(text)
    if pc.any(pc.match_substring(array, ".0")).as_py():  # only then can a float id be there
        text = text.str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)
    return text.mask(text == "").astype("string")


def join_keys(series: pd.Series) -> pd.Series:
    """Keys as joins compare them: ids normalised and leading zeros of all-digit keys
    dropped, so ``01037``, ``1037`` and ``1037.0`` match."""
    ids = normalise_ids(series)
    stripped = ids.str.replace(r"^0+(\d)", r"\1", regex=True)
    return stripped.astype("string")


def _number_text(values: pd.Series) -> pd.Series:
    """Parse number text: thousands commas, currency signs and 元 allowed; else NaN."""
    text = values.astype("string").str.strip()
    text = text.str.replace(r"^[¥￥$€£]|^R\$|^RMB|^CNY|元$|\s+", "", regex=True)
    grouped = text.str.fullmatch(r"-?\d{1,3}([,，]\d{3})+(\.\d+)?").fillna(False)
    text = text.where(~grouped, text.str.replace(r"[,，]", "", regex=True))
    return pd.to_numeric(text, errors="coerce")


def parse_numbers(series: pd.Series) -> pd.Series:
    """Numbers from text (NaN where not a number): plain numbers are cast at once,
    the rest (thousands separators, currency signs) parsed once per distinct value."""
    if pd.api.types.is_numeric_dtype(series):
        return series.astype("float64")
    text = series.astype("string")
    plain = text.str.fullmatch(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?").fillna(False)
    plain = plain.to_numpy(dtype=bool)
    out = pd.Series(np.nan, index=series.index, dtype="float64")
    if plain.any():
        import pyarrow as pa
        import pyarrow.compute as pc

        array = pa.array(text[plain])
        out[plain] = pc.cast(array, pa.float64()).to_numpy(zero_copy_only=False)
    rest = text.notna().to_numpy(dtype=bool) & ~plain
    if rest.any():
        out[rest] = map_distinct(text[rest], _number_text).astype("float64").to_numpy()
    return out


def infer_date_format(values: pd.Series) -> tuple[str | None, int]:
    """The format in :data:`DATE_FORMATS` that parses most of ``values`` (distinct strings).

    Returns the format (or :data:`EXCEL_SERIAL`) and how many values it parses.
    """
    sample = values.dropna().astype(str)
    sample = sample.iloc[:: max(1, len(sample) // 5000)]
    if sample.empty:
        return None, 0
    best, best_n = None, 0
    for fmt in DATE_FORMATS:
        n = int(pd.to_datetime(sample, format=fmt, errors="coerce").notna().sum())
        if n > best_n:
            best, best_n = fmt, n
        if n == len(sample):
            break
    serial = pd.to_numeric(sample, errors="coerce")
    n_serial = int(serial.between(20000, 80000).sum())
    if n_serial > best_n:
        best, best_n = EXCEL_SERIAL, n_serial
    return best, best_n


def parse_dates(series: pd.Series, fmt: str | None) -> tuple[pd.Series, str | None, pd.Series]:
    """Dates from text with ``fmt`` (inferred when None), once per distinct value.

    Returns the dates (NaT where not parsed), the format used, and a mask of the
    values that parsed but lie outside what a timestamp holds (years 1678-2261),
    positive when in the future.
    """
    text = series.astype("string")
    codes, uniques = pd.factorize(text)
    distinct = pd.Series(uniques, dtype="string")
    used = fmt
    if fmt is None:
        used, _ = infer_date_format(distinct)
    beyond = np.zeros(len(distinct), dtype="int8")
    if used is None:
        parsed = pd.Series(pd.NaT, index=distinct.index, dtype="datetime64[ns]")
    elif used == EXCEL_SERIAL:
        days = pd.to_numeric(distinct, errors="coerce")
        parsed = (pd.Timestamp("1899-12-30") + pd.to_timedelta(days, unit="D")).where(
            days.between(20000, 80000))
    else:
        parsed = pd.to_datetime(distinct, format=used, errors="coerce")
        if len(parsed) and parsed.dtype != "datetime64[ns]":
            low, high = pd.Timestamp.min, pd.Timestamp.max
            beyond = np.where(parsed > high, 1, np.where(parsed < low, -1, 0)).astype("int8")
            parsed = parsed.where(beyond == 0)
    parsed = pd.Series(parsed, dtype="datetime64[ns]")
    take = np.where(codes < 0, 0, codes)
    values = parsed.to_numpy().take(take) if len(parsed) else \
        np.full(len(codes), np.datetime64("NaT"), dtype="datetime64[ns]")
    out = pd.Series(values, index=series.index, dtype="datetime64[ns]").mask(codes < 0)
    outside = pd.Series(beyond.take(take) if len(beyond) else np.zeros(len(codes), "int8"),
                        index=series.index).where(codes >= 0, 0)
    return out, used, outside


# --------------------------------------------------------------------------- reading


class _Reader:
    """Reads files once per build (a sheet may feed several sources and joins)."""

    def __init__(self, config: Config, notes: list[str]) -> None:
        self.config = config
        self.notes = notes
        self.cache: dict[tuple, pd.DataFrame] = {}

    def source(self, source: Source, need: tuple[str, ...]) -> pd.DataFrame:
        key = ("source", tuple(str(p) for p in source_paths(source, self.config.data_dir)),
               source.sheet, source.encoding, source.delimiter, str(source.header_row))
        cached = self.cache.get(key)
        if cached is not None and all(c in cached.columns for c in need):
            return cached
        frame = read_source(source, self.config.data_dir, self.notes, need=need)
        if len(frame) <= CACHE_ROWS:  # a large frame is not kept alive for a second reader
            self.cache[key] = frame
        return frame

    def join(self, join: Join, owner: Source) -> pd.DataFrame:
        paths = resolve_files(join.file, self.config.data_dir, owner.name)
        need = tuple(join.right_keys) + tuple(self._join_columns(join).values())
        spec = FileSpec(what=f"join of source '{owner.name}' ({join.file})",
                        encoding=join.encoding, delimiter=join.delimiter, sheet=join.sheet,
                        header_row=join.header_row, need=need)
        key = ("join", tuple(str(p) for p in paths), join.sheet, join.encoding,
               join.delimiter, str(join.header_row))
        cached = self.cache.get(key)
        if cached is not None and all(c in cached.columns for c in need):
            return cached
        frames = [read_file(p, spec, self.notes) for p in paths]
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        if len(frame) <= CACHE_ROWS:
            self.cache[key] = frame
        return frame

    @staticmethod
    def _join_columns(join: Join) -> dict[str, str]:
        if join.columns is None:
            return {}
        if isinstance(join.columns, dict):
            return dict(join.columns)
        return {c: c for c in join.columns}


def _referenced(source: Source) -> set[str]:
    """Source columns the mapping, filters and returns name."""
    refs: set[str] = set()
    for spec in source.columns.values():
        if isinstance(spec, str):
            refs.add(spec)
        elif spec.template is not None:
            refs |= set(re.findall(r"\{([^{}]+)\}", spec.template))
        elif spec.expr is not None:
            refs |= set(re.findall(r"`([^`]+)`", spec.expr))
    for rule in source.filters:
        if rule.column not in source.columns:
            refs.add(rule.column)
    return refs


def _apply_join(frame: pd.DataFrame, join: Join, right: pd.DataFrame, source: Source) -> pd.DataFrame:
    where = f"source '{source.name}', join {join.file}"
    missing = [k for k in join.left_keys if k not in frame.columns]
    if missing:
        raise SourceError(f"{where}: key column(s) {missing} not in the source; it has "
                          f"{[c for c in frame.columns if not c.startswith('_')]}")
    if len(join.left_keys) != len(join.right_keys):
        raise SourceError(f"{where}: 'left_on' and 'right_on' name different numbers of columns")
    columns = _Reader._join_columns(join) or {
        c: c for c in right.columns if not c.startswith("_") and c not in join.right_keys}
    right = right[list(join.right_keys) + list(dict.fromkeys(columns.values()))]
    right = right.assign(**{k: join_keys(right[k]) for k in join.right_keys})
    repeated = right.duplicated(join.right_keys, keep=False)
    if repeated.any():
        if not join.aggregate:
            example = right.loc[repeated, join.right_keys].iloc[0].tolist()
            raise SourceError(
                f"{where}: {int(right.duplicated(join.right_keys).sum())} key(s) repeat in the "
                f"joined file (e.g. {example}); add 'aggregate' (sum, first, ...) per column so "
                "each key gives one row")
        how = {c: join.aggregate.get(c, "first") for c in dict.fromkeys(columns.values())}
        numeric = [c for c, f in how.items() if f in ("sum", "min", "max", "mean")]
        right = right.assign(**{c: parse_numbers(right[c]) for c in numeric})
        right = right.groupby(join.right_keys, sort=False, dropna=False).agg(how).reset_index()
    renamed = {src: new for new, src in columns.items()}
    right = right.rename(columns=renamed)
    clash = [c for c in columns if c in frame.columns]
    if clash:
        raise SourceError(f"{where}: joined column(s) {clash} already exist in the source; "
                          "name them differently under columns: {new_name: column}")
    left_keys = {k: join_keys(frame[k]) for k in join.left_keys}
    keyed = frame.assign(**{f"_k{i}": v for i, v in enumerate(left_keys.values())})
    right = right.rename(columns={k: f"_k{i}" for i, k in enumerate(join.right_keys)})
    merged = keyed.merge(right, how="left", on=[f"_k{i}" for i in range(len(join.left_keys))],
                         validate="m:1")
    merged.index = frame.index
    return merged.drop(columns=[f"_k{i}" for i in range(len(join.left_keys))])


def _filter_column(frame: pd.DataFrame, source: Source, column: str) -> pd.Series:
    spec = source.columns.get(column)
    if isinstance(spec, str):
        return frame[spec]
    if column in frame:
        return frame[column]
    raise SourceError(f"source '{source.name}': filter column {column!r} is neither a mapped "
                      f"canonical column nor a column of the file")


def _map_columns(frame: pd.DataFrame, source: Source) -> pd.DataFrame:
    """Canonical columns from source columns, constants, templates and expressions."""
    out = {}
    for canon, spec in source.columns.items():
        if isinstance(spec, str):
            out[canon] = frame[spec]
        elif spec.const is not None:
            out[canon] = pd.Series(str(spec.const), index=frame.index, dtype="string")
        elif spec.template is not None:
            parts = re.split(r"(\{[^{}]+\})", spec.template)
            text = pd.Series("", index=frame.index, dtype="string")
            for part in parts:
                if part.startswith("{") and part.endswith("}"):
                    text = text + frame[part[1:-1]].astype("string").fillna("")
                elif part:
                    text = text + part
            out[canon] = text
        else:
            names = re.findall(r"`([^`]+)`", spec.expr)
            numbers = pd.DataFrame({n: parse_numbers(frame[n]) for n in dict.fromkeys(names)},
                                   index=frame.index)
            try:
                value = numbers.eval(spec.expr, engine="python")
            except Exception as exc:  # noqa: BLE001 - pandas raises many types
                raise SourceError(f"source '{source.name}': columns.{canon}.expr "
                                  f"{spec.expr!r} cannot be evaluated: {exc}") from None
            out[canon] = pd.Series(value, index=frame.index).astype("float64")
    mapped = pd.DataFrame(out, index=frame.index)
    extra = {"_rq": frame["_rq"]} if "_rq" in frame else {}
    return mapped.assign(_line=frame["_line"], _file=frame["_file"], _source=frame["_source"],
                         **extra)


def _to_dates(frame: pd.DataFrame, source: Source, table: str, ledger: _Ledger,
              notes: list[str], required: tuple = ()) -> pd.DataFrame:
    for col in [c for c in DATE_COLUMNS if c in frame]:
        fmt = source.dates.get(col)
        parsed, used, beyond = parse_dates(frame[col], fmt)
        if fmt is None and frame[col].notna().any():
            shown = used or "none found"
            notes.append(f"{source.name}: {col}: no format configured; inferred {shown!r} "
                         f"({int(parsed.notna().sum())} of {int(frame[col].notna().sum())} "
                         "values parse)")
        bad = parsed.isna() & frame[col].notna() & (beyond == 0)
        if col in required:
            frame = ledger.quarantine(table, frame, frame[col].isna(), f"{col} is empty")
            frame = ledger.quarantine(table, frame, beyond[frame.index] > 0, f"{col} in the future")
            frame = ledger.quarantine(table, frame, beyond[frame.index] < 0,
                                      f"{col} before 1678 (out of range)")
            frame = ledger.quarantine(table, frame, bad[frame.index],
                                      f"{col} does not match format {used or 'inferred'}")
            parsed = parsed[frame.index]
        elif (bad | (beyond != 0)).any():
            bad = bad | (beyond != 0)
            notes.append(f"{source.name}: {col}: {int(bad.sum())} value(s) not in format "
                         f"{used or 'inferred'} were left empty "
                         f"(e.g. {frame.loc[bad, col].iloc[0]!r})")
        frame = frame.assign(**{col: parsed})
    return frame


def _to_numbers(frame: pd.DataFrame, table: str, ledger: _Ledger, notes: list[str],
                required: tuple = ()) -> pd.DataFrame:
    """Parse numeric columns; text in a required one quarantines the row, elsewhere it becomes NA."""
    for col in [c for c in INT_COLUMNS + FLOAT_COLUMNS + ("amount",) if c in frame]:
        number = parse_numbers(frame[col])
        bad = number.isna() & frame[col].notna()
        if col in required:
            frame = ledger.quarantine(table, frame, frame[col].isna(), f"{col} is empty")
            frame = ledger.quarantine(table, frame, bad[frame.index], f"{col} is not a number")
            number = number[frame.index]
        elif bad.any():
            notes.append(f"{table}.{col}: {int(bad.sum())} value(s) are not numbers and were "
                         f"left empty (e.g. {frame.loc[bad, col].iloc[0]!r})")
        typed = number.round().astype("Int64") if col in INT_COLUMNS else number.astype("float64")
        frame = frame.assign(**{col: typed})
    return frame


def _read_source_rows(reader: _Reader, source: Source, table: str, ledger: _Ledger,
                      notes: list[str], settle: bool = True) -> pd.DataFrame:
    """One source: read, merge exact duplicates, join, filter, map and type its rows.

    With ``settle=False`` the rows marked for quarantine stay in the frame (column
    ``_rq``) for the table's own checks to settle once.
    """
    joined_cols = set()
    for join in source.joins:
        joined_cols |= set(_Reader._join_columns(join))
    refs = _referenced(source)
    keys = {k for j in source.joins for k in j.left_keys}
    # Columns a join brings are not in the file; with a join that brings every column,
    # only the join keys are sure to be there.
    open_join = any(j.columns is None for j in source.joins)
    need = tuple(sorted(keys if open_join else (refs - joined_cols) | keys))
    raw = reader.source(source, need)
    raw = raw.assign(_source=pd.Categorical.from_codes(np.zeros(len(raw), dtype="int8"),
                                                       categories=[source.name]))
    ledger.count(table, raw, "read")
    dup = _exact_duplicates(raw)
    if dup.any():
        ledger.count(table, raw[dup], "merged", "exact duplicate row")
        raw = raw[~dup]
    for join in source.joins:
        raw = _apply_join(raw, join, reader.join(join, source), source)
    missing = sorted(c for c in refs if c not in raw.columns)
    if missing:
        shown = [c for c in raw.columns if not c.startswith("_")]
        raise SourceError(f"source '{source.name}' ({source.file_label}): column(s) {missing} "
                          f"not found; after joins it has {shown}")
    for rule in source.filters:
        values = _filter_column(raw, source, rule.column)
        listed = rule.in_ if rule.in_ is not None else rule.not_in
        inside = values.isin(listed)
        drop = ~inside if rule.in_ is not None else inside
        if drop.any():
            word = "not in" if rule.in_ is not None else "in"
            shown = values.fillna("(empty)")
            for value in sorted(shown[drop].unique()):
                reason = (f"{rule.reason} ({rule.column} {value!r})" if rule.reason else
                          f"{rule.column} {value!r} {word} filter {listed}")
                raw = ledger.quarantine(table, raw, drop & (shown == value), reason)
    frame = _map_columns(raw, source)
    for col in [c for c in ID_COLUMNS if c in frame]:
        frame = frame.assign(**{col: normalise_ids(frame[col])})
    key = KEYS[table]
    if key in frame:
        frame = ledger.quarantine(table, frame, frame[key].isna(), f"{key} is empty")
    if table != "orders" and source.keep_status is not None and "status" in frame:
        frame = _keep_status(frame, source, table, ledger)
    required_dates = ("order_date",) if table == "orders" else ()
    frame = _to_dates(frame, source, table, ledger, notes, required_dates)
    required_numbers = ("amount",) if table in ("orders", "spend") else ()
    frame = _to_numbers(frame, table, ledger, notes, required_numbers)
    return ledger.settle(table, frame) if settle else frame


def _exact_duplicates(raw: pd.DataFrame) -> pd.Series:
    """Rows identical in every column of the file (same file or another file of the source).

    Columns are taken from the most to the least varied (judged on the first rows);
    each narrows the rows that could still be duplicates (their codes mixed into one
    64-bit key), and the few left are compared in full, so the answer is exact while
    a unique column such as an order number settles most rows at once.
    """
    columns = [c for c in raw.columns if not c.startswith("_")]
    if not columns or raw.empty:
        return pd.Series(False, index=raw.index)
    sample = raw[columns].iloc[:20_000]
    columns = sorted(columns, key=lambda c: -sample[c].nunique(dropna=False))
    rows = np.arange(len(raw))
    key = np.zeros(len(raw), dtype="uint64")
    small = max(10_000, len(raw) // 200)
    for col in columns:
        values = raw[col] if len(rows) == len(raw) else raw[col].iloc[rows]
        codes, _ = pd.factorize(values, use_na_sentinel=True)
        with np.errstate(over="ignore"):
            key = key * np.uint64(1_000_003) ^ (codes.astype("int64") + 2).astype("uint64")
        keep = pd.Series(key).duplicated(keep=False).to_numpy()
        rows, key = rows[keep], key[keep]
        if len(rows) <= small:
            break
    dup = np.zeros(len(raw), dtype=bool)
    if len(rows):
        subset = raw[[c for c in raw.columns if not c.startswith("_")]].iloc[rows]
        dup[rows] = subset.duplicated(keep="first").to_numpy()
    return pd.Series(dup, index=raw.index)


def _positions(values: pd.Series, keys: pd.Series) -> np.ndarray:
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


def _keep_status(frame: pd.DataFrame, source: Source, table: str, ledger: _Ledger) -> pd.DataFrame:
    drop = ~frame["status"].isin(source.keep_status)
    shown = frame["status"].fillna("(empty)")
    for status in sorted(shown[drop].unique()):
        frame = ledger.quarantine(table, frame, drop & (shown == status),
                                  f"status {status!r} not in keep_status")
    return frame


def _read_table(reader: _Reader, table: str, ledger: _Ledger, notes: list[str]) -> pd.DataFrame:
    """Read, map and stack the sources of one table."""
    # Orders are settled once, after their table checks (one copy of a large frame).
    parts = [_read_source_rows(reader, source, table, ledger, notes, settle=table != "orders")
             for source in reader.config.sources.get(table, [])]
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)


# --------------------------------------------------------------------------- customers


def _merge_customers(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per customer: rows sharing the key are merged, first non-empty value wins.

    Returns the merged customers and the rows that were merged into an earlier one.
    """
    repeated = frame.duplicated("customer_id", keep="first")
    grouped = frame.groupby("customer_id", sort=False)
    merged = grouped.first()  # first non-null value per column, in source order
    # The sources a customer came from, in config order: crm, crm+erp, erp.
    codes, uniques = pd.factorize(frame["customer_id"])
    order = pd.Index(uniques).get_indexer(merged.index)
    names = np.asarray(frame["_source"], dtype=object)
    source = np.full(len(uniques), "", dtype=object)
    for name in pd.unique(names):
        has = np.zeros(len(uniques), dtype=bool)
        has[codes[names == name]] = True
        source[has] = np.where(source[has] == "", name, source[has] + "+" + name)
    merged = merged.assign(source=pd.Series(source[order], index=merged.index, dtype="string"))
    first = frame[~repeated].set_index("customer_id")
    merged = merged.assign(_line=first["_line"], _file=first["_file"], _source=first["_source"])
    return merged.reset_index(), frame[repeated]


def _location_from_orders(customers: pd.DataFrame, orders: pd.DataFrame, rule: str,
                          notes: list[str]) -> pd.DataFrame:
    """Give customers without a location the ship-to of their orders (most frequent,
    latest or first; ties go to the latest order, then to the alphabetically first place)."""
    ship = [c for c in LOCATION if c in orders]
    if rule == "none" or not ship or orders.empty:
        return customers
    own = [c for c in LOCATION if c in customers]
    bare = customers[own].isna().all(axis=1) if own else pd.Series(True, index=customers.index)
    if not bare.any():
        return customers
    usable = orders["_rq"].to_numpy() == 0 if "_rq" in orders else np.ones(len(orders), bool)
    rows = orders.loc[usable & orders["customer_id"].isin(customers.loc[bare, "customer_id"]),
                      ["customer_id", "order_date", "_line", *ship]]
    rows = rows[rows[ship].notna().any(axis=1)]
    if rows.empty:
        return customers
    place = rows[ship].astype("string").fillna("").agg("|".join, axis=1)
    rows = rows.assign(_place=place)
    if rule == "most_frequent":
        stats = rows.groupby(["customer_id", "_place"], sort=False).agg(
            _n=("_line", "size"), _last=("order_date", "max")).reset_index()
        stats = stats.sort_values(["customer_id", "_n", "_last", "_place"],
                                  ascending=[True, False, False, True])
        best = stats.drop_duplicates("customer_id")[["customer_id", "_place"]]
        chosen = best.merge(rows.drop_duplicates(["customer_id", "_place"]),
                            on=["customer_id", "_place"], how="left")
    else:
        ascending = rule == "first"
        chosen = rows.sort_values(["customer_id", "order_date", "_line", "_place"],
                                  ascending=[True, ascending, ascending, True]).drop_duplicates(
            "customer_id")
    chosen = chosen.set_index("customer_id")[ship]
    filled = customers.copy()
    target = filled["customer_id"].where(bare)
    for col in ship:
        values = target.map(chosen[col])
        if col in filled:
            filled[col] = filled[col].where(~bare, values)
        else:
            filled[col] = values.where(bare)
    notes.append(f"customers: {int(target.isin(chosen.index).sum())} customer(s) without a "
                 f"location took the {rule.replace('_', ' ')} ship-to of their orders")
    return filled


def _squash(values: pd.Series) -> pd.Series:
    """Lower case without spaces, hyphens and brackets (for comparing names and phones)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pa.array(values.astype("string"))
    squashed = pc.replace_substring_regex(pc.utf8_lower(array), r"[\s\-()（）]+", "")
    squashed = pc.if_else(pc.equal(squashed, ""), pa.scalar(None, squashed.type), squashed)
    return pd.Series(pd.arrays.ArrowStringArray(squashed), index=values.index, dtype="string")


def _name_duplicates(customers: pd.DataFrame, config: Config) -> pd.DataFrame:
    """Groups of different customer ids with the same name+phone (or name+city)."""
    parts = []
    groups = 0
    for fields in config.identity.duplicates.match:
        if not all(f in customers for f in fields):
            continue
        keys = pd.DataFrame({f: _squash(customers[f]) for f in fields}, index=customers.index)
        keys = keys[keys.notna().all(axis=1)]
        dup = keys.duplicated(fields, keep=False)
        if not dup.any():
            continue
        members = keys[dup]
        group = members.groupby(fields, sort=True).ngroup() + groups + 1
        groups = int(group.max())
        found = pd.DataFrame({"group": group.to_numpy(), "match": "+".join(fields),
                              "customer_id": customers.loc[members.index, "customer_id"].to_numpy(),
                              "name": customers.loc[members.index, "name"].to_numpy()})
        first = found.drop_duplicates("group").set_index("group")["customer_id"]
        parts.append(found.assign(kept_id=found["group"].map(first).to_numpy()))
    columns = ["group", "match", "customer_id", "name", "kept_id"]
    if not parts:
        return pd.DataFrame(columns=columns)
    frame = pd.concat(parts, ignore_index=True).sort_values(["group", "customer_id"], kind="stable")
    # A customer in two groups (name+phone and name+city) keeps its first group only.
    return frame.drop_duplicates("customer_id").reset_index(drop=True)[columns]


def _merge_duplicates(customers: pd.DataFrame, orders: pd.DataFrame, duplicates: pd.DataFrame,
                      ledger: _Ledger) -> tuple[pd.DataFrame, pd.DataFrame]:
    moved = duplicates[duplicates["customer_id"] != duplicates["kept_id"]]
    if moved.empty:
        return customers, orders
    target = moved.set_index("customer_id")["kept_id"]
    for match, part in moved.groupby("match"):
        gone = customers[customers["customer_id"].isin(part["customer_id"])]
        ledger.count("customers", gone, "merged",
                     f"same {match} as another customer_id (identity.duplicates: merge)")
    customers = customers[~customers["customer_id"].isin(target.index)]
    if "customer_id" in orders:
        orders = orders.assign(customer_id=orders["customer_id"].map(target).fillna(
            orders["customer_id"]).astype("string"))
    return customers, orders


def _locate(customers: pd.DataFrame, config: Config) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Resolve places, attach territories and WGS-84 coordinates with their precision."""
    country = config.geography.country
    notes: list[str] = []
    frame = customers.copy()
    for col in ("province", "city", "district", "address"):
        if col not in frame:
            frame[col] = pd.Series(pd.NA, index=frame.index, dtype="string")
    raw_province, raw_city = frame["province"].astype("string"), frame["city"].astype("string")
    unresolved_parts = []

    if "country" in frame:
        countries = geo.resolve_countries(frame["country"])
        frame["country"] = countries["country"].fillna(country)
        abroad = countries["country"].notna() & (countries["country"] != country)
        unresolved_parts.append(pd.DataFrame({"column": "country", "value": frame.loc[
            countries["country_match"] == "unresolved", "country"]}))
    else:
        frame["country"] = country
        abroad = pd.Series(False, index=frame.index)
    frame["country"] = frame["country"].astype("string")

    provinces = geo.resolve_provinces(raw_province, country)
    provinces.loc[abroad] = pd.NA
    frame = frame.assign(province=provinces["province"], province_code=provinces["province_code"],
                         province_en=provinces["province_en"])
    unresolved_parts.append(pd.DataFrame({"column": "province", "value": raw_province[
        (provinces["province_match"] == "unresolved") & ~abroad]}))

    lat_c = pd.Series(np.nan, index=frame.index)
    lon_c = pd.Series(np.nan, index=frame.index)
    level = pd.Series("none", index=frame.index, dtype=object)
    if country == "CN":
        frame, lat_c, lon_c, level, city_bad = _locate_china(frame, raw_city, abroad)
        unresolved_parts.append(pd.DataFrame({"column": "city", "value": raw_city[city_bad]}))
    else:
        frame = frame.assign(city=_tidy_city(raw_city), city_code=pd.NA)
    prov_points = geo.provinces(country).set_index("province")
    has_prov = (level == "none") & frame["province"].notna()
    lat_c = lat_c.where(~has_prov, frame["province"].map(prov_points["lat"]))
    lon_c = lon_c.where(~has_prov, frame["province"].map(prov_points["lon"]))
    level = level.where(~has_prov, "province")
    cpoints = geo.world.country_points()
    has_country = (level == "none") & frame["country"].notna() & frame["country"].isin(
        cpoints.index) & (abroad | (country != "CN"))
    lat_c = lat_c.where(~has_country, frame["country"].map(cpoints["lat"]))
    lon_c = lon_c.where(~has_country, frame["country"].map(cpoints["lon"]))
    level = level.where(~has_country, "country")

    unresolved = pd.concat(unresolved_parts, ignore_index=True).dropna()
    unresolved = unresolved.value_counts().rename("rows").reset_index()
    if len(unresolved):
        nearest = [", ".join(geo.china.nearest_names(v) if c == "city" or country == "CN" else
                             geo.nearest_names(v, country)) if c != "country" else ""
                   for c, v in zip(unresolved["column"], unresolved["value"], strict=True)]
        unresolved = unresolved.assign(nearest=nearest)
    else:
        unresolved = pd.DataFrame(columns=["column", "value", "rows", "nearest"])

    territories = territory_map(config).set_index("province")["territory"]
    frame = frame.assign(territory=frame["province"].map(territories).astype("string"))
    lat, lon, flag, point_notes = _points(frame, config, abroad)
    notes += point_notes
    has_point = lat.notna() & lon.notna()
    precision = pd.Series(np.where(has_point, "point", level), index=frame.index)
    frame = frame.assign(
        lat=lat.where(has_point, lat_c).astype("float64"),
        lon=lon.where(has_point, lon_c).astype("float64"),
        geo_precision=precision.astype("string"),
        geo_flag=flag.astype("string"),
    )
    return frame, unresolved, notes


def _tidy_city(raw: pd.Series) -> pd.Series:
    """Outside China: one spelling per city (the most common of those equal without
    accents, case, hyphens and double spaces), title case kept as exported."""
    key = map_distinct(raw, lambda v: pd.Series([geo.world.fold(x) for x in v]))
    counts = pd.DataFrame({"key": key, "raw": raw.str.strip().str.replace(r"\s+", " ", regex=True)})
    counts = counts.dropna().value_counts().reset_index()
    best = counts.sort_values(["key", "count", "raw"], ascending=[True, False, True]).drop_duplicates(
        "key").set_index("key")["raw"]
    return key.map(best).astype("string")


def _locate_china(frame, raw_city, abroad):
    cities = geo.resolve_cities(frame.assign(city=raw_city), city="city", province="province")
    # A city alone can name its province (深圳 -> 广东省) when the province was empty.
    city_table = geo.cities().drop_duplicates("city_code").set_index("city_code")
    codes = geo.provinces().set_index("province")
    fill = frame["province"].isna() & cities["city"].notna() & ~abroad
    if fill.any():
        frame.loc[fill, "province"] = cities.loc[fill, "city_code"].map(city_table["province"])
        frame.loc[fill, "province_code"] = frame.loc[fill, "province"].map(codes["province_code"])
        frame.loc[fill, "province_en"] = frame.loc[fill, "province"].map(codes["province_en"])
    district = cities["district"]
    district_code = cities["district_code"]
    lat_c = cities["district_lat"].fillna(cities["city_lat"])
    lon_c = cities["district_lon"].fillna(cities["city_lon"])
    level = pd.Series(np.where(cities["district_lat"].notna(), "district",
                               np.where(cities["city_lat"].notna(), "city", "none")),
                      index=frame.index, dtype=object)
    city, city_code = cities["city"], cities["city_code"]
    # A district column, or the address when the columns left the city open, is parsed
    # (each distinct text once) to place the customer more finely.
    if frame["address"].notna().any() or frame["district"].notna().any():
        text = frame["district"].astype("string").fillna("")
        context = frame["province"].astype("string").fillna("") + city.astype("string").fillna("")
        address = frame["address"].astype("string")
        by_district = (text != "") & (level != "district")
        by_address = address.notna() & (level == "none") & ~by_district
        query = (context + text).where(by_district, address.where(by_address))
        query = query.mask(query.fillna("") == "")
        places = geo.resolve_places(query)
        agree = places["province"].notna() & (frame["province"].isna() | (
            places["province"] == frame["province"])) & (city.isna() | (
                places["city"] == city)) & ~abroad
        finer = agree & (
            (places["district"].notna() & (level != "district"))
            | (places["city"].notna() & (level == "none")))
        if finer.any():
            for col in ("province", "province_code"):
                frame.loc[finer, col] = places.loc[finer, col]
            frame.loc[finer, "province_en"] = frame.loc[finer, "province"].map(codes["province_en"])
            city = city.where(~finer, places["city"])
            city_code = city_code.where(~finer, places["city_code"])
            district = district.where(~finer, places["district"])
            district_code = district_code.where(~finer, places["district_code"])
            lat_c = lat_c.where(~finer, places["lat"])
            lon_c = lon_c.where(~finer, places["lon"])
            level = level.where(~finer, np.where(
                places["district"].notna(), "district", "city")).where(lat_c.notna(), "none")
    frame = frame.assign(city=city.astype("string"), city_code=city_code.astype("string"),
                         district=district.astype("string"),
                         district_code=district_code.astype("string"))
    city_bad = cities["city_match"].isin(["unresolved", "ambiguous"]) & frame["city"].isna()
    return frame, lat_c, lon_c, level, city_bad


def _points(frame: pd.DataFrame, config: Config, abroad: pd.Series):
    """Own coordinates in WGS-84, or NaN; with a flag and notes on what was fixed."""
    notes = []
    lat = frame["lat"].astype("float64") if "lat" in frame else pd.Series(np.nan, index=frame.index)
    lon = frame["lon"].astype("float64") if "lon" in frame else pd.Series(np.nan, index=frame.index)
    flag = pd.Series(pd.NA, index=frame.index, dtype="string")
    given = lat.notna() & lon.notna()
    if not given.any():
        return lat, lon, flag, notes
    country = config.geography.country
    parts = geo.world.CHINA_PARTS if country == "CN" else (country,)
    system = config.geography.coordinates
    out_of_range = given & ~(lat.between(-90, 90) & lon.between(-180, 180))

    def inside(la, lo):
        if system != "wgs84" and country == "CN":
            index = la.index
            la, lo = geo.coords.to_wgs84(la, lo, system)
            la, lo = pd.Series(la, index=index), pd.Series(lo, index=index)
        return geo.inside_country(la, lo, parts)

    home = inside(lat, lon) & given & ~abroad
    maybe = given & ~home & ~abroad
    swapped = pd.Series(False, index=frame.index)
    if maybe.any():
        swapped[maybe] = inside(lon[maybe], lat[maybe]).to_numpy()
    if swapped.any():
        notes.append(f"customers: {int(swapped.sum())} lat/lon pair(s) were swapped and turned round")
        lat, lon = lat.where(~swapped, lon), lon.where(~swapped, lat)
        flag = flag.mask(swapped, "swapped")
        out_of_range = out_of_range & ~swapped
    if system != "wgs84":
        wlat, wlon = geo.coords.to_wgs84(lat.to_numpy(), lon.to_numpy(), system)
        lat, lon = pd.Series(wlat, index=frame.index), pd.Series(wlon, index=frame.index)
        notes.append(f"customers: {int(given.sum())} coordinate pair(s) converted from "
                     f"{system} to WGS-84")
    outside = given & ~home & ~swapped & ~out_of_range & ~abroad
    if out_of_range.any():
        notes.append(f"customers: {int(out_of_range.sum())} coordinate(s) out of range "
                     "(|lat| > 90 or |lon| > 180) were ignored")
    if outside.any():
        notes.append(f"customers: {int(outside.sum())} coordinate(s) outside {country} were "
                     "ignored (the centroid of the finest region resolved is used instead)")
    flag = flag.mask(out_of_range, "out_of_range").mask(outside, "outside_country")
    drop = out_of_range | outside
    return lat.where(~drop), lon.where(~drop), flag, notes


# --------------------------------------------------------------------------- orders


def _prepare_orders(orders: pd.DataFrame, customers: pd.DataFrame, config: Config,
                    ledger: _Ledger) -> pd.DataFrame:
    if orders.empty:
        return orders
    sources = {s.name: s for s in config.sources["orders"]}
    kept = []
    today = pd.Timestamp.today().normalize()
    orders = orders.assign(_pos=_positions(orders["customer_id"], customers["customer_id"]))
    names = pd.unique(np.asarray(orders["_source"], dtype=object))
    parts = [(names[0], orders)] if len(names) == 1 else orders.groupby(
        "_source", sort=False, observed=True)
    for name, part in parts:
        source = sources[name]
        if source.keep_status is not None and "status" in part:
            part = _keep_status(part, source, "orders", ledger)
        if source.returns is not None:
            if source.returns.column not in part:
                raise SourceError(f"source '{name}': returns.column {source.returns.column!r} "
                                  "is not a mapped canonical column of the orders")
            is_return = part[source.returns.column].isin(source.returns.values)
            if source.returns.action == "exclude":
                part = part.assign(_return=False)
                part = ledger.quarantine("orders", part, is_return,
                                         "return excluded (returns.action: exclude)")
            else:
                part = part.assign(_return=is_return,
                                   amount=part["amount"].where(~is_return, -part["amount"].abs()))
        else:
            part = part.assign(_return=False)
        if source.zero_amount == "quarantine":
            part = ledger.quarantine("orders", part, part["amount"] == 0, "amount is zero")
        if source.negative_amount == "quarantine":
            part = ledger.quarantine("orders", part, (part["amount"] < 0) & ~part["_return"],
                                     "amount is negative (not a return)")
        part = ledger.quarantine("orders", part, part["_pos"].to_numpy() < 0,
                                 "unknown customer_id")
        part = ledger.quarantine("orders", part, part["order_date"] > today,
                                 "order_date in the future")
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


def _prepare_spend(spend: pd.DataFrame, config: Config, ledger: _Ledger) -> pd.DataFrame:
    if spend.empty:
        return pd.DataFrame({"province": pd.Series(dtype="string"),
                             "period": pd.Series(dtype="string"), "amount": pd.Series(dtype="float64")})
    country = config.geography.country
    province = geo.resolve_provinces(spend["region"].astype("string"), country)["province"]
    spend = spend.assign(province=province)
    spend = ledger.quarantine("spend", spend, spend["province"].isna(), "unknown province")
    period = spend["period"].str.upper().str.replace(r"[\s\-_]", "", regex=True)
    spend = spend.assign(period=period)
    spend = ledger.quarantine("spend", spend, ~period.str.match(r"^\d{4}Q[1-4]$").fillna(False),
                              "period is not a quarter like 2024Q1")
    spend = ledger.quarantine("spend", spend, spend["amount"] < 0, "amount is negative")
    spend = ledger.settle("spend", spend)
    ledger.count("spend", spend, "kept")
    return spend


def _finish(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop bookkeeping columns, use nullable strings for text."""
    frame = frame.drop(columns=[c for c in frame.columns if c.startswith("_")]).reset_index(drop=True)
    text = frame.select_dtypes(include=["object", "string"]).columns
    return frame.astype({c: "string" for c in text})


def check_ledger(ledger: pd.DataFrame) -> pd.DataFrame:
    """Per file: read, kept, merged, quarantined and whether they balance.

    Raises
    ------
    AssertionError
        When a file's rows read differ from kept + merged + quarantined.
    """
    if ledger.empty:
        return pd.DataFrame(columns=["table", "source", "file", "read", "kept", "merged",
                                     "quarantined", "balanced"])
    totals = ledger.pivot_table(index=["table", "source", "file"], columns="outcome",
                                values="rows", aggfunc="sum", fill_value=0)
    for col in ("read", "kept", "merged", "quarantined"):
        if col not in totals:
            totals[col] = 0
    totals = totals[["read", "kept", "merged", "quarantined"]].reset_index()
    totals.columns.name = None
    totals["balanced"] = totals["read"] == totals["kept"] + totals["merged"] + totals["quarantined"]
    if not totals["balanced"].all():
        bad = totals[~totals["balanced"]].to_string(index=False)
        raise AssertionError(f"row ledger does not balance:\n{bad}")
    return totals


def build_prep(config: Config) -> PrepResult:
    """Run step 2 on the configured sources and return the canonical tables.

    Raises :class:`helpers.io.SourceError` for unreadable inputs and
    :class:`helpers.schemas.ValidationFailed` listing every schema problem.
    """
    ledger, notes = _Ledger(), []
    reader = _Reader(config, notes)
    raw_customers = _read_table(reader, "customers", ledger, notes)
    if raw_customers.empty:
        files = ", ".join(s.file_label for s in config.sources["customers"])
        raise SourceError(f"no customer rows to work with: every row of {files} was set aside "
                          "or the files hold none (see the ledger)")
    orders = _read_table(reader, "orders", ledger, notes)
    customers, repeated = _merge_customers(raw_customers)
    ledger.count("customers", repeated, "merged", "same customer_id as an earlier row (values combined)")
    customers = _location_from_orders(customers, orders, config.geography.customer_location, notes)
    duplicates = _name_duplicates(customers, config)
    if config.identity.duplicates.action == "merge":
        customers, orders = _merge_duplicates(customers, orders, duplicates, ledger)
    elif len(duplicates):
        notes.append(f"customers: {duplicates['group'].nunique()} group(s) of different ids look "
                     "like one customer (same name and phone or city); flagged in duplicates, "
                     "not merged (identity.duplicates.action: flag)")
    ledger.count("customers", customers, "kept")
    customers, unresolved, geo_notes = _locate(customers, config)
    notes += geo_notes
    orders = _prepare_orders(orders, customers, config, ledger)
    reps = _read_table(reader, "reps", ledger, notes)
    if not reps.empty:
        dup = reps.duplicated("sales_rep_id")
        ledger.count("reps", reps[dup], "merged", "same sales_rep_id as an earlier row")
        reps = reps[~dup]
        ledger.count("reps", reps, "kept")
    else:
        reps = pd.DataFrame({"sales_rep_id": pd.Series(dtype="string")})
    spend = _prepare_spend(_read_table(reader, "spend", ledger, notes), config, ledger)
    if orders.empty:
        orders = pd.DataFrame({c: pd.Series(dtype=t) for c, t in (
            ("order_id", "string"), ("customer_id", "string"), ("order_date", "datetime64[ns]"),
            ("amount", "float64"))})

    result = PrepResult(
        customers=validate("customers", _finish(customers)),
        orders=validate("orders", _finish(orders)),
        reps=validate("reps", _finish(reps)),
        spend=validate("spend", _finish(spend.drop(columns=["region"], errors="ignore"))),
        ledger=ledger.frame(),
        quarantine=ledger.quarantine_frame(),
        unresolved=unresolved,
        notes=list(dict.fromkeys(notes)),
        duplicates=duplicates,
    )
    check_ledger(result.ledger)
    return result


def input_files(config: Config) -> list[Path]:
    """Every configured source and joined file, in config order (globs expanded)."""
    paths: list[Path] = []
    for sources in config.sources.values():
        for source in sources:
            paths += source_paths(source, config.data_dir)
            for join in source.joins:
                paths += resolve_files(join.file, config.data_dir, source.name, must_exist=False)
    return list(dict.fromkeys(paths))


def save_prep(result: PrepResult, folder: Path, fingerprint: dict) -> None:
    """Write the tables as Parquet, the ledger and quarantine as CSV, a summary as JSON."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in result.tables().items():
        table.to_parquet(folder / f"{name}.parquet", index=False)
    for name in ("ledger", "quarantine", "unresolved", "duplicates"):  # safe to open in Excel
        write_csv(getattr(result, name), folder / f"{name}.csv")
    summary = {"fingerprint": fingerprint, "notes": result.notes,
               "rows": {name: len(t) for name, t in result.tables().items()}}
    (folder / "prep.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), "utf-8")


def load_prep(folder: Path) -> PrepResult:
    """Read what :func:`save_prep` wrote."""
    summary = json.loads((folder / "prep.json").read_text("utf-8"))
    tables = {name: pd.read_parquet(folder / f"{name}.parquet") for name in TABLES}
    read = {name: read_csv(folder / f"{name}.csv", dtype={"rows": "int64", "line": "Int64"})
            for name in ("ledger", "quarantine", "unresolved")}
    dup_path = folder / "duplicates.csv"
    duplicates = read_csv(dup_path, dtype={"customer_id": str, "kept_id": str}) if \
        dup_path.exists() else PrepResult.__dataclass_fields__["duplicates"].default_factory()
    return PrepResult(**tables, **read, notes=summary["notes"], duplicates=duplicates)
