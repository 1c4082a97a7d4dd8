"""Reading configured source files into frames of raw strings.

Every value is read as text so that identifiers keep their leading zeros and
nothing is guessed before the mapping in :mod:`helpers.data.prepare` decides. Each row
carries ``_line``, its line in the file (CSV) or its row in the sheet (Excel),
counting from 1 at the top of the file, and ``_file``, the file name, so
quarantined rows can be traced back. A row the reader could not take as it is
carries ``_issue``, the reason it is set aside (step 2 counts it in the ledger):
a ragged line (more or fewer values than the header has columns), a line not in
the file's encoding (a few GBK lines in a UTF-8 export), or a value longer than
``prep.max_field_chars`` in a column the config uses.

What the reader works out by itself (and reports in ``notes``):

- what a file really is, from its first bytes: a gzip, ZIP, Excel or Parquet
  file named ``.csv`` is named as such (not reported as an encoding problem);
- the encoding when ``encoding: auto``: UTF-8 with or without BOM, else
  GB18030 (a superset of GBK and GB2312), else charset-normalizer's best guess;
  a UTF-8 file with a minority of lines in another encoding stays UTF-8 and
  those lines are set aside;
- the CSV delimiter (``,`` ``;`` tab ``|``) when none is configured;
- the header row when title rows sit above it: the first of the top 30 rows
  that holds the most of the columns the config names.

CSV files are parsed by pyarrow (multi-threaded); only a file with ragged lines
is parsed a second time, single-threaded, to number them, and only a file with
lines that do not decode is decoded line by line.
"""

from __future__ import annotations

import codecs
import csv
import glob
import gzip
import io as _io
import re
import sys
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.config import MessageError, Source

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
DELIMITERS = (",", "\t", ";", "|")
HEAD_BYTES = 256 * 1024
SCAN_ROWS = 30
MAX_FIELD_CHARS = 100_000  # default of prep.max_field_chars
SHOWN_CHARS = 200          # an over-long value is kept this long (its row is set aside)
# Characters that print as nothing: soft hyphen, Mongolian vowel separator, zero-width
# space and joiners, direction marks and embeddings, word joiner, byte-order mark.
INVISIBLE = "[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]"
_INVISIBLE = re.compile(INVISIBLE)


class SourceError(MessageError):
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
    max_chars: int = MAX_FIELD_CHARS  # longer values in a needed column: the row is set aside


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
    """``file`` relative to ``data_dir``; a glob pattern becomes its sorted matches.

    A name that exists as it is (``orders [2024].csv``) is that file, even when it
    holds a glob character.
    """
    path = _absolute(file, data_dir)
    if _is_glob(file) and not path.is_file():
        found = sorted(Path(p) for p in glob.glob(str(path)))
        if not found and must_exist:
            raise SourceError(f"source '{name}': no file matches {path} (key file)")
        return found
    if must_exist and not path.exists():
        raise SourceError(f"source '{name}': file not found: {path} (key file)")
    return [path]


# --------------------------------------------------------------------------- file kinds

_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "xls"),
    (b"PAR1", "parquet"),
    (b"%PDF", "pdf"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "rar"),
    (b"SQLite format 3\x00", "sqlite"),
)
# What each kind is, and what to do when it is named as something else.
_KINDS = {
    "gzip": ("gzip-compressed", "name it {name}.gz to have it read as it is, or unpack it"),
    "xlsx": ("an Excel workbook (.xlsx)", "name it {stem}.xlsx (and set sheet when the data "
             "is not on the first sheet), or save it from Excel as CSV"),
    "ods": ("an OpenDocument spreadsheet (.ods)", "name it {stem}.ods"),
    "zip": ("a ZIP archive", "unpack it and name the file inside under file"),
    "xls": ("a legacy Excel workbook (.xls) or another Office document", "name it {stem}.xls"),
    "parquet": ("a Parquet file", "name it {stem}.parquet"),
    "pdf": ("a PDF document", "export the table as CSV or Excel from the system it came from"),
    "7z": ("a 7-Zip archive", "unpack it and name the file inside under file"),
    "rar": ("a RAR archive", "unpack it and name the file inside under file"),
    "sqlite": ("an SQLite database", "export the table as CSV"),
    "binary": ("binary data (it holds NUL bytes)", "check that file names the export; text in "
               "UTF-16 without a byte-order mark needs encoding: utf-16-le"),
    "html": ("an HTML page (some systems export a table as HTML and name it .xls or .csv)",
             "open it in Excel and save it as .xlsx, or export CSV"),
    "text": ("text (CSV?)", "name it {stem}.csv"),
}


