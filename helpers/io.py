"""Reading configured source files into frames of raw strings.

Every value is read as text so that identifiers keep their leading zeros and
nothing is guessed before the mapping in :mod:`helpers.prep` decides. Each row
carries ``_line``, its line in the file (CSV) or its row in the sheet (Excel),
counting from 1 at the top of the file, and ``_file``, the file name, so
quarantined rows can be traced back.

What the reader works out by itself (and reports in ``notes``):

- the encoding when ``encoding: auto``: UTF-8 with or without BOM, else
  GB18030 (a superset of GBK and GB2312), else charset-normalizer's best guess;
- the CSV delimiter (``,`` ``;`` tab ``|``) when none is configured;
- the header row when title rows sit above it: the first of the top 30 rows
  that holds the most of the columns the config names.
"""

from __future__ import annotations

import csv
import glob
import io as _io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.config import Source

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
DELIMITERS = (",", "\t", ";", "|")
HEAD_BYTES = 256 * 1024
SCAN_ROWS = 30


class SourceError(ValueError):
    """A source file that cannot be read as configured; the message says which and why."""


@dataclass(frozen=True)
class FileSpec:
    """How to read one file: what the config says about it, and what it must contain."""

    what: str                      # for messages: "source 'crm'" or "join of source 'x'"
    encoding: str = "auto"
    delimiter: str | None = None
    sheet: str | None = None
    header_row: int | str = "auto"
    need: tuple[str, ...] = ()     # column names the header row must hold
    labels: tuple[tuple[str, str], ...] = ()  # (file column, canonical column) for messages


def source_paths(source: Source, data_dir: Path) -> list[Path]:
    """Every file of ``source``: globs expanded (sorted), missing files kept as given."""
    paths: list[Path] = []
    for item in source.files:
        paths += resolve_files(item, data_dir, source.name, must_exist=False)
    return paths


def _absolute(file: str, data_dir: Path) -> Path:
    path = Path(file)
    return path if path.is_absolute() else data_dir / path


def _is_glob(text: str) -> bool:
    return any(ch in text for ch in "*?[")


def resolve_files(file: str, data_dir: Path, name: str, must_exist: bool = True) -> list[Path]:
    """``file`` relative to ``data_dir``; a glob pattern becomes its sorted matches."""
    path = _absolute(file, data_dir)
    if _is_glob(file):
        found = sorted(Path(p) for p in glob.glob(str(path)))
        if not found and must_exist:
            raise SourceError(f"source '{name}': no file matches {path} (key file)")
        return found
    if must_exist and not path.exists():
        raise SourceError(f"source '{name}': file not found: {path} (key file)")
    return [path]


# --------------------------------------------------------------------------- encodings


def detect_encoding(head: bytes) -> str:
    """The encoding of a file from its first bytes: utf-8-sig, utf-8, gb18030 or a guess.

    >>> detect_encoding("编号".encode("gbk"))
    'gb18030'
    """
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    for encoding in ("utf-8", "gb18030"):
        try:
            head.decode(encoding)
            return encoding
        except UnicodeDecodeError as exc:
            if exc.start >= len(head) - 4:  # cut in the middle of a character
                return encoding
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    return best.encoding if best is not None else "utf-8"


def _candidates(encoding: str, head: bytes) -> list[str]:
    if encoding.lower() != "auto":
        return [encoding]
    first = detect_encoding(head)
    rest = [e for e in ("utf-8", "gb18030") if e != first and first != "utf-8-sig"]
    return [first, *rest]


# --------------------------------------------------------------------------- header rows


def _header_index(rows: list[list[str]], need: tuple[str, ...], fixed: int | str) -> int:
    """0-based index of the header among ``rows`` (the first rows of a file or sheet)."""
    if fixed != "auto":
        return int(fixed) - 1
    if not rows:
        return 0
    wanted = set(need)
    if wanted:
        scores = [len(wanted & {str(c).strip() for c in row}) for row in rows]
        best = max(scores)
        if best:
            return scores.index(best)
    # No named column found: the first row as wide as the widest row of the sample.
    widths = [sum(1 for c in row if str(c).strip() not in ("", "nan", "None")) for row in rows]
    return widths.index(max(widths))


