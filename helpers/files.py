"""Files the workbook writes and reads back: whole or not at all, JSON, and safe spreadsheets.

Everything a run writes for people to open (reports, notebooks, the manifest, the
index, the prep tables, the step outputs) goes through :func:`write_atomic` or
:func:`atomic_path`: the data go to a temporary file in the same folder, which then
replaces the target in one step (``os.replace``), so a full disk or an interrupted
run leaves the old file or none, never a truncated one. :func:`os_error_message`
says in one line what failed and what to do.

JSON (:func:`write_json`) is readable UTF-8 with NaN and NA as ``null``.

CSV and Excel files are safe to open: no cell starts a formula. The workbook's CSV
and XLSX files (the action and campaign lists, the insight tables, the ledger and
quarantine of step 2 ...) are opened in Excel, LibreOffice or a CSV viewer, and
their text comes from CRM and ERP exports. A customer named
``=HYPERLINK("http://…","click")`` would become a live formula there (CSV or
formula injection). :func:`neutralise` applies the OWASP rule: a text cell that
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, also after
leading white space, gets a single quote in front, so the spreadsheet shows it as
text. Numbers stay numbers (only ``str`` cells change, and column headers). Every
writer goes through :func:`write_csv` or :func:`write_xlsx`; files the workbook
reads back go through :func:`read_csv`, which removes exactly the quote
:func:`neutralise` added (a value that already began with quotes before a trigger
gets one more, so the round trip returns every value unchanged).
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import re
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

__all__ = ["sha256_file", "write_atomic", "atomic_path", "os_error_message", "write_json",
           "neutralise", "restore", "neutralise_text", "restore_text", "write_csv",
           "write_xlsx", "read_csv"]


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's content, read in chunks (``hashlib.file_digest``).

    Raises
    ------
    OSError
        When the file cannot be read.
    """
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


# --------------------------------------------------------------------------- writing


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; it replaces ``path`` when the block ends.

    When the block raises, the temporary file is removed and ``path`` is left as it
    was. An ``OSError`` is raised again naming ``path`` (a failed ``write()`` does not
    name its file).

    Examples
    --------
    >>> with atomic_path(folder / "orders.parquet") as tmp:   # doctest: +SKIP
    ...     frame.to_parquet(tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.partial")
    # created as open() would (mode 0o666 less the umask), not private like mkstemp's
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.filename in (None, str(tmp), tmp):
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: str | bytes, encoding: str = "utf-8") -> Path:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``; return ``path``."""
    with atomic_path(path) as tmp:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data, encoding=encoding)
    return Path(path)


_ADVICE = {
    errno.ENOSPC: "the disk is full: free some space",
    errno.EDQUOT: "the disk quota is used up: free some space",
    errno.EROFS: "the folder is read-only: choose another one (--reports)",
    errno.EACCES: "no permission: choose another folder (--reports) or fix its permissions",
    errno.EPERM: "no permission: choose another folder (--reports) or fix its permissions",
}


def os_error_message(exc: OSError, action: str = "write") -> str:
    """One line for a failed file operation: the path, the reason and what to do.

    >>> os_error_message(OSError(28, "No space left on device", "/r/x/manifest.json"))
    'cannot write /r/x/manifest.json: No space left on device (the disk is full: free some space)'
    """
    where = exc.filename if exc.filename is not None else "a file"
    reason = exc.strerror or str(exc)
    advice = _ADVICE.get(exc.errno or 0)
    return f"cannot {action} {where}: {reason}" + (f" ({advice})" if advice else "")


# --------------------------------------------------------------------------- JSON


def _plain(value):
    """JSON-ready copy: NaN and NA become None, numpy scalars Python numbers."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, pd.Timestamp) and value is not pd.NaT:
        return f"{value:%Y-%m-%d}" if value == value.normalize() else value.isoformat()
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def write_json(data: dict, path: Path) -> Path:
    """Write ``data`` as readable UTF-8 JSON (NaN and NA as null)."""
    return write_atomic(path, json.dumps(_plain(data), ensure_ascii=False, indent=2,
                                         default=str))


# --------------------------------------------------------------------------- CSV and Excel

# A formula trigger at the start, or after leading white space (OWASP CSV injection).
_TRIGGER = re.compile(r"^(?:[=+\-@\t\r]|\s+[=+\-@\t\r])")


def _risky(text: str) -> bool:
    return bool(_TRIGGER.match(text.lstrip("'")))


def neutralise_text(value):
    """One cell: ``"'" + value`` when the text (after any leading quotes) would start a
    formula, else ``value`` unchanged (also for anything that is not a ``str``)."""
    if isinstance(value, str) and _risky(value):
        return "'" + value
    return value


def restore_text(value):
    """The inverse of :func:`neutralise_text`."""
    if isinstance(value, str) and value.startswith("'") and _risky(value[1:]):
        return value[1:]
    return value


