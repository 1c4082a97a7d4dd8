"""Step 2's customers in less memory, with the same results (issue 17: 100M lines under 8 GB).

- :func:`helpers.data.identity.name_duplicates` works on ranks of the squashed texts; it is
  checked against the text-based rule it replaced (kept here as ``_reference``) on
  hand-made traps: ties, spellings equal once squashed, empty and missing values,
  non-ASCII names, repeated and missing ids, a customer in two groups.
- :func:`helpers.data.prepare.park_columns` / ``unpark_columns``: the columns no rule reads
  wait on disk and come back with their dtypes, in their place, for the rows kept.
- :func:`helpers.geo.china_places.take_rows`: the per-row expansion of the place lookups.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.config import load_config
from helpers.data.identity import _squash, name_duplicates
from helpers.data.prepare import park_columns, unpark_columns
from helpers.geo.china_places import take_rows


def _reference(customers: pd.DataFrame, config) -> pd.DataFrame:
    """The text-based rule of ``name_duplicates`` before it worked on codes (main 6b49f6e)."""
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
    return frame.drop_duplicates("customer_id").reset_index(drop=True)[columns]


@pytest.fixture()
def config():
    return load_config()


def _customers(ids, names, phones, cities) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": pd.Series(ids, dtype="string"),
                         "name": pd.Series(names, dtype="string"),
                         "phone": pd.Series(phones, dtype="string"),
                         "city": pd.Series(cities, dtype="string")})


def test_name_duplicates_known_answer(config):
    # b and a: the same name and phone once squashed; c and a: the same name and city but a
    # is already in group 1; d and e: the same name and city (group 2, kept: e, first in the
    # frame); f: an empty name is no name.
    customers = _customers(["b", "a", "c", "e", "d", "f", "g"],
                           ["Acme (Ltd)", "acme ltd", "ACME-LTD", "甲 公司", "甲公司", "", ""],
                           ["138-0000", "1380000", "999", None, "1", "5", "5"],
                           ["深圳", "深圳", "深圳", "Zürich", "zürich", "x", "x"])
    config.identity.duplicates.match = [["name", "phone"], ["name", "city"]]
    found = name_duplicates(customers, config)
    assert found["customer_id"].tolist() == ["a", "b", "c", "d", "e"]
    assert found["group"].tolist() == [1, 1, 2, 3, 3]
    assert found["match"].tolist() == ["name+phone"] * 2 + ["name+city"] * 3
    assert found["kept_id"].tolist() == ["b", "b", "b", "e", "e"]
    assert found["name"].tolist() == ["acme ltd", "Acme (Ltd)", "ACME-LTD", "甲公司", "甲 公司"]
    pd.testing.assert_frame_equal(found, _reference(customers, config), check_exact=True)


MATCHES = ([["name", "phone"], ["name", "city"]], [["phone", "city"]], [["name"]],
           [["city", "name", "phone"], ["phone"]], [["name", "no_such_column"]])


@pytest.mark.parametrize("seed", range(40))
def test_name_duplicates_equals_the_text_rule_on_traps(config, seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 50))
    pick = lambda pool: rng.choice(np.array(pool, dtype=object), n)  # noqa: E731
    names = pick(["A Co", "a co", "a-co", "ACo", "", " ", None, "甲公司", "甲 公司", "Ä", "ä",
                  "b", "(B)", "B", "（B）", "Z"])
    phones = pick(["1", "1 ", "1-", "2", None, "", "３"])
    cities = pick(["x", "X", "y", None, "深圳", "深 圳"])
    ids = rng.permutation([f"C{i:03d}" if i % 7 else f"é{i}" for i in range(n)]).astype(object)
    if n > 3 and seed % 5 == 0:
        ids[1] = ids[0]  # one id twice
    if n > 5 and seed % 4 == 0:
        ids[5] = None
    customers = _customers(ids, names, phones, cities)
    if seed % 3 == 0:
        customers.index = customers.index[::-1] * 2 + 100  # any index
    if seed % 7 == 0:
        customers = customers.astype({"name": object})
    for match in MATCHES:
        config.identity.duplicates.match = match
        pd.testing.assert_frame_equal(name_duplicates(customers, config),
                                      _reference(customers, config), check_exact=True)


def test_name_duplicates_none_found(config):
    customers = _customers(["a", "b"], ["x", "y"], ["1", "1"], [None, None])
    assert name_duplicates(customers, config).empty
    pd.testing.assert_frame_equal(name_duplicates(customers.iloc[:0], config),
                                  _reference(customers.iloc[:0], config))


def test_parked_columns_come_back_with_their_dtypes_in_their_place(tmp_path):
    n = 9
    customers = pd.DataFrame({
        "customer_id": pd.Series([f"c{i}" for i in range(n)], dtype="string"),
        "contact": pd.Series(["张三", None, "é"] * 3, dtype="string"),
        "province": pd.Series(["广东"] * n, dtype="string"),
        "signup_date": pd.to_datetime(["2020-01-02", None, "2021-03-04"] * 3),
        "headcount": pd.Series([1, None, 3] * 3, dtype="Int64"),
        "capital": [1.5, np.nan, 2.0] * 3,
        "raw": pd.Series(["x", None, "y"] * 3, dtype=object),  # not parked: object
        "_line": np.arange(n),
        "empty": pd.Series(pd.NA, index=range(n), dtype="string"),
    })
    narrow, parked = park_columns(customers, {"customer_id", "province", "_line"}, tmp_path)
    assert list(narrow.columns) == ["customer_id", "province", "raw", "_line"]
    # rows dropped (a merge), a column changed and columns added (locating)
    kept = narrow.iloc[[0, 2, 3, 8]].assign(province="广东省", territory="华南")
    back = unpark_columns(kept, parked)
    expected = customers.iloc[[0, 2, 3, 8]].assign(province="广东省", territory="华南")
    pd.testing.assert_frame_equal(back, expected, check_exact=True)
    # every row kept
    pd.testing.assert_frame_equal(unpark_columns(narrow, parked), customers, check_exact=True)
    # nothing to park
    same, none = park_columns(customers, set(customers.columns), tmp_path)
    assert same is customers and unpark_columns(same, none) is same


def test_take_rows_is_the_rows_of_the_table():
    table = pd.DataFrame({"city": ["深圳市", None, "x"], "lat": [22.5, np.nan, 1.0],
                          "code": pd.Series(["4403", "1", pd.NA], dtype="string")})
    positions = np.array([2, 0, 0, 1, 2])
    index = pd.Index([10, 11, 12, 13, 14])
    got = take_rows(table, positions, index)
    expected = table.iloc[positions].set_axis(index).astype({"city": "string", "code": "string"})
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert take_rows(table, positions[:0], index[:0]).dtypes.tolist() == expected.dtypes.tolist()
