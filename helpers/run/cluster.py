"""Regions fanned out on a Dask cluster: ``--scheduler tcp://host:8786`` or ``--cluster local``.

The prep is built before the fan-out (:mod:`helpers.run.batch`); each region is one Dask
task that runs the region's notebooks on the worker with a notebook engine the worker keeps
between regions (one per worker process and engine setting, so kernels stay warm: a
thread's kernel is reused by the next region that thread runs). The task returns the
region's record, which the batch merges into the manifest as it arrives.

Every worker reads the notebooks and the run's prep and writes the region's folder, so
the run folder and the notebooks must be on storage every worker sees at the same path
(an NFS or SMB mount, for example); on one host that is simply the local disk.

Failures stay per region, as with threads: a notebook that fails or times out is recorded
by the worker; a task that raises or whose worker dies (Dask retries a task whose worker
died on another worker, ``distributed.scheduler.allowed-failures`` times) leaves the
region ``failed`` with the reason. On Ctrl-C the regions not started are cancelled and
the running ones are told to start no further notebook.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
import time
from dataclasses import dataclass

from distributed.diagnostics.plugin import WorkerPlugin

from helpers.geo.scope import Scope
from helpers.run.regions import Job, region_record, run_region, stop_engine

__all__ = ["ClusterError", "open_client", "run_regions_on_dask"]

#: Seconds to wait for a scheduler to answer (``--scheduler``).
CONNECT_TIMEOUT = 30.0

#: How often a running region on a worker checks whether the run was stopped (seconds).
STOP_POLL_SECONDS = 1.0

#: The engines a worker process keeps between regions: (engine name, timeout) -> engine.
_ENGINES: dict[tuple[str, float], object] = {}
_ENGINES_LOCK = threading.Lock()


class ClusterError(RuntimeError):
    """The Dask cluster cannot be reached or started (the message says which and how)."""


@dataclass(frozen=True)
class Fanout:
    """Where the regions go: a scheduler address, or a local cluster of ``workers`` processes."""

    scheduler: str = ""
    local: bool = False
    workers: int = 2

    def describe(self) -> str:
        return self.scheduler if self.scheduler else f"local cluster ({self.workers} workers)"


def open_client(fanout: Fanout, *, timeout: float | None = None):
    """A ``distributed.Client`` for ``fanout`` (and the LocalCluster it started, or None).

    Raises ClusterError naming the address when no scheduler answers.
    """
    from distributed import Client, LocalCluster

    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    if fanout.local:
        cluster = LocalCluster(n_workers=max(1, fanout.workers), threads_per_worker=1,
                               processes=True, dashboard_address=None)
        return Client(cluster), cluster
    try:
        return Client(fanout.scheduler, timeout=timeout), None
    except (OSError, TimeoutError) as exc:
        raise ClusterError(
            f"no Dask scheduler answers at --scheduler {fanout.scheduler!r} within {timeout:.0f} s "
            f"({type(exc).__name__}: {exc}); start one with `dask scheduler` and its workers "
            "with `dask worker <address> --nthreads 1`") from None


def _portable(job: Job) -> dict:
    """``job`` as plain fields a worker can rebuild (its stop event stays here)."""
    return {f.name: getattr(job, f.name) for f in dataclasses.fields(job) if f.name != "stop"}


def _worker_engine(name: str, timeout: float):
    """This worker process's engine for ``name``/``timeout``, made on first use and kept."""
    from helpers.run.batch import ENGINES, ensure_importable
    from helpers.run.engine import ensure_kernel

    with _ENGINES_LOCK:
        engine = _ENGINES.get((name, timeout))
        if engine is None:
            ensure_importable()
            ensure_kernel("python3")
            engine = ENGINES[name](kernel_name="python3", timeout=timeout)
            _ENGINES[(name, timeout)] = engine
    return engine


def close_worker_engines() -> None:
    """Shut down the kernels of this process's engines (a worker closing)."""
    with _ENGINES_LOCK:
        engines = list(_ENGINES.values())
        _ENGINES.clear()
    for engine in engines:
        stop_engine(engine)


