"""A source in ``workbook.yaml``: its files, how to read them, and how its columns map.

Each table (customers, orders, reps, spend) has one or more sources; a
:class:`Source` names its file (one name, a glob pattern or a list), the encoding,
delimiter, sheet and header row, the canonical columns it maps (a source column,
or a :class:`Derived` constant, template or expression), date formats, row
filters, joins with other files, returns, and what to do with zero or negative
amounts. :mod:`helpers.config` checks the mapping against :data:`KNOWN_COLUMNS`
and :data:`REQUIRED_COLUMNS`; step 2 (:mod:`helpers.data.mapping`) applies it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Canonical columns each table must map (the rest are optional).
REQUIRED_COLUMNS = {
    "customers": ["customer_id"],
    "orders": ["order_id", "customer_id", "order_date", "amount"],
    "reps": ["sales_rep_id"],
    "spend": ["region", "period", "amount"],
}
KNOWN_COLUMNS = {
    "customers": [
        "customer_id", "name", "contact", "phone", "email", "address", "country", "province",
        "city", "district", "lat", "lon", "signup_date", "sales_rep_id", "channel", "industry",
        "company_size", "business_model", "headcount", "sales_staff", "tech_staff",
        "registered_capital", "years_active", "main_product_tier", "product_tier_count",
        "payment_behaviour", "typical_order_value", "age_band", "gender", "city_tier",
    ],
    "orders": [
        "order_id", "customer_id", "order_date", "amount", "quantity", "product_category",
        "product_code", "status", "country", "province", "city", "district", "address", "lat",
        "lon", "discount", "list_price",
    ],
    "reps": ["sales_rep_id", "name", "region"],
    "spend": ["region", "period", "amount"],
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Derived(_Strict):
    """A canonical column that is not one source column.

    Exactly one of ``const`` (the same value on every row), ``template`` (text
    built from source columns: ``"{订单 ID}|{客户 ID}"``) or ``expr`` (arithmetic
    on numeric source columns, names in backticks: ``"`price` + `freight`"``).
    """

    const: str | float | int | None = None
    template: str | None = None
    expr: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self):
        given = [k for k in ("const", "template", "expr") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of const, template or expr")
        return self


class RowFilter(_Strict):
    """Keep only rows whose ``column`` is in ``in`` / not in ``not_in``; the rest are set aside.

    ``column`` is a canonical column of the source or a column of the file.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    column: str = Field(min_length=1)
    in_: list[str] | None = Field(None, alias="in")
    not_in: list[str] | None = None
    reason: str | None = None

    @model_validator(mode="after")
    def _one_list(self):
        if (self.in_ is None) == (self.not_in is None):
            raise ValueError("give exactly one of 'in' or 'not_in'")
        return self


class Join(_Strict):
    """Columns brought from another file by key (a left join: no row is lost or repeated).

    ``left_on`` names the key column(s) in the source, ``right_on`` in the joined
    file (default: the same names). (Not ``on``: YAML reads a bare ``on`` as true.) When a key repeats in the joined file, ``aggregate``
    says how to combine each column (sum, first, last, min, max, mean, count);
    without it a repeated key is an error.
    """

    file: str = Field(min_length=1)
    sheet: str | None = None
    encoding: str = "auto"
    delimiter: str | None = None
    header_row: int | Literal["auto"] = "auto"
    left_on: str | list[str]
    right_on: str | list[str] | None = None
    columns: list[str] | dict[str, str] | None = None
    aggregate: dict[str, Literal["sum", "first", "last", "min", "max", "mean", "count"]] = {}

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str) -> str:
        return _codec(value)

    @property
    def left_keys(self) -> list[str]:
        return [self.left_on] if isinstance(self.left_on, str) else list(self.left_on)

    @property
    def right_keys(self) -> list[str]:
        right = self.left_on if self.right_on is None else self.right_on
        return [right] if isinstance(right, str) else list(right)


class Returns(_Strict):
    """Which rows are returns and what to do with them.

    ``exclude``: the rows are set aside (counted in the ledger), e.g. sale lines of
    orders that were returned later. ``net``: the rows are return transactions and
    are kept with a negative amount, so sums are net of returns.
    """

    column: str = Field(min_length=1)
    values: list[str] = Field(min_length=1)
    action: Literal["exclude", "net"] = "net"


def _codec(value: str) -> str:
    """An encoding Python knows (or ``auto``), as given."""
    import codecs

    if value.lower() != "auto":
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}; expected auto or a name such as "
                             "utf-8, gb18030, gbk, utf-16") from None
    return value


def _date_formats(value: str | list[str]) -> str | list[str]:
    """A strptime format (``%Y-%m-%d``), ``excel``, or a list of them tried in order."""
    formats = [value] if isinstance(value, str) else value
    if not formats:
        raise ValueError("give at least one date format")
    for fmt in formats:
        if fmt != "excel" and "%" not in fmt:
            raise ValueError(f"{fmt!r} is not a date format; expected a format such as "
                             "'%Y-%m-%d', 'excel' (Excel day numbers and date cells) or a list")
    return value


class Source(_Strict):
    """One export feeding a table: its file(s), how to read them and its column mapping."""

    name: str = Field(min_length=1)
    # One file, a glob pattern (exports_*.csv) or a list; files of one source share a layout.
    file: str | list[str]
    encoding: str = "auto"          # auto: UTF-8 (with or without BOM) or GB18030/GBK, detected
    delimiter: str | None = None    # CSV only; None: detected
    sheet: str | None = None
    header_row: int | Literal["auto"] = "auto"  # 1-based row of the header; auto: found
    columns: dict[str, str | Derived]
    # Per date column: a strptime format, ``excel``, or a list tried in order; else inferred.
    dates: dict[str, str | list[str]] = {}
    keep_status: list[str] | None = None
    filters: list[RowFilter] = []
    joins: list[Join] = []
    returns: Returns | None = None
    zero_amount: Literal["quarantine", "keep"] = "quarantine"
    negative_amount: Literal["quarantine", "keep"] = "quarantine"

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str) -> str:
        return _codec(value)

    @field_validator("dates")
    @classmethod
    def _dates(cls, value: dict) -> dict:
        return {col: _date_formats(fmt) for col, fmt in value.items()}

    @property
    def files(self) -> list[str]:
        """The configured file entries as a list (names or glob patterns)."""
        return [self.file] if isinstance(self.file, str) else list(self.file)

    @property
    def file_label(self) -> str:
        """The file entries for messages: ``a.csv, b.csv``."""
        return ", ".join(self.files)
