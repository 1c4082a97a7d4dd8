"""Run the workbook for the whole market and every region: ``python -m helpers.run``.

One run writes ``reports/<run_id>/``: the cleaned tables in ``prep/`` (built once,
before any region), then per region ``<slug>/NN_*.ipynb`` (executed) and
``NN_*.html`` (rendered, code hidden), and ``manifest.json`` and ``index.html``,
written when the run starts, after each region and at the end, on every way out
(a failure, Ctrl-C, a full disk), with the true status of each region: ``ok``,
``failed``, ``interrupted`` or ``not run``. Regions run in parallel; a failing
notebook stops its own region only.

A run id names one run: a run id whose folder exists is refused (two runs started
with the same id: the second is refused); ``--resume <run id>`` continues a run,
running again only the regions and notebooks that did not finish ok.

Exit status: 0 all regions ok, 1 a region or the data prep failed, or the run
record could not be written, 2 the command line or the config is wrong (or the run
id is taken, or the run cannot be resumed), 130 interrupted (Ctrl-C).

Examples
--------
::

    python -m helpers.run                          # ALL + the 7 territories
    python -m helpers.run --regions provinces --jobs 4
    python -m helpers.run --regions 广东,Zhejiang --lang zh --run-id q4-review
    python -m helpers.run --objective reallocate_resources --baseline-run q3-review
    python -m helpers.run --resume q4-review       # after Ctrl-C or a fixed failure
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib.metadata
import json
import os
import platform
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from helpers import files
from helpers.analysis.monitor import collect_monitoring, resolve_run
from helpers.catalog import OBJECTIVES
from helpers.config import PROJECT_ROOT, Config, ConfigError, RunPaths, load_config
from helpers.data.inputs import InputFile, input_files
from helpers.files import os_error_message, sha256_file
from helpers.geo.scope import Scope, list_regions
from helpers.geo.territories import RegionError
from helpers.run.engine import (
    NotebookEngine,
    NotebookFailed,
    PapermillEngine,
    WarmKernelEngine,
    ensure_kernel,
)
from helpers.run.render import load_translations, notebook_title, render_html, write_index
from helpers.text.lookup import say

NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
ENGINES = {"warm": WarmKernelEngine, "papermill": PapermillEngine}
DEFAULT_ENGINE = "warm"
PACKAGES = [
    "pandas", "numpy", "papermill", "nbconvert", "folium", "seaborn", "scikit-learn", "pandera",
]
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
LOCK_FILE = ".batch.lock"  # in the run folder, locked while a batch writes the run
#: How often the main thread wakes while regions run (a Ctrl-C is seen at once anyway).
POLL_SECONDS = 0.5


class UsageError(Exception):
    """A problem with the command line or the config: exit status 2."""


@dataclass(frozen=True)
class Job:
    """What every region of a run shares.

    ``stop`` is set when the run is interrupted: a region starts no further notebook,
    and a notebook that fails meanwhile (its kernel killed) counts as interrupted.
    """

    run: RunPaths
    run_id: str
    notebooks: tuple[Path, ...]
    notebooks_dir: Path
    config_path: Path
    period_end: str
    lang: str
    mask_pii: bool
    objective: str = "find_new_markets"
    baseline_run: str = ""
    translations: dict = field(default_factory=dict)  # the notebooks' markdown in `lang`
    attempt: int = 1
    stop: threading.Event = field(default_factory=threading.Event, compare=False)


def default_jobs() -> int:
    return min(2, os.cpu_count() or 1)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.run",
        description="Run the workbook notebooks for the whole market and each region, "
        "and write reports/<run_id>/ with HTML reports, manifest.json and index.html.",
    )
    parser.add_argument("--config", default="workbook.yaml",
                        help="workbook config (default: %(default)s)")
    parser.add_argument("--regions", default="territories",
                        help="territories (ALL + each territory), provinces (ALL + each "
                        "province), or comma-separated names such as 华东,广东,Zhejiang "
                        "(default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=default_jobs(),
                        help="regions run in parallel (default: %(default)s)")
    parser.add_argument("--run-id", default="",
                        help="folder name under the reports folder; a run id that exists "
                        "already is refused (default: UTC time, e.g. 20261123-113000)")
    parser.add_argument("--resume", default="", metavar="RUN_ID",
                        help="continue an interrupted or failed run: run again only its "
                        "regions and notebooks that did not finish ok, with the run's own "
                        "parameters, reusing its prep (refused when the input files or the "
                        "config changed since)")
    parser.add_argument("--period-end", default="",
                        help="last day of the analysis period, YYYY-MM-DD (default: last order date)")
    parser.add_argument("--lang", choices=["en", "zh"], default=None,
                        help="report language (default: report.lang in the config)")
    parser.add_argument("--no-mask-pii", action="store_true",
                        help="show personal data in the HTML reports (default: "
                        "report.mask_pii in the config)")
    parser.add_argument("--notebooks", type=Path, default=PROJECT_ROOT / "notebooks",
                        help="folder of the NN_*.ipynb notebooks (default: %(default)s)")
    parser.add_argument("--reports", type=Path, default=None,
                        help="folder runs are written to (default: paths.reports in the config)")
    parser.add_argument("--engine", choices=list(ENGINES), default=DEFAULT_ENGINE,
                        help="warm: one kernel per worker, reused (reset) between notebooks; "
                        "papermill: a new kernel for every notebook (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="seconds one notebook cell may run (default: %(default)s)")
    parser.add_argument("--objective", choices=list(OBJECTIVES), default="find_new_markets",
                        help="what the analysis is for; the steps put first what it needs "
                        "(default: %(default)s)")
    parser.add_argument("--baseline-run", default="",
                        help="an earlier run to compare with: its run id under the reports "
                        "folder, or its folder (default: no comparison)")
    return parser


# ---------------------------------------------------------------------------
# run facts for the manifest


def utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit(root: Path = PROJECT_ROOT) -> str | None:
    """``git rev-parse HEAD`` of the project, None outside a repository or without git."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else None


