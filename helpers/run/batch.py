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
    python -m helpers.run --regions 广东,广东:cities  # Guangdong and each of its cities
    python -m helpers.run --objective reallocate_resources --baseline-run q3-review
    python -m helpers.run --resume q4-review       # after Ctrl-C or a fixed failure
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import traceback
from datetime import datetime
from pathlib import Path

from tqdm.auto import tqdm

from helpers.analysis.monitor import collect_monitoring
from helpers.catalog import OBJECTIVES
from helpers.config import PROJECT_ROOT, Config, ConfigError, RunPaths
from helpers.data.inputs import InputFile, input_files
from helpers.files import os_error_message
from helpers.run.claim import claim_run, release_unrecorded
from helpers.run.engine import NotebookEngine, PapermillEngine, ensure_kernel
from helpers.run.interrupts import interrupts_deferred, stop_signals
from helpers.run.pdf import PdfUnavailable, find_browser, print_run, run_pages
from helpers.run.plan import (
    Plan,
    UsageError,
    check_resumable,
    plan_new,
    plan_resume,
    resume_target,
)
from helpers.run.record import (
    RunRecord,
    close_running,
    error_text,
    iso,
    new_manifest,
    reopen_manifest,
    utc_now,
)
from helpers.run.regions import Job, run_regions, stop_engine
from helpers.run.warm_kernel import WarmKernelEngine

ENGINES = {"warm": WarmKernelEngine, "papermill": PapermillEngine}
DEFAULT_ENGINE = "warm"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def default_jobs() -> int:
    """Regions run in parallel by default: 2, or 1 on a one-core machine."""
    return min(2, os.cpu_count() or 1)


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m helpers.run`` (``--help`` lists every option)."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers.run",
        description="Run the workbook notebooks for the whole market and each region, "
        "and write reports/<run_id>/ with HTML reports, manifest.json and index.html.",
    )
    parser.add_argument("--config", default="workbook.yaml",
                        help="workbook config (default: %(default)s)")
    parser.add_argument("--regions", default="territories",
                        help="territories (ALL + each territory), provinces (ALL + each "
                        "province), cities (ALL + each city of a China market), <region>:cities "
                        "(the cities of a province or territory, e.g. 广东:cities), or "
                        "comma-separated names and these words, such as 华东,广东,Zhejiang,深圳 "
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
    parser.add_argument("--scheduler", default="", metavar="ADDRESS",
                        help="send the regions to the workers of a running Dask scheduler "
                        "(e.g. tcp://host:8786); the run folder and the notebooks must be on "
                        "storage every worker sees at the same path (default: threads here)")
    parser.add_argument("--cluster", choices=["local"], default=None,
                        help="local: start a Dask LocalCluster of --jobs worker processes here "
                        "and send the regions to it")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="seconds one notebook cell may run (default: %(default)s)")
    parser.add_argument("--objective", choices=list(OBJECTIVES), default="find_new_markets",
                        help="what the analysis is for; the steps put first what it needs "
                        "(default: %(default)s)")
    parser.add_argument("--pdf", action="store_true",
                        help="also print every report to PDF next to its HTML (A4), with "
                        "headless Chromium or Chrome (refused before the run when there is "
                        "none; WORKBOOK_CHROMIUM names one)")
    parser.add_argument("--baseline-run", default="",
                        help="an earlier run to compare with: its run id under the reports "
                        "folder, or its folder (default: no comparison)")
    return parser


def explicit_options(argv: list[str] | None) -> set[str]:
    """The options given on the command line (not left to their defaults)."""
    parser = build_parser()
    for action in parser._actions:
        action.default = argparse.SUPPRESS
    return set(vars(parser.parse_args(sys.argv[1:] if argv is None else argv)))


def main(argv: list[str] | None = None, *, engine: NotebookEngine | None = None) -> int:
    """Command line entry point; returns the exit status (0 ok, 1 failures, 2 usage, 130 Ctrl-C).

    ``argv``: the arguments (default ``sys.argv[1:]``); ``engine``: a notebook
    engine to use instead of the one ``--engine`` names (tests).
    """
    try:
        args = build_parser().parse_args(argv)
        return run_batch(args, explicit_options(argv), engine)
    except KeyboardInterrupt:  # before the run folder exists: nothing to record
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


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


