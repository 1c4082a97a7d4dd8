"""The notebook engines on hand-made tiny notebooks: WarmKernelEngine against PapermillEngine."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import nbformat
import pytest
from stubs import stub_batch, stub_notebook

from helpers.run import batch
from helpers.run.engine import NotebookFailed, PapermillEngine, ensure_kernel
from helpers.run.warm_kernel import WarmKernelEngine

# Every test here starts real kernels (the engines' whole job).
pytestmark = pytest.mark.kernel

PARAMETERS = 'region: str = "ALL"\nlang: str = "en"'


def _notebook(path: Path, *cells: str) -> Path:
    return stub_notebook(path, PARAMETERS, *cells, title="# tiny")


def _stdout(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                   for out in cell.get("outputs", []) if out.get("name") == "stdout")


def _kernel_children() -> list[int]:
    """Kernel processes started by this test process that are still running."""
    ps = subprocess.run(["ps", "-o", "pid=,stat=,args=", "--ppid", str(os.getpid())],
                        capture_output=True, text=True, check=False).stdout
    pids = []
    for line in ps.splitlines():
        pid, stat, args = line.split(None, 2)
        if "ipykernel" in args and not stat.startswith("Z"):
            pids.append(int(pid))
    return pids


def _running(pid: int) -> bool:
    ps = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True,
                        check=False).stdout.strip()
    return bool(ps) and not ps.startswith("Z")


@pytest.fixture(scope="module", autouse=True)
def _kernelspec():
    ensure_kernel("python3")


@pytest.fixture
def engine():
    engine = WarmKernelEngine(timeout=60)
    yield engine
    engine.close()


@pytest.fixture
def tiny(tmp_path) -> dict[str, Path]:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    return {
        "show": _notebook(folder / "01_show.ipynb",
                          "import os\nprint('region', region, 'lang', lang)\nprint('cwd', os.getcwd())"),
        "set": _notebook(folder / "02_set.ipynb",
                         "leaked_secret = 42\nimport os\nos.environ['WORKBOOK_LEAK'] = '1'\n"
                         "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
                         "plt.figure()\nprint('pid', os.getpid())"),
        "look": _notebook(folder / "03_look.ipynb",
                          "import os\nprint('leaked' if 'leaked_secret' in globals() else 'clean')\n"
                          "print('env', os.environ.get('WORKBOOK_LEAK'))\n"
                          "import matplotlib.pyplot as plt\nprint('figures', len(plt.get_fignums()))\n"
                          "print('pid', os.getpid())"),
        "fail": _notebook(folder / "04_fail.ipynb", "x = 1",
                          "raise ValueError('planted <b>failure</b>')", "print('never')"),
        "sleep": _notebook(folder / "05_sleep.ipynb", "import time\ntime.sleep(600)"),
        "die": _notebook(folder / "06_die.ipynb", "import os\nos._exit(3)"),
        "slow": _notebook(folder / "07_slow.ipynb",
                          "import time\nfor i in range(5):\n    print(region, i)\n"
                          "    time.sleep(0.1)"),
    }


def test_parameters_are_injected_and_visible(engine, tiny, tmp_path):
    out = tmp_path / "out" / "show.ipynb"
    engine.execute(tiny["show"], out, {"region": "华东", "lang": "zh"}, tmp_path)
    assert "region 华东 lang zh" in _stdout(out)
    nb = nbformat.read(out, as_version=4)
    tags = [cell.metadata.get("tags", []) for cell in nb.cells]
    assert ["parameters"] in tags
    injected = next(i for i, t in enumerate(tags) if "injected-parameters" in t)
    assert tags[injected - 1] == ["parameters"]  # right after the defaults, as papermill puts it
    values: dict = {}
    exec(nb.cells[injected].source, values)
    assert values["region"] == "华东" and values["lang"] == "zh"
    assert nb.metadata.papermill.parameters == {"region": "华东", "lang": "zh"}
    assert nb.metadata.papermill.input_path == str(tiny["show"].resolve())
    assert nb.metadata.papermill.output_path == str(out.resolve())
    assert not nb.metadata.papermill.get("exception")
    assert nb.metadata.language_info.name == "python"


@pytest.mark.parametrize("kind", ["warm", "papermill"])
def test_braces_in_a_path_are_literal(kind, tiny, tmp_path):
    """papermill formats paths with the parameters (str.format); a run id or region
    folder holding braces must neither be filled in nor fail."""
    engine = batch.ENGINES[kind](timeout=60)
    try:
        out = tmp_path / "run {region} {{lang}} {0} {x" / "show {lang}.ipynb"
        engine.execute(tiny["show"], out, {"region": "华东", "lang": "zh"}, tmp_path)
    finally:
        if hasattr(engine, "close"):
            engine.close()
    assert out.exists() and "region 华东" in _stdout(out)
    assert [p.name for p in (tmp_path).iterdir() if p.name.startswith("run")] == [
        "run {region} {{lang}} {0} {x"]


def test_kernel_runs_in_cwd_without_moving_this_process(engine, tiny, tmp_path):
    here = os.getcwd()
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    engine.execute(tiny["show"], tmp_path / "out" / "1.ipynb", {}, first)
    engine.execute(tiny["show"], tmp_path / "out" / "2.ipynb", {}, second)
    assert f"cwd {first}" in _stdout(tmp_path / "out" / "1.ipynb")
    assert f"cwd {second}" in _stdout(tmp_path / "out" / "2.ipynb")
    assert os.getcwd() == here


def test_nothing_leaks_into_the_next_notebook_on_the_same_kernel(engine, tiny, tmp_path):
    engine.execute(tiny["set"], tmp_path / "out" / "set.ipynb", {}, tmp_path)
    engine.execute(tiny["look"], tmp_path / "out" / "look.ipynb", {}, tmp_path)
    first, second = _stdout(tmp_path / "out" / "set.ipynb"), _stdout(tmp_path / "out" / "look.ipynb")
    # the same kernel process ran both (that is the point) ...
    assert first.split("pid")[1].split()[0] == second.split("pid")[1].split()[0]
    # ... yet the second saw none of the first's variables, environment or figures
    assert "clean" in second and "leaked" not in second
    assert "env None" in second
    assert "figures 0" in second
    # and its cells are numbered from 1, as in a new kernel
    nb = nbformat.read(tmp_path / "out" / "look.ipynb", as_version=4)
    counts = [cell.execution_count for cell in nb.cells if cell.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1))



def test_the_reset_collects_once_after_the_namespace_is_gone(engine, tmp_path):
    """Between notebooks the kernel runs one full garbage collection (IPython's reset
    would run a second one, before the namespace is cleared), and it comes after the
    notebook's variables are dropped: an object kept alive only by a reference cycle
    from the first notebook is gone when the second starts."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    first = _notebook(folder / "01_cycle.ipynb",
                      "import gc, sys\n"
                      "sys.workbook_collections = []\n"
                      "def _count(phase, info, sys=sys):  # the namespace is cleared\n"
                      "    if phase == 'start' and info['generation'] == 2:\n"
                      "        sys.workbook_collections.append(1)\n"
                      "gc.callbacks.append(_count)\n"
                      "class Node:\n"
                      "    def __del__(self, sys=sys):\n"
                      "        sys.workbook_freed = True\n"
                      "node = Node()\nnode.me = node  # a cycle: only a collection frees it\n"
                      "sys.workbook_freed = False\n"
                      "gc.disable()  # no automatic collection between the notebooks")
    second = _notebook(folder / "02_count.ipynb",
                       "import gc, sys\ngc.enable()\n"
                       "print('collections', len(sys.workbook_collections))\n"
                       "print('freed', sys.workbook_freed)\n"
                       "gc.callbacks.clear()")
    engine.execute(first, tmp_path / "out" / "1.ipynb", {}, tmp_path)
    engine.execute(second, tmp_path / "out" / "2.ipynb", {}, tmp_path)
    shown = _stdout(tmp_path / "out" / "2.ipynb")
    assert "collections 1" in shown
    assert "freed True" in shown