def region_record(scope: Scope, job: Job) -> dict:
    """A region's entry in ``manifest.json`` before it runs: ``not run``.

    Every key is there from the start: a worker thread only changes values, so the
    main thread can write the record at any time.
    """
    return {
        "region": scope.name, "label": scope.label(job.lang), "slug": scope.slug,
        "kind": scope.kind, "status": "not run", "started": None, "finished": None,
        "seconds": None, "error": None,
        "notebooks": [notebook_record(notebook) for notebook in job.notebooks],
    }


def notebook_record(notebook: Path) -> dict:
    return {"notebook": notebook.name, "status": "not run", "attempt": None, "started": None,
            "seconds": None, "error": None, "ipynb": None, "html": None}


def region_status(notebooks: list[dict]) -> str:
    """A region's status from its notebooks': a region that did not run is never ok."""
    statuses = [item["status"] for item in notebooks]
    if all(status == "ok" for status in statuses):
        return "ok"
    if "failed" in statuses:
        return "failed"
    if "interrupted" in statuses or "ok" in statuses:
        return "interrupted"
    return "not run"


# ---------------------------------------------------------------------------
# the steps of a run


def run_prep(config: Config, run: RunPaths, inputs: list[InputFile]) -> dict:
    """Build the run's cleaned tables once, or reuse them (``helpers.steps.prep.prepare``).

    Returns the manifest's facts about it: ``action`` (built, rebuilt, reused),
    ``reason`` (why it was built) and ``code_sha256``.
    """
    from helpers.steps.prep import prepare

    status = prepare(config, run, inputs)
    if status.action == "rebuilt":
        print(f"data prep built again: {status.reason}", file=sys.stderr)
    return status.record()


def ensure_importable(root: Path = PROJECT_ROOT) -> None:
    """Let kernels started from here import ``helpers`` even without ``pip install -e .``.

    Kernels inherit this process's environment; call this before any thread starts.
    """
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(root) not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(root), *paths])


def resolve_regions(config: Config, which: str) -> list[Scope]:
    """The regions of the run, parsed and de-duplicated by folder name.

    Raises UsageError with the config's or the region's message.
    """
    try:
        names = list_regions(config, which)
        scopes = [Scope.parse(name, config) for name in names]
    except RegionError as exc:
        raise UsageError(str(exc)) from None
    seen: dict[str, Scope] = {}
    for scope in scopes:
        seen.setdefault(scope.slug, scope)
    return list(seen.values())


def find_notebooks(folder: Path) -> tuple[Path, ...]:
    notebooks = tuple(sorted(Path(folder).glob(NOTEBOOK_GLOB)))
    if not notebooks:
        raise UsageError(f"no notebooks matching {NOTEBOOK_GLOB} in {folder}")
    return notebooks


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None:
        return os_error_message(exc)
    return f"{type(exc).__name__}: {exc}"


