"""Loading and checking ``workbook.yaml``, and the paths of a run.

Everything a notebook needs to find files comes from here, never from the
notebook's working directory. A config that is wrong stops the run with a
:class:`ConfigError` whose message names the key and what was expected. The
schema of one source (its files, how to read them, its column mapping) is
:class:`helpers.data.sources.Source`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from helpers.data.sources import KNOWN_COLUMNS, REQUIRED_COLUMNS, Source

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = PROJECT_ROOT / "workbook.yaml"


class MessageError(ValueError):
    """An error whose message says all the user needs (file, column, line or key, and
    what to do). A notebook shows the message alone, without a traceback."""

    def _render_traceback_(self) -> list[str]:  # IPython's hook for how an error is shown
        return [f"{type(self).__name__}: {self}"]


class ConfigError(MessageError):
    """A problem in ``workbook.yaml``; the message names the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Paths(_Strict):
    data: str = "data/sample"
    reports: str = "reports"


class Project(_Strict):
    name: str = "Customer distribution"
    currency: str = "CNY"


class Duplicates(_Strict):
    """Customers with different ids but the same name and phone (or name and city).

    ``flag`` lists them in ``PrepResult.duplicates``; ``merge`` also merges each
    group into its first customer (counted as merged) and moves the orders there.
    """

    match: list[list[str]] = [["name", "phone"], ["name", "city"]]
    action: Literal["flag", "merge"] = "flag"


class Identity(_Strict):
    customer_key: str = "customer_id"
    duplicates: Duplicates = Duplicates()


def _country_code(value: str) -> str:
    import pycountry

    text = str(value).strip()
    if text.upper() in ("WORLD", "ALL COUNTRIES", "GLOBAL"):
        return "WORLD"  # a world market: its regions are the countries
    try:
        country = pycountry.countries.lookup(text)
    except LookupError:
        raise ValueError(f"unknown country {text!r}; expected an ISO 3166 code such as CN, "
                         "BR or US, or WORLD for a market whose regions are countries") from None
    return country.alpha_2


class Extent(_Strict):
    """Which first-level areas belong to the market (``geography.extent``).

    The market is the country's default extent (:func:`helpers.geo.extent.default_extent`:
    the 50 US states and DC; China's 31 mainland provinces; all first-level units
    elsewhere except overseas and outlying areas; every country in a world market) plus
    ``include`` minus ``exclude``,
    both lists of area names in any spelling (``Puerto Rico``, ``PR``, ``US-PR``; 香港).
    """

    include: list[str] = []
    exclude: list[str] = []


class Geography(_Strict):
    country: str = "CN"
    coordinates: Literal["wgs84", "gcj02", "bd09"] = "wgs84"
    territories: dict[str, list[str]] = {}
    # Customers without a location of their own take one from their orders' ship-to.
    customer_location: Literal["most_frequent", "latest", "first", "none"] = "most_frequent"
    extent: Extent = Extent()

    @field_validator("country")
    @classmethod
    def _iso(cls, value: str) -> str:
        return _country_code(value)

    @model_validator(mode="after")
    def _extent_names(self):
        if self.extent.include or self.extent.exclude:
            from helpers.geo.extent import check_extent_names

            check_extent_names(self.country, self.extent.include, self.extent.exclude)
        return self


