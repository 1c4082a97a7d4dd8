"""Peak memory of the trend tables of the national report (ALL) on large generated data:
the pandas functions on the scope's lines in pandas (``old``: ``ctx.orders``) beside their
DuckDB twins on the lines left in the Parquet file (``new``: ``ctx.lines``), in one run.

The prep is ``bench/steps_memory.py``'s (``prep.engine: duckdb``, cached in ``--cache``);
the orders stay in their Parquet file (a lazy prep), so what a part holds is its own. Each
part runs in a fresh Python process, after the context, its customers and its period are
open (``open``: resident MB then); ``peak`` is the process's max RSS, ``part`` its rise
over ``open``:

- ``bridge``: :func:`helpers.steps.insight._bridge_and_forecast` (the revenue bridge, the
  monthly revenue and the forecasts);
- ``cohorts``: the cohort grid of :func:`helpers.steps.insight._mix_and_cohorts`;
- ``grid``: the buying section's monthly grid (:func:`helpers.analysis.buying.
  monthly_revenue_grid`);
- ``monthly03``: notebook 03's monthly revenue per region
  (:func:`helpers.steps.visuals.monthly_by_region`).

    python bench/trends_memory.py --orders 1000000 --cache /work/gen/lines
    python bench/trends_memory.py --orders 10000000 --parts bridge cohorts

``same`` says whether the two ways' tables are equal (``pd.testing.assert_frame_equal``).
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
from steps_memory import prepared  # noqa: E402

_PART = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
import pandas as pd
import statsmodels.api  # imports warm, not timed
from helpers import context
from helpers.analysis import buying, cohorts
from helpers.data.prepare import load_prep
from helpers.steps import insight, visuals

config, run, part, way, out = sys.argv[1:6]

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1e6

ctx = context.open_step(region="ALL", run_dir=run, config=config)
ctx.__dict__["prep"] = load_prep(ctx.run.prep, lazy_orders=True)  # the lines stay in the file
assert ctx.lines is not None
if way == "old":
    ctx.__dict__["lines"] = None  # the pandas functions on ctx.orders
level, p, a = ctx.scope.sublevel, ctx.period, ctx.config.analysis
people = ctx.customers.drop_duplicates("customer_id").set_index("customer_id")
kpis = pd.DataFrame({"region": people[level].dropna().unique()})
ctx.order_days
opened = rss()
t, c = time.perf_counter(), time.process_time()
lines = ctx.lines if ctx.lines is not None else None
if part == "bridge":
    tables, _ = insight._bridge_and_forecast(ctx, kpis)
elif part == "cohorts":
    regions = people[level].where(people[level].isin(kpis["region"]))
    fn = cohorts.cohort_retention_sql if lines is not None else cohorts.cohort_retention
    tables = {"cohorts": fn(lines if lines is not None else ctx.orders, as_of=p.as_of,
                            regions=regions, data_start=ctx.order_days.min())[0]}
elif part == "grid":
    regions = people[level].where(people[level].isin(kpis["region"]))
    fn = (buying.monthly_revenue_grid_sql if lines is not None
          else buying.monthly_revenue_grid)
    tables = {"grid": fn(lines if lines is not None else ctx.orders, regions,
                         data_start=ctx.order_days.min(), as_of=p.as_of, market="ALL",
                         max_months=a.seasonality_max_months, column="province")}
else:
    tables = {"monthly03": visuals.monthly_by_region(ctx)}
seconds, cpu = time.perf_counter() - t, time.process_time() - c
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
for name, table in tables.items():
    table.to_parquet(f"{out}/{part}-{name}.parquet")  # a temporary folder of the benchmark
print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": peak, "open_mb": opened}))
"""

PARTS = ("bridge", "cohorts", "grid", "monthly03")


def main(argv: list[str] | None = None) -> int:
    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS)
    args = parser.parse_args(argv)
    print("| order lines | part | way | wall (s) | CPU (s) | open (MB) | peak RSS (MB) | "
          "part (MB) | same |")
    print("|---:|---|---|---:|---:|---:|---:|---:|---|")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    for n in args.orders:
        folder = prep_speed.prepare(n, args.cache)
        prep = prepared(folder)
        lines = json.loads((prep / "prep.json").read_text("utf-8"))["rows"]["orders"]
        work = Path(tempfile.mkdtemp(prefix="trends_memory_", dir=args.cache))
        try:
            run = work / "run"
            run.mkdir()
            (run / "prep").symlink_to(prep)
            (run / "manifest.json").write_text("{}", encoding="utf-8")  # prep as saved
            for part in args.parts:
                for way in ("old", "new"):
                    out = work / way
                    out.mkdir(exist_ok=True)
                    done = subprocess.run(
                        [sys.executable, "-c", _PART, str(folder / "workbook.yaml"), str(run),
                         part, way, str(out)], cwd=ROOT, capture_output=True, text=True,
                        env=env)
                    if done.returncode:
                        raise SystemExit(f"{part} {way}:\n{done.stderr[-4000:]}")
                    r = json.loads(done.stdout.strip().splitlines()[-1])
                    same = ""
                    if way == "new":
                        same = "yes"
                        for old in (work / "old").glob(f"{part}-*.parquet"):
                            try:
                                pd.testing.assert_frame_equal(
                                    pd.read_parquet(work / "new" / old.name), pd.read_parquet(old))
                            except AssertionError as exc:
                                same = f"no: {old.stem}: {str(exc).splitlines()[0]}"
                    print(f"| {lines:,} | {part} | {way} | {r['seconds']:.1f} | {r['cpu']:.1f} "
                          f"| {r['open_mb']:,.0f} | {r['peak_mb']:,.0f} | "
                          f"{r['peak_mb'] - r['open_mb']:,.0f} | {same} |", flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
