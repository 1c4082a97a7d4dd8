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
    """Groups of different customer ids with the same name+phone (or name+city).

    Each group of rows whose squashed fields (:func:`_squash`: lower case, no spaces,
    hyphens or brackets; empty counts as missing) are all present and equal gets a number,
    in the order of the squashed texts, after the groups of the earlier ``match``; its
    ``kept_id`` is its first customer in the frame's order. A customer in two groups keeps
    its first group only. The rows are sorted by group, then customer_id.

    The work is on integer codes (each field's squashed texts ranked once), not on the
    texts of every row: at 100M order lines 5.5M of 5.6M generated customers share a
    name and a city, and the texts' copies were the largest part of step 2's peak.
    """
    columns = ["group", "match", "customer_id", "name", "kept_id"]
    groups, parts = 0, []
    for fields in config.identity.duplicates.match:
        if not all(f in customers for f in fields):
            continue
        ranks = [_squashed_ranks(customers[f]) for f in fields]
        rows = np.flatnonzero(np.logical_and.reduce([r >= 0 for r in ranks]))
        if len(rows) < 2:
            continue
        key = ranks[0][rows]
        for more in ranks[1:]:  # (rank, rank) -> one rank, in the order of the pairs
            key = np.unique(key * (int(more.max()) + 1) + more[rows], return_inverse=True)[1]
        del ranks
        _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        shared = counts[inverse] >= 2
        if not shared.any():
            continue
        members = rows[shared]  # in the frame's order
        _, group = np.unique(inverse[shared], return_inverse=True)
        _, first = np.unique(group, return_index=True)
        kept = members[first][group]  # each group's first member
        group = group.astype("int64") + groups + 1
        groups = int(group.max())
        parts.append((group, members, kept, len(parts), "+".join(fields)))
    if not parts:
        return pd.DataFrame(columns=columns)
    group, members, kept = (np.concatenate([p[i] for p in parts]) for i in range(3))
    match = np.concatenate([np.full(len(p[0]), p[3]) for p in parts])
    ids = customers["customer_id"]
    id_rank = _ranks(ids)
    order = np.lexsort((id_rank[members], group))  # stable: by group, then customer_id
    # A customer in two groups (name+phone and name+city) keeps its first group only.
    _, first = np.unique(id_rank[members][order], return_index=True)
    pick = order[np.sort(first)]
    labels = np.array([p[4] for p in parts], dtype=object)
    return pd.DataFrame({"group": group[pick],
                         "match": pd.array(labels[match[pick]], dtype="str"),
                         "customer_id": _taken(ids, members[pick]),
                         "name": _taken(customers["name"], members[pick]),
                         "kept_id": _taken(ids, kept[pick])})[columns]


def _ranks(values: pd.Series) -> np.ndarray:
    """Each value's rank among the distinct values in ascending order (equal values, equal
    ranks); missing values after all others."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pa.array(values.astype("string"))
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    encoded = pc.dictionary_encode(array)
    dictionary = encoded.dictionary
    rank = np.append(pc.rank(dictionary, sort_keys="ascending", tiebreaker="dense").to_numpy()
                     .astype("int64") - 1, len(dictionary))  # the last for the missing
    return rank[pc.fill_null(encoded.indices, len(dictionary)).to_numpy(zero_copy_only=False)]


def _squashed_ranks(values: pd.Series) -> np.ndarray:
    """:func:`_ranks` of the :func:`_squash` ed values, -1 where missing or empty."""
    squashed = _squash(values)
    rank = _ranks(squashed)
    return np.where(squashed.isna().to_numpy(), -1, rank)


def _taken(values: pd.Series, positions: np.ndarray):
    """``values`` at ``positions`` as the ``str`` column a frame made from their NumPy
    values would hold (Arrow text taken by Arrow, without a Python object per row)."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        return values.array.take(positions).astype(pd.StringDtype("pyarrow", na_value=np.nan))
    return values.to_numpy()[positions]


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
