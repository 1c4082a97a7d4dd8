"""Values as read turned into what they mean: text, identifiers, numbers, dates.

Every parser works once per *distinct* value and maps back (:func:`map_distinct`),
so large files cost what their variety costs. :func:`to_dates`, :func:`to_numbers`
and :func:`id_notes` type the canonical columns of one source after mapping: a
value that does not parse in a required column sets its row aside (in the
:class:`helpers.data.ledger.Ledger`), elsewhere it is left empty with a note.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from helpers.config import Config
from helpers.data.sources import Source

if TYPE_CHECKING:
    from helpers.data.ledger import Ledger

# Characters that print as nothing: soft hyphen, Mongolian vowel separator, zero-width
# space and joiners, direction marks and embeddings, word joiner, byte-order mark.
INVISIBLE = "[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]"
# What ``str.strip`` and pyarrow's ``utf8_trim_whitespace`` remove: every character with
# ``str.isspace`` (tests check); the SQL twins in :mod:`helpers.data.engine` trim these.
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003"
              "\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
INT_COLUMNS = ("headcount", "sales_staff", "tech_staff", "product_tier_count", "quantity")
FLOAT_COLUMNS = ("registered_capital", "years_active", "typical_order_value", "lat", "lon",
                 "discount", "list_price")
DATE_COLUMNS = ("signup_date", "order_date")
ID_COLUMNS = ("customer_id", "order_id", "sales_rep_id")
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
    mark, direction marks ...: :data:`INVISIBLE`)."""
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


# --------------------------------------------------------------------------- typing mapped columns


def to_dates(frame: pd.DataFrame, source: Source, table: str, ledger: Ledger,
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


def to_numbers(frame: pd.DataFrame, table: str, ledger: Ledger, notes: list[str],
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


def id_notes(frame: pd.DataFrame, source: Source, notes: list[str]) -> None:
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
