"""Run logs for people and machines: plain lines, JSON lines, or a live display on a terminal."""

from __future__ import annotations

import json
import logging
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime

import duckdb

from listhygiene.errors import OutOfDisk, OutOfMemory
from listhygiene.masking import mask_addresses_in

log = logging.getLogger("listhygiene")

# Fields a log call may carry in `extra=`; JSON lines include them as keys.
FIELDS = (
    "stage",
    "source",
    "file",
    "rows_read",
    "rows_loaded",
    "rows_quarantined",
    "seconds",
    "run_id",
    "as_of",
    "lists",
)

_display = None  # the live terminal display, while one is shown


class MaskAddresses(logging.Filter):
    """No log line ever prints a whole address: whatever looks like one is masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_addresses_in(record.getMessage())
        record.args = ()
        return True


class JsonLines(logging.Formatter):
    """One JSON object per line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname.lower(),
            "message": record.getMessage(),
        }
        entry.update({k: getattr(record, k) for k in FIELDS if hasattr(record, k)})
        return json.dumps(entry, default=str)


def setup(*, log_format: str = "text", quiet: bool = False, verbose: bool = False, stream=None) -> None:
    """Configure the `listhygiene` logger once per command (verbose adds each step's timing)."""
    global _display
    stream = stream or sys.stderr
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    live = log_format == "text" and not quiet and _is_terminal(stream)
    if live:
        from rich.console import Console
        from rich.logging import RichHandler

        console = Console(file=stream)
        handler: logging.Handler = RichHandler(console=console, show_path=False, markup=False)
        _display = console
    else:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(
            JsonLines()
            if log_format == "json"
            else logging.Formatter("%(asctime)s %(levelname)s %(message)s", datefmt="%Y-%m-%dT%H:%M:%S")
        )
        _display = None
    handler.addFilter(MaskAddresses())
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


@contextmanager
def stage(name: str, times: dict[str, float] | None = None):
    """A named step of the run: shown live on a terminal, timed in the logs (and in `times`,
    which the run's manifest keeps)."""
    started = time.monotonic()
    status = _display.status(f"{name} …") if _display is not None else None
    if status is not None:
        status.start()
    try:
        yield
    finally:
        if status is not None:
            status.stop()
    seconds = round(time.monotonic() - started, 2)
    if times is not None:
        times[name] = seconds
    log.info("%s done in %.1f s", name, seconds, extra={"stage": name, "seconds": seconds})


@contextmanager
def step(what: str):
    """One statement-sized step (a model, an output file): timed at debug level, and named by
    the error if DuckDB runs out of memory, or of disk to spill to, in it, so the step to
    split or the limit to raise is known."""
    started = time.monotonic()
    try:
        yield
    except duckdb.OutOfMemoryException as exc:
        raise OutOfMemory(what, str(exc).splitlines()[0]) from exc
    except duckdb.IOException as exc:
        if "No space left on device" not in str(exc):
            raise
        raise OutOfDisk(what, mask_addresses_in(str(exc).splitlines()[0])) from exc
    seconds = round(time.monotonic() - started, 2)
    log.debug("%s: %.1f s", what, seconds, extra={"seconds": seconds})


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
