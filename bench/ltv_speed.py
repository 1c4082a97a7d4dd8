"""Lifetime value (step 4) of another source tree and of this one, side by side in one run.

For each data set and region the inputs of :func:`helpers.analysis.ltv.lifetime_value`
(the region's purchase summary and days, the customers' sub-regions, ``as_of`` and the
workbook's ``ltv_*`` settings) are built once with this tree and saved as Parquet/JSON;
then each region's call is timed in a fresh Python process per tree (imports warm,
``baseline`` and ``new`` alternating, so both see the same load). Hooks around the
module's functions say where the time goes: ``holdout`` (the holdout check's fit),
``fit`` (the fits on the whole history), ``draws`` (the interval draws: ``_intervals``,
which takes the customers' quantiles and the per-draw sums block by block too, or
``_draws`` in a tree before it, whose quantiles and sums are in ``rest``) and ``rest``
(point values, and the rest), each in CPU seconds. ``total`` is the call's wall time and
``cpu`` its CPU time (on a shared machine wall time grows with the load, CPU time much
less); ``load`` the 1-minute load average when the call finished.

The last columns compare new with baseline on the same inputs: ``ltv same`` (the point
values bit for bit), and the largest relative difference of ``ltv_low``/``ltv_high``
per customer and of the region totals' bounds.

    python bench/ltv_speed.py                                  # sample: ALL, 华东
    python bench/ltv_speed.py --customers 100000 --regions 华东
    python bench/ltv_speed.py --baseline b919204               # a commit, tag or branch

``--baseline REF`` is a git ref of this repository (default ``main``), extracted with
``git archive`` into a temporary folder and run with ``PYTHONPATH`` set to it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Builds the inputs of each region's lifetime_value (this tree) and saves them.
_INPUTS = r"""
import json, sys, tempfile, warnings
from pathlib import Path
warnings.simplefilter("ignore")
import pandas as pd
from helpers import context
from helpers.data.prepare import PrepResult, save_prep
from helpers.steps import market

n, regions, out = int(sys.argv[1]), sys.argv[2].split(","), Path(sys.argv[3])
run = out / "run"
if n:
    from samplegen.prepared import save_prepared
    save_prepared(n, run / "prep")
    (run / "manifest.json").write_text("{}", encoding="utf-8")
for i, region in enumerate(regions):
    ctx = context.open_step(region=region, run_dir=str(run))
    summary, days = market.purchases(ctx)
    a = ctx.config.analysis
    level = ctx.scope.sublevel
    folder = out / f"r{i}"
    folder.mkdir(parents=True)
    summary.to_parquet(folder / "summary.parquet")
    days.to_parquet(folder / "days.parquet")
    if level in ctx.customers.columns:
        where = ctx.customers.drop_duplicates("customer_id").set_index("customer_id")[level]
        where.rename("region").to_frame().to_parquet(folder / "regions.parquet")
    kwargs = dict(months=a.ltv_months, discount_monthly=a.ltv_discount_monthly,
                  penalizer=a.ltv_penalizer, min_repeat_customers=a.ltv_min_repeat_customers,
                  min_repeat_share=a.ltv_min_repeat_share, holdout_months=a.ltv_holdout_months,
                  min_calibration_months=a.ltv_min_calibration_months,
                  min_holdout_months=a.ltv_min_holdout_months,
                  tolerance=a.ltv_holdout_tolerance, interval_draws=a.ltv_interval_draws,
                  interval=a.ltv_interval, seed=a.ltv_seed)
    (folder / "inputs.json").write_text(json.dumps({
        "region": region, "as_of": str(ctx.period.as_of), "kwargs": kwargs,
        "customers": len(summary), "distinct_triples": int(len(summary[
            ["repeat_purchases", "span_weeks", "tenure_weeks"]].drop_duplicates()))}),
        encoding="utf-8")
"""

# Times one region's lifetime_value with the helpers on PYTHONPATH and saves its outputs.
_TIME = r"""
import json, os, sys, time, warnings
from collections import defaultdict
from pathlib import Path
warnings.simplefilter("ignore")
import pandas as pd
from helpers.analysis import ltv

folder, out = Path(sys.argv[1]), Path(sys.argv[2])
inputs = json.loads((folder / "inputs.json").read_text(encoding="utf-8"))
summary = pd.read_parquet(folder / "summary.parquet")
days = pd.read_parquet(folder / "days.parquet")
regions = (pd.read_parquet(folder / "regions.parquet")["region"]
           if (folder / "regions.parquet").exists() else None)
spent = defaultdict(float)
def timed(name, label):
    real = getattr(ltv, name)
    def wrapper(*args, **kwargs):
        t = time.process_time()
        try:
            return real(*args, **kwargs)
        finally:
            spent[label] += time.process_time() - t
    setattr(ltv, name, wrapper)
timed("holdout_check", "holdout")
timed("_fit_with_retries", "fit_all")   # the holdout check's fit too: subtracted below
timed("_intervals" if hasattr(ltv, "_intervals") else "_draws", "draws")
t, c = time.perf_counter(), time.process_time()
table, by_region, note = ltv.lifetime_value(summary, days, as_of=inputs["as_of"],
                                            regions=regions, **inputs["kwargs"])
