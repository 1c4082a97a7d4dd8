"""Run the workbook for the whole market and every region: ``python -m helpers.batch``.

One run writes ``reports/<run_id>/``: the cleaned tables in ``prep/`` (built once,
before any region), then per region ``<slug>/NN_*.ipynb`` (executed) and
``NN_*.html`` (rendered, code hidden), and at the end ``manifest.json`` and
``index.html``. Regions run in parallel; a failing notebook stops its own region
only. Exit status: 0 all regions ok, 1 a region (or data prep) failed, 2 the
command line or the config is wrong.

Examples
--------
::

    python -m helpers.batch                          # ALL + the 7 territories
    python -m helpers.batch --regions provinces --jobs 4
    python -m helpers.batch --regions 广东,Zhejiang --lang zh --run-id q4-review
    python -m helpers.batch --objective reallocate_resources --baseline-run q3-review
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from helpers.config import PROJECT_ROOT, Config, ConfigError, RunPaths, load_config
from helpers.engine import (
    NotebookEngine,
    NotebookFailed,
    PapermillEngine,
    WarmKernelEngine,
    ensure_kernel,
)
from helpers.goals import OBJECTIVES
from helpers.monitor import collect_monitoring, resolve_run
from helpers.phrases import say
from helpers.report import load_translations, notebook_title, render_html, write_index
from helpers.scope import RegionError, Scope, list_regions

NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
ENGINES = {"warm": WarmKernelEngine, "papermill": PapermillEngine}
DEFAULT_ENGINE = "warm"
PACKAGES = [
    "pandas", "numpy", "papermill", "nbconvert", "folium", "seaborn", "scikit-learn", "pandera",
]


class UsageError(Exception):
    """A problem with the command line or the config: exit status 2."""


@dataclass(frozen=True)
class Job:
    """What every region of a run shares."""

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


def default_jobs() -> int:
    return min(2, os.cpu_count() or 1)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.batch",
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
                        help="folder name under the reports folder (default: UTC time, "
                        "e.g. 20261123-113000)")
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


def sha256_file(path: Path) -> str | None:
    """Hex SHA-256 of a file, None when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def input_files(config: Config) -> list[dict]:
    """Every configured source file with its size and hash (null when missing)."""
    rows = []
    for table, sources in config.sources.items():
        for source in sources:
            path = config.data_dir / source.file
            rows.append({
                "table": table,
                "source": source.name,
                "path": str(path),
                "bytes": path.stat().st_size if path.is_file() else None,
                "sha256": sha256_file(path) if path.is_file() else None,
            })
    return rows


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