class Analysis(_Strict):
    period_months: int = Field(12, ge=1, le=60)
    active_months: int = Field(12, ge=1, le=60)
    min_customers: int = Field(5, ge=1)
    rfm_bins: int = Field(5, ge=2, le=10)
    # Step 4 (helpers.analysis: kpis, hotspots, isolation, clusters, lifecycle, ltv); every key
    # optional.
    pop_months: int = Field(3, ge=1, le=12)
    # Growth is measured only against a window the data cover this share of (days).
    min_baseline_coverage: float = Field(0.8, ge=0, le=1)
    expected_model: Literal["auto", "poisson", "allocation"] = "auto"
    hotspot_value: Literal["auto", "revenue", "customers", "revenue_per_capita",
                           "customers_per_million"] = "auto"
    hotspot_min_regions: int = Field(8, ge=4)
    hotspot_k: int = Field(5, ge=1)
    isolation_km: float = Field(200.0, gt=0)
    isolation_min_customers: int = Field(3, ge=2)
    cluster_k_max: int = Field(8, ge=2, le=20)
    silhouette_sample: int = Field(3000, ge=100)
    new_months: int = Field(3, ge=1, le=60)
    at_risk_months: int = Field(6, ge=1, le=60)
    churn_months: int = Field(12, ge=1, le=120)
    ltv_months: int = Field(12, ge=1, le=60)
    ltv_discount_monthly: float = Field(0.01, ge=0, lt=1)
    ltv_penalizer: float = Field(0.0, ge=0)
    # Lifetime value is shown only where the data carry it (helpers.analysis.ltv.lifetime_value).
    ltv_min_repeat_customers: int = Field(20, ge=2)
    ltv_min_repeat_share: float = Field(0.05, ge=0, lt=1)
    ltv_holdout_months: float | None = Field(None, gt=0)
    ltv_min_calibration_months: float = Field(6, gt=0)
    ltv_min_holdout_months: float = Field(3, gt=0)
    ltv_holdout_tolerance: float = Field(0.25, gt=0)
    ltv_interval_draws: int = Field(500, ge=0, le=20000)
    ltv_interval: float = Field(0.9, gt=0, lt=1)
    ltv_seed: int = 0
    # The level of every false-discovery-rate corrected test of step 4: category mix,
    # cohorts, customer profiles, seasonality and weekdays (helpers.analysis.mix, .cohorts,
    # .profiles, .buying).
    significance: float = Field(0.05, gt=0, lt=1)
    mix_min_customers: int = Field(20, ge=2)
    mix_gap_index: float = Field(80.0, gt=0, lt=100)
    mix_rest_index: float = Field(90.0, ge=0)
    cohort_min_customers: int = Field(20, ge=2)
    cohort_min_drop: float = Field(0.05, ge=0, lt=1)
    # Where revenue is heading (helpers.analysis.forecast): the next forecast_months after
    # the period, with a forecast_interval prediction interval; a region needs
    # forecast_min_months of history and at most forecast_max_zero_share months without
    # revenue; the interval is checked on the last forecast_backtest_origins months.
    forecast_months: int = Field(3, ge=1, le=12)
    forecast_interval: float = Field(0.8, gt=0, lt=1)
    forecast_min_months: int = Field(18, ge=12, le=120)
    forecast_max_zero_share: float = Field(0.25, ge=0, lt=1)
    forecast_backtest_origins: int = Field(8, ge=4, le=36)
    # Who the customers are and how they buy (helpers.analysis.profiles, .buying).
    # profile_attributes: canonical customer columns to profile; None: every one of
    # helpers.analysis.profiles.PROFILE_ATTRIBUTES the data carry with two values or more.
    profile_attributes: list[str] | None = None
    profile_top_share: float = Field(0.2, gt=0, lt=1)
    profile_max_values: int = Field(12, ge=2, le=50)
    buying_min_count: int = Field(20, ge=2)
    seasonality_min_months: int = Field(24, ge=14, le=240)
    seasonality_max_months: int = Field(60, ge=14, le=240)

    @field_validator("profile_attributes")
    @classmethod
    def _known_attributes(cls, value):
        if value is not None:
            unknown = [v for v in value if v not in KNOWN_COLUMNS["customers"]]
            if unknown:
                raise ValueError(f"unknown customer column(s) {unknown}; expected canonical "
                                 f"customer columns such as channel, industry, company_size")
        return value

    @model_validator(mode="after")
    def _lifecycle_order(self):
        if not self.new_months <= self.at_risk_months <= self.churn_months:
            raise ValueError("needs new_months <= at_risk_months <= churn_months")
        return self


class Strategy(_Strict):
    hot_share: float = Field(0.05, gt=0, lt=1)
    hot_growth: float = -0.05
    emerging_growth: float = 0.50
    declining_growth: float = -0.10
    gap_ratio: float = Field(0.5, gt=0)
    # Step 4's Getis-Ord Gi* bin (when present): a hot spot is core from a smaller share.
    hotspot_bin: int = Field(2, ge=1, le=3)
    hotspot_share: float = Field(0.03, gt=0, lt=1)
    # Emerging by potential: growing at least this fast with fewer customers than expected.
    potential_growth: float | None = 0.10
    potential_ratio: float | None = Field(1.0, gt=0)
    # The online channels the playbooks name: auto = wechat in China, global elsewhere.
    online_channels: Literal["auto", "wechat", "global"] = "auto"
    # Step 5 turns this many of step 4's largest cross-sell gaps into customer lists.
    cross_sell_gaps: int = Field(5, ge=0, le=50)

    def channels(self, country: str) -> str:
        """The playbooks' online channels for a market in ``country`` (``wechat`` or
        ``global``; :data:`helpers.analysis.actions.CHANNELS`)."""
        if self.online_channels != "auto":
            return self.online_channels
        return "wechat" if country == "CN" else "global"


