"""``python -m samplegen``: generate the tables, write the raw files and the README."""

from __future__ import annotations

import argparse
import json

from samplegen.raw import write_raw
from samplegen.readme import write_readme
from samplegen.tables import DEFAULT_SEED, generate


def main(argv: list[str] | None = None) -> int:
    """``python -m samplegen``: generate the tables and write the raw files.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``); ``--help`` lists them.

    Returns
    -------
    int
        The exit status, 0.
    """
    import samplegen  # the package's first docstring line describes the command

    parser = argparse.ArgumentParser(prog="python -m samplegen",
                                     description=samplegen.__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=5000, help="number of customers")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    parser.add_argument("--start", default="2023-01-01", help="first order day")
    parser.add_argument("--end", default="2025-12-31", help="last order day")
    parser.add_argument("--out", default="data/sample", help="output folder")
    parser.add_argument("--no-readme", action="store_true", help="do not write README.md")
    args = parser.parse_args(argv)
    tables = generate(args.customers, seed=args.seed, start=args.start, end=args.end)
    paths = write_raw(tables, args.out, seed=args.seed)
    mess = json.loads(paths["mess"].read_text(encoding="utf-8"))
    if not args.no_readme:
        paths["readme"] = write_readme(args.out, tables, mess, n_customers=args.customers,
                                       seed=args.seed, start=args.start, end=args.end)
    for name, path in paths.items():
        print(f"{name:18s} {path}  {path.stat().st_size / 1e6:7.2f} MB")
    print(f"customers {len(tables['customers']):,}  order lines {len(tables['orders']):,}  "
          f"reps {len(tables['reps'])}  spend rows {len(tables['spend'])}")
    return 0
