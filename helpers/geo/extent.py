"""The market's extent: which first-level areas belong to it (``geography.extent``).

A country's default extent (:func:`default_extent`) is every first-level area except
those ISO 3166-1 also lists as a country of its own (:data:`OWN_COUNTRY_CODES`):

- US: the 50 states and DC; Puerto Rico, Guam, American Samoa, the Northern Mariana
  Islands, the Minor Outlying Islands and the US Virgin Islands are outside;
- China: the 31 mainland provinces; Hong Kong, Macao and Taiwan are outside;
- Brazil: its 27 units (26 states and the Federal District);
- France: the metropolitan regions, Corsica and Clipperton (the overseas departments
  and collectivities are outside); the Netherlands: its 12 provinces (Aruba, Curaçao,
  Sint Maarten and the Caribbean Netherlands are outside); Norway without Svalbard and
  Jan Mayen; Finland without Åland.

``geography.extent.include`` adds areas to the default and ``exclude`` removes some,
both in any spelling the country's resolver knows. Areas outside the extent keep their
customers (reported by :func:`helpers.analysis.extent.outside_extent`) but are never
tiered, never a gap and never get a recruitment action.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

__all__ = ["OWN_COUNTRY_CODES", "default_extent", "market_areas", "extent_names",
           "check_extent_names"]

#: First-level areas that ISO 3166-1 also codes as countries (ISO 3166-2's "also
#: included in ISO 3166-1" remarks), with that country code. Outside the default extent.
OWN_COUNTRY_CODES = {
    "US-AS": "AS", "US-GU": "GU", "US-MP": "MP", "US-PR": "PR", "US-UM": "UM", "US-VI": "VI",
    "CN-HK": "HK", "CN-MO": "MO", "CN-TW": "TW",
    "NL-AW": "AW", "NL-CW": "CW", "NL-SX": "SX", "NL-BQ1": "BQ", "NL-BQ2": "BQ",
    "NL-BQ3": "BQ",
    "FR-971": "GP", "FR-972": "MQ", "FR-973": "GF", "FR-974": "RE", "FR-976": "YT",
    "FR-BL": "BL", "FR-MF": "MF", "FR-NC": "NC", "FR-PF": "PF", "FR-PM": "PM",
    "FR-TF": "TF", "FR-WF": "WF",
    "NO-21": "SJ", "NO-22": "SJ", "FI-01": "AX",
}


def default_extent(country: str) -> pd.DataFrame:
    """Every first-level area of ``country`` with whether the default market holds it.

    Parameters
    ----------
    country : str
        ISO 3166-1 alpha-2 code (``geography.country``), or ``WORLD`` (every country
        is in the market).

    Returns
    -------
    DataFrame
        :func:`helpers.geo.provinces` (``province``, ``province_code``,
        ``province_en``, ...) with ``in_extent`` (bool). China's areas are coded
        by their 6-digit admin code; Hong Kong, Macao and Taiwan (territory
        港澳台) are outside.
    """
    from helpers import geo

    table = geo.provinces(country)
    if country == "CN":
        inside = table["territory"] != "港澳台"
    elif country == geo.WORLD:  # every country of the world
        inside = pd.Series(True, index=table.index)
    else:
        inside = ~table["province_code"].isin(list(OWN_COUNTRY_CODES))
    return table.assign(in_extent=inside.to_numpy(dtype=bool))


def _resolve(names: Sequence[str], country: str) -> pd.Series:
    from helpers import geo

    return geo.resolve_provinces(pd.Series(list(names), dtype="string"), country)["province"]


def check_extent_names(country: str, include: Sequence[str], exclude: Sequence[str]) -> None:
    """Raise ValueError naming ``geography.extent.include``/``exclude`` for unknown areas.

    The message lists, for each unknown name, the nearest known names of ``country``.
    """
    from helpers import geo

    for key, names in (("include", include), ("exclude", exclude)):
        resolved = _resolve(names, country)
        bad = [n for n, p in zip(names, resolved, strict=True) if pd.isna(p)]
        if bad:
            hints = "; ".join(
                f"{n!r}: did you mean {', '.join(geo.nearest_names(n, country)) or 'nothing close'}"
                for n in bad)
            raise ValueError(
                f"geography.extent.{key}: unknown first-level area(s) of {country}: {hints}. "
                f"Expected names or ISO 3166-2 codes of {country}'s states or provinces")


def market_areas(country: str, include: Sequence[str] = (),
                 exclude: Sequence[str] = ()) -> pd.DataFrame:
    """The first-level areas of ``country`` with ``in_extent`` after include/exclude.

    Parameters
    ----------
    country : str
        ISO 3166-1 alpha-2 code.
    include, exclude : sequence of str
        ``geography.extent.include`` and ``exclude`` (any spelling); an area in
        both is excluded.

    Returns
    -------
    DataFrame
        :func:`default_extent` with ``in_extent`` updated.
    """
    table = default_extent(country)
    added = set(_resolve(include, country).dropna()) if include else set()
    removed = set(_resolve(exclude, country).dropna()) if exclude else set()
    inside = (table["in_extent"] | table["province"].isin(added)) & ~table["province"].isin(
        removed)
    return table.assign(in_extent=inside.to_numpy(dtype=bool))


def extent_names(config) -> tuple[str, ...]:
    """Official names of the areas in the market of ``config`` (a :class:`helpers.config.Config`),
    in gazetteer order."""
    geography = config.geography
    table = market_areas(geography.country, geography.extent.include, geography.extent.exclude)
    return tuple(table.loc[table["in_extent"], "province"])