def test_the_reset_freezes_what_is_left_out_of_later_collections(engine, tmp_path):
    """What outlives a notebook's namespace (modules and their caches) is frozen by the
    reset (:func:`gc.freeze`): the next notebook's collections do not walk it again. What
    a later notebook makes is not frozen: a cycle it leaves is still freed by the next
    reset's collection."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    first = _notebook(folder / "01_import.ipynb",
                      "import gc, sys\nimport pandas\n"
                      "sys.workbook_kept = [[i] for i in range(50_000)]  # kept, tracked by gc\n"
                      "print('frozen', gc.get_freeze_count())")
    second = _notebook(folder / "02_cycle.ipynb",
                       "import gc, sys\n"
                       "print('frozen', gc.get_freeze_count())\n"
                       "class Node:\n"
                       "    def __del__(self, sys=sys):\n"
                       "        sys.workbook_freed = True\n"
                       "node = Node()\nnode.me = node  # a cycle: only a collection frees it\n"
                       "sys.workbook_freed = False")
    third = _notebook(folder / "03_look.ipynb", "import sys\nprint('freed', sys.workbook_freed)")
    for notebook in (first, second, third):
        engine.execute(notebook, tmp_path / "out" / notebook.name, {}, tmp_path)
    before = int(_stdout(tmp_path / "out" / first.name).split("frozen")[1].split()[0])
    after = int(_stdout(tmp_path / "out" / second.name).split("frozen")[1].split()[0])
    assert after > before + 50_000  # pandas and the kept objects, frozen by the reset
    assert "freed True" in _stdout(tmp_path / "out" / third.name)


_STYLE_SET = (
    "import warnings\nimport matplotlib\nimport pandas as pd\n"
    "pd.set_option('display.max_rows', 7)\n"
    "pd.set_option('display.float_format', '{:.1f}'.format)\n"
    "matplotlib.rcParams['axes.grid'] = True\n"
    "matplotlib.rcParams['figure.figsize'] = (3.0, 2.0)\n"
    "matplotlib.rcParams['font.sans-serif'].insert(0, 'Planted Sans')  # changed in place\n"
    "warnings.simplefilter('error')\nimport os\nprint('pid', os.getpid())"
)
_STYLE_LOOK = (
    "import json, warnings\nimport matplotlib\nimport pandas as pd\n"
    "print('style', json.dumps({'max_rows': pd.get_option('display.max_rows'),\n"
    "    'float_format': repr(pd.get_option('display.float_format')),\n"
    "    'grid': matplotlib.rcParams['axes.grid'],\n"
    "    'figsize': list(matplotlib.rcParams['figure.figsize']),\n"
    "    'sans': matplotlib.rcParams['font.sans-serif'][:3],\n"
    "    'warnings_error': any(f[0] == 'error' and f[2] is Warning for f in warnings.filters)}))\n"
    "import os\nprint('pid', os.getpid())"
)


def _style(path: Path) -> dict:
    import json

    line = next(line for line in _stdout(path).splitlines() if line.startswith("style "))
    return json.loads(line[len("style "):])


def test_options_and_rcparams_a_notebook_sets_do_not_reach_the_next(engine, tiny, tmp_path):
    """pandas options, matplotlib rcParams (also a list changed in place) and warning
    filters set by one notebook are back to a new kernel's for the next notebook."""
    folder = tiny["show"].parent
    style_set = _notebook(folder / "08_style_set.ipynb", _STYLE_SET)
    style_look = _notebook(folder / "09_style_look.ipynb", _STYLE_LOOK)
    fresh = PapermillEngine(timeout=60)  # a new kernel for the notebook: the reference
    fresh.execute(style_look, tmp_path / "out" / "fresh.ipynb", {}, tmp_path)
    expected = _style(tmp_path / "out" / "fresh.ipynb")
    assert expected["max_rows"] != 7 and not expected["grid"]  # the test can tell
    assert "Planted Sans" not in expected["sans"] and not expected["warnings_error"]

    engine.execute(style_set, tmp_path / "out" / "set.ipynb", {}, tmp_path)
    engine.execute(style_look, tmp_path / "out" / "look.ipynb", {}, tmp_path)
    assert _style(tmp_path / "out" / "look.ipynb") == expected
    # on the same kernel: the first notebook's settings were there to undo
    pids = [_stdout(tmp_path / "out" / name).split("pid")[1].split()[0]
            for name in ("set.ipynb", "look.ipynb")]
    assert pids[0] == pids[1]


