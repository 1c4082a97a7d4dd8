"""Run records that never lie: input hashing, prep reuse, every way a batch ends, run ids, --resume.

The batch is driven with stub notebooks and stub engines (as in ``test_batch.py``);
faults are planted by monkeypatching: tests run as root, so a read-only folder or a
full disk is an ``OSError`` with the right errno raised by the writing functions,
and Ctrl-C is a ``KeyboardInterrupt`` (raised by the engine in a worker thread, or
sent to the main thread with ``_thread.interrupt_main`` as a real Ctrl-C would).
"""

from __future__ import annotations

import _thread
import errno
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from stubs import stub_notebook

from helpers import files
from helpers.config import PROJECT_ROOT, RunPaths, load_config
from helpers.data.inputs import input_files
from helpers.data.prepare import PrepDamaged, build_prep, load_prep
from helpers.run import batch
from helpers.run.claim import claim_run
from helpers.run.engine import NotebookFailed, PapermillEngine, ensure_kernel
from helpers.run.plan import UsageError
from helpers.steps.prep import PREP_CODE, ensure_prep, prepare

PARAMETERS = 'region: str = "ALL"\nrun_dir: str = ""\nconfig: str = "workbook.yaml"'
NOTEBOOKS = ("01_first.ipynb", "02_second.ipynb", "03_third.ipynb")
REGIONS = "华东,华南"  # ALL, east-china, south-china
SLUGS = ["all", "east-china", "south-china"]


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture
def project(tmp_path) -> dict:
    """Three stub notebooks, a config whose data folder holds one small file, a reports folder."""
    tmp_path = tmp_path / "project"
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir(parents=True)
    for name in NOTEBOOKS:
        stub_notebook(notebooks / name, PARAMETERS, "print('ran', region)", title="# Stub")
    data = tmp_path / "data"
    data.mkdir()
    (data / "orders.csv").write_text("订单号,金额\n1,10\n", encoding="utf-8")
    raw = yaml.safe_load((PROJECT_ROOT / "workbook.yaml").read_text(encoding="utf-8"))
    raw["paths"] = {"data": str(data), "reports": str(tmp_path / "reports")}
    config = tmp_path / "workbook.yaml"
    config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return {"root": tmp_path, "notebooks": notebooks, "config": config, "data": data,
            "reports": tmp_path / "reports"}


def _no_prep(config, run, inputs):
    run.prep.mkdir(parents=True, exist_ok=True)


class Engine:
    """Copies the notebook to the output; fails or is interrupted where told.

    ``fail``: (region, notebook) pairs that fail; ``interrupt``: the pair at which the
    engine raises KeyboardInterrupt (``"raise"``) or sends Ctrl-C to the main thread
    and then waits to be stopped (``"signal"``: its kernel is killed by ``close()``).
    """

    def __init__(self, fail=(), interrupt=None, how="raise"):
        self.fail, self.interrupt, self.how = set(fail), interrupt, how
        self.calls: list[tuple[str, str]] = []
        self.closed = threading.Event()
        self._lock = threading.Lock()

    def execute(self, notebook, output, parameters, cwd):
        key = (parameters["region"], Path(notebook).name)
        with self._lock:
            self.calls.append(key)
        shutil.copy(notebook, output)
        if key == self.interrupt:
            if self.how == "raise":
                raise KeyboardInterrupt
            if self.how == "sigterm":  # as `kill <batch pid>` would (never kill pytest itself)
                assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None)
                os.kill(os.getpid(), signal.SIGTERM)
            else:
                _thread.interrupt_main()
            assert self.closed.wait(30), "the batch did not stop the engine"
            raise NotebookFailed(notebook, output, "DeadKernelError: Kernel died")
        if key in self.fail:
            raise NotebookFailed(notebook, output, "ValueError: planted failure")

    def close(self):
        self.closed.set()


def _main(project, *extra, engine=None, prep=_no_prep, monkeypatch=None, run_id="r"):
    args = ["--config", str(project["config"]), "--regions", REGIONS, "--jobs", "1",
            "--notebooks", str(project["notebooks"]), "--reports", str(project["reports"])]
    if run_id and "--resume" not in extra:
        args += ["--run-id", run_id]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(batch, "run_prep", prep)
        return batch.main([*args, *extra], engine=engine if engine is not None else Engine())


def _manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text("utf-8"))


def _statuses(run_dir: Path) -> dict[str, str]:
    return {r["slug"]: r["status"] for r in _manifest(run_dir)["regions"]}


def _summary(run_dir: Path) -> str:
    page = (run_dir / "index.html").read_text("utf-8")
    return re.sub("<[^>]+>", "", re.search(r'<p class="summary">(.*?)</p>', page).group(1))


def _row_status(run_dir: Path, slug: str) -> str:
    page = (run_dir / "index.html").read_text("utf-8")
    row = re.search(rf'<section class="card panel ([^"]+)" id="region-{slug}">', page)
    return row.group(1)


def _partials(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if ".partial" in p.name]


