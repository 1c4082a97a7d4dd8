"""Monitoring: this run compared with an earlier one (step 5 and the run's index page).

Two runs (usually on different periods) are compared region by region from what
each wrote: ``region_tiers.csv`` (KPIs with the tier; ``region_kpis.csv`` when
a run has no tiers), ``rfm.csv`` and ``headline.json``. The comparison gives
KPI deltas per region, tier changes, the regions that became blank or hot, and
a segment migration matrix (the RFM segment of each customer then and now).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import files
from helpers.analysis.segments import SEGMENTS
from helpers.files import read_csv, write_csv, write_json

__all__ = [
    "KPI_COLUMNS",
    "NOT_SCORED",
    "resolve_run",
    "load_run_tables",
    "region_changes",
    "segment_migration",
    "compare_runs",
    "save_comparison",
    "collect_monitoring",
]

#: KPIs compared per region: name -> how the change is read ("count", "money", "rate").
KPI_COLUMNS = {
    "customers": "count",
    "active_customers": "count",
    "new_customers": "count",
    "revenue": "money",
    "share": "rate",
    "growth_yoy": "rate",
    "gap_ratio": "ratio",
}
#: Row and column of the migration matrix for customers scored in one run only.
NOT_SCORED = "(not scored)"
_SLIPPING = ["at risk", "cannot lose them"]
_GOOD = ["champions", "loyal", "potential loyalists"]


def resolve_run(baseline_run: str | Path, reports_dir: Path) -> Path:
    """The folder of an earlier run: a path, or a run id under ``reports_dir``.

    Raises
    ------
    FileNotFoundError
        Naming both places looked at.
    """
    text = str(baseline_run).strip()
    if not text:
        raise FileNotFoundError("no baseline run given")
    candidates = [Path(text)]
    if not Path(text).is_absolute():
        candidates.append(Path(reports_dir) / text)
    for path in candidates:
        if path.is_dir():
            return path.resolve()
    raise FileNotFoundError(
        f"baseline run {text!r} not found (looked for the folder "
        f"{' and '.join(str(c) for c in candidates)})")


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load_run_tables(region_dir: Path) -> dict:
    """What one region folder of a run holds for a comparison.

    Returns
    -------
    dict
        ``regions`` (``region_tiers.csv``, else ``region_kpis.csv``; None when
        neither exists), ``rfm`` (None when missing) and ``headline`` (dict).
    """
    region_dir = Path(region_dir)
    regions = None
    for name in ("region_tiers.csv", "region_kpis.csv"):
        if (region_dir / name).exists():
            regions = read_csv(region_dir / name)
            break
    rfm = (read_csv(region_dir / "rfm.csv", dtype={"customer_id": "string"})
           if (region_dir / "rfm.csv").exists() else None)
    return {"regions": regions, "rfm": rfm, "headline": _read_json(region_dir / "headline.json")}


def _hot(frame: pd.DataFrame, hotspot_bin: int) -> pd.Series:
    if "gi_bin" in frame:
        return pd.to_numeric(frame["gi_bin"], errors="coerce").fillna(0) >= hotspot_bin
    if "hotspot" in frame:
        return frame["hotspot"].fillna(False).astype(bool)
    return pd.Series(np.nan, index=frame.index, dtype=object)


def region_changes(before: pd.DataFrame, now: pd.DataFrame, *,
                   hotspot_bin: int = 2) -> pd.DataFrame:
    """KPI deltas, tier changes and newly blank or hot regions, one row per region.

    Parameters
    ----------
    before, now : DataFrame
        ``region_tiers.csv`` (or ``region_kpis.csv``) of the baseline and of
        this run: ``region`` and any of :data:`KPI_COLUMNS`; ``tier``,
        ``region_en``, ``gi_bin`` or ``hotspot`` when present.
    hotspot_bin : int
        A region whose ``gi_bin`` is at least this is a hot spot.

    Returns
    -------
    DataFrame
        ``region``, ``region_en``, ``in_runs`` (``both``, ``now only``,
        ``baseline only``); for each KPI in both tables ``<kpi>_before``,
        ``<kpi>_now`` and ``<kpi>_delta`` (now - before; for count and money
        KPIs also ``<kpi>_change``, the relative change, NaN from 0);
        ``tier_before``, ``tier_now``, ``tier_changed``; ``newly_blank``
        (customers before, none now); ``newly_hot`` and ``hot_reason``
        (became a Gi* hot spot when both runs have ``gi_bin``/``hotspot``,
        else entered the core tier). Sorted by current revenue, descending.
    """
    keep = ["region"] + [c for c in ("region_en",) if c in now and c in before]
    kpis = [k for k in KPI_COLUMNS if k in before and k in now]

    def side(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[["region", *kpis]].assign(
            tier=frame["tier"] if "tier" in frame else pd.NA,
            _hot=_hot(frame, hotspot_bin))

    merged = side(before).merge(side(now), on="region", how="outer",
                                suffixes=("_before", "_now"), indicator=True)
    names = pd.concat([now[keep], before[keep]]).drop_duplicates("region")
    out = names.merge(merged, on="region", how="right")
    out["in_runs"] = out.pop("_merge").map(
        {"both": "both", "left_only": "baseline only", "right_only": "now only"}).astype(object)
    for kpi in kpis:
        b, n = out[f"{kpi}_before"].astype(float), out[f"{kpi}_now"].astype(float)
        if KPI_COLUMNS[kpi] in ("count", "money"):
            b_filled = b.where(out["in_runs"] != "now only", 0.0)
            n_filled = n.where(out["in_runs"] != "baseline only", 0.0)
            out[f"{kpi}_before"], out[f"{kpi}_now"] = b_filled, n_filled
            b, n = b_filled, n_filled
        out[f"{kpi}_delta"] = n - b
        if KPI_COLUMNS[kpi] in ("count", "money"):
            out[f"{kpi}_change"] = (n - b) / b.where(b > 0)
        if KPI_COLUMNS[kpi] == "count":
            for suffix in ("before", "now", "delta"):
                out[f"{kpi}_{suffix}"] = out[f"{kpi}_{suffix}"].round().astype("Int64")
    out["tier_changed"] = (out["tier_before"].notna() & out["tier_now"].notna()
                           & (out["tier_before"] != out["tier_now"]))
    if "customers" in kpis:
        out["newly_blank"] = (out["customers_before"] > 0) & (out["customers_now"] == 0)
    else:
        out["newly_blank"] = False
    hot_known = ("gi_bin" in before or "hotspot" in before) and ("gi_bin" in now
                                                                 or "hotspot" in now)
    if hot_known:
        hot_b = out["_hot_before"].astype("boolean").fillna(False).astype(bool)
        hot_n = out["_hot_now"].astype("boolean").fillna(False).astype(bool)
        out["newly_hot"] = hot_n & ~hot_b
        out["hot_reason"] = np.where(out["newly_hot"], "became a Gi* hot spot", "")
    else:
        out["newly_hot"] = (out["tier_now"] == "core") & (out["tier_before"] != "core") \
            & out["tier_before"].notna()
        out["hot_reason"] = np.where(out["newly_hot"], "entered the core tier", "")
    out = out.drop(columns=["_hot_before", "_hot_now"])
    if "revenue_now" in out:
        out = out.sort_values(["revenue_now", "region"], ascending=[False, True],
                              kind="mergesort", na_position="last")
    return out.reset_index(drop=True)


def segment_migration(before: pd.DataFrame, now: pd.DataFrame) -> pd.DataFrame:
    """How many customers moved from each RFM segment to each other one.

    Parameters
    ----------
    before, now : DataFrame
        ``rfm.csv`` of the baseline and of this run (``customer_id``,
        ``segment``).

    Returns
    -------
    DataFrame
        Counts with the baseline segment as rows (``segment_before``) and the
        current one as columns (``segment_now``), in the order of
        :data:`helpers.analysis.segments.SEGMENTS`, plus :data:`NOT_SCORED` for
        customers scored in one run only (new customers, or ones without a
        positive order any more). Every segment appears, with zeros.
    """
    b = before[["customer_id", "segment"]].drop_duplicates("customer_id")
    n = now[["customer_id", "segment"]].drop_duplicates("customer_id")
    pairs = b.merge(n, on="customer_id", how="outer", suffixes=("_before", "_now"))
    pairs = pairs.fillna({"segment_before": NOT_SCORED, "segment_now": NOT_SCORED})
    seen = set(pairs["segment_before"]) | set(pairs["segment_now"])
    order = [*SEGMENTS, *sorted(seen - set(SEGMENTS) - {NOT_SCORED}), NOT_SCORED]
    table = pd.crosstab(pairs["segment_before"], pairs["segment_now"])
    table = table.reindex(index=order, columns=order, fill_value=0).astype("int64")
    table.index.name, table.columns.name = "segment_before", "segment_now"
    return table


def _cell(matrix: pd.DataFrame, rows: list[str], cols: list[str]) -> int:
    return int(matrix.loc[matrix.index.isin(rows), matrix.columns.isin(cols)].to_numpy().sum())


def compare_runs(now_dir: Path, before_dir: Path, *, hotspot_bin: int = 2,
                 now: dict | None = None) -> dict:
    """Compare a region folder of this run with the same region of an earlier run.

    Parameters
    ----------
    now_dir, before_dir : Path
        ``reports/<run>/<slug>`` of this run and of the baseline run.
    hotspot_bin : int
        See :func:`region_changes`.
    now : dict, optional
        This run's tables in memory (``regions`` with tiers, ``rfm``,
        ``headline``), as :func:`load_run_tables` returns them; step 5 passes
        them because it compares before it writes ``region_tiers.csv``.
        Default: read from ``now_dir``.

    Returns
    -------
    dict
        ``regions`` (:func:`region_changes`, or None when a run lacks region
        tables), ``migration`` (:func:`segment_migration`, or None without
        ``rfm.csv``), ``summary`` (JSON-ready: periods, headline deltas,
        ``tier_changes``, ``newly_blank``, ``newly_hot``,
        ``champions_to_at_risk``, ``at_risk_won_back``) and ``warnings``: what
        could not be compared, one dict each with its ``key`` (``same_period``,
        ``no_region_tables`` with the ``folder`` that lacks them, ``no_rfm``);
        :func:`helpers.text.narrative.monitoring.warning_texts` says them.
    """
    now = now if now is not None else load_run_tables(now_dir)
    before = load_run_tables(before_dir)
    warnings: list[dict] = []
    hb, hn = before["headline"], now["headline"]
    summary: dict = {
        "baseline_run": Path(before_dir).parent.name,
        "baseline_dir": str(before_dir),
        "baseline_period": {"start": hb.get("period_start"), "end": hb.get("period_end")},
        "period": {"start": hn.get("period_start"), "end": hn.get("period_end")},
    }
    if summary["baseline_period"] == summary["period"] and hb:
        warnings.append({"key": "same_period"})
    headline = {}
    for key in ("customers", "active_customers", "revenue"):
        if hb.get(key) is not None and hn.get(key) is not None:
            b, n = float(hb[key]), float(hn[key])
            headline[key] = {"before": b, "now": n, "delta": n - b,
                             "change": (n - b) / b if b > 0 else None}
    summary["headline"] = headline

    regions = None
    if before["regions"] is None or now["regions"] is None:
        missing = before_dir if before["regions"] is None else now_dir
        warnings.append({"key": "no_region_tables", "folder": str(missing)})
    else:
        regions = region_changes(before["regions"], now["regions"], hotspot_bin=hotspot_bin)
        name = "region_en" if "region_en" in regions else "region"
        changed = regions[regions["tier_changed"]]
        summary["regions_compared"] = int((regions["in_runs"] == "both").sum())
        summary["tier_changes"] = [
            {"region": r["region"], "label": r[name], "before": r["tier_before"],
             "now": r["tier_now"]} for r in changed.to_dict("records")]
        summary["newly_blank"] = regions.loc[regions["newly_blank"], "region"].tolist()
        summary["newly_hot"] = regions.loc[regions["newly_hot"], "region"].tolist()

    migration = None
    if before["rfm"] is None or now["rfm"] is None:
        warnings.append({"key": "no_rfm"})
    else:
        migration = segment_migration(before["rfm"], now["rfm"])
        summary["champions_to_at_risk"] = _cell(migration, ["champions"], _SLIPPING)
        summary["at_risk_won_back"] = _cell(migration, _SLIPPING, _GOOD)
        summary["customers_compared"] = int(migration.drop(index=NOT_SCORED,
                                                           columns=NOT_SCORED).to_numpy().sum())
    return {"regions": regions, "migration": migration, "summary": summary,
            "warnings": warnings}


def save_comparison(result: dict, out: Path) -> None:
    """Write ``comparison.json``, ``region_changes.csv`` and ``segment_migration.csv``."""
    out = Path(out)
    write_json(result["summary"], out / "comparison.json")
    if result["regions"] is not None:
        write_csv(result["regions"], out / "region_changes.csv")
    if result["migration"] is not None:
        write_csv(result["migration"], out / "segment_migration.csv", index=True)


def collect_monitoring(run_dir: Path, regions: list[dict], *, baseline_run: str) -> dict | None:
    """The run-level summary of every region's ``comparison.json``; writes ``monitoring.json``.

    Parameters
    ----------
    run_dir : Path
        ``reports/<run_id>``.
    regions : list of dict
        The run's region records (``slug``, ``label``) as in ``manifest.json``.
    baseline_run : str
        The baseline run as given; recorded in the file.

    Returns
    -------
    dict or None
        What was written, or None when no region wrote a comparison.
    """
    run_dir = Path(run_dir)
    rows = []
    for region in regions:
        slug = str(region.get("slug") or "")
        data = _read_json(run_dir / slug / "comparison.json") if slug else {}
        if not data:
            continue
        revenue = (data.get("headline") or {}).get("revenue") or {}
        rows.append({
            "slug": slug, "label": region.get("label") or slug,
            "revenue_before": revenue.get("before"), "revenue_now": revenue.get("now"),
            "revenue_change": revenue.get("change"),
            "tier_changes": len(data.get("tier_changes") or []),
            "newly_blank": data.get("newly_blank") or [],
            "newly_hot": data.get("newly_hot") or [],
            "champions_to_at_risk": data.get("champions_to_at_risk"),
            "baseline_period": data.get("baseline_period"),
        })
    if not rows:
        return None
    summary = {"baseline_run": str(baseline_run), "regions": rows}
    files.write_atomic(run_dir / "monitoring.json",
                       json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    return summary
