"""Step 3 charts: region bars, Pareto share, Lorenz curve, trends, customers vs revenue,
order-value distribution and segment mix; step 4's order sizes by region and month-of-year
index.

Every function follows seaborn's habits: keyword-only options, draws on ``ax`` when
given (a new figure otherwise), returns the Axes, and never changes its input.
Labels are English or Chinese (``lang="zh"``); Chinese text renders with the CJK font
of :mod:`helpers.viz.theme`, which a notebook applies once (:func:`helpers.context.open_step`):
the functions here never change ``matplotlib.rcParams``. Names from the data are literal
text: a ``$`` in a region name never switches on mathtext
(:func:`helpers.text.markup.chart_text`).
"""

from __future__ import annotations

import base64
import io
import textwrap
from html import escape

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, PercentFormatter

from helpers.analysis.bridge import COMPONENTS
from helpers.analysis.concentration import concentration, lorenz
from helpers.analysis.segments import SEGMENTS
from helpers.text.format import (
    MONEY_COLUMNS,
    PERCENT_COLUMNS,
    currency_name,
    format_money,
    money_text,
)
from helpers.text.lookup import join, label, lang_code, region_label, region_names, term, text
from helpers.text.markup import chart_text

OTHERS_COLOR = "#b0b0b0"
MAIN_COLOR = "#1f77b4"
LINE_COLOR = "#d62728"
#: Regions below the scatter's line (less revenue per customer than the market).
BELOW_COLOR = "#ff7f0e"
#: Steps adjustText may take to move the scatter labels apart (its own default is a
#: time limit, which a busy machine would reach sooner: labels would depend on the load).
LABEL_STEPS = 500
#: How a legend sits off the data: outside the plot, to the right of the Axes.
OUTSIDE_RIGHT = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "frameon": False,
                 "fontsize": "small"}
#: The regions' plural for a level column's value (``provinces``, ``cities`` ...).
_UNITS = {"province": "provinces", "city": "cities", "territory": "territories",
          "country": "regions_unit"}


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _chart(key: str, lang: str, **values) -> str:
    """A chart text of the catalog's ``chart`` section, as literal matplotlib text."""
    return chart_text(text("chart", key, lang, **values))


def _word(value: str, lang: str) -> str:
    """A KPI's label inside a sentence: ``revenue`` (lower case in English), ``收入``."""
    name = label(value, lang)
    if lang_code(lang) == "en" and name[:1].isupper() and not name[1:2].isupper():
        return name[0].lower() + name[1:]
    return name


def _pct(share: float) -> str:
    """A share in a sentence: ``49%`` (``<1%`` for a small positive share)."""
    if 0 < share < 0.005:
        return "<1%"
    return f"{share:.0%}"


def _count_text(value: float, lang: str) -> str:
    return f"{float(value):,.0f}"


def _amount(value: str, amount: float, lang: str, currency: str) -> str:
    """``amount`` of column ``value`` in a sentence: money with its currency, else a count."""
    return money_text(amount, lang, currency) if value in MONEY_COLUMNS else _count_text(amount,
                                                                                          lang)


def money_unit(top: float, lang: str = "en") -> tuple[float, str]:
    """The unit a money axis reads in, from its largest absolute value.

    Returns
    -------
    (float, str)
        The scale and its name: ``(1e6, "M")``, ``(1e3, "k")`` in English;
        ``(1e8, "亿")``, ``(1e4, "万")`` in Chinese; ``(1.0, "")`` for small amounts.
    """
    size = abs(float(top)) if np.isfinite(top) else 0.0
    steps = ((1e8, "亿"), (1e4, "万")) if lang_code(lang) == "zh" else (
        (1e9, "B"), (1e6, "M"), (1e3, "k"))
    for step, name in steps:
        if size >= step:
            return step, name
    return 1.0, ""


def _scaled(value: float) -> str:
    shown = f"{value:,.2f}".rstrip("0").rstrip(".")
    return "0" if shown in ("-0", "") else shown


def money_axis(axis, value: str, top: float, lang: str = "en", currency: str = "CNY") -> str:
    """Put a money axis in one unit: ticks scaled (``0, 5, 10``) and the label naming the
    currency and the unit (``Revenue (CNY, M)``, ``收入（万元）``).

    Parameters
    ----------
    axis : matplotlib Axis
        ``ax.xaxis`` or ``ax.yaxis``.
    value : str
        The column shown (its label names the axis).
    top : float
        The largest absolute amount on the axis (sets the unit, :func:`money_unit`).
    lang, currency : str
        Report language and ``project.currency``.

    Returns
    -------
    str
        The axis label (also set on the axis).
    """
    scale, unit = money_unit(top, lang)
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: _scaled(v / scale)))
    name, money = label(value, lang), currency_name(currency, lang)
    words = (text("chart", "money_axis_unit", lang, value=name, currency=money, unit=unit)
             if unit else text("chart", "money_axis", lang, value=name, currency=money))
    axis.set_label_text(chart_text(words))
    return words


def _value_axis(axis, value: str, top: float, lang: str, currency: str) -> None:
    """Label and ticks of an axis showing ``value``: money in one unit, shares in %,
    counts with thousands separators."""
    if value in MONEY_COLUMNS:
        money_axis(axis, value, top, lang, currency)
        return
    if value in PERCENT_COLUMNS:
        axis.set_major_formatter(PercentFormatter(1.0))
    else:
        axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    axis.set_label_text(chart_text(label(value, lang)))


def _require(data: pd.DataFrame, *columns: str) -> None:
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise KeyError(f"missing column(s) {missing}; have {list(data.columns)}")


def units_of(data: pd.DataFrame, lang: str = "en") -> str:
    """The regions' plural in ``lang`` from the table's ``level`` (``provinces``,
    ``城市``); ``regions`` when the table has none."""
    levels = data["level"].dropna() if "level" in data.columns else pd.Series(dtype=object)
    key = _UNITS.get(str(levels.iloc[0]), "regions_unit") if len(levels) else "regions_unit"
    return label(key, lang)


def _region_values(data: pd.DataFrame, value: str, lang: str) -> pd.Series:
    """Value per display name, largest first, missing values dropped."""
    _require(data, value)
    names = region_label(data, lang)
    values = pd.Series(pd.to_numeric(data[value], errors="coerce").to_numpy(), index=names)
    values = values.dropna()
    # Regions sharing a display name (rare) are summed so each bar is one name.
    values = values.groupby(level=0, sort=False).sum()
    return values.sort_values(ascending=False, kind="stable")