def _watch_stop(event_name: str, job: Job, done: threading.Event) -> None:
    """Set ``job.stop`` when the run's Dask event is set (Ctrl-C on the batch)."""
    from distributed import Event

    try:
        stop = Event(event_name)
        while not done.is_set():
            if stop.wait(STOP_POLL_SECONDS):
                job.stop.set()
                return
    except Exception:  # the scheduler is gone: nothing to watch any more
        return


def run_region_task(scope: Scope, fields: dict, record: dict, engine_name: str,
                    timeout: float, stop_event: str) -> dict:
    """The Dask task of one region: run its notebooks on this worker; the region's record."""
    job = Job(**fields)
    done = threading.Event()
    watcher = threading.Thread(target=_watch_stop, args=(stop_event, job, done), daemon=True)
    watcher.start()
    try:
        engine = _worker_engine(engine_name, timeout)
        return run_region(scope, job, engine, record)
    finally:
        done.set()


class _CloseEngines(WorkerPlugin):
    """A worker plugin that shuts the worker's kernels down when the worker closes."""

    name = "workbook-engines"

    def teardown(self, worker) -> None:
        close_worker_engines()


def _progress(total: int, where: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="region", desc=f"regions on {where}", file=sys.stderr,
                dynamic_ncols=True, disable=None)


def run_regions_on_dask(scopes: list[Scope], job: Job, fanout: Fanout, *, engine_name: str,
                        timeout: float, records: dict[str, dict] | None = None,
                        checkpoint=None) -> bool:
    """Run every region not yet ok as a Dask task; True when interrupted.

    As :func:`helpers.run.regions.run_regions`, with the regions on ``fanout``'s workers:
    ``records`` (slug -> region record) are updated as tasks finish and ``checkpoint`` is
    called after each. Raises ClusterError when the cluster cannot be reached or started.
    """
    from distributed import Event, as_completed

    records = {} if records is None else records
    for scope in scopes:
        records.setdefault(scope.slug, region_record(scope, job.lang, job.notebooks))
    todo = [scope for scope in scopes if records[scope.slug]["status"] != "ok"]
    client, cluster = open_client(fanout)
    interrupted = False
    stop_name = f"workbook-stop-{job.run_id}-{job.attempt}-{time.time_ns()}"
    try:
        try:
            client.register_plugin(_CloseEngines(), name=_CloseEngines.name)
        except Exception:  # an older scheduler without worker plugins: kernels die with the worker
            pass
        stop = Event(stop_name, client=client)
        fields = _portable(job)
        futures = {}
        for scope in todo:
            future = client.submit(run_region_task, scope, fields, records[scope.slug],
                                   engine_name, timeout, stop_name,
                                   key=f"region-{job.run_id}-{scope.slug}-{time.time_ns()}",
                                   pure=False)
            futures[future] = scope
        failed = 0
        with _progress(len(todo), fanout.describe()) as bar:
            try:
                for future in as_completed(list(futures)):
                    scope = futures[future]
                    record = records[scope.slug]
                    try:
                        record.update(future.result())
                    except Exception as exc:  # the task raised, or its workers kept dying
                        record.update(status="failed", error=_task_error(exc),
                                      finished=None)
                    if record["status"] == "failed":
                        failed += 1
                        bar.write(f"failed: {record['label']}: {record['error']}",
                                  file=sys.stderr)
                    bar.set_postfix(failed=failed, last=scope.label_en, refresh=False)
                    bar.update(1)
                    if checkpoint is not None:
                        checkpoint()
            except KeyboardInterrupt:
                interrupted = True
                job.stop.set()
                bar.write("interrupted: cancelling the regions not started; the running ones "
                          "start no further notebook", file=sys.stderr)
                stop.set()
                running = [f for f in futures if not f.done()]
                client.cancel(running)
                for future in running:
                    record = records[futures[future].slug]
                    if record["status"] in ("not run", "running"):
                        record.update(status="interrupted", error="interrupted")
    finally:
        try:  # the workers' kernels end with the run (the workers themselves stay)
            client.run(close_worker_engines)
        except Exception:
            pass
        client.close()
        if cluster is not None:
            cluster.close()
    return interrupted


def _task_error(exc: BaseException) -> str:
    """Why a region's task failed, in one line."""
    name = type(exc).__name__
    if name == "KilledWorker":
        return ("its Dask worker died while running it (and again on each retry): "
                f"{exc}")
    return f"{name}: {exc}"
