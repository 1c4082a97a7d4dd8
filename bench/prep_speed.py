"""Benchmark of step 2 (``helpers.data.prepare.build_prep``): throughput and peak memory.

The raw exports are generated with ``samplegen`` (the bundled sample's layout and
mess: GBK and BOM encodings, messy province spellings, duplicates, bad amounts) at the
requested number of order lines (``samplegen.write_large``: bounded memory, so 100M
lines can be made), written to a cache folder once, and, each in a fresh
Python process (so the peak memory, max RSS, is its own), run four ways:

- ``pandas``: step 2 on the pandas path (``prep.engine: pandas``), then saved;
- ``duckdb``: step 2 with the orders out of core (``prep.engine: duckdb``), then saved;
- ``pyarrow read``: pyarrow's CSV reader on the orders file (all columns, types inferred);
- ``duckdb group``: DuckDB reads the orders and the CRM customers and sums the amount
  by province: the floor an engine sets for reading the same files.

    python bench/prep_speed.py                        # 1M and 10M order lines
    python bench/prep_speed.py --orders 200000 --profile --ways pandas
    python bench/prep_speed.py --baseline /tmp/old_tree   # also step 2 of another source tree

``--baseline DIR`` adds ``duckdb (baseline)``: the DuckDB path of the source tree in ``DIR``
(e.g. ``git archive <commit> | tar -x -C DIR``) in the same run, beside this tree's.

Prints a Markdown table; CPU time (all threads) is shown beside wall time because a
shared machine stretches the wall time. Also timed for the prep: hashing every input
(SHA-256 of the exports, which every run does to decide whether a saved prep can be
reused), saving the prep, and checking a saved prep's files against their recorded
SHA-256 (what reusing it costs). Targets (issue 17): 10M lines within 3x of DuckDB's
read-and-group and under 1.5 GB. The generated files are kept in ``--cache`` (default:
the system temp folder) and reused.
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
LINES_PER_CUSTOMER = 17.8  # samplegen.generate: order lines per customer, about

_MAKE = r"""
import sys, yaml
from pathlib import Path
import json
from samplegen.large import write_large
from helpers.config import DEFAULT_CONFIG
n, folder = int(sys.argv[1]), Path(sys.argv[2])
# generate + write_raw up to a million customers (the same files), in parts beyond
paths = write_large(n, folder / "data", seed=11)
config = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
config["paths"] = {"data": "data", "reports": "reports"}
(folder / "workbook.yaml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                                      encoding="utf-8")
print(json.loads(paths["mess"].read_text(encoding="utf-8"))["orders_clean_lines"])
"""

_RUN = r"""
import json, resource, sys, tempfile, time
from pathlib import Path
from helpers.config import load_config
from helpers.data.prepare import build_prep, check_prep_files, read_prep_summary, save_prep
from helpers.steps.prep import prep_fingerprint
profile = sys.argv[2] == "1"
config = load_config(sys.argv[1])
config.prep.engine = sys.argv[3]
t0 = time.perf_counter()
fingerprint = prep_fingerprint(config)  # every input hashed: what each run does first
hashing = time.perf_counter() - t0
t0 = time.perf_counter()
c0 = time.process_time()
if profile:
    import cProfile, pstats
    from helpers.data import engine
    statements = []  # (wall, CPU of all threads, SQL): each DuckDB statement of the engine

    class _Timed:
        def __init__(self, con):
            self._con = con

        def execute(self, sql, *args, **kwargs):
            w, c = time.perf_counter(), time.process_time()
            out = self._con.execute(sql, *args, **kwargs)
            statements.append((time.perf_counter() - w, time.process_time() - c,
                               " ".join(str(sql).split())))
            return out

        def __getattr__(self, name):
            return getattr(self._con, name)

    connect = engine.connect
    engine.connect = lambda *a, **k: _Timed(connect(*a, **k))
    prof = cProfile.Profile()
    result = prof.runcall(build_prep, config)
    pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(35)
    print(f"DuckDB statements: {len(statements)}, wall {sum(s[0] for s in statements):.1f} s, "
          f"CPU {sum(s[1] for s in statements):.1f} s; the slowest:", file=sys.stderr)
    for wall, used, sql in sorted(statements, reverse=True)[:15]:
        print(f"{wall:7.2f} s wall {used:7.2f} s CPU  {sql[:150]}", file=sys.stderr)
else:
    result = build_prep(config)
seconds = time.perf_counter() - t0
cpu = time.process_time() - c0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
with tempfile.TemporaryDirectory() as folder:
    folder = Path(sys.argv[4]) if len(sys.argv) > 4 else Path(folder)  # --keep: kept there
    t0 = time.perf_counter()
    save_prep(result, folder, fingerprint)
    saving = time.perf_counter() - t0
    t0 = time.perf_counter()
    check_prep_files(folder, read_prep_summary(folder))  # what a reuse checks
    checking = time.perf_counter() - t0
read = result.ledger.query("table == 'orders' and outcome == 'read'")["rows"].sum()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # saving included
print(json.dumps({"order_lines": int(read), "orders_kept": len(result.orders),
                  "customers": len(result.customers), "seconds": seconds, "cpu": cpu,
                  "peak_mb": peak, "hash_s": hashing, "save_s": saving, "check_s": checking,
                  "path": result.engine["path"]}))
"""

_ARROW = r"""
import json, resource, sys, time
import pyarrow.csv as pacsv
t0, c0 = time.perf_counter(), time.process_time()
table = pacsv.read_csv(sys.argv[1])
print(json.dumps({"order_lines": table.num_rows, "seconds": time.perf_counter() - t0,
                  "cpu": time.process_time() - c0,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

_GROUP = r"""
import json, resource, sys, time
import duckdb
t0, c0 = time.perf_counter(), time.process_time()
con = duckdb.connect()
con.execute("SET threads = 2")
rows = con.execute(
    "SELECT c.省份, sum(TRY_CAST(o.金额 AS DOUBLE)), count(*) FROM read_csv(?, all_varchar = true) o "
    "LEFT JOIN (SELECT 客户编号, any_value(省份) AS 省份 FROM read_csv(?, all_varchar = true) "
    "GROUP BY 1) c ON o.客户编号 = c.客户编号 GROUP BY 1",
    [sys.argv[1], sys.argv[2]]).fetchall()
print(json.dumps({"order_lines": sum(r[2] for r in rows), "groups": len(rows), "seconds": time.perf_counter() - t0,
                  "cpu": time.process_time() - c0,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
WAYS = ("pandas", "duckdb", "pyarrow read", "duckdb group")


def prepare(orders: int, cache: Path) -> Path:
    """The generated exports for about ``orders`` order lines (made once, then reused)."""
    customers = max(50, round(orders / LINES_PER_CUSTOMER))
    folder = cache / f"prep_speed_{customers}"
    if not (folder / "workbook.yaml").exists():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-c", _MAKE, str(customers), str(folder)], cwd=ROOT,
                       check=True, capture_output=True, text=True)
    return folder


def _child(args: list[str], src: Path | None = None) -> tuple[dict, str]:
    env = dict(os.environ)
    if src is not None:  # another source tree's helpers (the baseline)
        env["PYTHONPATH"] = str(src)
    done = subprocess.run([sys.executable, "-c", *args], cwd=src or ROOT, capture_output=True,
                          text=True, env=env)
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def run(folder: Path, way: str, profile: bool, baseline: Path | None = None,
        keep: bool = False) -> dict:
    """One way over the generated files in ``folder`` (``keep``: step 2's prep saved in
    ``folder / "prep-<way>"``)."""
    orders = str(folder / "data" / "orders.csv")
    if way == "pyarrow read":
        result, _ = _child([_ARROW, orders])
    elif way == "duckdb group":
        result, _ = _child([_GROUP, orders, str(folder / "data" / "crm_customers.csv"), "0"])
    else:
        src = baseline if way == "duckdb (baseline)" else None
        kept = [str(folder / f"prep-{way.split()[0]}")] if keep and src is None else []
        result, err = _child([_RUN, str(folder / "workbook.yaml"), "1" if profile else "0",
                              way.split()[0], *kept], src)
        if profile:
            print(err[-8000:], file=sys.stderr)
    result["mb"] = sum(p.stat().st_size for p in (folder / "data").iterdir()) / 1e6
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, nargs="+", default=[1_000_000, 10_000_000],
                        help="order lines to generate and prepare (about)")
    parser.add_argument("--ways", nargs="+", default=list(WAYS), choices=WAYS)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--profile", action="store_true", help="print a cProfile of build_prep and, on "
                        "the DuckDB path, its slowest SQL statements")
    parser.add_argument("--keep", action="store_true", help="keep step 2's saved prep in "
                        "the cache folder (prep-duckdb/, prep-pandas/) for steps 3-5")
    parser.add_argument("--baseline", type=Path, help="a source tree whose DuckDB path is run "
                        "too, as 'duckdb (baseline)'")
    args = parser.parse_args(argv)
    ways = list(args.ways) + (["duckdb (baseline)"] if args.baseline else [])
    print("| order lines | way | input MB | wall (s) | CPU (s) | lines/s (wall) | "
          "peak RSS (MB) | x group wall | hash inputs (s) | save (s) | check saved (s) |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.orders:
        folder = prepare(n, args.cache)
        lines, floor = None, None
        # DuckDB's read-and-group first: the other ways are given as a multiple of it
        for way in sorted(ways, key=lambda w: w != "duckdb group"):
            r = run(folder, way, args.profile, args.baseline, args.keep)
            lines = r.get("order_lines") or lines
            floor = r["seconds"] if way == "duckdb group" else floor
            times = f"{r['seconds'] / floor:.1f}" if floor else ""
            extra = (f"{r['hash_s']:.2f} | {r['save_s']:.2f} | {r['check_s']:.2f}"
                     if "hash_s" in r else " | | ")
            label = way if r.get("path", way.split()[0]) == way.split()[0] else f"{way} (ran {r['path']})"
            shown = f"{lines:,}" if lines else f"~{n:,}"
            print(f"| {shown} | {label} | {r['mb']:,.0f} | {r['seconds']:.1f} | {r['cpu']:.1f} | "
                  f"{(lines or n) / r['seconds']:,.0f} | {r['peak_mb']:,.0f} | {times} | "
                  f"{extra} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
