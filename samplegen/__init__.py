"""Deterministic generator of the bundled sample data, with a planted story and planted mess.

The business: a maker of access-control and security devices (门禁/安防) selling across
the 31 provinces of mainland China through channel partners (经销商 dealers, 系统集成商
system integrators) and to direct enterprise accounts (直销大客户).

:func:`generate` returns the *clean* canonical tables (``customers``, ``orders``,
``reps``, ``spend``; the columns of ``docs/architecture.md``). They carry a story that
the later steps should find (see :data:`STORY`): coastal hot spots, under-served
populous provinces, blank provinces, an emerging and a declining province and a handful
of isolated customers. :func:`write_raw` writes them out the way CRM/ERP exports look
(the files, encodings, sheets and column names of ``workbook.yaml``) with countable mess
planted: messy province spellings, duplicate rows, partners in two systems, unknown
customers, cancelled orders. The exact counts go to ``mess.json``.

Everything is vectorised (no Python loop per customer or order line), so
``generate(1_000_000)`` runs in well under a minute.

Command line::

    python -m samplegen --customers 5000 --seed 20231101 --out data/sample
"""

from __future__ import annotations

import argparse
import json
import re
import zipfile
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from helpers import geo

__all__ = ["STORY", "generate", "write_raw", "write_readme", "story_table", "isolation_km", "main"]

DEFAULT_SEED = 20231101

# ---------------------------------------------------------------------------------------
# The planted story (official province names as in helpers.geo.provinces()).
# ---------------------------------------------------------------------------------------
STORY: dict = {
    # Contiguous coastal hot spots: many customers and most of the revenue.
    "hot": ["广东省", "浙江省", "江苏省", "上海市"],
    # Fairly strong too, next to the hot spots.
    "strong": ["福建省", "山东省", "北京市"],
    # Populous provinces with far fewer customers than population/GDP predict.
    "underserved": ["河南省", "四川省", "湖南省"],
    # No customers at all.
    "blank": ["西藏自治区", "青海省", "宁夏回族自治区"],
    # Small base, revenue in the last 12 months about 2-3x the 12 months before.
    "emerging": ["安徽省"],
    # Revenue in the last 12 months about 30% below the 12 months before.
    "declining": ["辽宁省"],
    # One isolated dealer in each of these cities, 290+ km from any other customer.
    "isolated": ["喀什地区", "阿勒泰地区", "哈密市", "呼伦贝尔市", "黑河市", "锡林郭勒盟"],
}

CHANNELS = np.array(["经销商", "系统集成商", "直销大客户"])
CHANNEL_SHARE = np.array([0.55, 0.30, 0.15])
BUSINESS_MODELS = np.array(["纯设备销售", "销售+项目", "以项目为主", "门禁为项目附带"])
PRODUCT_TIERS = np.array(["国产中端联网门禁", "国外高端品牌", "国产低端单机", "非门禁为主"])
PAYMENT = np.array(["无拖欠", "偶有拖欠", "现金流紧张"])
INDUSTRIES = np.array(
    ["智慧社区", "房地产物业", "商业楼宇", "产业园区", "教育", "医疗", "政府机关",
     "制造业", "金融", "交通枢纽"]
)
# Product categories, list price (CNY per unit) and mix per channel.
CATEGORIES = np.array(["门禁控制器", "读卡器", "人脸识别终端", "电子锁", "通道闸机",
                       "可视对讲", "管理软件", "配件"])
UNIT_PRICE = np.array([850.0, 220.0, 1600.0, 380.0, 9800.0, 650.0, 4800.0, 25.0])
CATEGORY_MIX = np.array(
    [[0.22, 0.18, 0.12, 0.18, 0.04, 0.12, 0.02, 0.12],   # dealer
     [0.20, 0.12, 0.18, 0.10, 0.12, 0.10, 0.08, 0.10],   # integrator
     [0.15, 0.10, 0.22, 0.10, 0.15, 0.08, 0.12, 0.08]]   # direct account
)
ORDERS_PER_YEAR = np.array([7.0, 4.5, 3.5])          # median per channel
ORDER_VALUE = np.array([4500.0, 18000.0, 35000.0])   # median per channel, CNY
STATUS_DONE, STATUS_RETURN, STATUS_CANCEL = "已完成", "已退货", "已取消"

# Customers per head of population, relative (1.0 = an ordinary province).
_PENETRATION = {
    "广东省": 2.4, "浙江省": 2.4, "江苏省": 2.4, "上海市": 4.0,
    "北京市": 2.0, "天津市": 1.4, "福建省": 1.6, "山东省": 1.3,
    "河南省": 0.2, "四川省": 0.25, "湖南省": 0.3,
    "安徽省": 0.35, "新疆维吾尔自治区": 0.75,
    "西藏自治区": 0.0, "青海省": 0.0, "宁夏回族自治区": 0.0,
}
# Yearly growth of order intensity per existing customer (default 0%).
_GROWTH = {"广东省": 0.03, "浙江省": 0.03, "江苏省": 0.03, "上海市": 0.03,
           "河南省": 0.04, "四川省": 0.04, "湖南省": 0.04}
_BIG_CITIES = {
    "广州市", "深圳市", "东莞市", "佛山市", "杭州市", "宁波市", "温州市", "南京市", "苏州市",
    "无锡市", "常州市", "青岛市", "济南市", "烟台市", "厦门市", "福州市", "泉州市", "沈阳市",
    "大连市", "武汉市", "成都市", "郑州市", "长沙市", "西安市", "合肥市", "石家庄市",
}
# Xinjiang's ordinary customers sit in these cities only (the west is left to the isolated).
_XINJIANG_CITIES = {"乌鲁木齐市": 6.0, "昌吉回族自治州": 1.5, "伊犁哈萨克自治州": 1.0,
                    "巴音郭楞蒙古自治州": 1.0}
_ISOLATION_KM = 360.0
_JUNK_CITIES = {"市辖区", "县", "省直辖县级行政区划"}

# Chinese New Year (first day) for the seasonality dip.
_CNY = ["2015-02-19", "2016-02-08", "2017-01-28", "2018-02-16", "2019-02-05", "2020-01-25",
        "2021-02-12", "2022-02-01", "2023-01-22", "2024-02-10", "2025-01-29", "2026-02-17",
        "2027-02-06", "2028-01-26", "2029-02-13", "2030-02-03", "2031-01-23", "2032-02-11",
        "2033-01-31", "2034-02-19", "2035-02-08"]
_MONTH_FACTOR = np.array([0.85, 0.80, 1.00, 1.00, 0.95, 1.05, 0.90, 0.90, 1.05, 0.95,
                          1.20, 1.35])

_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
                 "于蒋蔡余杜叶程苏魏吕丁任沈")
_GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建文辉玲飞鹏斌宇浩凯健俊帆"
              "旭宁龙林欣婷晨阳博志海波荣红丹雪梅琳峰鑫亮成东")
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

_ETHNIC_STATE = re.compile(
    r"^(.+?)(?:(?:朝鲜|土家|苗|藏|羌|彝|布依|侗|哈尼|壮|傣|白|景颇|傈僳|回|蒙古|柯尔克孜|"
    r"哈萨克)族?)+自治州$"
)


# ---------------------------------------------------------------------------------------
# Structure: cities and their weights (independent of the seed)
# ---------------------------------------------------------------------------------------
def _haversine_km(lat1, lon1, lat2, lon2):
    lat1, lon1, lat2, lon2 = map(np.radians, (lat1, lon1, lat2, lon2))
    h = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    return 6371.0 * 2 * np.arcsin(np.sqrt(h))


