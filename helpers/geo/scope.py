"""The region a report is about: the whole market, a territory or a province.

For a country other than China (``geography.country``) a "province" is its
first-level subdivision (a Brazilian or US state); territories are optional.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import pandas as pd

from helpers import geo
from helpers.config import Config
from helpers.geo.extent import extent_names
from helpers.geo.territories import RegionError, territory_en, territory_map

ALL = "ALL"


def slugify(text: str) -> str:
    """Folder-safe lower-case name: ``East China`` -> ``east-china``, ``São Paulo`` ->
    ``sao-paulo``; CJK is kept."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", str(text))
                     if not unicodedata.combining(c))
    slug = re.sub(r"[^\w]+", "-", unicodedata.normalize("NFKC", folded).strip().lower()).strip("-")
    return slug or "region"


@dataclass(frozen=True)
class Scope:
    """A region of the market and the provinces in it.

    Attributes
    ----------
    name : str
        ``ALL``, a territory name (华东) or an official province name (广东省).
    kind : str
        ``all``, ``territory`` or ``province``.
    provinces : tuple of str
        Official names of the provinces in scope (for ALL: every area of the market's
        extent, ``geography.extent``; China's 31 mainland provinces by default).
    label_en, label_zh : str
        Headings for English and Chinese reports.
    slug : str
        Folder name of the region in a run.
    """

    name: str
    kind: str
    provinces: tuple[str, ...]
    label_en: str
    label_zh: str
    slug: str

    @classmethod
    def parse(cls, region: str, config: Config) -> Scope:
        """Resolve ``region`` (any spelling of a province, a territory, or ALL)."""
        text = str(region or ALL).strip()
        country = config.geography.country
        mainland = geo.mainland(country)
        if text.upper() == ALL:
            # The words come from the text catalog, imported here: step 2 (which imports
            # this module, PREP_CODE) does not depend on them.
            from helpers.text.lookup import label

            return cls(ALL, "all", extent_names(config), label("whole_market", "en"),
                       label("whole_market", "zh"), "all")
        territories = territory_map(config)
        for name in config.geography.territories:
            english = territory_en(name)
            if text in (name, english) or slugify(text) == slugify(english):
                members = territories.loc[territories["territory"] == name, "province"]
                return cls(name, "territory", tuple(members), english, name, slugify(english))
        resolved = geo.resolve_provinces(pd.Series([text], dtype="string"), country).iloc[0]
        if pd.isna(resolved["province"]):
            example = ("广东省, 广东, 粤, Guangdong" if country == "CN"
                       else "Germany, DE, DEU, 德国" if country == geo.WORLD else ", ".join(
                           mainland["province"].head(2).tolist()
                           + mainland["province_short"].head(1).tolist()))
            raise RegionError(
                f"unknown region {text!r}: expected ALL, a territory from "
                f"geography.territories ({', '.join(config.geography.territories)}) "
                f"or a {'country' if country == geo.WORLD else 'province/state'} name of "
                f"{country} ({example}); nearest: "
                f"{', '.join(geo.nearest_names(text, country)) or 'none'}"
            )
        province = str(resolved["province"])
        english = str(resolved["province_en"])
        chinese = province
        if country == geo.WORLD:  # a country of a world market: its Chinese name
            chinese = str(mainland.set_index("province")["province_zh"].get(province, province))
        return cls(province, "province", (province,), english, chinese, slugify(english))

    @property
    def sublevel(self) -> str:
        """The level regions are compared at inside this scope."""
        return "city" if self.kind == "province" else "province"

    def label(self, lang: str = "en") -> str:
        return self.label_zh if lang == "zh" else self.label_en

    def filter(self, frame: pd.DataFrame, column: str = "province") -> pd.DataFrame:
        """Rows of ``frame`` whose ``column`` is a province in scope."""
        if self.kind == "all":
            return frame.copy()
        return frame[frame[column].isin(self.provinces)].copy()


def list_regions(config: Config, which: str = "territories") -> list[str]:
    """Regions of a batch: ``territories`` (default), ``provinces`` or comma-separated names.

    The whole market (ALL) always comes first.
    """
    if which == "territories":
        regions = list(config.geography.territories)
    elif which == "provinces":
        regions = list(territory_map(config)["province"]) or list(extent_names(config))
    else:
        regions = [r.strip() for r in which.split(",") if r.strip()]
    return [ALL] + [r for r in regions if r.upper() != ALL]