def _write_json(data: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    tmp.replace(path)
    return path


# ---------------------------------------------------------------------------
# the steps of a run


def run_prep(config: Config, run: RunPaths) -> None:
    """Build the run's cleaned tables once (``helpers.steps.ensure_prep``)."""
    from helpers.steps import ensure_prep

    ensure_prep(config, run)


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


def run_region(scope: Scope, job: Job, engine: NotebookEngine) -> dict:
    """Run the notebooks of one region in order; stop at the first failure.

    Never raises: the returned record says what happened (as in ``manifest.json``).
    """
    label = scope.label(job.lang)
    record: dict = {
        "region": scope.name, "label": label, "slug": scope.slug, "kind": scope.kind,
        "status": "ok", "seconds": 0.0, "error": None, "notebooks": [],
    }
    started = time.perf_counter()
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
    # A headline or comparison left by an earlier attempt at this run id must not reach
    # the index.
    for name in ("headline.json", "comparison.json"):
        (job.run.root / scope.slug / name).unlink(missing_ok=True)
    failed = False
    for notebook in job.notebooks:
        item: dict = {"notebook": notebook.name, "status": "skipped", "seconds": None,
                      "error": None, "ipynb": None, "html": None}
        record["notebooks"].append(item)
        if failed:
            continue
        try:
            folder = job.run.region(scope.slug)
            output = folder / notebook.name
            html = output.with_suffix(".html")
        except Exception as exc:  # e.g. cannot create the folder
            failed = True
            item.update(status="failed", error=f"{type(exc).__name__}: {exc}")
            continue
        t0 = time.perf_counter()
        try:
            try:
                engine.execute(notebook, output, parameters, job.notebooks_dir)
                item["status"] = "ok"
            except NotebookFailed as exc:
                item.update(status="failed", error=exc.message)
            except Exception as exc:  # an engine bug must not stop the other regions
                item.update(status="failed", error=f"{type(exc).__name__}: {exc}")
            if output.exists():
                item["ipynb"] = f"{scope.slug}/{output.name}"
                title = say("report_title", job.lang, region=label, run=job.run_id,
                            notebook=notebook_title(notebook.name, job.lang))
                try:
                    first = OBJECTIVES[job.objective].first.get(notebook.name[:2], [])
                    render_html(output, html, title=title, index_href="../index.html",
                                index_text=say("all_regions", job.lang), section_order=first,
                                translations=job.translations)
                    item["html"] = f"{scope.slug}/{html.name}"
                except Exception as exc:
                    if item["status"] == "ok":
                        item.update(status="failed",
                                    error=f"HTML rendering failed: {type(exc).__name__}: {exc}")
        finally:
            item["seconds"] = round(time.perf_counter() - t0, 2)
        if item["status"] == "failed":
            failed = True
            record["status"] = "failed"
            record["error"] = f"{notebook.name}: {item['error']}"
    record["seconds"] = round(time.perf_counter() - started, 2)
    return record


def _progress(total: int):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="region", desc="regions", file=sys.stderr,
                dynamic_ncols=True, disable=None)


def run_regions(scopes: list[Scope], job: Job, engine: NotebookEngine, jobs: int) -> list[dict]:
    """Run every region with ``jobs`` worker threads; records in the order of ``scopes``."""
    records: dict[str, dict] = {}
    failed = 0
    with _progress(len(scopes)) as bar, ThreadPoolExecutor(max_workers=max(1, jobs),
                                                           thread_name_prefix="region") as pool:
        futures = {pool.submit(run_region, scope, job, engine): scope for scope in scopes}
        try:
            for future in as_completed(futures):
                scope = futures[future]
                record = future.result()  # run_region never raises
                records[scope.slug] = record
                if record["status"] != "ok":
                    failed += 1
                    bar.write(f"failed: {record['label']}: {record['error']}", file=sys.stderr)
                bar.set_postfix(failed=failed, last=scope.label_en, refresh=False)
                bar.update(1)
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return [records[scope.slug] for scope in scopes]


