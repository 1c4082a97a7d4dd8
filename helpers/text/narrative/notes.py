"""The notes of the analyses in words: how a method was computed and why it fell back.

The analysis records keys and numbers (``reason_key``, ``weights``,
``eps_km`` ...; see :mod:`helpers.analysis.hotspots`, :mod:`~helpers.analysis.gaps`,
:mod:`~helpers.analysis.isolation`, :mod:`~helpers.analysis.ltv` and
:func:`helpers.analysis.monitor.compare_runs`). This module says them in English or
Chinese: one function per note for the report, and :func:`note_texts`, which adds the
English sentences ``insight_notes.json`` holds beside the keys.
"""

from __future__ import annotations

from collections.abc import Mapping

from helpers.text.lookup import label, lang_code, say, text
from helpers.text.narrative.tiers import partner_balance

__all__ = [
    "neighbours_text",
    "hotspot_reason",
    "baseline_reason",
    "gap_model_reason",
    "isolation_method",
    "isolation_reason",
    "ltv_reason",
    "bridge_reason",
    "forecast_reason",
    "rfm_statements",
    "warning_texts",
    "note_texts",
]


def _note(key: str, lang: str, **values) -> str:
    return text("note", key, lang, **values)


def neighbours_text(note: Mapping, lang: str = "en") -> str:
    """How the hot-spot statistics chose each region's neighbours (``weights``, ``lonely``, ``k``).

    ``note`` is the ``info`` of :func:`helpers.analysis.hotspots.hotspots` or
    :func:`~helpers.analysis.hotspots.region_weights`. Raises ValueError for weights
    the catalog does not name.
    """
    if note.get("weights") == "contiguity":
        lonely = int(note.get("lonely") or 0)
        return say("neighbours_contiguity", lang) + (
            say("neighbours_lonely", lang, n=lonely) if lonely else "")
    if note.get("weights") == "knn":
        return say("neighbours_knn", lang, k=int(note["k"]))
    raise ValueError(f"no words for the spatial weights {note.get('weights')!r}")


def baseline_reason(coverage: Mapping, lang: str = "en") -> str:
    """How much of a comparison window the data cover (one window of
    :func:`helpers.analysis.kpis.baselines`: ``period``, ``days``, ``days_covered``,
    ``min_coverage``)."""
    return _note("baseline_coverage", lang, covered=coverage["days_covered"],
                 days=coverage["days"], period=coverage["period"],
                 min=coverage["min_coverage"])


def hotspot_reason(note: Mapping, lang: str = "en") -> str:
    """Why there are no hot-spot statistics (``reason_key`` ``few_regions``, ``centroids`` or
    ``same_value``)."""
    if note["reason_key"] == "few_regions":
        return _note("hotspots_few_regions", lang, regions=note["regions"],
                     min_regions=note["min_regions"])
    if note["reason_key"] == "centroids":
        return _note("hotspots_centroids", lang, centroids=note["centroids"],
                     customers=note["customers"], regions=note["regions"],
                     min_regions=note["min_regions"])
    if note["reason_key"] == "same_value":
        value = note["value"] if lang_code(lang) == "en" else label(note["value"], lang)
        return _note("hotspots_same_value", lang, value=value)
    raise ValueError(f"unknown hot-spot reason {note['reason_key']!r}")


def gap_model_reason(note: Mapping, lang: str = "en") -> str:
    """Why the expected customers fell back to the allocation, or why there are none.

    ``reason_key`` of :func:`helpers.analysis.gaps.expected_customers` (``few_regions``,
    ``few_customers``, ``singular``, ``diverged``, ``not_converged``, ``non_finite``)
    or ``no_reference`` (no population and GDP at this level).
    """
    key = note["reason_key"]
    values = {"few_regions": {"regions": note.get("regions")},
              "few_customers": {"customers": note.get("customers")},
              "not_converged": {"max_iter": note.get("max_iter")}}.get(key, {})
    return _note(f"gaps_{key}", lang, **values)