def run_region(scope: Scope, job: Job, engine: NotebookEngine, record: dict | None = None) -> dict:
    """Run the notebooks of one region in order; stop at the first failure.

    ``record`` (:func:`region_record`, or the region's record from the run being
    resumed) is updated in place and returned: notebooks already ``ok`` before the
    first one that is not are kept, the others run. Never raises; an engine that
    raises KeyboardInterrupt stops the run (``job.stop``).
    """
    record = region_record(scope, job) if record is None else record
    items = record["notebooks"]
    first = next((i for i, item in enumerate(items) if item["status"] != "ok"), len(items))
    if first == len(items) or job.stop.is_set():
        return record
    label = scope.label(job.lang)
    started = time.perf_counter()
    record.update(status="running", error=None, started=_iso(utc_now()), finished=None)
    parameters = {
        "region": scope.name,
        "run_dir": str(job.run.root),
        "config": str(job.config_path),
        "period_end": job.period_end,
        "lang": job.lang,
        "mask_pii": job.mask_pii,
        "objective": job.objective,
        "baseline_run": job.baseline_run,
    }
    try:
        folder = job.run.region(scope.slug)
    except Exception as exc:  # e.g. the folder cannot be created: nothing runs
        error = (os_error_message(exc, "create the region folder") if isinstance(exc, OSError)
                 else f"{type(exc).__name__}: {exc}")
        for item in items[first:]:
            item.update(status="skipped", error=None)
        items[first].update(status="failed", error=error, attempt=job.attempt)
        record.update(status="failed", error=error,
                      seconds=round(time.perf_counter() - started, 2),
                      finished=_iso(utc_now()))
        return record
    if first == 0:
        # A headline or comparison left by an earlier attempt must not reach the index.
        for name in ("headline.json", "comparison.json"):
            (folder / name).unlink(missing_ok=True)
    failed = False
    for item, notebook in zip(items[first:], job.notebooks[first:], strict=True):
        item.update(status="not run", attempt=None, started=None, seconds=None, error=None,
                    ipynb=None, html=None)
        if failed:
            item["status"] = "skipped"
            continue
        if job.stop.is_set():
            continue
        output = folder / notebook.name
        html = output.with_suffix(".html")
        item.update(status="running", attempt=job.attempt, started=_iso(utc_now()))
        t0 = time.perf_counter()
        try:
            try:
                engine.execute(notebook, output, parameters, job.notebooks_dir)
                status, error = "ok", None
            except NotebookFailed as exc:
                status, error = "failed", exc.message
            except KeyboardInterrupt:  # the engine was interrupted: the whole run stops
                job.stop.set()
                status, error = "interrupted", "interrupted"
            except Exception as exc:  # an engine bug must not stop the other regions
                status, error = "failed", _error_text(exc)
            if status == "failed" and job.stop.is_set():
                status = "interrupted"  # its kernel was stopped because the run was
            if output.exists():
                item["ipynb"] = f"{scope.slug}/{output.name}"
            if output.exists() and status != "interrupted":  # it is run again on --resume
                title = say("report_title", job.lang, region=label, run=job.run_id,
                            notebook=notebook_title(notebook.name, job.lang))
                try:
                    order = OBJECTIVES[job.objective].first.get(notebook.name[:2], [])
                    render_html(output, html, title=title, index_href="../index.html",
                                index_text=say("all_regions", job.lang), section_order=order,
                                translations=job.translations)
                    item["html"] = f"{scope.slug}/{html.name}"
                except Exception as exc:
                    if status == "ok":
                        status, error = "failed", f"HTML rendering failed: {_error_text(exc)}"
        finally:
            item["seconds"] = round(time.perf_counter() - t0, 2)
        item.update(status=status, error=error)
        if status == "failed":
            failed = True
            record["error"] = f"{notebook.name}: {error}"
    record.update(status=region_status(items), seconds=round(time.perf_counter() - started, 2),
                  finished=_iso(utc_now()))
    if record["status"] == "interrupted" and not record["error"]:
        stopped = next(item for item in items if item["status"] != "ok")
        record["error"] = (f"{stopped['notebook']}: {stopped['error']}" if stopped["error"]
                           else f"interrupted before {stopped['notebook']}")
    return record


def _progress(total: int):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="region", desc="regions", file=sys.stderr,
                dynamic_ncols=True, disable=None)


def _stop_engine(engine: NotebookEngine) -> None:
    """Ask the engine to stop the notebooks running now (kill their kernels)."""
    close = getattr(engine, "close", None)
    if close is None:
        return
    try:
        close()
    except (Exception, KeyboardInterrupt):
        pass


