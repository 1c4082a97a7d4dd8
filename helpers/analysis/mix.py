"""Product and category mix by region: what each region buys against the market.

For the analysis period, per region and ``product_category`` (:func:`category_mix`):

- the region's **revenue share** of the category against the market's, as an index
  (``index = _ratio(share, market_share[None, :]) * 100``; 100 = as the market). Whether the gap is more
  than chance is a test on customers, not on lines (one customer's big order is one
  draw): under the null the region's customers are a random set of the market's
  customers of its size, and the region's share is a ratio estimate whose variance is
  Cochran's ratio-estimator variance with the finite-population correction
  (``(1 - n/N) * S_e^2 / (n * xbar^2)``, ``e_i = y_i - R x_i``: the normal approximation
  of the permutation test that reassigns customers to regions at random); two-sided
  ``p``, Benjamini-Hochberg over every region and category tested (``p_fdr``), as the
  hot spots correct theirs;
- the **growth** of the category's revenue in the region against the previous period
  (:attr:`helpers.period.Period.previous`), only when the data cover that window (as
  region growth, ``analysis.min_baseline_coverage``) and it had revenue;
- **cross-sell gaps**: the share of the region's buying customers who buy the category
  (``penetration``) against the market's (``penetration_index``), with a one-sided
  Fisher exact test of the region against the rest of the market (the hypergeometric
  lower tail; BH over all pairs, ``gap_p_fdr``). A gap is a category whose
  penetration index is at most ``gap_index``, significantly low, in a region whose
  customers buy the other categories at least ``rest_index`` as often as the market's
  (``rest_index``: other categories bought per customer, market = 100) and that has at
  least ``min_customers`` buying customers. ``targets`` counts the region's customers who
  bought another category in the period but not this one (:func:`cross_sell_targets`
  lists them).

The same comparison and gap rule apply to any grouping of the report's customers:
:func:`segment_mix` groups them by the values of the customer profile attributes
(``channel``, ``industry`` ...; :mod:`helpers.analysis.profiles`) in place of regions,
one attribute at a time (each attribute its own false-discovery-rate family), and
:func:`segment_targets` lists a segment gap's customers.

On large data the lines stay in DuckDB (:attr:`helpers.context.Context.lines`): each
function that reads them has a twin ``*_sql`` here that sums them per customer and
category in SQL (:func:`_customer_categories_sql`) and shares the rest with the pandas
function, so only tables of customers, regions and categories reach pandas.

Keys and numbers only; :mod:`helpers.text.narrative.mix` says them in words.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from helpers.analysis.engine import fetch as _fetch
from helpers.analysis.engine import in_period as _in_period
from helpers.analysis.profiles import OTHER, attribute_values
from helpers.period import MIN_COVERAGE, Period

__all__ = ["MIX_COLUMNS", "SEGMENT_COLUMNS", "TARGET_COLUMNS", "category_mix",
           "category_mix_sql", "customer_categories", "cross_sell_targets",
           "cross_sell_targets_sql", "largest_gaps", "segment_mix", "segment_mix_sql",
           "segment_targets", "segment_targets_sql"]

#: The columns of :func:`category_mix`'s table, in order.
MIX_COLUMNS = ["region", "category", "region_customers", "small_sample", "revenue", "share",
               "market_share", "category_index", "z", "p", "p_fdr", "significant", "customers",
               "penetration", "market_penetration", "penetration_index", "rest_index",
               "expected_customers", "missing_customers", "gap_p", "gap_p_fdr",
               "cross_sell_gap", "targets", "revenue_prev", "growth_prev", "market_growth"]
#: The columns of :func:`cross_sell_targets`' table.
TARGET_COLUMNS = ["region", "category", "customer_id", "categories_bought", "revenue",
                  "penetration_index"]
#: The columns of :func:`segment_mix`'s table: the segment (``attribute`` and its
#: ``value``) in place of the region; ``region_customers`` counts the segment's buyers.
SEGMENT_COLUMNS = ["attribute", "value", *MIX_COLUMNS[1:]]


def _bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values; NaN stays NaN."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = stats.false_discovery_control(p[ok], method="bh")
    return out


def _ratio(numerator, denominator) -> np.ndarray:
    """``numerator / denominator`` (arrays, broadcast), NaN where the denominator is not
    positive (as :func:`helpers.analysis.ratios.safe_ratio` for Series)."""
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def customer_categories(orders: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Net revenue per customer (rows) and category (columns) in ``period``.

    Lines without a category are left out; customers whose net revenue is not positive
    in any category (only returns in the period) are left out too: they bought nothing.

    Parameters
    ----------
    orders : DataFrame
        ``customer_id``, ``order_date``, ``amount``, ``product_category``.
    period : Period

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``, one column per category (sorted), 0.0 where none.
    """
    lines = orders.loc[period.contains(orders["order_date"])
                       & orders["product_category"].notna(),
                       ["customer_id", "product_category", "amount"]]
    if lines.empty:
        return pd.DataFrame(index=pd.Index([], name="customer_id", dtype="string"))
    # a dense customer x category sum by integer codes (a groupby on two text keys is
    # several times slower at a million lines)
    customer, ids = pd.factorize(lines["customer_id"])
    category, names = pd.factorize(lines["product_category"], sort=True)
    width = len(names)
    sums = np.bincount(customer * width + category, weights=lines["amount"].to_numpy(float),
                       minlength=len(ids) * width).reshape(len(ids), width)
    keep = (sums > 0).any(axis=1)
    return pd.DataFrame(sums[keep], index=pd.Index(ids[keep], name="customer_id"),
                        columns=[str(c) for c in names])


