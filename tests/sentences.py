"""The numbers of a sentence, to check that its English and Chinese versions tell the same
story: amounts of money are in each language's habit (``1.23 M`` / ``123万``, ``4.27亿``),
so they are compared as values, everything else digit for digit."""

from __future__ import annotations

import math
import re

NUMBER = re.compile(r"(?<!\d)[-+]?\d+(?:,\d{3})*(?:\.\d+)?%?")
MONEY = {"en": re.compile(r"((?<!\d)[-+]?)(\d+(?:[.,]\d+)*)\s([kMB])(?![A-Za-z])"),
         "zh": re.compile(r"((?<!\d)[-+]?)(\d+(?:[.,]\d+)*)(万|亿)")}
SCALE = {"k": 1e3, "M": 1e6, "B": 1e9, "万": 1e4, "亿": 1e8}


def amounts(text: str, lang: str) -> tuple[str, list[float]]:
    """``text`` without its scaled amounts of money, and those amounts, sorted."""
    found = [(-1 if sign == "-" else 1) * float(digits.replace(",", "")) * SCALE[unit]
             for sign, digits, unit in MONEY[lang].findall(text)]
    return MONEY[lang].sub(" ", text), sorted(found)


def numbers(text: str) -> list[str]:
    """The numbers of a sentence, sorted (the two languages may order them differently)."""
    return sorted(NUMBER.findall(text))


#: A markdown escape (``26\\.3 k``, ``8\\,122`` in the groups' descriptions): the character as read.
ESCAPED = re.compile(r"\\([^\w\s])")


def same_numbers(en: str, zh: str) -> None:
    """Assert the English and Chinese sentences carry the same numbers: amounts of money
    equal to the three significant digits both show, the rest digit for digit (markdown
    escapes read as the characters they show)."""
    rest_en, money_en = amounts(ESCAPED.sub(r"\1", en), "en")
    rest_zh, money_zh = amounts(ESCAPED.sub(r"\1", zh), "zh")
    assert numbers(rest_en) == numbers(rest_zh), (en, zh)
    assert len(money_en) == len(money_zh), (en, zh)
    for a, b in zip(money_en, money_zh, strict=True):
        assert math.isclose(a, b, rel_tol=0.006), (a, b, en, zh)
