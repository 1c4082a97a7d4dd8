"""Step 2's notes and ledger reasons in the report's language.

The data layer writes its notes and the ledger's reasons in English (the files keep
them so); a Chinese report shows each one that matches a known pattern with the
catalog's words (section ``prep_note``), and the rest as written.

    prep_text("orders.csv: encoding detected as gbk", "zh")  # 'orders.csv：自动识别编码为 gbk'
"""

from __future__ import annotations

import re

from helpers.text.lookup import label, lang_code, text

__all__ = ["prep_text", "PATTERNS"]

#: (pattern of the English text, catalog key in ``prep_note``); named groups fill the
#: template, a group called ``col`` is a column name shown by its label.
PATTERNS: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(p), key) for p, key in (
    (r"^(?P<file>.+): encoding detected as (?P<encoding>\S+)$", "encoding"),
    (r"^(?P<file>.+): delimiter detected as (?P<delimiter>.+)$", "delimiter"),
    (r"^(?P<file>.+): header found on (?:line|row) (?P<line>\d+); (?P<n>\d+) (?:line|row)"
     r"\(s\) above it skipped$", "header"),
    (r"^customers: (?P<n>\d+) group\(s\) of different ids look like one customer .*"
     r"not merged .*$", "duplicates_flagged"),
    (r"^exact duplicate row$", "exact_duplicate"),
    (r"^same customer_id as an earlier row \(values combined\)$", "same_id"),
    (r"^unknown customer_id$", "unknown_customer"),
    (r"^(?P<col>\w+) is empty$", "empty"),
    (r"^(?P<col>\w+) is not a number$", "not_number"),
    (r"^(?P<col>\w+) is not a finite number$", "not_finite"),
    (r"^(?P<col>\w+) in the future$", "future"),
    (r"^status (?P<status>.+) not in keep_status$", "status"),
    (r"^amount is zero$", "amount_zero"),
    (r"^amount is negative \(not a return\)$", "amount_negative"),
    (r"^return excluded \(returns\.action: exclude\)$", "return_excluded"),
))


def prep_text(value, lang: str = "en"):
    """``value`` (a note or reason of step 2) in ``lang``; text no pattern knows, and
    anything that is not text, as it is."""
    if not isinstance(value, str) or lang_code(lang) == "en":
        return value
    for pattern, key in PATTERNS:
        found = pattern.match(value.strip())
        if found:
            values = found.groupdict()
            if "col" in values:
                values["col"] = label(values["col"], lang)
            if "status" in values:
                values["status"] = values["status"].strip("'\"")
            return text("prep_note", key, lang, **values)
    return value
