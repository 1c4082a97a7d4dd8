"""Benchmark of the sample generator: time and peak memory against size.

Each size runs in a fresh Python process so its peak memory (max RSS) is its own.

    python bench/gen_sample.py                       # 1k, 10k, 100k, 1M customers
    python bench/gen_sample.py --sizes 5000 200000 --write

Prints a Markdown table; ``--write`` also times ``write_raw`` into a temporary folder
and reports the size of the files.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, resource, shutil, sys, tempfile, time
from pathlib import Path
import samplegen as sample

n, write = int(sys.argv[1]), sys.argv[2] == "1"
t0 = time.perf_counter()
tables = sample.generate(n)
result = {"customers": n, "orders": len(tables["orders"]),
          "generate_s": time.perf_counter() - t0,
          "generate_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
if write:
    folder = Path(tempfile.mkdtemp(prefix="gen_sample_"))
    try:
        t0 = time.perf_counter()
        sample.write_raw(tables, folder)
        result["write_s"] = time.perf_counter() - t0
        result["files_mb"] = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
        result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    finally:
        shutil.rmtree(folder, ignore_errors=True)
print(json.dumps(result))
"""


def run(n: int, write: bool) -> dict:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(n), "1" if write else "0"],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[1_000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--write", action="store_true", help="also time write_raw")
    args = parser.parse_args(argv)
    head = "| customers | order lines | generate (s) | peak RSS (MB) |"
    rule = "|---:|---:|---:|---:|"
    if args.write:
        head += " write_raw (s) | files (MB) | peak RSS with write (MB) |"
        rule += "---:|---:|---:|"
    print(head)
    print(rule, flush=True)
    for n in args.sizes:
        r = run(n, args.write)
        line = (f"| {r['customers']:,} | {r['orders']:,} | {r['generate_s']:.1f} | "
                f"{r['generate_peak_mb']:,.0f} |")
        if args.write:
            line += f" {r['write_s']:.1f} | {r['files_mb']:,.1f} | {r['peak_mb']:,.0f} |"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
