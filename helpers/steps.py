"""What each step computes and writes, so a later notebook can build what is missing.

Notebooks call these and show the results; the batch runner calls
:func:`ensure_prep` once per run. Each function returns plain tables.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pandas as pd

from helpers.config import Config, RunPaths
from helpers.prep import PrepResult, build_prep, input_files, load_prep, save_prep


def _fingerprint(config: Config) -> dict:
    """What the prep depends on: the config file's hash and each input's size and mtime."""
    files = {}
    for path in input_files(config):
        stat = path.stat() if path.exists() else None
        files[str(path)] = [stat.st_size, stat.st_mtime_ns] if stat else None
    digest = hashlib.sha256(config.config_path.read_bytes()).hexdigest()
    return {"config": str(config.config_path), "config_sha256": digest, "files": files}


def ensure_prep(config: Config, run: RunPaths, *, rebuild: bool = False) -> PrepResult:
    """Load the run's cleaned tables, building them first when missing or stale."""
    fingerprint = _fingerprint(config)
    summary = run.prep / "prep.json"
    if not rebuild and summary.exists():
        saved = json.loads(summary.read_text("utf-8")).get("fingerprint")
        if saved == json.loads(json.dumps(fingerprint)):
            return load_prep(run.prep)
    result = build_prep(config)
    save_prep(result, run.prep, fingerprint)
    return result


def _plain(value):
    """JSON-ready copy: NaN and NA become None, numpy scalars Python numbers."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
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
