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

from helpers.text.lookup import say

__all__ = [
    "TIERS",
    "PLAYBOOK",
    "SEGMENT_PLAYBOOK",
    "PARTNER_PLAYBOOK",
    "region_tiers",
    "playbook",
    "action_list",
    "segment_actions",
    "partner_actions",
]

#: Tier names in priority order (the order of action lists).
TIERS = ["core", "declining", "emerging", "gap", "steady"]

_RULE_KEYS = ("hot_share", "hot_growth", "emerging_growth", "declining_growth", "gap_ratio")
# Optional rules: None (or absent) switches the rule off.
_OPTIONAL_RULES = {"hotspot_bin": 2, "hotspot_share": None, "potential_growth": None,
                   "potential_ratio": None}

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
                 min_customers: int = 5, lang: str = "en") -> pd.DataFrame:
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
        :func:`helpers.analysis.kpi.region_kpis` output (``region``, ``customers``,
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

    Returns
    -------
    DataFrame
        A copy of ``kpis`` with ``tier`` and ``tier_reason`` added.
    """
    missing = [key for key in _RULE_KEYS if key not in rules]
    if missing:
        raise KeyError(f"strategy rules missing: {missing}")
    optional = {key: (None if rules.get(key, default) is None else float(rules.get(key, default)))
                for key, default in _OPTIONAL_RULES.items()}
    rules = {**{key: float(rules[key]) for key in _RULE_KEYS}, **optional}
    results = [_classify(row, rules, min_customers, lang) for row in kpis.to_dict("records")]
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


#: Partner tier (A/B/C, step 4) -> the plan for its partners.
PARTNER_PLAYBOOK: dict[str, dict[str, str]] = {
    "A": {"campaign": "strategic partner",
          "action": "Joint annual business plan, quarterly review, priority technical support "
                    "and first call on project leads in their area",
          "owner": "channel manager", "kpi": "partner revenue against the joint plan"},
    "B": {"campaign": "development plan",
          "action": "Development plan to reach A: product training and certification, "
                    "co-marketing funds tied to targets, a quarterly pipeline review; work on "
                    "the weakest scoring factors",
          "owner": "sales rep", "kpi": "tier score and revenue growth"},
    "C": {"campaign": "maintain",
          "action": "Serve through distribution and online self-service; review once a year "
                    "for an upgrade",
          "owner": "marketing", "kpi": "orders per year"},
}

_CUSTOMER_COLUMNS = ["name", "province", "city", "territory", "sales_rep_id", "channel",
                     "contact", "phone", "email"]


def _pick(frame: pd.DataFrame | None, candidates: tuple[str, ...]) -> str | None:
    """The first of ``candidates`` that ``frame`` has (None without a frame)."""
    if frame is None:
        return None
    return next((c for c in candidates if c in frame.columns), None)


_LIFECYCLE_COLUMNS = ("lifecycle", "lifecycle_stage", "stage")
_LTV_COLUMNS = ("ltv_12m", "clv_12m", "value_12m", "ltv", "clv")
_PARTNER_TIER_COLUMNS = ("partner_tier", "abc_tier", "abc", "tier")
_PARTNER_SCORE_COLUMNS = ("score", "total_points", "points", "partner_score")
_FACTOR_PREFIXES = ("pts_", "points_")


def _rep_labels(reps: pd.DataFrame | None) -> dict[str, str]:
    """sales_rep_id -> ``name (id)``."""
    if reps is None or reps.empty or "sales_rep_id" not in reps:
        return {}
    names = reps["name"] if "name" in reps else reps["sales_rep_id"]
    return {str(i): f"{n} ({i})" for i, n in zip(reps["sales_rep_id"], names, strict=True)
            if not pd.isna(i)}


# Roles whose customer actions are carried out by the customer's own rep when known.
_ACCOUNT_ROLES = {"account manager", "sales rep"}


def _owners(frame: pd.DataFrame, reps: pd.DataFrame | None) -> pd.Series:
    """The customer's own rep for account roles, else the role."""
    labels = _rep_labels(reps)
    rep = (frame["sales_rep_id"].astype(object).map(lambda v: labels.get(str(v)))
           if "sales_rep_id" in frame and labels else pd.Series(None, index=frame.index))
    is_sales = frame["owner_role"].isin(_ACCOUNT_ROLES)
    return frame["owner_role"].where(~is_sales | rep.isna(), rep).astype(object)


def segment_actions(rfm_table: pd.DataFrame, customers: pd.DataFrame, *,
                    reps: pd.DataFrame | None = None, lifecycle: pd.DataFrame | None = None,
                    ltv: pd.DataFrame | None = None) -> pd.DataFrame:
    """The campaign list: one row per scored customer with the action for its segment.

    Parameters
    ----------
    rfm_table : DataFrame
        :func:`helpers.analysis.segments.rfm` output.
    customers : DataFrame
        Canonical customers; the contact and location columns present are
        carried over so the list can be worked (it holds personal data: write
        it to CSV/Excel, not into HTML reports).
    reps : DataFrame, optional
        ``sales_rep_id``, ``name``: actions for an account manager or sales
        rep go to the customer's own rep by name.
    lifecycle, ltv : DataFrame, optional
        Step 4's ``lifecycle.csv`` and ``ltv.csv`` (``customer_id`` and a
        stage column, ``lifecycle``/``lifecycle_stage``/``stage``; a value
        column, ``ltv_12m``/``clv_12m``/``value_12m``/``ltv``/``clv``); added
        as ``lifecycle`` and ``ltv_12m`` when given.

    Returns
    -------
    DataFrame
        ``customer_id``, ``segment``, ``campaign``, ``action``, ``owner_role``,
        ``kpi``, ``owner`` (the customer's rep by name for account manager and
        sales rep actions when known, else the role), ``recency_days``, ``frequency``, ``monetary``, ``lifecycle`` and
        ``ltv_12m`` when given, then those of ``name``, ``province``, ``city``,
        ``territory``, ``sales_rep_id``, ``channel``, ``contact``, ``phone``,
        ``email`` that ``customers`` has. Sorted by campaign priority (the
        order of the segments in :data:`SEGMENT_PLAYBOOK`), then ``ltv_12m``
        (when given) or ``monetary``, descending.
    """
    order = list(SEGMENT_PLAYBOOK)
    play = pd.DataFrame([{"segment": seg, **item} for seg, item in SEGMENT_PLAYBOOK.items()])
    play = play.rename(columns={"owner": "owner_role"})
    extra = [c for c in _CUSTOMER_COLUMNS if c in customers.columns]
    base = rfm_table[["customer_id", "segment", "recency_days", "frequency", "monetary"]]
    frame = base.merge(play, on="segment", how="left")
    added = []
    stage = _pick(lifecycle, _LIFECYCLE_COLUMNS)
    if stage:
        frame = frame.merge(lifecycle[["customer_id", stage]].drop_duplicates("customer_id")
                            .rename(columns={stage: "lifecycle"})
                            .astype({"customer_id": frame["customer_id"].dtype}),
                            on="customer_id", how="left")
        added.append("lifecycle")
    value = _pick(ltv, _LTV_COLUMNS)
    if value:
        frame = frame.merge(ltv[["customer_id", value]].drop_duplicates("customer_id")
                            .rename(columns={value: "ltv_12m"})
                            .astype({"customer_id": frame["customer_id"].dtype}),
                            on="customer_id", how="left")
        added.append("ltv_12m")
    frame = frame.merge(customers[["customer_id", *extra]].drop_duplicates("customer_id")
                        .astype({"customer_id": frame["customer_id"].dtype}),
                        on="customer_id", how="left")
    frame = frame.assign(owner=_owners(frame, reps))
    rank = frame["segment"].map({s: i for i, s in enumerate(order)}).fillna(len(order))
    value_col = "ltv_12m" if "ltv_12m" in added else "monetary"
    frame = (frame.assign(_rank=rank.to_numpy(dtype=np.int64))
             .sort_values(["_rank", value_col, "customer_id"], ascending=[True, False, True],
                          kind="mergesort", na_position="last"))
    columns = ["customer_id", "segment", "campaign", "action", "owner_role", "kpi", "owner",
               "recency_days", "frequency", "monetary", *added, *extra]
    return frame[columns].reset_index(drop=True)


def partner_actions(partner_tiers: pd.DataFrame, customers: pd.DataFrame, *,
                    reps: pd.DataFrame | None = None) -> pd.DataFrame:
    """The partner plans: one row per scored partner with the plan for its A/B/C tier.

    Parameters
    ----------
    partner_tiers : DataFrame
        Step 4's ``partner_tiers.csv``: ``customer_id`` and the tier
        (``partner_tier``, ``abc_tier``, ``abc`` or ``tier``: A, B or C);
        the total score (``score``, ``total_points``, ``points`` or
        ``partner_score``), per-factor points (numeric columns named
        ``pts_<factor>``, ``points_<factor>`` or ``<factor>_points``),
        ``value_tier`` and ``revenue`` are used when present.
    customers : DataFrame
        Canonical customers (contact, location and ``sales_rep_id`` columns
        are carried over: the file holds personal data).
    reps : DataFrame, optional
        Sales reps: sales-role plans go to the partner's own rep by name.

    Returns
    -------
    DataFrame
        ``customer_id``, ``partner_tier``, ``score`` (when known), ``campaign``,
        ``action``, ``owner_role``, ``kpi``, ``owner``, ``focus`` (for B
        partners with factor points: the two lowest-scoring factors, the
        ones a development plan works on; else empty), ``value_tier`` and
        ``revenue`` when given, then the customer columns. Sorted B, A, C (the development plans first), then score
        descending.

    Raises
    ------
    KeyError
        When ``partner_tiers`` has no ``customer_id`` or tier column.
    """
    tier_col = _pick(partner_tiers, _PARTNER_TIER_COLUMNS)
    if tier_col is None or "customer_id" not in partner_tiers:
        raise KeyError(f"partner tiers need customer_id and one of {_PARTNER_TIER_COLUMNS}; "
                       f"got {list(partner_tiers.columns)}")
    score_col = _pick(partner_tiers, _PARTNER_SCORE_COLUMNS)
    factors = [c for c in partner_tiers.columns
               if c.startswith(_FACTOR_PREFIXES) or c.endswith("_points")
               if c != score_col and pd.api.types.is_numeric_dtype(partner_tiers[c])]
    kept = [c for c in ("value_tier", "revenue") if c in partner_tiers.columns]
    frame = pd.DataFrame({
        "customer_id": partner_tiers["customer_id"].astype(str),
        "partner_tier": partner_tiers[tier_col].astype(str).str.strip().str.upper(),
        **{c: partner_tiers[c] for c in [*factors, *kept]}})
    if score_col:
        frame = frame.assign(score=partner_tiers[score_col].astype(float))

    def factor_name(column: str) -> str:
        for prefix in _FACTOR_PREFIXES:
            column = column.removeprefix(prefix)
        return column.removesuffix("_points")

    def focus(row) -> str:
        if row["partner_tier"] != "B" or not factors:
            return ""
        points = sorted((float(row[c]), c) for c in factors if _is_number(row[c]))[:2]
        return ", ".join(factor_name(c) for _, c in points)

    frame = frame.assign(focus=frame.apply(focus, axis=1) if len(frame) else "")
    play = pd.DataFrame([{"partner_tier": t, **item} for t, item in PARTNER_PLAYBOOK.items()])
    frame = frame.merge(play.rename(columns={"owner": "owner_role"}), on="partner_tier",
                        how="left")
    extra = [c for c in _CUSTOMER_COLUMNS if c in customers.columns]
    frame = frame.merge(customers[["customer_id", *extra]].drop_duplicates("customer_id")
                        .astype({"customer_id": str}), on="customer_id", how="left")
    frame = frame.assign(owner=_owners(frame, reps))
    rank = frame["partner_tier"].map({"B": 0, "A": 1, "C": 2}).fillna(3)
    keys = ["_rank", "score", "customer_id"] if score_col else ["_rank", "customer_id"]
    frame = frame.assign(_rank=rank).sort_values(
        keys, ascending=[True, False, True][:len(keys)] if score_col else [True, True],
        kind="mergesort")
    columns = ["customer_id", "partner_tier", *(["score"] if score_col else []), "campaign",
               "action", "owner_role", "kpi", "owner", "focus", *kept, *extra]
    return frame[columns].reset_index(drop=True)
