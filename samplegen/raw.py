"""The raw files: the clean tables written out the way CRM/ERP exports look, with mess.

The file names, encodings, sheet and column names are those of ``workbook.yaml``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from samplegen.arrow import prefixed_ids, take_rows, text_array
from samplegen.files import freeze_xlsx, write_csv
from samplegen.mess import (
    CANCELLED_SHARE,
    CRM_DUPLICATE_ROWS,
    ERP_ONLY_SHARE,
    ORDERS_BAD_AMOUNT,
    ORDERS_DUPLICATE_LINES,
    ORDERS_UNKNOWN_CUSTOMER,
    file_order,
    spell_cities,
    spell_provinces,
)
from samplegen.names import phones
from samplegen.story import STATUS_CANCEL, STATUS_DONE, STATUS_RETURN, STORY
from samplegen.tables import DEFAULT_SEED

CRM_FILE, ERP_FILE = "crm_customers.csv", "erp_partners_gbk.csv"
ORDERS_FILE, REPS_FILE, SPEND_FILE = "orders.csv", "sales_reps.xlsx", "marketing_spend.csv"
REPS_SHEET = "销售代表"
MESS_FILE = "mess.json"


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
    paths, who = write_customer_files(rng, customers, folder, mess)

    # --- orders ------------------------------------------------------------------------
    n_lines = len(orders)
    width = len(orders["order_id"].iloc[0]) - 1 if n_lines else 7
    done = np.flatnonzero((orders["status"] == STATUS_DONE).to_numpy())
    plan = order_mess(rng, n_lines, len(done), customers, width)
    source = done[plan["source_rank"]]
    base = order_text(orders)
    extra = extra_lines(base, source, plan["extra_ids"], plan["kind"], plan["customer"])
    combined = {name: pa.concat_arrays([base[name], extra[name]]) for name in base}
    del base, extra
    # Exact duplicates right after the original; extra lines after the last line of their day.
    day = orders["order_date"].to_numpy()
    extra_pos = np.searchsorted(day, day[source], side="right") - 0.25
    paths["orders"] = folder / ORDERS_FILE
    write_csv(take_rows(combined, file_order(n_lines, plan["dup"], extra_pos)), paths["orders"],
              "utf-8")
    del combined, day
    status = orders["status"].value_counts()
    mess.update(order_counts(plan, n_lines, int(status.get(STATUS_DONE, 0)),
                             int(status.get(STATUS_RETURN, 0))))
    paths.update(write_reps_and_spend(rng, tables["reps"], tables["spend"], folder, mess))
    paths["mess"] = finish_mess(mess, customers, who, folder)
    return paths


def write_customer_files(rng, customers: pd.DataFrame, folder: Path,
                         mess: dict) -> tuple[dict[str, Path], dict[str, np.ndarray]]:
    """The CRM and ERP exports (the first draws of :func:`write_raw`'s stream ``rng``).

    Adds their counts to ``mess``; returns their paths and the masks ``partner``,
    ``isolated``, ``erp_only`` and ``in_both`` (of partners) over ``customers``.
    """
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
    crm_province, crm_styles = spell_provinces(rng, crm["province"])
    crm_city, city_missing, city_short = spell_cities(rng, crm["city"], 0.03, 0.25, crm_iso)
    phone_missing = rng.random(n_crm) < 0.03
    industry_missing = rng.random(n_crm) < 0.08
    has_point = rng.random(n_crm) < 0.70
    columns = {
        "客户编号": text_array(crm["customer_id"]),
        "客户名称": text_array(crm["name"]),
        "省份": text_array(crm_province),
        "城市": text_array(crm_city),
        "详细地址": text_array(crm["address"]),
        "联系人": text_array(crm["contact"]),
        "联系电话": text_array(crm["phone"].mask(phone_missing)),
        "邮箱": text_array(crm["email"]),
        "客户类型": text_array(crm["channel"]),
        "行业": text_array(crm["industry"].mask(industry_missing)),
        "注册日期": pc.strftime(pa.array(crm["signup_date"]), format="%Y/%m/%d"),
        "负责销售": text_array(crm["sales_rep_id"]),
        "经度": pa.array(crm["lon"].round(6).where(has_point), from_pandas=True),
        "纬度": pa.array(crm["lat"].round(6).where(has_point), from_pandas=True),
    }
    n_dup = min(CRM_DUPLICATE_ROWS, n_crm // 10)
    dup_rows = np.sort(rng.choice(n_crm, size=n_dup, replace=False))
    crm_path = folder / CRM_FILE
    write_csv(take_rows(columns, file_order(n_crm, dup_rows)), crm_path, "utf-8-sig")
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
    erp_province, erp_styles = spell_provinces(rng, erp["province"])
    erp_city, erp_city_missing, erp_city_short = spell_cities(rng, erp["city"], 0.02, 0.35,
                                                               erp_iso)
    capital_missing = rng.random(n_erp) < 0.03
    erp_path = folder / ERP_FILE
    write_csv(
        {
            "往来单位编码": text_array(erp["customer_id"]),
            "单位名称": text_array(erp["name"]),
            "所在省": text_array(erp_province),
            "所在市": text_array(erp_city),
            "经营模式": text_array(erp["business_model"]),
            "员工人数": text_array(erp["headcount"]),
            "销售人员数": text_array(erp["sales_staff"]),
            "技术人员数": text_array(erp["tech_staff"]),
            "注册资本万元": text_array(erp["registered_capital"].mask(capital_missing)),
            "门禁从业年限": text_array(erp["years_active"]),
            "主营产品档次": text_array(erp["main_product_tier"]),
            "经营产品档次数": text_array(erp["product_tier_count"]),
            "回款情况": text_array(erp["payment_behaviour"]),
            "典型单笔订单元": text_array(erp["typical_order_value"]),
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

    paths = {"crm_customers": crm_path, "erp_partners_gbk": erp_path}
    return paths, {"partner": partner, "isolated": isolated, "erp_only": erp_only,
                   "in_both": in_both}


def order_mess(rng, n_lines: int, n_done: int, customers: pd.DataFrame, width: int) -> dict:
    """The extra and duplicated order lines (the draws of :func:`write_raw` after the
    customer files).

    Extra lines are copies of completed lines with their own order numbers: cancelled
    orders, orders of customers in neither customer file, empty or unparseable amounts.
    Returns ``source_rank`` (the k-th completed line each extra line copies, in file
    order of the completed lines), ``extra_ids``, ``kind`` (0 cancelled, 1 unknown
    customer, 2 empty amount, 3 text amount), ``customer`` (the unknown customers' ids,
    one per kind-1 line), ``dup`` (the sorted lines written twice) and the counts.
    """
    id_width = len(customers["customer_id"].iloc[0]) - 1
    n_cancel = int(round(CANCELLED_SHARE * n_lines))
    n_unknown = ORDERS_UNKNOWN_CUSTOMER
    n_empty, n_text = ORDERS_BAD_AMOUNT
    n_extra = n_cancel + n_unknown + n_empty + n_text
    source_rank = rng.choice(n_done, size=n_extra, replace=False)
    dup = np.sort(rng.choice(n_lines, size=ORDERS_DUPLICATE_LINES, replace=False))
    return {
        "source_rank": source_rank,
        "extra_ids": prefixed_ids("D", np.arange(n_lines + 1, n_lines + 1 + n_extra), width),
        "customer": prefixed_ids("C", np.arange(len(customers) + 1001,
                                                len(customers) + 1001 + n_unknown), id_width),
        "kind": np.repeat(np.arange(4), [n_cancel, n_unknown, n_empty, n_text]),
        "dup": dup,
        "n_cancel": n_cancel, "n_unknown": n_unknown, "n_empty": n_empty, "n_text": n_text,
    }


def order_text(orders: pd.DataFrame) -> dict[str, pa.Array]:
    """The canonical order lines as the export's text columns."""
    return {
        "订单号": text_array(orders["order_id"]),
        "客户编号": text_array(orders["customer_id"]),
        "下单日期": pc.strftime(pa.array(orders["order_date"]), format="%Y-%m-%d"),
        "产品类别": text_array(orders["product_category"]),
        "数量": text_array(orders["quantity"]),
        "金额": text_array(orders["amount"]),
        "状态": text_array(orders["status"]),
    }


def extra_lines(base: dict[str, pa.Array], source: np.ndarray, extra_ids: pd.Series,
                kind: np.ndarray, customer: pd.Series) -> dict[str, pa.Array]:
    """The extra lines (:func:`order_mess`): copies of the rows ``source`` of ``base`` with
    the ids ``extra_ids``, made cancelled, of the unknown ``customer`` (one per kind-1 line,
    in order), or with an empty or text amount, by ``kind``."""
    extra = {name: array.take(pa.array(source, type=pa.int64())).to_pandas(
        types_mapper=pd.ArrowDtype) for name, array in base.items()}
    extra["订单号"] = extra_ids
    extra["状态"] = extra["状态"].where(kind != 0, STATUS_CANCEL)
    extra["客户编号"] = extra["客户编号"].copy()
    extra["客户编号"].iloc[kind == 1] = customer.to_numpy()
    extra["金额"] = extra["金额"].astype("string")
    extra["金额"].iloc[kind == 2] = pd.NA
    extra["金额"].iloc[kind == 3] = "#VALUE!"
    return {name: text_array(extra[name]) for name in base}


def order_counts(plan: dict, n_lines: int, completed: int, returned: int) -> dict:
    """The orders' entries of ``mess.json``."""
    n_bad = plan["n_empty"] + plan["n_text"]
    return {
        "orders_rows": n_lines + ORDERS_DUPLICATE_LINES + len(plan["kind"]),
        "orders_clean_lines": n_lines,
        "orders_completed": completed,
        "orders_returned": returned,
        "orders_cancelled": plan["n_cancel"],
        "orders_unknown_customer": plan["n_unknown"],
        "orders_duplicate_lines": ORDERS_DUPLICATE_LINES,
        "orders_bad_amount": n_bad,
        "orders_empty_amount": plan["n_empty"],
        "orders_text_amount": plan["n_text"],
    }


def write_reps_and_spend(rng, reps: pd.DataFrame, spend: pd.DataFrame, folder: Path,
                         mess: dict) -> dict[str, Path]:
    """The reps' workbook and the spend export (the last draws of :func:`write_raw`)."""
    # --- reps (Excel) ------------------------------------------------------------------
    reps_frame = pd.DataFrame(
        {
            "工号": reps["sales_rep_id"].to_numpy(),
            "姓名": reps["name"].to_numpy(),
            "负责区域": reps["region"].to_numpy(),
            "手机": phones(rng, len(reps)).to_numpy(),
        }
    )
    reps_path = folder / REPS_FILE
    reps_frame.to_excel(reps_path, sheet_name=REPS_SHEET, index=False, engine="openpyxl")
    freeze_xlsx(reps_path)
    mess.update(reps_rows=len(reps_frame))

    # --- marketing spend ---------------------------------------------------------------
    spend = spend.reset_index(drop=True)
    spend_province, spend_styles = spell_provinces(rng, spend["region"])
    spend_path = folder / SPEND_FILE
    write_csv({"省份": text_array(spend_province), "季度": text_array(spend["period"]),
                "投入金额": text_array(spend["amount"])}, spend_path, "utf-8")
    mess.update(spend_rows=len(spend), spend_province_spellings=spend_styles)

    return {"sales_reps": reps_path, "marketing_spend": spend_path}


def finish_mess(mess: dict, customers: pd.DataFrame, who: dict, folder: Path) -> Path:
    """``mess.json``: the counts, what prep should end with, and the story."""
    partner, isolated, erp_only = who["partner"], who["isolated"], who["erp_only"]
    in_both = who["in_both"]
    n_lines = mess["orders_clean_lines"]
    n_erp_only = int(erp_only.sum())
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
    story = {k: dict(v) if isinstance(v, dict) else list(v) for k, v in STORY.items()}
    story["isolated_customer_ids"] = customers.loc[isolated, "customer_id"].tolist()
    story["erp_only_customer_ids_sample"] = customers.loc[erp_only, "customer_id"].head(5).tolist()
    mess["story"] = story
    mess_path = folder / MESS_FILE
    mess_path.write_text(json.dumps(mess, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return mess_path
