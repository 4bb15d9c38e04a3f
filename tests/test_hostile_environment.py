"""Hostile machines and misuse: a clear message and exit code, and the store and published runs untouched.

Issue 28's cases that come from the environment or the command line (permissions, a file where a
folder belongs, a full disk, a failure after the commit, far-future as-of, misspelt list sections,
glob loops). Each asserts the exit code, the message, that no traceback is printed, that no whole
address is printed, and that the store file and every published file are byte-identical.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner, Result

from listhygiene.cli import cli
from listhygiene.outputs import publish
from listhygiene.store import lock

from conftest import copy_sample, invoke

NIGHT_1 = "2026-11-20T06:00:00Z"
NIGHT_2 = "2026-11-21T06:00:00Z"
# an address as the data holds it; masked ones look like `j***@example.com`
WHOLE_ADDRESS = re.compile(r"[A-Za-z0-9._%+-]*[A-Za-z0-9%+-]@[A-Za-z0-9-]+\.[A-Za-z0-9.-]+")


def fingerprint(root: Path) -> dict[str, str]:
    """Every file's bytes and every link's target under the store and output folders."""
    seen = {}
    for base in ("state", "out"):
        for path in sorted((root / base).rglob("*")) if (root / base).exists() else []:
            key = str(path.relative_to(root))
            if path.is_symlink():
                seen[key] = "-> " + os.readlink(path)
            elif path.is_file() and not path.name.endswith(".lock"):  # the lock file names its holder
                seen[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return seen


def run_cli(*args) -> Result:
    """The CLI in-process, whatever its exit code (conftest's invoke asserts one)."""
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_clean_failure(result, *fragments: str) -> None:
    output = result.output + (result.stderr or "")
    assert "Traceback" not in output
    for fragment in fragments:
        assert fragment in output, f"{fragment!r} not in {output!r}"
    assert WHOLE_ADDRESS.findall(output) == [], output


@pytest.fixture
def night_one(tmp_path) -> Path:
    config = copy_sample(tmp_path)
    invoke("run", "--config", config, "--as-of", NIGHT_1)
    return config


def root_of(config: Path) -> Path:
    return config.parent.parent


def test_an_output_path_that_is_a_file_is_refused_before_any_work(night_one):
    root = root_of(night_one)
    shutil.rmtree(root / "out")
    (root / "out").write_text("not a folder\n")
    before = fingerprint(root)
    result = invoke("run", "--config", night_one, "--as-of", NIGHT_2, expect=1)
    assert_clean_failure(result, "checking the output folder failed", "a file stands where a folder belongs")
    assert fingerprint(root) == before


def test_latest_that_is_a_real_folder_is_refused(night_one):
    root = root_of(night_one)
    latest = root / "out" / "sample" / "latest"
    target = latest.resolve()
    latest.unlink()
    shutil.copytree(target, latest)
    before = fingerprint(root)
    result = invoke("run", "--config", night_one, "--as-of", NIGHT_2, expect=1)
    assert_clean_failure(result, "`latest` must be a link that listhygiene manages")
    assert fingerprint(root) == before


def chattr(flag: str, path: Path) -> bool:
    if shutil.which("chattr") is None:
        return False
    return subprocess.run(["chattr", flag, str(path)], capture_output=True).returncode == 0


def test_an_immutable_runs_folder_is_found_before_the_commit(night_one):
    root = root_of(night_one)
    runs = root / "out" / "sample" / "runs"
    if not chattr("+i", runs):
        pytest.skip("this file system has no immutable flag (chattr)")
    try:
        before = fingerprint(root)
        result = invoke("run", "--config", night_one, "--as-of", NIGHT_2, expect=1)
        assert_clean_failure(result, "checking the output folder failed", str(runs))
        assert fingerprint(root) == before
    finally:
        chattr("-i", runs)


def store_runs(root: Path) -> list[tuple[str, str]]:
    con = duckdb.connect(str(root / "state" / "sample.duckdb"), read_only=True)
    try:
        return con.execute("select run_id, status from runs order by run_id").fetchall()
    finally:
        con.close()


def test_a_run_that_cannot_be_moved_into_place_after_its_commit_is_published_by_the_next(
    night_one, monkeypatch
):
    """The issue's case: runs/ made unwritable once the run has committed."""
    root = root_of(night_one)
    latest = root / "out" / "sample" / "latest"
    night_one_folder = latest.resolve()
    real_replace = os.replace

    def refuse_runs(source, target, *args, **kwargs):
        if "/runs/" in str(target):
            raise PermissionError(errno.EPERM, "Operation not permitted", str(source), None, str(target))
        return real_replace(source, target, *args, **kwargs)

    monkeypatch.setattr(publish.os, "replace", refuse_runs)
    result = invoke("run", "--config", night_one, "--as-of", NIGHT_2, expect=1)
    assert_clean_failure(
        result,
        "publishing run",
        "Operation not permitted",
        "recorded in the store as committed, not published",
    )
    # the store says no more than `latest` does: the new run is committed, not published
    (first, first_status), (second, second_status) = store_runs(root)
    assert (first_status, second_status) == ("published", "committed")
    assert latest.resolve() == night_one_folder
    listing = invoke("runs", "--config", night_one).output
    assert "committed" in listing
    explained = invoke("explain", "tom.baker@acme.example", "--config", night_one).output
    assert first in explained and second not in explained

    monkeypatch.setattr(publish.os, "replace", real_replace)
    rerun = invoke("run", "--config", night_one, "--as-of", NIGHT_2)
    assert f"finished publishing run {second}" in rerun.stderr
    statuses = dict(store_runs(root))
    assert statuses[second] == "published"
    assert (root / "out" / "sample" / "runs" / f"run_id={second}" / "sendable.parquet").exists()


@pytest.mark.parametrize(
    "as_of", ["9999-12-31T23:59:59Z", "2999-01-01", "1969-12-31T23:59:59Z", "0001-01-01"]
)
def test_an_as_of_a_run_cannot_be_dated_at_is_refused(night_one, as_of):
    root = root_of(night_one)
    before = fingerprint(root)
    result = invoke("run", "--config", night_one, "--as-of", as_of, expect=2)
    assert_clean_failure(result, "is outside the times a run may be dated at")
    assert fingerprint(root) == before


def test_a_misspelt_list_section_is_an_error_not_a_silent_change(night_one):
    root = root_of(night_one)
    text = night_one.read_text(encoding="utf-8")
    assert "[lists.newsletter]" in text
    night_one.write_text(text.replace("[lists.newsletter]", "[lists.newsleter]"), encoding="utf-8")
    before = fingerprint(root)
    result = invoke("run", "--config", night_one, "--as-of", NIGHT_2, expect=2)
    assert_clean_failure(
        result, "[lists.newsleter] names a list no contacts export has", "[lists.newsletter]"
    )
    assert fingerprint(root) == before


def test_a_list_section_no_export_has_is_a_warning(night_one):
    night_one.write_text(
        night_one.read_text(encoding="utf-8") + "\n[lists.autumn-sale]\nrequire_confirmed_optin = true\n",
        encoding="utf-8",
    )
    result = invoke("run", "--config", night_one, "--as-of", NIGHT_2)
    assert "[lists.autumn-sale] names a list no contacts export has tonight" in result.stderr


def test_a_full_disk_when_the_lock_names_its_holder_is_a_message(night_one, monkeypatch):
    root = root_of(night_one)
    before = fingerprint(root)

    def disk_full(handle):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(lock, "_write_holder", disk_full)
    result = invoke("run", "--config", night_one, "--as-of", NIGHT_2, expect=1)
    assert_clean_failure(
        result, "writing the run lock's holder failed", "No space left on device", "Free space"
    )
    assert fingerprint(root) == before


def test_a_glob_over_a_folder_link_loop_ends(tmp_path):
    config = copy_sample(tmp_path)
    data = tmp_path / "data" / "sample"
    (data / "archive").mkdir()
    (data / "archive" / "loop").symlink_to("..", target_is_directory=True)
    text = config.read_text(encoding="utf-8")
    night_two = text.replace(
        'path = "../data/sample/contacts_*.csv*"', 'path = "../data/sample/**/contacts_*.csv*"'
    )
    assert night_two != text
    config.write_text(night_two, encoding="utf-8")
    # run in a child with a deadline: a glob that follows the loop would never return
    completed = subprocess.run(
        [sys.executable, "-m", "listhygiene", "validate", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert "all inputs would load" in completed.stdout
    assert completed.stdout.count("contacts_2026-11-2") <= 2


# --- a real full disk: a small tmpfs (root can mount one here; skipped where it cannot) -------


@pytest.fixture
def small_disk(tmp_path):
    mount_point = tmp_path / "small_disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount_point)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small file system here (needs root)")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def fill(disk: Path, leave_kib: int) -> None:
    """Fill the disk until `leave_kib` KiB are left (0: full)."""
    free = shutil.disk_usage(disk).free // 1024
    with open(disk / "filler", "wb") as filler:
        with contextlib.suppress(OSError):
            for _ in range(max(free - leave_kib, 0)):
                filler.write(b"\0" * 1024)
                filler.flush()


@pytest.mark.parametrize("leave_kib", [0, 40])
def test_a_full_disk_under_the_store_is_a_message_and_changes_nothing(night_one, small_disk, leave_kib):
    root = root_of(night_one)
    for name in ("sample.duckdb", "sample.duckdb.lock"):
        shutil.copy(root / "state" / name, small_disk / name)
    text = night_one.read_text(encoding="utf-8")
    night_one.write_text(
        text.replace('database = "../state/sample.duckdb"', f'database = "{small_disk}/sample.duckdb"'),
        encoding="utf-8",
    )
    fill(small_disk, leave_kib)
    store_bytes = hashlib.sha256((small_disk / "sample.duckdb").read_bytes()).hexdigest()
    published_before = fingerprint(root)
    result = run_cli("run", "--config", night_one, "--as-of", NIGHT_2)
    if leave_kib == 0:
        assert result.exit_code == 1, result.output
    # with a little room the sample's small night may fit (DuckDB keeps its log): published, or
    # a clean failure that changed nothing; never a traceback, never half of each
    assert result.exit_code in (0, 1), result.output
    if result.exit_code == 1:
        assert_clean_failure(result, "No space left on device")
        # the disk fills under the store's file or under the rule tables beside it, as the night's
        # writes fall: either message says to free space there
        said = result.output + (result.stderr or "")
        assert "Free space on that disk" in said or "Free disk space there" in said, said
        assert hashlib.sha256((small_disk / "sample.duckdb").read_bytes()).hexdigest() == store_bytes
        assert fingerprint(root) == published_before
    else:
        latest = (root / "out" / "sample" / "latest").resolve()
        assert json.loads((latest / "manifest.json").read_text())["as_of"].startswith(NIGHT_2[:19])


def test_a_full_disk_under_the_outputs_is_a_message_and_changes_nothing(night_one, small_disk):
    root = root_of(night_one)
    shutil.copytree(root / "out", small_disk / "out", symlinks=True)
    text = night_one.read_text(encoding="utf-8")
    night_one.write_text(
        text.replace('output = "../out/sample"', f'output = "{small_disk}/out/sample"'), encoding="utf-8"
    )
    fill(small_disk, 0)
    before = fingerprint(root), fingerprint(small_disk)
    result = invoke("run", "--config", night_one, "--as-of", NIGHT_2, expect=1)
    assert_clean_failure(result, "No space left on device")
    assert (fingerprint(root), fingerprint(small_disk)) == before