def file_kind(head: bytes) -> str:
    """What a file is from its first bytes.

    Returns ``text`` or one of ``gzip``, ``xlsx``, ``ods``, ``zip``, ``xls``,
    ``parquet``, ``pdf``, ``7z``, ``rar``, ``sqlite``, ``html``, ``binary``.

    >>> file_kind(b"id,name\\n1,a\\n"), file_kind(b"\\x1f\\x8b\\x08"), file_kind(b"PAR1\\x15")
    ('text', 'gzip', 'parquet')
    """
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            if kind == "zip":
                return "xlsx" if b"xl/" in head else "ods" if b"opendocument.spreadsheet" in \
                    head else "zip"
            return kind
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "text"  # UTF-16 with a byte-order mark
    if b"\x00" in head[:8192]:
        return "binary"
    if head.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html", b"<table")):
        return "html"
    return "text"


def _not_a(path: Path, kind: str, expected: str, spec: FileSpec) -> SourceError:
    what, todo = _KINDS[kind]
    return SourceError(f"{path}: the file is {what}, not {expected} ({spec.what}); "
                       + todo.format(name=path.name, stem=path.name.split(".")[0]))


def _head_bytes(path: Path, size: int = HEAD_BYTES) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(size)


# --------------------------------------------------------------------------- encodings

_DECODE_LOCK = threading.Lock()
_DECODE_ERRORS: list[int] = []


def _collect_error(exc: UnicodeDecodeError) -> tuple[str, int]:
    _DECODE_ERRORS.append(exc.start)
    return "\ufffd", exc.end


codecs.register_error("helpers.data.read.collect", _collect_error)


def _label(encoding: str) -> str:
    name = codecs.lookup(encoding).name
    return {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "gb18030": "GB18030", "gbk": "GBK",
            "gb2312": "GB2312", "big5": "Big5"}.get(name, encoding)


def _decode_errors(data: bytes, encoding: str) -> np.ndarray:
    """Byte offsets where ``data`` does not decode as ``encoding`` (decoding goes on after each)."""
    with _DECODE_LOCK:
        _DECODE_ERRORS.clear()
        data.decode(encoding, errors="helpers.data.read.collect")
        return np.array(_DECODE_ERRORS, dtype=np.int64)


def _line_starts(data: bytes) -> np.ndarray:
    """Offsets of the newline bytes of ``data`` (line ``i``, 0-based, ends at the ``i``-th)."""
    return np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)


def _bad_lines(data: bytes, encoding: str, newlines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """0-based lines that do not decode as ``encoding``, and the byte offsets of the errors."""
    offsets = _decode_errors(data, encoding)
    return np.unique(np.searchsorted(newlines, offsets)), offsets


def _text_lines(data: bytes, newlines: np.ndarray) -> np.ndarray:
    """0-based lines holding a byte outside ASCII."""
    high = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) >= 0x80)
    return np.unique(np.searchsorted(newlines, high))


def _mostly(data: bytes, encoding: str) -> bool:
    """Whether most lines with non-ASCII text decode as ``encoding`` (the rest mixed in)."""
    newlines = _line_starts(data)
    bad, _ = _bad_lines(data, encoding, newlines)
    return len(bad) * 2 <= len(_text_lines(data, newlines))


