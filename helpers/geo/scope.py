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

ALL = "ALL"
# English names of the usual Chinese sales territories (others keep their own name).
TERRITORY_EN = {
    "华东": "East China", "华南": "South China", "华北": "North China",
    "华中": "Central China", "西南": "Southwest", "西北": "Northwest", "东北": "Northeast",
}


class RegionError(ValueError):
    """A region name that is neither ALL, a configured territory nor a province."""


def slugify(text: str) -> str:
    """Folder-safe lower-case name: ``East China`` -> ``east-china``, ``São Paulo`` ->
    ``sao-paulo``; CJK is kept."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", str(text))
                     if not unicodedata.combining(c))
    slug = re.sub(r"[^\w]+", "-", unicodedata.normalize("NFKC", folded).strip().lower()).strip("-")
    return slug or "region"


def territory_map(config: Config) -> pd.DataFrame:
    """Province -> territory from ``geography.territories`` (names resolved).

    Raises RegionError naming the config key when a listed province is unknown.
    """
    rows = []
    country = config.geography.country
    for territory, names in config.geography.territories.items():
        resolved = geo.resolve_provinces(pd.Series(names, dtype="string"), country)
        bad = [n for n, p in zip(names, resolved["province"], strict=True) if pd.isna(p)]
        if bad:
            raise RegionError(
                f"{config.config_path}: geography.territories.{territory}: unknown "
                f"province name(s) {bad}"
            )
        rows += [(p, territory) for p in resolved["province"]]
    table = pd.DataFrame(rows, columns=["province", "territory"])
    dup = table[table["province"].duplicated()]
    if not dup.empty:
        raise RegionError(
            f"{config.config_path}: geography.territories: province(s) "
            f"{sorted(dup['province'])} listed in more than one territory"
        )
    return table


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
        Official names of the provinces in scope (every mainland province for ALL).
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

            return cls(ALL, "all", tuple(mainland["province"]), label("whole_market", "en"),
                       label("whole_market", "zh"), "all")
        territories = territory_map(config)
        for name in config.geography.territories:
            english = TERRITORY_EN.get(name, name)
            if text in (name, english) or slugify(text) == slugify(english):
                members = territories.loc[territories["territory"] == name, "province"]
                return cls(name, "territory", tuple(members), english, name, slugify(english))
        resolved = geo.resolve_provinces(pd.Series([text], dtype="string"), country).iloc[0]
        if pd.isna(resolved["province"]):
            example = "广东省, 广东, 粤, Guangdong" if country == "CN" else ", ".join(
                mainland["province"].head(2).tolist() + mainland["province_short"].head(1).tolist())
            raise RegionError(
                f"unknown region {text!r}: expected ALL, a territory from "
                f"geography.territories ({', '.join(config.geography.territories)}) "
                f"or a province/state name of {country} ({example})"
            )
        province = str(resolved["province"])
        english = str(resolved["province_en"])
        return cls(province, "province", (province,), english, province, slugify(english))

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
        regions = list(territory_map(config)["province"]) or list(
            geo.mainland(config.geography.country)["province"]
        )
    else:
        regions = [r.strip() for r in which.split(",") if r.strip()]
    return [ALL] + [r for r in regions if r.upper() != ALL]
