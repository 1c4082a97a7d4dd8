"""Step 2 on a hand-made export whose right answers are counted by hand."""

from __future__ import annotations

import json
import textwrap

import pandas as pd
import pytest

from helpers.config import load_config
from helpers.context import open_step
from helpers.data.inputs import SourceError
from helpers.data.ledger import check_ledger
from helpers.data.prepare import build_prep
from helpers.steps import prep

CRM = """\
id,name,prov,city,lat,lon,signup
C1,甲公司,广东,深圳,22.54,114.06,2024/01/05
C2,乙公司,Guangdong Sheng,广州市,,,2024/02/01
C3,丙公司,浙,,,,2024/03/01
C3,丙公司,浙,,,,2024/03/01
C4,丁公司,Atlantis,,,,2024/03/02
C5,戊公司,,深圳,,,not a date
,无名公司,北京,,,,2024/01/01
C6,己公司,四川,成都,104.07,30.67,2024/01/01
"""
ERP = """\
code,name,prov,headcount
C2,乙公司,粤,25
C7,庚公司,江苏省,12
"""
ORDERS = """\
oid,cid,date,amount,status
O1,C1,2025-01-10,100,done
O2,C1,2025-02-10,-20,returned
O3,C2,2025-03-01,50,done
O3,C2,2025-03-01,50,done
O4,C9,2025-03-02,70,done
O5,C3,2025-03-03,abc,done
O6,C3,2025-13-40,10,done
O7,C7,2025-04-01,30,cancelled
O8,C6,2025-04-02,40,done
"""


def write_case(tmp_path, **files):
    for name, text in files.items():
        encoding = "gbk" if name.endswith("gbk.csv") else "utf-8"
        (tmp_path / name).write_text(text, encoding=encoding)
    config = textwrap.dedent("""\
        paths: {data: ., reports: reports}
        sources:
          customers:
            - name: crm
              file: crm.csv
              columns: {customer_id: id, name: name, province: prov, city: city,
                        lat: lat, lon: lon, signup_date: signup}
              dates: {signup_date: "%Y/%m/%d"}
            - name: erp
              file: erp_gbk.csv
              encoding: gbk
              columns: {customer_id: code, name: name, province: prov, headcount: headcount}
          orders:
            - name: erp_orders
              file: orders.csv
              columns: {order_id: oid, customer_id: cid, order_date: date, amount: amount,
                        status: status}
              dates: {order_date: "%Y-%m-%d"}
              keep_status: [done, returned]
              returns: {column: status, values: [returned], action: net}
        geography:
          territories:
            华南: [广东]
            华东: [浙江, 江苏]
            西南: [四川]
        """)
    (tmp_path / "workbook.yaml").write_text(config, encoding="utf-8")
    return load_config(tmp_path / "workbook.yaml")


@pytest.fixture
def result(tmp_path):
    config = write_case(tmp_path, **{"crm.csv": CRM, "erp_gbk.csv": ERP, "orders.csv": ORDERS})
    return build_prep(config)


def outcome(result, table, source, kind):
    rows = result.ledger.query("table == @table and source == @source and outcome == @kind")
    return int(rows["rows"].sum())


def test_customers_ledger_balances_by_hand(result):
    # crm: 8 rows read; 1 exact duplicate (C3) merged; 1 empty id quarantined; 6 kept
    assert outcome(result, "customers", "crm", "read") == 8
    assert outcome(result, "customers", "crm", "merged") == 1
    assert outcome(result, "customers", "crm", "quarantined") == 1
    assert outcome(result, "customers", "crm", "kept") == 6
    # erp: C2 merged into the crm row, C7 kept
    assert outcome(result, "customers", "erp", "read") == 2
    assert outcome(result, "customers", "erp", "merged") == 1
    assert outcome(result, "customers", "erp", "kept") == 1
    assert sorted(result.customers["customer_id"]) == ["C1", "C2", "C3", "C4", "C5", "C6", "C7"]
    check_ledger(result.ledger)


def test_merge_combines_sources(result):
    c2 = result.customers.set_index("customer_id").loc["C2"]
    assert c2["source"] == "crm+erp"
    assert c2["headcount"] == 25  # only the ERP row had it
    assert c2["province"] == "广东省"