def detect_encoding(head: bytes) -> str:
    """The encoding of a file from its first bytes: utf-8-sig, utf-8, gb18030 or a guess.

    A UTF-8 file with a few lines in another encoding is UTF-8 (those lines are set
    aside when read).

    >>> detect_encoding("编号".encode("gbk"))
    'gb18030'
    >>> detect_encoding("编号\\n甲\\n乙\\n".encode() + "丙\\n".encode("gbk"))
    'utf-8'
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
            if exc.reason == "unexpected end of data":  # cut in the middle of a character
                return encoding
            if encoding == "utf-8" and _mostly(head, encoding):
                return encoding
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    return best.encoding if best is not None else "utf-8"


def _wide(encoding: str) -> bool:
    return codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))


def _decode(data: bytes, encoding: str, auto: bool, path: Path,
            spec: FileSpec) -> tuple[str, str, dict[int, str]]:
    """The text of ``data``, the encoding used and ``{line: reason}`` of lines set aside.

    Tried in order (``auto``: UTF-8, then GB18030, then the detected encoding): the
    first encoding that decodes the whole file, or in which most lines holding
    non-ASCII text decode (the others are another encoding mixed in: set aside,
    shown decoded as UTF-8 or GB18030 when they are). UTF-8 is judged line by line
    before GB18030 is tried on the whole file, since GB18030 decodes most UTF-8 as
    nonsense without an error.

    Raises
    ------
    SourceError
        When no encoding fits most lines: naming the first bad line and byte, and an
        encoding that decodes the whole file when there is one.
    """
    order = [encoding]
    if auto and not _wide(encoding) and encoding != "utf-8-sig":
        order = []
        for enc in ("utf-8", "gb18030", encoding):
            if codecs.lookup(enc).name not in {codecs.lookup(o).name for o in order}:
                order.append(enc)
    newlines = text_lines = None
    failed = []  # per encoding tried: (encoding, first bad byte, first bad line, bad lines)
    for enc in order:
        try:
            return enc, data.decode(enc), {}
        except UnicodeDecodeError as exc:
            error_at = exc.start
        if _wide(enc):  # its lines cannot be split on newline bytes: no line by line
            failed.append((enc, error_at, None, 0))
            continue
        if newlines is None:
            newlines = _line_starts(data)
            text_lines = _text_lines(data, newlines)
        bad, offsets = _bad_lines(data, enc, newlines)
        if len(bad) * 2 <= len(text_lines):
            return enc, _mixed_text(data, enc, bad, newlines), {
                int(i) + 1: f"line is not valid {_label(enc)} (another encoding mixed in)"
                for i in bad}
        failed.append((enc, int(offsets[0]), int(bad[0]) + 1, len(bad)))
    enc, offset, line, n_bad = failed[0]
    others = [e for e in ("utf-8", "gb18030", *(("utf-16",) if b"\x00" in data else ()))
              if codecs.lookup(e).name not in {codecs.lookup(o).name for o in order}]
    fits = next((e for e in others if _decodes(data, e)), None)
    where = (f"byte {offset} is not valid {_label(enc)}" if line is None else
             f"{n_bad} of the {len(text_lines)} lines holding non-ASCII text are not valid "
             f"{_label(enc)} (the first: line {line}, byte {offset})")
    hint = f"; the whole file decodes as {fits}: set encoding: {fits}" if fits else ""
    raise SourceError(f"{path}: cannot be decoded as {' or '.join(order)}: {where}{hint} (set "
                      f"the encoding of {spec.what}; 'auto' detects UTF-8 and GB18030)")


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _mixed_text(data: bytes, encoding: str, bad: np.ndarray, newlines: np.ndarray) -> str:
    """``data`` decoded as ``encoding``, its ``bad`` lines as UTF-8 or GB18030 when they are."""
    pieces, pos = [], 0
    others = [e for e in ("utf-8", "gb18030") if e != codecs.lookup(encoding).name]
    for i in bad:
        start = int(newlines[i - 1]) + 1 if i > 0 else 0
        end = int(newlines[i]) if i < len(newlines) else len(data)
        pieces.append(data[pos:start].decode(encoding, errors="replace"))
        line = data[start:end]
        pieces.append(next((line.decode(e) for e in others if _decodes(line, e)),
                           line.decode(encoding, errors="replace")))
        pos = end
    pieces.append(data[pos:].decode(encoding, errors="replace"))
    return "".join(pieces)


# --------------------------------------------------------------------------- header rows


@contextmanager
def _long_fields():
    """Let the csv module read fields of any length (its limit is 131,072 characters);
    over-long values are judged by ``prep.max_field_chars`` after reading."""
    old = csv.field_size_limit()
    csv.field_size_limit(sys.maxsize if sys.maxsize < 2**63 else 2**31 - 1)
    try:
        yield
    finally:
        csv.field_size_limit(old)


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


def _unique_names(header: list[str]) -> list[str]:
    """Column names as pandas gives them: empty ones ``Unnamed: i``, repeats ``x.1``."""
    names: list[str] = []
    for i, name in enumerate(header):
        name = name if name.strip() else f"Unnamed: {i}"
        base, k = name, 0
        while name in names:
            k += 1
            name = f"{base}.{k}"
        names.append(name)
    return names


def _layout(text_head: str, spec: FileSpec, path: Path) -> tuple[str, int, list[str]]:
    """Delimiter, number of lines above the header, and the column names."""
    lines = text_head.splitlines()
    with _long_fields():
        delimiter = spec.delimiter or _sniff_delimiter(lines[:SCAN_ROWS], spec.need)
        rows = list(csv.reader(lines[:SCAN_ROWS], delimiter=delimiter))
        skip = _header_index(rows, spec.need, spec.header_row)
        if skip >= len(lines):
            raise SourceError(f"{path}: header_row {skip + 1} is past the end of the file's "
                              f"first {len(lines)} lines ({spec.what}, key header_row)")
        header = next(csv.reader([lines[skip]], delimiter=delimiter), [])
    return delimiter, skip, _unique_names([h.strip() for h in header])


# --------------------------------------------------------------------------- CSV


class _Undecodable(Exception):
    """pyarrow met bytes that are not in the file's encoding."""


