"""Notebook 03's charts, timed per chart: this checkout against another, side by side in one run.

For each region, a child process per tree (this checkout, and ``--baseline DIR``: another
checkout of the project, e.g. ``git archive main | tar -x -C /tmp/charts_base``, run with
its own code on ``PYTHONPATH``) opens the step on the configured data
(:func:`helpers.context.open_step`; a run folder with a prep is built on first use, in a
temporary folder per tree, untimed), computes :func:`helpers.steps.visuals.visual_tables`
and then, ``--repeat`` times, calls the seven chart cells of notebook 03 exactly as the
notebook does and renders every figure they leave open as the notebook's inline backend
displays it (``IPython.core.pylabtools.print_figure(fig, "png", bbox_inches="tight")``,
at the figure's DPI), then closes it. The trees' children run one after the other per
region, in alternating order, so both see the same load.

Columns: ``draw`` (the cell: building the figure, ``tight_layout`` and ``adjustText``
included), ``png`` (the inline display: the layout pass for the tight bounding box, the
final draw and the PNG encoding), ``total``: medians over the repeats after a warm-up
round (the first call pays imports and font loading), in seconds; ``cpu``: the process's
CPU seconds for cell and display (less sensitive than wall time to other processes on a
shared machine: compare the trees by it when the load is high). ``same pixels``
compares the two trees' PNGs of the last round decoded (``yes``; ``no (N px)`` with
the count of differing pixels, or ``size`` when the images differ in size). With ``--out``
both trees' PNGs are kept (``<out>/<new|old>/<region>_<chart>.png``) for a visual check.

    python bench/chart_speed.py --baseline /tmp/charts_base --regions 华东,ALL
    python bench/chart_speed.py --regions 广东 --repeat 5 --out /tmp/chart_png
    python bench/chart_speed.py --regions 华东 --split   # where the seconds go, this tree

``--split`` (this checkout only) also times, summed over the seven charts, the parts of
matplotlib and adjustText the cells and the display spend their time in: text
measurement (``RendererAgg.get_text_width_height_descent``: FreeType lays out each
string once per renderer), ``Figure.tight_layout``, ``adjustText.adjust_text``, the
tight bounding box (``Figure.get_tightbbox``) and the PNG encoding (``PIL.Image.save``),
as CPU seconds per round and shares of the whole (each part's own time: text measured
inside ``tight_layout`` counts as text measurement); the rest is matplotlib drawing the
artists (the display draws each figure twice: once to find its tight bounding box,
once at the cropped size).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Notebook 03's chart cells, in order (the names in the table).
CHARTS = ("region_bars", "region_share", "lorenz", "customers_vs_revenue", "trend",
          "order_values", "segment_mix")


def _cells(ctx, tables) -> dict:
    """The notebook's chart cells as calls (notebooks/03_visualization.py)."""
    from helpers.steps import visuals
    from helpers.viz import charts

    lang, currency = ctx.lang, ctx.config.project.currency
    return {
        "region_bars": lambda: visuals.region_bars(ctx, tables, top=12),
        "region_share": lambda: visuals.region_share(ctx, tables),
        "lorenz": lambda: visuals.lorenz_curves(ctx, tables),
        "customers_vs_revenue": lambda: visuals.customers_against_revenue(ctx, tables),
        "trend": lambda: charts.plot_trend(tables["monthly"], value="revenue",
                                           hue=tables["level"], top=6, lang=lang,
                                           currency=currency),
        "order_values": lambda: charts.plot_order_values(tables["period_orders"], lang=lang,
                                                         currency=currency),
        "segment_mix": lambda: charts.plot_segment_mix(tables["segments"],
                                                       region=tables["level"], top=12,
                                                       lang=lang),
    }


#: What ``--split`` times: (module, owner, attribute) of each part.
PARTS = {
    "text measurement": ("matplotlib.backends.backend_agg", "RendererAgg",
                         "get_text_width_height_descent"),
    "tight_layout": ("matplotlib.figure", "Figure", "tight_layout"),
    "adjust_text": ("adjustText", None, "adjust_text"),
    "tight bounding box": ("matplotlib.figure", "Figure", "get_tightbbox"),
    "PNG encoding": ("PIL.Image", "Image", "save"),
}


