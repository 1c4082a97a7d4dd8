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
    "spend_by_region",
    "budget_bounds",
    "responsiveness",
    "reallocate",
    "propose",
    "method_facts",
]


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
                  caps: Mapping[str, float] | None = None) -> pd.DataFrame:
    """The floor and cap of each region, and the rule that sets each.

    Parameters
    ----------
    frame : DataFrame
        ``region`` and ``spend`` (current, project currency); ``tier`` when ``tier_floors``
        is used.
    total : float
        The new total budget (for ``cap_share``).
    floor_vs_current : float
        Floor = this times the current spend (``budget.floor_vs_current``).
    cap_vs_current : float, optional
        Cap = this times the current spend, for regions that have spend
        (``budget.cap_vs_current``); never below the region's tier or region
        floor (an explicit minimum wins over a relative cap).
    cap_share : float, optional
        Cap = this share of ``total`` (``budget.cap_share``).
    tier_floors : mapping, optional
        Floor per tier (``budget.tier_floors``).
    floors, caps : mapping, optional
        Floors and caps per region name (``budget.floors``, ``budget.caps``).

    Returns
    -------
    DataFrame
        A copy of ``frame`` with ``floor``, ``floor_rule``, ``cap`` (``inf``
        when unbounded) and ``cap_rule``. The largest floor and the smallest
        cap apply.
    """
    tier_floors, floors, caps = dict(tier_floors or {}), dict(floors or {}), dict(caps or {})
    unknown = sorted(set(floors) - set(frame["region"])) + sorted(set(caps) - set(frame["region"]))
    if unknown:
        raise BudgetError(f"budget.floors / budget.caps name region(s) not in the plan: {unknown}")
    rows = []
    for row in frame.to_dict("records"):
        current = float(row["spend"])
        absolute = [(0.0, "none")]
        tier = row.get("tier")
        if tier in tier_floors:
            absolute.append((float(tier_floors[tier]), f"budget.tier_floors.{tier}"))
        if row["region"] in floors:
            absolute.append((float(floors[row["region"]]), f"budget.floors.{row['region']}"))
        lows = list(absolute)
        if floor_vs_current and current > 0:
            lows.append((floor_vs_current * current,
                         f"budget.floor_vs_current {floor_vs_current:g} x current"))
        highs = [(math.inf, "none")]
        if cap_vs_current is not None and current > 0:
            relative = (cap_vs_current * current,
                        f"budget.cap_vs_current {cap_vs_current:g} x current")
            floor_abs = max(absolute, key=lambda item: item[0])
            if floor_abs[0] > relative[0]:  # an absolute floor lifts the relative cap
                relative = (floor_abs[0], f"{relative[1]}, raised to {floor_abs[1]}")
            highs.append(relative)
        if cap_share is not None:
            highs.append((cap_share * total, f"budget.cap_share {cap_share:g} x total"))
        if row["region"] in caps:
            highs.append((float(caps[row["region"]]), f"budget.caps.{row['region']}"))
        low = max(lows, key=lambda item: item[0])
        high = min(highs, key=lambda item: item[0])
        rows.append({"floor": low[0], "floor_rule": low[1], "cap": high[0], "cap_rule": high[1]})
    bounds = pd.DataFrame(rows, index=frame.index,
                          columns=["floor", "floor_rule", "cap", "cap_rule"])
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
    """:func:`responsiveness`, :func:`budget_bounds` and :func:`reallocate` in one call.

    ``bounds`` are the keyword arguments of :func:`budget_bounds`
    (``floor_vs_current``, ``cap_vs_current``, ``cap_share``, ``tier_floors``,
    ``floors``, ``caps``).
    """
    frame = frame.assign(response=responsiveness(frame, momentum=momentum, headroom=headroom))
    bounded = budget_bounds(frame, total=total, **bounds)
    return reallocate(bounded, total=total, elasticity=elasticity, unit=unit)


def method_facts(*, elasticity: float, unit: float, total: float, current_total: float,
                 momentum: float = 0.0, headroom: float = 0.0) -> dict:
    """The numbers behind a proposal's method and assumptions (no words:
    :func:`helpers.text.narrative.budget.budget_notes` says them in either language).

    Returns
    -------
    dict
        The settings (``elasticity``, ``unit``, ``total``, ``current_total``,
        ``momentum``, ``headroom``) and ``gain``: the revenue growth, in percent,
        that 10% more spend brings at responsiveness 1 (``1.1 ** elasticity - 1``).
    """
    return {"elasticity": float(elasticity), "gain": (1.1 ** elasticity - 1) * 100,
            "unit": float(unit), "total": float(total), "current_total": float(current_total),
            "momentum": float(momentum), "headroom": float(headroom)}
