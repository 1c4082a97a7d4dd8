"""Masking personal data before a table reaches a shared HTML report.

Two kinds of column hold personal data:

- columns that *are* personal data (``name``, ``contact``, ``phone``, ``email``,
  ``address``; the raw value of a place-name column, which may be a person's name
  and phone typed into the city field): each value is masked as a whole by
  :func:`mask_pii` (``甲乙公司`` -> ``甲***``, phones to their last four digits);
- free text that may *contain* personal data (step 2's notes, quarantine reasons,
  error messages quoting a value): :func:`mask_contacts` masks the e-mail addresses
  and phone numbers inside it and leaves the other words readable.
"""

from __future__ import annotations

import re

import pandas as pd

PII_COLUMNS = ("name", "contact", "phone", "email", "address")

_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
# A phone number: 7 or more digits in a row, or digit groups separated by single
# spaces or dashes with 7 or more digits in all (138-1234-5678, 020 8888 1234,
# +86 138 1234 5678). Dates and times (2025-12-31 08:30:00) are matched first and kept.
_PHONE_OR_DATE = re.compile(
    r"(?P<date>\d{4}[./\-]\d{1,2}[./\-]\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?)"
    r"|(?P<phone>\+?\d(?:[ \-]?\d){6,})")


def _mask_text(value: object, keep: int = 1) -> object:
    if pd.isna(value):
        return value
    text = str(value)
    if "@" in text:  # e-mail: keep the first letter and the domain
        user, _, domain = text.partition("@")
        return f"{user[:1]}***@{domain}"
    digits = sum(ch.isdigit() for ch in text)
    if digits >= 7:  # phone: keep the last four digits
        return "***" + "".join(ch for ch in text if ch.isdigit())[-4:]
    return text[:keep] + "*" * max(len(text) - keep, 2)


def _mask_phone(match: re.Match) -> str:
    if match.group("date"):
        return match.group(0)
    return "***" + "".join(ch for ch in match.group(0) if ch.isdigit())[-4:]


def mask_contacts(text: object) -> object:
    """``text`` with the e-mail addresses and phone numbers in it masked.

    ``"call 张三 13812345678 or zs@example.com"`` -> ``"call 张三 ***5678 or z***@example.com"``.
    Other words stay readable (a personal name in free text cannot be told from a
    place or a company; columns that may hold one are masked whole by
    :func:`mask_pii`). Missing values and non-text are returned unchanged.
    """
    if not isinstance(text, str):
        return text
    masked = _EMAIL.sub(lambda m: m.group(0)[:1] + "***@" + m.group(0).partition("@")[2], text)
    return _PHONE_OR_DATE.sub(_mask_phone, masked)


def mask_pii(frame: pd.DataFrame, columns=PII_COLUMNS, *, enabled: bool = True,
             free_text=()) -> pd.DataFrame:
    """Return a copy with personal data masked (``甲乙公司`` -> ``甲***``, phones to last 4 digits).

    Parameters
    ----------
    frame : DataFrame
    columns : sequence of str
        Columns holding personal data, masked value by value; those absent are ignored.
    enabled : bool
        False returns an unmasked copy (for runs told not to mask).
    free_text : sequence of str
        Columns of free text (notes, reasons) whose e-mail addresses and phone
        numbers are masked in place (:func:`mask_contacts`); those absent are ignored.
    """
    out = frame.copy()
    if enabled:
        for col in [c for c in columns if c in out]:
            out[col] = out[col].map(_mask_text).astype(out[col].dtype)
        for col in [c for c in free_text if c in out and c not in columns]:
            out[col] = out[col].map(mask_contacts).astype(out[col].dtype)
    return out
