"""Benchmark of steps 3-5 of the national report (ALL) on large generated data: wall, CPU
and peak memory per step, this tree beside another (the baseline), in one run.

The raw exports come from ``bench/prep_speed.py``'s generator (cached in ``--cache``), are
prepared once with ``prep.engine: duckdb`` (this tree's step 2, saved in
``<cache>/prep_speed_<n>/prep_duckdb``), and each way runs in a new run folder holding that
prep (a batch run: the prep is loaded as saved). What a batch does for the national report
runs in a fresh Python process per part, so each peak (max RSS) is its own:

- ``market``: :func:`helpers.steps.market.build_run` (the market-wide results, before the
  fan-out, in the batch's process);
- ``03``: :func:`helpers.steps.visuals.visual_tables` (what notebook 03 draws from);
- ``04``: :func:`helpers.steps.insight.insight_tables` and ``save_insight``;
- ``05``: ``insight.ensure_insight`` (step 4's saved tables), ``strategy.strategy_tables``
  and ``save_strategy``.

Charts and maps are not drawn (their inputs are the tables timed here). Each row also gives
the resident memory once the context's tables are open (``open``: the prep's customers and,
when read into pandas, its orders) and the memory of the orders frame the context holds.

    python bench/steps_memory.py --baseline /tmp/lines_base          # 1M and 10M lines
    python bench/steps_memory.py --orders 1000000 --cache /work/gen/lines
    python bench/steps_memory.py --baseline /tmp/lines_base --parts-above 2000000  # 10M: market, 03

``--baseline DIR`` is another source tree (``git archive main | tar -x -C DIR``) run as
``baseline`` beside this tree's ``new``. ``same`` says whether the two ways wrote the same
step-4 and step-5 files (CSV and JSON, byte for byte; Excel is not compared).
"""

from __future__ import annotations

import argparse
import filecmp
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

_PREP = r"""
import sys, time
from pathlib import Path
from helpers.config import load_config
from helpers.data.prepare import build_prep, save_prep
from helpers.steps.prep import prep_fingerprint
config = load_config(sys.argv[1])
config.prep.engine = "duckdb"
t = time.perf_counter()
save_prep(build_prep(config), Path(sys.argv[2]), prep_fingerprint(config))
print(f"prep {time.perf_counter() - t:.1f} s", file=sys.stderr)
"""

_STEP = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
import pandas as pd
import esda, libpysal.weights, sklearn.cluster, statsmodels.api  # imports warm, not timed
from helpers import context
from helpers.steps import insight, market, strategy, visuals

config, run, part = sys.argv[1], sys.argv[2], sys.argv[3]

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1e6

base = rss()
t, c = time.perf_counter(), time.process_time()
ctx = context.open_step(region="ALL", run_dir=run, config=config)
held, opened = 0.0, base
if part != "market":  # the batch builds the market-wide results from its own prep
    orders = ctx.prep.orders
    held = (orders.memory_usage(deep=True).sum() / 1e6 if isinstance(orders, pd.DataFrame)
            else 0.0)
    ctx.period
    opened = rss()
if part == "market":
    market.build_run(ctx.config, ctx.run)
elif part == "03":
    visuals.visual_tables(ctx)
elif part == "04":
    insight.save_insight(ctx, insight.insight_tables(ctx))
else:
    strategy.save_strategy(ctx, strategy.strategy_tables(ctx, insight.ensure_insight(ctx)))