def isolation_method(note: Mapping, lang: str = "en") -> str:
    """DBSCAN's settings (``eps_km``, ``min_customers``) in words."""
    return say("isolation_method", lang, eps=note["eps_km"], min=note["min_customers"])


def isolation_reason(note: Mapping, lang: str = "en") -> str:
    """Why no customer was checked for isolation (``reason_key`` ``few_located`` or
    ``centroids``)."""
    if note["reason_key"] == "centroids":
        return _note("isolation_centroids", lang, located=note["located"],
                     centroids=note["centroids"])
    if note["reason_key"] != "few_located":
        raise ValueError(f"unknown isolation reason {note['reason_key']!r}")
    return _note("isolation_few_located", lang, located=note["located"])


def ltv_reason(note: Mapping, lang: str = "en") -> str:
    """Why lifetime value is not shown (``reason_key`` of
    :func:`helpers.analysis.ltv.lifetime_value`), with the numbers that decided it."""
    key, gate = note["reason_key"], note.get("gate", {})
    history, check = note.get("history", {}), note.get("holdout", {})
    values: dict = {}
    if key == "short_history":
        values = {"days": history["history_days"], "calibration": gate["min_calibration_months"],
                  "holdout": gate["min_holdout_months"]}
    elif key == "few_repeat":
        values = {"repeat": note["repeat_customers"],
                  "min": note.get("min_repeat_customers", gate.get("min_repeat_customers"))}
    elif key == "rare_repeat":
        values = {"repeat": note["repeat_customers"], "share": note["repeat_share"],
                  "min": gate["min_repeat_share"]}
    elif key == "holdout_not_fitted":
        values = {"split": history["split"], "repeat": check["repeat_customers"]}
    elif key == "holdout_worse":
        best = check[check["baseline"]]
        values = {"split": history["split"], "days": history["holdout_days"],
                  "rmse": check["model"]["rmse"], "baseline": best["rmse"],
                  "rule": _note(f"ltv_baseline_{check['baseline']}", lang)}
    elif key == "holdout_off":
        values = {"split": history["split"], "days": history["holdout_days"],
                  "predicted": check["model"]["predicted"], "actual": check["actual"],
                  "tolerance": check["tolerance"]}
    return _note(f"ltv_{key}", lang, **values)


def rfm_statements(note: Mapping, lang: str = "en") -> list[str]:
    """What the RFM scores cannot tell apart (:func:`helpers.analysis.segments.rfm_information`):
    one statement per measure with one value for everyone, then per large tie."""
    out = [_note(f"rfm_uninformative_{measure}", lang, value=note["single_value"][measure])
           for measure in note.get("uninformative", [])]
    out += [_note(f"rfm_tied_{measure}", lang, **tie)
            for measure, tie in (note.get("tied") or {}).items()]
    return out


def warning_texts(warnings, lang: str = "en") -> list[str]:
    """What a run comparison could not compare (:func:`helpers.analysis.monitor.compare_runs`).

    ``warnings`` are dicts with a ``key`` (``same_period``, ``no_region_tables`` with
    ``folder``, ``no_rfm``) and the values their sentence names.
    """
    return [_note(f"comparison_{w['key']}", lang, **{k: v for k, v in w.items() if k != "key"})
            for w in warnings]


def bridge_reason(note: Mapping, lang: str = "en") -> str:
    """Why there is no revenue bridge (:func:`helpers.analysis.bridge.bridge`: the data
    do not cover the previous period)."""
    return baseline_reason(note["previous"], lang)


def forecast_reason(found: Mapping, lang: str = "en") -> str:
    """Why a series has no forecast (``reason_key`` of
    :func:`helpers.analysis.forecast.forecast_series`), with its numbers."""
    key = found["reason_key"]
    if key == "short_history":
        return _note("forecast_short_history", lang, months=int(found["months"]),
                     min=int(found["min_months"]))
    if key == "sparse":
        return _note("forecast_sparse", lang, zeros=int(found["zero_months"]),
                     months=int(found["months"]), share=found["max_zero_share"])
    if key == "failed":
        return _note("forecast_failed", lang)
    raise ValueError(f"unknown forecast reason {key!r}")


