"""Region tiers: what kind of market each region is for us (step 5, strategy).

:func:`region_tiers` puts each region in a tier (core, declining, emerging, gap,
steady) by the rules of ``workbook.yaml`` ``strategy:`` and records the rule and
the numbers that put it there (no words: :func:`helpers.text.narrative.tiers.tier_reasons`
says them in English or Chinese); :mod:`helpers.analysis.actions` says what to do in
each tier.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from helpers.analysis.benchmark import Benchmark

__all__ = ["TIERS", "RULES", "REASON_COLUMNS", "region_tiers"]

#: Tier names in priority order (the order of action lists).
TIERS = ["core", "declining", "emerging", "gap", "steady"]
#: The rules of :func:`region_tiers` (``tier_rule``), in the order they are checked.
RULES = ["no_customers", "core", "core_hotspot", "core_share", "declining", "emerging", "gap",
         "potential", "steady", "steady_no_growth"]
#: The columns that say why a region has its tier: the rule and the values that decided it.
REASON_COLUMNS = ["tier_rule", "tier_values"]

_RULE_KEYS = ("hot_share", "hot_growth", "emerging_growth", "declining_growth", "gap_ratio")
# Optional rules: None (or absent) switches the rule off.
_OPTIONAL_RULES = {"hotspot_bin": 2, "hotspot_share": None, "potential_growth": None,
                   "potential_ratio": None}


def _is_number(value: object) -> bool:
    return value is not None and not pd.isna(value)


def _hot_spot(row: Mapping[str, object], rules: Mapping[str, float]) -> tuple[bool, dict]:
    """Whether step 4 marked the region a hot spot (Gi* bin), and the evidence.

    The evidence is ``gi_bin``, ``gi_z`` (None when missing) and ``hotspot_bin``
    (the level the rule asks for), or nothing when only a ``hotspot`` flag says so.
    """
    level = int(rules.get("hotspot_bin") or 2)
    gi_bin = row.get("gi_bin")
    if _is_number(gi_bin):
        z = row.get("gi_z")
        return int(gi_bin) >= level, {"gi_bin": int(gi_bin),
                                      "gi_z": float(z) if _is_number(z) else None,
                                      "hotspot_bin": level}
    flag = row.get("hotspot")
    if flag is not None and not pd.isna(flag) and str(flag).lower() in ("true", "1", "hot"):
        return True, {}
    return False, {}


def _measured(row: Mapping[str, object]) -> bool:
    """Whether the KPI row's growth was measured (``baseline_ok``; True when absent)."""
    flag = row.get("baseline_ok", True)
    if flag is None or (not isinstance(flag, str) and pd.isna(flag)):
        return True
    return str(flag).lower() not in ("false", "0")


def _gap(row: Mapping[str, object], rules: Mapping[str, float], sample: dict
         ) -> tuple[float | None, float | None, tuple | None]:
    """The region's gap ratio and expected customers, and the gap tier with its evidence
    when the ratio is below ``gap_ratio`` (None otherwise)."""
    ratio = float(row["gap_ratio"]) if _is_number(row.get("gap_ratio")) else None
    expected = (float(row["expected_customers"]) if _is_number(row.get("expected_customers"))
                else None)
    if ratio is not None and ratio < rules["gap_ratio"]:
        return ratio, expected, ("gap", "gap", {"ratio": ratio, "max_ratio": rules["gap_ratio"],
                                                "expected": expected, **sample})
    return ratio, expected, None


def _classify_without_growth(row: Mapping[str, object], rules: Mapping[str, float],
                             share: float, hot: bool, evidence: dict,
                             sample: dict) -> tuple[str, str, dict]:
    """The tier when the data do not cover the year before (no growth, no new revenue):
    the rules that need no growth, in the same order (core by share, gap, steady)."""
    coverage = row.get("baseline_coverage")
    basis = {"coverage": float(coverage) if _is_number(coverage) else None}
    if not sample["small"]:
        hotspot_share = rules.get("hotspot_share")
        if share >= rules["hot_share"] or (hot and hotspot_share is not None
                                           and share >= hotspot_share):
            minimum = rules["hot_share"] if share >= rules["hot_share"] else hotspot_share
            return "core", "core_share", {"share": share, "min_share": minimum, "hot": hot,
                                          **evidence, **basis}
    ratio, expected, gap = _gap(row, rules, sample)
    if gap is not None:
        return gap
    return "steady", "steady_no_growth", {"share": share, "ratio": ratio,
                                          "min_ratio": rules["gap_ratio"], **basis, **sample}