def run_market(plan: Plan, job: Job) -> dict:
    """The market-wide results every region slices (:mod:`helpers.steps.market`),
    computed once before the fan-out, or reused when saved under the same key.

    Returns the manifest's facts: ``status`` (ok, failed), ``seconds``, ``key`` and
    ``results``; ``error`` when it failed: then each region computes what it needs
    itself (a real problem with the data shows in the region's notebook).
    """
    from helpers.steps import market

    t0 = time.perf_counter()
    try:
        facts = market.build_run(plan.config, job.run, job.period_end)
    except Exception as exc:
        print(f"warning: the market-wide results were not computed once for all regions "
              f"({error_text(exc)}); each region computes them itself", file=sys.stderr)
        return {"status": "failed", "error": error_text(exc),
                "seconds": round(time.perf_counter() - t0, 2)}
    return {"status": "ok", "seconds": round(time.perf_counter() - t0, 2), **facts}


def ensure_importable(root: Path = PROJECT_ROOT) -> None:
    """Let kernels started from here import ``helpers`` even without ``pip install -e .``.

    Kernels inherit this process's environment; call this before any thread starts.
    """
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(root) not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(root), *paths])


def run_batch(args: argparse.Namespace, explicit: set[str],
              engine: NotebookEngine | None = None) -> int:
    """Run (or ``--resume``) the batch the command line asks for; the exit status.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (:func:`build_parser`).
    explicit : set of str
        The options given on the command line, not left to their defaults
        (``--resume`` refuses those that differ from the run's own).
    engine : NotebookEngine, optional
        The notebook engine (tests); default: ``ENGINES[args.engine]``, made after
        the prep and closed at the end.

    Returns
    -------
    int
        0 all regions ok, 1 a failure, 2 a usage error, 130 interrupted. May raise
        KeyboardInterrupt before the run folder exists.
    """
    started = utc_now()
    t0 = time.perf_counter()
    try:
        if args.jobs < 1:
            raise UsageError(f"--jobs must be at least 1 (got {args.jobs})")
        if getattr(args, "scheduler", "") and getattr(args, "cluster", None):
            raise UsageError("--scheduler and --cluster are two ways to reach Dask: give one")
        args.browser = _pdf_browser(args)
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
                plan = plan_resume(args, explicit, reports, run_id)
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
    settings = {"jobs": args.jobs, "timeout": args.timeout, "engine": engine_name,
                "inputs": inputs}
    if previous is None:
        manifest = new_manifest(plan, job.run_id, started=started, **settings)
    else:
        manifest = reopen_manifest(previous, plan, **settings)
    attempt = {"attempt": job.attempt, "started": iso(started), "finished": None,
               "seconds": None, "status": "running", "pid": os.getpid(),
               "git_commit": manifest.get("git_commit"), "engine": engine_name,
               "prep": None, "regions": []}
    manifest["attempts"].append(attempt)
    record = RunRecord(run, manifest)
    interrupted = False
    owned: list = []  # an engine made here is closed here (its kernels shut down)
    try:
        with stop_signals():
            if not record.write():
                if previous is None:  # nothing could be recorded: leave the run id free again
                    release_unrecorded(run)
                print(f"error: run {job.run_id} not started: its record cannot be written",
                      file=sys.stderr)
                return EXIT_FAILED
            interrupted = _run_steps(plan, job, args, engine, inputs, record, attempt, owned)
    except KeyboardInterrupt:  # Ctrl-C (or a stop signal) outside the regions
        interrupted = True
        job.stop.set()
    except Exception as exc:  # a bug: recorded, reported on one line, details in the manifest
        manifest["error"] = {"message": error_text(exc), "traceback": traceback.format_exc()}
        print(f"error: unexpected {error_text(exc)} (details in {run.root / 'manifest.json'})",
              file=sys.stderr)
    finally:
        for made in owned:
            stop_engine(made)
    with interrupts_deferred(reraise=False):  # the end is recorded, whatever comes now
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
        message = str(exc) if isinstance(exc, ConfigError) else error_text(exc)
        manifest["prep"].update(status="failed", error=message,
                                seconds=round(time.perf_counter() - t_prep, 2))
        print(f"error: data preparation failed: {message}", file=sys.stderr)
        return False
    manifest["prep"].update(status="ok", error=None,
                            seconds=round(time.perf_counter() - t_prep, 2), **(facts or {}))
    attempt["prep"] = (facts or {}).get("action")
    attempt["market"] = run_market(plan, job)
    record.write()
    ensure_importable()
    fanout = _fanout(args)
    if fanout is not None:
        from helpers.run.cluster import ClusterError, run_regions_on_dask

        attempt["regions"] = [s.slug for s in todo]
        attempt["fanout"] = fanout.describe()
        try:
            return run_regions_on_dask(plan.scopes, job, fanout, engine_name=args.engine,
                                       timeout=args.timeout, records=records,
                                       checkpoint=record.write)
        except ClusterError as exc:
            manifest["error"] = {"message": str(exc), "traceback": None}
            print(f"error: {exc}", file=sys.stderr)
            return False
    if engine is None:
        ensure_kernel("python3")
        engine = ENGINES[args.engine](kernel_name="python3", timeout=args.timeout)
        owned.append(engine)
    attempt["regions"] = [s.slug for s in todo]
    return run_regions(plan.scopes, job, engine, args.jobs, records, checkpoint=record.write)


