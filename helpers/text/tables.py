"""Tables as a shared report shows them: the one place a DataFrame becomes a report table.

:func:`report_table` takes a table as the analysis computed it (English column names,
keys as values, raw numbers) and returns a :class:`Table` that reads as a manager
expects it:

- the columns a reader needs (``columns``), in that order; a region shown once, by
  its name in the report's language (:func:`helpers.text.lookup.region_label`);
- headers from the catalog (``label``) in the report's language, money headers with
  the configured currency (``Revenue (CNY)``, ``收入（元）``);
- money in the language's habit (``1.23 M``, ``350 k``; ``8,193万``, ``1.2亿``),
  fractions as percentages (``19.2%``, growth ``+7.5%``), counts with thousands
  separators, dates as days, booleans as words (yes / 是), missing values as ``–``
  and never ``-0``;
- values that are catalog terms (segments, tiers, stages ...) in the report's language;
- no index column (a named index becomes the first column);
- at most ``rows`` rows, with "n more in <file>" linking to the full export;
  a column with no value at all left out, with a note saying why; an empty table
  replaced by a sentence.

Only the display changes: the frame passed in is not modified, and exports keep raw
numbers (:mod:`helpers.files`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from html import escape

import numpy as np
import pandas as pd

from helpers.text.format import (
    KINDS,
    currency_name,
    format_money,
    format_percent,
    is_missing,
    plain_number,
)
from helpers.text.lookup import (
    COLUMN_SECTIONS,
    catalog,
    join,
    label,
    lang_code,
    region_label,
    text,
)

__all__ = ["Table", "report_table", "export_sheet", "column_kind", "format_cell", "header",
           "MAX_TEXT"]

#: Text longer than this is cut with an ellipsis (the full text is in the exports).
MAX_TEXT = 120
#: Text columns whose every value is at most this long stay on one line (``class="short"``).
SHORT = 12

#: Why a column can have no value at all in a report (the note under the table).
MISSING_REASONS: dict[str, str] = {
    **dict.fromkeys(["revenue_per_100m_gdp", "gdp_100m_cny"], "missing_gdp"),
    **dict.fromkeys(["population_10k", "customers_per_million", "revenue_per_capita",
                     "expected_customers", "customer_gap", "gap_ratio"],
                    "missing_population"),
    **dict.fromkeys(["marketing_spend", "roi", "spend", "new_spend"], "missing_spend"),
}

#: Values of these columns are looked up in the catalog section of the same name.
VALUE_SECTIONS: dict[str, tuple[str, ...]] = {
    **COLUMN_SECTIONS,
    "value_tier": ("value_tier",), "match": ("match",), "outcome": ("outcome",),
    "geo_precision": ("geo_precision",), "precision": ("geo_precision",),
    "table": ("table_name",), "factor": ("partner_factor",),
    "lisa_quadrant": ("lisa_quadrant",), "method": ("ltv_method",),
    "gap_type": ("gap_type",),
    "partner_tier": ("tier",), "data": ("data_name",), "item": ("threshold",),
    "column": ("label",),  # a column named in a table of step 2 (unresolved place names)
}
#: Columns holding a comma-separated list of catalog terms (partner scoring factors).
LIST_SECTIONS: dict[str, str] = {"missing": "partner_factor", "focus": "partner_factor"}


def column_kind(name, values: pd.Series | None = None) -> str:
    """How column ``name`` reads (:data:`KINDS`), else guessed from its values:
    ``bool``, ``date``, ``number`` or ``text``."""
    if isinstance(name, str) and name in KINDS:
        return KINDS[name]
    if values is None:
        return "text"
    if pd.api.types.is_bool_dtype(values.dtype):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return "date"
    if pd.api.types.is_numeric_dtype(values.dtype):
        return "number"
    present = values.dropna()
    if len(present) and all(isinstance(v, (bool, np.bool_)) for v in present):
        return "bool"
    return "text"


def _number(value: float) -> str:
    value = float(value)
    if value.is_integer() or abs(value) >= 999.5:
        return plain_number(value, 0)
    return plain_number(value, 2 if abs(value) >= 1 else 3)


def format_cell(value, kind: str, lang: str = "en") -> str:
    """One value as a report table shows it (see the module docstring); ``kind`` from
    :func:`column_kind`."""
    if isinstance(value, (list, tuple)):
        return join([format_cell(v, kind, lang) for v in value], lang)
    if is_missing(value):
        return "–"
    if kind == "bool" or isinstance(value, (bool, np.bool_)):
        return text("table", "yes" if bool(value) else "no", lang)
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if kind in ("money", "money_delta") and isinstance(value, (int, float, np.number)):
        return format_money(value, lang, signed=kind == "money_delta")
    if kind in ("percent", "percent_delta") and isinstance(value, (int, float, np.number)):
        return format_percent(value, kind == "percent_delta")
    if isinstance(value, (int, np.integer)):
        return plain_number(float(value), 0)
    if isinstance(value, (float, np.floating)):
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        if kind == "count":
            return plain_number(float(value), 0)
        if kind == "decimal":
            return plain_number(float(value), 2)
        if kind == "one":
            return plain_number(float(value), 1)
        return _number(value)
    shown = str(value)
    return shown if len(shown) <= MAX_TEXT else shown[:MAX_TEXT - 1].rstrip() + "…"


def header(column, kind: str, lang: str = "en", currency: str = "CNY") -> str:
    """A column's header: its catalog label, with the currency for money
    (``Revenue (CNY)``, ``收入（元）``)."""
    name = label(str(column), lang)
    if kind in ("money", "money_delta"):
        money = currency_name(currency, lang)
        return f"{name}（{money}）" if lang_code(lang) == "zh" else f"{name} ({money})"
    return name


class Table:
    """A table as a shared report shows it (:func:`report_table` builds it).

    Attributes
    ----------
    data : DataFrame
        The rows and columns shown, with their column names and values as the
        analysis has them (keys, raw numbers): what tests and checks look at.
    view : DataFrame
        What the reader sees: headers and every cell as text.
    notes : list of str
        HTML sentences under the table (columns left out, rows in the export).
    empty : str or None
        The sentence shown instead of a table without rows.
    """

    def __init__(self, data: pd.DataFrame, view: pd.DataFrame | None = None,
                 notes: Iterable[str] = (), empty: str | None = None,
                 numeric: Iterable[bool] = ()):
        self.data = data
        self.view = view if view is not None else data.astype(str)
        self.notes = list(notes)
        self.empty = empty
        self._numeric = list(numeric) or [False] * len(self.view.columns)

    def to_html(self) -> str:
        """The HTML a report shows: the table (every string escaped) and its notes."""
        notes = "".join(f'<p class="wb-table-note">{n}</p>' for n in self.notes)
        if self.empty is not None:
            return f'<div class="wb-table"><p>{escape(self.empty)}</p>{notes}</div>'
        # numbers right-aligned; short words (tiers, segments: at most SHORT characters
        # in every row) kept on one line, so a narrow column never stacks 核/心
        short = [not num and len(self.view) > 0
                 and int(self.view[col].astype(str).str.len().max()) <= SHORT
                 for col, num in zip(self.view.columns, self._numeric, strict=True)]
        cls = [' class="num"' if num else ' class="short"' if brief else ""
               for num, brief in zip(self._numeric, short, strict=True)]
        right = [' class="num"' if num else "" for num in self._numeric]
        head = "".join(f"<th{c}>{escape(str(name))}</th>"
                       for name, c in zip(self.view.columns, right, strict=True))
        body = "".join(
            "<tr>" + "".join(f"<td{c}>{escape(str(v))}</td>"
                             for v, c in zip(row, cls, strict=True)) + "</tr>"
            for row in self.view.itertuples(index=False, name=None))
        return (f'<div class="wb-table"><table class="dataframe wb-table">'
                f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{notes}</div>")

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        if self.empty is not None:
            return self.empty
        return self.view.to_string(index=False)

    def __len__(self) -> int:
        return len(self.data)


def linked(sentence: str, file: str) -> str:
    """``sentence`` as HTML with its ``\\x00`` replaced by a relative link to ``file``."""
    path = escape(file, quote=True)
    return escape(sentence).replace(
        "\x00", f'<a href="{path}">{escape(file.rsplit("/", 1)[-1])}</a>')


def _with_region(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """One ``region`` column with the names in ``lang`` (``region_en`` folded in)."""
    if "region" not in frame.columns and "region_en" not in frame.columns:
        return frame
    names = region_label(frame, lang)
    out = frame.drop(columns=[c for c in ("region_en", "region_zh") if c in frame.columns])
    if "region" in out.columns:
        return out.assign(region=names)
    return pd.concat([names.rename("region").to_frame(), out], axis=1)


def _terms(frame: pd.DataFrame, lang: str, terms: Iterable[str]) -> pd.DataFrame:
    """The values of catalog-term columns in ``lang`` (keys stay in ``frame``)."""
    sections = {c: VALUE_SECTIONS[c] for c in frame.columns
                if isinstance(c, str) and c in VALUE_SECTIONS}
    sections.update({c: VALUE_SECTIONS.get(c, COLUMN_SECTIONS.get(c, (c,))) for c in terms
                     if c in frame.columns})
    known = {name: s for name, s in sections.items()
             if all(section in catalog() for section in s)}
    code = lang_code(lang)
    out = frame.copy()
    for column, names in known.items():
        words: dict[str, str] = {}
        for section in names:  # a value is a key of the section, or its English text
            for key, entry in catalog()[section].items():
                words.setdefault(key, entry[code])
                words.setdefault(entry["en"], entry[code])
        out[column] = out[column].map(
            lambda v, w=words: w.get(v, v) if isinstance(v, str) else v)
    for column, section in LIST_SECTIONS.items():
        if column in out.columns:
            words = {key: entry[code] for key, entry in catalog()[section].items()}
            out[column] = out[column].map(
                lambda v, w=words: join([w.get(p.strip(), p.strip()) for p in v.split(",")
                                         if p.strip()], code)
                if isinstance(v, str) else v)
    return out


def export_sheet(frame: pd.DataFrame, lang: str = "en", *, currency: str = "CNY",
                 terms: Iterable[str] = ()) -> pd.DataFrame:
    """``frame`` as a sheet of an Excel export read by people (``actions.xlsx``): headers
    from the catalog in ``lang`` with the currency on money columns, catalog terms
    (segments, tiers, actions ...) and booleans in words; numbers, dates and names stay
    as they are, so the sheet still sorts and sums. Every row and column is kept.

    The CSV exports keep the English keys (:mod:`helpers.files`); this is their
    reader's copy.
    """
    out = _terms(frame, lang, terms)
    for column in out.columns:
        if column_kind(column, out[column]) == "bool":
            out[column] = out[column].map(
                lambda v: v if is_missing(v) else text("table", "yes" if v else "no", lang))
    names = [header(c, column_kind(c, frame[c]), lang, currency) for c in frame.columns]
    return out.set_axis(names, axis=1)


def report_table(frame: pd.DataFrame, lang: str = "en", *, currency: str = "CNY",
                 columns: Iterable[str] | None = None, rows: int | None = 20,
                 terms: Iterable[str] = (), file: str | None = None,
                 total: int | None = None, empty: str | None = None,
                 missing: Mapping[str, str] | None = None,
                 more_key: str | None = None) -> Table:
    """``frame`` as a shared report shows it (see the module docstring).

    Parameters
    ----------
    frame : DataFrame
        As computed (personal data already masked). Not changed.
    lang : {"en", "zh"}
        The report's language: headers, words, number habits.
    currency : str
        ``project.currency``: named in the headers of money columns.
    columns : sequence of str, optional
        The columns a reader needs, in order (those ``frame`` lacks are skipped);
        default: all. ``region_en`` is folded into ``region``.
    rows : int or None
        At most this many rows (None: all).
    terms : sequence of str
        More columns whose values are catalog terms (the known ones,
        :data:`VALUE_SECTIONS`, always are).
    file : str, optional
        Where the full table is, relative to the report (``region_kpis.csv``): the
        note "n more in <file>" links to it.
    total : int, optional
        How many rows the full table has, when ``frame`` is already a selection.
    empty : str, optional
        The sentence shown when there are no rows (default: the catalog's).
    missing : mapping of column -> catalog sentence key, optional
        Why a column with no value at all is left out (default :data:`MISSING_REASONS`).
    more_key : str, optional
        The ``table`` catalog sentence saying what the rows not shown are (default
        ``more_in``: "n more in <file>").
    """
    code = lang_code(lang)
    shown = frame
    index = shown.index
    if any(name is not None for name in index.names) or not (
            pd.api.types.is_integer_dtype(index.dtype) or len(index) == 0):
        shown = shown.reset_index().rename(columns={"index": "item"})  # names, not positions
    shown = shown.reset_index(drop=True)
    if columns is not None:
        wanted = list(columns)
        if "region" in wanted and "region_en" not in wanted:
            wanted.insert(wanted.index("region") + 1, "region_en")
        if "region" in wanted and "region_zh" not in wanted:  # a world market's countries
            wanted.insert(wanted.index("region") + 1, "region_zh")
        shown = shown[[c for c in wanted if c in shown.columns]]
    shown = _with_region(shown, code)
    total = len(frame) if total is None else total
    notes: list[str] = []
    if not len(shown):
        return Table(shown, notes=notes, empty=empty or text("table", "empty", code))
    blank = [c for c in shown.columns if shown[c].isna().all()]
    if blank:
        reasons = {**MISSING_REASONS, **(missing or {})}
        by_reason: dict[str, list[str]] = {}
        for column in blank:
            by_reason.setdefault(reasons.get(column, "missing_any"), []).append(
                header(column, column_kind(column), code, currency))
        notes += [escape(text("table", "missing_columns", code, columns=join(names, code),
                              reason=text("table", reason, code)))
                  for reason, names in by_reason.items()]
        shown = shown.drop(columns=blank)
    if rows is not None and len(shown) > rows:
        shown = shown.head(rows)
    more = total - len(shown)
    if more > 0:
        n = f"{more:,}"
        notes.append(linked(text("table", more_key or "more_in", code, n=n, file="\x00"), file)
                     if file else escape(text("table", "more", code, n=n)))
    kinds = [column_kind(c, shown[c]) for c in shown.columns]
    worded = _terms(shown, code, terms)
    view = pd.DataFrame({i: [format_cell(v, kind, code) for v in worded[c]]
                         for i, (c, kind) in enumerate(zip(shown.columns, kinds, strict=True))})
    view.columns = [header(c, kind, code, currency) for c, kind in zip(shown.columns, kinds,
                                                                         strict=True)]
    numeric = [kind not in ("text", "bool", "date") for kind in kinds]
    return Table(shown, view, notes, numeric=numeric)
