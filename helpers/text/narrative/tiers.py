"""Why a region or a partner has its tier, in English or Chinese.

:func:`helpers.analysis.tiers.region_tiers` records the rule (``tier_rule``) and the values
that decided it (``tier_values``), :func:`helpers.analysis.partners.score_partners` the
rule and the score; this module only puts them into words (``share 30.0% ≥ 6.0%, growth
+4.0% ≥ -5.0%``, ``score 11 >= 10 and < 16``). The files (``region_tiers.csv``, the
evidence of ``actions.csv``, ``partner_tiers.csv``) hold the English reason; a report
shows it in its language.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import pandas as pd

from helpers.text.lookup import say, text
from helpers.text.narrative.audience import Audience

__all__ = ["tier_reason", "tier_reasons", "with_tier_reasons", "partner_reasons", "partner_balance",
           "with_partner_reasons", "tier_outlook"]


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _signed_pct(value: float) -> str:
    return f"{value:+.1%}"


def _growth(v: Mapping, lang: str) -> str:
    """The growth of the period: a number, or why there is none."""
    if v["new_revenue"]:
        return say("reason_growth_new", lang)
    if math.isnan(v["growth"]):
        return say("reason_growth_na", lang)
    return say("reason_growth", lang, growth=_signed_pct(v["growth"]))


def _unmeasured(v: Mapping, lang: str) -> str:
    """Why there is no growth: the data do not cover the year before (its share)."""
    if v.get("coverage") is None:
        return say("reason_growth_unmeasured_plain", lang)
    return say("reason_growth_unmeasured", lang, coverage=_pct(v["coverage"]))


def _growth_rule(v: Mapping, lang: str) -> str:
    """The growth against the rule's minimum (new revenue meets it without a number)."""
    return _growth(v, lang) + ("" if v["new_revenue"] else f" ≥ {_signed_pct(v['min_growth'])}")


def _hot(v: Mapping, lang: str) -> str:
    if "gi_bin" in v:
        z = f"z {v['gi_z']:.2f}, " if v["gi_z"] is not None else ""
        return say("reason_hot_bin", lang, z=z, bin=v["gi_bin"], level=v["hotspot_bin"])
    return say("reason_hot", lang)


def _small(v: Mapping, lang: str) -> list[str]:
    if not v["small"]:
        return []
    return [say("reason_small", lang, n=v["customers"], min=v["min_customers"])]


def _core(v: Mapping, lang: str) -> str:
    text = say("reason_core", lang, share=_pct(v["share"]), min=_pct(v["min_share"]),
               growth=_growth_rule(v, lang))
    return text + (f"; {_hot(v, lang)}" if v["hot"] else "")


def _core_hotspot(v: Mapping, lang: str) -> str:
    return f"{_hot(v, lang)}, " + say("reason_core", lang, share=_pct(v["share"]),
                                      min=_pct(v["min_share"]), growth=_growth_rule(v, lang))


def _core_share(v: Mapping, lang: str) -> str:
    text = say("reason_core", lang, share=_pct(v["share"]), min=_pct(v["min_share"]),
               growth=_unmeasured(v, lang))
    return text + (f"; {_hot(v, lang)}" if v["hot"] else "")


def _declining(v: Mapping, lang: str) -> str:
    return say("reason_declining", lang, growth=_signed_pct(v["growth"]),
               limit=_signed_pct(v["max_growth"]), share=_pct(v["share"]))


def _emerging(v: Mapping, lang: str) -> str:
    return say("reason_emerging", lang, growth=_growth_rule(v, lang), share=_pct(v["share"]),
               max=_pct(v["max_share"]))


def _gap(v: Mapping, lang: str) -> str:
    if v["expected"] is not None:
        reason = say("reason_gap_expected", lang, customers=v["customers"],
                     expected=v["expected"], ratio=v["ratio"], limit=v["max_ratio"])
    else:
        reason = say("reason_gap", lang, ratio=v["ratio"], limit=v["max_ratio"])
    return "; ".join([reason, *_small(v, lang)])


def _potential(v: Mapping, lang: str) -> str:
    room = (say("reason_room", lang, customers=v["customers"], expected=v["expected"])
            if v["expected"] is not None else "")
    return say("reason_potential", lang, growth=_signed_pct(v["growth"]),
               min=_signed_pct(v["min_growth"]), room=room, ratio=v["ratio"],
               limit=v["max_ratio"])


