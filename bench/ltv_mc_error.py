"""Monte Carlo error of the lifetime-value intervals: how much the bounds move with the seed.

The intervals (``ltv_low``/``ltv_high``, the total's and the regions') are quantiles of
the values under ``interval_draws`` draws of the models' parameters, so they carry a
Monte Carlo error that shrinks as 1/sqrt(draws). This fits the models once on the
bundled sample's whole market (or ``--customers N`` generated customers, region
``--region``), then for each number of draws runs the draws with ``--seeds`` seeds and
prints, per bound, the spread of the bound across seeds (its standard deviation) as a
share of the interval's width: the median over customers, the largest over regions and
the total's, with the CPU seconds per run.

    python bench/ltv_mc_error.py                          # 100, 200, 500 draws, 8 seeds
    python bench/ltv_mc_error.py --draws 200 500 2000 --seeds 12
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _inputs(customers: int, region: str):
    import pandas as pd  # noqa: PLC0415

    from helpers import context  # noqa: PLC0415
    from helpers.data.prepare import PrepResult  # noqa: PLC0415
    from helpers.steps import market  # noqa: PLC0415

    ctx = context.open_step(region=region, run_dir=tempfile.mkdtemp(prefix="ltv_mc_"))
    if customers:
        import samplegen  # noqa: PLC0415

        tables = samplegen.generate(customers)
        empty = pd.DataFrame()
        ctx.__dict__["prep"] = PrepResult(customers=tables["customers"],
                                          orders=tables["orders"], reps=tables["reps"],
                                          spend=tables["spend"], ledger=empty,
                                          quarantine=empty, unresolved=empty)
    summary, _ = market.purchases(ctx)
    level = ctx.scope.sublevel
    regions = (ctx.customers.drop_duplicates("customer_id").set_index("customer_id")[level]
               if level in ctx.customers.columns else None)
    return summary, regions, ctx.config.analysis


def main(argv: list[str] | None = None) -> int:
    import numpy as np  # noqa: PLC0415

    from helpers.analysis import ltv  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=0,
                        help="generated customers (default: the bundled sample)")
    parser.add_argument("--region", default="ALL")
    parser.add_argument("--draws", type=int, nargs="+", default=[100, 200, 500])
    parser.add_argument("--seeds", type=int, default=8)
    args = parser.parse_args(argv)
    summary, regions, a = _inputs(args.customers, args.region)
    print(f"data: {'bundled sample' if not args.customers else f'{args.customers:,} generated'}"
          f", region {args.region}: {len(summary):,} customers; interval {a.ltv_interval:.0%}; "
          f"load {os.getloadavg()[0]:.1f}")
    print("| draws | seeds | cpu s per run | customers: median sd(low)/width "
          "| median sd(high)/width | regions: largest sd(bound)/width "
          "| total: sd(low)/width | total: sd(high)/width | load |")
    print("|---|---|---|---|---|---|---|---|---|")
    for draws in args.draws:
        lows, highs, region_bounds, totals, cpu = [], [], [], [], []
        for seed in range(args.seeds):
            t = time.process_time()
            table, report, by_region = ltv._model(
                summary, months=a.ltv_months, discount_monthly=a.ltv_discount_monthly,
                penalizer=a.ltv_penalizer, min_repeat_customers=a.ltv_min_repeat_customers,
                periods_per_month=ltv.WEEKS_PER_MONTH, interval_draws=draws,
                interval=a.ltv_interval, seed=seed, regions=regions)
            cpu.append(time.process_time() - t)
            if "total_ltv_low" not in report:
                print(f"| {draws} | no intervals ({report.get('reason_key')}) |")
                return 1
            lows.append(table["ltv_low"].to_numpy())
            highs.append(table["ltv_high"].to_numpy())
            region_bounds.append(by_region.sort_values("region")[["ltv_low", "ltv_high"]]
                                 .to_numpy())
            totals.append((report["total_ltv_low"], report["total_ltv_high"]))
        low, high = np.array(lows), np.array(highs)
        width = np.nanmean(high - low, axis=0)
        ok = width > 0
        bounds = np.array(region_bounds)                     # seeds x regions x 2
        region_width = (bounds[:, :, 1] - bounds[:, :, 0]).mean(axis=0)
        region_sd = (bounds.std(axis=0, ddof=1) / region_width[:, None]).max() \
            if len(region_width) else float("nan")
        total = np.array(totals)
        total_width = (total[:, 1] - total[:, 0]).mean()
        cells = [str(draws), str(args.seeds), f"{np.median(cpu):.2f}",
                 f"{np.median(low.std(axis=0, ddof=1)[ok] / width[ok]):.3f}",
                 f"{np.median(high.std(axis=0, ddof=1)[ok] / width[ok]):.3f}",
                 f"{region_sd:.3f}", f"{total[:, 0].std(ddof=1) / total_width:.3f}",
                 f"{total[:, 1].std(ddof=1) / total_width:.3f}", f"{os.getloadavg()[0]:.1f}"]
        print("| " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
