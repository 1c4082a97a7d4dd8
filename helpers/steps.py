"""What each step computes and writes, so a later notebook can build what is missing.

Notebooks call these and show the results; the batch runner calls
:func:`ensure_prep` once per run. Each function returns plain tables.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd
from IPython.display import Markdown

from helpers import kpi, segments, strategy
from helpers.config import Config, RunPaths, load_config
from helpers.fonts import use_cjk_font
from helpers.prep import PrepResult, build_prep, input_files, load_prep, save_prep
from helpers.privacy import mask_pii
from helpers.scope import Scope, territory_map


def _fingerprint(config: Config) -> dict:
    """What the prep depends on: the config file's hash and each input's size and mtime."""
    files = {}
    for path in input_files(config):
        stat = path.stat() if path.exists() else None
        files[str(path)] = [stat.st_size, stat.st_mtime_ns] if stat else None
    digest = hashlib.sha256(config.config_path.read_bytes()).hexdigest()
    return {"config": str(config.config_path), "config_sha256": digest, "files": files}


def ensure_prep(config: Config, run: RunPaths, *, rebuild: bool = False) -> PrepResult:
    """Load the run's cleaned tables, building them first when missing or stale."""
    fingerprint = _fingerprint(config)
    summary = run.prep / "prep.json"
    if not rebuild and summary.exists():
        saved = json.loads(summary.read_text("utf-8")).get("fingerprint")
        if saved == json.loads(json.dumps(fingerprint)):
            return load_prep(run.prep)
    result = build_prep(config)
    save_prep(result, run.prep, fingerprint)
    return result


def _plain(value):
    """JSON-ready copy: NaN and NA become None, numpy scalars Python numbers."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, pd.Timestamp) and value is not pd.NaT:
        return f"{value:%Y-%m-%d}" if value == value.normalize() else value.isoformat()
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def write_json(data: dict, path: Path) -> Path:
    """Write ``data`` as readable UTF-8 JSON (NaN and NA as null)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_plain(data), ensure_ascii=False, indent=2, default=str), "utf-8")
    return path


# --------------------------------------------------------------------------- context


@dataclass
class Context:
    """What every notebook needs: config, region scope, run folder, period, language.

    Build it with :func:`open_step` from the notebook's parameters.
    """

    config: Config
    scope: Scope
    run: RunPaths
    out: Path
    lang: str
    mask_pii: bool
    period_end_param: str = ""

    @cached_property
    def prep(self) -> PrepResult:
        """The run's cleaned tables (built through step 2 when missing)."""
        return ensure_prep(self.config, self.run)

    @cached_property
    def customers(self) -> pd.DataFrame:
        """Customers in scope."""
        return self.scope.filter(self.prep.customers)

    @cached_property
    def orders(self) -> pd.DataFrame:
        """Orders of customers in scope."""
        return self.scope.filter(self.prep.orders)

    @cached_property
    def period(self) -> dict:
        """Current and previous analysis period (same end for every region of a run)."""
        return kpi.period_windows(self.prep.orders, self.period_end_param or None,
                                  months=self.config.analysis.period_months)

    @property
    def period_text(self) -> str:
        p = self.period
        first_day = p["start"] + pd.Timedelta(days=1)
        return f"{first_day:%Y-%m-%d} – {p['end']:%Y-%m-%d}"

    def heading(self) -> Markdown:
        """A line naming the region, period and run, under the notebook's title."""
        region = html.escape(self.scope.label(self.lang))
        if self.lang == "zh":
            text = f"**{region}** · 分析期 {self.period_text} · 运行 `{self.run.root.name}`"
        else:
            text = f"**{region}** · period {self.period_text} · run `{self.run.root.name}`"
        return Markdown(text)

    def show(self, frame: pd.DataFrame, *, rows: int = 20):
        """A table fit for a shared report: personal data masked, at most ``rows`` rows."""
        return mask_pii(frame.head(rows), enabled=self.mask_pii)


def open_step(*, region: str = "ALL", run_dir: str = "", config: str = "",
              period_end: str = "", lang: str = "en", mask_pii: bool = True) -> Context:
    """The notebook's derived values from its parameters; errors name what is wrong."""
    if lang not in ("en", "zh"):
        raise ValueError(f"parameter lang must be 'en' or 'zh', got {lang!r}")
    if period_end:
        try:
            pd.Timestamp(period_end)
        except ValueError:
            raise ValueError(f"parameter period_end must be a date like 2025-12-31, "
                             f"got {period_end!r}") from None
    cfg = load_config(config)
    scope = Scope.parse(region, cfg)
    run = RunPaths.for_run(cfg, run_dir)
    use_cjk_font()
    pd.set_option("display.max_colwidth", 120)
    return Context(cfg, scope, run, run.region(scope.slug), lang, mask_pii, period_end)


# --------------------------------------------------------------------------- step 1

