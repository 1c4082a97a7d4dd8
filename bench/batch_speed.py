"""Where a batch's time goes: seconds per notebook, side by side in one run, per way of running.

Rows (the same regions and notebooks, one after another in this window):

- ``naive loop``: what a user would write: for every region and notebook, the
  ``papermill`` command line (a new kernel each time) and then ``jupyter nbconvert
  --to html``, both as subprocesses, on a run folder whose prep was built once;
- ``papermill``: ``python -m helpers.run --engine papermill`` (a kernel per notebook);
- ``warm``: ``python -m helpers.run`` (the default: one kernel per worker, reused);
- ``baseline warm`` (``--baseline DIR``): the warm engine of another checkout of the
  project (an earlier commit, ``git archive <commit> | tar -x -C DIR``), run as a
  subprocess with its own code and notebooks: before/after in the same window;
- ``dask local``: ``python -m helpers.run --cluster local`` (a Dask LocalCluster of ``--jobs``
  worker processes, each keeping its warm kernels between regions); from its per-notebook
  time the wall time on N workers is estimated (prep + notebooks x seconds / N, the
  regions spread evenly; the prep runs once, before the fan-out).

``peak MB`` is the highest resident memory of the whole process tree during the row
(this process, the kernels, the command lines and Dask workers it starts; sampled every
0.25 s by :class:`batch_memory.TreeSampler`). ``s/notebook`` is the mean time of one
notebook as the batch records it (execute,
kernel start or reset included, plus its HTML report); ``wall/nb`` is the wall time
after the prep divided by the notebooks (with ``--jobs`` above 1, regions overlap).
Then: step 4's compute cell per region and the cell time per notebook, for every batch
row side by side (with the seconds spent on the market-wide results once before the
fan-out, :mod:`helpers.steps.market`); the slowest cells over the warm run
(papermill's per-cell ``duration`` in the executed notebooks), cell time per notebook,
and the HTML render time per notebook
(every executed notebook of the warm run rendered again: with a new exporter per
call, as before, and with the thread's exporter reused, as now).

By default the notebooks are stubs (parameters cell, ``import pandas`` and
``helpers``, one print) so the table shows the engines' own cost. ``--real`` runs the
project's notebooks on the configured data (``workbook.yaml``; data prep included,
once per run).

    python bench/batch_speed.py                              # stubs: ALL + 2 territories
    python bench/batch_speed.py --real --regions 华东,华南
    python bench/batch_speed.py --real --regions 华东,华南 --baseline /tmp/batch-before
    python bench/batch_speed.py --real --regions provinces --ways warm --jobs 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from batch_memory import MB, TreeSampler  # noqa: E402  (bench/ is the script's folder)

from helpers.config import DEFAULT_CONFIG, RunPaths, load_config  # noqa: E402
from helpers.run import batch, render  # noqa: E402
from helpers.run.plan import find_notebooks, resolve_regions  # noqa: E402

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
WAYS = ("naive", "papermill", "warm", "dask")
BIN = Path(sys.executable).parent


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


def _tool(name: str) -> str:
    path = BIN / name
    return str(path) if path.exists() else name


def _kernel_env(root: Path) -> dict:
    """This environment with ``root`` first on PYTHONPATH (kernels import its helpers)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root), *[p for p in env.get("PYTHONPATH", "")
                                                       .split(os.pathsep) if p]])
    return env


def run_naive(notebooks: Path, config_path: Path, regions: str, out: Path, real: bool) -> dict:
    """The user's loop: papermill CLI, then ``jupyter nbconvert --to html``, per notebook."""
    config = load_config(config_path)
    scopes = resolve_regions(config, regions)
    run = RunPaths(out)
    t0 = time.perf_counter()
    if real:
        from helpers.steps.prep import prepare

        prepare(config, run)
    else:
        run.prep.mkdir(parents=True, exist_ok=True)
    prep = time.perf_counter() - t0
    env = _kernel_env(ROOT)
    execute, convert, failed = [], [], 0
    for scope in scopes:
        folder = out / scope.slug
        folder.mkdir(parents=True, exist_ok=True)
        for notebook in find_notebooks(notebooks):
            output = folder / notebook.name
            t1 = time.perf_counter()
            done = subprocess.run(
                [_tool("papermill"), str(notebook), str(output), "-k", "python3",
                 "--cwd", str(notebooks), "--no-progress-bar",
                 "-p", "region", scope.name, "-p", "run_dir", str(out),
                 "-p", "config", str(config_path), "-p", "lang", "en"],
                env=env, capture_output=True, text=True, check=False)
            t2 = time.perf_counter()
            failed += done.returncode != 0
            done = subprocess.run([_tool("jupyter"), "nbconvert", "--to", "html", str(output)],
                                  env=env, capture_output=True, text=True, check=False)
            failed += done.returncode != 0
            execute.append(t2 - t1)
            convert.append(time.perf_counter() - t2)
    wall = time.perf_counter() - t0
    seconds = [a + b for a, b in zip(execute, convert, strict=True)]
    return {"way": "naive loop", "jobs": 1, "regions": len(scopes), "runs": len(seconds),
            "wall": wall, "prep": prep, "mean": statistics.mean(seconds),
            "status": "ok" if not failed else f"{failed} failed",
            "detail": f"papermill CLI {statistics.mean(execute):.2f} s + nbconvert CLI "
                      f"{statistics.mean(convert):.2f} s per notebook"}


