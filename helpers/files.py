"""Files on disk: content hashes, the input files a config reads, writes that never leave half a file.

A run records what it read (:func:`input_files`: every configured source, glob match,
list item and joined file, with its size and SHA-256) and decides whether an earlier
prep can be reused by those content hashes, never by sizes or timestamps. Everything
a run writes for people to open (reports, notebooks, the manifest, the index, the
prep tables) goes through :func:`write_atomic` or :func:`atomic_path`: the data go to
a temporary file in the same folder, which then replaces the target in one step
(``os.replace``), so a full disk or an interrupted run leaves the old file or none,
never a truncated one.

Hashing is cheap next to preparing the same files, so every run hashes every input
and no cache of sizes and times stands in for it (measured on the 2-core test machine,
SHA-256 at about 1.5 GB/s from the page cache: the 6.9 MB bundled sample 0.005 s; the
768 MB of exports ``bench/prep_speed.py`` generates for 10M order lines 0.52 s warm,
1.1 s in the benchmark, against 85 s to prepare them).
"""

from __future__ import annotations

import errno
import hashlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from helpers.config import Config

__all__ = ["sha256_file", "InputFile", "input_files", "changed_inputs", "write_atomic",
           "atomic_path", "os_error_message"]


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's content, read in chunks (``hashlib.file_digest``).

    Raises
    ------
    OSError
        When the file cannot be read.
    """
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


@dataclass(frozen=True)
class InputFile:
    """One file a configured source reads, as found when it was hashed.

    ``stat`` is ``(size, mtime_ns, inode)`` at hashing time: compared again after the
    prep has read the files, to notice a file that changed meanwhile
    (:func:`changed_inputs`). It never stands in for the hash.
    """

    table: str
    source: str
    role: str          # "source" or "join"
    file: str          # as configured (a name, a glob pattern or one item of a list)
    path: Path
    bytes: int | None
    sha256: str | None
    error: str | None  # why there is no hash: file not found, no match, unreadable
    stat: tuple[int, int, int] | None = None

    def record(self) -> dict:
        """The manifest's row for this file."""
        return {"table": self.table, "source": self.source, "role": self.role,
                "file": self.file, "path": str(self.path), "bytes": self.bytes,
                "sha256": self.sha256, "error": self.error}


def _stat_key(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _look(path: Path, seen: dict[Path, tuple]) -> tuple:
    """``(bytes, sha256, error, stat)`` of ``path``, each file hashed once per call."""
    if path not in seen:
        try:
            if not path.exists():
                seen[path] = (None, None, "file not found", None)
            elif not path.is_file():
                seen[path] = (None, None, "not a file", None)
            else:
                before = _stat_key(path)
                digest = sha256_file(path)
                seen[path] = (before[0], digest, None, before)
        except OSError as exc:
            seen[path] = (None, None, f"cannot read: {exc.strerror or exc}", None)
    return seen[path]


def input_files(config: Config) -> list[InputFile]:
    """Every file the configured sources read, with its size and SHA-256.

    One row per table, source and file, in config order: each item of a ``file``
    list, each match of a glob pattern (sorted), each join's file. A missing file, or
    a pattern that matches nothing, has a row with ``error`` set and no hash (the
    prep then stops with its own message). A file read by several sources is hashed
    once.

    Parameters
    ----------
    config : Config
        The loaded workbook config.

    Returns
    -------
    list of InputFile
    """
    from helpers.data.read import resolve_files

    rows: list[InputFile] = []
    seen: dict[Path, tuple] = {}
    for table, sources in config.sources.items():
        for source in sources:
            entries = [("source", item, resolve_files(item, config.data_dir, source.name,
                                                      must_exist=False))
                       for item in source.files]
            entries += [("join", join.file, resolve_files(join.file, config.data_dir,
                                                          source.name, must_exist=False))
                        for join in source.joins]
            for role, item, paths in entries:
                if not paths:  # a glob pattern without a match
                    pattern = Path(item) if Path(item).is_absolute() else config.data_dir / item
                    rows.append(InputFile(table, source.name, role, item, pattern, None, None,
                                          "no file matches the pattern"))
                for path in paths:
                    size, digest, error, stat = _look(path, seen)
                    rows.append(InputFile(table, source.name, role, item, path, size, digest,
                                          error, stat))
    return rows


def changed_inputs(inputs: list[InputFile]) -> list[Path]:
    """The files whose size, modification time or inode differ from when they were hashed.

    A cheap check after the prep has read the files: a file edited meanwhile makes the
    recorded hash wrong for what was read.
    """
    changed = []
    for item in inputs:
        if item.stat is None:
            continue
        try:
            now = _stat_key(item.path)
        except OSError:
            now = None
        if now != item.stat and item.path not in changed:
            changed.append(item.path)
    return changed


# --------------------------------------------------------------------------- writing


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; it replaces ``path`` when the block ends.

    When the block raises, the temporary file is removed and ``path`` is left as it
    was. An ``OSError`` is raised again naming ``path`` (a failed ``write()`` does not
    name its file).

    Examples
    --------
    >>> with atomic_path(folder / "orders.parquet") as tmp:   # doctest: +SKIP
    ...     frame.to_parquet(tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.partial")
    # created as open() would (mode 0o666 less the umask), not private like mkstemp's
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.filename in (None, str(tmp), tmp):
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: str | bytes, encoding: str = "utf-8") -> Path:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``; return ``path``."""
    with atomic_path(path) as tmp:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data, encoding=encoding)
    return Path(path)


_ADVICE = {
    errno.ENOSPC: "the disk is full: free some space",
    errno.EDQUOT: "the disk quota is used up: free some space",
    errno.EROFS: "the folder is read-only: choose another one (--reports)",
    errno.EACCES: "no permission: choose another folder (--reports) or fix its permissions",
    errno.EPERM: "no permission: choose another folder (--reports) or fix its permissions",
}


def os_error_message(exc: OSError, action: str = "write") -> str:
    """One line for a failed file operation: the path, the reason and what to do.

    >>> os_error_message(OSError(28, "No space left on device", "/r/x/manifest.json"))
    'cannot write /r/x/manifest.json: No space left on device (the disk is full: free some space)'
    """
    where = exc.filename if exc.filename is not None else "a file"
    reason = exc.strerror or str(exc)
    advice = _ADVICE.get(exc.errno or 0)
    return f"cannot {action} {where}: {reason}" + (f" ({advice})" if advice else "")