OBJECTIVES = {
    "find_new_markets": "Find new markets: where are blank and under-served regions?",
    "reallocate_resources": "Reallocate sales and marketing resources between regions",
    "compare_regions": "Compare regions on size, growth and efficiency",
    "keep_valuable_customers": "Keep and grow valuable customers",
    "tier_partners": "Tier channel partners A/B/C",
}
KPIS = [
    ("customers", "customers with a location in the region", "count"),
    ("active_customers", "customers with an order in the last active window", "count"),
    ("revenue", "net order amount in the period (returns subtracted)", "CNY"),
    ("growth_yoy", "(revenue - previous period revenue) / previous period revenue", "%"),
    ("share", "region revenue / market revenue in the period", "%"),
    ("customers_per_million", "customers per million residents (2020 census)", "per 1M"),
    ("gap_ratio", "customers / customers expected from population and GDP", "ratio"),
]


def goals_brief(ctx: Context, objective: str = "find_new_markets") -> dict:
    """The analysis brief: objective, KPIs, periods, regions in scope and data checks."""
    if objective not in OBJECTIVES:
        raise ValueError(f"parameter objective must be one of {list(OBJECTIVES)}, got {objective!r}")
    p = ctx.period
    has_spend = not ctx.prep.spend.empty
    has_firmographics = "business_model" in ctx.prep.customers and \
        ctx.prep.customers["business_model"].notna().any()
    return {
        "objective": objective,
        "objective_text": OBJECTIVES[objective],
        "region": ctx.scope.name,
        "region_label": ctx.scope.label(ctx.lang),
        "provinces_in_scope": list(ctx.scope.provinces),
        "period_start": p["start"] + pd.Timedelta(days=1),
        "period_end": p["end"],
        "baseline_start": p["prev_start"] + pd.Timedelta(days=1),
        "baseline_end": p["prev_end"],
        "kpis": [{"kpi": k, "definition": d, "unit": u} for k, d, u in KPIS],
        "thresholds": ctx.config.strategy.model_dump(),
        "data": {"customers": len(ctx.customers), "orders": len(ctx.orders),
                 "marketing_spend": has_spend, "partner_firmographics": has_firmographics},
        "warnings": [w for w, ok in [
            ("no marketing spend configured: ROI cannot be computed", has_spend),
            ("no partner firmographics: A/B/C partner tiers cannot be computed", has_firmographics),
            (f"only {len(ctx.customers)} customers in scope: treat rates with care",
             len(ctx.customers) >= ctx.config.analysis.min_customers),
        ] if not ok],
    }


# --------------------------------------------------------------------------- step 4


def region_kpis(ctx: Context, level: str | None = None) -> pd.DataFrame:
    """KPIs per region inside the scope (provinces, or cities in a province report)."""
    level = level or ctx.scope.sublevel
    a = ctx.config.analysis
    universe = list(ctx.scope.provinces) if level == "province" else []
    return kpi.region_kpis(
        ctx.customers, ctx.orders, level=level, period_end=ctx.period["end"],
        months=a.period_months, active_months=a.active_months,
        reference=kpi.load_province_reference() if level == "province" else None,
        universe=universe, min_customers=a.min_customers,
    )


def insight_tables(ctx: Context) -> dict:
    """Step 4: region KPIs, concentration and RFM segments for the scope."""
    kpis = region_kpis(ctx)
    p = ctx.period
    in_period = ctx.orders[(ctx.orders["order_date"] > p["start"])
                           & (ctx.orders["order_date"] <= p["end"])]
    by_customer = in_period.groupby("customer_id")["amount"].sum()
    unit = "cities" if ctx.scope.sublevel == "city" else "provinces"
    names = kpis["region_en"] if ctx.lang == "en" else kpis["region"]
    concentration = {
        "regions": kpi.concentration(kpis.set_index("region")["revenue"]),
        "customers": kpi.concentration(by_customer),
        "statement_regions": kpi.concentration_statement(
            kpis["revenue"], names, unit=unit, lang=ctx.lang),
        "statement_customers": kpi.concentration_statement(
            by_customer, None, unit="customers", lang=ctx.lang),
    }
    rfm_table = segments.rfm(ctx.orders[ctx.orders["order_date"] <= p["end"]],
                             as_of=p["end"] + pd.Timedelta(days=1), bins=ctx.config.analysis.rfm_bins)
    total = kpis[["customers", "active_customers", "revenue", "revenue_prev"]].sum()
    headline = {
        "region": ctx.scope.name, "label": ctx.scope.label(ctx.lang),
        "customers": int(total["customers"]), "active_customers": int(total["active_customers"]),
        "revenue": float(total["revenue"]),
        "growth_yoy": float(total["revenue"] / total["revenue_prev"] - 1)
        if total["revenue_prev"] > 0 else None,
        "period_start": p["start"] + pd.Timedelta(days=1), "period_end": p["end"],
    }
    return {"region_kpis": kpis, "concentration": concentration, "rfm": rfm_table,
            "segment_summary": segments.segment_summary(rfm_table), "headline": headline}


