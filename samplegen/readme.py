"""The sample's ``README.md``: the files, the planted story and the planted mess, counted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from samplegen.mess import PROVINCE_STYLES, spellings
from samplegen.places import haversine_km, places
from samplegen.story import (
    ERODING_CHURN,
    ERODING_NEW,
    ERODING_VALUE,
    GAP_FACTOR,
    ISOLATION_KM,
    STATUS_RETURN,
    STORY,
)

_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]


def story_table(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The planted story as numbers, one row per province (index: official name).

    Parameters
    ----------
    tables : dict of DataFrame
        The output of :func:`~samplegen.tables.generate`.

    Returns
    -------
    DataFrame
        ``territory``, ``population_10k``, ``customers``, ``per_million`` (customers per
        million people), ``vs_population`` (customer share / population share),
        ``revenue_12m``, ``share_12m`` and ``growth`` (on the 12 months before), by
        revenue. The 12-month windows end at the last order date.
    """
    prov, _ = places()
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


def planted_facts(tables: dict[str, pd.DataFrame]) -> dict:
    """The numbers of the facts planted for step 4's mix, bridge and seasonality.

    Plain sums over the clean tables (the analyses' own tests, significance included, are
    in ``tests/test_insights.py``); the 12-month windows end at the last order date, as in
    :func:`story_table`.

    Returns
    -------
    dict
        ``cross_sell_gap``: the category's share of the order lines of the last 12 months
        in the territory (``line_share``) and elsewhere (``line_share_rest``), and the share
        of the buying customers who bought it (``buyers``, ``buyers_rest``);
        ``eroding``: per province the revenue of the 12 months before (``revenue_prev``)
        and of the last 12 (``revenue``), ``new`` (customers with lines in the last 12
        months only) and ``lost`` (minus the revenue of those with lines in the 12 months
        before only); ``seasonal``: revenue per calendar month relative to the mean
        (``index``, months 1-12, 100 = the mean) and its ``peak`` and ``low`` months.
    """
    customers, orders = tables["customers"], tables["orders"]
    prov, _ = places()
    territory = prov.set_index("province")["territory"]
    province = orders["customer_id"].map(customers.set_index("customer_id")["province"])
    end = orders["order_date"].max()
    last = (orders["order_date"] > end - pd.DateOffset(months=12)).to_numpy()
    prior = ~last & (orders["order_date"] > end - pd.DateOffset(months=24)).to_numpy()

    gap = STORY["cross_sell_gap"]
    inside = (province.map(territory) == gap["territory"]).to_numpy()
    is_cat = (orders["product_category"] == gap["category"]).to_numpy()
    sold = last & (orders["amount"] > 0).to_numpy()
    buyers = pd.DataFrame({"customer_id": orders["customer_id"], "inside": inside,
                           "is_cat": is_cat})[sold].groupby("customer_id").agg(
        inside=("inside", "first"), is_cat=("is_cat", "any"))
    facts: dict = {"cross_sell_gap": {
        "line_share": float(is_cat[sold & inside].mean()),
        "line_share_rest": float(is_cat[sold & ~inside].mean()),
        "buyers": float(buyers.loc[buyers["inside"], "is_cat"].mean()),
        "buyers_rest": float(buyers.loc[~buyers["inside"], "is_cat"].mean())}}

    eroding = {}
    for name in STORY["eroding"]:
        mine = (province == name).to_numpy()
        now = orders[mine & last].groupby("customer_id")["amount"].sum()
        before = orders[mine & prior].groupby("customer_id")["amount"].sum()
        eroding[name] = {"revenue_prev": float(before.sum()), "revenue": float(now.sum()),
                         "new": float(now[~now.index.isin(before.index)].sum()),
                         "lost": -float(before[~before.index.isin(now.index)].sum())}
    facts["eroding"] = eroding

    months = orders.groupby(orders["order_date"].dt.month)["amount"].sum()
    index = months / months.mean() * 100
    facts["seasonal"] = {"index": {int(m): float(v) for m, v in index.items()},
                         "peak": int(index.idxmax()), "low": int(index.idxmin())}
    return facts


