"""CSV and Excel files that are safe to open: no cell starts a formula.

The workbook's CSV and XLSX files (the action and campaign lists, the insight
tables, the ledger and quarantine of step 2 ...) are opened in Excel, LibreOffice
or a CSV viewer, and their text comes from CRM and ERP exports. A customer named
``=HYPERLINK("http://…","click")`` would become a live formula there (CSV or
formula injection). :func:`neutralise` applies the OWASP rule: a text cell that
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, also after
leading white space, gets a single quote in front, so the spreadsheet shows it as
text. Numbers stay numbers (only ``str`` cells change, and column headers).

Every writer goes through :func:`write_csv` or :func:`write_xlsx`; files the
workbook reads back go through :func:`read_csv`, which removes exactly the quote
:func:`neutralise` added (a value that already began with quotes before a trigger
gets one more, so the round trip returns every value unchanged).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

__all__ = ["neutralise", "restore", "neutralise_text", "restore_text", "write_csv",
           "write_xlsx", "read_csv"]

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


def write_csv(frame: pd.DataFrame, path: Path, *, index: bool = False, **kwargs) -> Path:
    """Write ``frame`` as UTF-8 CSV with :func:`neutralise` applied; return ``path``."""
    neutralise(frame).to_csv(path, index=index, **kwargs)
    return Path(path)


def write_xlsx(sheets: Mapping[str, pd.DataFrame], path: Path) -> Path:
    """Write one sheet per frame (``{sheet name: frame}``) with :func:`neutralise` applied.

    openpyxl stores a text cell that starts with ``=`` as a formula; after
    :func:`neutralise` no cell does, so the workbook holds values only.
    """
    with pd.ExcelWriter(path, engine="openpyxl") as book:
        for name, frame in sheets.items():
            neutralise(frame).to_excel(book, sheet_name=name, index=False)
    return Path(path)


def read_csv(path: Path, **kwargs) -> pd.DataFrame:
    """Read a CSV that :func:`write_csv` wrote, with the added quotes removed."""
    return restore(pd.read_csv(path, **kwargs))
