"""Step 4 per region with and without the run's market-wide results, side by side in one run.

For each region, in one Python process (imports warm, as in a warm kernel): ``alone``
times ``insight.insight_tables`` with the prep handed to the context and no market-wide
results (every region computes everything, as before), ``sliced`` times it in the run
folder where :func:`helpers.steps.market.build` saved them once (timed as ``build``,
paid once per run, before the fan-out). ``same`` says whether both wrote the same
step-4 files, byte for byte. ``cpu`` is the process's CPU time (on a shared machine
wall time grows with the load, CPU time much less).

    python bench/market_cache.py                               # bundled sample: ALL, 华东, 广东
    python bench/market_cache.py --customers 100000 --regions 华东,广东

``--customers N`` generates N customers (``samplegen.generate``, no step-2 prep: the
tables are saved as the run's prep as they are).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import filecmp, json, os, sys, tempfile, time, warnings
from pathlib import Path
warnings.simplefilter("ignore")
import pandas as pd
import esda, libpysal.weights, sklearn.cluster, sklearn.neighbors  # imports warm
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from helpers import context
from helpers.data.prepare import PrepResult, load_prep, save_prep
from helpers.steps import insight, market

n, regions = int(sys.argv[1]), sys.argv[2].split(",")
tmp = Path(tempfile.mkdtemp(prefix="market_cache_"))
run = tmp / "run"
if n:
    from samplegen.prepared import save_prepared
    save_prepared(n, run / "prep")
else:
    context.open_step(run_dir=str(run)).prep  # the bundled sample's prep, built and saved
(run / "manifest.json").write_text("{}", encoding="utf-8")  # a batch run: prep as saved
prep = load_prep(run / "prep")

def timed(ctx):
    t, c = time.perf_counter(), time.process_time()
    tables = insight.insight_tables(ctx)
    seconds = (time.perf_counter() - t, time.process_time() - c)
    insight.save_insight(ctx, tables)
    return seconds

t, c = time.perf_counter(), time.process_time()
facts = market.build(context.open_step(run_dir=str(run)))
print(json.dumps({"build": [time.perf_counter() - t, time.process_time() - c],
                  "customers": len(prep.customers), "orders": len(prep.orders),
                  "key": facts["key"]}), flush=True)
for region in regions:
    alone = context.open_step(region=region, run_dir=str(tmp / "alone"))
    alone.__dict__["prep"] = load_prep(run / "prep")
    before = timed(alone)
    sliced = context.open_step(region=region, run_dir=str(run))
    after = timed(sliced)
    files = sorted(p.name for p in alone.out.iterdir())
    same = files == sorted(p.name for p in sliced.out.iterdir()) and all(
        filecmp.cmp(alone.out / f, sliced.out / f, shallow=False) for f in files)
    print(json.dumps({"region": region, "alone": before, "sliced": after, "same": same,
                      "load": os.getloadavg()[0]}), flush=True)
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=0,
                        help="generated customers (default: the bundled sample)")
    parser.add_argument("--regions", default="ALL,华东,广东")
    args = parser.parse_args(argv)
    print(f"cores available: {len(os.sched_getaffinity(0))}")
    out = subprocess.run([sys.executable, "-c", _CHILD, str(args.customers), args.regions],
                         cwd=ROOT, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        print(f"failed: {out.stderr.strip()[-2000:]}")
        return 1
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    head = rows[0]
    print(f"data: {head['customers']:,} customers, {head['orders']:,} order lines; "
          f"market-wide results built once in {head['build'][0]:.2f} s "
          f"(cpu {head['build'][1]:.2f} s)")
    print("| region | alone s | sliced s | saved s | alone cpu s | sliced cpu s "
          "| same files | load |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows[1:]:
        (a, ac), (s, sc) = row["alone"], row["sliced"]
        print(f"| {row['region']} | {a:.2f} | {s:.2f} | {a - s:.2f} | {ac:.2f} | {sc:.2f} "
              f"| {'yes' if row['same'] else 'NO'} | {row['load']:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