def main(argv: list[str] | None = None, *, engine: NotebookEngine | None = None) -> int:
    """Command line entry point; returns the exit status (0 ok, 1 failures, 2 usage)."""
    args = build_parser().parse_args(argv)
    started = utc_now()
    t0 = time.perf_counter()
    try:
        config = load_config(args.config)
        if args.jobs < 1:
            raise UsageError(f"--jobs must be at least 1 (got {args.jobs})")
        if args.period_end:
            try:
                date.fromisoformat(args.period_end)
            except ValueError:
                raise UsageError(f"--period-end must be a date like 2025-12-31 "
                                 f"(got {args.period_end!r})") from None
        scopes = resolve_regions(config, args.regions)
        notebooks = find_notebooks(args.notebooks)
        run_id = args.run_id or started.strftime("%Y%m%d-%H%M%S")
        reports = (args.reports or config.reports_dir).resolve()
        baseline = ""
        if args.baseline_run:
            try:
                baseline = str(resolve_run(args.baseline_run, reports))
            except FileNotFoundError as exc:
                raise UsageError(f"--baseline-run: {exc}") from None
            if Path(baseline) == (reports / run_id).resolve():
                raise UsageError(f"--baseline-run {args.baseline_run!r} is this run")
        try:  # the notebooks' text in the report's language, checked before any region runs
            translations = load_translations(args.notebooks.resolve(),
                                             args.lang or config.report.lang)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    except (ConfigError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    run = RunPaths(reports / run_id)
    job = Job(
        run=run,
        run_id=run_id,
        notebooks=notebooks,
        notebooks_dir=args.notebooks.resolve(),
        config_path=config.config_path,
        period_end=args.period_end,
        lang=args.lang or config.report.lang,
        mask_pii=False if args.no_mask_pii else config.report.mask_pii,
        objective=args.objective,
        baseline_run=baseline,
        translations=translations,
    )
    manifest: dict = {
        "run_id": run_id,
        "status": "running",
        "started": _iso(started),
        "finished": None,
        "duration_seconds": None,
        "project": config.project.name,
        "currency": config.project.currency,
        "parameters": {
            "regions": args.regions, "jobs": args.jobs, "period_end": job.period_end,
            "lang": job.lang, "mask_pii": job.mask_pii, "notebooks": str(job.notebooks_dir),
            "reports": str(reports), "timeout": args.timeout, "objective": job.objective,
            "baseline_run": job.baseline_run,
            "engine": args.engine if engine is None else type(engine).__name__,
        },
        "config": {"path": str(config.config_path), "sha256": sha256_file(config.config_path)},
        "inputs": input_files(config),
        "packages": package_versions(),
        "python": platform.python_version(),
        "git_commit": git_commit(),
        "notebooks": [nb.name for nb in notebooks],
        "prep": {"status": None, "seconds": None, "error": None},
        "regions": [],
    }

    def finish(status: str) -> None:
        if job.baseline_run:
            # Regions left by an earlier attempt at this run id must not be summarised.
            (run.root / "monitoring.json").unlink(missing_ok=True)
            collect_monitoring(run.root, manifest["regions"], baseline_run=job.baseline_run)
        manifest["status"] = status
        manifest["finished"] = _iso(utc_now())
        manifest["duration_seconds"] = round(time.perf_counter() - t0, 2)
        _write_json(manifest, run.root / "manifest.json")
        write_index(run.root, manifest["regions"], meta=manifest)

    run.root.mkdir(parents=True, exist_ok=True)
    ensure_importable()
    owned = None  # an engine made here is closed here (its kernels shut down)
    if engine is None:
        ensure_kernel("python3")
        engine = owned = ENGINES[args.engine](kernel_name="python3", timeout=args.timeout)

    print(f"run {run_id}: {len(scopes)} region(s) x {len(notebooks)} notebook(s), "
          f"{args.jobs} at a time -> {run.root}", file=sys.stderr)
    print("preparing the data (once for all regions) ...", file=sys.stderr)
    t_prep = time.perf_counter()
    try:
        run_prep(config, run)
    except Exception as exc:
        message = str(exc) if isinstance(exc, ConfigError) else f"{type(exc).__name__}: {exc}"
        manifest["prep"] = {"status": "failed", "seconds": round(time.perf_counter() - t_prep, 2),
                            "error": message}
        finish("failed")
        print(f"error: data preparation failed: {message}", file=sys.stderr)
        print(f"manifest: {run.root / 'manifest.json'}", file=sys.stderr)
        return 1
    manifest["prep"] = {"status": "ok", "seconds": round(time.perf_counter() - t_prep, 2),
                        "error": None}

    try:
        manifest["regions"] = run_regions(scopes, job, engine, args.jobs)
    except KeyboardInterrupt:
        finish("interrupted")
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if owned is not None and hasattr(owned, "close"):
            try:
                owned.close()
            except KeyboardInterrupt:  # Ctrl-C while kernels shut down: still write the
                pass                   # manifest; the engine's atexit hook kills what is left
    failed = [r for r in manifest["regions"] if r["status"] != "ok"]
    finish("failed" if failed else "ok")

    ok = len(manifest["regions"]) - len(failed)
    print(f"{ok} region(s) ok, {len(failed)} failed in {manifest['duration_seconds']:.0f} s")
    for record in failed:
        print(f"  failed: {record['label']} ({record['slug']}): {record['error']}")
    print(f"index: {run.root / 'index.html'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
