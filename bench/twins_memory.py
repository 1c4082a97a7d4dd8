"""Benchmark of the line readers that have DuckDB twins on the engine path (steps 1-3's
counts, the region KPIs, the customers in no region, step 3's customer revenue and order
values): wall, CPU and peak memory per part and region, this tree beside another (the
baseline), in one run.

The prepared data come from ``bench/steps_memory.py`` (``<cache>/prep_speed_<n>/
prep_duckdb``, step 2 on DuckDB); each part runs in a fresh Python process on a run folder
holding that prep, with the orders left in their Parquet file (``load_prep(lazy_orders=
True)``, as a batch's market build keeps them), so the peak is what the part itself reads:

- ``01``: :func:`helpers.steps.goals.goals_brief` (the data checks' line counts);
- ``02``: :func:`helpers.steps.prep.data_quality` (lines in scope, customers in no region);
- ``kpis``: :meth:`helpers.context.Context.kpis_by_region` (a territory's and a city's
  with their benchmark) and :meth:`~helpers.context.Context.no_region`;
- ``03``: :func:`helpers.steps.visuals.customer_revenue` and the order values notebook 03
  draws (``order_values``; the baseline's ``ctx.period_orders``).

The market-wide province KPIs (a territory's benchmark) are built before the parts, once
per way, and read from the run's cache by them.

    python bench/twins_memory.py --baseline /tmp/kpis3_base --cache /work/gen/lines
    python bench/twins_memory.py --orders 1000000 --regions 广东 --cache /work/gen/lines

``--baseline DIR`` is another source tree (``git archive main | tar -x -C DIR``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import prep_speed  # noqa: E402
import steps_memory  # noqa: E402

_PART = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
import pandas as pd
from helpers import context
from helpers.data.prepare import load_prep
from helpers.steps import goals, market, prep, visuals

config, run, region, part = sys.argv[1:5]

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1e6

base = rss()
ctx = context.open_step(region=region, run_dir=run, config=config)
ctx.__dict__["prep"] = load_prep(ctx.run.prep, lazy_orders=True)
ctx.period
opened = rss()
t, c = time.perf_counter(), time.process_time()
if part == "market":
    market.province_kpis(ctx)
elif part == "01":
    goals.goals_brief(ctx)
elif part == "02":
    prep.data_quality(ctx)
elif part == "kpis":
    ctx.kpis_by_region()
    ctx.no_region()
else:
    visuals.customer_revenue(ctx)
    visuals.order_values(ctx) if hasattr(visuals, "order_values") else ctx.period_orders
print(json.dumps({"seconds": time.perf_counter() - t, "cpu": time.process_time() - c,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "open_mb": opened - base,
                  "engine": getattr(ctx, "lines", None) is not None}))
"""

PARTS = ("01", "02", "kpis", "03")


def run_part(folder: Path, run: Path, src: Path, region: str, part: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src), "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, "-c", _PART, str(folder / "workbook.yaml"), str(run),
                           region, part], cwd=src, capture_output=True, text=True, env=env)
    if done.returncode:
        raise SystemExit(f"{src} {region} part {part}:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--baseline", type=Path, help="another source tree, run as 'baseline'")
    parser.add_argument("--regions", default="ALL,华东,广东,广东:深圳市",
                        help="comma-separated regions")
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS)
    args = parser.parse_args(argv)
    ways = ([("baseline", args.baseline.resolve())] if args.baseline else []) + [("new", ROOT)]
    print("| order lines | region | part | way | wall (s) | CPU (s) | peak RSS (MB) | "
          "open (MB) | lines in DuckDB |")
    print("|---:|---|---|---|---:|---:|---:|---:|---|")
    for n in args.orders:
        folder = prep_speed.prepare(n, args.cache)
        prepared = steps_memory.prepared(folder)
        lines = json.loads((prepared / "prep.json").read_text("utf-8"))["rows"]["orders"]
        runs = {}
        try:
            for name, src in ways:
                run = Path(tempfile.mkdtemp(prefix=f"twins_memory_{name}_", dir=args.cache))
                (run / "prep").symlink_to(prepared)
                (run / "manifest.json").write_text("{}", encoding="utf-8")  # a batch run
                run_part(folder, run, src, "ALL", "market")  # the market's province KPIs
                runs[name] = (run, src)
            for region in args.regions.split(","):
                for part in args.parts:
                    if part == "kpis" and region == "ALL":
                        continue  # the market's province KPIs: computed once per run
                    for name, (run, src) in runs.items():
                        r = run_part(folder, run, src, region, part)
                        print(f"| {lines:,} | {region} | {part} | {name} | {r['seconds']:.1f} | "
                              f"{r['cpu']:.1f} | {r['peak_mb']:,.0f} | {r['open_mb']:,.0f} | "
                              f"{'yes' if r['engine'] else 'no'} |", flush=True)
        finally:
            for run, _ in runs.values():
                shutil.rmtree(run, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
