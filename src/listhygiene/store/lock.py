"""One run at a time per store: an flock on `<database>.lock` that names its holder."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from listhygiene.errors import LockHeld, environment_problem

log = logging.getLogger("listhygiene")


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


@contextmanager
def run_lock(database: Path):
    """Hold the store's run lock for the block; raise LockHeld naming the holder if taken.

    The kernel drops an flock when its process dies, so a lock left by a killed run is free:
    the file still names the dead holder, and the next run says it took the lock over.
    """
    path = lock_path(database)
    untouched = "Nothing was published and the store is unchanged."
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115  (held, and flocked, for the whole run)
    except OSError as exc:
        raise environment_problem(exc, "opening the run lock", outcome=untouched) from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockHeld(
                f"another run holds the lock on {database}: {_describe(_holder(handle))}. "
                "Wait for it to finish; two runs on one store at once are refused."
            ) from None
        previous = _holder(handle)
        if previous and previous.get("pid") != os.getpid():
            log.warning("took over the lock left by %s (that run did not finish)", _describe(previous))
        try:
            _write_holder(handle)
        except OSError as exc:
            exc.filename = exc.filename or str(path)
            raise environment_problem(exc, "writing the run lock's holder", outcome=untouched) from None
        try:
            yield
        finally:
            # finished, well or badly, but alive: only a killed run leaves its name behind
            # (emptying a file needs no space; a failure here must not hide the run's own error)
            with contextlib.suppress(OSError):
                handle.seek(0)
                handle.truncate()
                handle.flush()
    finally:
        # closing releases the flock; on a full disk it re-flushes the holder text and fails
        # again (the descriptor is closed all the same): the error already raised is the one
        with contextlib.suppress(OSError):
            handle.close()


def _holder(handle) -> dict | None:
    handle.seek(0)
    text = handle.read().strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return {"pid": "?", "host": "?", "started_at": "?"}


def _write_holder(handle) -> None:
    handle.seek(0)
    handle.truncate()
    handle.write(
        json.dumps(
            {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
    )
    handle.flush()
    os.fsync(handle.fileno())


def _describe(holder: dict | None) -> str:
    if not holder:
        return "a process that did not say who it is"
    return f"pid {holder.get('pid')} on {holder.get('host')}, started {holder.get('started_at')}"
