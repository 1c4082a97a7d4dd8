"""Who reads the generated prose: the language, the currency and what the report compares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from helpers.config import Partners
from helpers.text.format import currency_name
from helpers.text.lookup import term

__all__ = ["Audience"]


@dataclass(frozen=True)
class Audience:
    """The facts of a report that its sentences need besides the tables.

    Attributes
    ----------
    lang : {"en", "zh"}
    currency : str
        ``project.currency`` of ``workbook.yaml`` (CNY, BRL ...).
    regions : str
        The compared regions as a plural noun of the catalog section ``noun``
        (``provinces``, ``cities``, ``states``).
    partner_points : mapping
        The A and B thresholds of the partner score (``partners.tiers``; default: the
        config's default).
    """

    lang: str = "en"
    currency: str = "CNY"
    regions: str = "provinces"
    partner_points: Mapping[str, float] = field(default_factory=lambda: dict(Partners().tiers))

    @property
    def unit(self) -> str:
        """The compared regions in the report's language (provinces / 省份)."""
        return term("noun", self.regions, self.lang)

    @property
    def money(self) -> str:
        """The currency as the sentences name it (CNY / 元)."""
        return currency_name(self.currency, self.lang)

    def for_files(self) -> Audience:
        """The same audience in English: the sentences the saved CSV/JSON files hold."""
        return replace(self, lang="en")
