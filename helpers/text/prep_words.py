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
    # notes of the cleaning (helpers/data/clean.py)
    (r"^(?P<source>.+?): (?P<col>\w+): no format configured; inferred (?P<fmt>.+) "
     r"\((?P<n>\d+) of (?P<m>\d+) values parse\)$", "date_inferred"),
    (r"^(?P<source>.+?): (?P<col>\w+): (?P<n>\d+) id\(s\) held invisible characters .* "
     r"that were removed \(line\(s\) (?P<lines>.+?)(?: \.\.\.)?\)$", "invisible_ids"),
    (r"^(?P<source>.+?): (?P<col>\w+): (?P<n>\d+) id\(s\) look like numbers Excel wrote in "
     r"scientific notation \((?P<k>\d+) distinct, e\.g\. (?P<example>.+?)\): .*re-export the "
     r"column formatted as text$", "scientific_ids"),
    (r"^(?P<source>.+?): (?P<col>\w+): (?P<n>\d+) value\(s\) not in (?:formats? )?"
     r"(?P<formats>.+?) were left empty \(e\.g\. (?P<example>.+)\)$", "dates_unparsed"),
    (r"^(?P<source>.+?): (?P<col>\w+): (?P<n>\d+) value\(s\) before (?P<year>\d+) "
     r"\(prep\.earliest_year\) were left empty \(e\.g\. (?P<example>.+?)\); 1899-12-30 and "
     r"1900-01-00 are what Excel shows for an empty date cell$", "dates_early_excel"),
    (r"^(?P<source>.+?): (?P<col>\w+): (?P<n>\d+) value\(s\) before (?P<year>\d+) "
     r"\(prep\.earliest_year\) were left empty \(e\.g\. (?P<example>.+)\)$", "dates_early"),
    (r"^(?P<source>.+?): (?P<col>\w+): (?P<n>\d+) value\(s\) in the future were left empty "
     r"\(e\.g\. (?P<example>.+)\)$", "dates_future"),
    (r"^(?P<table>\w+)\.(?P<col>\w+): (?P<n>\d+) value\(s\) are not numbers and were left "
     r"empty \(e\.g\. (?P<example>.+)\)$", "numbers_bad"),
    (r"^(?P<table>\w+)\.(?P<col>\w+): (?P<n>\d+) value\(s\) are not finite numbers and were "
     r"left empty \(e\.g\. (?P<example>.+)\)$", "numbers_infinite"),
    (r"^(?P<table>\w+)\.(?P<col>\w+): (?P<n>\d+) value\(s\) have a fraction and were rounded "
     r"to whole numbers, as \w+ holds whole numbers \(e\.g\. (?P<example>.+) -> "
     r"(?P<rounded>.+)\)$", "numbers_fraction"),
    # reading files (helpers/data/csv_files.py, read.py) and joins (mapping.py)
    (r"^(?P<file>.+): (?P<n>\d+) line\(s\) are not valid (?P<encoding>.+) \(another encoding "
     r"mixed in\) and were set aside: line\(s\) (?P<lines>.+)$", "lines_bad_encoding"),
    (r"^(?P<file>.+): invisible characters \(.*\) removed from column name\(s\) "
     r"(?P<names>.+)$", "invisible_headers"),
    (r"^join (?P<file>.+) of source '(?P<source>.+)': (?P<n>\d+) line\(s\) not joined "
     r"\((?P<reason>.+)\): line\(s\) (?P<lines>.+)$", "join_lines"),
    # locating customers (helpers/data/locate.py)
    (r"^customers: (?P<n>\d+) customer\(s\) without a location took the (?P<rule>.+) ship-to "
     r"of their orders$", "ship_to"),
    (r"^customers: (?P<n>\d+) lat/lon pair\(s\) were swapped and turned round$", "swapped"),
    (r"^customers: (?P<n>\d+) coordinate pair\(s\) converted from (?P<system>.+) to WGS-84$",
     "converted"),
    (r"^customers: (?P<n>\d+) coordinate\(s\) out of range .* were ignored$", "out_of_range"),
    (r"^customers: (?P<n>\d+) coordinate\(s\) outside (?P<country>.+) were ignored "
     r"\(the centroid .*\)$", "outside_country"),
    (r"^customers: (?P<n>\d+) city name\(s\) found among the towns of 1,000 people or more "
     r"\(geonames\): .*; (?P<m>\d+) not found there sit at their state's centre$", "towns"),
))

#: Words inside notes (the rule of the ship-to, the date formats) in Chinese.
_INNER = {"most frequent": "最常用的", "first": "最早的", "last": "最近的",
          "inferred": "自动识别"}


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
            for name in ("rule", "formats", "reason"):
                if name in values:
                    values[name] = prep_text(values[name], lang) if name == "reason" \
                        else _INNER.get(values[name], values[name])
            return text("prep_note", key, lang, **values)
    return value
