"""Loading files batch by batch: any batch size leaves the same store, quarantine and outputs."""

from __future__ import annotations

import gzip
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from listhygiene.ingest.reading import read_batches, read_input

from conftest import invoke

DATA = Path(__file__).parent / "data" / "ingest"
AS_OF = "2026-11-21T06:00:00Z"
UTC = UTC

# Records 1-12 (a quoted newline makes record 2 two lines; blank lines keep their numbers):
# BOM and CRLF, an invalid UTF-8 byte (3: quarantined, never loaded changed), a ragged row (6), a
# blank line (7), a line of bare separators (10), bad rows to quarantine (5, 9), the latest exported_at in the last batch.
CONTACTS = (
    b"\xef\xbb\xbfContact_ID, Email ,List_ID,Status,Confirmed_At,Do_Not_Contact,Exported_At,"
    b"First Name,Notes\r\n"
    b'c1,ann@example.com,news,Active,2026-01-02T03:04:05Z,no,2026-11-21T03:00:00Z,Ann,"likes cats, dogs"\r\n'
    b'c2,bob@example.com,,opted-out,,YES,2026-11-21T03:00:00Z,Bob,"line one\r\nline two"\r\n'
    b"c3,cid@example.com, news ,,2026-01-02,0,2026-11-20 23:00:00-05:00,Z\xffe,\r\n"
    b"c4,dan@example.com,offers,pending,,n,2026-11-21T03:00:00Z,Dan,\r\n"
    b"c5,eve@example.com,news,zombie,,maybe,2026-11-21T03:00:00Z,Eve,\r\n"
    b"c6,fay@example.com,news,Active,,no,2026-11-21T03:00:00Z,Fay,x,overflow\r\n"
    b"\r\n"
    b"c8,gus@example.com,offers,Active,,no,2026-11-21T03:00:00Z,Gus,\r\n"
    b",,news,Active,,no,2026-11-21T03:00:00Z,,\r\n"
    b",,,,,,,,\r\n"
    b"c11,hal@example.com,news,Active,2026-01-03,no,2026-11-21T03:30:00Z,Hal,\r\n"
    b"c12,ivy@example.com,offers,Active,,t,2026-11-21T03:00:00Z,Ivy,\r\n"
)
# The same unsubscribe twice (records 1 and 5: other batches) is one event; record 4 is bad.
UNSUBSCRIBES = (
    "email,occurred_at,event,list_id,source,evidence,evidence_ref,campaign_id,reason\n"
    "ann@example.com,2026-11-20T10:00:00Z,,news,,,,c-1,too many mails\n"
    "bob@example.com,2026-11-20,Do-Not-Contact,,admin,,,,\n"
    "cid@example.com,2026-11-20T12:00Z,resubscribe,news,integration,Signup Form,form-7,,\n"
    "dan@example.com,someday,unsubscribe,news,contact,,,,\n"
    "ANN@example.com,2026-11-20T10:00:00Z,,news,,,,c-1,too many mails\n"
    "\n"
    "fay@example.com,2026-11-19T08:00:00Z,complaint,,complaint,,,,\n"
)
# A platform-style CRM export: ';' separated, Windows-1252, its own column names.
MAPPED_BOUNCES = (
    "Adresse;Zeitpunkt;Art;Grund\n"
    'gus@example.com;2026-11-20 09:00:00;bounce;"smtp; 550 5.1.1 Empfänger unbekannt"\n'
    'hal@example.com;2026-11-20 09:05:00;bounce;"smtp; 452 4.2.2 Postfach voll"\n'
    "ivy@example.com;gestern;bounce;\n"
    'gus@example.com;2026-11-20 09:00:00;bounce;"smtp; 550 5.1.1 Empfänger unbekannt"\n'
).encode("windows-1252")


