"""The warm-kernel engine: one kernel per worker thread, reset between notebooks.

A thread's first notebook starts a kernel; its next notebooks run on the same
kernel (pandas, matplotlib, sklearn ... imported once), each after a reset that
gives it what a new kernel would: see :class:`WarmKernelEngine` and ``_RESET``.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from pathlib import Path
from typing import Any

from helpers.run.engine import KERNEL_ARGUMENTS, PapermillEngine, raise_failed

__all__ = ["WarmKernelEngine"]


# Run in the kernel before every notebook (cwd filled in): what a new kernel would
# give the notebook, minus the imports. The first run in a kernel (before any
# notebook) records the clean state: environment, sys.path, warning filters and
# matplotlib's rcParams (matplotlib is imported for that: every workbook notebook
# imports it anyway); later runs put them back. pandas options go back to their
# defaults (a new kernel has them: nothing in it sets any). The rcParams that belong
# to the session rather than to a figure's look (the backend, interactive mode, the
# toolbar) are kept, as matplotlib's own rc_file_defaults keeps them. Everything the
# reset defines is gone after the shell reset at its end.
_RESET = """\
def __workbook_reset(cwd):
    import copy, gc, os, sys, warnings
    shell = get_ipython()
    clean = getattr(shell, "_workbook_clean", None)
    if clean is None:
        try:
            import matplotlib
        except ImportError:
            rc = None
        else:  # copy(): reading rcParams["backend"] itself would pick a backend now
            rc = {key: value for key, value in matplotlib.rcParams.copy().items()
                  if key not in ("backend", "backend_fallback", "interactive", "toolbar")}
        clean = shell._workbook_clean = {"environ": dict(os.environ), "path": list(sys.path),
                                         "warnings": list(warnings.filters),
                                         "rc": copy.deepcopy(rc)}
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")
    with warnings.catch_warnings():  # deprecated options warn when set, even to their default
        warnings.simplefilter("ignore")
        pandas = sys.modules.get("pandas")
        if pandas is not None:
            pandas.reset_option("all")
        matplotlib = sys.modules.get("matplotlib")
        if matplotlib is not None and clean["rc"] is not None:
            matplotlib.rcParams.update(copy.deepcopy(clean["rc"]))
    if dict(os.environ) != clean["environ"]:
        os.environ.clear()
        os.environ.update(clean["environ"])
    sys.path[:] = clean["path"]
    warnings.filters[:] = clean["warnings"]
    # a warning an earlier notebook showed is shown again, as in a new kernel
    warnings.onceregistry.clear()
    getattr(warnings, "_filters_mutated", lambda: None)()
    os.chdir(cwd)
    # user namespace, Out and history; the execution count starts at 1 again. One full
    # collection, after the namespace is gone: IPython's reset collects too, but while
    # the notebook's objects are still referenced (from its Out cache flush), so that one
    # is skipped. What survives it (modules, their caches: about 500,000 objects with
    # pandas, sklearn ... loaded) is then frozen: left out of every later collection,
    # this one's and the automatic ones' during the next notebook, which would walk them
    # all (0.2-0.3 s each) to free nothing. A collection walks only what came after.
    collect = gc.collect
    gc.collect = lambda *args, **kwargs: 0
    try:
        shell.reset(new_session=True)
    finally:
        gc.collect = collect
    gc.collect()
    gc.freeze()
