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

from helpers.text.lookup import (
    COLUMN_SECTIONS,
    catalog,
    join,
    label,
    lang_code,
    region_label,
    text,
)

__all__ = ["Table", "report_table", "column_kind", "format_cell", "money_cell", "header",
           "KINDS", "MAX_TEXT"]

#: Text longer than this is cut with an ellipsis (the full text is in the exports).
MAX_TEXT = 120

#: How each known column reads. ``money``: an amount in the project currency;
#: ``money_delta``: a change of an amount (with a sign); ``percent``: a fraction shown
#: as a percentage; ``percent_delta``: a change as a signed percentage; ``count``: a
#: whole number; ``decimal``: a number with two decimals; ``one``: one decimal.
KINDS: dict[str, str] = {
    **dict.fromkeys(["revenue", "revenue_prev", "revenue_last_year", "aov", "amount",
                     "marketing_spend", "revenue_per_customer", "revenue_per_rep", "spend",
                     "new_spend", "floor", "cap", "ltv", "ltv_low", "ltv_high", "ltv_12m", "monetary",
                     "monetary_mean", "monetary_value", "historical_value", "expected_value",
                     "revenue_before", "revenue_now", "value_sum", "revenue_per_capita"],
                    "money"),
    **dict.fromkeys(["change", "expected_revenue_change", "revenue_change"], "money_delta"),
    **dict.fromkeys(["share", "customer_share", "revenue_share", "market_share", "active_rate",
                     "top20_share", "p_alive", "value_share"], "percent"),
    **dict.fromkeys(["growth", "growth_yoy", "growth_pop", "change_pct", "share_delta",
                     "growth_yoy_delta"], "percent_delta"),
    **dict.fromkeys(["customers", "active_customers", "new_customers", "orders", "reps",
                     "partners", "rows", "read", "kept", "merged", "quarantined",
                     "expected_customers", "customer_gap", "gap_rank", "population_10k",
                     "gdp_100m_cny", "customers_before", "customers_now", "quantity",
                     "orders_to_date", "high_value", "churned", "incomplete", "score",
                     "repeat_customers",
                     "b_partners", "group", "k"], "count"),
    **dict.fromkeys(["gap_ratio", "roi", "marginal_return", "orders_per_customer", "gi_z",
                     "revenue_per_100m_gdp", "customers_per_million", "gini", "hhi",
                     "expected_purchases"], "decimal"),
    **dict.fromkeys(["customers_per_rep", "nearest_customer_km", "nearest_cluster_km",
                     "frequency_mean", "recency_mean"], "one"),
}

# who the customers are and how they buy (helpers.analysis.profiles, .buying)
KINDS.update({
    **dict.fromkeys(["mean_revenue", "mean_low", "mean_high", "order_q1", "order_median",
                     "order_q3", "mean_value"], "money"),
    **dict.fromkeys(["share_in_region", "share_in_market", "top_share", "buyer_share",
                     "one_day_share", "mon", "tue", "wed", "thu", "fri", "sat", "sun",
                     "weekend_share", "line_share", "discounted_share", "mean_discount"],
                    "percent"),
    **dict.fromkeys(["buyers", "intervals", "lines", "months"], "count"),
    **dict.fromkeys(["share_index", "top_index", "peak_index", "low_index", "days_median",
                     "interval_q1", "interval_median", "interval_q3", "mean_quantity",
                     "quantity_low", "quantity_high"], "one"),
    "p_adj": "decimal",
})

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
    "partner_tier": ("tier",), "data": ("data_name",), "item": ("threshold",),
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


def _missing(value) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _plain(value: float, digits: int) -> str:
    """``value`` with thousands separators and ``digits`` decimals, never ``-0``."""
    shown = f"{value:,.{digits}f}"
    return shown[1:] if shown.startswith("-") and float(shown[1:].replace(",", "")) == 0 else shown


def money_cell(value: float, lang: str = "en", *, signed: bool = False) -> str:
    """An amount as a table cell: ``1.23 M``, ``350 k``, ``850`` in English; ``1.23亿``,
    ``8,193万``, ``12.5万``, ``8,500`` in Chinese (the currency is in the header).

    ``signed`` puts ``+`` before a rise. Missing values give ``–``.
    """
    if _missing(value):
        return "–"
    value = float(value)
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    size = abs(value)
    if lang_code(lang) == "zh":
        steps = ((1e8, "亿"), (1e4, "万"))
    else:
        steps = ((1e9, " B"), (1e6, " M"), (1e3, " k"))
    shown = None
    for step, suffix in steps:
        if size >= step * 0.9995:
            scaled = size / step
            digits = 0 if scaled >= 99.95 else 1 if scaled >= 9.995 else 2
            shown = _plain(scaled, digits)
            if "." in shown:
                shown = shown.rstrip("0").rstrip(".")
            shown += suffix
            break
    if shown is None:
        shown = _plain(size, 0)
    if shown == "0":
        return "0"
    sign = "-" if value < 0 else "+" if signed else ""
    return sign + shown


def _percent(value: float, signed: bool) -> str:
    number = float(value) * 100
    shown = _plain(abs(number), 1)
    if shown == "0.0":
        return "0%"
    sign = "-" if number < 0 else "+" if signed else ""
    return f"{sign}{shown}%"


def _number(value: float) -> str:
    value = float(value)
    if value.is_integer() or abs(value) >= 999.5:
        return _plain(value, 0)
    return _plain(value, 2 if abs(value) >= 1 else 3)


def format_cell(value, kind: str, lang: str = "en") -> str:
    """One value as a report table shows it (see the module docstring); ``kind`` from
    :func:`column_kind`."""
    if isinstance(value, (list, tuple)):
        return join([format_cell(v, kind, lang) for v in value], lang)
    if _missing(value):
        return "–"
    if kind == "bool" or isinstance(value, (bool, np.bool_)):
        return text("table", "yes" if bool(value) else "no", lang)
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if kind in ("money", "money_delta") and isinstance(value, (int, float, np.number)):
        return money_cell(value, lang, signed=kind == "money_delta")
    if kind in ("percent", "percent_delta") and isinstance(value, (int, float, np.number)):
        return _percent(value, kind == "percent_delta")
    if isinstance(value, (int, np.integer)):
        return _plain(float(value), 0)
    if isinstance(value, (float, np.floating)):
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        if kind == "count":
            return _plain(float(value), 0)
        if kind == "decimal":
            return _plain(float(value), 2)
        if kind == "one":
            return _plain(float(value), 1)
        return _number(value)
    shown = str(value)
    return shown if len(shown) <= MAX_TEXT else shown[:MAX_TEXT - 1].rstrip() + "…"


def header(column, kind: str, lang: str = "en", currency: str = "CNY") -> str:
    """A column's header: its catalog label, with the currency for money
    (``Revenue (CNY)``, ``收入（元）``)."""
    from helpers.text.format import currency_name

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
        cls = [' class="num"' if num else "" for num in self._numeric]
        head = "".join(f"<th{c}>{escape(str(name))}</th>"
                       for name, c in zip(self.view.columns, cls, strict=True))
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
