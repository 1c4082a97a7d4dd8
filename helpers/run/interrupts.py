"""Ctrl-C and stop signals while a batch runs (main thread only).

A stop signal (SIGTERM: ``kill``, a scheduler's time limit) interrupts a run as
Ctrl-C does; while the run record is written, both are held back so that
``manifest.json`` and ``index.html`` are never left half-way.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: Signals that stop a run as Ctrl-C does (SIGTERM: ``kill``, a scheduler's time limit).
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM")
                     if hasattr(signal, name))


def _set_handlers(handler) -> dict | None:
    """Install ``handler`` for :data:`STOP_SIGNALS`; the previous handlers, None off the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}


def _restore_handlers(previous: dict | None) -> None:
    for signum, handler in (previous or {}).items():
        signal.signal(signum, handler)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


@contextmanager
def stop_signals() -> Iterator[None]:
    """A stop signal (SIGTERM) interrupts the run as Ctrl-C does (main thread only)."""
    previous = None
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGTERM"):
        previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, _raise_interrupt)}
    try:
        yield
    finally:
        _restore_handlers(previous)


@contextmanager
def interrupts_deferred(reraise: bool) -> Iterator[None]:
    """Hold Ctrl-C and stop signals back while the run record is written (main thread only).

    ``reraise``: raise KeyboardInterrupt after the block, else drop it (the run is
    ending anyway).
    """
    caught: list[int] = []
    previous = _set_handlers(lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        _restore_handlers(previous)
    if caught and reraise:
        raise KeyboardInterrupt
