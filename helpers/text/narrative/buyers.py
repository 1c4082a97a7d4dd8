"""Who the customers are and how they buy, in plain words (step 4's ``profiles``,
``buying``, ``seasonality`` and ``discounts`` topics).

The numbers come from :mod:`helpers.analysis.profiles` and :mod:`helpers.analysis.buying`
through :func:`helpers.steps.insight.insight_tables` (tables ``profile_mix``,
``profile_value``, ``buying``, ``seasonality``, ``weekdays``, ``discount_bands``,
``discount_regions`` and their notes). A statement is made only where the test allows it;
otherwise the words say what cannot be computed and why. Every name from the data goes
through :func:`helpers.text.markup.md_text`.
"""

from __future__ import annotations

import math

import pandas as pd

from helpers.text.format import money_text
from helpers.text.lookup import join, label, lang_code, region_label, text
from helpers.text.markup import md_text
from helpers.text.narrative.audience import Audience
from helpers.text.narrative.insight import _topic

__all__ = ["attribute_name", "value_name", "month_name", "region_names", "look_for",
           "profile_evidence", "MARKET_GROUP"]

#: The ``group`` of ``profile_value`` rows for the whole report.
MARKET_GROUP = "market"


def _b(key: str, lang: str, **values) -> str:
    return text("buyers", key, lang, **values)


def _money(value: float, audience: Audience) -> str:
    return money_text(value, audience.lang, audience.currency)


def _pct(share: float) -> str:
    """A share in a sentence; never ``0%`` or ``100%`` for a share that is not."""
    if 0 < share < 0.005:
        return "<1%"
    if 0.995 <= share < 1:
        return ">99%"
    return f"{share:.0%}"


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def attribute_name(attribute: str, lang: str) -> str:
    """An attribute's name in a sentence (``channel`` / 客户类型)."""
    name = label(attribute, lang)
    if lang_code(lang) == "en" and name[:1].isupper() and not name[1:2].isupper():
        return name[0].lower() + name[1:]
    return name


def value_name(value, lang: str) -> str:
    """An attribute value as shown: the data's text, or the catalog's word for the
    values grouped as other. Not escaped."""
    from helpers.analysis.profiles import OTHER

    return _b("other_value", lang) if value == OTHER else str(value)


def month_name(month, lang: str) -> str:
    """``March`` / ``3月`` for month 3; empty for a missing month."""
    if month is None or (isinstance(month, float) and math.isnan(month)) or pd.isna(month):
        return ""
    return _b(f"month_{int(month)}", lang)


def region_names(frame: pd.DataFrame, lang: str, market: str | None = None) -> pd.Series:
    """Region names of a table's rows in ``lang``; the row of the whole report (``region``
    equal to ``market``) named as such. Not escaped."""
    names = region_label(frame, lang) if len(frame) else pd.Series(dtype=object)
    if market is not None and len(frame):
        names = names.where(frame["region"].astype(str) != str(market),
                            _b("whole_report", lang))
    return names


def _market(tables: dict) -> str:
    return tables["notes"].get("profiles", {}).get("market", "ALL")


# --------------------------------------------------------------------------- who they are


def look_for(value: pd.DataFrame) -> pd.DataFrame:
    """Per region, the attribute values significantly over-represented among its own top
    customers (``profile_value`` rows of group ``region``), strongest first."""
    if value is None or not len(value):
        return pd.DataFrame(columns=list(getattr(value, "columns", [])))
    found = value.loc[(value["group"] == "region") & value["significant"].fillna(False).astype(bool)
                      & (value["top_index"] > 100)]
    return found.sort_values(["region", "top_index"], ascending=[True, False], kind="mergesort")


def profile_evidence(value: pd.DataFrame, lang: str, top_share: float = 0.2) -> dict[str, str]:
    """Region -> why to look for more customers like its top ones (:func:`look_for`), in
    ``lang``: step 5's evidence of the profile action. Plain text (the action list is a
    table and an export)."""
    found = look_for(value)
    said = {}
    for region, group in found.groupby("region", sort=False):
        items = [_b("evidence_item", lang, value=value_name(r["value"], lang),
                    attribute=attribute_name(r["attribute"], lang),
                    top_share=_pct(r["top_share"]), share=_pct(r["buyer_share"]))
                 for r in group.head(3).to_dict("records")]
        said[str(region)] = _b("profile_evidence", lang, top=_pct(top_share),
                               items=join(items, lang, clauses=True))
    return said