print(json.dumps({"seconds": time.perf_counter() - t, "cpu": time.process_time() - c,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "open_mb": opened - base, "orders_mb": held}))
"""

PARTS = ("market", "03", "04", "05")


def prepared(folder: Path) -> Path:
    """The DuckDB-path prep of the exports in ``folder`` (built once, then reused)."""
    prep = folder / "prep_duckdb"
    if not (prep / "prep.json").exists():
        subprocess.run([sys.executable, "-c", _PREP, str(folder / "workbook.yaml"), str(prep)],
                       cwd=ROOT, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return prep


def run_way(folder: Path, prep: Path, src: Path, work: Path, parts=PARTS) -> tuple[dict, Path]:
    """The ``parts`` of the national report with the code in ``src``, in a new run folder."""
    run = work / "run"
    run.mkdir(parents=True)
    (run / "prep").symlink_to(prep)
    (run / "manifest.json").write_text("{}", encoding="utf-8")  # a batch run: prep as saved
    env = {**os.environ, "PYTHONPATH": str(src), "MPLBACKEND": "Agg"}
    results = {}
    for part in parts:
        done = subprocess.run([sys.executable, "-c", _STEP, str(folder / "workbook.yaml"),
                               str(run), part], cwd=src, capture_output=True, text=True, env=env)
        if done.returncode:
            raise SystemExit(f"{src} part {part}:\n{done.stderr[-4000:]}")
        results[part] = json.loads(done.stdout.strip().splitlines()[-1])
    return results, run / "all"


def _close(a: Path, b: Path) -> str | None:
    """None when the CSV files hold the same table up to a relative 1e-9 in numbers (sums
    added in another order), else what differs."""
    import pandas as pd

    try:
        pd.testing.assert_frame_equal(pd.read_csv(a), pd.read_csv(b), rtol=1e-9)
    except AssertionError as exc:
        return " ".join(str(exc).split())[:160]
    return None


def same_files(a: Path, b: Path) -> str:
    """Whether the two ways wrote the same step-4/5 files: byte for byte, or (CSV) the same
    table up to 1e-9 relative; else each differing file and how."""
    names = sorted(p.name for p in a.iterdir() if p.suffix in (".csv", ".json"))
    differ = [n for n in names if not (b / n).exists() or not filecmp.cmp(a / n, b / n, False)]
    if not differ:
        return "yes, byte for byte"
    close = [n for n in differ if n.endswith(".csv") and (b / n).exists()
             and _close(a / n, b / n) is None]
    other = [n if not n.endswith(".csv") or not (b / n).exists() else
             f"{n} ({_close(a / n, b / n)})" for n in differ if n not in close]
    said = f"{len(names) - len(differ)} byte for byte"
    if close:
        said += f"; {', '.join(close)} equal to 1e-9 relative"
    return said + (f"; differ: {'; '.join(other)}" if other else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--baseline", type=Path, help="another source tree, run as 'baseline'")
    parser.add_argument("--keep", action="store_true", help="keep the run folders (in --cache)")
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS,
                        help="the parts to run, in order (05 needs 04, 03 and 04 use market)")
    parser.add_argument("--parts-above", type=int, default=None, metavar="LINES",
                        help="above this many order lines run only market and 03 (steps 4 and "
                        "5 grow with the customers: lifetime value and the Excel lists)")
    args = parser.parse_args(argv)
    ways = ([("baseline", args.baseline.resolve())] if args.baseline else []) + [("new", ROOT)]
    print("| order lines | way | part | wall (s) | CPU (s) | peak RSS (MB) | open (MB) | "
          "orders frame (MB) |")
    print("|---:|---|---|---:|---:|---:|---:|---:|")
    for n in args.orders:
        folder = prep_speed.prepare(n, args.cache)
        prep = prepared(folder)
        lines = json.loads((prep / "prep.json").read_text("utf-8"))["rows"]["orders"]
        outs, works = {}, []
        for name, src in ways:
            work = Path(tempfile.mkdtemp(prefix=f"steps_memory_{name}_", dir=args.cache))
            works.append(work)
            parts = args.parts
            if args.parts_above is not None and n > args.parts_above:
                parts = [p for p in parts if p in ("market", "03")]
            try:
                results, outs[name] = run_way(folder, prep, src, work, parts)
                for part, r in results.items():
                    print(f"| {lines:,} | {name} | {part} | {r['seconds']:.1f} | {r['cpu']:.1f} | "
                          f"{r['peak_mb']:,.0f} | {r['open_mb']:,.0f} | {r['orders_mb']:,.0f} |",
                          flush=True)
                total = sum(r["seconds"] for r in results.values())
                cpu = sum(r["cpu"] for r in results.values())
                peak = max(r["peak_mb"] for r in results.values())
                print(f"| {lines:,} | {name} | **all** | {total:.1f} | {cpu:.1f} | {peak:,.0f} "
                      "| | |", flush=True)
                if len(outs) == 2 and {"04", "05"} & set(parts):
                    print(f"\nsame step-4/5 files (CSV, JSON) at {lines:,} lines: "
                          f"{same_files(outs['baseline'], outs['new'])}\n", flush=True)
            finally:
                if len(outs) == len(ways) and not args.keep:  # this run's folders only
                    for way_work in works:
                        shutil.rmtree(way_work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
