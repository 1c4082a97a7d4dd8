"""Step 5, strategy: tiers, playbooks, budget, campaigns, executive summary, monitoring.

:func:`strategy_tables` computes everything step 5 shows and exports from step 4's
tables (:func:`helpers.steps.insight.ensure_insight`); :func:`save_strategy` writes
the exports and ``executive_summary.json``. Notebook 05 then shows them, one call
per section (:func:`summary_section`, :func:`tiers_section` ... one per key of
``helpers.catalog.SECTIONS["05"]``); nothing is written while it shows. The
objective (:mod:`helpers.catalog`) never changes a measurement: it picks the findings
of the executive summary, the order of the sections in the shared report, and the
direction of the budget proposal (its rule per tier, :mod:`helpers.analysis.budget`).
"""

from __future__ import annotations

import json
import math

import pandas as pd
from IPython.display import Markdown

from helpers import geo
from helpers.analysis import actions, budget, mix, monitor
from helpers.analysis.concentration import concentration
from helpers.analysis.tiers import REASON_COLUMNS, TIERS, region_tiers
from helpers.catalog import get_objective
from helpers.config import ConfigError
from helpers.context import Blocks, Context
from helpers.data.privacy import mask_pii
from helpers.files import write_csv, write_json, write_xlsx
from helpers.geo.territories import territory_map
from helpers.steps.insight import audience, ltv_shown
from helpers.text.format import currency_name
from helpers.text.lookup import join, region_label, say, text
from helpers.text.markup import md_text
from helpers.text.narrative.budget import budget_notes, budget_reasons
from helpers.text.narrative.buyers import profile_evidence
from helpers.text.narrative.notes import warning_texts
from helpers.text.narrative.summary import findings
from helpers.text.narrative.tiers import partner_balance, tier_outlook, with_tier_reasons
from helpers.text.tables import export_sheet

__all__ = [
    "strategy_tables",
    "save_strategy",
    "budget_plan",
    "comparison",
    "customer_concentration",
    "executive_summary",
    "summary_section",
    "tiers_section",
    "playbook_section",
    "budget_section",
    "customers_section",
    "partners_section",
    "monitoring_section",
    "shown_actions",
    "cross_sell_list",
    "excel_list",
]


def strategy_tables(ctx: Context, insight: dict, *, baseline_run: str = "") -> dict:
    """Step 5: everything the report shows and the exports hold.

    Parameters
    ----------
    ctx : Context
        Its ``objective`` picks the findings of the executive summary.
    insight : dict
        Step 4's tables (:func:`helpers.steps.insight.ensure_insight`): its region
        KPIs, RFM table, lifecycle, lifetime value and partner tiers are used as
        they are (never read again from the region folder).
    baseline_run : str
        An earlier run (id under the reports folder, or a path) to compare
        with; empty: no comparison.

    Returns
    -------
    dict
        ``tiers`` (KPIs with ``tier``, ``tier_reason``, ``territory``),
        ``actions`` (region actions with owners), ``playbook`` (per tier),
        ``segment_playbook``, ``campaign`` (one row per scored customer, with
        contact fields), ``cross_sell`` (:func:`cross_sell_list`), ``partners`` (partner
        plans, or None), ``budget``
        (:func:`budget_plan`), ``comparison`` (:func:`comparison`), ``notes``
        (why the partner plans are missing) and ``summary`` (:func:`executive_summary`).
    """
    rules = ctx.config.strategy.model_dump(exclude={"online_channels"})
    channels = ctx.config.strategy.channels(ctx.config.geography.country)
    tiers = with_tier_reasons(region_tiers(  # the reasons in the run's language (actions.xlsx)
        insight["region_kpis"], rules=rules, min_customers=ctx.config.analysis.min_customers,
        benchmark=ctx.benchmark), ctx.lang)
    tiers = _with_territory(ctx, tiers)
    reps = ctx.prep.reps
    notes: list[str] = []
    # Lifetime value only where step 4's checks let the report show it; else by value to date.
    campaign = actions.segment_actions(
        insight["rfm"], ctx.prep.customers, reps=reps, lifecycle=insight["lifecycle"],
        ltv=insight["ltv"] if ltv_shown(insight) else None, channels=channels)
    partners = None
    if insight["partner_tiers"].empty:
        notes.append(say("no_partners", ctx.lang))
    else:
        try:
            partners = actions.partner_actions(insight["partner_tiers"], ctx.prep.customers,
                                               reps=reps)
        except KeyError as exc:
            notes.append(f"partner_tiers.csv cannot be read: {exc.args[0]}")
    # look for more customers like a region's top ones (step 4, significant only)
    profiles = profile_evidence(insight.get("profile_value", pd.DataFrame()), ctx.lang,
                                (insight.get("notes") or {}).get("profiles", {}).get(
                                    "top_share", 0.2))
    tables = {
        "tiers": tiers,
        "profile_evidence": profiles,
        "actions": actions.with_profile_actions(
            actions.action_list(tiers, reps=reps, channels=channels), tiers, profiles,
            reps=reps),
        "playbook": actions.playbook(tiers, channels=channels),
        "segment_playbook": actions.segment_playbook(channels),
        "campaign": campaign,
        "cross_sell": cross_sell_list(ctx, insight, reps=reps),
        "partners": partners,
        "budget": budget_plan(ctx, tiers),
        "comparison": comparison(ctx, baseline_run, tiers=tiers, insight=insight),
        "notes": notes,
        # step 4's check of the partner tiers (one tier holding most partners)
        "partner_balance": (insight.get("notes") or {}).get("partners"),
        # where the emerging and declining regions are heading (step 4's forecast, bridge)
        "outlook": tier_outlook(tiers, insight, audience(ctx)),
    }
    tables["summary"] = executive_summary(ctx, insight, tables)
    return tables


