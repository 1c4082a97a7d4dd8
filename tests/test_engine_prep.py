"""Step 2's two paths give the same tables: pandas in memory, DuckDB out of core.

The canonical tables, the ledger, the quarantine and the notes of both paths are
compared on the bundled sample and the two real examples; each SQL twin of a pandas
rule (text trimming, ids, join keys, the ship-to choice) is compared with its pandas
original; the switch between the paths is checked and recorded in ``prep.json``.
(The bad-input suite, ``tests/test_badinput.py``, runs every case on both paths.)
"""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest
import yaml

from helpers.config import PROJECT_ROOT, load_config
from helpers.data.clean import WHITESPACE, join_keys, normalise_ids
from helpers.data.engine import (
    MAX_LINE_BYTES,
    MEMORY_LIMIT,
    THREADS,
    ParquetTable,
    ascii_ids_sql,
    ascii_join_keys_sql,
    choose_engine,
    clean_text_sql,
)
from helpers.data.ledger import check_ledger
from helpers.data.locate import choose_ship_to
from helpers.data.prepare import build_prep, load_prep, save_prep
from helpers.data.read import _clean_text

REAL = PROJECT_ROOT.parent / "shared" / "data" / "real"
CONFIGS = [
    pytest.param(PROJECT_ROOT / "workbook.yaml", id="sample"),
    pytest.param(PROJECT_ROOT / "examples" / "olist.yaml", id="olist", marks=pytest.mark.skipif(
        not (REAL / "olist").exists(), reason="real data not present")),
    pytest.param(PROJECT_ROOT / "examples" / "cn_superstore.yaml", id="superstore",
                 marks=pytest.mark.skipif(not (REAL / "cn_superstore").exists(),
                                          reason="real data not present")),
]
LEDGER_KEY = ["table", "source", "file", "outcome", "reason"]
#: The stated sort before comparing: the tables' keys (both paths also keep file order).
SORT = {"customers": ["customer_id"], "orders": ["source", "order_id", "customer_id",
                                                 "order_date", "amount"],
        "reps": ["sales_rep_id"], "spend": ["province", "period", "amount"]}


def _build(path, engine):
    config = load_config(path)
    config.prep.engine = engine
    return build_prep(config)


@pytest.mark.parametrize("path", CONFIGS)
def test_both_paths_give_the_same_tables_ledger_and_quarantine(path, tmp_path):
    pandas_path = _build(path, "pandas")
    duck = _build(path, "duckdb")
    assert pandas_path.engine["path"] == "pandas" and duck.engine["path"] == "duckdb"
    assert isinstance(duck.orders, ParquetTable) and len(duck.orders) == len(pandas_path.orders)
    if path == CONFIGS[0].values[0]:  # the sample's orders: a UTF-8 CSV DuckDB reads itself
        assert duck.engine["files_read_by_pandas"] == []
    loaded = duck.loaded()
    for name, keys in SORT.items():
        want, got = getattr(pandas_path, name), getattr(loaded, name)
        if name in ("customers", "orders"):
            assert len(want), name  # a comparison of empty tables proves nothing
        keys = [k for k in keys if k in want]
        pd.testing.assert_frame_equal(want.sort_values(keys, kind="stable").reset_index(drop=True),
                                      got.sort_values(keys, kind="stable").reset_index(drop=True))
        pd.testing.assert_frame_equal(want, got)  # and in the same (file) order
    counts = [r.ledger.groupby(LEDGER_KEY)["rows"].sum().sort_index() for r in (pandas_path, duck)]
    pd.testing.assert_series_equal(*counts)
    assert check_ledger(duck.ledger)["balanced"].all()
    assert len(duck.quarantine)  # every example sets rows aside
    pd.testing.assert_frame_equal(pandas_path.quarantine, duck.quarantine)
    assert pandas_path.notes == duck.notes
    # saved and loaded: the same Parquet tables, and the path recorded in prep.json
    save_prep(pandas_path, tmp_path / "p", {"test": 1})
    save_prep(duck, tmp_path / "d", {"test": 1})
    for name in SORT:
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "p" / f"{name}.parquet"),
                                      pd.read_parquet(tmp_path / "d" / f"{name}.parquet"))
    summary = json.loads((tmp_path / "d" / "prep.json").read_text("utf-8"))
    assert summary["engine"]["path"] == "duckdb"
    assert load_prep(tmp_path / "d").engine["reason"] == "prep.engine: duckdb"