def _map_frame(frame: pd.DataFrame, cell) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            # the map is one-to-one on text, so the categories stay distinct
            out[column] = values.cat.rename_categories(
                [cell(c) for c in values.cat.categories])
        elif pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values):
            out[column] = values.map(cell, na_action="ignore").astype(values.dtype)
    out.columns = pd.Index([cell(c) for c in out.columns], name=out.columns.name)
    if not isinstance(out.index, pd.RangeIndex):
        out.index = pd.Index([cell(i) for i in out.index], name=cell(out.index.name))
    return out


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cannot start a formula in a spreadsheet.

    Parameters
    ----------
    frame : DataFrame

    Returns
    -------
    DataFrame
        Same shape and dtypes. In text columns (object or string dtype), every
        ``str`` cell that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage
        return, or with white space followed by one of them, gets a leading
        ``'`` (:func:`neutralise_text`); column headers and index labels likewise.
        Numeric, boolean and date columns are not touched, and missing values
        stay missing.
    """
    return _map_frame(frame, neutralise_text)


def restore(frame: pd.DataFrame) -> pd.DataFrame:
    """The inverse of :func:`neutralise` (for files the workbook reads back)."""
    return _map_frame(frame, restore_text)


#: The encoding of every CSV the workbook writes: UTF-8 with a byte-order mark, so that
#: Excel (which reads a CSV without one in the system's code page, GBK on a Chinese
#: Windows) shows Chinese names as written; pandas, DuckDB and Python's ``utf-8-sig`` read
#: it as plain UTF-8.
CSV_ENCODING = "utf-8-sig"


def write_csv(frame: pd.DataFrame, path: Path, *, index: bool = False, **kwargs) -> Path:
    """Write ``frame`` as CSV (:data:`CSV_ENCODING`) with :func:`neutralise` applied; return
    ``path``."""
    kwargs.setdefault("encoding", CSV_ENCODING)
    neutralise(frame).to_csv(path, index=index, **kwargs)
    return Path(path)


#: Rows of data one worksheet holds under its header (Excel's 1,048,576 rows in all).
XLSX_MAX_ROWS = 1_048_575


def write_xlsx(sheets: Mapping[str, pd.DataFrame], path: Path, *,
               notes: Mapping[str, str] | None = None) -> Path:
    """Write one sheet per frame (``{sheet name: frame}``) with :func:`neutralise` applied.

    Written row by row by XlsxWriter (``constant_memory``): 2.7x less CPU than pandas
    through openpyxl for the national action lists (15,000 rows: 1.9 s against 5.0 s).
    Each sheet has a bold header row that stays in view, a filter on it, and columns
    wide enough for their header and values (at most 60 characters); dates are shown as
    dates, missing values as empty cells, infinities as ``inf``. Text is stored as text:
    XlsxWriter is told not to read a string as a formula, a link or a number, and after
    :func:`neutralise` no cell starts with ``=`` anyway, so the workbook holds values
    only. Written whole or not at all (:func:`atomic_path`). A frame longer than a sheet
    holds (:data:`XLSX_MAX_ROWS` rows under the header) goes on in ``<name> (2)``,
    ``<name> (3)`` ...: no row is left out.

    ``notes`` (``{sheet name: text}``, optional) puts a line of text in italics above the
    header of that sheet (and of each of its continued sheets): the header is then row 2,
    the filter and the frozen rows follow it (e.g. what the sheet leaves out and where it
    is: :func:`helpers.steps.strategy.save_strategy`).
    """
    import xlsxwriter

    options = {"constant_memory": True, "strings_to_formulas": False,
               "strings_to_urls": False, "strings_to_numbers": False,
               "default_date_format": "yyyy-mm-dd"}
    with atomic_path(path) as tmp:
        book = xlsxwriter.Workbook(str(tmp), options)
        header = book.add_format({"bold": True, "bottom": 1})
        italic = book.add_format({"italic": True})
        notes = notes or {}
        unknown = sorted(set(notes) - set(sheets))
        if unknown:
            raise ValueError(f"notes for sheets that are not written: {unknown}")
        for name, frame in sheets.items():
            safe = neutralise(frame)
            note = notes.get(name)
            note = None if note is None else neutralise_text(str(note))
            rows = XLSX_MAX_ROWS - (note is not None)  # the note takes a row of the sheet
            starts = range(0, max(len(safe), 1), rows)
            for part, start in enumerate(starts, start=1):
                suffix = f" ({part})" if part > 1 else ""
                _write_sheet(book, str(name)[:31 - len(suffix)].rstrip() + suffix,
                             safe.iloc[start:start + rows], header, (note, italic))
        book.close()
    return Path(path)


def _write_sheet(book, name: str, safe: pd.DataFrame, header, note=(None, None)) -> None:
    """One worksheet of :func:`write_xlsx`: the note (text, format) above the header when
    there is one, the header, the rows, widths, filter."""
    import numpy as np

    sheet = book.add_worksheet(name)
    top = 0
    if note[0] is not None:
        sheet.write_string(0, 0, note[0], note[1])
        top = 1
    titles = [str(c) for c in safe.columns]
    columns, widths = [], []
    for title, column in zip(titles, safe.columns, strict=True):
        values = safe[column]
        if pd.api.types.is_float_dtype(values):
            numbers = values.to_numpy(dtype=float, na_value=np.nan)
            cells = [None if v != v else ("inf" if v > 0 else "-inf")
                     if math.isinf(v) else v for v in numbers.tolist()]
        elif pd.api.types.is_datetime64_any_dtype(values):
            cells = [None if pd.isna(v) else v.to_pydatetime()
                     for v in values.tolist()]
        else:
            cells = [None if _missing(v) else v
                     for v in values.astype(object).tolist()]
        columns.append(cells)
        longest = max((len(str(v)) for v in cells[:2000] if v is not None),
                      default=0)
        widths.append(min(max(len(title), longest, 6) + 2, 60))
    sheet.write_row(top, 0, titles, header)
    for r, row in enumerate(zip(*columns, strict=True), start=top + 1):
        sheet.write_row(r, 0, row)
    for c, width in enumerate(widths):
        sheet.set_column(c, c, width)
    sheet.freeze_panes(top + 1, 0)
    if titles:
        sheet.autofilter(top, 0, top + len(safe), len(titles) - 1)


def _missing(value) -> bool:
    """True for None, NaN, NA and NaT (False for anything pandas cannot test, e.g. lists)."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def read_csv(path: Path, **kwargs) -> pd.DataFrame:
    """Read a CSV that :func:`write_csv` wrote, with the added quotes removed."""
    return restore(pd.read_csv(path, **kwargs))