def bars_title(values: pd.Series, value: str, units: str, lang: str = "en", k: int = 3) -> str:
    """What the region bars show, from the numbers: the leading region's share and the
    top ``k``'s (``Guangdong leads with 19% of revenue`` / ``the top 3 of 28 provinces
    bring 49%``), on two lines; the plain title when the total is not positive."""
    positive = values.clip(lower=0)
    total = float(positive.sum())
    if total <= 0 or not len(values):
        return chart_text(label("title_bars", lang).format(value=label(value, lang)))
    lead = _chart("bars_lead", lang, lead=values.index[0], value=_word(value, lang),
                  lead_share=_pct(positive.iloc[0] / total))
    if len(values) <= k:
        return lead
    top = _chart("bars_top", lang, k=k, n=len(values), units=units,
                 top_share=_pct(positive.iloc[:k].sum() / total))
    return f"{lead}\n{top}"


def plot_region_bars(
    data: pd.DataFrame,
    *,
    value: str = "revenue",
    top: int = 15,
    lang: str = "en",
    currency: str = "CNY",
    ax: Axes | None = None,
    **kwargs,
) -> Axes:
    """Horizontal bars of ``value`` for the top ``top`` regions; the rest stated in a note.

    The title states the finding (:func:`bars_title`). The regions beyond the top
    are not drawn as a bar (their sum would dwarf the named ones and set the scale):
    a grey row under the bars says how many there are, their total and their share.

    Parameters
    ----------
    data : DataFrame
        Region KPI table with ``region``, ``region_en`` and the ``value`` column
        (``level`` names the regions' kind in the title: provinces, cities).
    value : str, default "revenue"
        Column to plot (``revenue``, ``customers``, ``orders`` ...).
    top : int, default 15
        Number of regions drawn by name.
    lang : {"en", "zh"}, default "en"
        Language of names, axis labels and title.
    currency : str, default "CNY"
        ``project.currency``, named on a money axis (``Revenue (CNY, M)``, ``收入（万元）``).
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is created when None.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.barh`.

    Returns
    -------
    matplotlib Axes
        The note on the regions left out (when there are any) is the Axes' text.
    """
    values = _region_values(data, value, lang)
    units = units_of(data, lang)
    shown = values.iloc[:top]
    rest = values.iloc[top:]
    rows = len(shown) + (1 if len(rest) else 0)
    ax = _axes(ax, (8, 0.35 * rows + 1.5))
    kwargs.setdefault("color", MAIN_COLOR)
    positions = np.arange(len(shown), dtype=float)
    ax.barh(positions, shown.to_numpy(), **kwargs)
    ticks, names = list(positions), [chart_text(n) for n in shown.index]
    if len(rest):
        total = float(values.clip(lower=0).sum())
        share = float(rest.clip(lower=0).sum()) / total if total > 0 else 0.0
        row = len(shown) + 0.2  # a gap above the note: it is not a bar
        ax.text(0, row, " " + _chart("bars_rest", lang, n=len(rest), units=units,
                                     amount=_amount(value, float(rest.sum()), lang, currency),
                                     share=_pct(share)),
                va="center", ha="left", fontsize="small", color="dimgrey")
        ticks.append(row)
        names.append(chart_text(label("others", lang)))
        ax.set_ylim(row + 0.7, -0.6)
    ax.set_yticks(ticks, labels=names)
    if len(rest):
        ax.get_yticklabels()[-1].set_color("dimgrey")
    else:
        ax.invert_yaxis()  # largest on top
    _value_axis(ax.xaxis, value, float(shown.abs().max()) if len(shown) else 0.0, lang,
                currency)
    ax.set_ylabel(label("region", lang))
    ax.set_title(bars_title(values, value, units, lang))
    return ax


def plot_share(
    data: pd.DataFrame,
    *,
    value: str = "revenue",
    lang: str = "en",
    ax: Axes | None = None,
    **kwargs,
) -> Axes:
    """Pareto chart: each region's share of ``value`` and the cumulative share.

    Bars show the shares sorted from largest to smallest; a line on a twin axis
    shows the cumulative share, with the 80% level drawn and the number of regions
    that together reach 80% annotated; the title states that number
    (``5 of 28 provinces bring 80% of revenue``).

    Parameters
    ----------
    data : DataFrame
        Region KPI table with ``region``, ``region_en`` and the ``value`` column.
        Shares are computed from ``value`` (negative values count as 0, missing
        values are dropped), so the chart works for customers as well as revenue.
    value : str, default "revenue"
        Column whose concentration is shown.
    lang : {"en", "zh"}, default "en"
        Language of labels and title.
    ax : matplotlib Axes, optional
        Axes for the bars; a new figure is created when None. The cumulative line
        lives on ``ax.twinx()``.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.bar`.

    Returns
    -------
    matplotlib Axes
        The bar Axes; the twin Axes holding the cumulative line shares its x axis.
    """
    values = _region_values(data, value, lang).clip(lower=0)
    total = values.sum()
    shares = values / total if total > 0 else values * 0.0
    cumulative = shares.cumsum()
    ax = _axes(ax, (max(6.0, 0.3 * len(shares) + 2), 4.5))
    positions = np.arange(len(shares))
    kwargs.setdefault("color", MAIN_COLOR)
    ax.bar(positions, shares.to_numpy(), **kwargs)
    if len(shares) <= 40:
        ax.set_xticks(positions, labels=[chart_text(n) for n in shares.index], rotation=60,
                      ha="right")
    else:
        ax.set_xticks([])
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel(label("share_of", lang).format(value=label(value, lang)))
    ax.set_xlabel(label("region", lang))

    line_ax = ax.twinx()
    line_ax.plot(positions, cumulative.to_numpy(), color=LINE_COLOR, marker="o", markersize=3)
    line_ax.axhline(0.8, color="grey", linestyle="--", linewidth=1)
    line_ax.set_ylim(0, 1.05)
    line_ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    line_ax.set_ylabel(label("cumulative_share", lang))
    if total > 0:
        n80 = int(np.argmax(cumulative.to_numpy() >= 0.8 - 1e-12)) + 1
        note = label("pareto_note", lang).format(n=n80, total=len(shares))
        line_ax.annotate(
            note,
            xy=(n80 - 1, cumulative.iloc[n80 - 1]),
            xytext=(10, -25),
            textcoords="offset points",
            arrowprops={"arrowstyle": "->", "color": "grey"},
        )
    if total > 0:
        ax.set_title(_chart("share_title", lang, n=n80, total=len(shares),
                            units=units_of(data, lang), value=_word(value, lang)))
    else:
        ax.set_title(label("title_share", lang).format(value=label(value, lang)))
    return ax