def _manifest_row(way: str, jobs: int, folder: Path, wall: float, code: int) -> dict:
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    seconds = [n["seconds"] for r in manifest["regions"] for n in r["notebooks"]
               if n["seconds"] is not None]
    return {"way": way, "jobs": jobs, "regions": len(manifest["regions"]), "runs": len(seconds),
            "wall": wall, "prep": manifest["prep"]["seconds"] or 0.0,
            "mean": statistics.mean(seconds) if seconds else float("nan"),
            "status": "ok" if code == 0 else f"exit {code}", "detail": ""}


def run_engine(engine: str, jobs: int, notebooks: Path, config_path: Path, regions: str,
               reports: Path) -> dict:
    run_id = f"{engine}-jobs{jobs}"
    t0 = time.perf_counter()
    code = batch.main(["--config", str(config_path), "--regions", regions, "--jobs", str(jobs),
                       "--run-id", run_id, "--engine", engine, "--notebooks", str(notebooks),
                       "--reports", str(reports)])
    return _manifest_row(engine, jobs, reports / run_id, time.perf_counter() - t0, code)


def run_dask(jobs: int, notebooks: Path, config_path: Path, regions: str,
             reports: Path) -> dict:
    """The batch on a Dask LocalCluster of ``jobs`` worker processes."""
    run_id = f"dask-jobs{jobs}"
    t0 = time.perf_counter()
    code = batch.main(["--config", str(config_path), "--regions", regions, "--jobs", str(jobs),
                       "--run-id", run_id, "--cluster", "local", "--notebooks", str(notebooks),
                       "--reports", str(reports)])
    return _manifest_row("dask local", jobs, reports / run_id, time.perf_counter() - t0, code)


def run_baseline(root: Path, jobs: int, notebooks: Path | None, regions: str,
                 reports: Path) -> dict:
    """The warm engine of another checkout, in a subprocess with its own code."""
    run_id = f"baseline-warm-jobs{jobs}"
    command = [sys.executable, "-m", "helpers.run", "--config", str(root / "workbook.yaml"),
               "--regions", regions, "--jobs", str(jobs), "--run-id", run_id,
               "--engine", "warm", "--reports", str(reports)]
    if notebooks is not None:
        command += ["--notebooks", str(notebooks)]
    t0 = time.perf_counter()
    done = subprocess.run(command, cwd=root, env=_kernel_env(root), capture_output=True,
                          text=True, check=False)
    wall = time.perf_counter() - t0
    if not (reports / run_id / "manifest.json").exists():
        raise SystemExit(f"the baseline run failed:\n{done.stderr[-2000:]}")
    return _manifest_row("baseline warm", jobs, reports / run_id, wall, done.returncode)


