"""The analysis period: a half-open window of calendar days.

A period is ``(start, end]`` on calendar days: an order dated on ``end``
belongs to it, one dated on ``start`` belongs to the period before. Dates are
compared by their day, so an order at 15:30 on the last day is inside and one
at 09:00 on ``start`` is outside. Consecutive periods never share a day: the
previous period of ``(start, end]`` is ``(start - months, start]``.

Every step takes its windows from one :class:`Period` (``Context.period``):
the current and previous period, the same window a year earlier, the as-of
day of customer measures (the day after the end) and the text that names the
period in a report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

__all__ = ["Period", "check_end_day", "order_days", "MIN_COVERAGE"]

#: The share of a comparison window's days the data must cover before a change against
#: it (growth) is measured (``analysis.min_baseline_coverage`` in ``workbook.yaml``).
MIN_COVERAGE = 0.8


def check_end_day(value: str) -> None:
    """Check a ``period_end`` given by a user (notebook parameter, ``--period-end``).

    Parameters
    ----------
    value : str
        ``""`` (the period ends on the last order's day) or an ISO date
        ``YYYY-MM-DD``. Other spellings (``31/12/2025``, ``12/31/2025``) are
        refused: their day and month can be read either way.

    Raises
    ------
    ValueError
        Saying what was given and what is expected.
    """
    if not value:
        return
    try:
        date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"must be a date like 2025-12-31, got {value!r}") from None


def order_days(dates) -> pd.Series:
    """The distinct days of ``dates`` (order dates; NaT left out), in order: all that
    :meth:`Period.ending` and :meth:`Period.coverage` read from the orders, a few thousand
    values however many order lines (the DuckDB twin: :func:`helpers.analysis.engine.order_days`)."""
    days = pd.to_datetime(pd.Series(dates)).dropna().dt.normalize()
    return pd.Series(days.drop_duplicates().sort_values().to_numpy(), name="order_date")


def _day(value: object, what: str) -> pd.Timestamp:
    day = pd.Timestamp(value)
    if day is pd.NaT:
        raise ValueError(f"{what} must be a date, got {value!r}")
    return day.normalize()


@dataclass(frozen=True)
class Period:
    """The window ``(start, end]`` of calendar days.

    Build it with :meth:`ending` (a number of months up to a last day) or
    :meth:`between` (a first and a last day).

    Attributes
    ----------
    start : Timestamp
        The day before the first day (excluded; normalised to midnight).
    end : Timestamp
        The last day (included; normalised to midnight).
    months : int or None
        Length in calendar months when built by :meth:`ending`; the
        previous period has the same length.

    Examples
    --------
    >>> p = Period.ending("2024-12-31", months=12)
    >>> p.label()
    '2024-01-01 – 2024-12-31'
    >>> p.previous.label()
    '2023-01-01 – 2023-12-31'
    >>> p.as_of
    Timestamp('2025-01-01 00:00:00')
    """

    start: pd.Timestamp
    end: pd.Timestamp
    months: int | None = None

    def __post_init__(self) -> None:
        start, end = _day(self.start, "start"), _day(self.end, "end")
        if not start < end:
            raise ValueError(f"a period needs start < end, got {start:%Y-%m-%d} and "
                             f"{end:%Y-%m-%d}")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    @classmethod
    def ending(cls, end: object = None, months: int = 12, *,
               dates: pd.Series | None = None) -> Period:
        """The ``months`` calendar months up to and including the day ``end``.

        Parameters
        ----------
        end : date-like, optional
            The last day. ``None`` or an empty string (notebook parameters use
            ``""``): the last day in ``dates``.
        months : int
            Length in calendar months (``start = end - months``, with pandas'
            month-end arithmetic: 2024-05-31 minus 3 months is 2024-02-29).
        dates : Series, optional
            Order dates, for the default ``end``.

        Raises
        ------
        ValueError
            When ``months < 1``, or ``end`` is missing and ``dates`` has none.
        """
        if months < 1:
            raise ValueError(f"months must be at least 1, got {months}")
        if end is None or (isinstance(end, str) and not end.strip()):
            known = pd.Series(dtype="datetime64[ns]") if dates is None else (
                pd.to_datetime(pd.Series(dates)).dropna())
            if known.empty:
                raise ValueError("no order dates to derive period_end from; pass period_end")
            end = known.max()
        last = _day(end, "period_end")
        return cls(last - pd.DateOffset(months=months), last, months)

    @classmethod
    def between(cls, first_day: object, last_day: object) -> Period:
        """The period from ``first_day`` to ``last_day``, both included."""
        return cls(_day(first_day, "first_day") - pd.Timedelta(days=1),
                   _day(last_day, "last_day"))

    @property
    def first_day(self) -> pd.Timestamp:
        """The first day inside the period (the day after ``start``)."""
        return self.start + pd.Timedelta(days=1)

    @property
    def as_of(self) -> pd.Timestamp:
        """The day after the end: customer measures (recency, lifecycle, value) are
        taken on this day, from the orders before it."""
        return self.end + pd.Timedelta(days=1)

    @property
    def previous(self) -> Period:
        """The period of the same length just before this one (it ends on ``start``).

        Raises
        ------
        ValueError
            For a period built by :meth:`between` (its length in months is unknown).
        """
        if self.months is None:
            raise ValueError("the previous period needs a length in months "
                             "(build the period with Period.ending)")
        return Period(self.start - pd.DateOffset(months=self.months), self.start, self.months)

    def years_earlier(self, years: int = 1) -> Period:
        """The same window ``years`` calendar years earlier (both ends moved)."""
        offset = pd.DateOffset(years=years)
        return Period(self.start - offset, self.end - offset, self.months)

    def contains(self, dates) -> pd.Series | np.ndarray:
        """Which ``dates`` fall in the period, compared by their day.

        Parameters
        ----------
        dates : Series, Index or array of date-likes
            NaT (or a missing value) is outside.

        Returns
        -------
        Series of bool (indexed like ``dates``) for a Series; else a numpy bool array.
        """
        if isinstance(dates, pd.Series):
            days = pd.to_datetime(dates).dt.normalize()
            return ((days > self.start) & (days <= self.end)).fillna(False).astype(bool)
        days = pd.DatetimeIndex(pd.to_datetime(dates)).normalize()
        return np.asarray((days > self.start) & (days <= self.end), dtype=bool)

    @property
    def days(self) -> int:
        """The number of calendar days in the period."""
        return int((self.end - self.start).days)

    def coverage(self, dates, *, data_start: object = None, data_end: object = None,
                 min_coverage: float = MIN_COVERAGE) -> dict:
        """How much of the period the data cover: can a comparison against it be trusted?

        A period is covered on the days between the first and the last day of the data
        (an export that starts on 23 December covers 9 days of the calendar year before).
        Days without orders inside that span count as covered: quiet days are data too
        (a B2B export has orders on few days).

        Parameters
        ----------
        dates : Series or array of date-likes
            The order dates of the whole export (NaT ignored).
        data_start, data_end : date-like, optional
            The first and last day of the data; default: the first and last of ``dates``.
        min_coverage : float
            The share of the period's days that must be covered (0..1).

        Returns
        -------
        dict
            ``period`` (its label), ``days`` (in the period), ``days_covered``,
            ``coverage`` (``days_covered / days``), ``days_with_orders`` (distinct days
            of ``dates`` inside the period: the same from every line's date or from
            :func:`order_days`), ``min_coverage`` and ``enough`` (``coverage >=
            min_coverage``). Keys and numbers only.
        """
        if not 0 <= min_coverage <= 1:
            raise ValueError(f"min_coverage must be between 0 and 1, got {min_coverage}")
        days = pd.DatetimeIndex(pd.to_datetime(pd.Series(dates)).dropna()).normalize()
        first = _day(data_start, "data_start") if data_start is not None else (
            days.min() if len(days) else None)
        last = _day(data_end, "data_end") if data_end is not None else (
            days.max() if len(days) else None)
        covered = 0
        if first is not None and last is not None:
            lo, hi = max(first, self.first_day), min(last, self.end)
            covered = max(int((hi - lo).days) + 1, 0)
        inside = days[(days > self.start) & (days <= self.end)]
        share = covered / self.days
        return {"period": self.label(), "days": self.days, "days_covered": covered,
                "coverage": share, "days_with_orders": int(inside.nunique()),
                "min_coverage": float(min_coverage),
                "enough": bool(share >= min_coverage)}

    def label(self, lang: str = "en") -> str:
        """The period as a report names it: ``2025-01-01 – 2025-12-31``.

        The same in every language (dates and a dash, no words); ``lang`` is
        checked so that a caller cannot pass something else by mistake.
        """
        if lang not in ("en", "zh"):
            raise ValueError(f"lang must be 'en' or 'zh', got {lang!r}")
        return f"{self.first_day:%Y-%m-%d} – {self.end:%Y-%m-%d}"

    def __str__(self) -> str:
        return self.label()