def trend_change(monthly: pd.DataFrame, value: str = "revenue",
                 hue: str | None = None) -> dict | None:
    """The change a trend chart's title states: the last months against as many before.

    The window is 12 months when the table covers at least 24 months, else 3 when it
    covers at least 6 (None below that, or when the earlier window's total is not
    positive). The months are the table's calendar months, the last one included.

    Returns
    -------
    dict or None
        ``months`` (the window), ``before`` and ``after`` (the totals), ``change``
        (``after / before - 1``) and, with ``hue`` and at least two groups, ``lead``:
        the group whose total rose most (fell most when the total fell). A chart of one
        group (a one-region report) names no lead: its only line is the whole change.
    """
    frame = monthly.assign(month=pd.to_datetime(monthly["month"]),
                           **{value: pd.to_numeric(monthly[value], errors="coerce")})
    months = np.sort(frame["month"].dropna().unique())
    window = 12 if len(months) >= 24 else 3 if len(months) >= 6 else 0
    if not window:
        return None
    after_months, before_months = months[-window:], months[-2 * window:-window]
    after = frame[frame["month"].isin(after_months)]
    before = frame[frame["month"].isin(before_months)]
    total_before, total_after = float(before[value].sum()), float(after[value].sum())
    if total_before <= 0:
        return None
    found = {"months": window, "before": total_before, "after": total_after,
             "change": total_after / total_before - 1}
    if hue is not None:
        delta = (after.groupby(hue)[value].sum()
                 .sub(before.groupby(hue)[value].sum(), fill_value=0.0))
        if len(delta) > 1:
            found["lead"] = delta.idxmax() if found["change"] >= 0 else delta.idxmin()
    return found


def trend_title(found: dict | None, value: str, lang: str = "en", names=None) -> str:
    """A trend chart's title from :func:`trend_change` (``Revenue up 12% in the last 12
    months against the 12 before, led by Guangdong``); the plain title without one."""
    if found is None:
        return chart_text(label("title_trend", lang).format(value=label(value, lang)))
    change = found["change"]
    key = "trend_flat" if round(change, 3) == 0 else "trend_up" if change > 0 else "trend_down"
    words = text("chart", key, lang, value=label(value, lang), months=found["months"],
                 change=_pct(abs(change)))
    if "lead" in found and key != "trend_flat":
        lead = (names or {}).get(found["lead"], found["lead"])
        words += text("chart", "trend_led" if change > 0 else "trend_drag", lang, lead=lead)
    return chart_text(words)


def plot_trend(
    monthly: pd.DataFrame,
    *,
    value: str = "revenue",
    hue: str | None = None,
    top: int = 6,
    names=None,
    lang: str = "en",
    currency: str = "CNY",
    ax: Axes | None = None,
    **kwargs,
) -> Axes:
    """Monthly line(s) of ``value``; one line per group when ``hue`` is given.

    The title states the change of the last months against as many before, and the
    group that led it (:func:`trend_change`, :func:`trend_title`); the legend sits
    outside the plot, right of it.

    Parameters
    ----------
    monthly : DataFrame
        Table with ``month`` (Timestamp), ``value`` and optionally the ``hue``
        column. Several rows for the same month (and group) are summed.
    value : str, default "revenue"
        Column to plot (``revenue`` or ``orders``).
    hue : str, optional
        Group column (``province``, ``city``, ``territory``, ``channel`` ...). Only
        the ``top`` groups with the largest total are drawn; a group's months
        without rows count as 0.
    top : int, default 6
        Number of groups drawn when ``hue`` is given.
    names : mapping, optional
        Display name of each group in the legend. Default: for a region column
        (``province``, ``territory``, ``city``, ``region``) the names in ``lang``
        (广东省 -> Guangdong in English); other groups as they are.
    lang : {"en", "zh"}, default "en"
        Language of labels, legend and title.
    currency : str, default "CNY"
        ``project.currency``, named on a money axis.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is created when None.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.plot`.

    Returns
    -------
    matplotlib Axes
    """
    _require(monthly, "month", value, *([hue] if hue else []))
    frame = monthly.assign(
        month=pd.to_datetime(monthly["month"]),
        **{value: pd.to_numeric(monthly[value], errors="coerce")},
    )
    ax = _axes(ax, (9, 4.5))
    kwargs.setdefault("marker", "o")
    kwargs.setdefault("markersize", 3)
    if hue is None:
        series = frame.groupby("month")[value].sum().sort_index()
        ax.plot(series.index, series.to_numpy(), **kwargs)
        top_value = float(series.abs().max()) if len(series) else 0.0
    else:
        table = frame.pivot_table(
            index="month", columns=hue, values=value, aggfunc="sum", fill_value=0
        ).sort_index()
        order = table.sum().sort_values(ascending=False, kind="stable").index[:top]
        if names is None and hue in ("province", "territory", "city", "region"):
            groups = table.columns
            names = dict(zip(groups, region_names(groups, lang), strict=True))
        names = names or {}
        for group in order:
            ax.plot(table.index, table[group].to_numpy(), label=chart_text(names.get(group, group)),
                    **kwargs)
        ax.legend(title=label(hue, lang), **OUTSIDE_RIGHT)
        top_value = float(table[order].abs().to_numpy().max()) if len(order) else 0.0
    _value_axis(ax.yaxis, value, top_value, lang, currency)
    ax.set_xlabel(label("month", lang))
    ax.set_title(trend_title(trend_change(frame, value, hue), value, lang, names))
    ax.tick_params(axis="x", labelrotation=30)  # autofmt_xdate would hide other axes' ticks
    return ax