def test_rows_set_aside_settled_in_parts_give_the_same_ledger_and_quarantine(monkeypatch):
    """The DuckDB path brings the rows set aside to pandas a few at a time: the ledger and
    the quarantine (with its limit of rows shown per reason) are those of one piece."""
    from helpers.data import engine, ledger

    monkeypatch.setattr(ledger, "SHOWN_ROWS", 40)      # rows beyond it shown as {}
    monkeypatch.setattr(engine, "SETTLE_ROWS", 97)
    path = CONFIGS[0].values[0]
    pandas_path, duck = _build(path, "pandas"), _build(path, "duckdb")
    aside = duck.quarantine.query("table == 'orders'")
    assert len(aside) > 5 * 97                          # in many parts...
    assert aside["reason"].value_counts().max() > 40    # ...past the rows shown
    assert (aside["values"] == "{}").any()
    pd.testing.assert_frame_equal(pandas_path.quarantine, duck.quarantine)
    pd.testing.assert_frame_equal(pandas_path.ledger, duck.ledger)   # the same rows, in order


def test_the_switch_follows_the_size_of_the_orders_files_and_the_config_key():
    config = load_config(PROJECT_ROOT / "workbook.yaml")  # orders.csv: 5.4 MB
    config.prep.engine, config.prep.engine_min_mb = "auto", 5.0
    assert choose_engine(config)["path"] == "duckdb"
    config.prep.engine_min_mb = 6.0
    auto = choose_engine(config)
    assert auto["path"] == "pandas" and "< prep.engine_min_mb 6.0" in auto["reason"]
    config.prep.engine = "duckdb"
    assert choose_engine(config) | {"orders_mb": 0} == {
        "setting": "duckdb", "orders_mb": 0, "path": "duckdb", "reason": "prep.engine: duckdb"}
    config.prep.engine, config.prep.engine_min_mb = "pandas", 0.0
    assert choose_engine(config)["path"] == "pandas"


def test_the_default_keeps_the_sample_on_the_pandas_path():
    config = load_config(PROJECT_ROOT / "workbook.yaml")
    assert config.prep.engine == "pandas" and choose_engine(config)["path"] == "pandas"
    config.prep.engine = "auto"  # and so does the default threshold of auto (200 MB)
    assert choose_engine(config)["path"] == "pandas"


def test_duckdb_csv_buffers_fit_in_its_memory_limit():
    # DuckDB reads CSV in buffers of 16 maximal lines per thread; when they did not fit
    # (16 MB lines: 256 MB buffers against 512 MB) a large file failed to read and went
    # to the pandas reader, with pandas' memory
    assert MEMORY_LIMIT.endswith("MB")
    assert 16 * MAX_LINE_BYTES * THREADS <= int(MEMORY_LIMIT[:-2]) * 2**20 // 4


def test_memory_limits_grow_with_the_orders_files_beyond_a_few_gb():
    from helpers.data.engine import FINISH_LIMIT, MAX_LIMIT_MB, memory_limits

    assert memory_limits(0) == (MEMORY_LIMIT, FINISH_LIMIT) == ("512MB", "256MB")
    assert memory_limits(600 * 2**20) == ("512MB", "256MB")        # 10M lines: as ever
    assert memory_limits(6000 * 2**20) == ("1500MB", "1500MB")     # 100M lines: a quarter
    assert memory_limits(10**12) == (f"{MAX_LIMIT_MB}MB",) * 2
    assert int(memory_limits(3000 * 2**20)[0][:-2]) == 750


# --------------------------------------------------------------------------- SQL twins


def _sql(expr: str, values: list) -> list:
    frame = pd.DataFrame({"v": pd.Series(values, dtype="object")})  # noqa: F841 - read by duckdb
    return [r[0] for r in duckdb.sql(f"SELECT {expr} FROM frame").fetchall()]


def test_whitespace_is_what_python_strips():
    assert set(WHITESPACE) == {chr(i) for i in range(0x110000) if chr(i).isspace()}


def test_text_is_trimmed_in_sql_as_in_pyarrow():
    values = ([f"{c}a b{c}" for c in WHITESPACE] + [c for c in WHITESPACE] + ["", None, "x",
              "\u200bx\u200b", " 广东 ", "\u3000北京\u3000", "a\x00", "\u3000\u0301a",
              "a \u0301", "e\u0301 ", " \U0001F468\u200d\U0001F469 ", "\xa0\u0301",
              "\U0001F44D\U0001F3FD\u3000", "\u3000\U0001F44D\U0001F3FD", "\U0001F1E8\U0001F1F3"]
              + [f"{chr(i)}v{chr(i)}" for i in range(1, 0x3100, 7)])
    want = _clean_text(pd.Series(values, dtype="string"))
    got = _sql(clean_text_sql("v"), values)
    assert [None if pd.isna(w) else w for w in want] == got


ID_VALUES = ["C1", " C1 ", "\tC1\x1c", "17850.0", "17850.000", "-5.0", "5.", ".0", "1.05",
             "00123", "00123.0", "0", "000", "0.0", "1.0e5", "1E+12", "", "  ", "a.0", "12.0 ",
             None, "0x1", "+5.0", "007-01"]


