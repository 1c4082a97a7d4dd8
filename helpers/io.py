"""Reading one configured source file into a frame of raw strings.

Every value is read as text so that identifiers keep their leading zeros and
nothing is guessed before the mapping in :mod:`helpers.prep` decides. Each row
carries ``_line``, its line in the file (header = line 1), so quarantined rows
can be traced back.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from helpers.config import Source


class SourceError(ValueError):
    """A source file that cannot be read as configured; the message says which and why."""


def source_path(source: Source, data_dir: Path) -> Path:
    path = Path(source.file)
    return path if path.is_absolute() else data_dir / path


def _read_csv(path: Path, source: Source) -> pd.DataFrame:
    try:
        return pd.read_csv(
            path, dtype=str, encoding=source.encoding, keep_default_na=False,
            na_values=[""], skipinitialspace=True,
        )
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{path}: cannot be decoded as {source.encoding!r} (byte {exc.start}); set "
            f"sources.*.encoding for source '{source.name}' (for Chinese exports try gb18030)"
        ) from None
    except pd.errors.EmptyDataError:
        raise SourceError(f"{path}: the file is empty (no header row)") from None
    except pd.errors.ParserError as exc:
        raise SourceError(f"{path}: not a readable CSV: {exc}") from None


def _read_excel(path: Path, source: Source) -> pd.DataFrame:
    try:
        sheets = pd.ExcelFile(path, engine="calamine")
    except Exception as exc:  # noqa: BLE001 - calamine raises several types
        raise SourceError(f"{path}: not a readable Excel workbook: {exc}") from None
    sheet = source.sheet if source.sheet is not None else sheets.sheet_names[0]
    if sheet not in sheets.sheet_names:
        raise SourceError(
            f"{path}: no sheet {sheet!r} (source '{source.name}', key sheet); "
            f"the workbook has {sheets.sheet_names}"
        )
    return pd.read_excel(sheets, sheet_name=sheet, dtype=str)


def read_source(source: Source, data_dir: Path) -> pd.DataFrame:
    """Read one source file as configured, checking its mapped columns exist.

    Returns the raw columns (as strings, missing as NA) plus ``_line``.
    """
    path = source_path(source, data_dir)
    if not path.exists():
        raise SourceError(f"source '{source.name}': file not found: {path} (key file)")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv") or path.name.lower().endswith(".csv.gz"):
        frame = _read_csv(path, source)
    elif suffix in (".xlsx", ".xlsm", ".xls", ".ods"):
        frame = _read_excel(path, source)
    elif suffix == ".parquet":
        frame = pd.read_parquet(path).astype("string")
    else:
        raise SourceError(f"{path}: unsupported file type {suffix!r}; expected csv, xlsx, xls or parquet")
    frame.columns = [str(c).strip() for c in frame.columns]
    duplicated = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if duplicated:
        raise SourceError(f"{path}: duplicate column names {duplicated}")
    missing = {canon: col for canon, col in source.columns.items() if col not in frame.columns}
    if missing:
        wanted = ", ".join(f"{col!r} (for {canon})" for canon, col in missing.items())
        raise SourceError(
            f"{path}: column(s) {wanted} not found; the file has {list(frame.columns)}"
        )
    frame = frame.astype("string").apply(lambda s: s.str.strip())
    return frame.assign(_line=range(2, len(frame) + 2))
