"""The files a config reads: names resolved, how each is read, and their content hashes.

A source's ``file`` is one name, a glob pattern (``orders_*.csv``: its sorted
matches) or a list of them; each join names one more file. :func:`resolve_files`
turns one such entry into paths, :func:`source_paths` a whole source, and
:func:`input_files` every file of every source and join, with its size and SHA-256:
the batch records them in ``manifest.json``, and step 2 reuses an earlier prep only
when the hashes match (never by sizes or timestamps). :func:`changed_inputs` then
notices a file edited while it was being read.

Hashing is cheap next to preparing the same files, so every run hashes every input
and no cache of sizes and times stands in for it (measured on the 2-core test machine,
SHA-256 at about 1.5 GB/s from the page cache: the 6.9 MB bundled sample 0.005 s; the
768 MB of exports ``bench/prep_speed.py`` generates for 10M order lines 0.52 s warm,
1.1 s in the benchmark, against 85 s to prepare them).
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

from helpers.config import Config, MessageError
from helpers.data.sources import Source
from helpers.files import sha256_file

MAX_FIELD_CHARS = 100_000  # default of prep.max_field_chars


class SourceError(MessageError):
    """A source file that cannot be read as configured; the message says which and why."""


@dataclass(frozen=True)
class FileSpec:
    """How to read one file: what the config says about it, and what it must contain."""

    what: str                      # for messages: "source 'crm'" or "join of source 'x'"
    encoding: str = "auto"
    delimiter: str | None = None
    sheet: str | None = None
    header_row: int | str = "auto"
    need: tuple[str, ...] = ()     # column names the header row must hold
    labels: tuple[tuple[str, str], ...] = ()  # (file column, canonical column) for messages
    max_chars: int = MAX_FIELD_CHARS  # longer values in a needed column: the row is set aside


def source_paths(source: Source, data_dir: Path) -> list[Path]:
    """Every file of ``source``: globs expanded (sorted), missing files kept as given."""
    paths: list[Path] = []
    for item in source.files:
        paths += resolve_files(item, data_dir, source.name, must_exist=False)
    return paths


def _absolute(file: str, data_dir: Path) -> Path:
    path = Path(file)
    return path if path.is_absolute() else data_dir / path


def _is_glob(text: str) -> bool:
    return any(ch in text for ch in "*?[")


def resolve_files(file: str, data_dir: Path, name: str, must_exist: bool = True) -> list[Path]:
    """``file`` relative to ``data_dir``; a glob pattern becomes its sorted matches.

    A name that exists as it is (``orders [2024].csv``) is that file, even when it
    holds a glob character.
    """
    path = _absolute(file, data_dir)
    if _is_glob(file) and not path.is_file():
        found = sorted(Path(p) for p in glob.glob(str(path)))
        if not found and must_exist:
            raise SourceError(f"source '{name}': no file matches {path} (key file)")
        return found
    if must_exist and not path.exists():
        raise SourceError(f"source '{name}': file not found: {path} (key file)")
    return [path]


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
                    pattern = _absolute(item, config.data_dir)
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
