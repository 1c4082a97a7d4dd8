"""Bad input, one case per test: each asserts its exact outcome.

Either a clear error that names the file, column, sheet or config key, or the rows
set aside with the right reason and the ledger balanced. Every case starts from the
same small, clean export (``CUSTOMERS``, ``ORDERS``) and breaks one thing.
"""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from helpers.config import ConfigError, load_config
from helpers.io import SourceError
from helpers.prep import build_prep, check_ledger
from helpers.schemas import ValidationFailed, validate
from helpers.scope import Scope

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
