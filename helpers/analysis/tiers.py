"""Region tiers: what kind of market each region is for us (step 5, strategy).

:func:`region_tiers` puts each region in a tier (core, declining, emerging, gap,
steady) by the rules of ``workbook.yaml`` ``strategy:`` and gives the numbers
that put it there; :mod:`helpers.analysis.actions` says what to do in each tier.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from helpers.analysis.benchmark import Benchmark
from helpers.text.lookup import say

__all__ = ["TIERS", "region_tiers"]

#: Tier names in priority order (the order of action lists).
TIERS = ["core", "declining", "emerging", "gap", "steady"]

_RULE_KEYS = ("hot_share", "hot_growth", "emerging_growth", "declining_growth", "gap_ratio")
# Optional rules: None (or absent) switches the rule off.
_OPTIONAL_RULES = {"hotspot_bin": 2, "hotspot_share": None, "potential_growth": None,
                   "potential_ratio": None}


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _signed_pct(value: float) -> str:
    return f"{value:+.1%}"


def _is_number(value: object) -> bool:
    return value is not None and not pd.isna(value)


def _hot_spot(row: Mapping[str, object], rules: Mapping[str, float],
              lang: str = "en") -> tuple[bool, str]:
    """Whether step 4 marked the region a hot spot (Gi* bin), and the evidence."""
    level = int(rules.get("hotspot_bin") or 2)
    gi_bin = row.get("gi_bin")
    if _is_number(gi_bin):
        z = row.get("gi_z")
        z_text = f"z {float(z):.2f}, " if _is_number(z) else ""
        return int(gi_bin) >= level, say("reason_hot_bin", lang, z=z_text, bin=int(gi_bin),
                                         level=level)
    flag = row.get("hotspot")
    if flag is not None and not pd.isna(flag) and str(flag).lower() in ("true", "1", "hot"):
        return True, say("reason_hot", lang)
    return False, ""


def _classify(row: Mapping[str, object], rules: Mapping[str, float],
              min_customers: int, lang: str = "en") -> tuple[str, str]:
    """The tier of one region and the sentence that explains it (in ``lang``)."""
    customers = int(row["customers"])
    if customers == 0:
        return "gap", say("reason_no_customers", lang)
    share = float(row["share"]) if _is_number(row.get("share")) else math.nan
    growth = float(row["growth_yoy"]) if _is_number(row.get("growth_yoy")) else math.nan
    revenue = float(row.get("revenue", math.nan))
    revenue_prev = float(row.get("revenue_prev", math.nan))
    new_revenue = revenue_prev <= 0 < revenue
    small = bool(row["small_sample"]) if "small_sample" in row else customers < min_customers
    growth_text = (say("reason_growth_new", lang) if new_revenue
                   else say("reason_growth_na", lang) if math.isnan(growth)
                   else say("reason_growth", lang, growth=_signed_pct(growth)))
    notes: list[str] = []

    hot, hot_text = _hot_spot(row, rules, lang)
    if small:
        notes.append(say("reason_small", lang, n=customers, min=min_customers))
    else:
        hot_share, hot_growth = rules["hot_share"], rules["hot_growth"]
        growth_ok = new_revenue or growth >= hot_growth
        rhs = "" if new_revenue else f" ≥ {_signed_pct(hot_growth)}"
        if share >= hot_share and growth_ok:
            extra = f"; {hot_text}" if hot else ""
            return "core", say("reason_core", lang, share=_pct(share), min=_pct(hot_share),
                               growth=f"{growth_text}{rhs}") + extra
        hotspot_share = rules.get("hotspot_share")
        if hot and hotspot_share is not None and share >= hotspot_share and growth_ok:
            return "core", f"{hot_text}, " + say("reason_core", lang, share=_pct(share),
                                                 min=_pct(hotspot_share),
                                                 growth=f"{growth_text}{rhs}")
        if growth <= rules["declining_growth"]:
            return "declining", say("reason_declining", lang, growth=_signed_pct(growth),
                                    limit=_signed_pct(rules["declining_growth"]),
                                    share=_pct(share))
        if new_revenue or growth >= rules["emerging_growth"]:
            rhs = "" if new_revenue else f" ≥ {_signed_pct(rules['emerging_growth'])}"
            return "emerging", say("reason_emerging", lang, growth=f"{growth_text}{rhs}",
                                   share=_pct(share), max=_pct(hot_share))

    ratio = row.get("gap_ratio")
    if _is_number(ratio) and float(ratio) < rules["gap_ratio"]:
        reason = (say("reason_gap_expected", lang, customers=customers,
                      expected=float(row["expected_customers"]), ratio=float(ratio),
                      limit=rules["gap_ratio"])
                  if _is_number(row.get("expected_customers"))
                  else say("reason_gap", lang, ratio=float(ratio), limit=rules["gap_ratio"]))
        return "gap", "; ".join([reason, *notes])

    potential_growth, potential_ratio = rules.get("potential_growth"), rules.get("potential_ratio")
    if (not small and potential_growth is not None and potential_ratio is not None
            and _is_number(ratio) and float(ratio) < potential_ratio
            and growth >= potential_growth):
        room = (say("reason_room", lang, customers=customers,
                    expected=float(row["expected_customers"]))
                if _is_number(row.get("expected_customers")) else "")
        return "emerging", say("reason_potential", lang, growth=_signed_pct(growth),
                               min=_signed_pct(potential_growth), room=room, ratio=float(ratio),
                               limit=potential_ratio)

    facts = [say("reason_share", lang, share=_pct(share)) if not math.isnan(share)
             else say("reason_share_na", lang)]
    if not small:
        facts.append(growth_text)
    if _is_number(ratio):
        facts.append(say("reason_gap_ok", lang, ratio=float(ratio), limit=rules["gap_ratio"]))
    return "steady", "; ".join([say("reason_steady", lang, facts=", ".join(facts)), *notes])


def region_tiers(kpis: pd.DataFrame, *, rules: Mapping[str, float],
                 min_customers: int = 5, lang: str = "en",
                 benchmark: Benchmark | None = None) -> pd.DataFrame:
    """Put each region in a tier and say why, with the numbers.

    Rules are checked in this order; the first one met wins:

    1. ``customers == 0``: **gap** ("no customers", a blank region).
    2. ``share >= hot_share`` and ``growth_yoy >= hot_growth``: **core**; or a
       step-4 hot spot (``gi_bin >= hotspot_bin``, or ``hotspot`` true) with
       ``share >= hotspot_share`` and ``growth_yoy >= hot_growth``: **core**.
    3. ``growth_yoy <= declining_growth``: **declining**.
    4. ``growth_yoy >= emerging_growth``: **emerging**.
    5. ``gap_ratio < gap_ratio`` (when the KPI table has ``gap_ratio``): **gap**.
    6. ``growth_yoy >= potential_growth`` and ``gap_ratio < potential_ratio``:
       **emerging** (growing with room to grow).
    7. otherwise **steady**.

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
        Used for ``small_sample`` when the KPI table lacks that column, and in
        the reason text.
    lang : {"en", "zh"}
        Language of ``tier_reason`` (the tiers themselves are English keys).
    benchmark : Benchmark, optional
        The whole market, in a territory report: ``share`` in the rules (and
        in the returned table) is the region's share of the market's revenue,
        so a province gets the same tier as in the national report.

    Returns
    -------
    DataFrame
        A copy of ``kpis`` with ``tier`` and ``tier_reason`` added (and
        ``share`` the market's with a benchmark).
    """
    missing = [key for key in _RULE_KEYS if key not in rules]
    if missing:
        raise KeyError(f"strategy rules missing: {missing}")
    optional = {key: (None if rules.get(key, default) is None else float(rules.get(key, default)))
                for key, default in _OPTIONAL_RULES.items()}
    rules = {**{key: float(rules[key]) for key in _RULE_KEYS}, **optional}
    if benchmark is not None:
        kpis = kpis.assign(share=benchmark.share(kpis["region"]))
    results = [_classify(row, rules, min_customers, lang) for row in kpis.to_dict("records")]
    tiers = [tier for tier, _ in results]
    reasons = [reason for _, reason in results]
    return kpis.assign(tier=pd.Series(tiers, index=kpis.index, dtype=object),
                       tier_reason=pd.Series(reasons, index=kpis.index, dtype=object))
