"""The playbooks and the action lists (step 5, strategy).

The playbook says what to do in each region tier, RFM segment and partner tier;
the action lists join it with the regions, customers and partners, their owners
and the evidence. Actions, owners and KPIs are English keys here; the report
shows them in its language (:func:`helpers.text.lookup.translate`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.analysis.partners import PTS_COLUMNS
from helpers.analysis.tiers import TIERS

__all__ = [
    "PLAYBOOK",
    "SEGMENT_PLAYBOOK",
    "PARTNER_PLAYBOOK",
    "CHANNELS",
    "CHANNEL_ACTIONS",
    "playbook",
    "segment_playbook",
    "action_list",
    "segment_actions",
    "partner_actions",
    "CROSS_SELL_PLAY",
    "cross_sell_actions",
]

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

#: The online channels the playbooks name: ``wechat`` (China's search and WeChat) or
#: ``global`` (search, social media, messaging apps), chosen by ``strategy.online_channels``.
CHANNELS = ("wechat", "global")

#: The playbooks above name WeChat; a market whose online channels are ``global`` reads
#: these actions instead (the same advice without a China-only channel).
CHANNEL_ACTIONS: dict[str, dict[str, str]] = {
    "global": {
        "Test cheaply online (search and WeChat ads) before spending on field sales":
            "Test cheaply online (search and social media ads) before spending on field sales",
        "Low-cost reactivation: email or WeChat campaign only":
            "Low-cost reactivation: email or messaging-app campaign only",
    },
}


def _for_channels(action: str, channels: str) -> str:
    if channels not in CHANNELS:
        raise ValueError(f"channels must be one of {CHANNELS}, got {channels!r}")
    return CHANNEL_ACTIONS.get(channels, {}).get(action, action)


def segment_playbook(channels: str = "wechat") -> pd.DataFrame:
    """:data:`SEGMENT_PLAYBOOK` as a table (``segment``, ``campaign``, ``action``, ``owner``,
    ``kpi``), its actions naming the market's online ``channels`` (:data:`CHANNELS`)."""
    return pd.DataFrame([{"segment": seg, **item, "action": _for_channels(item["action"], channels)}
                         for seg, item in SEGMENT_PLAYBOOK.items()])


# Roles whose actions are carried out by the territory's sales reps when known.
_SALES_ROLES = {"regional sales manager", "sales rep"}


def playbook(tiers: pd.DataFrame | None = None, *, channels: str = "wechat") -> pd.DataFrame:
    """The playbook as a table: ``tier``, ``action``, ``owner``, ``kpi``, ``regions``.

    Parameters
    ----------
    tiers : DataFrame, optional
        :func:`helpers.analysis.tiers.region_tiers` output; when given only the
        tiers present are listed and ``regions`` names their regions (comma
        separated).
    channels : {"wechat", "global"}
        The market's online channels (:data:`CHANNELS`): which words the actions use.
    """
    present = TIERS if tiers is None else [t for t in TIERS if t in set(tiers["tier"])]
    rows = []
    for tier in present:
        regions = "" if tiers is None else ", ".join(
            map(str, tiers.loc[tiers["tier"] == tier, "region"]))
        for item in PLAYBOOK[tier]:
            rows.append({"tier": tier, **item, "action": _for_channels(item["action"], channels),
                         "regions": regions})
    return pd.DataFrame(rows, columns=["tier", "action", "owner", "kpi", "regions"])


def _reps_by_territory(reps: pd.DataFrame) -> dict[str, str]:
    label = reps["name"].astype(str)
    if "sales_rep_id" in reps.columns:
        label = label + " (" + reps["sales_rep_id"].astype(str) + ")"
    frame = pd.DataFrame({"region": reps["region"], "label": label}).dropna()
    return frame.groupby("region")["label"].agg(", ".join).to_dict()