def per_customer_line(data: pd.DataFrame) -> pd.DataFrame:
    """The scatter's line and each region's place against it.

    The line goes through the origin with the market's revenue per customer as its
    slope: total revenue / total customers of the regions shown. That is the
    weighted least-squares line through the origin when a region's revenue varies in
    proportion to its customers (weights 1 / customers, the ratio estimator), and it
    reads plainly: above it a region earns more per customer than the market, below
    it less.

    Parameters
    ----------
    data : DataFrame
        ``customers`` and ``revenue`` per region (rows missing either are left out).

    Returns
    -------
    DataFrame
        The rows kept, with ``slope`` (the market's revenue per customer, the same
        in every row) and ``gap`` (revenue minus ``slope * customers``: above the
        line when positive; below it, the revenue the region would add at the
        market's revenue per customer).
    """
    frame = data.assign(customers=pd.to_numeric(data["customers"], errors="coerce"),
                        revenue=pd.to_numeric(data["revenue"], errors="coerce"))
    frame = frame.dropna(subset=["customers", "revenue"])
    customers = float(frame["customers"].clip(lower=0).sum())
    slope = float(frame["revenue"].sum()) / customers if customers > 0 else np.nan
    return frame.assign(slope=slope, gap=frame["revenue"] - slope * frame["customers"])


def plot_customers_vs_revenue(
    data: pd.DataFrame,
    *,
    annotate: int = 5,
    flag: int = 3,
    lang: str = "en",
    currency: str = "CNY",
    ax: Axes | None = None,
    **kwargs,
) -> Axes:
    """Scatter of customers (x) against revenue (y), with the market's revenue per customer.

    The dashed line is :func:`per_customer_line` (through the origin, slope the
    market's revenue per customer). Regions below it are orange: they would add the
    most revenue at the market's revenue per customer (room to up-sell). Named are
    the ``annotate`` largest regions by revenue and the ``flag`` furthest below and
    above the line (by revenue, not by ratio, so a tiny region does not lead); the
    title names the ``flag`` regions below. Labels are moved apart where regions sit
    close together (``adjustText``), with a thin leader line.

    Parameters
    ----------
    data : DataFrame
        Region KPI table with ``region``, ``region_en``, ``customers`` and
        ``revenue``; rows missing either number are left out.
    annotate : int, default 5
        Largest regions by revenue whose names are written next to their point.
    flag : int, default 3
        Regions named furthest below and furthest above the line.
    lang : {"en", "zh"}, default "en"
        Language of names, labels and title.
    currency : str, default "CNY"
        ``project.currency``, named on the revenue axis and in the legend.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is created when None.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.scatter`.

    Returns
    -------
    matplotlib Axes
        ``ax.lines[0]`` is the line; the legend is outside the plot, right of it.
    """
    _require(data, "customers", "revenue")
    frame = per_customer_line(data.assign(name=region_label(data, lang)))
    ax = _axes(ax, (8, 6))
    kwargs.setdefault("alpha", 0.8)
    below = frame["gap"] < 0
    slope = float(frame["slope"].iloc[0]) if len(frame) else np.nan
    if np.isfinite(slope) and len(frame) >= 2:
        right = float(frame["customers"].max()) * 1.05
        ax.plot([0, right], [0, slope * right], color="grey", linestyle="--", linewidth=1,
                label=_chart("scatter_line", lang, avg=money_text(slope, lang, currency)))
        ax.scatter(frame.loc[~below, "customers"], frame.loc[~below, "revenue"],
                   color=MAIN_COLOR, label=_chart("scatter_above", lang), **kwargs)
        ax.scatter(frame.loc[below, "customers"], frame.loc[below, "revenue"],
                   color=BELOW_COLOR, label=_chart("scatter_below", lang), **kwargs)
        ax.legend(**OUTSIDE_RIGHT)
    else:
        ax.scatter(frame["customers"], frame["revenue"], color=MAIN_COLOR, **kwargs)
    under = frame[below].nsmallest(flag, "gap") if flag else frame.iloc[:0]
    over = frame[~below & (frame["gap"] > 0)].nlargest(flag, "gap") if flag else frame.iloc[:0]
    named = pd.concat([frame.nlargest(annotate, "revenue"), under, over])
    named = named[~named.index.duplicated()]
    texts = [ax.text(row.customers, row.revenue, chart_text(row.name), fontsize="small",
                     color=BELOW_COLOR if row.gap < 0 and row.Index in under.index else "black")
             for row in named.itertuples()]
    if texts:  # move labels apart where regions sit close together, with a thin leader line
        from adjustText import adjust_text

        # a fixed number of steps at most, not adjustText's default of one second: the
        # labels land in the same places however busy the machine (2-22 steps here)
        adjust_text(texts, x=named["customers"].to_numpy(), y=named["revenue"].to_numpy(),
                    ax=ax, arrowprops={"arrowstyle": "-", "color": "0.6", "lw": 0.5},
                    iter_lim=LABEL_STEPS)
    _value_axis(ax.xaxis, "customers", 0.0, lang, currency)
    top_value = float(frame["revenue"].abs().max()) if len(frame) else 0.0
    _value_axis(ax.yaxis, "revenue", top_value, lang, currency)
    if len(under) and np.isfinite(slope):
        ax.set_title(_chart("scatter_title", lang, below=join(under["name"], lang)) + "\n"
                     + _chart("scatter_subtitle", lang, avg=money_text(slope, lang, currency)))
    else:
        ax.set_title(label("title_scatter", lang))
    return ax


# --------------------------------------------------------------------------- Lorenz


