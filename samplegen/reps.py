"""The sales reps: spread over the territories by customer count."""

from __future__ import annotations

import numpy as np
import pandas as pd

from samplegen.names import person_names


def draw_reps(rng, core, city, n_customers) -> tuple[pd.DataFrame, pd.Series]:
    """20-40 reps spread over territories by customer count; customers get a rep of theirs.

    Returns
    -------
    reps : DataFrame
        ``sales_rep_id`` (``S01``..), ``name``, ``region`` (territory).
    rep_of : Series
        Each customer's ``sales_rep_id``, in ``core`` order.
    """
    territories = ["华东", "华南", "华北", "华中", "西南", "西北", "东北"]
    terr_of = pd.Series(city["territory"].to_numpy()[core["city_idx"]])
    terr_code = pd.Categorical(terr_of, categories=territories).codes
    counts = np.bincount(terr_code, minlength=len(territories)).astype(float)
    n_reps = int(np.clip(20 + n_customers // 1000, 20, 40))
    present = counts > 0
    alloc = np.where(present, 1, 0)
    rest = n_reps - alloc.sum()
    ideal = counts / counts.sum() * rest
    alloc = alloc + np.floor(ideal).astype(int)
    left = n_reps - alloc.sum()
    order = np.argsort(-(ideal - np.floor(ideal)), kind="stable")
    alloc[order[:left]] += 1
    region = np.repeat(territories, alloc)
    rep_ids = [f"S{i:02d}" for i in range(1, n_reps + 1)]
    reps = pd.DataFrame(
        {
            "sales_rep_id": pd.Series(rep_ids, dtype="string"),
            "name": person_names(rng, n_reps),
            "region": pd.Series(region, dtype="string"),
        }
    )
    first = np.concatenate([[0], np.cumsum(alloc)[:-1]])
    pick = first[terr_code] + np.floor(rng.random(len(terr_code)) * alloc[terr_code]).astype(int)
    return reps, pd.Series(np.array(rep_ids)[pick], dtype="string")