def test_places_resolved_and_geocoded(result):
    c = result.customers.set_index("customer_id")
    assert c.loc["C1", "city"] == "深圳市" and c.loc["C1", "geo_precision"] == "point"
    assert c.loc["C2", "geo_precision"] == "city" and c.loc["C2", "city"] == "广州市"
    assert c.loc["C3", "province"] == "浙江省" and c.loc["C3", "geo_precision"] == "province"
    assert c.loc["C5", "province"] == "广东省"  # inferred from the city 深圳
    assert pd.isna(c.loc["C4", "province"]) and c.loc["C4", "geo_precision"] == "none"
    # C6 had lat/lon swapped: turned round, not dropped
    assert c.loc["C6", "lat"] == pytest.approx(30.67) and c.loc["C6", "lon"] == pytest.approx(104.07)
    assert c.loc["C7", "territory"] == "华东" and c.loc["C1", "territory"] == "华南"
    assert result.unresolved.set_index("value").loc["Atlantis", "rows"] == 1
    assert pd.isna(c.loc["C5", "signup_date"])
    assert any("signup_date" in note for note in result.notes)


def test_orders_ledger_and_reasons(result):
    q = result.quarantine.query("table == 'orders'").set_index("line")["reason"]
    assert q[6] == "unknown customer_id"            # O4, line 6
    assert q[7] == "amount is not a number"         # O5
    assert q[8].startswith("order_date does not match")  # O6
    assert q[9] == "status 'cancelled' not in keep_status"  # O7
    assert outcome(result, "orders", "erp_orders", "merged") == 1  # duplicate O3 line
    assert outcome(result, "orders", "erp_orders", "kept") == 4
    assert sorted(result.orders["order_id"]) == ["O1", "O2", "O3", "O8"]
    assert result.orders["amount"].sum() == pytest.approx(170)
    assert set(result.orders["province"]) == {"广东省", "四川省"}
    totals = check_ledger(result.ledger)
    assert totals["balanced"].all() and totals["read"].sum() == 8 + 2 + 9


def test_missing_file_and_column_are_named(tmp_path):
    config = write_case(tmp_path, **{"crm.csv": CRM, "orders.csv": ORDERS})
    with pytest.raises(SourceError, match="erp_gbk.csv"):
        build_prep(config)
    config = write_case(tmp_path, **{"crm.csv": CRM.replace("prov,", "province,", 1),
                                     "erp_gbk.csv": ERP, "orders.csv": ORDERS})
    with pytest.raises(SourceError, match=r"'prov' \(for province\) not found"):
        build_prep(config)


def test_wrong_encoding_is_explained(tmp_path):
    config = write_case(tmp_path, **{"crm.csv": CRM, "erp_gbk.csv": ERP, "orders.csv": ORDERS})
    (tmp_path / "erp_gbk.csv").write_text(ERP, encoding="utf-8")
    with pytest.raises(SourceError, match="cannot be decoded as gbk"):
        build_prep(config)


def test_bundled_sample_ledger_matches_the_planted_mess():
    """Every mess planted by the generator is found and counted, nothing else is lost."""
    import json

    from helpers.config import load_config

    config = load_config()
    mess = json.loads((config.data_dir / "mess.json").read_text("utf-8"))
    result = build_prep(config)
    totals = check_ledger(result.ledger).set_index("source")
    assert totals.loc["crm", "read"] == mess["crm_rows"]
    assert outcome(result, "customers", "crm", "merged") == mess["crm_duplicate_rows"]
    assert outcome(result, "customers", "erp", "merged") == mess["partners_in_both"]
    assert outcome(result, "customers", "erp", "kept") == mess["erp_only_partners"]
    assert len(result.customers) == mess["expected_after_prep"]["customers"]
    reasons = result.quarantine.query("table == 'orders'")["reason"].value_counts()
    assert reasons["unknown customer_id"] == mess["orders_unknown_customer"]
    assert reasons["status '已取消' not in keep_status"] == mess["orders_cancelled"]
    assert reasons["amount is empty"] + reasons["amount is not a number"] == mess["orders_bad_amount"]
    assert outcome(result, "orders", "erp_orders", "merged") == mess["orders_duplicate_lines"]
    assert len(result.orders) == mess["expected_after_prep"]["orders"]
    assert result.unresolved.empty
    assert (result.customers["geo_precision"] == "point").sum() == mess["crm_with_coordinates"]


# ----------------------------------------------------------------------------- what notebook 02 shows