def save_insight(ctx: Context, tables: dict) -> None:
    """Write step 4's tables to the region folder (read by step 5 and the index page)."""
    tables["region_kpis"].to_csv(ctx.out / "region_kpis.csv", index=False)
    tables["rfm"].to_csv(ctx.out / "rfm.csv", index=False)
    tables["segment_summary"].to_csv(ctx.out / "segment_summary.csv", index=False)
    write_json(tables["concentration"], ctx.out / "concentration.json")
    write_json(tables["headline"], ctx.out / "headline.json")


def ensure_insight(ctx: Context) -> dict:
    """Step 4's tables from the region folder, computed and saved first when missing."""
    needed = ["region_kpis.csv", "rfm.csv", "segment_summary.csv", "headline.json"]
    if not all((ctx.out / name).exists() for name in needed):
        tables = insight_tables(ctx)
        save_insight(ctx, tables)
        return tables
    return {
        "region_kpis": pd.read_csv(ctx.out / "region_kpis.csv"),
        "rfm": pd.read_csv(ctx.out / "rfm.csv", dtype={"customer_id": "string"}),
        "segment_summary": pd.read_csv(ctx.out / "segment_summary.csv"),
        "headline": json.loads((ctx.out / "headline.json").read_text("utf-8")),
    }


# --------------------------------------------------------------------------- step 5


def strategy_tables(ctx: Context, insight: dict) -> dict:
    """Step 5: region tiers with evidence, the action list and the campaign list."""
    rules = ctx.config.strategy.model_dump()
    tiers = strategy.region_tiers(insight["region_kpis"], rules=rules,
                                  min_customers=ctx.config.analysis.min_customers)
    if "territory" not in tiers and ctx.scope.sublevel == "province":
        territory = territory_map(ctx.config).set_index("province")["territory"]
        tiers = tiers.assign(territory=tiers["region"].map(territory))
    elif "territory" not in tiers:
        tiers = tiers.assign(territory=ctx.customers["territory"].dropna().iloc[0]
                             if ctx.customers["territory"].notna().any() else pd.NA)
    actions = strategy.action_list(tiers, reps=ctx.prep.reps)
    campaign = strategy.segment_actions(insight["rfm"], ctx.prep.customers)
    return {"tiers": tiers, "actions": actions, "campaign": campaign,
            "playbook": strategy.playbook(tiers)}


def save_strategy(ctx: Context, tables: dict) -> None:
    """Write tiers and action lists (CSV and Excel); personal data only goes to files."""
    tables["tiers"].to_csv(ctx.out / "region_tiers.csv", index=False)
    tables["actions"].to_csv(ctx.out / "actions.csv", index=False)
    with pd.ExcelWriter(ctx.out / "actions.xlsx") as book:
        tables["actions"].to_excel(book, sheet_name="region actions", index=False)
        tables["campaign"].to_excel(book, sheet_name="campaign list", index=False)
    tables["campaign"].to_csv(ctx.out / "campaign_list.csv", index=False)
    headline_path = ctx.out / "headline.json"
    headline = json.loads(headline_path.read_text("utf-8")) if headline_path.exists() else {}
    counts = tables["tiers"]["tier"].value_counts().to_dict()
    headline["tiers"] = counts
    headline["tier"] = _overall_tier(tables["tiers"])
    write_json(headline, headline_path)


def executive_summary(ctx: Context, insight: dict, plan: dict) -> Markdown:
    """The findings that open the strategy report, each with its number (text escaped)."""
    headline, tiers = insight["headline"], plan["tiers"]
    name = "region_en" if ctx.lang == "en" else "region"
    growth = headline.get("growth_yoy")
    findings = [
        f"**{headline['customers']:,} customers**, revenue **{headline['revenue']:,.0f}** "
        f"in the period" + (f", **{growth:+.1%}** on the baseline" if growth is not None else ""),
    ]
    for tier in ["core", "emerging", "declining", "gap"]:
        regions = tiers.loc[tiers["tier"] == tier].sort_values("revenue", ascending=False)[name]
        if len(regions):
            more = " ..." if len(regions) > 6 else ""
            findings.append(f"**{tier}**: {len(regions)} region(s): "
                            f"{', '.join(map(str, regions.head(6)))}{more}")
    return Markdown("\n".join(f"- {html.escape(line)}" for line in findings))


def _overall_tier(tiers: pd.DataFrame) -> str:
    """The tier holding most revenue: how the region reads at a glance on the index page."""
    by_revenue = tiers.groupby("tier")["revenue"].sum()
    return str(by_revenue.idxmax()) if by_revenue.sum() > 0 else "gap"
