"""The catalog of displayed words: complete in both languages, one rendering per term."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
import yaml

from helpers.analysis import actions, hotspots, lifecycle, segments, tiers
from helpers.catalog import DATA_NEEDS, KPIS, OBJECTIVES, SECTIONS
from helpers.steps import goals
from helpers.text import lookup
from helpers.text.lookup import CatalogError, catalog

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u4e00-\u9fff]")


def _entries():
    return [(section, key, entry) for section, entries in catalog().items()
            for key, entry in entries.items()]


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_entry_has_both_languages_with_the_same_fields():
    problems = []
    for section, key, entry in _entries():
        if not (entry["en"].strip() and entry["zh"].strip()):
            problems.append(f"{section}.{key}: empty text")
        elif _fields(entry["en"]) != _fields(entry["zh"]):
            problems.append(f"{section}.{key}: fields {_fields(entry['en'])} in English, "
                            f"{_fields(entry['zh'])} in Chinese")
    assert not problems, problems


@pytest.mark.parametrize("section", ["say", "segment", "segment_meaning", "stage",
                                     "stage_meaning", "tier", "campaign", "owner", "phrase",
                                     "objective_title", "objective_question", "kpi_definition",
                                     "data_need", "section_03", "section_04", "section_05", "note"])
def test_chinese_texts_are_chinese(section):
    def words(template: str) -> str:  # the text without its fields
        return "".join(literal for literal, *_ in string.Formatter().parse(template))

    english = [key for key, entry in catalog()[section].items()
               if re.search("[A-Za-z]", words(entry["zh"])) and not CJK.search(entry["zh"])]
    assert not english, f"{section}: {english}"


def test_references_resolve_and_a_broken_one_names_itself(tmp_path):
    assert not [f"{s}.{k}" for s, k, e in _entries()
                if "[[" in e["en"] + e["zh"]], "unresolved references"
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(
        {"x": {"one": {"en": "see [[x.two]]", "zh": "见[[x.nope]]"},
               "two": {"en": "two", "zh": "二"}}}, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"x\.one: unknown reference \[\[x\.nope\]\]"):
        lookup.catalog(tmp_path)
    (tmp_path / "a.yaml").write_text("x:\n  one: {en: one}\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"a\.yaml: x\.one needs the texts en and zh"):
        lookup.catalog(tmp_path)
    # a key written twice (YAML would keep the second silently) names the file and line
    (tmp_path / "a.yaml").write_text("x:\n  one: {en: one, zh: 一}\n  one: {en: two, zh: 二}\n",
                                     encoding="utf-8")
    with pytest.raises(CatalogError, match=r"a\.yaml: key 'one' appears twice \(line 3\)"):
        lookup.catalog(tmp_path)


def test_the_catalog_ships_with_the_package():
    """pyproject's package-data takes the YAML files (an installed wheel needs them)."""
    import tomllib

    data = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text("utf-8"))
    patterns = data["tool"]["setuptools"]["package-data"]["helpers"]
    shipped = [p for p in lookup.CATALOG_DIR.glob("*.yaml")
               if any(p.relative_to(PROJECT_ROOT / "helpers").match(pat) for pat in patterns)]
    assert shipped and len(shipped) == len(list(lookup.CATALOG_DIR.glob("*.yaml")))


def test_every_key_the_code_uses_has_words():
    for key in segments.SEGMENTS:
        assert key in catalog()["segment"] and key in catalog()["segment_meaning"], key
    for key in lifecycle.STAGES:
        assert key in catalog()["stage"] and key in catalog()["stage_meaning"], key
    assert set(tiers.TIERS) <= set(catalog()["tier"])
    for key in OBJECTIVES:
        assert all(OBJECTIVES[key].words("zh").values()), key
    for key in KPIS:
        assert key in catalog()["label"], key  # the KPI's name in a Chinese report
        assert all(goals.kpi_words(key, "zh").values()), key
    assert set(DATA_NEEDS) <= set(catalog()["data_need"])
    assert {hotspots._label(b) for b in range(-3, 4)} <= set(catalog()["hotspot"])
    assert {"blank", "under-penetrated"} <= set(catalog()["gap_kind"])
    for step, keys in SECTIONS.items():
        assert list(catalog()[f"section_{step}"]) == list(keys), step