def cross_sell_list(ctx: Context, insight: dict, *, reps: pd.DataFrame | None = None
                    ) -> pd.DataFrame:
    """The customers to offer each of step 4's largest cross-sell gaps
    (``strategy.cross_sell_gaps`` of the regions' and as many of the customer segments',
    most buyers short first): the region's (segment's) customers who bought another
    category in the period but not this one (:func:`helpers.analysis.mix.cross_sell_targets`,
    :func:`helpers.analysis.mix.segment_targets`,
    :func:`helpers.analysis.actions.cross_sell_actions`; ``gap_type`` says which kind of
    gap). A customer a region gap and a segment gap both offer the same category is listed
    once, for the region gap."""
    top = ctx.config.strategy.cross_sell_gaps
    found = insight.get("category_mix")
    gaps = (mix.largest_gaps(found, top=top)
            if found is not None and len(found) else pd.DataFrame(columns=["region", "category"]))
    level = ctx.scope.sublevel
    people = ctx.customers
    regions = (people[["customer_id", level]].drop_duplicates("customer_id")
               .set_index("customer_id")[level] if level in people.columns
               else pd.Series(dtype=object))
    targets = (mix.cross_sell_targets_sql(ctx.lines, gaps, regions, period=ctx.period)
               if ctx.lines is not None  # large data: the lines stay in DuckDB
               else mix.cross_sell_targets(gaps, ctx.orders, regions, period=ctx.period))
    segments = insight.get("segment_mix")
    if segments is not None and len(segments) and segments["cross_sell_gap"].astype(bool).any():
        a = ctx.config.analysis
        chosen = mix.largest_gaps(segments, top=top)
        options = {"period": ctx.period, "max_values": a.profile_max_values,
                   "reference": ctx.prep.customers if ctx.benchmark is not None else None}
        by_segment = (mix.segment_targets_sql(ctx.lines, chosen, ctx.customers, **options)
                      if ctx.lines is not None
                      else mix.segment_targets(chosen, ctx.orders, ctx.customers, **options))
        where = regions.set_axis(regions.index.astype("string"))
        by_segment = by_segment.assign(gap_type="segment",
                                       region=by_segment["customer_id"].map(where))
        targets = (pd.concat([targets.assign(gap_type="region"), by_segment], ignore_index=True)
                   .drop_duplicates(["customer_id", "category"], keep="first"))
    return actions.cross_sell_actions(targets, ctx.prep.customers, reps=reps)


def customer_concentration(insight: dict) -> dict | None:
    """How concentrated revenue is across customers (step 4's, else from the RFM table)."""
    measured = (insight.get("concentration") or {}).get("customers")
    if isinstance(measured, dict):
        return measured
    rfm = insight["rfm"]
    return concentration(rfm["monetary"]) if len(rfm) else None


