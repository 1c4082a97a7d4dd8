"""RFM scores and named customer segments (step 4, insight).

Recency, frequency and monetary value are scored 1..bins by quantile (the
highest score is the best), and each customer is given a named segment from
its recency and frequency scores with the widely used RFM segment map.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["SEGMENTS", "segment_for", "rfm", "rfm_information", "segment_summary"]

#: The RFM measures: score column -> the column of the values it scores.
MEASURES = {"r_score": "recency_days", "f_score": "frequency", "m_score": "monetary"}

#: Segment names, best first (the order of :func:`segment_summary`).
SEGMENTS = [
    "champions",
    "loyal",
    "potential loyalists",
    "new customers",
    "promising",
    "need attention",
    "about to sleep",
    "cannot lose them",
    "at risk",
    "hibernating",
    "lost",
]

# (R score, F score) on a 1..5 scale -> segment.
_SEGMENT_MAP: dict[tuple[int, int], str] = {}
for _r in range(1, 6):
    for _f in range(1, 6):
        if _r <= 2:
            if (_r, _f) == (1, 1):
                _name = "lost"
            elif _f <= 2:
                _name = "hibernating"
            elif _f <= 4:
                _name = "at risk"
            else:
                _name = "cannot lose them"
        elif _r == 3:
            _name = ("about to sleep" if _f <= 2 else "need attention" if _f == 3 else "loyal")
        elif _r == 4:
            _name = "promising" if _f == 1 else "potential loyalists" if _f <= 3 else "loyal"
        else:
            _name = "new customers" if _f == 1 else "potential loyalists" if _f <= 3 else "champions"
        _SEGMENT_MAP[(_r, _f)] = _name


def segment_for(r_score: int, f_score: int, bins: int = 5) -> str:
    """The segment of one (R, F) score pair.

    Scores from ``bins`` other than 5 are first mapped to 1..5 with
    ``ceil(score * 5 / bins)``.

    Rule table (R = recency score, F = frequency score, 5 best)::

        R \\ F   1               2                     3                     4          5
        5       new customers   potential loyalists   potential loyalists   champions  champions
        4       promising       potential loyalists   potential loyalists   loyal      loyal
        3       about to sleep  about to sleep        need attention        loyal      loyal
        2       hibernating     hibernating           at risk               at risk    cannot lose them
        1       lost            hibernating           at risk               at risk    cannot lose them
    """
    if bins != 5:
        r_score = math.ceil(r_score * 5 / bins)
        f_score = math.ceil(f_score * 5 / bins)
    return _SEGMENT_MAP[(int(r_score), int(f_score))]


def _quantile_score(table: pd.DataFrame, by: list[str], ascending: list[bool],
                    bins: int) -> pd.Series:
    """Score 1..bins by quantile of the order given by ``by`` (worst first).

    Rows are put in order by the keys in ``by`` (the later keys break ties of
    the earlier ones, the row order last: ``customer_id`` in :func:`rfm`),
    ranked with ``rank(method="first")`` so that ties never produce duplicate
    quantile edges, and the ranks are cut into ``bins`` equal-count groups.
    """
    ordered = table.assign(_row=np.arange(len(table))).sort_values(
        by + ["_row"], ascending=ascending + [True], kind="mergesort")
    position = pd.Series(np.arange(1, len(ordered) + 1), index=ordered.index, dtype=float)
    ranks = position.rank(method="first")
    if len(ranks) == 1:
        scores = pd.Series((bins + 1) // 2, index=ranks.index)
    else:
        scores = pd.qcut(ranks, bins, labels=False) + 1
    return scores.reindex(table.index).astype("int64")


def _one_score_per_value(scores: pd.Series, values: pd.Series, bins: int) -> pd.Series:
    """Scores where a value shared by more customers than one score level holds
    (``n / bins``) is given one score, the lowest its customers got: a tie that large
    would otherwise be split across levels by the other measures alone (a thousand
    one-order customers scored 1 to 5 on frequency by how much they spent)."""
    counts = values.map(values.value_counts())
    big = counts > len(values) / bins
    if not big.any():
        return scores
    lowest = scores.groupby(values).transform("min")
    return scores.where(~big, lowest).astype("int64")


def rfm_information(rfm_table: pd.DataFrame, *, bins: int = 5) -> dict:
    """What the RFM scores can tell apart (for the notes of step 4).

    Parameters
    ----------
    rfm_table : DataFrame
        :func:`rfm` output.
    bins : int
        The score levels of the table.

    Returns
    -------
    dict
        ``customers``; ``uninformative``: the measures (``recency_days``, ``frequency``,
        ``monetary``) with one value for every customer (no differences to score),
        with ``single_value`` (measure -> that value); ``tied``: measure -> ``{"value",
        "customers", "share", "score"}`` for a value shared by more customers than one
        score level holds (they share one score); ``reason_key``
        ``"frequency_uninformative"`` when frequency does not vary (no one is a
        frequent buyer: the segments follow recency). Keys and numbers only.
    """
    info: dict = {"customers": int(len(rfm_table)), "uninformative": [], "single_value": {},
                  "tied": {}}
    if len(rfm_table) < 2:
        return info
    for score, measure in MEASURES.items():
        values = rfm_table[measure]
        counts = values.value_counts()
        if len(counts) == 1:
            info["uninformative"].append(measure)
            info["single_value"][measure] = float(counts.index[0])
        elif counts.iloc[0] > len(values) / bins:
            value = counts.index[0]
            info["tied"][measure] = {
                "value": float(value), "customers": int(counts.iloc[0]),
                "share": float(counts.iloc[0] / len(values)),
                "score": int(rfm_table.loc[values == value, score].iloc[0])}
    if "frequency" in info["uninformative"]:
        info["reason_key"] = "frequency_uninformative"
    return info


def rfm(summary: pd.DataFrame, *, bins: int = 5) -> pd.DataFrame:
    """Recency, frequency and monetary scores per customer, with a named segment.

    Parameters
    ----------
    summary : DataFrame
        :func:`helpers.analysis.customers.purchase_summary` (taken on the
        as-of day of the scores): ``customer_id``, ``last_purchase``,
        ``recency_days``, ``orders``, ``monetary``.
    bins : int
        Number of score levels (5: scores 1..5, 5 best).

    Returns
    -------
    DataFrame
        One row per customer of ``summary`` (customers with a purchase before
        the as-of day), sorted by ``customer_id``:

        - ``customer_id``, ``last_order_date`` (the last purchase day)
        - ``recency_days``: days from ``last_order_date`` to the as-of day
        - ``frequency``: distinct orders with a purchase (positive) line
        - ``monetary``: net amount of all the customer's lines (returns subtract)
        - ``r_score``, ``f_score``, ``m_score``: 1..bins by quantile; R is
          highest for the most recent, F and M for the largest values. Ties
          are broken first by the other measures (R: higher frequency, then
          monetary ranks better; F: higher monetary, then more recent;
          M: higher frequency, then more recent), then by ``customer_id``;
          but a value shared by more customers than one level holds (``n / bins``)
          gets one score, the lowest its customers would get, so the other
          measures never spread a large tie over several levels. A measure with
          one value for every customer carries no information: its score is the
          middle one, except frequency when everyone bought once (score 1, an
          absolute fact), so no segment calls anyone a frequent buyer. With a
          single customer every score is the middle one.
        - ``rfm_score``: the three scores as a string, e.g. ``"545"``
        - ``segment``: from R and F with the table in :func:`segment_for`
    """
    if bins < 2:
        raise ValueError(f"bins must be at least 2, got {bins}")
    columns = ["customer_id", "last_order_date", "recency_days", "frequency", "monetary",
               "r_score", "f_score", "m_score", "rfm_score", "segment"]
    if summary.empty:
        return pd.DataFrame(columns=columns)
    per = (summary[["customer_id", "last_purchase", "recency_days", "orders", "monetary"]]
           .rename(columns={"last_purchase": "last_order_date", "orders": "frequency"})
           .sort_values("customer_id", kind="mergesort").reset_index(drop=True))
    r_score = _quantile_score(per, ["recency_days", "frequency", "monetary"],
                              [False, True, True], bins)
    f_score = _quantile_score(per, ["frequency", "monetary", "recency_days"],
                              [True, True, False], bins)
    m_score = _quantile_score(per, ["monetary", "frequency", "recency_days"],
                              [True, True, False], bins)
    middle = (bins + 1) // 2
    scores = {}
    for name, score in {"r_score": r_score, "f_score": f_score, "m_score": m_score}.items():
        values = per[MEASURES[name]]
        if values.nunique() == 1:  # no differences: no information
            level = 1 if name == "f_score" and float(values.iloc[0]) <= 1 else middle
            score = pd.Series(level, index=per.index, dtype="int64")
        else:
            score = _one_score_per_value(score, values, bins)
        scores[name] = score
    per = per.assign(**scores)
    per = per.assign(
        rfm_score=(per["r_score"].astype(str) + per["f_score"].astype(str)
                   + per["m_score"].astype(str)),
        segment=[segment_for(r, f, bins) for r, f in zip(per["r_score"], per["f_score"],
                                                          strict=True)],
    )
    return per[columns]


def segment_summary(rfm_table: pd.DataFrame) -> pd.DataFrame:
    """Size and value of each segment present (what it means: ``segment_meaning`` in
    :mod:`helpers.text.lookup`'s catalog).

    Parameters
    ----------
    rfm_table : DataFrame
        The output of :func:`rfm`.

    Returns
    -------
    DataFrame
        One row per segment present, in the order of :data:`SEGMENTS`:
        ``segment``, ``customers``, ``customer_share``, ``revenue`` (sum of
        ``monetary``), ``revenue_share`` (of the total net revenue; NaN when
        it is not positive), ``recency_mean``, ``frequency_mean``,
        ``monetary_mean``.
    """
    columns = ["segment", "customers", "customer_share", "revenue", "revenue_share",
               "recency_mean", "frequency_mean", "monetary_mean"]
    if rfm_table.empty:
        return pd.DataFrame(columns=columns)
    grouped = rfm_table.groupby("segment").agg(
        customers=("customer_id", "size"),
        revenue=("monetary", "sum"),
        recency_mean=("recency_days", "mean"),
        frequency_mean=("frequency", "mean"),
        monetary_mean=("monetary", "mean"),
    )
    order = [s for s in SEGMENTS if s in grouped.index]
    order += sorted(set(grouped.index) - set(order))
    grouped = grouped.reindex(order).rename_axis("segment").reset_index()
    total_revenue = grouped["revenue"].sum()
    return grouped.assign(
        customers=grouped["customers"].astype("int64"),
        customer_share=grouped["customers"] / grouped["customers"].sum(),
        revenue_share=(grouped["revenue"] / total_revenue) if total_revenue > 0 else np.nan,
    )[columns]
