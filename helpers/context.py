"""What each step computes and writes, so a later notebook can build what is missing.

Notebooks call these and show the results; the batch runner calls
:func:`ensure_prep` once per run. Each function returns plain tables.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd
from IPython.display import Markdown

from helpers.analysis import kpi
from helpers.config import Config, RunPaths, load_config
from helpers.data.prepare import (
    PrepDamaged,
    PrepResult,
    QuarantineStop,
    build_prep,
    check_prep_files,
    load_prep,
    read_prep_summary,
    save_prep,
)
from helpers.data.privacy import PII_COLUMNS, mask_pii
from helpers.data.read import SourceError
from helpers.files import InputFile, changed_inputs, input_files, sha256_file
from helpers.geo.scope import Scope
from helpers.text.format import report_number
from helpers.text.lookup import say
from helpers.text.markup import md_text
from helpers.viz.fonts import use_cjk_font

#: The modules (and their data files) step 2 is built with, relative to ``helpers/``: a
#: prep made by other code is not reused. ``tests/test_runrecords.py`` checks that
#: every ``helpers`` module ``helpers.data.prepare`` imports is listed.
PREP_CODE = ("data", "geo", "config.py", "exports.py")


def prep_code_sha256() -> str:
    """One SHA-256 over the files of :data:`PREP_CODE` (names and contents)."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in PREP_CODE:
        path = root / name
        files = sorted(f for f in path.rglob("*") if f.is_file() and f.suffix in (".py", ".csv")
                       ) if path.is_dir() else [path]
        for file in files:
            digest.update(file.relative_to(root).as_posix().encode() + b"\0")
            digest.update(file.read_bytes())
    return digest.hexdigest()


def prep_fingerprint(config: Config, inputs: list[InputFile] | None = None) -> dict:
    """What the prep depends on: the config's and every input's content hash, and the code.

    ``inputs`` are :func:`helpers.files.input_files` of ``config`` (hashed now when
    not given). Sizes and timestamps play no part: an input edited in place with the
    same size and time still changes the fingerprint.
    """
    inputs = input_files(config) if inputs is None else inputs
    return {"config_sha256": sha256_file(config.config_path),
            "code_sha256": prep_code_sha256(),
            "inputs": {str(item.path): item.sha256 for item in inputs}}


def fingerprint_changes(before: dict | None, now: dict) -> list[str]:
    """What differs between two :func:`prep_fingerprint` results, in words (empty: nothing)."""
    if not isinstance(before, dict):
        return ["no fingerprint was saved"]
    changes = []
    if before.get("config_sha256") != now["config_sha256"]:
        changes.append("the config file changed")
    old = before.get("inputs") if isinstance(before.get("inputs"), dict) else {}
    for path, digest in now["inputs"].items():
        if path not in old:
            changes.append(f"new input {path}")
        elif old[path] != digest:
            changes.append(f"input changed: {path}")
    changes += [f"input no longer read: {path}" for path in old if path not in now["inputs"]]
    if before.get("code_sha256") != now["code_sha256"]:
        changes.append("the data-prep code changed")
    return changes


@dataclass
class PrepStatus:
    """What :func:`prepare` did: ``reused`` the saved prep, ``built`` it or ``rebuilt`` it."""

    action: str
    reason: str | None
    fingerprint: dict
    result: PrepResult | None = None  # the tables, when built by this call

    def record(self) -> dict:
        """The manifest's facts about the prep."""
        return {"action": self.action, "reason": self.reason,
                "code_sha256": self.fingerprint["code_sha256"]}


def stale_reason(folder: Path, fingerprint: dict) -> str | None:
    """Why the prep saved in ``folder`` cannot be reused for ``fingerprint`` (None: it can).

    It can when its summary records the same fingerprint and every file it lists is
    there with the recorded size and SHA-256.
    """
    if not folder.exists():
        return "no prep saved yet"
    try:
        summary = read_prep_summary(folder)
        changes = fingerprint_changes(summary.get("fingerprint"), fingerprint)
        if changes:
            return "; ".join(changes)
        check_prep_files(folder, summary)
    except PrepDamaged as exc:
        return f"the saved prep is damaged: {exc}"
    return None


def prepare(config: Config, run: RunPaths, inputs: list[InputFile] | None = None, *,
            rebuild: bool = False) -> PrepStatus:
    """Reuse the run's saved prep when its fingerprint matches, else build and save it.

    Parameters
    ----------
    config : Config
    run : RunPaths
        The prep goes to ``run.prep``.
    inputs : list of InputFile, optional
        :func:`helpers.files.input_files` of ``config``, when already hashed.
    rebuild : bool
        Build even when the saved prep could be reused.

    Returns
    -------
    PrepStatus
        With the tables when they were built; a reused prep is checked, not read.

    Raises
    ------
    helpers.data.read.SourceError
        Also when an input changed while it was being read (its recorded hash would
        not be what the prep read).
    """
    inputs = input_files(config) if inputs is None else inputs
    fingerprint = prep_fingerprint(config, inputs)
    reason = "asked to rebuild" if rebuild else stale_reason(run.prep, fingerprint)
    if reason is None:
        return PrepStatus("reused", None, fingerprint)
    try:
        result = build_prep(config)
    except QuarantineStop as stop:
        raise QuarantineStop(f"{stop}{_save_stopped(stop, run.prep)}", stop.ledger,
                             stop.quarantine) from None
    changed = changed_inputs(inputs)
    if changed:
        raise SourceError(f"{changed[0]} changed while the data were being prepared; "
                          "run again once the exports are complete")
    save_prep(result, run.prep, fingerprint)
    action = "built" if reason == "no prep saved yet" else "rebuilt"
    return PrepStatus(action, reason, fingerprint, result)


