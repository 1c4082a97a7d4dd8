"""The shared reports of the two real examples (``examples/olist.yaml`` in English,
``examples/cn_superstore.yaml`` in Chinese), as a batch renders them for the whole market:
no technical noise, the Chinese reports in Chinese, every total agreeing with its
definition (:mod:`totals`). Skips when ``../shared/data/real`` is absent."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_realdata import needs_olist, needs_superstore
from test_report_text import (
    LITERAL_BOLD,
    MAX_ENGLISH,
    MONEY_TO_THE_UNIT,
    NOISE,
    english_words,
    visible_text,
)
from totals import check_run

from helpers.config import PROJECT_ROOT, load_config

pytestmark = [pytest.mark.realdata, pytest.mark.kernel]


def _batch(folder: Path, config: str, lang: str) -> Path:
    from helpers.run import batch

    assert batch.main(["--config", str(PROJECT_ROOT / "examples" / config), "--regions", "ALL",
                       "--reports", str(folder), "--run-id", lang, "--lang", lang]) == 0
    return folder / lang


@pytest.fixture(scope="module")
def olist_run(tmp_path_factory) -> Path:
    return _batch(tmp_path_factory.mktemp("olist"), "olist.yaml", "en")


@pytest.fixture(scope="module")
def superstore_run(tmp_path_factory) -> Path:
    return _batch(tmp_path_factory.mktemp("superstore"), "cn_superstore.yaml", "zh")


def _pages(run: Path) -> list[Path]:
    pages = sorted(run.glob("*/0*.html")) + [run / "index.html"]
    assert len(pages) == 6, pages  # the whole market's five steps and the index
    return pages


def _noise(run: Path) -> dict:
    found = {}
    for page in _pages(run):
        text = visible_text(page.read_text(encoding="utf-8"))
        hits = ([n for n in NOISE if n in text] + LITERAL_BOLD.findall(text)
                + MONEY_TO_THE_UNIT.findall(text))
        if hits:
            found[page.name] = hits
    return found


@needs_olist
def test_olist_reports_have_no_noise_and_their_totals_agree(olist_run):
    assert _noise(olist_run) == {}
    check_run(olist_run, "en")
    assert "BRL" in visible_text((olist_run / "all" / "04_insight.html").read_text("utf-8"))


@needs_superstore
def test_superstore_reports_are_chinese_have_no_noise_and_their_totals_agree(superstore_run):
    assert _noise(superstore_run) == {}
    project = load_config(PROJECT_ROOT / "examples" / "cn_superstore.yaml").project.name
    english = {}
    for page in _pages(superstore_run):  # the project's name is the user's, not ours
        text = visible_text(page.read_text(encoding="utf-8")).replace(project, " ")
        words = english_words(text)
        if sum(words.values()) > MAX_ENGLISH:
            english[page.name] = words.most_common(20)
    assert english == {}
    check_run(superstore_run, "zh")
