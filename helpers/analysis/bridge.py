"""Why revenue changed: a revenue bridge from the previous period to this one.

The change of net revenue between two periods is split exactly into the customers
behind it:

- ``new``: customers with no order line in the previous period and some in this one
  (all their revenue of this period);
- ``lost``: customers with order lines in the previous period and none in this one
  (minus all their revenue of the previous period);
- ``more`` and ``less``: customers with order lines in both periods, by the sign of the
  change of what they bought in the categories they bought in both periods (without
  categories: of all they bought);
- ``mix`` (only when the orders carry ``product_category``): what existing customers
  spent on categories they did not buy in the previous period, minus what they had spent
  on categories they stopped buying (cross-selling gained and lost).

For every customer ``revenue - revenue_prev`` is the sum of its parts, so the parts of
each region and of the scope add up to the change (up to floating-point rounding).
Numbers only: the words are in :mod:`helpers.text.narrative.insight`.

:func:`bridge_sql` and :func:`revenue_bridge_sql` are the DuckDB twins of :func:`bridge`
and :func:`revenue_bridge`: the same tables from the order lines of a DuckDB connection
(:func:`helpers.analysis.engine.open_lines`), summed per customer in DuckDB.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.period import Period

__all__ = ["COMPONENTS", "BRIDGE_COLUMNS", "EROSION", "revenue_bridge", "bridge",
           "revenue_bridge_sql", "bridge_sql"]

#: The parts of the change, in the order a waterfall draws them.
COMPONENTS: tuple[str, ...] = ("new", "lost", "more", "less", "mix")
#: A region grows on new customers while its base erodes (``eroding``) when it grew, new
#: customers brought revenue and last period's customers together brought at least this
#: share of the previous period's revenue less.
EROSION = 0.05
#: The columns of :func:`revenue_bridge`'s table.
BRIDGE_COLUMNS: list[str] = [
    "region", "is_total", "revenue_prev", *(f"from_{part}" for part in COMPONENTS), "revenue", "change", "change_pct",
    "driver", "driver_net", "base_change", "eroding", "customers_prev", "customers", "customers_new", "customers_lost",
    "customers_more", "customers_less", "customers_same"]


def _per_customer(orders: pd.DataFrame, period: Period, previous: Period,
                  category: str | None) -> pd.DataFrame:
    """One row per customer with order lines in either period (indexed by
    ``customer_id``): its revenue in each (``r0``, ``r1``), whether it bought in each
    (``in0``, ``in1``), its parts of the change (``new`` ... ``mix``) and what it is
    (``kind``: new, lost, more, less, same)."""
    now = np.asarray(period.contains(orders["order_date"]), dtype=bool)
    before = np.asarray(previous.contains(orders["order_date"]), dtype=bool)
    used = np.flatnonzero(now | before)
    customer, ids = orders["customer_id"].iloc[used].factorize()
    later = now[used]
    amount = orders["amount"].to_numpy(dtype=float)[used]
    if category:  # lines without a category are one category of their own (-1)
        kind, names = orders[category].iloc[used].factorize(use_na_sentinel=True)
        pair_key = customer.astype(np.int64) * (len(names) + 1) + (kind + 1)
    else:
        pair_key = customer.astype(np.int64)
    pair, keys = pd.factorize(pair_key)
    n_pairs = len(keys)
    # per (customer, category): revenue and whether it bought, in each period
    r1 = np.bincount(pair, weights=np.where(later, amount, 0.0), minlength=n_pairs)
    r0 = np.bincount(pair, weights=np.where(later, 0.0, amount), minlength=n_pairs)
    in1 = np.bincount(pair, weights=later.astype(float), minlength=n_pairs) > 0
    in0 = np.bincount(pair, weights=(~later).astype(float), minlength=n_pairs) > 0
    owner = keys // (len(names) + 1) if category else keys
    both = in0 & in1
    continuing = np.where(both, r1 - r0, 0.0)
    # categories an existing customer added (+ this period) or dropped (- last period)
    switched = np.where(in1 & ~in0, r1, 0.0) - np.where(in0 & ~in1, r0, 0.0)

    def per(values: np.ndarray) -> np.ndarray:
        return np.bincount(owner, weights=values, minlength=len(ids))

    return _parts(pd.DataFrame({"r0": per(r0), "r1": per(r1),
                                "in0": per(in0.astype(float)) > 0,
                                "in1": per(in1.astype(float)) > 0,
                                "continuing": per(continuing), "switched": per(switched)},
                               index=pd.Index(ids, name="customer_id", dtype="string")))


def _parts(out: pd.DataFrame) -> pd.DataFrame:
    """``out`` (one row per customer: ``r0``, ``r1``, ``in0``, ``in1``, ``continuing``: the
    change in the categories it bought in both periods, ``switched``: the categories it
    added minus those it dropped) with its parts of the change and its ``kind``."""
    existing = out["in0"] & out["in1"]
    is_new, is_lost = ~out["in0"] & out["in1"], out["in0"] & ~out["in1"]
    out["new"] = out["r1"].where(is_new, 0.0)
    out["lost"] = (-out["r0"]).where(is_lost, 0.0)
    out["more"] = out["continuing"].where(existing & (out["continuing"] > 0), 0.0)
    out["less"] = out["continuing"].where(existing & (out["continuing"] < 0), 0.0)
    out["mix"] = out["switched"].where(existing, 0.0)
    out["kind"] = np.select(
        [is_new, is_lost, existing & (out["continuing"] > 0),
         existing & (out["continuing"] < 0)], ["new", "lost", "more", "less"], "same")
    return out


#: The parts that offset each other (customers won and lost; existing customers buying
#: more and less): the largest driver is judged on their net.
_GROUPS: dict[str, tuple[str, str]] = {"customers": ("new", "lost"),
                                       "existing": ("more", "less"), "mix": ("mix", "mix")}


def _largest(row: dict) -> tuple[str | None, float]:
    """The largest driver of a bridge's change and its group's net amount.

    The groups (:data:`_GROUPS`) are netted first (a region winning 20 and losing 12 from
    customers gained and lost gained 8 from them); the group with the largest net amount
    in the direction of the change (the largest absolute net when revenue did not change)
    is named by its part in that direction: ``new`` or ``lost``, ``more`` or ``less``,
    ``mix``. None when no group moved.
    """
    nets = {group: row[f"from_{up}"] + (row[f"from_{down}"] if down != up else 0.0)
            for group, (up, down) in _GROUPS.items()}
    sign = np.sign(row["change"])
    moved = {g: v for g, v in nets.items() if v != 0}
    pointing = {g: v for g, v in moved.items() if np.sign(v) == sign} if sign else moved
    chosen = pointing or moved
    if not chosen:
        return None, 0.0
    group = max(chosen, key=lambda g: abs(chosen[g]))
    up, down = _GROUPS[group]
    return (up if chosen[group] > 0 else down), float(chosen[group])


def _summed(per: pd.DataFrame) -> dict:
    """The bridge of a group of customers (rows of :func:`_per_customer`)."""
    row = {"revenue_prev": float(per["r0"].sum()),
           **{f"from_{part}": float(per[part].sum()) for part in COMPONENTS},
           "revenue": float(per["r1"].sum()),
           "customers_prev": int(per["in0"].sum()), "customers": int(per["in1"].sum())}
    kinds = per["kind"].value_counts()
    row.update({f"customers_{k}": int(kinds.get(k, 0))
                for k in ("new", "lost", "more", "less", "same")})
    row["change"] = row["revenue"] - row["revenue_prev"]
    # the change of the customers who bought in the previous period (all but the new ones)
    row["base_change"] = row["change"] - row["from_new"]
    row["eroding"] = bool(row["change"] > 0 and row["from_new"] > 0
                          and row["base_change"] <= -EROSION * row["revenue_prev"])
    row["change_pct"] = (row["change"] / row["revenue_prev"] if row["revenue_prev"] > 0
                         else np.nan)
    row["driver"], row["driver_net"] = _largest(row)
    return row


def revenue_bridge(orders: pd.DataFrame, period: Period, *, previous: Period | None = None,
                   regions: pd.Series | None = None,
                   category: str | None = "product_category") -> pd.DataFrame:
    """The revenue bridge of each region and of all customers of ``orders``.

    Parameters
    ----------
    orders : DataFrame
        ``customer_id``, ``order_date``, ``amount`` (net: returns negative) and,
        optionally, the ``category`` column.
    period : Period
        This period; the bridge runs from ``previous`` to it.
    previous : Period, optional
        The period compared with; default ``period.previous``.
    regions : Series, optional
        ``customer_id`` -> region. Customers without one (or not in it) count only in
        the total row. None: the total row alone.
    category : str or None
        The category column; the ``mix`` part is computed only when ``orders`` has it
        with at least one value (else ``mix`` is 0).

    Returns
    -------
    DataFrame
        :data:`BRIDGE_COLUMNS`: one row per region with order lines in either period
        (largest change first by absolute amount) and a last row with ``is_total``
        True (``region`` NA: every customer of ``orders``). ``revenue_prev + from_new +
        from_lost + from_more + from_less + from_mix == revenue`` on every row;
        ``driver`` (a key of :data:`COMPONENTS`) names the largest driver of the change
        and ``driver_net`` its net amount (:func:`_largest`: customers won and lost, and
        existing customers buying more and less, are netted first; None and 0 when
        nothing changed); ``base_change`` is the change of the customers who bought in
        the previous period (everything but ``from_new``); ``eroding`` marks growth carried
        by new customers while that base shrank by :data:`EROSION` or more;
        ``change_pct`` is NaN without revenue in the previous period. Regions with
        the same change are in name order.

    Its DuckDB twin, on order lines that stay in DuckDB: :func:`revenue_bridge_sql`.
    """
    previous = period.previous if previous is None else previous
    use = category if (category and category in orders.columns
                       and orders[category].notna().any()) else None
    return _table(_per_customer(orders, period, previous, use), regions)


def _table(per: pd.DataFrame, regions: pd.Series | None) -> pd.DataFrame:
    """:func:`revenue_bridge`'s table from its customers' rows (:func:`_parts`): regions
    by the size of their change (equal changes: by name), then the total."""
    rows = []
    if regions is not None and len(per):
        where = pd.Series(regions).astype("string")
        where.index = where.index.astype("string")
        located = per.assign(region=where.reindex(per.index).to_numpy())
        for region, group in located.dropna(subset=["region"]).groupby("region", sort=True):
            rows.append({"region": region, "is_total": False, **_summed(group)})
        rows.sort(key=lambda r: -abs(r["change"]))  # stable: equal changes stay by name
    rows.append({"region": pd.NA, "is_total": True, **_summed(per)})
    table = pd.DataFrame(rows, columns=BRIDGE_COLUMNS)
    return table.assign(region=table["region"].astype("string"),
                        is_total=table["is_total"].astype(bool))


def _category_sql(con, category: str | None) -> str | None:
    """``category`` when the view ``lines`` has that column with at least one value (the
    rule of :func:`revenue_bridge`), else None."""
    if not category:
        return None
    names = [c[0] for c in con.execute("SELECT * FROM lines LIMIT 0").description]
    if category not in names:
        return None
    any_value = con.execute(f"SELECT bool_or({_ident(category)} IS NOT NULL) "
                            "FROM lines").fetchone()[0]
    return category if any_value else None


def _ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def _per_customer_sql(con, period: Period, previous: Period, category: str | None
                      ) -> pd.DataFrame:
    """:func:`_per_customer` of the view ``lines`` of ``con``, summed in DuckDB: one row
    per customer with lines in either period (ordered by ``customer_id``)."""
    from helpers.analysis.engine import fetch
    from helpers.analysis.engine import in_period as inside

    kind = _ident(category) if category else "NULL"  # no category: one for all lines
    sql = f"""WITH l AS (
            SELECT customer_id, {kind} AS kind, CAST(amount AS DOUBLE) AS amount,
                   {inside(period)} AS later
            FROM lines WHERE {inside(period)} OR {inside(previous)}),
        pairs AS (
            SELECT customer_id, coalesce(fsum(amount) FILTER (WHERE later), 0) AS r1,
                   coalesce(fsum(amount) FILTER (WHERE NOT later), 0) AS r0,
                   bool_or(later) AS in1, bool_or(NOT later) AS in0
            FROM l GROUP BY customer_id, kind)
        SELECT customer_id, fsum(r0) AS r0, fsum(r1) AS r1, bool_or(in0) AS in0,
               bool_or(in1) AS in1,
               fsum(CASE WHEN in0 AND in1 THEN r1 - r0 ELSE 0 END) AS continuing,
               fsum(CASE WHEN in1 AND NOT in0 THEN r1 WHEN in0 AND NOT in1 THEN -r0
                         ELSE 0 END) AS switched
        FROM pairs GROUP BY customer_id ORDER BY customer_id"""
    per = fetch(con, sql)
    floats = ["r0", "r1", "continuing", "switched"]
    per = per.astype({**dict.fromkeys(floats, float), "in0": bool, "in1": bool})
    index = pd.Index(per["customer_id"], name="customer_id", dtype="string")
    return _parts(per[[*floats[:2], "in0", "in1", *floats[2:]]].set_axis(index))


def revenue_bridge_sql(con, period: Period, *, previous: Period | None = None,
                       regions: pd.Series | None = None,
                       category: str | None = "product_category") -> pd.DataFrame:
    """The DuckDB twin of :func:`revenue_bridge`: the same table from the order lines of
    the view ``lines`` of ``con`` (:func:`helpers.analysis.engine.open_lines`), summed per
    customer (and category) in DuckDB; what comes to pandas is one row per customer."""
    previous = period.previous if previous is None else previous
    per = _per_customer_sql(con, period, previous, _category_sql(con, category))
    return _table(per, regions)


def bridge(orders: pd.DataFrame, period: Period, *, dates: pd.Series,
           regions: pd.Series | None = None, category: str | None = "product_category",
           min_coverage: float = 0.8) -> tuple[pd.DataFrame, dict]:
    """The revenue bridge where the data cover the previous period, and its note.

    Parameters
    ----------
    orders, period, regions, category
        As :func:`revenue_bridge`.
    dates : Series
        The order dates of the whole export (how much of the previous period the data
        cover: :meth:`helpers.period.Period.coverage`).
    min_coverage : float
        ``analysis.min_baseline_coverage``: the share of the previous period's days the
        data must cover.

    Returns
    -------
    (DataFrame, dict)
        The table (no rows when the previous period is not covered) and the note:
        ``shown``, ``period`` (this period's label), ``previous`` (the coverage of the previous period), ``mix`` (whether
        the categories gave a mix part), ``reason_key`` ``thin_baseline`` when not shown,
        and for the total: ``revenue_prev``, ``revenue``, ``change``, ``driver``, its
        ``driver_amount`` and its group's ``driver_net``.

    Its DuckDB twin, on order lines that stay in DuckDB: :func:`bridge_sql`.
    """
    previous = _previous(period)
    covered = previous.coverage(dates, min_coverage=min_coverage)
    mix = bool(category and category in orders.columns and orders[category].notna().any())
    note: dict = {"period": period.label(), "previous": covered, "mix": mix,
                  "components": list(COMPONENTS)}
    if not covered["enough"]:
        note.update(shown=False, reason_key="thin_baseline")
        return pd.DataFrame(columns=BRIDGE_COLUMNS), note
    return _noted(revenue_bridge(orders, period, previous=previous, regions=regions,
                                 category=category), note)


def _previous(period: Period) -> Period:
    if period.months is None:
        raise ValueError("the revenue bridge needs a period with a length in months "
                         "(Period.ending)")
    return period.previous


def _noted(table: pd.DataFrame, note: dict) -> tuple[pd.DataFrame, dict]:
    """The bridge ``table`` and ``note`` with the total's change and driver."""
    total = table.loc[table["is_total"]].iloc[0]
    driver = total["driver"] if isinstance(total["driver"], str) else None
    note.update(shown=True, change=float(total["change"]), driver=driver,
                driver_amount=float(total[f"from_{driver}"]) if driver else None,
                driver_net=float(total["driver_net"]),
                revenue_prev=float(total["revenue_prev"]), revenue=float(total["revenue"]))
    return table, note


def bridge_sql(con, period: Period, *, dates: pd.Series, regions: pd.Series | None = None,
               category: str | None = "product_category", min_coverage: float = 0.8
               ) -> tuple[pd.DataFrame, dict]:
    """The DuckDB twin of :func:`bridge`: the same table and note from the order lines of
    the view ``lines`` of ``con`` (:func:`helpers.analysis.engine.open_lines`), summed per
    customer (and category) in DuckDB; ``dates`` as :func:`bridge`'s (its first and last
    day and the distinct days are all the coverage reads: the distinct order days,
    :attr:`helpers.context.Context.order_days`, will do). What comes to pandas is one row
    per customer."""
    previous = _previous(period)
    covered = previous.coverage(dates, min_coverage=min_coverage)
    use = _category_sql(con, category)
    note: dict = {"period": period.label(), "previous": covered, "mix": use is not None,
                  "components": list(COMPONENTS)}
    if not covered["enough"]:
        note.update(shown=False, reason_key="thin_baseline")
        return pd.DataFrame(columns=BRIDGE_COLUMNS), note
    return _noted(_table(_per_customer_sql(con, period, previous, use), regions), note)