def plot_lorenz(
    data: pd.DataFrame | pd.Series,
    *,
    value: str = "revenue",
    unit: str = "regions",
    lang: str = "en",
    ax: Axes | None = None,
    **kwargs,
) -> Axes:
    """Lorenz curve of ``value`` across units, with the Gini coefficient.

    The curve and the numbers come from :func:`helpers.analysis.concentration.lorenz`
    and :func:`helpers.analysis.concentration.concentration` (negative totals count as
    0, the population Gini without small-sample correction), so the chart says what
    step 4 reports.

    Parameters
    ----------
    data : DataFrame or Series
        One row per unit (region, customer ...): a frame with the ``value`` column,
        or the values themselves.
    value : str, default "revenue"
        Column (and label) of the values.
    unit : {"regions", "provinces", "cities", "customers", "territories"}
        What the units are, for the axis label and the note.
    lang : {"en", "zh"}
        Language of labels and title.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is created when None.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.plot` for the curve.

    Returns
    -------
    matplotlib Axes
        The title states the top 20%'s share (``The top 20% of customers bring 71%
        of revenue``); the legend's title at the upper left (where the curve never
        goes) gives the Gini coefficient.
    """
    values = data[value] if isinstance(data, pd.DataFrame) else pd.Series(data)
    values = pd.to_numeric(values, errors="coerce").fillna(0.0)
    curve = lorenz(values)
    stats = concentration(values)
    units = label(f"{unit}_unit" if unit in ("customers", "regions") else unit, lang)
    ax = _axes(ax, (5.5, 5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1,
            label=label("equality", lang))
    kwargs.setdefault("color", MAIN_COLOR)
    ax.plot(curve["cum_units_share"], curve["cum_value_share"], label=label(value, lang),
            **kwargs)
    ax.fill_between(curve["cum_units_share"], curve["cum_value_share"],
                    curve["cum_units_share"], color=kwargs["color"], alpha=0.15)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(label("cum_units_share", lang).format(units=units))
    ax.set_ylabel(label("cum_value_share", lang).format(value=label(value, lang)))
    found = bool(stats["n"]) and not np.isnan(stats["gini"])
    # The legend (with the Gini coefficient as its title) sits at the upper left: the
    # curve never rises above the diagonal, so that corner holds no data.
    ax.legend(loc="upper left", fontsize="small",
              title=_chart("gini", lang, gini=f"{stats['gini']:.2f}") if found else None,
              title_fontsize="small")
    if found:
        ax.set_title(_chart("lorenz_title", lang, units=units, value=_word(value, lang),
                            top20=_pct(stats["top20_share"])))
    else:
        ax.set_title(label("title_lorenz", lang).format(value=label(value, lang), units=units))
    return ax


# --------------------------------------------------------------------------- order values


def plot_order_values(
    orders: pd.DataFrame,
    *,
    value: str = "amount",
    bins: int = 40,
    lang: str = "en",
    currency: str = "CNY",
    ax: Axes | None = None,
    **kwargs,
) -> Axes:
    """Histogram of order values on a log scale, with the median and the mean.

    Order values span several orders of magnitude (a card reader and a campus
    access system), so the bins are equally wide on a log axis. Lines with an
    amount of zero or less (returns) cannot be placed on it: they are left out and
    counted in a note. The title states the median and the mean; the legend and the
    note sit outside the plot, right of it.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders with the ``value`` column.
    value : str, default "amount"
        Column of order values (CNY).
    bins : int, default 40
        Number of log-spaced bins.
    lang : {"en", "zh"}
        Language of labels, notes and title.
    currency : str, default "CNY"
        ``project.currency``, named on the axis and in the title.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is created when None.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.hist`.

    Returns
    -------
    matplotlib Axes
    """
    _require(orders, value)
    amounts = pd.to_numeric(orders[value], errors="coerce").dropna().to_numpy(dtype=float)
    positive = amounts[amounts > 0]
    left_out = int((amounts <= 0).sum())
    ax = _axes(ax, (8, 4.5))
    if positive.size:
        low, high = positive.min(), positive.max()
        if high <= low:
            low, high = low / 1.5, high * 1.5
        edges = np.geomspace(low, high, bins + 1)
        kwargs.setdefault("color", MAIN_COLOR)
        kwargs.setdefault("alpha", 0.8)
        ax.hist(positive, bins=edges, **kwargs)
        ax.set_xscale("log")
        median, mean = float(np.median(positive)), float(positive.mean())
        ax.axvline(median, color=LINE_COLOR, linestyle="-", linewidth=1.5,
                   label=label("median_note", lang).format(v=money_text(median, lang, currency)))
        ax.axvline(mean, color="black", linestyle="--", linewidth=1.2,
                   label=label("mean_note", lang).format(v=money_text(mean, lang, currency)))
        ax.legend(**OUTSIDE_RIGHT)
        ax.set_title(_chart("orders_title", lang, median=money_text(median, lang, currency),
                            mean=money_text(mean, lang, currency)))
    else:
        ax.set_title(label("title_order_values", lang))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: format_money(v, lang)))
    ax.set_xlabel(_chart("money_log_axis", lang, value=text("chart", "order_value", lang),
                         currency=currency_name(currency, lang)))
    ax.set_ylabel(label("order_lines", lang))
    if left_out:
        ax.text(1.01, 0.0, label("returns_note", lang).format(n=left_out), wrap=True,
                transform=ax.transAxes, va="bottom", fontsize="small", color="dimgrey")
    return ax


# --------------------------------------------------------------------------- segment mix

#: One colour per RFM segment, best (green) to worst (red), in SEGMENTS order.
SEGMENT_COLORS = dict(zip(SEGMENTS, [
    "#1a9850", "#66bd63", "#a6d96a", "#4575b4", "#91bfdb", "#fee08b",
    "#fdae61", "#f46d43", "#d73027", "#a50026", "#7f7f7f",
], strict=True))


#: The segments slipping away (orange and red in :data:`SEGMENT_COLORS`): the title names
#: the region with the largest share of its customers in them.
SLIPPING = ("about to sleep", "cannot lose them", "at risk", "hibernating")