def bounces_parquet(path: Path) -> None:
    """Typed columns, one bad timestamp, a repeated bounce in another batch, written in two row groups."""
    pl.DataFrame(
        {
            "email": [
                "ann@example.com",
                "bob@example.com",
                "cid@example.com",
                "dan@example.com",
                "ann@example.com",
                "eve@example.com",
                "fay@example.com",
            ],
            "occurred_at": [
                "2026-11-20T10:00:00Z",
                "2026-11-20 11:30",
                "yesterday",
                "2026-11-20T12:00:00Z",
                "2026-11-20T10:00:00Z",
                "2026-11-20T13:00:00Z",
                "2026-11-20T14:00:00Z",
            ],
            "event": ["bounce", "Delivery", "bounce", "bounce", "bounce", "bounce", "bounce"],
            "bounce_type": ["Permanent", None, "soft", "hard", "Permanent", "Transient", "hard"],
            "smtp_code": [550, None, 421, 550, 550, 421, 554],
            "enhanced_code": ["5.1.1", None, "4.7.0", "5.1.1", "5.1.1", "4.2.2", "5.7.1"],
            "diagnostic": [
                "smtp; 550 5.1.1 user unknown",
                None,
                None,
                "no such user",
                "smtp; 550 5.1.1 user unknown",
                "mailbox full",
                "blocked as spam",
            ],
        }
    ).write_parquet(path, row_group_size=4)


PIPELINE = """
[store]
database = "state/store.duckdb"
output = "out"

[[sources]]
name = "crm"
kind = "contacts"
path = "in/contacts_*.csv"

[[sources]]
name = "unsubscribes"
kind = "unsubscribes"
path = "in/unsubscribes_*.csv.gz"

[[sources]]
name = "bounces"
kind = "bounces"
path = "in/bounces_*.parquet"

[[sources]]
name = "relay"
kind = "bounces"
format = "csv"
path = "in/relay_*.csv"
delimiter = ";"
encoding = "windows-1252"

[sources.columns]
"Adresse" = "email"
"Zeitpunkt" = "occurred_at"
"Art" = "event"
"Grund" = "diagnostic"

[lists.news]
require_confirmed_optin = false

[lists.offers]
require_confirmed_optin = false

[policy]
max_quarantine_fraction = {fraction}
max_list_drop_fraction = 1.0
"""


def workspace(folder: Path, fraction: float = 0.5) -> Path:
    """A pipeline over the files above; returns its pipeline file."""
    (folder / "in").mkdir(parents=True)
    (folder / "in" / "contacts_2026-11-21.csv").write_bytes(CONTACTS)
    packed = gzip.compress(UNSUBSCRIBES.encode(), mtime=0)  # no time in it: the same bytes each time
    (folder / "in" / "unsubscribes_2026-11-21.csv.gz").write_bytes(packed)
    bounces_parquet(folder / "in" / "bounces_2026-11-21.parquet")
    (folder / "in" / "relay_2026-11-21.csv").write_bytes(MAPPED_BOUNCES)
    config = folder / "pipeline.toml"
    config.write_text(PIPELINE.replace("{fraction}", str(fraction)))
    return config


STORE_TABLES = {
    # what each table is ordered by; the columns that name the workspace or the clock are left out
    "input_files": ("file_id", ["path", "loaded_at", "mtime_ns"]),
    "contact_rows": ("file_id, row_number", []),
    "unsubscribe_events": ("file_id, row_number", []),
    "bounce_events": ("file_id, row_number", []),
    "quarantine": ("file_id, row_number", []),
}


def store_tables(config: Path) -> dict[str, pl.DataFrame]:
    con = duckdb.connect(str(config.parent / "state" / "store.duckdb"), read_only=True)
    try:
        return {
            table: con.sql(f"select * from {table} order by {order}").pl().drop(volatile)
            for table, (order, volatile) in STORE_TABLES.items()
        }
    finally:
        con.close()


