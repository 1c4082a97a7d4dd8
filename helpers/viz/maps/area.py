"""What a report's maps show: the country, a city map's province, the base map.

:class:`MapArea` is decided once from the report's scope and the config
(:meth:`MapArea.of`); the map functions take it and decide from it which outlines to
fill, which borders to draw for orientation and which tiles to lay beneath.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from helpers.geo import boundaries

if TYPE_CHECKING:
    from helpers.config import Config
    from helpers.geo.scope import Scope

_NO_OUTLINES = ("region", "region_code", "level", "geometry")


@dataclass(frozen=True)
class MapArea:
    """The part of the world a report's maps show, and the base map under it.

    Parameters
    ----------
    country : str, default "CN"
        ``geography.country`` (ISO 3166 code): whose outlines the maps use.
    province : str, optional
        The province of a province report: its maps show its cities. None: the
        maps show provinces (states).
    tiles : str or None, default "osm"
        The base map, ``report.tiles``: ``"osm"`` (OpenStreetMap), ``"amap"`` (AMap,
        drawn in GCJ-02: geometry is shifted to match) or ``None`` / ``"none"`` (no
        tiles: nothing is fetched from the network).
    city : str, optional
        The city of a city report: the maps show its province's cities around it, the
        others outside the report (no data, not "no customers").
    """

    country: str = "CN"
    province: str | None = None
    tiles: str | None = "osm"
    city: str | None = None

    @classmethod
    def of(cls, scope: Scope, config: Config) -> MapArea:
        """The maps of a report on ``scope`` under ``config``.

        A province report maps the province's cities, a city report its city among
        them; the whole market and a territory map provinces. The tiles are
        ``report.tiles``.
        """
        if scope.kind == "city":
            return cls(config.geography.country, scope.provinces[0], config.report.tiles,
                       scope.name)
        province = scope.name if scope.kind == "province" else None
        return cls(config.geography.country, province, config.report.tiles)

    @property
    def level(self) -> str:
        """The level of the regions the area is divided into: ``city`` or ``province``."""
        return "city" if self.province else "province"

    def outlines(self, level: str | None = None) -> pd.DataFrame:
        """The outlines a filled map of ``level`` uses (empty where none are available).

        Parameters
        ----------
        level : str, optional
            ``province`` or ``city`` (:func:`helpers.geo.boundaries.region_outlines`:
            Chinese outlines; cities limited to :attr:`province` when it is set),
            ``country`` (:func:`helpers.geo.boundaries.world_countries`); any other
            level (territories) has none. Default: :attr:`level`.

        Returns
        -------
        DataFrame
            ``region``, ``region_code``, ``level``, ``geometry`` (WGS-84); other
            countries' states have no outlines, so their regions are drawn as circles.
        """
        level = level or self.level
        if level in ("province", "city"):
            return boundaries.region_outlines(
                self.country, level, province=self.province if level == "city" else None)
        if level == "country":
            return boundaries.world_countries()
        return pd.DataFrame(columns=list(_NO_OUTLINES))

    def borders(self) -> pd.DataFrame:
        """Borders drawn for orientation: the outlines of :attr:`level`, else the country's."""
        outlines = self.outlines()
        if len(outlines):
            return outlines
        if self.country == "WORLD":  # a country of a world market: its own outline
            from helpers.geo.world import countries

            code = countries().set_index("province")["province_code"].get(self.province)
            return boundaries.country_outline(code) if code else boundaries.world_countries()
        return boundaries.country_outline(self.country)


#: The map functions' default area: China's provinces on OpenStreetMap tiles.
CHINA = MapArea()