def test_ascii_ids_in_sql_as_in_pandas():
    want = normalise_ids(pd.Series(ID_VALUES, dtype="string"))
    assert [None if pd.isna(w) else w for w in want] == _sql(ascii_ids_sql("v"), ID_VALUES)


def test_ascii_join_keys_in_sql_as_in_pandas():
    want = join_keys(pd.Series(ID_VALUES, dtype="string"))
    assert [None if pd.isna(w) else w for w in want] == _sql(ascii_join_keys_sql("v"), ID_VALUES)


CUSTOMERS = "id,name\nA,a\nB,b\nC,c\nD,d\n"
# A: two places twice each (the later last order wins), B: a tie on count and date
# (most frequent: the alphabetically first place; latest: the later line), C: the
# order with amount abc is set aside before the choice (its place is not used), the
# zero amount only after it, D: no orders.
ORDERS = """\
oid,cid,date,amount,prov,city
1,A,2024-01-01,10,广东,深圳
2,A,2024-03-01,10,浙江,杭州
3,A,2024-02-01,10,广东,广州
4,A,2024-01-15,10,浙江,杭州
5,A,2024-01-20,10,广东,深圳
6,B,2024-05-01,10,江苏,南京
7,B,2024-05-01,10,江苏,苏州
8,C,2024-05-01,10,北京,
9,C,2024-05-02,0,上海,
10,C,2024-05-03,abc,天津,
11,B,2024-04-01,10,,
"""


