"""Benchmark of the DuckDB twins of :mod:`helpers.analysis.mix`, ``buying`` and ``partners``
against their pandas functions on a prepared ``orders.parquet`` (one scope): wall time and
peak memory (max RSS) of each part, pandas and twin side by side, each in a fresh Python
process so that each peak is its own.

The pandas way reads the scope's lines into pandas (as ``ctx.orders`` / ``ctx.period_orders``
do) and calls the pandas function; the twin way opens the views
(:func:`helpers.analysis.engine.open_lines`) and calls the ``*_sql`` twin. Both read the
customers table (per customer, the same in both). ``same`` says whether the two results
are equal (``pd.testing.assert_frame_equal``, default tolerance).

    python bench/line_twins_mix.py --prep /work/gen/lines/prep_speed_561798/prep_duckdb
    python bench/line_twins_mix.py --prep DIR --province 广东省 --parts mix buying
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_PART = r"""
import json, resource, sys, time
import pandas as pd
from helpers.analysis import buying, engine, mix, partners
from helpers.period import Period

prep, part, way, province = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] or None
path = f"{prep}/orders.parquet"
t0 = time.perf_counter()
people = pd.read_parquet(f"{prep}/customers.parquet")
if province:
    people = people.loc[people["province"] == province]
last = engine.fetch(engine.connect(), f"SELECT max(order_date) AS d FROM read_parquet('{path}')")
period = Period.ending(pd.Timestamp(last["d"].iloc[0]).normalize(), 12)
level = "city" if province else "province"
regions = people.drop_duplicates("customer_id").set_index("customer_id")[level]
column = None if province else "province"
t1 = time.perf_counter()
if way == "pandas":
    lines = pd.read_parquet(path, filters=[("province", "==", province)] if province else None)
else:
    con = engine.open_lines(path, provinces=[province] if province else None)
t2 = time.perf_counter()
if part == "mix":
    opts = dict(period=period, min_customers=20)
    out = (mix.category_mix(lines, regions, **opts)[0] if way == "pandas"
           else mix.category_mix_sql(con, regions, **opts)[0])
elif part == "segments":
    opts = dict(attributes=["channel", "industry"], period=period, min_customers=20)
    out = (mix.segment_mix(lines, people, **opts)[0] if way == "pandas"
           else mix.segment_mix_sql(con, people, **opts)[0])
elif part == "targets":
    gaps = pd.read_parquet(sys.argv[5])
    out = (mix.cross_sell_targets(gaps, lines, regions, period=period) if way == "pandas"
           else mix.cross_sell_targets_sql(con, gaps, regions, period=period))
elif part == "buying":
    if way == "pandas":
        inside = lines.loc[period.contains(lines["order_date"])]
        out = buying.period_orders(inside, regions, column)
        out.attrs["time"] = buying.has_time(inside)
        buying.discounts(inside, regions, column=column)
    else:
        out = buying.period_orders_sql(con, regions, column, period=period)
        out.attrs["time"] = buying.has_time_sql(con, period=period)
        buying.discounts_sql(con, regions, period=period, column=column)
    out = out.assign(order_id=out["order_id"].astype(str), customer_id=out["customer_id"].astype(str))
elif part == "partners":
    out = (partners.partner_tiers(people, lines, period=period) if way == "pandas"
           else partners.partner_tiers_sql(con, people, period=period))
t3 = time.perf_counter()
out.to_parquet(sys.argv[6], index=False) if part != "buying" else out.drop(
    columns="region").assign(region=out["region"].astype(str)).to_parquet(sys.argv[6], index=False)
print(json.dumps({"load_s": round(t2 - t1, 2), "run_s": round(t3 - t2, 2),
                  "total_s": round(t3 - t0, 2), "rows": int(len(out)),
                  "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def run(prep: Path, part: str, way: str, province: str, gaps: Path, out: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", _PART, str(prep), part, way, province,
                           str(gaps), str(out)], env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode:
        raise SystemExit(f"{part}/{way} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prep", type=Path, required=True, help="a prep folder")
    parser.add_argument("--province", default="", help="a province scope (default ALL)")
    parser.add_argument("--parts", nargs="+",
                        default=["mix", "segments", "targets", "buying", "partners"])
    parser.add_argument("--work", type=Path, default=Path("/tmp/line_twins_mix"))
    args = parser.parse_args(argv)
    import pandas as pd

    args.work.mkdir(parents=True, exist_ok=True)
    print(f"load: {os.getloadavg()}")
    rows = []
    for part in args.parts:
        results = {}
        for way in ("pandas", "twin"):
            out = args.work / f"{part}-{way}.parquet"
            if part == "targets" and not (args.work / "gaps.parquet").exists():
                mixed = pd.read_parquet(args.work / "mix-twin.parquet")
                mixed.sort_values("penetration_index").head(3).to_parquet(
                    args.work / "gaps.parquet", index=False)
            results[way] = run(args.prep, part, way, args.province,
                               args.work / "gaps.parquet", out)
        try:
            pd.testing.assert_frame_equal(pd.read_parquet(args.work / f"{part}-twin.parquet"),
                                          pd.read_parquet(args.work / f"{part}-pandas.parquet"))
            same = True
        except AssertionError as exc:
            same = str(exc).splitlines()[0]
        for way, r in results.items():
            rows.append({"part": part, "way": way, **r, "same": same})
            print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    print(f"load: {os.getloadavg()}")
    print(pd.DataFrame(rows).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