def plot_segment_mix(
    data: pd.DataFrame,
    *,
    region: str = "province",
    segment: str = "segment",
    top: int = 10,
    lang: str = "en",
    ax: Axes | None = None,
    **kwargs,
) -> Axes:
    """Stacked bars: the share of each region's customers in each RFM segment.

    Parameters
    ----------
    data : DataFrame
        One row per customer with the ``region`` and ``segment`` columns (the
        output of :func:`helpers.analysis.segments.rfm` joined to the customers' region).
        Rows missing either are left out.
    region : str, default "province"
        Region column (``province``, ``city``, ``territory``).
    segment : str, default "segment"
        Segment column; segments are stacked in the order of
        :data:`helpers.analysis.segments.SEGMENTS` (best first), others after them.
    top : int, default 10
        Regions with the most customers shown by name (largest on top); the rest
        are pooled into one "Others" bar.
    lang : {"en", "zh"}
        Language of region and segment names, labels and title.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is created when None.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.barh`.

    Returns
    -------
    matplotlib Axes
        Bar widths are shares (each region's bars sum to 1).
    """
    _require(data, region, segment)
    frame = data[[region, segment]].dropna()
    counts = pd.crosstab(frame[region], frame[segment])
    order = counts.sum(axis=1).sort_values(ascending=False, kind="stable").index
    shown = counts.loc[order[:top]]
    if len(order) > top:
        others = counts.loc[order[top:]].sum().rename("__others__")
        shown = pd.concat([shown, others.to_frame().T])
    segments = [s for s in SEGMENTS if s in shown.columns] + sorted(
        c for c in shown.columns if c not in SEGMENTS)
    shares = shown[segments].div(shown.sum(axis=1), axis=0).fillna(0.0)
    names = [label("others", lang) if r == "__others__" else n for r, n in zip(
        shares.index, region_names(shares.index, lang), strict=True)]
    ax = _axes(ax, (9, 0.4 * len(shares) + 2))
    positions = np.arange(len(shares))
    left = np.zeros(len(shares))
    for name in segments:
        widths = shares[name].to_numpy()
        ax.barh(positions, widths, left=left, label=term("segment", name, lang).capitalize(),
                color=SEGMENT_COLORS.get(name, OTHERS_COLOR), **kwargs)
        left += widths
    ax.set_yticks(positions, labels=[chart_text(n) for n in names])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(label("share_of_customers", lang))
    ax.set_ylabel(label(region, lang))
    ax.legend(title=label("segment", lang), **OUTSIDE_RIGHT)
    slipping = shares[[s for s in SLIPPING if s in shares.columns]].sum(axis=1)
    slipping = slipping[slipping.index != "__others__"]
    if len(slipping) >= 2 and slipping.max() > 0:
        where = names[list(shares.index).index(slipping.idxmax())]
        ax.set_title(_chart("segment_title", lang, region=where, share=_pct(slipping.max())))
    else:
        ax.set_title(label("title_segment_mix", lang))
    return ax


def plot_cohort_retention(
    data: pd.DataFrame,
    *,
    value: str = "retention",
    lang: str = "en",
    ax: Axes | None = None,
    **kwargs,
) -> Axes:
    """Heat map of cohort retention: first-purchase quarter (rows) by quarters since (columns).

    Parameters
    ----------
    data : DataFrame
        One grid of :func:`helpers.analysis.cohorts.cohort_retention` (one region, or the
        scope: ``cohort``, ``quarter`` and ``value``); quarter 0 (100% by definition) is
        left out.
    value : {"retention", "revenue_retention"}
        Customers kept, or the share of the first quarter's revenue kept.
    lang : {"en", "zh"}
    ax : matplotlib Axes, optional
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.imshow`.

    Returns
    -------
    matplotlib Axes
        The title compares the next-quarter value of the first and the last cohort.
    """
    _require(data, "cohort", "quarter", value)
    later = data.loc[data["quarter"] >= 1]
    grid = later.pivot_table(index="cohort", columns="quarter", values=value, aggfunc="first")
    grid = grid.sort_index()
    ax = _axes(ax, (1.0 + 0.6 * max(len(grid.columns), 4), 1.2 + 0.35 * max(len(grid), 4)))
    cells = grid.to_numpy(dtype=float)
    image = ax.imshow(np.ma.masked_invalid(cells), cmap=kwargs.pop("cmap", "Blues"), vmin=0,
                      vmax=1, aspect="auto", **kwargs)
    if cells.size <= 400:  # each cell's value, readable on its colour
        for (i, j), v in np.ndenumerate(cells):
            if np.isfinite(v):
                ax.text(j, i, _pct(v), ha="center", va="center", fontsize="x-small",
                        color="white" if v > 0.6 else "black")
    ax.set_xticks(range(len(grid.columns)), labels=[str(int(q)) for q in grid.columns])
    ax.set_yticks(range(len(grid)), labels=[chart_text(str(c)) for c in grid.index])
    ax.set_xlabel(_chart("cohort_quarters", lang))
    ax.set_ylabel(_chart("cohort_first", lang))
    ax.figure.colorbar(image, ax=ax, format=PercentFormatter(1.0), fraction=0.04, pad=0.02)
    first = grid[1].dropna() if 1 in grid.columns else pd.Series(dtype=float)
    key = "cohort_title" if value == "retention" else "cohort_revenue_title"
    if len(first) >= 2:
        ax.set_title(_chart(key, lang, first=chart_text(str(first.index[0])),
                            a=_pct(first.iloc[0]), last=chart_text(str(first.index[-1])),
                            b=_pct(first.iloc[-1])))
    elif len(first) == 1:
        ax.set_title(_chart(f"{key}_one", lang, first=chart_text(str(first.index[0])),
                            a=_pct(first.iloc[0])))
    else:
        ax.set_title(label(value, lang))
    return ax


# --------------------------------------------------------------------------- step 4

#: The bars of a revenue bridge that add and that take away.
RISE_COLOR = "#2ca02c"


def _signed_money(amount: float, lang: str, currency: str) -> str:
    """``+20.5 M CNY``, ``-1,150万元``: a change in a chart sentence."""
    shown = money_text(amount, lang, currency)
    return shown if amount < 0 or shown.startswith("0") else "+" + shown


def bridge_title(row, lang: str = "en", currency: str = "CNY") -> str:
    """A revenue bridge's title from its numbers: the change on the previous period (in
    % when there was revenue before) and the largest driver with its amount."""
    change = float(row["change"])
    driver = row.get("driver")
    if change == 0 or not isinstance(driver, str):
        return _chart("bridge_flat", lang)
    prev = float(row["revenue_prev"])
    moved = f"{change / prev:+.1%}" if prev > 0 else _signed_money(change, lang, currency)
    return _chart("bridge_title", lang, change=moved, driver=term("driver", driver, lang),
                  amount=_signed_money(float(row[f"from_{driver}"]), lang, currency))