@_topic("profiles")
def profiles(tables: dict, audience: Audience) -> str:
    """Each region's customer mix against the market's, the values over-represented among
    the top customers, and whom each region should look for next."""
    note, lang = tables["notes"].get("profiles", {}), audience.lang
    lines = []
    left = note.get("left_out") or {}
    if left:
        items = [_b(f"left_out_{why}", lang, name=attribute_name(a, lang))
                 for a, why in left.items()]
        lines.append(_b("profiles_left_out", lang, items=join(items, lang)))
    if not note.get("attributes"):
        return "\n\n".join([_b("profiles_none", lang), *lines])
    mix, value = tables["profile_mix"], tables["profile_value"]
    reference = "reference_market" if note.get("reference") == "market" else "reference_scope"
    lines.insert(0, _b("profiles_intro", lang,
                       attributes=join([attribute_name(a, lang) for a in note["attributes"]],
                                       lang),
                       customers=note["customers"], buyers=note["buyers"],
                       reference=_b(reference, lang), tested=int(mix["p"].notna().sum()),
                       cells=len(mix), alpha=note["alpha"]))
    found = mix.loc[mix["significant"].fillna(False).astype(bool)].sort_values("p_adj")
    if len(found):
        names = region_names(found, lang)
        items = [_b("mix_item", lang, region=md_text(str(n)),
                    value=md_text(value_name(r["value"], lang)),
                    attribute=attribute_name(r["attribute"], lang),
                    share=_pct(r["share_in_region"]), market=_pct(r["share_in_market"]),
                    index=r["share_index"])
                 for n, r in zip(names.head(6), found.head(6).to_dict("records"), strict=True)]
        lines.append(_b("mix_found", lang, n=len(found), items=join(items, lang, clauses=True)))
    else:
        lines.append(_b("mix_none", lang))
    top = _pct(note["top_share"])
    whole = value.loc[value["group"] == MARKET_GROUP] if len(value) else value
    over = (whole.loc[whole["significant"].fillna(False).astype(bool) & (whole["top_index"] > 100)]
            .sort_values("top_index", ascending=False) if len(whole) else whole)
    if len(over):
        items = [_b("value_item", lang, value=md_text(value_name(r["value"], lang)),
                    attribute=attribute_name(r["attribute"], lang),
                    top_share=_pct(r["top_share"]), share=_pct(r["buyer_share"]),
                    mean=_money(r["mean_revenue"], audience),
                    low=_money(r["mean_low"], audience), high=_money(r["mean_high"], audience))
                 for r in over.head(4).to_dict("records")]
        lines.append(_b("value_top", lang, top=top, items=join(items, lang, clauses=True)))
    else:
        lines.append(_b("value_none", lang, top=top))
    wanted = look_for(value)
    if len(wanted):
        items = []
        for _region, group in wanted.groupby("region", sort=False):
            name = region_names(group.head(1), lang).iloc[0]
            values = join([md_text(value_name(v, lang)) for v in group["value"].head(3)], lang)
            items.append(_b("look_item", lang, region=md_text(str(name)), values=values))
        lines.append(_b("look_for", lang, items=join(items[:8], lang, clauses=True)))
    else:
        lines.append(_b("look_none", lang))
    return "\n\n".join(lines)


# --------------------------------------------------------------------------- how they buy


@_topic("buying")
def buying(tables: dict, audience: Audience) -> str:
    """Purchase days per customer, the days between purchases and the order sizes."""
    note, lang = tables["notes"].get("buying", {}), audience.lang
    summary = tables["buying"]
    if note.get("reason_key") == "no_orders" or not len(summary):
        return _b("buying_none", lang)
    least = note["min_count"]
    whole = summary.iloc[0]
    lines = []
    if pd.notna(whole["days_median"]):
        same = whole["days_q1"] == whole["days_q3"]
        lines.append(_b("buying_days_same" if same else "buying_days", lang, buyers=int(whole["buyers"]),
                        median=whole["days_median"], q1=whole["days_q1"], q3=whole["days_q3"],
                        once=_pct(whole["one_day_share"])))
    else:
        lines.append(_b("buying_days_few", lang, buyers=int(whole["buyers"]), min=least))
    if note.get("intervals", 0) == 0:
        lines.append(_b("buying_no_intervals", lang))
    elif pd.isna(whole["interval_median"]):
        lines.append(_b("buying_few_intervals", lang, n=int(whole["intervals"]), min=least))
    else:
        lines.append(_b("buying_intervals", lang, median=whole["interval_median"],
                        q1=whole["interval_q1"], q3=whole["interval_q3"],
                        n=int(whole["intervals"])))
        rest = summary.iloc[1:].dropna(subset=["interval_median"])
        if len(rest) >= 2 and rest["interval_median"].nunique() > 1:
            fast = rest.loc[rest["interval_median"].idxmin()]
            slow = rest.loc[rest["interval_median"].idxmax()]
            names = region_names(pd.DataFrame([fast, slow]), lang)
            lines.append(_b("buying_soonest", lang, fast=md_text(str(names.iloc[0])),
                            fast_days=fast["interval_median"], slow=md_text(str(names.iloc[1])),
                            slow_days=slow["interval_median"]))
    if pd.notna(whole["order_median"]):
        key = ("buying_orders" if whole["order_mean"] > 1.5 * whole["order_median"]
               else "buying_orders_even")
        lines.append(_b(key, lang, median=_money(whole["order_median"], audience),
                        q1=_money(whole["order_q1"], audience),
                        q3=_money(whole["order_q3"], audience),
                        mean=_money(whole["order_mean"], audience)))
        rest = summary.iloc[1:].dropna(subset=["order_median"])
        if len(rest) >= 2 and rest["order_median"].nunique() > 1:
            low = rest.loc[rest["order_median"].idxmin()]
            high = rest.loc[rest["order_median"].idxmax()]
            names = region_names(pd.DataFrame([low, high]), lang)
            lines.append(_b("buying_orders_range", lang,
                            low=_money(low["order_median"], audience),
                            low_region=md_text(str(names.iloc[0])),
                            high=_money(high["order_median"], audience),
                            high_region=md_text(str(names.iloc[1]))))
    if (summary.iloc[1:][["days_median", "interval_median", "order_median"]].isna().any(axis=1)
            .any()):
        lines.append(_b("buying_min", lang, min=least))
    return "\n\n".join(lines)