def _steady(v: Mapping, lang: str) -> str:
    facts = [say("reason_share", lang, share=_pct(v["share"])) if not math.isnan(v["share"])
             else say("reason_share_na", lang)]
    if not v["small"]:
        facts.append(_growth(v, lang))
    if v["ratio"] is not None:
        facts.append(say("reason_gap_ok", lang, ratio=v["ratio"], limit=v["min_ratio"]))
    return "; ".join([say("reason_steady", lang, facts=", ".join(facts)), *_small(v, lang)])


def _steady_no_growth(v: Mapping, lang: str) -> str:
    facts = [say("reason_share", lang, share=_pct(v["share"])) if not math.isnan(v["share"])
             else say("reason_share_na", lang)]
    if v["ratio"] is not None:
        facts.append(say("reason_gap_ok", lang, ratio=v["ratio"], limit=v["min_ratio"]))
    return "; ".join([say("reason_steady", lang, facts=", ".join(facts)),
                      _unmeasured(v, lang), *_small(v, lang)])


_RULES: dict[str, Callable[[Mapping, str], str]] = {
    "no_customers": lambda v, lang: say("reason_no_customers", lang),
    "core": _core,
    "core_hotspot": _core_hotspot,
    "core_share": _core_share,
    "declining": _declining,
    "emerging": _emerging,
    "gap": _gap,
    "potential": _potential,
    "steady": _steady,
    "steady_no_growth": _steady_no_growth,
}


def tier_reason(rule: str, values: Mapping, lang: str = "en") -> str:
    """Why a region has its tier, with the numbers.

    Parameters
    ----------
    rule : str
        ``tier_rule`` of :func:`helpers.analysis.tiers.region_tiers` (a key of
        :data:`helpers.analysis.tiers.RULES`).
    values : mapping
        ``tier_values`` of the same row.
    lang : {"en", "zh"}

    Returns
    -------
    str
        e.g. ``"growth -20.0% ≤ -10.0% (share 20.0%)"`` or ``"增长 -20.0% ≤ -10.0%（占比 20.0%）"``.
    """
    if rule not in _RULES:
        raise ValueError(f"unknown tier rule {rule!r}; expected one of {list(_RULES)}")
    return _RULES[rule](values, lang)


def tier_reasons(tiers: pd.DataFrame, lang: str = "en") -> pd.Series:
    """:func:`tier_reason` of every row of ``tiers`` (``tier_rule`` and ``tier_values``)."""
    return pd.Series([tier_reason(rule, values, lang) for rule, values
                      in zip(tiers["tier_rule"], tiers["tier_values"], strict=True)],
                     index=tiers.index, dtype=object)