def executive_summary(ctx: Context, insight: dict, tables: dict, objective: str | None = None,
                      *, n: int = 5) -> dict:
    """The ``n`` findings that matter most for the objective, each with its number.

    Parameters
    ----------
    ctx : Context
    insight, tables : dict
        Step 4's and step 5's tables (``tables`` without ``summary``).
    objective : str, optional
        A key of :data:`helpers.catalog.OBJECTIVES`; default: the context's. Its
        ``findings`` order picks the ``n``.
    n : int
        How many findings.

    Returns
    -------
    dict
        ``objective`` and ``findings``: a list of ``{"kind", "text", "value"}``
        (:func:`helpers.text.narrative.summary.findings`), in the objective's order.
    """
    chosen = get_objective(objective or ctx.objective)
    candidates = findings(insight, tables, audience(ctx),
                          concentration=customer_concentration(insight))
    kinds = [k for k in chosen.findings if k in candidates][:n]
    return {"objective": chosen.key, "findings": [{"kind": k, **candidates[k]} for k in kinds]}


def _region_names(names, key: str) -> dict[str, str]:
    """Config region names in any spelling -> official province names."""
    names = list(names)
    if not names:
        return {}
    resolved = geo.resolve_provinces(pd.Series(names, dtype="string"))["province"]
    bad = [n for n, p in zip(names, resolved, strict=True) if pd.isna(p)]
    if bad:
        raise ConfigError(f"{key}: unknown province name(s) {bad}")
    return dict(zip(names, resolved, strict=True))


def budget_plan(ctx: Context, tiers: pd.DataFrame) -> dict:
    """The budget proposal for the provinces in scope, or the reason there is none.

    Returns
    -------
    dict
        ``table`` (:func:`helpers.analysis.budget.reallocate` output with ``region_en``
        and ``tier``; None when there is no proposal), ``message`` (why not, or
        None), ``error`` (an infeasible configuration, or None), ``method``
        (the numbers of the method and assumptions), ``notes`` (them in sentences
        in the run's language, as ``budget.json`` holds them,
        :func:`helpers.text.narrative.budget.budget_notes`),
        ``summary`` (totals, amount moved, expected effect).
    """
    settings = ctx.config.budget
    result = {"table": None, "message": None, "error": None, "method": None, "notes": [],
              "summary": {}}
    if ctx.scope.sublevel != "province":
        result["message"] = say("budget_in_city" if ctx.scope.kind == "city"
                                else "budget_in_province", ctx.lang)
        return result
    p = ctx.period
    if "marketing_spend" not in tiers:  # step 4 adds it; computed the same way when not
        spent = budget.spend_by_region(ctx.prep.spend, tiers["region"], p)
        tiers = spent.merge(tiers, on="region", how="right")
    current = pd.DataFrame({"region": tiers["region"],
                            "spend": tiers["marketing_spend"].astype(float).fillna(0.0)})
    current_total = float(current["spend"].sum())
    if current_total <= 0:
        result["message"] = say("budget_no_spend", ctx.lang)
        return result
    frame = (tiers[[c for c in ["region", "region_en", "tier", "revenue", "growth_yoy",
                                "gap_ratio"] if c in tiers]]
             .merge(current, on="region", how="left").fillna({"spend": 0.0}))
    unit = float(settings.unit)
    if settings.total is not None and ctx.scope.kind == "all":
        total = float(settings.total)
        basis = "total"
    elif settings.total is not None:
        national = float(budget.spend_by_region(ctx.prep.spend, None, p)
                         ["marketing_spend"].sum())
        total = round(settings.total * current_total / national / unit) * unit
        basis = "scaled"
    else:
        total = round(current_total * (1 + settings.total_change) / unit) * unit
        basis = "change"
    in_scope_names = set(frame["region"])
    floors = {v: settings.floors[k] for k, v in
              _region_names(settings.floors, "budget.floors").items() if v in in_scope_names}
    caps = {v: settings.caps[k] for k, v in
            _region_names(settings.caps, "budget.caps").items() if v in in_scope_names}
    rule = get_objective(ctx.objective).budget
    result["method"] = {"basis": basis, "total_change": settings.total_change,
                        "period": p.label(), **budget.method_facts(
                            elasticity=settings.elasticity, unit=unit, total=total,
                            current_total=current_total, momentum=settings.momentum,
                            headroom=settings.headroom,
                            elasticity_range=settings.elasticity_range,
                            objective=ctx.objective, policies=rule, reserve=settings.reserve,
                            max_cut=settings.max_cut)}
    result["notes"] = budget_notes(result["method"], audience(ctx))
    try:
        table = budget.propose(
            frame, total=total, elasticity=settings.elasticity, unit=unit,
            momentum=settings.momentum, headroom=settings.headroom,
            floor_vs_current=settings.floor_vs_current, cap_vs_current=settings.cap_vs_current,
            cap_share=settings.cap_share, tier_floors=settings.tier_floors, floors=floors,
            caps=caps, policies=rule, reserve=settings.reserve, max_cut=settings.max_cut)
        low, high = settings.elasticity_range
        effect = budget.effect_range(table, elasticity=settings.elasticity, low=low, high=high)
    except budget.BudgetError as exc:
        result["error"] = f"{ctx.config.config_path} budget: {exc}"
        return result
    table = table.assign(why=budget_reasons(table, result["method"], audience(ctx)))
    fit = float(table["fit"].min())
    if fit < 1:  # the rule's protected spend and reserves scaled down to fit the total
        result["notes"].insert(1, say("budget_fit", ctx.lang, fit=fit))
    table = table.sort_values("change", ascending=False, kind="mergesort").reset_index(drop=True)
    modelled_revenue = table.loc[table["expected_revenue"].notna(), "revenue"].sum()
    result["table"] = table
    result["summary"] = {
        "objective": ctx.objective,
        "current_total": current_total, "total": float(table["new_spend"].sum()),
        "moved": float(table["change"].clip(lower=0).sum()),
        "reserved": float(table["reserve"].sum()), "fit": fit,
        "moved_by_tier": {str(t): float(v) for t, v in
                          table.groupby("tier")["change"].sum().items()} if "tier" in table
        else {},
        "expected_revenue_change": _effect_summary(effect, unit, modelled_revenue),
        "reasons": table["reason"].value_counts().to_dict(),
        "gainers": table.loc[table["change"] > 0, "region"].head(3).tolist(),
        "losers": table.loc[table["change"] < 0].sort_values("change")["region"].head(3).tolist(),
    }
    return result