def _sniff_delimiter(lines: list[str], need: tuple[str, ...]) -> str:
    """The delimiter that splits the sample into the named columns, else the steadiest one."""
    best, best_score = ",", (-1, -1, -1)
    for delim in DELIMITERS:
        rows = list(csv.reader(lines, delimiter=delim))
        found = max((len(set(need) & {c.strip() for c in row}) for row in rows), default=0)
        widths = [len(r) for r in rows if r]
        common = max(set(widths), key=widths.count) if widths else 0
        steady = widths.count(common) if common > 1 else 0
        score = (found, steady, common)
        if score > best_score:
            best, best_score = delim, score
    return best


# --------------------------------------------------------------------------- readers


def _has_blank_lines(path: Path) -> bool:
    """Whether the file holds an empty line (they shift line numbers in the fast reader)."""
    tail = b""
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 24):
            seam = tail + chunk[:2]
            if b"\n\n" in chunk or b"\n\r\n" in chunk or b"\n\n" in seam or b"\n\r\n" in seam:
                return True
            tail = chunk[-2:]
    return False


def _read_csv_arrow(path: Path, encoding: str, delimiter: str, skip: int) -> pd.DataFrame | None:
    """Read with pyarrow's multi-threaded CSV reader; None when the file needs pandas'
    (blank lines, quoted line breaks, ragged rows, UTF-16, compressed)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if encoding.startswith("utf-16") or path.suffix.lower() == ".gz" or _has_blank_lines(path):
        return None
    try:
        with open(path, "rb") as handle:
            head = handle.read(HEAD_BYTES)
        names = pacsv.read_csv(
            _io.BytesIO(head.rsplit(b"\n", 1)[0] if len(head) == HEAD_BYTES else head),
            read_options=pacsv.ReadOptions(skip_rows=skip, encoding=_arrow_encoding(encoding)),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
        ).column_names
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(skip_rows=skip, encoding=_arrow_encoding(encoding)),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=True,
                null_values=[""], quoted_strings_can_be_null=True),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError, LookupError):
        return None
    frame = table.to_pandas(types_mapper=lambda t: pd.StringDtype("pyarrow", na_value=pd.NA)
                            if t == pa.string() else None)
    if len(set(frame.columns)) < len(frame.columns):
        return None  # duplicate headers: let pandas name them so they can be reported
    return frame


def _arrow_encoding(encoding: str) -> str:
    return "utf8" if encoding.replace("-", "").lower() in ("utf8", "utf8sig") else encoding


def _read_csv(path: Path, spec: FileSpec, notes: list[str]) -> pd.DataFrame:
    with open(path, "rb") as handle:
        head = handle.read(HEAD_BYTES)
    if not head.strip():
        raise SourceError(f"{path}: the file is empty (no header row) ({spec.what})")
    last_error = None
    for encoding in _candidates(spec.encoding, head):
        try:
            text_head = head.decode(encoding, errors="ignore" if len(head) == HEAD_BYTES else
                                    "strict")
        except UnicodeDecodeError as exc:
            last_error = exc
            continue
        lines = text_head.splitlines()[:SCAN_ROWS]
        delimiter = spec.delimiter or _sniff_delimiter(lines, spec.need)
        rows = list(csv.reader(lines, delimiter=delimiter))
        skip = _header_index(rows, spec.need, spec.header_row)
        try:
            frame = _read_csv_arrow(path, encoding, delimiter, skip)
            if frame is None:
                frame = pd.read_csv(
                    path, dtype=str, encoding=encoding, sep=delimiter, skiprows=skip,
                    keep_default_na=False, na_values=[""], skip_blank_lines=False,
                )
        except UnicodeDecodeError as exc:
            last_error = exc
            continue
        except pd.errors.EmptyDataError:
            raise SourceError(f"{path}: the file is empty (no header row) ({spec.what})") from None
        except pd.errors.ParserError as exc:
            raise SourceError(f"{path}: not a readable CSV with delimiter {delimiter!r}: "
                              f"{exc} ({spec.what}; set delimiter or header_row)") from None
        if spec.encoding.lower() == "auto":
            notes.append(f"{path.name}: encoding detected as {encoding}")
        if spec.delimiter is None and delimiter != ",":
            notes.append(f"{path.name}: delimiter detected as {delimiter!r}")
        if skip:
            notes.append(f"{path.name}: header found on line {skip + 1}; {skip} line(s) above "
                         "it skipped")
        lines_no = pd.RangeIndex(skip + 2, skip + 2 + len(frame))
        frame = frame.set_axis(range(len(frame))).assign(_line=lines_no.to_numpy())
        blank = frame.drop(columns="_line").isna().all(axis=1)
        return frame[~blank].reset_index(drop=True) if blank.any() else frame
    at = f" (byte {last_error.start})" if last_error is not None else ""
    tried = " or ".join(_candidates(spec.encoding, head))
    raise SourceError(
        f"{path}: cannot be decoded as {tried}{at}; set the encoding of {spec.what} "
        "(for Chinese exports try gb18030; 'auto' detects UTF-8 and GB18030)")


def _read_excel(path: Path, spec: FileSpec, notes: list[str]) -> pd.DataFrame:
    try:
        book = pd.ExcelFile(path, engine="calamine")
    except Exception as exc:  # noqa: BLE001 - calamine raises several types
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
    skip = _header_index(sample, spec.need, spec.header_row)
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
        frame = _read_csv(path, spec, notes)
    elif suffix in EXCEL_SUFFIXES:
        frame = _read_excel(path, spec, notes)
    elif suffix == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # noqa: BLE001 - arrow raises several types
            raise SourceError(f"{path}: not a readable Parquet file: {exc} ({spec.what})") from None
        frame = frame.astype("string").assign(_line=range(2, len(frame) + 2))
    else:
        raise SourceError(f"{path}: unsupported file type {suffix!r} ({spec.what}); expected "
                          "csv, tsv, txt, xlsx, xls or parquet")
    columns = [str(c).strip() for c in frame.columns]
    # pandas renames a repeated header "x" to "x.1": count those as repeats.
    seen = [c.rsplit(".", 1)[0] if c.rsplit(".", 1)[-1].isdigit() and c.rsplit(".", 1)[0] in columns
            else c for c in columns]
    duplicated = sorted({c for c in seen if seen.count(c) > 1 and c != "_line"})
    if duplicated:
        raise SourceError(f"{path}: duplicate column names {duplicated} ({spec.what}); "
                          "rename them in the file so each column is unambiguous")
    frame.columns = columns
    missing = [c for c in spec.need if c not in frame.columns]
    if missing:
        shown = [c for c in frame.columns if c != "_line"]
        labels = dict(spec.labels)
        wanted = ", ".join(f"{c!r} (for {labels[c]})" if c in labels else repr(c)
                           for c in missing)
        raise SourceError(f"{path}: column(s) {wanted} not found ({spec.what}); the file has "
                          f"{shown}")
    out = pd.DataFrame({col: _clean_text(frame[col]) for col in frame.columns.drop("_line")},
                       index=frame.index)
    return out.assign(_line=frame["_line"].to_numpy(),
                      _file=pd.Categorical.from_codes(np.zeros(len(out), dtype="int8"),
                                                      categories=[path.name]))


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
                need: tuple[str, ...] | None = None) -> pd.DataFrame:
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

    Returns
    -------
    DataFrame
        The raw columns (as strings, missing as NA) plus ``_line`` and ``_file``.
    """
    if need is None:
        need = tuple(c for c in source.columns.values() if isinstance(c, str))
    spec = FileSpec(what=f"source '{source.name}'", encoding=source.encoding,
                    delimiter=source.delimiter, sheet=source.sheet,
                    header_row=source.header_row, need=need,
                    labels=tuple((c, canon) for canon, c in source.columns.items()
                                 if isinstance(c, str)))
    paths: list[Path] = []
    for item in source.files:
        paths += resolve_files(item, data_dir, source.name)
    frames = [read_file(path, spec, notes) for path in paths]
    if len(frames) > 1:
        layouts = {tuple(f.columns) for f in frames}
        if len(layouts) > 1:
            names = [p.name for p in paths]
            raise SourceError(f"source '{source.name}': files {names} have different columns; "
                              "give each layout its own source")
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]

