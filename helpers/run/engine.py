"""Executing one notebook with parameters.

The batch talks to an engine through :class:`NotebookEngine` only, so that the
papermill engine of today can be swapped for a faster one (for example one warm
kernel per worker) without touching the batch or the reports.

An engine must be safe to call from several threads at once: the batch runs
regions in parallel, each region's notebooks in order.
"""

from __future__ import annotations

import atexit
import sys
import threading
import uuid
import weakref
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "NotebookEngine",
    "NotebookFailed",
    "PapermillEngine",
    "WarmKernelEngine",
    "ensure_kernel",
]

# Keep the kernel's own start-up chatter (ipykernel warns about unencrypted local
# TCP, SIGINT at shutdown) out of the batch's terminal.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]


class NotebookFailed(RuntimeError):
    """A notebook did not run to the end.

    Attributes
    ----------
    notebook : Path
        The source notebook.
    output : Path
        The executed notebook, written with the error in it.
    message : str
        ``ErrorName: error message`` of the failing cell (or of the engine).
    """

    def __init__(self, notebook: Path, output: Path, message: str):
        super().__init__(f"{Path(notebook).name}: {message}")
        self.notebook = Path(notebook)
        self.output = Path(output)
        self.message = message


@runtime_checkable
class NotebookEngine(Protocol):
    """Runs one notebook with parameters and writes the executed copy."""

    def execute(self, notebook: Path, output: Path, parameters: dict, cwd: Path) -> None:
        """Execute ``notebook`` with ``parameters`` in ``cwd``; write it to ``output``.

        Raises
        ------
        NotebookFailed
            When a cell raises (or the kernel dies, or a cell times out). The
            executed notebook is written to ``output`` with the error either way.
        """
        ...


def ensure_kernel(name: str = "python3") -> str:
    """Make sure the kernelspec ``name`` exists in this environment; return its folder.

    A fresh virtualenv may have ipykernel installed without a registered
    kernelspec, which makes papermill fail with ``NoSuchKernel``; the spec is then
    installed into ``sys.prefix`` (the environment itself, not the user's home).
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        return KernelSpecManager().get_kernel_spec(name).resource_dir
    except NoSuchKernel:
        from ipykernel.kernelspec import install

        return install(prefix=sys.prefix, kernel_name=name)


class PapermillEngine:
    """Execute notebooks with :func:`papermill.execute_notebook`, one kernel per notebook.

    Parameters
    ----------
    kernel_name : str
        The kernelspec to start (see :func:`ensure_kernel`).
    language : str
        Language of the parameters papermill injects; notebooks saved by jupytext
        without metadata do not say it themselves.
    timeout : float or None
        Seconds one cell may run before the notebook fails; None waits forever.
    start_timeout : float
        Seconds to wait for the kernel to start.
    """

    def __init__(
        self,
        kernel_name: str = "python3",
        timeout: float | None = 1800,
        start_timeout: float = 120,
        language: str = "python",
    ):
        self.kernel_name = kernel_name
        self.language = language
        self.timeout = timeout
        self.start_timeout = start_timeout
        self._running_lock = threading.Lock()
        self._running: dict[int, Any] = {}  # thread id -> kernel manager of its notebook

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(kernel_name={self.kernel_name!r}, "
                f"timeout={self.timeout!r})")

    def execute(self, notebook: Path, output: Path, parameters: dict, cwd: Path) -> None:
        try:
            self._papermill(notebook, output, parameters, cwd,
                            kernel_manager_class=self._kernel_manager_class())
        finally:
            with self._running_lock:
                self._running.pop(threading.get_ident(), None)

    def close(self) -> None:
        """Kill the kernels of the notebooks running now (the batch was interrupted).

        Their notebooks fail as with a dead kernel; idempotent, safe from any thread,
        and the engine stays usable.
        """
        with self._running_lock:
            managers, self._running = list(self._running.values()), {}
        for km in managers:
            _kill(km)

    def _kernel_manager_class(self) -> type:
        """nbclient's kernel manager, noting each started kernel so :meth:`close` finds it."""
        from jupyter_client.manager import AsyncKernelManager

        engine = self

        class _NotedKernelManager(AsyncKernelManager):
            async def _async_post_start_kernel(self, **kw: Any) -> None:
                await super()._async_post_start_kernel(**kw)
                with engine._running_lock:
                    engine._running[threading.get_ident()] = self

        return _NotedKernelManager

    def _papermill(self, notebook: Path, output: Path, parameters: dict, cwd: Path,
                   **engine_kwargs) -> None:
        """Run ``papermill.execute_notebook``; every failure becomes :class:`NotebookFailed`.

        ``engine_kwargs`` go to papermill (a papermill engine and what it needs).
        """
        import papermill
        from papermill.exceptions import PapermillExecutionError

        notebook, output, cwd = Path(notebook).resolve(), Path(output).resolve(), Path(cwd)
        output.parent.mkdir(parents=True, exist_ok=True)
        # papermill writes the notebook as it runs: into a hidden file beside the output,
        # which replaces the output at the end, so no half-written notebook is left.
        partial = output.with_name(f".{output.stem}.{uuid.uuid4().hex[:8]}.partial.ipynb")
        try:
            try:
                executed = papermill.execute_notebook(
                    # papermill fills "{name}" in paths with the parameters (str.format):
                    # braces in a run id or a region's folder are literal here.
                    _literal_path(notebook),
                    _literal_path(partial),
                    parameters=dict(parameters),
                    kernel_name=self.kernel_name,
                    language=self.language,
                    progress_bar=False,
                    log_output=False,
                    start_timeout=self.start_timeout,
                    execution_timeout=self.timeout,
                    # The kernel's working directory. papermill's own ``cwd=`` argument
                    # does os.chdir() in this process, which races when several
                    # threads run notebooks at once; nbclient starts the kernel in
                    # resources.metadata.path instead, leaving this process alone.
                    resources={"metadata": {"path": str(cwd.resolve())}},
                    extra_arguments=list(KERNEL_ARGUMENTS),
                    **engine_kwargs,
                )
            except PapermillExecutionError as exc:
                # papermill saved the notebook with the traceback and an error marker.
                message = f"{exc.ename}: {exc.evalue}" if exc.evalue else str(exc.ename)
                _publish(partial, output)
                raise NotebookFailed(notebook, output, message) from exc
            except Exception as exc:  # kernel died, cell timeout, unreadable notebook ...
                _fail(notebook, output, exc, partial)
            _publish(partial, output, executed)
        finally:
            partial.unlink(missing_ok=True)