def outputs(config: Path) -> dict[str, pl.DataFrame]:
    """The run's Parquet outputs, without its id and with the workspace's folder left out of paths."""
    latest = config.parent / "out" / "latest"
    folder = str(config.parent.resolve())
    return {
        path.name: pl.read_parquet(path)
        .drop(pl.selectors.contains("run_id"))
        .with_columns(pl.selectors.string().str.replace(folder, "<workspace>", literal=True))
        for path in sorted(latest.glob("*.parquet"))
    }


def night(folder: Path, monkeypatch, batch_rows: int | None, fraction: float = 0.5, expect: int = 0):
    """Run the night on a fresh workspace with the given batch size (None: the default)."""
    if batch_rows is None:
        monkeypatch.delenv("LISTHYGIENE_BATCH_ROWS", raising=False)
    else:
        monkeypatch.setenv("LISTHYGIENE_BATCH_ROWS", str(batch_rows))
    config = workspace(folder, fraction)
    result = invoke("run", "--config", config, "--as-of", AS_OF, expect=expect)
    return config, result


@pytest.mark.parametrize("batch_rows", [1, 3, 4])
def test_small_batches_load_the_same_store_and_outputs_as_the_default(tmp_path, monkeypatch, batch_rows):
    whole, _ = night(tmp_path / "default", monkeypatch, None)
    batched, _ = night(tmp_path / "batched", monkeypatch, batch_rows)

    expected, got = store_tables(whole), store_tables(batched)
    for table in STORE_TABLES:
        assert_frame_equal(got[table], expected[table], check_exact=True)
    assert outputs(batched).keys() == outputs(whole).keys()
    for name, frame in outputs(whole).items():
        assert_frame_equal(outputs(batched)[name], frame, check_exact=True)

    # what the files held, as counted: read = loaded + quarantined, file by file
    files = {row["source"]: row for row in got["input_files"].iter_rows(named=True)}
    assert {s: (f["rows_read"], f["rows_loaded"], f["rows_quarantined"]) for s, f in files.items()} == {
        "crm": (10, 6, 4),
        "unsubscribes": (6, 5, 1),
        "bounces": (7, 6, 1),
        "relay": (4, 3, 1),
    }
    assert files["crm"]["attribute_columns"] == ["First Name", "Notes"]
    assert files["crm"]["snapshot_at"] == datetime(
        2026, 11, 21, 3, 30, tzinfo=UTC
    )  # record 11 (record 3, later, is quarantined)
    quarantined = got["quarantine"].join(got["input_files"].select("file_id", "source"), on="file_id")
    assert quarantined.filter(pl.col("source") == "crm")["row_number"].to_list() == [3, 5, 6, 9]
    unsubscribes = got["unsubscribe_events"]
    ann = unsubscribes.filter(pl.col("email") == "ann@example.com")
    assert ann["is_duplicate"].to_list() == [False, True]
    bounces = got["bounce_events"].filter(pl.col("email") == "ann@example.com")
    assert bounces["is_duplicate"].to_list() == [False, True]
    relay = got["bounce_events"].filter(pl.col("email") == "gus@example.com")
    assert relay["is_duplicate"].to_list() == [False, True]
    assert relay["diagnostic"][0] == "smtp; 550 5.1.1 Empfänger unbekannt"


