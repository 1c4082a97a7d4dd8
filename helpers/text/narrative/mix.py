"""The category mix by region and cohort retention in words (step 4's ``mix`` and
``cohorts`` sections).

:data:`TOPICS` is merged into :data:`helpers.text.narrative.insight.TOPICS`; each
function reads step 4's tables (``category_mix``, ``cohorts``, ``cohort_trend`` and their
notes) and returns markdown. Category and region names come from the data: every one
goes through :func:`helpers.text.markup.md_text`.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from helpers.text.lookup import join, lang_code, region_label, say
from helpers.text.markup import md_text
from helpers.text.narrative.audience import Audience
from helpers.text.narrative.notes import baseline_reason

__all__ = ["TOPICS", "mix", "cohorts", "cohort_maps", "segment_gaps", "mix_reason"]

#: How many regions or pairs a sentence names at most.
NAMED = 5


def _names(frame: pd.DataFrame, lang: str) -> list[str]:
    return [md_text(str(n)) for n in region_label(frame, lang)]


def mix_reason(note: dict, lang: str = "en") -> str | None:
    """Why there is no category mix (``reason_key`` of the note), or None."""
    key = note.get("reason_key")
    return say(f"mix_{key}", lang) if key else None


def mix(tables: dict, audience: Audience) -> str:
    """Each region's category index, the categories growing and shrinking, and the
    cross-sell gaps; or why the data cannot show them."""
    note, lang, unit = tables["notes"].get("mix") or {}, audience.lang, audience.unit
    reason = mix_reason(note, lang)
    if reason:
        return reason
    table = tables["category_mix"]
    lines = [say("mix_intro", lang, categories=note["categories"], customers=note["customers"],
                 tested=note["tested"], unit=unit, min=note["min_customers"])]
    if note.get("scope_key") == "market":
        lines.append(say("mix_market", lang, unit=unit))
    elif note.get("scope_key") == "market_city":
        lines.append(say("mix_market_city", lang))
    if note.get("uncategorised_lines"):
        lines.append(say("mix_uncategorised", lang, lines=note["uncategorised_lines"],
                         revenue=note["uncategorised_revenue"], currency=audience.money))
    significant = table.loc[table["significant"].astype(bool)]
    over = significant.loc[significant["category_index"] > 100].sort_values("z", ascending=False)
    under = significant.loc[significant["category_index"] < 100].sort_values("z")
    for key, found in (("mix_over", over), ("mix_under", under)):
        if len(found):
            items = [say("mix_item", lang, region=r, category=md_text(str(c)), index=i)
                     for r, c, i in zip(_names(found.head(NAMED), lang),
                                        found["category"].head(NAMED),
                                        found["category_index"].head(NAMED), strict=True)]
            lines.append(say(key, lang, items=join(items, lang), n=len(found)))
    if not note["tested"]:
        lines.append(say("mix_untested", lang, unit=unit, min=note["min_customers"]))
    elif not len(significant):
        lines.append(say("mix_alike", lang, unit=unit))
    lines.append(_growth(table, note, lang))
    lines.append(_gaps(table, note, lang, unit))
    lines.append(segment_gaps(tables, lang))
    return "\n\n".join(line for line in lines if line)


def segment_gaps(tables: dict, lang: str = "en") -> str:
    """The cross-sell gaps by customer segment (:func:`helpers.analysis.mix.segment_mix`):
    each segment buying a category far less often than the market while buying the rest;
    empty when there are no segments to compare (the profiles section says why)."""
    from helpers.text.narrative.buyers import attribute_name, value_name

    note, found = (tables.get("notes") or {}).get("segment_mix") or {}, tables.get("segment_mix")
    if found is None or note.get("reason_key") or not note.get("attributes"):
        return ""
    names = join([attribute_name(a, lang) for a in note["attributes"]], lang)
    gaps = found.loc[found["cross_sell_gap"].astype(bool)].sort_values(
        "missing_customers", ascending=False, kind="mergesort")
    if not len(gaps):
        return say("mix_segment_no_gap", lang, attributes=names)
    items = [say("mix_segment_item", lang, value=md_text(value_name(row.value, lang)),
                 attribute=attribute_name(row.attribute, lang),
                 category=md_text(str(row.category)), index=row.penetration_index,
                 targets=int(row.targets))
             for row in gaps.head(NAMED).itertuples()]
    return say("mix_segment_gaps", lang, n=len(gaps), attributes=names,
               items=join(items, lang, clauses=True))


def _growth(table: pd.DataFrame, note: dict, lang: str) -> str:
    baseline = note.get("baseline")
    if baseline is None:
        return ""
    if not baseline["enough"]:
        return say("mix_growth_unmeasured", lang, reason=md_text(baseline_reason(baseline, lang)))
    market = table.drop_duplicates("category").dropna(subset=["market_growth"])
    parts = [say("mix_growth_item", lang, category=md_text(str(c)), growth=g)
             for c, g in zip(market["category"], market["market_growth"], strict=True)]
    lines = [say("mix_growth_market", lang, items=join(parts, lang))] if parts else []
    # only pairs with enough buyers of the category: a few customers' orders swing a lot
    least = note["min_customers"]
    judged = table.loc[(table["customers"] >= least) & table["growth_prev"].notna()]
    for key, found in (("mix_growing", judged.loc[judged["growth_prev"] > 0]
                        .sort_values("growth_prev", ascending=False)),
                       ("mix_shrinking", judged.loc[judged["growth_prev"] < 0]
                        .sort_values("growth_prev"))):
        if len(found):
            top = found.head(3)
            items = [say("mix_growth_pair", lang, region=r, category=md_text(str(c)), growth=g)
                     for r, c, g in zip(_names(top, lang), top["category"], top["growth_prev"],
                                        strict=True)]
            lines.append(say(key, lang, items=join(items, lang), min=least))
    return " ".join(lines)


def _gaps(table: pd.DataFrame, note: dict, lang: str, unit: str) -> str:
    rule = say("mix_gap_rule", lang, gap=note["gap_index"], rest=note["rest_index"] / 100)
    found = table.loc[table["cross_sell_gap"].astype(bool)].sort_values(
        "missing_customers", ascending=False, kind="mergesort")
    if not len(found):
        return say("mix_no_gap", lang, unit=unit, rule=rule)
    top = found.head(NAMED)
    items = [say("mix_gap_item", lang, region=r, category=md_text(str(row.category)),
                 buyers=int(row.customers), n=int(row.region_customers),
                 share=row.penetration, market=row.market_penetration, targets=int(row.targets))
             for r, row in zip(_names(top, lang), top.itertuples(), strict=True)]
    return say("mix_gaps", lang, n=len(found), rule=rule, items=join(items, lang, clauses=True))


def cohorts(tables: dict, audience: Audience) -> str:
    """Cohort retention of the scope, the rule, and the regions whose newer cohorts
    retain worse (or why the counts do not allow it)."""
    note, lang, unit = tables["notes"].get("cohorts") or {}, audience.lang, audience.unit
    if note.get("reason_key"):
        return say(f"cohorts_{note['reason_key']}", lang)
    trend = tables["cohort_trend"]
    lines = [say("cohorts_intro", lang, cohorts=note["cohorts"], customers=note["customers"],
                 first=md_text(note["first_quarter"]), last=md_text(note["last_quarter"]))]
    rule = say("cohorts_rule", lang, min=note["min_customers"], drop=note["min_drop"] * 100,
               alpha=note["alpha"])
    scope = trend.loc[trend["region"].isna()]
    if len(scope):
        s = scope.iloc[0]
        lines.append(say("cohorts_scope", lang, old=s["older_retention"],
                         old_span=md_text(str(s["older_cohorts"])), new=s["newer_retention"],
                         new_span=md_text(str(s["newer_cohorts"])),
                         verdict=say("cohorts_scope_worse" if bool(s["worse"])
                                     else "cohorts_scope_same", lang)))
    else:
        lines.append(say("cohorts_scope_few", lang, min=note["min_customers"]))
    regions = trend.loc[trend["region"].notna()]
    if not len(regions):
        lines.append(say("cohorts_regions_few", lang, unit=unit, min=note["min_customers"]))
    else:
        worse = regions.loc[regions["worse"].astype(bool)]
        if len(worse):
            items = [say("cohorts_worse_item", lang, region=r, old=o, new=n)
                     for r, o, n in zip(_names(worse, lang), worse["older_retention"],
                                        worse["newer_retention"], strict=True)]
            lines.append(say("cohorts_worse", lang, n=len(worse), items=join(items, lang)))
        else:
            lines.append(say("cohorts_none_worse", lang, n=len(regions), unit=unit))
    lines.append(rule)
    return "\n\n".join(lines)


def cohort_maps(drawn: list[str], more: list[str], thin: list[str], least: int,
                lang: str = "en") -> str:
    """What the regions' cohort heat maps show: the regions drawn, those left out by the
    cap (``more``) and those whose cohorts are too small to draw (``thin``); names are
    display names from the data."""
    def names(items):
        return join([md_text(str(n)) for n in items], lang)

    lines = [say("cohorts_maps", lang, n=len(drawn), names=names(drawn), min=least)
             if drawn else ""]
    if more:
        lines.append(say("cohorts_maps_more", lang, n=len(more), names=names(more)))
    if thin:
        lines.append(say("cohorts_maps_thin", lang, n=len(thin), names=names(thin), min=least))
    return (" " if lang_code(lang) == "en" else "").join(line for line in lines if line)


TOPICS: dict[str, Callable[[dict, Audience], str]] = {"mix": mix, "cohorts": cohorts}