def _effect_summary(effect: dict, unit: float, modelled_revenue: float) -> dict | None:
    """The expected effect as ``budget.json`` holds it: a range rounded outward to the
    budget unit (never a number to the currency unit), the central value rounded to it,
    the share of the modelled regions' revenue, and the assumptions."""
    if effect["central"] is None:
        return None
    low = math.floor(effect["low"] / unit) * unit
    high = math.ceil(effect["high"] / unit) * unit
    central = round(effect["central"] / unit) * unit
    def share(value: float) -> float | None:
        return value / modelled_revenue if modelled_revenue > 0 else None

    return {"low": float(low), "high": float(high), "central": float(central),
            "low_pct": share(low), "high_pct": share(high),
            "elasticity_low": effect["elasticity_low"],
            "elasticity_high": effect["elasticity_high"],
            "responsiveness": ["configured", "off"]}


def comparison(ctx: Context, baseline_run: str, *, tiers: pd.DataFrame | None = None,
               insight: dict | None = None) -> dict | None:
    """This region compared with the same region of ``baseline_run`` (None when not set).

    ``tiers`` and ``insight`` are this run's tables in memory (else read from
    the region folder). A baseline that cannot be found gives ``{"error":
    message}`` instead of a crash: the rest of the report stands on its own.
    """
    if not str(baseline_run or "").strip():
        return None
    try:
        root = monitor.resolve_run(baseline_run, ctx.config.reports_dir)
    except FileNotFoundError as exc:
        return {"error": str(exc)}
    before = root / ctx.scope.slug
    if not before.is_dir():
        return {"error": f"the baseline run {root.name} has no report for "
                         f"{ctx.scope.label(ctx.lang)} (no folder {before})"}
    if root == ctx.run.root:
        return {"error": "the baseline run is this run"}
    now = None
    if tiers is not None and insight is not None:
        now = {"regions": tiers, "rfm": insight["rfm"], "headline": insight["headline"]}
    result = monitor.compare_runs(ctx.out, before, hotspot_bin=ctx.config.strategy.hotspot_bin,
                                  now=now)
    result["summary"]["warnings"] = warning_texts(result["warnings"])  # comparison.json: English
    return result


