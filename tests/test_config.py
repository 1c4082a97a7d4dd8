"""workbook.yaml loading: the shipped config loads; wrong keys and values are named."""

from __future__ import annotations

import pytest
import yaml

from helpers.config import DEFAULT_CONFIG, ConfigError, RunPaths, load_config
from helpers.geo.scope import Scope, list_regions
from helpers.geo.territories import RegionError


def write(tmp_path, data):
    path = tmp_path / "workbook.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def shipped():
    return yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))


def test_shipped_config_loads_and_points_at_sample():
    config = load_config()
    assert config.data_dir.name == "sample"
    assert len(config.geography.territories) == 7
    assert config.sources["orders"][0].keep_status == ["已完成", "已退货"]
    assert config.report.excel_list_rows == 50_000


@pytest.mark.parametrize(
    "change, key",
    [
        (lambda c: c.update(bogus=1), "bogus"),
        (lambda c: c["analysis"].update(period_months=0), "analysis.period_months"),
        (lambda c: c["report"].update(lang="fr"), "report.lang"),
        (lambda c: c["geography"].update(coordinates="utm"), "geography.coordinates"),
        (lambda c: c["sources"].pop("orders"), "orders"),
        (lambda c: c["sources"]["orders"][0].pop("file"), "sources.orders.0.file"),
        (lambda c: c["sources"]["orders"][0]["columns"].pop("amount"), "amount"),
        (lambda c: c["sources"]["orders"][0]["columns"].update(colour="x"), "colour"),
        (lambda c: c["sources"]["orders"][0]["dates"].update(ship_date="%Y"), "dates.ship_date"),
        (lambda c: c["strategy"].update(hot_share="lots"), "strategy.hot_share"),
        (lambda c: c["report"].update(excel_list_rows=0), "report.excel_list_rows"),
        (lambda c: c["report"].update(excel_list_rows="many"), "report.excel_list_rows"),
        (lambda c: c["report"].update(excel_list_rows=True), "report.excel_list_rows"),
        (lambda c: c["report"].update(excel_list_rows=2.5), "report.excel_list_rows"),
    ],
)
def test_wrong_key_or_value_is_named(tmp_path, shipped, change, key):
    change(shipped)
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, shipped))
    assert key in str(err.value)
    assert str(tmp_path) in str(err.value)


def test_renamed_key_says_what_replaced_it(tmp_path, shipped):
    """profile_alpha was one concept with significance: an old config is told which key to
    use, with the file named, instead of a bare "extra inputs" error."""
    shipped["analysis"]["profile_alpha"] = 0.1
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, shipped))
    message = str(err.value)
    assert "analysis.profile_alpha" in message and "use analysis.significance" in message
    assert str(tmp_path) in message
    shipped["analysis"].pop("profile_alpha")
    shipped["analysis"]["significance"] = 0.1
    assert load_config(write(tmp_path, shipped)).analysis.significance == 0.1


def test_missing_and_unparseable_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_relative_paths_follow_the_config_file(tmp_path, shipped):
    shipped["paths"] = {"data": "exports", "reports": "out"}
    config = load_config(write(tmp_path, shipped))
    assert config.data_dir == (tmp_path / "exports").resolve()
    assert RunPaths.for_run(config).root == (tmp_path / "out" / "interactive").resolve()


def test_regions_parse_any_spelling():
    config = load_config()
    assert Scope.parse("粤", config).name == "广东省"
    assert Scope.parse("Guangdong", config).slug == "guangdong"
    east = Scope.parse("East China", config)
    assert east.kind == "territory" and "上海市" in east.provinces and east.slug == "east-china"
    assert len(Scope.parse("all", config).provinces) == 31
    assert list_regions(config)[:2] == ["ALL", "华东"]
    assert len(list_regions(config, "provinces")) == 32
    with pytest.raises(RegionError, match="Atlantis"):
        Scope.parse("Atlantis", config)


def test_territory_with_unknown_province_is_named(tmp_path, shipped):
    shipped["geography"]["territories"]["华南"].append("Atlantis")
    config = load_config(write(tmp_path, shipped))
    with pytest.raises(RegionError, match=r"geography.territories.华南.*Atlantis"):
        Scope.parse("华南", config)
    with pytest.raises(RegionError, match=r"geography.territories.华南.*Atlantis"):
        Scope.parse("华南", config)  # asked again: an error is never kept as an answer


def test_territory_map_is_resolved_once_and_each_call_gets_its_own_copy(tmp_path, shipped):
    from helpers.geo import territories

    config = load_config(write(tmp_path, shipped))
    first = territories.territory_map(config)
    first.loc[0, "territory"] = "changed by a caller"
    again = territories.territory_map(config)
    assert "changed by a caller" not in set(again["territory"])
    assert again.equals(territories._territory_map.__wrapped__(
        config.config_path, "CN", tuple((t, tuple(n)) for t, n in
                                        config.geography.territories.items())))
    shipped["geography"]["territories"]["华南"].remove("广东")  # other territories: resolved anew
    (tmp_path / "other").mkdir()
    other = territories.territory_map(load_config(write(tmp_path / "other", shipped)))
    assert "广东省" not in set(other["province"]) and "广东省" in set(again["province"])


def test_other_countries_scope_by_state(tmp_path, shipped):
    shipped["geography"] = {"country": "Brazil",
                            "territories": {"Sudeste": ["SP", "Rio de Janeiro", "MG", "ES"],
                                            "Sul": ["PR", "RS", "SC"]}}
    config = load_config(write(tmp_path, shipped))
    assert config.geography.country == "BR"
    whole = Scope.parse("ALL", config)
    assert len(whole.provinces) == 27 and "São Paulo" in whole.provinces
    assert Scope.parse("sao paulo", config).name == "São Paulo"
    assert Scope.parse("SP", config).slug == "sao-paulo"
    south = Scope.parse("Sul", config)
    assert south.kind == "territory" and set(south.provinces) == {
        "Paraná", "Rio Grande do Sul", "Santa Catarina"}
    assert list_regions(config) == ["ALL", "Sudeste", "Sul"]
    assert len(list_regions(config, "provinces")) == 1 + 7
    with pytest.raises(RegionError, match="province/state name of BR"):
        Scope.parse("Guangdong", config)


def test_new_source_keys_are_checked(tmp_path, shipped):
    order = shipped["sources"]["orders"][0]
    order["joins"] = [{"file": "payments.csv", "on": "id"}]
    with pytest.raises(ConfigError, match=r"joins.0.left_on"):
        load_config(write(tmp_path, shipped))
    order["joins"] = [{"file": "payments.csv", "left_on": "id", "aggregate": {"x": "median"}}]
    with pytest.raises(ConfigError, match=r"joins.0.aggregate.x"):
        load_config(write(tmp_path, shipped))
    order.pop("joins")
    order["returns"] = {"column": "status", "values": ["x"], "action": "refund"}
    with pytest.raises(ConfigError, match=r"returns.action"):
        load_config(write(tmp_path, shipped))
    order["returns"] = {"column": "status", "values": ["x"]}
    shipped["geography"]["customer_location"] = "random"
    with pytest.raises(ConfigError, match=r"geography.customer_location"):
        load_config(write(tmp_path, shipped))
