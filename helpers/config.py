"""Loading and checking ``workbook.yaml``, and the paths of a run.

Everything a notebook needs to find files comes from here, never from the
notebook's working directory. A config that is wrong stops the run with a
:class:`ConfigError` whose message names the key and what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = PROJECT_ROOT / "workbook.yaml"

# Canonical columns each table must map (the rest are optional).
REQUIRED_COLUMNS = {
    "customers": ["customer_id"],
    "orders": ["order_id", "customer_id", "order_date", "amount"],
    "reps": ["sales_rep_id"],
    "spend": ["region", "period", "amount"],
}
KNOWN_COLUMNS = {
    "customers": [
        "customer_id", "name", "contact", "phone", "email", "address", "province", "city",
        "district", "lat", "lon", "signup_date", "sales_rep_id", "channel", "industry",
        "company_size", "business_model", "headcount", "sales_staff", "tech_staff",
        "registered_capital", "years_active", "main_product_tier", "product_tier_count",
        "payment_behaviour", "typical_order_value",
    ],
    "orders": [
        "order_id", "customer_id", "order_date", "amount", "quantity", "product_category",
        "status", "province", "city", "lat", "lon",
    ],
    "reps": ["sales_rep_id", "name", "region"],
    "spend": ["region", "period", "amount"],
}


class ConfigError(ValueError):
    """A problem in ``workbook.yaml``; the message names the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Source(_Strict):
    name: str = Field(min_length=1)
    file: str = Field(min_length=1)
    encoding: str = "utf-8"
    sheet: str | None = None
    columns: dict[str, str]
    dates: dict[str, str] = {}
    keep_status: list[str] | None = None


class Paths(_Strict):
    data: str = "data/sample"
    reports: str = "reports"


class Project(_Strict):
    name: str = "Customer distribution"
    currency: str = "CNY"


class Identity(_Strict):
    customer_key: str = "customer_id"


class Geography(_Strict):
    country: Literal["CN"] = "CN"
    coordinates: Literal["wgs84", "gcj02", "bd09"] = "wgs84"
    territories: dict[str, list[str]] = {}


class Analysis(_Strict):
    period_months: int = Field(12, ge=1, le=60)
    active_months: int = Field(12, ge=1, le=60)
    min_customers: int = Field(5, ge=1)
    rfm_bins: int = Field(5, ge=2, le=10)


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


class Budget(_Strict):
    """Marketing budget reallocation (``helpers.budget``)."""

    total: float | None = Field(None, gt=0)
    total_change: float = Field(0.0, gt=-1)
    elasticity: float = Field(0.2, gt=0, lt=1)
    momentum: float = Field(1.0, ge=0)
    headroom: float = Field(0.5, ge=0)
    unit: float = Field(1000, gt=0)
    floor_vs_current: float = Field(0.5, ge=0)
    cap_vs_current: float | None = Field(2.0, gt=0)
    cap_share: float | None = Field(None, gt=0, le=1)
    tier_floors: dict[str, float] = {"gap": 30000}
    floors: dict[str, float] = {}
    caps: dict[str, float] = {}


class Objectives(_Strict):
    """Targets per KPI shown in the step-1 brief (``helpers.goals.KPIS`` keys)."""

    targets: dict[str, float] = {}


class Report(_Strict):
    lang: Literal["en", "zh"] = "en"
    mask_pii: bool = True


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
        mapped = {c for s in sources for c in s.columns}
        missing = [c for c in REQUIRED_COLUMNS[table] if c not in mapped]
        if missing:
            raise ConfigError(
                f"{config.config_path}: sources.{table}: no source maps the required "
                f"column(s) {missing}; add them under columns (canonical: source column)"
            )


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
    try:
        config = Config(**raw, base_dir=path.resolve().parent, config_path=path.resolve())
    except ValidationError as exc:
        raise ConfigError(_format_error(path, exc)) from None
    _check_columns(config)
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
