"""What every notebook opens: :func:`open_step` turns its parameters into a :class:`Context`.

The context holds the config, the region's scope, the run's folders, the period, the
language and the objective; ``ctx.prep`` is the run's cleaned tables, loaded or built
through step 2 (:func:`helpers.steps.prep.ensure_prep`). :meth:`Context.show` makes a
table fit for a shared report (:class:`Table`); :class:`Blocks` shows several parts
from one call. Opening a step changes no pandas option: tables are formatted where
they render.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd
from IPython.display import Markdown

from helpers import geo
from helpers.analysis import engine, kpis
from helpers.analysis.benchmark import Benchmark
from helpers.analysis.extent import in_extent, no_region_sql
from helpers.analysis.extent import no_region as no_region_table
from helpers.catalog import get_objective
from helpers.config import Config, RunPaths, load_config
from helpers.data.engine import ParquetTable
from helpers.data.prepare import PrepResult
from helpers.data.privacy import PII_COLUMNS, mask_pii
from helpers.geo.extent import extent_names
from helpers.geo.reference import has_region_reference, load_region_reference
from helpers.geo.scope import Scope
from helpers.geo.territories import RegionError
from helpers.period import Period, check_end_day, order_days
from helpers.steps import market
from helpers.steps.prep import ensure_prep
from helpers.text.lookup import say
from helpers.text.markup import md_text
from helpers.text.tables import Table, report_table
from helpers.viz import theme

__all__ = ["Context", "open_step", "Table", "Blocks", "SINGLE_REGION_KEYS"]

#: The catalog key's ending of the sentence saying why a report has one region to compare,
#: for each reason of :meth:`Context.single_region` (``charts_municipality``,
#: ``lorenz_only_region``, ``concentration_one_region`` ...).
SINGLE_REGION_KEYS = {"city": "one_region", "municipality": "municipality",
                      "one_region": "only_region"}

class Blocks:
    """Markdown and tables shown one after the other: what one call of a report shows.

    A notebook cell ending in a :class:`Blocks` displays each part in order. Parts that
    are None are left out.
    """

    def __init__(self, *parts):
        self.parts = [part for part in parts if part is not None]

    def _ipython_display_(self) -> None:
        from IPython.display import display

        for part in self.parts:
            display(part)

    def text(self) -> str:
        """Every part as text: markdown as written, tables as HTML (for tests and checks)."""
        return "\n".join(p.data if isinstance(p, Markdown) else p.to_html() for p in self.parts)


@dataclass
class Context:
    """What every notebook needs: config, region scope, run folder, period, language,
    objective.

    Build it with :func:`open_step` from the notebook's parameters.
    """

    config: Config
    scope: Scope
    run: RunPaths
    out: Path
    lang: str
    mask_pii: bool
    period_end_param: str = ""
    objective: str = "find_new_markets"

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
        """Orders of customers in scope (a city's: of its customers; orders carry the
        customer's province, not the city). When the orders stay in their Parquet file
        (:attr:`lines`), only the scope's lines are read."""
        orders = self.prep.orders
        if isinstance(orders, ParquetTable):
            return pd.read_parquet(orders.path, filters=self._lines_filter())
        if self.scope.kind == "city":
            return orders[orders["customer_id"].isin(self.customers["customer_id"])].copy()
        return self.scope.filter(orders)

    def _lines_filter(self) -> list | None:
        """:attr:`orders`' rule as a Parquet filter (None: every line)."""
        if self.scope.kind == "all":
            return None
        if self.scope.kind == "city":
            return [("customer_id", "in", list(self.customers["customer_id"].dropna()))]
        return [("province", "in", list(self.scope.provinces))]

    def first_orders(self, n: int) -> pd.DataFrame:
        """The scope's first ``n`` order lines (step 2's preview; their count:
        :func:`helpers.steps.prep.line_counts`), without reading every line when they stay
        in their Parquet file."""
        orders = self.prep.orders
        if not isinstance(orders, ParquetTable):
            return self.orders.head(n)
        import pyarrow.dataset as ds
        import pyarrow.parquet as pq

        rule = self._lines_filter()
        return ds.dataset(orders.path).scanner(
            filter=None if rule is None else pq.filters_to_expression(rule)).head(n).to_pandas()

    @cached_property
    def lines(self):
        """The scope's order lines inside DuckDB, or None when they are summed in pandas.

        On large data (:func:`helpers.steps.market.aggregation`: step 2 ran on DuckDB or
        ``orders.parquet`` is large) a connection from
        :func:`helpers.analysis.engine.open_lines` whose view ``lines`` holds the lines of
        :attr:`orders` and ``market_lines`` every line: the ``*_sql`` twins of the
        functions that read order lines read them there, so a report needs memory for
        its customers and regions, not its lines."""
        if market.aggregation(self)["path"] != "duckdb":
            return None
        path = self.run.prep / "orders.parquet"
        if self.scope.kind == "city":
            return engine.open_lines(path, customer_ids=self.customers["customer_id"])
        return engine.open_lines(path, provinces=None if self.scope.kind == "all"
                                 else list(self.scope.provinces))

    @cached_property
    def order_days(self) -> pd.Series:
        """The distinct days with an order in the whole market (:func:`helpers.period.order_days`):
        what the period and the coverage of a comparison read from the order dates."""
        orders = self.prep.orders
        if isinstance(orders, ParquetTable):  # the lines stay in their file
            return engine.order_days(orders.path)
        return order_days(orders["order_date"])

    @cached_property
    def market_areas(self) -> tuple[str, ...]:
        """Official names of the first-level areas in the market (``geography.extent``)."""
        return extent_names(self.config)

    @cached_property
    def period(self) -> Period:
        """The analysis period: ``analysis.period_months`` up to ``period_end`` (default:
        the last order day of the whole market, so every region of a run has the same)."""
        return Period.ending(self.period_end_param or None,
                             self.config.analysis.period_months, dates=self.order_days)

    @cached_property
    def period_orders(self) -> pd.DataFrame:
        """Orders of customers in scope placed in the analysis period."""
        return self.orders.loc[self.period.contains(self.orders["order_date"])]

    def heading(self) -> Markdown:
        """A line naming the region, period and run, under the notebook's title.

        The region (a territory's name comes from ``workbook.yaml``) and the run id
        are data: :func:`helpers.text.markup.md_text`, never in a code span.
        """
        return Markdown(say("heading", self.lang, region=md_text(self.scope.label(self.lang)),
                            period=md_text(self.period.label(self.lang)), run=md_text(self.run.root.name)))

    @cached_property
    def benchmark(self) -> Benchmark | None:
        """What the regions of a territory or a city report are judged against: the whole
        market's KPIs at the report's level: a territory's provinces against every
        province of the market (computed once per run, :func:`helpers.steps.market.
        province_kpis`), a city against every city of the market (every customer in the
        market's extent; the gazetteer's cities without customers are blank rows, as
        blank provinces are). None in the market and province reports (their regions
        are judged among themselves)."""
        if self.scope.kind == "territory":
            return Benchmark(market.province_kpis(self))
        if self.scope.kind == "city":
            customers = in_extent(self.prep.customers, self.market_areas)
            cities = geo.cities()
            universe = list(cities.loc[cities["province"].isin(self.market_areas), "city"])
            if self.lines is not None:  # the market's lines summed per customer in DuckDB
                return Benchmark(self._kpis_by_region("city", customers, None, universe, None,
                                                      windows=self._windows("market_lines")))
            return Benchmark(self._kpis_by_region("city", customers, self.prep.orders,
                                                  universe, None))
        return None

    def kpis_by_region(self, level: str | None = None) -> pd.DataFrame:
        """The KPI table of the regions inside the scope, one row per region
        (:func:`helpers.analysis.kpis.region_kpis` with this report's period, settings,
        reference data and benchmark): provinces, or cities in a province report
        (``level``, default the scope's).

        Steps 3 and 4 both call this, so their KPI tables agree. In a territory
        report the provinces are judged against the whole market
        (:attr:`benchmark`), so that a province reads the same in every
        report: ``share`` stays the share of the territory's revenue,
        ``market_share`` is added, and the gap columns come from the market-wide
        model (a fit on 31 provinces, not on the territory's few).

        At province level only customers in the market's extent count
        (:attr:`market_areas`): areas outside it (Puerto Rico in a US market) are
        not rows here, so they are never tiered, a gap or given an action;
        :meth:`no_region` lists them.

        A city report has one row, the city (also when it has no customers), judged
        against every city of the market (:attr:`benchmark`): ``market_share``, its
        tier by its share of the market's revenue, the hot-spot statistics of the
        market's cities.
        """
        level = level or self.scope.sublevel
        if level == "province" and self.scope.kind == "all":  # computed once per run
            return market.province_kpis(self)
        universe = list(self.scope.provinces) if level == "province" else []
        benchmark = self.benchmark if level == "province" else None
        if self.scope.kind == "city" and level == "city":
            # the city is its report's one row, also without customers (a blank city)
            universe, benchmark = [self.scope.name], self.benchmark
        if self.lines is not None:  # the scope's lines summed per customer in DuckDB
            return self._kpis_by_region(level, self.customers, None, universe, benchmark,
                                        windows=self._windows("lines"))
        return self._kpis_by_region(level, self.customers, self.orders, universe, benchmark)

    def _windows(self, source: str) -> pd.DataFrame:
        """The order lines of :attr:`lines`' view ``source`` (``lines``: the scope's,
        ``market_lines``: the market's) summed per customer in DuckDB
        (:func:`helpers.analysis.kpis.customer_windows_sql`), once per context."""
        cache = self.__dict__.setdefault("_line_windows", {})
        if source not in cache:
            a = self.config.analysis
            cache[source] = kpis.customer_windows_sql(
                self.lines, period=self.period, active_months=a.active_months,
                pop_months=a.pop_months, source=source)
        return cache[source]

    def _kpis_by_region(self, level: str, customers: pd.DataFrame, orders: pd.DataFrame | None,
                        universe: list[str], benchmark: Benchmark | None, *,
                        windows: pd.DataFrame | None = None,
                        data_dates: pd.Series | None = None) -> pd.DataFrame:
        """:func:`helpers.analysis.kpis.region_kpis` with this report's settings; the lines
        summed per customer (``windows``, with ``data_dates``) instead of ``orders`` when
        given (:func:`helpers.steps.market.province_kpis` on large data)."""
        a = self.config.analysis
        country = self.config.geography.country
        reference = None
        if level == "province":
            customers = in_extent(customers, self.market_areas)
            universe = [name for name in universe if name in self.market_areas]
            if has_region_reference(country):
                reference = load_region_reference(country)
        return kpis.region_kpis(
            customers, orders, level=level, period=self.period, active_months=a.active_months,
            pop_months=a.pop_months, reference=reference,
            universe=universe, min_customers=a.min_customers, expected_method=a.expected_model,
            benchmark=benchmark, country=country,
            data_dates=self.order_days if data_dates is None else data_dates,
            min_coverage=a.min_baseline_coverage, windows=windows,
        )

    def single_region(self, regions: pd.DataFrame) -> str | None:
        """Why a chart or measure comparing this report's ``regions`` (rows of
        :meth:`kpis_by_region`) has nothing to compare, or None when it has:

        - ``city``: a city report, whose one region is the city;
        - ``municipality``: a province whose one city is itself (北京, 上海, 天津, 重庆);
        - ``one_region``: any other report with one row in ``regions`` (a territory of
          one province; the one region with customers in a thin market).

        No rows is not one region: the charts say there is nothing to draw. Each reason's
        sentence ends its catalog key with :data:`SINGLE_REGION_KEYS`' value.
        """
        if self.scope.kind == "city":
            return "city"
        if len(regions) != 1:
            return None
        if self.scope.kind == "province" and self.config.geography.country == "CN":
            cities = geo.cities()
            if int((cities["province"] == self.scope.name).sum()) == 1:
                return "municipality"
        return "one_region"

    def no_region(self) -> pd.DataFrame:
        """The scope's customers who are in no region row of :meth:`kpis_by_region`, one
        line per reason (:func:`helpers.analysis.extent.no_region`): areas outside the
        market's extent, customers abroad or with a place name not resolved (market and
        territory reports), customers without a city (a province report). The region
        rows and these lines add up to every customer in scope."""
        a = self.config.analysis
        args = dict(level=self.scope.sublevel, areas=self.market_areas,
                    country=self.config.geography.country, period=self.period,
                    active_months=a.active_months, pop_months=a.pop_months)
        if self.lines is not None:  # the scope's lines summed per customer in DuckDB
            return no_region_sql(self.lines, self.customers, windows=self._windows("lines"),
                                 data_dates=self.order_days, **args)
        return no_region_table(self.customers, self.orders, **args)

    def show(self, frame: pd.DataFrame, *, rows: int | None = 20, columns=PII_COLUMNS,
             free_text=(), terms: Iterable[str] = (), shown: Iterable[str] | None = None,
             file: str | None = None, total: int | None = None, empty: str | None = None,
             more_key: str | None = None) -> Table:
        """A table fit for a shared report: personal data masked, then shown by
        :func:`helpers.text.tables.report_table` in the report's language and number
        habits, with the configured currency.

        ``columns`` hold personal data (masked whole); ``free_text`` columns have the
        e-mail addresses and phone numbers in them masked
        (:func:`helpers.data.privacy.mask_pii`). Nothing is masked when the run says
        ``mask_pii=False``. ``shown`` are the columns a reader needs (default all),
        ``rows`` the most rows shown (None: all), ``file`` the export holding the
        full table (relative to the report), linked from "n more in <file>";
        ``terms``, ``total``, ``empty`` and ``more_key`` as for ``report_table``.
        """
        masked = mask_pii(frame if rows is None else frame.head(rows), columns,
                          enabled=self.mask_pii, free_text=free_text)
        return report_table(masked, self.lang, currency=self.config.project.currency,
                            columns=shown, rows=rows, terms=terms, file=file,
                            total=len(frame) if total is None else total, empty=empty,
                            more_key=more_key)


def open_step(*, region: str = "ALL", run_dir: str = "", config: str = "",
              period_end: str = "", lang: str = "en", mask_pii: bool = True,
              objective: str = "find_new_markets") -> Context:
    """The notebook's derived values from its parameters; errors name the parameter.

    Applies the chart theme (:func:`helpers.viz.theme.apply`); changes no pandas option.

    Raises
    ------
    ValueError
        A parameter that is not one of its choices (``lang``, ``objective``), a
        ``period_end`` that is not a date, ``mask_pii`` that is not True or False,
        a ``region`` the config does not know (:class:`~helpers.geo.territories.RegionError`).
    helpers.config.ConfigError
        A config file that is missing or wrong.
    """
    if lang not in ("en", "zh"):
        raise ValueError(f"parameter lang must be 'en' or 'zh', got {lang!r}")
    try:
        check_end_day(period_end)
    except ValueError as exc:
        raise ValueError(f"parameter period_end {exc}") from None
    if not isinstance(mask_pii, bool):
        raise ValueError(f"parameter mask_pii must be True or False, got {mask_pii!r}")
    get_objective(objective)
    cfg = load_config(config)
    try:
        scope = Scope.parse(region, cfg)
    except RegionError as exc:
        raise RegionError(f"parameter region: {exc}") from None
    run = RunPaths.for_run(cfg, run_dir)
    theme.apply()
    return Context(cfg, scope, run, run.region(scope.slug), lang, mask_pii, period_end,
                   objective)