def test_a_failing_notebook_raises_and_the_next_one_runs(engine, tiny, tmp_path):
    engine.execute(tiny["set"], tmp_path / "out" / "before.ipynb", {}, tmp_path)
    before = engine.kernel_pids()
    out = tmp_path / "out" / "fail.ipynb"
    with pytest.raises(NotebookFailed) as failed:
        engine.execute(tiny["fail"], out, {"region": "华南"}, tmp_path)
    assert failed.value.message == "ValueError: planted <b>failure</b>"
    assert failed.value.output == out.resolve()
    assert "04_fail.ipynb" in str(failed.value)
    # the output is papermill's: error marker at the top, the traceback in the cell
    nb = nbformat.read(out, as_version=4)
    assert "papermill-error-cell-tag" in nb.cells[0].metadata.get("tags", [])
    assert nb.metadata.papermill.exception is True
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.output_type == "error"]
    assert errors and errors[0].ename == "ValueError"
    assert "never" not in _stdout(out)
    # the kernel that failed is gone; the next notebook gets a new, clean one
    assert not engine.kernel_pids()
    engine.execute(tiny["look"], tmp_path / "out" / "after.ipynb", {}, tmp_path)
    assert "clean" in _stdout(tmp_path / "out" / "after.ipynb")
    assert engine.kernel_pids() and engine.kernel_pids() != before
    assert not any(_running(pid) for pid in before)


