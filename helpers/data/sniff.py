"""What a file holds, worked out from its first bytes: its kind, encoding, delimiter, header row.

- what a file really is: a gzip, ZIP, Excel or Parquet file named ``.csv`` is named
  as such (not reported as an encoding problem) (:func:`file_kind`);
- the encoding when ``encoding: auto``: UTF-8 with or without BOM, else GB18030 (a
  superset of GBK and GB2312), else charset-normalizer's best guess; a UTF-8 file
  with a minority of lines in another encoding stays UTF-8 and those lines are set
  aside (:func:`detect_encoding`, :func:`decode_text`);
- the CSV delimiter (``,`` ``;`` tab ``|``) when none is configured, and the header
  row when title rows sit above it: the first of the top 30 rows that holds the
  most of the columns the config names (:func:`layout`, :func:`header_index`).
"""

from __future__ import annotations

import codecs
import csv
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from helpers.data.inputs import FileSpec, SourceError

DELIMITERS = (",", "\t", ";", "|")
HEAD_BYTES = 256 * 1024
SCAN_ROWS = 30


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


def not_a(path: Path, kind: str, expected: str, spec: FileSpec) -> SourceError:
    """The error for a file of ``kind`` read as ``expected``, with what to do."""
    what, todo = _KINDS[kind]
    return SourceError(f"{path}: the file is {what}, not {expected} ({spec.what}); "
                       + todo.format(name=path.name, stem=path.name.split(".")[0]))


def head_bytes(path: Path, size: int = HEAD_BYTES) -> bytes:
    """The first ``size`` bytes of a file."""
    with open(path, "rb") as handle:
        return handle.read(size)


# --------------------------------------------------------------------------- encodings

_DECODE_LOCK = threading.Lock()
_DECODE_ERRORS: list[int] = []


def _collect_error(exc: UnicodeDecodeError) -> tuple[str, int]:
    _DECODE_ERRORS.append(exc.start)
    return "\ufffd", exc.end


codecs.register_error("helpers.data.sniff.collect", _collect_error)


def label(encoding: str) -> str:
    """How an encoding is named in messages: ``UTF-8``, ``GB18030``, ``GBK`` ..."""
    name = codecs.lookup(encoding).name
    return {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "gb18030": "GB18030", "gbk": "GBK",
            "gb2312": "GB2312", "big5": "Big5"}.get(name, encoding)


def _decode_errors(data: bytes, encoding: str) -> np.ndarray:
    """Byte offsets where ``data`` does not decode as ``encoding`` (decoding goes on after each)."""
    with _DECODE_LOCK:
        _DECODE_ERRORS.clear()
        data.decode(encoding, errors="helpers.data.sniff.collect")
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


def wide(encoding: str) -> bool:
    """Whether the encoding takes two or four bytes per character (UTF-16, UTF-32)."""
    return codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))


def decode_text(data: bytes, encoding: str, auto: bool, path: Path,
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
    if auto and not wide(encoding) and encoding != "utf-8-sig":
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
        if wide(enc):  # its lines cannot be split on newline bytes: no line by line
            failed.append((enc, error_at, None, 0))
            continue
        if newlines is None:
            newlines = _line_starts(data)
            text_lines = _text_lines(data, newlines)
        bad, offsets = _bad_lines(data, enc, newlines)
        if len(bad) * 2 <= len(text_lines):
            return enc, _mixed_text(data, enc, bad, newlines), {
                int(i) + 1: f"line is not valid {label(enc)} (another encoding mixed in)"
                for i in bad}
        failed.append((enc, int(offsets[0]), int(bad[0]) + 1, len(bad)))
    enc, offset, line, n_bad = failed[0]
    others = [e for e in ("utf-8", "gb18030", *(("utf-16",) if b"\x00" in data else ()))
              if codecs.lookup(e).name not in {codecs.lookup(o).name for o in order}]
    fits = next((e for e in others if _decodes(data, e)), None)
    where = (f"byte {offset} is not valid {label(enc)}" if line is None else
             f"{n_bad} of the {len(text_lines)} lines holding non-ASCII text are not valid "
             f"{label(enc)} (the first: line {line}, byte {offset})")
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


# --------------------------------------------------------------------------- delimiters, header rows


@contextmanager
def long_fields():
    """Let the csv module read fields of any length (its limit is 131,072 characters);
    over-long values are judged by ``prep.max_field_chars`` after reading."""
    old = csv.field_size_limit()
    csv.field_size_limit(sys.maxsize if sys.maxsize < 2**63 else 2**31 - 1)
    try:
        yield
    finally:
        csv.field_size_limit(old)


def header_index(rows: list[list[str]], need: tuple[str, ...], fixed: int | str) -> int:
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


def layout(text_head: str, spec: FileSpec, path: Path) -> tuple[str, int, list[str]]:
    """Delimiter, number of lines above the header, and the column names."""
    lines = text_head.splitlines()
    with long_fields():
        delimiter = spec.delimiter or _sniff_delimiter(lines[:SCAN_ROWS], spec.need)
        rows = list(csv.reader(lines[:SCAN_ROWS], delimiter=delimiter))
        skip = header_index(rows, spec.need, spec.header_row)
        if skip >= len(lines):
            raise SourceError(f"{path}: header_row {skip + 1} is past the end of the file's "
                              f"first {len(lines)} lines ({spec.what}, key header_row)")
        header = next(csv.reader([lines[skip]], delimiter=delimiter), [])
    return delimiter, skip, _unique_names([h.strip() for h in header])
