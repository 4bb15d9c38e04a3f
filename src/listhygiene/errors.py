"""Domain exceptions, each carrying the exit code the CLI turns it into."""

from __future__ import annotations

import errno


class ListHygieneError(Exception):
    """Base of every error a user can act on; the CLI prints it without a traceback."""

    exit_code = 1


class ConfigError(ListHygieneError):
    """The pipeline file or a command-line option is wrong (exit 2)."""

    exit_code = 2


class InputError(ListHygieneError):
    """An input file cannot be used at all: missing column, unreadable, empty export (exit 3).

    Carries where the problem is so the message can name file, row and column.
    """

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ):
        self.file, self.row, self.column, self.hint = file, row, column, hint
        where = ", ".join(
            part
            for part in (
                f"file {file}" if file else None,
                f"row {row}" if row is not None else None,
                f"column {column!r}" if column else None,
            )
            if part
        )
        text = f"{where}: {message}" if where else message
        if hint:
            text = f"{text} {hint}"
        super().__init__(text)


class ValidationFailed(ListHygieneError):
    """Too many rows of an input file were quarantined (exit 3); nothing was published."""

    exit_code = 3


class DropGuardTripped(ListHygieneError):
    """A list's sendable count fell by more than the allowed fraction (exit 4)."""

    exit_code = 4


class LockHeld(ListHygieneError):
    """Another run holds the store's lock (exit 5)."""

    exit_code = 5


class ResourceExhausted(ListHygieneError):
    """DuckDB could not finish a step for want of memory or disk (exit 1); the run rolled back.

    Names the step (a file loaded, a rule model, an output) so the operator knows what to give
    room to; `detail` is DuckDB's own first line.
    """

    exit_code = 1
    template = ""

    def __init__(self, step: str, detail: str):
        self.step, self.detail = step, detail
        super().__init__(self.template.format(step=step, detail=detail))


class OutOfMemory(ResourceExhausted):
    template = (
        "the run needed more memory than DuckDB may use while {step} ({detail}). Nothing was "
        "published and the store is unchanged. Raise LISTHYGIENE_MEMORY_LIMIT "
        "(e.g. LISTHYGIENE_MEMORY_LIMIT=12GiB) or free memory, then run again."
    )


class OutOfDisk(ResourceExhausted):
    template = (
        "the disk filled while {step} ({detail}). A run writes its rule tables beside the store "
        "(<store>.rules) and DuckDB what does not fit in memory (<store>.tmp); nothing was "
        "published and the store is unchanged. Free disk space there, or raise "
        "LISTHYGIENE_MEMORY_LIMIT so less is spilled, then run again."
    )


class EnvironmentProblem(ListHygieneError):
    """The machine, not the data, stopped the run: a permission, a full disk, a read-only or missing
    folder, a file where a folder belongs (exit 1). The message names the path and what to do."""

    exit_code = 1


# What to do about each kind of failure of the file system, by errno.
_ADVICE = {
    errno.ENOSPC: "free space on that disk (or point the store or output elsewhere), then run again",
    errno.EDQUOT: "free space within the quota, then run again",
    errno.EACCES: "give the user running listhygiene write access there, then run again",
    errno.EPERM: "lift what forbids it (an immutable file or folder, see lsattr), then run again",
    errno.EROFS: "mount it read-write or point the pipeline file elsewhere, then run again",
    errno.ENOTDIR: "a file stands where a folder belongs: move that file away, then run again",
    errno.EISDIR: "a folder stands where a file belongs: move that folder away, then run again",
    errno.EEXIST: "something of the wrong kind is already there: move it away, then run again",
    errno.ENOENT: "create the missing folder or fix the path, then run again",
    errno.ELOOP: "fix the symbolic links that form a loop, then run again",
    errno.ENAMETOOLONG: "use a shorter path, then run again",
    errno.EIO: "check the disk, then run again",
}


def environment_problem(exc: Exception, doing: str, *, outcome: str = "") -> EnvironmentProblem:
    """A one-paragraph message for a failure of the machine met while `doing` (e.g. "publishing run X").

    `exc` is an OSError, or an engine's I/O error (DuckDB's), read as an input/output error with
    its first line as the reason. `outcome` says what state the run left (e.g. "Nothing was
    published and the store is unchanged."). Paths are quoted as the OS gave them, with any
    address in them masked.
    """
    from listhygiene.masking import mask_addresses_in  # a leaf module; imported late to keep errors a leaf

    if not isinstance(exc, OSError):
        exc = OSError(errno.EIO, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    where = exc.filename or ""
    if exc.filename2:
        where = f"{where} -> {exc.filename2}"
    advice = _ADVICE.get(exc.errno or 0, "fix the cause named, then run again")
    reason = exc.strerror or type(exc).__name__
    text = f"{doing} failed{f' at {where}' if where else ''}: {reason}. {outcome} {advice[0].upper()}{advice[1:]}."
    return EnvironmentProblem(mask_addresses_in(" ".join(text.split())))
