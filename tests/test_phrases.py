"""The generated narrative in English and Chinese: complete, consistent, display-only."""

from __future__ import annotations

import string

import pandas as pd
import pytest

from helpers.analysis import actions
from helpers.analysis.tiers import TIERS
from helpers.steps import goals
from helpers.text import phrases


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(phrases.TEXTS))
def test_every_sentence_has_both_languages_with_the_same_fields(key):
    entry = phrases.TEXTS[key]
    assert set(entry) == {"en", "zh"}
    assert _fields(entry["en"]) == _fields(entry["zh"]), key
    assert any("\u4e00" <= ch <= "\u9fff" for ch in entry["zh"]), key


def _fixed_vocabulary() -> set[str]:
    words = set()
    for item in goals.OBJECTIVES.values():
        words |= {item.title, item.question, item.baseline}
    for kpi in goals.KPIS.values():
        words |= {kpi["definition"], kpi["unit"]}
    words |= set(goals.DATA_NEEDS.values()) | set(goals.SECTIONS["05"].values())
    words |= set(TIERS)
    for book in ([i for items in actions.PLAYBOOK.values() for i in items],
                 list(actions.SEGMENT_PLAYBOOK.values()),
                 list(actions.PARTNER_PLAYBOOK.values())):
        for item in book:
            words |= {v for k, v in item.items() if k in ("action", "owner", "kpi", "campaign")}
    words |= set(actions.SEGMENT_PLAYBOOK)
    return words - {"%"}


def test_the_fixed_vocabulary_has_a_chinese_phrase_for_every_entry():
    missing = sorted(w for w in _fixed_vocabulary() if w not in phrases.ZH)
    assert not missing, missing


def test_say_fills_in_values_in_either_language():
    assert phrases.say("finding_core", "en", n=2, share=0.613, names="A, B") == (
        "2 core region(s) bring 61% of revenue: A, B")
    assert phrases.say("finding_core", "zh-CN", n=2, share=0.613, names="广东省、浙江省") == (
        "2 个核心地区贡献 61% 的收入：广东省、浙江省")
    with pytest.raises(ValueError, match="lang must be one of"):
        phrases.say("finding_core", "fr", n=1, share=0, names="")


def test_translate_is_display_only():
    frame = pd.DataFrame({"tier": ["core", "odd"], "revenue": [1.0, 2.0],
                          "owner": ["sales rep", "王伟 (R01)"]})
    shown = phrases.translate(frame, "zh", ["tier", "owner"])
    assert list(shown.columns) == ["分级", phrases.ZH.get("revenue", "收入"), "负责人"]
    assert list(shown["分级"]) == ["核心", "odd"]  # unknown values stay as they are
    assert list(shown["负责人"]) == ["销售代表", "王伟 (R01)"]
    assert list(frame["tier"]) == ["core", "odd"]  # the input keeps its keys
    assert phrases.translate(frame, "en", ["tier"]) is frame
    assert phrases.tr(3, "zh") == 3 and phrases.tr("core", "en") == "core"
