"""The facts planted in the bundled sample for step 4 (issue 15), as a reader of the
rendered reports sees them: the Southwest report names 人脸识别终端 under-indexed and a
cross-sell gap in its provinces, the whole market's names Hubei as growing on new customers
while its base erodes, and its seasonality names the December peak and the February low.

One batch renders step 4 only (the notebook folder holds 04 and the translations) for the
whole market and 西南, in English and in Chinese. The same facts are checked without a
kernel on the step's tables in ``tests/test_insights.py``.
"""

from __future__ import annotations

import re
import shutil

import pytest
from bs4 import BeautifulSoup

from samplegen import STORY

#: The provinces of STORY["cross_sell_gap"]'s territory with customers, in both languages.
SOUTHWEST = {"云南省": "Yunnan", "贵州省": "Guizhou", "重庆市": "Chongqing", "四川省": "Sichuan"}


@pytest.fixture(scope="module")
def story_reports(tmp_path_factory) -> dict:
    """``{(lang, slug): visible text of 04_insight.html}`` for ALL and 西南."""
    from stubs import sample_config

    from helpers.config import PROJECT_ROOT
    from helpers.run import batch

    folder = tmp_path_factory.mktemp("story_reports")
    notebooks = folder / "notebooks"
    notebooks.mkdir()
    for name in ("04_insight.ipynb", "zh.yaml"):
        shutil.copy(PROJECT_ROOT / "notebooks" / name, notebooks / name)
    config_path = sample_config(folder)
    territory = STORY["cross_sell_gap"]["territory"]
    pages = {}
    for lang in ("en", "zh"):
        assert batch.main(["--config", str(config_path), "--regions", territory, "--jobs", "2",
                           "--notebooks", str(notebooks), "--reports", str(folder / "reports"),
                           "--run-id", lang, "--lang", lang]) == 0
        for slug in ("all", "southwest"):
            html = (folder / "reports" / lang / slug / "04_insight.html").read_text("utf-8")
            soup = BeautifulSoup(html, "html.parser")
            for tag in soup(["script", "style", "iframe", "noscript", "template"]):
                tag.decompose()
            pages[lang, slug] = re.sub(r"\s+", " ", soup.get_text(" ", strip=True))
    return pages


@pytest.mark.kernel
def test_the_southwest_report_names_the_cross_sell_gap(story_reports):
    assert STORY["cross_sell_gap"] == {"territory": "西南", "category": "人脸识别终端"}
    en, zh = story_reports["en", "southwest"], story_reports["zh", "southwest"]
    less_en = en[en.index("Buys less than the market"):]
    less_zh = zh[zh.index("买得比市场少"):]
    assert less_en.startswith("Buys less than the market (4 significant):")
    for chinese, english in SOUTHWEST.items():
        # under-indexed beyond chance, and a gap: its customers buy the rest but not it
        assert re.search(rf"{english}: 人脸识别终端 \(index [1-3]\d\)", less_en), english
        assert re.search(rf"{english}: 人脸识别终端, bought by \d+ of \d+ customers", en), english
        assert re.search(rf"{chinese}：人脸识别终端（指数 [1-3]\d）", less_zh), chinese
        assert re.search(rf"{chinese}：人脸识别终端，\d+ 家客户中 \d+ 家购买", zh), chinese
    assert "4 cross-sell gap(s)" in en and "4 个交叉销售缺口" in zh
    assert "buy the rest but not it" in en and "购买其他类别但不买它" in zh


@pytest.mark.kernel
def test_the_market_report_names_the_eroding_province_and_the_season(story_reports):
    assert STORY["eroding"] == ["湖北省"] and STORY["seasonal"] == {"peak": 12, "low": 2}
    en, zh = story_reports["en", "all"], story_reports["zh", "all"]
    assert "Growth from new customers while last period's customers bring less: Hubei." in en
    assert "依靠新客户增长、而上期客户贡献减少的地区：湖北省。" in zh
    assert re.search(r"Revenue follows a seasonal pattern .*?p < 0\.001\): the peak is "
                     r"December \(index 14\d\), the low February \(index 5\d\)", en)
    assert re.search(r"收入存在季节性规律.*?高峰是12月（指数 14\d），低谷是2月（指数 5\d）", zh)
    # the territory report names neither fact for its own provinces: Hubei is not in it
    assert "Hubei" not in story_reports["en", "southwest"]