def _classify(row: Mapping[str, object], rules: Mapping[str, float],
              min_customers: int) -> tuple[str, str, dict]:
    """The tier of one region, the rule that put it there and the values that decided it."""
    customers = int(row["customers"])
    if customers == 0:
        return "gap", "no_customers", {}
    share = float(row["share"]) if _is_number(row.get("share")) else math.nan
    growth = float(row["growth_yoy"]) if _is_number(row.get("growth_yoy")) else math.nan
    revenue = float(row.get("revenue", math.nan))
    revenue_prev = float(row.get("revenue_prev", math.nan))
    new_revenue = revenue_prev <= 0 < revenue
    small = bool(row["small_sample"]) if "small_sample" in row else customers < min_customers
    trend = {"growth": growth, "new_revenue": new_revenue}
    sample = {"small": small, "customers": customers, "min_customers": min_customers}

    hot, evidence = _hot_spot(row, rules)
    if not _measured(row):
        return _classify_without_growth(row, rules, share, hot, evidence, sample)
    if not small:
        hot_share, hot_growth = rules["hot_share"], rules["hot_growth"]
        growth_ok = new_revenue or growth >= hot_growth
        if share >= hot_share and growth_ok:
            return "core", "core", {"share": share, "min_share": hot_share, **trend,
                                    "min_growth": hot_growth, "hot": hot, **evidence}
        hotspot_share = rules.get("hotspot_share")
        if hot and hotspot_share is not None and share >= hotspot_share and growth_ok:
            return "core", "core_hotspot", {"share": share, "min_share": hotspot_share,
                                            **trend, "min_growth": hot_growth, "hot": True,
                                            **evidence}
        if growth <= rules["declining_growth"]:
            return "declining", "declining", {"growth": growth,
                                              "max_growth": rules["declining_growth"],
                                              "share": share}
        if new_revenue or growth >= rules["emerging_growth"]:
            return "emerging", "emerging", {**trend, "min_growth": rules["emerging_growth"],
                                            "share": share, "max_share": hot_share}

    ratio, expected, gap = _gap(row, rules, sample)
    if gap is not None:
        return gap

    potential_growth, potential_ratio = rules.get("potential_growth"), rules.get("potential_ratio")
    if (not small and potential_growth is not None and potential_ratio is not None
            and ratio is not None and ratio < potential_ratio and growth >= potential_growth):
        return "emerging", "potential", {"growth": growth, "min_growth": potential_growth,
                                         "ratio": ratio, "max_ratio": potential_ratio,
                                         "customers": customers, "expected": expected}

    return "steady", "steady", {"share": share, **trend, "ratio": ratio,
                                "min_ratio": rules["gap_ratio"], **sample}