@_topic("seasonality")
def seasonality(tables: dict, audience: Audience) -> str:
    """The month-of-year pattern, stated only when it is significant, and the days of the
    week with what the order dates can tell."""
    note, lang = tables["notes"].get("seasonality", {}), audience.lang
    season = tables["seasonality"]
    lines = []
    whole = season.iloc[0] if len(season) else None
    if whole is None or whole["reason_key"] == "short_history":
        lines.append(_b("season_short", lang, months=note.get("months", 0),
                        min=note.get("min_months", 24)))
    elif whole["reason_key"] == "months_without_revenue":
        lines.append(_b("season_gaps", lang, months=note["months"]))
    else:
        span = {"months": note["months"], "first": note["first"], "last": note["last"],
                "p": _p(whole["p"])}
        if bool(whole["significant"]):
            lines.append(_b("season_found", lang, **span,
                            peak=month_name(whole["peak_month"], lang),
                            peak_index=whole["peak_index"],
                            low=month_name(whole["low_month"], lang),
                            low_index=whole["low_index"]))
        else:
            lines.append(_b("season_not", lang, **span))
        own = season.iloc[1:]
        own = own.loc[own["significant"].fillna(False).astype(bool)]
        if len(own):
            names = region_names(own, lang)
            items = [_b("season_item", lang, region=md_text(str(n)),
                        peak=month_name(r["peak_month"], lang),
                        low=month_name(r["low_month"], lang))
                     for n, r in zip(names.head(8), own.head(8).to_dict("records"), strict=True)]
            lines.append(_b("season_regions", lang, items=join(items, lang)))
    days = tables["weekdays"]
    week = tables["notes"].get("weekdays", {})
    if not len(days) or int(days.iloc[0]["orders"]) == 0:
        lines.append(_b("weekdays_no_orders", lang))
        return "\n\n".join(lines)
    lines.append(_b("weekdays_times" if week.get("has_time") else "weekdays_dates", lang))
    whole = days.iloc[0]
    shares = [float(whole[d]) for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")]
    busiest = max(range(7), key=lambda i: shares[i])
    lines.append(_b("weekdays_share", lang, weekend=_pct(whole["weekend_share"]),
                    orders=int(whole["orders"]), day=_b(f"weekday_{busiest}", lang),
                    share=_pct(shares[busiest])))
    differ = days.iloc[1:]
    differ = differ.loc[differ["significant"].fillna(False).astype(bool)]
    lines.append(_b("weekdays_regions", lang, names=md_text(join(
        [str(n) for n in region_names(differ.head(8), lang)], lang))) if len(differ)
        else _b("weekdays_none", lang))
    return "\n\n".join(lines)


def _direction(rho, p, kind: str, lang: str) -> str:
    if rho is None or p is None or p >= 0.05:
        return _b(f"{kind}same", lang)
    return _b(f"{kind}more" if rho > 0 else f"{kind}less", lang)


@_topic("discounts")
def discounts(tables: dict, audience: Audience) -> str:
    """How discounted lines differ from full-price ones, and the caveat of observation."""
    note, lang = tables["notes"].get("discount", {}), audience.lang
    if not note.get("computed"):
        return _b(f"discount_{note.get('reason_key', 'no_discount_column')}", lang)
    lines = [_b("discount_found", lang, lines=note["lines"],
                discounted=_pct(note["discounted_lines"] / note["lines"]),
                revenue=_pct(note["discounted_revenue_share"]))]
    if note.get("spearman_quantity") is not None:
        lines.append(_b("discount_quantity", lang, rho=note["spearman_quantity"],
                        p=_p(note["spearman_quantity_p"]),
                        direction=_direction(note["spearman_quantity"],
                                             note["spearman_quantity_p"], "quantity_", lang)))
    if note.get("spearman_value") is not None:
        lines.append(_b("discount_value", lang, rho=note["spearman_value"],
                        p=_p(note["spearman_value_p"]),
                        direction=_direction(note["spearman_value"], note["spearman_value_p"],
                                             "", lang)))
    lines.append(_b("discount_only", lang, n=note["discount_only_customers"],
                    share=_pct(note["discount_only_revenue_share"])))
    if note.get("percent"):
        lines.append(_b("discount_percent", lang))
    if note.get("out_of_range"):
        lines.append(_b("discount_out_of_range", lang, n=note["out_of_range"]))
    lines.append(_b("discount_caveat", lang))
    return " ".join(lines) if lang_code(lang) == "en" else "".join(lines)
