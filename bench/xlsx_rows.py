"""How the size of the long lists in ``actions.xlsx`` decides its cost: for each number of
rows per list (``report.excel_list_rows``), the CPU to write the sheets (the lists' first
rows through :func:`helpers.text.tables.export_sheet` and :func:`helpers.files.write_xlsx`,
as step 5 does), the file's size, and the time to read every cell back with a native
reader (python-calamine, the fastest reader here; Excel itself is not on this machine) and
with openpyxl (read-only).

The lists are read from a report folder that step 5 wrote (``campaign_list.csv``,
``cross_sell_list.csv``, ``partner_plans.csv``; e.g. the national report of
``bench/steps_memory.py --keep`` at 10M order lines):

    python bench/xlsx_rows.py /path/to/run/all --rows 10000 50000 100000 200000
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

from helpers.files import read_csv, write_xlsx  # noqa: E402
from helpers.steps.strategy import EXCEL_LISTS, excel_list  # noqa: E402
from helpers.text.lookup import text  # noqa: E402
from helpers.text.tables import export_sheet  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="a report folder holding the lists' CSV files")
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    parser.add_argument("--no-openpyxl", action="store_true", help="skip the slow reader")
    args = parser.parse_args(argv)
    lists = {name: read_csv(args.folder / file, dtype={"customer_id": str},
                            keep_default_na=False, na_values=[""])
             for name, _, file in EXCEL_LISTS if (args.folder / file).exists()}
    print(f"lists: {', '.join(f'{n} {len(f):,} rows x {f.shape[1]}' for n, f in lists.items())}"
          f"; load {os.getloadavg()[0]:.2f}")
    print("| rows per list | cells | write CPU (s) | file (MB) | read, calamine (s) | "
          "read, openpyxl (s) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for rows in args.rows:
        start = time.process_time()
        sheets, notes = {}, {}
        for name, frame in lists.items():
            kept, note = excel_list(frame, f"{name}.csv", rows)
            title = text("sheet", name)
            sheets[title] = export_sheet(kept)
            if note:
                notes[title] = note
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "actions.xlsx"
            write_xlsx(sheets, path, notes=notes)
            written = time.process_time() - start
            cells = sum(f.size for f in sheets.values())
            size = path.stat().st_size / 1e6
            from python_calamine import CalamineWorkbook

            start = time.perf_counter()
            book = CalamineWorkbook.from_path(str(path))
            read = sum(len(book.get_sheet_by_name(s).to_python()) for s in book.sheet_names)
            native = time.perf_counter() - start
            slow = ""
            if not args.no_openpyxl:
                from openpyxl import load_workbook

                start = time.perf_counter()
                wb = load_workbook(path, read_only=True)
                for sheet in wb.worksheets:
                    for _ in sheet.iter_rows(values_only=True):
                        pass
                slow = f"{time.perf_counter() - start:.1f}"
            assert read >= sum(len(f) for f in sheets.values())
        print(f"| {rows:,} | {cells:,} | {written:.1f} | {size:.1f} | {native:.1f} | {slow} |",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
