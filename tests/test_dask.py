"""The batch on a Dask cluster: a real ``dask scheduler`` and two ``dask worker`` processes on
localhost, started and stopped here.

The outputs of a Dask run equal a run on threads; a region that fails, times out or kills
its worker is recorded as failed with the reason while the other regions finish.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from stubs import sample_config, stub_batch

from helpers.config import PROJECT_ROOT
from helpers.run import batch

pytestmark = pytest.mark.kernel

def _env() -> dict:
    paths = [str(PROJECT_ROOT), *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths),
            # a task whose worker died is retried once, not three times (the test is quicker)
            "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"}


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """The address of a scheduler with two single-thread workers; all stopped afterwards."""
    folder = tmp_path_factory.mktemp("dask")
    address_file = folder / "scheduler.json"
    env = _env()
    processes = [subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", "0", "--no-dashboard", "--scheduler-file", str(address_file)],
        env=env, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not address_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        for i in range(2):
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file",
                 str(address_file), "--nthreads", "1", "--no-dashboard",
                 "--local-directory", str(folder / f"w{i}"), "--name", f"w{i}"],
                env=env, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client

        with Client(scheduler_file=str(address_file), timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
            address = client.scheduler.address
        yield address
    finally:
        family = [psutil.Process(p.pid) for p in processes if p.poll() is None]
        children = [c for p in family for c in p.children(recursive=True)]
        for p in reversed(processes):  # workers first (their kernels shut down), then the scheduler
            p.terminate()
        for p in processes:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        _, alive = psutil.wait_procs(children, timeout=30)
        for child in alive:
            child.kill()
        assert not alive, f"left running after the workers stopped: {alive}"


def _outputs(run: Path) -> dict[str, bytes]:
    """Every data file the regions wrote (CSV, JSON but the run's own timings), by path."""
    found = {}
    for path in sorted(run.glob("*/*")):
        if path.parent.name == "prep" or path.suffix not in (".csv", ".json"):
            continue
        found[str(path.relative_to(run))] = path.read_bytes()
    return found


def test_a_dask_run_equals_a_run_on_threads(scheduler, tmp_path):
    config = sample_config(tmp_path)
    common = ["--config", str(config), "--regions", "辽宁", "--jobs", "2"]
    assert batch.main([*common, "--run-id", "threads"]) == 0
    assert batch.main([*common, "--run-id", "dask", "--scheduler", scheduler]) == 0
    reports = tmp_path / "reports"
    threads, dask = _outputs(reports / "threads"), _outputs(reports / "dask")
    assert sorted(dask) == sorted(threads) and len(threads) > 20
    assert "liaoning/region_kpis.csv" in threads and "all/headline.json" in threads
    different = [name for name in threads if threads[name] != dask[name]]
    assert different == []
    manifest = json.loads((reports / "dask" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "ok" and manifest["attempts"][-1]["fanout"] == scheduler
    assert all(r["status"] == "ok" for r in manifest["regions"])
    for slug in ("all", "liaoning"):
        assert (reports / "dask" / slug / "05_strategy.html").exists()


def _stub_run(tmp_path: Path, body: str, *extra: str) -> tuple[int, dict]:
    notebooks, config = stub_batch(tmp_path, body)
    code = batch.main(["--config", str(config), "--regions", "华东,华南,华北", "--run-id", "r",
                       "--notebooks", str(notebooks), "--reports", str(tmp_path / "reports"),
                       *extra])
    manifest = json.loads((tmp_path / "reports" / "r" / "manifest.json").read_text(encoding="utf-8"))
    return code, {r["slug"]: r for r in manifest["regions"]}


def test_failures_stay_with_their_region(scheduler, tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "run_prep",
                        lambda config, run, inputs: run.prep.mkdir(parents=True, exist_ok=True))
    body = ("import os, time\nfrom pathlib import Path\nfrom helpers.config import load_config\n"
            "from helpers.geo.scope import Scope\nscope = Scope.parse(region, load_config(config))\n"
            "(Path(run_dir) / scope.slug).mkdir(parents=True, exist_ok=True)\n"
            "if scope.slug == 'east-china': raise ValueError('planted failure')\n"
            "if scope.slug == 'south-china': time.sleep(60)\n"
            "if scope.slug == 'north-china': os.kill(os.getppid(), 9)\n"
            "print('ran', scope.slug)")
    code, regions = _stub_run(tmp_path, body, "--scheduler", scheduler, "--timeout", "10")
    assert code == 1
    assert regions["all"]["status"] == "ok"
    assert regions["east-china"]["status"] == "failed"
    assert "planted failure" in regions["east-china"]["error"]
    assert regions["south-china"]["status"] == "failed"
    assert "10" in regions["south-china"]["error"]            # the cell timeout, in seconds
    assert regions["north-china"]["status"] == "failed"
    assert "worker died" in regions["north-china"]["error"]


def test_an_unreachable_scheduler_is_one_clear_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(batch, "run_prep",
                        lambda config, run, inputs: run.prep.mkdir(parents=True, exist_ok=True))
    monkeypatch.setattr("helpers.run.cluster.CONNECT_TIMEOUT", 2)
    code, regions = _stub_run(tmp_path, "print('never')", "--scheduler", "tcp://127.0.0.1:9")
    assert code == 1
    err = capsys.readouterr().err
    assert "no Dask scheduler answers at --scheduler 'tcp://127.0.0.1:9'" in err
    assert "Traceback" not in err
    assert all(r["status"] == "not run" for r in regions.values())


def test_scheduler_and_cluster_together_are_refused(tmp_path, capsys):
    code = batch.main(["--config", str(sample_config(tmp_path)), "--scheduler", "tcp://x:1",
                       "--cluster", "local"])
    assert code == 2
    assert "give one" in capsys.readouterr().err
