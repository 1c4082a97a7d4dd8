"""Memory of a batch: the whole process tree's peak, and whether a warm kernel grows.

One warm notebook engine (the batch's default: one kernel kept and reset between
notebooks) runs the same batch again and again (``--runs``, each a new run folder with its
own prep, as a quarterly batch would be), so that one kernel goes through hundreds of
region runs. A sampler thread reads the resident memory (RSS) of this process and of
every child process (the kernels, and whatever they start) every ``--every`` seconds.
After each run the table prints the regions run so far by that kernel, the kernel's RSS
at the end of the run, its peak during the run, and the peak of the process tree (this
process + kernels) during the run; then the growth of the kernel between the end of the
first run and the end of the last, per 100 regions (least squares over the run ends).

Side by side in the same window, ``--compare papermill`` adds one run with a new kernel per
notebook (nothing is kept between notebooks, so nothing can grow): its tree peak is the
floor a warm kernel is compared with.

    python bench/batch_memory.py                                   # 10 x (ALL + 31 provinces), steps 04-05
    python bench/batch_memory.py --runs 3 --steps 01,02,03,04,05 --regions territories
    python bench/batch_memory.py --runs 10 --compare papermill
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers.config import DEFAULT_CONFIG  # noqa: E402
from helpers.run import batch  # noqa: E402
from helpers.run.engine import PapermillEngine, ensure_kernel  # noqa: E402
from helpers.run.warm_kernel import WarmKernelEngine  # noqa: E402

MB = 1024 * 1024


class TreeSampler:
    """RSS of this process and all its children, and of the given kernel processes,
    sampled every ``every`` seconds in a thread; peaks since the last :meth:`mark`."""

    def __init__(self, kernels=lambda: [], every: float = 0.25):
        self.kernels, self.every = kernels, every
        self.me = psutil.Process()
        self.tree_peak = self.kernel_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @staticmethod
    def _rss(processes) -> int:
        total = 0
        for process in processes:
            try:
                total += process.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        return total

    def tree(self) -> int:
        return self._rss([self.me, *self.me.children(recursive=True)])

    def kernel(self) -> int:
        processes = []
        for pid in self.kernels():
            try:
                processes.append(psutil.Process(pid))
            except psutil.NoSuchProcess:
                pass
        return self._rss(processes)

    def mark(self) -> tuple[int, int]:
        """The peaks since the last mark (tree, kernel), and start again."""
        peaks = self.tree_peak, self.kernel_peak
        self.tree_peak = self.kernel_peak = 0
        return peaks

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.tree_peak = max(self.tree_peak, self.tree())
            self.kernel_peak = max(self.kernel_peak, self.kernel())


def notebooks_folder(steps: list[str], folder: Path) -> Path:
    """A folder with the project's notebooks of ``steps`` (``04`` -> ``04_insight.ipynb``)."""
    folder.mkdir(parents=True, exist_ok=True)
    for step in steps:
        found = sorted((ROOT / "notebooks").glob(f"{step}_*.ipynb"))
        if not found:
            raise SystemExit(f"--steps: no notebook {step}_*.ipynb in {ROOT / 'notebooks'}")
        shutil.copy2(found[0], folder / found[0].name)
    return folder


