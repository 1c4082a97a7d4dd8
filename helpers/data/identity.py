"""One row per customer: exact duplicate rows, one customer id in several rows or
sources, and different ids that look like one customer (same name and phone or city).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.config import Config
from helpers.data.ledger import Ledger


def exact_duplicates(raw: pd.DataFrame) -> pd.Series:
    """Rows identical in every column of the file (same file or another file of the source).

    Columns are taken from the most to the least varied (judged on the first rows);
    each narrows the rows that could still be duplicates (their codes mixed into one
    64-bit key), and the few left are compared in full, so the answer is exact while
    a unique column such as an order number settles most rows at once.
    """
    columns = [c for c in raw.columns if not c.startswith("_")]
    if not columns or raw.empty:
        return pd.Series(False, index=raw.index)
    sample = raw[columns].iloc[:20_000]
    columns = sorted(columns, key=lambda c: -sample[c].nunique(dropna=False))
    rows = np.arange(len(raw))
    key = np.zeros(len(raw), dtype="uint64")
    small = max(10_000, len(raw) // 200)
    for col in columns:
        values = raw[col] if len(rows) == len(raw) else raw[col].iloc[rows]
        codes, _ = pd.factorize(values, use_na_sentinel=True)
        with np.errstate(over="ignore"):
            key = key * np.uint64(1_000_003) ^ (codes.astype("int64") + 2).astype("uint64")
        keep = pd.Series(key).duplicated(keep=False).to_numpy()
        rows, key = rows[keep], key[keep]
        if len(rows) <= small:
            break
    dup = np.zeros(len(raw), dtype=bool)
    if len(rows):
        subset = raw[[c for c in raw.columns if not c.startswith("_")]].iloc[rows]
        dup[rows] = subset.duplicated(keep="first").to_numpy()
    return pd.Series(dup, index=raw.index)


def merge_customers(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per customer: rows sharing the key are merged, first non-empty value wins.

    Returns the merged customers and the rows that were merged into an earlier one.
    """
    repeated = frame.duplicated("customer_id", keep="first")
    grouped = frame.groupby("customer_id", sort=False)
    merged = grouped.first()  # first non-null value per column, in source order
    # The sources a customer came from, in config order: crm, crm+erp, erp.
    codes, uniques = pd.factorize(frame["customer_id"])
    order = pd.Index(uniques).get_indexer(merged.index)
    names = np.asarray(frame["_source"], dtype=object)
    source = np.full(len(uniques), "", dtype=object)
    for name in pd.unique(names):
        has = np.zeros(len(uniques), dtype=bool)
        has[codes[names == name]] = True
        source[has] = np.where(source[has] == "", name, source[has] + "+" + name)
    merged = merged.assign(source=pd.Series(source[order], index=merged.index, dtype="string"))
    first = frame[~repeated].set_index("customer_id")
    merged = merged.assign(_line=first["_line"], _file=first["_file"], _source=first["_source"])
    return merged.reset_index(), frame[repeated]


def _squash(values: pd.Series) -> pd.Series:
    """Lower case without spaces, hyphens and brackets (for comparing names and phones)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pa.array(values.astype("string"))
    squashed = pc.replace_substring_regex(pc.utf8_lower(array), r"[\s\-()（）]+", "")
    squashed = pc.if_else(pc.equal(squashed, ""), pa.scalar(None, squashed.type), squashed)
    return pd.Series(pd.arrays.ArrowStringArray(squashed), index=values.index, dtype="string")


def name_duplicates(customers: pd.DataFrame, config: Config) -> pd.DataFrame:
    """Groups of different customer ids with the same name+phone (or name+city)."""
    parts = []
    groups = 0
    for fields in config.identity.duplicates.match:
        if not all(f in customers for f in fields):
            continue
        keys = pd.DataFrame({f: _squash(customers[f]) for f in fields}, index=customers.index)
        keys = keys[keys.notna().all(axis=1)]
        dup = keys.duplicated(fields, keep=False)
        if not dup.any():
            continue
        members = keys[dup]
        group = members.groupby(fields, sort=True).ngroup() + groups + 1
        groups = int(group.max())
        found = pd.DataFrame({"group": group.to_numpy(), "match": "+".join(fields),
                              "customer_id": customers.loc[members.index, "customer_id"].to_numpy(),
                              "name": customers.loc[members.index, "name"].to_numpy()})
        first = found.drop_duplicates("group").set_index("group")["customer_id"]
        parts.append(found.assign(kept_id=found["group"].map(first).to_numpy()))
    columns = ["group", "match", "customer_id", "name", "kept_id"]
    if not parts:
        return pd.DataFrame(columns=columns)
    frame = pd.concat(parts, ignore_index=True).sort_values(["group", "customer_id"], kind="stable")
    # A customer in two groups (name+phone and name+city) keeps its first group only.
    return frame.drop_duplicates("customer_id").reset_index(drop=True)[columns]


def merge_duplicates(customers: pd.DataFrame, orders: pd.DataFrame, duplicates: pd.DataFrame,
                     ledger: Ledger) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Merge each group of :func:`name_duplicates` into its first customer (``kept_id``):
    the others are counted as merged and their orders move to the kept id."""
    moved = duplicates[duplicates["customer_id"] != duplicates["kept_id"]]
    if moved.empty:
        return customers, orders
    target = duplicate_targets(duplicates)
    for match, part in moved.groupby("match"):
        gone = customers[customers["customer_id"].isin(part["customer_id"])]
        ledger.count("customers", gone, "merged",
                     f"same {match} as another customer_id (identity.duplicates: merge)")
    customers = customers[~customers["customer_id"].isin(target.index)]
    if "customer_id" in orders:
        orders = orders.assign(customer_id=orders["customer_id"].map(target).fillna(
            orders["customer_id"]).astype("string"))
    return customers, orders


def duplicate_targets(duplicates: pd.DataFrame) -> pd.Series:
    """The customer ids :func:`merge_duplicates` moves (index) and the id each moves to."""
    moved = duplicates[duplicates["customer_id"] != duplicates["kept_id"]]
    return moved.set_index("customer_id")["kept_id"]
