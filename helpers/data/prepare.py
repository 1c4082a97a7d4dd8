"""Step 2, data prep: configured exports in, canonical tables and a row ledger out.

For every input file ``rows read = kept + merged + quarantined``; a row never
disappears without a reason. Quarantined rows keep their file and line number.

The order of work, per source: read (encoding, delimiter, header row found) ->
exact duplicate rows merged -> joins (other files by key) -> row filters ->
columns mapped (source column, constant, template or expression) -> ids
normalised -> types (dates, numbers) -> table rules (returns, amounts, unknown
customers, future dates). Values are parsed per *distinct* value and mapped
back, so large files cost what their variety costs.

Rows the reader could not take (ragged lines, lines in another encoding,
over-long values) are set aside first, with the reader's reason. When one reason
sets aside more than ``prep.max_quarantine_share`` of a file's rows, step 2 stops
with :class:`QuarantineStop`, naming the file, column, reason, example lines and
the likely fix, instead of going on with a fraction of the data.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import geo
from helpers.config import Config, Join, Source
from helpers.data.read import (
    EXCEL_SUFFIXES,
    INVISIBLE,
    FileSpec,
    SourceError,
    read_file,
    read_source,
    resolve_files,
    source_paths,
)
from helpers.data.schemas import validate
from helpers.exports import read_csv, write_csv
from helpers.geo.territories import territory_map

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
# Excel's day numbers (45667 is 2025-01-10) and date cells read as text ("2025-01-10 00:00:00").
EXCEL = "excel"
EXCEL_DAYS = (1, 2_958_465)         # 1900-01-01 .. 9999-12-31
EXCEL_INFER_DAYS = (20_000, 80_000)  # what inference takes for day numbers: 1954 .. 2119
EXCEL_ZERO = ("1899-12-30", "1899-12-31", "1900-01-00", "1900-01-01")  # an empty date cell
# An id Excel turned into a number in scientific notation (its digits are lost).
SCIENTIFIC_ID = r"^[0-9](\.[0-9]+)?[eE]\+[0-9]+$"
STOP_MIN_ROWS = 10  # fewer rows set aside for a reason (and not all of a file) never stop
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


class QuarantineStop(SourceError):
    """Step 2 stopped because one reason sets aside too many of a file's rows.

    The message names the file, the column, the reason, example lines and the likely
    fix. ``ledger`` and ``quarantine`` hold what step 2 had counted when it stopped.
    """

    def __init__(self, message: str, ledger: pd.DataFrame | None = None,
                 quarantine: pd.DataFrame | None = None) -> None:
        super().__init__(message)
        self.ledger = ledger
        self.quarantine = quarantine


class _Ledger:
    """Collects row outcomes per file and the quarantined rows themselves."""

    KEEP_RAW = 100_000  # raw values kept per reason (shown in quarantine.csv)

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.quarantined: list[pd.DataFrame] = []
        self.reasons: list[str] = []
        self.columns: dict[str, str | None] = {}  # reason -> the canonical column it is about
        self.shown: dict[str, str | None] = {}    # reason -> the key its raw value is shown as
        self.rules: set[str] = set()             # reasons the config asks for (never stop)
        self.formats: dict[str, list[str]] = {}  # date reason -> the formats tried
        # (table, reason) -> {(source, file, line): the value as read, before parsing}
        self.raw: dict[tuple[str, str], dict[tuple, str]] = {}

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

    def quarantine(self, table: str, frame: pd.DataFrame, mask, reason: str, *,
                   column: str | None = None, raw: pd.Series | None = None,
                   rule: bool = False, shown_as: str | None = None) -> pd.DataFrame:
        """Mark the rows of ``frame`` where ``mask`` holds for quarantine with ``reason``.

        Rows already marked keep their first reason. The rows stay in the frame (so
        that a large frame is not copied once per check) until :meth:`settle`.
        ``column`` is the canonical column the reason is about, ``raw`` its values as
        read (shown in the quarantine for values that were parsed away; under
        ``shown_as`` when given, e.g. the text of a ragged line), ``rule`` whether the
        config asked for it (filters, keep_status, returns: no stop).
        """
        mask = pd.Series(mask, index=frame.index).fillna(False).to_numpy(dtype=bool)
        if not mask.any():
            return frame
        if reason not in self.reasons:
            self.reasons.append(reason)
            self.columns[reason] = column
            self.shown[reason] = shown_as or column
        if rule:
            self.rules.add(reason)
        code = self.reasons.index(reason) + 1
        marks = frame["_rq"].to_numpy() if "_rq" in frame else np.zeros(len(frame), "int16")
        new = mask & (marks == 0)
        if raw is not None and new.any():
            kept = self.raw.setdefault((table, reason), {})
            rows = np.flatnonzero(new)[:max(0, self.KEEP_RAW - len(kept))]
            if len(rows):
                keys = zip(np.asarray(frame["_source"], dtype=object)[rows],
                           np.asarray(frame["_file"], dtype=object)[rows],
                           frame["_line"].to_numpy()[rows].tolist(), strict=True)
                values = raw.iloc[rows].astype("string").to_numpy(dtype=object, na_value=None)
                kept.update(zip(keys, values, strict=True))
        return frame.assign(_rq=np.where(new, code, marks).astype("int16"))

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
            records = values.to_dict("records")
            raw, column = self.raw.get((table, reason)), self.shown.get(reason)
            if raw and column:  # the value as read, where parsing left none
                head = bad.head(100_000)
                keys = zip(np.asarray(head["_source"], dtype=object),
                           np.asarray(head["_file"], dtype=object),
                           head["_line"].to_numpy().tolist(), strict=True)
                for rec, key in zip(records, keys, strict=True):
                    if raw.get(key) is not None:
                        rec[column] = raw[key]
            records = [json.dumps({k: v for k, v in rec.items() if not pd.isna(v)},
                                  ensure_ascii=False) for rec in records]
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


def has_invisible(series: pd.Series) -> pd.Series:
    """Where text holds characters that print as nothing (zero-width space, byte-order
    mark, direction marks ...: :data:`helpers.data.read.INVISIBLE`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if _all_ascii(series):  # nothing invisible
        return pd.Series(False, index=series.index)
    array = pa.array(series.astype("string"))
    found = pc.fill_null(pc.match_substring_regex(array, INVISIBLE), False)
    return pd.Series(found.to_numpy(zero_copy_only=False), index=series.index)


def _all_ascii(values: pd.Series) -> bool:
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.all(pc.string_is_ascii(pa.array(values.astype("string")))).as_py() is not False


def normalise_text(values: pd.Series) -> pd.Series:
    """Text as Unicode compatibility form (NFKC: full-width ``１２３`` -> ``123``, ``，`` -> ``,``)
    without invisible characters; ASCII values are returned as they are."""
    pattern = re.compile(INVISIBLE)

    def tidy(value):
        if not isinstance(value, str) or value.isascii():
            return value
        return unicodedata.normalize("NFKC", pattern.sub("", value)).strip()

    return pd.Series([tidy(v) for v in values.astype(object)], index=values.index,
                     dtype="string")


def normalise_ids(series: pd.Series) -> pd.Series:
    """Identifiers as clean text: ``"17850.0"`` (a number read as float) -> ``"17850"``;
    invisible characters (zero-width space, byte-order mark ...) removed."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = series.astype("string").str.strip()
    array = pa.array(text)
    if not _all_ascii(text) and pc.any(pc.match_substring_regex(array, INVISIBLE)).as_py():
        text = text.str.replace(INVISIBLE, "", regex=True).str.strip()
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
    """Parse number text: thousands commas, currency signs and 元 allowed, full-width
    digits read as digits (``２００`` -> 200); else NaN."""
    text = normalise_text(values.astype("string")).str.strip()
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
    plain = text.str.fullmatch(r"-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?").fillna(False)
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

    Returns the format (or :data:`EXCEL` for Excel day numbers) and how many values
    it parses.
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
    n_serial = int(serial.between(*EXCEL_INFER_DAYS).sum())
    if n_serial > best_n:
        best, best_n = EXCEL, n_serial
    return best, best_n


def _parse_format(values: pd.Series, fmt: str) -> tuple[pd.Series, np.ndarray]:
    """Distinct texts parsed with one format: the dates (NaT where not parsed) and
    -1/+1 where a value parsed but lies before/after what a timestamp holds."""
    beyond = np.zeros(len(values), dtype="int8")
    if fmt == EXCEL:
        days = pd.to_numeric(values, errors="coerce").astype("float64")
        serial = days.between(*EXCEL_DAYS)
        parsed = (pd.Timestamp("1899-12-30") + pd.to_timedelta(days.where(serial), unit="D"))
        beyond = np.where(days.notna() & (days < EXCEL_DAYS[0]), -1,
                          np.where(days > EXCEL_DAYS[1], 1, 0)).astype("int8")
        cells = days.isna() & values.notna()  # date cells read as text: 2025-01-10 00:00:00
        if cells.any():
            for text_format in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
                todo = cells & parsed.isna()
                if todo.any():
                    parsed = parsed.where(~todo, pd.to_datetime(values.where(todo),
                                                                format=text_format,
                                                                errors="coerce"))
        return pd.Series(parsed, index=values.index, dtype="datetime64[ns]"), beyond
    parsed = pd.to_datetime(values, format=fmt, errors="coerce")
    if len(parsed) and parsed.dtype != "datetime64[ns]":
        low, high = pd.Timestamp.min, pd.Timestamp.max
        beyond = np.where(parsed > high, 1, np.where(parsed < low, -1, 0)).astype("int8")
        parsed = parsed.where(beyond == 0)
    return pd.Series(parsed, index=values.index, dtype="datetime64[ns]"), beyond


def parse_dates(series: pd.Series, fmt: str | list[str] | None
                ) -> tuple[pd.Series, str | list[str] | None, pd.Series]:
    """Dates from text with ``fmt`` (inferred when None), once per distinct value.

    ``fmt`` is a strptime format, :data:`EXCEL` (Excel day numbers, and date cells
    read as ``2025-01-10 00:00:00``) or a list of them: a value takes the first that
    parses it. Full-width digits are read as digits.

    Returns the dates (NaT where not parsed), the format(s) used, and a mask of the
    values that parsed but lie outside what a timestamp holds (years 1678-2261),
    positive when in the future.
    """
    text = series.astype("string")
    codes, uniques = pd.factorize(text)
    distinct = pd.Series(uniques, dtype="string")
    if len(distinct) and not _all_ascii(distinct):
        distinct = normalise_text(distinct)
    used = fmt
    if fmt is None:
        used, _ = infer_date_format(distinct)
    parsed = pd.Series(pd.NaT, index=distinct.index, dtype="datetime64[ns]")
    beyond = np.zeros(len(distinct), dtype="int8")
    for one in ([] if used is None else [used] if isinstance(used, str) else used):
        todo = (parsed.isna() & (beyond == 0)).to_numpy()
        if not todo.any():
            break
        got, out = _parse_format(distinct[todo], one)
        parsed[todo] = got.to_numpy()
        beyond[todo] = out
    take = np.where(codes < 0, 0, codes)
    values = parsed.to_numpy().take(take) if len(parsed) else \
        np.full(len(codes), np.datetime64("NaT"), dtype="datetime64[ns]")
    out = pd.Series(values, index=series.index, dtype="datetime64[ns]").mask(codes < 0)
    outside = pd.Series(beyond.take(take) if len(beyond) else np.zeros(len(codes), "int8"),
                        index=series.index).where(codes >= 0, 0)
    return out, used, outside


def _formats_text(used: str | list[str] | None) -> str:
    """``format %Y-%m-%d``, ``formats %Y-%m-%d, %d/%m/%Y`` or ``format inferred``."""
    if isinstance(used, list):
        return "formats " + ", ".join(used) if len(used) > 1 else f"format {used[0]}"
    return f"format {used or 'inferred'}"


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
        frame = read_source(source, self.config.data_dir, self.notes, need=need,
                            max_chars=self.config.prep.max_field_chars)
        if len(frame) <= CACHE_ROWS:  # a large frame is not kept alive for a second reader
            self.cache[key] = frame
        return frame

    def join(self, join: Join, owner: Source) -> pd.DataFrame:
        paths = resolve_files(join.file, self.config.data_dir, owner.name)
        need = tuple(join.right_keys) + tuple(self._join_columns(join).values())
        spec = FileSpec(what=f"join of source '{owner.name}' ({join.file})",
                        encoding=join.encoding, delimiter=join.delimiter, sheet=join.sheet,
                        header_row=join.header_row, need=need,
                        max_chars=self.config.prep.max_field_chars)
        key = ("join", tuple(str(p) for p in paths), join.sheet, join.encoding,
               join.delimiter, str(join.header_row))
        cached = self.cache.get(key)
        if cached is not None and all(c in cached.columns for c in need):
            return cached
        frames = [read_file(p, spec, self.notes) for p in paths]
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        if "_issue" in frame:  # a joined file's rows are not in the ledger: say what is left out
            issue = frame["_issue"].astype("string")
            for reason in issue.dropna().unique():
                lines = frame.loc[issue == reason, "_line"]
                shown = ", ".join(str(n) for n in lines.head(5)) + (" ..." if len(lines) > 5
                                                                    else "")
                self.notes.append(f"join {join.file} of source '{owner.name}': {len(lines)} "
                                  f"line(s) not joined ({reason}): line(s) {shown}")
            frame = frame[issue.isna().to_numpy()].drop(columns="_issue")
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
              notes: list[str], config: Config, required: tuple = ()) -> pd.DataFrame:
    """Parse date columns. In a required one (order_date) an empty, unparseable,
    implausibly early (before ``prep.earliest_year``) or out-of-range date sets the row
    aside; elsewhere it is left empty with a note, as is a date in the future."""
    year = config.prep.earliest_year
    earliest = pd.Timestamp(year=year, month=1, day=1)
    tomorrow = pd.Timestamp.today().normalize() + pd.Timedelta(days=1)
    for col in [c for c in DATE_COLUMNS if c in frame]:
        fmt = source.dates.get(col)
        raw = frame[col]
        parsed, used, beyond = parse_dates(raw, fmt)
        if fmt is None and raw.notna().any():
            shown = used or "none found"
            notes.append(f"{source.name}: {col}: no format configured; inferred {shown!r} "
                         f"({int(parsed.notna().sum())} of {int(raw.notna().sum())} "
                         "values parse)")
        bad = parsed.isna() & raw.notna() & (beyond == 0)
        early = ((parsed < earliest) | (beyond < 0)).to_numpy()
        late = ((parsed >= tomorrow) | (beyond > 0)).to_numpy()
        if col in required:
            frame = ledger.quarantine(table, frame, raw.isna(), f"{col} is empty", column=col)
            frame = ledger.quarantine(table, frame, beyond > 0, f"{col} in the future",
                                      column=col, raw=raw)
            frame = ledger.quarantine(table, frame, early,
                                      f"{col} before {year} (prep.earliest_year)",
                                      column=col, raw=raw)
            reason = f"{col} does not match {_formats_text(used)}"
            frame = ledger.quarantine(table, frame, bad, reason, column=col, raw=raw)
            ledger.formats.setdefault(reason, [] if used is None else
                                      [used] if isinstance(used, str) else list(used))
        else:
            if bad.any():
                notes.append(f"{source.name}: {col}: {int(bad.sum())} value(s) not in "
                             f"{_formats_text(used)} were left empty "
                             f"(e.g. {raw[bad].iloc[0]!r})")
            if early.any():
                zero = parsed[early].dt.strftime("%Y-%m-%d").isin(EXCEL_ZERO).any()
                notes.append(f"{source.name}: {col}: {int(early.sum())} value(s) before {year} "
                             f"(prep.earliest_year) were left empty (e.g. "
                             f"{raw[early].iloc[0]!r})" + (
                                 "; 1899-12-30 and 1900-01-00 are what Excel shows for an "
                                 "empty date cell" if zero else ""))
            if late.any():
                notes.append(f"{source.name}: {col}: {int(late.sum())} value(s) in the future "
                             f"were left empty (e.g. {raw[late].iloc[0]!r})")
            parsed = parsed.mask(early | late)
        frame = frame.assign(**{col: parsed})
    return frame


def _to_numbers(frame: pd.DataFrame, table: str, ledger: _Ledger, notes: list[str],
                required: tuple = ()) -> pd.DataFrame:
    """Parse numeric columns. Text or a non-finite number (inf, 1e309) in a required one
    sets the row aside; elsewhere it becomes NA with a note. A fraction in a whole-number
    column (quantity 2.5) is rounded, with a note."""
    for col in [c for c in INT_COLUMNS + FLOAT_COLUMNS + ("amount",) if c in frame]:
        raw = frame[col]
        number = parse_numbers(raw)
        bad = number.isna() & raw.notna()
        infinite = pd.Series(np.isinf(number.to_numpy()), index=number.index)
        if col in required:
            frame = ledger.quarantine(table, frame, raw.isna(), f"{col} is empty", column=col)
            frame = ledger.quarantine(table, frame, bad, f"{col} is not a number", column=col,
                                      raw=raw)
            frame = ledger.quarantine(table, frame, infinite, f"{col} is not a finite number",
                                      column=col, raw=raw)
        else:
            if bad.any():
                notes.append(f"{table}.{col}: {int(bad.sum())} value(s) are not numbers and "
                             f"were left empty (e.g. {raw[bad].iloc[0]!r})")
            if infinite.any():
                notes.append(f"{table}.{col}: {int(infinite.sum())} value(s) are not finite "
                             f"numbers and were left empty (e.g. {raw[infinite].iloc[0]!r})")
                number = number.mask(infinite)
        if col in INT_COLUMNS:
            fraction = number.notna() & ~infinite & (number != np.floor(number))
            if fraction.any():
                example = raw[fraction].iloc[0]
                notes.append(f"{table}.{col}: {int(fraction.sum())} value(s) have a fraction "
                             f"and were rounded to whole numbers, as {col} holds whole numbers "
                             f"(e.g. {example!r} -> {number[fraction].round().iloc[0]:.0f})")
            typed = number.mask(infinite).round().astype("Int64")
        else:
            typed = number.astype("float64")
        frame = frame.assign(**{col: typed})
    return frame


def _id_notes(frame: pd.DataFrame, source: Source, notes: list[str]) -> None:
    """Note ids that held invisible characters (removed) and ids that Excel wrote in
    scientific notation (digits lost: cannot be recovered)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for col in [c for c in ID_COLUMNS if c in frame]:
        hidden = has_invisible(frame[col])
        if hidden.any():
            lines = frame.loc[hidden, "_line"].head(3).tolist()
            notes.append(f"{source.name}: {col}: {int(hidden.sum())} id(s) held invisible "
                         "characters (zero-width space, byte-order mark ...) that were removed "
                         f"(line(s) {', '.join(str(n) for n in lines)} ...)")
        array = pa.array(frame[col].astype("string"))
        if not (pc.any(pc.match_substring(array, "E+")).as_py()
                or pc.any(pc.match_substring(array, "e+")).as_py()):
            continue
        sci = pd.Series(pc.fill_null(pc.match_substring_regex(array, SCIENTIFIC_ID), False)
                        .to_numpy(zero_copy_only=False), index=frame.index)
        if sci.any():
            ids = frame.loc[sci, col]
            notes.append(
                f"{source.name}: {col}: {int(sci.sum())} id(s) look like numbers Excel wrote "
                f"in scientific notation ({ids.nunique()} distinct, e.g. {ids.iloc[0]!r}): "
                "their digits are lost and cannot be recovered, so rows that share one such id "
                f"are taken as one {col.removesuffix('_id')}; re-export the column formatted "
                "as text")


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
    if "_issue" in raw:  # rows the reader could not take as they are
        issue = raw["_issue"].astype("string")
        for reason in issue.dropna().unique():
            raw = ledger.quarantine(table, raw, (issue == reason).fillna(False), reason,
                                    raw=raw["_text"], shown_as="line text")
        raw = raw.drop(columns=["_issue", "_text"])
    if "_rq" in raw:  # a row set aside is not merged into another
        unmarked = raw["_rq"].to_numpy() == 0
        dup = pd.Series(False, index=raw.index)
        dup[unmarked] = _exact_duplicates(raw[unmarked]).to_numpy()
    else:
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
                raw = ledger.quarantine(table, raw, drop & (shown == value), reason,
                                        column=rule.column, rule=True)
    frame = _map_columns(raw, source)
    _id_notes(frame, source, notes)
    for col in [c for c in ID_COLUMNS if c in frame]:
        frame = frame.assign(**{col: normalise_ids(frame[col])})
    key = KEYS[table]
    if key in frame:
        frame = ledger.quarantine(table, frame, frame[key].isna(), f"{key} is empty", column=key)
    if table != "orders" and source.keep_status is not None and "status" in frame:
        frame = _keep_status(frame, source, table, ledger)
    required_dates = ("order_date",) if table == "orders" else ()
    frame = _to_dates(frame, source, table, ledger, notes, reader.config, required_dates)
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
                                  f"status {status!r} not in keep_status", column="status",
                                  rule=True)
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
    tomorrow = pd.Timestamp.today().normalize() + pd.Timedelta(days=1)
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


