"""The method and assumptions of a budget proposal, in sentences for a report or ``budget.json``.

The numbers come from :func:`helpers.analysis.budget.method_facts` (and the step that
chose the total); money is named in the project's currency (:class:`Audience`).
"""

from __future__ import annotations

from collections.abc import Mapping

from helpers.text.lookup import say
from helpers.text.narrative.audience import Audience

__all__ = ["BASES", "budget_notes"]

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
    return [
        say("budget_basis", lang, basis=basis),
        say("budget_current", lang, period=method["period"], current=method["current_total"],
            currency=money),
        say("budget_total", lang, total=method["total"], unit=method["unit"], currency=money),
        say("budget_model", lang, elasticity=method["elasticity"], gain=method["gain"]),
        response,
        say("budget_split", lang, currency=money),
        say("budget_uncalibrated", lang),
        say("budget_expected", lang),
    ]