def _fanout(args: argparse.Namespace):
    """Where the regions run when not on threads here: a Dask scheduler or a local cluster."""
    scheduler, cluster = getattr(args, "scheduler", ""), getattr(args, "cluster", None)
    if not scheduler and not cluster:
        return None
    from helpers.run.cluster import Fanout

    return Fanout(scheduler=scheduler, local=cluster == "local", workers=args.jobs)


def _finish(plan: Plan, job: Job, args: argparse.Namespace, record: RunRecord, attempt: dict,
            interrupted: bool, t0: float) -> int:
    """Record how the run ended, print the summary, return the exit status."""
    manifest, run = record.manifest, job.run
    close_running(manifest["regions"])
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
    attempt.update(status=status, finished=iso(now),
                   seconds=round(time.perf_counter() - t0, 2))
    manifest.update(status=status, finished=iso(now),
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
    if written and getattr(args, "browser", None) and not interrupted:
        manifest["pdf"] = _print_pdfs(run.root, args.browser)
        written = record.write(final=True)
    if written:
        print(f"index: {run.root / 'index.html'}")
    if interrupted:
        again = f" --reports {plan.reports}" if args.reports else ""
        print(f"interrupted: continue with python -m helpers.run --resume {job.run_id}{again}",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    pdf_failed = bool((manifest.get("pdf") or {}).get("failed"))
    return (EXIT_FAILED if failed or not written or record.error or "error" in manifest
            or pdf_failed else EXIT_OK)


def _pdf_browser(args: argparse.Namespace) -> str | None:
    """The browser ``--pdf`` prints with (None without ``--pdf``); a UsageError naming
    what to install when there is none."""
    if not getattr(args, "pdf", False):
        return None
    try:
        return find_browser()
    except PdfUnavailable as exc:
        raise UsageError(str(exc)) from None


def _print_pdfs(root: Path, browser: str) -> dict:
    """``--pdf``: every report of the run printed next to its HTML, with a progress bar;
    the manifest's ``pdf`` record."""
    pages = run_pages(root)
    with tqdm(total=len(pages), desc="pdf", unit="page", file=sys.stderr,
              disable=None) as bar:
        result = print_run(root, browser, progress=lambda _page: bar.update())
    print(f"pdf: {result['written']} of {len(pages)} report(s) printed", file=sys.stderr)
    for item in result["failed"]:
        print(f"  pdf failed: {item['error']}", file=sys.stderr)
    return result


def cli() -> None:
    """``python -m helpers.run``: run :func:`main` and exit with its status."""
    code = main()
    if code == EXIT_INTERRUPTED and threading.active_count() > 1:
        # Ctrl-C twice: a notebook still runs in a worker thread; its kernel exits with us.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
