"""The customers: where they are, when they sign up and churn, and what they look like.

:func:`draw_customers` draws the numeric core (city, channel, latent size, signup, first
and last order day, order rate and value) with the planted story; :func:`customer_frame`
turns it into the canonical ``customers`` table (names, contacts, addresses, points and the
channel partners' firmographics).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from samplegen.names import person_names, phones, pick
from samplegen.story import (
    BUSINESS_MODELS,
    CHANNEL_SHARE,
    CHANNELS,
    ERODING_CHURN,
    ERODING_NEW,
    ERODING_VALUE,
    INDUSTRIES,
    ORDER_VALUE,
    ORDERS_PER_YEAR,
    PAYMENT,
    PRODUCT_TIERS,
    STORY,
)

# Company names: city + word + suffix per channel; e-mail domains from the word's pinyin.
_WORDS = [("华安", "huaan"), ("恒通", "hengtong"), ("智联", "zhilian"), ("金盾", "jindun"),
          ("安信", "anxin"), ("鼎盛", "dingsheng"), ("天诚", "tiancheng"), ("博远", "boyuan"),
          ("汇通", "huitong"), ("瑞丰", "ruifeng"), ("宏图", "hongtu"), ("新锐", "xinrui"),
          ("联创", "lianchuang"), ("卓越", "zhuoyue"), ("伟业", "weiye"), ("众安", "zhongan"),
          ("盛世", "shengshi"), ("永泰", "yongtai"), ("信达", "xinda"), ("和盛", "hesheng"),
          ("中科", "zhongke"), ("海纳", "haina"), ("银河", "yinhe"), ("星辰", "xingchen"),
          ("安居", "anju"), ("佳安", "jiaan"), ("益安", "yian"), ("泰和", "taihe"),
          ("锦程", "jincheng"), ("远景", "yuanjing"), ("恒安", "hengan"), ("创新", "chuangxin"),
          ("华盛", "huasheng"), ("同创", "tongchuang"), ("明达", "mingda"), ("昊天", "haotian"),
          ("启航", "qihang"), ("睿智", "ruizhi"), ("凯盛", "kaisheng"), ("云智", "yunzhi"),
          ("九州", "jiuzhou"), ("长城", "changcheng"), ("东方", "dongfang"), ("天网", "tianwang"),
          ("神盾", "shendun"), ("守望", "shouwang"), ("慧眼", "huiyan"), ("卫士", "weishi")]
_SUFFIX = [
    ["安防科技有限公司", "智能科技有限公司", "电子科技有限公司", "安防工程有限公司",
     "科技有限公司", "电子有限公司", "弱电工程有限公司", "智能设备有限公司"],
    ["系统集成有限公司", "智能化工程有限公司", "信息技术有限公司", "智能系统有限公司",
     "建设工程有限公司", "安防科技有限公司"],
    ["物业管理有限公司", "实业集团有限公司", "置业有限公司", "制造有限公司",
     "控股集团有限公司", "产业园管理有限公司"],
]
_DISTRICTS = ["高新区", "经济开发区", "新城区", "城南区", "城北区", "滨江新区", "工业园区",
              "中心区"]
_ROADS = ["人民", "建设", "解放", "中山", "和平", "新华", "文化", "科技", "创业", "发展",
          "长江", "黄河", "迎宾", "青年", "胜利", "光明", "学府", "金融", "工业", "朝阳"]
_ROAD_KIND = ["路", "大道", "街"]
_MAIL_PREFIX = ["sales", "info", "service", "admin", "contact", "market", "office"]


def draw_customers(rng, n, prov, city, n_days, planted=None) -> dict:
    """Numeric core of the customers, sorted by signup (ids follow signup order).

    Parameters
    ----------
    rng : numpy.random.Generator
        The generator's stream (consumed in a fixed order).
    n : int
        Number of customers; the last six drawn are the isolated ones.
    prov, city : DataFrame
        :func:`~samplegen.places.places`.
    n_days : int
        Days of order history.
    planted : numpy.random.Generator, optional
        The stream of the eroding provinces' churn and replacement
        (:func:`_churn_and_replace`; default: spawned from ``rng``). Its own stream, so
        that planting it leaves every other customer's draws as they were.

    Returns
    -------
    dict of ndarray
        One array per field, ``n`` long: ``city_idx``, ``prov_idx``, ``isolated``,
        ``channel`` (0 dealer, 1 integrator, 2 direct), ``size`` (latent firm size),
        ``signup``, ``first`` and ``last`` (order days, day 0 = start), ``rate`` (orders
        a year) and ``value`` (typical order value).
    """
    n_iso = len(STORY["isolated"])
    n_reg = n - n_iso
    weight = city["weight"].to_numpy()
    city_idx = rng.choice(len(city), size=n_reg, p=weight / weight.sum())
    iso_idx = np.array([int(np.flatnonzero(city["city"] == c)[0]) for c in STORY["isolated"]])
    city_idx = np.concatenate([city_idx, iso_idx])
    isolated = np.zeros(n, dtype=bool)
    isolated[n_reg:] = True
    prov_idx = city["prov_idx"].to_numpy()[city_idx]
    pname = prov["province"].to_numpy()[prov_idx]

    channel = rng.choice(3, size=n, p=CHANNEL_SHARE)
    channel[isolated] = 0
    size = rng.standard_normal(n)                      # latent firm size / quality

    # Signup: existing customers before the history starts, new ones during it.
    p_existing = np.full(n, 0.8)
    emerging = np.isin(pname, STORY["emerging"])
    declining = np.isin(pname, STORY["declining"])
    p_existing[emerging] = 0.3
    p_existing[declining] = 0.85
    existing = (rng.random(n) < p_existing) | isolated
    old = -rng.integers(30, 8 * 365, size=n)
    late = rng.beta(2.0, 1.0, size=n)                  # emerging: signups skewed late
    new_u = np.where(emerging, late, rng.random(n))
    new = (new_u * (n_days - 60)).astype(np.int64)
    signup = np.where(existing, old, new)

    first = np.maximum(signup + 1 + rng.exponential(20.0, size=n).astype(np.int64), 0)
    # Churn: stop ordering at some day (declining province churns more, late).
    # Bigger, better-run firms churn less.
    p_churn = np.where(declining, 0.30, 0.18) * np.exp(-0.5 * size) / np.exp(0.125)
    p_churn[isolated] = 0.0
    churned = rng.random(n) < p_churn
    churn_any = first + (rng.random(n) * (n_days - first)).astype(np.int64)
    churn_late = n_days - 1 - rng.integers(0, 600, size=n)
    last = np.where(churned, np.where(declining, churn_late, churn_any), n_days - 1)
    last = np.minimum(last, n_days - 1)

    rate = ORDERS_PER_YEAR[channel] * np.exp(0.5 * size + 0.25 * rng.standard_normal(n))
    value = ORDER_VALUE[channel] * np.exp(0.25 * size + 0.25 * rng.standard_normal(n))
    hot = np.isin(pname, STORY["hot"])
    value = np.where(hot, value * 1.15, value)
    planted = rng.spawn(1)[0] if planted is None else planted
    _churn_and_replace(planted, np.isin(pname, STORY["eroding"]) & ~isolated, signup, first,
                       last, value, n_days)

    order = np.argsort(signup, kind="stable")
    fields = dict(city_idx=city_idx, prov_idx=prov_idx, isolated=isolated, channel=channel,
                  size=size, signup=signup, first=first, last=last, rate=rate, value=value)
    return {k: v[order] for k, v in fields.items()}


def _churn_and_replace(rng, eroding, signup, first, last, value, n_days) -> None:
    """Plant STORY["eroding"] in place: growth on new customers while old ones leave.

    Of the eroding provinces' customers, a share :data:`ERODING_NEW` signs up in the last
    year instead (up to four months before the end, as bigger accounts: order value times
    :data:`ERODING_VALUE`, never churning); of the others, those signed up before the year
    before the last stop ordering in its second half with probability
    :data:`ERODING_CHURN` (unless they had stopped earlier). The last year's new customers
    then bring more revenue than the lost ones had brought the year before, while last
    year's customers together buy clearly less: the revenue bridge's ``eroding``.
    """
    idx = np.flatnonzero(eroding)
    if not len(idx):
        return
    last_year = n_days - 365                 # first day of the last year
    year_before = last_year - 366            # ... and of the year before
    second_half = last_year - 184            # its second half
    replace = rng.random(len(idx)) < ERODING_NEW
    new_signup = last_year + (rng.random(len(idx)) * (365 - 120)).astype(np.int64)
    new_first = new_signup + 1 + rng.exponential(20.0, size=len(idx)).astype(np.int64)
    old = ~replace & (signup[idx] < year_before)
    churn = old & (rng.random(len(idx)) < ERODING_CHURN)
    stop = second_half + (rng.random(len(idx)) * (last_year - second_half)).astype(np.int64)
    signup[idx] = np.where(replace, new_signup, signup[idx])
    first[idx] = np.where(replace, new_first, first[idx])
    last[idx] = np.where(replace, n_days - 1,
                         np.where(churn, np.minimum(last[idx], stop), last[idx]))
    value[idx] = np.where(replace, value[idx] * ERODING_VALUE, value[idx])


def customer_frame(rng, core, prov, city, start_ts) -> pd.DataFrame:
    """The canonical ``customers`` table of the drawn core (``sales_rep_id`` still empty).

    Parameters
    ----------
    rng : numpy.random.Generator
        The generator's stream.
    core : dict of ndarray
        :func:`draw_customers`.
    prov, city : DataFrame
        :func:`~samplegen.places.places`.
    start_ts : Timestamp
        Day 0 of the history.

    Returns
    -------
    DataFrame
        Ids ``C000001``.. in signup order, names, contacts, addresses, points, channel,
        industry and, for channel partners only, the firmographics.
    """
    n = len(core["signup"])
    width = max(6, len(str(n)))
    ids = "C" + pd.Series(np.arange(1, n + 1)).astype("string").str.zfill(width)
    cidx = core["city_idx"]
    channel = core["channel"]
    city_name = pd.Series(city["city"].to_numpy()[cidx], dtype="string")
    province = pd.Series(prov["province"].to_numpy()[core["prov_idx"]], dtype="string")
    short = pd.Series(city["short"].to_numpy()[cidx], dtype="string")

    # Names: 深圳市 + 华安 + 安防科技有限公司; email domains from the word's pinyin.
    word_idx = rng.integers(0, len(_WORDS), size=n)
    words = pd.Series([w for w, _ in _WORDS], dtype="string").take(word_idx).reset_index(drop=True)
    pinyin = pd.Series([p for _, p in _WORDS], dtype="string").take(word_idx).reset_index(drop=True)
    suffix = pd.Series("", index=range(n), dtype="string")
    for ch, options in enumerate(_SUFFIX):
        mask = channel == ch
        suffix[mask] = pick(rng, options, int(mask.sum())).to_numpy()
    name = short + words + suffix

    contact = person_names(rng, n)
    phone = phones(rng, n)
    personal = rng.random(n) < 0.3
    company_mail = (pick(rng, _MAIL_PREFIX, n) + "@" + pinyin
                    + pd.Series(rng.integers(0, 100, size=n)).astype("string").where(
                        rng.random(n) < 0.5, "") + ".com")
    personal_mail = (pd.Series(rng.integers(10_000_000, 3_000_000_000, size=n)).astype("string")
                     + pick(rng, ["@qq.com", "@163.com"], n))
    email = company_mail.where(~personal, personal_mail)

    prov_prefix = province.where(province != city_name, "")
    address = (prov_prefix + city_name + pick(rng, _DISTRICTS, n) + pick(rng, _ROADS, n)
               + pick(rng, _ROAD_KIND, n)
               + pd.Series(rng.integers(1, 1000, size=n)).astype("string") + "号")
    building = (pd.Series(rng.integers(1, 30, size=n)).astype("string") + "栋"
                + pd.Series(rng.integers(1, 30, size=n) * 100 + rng.integers(1, 20, size=n))
                .astype("string") + "室")
    address = address + building.where(rng.random(n) < 0.5, "")

    base_lat = city["lat"].to_numpy()[cidx]
    base_lon = city["lon"].to_numpy()[cidx]
    lat = base_lat + rng.normal(0.0, 0.035, size=n)
    lon = base_lon + rng.normal(0.0, 0.035, size=n) / np.cos(np.radians(base_lat))

    industry = pick(rng, INDUSTRIES, n)
    signup_date = pd.to_datetime(_date_strings(core["signup"], start_ts)).as_unit("ns")

    # Firmographics for channel partners (NA for direct accounts).
    size = core["size"]
    partner = channel < 2
    integrator = channel == 1
    noise = rng.standard_normal((6, n))
    headcount = np.maximum(3, np.round(np.exp(2.6 + 0.7 * size + 0.3 * noise[0])
                                       * np.where(integrator, 1.5, 1.0)))
    sales_share = np.where(integrator, rng.uniform(0.15, 0.30, n), rng.uniform(0.20, 0.45, n))
    tech_share = np.where(integrator, rng.uniform(0.30, 0.55, n), rng.uniform(0.10, 0.30, n))
    sales_staff = np.maximum(1, np.round(headcount * sales_share))
    tech_staff = np.minimum(np.round(headcount * tech_share), headcount - sales_staff)
    capital = np.exp(5.0 + 0.9 * size + 0.5 * noise[1])
    capital = np.maximum(10, np.where(capital < 100, np.round(capital / 10) * 10,
                                      np.round(capital / 50) * 50))
    years = np.clip(np.round(7 + 3 * size + 2.5 * noise[2]), 1, 30)

    bm_p = np.where(integrator[:, None], [[0.05, 0.25, 0.45, 0.25]], [[0.50, 0.35, 0.05, 0.10]])
    bm = (rng.random(n)[:, None] > bm_p.cumsum(axis=1)).sum(axis=1)
    tier_score = 0.8 * size + 0.6 * noise[3]
    tier = np.select([tier_score > 1.3, tier_score > 0.0], [1, 0], 2)
    not_access = ((bm == 3) & (rng.random(n) < 0.6)) | (rng.random(n) < 0.04)
    tier = np.where(not_access, 3, tier)
    tier_count = 1 + rng.binomial(3, 1 / (1 + np.exp(-size)))
    pay_score = 0.7 * size + 0.7 * noise[4]
    pay = np.select([pay_score > -0.3, pay_score > -1.1], [0, 1], 2)
    typical = np.round(core["value"] / 100) * 100

    def partner_only(values, dtype):
        series = pd.Series(values).astype(dtype)
        return series.where(pd.Series(partner), pd.NA if dtype in ("string", "Int64") else np.nan)

    return pd.DataFrame(
        {
            "customer_id": ids,
            "name": name,
            "contact": contact,
            "phone": phone,
            "email": email,
            "address": address,
            "province": province,
            "city": city_name,
            "lat": lat,
            "lon": lon,
            "signup_date": signup_date,
            "sales_rep_id": pd.Series(pd.NA, index=range(n), dtype="string"),
            "channel": pd.Series(CHANNELS[channel], dtype="string"),
            "industry": industry,
            "business_model": partner_only(BUSINESS_MODELS[bm], "string"),
            "headcount": partner_only(headcount.astype(np.int64), "Int64"),
            "sales_staff": partner_only(sales_staff.astype(np.int64), "Int64"),
            "tech_staff": partner_only(tech_staff.astype(np.int64), "Int64"),
            "registered_capital": partner_only(capital, "float64"),
            "years_active": partner_only(years, "float64"),
            "main_product_tier": partner_only(PRODUCT_TIERS[tier], "string"),
            "product_tier_count": partner_only(tier_count.astype(np.int64), "Int64"),
            "payment_behaviour": partner_only(PAYMENT[pay], "string"),
            "typical_order_value": partner_only(typical, "float64"),
        }
    )


def _date_strings(days: np.ndarray, start: pd.Timestamp) -> np.ndarray:
    """Day numbers (day 0 = ``start``) as ``datetime64[D]``."""
    return (np.datetime64(start.date(), "D") + days.astype("timedelta64[D]"))
