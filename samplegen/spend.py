"""The marketing spend per province and quarter."""

from __future__ import annotations

import numpy as np
import pandas as pd

from samplegen.story import STORY


def draw_spend(rng, core, prov, revenue: float, start_ts, end_ts) -> pd.DataFrame:
    """Quarterly marketing spend per province (none for blank ones), ~3% of revenue.

    Spend follows customer counts, not revenue trends: the declining province keeps a
    legacy budget and the under-served and emerging ones get little. ``revenue`` is the
    sum of the order lines' amounts.
    """
    counts = np.bincount(core["prov_idx"], minlength=len(prov)).astype(float)
    mult = np.ones(len(prov))
    names = prov["province"].to_numpy()
    mult[np.isin(names, STORY["declining"])] = 1.8
    mult[np.isin(names, STORY["underserved"])] = 0.6
    mult[np.isin(names, STORY["emerging"])] = 0.5
    share = np.sqrt(counts) * mult
    share[np.isin(names, STORY["blank"]) | (counts == 0)] = 0.0
    share = share / share.sum()
    quarters = pd.period_range(start_ts, end_ts, freq="Q")
    per_quarter = max(revenue, 1.0) * 0.03 / len(quarters)
    q_factor = np.array([0.8, 1.0, 0.95, 1.25])[quarters.quarter.to_numpy() - 1]
    keep = np.flatnonzero(share > 0)
    amount = (per_quarter * share[keep][:, None] * q_factor[None, :]
              * rng.lognormal(0.0, 0.15, size=(len(keep), len(quarters))))
    amount = np.maximum(1000.0, np.round(amount / 1000.0) * 1000.0)
    return pd.DataFrame(
        {
            "region": pd.Series(np.repeat(names[keep], len(quarters)), dtype="string"),
            "period": pd.Series(np.tile(quarters.astype(str).to_numpy(), len(keep)),
                                dtype="string"),
            "amount": amount.ravel(),
        }
    )