def _arrow_table(open_source: Callable, encoding: str, delimiter: str, skip: int,
                 names: list[str], *, numbered: bool, size: int):
    """Parse with pyarrow; rows whose number of values differs from the header's are
    skipped and returned as ``(record number or None, text)`` (numbers only when
    ``numbered``: single-threaded)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    invalid: list[tuple[int | None, str]] = []

    def handler(row) -> str:
        invalid.append((row.number, row.text))
        return "skip"

    block = 1 << 20
    while True:
        invalid.clear()
        try:
            table = pacsv.read_csv(
                open_source(),
                read_options=pacsv.ReadOptions(
                    skip_rows=skip + 1, column_names=names, use_threads=not numbered,
                    block_size=block, encoding=_arrow_encoding(encoding)),
                parse_options=pacsv.ParseOptions(
                    delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=False,
                    invalid_row_handler=handler),
                convert_options=pacsv.ConvertOptions(
                    column_types={n: pa.string() for n in names}, strings_can_be_null=True,
                    null_values=[""], quoted_strings_can_be_null=True),
            )
        except pa.ArrowInvalid as exc:
            if "straddl" in str(exc) and block < size:  # a value longer than a block
                block = min(block * 16, size + 1)
                continue
            if "UTF8" in str(exc) or "utf8" in str(exc).lower():
                raise _Undecodable from None
            raise
        except UnicodeDecodeError:
            raise _Undecodable from None
        return table, list(invalid)


def _arrow_encoding(encoding: str) -> str:
    return "utf8" if encoding.replace("-", "").lower() in ("utf8", "utf8sig") else encoding


def _newlines_in(table) -> np.ndarray:
    """Per row, the line breaks inside its values (a quoted value may span lines)."""
    import pyarrow.compute as pc

    total = np.zeros(table.num_rows, dtype=np.int64)
    for column in table.columns:
        total += pc.fill_null(pc.count_substring(column, "\n"), 0).to_numpy()
    return total


def _ragged(text: str, delimiter: str, names: list[str]) -> tuple[list[str | None], str | None]:
    """The values of a line the parser skipped, fitted to the header's ``names``, and why it
    is set aside (None: what is missing or extra is only empty values past the last named
    column, e.g. a delimiter at the end of the header or of the line)."""
    width = len(names)
    with _long_fields():
        fields = next(csv.reader(_io.StringIO(text, newline=""), delimiter=delimiter), [])
    named = _named_width(names)
    if len(fields) > width and not any(f.strip() for f in fields[width:]):
        reason = None
    elif len(fields) > width:
        reason = f"ragged line: more values than the header's {width} columns"
    elif len(fields) >= named:
        reason = None
    else:
        reason = f"ragged line: fewer values than the header's {width} columns"
    values = [f if f != "" else None for f in fields[:width]]
    return values + [None] * (width - len(values)), reason


def _named_width(names: list[str]) -> int:
    """The number of columns up to the last one with a name in the header."""
    width = len(names)
    while width and names[width - 1].startswith("Unnamed: "):
        width -= 1
    return width


def _swallowed(frame: pd.DataFrame, spans: np.ndarray, delimiter: str, width: int,
               path: Path, spec: FileSpec) -> None:
    """Stop when a quote left open swallows lines that look like rows of their own: a value
    with a line break followed by a line holding as many delimiters as a row."""
    if width < 3 or not spans.any():
        return
    rows = np.flatnonzero(spans)
    part = frame.iloc[rows]
    other = "[^\n" + re.escape(delimiter) + "]*"
    pattern = f"\n{other}(?:{re.escape(delimiter)}{other}){{{width - 1}}}"
    hit = np.zeros(len(rows), dtype=bool)
    for col in [c for c in part.columns if not c.startswith("_")]:
        hit |= part[col].astype("string").str.contains(pattern, regex=True).fillna(False) \
            .to_numpy(dtype=bool)
    if hit.any():
        pos = rows[np.argmax(hit)]
        line, span = int(frame["_line"].iloc[pos]), int(spans[pos])
        raise SourceError(
            f"{path}: line {line}: a quoted value opened on this line runs over {span + 1} "
            f"lines (to line {line + span}) and holds what look like rows of their own "
            f"({spec.what}); a quote (\") is not closed on line {line}: fix it in the export")


def _parse_csv(open_source: Callable, encoding: str, delimiter: str, skip: int,
               names: list[str], size: int, has_quotes: bool, path: Path,
               spec: FileSpec) -> pd.DataFrame:
    """Rows of a CSV with ``_line`` (the line each starts on) and ``_issue`` for ragged ones."""
    import pyarrow as pa

    table, invalid = _arrow_table(open_source, encoding, delimiter, skip, names,
                                  numbered=False, size=size)
    if invalid:  # number them: parse again on one thread
        table, invalid = _arrow_table(open_source, encoding, delimiter, skip, names,
                                      numbered=True, size=size)
    frame = table.to_pandas(types_mapper=lambda t: pd.StringDtype("pyarrow", na_value=pd.NA)
                            if t == pa.string() else None)
    spans = _newlines_in(table) if has_quotes else np.zeros(len(frame), dtype=np.int64)
    first = skip + 2  # record number (1-based, from the top of the file) of the first row
    if not invalid:
        records = np.arange(first, first + len(frame))
        lines = records + np.cumsum(spans) - spans
        frame = frame.assign(_line=lines)
        _swallowed(frame, spans, delimiter, len(names), path, spec)
        return frame
    numbers = np.array([n for n, _ in invalid], dtype=np.int64)
    records = np.setdiff1d(np.arange(first, first + len(frame) + len(invalid)), numbers,
                           assume_unique=True)
    parsed = [_ragged(text, delimiter, names) for _, text in invalid]
    extra = pd.DataFrame([values for values, _ in parsed], columns=names, dtype="string")
    extra = extra.assign(_issue=pd.array([reason for _, reason in parsed], dtype="string"),
                         _text=pd.array([text for _, text in invalid], dtype="string"))
    extra_spans = np.array([text.count("\n") for _, text in invalid], dtype=np.int64)
    blank = pd.array([pd.NA] * len(frame), dtype="string")
    frame = pd.concat([frame.assign(_issue=blank, _text=blank), extra], ignore_index=True)
    every = np.concatenate([records, numbers])
    spans = np.concatenate([spans, extra_spans])
    order = np.argsort(every, kind="stable")
    frame = frame.iloc[order].reset_index(drop=True)
    spans = spans[order]
    frame = frame.assign(_line=every[order] + np.cumsum(spans) - spans)
    _swallowed(frame.drop(columns=["_issue", "_text"]), spans, delimiter, len(names), path,
               spec)
    if frame["_issue"].isna().all():
        frame = frame.drop(columns=["_issue", "_text"])
    return frame


def _mark_lines(frame: pd.DataFrame, bad: dict[int, str], text: str) -> pd.DataFrame:
    """Give the rows that start on or span a line in ``bad`` that line's reason (and the
    line's text, as decoded, to show)."""
    if not bad or frame.empty:
        return frame
    starts = frame["_line"].to_numpy()
    blank = pd.Series(pd.NA, index=frame.index, dtype="string")
    issue = frame["_issue"].copy() if "_issue" in frame else blank.copy()
    shown = frame["_text"].copy() if "_text" in frame else blank.copy()
    lines = text.split("\n")
    for line, reason in bad.items():
        pos = int(np.searchsorted(starts, line, side="right")) - 1
        if pos >= 0:
            issue.iloc[pos] = reason
            shown.iloc[pos] = lines[line - 1].rstrip("\r") if line <= len(lines) else pd.NA
    return frame.assign(_issue=issue, _text=shown)