def region_tiers(kpis: pd.DataFrame, *, rules: Mapping[str, float],
                 min_customers: int = 5,
                 benchmark: Benchmark | None = None) -> pd.DataFrame:
    """Put each region in a tier, with the rule and the numbers that put it there.

    Rules are checked in this order; the first one met wins (``tier_rule`` in
    brackets):

    1. ``customers == 0``: **gap** (``no_customers``, a blank region).
    2. ``share >= hot_share`` and ``growth_yoy >= hot_growth``: **core**
       (``core``); or a step-4 hot spot (``gi_bin >= hotspot_bin``, or
       ``hotspot`` true) with ``share >= hotspot_share`` and ``growth_yoy >=
       hot_growth``: **core** (``core_hotspot``).
    3. ``growth_yoy <= declining_growth``: **declining** (``declining``).
    4. ``growth_yoy >= emerging_growth``: **emerging** (``emerging``).
    5. ``gap_ratio < gap_ratio`` (when the KPI table has ``gap_ratio``): **gap**
       (``gap``).
    6. ``growth_yoy >= potential_growth`` and ``gap_ratio < potential_ratio``:
       **emerging** (``potential``: growing with room to grow).
    7. otherwise **steady** (``steady``).

    When the data do not cover the year before (``baseline_ok`` False: growth was
    not measured, :func:`helpers.analysis.kpis.region_kpis`), only the rules that
    need no growth apply: **core** by share alone (``core_share``: ``share >=
    hot_share``, or a hot spot with ``share >= hotspot_share``), **gap**
    (``gap``) and **steady** (``steady_no_growth``); no region is emerging or
    declining, and ``coverage`` in the values is the share of the year before
    the data cover.

    Revenue in the period with none in the previous one (growth undefined)
    counts as meeting the growth condition of rules 2 and 4. Rules 2-4 are
    skipped for ``small_sample`` regions (fewer than ``min_customers``
    customers): their growth is not trusted, and the reason says so. A
    missing growth fails rules 2-4.

    Parameters
    ----------
    kpis : DataFrame
        :func:`helpers.analysis.kpis.region_kpis` output (``region``, ``customers``,
        ``revenue``, ``revenue_prev``, ``growth_yoy``, ``share``; optional
        ``small_sample``, ``gap_ratio``, ``expected_customers``, ``gi_z``,
        ``gi_bin``, ``hotspot``).
    rules : mapping
        ``hot_share``, ``hot_growth``, ``emerging_growth``,
        ``declining_growth`` and ``gap_ratio`` (``workbook.yaml`` ``strategy:``);
        optional ``hotspot_bin`` (default 2), ``hotspot_share``,
        ``potential_growth`` and ``potential_ratio`` (absent or None: rule off).
    min_customers : int
        Used for ``small_sample`` when the KPI table lacks that column, and
        recorded with the values of a small region.
    benchmark : Benchmark, optional
        The whole market, in a territory report: ``share`` in the rules (and
        in the returned table) is the region's share of the market's revenue,
        so a province gets the same tier as in the national report.

    Returns
    -------
    DataFrame
        A copy of ``kpis`` (``share`` the market's with a benchmark) with
        ``tier``, ``tier_rule`` (a key of :data:`RULES`) and ``tier_values``:
        a dict per region of the values the rule compared, for example
        ``{"share": 0.3, "min_share": 0.06, "growth": 0.04, "new_revenue":
        False, "min_growth": -0.05, "hot": False}`` for ``core``. The values:
        ``share``, ``growth`` (NaN when unknown), ``new_revenue`` (revenue now,
        none in the previous period), ``ratio`` (``gap_ratio``, None without a
        reference), ``expected`` (expected customers or None), the thresholds
        ``min_share``, ``max_share``, ``min_growth``, ``max_growth``,
        ``min_ratio``, ``max_ratio``; ``hot`` with the Gi* evidence ``gi_bin``,
        ``gi_z`` and ``hotspot_bin``; ``small``, ``customers`` and
        ``min_customers`` for the small-sample note; ``coverage`` (the share of
        the year before the data cover) for ``core_share`` and ``steady_no_growth``.
    """
    missing = [key for key in _RULE_KEYS if key not in rules]
    if missing:
        raise KeyError(f"strategy rules missing: {missing}")
    optional = {key: (None if rules.get(key, default) is None else float(rules.get(key, default)))
                for key, default in _OPTIONAL_RULES.items()}
    rules = {**{key: float(rules[key]) for key in _RULE_KEYS}, **optional}
    if benchmark is not None:
        kpis = kpis.assign(share=benchmark.share(kpis["region"]))
    results = [_classify(row, rules, min_customers) for row in kpis.to_dict("records")]
    columns = zip(*results, strict=True) if results else ([], [], [])
    tier, rule, values = (pd.Series(list(c), index=kpis.index, dtype=object) for c in columns)
    return kpis.assign(tier=tier, tier_rule=rule, tier_values=values)
