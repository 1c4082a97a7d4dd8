"""CSV text files as frames of raw strings, parsed by pyarrow.

A file is parsed multi-threaded; only a file with ragged lines (more or fewer
values than the header has columns) is parsed a second time, single-threaded, to
number them, and only a file with lines that do not decode is decoded line by line
(:func:`helpers.data.sniff.decode_text`). Each row carries ``_line``, the line it
starts on (a quoted value may span lines); a row set aside carries ``_issue`` (the
reason) and ``_text`` (the line as read). A quote left open that swallows what
look like rows of their own stops the read with the line to fix.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.data.inputs import FileSpec, SourceError
from helpers.data.sniff import (
    HEAD_BYTES,
    decode_text,
    detect_encoding,
    file_kind,
    head_bytes,
    label,
    layout,
    long_fields,
    not_a,
    wide,
)


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
    with long_fields():
        fields = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
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


def read_notes(path: Path, spec: FileSpec, notes: list[str], *, encoding: str, detected: bool,
               bad: dict[int, str], delimiter: str, skip: int) -> None:
    """What reading a CSV worked out, for ``notes``: the encoding (when ``detected``),
    lines in another encoding, the delimiter detected, title rows skipped."""
    if detected:
        notes.append(f"{path.name}: encoding detected as {encoding}")
    if bad:
        shown = ", ".join(str(n) for n in list(bad)[:5]) + (" ..." if len(bad) > 5 else "")
        notes.append(f"{path.name}: {len(bad)} line(s) are not valid {label(encoding)} "
                     f"(another encoding mixed in) and were set aside: line(s) {shown}")
    if spec.delimiter is None and delimiter != ",":
        notes.append(f"{path.name}: delimiter detected as {delimiter!r}")
    if skip:
        notes.append(f"{path.name}: header found on line {skip + 1}; {skip} line(s) above "
                     "it skipped")


def read_csv_file(path: Path, spec: FileSpec, notes: list[str]) -> pd.DataFrame:
    """Rows of a CSV (``.csv``, ``.txt``, ``.tsv``, gzip-compressed ``.csv.gz``) as text
    columns with ``_line`` (and ``_issue``, ``_text`` for rows set aside); what was
    detected (encoding, delimiter, header row, lines in another encoding) goes to
    ``notes``.

    Raises
    ------
    SourceError
        Naming the file and what is wrong: empty, not CSV text, undecodable, not
        parseable with the delimiter, or a quote left open.
    """
    raw_head = head_bytes(path)
    compressed = raw_head.startswith(b"\x1f\x8b") and path.name.lower().endswith(".gz")
    head = raw_head
    if compressed:
        with gzip.open(path, "rb") as handle:
            head = handle.read(HEAD_BYTES)
    if not head.strip():
        raise SourceError(f"{path}: the file is empty (no header row) ({spec.what})")
    auto = spec.encoding.lower() == "auto"
    kind = file_kind(head)
    if kind != "text" and not (kind == "binary" and not auto and wide(spec.encoding)):
        raise not_a(path, kind, "CSV text", spec)
    encoding = detect_encoding(head) if auto else spec.encoding
    delimiter, skip, names = layout(head.decode(encoding, errors="replace"), spec, path)
    data: bytes | None = None
    if compressed:
        with gzip.open(path, "rb") as handle:
            data = handle.read()
    bad: dict[int, str] = {}

    def opener():
        return io.BytesIO(data) if data is not None else str(path)

    size = len(data) if data is not None else path.stat().st_size
    quotes = (b'"' in data) if data is not None else _contains(path, b'"')
    try:
        try:
            frame = _parse_csv(opener, encoding, delimiter, skip, names, size, quotes, path, spec)
        except _Undecodable:
            if data is None:
                data = path.read_bytes()
            encoding, text, bad = decode_text(data, encoding, auto, path, spec)
            delimiter, skip, names = layout(text[:HEAD_BYTES], spec, path)
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
    read_notes(path, spec, notes, encoding=encoding, detected=auto, bad=bad,
               delimiter=delimiter, skip=skip)
    values = frame.drop(columns=[c for c in ("_line", "_issue", "_text") if c in frame])
    blank = values.isna().all(axis=1)
    return frame[~blank].reset_index(drop=True) if blank.any() else frame