def test_a_cell_timeout_fails_the_notebook_and_restarts_the_kernel(tiny, tmp_path):
    engine = WarmKernelEngine(timeout=2)
    try:
        engine.execute(tiny["show"], tmp_path / "out" / "show.ipynb", {}, tmp_path)
        (busy,) = engine.kernel_pids()
        out = tmp_path / "out" / "sleep.ipynb"
        with pytest.raises(NotebookFailed) as failed:
            engine.execute(tiny["sleep"], out, {}, tmp_path)
        assert "CellTimeoutError" in failed.value.message
        assert "The notebook stopped" in out.read_text("utf-8")
        assert not _running(busy)
        engine.execute(tiny["show"], tmp_path / "out" / "again.ipynb", {"region": "X"}, tmp_path)
        assert "region X" in _stdout(tmp_path / "out" / "again.ipynb")
    finally:
        engine.close()


@pytest.mark.parametrize("kind", [PapermillEngine, WarmKernelEngine])
def test_a_kernel_that_cannot_start_fails_the_notebook_with_a_message(kind, tiny, tmp_path):
    engine = kind(kernel_name="no-such-kernel", timeout=30)
    out = tmp_path / "out" / "show.ipynb"
    try:
        with pytest.raises(NotebookFailed) as failed:
            engine.execute(tiny["show"], out, {}, tmp_path)
    finally:
        getattr(engine, "close", lambda: None)()
    assert "NoSuchKernel" in failed.value.message and "no-such-kernel" in failed.value.message
    assert "The notebook stopped" in out.read_text("utf-8")


