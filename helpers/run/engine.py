"""Executing one notebook with parameters.

The batch talks to an engine through :class:`NotebookEngine` only, so that the
papermill engine of today can be swapped for a faster one (for example one warm
kernel per worker) without touching the batch or the reports.

An engine must be safe to call from several threads at once: the batch runs
regions in parallel, each region's notebooks in order.
"""

from __future__ import annotations

import sys
import threading
import uuid
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "NotebookEngine",
    "NotebookFailed",
    "PapermillEngine",
    "ensure_kernel",
    "raise_failed",
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
        """Run ``notebook`` on a new kernel in ``cwd`` and write it to ``output``.

        Raises :class:`NotebookFailed` (the output then holds the error) when a cell
        raises, times out or the kernel dies or cannot start.
        """
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
                raise_failed(notebook, output, exc, partial)
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


def raise_failed(notebook: Path, output: Path, exc: Exception, partial: Path | None = None) -> None:
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
