"""Every word a report shows, in English or Chinese, from one catalog.

The catalog is the YAML files in ``helpers/text/catalog/``: sections of entries, each
entry with an ``en`` and a ``zh`` text (and, for a glossary term, the Chinese
synonyms the reports ``avoid``). A text may name another entry as
``[[section.key]]``; it is replaced by that entry's text in the same language when
the catalog loads, so a term (``[[segment.champions]]``) reads the same in every
sentence, table, chart and page that uses it.

Keys and the values written to CSV/JSON stay English, so runs in either language
compare; only what is shown is translated:

    label("revenue", "zh")                      # a column, KPI or chart text: 收入
    term("segment", "champions", "zh")          # a value from the data: 重要价值客户
    text("objective_title", "compare_regions", "zh")
    say("finding_core", "zh", n=3, share=0.6, names="广东省、浙江省")
    translate(frame, "zh", ["tier", "action"])  # values and headers of a table

Region names are shown with :func:`region_label` and :func:`region_names` (English
names, pinyin for Chinese names without one: :func:`helpers.geo.romanise.romanise`).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path

import pandas as pd

__all__ = [
    "LANGS",
    "CatalogError",
    "lang_code",
    "catalog",
    "label",
    "term",
    "text",
    "say",
    "fill",
    "words",
    "translate",
    "headers",
    "join",
    "name_list",
    "region_label",
    "region_names",
]

LANGS = ("en", "zh")
CATALOG_DIR = Path(__file__).resolve().parent / "catalog"

#: Table columns whose values are catalog texts, and the sections that hold them
#: (looked up by their English text, which is what the tables hold).
COLUMN_SECTIONS: dict[str, tuple[str, ...]] = {
    "segment": ("segment",), "stage": ("stage",), "lifecycle": ("stage",),
    "tier": ("tier",), "tier_before": ("tier",), "tier_now": ("tier",),
    "campaign": ("campaign",), "owner": ("owner",), "owner_role": ("owner",),
    "action": ("phrase",), "kpi": ("phrase",),
    "meaning": ("segment_meaning", "stage_meaning"),
    "gap_kind": ("gap_kind",), "hotspot": ("hotspot",), "basis": ("budget_basis",),
}

_REFERENCE = re.compile(r"\[\[([a-z0-9_]+)\.([^\]]+)\]\]")


class CatalogError(ValueError):
    """The catalog is malformed: a missing language, an unknown reference, a duplicate key."""


def lang_code(lang: str) -> str:
    """``"en"`` or ``"zh"`` for a language code (``zh-CN``, ``zh_Hans`` ... -> ``zh``).

    Raises ValueError naming the choices for any other language.
    """
    code = str(lang).strip().lower()
    if code.startswith("zh"):
        return "zh"
    if code.startswith("en"):
        return "en"
    raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")


def _unique_loader():
    """A YAML loader that refuses a key twice in one mapping (YAML keeps the last one
    silently, so a second entry of the same key would replace the first unnoticed)."""
    import yaml

    class Unique(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        pass

    def mapping(loader, node, deep=False):
        seen: set = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                raise CatalogError(f"key {key!r} appears twice (line {key_node.start_mark.line + 1})")
            seen.add(key)
        return loader.construct_mapping(node, deep)

    Unique.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    return Unique


def _read(folder: Path) -> dict[str, dict[str, dict]]:
    import yaml

    loader = _unique_loader()
    sections: dict[str, dict[str, dict]] = {}
    for path in sorted(folder.glob("*.yaml")):
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}
        except CatalogError as error:
            raise CatalogError(f"{path.name}: {error}") from None
        for name, entries in data.items():
            if name in sections:
                raise CatalogError(f"{path.name}: section {name!r} is also in another file")
            if not isinstance(entries, dict):
                raise CatalogError(f"{path.name}: section {name!r} is not a mapping")
            for key, entry in entries.items():
                if not (isinstance(entry, dict) and all(isinstance(entry.get(lang), str)
                                                        for lang in LANGS)):
                    raise CatalogError(f"{path.name}: {name}.{key} needs the texts en and zh")
            sections[name] = {str(key): dict(entry) for key, entry in entries.items()}
    return sections


def _resolve(sections: dict[str, dict[str, dict]]) -> dict[str, dict[str, dict]]:
    def expand(value: str, lang: str, seen: tuple[str, ...]) -> str:
        def one(match: re.Match) -> str:
            name = f"{match[1]}.{match[2]}"
            if name in seen:
                raise CatalogError(f"[[{name}]] refers to itself (through {' -> '.join(seen)})")
            entry = sections.get(match[1], {}).get(match[2])
            if entry is None:
                raise CatalogError(f"{seen[0]}: unknown reference [[{name}]]")
            return expand(entry[lang], lang, (*seen, name))

        return _REFERENCE.sub(one, value)

    return {name: {key: {**entry, **{lang: expand(entry[lang], lang, (f"{name}.{key}",))
                                     for lang in LANGS}}
                   for key, entry in entries.items()}
            for name, entries in sections.items()}


@lru_cache(maxsize=4)
def catalog(folder: Path = CATALOG_DIR) -> dict[str, dict[str, dict]]:
    """Every catalog entry: section -> key -> ``{"en": ..., "zh": ..., ...}``, references resolved.

    Raises
    ------
    CatalogError
        When an entry lacks a language, a reference names no entry (or itself), or two
        files define the same section.
    """
    return _resolve(_read(Path(folder)))


@lru_cache(maxsize=64)
def _by_english(sections: tuple[str, ...]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for name in sections:
        for entry in catalog()[name].values():
            found.setdefault(entry["en"], entry)
    return found


def _entry(section: str, key: str) -> dict:
    try:
        return catalog()[section][key]
    except KeyError:
        raise KeyError(f"no catalog entry {section}.{key}") from None


class _Sentence(string.Formatter):
    """``str.format`` plus the money specs of :mod:`helpers.text.format`: ``{x:money}``
    (the amount in the language's habit with ``currency``), ``{x:amount}`` (without it)
    and the signed ``{x:+money}`` / ``{x:+amount}``."""

    def __init__(self, lang: str):
        self.lang = lang
        self.values: Mapping = {}

    def vformat(self, format_string, args, kwargs):
        self.values = kwargs
        return super().vformat(format_string, args, kwargs)

    def format_field(self, value, format_spec: str):
        kind = format_spec.lstrip("+")
        if kind not in ("money", "amount"):
            return super().format_field(value, format_spec)
        from helpers.text.format import format_money, money_text

        signed = format_spec.startswith("+")
        if kind == "amount":
            return format_money(value, self.lang, signed=signed)
        if "currency" not in self.values:
            raise KeyError("a {x:money} field needs a 'currency' value (or use {x:amount})")
        return money_text(value, self.lang, self.values["currency"], signed=signed)


def fill(template: str, lang: str = "en", /, **values) -> str:
    """``template`` with ``values`` filled in, money fields in ``lang``'s habit
    (:class:`_Sentence`)."""
    return _Sentence(lang_code(lang)).format(template, **values)


def text(section: str, key: str, lang: str = "en", /, **values) -> str:
    """The catalog text ``section.key`` in ``lang``, filled with ``values`` when given.

    Money fields read ``{x:money}`` (amount and currency) or ``{x:amount}`` (:func:`fill`).
    Raises KeyError for an unknown entry (keys are the program's, not the data's).
    """
    value = _entry(section, key)[lang_code(lang)]
    return fill(value, lang, **values) if values else value


def say(key: str, lang: str = "en", /, **values) -> str:
    """The sentence ``key`` (section ``say``) in ``lang`` with ``values`` filled in."""
    return fill(_entry("say", key)[lang_code(lang)], lang, **values)


def term(section: str, value, lang: str = "en", *, default: str | None = None):
    """A value from the data (segment, stage, tier ...) as the catalog shows it in ``lang``.

    Values the section does not know are returned as they are (or as ``default``):
    the data may hold a tier or an owner the catalog has never seen.
    """
    if not isinstance(value, str):
        return value if default is None else default
    entry = catalog().get(section, {}).get(value)
    if entry is None:
        return value if default is None else default
    return entry[lang_code(lang)]


def label(key: str, lang: str = "en") -> str:
    """The display name of a column or KPI (``"revenue"``), or a chart text (``"title_bars"``).

    Unknown keys fall back to the key made readable (``"gross_margin"`` ->
    ``"Gross margin"``), so any column can be plotted.
    """
    entry = catalog()["label"].get(key)
    if entry is None:
        lang_code(lang)
        return str(key).replace("_", " ").capitalize()
    return entry[lang_code(lang)]


def words(section: str, lang: str = "en") -> dict[str, str]:
    """Every text of ``section`` in ``lang`` (key -> text), e.g. the index page's words."""
    code = lang_code(lang)
    return {key: entry[code] for key, entry in catalog()[section].items()}


def join(items: Iterable[str], lang: str = "en", *, clauses: bool = False) -> str:
    """``items`` as one list in ``lang``: ``a, b`` or ``a、b``; clauses ``a; b`` or ``a；b``."""
    if lang_code(lang) == "zh":
        return ("；" if clauses else "、").join(items)
    return ("; " if clauses else ", ").join(items)


def name_list(frame: pd.DataFrame, lang: str = "en", limit: int = 6) -> str:
    """The region names of ``frame`` in ``lang`` (:func:`region_label`), at most ``limit``.

    More rows end the list with "and N more" (及另外 N 个). Not escaped.
    """
    names = [str(n) for n in region_label(frame.head(limit), lang)]
    more = say("and_more", lang, n=len(frame) - limit) if len(frame) > limit else ""
    return join(names, lang) + more


def headers(frame: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """``frame`` with its column names (and index name) shown in ``lang``.

    English keeps the column names; Chinese shows their :func:`label` where the
    catalog has one.
    """
    if lang_code(lang) != "zh":
        return frame
    labels = catalog()["label"]

    def name(column):
        if isinstance(column, str) and column in labels:
            return labels[column]["zh"]
        return column

    out = frame.rename(columns=name)
    if isinstance(out.index, pd.Index) and isinstance(out.index.name, str):
        out.index = out.index.rename(name(out.index.name))
    return out


def translate(frame: pd.DataFrame, lang: str = "en",
              columns: Iterable[str] | Mapping[str, Iterable[str]] = ()) -> pd.DataFrame:
    """``frame`` for display in ``lang``: the values of ``columns`` and the headers translated.

    Parameters
    ----------
    frame : DataFrame
        Not changed: its values stay the English keys that the exports and run
        comparisons use.
    lang : {"en", "zh"}
        English returns ``frame`` itself.
    columns : sequence of str, or mapping of column -> catalog sections
        The columns whose values are catalog texts; a name alone uses
        :data:`COLUMN_SECTIONS`. Values the sections do not hold (a rep's name as
        owner) are kept.
    """
    if lang_code(lang) != "zh":
        return frame
    sections = (dict(columns) if isinstance(columns, Mapping)
                else {c: COLUMN_SECTIONS[c] for c in columns})
    out = frame.copy()
    for column, names in sections.items():
        if column in out:
            known = _by_english(tuple(names))
            out[column] = out[column].map(
                lambda v, known=known: known[v]["zh"] if isinstance(v, str) and v in known else v)
    return headers(out, "zh")


# --------------------------------------------------------------------------- region names

_CJK = re.compile(r"[\u4e00-\u9fff]")


def _present(value) -> bool:
    return value is not None and not pd.isna(value) and str(value) != ""


def _pick(row: Mapping, code: str) -> str:
    from helpers.geo.romanise import romanise

    name, name_en = row.get("region"), row.get("region_en")
    has_name, has_en = _present(name), _present(name_en)
    if code == "en":
        if has_en and not _CJK.search(str(name_en)):
            return str(name_en)
        chinese = str(name) if has_name else str(name_en) if has_en else ""
        return romanise(chinese) if chinese else ""
    if _present(row.get("region_zh")):  # a country of a world market
        return str(row["region_zh"])
    if not has_name:
        return str(name_en) if has_en else ""
    return str(name)


def region_label(row_or_names: pd.DataFrame | pd.Series | Mapping, lang: str = "en"):
    """Display name(s) of regions: ``region_en`` for English, ``region`` for Chinese.

    Parameters
    ----------
    row_or_names : DataFrame, Series or mapping
        A frame with ``region`` and (optionally) ``region_en`` columns, or one row
        of such a frame (Series or dict).
    lang : {"en", "zh"}
        Language. Where ``region_en`` is missing (or Chinese, as for cities) English
        shows the pinyin of the name (深圳市 -> Shenzhen,
        :func:`helpers.geo.romanise.romanise`); Chinese shows ``region_zh`` where the
        frame has it (the countries of a world market), else ``region``, falling back
        to the English name where ``region`` is missing.

    Returns
    -------
    Series of str (same index as the frame) or str (for one row).
    """
    code = lang_code(lang)
    if isinstance(row_or_names, pd.DataFrame):
        frame = row_or_names
        if "region" not in frame.columns and "region_en" not in frame.columns:
            raise KeyError("region_label needs a 'region' or 'region_en' column")
        return pd.Series([_pick(r, code) for r in frame.to_dict("records")], index=frame.index,
                         dtype=object)
    return _pick(row_or_names, code)


def region_names(names, lang: str = "en") -> pd.Series:
    """Display names of raw region values (for legends keyed by region name).

    Parameters
    ----------
    names : sequence of str
        Region names as the tables hold them: official province names (广东省),
        territory names (华东) or city names.
    lang : {"en", "zh"}
        English turns provinces into their English names (Guangdong), the usual
        territories into theirs (East China) and other Chinese names into pinyin
        (深圳市 -> Shenzhen). Chinese keeps the names.

    Returns
    -------
    Series of str, in the order of ``names``.
    """
    from helpers.geo.romanise import romanise

    values = pd.Series(list(names), dtype=object)
    if lang_code(lang) == "zh":
        return values.map(lambda v: str(v) if _present(v) else "")
    return values.map(lambda v: romanise(str(v)) if _present(v) else "")
