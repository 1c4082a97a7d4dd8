"""Colour classes of a filled map (regions, hexagons) and the legend rows that name them."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from helpers.text.format import format_value
from helpers.text.lookup import label
from helpers.text.markup import html_text

#: ColorBrewer YlGnBu, light to dark: the classes of a filled map.
PALETTE = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")


def value_classes(values: pd.Series, k: int) -> np.ndarray:
    """Upper-open class edges (``k - 1`` inner edges) of about equal counts.

    Parameters
    ----------
    values : Series
        The values to classify; only the positive ones set the edges.
    k : int
        The number of classes wanted.

    Returns
    -------
    ndarray
        Edges at quantiles of the positive values, rounded to two significant
        digits so the legend reads well; duplicates are dropped, so there may be
        fewer classes. A value's class is ``np.searchsorted(edges, value, "right")``.
    """
    positive = values[values > 0].to_numpy(dtype=float)
    if positive.size == 0:
        return np.array([])
    k = max(1, min(k, len(np.unique(positive))))
    inner = np.quantile(positive, np.linspace(0, 1, k + 1)[1:-1])
    rounded = []
    for edge in inner:
        digits = 1 - int(math.floor(math.log10(abs(edge)))) if edge > 0 else 0
        rounded.append(round(float(edge), digits))
    return np.unique(np.array(rounded, dtype=float))


def class_colors(n: int) -> list[str]:
    """``n`` colours of :data:`PALETTE` spread from light to dark (one: the middle one)."""
    if n <= 1:
        return [PALETTE[2]]
    picks = np.round(np.linspace(0, len(PALETTE) - 1, n)).astype(int)
    return [PALETTE[i] for i in picks]


def class_legend(edges: np.ndarray, colors: list[str], value: str,
                 lang: str) -> list[tuple[str, str, str]]:
    """Legend rows of the classes: (colour, ``"solid"``, escaped range text) each.

    The first class reads ``< edge``, the last ``≥ edge``, the others ``a – b``;
    with no edges the one class reads "any value". Numbers are formatted as the
    ``value`` column is (:func:`helpers.text.format.format_value`).
    """
    rows = []
    formatted = [format_value(e, value, lang) for e in edges]
    for k, color in enumerate(colors):
        if len(edges) == 0:
            text = label("legend_any", lang)
        elif k == 0:
            text = f"&lt; {html_text(formatted[0])}"
        elif k == len(edges):
            text = f"≥ {html_text(formatted[-1])}"
        else:
            text = f"{html_text(formatted[k - 1])} – {html_text(formatted[k])}"
        rows.append((color, "solid", text))
    return rows