def _contains(path: Path, needle: bytes) -> bool:
    """Whether the file holds ``needle`` (read in chunks)."""
    tail = b""
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 24):
            if needle in tail + chunk[:len(needle)] or needle in chunk:
                return True
            tail = chunk[-len(needle):]
    return False


def _read_csv(path: Path, spec: FileSpec, notes: list[str]) -> pd.DataFrame:
    raw_head = _head_bytes(path)
    compressed = raw_head.startswith(b"\x1f\x8b") and path.name.lower().endswith(".gz")
    head = raw_head
    if compressed:
        with gzip.open(path, "rb") as handle:
            head = handle.read(HEAD_BYTES)
    if not head.strip():
        raise SourceError(f"{path}: the file is empty (no header row) ({spec.what})")
    auto = spec.encoding.lower() == "auto"
    kind = file_kind(head)
    if kind != "text" and not (kind == "binary" and not auto and _wide(spec.encoding)):
        raise _not_a(path, kind, "CSV text", spec)
    encoding = detect_encoding(head) if auto else spec.encoding
    delimiter, skip, names = _layout(head.decode(encoding, errors="replace"), spec, path)
    data: bytes | None = None
    if compressed:
        with gzip.open(path, "rb") as handle:
            data = handle.read()
    bad: dict[int, str] = {}

    def opener():
        return _io.BytesIO(data) if data is not None else str(path)

    size = len(data) if data is not None else path.stat().st_size
    quotes = (b'"' in data) if data is not None else _contains(path, b'"')
    try:
        try:
            frame = _parse_csv(opener, encoding, delimiter, skip, names, size, quotes, path, spec)
        except _Undecodable:
            if data is None:
                data = path.read_bytes()
            encoding, text, bad = _decode(data, encoding, auto, path, spec)
            delimiter, skip, names = _layout(text[:HEAD_BYTES], spec, path)
            data = text.encode("utf-8")
            size = len(data)
            frame = _parse_csv(opener, "utf-8", delimiter, skip, names, size,
                               b'"' in data, path, spec)
            frame = _mark_lines(frame, bad, text)
    except SourceError:
        raise
    except ValueError as exc:  # pyarrow's ArrowInvalid: a CSV it cannot parse
        raise SourceError(f"{path}: not a readable CSV with delimiter {delimiter!r}: {exc} "
                          f"({spec.what}; set delimiter or header_row)") from None
    if auto:
        notes.append(f"{path.name}: encoding detected as {encoding}")
    if bad:
        shown = ", ".join(str(n) for n in list(bad)[:5]) + (" ..." if len(bad) > 5 else "")
        notes.append(f"{path.name}: {len(bad)} line(s) are not valid {_label(encoding)} "
                     f"(another encoding mixed in) and were set aside: line(s) {shown}")
    if spec.delimiter is None and delimiter != ",":
        notes.append(f"{path.name}: delimiter detected as {delimiter!r}")
    if skip:
        notes.append(f"{path.name}: header found on line {skip + 1}; {skip} line(s) above "
                     "it skipped")
    values = frame.drop(columns=[c for c in ("_line", "_issue", "_text") if c in frame])
    blank = values.isna().all(axis=1)
    return frame[~blank].reset_index(drop=True) if blank.any() else frame


