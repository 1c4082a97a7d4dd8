"""Marketing budget reallocation between regions (step 5, strategy).

The method, in plain words: each region's revenue is assumed to respond to its
marketing spend with diminishing returns,

    revenue(s) = R + m * R * ((s / S) ** e - 1)

where ``S`` and ``R`` are the region's current spend and revenue, ``e`` one
elasticity for every region (``0 < e < 1``; 0.2 means 10% more spend brings
about 2% more revenue) and ``m`` the region's responsiveness
(:func:`responsiveness`: above 1 for regions that grow fast or have fewer
customers than their population and GDP predict, below 1 for shrinking or
saturated ones; 1 when switched off). At the current spend the curve gives
the current revenue. The new split maximises the expected total revenue for
the given total: every region not held at a floor or cap ends with the same
marginal return (revenue from one more unit of currency), which gives each free region a
budget in proportion to ``(m * R / S ** e) ** (1 / (1 - e))``. Floors and caps
come from ``workbook.yaml`` (``budget:``); amounts are whole multiples of
``budget.unit`` and floors, caps and the total are met exactly.

Regions with no current spend or no revenue cannot be calibrated: they get
their floor (for example a small test budget for blank regions), never an
extrapolation.

The objective decides the direction; the model only places the money the
objective leaves free. Each objective (``helpers.catalog.OBJECTIVES``, its
``budget`` field) gives every tier one of the :data:`POLICIES`:

- ``reserve``: current spend plus a test budget sized by the tier's playbook
  (``budget.reserve``: a gap region investigates and recruits partners, an
  emerging one runs a pilot), never cut;
- ``hold``: kept at its current spend (neither cut nor raised);
- ``keep``: not cut (its playbook invests, pilots, tests or defends), may gain;
- ``limit``: cut by marginal return by at most ``budget.max_cut`` of its current
  spend (a cut the row's reason states);
- ``give``: never raised; cut by marginal return, down to ``budget.floor_vs_current``;
- ``free``: by marginal return, down to ``budget.floor_vs_current``.

When the total shrinks, ``reserve``, ``hold`` and ``keep`` give up spend only in
proportion (``current x total / current total``); a held region's current spend is
rounded up to ``budget.unit``. The rule per objective
(:data:`helpers.catalog.OBJECTIVES`):

================================  =========  =========  =========  =========  ======
objective                         core       emerging   gap        declining  steady
================================  =========  =========  =========  =========  ======
find_new_markets                  hold       reserve    reserve    hold       give
reallocate_resources              limit      limit      limit      limit      free
keep_valuable_customers           keep       keep       keep       keep       limit
compare_regions, tier_partners    keep       keep       keep       keep       free
================================  =========  =========  =========  =========  ======

:func:`reasons` gives every row the key of why it moves (``reserve``, ``keep``,
``limit``, ``gain`` ...); :func:`effect_range` the expected effect over a range
of elasticities and with or without responsiveness, since neither is estimated
from the data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from helpers.analysis.roi import marketing_roi
from helpers.period import Period

__all__ = [
    "BudgetError",
    "PLAYBOOK_NEEDS",
    "POLICIES",
    "PLAYBOOK_RULE",
    "REASONS",
    "spend_by_region",
    "budget_bounds",
    "responsiveness",
    "reallocate",
    "propose",
    "fit_bounds",
    "method_facts",
    "reasons",
    "effect_range",
]

#: What each tier's playbook (:data:`helpers.analysis.actions.PLAYBOOK`) asks of the
#: budget: the core invests, an emerging region runs a pilot, a gap region tests,
#: a declining one defends its key accounts, a steady one maintains.
PLAYBOOK_NEEDS: dict[str, str] = {"core": "invest", "emerging": "pilot", "gap": "test",
                                  "declining": "defend", "steady": "maintain"}

#: How a region of a tier may move (module docstring).
POLICIES: tuple[str, ...] = ("reserve", "hold", "keep", "limit", "give", "free")

#: The playbooks' own rule: no region whose playbook invests, pilots, tests or defends
#: is cut; steady regions follow marginal return.
PLAYBOOK_RULE: dict[str, str] = {"core": "keep", "emerging": "keep", "gap": "keep",
                                 "declining": "keep", "steady": "free"}

#: Why a row moves (:func:`reasons`; the words: ``budget_reason_<key>`` in the text catalog).
REASONS: tuple[str, ...] = ("no_model", "reserve", "reserve_gain", "hold", "keep", "gain",
                            "gain_cap", "shrink", "limit", "cut", "cut_floor", "same")


class BudgetError(ValueError):
    """Floors, caps and total that no split can satisfy; the message names the rule."""


def _money(value: float) -> str:
    return "unbounded" if math.isinf(value) else f"{value:,.0f}"


# --------------------------------------------------------------------------- current spend


def spend_by_region(spend: pd.DataFrame, provinces, period: Period) -> pd.DataFrame:
    """Marketing spend per province in the analysis period.

    The same computation as step 4's ROI (:func:`helpers.analysis.roi.marketing_roi`:
    a quarter partly in the period counts by its share of days).

    Parameters
    ----------
    spend : DataFrame
        Canonical spend (``province``, ``period``, ``amount``); may be empty.
    provinces : sequence of str or None
        The provinces wanted; None: every province with spend records.
    period : Period
        The analysis period.

    Returns
    -------
    DataFrame
        ``region`` and ``marketing_spend`` (project currency; 0 for a province without records).
    """
    empty = spend is None or spend.empty
    if provinces is None:
        provinces = [] if empty else spend["province"].dropna().unique()
    rows = pd.DataFrame({"region": pd.Series(list(provinces), dtype=object), "revenue": 0.0})
    spent = marketing_roi(rows, None if empty else spend, period=period)
    return spent[["region", "marketing_spend"]].fillna({"marketing_spend": 0.0})


# --------------------------------------------------------------------------- bounds


def budget_bounds(frame: pd.DataFrame, *, total: float, floor_vs_current: float = 0.0,
                  cap_vs_current: float | None = None, cap_share: float | None = None,
                  tier_floors: Mapping[str, float] | None = None,
                  floors: Mapping[str, float] | None = None,
                  caps: Mapping[str, float] | None = None,
                  policies: Mapping[str, str] | None = None,
                  reserve: Mapping[str, float] | None = None,
                  max_cut: float = 0.2, unit: float = 1.0, fit: float = 1.0) -> pd.DataFrame:
    """The floor and cap of each region, and the rule that sets each.

    Parameters
    ----------
    frame : DataFrame
        ``region`` and ``spend`` (current, project currency); ``tier`` when
        ``tier_floors`` or ``policies`` is used.
    total : float
        The new total budget (for ``cap_share``, and the share a protected
        region keeps when the total shrinks).
    floor_vs_current : float
        Floor = this times the current spend (``budget.floor_vs_current``).
    cap_vs_current : float, optional
        Cap = this times the current spend, for regions that have spend
        (``budget.cap_vs_current``); never below the region's tier, region or
        reserve floor (an explicit minimum wins over a relative cap).
    cap_share : float, optional
        Cap = this share of ``total`` (``budget.cap_share``).
    tier_floors : mapping, optional
        Floor per tier (``budget.tier_floors``).
    floors, caps : mapping, optional
        Floors and caps per region name (``budget.floors``, ``budget.caps``).
    policies : mapping, optional
        Tier -> one of :data:`POLICIES` (the objective's rule, module
        docstring); a tier not named, or no mapping: ``free``.
    reserve : mapping, optional
        Tier -> the test budget a ``reserve`` region gets on top of its current
        spend (``budget.reserve``).
    max_cut : float
        The largest cut of a ``limit`` region, as a share of its current spend
        (``budget.max_cut``).
    unit : float
        The budget unit: a ``hold`` or ``keep`` region's current spend is rounded
        up to it (so that "not cut" holds in whole units, and a held region's
        floor and cap meet).
    fit : float
        Scales what the objective's rule protects and reserves (``0 < fit <= 1``;
        :func:`fit_bounds` lowers it when the rule's floors do not fit the total).

    Returns
    -------
    DataFrame
        A copy of ``frame`` with ``policy``, ``reserve`` (the test budget
        reserved, 0 when none), ``floor``, ``floor_rule``, ``cap`` (``inf``
        when unbounded) and ``cap_rule``. The largest floor and the smallest
        cap apply.
    """
    tier_floors, floors, caps = dict(tier_floors or {}), dict(floors or {}), dict(caps or {})
    policies, reserve = dict(policies or {}), dict(reserve or {})
    unknown = sorted(set(floors) - set(frame["region"])) + sorted(set(caps) - set(frame["region"]))
    if unknown:
        raise BudgetError(f"budget.floors / budget.caps name region(s) not in the plan: {unknown}")
    bad = sorted({str(v) for v in policies.values()} - set(POLICIES))
    if bad:
        raise BudgetError(f"unknown budget policy {bad}; expected one of {list(POLICIES)}")
    if not 0 <= max_cut <= 1:
        raise BudgetError(f"budget.max_cut must be between 0 and 1, got {max_cut}")
    current_total = float(frame["spend"].astype(float).sum())
    # a protected region gives up spend only in proportion when the total shrinks
    share = min(1.0, total / current_total) if current_total > 0 else 1.0
    kept = fit * share  # what a protected region keeps at least (never raised above share)

    def up(value: float) -> float:  # to whole units, never below the value
        return _ceil_units(value, unit) * unit

    rows = []
    for row in frame.to_dict("records"):
        current = float(row["spend"])
        tier = row.get("tier")
        policy = policies.get(tier, "free") if isinstance(tier, str) else "free"
        absolute = [(0.0, "none")]
        if tier in tier_floors:
            absolute.append((float(tier_floors[tier]), f"budget.tier_floors.{tier}"))
        if row["region"] in floors:
            absolute.append((float(floors[row["region"]]), f"budget.floors.{row['region']}"))
        test = fit * float(reserve.get(tier, 0.0)) if policy == "reserve" else 0.0
        if policy == "reserve":
            absolute.append((up(kept * current + test),
                             f"budget.reserve.{tier} {_money(test)} + current"))
        lows = list(absolute)
        if floor_vs_current and current > 0:
            lows.append((floor_vs_current * current,
                         f"budget.floor_vs_current {floor_vs_current:g} x current"))
        if policy in ("hold", "keep") and current > 0:
            lows.append((up(kept * current), f"objective: {policy} current"))
        if policy == "limit" and current > 0:
            lows.append(((1 - max_cut) * current, f"budget.max_cut {max_cut:g}"))
        highs = [(math.inf, "none")]
        floor_abs = max(absolute, key=lambda item: item[0])
        if cap_vs_current is not None and current > 0:
            relative = (cap_vs_current * current,
                        f"budget.cap_vs_current {cap_vs_current:g} x current")
            if floor_abs[0] > relative[0]:  # an absolute floor lifts the relative cap
                relative = (floor_abs[0], f"{relative[1]}, raised to {floor_abs[1]}")
            highs.append(relative)
        if policy in ("hold", "give"):
            held = (up(share * current), f"objective: {policy} current")
            floor_any = max(lows, key=lambda item: item[0])  # never below a floor
            if floor_any[0] > held[0]:
                held = (up(floor_any[0]), f"{held[1]}, raised to {floor_any[1]}")
            highs.append(held)
        if cap_share is not None:
            highs.append((cap_share * total, f"budget.cap_share {cap_share:g} x total"))
        if row["region"] in caps:
            highs.append((float(caps[row["region"]]), f"budget.caps.{row['region']}"))
        low = max(lows, key=lambda item: item[0])
        high = min(highs, key=lambda item: item[0])
        rows.append({"policy": policy, "reserve": test, "floor": low[0], "floor_rule": low[1],
                     "cap": high[0], "cap_rule": high[1]})
    columns = ["policy", "reserve", "floor", "floor_rule", "cap", "cap_rule"]
    bounds = pd.DataFrame(rows, index=frame.index, columns=columns)
    return frame.assign(**{c: bounds[c] for c in bounds.columns})


# --------------------------------------------------------------------------- the split


def responsiveness(frame: pd.DataFrame, *, momentum: float = 0.0, headroom: float = 0.0,
                   growth_limits: tuple[float, float] = (-0.5, 1.0),
                   ratio_limits: tuple[float, float] = (0.1, 10.0)) -> pd.Series:
    """How strongly each region is assumed to respond to spend, relative to the average.

    ``m = (1 + growth) ** momentum * (1 / gap_ratio) ** headroom`` with
    ``growth`` (``growth_yoy``) clipped to ``growth_limits`` and ``gap_ratio``
    (customers / expected customers) to ``ratio_limits``; a missing growth or
    gap ratio counts as 1 (no adjustment).

    Parameters
    ----------
    frame : DataFrame
        ``growth_yoy`` and ``gap_ratio`` when present.
    momentum, headroom : float
        Exponents (``budget.momentum``, ``budget.headroom``); 0 switches a
        factor off.

    Returns
    -------
    Series
        ``m`` per row of ``frame``, named ``response``.
    """
    m = pd.Series(1.0, index=frame.index, name="response")
    if momentum and "growth_yoy" in frame:
        growth = frame["growth_yoy"].astype(float).clip(*growth_limits).fillna(0.0)
        m = m * (1.0 + growth) ** momentum
    if headroom and "gap_ratio" in frame:
        ratio = frame["gap_ratio"].astype(float).clip(*ratio_limits).fillna(1.0)
        m = m * (1.0 / ratio) ** headroom
    return m.rename("response")


def _units(total: float, unit: float) -> int:
    count = total / unit
    if abs(count - round(count)) > 1e-9 * max(1.0, abs(count)):
        raise BudgetError(f"the total {total:,.2f} is not a whole multiple of budget.unit "
                          f"{unit:g}")
    return int(round(count))


def _ceil_units(value: float, unit: float) -> int:
    count = value / unit
    nearest = round(count)
    return int(nearest) if abs(count - nearest) <= 1e-9 * max(1.0, abs(count)) else math.ceil(count)


def _floor_units(value: float, unit: float) -> float:
    if math.isinf(value):
        return math.inf
    count = value / unit
    nearest = round(count)
    return int(nearest) if abs(count - nearest) <= 1e-9 * max(1.0, abs(count)) else math.floor(count)


def _check_feasible(regions: list, lo: np.ndarray, hi: np.ndarray, total_units: int,
                    unit: float, floor_rules: list, cap_rules: list) -> None:
    clash = np.flatnonzero(lo > hi)
    if clash.size:
        parts = [f"{regions[i]}: floor {_money(lo[i] * unit)} ({floor_rules[i]}) > cap "
                 f"{_money(hi[i] * unit)} ({cap_rules[i]})" for i in clash]
        rounding = f" (amounts in whole budget.unit {unit:,g})" if unit != 1 else ""
        raise BudgetError("no split is possible: " + "; ".join(parts) + rounding)
    if lo.sum() > total_units:
        raise BudgetError(
            f"no split is possible: the floors add up to {_money(lo.sum() * unit)}, more than "
            f"the total {_money(total_units * unit)}; lower budget.floor_vs_current, "
            "budget.tier_floors or budget.floors, or raise the total")
    if hi.sum() < total_units:
        raise BudgetError(
            f"no split is possible: the caps add up to {_money(hi.sum() * unit)}, less than "
            f"the total {_money(total_units * unit)}; raise budget.cap_vs_current, "
            "budget.cap_share or budget.caps, or lower the total")


def _water_fill(weight: np.ndarray, lo: np.ndarray, hi: np.ndarray, target: float) -> np.ndarray:
    """``x_i = clip(weight_i * mu, lo_i, hi_i)`` with ``sum(x) == target``.

    ``g(mu) = sum(clip(weight * mu))`` is piecewise linear and non-decreasing;
    the breakpoints are where a region leaves its floor or reaches its cap.
    """
    x = lo.astype(float).copy()
    if x.sum() >= target or not (weight > 0).any():
        return x
    pos = weight > 0
    points = np.concatenate([lo[pos] / weight[pos], hi[pos] / weight[pos]])
    points = np.unique(points[np.isfinite(points)])

    def g(mu: float) -> float:
        return float(np.clip(weight * mu, lo, hi).sum())

    previous = 0.0
    for point in points:
        if g(point) >= target:
            break
        previous = point
    else:
        point = math.inf
    # Between previous and point g is linear: fixed part + slope * mu.
    probe = previous * 2 + 1.0 if math.isinf(point) else (previous + point) / 2
    free = pos & (weight * probe > lo) & (weight * probe < hi)
    fixed = np.where(weight * probe <= lo, lo, np.where(weight * probe >= hi, hi, 0.0))
    slope = weight[free].sum()
    mu = (target - fixed[~free].sum()) / slope if slope > 0 else previous
    return np.clip(weight * mu, lo, hi)


def _round_exact(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, total_units: int) -> np.ndarray:
    """Whole units within ``[lo, hi]`` summing to ``total_units`` (largest remainders)."""
    k = np.clip(np.floor(x + 1e-9), lo, hi).astype(np.int64)
    rest = total_units - int(k.sum())
    frac = x - k
    while rest > 0:
        room = np.flatnonzero(k < hi)
        pick = room[np.argmax(frac[room])]
        k[pick] += 1
        frac[pick] -= 1
        rest -= 1
    while rest < 0:
        room = np.flatnonzero(k > lo)
        pick = room[np.argmin(frac[room])]
        k[pick] -= 1
        frac[pick] += 1
        rest += 1
    return k


def reallocate(frame: pd.DataFrame, *, total: float, elasticity: float = 0.2,
               unit: float = 1.0) -> pd.DataFrame:
    """The new split of ``total`` that maximises the expected revenue within the bounds.

    Parameters
    ----------
    frame : DataFrame
        One row per region: ``region``, ``spend`` (current, project currency), ``revenue``
        (current period), ``floor`` and ``cap`` (:func:`budget_bounds`; ``cap``
        may be ``inf``), optional ``response`` (:func:`responsiveness`,
        default 1). Other columns are kept.
    total : float
        The new total; a whole multiple of ``unit``.
    elasticity : float
        ``e`` in ``revenue = a * spend ** e``, ``0 < e < 1``.
    unit : float
        Every new amount is a whole multiple of this. Floors are rounded up
        and caps down to it.

    Returns
    -------
    DataFrame
        A copy of ``frame`` with ``new_spend`` (sums to ``total`` exactly,
        each within ``[floor, cap]``), ``change``, ``change_pct``, ``basis``
        (``model``, ``floor``, ``cap``, or ``floor: no spend or revenue to
        model``), ``roi`` (revenue per unit of spend now), ``marginal_return`` (revenue
        from one more unit of spend now, ``e * revenue / spend``), ``marginal_return_new``,
        ``expected_revenue`` and ``expected_revenue_change`` (NaN for regions
        that cannot be modelled).

    Raises
    ------
    BudgetError
        When the total is not a multiple of ``unit``, a floor exceeds its
        cap, the floors exceed the total or the caps fall short of it.
    """
    if not 0 < elasticity < 1:
        raise BudgetError(f"budget.elasticity must be between 0 and 1, got {elasticity}")
    if unit <= 0:
        raise BudgetError(f"budget.unit must be positive, got {unit}")
    if frame.empty:
        raise BudgetError("no regions to split the budget between")
    regions = frame["region"].tolist()
    total_units = _units(total, unit)
    lo = np.array([_ceil_units(v, unit) for v in frame["floor"]], dtype=float)
    hi = np.array([_floor_units(v, unit) for v in frame["cap"]], dtype=float)
    floor_rules = (frame["floor_rule"] if "floor_rule" in frame else frame["floor"]).tolist()
    cap_rules = (frame["cap_rule"] if "cap_rule" in frame else frame["cap"]).tolist()
    _check_feasible(regions, lo, hi, total_units, unit, floor_rules, cap_rules)

    spend = frame["spend"].astype(float).to_numpy()
    revenue = frame["revenue"].astype(float).fillna(0.0).to_numpy()
    response = (frame["response"].astype(float).fillna(1.0).to_numpy()
                if "response" in frame else np.ones(len(frame)))
    modelled = (spend > 0) & (revenue > 0) & (response > 0)
    scale = np.zeros(len(frame))
    scale[modelled] = response[modelled] * revenue[modelled] / spend[modelled] ** elasticity
    # Held regions stay at their floor; the model places the rest.
    hi_model = np.where(modelled, hi, lo)
    if hi_model.sum() < total_units:
        raise BudgetError(
            f"no split is possible: regions without spend or revenue stay at their floor, "
            f"and the caps of the others add up to {_money(hi_model.sum() * unit)}, less than "
            f"the total {_money(total_units * unit)}")
    k = 1.0 / (1.0 - elasticity)
    weight = np.zeros(len(frame))
    if modelled.any():
        weight[modelled] = (scale[modelled] / scale[modelled].max()) ** k
    x = _water_fill(weight, lo, hi_model, float(total_units))
    units = _round_exact(x, lo.astype(np.int64), hi_model, total_units)
    new = units.astype(float) * unit

    basis = np.where(~modelled, "floor: no spend or revenue to model",
                     np.where(units == lo, "floor", np.where(units == hi, "cap", "model")))
    with np.errstate(divide="ignore", invalid="ignore"):
        safe_spend = np.where(spend > 0, spend, 1.0)
        ratio = np.where(modelled, new / safe_spend, np.nan)
        lift = response * revenue * (ratio ** elasticity - 1.0)
        expected = np.where(modelled, revenue + lift, np.nan)
        roi = np.where(spend > 0, revenue / safe_spend, np.nan)
        marginal = np.where(modelled, elasticity * response * roi, np.nan)
        safe_new = np.where(new > 0, new, 1.0)
        marginal_new = np.where(modelled & (new > 0), elasticity * response * revenue
                                * ratio ** elasticity / safe_new, np.nan)
        change_pct = np.where(spend > 0, new / np.where(spend > 0, spend, 1.0) - 1, np.nan)
    return frame.assign(
        new_spend=new, change=new - spend, change_pct=change_pct, basis=basis,
        roi=roi, marginal_return=marginal, marginal_return_new=marginal_new,
        expected_revenue=expected, expected_revenue_change=expected - revenue,
    )


def propose(frame: pd.DataFrame, *, total: float, elasticity: float = 0.2, unit: float = 1.0,
            momentum: float = 0.0, headroom: float = 0.0, **bounds) -> pd.DataFrame:
    """:func:`responsiveness`, :func:`budget_bounds`, :func:`reallocate` and :func:`reasons`
    in one call.

    ``bounds`` are the keyword arguments of :func:`budget_bounds`
    (``floor_vs_current``, ``cap_vs_current``, ``cap_share``, ``tier_floors``,
    ``floors``, ``caps``, ``policies``, ``reserve``, ``max_cut``).
    """
    frame = frame.assign(response=responsiveness(frame, momentum=momentum, headroom=headroom))
    bounded = fit_bounds(frame, total=total, unit=unit, **bounds)
    table = reallocate(bounded, total=total, elasticity=elasticity, unit=unit)
    return table.assign(reason=reasons(table, unit=unit))


def fit_bounds(frame: pd.DataFrame, *, total: float, unit: float = 1.0, **bounds) -> pd.DataFrame:
    """:func:`budget_bounds`, with what the objective's rule protects and reserves scaled
    down just enough for the floors to fit the total.

    A small budget split over many regions may not hold every region's current spend
    (rounded up to the unit) and every test budget; then the kept spend and the reserves
    are scaled by the largest ``fit`` (bisection, to 0.1%) at which the floors, in whole
    units, add up to no more than the total, and the rows say so (``fit`` column, reason
    ``shrink``). When even ``fit = 0`` does not fit, :func:`reallocate` reports the
    configured floors.

    Returns
    -------
    DataFrame
        :func:`budget_bounds` output with ``fit`` (1 when the rule fits as it is).
    """
    total_units = _units(total, unit)

    def floors_at(fit: float) -> tuple[pd.DataFrame, int]:
        bounded = budget_bounds(frame, total=total, unit=unit, fit=fit, **bounds)
        return bounded, sum(_ceil_units(v, unit) for v in bounded["floor"])

    bounded, need = floors_at(1.0)
    if need <= total_units or not bounds.get("policies"):
        return bounded.assign(fit=1.0)
    low_bounded, need = floors_at(0.0)
    if need > total_units:
        return low_bounded.assign(fit=0.0)  # the configured floors alone do not fit
    low, high = 0.0, 1.0
    while high - low > 1e-3:
        middle = (low + high) / 2
        candidate, need = floors_at(middle)
        if need <= total_units:
            low, low_bounded = middle, candidate
        else:
            high = middle
    return low_bounded.assign(fit=low)


def reasons(table: pd.DataFrame, *, unit: float = 1.0) -> pd.Series:
    """Why each region moves: one key of :data:`REASONS` per row.

    ``no_model``: no spend or revenue to calibrate, it gets its floor;
    ``reserve``: current spend plus its reserved test budget, ``reserve_gain``:
    that and more by marginal return; ``hold``: kept at current spend by the
    objective; ``keep``: not cut, its playbook needs the budget; ``gain``:
    more, its marginal return is above the level the split evens out at,
    ``gain_cap``: up to its cap; ``shrink``: a protected region cut only in
    proportion to a smaller total; ``limit``: cut by marginal return, by at most
    ``budget.max_cut``; ``cut``: less, lower marginal return, ``cut_floor``: down
    to its floor; ``same``: no change. A held or kept region at its floor (current
    spend rounded up to the unit) is ``hold`` or ``keep``; any cut of a ``limit``
    region is ``limit``; elsewhere a change smaller than half a ``unit`` counts as none.

    Parameters
    ----------
    table : DataFrame
        :func:`reallocate` output of a frame with ``policy`` (:func:`budget_bounds`;
        ``free`` when missing).
    unit : float
        The budget unit.

    Returns
    -------
    Series
        The keys, named ``reason``, indexed like ``table``.
    """
    policy = table["policy"] if "policy" in table else pd.Series("free", index=table.index)
    keys = []
    for pol, basis, change, new, floor in zip(policy, table["basis"], table["change"],
                                              table["new_spend"], table["floor"], strict=True):
        at_floor = new <= floor + 1e-9 * max(1.0, abs(floor))
        if pol == "reserve":
            keys.append("reserve" if at_floor else "reserve_gain")
        elif basis.startswith("floor: "):
            keys.append("no_model")
        elif pol in ("hold", "keep") and at_floor and change > -unit / 2:
            keys.append(pol)  # current spend, rounded up to the unit
        elif pol == "give" and change > -unit / 2:
            keys.append("hold")  # not raised, not cut
        elif change >= unit / 2:
            keys.append("gain_cap" if basis == "cap" else "gain")
        elif change > -unit / 2 and not (pol == "limit" and change < 0):
            keys.append({"hold": "hold", "keep": "keep"}.get(pol, "same"))
        elif pol in ("hold", "keep"):
            keys.append("shrink")
        elif pol == "limit":
            keys.append("limit")
        else:
            keys.append("cut_floor" if basis == "floor" else "cut")
    return pd.Series(keys, index=table.index, name="reason", dtype=object)


def effect_range(table: pd.DataFrame, *, elasticity: float, low: float, high: float,
                 steps: int = 9) -> dict:
    """The expected revenue change of a split under the assumptions it rests on.

    The split is the one chosen at ``elasticity`` and the configured
    responsiveness; its effect is computed again for elasticities from ``low``
    to ``high`` and with responsiveness switched off (``m = 1``), since
    neither is estimated from the data. The effect is not monotonic in the
    elasticity (more response helps the regions that gain and hurts the ones
    that give), so the range is the smallest and largest over the grid.

    Parameters
    ----------
    table : DataFrame
        :func:`reallocate` output (``spend``, ``revenue``, ``new_spend``,
        optional ``response``).
    elasticity : float
        The elasticity the split was chosen at.
    low, high : float
        The range of elasticities (``budget.elasticity_range``), ``0 < low <=
        elasticity <= high < 1``.
    steps : int
        Elasticities tried between ``low`` and ``high`` (with ``elasticity``).

    Returns
    -------
    dict
        ``low``, ``high`` (the smallest and largest revenue change), ``central``
        (at ``elasticity`` and the configured responsiveness: the table's
        ``expected_revenue_change`` total), ``elasticity_low``,
        ``elasticity_high``; None for the three numbers when no region can be
        modelled.
    """
    if not 0 < low <= elasticity <= high < 1:
        raise BudgetError(f"budget.elasticity_range [{low:g}, {high:g}] must hold "
                          f"budget.elasticity {elasticity:g} and lie between 0 and 1")
    spend = table["spend"].astype(float).to_numpy()
    revenue = table["revenue"].astype(float).fillna(0.0).to_numpy()
    new = table["new_spend"].astype(float).to_numpy()
    response = (table["response"].astype(float).fillna(1.0).to_numpy()
                if "response" in table else np.ones(len(table)))
    modelled = (spend > 0) & (revenue > 0) & (response > 0)
    out = {"low": None, "high": None, "central": None,
           "elasticity_low": float(low), "elasticity_high": float(high)}
    if not modelled.any():
        return out
    ratio = new[modelled] / spend[modelled]
    effects = []
    for e in sorted({*np.linspace(low, high, steps).tolist(), elasticity}):
        for m in (response[modelled], np.ones(int(modelled.sum()))):
            effects.append(float((m * revenue[modelled] * (ratio ** e - 1.0)).sum()))
    central = float((response[modelled] * revenue[modelled]
                     * (ratio ** elasticity - 1.0)).sum())
    out.update(low=min(effects), high=max(effects), central=central)
    return out


def method_facts(*, elasticity: float, unit: float, total: float, current_total: float,
                 momentum: float = 0.0, headroom: float = 0.0,
                 elasticity_range: tuple[float, float] | None = None,
                 objective: str | None = None, policies: Mapping[str, str] | None = None,
                 reserve: Mapping[str, float] | None = None, max_cut: float | None = None
                 ) -> dict:
    """The numbers behind a proposal's method and assumptions (no words:
    :func:`helpers.text.narrative.budget.budget_notes` says them in either language).

    Returns
    -------
    dict
        The settings (``elasticity``, ``unit``, ``total``, ``current_total``,
        ``momentum``, ``headroom``, ``elasticity_range``), ``gain``: the revenue
        growth, in percent, that 10% more spend brings at responsiveness 1
        (``1.1 ** elasticity - 1``); and the objective's rule: ``objective``,
        ``policies`` (tier -> policy), ``reserve`` (tier -> test budget, for the
        tiers the rule reserves for) and ``max_cut``.
    """
    policies = dict(policies or {})
    reserved = {t: float(v) for t, v in (reserve or {}).items() if policies.get(t) == "reserve"}
    low, high = elasticity_range or (elasticity, elasticity)
    return {"elasticity": float(elasticity), "gain": (1.1 ** elasticity - 1) * 100,
            "unit": float(unit), "total": float(total), "current_total": float(current_total),
            "momentum": float(momentum), "headroom": float(headroom),
            "elasticity_range": [float(low), float(high)],
            "objective": objective, "policies": policies, "reserve": reserved,
            "max_cut": None if max_cut is None else float(max_cut)}