def _prepare_spend(spend: pd.DataFrame, config: Config, ledger: _Ledger) -> pd.DataFrame:
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


# --------------------------------------------------------------------------- the stop rule


def _check_stop(ledger: _Ledger, config: Config, tables: tuple[str, ...]) -> None:
    """Stop when one reason sets aside more than ``prep.max_quarantine_share`` of a file's
    rows (and at least :data:`STOP_MIN_ROWS` of them, or all); reasons the config asks for
    (filters, keep_status, returns excluded) do not count.

    Raises
    ------
    QuarantineStop
        Naming the file, column, reason, three example lines and the likely fix.
    """
    limit = config.prep.max_quarantine_share
    counts = ledger.frame()
    counts = counts[counts["table"].isin(tables)]
    if counts.empty:
        return
    read = counts[counts["outcome"] == "read"].groupby(["table", "source", "file"])["rows"].sum()
    lost = counts[(counts["outcome"] == "quarantined") & ~counts["reason"].isin(ledger.rules)]
    over = []
    for (table, source, file, reason), rows in lost.groupby(
            ["table", "source", "file", "reason"], sort=False)["rows"].sum().items():
        total = int(read.get((table, source, file), 0))
        if total and rows > limit * total and (rows >= STOP_MIN_ROWS or rows == total):
            over.append((rows / total, int(rows), total, table, source, file, reason))
    if not over:
        return
    over.sort(key=lambda o: (-o[0], -o[1]))
    raise QuarantineStop(_stop_message(over, ledger, config), ledger=ledger.frame(),
                         quarantine=ledger.quarantine_frame())