def _with_territory(ctx: Context, tiers: pd.DataFrame) -> pd.DataFrame:
    if "territory" in tiers:
        return tiers
    if ctx.scope.sublevel == "province":
        territory = territory_map(ctx.config).set_index("province")["territory"]
        return tiers.assign(territory=tiers["region"].map(territory))
    known = ctx.customers["territory"].dropna() if "territory" in ctx.customers else []
    return tiers.assign(territory=known.iloc[0] if len(known) else pd.NA)


#: The budget's columns in ``actions.xlsx`` (people's copy; ``budget.csv`` has them all,
#: with the rule's floors, caps and fit).
BUDGET_SHEET = ("region", "tier", "revenue", "growth_yoy", "spend", "new_spend", "change",
                "change_pct", "expected_revenue_change", "roi", "why")


#: The long lists of ``actions.xlsx``: (sheet, key of :func:`strategy_tables`, the CSV
#: file that holds every row).
EXCEL_LISTS = (("campaign list", "campaign", "campaign_list.csv"),
               ("cross-sell list", "cross_sell", "cross_sell_list.csv"),
               ("partner plans", "partners", "partner_plans.csv"))


def excel_list(frame: pd.DataFrame, file: str, rows: int, lang: str = "en"
               ) -> tuple[pd.DataFrame, str | None]:
    """A long list as its sheet of ``actions.xlsx`` holds it: its first ``rows`` rows (the
    list's own order is its priority) and the sheet's first line saying how many rows the
    list has and that ``file`` holds them all; the whole list and None when it has at most
    ``rows`` rows (``report.excel_list_rows``)."""
    if len(frame) <= rows:
        return frame, None
    return frame.iloc[:rows], text("sheet", "list_cut", lang, shown=rows, total=len(frame),
                                   file=file)


def excel_lists(ctx: Context) -> bool:
    """Whether this report's ``actions.xlsx`` carries the long lists (campaign list,
    cross-sell list, partner plans): the whole market's does, a region's only when
    ``report.excel_lists`` is ``every_region``. Writing them is the slowest part of
    step 5 (each cell is written: :func:`helpers.files.write_xlsx`); the market's workbook
    has every region's rows, up to ``report.excel_list_rows`` per list (:func:`excel_list`),
    and each region's are in its CSV files either way."""
    return ctx.scope.kind == "all" or ctx.config.report.excel_lists == "every_region"


def save_strategy(ctx: Context, tables: dict) -> None:
    """Write the exports (personal data only ever goes to these files, never to HTML).

    ``region_tiers.csv``, ``actions.csv``, ``campaign_list.csv``, ``cross_sell_list.csv``,
    ``partner_plans.csv`` (when partners are tiered), ``budget.csv`` and
    ``budget.json`` (when there is a proposal, or the reason there is none),
    ``actions.xlsx`` for people (sheets ``region actions``, then ``campaign list``,
    ``cross-sell list`` and ``partner plans`` when present and :func:`excel_lists`, each
    with at most ``report.excel_list_rows`` rows and, when the list is longer, a first line
    saying how many it has and which CSV file holds them all (:func:`excel_list`), and
    ``budget`` when present, named and headed in
    the report's language: :func:`helpers.text.tables.export_sheet`), the comparison files of
    :func:`helpers.analysis.monitor.save_comparison`, ``executive_summary.json``
    (``tables["summary"]``); and ``tier``/``tiers`` added to ``headline.json``.
    """
    out = ctx.out
    write_csv(tables["tiers"].drop(columns=REASON_COLUMNS), out / "region_tiers.csv")
    write_csv(tables["actions"], out / "actions.csv")
    write_csv(tables["campaign"], out / "campaign_list.csv")
    write_csv(tables["cross_sell"], out / "cross_sell_list.csv")
    if tables["partners"] is not None:
        write_csv(tables["partners"], out / "partner_plans.csv")
    plan = tables["budget"]
    if plan["table"] is not None:
        write_csv(plan["table"], out / "budget.csv")
    write_json({k: plan[k] for k in ("message", "error", "notes", "summary")},
               out / "budget.json")
    sheets = {"region actions": tables["actions"]}
    notes = {}
    if excel_lists(ctx):
        for name, key, file in EXCEL_LISTS:
            frame = tables[key]
            if frame is None or (key == "cross_sell" and not len(frame)):
                continue
            sheets[name], note = excel_list(frame, file, ctx.config.report.excel_list_rows,
                                            ctx.lang)
            if note:
                notes[text("sheet", name, ctx.lang)] = note
    if plan["table"] is not None:
        budget = plan["table"]
        sheets["budget"] = budget[[c for c in BUDGET_SHEET if c in budget.columns]]
    write_xlsx({text("sheet", name, ctx.lang): export_sheet(frame, ctx.lang,
                                                            currency=ctx.config.project.currency)
                for name, frame in sheets.items()}, out / "actions.xlsx", notes=notes)
    result = tables["comparison"]
    if result and "error" not in result:
        monitor.save_comparison(result, out)
    write_json(tables["summary"], out / "executive_summary.json")
    headline_path = out / "headline.json"
    headline = json.loads(headline_path.read_text("utf-8")) if headline_path.exists() else {}
    headline["tiers"] = tables["tiers"]["tier"].value_counts().to_dict()
    headline["tier"] = _overall_tier(tables["tiers"])
    write_json(headline, headline_path)