def _literal_path(path: Path) -> str:
    """``path`` for papermill, which formats paths with the parameters: braces doubled."""
    return str(path).replace("{", "{{").replace("}", "}}")


def _publish(partial: Path, output: Path, nb: Any = None) -> None:
    """Put the executed notebook in place: ``partial`` replaces ``output`` in one step.

    papermill recorded ``partial`` as its output path; the notebook says ``output``.
    """
    import nbformat

    from helpers import files

    if nb is None:
        nb = nbformat.read(partial, as_version=4)
    if "papermill" in nb.metadata:
        nb.metadata.papermill["output_path"] = str(output)
    files.write_atomic(output, nbformat.writes(nb))


def _kill(km: Any) -> None:
    """Kill a kernel's process from any thread (its owner then sees a dead kernel)."""
    process = getattr(getattr(km, "provisioner", None), "process", None)
    if process is not None:
        try:
            process.kill()
        except Exception:
            pass


def _fail(notebook: Path, output: Path, exc: Exception, partial: Path | None = None) -> None:
    """Write ``output`` with the reason at the top and raise :class:`NotebookFailed`.

    The notebook as far as it ran (``partial``) is kept when there is one. When even
    that cannot be written (a full disk), the message says so.
    """
    from helpers.files import os_error_message

    message = f"{type(exc).__name__}: {exc}".strip()
    if isinstance(exc, OSError) and exc.errno and exc.filename in (None, str(partial)):
        # papermill could not save the notebook as it ran (a full disk): name the output
        message = os_error_message(OSError(exc.errno, exc.strerror, str(output)))
    try:
        _write_error_notebook(notebook, output, message, partial)
    except OSError as write_error:
        also = os_error_message(write_error)
        if also != message:
            message += f"; the executed notebook was not saved: {also}"
    raise NotebookFailed(notebook, output, message) from exc


# Run in the kernel before every notebook (cwd filled in): what a new kernel would
# give the notebook, minus the imports. The first run in a kernel records the clean
# environment and sys.path; later runs put them back. Everything it defines is gone
# after the reset at its end.
_RESET = """\
def __workbook_reset(cwd):
    import gc, os, sys, warnings
    shell = get_ipython()
    clean = getattr(shell, "_workbook_clean", None)
    if clean is None:
        clean = shell._workbook_clean = {"environ": dict(os.environ), "path": list(sys.path)}
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")
    if dict(os.environ) != clean["environ"]:
        os.environ.clear()
        os.environ.update(clean["environ"])
    sys.path[:] = clean["path"]
    # a warning an earlier notebook showed is shown again, as in a new kernel
    warnings.onceregistry.clear()
    getattr(warnings, "_filters_mutated", lambda: None)()
    os.chdir(cwd)
    # user namespace, Out and history; the execution count starts at 1 again
    shell.reset(new_session=True)
    gc.collect()
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
    parameters, metadata, cell timing, autosave, error markers.
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
            return client.execute()

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
    execution count back to 1. Imported modules and what they keep (caches,
    ``matplotlib.rcParams``, pandas options) stay.

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
        notebook, output, cwd = Path(notebook).resolve(), Path(output).resolve(), Path(cwd).resolve()
        failed = True
        self._local.holding = None
        try:
            try:
                kernel = self._ready_kernel(cwd)
            except Exception as exc:  # the kernel did not start
                _fail(notebook, output, exc)
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


def _write_error_notebook(notebook: Path, output: Path, message: str,
                          partial: Path | None = None) -> None:
    """Make sure ``output`` exists and says at the top why the run stopped."""
    import nbformat

    from helpers import files
    from helpers.text.markup import md_text  # a markdown cell: the message is shown as text

    try:
        source = partial if partial is not None and partial.exists() else (
            output if output.exists() else notebook)
        nb: Any = nbformat.read(source, as_version=4)
    except Exception:  # the source itself is unreadable
        nb = nbformat.v4.new_notebook()
    note = nbformat.v4.new_markdown_cell(
        '<span style="color:#b42318;font-size:1.4em">The notebook stopped: '
        f"<code>{md_text(message)}</code></span>"
    )
    note.metadata["tags"] = ["workbook-error"]
    nb.cells.insert(0, note)
    files.write_atomic(output, nbformat.writes(nb))
