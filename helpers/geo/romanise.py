"""English display names of Chinese places: official English names, else pinyin."""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["romanise"]

_CJK = re.compile(r"[\u4e00-\u9fff]")
_ETHNIC = ("朝鲜|傣|哈尼|彝|藏|蒙古|哈萨克|柯尔克孜|布依|苗|土家|侗|白|傈僳|景颇|壮|回|羌|"
           "纳西|拉祜|佤|瑶|黎|畲|维吾尔|撒拉|保安|东乡|裕固|锡伯|满|仡佬|水|毛南|仫佬|塔吉克")
_CITY_SUFFIX = re.compile(rf"((?:(?:{_ETHNIC})族?)+自治州|自治州|地区|林区|盟|市)$")


@lru_cache(maxsize=4096)
def romanise(name: str) -> str:
    """English display name of a Chinese place without one: its pinyin.

    Provinces and the usual territories get their English names (广东省 ->
    Guangdong, 华南 -> South China); other names lose their administrative suffix
    (市, 地区, 盟, 自治州 with its ethnic groups) and are written in pinyin with
    ``pypinyin`` (深圳市 -> Shenzhen, 西双版纳傣族自治州 -> Xishuangbanna).
    Text without Chinese characters is returned as it is.
    """
    text = str(name).strip()
    if not _CJK.search(text):
        return text
    from helpers import geo
    from helpers.geo.territories import TERRITORY_EN

    provinces = geo.provinces()
    known = {**dict(zip(provinces["province"], provinces["province_en"], strict=True)),
             **TERRITORY_EN}
    if text in known:
        return known[text]
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(_CITY_SUFFIX.sub("", text) or text)).capitalize()
