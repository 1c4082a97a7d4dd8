"""Files the workbook writes: JSON as people read it; CSV and Excel where no cell starts a
formula (OWASP CSV injection) and numbers stay numbers."""

from __future__ import annotations

import csv
import json
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from helpers.files import (
    neutralise,
    neutralise_text,
    read_csv,
    restore,
    restore_text,
    write_csv,
    write_json,
    write_xlsx,
)

FORMULA = '=HYPERLINK("http://example.com/x","click")'


@pytest.mark.parametrize(("value", "expected"), [
    (FORMULA, "'" + FORMULA),
    ("+1+1", "'+1+1"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("  =1+1", "'  =1+1"),          # after leading white space
    ("\u3000=1", "'\u3000=1"),      # an ideographic space is white space too
    ("'=1", "''=1"),                 # already quoted: one more, so the round trip holds
    ("a=b", "a=b"),
    ("深圳安防科技有限公司", "深圳安防科技有限公司"),
    ("", ""),
    ("'quoted", "'quoted"),
    (-5, -5),
    (None, None),
])
def test_neutralise_text_by_hand(value, expected):
    assert neutralise_text(value) == expected
    assert restore_text(neutralise_text(value)) == value


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "name": [FORMULA, "深圳安防", "-dash", None],
        "customer_id": pd.array(["@c1", "C2", "+c3", pd.NA], dtype="string"),
        "amount": [-1500.5, 2.0, np.nan, 3.25],
        "orders": [-3, 1, 2, 0],
        "tier": pd.Categorical(["=A", "B", "=A", "B"]),
        "when": pd.to_datetime(["2025-01-01", "2025-02-01", None, "2025-03-01"]),
        "=header": [1, 2, 3, 4],
    })


def test_neutralise_changes_text_only_and_restore_inverts_it():
    frame = _frame()
    safe = neutralise(frame)
    assert list(safe["name"].iloc[:3]) == ["'" + FORMULA, "深圳安防", "'-dash"]
    assert pd.isna(safe["name"].iloc[3])
    assert list(safe["customer_id"].iloc[:3]) == ["'@c1", "C2", "'+c3"]
    assert list(safe["tier"].cat.categories) == ["'=A", "B"]
    assert list(safe.columns)[-1] == "'=header"
    assert [str(t) for t in safe.dtypes] == [str(t) for t in frame.dtypes]
    assert safe["amount"].equals(frame["amount"]) and safe["orders"].equals(frame["orders"])
    restored = restore(safe)
    pd.testing.assert_frame_equal(restored, frame)
    assert frame.loc[0, "name"] == FORMULA  # input untouched


