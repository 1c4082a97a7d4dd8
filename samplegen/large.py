"""Large samples in bounded memory: :func:`write_large`, order lines drawn and written in parts.

:func:`~samplegen.tables.generate` holds every order line in memory, and
:func:`~samplegen.raw.write_raw` its text twice more: about 150 bytes a line, too much for
100 million lines. :func:`write_large` writes the same files (layout, encodings, mess and
``mess.json``) holding the customers in memory but the order lines only a block of
customers or a window of days at a time:

1. the customers, reps and order counts are drawn as :func:`generate` draws them;
2. the order lines are drawn for a block of customers at a time (``block_customers``),
   sorted by day and customer and kept on disk (a scratch folder inside ``folder``,
   about 26 bytes a line, removed at the end), with their revenue per province and year
   (which the price calibration needs);
3. the orders file is written a window of days at a time (about ``window_lines``
   lines): the window's lines of every block, numbered, priced and with the extra and
   duplicated lines of :func:`~samplegen.raw.write_raw` that fall in it.

With one block (``block_customers >= n_customers``, the default up to a million
customers, about 17.8 million lines) the files are byte for byte those of
``write_raw(generate(n_customers, seed), folder, seed=mess_seed)``, whatever the window:
each block draws its lines from the same stream in turn, so more blocks give other
(equally distributed) lines.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from samplegen.arrow import take_rows
from samplegen.files import write_csv
from samplegen.mess import file_order
from samplegen.orders import (
    calibrate,
    draw_lines,
    growth_factor,
    line_id_width,
    order_frame,
    order_plan,
    revenue_by_year,
    sort_lines,
)
from samplegen.raw import (
    ORDERS_FILE,
    extra_lines,
    finish_mess,
    order_counts,
    order_mess,
    order_text,
    write_customer_files,
    write_reps_and_spend,
)
from samplegen.spend import draw_spend
from samplegen.tables import DEFAULT_SEED, draw_people

BLOCK_CUSTOMERS = 1_000_000
WINDOW_LINES = 2_000_000
_FIELDS = ("cust", "day", "qty", "unit", "cat", "ret")


def write_large(n_customers: int, folder, *, seed: int = DEFAULT_SEED,
                mess_seed: int | None = None, start: str = "2023-01-01",
                end: str = "2025-12-31", block_customers: int = BLOCK_CUSTOMERS,
                window_lines: int = WINDOW_LINES) -> dict[str, Path]:
    """Generate and write the raw files of ``n_customers`` customers in bounded memory.

    Parameters
    ----------
    n_customers : int
        Number of customers (about 17.8 order lines each).
    folder : path
        Created if missing; existing files of the same names are overwritten.
    seed : int
        Seed of the tables (:func:`~samplegen.tables.generate`'s ``seed``).
    mess_seed : int, optional
        Seed of the mess (:func:`~samplegen.raw.write_raw`'s ``seed``; default ``seed``).
    start, end : str
        First and last day of the order history.
    block_customers : int
        Customers whose order lines are drawn at once (memory: about 110 bytes a line).
    window_lines : int
        Order lines written at once (at least a day's).

    Returns
    -------
    dict of Path
        As :func:`~samplegen.raw.write_raw`.
    """
    if block_customers < 1 or window_lines < 1:
        raise ValueError("block_customers and window_lines must be positive")
    mess_seed = seed if mess_seed is None else mess_seed
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    people = draw_people(n_customers, seed, start, end)
    rng, core, prov = people["rng"], people["core"], people["prov"]
    customers = people["customers"].reset_index(drop=True)
    start_ts, n_days = people["start_ts"], people["n_days"]
    plan = order_plan(rng, core, prov, start_ts, n_days)
    scratch = Path(tempfile.mkdtemp(prefix=".lines-", dir=folder))
    try:
        rev_last, rev_prior = np.zeros(len(prov)), np.zeros(len(prov))
        per_day = np.zeros(n_days, dtype=np.int64)
        returns, blocks = 0, []
        for first in range(0, n_customers, block_customers):
            lines = draw_lines(rng, plan, core, prov, first,
                               min(first + block_customers, n_customers))
            last, prior = revenue_by_year(lines, core["prov_idx"][lines["cust"]], len(prov),
                                          n_days)
            rev_last += last
            rev_prior += prior
            lines = sort_lines(lines)
            per_day += np.bincount(lines["day"], minlength=n_days)
            returns += int(lines["ret"].sum())
            block = scratch / str(len(blocks))
            for name in _FIELDS:
                np.save(f"{block}_{name}.npy", lines[name])
            blocks.append(block)
            del lines
        factor = growth_factor(rev_last, rev_prior, prov)
        n_lines = int(per_day.sum())

        # write_raw's stream: the customer files, the orders' mess, the orders, reps, spend
        mess_rng = np.random.default_rng([mess_seed, 7])
        mess: dict = {"seed": mess_seed, "customers": len(customers)}
        paths, who = write_customer_files(mess_rng, customers, folder, mess)
        width = line_id_width(n_lines) if n_lines else 7
        planted = order_mess(mess_rng, n_lines, n_lines - returns, customers, width)
        paths["orders"] = folder / ORDERS_FILE
        revenue = _write_orders(paths["orders"], blocks, per_day, window_lines, planted,
                                lambda lines: calibrate(lines["unit"], lines["day"],
                                                        core["prov_idx"][lines["cust"]],
                                                        factor, n_days),
                                customers["customer_id"], start_ts, width)
        mess.update(order_counts(planted, n_lines, n_lines - returns, returns))
        spend = draw_spend(rng, core, prov, revenue, start_ts, people["end_ts"])
        paths.update(write_reps_and_spend(mess_rng, people["reps"], spend, folder, mess))
        paths["mess"] = finish_mess(mess, customers, who, folder)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return paths


def day_windows(per_day: np.ndarray, window_lines: int) -> list[tuple[int, int]]:
    """Consecutive day ranges ``[first, stop)`` of at most ``window_lines`` lines (at
    least one day each), covering every day."""
    starts = np.concatenate([[0], np.cumsum(per_day)])
    windows, first = [], 0
    while first < len(per_day):
        stop = int(np.searchsorted(starts, starts[first] + window_lines, side="right")) - 1
        stop = min(max(stop, first + 1), len(per_day))
        windows.append((first, stop))
        first = stop
    return windows


def _window(blocks: list[Path], first_day: int, stop_day: int) -> dict:
    """The lines of days ``first_day`` .. ``stop_day - 1`` of every block, sorted."""
    parts = {name: [] for name in _FIELDS}
    for block in blocks:
        day = np.load(f"{block}_day.npy", mmap_mode="r")
        lo, hi = np.searchsorted(day, [first_day, stop_day], side="left")
        for name in _FIELDS:
            parts[name].append(np.array(np.load(f"{block}_{name}.npy", mmap_mode="r")[lo:hi]))
    # blocks hold disjoint customers: ties of (day, customer) stay inside a block, in order
    return sort_lines({name: np.concatenate(values) for name, values in parts.items()})


def _write_orders(path: Path, blocks: list[Path], per_day: np.ndarray, window_lines: int,
                  planted: dict, price, customer_ids: pd.Series, start_ts,
                  width: int) -> float:
    """Write the orders file window by window; returns the lines' revenue (their sum).

    ``planted`` is :func:`~samplegen.raw.order_mess`; ``price`` gives the calibrated
    unit prices of a window's lines.
    """
    rank = planted["source_rank"]
    kind, n_cancel = planted["kind"], planted["n_cancel"]
    position = 0          # the window's first line in the file's order (without mess)
    done_before = 0       # completed lines before the window
    revenue = 0.0
    for number, (first_day, stop_day) in enumerate(day_windows(per_day, window_lines)):
        lines = _window(blocks, first_day, stop_day)
        lines["unit"] = price(lines)
        revenue += float((lines["qty"] * lines["unit"]).sum())   # whole yuan: exact
        n = len(lines["cust"])
        base = order_text(order_frame(lines, customer_ids, start_ts, position + 1, width))
        done = np.flatnonzero(lines["ret"] == 0)
        mine = np.flatnonzero((rank >= done_before) & (rank < done_before + len(done)))
        source = done[rank[mine] - done_before]
        unknown = mine[kind[mine] == 1] - n_cancel
        extra = extra_lines(base, source,
                            planted["extra_ids"].iloc[mine].reset_index(drop=True),
                            kind[mine], planted["customer"].iloc[unknown])
        combined = {name: pa.concat_arrays([base[name], extra[name]]) for name in base}
        del base, extra
        dup = planted["dup"]
        dup = dup[(dup >= position) & (dup < position + n)] - position
        extra_pos = np.searchsorted(lines["day"], lines["day"][source], side="right") - 0.25
        write_csv(take_rows(combined, file_order(n, dup, extra_pos)), path, "utf-8",
                  append=number > 0)
        position += n
        done_before += len(done)
        del combined, lines
    return revenue