def plot_revenue_bridge(row, *, lang: str = "en", currency: str = "CNY", mix: bool = True,
                        ax: Axes | None = None) -> Axes:
    """Waterfall of a revenue bridge: the previous period's revenue, each part of the
    change (green adds, red takes away), this period's revenue.

    Parameters
    ----------
    row : mapping or Series
        One row of :func:`helpers.analysis.bridge.revenue_bridge` (``revenue_prev``,
        ``from_new`` ... ``from_mix``, ``revenue``, ``change``, ``driver``).
    lang, currency : str
        Report language and ``project.currency`` (named on the money axis).
    mix : bool
        Whether to draw the mix part (only when the orders carry categories).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        The title states the change and its largest driver (:func:`bridge_title`). When the
        parts are small against the totals the axis starts above 0 and says where.
    """
    parts = [p for p in COMPONENTS if mix or p != "mix"]
    ax = _axes(ax, (9, 4.8))
    start, end = float(row["revenue_prev"]), float(row["revenue"])
    level, bars = start, []
    for part in parts:
        amount = float(row[f"from_{part}"])
        bars.append((part, min(level, level + amount), abs(amount), amount))
        level += amount
    positions = np.arange(len(parts) + 2)
    ax.bar(positions[0], start, color=OTHERS_COLOR)
    ax.bar(positions[-1], end, color=MAIN_COLOR)
    for x, (_part, bottom, height, amount) in zip(positions[1:-1], bars, strict=True):
        ax.bar(x, height, bottom=bottom, color=RISE_COLOR if amount >= 0 else LINE_COLOR)
    running = np.cumsum([start] + [b[3] for b in bars])
    for x in positions[:-1]:  # the steps joined by a thin line
        ax.plot([x + 0.4, x + 0.6], [running[x], running[x]], color="grey", linewidth=0.8)
    top = max(start, end, float(running.max()))
    low = min(float(running.min()), start, end)
    spread = top - low
    floor = 0.0
    if top > 0 and spread < 0.5 * top:  # zoom in: the parts would be slivers on a 0 axis
        floor = max(0.0, low - 1.5 * max(spread, 0.02 * top))
    ax.set_ylim(floor, top + 0.12 * (top - floor))
    for x, value, y in [(positions[0], start, start), (positions[-1], end, end),
                        *[(x, b[3], b[1] + b[2]) for x, b in zip(positions[1:-1], bars,
                                                                    strict=True)]]:
        shown = format_money(value, lang, signed=x not in (positions[0], positions[-1]))
        ax.annotate(shown, (x, y), xytext=(0, 3), textcoords="offset points", ha="center",
                    va="bottom", fontsize="small")
    names = [label("bridge_start", lang), *[term("driver", p, lang) for p in parts],
             label("bridge_end", lang)]
    width = 14 if lang_code(lang) == "en" else 8
    ax.set_xticks(positions, labels=[chart_text("\n".join(textwrap.wrap(n, width)) or n)
                                     for n in names], fontsize="small")
    money_axis(ax.yaxis, "revenue", top, lang, currency)
    if floor > 0:
        ax.text(0.01, 0.98, _chart("bridge_axis_from", lang,
                                   amount=money_text(floor, lang, currency)),
                transform=ax.transAxes, ha="left", va="top", fontsize="x-small",
                color="dimgrey")
    ax.set_title(bridge_title(row, lang, currency))
    return ax


#: The forecast's band (its prediction interval) and line.
BAND_COLOR = "#9ecae1"


def forecast_title(row, *, months: int, level: float, lang: str = "en",
                   currency: str = "CNY") -> str:
    """A forecast chart's title from its numbers: the next months' expected revenue and its
    prediction interval (``Next 3 months: 12.3 M CNY expected (80% interval 10.1 M–14 M)``).

    Parameters
    ----------
    row : mapping or Series
        One shown row of :func:`helpers.analysis.forecast.region_forecasts` (``forecast``,
        ``forecast_low``, ``forecast_high``: totals of the forecast months).
    months, level
        The forecast's months and the interval's nominal level (``analysis.forecast_months``,
        ``analysis.forecast_interval``).
    """
    return _chart("forecast_title", lang, months=int(months), level=f"{level:.0%}",
                  amount=money_text(float(row["forecast"]), lang, currency),
                  low=format_money(float(row["forecast_low"]), lang),
                  high=format_money(float(row["forecast_high"]), lang))


def plot_forecast(path: pd.DataFrame, row, *, months: int, level: float, lang: str = "en",
                  currency: str = "CNY", ax: Axes | None = None) -> Axes:
    """Monthly revenue of one series, its forecast months and each month's prediction
    interval as a band.

    Parameters
    ----------
    path : DataFrame
        One series of :func:`helpers.analysis.forecast.region_forecasts`' month-by-month
        table (``month_end``, ``kind`` ``actual`` or ``forecast``, ``revenue``, ``low``,
        ``high``).
    row : mapping or Series
        The series' row of the forecast table (its totals, for the title:
        :func:`forecast_title`).
    months, level
        The forecast's months and the interval's nominal level.
    lang, currency : str
        Report language and ``project.currency`` (named on the money axis).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        The history as a line, the forecast as a dashed line from the last actual month,
        and the band from each forecast month's low to its high (joined to the last actual
        month, where it has no width).
    """
    _require(path, "month_end", "kind", "revenue", "low", "high")
    ax = _axes(ax, (9, 4.5))
    frame = path.assign(month_end=pd.to_datetime(path["month_end"])).sort_values("month_end")
    actual = frame.loc[frame["kind"] == "actual"]
    ahead = frame.loc[frame["kind"] == "forecast"]
    ax.plot(actual["month_end"], actual["revenue"].to_numpy(dtype=float), color=MAIN_COLOR,
            marker="o", markersize=3, label=chart_text(label("revenue", lang)))
    if len(ahead):
        # joined to the last actual month, so the forecast reads as its continuation
        last = actual.iloc[-1:] if len(actual) else ahead.iloc[:0]
        joined = pd.concat([last.assign(low=last["revenue"], high=last["revenue"]), ahead])
        ax.fill_between(joined["month_end"], joined["low"].to_numpy(dtype=float),
                        joined["high"].to_numpy(dtype=float), color=BAND_COLOR, alpha=0.6,
                        linewidth=0, label=_chart("forecast_band", lang, level=f"{level:.0%}"))
        ax.plot(joined["month_end"], joined["revenue"].to_numpy(dtype=float),
                color=MAIN_COLOR, linestyle="--", marker="o", markersize=3,
                label=_chart("forecast_line", lang))
        if len(actual):
            ax.axvline(actual["month_end"].iloc[-1], color="grey", linewidth=0.8,
                       linestyle=":")
    values = frame[["revenue", "low", "high"]].to_numpy(dtype=float)
    top = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 0.0
    money_axis(ax.yaxis, "revenue", top, lang, currency)
    if np.nanmin(values) >= 0:
        ax.set_ylim(bottom=0)
    ax.set_xlabel(label("month", lang))
    ax.tick_params(axis="x", labelrotation=30)
    ax.legend(loc="upper left", frameon=False, fontsize="small")
    ax.set_title(forecast_title(row, months=months, level=level, lang=lang, currency=currency))
    return ax