# --------------------------------------------------------------------------- what 05 shows
# One function per section of notebook 05 (its markdown cell tagged ``section-<key>``
# holds the heading and the words that do not depend on the data); each returns what
# the section shows, generated in the report's language. Personal data is never shown.


def summary_section(tables: dict) -> Markdown:
    """The executive summary: its findings as a numbered list (text from data as text)."""
    findings_ = tables["summary"]["findings"]
    return Markdown("\n".join(f"{i}. {md_text(f['text'])}" for i, f in enumerate(findings_, 1)))


def tiers_section(ctx: Context, tables: dict) -> Blocks:
    """The tier rules with this config's thresholds, and every region's tier with its
    reason and numbers (core first, then by revenue)."""
    tiers, rules = tables["tiers"], ctx.config.strategy
    intro = say("intro_tiers", ctx.lang, hot_share=rules.hot_share,
                hotspot_share=rules.hotspot_share, hot_growth=rules.hot_growth,
                declining=rules.declining_growth, emerging=rules.emerging_growth,
                gap=rules.gap_ratio)
    if ctx.benchmark is not None:
        intro += " " + say("tiers_market_city" if ctx.scope.kind == "city" else "tiers_market",
                           ctx.lang)
    if "baseline_ok" in tiers and len(tiers) and not tiers["baseline_ok"].astype(bool).all():
        coverage = tiers["baseline_coverage"].dropna()
        intro += "\n\n" + say("tiers_no_growth", ctx.lang,
                                coverage=float(coverage.iloc[0]) if len(coverage) else 0.0)
    if tables.get("outlook"):
        intro += "\n\n" + tables["outlook"]
    order = tiers["tier"].map({t: i for i, t in enumerate(TIERS)})
    shown = tiers.assign(_o=order).sort_values(["_o", "revenue"], ascending=[True, False],
                                               kind="mergesort")
    return Blocks(Markdown(intro),
                  ctx.show(shown, rows=None, shown=["region", "tier", "tier_reason", "customers",
                                                    "revenue", "share", "growth_yoy",
                                                    "gap_ratio"]))


def shown_actions(ctx: Context, tables: dict) -> tuple[pd.DataFrame, bool]:
    """The action list as the report shows it, and whether reps' names are masked.

    Sales reps' names are personal data: unless ``report.show_rep_names`` is true
    the report shows them masked (``魏** (S01)``, :func:`helpers.data.privacy.mask_pii`).
    ``actions.csv`` and ``actions.xlsx`` keep the full names (the contact lists). The
    evidence (the tier reason) is in the run's language, in the report and the files.
    """
    reps = ctx.prep.reps
    if ctx.config.report.show_rep_names or reps.empty or "name" not in reps:
        return tables["actions"], False
    masked = mask_pii(reps, columns=("name",))
    channels = ctx.config.strategy.channels(ctx.config.geography.country)
    return actions.with_profile_actions(
        actions.action_list(tables["tiers"], reps=masked, channels=channels), tables["tiers"],
        tables.get("profile_evidence") or {}, reps=masked), True


