"""The planted story and the business's constants.

:data:`STORY` names the provinces, cities, category and months the later steps should find;
the rest are the business's fixed numbers (channels, products, prices, order rates) and the
knobs that plant the story (penetration and growth per province, the isolation distance,
the cross-sell gap's factor, the eroding province's churn and replacement; the months'
seasonality is ``samplegen.orders._MONTH_FACTOR``).
"""

from __future__ import annotations

import numpy as np

# Official province names as in helpers.geo.provinces().
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
    # A category that under-indexes in one territory although its customers buy the rest:
    # a line there is this category GAP_FACTOR times as often (a cross-sell gap).
    "cross_sell_gap": {"territory": "西南", "category": "人脸识别终端"},
    # Growth carried by new customers while old ones leave (churn and replace): customers
    # signed up before the year before the last stop ordering in its second half
    # (ERODING_CHURN), new sign-ups of the last year (ERODING_NEW, bigger accounts:
    # ERODING_VALUE) bring more than the lost customers did.
    "eroding": ["湖北省"],
    # Seasonality of revenue (months 1-12): the December peak and the February low.
    "seasonal": {"peak": 12, "low": 2},
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
PENETRATION = {
    "广东省": 2.4, "浙江省": 2.4, "江苏省": 2.4, "上海市": 4.0,
    "北京市": 2.0, "天津市": 1.4, "福建省": 1.6, "山东省": 1.3,
    "河南省": 0.2, "四川省": 0.25, "湖南省": 0.3,
    "安徽省": 0.35, "新疆维吾尔自治区": 0.75,
    "西藏自治区": 0.0, "青海省": 0.0, "宁夏回族自治区": 0.0,
}
# Yearly growth of order intensity per existing customer (default 0%).
GROWTH = {"广东省": 0.03, "浙江省": 0.03, "江苏省": 0.03, "上海市": 0.03,
          "河南省": 0.04, "四川省": 0.04, "湖南省": 0.04}
# The cross-sell gap: the category's share of the territory's order lines, times this
# (the other categories share the rest in their usual proportions).
GAP_FACTOR = 0.25
# The eroding provinces: share of their customers who sign up in the last year instead,
# their order value (times the drawn one), and the churn of the customers signed up before
# the year before the last (they stop in its second half).
ERODING_NEW = 0.22
ERODING_VALUE = 1.3
ERODING_CHURN = 0.45
# No ordinary customers within this distance (km) of the isolated cities.
ISOLATION_KM = 360.0
