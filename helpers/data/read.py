"""Reading configured source files into frames of raw strings.

Every value is read as text so that identifiers keep their leading zeros and
nothing is guessed before the mapping in :mod:`helpers.data.mapping` decides. Each row
carries ``_line``, its line in the file (CSV) or its row in the sheet (Excel),
counting from 1 at the top of the file, and ``_file``, the file name, so
quarantined rows can be traced back. A row the reader could not take as it is
carries ``_issue``, the reason it is set aside (step 2 counts it in the ledger):
a ragged line (more or fewer values than the header has columns), a line not in
the file's encoding (a few GBK lines in a UTF-8 export), or a value longer than
``prep.max_field_chars`` in a column the config uses.

What the reader works out by itself (the file's kind, encoding, delimiter and
header row) is in :mod:`helpers.data.sniff` and reported in ``notes``; CSV text
is parsed in :mod:`helpers.data.csv_files`.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.data.clean import INVISIBLE
from helpers.data.csv_files import read_csv_file
from helpers.data.inputs import MAX_FIELD_CHARS, FileSpec, SourceError, resolve_files
from helpers.data.sniff import SCAN_ROWS, file_kind, head_bytes, header_index, not_a
from helpers.data.sources import Source

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
SHOWN_CHARS = 200          # an over-long value is kept this long (its row is set aside)
_INVISIBLE = re.compile(INVISIBLE)


def _read_excel(path: Path, spec: FileSpec, notes: list[str]) -> pd.DataFrame:
    try:
        book = pd.ExcelFile(path, engine="calamine")
    except Exception as exc:  # noqa: BLE001 - calamine raises several types
        kind = file_kind(head_bytes(path))
        if kind not in ("xlsx", "xls", "ods", "zip"):
            raise not_a(path, kind, "an Excel workbook", spec) from None
        raise SourceError(f"{path}: not a readable Excel workbook: {exc} ({spec.what})") from None
    with book:
        sheet = spec.sheet if spec.sheet is not None else book.sheet_names[0]
        if sheet not in book.sheet_names:
            raise SourceError(
                f"{path}: no sheet {sheet!r} ({spec.what}, key sheet); "
                f"the workbook has {book.sheet_names}"
            )
        grid = pd.read_excel(book, sheet_name=sheet, dtype=str, header=None)
    if grid.empty:
        raise SourceError(f"{path}: sheet {sheet!r} is empty (no header row) ({spec.what})")
    sample = grid.head(SCAN_ROWS).fillna("").astype(str).to_numpy().tolist()
    skip = header_index(sample, spec.need, spec.header_row)
    if skip:
        notes.append(f"{path.name} [{sheet}]: header found on row {skip + 1}; {skip} row(s) "
                     "above it skipped")
    header = [str(c).strip() if pd.notna(c) else f"Unnamed: {i}"
              for i, c in enumerate(grid.iloc[skip])]
    body = grid.iloc[skip + 1:]
    frame = pd.DataFrame(body.to_numpy(), columns=header).assign(
        _line=(body.index + 1).to_numpy())
    blank = frame.drop(columns="_line").isna().all(axis=1)
    return frame[~blank].reset_index(drop=True)


def read_file(path: Path, spec: FileSpec, notes: list[str] | None = None) -> pd.DataFrame:
    """Read one file as text columns plus ``_line``; check the columns named in ``spec.need``.

    Raises
    ------
    SourceError
        Naming the file and what is wrong: missing, empty, undecodable, an
        unknown sheet, duplicate column names or a needed column not found.
    """
    notes = [] if notes is None else notes
    if not path.exists():
        raise SourceError(f"{spec.what}: file not found: {path} (key file)")
    name = path.name.lower()
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES or name.endswith((".csv.gz", ".txt.gz")):
        frame = read_csv_file(path, spec, notes)
    elif suffix in EXCEL_SUFFIXES:
        frame = _read_excel(path, spec, notes)
    elif suffix == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # noqa: BLE001 - arrow raises several types
            kind = file_kind(head_bytes(path))
            if kind != "parquet":
                raise not_a(path, kind, "a Parquet file", spec) from None
            raise SourceError(f"{path}: not a readable Parquet file: {exc} ({spec.what})") from None
        frame = frame.astype("string").assign(_line=range(2, len(frame) + 2))
    else:
        raise SourceError(f"{path}: unsupported file type {suffix!r} ({spec.what}); expected "
                          "csv, tsv, txt, xlsx, xls or parquet")
    marks = [c for c in ("_line", "_issue", "_text") if c in frame]
    frame.columns = check_columns(list(frame.columns), marks, path, spec, notes)
    out = pd.DataFrame({col: _clean_text(frame[col]) for col in frame.columns.drop(marks)},
                       index=frame.index)
    issue = frame["_issue"] if "_issue" in frame else None
    out, issue = _too_long(out, issue, spec)
    out = out.assign(_line=frame["_line"].to_numpy(),
                     _file=pd.Categorical.from_codes(np.zeros(len(out), dtype="int8"),
                                                     categories=[path.name]))
    if issue is None:
        return out
    text = frame["_text"] if "_text" in frame else pd.Series(pd.NA, index=frame.index,
                                                             dtype="string")
    return out.assign(_issue=issue.to_numpy(), _text=text.astype("string").to_numpy())


def check_columns(names: list, marks: list[str], path: Path, spec: FileSpec,
                  notes: list[str]) -> list[str]:
    """The column names of a file as step 2 uses them: invisible characters removed (with
    a note), repeats refused, the columns ``spec.need`` checked (``marks``: the reader's
    own columns, left as they are).

    Raises
    ------
    SourceError
        Naming the file and the repeated or missing columns.
    """
    columns = [c if c in marks else _INVISIBLE.sub("", str(c)).strip() for c in names]
    hidden = [str(c) for c in names if c not in marks and _INVISIBLE.search(str(c))]
    if hidden:
        notes.append(f"{path.name}: invisible characters (zero-width space, byte-order mark "
                     f"...) removed from column name(s) {[_INVISIBLE.sub('', h) for h in hidden]}")
    # pandas renames a repeated header "x" to "x.1": count those as repeats.
    seen = [c.rsplit(".", 1)[0] if c.rsplit(".", 1)[-1].isdigit() and c.rsplit(".", 1)[0] in columns
            else c for c in columns]
    duplicated = sorted({c for c in seen if seen.count(c) > 1 and c not in marks})
    if duplicated:
        raise SourceError(f"{path}: duplicate column names {duplicated} ({spec.what}); "
                          "rename them in the file so each column is unambiguous")
    missing = [c for c in spec.need if c not in columns]
    if missing:
        shown = [c for c in columns if c not in marks]
        labels = dict(spec.labels)
        wanted = ", ".join(f"{c!r} (for {labels[c]})" if c in labels else repr(c)
                           for c in missing)
        raise SourceError(f"{path}: column(s) {wanted} not found ({spec.what}); the file has "
                          f"{shown}")
    return columns


def _too_long(frame: pd.DataFrame, issue: pd.Series | None,
              spec: FileSpec) -> tuple[pd.DataFrame, pd.Series | None]:
    """Mark rows with a value longer than ``spec.max_chars`` in a needed column (all columns
    when none is named) and cut that value short; the row is set aside in step 2."""
    import pyarrow as pa
    import pyarrow.compute as pc

    limit = spec.max_chars
    for col in [c for c in (spec.need or frame.columns) if c in frame]:
        array = pa.array(frame[col])
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        if not len(array) or (pc.max(pc.binary_length(array)).as_py() or 0) <= limit:
            continue  # a value's characters are at most its bytes
        long = pc.fill_null(pc.greater(pc.utf8_length(array), limit), False).to_numpy(
            zero_copy_only=False)
        if not long.any():
            continue
        if issue is None:
            issue = pd.Series(pd.NA, index=frame.index, dtype="string")
        issue = issue.mask(long & issue.isna().to_numpy(),
                           f"value in column {col!r} longer than {limit:,} characters "
                           "(prep.max_field_chars)")
        values = frame[col].astype(object).to_numpy().copy()
        for i in np.flatnonzero(long):
            values[i] = f"{values[i][:SHOWN_CHARS]}... ({len(values[i]):,} characters)"
        frame = frame.assign(**{col: pd.array(values, dtype="string")})
    return frame, issue


def _clean_text(values: pd.Series) -> pd.Series:
    """Text with surrounding white space removed and empty cells as missing (in pyarrow)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pa.array(values.astype("string"))
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    cleaned = pc.utf8_trim_whitespace(array)
    shortest = pc.min(pc.binary_length(cleaned)).as_py()
    if shortest == 0:
        cleaned = pc.if_else(pc.equal(cleaned, ""), pa.scalar(None, cleaned.type), cleaned)
    return pd.Series(pd.arrays.ArrowStringArray(cleaned), index=values.index, dtype="string")