def note_texts(notes: Mapping[str, Mapping]) -> dict[str, dict]:
    """Step 4's notes with their English sentences beside the keys, as ``insight_notes.json``
    holds them.

    Parameters
    ----------
    notes : mapping
        Topic -> note: ``growth``, ``hotspots``, ``gaps``, ``isolation`` and ``ltv`` get their
        words; any other topic is kept as it is. Not changed.

    Returns
    -------
    dict
        A copy with, where the keys call for them: ``growth``: ``yoy_reason`` and
        ``recent_reason`` (a window the data do not cover enough); ``hotspots``: ``inference``,
        ``description`` (the neighbours), ``reason``, ``note`` (regions left out),
        ``scope``; ``gaps``: ``reason``, ``scope``, ``inputs`` (population only); ``isolation``: ``method``,
        ``reason``; ``segments``: ``statements`` (what RFM cannot tell apart); ``ltv``:
        ``reason``, ``gammagamma_fallback``; ``bridge`` and ``forecast``: ``reason``; ``extent``
        and ``no_region``: ``text`` (the
        areas outside the market; the customers in no region row by reason).
    """
    out = {topic: dict(note) for topic, note in notes.items()}
    for topic, why in (("bridge", bridge_reason), ("forecast", forecast_reason)):
        if topic in out and out[topic].get("reason_key"):
            out[topic]["reason"] = why(out[topic])
    growth = out.get("growth")
    if growth is not None:
        for window in ("yoy", "recent"):
            if window in growth and not growth[window]["enough"]:
                growth[f"{window}_reason"] = _note(f"growth_{window}_unmeasured", "en",
                                                   reason=baseline_reason(growth[window]),
                                                   months=growth.get("pop_months"))
    hot = out.get("hotspots")
    if hot is not None:
        hot["inference"] = _note("hotspots_inference", "en")
        if "reason_key" in hot:
            hot["reason"] = hotspot_reason(hot)
        if "weights" in hot:
            hot["description"] = neighbours_text(hot)
        if hot.get("unlocated"):
            hot["note"] = _note("hotspots_unlocated", "en", n=hot["unlocated"])
        if hot.get("scope_key") == "market":
            hot["scope"] = _note("hotspots_market", "en")
    gaps = out.get("gaps")
    if gaps is not None:
        if "reason_key" in gaps:
            gaps["reason"] = gap_model_reason(gaps)
        if gaps.get("scope_key") == "market":
            gaps["scope"] = _note("gaps_market", "en")
        if gaps.get("inputs_key") == "population_only":
            gaps["inputs"] = _note("gaps_population_only", "en")
    extent = out.get("extent")
    if extent is not None and extent.get("reason_key") == "outside_extent":
        extent["text"] = _note("extent_outside", "en", customers=extent["customers"],
                               n=len(extent["areas"]), areas=", ".join(extent["areas"]))
    unplaced = out.get("no_region")
    if unplaced is not None and unplaced.get("reason_key") == "no_region":
        unplaced["text"] = _note("no_region", "en", customers=unplaced["customers"], reasons=", ".join(
            f"{k} {v['customers']}" for k, v in unplaced["reasons"].items()))
    isolation = out.get("isolation")
    if isolation is not None:
        isolation["method"] = isolation_method(isolation)
        if "reason_key" in isolation:
            isolation["reason"] = isolation_reason(isolation)
    rfm = out.get("segments")
    if rfm is not None:
        said = rfm_statements(rfm)
        if said:
            rfm["statements"] = said
    balance = out.get("partners")
    if balance is not None and balance.get("crowded"):
        balance["warning"] = partner_balance(balance, "en").strip()
    ltv = out.get("ltv")
    if ltv is not None:
        if "reason_key" in ltv:
            ltv["reason"] = ltv_reason(ltv)
        if ltv.get("method") == "bgnbd+historical aov":
            ltv["gammagamma_fallback"] = _note("ltv_gammagamma_failed", "en")
    return out