def _save_stopped(stop: QuarantineStop, folder: Path) -> str:
    """Write what step 2 had counted when the stop rule stopped it; the sentence saying where.

    ``ledger.csv`` and ``quarantine.csv`` (no ``prep.json``: the folder is never
    reused) let the user open every row set aside. Empty when there is nothing to write
    or the folder cannot be written.
    """
    from helpers.exports import write_csv
    from helpers.files import atomic_path

    written = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "prep.json").unlink(missing_ok=True)
        for name, frame in (("quarantine.csv", stop.quarantine), ("ledger.csv", stop.ledger)):
            if frame is not None:
                with atomic_path(folder / name) as tmp:
                    write_csv(frame, tmp)
                written.append(folder / name)
    except OSError:
        return ""
    if not written:
        return ""
    return " (every row set aside so far: " + ", ".join(str(p) for p in written) + ")"


def is_batch_run(run: RunPaths) -> bool:
    """A run folder the batch made (it holds ``manifest.json``): its prep is the batch's."""
    return (run.root / "manifest.json").exists()


def ensure_prep(config: Config, run: RunPaths, *, rebuild: bool = False) -> PrepResult:
    """Load the run's cleaned tables, building them first when missing or stale.

    In a batch run the prep belongs to the run: it was built (or checked) once by the
    batch before any notebook, and a notebook loads it as it is, without hashing the
    inputs again, so every region of a run works on the same tables even if an
    export changes meanwhile. Anywhere else (``reports/interactive``) the prep is
    reused only when the inputs' content hashes, the config and the prep code match,
    and is rebuilt (with a message naming what changed or which file is damaged)
    otherwise.

    Raises
    ------
    helpers.data.prepare.PrepDamaged
        In a batch run whose prep is missing or damaged, naming the file.
    """
    if is_batch_run(run) and not rebuild:
        try:
            return load_prep(run.prep)
        except PrepDamaged as exc:
            raise PrepDamaged(exc.path, f"{exc.reason}; this run's prep is made by the batch: "
                              f"run python -m helpers.run --resume {run.root.name}") from None
    status = prepare(config, run, rebuild=rebuild)
    if status.result is not None:
        if status.action == "rebuilt":
            print(f"data prep built again: {status.reason}", file=sys.stderr)
        return status.result
    try:
        return load_prep(run.prep)
    except PrepDamaged as exc:  # damaged since it was checked: build it once more
        print(f"data prep built again: the saved prep is damaged: {exc}", file=sys.stderr)
        return prepare(config, run, rebuild=True).result


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
        """A line naming the region, period and run, under the notebook's title.

        The region (a territory's name comes from ``workbook.yaml``) and the run id
        are data: :func:`helpers.text.markup.md_text`, never in a code span.
        """
        return Markdown(say("heading", self.lang, region=md_text(self.scope.label(self.lang)),
                            period=md_text(self.period_text), run=md_text(self.run.root.name)))

    @cached_property
    def market_kpis(self) -> pd.DataFrame:
        """Province KPIs of the whole market: what a territory's provinces are judged against."""
        universe = list(Scope.parse("ALL", self.config).provinces)
        return region_kpis(self, "province", customers=self.prep.customers,
                           orders=self.prep.orders, universe=universe)

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
    use_cjk_font()
    pd.set_option("display.max_colwidth", 120)
    pd.set_option("display.float_format", report_number)
    return Context(cfg, scope, run, run.region(scope.slug), lang, mask_pii, period_end)


def region_kpis(ctx: Context, level: str | None = None, *, customers: pd.DataFrame | None = None,
                orders: pd.DataFrame | None = None,
                universe: list[str] | None = None) -> pd.DataFrame:
    """KPIs per region inside the scope (provinces, or cities in a province report).

    Steps 3 and 4 both call this, so their KPI tables agree. ``customers``,
    ``orders`` and ``universe`` default to the scope's; step 4 passes the whole
    market when a territory's hot spots need every province.

    In a territory report the provinces are judged against the whole market, so
    that a province reads the same in every report: ``share`` stays the share of
    the territory's revenue, ``market_share`` is added, and the gap columns
    (``expected_customers``, ``gap_ratio``, ``customer_gap``, ``gap_p``) come
    from the market-wide model (a fit on 31 provinces, not on the territory's few).
    """
    level = level or ctx.scope.sublevel
    own = _region_kpis(ctx, level, customers, orders, universe)
    if not (ctx.scope.kind == "territory" and level == "province"
            and customers is None and orders is None and universe is None):
        return own
    market = ctx.market_kpis.set_index("region")
    columns = [c for c in MARKET_COLUMNS if c in market.columns]
    return (own.drop(columns=columns)
            .join(market[columns], on="region")
            .assign(market_share=own["region"].map(market["share"]))[
                [*own.columns, "market_share"]])


#: Columns a territory report takes from the whole market's province KPIs.
MARKET_COLUMNS = ("expected_customers", "expected_method", "gap_ratio", "customer_gap", "gap_p")


def _region_kpis(ctx: Context, level: str, customers, orders, universe) -> pd.DataFrame:
    a = ctx.config.analysis
    if universe is None:
        universe = list(ctx.scope.provinces) if level == "province" else []
    china = ctx.config.geography.country == "CN"
    return kpi.region_kpis(
        ctx.customers if customers is None else customers,
        ctx.orders if orders is None else orders,
        level=level, period_end=ctx.period["end"],
        months=a.period_months, active_months=a.active_months, pop_months=a.pop_months,
        reference=kpi.load_province_reference() if level == "province" and china else None,
        universe=universe, min_customers=a.min_customers, expected_method=a.expected_model,
    )
