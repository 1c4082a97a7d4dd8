"""Tests of samplegen.large: the raw files written in parts, in bounded memory."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import samplegen as sample
from samplegen.large import day_windows, write_large


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    """``write_raw(generate(...))``: the files the parts must add up to."""
    folder = tmp_path_factory.mktemp("raw")
    return sample.write_raw(sample.generate(400, seed=7), folder, seed=11)


@pytest.fixture(scope="module")
def blocks(tmp_path_factory):
    """Four blocks of customers, windows of a few days."""
    folder = tmp_path_factory.mktemp("blocks")
    return write_large(400, folder, seed=7, mess_seed=11, block_customers=110,
                       window_lines=500)


def _orders(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_one_block_in_windows_writes_the_same_bytes_as_write_raw(tmp_path, raw):
    paths = write_large(400, tmp_path, seed=7, mess_seed=11, window_lines=300)
    assert sorted(paths) == sorted(raw)
    for name, path in raw.items():
        assert paths[name].read_bytes() == path.read_bytes(), name
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in raw.values())


def _sales_per_customer(paths) -> pd.Series:
    """Completed clean lines per customer (not the duplicates nor the extra lines)."""
    n_lines = json.loads(paths["mess"].read_text(encoding="utf-8"))["orders_clean_lines"]
    orders = _orders(paths["orders"]).drop_duplicates()
    clean = orders[(orders["订单号"].str[1:].astype(int) <= n_lines)
                   & (orders["状态"] == "已完成")]
    return clean.groupby("客户编号").size()


def test_blocks_keep_the_customers_and_their_number_of_sales(raw, blocks):
    for name in ("crm_customers", "erp_partners_gbk"):   # drawn before the order lines
        assert blocks[name].read_bytes() == raw[name].read_bytes(), name
    # other draws for the lines' days, products and returns, so another file...
    assert blocks["orders"].read_bytes() != raw["orders"].read_bytes()
    # ...but the counts per customer are drawn before the blocks: the same sales each
    pd.testing.assert_series_equal(_sales_per_customer(blocks), _sales_per_customer(raw))


def test_blocks_plant_the_mess_that_mess_json_counts(blocks):
    mess = json.loads(blocks["mess"].read_text(encoding="utf-8"))
    orders = _orders(blocks["orders"])
    assert len(orders) == mess["orders_rows"]
    assert orders.duplicated().sum() == mess["orders_duplicate_lines"] == 20
    assert (orders["状态"] == "已取消").sum() == mess["orders_cancelled"] > 0
    assert (orders.drop_duplicates()["状态"] == "已退货").sum() == mess["orders_returned"] > 0
    assert (orders["金额"] == "").sum() == mess["orders_empty_amount"]
    assert (orders["金额"] == "#VALUE!").sum() == mess["orders_text_amount"]
    crm = pd.read_csv(blocks["crm_customers"], dtype=str, encoding="utf-8-sig")
    erp = pd.read_csv(blocks["erp_partners_gbk"], dtype=str, encoding="gbk")
    known = set(crm["客户编号"]) | set(erp["往来单位编码"])
    assert (~orders["客户编号"].isin(known)).sum() == mess["orders_unknown_customer"]
    # every order number once (but the duplicates), the clean lines numbered by date
    unique = orders.drop_duplicates()
    assert unique["订单号"].is_unique
    number = unique["订单号"].str[1:].astype(int)
    clean = unique[number <= mess["orders_clean_lines"]]
    assert (clean["订单号"].str[1:].astype(int).to_numpy() == np.arange(1, len(clean) + 1)).all()
    assert len(clean) == mess["orders_clean_lines"]
    assert orders["下单日期"].is_monotonic_increasing   # extra lines go after their day's
    assert mess["expected_after_prep"]["orders"] == mess["orders_clean_lines"]


def test_day_windows_cover_every_day_once_within_the_limit():
    per_day = np.array([3, 0, 5, 2, 9, 1, 0, 4])
    windows = day_windows(per_day, 6)
    assert windows == [(0, 2), (2, 3), (3, 4), (4, 5), (5, 8)]   # a 9-line day alone
    assert day_windows(per_day, 100) == [(0, 8)]
    assert day_windows(np.zeros(3, dtype=int), 5) == [(0, 3)]


def test_nonpositive_parts_are_refused(tmp_path):
    with pytest.raises(ValueError, match="block_customers"):
        write_large(100, tmp_path, block_customers=0)