def test_a_bad_row_in_a_later_batch_keeps_its_record_number_in_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("LISTHYGIENE_BATCH_ROWS", "4")
    path = tmp_path / "contacts_2026-11-21.csv"
    path.write_bytes(CONTACTS)

    reading = read_batches(path, source="crm", kind="contacts", sha256="")
    numbers = [batch["row_number"].to_list() for batch in reading]

    # Batches of 4 records, the header being the first batch's first: the second batch holds
    # records 4-7, of which 5 is quarantined (status and do_not_contact), 6 is ragged, 7 blank.
    assert numbers == [[1, 2], [4], [8, 11], [12]]
    quarantine = reading.result.quarantine
    assert quarantine["row_number"].to_list() == [3, 5, 6, 9]
    third, fifth = quarantine.row(0, named=True), quarantine.row(1, named=True)
    # the raw row keeps the replacement character: what the reader saw, for the operator to find
    assert (
        third["column"] == "First Name"
        and "bytes that are not valid in the file's encoding" in third["error"]
    )
    assert 'encoding = "windows-1252"' in third["error"]
    assert fifth["column"] == "status"
    assert "unknown status 'zombie'" in fifth["error"] and "'maybe' is not a boolean" in fifth["error"]
    assert json.loads(fifth["raw"])["Contact_ID"] == "c5"
    assert json.loads(quarantine["raw"][2])["_extra_fields"] == ["overflow"]
    assert reading.result.rows_read == 10
    assert reading.result.warnings == ["skipped 2 empty row(s) (no value in any column)"]


@pytest.mark.parametrize("name", ["contacts_2026-11-21.csv", "contacts_2026-11-21.csv.gz"])
def test_read_input_gathers_the_batches_into_the_same_result(tmp_path, monkeypatch, name):
    path = tmp_path / name
    path.write_bytes(gzip.compress(CONTACTS, mtime=0) if name.endswith(".gz") else CONTACTS)
    whole = read_input(path, source="crm", kind="contacts")
    monkeypatch.setenv("LISTHYGIENE_BATCH_ROWS", "2")
    batched = read_input(path, source="crm", kind="contacts")

    assert batched.rows.equals(whole.rows) and batched.quarantine.equals(whole.quarantine)
    assert (batched.rows_read, batched.snapshot_at, batched.warnings, batched.sha256) == (
        whole.rows_read,
        whole.snapshot_at,
        whole.warnings,
        whole.sha256,
    )


def test_a_file_over_the_quarantine_limit_is_refused_alike_and_nothing_is_kept(tmp_path, monkeypatch):
    _, whole = night(tmp_path / "default", monkeypatch, None, fraction=0.1, expect=3)
    config, batched = night(tmp_path / "batched", monkeypatch, 2, fraction=0.1, expect=3)

    def message(result, folder):
        """The output without the log lines' times and the workspace's folder."""
        text = re.sub(r"(?m)^\d{4}-\d\d-\d\dT[\d:]+ ", "", result.output)
        return text.replace(str((tmp_path / folder).resolve()), "<workspace>")

    assert message(batched, "batched") == message(whole, "default")
    assert "row 5, column 'status'" in batched.output
    tables = store_tables(config)
    assert all(frame.is_empty() for frame in tables.values()), tables


def test_validate_reads_in_batches_and_reports_as_the_run_counts(tmp_path, monkeypatch):
    """`validate` iterates the same batches as a run: per file, rows read, valid and quarantined
    are those the run records (read = valid + quarantined), at any batch size."""
    reports = {}
    for batch_rows in (None, 3):
        if batch_rows is None:
            monkeypatch.delenv("LISTHYGIENE_BATCH_ROWS", raising=False)
        else:
            monkeypatch.setenv("LISTHYGIENE_BATCH_ROWS", str(batch_rows))
        config = workspace(tmp_path / f"validate-{batch_rows}")
        result = invoke("validate", "--config", config)
        reports[batch_rows] = result.stdout.replace(str(config.parent.resolve()), "<workspace>")
        assert not (config.parent / "state").exists()  # validate writes nothing
    assert reports[3] == reports[None]
    for source, (read, valid, quarantined) in {
        "crm": (10, 6, 4),
        "unsubscribes": (6, 5, 1),
        "bounces": (7, 6, 1),
        "relay": (4, 3, 1),
    }.items():
        line = next(line for line in reports[3].splitlines() if line.startswith(source + " "))
        assert line.split()[2:] == [str(read), str(valid), str(quarantined), "ok"], line