def _per_customer(market: pd.DataFrame, period: Period, cache: dict | None) -> pd.DataFrame:
    """:func:`customer_categories` of ``market`` in ``period``, once per period when several
    groupings of the same orders are compared (``cache``: period -> table)."""
    if cache is None:
        return customer_categories(market, period)
    if period not in cache:
        cache[period] = customer_categories(market, period)
    return cache[period]


def _region_codes(index: pd.Index, regions: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each customer of ``index``'s region as a code into the sorted region names (-1:
    none), and the names."""
    mapping = regions[~regions.index.duplicated()].dropna()
    codes, names = pd.factorize(mapping.astype(str).to_numpy(), sort=True)
    at = mapping.index.get_indexer(index)
    found = np.where(at >= 0, codes[np.clip(at, 0, None)] if len(codes) else -1, -1)
    return found.astype(np.int64), np.asarray(names, dtype=object)


def category_mix(orders: pd.DataFrame, regions: pd.Series, *, period: Period,
                 market_orders: pd.DataFrame | None = None, data_dates: pd.Series | None = None,
                 min_customers: int = 20, min_coverage: float = MIN_COVERAGE,
                 alpha: float = 0.05, gap_index: float = 80.0, rest_index: float = 90.0,
                 _cache: dict | None = None) -> tuple[pd.DataFrame, dict]:
    """Each region's category mix against the market's, its growth and cross-sell gaps
    (the DuckDB twin, from the lines' views: :func:`category_mix_sql`).

    (``_cache``: the per-customer tables of the market's orders by period, shared by
    :func:`segment_mix`'s calls on the same orders.)

    Parameters
    ----------
    orders : DataFrame
        The report's order lines (``customer_id``, ``order_date``, ``amount``,
        ``product_category``).
    regions : Series
        ``customer_id`` -> region of the report's customers (NA: in no region; counted
        in the market, never a row).
    period : Period
        The analysis period; growth compares it with ``period.previous``.
    market_orders : DataFrame, optional
        The market the regions are judged against (a territory report: the whole
        market's lines); default ``orders``. The report's customers must be in it.
    data_dates : Series, optional
        The order dates of the whole export (which days the data cover); default the
        dates of ``market_orders``.
    min_customers : int
        Regions with fewer buying customers are ``small_sample``: not tested, never a gap.
    min_coverage : float
        Growth only against a previous period the data cover this share of.
    alpha : float
        Significance level of the corrected p-values.
    gap_index, rest_index : float
        The cross-sell gap rule (module docstring).

    Returns
    -------
    (DataFrame, dict)
        :data:`MIX_COLUMNS`, one row per region and category (regions by revenue, then
        categories by market share); and the note: ``categories``, ``customers``
        (market customers buying a category), ``revenue``, ``uncategorised_lines`` and
        ``uncategorised_revenue`` (lines of the period without a category),
        ``baseline`` (:meth:`~helpers.period.Period.coverage` of the previous period),
        the settings, ``tested``, ``significant``, ``gaps``; ``reason_key``
        ``no_category`` (no category column or no value), ``one_category`` or
        ``no_revenue`` when there is no mix to compare.
    """
    market = orders if market_orders is None else market_orders
    note = _settings(min_customers, alpha, gap_index, rest_index)
    if "product_category" not in market.columns or market["product_category"].isna().all():
        note["reason_key"] = "no_category"
        return pd.DataFrame(columns=MIX_COLUMNS), note
    inside = period.contains(market["order_date"])
    bare = inside & market["product_category"].isna()
    note["uncategorised_lines"] = int(bare.sum())
    note["uncategorised_revenue"] = float(market.loc[bare, "amount"].sum())
    dates = market["order_date"] if data_dates is None else data_dates
    return _compare(lambda p: _per_customer(market, p, _cache), regions, note, period=period,
                    coverage=lambda b: b.coverage(dates, min_coverage=min_coverage),
                    min_customers=min_customers, alpha=alpha, gap_index=gap_index,
                    rest_index=rest_index)


def category_mix_sql(con, regions: pd.Series, *, period: Period, market_lines: bool = False,
                     data_dates: pd.Series | None = None, min_customers: int = 20,
                     min_coverage: float = MIN_COVERAGE, alpha: float = 0.05,
                     gap_index: float = 80.0, rest_index: float = 90.0,
                     _cache: dict | None = None) -> tuple[pd.DataFrame, dict]:
    """The DuckDB twin of :func:`category_mix`: the same table and note from the views of
    ``con`` (:func:`helpers.analysis.engine.open_lines`), the lines never in pandas.

    The report's lines are the view ``lines``; ``market_lines=True`` judges the regions
    against the view ``market_lines`` (:func:`category_mix`'s ``market_orders``: a
    territory or city report). DuckDB sums the lines per customer and category; pandas
    gets one row per customer. ``data_dates`` as for :func:`category_mix`, but its default
    is the order days of ``market_lines`` (the whole export, what step 4 passes), from
    SQL. Other arguments as for :func:`category_mix`.
    """
    view = "market_lines" if market_lines else "lines"
    note = _settings(min_customers, alpha, gap_index, rest_index)
    if not _has_category(con, view):
        note["reason_key"] = "no_category"
        return pd.DataFrame(columns=MIX_COLUMNS), note
    bare, revenue = con.execute(
        f"SELECT count(*), coalesce(fsum(CAST(amount AS DOUBLE)), 0) FROM {view} "
        f"WHERE {_in_period(period)} AND product_category IS NULL").fetchone()
    note["uncategorised_lines"] = int(bare)
    note["uncategorised_revenue"] = float(revenue)
    cache = {} if _cache is None else _cache

    def per_customer(p: Period) -> pd.DataFrame:
        if (view, p) not in cache:
            cache[(view, p)] = _customer_categories_sql(con, view, p)
        return cache[(view, p)]

    def coverage(b: Period) -> dict:
        if data_dates is not None:
            return b.coverage(data_dates, min_coverage=min_coverage)
        days = _fetch(con, "SELECT DISTINCT CAST(order_date AS DATE) AS day FROM market_lines "
                           "WHERE order_date IS NOT NULL")["day"]
        return b.coverage(days.astype("datetime64[ns]"), min_coverage=min_coverage)

    return _compare(per_customer, regions, note, period=period, coverage=coverage,
                    min_customers=min_customers, alpha=alpha, gap_index=gap_index,
                    rest_index=rest_index)


def _has_category(con, view: str) -> bool:
    """Whether the lines of ``view`` have a ``product_category`` with a value."""
    names = [row[0] for row in con.execute(f"DESCRIBE {view}").fetchall()]
    return "product_category" in names and con.execute(
        f"SELECT count(product_category) > 0 FROM {view}").fetchone()[0]


def _customer_categories_sql(con, view: str, period: Period) -> pd.DataFrame:
    """:func:`customer_categories` of the lines of ``view`` (summed in DuckDB), its
    customers sorted by id (the pandas table has them in the order of their first line;
    nothing that reads it depends on that order but the rounding of sums)."""
    sums = _fetch(con, f"""SELECT customer_id, CAST(product_category AS VARCHAR)
        AS category, fsum(CAST(amount AS DOUBLE)) AS amount FROM {view}
        WHERE {_in_period(period)} AND product_category IS NOT NULL
          AND customer_id IS NOT NULL
        GROUP BY customer_id, category""")
    if sums.empty:
        return pd.DataFrame(index=pd.Index([], name="customer_id", dtype="string"))
    table = sums.pivot(index="customer_id", columns="category", values="amount").fillna(0.0)
    table = table.loc[(table.to_numpy() > 0).any(axis=1)]
    table = table.sort_index().reindex(columns=sorted(table.columns)).astype(float)
    table.columns = [str(c) for c in table.columns]
    table.index = pd.Index(table.index.astype("string"), name="customer_id")
    return table


def _settings(min_customers, alpha, gap_index, rest_index) -> dict:
    return {"min_customers": int(min_customers), "alpha": float(alpha),
            "gap_index": float(gap_index), "rest_index": float(rest_index)}


def _compare(per_customer, regions: pd.Series, note: dict, *, period: Period, coverage,
             min_customers: int, alpha: float, gap_index: float, rest_index: float
             ) -> tuple[pd.DataFrame, dict]:
    """:func:`category_mix`'s comparison, from the per-customer tables
    (``per_customer(period)``: :func:`customer_categories` of the market's lines) and the
    coverage of a previous period (``coverage(period)``: :meth:`Period.coverage`); the
    pandas function and its DuckDB twin differ only in where those come from."""
    empty = pd.DataFrame(columns=MIX_COLUMNS)
    y = per_customer(period)
    note["categories"] = int(y.shape[1])
    note["customers"] = int(len(y))
    total = float(y.to_numpy().sum()) if len(y) else 0.0
    note["revenue"] = total
    if y.shape[1] < 2:
        note["reason_key"] = "one_category" if y.shape[1] == 1 else "no_revenue"
        return empty, note
    if total <= 0:
        note["reason_key"] = "no_revenue"
        return empty, note

    values = y.to_numpy()
    x = values.sum(axis=1)
    n_market = len(y)
    market_share = values.sum(axis=0) / total
    buys = values > 0
    market_buyers = buys.sum(axis=0)
    # Cochran's ratio-estimator variance, per category, of a random set of n customers
    residual = values - np.outer(x, market_share)
    s2 = (residual ** 2).sum(axis=0) / max(n_market - 1, 1)
    x_bar = total / n_market

    region, names = _region_codes(y.index, regions)
    mine = region >= 0
    if not mine.any():
        note["reason_key"] = "no_revenue"
        return empty, note
    code = region[mine]
    k, c = len(names), y.shape[1]
    rev = np.zeros((k, c))
    np.add.at(rev, code, values[mine])
    bought = np.zeros((k, c))
    np.add.at(bought, code, buys[mine].astype(float))
    n = np.bincount(code, minlength=k).astype(float)
    per = np.where(n > 0, n, np.nan)  # a region without buying customers: no rates (dropped)
    region_total = rev.sum(axis=1)

    share = _ratio(rev, region_total[:, None])
    index = _ratio(share, market_share[None, :]) * 100
    tested = (n >= min_customers) & (n < n_market)
    fpc = np.clip(1 - n / n_market, 0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = fpc[:, None] * s2[None, :] / (n[:, None] * x_bar ** 2)
        z = (share - market_share) / np.sqrt(var)
    z = np.where(tested[:, None] & (var > 0) & np.isfinite(z), z, np.nan)
    p = np.where(np.isfinite(z), 2 * stats.norm.sf(np.abs(z)), np.nan)
    p_fdr = _bh(p.ravel()).reshape(p.shape)

    penetration = bought / per[:, None]
    market_pen = market_buyers / n_market
    rest_n = n_market - n
    rest_pen = _ratio(market_buyers[None, :] - bought, rest_n[:, None])
    # P(X <= bought) for X the buyers of the category among n customers drawn from the
    # market: Fisher's exact test, one-sided (fewer buyers than chance).
    gap_p = stats.hypergeom.cdf(bought, n_market, market_buyers[None, :], n[:, None])
    gap_p = np.where(tested[:, None], gap_p, np.nan)
    gap_p_fdr = _bh(gap_p.ravel()).reshape(gap_p.shape)
    others = bought.sum(axis=1)[:, None] - bought
    market_others = market_buyers.sum() - market_buyers
    rest = _ratio(others / per[:, None], (market_others / n_market)[None, :]) * 100
    pen_index = _ratio(penetration, market_pen[None, :]) * 100
    expected = n[:, None] * rest_pen
    gap = (tested[:, None] & (pen_index <= gap_index) & (gap_p_fdr < alpha)
           & (rest >= rest_index))

    # growth against the previous period, when the data cover it
    baseline = _previous(period)
    growth = np.full((k, c), np.nan)
    prev = np.full((k, c), np.nan)
    market_growth = np.full(c, np.nan)
    if baseline is not None:
        note["baseline"] = coverage(baseline)
        if note["baseline"]["enough"]:
            before = per_customer(baseline).reindex(columns=y.columns, fill_value=0.0)
            market_prev = before.to_numpy().sum(axis=0)
            market_growth = _ratio(values.sum(axis=0), market_prev) - 1
            b_code, _ = _region_codes(before.index, regions)
            prev = np.zeros((k, c))
            np.add.at(prev, b_code[b_code >= 0], before.to_numpy()[b_code >= 0])
            growth = _ratio(rev, prev) - 1

    rows = pd.DataFrame({
        "region": np.repeat(names, c), "category": np.tile(np.asarray(y.columns), k),
        "region_customers": np.repeat(n, c).astype("int64"),
        "small_sample": np.repeat(n < min_customers, c),
        "revenue": rev.ravel(), "share": share.ravel(),
        "market_share": np.tile(market_share, k), "category_index": index.ravel(), "z": z.ravel(),
        "p": p.ravel(), "p_fdr": p_fdr.ravel(),
        "significant": (p_fdr < alpha).ravel(),
        "customers": bought.ravel().astype("int64"), "penetration": penetration.ravel(),
        "market_penetration": np.tile(market_pen, k), "penetration_index": pen_index.ravel(),
        "rest_index": rest.ravel(), "expected_customers": expected.ravel(),
        "missing_customers": (expected - bought).ravel(), "gap_p": gap_p.ravel(),
        "gap_p_fdr": gap_p_fdr.ravel(), "cross_sell_gap": gap.ravel(),
        "targets": (n[:, None] - bought).ravel().astype("int64"),
        "revenue_prev": prev.ravel(), "growth_prev": growth.ravel(),
        "market_growth": np.tile(market_growth, k),
    })
    rows = rows.loc[rows["region_customers"] > 0]
    order_r = pd.Series(region_total, index=names).sort_values(ascending=False, kind="stable")
    order_c = pd.Series(market_share, index=y.columns).sort_values(ascending=False,
                                                                   kind="stable")
    rows = (rows.assign(_r=rows["region"].map({r: i for i, r in enumerate(order_r.index)}),
                        _c=rows["category"].map({v: i for i, v in enumerate(order_c.index)}))
            .sort_values(["_r", "_c"], kind="stable").drop(columns=["_r", "_c"])
            .reset_index(drop=True))
    note.update(tested=int(np.isfinite(p).sum()), significant=int(rows["significant"].sum()),
                gaps=int(rows["cross_sell_gap"].sum()), regions=int((n > 0).sum()))
    return rows[MIX_COLUMNS], note


def _previous(period: Period) -> Period | None:
    try:
        return period.previous
    except ValueError:  # a period without a length in months has no previous period
        return None


def largest_gaps(mix: pd.DataFrame, top: int = 5) -> pd.DataFrame:
    """The ``top`` cross-sell gaps with the most missing buyers (step 5's actions), of
    :func:`category_mix` or :func:`segment_mix`."""
    found = mix.loc[mix["cross_sell_gap"].astype(bool)] if len(mix) else mix
    keys = [c for c in ("region", "attribute", "value") if c in mix.columns]
    return (found.sort_values(["missing_customers", *keys, "category"],
                              ascending=[False, *[True] * len(keys), True], kind="mergesort")
            .head(top).reset_index(drop=True))


def _segments(customers: pd.DataFrame, attribute: str, reference: pd.DataFrame | None,
              max_values: int) -> pd.Series:
    """``customer_id`` -> the customer's value of ``attribute`` (cleaned; values beyond the
    ``max_values`` most frequent of ``reference`` and missing values: NA, in no segment)."""
    people = customers.drop_duplicates("customer_id")
    ref = people if reference is None else reference.drop_duplicates("customer_id")
    values = attribute_values(people[attribute], ref[attribute], max_values)
    values = values.mask(values == OTHER)
    return pd.Series(values.to_numpy(), index=pd.Index(people["customer_id"].astype("string")),
                     dtype="string")


def segment_mix(orders: pd.DataFrame, customers: pd.DataFrame, *, attributes, period: Period,
                market_orders: pd.DataFrame | None = None,
                reference: pd.DataFrame | None = None, data_dates: pd.Series | None = None,
                max_values: int = 12, min_customers: int = 20,
                min_coverage: float = MIN_COVERAGE, alpha: float = 0.05,
                gap_index: float = 80.0, rest_index: float = 90.0
                ) -> tuple[pd.DataFrame, dict]:
    """Each customer segment's category mix against the market's and its cross-sell gaps:
    :func:`category_mix` with the values of each profile attribute in place of regions
    (the DuckDB twin: :func:`segment_mix_sql`).

    Parameters
    ----------
    orders, market_orders, period, data_dates, min_customers, min_coverage, alpha,
    gap_index, rest_index
        As for :func:`category_mix` (a segment of fewer than ``min_customers`` buying
        customers is not tested and never a gap).
    customers : DataFrame
        The report's customers: ``customer_id`` and the ``attributes`` columns.
    attributes : sequence of str
        The profile attributes (:func:`helpers.analysis.profiles.profile_attributes`).
    reference : DataFrame, optional
        The customers whose most frequent values name the segments (the whole market in a
        territory report); default ``customers``. Values beyond the ``max_values`` most
        frequent form no segment (they stay in the market), as do missing values.

    Returns
    -------
    (DataFrame, dict)
        :data:`SEGMENT_COLUMNS`, one row per attribute, value and category (attributes in
        the order given); the note: the settings, ``attributes`` (those with a segment),
        ``tested``, ``significant`` and ``gaps`` summed over them, and ``reason_key``
        (``no_category`` / ``one_category`` / ``no_revenue``: as :func:`category_mix`;
        ``no_attributes``: none to group by).
    """
    shared: dict = {}  # the customer x category tables, built once for every attribute
    return _by_segment(
        lambda groups: category_mix(orders, groups, period=period, market_orders=market_orders,
                                    data_dates=data_dates, min_customers=min_customers,
                                    min_coverage=min_coverage, alpha=alpha,
                                    gap_index=gap_index, rest_index=rest_index, _cache=shared),
        customers, attributes=attributes, reference=reference, max_values=max_values,
        note=_settings(min_customers, alpha, gap_index, rest_index))


def segment_mix_sql(con, customers: pd.DataFrame, *, attributes, period: Period,
                    market_lines: bool = False, reference: pd.DataFrame | None = None,
                    data_dates: pd.Series | None = None, max_values: int = 12,
                    min_customers: int = 20, min_coverage: float = MIN_COVERAGE,
                    alpha: float = 0.05, gap_index: float = 80.0, rest_index: float = 90.0
                    ) -> tuple[pd.DataFrame, dict]:
    """The DuckDB twin of :func:`segment_mix`: :func:`category_mix_sql` (its ``market_lines``
    and ``data_dates``) per attribute; the customer x category sums are made once."""
    shared: dict = {}
    return _by_segment(
        lambda groups: category_mix_sql(con, groups, period=period, market_lines=market_lines,
                                        data_dates=data_dates, min_customers=min_customers,
                                        min_coverage=min_coverage, alpha=alpha,
                                        gap_index=gap_index, rest_index=rest_index,
                                        _cache=shared),
        customers, attributes=attributes, reference=reference, max_values=max_values,
        note=_settings(min_customers, alpha, gap_index, rest_index))


def _by_segment(compare, customers: pd.DataFrame, *, attributes, reference, max_values: int,
                note: dict) -> tuple[pd.DataFrame, dict]:
    """:func:`segment_mix` from ``compare(groups)``: :func:`category_mix` (or its twin) of
    the customers grouped by one attribute's values."""
    note.update(attributes=[], tested=0, significant=0, gaps=0)
    parts = []
    for attribute in attributes:
        if attribute not in customers.columns:
            continue
        groups = _segments(customers, attribute, reference, max_values)
        table, found = compare(groups)
        if found.get("reason_key") in ("no_category", "one_category"):
            note["reason_key"] = found["reason_key"]  # the same for every attribute
            return pd.DataFrame(columns=SEGMENT_COLUMNS), note
        if not len(table):
            continue
        note["attributes"].append(attribute)
        for key in ("tested", "significant", "gaps"):
            note[key] += int(found.get(key, 0))
        parts.append(table.rename(columns={"region": "value"}).assign(attribute=attribute))
    if not parts:
        note.setdefault("reason_key", "no_attributes" if not len(list(attributes))
                        else "no_revenue")
        return pd.DataFrame(columns=SEGMENT_COLUMNS), note
    return pd.concat(parts, ignore_index=True)[SEGMENT_COLUMNS], note


def segment_targets(gaps: pd.DataFrame, orders: pd.DataFrame, customers: pd.DataFrame, *,
                    period: Period, reference: pd.DataFrame | None = None,
                    max_values: int = 12) -> pd.DataFrame:
    """The customers to offer each segment gap's category (:func:`cross_sell_targets` for
    rows of :func:`segment_mix`): the segment's customers who bought another category in
    the period but not this one (the DuckDB twin: :func:`segment_targets_sql`).

    Returns
    -------
    DataFrame
        ``attribute``, ``value``, ``category``, ``customer_id``, ``categories_bought``,
        ``revenue``, ``penetration_index``; by gap, then revenue descending.
    """
    return _segment_targets(
        lambda found, groups: cross_sell_targets(found, orders, groups, period=period),
        gaps, customers, reference=reference, max_values=max_values)


def segment_targets_sql(con, gaps: pd.DataFrame, customers: pd.DataFrame, *, period: Period,
                        reference: pd.DataFrame | None = None, max_values: int = 12
                        ) -> pd.DataFrame:
    """The DuckDB twin of :func:`segment_targets`: the lines of the view ``lines`` of
    ``con`` summed per customer and category in DuckDB (once for every gap)."""
    shared: dict = {}
    return _segment_targets(
        lambda found, groups: cross_sell_targets_sql(con, found, groups, period=period,
                                                     _cache=shared),
        gaps, customers, reference=reference, max_values=max_values)


def _segment_targets(targets, gaps: pd.DataFrame, customers: pd.DataFrame, *,
                     reference: pd.DataFrame | None, max_values: int) -> pd.DataFrame:
    """:func:`segment_targets` from ``targets(gaps, groups)``: :func:`cross_sell_targets`
    (or its twin) of one attribute's gaps, its values in place of regions."""
    columns = ["attribute", "value", "category", "customer_id", "categories_bought",
               "revenue", "penetration_index"]
    parts = []
    for attribute, mine in gaps.groupby("attribute", sort=False) if len(gaps) else []:
        groups = _segments(customers, str(attribute), reference, max_values)
        found = targets(mine.rename(columns={"value": "region"}), groups)
        parts.append(found.rename(columns={"region": "value"}).assign(attribute=attribute))
    if not parts:
        return pd.DataFrame(columns=columns)
    # in the order of ``gaps`` (grouping by attribute keeps each attribute's gaps in order)
    order = {(a, str(v), str(c)): i for i, (a, v, c) in enumerate(
        zip(gaps["attribute"], gaps["value"], gaps["category"], strict=True))}
    out = pd.concat(parts, ignore_index=True)
    rank = [order[(a, str(v), str(c))] for a, v, c in
            zip(out["attribute"], out["value"], out["category"], strict=True)]
    return (out.assign(_rank=rank).sort_values("_rank", kind="stable")
            .drop(columns="_rank").reset_index(drop=True)[columns])


def cross_sell_targets(gaps: pd.DataFrame, orders: pd.DataFrame, regions: pd.Series, *,
                       period: Period) -> pd.DataFrame:
    """The customers to offer each gap's category: those of its region who bought another
    category in the period but not this one (the DuckDB twin: :func:`cross_sell_targets_sql`).

    Parameters
    ----------
    gaps : DataFrame
        Rows of :func:`category_mix` (``region``, ``category``), e.g. :func:`largest_gaps`.
    orders, regions, period
        As for :func:`category_mix` (the report's lines and customers).

    Returns
    -------
    DataFrame
        ``region``, ``category`` (to offer), ``customer_id``, ``categories_bought`` (how
        many other categories the customer bought), ``revenue`` (net, categorised lines
        in the period), ``penetration_index`` of the gap; by gap, then revenue descending.
        As many rows per gap as its ``targets``.
    """
    if gaps.empty:
        return pd.DataFrame(columns=TARGET_COLUMNS)
    return _targets(gaps, customer_categories(orders, period), regions)


def cross_sell_targets_sql(con, gaps: pd.DataFrame, regions: pd.Series, *, period: Period,
                           _cache: dict | None = None) -> pd.DataFrame:
    """The DuckDB twin of :func:`cross_sell_targets`: the lines of the view ``lines`` of
    ``con`` summed per customer and category in DuckDB; pandas gets one row per customer.
    (``_cache``: the sums by period, shared by :func:`segment_targets_sql`'s calls.)"""
    if gaps.empty:
        return pd.DataFrame(columns=TARGET_COLUMNS)
    cache = {} if _cache is None else _cache
    if period not in cache:
        cache[period] = _customer_categories_sql(con, "lines", period)
    return _targets(gaps, cache[period], regions)


def _targets(gaps: pd.DataFrame, y: pd.DataFrame, regions: pd.Series) -> pd.DataFrame:
    """:func:`cross_sell_targets` from ``y``: :func:`customer_categories` of the lines."""
    columns = TARGET_COLUMNS
    code, names = _region_codes(y.index, regions)
    region = pd.Series(np.where(code >= 0, names[np.clip(code, 0, None)] if len(names) else None,
                                None), index=y.index, dtype=object)
    parts = []
    for gap in gaps.itertuples(index=False):
        category = str(gap.category)
        if category not in y.columns:
            continue
        mask = (region == gap.region).to_numpy() & (y[category] <= 0).to_numpy()
        chosen = y.loc[mask]
        parts.append(pd.DataFrame({
            "region": gap.region, "category": category,
            "customer_id": chosen.index.astype("string"),
            "categories_bought": (chosen > 0).sum(axis=1).to_numpy(dtype="int64"),
            "revenue": chosen.sum(axis=1).to_numpy(),
            "penetration_index": gap.penetration_index})
            .sort_values(["revenue", "customer_id"], ascending=[False, True], kind="mergesort"))
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]