total, cpu = time.perf_counter() - t, time.process_time() - c
out.mkdir(parents=True, exist_ok=True)
table.to_parquet(out / "table.parquet")
by_region.to_parquet(out / "by_region.parquet")
print(json.dumps({"total": total, "cpu": cpu, "load": os.getloadavg()[0],
                  "holdout": spent["holdout"], "fit_all": spent["fit_all"],
                  "draws": spent["draws"], "shown": note["shown"],
                  "total_ltv": note.get("total_ltv"),
                  "total_ltv_low": note.get("total_ltv_low"),
                  "total_ltv_high": note.get("total_ltv_high")}))
"""


def _rel(new, old) -> float:
    """Largest relative difference of two equal-shaped float arrays (NaN where both are)."""
    import numpy as np  # noqa: PLC0415

    new, old = np.asarray(new, dtype=float), np.asarray(old, dtype=float)
    both = np.isnan(new) & np.isnan(old)
    if np.any(np.isnan(new) != np.isnan(old)):
        return float("inf")
    scale = np.maximum(np.abs(old), 1e-300)
    return float(np.max(np.abs(new - old)[~both] / scale[~both], initial=0.0))


def _compare(new: Path, old: Path, new_row: dict, old_row: dict) -> dict:
    import numpy as np  # noqa: PLC0415
    import pandas as pd  # noqa: PLC0415

    a, b = pd.read_parquet(new / "table.parquet"), pd.read_parquet(old / "table.parquet")
    ra, rb = pd.read_parquet(new / "by_region.parquet"), pd.read_parquet(old / "by_region.parquet")
    same = bool(a["customer_id"].equals(b["customer_id"])
                and np.array_equal(a["ltv"].to_numpy(), b["ltv"].to_numpy(), equal_nan=True))
    bounds = max(_rel(a[c], b[c]) for c in ("ltv_low", "ltv_high"))
    regions = (max(_rel(ra[c], rb[c]) for c in ("ltv_low", "ltv_high"))
               if len(ra) and ra["region"].equals(rb["region"]) else float("nan"))
    totals = max((_rel([new_row[k]], [old_row[k]]) for k in ("total_ltv_low", "total_ltv_high")
                  if new_row.get(k) is not None and old_row.get(k) is not None),
                 default=float("nan"))
    return {"same": same, "bounds": bounds, "regions": max(regions, totals)}


def _tree(ref: str, where: Path) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive.stdout, check=True)
    return where


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=0,
                        help="generated customers (default: the bundled sample)")
    parser.add_argument("--regions", default="ALL,华东")
    parser.add_argument("--baseline", default="main", help="git ref of the baseline tree")
    parser.add_argument("--rounds", type=int, default=1, help="timings per tree and region")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="ltv_speed_"))
    trees = {"baseline": _tree(args.baseline, tmp / "baseline"), "new": ROOT}
    env = dict(os.environ)
    made = subprocess.run([sys.executable, "-c", _INPUTS, str(args.customers), args.regions,
                           str(tmp / "inputs")], cwd=ROOT, capture_output=True, text=True,
                          env={**env, "PYTHONPATH": str(ROOT)}, check=False)
    if made.returncode != 0:
        print(f"failed to build the inputs: {made.stderr.strip()[-2000:]}")
        return 1
    print(f"cores available: {len(os.sched_getaffinity(0))}; baseline: {args.baseline} "
          f"({trees['baseline']}); data: "
          f"{'bundled sample' if not args.customers else f'{args.customers:,} generated'}")
    print("| region | customers | distinct (x, t_x, T) | tree | total s | cpu s "
          "| holdout cpu s | fits cpu s | draws cpu s | rest cpu s | load | ltv same "
          "| bounds rel diff "
          "| region/total bounds rel diff |")
    print("|" + "---|" * 14)
    for i, _ in enumerate(args.regions.split(",")):
        folder = tmp / "inputs" / f"r{i}"
        inputs = json.loads((folder / "inputs.json").read_text(encoding="utf-8"))
        for k in range(args.rounds):
            rows = {}
            for name, tree in trees.items():
                out = tmp / "out" / f"r{i}-{k}-{name}"
                done = subprocess.run([sys.executable, "-c", _TIME, str(folder), str(out)],
                                      cwd=tree, capture_output=True, text=True, check=False,
                                      env={**env, "PYTHONPATH": str(tree)})
                if done.returncode != 0:
                    print(f"| {inputs['region']} | failed ({name}): "
                          f"{done.stderr.strip().splitlines()[-1]} |")
                    return 1
                rows[name] = json.loads(done.stdout.strip().splitlines()[-1])
            diff = _compare(tmp / "out" / f"r{i}-{k}-new", tmp / "out" / f"r{i}-{k}-baseline",
                            rows["new"], rows["baseline"])
            for name, r in rows.items():
                fits = r["fit_all"] - r["holdout"]  # the check's fit is inside both hooks
                rest = r["cpu"] - r["holdout"] - max(fits, 0.0) - r["draws"]
                cells = [inputs["region"], f"{inputs['customers']:,}",
                         f"{inputs['distinct_triples']:,}", name, f"{r['total']:.2f}",
                         f"{r['cpu']:.2f}", f"{r['holdout']:.2f}", f"{max(fits, 0.0):.2f}",
                         f"{r['draws']:.2f}", f"{rest:.2f}", f"{r['load']:.1f}",
                         *(["yes" if diff["same"] else "NO", f"{diff['bounds']:.1e}",
                            f"{diff['regions']:.1e}"] if name == "new" else ["", "", ""])]
                print("| " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
