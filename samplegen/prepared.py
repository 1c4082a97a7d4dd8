"""The generated tables saved as a run's prepared data, as step 2 would leave them.

Benchmarks of steps 3-5 (``bench/ltv_speed.py``, ``bench/market_cache.py``) start from
here at sizes the bundled sample does not have, without the cost of step 2: the
generated tables are clean already, so the orders only take their customer's region,
as step 2's location rule gives them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from helpers.data.prepare import PrepResult, save_prep
from samplegen.tables import generate

__all__ = ["save_prepared"]


def save_prepared(n_customers: int, folder: Path) -> Path:
    """Generate ``n_customers`` customers with their orders and save them as the prep in
    ``folder`` (``<run>/prep``); return ``folder``."""
    tables = generate(n_customers)
    customers = tables["customers"]
    where = customers[["customer_id", *[c for c in ("province", "territory")
                                        if c in customers]]]
    orders = tables["orders"].drop(columns=[c for c in ("province", "territory", "city")
                                            if c in tables["orders"]])
    orders = orders.merge(where, on="customer_id", how="left")
    save_prep(PrepResult(customers=customers, orders=orders, reps=tables["reps"],
                         spend=tables["spend"],
                         ledger=pd.DataFrame(columns=["table", "outcome", "rows"]),
                         quarantine=pd.DataFrame(columns=["table", "reason"]),
                         unresolved=pd.DataFrame(columns=["column", "value", "rows"])),
              folder, {"generated": n_customers})
    return Path(folder)