def action_list(tiers: pd.DataFrame, *, reps: pd.DataFrame | None = None,
                channels: str = "wechat") -> pd.DataFrame:
    """One row per region and playbook action, with owner, KPI and evidence.

    Parameters
    ----------
    tiers : DataFrame
        :func:`helpers.analysis.tiers.region_tiers` output. Its ``territory``
        column (or, for territory-level KPIs, the ``region`` itself) links
        regions to reps.
    reps : DataFrame, optional
        ``sales_rep_id``, ``name``, ``region`` (the territory they cover).
        When given, actions owned by a sales role (regional sales manager,
        sales rep) are assigned to the reps of the region's territory by
        name; marketing, channel and operations actions keep their role.
    channels : {"wechat", "global"}
        The market's online channels (:data:`CHANNELS`): which words the actions use.

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
                         "action": _for_channels(item["action"], channels),
                         "owner_role": role, "owner": owner,
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

#: Customer columns carried into the campaign and partner lists (those the table has).
_CUSTOMER_COLUMNS = ["name", "province", "city", "territory", "sales_rep_id", "channel",
                     "contact", "phone", "email"]
#: Columns of step 4's partner tiers carried into the partner plans.
_PARTNER_KEPT = ["value_tier", "revenue"]
#: The text columns of the customer lists that repeat a few values (the playbooks' words,
#: segments, the customer's place and channel): held as categoricals, a code per row
#: instead of the text (the national lists at 10M order lines: 897 -> 293 MB deep); their
#: CSV files and Excel sheets read the same.
REPEATED_COLUMNS = ("segment", "campaign", "action", "owner_role", "kpi", "owner", "lifecycle",
                    "gap_type", "attribute", "value", "category", "partner_tier", "focus",
                    "value_tier", "province", "city", "territory", "channel")


def _compact(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its :data:`REPEATED_COLUMNS` as categoricals (values unchanged)."""
    return frame.astype({c: "category" for c in REPEATED_COLUMNS if c in frame.columns
                         and not isinstance(frame[c].dtype, pd.CategoricalDtype)})


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
    role = frame["owner_role"].astype(object)
    is_sales = role.isin(_ACCOUNT_ROLES)
    return role.where(~is_sales | rep.isna(), rep).astype(object)