def _timed_parts(spent: dict[str, float]) -> None:
    """Wrap the functions of :data:`PARTS` so that their CPU seconds add up in ``spent``,
    each part's own: a part called inside another (text measured by ``tight_layout``)
    counts in the inner one only, so the parts add up to no more than the whole."""
    import functools
    import importlib

    stack: list[list] = []  # [name, start, seconds of the parts called inside]

    for name, (module_name, owner_name, attribute) in PARTS.items():
        module = importlib.import_module(module_name)
        owner = getattr(module, owner_name) if owner_name else module
        original = getattr(owner, attribute)

        @functools.wraps(original)
        def timed(*args, _original=original, _name=name, **kwargs):
            if stack and stack[-1][0] == _name:  # a part calling itself counts once
                return _original(*args, **kwargs)
            stack.append([_name, time.process_time(), 0.0])
            try:
                return _original(*args, **kwargs)
            finally:
                _, start, inner = stack.pop()
                elapsed = time.process_time() - start
                spent[_name] = spent.get(_name, 0.0) + elapsed - inner
                if stack:
                    stack[-1][2] += elapsed

        setattr(owner, attribute, timed)


def child(region: str, lang: str, repeat: int, run_dir: str, out: str,
          split: bool = False) -> dict:
    """Time the chart cells in this process (the tree on ``sys.path``); one JSON result."""
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt
    from IPython.core.pylabtools import print_figure

    from helpers import context
    from helpers.steps import visuals

    ctx = context.open_step(region=region, run_dir=run_dir, lang=lang)
    tables = visuals.visual_tables(ctx)
    cells = _cells(ctx, tables)
    times = {name: {"draw": [], "png": [], "cpu": []} for name in cells}
    spent: dict[str, float] = {}
    if split:
        _timed_parts(spent)
    images: dict[str, list[bytes]] = {}
    for round_ in range(repeat + 1):  # round 0 warms up
        if round_ == 1:
            spent.clear()
        for name, cell in cells.items():
            start, cpu = time.perf_counter(), time.process_time()
            cell()
            drawn = time.perf_counter()
            pngs = []
            for number in plt.get_fignums():
                figure = plt.figure(number)
                pngs.append(print_figure(figure, "png", bbox_inches="tight"))
                plt.close(figure)
            shown = time.perf_counter()
            if round_:
                times[name]["cpu"].append(time.process_time() - cpu)
                times[name]["draw"].append(drawn - start)
                times[name]["png"].append(shown - drawn)
            images[name] = pngs
    if out:
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        for name, pngs in images.items():
            for i, png in enumerate(pngs):
                suffix = f"_{i}" if len(pngs) > 1 else ""
                (folder / f"{region}_{name}{suffix}.png").write_bytes(png)
    return {"times": times, "spent": {k: v / repeat for k, v in spent.items()}, "bytes": {n: sum(len(p) for p in v) for n, v in images.items()},
            "images": {n: [p.hex() for p in v] for n, v in images.items()}}


def run_child(root: Path, region: str, lang: str, repeat: int, run_dir: Path,
              out: str, split: bool = False) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root), *[p for p in env.get("PYTHONPATH", "")
                                                       .split(os.pathsep) if p]])
    command = [sys.executable, str(Path(__file__).resolve()), "--child", "--region", region,
               "--lang", lang, "--repeat", str(repeat), "--run-dir", str(run_dir),
               "--out", out, *(["--split"] if split else [])]
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"the charts of {root} for {region} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _same_pixels(old: list[str], new: list[str]) -> str:
    import numpy as np
    from PIL import Image

    if len(old) != len(new):
        return f"figures {len(old)} vs {len(new)}"
    differing = 0
    for a, b in zip(old, new, strict=True):
        one = np.asarray(Image.open(io.BytesIO(bytes.fromhex(a))).convert("RGBA"))
        two = np.asarray(Image.open(io.BytesIO(bytes.fromhex(b))).convert("RGBA"))
        if one.shape != two.shape:
            return "size"
        differing += int((one != two).any(axis=-1).sum())
    return "yes" if not differing else f"no ({differing} px)"


