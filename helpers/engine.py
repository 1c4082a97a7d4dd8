"""Executing one notebook with parameters.

The batch talks to an engine through :class:`NotebookEngine` only, so that the
papermill engine of today can be swapped for a faster one (for example one warm
kernel per worker) without touching the batch or the reports.

An engine must be safe to call from several threads at once: the batch runs
regions in parallel, each region's notebooks in order.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "NotebookEngine",
    "NotebookFailed",
    "PapermillEngine",
    "ensure_kernel",
]


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

    def __repr__(self) -> str:
        return f"PapermillEngine(kernel_name={self.kernel_name!r}, timeout={self.timeout!r})"

    def execute(self, notebook: Path, output: Path, parameters: dict, cwd: Path) -> None:
        import papermill
        from papermill.exceptions import PapermillExecutionError

        notebook, output, cwd = Path(notebook).resolve(), Path(output).resolve(), Path(cwd)
        output.parent.mkdir(parents=True, exist_ok=True)
        try:
            papermill.execute_notebook(
                str(notebook),
                str(output),
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
                # Keep the kernel's own start-up chatter (ipykernel warns about
                # unencrypted local TCP, SIGINT at shutdown) out of the batch's terminal.
                extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
            )
        except PapermillExecutionError as exc:
            # papermill saved the notebook with the traceback and an error marker.
            message = f"{exc.ename}: {exc.evalue}" if exc.evalue else str(exc.ename)
            raise NotebookFailed(notebook, output, message) from exc
        except Exception as exc:  # kernel died, cell timeout, unreadable notebook ...
            message = f"{type(exc).__name__}: {exc}".strip()
            _write_error_notebook(notebook, output, message)
            raise NotebookFailed(notebook, output, message) from exc


def _write_error_notebook(notebook: Path, output: Path, message: str) -> None:
    """Make sure ``output`` exists and says at the top why the run stopped."""
    import html

    import nbformat

    try:
        source = output if output.exists() else notebook
        nb: Any = nbformat.read(source, as_version=4)
    except Exception:  # the source itself is unreadable
        nb = nbformat.v4.new_notebook()
    note = nbformat.v4.new_markdown_cell(
        '<span style="color:#b42318;font-size:1.4em">The notebook stopped: '
        f"<code>{html.escape(message)}</code></span>"
    )
    note.metadata["tags"] = ["workbook-error"]
    nb.cells.insert(0, note)
    output.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, output)
