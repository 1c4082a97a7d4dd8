"""Bad input, one case per test: each asserts its exact outcome.

Either a clear error that names the file, column, sheet or config key, or the rows
set aside with the right reason and the ledger balanced. Every case starts from the
same small, clean export (``CUSTOMERS``, ``ORDERS``) and breaks one thing, and runs on
both paths of step 2 (``prep.engine``: pandas and duckdb).
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest
import yaml

from helpers.config import ConfigError, load_config
from helpers.data import prepare
from helpers.data.inputs import SourceError
from helpers.data.ledger import QuarantineStop, check_ledger
from helpers.data.schemas import ValidationFailed, validate
from helpers.geo.scope import Scope

CUSTOMERS = """\
id,name,prov,city,lat,lon,phone
C1,甲公司,广东,深圳,22.54,114.06,138-0000-0001
C2,乙公司,浙江省,杭州市,,,138-0000-0002
C3,丙公司,Jiangsu,Nanjing,,,138-0000-0003
"""
ORDERS = """\
oid,cid,date,amount,status
O1,C1,2025-01-10,100,done
O2,C2,2025-02-10,200,done
O3,C3,2025-03-10,300,done
"""


@pytest.fixture(autouse=True, params=["pandas", "duckdb"])
def engine(request, monkeypatch):
    """Every case on both paths: ``build_prep`` here forces ``prep.engine``."""
    def build(config):
        config.prep.engine = request.param
        result = prepare.build_prep(config)
        # an expression column (expr) is evaluated by pandas only: that path, and why, recorded
        assert result.engine["path"] == request.param or (
            "is an expression (expr)" in result.engine["reason"]), result.engine
        return result.loaded()

    monkeypatch.setitem(globals(), "build_prep", build)
    return request.param


def build_prep(config):  # replaced per path by the fixture above
    return prepare.build_prep(config)


def base_config() -> dict:
    return {
        "paths": {"data": ".", "reports": "reports"},
        "sources": {
            "customers": [{
                "name": "crm", "file": "customers.csv",
                "columns": {"customer_id": "id", "name": "name", "province": "prov",
                            "city": "city", "lat": "lat", "lon": "lon", "phone": "phone"},
            }],
            "orders": [{
                "name": "erp", "file": "orders.csv",
                "columns": {"order_id": "oid", "customer_id": "cid", "order_date": "date",
                            "amount": "amount", "status": "status"},
                "dates": {"order_date": "%Y-%m-%d"},
            }],
        },
        "geography": {"territories": {"华南": ["广东"], "华东": ["浙江", "江苏"]}},
    }


def make(tmp_path, config=None, *, encoding="utf-8", **files):
    """Write the files (defaults: the clean export) and the config; return the loaded config."""
    texts = {"customers.csv": CUSTOMERS, "orders.csv": ORDERS, **files}
    for name, content in texts.items():
        if content is None:
            continue
        if isinstance(content, bytes):
            (tmp_path / name).write_bytes(content)
        else:
            (tmp_path / name).write_text(content, encoding=encoding)
    path = tmp_path / "workbook.yaml"
    path.write_text(yaml.safe_dump(config or base_config(), allow_unicode=True), "utf-8")
    return load_config(path)


def run(tmp_path, config=None, **files):
    result = build_prep(make(tmp_path, config, **files))
    assert check_ledger(result.ledger)["balanced"].all()
    return result


def reasons(result, table="orders"):
    return result.quarantine.query("table == @table").set_index("line")["reason"].to_dict()


def count(result, table, outcome, reason=None):
    rows = result.ledger.query("table == @table and outcome == @outcome")
    if reason is not None:
        rows = rows[rows["reason"] == reason]
    return int(rows["rows"].sum())


# --------------------------------------------------------------------------- files


def test_clean_export_passes_untouched(tmp_path):
    result = run(tmp_path)
    assert len(result.customers) == 3 and len(result.orders) == 3 and result.quarantine.empty


def test_empty_file(tmp_path):
    with pytest.raises(SourceError, match=r"customers.csv: the file is empty \(no header row\)"):
        run(tmp_path, **{"customers.csv": ""})


def test_header_only_orders_file(tmp_path):
    result = run(tmp_path, **{"orders.csv": "oid,cid,date,amount,status\n"})
    assert result.orders.empty and len(result.customers) == 3
    assert count(result, "orders", "read") == 0


def test_header_only_customers_file_is_an_error(tmp_path):
    with pytest.raises(SourceError, match="no customer rows"):
        run(tmp_path, **{"customers.csv": "id,name,prov,city,lat,lon,phone\n"})


def test_wrong_encoding_configured(tmp_path):
    config = base_config()
    config["sources"]["customers"][0]["encoding"] = "gbk"
    with pytest.raises(SourceError, match=r"customers.csv: cannot be decoded as gbk.*encoding"):
        run(tmp_path, config)


def test_gbk_file_is_detected(tmp_path):
    result = run(tmp_path, **{"customers.csv": CUSTOMERS.encode("gbk")})
    assert result.customers.set_index("customer_id").loc["C1", "name"] == "甲公司"
    assert "customers.csv: encoding detected as gb18030" in result.notes


def test_utf8_bom_is_detected(tmp_path):
    result = run(tmp_path, **{"customers.csv": CUSTOMERS.encode("utf-8-sig")})
    assert "customers.csv: encoding detected as utf-8-sig" in result.notes
    assert len(result.customers) == 3


def test_semicolon_delimiter_is_detected(tmp_path):
    result = run(tmp_path, **{"orders.csv": ORDERS.replace(",", ";")})
    assert len(result.orders) == 3 and "orders.csv: delimiter detected as ';'" in result.notes


def test_tab_separated_file(tmp_path):
    config = base_config()
    config["sources"]["orders"][0]["file"] = "orders.tsv"
    result = run(tmp_path, config, **{"orders.tsv": ORDERS.replace(",", "\t")})
    assert result.orders["amount"].sum() == 600


def test_title_rows_above_the_csv_header(tmp_path):
    text = "订单导出 2025年\n导出人: 张三\n\n" + ORDERS
    result = run(tmp_path, **{"orders.csv": text})
    assert len(result.orders) == 3
    assert "orders.csv: header found on line 4; 3 line(s) above it skipped" in result.notes


def test_excel_with_title_rows(tmp_path):
    grid = [["客户名单", None, None], ["导出日期 2025-01-01", None, None], ["id", "name", "prov"],
            ["C1", "甲公司", "广东"], ["C2", "乙公司", "浙江"], ["C3", "丙公司", "江苏"]]
    pd.DataFrame(grid).to_excel(tmp_path / "crm.xlsx", sheet_name="客户", header=False,
                                index=False)
    config = base_config()
    config["sources"]["customers"][0].update(
        file="crm.xlsx", sheet="客户", columns={"customer_id": "id", "name": "name",
                                               "province": "prov"})
    result = run(tmp_path, config, **{"customers.csv": None})
    assert sorted(result.customers["customer_id"]) == ["C1", "C2", "C3"]
    assert any("header found on row 3" in n for n in result.notes)


def test_explicit_header_row(tmp_path):
    config = base_config()
    config["sources"]["orders"][0]["header_row"] = 2
    result = run(tmp_path, config, **{"orders.csv": "title line\n" + ORDERS})
    assert len(result.orders) == 3
    assert reasons(result) == {}


def test_missing_file_is_named(tmp_path):
    config = base_config()
    config["sources"]["orders"][0]["file"] = "nope.csv"
    with pytest.raises(SourceError, match=r"source 'erp': file not found: .*nope.csv \(key file\)"):
        run(tmp_path, config)


def test_missing_sheet_is_named(tmp_path):
    pd.DataFrame({"id": ["C1"]}).to_excel(tmp_path / "crm.xlsx", sheet_name="A", index=False)
    config = base_config()
    config["sources"]["customers"][0].update(file="crm.xlsx", sheet="客户",
                                             columns={"customer_id": "id"})
    with pytest.raises(SourceError, match=r"no sheet '客户' .*key sheet.*\['A'\]"):
        run(tmp_path, config)


def test_missing_column_is_named_with_its_canonical_name(tmp_path):
    with pytest.raises(SourceError, match=r"'prov' \(for province\) not found.*the file has"):
        run(tmp_path, **{"customers.csv": CUSTOMERS.replace("prov,", "province,")})


def test_duplicate_column_names(tmp_path):
    text = CUSTOMERS.replace("lat,lon", "lat,lat")
    with pytest.raises(SourceError, match=r"duplicate column names \['lat'\]"):
        run(tmp_path, **{"customers.csv": text})


def test_unsupported_file_type(tmp_path):
    config = base_config()
    config["sources"]["orders"][0]["file"] = "orders.json"
    with pytest.raises(SourceError, match="unsupported file type '.json'"):
        run(tmp_path, config, **{"orders.json": "{}"})


def test_glob_that_matches_nothing(tmp_path):
    config = base_config()
    config["sources"]["orders"][0]["file"] = "orders_*.csv"
    with pytest.raises(SourceError, match=r"source 'erp': no file matches .*orders_\*.csv"):
        run(tmp_path, config)


def test_a_file_whose_name_holds_glob_characters_is_that_file(tmp_path):
    config = base_config()
    config["sources"]["orders"][0]["file"] = "orders [2025].csv"
    result = run(tmp_path, config, **{"orders [2025].csv": ORDERS})
    assert len(result.orders) == 3
    assert set(result.ledger.query("table == 'orders'")["file"]) == {"orders [2025].csv"}


def test_several_files_per_source_are_stacked_with_a_ledger_each(tmp_path):
    config = base_config()
    config["sources"]["orders"][0]["file"] = "orders_*.csv"
    lines = ORDERS.splitlines()
    result = run(tmp_path, config, **{"orders_1.csv": "\n".join(lines[:3]) + "\n",
                                      "orders_2.csv": "\n".join([lines[0], lines[3]]) + "\n"})
    assert len(result.orders) == 3
    read = result.ledger.query("table == 'orders' and outcome == 'read'")
    assert dict(zip(read["file"], read["rows"], strict=True)) == {"orders_1.csv": 2, "orders_2.csv": 1}


def test_files_of_one_source_with_different_layouts(tmp_path):
    config = base_config()
    config["sources"]["orders"][0]["file"] = ["orders.csv", "orders_b.csv"]
    other = ORDERS.replace("status\n", "status,extra\n").replace(",done", ",done,x")
    with pytest.raises(SourceError, match=r"files \['orders.csv', 'orders_b.csv'\] have different"):
        run(tmp_path, config, **{"orders_b.csv": other})


def test_parquet_source(tmp_path):
    pd.read_csv(pd.io.common.StringIO(ORDERS), dtype=str).to_parquet(tmp_path / "orders.parquet")
    config = base_config()
    config["sources"]["orders"][0]["file"] = "orders.parquet"
    assert len(run(tmp_path, config).orders) == 3


def test_blank_lines_are_not_rows_and_lines_stay_true(tmp_path):
    text = ORDERS.replace("O2,", "\nO2,").replace("O3,C3,2025-03-10,300", "O3,C3,2025-03-10,abc")
    result = run(tmp_path, **{"orders.csv": text})
    assert count(result, "orders", "read") == 3
    assert reasons(result) == {5: "amount is not a number"}  # line 5 of the file


# --------------------------------------------------------------------------- orders


def test_unparseable_dates(tmp_path):
    result = run(tmp_path, **{"orders.csv": ORDERS.replace("2025-02-10", "2025-13-45")})
    assert reasons(result) == {3: "order_date does not match format %Y-%m-%d"}


def test_empty_order_date(tmp_path):
    result = run(tmp_path, **{"orders.csv": ORDERS.replace("2025-02-10", "")})
    assert reasons(result) == {3: "order_date is empty"}


def test_date_format_inferred_and_reported(tmp_path):
    config = base_config()
    config["sources"]["orders"][0]["dates"] = {}
    text = ORDERS.replace("2025-01-10", "10/01/2025").replace("2025-02-10", "25/02/2025") \
        .replace("2025-03-10", "10/03/2025")
    result = run(tmp_path, config, **{"orders.csv": text})
    assert list(result.orders["order_date"].dt.strftime("%Y-%m-%d")) == [
        "2025-01-10", "2025-02-25", "2025-03-10"]
    assert "erp: order_date: no format configured; inferred '%d/%m/%Y' (3 of 3 values parse)" \
        in result.notes


def test_future_dates(tmp_path):
    text = ORDERS.replace("2025-03-10", "2999-01-01").replace("2025-02-10", "2099-01-01")
    result = run(tmp_path, **{"orders.csv": text})
    assert reasons(result) == {3: "order_date in the future", 4: "order_date in the future"}


def test_text_in_amounts(tmp_path):
    result = run(tmp_path, **{"orders.csv": ORDERS.replace(",200,", ",two hundred,")})
    assert reasons(result) == {3: "amount is not a number"}


def test_amounts_with_thousands_separators_and_currency(tmp_path):
    text = ORDERS.replace(",100,", ',"1,234.50",').replace(",200,", ",¥200,")
    result = run(tmp_path, **{"orders.csv": text})
    assert result.orders["amount"].tolist() == [1234.5, 200.0, 300.0]


def test_empty_amount(tmp_path):
    result = run(tmp_path, **{"orders.csv": ORDERS.replace(",300,", ",,")})
    assert reasons(result) == {4: "amount is empty"}


def test_zero_and_negative_prices(tmp_path):
    text = ORDERS.replace(",100,", ",0,").replace(",200,", ",-5,")
    result = run(tmp_path, **{"orders.csv": text})
    assert reasons(result) == {2: "amount is zero", 3: "amount is negative (not a return)"}


def test_returns_netted(tmp_path):
    config = base_config()
    config["sources"]["orders"][0]["returns"] = {"column": "status", "values": ["returned"],
                                                 "action": "net"}
    text = ORDERS + "O4,C1,2025-04-01,100,returned\n"
    result = run(tmp_path, config, **{"orders.csv": text})
    assert result.orders["amount"].sum() == 500 and reasons(result) == {}


def test_returns_excluded(tmp_path):
    config = base_config()
    config["sources"]["orders"][0]["returns"] = {"column": "status", "values": ["returned"],
                                                 "action": "exclude"}
    result = run(tmp_path, config, **{"orders.csv": ORDERS.replace("300,done", "300,returned")})
    assert reasons(result) == {4: "return excluded (returns.action: exclude)"}
    assert result.orders["amount"].sum() == 300


def test_cancelled_status_filtered(tmp_path):
    config = base_config()
    config["sources"]["orders"][0]["filters"] = [{"column": "status", "in": ["done"]}]
    result = run(tmp_path, config, **{"orders.csv": ORDERS.replace("200,done", "200,cancelled")})
    assert reasons(result) == {3: "status 'cancelled' not in filter ['done']"}


def test_keep_status_still_works(tmp_path):
    config = base_config()
    config["sources"]["orders"][0]["keep_status"] = ["done"]
    result = run(tmp_path, config, **{"orders.csv": ORDERS.replace("200,done", "200,void")})
    assert reasons(result) == {3: "status 'void' not in keep_status"}


def test_non_product_lines_excluded_by_code(tmp_path):
    config = base_config()
    order = config["sources"]["orders"][0]
    order["columns"]["product_code"] = "sku"
    order["filters"] = [{"column": "product_code", "not_in": ["POSTAGE", "FEE"],
                         "reason": "non-product line"}]
    text = "oid,cid,date,amount,status,sku\n" + "".join(
        line + f",{sku}\n" for line, sku in zip(ORDERS.splitlines()[1:], ["A1", "POSTAGE", "FEE"],
                                                strict=True))
    result = run(tmp_path, config, **{"orders.csv": text})
    assert reasons(result) == {3: "non-product line (product_code 'POSTAGE')",
                               4: "non-product line (product_code 'FEE')"}


def test_orders_of_unknown_customers(tmp_path):
    result = run(tmp_path, **{"orders.csv": ORDERS.replace("O3,C3", "O3,C9")})
    assert reasons(result) == {4: "unknown customer_id"}


def test_customer_ids_written_as_floats(tmp_path):
    customers = CUSTOMERS.replace("C1,", "17850,").replace("C2,", "17851,")
    orders = ORDERS.replace(",C1,", ",17850.0,").replace(",C2,", ",17851.00,")
    result = run(tmp_path, **{"customers.csv": customers, "orders.csv": orders})
    assert reasons(result) == {}
    assert sorted(result.orders["customer_id"]) == ["17850", "17851", "C3"]


def test_duplicated_order_lines(tmp_path):
    result = run(tmp_path, **{"orders.csv": ORDERS + "O3,C3,2025-03-10,300,done\n"})
    assert count(result, "orders", "merged", "exact duplicate row") == 1
    assert len(result.orders) == 3


def test_empty_order_id(tmp_path):
    result = run(tmp_path, **{"orders.csv": ORDERS.replace("O2,", ",")})
    assert reasons(result) == {3: "order_id is empty"}


# --------------------------------------------------------------------------- customers


def test_empty_customer_id(tmp_path):
    result = run(tmp_path, **{"customers.csv": CUSTOMERS + ",无名公司,北京,,,,\n"})
    assert reasons(result, "customers") == {5: "customer_id is empty"}


def test_same_customer_twice_is_merged(tmp_path):
    text = CUSTOMERS + "C1,甲公司,广东省,深圳市,,,\n"
    result = run(tmp_path, **{"customers.csv": text})
    assert count(result, "customers", "merged",
                 "same customer_id as an earlier row (values combined)") == 1


def test_all_null_region_column(tmp_path):
    text = "id,name,prov,city,lat,lon,phone\nC1,甲,,,,,\nC2,乙,,,,,\nC3,丙,,,,,\n"
    result = run(tmp_path, **{"customers.csv": text})
    assert result.customers["province"].isna().all()
    assert (result.customers["geo_precision"] == "none").all()
    assert result.unresolved.empty  # empty is missing, not a bad spelling
    assert result.orders["province"].isna().all() and len(result.orders) == 3


def test_unknown_province_is_listed_with_nearest_names(tmp_path):
    text = CUSTOMERS.replace("浙江省,杭州市", "浙将省,")
    result = run(tmp_path, **{"customers.csv": text})
    row = result.unresolved.set_index("value").loc["浙将省"]
    assert row["column"] == "province" and row["rows"] == 1 and "浙江省" in row["nearest"]
    assert pd.isna(result.customers.set_index("customer_id").loc["C2", "province"])


def test_unknown_city_is_listed(tmp_path):
    text = CUSTOMERS.replace("杭州市", "杭洲市")
    result = run(tmp_path, **{"customers.csv": text})
    c2 = result.customers.set_index("customer_id").loc["C2"]
    assert c2["province"] == "浙江省" and c2["geo_precision"] == "province"
    assert result.unresolved.set_index("value").loc["杭洲市", "column"] == "city"


def test_lat_lon_swapped(tmp_path):
    text = CUSTOMERS.replace("22.54,114.06", "114.06,22.54")
    result = run(tmp_path, **{"customers.csv": text})
    c1 = result.customers.set_index("customer_id").loc["C1"]
    assert (c1["lat"], c1["lon"], c1["geo_flag"]) == (22.54, 114.06, "swapped")
    assert "customers: 1 lat/lon pair(s) were swapped and turned round" in result.notes


def test_lat_out_of_range(tmp_path):
    text = CUSTOMERS.replace("22.54,114.06", "222.54,114.06")
    result = run(tmp_path, **{"customers.csv": text})
    c1 = result.customers.set_index("customer_id").loc["C1"]
    assert c1["geo_flag"] == "out_of_range" and c1["geo_precision"] == "city"
    assert c1["lat"] == pytest.approx(22.5435, abs=0.01)  # 深圳市's point


def test_point_outside_the_country(tmp_path):
    text = CUSTOMERS.replace("22.54,114.06", "48.85,2.35")  # Paris
    result = run(tmp_path, **{"customers.csv": text})
    c1 = result.customers.set_index("customer_id").loc["C1"]
    assert c1["geo_flag"] == "outside_country" and c1["geo_precision"] == "city"


def test_gcj02_coordinates_are_converted(tmp_path):
    config = base_config()
    config["geography"]["coordinates"] = "gcj02"
    text = CUSTOMERS.replace("22.54,114.06", "39.910126,116.403743")  # Tiananmen, GCJ-02
    result = run(tmp_path, config, **{"customers.csv": text.replace("广东,深圳", "北京,北京")})
    c1 = result.customers.set_index("customer_id").loc["C1"]
    assert c1["lat"] == pytest.approx(39.908722, abs=2e-6)
    assert c1["lon"] == pytest.approx(116.397499, abs=2e-6)
    assert "customers: 1 coordinate pair(s) converted from gcj02 to WGS-84" in result.notes


def test_region_with_zero_customers(tmp_path):
    config = make(tmp_path)
    scope = Scope.parse("西藏", config)
    result = build_prep(config)
    assert scope.filter(result.customers).empty and scope.filter(result.orders).empty


def test_same_name_and_phone_under_different_ids_flagged_not_merged(tmp_path):
    text = CUSTOMERS + "C4,甲公司,广东,深圳,,,13800000001\n"
    result = run(tmp_path, **{"customers.csv": text})
    assert sorted(result.duplicates["customer_id"]) == ["C1", "C4"]
    assert set(result.duplicates["match"]) == {"name+phone"}
    assert len(result.customers) == 4


def test_same_name_and_phone_merged_by_rule(tmp_path):
    config = base_config()
    config["identity"] = {"duplicates": {"match": [["name", "phone"]], "action": "merge"}}
    customers = CUSTOMERS + "C4,甲公司,广东,深圳,,,13800000001\n"
    orders = ORDERS + "O4,C4,2025-04-01,50,done\n"
    result = run(tmp_path, config, **{"customers.csv": customers, "orders.csv": orders})
    assert sorted(result.customers["customer_id"]) == ["C1", "C2", "C3"]
    assert count(result, "customers", "merged",
                 "same name+phone as another customer_id (identity.duplicates: merge)") == 1
    assert result.orders.set_index("order_id").loc["O4", "customer_id"] == "C1"


def test_location_derived_from_orders(tmp_path):
    config = base_config()
    config["sources"]["customers"][0]["columns"] = {"customer_id": "id", "name": "name"}
    config["sources"]["orders"][0]["columns"].update(province="ship_prov", city="ship_city")
    orders = ("oid,cid,date,amount,status,ship_prov,ship_city\n"
              "O1,C1,2025-01-10,100,done,广东,深圳\nO2,C1,2025-02-10,100,done,浙江,杭州\n"
              "O3,C1,2025-03-10,100,done,浙江,杭州\nO4,C2,2025-01-10,100,done,广东,广州\n"
              "O5,C2,2025-02-10,100,done,江苏,南京\n")
    result = run(tmp_path, config, **{"orders.csv": orders})
    c = result.customers.set_index("customer_id")
    assert c.loc["C1", "city"] == "杭州市"          # most frequent
    assert c.loc["C2", "city"] == "南京市"          # a tie goes to the latest order
    assert c.loc["C3", "geo_precision"] == "none"   # no orders, no location


def test_join_with_repeated_keys_needs_aggregate(tmp_path):
    config = base_config()
    order = config["sources"]["orders"][0]
    order["columns"]["amount"] = "paid"
    order["joins"] = [{"file": "payments.csv", "left_on": "oid", "columns": ["paid"]}]
    payments = "oid,paid\nO1,60\nO1,40\nO2,200\nO3,300\n"
    with pytest.raises(SourceError, match=r"1 key\(s\) repeat .*add 'aggregate'"):
        run(tmp_path, config, **{"payments.csv": payments})
    order["joins"][0]["aggregate"] = {"paid": "sum"}
    result = run(tmp_path, config, **{"payments.csv": payments})
    assert result.orders.set_index("order_id")["amount"].to_dict() == {"O1": 100, "O2": 200,
                                                                       "O3": 300}


def test_constant_and_template_columns(tmp_path):
    config = base_config()
    config["sources"]["orders"][0]["columns"].update(
        order_id={"template": "{oid}-{cid}"}, product_category={"const": "门禁"})
    result = run(tmp_path, config)
    assert sorted(result.orders["order_id"]) == ["O1-C1", "O2-C2", "O3-C3"]
    assert (result.orders["product_category"] == "门禁").all()


def test_expression_naming_a_missing_column(tmp_path):
    config = base_config()
    config["sources"]["orders"][0]["columns"]["amount"] = {"expr": "`amount` * `rate`"}
    with pytest.raises(SourceError, match=r"column\(s\) 'rate' not found \(source 'erp'\)"):
        run(tmp_path, config)


def test_expression_column(tmp_path):
    config = base_config()
    config["sources"]["orders"][0]["columns"]["amount"] = {"expr": "`amount` * 1.1"}
    result = run(tmp_path, config)
    assert result.orders["amount"].sum() == pytest.approx(660)


# --------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c["geography"].update(country="Atlantis"), "geography.country"),
        (lambda c: c["sources"]["orders"][0]["columns"].update(colour="x"), "colour"),
        (lambda c: c["sources"]["orders"][0].update(filters=[{"column": "status"}]),
         "exactly one of 'in' or 'not_in'"),
        (lambda c: c["sources"]["orders"][0]["columns"].update(amount={"const": 1, "expr": "x"}),
         "exactly one of const, template or expr"),
        (lambda c: c.update(identity={"duplicates": {"match": [["name", "shoe"]]}}),
         "identity.duplicates.match[0]"),
        (lambda c: c["sources"]["customers"].append(dict(c["sources"]["customers"][0])),
         "source name(s) ['crm'] used twice"),
    ],
)
def test_wrong_config_is_named(tmp_path, change, message):
    config = base_config()
    change(config)
    with pytest.raises(ConfigError) as err:
        make(tmp_path, config)
    assert message in str(err.value)


def test_validation_lists_every_problem_at_once():
    frame = pd.DataFrame({"order_id": pd.Series([None, "O2"], dtype="string"),
                          "customer_id": pd.Series(["C1", None], dtype="string"),
                          "order_date": pd.to_datetime(["2025-01-01", "2025-01-02"]),
                          "amount": [1.0, 2.0]})
    with pytest.raises(ValidationFailed) as err:
        validate("orders", frame)
    text = str(err.value)
    assert "column 'order_id': not_nullable: 1 value(s), e.g. <NA> at row(s) [0]" in text
    assert "column 'customer_id': not_nullable: 1 value(s), e.g. <NA> at row(s) [1]" in text


# --------------------------------------------------------------------------- issue 10: files


def long_name(chars: int = 200_000) -> str:
    return "x" * chars


def test_long_field_in_the_first_256_kb_is_set_aside_with_its_line(tmp_path):
    result = run(tmp_path, **{"customers.csv": CUSTOMERS.replace("甲公司", long_name())})
    assert reasons(result, "customers") == {
        2: "value in column 'name' longer than 100,000 characters (prep.max_field_chars)"}
    assert reasons(result) == {2: "unknown customer_id"}  # C1's order: C1 was set aside
    shown = result.quarantine.query("table == 'customers'")["values"].iloc[0]
    assert '"name": "' + "x" * 200 + '... (200,000 characters)"' in shown


def test_long_field_past_the_first_256_kb_is_set_aside_the_same_way(tmp_path):
    rows = "".join(f"C{i},公司{i},广东,深圳,,,\n" for i in range(10, 20_000))  # ~470 KB
    text = CUSTOMERS + rows + f"C99999,{long_name()},广东,深圳,,,\n"
    result = run(tmp_path, **{"customers.csv": text})
    assert reasons(result, "customers") == {
        20_000 - 10 + 5: "value in column 'name' longer than 100,000 characters "
                         "(prep.max_field_chars)"}
    assert count(result, "customers", "read") == 3 + 19_990 + 1


def test_long_value_in_a_column_the_config_does_not_use_is_kept(tmp_path):
    text = CUSTOMERS.replace("phone\n", "phone,notes\n").replace("0001\n", f"0001,{long_name()}\n")
    result = run(tmp_path, **{"customers.csv": text.replace("0002\n", "0002,\n")
                              .replace("0003\n", "0003,\n")})
    assert result.quarantine.empty and len(result.customers) == 3


def test_max_field_chars_can_be_raised(tmp_path):
    config = base_config()
    config["prep"] = {"max_field_chars": 300_000}
    result = run(tmp_path, config, **{"customers.csv": CUSTOMERS.replace("甲公司", long_name())})
    assert result.quarantine.empty
    assert result.customers.set_index("customer_id").loc["C1", "name"] == long_name()


def test_gzip_named_csv_says_what_it_is(tmp_path):
    with pytest.raises(SourceError, match=r"orders.csv: the file is gzip-compressed, not CSV "
                       r"text \(source 'erp'\); name it orders.csv.gz to have it read as it is, "
                       r"or unpack it$"):
        run(tmp_path, **{"orders.csv": gzip.compress(ORDERS.encode())})


def test_gzip_named_csv_gz_is_read(tmp_path):
    config = base_config()
    config["sources"]["orders"][0]["file"] = "orders.csv.gz"
    result = run(tmp_path, config, **{"orders.csv.gz": gzip.compress(ORDERS.encode())})
    assert result.orders["amount"].sum() == 600


def test_xlsx_named_csv_says_what_it_is(tmp_path):
    book = io.BytesIO()
    pd.read_csv(io.StringIO(ORDERS)).to_excel(book, index=False)
    with pytest.raises(SourceError, match=r"orders.csv: the file is an Excel workbook \(.xlsx\), "
                       r"not CSV text \(source 'erp'\); name it orders.xlsx"):
        run(tmp_path, **{"orders.csv": book.getvalue()})


def test_zip_named_csv_says_what_it_is(tmp_path):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("orders.csv", ORDERS)
    with pytest.raises(SourceError, match=r"orders.csv: the file is a ZIP archive, not CSV text "
                       r"\(source 'erp'\); unpack it"):
        run(tmp_path, **{"orders.csv": archive.getvalue()})


def test_parquet_named_csv_says_what_it_is(tmp_path):
    data = io.BytesIO()
    pd.read_csv(io.StringIO(ORDERS)).to_parquet(data)
    with pytest.raises(SourceError, match=r"orders.csv: the file is a Parquet file, not CSV text "
                       r"\(source 'erp'\); name it orders.parquet$"):
        run(tmp_path, **{"orders.csv": data.getvalue()})


def test_binary_named_csv_says_what_it_is(tmp_path):
    with pytest.raises(SourceError, match=r"orders.csv: the file is binary data \(it holds NUL "
                       r"bytes\), not CSV text"):
        run(tmp_path, **{"orders.csv": bytes(range(256)) * 20})


def test_csv_named_xlsx_says_what_it_is(tmp_path):
    config = base_config()
    config["sources"]["orders"][0]["file"] = "orders.xlsx"
    with pytest.raises(SourceError, match=r"orders.xlsx: the file is text \(CSV\?\), not an "
                       r"Excel workbook \(source 'erp'\); name it orders.csv$"):
        run(tmp_path, config, **{"orders.xlsx": ORDERS})


def test_html_named_xls_says_what_it_is(tmp_path):
    config = base_config()
    config["sources"]["orders"][0]["file"] = "orders.xls"
    page = "<html><body><table><tr><td>oid</td></tr></table></body></html>"
    with pytest.raises(SourceError, match=r"orders.xls: the file is an HTML page .*not an Excel "
                       r"workbook \(source 'erp'\); open it in Excel and save it as .xlsx"):
        run(tmp_path, config, **{"orders.xls": page})


def test_utf16_file_is_read(tmp_path):
    result = run(tmp_path, **{"customers.csv": CUSTOMERS.encode("utf-16")})
    assert "customers.csv: encoding detected as utf-16" in result.notes
    assert result.customers.set_index("customer_id").loc["C2", "name"] == "乙公司"


def test_a_few_gbk_lines_inside_utf8_are_set_aside_with_their_lines(tmp_path):
    text = (CUSTOMERS.encode() + "C4,丁公司,广东,广州,,,\n".encode("gbk")
            + "C5,戊公司,广东,广州,,,\n".encode())
    result = run(tmp_path, **{"customers.csv": text})
    assert reasons(result, "customers") == {5: "line is not valid UTF-8 (another encoding mixed in)"}
    assert sorted(result.customers["customer_id"]) == ["C1", "C2", "C3", "C5"]
    assert "customers.csv: 1 line(s) are not valid UTF-8 (another encoding mixed in) and were " \
           "set aside: line(s) 5" in result.notes
    values = json.loads(result.quarantine["values"].iloc[0])
    assert values["line text"] == "C4,丁公司,广东,广州,,,"  # shown decoded as GBK


def test_gbk_lines_past_the_first_256_kb_are_set_aside_with_their_lines(tmp_path):
    rows = "".join(f"C{i},公司{i},广东,深圳,,,\n" for i in range(10, 15_000))
    text = (CUSTOMERS + rows).encode() + "C4,丁公司,广东,广州,,,\n".encode("gbk")
    result = run(tmp_path, **{"customers.csv": text})
    assert reasons(result, "customers") == {
        4 + 14_990 + 1: "line is not valid UTF-8 (another encoding mixed in)"}
    assert len(result.customers) == 3 + 14_990


def test_a_file_in_another_encoding_names_its_first_bad_line_and_what_fits(tmp_path):
    config = base_config()
    config["sources"]["customers"][0]["encoding"] = "utf-8"
    with pytest.raises(SourceError) as err:
        run(tmp_path, config, **{"customers.csv": CUSTOMERS.encode("gbk")})
    assert str(err.value).endswith(
        "customers.csv: cannot be decoded as utf-8: 3 of the 3 lines holding non-ASCII text "
        "are not valid UTF-8 (the first: line 2, byte 35); the whole file decodes as gb18030: "
        "set encoding: gb18030 (set the encoding of source 'crm'; 'auto' detects UTF-8 and "
        "GB18030)")
    assert len(CUSTOMERS.splitlines()[0]) + 1 + len("C1,") == 35  # the byte named is 甲's


def test_ragged_line_with_more_values_is_set_aside(tmp_path):
    text = ORDERS.replace("O2,C2,2025-02-10,200,done", "O2,C2,2025-02-10,1,200,done")
    result = run(tmp_path, **{"orders.csv": text})
    assert reasons(result) == {3: "ragged line: more values than the header's 5 columns"}
    assert json.loads(result.quarantine["values"].iloc[0])["line text"] == \
        "O2,C2,2025-02-10,1,200,done"
    assert result.orders["amount"].sum() == 400


def test_ragged_line_with_fewer_values_is_set_aside(tmp_path):
    text = ORDERS.replace("O2,C2,2025-02-10,200,done", "O2,C2,2025-02-10,200")
    result = run(tmp_path, **{"orders.csv": text})
    assert reasons(result) == {3: "ragged line: fewer values than the header's 5 columns"}


def test_ragged_lines_keep_the_line_numbers_of_the_rows_after_them(tmp_path):
    text = (ORDERS.replace("O1,C1,2025-01-10,100,done", "O1,C1,2025-01-10,100")
            .replace("O2,", "\nO2,").replace("O3,C3,2025-03-10,300", "O3,C3,2025-03-10,abc"))
    result = run(tmp_path, **{"orders.csv": text})
    assert reasons(result) == {2: "ragged line: fewer values than the header's 5 columns",
                               5: "amount is not a number"}


def test_one_empty_value_past_the_last_column_is_not_ragged(tmp_path):
    result = run(tmp_path, **{"orders.csv": ORDERS.replace("done\n", "done,\n")})
    assert result.quarantine.empty and result.orders["amount"].sum() == 600


def test_one_empty_column_past_the_last_header_name_is_not_ragged(tmp_path):
    result = run(tmp_path, **{"orders.csv": ORDERS.replace("status\n", "status,\n")})
    assert result.quarantine.empty and result.orders["amount"].sum() == 600


def test_line_numbers_count_line_breaks_inside_quoted_values(tmp_path):
    text = ORDERS.replace("O2,C2,2025-02-10,200,done", 'O2,C2,2025-02-10,200,"done\n(late)"') \
        .replace("O3,C3,2025-03-10,300", "O3,C3,2025-03-10,abc")
    result = run(tmp_path, **{"orders.csv": text})
    assert reasons(result) == {5: "amount is not a number"}


def test_a_quote_left_open_is_named_with_its_line(tmp_path):
    text = ORDERS.replace("O1,C1,2025-01-10", 'O1,C1,"2025-01-10') + "O4,C1,2025-04-01,5,done\n"
    with pytest.raises(SourceError, match=r"orders.csv: line 2: a quoted value opened on this "
                       r"line runs over 4 lines \(to line 5\) and holds what look like rows of "
                       r"their own \(source 'erp'\); a quote \(\"\) is not closed on line 2"):
        run(tmp_path, **{"orders.csv": text})


def test_ragged_line_in_a_joined_file_is_noted(tmp_path):
    config = base_config()
    order = config["sources"]["orders"][0]
    order["columns"]["amount"] = "paid"
    order["joins"] = [{"file": "payments.csv", "left_on": "oid", "columns": ["paid"]}]
    result = run(tmp_path, config, **{"payments.csv": "oid,paid\nO1,60\nO2,1,200\nO3,300\n"})
    assert "join payments.csv of source 'erp': 1 line(s) not joined (ragged line: more values " \
           "than the header's 2 columns): line(s) 3" in result.notes
    assert reasons(result) == {3: "amount is empty"}


def test_invisible_characters_in_a_header(tmp_path):
    result = run(tmp_path, **{"customers.csv": CUSTOMERS.replace("id,name", "\ufeff\u200bid,name")})
    assert len(result.customers) == 3
    assert "customers.csv: invisible characters (zero-width space, byte-order mark ...) removed " \
           "from column name(s) ['id']" in result.notes


def test_unknown_encoding_names_the_key(tmp_path):
    config = base_config()
    config["sources"]["orders"][0]["encoding"] = "gbx"
    with pytest.raises(ConfigError, match=r"sources.orders.0.encoding: Value error, unknown "
                       r"encoding 'gbx'; expected auto or a name such as utf-8"):
        make(tmp_path, config)


# --------------------------------------------------------------------------- issue 10: values


def test_full_width_digits_in_amounts_are_read(tmp_path):
    text = ORDERS.replace(",100,", ",１００,").replace(",200,", ',"１,２００．５",')
    result = run(tmp_path, **{"orders.csv": text})
    assert result.orders["amount"].tolist() == [100.0, 1200.5, 300.0]


def test_non_finite_amounts_are_set_aside(tmp_path):
    lines = [f"O{i},C1,2025-01-{1 + i % 28:02d},{a},done" for i, a in
             enumerate(["inf", "Infinity", "1e309", "-inf"] + ["10"] * 76)]
    result = run(tmp_path, **{"orders.csv": "oid,cid,date,amount,status\n" + "\n".join(lines)})
    assert reasons(result) == {2: "amount is not a finite number", 3: "amount is not a finite number",
                               4: "amount is not a finite number", 5: "amount is not a finite number"}
    assert [json.loads(v)["amount"] for v in result.quarantine["values"]] == [
        "inf", "Infinity", "1e309", "-inf"]
    assert np.isfinite(result.orders["amount"]).all() and len(result.orders) == 76


def test_nan_as_an_amount_is_not_a_number(tmp_path):
    result = run(tmp_path, **{"orders.csv": ORDERS.replace(",100,", ",NaN,")})
    assert reasons(result) == {2: "amount is not a number"}


def test_non_finite_in_an_optional_column_is_left_empty_with_a_note(tmp_path):
    result = run(tmp_path, **{"customers.csv": CUSTOMERS.replace("22.54,114.06", "inf,114.06")})
    assert "customers.lat: 1 value(s) are not finite numbers and were left empty (e.g. 'inf')" \
        in result.notes
    assert result.customers.set_index("customer_id").loc["C1", "geo_precision"] == "city"


def test_fractional_quantity_is_noted(tmp_path):
    config = base_config()
    config["sources"]["orders"][0]["columns"]["quantity"] = "qty"
    text = ORDERS.replace("status\n", "status,qty\n").replace("O1,C1,2025-01-10,100,done",
                                                              "O1,C1,2025-01-10,100,done,2.5")
    result = run(tmp_path, config, **{"orders.csv": text.replace("done\n", "done,3\n")})
    assert "orders.quantity: 1 value(s) have a fraction and were rounded to whole numbers, as " \
           "quantity holds whole numbers (e.g. '2.5' -> 2)" in result.notes
    assert result.orders["quantity"].tolist() == [2, 3, 3]


def test_order_dates_before_the_earliest_year_are_set_aside(tmp_path):
    text = ORDERS.replace("2025-01-10", "1900-01-01").replace("2025-02-10", "1989-12-31")
    result = run(tmp_path, **{"orders.csv": text})
    assert reasons(result) == {2: "order_date before 1990 (prep.earliest_year)",
                               3: "order_date before 1990 (prep.earliest_year)"}
    assert json.loads(result.quarantine["values"].iloc[0])["order_date"] == "1900-01-01"


def test_earliest_year_can_be_moved(tmp_path):
    config = base_config()
    config["prep"] = {"earliest_year": 1980}
    result = run(tmp_path, config, **{"orders.csv": ORDERS.replace("2025-02-10", "1985-02-10")})
    assert result.quarantine.empty
    config["prep"] = {"earliest_year": 1600}
    with pytest.raises(ConfigError, match="prep.earliest_year: Input should be greater than or "
                                          "equal to 1678"):
        make(tmp_path, config)


def test_signup_dates_in_the_future_or_at_excels_zero_are_left_empty_with_notes(tmp_path):
    config = base_config()
    config["sources"]["customers"][0]["columns"]["signup_date"] = "signup"
    text = CUSTOMERS.replace("phone\n", "phone,signup\n").replace("0001\n", "0001,2099-01-01\n") \
        .replace("0002\n", "0002,1899-12-30\n").replace("0003\n", "0003,2024-01-01\n")
    result = run(tmp_path, config, **{"customers.csv": text})
    assert "crm: signup_date: 1 value(s) before 1990 (prep.earliest_year) were left empty (e.g. " \
           "'1899-12-30'); 1899-12-30 and 1900-01-00 are what Excel shows for an empty date " \
           "cell" in result.notes
    assert "crm: signup_date: 1 value(s) in the future were left empty (e.g. '2099-01-01')" \
        in result.notes
    signup = result.customers.set_index("customer_id")["signup_date"]
    assert signup.isna().tolist() == [True, True, False] and len(result.customers) == 3


def test_excel_date_format_reads_day_numbers(tmp_path):
    config = base_config()
    config["sources"]["orders"][0]["dates"] = {"order_date": "excel"}
    text = ORDERS.replace("2025-01-10", "45667").replace("2025-02-10", "45698.75")
    result = run(tmp_path, config, **{"orders.csv": text})
    assert result.orders["order_date"].tolist() == [
        pd.Timestamp("2025-01-10"), pd.Timestamp("2025-02-10 18:00"), pd.Timestamp("2025-03-10")]


def test_excel_date_format_reads_date_cells(tmp_path):
    config = base_config()
    order = config["sources"]["orders"][0]
    order.update(file="orders.xlsx", dates={"order_date": "excel"})
    frame = pd.read_csv(io.StringIO(ORDERS), dtype={"amount": int})
    frame["date"] = pd.to_datetime(frame["date"])
    frame.to_excel(tmp_path / "orders.xlsx", index=False)
    result = run(tmp_path, config)
    assert result.orders["order_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2025-01-10", "2025-02-10", "2025-03-10"]


def test_a_list_of_date_formats_is_tried_in_order(tmp_path):
    config = base_config()
    config["sources"]["orders"][0]["dates"] = {"order_date": ["%Y-%m-%d", "%d/%m/%Y"]}
    text = ORDERS.replace("2025-02-10", "11/02/2025").replace("2025-03-10", "March 2025")
    result = run(tmp_path, config, **{"orders.csv": text})
    assert result.orders["order_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2025-01-10", "2025-02-11"]
    assert reasons(result) == {4: "order_date does not match formats %Y-%m-%d, %d/%m/%Y"}


def test_full_width_digits_in_dates_are_read(tmp_path):
    result = run(tmp_path, **{"orders.csv": ORDERS.replace("2025-02-10", "２０２５-０２-１０")})
    assert result.quarantine.empty and len(result.orders) == 3


def test_a_date_format_that_is_no_format_names_the_key(tmp_path):
    config = base_config()
    config["sources"]["orders"][0]["dates"] = {"order_date": "YYYY-MM-DD"}
    with pytest.raises(ConfigError, match=r"sources.orders.0.dates: Value error, 'YYYY-MM-DD' is "
                       r"not a date format; expected a format such as '%Y-%m-%d', 'excel'"):
        make(tmp_path, config)


# --------------------------------------------------------------------------- issue 10: ids


def test_ids_excel_wrote_in_scientific_notation_are_noted(tmp_path):
    customers = CUSTOMERS.replace("C1,", "1.23457E+11,").replace("C2,", "1.23457E+11,")
    orders = ORDERS.replace(",C1,", ",1.23457E+11,").replace(",C2,", ",1.23457E+11,")
    result = run(tmp_path, **{"customers.csv": customers, "orders.csv": orders})
    assert "crm: customer_id: 2 id(s) look like numbers Excel wrote in scientific notation (1 " \
           "distinct, e.g. '1.23457E+11'): their digits are lost and cannot be recovered, so " \
           "rows that share one such id are taken as one customer; re-export the column " \
           "formatted as text" in result.notes
    assert any(n.startswith("erp: customer_id: 2 id(s) look like numbers Excel wrote")
               for n in result.notes)
    assert count(result, "customers", "merged") == 1


def test_a_zero_width_space_as_customer_id_is_an_empty_id(tmp_path):
    result = run(tmp_path, **{"customers.csv": CUSTOMERS + "\u200b,幽灵公司,北京,,,,\n",
                              "orders.csv": ORDERS + "O9,\u200b,2025-01-01,5,done\n"})
    assert reasons(result, "customers") == {5: "customer_id is empty"}
    assert reasons(result) == {5: "unknown customer_id"}  # an order's customer_id is not its key
    assert "crm: customer_id: 1 id(s) held invisible characters (zero-width space, byte-order " \
           "mark ...) that were removed (line(s) 5 ...)" in result.notes


def test_invisible_characters_around_ids_are_removed_and_noted(tmp_path):
    customers = CUSTOMERS.replace("C1,", "\ufeffC1,").replace("C2,", "C2\u00a0,") \
        .replace("C3,", "C\u200b3,")
    result = run(tmp_path, **{"customers.csv": customers})
    assert sorted(result.customers["customer_id"]) == ["C1", "C2", "C3"]
    assert result.quarantine.empty and len(result.orders) == 3
    assert "crm: customer_id: 2 id(s) held invisible characters (zero-width space, byte-order " \
           "mark ...) that were removed (line(s) 2, 4 ...)" in result.notes


# --------------------------------------------------------------------------- issue 10: stop rule


def orders_of(dates: list[str]) -> str:
    return "oid,cid,date,amount,status\n" + "".join(
        f"O{i},C{1 + i % 3},{d},{10 + i},done\n" for i, d in enumerate(dates))


STOP_TAIL = ("Step 2 stops when one reason sets aside more than 5% of a file's rows "
             "(prep.max_quarantine_share in workbook.yaml); if setting these rows aside is "
             "right, raise it to go on.")


def test_stop_excel_day_numbers_under_a_text_format(tmp_path):
    with pytest.raises(QuarantineStop) as err:
        run(tmp_path, **{"orders.csv": orders_of([str(45600 + i) for i in range(30)])})
    assert str(err.value) == "\n".join([
        "orders.csv (source 'erp', orders): 30 of 30 rows (100%) would be set aside for one "
        "reason: order_date does not match format %Y-%m-%d (column 'date', mapped to "
        "order_date). For example:",
        "  line 2: '45600'",
        "  line 3: '45601'",
        "  line 4: '45602'",
        "Likely fix: the dates look like Excel date cells saved as day numbers (45600 is "
        "2024-11-04): set sources.orders[0].dates.order_date to excel, or remove "
        "sources.orders[0].dates.order_date to have the format inferred.",
        STOP_TAIL])
    assert isinstance(err.value, SourceError)  # the batch's "data preparation failed" path
    assert err.value._render_traceback_() == [f"QuarantineStop: {err.value}"]  # no traceback


def test_stop_excel_date_cells_under_a_text_format(tmp_path):
    config = base_config()
    config["sources"]["orders"][0].update(file="orders.xlsx", dates={"order_date": "%Y/%m/%d"})
    frame = pd.read_csv(io.StringIO(ORDERS))
    frame["date"] = pd.to_datetime(frame["date"])
    frame.to_excel(tmp_path / "orders.xlsx", index=False)
    with pytest.raises(QuarantineStop) as err:
        run(tmp_path, config)
    text = str(err.value)
    assert text.startswith("orders.xlsx (source 'erp', orders): 3 of 3 rows (100%) would be set "
                           "aside for one reason: order_date does not match format %Y/%m/%d")
    assert "  line 2: '2025-01-10 00:00:00'\n" in text
    assert "Likely fix: the dates are Excel date cells (read as '2025-01-10 00:00:00'), which a " \
           "text format does not fit: remove sources.orders[0].dates.order_date or set it to " \
           "excel." in text


def test_stop_three_date_formats_mixed_in_one_column(tmp_path):
    dates = ["2025-01-10", "13/01/2025", "2025年1月14日"] * 20
    with pytest.raises(QuarantineStop) as err:
        run(tmp_path, **{"orders.csv": orders_of(dates)})
    text = str(err.value)
    assert text.startswith("orders.csv (source 'erp', orders): 40 of 60 rows (66.67%) would be "
                           "set aside for one reason: order_date does not match format %Y-%m-%d")
    assert "  line 3: '13/01/2025'\n  line 4: '2025年1月14日'\n  line 6: '13/01/2025'\n" in text
    assert "Likely fix: the column mixes date formats: besides '%Y-%m-%d', the rows set aside " \
           "use '%Y年%m月%d日' (20), '%d/%m/%Y' (20); list the formats in the order to try them: " \
           "sources.orders[0].dates.order_date: ['%Y-%m-%d', '%Y年%m月%d日', '%d/%m/%Y'] (a " \
           "value takes the first format that reads it; 01/02/2025 reads both day-first and " \
           "month-first, so put the export's order first)." in text
    config = base_config()  # ... and that list reads the file
    config["sources"]["orders"][0]["dates"] = {"order_date": ["%Y-%m-%d", "%Y年%m月%d日",
                                                              "%d/%m/%Y"]}
    result = run(tmp_path, config, **{"orders.csv": orders_of(dates)})
    assert len(result.orders) == 60 and result.quarantine.empty


def test_stop_excel_zero_dates(tmp_path):
    dates = ["1899-12-30"] * 12 + ["2025-01-05"] * 8
    with pytest.raises(QuarantineStop) as err:
        run(tmp_path, **{"orders.csv": orders_of(dates)})
    text = str(err.value)
    assert text.startswith("orders.csv (source 'erp', orders): 12 of 20 rows (60%) would be set "
                           "aside for one reason: order_date before 1990 (prep.earliest_year)")
    assert "Likely fix: dates before prep.earliest_year are taken as wrong: 1899-12-30 and " \
           "1900-01-00 (day 0 or 1) are what Excel writes for an empty date cell, so the dates " \
           "are missing in the export; if the dates are real, lower prep.earliest_year." in text


def test_stop_unknown_customers(tmp_path):
    lines = [f"O{i},C{9 if i < 12 else 1},2025-01-05,10,done" for i in range(20)]
    with pytest.raises(QuarantineStop, match=r"(?s)12 of 20 rows \(60%\) would be set aside for "
                       r"one reason: unknown customer_id \(column 'cid', mapped to customer_id\)"
                       r".*  line 2: 'C9'.*Likely fix: these orders name customers that are not "
                       r"in the customers table"):
        run(tmp_path, **{"orders.csv": "oid,cid,date,amount,status\n" + "\n".join(lines)})


def test_stop_threshold_can_be_raised(tmp_path):
    config = base_config()
    config["prep"] = {"max_quarantine_share": 0.7}
    dates = ["2025-01-10", "13/01/2025", "2025年1月14日"] * 20
    result = run(tmp_path, config, **{"orders.csv": orders_of(dates)})
    assert count(result, "orders", "quarantined",
                 "order_date does not match format %Y-%m-%d") == 40
    assert len(result.orders) == 20


def test_stop_ignores_rules_the_config_asks_for(tmp_path):
    config = base_config()
    config["sources"]["orders"][0]["filters"] = [{"column": "status", "in": ["done"]}]
    text = "oid,cid,date,amount,status\n" + "".join(
        f"O{i},C1,2025-01-{i + 1:02d},10,{'cancelled' if i < 15 else 'done'}\n" for i in range(20))
    result = run(tmp_path, config, **{"orders.csv": text})
    assert count(result, "orders", "quarantined") == 15 and len(result.orders) == 5


def test_stop_needs_ten_rows_unless_a_file_loses_all(tmp_path):
    result = run(tmp_path, **{"orders.csv": ORDERS.replace("2025-02-10", "10/02/2025")
                              .replace("2025-03-10", "10/03/2025")})
    assert len(reasons(result)) == 2  # 2 of 3 rows set aside: fewer than 10, not all
    with pytest.raises(QuarantineStop, match=r"orders.csv \(source 'erp', orders\): 3 of 3 rows"):
        run(tmp_path, **{"orders.csv": ORDERS.replace("2025-", "10/").replace("-10,", "/2025,")})


def test_stop_on_customers_comes_before_no_customer_rows(tmp_path):
    text = "id,name,prov,city,lat,lon,phone\n" + "".join(f",公司{i},,,,,\n" for i in range(30))
    with pytest.raises(QuarantineStop, match=r"customers.csv \(source 'crm', customers\): 30 of "
                       r"30 rows \(100%\) would be set aside for one reason: customer_id is empty "
                       r"\(column 'id', mapped to customer_id\)"):
        run(tmp_path, **{"customers.csv": text})


def test_stop_share_must_be_a_share(tmp_path):
    config = base_config()
    config["prep"] = {"max_quarantine_share": 5}
    with pytest.raises(ConfigError, match="prep.max_quarantine_share: Input should be less than "
                                          "or equal to 1"):
        make(tmp_path, config)
    config["prep"] = {"max_quarantine_shares": 0.1}
    with pytest.raises(ConfigError, match="prep.max_quarantine_shares: Extra inputs are not "
                                          "permitted"):
        make(tmp_path, config)


def test_quarantine_shows_the_value_that_did_not_parse(tmp_path):
    result = run(tmp_path, **{"orders.csv": ORDERS.replace("2025-02-10", "2025-13-45")
                              .replace(",300,", ",#VALUE!,")})
    values = {line: json.loads(v) for line, v in zip(result.quarantine["line"],
                                                       result.quarantine["values"], strict=True)}
    assert values[3]["order_date"] == "2025-13-45" and values[4]["amount"] == "#VALUE!"


def test_batch_stops_on_the_rule_with_the_message_and_no_traceback(tmp_path, capsys):
    from stubs import stub_notebook

    from helpers.run import batch

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    stub_notebook(notebooks / "01_stub.ipynb", 'region: str = "ALL"', "print(region)")
    config = make(tmp_path, **{"orders.csv": orders_of([str(45600 + i) for i in range(30)])})

    class NoEngine:
        calls = []

        def execute(self, notebook, output, parameters, cwd):
            self.calls.append(notebook)

    engine = NoEngine()
    code = batch.main(["--config", str(config.config_path), "--run-id", "stop",
                       "--notebooks", str(notebooks), "--reports", str(tmp_path / "reports")],
                      engine=engine)
    err = capsys.readouterr().err
    assert code == 1 and engine.calls == []
    assert "error: data preparation failed: QuarantineStop: orders.csv (source 'erp', orders): " \
           "30 of 30 rows (100%) would be set aside" in err
    assert "Traceback" not in err
    manifest = json.loads((tmp_path / "reports" / "stop" / "manifest.json").read_text("utf-8"))
    assert manifest["prep"]["error"].startswith("QuarantineStop: orders.csv")
    index = (tmp_path / "reports" / "stop" / "index.html").read_text("utf-8")
    assert "set sources.orders[0].dates.order_date to excel" in index
    # the rows set aside can be opened; the folder is never taken for a finished prep
    prep = tmp_path / "reports" / "stop" / "prep"
    assert f"every row set aside so far: {prep / 'quarantine.csv'}" in err
    quarantine = pd.read_csv(prep / "quarantine.csv")
    assert len(quarantine.query("table == 'orders'")) == 30
    assert (pd.read_csv(prep / "ledger.csv").query("table == 'orders' and outcome == 'read'")
            ["rows"].sum() == 30)
    assert not (prep / "prep.json").exists()


def test_two_orders_sources_keep_file_order_and_their_names(tmp_path):
    """Two orders sources, the second without status and with a duplicate and an unknown
    customer: the kept orders in source and file order, each named by its source, the
    column the second does not map left empty."""
    config = base_config()
    config["sources"]["orders"].append({
        "name": "shop", "file": "shop.csv",
        "columns": {"order_id": "no", "customer_id": "buyer", "order_date": "day",
                    "amount": "paid"},
        "dates": {"order_date": "%Y-%m-%d"}})
    shop = ("no,buyer,day,paid\nS2,C3,2025-04-02,40\nS1,C1,2025-04-01,50\n"
            "S1,C1,2025-04-01,50\nS3,C9,2025-04-03,60\nS0,C2,2025-03-30,70\n")
    result = run(tmp_path, config, **{"shop.csv": shop})
    orders = result.orders
    assert orders["order_id"].tolist() == ["O1", "O2", "O3", "S2", "S1", "S0"]
    assert orders["source"].tolist() == ["erp"] * 3 + ["shop"] * 3
    assert orders["status"].tolist()[:3] == ["done"] * 3 and orders["status"].iloc[3:].isna().all()
    assert orders["amount"].tolist() == [100, 200, 300, 40, 50, 70]
    assert orders["province"].tolist() == ["广东省", "浙江省", "江苏省", "江苏省", "广东省", "浙江省"]
    assert count(result, "orders", "merged", "exact duplicate row") == 1
    assert reasons(result) == {5: "unknown customer_id"}


def test_rows_of_empty_fields_are_not_counted_as_read(tmp_path):
    """Lines of delimiters only are blank rows: not read, not set aside (the DuckDB path
    counts them off the tables it read)."""
    lines = ORDERS.splitlines(keepends=True)
    text = "".join(lines[:2]) + ",,,,\n" + "".join(lines[2:]) + ",,,,\n"
    result = run(tmp_path, **{"orders.csv": text})
    assert count(result, "orders", "read") == 3 and count(result, "orders", "kept") == 3
    assert result.orders["order_id"].tolist() == ["O1", "O2", "O3"] and result.quarantine.empty


@pytest.mark.parametrize("line", [" , ,\t,\u3000,", '" ",,,,'])
def test_rows_of_whitespace_fields_are_read_and_set_aside(tmp_path, line):
    """A line whose fields hold only whitespace is not a blank line: it is counted as read
    and set aside for its empty order id on both paths (the DuckDB path tells blank rows
    by the fields as read, before trimming)."""
    lines = ORDERS.splitlines(keepends=True)
    text = "".join(lines[:2]) + line + "\n" + "".join(lines[2:])
    result = run(tmp_path, **{"orders.csv": text})
    assert count(result, "orders", "read") == 4 and count(result, "orders", "kept") == 3
    assert result.orders["order_id"].tolist() == ["O1", "O2", "O3"]
    assert reasons(result) == {3: "order_id is empty"}


def test_rows_of_quoted_empty_fields_are_blank(tmp_path):
    """Quoted empty fields are empty: a line of them is blank on both paths (not read)."""
    lines = ORDERS.splitlines(keepends=True)
    text = "".join(lines[:2]) + '"","","","",""\n' + "".join(lines[2:])
    result = run(tmp_path, **{"orders.csv": text})
    assert count(result, "orders", "read") == 3 and result.quarantine.empty


def test_rows_differing_in_outer_whitespace_only_are_exact_duplicates(tmp_path):
    """Values are compared trimmed: two lines that differ only in spaces around their
    values are one row and a merged duplicate, on both paths (so are two lines of
    whitespace only, each then no row at all but an empty order id set aside once)."""
    lines = ORDERS.splitlines(keepends=True)
    text = ("".join(lines[:2]) + " O1 , C1,2025-01-10 ,100,done\n \t, ,,,\n , ,,,\n"
            + "".join(lines[2:]))
    result = run(tmp_path, **{"orders.csv": text})
    assert count(result, "orders", "read") == 6
    assert count(result, "orders", "merged", "exact duplicate row") == 2
    assert count(result, "orders", "kept") == 3 and reasons(result) == {4: "order_id is empty"}


def test_merged_duplicate_in_the_middle_leaves_every_other_column_on_its_customer(tmp_path):
    """A duplicate merged away from the middle of the customers: the columns no rule
    reads (here email and channel, which the DuckDB path keeps on disk meanwhile) stay
    with their own customers, and the merged customer's values go with it."""
    config = base_config()
    config["identity"] = {"duplicates": {"match": [["name", "phone"]], "action": "merge"}}
    config["sources"]["customers"][0]["columns"].update({"email": "mail", "channel": "chan"})
    customers = ("id,name,prov,city,lat,lon,phone,mail,chan\n"
                 "C1,甲公司,广东,深圳,22.54,114.06,138-0000-0001,a@x.cn,直销\n"
                 "C4,甲公司,广东,深圳,,,13800000001,d@x.cn,电商\n"
                 "C2,乙公司,浙江省,杭州市,,,138-0000-0002,b@x.cn,经销\n"
                 "C3,丙公司,Jiangsu,Nanjing,,,138-0000-0003,,直销\n")
    result = run(tmp_path, config, **{"customers.csv": customers})
    kept = result.customers.set_index("customer_id")
    assert list(kept.index) == ["C1", "C2", "C3"]
    assert kept["email"].tolist()[:2] == ["a@x.cn", "b@x.cn"] and pd.isna(kept.loc["C3", "email"])
    assert kept["channel"].tolist() == ["直销", "经销", "直销"]
    assert kept["city"].tolist() == ["深圳市", "杭州市", "南京市"]