def playbook_section(ctx: Context, tables: dict) -> Blocks:
    """The playbook per tier and the first rows of the action list (reps' names masked
    unless configured, :func:`shown_actions`)."""
    shown, masked = shown_actions(ctx, tables)
    tiers = tables["tiers"]  # each tier's regions named in the report's language
    names = pd.Series(region_label(tiers, ctx.lang), index=tiers.index)
    regions = names.groupby(tiers["tier"]).agg(lambda n: join(list(n), ctx.lang))
    playbook = tables["playbook"].assign(regions=tables["playbook"]["tier"].map(regions))
    return Blocks(
        ctx.show(playbook, rows=None, shown=["tier", "action", "owner", "kpi", "regions"]),
        Markdown(say("intro_actions_masked" if masked else "intro_actions", ctx.lang)),
        ctx.show(shown, rows=15, file="actions.xlsx",
                 shown=["region", "tier", "action", "owner", "kpi", "evidence"]))


def budget_section(ctx: Context, tables: dict) -> Blocks:
    """The budget proposal (totals, expected effect, the table, method and assumptions),
    or why there is none."""
    plan, lang = tables["budget"], ctx.lang
    if plan["error"]:
        return Blocks(Markdown(say("budget_infeasible", lang, error=md_text(plan["error"]))))
    if plan["table"] is None:
        return Blocks(Markdown(md_text(plan["message"])))
    s = plan["summary"]
    money = currency_name(ctx.config.project.currency, lang)
    effect = s["expected_revenue_change"]
    summary = say("budget_summary", lang, current=s["current_total"], total=s["total"],
                  moved=s["moved"], currency=money)
    if effect is not None:
        summary += say("budget_effect", lang, low=effect["low"], high=effect["high"],
                       central=effect["central"], e_low=effect["elasticity_low"],
                       e_high=effect["elasticity_high"], currency=money)
    # the reasons and notes in the report's language (the plan holds the run's)
    table = plan["table"].assign(why=budget_reasons(plan["table"], plan["method"],
                                                    audience(ctx)))
    shown = ctx.show(table, rows=15, file="budget.csv",
                     shown=["region", "tier", "spend", "new_spend", "change", "change_pct",
                            "why"])
    notes = budget_notes(plan["method"], audience(ctx))
    if s.get("fit", 1.0) < 1:
        notes.insert(1, say("budget_fit", lang, fit=s["fit"]))
    method = say("budget_method", lang) + "\n\n" + "\n".join(f"- {md_text(n)}" for n in notes)
    return Blocks(Markdown(summary), shown, Markdown(method))


def customers_section(ctx: Context, tables: dict) -> Blocks:
    """Customers and their value per campaign and segment, with the segment's action
    (names and contacts stay in the exports)."""
    campaign = tables["campaign"]
    value = "ltv_12m" if "ltv_12m" in campaign else "monetary"
    summary = (campaign.groupby(["campaign", "segment"], sort=False)
               .agg(customers=("customer_id", "size"), value=(value, "sum"))
               .rename(columns={"value": f"{value}_sum"}).reset_index())
    shown = summary.merge(tables["segment_playbook"][["segment", "action", "kpi"]],
                          on="segment", how="left")
    return Blocks(ctx.show(shown, rows=None), *_cross_sell_parts(ctx, tables))


