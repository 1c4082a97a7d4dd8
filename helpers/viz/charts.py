"""Step 3 charts: region bars, Pareto share, Lorenz curve, trends, customers vs revenue,
order-value distribution and segment mix.

Every function follows seaborn's habits: keyword-only options, draws on ``ax`` when
given (a new figure otherwise), returns the Axes, and never changes its input.
Labels are English or Chinese (``lang="zh"``); Chinese text renders with the CJK font
of :mod:`helpers.viz.theme`, which a notebook applies once (:func:`helpers.context.open_step`):
the functions here never change ``matplotlib.rcParams``. Names from the data are literal
text: a ``$`` in a region name never switches on mathtext
(:func:`helpers.text.markup.chart_text`).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, PercentFormatter

from helpers.analysis.concentration import concentration, lorenz
from helpers.analysis.segments import SEGMENTS
from helpers.text.format import MONEY_COLUMNS, PERCENT_COLUMNS, format_money
from helpers.text.lookup import label, region_label, region_names, term
from helpers.text.markup import chart_text

OTHERS_COLOR = "#b0b0b0"
MAIN_COLOR = "#1f77b4"
LINE_COLOR = "#d62728"


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _value_formatter(value: str, lang: str) -> FuncFormatter:
    if value in MONEY_COLUMNS:
        return FuncFormatter(lambda v, _pos: format_money(v, lang))
    if value in PERCENT_COLUMNS:
        return PercentFormatter(1.0)
    return FuncFormatter(lambda v, _pos: f"{v:,.0f}")


def _require(data: pd.DataFrame, *columns: str) -> None:
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise KeyError(f"missing column(s) {missing}; have {list(data.columns)}")


def _region_values(data: pd.DataFrame, value: str, lang: str) -> pd.Series:
    """Value per display name, largest first, missing values dropped."""
    _require(data, value)
    names = region_label(data, lang)
    values = pd.Series(pd.to_numeric(data[value], errors="coerce").to_numpy(), index=names)
    values = values.dropna()
    # Regions sharing a display name (rare) are summed so each bar is one name.
    values = values.groupby(level=0, sort=False).sum()
    return values.sort_values(ascending=False, kind="stable")


def plot_region_bars(
    data: pd.DataFrame,
    *,
    value: str = "revenue",
    top: int = 15,
    lang: str = "en",
    ax: Axes | None = None,
    **kwargs,
) -> Axes:
    """Horizontal bars of ``value`` per region, top ``top`` plus one "Others" bar.

    Parameters
    ----------
    data : DataFrame
        Region KPI table with ``region``, ``region_en`` and the ``value`` column.
    value : str, default "revenue"
        Column to plot (``revenue``, ``customers``, ``orders`` ...).
    top : int, default 15
        Number of regions shown by name; the rest are summed into one grey bar
        labelled "Others" / "其他" (drawn only when there is a rest).
    lang : {"en", "zh"}, default "en"
        Language of names, axis labels and title.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is created when None.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.barh`.

    Returns
    -------
    matplotlib Axes
    """
    values = _region_values(data, value, lang)
    shown = values.iloc[:top]
    rest = values.iloc[top:]
    colors = [MAIN_COLOR] * len(shown)
    if len(rest):
        shown = pd.concat([shown, pd.Series([rest.sum()], index=[label("others", lang)])])
        colors.append(OTHERS_COLOR)
    ax = _axes(ax, (8, 0.35 * len(shown) + 1.5))
    kwargs.setdefault("color", colors)
    positions = np.arange(len(shown))
    ax.barh(positions, shown.to_numpy(), **kwargs)
    ax.set_yticks(positions, labels=[chart_text(n) for n in shown.index])
    ax.invert_yaxis()  # largest on top
    ax.xaxis.set_major_formatter(_value_formatter(value, lang))
    ax.set_xlabel(label(value, lang))
    ax.set_ylabel(label("region", lang))
    ax.set_title(label("title_bars", lang).format(value=label(value, lang)))
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
    that together reach 80% annotated.

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
    ax.set_title(label("title_share", lang).format(value=label(value, lang)))
    return ax


def plot_trend(
    monthly: pd.DataFrame,
    *,
    value: str = "revenue",
    hue: str | None = None,
    top: int = 6,
    names=None,
    lang: str = "en",
    ax: Axes | None = None,
    **kwargs,
) -> Axes:
    """Monthly line(s) of ``value``; one line per group when ``hue`` is given.

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
    else:
        table = frame.pivot_table(
            index="month", columns=hue, values=value, aggfunc="sum", fill_value=0
        ).sort_index()
        order = table.sum().sort_values(ascending=False, kind="stable").index[:top]
        if names is None and hue in ("province", "territory", "city", "region"):
            names = dict(zip(order, region_names(order, lang), strict=True))
        names = names or {}
        for group in order:
            ax.plot(table.index, table[group].to_numpy(), label=chart_text(names.get(group, group)),
                    **kwargs)
        ax.legend(title=label(hue, lang), fontsize="small")
    ax.yaxis.set_major_formatter(_value_formatter(value, lang))
    ax.set_xlabel(label("month", lang))
    ax.set_ylabel(label(value, lang))
    ax.set_title(label("title_trend", lang).format(value=label(value, lang)))
    ax.tick_params(axis="x", labelrotation=30)  # autofmt_xdate would hide other axes' ticks
    return ax


def plot_customers_vs_revenue(
    data: pd.DataFrame,
    *,
    annotate: int = 15,
    lang: str = "en",
    ax: Axes | None = None,
    **kwargs,
) -> Axes:
    """Scatter of customers (x) against revenue (y), one labelled point per region.

    Parameters
    ----------
    data : DataFrame
        Region KPI table with ``region``, ``region_en``, ``customers`` and
        ``revenue``; rows missing either number are left out.
    annotate : int, default 15
        Number of regions (largest revenue first) whose names are written next to
        their point, so a chart of 300 cities stays readable.
    lang : {"en", "zh"}, default "en"
        Language of names, labels and title.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is created when None.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.scatter`.

    Returns
    -------
    matplotlib Axes
    """
    _require(data, "customers", "revenue")
    frame = pd.DataFrame(
        {
            "name": region_label(data, lang),
            "customers": pd.to_numeric(data["customers"], errors="coerce"),
            "revenue": pd.to_numeric(data["revenue"], errors="coerce"),
        }
    ).dropna(subset=["customers", "revenue"])
    ax = _axes(ax, (8, 6))
    kwargs.setdefault("color", MAIN_COLOR)
    kwargs.setdefault("alpha", 0.8)
    ax.scatter(frame["customers"], frame["revenue"], **kwargs)
    labelled = frame.nlargest(annotate, "revenue")
    texts = [ax.text(row.customers, row.revenue, chart_text(row.name), fontsize="small")
             for row in labelled.itertuples()]
    if texts:  # move labels apart where regions sit close together, with a thin leader line
        from adjustText import adjust_text

        adjust_text(texts, x=labelled["customers"].to_numpy(), y=labelled["revenue"].to_numpy(),
                    ax=ax, arrowprops={"arrowstyle": "-", "color": "0.6", "lw": 0.5})
    ax.xaxis.set_major_formatter(_value_formatter("customers", lang))
    ax.yaxis.set_major_formatter(_value_formatter("revenue", lang))
    ax.set_xlabel(label("customers", lang))
    ax.set_ylabel(label("revenue", lang))
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
        The note with the Gini coefficient and the top-20% share is the Axes'
        text at the upper left.
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
    if stats["n"] and not np.isnan(stats["gini"]):
        note = label("gini_note", lang).format(gini=stats["gini"], units=units,
                                               top20=stats["top20_share"])
        ax.text(0.03, 0.97, note, transform=ax.transAxes, va="top", fontsize="small",
                bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85})
    ax.legend(loc="lower right", fontsize="small")
    ax.set_title(label("title_lorenz", lang).format(value=label(value, lang), units=units))
    return ax


# --------------------------------------------------------------------------- order values


def plot_order_values(
    orders: pd.DataFrame,
    *,
    value: str = "amount",
    bins: int = 40,
    lang: str = "en",
    ax: Axes | None = None,
    **kwargs,
) -> Axes:
    """Histogram of order values on a log scale, with the median and the mean.

    Order values span several orders of magnitude (a card reader and a campus
    access system), so the bins are equally wide on a log axis. Lines with an
    amount of zero or less (returns) cannot be placed on it: they are left out and
    counted in a note.

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
                   label=label("median_note", lang).format(v=format_money(median, lang)))
        ax.axvline(mean, color="black", linestyle="--", linewidth=1.2,
                   label=label("mean_note", lang).format(v=format_money(mean, lang)))
        ax.legend(fontsize="small", loc="upper right")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: format_money(v, lang)))
    ax.set_xlabel(label("order_value_log", lang))
    ax.set_ylabel(label("order_lines", lang))
    if left_out:
        ax.text(0.01, 0.97, label("returns_note", lang).format(n=left_out),
                transform=ax.transAxes, va="top", fontsize="small", color="dimgrey")
    ax.set_title(label("title_order_values", lang))
    return ax


# --------------------------------------------------------------------------- segment mix

#: One colour per RFM segment, best (green) to worst (red), in SEGMENTS order.
SEGMENT_COLORS = dict(zip(SEGMENTS, [
    "#1a9850", "#66bd63", "#a6d96a", "#4575b4", "#91bfdb", "#fee08b",
    "#fdae61", "#f46d43", "#d73027", "#a50026", "#7f7f7f",
], strict=True))


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
    ax.legend(title=label("segment", lang), fontsize="small", loc="upper left",
              bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title(label("title_segment_mix", lang))
    return ax
