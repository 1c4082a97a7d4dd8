"""What each step-4 result means for the business, in a few plain sentences.

One function per topic, registered in :data:`TOPICS`; :func:`narrate` picks it.
Every function reads step 4's tables (:func:`helpers.steps.insight.insight_tables`)
and returns markdown; every name that comes from the data goes through
:func:`helpers.text.markup.md_text` (shown as text, never as markup).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd

from helpers.text.format import MONEY_COLUMNS, format_money, plain_number
from helpers.text.lookup import join, label, lang_code, name_list, region_label, say, term, text
from helpers.text.markup import md_text
from helpers.text.narrative.audience import Audience
from helpers.text.narrative.notes import (
    baseline_reason,
    bridge_reason,
    forecast_reason,
    hotspot_reason,
    isolation_method,
    isolation_reason,
    ltv_reason,
    neighbours_text,
    rfm_statements,
)
from helpers.text.narrative.tiers import partner_balance

__all__ = ["TOPICS", "narrate", "cluster_description"]


TOPICS: dict[str, Callable[[dict, Audience], str]] = {}


def _topic(name: str):
    def register(function):
        TOPICS[name] = function
        return function

    return register


def narrate(topic: str, tables: dict, audience: Audience) -> str:
    """The explanation of ``topic`` (a key of :data:`TOPICS`) for ``audience``.

    Raises ValueError naming the topics for an unknown one.
    """
    if topic not in TOPICS:
        raise ValueError(f"unknown topic {topic!r}; expected one of {list(TOPICS)}")
    return TOPICS[topic](tables, audience)


@_topic("region_kpis")
def region_kpis(tables: dict, audience: Audience) -> str:
    """Why growth was not measured (the data do not cover the window before) and the
    customers in no region row, by reason; empty when neither applies (the KPI table
    speaks for itself)."""
    note, lang = tables.get("notes", {}).get("growth") or {}, audience.lang
    lines = []
    if "yoy" in note and not note["yoy"]["enough"]:
        lines.append(say("growth_yoy_unmeasured", lang,
                         reason=md_text(baseline_reason(note["yoy"], lang))))
    if "recent" in note and not note["recent"]["enough"]:
        lines.append(say("growth_recent_unmeasured", lang, months=note["pop_months"],
                         reason=md_text(baseline_reason(note["recent"], lang))))
    unplaced = tables.get("no_region")
    if unplaced is not None and len(unplaced):
        parts = []
        for reason, group in unplaced.groupby("reason", sort=False):
            names = md_text(join([str(r) for r in group["region"].dropna()], lang))
            parts.append(say(f"no_region_{reason}", lang,
                             customers=int(group["customers"].sum()), names=names))
        lines.append(say("no_region_lines", lang, customers=int(unplaced["customers"].sum()),
                         revenue=float(unplaced["revenue"].sum()), currency=audience.money,
                         parts=join(parts, lang, clauses=True)))
    return "\n\n".join(lines)


@_topic("hotspots")
def hotspots(tables: dict, audience: Audience) -> str:
    """Hot and cold spots (Getis-Ord Gi*) and the regions unlike their neighbours."""
    kpis, note, lang = tables["region_kpis"], tables["notes"]["hotspots"], audience.lang
    if not note.get("computed"):
        return say("hot_none", lang, reason=md_text(hotspot_reason(note, lang)))
    bins = kpis["gi_bin"].fillna(0).astype(int)
    hot = kpis.loc[bins >= 2].sort_values("gi_z", ascending=False)
    cold = kpis.loc[bins <= -2].sort_values("gi_z")
    value = (note["value"].replace("_", " ") if lang_code(lang) == "en"
             else label(note["value"], lang))
    lines = [say("hot_intro", lang, unit=audience.unit, value=value, n=note["regions"],
                 neighbours=md_text(neighbours_text(note, lang)))]
    lines.append(say("hot_list", lang, names=md_text(name_list(hot, lang))) if len(hot)
                 else say("hot_no", lang))
    if len(cold):
        lines.append(say("cold_list", lang, names=md_text(name_list(cold, lang))))
    outliers = kpis.loc[kpis["lisa_quadrant"].isin(["HL", "LH"])]
    if len(outliers):
        lines.append(say("hot_outliers", lang, names=md_text(name_list(outliers, lang))))
    lines.append(say("hot_meaning", lang))
    return "\n\n".join(lines)


@_topic("gaps")
def gaps(tables: dict, audience: Audience) -> str:
    """Under-served and blank regions against the customers expected from population and GDP."""
    kpis, lang, unit = tables["region_kpis"], audience.lang, audience.unit
    if "expected_customers" not in kpis.columns:
        return say("gaps_no_reference", lang, unit=unit)
    found, model = tables["market_gaps"], tables["notes"]["gaps"]
    alone = "_population" if model.get("inputs_key") == "population_only" else ""
    how = (say(f"gaps_poisson{alone}", lang, n=model["regions"], unit=unit)
           if model.get("method") == "poisson" else say(f"gaps_allocation{alone}", lang))
    blank = found.loc[found["gap_kind"] == "blank"]
    under = found.loc[(found["gap_kind"] == "under-penetrated") & (found["gap_p"] < 0.05)]
    lines = [say("gaps_intro", lang, how=how)]
    if len(under):
        top = under.head(5)
        names = region_label(top, lang)
        missing = join([say("gaps_missing", lang, name=md_text(str(r)), gap=g)
                        for r, g in zip(names, top["customer_gap"], strict=True)], lang)
        lines.append(say("gaps_under", lang, missing=missing))
    if len(blank):
        lines.append(say("gaps_blank", lang, names=md_text(name_list(blank, lang))))
    room = found.loc[found["gap_kind"] == "room to grow"]
    if len(room):  # a core or growing region below its expected customers: say how both hold
        names = region_label(room, lang)
        items = [say("gaps_room_item", lang, name=md_text(str(n)), tier=term("tier", t, lang),
                     ratio=r) for n, t, r in zip(names, room["tier"], room["gap_ratio"],
                                                 strict=True)]
        lines.append(say("gaps_room", lang, items=join(items, lang)))
    if not len(under) and not len(blank):
        lines.append(say("gaps_none", lang))
    outside = tables["notes"].get("extent")
    if outside:
        lines.append(say("gaps_outside", lang, names=md_text(join(outside["areas"], lang)),
                         customers=outside["customers"]))
    return "\n\n".join(lines)


@_topic("isolated")
def isolated(tables: dict, audience: Audience) -> str:
    """Customers with no group of customers nearby."""
    found, note, lang = tables["isolated_customers"], tables["notes"]["isolation"], audience.lang
    if "reason_key" in note:
        return say("isolated_unchecked", lang, reason=isolation_reason(note, lang))
    if found.empty:
        return say("isolated_none", lang, km=note["eps_km"])
    return say("isolated", lang, n=len(found), km=note["eps_km"],
               method=md_text(isolation_method(note, lang)),
               low=found["nearest_cluster_km"].min(), high=found["nearest_cluster_km"].max(),
               revenue=found["revenue"].sum(), currency=audience.currency)


@_topic("concentration")
def concentration(tables: dict, audience: Audience) -> str:
    """The 80/20 sentences of step 4 (written when the tables were computed)."""
    c = tables["concentration"]
    keys = ["statement_regions", "statement_top20_regions", "statement_customers",
            "statement_top20_customers"]
    return "\n\n".join(md_text(str(c[k])) for k in keys if c.get(k))


@_topic("segments")
def segments(tables: dict, audience: Audience) -> str:
    """The RFM segments that matter most, with their customers and revenue."""
    lang = audience.lang
    seg = tables["segment_summary"].set_index("segment")
    statements = rfm_statements(tables.get("notes", {}).get("segments") or {}, lang)
    if statements:  # say what the scores cannot tell apart, then every segment there is
        shown = list(seg.index)
    else:
        shown = [s for s in ["champions", "loyal", "at risk", "cannot lose them"]
                 if s in seg.index]
    parts = [say("segment_part", lang, segment=term("segment", s, lang),
                 n=int(seg.loc[s, "customers"]), share=seg.loc[s, "revenue_share"])
             for s in shown]
    if statements:
        return say("segments_checked", lang, statements=join(statements, lang, clauses=True),
                   parts=join(parts, lang, clauses=True))
    return say("segments", lang, parts=join(parts, lang, clauses=True))


def cluster_description(profile: pd.Series | Mapping, features, lang: str = "en") -> str:
    """The behaviour of one cluster in words: ``order often (5 vs 2), large orders (...)``.

    Parameters
    ----------
    profile : Series or mapping
        One row of :func:`helpers.analysis.clusters.describe_clusters`: for each
        feature ``trait_<feature>`` (``high``, ``low`` or empty), ``median_<feature>``
        and ``overall_median_<feature>``.
    features : sequence of str
        The features in the order they are named.
    lang : {"en", "zh"}
    """
    traits = []
    for feature in features:
        trait = profile.get(f"trait_{feature}")
        if trait not in ("high", "low"):
            continue
        word = term("cluster_trait", f"{feature}_{trait}", lang, default="")
        if not word:
            word = text("cluster_trait", f"other_{trait}", lang, feature=feature)
        traits.append(text("cluster_trait", "versus", lang, trait=word,
                           value=_trait_value(profile[f"median_{feature}"], feature, lang),
                           base=_trait_value(profile[f"overall_median_{feature}"], feature,
                                             lang)))
    if not traits:
        return text("cluster_trait", "typical", lang)
    return ", ".join(traits) if lang_code(lang) == "en" else join(traits, lang)


def _trait_value(value: float, feature: str, lang: str) -> str:
    """A cluster's median of ``feature`` in a sentence: money in the language's habit,
    counts and days whole."""
    if feature in MONEY_COLUMNS:
        return format_money(value, lang)
    return plain_number(float(value), 0)


@_topic("clusters")
def clusters(tables: dict, audience: Audience) -> str:
    """The behaviour clusters, each in words."""
    note, lang = tables["notes"]["clusters"], audience.lang
    if "k" not in note:
        if "min_customers" in note:
            reason = say("clusters_too_few", lang, n=note["customers"], min=note["min_customers"])
        elif note.get("reason_key") == "alike":
            reason = say("clusters_alike", lang, n=note["customers"])
        else:
            reason = note.get("reason", "")
        return say("clusters_none", lang, reason=md_text(reason))
    fitted = note.get("fit_sample", note["customers"])
    on = "" if fitted >= note["customers"] else say("clusters_sampled", lang, n=fitted)
    lines = [say("clusters_intro", lang, n=note["customers"], k=note["k"],
                 sample=note["silhouette_sample"], on=on)]
    features = note.get("features", [])
    lines += [say("cluster_line", lang, group=int(r["cluster"]), n=r["customers"],
                  share=r["revenue_share"],
                  description=md_text(cluster_description(r, features, lang)))
              for r in tables["cluster_profiles"].to_dict("records")]
    return "\n".join(lines)


@_topic("lifecycle")
def lifecycle(tables: dict, audience: Audience) -> str:
    """Customers per lifecycle stage and the windows that define the stages."""
    lang = audience.lang
    summary = tables["lifecycle_summary"].set_index("stage")
    note = tables["notes"]["lifecycle"]
    parts = [say("stage_part", lang, stage=term("stage", s, lang),
                 n=int(summary.loc[s, "customers"])) for s in summary.index]
    return say("lifecycle", lang, as_of=f"{pd.Timestamp(note['as_of']):%Y-%m-%d}",
               new=note["new_months"], at_risk=note["at_risk_months"],
               churn=note["churn_months"], parts=join(parts, lang))


@_topic("ltv")
def ltv(tables: dict, audience: Audience) -> str:
    """Expected lifetime value (BG/NBD and Gamma-Gamma) with its holdout check and
    intervals, or why the data cannot carry it."""
    note, lang = tables["notes"]["ltv"], audience.lang
    if not note.get("shown"):
        return say("ltv_not_shown", lang, reason=md_text(ltv_reason(note, lang)))
    value, bg = tables["ltv"], note["bgnbd"]
    result = say("ltv", lang, n=note["customers"], repeat=note["repeat_customers"],
                 total=value["ltv"].sum(), months=note["months"],
                 discount=note["discount_monthly"], alive=value["p_alive"].median(),
                 gone=int((value["p_alive"] < 0.5).sum()), r=bg["r"], alpha=bg["alpha"],
                 a=bg["a"], b=bg["b"], currency=audience.currency)
    check, history = note["holdout"], note["history"]
    best = check[check["baseline"]]
    result += say("ltv_holdout", lang, split=history["split"], days=history["holdout_days"],
                  predicted=check["model"]["predicted"], actual=check["actual"],
                  error=check["total_error"], rmse=check["model"]["rmse"],
                  improvement=check["improvement"], baseline=best["rmse"],
                  rule=text("note", f"ltv_baseline_{check['baseline']}", lang))
    drawn = note.get("intervals")
    if drawn and note.get("total_ltv_low") is not None:
        result += say("ltv_interval", lang, level=drawn["interval"], low=note["total_ltv_low"],
                      high=note["total_ltv_high"], draws=drawn["draws"],
                      currency=audience.currency)
    elif drawn:
        result += say("ltv_no_intervals", lang)
    if note["repeat_customers"] < 0.2 * note["customers"]:
        result += say("ltv_few_repeat", lang, share=note["repeat_customers"] / note["customers"])
    corr = note.get("frequency_value_correlation")
    if corr is not None and abs(corr) > 0.3:
        result += say("ltv_correlated", lang, corr=corr)
    return result


def _bridge_driver(row: Mapping, lang: str) -> tuple[str, float, str]:
    """The largest driver of a bridge row in words, with its net when a part offsets it."""
    driver = row["driver"]
    amount = row[f"from_{driver}"]
    other = {"new": "lost", "lost": "new", "more": "less", "less": "more"}.get(driver)
    net = (say("bridge_driver_net", lang, other=term("driver", other, lang),
               net=row["driver_net"])
           if other and row[f"from_{other}"] != 0 else "")
    return term("driver", driver, lang), amount, net


@_topic("bridge")
def bridge(tables: dict, audience: Audience) -> str:
    """Why revenue changed: the bridge from the previous period, its largest driver, the
    regions that moved most and those growing from new customers while the others fade;
    or why there is none."""
    note, lang, money = tables["notes"]["bridge"], audience.lang, audience.money
    if not note.get("shown"):
        return say("bridge_not_shown", lang, reason=md_text(bridge_reason(note, lang)))
    table = tables["revenue_bridge"]
    total = table.loc[table["is_total"].astype(bool)].iloc[0]
    pct = (say("bridge_pct", lang, pct=total["change_pct"])
           if pd.notna(total["change_pct"]) else "")
    lines = [say("bridge_total", lang, prev=total["revenue_prev"], now=total["revenue"],
                 change=total["change"], pct=pct, currency=money,
                 prev_period=note["previous"]["period"], period=note["period"])]
    mix = say("bridge_mix", lang, mix=total["from_mix"]) if note.get("mix") else ""
    lines.append(say("bridge_parts", lang, new=total["from_new"], lost=total["from_lost"],
                     more=total["from_more"], less=total["from_less"], mix=mix)
                 + " " * (lang_code(lang) == "en") + say("bridge_meaning", lang))
    if isinstance(total["driver"], str):
        driver, amount, net = _bridge_driver(total, lang)
        lines.append(say("bridge_driver", lang, driver=driver, amount=amount, net=net,
                         currency=money))
    regions = table.loc[~table["is_total"].astype(bool)]
    if len(regions) > 1:
        top = regions.reindex(regions["change"].abs().sort_values(ascending=False).index).head(3)
        items = [say("bridge_region_item", lang, name=md_text(str(name)), change=row["change"],
                     driver=term("driver", row["driver"], lang))
                 for name, row in zip(region_label(top, lang), top.to_dict("records"),
                                      strict=True) if isinstance(row["driver"], str)]
        if items:
            lines.append(say("bridge_regions", lang, unit=audience.unit, items=join(items, lang)))
    eroding = regions.loc[regions["eroding"].astype(bool)]
    growing = int((regions["change"] > 0).sum())
    if len(eroding) >= 4 and len(eroding) >= 0.75 * growing and total["revenue_prev"] > 0:
        # the market's way of buying (few customers come back), not a regional problem
        lines.append(say("bridge_base_market", lang, n=len(eroding), growing=growing,
                         unit=audience.unit, base=total["base_change"] / total["revenue_prev"]))
    elif len(eroding):
        worst = eroding.assign(_r=eroding["base_change"] / eroding["revenue_prev"])
        lines.append(say("bridge_new_hides_losses", lang,
                         names=md_text(name_list(worst.sort_values("_r"), lang))))
    return "\n\n".join(lines)


def _thin_forecasts(table: pd.DataFrame, note: Mapping, audience: Audience) -> str:
    """The regions without a forecast of their own, by reason."""
    lang = audience.lang
    thin = table.loc[~table["is_total"].astype(bool) & ~table["shown"].astype(bool)]
    parts = []
    for key, group in thin.groupby("reason_key", sort=False):
        parts.append(say(f"forecast_thin_{key}", lang, n=len(group), unit=audience.unit,
                         min=note["min_months"], share=note["max_zero_share"], names=md_text(name_list(group, lang))))
    return say("forecast_thin", lang, parts=join(parts, lang, clauses=True)) if parts else ""


@_topic("forecast")
def forecast(tables: dict, audience: Audience) -> str:
    """Where revenue is heading: the next months' forecast with its interval and how that
    interval did on the history; the regions with too little history; or why none."""
    from helpers.analysis.forecast import DRAWS

    note, lang, money = tables["notes"]["forecast"], audience.lang, audience.money
    table = tables["forecast"]
    if not note.get("shown"):
        lines = [say("forecast_not_shown", lang, reason=md_text(forecast_reason(note, lang)))]
    else:
        total = table.loc[table["is_total"].astype(bool)].iloc[0]
        window = f"{pd.Timestamp(note['first_day']):%Y-%m-%d} – {pd.Timestamp(note['last_day']):%Y-%m-%d}"
        year_ago = (say("forecast_year_ago", lang, amount=total["revenue_year_ago"],
                        change=total["forecast_change"])
                    if pd.notna(total["forecast_change"]) else "")
        level = note["interval"]
        lines = [say("forecast_total", lang, months=note["horizon"], window=window,
                     forecast=total["forecast"], low=total["forecast_low"],
                     high=total["forecast_high"], level=level, currency=money,
                     year_ago=year_ago)
                 + " " * (lang_code(lang) == "en")
                 + say("forecast_method", lang, model=total["model"], draws=DRAWS)]
        checked = say("forecast_backtest", lang, origins=int(total["backtest_origins"]),
                      months=note["horizon"], covered=int(total["backtest_covered"]),
                      coverage=total["backtest_coverage"], level=level,
                      error=total["backtest_error"])
        if total["backtest_coverage"] < level - 0.1:
            checked += say("forecast_narrow", lang)
        elif total["backtest_coverage"] >= min(1.0, level + 0.15) and total[
                "backtest_origins"] >= 8:
            checked += say("forecast_wide", lang)
        lines.append(checked)
    if note["regions"] > 1:
        if note["regions_shown"]:
            lines.append(say("forecast_regions", lang, shown=note["regions_shown"],
                             n=note["regions"], unit=audience.unit,
                             covered=note["pooled_covered"], origins=note["pooled_origins"],
                             coverage=note["pooled_coverage"]))
        thin = _thin_forecasts(table, note, audience)  # the others, by reason
        if thin:
            lines.append(thin)
    return "\n\n".join(lines)


@_topic("partners")
def partners(tables: dict, audience: Audience) -> str:
    """Channel partners per A/B/C tier and the thresholds of the score."""
    summary, lang = tables["partner_summary"], audience.lang
    if summary.empty:
        return say("partners_none", lang)
    parts = [say("partner_part", lang, tier=r.tier, n=r.partners, share=r.revenue_share)
             for r in summary.itertuples()]
    incomplete = int(summary["incomplete"].sum())
    points = audience.partner_points
    return (say("partners", lang, a=points["A"], b=points["B"],
                parts=join(parts, lang, clauses=True))
            + (say("partners_incomplete", lang, n=incomplete) if incomplete else "")
            + partner_balance(tables["notes"].get("partners"), lang))


# The category mix and cohort retention (their own module, registered here).
from helpers.text.narrative.mix import TOPICS as _MIX_TOPICS  # noqa: E402

TOPICS.update(_MIX_TOPICS)
# the topics of who the customers are and how they buy register themselves on import
from helpers.text.narrative import buyers as _buyers  # noqa: E402,F401
