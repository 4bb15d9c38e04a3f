"""Mailchimp audience exports: member files to contact rows and unsubscribe events, snapshots by folder date."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from listhygiene.config import Mapping, Source
from listhygiene.errors import InputError
from listhygiene.ingest.platforms import read_platform

from conftest import copy_sample, invoke, read

DATA = Path(__file__).parent / "data" / "platforms" / "mailchimp"
SINGLE = DATA / "single"
NIGHTS = DATA / "nights"
EXPORT = "members_export_7c41e9a0b2"
NIGHT_1 = "2026-11-20T06:00:00Z"
NIGHT_2 = "2026-11-21T06:00:00Z"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def source(path: str = "x", time_zone: str = "Europe/Berlin") -> Source:
    return Source(
        "mailchimp",
        None,
        path,
        format="mailchimp",
        list_id="newsletter",
        mapping=Mapping(time_zone=time_zone),
    )


def read_single(name: str, **kwargs):
    return read_platform(SINGLE / f"{name}_members_export_3f9a1c2b7d.csv", source(**kwargs))


def by_email(frame: pl.DataFrame) -> dict[str, dict]:
    return {row["email_raw"].strip(): row for row in frame.iter_rows(named=True)}


# --- members to rows --------------------------------------------------------------------------


def test_subscribed_members_are_contact_rows_with_merge_fields_as_attributes():
    result = read_single("subscribed")
    assert result.kind == "contacts"
    assert result.rows["row_number"].to_list() == [1, 6]  # 2-4 quarantined, 5 a blank line
    rows = by_email(result.rows)
    ruth = rows["ruth.miller@example.org"]
    assert ruth["contact_id"] == "118204571"  # LEID
    assert (ruth["list_id"], ruth["status"], ruth["status_raw"]) == ("newsletter", "subscribed", "subscribed")
    # CONFIRM_TIME is naive, in the source's time zone (Berlin, winter time in March)
    assert ruth["confirmed_at"] == utc(2026, 3, 1, 8, 20, 41)
    assert ruth["exported_at"] is None  # no date in the file's name or folders
    assert ruth["do_not_contact"] is False
    attributes = json.loads(ruth["attributes"])
    # columns that became canonical ones or live in the unsubscribe event are not attributes
    assert not {"Email Address", "LEID", "CONFIRM_TIME"} & set(attributes)
    assert attributes["First Name"] == "Ruth"
    assert attributes["Address"] == "12 High St, Leeds"
    assert attributes["Favourite Topic"] == "Gardening"  # a custom merge field
    assert attributes["OPTIN_TIME"] == "2026-03-01 09:15:00"
    assert attributes["EUID"] == "a1b2c3d4e5"
    assert attributes["TAGS"] == '"vip","spring-fair"'
    assert attributes["NOTES"] == ""  # empty cells are kept as ""
    assert attributes["APP_SIGNUP_SOURCE"] == "webform"  # a column Mailchimp does not define: kept
    assert list(attributes)[:3] == ["First Name", "Last Name", "Address"]  # header order
    assert result.other_rows == {}  # subscribed members carry no events
    assert result.records_read == 5 and result.records_ignored == 0


def test_member_without_leid_or_euid_gets_mailchimps_subscriber_hash():
    wei = by_email(read_single("subscribed").rows)["wei.chen@example.net"]
    assert wei["email_raw"] == " wei.chen@example.net "  # as exported; the loader normalizes
    assert wei["contact_id"] == hashlib.md5(b"wei.chen@example.net").hexdigest()
    assert wei["confirmed_at"] == utc(2026, 5, 5, 6, 0, 0)  # Berlin summer time


def test_malformed_member_rows_are_quarantined_with_the_reason_and_the_rest_loads():
    result = read_single("subscribed")
    quarantine = {row["row_number"]: row for row in result.quarantine.iter_rows(named=True)}
    assert sorted(quarantine) == [2, 3, 4]
    assert (quarantine[2]["column"], quarantine[2]["error"]) == ("email", "email is empty")
    assert quarantine[3]["column"] == "confirmed_at"
    assert quarantine[3]["error"] == "confirmed_at 'yesterday' is not an ISO 8601 timestamp"
    # an unquoted comma in Address shifted the row: nothing in it can be trusted
    assert quarantine[4]["column"] is None
    assert quarantine[4]["error"] == "row has 25 fields, header has 24"
    raw = json.loads(quarantine[4]["raw"])
    assert raw["_file_status"] == "subscribed" and raw["_extra_fields"] == ["import"]
    assert raw["Email Address"] == "ines@example.com"
    assert result.rows_read == 5


def test_unsubscribed_members_are_contacts_and_list_unsubscribe_events():
    result = read_single("unsubscribed")
    contacts = by_email(result.rows)
    assert sorted(contacts) == [
        "jon@example.com",
        "lena.fischer@example.de",
        "maya@example.com",
        "paul@example.com",
        "zoe@example.com",
    ]
    assert {r["status"] for r in contacts.values()} == {"unsubscribed"}
    assert {r["list_id"] for r in contacts.values()} == {"newsletter"}
    lena_attributes = json.loads(contacts["lena.fischer@example.de"]["attributes"])
    assert not any(k.startswith("UNSUB_") for k in lena_attributes)  # carried by the event
    assert lena_attributes["CC"] == "DE"

    events = by_email(result.other_rows["unsubscribes"])
    assert sorted(events) == ["lena.fischer@example.de", "maya@example.com", "paul@example.com"]
    lena = events["lena.fischer@example.de"]
    assert lena["occurred_at"] == utc(2026, 11, 18, 20, 4, 9)  # 21:04:09 in Berlin
    assert (lena["event"], lena["list_id"], lena["origin"]) == ("unsubscribe", "newsletter", "contact")
    assert lena["campaign_id"] == "c0ffee1234"
    assert lena["reason"] == "I no longer want to receive these emails"
    assert lena["event_ref"] is None  # equal columns make the same event: the loader's identity
    assert json.loads(lena["platform"]) == {
        "platform": "mailchimp",
        "file_status": "unsubscribed",
        "leid": "118204580",
        "euid": "2b3c4d5e6f",
        "campaign_title": "November Digest",
        "unsub_reason": "I no longer want to receive these emails",
        "unsub_reason_other": None,
    }
    # the export repeats UNSUB_REASON; the copy holding a value is the reason
    assert events["paul@example.com"]["reason"] == "N/A (Unsubscribed by an admin)"
    assert events["paul@example.com"]["campaign_id"] is None
    assert events["maya@example.com"]["reason"] == "Other: Too many emails"
    # Jon's UNSUB_TIME is not ISO 8601: his event is quarantined, his contact row loads
    [bad] = result.quarantine.iter_rows(named=True)
    assert (bad["row_number"], bad["column"]) == (4, "occurred_at")
    assert bad["error"] == "occurred_at '19/11/2026 08:00' is not an ISO 8601 timestamp"
    # Zoe's row has no UNSUB_TIME: her status says unsubscribed, there is no event to date


def test_cleaned_members_keep_the_clean_columns_as_attributes_and_yield_no_bounce():
    result = read_single("cleaned")
    [bob] = result.rows.iter_rows(named=True)
    assert (bob["contact_id"], bob["status"], bob["list_id"]) == ("118204590", "cleaned", "newsletter")
    attributes = json.loads(bob["attributes"])
    assert (
        attributes["CLEAN_TIME"],
        attributes["CLEAN_CAMPAIGN_ID"],
        attributes["CLEAN_CAMPAIGN_TITLE"],
    ) == ("2026-10-10 03:00:00", "d00d5678", "October Digest")
    # cleaned after a hard bounce or repeated soft ones: source_cleaned, not a guessed hard bounce
    assert result.other_rows == {}


def test_nonsubscribed_members_are_known_contacts_on_no_list():
    [cat] = read_single("nonsubscribed").rows.iter_rows(named=True)
    assert cat["email_raw"] == "customer.only@example.com"
    assert cat["contact_id"] == "118204595"
    assert cat["list_id"] is None
    assert cat["status_raw"] is None


def test_gzipped_export_with_byte_order_mark_reads_the_same(tmp_path):
    plain = SINGLE / "subscribed_members_export_3f9a1c2b7d.csv"
    assert plain.read_bytes().startswith(b"\xef\xbb\xbf")
    packed = tmp_path / "subscribed_members_export_3f9a1c2b7d.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    result = read_platform(packed, source())
    assert result.rows.equals(read_single("subscribed").rows)


def test_header_only_file_holds_no_members(tmp_path):
    path = tmp_path / "cleaned_members_export_3f9a1c2b7d.csv"
    path.write_text((SINGLE / "cleaned_members_export_3f9a1c2b7d.csv").read_text().splitlines()[0] + "\n")
    result = read_platform(path, source())
    assert (result.rows.height, result.quarantine.height, result.other_rows) == (0, 0, {})


# --- files that cannot be read ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "members_export_3f9a1c2b7d.csv",
        "audience.csv",
        "pending_members_export_3f9a1c2b7d.csv",
        "subscribed_members_export_3f9a1c2b7d.json",
    ],
)
def test_file_whose_name_does_not_say_the_status_is_refused(tmp_path, name):
    path = tmp_path / name
    shutil.copy(SINGLE / "subscribed_members_export_3f9a1c2b7d.csv", path)
    with pytest.raises(InputError) as caught:
        read_platform(path, source())
    message = str(caught.value)
    assert caught.value.file == str(path) and name in message
    assert "does not say which members it holds" in message
    assert "unsubscribed_members_export_<id>.csv" in message and "nonsubscribed_members_export" in message


def test_export_without_the_email_column_is_refused(tmp_path):
    path = tmp_path / "subscribed_members_export_3f9a1c2b7d.csv"
    path.write_text("Email,First Name,LEID\nruth.miller@example.org,Ruth,1\n")
    with pytest.raises(InputError) as caught:
        read_platform(path, source())
    assert caught.value.column == "Email Address"
    assert "required column 'Email Address' is missing" in str(caught.value)
    assert "ruth.miller" not in str(caught.value)  # no address in errors


# --- snapshot time ----------------------------------------------------------------------------


def test_dated_export_folder_gives_every_row_its_snapshot_time():
    folder = NIGHTS / "2026-11-21" / EXPORT
    glob_source = source(str(NIGHTS / "*" / "*" / "*.csv"))
    for name in ("subscribed", "unsubscribed", "cleaned"):
        result = read_platform(folder / f"{name}_members_export_7c41e9a0b2.csv", glob_source)
        assert set(result.rows["exported_at"]) == {utc(2026, 11, 21)}
        assert result.snapshot_at == utc(2026, 11, 21)


def test_date_in_the_file_name_wins_and_is_left_to_the_loader(tmp_path):
    folder = tmp_path / "2026-11-21"
    folder.mkdir()
    path = folder / "2026-11-22_subscribed_members_export_7c41e9a0b2.csv"
    shutil.copy(NIGHTS / "2026-11-21" / EXPORT / "subscribed_members_export_7c41e9a0b2.csv", path)
    result = read_platform(path, source(str(tmp_path / "*" / "*.csv")))
    assert result.rows["exported_at"].is_null().all()
    assert result.snapshot_at == utc(2026, 11, 22)


def test_date_in_the_fixed_part_of_the_path_is_not_a_snapshot_time(tmp_path):
    folder = tmp_path / "archive-2026-01-01" / "mailchimp" / "latest"
    folder.mkdir(parents=True)
    path = folder / "subscribed_members_export_7c41e9a0b2.csv"
    shutil.copy(NIGHTS / "2026-11-21" / EXPORT / "subscribed_members_export_7c41e9a0b2.csv", path)
    result = read_platform(path, source(str(tmp_path / "archive-2026-01-01" / "mailchimp" / "*" / "*.csv")))
    assert result.rows["exported_at"].is_null().all()
    assert result.snapshot_at is None  # the loader falls back on the load time


def test_header_only_file_in_a_dated_folder_shares_the_exports_snapshot(tmp_path):
    folder = tmp_path / "2026-11-21"
    folder.mkdir()
    path = folder / "cleaned_members_export_7c41e9a0b2.csv"
    path.write_text((SINGLE / "cleaned_members_export_3f9a1c2b7d.csv").read_text().splitlines()[0] + "\n")
    assert read_platform(path, source(str(tmp_path / "*" / "*.csv"))).snapshot_at == utc(2026, 11, 21)


# --- through the CLI --------------------------------------------------------------------------


def mailchimp_project(tmp_path: Path) -> tuple[Path, Path]:
    """The sample project plus a Mailchimp source reading data/mailchimp/<date>/<export>/."""
    config = copy_sample(tmp_path)
    with config.open("a", encoding="utf-8") as pipeline:
        pipeline.write(
            '\n[[sources]]\nname = "mailchimp"\nformat = "mailchimp"\nlist_id = "newsletter"\n'
            'time_zone = "Europe/Berlin"\n'
            'path = "../data/mailchimp/*/*/*_members_export_*.csv*"\n'
        )
    return config, tmp_path / "data" / "mailchimp"


def night(target: Path, date: str) -> Path:
    shutil.copytree(NIGHTS / date, target / date)
    return target / date / EXPORT


def run(config: Path, as_of: str) -> Path:
    invoke("run", "--config", config, "--as-of", as_of)
    return (config.parent.parent / "out" / "sample" / "latest").resolve()


def newsletter(run_dir: Path) -> dict[str, str | None]:
    status = read(run_dir, "contact_status").filter(pl.col("list_id") == "newsletter")
    return {r["email"]: r["reason"] for r in status.iter_rows(named=True)}


def test_two_nights_of_exports_through_the_cli(tmp_path):
    config, mailchimp = mailchimp_project(tmp_path)
    night(mailchimp, "2026-11-20")
    first = run(config, NIGHT_1)
    night_1 = newsletter(first)
    assert night_1["ruth.miller@example.org"] is None  # subscribed, confirmed: sendable
    assert night_1["leo@example.com"] is None
    assert night_1["kim@example.com"] == "unconfirmed"  # no CONFIRM_TIME on a double opt-in list
    assert night_1["lena.fischer@example.de"] == "list_unsubscribed"
    assert night_1["bounced.box@example.com"] == "source_cleaned"

    night(mailchimp, "2026-11-21")  # Leo unsubscribed in the evening: he moved files
    second = run(config, NIGHT_2)
    night_2 = newsletter(second)
    assert night_2["leo@example.com"] == "list_unsubscribed"
    assert night_2["noor@example.org"] is None  # joined on night 2
    assert night_2["old.inbox@example.com"] == "source_cleaned"
    assert night_2["ruth.miller@example.org"] is None
    vanished = read(second, "vanished").filter(pl.col("list_id") == "newsletter")
    leo = vanished.filter(pl.col("email") == "leo@example.com").row(0, named=True)
    assert (leo["reason"], leo["contact_id"]) == ("list_unsubscribed", "218300002")
    assert leo["reason_at"] == utc(2026, 11, 20, 18, 30)  # 19:30 in Berlin
    assert "leo@example.com" in read(first, "sendable").filter(pl.col("list_id") == "newsletter")["email"]
    assert "leo@example.com" not in read(second, "sendable")["email"]

    with duckdb.connect(str(tmp_path / "state" / "sample.duckdb"), read_only=True) as con:
        snapshots = con.sql("""select regexp_extract(path, '(2026-11-2\\d)', 1) as night, snapshot_at
                               from input_files where source = 'mailchimp'""").pl()
        # Lena's unsubscribe is in both nights' exports: one event, the repeat marked
        events = con.sql("""select email, occurred_at, campaign_id, is_duplicate from unsubscribe_events
                            where email = 'lena.fischer@example.de' order by file_id""").pl()
    assert snapshots.group_by("night").agg(pl.col("snapshot_at").unique()).sort("night").rows() == [
        ("2026-11-20", [utc(2026, 11, 20)]),
        ("2026-11-21", [utc(2026, 11, 21)]),
    ]
    assert events.rows() == [
        ("lena.fischer@example.de", utc(2026, 11, 18, 20, 4, 9), "c0ffee1234", False),
        ("lena.fischer@example.de", utc(2026, 11, 18, 20, 4, 9), "c0ffee1234", True),
    ]


def test_a_member_file_downloaded_twice_counts_its_unsubscribes_once(tmp_path):
    config, mailchimp = mailchimp_project(tmp_path)
    folder = night(mailchimp, "2026-11-20")
    shutil.copy(
        folder / "unsubscribed_members_export_7c41e9a0b2.csv",
        folder / "unsubscribed_members_export_7c41e9a0b2 (1).csv",
    )
    run(config, NIGHT_1)
    with duckdb.connect(str(tmp_path / "state" / "sample.duckdb"), read_only=True) as con:
        [(files,)] = con.execute("select count(*) from input_files where source = 'mailchimp'").fetchall()
        events = con.execute("""select is_duplicate from unsubscribe_events
                                where email = 'lena.fischer@example.de' order by file_id""").fetchall()
    # a contacts file is a part of its snapshot wherever it lies, so the copy is read too;
    # the unsubscribe it repeats is the same event and counts once
    assert (files, events) == (4, [(False,), (True,)])


def test_unchanged_member_file_in_the_next_nights_export_stays_in_the_snapshot(tmp_path):
    config, mailchimp = mailchimp_project(tmp_path)
    night(mailchimp, "2026-11-20")
    run(config, NIGHT_1)
    folder = night(mailchimp, "2026-11-21")
    shutil.copy(
        mailchimp / "2026-11-20" / EXPORT / "cleaned_members_export_7c41e9a0b2.csv",
        folder / "cleaned_members_export_7c41e9a0b2.csv",
    )  # nobody new was cleaned
    assert newsletter(run(config, NIGHT_2))["bounced.box@example.com"] == "source_cleaned"
