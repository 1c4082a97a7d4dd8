"""Step 2's notes in a Chinese report: every note the data layer can write has its Chinese
words (``helpers.text.prep_words``), found by reading the data layer's code."""

from __future__ import annotations

import ast

import pytest
from test_report_text import english_words

from helpers.config import PROJECT_ROOT
from helpers.text.prep_words import prep_text

DATA = PROJECT_ROOT / "helpers" / "data"


def _example(node: ast.expr) -> str:
    """An example of the text a ``notes.append(...)`` argument writes: every value is 7."""
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant)
                       else ("'7'" if v.conversion == ord("r") else "7") for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):  # text + (more if x else "")
        extra = node.right.body if isinstance(node.right, ast.IfExp) else node.right
        return _example(node.left) + _example(extra)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    raise AssertionError(f"a note written as {ast.unparse(node)[:80]}: write it as an f-string")


def written_notes() -> list[tuple[str, str]]:
    """``(where, example)`` for every note appended in ``helpers/data``."""
    found = []
    for path in sorted(DATA.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "append" and "notes" in ast.unparse(node.func.value)):
                found.append((f"{path.name}:{node.lineno}", _example(node.args[0])))
    return found


def test_the_data_layer_writes_notes():
    assert len(written_notes()) >= 20


@pytest.mark.parametrize("where, note", written_notes(), ids=lambda v: str(v)[:40])
def test_every_note_of_the_data_layer_reads_in_chinese(where, note):
    shown = prep_text(note, "zh")
    assert shown != note, f"{where}: no Chinese words for {note!r} (helpers/text/prep_words.py)"
    assert not english_words(shown), (where, shown)


def test_a_note_reads_with_its_values():
    note = ("superstore_orders: order_date: no format configured; inferred '%Y-%m-%d %H:%M:%S' "
            "(10000 of 10000 values parse)")
    assert prep_text(note, "zh") == ("superstore_orders：下单日期未配置日期格式，自动识别为 "
                                     "'%Y-%m-%d %H:%M:%S'（10000 个值中 10000 个可解析）")
    assert prep_text("customers: 790 customer(s) without a location took the most frequent "
                     "ship-to of their orders", "zh") == "客户：790 家无位置的客户采用其订单中最常用的收货地"
    assert prep_text(note, "en") == note