def _cross_sell_parts(ctx: Context, tables: dict) -> list:
    """The cross-sell gaps turned into customer lists: per gap, the customers to offer the
    category (names and contacts stay in cross_sell_list.csv); nothing without a gap."""
    from helpers.text.lookup import region_names
    from helpers.text.narrative.buyers import attribute_name, value_name

    found = tables.get("cross_sell")
    if found is None or not len(found):
        return []
    kind = found["gap_type"].fillna("region") if "gap_type" in found else "region"
    found = found.assign(gap_type=kind)
    segment = found["gap_type"] == "segment"
    # the gap's group: its region, or its segment (a value of a profile attribute)
    regional = found["region"].where(~segment)
    named = dict(zip(regional.dropna().unique(), region_names(regional.dropna().unique(),
                                                              ctx.lang), strict=True))
    found = found.assign(gap=[
        say("cross_sell_segment", ctx.lang, value=value_name(v, ctx.lang),
            attribute=attribute_name(a, ctx.lang)) if s else named.get(r, r)
        for s, r, a, v in zip(segment, found["region"], found.get("attribute", segment),
                              found.get("value", segment), strict=True)])
    gaps = (found.groupby(["gap_type", "gap", "category"], sort=False, dropna=False)
            .agg(targets=("customer_id", "size"), revenue=("revenue", "sum"),
                 penetration_index=("penetration_index", "first"), action=("action", "first"),
                 kpi=("kpi", "first")).reset_index())
    return [Markdown(say("cross_sell_intro", ctx.lang, n=len(gaps), customers=len(found))),
            ctx.show(gaps, rows=None, file="cross_sell_list.csv",
                     shown=["gap_type", "gap", "category", "targets", "penetration_index",
                            "revenue", "action", "kpi"])]


def partners_section(ctx: Context, tables: dict) -> Blocks:
    """Partners per A/B/C tier and plan, and the factors B-tier plans work on; or why
    there are no partner plans."""
    partners, lang = tables["partners"], ctx.lang
    if partners is None:  # the notes say why (all of them are about partners)
        return Blocks(Markdown(md_text(" ".join(tables["notes"]) or say("no_partners", lang))))
    plans = (partners.groupby(["partner_tier", "campaign", "action", "kpi"], sort=False)
             .size().rename("partners").reset_index())
    parts = [ctx.show(plans, rows=None, terms=["campaign", "action", "kpi"])]
    crowded = partner_balance(tables.get("partner_balance"), lang).strip()
    if crowded:  # one tier holds most partners: its playbook cannot be staffed as shown
        parts.insert(0, Markdown(crowded))
    b_tier = partners[(partners["partner_tier"] == "B") & (partners["focus"] != "")]
    if len(b_tier):
        focus = b_tier["focus"].str.split(", ").explode().value_counts()
        parts += [Markdown(say("partner_focus", lang)),
                  ctx.show(focus.rename("b_partners").rename_axis("factor").reset_index(),
                           rows=None)]
    return Blocks(*parts)


def monitoring_section(ctx: Context, tables: dict) -> Blocks:
    """What changed since the baseline run: tiers, newly blank and hot regions, segment
    migration; or why there is no comparison."""
    result, lang = tables["comparison"], ctx.lang
    if result is None:
        return Blocks(Markdown(say("no_baseline", lang)))
    if "error" in result:
        return Blocks(Markdown(say("no_comparison", lang, error=md_text(result["error"]))))
    s = result["summary"]
    bp, cp = s["baseline_period"], s["period"]
    parts = [Markdown(say("comparison_runs", lang, run=md_text(s["baseline_run"]),
                          b_start=md_text(bp["start"]), b_end=md_text(bp["end"]),
                          start=md_text(cp["start"]), end=md_text(cp["end"])))]
    parts += [Markdown(f"- {md_text(warning)}") for warning in warning_texts(result["warnings"], lang)]
    regions = result["regions"]
    if regions is not None:
        blank = ", ".join(map(str, s.get("newly_blank", []))) or say("none", lang)
        hot = ", ".join(map(str, s.get("newly_hot", []))) or say("none", lang)
        parts += [Markdown(say("comparison_tiers", lang, changes=len(s.get("tier_changes", [])),
                               blank=md_text(blank), hot=md_text(hot))),
                  ctx.show(regions, rows=20, shown=[
                      "region", "tier_before", "tier_now", "customers_before", "customers_now",
                      "revenue_before", "revenue_now", "revenue_change", "share_delta",
                      "newly_blank", "newly_hot"])]
    if result["migration"] is not None:
        parts += [Markdown(say("migration", lang, lost=s["champions_to_at_risk"],
                               won=s["at_risk_won_back"])),
                  ctx.show(result["migration"], rows=None)]
    return Blocks(*parts)


def _overall_tier(tiers: pd.DataFrame) -> str:
    """The tier holding most revenue: how the region reads at a glance on the index page."""
    by_revenue = tiers.groupby("tier")["revenue"].sum()
    return str(by_revenue.idxmax()) if by_revenue.sum() > 0 else "gap"