def _percent(share: float) -> str:
    return f"{share * 100:.4g}%"


def _examples(ledger: _Ledger, table: str, source: str, file: str, reason: str,
              n: int = 1000) -> list[tuple[int, str | None, dict]]:
    """Up to ``n`` rows set aside for ``reason`` in ``file``: (line, value of the reason's
    column as read, the row's values)."""
    column = ledger.shown.get(reason)
    out = []
    for part in ledger.quarantined:
        if len(out) >= n:
            break
        if part.empty or part["table"].iat[0] != table or part["reason"].iat[0] != reason:
            continue
        rows = part[(part["source"] == source) & (part["file"] == file)].head(n - len(out))
        for line, text in zip(rows["line"], rows["values"], strict=True):
            values = json.loads(text)
            out.append((int(line), values.get(column) if column else None, values))
    return sorted(out, key=lambda e: e[0])


def _stop_message(over: list[tuple], ledger: _Ledger, config: Config) -> str:
    share, rows, total, table, source, file, reason = over[0]
    column = ledger.columns.get(reason)
    index = next(i for i, s in enumerate(config.sources[table]) if s.name == source)
    spec = config.sources[table][index]
    key = f"sources.{table}[{index}]"
    mapped = spec.columns.get(column) if column else None
    where = (f" (column {mapped!r}, mapped to {column})" if isinstance(mapped, str) else
             f" (column {column})" if column else "")
    examples = _examples(ledger, table, source, file, reason)
    lines = [f"{file} (source '{source}', {table}): {rows:,} of {total:,} rows ({_percent(share)}) "
             f"would be set aside for one reason: {reason}{where}. For example:"]
    for line, value, values in examples[:3]:
        shown = repr(value) if value is not None else json.dumps(values, ensure_ascii=False)
        shown = shown if len(shown) <= 160 else shown[:157] + "..."
        lines.append(f"  line {line}: {shown}")
    fix = _likely_fix(reason, column, [v for _, v, _ in examples if v is not None],
                      ledger, key, spec, file)
    if fix:
        lines.append(f"Likely fix: {fix}.")
    if len(over) > 1:
        lines.append("Also over the limit: " + "; ".join(
            f"{o[5]}: {o[6]} ({o[1]:,} of {o[2]:,} rows)" for o in over[1:4]))
    lines.append(f"Step 2 stops when one reason sets aside more than "
                 f"{_percent(config.prep.max_quarantine_share)} of a file's rows "
                 "(prep.max_quarantine_share in workbook.yaml); if setting these rows aside is "
                 "right, raise it to go on.")
    return "\n".join(lines)