class Budget(_Strict):
    """Marketing budget reallocation (``helpers.analysis.budget``)."""

    total: float | None = Field(None, gt=0)
    total_change: float = Field(0.0, gt=-1)
    elasticity: float = Field(0.2, gt=0, lt=1)
    momentum: float = Field(1.0, ge=0)
    headroom: float = Field(0.5, ge=0)
    unit: float = Field(10000, gt=0)
    floor_vs_current: float = Field(0.5, ge=0)
    cap_vs_current: float | None = Field(2.0, gt=0)
    cap_share: float | None = Field(None, gt=0, le=1)
    tier_floors: dict[str, float] = {"gap": 30000}
    floors: dict[str, float] = {}
    caps: dict[str, float] = {}
    # The objective's rule (helpers.analysis.budget): the test budget a gap or emerging
    # region gets on top of its current spend when the objective reserves for it, the
    # largest cut of a region whose playbook needs its budget, and the elasticities the
    # expected effect is given for.
    reserve: dict[str, float] = {"gap": 30000, "emerging": 60000}
    max_cut: float = Field(0.2, ge=0, le=1)
    elasticity_range: tuple[float, float] = (0.1, 0.3)

    @model_validator(mode="after")
    def _range_holds_the_elasticity(self):
        low, high = self.elasticity_range
        if not 0 < low <= self.elasticity <= high < 1:
            raise ValueError(f"budget.elasticity_range [{low:g}, {high:g}] must hold "
                             f"budget.elasticity {self.elasticity:g} and lie between 0 and 1")
        if any(v < 0 for v in self.reserve.values()):
            raise ValueError(f"budget.reserve amounts must be 0 or more, got {self.reserve}")
        return self


class Objectives(_Strict):
    """Targets per KPI shown in the step-1 brief (``helpers.catalog.KPIS`` keys)."""

    targets: dict[str, float] = {}


class PartnerRule(_Strict):
    """One scoring rule: its points when every condition given holds."""

    points: float
    min: float | None = None            # value >= min
    max: float | None = None            # value <= max
    under: float | None = None          # value < under
    payment: list[str] | None = None    # payment behaviour is one of these
    min_headcount: float | None = None
    min_sales: float | None = None
    min_tech: float | None = None


class PartnerRules(_Strict):
    """Ordered rules (the first met wins) and the points of any other case."""

    rules: list[PartnerRule] = []
    other: float = 0


class PartnerCategory(_Strict):
    """Points per category value; values that put a partner in C directly."""

    points: dict[str, float] = {}
    tier_c: list[str] = []
    multi_tier_min: int = 2
    multi_tier_points: float = 0


_ARREARS = ["偶有拖欠", "现金流紧张"]


class Partners(_Strict):
    """Channel partner A/B/C scoring (``helpers.analysis.partners``); default: the dealer table."""

    tiers: dict[Literal["A", "B"], float] = {"A": 16, "B": 10}
    product: PartnerCategory = PartnerCategory(
        points={"国产中端联网门禁": 4, "国外高端品牌": 2, "国产低端单机": 1},
        multi_tier_min=2, multi_tier_points=2, tier_c=["非门禁为主"])
    business_model: PartnerCategory = PartnerCategory(
        points={"纯设备销售": 4, "销售+项目": 3, "以项目为主": 2}, tier_c=["门禁为项目附带"])
    staff: PartnerRules = PartnerRules(rules=[
        PartnerRule(min_headcount=21, min_sales=4, min_tech=4, points=4),
        PartnerRule(min_headcount=10, min_sales=2, min_tech=2, points=3)], other=2)
    capital: PartnerRules = PartnerRules(rules=[PartnerRule(min=100, points=4)], other=2)
    orders: PartnerRules = PartnerRules(rules=[
        PartnerRule(min=10000, max=40000, payment=["无拖欠"], points=4),
        PartnerRule(min=10000, payment=_ARREARS, points=2),
        PartnerRule(under=10000, payment=_ARREARS, points=1)], other=2)
    years: PartnerRules = PartnerRules(rules=[PartnerRule(min=3, points=4),
                                              PartnerRule(min=2, points=2)], other=1)
    value_tiers: dict[Literal["high", "medium"], float] = {"high": 0.2, "medium": 0.5}
    high_frequency_quantile: float = Field(0.8, gt=0, lt=1)

    @model_validator(mode="after")
    def _thresholds(self):
        if set(self.tiers) != {"A", "B"} or not self.tiers["A"] > self.tiers["B"]:
            raise ValueError("tiers needs A and B with A > B")
        return self


