"""Benchmark of step 2 (``helpers.data.prepare.build_prep``): throughput and peak memory.

The raw exports are generated with ``samplegen`` (the bundled sample's layout and
mess: GBK and BOM encodings, messy province spellings, duplicates, bad amounts) at the
requested number of order lines, written to a cache folder once, and prepared with the
shipped ``workbook.yaml`` mapping in a fresh Python process, so the peak memory (max
RSS) is that of the prep alone.

    python bench/prep_speed.py                        # 1M and 10M order lines
    python bench/prep_speed.py --orders 200000 --profile

Prints a Markdown table; CPU time (all threads) is shown beside wall time because a
shared machine stretches the wall time. Also timed: hashing every input (SHA-256 of the
exports, which every run does to decide whether a saved prep can be reused), saving the
prep, and checking a saved prep's files against their recorded SHA-256 (what reusing it
costs). The target is 10M order lines in <= 60 s and <= 6 GB on 2 cores.
The generated files are kept in ``--cache`` (default: the system temp folder) and reused.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINES_PER_CUSTOMER = 17.8  # samplegen.generate: order lines per customer, about

_MAKE = r"""
import sys, yaml
from pathlib import Path
import samplegen as sample
from helpers.config import DEFAULT_CONFIG
n, folder = int(sys.argv[1]), Path(sys.argv[2])
tables = sample.generate(n_customers=n, seed=11)
sample.write_raw(tables, folder / "data", seed=11)
config = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
config["paths"] = {"data": "data", "reports": "reports"}
(folder / "workbook.yaml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                                      encoding="utf-8")
print(len(tables["orders"]))
"""

_RUN = r"""
import json, resource, sys, tempfile, time
from pathlib import Path
from helpers.config import load_config
from helpers.data.prepare import build_prep, check_prep_files, read_prep_summary, save_prep
from helpers.steps.prep import prep_fingerprint
profile = sys.argv[2] == "1"
config = load_config(sys.argv[1])
t0 = time.perf_counter()
fingerprint = prep_fingerprint(config)  # every input hashed: what each run does first
hashing = time.perf_counter() - t0
t0 = time.perf_counter()
c0 = time.process_time()
if profile:
    import cProfile, pstats
    prof = cProfile.Profile()
    result = prof.runcall(build_prep, config)
    pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(35)
else:
    result = build_prep(config)
seconds = time.perf_counter() - t0
cpu = time.process_time() - c0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
with tempfile.TemporaryDirectory() as folder:
    t0 = time.perf_counter()
    save_prep(result, Path(folder), fingerprint)
    saving = time.perf_counter() - t0
    t0 = time.perf_counter()
    check_prep_files(Path(folder), read_prep_summary(Path(folder)))  # what a reuse checks
    checking = time.perf_counter() - t0
read = result.ledger.query("table == 'orders' and outcome == 'read'")["rows"].sum()
print(json.dumps({"order_lines": int(read), "orders_kept": len(result.orders),
                  "customers": len(result.customers), "seconds": seconds, "cpu": cpu,
                  "peak_mb": peak, "hash_s": hashing, "save_s": saving, "check_s": checking}))
"""


def prepare(orders: int, cache: Path) -> Path:
    """The generated exports for about ``orders`` order lines (made once, then reused)."""
    customers = max(50, round(orders / LINES_PER_CUSTOMER))
    folder = cache / f"prep_speed_{customers}"
    if not (folder / "workbook.yaml").exists():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-c", _MAKE, str(customers), str(folder)], cwd=ROOT,
                       check=True, capture_output=True, text=True)
    return folder


def run(folder: Path, profile: bool) -> dict:
    done = subprocess.run([sys.executable, "-c", _RUN, str(folder / "workbook.yaml"),
                           "1" if profile else "0"], cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    if profile:
        print(done.stderr[-8000:], file=sys.stderr)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["mb"] = sum(p.stat().st_size for p in (folder / "data").iterdir()) / 1e6
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, nargs="+", default=[1_000_000, 10_000_000],
                        help="order lines to generate and prepare (about)")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--profile", action="store_true", help="print a cProfile of build_prep")
    args = parser.parse_args(argv)
    print("| order lines | customers | input MB | prep wall (s) | CPU (s) | lines/s (wall) | "
          "peak RSS (MB) | hash inputs (s) | save (s) | check saved (s) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.orders:
        r = run(prepare(n, args.cache), args.profile)
        print(f"| {r['order_lines']:,} | {r['customers']:,} | {r['mb']:,.0f} | "
              f"{r['seconds']:.1f} | {r['cpu']:.1f} | {r['order_lines'] / r['seconds']:,.0f} | "
              f"{r['peak_mb']:,.0f} | {r['hash_s']:.2f} | {r['save_s']:.2f} | "
              f"{r['check_s']:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
