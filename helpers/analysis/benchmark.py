"""The whole market as the benchmark a territory's provinces are judged against.

A territory report compares its provinces with each other, but judges each one
against the whole market, so that a province reads the same in every report:
its share of the market's revenue decides its tier, the expected-customers
model is fitted on all provinces (not on the territory's few) and the hot-spot
statistics see every neighbour, also across the territory's border.

:class:`Benchmark` holds the whole market's province KPIs, computed once
(``Context.benchmark``), and is passed explicitly to what uses it:
:func:`helpers.analysis.kpis.region_kpis` (``market_share`` and the gap
columns), :func:`helpers.analysis.hotspots.hotspots`,
:func:`helpers.analysis.gaps.gap_model` and
:func:`helpers.analysis.tiers.region_tiers`. Without a benchmark (the
national report, a province's cities) each of them judges the rows it is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

__all__ = ["Benchmark"]


@dataclass(frozen=True, eq=False)
class Benchmark:
    """The whole market's province KPIs.

    Attributes
    ----------
    kpis : DataFrame
        :func:`helpers.analysis.kpis.region_kpis` of every customer at province
        level with every province of the market (blank ones included), with the
        population-and-GDP reference when the country has one.
    """

    kpis: pd.DataFrame

    def __post_init__(self) -> None:
        if "region" not in self.kpis.columns or not self.kpis["region"].is_unique:
            raise ValueError("a benchmark needs province KPIs with one row per region")

    def share(self, regions: pd.Series) -> pd.Series:
        """Each region's share of the whole market's revenue (NaN outside the market)."""
        return regions.map(self.kpis.set_index("region")["share"]).astype(float)

    def columns(self, regions: pd.Series, names: Sequence[str]) -> pd.DataFrame:
        """The market's values of ``names`` for ``regions``, indexed like ``regions``."""
        market = self.kpis.set_index("region")[list(names)]
        return market.reindex(regions.to_numpy()).set_index(regions.index)
