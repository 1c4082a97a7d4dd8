"""Benchmark of step 4: time of ``insight.insight_tables`` for the whole market.

The canonical tables come from ``samplegen.generate`` (no step-2 prep: only step 4
is timed). Each size runs in a fresh Python process (imports warm, as in a notebook
kernel after its first cell), and prints one row with the total and the time of each
part (hooks around the functions step 4 calls).

    python bench/insight_speed.py                   # 10k and 100k customers
    python bench/insight_speed.py --sizes 5000 200000

Target (issue 5): at most 30 s for 100k customers on 2 cores. ``total_s`` is wall
time, ``cpu_s`` the CPU time of the process (all its threads) and ``load`` the 1-minute
load average when it finished: on a shared machine wall time grows with the load, CPU
time much less.
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
import json, os, resource, sys, tempfile, time, warnings
warnings.simplefilter("ignore")
from collections import defaultdict
import pandas as pd
from helpers import context
from helpers.analysis import (bridge, clusters, cohorts, customers, forecast, hotspots,
                              isolation, kpis, lifecycle, ltv, mix, partners, segments)
from helpers.steps import insight
from helpers.data.prepare import PrepResult

n = int(sys.argv[1])
t0 = time.perf_counter()
import samplegen as sample
tables = sample.generate(n)
generate_s = time.perf_counter() - t0

spent = defaultdict(float)
def timed(module, name, label):
    real = getattr(module, name)
    def wrapper(*args, **kwargs):
        t = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            spent[label + "_s"] += time.perf_counter() - t
    setattr(module, name, wrapper)
for module, name, label in [
        (kpis, "region_kpis", "kpis"), (hotspots, "hotspots", "hotspots"),
        (isolation, "isolated_customers", "isolated"),
        (customers, "purchase_summary", "summary"), (customers, "purchase_days", "summary"),
        (segments, "rfm", "rfm"),
        (lifecycle, "lifecycle", "lifecycle"), (ltv, "customer_ltv", "ltv"),
        (clusters.CustomerClusters, "fit", "clusters"),
        (partners, "partner_tiers", "partners"), (mix, "category_mix", "mix"),
        (cohorts, "cohort_retention", "cohorts"), (cohorts, "retention_trend", "cohorts"),
        (bridge, "bridge", "bridge"), (forecast, "monthly_revenue", "forecast"),
        (forecast, "region_forecasts", "forecast"), (insight, "_buyers", "buyers")]:
    timed(module, name, label)

empty = pd.DataFrame()
prep = PrepResult(customers=tables["customers"], orders=tables["orders"], reps=tables["reps"],
                  spend=tables["spend"], ledger=empty, quarantine=empty, unresolved=empty)
ctx = context.open_step(run_dir=tempfile.mkdtemp(prefix="insight_speed_"))
ctx.__dict__["prep"] = prep          # step 2 is not timed
t0, c0 = time.perf_counter(), time.process_time()
result = insight.insight_tables(ctx)
total, cpu = time.perf_counter() - t0, time.process_time() - c0
load = os.getloadavg()[0]
row = {"customers": n, "orders": len(tables["orders"]), "total_s": total, "cpu_s": cpu,
       "load": load,
       **{k: v for k, v in spent.items()},
       "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
       "k": result["notes"]["clusters"].get("k"),
       "ltv_method": result["notes"]["ltv"]["method"],
       "isolated": len(result["isolated_customers"])}
print(json.dumps(row))
"""

PARTS = ["kpis", "hotspots", "isolated", "summary", "rfm", "lifecycle", "ltv", "clusters",
         "partners", "mix", "cohorts", "bridge", "forecast", "buyers"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args(argv)
    print(f"cores available: {len(os.sched_getaffinity(0))}")
    header = ["customers", "orders", "total_s", "cpu_s", "load", *[f"{p}_s" for p in PARTS],
              "peak_mb", "k", "ltv_method", "isolated"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for n in args.sizes:
        out = subprocess.run([sys.executable, "-c", _CHILD, str(n)], cwd=ROOT,
                             capture_output=True, text=True, check=False)
        if out.returncode != 0:
            print(f"| {n} | failed: {out.stderr.strip().splitlines()[-1]} |")
            continue
        row = json.loads(out.stdout.strip().splitlines()[-1])
        cells = [f"{row['customers']:,}", f"{row['orders']:,}", f"{row['total_s']:.1f}",
                 f"{row['cpu_s']:.1f}", f"{row['load']:.1f}",
                 *[f"{row.get(p + '_s', 0.0):.1f}" for p in PARTS],
                 f"{row['peak_mb']:.0f}", str(row["k"]), row["ltv_method"],
                 str(row["isolated"])]
        print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
