"""What a run will do: the plan from the command line, or from the run it resumes.

Everything here is checked before a run folder exists or a kernel starts: a wrong
option, config, region, period end or translation file is a :class:`UsageError`
(exit status 2) naming what is wrong.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from helpers.analysis.monitor import resolve_run
from helpers.config import Config, load_config
from helpers.data.inputs import InputFile
from helpers.geo.scope import Scope, list_regions, region_spec
from helpers.geo.territories import RegionError
from helpers.period import check_end_day
from helpers.run.render import load_translations

NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"


class UsageError(Exception):
    """A problem with the command line or the config: exit status 2."""


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


def check_run_id(run_id: str) -> str:
    """A run id is one folder name: not empty, no path separator, not ``.`` or ``..``."""
    if not run_id.strip() or run_id in (".", "..") or any(c in run_id for c in "/\\\0"):
        raise UsageError(f"--run-id must be a folder name (no / or \\), got {run_id!r}")
    return run_id


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
    """The workbook's ``NN_*.ipynb`` in ``folder``, in order. Raises UsageError when none."""
    notebooks = tuple(sorted(Path(folder).glob(NOTEBOOK_GLOB)))
    if not notebooks:
        raise UsageError(f"no notebooks matching {NOTEBOOK_GLOB} in {folder}")
    return notebooks


def _check_period_end(value: str) -> None:
    try:
        check_end_day(value)
    except ValueError as exc:
        raise UsageError(f"--period-end {exc}") from None


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
        scopes = [Scope.parse(region_spec(r), config) for r in regions]
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


