"""Channel partner A/B/C tiers, value tiers and flags (step 4, insight).

Each partner earns points per factor from its firmographics (the ``partners:``
section of ``workbook.yaml``; the default is the access-control dealer
scoring table):

- **main product**: domestic mid-range networked access control 4, foreign
  high-end 2, domestic low-end standalone 1; +2 when it deals in two or more
  product tiers; main business not access control: **C directly**;
- **business model**: pure equipment sales 4, sales and projects 3, mainly
  projects 2; access control only as a side line on projects: **C directly**;
- **staff**: more than 20 people with at least 4 sales and 4 technical staff 4;
  at least 10 people with at least 2 of each 3; otherwise 2;
- **registered capital**: at least 1 million CNY (100 万元) 4, below 2;
- **typical order and payment**: 10k-40k CNY with no arrears 4; 10k or more
  with arrears or cash-flow trouble 2; under 10k with arrears or cash-flow
  trouble 1; any other combination (under 10k without arrears, over 40k
  without arrears) 2 (the table does not list them; ``other`` sets it);
- **years in access control**: 3 or more 4; 2 or more 2; under 2 1.

Total >= 16 is A, 10 to under 16 is B, under 10 is C. A factor whose data is
missing scores 0 and is named in ``missing``; the partner is then flagged
``incomplete`` (its tier may be too low). Customers without any
firmographics (e.g. direct accounts) are not partners and are not scored.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from helpers.analysis.engine import fetch as _fetch
from helpers.analysis.engine import in_period as _in_period
from helpers.config import Partners
from helpers.period import Period

__all__ = ["DEFAULT_SCORING", "PTS_COLUMNS", "FIRMOGRAPHICS", "score_partners", "value_tiers",
           "partner_tiers", "partner_tiers_sql", "tier_summary", "tier_balance"]

#: The scoring table of the issue: the defaults of the ``partners:`` section of
#: ``workbook.yaml`` (:class:`helpers.config.Partners`), as a plain mapping.
DEFAULT_SCORING: dict = Partners().model_dump(exclude_none=True)

#: Points per factor in :func:`score_partners` output.
PTS_COLUMNS = ["pts_product", "pts_business_model", "pts_staff", "pts_capital",
               "pts_orders", "pts_years"]

#: Columns that make a customer a scored partner (at least one must be present).
FIRMOGRAPHICS = ["main_product_tier", "business_model", "headcount", "sales_staff",
                 "tech_staff", "registered_capital", "typical_order_value",
                 "payment_behaviour", "years_active", "product_tier_count"]


def _col(frame: pd.DataFrame, name: str, numeric: bool = False) -> pd.Series:
    if name not in frame.columns:
        return pd.Series(np.nan if numeric else pd.NA, index=frame.index,
                         dtype=float if numeric else object)
    values = frame[name]
    return pd.to_numeric(values, errors="coerce").astype(float) if numeric else values


_CONDITIONS = {
    "min": ("value", lambda v, x: v >= x),
    "max": ("value", lambda v, x: v <= x),
    "under": ("value", lambda v, x: v < x),
    "payment": ("payment", lambda v, x: v.isin(list(x)).fillna(False).astype(bool)),
    "min_headcount": ("headcount", lambda v, x: v >= x),
    "min_sales": ("sales", lambda v, x: v >= x),
    "min_tech": ("tech", lambda v, x: v >= x),
}


def _meets(checks: pd.DataFrame, rule: Mapping) -> pd.Series:
    """Rows of ``checks`` that meet every condition of ``rule``."""
    met = pd.Series(True, index=checks.index)
    for key, bound in rule.items():
        if key == "points":
            continue
        if key not in _CONDITIONS:
            raise ValueError(f"partners: unknown rule condition {key!r} "
                             f"(expected one of {sorted(_CONDITIONS)})")
        column, test = _CONDITIONS[key]
        met &= test(checks[column], bound)
    return met


def _rules_points(checks: pd.DataFrame, spec: Mapping, needed: list[str]) -> pd.Series:
    """Points from ordered rules (first met wins, else ``other``); NaN when data is missing."""
    points = pd.Series(np.nan, index=checks.index, dtype=float)
    for rule in spec.get("rules", []):
        points = points.where(points.notna() | ~_meets(checks, rule), float(rule["points"]))
    points = points.fillna(float(spec.get("other", 0)))
    missing = checks[needed].isna().any(axis=1)
    return points.where(~missing)


def score_partners(customers: pd.DataFrame, scoring: Mapping | None = None) -> pd.DataFrame:
    """A/B/C tier of each partner from the scoring table.

    Parameters
    ----------
    customers : DataFrame
        Canonical customers with the firmographic columns (``FIRMOGRAPHICS``).
    scoring : mapping, optional
        The ``partners:`` section (:data:`DEFAULT_SCORING` when omitted).

    Returns
    -------
    DataFrame
        One row per customer with any firmographics: ``customer_id``, the
        points ``pts_product``, ``pts_business_model``, ``pts_staff``,
        ``pts_capital``, ``pts_orders``, ``pts_years`` (0 where data is
        missing), ``score`` (their sum), ``tier`` (A/B/C), ``tier_rule``
        (``direct_product``: C directly, the main business is not the product;
        ``direct_model``: C directly, the product only a side line; ``score``:
        the score against the ``tiers`` thresholds;
        :func:`helpers.text.narrative.partners.partner_reasons` says why in words),
        ``missing`` (factors without data, comma separated) and
        ``incomplete`` (bool).
    """
    s = {**DEFAULT_SCORING, **(dict(scoring) if scoring else {})}
    firmo = [c for c in FIRMOGRAPHICS if c in customers.columns]
    if not firmo:
        return pd.DataFrame(columns=["customer_id", "score", "tier", "tier_rule",
                                     "missing", "incomplete"])
    partners = customers.loc[customers[firmo].notna().any(axis=1)].reset_index(drop=True)

    product = _col(partners, "main_product_tier")
    pts_product = product.map(s["product"]["points"]).astype(float)
    tier_count = _col(partners, "product_tier_count", numeric=True)
    bonus = np.where(tier_count >= s["product"].get("multi_tier_min", 2),
                     float(s["product"].get("multi_tier_points", 0)), 0.0)
    pts_product = pts_product + np.where(pts_product.notna(), bonus, 0.0)
    product_c = product.isin(s["product"].get("tier_c", [])).fillna(False).astype(bool)

    model = _col(partners, "business_model")
    pts_model = model.map(s["business_model"]["points"]).astype(float)
    model_c = model.isin(s["business_model"].get("tier_c", [])).fillna(False).astype(bool)

    staff = pd.DataFrame({"headcount": _col(partners, "headcount", True),
                          "sales": _col(partners, "sales_staff", True),
                          "tech": _col(partners, "tech_staff", True)})
    pts_staff = _rules_points(staff, s["staff"], ["headcount", "sales", "tech"])
    capital = pd.DataFrame({"value": _col(partners, "registered_capital", True)})
    pts_capital = _rules_points(capital, s["capital"], ["value"])
    orders = pd.DataFrame({"value": _col(partners, "typical_order_value", True),
                           "payment": _col(partners, "payment_behaviour")})
    pts_orders = _rules_points(orders, s["orders"], ["value", "payment"])
    years = pd.DataFrame({"value": _col(partners, "years_active", True)})
    pts_years = _rules_points(years, s["years"], ["value"])

    points = pd.DataFrame({"pts_product": pts_product, "pts_business_model": pts_model,
                           "pts_staff": pts_staff, "pts_capital": pts_capital,
                           "pts_orders": pts_orders, "pts_years": pts_years})
    # A direct-C category is known data, not missing.
    known = points.notna()
    known["pts_product"] |= product_c
    known["pts_business_model"] |= model_c
    missing = pd.Series("", index=points.index, dtype=object)
    for column in points.columns:
        name = column.removeprefix("pts_")
        gap = ~known[column]
        missing = missing.where(~gap, missing.where(missing.eq(""), missing + ", ") + name)
    score = points.fillna(0.0).sum(axis=1)
    a_min, b_min = float(s["tiers"]["A"]), float(s["tiers"]["B"])
    tier = np.select([score >= a_min, score >= b_min], ["A", "B"], "C").astype(object)
    direct = product_c | model_c
    rule = np.where(product_c, "direct_product", np.where(model_c, "direct_model", "score"))
    tier = np.where(direct, "C", tier)
    out = pd.concat([partners[["customer_id"]], points.fillna(0.0)], axis=1).assign(
        score=score, tier=tier, tier_rule=rule.astype(object), missing=missing.astype(object),
        incomplete=missing.astype(str).ne("") & ~direct)
    return out


def value_tiers(revenue: pd.Series, *, high: float = 0.2, medium: float = 0.5) -> pd.Series:
    """``high`` / ``medium`` / ``low`` by rank of revenue.

    The top ``high`` share of units (by count, ties broken by order) are
    high, down to the top ``medium`` share medium, the rest (and anyone
    without positive revenue) low.
    """
    values = revenue.astype(float).fillna(0.0)
    rank = values.rank(method="first", ascending=False)
    n = len(values)
    tier = np.select([rank <= np.ceil(high * n), rank <= np.ceil(medium * n)],
                     ["high", "medium"], "low")
    return pd.Series(np.where(values > 0, tier, "low"), index=revenue.index, dtype=object)


def partner_tiers(customers: pd.DataFrame, orders: pd.DataFrame, *, period: Period,
                  stages: pd.DataFrame | None = None,
                  scoring: Mapping | None = None) -> pd.DataFrame:
    """A/B/C tiers with value tiers and flags for every partner.

    Parameters
    ----------
    customers, orders : DataFrame
        Canonical tables.
    period : Period
        The analysis period.
    stages : DataFrame, optional
        :func:`helpers.analysis.lifecycle.lifecycle` output, for the ``new`` and
        ``churned`` flags (without it: signup in the period for new, no
        order in the period for churned).
    scoring : mapping, optional
        The ``partners:`` section.

    Returns
    -------
    DataFrame
        :func:`score_partners` columns plus ``name``, ``province``,
        ``city``, ``channel`` (when present), ``revenue`` and ``orders`` in
        the period, ``value_tier`` (high/medium/low) and the flags
        ``flag_new``, ``flag_high_frequency`` (orders at or above the
        ``high_frequency_quantile`` of partners, and at least 2),
        ``flag_high_value`` (value tier high) and ``flag_churned``; sorted by
        tier then revenue. (The DuckDB twin: :func:`partner_tiers_sql`.)
    """
    def per_customer() -> tuple[pd.Series, pd.Series]:
        lines = orders.loc[period.contains(orders["order_date"])]
        return (lines.groupby("customer_id")["amount"].sum(),
                lines.loc[lines["amount"] > 0].groupby("customer_id").size())

    return _tiers(customers, per_customer, period=period, stages=stages, scoring=scoring)


def partner_tiers_sql(con, customers: pd.DataFrame, *, period: Period,
                      stages: pd.DataFrame | None = None,
                      scoring: Mapping | None = None) -> pd.DataFrame:
    """The DuckDB twin of :func:`partner_tiers`: the revenue and the purchase lines of each
    customer in the period summed from the view ``lines`` of ``con``
    (:func:`helpers.analysis.engine.open_lines`); pandas gets one row per customer."""
    def per_customer() -> tuple[pd.Series, pd.Series]:
        sums = _fetch(con, f"""SELECT customer_id, fsum(CAST(amount AS DOUBLE)) AS revenue,
                count(*) FILTER (WHERE CAST(amount AS DOUBLE) > 0) AS orders
            FROM lines WHERE {_in_period(period)} AND customer_id IS NOT NULL
            GROUP BY customer_id""").set_index("customer_id")
        return sums["revenue"].astype(float), sums.loc[sums["orders"] > 0, "orders"]

    return _tiers(customers, per_customer, period=period, stages=stages, scoring=scoring)


def _tiers(customers: pd.DataFrame, per_customer, *, period: Period,
           stages: pd.DataFrame | None, scoring: Mapping | None) -> pd.DataFrame:
    """:func:`partner_tiers` from ``per_customer()``: each customer's net revenue and
    purchase lines in the period (Series by ``customer_id``)."""
    s = {**DEFAULT_SCORING, **(dict(scoring) if scoring else {})}
    scored = score_partners(customers, s)
    if scored.empty:  # no partners: the same columns, no rows
        return pd.DataFrame(columns=[*PTS_COLUMNS, "customer_id", "score", "tier",
                                     "tier_rule", "missing", "incomplete", "revenue",
                                     "orders", "value_tier", "flag_new",
                                     "flag_high_frequency", "flag_high_value",
                                     "flag_churned"])
    revenue, count = per_customer()
    info_cols = [c for c in ["name", "province", "city", "channel", "signup_date"]
                 if c in customers.columns]
    out = scored.merge(customers[["customer_id", *info_cols]], on="customer_id", how="left")
    out = out.assign(revenue=out["customer_id"].map(revenue).fillna(0.0).astype(float),
                     orders=out["customer_id"].map(count).fillna(0).astype("int64"))
    vt = s.get("value_tiers", {})
    out = out.assign(value_tier=value_tiers(out["revenue"], high=vt.get("high", 0.2),
                                            medium=vt.get("medium", 0.5)))
    threshold = max(float(out["orders"].quantile(s.get("high_frequency_quantile", 0.8))), 2.0)
    if stages is not None:
        stage = out["customer_id"].map(stages.set_index("customer_id")["stage"])
        new = stage.eq("new")
        churned = stage.eq("churned")
    else:
        new = (period.contains(out["signup_date"]) if "signup_date" in out.columns
               else pd.Series(False, index=out.index))
        churned = out["orders"].eq(0)
    out = out.assign(flag_new=new.fillna(False).astype(bool),
                     flag_high_frequency=out["orders"] >= threshold,
                     flag_high_value=out["value_tier"].eq("high"),
                     flag_churned=churned.fillna(False).astype(bool))
    out = out.drop(columns=[c for c in ["signup_date"] if c in out.columns])
    return out.sort_values(["tier", "revenue"], ascending=[True, False],
                           kind="mergesort").reset_index(drop=True)


def tier_summary(partners: pd.DataFrame) -> pd.DataFrame:
    """Partners, revenue and flags per A/B/C tier."""
    if partners.empty:
        return pd.DataFrame(columns=["tier", "partners", "revenue", "revenue_share",
                                     "high_value", "churned", "incomplete"])
    grouped = partners.groupby("tier").agg(
        partners=("customer_id", "size"), revenue=("revenue", "sum"),
        high_value=("flag_high_value", "sum"), churned=("flag_churned", "sum"),
        incomplete=("incomplete", "sum"))
    grouped = grouped.reindex([t for t in ["A", "B", "C"] if t in grouped.index])
    total = grouped["revenue"].sum()
    return grouped.assign(revenue_share=grouped["revenue"] / total if total > 0 else np.nan
                          ).reset_index()[["tier", "partners", "revenue", "revenue_share",
                                           "high_value", "churned", "incomplete"]]


def tier_balance(partners: pd.DataFrame, thresholds: Mapping[str, float], *,
                 max_share: float = 0.5, target: tuple[float, float] = (0.2, 0.5)) -> dict:
    """Whether one A/B/C tier holds most partners, and thresholds from the scores' own
    distribution that would spread them.

    A tier playbook is staffed per partner: when most partners land in one tier (65% in
    A, say), the thresholds do not separate these partners. The suggestion puts about
    ``target[0]`` of the partners tiered by score in A and ``target[1]`` in A or B:
    A from the score at the ``1 - target[0]`` quantile, B from the ``1 - target[1]``
    quantile (the next lower score when ties make them equal). Partners that are C
    directly (their main business or model) are not moved by thresholds and are left out.

    Parameters
    ----------
    partners : DataFrame
        :func:`partner_tiers` (or :func:`score_partners`) output: ``tier``,
        ``score``, ``tier_rule``.
    thresholds : mapping
        The configured ``partners.tiers`` (``A``, ``B``).
    max_share : float
        A tier holding more than this share of the partners is crowded.
    target : tuple of float
        The share of score-tiered partners wanted in A, and in A or B.

    Returns
    -------
    dict
        ``partners``, ``counts`` and ``shares`` per tier, ``crowded`` (the tier over
        ``max_share``, or None), ``max_share``, ``thresholds`` (configured),
        ``suggested`` (``{"A", "B"}`` or None when fewer than 5 partners are tiered by
        score or their scores do not differ) and ``suggested_shares`` (the tiers those
        thresholds would give, over all partners).
    """
    n = int(len(partners))
    tiers = partners["tier"] if n else pd.Series(dtype=object)
    counts = {t: int((tiers == t).sum()) for t in ("A", "B", "C")}
    shares = {t: (counts[t] / n if n else 0.0) for t in counts}
    crowded = max(shares, key=shares.get) if n and max(shares.values()) > max_share else None
    out = {"partners": n, "counts": counts, "shares": shares, "crowded": crowded,
           "max_share": float(max_share),
           "thresholds": {k: float(v) for k, v in thresholds.items()},
           "suggested": None, "suggested_shares": None}
    if not n:
        return out
    by_score = partners["tier_rule"].eq("score") if "tier_rule" in partners else (
        pd.Series(True, index=partners.index))
    scores = partners.loc[by_score, "score"].astype(float)
    if len(scores) < 5 or scores.nunique() < 2:
        return out
    a = float(scores.quantile(1 - target[0], interpolation="higher"))
    b = float(scores.quantile(1 - target[1], interpolation="higher"))
    if b >= a:
        lower = scores[scores < a]
        b = float(lower.max()) if len(lower) else a
    if b >= a:
        return out
    score = partners["score"].astype(float)
    tier = np.where(~by_score, "C", np.select([score >= a, score >= b], ["A", "B"], "C"))
    out["suggested"] = {"A": a, "B": b}
    out["suggested_shares"] = {t: float((tier == t).mean()) for t in ("A", "B", "C")}
    return out