def test_csv_cells_are_neutralised_and_read_back_unchanged(tmp_path):
    frame = _frame().drop(columns=["tier", "when"])
    path = write_csv(frame, tmp_path / "list.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    cells = [cell for row in rows for cell in row]
    assert not any(cell.lstrip()[:1] in "=+-@" and cell.lstrip()[:1] for cell in cells
                   if not _number(cell)), cells
    assert rows[1][0] == "'" + FORMULA and rows[1][2] == "-1500.5"  # numbers stay numbers
    back = read_csv(path, dtype={"customer_id": "string"})
    assert list(back.columns) == list(frame.columns)
    assert back["name"].iloc[0] == FORMULA and back["customer_id"].iloc[0] == "@c1"
    assert back["amount"].iloc[0] == -1500.5 and back["orders"].iloc[0] == -3


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_xlsx_holds_no_formula(tmp_path):
    frame = _frame()
    path = write_xlsx({"campaign list": frame, "other": frame.head(1)}, tmp_path / "a.xlsx")
    book = load_workbook(path)
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert cells and not [c.coordinate for c in cells if c.data_type == "f"]
    sheet = book["campaign list"]
    header = [c.value for c in sheet[1]]
    assert header[-1] == "'=header"
    assert sheet.cell(row=2, column=1).value == "'" + FORMULA
    assert sheet.cell(row=2, column=3).value == -1500.5  # a number, not text
    assert sheet.cell(row=2, column=4).value == -3


def test_plain_pandas_would_write_a_formula(tmp_path):
    """The case the neutraliser exists for (openpyxl stores '=...' text as a formula)."""
    path = tmp_path / "raw.xlsx"
    pd.DataFrame({"name": [FORMULA]}).to_excel(path, index=False)
    assert load_workbook(path).active["A2"].data_type == "f"


def test_write_json_reads_as_people_read_it(tmp_path):
    data = {"rows": np.int64(3), "share": np.float64(0.25), "gap": float("nan"), "missing": pd.NA,
            "day": pd.Timestamp("2025-03-01"), "moment": pd.Timestamp("2025-03-01 08:30"),
            "region": "广东省", 7: [np.int32(1), None]}
    path = tmp_path / "out" / "facts.json"
    assert write_json(data, path) == path
    text = path.read_text("utf-8")
    assert "广东省" in text  # UTF-8, not \u escapes
    assert json.loads(text) == {"rows": 3, "share": 0.25, "gap": None, "missing": None,
                                "day": "2025-03-01", "moment": "2025-03-01T08:30:00",
                                "region": "广东省", "7": [1, None]}
    write_json({"rows": 4}, path)  # replaced whole, no temporary file left beside it
    assert json.loads(path.read_text("utf-8")) == {"rows": 4}
    assert [p.name for p in path.parent.iterdir()] == ["facts.json"]


def test_csv_files_carry_a_byte_order_mark_for_excel(tmp_path):
    # Excel reads a CSV without a BOM in the system's code page (GBK on a Chinese Windows)
    frame = pd.DataFrame({"customer": ["华东电子有限公司", "Müller GmbH"], "revenue": [1.5, 2.0]})
    path = write_csv(frame, tmp_path / "list.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "华东电子有限公司".encode() in raw
    assert raw.decode("utf-8-sig").splitlines()[0] == "customer,revenue"
    pd.testing.assert_frame_equal(read_csv(path), frame)   # pandas reads it as plain UTF-8
    with path.open(encoding="utf-8-sig", newline="") as handle:
        assert next(csv.reader(handle)) == ["customer", "revenue"]


def test_xlsx_cells_keep_their_types_and_the_sheet_reads_well(tmp_path):
    """Every cell as the frame holds it (numbers, dates, text, empty for missing, ``inf``
    for an infinity); the header stays in view with a filter; columns fit their text."""
    frame = _frame().assign(ratio=[np.inf, -np.inf, 0.5, np.nan],
                            counted=pd.array([1, None, 3, 4], dtype="Int64"),
                            flag=[True, False, True, False])
    long = "x" * 100
    path = write_xlsx({"campaign list": frame, "long": pd.DataFrame({"t": [long]})},
                      tmp_path / "a.xlsx")
    book = load_workbook(path)
    sheet = book["campaign list"]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert len(rows) == len(frame)
    columns = [c.value for c in sheet[1]]
    by_name = [dict(zip(columns, row, strict=True)) for row in rows]
    assert [r["amount"] for r in by_name] == [-1500.5, 2.0, None, 3.25]
    assert [r["orders"] for r in by_name] == [-3, 1, 2, 0]
    assert [r["customer_id"] for r in by_name] == ["'@c1", "C2", "'+c3", None]
    assert [r["tier"] for r in by_name] == ["'=A", "B", "'=A", "B"]
    assert by_name[0]["when"] == datetime(2025, 1, 1) and by_name[2]["when"] is None
    assert sheet["F2"].number_format == "yyyy-mm-dd"
    assert [r["ratio"] for r in by_name] == ["inf", "-inf", 0.5, None]
    assert [r["counted"] for r in by_name] == [1, None, 3, 4]
    assert [r["flag"] for r in by_name] == [True, False, True, False]
    assert by_name[1]["name"] == "深圳安防" and by_name[3]["name"] is None
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == f"A1:J{len(frame) + 1}"
    assert sheet["A1"].font.b
    assert 40 < sheet.column_dimensions["A"].width < 50  # the formula text's length
    assert book["long"].column_dimensions["A"].width <= 61
    assert book["long"]["A2"].value == long


def test_xlsx_rows_beyond_a_sheet_go_on_in_the_next_sheet(tmp_path, monkeypatch):
    """A list longer than a worksheet holds (Excel: 1,048,576 rows) goes on in
    ``<name> (2)``, ``(3)`` ..., each with its header: no row is left out."""
    from helpers import files

    monkeypatch.setattr(files, "XLSX_MAX_ROWS", 3)
    frame = pd.DataFrame({"customer_id": [f"C{i}" for i in range(7)], "n": range(7)})
    name = "a sheet name of exactly 31 char"
    path = write_xlsx({name: frame, "empty": frame.iloc[0:0]}, tmp_path / "long.xlsx")
    book = load_workbook(path)
    assert book.sheetnames == [name, "a sheet name of exactly 31 (2)",
                               "a sheet name of exactly 31 (3)", "empty"]
    parts = [[[c.value for c in row] for row in book[s].iter_rows()] for s in book.sheetnames]
    assert [len(p) for p in parts] == [4, 4, 2, 1]
    assert all(p[0] == ["customer_id", "n"] for p in parts)
    assert [row for p in parts[:3] for row in p[1:]] == [[f"C{i}", i] for i in range(7)]


def test_a_note_above_the_header_takes_a_row_of_each_sheet(tmp_path, monkeypatch):
    """``notes``: a line of text above the header (row 1, italic); the header, the frozen
    rows and the filter move down one row, and a longer list still goes on in the next
    sheet, each with the note, with no row left out. A note for a sheet that is not
    written is refused; a note that would start a formula is neutralised."""
    from helpers import files

    monkeypatch.setattr(files, "XLSX_MAX_ROWS", 3)
    frame = pd.DataFrame({"customer_id": [f"C{i}" for i in range(5)], "n": range(5)})
    path = write_xlsx({"list": frame, "plain": frame.head(2)}, tmp_path / "noted.xlsx",
                      notes={"list": "=the first rows"})
    book = load_workbook(path)
    assert book.sheetnames == ["list", "list (2)", "list (3)", "plain"]
    parts = [[[c.value for c in row] for row in book[s].iter_rows()] for s in book.sheetnames]
    assert [p[0] for p in parts[:3]] == [["'=the first rows", None]] * 3
    assert all(p[1] == ["customer_id", "n"] for p in parts[:3])
    assert [row for p in parts[:3] for row in p[2:]] == [[f"C{i}", i] for i in range(5)]
    assert [len(p) for p in parts] == [4, 4, 3, 3]  # note, header, at most 3 - 1 rows
    assert book["list"]["A1"].font.i and book["list"]["A2"].font.b
    assert book["list"].freeze_panes == "A3" and book["list"].auto_filter.ref == "A2:B4"
    assert parts[3] == [["customer_id", "n"], ["C0", 0], ["C1", 1]]
    assert book["plain"].freeze_panes == "A2" and book["plain"].auto_filter.ref == "A1:B3"
    with pytest.raises(ValueError, match="missing"):
        write_xlsx({"list": frame}, tmp_path / "bad.xlsx", notes={"missing": "x"})
    assert not (tmp_path / "bad.xlsx").exists()