class Prep(_Strict):
    """Step 2's limits: when to stop rather than set rows aside, and what is plausible.

    ``max_quarantine_share``: step 2 stops (before step 3) when one reason sets aside
    more than this share of a file's rows, and at least 10 of them or all of them
    (``helpers.data.ledger.STOP_MIN_ROWS``); rules the config asks for (filters,
    ``keep_status``, returns excluded) do not count; 1 turns the stop off.
    ``earliest_year``: order dates before it are set aside, other dates before it
    left empty. ``max_field_chars``: a row with a longer value in a column the config
    uses is set aside. ``engine``: where the orders and customers are prepared: ``pandas`` (in
    memory, the default: at 10M lines still faster than the DuckDB path, bench/prep_speed.py),
    ``duckdb`` (out of core, :mod:`helpers.data.engine`) or ``auto``: DuckDB when the
    orders' input files hold at least ``engine_min_mb`` megabytes.
    """

    max_quarantine_share: float = Field(0.05, ge=0, le=1)
    earliest_year: int = Field(1990, ge=1678, le=2200)
    max_field_chars: int = Field(100_000, ge=100)
    engine: Literal["auto", "pandas", "duckdb"] = "pandas"
    engine_min_mb: float = Field(200.0, ge=0)


class Report(_Strict):
    lang: Literal["en", "zh"] = "en"
    mask_pii: bool = True
    # Base map of the report maps (helpers.viz.maps): OpenStreetMap, AMap (GCJ-02) or none.
    tiles: Literal["osm", "amap", "none"] = "osm"
    # Sales reps' names in the HTML reports (step 5's action list): false shows them
    # masked (魏** (S01)); the CSV/Excel action, campaign and partner lists always
    # hold full names, they are the contact lists.
    show_rep_names: bool = False
    # Which actions.xlsx carry the long contact lists (campaign list, cross-sell list,
    # partner plans): the whole market's only (every region's rows, one write per run;
    # a region's lists are its CSV files), or every region's too (slower: each cell is
    # written, ~2 s of CPU for 300k cells).
    excel_lists: Literal["market", "every_region"] = "market"
    # At most this many rows of each long list in a sheet of actions.xlsx, the first in
    # the list's own order (campaign priority, largest gaps, B partners first); a longer
    # list's sheet says on its first line how many rows the list has and that its CSV
    # file holds them all (the CSV files always do). At 50,000 rows per list the national
    # workbook holds ~3.2M cells (~20 MB; written in ~21 s of CPU, read back whole in ~5 s
    # by a native reader); the whole lists at 10M order lines are 35M cells (221 s of CPU,
    # ~200 MB), ten times that at 100M (bench/xlsx_rows.py).
    excel_list_rows: int = Field(50_000, ge=1, strict=True)


class Config(_Strict):
    project: Project = Project()
    paths: Paths = Paths()
    sources: dict[Literal["customers", "orders", "reps", "spend"], list[Source]]
    identity: Identity = Identity()
    geography: Geography = Geography()
    analysis: Analysis = Analysis()
    strategy: Strategy = Strategy()
    budget: Budget = Budget()
    objectives: Objectives = Objectives()
    partners: Partners = Partners()
    prep: Prep = Prep()
    report: Report = Report()
    # Set by load_config: the folder relative paths are resolved against.
    base_dir: Path = Field(default=PROJECT_ROOT, exclude=True)
    config_path: Path = Field(default=DEFAULT_CONFIG, exclude=True)

    @field_validator("sources")
    @classmethod
    def _need_tables(cls, sources):
        for table in ("customers", "orders"):
            if not sources.get(table):
                raise ValueError(f"needs at least one source for '{table}'")
        for table, items in sources.items():
            names = [s.name for s in items]
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                raise ValueError(f"sources.{table}: source name(s) {repeated} used twice")
        return sources

    @property
    def data_dir(self) -> Path:
        return (self.base_dir / self.paths.data).resolve()

    @property
    def reports_dir(self) -> Path:
        return (self.base_dir / self.paths.reports).resolve()


