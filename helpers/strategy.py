"""Region tiers, the playbook and action lists (step 5, strategy).

A region's tier says what kind of market it is for us; the playbook says what
to do in each kind; the action list joins the two with owners and the evidence
(the numbers that put the region in its tier).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = [
    "TIERS",
    "PLAYBOOK",
    "SEGMENT_PLAYBOOK",
    "region_tiers",
    "playbook",
    "action_list",
    "segment_actions",
]

#: Tier names in priority order (the order of action lists).
TIERS = ["core", "declining", "emerging", "gap", "steady"]

_RULE_KEYS = ("hot_share", "hot_growth", "emerging_growth", "declining_growth", "gap_ratio")

#: tier -> actions, each with the role that owns it and the KPI that shows progress.
PLAYBOOK: dict[str, list[dict[str, str]]] = {
    "core": [
        {"action": "Invest and deepen: account plans for the top customers and cross-selling of "
                   "the wider product range",
         "owner": "regional sales manager", "kpi": "revenue growth YoY"},
        {"action": "Add sales reps or technical support where accounts per rep are highest",
         "owner": "sales director", "kpi": "active customers per rep"},
        {"action": "Recruit local partners (integrators, installers) in cities not yet covered",
         "owner": "channel manager", "kpi": "new customers"},
        {"action": "Run local events: product days and installer training",
         "owner": "marketing", "kpi": "qualified leads from events"},
    ],
    "emerging": [
        {"action": "Educate the market: case studies and webinars for integrators",
         "owner": "marketing", "kpi": "qualified leads"},
        {"action": "Test cheaply online (search and WeChat ads) before spending on field sales",
         "owner": "marketing", "kpi": "cost per qualified lead"},
        {"action": "Run one partner pilot: sign one local partner with a six-month target",
         "owner": "channel manager", "kpi": "pilot partner revenue against target"},
    ],
    "gap": [
        {"action": "Investigate first: competition, regulation, logistics or simply no coverage?",
         "owner": "sales operations analyst", "kpi": "written diagnosis"},
        {"action": "Run small surveys or calls with 10-20 prospects",
         "owner": "marketing", "kpi": "response rate and qualified leads"},
        {"action": "Recruit partners: shortlist and approach local distributors and integrators",
         "owner": "channel manager", "kpi": "partners signed"},
    ],
    "declining": [
        {"action": "Defend key accounts: visit the top customers and resolve service issues",
         "owner": "regional sales manager", "kpi": "revenue retained from the top accounts"},
        {"action": "Diagnose the causes with win/loss interviews",
         "owner": "sales operations analyst", "kpi": "interviews completed and causes ranked"},
    ],
    "steady": [
        {"action": "Maintain: keep coverage and service levels, review the region quarterly",
         "owner": "regional sales manager", "kpi": "revenue and active customers"},
    ],
}

#: RFM segment -> the campaign for its customers (one per segment).
SEGMENT_PLAYBOOK: dict[str, dict[str, str]] = {
    "champions": {"campaign": "vip care",
                  "action": "VIP care: named contact, early access to new products, referral ask",
                  "owner": "account manager", "kpi": "retention and referrals"},
    "loyal": {"campaign": "upsell",
              "action": "Upsell and cross-sell the wider range; invite to partner programme",
              "owner": "account manager", "kpi": "revenue per customer"},
    "potential loyalists": {"campaign": "develop",
                            "action": "Develop: training offer and a volume incentive",
                            "owner": "sales rep", "kpi": "order frequency"},
    "new customers": {"campaign": "nurture",
                      "action": "Nurture: onboarding call, installation support, second-order offer",
                      "owner": "sales rep", "kpi": "second order within 90 days"},
    "promising": {"campaign": "nurture",
                  "action": "Nurture: product information and a follow-up call",
                  "owner": "sales rep", "kpi": "second order within 90 days"},
    "need attention": {"campaign": "check-in",
                       "action": "Check-in call: needs, open projects, limited-time offer",
                       "owner": "sales rep", "kpi": "orders in the next quarter"},
    "about to sleep": {"campaign": "reactivation",
                       "action": "Low-cost reactivation: newsletter and a targeted offer",
                       "owner": "marketing", "kpi": "reactivated customers"},
    "cannot lose them": {"campaign": "win back",
                         "action": "Win back now: senior visit, find out what changed, tailored offer",
                         "owner": "regional sales manager", "kpi": "customers won back"},
    "at risk": {"campaign": "win back",
                "action": "Win back: personal call, service review, tailored offer",
                "owner": "sales rep", "kpi": "customers won back"},
    "hibernating": {"campaign": "reactivation",
                    "action": "Low-cost reactivation: email or WeChat campaign only",
                    "owner": "marketing", "kpi": "reactivated customers"},
    "lost": {"campaign": "reactivation",
             "action": "Low-cost reactivation: include in mass mailings, no sales time",
             "owner": "marketing", "kpi": "reactivated customers"},
}

# Roles whose actions are carried out by the territory's sales reps when known.
_SALES_ROLES = {"regional sales manager", "sales rep"}


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _signed_pct(value: float) -> str:
    return f"{value:+.1%}"


def _is_number(value: object) -> bool:
    return value is not None and not pd.isna(value)


def _classify(row: Mapping[str, object], rules: Mapping[str, float],
              min_customers: int) -> tuple[str, str]:
    """The tier of one region and the sentence that explains it."""
    customers = int(row["customers"])
    if customers == 0:
        return "gap", "no customers"
    share = float(row["share"]) if _is_number(row.get("share")) else math.nan
    growth = float(row["growth_yoy"]) if _is_number(row.get("growth_yoy")) else math.nan
    revenue = float(row.get("revenue", math.nan))
    revenue_prev = float(row.get("revenue_prev", math.nan))
    new_revenue = revenue_prev <= 0 < revenue
    small = bool(row["small_sample"]) if "small_sample" in row else customers < min_customers
    growth_text = ("growth n/a (no revenue in the previous period)" if new_revenue
                   else "growth n/a" if math.isnan(growth) else f"growth {_signed_pct(growth)}")
    notes: list[str] = []

    if small:
        notes.append(f"only {customers} customers (< {min_customers}): growth not "
                     "trusted, so no core/declining/emerging tier")
    else:
        hot_share, hot_growth = rules["hot_share"], rules["hot_growth"]
        if share >= hot_share and (new_revenue or growth >= hot_growth):
            rhs = "" if new_revenue else f" ≥ {_signed_pct(hot_growth)}"
            return "core", f"share {_pct(share)} ≥ {_pct(hot_share)}, {growth_text}{rhs}"
        if growth <= rules["declining_growth"]:
            return "declining", (f"growth {_signed_pct(growth)} ≤ "
                                 f"{_signed_pct(rules['declining_growth'])} (share {_pct(share)})")
        if new_revenue or growth >= rules["emerging_growth"]:
            rhs = "" if new_revenue else f" ≥ {_signed_pct(rules['emerging_growth'])}"
            return "emerging", f"{growth_text}{rhs}, share {_pct(share)} < {_pct(hot_share)}"

    ratio = row.get("gap_ratio")
    if _is_number(ratio) and float(ratio) < rules["gap_ratio"]:
        reason = (f"{customers} customers vs {float(row['expected_customers']):.1f} expected "
                  f"from population and GDP (ratio {float(ratio):.2f} < {rules['gap_ratio']:g})"
                  if _is_number(row.get("expected_customers"))
                  else f"gap ratio {float(ratio):.2f} < {rules['gap_ratio']:g}")
        return "gap", "; ".join([reason, *notes])

    facts = [f"share {_pct(share)}" if not math.isnan(share) else "share n/a"]
    if not small:
        facts.append(growth_text)
    if _is_number(ratio):
        facts.append(f"gap ratio {float(ratio):.2f} ≥ {rules['gap_ratio']:g}")
    return "steady", "; ".join([", ".join(facts) + ": no rule met", *notes])


def region_tiers(kpis: pd.DataFrame, *, rules: Mapping[str, float],
                 min_customers: int = 5) -> pd.DataFrame:
    """Put each region in a tier and say why, with the numbers.

    Rules are checked in this order; the first one met wins:

    1. ``customers == 0``: **gap** ("no customers", a blank region).
    2. ``share >= hot_share`` and ``growth_yoy >= hot_growth``: **core**.
    3. ``growth_yoy <= declining_growth``: **declining**.
    4. ``growth_yoy >= emerging_growth``: **emerging**.
    5. ``gap_ratio < gap_ratio`` (when the KPI table has ``gap_ratio``): **gap**.
    6. otherwise **steady**.

    Revenue in the period with none in the previous one (growth undefined)
    counts as meeting the growth condition of rules 2 and 4. Rules 2-4 are
    skipped for ``small_sample`` regions (fewer than ``min_customers``
    customers): their growth is not trusted, and the reason says so. A
    missing growth fails rules 2-4.

    Parameters
    ----------
    kpis : DataFrame
        :func:`helpers.kpi.region_kpis` output (``region``, ``customers``,
        ``revenue``, ``revenue_prev``, ``growth_yoy``, ``share``; optional
        ``small_sample``, ``gap_ratio``, ``expected_customers``).
    rules : mapping
        ``hot_share``, ``hot_growth``, ``emerging_growth``,
        ``declining_growth`` and ``gap_ratio`` (``workbook.yaml`` ``strategy:``).
    min_customers : int
        Used for ``small_sample`` when the KPI table lacks that column, and in
        the reason text.

    Returns
    -------
    DataFrame
        A copy of ``kpis`` with ``tier`` and ``tier_reason`` added.
    """
    missing = [key for key in _RULE_KEYS if key not in rules]
    if missing:
        raise KeyError(f"strategy rules missing: {missing}")
    rules = {key: float(rules[key]) for key in _RULE_KEYS}
    results = [_classify(row, rules, min_customers) for row in kpis.to_dict("records")]
    tiers = [tier for tier, _ in results]
    reasons = [reason for _, reason in results]
    return kpis.assign(tier=pd.Series(tiers, index=kpis.index, dtype=object),
                       tier_reason=pd.Series(reasons, index=kpis.index, dtype=object))


def playbook(tiers: pd.DataFrame | None = None) -> pd.DataFrame:
    """The playbook as a table: ``tier``, ``action``, ``owner``, ``kpi``, ``regions``.

    Parameters
    ----------
    tiers : DataFrame, optional
        :func:`region_tiers` output; when given only the tiers present are
        listed and ``regions`` names their regions (comma separated).
    """
    present = TIERS if tiers is None else [t for t in TIERS if t in set(tiers["tier"])]
    rows = []
    for tier in present:
        regions = "" if tiers is None else ", ".join(
            map(str, tiers.loc[tiers["tier"] == tier, "region"]))
        for item in PLAYBOOK[tier]:
            rows.append({"tier": tier, **item, "regions": regions})
    return pd.DataFrame(rows, columns=["tier", "action", "owner", "kpi", "regions"])


def _reps_by_territory(reps: pd.DataFrame) -> dict[str, str]:
    label = reps["name"].astype(str)
    if "sales_rep_id" in reps.columns:
        label = label + " (" + reps["sales_rep_id"].astype(str) + ")"
    frame = pd.DataFrame({"region": reps["region"], "label": label}).dropna()
    return frame.groupby("region")["label"].agg(", ".join).to_dict()


def action_list(tiers: pd.DataFrame, *, reps: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per region and playbook action, with owner, KPI and evidence.

    Parameters
    ----------
    tiers : DataFrame
        :func:`region_tiers` output. Its ``territory`` column (or, for
        territory-level KPIs, the ``region`` itself) links regions to reps.
    reps : DataFrame, optional
        ``sales_rep_id``, ``name``, ``region`` (the territory they cover).
        When given, actions owned by a sales role (regional sales manager,
        sales rep) are assigned to the reps of the region's territory by
        name; marketing, channel and operations actions keep their role.

    Returns
    -------
    DataFrame
        ``region``, ``territory`` (NA when unknown), ``tier``, ``action``,
        ``owner_role``, ``owner`` (rep names with ids, or the role when no rep
        covers the territory), ``kpi`` and ``evidence`` (the tier reason).
        Rows follow the tier order core, declining, emerging, gap, steady and
        within a tier the order of ``tiers``.
    """
    columns = ["region", "territory", "tier", "action", "owner_role", "owner", "kpi",
               "evidence"]
    if "territory" in tiers.columns:
        territory = tiers["territory"]
    elif "level" in tiers.columns:
        territory = tiers["region"].where(tiers["level"] == "territory")
    else:
        territory = pd.Series(pd.NA, index=tiers.index)
    owners = _reps_by_territory(reps) if reps is not None and not reps.empty else {}
    rows = []
    for position, (row, terr) in enumerate(zip(tiers.to_dict("records"), territory,
                                               strict=True)):
        terr = None if pd.isna(terr) else terr
        for item in PLAYBOOK[row["tier"]]:
            role = item["owner"]
            owner = owners.get(terr, role) if role in _SALES_ROLES else role
            rows.append({"region": row["region"], "territory": terr, "tier": row["tier"],
                         "action": item["action"], "owner_role": role, "owner": owner,
                         "kpi": item["kpi"], "evidence": row.get("tier_reason", ""),
                         "_tier": TIERS.index(row["tier"]), "_pos": position})
    if not rows:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame(rows).sort_values(["_tier", "_pos"], kind="mergesort")
    return frame[columns].reset_index(drop=True)


