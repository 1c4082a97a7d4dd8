"""Claiming a run id: the run folder created atomically, and locked while a batch writes it.

Two runs started with one id: the second is refused (the folder exists); a second
batch on a run being written, for example a ``--resume`` while it still runs: refused
(the lock is held). The lock is the operating system's, so a killed batch leaves none.
"""

from __future__ import annotations

import os
from pathlib import Path

from helpers.config import RunPaths
from helpers.run.plan import UsageError

LOCK_FILE = ".batch.lock"  # in the run folder, locked while a batch writes the run


class RunLock:
    """An exclusive lock on a run folder (``.batch.lock``) while a batch writes it.

    An operating-system lock (``fcntl.flock``; ``msvcrt.locking`` on Windows): it
    ends with the process, so a killed batch leaves no stale lock.
    """

    def __init__(self, folder: Path):
        self.path = Path(folder) / LOCK_FILE
        self._handle = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another process holds it."""
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 (held until release)
        try:
            if os.name == "nt":
                import msvcrt

                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle
        return True

    def holder(self) -> str:
        """The process id written by the holder, or ``?``."""
        try:
            return self.path.read_text("utf-8").strip() or "?"
        except OSError:
            return "?"

    def release(self) -> None:
        """Give the lock up (closing the file releases it); a second call does nothing."""
        if self._handle is not None:
            self._handle.close()  # closing the file releases the lock
            self._handle = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def claim_run(reports: Path, run_id: str, *, resume: bool = False,
              numbered: bool = False) -> tuple[RunPaths, RunLock]:
    """Create the run folder (atomically: a second run with the same id is refused) and lock it.

    ``numbered``: the id was not chosen by the user (a timestamp): when taken, the
    next free ``<id>-2``, ``<id>-3`` ... is used instead. ``resume``: the folder must
    exist; it is only locked.

    Raises
    ------
    UsageError
        The run id is taken, or another batch is writing the run.
    OSError
        The folder cannot be created (read-only, no permission, disk full).
    """
    if resume:
        run = RunPaths(reports / run_id)
    else:
        for n in range(1, 1000 if numbered else 2):
            candidate = run_id if n == 1 else f"{run_id}-{n}"
            try:
                (reports / candidate).mkdir(parents=True, exist_ok=False)
                break
            except FileExistsError:
                if not numbered:
                    raise UsageError(
                        f"run {run_id!r} exists already ({reports / run_id}): pick another "
                        f"--run-id, or continue that run with --resume {run_id}") from None
        run = RunPaths(reports / candidate)
    lock = RunLock(run.root)
    if not lock.acquire():
        raise UsageError(f"run {run.root.name!r} is being written by another batch (process "
                         f"{lock.holder()}); wait for it to end, or pick another --run-id")
    return run, lock


def release_unrecorded(run: RunPaths) -> None:
    """Remove a new run's lock file and folder when not even its record could be written.

    The run id is then free again; anything else in the folder (nothing, normally)
    keeps the folder, and nothing is raised.
    """
    for path in (run.root / LOCK_FILE, run.root):
        try:
            path.unlink() if path.is_file() else path.rmdir()
        except OSError:
            pass