def _likely_fix(reason: str, column: str | None, values: list[str], ledger: _Ledger, key: str,
                source: Source, file: str) -> str:
    """What most likely makes the rows set aside for ``reason`` readable."""
    mapping = f"{key}.columns.{column}"
    if column in DATE_COLUMNS and " does not match " in reason:
        return _date_fix(values, column, ledger.formats.get(reason, []), key, source, file)
    if reason.startswith(f"{column} before "):
        zero = any(str(v).startswith(EXCEL_ZERO) or str(v).strip() in ("0", "1", "0.0")
                   for v in values)
        return ("dates before prep.earliest_year are taken as wrong"
                + (": 1899-12-30 and 1900-01-00 (day 0 or 1) are what Excel writes for an "
                   "empty date cell, so the dates are missing in the export" if zero else "")
                + "; if the dates are real, lower prep.earliest_year")
    if reason.endswith(" in the future"):
        return (f"check the date format ({key}.dates.{column}; day and month swapped?) and "
                "the dates in the export")
    if reason.endswith(" is not a finite number"):
        return ("inf, Infinity and numbers past 1.8e308 are not amounts (a division by zero "
                "in a spreadsheet formula?): fix them in the export")
    if reason.endswith(" is not a number"):
        return (f"check that {mapping} names the {column} column; numbers may carry thousands "
                "separators and currency signs (1,234.50, ¥200), not words or NaN")
    if reason.endswith(" is empty"):
        return f"check that {mapping} names the right column: it is empty in these rows"
    if reason == "unknown customer_id":
        return ("these orders name customers that are not in the customers table: check that "
                "both tables map the same key (a per-order id in place of the person's id?) "
                "and that the customers export is complete")
    if reason == "amount is zero":
        return f"if zero amounts are real (free samples, ...), set {key}.zero_amount: keep"
    if reason == "amount is negative":  # marketing spend
        return "a budget spent cannot be negative: fix the amounts in the export"
    if reason.startswith("amount is negative"):
        return (f"if these are returns, mark them with {key}.returns; if negative amounts are "
                f"real, set {key}.negative_amount: keep")
    if reason.startswith("ragged line"):
        return (f"values hold the delimiter without quotes, or the delimiter is wrong: set "
                f"{key}.delimiter, or quote the values in the export")
    if reason.startswith("line is not valid"):
        return ("the export mixes encodings: re-export the file in one encoding (UTF-8), or set "
                f"{key}.encoding if the whole file is in another one")
    if "prep.max_field_chars" in reason:
        return "if such long values are real, raise prep.max_field_chars"
    return ""


