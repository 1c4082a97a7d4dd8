"""Running the regions of a run: each region's notebooks in order, regions in parallel.

A failing notebook stops its own region only (the notebooks after it are
``skipped``); each executed notebook is rendered to its HTML report at once. On
Ctrl-C no further region or notebook starts and the engine stops the running ones.
"""

from __future__ import annotations

import concurrent.futures
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from helpers.catalog import OBJECTIVES
from helpers.config import RunPaths
from helpers.files import os_error_message
from helpers.geo.scope import Scope
from helpers.run.engine import NotebookEngine, NotebookFailed
from helpers.run.record import error_text, iso, region_record, region_status, utc_now
from helpers.run.render import notebook_title, refresh_navigation, render_html
from helpers.text.lookup import say

#: How often the main thread wakes while regions run (a Ctrl-C is seen at once anyway).
POLL_SECONDS = 0.5


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


def run_region(scope: Scope, job: Job, engine: NotebookEngine, record: dict | None = None) -> dict:
    """Run the notebooks of one region in order; stop at the first failure.

    ``record`` (:func:`region_record`, or the region's record from the run being
    resumed) is updated in place and returned: notebooks already ``ok`` before the
    first one that is not are kept, the others run. Never raises; an engine that
    raises KeyboardInterrupt stops the run (``job.stop``).
    """
    record = region_record(scope, job.lang, job.notebooks) if record is None else record
    items = record["notebooks"]
    first = next((i for i, item in enumerate(items) if item["status"] != "ok"), len(items))
    if first == len(items) or job.stop.is_set():
        return record
    started = time.perf_counter()
    record.update(status="running", error=None, started=iso(utc_now()), finished=None)
    parameters = notebook_parameters(scope, job)
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
                      finished=iso(utc_now()))
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
        item.update(status="running", attempt=job.attempt, started=iso(utc_now()))
        t0 = time.perf_counter()
        try:
            status, error = _execute(engine, notebook, output, parameters, job)
            if output.exists():
                item["ipynb"] = f"{scope.slug}/{output.name}"
            if output.exists() and status != "interrupted":  # it is run again on --resume
                try:
                    render_report(scope, notebook, output, job)
                    item["html"] = f"{scope.slug}/{output.with_suffix('.html').name}"
                except Exception as exc:
                    if status == "ok":
                        status, error = "failed", f"HTML rendering failed: {error_text(exc)}"
        finally:
            item["seconds"] = round(time.perf_counter() - t0, 2)
        item.update(status=status, error=error)
        if status == "failed":
            failed = True
            record["error"] = f"{notebook.name}: {error}"
    refresh_reports(folder, job)
    record.update(status=region_status(items), seconds=round(time.perf_counter() - started, 2),
                  finished=iso(utc_now()))
    if record["status"] == "interrupted" and not record["error"]:
        stopped = next(item for item in items if item["status"] != "ok")
        record["error"] = (f"{stopped['notebook']}: {stopped['error']}" if stopped["error"]
                           else f"interrupted before {stopped['notebook']}")
    return record


def notebook_parameters(scope: Scope, job: Job) -> dict:
    """The parameters every notebook of ``scope`` gets (papermill injects them)."""
    return {
        "region": scope.spec,  # a city with its province: 北京市:北京市 is not the province
        "run_dir": str(job.run.root),
        "config": str(job.config_path),
        "period_end": job.period_end,
        "lang": job.lang,
        "mask_pii": job.mask_pii,
        "objective": job.objective,
        "baseline_run": job.baseline_run,
    }


def _execute(engine: NotebookEngine, notebook: Path, output: Path, parameters: dict,
             job: Job) -> tuple[str, str | None]:
    """Run one notebook; its status and error. Never raises but for a second Ctrl-C."""
    try:
        engine.execute(notebook, output, parameters, job.notebooks_dir)
        status, error = "ok", None
    except NotebookFailed as exc:
        status, error = "failed", exc.message
    except KeyboardInterrupt:  # the engine was interrupted: the whole run stops
        job.stop.set()
        status, error = "interrupted", "interrupted"
    except Exception as exc:  # an engine bug must not stop the other regions
        status, error = "failed", error_text(exc)
    if status == "failed" and job.stop.is_set():
        status = "interrupted"  # its kernel was stopped because the run was
    return status, error


def render_report(scope: Scope, notebook: Path, output: Path, job: Job) -> Path:
    """Render the executed ``output`` beside it as the region's HTML report; its path.

    The page is titled with region, run and step in the run's language, opens with
    the bar to the index, the region's steps and its downloads, puts first the
    sections the objective needs and shows the notebooks' markdown in the run's language.
    """
    title = say("report_title", job.lang, region=scope.label(job.lang), run=job.run_id,
                notebook=notebook_title(notebook.name, job.lang))
    order = OBJECTIVES[job.objective].first.get(notebook.name[:2], [])
    return render_html(output, output.with_suffix(".html"), title=title,
                       index_href="../index.html", index_text=say("all_regions", job.lang),
                       section_order=order, translations=job.translations,
                       steps=[nb.name for nb in job.notebooks], lang=job.lang)


def refresh_reports(folder: Path, job: Job) -> None:
    """Rewrite the bars of the region's reports now that its steps have run, so each
    links the pages and downloads there are (:func:`helpers.run.render.refresh_navigation`).
    A page that cannot be rewritten keeps its bar (its links are those of its rendering)."""
    try:
        refresh_navigation(folder, [nb.name for nb in job.notebooks], job.lang,
                           index_href="../index.html", index_text=say("all_regions", job.lang))
    except OSError:
        pass


def _progress(total: int):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="region", desc="regions", file=sys.stderr,
                dynamic_ncols=True, disable=None)


def stop_engine(engine: NotebookEngine) -> None:
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
        records.setdefault(scope.slug, region_record(scope, job.lang, job.notebooks))
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
            stop_engine(engine)
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

