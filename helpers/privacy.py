"""Masking personal data before a table reaches a shared HTML report."""

from __future__ import annotations

import pandas as pd

PII_COLUMNS = ("name", "contact", "phone", "email", "address")


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


def mask_pii(frame: pd.DataFrame, columns=PII_COLUMNS, *, enabled: bool = True) -> pd.DataFrame:
    """Return a copy with personal data masked (``甲乙公司`` -> ``甲***``, phones to last 4 digits).

    Parameters
    ----------
    frame : DataFrame
    columns : sequence of str
        Columns holding personal data; those absent are ignored.
    enabled : bool
        False returns an unmasked copy (for runs told not to mask).
    """
    out = frame.copy()
    if enabled:
        for col in [c for c in columns if c in out]:
            out[col] = out[col].map(_mask_text).astype(out[col].dtype)
    return out