def _date_fix(values: list[str], column: str, tried: list[str], key: str, source: Source,
              file: str) -> str:
    """Why dates did not parse: Excel day numbers or date cells, or other formats mixed in."""
    setting = f"{key}.dates.{column}"
    texts = pd.Series([str(v) for v in values], dtype="string")
    if texts.empty:
        return f"check that {key}.columns.{column} names the date column"
    days = pd.to_numeric(texts, errors="coerce").astype("float64")
    serial = days.between(*EXCEL_DAYS)
    if serial.mean() > 0.5:
        example = texts[serial].iloc[0]
        day = pd.Timestamp("1899-12-30") + pd.Timedelta(days=float(example))
        return (f"the dates look like Excel date cells saved as day numbers ({example} is "
                f"{day:%Y-%m-%d}): set {setting} to excel, or remove {setting} to have the "
                "format inferred")
    cells = texts.str.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}").fillna(False)
    if Path(file).suffix.lower() in EXCEL_SUFFIXES and cells.mean() > 0.5:
        return (f"the dates are Excel date cells (read as {texts[cells].iloc[0]!r}), which a "
                f"text format does not fit: remove {setting} or set it to excel")
    found = []
    rest = texts.drop_duplicates()
    for _ in range(4):
        fmt, n = infer_date_format(rest)
        if fmt is None or n == 0:
            break
        parsed = parse_dates(rest, fmt)[0]
        found.append((fmt, int(texts.isin(rest[parsed.notna()]).sum())))
        rest = rest[parsed.isna()]
        if rest.empty:
            break
    if not found:
        return (f"check that {key}.columns.{column} names the date column (it holds "
                f"{texts.iloc[0]!r})")
    listed = list(dict.fromkeys([*tried, *(f for f, _ in found)]))
    shown = ", ".join(f"{f!r} ({n:,})" for f, n in found)
    if tried:
        both = any(f.startswith("%d") or f.startswith("%m") for f in listed)
        return (f"the column mixes date formats: besides {', '.join(map(repr, tried))}, the "
                f"rows set aside use {shown}; list the formats in the order to try them: "
                f"{setting}: {listed}" + (
                    " (a value takes the first format that reads it; 01/02/2025 reads both "
                    "day-first and month-first, so put the export's order first)" if both
                    else " (a value takes the first format that reads it)"))
    return f"the dates use {shown}: set {setting} to {found[0][0]!r}"



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

    Raises :class:`helpers.data.read.SourceError` for unreadable inputs,
    :class:`QuarantineStop` (a ``SourceError``) when one reason sets aside more than
    ``prep.max_quarantine_share`` of a file's rows, and
    :class:`helpers.data.schemas.ValidationFailed` listing every schema problem.
    """
    ledger, notes = _Ledger(), []
    reader = _Reader(config, notes)
    raw_customers = _read_table(reader, "customers", ledger, notes)
    _check_stop(ledger, config, ("customers",))
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

    _check_stop(ledger, config, TABLES)
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
    from, see ``helpers.context.prep_fingerprint``) is kept in the summary.
    """
    from helpers.files import atomic_path, sha256_file, write_atomic

    folder.mkdir(parents=True, exist_ok=True)
    (folder / PREP_SUMMARY).unlink(missing_ok=True)  # the folder is incomplete until it is back
    files = {}
    for name, table in _prep_files(result).items():
        with atomic_path(folder / name) as tmp:
            if name.endswith(".parquet"):
                table.to_parquet(tmp, index=False)
            else:
                write_csv(table, tmp)  # safe to open in Excel
        files[name] = {"bytes": (folder / name).stat().st_size,
                       "sha256": sha256_file(folder / name)}
    summary = {"fingerprint": fingerprint, "notes": result.notes,
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
    from helpers.files import sha256_file

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


def load_prep(folder: Path) -> PrepResult:
    """Read what :func:`save_prep` wrote, after checking every file (:func:`check_prep_files`).

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
            if name.endswith(".parquet"):
                frames[stem] = pd.read_parquet(path)
            elif stem == "duplicates":
                frames[stem] = read_csv(path, dtype={"customer_id": str, "kept_id": str})
            else:
                frames[stem] = read_csv(path, dtype={"rows": "int64", "line": "Int64"})
        except Exception as exc:  # intact bytes that still do not parse
            raise PrepDamaged(path, f"unreadable ({type(exc).__name__}: {exc})") from None
    return PrepResult(**frames, notes=list(summary.get("notes") or []))
