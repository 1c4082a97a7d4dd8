"""The run record: ``manifest.json`` (what ran, on what, how it ended) and ``index.html``.

Both are written when a run starts, after each region and at the end, on every
way out (a failure, Ctrl-C, a full disk), each file whole or not at all. Statuses:
a region or notebook is ``not run``, ``running``, ``ok``, ``failed``,
``interrupted`` (a notebook also ``skipped``: after a failure in its region); a run
is ``running``, ``ok``, ``failed`` or ``interrupted``.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from helpers import files
from helpers.config import PROJECT_ROOT, RunPaths
from helpers.data.inputs import InputFile
from helpers.files import os_error_message, sha256_file
from helpers.geo.scope import Scope
from helpers.run.index import write_index
from helpers.run.interrupts import interrupts_deferred
from helpers.run.plan import Plan

#: The packages whose versions the manifest records.
PACKAGES = [
    "pandas", "numpy", "papermill", "nbconvert", "folium", "seaborn", "scikit-learn", "pandera",
]


def utc_now() -> datetime:
    """The time now, in UTC."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """``moment`` as the manifest writes times: ``2026-11-23T11:30:00Z``."""
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def error_text(exc: BaseException) -> str:
    """An exception on one line for the record: a file error names its file."""
    if isinstance(exc, OSError) and exc.filename is not None:
        return os_error_message(exc)
    return f"{type(exc).__name__}: {exc}"


def package_versions() -> dict[str, str | None]:
    """The installed version of each of :data:`PACKAGES` (None: not installed)."""
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


def region_record(scope: Scope, lang: str, notebooks: tuple[Path, ...]) -> dict:
    """A region's entry in ``manifest.json`` before it runs: ``not run``.

    Every key is there from the start: a worker thread only changes values, so the
    main thread can write the record at any time.
    """
    record = {
        "region": scope.name, "label": scope.label(lang), "slug": scope.slug,
        "kind": scope.kind, "status": "not run", "started": None, "finished": None,
        "seconds": None, "error": None,
        "notebooks": [notebook_record(notebook) for notebook in notebooks],
    }
    if scope.kind == "city":  # the index groups cities under it; --resume parses both
        record["province"] = scope.provinces[0]
    return record


def notebook_record(notebook: Path) -> dict:
    """A notebook's entry in its region's record before it runs: ``not run``."""
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


def new_manifest(plan: Plan, run_id: str, *, jobs: int, timeout: float, engine: str,
                 started: datetime, inputs: list[InputFile]) -> dict:
    """The record of a new run as it starts: every region ``not run``, no attempt yet.

    ``run_id`` is the folder the run claimed (the plan's id, or the next free
    number after a default one); ``engine`` names the notebook engine.
    """
    from helpers.steps.prep import prep_code_sha256

    return {
        "run_id": run_id,
        "status": "running",
        "started": iso(started),
        "finished": None,
        "duration_seconds": None,
        "project": plan.config.project.name,
        "currency": plan.config.project.currency,
        "parameters": {
            "regions": plan.regions_arg, "jobs": jobs, "period_end": plan.period_end,
            "lang": plan.lang, "mask_pii": plan.mask_pii, "notebooks": str(plan.notebooks_dir),
            "reports": str(plan.reports), "timeout": timeout, "objective": plan.objective,
            "baseline_run": plan.baseline, "engine": engine,
        },
        "config": {"path": str(plan.config.config_path),
                   "sha256": sha256_file(plan.config.config_path)},
        "inputs": [item.record() for item in inputs],
        "packages": package_versions(),
        "python": platform.python_version(),
        "git_commit": git_commit(),
        "notebooks": [nb.name for nb in plan.notebooks],
        "prep": {"status": None, "seconds": None, "error": None, "action": None,
                 "reason": None, "code_sha256": prep_code_sha256()},
        "regions": [region_record(scope, plan.lang, plan.notebooks) for scope in plan.scopes],
        "attempts": [],
    }


def reopen_manifest(manifest: dict, plan: Plan, *, jobs: int, timeout: float, engine: str,
                    inputs: list[InputFile]) -> dict:
    """The record of a run being resumed (``plan.previous``), updated in place and returned.

    The run is ``running`` again with today's packages, commit, inputs and config
    hash; the settings that may change between attempts (jobs, timeout, engine) are
    this attempt's; records written by an older version get every key they lack.
    """
    manifest.setdefault("attempts", [])
    manifest.update(status="running", finished=None, packages=package_versions(),
                    python=platform.python_version(), git_commit=git_commit())
    manifest["parameters"].update(jobs=jobs, timeout=timeout, engine=engine)
    manifest["inputs"] = [item.record() for item in inputs]
    manifest["config"]["sha256"] = sha256_file(plan.config.config_path)
    fresh = {scope.slug: region_record(scope, plan.lang, plan.notebooks) for scope in plan.scopes}
    for region in manifest["regions"]:  # records of an older version get every key
        template = fresh[region["slug"]]
        items = {item.get("notebook"): item for item in region.get("notebooks") or []}
        region["notebooks"] = [{**new, **items.get(new["notebook"], {})}
                               for new in template["notebooks"]]
        for key, value in template.items():
            region.setdefault(key, value)
    return manifest


def close_running(regions: list[dict]) -> None:
    """Mark what is still ``running`` at the end (left by a second Ctrl-C) ``interrupted``."""
    for region in regions:
        for item in region["notebooks"]:
            if item["status"] == "running":
                item.update(status="interrupted", error="interrupted")
        if region["status"] == "running":
            region.update(status="interrupted", error=region.get("error") or "interrupted")


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
        with interrupts_deferred(reraise=not final):
            for write in (self._manifest, self._index):
                try:
                    write()
                except Exception as exc:
                    ok = False
                    message = error_text(exc)
                    if message != self.error:
                        print(f"error: {message}", file=sys.stderr)
                    self.error = message
        return ok

    def _manifest(self) -> None:
        text = json.dumps(self.manifest, ensure_ascii=False, indent=2, default=str)
        files.write_atomic(self.run.root / "manifest.json", text)

    def _index(self) -> None:
        write_index(self.run.root, self.manifest["regions"], meta=self.manifest)