def with_tier_reasons(tiers: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """``tiers`` with ``tier_reason`` (:func:`tier_reasons`) in ``lang``: English for the
    files (``region_tiers.csv``, the evidence of ``actions.csv``), the report's language
    for what it shows."""
    return tiers.assign(tier_reason=tier_reasons(tiers, lang))


def partner_reasons(partners: pd.DataFrame, audience: Audience) -> pd.Series:
    """Why each partner has its A/B/C tier, in ``audience.lang``.

    Parameters
    ----------
    partners : DataFrame
        :func:`helpers.analysis.partners.score_partners` rows (``tier_rule``,
        ``score``, ``tier``).
    audience : Audience
        Language, and the A and B thresholds of the score (``partner_points``).

    Returns
    -------
    Series of str
        ``score 18 >= 16``, ``score 11 >= 10 and < 16``, ``score 7 < 10`` or
        ``C directly: ...`` (the rule's words), aligned with ``partners``.
    """
    lang, points = audience.lang, audience.partner_points
    a, b = float(points["A"]), float(points["B"])

    def one(rule: str, score: float, tier: str) -> str:
        if rule == "score":
            return text("note", f"partner_score_{tier}", lang, score=float(score), a=a, b=b)
        return text("note", f"partner_{rule}", lang)

    return pd.Series([one(*row) for row in zip(partners["tier_rule"], partners["score"],
                                                  partners["tier"], strict=True)],
                     index=partners.index, dtype=object)


def with_partner_reasons(partners: pd.DataFrame, audience: Audience) -> pd.DataFrame:
    """``partners`` with ``tier_reason`` (:func:`partner_reasons`) after ``tier_rule``."""
    out = partners.copy()
    out.insert(out.columns.get_loc("tier_rule") + 1, "tier_reason",
               partner_reasons(partners, audience))
    return out


def partner_balance(note: Mapping | None, lang: str = "en") -> str:
    """The warning when one A/B/C tier holds most partners, with the thresholds the
    partners' own scores suggest (:func:`helpers.analysis.partners.tier_balance`);
    empty when no tier is crowded. Starts with a space (it follows a sentence)."""
    if not note or not note.get("crowded"):
        return ""
    tier = note["crowded"]
    text_ = say("partners_crowded", lang, share=note["shares"][tier], tier=tier,
                max=note["max_share"], a=note["thresholds"]["A"], b=note["thresholds"]["B"])
    suggested, shares = note.get("suggested"), note.get("suggested_shares")
    if suggested:
        text_ += say("partners_suggest", lang, a=suggested["A"], b=suggested["B"],
                     sa=shares["A"], sb=shares["B"], sc=shares["C"])
    return text_


def tier_outlook(tiers: pd.DataFrame, insight: Mapping, audience: Audience,
                 limit: int = 3) -> str:
    """Where the emerging and declining regions are heading: step 4's forecast of each
    (or why there is none) and, for a region that moved, the largest driver of its change
    on the previous period (the revenue bridge). Empty when neither tier has a region or
    step 4 has no forecast table.

    Parameters
    ----------
    tiers : DataFrame
        Step 5's region tiers (``region``, ``region_en``, ``tier``, ``growth_yoy``).
    insight : mapping
        Step 4's tables: ``forecast``, ``revenue_bridge`` and ``notes`` (``forecast``).
    audience : Audience
    limit : int
        At most this many regions per tier (the fastest growing, the fastest falling).
    """
    from helpers.text.format import format_money
    from helpers.text.lookup import region_label, term
    from helpers.text.markup import md_text
    from helpers.text.narrative.notes import forecast_reason

    ahead, note = insight.get("forecast"), (insight.get("notes") or {}).get("forecast")
    if ahead is None or not note or not len(tiers):
        return ""
    lang = audience.lang
    ahead = ahead.loc[~ahead["is_total"].astype(bool)].set_index("region")
    moved = insight.get("revenue_bridge")
    moved = (moved.loc[~moved["is_total"].astype(bool)].set_index("region")
             if moved is not None and len(moved) else None)
    chosen = pd.concat([
        tiers.loc[tiers["tier"] == "emerging"].sort_values("growth_yoy", ascending=False),
        tiers.loc[tiers["tier"] == "declining"].sort_values("growth_yoy")]) if len(tiers) else tiers
    chosen = chosen.groupby("tier", sort=False).head(limit)
    items = []
    for name, row in zip(region_label(chosen, lang), chosen.to_dict("records"), strict=True):
        region = row["region"]
        driver = ""
        if moved is not None and region in moved.index and isinstance(
                moved.loc[region, "driver"], str):
            driver = say("outlook_driver", lang, currency=audience.money,
                         change=format_money(moved.loc[region, "change"], lang, signed=True),
                         driver=term("driver", moved.loc[region, "driver"], lang))
        found = ahead.loc[region] if region in ahead.index else None
        head = {"name": md_text(str(name)), "tier": term("tier", row["tier"], lang)}
        if found is None:
            continue
        if not bool(found["shown"]):
            items.append(say("outlook_no_forecast", lang, **head, driver=driver,
                             reason=md_text(forecast_reason(
                                 {**found.to_dict(), "min_months": note["min_months"],
                                  "max_zero_share": note["max_zero_share"]}, lang))))
            continue
        year_ago = (say("outlook_year_ago", lang, change=found["forecast_change"])
                    if pd.notna(found["forecast_change"]) else "")
        items.append(say("outlook_item", lang, **head, months=note["horizon"],
                         forecast=format_money(found["forecast"], lang),
                         low=format_money(found["forecast_low"], lang),
                         high=format_money(found["forecast_high"], lang),
                         level=note["interval"], currency=audience.money,
                         year_ago=year_ago, driver=driver))
    if not items:
        return ""
    return say("outlook_intro", lang, unit=audience.unit) + "\n\n" + "\n".join(
        f"- {item}" for item in items)
