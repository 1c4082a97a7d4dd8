"""Run comparison on a hand-made pair of runs on different periods."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from helpers.analysis import monitor
from helpers.run.index import write_index

NAN = math.nan
COLUMNS = ["region", "region_en", "customers", "active_customers", "revenue", "share",
           "growth_yoy", "gap_ratio", "tier", "gi_bin"]
BEFORE = [  # period 2024
    ("甲省", "Jia", 10, 8, 1000.0, 0.5, 0.10, 1.2, "core", 3),
    ("乙省", "Yi", 5, 4, 600.0, 0.3, -0.20, 0.8, "declining", 0),
    ("丙省", "Bing", 2, 2, 400.0, 0.2, 0.60, 0.4, "emerging", 2),
    ("丁省", "Ding", 0, 0, 0.0, 0.0, NAN, 0.0, "gap", 0),
]
NOW = [  # period 2025
    ("甲省", "Jia", 12, 9, 1500.0, 0.6, 0.50, 1.3, "core", 3),
    ("乙省", "Yi", 0, 0, 0.0, 0.0, -1.0, 0.0, "gap", 0),
    ("丙省", "Bing", 4, 3, 1000.0, 0.4, 1.5, 0.7, "core", 3),
    ("丁省", "Ding", 0, 0, 0.0, 0.0, NAN, 0.0, "gap", 2),
]
RFM_BEFORE = {"c1": "champions", "c2": "champions", "c3": "at risk", "c4": "loyal",
              "c5": "lost", "c6": "new customers"}
RFM_NOW = {"c1": "champions", "c2": "at risk", "c3": "champions", "c4": "cannot lose them",
           "c6": "potential loyalists", "c7": "new customers"}


def write_run(root, rows, rfm, period, *, slug="all", tiers=True):
    folder = root / slug
    folder.mkdir(parents=True)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    if not tiers:
        frame = frame.drop(columns=["tier"])
    frame.to_csv(folder / ("region_tiers.csv" if tiers else "region_kpis.csv"), index=False)
    pd.DataFrame({"customer_id": list(rfm), "segment": list(rfm.values()),
                  "monetary": 1.0}).to_csv(folder / "rfm.csv", index=False)
    (folder / "headline.json").write_text(json.dumps({
        "customers": int(frame["customers"].sum()), "active_customers": 0,
        "revenue": float(frame["revenue"].sum()),
        "period_start": f"{period}-01-01", "period_end": f"{period}-12-31"}), "utf-8")
    return folder


@pytest.fixture
def runs(tmp_path):
    before = write_run(tmp_path / "reports" / "run-2024", BEFORE, RFM_BEFORE, 2024)
    now = write_run(tmp_path / "reports" / "run-2025", NOW, RFM_NOW, 2025)
    return before, now


def test_kpi_deltas_per_region(runs):
    before, now = runs
    changes = monitor.compare_runs(now, before)["regions"].set_index("region")
    assert list(changes.index) == ["甲省", "丙省", "丁省", "乙省"]   # by current revenue, name
    assert changes["customers_delta"].to_dict() == {"甲省": 2, "乙省": -5, "丙省": 2, "丁省": 0}
    assert changes["revenue_delta"].to_dict() == {"甲省": 500, "乙省": -600, "丙省": 600,
                                                  "丁省": 0}
    assert changes.loc["甲省", "revenue_change"] == pytest.approx(0.5)
    assert changes.loc["乙省", "revenue_change"] == pytest.approx(-1.0)
    assert changes.loc["丙省", "revenue_change"] == pytest.approx(1.5)
    assert math.isnan(changes.loc["丁省", "revenue_change"])        # from 0: undefined
    assert changes.loc["乙省", "share_delta"] == pytest.approx(-0.3)
    assert changes.loc["甲省", "growth_yoy_delta"] == pytest.approx(0.4)
    assert changes.loc["丙省", "gap_ratio_delta"] == pytest.approx(0.3)
    assert (changes["in_runs"] == "both").all()


def test_tier_changes_and_newly_blank_or_hot(runs):
    before, now = runs
    result = monitor.compare_runs(now, before)
    changes = result["regions"].set_index("region")
    assert set(changes.index[changes["tier_changed"]]) == {"乙省", "丙省"}
    assert changes.loc["丙省", ["tier_before", "tier_now"]].tolist() == ["emerging", "core"]
    summary = result["summary"]
    assert summary["newly_blank"] == ["乙省"]
    # 丁省 became a Gi* hot spot (bin 0 -> 2); 丙省 was one already (bin 2 -> 3)
    assert summary["newly_hot"] == ["丁省"]
    assert changes.loc["丁省", "hot_reason"] == "became a Gi* hot spot"
    assert {(c["region"], c["before"], c["now"]) for c in summary["tier_changes"]} == {
        ("乙省", "declining", "gap"), ("丙省", "emerging", "core")}
    assert {c["label"] for c in summary["tier_changes"]} == {"Yi", "Bing"}


def test_newly_hot_without_hot_spots_is_entering_core(tmp_path):
    strip = [row[:-1] for row in BEFORE], [row[:-1] for row in NOW]
    before = pd.DataFrame(strip[0], columns=COLUMNS[:-1])
    now = pd.DataFrame(strip[1], columns=COLUMNS[:-1])
    changes = monitor.region_changes(before, now).set_index("region")
    assert changes.index[changes["newly_hot"]].tolist() == ["丙省"]
    assert changes.loc["丙省", "hot_reason"] == "entered the core tier"


def test_regions_in_one_run_only(tmp_path):
    before = pd.DataFrame(BEFORE, columns=COLUMNS).iloc[:3]
    now = pd.DataFrame(NOW, columns=COLUMNS).iloc[[0, 1, 3]]
    changes = monitor.region_changes(before, now).set_index("region")
    assert changes.loc["丙省", "in_runs"] == "baseline only"
    assert changes.loc["丁省", "in_runs"] == "now only"
    assert changes.loc["丙省", "revenue_delta"] == -400     # counted as 0 now
    assert not changes.loc["丙省", "tier_changed"]          # no tier now: not a change


def test_segment_migration_matrix(runs):
    before, now = runs
    result = monitor.compare_runs(now, before)
    matrix = result["migration"]
    assert matrix.index.name == "segment_before" and matrix.columns.name == "segment_now"
    assert matrix.loc["champions", "champions"] == 1
    assert matrix.loc["champions", "at risk"] == 1
    assert matrix.loc["at risk", "champions"] == 1
    assert matrix.loc["loyal", "cannot lose them"] == 1
    assert matrix.loc["new customers", "potential loyalists"] == 1
    assert matrix.loc["lost", monitor.NOT_SCORED] == 1          # c5 not scored now
    assert matrix.loc[monitor.NOT_SCORED, "new customers"] == 1  # c7 is new
    assert matrix.to_numpy().sum() == 7
    assert list(matrix.index) == list(matrix.columns)
    assert matrix.index[0] == "champions" and matrix.index[-1] == monitor.NOT_SCORED
    summary = result["summary"]
    assert summary["champions_to_at_risk"] == 1
    assert summary["at_risk_won_back"] == 1
    assert summary["customers_compared"] == 5


def test_summary_periods_and_headline(runs):
    before, now = runs
    summary = monitor.compare_runs(now, before)["summary"]
    assert summary["baseline_run"] == "run-2024"
    assert summary["baseline_period"] == {"start": "2024-01-01", "end": "2024-12-31"}
    assert summary["period"] == {"start": "2025-01-01", "end": "2025-12-31"}
    assert summary["headline"]["revenue"] == {"before": 2000.0, "now": 2500.0, "delta": 500.0,
                                              "change": 0.25}
    assert monitor.compare_runs(now, before)["warnings"] == []


def test_same_period_and_missing_tables_warn(tmp_path):
    before = write_run(tmp_path / "a", BEFORE, RFM_BEFORE, 2025)
    now = write_run(tmp_path / "b", NOW, RFM_NOW, 2025)
    (before / "rfm.csv").unlink()
    result = monitor.compare_runs(now, before)
    assert result["migration"] is None
    assert result["warnings"] == [{"key": "same_period"}, {"key": "no_rfm"}]
    assert "warnings" not in result["summary"]  # the step adds them in words
    kpis_only = write_run(tmp_path / "c", BEFORE, RFM_BEFORE, 2024, tiers=False)
    regions = monitor.compare_runs(now, kpis_only)["regions"]
    assert regions["tier_before"].isna().all() and not regions["tier_changed"].any()


def test_resolve_run(tmp_path, runs):
    reports = tmp_path / "reports"
    assert monitor.resolve_run("run-2024", reports) == (reports / "run-2024").resolve()
    assert monitor.resolve_run(str(reports / "run-2025"), tmp_path) == (
        reports / "run-2025").resolve()
    with pytest.raises(FileNotFoundError, match="nope"):
        monitor.resolve_run("nope", reports)


def test_saved_files_and_the_index_page(runs):
    before, now = runs
    run_dir = now.parent
    monitor.save_comparison(monitor.compare_runs(now, before), now)
    assert {"comparison.json", "region_changes.csv", "segment_migration.csv"} <= {
        p.name for p in now.iterdir()}
    saved = pd.read_csv(now / "segment_migration.csv", index_col=0)
    assert saved.loc["champions", "at risk"] == 1
    records = [{"slug": "all", "label": "<b>Whole</b> market", "region": "ALL",
                "status": "ok", "notebooks": []},
               {"slug": "missing", "label": "No comparison", "status": "ok", "notebooks": []}]
    summary = monitor.collect_monitoring(run_dir, records, baseline_run=str(before.parent))
    assert [r["slug"] for r in summary["regions"]] == ["all"]
    row = summary["regions"][0]
    assert row["revenue_change"] == pytest.approx(0.25)
    assert row["tier_changes"] == 2 and row["newly_blank"] == ["乙省"]
    assert row["champions_to_at_risk"] == 1
    assert json.loads((run_dir / "monitoring.json").read_text("utf-8")) == json.loads(
        json.dumps(summary))

    page = write_index(run_dir, records, meta={"run_id": "run-2025"}).read_text("utf-8")
    assert "Compared with run run-2024" in page
    block = page[page.index('id="monitoring-all"'):]
    block = block[:block.index("</tr>")]
    assert "乙省" in block and "丁省" in block and "+25.0%" in block
    assert "&lt;b&gt;Whole&lt;/b&gt; market" in block and "<b>Whole</b>" not in page


def test_index_without_monitoring_has_no_block(tmp_path):
    page = write_index(tmp_path, [], meta={"run_id": "x"}).read_text("utf-8")
    assert "Compared with run" not in page
    assert monitor.collect_monitoring(tmp_path, [{"slug": "all"}], baseline_run="r") is None
    assert not (tmp_path / "monitoring.json").exists()