def _short_city(name: str) -> str:
    """The name a company would put before its own (深圳市, 喀什, 延边)."""
    if name.endswith("市"):
        return name
    match = _ETHNIC_STATE.match(name)
    if match:
        return match.group(1)
    return re.sub(r"(地区|盟)$", "", name)


@lru_cache(maxsize=1)
def _places() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Provinces (31, mainland) and usable prefecture cities with sampling weights."""
    prov = geo.provinces()
    prov = prov[prov["territory"] != "港澳台"].reset_index(drop=True)
    stats_file = Path(__file__).resolve().parents[1] / "data" / "reference" / "cn_province_stats.csv"
    stats = pd.read_csv(stats_file, dtype={"province_code": str})
    prov = prov.merge(stats[["province_code", "population_10k", "gdp_100m_cny"]],
                      on="province_code", how="left", validate="1:1")
    prov["penetration"] = prov["province"].map(_PENETRATION).fillna(1.0)
    prov["weight"] = prov["population_10k"] * prov["penetration"]
    prov["growth"] = prov["province"].map(_GROWTH).fillna(0.0)

    city = geo.cities()
    city = city[city["lat"].notna() & ~city["city"].isin(_JUNK_CITIES)]
    city = city.drop_duplicates("city_code", keep="last")  # municipalities: keep 北京市
    city = city[city["province"].isin(prov["province"])].reset_index(drop=True)
    city["prov_idx"] = city["province"].map(pd.Series(prov.index, index=prov["province"]))

    # Structural city size: capital x4, big cities x3, others 0.35..1 from a hash.
    hashed = city["city_code"].map(lambda c: zlib.crc32(c.encode()) % 1000 / 1000.0)
    size = 0.35 + 0.65 * hashed.to_numpy()
    capital = np.zeros(len(city), dtype=bool)
    for p_idx, row in prov.iterrows():
        mask = (city["prov_idx"] == p_idx).to_numpy()
        if mask.any():
            dist = _haversine_km(row["lat"], row["lon"], city["lat"].to_numpy()[mask],
                                 city["lon"].to_numpy()[mask])
            capital[np.flatnonzero(mask)[np.argmin(dist)]] = True
    size = np.where(capital, 4.0, np.where(city["city"].isin(_BIG_CITIES), 3.0, size))
    xinjiang = (city["province"] == "新疆维吾尔自治区").to_numpy()
    size = np.where(xinjiang, city["city"].map(_XINJIANG_CITIES).fillna(0.0), size)

    # Isolated cities: no ordinary customers in them or within _ISOLATION_KM of them.
    isolated = city["city"].isin(STORY["isolated"]).to_numpy()
    iso = city[isolated]
    near = np.zeros(len(city), dtype=bool)
    for lat, lon in zip(iso["lat"], iso["lon"], strict=True):
        near |= _haversine_km(lat, lon, city["lat"].to_numpy(), city["lon"].to_numpy()) < _ISOLATION_KM
    size = np.where(near, 0.0, size)

    # City weight = province weight shared by relative city size.
    prov_size = pd.Series(size).groupby(city["prov_idx"]).transform("sum").to_numpy()
    share = np.divide(size, prov_size, out=np.zeros_like(size), where=prov_size > 0)
    city["weight"] = share * prov["weight"].to_numpy()[city["prov_idx"]]
    city["isolated"] = isolated
    city["territory"] = prov["territory"].to_numpy()[city["prov_idx"]]
    city["short"] = city["city"].map(_short_city)
    return prov, city


def _day_weights(start: pd.Timestamp, n_days: int) -> np.ndarray:
    """Seasonality per day (mean 1): CNY dip, National Day, Q4 peak, quiet weekends."""
    days = pd.date_range(start, periods=n_days, freq="D")
    weight = _MONTH_FACTOR[days.month.to_numpy() - 1].copy()
    weight[days.day_of_week.to_numpy() >= 5] *= 0.3
    for cny in pd.to_datetime(_CNY):
        offset = (days - cny).days.to_numpy()
        weight[(offset >= -10) & (offset <= 8)] *= 0.2
    national = (days.month == 10) & (days.day <= 7)
    weight[np.asarray(national)] *= 0.3
    return weight / weight.mean()


def _level(prov: pd.DataFrame, n_days: int) -> np.ndarray:
    """Order intensity per province and day (growth, the emerging and declining story)."""
    years_to_end = (n_days - 1 - np.arange(n_days)) / 365.0      # 0 on the last day
    years_from_start = np.arange(n_days) / 365.0
    level = np.exp(np.outer(prov["growth"].to_numpy(), years_from_start))
    for name in STORY["emerging"]:
        i = int(np.flatnonzero(prov["province"] == name)[0])
        level[i] = np.exp(-0.8 * years_to_end)                     # ~2.2x per year
    for name in STORY["declining"]:
        i = int(np.flatnonzero(prov["province"] == name)[0])
        ramp = np.clip(years_to_end / 1.5, 0.0, 1.0)                # 1 at 18 months -> 0 now
        level[i] = 0.4 + 0.6 * ramp
    return level


# ---------------------------------------------------------------------------------------
# Vectorised text helpers
# ---------------------------------------------------------------------------------------
def _pick(rng: np.random.Generator, values, n: int, p=None) -> pd.Series:
    pool = pd.Series(list(values), dtype="string")
    return pool.take(rng.choice(len(pool), size=n, p=p)).reset_index(drop=True)


def _digits(rng: np.random.Generator, n: int, width: int) -> pd.Series:
    return pd.Series(rng.integers(0, 10**width, size=n)).astype("string").str.zfill(width)


def _person_names(rng: np.random.Generator, n: int) -> pd.Series:
    surname = _pick(rng, _SURNAMES, n)
    given = _pick(rng, _GIVEN, n)
    second = _pick(rng, _GIVEN, n)
    two = rng.random(n) < 0.6
    return surname + given + second.where(two, "")


def _phones(rng: np.random.Generator, n: int) -> pd.Series:
    head = _pick(rng, ["13", "15", "18", "17", "19"], n) + _digits(rng, n, 1)
    return head + "-" + _digits(rng, n, 4) + "-" + _digits(rng, n, 4)


def _date_strings(days: np.ndarray, start: pd.Timestamp) -> np.ndarray:
    return (np.datetime64(start.date(), "D") + days.astype("timedelta64[D]"))


# ---------------------------------------------------------------------------------------
# generate
# ---------------------------------------------------------------------------------------
def generate(n_customers: int = 5000, seed: int = DEFAULT_SEED, start: str = "2023-01-01",
             end: str = "2025-12-31") -> dict[str, pd.DataFrame]:
    """Generate the clean canonical tables with the planted :data:`STORY`.

    Parameters
    ----------
    n_customers : int
        Number of customers (at least 30; six of them are the isolated ones).
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives identical tables.
    start, end : str
        First and last day of the order history (inclusive).

    Returns
    -------
    dict of DataFrame
        ``customers``, ``orders`` (status 已完成 or 已退货, returns negative),
        ``reps`` and ``spend`` with the canonical columns of ``docs/architecture.md``.
    """
    if n_customers < 30:
        raise ValueError(f"n_customers must be at least 30, got {n_customers}")
    start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)
    n_days = (end_ts - start_ts).days + 1
    if n_days < 400:
        raise ValueError("the order history must cover more than a year (start..end)")
    rng = np.random.default_rng(seed)
    prov, city = _places()

    core = _draw_customers(rng, n_customers, prov, city, n_days)
    customers = _customer_frame(rng, core, prov, city, start_ts)
    reps, rep_of = _draw_reps(rng, core, city, n_customers)
    customers["sales_rep_id"] = rep_of
    orders = _draw_orders(rng, core, customers["customer_id"], prov, start_ts, n_days)
    spend = _draw_spend(rng, core, prov, orders, start_ts, end_ts)
    return {"customers": customers, "orders": orders, "reps": reps, "spend": spend}


def _draw_customers(rng, n, prov, city, n_days) -> dict:
    """Numeric core of the customers, sorted by signup (ids follow signup order)."""
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

    order = np.argsort(signup, kind="stable")
    fields = dict(city_idx=city_idx, prov_idx=prov_idx, isolated=isolated, channel=channel,
                  size=size, signup=signup, first=first, last=last, rate=rate, value=value)
    return {k: v[order] for k, v in fields.items()}


def _customer_frame(rng, core, prov, city, start_ts) -> pd.DataFrame:
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
        suffix[mask] = _pick(rng, options, int(mask.sum())).to_numpy()
    name = short + words + suffix

    contact = _person_names(rng, n)
    phone = _phones(rng, n)
    personal = rng.random(n) < 0.3
    company_mail = (_pick(rng, _MAIL_PREFIX, n) + "@" + pinyin
                    + pd.Series(rng.integers(0, 100, size=n)).astype("string").where(
                        rng.random(n) < 0.5, "") + ".com")
    personal_mail = (pd.Series(rng.integers(10_000_000, 3_000_000_000, size=n)).astype("string")
                     + _pick(rng, ["@qq.com", "@163.com"], n))
    email = company_mail.where(~personal, personal_mail)

    prov_prefix = province.where(province != city_name, "")
    address = (prov_prefix + city_name + _pick(rng, _DISTRICTS, n) + _pick(rng, _ROADS, n)
               + _pick(rng, _ROAD_KIND, n)
               + pd.Series(rng.integers(1, 1000, size=n)).astype("string") + "号")
    building = (pd.Series(rng.integers(1, 30, size=n)).astype("string") + "栋"
                + pd.Series(rng.integers(1, 30, size=n) * 100 + rng.integers(1, 20, size=n))
                .astype("string") + "室")
    address = address + building.where(rng.random(n) < 0.5, "")

    base_lat = city["lat"].to_numpy()[cidx]
    base_lon = city["lon"].to_numpy()[cidx]
    lat = base_lat + rng.normal(0.0, 0.035, size=n)
    lon = base_lon + rng.normal(0.0, 0.035, size=n) / np.cos(np.radians(base_lat))

    industry = _pick(rng, INDUSTRIES, n)
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


def _draw_reps(rng, core, city, n_customers) -> tuple[pd.DataFrame, pd.Series]:
    """20-40 reps spread over territories by customer count; customers get a rep of theirs."""
    territories = ["华东", "华南", "华北", "华中", "西南", "西北", "东北"]
    terr_of = pd.Series(city["territory"].to_numpy()[core["city_idx"]])
    terr_code = pd.Categorical(terr_of, categories=territories).codes
    counts = np.bincount(terr_code, minlength=len(territories)).astype(float)
    n_reps = int(np.clip(20 + n_customers // 1000, 20, 40))
    present = counts > 0
    alloc = np.where(present, 1, 0)
    rest = n_reps - alloc.sum()
    ideal = counts / counts.sum() * rest
    alloc = alloc + np.floor(ideal).astype(int)
    left = n_reps - alloc.sum()
    order = np.argsort(-(ideal - np.floor(ideal)), kind="stable")
    alloc[order[:left]] += 1
    region = np.repeat(territories, alloc)
    rep_ids = [f"S{i:02d}" for i in range(1, n_reps + 1)]
    reps = pd.DataFrame(
        {
            "sales_rep_id": pd.Series(rep_ids, dtype="string"),
            "name": _person_names(rng, n_reps),
            "region": pd.Series(region, dtype="string"),
        }
    )
    first = np.concatenate([[0], np.cumsum(alloc)[:-1]])
    pick = first[terr_code] + np.floor(rng.random(len(terr_code)) * alloc[terr_code]).astype(int)
    return reps, pd.Series(np.array(rep_ids)[pick], dtype="string")


def _draw_orders(rng, core, customer_ids, prov, start_ts, n_days) -> pd.DataFrame:
    """Order lines: Poisson counts per customer, dates by inverse CDF of seasonality x trend."""
    n_prov = len(prov)
    weight = _day_weights(start_ts, n_days)[None, :] * _level(prov, n_days)
    cum = np.zeros((n_prov, n_days + 1))
    np.cumsum(weight, axis=1, out=cum[:, 1:])
    p = core["prov_idx"]
    first, last = core["first"], core["last"]
    active = first <= last
    lo = cum[p, np.clip(first, 0, n_days)]
    hi = cum[p, np.clip(last + 1, 0, n_days)]
    expected = np.where(active, core["rate"] / 365.0 * (hi - lo), 0.0)
    count = rng.poisson(expected)

    cust = np.repeat(np.arange(len(count), dtype=np.int32), count)
    m = len(cust)
    pc = p[cust]
    # Flatten the per-province cumulative curves into one increasing array.
    span = cum[:, -1].max() + 1.0
    flat = (cum[:, 1:] + (np.arange(n_prov) * span)[:, None]).ravel()
    # Stratified: a customer's k-th of K orders falls in the k-th K-quantile of its
    # window (partners reorder regularly), so yearly revenue is not Poisson noise.
    rank = np.arange(m, dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
    frac = (rank + rng.random(m)) / count[cust]
    del rank
    target = lo[cust] + frac * (hi[cust] - lo[cust]) + pc * span
    del frac
    day = np.searchsorted(flat, target, side="left") - pc.astype(np.int64) * n_days
    day = np.clip(day, first[cust], last[cust]).astype(np.int32)
    del target, pc

    channel = core["channel"][cust]
    cat_cum = CATEGORY_MIX.cumsum(axis=1)
    u = rng.random(m)
    cat = np.zeros(m, dtype=np.int8)
    for k in range(len(CATEGORIES) - 1):          # 7 vector passes, not a loop over rows
        cat += (u > cat_cum[channel, k]).astype(np.int8)
    unit = np.round(UNIT_PRICE[cat] * rng.uniform(0.85, 1.2, size=m))
    want = core["value"][cust] * rng.lognormal(0.0, 0.4, size=m)
    quantity = np.maximum(1, np.round(want / unit)).astype(np.int64)
    del want, u, channel

    # Returns: ~4% of sales come back 3-45 days later, as negative lines.
    back = np.flatnonzero(rng.random(m) < 0.04)
    r_day = np.minimum(day[back] + rng.integers(3, 46, size=len(back)), n_days - 1)
    full = rng.random(len(back)) < 0.7
    r_qty = np.where(full, quantity[back],
                     np.maximum(1, np.ceil(quantity[back] * rng.uniform(0.2, 0.9, len(back)))))
    r_qty = r_qty.astype(np.int64)

    all_cust = np.concatenate([cust, cust[back]])
    all_day = np.concatenate([day, r_day.astype(np.int32)])
    all_qty = np.concatenate([quantity, -r_qty])
    all_unit = np.concatenate([unit, unit[back]])
    all_cat = np.concatenate([cat, cat[back]])
    is_return = np.zeros(len(all_cust), dtype=bool)
    is_return[m:] = True
    del cust, day, quantity, unit, cat
    all_unit = _calibrate_growth(all_unit, all_qty, all_day, p[all_cust], prov, n_days)

    order = np.lexsort((all_cust, all_day))
    n_lines = len(order)
    qty = all_qty[order]
    amount = (qty * all_unit[order]).astype(np.float64)
    del all_qty, all_unit
    cust_sorted = all_cust[order]
    del all_cust
    day_sorted = all_day[order]
    del all_day
    cat_sorted = all_cat[order]
    ret_sorted = is_return[order].astype(np.int8)
    del all_cat, is_return, order
    width = max(7, len(str(n_lines)))
    dates = np.datetime64(start_ts.date(), "D") + day_sorted.astype("timedelta64[D]")
    del day_sorted
    columns = {
        "order_id": _prefixed_ids("D", np.arange(1, n_lines + 1), width),
        "customer_id": _arrow_take(customer_ids, cust_sorted),
        "order_date": pd.Series(dates.astype("datetime64[ns]"), copy=False),
        "amount": pd.Series(amount, copy=False),
        "quantity": pd.Series(pd.array(qty, dtype="Int64"), copy=False),
        "product_category": _decode(cat_sorted, CATEGORIES),
        "status": _decode(ret_sorted, [STATUS_DONE, STATUS_RETURN]),
    }
    return pd.DataFrame(columns, copy=False)


def _calibrate_growth(unit, quantity, day, line_prov, prov, n_days) -> np.ndarray:
    """Keep chance growth of provinces outside the emerging/declining story in a band.

    A few large accounts signing up or churning can swing a small province's revenue by
    +-30% in a year, which would blur the planted story. Prices of the last year's lines
    of such a province are scaled so that its last-year / prior-year revenue ratio lies
    in [0.95, 1.15] (a regional price level; the story provinces are left alone).
    """
    window = min(365, n_days // 2)
    last = day >= n_days - window
    prior = (day >= n_days - 2 * window) & ~last
    gross = quantity * unit
    n_prov = len(prov)
    rev_last = np.bincount(line_prov[last], weights=gross[last], minlength=n_prov)
    rev_prior = np.bincount(line_prov[prior], weights=gross[prior], minlength=n_prov)
    known = (rev_last > 0) & (rev_prior > 0)
    ratio = np.divide(rev_last, rev_prior, out=np.ones(n_prov), where=known)
    free = known & ~prov["province"].isin(STORY["emerging"] + STORY["declining"]).to_numpy()
    factor = np.where(free, np.clip(ratio, 0.95, 1.15) / ratio, 1.0)
    return np.where(last, np.round(unit * factor[line_prov]), unit)


def _string_series(array) -> pd.Series:
    """A pyarrow array as a Series of dtype ``string`` (no copy)."""
    return pd.Series(array, dtype=pd.StringDtype("pyarrow"), copy=False)


def _prefixed_ids(prefix: str, numbers: np.ndarray, width: int) -> pd.Series:
    """``prefix`` + zero-padded numbers, built in Arrow (fast, compact)."""
    text = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width, "0")
    return _string_series(pc.binary_join_element_wise(prefix, text, ""))


def _arrow_take(values: pd.Series, index: np.ndarray) -> pd.Series:
    """``values.take(index)`` for a string Series, in Arrow."""
    return _string_series(pa.chunked_array(pa.array(values.array)).take(pa.array(index)))


def _decode(codes: np.ndarray, labels) -> pd.Series:
    """Integer codes to a string Series through an Arrow dictionary."""
    array = pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(list(labels)))
    return _string_series(array.dictionary_decode())


def _draw_spend(rng, core, prov, orders, start_ts, end_ts) -> pd.DataFrame:
    """Quarterly marketing spend per province (none for blank ones), ~3% of revenue.

    Spend follows customer counts, not revenue trends: the declining province keeps a
    legacy budget and the under-served and emerging ones get little.
    """
    counts = np.bincount(core["prov_idx"], minlength=len(prov)).astype(float)
    mult = np.ones(len(prov))
    names = prov["province"].to_numpy()
    mult[np.isin(names, STORY["declining"])] = 1.8
    mult[np.isin(names, STORY["underserved"])] = 0.6
    mult[np.isin(names, STORY["emerging"])] = 0.5
    share = np.sqrt(counts) * mult
    share[np.isin(names, STORY["blank"]) | (counts == 0)] = 0.0
    share = share / share.sum()
    quarters = pd.period_range(start_ts, end_ts, freq="Q")
    per_quarter = max(float(orders["amount"].sum()), 1.0) * 0.03 / len(quarters)
    q_factor = np.array([0.8, 1.0, 0.95, 1.25])[quarters.quarter.to_numpy() - 1]
    keep = np.flatnonzero(share > 0)
    amount = (per_quarter * share[keep][:, None] * q_factor[None, :]
              * rng.lognormal(0.0, 0.15, size=(len(keep), len(quarters))))
    amount = np.maximum(1000.0, np.round(amount / 1000.0) * 1000.0)
    return pd.DataFrame(
        {
            "region": pd.Series(np.repeat(names[keep], len(quarters)), dtype="string"),
            "period": pd.Series(np.tile(quarters.astype(str).to_numpy(), len(keep)),
                                dtype="string"),
            "amount": amount.ravel(),
        }
    )


# ---------------------------------------------------------------------------------------
# write_raw: the messy exports
# ---------------------------------------------------------------------------------------
PROVINCE_STYLES = ["full", "short", "english", "abbreviation", "pinyin_sheng", "letters",
                   "english_lower"]
_STYLE_SHARE = [0.55, 0.15, 0.08, 0.06, 0.06, 0.05, 0.05]
CRM_FILE, ERP_FILE = "crm_customers.csv", "erp_partners_gbk.csv"
ORDERS_FILE, REPS_FILE, SPEND_FILE = "orders.csv", "sales_reps.xlsx", "marketing_spend.csv"
REPS_SHEET = "销售代表"
MESS_FILE = "mess.json"
# How much mess to plant.
CRM_DUPLICATE_ROWS = 30
ORDERS_UNKNOWN_CUSTOMER = 15
ORDERS_DUPLICATE_LINES = 20
ORDERS_BAD_AMOUNT = (3, 3)          # empty, text (#VALUE!)
ERP_ONLY_SHARE = 0.02
CANCELLED_SHARE = 0.02


@lru_cache(maxsize=1)
def _spellings() -> pd.DataFrame:
    """One row per province, one column per spelling style."""
    table = geo.provinces().set_index("province")
    letters = table["aliases"].str.split("|").map(
        lambda names: next((a for a in names if re.fullmatch(r"[A-Z]{2}", a)), None))
    level = np.select([table.index.str.endswith("省"), table.index.str.endswith("市")],
                      [" Sheng", " Shi"], " Zizhiqu")
    return pd.DataFrame(
        {
            "full": table.index,
            "short": table["province_short"],
            "english": table["province_en"],
            "abbreviation": table["province_abbr"],
            "pinyin_sheng": table["province_en"] + level,
            "letters": letters.fillna(table["province_en"]),
            "english_lower": table["province_en"].str.lower(),
        },
        index=table.index,
    )


def _spell_provinces(rng, province: pd.Series) -> tuple[pd.Series, dict[str, int]]:
    """Each value spelled in a random style; returns the spellings and a count per style."""
    style = rng.choice(len(PROVINCE_STYLES), size=len(province), p=_STYLE_SHARE)
    table = _spellings()
    out = pd.Series(pd.NA, index=province.index, dtype="string")
    counts = {}
    for k, name in enumerate(PROVINCE_STYLES):             # one vector pass per style
        mask = style == k
        out[mask] = province[mask].map(table[name]).astype("string").to_numpy()
        counts[name] = int(mask.sum())
    return out, counts


def _spell_cities(rng, city: pd.Series, p_missing: float, p_short: float, keep: np.ndarray):
    """Official name, the name without 市, or empty (never for rows in ``keep``).

    Returns the spellings and the masks of empty and shortened names.
    """
    u = rng.random(len(city))
    missing = (u < p_missing) & ~keep
    short = ((u >= p_missing) & (u < p_missing + p_short)
             & city.str.endswith("市").to_numpy() & ~keep)
    out = city.copy()
    out[short] = city[short].str.slice(0, -1).to_numpy()
    out[missing] = pd.NA
    return out, missing, short


def _text(values) -> pa.Array:
    """Any pandas/numpy column as an Arrow string array (NA/NaN -> null)."""
    array = pa.array(values, from_pandas=True)
    if pa.types.is_floating(array.type):
        array = pc.cast(pc.round(array), pa.int64())
    return pc.cast(array, pa.string())


def _write_csv(columns: dict[str, pa.Array], path: Path, encoding: str) -> None:
    """Write a CSV with Arrow (unquoted; fails loudly on a value that would need quotes).

    ``utf-8-sig`` writes a BOM; any other encoding but UTF-8 (GBK) is transcoded.
    """
    table = pa.table(columns)
    header = (",".join(table.column_names) + "\n").encode("utf-8")
    options = pcsv.WriteOptions(include_header=False, quoting_style="none")
    if encoding.replace("_", "-").lower() in ("utf-8", "utf8", "utf-8-sig"):
        with open(path, "wb") as out:
            if encoding.lower().endswith("sig"):
                out.write(b"\xef\xbb\xbf")
            out.write(header)
            pcsv.write_csv(table, out, options)
        return
    buffer = pa.BufferOutputStream()
    pcsv.write_csv(table, buffer, options)
    body = buffer.getvalue().to_pybytes()
    with open(path, "wb") as out:
        out.write(header.decode("utf-8").encode(encoding))
        step = 1 << 24
        start = 0
        while start < len(body):                     # transcode in ~16 MB slices
            stop = body.find(b"\n", min(start + step, len(body)) - 1) + 1 or len(body)
            out.write(body[start:stop].decode("utf-8").encode(encoding))
            start = stop


def _freeze_xlsx(path: Path) -> None:
    """Make an .xlsx byte-reproducible: fixed zip entry times and document timestamps."""
    with zipfile.ZipFile(path) as source:
        entries = [(info, source.read(info.filename)) for info in source.infolist()]
    stamp = b"2020-01-01T00:00:00Z"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in entries:
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp, data)
            frozen = zipfile.ZipInfo(info.filename, date_time=(2020, 1, 1, 0, 0, 0))
            frozen.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(frozen, data)


def _take(columns: dict[str, pa.Array], index: np.ndarray) -> dict[str, pa.Array]:
    positions = pa.array(index)
    return {name: array.take(positions) for name, array in columns.items()}


def write_raw(tables: dict[str, pd.DataFrame], folder, *,
              seed: int = DEFAULT_SEED) -> dict[str, Path]:
    """Write the clean tables as messy CRM/ERP exports, plus ``mess.json``.

    The file names, encodings, sheet and column names are those of ``workbook.yaml``.
    Planted mess (exact counts in ``mess.json``): messy province spellings, cities with
    and without 市, missing cities/phones/industries, coordinates for ~70% of customers,
    exact duplicate CRM rows, partners in both CRM and ERP and ~2% ERP-only partners,
    cancelled orders, orders of unknown customers, duplicated order lines and order
    lines with an empty or unparseable amount.

    Parameters
    ----------
    tables : dict of DataFrame
        The output of :func:`generate`.
    folder : path
        Created if missing; existing files of the same names are overwritten.
    seed : int
        Seed of the mess (independent of the data's seed).

    Returns
    -------
    dict of Path
        ``crm_customers``, ``erp_partners_gbk``, ``orders``, ``sales_reps``,
        ``marketing_spend`` and ``mess``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 7])
    customers = tables["customers"].reset_index(drop=True)
    orders = tables["orders"].reset_index(drop=True)
    mess: dict = {"seed": seed, "customers": len(customers)}

    # --- customers: who is where -------------------------------------------------------
    partner = customers["channel"].isin(["经销商", "系统集成商"]).to_numpy()
    isolated = customers["city"].isin(STORY["isolated"]).to_numpy()
    candidates = np.flatnonzero(partner & ~isolated)
    n_erp_only = int(round(ERP_ONLY_SHARE * partner.sum()))
    erp_only = np.zeros(len(customers), dtype=bool)
    erp_only[rng.choice(candidates, size=n_erp_only, replace=False)] = True

    # --- CRM ---------------------------------------------------------------------------
    crm = customers[~erp_only].reset_index(drop=True)
    n_crm = len(crm)
    crm_iso = crm["city"].isin(STORY["isolated"]).to_numpy()
    crm_province, crm_styles = _spell_provinces(rng, crm["province"])
    crm_city, city_missing, city_short = _spell_cities(rng, crm["city"], 0.03, 0.25, crm_iso)
    phone_missing = rng.random(n_crm) < 0.03
    industry_missing = rng.random(n_crm) < 0.08
    has_point = rng.random(n_crm) < 0.70
    columns = {
        "客户编号": _text(crm["customer_id"]),
        "客户名称": _text(crm["name"]),
        "省份": _text(crm_province),
        "城市": _text(crm_city),
        "详细地址": _text(crm["address"]),
        "联系人": _text(crm["contact"]),
        "联系电话": _text(crm["phone"].mask(phone_missing)),
        "邮箱": _text(crm["email"]),
        "客户类型": _text(crm["channel"]),
        "行业": _text(crm["industry"].mask(industry_missing)),
        "注册日期": pc.strftime(pa.array(crm["signup_date"]), format="%Y/%m/%d"),
        "负责销售": _text(crm["sales_rep_id"]),
        "经度": pa.array(crm["lon"].round(6).where(has_point), from_pandas=True),
        "纬度": pa.array(crm["lat"].round(6).where(has_point), from_pandas=True),
    }
    n_dup = min(CRM_DUPLICATE_ROWS, n_crm // 10)
    dup_rows = np.sort(rng.choice(n_crm, size=n_dup, replace=False))
    rows = np.concatenate([np.arange(n_crm), dup_rows])
    position = np.concatenate([np.arange(n_crm), dup_rows + 0.5])   # right after the original
    crm_path = folder / CRM_FILE
    _write_csv(_take(columns, rows[np.argsort(position, kind="stable")]), crm_path, "utf-8-sig")
    del columns
    mess.update(
        crm_rows=n_crm + n_dup,
        crm_customers=n_crm,
        crm_duplicate_rows=n_dup,
        crm_missing_city=int(city_missing.sum()),
        crm_city_without_shi=int(city_short.sum()),
        crm_missing_phone=int(phone_missing.sum()),
        crm_missing_industry=int(industry_missing.sum()),
        crm_with_coordinates=int(has_point.sum()),
        crm_province_spellings=crm_styles,
    )

    # --- ERP (partners only, GBK) ------------------------------------------------------
    erp = customers[partner].reset_index(drop=True)
    n_erp = len(erp)
    erp_iso = erp["city"].isin(STORY["isolated"]).to_numpy()
    erp_province, erp_styles = _spell_provinces(rng, erp["province"])
    erp_city, erp_city_missing, erp_city_short = _spell_cities(rng, erp["city"], 0.02, 0.35,
                                                               erp_iso)
    capital_missing = rng.random(n_erp) < 0.03
    erp_path = folder / ERP_FILE
    _write_csv(
        {
            "往来单位编码": _text(erp["customer_id"]),
            "单位名称": _text(erp["name"]),
            "所在省": _text(erp_province),
            "所在市": _text(erp_city),
            "经营模式": _text(erp["business_model"]),
            "员工人数": _text(erp["headcount"]),
            "销售人员数": _text(erp["sales_staff"]),
            "技术人员数": _text(erp["tech_staff"]),
            "注册资本万元": _text(erp["registered_capital"].mask(capital_missing)),
            "门禁从业年限": _text(erp["years_active"]),
            "主营产品档次": _text(erp["main_product_tier"]),
            "经营产品档次数": _text(erp["product_tier_count"]),
            "回款情况": _text(erp["payment_behaviour"]),
            "典型单笔订单元": _text(erp["typical_order_value"]),
        },
        erp_path, "gbk",
    )
    in_both = ~erp_only[partner]
    crm_spelling = pd.Series(crm_province.to_numpy(), index=crm["customer_id"].to_numpy())
    erp_spelling = pd.Series(erp_province.to_numpy(), index=erp["customer_id"].to_numpy())
    both_ids = erp["customer_id"][in_both].to_numpy()
    differs = crm_spelling.reindex(both_ids).to_numpy() != erp_spelling.reindex(both_ids).to_numpy()
    mess.update(
        erp_rows=n_erp,
        partners_in_both=int(in_both.sum()),
        erp_only_partners=n_erp_only,
        erp_province_spelled_differently=int(differs.sum()),
        erp_missing_city=int(erp_city_missing.sum()),
        erp_city_without_shi=int(erp_city_short.sum()),
        erp_missing_registered_capital=int(capital_missing.sum()),
        erp_province_spellings=erp_styles,
    )
    del crm, erp, crm_spelling, erp_spelling

    # --- orders ------------------------------------------------------------------------
    n_lines = len(orders)
    width = len(orders["order_id"].iloc[0]) - 1 if n_lines else 7
    id_width = len(customers["customer_id"].iloc[0]) - 1
    done = np.flatnonzero((orders["status"] == STATUS_DONE).to_numpy())
    n_cancel = int(round(CANCELLED_SHARE * n_lines))
    n_unknown = ORDERS_UNKNOWN_CUSTOMER
    n_empty, n_text = ORDERS_BAD_AMOUNT
    n_extra = n_cancel + n_unknown + n_empty + n_text
    # Extra lines are copies of completed lines with their own order numbers: cancelled
    # orders, orders of customers in neither customer file, empty or unparseable amounts.
    source = rng.choice(done, size=n_extra, replace=False)
    extra_ids = _prefixed_ids("D", np.arange(n_lines + 1, n_lines + 1 + n_extra), width)
    ghosts = _prefixed_ids("C", np.arange(len(customers) + 1001,
                                          len(customers) + 1001 + n_unknown), id_width)
    kind = np.repeat(np.arange(4), [n_cancel, n_unknown, n_empty, n_text])
    base = {
        "订单号": _text(orders["order_id"]),
        "客户编号": _text(orders["customer_id"]),
        "下单日期": pc.strftime(pa.array(orders["order_date"]), format="%Y-%m-%d"),
        "产品类别": _text(orders["product_category"]),
        "数量": _text(orders["quantity"]),
        "金额": _text(orders["amount"]),
        "状态": _text(orders["status"]),
    }
    extra = {name: array.take(pa.array(source)).to_pandas(types_mapper=pd.ArrowDtype)
             for name, array in base.items()}
    extra["订单号"] = extra_ids
    extra["状态"] = extra["状态"].where(kind != 0, STATUS_CANCEL)
    extra["客户编号"] = extra["客户编号"].copy()
    extra["客户编号"].iloc[kind == 1] = ghosts.to_numpy()
    extra["金额"] = extra["金额"].astype("string")
    extra["金额"].iloc[kind == 2] = pd.NA
    extra["金额"].iloc[kind == 3] = "#VALUE!"
    combined = {name: pa.concat_arrays([base[name], _text(extra[name])]) for name in base}
    del base, extra
    # Exact duplicates right after the original; extra lines after the last line of their day.
    dup = np.sort(rng.choice(n_lines, size=ORDERS_DUPLICATE_LINES, replace=False))
    day = orders["order_date"].to_numpy()
    extra_pos = np.searchsorted(day, day[source], side="right") - 0.25
    rows = np.concatenate([np.arange(n_lines), dup, n_lines + np.arange(n_extra)])
    position = np.concatenate([np.arange(n_lines), dup + 0.5, extra_pos])
    orders_path = folder / ORDERS_FILE
    _write_csv(_take(combined, rows[np.argsort(position, kind="stable")]), orders_path, "utf-8")
    del combined, rows, position, day
    status = orders["status"].value_counts()
    mess.update(
        orders_rows=n_lines + ORDERS_DUPLICATE_LINES + n_extra,
        orders_clean_lines=n_lines,
        orders_completed=int(status.get(STATUS_DONE, 0)),
        orders_returned=int(status.get(STATUS_RETURN, 0)),
        orders_cancelled=n_cancel,
        orders_unknown_customer=n_unknown,
        orders_duplicate_lines=ORDERS_DUPLICATE_LINES,
        orders_bad_amount=n_empty + n_text,
        orders_empty_amount=n_empty,
        orders_text_amount=n_text,
    )

    # --- reps (Excel) ------------------------------------------------------------------
    reps = tables["reps"]
    reps_frame = pd.DataFrame(
        {
            "工号": reps["sales_rep_id"].to_numpy(),
            "姓名": reps["name"].to_numpy(),
            "负责区域": reps["region"].to_numpy(),
            "手机": _phones(rng, len(reps)).to_numpy(),
        }
    )
    reps_path = folder / REPS_FILE
    reps_frame.to_excel(reps_path, sheet_name=REPS_SHEET, index=False, engine="openpyxl")
    _freeze_xlsx(reps_path)
    mess.update(reps_rows=len(reps_frame))

    # --- marketing spend ---------------------------------------------------------------
    spend = tables["spend"].reset_index(drop=True)
    spend_province, spend_styles = _spell_provinces(rng, spend["region"])
    spend_path = folder / SPEND_FILE
    _write_csv({"省份": _text(spend_province), "季度": _text(spend["period"]),
                "投入金额": _text(spend["amount"])}, spend_path, "utf-8")
    mess.update(spend_rows=len(spend), spend_province_spellings=spend_styles)

    # --- what prep should end with, and the story ----------------------------------------
    mess["expected_after_prep"] = {
        "customers": len(customers),
        "customers_crm_and_erp": int(in_both.sum()),
        "customers_crm_only": int((~partner).sum()),
        "customers_erp_only": n_erp_only,
        "orders": n_lines,
        "orders_read": mess["orders_rows"],
        "orders_set_aside": mess["orders_rows"] - n_lines,
    }
    story = {k: list(v) for k, v in STORY.items()}
    story["isolated_customer_ids"] = customers.loc[isolated, "customer_id"].tolist()
    story["erp_only_customer_ids_sample"] = customers.loc[erp_only, "customer_id"].head(5).tolist()
    mess["story"] = story
    mess_path = folder / MESS_FILE
    mess_path.write_text(json.dumps(mess, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return {
        "crm_customers": crm_path,
        "erp_partners_gbk": erp_path,
        "orders": orders_path,
        "sales_reps": reps_path,
        "marketing_spend": spend_path,
        "mess": mess_path,
    }


# ---------------------------------------------------------------------------------------
# README and command line
# ---------------------------------------------------------------------------------------
def story_table(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per province: customers, customers per million people, expected-count ratio,
    revenue of the last 12 months, its share and growth on the 12 months before.

    The 12-month windows end at the last order date.
    """
    prov, _ = _places()
    customers, orders = tables["customers"], tables["orders"]
    province = orders["customer_id"].map(customers.set_index("customer_id")["province"])
    end = orders["order_date"].max()
    last = orders["order_date"] > end - pd.DateOffset(months=12)
    prior = (~last) & (orders["order_date"] > end - pd.DateOffset(months=24))
    rev_last = orders["amount"][last].groupby(province[last]).sum()
    rev_prior = orders["amount"][prior].groupby(province[prior]).sum()
    table = prov.set_index("province")[["territory", "population_10k"]].copy()
    table["customers"] = customers["province"].value_counts().reindex(table.index).fillna(0)
    table["customers"] = table["customers"].astype(int)
    table["per_million"] = table["customers"] / table["population_10k"] * 100
    pop_share = table["population_10k"] / table["population_10k"].sum()
    table["vs_population"] = table["customers"] / table["customers"].sum() / pop_share
    table["revenue_12m"] = rev_last.reindex(table.index).fillna(0.0)
    table["share_12m"] = table["revenue_12m"] / table["revenue_12m"].sum()
    table["growth"] = table["revenue_12m"] / rev_prior.reindex(table.index) - 1
    return table.sort_values("revenue_12m", ascending=False)


def isolation_km(customers: pd.DataFrame, customer_ids) -> pd.Series:
    """Distance (km) from each of ``customer_ids`` to the nearest other customer."""
    lat = customers["lat"].to_numpy()
    lon = customers["lon"].to_numpy()
    ids = customers["customer_id"].to_numpy()
    out = {}
    for cid in customer_ids:                       # a handful of ids, each vectorised
        i = int(np.flatnonzero(ids == cid)[0])
        dist = _haversine_km(lat[i], lon[i], lat, lon)
        dist[i] = np.inf
        out[cid] = float(np.nanmin(dist))
    return pd.Series(out, name="nearest_km")


def write_readme(folder, tables: dict[str, pd.DataFrame], mess: dict, *,
                 n_customers: int, seed: int, start: str, end: str) -> Path:
    """Write ``README.md`` describing the files, the planted story and the planted mess."""
    folder = Path(folder)
    story = story_table(tables)
    customers, orders = tables["customers"], tables["orders"]

    def fmt_row(name, row):
        growth = "" if pd.isna(row["growth"]) else f"{row['growth']:+.0%}"
        return (f"| {name} | {row['territory']} | {row['customers']:,} | "
                f"{row['per_million']:.1f} | {row['vs_population']:.2f} | "
                f"{row['revenue_12m'] / 1e6:,.1f} | {row['share_12m']:.1%} | {growth} |")

    header = ("| province | territory | customers | per million people | vs population share "
              "| revenue last 12 m (M CNY) | share | growth vs prior 12 m |\n"
              "|---|---|---:|---:|---:|---:|---:|---:|")
    roles = []
    for key in ["hot", "strong", "underserved", "blank", "emerging", "declining"]:
        for name in STORY[key]:
            roles.append((key, name))
    story_rows = "\n".join(f"| {key} |" + fmt_row(name, story.loc[name])[1:] for key, name in roles)
    story_header = "| role " + header.replace("\n|", "\n|---|")
    all_rows = "\n".join(fmt_row(name, row) for name, row in story.iterrows())
    iso_ids = mess["story"]["isolated_customer_ids"]
    iso = customers.set_index("customer_id").loc[iso_ids, ["province", "city", "lat", "lon"]]
    nearest = isolation_km(customers, iso_ids)
    iso_rows = "\n".join(f"| {cid} | {r.province} | {r.city} | {r.lat:.3f} | {r.lon:.3f} | "
                         f"{nearest[cid]:,.0f} |" for cid, r in iso.iterrows())
    spell = mess["crm_province_spellings"]
    example = _spellings().loc["广东省"]
    spell_rows = "\n".join(
        f"| {style} | {example[style]} | {spell[style]:,} | {mess['erp_province_spellings'][style]:,} "
        f"| {mess['spend_province_spellings'][style]:,} |" for style in PROVINCE_STYLES)
    months = orders.groupby(orders["order_date"].dt.month)["amount"].sum()
    season = ", ".join(f"{m}: {v / months.mean():.2f}" for m, v in months.items())
    exp = mess["expected_after_prep"]
    channel = customers["channel"].value_counts()
    text = f"""# Bundled sample data (synthetic)

Generated by `python -m samplegen --customers {n_customers} --seed {seed} --start {start} --end {end} --out data/sample`
(`helpers/sample.py`). Everything here is synthetic and deterministic: the same command
writes the same files. Do not edit the files by hand; change the generator and
regenerate. `mess.json` holds the exact counts of every planted problem, for tests of the
data-prep step.

## The business

A maker of access-control and security devices (门禁/安防: controllers, card readers,
face-recognition terminals, electric locks, turnstiles, video intercom, software,
accessories) selling across the 31 provinces of mainland China through channel partners
(经销商 dealers, 系统集成商 system integrators) and to direct enterprise accounts
(直销大客户). {len(customers):,} customers ({channel.get('经销商', 0):,} dealers,
{channel.get('系统集成商', 0):,} integrators, {channel.get('直销大客户', 0):,} direct accounts) in
{customers['city'].nunique()} prefecture-level cities, {len(orders):,} order lines from {start} to {end},
{len(tables['reps'])} sales reps in seven territories, quarterly marketing spend per province.

## Files

| file | encoding | rows | what |
|---|---|---:|---|
| `crm_customers.csv` | UTF-8 with BOM | {mess['crm_rows']:,} | CRM export: every customer except the ERP-only partners |
| `erp_partners_gbk.csv` | GBK | {mess['erp_rows']:,} | ERP partner master: dealers and integrators only, with firmographics |
| `orders.csv` | UTF-8 | {mess['orders_rows']:,} | ERP order lines, one line per order |
| `sales_reps.xlsx` | sheet `销售代表` | {mess['reps_rows']} | HR list of sales reps |
| `marketing_spend.csv` | UTF-8 | {mess['spend_rows']} | marketing spend per province and quarter |
| `mess.json` | UTF-8 | | exact counts of the planted mess, the story and the isolated customer ids |

Columns (canonical name from `workbook.yaml` in brackets):

- `crm_customers.csv`: 客户编号 (customer_id, `C000001`..), 客户名称 (name), 省份
  (province, messy spellings), 城市 (city, with or without 市, sometimes empty), 详细地址
  (address), 联系人 (contact), 联系电话 (phone, `1xx-xxxx-xxxx`), 邮箱 (email), 客户类型
  (channel: 经销商 / 系统集成商 / 直销大客户), 行业 (industry served), 注册日期 (signup_date,
  `%Y/%m/%d`), 负责销售 (sales_rep_id), 经度 / 纬度 (lon / lat, WGS-84, a few km around
  the city point; empty for ~30%).
- `erp_partners_gbk.csv`: 往来单位编码 (customer_id, same ids as the CRM), 单位名称 (name),
  所在省 (province, spelled independently of the CRM), 所在市 (city), 经营模式
  (business_model: 纯设备销售 / 销售+项目 / 以项目为主 / 门禁为项目附带), 员工人数
  (headcount), 销售人员数 (sales_staff), 技术人员数 (tech_staff), 注册资本万元
  (registered_capital, 10k CNY), 门禁从业年限 (years_active), 主营产品档次
  (main_product_tier: 国产中端联网门禁 / 国外高端品牌 / 国产低端单机 / 非门禁为主),
  经营产品档次数 (product_tier_count, 1-4), 回款情况 (payment_behaviour: 无拖欠 / 偶有拖欠
  / 现金流紧张), 典型单笔订单元 (typical_order_value, CNY).
- `orders.csv`: 订单号 (order_id, `D0000001`.., numbered by date), 客户编号 (customer_id),
  下单日期 (order_date, `%Y-%m-%d`), 产品类别 (product_category), 数量 (quantity), 金额
  (amount, CNY; negative for returns), 状态 (status: 已完成 completed, 已退货 returned, 已取消
  cancelled and to be set aside by `keep_status`).
- `sales_reps.xlsx`: 工号 (sales_rep_id, `S01`..), 姓名 (name), 负责区域 (region: 华东 /
  华南 / 华北 / 华中 / 西南 / 西北 / 东北), 手机 (phone, not mapped).
- `marketing_spend.csv`: 省份 (region, messy spellings), 季度 (period, `2023Q1`), 投入金额
  (amount, CNY).

## The planted story

`samplegen.STORY` names it; the later steps should find it. Customer counts follow
population times a penetration factor per province; order intensity follows seasonality
(Chinese New Year dip, Q4 peak; monthly revenue relative to the mean: {season}), a
market trend, churn (customers stop ordering) and new sign-ups (signup date always
before the first order). Returns are {(orders['status'] == STATUS_RETURN).mean():.1%} of order lines.

{story_header}
{story_rows}

("vs population share" is the customer share divided by the population share; below
0.5 is a market gap. Growth compares the last 12 months with the 12 months before.)

- **hot**: {', '.join(STORY['hot'])}: contiguous coastal provinces with about twice
  the customers per head of an ordinary province and most of the revenue; {', '.join(STORY['strong'])}
  are fairly strong too.
- **underserved**: {', '.join(STORY['underserved'])}: populous, but a fifth to a quarter
  of the customers their population predicts.
- **blank**: {', '.join(STORY['blank'])}: no customers, no orders, no marketing spend.
- **emerging**: {', '.join(STORY['emerging'])}: small share, mostly new customers,
  revenue of the last 12 months a multiple of the 12 months before.
- **declining**: {', '.join(STORY['declining'])}: order intensity falls from 18 months
  before the end and more customers churn: revenue clearly below the year before,
  while its marketing spend stays high (1.8x its customer-based share).
- **isolated**: one dealer in each of {', '.join(STORY['isolated'])}, at least
  {nearest.min():,.0f} km from any other customer (no ordinary customers within
  {_ISOLATION_KM:.0f} km of these cities):

| customer_id | province | city | lat | lon | nearest other customer (km) |
|---|---|---|---:|---:|---:|
{iso_rows}

Marketing spend is about 3% of revenue, shared by the square root of customer counts
with the declining province over-funded and the under-served and emerging ones
under-funded (x0.6, x0.5): a reallocation story for step 5.

Channel partners carry firmographics for A/B/C tiering: a latent firm size drives
headcount, registered capital, years in the trade, product tier, payment behaviour and
order values and frequency together, so the tiers line up with revenue.

### All provinces

{header}
{all_rows}

## The planted mess (exact counts in `mess.json`)

CRM counts are over distinct customers in the file (a duplicated row is counted once).

| what | count | `mess.json` key |
|---|---:|---|
| CRM rows in the file | {mess['crm_rows']:,} | `crm_rows` |
| exact duplicate CRM rows (right after the original) | {mess['crm_duplicate_rows']} | `crm_duplicate_rows` |
| distinct customers in the CRM | {mess['crm_customers']:,} | `crm_customers` |
| CRM city empty | {mess['crm_missing_city']} | `crm_missing_city` |
| CRM city written without 市 | {mess['crm_city_without_shi']:,} | `crm_city_without_shi` |
| CRM phone empty | {mess['crm_missing_phone']} | `crm_missing_phone` |
| CRM industry empty | {mess['crm_missing_industry']} | `crm_missing_industry` |
| CRM customers with coordinates (经度/纬度) | {mess['crm_with_coordinates']:,} | `crm_with_coordinates` |
| ERP partner rows | {mess['erp_rows']:,} | `erp_rows` |
| partners in both CRM and ERP (same id) | {mess['partners_in_both']:,} | `partners_in_both` |
| ERP-only partners (not in the CRM) | {mess['erp_only_partners']} | `erp_only_partners` |
| partners whose province is spelled differently in CRM and ERP | {mess['erp_province_spelled_differently']:,} | `erp_province_spelled_differently` |
| ERP city empty | {mess['erp_missing_city']} | `erp_missing_city` |
| ERP city written without 市 | {mess['erp_city_without_shi']:,} | `erp_city_without_shi` |
| ERP registered capital empty | {mess['erp_missing_registered_capital']} | `erp_missing_registered_capital` |
| order lines in the file | {mess['orders_rows']:,} | `orders_rows` |
| completed lines (已完成) of the clean table | {mess['orders_completed']:,} | `orders_completed` |
| returned lines (已退货, negative amount and quantity) | {mess['orders_returned']:,} | `orders_returned` |
| cancelled lines (已取消, extra lines with their own order numbers) | {mess['orders_cancelled']:,} | `orders_cancelled` |
| lines whose customer is in neither customer file | {mess['orders_unknown_customer']} | `orders_unknown_customer` |
| exact duplicated order lines (right after the original) | {mess['orders_duplicate_lines']} | `orders_duplicate_lines` |
| lines with an empty amount / with `#VALUE!` | {mess['orders_empty_amount']} / {mess['orders_text_amount']} | `orders_empty_amount`, `orders_text_amount` |

The mess rows of `orders.csv` are disjoint: a cancelled, unknown-customer or bad-amount
line is an extra line (status 已完成 for the last two), never one of the clean lines.
So a correct data prep ends with exactly **{exp['customers']:,} customers** ({exp['customers_crm_and_erp']:,} from
crm+erp, {exp['customers_crm_only']:,} crm only, {exp['customers_erp_only']} erp only) and **{exp['orders']:,} order lines**
(read {exp['orders_read']:,}, set aside {exp['orders_set_aside']:,} = cancelled + unknown customer + duplicates
+ bad amount), equal to `samplegen.generate({n_customers}, seed={seed})`.

ERP-only partners exist only in `erp_partners_gbk.csv`, so after prep they have no
contact, phone, email, address, signup date, sales rep, channel, industry or coordinates
(`generate()` keeps the full truth). A partner in both files has the same id in both; its
province may be spelled differently, and the CRM and ERP city spellings are drawn
independently (ERP: {mess['erp_city_without_shi']:,} without 市, {mess['erp_missing_city']} empty).

Province spellings (styles drawn per row; all resolve with `helpers.geo.resolve_provinces`):

| style | example | CRM rows | ERP rows | spend rows |
|---|---|---:|---:|---:|
{spell_rows}
"""
    path = folder / "README.md"
    path.write_text(text, encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m samplegen``: generate the tables and write the raw files."""
    parser = argparse.ArgumentParser(prog="python -m samplegen", description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=5000, help="number of customers")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    parser.add_argument("--start", default="2023-01-01", help="first order day")
    parser.add_argument("--end", default="2025-12-31", help="last order day")
    parser.add_argument("--out", default="data/sample", help="output folder")
    parser.add_argument("--no-readme", action="store_true", help="do not write README.md")
    args = parser.parse_args(argv)
    tables = generate(args.customers, seed=args.seed, start=args.start, end=args.end)
    paths = write_raw(tables, args.out, seed=args.seed)
    mess = json.loads(paths["mess"].read_text(encoding="utf-8"))
    if not args.no_readme:
        paths["readme"] = write_readme(args.out, tables, mess, n_customers=args.customers,
                                       seed=args.seed, start=args.start, end=args.end)
    for name, path in paths.items():
        print(f"{name:18s} {path}  {path.stat().st_size / 1e6:7.2f} MB")
    print(f"customers {len(tables['customers']):,}  order lines {len(tables['orders']):,}  "
          f"reps {len(tables['reps'])}  spend rows {len(tables['spend'])}")
    return 0