def one_run(engine, sampler: TreeSampler, notebooks: Path, regions: str, reports: Path,
            run_id: str) -> dict:
    sampler.mark()
    t0 = time.perf_counter()
    code = batch.main(["--config", str(DEFAULT_CONFIG), "--regions", regions, "--jobs", "1",
                       "--run-id", run_id, "--notebooks", str(notebooks),
                       "--reports", str(reports)], engine=engine)
    wall = time.perf_counter() - t0
    time.sleep(2 * sampler.every)  # one more sample after the last notebook
    tree_peak, kernel_peak = sampler.mark()
    manifest = json.loads((reports / run_id / "manifest.json").read_text("utf-8"))
    ok = sum(r["status"] == "ok" for r in manifest["regions"])
    return {"run": run_id, "regions": len(manifest["regions"]), "ok": ok, "wall": wall,
            "code": code, "kernel_end": sampler.kernel(), "kernel_peak": kernel_peak,
            "tree_peak": tree_peak}


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ``ys`` on ``xs`` (0 for fewer than two points)."""
    if len(xs) < 2:
        return 0.0
    mx, my = statistics.mean(xs), statistics.mean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", default="provinces", help="as for helpers.run")
    parser.add_argument("--runs", type=int, default=10, help="batches run by the same kernel")
    parser.add_argument("--steps", default="04,05", help="notebooks of each region")
    parser.add_argument("--compare", choices=["papermill"], default=None,
                        help="one more run with a new kernel per notebook")
    parser.add_argument("--every", type=float, default=0.25, help="sampling interval, s")
    parser.add_argument("--keep", action="store_true", help="keep the run folders")
    args = parser.parse_args(argv)

    ensure_kernel("python3")
    tmp = Path(tempfile.mkdtemp(prefix="batch-memory-"))
    notebooks = notebooks_folder([s.strip() for s in args.steps.split(",") if s.strip()],
                                 tmp / "notebooks")
    reports = tmp / "reports"
    rows = []
    engine = WarmKernelEngine(kernel_name="python3", timeout=1800)
    try:
        with TreeSampler(engine.kernel_pids, args.every) as sampler:
            done = 0
            for k in range(args.runs):
                row = one_run(engine, sampler, notebooks, args.regions, reports, f"warm-{k + 1}")
                done += row["regions"]
                row.update(way="warm", done=done, kernels=len(engine.kernel_pids()))
                rows.append(row)
                print(f"run {k + 1}/{args.runs}: {done} regions, kernel "
                      f"{row['kernel_end'] / MB:,.0f} MB, tree peak {row['tree_peak'] / MB:,.0f} MB, "
                      f"{row['wall']:.0f} s", file=sys.stderr)
                if not args.keep:
                    shutil.rmtree(reports / row["run"], ignore_errors=True)
                if row["code"] == batch.EXIT_INTERRUPTED:  # Ctrl-C or a stop signal
                    break
    finally:
        engine.close()
    if args.compare == "papermill":
        fresh = PapermillEngine(kernel_name="python3", timeout=1800)
        with TreeSampler(lambda: [], args.every) as sampler:
            row = one_run(fresh, sampler, notebooks, args.regions, reports, "papermill-1")
        fresh.close()
        row.update(way="papermill", done=row["regions"], kernel_end=0, kernel_peak=0, kernels=0)
        rows.append(row)

    load = os.getloadavg()
    print(f"\nsteps {args.steps}, regions '{args.regions}', one warm kernel for all runs "
          f"(sampled every {args.every} s)\n")
    print(f"{'way':<10} {'run':>4} {'regions':>7} {'ok':>4} {'kernel regions':>14} "
          f"{'wall s':>7} {'kernel end MB':>13} {'kernel peak MB':>14} {'tree peak MB':>12}")
    for i, row in enumerate(rows, start=1):
        kernel_end = f"{row['kernel_end'] / MB:,.0f}" if row["way"] == "warm" else "-"
        kernel_peak = f"{row['kernel_peak'] / MB:,.0f}" if row["way"] == "warm" else "-"
        print(f"{row['way']:<10} {i:>4} {row['regions']:>7} {row['ok']:>4} "
              f"{row['done'] if row['way'] == 'warm' else '-':>14} {row['wall']:>7.0f} "
              f"{kernel_end:>13} {kernel_peak:>14} {row['tree_peak'] / MB:>12,.0f}")
    warm = [r for r in rows if r["way"] == "warm"]
    if warm:
        first, last = warm[0], warm[-1]
        per100 = slope([r["done"] for r in warm], [r["kernel_end"] / MB for r in warm]) * 100
        print(f"\nwarm kernel after {first['done']} regions: {first['kernel_end'] / MB:,.0f} MB; "
              f"after {last['done']}: {last['kernel_end'] / MB:,.0f} MB "
              f"({(last['kernel_end'] - first['kernel_end']) / MB:+,.0f} MB); "
              f"least-squares growth {per100:+.1f} MB per 100 regions")
        print(f"peak of the process tree over all warm runs: "
              f"{max(r['tree_peak'] for r in warm) / MB:,.0f} MB")
    print(f"load average at the end (1, 5, 15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"run folders kept in {tmp}")
    return 0 if all(r["code"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
