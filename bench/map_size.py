"""Map size and build time against customer count, beside a naive one-marker-per-customer map.

For each size, customers are generated around China's prefecture cities and the two
maps of a report are built as notebook 03 builds them (``helpers.viz.maps.regions.region_map``
of the provinces and ``helpers.viz.maps.points.customer_map`` with province borders), rendered
to what a notebook cell outputs (``_repr_html_``: the iframe with the page inside).
The naive map is what one writes without care: ``folium.Marker`` per customer in a
``MarkerCluster`` plus a ``HeatMap`` (and it still loads Leaflet from CDNs).

``--report N`` then runs notebook 03 for the whole market on a generated sample of N
customers (``samplegen``, data prep included) and reports the rendered HTML's
size and the time the two map cells took (papermill's per-cell durations).

    python bench/map_size.py                          # 1k, 10k, 100k; report at 100k
    python bench/map_size.py --sizes 1000 10000 --naive-max 10000 --report 0

Targets (issue 4): at 100k customers a region report's HTML <= 5 MB and its maps
build in <= 10 s. Issue 16: at 1M customers the maps <= 5 MB (beyond
``points.MAX_POINTS`` customers are merged per grid cell):

    python bench/map_size.py --sizes 100000 1000000 --naive-max 0 --report 0
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers import geo  # noqa: E402
from helpers.geo import boundaries  # noqa: E402
from helpers.viz.maps import points, regions  # noqa: E402
from helpers.viz.maps.area import MapArea  # noqa: E402

MB = 1e6


def customers(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` customers around prefecture cities (skewed: a few cities hold many)."""
    rng = np.random.default_rng(seed)
    cities = geo.cities().dropna(subset=["lat", "lon"]).reset_index(drop=True)
    weights = rng.pareto(1.2, len(cities)) + 0.05
    pick = rng.choice(len(cities), size=n, p=weights / weights.sum())
    chosen = cities.iloc[pick].reset_index(drop=True)
    return pd.DataFrame({
        "customer_id": [f"C{i:07d}" for i in range(n)],
        "name": [f"客户{i}有限公司" for i in range(n)],
        "province": chosen["province"],
        "city": chosen["city"],
        "lat": chosen["lat"].to_numpy() + rng.normal(0, 0.06, n),
        "lon": chosen["lon"].to_numpy() + rng.normal(0, 0.06, n),
        "revenue": rng.lognormal(10, 1.2, n),
    })


def province_kpis(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns ``region_map`` reads, per province (every mainland province listed)."""
    provinces = geo.provinces().query("territory != '港澳台'")
    per = frame.groupby("province").agg(customers=("customer_id", "size"),
                                        revenue=("revenue", "sum"))
    table = provinces[["province", "province_en", "lat", "lon"]].rename(
        columns={"province": "region", "province_en": "region_en"})
    table = table.join(per, on="region").fillna({"customers": 0, "revenue": 0.0})
    return table.assign(level="province", share=table["revenue"] / table["revenue"].sum())


def ours(frame: pd.DataFrame, outlines: pd.DataFrame) -> tuple[float, int]:
    """Seconds and bytes of the report's two maps, as notebook cell outputs."""
    t0 = time.perf_counter()
    area = MapArea(tiles="none")  # the whole market's maps: provinces, their borders
    region = regions.region_map(province_kpis(frame), area=area, outlines=outlines)
    customer = points.customer_map(frame, area=area, mask_pii=True)
    size = len(region._repr_html_()) + len(customer._repr_html_())
    return time.perf_counter() - t0, size


def naive(frame: pd.DataFrame) -> tuple[float, int]:
    """One ``folium.Marker`` per customer in a MarkerCluster, plus a HeatMap."""
    import folium
    from folium.plugins import HeatMap, MarkerCluster

    t0 = time.perf_counter()
    m = folium.Map(location=[35, 105], zoom_start=4)
    cluster = MarkerCluster().add_to(m)
    for lat, lon in zip(frame["lat"], frame["lon"], strict=True):
        folium.Marker([lat, lon]).add_to(cluster)
    HeatMap(frame[["lat", "lon"]].to_numpy().tolist()).add_to(m)
    size = len(m._repr_html_())
    return time.perf_counter() - t0, size


def report(n: int) -> dict:
    """Run notebook 03 for ALL on a generated sample of ``n`` customers."""
    import nbformat
    import yaml

    import samplegen as sample
    from helpers.config import DEFAULT_CONFIG
    from helpers.run import batch

    folder = Path(tempfile.mkdtemp(prefix="map_size_"))
    try:
        tables = sample.generate(n_customers=n)
        sample.write_raw(tables, folder / "data")
        config = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
        config["paths"] = {"data": "data", "reports": "reports"}
        (folder / "workbook.yaml").write_text(yaml.safe_dump(config, allow_unicode=True),
                                              encoding="utf-8")
        notebooks = folder / "notebooks"
        notebooks.mkdir()
        shutil.copy(ROOT / "notebooks" / "03_visualization.ipynb", notebooks)
        t0 = time.perf_counter()
        status = batch.main(["--config", str(folder / "workbook.yaml"), "--regions", "ALL",
                             "--notebooks", str(notebooks), "--run-id", "bench", "--jobs", "1"])
        seconds = time.perf_counter() - t0
        out = folder / "reports" / "bench" / "all"
        nb = nbformat.read(out / "03_visualization.ipynb", as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        map_cells = [c for c in code if "region_map(" in c.source or "customer_map(" in c.source]
        map_seconds = sum(c.metadata.get("papermill", {}).get("duration") or 0
                          for c in map_cells)
        html = out / "03_visualization.html"
        return {"customers": n, "status": status, "html_mb": html.stat().st_size / MB,
                "map_cells_s": map_seconds, "batch_s": seconds}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--naive-max", type=int, default=100_000,
                        help="largest size the naive map is built for (it is slow)")
    parser.add_argument("--report", type=int, default=100_000,
                        help="customers of the end-to-end notebook-03 run (0: skip)")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    outlines = boundaries.china_regions("province")
    print(f"province outlines: {len(outlines)} in {time.perf_counter() - t0:.1f} s "
          f"(cached in {boundaries.CACHE_DIR} after the first use)\n")
    print("| customers | maps HTML (MB) | maps build (s) | naive HTML (MB) | naive build (s) |")
    print("|---:|---:|---:|---:|---:|", flush=True)
    for n in args.sizes:
        frame = customers(n)
        seconds, size = ours(frame, outlines)
        line = f"| {n:,} | {size / MB:.2f} | {seconds:.2f} |"
        if n <= args.naive_max:
            naive_seconds, naive_size = naive(frame)
            line += f" {naive_size / MB:.2f} | {naive_seconds:.1f} |"
        else:
            line += " not run | not run |"
        print(line, flush=True)
    if args.report:
        print("\nnotebook 03, whole market, generated sample (data prep included):\n")
        result = report(args.report)
        print("| customers | report HTML (MB) | map cells (s) | batch wall time (s) | status |")
        print("|---:|---:|---:|---:|---:|")
        print(f"| {result['customers']:,} | {result['html_mb']:.2f} | "
              f"{result['map_cells_s']:.2f} | {result['batch_s']:.0f} | "
              f"{'ok' if result['status'] == 0 else 'failed'} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