def test_the_notebook_is_saved_when_it_starts_and_ends_not_after_every_cell(
        engine, tiny, tmp_path, monkeypatch):
    """papermill would write the whole notebook to its hidden output when each cell starts
    and ends; the warm engine's papermill engine saves it at the start and at the end
    (papermill's final write, then the published output), whatever the number of cells."""
    import papermill.engines
    import papermill.execute

    writes = []
    for module in (papermill.engines, papermill.execute):
        real = module.write_ipynb
        monkeypatch.setattr(module, "write_ipynb",
                            lambda nb, path, real=real, **kw: writes.append(path) or real(nb, path, **kw))
    cells = [f"print('cell', {i})" for i in range(8)]
    notebook = _notebook(tmp_path / "many.ipynb", *cells)
    out = tmp_path / "out" / "many.ipynb"
    engine.execute(notebook, out, {}, tmp_path)
    assert all(f"cell {i}" in _stdout(out) for i in range(8))
    assert len(writes) == 3  # start, notebook_complete, papermill's final write (not 2 x 10 more)


def test_a_failed_notebook_keeps_the_outputs_before_its_failure(tmp_path):
    """Saved only at the end, a notebook whose cell timed out still holds the outputs of
    the cells before it."""
    notebook = _notebook(tmp_path / "late.ipynb", "print('before the wait')",
                         "import time\ntime.sleep(600)")
    engine = WarmKernelEngine(timeout=2)
    out = tmp_path / "out" / "late.ipynb"
    try:
        with pytest.raises(NotebookFailed):
            engine.execute(notebook, out, {}, tmp_path)
    finally:
        engine.close()
    assert "The notebook stopped" in out.read_text("utf-8")
    assert "before the wait" in _stdout(out)


def test_a_dead_kernel_fails_the_notebook_and_the_next_one_runs(engine, tiny, tmp_path):
    out = tmp_path / "out" / "die.ipynb"
    with pytest.raises(NotebookFailed) as failed:
        engine.execute(tiny["die"], out, {}, tmp_path)
    assert "DeadKernelError" in failed.value.message
    assert out.exists()
    engine.execute(tiny["show"], tmp_path / "out" / "show.ipynb", {"region": "Y"}, tmp_path)
    assert "region Y" in _stdout(tmp_path / "out" / "show.ipynb")


def test_output_looks_like_papermills(engine, tiny, tmp_path):
    warm, cold = tmp_path / "warm.ipynb", tmp_path / "cold.ipynb"
    engine.execute(tiny["set"], tmp_path / "first.ipynb", {}, tmp_path)  # the kernel is warm
    for eng, out in ((engine, warm), (PapermillEngine(timeout=60), cold)):
        with pytest.raises(NotebookFailed):
            eng.execute(tiny["fail"], out, {"region": "Z"}, tmp_path)
    a, b = nbformat.read(warm, as_version=4), nbformat.read(cold, as_version=4)
    assert set(a.metadata.papermill) == set(b.metadata.papermill)
    assert a.metadata.papermill.parameters == b.metadata.papermill.parameters
    assert [c.metadata.get("tags") for c in a.cells] == [c.metadata.get("tags") for c in b.cells]
    assert [c.source for c in a.cells] == [c.source for c in b.cells]
    assert [c.get("execution_count") for c in a.cells] == [c.get("execution_count") for c in b.cells]
    assert [set(c.metadata.get("papermill", {})) for c in a.cells] == \
        [set(c.metadata.get("papermill", {})) for c in b.cells]


