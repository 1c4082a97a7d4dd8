"""The row ledger: what happened to every input row, and the rule that stops step 2.

For every input file ``rows read = kept + merged + quarantined``; a row never
disappears without a reason (:func:`check_ledger`). Quarantined rows keep their
file and line number and their values as read.

When one reason sets aside more than ``prep.max_quarantine_share`` of a file's rows,
step 2 stops with :class:`QuarantineStop` (:func:`check_stop`), naming the file,
column, reason, example lines and the likely fix, instead of going on with a
fraction of the data.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.config import Config
from helpers.data.clean import (
    DATE_COLUMNS,
    EXCEL_DAYS,
    EXCEL_ZERO,
    infer_date_format,
    parse_dates,
)
from helpers.data.inputs import SourceError
from helpers.data.read import EXCEL_SUFFIXES
from helpers.data.sources import Source

STOP_MIN_ROWS = 10  # fewer rows set aside for a reason (and not all of a file) never stop


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


# --------------------------------------------------------------------------- the ledger


_JSON_ESCAPED = r'["\\\x00-\x1f]'  # what json.dumps(ensure_ascii=False) writes otherwise


def _records_json(values: pd.DataFrame, raw: tuple[str, list] | None = None) -> np.ndarray:
    """Each row of ``values`` (text) as ``json.dumps`` writes the dict of its non-empty
    values (``ensure_ascii=False``), column by column rather than row by row (only values
    that need escapes go through ``json.dumps``). ``raw`` (column, value per row or None): that column's value
    where one is given (a column not in ``values`` comes last, as a key added to the dict).
    """
    n = len(values)
    out = np.full(n, "", dtype=object)
    has = np.zeros(n, dtype=bool)
    columns = list(values.columns)
    if raw is not None and raw[0] not in columns:
        columns.append(raw[0])
    for col in columns:
        series = values[col] if col in values else pd.Series(pd.NA, index=values.index,
                                                             dtype="string")
        if raw is not None and col == raw[0]:
            given = pd.Series(raw[1], index=values.index, dtype="string")
            series = given.where(given.notna(), series)
        valid = series.notna().to_numpy(dtype=bool)
        if not valid.any():
            continue
        text = series[valid]
        key = json.dumps(str(col), ensure_ascii=False) + ": "
        written = key + '"' + text.to_numpy(dtype=object) + '"'
        escape = text.str.contains(_JSON_ESCAPED, regex=True).to_numpy(dtype=bool)
        if escape.any():  # quotes, backslashes, control characters: as json.dumps escapes them
            written[escape] = [key + json.dumps(str(v), ensure_ascii=False)
                               for v in text[escape]]
        before = out[valid]
        out[valid] = np.where(has[valid], before + ", " + written, written)
        has |= valid
    return "{" + out + "}"



SHOWN_ROWS = 100_000  # rows of each reason whose values the quarantine shows


class Ledger:
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
        """Count ``rows`` of ``file`` under ``outcome`` (read, kept, merged, quarantined)."""
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

    def settle(self, table: str, frame: pd.DataFrame,
               budget: dict[str, int] | None = None) -> pd.DataFrame:
        """Move the marked rows to quarantine (counted per file and reason); return the rest.

        The values of the first :data:`SHOWN_ROWS` rows of each reason are kept; ``budget``
        (reason -> rows still to show, updated) carries that count over the parts of a
        table settled part by part (:meth:`consolidate`).
        """
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
            limit = SHOWN_ROWS if budget is None else budget.setdefault(reason, SHOWN_ROWS)
            if budget is not None:
                budget[reason] = max(0, limit - len(bad))
            values = bad[shown].head(limit).astype("string")
            raw, column, shown_raw = self.raw.get((table, reason)), self.shown.get(reason), None
            if raw and column:  # the value as read, where parsing left none
                head = bad.head(limit)
                keys = zip(np.asarray(head["_source"], dtype=object),
                           np.asarray(head["_file"], dtype=object),
                           head["_line"].to_numpy().tolist(), strict=True)
                shown_raw = (column, [raw.get(key) for key in keys])
            records = _records_json(values, shown_raw).tolist()
            records += ["{}"] * (len(bad) - len(records))
            self.quarantined.append(pd.DataFrame({
                "table": table, "source": np.asarray(bad["_source"], dtype=object),
                "file": np.asarray(bad["_file"], dtype=object), "line": bad["_line"].to_numpy(),
                "reason": reason, "values": records,
            }))
        return _keep_rows(frame, keep).drop(columns="_rq")

    def consolidate(self, rows_from: int, quarantined_from: int, reasons_from: int,
                    reason_order: list[str]) -> None:
        """What part-by-part :meth:`settle` calls added since ``len(self.rows) ==
        rows_from`` (and ``quarantined_from``, ``reasons_from``) made what one call on all
        the parts (in order) adds: reasons first met then in ``reason_order`` (the order of
        the checks), one count per file, outcome and reason, the quarantined rows by
        reason."""
        new = self.reasons[reasons_from:]
        rank = {r: i for i, r in enumerate(reason_order)}
        self.reasons[reasons_from:] = sorted(new, key=lambda r: rank.get(r, len(rank)))
        code = {r: i for i, r in enumerate(self.reasons)}
        merged: dict[tuple, dict] = {}
        for row in self.rows[rows_from:]:
            key = (row["table"], row["source"], row["file"], row["outcome"], row["reason"])
            if key in merged:
                merged[key]["rows"] += row["rows"]
            else:
                merged[key] = dict(row)
        self.rows[rows_from:] = sorted(merged.values(), key=lambda r: code.get(r["reason"], -1))
        parts = self.quarantined[quarantined_from:]
        if len(parts) > 1:
            rows = pd.concat(parts, ignore_index=True)
            order = np.argsort(rows["reason"].map(code).to_numpy(), kind="stable")
            self.quarantined[quarantined_from:] = [
                rows[rows["reason"] == r].reset_index(drop=True)
                for r in dict.fromkeys(rows["reason"].iloc[order])]

    def frame(self) -> pd.DataFrame:
        """The counts: one row per table, source, file, outcome and reason."""
        return pd.DataFrame(self.rows, columns=["table", "source", "file", "outcome", "reason", "rows"])

    def quarantine_frame(self) -> pd.DataFrame:
        """The rows set aside: table, source, file, line, reason, values (JSON)."""
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


# --------------------------------------------------------------------------- the stop rule


def check_stop(ledger: Ledger, config: Config, tables: tuple[str, ...]) -> None:
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


def _examples(ledger: Ledger, table: str, source: str, file: str, reason: str,
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


def _stop_message(over: list[tuple], ledger: Ledger, config: Config) -> str:
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


def _likely_fix(reason: str, column: str | None, values: list[str], ledger: Ledger, key: str,
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