def _check_columns(config: Config) -> None:
    for table, sources in config.sources.items():
        for i, source in enumerate(sources):
            key = f"sources.{table}[{i}] ({source.name})"
            unknown = sorted(set(source.columns) - set(KNOWN_COLUMNS[table]))
            if unknown:
                raise ConfigError(
                    f"{config.config_path}: {key}.columns: unknown canonical column(s) "
                    f"{unknown}; expected some of {KNOWN_COLUMNS[table]}"
                )
            for col in source.dates:
                if col not in source.columns:
                    raise ConfigError(
                        f"{config.config_path}: {key}.dates.{col}: '{col}' is not mapped in "
                        f"{key}.columns"
                    )
            if source.returns is not None and table != "orders":
                raise ConfigError(f"{config.config_path}: {key}.returns: only orders have returns")
        mapped = {c for s in sources for c in s.columns}
        missing = [c for c in REQUIRED_COLUMNS[table] if c not in mapped]
        if missing:
            raise ConfigError(
                f"{config.config_path}: sources.{table}: no source maps the required "
                f"column(s) {missing}; add them under columns (canonical: source column)"
            )


def _check_identity(config: Config) -> None:
    for i, group in enumerate(config.identity.duplicates.match):
        unknown = [c for c in group if c not in KNOWN_COLUMNS["customers"]]
        if unknown or not group:
            raise ConfigError(
                f"{config.config_path}: identity.duplicates.match[{i}]: expected canonical "
                f"customer columns such as [name, phone], got {group}")


#: Keys that are no longer read -> the key that replaced them (a config still using one
#: stops with a message naming both, rather than a bare "extra inputs" error).
RENAMED_KEYS: dict[tuple[str, str], str] = {
    ("analysis", "profile_alpha"): "analysis.significance",
}


def _check_renamed(path: Path, raw: dict) -> None:
    found = [(f"{section}.{key}", new) for (section, key), new in RENAMED_KEYS.items()
             if isinstance(raw.get(section), dict) and key in raw[section]]
    if found:
        lines = [f"{path}: {len(found)} problem(s) in the configuration:"]
        lines += [f"  - {old}: no longer a key; use {new} (one setting for what it did)"
                  for old, new in found]
        raise ConfigError("\n".join(lines))


def _format_error(path: Path, error: ValidationError) -> str:
    lines = [f"{path}: {error.error_count()} problem(s) in the configuration:"]
    for item in error.errors():
        key = ".".join(str(p) for p in item["loc"]) or "(top level)"
        got = item.get("input")
        got_text = "" if isinstance(got, dict | list) else f" (got {got!r})"
        lines.append(f"  - {key}: {item['msg']}{got_text}")
    return "\n".join(lines)


def load_config(path: str | Path = "") -> Config:
    """Read and check a workbook config.

    Parameters
    ----------
    path : str or Path, optional
        The YAML file; empty means the project's ``workbook.yaml``. A relative
        path is tried against the working directory, then the project root.

    Raises
    ------
    ConfigError
        When the file is missing, not YAML, or a key or value is wrong.
    """
    path = Path(path) if path else DEFAULT_CONFIG
    if not path.is_absolute() and not path.exists():
        path = PROJECT_ROOT / path
    if not path.exists():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    _check_renamed(path, raw)
    try:
        config = Config(**raw, base_dir=path.resolve().parent, config_path=path.resolve())
    except ValidationError as exc:
        raise ConfigError(_format_error(path, exc)) from None
    _check_columns(config)
    _check_identity(config)
    return config


@dataclass(frozen=True)
class RunPaths:
    """Where one run writes: ``reports/<run_id>/`` with ``prep/`` and region folders."""

    root: Path

    @classmethod
    def for_run(cls, config: Config, run_dir: str | Path = "") -> RunPaths:
        """The run folder: ``run_dir`` when given, else ``reports/interactive``."""
        root = Path(run_dir) if run_dir else config.reports_dir / "interactive"
        if not root.is_absolute():
            root = (Path.cwd() / root).resolve()
        return cls(root)

    @property
    def prep(self) -> Path:
        return self.root / "prep"

    def region(self, slug: str) -> Path:
        path = self.root / slug
        path.mkdir(parents=True, exist_ok=True)
        return path