def test_set_aside_keeps_the_merged_and_quarantined_rows_of_the_ledger():
    ledger = pd.DataFrame({
        "table": ["customers"] * 4 + ["orders"] * 2,
        "source": ["crm"] * 4 + ["erp"] * 2,
        "file": ["crm.csv"] * 4 + ["o.csv"] * 2,
        "outcome": ["read", "merged", "quarantined", "kept", "read", "quarantined"],
        "reason": ["", "exact duplicate row", "customer_id is empty", "", "", "amount is zero"],
        "rows": [8, 1, 1, 6, 3, 3]})
    shown = prep.set_aside(ledger)
    assert list(shown.columns) == ["table", "source", "outcome", "reason", "rows"]
    assert shown["reason"].tolist() == ["exact duplicate row", "customer_id is empty",
                                        "amount is zero"]
    assert shown["rows"].tolist() == [1, 1, 3]
    assert len(ledger) == 6  # not changed


def test_location_precision_counts_and_shares():
    customers = pd.DataFrame({"geo_precision": ["point", "city", "point", "none", "city",
                                                "point", "province", "point"]})
    table = prep.location_precision(customers)
    assert table["customers"].to_dict() == {"point": 4, "city": 2, "none": 1, "province": 1}
    assert table["share"].to_dict() == {"point": 0.5, "city": 0.25, "none": 0.125,
                                        "province": 0.125}


def test_data_quality_and_table_rows_of_a_province_report(tmp_path):
    write_case(tmp_path, **{"crm.csv": CRM, "erp_gbk.csv": ERP, "orders.csv": ORDERS})
    ctx = open_step(region="广东", run_dir=str(tmp_path / "run"),
                    config=str(tmp_path / "workbook.yaml"))
    # Guangdong: customers C1 (own point), C2 (Guangzhou), C5 (Shenzhen, no province given);
    # orders O1, O2 (C1) and O3 (C2).
    quality = prep.data_quality(ctx)
    assert quality["rows"] == {"customers": 7, "orders": 4, "reps": 0, "spend": 0}
    assert quality["ledger_balanced"] is True
    assert (quality["customers_in_scope"], quality["orders_in_scope"]) == (3, 3)
    assert quality["geo_precision"] == {"city": 2, "point": 1}
    assert quality["unresolved_names"] == 1  # Atlantis
    path = prep.save_data_quality(ctx)
    assert path == ctx.out / "data_quality.json"
    assert json.loads(path.read_text("utf-8")) == quality
    rows = prep.table_rows(ctx)
    assert rows.to_dict("index") == {
        "customers": {"rows in the whole market": 7, "rows in this report's scope": 3},
        "orders": {"rows in the whole market": 4, "rows in this report's scope": 3},
        "reps": {"rows in the whole market": 0, "rows in this report's scope": 0},
        "spend": {"rows in the whole market": 0, "rows in this report's scope": 0}}


def test_quarantine_values_written_column_by_column_as_json_dumps_writes_each_row():
    """``_records_json`` (the quarantine's values, column by column) against the rule it
    replaces: per row, ``json.dumps`` of the dict of its non-empty values, the value as
    read put in (in place, or last when the column is not shown)."""
    from helpers.data.ledger import _records_json

    values = pd.DataFrame({
        "order_id": ["A1", 'q"uote', "back\\slash", None, "tab\there", "新\n行", "\x01ctl"],
        "amount": ["1.5", None, "1.5", None, "\u2028", "", "1.5"],
        "city": [None, "北京", "北京", None, "Zürich", "é", None],
    }, dtype="string")
    given = [None, "raw 1", None, None, '"x"', "\\", None]

    def by_rows(column):
        records = values.to_dict("records")
        for rec, value in zip(records, given, strict=True):
            if value is not None:
                rec[column] = value
        return [json.dumps({k: v for k, v in rec.items() if not pd.isna(v)}, ensure_ascii=False)
                for rec in records]

    assert _records_json(values).tolist() == [
        json.dumps({k: v for k, v in rec.items() if not pd.isna(v)}, ensure_ascii=False)
        for rec in values.to_dict("records")]
    for column in ("amount", "line text"):  # in place; a key of its own, last
        assert _records_json(values, (column, given)).tolist() == by_rows(column)
    assert _records_json(values.iloc[[3]]).tolist() == ["{}"]
    assert _records_json(values.iloc[:0]).tolist() == []
    assert _records_json(values, ("line text", given))[1] == \
        '{"order_id": "q\\"uote", "city": "北京", "line text": "raw 1"}'