@pytest.mark.parametrize("rule", ["most_frequent", "latest", "first"])
def test_ship_to_is_chosen_in_sql_as_in_pandas(tmp_path, rule):
    (tmp_path / "c.csv").write_text(CUSTOMERS + "", encoding="utf-8")
    (tmp_path / "o.csv").write_text(ORDERS, encoding="utf-8")
    config = {
        "paths": {"data": ".", "reports": "reports"},
        "sources": {
            "customers": [{"name": "crm", "file": "c.csv",
                           "columns": {"customer_id": "id", "name": "name"}}],
            "orders": [{"name": "erp", "file": "o.csv", "dates": {"order_date": "%Y-%m-%d"},
                        "columns": {"order_id": "oid", "customer_id": "cid",
                                    "order_date": "date", "amount": "amount",
                                    "province": "prov", "city": "city"}}],
        },
        "geography": {"customer_location": rule},
    }
    (tmp_path / "workbook.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    results = {}
    for engine in ("pandas", "duckdb"):
        results[engine] = _build(tmp_path / "workbook.yaml", engine).loaded()
    want, got = results["pandas"], results["duckdb"]
    pd.testing.assert_frame_equal(want.customers, got.customers)
    pd.testing.assert_frame_equal(want.orders, got.orders)
    located = want.customers.set_index("customer_id")
    cities = located["city"].to_dict()
    expected = {"most_frequent": ("杭州市", "南京市"), "latest": ("杭州市", "苏州市"),
                "first": ("深圳市", "南京市")}[rule]
    assert (cities["A"], cities["B"]) == expected
    assert pd.isna(located.loc["D", "province"])  # no orders: no place
    # C's order with amount abc is set aside before the choice; the zero amount only later
    assert located.loc["C", "province"] == ("上海市" if rule != "first" else "北京市")


def test_choose_ship_to_ties_go_to_the_alphabetically_first_place():
    rows = pd.DataFrame({"customer_id": ["B", "B"], "order_date": pd.to_datetime(["2024-05-01"] * 2),
                         "_line": [2, 3], "city": pd.array(["苏州", "南京"], dtype="string")})
    assert choose_ship_to(rows, ["city"], "most_frequent")["city"].tolist() == ["南京"]


# --------------------------------------------------------------------------- customers in the engine

CRM = """\
id,name,prov,signup,headcount
A,,广东,2024-01-05,3
B,乙,浙江,1890-01-01,2.5
A,甲,江苏,bad,4
C,丙,,2999-01-01,x
,无,北京,2024-01-01,1
"""
ERP = """\
code,name,prov,phone,headcount
D,丁,广东,138,9
A,甲2,,139,
B,乙2,浙江,,1
D,丁3,,137,
"""
SHOP = "oid,cid,date,amount\n1,A,2024-03-01,10\n2,D,2024-03-02,20\n3,E,2024-03-03,30\n"


def test_customers_are_merged_in_the_engine_as_in_pandas(tmp_path):
    # an id repeated within a source (A in crm, D in erp) and across sources (A, B): the
    # first non-empty value of each column in source and file order; source crm+erp;
    # an empty id set aside, dates and numbers left empty with their notes
    (tmp_path / "crm.csv").write_text(CRM, encoding="utf-8")
    (tmp_path / "erp.csv").write_text(ERP, encoding="utf-8")
    (tmp_path / "o.csv").write_text(SHOP, encoding="utf-8")
    config = {
        "paths": {"data": ".", "reports": "reports"},
        "sources": {
            "customers": [
                {"name": "crm", "file": "crm.csv",
                 "dates": {"signup_date": "%Y-%m-%d"},
                 "columns": {"customer_id": "id", "name": "name", "province": "prov",
                             "signup_date": "signup", "headcount": "headcount"}},
                {"name": "erp", "file": "erp.csv",
                 "columns": {"customer_id": "code", "name": "name", "province": "prov",
                             "phone": "phone", "headcount": "headcount"}}],
            "orders": [{"name": "shop", "file": "o.csv", "dates": {"order_date": "%Y-%m-%d"},
                        "columns": {"order_id": "oid", "customer_id": "cid",
                                    "order_date": "date", "amount": "amount"}}],
        },
    }
    (tmp_path / "workbook.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    want = _build(tmp_path / "workbook.yaml", "pandas")
    got = _build(tmp_path / "workbook.yaml", "duckdb").loaded()
    assert got.engine["path"] == "duckdb"
    pd.testing.assert_frame_equal(want.customers, got.customers)
    pd.testing.assert_frame_equal(want.orders, got.orders)
    pd.testing.assert_frame_equal(want.quarantine, got.quarantine)
    assert want.notes == got.notes
    counts = [r.ledger.groupby(LEDGER_KEY)["rows"].sum().sort_index() for r in (want, got)]
    pd.testing.assert_series_equal(*counts)
    # the known answers
    c = got.customers.set_index("customer_id")
    assert list(c.index) == ["A", "B", "C", "D"]
    assert c.loc["A", "name"] == "甲" and c.loc["A", "province"] == "广东省"
    assert c.loc["A", "phone"] == "139" and c.loc["A", "source"] == "crm+erp"
    assert c.loc["A", "signup_date"] == pd.Timestamp("2024-01-05")
    assert pd.isna(c.loc["B", "signup_date"]) and c.loc["B", "headcount"] == 2  # 2.5 rounded
    assert c.loc["D", "name"] == "丁" and c.loc["D", "phone"] == "138"
    assert c.loc["D", "source"] == "erp"
    assert pd.isna(c.loc["C", "signup_date"]) and pd.isna(c.loc["C", "headcount"])
    assert reasons_of(got) == {("crm", 6): "customer_id is empty"}
    merged = got.ledger.query("table == 'customers' and outcome == 'merged'")
    assert merged.groupby("source")["rows"].sum().to_dict() == {"crm": 1, "erp": 3}
    for note in ("crm: signup_date: 1 value(s) not in format %Y-%m-%d were left empty "
                 "(e.g. 'bad')", "crm: signup_date: 1 value(s) before 1990",
                 "crm: signup_date: 1 value(s) in the future were left empty (e.g. '2999-01-01')",
                 "customers.headcount: 1 value(s) are not numbers and were left empty (e.g. 'x')",
                 "customers.headcount: 1 value(s) have a fraction"):
        assert any(n.startswith(note) for n in got.notes), note


def reasons_of(result):
    rows = result.quarantine.query("table == 'customers'")
    return {(s, int(line)): r for s, line, r in zip(rows["source"], rows["line"],
                                                      rows["reason"], strict=True)}


def test_scan_finds_quotes_and_blank_lines_across_chunks(tmp_path):
    """``_scan`` (newlines' positions in numpy) against the byte search it replaces: a
    quote anywhere, a blank line as "\\n\\n" or "\\n\\r\\n", also where it spans two of its
    16 MB chunks."""
    from helpers.data.engine import _scan

    chunk = 1 << 24
    filler = b"x,y\n" * (chunk // 4)
    cases = [b"a,b\n1,2\n", b"a,b\n\n1,2\n", b"a,b\r\n\r\n1,2\r\n", b"a,b\n\r1,2\n",
             b"a,b\r\n1,2\r\n", b'a,b\n"1",2\n', b"\n", b"", b"a\n\r\n",
             filler[:chunk - 1] + b"\n\n1\n",            # "\n\n" across the chunks
             filler[:chunk - 2] + b"\n\r\n1\n",          # "\n\r\n" across them
             filler[:chunk - 1] + b"\r1\n",              # "\n\r1": no blank line
             filler + b'"q"\n']                          # a quote in the second chunk
    for n, data in enumerate(cases):
        path = tmp_path / f"{n}.csv"
        path.write_bytes(data)
        assert _scan(path) == (b'"' in data, b"\n\n" in data or b"\n\r\n" in data), n