def read_source(source: Source, data_dir: Path, notes: list[str] | None = None,
                need: tuple[str, ...] | None = None,
                max_chars: int = MAX_FIELD_CHARS) -> pd.DataFrame:
    """Read every file of one source as configured and stack them.

    Parameters
    ----------
    source : Source
        The configured source.
    data_dir : Path
        The folder relative file names are resolved against.
    notes : list of str, optional
        Receives what was detected (encoding, delimiter, header row).
    need : tuple of str, optional
        Source columns the files must hold; default: every mapped plain column.
    max_chars : int
        A row with a longer value in a needed column is marked to be set aside
        (``prep.max_field_chars``).

    Returns
    -------
    DataFrame
        The raw columns (as strings, missing as NA) plus ``_line`` and ``_file``, and
        ``_issue`` (the reason to set a row aside) when a row could not be read as it is.
    """
    spec = source_spec(source, need, max_chars)
    paths = source_files(source, data_dir)
    frames = [read_file(path, spec, notes) for path in paths]
    same_layout(source, paths, [f.columns for f in frames])
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def source_spec(source: Source, need: tuple[str, ...] | None = None,
                max_chars: int = MAX_FIELD_CHARS) -> FileSpec:
    """How the files of ``source`` are read (``need``: default every mapped plain column)."""
    if need is None:
        need = tuple(c for c in source.columns.values() if isinstance(c, str))
    return FileSpec(what=f"source '{source.name}'", encoding=source.encoding,
                    delimiter=source.delimiter, sheet=source.sheet,
                    header_row=source.header_row, need=need,
                    labels=tuple((c, canon) for canon, c in source.columns.items()
                                 if isinstance(c, str)), max_chars=max_chars)


def source_files(source: Source, data_dir: Path) -> list[Path]:
    """The files of ``source``, each entry resolved (globs sorted)."""
    paths: list[Path] = []
    for item in source.files:
        paths += resolve_files(item, data_dir, source.name)
    return paths


def same_layout(source: Source, paths: list[Path], columns: list) -> None:
    """Refuse files of one source with different columns."""
    layouts = {tuple(c for c in cols if not str(c).startswith("_")) for cols in columns}
    if len(layouts) > 1:
        names = [p.name for p in paths]
        raise SourceError(f"source '{source.name}': files {names} have different columns; "
                          "give each layout its own source")