_CUSTOMER_COLUMNS = ["name", "province", "city", "territory", "sales_rep_id", "channel",
                     "contact", "phone", "email"]


def segment_actions(rfm_table: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """The campaign list: one row per scored customer with the action for its segment.

    Parameters
    ----------
    rfm_table : DataFrame
        :func:`helpers.segments.rfm` output.
    customers : DataFrame
        Canonical customers; the contact and location columns present are
        carried over so the list can be worked (it holds personal data: write
        it to CSV/Excel, not into HTML reports).

    Returns
    -------
    DataFrame
        ``customer_id``, ``segment``, ``campaign``, ``action``, ``owner_role``,
        ``kpi``, ``recency_days``, ``frequency``, ``monetary``, then those of
        ``name``, ``province``, ``city``, ``territory``, ``sales_rep_id``,
        ``channel``, ``contact``, ``phone``, ``email`` that ``customers`` has.
        Sorted by campaign priority (the order of the segments in
        :data:`SEGMENT_PLAYBOOK`) and ``monetary`` descending.
    """
    order = list(SEGMENT_PLAYBOOK)
    play = pd.DataFrame([{"segment": seg, **item} for seg, item in SEGMENT_PLAYBOOK.items()])
    play = play.rename(columns={"owner": "owner_role"})
    extra = [c for c in _CUSTOMER_COLUMNS if c in customers.columns]
    base = rfm_table[["customer_id", "segment", "recency_days", "frequency", "monetary"]]
    frame = base.merge(play, on="segment", how="left")
    frame = frame.merge(customers[["customer_id", *extra]].drop_duplicates("customer_id"),
                        on="customer_id", how="left")
    rank = frame["segment"].map({s: i for i, s in enumerate(order)}).fillna(len(order))
    frame = (frame.assign(_rank=rank.to_numpy(dtype=np.int64))
             .sort_values(["_rank", "monetary", "customer_id"], ascending=[True, False, True],
                          kind="mergesort"))
    columns = ["customer_id", "segment", "campaign", "action", "owner_role", "kpi",
               "recency_days", "frequency", "monetary", *extra]
    return frame[columns].reset_index(drop=True)