__workbook_reset(%r)
"""

# The name WarmKernelEngine registers its papermill engine under.
_PAPERMILL_ENGINE = "workbook-warm-kernel"
_register_lock = threading.Lock()
_registered = False


def _register_papermill_engine() -> str:
    """Register (once) a papermill engine that runs on a kernel it is handed.

    It is papermill's own nbclient engine (``NBClientEngine``) except that the
    :class:`papermill.clientwrap.PapermillNotebookClient` gets the kernel manager
    and client of a :class:`_WarmKernel`; nbclient then neither starts nor shuts
    down a kernel (it does not own the manager), and papermill does the rest:
    parameters, metadata, cell timing, error markers. The notebook is saved when it
    starts and when it ends (also after a failure), not after every cell.
    """
    global _registered
    with _register_lock:
        if not _registered:
            _define_papermill_engine()
            _registered = True
    return _PAPERMILL_ENGINE


def _define_papermill_engine() -> None:
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger
    from papermill.utils import merge_kwargs, remove_args

    class WarmNBClientEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False,
                                     stdout_file=None, stderr_file=None, start_timeout=60,
                                     execution_timeout=None, warm_kernel=None, **kwargs):
            if warm_kernel is None or warm_kernel.kc is None:
                raise RuntimeError("the warm-kernel engine needs a started kernel")
            kwargs = remove_args(["input_path"], **kwargs)
            safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
            final_kwargs = merge_kwargs(
                safe_kwargs,
                timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logger,
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
            )
            client = PapermillNotebookClient(nb_man, km=warm_kernel.km, **final_kwargs)
            client.kc = warm_kernel.kc
            # papermill saves the whole notebook (validated, with every output so far)
            # when each cell starts and ends: about 0.25 s a notebook, for a hidden file
            # nobody reads while it runs. Its final save, after the last cell or the
            # failure (papermill's notebook_complete, also when the kernel died or a cell
            # timed out), still writes the notebook as far as it ran.
            nb_man.save = lambda **kwargs: None
            try:
                return client.execute()
            finally:
                del nb_man.save

    papermill_engines.register(_PAPERMILL_ENGINE, WarmNBClientEngine)


class _WarmKernel:
    """One running kernel, its manager and client, used by one thread.

    Only the owner thread touches the client (its zmq sockets belong to that
    thread's event loop). The owner holds ``in_use`` while it resets the kernel
    and runs a notebook; another thread (``close()``) that finds it held only
    kills the process, which the owner then sees as a dead kernel.
    """

    def __init__(self, km: Any, owner: threading.Thread):
        self.km = km
        self.kc: Any = None
        self.owner = owner
        self.closed = False
        self.in_use = threading.Lock()
        self._state = threading.Lock()

    def alive(self) -> bool:
        """True while the kernel process runs and the client is connected."""
        from jupyter_core.utils import run_sync

        if self.closed or self.kc is None:
            return False
        try:
            return bool(run_sync(self.km.is_alive)())
        except Exception:
            return False

    def reset(self, cwd: Path, timeout: float) -> None:
        """Clear the user namespace and go to ``cwd`` (raises if the kernel does not answer)."""
        from jupyter_core.utils import run_sync

        reply = run_sync(self.kc.execute_interactive)(
            _RESET % str(cwd), silent=True, store_history=False, allow_stdin=False,
            timeout=timeout, output_hook=lambda msg: None,
        )
        content = reply["content"]
        if content.get("status") != "ok":
            raise RuntimeError(f"kernel reset failed: {content.get('ename')}: "
                               f"{content.get('evalue')}")

    def stop_channels(self) -> None:
        """Close the client's sockets (owner thread); never raises."""
        kc, self.kc = self.kc, None
        if kc is not None:
            try:
                kc.stop_channels()
            except Exception:
                pass

    def shutdown(self, now: bool = False, channels: bool = True) -> None:
        """Stop the kernel process (once); never raises.

        ``now`` kills instead of asking the kernel to exit; ``channels=False``
        leaves the client's sockets to the owner thread.
        """
        from jupyter_core.utils import run_sync

        if channels:
            self.stop_channels()
        with self._state:
            if self.closed:
                return
            self.closed = True
        try:
            run_sync(self.km.shutdown_kernel)(now=now)
            return
        except Exception:
            pass
        try:  # the polite way failed: kill the process and forget it
            run_sync(self.km.shutdown_kernel)(now=True)
        except Exception:
            process = getattr(getattr(self.km, "provisioner", None), "process", None)
            if process is not None:
                try:
                    process.kill()
                    process.wait(5)
                except Exception:
                    pass


def _close_engine(ref: weakref.ref[WarmKernelEngine]) -> None:
    engine = ref()
    if engine is not None:
        engine.close()


class WarmKernelEngine(PapermillEngine):
    """Execute notebooks on one kernel per worker thread, kept warm between notebooks.

    A thread's first notebook starts a kernel (as papermill would: same kernelspec,
    start-up timeout, arguments and working directory); the following notebooks of
    that thread run on the same kernel, so pandas, matplotlib, sklearn ... are
    imported once. Before each notebook the kernel is reset: figures closed,
    environment and ``sys.path`` put back, working directory set to ``cwd``, the
    user namespace, ``Out`` and history cleared (``InteractiveShell.reset``), the
    execution count back to 1, warning filters put back, pandas options back to
    their defaults and ``matplotlib.rcParams`` back to what they were when the kernel
    started (the backend stays), then one full garbage collection, after which what is
    left is frozen (:func:`gc.freeze`: later collections skip it). Imported modules and
    their caches (fonts registered with matplotlib, for example) stay.

    Execution, parameters and the executed notebook are papermill's
    (:func:`papermill.execute_notebook` with a papermill engine that runs on the
    warm kernel), so outputs carry the ``injected-parameters`` cell,
    ``metadata.papermill`` and papermill's error marker, as with
    :class:`PapermillEngine`.

    After a failing notebook (a cell raised, timed out, or the kernel died) the
    thread's kernel is shut down; its next notebook starts a new one. Call
    :meth:`close` when done (also run at interpreter exit) to shut every kernel down.
    """

    def __init__(self, *args, **kwargs):  # the settings of PapermillEngine
        super().__init__(*args, **kwargs)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._kernels: list[_WarmKernel] = []
        atexit.register(_close_engine, weakref.ref(self))

    def kernel_pids(self) -> list[int]:
        """Process ids of the kernels running now (for tests and diagnostics)."""
        with self._lock:
            kernels = [k for k in self._kernels if not k.closed]
        pids = []
        for kernel in kernels:
            process = getattr(getattr(kernel.km, "provisioner", None), "process", None)
            if process is not None and process.poll() is None:
                pids.append(process.pid)
        return pids

    def execute(self, notebook: Path, output: Path, parameters: dict, cwd: Path) -> None:
        """Run ``notebook`` on this thread's kernel (reset first, started when none).

        As :meth:`PapermillEngine.execute`; after a failure the kernel is shut down.
        """
        notebook, output, cwd = Path(notebook).resolve(), Path(output).resolve(), Path(cwd).resolve()
        failed = True
        self._local.holding = None
        try:
            try:
                kernel = self._ready_kernel(cwd)
            except Exception as exc:  # the kernel did not start
                raise_failed(notebook, output, exc)
            self._papermill(notebook, output, parameters, cwd,
                            engine_name=_register_papermill_engine(), warm_kernel=kernel)
            failed = False
        finally:
            if failed:  # whatever the kernel holds now, the next notebook gets a new one
                self._drop_current()
            self._release()

    def close(self) -> None:
        """Shut down every kernel this engine started (idempotent; safe from any thread).

        Idle kernels are asked to exit; a kernel running a notebook in another
        thread (the batch was interrupted) is killed, and that notebook fails.
        The engine stays usable: a later notebook starts a new kernel.
        """
        with self._lock:
            kernels, self._kernels = self._kernels, []
        for kernel in kernels:
            if kernel.owner is threading.current_thread():
                kernel.shutdown()
            elif kernel.in_use.acquire(blocking=False):
                try:
                    kernel.shutdown()
                finally:
                    kernel.in_use.release()
            else:
                kernel.shutdown(now=True, channels=False)

    # -- kernels ---------------------------------------------------------------------

    def _ready_kernel(self, cwd: Path) -> _WarmKernel:
        """This thread's kernel, reset for a new notebook in ``cwd`` (started if need be)."""
        kernel: _WarmKernel | None = getattr(self._local, "kernel", None)
        if kernel is not None:
            self._hold(kernel)
            if kernel.alive():
                try:
                    kernel.reset(cwd, self.start_timeout)
                    return kernel
                except Exception:
                    pass
            self._drop_current()
            self._release()
        self._reap()
        kernel = self._start(cwd)
        kernel.reset(cwd, self.start_timeout)
        return kernel

    def _hold(self, kernel: _WarmKernel) -> None:
        kernel.in_use.acquire()
        self._local.holding = kernel

    def _release(self) -> None:
        kernel = getattr(self._local, "holding", None)
        self._local.holding = None
        if kernel is not None:
            kernel.in_use.release()

    def _start(self, cwd: Path) -> _WarmKernel:
        """Start a kernel with nbclient, as papermill's engine would, in ``cwd``."""
        import nbformat
        from jupyter_client.manager import AsyncKernelManager
        from nbclient import NotebookClient

        kernel = _WarmKernel(AsyncKernelManager(kernel_name=self.kernel_name),
                             threading.current_thread())
        self._hold(kernel)
        with self._lock:
            self._kernels.append(kernel)
        self._local.kernel = kernel
        client = NotebookClient(
            nbformat.v4.new_notebook(),
            km=kernel.km,
            kernel_name=self.kernel_name,
            startup_timeout=self.start_timeout,
            extra_arguments=list(KERNEL_ARGUMENTS),
            resources={"metadata": {"path": str(cwd)}},
        )
        client.start_new_kernel()
        client.start_new_kernel_client()  # waits until the kernel answers
        kernel.kc = client.kc
        return kernel

    def _drop_current(self) -> None:
        """Shut down this thread's kernel (killed: it may be busy or dead)."""
        kernel = getattr(self._local, "kernel", None)
        self._local.kernel = None
        if kernel is None:
            return
        with self._lock:
            if kernel in self._kernels:
                self._kernels.remove(kernel)
        kernel.shutdown(now=True)

    def _reap(self) -> None:
        """Shut down the kernels of threads that have ended."""
        with self._lock:
            gone = [k for k in self._kernels if not k.owner.is_alive()]
            self._kernels = [k for k in self._kernels if k not in gone]
        for kernel in gone:
            kernel.shutdown()
