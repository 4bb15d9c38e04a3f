"""A bounce mailbox's files loaded in batches (store.mailbox): whatever the batch size, the same
rows, quarantine, file records and outcomes as loading the files one by one gave."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from listhygiene import store
from listhygiene.config import load_config
from listhygiene.ingest.platforms import dsn
from listhygiene.rules import bounces
from listhygiene.store.loading import LoadReport, load_sources

from conftest import copy_sample, invoke, latest

FIXTURES = Path(__file__).parent / "data" / "dsn"
VERP = r"\+([A-Za-z]+-\d+)-"
NIGHT_1 = datetime(2026, 11, 30, 6, tzinfo=UTC)
NIGHT_2 = datetime(2026, 12, 1, 6, tzinfo=UTC)
MAILBOX = f'\n[[sources]]\nname = "maildir"\nformat = "dsn"\npath = "../mail/Maildir/*/*"\ncampaign_verp = \'{VERP}\'\n'

# The fixture's Maildir with an mbox of 4 messages among its files, the same bytes twice (the
# copy right after the original, so both fall in one batch of 3) and an empty file. In name order:
# (file, status, rows read, loaded, quarantined), as loading them one by one gave. The file in
# tmp/ (a message still being delivered) has none: it is not loaded, nor recorded.
OUTCOMES = [
    ("1764800050.mbox", "loaded", 4, 3, 1),  # qmail, Gmail, German bounces; one not a bounce
    ("1764800100.M2P1.mx:2,S", "loaded", 1, 1, 0),
    ("1764800101.M2P1.mx:2,S", "already_loaded", 1, 1, 0),  # the same bytes as the one before
    ("1764800160.M98P1.mx:2,S", "loaded", 0, 0, 0),  # zero bytes
    ("1764800200.M3P1.mx:2,S", "loaded", 2, 2, 0),  # Exchange: two failed recipients
    ("1764800300.M4P1.mx:2,S", "loaded", 0, 0, 0),  # a delay
    ("1764800400.M5P1.mx:2,S", "loaded", 1, 1, 0),  # an abuse report
    ("1764800500.M6P1.mx:2,S", "loaded", 0, 0, 0),  # an auto-reply
    ("1764800600.M7P1.mx:2,S", "loaded", 1, 0, 1),  # truncated
    ("1764800700.M8P1.mx:2,S", "loaded", 1, 0, 1),  # not an email
    ("1764800000.M1P1.mx:2,", "loaded", 1, 1, 0),  # new/
]
# (file, row: the message's position in it, address, event, class) of every stored row
BOUNCE_ROWS = [
    ("1764800000.M1P1.mx:2,", 1, "gone@acme.example", "bounce", "hard"),
    ("1764800050.mbox", 1, "nobody@qmail.example.net", "bounce", "hard"),
    ("1764800050.mbox", 2, "eve@gmail.example", "bounce", "hard"),
    ("1764800050.mbox", 3, "kurt@firma.example", "bounce", "soft"),
    ("1764800100.M2P1.mx:2,S", 1, "full@acme.example", "bounce", "soft"),
    ("1764800200.M3P1.mx:2,S", 1, "ann@acme.example", "bounce", "hard"),
    ("1764800200.M3P1.mx:2,S", 1, "bob@acme.example", "bounce", "soft"),
    ("1764800400.M5P1.mx:2,S", 1, "angry@isp.example", "complaint", None),
]
QUARANTINE = [
    ("1764800050.mbox", 4, "not a bounce, feedback report or auto-reply"),
    ("1764800600.M7P1.mx:2,S", 1, "truncated message: its MIME body ends before the closing boundary"),
    ("1764800700.M8P1.mx:2,S", 1, "not an email message (it does not start with header lines)"),
]


def mailbox(root: Path) -> Path:
    """The Maildir described by OUTCOMES under root/mail; returns its cur/ folder."""
    maildir = root / "mail" / "Maildir"
    shutil.copytree(FIXTURES / "maildir", maildir)
    cur = maildir / "cur"
    shutil.copy(FIXTURES / "bounces.mbox", cur / "1764800050.mbox")
    shutil.copy(cur / "1764800100.M2P1.mx:2,S", cur / "1764800101.M2P1.mx:2,S")
    (cur / "1764800160.M98P1.mx:2,S").write_bytes(b"")
    return cur


def pipeline(root: Path, limit: float = 1.0) -> Path:
    """A pipeline of the mailbox (and the contact export a run needs)."""
    mailbox(root)
    config = root / "pipelines" / "mail.toml"
    config.parent.mkdir(parents=True)
    (root / "contacts.csv").write_text("contact_id,email,list_id\nc1,ann@acme.example,news\n")
    config.write_text(
        '[store]\ndatabase = "../state/mail.duckdb"\noutput = "../out"\n'
        f"[policy]\nmax_quarantine_fraction = {limit}\n"
        '[[sources]]\nname = "crm"\nkind = "contacts"\npath = "../contacts.csv"\n' + MAILBOX
    )
    return config


def load(config: Path, at: datetime = NIGHT_1) -> LoadReport:
    """One night's loading, committed, as the run does it (without the rules and outputs)."""
    settings = load_config(config)
    con = store.connect(settings.database)
    try:
        con.begin()
        bounces.reclassify_if_rules_changed(con, settings)
        report = load_sources(con, settings, at)
        con.commit()
        return report
    finally:
        con.close()


