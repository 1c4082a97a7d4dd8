"""Step 2, data prep: build the run's cleaned tables once, save them, load them or build them.

:func:`prepare` reuses the prep saved in ``reports/<run_id>/prep/`` when its
fingerprint (:func:`prep_fingerprint`: the content hashes of the config, every
input file and the prep code) matches, else builds it with
:func:`helpers.data.prepare.build_prep` and saves it; the batch calls it once per
run. :func:`ensure_prep` is what a notebook gets as ``ctx.prep``: the run's tables,
built first when missing or stale.

The rest is what notebook 02 shows: :func:`data_quality` (saved by
:func:`save_data_quality`), :func:`set_aside`, :func:`location_precision` and
:func:`table_rows`.
"""

from __future__ import annotations

import hashlib
import sys
import threading
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from helpers.config import Config, RunPaths
from helpers.data.engine import ParquetTable
from helpers.data.inputs import InputFile, SourceError, changed_inputs, input_files
from helpers.data.ledger import QuarantineStop, check_ledger
from helpers.data.prepare import (
    PREP_FILES,
    TABLES,
    PrepDamaged,
    PrepResult,
    build_prep,
    check_prep_files,
    load_prep,
    read_prep_summary,
    save_prep,
)
from helpers.files import atomic_path, sha256_file, write_csv, write_json
from helpers.text.lookup import text
from helpers.text.prep_words import prep_text

if TYPE_CHECKING:  # the context opens the prep through this module
    from helpers.context import Context

#: The modules (and their data files) step 2 is built with, relative to ``helpers/``: a
#: prep made by other code is not reused. ``tests/test_runrecords.py`` checks that
#: every ``helpers`` module ``helpers.data.prepare`` imports is listed.
PREP_CODE = ("data", "geo", "config.py", "files.py")


