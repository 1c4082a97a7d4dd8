"""pandera schemas of the canonical tables (see docs/architecture.md).

Step 2 validates its output against these in lazy mode, so one run lists every
problem; later steps may rely on them.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from helpers.config import MessageError

# Finest level a customer's lat/lon stands for: own coordinates, or a region's centroid.
GEO_PRECISION = ["point", "district", "city", "province", "country", "none"]

_text = dict(dtype="string", nullable=True, required=False)
_int = dict(dtype="Int64", nullable=True, required=False)
_float = dict(dtype="float64", nullable=True, required=False)

CUSTOMERS = pa.DataFrameSchema(
    {
        "customer_id": pa.Column("string", unique=True, nullable=False),
        **{c: pa.Column(**_text) for c in (
            "name", "contact", "phone", "email", "address", "country", "province",
            "province_code", "province_en", "territory", "city", "city_code", "district",
            "district_code", "geo_flag", "sales_rep_id",
            "channel", "industry", "company_size", "business_model", "main_product_tier",
            "payment_behaviour", "source", "age_band", "gender", "city_tier",
        )},
        "lat": pa.Column("float64", pa.Check.in_range(-90, 90), nullable=True),
        "lon": pa.Column("float64", pa.Check.in_range(-180, 180), nullable=True),
        "geo_precision": pa.Column(
            "string", pa.Check.isin(GEO_PRECISION), nullable=False
        ),
        "signup_date": pa.Column("datetime64[ns]", nullable=True, required=False),
        **{c: pa.Column(**_int) for c in (
            "headcount", "sales_staff", "tech_staff", "product_tier_count")},
        **{c: pa.Column(**_float) for c in (
            "registered_capital", "years_active", "typical_order_value")},
    },
    name="customers",
    strict=False,
)

ORDERS = pa.DataFrameSchema(
    {
        "order_id": pa.Column("string", nullable=False),
        "customer_id": pa.Column("string", nullable=False),
        "order_date": pa.Column("datetime64[ns]", nullable=False),
        "amount": pa.Column("float64", nullable=False),
        "quantity": pa.Column(**_int),
        # discount: a fraction of the list value (or percent); list_price: per unit
        "discount": pa.Column(**_float),
        "list_price": pa.Column(**_float),
        **{c: pa.Column(**_text) for c in ("product_category", "product_code", "status",
                                            "province", "territory")},
    },
    name="orders",
    strict=False,
)

REPS = pa.DataFrameSchema(
    {
        "sales_rep_id": pa.Column("string", unique=True, nullable=False),
        "name": pa.Column(**_text),
        "region": pa.Column(**_text),
    },
    name="reps",
    strict=False,
)

SPEND = pa.DataFrameSchema(
    {
        "province": pa.Column("string", nullable=False),
        "period": pa.Column("string", pa.Check.str_matches(r"^\d{4}Q[1-4]$"), nullable=False),
        "amount": pa.Column("float64", pa.Check.ge(0), nullable=False),
    },
    name="spend",
    strict=False,
)

SCHEMAS = {"customers": CUSTOMERS, "orders": ORDERS, "reps": REPS, "spend": SPEND}


class ValidationFailed(MessageError):
    """A canonical table that breaks its schema; the message lists every problem."""


def validate(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Validate ``frame`` against the schema of table ``name`` (lazy: all problems at once).

    Raises
    ------
    ValidationFailed
        Listing column, failed check, number of failing values and up to three examples.
    """
    try:
        return SCHEMAS[name].validate(frame, lazy=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
        lines = [f"table '{name}': {len(cases)} problem value(s) against the schema:"]
        grouped = cases.groupby(["column", "check"], dropna=False, sort=False)
        for (column, check), group in grouped:
            examples = ", ".join(repr(v) for v in group["failure_case"].head(3))
            rows = [int(i) for i in group["index"].dropna().head(3)] if "index" in group else []
            at = f" at row(s) {rows}" if rows else ""
            lines.append(f"  - column {column!r}: {check}: {len(group)} value(s), e.g. "
                         f"{examples}{at}")
        raise ValidationFailed("\n".join(lines)) from None
