"""The method and assumptions of a budget proposal, in sentences for a report or ``budget.json``.

The numbers come from :func:`helpers.analysis.budget.method_facts` (and the step that
chose the total); money is named in the project's currency (:class:`Audience`).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from helpers.analysis.budget import PLAYBOOK_NEEDS
from helpers.text.format import money_text
from helpers.text.lookup import join, say, term, text
from helpers.text.narrative.audience import Audience

__all__ = ["BASES", "budget_notes", "budget_rule", "budget_reasons"]

#: The order the rule sentence names the policies in.
_POLICY_ORDER = ("reserve", "hold", "keep", "limit", "give", "free")
_TIER_ORDER = ("core", "emerging", "gap", "declining", "steady")

#: How the new total was chosen: ``budget.total`` as configured, that total scaled to
#: the scope's share of current spend, or current spend x (1 + ``budget.total_change``).
BASES = ("total", "scaled", "change")


def budget_notes(method: Mapping, audience: Audience) -> list[str]:
    """The method and assumptions of a proposal, one sentence each, in ``audience.lang``.

    Parameters
    ----------
    method : mapping
        :func:`helpers.analysis.budget.method_facts` with ``basis`` (one of
        :data:`BASES`), ``total_change`` (for ``change``) and ``period`` (its label).
    audience : Audience
        Language and currency of the sentences.

    Returns
    -------
    list of str
        The basis of the total, current spend, new total, response model,
        responsiveness, how the split is chosen, uncalibrated regions and what
        the expected effect means.
    """
    lang, money = audience.lang, audience.money
    if method["basis"] not in BASES:
        raise ValueError(f"unknown budget basis {method['basis']!r}; expected one of {BASES}")
    basis = say(f"basis_{method['basis']}", lang,
                **({"change": method["total_change"]} if method["basis"] == "change" else {}))
    factors = []
    if method["momentum"]:
        factors.append(say("budget_momentum", lang, momentum=method["momentum"]))
    if method["headroom"]:
        factors.append(say("budget_headroom", lang, headroom=method["headroom"]))
    response = (say("budget_response_m", lang, factors=" x ".join(factors)) if factors
                else say("budget_response_1", lang))
    notes = [budget_rule(method, audience)] if method.get("objective") else []
    low, high = method.get("elasticity_range") or (method["elasticity"], method["elasticity"])
    return notes + [
        say("budget_basis", lang, basis=basis),
        say("budget_current", lang, period=method["period"], current=method["current_total"],
            currency=money),
        say("budget_total", lang, total=method["total"], unit=method["unit"], currency=money),
        say("budget_model", lang, elasticity=method["elasticity"], gain=method["gain"]),
        response,
        say("budget_split", lang, currency=money),
        say("budget_uncalibrated", lang),
        say("budget_expected", lang, low=low, high=high, unit=method["unit"], currency=money),
    ]


def budget_rule(method: Mapping, audience: Audience) -> str:
    """The objective's budget rule in one sentence: which tiers are reserved a test
    budget, held, kept, limited or free (:mod:`helpers.analysis.budget`).

    Parameters
    ----------
    method : mapping
        :func:`helpers.analysis.budget.method_facts` output with ``objective``,
        ``policies``, ``reserve`` and ``max_cut``.
    audience : Audience
    """
    lang, money = audience.lang, audience.money
    policies = method["policies"]
    parts = []
    for policy in _POLICY_ORDER:
        tiers = [t for t in _TIER_ORDER if policies.get(t, "free") == policy]
        if not tiers:
            continue
        names = join([term("tier", t, lang) for t in tiers], lang)
        extra = {}
        if policy == "reserve":
            extra["amounts"] = join([f"{term('tier', t, lang)} "
                                     f"{money_text(method['reserve'].get(t, 0), lang, money)}"
                                     for t in tiers], lang)
        if policy == "limit":
            extra["max_cut"] = method["max_cut"]
        parts.append(say(f"budget_policy_{policy}", lang, tiers=names, **extra))
    title = text("objective_title", method["objective"], lang, currency=money)
    return say("budget_rule", lang, title=title, parts=join(parts, lang, clauses=True))


def budget_reasons(table: pd.DataFrame, method: Mapping, audience: Audience) -> pd.Series:
    """Why each region moves, in words: the ``reason`` key of
    :func:`helpers.analysis.budget.reasons` with the region's playbook, reserve and
    the largest cut.

    Parameters
    ----------
    table : DataFrame
        :func:`helpers.analysis.budget.propose` output (``reason``, ``tier``,
        ``reserve``).
    method : mapping
        :func:`helpers.analysis.budget.method_facts` output (``max_cut``).
    audience : Audience

    Returns
    -------
    Series
        The sentences, indexed like ``table``, named ``reason``.
    """
    lang, money = audience.lang, audience.money
    tiers = table["tier"] if "tier" in table else pd.Series(None, index=table.index)
    reserve = table["reserve"] if "reserve" in table else pd.Series(0.0, index=table.index)
    out = []
    for key, tier, amount in zip(table["reason"], tiers, reserve, strict=True):
        need = PLAYBOOK_NEEDS.get(tier)
        out.append(say(f"budget_reason_{key}", lang, currency=money, reserve=amount,
                       max_cut=method.get("max_cut") or 0.0,
                       need=term("playbook_need", need, lang) if need else "-"))
    return pd.Series(out, index=table.index, name="reason", dtype=object)
