"""Cities as regions: a city's scope from any spelling, the batch's city lists, a city
report judged against every city of the market, and the index grouping cities under
their provinces."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from stubs import sample_config

from helpers import context, geo
from helpers.config import PROJECT_ROOT, load_config
from helpers.geo.scope import Scope, list_regions, region_spec
from helpers.geo.territories import RegionError
from helpers.run import batch
from helpers.run.index import write_index
from helpers.run.record import region_record
from helpers.steps import insight
from helpers.text.lookup import say

GUANGDONG = ["广州市", "韶关市", "深圳市", "珠海市", "汕头市", "佛山市", "江门市", "湛江市",
             "茂名市", "肇庆市", "惠州市", "梅州市", "汕尾市", "河源市", "阳江市", "清远市",
             "东莞市", "中山市", "潮州市", "揭阳市", "云浮市"]  # the gazetteer's 21, by code


@pytest.fixture(scope="module")
def config():
    return load_config(PROJECT_ROOT / "workbook.yaml")


# ----------------------------------------------------------------------------- parsing


@pytest.mark.parametrize("spelling", ["广州", "广州市", "Guangzhou", "guangzhou shi",
                                      "广东:广州", "广东省:广州市", "Guangdong:Guangzhou"])
def test_a_city_from_any_spelling(config, spelling):
    scope = Scope.parse(spelling, config)
    assert (scope.kind, scope.name, scope.provinces) == ("city", "广州市", ("广东省",))
    assert (scope.label("en"), scope.label("zh")) == ("Guangzhou", "广州市")
    assert scope.slug == "guangdong-guangzhou"
    assert scope.spec == "广东省:广州市"
    assert scope.sublevel == "city"


def test_a_province_wins_over_a_city_spelled_alike(config):
    # 吉林 is the province, 吉林市 the city in it; 北京 the province, 北京市:北京市 the city
    assert Scope.parse("吉林", config).kind == "province"
    jilin = Scope.parse("吉林市", config)
    assert (jilin.kind, jilin.name, jilin.provinces) == ("city", "吉林市", ("吉林省",))
    assert Scope.parse("北京", config).kind == "province"
    beijing = Scope.parse("北京市:北京市", config)
    assert (beijing.kind, beijing.slug) == ("city", "beijing-beijing")
    assert Scope.parse(beijing.spec, config) == beijing
    assert Scope.parse("北京市", config).kind == "province"


def test_a_city_name_is_no_longer_read_as_its_province(config):
    # 深圳 and Guangzhou begin like 广东/Guangdong, which the province resolver accepts as a
    # prefix: a region named so is the city, not the whole province
    assert Scope.parse("深圳", config).name == "深圳市"
    assert Scope.parse("Guangzhou", config).name == "广州市"
    assert Scope.parse("广东", config).kind == "province"
    assert Scope.parse("Guangdong", config).kind == "province"


def test_an_ambiguous_city_names_the_candidates(config):
    with pytest.raises(RegionError) as err:
        Scope.parse("Suzhou", config)
    message = str(err.value)
    assert "ambiguous city 'Suzhou'" in message
    assert "苏州市 (江苏省)" in message and "宿州市 (安徽省)" in message
    assert "江苏省:苏州市" in message
    # the province tells them apart; their English labels name it
    jiangsu = Scope.parse("江苏:Suzhou", config)
    anhui = Scope.parse("Anhui:Suzhou", config)
    assert (jiangsu.name, anhui.name) == ("苏州市", "宿州市")
    assert (jiangsu.label("en"), anhui.label("en")) == ("Suzhou (Jiangsu)", "Suzhou (Anhui)")
    assert jiangsu.slug != anhui.slug


def test_an_unknown_city_names_the_nearest_names(config):
    with pytest.raises(RegionError) as err:
        Scope.parse("Gotham", config)
    assert "a city (广州, 广州市, Guangzhou, 广东:广州)" in str(err.value)
    assert "nearest" in str(err.value)
    with pytest.raises(RegionError) as err:
        Scope.parse("广东:杭州", config)
    assert "unknown city '杭州' in 广东省" in str(err.value)
    assert "深圳市" in str(err.value)  # the province's cities are listed
    with pytest.raises(RegionError, match="a province is expected"):
        Scope.parse("华南:广州", config)


def test_a_city_keeps_its_own_customers(config):
    frame = pd.DataFrame({"customer_id": ["a", "b", "c", "d"],
                          "province": ["广东省", "广东省", "广东省", "浙江省"],
                          "city": ["深圳市", "广州市", None, "杭州市"]})
    shenzhen = Scope.parse("深圳", config)
    assert list(shenzhen.filter(frame)["customer_id"]) == ["a"]
    # a table without cities (marketing spend by province) has no rows of a city
    spend = pd.DataFrame({"province": ["广东省"], "amount": [1.0]})
    assert shenzhen.filter(spend).empty
    assert list(Scope.parse("广东", config).filter(frame)["customer_id"]) == ["a", "b", "c"]


# ----------------------------------------------------------------------------- the batch's lists


def test_cities_are_every_city_of_the_market(config):
    regions = list_regions(config, "cities")
    assert regions[0] == "ALL"
    table = geo.cities()
    mainland = table[table["province"].isin(Scope.parse("ALL", config).provinces)]
    assert len(regions) == 1 + len(mainland)
    assert len(mainland) > 330  # prefectures, the 4 municipalities, directly governed cities
    scopes = [Scope.parse(region, config) for region in regions[1:]]
    assert {s.kind for s in scopes} == {"city"}
    assert len({s.slug for s in scopes}) == len(scopes)  # one folder each
    assert {s.name for s in scopes} == set(mainland["city"])
    # by province in gazetteer order: Beijing first
    assert regions[1] == "北京市:北京市"


def test_a_provinces_cities(config):
    assert list_regions(config, "广东:cities") == ["ALL"] + [f"广东省:{c}" for c in GUANGDONG]
    # with the province report before them, each region once
    regions = list_regions(config, "广东,Guangdong:cities,深圳")
    assert regions[:3] == ["ALL", "广东", "广东省:广州市"]
    assert len(regions) == 2 + len(GUANGDONG) + 1  # 深圳 is spelled differently: parsed once
    assert len(batch.build_parser().parse_args(["--regions", "华南:cities"]).regions)
    south = list_regions(config, "华南:cities")
    assert {Scope.parse(r, config).provinces[0] for r in south[1:]} == {
        "广东省", "广西壮族自治区", "海南省"}


def test_the_plan_keeps_one_folder_per_region(config):
    from helpers.run.plan import resolve_regions

    scopes = resolve_regions(config, "广东,广东:cities,深圳,Shenzhen")
    assert [s.slug for s in scopes][:3] == ["all", "guangdong", "guangdong-guangzhou"]
    assert len(scopes) == 2 + len(GUANGDONG)


def test_cities_outside_china_are_refused(tmp_path):
    raw = yaml.safe_load((PROJECT_ROOT / "workbook.yaml").read_text(encoding="utf-8"))
    raw["geography"] = {"country": "US"}
    raw["paths"]["data"] = str(PROJECT_ROOT / "data" / "sample")
    path = tmp_path / "workbook.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    us = load_config(path)
    for which in ("cities", "California:cities"):
        with pytest.raises(RegionError, match="cities are regions of a China market only "
                           r"\(geography.country is US\)"):
            list_regions(us, which)
    with pytest.raises(RegionError, match="China market only"):
        Scope.parse("California:Los Angeles", us)


def test_the_command_line_refuses_cities_abroad(tmp_path, capsys):
    raw = yaml.safe_load((PROJECT_ROOT / "workbook.yaml").read_text(encoding="utf-8"))
    raw["geography"] = {"country": "US"}
    raw["paths"]["data"] = str(PROJECT_ROOT / "data" / "sample")
    path = tmp_path / "workbook.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    code = batch.main(["--config", str(path), "--regions", "cities",
                       "--reports", str(tmp_path / "reports")])
    assert code == 2
    assert "China market only" in capsys.readouterr().err


def test_a_city_record_resumes_as_the_city(config):
    beijing = Scope.parse("北京市:北京市", config)
    record = region_record(beijing, "en", ())
    assert (record["region"], record["province"], record["kind"]) == ("北京市", "北京市", "city")
    assert Scope.parse(region_spec(record), config) == beijing
    province = region_record(Scope.parse("北京", config), "en", ())
    assert "province" not in province
    assert Scope.parse(region_spec(province), config).kind == "province"


# ----------------------------------------------------------------------------- a city report


@pytest.fixture(scope="module")
def shenzhen(tmp_path_factory):
    """Step 4 of Shenzhen on the bundled sample, in-process."""
    ctx = context.open_step(region="广东:深圳", run_dir=str(tmp_path_factory.mktemp("city")))
    return ctx, insight.insight_tables(ctx)


def test_a_city_is_judged_against_every_city_of_the_market(shenzhen):
    ctx, tables = shenzhen
    customers = ctx.prep.customers
    assert set(ctx.customers["city"]) == {"深圳市"}
    assert set(ctx.orders["customer_id"]) <= set(ctx.customers["customer_id"])
    kpis = tables["region_kpis"]
    assert list(kpis["region"]) == ["深圳市"]  # the report's one row
    row = kpis.iloc[0]
    assert row["customers"] == (customers["city"] == "深圳市").sum()
    market = ctx.benchmark.kpis
    assert set(market["level"]) == {"city"}
    # every city of the market's extent is a benchmark row, blank ones included
    mainland = geo.cities()["province"].isin(ctx.market_areas)
    assert len(market) == mainland.sum()
    assert row["market_share"] == pytest.approx(row["revenue"] / market["revenue"].sum())
    assert row["share"] == 1.0
    # hot spots: the market's cities' statistics, shown for the city
    assert tables["notes"]["hotspots"]["scope_key"] == "market"
    own = market.set_index("region").loc["深圳市"]
    assert row["revenue"] == own["revenue"]
    assert tables["notes"]["hotspots"]["regions"] > 300


def test_one_region_says_what_it_cannot_carry(shenzhen):
    ctx, tables = shenzhen
    spread = tables["concentration"]
    assert spread["regions"] is None
    assert spread["statement_regions"] == say("concentration_one_region", "en")
    assert spread["statement_customers"]  # across customers it still says how concentrated
    assert tables["notes"]["gaps"]["reason_key"] == "no_reference"
    assert tables["notes"]["mix"].get("scope_key") == "market_city"
    # the whole report is the city: the buying table has its one row, not two
    assert list(tables["buying"]["region"]) == ["深圳市"]


def test_a_city_has_no_spend_of_its_own(shenzhen):
    from helpers.steps.goals import data_checks

    ctx, _ = shenzhen
    checks = data_checks(ctx)
    assert checks["spend"]["available"] is False
    assert checks["spend"]["detail"] == say("check_spend_city", "en")


def test_a_blank_city_is_its_own_row(tmp_path):
    ctx = context.open_step(region="内蒙古:乌海", run_dir=str(tmp_path))
    if len(ctx.customers):  # the sample has no customer in Wuhai
        pytest.skip("Wuhai has customers in this sample")
    kpis = ctx.kpis_by_region()
    assert list(kpis["region"]) == ["乌海市"]
    assert kpis["customers"].iloc[0] == 0


# ----------------------------------------------------------------------------- the index


def _record(kind: str, region: str, label: str, slug: str, status: str = "ok",
            province: str | None = None) -> dict:
    record = {"region": region, "label": label, "slug": slug, "kind": kind, "status": status,
              "error": None if status == "ok" else "boom <b>", "notebooks": []}
    if province:
        record["province"] = province
    return record


def _index(tmp_path: Path, records: list[dict], lang: str = "en") -> str:
    for record in records:
        (tmp_path / record["slug"]).mkdir(exist_ok=True)
        (tmp_path / record["slug"] / "headline.json").write_text(json.dumps(
            {"customers": 10, "revenue": 1_000_000.0}), encoding="utf-8")
    meta = {"run_id": "r", "currency": "CNY",
            "parameters": {"lang": lang, "regions": "广东,广东:cities,浙江:cities"}}
    write_index(tmp_path, records, meta=meta)
    return (tmp_path / "index.html").read_text(encoding="utf-8")


def _groups(page: str) -> list[tuple[str, bool, list[str]]]:
    """(province label, open, the city cards' ids) of each group."""
    out = []
    for match in re.finditer(r'<details class="group" id="([^"]+)"( open)?>(.*?)</details>',
                             page, flags=re.S):
        label = re.search(r'<summary><span class="label">([^<]+)</span>', match[3])[1]
        out.append((label, bool(match[2]), re.findall(r'id="region-([^"]+)"', match[3])))
    return out


def test_the_index_groups_cities_under_their_provinces(tmp_path):
    records = [
        _record("all", "ALL", "Whole market", "all"),
        _record("province", "广东省", "Guangdong", "guangdong"),
        _record("city", "广州市", "Guangzhou", "guangdong-guangzhou", province="广东省"),
        _record("city", "深圳市", "Shenzhen", "guangdong-shenzhen", province="广东省"),
        _record("city", "杭州市", "Hangzhou", "zhejiang-hangzhou", province="浙江省"),
        _record("city", "宁波市", "Ningbo", "zhejiang-ningbo", "failed", province="浙江省"),
    ]
    page = _index(tmp_path, records)
    assert _groups(page) == [
        ("Guangdong", False, ["guangdong-guangzhou", "guangdong-shenzhen"]),
        ("Zhejiang", True, ["zhejiang-hangzhou", "zhejiang-ningbo"]),  # a failure: open
    ]
    # the province's own card stays with the other regions, and its group links to it
    assert page.count('id="region-guangdong"') == 1
    assert page.index('id="region-guangdong"') < page.index("<details")
    assert 'href="#region-guangdong"' in page
    assert "2 cities, 2 ok · revenue 2 M CNY" in page
    assert "2 cities, 1 ok, 1 not ok" in page
    assert "boom &lt;b&gt;" in page  # error text escaped
    assert "the cities of 广东" in page  # the settings line in words


def test_the_index_in_chinese_and_with_one_province(tmp_path):
    records = [_record("all", "ALL", "全国市场", "all"),
               _record("city", "北京市", "北京市", "beijing-beijing", province="北京市")]
    page = _index(tmp_path, records, "zh")
    assert _groups(page) == [("北京市", True, ["beijing-beijing"])]  # the only group: open
    assert "1 个城市，1 个成功" in page
    assert "各城市（按省份）" in page
    assert "广东的所有城市" in page
    assert not re.search(r"\bcities\b|\bok\b", re.sub(r"<[^>]+>", " ", page.split("<main>")[1]))


# ----------------------------------------------------------------------------- end to end


@pytest.mark.kernel
def test_two_cities_run_end_to_end(tmp_path):
    """Steps 4 and 5 for Shenzhen and a blank city through the batch on the bundled
    sample: their reports, the manifest's records and the grouped index."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for name in ("04_insight.ipynb", "05_strategy.ipynb"):
        shutil.copy(PROJECT_ROOT / "notebooks" / name, notebooks / name)
    config = sample_config(tmp_path)
    code = batch.main(["--config", str(config), "--regions", "深圳,内蒙古:乌海", "--jobs", "2",
                       "--run-id", "cities", "--notebooks", str(notebooks),
                       "--reports", str(tmp_path / "reports")])
    run = tmp_path / "reports" / "cities"
    assert code == 0
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    cities = {r["slug"]: r for r in manifest["regions"] if r["kind"] == "city"}
    assert set(cities) == {"guangdong-shenzhen", "inner-mongolia-wuhai"}
    assert cities["guangdong-shenzhen"]["province"] == "广东省"
    for slug, record in cities.items():
        assert record["status"] == "ok", record
        for name in ("04_insight.html", "05_strategy.html"):
            assert (run / slug / name).is_file()
    shenzhen = json.loads((run / "guangdong-shenzhen" / "headline.json").read_text("utf-8"))
    assert shenzhen["region"] == "深圳市" and shenzhen["customers"] > 0
    blank = json.loads((run / "inner-mongolia-wuhai" / "headline.json").read_text("utf-8"))
    assert blank["customers"] == 0 and blank["blank_regions"] == ["乌海市"]
    tiers = pd.read_csv(run / "guangdong-shenzhen" / "region_tiers.csv")
    assert list(tiers["region"]) == ["深圳市"]
    strategy = (run / "guangdong-shenzhen" / "05_strategy.html").read_text("utf-8")
    assert say("tiers_market_city", "en") in strategy
    assert say("budget_in_city", "en").split(":")[0] in strategy
    insight_page = (run / "guangdong-shenzhen" / "04_insight.html").read_text("utf-8")
    assert say("concentration_one_region", "en").split(":")[0] in insight_page
    page = (run / "index.html").read_text("utf-8")
    assert [(g[0], g[2]) for g in _groups(page)] == [
        ("Guangdong", ["guangdong-shenzhen"]), ("Inner Mongolia", ["inner-mongolia-wuhai"])]


def test_a_city_map_shows_its_neighbours_as_outside_the_report(config):
    from helpers.viz.maps import regions
    from helpers.viz.maps.area import MapArea

    area = MapArea.of(Scope.parse("深圳", config), config)
    assert (area.province, area.city, area.level) == ("广东省", "深圳市", "city")
    kpis = pd.DataFrame({"region": ["深圳市"], "region_en": ["Shenzhen"], "level": ["city"],
                         "lat": [22.54], "lon": [114.06], "customers": [119],
                         "revenue": [9.07e6]})
    offline = MapArea(province="广东省", tiles=None, city="深圳市")
    alone = regions.region_map(kpis, area=offline)
    # the province report's reading: the other cities have no customers, named as blank
    among = regions.region_map(kpis, area=MapArea(province="广东省", tiles=None))
    assert alone.features == among.features == len(GUANGDONG)
    assert "广州市" in " ".join(among.labels) or "Guangzhou" in " ".join(among.labels)
    assert not any(name in " ".join(alone.labels) for name in ("广州", "Guangzhou"))
    # the neighbours are outside this report (they have their own), not outside the market;
    # one city with customers is one colour class, said so
    page = alone.map.get_root().render()
    assert "Outside this report" in page and "outside the market" not in page
    assert "one class (one region with customers)" in page and "in 1 classes" not in page
    zh = regions.region_map(kpis, area=offline, lang="zh").map.get_root().render()
    assert "不在本报告范围内" in zh and "不在市场范围内" not in zh
    assert "No customers" in among.map.get_root().render()


def test_step_3_says_the_city_is_the_one_region(shenzhen, tmp_path):
    import matplotlib.pyplot as plt

    from helpers.steps import visuals

    ctx, _ = shenzhen
    tables = visuals.visual_tables(ctx)
    sentence = say("charts_one_region", "en", region="Shenzhen")
    plt.close("all")
    for draw in (visuals.region_bars, visuals.region_share, visuals.customers_against_revenue):
        assert draw(ctx, tables).data == sentence
    assert not plt.get_fignums()  # nothing drawn
    said = visuals.lorenz_curves(ctx, tables)  # the customers' curve only, and why
    assert said.data == say("lorenz_one_region", "en", region="Shenzhen")
    assert len(plt.gcf().axes) == 1
    plt.close("all")
    province = context.open_step(region="广东", run_dir=str(ctx.run.root))
    province_tables = visuals.visual_tables(province)
    assert visuals.one_region(province, province_tables["regions"]) is None
    assert visuals.region_share(province, province_tables) is None
    assert plt.get_fignums()
    plt.close("all")


@pytest.mark.skipif(shutil.which("chromium") is None and shutil.which("chromium-browser") is None,
                    reason="no Chromium binary")
def test_the_grouped_index_in_a_browser(tmp_path):
    """At 390 px the page does not scroll sideways and folded groups hide their cities;
    printed, every city shows."""
    from browsers import offline_chromium

    records = [_record("all", "ALL", "Whole market", "all")] + [
        _record("city", f"城市{i}", f"City {i}", f"p{i % 3}-c{i}", province=p)
        for i, p in enumerate(["广东省", "浙江省", "江苏省"] * 4)]
    page = _index(tmp_path, records)
    assert len(_groups(page)) == 3 and not any(g[1] for g in _groups(page))
    visible = ("return Array.from(document.querySelectorAll('details.group .card'))"
               ".map(c => c.checkVisibility())")
    with offline_chromium(390) as driver:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": 390, "height": 900, "deviceScaleFactor": 1, "mobile": True})
        driver.get((tmp_path / "index.html").as_uri())
        assert driver.execute_script("return document.documentElement.scrollWidth") <= 390
        assert driver.execute_script(visible) == [False] * 12
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        assert driver.execute_script(visible) == [True] * 12


def test_the_brief_says_what_a_city_is_compared_with(shenzhen):
    from helpers.steps.goals import brief_table, goals_brief

    ctx, _ = shenzhen
    brief = goals_brief(ctx)
    assert brief["benchmark_regions"] == len(ctx.benchmark.kpis)
    values = list(brief_table(brief).iloc[:, 0])
    assert say("regions_compared_city", "en", n=len(ctx.benchmark.kpis)) in values


def test_a_territory_may_have_the_separator_in_its_name(tmp_path):
    raw = yaml.safe_load((PROJECT_ROOT / "workbook.yaml").read_text(encoding="utf-8"))
    raw["geography"]["territories"] = {"South: core": ["广东", "广西"]}
    raw["paths"]["data"] = str(PROJECT_ROOT / "data" / "sample")
    path = tmp_path / "workbook.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    config = load_config(path)
    assert Scope.parse("South: core", config).kind == "territory"
    assert list_regions(config, "territories") == ["ALL", "South: core"]
    assert len(list_regions(config, "South: core:cities")) == 1 + 21 + 14  # 广东 21, 广西 14