def _read_excel(path: Path, spec: FileSpec, notes: list[str]) -> pd.DataFrame:
    try:
        book = pd.ExcelFile(path, engine="calamine")
    except Exception as exc:  # noqa: BLE001 - calamine raises several types
        kind = file_kind(_head_bytes(path))
        if kind not in ("xlsx", "xls", "ods", "zip"):
            raise _not_a(path, kind, "an Excel workbook", spec) from None
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
            kind = file_kind(_head_bytes(path))
            if kind != "parquet":
                raise _not_a(path, kind, "a Parquet file", spec) from None
            raise SourceError(f"{path}: not a readable Parquet file: {exc} ({spec.what})") from None
        frame = frame.astype("string").assign(_line=range(2, len(frame) + 2))
    else:
        raise SourceError(f"{path}: unsupported file type {suffix!r} ({spec.what}); expected "
                          "csv, tsv, txt, xlsx, xls or parquet")
    marks = [c for c in ("_line", "_issue", "_text") if c in frame]
    columns = [c if c in marks else _INVISIBLE.sub("", str(c)).strip() for c in frame.columns]
    hidden = [str(c) for c, new in zip(frame.columns, columns, strict=True)
              if c not in marks and _INVISIBLE.search(str(c))]
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
    frame.columns = columns
    missing = [c for c in spec.need if c not in frame.columns]
    if missing:
        shown = [c for c in frame.columns if c not in marks]
        labels = dict(spec.labels)
        wanted = ", ".join(f"{c!r} (for {labels[c]})" if c in labels else repr(c)
                           for c in missing)
        raise SourceError(f"{path}: column(s) {wanted} not found ({spec.what}); the file has "
                          f"{shown}")
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
    if need is None:
        need = tuple(c for c in source.columns.values() if isinstance(c, str))
    spec = FileSpec(what=f"source '{source.name}'", encoding=source.encoding,
                    delimiter=source.delimiter, sheet=source.sheet,
                    header_row=source.header_row, need=need,
                    labels=tuple((c, canon) for canon, c in source.columns.items()
                                 if isinstance(c, str)), max_chars=max_chars)
    paths: list[Path] = []
    for item in source.files:
        paths += resolve_files(item, data_dir, source.name)
    frames = [read_file(path, spec, notes) for path in paths]
    if len(frames) > 1:
        layouts = {tuple(c for c in f.columns if not c.startswith("_")) for f in frames}
        if len(layouts) > 1:
            names = [p.name for p in paths]
            raise SourceError(f"source '{source.name}': files {names} have different columns; "
                              "give each layout its own source")
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]