def test_close_leaves_no_kernel_running(tiny, tmp_path):
    engine = WarmKernelEngine(timeout=60)
    done = []

    def worker(name):
        engine.execute(tiny["show"], tmp_path / f"{name}.ipynb", {"region": name}, tmp_path)
        done.append(name)

    threads = [threading.Thread(target=worker, args=(f"t{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(done) == ["t0", "t1"]
    pids = engine.kernel_pids()
    assert len(pids) == 2 and all(_running(pid) for pid in pids)
    engine.close()
    engine.close()  # idempotent
    assert engine.kernel_pids() == []
    assert not any(_running(pid) for pid in pids)
    assert _kernel_children() == []


def test_close_during_a_notebook_kills_its_kernel_and_fails_it(tiny, tmp_path):
    """As when the batch is interrupted: close() from the main thread, a worker mid-cell."""
    engine = WarmKernelEngine(timeout=600)
    started = tmp_path / "started"
    busy = _notebook(tmp_path / "busy.ipynb",
                     f"from pathlib import Path\nPath({str(started)!r}).write_text('x')",
                     "import time\ntime.sleep(600)")
    result: list = []

    def worker():
        try:
            engine.execute(busy, tmp_path / "out" / "busy.ipynb", {}, tmp_path)
            result.append("finished")
        except NotebookFailed as exc:
            result.append(exc.message)

    thread = threading.Thread(target=worker)
    thread.start()
    while not started.exists() and thread.is_alive():
        thread.join(0.1)
    pids = engine.kernel_pids()
    assert pids and started.exists()
    engine.close()
    thread.join()
    assert len(result) == 1 and "DeadKernelError" in result[0]
    assert (tmp_path / "out" / "busy.ipynb").exists()
    assert not any(_running(pid) for pid in pids)
    assert engine.kernel_pids() == [] and _kernel_children() == []


def test_two_threads_at_once_keep_their_outputs_apart(engine, tiny, tmp_path):
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker(region):
        try:
            barrier.wait()
            for i in range(3):
                out = tmp_path / region / f"{i}.ipynb"
                engine.execute(tiny["slow"], out, {"region": region}, tmp_path)
                engine.execute(tiny["look"], tmp_path / region / f"look{i}.ipynb", {}, tmp_path)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(r,)) for r in ("east", "west")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for region, other in (("east", "west"), ("west", "east")):
        pids = set()
        for i in range(3):
            text = _stdout(tmp_path / region / f"{i}.ipynb")
            assert text == "".join(f"{region} {k}\n" for k in range(5))
            assert other not in text
            look = _stdout(tmp_path / region / f"look{i}.ipynb")
            assert "clean" in look
            pids.add(look.split("pid")[1].split()[0])
        assert len(pids) == 1  # one warm kernel per thread
    assert len(engine.kernel_pids()) == 2


# --------------------------------------------------------------------------- the batch



@pytest.mark.parametrize("name", ["warm", "papermill"])
def test_batch_runs_with_either_engine_and_leaves_no_kernel(name, tmp_path, monkeypatch):
    write = ("from pathlib import Path\nfrom helpers.config import load_config\n"
             "from helpers.geo.scope import Scope\nscope = Scope.parse(region, load_config(config))\n"
             "(Path(run_dir) / scope.slug).mkdir(parents=True, exist_ok=True)\n"
             "print('ran', scope.slug, 'leaked' if 'carry' in globals() else 'clean')\ncarry = 1")
    notebooks, config = stub_batch(tmp_path, write)
    monkeypatch.setattr(batch, "run_prep",
                        lambda config, run, inputs: run.prep.mkdir(parents=True, exist_ok=True))
    code = batch.main(["--config", str(config), "--regions", "华东,华南", "--jobs", "2",
                       "--engine", name, "--run-id", "r", "--notebooks", str(notebooks),
                       "--reports", str(tmp_path / "reports")])
    assert code == 0
    run = tmp_path / "reports" / "r"
    for slug in ("all", "east-china", "south-china"):
        for step in ("01_step", "02_step"):
            assert f"ran {slug} clean" in _stdout(run / slug / f"{step}.ipynb")
            assert (run / slug / f"{step}.html").exists()
    assert _kernel_children() == []