# ----------------------------------------------------------------------------- input files


def test_input_files_lists_every_file_of_lists_globs_and_joins(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    contents = {"crm_a.csv": b"id\n1\n", "crm_b.csv": b"id\n2\n", "orders_2024.csv": b"o\n1\n",
                "orders_2025.csv": b"o\n22\n", "pay.csv": b"p\n3\n"}
    for name, content in contents.items():
        (data / name).write_bytes(content)
    raw = yaml.safe_load((PROJECT_ROOT / "workbook.yaml").read_text("utf-8"))
    raw["paths"]["data"] = str(data)
    raw["sources"]["customers"] = [
        {**raw["sources"]["customers"][0], "file": ["crm_a.csv", "crm_b.csv"]},
        {**raw["sources"]["customers"][1], "file": "missing.csv"}]
    raw["sources"]["orders"][0]["file"] = "orders_*.csv"
    raw["sources"]["orders"][0]["joins"] = [
        {"file": "pay.csv", "left_on": "订单号", "right_on": "p"},
        {"file": "crm_a.csv", "left_on": "客户编号", "right_on": "id"}]
    raw["sources"]["spend"][0]["file"] = "spend_*.csv"  # matches nothing
    config_path = tmp_path / "workbook.yaml"
    config_path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    config = load_config(config_path)

    rows = [item.record() for item in input_files(config)]
    seen = {(r["table"], r["role"], Path(r["path"]).name): r for r in rows}
    for (table, role, name) in [("customers", "source", "crm_a.csv"),
                                ("customers", "source", "crm_b.csv"),
                                ("orders", "source", "orders_2024.csv"),
                                ("orders", "source", "orders_2025.csv"),
                                ("orders", "join", "pay.csv"), ("orders", "join", "crm_a.csv")]:
        row = seen[(table, role, name)]
        assert row["sha256"] == hashlib.sha256(contents[name]).hexdigest()
        assert row["bytes"] == len(contents[name]) and row["error"] is None
    assert seen[("orders", "source", "orders_2024.csv")]["file"] == "orders_*.csv"
    assert seen[("customers", "source", "missing.csv")]["error"] == "file not found"
    assert seen[("customers", "source", "missing.csv")]["sha256"] is None
    unmatched = seen[("spend", "source", "spend_*.csv")]
    assert unmatched["error"] == "no file matches the pattern" and unmatched["sha256"] is None


def test_the_manifest_records_each_list_item_and_glob_match_with_its_hash(project):
    """A source ``file`` given as a list and one given as a glob pattern (with a join):
    the batch's manifest has one row per file read, each with its own SHA-256."""
    data = project["data"]
    contents = {"crm_a.csv": "客户编号\nC1\n", "crm_b.csv": "客户编号\nC22\n",
                "orders_2024.csv": "订单号,金额\n1,10\n", "orders_2025.csv": "订单号,金额\n2,200\n",
                "pay.csv": "订单号,付款\n1,现金\n"}
    for name, text in contents.items():
        (data / name).write_text(text, encoding="utf-8")
    raw = yaml.safe_load(project["config"].read_text("utf-8"))
    raw["sources"]["customers"][0]["file"] = ["crm_a.csv", "crm_b.csv"]
    raw["sources"]["orders"][0]["file"] = "orders_*.csv"
    raw["sources"]["orders"][0]["joins"] = [{"file": "pay.csv", "left_on": "订单号"}]
    project["config"].write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")

    assert _main(project) == 0
    inputs = _manifest(project["reports"] / "r")["inputs"]
    rows = {(i["table"], i["role"], Path(i["path"]).name): i for i in inputs}
    expected = [("customers", "source", "crm_a.csv", "crm_a.csv"),
                ("customers", "source", "crm_b.csv", "crm_b.csv"),
                ("orders", "source", "orders_2024.csv", "orders_*.csv"),
                ("orders", "source", "orders_2025.csv", "orders_*.csv"),
                ("orders", "join", "pay.csv", "pay.csv")]
    for table, role, name, configured in expected:
        row = rows[(table, role, name)]
        digest = hashlib.sha256(contents[name].encode("utf-8")).hexdigest()
        assert (row["file"], row["sha256"], row["error"]) == (configured, digest, None), row
        assert row["bytes"] == len(contents[name].encode("utf-8"))
    assert [Path(i["path"]).name for i in inputs if i["table"] == "orders"] == [
        "orders_2024.csv", "orders_2025.csv", "pay.csv"]


@pytest.mark.kernel
def test_a_list_file_runs_the_batch_end_to_end(tmp_path):
    """The bundled sample with the orders split over two files given as a list, real prep,
    notebooks that load the run's prep in a kernel."""
    ensure_kernel("python3")
    data = tmp_path / "data"
    shutil.copytree(PROJECT_ROOT / "data" / "sample", data)
    lines = (data / "orders.csv").read_text("utf-8").splitlines(keepends=True)
    half = len(lines) // 2
    (data / "orders_a.csv").write_text("".join(lines[:half]), "utf-8")
    (data / "orders_b.csv").write_text("".join(lines[:1] + lines[half:]), "utf-8")
    (data / "orders.csv").unlink()
    raw = yaml.safe_load((PROJECT_ROOT / "workbook.yaml").read_text("utf-8"))
    raw["paths"] = {"data": str(data), "reports": str(tmp_path / "reports")}
    raw["sources"]["orders"][0]["file"] = ["orders_a.csv", "orders_b.csv"]
    config = tmp_path / "workbook.yaml"
    config.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    stub_notebook(notebooks / "01_load.ipynb", PARAMETERS,
                  "from helpers.context import open_step\n"
                  "ctx = open_step(region=region, run_dir=run_dir, config=config)\n"
                  "print('orders', len(ctx.prep.orders), 'customers', len(ctx.prep.customers))")
    code = batch.main(["--config", str(config), "--regions", "ALL", "--run-id", "listed",
                       "--notebooks", str(notebooks), "--engine", "papermill"])
    assert code == 0
    run_dir = tmp_path / "reports" / "listed"
    manifest = _manifest(run_dir)
    assert manifest["status"] == "ok" and _statuses(run_dir) == {"all": "ok"}
    orders = [i for i in manifest["inputs"] if i["table"] == "orders"]
    assert [Path(i["path"]).name for i in orders] == ["orders_a.csv", "orders_b.csv"]
    for item in orders:
        assert item["sha256"] == hashlib.sha256(Path(item["path"]).read_bytes()).hexdigest()
    assert manifest["prep"]["status"] == "ok" and manifest["prep"]["action"] == "built"
    ledger = pd.read_csv(run_dir / "prep" / "ledger.csv")
    read = ledger[(ledger["table"] == "orders") & (ledger["outcome"] == "read")]
    assert sorted(Path(f).name for f in read["file"]) == ["orders_a.csv", "orders_b.csv"]
    assert read["rows"].sum() == len(lines) - 1  # every order line of both files
    output = (run_dir / "all" / "01_load.ipynb").read_text("utf-8")
    kept = len(load_prep(run_dir / "prep").orders)
    assert f"orders {kept} customers" in output


# ----------------------------------------------------------------------------- prep reuse


@pytest.fixture
def tiny(tiny_config, tmp_path) -> dict:
    """A private copy of the tiny dataset (it gets edited) with its config."""
    data = tmp_path / "data"
    shutil.copytree(tiny_config.parent / "data", data)
    raw = yaml.safe_load(tiny_config.read_text("utf-8"))
    raw["paths"] = {"data": str(data), "reports": str(tmp_path / "reports")}
    path = tmp_path / "workbook.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    return {"config": load_config(path), "path": path, "data": data,
            "run": RunPaths(tmp_path / "reports" / "interactive")}