def prep_code_sha256() -> str:
    """One SHA-256 over the files of :data:`PREP_CODE` (names and contents)."""
    root = Path(__file__).resolve().parents[1]
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

    ``inputs`` are :func:`helpers.data.inputs.input_files` of ``config`` (hashed now when
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
        :func:`helpers.data.inputs.input_files` of ``config``, when already hashed.
    rebuild : bool
        Build even when the saved prep could be reused.

    Returns
    -------
    PrepStatus
        With the tables when they were built; a reused prep is checked, not read.

    Raises
    ------
    helpers.data.inputs.SourceError
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


# The batch prep last loaded in this process: a warm kernel runs a region's notebooks,
# and the next regions', one after another; they all open the same prep.
_loaded: dict = {}
_loaded_lock = threading.Lock()


def prep_files_key(folder: Path) -> tuple:
    """What says the prep saved in ``folder`` is the one loaded before: the folder, and
    the size, modification time and inode of ``prep.json`` and of every table file
    (a prep built again rewrites them all; a missing file counts as changed)."""
    folder = Path(folder).resolve()
    stats = []
    for name in ("prep.json", *PREP_FILES):
        try:
            stat = (folder / name).stat()
        except OSError:
            stats.append((name, None))
        else:
            stats.append((name, stat.st_size, stat.st_mtime_ns, stat.st_ino))
    return str(folder), tuple(stats)


def load_batch_prep(folder: Path) -> PrepResult:
    """:func:`helpers.data.prepare.load_prep`, read once per process while the files stay
    the same (:func:`prep_files_key`): the next notebook on a warm kernel gets the tables
    without reading and checking them again. A changed, rebuilt or removed prep is read
    (and checked) again. Each call gets its own shallow copies of the tables (pandas'
    copy-on-write: a notebook that changes or adds a column changes only its copy) and
    of the notes. One prep is kept, the last one read.
    """
    key = prep_files_key(folder)
    with _loaded_lock:
        cached = _loaded.get(key)
    if cached is None:
        cached = load_prep(folder, lazy_orders=lines_stay_in_file(folder))
        with _loaded_lock:
            _loaded.clear()
            _loaded[key] = cached
    return _shallow_copy(cached)


def lines_stay_in_file(folder: Path) -> bool:
    """Whether the saved prep in ``folder`` is read with its order lines left in
    ``orders.parquet`` (a :class:`helpers.data.engine.ParquetTable`): on large data, where
    the reports sum the lines in DuckDB (:func:`helpers.analysis.engine.choose`;
    :attr:`helpers.context.Context.lines`)."""
    from helpers.analysis.engine import choose

    try:
        summary = read_prep_summary(folder)
    except PrepDamaged:
        return False
    return choose(summary, Path(folder) / "orders.parquet")["path"] == "duckdb"


def _shallow_copy(result: PrepResult) -> PrepResult:
    copies = {f.name: getattr(result, f.name).copy(deep=False) for f in fields(result)
              if isinstance(getattr(result, f.name), pd.DataFrame)}
    return replace(result, **copies, notes=list(result.notes), engine=dict(result.engine))


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
            return load_batch_prep(run.prep)
        except PrepDamaged as exc:
            raise PrepDamaged(exc.path, f"{exc.reason}; this run's prep is made by the batch: "
                              f"run python -m helpers.run --resume {run.root.name}") from None
    status = prepare(config, run, rebuild=rebuild)
    if status.result is not None:
        if status.action == "rebuilt":
            print(f"data prep built again: {status.reason}", file=sys.stderr)
        if lines_stay_in_file(run.prep):  # just written and hashed: not checked again
            return replace(status.result, orders=ParquetTable.of(run.prep / "orders.parquet"))
        return status.result.loaded()
    try:
        return load_prep(run.prep, lazy_orders=lines_stay_in_file(run.prep))
    except PrepDamaged as exc:  # damaged since it was checked: build it once more
        print(f"data prep built again: the saved prep is damaged: {exc}", file=sys.stderr)
        return prepare(config, run, rebuild=True).result


# --------------------------------------------------------------------------- notebook 02


def line_counts(ctx: Context) -> pd.Series:
    """The scope's order lines counted: ``lines``, ``in_period`` and ``in_baseline``
    (:func:`helpers.analysis.kpis.line_counts`), counted in DuckDB when the lines are there
    (:attr:`helpers.context.Context.lines`); once per context."""
    from helpers.analysis import kpis

    if "_line_counts" not in ctx.__dict__:
        counts = (kpis.line_counts_sql(ctx.lines, period=ctx.period) if ctx.lines is not None
                  else kpis.line_counts(ctx.orders, period=ctx.period))
        ctx.__dict__["_line_counts"] = counts.iloc[0]
    return ctx.__dict__["_line_counts"]


def data_quality(ctx: Context) -> dict:
    """The facts ``data_quality.json`` records for a report: rows per table, whether the
    ledger balances, what is in scope, how precisely customers are located, the place
    names left unresolved and the cleaning notes."""
    result = ctx.prep
    unresolved = result.unresolved
    return {
        "rows": {name: len(table) for name, table in result.tables().items()},
        "ledger_balanced": bool(check_ledger(result.ledger)["balanced"].all()),
        "customers_in_scope": len(ctx.customers),
        "orders_in_scope": int(line_counts(ctx)["lines"]),
        "geo_precision": ctx.customers["geo_precision"].value_counts().to_dict(),
        "unresolved_names": int(unresolved["rows"].sum()) if len(unresolved) else 0,
        "no_region": ctx.no_region().groupby("reason", sort=False)["customers"].sum()
        .astype(int).to_dict(),
        "notes": result.notes,
    }


def save_data_quality(ctx: Context) -> Path:
    """Write :func:`data_quality` to ``data_quality.json`` in the report's folder."""
    return write_json(data_quality(ctx), ctx.out / "data_quality.json")


#: The columns of the ledger notebook 02 shows (the full ledger is ``prep/ledger.csv``).
LEDGER_COLUMNS = ["table", "source", "file", "read", "kept", "merged", "quarantined",
                  "balanced"]
#: The columns of the possible duplicates notebook 02 shows.
DUPLICATE_COLUMNS = ["group", "match", "customer_id", "name", "kept_id"]
#: The first rows of the clean tables: the columns a reader checks.
CUSTOMER_COLUMNS = ["customer_id", "name", "province", "city", "channel", "industry",
                    "territory", "geo_precision"]
ORDER_COLUMNS = ["order_id", "customer_id", "order_date", "product_category", "quantity",
                 "amount", "status", "province"]


def set_aside(ledger: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """The ledger's merged and quarantined rows: table, source, outcome, reason (in
    ``lang``, :func:`helpers.text.prep_words.prep_text`), rows."""
    rows = ledger[ledger["outcome"].isin(["merged", "quarantined"])]
    rows = rows[["table", "source", "outcome", "reason", "rows"]]
    return rows.assign(reason=[prep_text(r, lang) for r in rows["reason"]])


def note_texts(notes: list[str], lang: str = "en") -> list[str]:
    """Step 2's notes in ``lang`` (:func:`helpers.text.prep_words.prep_text`)."""
    return [prep_text(note, lang) for note in notes]


def duplicates_note(duplicates: pd.DataFrame, lang: str = "en") -> str:
    """How many groups of possible duplicates and customer records, in a sentence."""
    groups = int(duplicates["group"].nunique()) if len(duplicates) else 0
    return text("prep_note", "duplicates_count", lang, groups=groups, records=len(duplicates))


def say_none(what: str, lang: str = "en") -> str:
    """The sentence shown instead of an empty table of notebook 02 (``unresolved``,
    ``notes``)."""
    return text("prep_note", f"none_{what}", lang)


def location_precision(customers: pd.DataFrame) -> pd.DataFrame:
    """Customers per ``geo_precision`` (point, district, city, ...) and their share."""
    counts = customers["geo_precision"].value_counts().rename("customers").to_frame()
    return counts.assign(share=(counts["customers"] / counts["customers"].sum()).round(3))


def no_region(ctx: Context):
    """Who among the report's customers is in no region, and why (an area outside the
    market, another country, a place name not resolved, no city in a province report):
    kept and counted in every total, never compared as a region
    (:meth:`helpers.context.Context.no_region`); a sentence saying so when every
    customer has a region."""
    from IPython.display import Markdown

    from helpers.text.lookup import say
    from helpers.text.narrative.audience import Audience
    from helpers.text.narrative.insight import narrate

    lines = ctx.no_region()
    if not len(lines):
        return Markdown(say("no_region_none", ctx.lang))
    audience = Audience(lang=ctx.lang, currency=ctx.config.project.currency)
    return Markdown(narrate("region_kpis", {"no_region": lines}, audience))


def table_rows(ctx: Context) -> pd.DataFrame:
    """Rows per cleaned table in the whole market and in the report's scope."""
    result = ctx.prep
    scoped = {"customers": len(ctx.customers), "orders": int(line_counts(ctx)["lines"]),
              "reps": len(result.reps), "spend": len(ctx.scope.filter(result.spend))}
    return pd.DataFrame({
        "table": list(TABLES),
        "rows in the whole market": [len(t) for t in result.tables().values()],
        "rows in this report's scope": [scoped[name] for name in TABLES],
    }).set_index("table")