def run_regions(scopes: list[Scope], job: Job, engine: NotebookEngine, jobs: int,
                records: dict[str, dict] | None = None, checkpoint=None) -> bool:
    """Run every region not yet ok with ``jobs`` worker threads; True when interrupted.

    ``records`` (slug -> :func:`region_record`) are updated in place; ``checkpoint``
    is called after each region (to write the manifest and index). On Ctrl-C no
    further region or notebook starts, the engine stops the running notebooks and
    their regions are waited for (a second Ctrl-C stops waiting); their records say
    ``interrupted``, the regions that never started ``not run``.
    """
    records = {} if records is None else records
    for scope in scopes:
        records.setdefault(scope.slug, region_record(scope, job))
    todo = [scope for scope in scopes if records[scope.slug]["status"] != "ok"]
    failed = 0
    interrupted = False
    pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="region")
    futures: dict = {}
    with _progress(len(todo)) as bar:
        try:
            futures = {pool.submit(run_region, scope, job, engine, records[scope.slug]): scope
                       for scope in todo}
            pending = set(futures)
            while pending:
                done, pending = concurrent.futures.wait(
                    pending, timeout=POLL_SECONDS, return_when=concurrent.futures.FIRST_COMPLETED)
                for future in done:
                    scope = futures[future]
                    record = records[scope.slug]
                    try:
                        future.result()
                    except Exception as exc:  # run_region does not raise; a bug must not lie
                        record.update(status="failed", error=f"{type(exc).__name__}: {exc}")
                    if record["status"] == "failed":
                        failed += 1
                        bar.write(f"failed: {record['label']}: {record['error']}", file=sys.stderr)
                    bar.set_postfix(failed=failed, last=scope.label_en, refresh=False)
                    bar.update(1)
                    if checkpoint is not None:
                        checkpoint()
                if job.stop.is_set():  # an engine was interrupted in a worker
                    raise KeyboardInterrupt
        except KeyboardInterrupt:
            interrupted = True
            job.stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
            _stop_engine(engine)
            running = [f for f in futures if not f.done()]
            if running:
                bar.write(f"interrupted: stopping {len(running)} running region(s) "
                          "(Ctrl-C again not to wait)", file=sys.stderr)
                try:
                    concurrent.futures.wait(running)
                except KeyboardInterrupt:
                    pass
        finally:
            pool.shutdown(wait=not interrupted, cancel_futures=interrupted)
    return interrupted


# ---------------------------------------------------------------------------
# run ids, the run lock and the run record


class RunLock:
    """An exclusive lock on a run folder (``.batch.lock``) while a batch writes it.

    An operating-system lock (``fcntl.flock``; ``msvcrt.locking`` on Windows): it
    ends with the process, so a killed batch leaves no stale lock.
    """

    def __init__(self, folder: Path):
        self.path = Path(folder) / LOCK_FILE
        self._handle = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another process holds it."""
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 (held until release)
        try:
            if os.name == "nt":
                import msvcrt

                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle
        return True

    def holder(self) -> str:
        """The process id written by the holder, or ``?``."""
        try:
            return self.path.read_text("utf-8").strip() or "?"
        except OSError:
            return "?"

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the file releases the lock
            self._handle = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def check_run_id(run_id: str) -> str:
    """A run id is one folder name: not empty, no path separator, not ``.`` or ``..``."""
    if not run_id.strip() or run_id in (".", "..") or any(c in run_id for c in "/\\\0"):
        raise UsageError(f"--run-id must be a folder name (no / or \\), got {run_id!r}")
    return run_id


def claim_run(reports: Path, run_id: str, *, resume: bool = False,
              numbered: bool = False) -> tuple[RunPaths, RunLock]:
    """Create the run folder (atomically: a second run with the same id is refused) and lock it.

    ``numbered``: the id was not chosen by the user (a timestamp): when taken, the
    next free ``<id>-2``, ``<id>-3`` ... is used instead. ``resume``: the folder must
    exist; it is only locked.

    Raises
    ------
    UsageError
        The run id is taken, or another batch is writing the run.
    OSError
        The folder cannot be created (read-only, no permission, disk full).
    """
    if resume:
        run = RunPaths(reports / run_id)
    else:
        for n in range(1, 1000 if numbered else 2):
            candidate = run_id if n == 1 else f"{run_id}-{n}"
            try:
                (reports / candidate).mkdir(parents=True, exist_ok=False)
                break
            except FileExistsError:
                if not numbered:
                    raise UsageError(
                        f"run {run_id!r} exists already ({reports / run_id}): pick another "
                        f"--run-id, or continue that run with --resume {run_id}") from None
        run = RunPaths(reports / candidate)
    lock = RunLock(run.root)
    if not lock.acquire():
        raise UsageError(f"run {run.root.name!r} is being written by another batch (process "
                         f"{lock.holder()}); wait for it to end, or pick another --run-id")
    return run, lock


#: Signals that stop a run as Ctrl-C does (SIGTERM: ``kill``, a scheduler's time limit).
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM")
                     if hasattr(signal, name))


def _set_handlers(handler) -> dict | None:
    """Install ``handler`` for :data:`STOP_SIGNALS`; the previous handlers, None off the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}


def _restore_handlers(previous: dict | None) -> None:
    for signum, handler in (previous or {}).items():
        signal.signal(signum, handler)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


@contextmanager
def _stop_signals() -> Iterator[None]:
    """A stop signal (SIGTERM) interrupts the run as Ctrl-C does (main thread only)."""
    previous = None
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGTERM"):
        previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, _raise_interrupt)}
    try:
        yield
    finally:
        _restore_handlers(previous)