def outcomes(report: LoadReport) -> list[tuple]:
    """The mailbox's files' outcomes."""
    return [
        (f.path.name, f.status, f.rows_read, f.rows_loaded, f.rows_quarantined)
        for f in report.files
        if f.source == "maildir"
    ]


def stored(config: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(config.parent.parent / "state" / "mail.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def file_name(column: str = "f.path") -> str:
    return f"regexp_extract({column}, '[^/]+$')"


@pytest.fixture(params=["1", "3", None], ids=["batches of 1", "batches of 3", "default batch"])
def batch_files(request, monkeypatch):
    if request.param is None:
        monkeypatch.delenv("LISTHYGIENE_MAILBOX_BATCH_FILES", raising=False)
    else:
        monkeypatch.setenv("LISTHYGIENE_MAILBOX_BATCH_FILES", request.param)
    return request.param


def test_any_batch_size_stores_the_rows_quarantine_and_files_of_one_by_one(tmp_path, batch_files):
    config = pipeline(tmp_path)
    report = load(config)
    assert outcomes(report) == OUTCOMES
    # the files of one message, which the guard judges together
    assert [f.path.name[:10] for f in report.files if f.one_message and f.source == "maildir"] == [
        "1764800100",
        "1764800200",
        "1764800300",
        "1764800400",
        "1764800500",
        "1764800600",
        "1764800700",
        "1764800000",
    ]
    assert report.warnings == ["maildir 1764800160.M98P1.mx:2,S: zero-byte file holds no records"]

    rows = stored(
        config,
        f"select {file_name()}, e.row_number, e.email, e.event, e.bounce_class from bounce_events e "
        "join input_files f using (file_id) order by 1, 2, 3",
    )
    assert rows == sorted(BOUNCE_ROWS)
    quarantine = stored(
        config,
        f"select {file_name()}, q.row_number, q.error from quarantine q join input_files f using (file_id) order by 1, 2",
    )
    assert [
        (name, row, error[: len(expected)])
        for (name, row, error), (_, _, expected) in zip(quarantine, QUARANTINE)
    ] == QUARANTINE
    assert len(quarantine) == len(QUARANTINE)
    # one record per file loaded (the copy is the original's), its counts those of its outcome
    files = stored(
        config,
        f"select {file_name('path')}, rows_read, rows_loaded, rows_quarantined, records_read, records_ignored, "
        "format, kind, size, mtime_ns is not null, length(sha256) from input_files where source = 'maildir' "
        "order by file_id",
    )
    records = {"1764800050.mbox": (4, 0), "1764800300.M4P1.mx:2,S": (1, 1), "1764800500.M6P1.mx:2,S": (1, 1)}
    expected = [
        (
            name,
            *counts,
            *records.get(name, (0, 0) if name.startswith("1764800160") else (1, 0)),
        )
        for name, status, *counts in OUTCOMES
        if status == "loaded"
    ]
    assert [row[:6] for row in files] == expected
    assert {row[6:8] for row in files} == {("dsn", "bounces")}
    sizes = {p.name: p.stat().st_size for p in (tmp_path / "mail" / "Maildir").glob("*/*")}
    assert [row[8] for row in files] == [sizes[row[0]] for row in files]
    assert all(row[9] and row[10] == 64 for row in files)


def test_the_manifest_of_a_night_loaded_in_batches_counts_each_file(tmp_path, monkeypatch):
    monkeypatch.setenv("LISTHYGIENE_MAILBOX_BATCH_FILES", "3")
    config = copy_sample(tmp_path)
    mailbox(tmp_path)
    text = config.read_text().replace("max_quarantine_fraction = 0.05", "max_quarantine_fraction = 1.0")
    config.write_text(text + MAILBOX)
    invoke("run", "--config", config, "--as-of", "2026-11-30T06:00:00Z")
    manifest = json.loads((latest(config) / "manifest.json").read_text())
    entries = {
        Path(e["path"]).name: (
            e["rows_read"],
            e["rows_loaded"],
            e["rows_quarantined"],
            e["loaded_in_this_run"],
        )
        for e in manifest["inputs"]
        if e["source"] == "maildir"
    }
    assert entries == {name: (*counts, True) for name, status, *counts in OUTCOMES if status == "loaded"}
    assert "maildir 1764800160.M98P1.mx:2,S: zero-byte file holds no records" in manifest["warnings"]
    explained = invoke("explain", "eve@gmail.example", "--config", config).output
    assert "maildir:1764800050.mbox row 2" in explained


def test_a_second_night_loads_only_the_new_messages_and_hashes_only_them(tmp_path, monkeypatch):
    monkeypatch.setenv("LISTHYGIENE_MAILBOX_BATCH_FILES", "3")
    config = pipeline(tmp_path)
    load(config)
    new = tmp_path / "mail" / "Maildir" / "new"
    original = (tmp_path / "mail" / "Maildir" / "cur" / "1764800100.M2P1.mx:2,S").read_bytes()
    for i in (1, 2):
        (new / f"1764900000.M{i}P3.mx:2,").write_bytes(
            original.replace(b"full@acme.example", f"full{i}@acme.example".encode())
        )
    read = []
    real = dsn.read_file
    monkeypatch.setattr(dsn, "read_file", lambda path: read.append(path.name) or real(path))
    report = load(config, NIGHT_2)
    # the new messages, and the copy (recorded by its original's content: known only once hashed)
    assert sorted(read) == ["1764800101.M2P1.mx:2,S", "1764900000.M1P3.mx:2,", "1764900000.M2P3.mx:2,"]
    loaded = [o for o in outcomes(report) if o[1] == "loaded"]
    assert loaded == [(f"1764900000.M{i}P3.mx:2,", "loaded", 1, 1, 0) for i in (1, 2)]
    assert len(outcomes(report)) == len(OUTCOMES) + 2
    assert stored(
        config, "select count(*), count(distinct loaded_at) from input_files where source = 'maildir'"
    ) == [(12, 2)]
    assert stored(
        config,
        "select e.email from bounce_events e join input_files f using (file_id) "
        "where f.loaded_at = (select max(loaded_at) from input_files) order by 1",
    ) == [("full1@acme.example",), ("full2@acme.example",)]


def test_the_same_bytes_twice_in_one_night_load_once(tmp_path, monkeypatch):
    monkeypatch.setenv("LISTHYGIENE_MAILBOX_BATCH_FILES", "100")  # both in one batch
    config = pipeline(tmp_path)
    report = load(config)
    copy = [o for o in outcomes(report) if o[0][:10] in ("1764800100", "1764800101")]
    assert copy == [
        ("1764800100.M2P1.mx:2,S", "loaded", 1, 1, 0),
        ("1764800101.M2P1.mx:2,S", "already_loaded", 1, 1, 0),
    ]
    assert stored(config, "select count(*) from bounce_events where email = 'full@acme.example'") == [(1,)]
    assert stored(config, "select count(*) from input_files where path similar to '.*17648001(00|01).*'") == [
        (1,)
    ]


def test_an_mbox_over_the_limit_is_refused_alone_among_messages_judged_together(tmp_path, monkeypatch):
    monkeypatch.setenv("LISTHYGIENE_MAILBOX_BATCH_FILES", "3")
    config = pipeline(tmp_path, limit=0.2)
    result = invoke("run", "--config", config, "--as-of", "2026-11-30T06:00:00Z", expect=3)
    mbox = tmp_path / "mail" / "Maildir" / "cur" / "1764800050.mbox"
    # the mbox alone: 1 of 4 (25%); the one-message files together: 2 of 7 (28.6%)
    assert (
        f"file {mbox} (maildir): 1 of 4 rows quarantined (25.0%, limit 20.0%); first: row 4: "
        "not a bounce, feedback report or auto-reply" in " ".join(result.output.split())
    )
    assert (
        "source maildir: 2 of 7 rows of tonight's 8 messages quarantined (28.6%, limit 20.0%" in result.output
    )
    assert not (tmp_path / "state" / "mail.duckdb").exists() or stored(
        config, "select count(*) from input_files"
    ) == [(0,)]


def test_a_forgotten_addresss_row_in_a_batch_is_held_and_only_its_file_named(tmp_path, monkeypatch):
    monkeypatch.setenv("LISTHYGIENE_MAILBOX_BATCH_FILES", "3")
    config = copy_sample(tmp_path)
    invoke("run", "--config", config, "--as-of", "2026-11-20T06:00:00Z")
    invoke("forget", "ann@acme.example", "--config", config)
    mailbox(tmp_path)
    text = config.read_text().replace("max_quarantine_fraction = 0.05", "max_quarantine_fraction = 1.0")
    config.write_text(text + MAILBOX)
    settings = load_config(config)
    con = store.connect(settings.database)
    try:
        con.begin()
        bounces.reclassify_if_rules_changed(con, settings)
        report = load_sources(con, settings, datetime.now(UTC))
        assert report.held is not None
        held_files = con.execute(
            f"select {file_name('path')} from input_files where file_id in (select unnest(?::integer[]))",
            [sorted(report.held.files)],
        ).fetchall()
        assert held_files == [("1764800200.M3P1.mx:2,S",)]
        rows = con.execute(
            f"select e.row_number, left(e.email, 10), e.diagnostic is null, e.email_raw is null "
            "from bounce_events e join input_files f using (file_id) "
            f"where {file_name()} = '1764800200.M3P1.mx:2,S' order by 2"
        ).fetchall()
        # ann's row under her tombstone, without the address or the diagnostic; bob's in clear
        assert rows == [(1, "bob@acme.e", False, False), (1, "forgotten:", True, True)]
        assert report.held.rows == {"bounce_events": 1}
    finally:
        con.rollback()
        con.close()


def test_files_are_recorded_under_their_resolved_path_through_linked_folders_and_links(tmp_path):
    """The planner resolves a file's folder once and its name only when the file is a link: the
    paths recorded are those Path.resolve() gives, as for any other source."""
    config = pipeline(tmp_path / "real")
    (tmp_path / "real" / "mail").rename(tmp_path / "elsewhere")
    (tmp_path / "real" / "mail").symlink_to(tmp_path / "elsewhere")
    cur = tmp_path / "elsewhere" / "Maildir" / "cur"
    (tmp_path / "kept").mkdir()
    (cur / "1764800400.M5P1.mx:2,S").rename(tmp_path / "kept" / "abuse.eml")
    (cur / "1764800400.M5P1.mx:2,S").symlink_to(tmp_path / "kept" / "abuse.eml")
    load(config)
    paths = [Path(p) for (p,) in stored(config, "select path from input_files where source = 'maildir'")]
    assert len(paths) == 10
    assert all(
        p == p.resolve() and p.is_relative_to((tmp_path / "elsewhere").resolve())
        for p in paths
        if p.name != "abuse.eml"
    )
    assert (tmp_path / "kept" / "abuse.eml").resolve() in paths


def test_a_message_caught_in_tmp_is_loaded_once_delivered(tmp_path):
    """A file in tmp/ is not recorded: recorded with no message read, its content would count as
    loaded when the delivery moves it to new/, and its bounce would never load."""
    config = pipeline(tmp_path)
    maildir = tmp_path / "mail" / "Maildir"
    (maildir / "new" / "1764800000.M1P1.mx:2,").rename(maildir / "tmp" / "1764809999.M7P7.mx")
    night_1 = outcomes(load(config))
    assert not [o for o in night_1 if o[0].startswith("1764809999")]
    (maildir / "tmp" / "1764809999.M7P7.mx").rename(maildir / "new" / "1764809999.M7P7.mx:2,")
    night_2 = outcomes(load(config, NIGHT_2))
    assert [o for o in night_2 if o[1] == "loaded"] == [("1764809999.M7P7.mx:2,", "loaded", 1, 1, 0)]
    assert stored(config, "select count(*) from bounce_events where email = 'gone@acme.example'") == [(1,)]
