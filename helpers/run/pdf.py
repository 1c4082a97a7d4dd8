"""PDF copies of a run's reports (``python -m helpers.run --pdf``), printed by headless
Chromium or Chrome with the reports' own print styles (A4, no navigation bar, tables
wrapped inside the page, maps fitted to it).

The browser is not a Python package: Debian's ``chromium`` (``apt-get install chromium``),
any Chrome, or the program named by the environment variable ``WORKBOOK_CHROMIUM``.
Without one, ``--pdf`` is refused before the run starts, with that advice.

    browser = find_browser()                      # PdfUnavailable when there is none
    print_pdf(Path("all/05_strategy.html"), Path("all/05_strategy.pdf"), browser)
    print_run(Path("reports/20261204-010000"), browser)   # every report of the run
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["BROWSERS", "ENV", "PdfUnavailable", "find_browser", "print_pdf", "run_pages",
           "print_run"]

#: Programs tried, in order, when ``WORKBOOK_CHROMIUM`` is not set.
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
#: Environment variable naming the browser to print with.
ENV = "WORKBOOK_CHROMIUM"
#: Milliseconds of page time the browser gives the scripts (maps) before it prints.
SCRIPT_TIME_MS = 8000


class PdfUnavailable(RuntimeError):
    """No browser to print with, or the one named cannot be run."""


def find_browser() -> str:
    """The Chromium or Chrome program to print with: ``$WORKBOOK_CHROMIUM``, else the first
    of :data:`BROWSERS` on the ``PATH``.

    Raises
    ------
    PdfUnavailable
        Naming what was looked for and how to install it.
    """
    named = os.environ.get(ENV, "").strip()
    if named:
        found = shutil.which(named)
        if found is None:
            raise PdfUnavailable(f"--pdf: {ENV}={named!r} is not a program that can be run; "
                                 "set it to the Chromium or Chrome executable")
        return found
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise PdfUnavailable("--pdf needs headless Chromium or Chrome, and none was found "
                         f"(looked for {', '.join(BROWSERS)}): install Debian's chromium "
                         f"package (apt-get install chromium) or set {ENV} to the browser's "
                         "executable; the HTML reports do not need it")


def print_pdf(html: Path, pdf: Path, browser: str, *, timeout: float = 180) -> Path:
    """Print the page ``html`` to ``pdf`` (A4, the page's print styles); return ``pdf``.

    Raises
    ------
    RuntimeError
        When the browser fails or writes nothing, with the last line it said.
    """
    html, pdf = Path(html).resolve(), Path(pdf).resolve()
    pdf.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="workbook-pdf-") as profile:
        command = [browser, "--headless", "--disable-gpu", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update",
                   "--disable-sync", "--no-pdf-header-footer", f"--user-data-dir={profile}",
                   f"--virtual-time-budget={SCRIPT_TIME_MS}", f"--print-to-pdf={pdf}",
                   html.as_uri()]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.insert(1, "--no-sandbox")  # Chromium refuses to run as root otherwise
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                  check=False)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"{html.name}: the browser did not finish printing in "
                               f"{timeout:.0f} s") from None
    if not pdf.exists() or pdf.stat().st_size == 0:
        said = [line for line in (done.stderr or "").splitlines() if line.strip()]
        raise RuntimeError(f"{html.name}: the browser wrote no PDF (exit {done.returncode}"
                           + (f": {said[-1][:200]}" if said else "") + ")")
    return pdf


def run_pages(run_dir: Path) -> list[Path]:
    """The reports of a run folder to print: the index, then each region's steps."""
    run_dir = Path(run_dir)
    pages = [run_dir / "index.html"] if (run_dir / "index.html").exists() else []
    return pages + sorted(run_dir.glob("*/[0-9][0-9]_*.html"))


def print_run(run_dir: Path, browser: str, *,
              progress: Callable[[Path], None] | None = None) -> dict:
    """A PDF next to every report of ``run_dir`` (``index.pdf``, ``all/05_strategy.pdf`` ...).

    Returns
    -------
    dict
        ``written`` (how many), ``failed`` (``[{"page", "error"}]``); what goes in the
        run's manifest under ``pdf``.
    """
    written, failed = 0, []
    for page in run_pages(run_dir):
        try:
            print_pdf(page, page.with_suffix(".pdf"), browser)
            written += 1
        except RuntimeError as exc:
            failed.append({"page": str(page.relative_to(run_dir)), "error": str(exc)})
        if progress is not None:
            progress(page)
    return {"written": written, "failed": failed}
