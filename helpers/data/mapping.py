"""One source's rows as canonical columns.

The order of work, per source (:func:`read_source_rows`): read (once per build,
:class:`SourceReader`; rows the reader could not take set aside with its reason) ->
exact duplicate rows merged -> joins (other files by key) -> row filters -> columns
mapped (source column, constant, template or expression) -> ids normalised -> types
(dates, numbers). :func:`read_table` stacks the sources of one table.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from helpers.config import Config
from helpers.data.clean import (
    ID_COLUMNS,
    id_notes,
    join_keys,
    normalise_ids,
    parse_numbers,
    to_dates,
    to_numbers,
)
from helpers.data.identity import exact_duplicates
from helpers.data.inputs import FileSpec, SourceError, resolve_files, source_paths
from helpers.data.ledger import Ledger
from helpers.data.read import read_file, read_source
from helpers.data.sources import Join, Source

KEYS = {"customers": "customer_id", "orders": "order_id", "reps": "sales_rep_id",
        "spend": "region"}
CACHE_ROWS = 2_000_000  # files up to this size are read once per build and shared


class SourceReader:
    """Reads files once per build (a sheet may feed several sources and joins)."""

    def __init__(self, config: Config, notes: list[str]) -> None:
        self.config = config
        self.notes = notes
        self.cache: dict[tuple, pd.DataFrame] = {}

    def source(self, source: Source, need: tuple[str, ...]) -> pd.DataFrame:
        """The raw rows of ``source``'s files (:func:`helpers.data.read.read_source`),
        holding at least the columns ``need``."""
        key = ("source", tuple(str(p) for p in source_paths(source, self.config.data_dir)),
               source.sheet, source.encoding, source.delimiter, str(source.header_row))
        cached = self.cache.get(key)
        if cached is not None and all(c in cached.columns for c in need):
            return cached
        frame = read_source(source, self.config.data_dir, self.notes, need=need,
                            max_chars=self.config.prep.max_field_chars)
        if len(frame) <= CACHE_ROWS:  # a large frame is not kept alive for a second reader
            self.cache[key] = frame
        return frame

    def join(self, join: Join, owner: Source) -> pd.DataFrame:
        """The rows of the file ``join`` of source ``owner`` brings; lines the reader
        could not take are left out, with a note naming them."""
        paths = resolve_files(join.file, self.config.data_dir, owner.name)
        need = tuple(join.right_keys) + tuple(_join_columns(join).values())
        spec = FileSpec(what=f"join of source '{owner.name}' ({join.file})",
                        encoding=join.encoding, delimiter=join.delimiter, sheet=join.sheet,
                        header_row=join.header_row, need=need,
                        max_chars=self.config.prep.max_field_chars)
        key = ("join", tuple(str(p) for p in paths), join.sheet, join.encoding,
               join.delimiter, str(join.header_row))
        cached = self.cache.get(key)
        if cached is not None and all(c in cached.columns for c in need):
            return cached
        frames = [read_file(p, spec, self.notes) for p in paths]
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        if "_issue" in frame:  # a joined file's rows are not in the ledger: say what is left out
            issue = frame["_issue"].astype("string")
            for reason in issue.dropna().unique():
                lines = frame.loc[issue == reason, "_line"]
                shown = ", ".join(str(n) for n in lines.head(5)) + (" ..." if len(lines) > 5
                                                                    else "")
                self.notes.append(f"join {join.file} of source '{owner.name}': {len(lines)} "
                                  f"line(s) not joined ({reason}): line(s) {shown}")
            frame = frame[issue.isna().to_numpy()].drop(columns="_issue")
        if len(frame) <= CACHE_ROWS:
            self.cache[key] = frame
        return frame


def _join_columns(join: Join) -> dict[str, str]:
    """``{new name: column of the joined file}`` the join brings (empty: every column)."""
    if join.columns is None:
        return {}
    if isinstance(join.columns, dict):
        return dict(join.columns)
    return {c: c for c in join.columns}


def needed_columns(source: Source) -> tuple[str, ...]:
    """The columns ``source``'s own files must hold: those its mapping, filters and joins
    refer to, less those a join brings; with a join that brings every column, only the
    join keys are sure to be there (both prep paths read these)."""
    joined_cols = set()
    for join in source.joins:
        joined_cols |= set(_join_columns(join))
    keys = {k for j in source.joins for k in j.left_keys}
    if any(j.columns is None for j in source.joins):
        return tuple(sorted(keys))
    return tuple(sorted((_referenced(source) - joined_cols) | keys))


def _referenced(source: Source) -> set[str]:
    """Source columns the mapping, filters and returns name."""
    refs: set[str] = set()
    for spec in source.columns.values():
        if isinstance(spec, str):
            refs.add(spec)
        elif spec.template is not None:
            refs |= set(re.findall(r"\{([^{}]+)\}", spec.template))
        elif spec.expr is not None:
            refs |= set(re.findall(r"`([^`]+)`", spec.expr))
    for rule in source.filters:
        if rule.column not in source.columns:
            refs.add(rule.column)
    return refs


def _apply_join(frame: pd.DataFrame, join: Join, right: pd.DataFrame, source: Source) -> pd.DataFrame:
    """``frame`` with the columns of ``right`` joined by key (left join, many to one)."""
    right = join_right(join, right, source, list(frame.columns))
    left_keys = {k: join_keys(frame[k]) for k in join.left_keys}
    keyed = frame.assign(**{f"_k{i}": v for i, v in enumerate(left_keys.values())})
    merged = keyed.merge(right, how="left", on=[f"_k{i}" for i in range(len(join.left_keys))],
                         validate="m:1")
    merged.index = frame.index
    return merged.drop(columns=[f"_k{i}" for i in range(len(join.left_keys))])


def join_right(join: Join, right: pd.DataFrame, source: Source, columns: list[str]) -> pd.DataFrame:
    """The joined file's side of a join: one row per key (``_k0``, ``_k1`` ...: the keys
    as :func:`helpers.data.clean.join_keys` compares them, repeated keys aggregated) and
    the columns it brings under their new names. ``columns``: the source's columns
    (checked for the keys and for clashes)."""
    frame_columns = columns
    where = f"source '{source.name}', join {join.file}"
    missing = [k for k in join.left_keys if k not in frame_columns]
    if missing:
        raise SourceError(f"{where}: key column(s) {missing} not in the source; it has "
                          f"{[c for c in frame_columns if not c.startswith('_')]}")
    if len(join.left_keys) != len(join.right_keys):
        raise SourceError(f"{where}: 'left_on' and 'right_on' name different numbers of columns")
    columns = _join_columns(join) or {
        c: c for c in right.columns if not c.startswith("_") and c not in join.right_keys}
    right = right[list(join.right_keys) + list(dict.fromkeys(columns.values()))]
    right = right.assign(**{k: join_keys(right[k]) for k in join.right_keys})
    repeated = right.duplicated(join.right_keys, keep=False)
    if repeated.any():
        if not join.aggregate:
            example = right.loc[repeated, join.right_keys].iloc[0].tolist()
            raise SourceError(
                f"{where}: {int(right.duplicated(join.right_keys).sum())} key(s) repeat in the "
                f"joined file (e.g. {example}); add 'aggregate' (sum, first, ...) per column so "
                "each key gives one row")
        how = {c: join.aggregate.get(c, "first") for c in dict.fromkeys(columns.values())}
        numeric = [c for c, f in how.items() if f in ("sum", "min", "max", "mean")]
        right = right.assign(**{c: parse_numbers(right[c]) for c in numeric})
        right = right.groupby(join.right_keys, sort=False, dropna=False).agg(how).reset_index()
    renamed = {src: new for new, src in columns.items()}
    right = right.rename(columns=renamed)
    clash = [c for c in columns if c in frame_columns]
    if clash:
        raise SourceError(f"{where}: joined column(s) {clash} already exist in the source; "
                          "name them differently under columns: {new_name: column}")
    return right.rename(columns={k: f"_k{i}" for i, k in enumerate(join.right_keys)})


def _filter_column(frame: pd.DataFrame, source: Source, column: str) -> pd.Series:
    """The values a row filter on ``column`` (canonical or of the file) looks at."""
    spec = source.columns.get(column)
    if isinstance(spec, str):
        return frame[spec]
    if column in frame:
        return frame[column]
    raise SourceError(f"source '{source.name}': filter column {column!r} is neither a mapped "
                      f"canonical column nor a column of the file")


def _map_columns(frame: pd.DataFrame, source: Source) -> pd.DataFrame:
    """Canonical columns from source columns, constants, templates and expressions."""
    out = {}
    for canon, spec in source.columns.items():
        if isinstance(spec, str):
            out[canon] = frame[spec]
        elif spec.const is not None:
            out[canon] = pd.Series(str(spec.const), index=frame.index, dtype="string")
        elif spec.template is not None:
            parts = re.split(r"(\{[^{}]+\})", spec.template)
            text = pd.Series("", index=frame.index, dtype="string")
            for part in parts:
                if part.startswith("{") and part.endswith("}"):
                    text = text + frame[part[1:-1]].astype("string").fillna("")
                elif part:
                    text = text + part
            out[canon] = text
        else:
            names = re.findall(r"`([^`]+)`", spec.expr)
            numbers = pd.DataFrame({n: parse_numbers(frame[n]) for n in dict.fromkeys(names)},
                                   index=frame.index)
            try:
                value = numbers.eval(spec.expr, engine="python")
            except Exception as exc:  # noqa: BLE001 - pandas raises many types
                raise SourceError(f"source '{source.name}': columns.{canon}.expr "
                                  f"{spec.expr!r} cannot be evaluated: {exc}") from None
            out[canon] = pd.Series(value, index=frame.index).astype("float64")
    mapped = pd.DataFrame(out, index=frame.index)
    extra = {"_rq": frame["_rq"]} if "_rq" in frame else {}
    return mapped.assign(_line=frame["_line"], _file=frame["_file"], _source=frame["_source"],
                         **extra)


def read_source_rows(reader: SourceReader, source: Source, table: str, ledger: Ledger,
                     notes: list[str], settle: bool = True) -> pd.DataFrame:
    """One source: read, merge exact duplicates, join, filter, map and type its rows.

    With ``settle=False`` the rows marked for quarantine stay in the frame (column
    ``_rq``) for the table's own checks to settle once.
    """
    raw = reader.source(source, needed_columns(source))
    raw = raw.assign(_source=pd.Categorical.from_codes(np.zeros(len(raw), dtype="int8"),
                                                       categories=[source.name]))
    ledger.count(table, raw, "read")
    if "_issue" in raw:  # rows the reader could not take as they are
        issue = raw["_issue"].astype("string")
        for reason in issue.dropna().unique():
            raw = ledger.quarantine(table, raw, (issue == reason).fillna(False), reason,
                                    raw=raw["_text"], shown_as="line text")
        raw = raw.drop(columns=["_issue", "_text"])
    if "_rq" in raw:  # a row set aside is not merged into another
        unmarked = raw["_rq"].to_numpy() == 0
        dup = pd.Series(False, index=raw.index)
        dup[unmarked] = exact_duplicates(raw[unmarked]).to_numpy()
    else:
        dup = exact_duplicates(raw)
    if dup.any():
        ledger.count(table, raw[dup], "merged", "exact duplicate row")
        raw = raw[~dup]
    for join in source.joins:
        raw = _apply_join(raw, join, reader.join(join, source), source)
    missing = sorted(c for c in _referenced(source) if c not in raw.columns)
    if missing:
        shown = [c for c in raw.columns if not c.startswith("_")]
        raise SourceError(f"source '{source.name}' ({source.file_label}): column(s) {missing} "
                          f"not found; after joins it has {shown}")
    for rule in source.filters:
        values = _filter_column(raw, source, rule.column)
        listed = rule.in_ if rule.in_ is not None else rule.not_in
        inside = values.isin(listed)
        drop = ~inside if rule.in_ is not None else inside
        if drop.any():
            word = "not in" if rule.in_ is not None else "in"
            shown = values.fillna("(empty)")
            for value in sorted(shown[drop].unique()):
                reason = (f"{rule.reason} ({rule.column} {value!r})" if rule.reason else
                          f"{rule.column} {value!r} {word} filter {listed}")
                raw = ledger.quarantine(table, raw, drop & (shown == value), reason,
                                        column=rule.column, rule=True)
    frame = _map_columns(raw, source)
    id_notes(frame, source, notes)
    for col in [c for c in ID_COLUMNS if c in frame]:
        frame = frame.assign(**{col: normalise_ids(frame[col])})
    key = KEYS[table]
    if key in frame:
        frame = ledger.quarantine(table, frame, frame[key].isna(), f"{key} is empty", column=key)
    if table != "orders" and source.keep_status is not None and "status" in frame:
        frame = keep_status(frame, source, table, ledger)
    required_dates = ("order_date",) if table == "orders" else ()
    frame = to_dates(frame, source, table, ledger, notes, reader.config, required_dates)
    required_numbers = ("amount",) if table in ("orders", "spend") else ()
    frame = to_numbers(frame, table, ledger, notes, required_numbers)
    return ledger.settle(table, frame) if settle else frame


def keep_status(frame: pd.DataFrame, source: Source, table: str, ledger: Ledger) -> pd.DataFrame:
    """Mark rows whose ``status`` is not in the source's ``keep_status`` for quarantine."""
    drop = ~frame["status"].isin(source.keep_status)
    shown = frame["status"].fillna("(empty)")
    for status in sorted(shown[drop].unique()):
        frame = ledger.quarantine(table, frame, drop & (shown == status),
                                  f"status {status!r} not in keep_status", column="status",
                                  rule=True)
    return frame


def read_table(reader: SourceReader, table: str, ledger: Ledger, notes: list[str]) -> pd.DataFrame:
    """Read, map and stack the sources of one table."""
    # Orders are settled once, after their table checks (one copy of a large frame).
    parts = [read_source_rows(reader, source, table, ledger, notes, settle=table != "orders")
             for source in reader.config.sources.get(table, [])]
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