def slowest_cells(folder: Path, top: int) -> tuple[list, dict]:
    """The ``top`` slowest cells of the executed notebooks under ``folder``, and the
    cell time per notebook name (summed over regions)."""
    cells, per_notebook = [], {}
    for path in sorted(folder.glob("*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for i, cell in enumerate(nb.cells):
            duration = (cell.get("metadata", {}).get("papermill") or {}).get("duration")
            if duration:
                lines = [line for line in cell.source.splitlines()
                         if line.strip() and not line.startswith(("#", "import ", "from "))]
                first = lines[0] if lines else ""  # the cell's first call, not its imports
                cells.append((duration, f"{path.parent.name}/{path.name}", i, first[:60]))
                per_notebook[path.name] = per_notebook.get(path.name, 0.0) + duration
    return sorted(cells, reverse=True)[:top], per_notebook


def step4_cells(folder: Path) -> dict:
    """Seconds of step 4's compute cell (the one calling ``insight_tables``) per region
    of the run under ``folder``."""
    seconds = {}
    for path in sorted(folder.glob("*/04_insight.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            duration = (cell.get("metadata", {}).get("papermill") or {}).get("duration")
            if duration and "insight_tables(" in cell.source:
                seconds[path.parent.name] = duration
    return seconds


def market_seconds(folder: Path) -> float | None:
    """Seconds the run spent on its market-wide results before the fan-out (None: a run
    without them, e.g. an older checkout)."""
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    return ((manifest.get("attempts") or [{}])[-1].get("market") or {}).get("seconds")


def render_times(folder: Path, repeat: int = 1) -> tuple[float, float, int]:
    """Mean seconds to render one executed notebook under ``folder``: a new exporter per
    call (as before), and the thread's exporter reused (as now)."""
    executed = sorted(folder.glob("*/*.ipynb"))
    scratch = Path(tempfile.mkdtemp(prefix="render-"))
    new, reused = [], []
    for _ in range(repeat):
        for path in executed:  # interleaved: the same notebook both ways, one after another
            render._exporters.__dict__.clear()
            t0 = time.perf_counter()
            render.render_html(path, scratch / "new.html", title="bench")
            new.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            render.render_html(path, scratch / "reused.html", title="bench")
            reused.append(time.perf_counter() - t0)
    return statistics.mean(new), statistics.mean(reused), len(executed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", default="华东,华南",
                        help="as for helpers.run (ALL is always added)")
    parser.add_argument("--jobs", default="1",
                        help="comma-separated --jobs values for the batch rows (default: 1, "
                        "as the naive loop)")
    parser.add_argument("--ways", default=",".join(WAYS),
                        help="comma-separated: naive, papermill, warm, dask (default: %(default)s)")
    parser.add_argument("--baseline", type=Path, default=None, metavar="DIR",
                        help="another checkout of the project: its warm engine is run too")
    parser.add_argument("--real", action="store_true", help="the project's notebooks and data")
    parser.add_argument("--top", type=int, default=12, help="slowest cells shown")
    args = parser.parse_args(argv)
    ways = [w.strip() for w in args.ways.split(",") if w.strip()]
    unknown = sorted(set(ways) - set(WAYS))
    if unknown:
        parser.error(f"unknown --ways {unknown}; choose from {', '.join(WAYS)}")

    rows = []
    sampler = TreeSampler().__enter__()  # peak RSS of this process and its children per row

    def add(row: dict) -> None:
        row["peak"] = sampler.mark()[0]
        rows.append(row)

    with tempfile.TemporaryDirectory(prefix="batch-speed-") as tmp:
        tmp = Path(tmp)
        notebooks = ROOT / "notebooks" if args.real else stub_notebooks(tmp / "notebooks")
        if not args.real:
            batch.run_prep = lambda config, run, inputs: run.prep.mkdir(parents=True, exist_ok=True)
        reports = tmp / "reports"
        if "naive" in ways:
            print("naive loop (papermill + nbconvert command lines) ...", file=sys.stderr)
            sampler.mark()
            add(run_naive(notebooks, DEFAULT_CONFIG, args.regions, tmp / "naive",
                                  args.real))
        for jobs in [int(j) for j in args.jobs.split(",")]:
            if args.baseline is not None:
                print(f"baseline warm, jobs {jobs} ...", file=sys.stderr)
                sampler.mark()
                add(run_baseline(args.baseline.resolve(), jobs,
                                         None if args.real else notebooks, args.regions,
                                         reports))
            for engine in [w for w in ways if w not in ("naive", "dask")]:
                sampler.mark()
                add(run_engine(engine, jobs, notebooks, DEFAULT_CONFIG, args.regions,
                                       reports))
            if "dask" in ways:
                print(f"dask local cluster, {jobs} worker(s) ...", file=sys.stderr)
                sampler.mark()
                add(run_dask(jobs, notebooks, DEFAULT_CONFIG, args.regions, reports))
        sampler.__exit__()
        runs = {f"{p.name}": p for p in sorted(reports.glob("*-jobs*"))}
        step4 = {name: step4_cells(folder) for name, folder in runs.items()}
        per_way = {name: slowest_cells(folder, 0)[1] for name, folder in runs.items()}
        market = {name: market_seconds(folder) for name, folder in runs.items()}
        warm = sorted(reports.glob("warm-jobs*")) or sorted(reports.glob("*-jobs*"))
        cells, per_notebook = slowest_cells(warm[0], args.top) if warm else ([], {})
        new, reused, rendered = render_times(warm[0]) if warm else (float("nan"),) * 2 + (0,)

    load = os.getloadavg()
    print()
    print(f"{'notebooks':<9} {'way':<14} {'jobs':>4} {'regions':>7} {'runs':>5} {'wall s':>7} "
          f"{'prep s':>7} {'s/notebook':>10} {'wall/nb':>8} {'nb/min':>7} {'peak MB':>8}  status")
    kind = "real" if args.real else "stub"
    for row in rows:
        if "wall" not in row:
            print(f"{kind:<9} {row['way']:<14} {'-':>4} {'-':>7} {'-':>5} {'-':>7} {'-':>7} "
                  f"{'-':>10} {'-':>8} {'-':>7} {'-':>8}  {row['status']}")
            continue
        per = (row["wall"] - row["prep"]) / row["runs"] if row["runs"] else float("nan")
        rate = row["runs"] / row["wall"] * 60 if row["wall"] else float("nan")
        print(f"{kind:<9} {row['way']:<14} {row['jobs']:>4} {row['regions']:>7} {row['runs']:>5} "
              f"{row['wall']:>7.1f} {row['prep']:>7.1f} {row['mean']:>10.2f} {per:>8.2f} "
              f"{rate:>7.1f} {row['peak'] / MB:>8,.0f}  {row['status']}")
    for row in rows:
        if row.get("detail"):
            print(f"  {row['way']}: {row['detail']}")
    naive = next((r for r in rows if r["way"] == "naive loop"), None)
    if naive:
        for row in rows:
            if "wall" in row and row is not naive:
                print(f"  {row['way']} (jobs {row['jobs']}): {naive['mean'] / row['mean']:.1f}x "
                      f"the naive loop per notebook")
    dask = [r for r in rows if r["way"] == "dask local" and "wall" in r and r["runs"]]
    for row in dask:
        per = (row["wall"] - row["prep"]) * row["jobs"] / row["runs"]  # worker-seconds per notebook
        print(f"  dask local (jobs {row['jobs']}): {per:.2f} worker-seconds per notebook; on N "
              "workers (one thread each) the same batch would take about prep + notebooks x "
              f"{per:.2f} s / N: " + ", ".join(
                  f"N={n}: {row['prep'] + row['runs'] * per / n:.0f} s" for n in (2, 4, 8, 16)))
    print(f"\nload average during the run (1, 5, 15 min at the end): "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if rendered:
        print(f"\nHTML render per notebook ({rendered} executed notebooks of the warm run): "
              f"new exporter per call {new:.2f} s, exporter reused {reused:.2f} s")
    if per_notebook:
        total = sum(per_notebook.values())
        print(f"\ncell time per notebook (warm run, all regions; {total:.1f} s of cells):")
        for name, seconds in sorted(per_notebook.items()):
            print(f"  {name:<26} {seconds:>7.1f} s  {seconds / total:>4.0%}")
    if any(step4.values()):
        names = [n for n in runs if step4[n]]
        regions = sorted({r for n in names for r in step4[n]})
        print("\nstep 4's compute cell (insight_tables) per region, s:")
        print(f"  {'region':<16}" + "".join(f" {n:>22}" for n in names))
        for region in regions:
            print(f"  {region:<16}" + "".join(
                f" {step4[n].get(region, float('nan')):>22.2f}" for n in names))
        print(f"  {'sum':<16}" + "".join(f" {sum(step4[n].values()):>22.2f}" for n in names))
        print(f"  {'market-wide once':<16}" + "".join(
            f" {market[n]:>22.2f}" if market[n] is not None else f" {'-':>22}" for n in names))
        notebooks = sorted({nb for n in names for nb in per_way[n]})
        print("\ncell time per notebook, all regions, s:")
        print(f"  {'notebook':<26}" + "".join(f" {n:>22}" for n in names))
        for nb in notebooks:
            print(f"  {nb:<26}" + "".join(f" {per_way[n].get(nb, 0.0):>22.1f}" for n in names))
    if cells:
        print("\nslowest cells (warm run):")
        print(f"  {'s':>6}  {'notebook':<34} {'cell':>4}  first line after the imports")
        for seconds, where, index, first in cells:
            print(f"  {seconds:>6.2f}  {where:<34} {index:>4}  {first}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
