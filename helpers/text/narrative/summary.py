"""The findings of step 5's executive summary: one sentence each, with its number."""

from __future__ import annotations

import pandas as pd

from helpers.text.lookup import name_list, region_label, say
from helpers.text.narrative.audience import Audience

__all__ = ["findings"]


def _name(row, lang: str) -> str:
    return str(region_label(dict(row), lang))


def findings(insight: dict, tables: dict, audience: Audience,
             concentration: dict | None = None) -> dict[str, dict]:
    """Every candidate finding for the executive summary, each with its number.

    Parameters
    ----------
    insight : dict
        Step 4's tables (:func:`helpers.steps.insight.ensure_insight`).
    tables : dict
        Step 5's tables (:func:`helpers.steps.strategy.strategy_tables`).
    audience : Audience
        Language and currency of the sentences.
    concentration : dict, optional
        :func:`helpers.analysis.concentration.concentration` of revenue across customers.

    Returns
    -------
    dict
        kind -> ``{"text": str, "value": float}``; kinds are ``size``,
        ``core``, ``gap``, ``emerging``, ``declining``, ``concentration``,
        ``at_risk``, ``champions``, ``budget``, ``partners`` and
        ``monitoring``, each only when the data supports it.
    """
    out: dict[str, dict] = {}
    h, tiers, lang, money = insight["headline"], tables["tiers"], audience.lang, audience.money
    growth = h.get("growth_yoy")
    out["size"] = {"value": h["revenue"], "text": (
        say("finding_size", lang, customers=h["customers"], revenue=h["revenue"], currency=money)
        + (say("finding_size_growth", lang, growth=growth) if growth is not None else ""))}
    core = tiers[tiers["tier"] == "core"].sort_values("revenue", ascending=False)
    if len(core):
        share = core["revenue"].sum() / tiers["revenue"].sum() if tiers["revenue"].sum() else 0
        out["core"] = {"value": share, "text": say("finding_core", lang, n=len(core),
                                                    share=share, names=name_list(core, lang, 4))}
    gap = tiers[tiers["tier"] == "gap"]
    if len(gap):
        blank = gap[gap["customers"] == 0]
        text = say("finding_gap", lang, n=len(gap), blank=len(blank))
        if "expected_customers" in gap and gap["expected_customers"].notna().any():
            missing = (gap["expected_customers"] - gap["customers"]).sort_values(ascending=False)
            top = gap.loc[missing.index[0]]
            text += say("finding_gap_largest", lang, name=_name(top, lang),
                        customers=int(top["customers"]), expected=top["expected_customers"])
        out["gap"] = {"value": len(gap), "text": text}
    emerging = tiers[tiers["tier"] == "emerging"].sort_values("growth_yoy", ascending=False)
    if len(emerging):
        top = emerging.iloc[0]
        g = top["growth_yoy"]
        growth_text = (say("growth_on_baseline", lang, growth=g) if not pd.isna(g)
                       else say("new_revenue", lang))
        out["emerging"] = {"value": g, "text": say("finding_emerging", lang, n=len(emerging),
                                                    name=_name(top, lang), growth=growth_text)}
    declining = tiers[tiers["tier"] == "declining"].sort_values("growth_yoy")
    if len(declining):
        lost = (declining["revenue_prev"] - declining["revenue"]).sum()
        top = declining.iloc[0]
        out["declining"] = {"value": lost, "text": say(
            "finding_declining", lang, n=len(declining), lost=lost, name=_name(top, lang),
            growth=top["growth_yoy"], currency=money)}
    if concentration and concentration.get("top20_share") is not None:
        out["concentration"] = {"value": concentration["top20_share"], "text": say(
            "finding_concentration", lang, share=concentration["top20_share"],
            gini=concentration["gini"])}
    rfm = insight["rfm"]
    total_value = rfm["monetary"].clip(lower=0).sum() if len(rfm) else 0
    slipping = rfm[rfm["segment"].isin(["at risk", "cannot lose them"])]
    if len(slipping) and total_value > 0:
        value = slipping["monetary"].clip(lower=0).sum()
        out["at_risk"] = {"value": value, "text": say(
            "finding_at_risk", lang, n=len(slipping), value=value, share=value / total_value,
            currency=money)}
    champions = rfm[rfm["segment"] == "champions"]
    if len(champions) and total_value > 0:
        share = champions["monetary"].clip(lower=0).sum() / total_value
        out["champions"] = {"value": share, "text": say("finding_champions", lang,
                                                         n=len(champions), share=share)}
    summary = tables["budget"]["summary"]
    if summary:
        effect = summary["expected_revenue_change"]
        effect_text = (say("finding_budget_effect", lang, low=effect["low"], high=effect["high"],
                           low_pct=effect["low_pct"], high_pct=effect["high_pct"],
                           currency=money)
                       if effect is not None and effect["low_pct"] is not None else "")
        table = tables["budget"]["table"]
        gainers = table[table["change"] > 0].head(3)
        out["budget"] = {"value": summary["moved"], "text": say(
            "finding_budget", lang, moved=summary["moved"],
            moved_share=summary["moved"] / summary["total"], total=summary["total"],
            names=name_list(gainers, lang, 3) if len(gainers) else say("no_region", lang),
            effect=effect_text, currency=money)}
    partners = tables["partners"]
    if partners is not None and len(partners):
        counts = partners["partner_tier"].value_counts()
        out["partners"] = {"value": int(counts.get("B", 0)), "text": say(
            "finding_partners", lang, b=int(counts.get("B", 0)), a=int(counts.get("A", 0)),
            c=int(counts.get("C", 0)))}
    result = tables["comparison"]
    if result and "error" not in result:
        s = result["summary"]
        changes = len(s.get("tier_changes", []))
        text = say("finding_monitoring", lang, run=s["baseline_run"], changes=changes)
        if s.get("champions_to_at_risk") is not None:
            text += say("finding_monitoring_champions", lang, n=s["champions_to_at_risk"])
        if s.get("newly_blank"):
            text += say("finding_monitoring_blank", lang, names=", ".join(s["newly_blank"]))
        out["monitoring"] = {"value": changes, "text": text}
    return out
