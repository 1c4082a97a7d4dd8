"""Who the customers are, by region: their mix on the profile attributes against the
market's, and the attribute values over-represented among the most valuable customers.

The profile attributes are text columns of the canonical customers table (channel,
industry, company size, business model ...; for consumers age band, gender, city tier),
chosen by ``analysis.profile_attributes`` (default: every one of
:data:`PROFILE_ATTRIBUTES` the data carry with at least two values).

- :func:`attribute_mix`: per region, attribute and value the region's customers with
  that value, their share among the region's customers whose attribute is known, the
  market's share, the index (region share / market share x 100) and a test of the
  region against the rest of the market (a 2x2 chi-square where every expected count
  reaches 5, else no test), corrected for testing every cell at once
  (Benjamini-Hochberg).
- :func:`value_by_attribute`: per group (the whole market of the report, then each
  region), attribute and value: buying customers, their mean revenue with a t-interval,
  and how over-represented the value is among the group's top customers by revenue
  (top ``top_share``; index = share among the top / share among all buyers x 100,
  tested top against the rest, corrected as above).

Values are the text as exported (stripped); a value is missing when empty. Values
beyond the ``max_values`` most frequent in the market are grouped as :data:`OTHER`.
Keys and numbers only: the words are in :mod:`helpers.text.narrative.buyers`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from helpers.analysis.stats import MIN_EXPECTED, bh_adjust, t_interval, two_by_two

__all__ = ["PROFILE_ATTRIBUTES", "OTHER", "profile_attributes", "attribute_values",
           "attribute_mix", "value_by_attribute", "MIX_COLUMNS", "VALUE_COLUMNS"]

#: Customer columns that describe who a customer is, in the order reports name them.
PROFILE_ATTRIBUTES = ("channel", "industry", "company_size", "business_model",
                      "main_product_tier", "age_band", "gender", "city_tier")
#: The value standing for every value beyond the ``max_values`` most frequent.
OTHER = "(other)"

MIX_COLUMNS = ["region", "attribute", "value", "customers", "known", "share_in_region",
               "market_customers", "market_known", "share_in_market", "share_index", "p",
               "p_adj", "significant"]
VALUE_COLUMNS = ["group", "region", "attribute", "value", "buyers", "revenue",
                 "mean_revenue", "mean_low", "mean_high", "top_customers", "top_share",
                 "buyer_share", "top_index", "p", "p_adj", "significant"]


def _clean(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def profile_attributes(customers: pd.DataFrame, configured: Sequence[str] | None = None
                       ) -> tuple[list[str], dict[str, str]]:
    """The attributes a report profiles, and why the others are left out.

    Parameters
    ----------
    customers : DataFrame
        The customers the attributes describe.
    configured : sequence of str, optional
        ``analysis.profile_attributes``; None: :data:`PROFILE_ATTRIBUTES`.

    Returns
    -------
    (list of str, dict)
        The attributes with at least two known values, and attribute -> reason key
        (``not_mapped``: no such column; ``empty``: no value; ``one_value``: every
        customer has the same) for the configured ones left out.
    """
    chosen, left_out = [], {}
    for name in (PROFILE_ATTRIBUTES if configured is None else configured):
        if name not in customers.columns:
            if configured is not None:
                left_out[name] = "not_mapped"
            continue
        distinct = _clean(customers[name]).dropna().nunique()
        if distinct == 0:
            left_out[name] = "empty"
        elif distinct == 1:
            left_out[name] = "one_value"
        else:
            chosen.append(name)
    return chosen, left_out


def attribute_values(values: pd.Series, reference: pd.Series, max_values: int) -> pd.Series:
    """``values`` cleaned, with every value outside the ``max_values`` most frequent of
    ``reference`` replaced by :data:`OTHER` (missing stays missing)."""
    clean = _clean(values)
    top = _clean(reference).value_counts().head(max_values).index
    return clean.where(clean.isin(top) | clean.isna(), OTHER)


def _codes(values: pd.Series, categories) -> np.ndarray:
    """Integer codes of ``values`` among ``categories`` (-1: missing or not among them)."""
    codes, uniques = pd.factorize(pd.Series(values))
    own = pd.Index(categories).get_indexer(uniques) if len(uniques) else np.zeros(0, np.int64)
    return np.where(codes >= 0, own[np.maximum(codes, 0)] if len(own) else -1,
                    -1).astype(np.int64)


def _region_codes(values: pd.Series, regions: Sequence[str] | None
                  ) -> tuple[np.ndarray, pd.Index]:
    names = pd.Index(sorted(pd.Series(values).dropna().astype(str).unique()) if regions is None
                     else [str(r) for r in regions])
    return _codes(pd.Series(values, dtype=object).astype("string"), names), names


def attribute_mix(customers: pd.DataFrame, reference: pd.DataFrame, *, level: str,
                  attributes: Sequence[str], regions: Sequence[str] | None = None,
                  max_values: int = 12, min_expected: float = MIN_EXPECTED,
                  alpha: float = 0.05) -> pd.DataFrame:
    """Each region's customers per attribute value against the market's (module docstring).

    Parameters
    ----------
    customers : DataFrame
        The report's customers: ``customer_id``, the region column ``level`` and the
        ``attributes``.
    reference : DataFrame
        The market they are compared with; holds every customer of ``customers``
        (the whole market, or the report's scope).
    level : str
        The region column (``province``, ``city``).
    attributes : sequence of str
    regions : sequence of str, optional
        The regions given rows (default: every region of ``customers``).
    max_values : int
        Values beyond the most frequent in the market are :data:`OTHER`.
    min_expected, alpha : float
        Cochran's rule for a test; the false discovery rate ``significant`` is judged at.

    Returns
    -------
    DataFrame
        :data:`MIX_COLUMNS`: ``customers`` with the value in the region, ``known`` the
        region's customers whose attribute is known, ``share_in_region`` = customers /
        known, ``market_customers``, ``market_known`` and ``share_in_market`` the same in
        the market, ``share_index`` = share_in_region / share_in_market x 100,
        ``p`` (NaN: too few for a test), ``p_adj`` (Benjamini-Hochberg over every row),
        ``significant`` (p_adj < alpha).
    """
    parts = []
    region, names = _region_codes(customers[level] if level in customers else
                                  pd.Series(pd.NA, index=customers.index), regions)
    k = len(names)
    for attribute in attributes:
        market = attribute_values(reference[attribute], reference[attribute], max_values)
        market_counts = market.value_counts()
        values = list(market_counts.index)
        v = _codes(attribute_values(customers[attribute], reference[attribute], max_values),
                   values)
        ok = (region >= 0) & (v >= 0)
        cells = np.bincount(region[ok] * len(values) + v[ok],
                            minlength=k * len(values)).reshape(k, len(values))
        frame = pd.DataFrame({"region": np.repeat(np.asarray(names, dtype=object), len(values)),
                              "attribute": attribute,
                              "value": np.tile(np.asarray(values, dtype=object), k),
                              "customers": cells.ravel(),
                              "known": np.repeat(cells.sum(axis=1), len(values)),
                              "market_customers": np.tile(market_counts.to_numpy(), k),
                              "market_known": int(market_counts.sum())})
        parts.append(frame)
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=float if c in (
            "share_in_region", "share_in_market", "share_index", "p", "p_adj") else object)
            for c in MIX_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    out = out.loc[out["known"] > 0].reset_index(drop=True)
    out["share_in_region"] = out["customers"] / out["known"]
    out["share_in_market"] = out["market_customers"] / out["market_known"]
    out["share_index"] = 100 * out["share_in_region"] / out["share_in_market"].where(
        out["share_in_market"] > 0)
    out["p"] = two_by_two(out["customers"], out["known"], out["market_customers"],
                          out["market_known"], min_expected=min_expected)
    out["p_adj"] = bh_adjust(out["p"])
    out["significant"] = out["p_adj"] < alpha
    return out[MIX_COLUMNS]


def _cells(key: np.ndarray, size: int, revenue: np.ndarray, top: np.ndarray) -> dict:
    """Per cell of ``key`` (0 .. size-1; -1 left out): count, sum, mean, standard deviation
    (two-pass) and top customers."""
    ok = key >= 0
    key, revenue, top = key[ok], revenue[ok], top[ok]
    n = np.bincount(key, minlength=size).astype(float)
    total = np.bincount(key, weights=revenue, minlength=size)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total / n
        square = np.bincount(key, weights=(revenue - mean[key]) ** 2, minlength=size)
        sd = np.sqrt(square / (n - 1))
    return {"buyers": n, "revenue": total, "mean_revenue": mean, "std": sd,
            "top_customers": np.bincount(key, weights=top.astype(float), minlength=size)}


def value_by_attribute(customers: pd.DataFrame, revenue: pd.Series, *, level: str,
                       attributes: Sequence[str], regions: Sequence[str] | None = None,
                       market: str = "ALL", top_share: float = 0.2, interval: float = 0.95,
                       max_values: int = 12, min_expected: float = MIN_EXPECTED,
                       alpha: float = 0.05) -> pd.DataFrame:
    """Revenue per buying customer by attribute value, and the values over-represented
    among the top customers, for the whole report and per region (module docstring).

    Parameters
    ----------
    customers : DataFrame
        ``customer_id``, ``level`` and the ``attributes``.
    revenue : Series
        Revenue in the period by ``customer_id``; buyers are those above 0.
    level : str
        The region column.
    attributes : sequence of str
    regions : sequence of str, optional
        The regions given rows (default: every region).
    market : str
        The ``region`` of the rows for the whole report (``group`` ``market``).
    top_share : float
        The top customers: the first ``ceil(top_share x buyers)`` of a group by revenue
        (ties broken by customer id).
    interval : float
        Level of the t-interval of mean revenue per customer.
    max_values, min_expected, alpha
        As in :func:`attribute_mix`.

    Returns
    -------
    DataFrame
        :data:`VALUE_COLUMNS`: ``group`` (``market`` or ``region``), ``buyers`` with the
        value, ``revenue``, ``mean_revenue`` with ``mean_low``/``mean_high`` (NaN below
        two buyers), ``top_customers`` among the group's top, ``top_share`` (of the top
        whose attribute is known), ``buyer_share`` (of the group's buyers whose attribute
        is known), ``top_index`` = top_share / buyer_share x 100, ``p``, ``p_adj``,
        ``significant``.
    """
    spend = revenue.loc[revenue > 0]
    base = customers.drop_duplicates("customer_id").set_index("customer_id")
    base = base.loc[base.index.intersection(spend.index)]
    frame = pd.DataFrame({"customer_id": base.index.astype(str),
                          "revenue": spend.reindex(base.index).to_numpy(dtype=float)})
    region, names = _region_codes(base[level].to_numpy() if level in base else
                                  np.full(len(base), None), regions)
    frame["region"] = region
    order = frame.sort_values(["revenue", "customer_id"], ascending=[False, True],
                              kind="mergesort").index.to_numpy()
    n_all, k = len(frame), len(names)
    rank_all = np.empty(n_all, np.int64)
    rank_all[order] = np.arange(n_all)
    top_market = rank_all < math.ceil(top_share * n_all)
    # rank within the region: position among the region's buyers in the same order
    sorted_region = region[order]
    within = pd.Series(sorted_region).groupby(sorted_region).cumcount().to_numpy()
    rank_region = np.empty(n_all, np.int64)
    rank_region[order] = within
    size = np.bincount(np.maximum(region, 0), minlength=max(k, 1))[np.maximum(region, 0)]
    top_region = (region >= 0) & (rank_region < np.ceil(top_share * size))
    amounts = frame["revenue"].to_numpy()
    parts = []
    for attribute in attributes:
        clean = attribute_values(base[attribute], customers[attribute], max_values)
        values = list(attribute_values(customers[attribute], customers[attribute],
                                       max_values).value_counts().index)
        m = len(values)
        v = _codes(clean, values)
        for group, top, key, size_, names_ in (
                ("market", top_market, v, m, [market]),
                ("region", top_region, np.where((region >= 0) & (v >= 0), region * m + v, -1),
                 k * m, list(names))):
            cells = _cells(key, size_, amounts, top)
            known = np.where(key >= 0, key // m, -1)
            groups = len(names_)
            known_buyers = np.bincount(known[known >= 0], minlength=groups)
            known_top = np.bincount(known[known >= 0], weights=top[known >= 0].astype(float),
                                    minlength=groups)
            part = pd.DataFrame({"group": group,
                                 "region": np.repeat(np.asarray(names_, dtype=object), m),
                                 "attribute": attribute,
                                 "value": np.tile(np.asarray(values, dtype=object), groups),
                                 **cells,
                                 "known_buyers": np.repeat(known_buyers, m),
                                 "known_top": np.repeat(known_top, m)})
            parts.append(part.loc[part["buyers"] > 0])
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in VALUE_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    out["buyers"] = out["buyers"].astype("int64")
    out["mean_low"], out["mean_high"] = t_interval(out["buyers"], out["mean_revenue"],
                                                   out["std"], interval)
    out["top_customers"] = out["top_customers"].round().astype("int64")
    out["top_share"] = out["top_customers"] / out["known_top"].where(out["known_top"] > 0)
    out["buyer_share"] = out["buyers"] / out["known_buyers"]
    out["top_index"] = 100 * out["top_share"] / out["buyer_share"]
    out["p"] = two_by_two(out["top_customers"], out["known_top"], out["buyers"],
                          out["known_buyers"], min_expected=min_expected)
    out["p_adj"] = bh_adjust(out["p"])
    out["significant"] = out["p_adj"] < alpha
    return out[VALUE_COLUMNS].reset_index(drop=True)