def segment_actions(rfm_table: pd.DataFrame, customers: pd.DataFrame, *,
                    reps: pd.DataFrame | None = None, lifecycle: pd.DataFrame | None = None,
                    ltv: pd.DataFrame | None = None, channels: str = "wechat") -> pd.DataFrame:
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
    lifecycle : DataFrame, optional
        Step 4's lifecycle table (:func:`helpers.analysis.lifecycle.lifecycle`:
        ``customer_id``, ``stage``); its stage is added as ``lifecycle``.
    ltv : DataFrame, optional
        Step 4's lifetime value table (:func:`helpers.analysis.ltv.customer_ltv`:
        ``customer_id``, ``ltv``); the value is added as ``ltv_12m``.
    channels : {"wechat", "global"}
        The market's online channels (:data:`CHANNELS`): which words the actions use.

    Returns
    -------
    DataFrame
        ``customer_id``, ``segment``, ``campaign``, ``action``, ``owner_role``,
        ``kpi``, ``owner`` (the customer's rep by name for account manager and
        sales rep actions when known, else the role), ``recency_days``,
        ``frequency``, ``monetary``, ``lifecycle`` and ``ltv_12m`` when given,
        then those of ``name``, ``province``, ``city``, ``territory``,
        ``sales_rep_id``, ``channel``, ``contact``, ``phone``, ``email`` that
        ``customers`` has. Sorted by campaign priority (the
        order of the segments in :data:`SEGMENT_PLAYBOOK`), then ``ltv_12m``
        (when given) or ``monetary``, descending.
    """
    order = list(SEGMENT_PLAYBOOK)
    play = _compact(segment_playbook(channels).rename(columns={"owner": "owner_role"})
                    ).astype({"segment": rfm_table["segment"].dtype})
    extra = [c for c in _CUSTOMER_COLUMNS if c in customers.columns]
    base = rfm_table[["customer_id", "segment", "recency_days", "frequency", "monetary"]]
    frame = base.merge(play, on="segment", how="left")
    added = []
    for table, column, name in ((lifecycle, "stage", "lifecycle"), (ltv, "ltv", "ltv_12m")):
        if table is None:
            continue
        frame = frame.merge(table[["customer_id", column]].drop_duplicates("customer_id")
                            .rename(columns={column: name})
                            .astype({"customer_id": frame["customer_id"].dtype}),
                            on="customer_id", how="left")
        added.append(name)
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
    return _compact(frame[columns].reset_index(drop=True))


def partner_actions(partner_tiers: pd.DataFrame, customers: pd.DataFrame, *,
                    reps: pd.DataFrame | None = None) -> pd.DataFrame:
    """The partner plans: one row per scored partner with the plan for its A/B/C tier.

    Parameters
    ----------
    partner_tiers : DataFrame
        Step 4's partner tiers (:func:`helpers.analysis.partners.partner_tiers`):
        ``customer_id``, ``tier`` (A, B or C), ``score``, the points per factor
        (:data:`helpers.analysis.partners.PTS_COLUMNS`), ``value_tier`` and
        ``revenue``.
    customers : DataFrame
        Canonical customers (contact, location and ``sales_rep_id`` columns
        are carried over: the file holds personal data).
    reps : DataFrame, optional
        Sales reps: sales-role plans go to the partner's own rep by name.

    Returns
    -------
    DataFrame
        ``customer_id``, ``partner_tier``, ``score``, ``campaign``,
        ``action``, ``owner_role``, ``kpi``, ``owner``, ``focus`` (for B
        partners: the two lowest-scoring factors, the ones a development plan
        works on; else empty), ``value_tier`` and ``revenue``, then the
        customer columns. Sorted B, A, C (the development plans first), then
        score descending.

    Raises
    ------
    KeyError
        When ``partner_tiers`` lacks one of those columns (naming them).
    """
    needed = ["customer_id", "tier", "score", *PTS_COLUMNS, *_PARTNER_KEPT]
    missing = [c for c in needed if c not in partner_tiers.columns]
    if missing:
        raise KeyError(f"partner tiers need {missing}; got {list(partner_tiers.columns)}")
    frame = pd.DataFrame({
        "customer_id": partner_tiers["customer_id"].astype(str),
        "partner_tier": partner_tiers["tier"].astype(str),
        **{c: partner_tiers[c] for c in [*PTS_COLUMNS, *_PARTNER_KEPT]},
        "score": partner_tiers["score"].astype(float)})

    frame = frame.assign(focus=_weakest_factors(frame))
    play = pd.DataFrame([{"partner_tier": t, **item} for t, item in PARTNER_PLAYBOOK.items()])
    play = _compact(play.rename(columns={"owner": "owner_role"})).astype(
        {"partner_tier": frame["partner_tier"].dtype})
    frame = frame.merge(play, on="partner_tier", how="left")
    extra = [c for c in _CUSTOMER_COLUMNS if c in customers.columns]
    frame = frame.merge(customers[["customer_id", *extra]].drop_duplicates("customer_id")
                        .astype({"customer_id": str}), on="customer_id", how="left")
    frame = frame.assign(owner=_owners(frame, reps))
    rank = frame["partner_tier"].map({"B": 0, "A": 1, "C": 2}).fillna(3)
    frame = frame.assign(_rank=rank).sort_values(
        ["_rank", "score", "customer_id"], ascending=[True, False, True], kind="mergesort")
    columns = ["customer_id", "partner_tier", "score", "campaign", "action", "owner_role",
               "kpi", "owner", "focus", *_PARTNER_KEPT, *extra]
    return _compact(frame[columns].reset_index(drop=True))


def _weakest_factors(frame: pd.DataFrame) -> pd.Series:
    """A B partner's focus: its two lowest-scoring factors (``pts_`` columns without the
    prefix, the lower first, ties in name order, missing points left out), joined by
    ", "; empty for the other tiers. Vectorised: 0.4 s of CPU for 477k partners (the
    partners of 10M order lines) where a row-wise ``apply`` took 4.9 s."""
    names = sorted(PTS_COLUMNS)
    points = frame[names].to_numpy(dtype=float, na_value=np.nan)
    missing = np.isnan(points)
    order = np.argsort(np.where(missing, np.inf, points), axis=1, kind="stable")[:, :2]
    taken = ~np.take_along_axis(missing, order, axis=1)
    labels = np.array([c.removeprefix("pts_") for c in names], dtype=object)[order]
    b = (frame["partner_tier"] == "B").to_numpy()
    words = [", ".join(label for label, kept in zip(row, keep, strict=True) if kept) if is_b else ""
             for row, keep, is_b in zip(labels, taken, b, strict=True)]
    return pd.Series(words, index=frame.index, dtype=object)


#: The action for a customer of a cross-sell gap (step 4's category mix): offer the
#: category the region's customers buy less often than the market's.
CROSS_SELL_PLAY = {"campaign": "cross-sell",
                   "action": "Offer the missing category: a visit or call with a bundle or "
                             "trial offer to customers who buy the rest of the range",
                   "owner": "sales rep", "kpi": "customers buying the category"}


def cross_sell_actions(targets: pd.DataFrame, customers: pd.DataFrame, *,
                       reps: pd.DataFrame | None = None) -> pd.DataFrame:
    """The cross-sell list: one row per customer and category to offer.

    Parameters
    ----------
    targets : DataFrame
        :func:`helpers.analysis.mix.cross_sell_targets` output (``region``, ``category``,
        ``customer_id``, ``categories_bought``, ``revenue``, ``penetration_index``), and
        optionally those of :func:`helpers.analysis.mix.segment_targets` with
        ``gap_type`` ``segment`` (their ``attribute`` and ``value``; ``region``: the
        customer's own); rows without ``gap_type`` are region gaps.
    customers : DataFrame
        Canonical customers: the contact and location columns present are carried over
        (personal data: for the exports, never the HTML reports).
    reps : DataFrame, optional
        ``sales_rep_id``, ``name``: the action goes to the customer's own rep by name.

    Returns
    -------
    DataFrame
        ``customer_id``, ``gap_type`` (``region`` or ``segment``: which kind of gap the
        customer is listed for), ``region``, ``attribute`` and ``value`` (the segment of a
        segment gap), ``category``, ``campaign``, ``action``,
        ``owner_role``, ``kpi``, ``owner``, ``categories_bought``, ``revenue``,
        ``penetration_index``, then those of ``name``, ``province``, ``city``,
        ``territory``, ``sales_rep_id``, ``channel``, ``contact``, ``phone``, ``email``
        that ``customers`` has; in the order of ``targets``.
    """
    extra = [c for c in _CUSTOMER_COLUMNS if c in customers.columns]
    columns = ["customer_id", "gap_type", "region", "attribute", "value", "category",
               "campaign", "action", "owner_role", "kpi", "owner", "categories_bought",
               "revenue", "penetration_index", *extra]
    if targets.empty:
        return pd.DataFrame(columns=columns)
    targets = targets.reindex(columns=list(dict.fromkeys([*targets.columns, "gap_type",
                                                          "attribute", "value"])))
    targets = targets.assign(gap_type=targets["gap_type"].fillna("region"))
    play = {("owner_role" if k == "owner" else k): pd.Categorical.from_codes(
        np.zeros(len(targets), dtype=np.int8), [v]) for k, v in CROSS_SELL_PLAY.items()}
    frame = targets.assign(**play).merge(
        customers[["customer_id", *extra]].drop_duplicates("customer_id")
        .astype({"customer_id": "string"}),
        on="customer_id", how="left", suffixes=("", "_customer"))
    frame = frame.assign(owner=_owners(frame, reps))
    return _compact(frame[columns].reset_index(drop=True))
#: The action of a region whose top customers over-represent some attribute values (step 4,
#: :func:`helpers.analysis.profiles.value_by_attribute`): look for more customers like them.
PROFILE_ACTION = {"action": "Prospect for more customers like the region's most valuable "
                            "ones (their profile in the evidence)",
                  "owner": "regional sales manager", "kpi": "new customers with that profile"}


def with_profile_actions(frame: pd.DataFrame, tiers: pd.DataFrame, evidence: dict[str, str],
                         *, reps: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`action_list` output with :data:`PROFILE_ACTION` for each region of
    ``evidence`` (region -> the profile in words), after that region's other actions.

    Regions not in ``tiers`` get no action; the owner is the territory's reps as in
    :func:`action_list`.
    """
    if not evidence:
        return frame
    owners = _reps_by_territory(reps) if reps is not None and not reps.empty else {}
    known = tiers.drop_duplicates("region").set_index("region")
    rows = []
    for region, said in evidence.items():
        if region not in known.index:
            continue
        row = known.loc[region]
        terr = row.get("territory") if "territory" in known.columns else None
        terr = None if terr is None or pd.isna(terr) else terr
        role = PROFILE_ACTION["owner"]
        rows.append({"region": region, "territory": terr, "tier": row["tier"],
                     "action": PROFILE_ACTION["action"], "owner_role": role,
                     "owner": owners.get(terr, role), "kpi": PROFILE_ACTION["kpi"],
                     "evidence": said})
    if not rows:
        return frame
    order = {region: i for i, region in enumerate(tiers["region"])}
    both = pd.concat([frame.assign(_extra=0), pd.DataFrame(rows).assign(_extra=1)],
                     ignore_index=True)
    both["_tier"] = both["tier"].map(TIERS.index)
    both["_pos"] = both["region"].map(order)
    both = both.sort_values(["_tier", "_pos", "_extra"], kind="mergesort")
    return both[list(frame.columns)].reset_index(drop=True)