class ChartImage:
    """A drawn chart as one part of a report section (:class:`helpers.context.Blocks`):
    shown as a PNG in a notebook and as an ``<img>`` in :meth:`to_html`; the figure is
    closed once drawn (no second copy at the end of the cell)."""

    def __init__(self, figure, *, alt: str = "") -> None:
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
        plt.close(figure)
        self.png = buffer.getvalue()
        self.alt = alt

    def _repr_png_(self) -> bytes:
        return self.png

    def __repr__(self) -> str:  # the plain-text form of the output: the chart's title
        return self.alt

    def to_html(self) -> str:
        data = base64.b64encode(self.png).decode("ascii")
        return f'<img alt="{escape(self.alt)}" src="data:image/png;base64,{data}">'


# --------------------------------------------------------------------------- how they buy


def plot_order_sizes(
    buying: pd.DataFrame,
    *,
    market: str = "ALL",
    top: int = 12,
    lang: str = "en",
    currency: str = "CNY",
    ax: Axes | None = None,
) -> Axes:
    """Order values per region as boxes drawn from step 4's quantiles (no order is
    needed): the box holds the middle half of the orders, the line is the median, the
    whiskers reach the 10th and 90th percentiles; a log axis in the currency.

    Parameters
    ----------
    buying : DataFrame
        :func:`helpers.analysis.buying.buying_summary` (``region``, ``orders``,
        ``order_p10`` .. ``order_p90``); the row whose ``region`` is ``market`` is the
        whole report, drawn first.
    market : str
        The scope's key in ``region``.
    top : int
        At most this many regions, the ones with most orders.
    lang, currency, ax
        As for the other charts.

    Returns
    -------
    matplotlib Axes
        Titled with the lowest and highest median order (or the one median).
    """
    _require(buying, "region", "orders", "order_p10", "order_q1", "order_median",
             "order_q3", "order_p90")
    rows = buying.dropna(subset=["order_median"])
    whole = rows.loc[rows["region"].astype(str) == str(market)]
    regions = rows.loc[rows["region"].astype(str) != str(market)].nlargest(top, "orders")
    rows = pd.concat([whole, regions])
    names = region_label(rows, lang) if len(rows) else pd.Series(dtype=object)
    everyone = text("buyers", "whole_report", lang)
    names = [everyone if str(r) == str(market) else str(n)
             for r, n in zip(rows["region"], names, strict=True)]
    ax = _axes(ax, (8, 0.45 * max(len(rows), 2) + 1.5))
    stats = [{"label": chart_text(n), "whislo": r["order_p10"], "q1": r["order_q1"],
              "med": r["order_median"], "q3": r["order_q3"], "whishi": r["order_p90"],
              "fliers": []} for n, r in zip(names, rows.to_dict("records"), strict=True)]
    if stats:
        ax.bxp(stats[::-1], orientation="horizontal", showfliers=False, patch_artist=True,
               boxprops={"facecolor": MAIN_COLOR, "alpha": 0.6},
               medianprops={"color": LINE_COLOR, "linewidth": 1.5})
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: format_money(v, lang)))
    ax.set_xlabel(_chart("money_log_axis", lang, value=text("chart", "order_value", lang),
                         currency=currency_name(currency, lang)) + "\n"
                  + chart_text(text("buyers", "order_chart_note", lang)))
    medians = regions.dropna(subset=["order_median"])
    if len(medians) >= 2:
        low = medians.loc[medians["order_median"].idxmin()]
        high = medians.loc[medians["order_median"].idxmax()]
        pair = region_label(pd.DataFrame([low, high]), lang)
        ax.set_title(chart_text(text("buyers", "order_chart_title", lang,
                                     low=money_text(low["order_median"], lang, currency),
                                     low_region=pair.iloc[0],
                                     high=money_text(high["order_median"], lang, currency),
                                     high_region=pair.iloc[1])))
    elif len(rows):
        ax.set_title(chart_text(text("buyers", "order_chart_one", lang, value=money_text(
            rows["order_median"].iloc[0], lang, currency))))
    return ax


def plot_seasonality(
    seasonality: pd.DataFrame,
    *,
    market: str = "ALL",
    lang: str = "en",
    ax: Axes | None = None,
) -> Axes | None:
    """The whole report's month-of-year index as bars (100: an average month), titled with
    its peak and low when the pattern is significant, else with its p-value.

    Parameters
    ----------
    seasonality : DataFrame
        :func:`helpers.analysis.buying.seasonality`; the row whose ``region`` is
        ``market`` is drawn.

    Returns
    -------
    matplotlib Axes, or None when the index was not computed (the words say why).
    """
    _require(seasonality, "region", "reason_key", "p", "significant")
    row = seasonality.loc[seasonality["region"].astype(str) == str(market)]
    if not len(row) or str(row["reason_key"].fillna("").iloc[0]):
        return None
    row = row.iloc[0]
    index = [float(row[f"m{m}"]) for m in range(1, 13)]
    ax = _axes(ax, (8, 3.8))
    months = [chart_text(text("buyers", f"month_{m}", lang)[:3] if lang_code(lang) == "en"
                         else text("buyers", f"month_{m}", lang)) for m in range(1, 13)]
    colors = [LINE_COLOR if v == max(index) else BELOW_COLOR if v == min(index) else MAIN_COLOR
              for v in index]
    ax.bar(months, index, color=colors, alpha=0.85)
    ax.axhline(100, color="black", linewidth=1, linestyle="--")
    ax.set_ylabel(chart_text(text("buyers", "season_axis", lang)))
    if bool(row["significant"]):
        title = text("buyers", "season_chart_title", lang,
                     peak=text("buyers", f"month_{int(row['peak_month'])}", lang),
                     peak_index=row["peak_index"],
                     low=text("buyers", f"month_{int(row['low_month'])}", lang),
                     low_index=row["low_index"])
    else:
        p = float(row["p"])
        title = text("buyers", "season_chart_flat", lang,
                     p="< 0.001" if p < 0.001 else f"{p:.3f}")
    ax.set_title(chart_text(title))
    return ax
