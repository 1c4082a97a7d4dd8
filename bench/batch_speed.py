"""Wall time of a batch: N regions x 5 notebooks, per engine and --jobs setting.

By default the notebooks are stubs (parameters cell, ``import pandas`` and
``helpers``, one print) so the table shows the engine's own cost: kernel start,
papermill and HTML rendering. ``--engines`` compares the notebook engines
(``warm``: one kernel per worker, reused; ``papermill``: a kernel per notebook).
``--real`` runs the project's notebooks on the
configured data instead (data prep included, once per run).

    python bench/batch_speed.py                      # ALL + 2 territories, jobs 1 and 2
    python bench/batch_speed.py --regions territories --jobs 1,2,4
    python bench/batch_speed.py --real --regions 华东
    python bench/batch_speed.py --real --regions territories --jobs 2 --engines warm,papermill
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers.config import DEFAULT_CONFIG  # noqa: E402
from helpers.run import batch  # noqa: E402
from helpers.run.render import render_html  # noqa: E402

PARAMETERS = """region: str = "ALL"
run_dir: str = ""
config: str = "workbook.yaml"
period_end: str = ""
lang: str = "en"
mask_pii: bool = True"""
BODY = """import pandas as pd
from helpers.config import load_config
cfg = load_config(config)
pd.DataFrame({"region": [region], "step": [STEP]})"""
STEPS = ["goals", "data_prep", "visualization", "insight", "strategy"]


def stub_notebooks(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, step in enumerate(STEPS, start=1):
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        params = nbformat.v4.new_code_cell(PARAMETERS)
        params.metadata["tags"] = ["parameters"]
        nb.cells = [nbformat.v4.new_markdown_cell(f"# {step}"), params,
                    nbformat.v4.new_code_cell(BODY.replace("STEP", repr(step)))]
        nbformat.write(nb, folder / f"{i:02d}_{step}.ipynb")
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", default="华东,华南",
                        help="as for helpers.run.batch (ALL is always added)")
    parser.add_argument("--jobs", default="1,2", help="comma-separated --jobs values")
    parser.add_argument("--engines", default="warm,papermill",
                        help="comma-separated --engine values (default: %(default)s)")
    parser.add_argument("--real", action="store_true", help="the project's notebooks and data")
    args = parser.parse_args(argv)

    rows = []
    with tempfile.TemporaryDirectory(prefix="batch-speed-") as tmp:
        tmp = Path(tmp)
        notebooks = ROOT / "notebooks" if args.real else stub_notebooks(tmp / "notebooks")
        if not args.real:
            batch.run_prep = lambda config, run, inputs: run.prep.mkdir(parents=True, exist_ok=True)
        engines = [e.strip() for e in args.engines.split(",") if e.strip()]
        for jobs, engine in [(int(j), e) for j in args.jobs.split(",") for e in engines]:
            run_id = f"{engine}-jobs{jobs}"
            t0 = time.perf_counter()
            code = batch.main(["--config", str(DEFAULT_CONFIG), "--regions", args.regions,
                               "--jobs", str(jobs), "--run-id", run_id, "--engine", engine,
                               "--notebooks", str(notebooks), "--reports", str(tmp)])
            wall = time.perf_counter() - t0
            manifest = json.loads((tmp / run_id / "manifest.json").read_text("utf-8"))
            seconds = [n["seconds"] for r in manifest["regions"] for n in r["notebooks"]
                       if n["seconds"] is not None]
            rows.append((engine, jobs, len(manifest["regions"]), len(seconds), wall,
                         manifest["prep"]["seconds"], statistics.mean(seconds),
                         len(seconds) / wall * 60, "ok" if code == 0 else f"exit {code}"))
        executed = next(tmp.glob("*-jobs*/all/*.ipynb"))
        t0 = time.perf_counter()
        for _ in range(5):
            render_html(executed, tmp / "render.html", title="bench")
        render = (time.perf_counter() - t0) / 5

    print()
    print(f"{'notebooks':<10} {'engine':<10} {'jobs':>4} {'regions':>7} {'runs':>5} {'wall s':>8} "
          f"{'prep s':>7} {'s/notebook':>10} {'nb/min':>7}  status")
    for engine, jobs, regions, runs, wall, prep, mean, rate, status in rows:
        print(f"{'real' if args.real else 'stub':<10} {engine:<10} {jobs:>4} {regions:>7} {runs:>5} "
              f"{wall:>8.1f} {prep:>7.1f} {mean:>10.2f} {rate:>7.1f}  {status}")
    print(f"\ns/notebook = execute (kernel start included) + render HTML; "
          f"render alone: {render:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
