"""Which of a source's files are new to the store: its input_files rows read once, each file judged from memory."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from listhygiene.config import Source
from listhygiene.ingest.reading import file_sha256
from listhygiene.privacy.tombstones import HeldRows

log = logging.getLogger("listhygiene")

# Kinds whose files are snapshots (the whole of something as of the file's time), not logs:
# the same content under a new name is a new snapshot, loaded again.
SNAPSHOT_KINDS = ("contacts", "suppressions")

Counts = tuple[int, int, int]  # rows read, loaded, quarantined


@dataclass
class FileLoad:
    """What happened to one input file in this run."""

    source: str
    kind: str
    path: Path
    sha256: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    status: str  # loaded | already_loaded | rejected
    one_message: bool = False  # a mailbox file of one message: the guard judges them together


@dataclass
class LoadReport:
    files: list[FileLoad] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    held: HeldRows | None = None  # rows of forgotten addresses tonight (privacy.tombstones)


@dataclass
class PlannedFile:
    """An input file as the store knows it: new (known None) or already loaded, with its counts."""

    path: Path
    sha256: str
    size: int
    mtime_ns: int
    known: Counts | None  # rows read, loaded, quarantined when it was loaded
    where: str = ""  # the resolved path, as input_files names it


class Planner:
    """A source's loaded files (its input_files rows, read in one query) and the files loaded
    since (`learn`): whether a file is new, answered without asking the store again."""

    def __init__(self, con: duckdb.DuckDBPyConnection, source: Source):
        self.source = source
        self._by_stat: dict[tuple[str, int, int], tuple[str, Counts]] = {}  # the latest load
        self._by_content: dict[tuple[str, str | None], Counts] = {}  # the first load
        self._versions: dict[str, int] = {}
        self._folders: dict[Path, Path] = {}  # resolved folders
        rows = con.execute(
            "select path, size, mtime_ns, sha256, rows_read, rows_loaded, rows_quarantined "
            "from input_files where source = ? order by file_id",
            [source.name],
        ).fetchall()
        for path, size, mtime_ns, sha, *counts in rows:
            self._remember(path, size, mtime_ns, sha, (counts[0], counts[1], counts[2]))

    def _remember(self, path: str, size: int, mtime_ns: int | None, sha: str, counts: Counts) -> None:
        if mtime_ns is not None:
            self._by_stat[(path, size, mtime_ns)] = (sha, counts)
        self._by_content.setdefault(self._content_key(sha, path), counts)
        self._versions[path] = self._versions.get(path, 0) + 1

    def content_key(self, planned: PlannedFile) -> tuple[str, str | None]:
        """What makes a file the same as another for this source (see _content_key)."""
        return self._content_key(planned.sha256, planned.where or str(planned.path.resolve()))

    def _content_key(self, sha: str, path: str) -> tuple[str, str | None]:
        # A log's content is loaded once, wherever it turns up again. A contacts file is a part
        # of the snapshot its name or folder dates: the same content under a new name (tonight's
        # unchanged part of an export) is loaded again as part of tonight's snapshot.
        return (sha, path if self.source.file_kind in SNAPSHOT_KINDS else None)

    def identify(self, path: Path, digest: Callable[[Path], str] | None = None) -> PlannedFile:
        """The file's size, time and content hash, and its counts if the store holds that content.

        A file still of the size and modification time it had when loaded is that file: it is
        not read again (as make and rsync do); any other file is known by its content, hashed
        by `digest` if given (a caller that keeps the bytes it read), else read for the hash.
        """
        where, info = self._located(path)
        unchanged = self._by_stat.get((where, info.st_size, info.st_mtime_ns))
        if unchanged is not None:
            sha, counts = unchanged
            return PlannedFile(path, sha, info.st_size, info.st_mtime_ns, counts, where)
        sha = (digest or file_sha256)(path)
        known = self._by_content.get(self._content_key(sha, where))
        return PlannedFile(path, sha, info.st_size, info.st_mtime_ns, known, where)

    def _located(self, path: Path) -> tuple[str, os.stat_result]:
        """The file's resolved path (as input_files names it) and its stat. A file that is not a
        link is its folder's resolved path and its name: one lstat, not a resolve per file (a
        Maildir holds 100,000 of them)."""
        found = os.lstat(path)
        if stat.S_ISLNK(found.st_mode):
            return str(path.resolve()), path.stat()
        folder = self._folders.get(path.parent)
        if folder is None:
            folder = self._folders[path.parent] = path.parent.resolve()
        return str(folder / path.name), found

    def judge(self, planned: PlannedFile, report: LoadReport, *, quiet: bool = False) -> PlannedFile:
        """Log a known file as skipped (unless `quiet`: the caller counts them), or warn when a
        new file's path held other content before."""
        source = self.source
        if planned.known is not None:
            if not quiet:
                log.info(
                    "%s %s: already loaded (%d rows), skipped",
                    source.name,
                    planned.path.name,
                    planned.known[0],
                )
            return planned
        versions = self._versions.get(planned.where or str(planned.path.resolve()), 0)
        if versions:
            message = (
                f"{source.name} {planned.path.name}: content changed since it was loaded; loading it as "
                f"version {versions + 1}"
                + (
                    " (it replaces the earlier versions of this snapshot)"
                    if source.file_kind in SNAPSHOT_KINDS
                    else " (events already loaded are counted once)"
                )
            )
            report.warnings.append(message)
            log.warning(message)
        return planned

    def plan(self, path: Path, report: LoadReport) -> PlannedFile:
        """Whether `path` is new to the store (both engines ask the same catalog tables)."""
        return self.judge(self.identify(path), report)

    def learn(self, planned: PlannedFile, counts: Counts) -> None:
        """A file loaded tonight: later files of the same content are already loaded."""
        self._remember(
            planned.where or str(planned.path.resolve()),
            planned.size,
            planned.mtime_ns,
            planned.sha256,
            counts,
        )


def already_loaded(source: Source, planned: PlannedFile) -> FileLoad:
    """The report line of a file the store already holds."""
    assert planned.known is not None
    rows_read, rows_loaded, rows_quarantined = planned.known
    return FileLoad(
        source.name,
        source.file_kind,
        planned.path,
        planned.sha256,
        rows_read,
        rows_loaded,
        rows_quarantined,
        "already_loaded",
    )