def _load() -> str:
    try:
        return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        return "load ?"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", default="华东", help="comma-separated regions")
    parser.add_argument("--lang", default="en")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", type=Path, default=None, metavar="DIR",
                        help="another checkout of the project to compare with")
    parser.add_argument("--out", default="", help="keep the PNGs here")
    parser.add_argument("--split", action="store_true",
                        help="also time the parts of matplotlib the charts spend in")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--region", default="", help=argparse.SUPPRESS)
    parser.add_argument("--run-dir", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.region, args.lang, args.repeat, args.run_dir, args.out,
                               args.split)))
        return
    trees = [("new", ROOT)]
    if args.baseline is not None:
        trees.append(("old", args.baseline.resolve()))
    results: dict[tuple[str, str], dict] = {}
    loads = []
    with tempfile.TemporaryDirectory(prefix="chart_speed_") as tmp:
        for i, region in enumerate(r.strip() for r in args.regions.split(",") if r.strip()):
            order = trees if i % 2 == 0 else trees[::-1]
            for tag, root in order:
                loads.append(_load())
                out = str(Path(args.out) / tag) if args.out else ""
                results[(tag, region)] = run_child(root, region, args.lang, args.repeat,
                                                   Path(tmp) / tag, out,
                                                   args.split and tag == "new")
    loads.append(_load())
    print(f"notebook 03 charts, median of {args.repeat} rounds after a warm-up, seconds; "
          f"{' | '.join(dict.fromkeys(loads))}")
    header = f"{'region':<8} {'chart':<22} {'new draw':>8} {'new png':>8} {'new total':>9}"
    if args.baseline is not None:
        header += (f" {'old total':>9} {'change':>7} {'new cpu':>8} {'old cpu':>8} {'change':>7}"
                   f" {'KB old/new':>11} {'same pixels':>12}")
    print(header)
    regions = list(dict.fromkeys(region for _, region in results))
    for region in regions:
        new = results[("new", region)]
        sums = {"new": 0.0, "old": 0.0, "new cpu": 0.0, "old cpu": 0.0}
        for chart in CHARTS:
            draw = statistics.median(new["times"][chart]["draw"])
            png = statistics.median(new["times"][chart]["png"])
            sums["new"] += draw + png
            row = f"{region:<8} {chart:<22} {draw:8.3f} {png:8.3f} {draw + png:9.3f}"
            if ("old", region) in results:
                old = results[("old", region)]
                before = (statistics.median(old["times"][chart]["draw"])
                          + statistics.median(old["times"][chart]["png"]))
                sums["old"] += before
                cpu_new = statistics.median(new["times"][chart]["cpu"])
                cpu_old = statistics.median(old["times"][chart]["cpu"])
                sums["new cpu"] += cpu_new
                sums["old cpu"] += cpu_old
                kb = f"{old['bytes'][chart] / 1e3:.0f}/{new['bytes'][chart] / 1e3:.0f}"
                row += (f" {before:9.3f} {(draw + png) / before - 1:+7.0%} {cpu_new:8.3f}"
                        f" {cpu_old:8.3f} {cpu_new / cpu_old - 1:+7.0%} {kb:>11}"
                        f" {_same_pixels(old['images'][chart], new['images'][chart]):>12}")
            print(row)
        row = f"{region:<8} {'all seven':<22} {'':8} {'':8} {sums['new']:9.3f}"
        if sums["old"]:
            row += (f" {sums['old']:9.3f} {sums['new'] / sums['old'] - 1:+7.0%}"
                    f" {sums['new cpu']:8.3f} {sums['old cpu']:8.3f}"
                    f" {sums['new cpu'] / sums['old cpu'] - 1:+7.0%}")
        print(row)
    if args.split:
        print("\nwhere the CPU seconds of the seven charts go (this checkout, per round)")
        for region in regions:
            new = results[("new", region)]
            whole = sum(statistics.median(new["times"][c]["cpu"]) for c in CHARTS)
            for part, seconds in sorted(new["spent"].items(), key=lambda kv: -kv[1]):
                print(f"{region:<8} {part:<22} {seconds:8.3f} {seconds / whole:7.1%}")
            rest = whole - sum(new["spent"].values())
            print(f"{region:<8} {'the rest (drawing)':<22} {rest:8.3f} {rest / whole:7.1%}")
            print(f"{region:<8} {'all seven':<22} {whole:8.3f}")


if __name__ == "__main__":
    main()
