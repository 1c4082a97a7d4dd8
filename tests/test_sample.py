"""Tests of samplegen: the deterministic generator, its story and its planted mess."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import yaml

import samplegen as sample
from helpers import geo
from samplegen import STORY
from samplegen.mess import PROVINCE_STYLES
from samplegen.places import haversine_km
from samplegen.story import BUSINESS_MODELS, PAYMENT, PRODUCT_TIERS

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT / "data" / "sample"

CUSTOMER_COLUMNS = [
    "customer_id", "name", "contact", "phone", "email", "address", "province", "city",
    "lat", "lon", "signup_date", "sales_rep_id", "channel", "industry", "business_model",
    "headcount", "sales_staff", "tech_staff", "registered_capital", "years_active",
    "main_product_tier", "product_tier_count", "payment_behaviour", "typical_order_value",
]
ORDER_COLUMNS = ["order_id", "customer_id", "order_date", "amount", "quantity",
                 "product_category", "status"]
FIRMOGRAPHICS = ["business_model", "headcount", "sales_staff", "tech_staff",
                 "registered_capital", "years_active", "main_product_tier",
                 "product_tier_count", "payment_behaviour", "typical_order_value"]


@pytest.fixture(scope="module")
def small():
    return sample.generate(400, seed=7)


@pytest.fixture(scope="module")
def medium():
    """Large enough for stable province-level ratios (default seed)."""
    return sample.generate(3000)


@pytest.fixture(scope="module")
def raw(tmp_path_factory, small):
    folder = tmp_path_factory.mktemp("raw")
    paths = sample.write_raw(small, folder, seed=11)
    return folder, paths, json.loads(paths["mess"].read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def config():
    return yaml.safe_load((ROOT / "workbook.yaml").read_text(encoding="utf-8"))


def _population() -> pd.Series:
    stats = pd.read_csv(ROOT / "data" / "reference" / "cn_province_stats.csv")
    return stats.set_index("province")["population_10k"]


def _revenue_ratio(tables) -> pd.Series:
    """Revenue of the last 12 months over the 12 months before, per province."""
    customers, orders = tables["customers"], tables["orders"]
    province = orders["customer_id"].map(customers.set_index("customer_id")["province"])
    end = orders["order_date"].max()
    last = orders["order_date"] > end - pd.DateOffset(months=12)
    prior = ~last & (orders["order_date"] > end - pd.DateOffset(months=24))
    rev_last = orders["amount"][last].groupby(province[last]).sum()
    rev_prior = orders["amount"][prior].groupby(province[prior]).sum()
    return rev_last / rev_prior


def _read_raw_orders(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "orders.csv", encoding="utf-8", dtype=str, keep_default_na=False)


# --- determinism and shape --------------------------------------------------------------
def test_same_seed_gives_identical_tables(small):
    again = sample.generate(400, seed=7)
    assert set(again) == {"customers", "orders", "reps", "spend"}
    for name, frame in small.items():
        pd.testing.assert_frame_equal(frame, again[name])


def test_different_seed_gives_different_tables(small):
    other = sample.generate(400, seed=8)
    assert not small["customers"]["name"].equals(other["customers"]["name"])
    assert len(small["orders"]) != len(other["orders"]) or not small["orders"]["amount"].equals(
        other["orders"]["amount"])


def test_too_few_customers_is_refused():
    with pytest.raises(ValueError, match="at least"):
        sample.generate(10)


def test_canonical_columns_and_dtypes(small):
    customers, orders = small["customers"], small["orders"]
    assert list(customers.columns) == CUSTOMER_COLUMNS
    assert list(orders.columns) == ORDER_COLUMNS
    assert list(small["reps"].columns) == ["sales_rep_id", "name", "region"]
    assert list(small["spend"].columns) == ["region", "period", "amount"]
    assert str(customers["customer_id"].dtype) == "string"
    assert str(customers["headcount"].dtype) == "Int64"
    assert str(orders["quantity"].dtype) == "Int64"
    assert pd.api.types.is_datetime64_any_dtype(customers["signup_date"])
    assert pd.api.types.is_datetime64_any_dtype(orders["order_date"])
    assert orders["amount"].dtype == np.float64


def test_keys_are_unique_and_orders_reference_known_customers(small):
    customers, orders = small["customers"], small["orders"]
    assert len(customers) == 400
    assert customers["customer_id"].is_unique
    assert orders["order_id"].is_unique
    assert orders["customer_id"].isin(customers["customer_id"]).all()
    assert customers["customer_id"].notna().all()


# --- geography and story ----------------------------------------------------------------
def test_provinces_and_cities_exist_in_the_gazetteer(medium):
    customers = medium["customers"]
    known = geo.cities()[["province", "city", "lat", "lon"]]
    assert customers["province"].isin(geo.provinces()["province"]).all()
    merged = customers.merge(known, on=["province", "city"], how="left",
                             suffixes=("", "_city"), validate="m:1")
    assert merged["lat_city"].notna().all(), "every (province, city) pair is a real city"
    # Points are a few km around the city point.
    km = haversine_km(merged["lat"], merged["lon"], merged["lat_city"], merged["lon_city"])
    assert km.median() < 8 and km.max() < 40
    assert customers["city"].nunique() >= 200


def test_blank_provinces_have_no_customers_orders_or_spend(medium):
    assert not medium["customers"]["province"].isin(STORY["blank"]).any()
    assert not medium["spend"]["region"].isin(STORY["blank"]).any()


def test_hot_provinces_have_more_customers_per_capita_than_underserved(medium):
    per_capita = medium["customers"]["province"].value_counts() / _population()
    assert per_capita[STORY["hot"]].min() > 3 * per_capita[STORY["underserved"]].max()
    # Underserved: less than half of what population predicts.
    share = medium["customers"]["province"].value_counts(normalize=True)
    pop_share = _population() / _population().sum()
    assert (share[STORY["underserved"]] / pop_share[STORY["underserved"]] < 0.5).all()
    # Hot provinces hold most of the revenue.
    province = medium["orders"]["customer_id"].map(
        medium["customers"].set_index("customer_id")["province"])
    revenue = medium["orders"]["amount"].groupby(province).sum()
    assert revenue[STORY["hot"]].sum() / revenue.sum() > 0.4


def test_emerging_grows_and_declining_shrinks(medium):
    ratio = _revenue_ratio(medium)
    for province in STORY["emerging"]:
        assert ratio[province] > 1.5
    for province in STORY["declining"]:
        assert ratio[province] < 0.85
    # The eroding province grows (on new customers), short of the emerging threshold.
    for province in STORY["eroding"]:
        assert 1.0 < ratio[province] < 1.5
    # Nobody else is close to the emerging/declining thresholds of workbook.yaml.
    others = ratio.drop(STORY["emerging"] + STORY["declining"] + STORY["eroding"])
    assert others.between(0.9, 1.25).all(), others[~others.between(0.9, 1.25)]


def test_emerging_has_a_small_share(medium):
    province = medium["orders"]["customer_id"].map(
        medium["customers"].set_index("customer_id")["province"])
    revenue = medium["orders"]["amount"].groupby(province).sum()
    assert (revenue[STORY["emerging"]] / revenue.sum() < 0.03).all()


def test_isolated_customers_are_far_from_everyone(medium):
    customers = medium["customers"]
    iso = customers[customers["city"].isin(STORY["isolated"])]
    assert sorted(iso["city"]) == sorted(STORY["isolated"])
    assert 5 <= len(iso) <= 8
    nearest = sample.isolation_km(customers, iso["customer_id"])
    assert (nearest > 250).all()
    # ... while ordinary customers have neighbours.
    others = customers[~customers["city"].isin(STORY["isolated"])].sample(50, random_state=0)
    assert sample.isolation_km(customers, others["customer_id"]).median() < 50


# --- orders -----------------------------------------------------------------------------
def test_order_volume_returns_and_dates(medium):
    customers, orders = medium["customers"], medium["orders"]
    lines_per_customer = len(orders) / len(customers)
    assert 12 <= lines_per_customer <= 24, lines_per_customer
    per_customer = orders.groupby("customer_id").size()
    assert per_customer.median() >= 5
    assert (per_customer.reindex(customers["customer_id"]).isna().mean()) < 0.1
    assert set(orders["status"]) == {"已完成", "已退货"}
    returns = orders["status"] == "已退货"
    assert 0.03 <= returns.mean() <= 0.05
    assert (orders.loc[returns, "amount"] < 0).all()
    assert (orders.loc[returns, "quantity"] < 0).all()
    assert (orders.loc[~returns, "amount"] > 0).all()
    assert orders["order_date"].min() >= pd.Timestamp("2023-01-01")
    assert orders["order_date"].max() <= pd.Timestamp("2025-12-31")
    assert np.allclose(orders["amount"], orders["amount"].round())


def test_signup_precedes_first_order_and_some_customers_churn(medium):
    customers, orders = medium["customers"], medium["orders"]
    signup = customers.set_index("customer_id")["signup_date"]
    first = orders.groupby("customer_id")["order_date"].min()
    assert (signup.reindex(first.index) < first).all()
    assert (signup >= pd.Timestamp("2023-01-01")).mean() > 0.1, "new customers sign up"
    last = orders[orders["status"] == "已完成"].groupby("customer_id")["order_date"].max()
    assert (last < pd.Timestamp("2025-01-01")).mean() > 0.05, "some customers stopped ordering"


def test_seasonality_dips_at_new_year_and_peaks_in_q4(medium):
    orders = medium["orders"]
    month = orders.groupby(orders["order_date"].dt.month)["amount"].sum()
    assert month[[1, 2]].mean() < 0.8 * month.mean()
    assert month[[11, 12]].mean() > 1.15 * month.mean()
    # the planted peak and low (STORY["seasonal"]), clear of the next month
    planted = STORY["seasonal"]
    assert month.idxmax() == planted["peak"] and month.idxmin() == planted["low"]
    assert month[planted["peak"]] > 1.1 * month.drop(planted["peak"]).max()
    assert month[planted["low"]] < 0.9 * month.drop(planted["low"]).min()
    assert sample.planted_facts(medium)["seasonal"]["peak"] == planted["peak"]


def test_the_month_factors_plant_the_seasonal_peak_and_low():
    from samplegen.orders import _MONTH_FACTOR

    assert int(np.argmax(_MONTH_FACTOR)) + 1 == STORY["seasonal"]["peak"] == 12
    assert int(np.argmin(_MONTH_FACTOR)) + 1 == STORY["seasonal"]["low"] == 2


def test_the_cross_sell_gap_territory_buys_a_quarter_as_many_of_its_category(medium):
    """The planted category's share of the territory's lines is GAP_FACTOR (0.25) times
    its share elsewhere; the other categories keep their proportions among themselves."""
    from samplegen.story import GAP_FACTOR

    gap = STORY["cross_sell_gap"]
    customers, orders = medium["customers"], medium["orders"]
    territory = geo.provinces().set_index("province")["territory"]
    inside = orders["customer_id"].map(customers.set_index("customer_id")["province"]).map(
        territory).eq(gap["territory"])
    sold = orders["status"] == "已完成"
    share_in = orders.loc[sold & inside, "product_category"].value_counts(normalize=True)
    share_out = orders.loc[sold & ~inside, "product_category"].value_counts(normalize=True)
    # GAP_FACTOR / (1 - (1 - GAP_FACTOR) p) once renormalised (p, the category's share of
    # a channel's lines, 0.12-0.22): 0.27-0.30; measured at 3,000 customers (5,147 lines
    # in the territory): 0.30
    assert GAP_FACTOR == 0.25
    assert 0.2 < share_in[gap["category"]] / share_out[gap["category"]] < 0.35
    rest_in = share_in.drop(gap["category"]) / share_in.drop(gap["category"]).sum()
    rest_out = share_out.drop(gap["category"]) / share_out.drop(gap["category"]).sum()
    assert (rest_in / rest_out).between(0.8, 1.25).all(), rest_in / rest_out
    facts = sample.planted_facts(medium)["cross_sell_gap"]
    assert facts["buyers"] < 0.5 * facts["buyers_rest"]


def test_the_eroding_province_grows_on_new_customers_while_losing_old_ones(medium):
    """STORY["eroding"]: the revenue bridge of the last 12 months flags it, and only it."""
    from helpers.analysis.bridge import revenue_bridge
    from helpers.period import Period

    customers, orders = medium["customers"], medium["orders"]
    period = Period.ending(orders["order_date"].max(), months=12)
    moved = revenue_bridge(orders, period,
                           regions=customers.set_index("customer_id")["province"])
    assert moved.loc[moved["eroding"].astype(bool), "region"].tolist() == STORY["eroding"]
    for province, facts in sample.planted_facts(medium)["eroding"].items():
        row = moved.set_index("region").loc[province]
        # the README's sums are the bridge's new and lost parts
        assert row["from_new"] == pytest.approx(facts["new"])
        assert row["from_lost"] == pytest.approx(facts["lost"])
        assert row["from_new"] > 1.2 * -row["from_lost"] > 0
        assert row["base_change"] < -0.2 * row["revenue_prev"]
    # old customers of the eroding province stop in the second half of the year before
    orders = orders.merge(customers[["customer_id", "province", "signup_date"]])
    old = orders[orders["province"].isin(STORY["eroding"])
                 & (orders["signup_date"] < pd.Timestamp("2024-01-01"))]
    last = old.groupby("customer_id")["order_date"].max()
    stopped = last.between(pd.Timestamp("2024-07-01"), pd.Timestamp("2024-12-31")).mean()
    # ERODING_CHURN 0.45 of those still ordering then; measured 0.38 of 61 customers
    assert 0.3 < stopped < 0.6


def test_direct_accounts_and_integrators_order_bigger(medium):
    orders = medium["orders"].merge(medium["customers"][["customer_id", "channel"]])
    median = orders[orders["status"] == "已完成"].groupby("channel")["amount"].median()
    assert median["直销大客户"] > median["经销商"] and median["系统集成商"] > median["经销商"]


# --- customers, reps, spend ---------------------------------------------------------------
def test_firmographics_for_partners_only(medium):
    customers = medium["customers"]
    partner = customers["channel"].isin(["经销商", "系统集成商"])
    assert set(customers["channel"]) == {"经销商", "系统集成商", "直销大客户"}
    assert customers.loc[partner, FIRMOGRAPHICS].notna().all().all()
    assert customers.loc[~partner, FIRMOGRAPHICS].isna().all().all()
    p = customers[partner]
    assert set(p["business_model"]) == set(BUSINESS_MODELS)
    assert set(p["main_product_tier"]) == set(PRODUCT_TIERS)
    assert set(p["payment_behaviour"]) == set(PAYMENT)
    assert (p["sales_staff"] + p["tech_staff"] <= p["headcount"]).all()
    assert p["product_tier_count"].between(1, 4).all()
    assert customers["name"].str.endswith("公司").all()
    assert customers["phone"].str.fullmatch(r"1\d{2}-\d{4}-\d{4}").all()
    assert customers["email"].str.contains("@").all()


def test_reps_cover_territories_and_own_their_customers(medium):
    reps, customers = medium["reps"], medium["customers"]
    assert 20 <= len(reps) <= 40
    assert reps["sales_rep_id"].str.fullmatch(r"S\d{2}").all()
    territories = geo.provinces().set_index("province")["territory"]
    assert set(reps["region"]) == set(territories[customers["province"]])
    rep_region = customers["sales_rep_id"].map(reps.set_index("sales_rep_id")["region"])
    assert (rep_region == customers["province"].map(territories)).all()


def test_spend_is_quarterly_per_province(medium):
    spend = medium["spend"]
    assert spend["period"].str.fullmatch(r"20\d\dQ[1-4]").all()
    assert spend.groupby("region")["period"].nunique().eq(12).all()
    assert (spend["amount"] > 0).all()
    assert not spend.duplicated(["region", "period"]).any()


def test_generate_scales_linearly():
    a = sample.generate(1000, seed=3)
    b = sample.generate(4000, seed=3)
    ratio = len(b["orders"]) / len(a["orders"])
    assert 3.3 < ratio < 4.7


# --- write_raw --------------------------------------------------------------------------
def test_raw_files_match_workbook_yaml(raw, config):
    folder, paths, _ = raw
    for sources in config["sources"].values():
        for source in sources:
            path = folder / source["file"]
            assert path.exists(), source["file"]
            if path.suffix == ".xlsx":
                book = openpyxl.load_workbook(path, read_only=True)
                assert book.sheetnames == [source["sheet"]]
                frame = pd.read_excel(path, sheet_name=source["sheet"], dtype=str, engine="openpyxl")
            else:  # "auto" is the workbook's own detection; plain Python knows utf-8-sig
                encoding = {"auto": "utf-8-sig"}.get(source["encoding"], source["encoding"])
                frame = pd.read_csv(path, encoding=encoding, dtype=str, nrows=5)
            missing = set(source["columns"].values()) - set(frame.columns)
            assert not missing, (source["file"], missing)
    assert set(paths) == {"crm_customers", "erp_partners_gbk", "orders", "sales_reps",
                          "marketing_spend", "mess"}


def test_raw_encodings(raw):
    folder, _, _ = raw
    gbk = (folder / "erp_partners_gbk.csv").read_bytes()
    gbk.decode("gbk")
    with pytest.raises(UnicodeDecodeError):
        gbk.decode("utf-8")
    assert (folder / "crm_customers.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert not (folder / "orders.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    crm = pd.read_csv(folder / "crm_customers.csv", encoding="utf-8-sig", dtype=str)
    assert crm.columns[0] == "客户编号"
    dates = pd.to_datetime(crm["注册日期"], format="%Y/%m/%d")
    assert dates.notna().all()


def test_mess_counts_match_the_crm_file(raw, small):
    folder, _, mess = raw
    crm = pd.read_csv(folder / "crm_customers.csv", encoding="utf-8-sig", dtype=str)
    assert len(crm) == mess["crm_rows"]
    assert crm.duplicated().sum() == mess["crm_duplicate_rows"] > 0
    distinct = crm.drop_duplicates()
    assert distinct["客户编号"].is_unique
    assert len(distinct) == mess["crm_customers"]
    assert distinct["城市"].isna().sum() == mess["crm_missing_city"]
    assert distinct["联系电话"].isna().sum() == mess["crm_missing_phone"]
    assert distinct["行业"].isna().sum() == mess["crm_missing_industry"]
    assert distinct["经度"].notna().sum() == mess["crm_with_coordinates"]
    assert (distinct["经度"].notna() == distinct["纬度"].notna()).all()
    assert 0.6 < mess["crm_with_coordinates"] / mess["crm_customers"] < 0.8
    assert sum(mess["crm_province_spellings"].values()) == mess["crm_customers"]
    official = distinct["客户编号"].map(small["customers"].set_index("customer_id")["city"])
    named = distinct["城市"].notna()
    assert (distinct["城市"][named] + "市" == official[named]).sum() == mess["crm_city_without_shi"]
    assert ((distinct["城市"] == official) | ~named | (distinct["城市"] + "市" == official)).all()


def test_mess_counts_match_the_erp_file(raw, small):
    folder, _, mess = raw
    crm = pd.read_csv(folder / "crm_customers.csv", encoding="utf-8-sig", dtype=str)
    erp = pd.read_csv(folder / "erp_partners_gbk.csv", encoding="gbk", dtype=str)
    assert len(erp) == mess["erp_rows"]
    partners = small["customers"]["channel"].isin(["经销商", "系统集成商"])
    assert set(erp["往来单位编码"]) == set(small["customers"].loc[partners, "customer_id"])
    erp_only = set(erp["往来单位编码"]) - set(crm["客户编号"])
    assert len(erp_only) == mess["erp_only_partners"] > 0
    assert len(set(erp["往来单位编码"]) & set(crm["客户编号"])) == mess["partners_in_both"]
    assert erp["注册资本万元"].isna().sum() == mess["erp_missing_registered_capital"]
    assert erp["所在市"].isna().sum() == mess["erp_missing_city"]
    both = crm.drop_duplicates().merge(erp, left_on="客户编号", right_on="往来单位编码")
    assert (both["省份"] != both["所在省"]).sum() == mess["erp_province_spelled_differently"]
    # Every customer is in at least one file.
    assert set(crm["客户编号"]) | set(erp["往来单位编码"]) == set(small["customers"]["customer_id"])


def test_mess_counts_match_the_orders_file(raw, small):
    folder, _, mess = raw
    orders = _read_raw_orders(folder)
    assert len(orders) == mess["orders_rows"]
    assert (orders["状态"] == "已取消").sum() == mess["orders_cancelled"] > 0
    assert orders.duplicated().sum() == mess["orders_duplicate_lines"] == 20
    known = set(small["customers"]["customer_id"])
    assert (~orders["客户编号"].isin(known)).sum() == mess["orders_unknown_customer"] == 15
    amount = pd.to_numeric(orders["金额"], errors="coerce")
    assert amount.isna().sum() == mess["orders_bad_amount"]
    assert (orders["金额"] == "").sum() == mess["orders_empty_amount"]
    assert (orders["状态"] == "已退货").sum() == mess["orders_returned"]
    assert pd.to_datetime(orders["下单日期"], format="%Y-%m-%d").notna().all()
    expected = mess["expected_after_prep"]
    assert expected["orders_read"] - expected["orders_set_aside"] == expected["orders"]


def test_cleaning_the_raw_orders_gives_back_the_clean_table(raw, small):
    folder, _, _ = raw
    orders = _read_raw_orders(folder).drop_duplicates()
    orders = orders[orders["状态"].isin(["已完成", "已退货"])]
    orders = orders[orders["客户编号"].isin(small["customers"]["customer_id"])]
    orders = orders[pd.to_numeric(orders["金额"], errors="coerce").notna()]
    clean = small["orders"]
    assert len(orders) == len(clean)
    assert orders["订单号"].tolist() == clean["order_id"].tolist()
    assert np.array_equal(orders["金额"].astype(float).to_numpy(), clean["amount"].to_numpy())
    assert orders["客户编号"].tolist() == clean["customer_id"].tolist()


def test_messy_place_names_all_resolve(raw, small):
    folder, _, mess = raw
    crm = pd.read_csv(folder / "crm_customers.csv", encoding="utf-8-sig", dtype=str)
    spend = pd.read_csv(folder / "marketing_spend.csv", dtype=str)
    assert crm["省份"].nunique() > 31, "several spellings per province"
    resolved = geo.resolve_provinces(crm["省份"])
    truth = crm["客户编号"].map(small["customers"].set_index("customer_id")["province"])
    assert (resolved["province"] == truth).all()
    spend_resolved = geo.resolve_provinces(spend["省份"])["province"]
    assert (spend_resolved.to_numpy() == small["spend"]["region"].to_numpy()).all()
    assert set(mess["spend_province_spellings"]) == set(PROVINCE_STYLES)
    cities = geo.resolve_cities(pd.DataFrame({"city": crm["城市"], "province": truth}))
    named = crm["城市"].notna()
    city_truth = crm["客户编号"].map(small["customers"].set_index("customer_id")["city"])
    assert (cities.loc[named, "city"] == city_truth[named]).all()


def test_reps_sheet_and_spend_file(raw, small):
    folder, _, mess = raw
    reps = pd.read_excel(folder / "sales_reps.xlsx", sheet_name="销售代表", dtype=str,
                         engine="openpyxl")
    assert len(reps) == mess["reps_rows"] == len(small["reps"])
    assert reps["工号"].tolist() == small["reps"]["sales_rep_id"].tolist()
    spend = pd.read_csv(folder / "marketing_spend.csv", dtype=str)
    assert len(spend) == mess["spend_rows"]
    assert spend["季度"].tolist() == small["spend"]["period"].tolist()


def test_mess_json_names_the_story(raw, small):
    _, _, mess = raw
    story = mess["story"]
    for key in ["hot", "underserved", "blank", "emerging", "declining", "isolated",
                "cross_sell_gap", "eroding", "seasonal"]:
        assert story[key] == STORY[key]
    customers = small["customers"].set_index("customer_id")
    assert sorted(customers.loc[story["isolated_customer_ids"], "city"]) == sorted(STORY["isolated"])


def test_cli_writes_files_and_readme(tmp_path):
    assert sample.main(["--customers", "200", "--seed", "5", "--out", str(tmp_path)]) == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert {"crm_customers.csv", "erp_partners_gbk.csv", "orders.csv", "sales_reps.xlsx",
            "marketing_spend.csv", "mess.json", "README.md"} <= names
    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    mess = json.loads((tmp_path / "mess.json").read_text(encoding="utf-8"))
    assert f"| {mess['crm_duplicate_rows']} | `crm_duplicate_rows` |" in readme
    for province in STORY["underserved"] + STORY["blank"] + STORY["eroding"]:
        assert province in readme
    gap = STORY["cross_sell_gap"]
    assert f"in the {gap['territory']} territory a line is a {gap['category']} 0.25" in readme


# --- the bundled sample ---------------------------------------------------------------------
@pytest.mark.skipif(not (SAMPLE_DIR / "mess.json").exists(), reason="bundled sample not generated")
def test_bundled_sample_is_current_and_small():
    mess = json.loads((SAMPLE_DIR / "mess.json").read_text(encoding="utf-8"))
    tables = sample.generate(mess["customers"], seed=mess["seed"])
    assert mess["orders_clean_lines"] == len(tables["orders"]), "regenerate data/sample"
    orders = _read_raw_orders(SAMPLE_DIR)
    assert len(orders) == mess["orders_rows"]
    assert orders["订单号"].iloc[:5].tolist() == tables["orders"]["order_id"].iloc[:5].tolist()
    size = sum(p.stat().st_size for p in SAMPLE_DIR.rglob("*") if p.is_file())
    assert size < 10 * 2**20
    assert (SAMPLE_DIR / "README.md").exists()
    assert 60_000 <= mess["orders_clean_lines"] <= 120_000
    # the README states the planted facts with the sample's numbers
    readme = (SAMPLE_DIR / "README.md").read_text(encoding="utf-8")
    assert "revenue peaks in December and is lowest in February" in readme
    hubei = sample.planted_facts(tables)["eroding"]["湖北省"]
    assert (f"| 湖北省 | {hubei['revenue_prev'] / 1e6:,.2f} | {hubei['revenue'] / 1e6:,.2f} | "
            in readme)


def test_write_raw_is_byte_reproducible(tmp_path, small, raw):
    folder, paths, _ = raw
    again = sample.write_raw(small, tmp_path, seed=11)
    for name, path in paths.items():
        assert path.read_bytes() == again[name].read_bytes(), name
