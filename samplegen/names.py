"""Random person names and phone numbers, and picking strings at random (vectorised)."""

from __future__ import annotations

import numpy as np
import pandas as pd

_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
                 "于蒋蔡余杜叶程苏魏吕丁任沈")
_GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建文辉玲飞鹏斌宇浩凯健俊帆"
              "旭宁龙林欣婷晨阳博志海波荣红丹雪梅琳峰鑫亮成东")


def pick(rng: np.random.Generator, values, n: int, p=None) -> pd.Series:
    """``n`` strings drawn from ``values`` (probabilities ``p``) as a ``string`` Series."""
    pool = pd.Series(list(values), dtype="string")
    return pool.take(rng.choice(len(pool), size=n, p=p)).reset_index(drop=True)


def _digits(rng: np.random.Generator, n: int, width: int) -> pd.Series:
    return pd.Series(rng.integers(0, 10**width, size=n)).astype("string").str.zfill(width)


def person_names(rng: np.random.Generator, n: int) -> pd.Series:
    """``n`` Chinese personal names: a surname and one or two given characters."""
    surname = pick(rng, _SURNAMES, n)
    given = pick(rng, _GIVEN, n)
    second = pick(rng, _GIVEN, n)
    two = rng.random(n) < 0.6
    return surname + given + second.where(two, "")


def phones(rng: np.random.Generator, n: int) -> pd.Series:
    """``n`` mobile numbers written ``1xx-xxxx-xxxx``."""
    head = pick(rng, ["13", "15", "18", "17", "19"], n) + _digits(rng, n, 1)
    return head + "-" + _digits(rng, n, 4) + "-" + _digits(rng, n, 4)
