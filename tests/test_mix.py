"""Product mix by region and cohort retention: known answers on hand-made frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers.analysis import actions
from helpers.analysis.cohorts import cohort_retention, retention_trend
from helpers.analysis.mix import category_mix, cross_sell_targets, largest_gaps
from helpers.period import Period
from helpers.text.lookup import catalog
from helpers.text.narrative.audience import Audience
from helpers.text.narrative.mix import cohorts as cohort_words
from helpers.text.narrative.mix import mix as mix_words

PERIOD = Period.ending("2024-12-31", 12)


def _orders(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount",
                                        "product_category"])
    return frame.assign(order_date=pd.to_datetime(frame["order_date"]),
                        customer_id=frame["customer_id"].astype("string"),
                        product_category=frame["product_category"].astype("string"))


def _two_regions():
    """A: 4 customers buying x 100 and y 100; B: 4 customers buying x 100 and y 300."""
    rows = []
    for i in range(4):
        rows += [(f"a{i}", "2024-06-01", 100.0, "x"), (f"a{i}", "2024-06-01", 100.0, "y"),
                 (f"b{i}", "2024-06-01", 100.0, "x"), (f"b{i}", "2024-06-01", 300.0, "y")]
    regions = pd.Series({**{f"a{i}": "A" for i in range(4)}, **{f"b{i}": "B" for i in range(4)}})
    return _orders(rows), regions


# --------------------------------------------------------------------------- the index


def test_index_and_test_statistic_by_hand():
    orders, regions = _two_regions()
    table, note = category_mix(orders, regions, period=PERIOD, min_customers=1)
    row = table.set_index(["region", "category"])
    # market: x 800, y 1600 of 2400 -> shares 1/3 and 2/3
    assert row.loc[("A", "x"), "market_share"] == pytest.approx(1 / 3)
    assert row.loc[("A", "x"), "share"] == pytest.approx(0.5)
    assert row.loc[("A", "x"), "category_index"] == pytest.approx(150.0)
    assert row.loc[("A", "y"), "category_index"] == pytest.approx(75.0)
    assert row.loc[("B", "x"), "category_index"] == pytest.approx(75.0)
    assert row.loc[("B", "y"), "category_index"] == pytest.approx(112.5)
    # Cochran's ratio variance: e_i = y_i - R x_i = -100/3 (A) and +100/3 (B) for y
    s2 = 8 * (100 / 3) ** 2 / 7
    var = (1 - 4 / 8) * s2 / (4 * 300.0 ** 2)
    assert row.loc[("A", "y"), "z"] == pytest.approx((0.5 - 2 / 3) / np.sqrt(var))
    assert row.loc[("B", "y"), "z"] == pytest.approx((0.75 - 2 / 3) / np.sqrt(var))
    p = 2 * stats.norm.sf(abs((0.5 - 2 / 3) / np.sqrt(var)))
    assert row.loc[("A", "y"), "p"] == pytest.approx(p)
    assert note["categories"] == 2 and note["customers"] == 8 and note["revenue"] == 2400
    # the region with more revenue first, then the categories by market share
    assert list(table["region"]) == ["B", "B", "A", "A"]
    assert list(table["category"]) == ["y", "x", "y", "x"]


def test_the_test_is_the_permutation_test_of_customers_between_regions():
    """The z-test's spread is the spread of the region's share when its customers are a
    random set of the market's (the permutation test it approximates)."""
    rng = np.random.default_rng(7)
    n = 400
    ids = [f"c{i:03d}" for i in range(n)]
    region = np.repeat(["A", "B", "C", "D"], n // 4)
    rows = []
    for cid, reg in zip(ids, region, strict=True):
        for cat, base in (("x", 200.0), ("y", 100.0), ("z", 60.0)):
            weight = 0.6 if (reg == "D" and cat == "z") else 1.0
            rows.append((cid, "2024-05-01", base * weight * rng.lognormal(0, 0.8), cat))
    orders = _orders(rows)
    regions = pd.Series(region, index=ids)
    table, _ = category_mix(orders, regions, period=PERIOD, min_customers=10)
    values = orders.pivot_table(index="customer_id", columns="product_category",
                                values="amount", aggfunc="sum").loc[ids]
    x = values.sum(axis=1).to_numpy()
    chosen = np.array([rng.choice(n, size=n // 4, replace=False) for _ in range(4000)])
    for pair in (("D", "z"), ("A", "x"), ("B", "y")):
        row = table.set_index(["region", "category"]).loc[pair]
        y = values[pair[1]].to_numpy()
        draws = y[chosen].sum(axis=1) / x[chosen].sum(axis=1)
        market = y.sum() / x.sum()
        sd = (row["share"] - market) / row["z"]
        assert np.std(draws) == pytest.approx(sd, rel=0.08), pair
        permuted_p = np.mean(np.abs(draws - market) >= abs(row["share"] - market))
        assert row["p"] == pytest.approx(permuted_p, abs=0.03), pair
    planted = table.set_index(["region", "category"]).loc[("D", "z")]
    assert planted["category_index"] < 90 and planted["p"] < 0.01


def test_small_regions_are_not_tested():
    orders, regions = _two_regions()
    table, note = category_mix(orders, regions, period=PERIOD, min_customers=5)
    assert table["small_sample"].all() and table["p"].isna().all()
    assert not table["significant"].any() and note["tested"] == 0
    words = mix_words({"notes": {"mix": note}, "category_mix": table},
                      Audience(lang="en", regions="states"))
    assert "All states have fewer than 5 buying customers: the mix of each is in" in words


# --------------------------------------------------------------------------- growth


def test_growth_only_against_a_covered_previous_period():
    orders, regions = _two_regions()
    table, note = category_mix(orders, regions, period=PERIOD, min_customers=1)
    assert note["baseline"]["enough"] is False and table["growth_prev"].isna().all()
    earlier = orders.assign(order_date=pd.Timestamp("2023-03-01"),
                            amount=orders["amount"] / 2)
    both = pd.concat([earlier.assign(order_date=pd.Timestamp("2023-01-01")), earlier, orders])
    table, note = category_mix(both, regions, period=PERIOD, min_customers=1)
    assert note["baseline"]["enough"] is True
    row = table.set_index(["region", "category"])
    # the previous period is (2022-12-31, 2023-12-31]: both earlier halves count
    assert row.loc[("A", "x"), "revenue_prev"] == pytest.approx(100.0 * 4)
    assert row.loc[("A", "x"), "growth_prev"] == pytest.approx(0.0)
    assert table["market_growth"].eq(0.0).all()


# --------------------------------------------------------------------------- cross-sell


def _gap_frame():
    """Three regions of 40 customers; all buy x and y; z: 4 of G's, 30 of H's and 30 of K's."""
    rows, regions = [], {}
    for reg, z_buyers in (("G", 4), ("H", 30), ("K", 30)):
        for i in range(40):
            cid = f"{reg}{i:02d}"
            regions[cid] = reg
            rows += [(cid, "2024-03-01", 100.0 + i, "x"), (cid, "2024-03-02", 50.0, "y")]
            if i < z_buyers:
                rows.append((cid, "2024-04-01", 80.0, "z"))
    return _orders(rows), pd.Series(regions)


def test_a_cross_sell_gap_by_hand():
    orders, regions = _gap_frame()
    table, note = category_mix(orders, regions, period=PERIOD, min_customers=20)
    gap = table.set_index(["region", "category"]).loc[("G", "z")]
    assert gap["customers"] == 4 and gap["region_customers"] == 40
    assert gap["penetration"] == pytest.approx(0.1)
    assert gap["market_penetration"] == pytest.approx(64 / 120)
    assert gap["penetration_index"] == pytest.approx(0.1 / (64 / 120) * 100)
    assert gap["rest_index"] == pytest.approx(100.0)  # x and y: as the market
    assert gap["expected_customers"] == pytest.approx(40 * 60 / 80)  # the rest's rate
    assert gap["missing_customers"] == pytest.approx(26.0)
    assert gap["targets"] == 36
    fisher = stats.fisher_exact([[4, 36], [60, 20]], alternative="less").pvalue
    assert gap["gap_p"] == pytest.approx(fisher)
    assert bool(gap["cross_sell_gap"])
    assert table["cross_sell_gap"].sum() == 1 and note["gaps"] == 1

    largest = largest_gaps(table, top=5)
    targets = cross_sell_targets(largest, orders, regions, period=PERIOD)
    assert len(targets) == 36 and set(targets["region"]) == {"G"}
    assert set(targets["customer_id"]) == {f"G{i:02d}" for i in range(4, 40)}
    assert targets["categories_bought"].eq(2).all()
    assert targets["revenue"].is_monotonic_decreasing  # the largest customers first

    customers = pd.DataFrame({"customer_id": pd.Series(list(regions.index), dtype="string"),
                              "name": [f"Firm {c}" for c in regions.index],
                              "sales_rep_id": "S01"})
    reps = pd.DataFrame({"sales_rep_id": ["S01"], "name": ["Wei"]})
    listed = actions.cross_sell_actions(targets, customers, reps=reps)
    assert len(listed) == 36 and listed["owner"].eq("Wei (S01)").all()
    assert listed["name"].eq("Firm " + listed["customer_id"]).all()
    assert listed["campaign"].eq("cross-sell").all() and listed["category"].eq("z").all()


def test_no_gap_where_the_region_buys_nothing_else_either():
    """G buys z rarely but also y rarely: not a cross-sell gap (its customers do not buy
    the rest)."""
    orders, regions = _gap_frame()
    orders = orders.loc[~((orders["customer_id"].str.startswith("G"))
                          & (orders["product_category"] == "y")
                          & (orders["customer_id"].str[1:].astype(int) >= 4))]
    table, _ = category_mix(orders, regions, period=PERIOD, min_customers=20)
    gap = table.set_index(["region", "category"]).loc[("G", "z")]
    assert gap["rest_index"] < 90 and not bool(gap["cross_sell_gap"])


def test_without_categories_the_mix_says_why():
    orders, regions = _two_regions()
    for frame, key in ((orders.drop(columns="product_category"), "no_category"),
                       (orders.assign(product_category=pd.NA), "no_category"),
                       (orders.assign(product_category="x"), "one_category")):
        table, note = category_mix(frame, regions, period=PERIOD)
        assert table.empty and note["reason_key"] == key
        tables = {"notes": {"mix": note}, "category_mix": table}
        en = mix_words(tables, Audience(lang="en"))
        zh = mix_words(tables, Audience(lang="zh"))
        assert en == catalog()["say"][f"mix_{key}"]["en"]
        assert zh == catalog()["say"][f"mix_{key}"]["zh"]
    assert "product category" in mix_words(
        {"notes": {"mix": {"reason_key": "no_category"}}, "category_mix": pd.DataFrame()},
        Audience(lang="en"))


def test_lines_without_a_category_are_counted_not_lost():
    orders, regions = _two_regions()
    bare = orders.iloc[:2].assign(product_category=pd.NA)
    table, note = category_mix(pd.concat([orders, bare]), regions, period=PERIOD,
                               min_customers=1)
    assert note["uncategorised_lines"] == 2
    assert note["uncategorised_revenue"] == pytest.approx(bare["amount"].sum())
    assert table["revenue"].sum() == pytest.approx(2400.0)
    words = mix_words({"notes": {"mix": note}, "category_mix": table}, Audience(lang="en"))
    assert "2 order line(s) of the period" in words


def test_the_mix_in_words_names_the_gap_in_both_languages():
    orders, regions = _gap_frame()
    table, note = category_mix(orders, regions, period=PERIOD, min_customers=20)
    table = table.assign(region_en=table["region"])
    tables = {"notes": {"mix": note}, "category_mix": table}
    en = mix_words(tables, Audience(lang="en", regions="states"))
    assert "**1 cross-sell gap(s)**" in en and "G: z, bought by 4 of 40 customers" in en
    assert "36 customers buy the rest but not it" in en
    zh = mix_words(tables, Audience(lang="zh", regions="states"))
    assert "**1 个交叉销售缺口**" in zh and "40 家客户中 4 家购买" in zh


# --------------------------------------------------------------------------- cohorts


def _cohort_orders():
    rows = [("a", "2024-01-05", 100.0), ("a", "2024-04-02", 50.0),   # Q1, back in Q2
            ("b", "2024-02-01", 10.0), ("b", "2024-09-01", 20.0),    # Q1, back in Q3
            ("c", "2024-05-01", 5.0), ("c", "2024-05-20", -5.0),     # Q2, a return
            ("d", "2024-05-03", 7.0), ("d", "2024-08-03", 3.0),      # Q2, back in Q3
            ("e", "2024-11-02", 9.0),                                # Q4: not finished
            ("a", "2024-10-10", 40.0)]                               # Q4: not finished
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])
    return frame.assign(order_date=pd.to_datetime(frame["order_date"]))


def test_cohort_grid_by_hand():
    regions = pd.Series({"a": "X", "b": "X", "c": "Y", "d": "Y", "e": "Y"})
    grid, note = cohort_retention(_cohort_orders(), as_of="2024-11-15", regions=regions,
                                  data_start="2023-12-20")
    assert note["last_quarter"] == "2024Q3" and note["customers"] == 4  # e: Q4 is running
    scope = grid.loc[grid["region"].isna()].set_index(["cohort", "quarter"])
    assert list(scope.index) == [("2024Q1", 0), ("2024Q1", 1), ("2024Q1", 2),
                                 ("2024Q2", 0), ("2024Q2", 1)]
    assert list(scope["customers"]) == [2, 2, 2, 2, 2]
    assert list(scope["retained"]) == [2, 1, 1, 2, 1]
    assert list(scope["retention"]) == [1.0, 0.5, 0.5, 1.0, 0.5]
    assert list(scope["revenue"]) == [110.0, 50.0, 20.0, 7.0, 3.0]  # c's return nets out
    assert scope.loc[("2024Q1", 1), "revenue_retention"] == pytest.approx(50 / 110)
    assert scope.loc[("2024Q2", 1), "revenue_retention"] == pytest.approx(3 / 7)
    assert not grid["left_censored"].any()  # the data start in 2023Q4
    x = grid.loc[grid["region"] == "X"].set_index(["cohort", "quarter"])
    assert list(x["retained"]) == [2, 1, 1]
    y = grid.loc[grid["region"] == "Y"].set_index(["cohort", "quarter"])
    assert list(y.index) == [("2024Q2", 0), ("2024Q2", 1)] and list(y["retained"]) == [2, 1]


def test_the_first_quarter_of_the_data_is_not_a_cohort():
    grid, _ = cohort_retention(_cohort_orders(), as_of="2024-11-15")
    assert grid.loc[grid["cohort"] == "2024Q1", "left_censored"].all()
    assert not grid.loc[grid["cohort"] == "2024Q2", "left_censored"].any()


def _cohort_grid(region: str, retained: list[int], size: int = 50, first: int = 2023):
    """A grid with one cohort per quarter from ``first``Q2, ``retained`` of ``size``
    customers buying in the next quarter."""
    rows = []
    for i, kept in enumerate(retained):
        year, q = first + (i + 1) // 4, (i + 1) % 4 + 1
        cohort = f"{year}Q{q}"
        rows += [{"region": region, "cohort": cohort, "quarter": 0, "customers": size,
                  "retained": size, "left_censored": False},
                 {"region": region, "cohort": cohort, "quarter": 1, "customers": size,
                  "retained": kept, "left_censored": False}]
    return pd.DataFrame(rows)


def test_newer_cohorts_retaining_worse_by_the_stated_rule():
    grid = pd.concat([_cohort_grid("worse", [40, 40, 20, 20]),
                      _cohort_grid("same", [30, 31, 30, 30]),
                      _cohort_grid("one", [10]),
                      _cohort_grid("small", [9, 9, 1, 1], size=10)], ignore_index=True)
    scope = grid.groupby(["cohort", "quarter"], as_index=False)[["customers", "retained"]].sum()
    grid = pd.concat([scope.assign(region=None, left_censored=False), grid], ignore_index=True)
    trend = retention_trend(grid, min_cohort=20, min_drop=0.05, alpha=0.05)
    assert trend["region"].isna().iloc[0]  # the scope first
    rows = trend.set_index("region")
    assert set(rows.index.dropna()) == {"worse", "same"}  # one cohort / too small: left out
    worse = rows.loc["worse"]
    assert worse["older_cohorts"] == "2023Q2–2023Q3" and worse["newer_cohorts"] == "2023Q4–2024Q1"
    assert worse["older_retention"] == pytest.approx(0.8)
    assert worse["newer_retention"] == pytest.approx(0.4)
    p = stats.fisher_exact([[80, 20], [40, 60]], alternative="greater").pvalue
    assert worse["p"] == pytest.approx(p)
    assert worse["p_fdr"] == pytest.approx(min(1.0, p * 2))  # BH over two regions
    assert bool(worse["worse"]) and not bool(rows.loc["same", "worse"])
    # a drop smaller than min_drop never counts, however certain
    strict = retention_trend(grid, min_cohort=20, min_drop=0.5).set_index("region")
    assert not bool(strict.loc["worse", "worse"])


def test_cohorts_in_words_name_the_region_and_say_the_rule():
    grid = pd.concat([_cohort_grid("辽宁省", [40, 40, 20, 20]),
                      _cohort_grid("广东省", [30, 31, 30, 30])], ignore_index=True)
    trend = retention_trend(grid.assign(left_censored=False), min_cohort=20)
    trend = trend.assign(region_en=trend["region"].map({"辽宁省": "Liaoning",
                                                        "广东省": "Guangdong"}))
    note = {"cohorts": 4, "customers": 400, "first_quarter": "2023Q1",
            "last_quarter": "2024Q2", "min_customers": 20, "min_drop": 0.05, "alpha": 0.05}
    tables = {"notes": {"cohorts": note}, "cohort_trend": trend}
    en = cohort_words(tables, Audience(lang="en"))
    assert "**Newer cohorts retain worse** in 1 region(s): Liaoning (80% to 40%)" in en
    assert "at least 5 percentage points lower" in en
    assert "only the report's scope" not in en
    zh = cohort_words(tables, Audience(lang="zh"))
    assert "辽宁省（80% 降至 40%）" in zh and "Liaoning" not in zh


def test_a_region_without_buying_customers_has_no_row_and_no_warning(recwarn):
    orders, regions = _two_regions()
    regions = pd.concat([regions, pd.Series({"z0": "Z"})])  # a customer with no order
    table, note = category_mix(orders, regions, period=PERIOD, min_customers=1)
    assert set(table["region"]) == {"A", "B"} and note["regions"] == 2
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_step_5_lists_the_customers_of_the_largest_gaps(tiny_config, tmp_path):
    """Step 5's cross-sell list holds, per gap, exactly the region's customers step 4
    counted as targets: buying in the period, another category, not this one."""
    from helpers import context
    from helpers.steps import strategy

    ctx = context.open_step(config=str(tiny_config), run_dir=str(tmp_path / "run"))
    people = ctx.customers.drop_duplicates("customer_id").set_index("customer_id")
    table, _ = category_mix(ctx.orders, people["province"], period=ctx.period, min_customers=5)
    # two pairs called gaps (the rule's outcome is tested above): the wiring is under test
    chosen = table.loc[table["targets"] > 0].head(2).index
    table.loc[chosen, "cross_sell_gap"] = True
    table.loc[chosen, "missing_customers"] = [10.0, 5.0]
    listed = strategy.cross_sell_list(ctx, {"category_mix": table}, reps=ctx.prep.reps)
    period = ctx.period_orders
    for row in table.loc[chosen].itertuples():
        mine = listed.loc[(listed["region"] == row.region) & (listed["category"] == row.category)]
        assert len(mine) == row.targets
        assert set(people.loc[list(mine["customer_id"]), "province"]) == {row.region}
        bought = period.loc[period["customer_id"].isin(mine["customer_id"])]
        # not this one: no net purchase of it (a line returned in the period nets out)
        assert not (bought.loc[bought["product_category"] == row.category]
                    .groupby("customer_id")["amount"].sum() > 0).any()
        assert (bought.loc[bought["product_category"] != row.category]
                .groupby("customer_id")["amount"].sum() > 0).all()
    pairs = listed[["region", "category"]].drop_duplicates().itertuples(index=False)
    assert [tuple(p) for p in pairs] == [  # the most buyers short first
        tuple(p) for p in table.loc[chosen, ["region", "category"]].itertuples(index=False)]
    assert listed["action"].eq(actions.CROSS_SELL_PLAY["action"]).all()
    # only the strategy.cross_sell_gaps largest
    ctx.config.strategy.cross_sell_gaps = 1
    first = strategy.cross_sell_list(ctx, {"category_mix": table})
    assert len(first) == table.loc[chosen[0], "targets"]
    # the report shows the gaps, not the customers (their names stay in the exports)
    import dataclasses

    parts = strategy._cross_sell_parts(ctx, {"cross_sell": listed})
    assert len(parts) == 2 and "**Cross-sell**: the 2 largest cross-sell gaps" in parts[0].data
    shown = parts[1].data
    assert list(shown["targets"]) == list(table.loc[chosen, "targets"])
    assert "name" not in shown and "customer_id" not in shown
    zh = strategy._cross_sell_parts(dataclasses.replace(ctx, lang="zh"), {"cross_sell": listed})
    assert "推荐缺少的类别" in zh[1].to_html() and "Offer the missing" not in zh[1].to_html()
    assert strategy._cross_sell_parts(ctx, {"cross_sell": listed.head(0)}) == []


def _region_grid(region: str, sizes: list[int], kept: list[int]) -> pd.DataFrame:
    """One region's cohorts 2023Q2, 2023Q3 ...: ``sizes[i]`` customers, ``kept[i]`` of
    them buying the next quarter."""
    rows = []
    for i, (size, back) in enumerate(zip(sizes, kept, strict=True)):
        cohort = f"{2023 + (i + 1) // 4}Q{(i + 1) % 4 + 1}"
        rows += [{"region": region, "cohort": cohort, "quarter": q, "customers": size,
                  "retained": n, "retention": n / size, "revenue": 0.0,
                  "revenue_retention": np.nan, "left_censored": False}
                 for q, n in ((0, size), (1, back))]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_regions_whose_newer_cohorts_retain_worse_get_their_own_heat_maps(tiny_config,
                                                                         tmp_path, lang):
    """The scope's heat map, then one per region named by the retention rule, the largest
    drop first, at most four, each from its cohorts of at least 20 customers; the words
    name the regions left out and why."""
    import dataclasses

    from helpers import context
    from helpers.steps import insight

    drops = {f"R{i}": (40, 35 - 5 * i) for i in range(1, 6)}  # R5 drops most
    grids = [_region_grid(r, [50, 50, 50, 50, 10], [old, old, new, new, 1])
             for r, (old, new) in drops.items()]
    grids.append(_region_grid("same", [50, 50, 50, 50], [30, 30, 30, 30]))
    grid = pd.concat(grids, ignore_index=True)
    scope = grid.groupby(["cohort", "quarter"], as_index=False)[["customers", "retained"]].sum()
    scope = scope.assign(region=None, left_censored=False,
                         retention=scope["retained"] / scope["customers"],
                         revenue_retention=np.nan)
    grid = pd.concat([scope, grid], ignore_index=True)
    trend = retention_trend(grid, min_cohort=20, min_drop=0.05, alpha=0.05)
    named = set(trend.loc[trend["worse"].astype(bool) & trend["region"].notna(), "region"])
    assert named == set(drops)  # the rule names the five (its own test is above)
    # a sixth region named by the rule but whose cohorts are small: no heat map
    trend = pd.concat([trend, pd.DataFrame([{"region": "tiny", "worse": True, "drop": 0.9}])],
                      ignore_index=True)
    grid = pd.concat([grid, _region_grid("tiny", [10, 10], [9, 1])], ignore_index=True)
    note = {"cohorts": 5, "customers": 1500, "first_quarter": "2023Q1",
            "last_quarter": "2024Q2", "min_customers": 20, "min_drop": 0.05, "alpha": 0.05}
    tables = {"notes": {"cohorts": note}, "cohort_trend": trend, "cohorts": grid}
    ctx = dataclasses.replace(context.open_step(config=str(tiny_config),
                                                run_dir=str(tmp_path / "run")), lang=lang)
    parts = insight.cohort_charts(ctx, tables).parts
    assert [hasattr(p, "png") for p in parts] == [True, False, True]  # scope, words, regions
    words = parts[1].data
    if lang == "en":
        assert words.startswith("The heat maps below follow the 4 region(s)")
        assert "(R5, R4, R3, R2)" in words and "from their cohorts of at least 20" in words
        assert "Not drawn to keep the page short: R1 (1)" in words
        assert "No heat map for tiny: fewer than two of their cohorts have 20" in words
        assert parts[2].alt == "Cohort retention of R5, R4, R3, R2"
    else:
        assert "较新同期群留存更差的 4 个地区" in words and "R5、R4、R3、R2" in words
        assert "为控制篇幅未绘制：R1（1 个）" in words and "tiny 没有热力图" in words
        assert "heat" not in words
    # each region's map: its four cohorts of 50, not the fifth of 10
    cells = insight._region_cohorts(grid, "R5", 20)
    assert list(cells.loc[cells["quarter"] == 1, "retention"]) == [0.8, 0.8, 0.2, 0.2]
    # no region named: the scope's map alone, no words
    calm = {**tables, "cohort_trend": trend.assign(worse=False)}
    assert [hasattr(p, "png") for p in insight.cohort_charts(ctx, calm).parts] == [True]


# --------------------------------------------------------------------------- segment gaps


def _segment_frame():
    """The gap frame's customers by segment: channel 系统集成商 for G's 40 customers
    (4 buy z), 经销商 for H's and 直销 for K's (30 each); industry alternates, so both its
    values buy z as the market does; a customer without a channel is in no segment."""
    orders, regions = _gap_frame()
    channel = {"G": "系统集成商", "H": "经销商", "K": "直销"}
    customers = pd.DataFrame({
        "customer_id": pd.Series(list(regions.index), dtype="string"),
        "channel": [channel[r] for r in regions],
        "industry": ["a" if int(c[1:]) % 2 else "b" for c in regions.index]})
    customers.loc[len(customers)] = ["X00", pd.NA, "a"]
    return orders, customers


def test_a_cross_sell_gap_by_segment_by_hand():
    """The region rule with segments as the groups: the same known answer as G's gap."""
    from helpers.analysis.mix import SEGMENT_COLUMNS, segment_mix, segment_targets

    orders, customers = _segment_frame()
    table, note = segment_mix(orders, customers, attributes=["channel", "industry", "gender"],
                              period=PERIOD, min_customers=20)
    assert list(table.columns) == SEGMENT_COLUMNS
    assert note["attributes"] == ["channel", "industry"] and note["gaps"] == 1
    gap = table.set_index(["attribute", "value", "category"]).loc[("channel", "系统集成商", "z")]
    assert gap["region_customers"] == 40 and gap["customers"] == 4
    assert gap["penetration_index"] == pytest.approx(0.1 / (64 / 120) * 100)
    assert gap["rest_index"] == pytest.approx(100.0)
    assert gap["missing_customers"] == pytest.approx(26.0) and gap["targets"] == 36
    fisher = stats.fisher_exact([[4, 36], [60, 20]], alternative="less").pvalue
    assert gap["gap_p"] == pytest.approx(fisher) and bool(gap["cross_sell_gap"])
    industry = table.loc[table["attribute"] == "industry"]
    assert set(industry["value"]) == {"a", "b"} and not industry["cross_sell_gap"].any()
    # industry's z: a has 2 + 15 + 15 = 32 of 60 buyers, the market 64 of 120
    a_z = industry.set_index(["value", "category"]).loc[("a", "z")]
    assert a_z["customers"] == 32 and a_z["region_customers"] == 60

    targets = segment_targets(largest_gaps(table, top=5), orders, customers, period=PERIOD)
    assert len(targets) == 36 and set(targets["attribute"]) == {"channel"}
    assert set(targets["value"]) == {"系统集成商"} and set(targets["category"]) == {"z"}
    assert set(targets["customer_id"]) == {f"G{i:02d}" for i in range(4, 40)}
    assert targets["revenue"].is_monotonic_decreasing

    _, none = segment_mix(orders.assign(product_category="x"), customers,
                          attributes=["channel"], period=PERIOD)
    assert none["reason_key"] == "one_category"
    _, none = segment_mix(orders, customers, attributes=[], period=PERIOD)
    assert none["reason_key"] == "no_attributes"


def test_segment_gaps_in_words_in_both_languages():
    from helpers.analysis.mix import segment_mix

    orders, customers = _segment_frame()
    regions = _gap_frame()[1]
    table, note = category_mix(orders, regions, period=PERIOD, min_customers=20)
    segments, seg_note = segment_mix(orders, customers, attributes=["channel", "industry"],
                                     period=PERIOD, min_customers=20)
    tables = {"notes": {"mix": note, "segment_mix": seg_note}, "category_mix": table,
              "segment_mix": segments}
    en = mix_words(tables, Audience(lang="en", regions="states"))
    assert ("**1 cross-sell gap(s) by customer segment** (channel, industry; the same rule "
            "with a segment in place of a region): 系统集成商 (channel) buy z at index 19 of "
            "the market's, 36 of them buy the rest but not it") in en
    zh = mix_words(tables, Audience(lang="zh", regions="states"))
    assert "**按客群的交叉销售缺口 1 个**" in zh
    assert "系统集成商（客户类型）购买z的比例为市场的 19%，其中 36 家购买其他类别但不买它" in zh
    calm = {**tables, "segment_mix": segments.assign(cross_sell_gap=False),
            "notes": {"mix": note, "segment_mix": {**seg_note, "gaps": 0}}}
    assert "No cross-sell gap by customer segment (channel, industry)" in mix_words(
        calm, Audience(lang="en"))


def test_step_5_lists_the_customers_of_segment_gaps_too(tiny_config, tmp_path):
    """cross_sell_list.csv holds the region gaps' customers and the segment gaps': per
    segment gap exactly the segment's customers buying another category but not this one,
    ``gap_type`` saying which kind; a customer offered the same category by both is listed
    once, for the region gap; the report's table names the segment."""
    import dataclasses

    from helpers import context
    from helpers.analysis.mix import segment_mix
    from helpers.steps import strategy

    ctx = context.open_step(config=str(tiny_config), run_dir=str(tmp_path / "run"))
    people = ctx.customers.drop_duplicates("customer_id").set_index("customer_id")
    regions, _ = category_mix(ctx.orders, people["province"], period=ctx.period,
                              min_customers=5)
    segments, note = segment_mix(ctx.orders, ctx.customers, attributes=["channel"],
                                 period=ctx.period, min_customers=5)
    assert note["attributes"] == ["channel"]
    # one region pair and two segment pairs called gaps (the rule is tested above)
    regions["cross_sell_gap"] = False
    segments["cross_sell_gap"] = False
    region_gap = regions.loc[regions["targets"] > 0].head(1).index
    regions.loc[region_gap, ["cross_sell_gap", "missing_customers"]] = [True, 10.0]
    chosen = segments.loc[segments["targets"] > 0].head(2).index
    segments.loc[chosen, "cross_sell_gap"] = True
    segments.loc[chosen, "missing_customers"] = [8.0, 4.0]
    listed = strategy.cross_sell_list(ctx, {"category_mix": regions, "segment_mix": segments},
                                      reps=ctx.prep.reps)
    assert set(listed["gap_type"]) == {"region", "segment"}
    assert listed.duplicated(["customer_id", "category"]).sum() == 0
    period = ctx.period_orders
    first = regions.loc[region_gap[0]]
    in_region = set(listed.loc[(listed["gap_type"] == "region"), "customer_id"])
    assert len(in_region) == first["targets"]
    for row in segments.loc[chosen].itertuples():
        mine = listed.loc[(listed["gap_type"] == "segment") & (listed["value"] == row.value)
                          & (listed["category"] == row.category)]
        assert set(mine["attribute"]) == {"channel"}
        members = set(people.index[people["channel"].astype("string").str.strip()
                                   == row.value])
        bought = period.loc[period["customer_id"].isin(members)]
        net = bought.groupby(["customer_id", "product_category"])["amount"].sum().unstack(
            fill_value=0.0)
        expected = set(net.index[(net.drop(columns=row.category, errors="ignore") > 0).any(axis=1)
                                 & ~(net.get(row.category, 0.0) > 0)])
        # the segment's targets, less those the region gap already offers this category
        also = in_region if row.category == first["category"] else set()
        assert set(mine["customer_id"]) == expected - also and len(expected) == row.targets
        assert (mine["region"] == people.loc[list(mine["customer_id"]), "province"].to_numpy()
                ).all()
    parts = strategy._cross_sell_parts(ctx, {"cross_sell": listed})
    shown = parts[1].data
    assert list(shown["gap_type"]) == ["region"] + ["segment"] * 2
    assert shown["gap"].iloc[1] == f"{segments.loc[chosen[0], 'value']} (channel)"
    zh = strategy._cross_sell_parts(dataclasses.replace(ctx, lang="zh"), {"cross_sell": listed})
    html = zh[1].to_html()
    assert "客群" in html and "（客户类型）" in html and "segment" not in html