@contextmanager
def _interrupts_deferred(reraise: bool) -> Iterator[None]:
    """Hold Ctrl-C and stop signals back while the run record is written (main thread only).

    ``reraise``: raise KeyboardInterrupt after the block, else drop it (the run is
    ending anyway).
    """
    caught: list[int] = []
    previous = _set_handlers(lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        _restore_handlers(previous)
    if caught and reraise:
        raise KeyboardInterrupt


class RunRecord:
    """``manifest.json`` and ``index.html`` of a run, rewritten whole each time.

    A write that fails (read-only folder, full disk) is reported once, on one line
    naming the file, and remembered (``error``): the run then exits non-zero.
    """

    def __init__(self, run: RunPaths, manifest: dict):
        self.run = run
        self.manifest = manifest
        self.error: str | None = None

    def write(self, *, final: bool = False) -> bool:
        """Write both files (each atomically, each tried); False when one was not written."""
        ok = True
        with _interrupts_deferred(reraise=not final):
            for write in (self._manifest, self._index):
                try:
                    write()
                except Exception as exc:
                    ok = False
                    message = _error_text(exc)
                    if message != self.error:
                        print(f"error: {message}", file=sys.stderr)
                    self.error = message
        return ok

    def _manifest(self) -> None:
        text = json.dumps(self.manifest, ensure_ascii=False, indent=2, default=str)
        files.write_atomic(self.run.root / "manifest.json", text)

    def _index(self) -> None:
        write_index(self.run.root, self.manifest["regions"], meta=self.manifest)


# ---------------------------------------------------------------------------
# the command


@dataclass
class Plan:
    """What a run will do, from the command line (or from the manifest it resumes)."""

    config: Config
    scopes: list[Scope]
    notebooks: tuple[Path, ...]
    notebooks_dir: Path
    reports: Path
    run_id: str
    numbered: bool  # run_id is the default timestamp (the next free number is taken)
    period_end: str
    lang: str
    mask_pii: bool
    objective: str
    baseline: str
    translations: dict
    regions_arg: str
    previous: dict | None = None  # the manifest of the run being resumed


def _explicit(argv: list[str] | None) -> set[str]:
    """The options given on the command line (not left to their defaults)."""
    parser = build_parser()
    for action in parser._actions:
        action.default = argparse.SUPPRESS
    return set(vars(parser.parse_args(sys.argv[1:] if argv is None else argv)))


def _check_period_end(value: str) -> None:
    if value:
        try:
            date.fromisoformat(value)
        except ValueError:
            raise UsageError(f"--period-end must be a date like 2025-12-31 "
                             f"(got {value!r})") from None


def _translations(folder: Path, lang: str) -> dict:
    try:  # the notebooks' text in the report's language, checked before any region runs
        return load_translations(folder, lang)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def plan_new(args: argparse.Namespace, started: datetime) -> Plan:
    """A new run from the command line. Raises ConfigError or UsageError."""
    config = load_config(args.config)
    _check_period_end(args.period_end)
    scopes = resolve_regions(config, args.regions)
    notebooks = find_notebooks(args.notebooks)
    run_id = check_run_id(args.run_id) if args.run_id else started.strftime("%Y%m%d-%H%M%S")
    reports = (args.reports or config.reports_dir).resolve()
    baseline = ""
    if args.baseline_run:
        try:
            baseline = str(resolve_run(args.baseline_run, reports))
        except FileNotFoundError as exc:
            raise UsageError(f"--baseline-run: {exc}") from None
        if Path(baseline) == (reports / run_id).resolve():
            raise UsageError(f"--baseline-run {args.baseline_run!r} is this run")
    lang = args.lang or config.report.lang
    return Plan(config=config, scopes=scopes, notebooks=notebooks,
                notebooks_dir=args.notebooks.resolve(), reports=reports, run_id=run_id,
                numbered=not args.run_id, period_end=args.period_end, lang=lang,
                mask_pii=False if args.no_mask_pii else config.report.mask_pii,
                objective=args.objective, baseline=baseline,
                translations=_translations(args.notebooks.resolve(), lang),
                regions_arg=args.regions)


def resume_target(args: argparse.Namespace) -> tuple[Path, str]:
    """The reports folder and run id ``--resume`` names. Raises ConfigError or UsageError."""
    run_id = check_run_id(args.resume)
    if args.run_id and args.run_id != run_id:
        raise UsageError(f"--run-id {args.run_id!r} and --resume {run_id!r} name different runs")
    reports = (args.reports or load_config(args.config).reports_dir).resolve()
    if not (reports / run_id / "manifest.json").is_file():
        raise UsageError(f"cannot resume run {run_id!r}: {reports / run_id / 'manifest.json'} "
                         "does not exist (no batch run by that id in that reports folder)")
    return reports, run_id


def plan_resume(args: argparse.Namespace, explicit: set[str], reports: Path, run_id: str) -> Plan:
    """The run ``--resume`` names, with its own parameters (read under the run's lock).

    Raises ConfigError or UsageError.
    """
    folder = reports / run_id
    try:
        manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
        params = manifest["parameters"]
        regions = manifest["regions"]
        config_path = Path(manifest["config"]["path"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"cannot resume run {run_id!r}: {folder / 'manifest.json'} is "
                         f"unreadable ({type(exc).__name__}: {exc})") from None
    given = {
        "config": (Path(args.config).resolve(), config_path),
        "regions": (args.regions, params.get("regions")),
        "period_end": (args.period_end, params.get("period_end")),
        "lang": (args.lang, params.get("lang")),
        "no_mask_pii": (not args.no_mask_pii, params.get("mask_pii")),
        "notebooks": (args.notebooks.resolve(), Path(str(params.get("notebooks")))),
        "objective": (args.objective, params.get("objective")),
    }
    for name, (now, then) in given.items():
        if name in explicit and now != then:
            option = "--" + name.replace("_", "-")
            raise UsageError(f"{option} differs from run {run_id!r} ({then}); --resume "
                             "continues a run with its own parameters: leave it out, or "
                             "start a new run")
    if "baseline_run" in explicit:
        raise UsageError("--baseline-run: --resume continues a run with its own baseline; "
                         "leave it out")
    config = load_config(config_path)
    notebooks_dir = Path(str(params.get("notebooks")))
    notebooks = find_notebooks(notebooks_dir)
    names = [nb.name for nb in notebooks]
    if names != list(manifest.get("notebooks") or []):
        raise UsageError(f"cannot resume run {run_id!r}: the notebooks in {notebooks_dir} are "
                         f"now {', '.join(names)}; the run had "
                         f"{', '.join(manifest.get('notebooks') or [])}: start a new run")
    try:
        scopes = [Scope.parse(str(r["region"]), config) for r in regions]
    except RegionError as exc:
        raise UsageError(f"cannot resume run {run_id!r}: {exc}") from None
    baseline = str(params.get("baseline_run") or "")
    if baseline and not Path(baseline).is_dir():
        raise UsageError(f"cannot resume run {run_id!r}: its baseline run {baseline} is gone")
    lang = str(params.get("lang") or config.report.lang)
    return Plan(config=config, scopes=scopes, notebooks=notebooks, notebooks_dir=notebooks_dir,
                reports=reports, run_id=run_id, numbered=False,
                period_end=str(params.get("period_end") or ""), lang=lang,
                mask_pii=bool(params.get("mask_pii", True)),
                objective=str(params.get("objective") or "find_new_markets"),
                baseline=baseline, translations=_translations(notebooks_dir, lang),
                regions_arg=str(params.get("regions")), previous=manifest)


def check_resumable(plan: Plan, inputs: list[InputFile]) -> None:
    """Refuse to resume when what the finished regions were computed from has changed.

    Raises UsageError naming the changes (input files, the config, the prep code).
    """
    from helpers.steps.prep import fingerprint_changes, prep_fingerprint

    previous = plan.previous or {}
    if not any(r.get("status") == "ok" for r in previous.get("regions") or []):
        return  # nothing finished: nothing to be consistent with
    recorded = {
        "config_sha256": (previous.get("config") or {}).get("sha256"),
        "code_sha256": (previous.get("prep") or {}).get("code_sha256"),
        "inputs": {str(i.get("path")): i.get("sha256") for i in previous.get("inputs") or []},
    }
    changes = fingerprint_changes(recorded, prep_fingerprint(plan.config, inputs))
    if changes:
        raise UsageError(f"cannot resume run {plan.run_id!r}: since it ran, "
                         f"{'; '.join(changes)}. Its finished regions were computed from what "
                         "it read then: start a new run (another --run-id)")


def new_manifest(plan: Plan, job: Job, args: argparse.Namespace, engine_name: str,
                 started: datetime, inputs: list[InputFile]) -> dict:
    from helpers.steps.prep import prep_code_sha256

    return {
        "run_id": job.run_id,
        "status": "running",
        "started": _iso(started),
        "finished": None,
        "duration_seconds": None,
        "project": plan.config.project.name,
        "currency": plan.config.project.currency,
        "parameters": {
            "regions": plan.regions_arg, "jobs": args.jobs, "period_end": job.period_end,
            "lang": job.lang, "mask_pii": job.mask_pii, "notebooks": str(job.notebooks_dir),
            "reports": str(plan.reports), "timeout": args.timeout, "objective": job.objective,
            "baseline_run": job.baseline_run, "engine": engine_name,
        },
        "config": {"path": str(plan.config.config_path),
                   "sha256": sha256_file(plan.config.config_path)},
        "inputs": [item.record() for item in inputs],
        "packages": package_versions(),
        "python": platform.python_version(),
        "git_commit": git_commit(),
        "notebooks": [nb.name for nb in job.notebooks],
        "prep": {"status": None, "seconds": None, "error": None, "action": None,
                 "reason": None, "code_sha256": prep_code_sha256()},
        "regions": [region_record(scope, job) for scope in plan.scopes],
        "attempts": [],
    }


def main(argv: list[str] | None = None, *, engine: NotebookEngine | None = None) -> int:
    """Command line entry point; returns the exit status (0 ok, 1 failures, 2 usage, 130 Ctrl-C)."""
    try:
        return _main(argv, engine)
    except KeyboardInterrupt:  # before the run folder exists: nothing to record
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _main(argv: list[str] | None, engine: NotebookEngine | None) -> int:
    args = build_parser().parse_args(argv)
    started = utc_now()
    t0 = time.perf_counter()
    try:
        if args.jobs < 1:
            raise UsageError(f"--jobs must be at least 1 (got {args.jobs})")
        if args.resume:
            reports, run_id = resume_target(args)
            run, lock = claim_run(reports, run_id, resume=True)
        else:
            plan = plan_new(args, started)
            inputs = input_files(plan.config)
            run, lock = claim_run(plan.reports, plan.run_id, numbered=plan.numbered)
    except (ConfigError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # the run folder cannot be created, or locked
        print(f"error: {os_error_message(exc, 'create')}", file=sys.stderr)
        return EXIT_FAILED
    with lock:
        if args.resume:  # the run's own record, read while no other batch can change it
            try:
                plan = plan_resume(args, _explicit(argv), reports, run_id)
                if plan.previous.get("status") == "ok":
                    print(f"run {run_id!r} finished ok: nothing to resume", file=sys.stderr)
                    return EXIT_OK
                inputs = input_files(plan.config)
                check_resumable(plan, inputs)
            except (ConfigError, UsageError) as exc:
                print(f"error: {exc}", file=sys.stderr)
                return EXIT_USAGE
        return _run(plan, run, args, engine, inputs, started, t0)


def _run(plan: Plan, run: RunPaths, args: argparse.Namespace, engine: NotebookEngine | None,
         inputs: list[InputFile], started: datetime, t0: float) -> int:
    """Run a claimed (and locked) run folder; the run record is written on every way out."""
    previous = plan.previous
    attempts = list((previous or {}).get("attempts") or [])
    job = Job(run=run, run_id=run.root.name, notebooks=plan.notebooks,
              notebooks_dir=plan.notebooks_dir, config_path=plan.config.config_path,
              period_end=plan.period_end, lang=plan.lang, mask_pii=plan.mask_pii,
              objective=plan.objective, baseline_run=plan.baseline,
              translations=plan.translations, attempt=len(attempts) + 1)
    engine_name = args.engine if engine is None else type(engine).__name__
    if previous is None:
        manifest = new_manifest(plan, job, args, engine_name, started, inputs)
    else:
        manifest = previous
        manifest.setdefault("attempts", [])
        manifest.update(status="running", finished=None, packages=package_versions(),
                        python=platform.python_version(), git_commit=git_commit())
        manifest["parameters"].update(jobs=args.jobs, timeout=args.timeout, engine=engine_name)
        manifest["inputs"] = [item.record() for item in inputs]
        manifest["config"]["sha256"] = sha256_file(plan.config.config_path)
        fresh = {scope.slug: region_record(scope, job) for scope in plan.scopes}
        for region in manifest["regions"]:  # records of an older version get every key
            template = fresh[region["slug"]]
            items = {item.get("notebook"): item for item in region.get("notebooks") or []}
            region["notebooks"] = [{**new, **items.get(new["notebook"], {})}
                                   for new in template["notebooks"]]
            for key, value in template.items():
                region.setdefault(key, value)
    attempt = {"attempt": job.attempt, "started": _iso(started), "finished": None,
               "seconds": None, "status": "running", "pid": os.getpid(),
               "git_commit": manifest.get("git_commit"), "engine": engine_name,
               "prep": None, "regions": []}
    manifest["attempts"].append(attempt)
    record = RunRecord(run, manifest)
    interrupted = False
    owned: list = []  # an engine made here is closed here (its kernels shut down)
    try:
        with _stop_signals():
            if not record.write():
                if previous is None:  # nothing could be recorded: leave the run id free again
                    for path in (run.root / LOCK_FILE, run.root):
                        try:
                            path.unlink() if path.is_file() else path.rmdir()
                        except OSError:
                            pass
                print(f"error: run {job.run_id} not started: its record cannot be written",
                      file=sys.stderr)
                return EXIT_FAILED
            interrupted = _run_steps(plan, job, args, engine, inputs, record, attempt, owned)
    except KeyboardInterrupt:  # Ctrl-C (or a stop signal) outside the regions
        interrupted = True
        job.stop.set()
    except Exception as exc:  # a bug: recorded, reported on one line, details in the manifest
        manifest["error"] = {"message": _error_text(exc), "traceback": traceback.format_exc()}
        print(f"error: unexpected {_error_text(exc)} (details in {run.root / 'manifest.json'})",
              file=sys.stderr)
    finally:
        for made in owned:
            _stop_engine(made)
    with _interrupts_deferred(reraise=False):  # the end is recorded, whatever comes now
        return _finish(plan, job, args, record, attempt, interrupted, t0)


def _run_steps(plan: Plan, job: Job, args: argparse.Namespace, engine: NotebookEngine | None,
               inputs: list[InputFile], record: RunRecord, attempt: dict, owned: list) -> bool:
    """The prep, then the regions; True when interrupted in the regions. May raise KeyboardInterrupt."""
    manifest, run = record.manifest, job.run
    records = {r["slug"]: r for r in manifest["regions"]}
    todo = [s for s in plan.scopes if records[s.slug]["status"] != "ok"]
    verb = "resuming" if plan.previous is not None else "run"
    print(f"{verb} {job.run_id}: {len(todo)} region(s) x {len(plan.notebooks)} notebook(s), "
          f"{args.jobs} at a time -> {run.root}", file=sys.stderr)
    print("preparing the data (once for all regions) ...", file=sys.stderr)
    t_prep = time.perf_counter()
    manifest["prep"].update(status="running", error=None)
    try:
        facts = run_prep(plan.config, run, inputs)
    except KeyboardInterrupt:
        manifest["prep"].update(status="interrupted",
                                seconds=round(time.perf_counter() - t_prep, 2))
        raise
    except Exception as exc:
        message = str(exc) if isinstance(exc, ConfigError) else _error_text(exc)
        manifest["prep"].update(status="failed", error=message,
                                seconds=round(time.perf_counter() - t_prep, 2))
        print(f"error: data preparation failed: {message}", file=sys.stderr)
        return False
    manifest["prep"].update(status="ok", error=None,
                            seconds=round(time.perf_counter() - t_prep, 2), **(facts or {}))
    attempt["prep"] = (facts or {}).get("action")
    record.write()
    ensure_importable()
    if engine is None:
        ensure_kernel("python3")
        engine = ENGINES[args.engine](kernel_name="python3", timeout=args.timeout)
        owned.append(engine)
    attempt["regions"] = [s.slug for s in todo]
    return run_regions(plan.scopes, job, engine, args.jobs, records, checkpoint=record.write)


def _finish(plan: Plan, job: Job, args: argparse.Namespace, record: RunRecord, attempt: dict,
            interrupted: bool, t0: float) -> int:
    """Record how the run ended, print the summary, return the exit status."""
    manifest, run = record.manifest, job.run
    for region in manifest["regions"]:
        for item in region["notebooks"]:
            if item["status"] == "running":  # left behind after a second Ctrl-C
                item.update(status="interrupted", error="interrupted")
        if region["status"] == "running":
            region.update(status="interrupted", error=region.get("error") or "interrupted")
    if job.baseline_run:
        try:
            # Regions left by an earlier attempt must not be summarised.
            (run.root / "monitoring.json").unlink(missing_ok=True)
            collect_monitoring(run.root, manifest["regions"], baseline_run=job.baseline_run)
        except OSError as exc:
            print(f"error: {os_error_message(exc)}", file=sys.stderr)
            record.error = record.error or os_error_message(exc)
    regions = manifest["regions"]
    failed = [r for r in regions if r["status"] != "ok"]
    status = "interrupted" if interrupted else "failed" if failed or "error" in manifest else "ok"
    now = utc_now()
    attempt.update(status=status, finished=_iso(now),
                   seconds=round(time.perf_counter() - t0, 2))
    manifest.update(status=status, finished=_iso(now),
                    duration_seconds=round(sum(a.get("seconds") or 0
                                               for a in manifest["attempts"]), 2))
    written = record.write(final=True)

    counts = {s: sum(1 for r in regions if r["status"] == s)
              for s in ("ok", "failed", "interrupted", "not run")}
    print(f"{counts['ok']} region(s) ok, {counts['failed']} failed"
          + "".join(f", {counts[s]} {s}" for s in ("interrupted", "not run") if counts[s])
          + f" in {attempt['seconds']:.0f} s")
    for region in regions:
        if region["status"] in ("failed", "interrupted"):
            print(f"  {region['status']}: {region['label']} ({region['slug']}): {region['error']}")
    if written:
        print(f"index: {run.root / 'index.html'}")
    if interrupted:
        again = f" --reports {plan.reports}" if args.reports else ""
        print(f"interrupted: continue with python -m helpers.run --resume {job.run_id}{again}",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_FAILED if failed or not written or record.error or "error" in manifest else EXIT_OK


def cli() -> None:
    """``python -m helpers.run``: run :func:`main` and exit with its status."""
    code = main()
    if code == EXIT_INTERRUPTED and threading.active_count() > 1:
        # Ctrl-C twice: a notebook still runs in a worker thread; its kernel exits with us.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