def test_every_playbook_phrase_the_analysis_writes_has_a_chinese_phrase():
    """Actions, owners, KPIs and campaigns are written in English to the CSVs and
    translated by their English text when shown."""
    items = [*[i for v in actions.PLAYBOOK.values() for i in v],
             *actions.SEGMENT_PLAYBOOK.values(), *actions.PARTNER_PLAYBOOK.values(),
             *[{"action": text} for words in actions.CHANNEL_ACTIONS.values()
               for text in words.values()]]
    missing = []
    for item in items:
        for column, value in item.items():
            sections = lookup.COLUMN_SECTIONS["owner" if column == "owner" else column]
            if not any(e["en"] == value for s in sections for e in catalog()[s].values()):
                missing.append((column, value))
    assert not missing, missing


def test_english_texts_looked_up_by_text_have_one_chinese_rendering():
    for column, sections in lookup.COLUMN_SECTIONS.items():
        seen: dict[str, str] = {}
        for section in sections:
            for key, entry in catalog()[section].items():
                other = seen.setdefault(entry["en"], entry["zh"])
                assert other == entry["zh"], (column, section, key)


# --------------------------------------------------------------------------- one rendering


def _zh_texts() -> list[tuple[str, str]]:
    """Every Chinese text a report can show: the catalog's and the notebooks' (zh.yaml)."""
    texts = [(f"{section}.{key}", entry["zh"]) for section, key, entry in _entries()]
    cells = yaml.safe_load((PROJECT_ROOT / "notebooks" / "zh.yaml").read_text("utf-8"))
    texts += [(f"zh.yaml: {item['en'][:40]!r}", item["zh"]) for item in cells]
    return texts


def _terms() -> list[tuple[str, str, list[str]]]:
    return [(f"{section}.{key}", entry["zh"], list(entry["avoid"]))
            for section, key, entry in _entries() if entry.get("avoid")]


def synonym_hits(text: str, synonym: str, renderings: list[str]) -> list[int]:
    """Where ``synonym`` stands in ``text`` other than inside a glossary rendering."""
    covered = set()
    for rendering in renderings:
        if synonym in rendering:
            for match in re.finditer(re.escape(rendering), text):
                covered.update(range(match.start(), match.end()))
    return [m.start() for m in re.finditer(re.escape(synonym), text)
            if not set(range(m.start(), m.end())) <= covered]


def test_synonym_hits_skip_the_glossary_renderings():
    renderings = ["即将沉睡客户", "区域销售经理"]
    assert synonym_hits("即将沉睡客户和沉睡客户", "沉睡客户", renderings) == [7]
    assert synonym_hits("区域销售经理", "区域", renderings) == []
    assert synonym_hits("各区域收入", "区域", renderings) == [1]


def test_a_term_has_one_rendering_in_every_chinese_text():
    """重要价值客户 everywhere (never 核心客户 or 高价值客户), 收入 never 销售额, 地区 never 区域 ..."""
    renderings = sorted({entry["zh"] for _, _, entry in _entries()
                         if "{" not in entry["zh"] and len(entry["zh"]) <= 12})
    terms = _terms()
    assert {name for name, _, _ in terms} >= {"segment.champions", "label.revenue",
                                              "label.region"}
    found = []
    for where, text in _zh_texts():
        for name, zh, avoid in terms:
            for synonym in avoid:
                if synonym_hits(text, synonym, renderings):
                    found.append(f"{where}: {synonym!r} where {name} reads {zh!r}")
    assert not found, "\n".join(found)


def test_the_old_drifted_renderings_are_gone():
    """The drift the house issue named: one rendering of champions and of revenue."""
    assert catalog()["segment"]["champions"]["zh"] == "重要价值客户"
    assert catalog()["label"]["revenue"]["zh"] == "收入"
    names = {entry["zh"] for entry in catalog()["segment"].values()}
    assert len(names) == len(catalog()["segment"])  # no two segments read the same


def test_a_field_reads_the_same_way_in_both_languages():
    """A number formatted one way in English is formatted the same way in Chinese (``{n:,}``
    in one and ``{n}`` in the other printed 4281 beside 4,281)."""
    import string

    from helpers.text.lookup import catalog

    def specs(template: str) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for _text, field, spec, _conv in string.Formatter().parse(template):
            if field:
                found.setdefault(field, set()).add(spec or "")
        return found

    differ = []
    for section, entries in catalog().items():
        for key, entry in entries.items():
            en, zh = specs(entry["en"]), specs(entry["zh"])
            for field in en.keys() & zh.keys():
                if en[field] != zh[field]:
                    differ.append(f"{section}.{key}: {field} {sorted(en[field])} vs "
                                  f"{sorted(zh[field])}")
    assert not differ, "\n".join(differ)