def _edit_amount_in_place(orders: Path) -> None:
    """Change one kept order's amount without changing the file's size or timestamps."""
    before = orders.stat()
    text = orders.read_text("utf-8")
    lines = text.split("\n")
    header = lines[0].split(",")
    col = header.index("金额")
    for i, line in enumerate(lines[1:], start=1):
        cells = line.split(",")
        if len(cells) == len(header) and cells[-1].strip() == "已完成" and cells[col].isdigit() \
                and len(cells[col]) > 1 and cells[col][0] != "9":
            cells[col] = str(int(cells[col][0]) + 1) + cells[col][1:]
            lines[i] = ",".join(cells)
            break
    orders.write_text("\n".join(lines), "utf-8")
    os.utime(orders, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = orders.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_an_input_edited_in_place_with_the_same_size_and_time_rebuilds_the_prep(tiny):
    config, run = tiny["config"], tiny["run"]
    first = prepare(config, run)
    assert first.action == "built"
    assert prepare(config, run).action == "reused"
    revenue = first.result.orders["amount"].sum()
    orders = tiny["data"] / "orders.csv"
    _edit_amount_in_place(orders)

    again = prepare(config, run)
    assert again.action == "rebuilt"
    assert again.reason == f"input changed: {orders}"
    assert again.result.orders["amount"].sum() != revenue
    saved = json.loads((run.prep / "prep.json").read_text("utf-8"))["fingerprint"]
    assert saved["inputs"][str(orders)] == hashlib.sha256(orders.read_bytes()).hexdigest()
    # the notebooks' way in sees the new tables too
    pd.testing.assert_frame_equal(ensure_prep(config, run).orders,
                                  build_prep(config).orders, check_dtype=False)


def test_a_changed_config_rebuilds_the_prep(tiny):
    config, run = tiny["config"], tiny["run"]
    prepare(config, run)
    tiny["path"].write_text(tiny["path"].read_text("utf-8") + "\n# a comment\n", "utf-8")
    again = prepare(load_config(tiny["path"]), run)
    assert again.action == "rebuilt" and again.reason == "the config file changed"


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


DAMAGE = {
    "truncated parquet": ("orders.parquet", _truncate, "cut short or changed"),
    "bad json": ("prep.json", lambda p: p.write_text('{"fingerprint": ', "utf-8"), "unreadable"),
    "missing file": ("ledger.csv", Path.unlink, "missing"),
    "same size, other bytes": ("customers.parquet", _flip_a_byte, "content changed"),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_prep_is_rebuilt_naming_the_file(tiny, case, capsys):
    config, run = tiny["config"], tiny["run"]
    good = prepare(config, run).result
    name, damage, words = DAMAGE[case]
    damage(run.prep / name)
    with pytest.raises(PrepDamaged) as caught:
        load_prep(run.prep)
    assert str(run.prep / name) in str(caught.value) and words in str(caught.value)

    result = ensure_prep(config, run)  # interactive: rebuilt, with a message
    err = capsys.readouterr().err
    assert "data prep built again: the saved prep is damaged" in err
    assert str(run.prep / name) in err and words in err
    pd.testing.assert_frame_equal(result.orders, good.orders)
    assert prepare(config, run).action == "reused"
    pd.testing.assert_frame_equal(load_prep(run.prep).customers, good.customers)


def test_in_a_batch_run_a_notebook_loads_the_runs_prep_and_never_rebuilds_it(tiny):
    config = tiny["config"]
    run = RunPaths(tiny["run"].root.parent / "batch-run")
    prepare(config, run)
    (run.root / "manifest.json").write_text("{}", "utf-8")  # a batch run
    before = (run.prep / "prep.json").read_bytes()
    _edit_amount_in_place(tiny["data"] / "orders.csv")
    ensure_prep(config, run)  # the run's tables, as the batch built them
    assert (run.prep / "prep.json").read_bytes() == before
    _truncate(run.prep / "orders.parquet")
    with pytest.raises(PrepDamaged) as caught:
        ensure_prep(config, run)
    message = str(caught.value)
    assert str(run.prep / "orders.parquet") in message
    assert "--resume batch-run" in message



def test_in_a_batch_run_the_prep_is_read_once_per_process_until_it_changes(tiny, monkeypatch):
    """A warm kernel runs notebook after notebook: the run's prep is read (and checked)
    once, each notebook gets tables of its own, and a prep built again is read again."""
    from helpers.steps import prep as prep_step

    config = tiny["config"]
    run = RunPaths(tiny["run"].root.parent / "batch-run")
    prepare(config, run)
    (run.root / "manifest.json").write_text("{}", "utf-8")  # a batch run
    reads = []
    monkeypatch.setattr(prep_step, "load_prep",
                        lambda folder, **kw: reads.append(folder) or load_prep(folder, **kw))
    prep_step._loaded.clear()
    first = ensure_prep(config, run)
    amount = first.orders["amount"].copy()
    first.orders["amount"] = 0.0  # what one notebook does to its tables ...
    first.orders.loc[first.orders.index[0], "order_id"] = "changed"
    first.customers["planted"] = 1
    first.notes.append("planted")
    second = ensure_prep(config, run)
    assert len(reads) == 1  # ... read once
    pd.testing.assert_series_equal(second.orders["amount"], amount)  # ... is not the next's
    assert "changed" not in set(second.orders["order_id"])
    assert "planted" not in second.customers and "planted" not in second.notes
    pd.testing.assert_frame_equal(second.customers, load_prep(run.prep).customers)

    _edit_amount_in_place(tiny["data"] / "orders.csv")
    prepare(config, run, rebuild=True)  # the prep files are written again
    third = ensure_prep(config, run)
    assert len(reads) == 2
    pd.testing.assert_frame_equal(third.orders, load_prep(run.prep).orders)
    assert third.orders["amount"].sum() != amount.sum()
    (run.prep / "ledger.csv").unlink()  # a file gone: read again, and the damage named
    with pytest.raises(PrepDamaged, match="ledger.csv"):
        ensure_prep(config, run)


def test_the_prep_fingerprint_covers_the_code_prep_imports():
    listed = {name.removesuffix(".py") for name in PREP_CODE}
    done = subprocess.run(
        [sys.executable, "-c", "import sys, helpers.data.prepare; print(' '.join(sorted("
         "m for m in sys.modules if m.startswith('helpers.'))))"],
        capture_output=True, text=True, check=True, cwd=PROJECT_ROOT, env=os.environ)
    imported = {m.split(".")[1] for m in done.stdout.split()}
    assert imported <= listed, imported - listed


# ----------------------------------------------------------------------------- Ctrl-C


def test_ctrl_c_raised_by_the_engine_records_every_region_truthfully(project, capsys):
    engine = Engine(interrupt=("华东", "02_second.ipynb"), how="raise")
    assert _main(project, engine=engine) == 130
    run_dir = project["reports"] / "r"
    manifest = _manifest(run_dir)
    assert manifest["status"] == "interrupted"
    assert _statuses(run_dir) == {"all": "ok", "east-china": "interrupted",
                                  "south-china": "not run"}
    east = manifest["regions"][1]
    assert [n["status"] for n in east["notebooks"]] == ["ok", "interrupted", "not run"]
    assert east["notebooks"][0]["html"] == "east-china/01_first.html"  # what finished is shown
    assert (run_dir / "east-china" / "01_first.html").exists()
    assert "interrupted" in east["error"]
    assert all(n["status"] == "not run" for n in manifest["regions"][2]["notebooks"])
    assert not any(region == "华南" for region, _ in engine.calls)
    assert _summary(run_dir) == "1 of 3 regions ok, 1 interrupted, 1 not run"
    assert _row_status(run_dir, "east-china") == "interrupted"
    assert _row_status(run_dir, "south-china") == "not-run"
    page = (run_dir / "index.html").read_text("utf-8")
    assert "python -m helpers.run --resume r" in page
    err = capsys.readouterr().err
    assert "--resume r" in err and "Traceback" not in err


def test_ctrl_c_in_the_main_thread_stops_the_running_notebook(project, capsys):
    """As a real Ctrl-C: the main thread is interrupted, the engine kills the running kernel."""
    engine = Engine(interrupt=("华东", "01_first.ipynb"), how="signal")
    assert _main(project, engine=engine) == 130
    run_dir = project["reports"] / "r"
    assert engine.closed.is_set()
    assert _statuses(run_dir) == {"all": "ok", "east-china": "interrupted",
                                  "south-china": "not run"}
    east = _manifest(run_dir)["regions"][1]
    assert [n["status"] for n in east["notebooks"]] == ["interrupted", "not run", "not run"]
    assert "DeadKernelError" in east["notebooks"][0]["error"]
    assert _summary(run_dir) == "1 of 3 regions ok, 1 interrupted, 1 not run"
    assert "Traceback" not in capsys.readouterr().err


def test_a_stop_signal_is_recorded_as_an_interruption(project):
    engine = Engine(interrupt=("华南", "03_third.ipynb"), how="sigterm")
    assert _main(project, engine=engine) == 130
    run_dir = project["reports"] / "r"
    assert _manifest(run_dir)["status"] == "interrupted"
    assert _statuses(run_dir) == {"all": "ok", "east-china": "ok", "south-china": "interrupted"}
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # put back


def test_ctrl_c_during_the_prep_runs_no_region(project):
    def interrupted_prep(config, run, inputs):
        raise KeyboardInterrupt

    engine = Engine()
    assert _main(project, engine=engine, prep=interrupted_prep) == 130
    run_dir = project["reports"] / "r"
    manifest = _manifest(run_dir)
    assert manifest["status"] == "interrupted" and manifest["prep"]["status"] == "interrupted"
    assert set(_statuses(run_dir).values()) == {"not run"}
    assert engine.calls == []
    assert _summary(run_dir) == "0 of 3 regions ok, 3 not run"
    assert "Data preparation was interrupted" in (run_dir / "index.html").read_text("utf-8")


# ----------------------------------------------------------------------------- read-only, disk full


def _failing_writes(monkeypatch, errno_, when):
    """Make ``files.atomic_path`` raise ``errno_`` for the paths ``when(path)`` picks."""
    real = files.atomic_path

    def atomic_path(path):
        if when(Path(path)):
            raise OSError(errno_, os.strerror(errno_), str(path))
        return real(path)

    monkeypatch.setattr(files, "atomic_path", atomic_path)


def test_a_read_only_reports_folder_is_one_clear_line(project, monkeypatch, capsys):
    real = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if self.is_relative_to(project["reports"]):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    engine = Engine()
    assert _main(project, engine=engine) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        f"error: cannot create {project['reports'] / 'r'}: Read-only file system "
        "(the folder is read-only: choose another one (--reports))"]
    assert engine.calls == [] and not project["reports"].exists()


def test_a_full_disk_while_writing_the_reports(project, monkeypatch, capsys):
    run_dir = project["reports"] / "r"
    _failing_writes(monkeypatch, errno.ENOSPC,
                    lambda p: p.suffix == ".html" and p.parent != run_dir)
    assert _main(project) == 1
    manifest = _manifest(run_dir)
    assert manifest["status"] == "failed"
    assert set(_statuses(run_dir).values()) == {"failed"}
    first = manifest["regions"][0]["notebooks"][0]
    assert first["status"] == "failed" and first["html"] is None
    assert first["error"] == (
        f"HTML rendering failed: cannot write {run_dir / 'all' / '01_first.html'}: "
        "No space left on device (the disk is full: free some space)")
    assert _summary(run_dir) == "0 of 3 regions ok, 3 failed"
    assert not list(run_dir.glob("*/*.html")) and not _partials(run_dir)
    assert "Traceback" not in capsys.readouterr().err


def test_a_full_disk_when_the_manifest_is_written_last(project, monkeypatch, capsys):
    run_dir = project["reports"] / "r"
    engine = Engine()
    # the disk fills up while the last region runs: its checkpoint and the final record fail
    _failing_writes(monkeypatch, errno.ENOSPC,
                    lambda p: p.name == "manifest.json" and ("华南", "03_third.ipynb")
                    in engine.calls)
    assert _main(project, engine=engine) == 1
    err = capsys.readouterr().err
    message = (f"error: cannot write {run_dir / 'manifest.json'}: No space left on device "
               "(the disk is full: free some space)")
    assert err.count(message) == 1 and "Traceback" not in err
    manifest = _manifest(run_dir)  # the last one written whole: never a truncated file
    assert manifest["status"] == "running"
    assert _statuses(run_dir)["all"] == "ok" and _statuses(run_dir)["south-china"] != "ok"
    assert _summary(run_dir) == "3 of 3 regions ok"  # the index could still be written
    assert not _partials(run_dir)


def test_a_read_only_run_folder_from_the_start_leaves_the_run_id_free(project, monkeypatch,
                                                                      capsys):
    _failing_writes(monkeypatch, errno.EACCES, lambda p: True)
    engine = Engine()
    assert _main(project, engine=engine) == 1
    err = capsys.readouterr().err
    assert f"cannot write {project['reports'] / 'r' / 'manifest.json'}: Permission denied" in err
    assert "Traceback" not in err and engine.calls == []
    assert not (project["reports"] / "r").exists()


def test_atomic_writes_keep_the_usual_file_mode(tmp_path):
    files.write_atomic(tmp_path / "atomic.html", "<p>x</p>")
    (tmp_path / "plain.html").write_text("<p>x</p>")
    assert (tmp_path / "atomic.html").stat().st_mode == (tmp_path / "plain.html").stat().st_mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["atomic.html", "plain.html"]


@pytest.mark.kernel
def test_an_executed_notebook_is_never_left_half_written(project, monkeypatch):
    """A real engine: the disk fills up when the executed notebook is saved."""
    ensure_kernel("python3")
    run_dir = project["reports"] / "r"
    _failing_writes(monkeypatch, errno.ENOSPC, lambda p: p.name == "02_second.ipynb")
    code = _main(project, "--regions", "ALL", engine=PapermillEngine(timeout=60))
    assert code == 1
    region = _manifest(run_dir)["regions"][0]
    first, second, third = region["notebooks"]
    assert first["status"] == "ok" and (run_dir / "all" / "01_first.ipynb").exists()
    assert second["status"] == "failed" and third["status"] == "skipped"
    assert f"cannot write {run_dir / 'all' / '02_second.ipynb'}: No space left" in second["error"]
    assert not (run_dir / "all" / "02_second.ipynb").exists()
    assert not _partials(run_dir)


@pytest.mark.kernel
def test_a_full_disk_while_papermill_saves_the_running_notebook(tmp_path, monkeypatch):
    """papermill's own writes fail (no file name in the error): the message names the output."""
    from papermill.iorw import LocalHandler

    ensure_kernel("python3")
    notebook = stub_notebook(tmp_path / "01_x.ipynb", PARAMETERS, "print('hello')")
    output = tmp_path / "out" / "01_x.ipynb"

    def full(self, buf, path):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(LocalHandler, "write", full)
    with pytest.raises(NotebookFailed) as caught:
        PapermillEngine(timeout=60).execute(notebook, output, {"region": "ALL"}, tmp_path)
    assert caught.value.message.startswith(
        f"cannot write {output}: No space left on device (the disk is full")
    assert sorted(p.name for p in output.parent.iterdir()) == ["01_x.ipynb"]  # error notebook
    assert "No space left on device" in output.read_text("utf-8")


def test_a_region_whose_folder_cannot_be_created_is_failed(project, monkeypatch):
    real = RunPaths.region

    def region(self, slug):
        if slug == "east-china":
            raise OSError(errno.EACCES, os.strerror(errno.EACCES), str(self.root / slug))
        return real(self, slug)

    monkeypatch.setattr(RunPaths, "region", region)
    engine = Engine()
    assert _main(project, engine=engine) == 1
    run_dir = project["reports"] / "r"
    assert _statuses(run_dir) == {"all": "ok", "east-china": "failed", "south-china": "ok"}
    east = _manifest(run_dir)["regions"][1]
    assert east["error"] == (f"cannot create the region folder {run_dir / 'east-china'}: "
                             "Permission denied (no permission: choose another folder "
                             "(--reports) or fix its permissions)")
    assert [n["status"] for n in east["notebooks"]] == ["failed", "skipped", "skipped"]
    assert not any(r == "华东" for r, _ in engine.calls)
    assert _summary(run_dir) == "2 of 3 regions ok, 1 failed"


# ----------------------------------------------------------------------------- run ids


def test_a_run_id_that_exists_is_refused_and_the_good_run_is_untouched(project, capsys):
    assert _main(project) == 0
    run_dir = project["reports"] / "r"
    before = {p.name: p.read_bytes() for p in (run_dir / "manifest.json", run_dir / "index.html")}
    engine = Engine(fail={("ALL", "01_first.ipynb")})
    assert _main(project, engine=engine) == 2
    err = capsys.readouterr().err
    assert f"run 'r' exists already ({run_dir})" in err and "--resume r" in err
    assert engine.calls == []
    assert {p.name: p.read_bytes() for p in (run_dir / "manifest.json",
                                             run_dir / "index.html")} == before


def test_two_runs_started_at_once_with_one_id_one_is_refused(tmp_path):
    reports = tmp_path / "reports"
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def claim():
        barrier.wait()
        try:
            _, lock = claim_run(reports, "same")
            outcomes.append("claimed")
        except UsageError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("claimed") == 1
    assert all("exists already" in o for o in outcomes if o != "claimed")


@pytest.mark.kernel
def test_a_second_batch_with_the_same_id_is_refused_while_the_first_runs(project):
    """Two processes: the first holds the run; a new run and a --resume of it are refused."""
    gate = project["root"] / "go"
    raw = yaml.safe_load(project["config"].read_text("utf-8"))
    raw["paths"]["data"] = str(PROJECT_ROOT / "data" / "sample")  # a real prep in the subprocess
    project["config"].write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    stub_notebook(project["notebooks"] / "01_first.ipynb", PARAMETERS,
                  "import time, pathlib\n"
                  f"while not pathlib.Path({str(gate)!r}).exists():\n    time.sleep(0.1)")
    args = [sys.executable, "-m", "helpers.run", "--config", str(project["config"]),
            "--regions", "ALL", "--notebooks", str(project["notebooks"]),
            "--reports", str(project["reports"]), "--engine", "papermill"]
    first = subprocess.Popen([*args, "--run-id", "busy"], cwd=project["root"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        manifest = project["reports"] / "busy" / "manifest.json"
        for _ in range(600):  # the first run has started its regions
            if manifest.exists() and _manifest(manifest.parent)["prep"]["status"] == "ok":
                break
            time.sleep(0.1)
        again = subprocess.run([*args, "--run-id", "busy"], cwd=project["root"],
                               capture_output=True, text=True)
        assert again.returncode == 2 and "exists already" in again.stderr
        resumed = subprocess.run([*args, "--resume", "busy"], cwd=project["root"],
                                 capture_output=True, text=True)
        assert resumed.returncode == 2
        assert f"being written by another batch (process {first.pid})" in resumed.stderr
    finally:
        gate.write_text("go")
        out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert _manifest(project["reports"] / "busy")["status"] == "ok"


def test_default_run_ids_never_collide(project, monkeypatch):
    moment = batch.utc_now().replace(year=2030, month=1, day=2, hour=3, minute=4, second=5)
    monkeypatch.setattr(batch, "utc_now", lambda: moment)
    assert _main(project, run_id="") == 0
    assert _main(project, run_id="") == 0
    assert sorted(p.name for p in project["reports"].iterdir()) == [
        "20300102-030405", "20300102-030405-2"]


def test_a_run_id_must_be_a_folder_name(project, capsys):
    assert _main(project, run_id="../elsewhere") == 2
    assert "--run-id must be a folder name" in capsys.readouterr().err
    assert not project["reports"].exists()


# ----------------------------------------------------------------------------- --resume


def test_resume_runs_again_only_what_did_not_finish(project, capsys):
    failing = Engine(fail={("华南", "02_second.ipynb")})
    assert _main(project, engine=failing) == 1
    run_dir = project["reports"] / "r"
    assert _statuses(run_dir) == {"all": "ok", "east-china": "ok", "south-china": "failed"}
    kept = {p: p.stat().st_mtime_ns for p in run_dir.glob("*/*.html")}

    fixed = Engine()
    assert _main(project, "--resume", "r", engine=fixed) == 0
    assert fixed.calls == [("华南", "02_second.ipynb"), ("华南", "03_third.ipynb")]
    manifest = _manifest(run_dir)
    assert manifest["status"] == "ok" and set(_statuses(run_dir).values()) == {"ok"}
    south = manifest["regions"][2]
    assert [n["attempt"] for n in south["notebooks"]] == [1, 2, 2]
    assert [a["status"] for a in manifest["attempts"]] == ["failed", "ok"]
    assert manifest["attempts"][1]["regions"] == ["south-china"]
    assert manifest["parameters"]["regions"] == REGIONS
    assert _summary(run_dir) == "3 of 3 regions ok"
    for path, mtime in kept.items():  # the reports of what finished were not written again
        if not path.parent.name == "south-china":
            assert path.stat().st_mtime_ns == mtime, path
    assert (run_dir / "south-china" / "03_third.html").exists()
    assert "resuming r: 1 region(s)" in capsys.readouterr().err


def test_resume_after_ctrl_c(project):
    assert _main(project, engine=Engine(interrupt=("华东", "02_second.ipynb"))) == 130
    engine = Engine()
    assert _main(project, "--resume", "r", engine=engine) == 0
    assert engine.calls == [("华东", "02_second.ipynb"), ("华东", "03_third.ipynb"),
                            ("华南", "01_first.ipynb"), ("华南", "02_second.ipynb"),
                            ("华南", "03_third.ipynb")]
    run_dir = project["reports"] / "r"
    assert set(_statuses(run_dir).values()) == {"ok"}
    assert _manifest(run_dir)["status"] == "ok"
    assert _summary(run_dir) == "3 of 3 regions ok"
    assert "--resume" not in (run_dir / "index.html").read_text("utf-8")


def test_resume_reuses_the_prep_and_rebuilds_a_damaged_one(tiny, project):
    real_prep = batch.run_prep
    project["config"] = tiny["path"]
    reports = Path(load_config(tiny["path"]).reports_dir)
    project["reports"] = reports
    assert _main(project, engine=Engine(fail={("ALL", "03_third.ipynb")}), prep=real_prep) == 1
    run_dir = reports / "r"
    assert _manifest(run_dir)["prep"]["action"] == "built"
    stamp = (run_dir / "prep" / "orders.parquet").stat().st_mtime_ns
    assert _main(project, "--resume", "r", engine=Engine(fail={("ALL", "03_third.ipynb")}),
                 prep=real_prep) == 1
    assert _manifest(run_dir)["prep"]["action"] == "reused"
    assert (run_dir / "prep" / "orders.parquet").stat().st_mtime_ns == stamp
    _truncate(run_dir / "prep" / "orders.parquet")
    assert _main(project, "--resume", "r", prep=real_prep) == 0
    prep = _manifest(run_dir)["prep"]
    assert prep["action"] == "rebuilt"
    assert str(run_dir / "prep" / "orders.parquet") in prep["reason"]
    assert [a["prep"] for a in _manifest(run_dir)["attempts"]] == ["built", "reused", "rebuilt"]
    load_prep(run_dir / "prep")


def test_resume_is_refused_when_an_input_changed(project, capsys):
    assert _main(project, engine=Engine(fail={("华南", "01_first.ipynb")})) == 1
    run_dir = project["reports"] / "r"
    before = (run_dir / "manifest.json").read_bytes()
    (project["data"] / "orders.csv").write_text("订单号,金额\n1,11\n", encoding="utf-8")
    engine = Engine()
    assert _main(project, "--resume", "r", engine=engine) == 2
    err = capsys.readouterr().err
    assert f"input changed: {project['data'] / 'orders.csv'}" in err
    assert "start a new run" in err
    assert engine.calls == [] and (run_dir / "manifest.json").read_bytes() == before


@pytest.mark.parametrize(("extra", "message"), [
    (["--lang", "zh"], "--lang differs from run 'r' (en)"),
    (["--regions", "ALL"], "--regions differs from run 'r'"),
    (["--run-id", "other"], "--run-id 'other' and --resume 'r' name different runs"),
])
def test_resume_keeps_the_runs_own_parameters(project, capsys, extra, message):
    assert _main(project, engine=Engine(fail={("ALL", "01_first.ipynb")})) == 1
    capsys.readouterr()
    assert _main(project, "--resume", "r", *extra, run_id="") == 2
    assert message in capsys.readouterr().err


def test_resume_of_an_unknown_or_complete_run(project, capsys):
    assert _main(project, "--resume", "nope", run_id="") == 2
    assert "manifest.json does not exist" in capsys.readouterr().err
    assert _main(project) == 0
    before = (project["reports"] / "r" / "manifest.json").read_bytes()
    engine = Engine()
    assert _main(project, "--resume", "r", run_id="", engine=engine) == 0
    assert "run 'r' finished ok: nothing to resume" in capsys.readouterr().err
    assert engine.calls == []
    assert (project["reports"] / "r" / "manifest.json").read_bytes() == before


def test_help_documents_resume(capsys):
    with pytest.raises(SystemExit):
        batch.main(["--help"])
    out = capsys.readouterr().out
    assert "--resume RUN_ID" in out and "did not finish ok" in out
    readme = (PROJECT_ROOT / "README.md").read_text("utf-8")
    assert "--resume" in readme


def test_a_large_prep_just_built_is_read_lazily_without_hashing_it_again(tmp_path, monkeypatch):
    # a notebook opened alone builds the prep on DuckDB: its lines stay in the file it has
    # just written and hashed (no second SHA-256 pass over a file of gigabytes); the next
    # opening, which reuses the prep, checks the files once as always
    from helpers.data import prepare as prepare_module
    from helpers.data.engine import ParquetTable

    config = load_config("")
    config.prep.engine = "duckdb"
    run = RunPaths.for_run(config, str(tmp_path / "run"))
    checked = []
    real = prepare_module.check_prep_files
    monkeypatch.setattr(prepare_module, "check_prep_files",
                        lambda folder, summary: (checked.append(folder), real(folder, summary)))
    built = ensure_prep(config, run)
    assert isinstance(built.orders, ParquetTable)
    assert built.orders.path == run.prep / "orders.parquet" and built.orders.path.exists()
    assert checked == []
    reused = ensure_prep(config, run)
    assert checked == [run.prep]
    assert isinstance(reused.orders, ParquetTable) and len(reused.orders) == len(built.orders)
    assert built.orders.columns == reused.orders.columns
    pd.testing.assert_frame_equal(built.orders.frame(), reused.orders.frame())
