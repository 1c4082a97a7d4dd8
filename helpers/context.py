"""What every notebook opens: :func:`open_step` turns its parameters into a :class:`Context`.

The context holds the config, the region's scope, the run's folders, the period and
the language; ``ctx.prep`` is the run's cleaned tables, loaded or built through
step 2 (:func:`helpers.steps.prep.ensure_prep`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd
from IPython.display import Markdown

from helpers.analysis import kpis
from helpers.analysis.benchmark import Benchmark
from helpers.analysis.extent import in_extent
from helpers.analysis.extent import outside_extent as outside_extent_table
from helpers.config import Config, RunPaths, load_config
from helpers.data.prepare import PrepResult
from helpers.data.privacy import PII_COLUMNS, mask_pii
from helpers.geo.extent import extent_names
from helpers.geo.reference import has_region_reference, load_region_reference
from helpers.geo.scope import Scope
from helpers.period import Period
from helpers.steps.prep import ensure_prep
from helpers.text.format import report_number
from helpers.text.lookup import say
from helpers.text.markup import md_text
from helpers.viz import theme


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
    def market_areas(self) -> tuple[str, ...]:
        """Official names of the first-level areas in the market (``geography.extent``)."""
        return extent_names(self.config)

    @cached_property
    def period(self) -> Period:
        """The analysis period: ``analysis.period_months`` up to ``period_end`` (default:
        the last order day of the whole market, so every region of a run has the same)."""
        return Period.ending(self.period_end_param or None,
                             self.config.analysis.period_months,
                             dates=self.prep.orders["order_date"])

    def heading(self) -> Markdown:
        """A line naming the region, period and run, under the notebook's title.

        The region (a territory's name comes from ``workbook.yaml``) and the run id
        are data: :func:`helpers.text.markup.md_text`, never in a code span.
        """
        return Markdown(say("heading", self.lang, region=md_text(self.scope.label(self.lang)),
                            period=md_text(self.period.label(self.lang)), run=md_text(self.run.root.name)))

    @cached_property
    def benchmark(self) -> Benchmark | None:
        """What a territory's provinces are judged against: the whole market's province
        KPIs (every customer, every province). None outside a territory report."""
        if self.scope.kind != "territory":
            return None
        universe = list(Scope.parse("ALL", self.config).provinces)
        return Benchmark(_region_kpis(self, "province", self.prep.customers,
                                      self.prep.orders, universe, None))

    def show(self, frame: pd.DataFrame, *, rows: int | None = 20, columns=PII_COLUMNS,
             free_text=()):
        """A table fit for a shared report: personal data masked, at most ``rows`` rows
        (None: all of them).

        ``columns`` hold personal data (masked whole); ``free_text`` columns have the
        e-mail addresses and phone numbers in them masked
        (:func:`helpers.data.privacy.mask_pii`). Nothing is masked when the run says
        ``mask_pii=False``.
        """
        shown = frame if rows is None else frame.head(rows)
        return mask_pii(shown, columns, enabled=self.mask_pii, free_text=free_text)


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
    theme.apply()
    pd.set_option("display.max_colwidth", 120)
    pd.set_option("display.float_format", report_number)
    return Context(cfg, scope, run, run.region(scope.slug), lang, mask_pii, period_end)


def region_kpis(ctx: Context, level: str | None = None) -> pd.DataFrame:
    """KPIs per region inside the scope (provinces, or cities in a province report).

    Steps 3 and 4 both call this, so their KPI tables agree. In a territory
    report the provinces are judged against the whole market
    (:attr:`Context.benchmark`), so that a province reads the same in every
    report: ``share`` stays the share of the territory's revenue,
    ``market_share`` is added, and the gap columns come from the market-wide
    model (a fit on 31 provinces, not on the territory's few).

    At province level only customers in the market's extent count
    (:attr:`Context.market_areas`): areas outside it (Puerto Rico in a US market)
    are not rows here, so they are never tiered, a gap or given an action;
    :func:`outside_extent` lists them.
    """
    level = level or ctx.scope.sublevel
    universe = list(ctx.scope.provinces) if level == "province" else []
    benchmark = ctx.benchmark if level == "province" else None
    return _region_kpis(ctx, level, ctx.customers, ctx.orders, universe, benchmark)


def _region_kpis(ctx: Context, level: str, customers: pd.DataFrame, orders: pd.DataFrame,
                 universe: list[str], benchmark: Benchmark | None) -> pd.DataFrame:
    a = ctx.config.analysis
    country = ctx.config.geography.country
    reference = None
    if level == "province":
        customers = in_extent(customers, ctx.market_areas)
        universe = [name for name in universe if name in ctx.market_areas]
        if has_region_reference(country):
            reference = load_region_reference(country)
    return kpis.region_kpis(
        customers, orders, level=level, period=ctx.period, active_months=a.active_months,
        pop_months=a.pop_months, reference=reference,
        universe=universe, min_customers=a.min_customers, expected_method=a.expected_model,
        benchmark=benchmark,
    )


def outside_extent(ctx: Context) -> pd.DataFrame:
    """Areas of the scope's customers outside the market's extent, with their customers
    and revenue (:func:`helpers.analysis.extent.outside_extent`); empty in a province
    report (its regions are cities)."""
    a = ctx.config.analysis
    customers = ctx.customers if ctx.scope.sublevel == "province" else ctx.customers.iloc[0:0]
    return outside_extent_table(customers, ctx.orders, ctx.market_areas, period=ctx.period,
                                active_months=a.active_months, pop_months=a.pop_months)