def isolation_km(customers: pd.DataFrame, customer_ids) -> pd.Series:
    """Distance (km) from each of ``customer_ids`` to the nearest other customer.

    Parameters
    ----------
    customers : DataFrame
        With ``customer_id``, ``lat`` and ``lon``.
    customer_ids : iterable of str
        A handful of ids (one vectorised pass each).

    Returns
    -------
    Series
        ``nearest_km`` by customer id.
    """
    lat = customers["lat"].to_numpy()
    lon = customers["lon"].to_numpy()
    ids = customers["customer_id"].to_numpy()
    out = {}
    for cid in customer_ids:                       # a handful of ids, each vectorised
        i = int(np.flatnonzero(ids == cid)[0])
        dist = haversine_km(lat[i], lon[i], lat, lon)
        dist[i] = np.inf
        out[cid] = float(np.nanmin(dist))
    return pd.Series(out, name="nearest_km")


def write_readme(folder, tables: dict[str, pd.DataFrame], mess: dict, *,
                 n_customers: int, seed: int, start: str, end: str) -> Path:
    """Write ``README.md`` describing the files, the planted story and the planted mess.

    Parameters
    ----------
    folder : path
        Where :func:`~samplegen.raw.write_raw` wrote the files.
    tables : dict of DataFrame
        The output of :func:`~samplegen.tables.generate`.
    mess : dict
        The contents of ``mess.json``.
    n_customers, seed : int
        The generator's arguments, for the command line shown.
    start, end : str
        The order history's first and last day, likewise.

    Returns
    -------
    Path
        The README written.
    """
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
    example = spellings().loc["广东省"]
    spell_rows = "\n".join(
        f"| {style} | {example[style]} | {spell[style]:,} | {mess['erp_province_spellings'][style]:,} "
        f"| {mess['spend_province_spellings'][style]:,} |" for style in PROVINCE_STYLES)
    facts = planted_facts(tables)
    season = ", ".join(f"{m}: {v / 100:.2f}" for m, v in facts["seasonal"]["index"].items())
    gap, gap_facts = STORY["cross_sell_gap"], facts["cross_sell_gap"]
    eroding_rows = "\n".join(
        f"| {name} | {e['revenue_prev'] / 1e6:,.2f} | {e['revenue'] / 1e6:,.2f} | "
        f"{e['revenue'] / e['revenue_prev'] - 1:+.0%} | {e['new'] / 1e6:+,.2f} | "
        f"{e['lost'] / 1e6:+,.2f} | "
        f"{(e['revenue'] - e['new'] - e['revenue_prev']) / e['revenue_prev']:+.0%} |"
        for name, e in facts["eroding"].items())
    peak, low = facts["seasonal"]["peak"], facts["seasonal"]["low"]
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
  {ISOLATION_KM:.0f} km of these cities):

| customer_id | province | city | lat | lon | nearest other customer (km) |
|---|---|---|---:|---:|---:|
{iso_rows}

Three more facts for step 4's category mix, revenue bridge and seasonality
(`STORY["cross_sell_gap"]`, `STORY["eroding"]`, `STORY["seasonal"]`):

- **cross-sell gap**: in the {gap['territory']} territory a line is a {gap['category']} {GAP_FACTOR:g}
  times as often as elsewhere (the other categories share the rest as usual): last 12
  months {gap_facts['line_share']:.1%} of its order lines against {gap_facts['line_share_rest']:.1%} elsewhere,
  bought by {gap_facts['buyers']:.0%} of its buying customers against {gap_facts['buyers_rest']:.0%}. Step 4 should find
  the category under-indexed in the territory's provinces and name them cross-sell gaps
  (customers who buy the rest but not it); step 5 lists those customers.
- **eroding**: {', '.join(STORY['eroding'])} grows on new customers while it loses old ones:
  {ERODING_NEW:.0%} of its customers sign up in the last year instead (order value x{ERODING_VALUE:g}),
  and of those signed up before the year before the last, {ERODING_CHURN:.0%} stop ordering in its
  second half. Left out of the growth calibration. The revenue bridge should flag it (alone)
  as growing while last year's customers bring less:

| province | revenue 12 m before (M CNY) | last 12 m | growth | new customers | customers lost | last year's customers, change |
|---|---:|---:|---:|---:|---:|---:|
{eroding_rows}

- **seasonal**: revenue peaks in {_MONTHS[peak - 1]} and is lowest in {_MONTHS[low - 1]}
  (`STORY["seasonal"]`: {_MONTHS[STORY['seasonal']['peak'] - 1]} and {_MONTHS[STORY['seasonal']['low'] - 1]}; revenue
  per calendar month relative to the mean above); step 4's seasonality should find it
  beyond chance.

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
