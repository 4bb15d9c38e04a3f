"""Tests of read_input on real small files: formats, headers, parsing, quarantine reports, snapshot times."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from listhygiene.errors import InputError
from listhygiene.ingest import parsing as ingest
from listhygiene.ingest.parsing import timestamp_in_name
from listhygiene.ingest.reading import ReadResult, file_sha256, read_input

DATA = Path(__file__).parent / "data" / "ingest"
UTC = UTC

OUTPUT_SCHEMAS = {
    "contacts": {
        "row_number": pl.Int64,
        "contact_id": pl.String,
        "email_raw": pl.String,
        "list_id": pl.String,
        "status": pl.String,
        "status_raw": pl.String,
        "confirmed_at": pl.Datetime("us", "UTC"),
        "do_not_contact": pl.Boolean,
        "exported_at": pl.Datetime("us", "UTC"),
        "attributes": pl.String,
    },
    "unsubscribes": {
        "row_number": pl.Int64,
        "email_raw": pl.String,
        "occurred_at": pl.Datetime("us", "UTC"),
        "event": pl.String,
        "list_id": pl.String,
        "origin": pl.String,
        "evidence": pl.String,
        "evidence_ref": pl.String,
        "campaign_id": pl.String,
        "reason": pl.String,
    },
    "bounces": {
        "row_number": pl.Int64,
        "email_raw": pl.String,
        "occurred_at": pl.Datetime("us", "UTC"),
        "event": pl.String,
        "campaign_id": pl.String,
        "bounce_type": pl.String,
        "smtp_code": pl.Int32,
        "enhanced_code": pl.String,
        "diagnostic": pl.String,
    },
}
# the row, what is wrong, the raw text, and what identifies its record where the row had it
QUARANTINE_SCHEMA = {
    "row_number": pl.Int64,
    "column": pl.String,
    "error": pl.String,
    "raw": pl.String,
    "contact_id": pl.String,
    "list_id": pl.String,
    "email_raw": pl.String,
}
HEADERS = {
    "contacts": "contact_id,email",
    "unsubscribes": "email,occurred_at",
    "bounces": "email,occurred_at",
}


def write(directory: Path, name: str, content: bytes | str) -> Path:
    """Write a test input file; text is written as UTF-8 bytes exactly as given."""
    path = directory / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def read(path: Path, kind: str) -> ReadResult:
    """read_input, checking the invariants every result must keep."""
    result = read_input(path, source="test-source", kind=kind)
    assert result.rows_read == result.rows.height + result.quarantine.height
    assert dict(result.rows.schema) == OUTPUT_SCHEMAS[kind]
    assert dict(result.quarantine.schema) == QUARANTINE_SCHEMA
    assert result.source == "test-source" and result.kind == kind and result.path == Path(path)
    return result


def only_quarantined(result: ReadResult) -> dict:
    """The single quarantined row, with raw decoded."""
    assert result.quarantine.height == 1, result.quarantine
    row = result.quarantine.row(0, named=True)
    row["raw"] = json.loads(row["raw"])
    return row


# --- formats and encodings -------------------------------------------------------------------


def test_bom_crlf_quoted_commas_embedded_newline_and_bad_utf8():
    result = read(DATA / "contacts_bom_crlf.csv", "contacts")

    assert result.rows.get_column("contact_id").to_list() == ["c1", "c2"]
    assert result.rows.get_column("row_number").to_list() == [1, 2]
    attributes = [json.loads(a) for a in result.rows.get_column("attributes")]
    assert attributes[0] == {"First Name": "Ann", "Notes": "likes cats, dogs"}
    assert attributes[1]["Notes"] == "line one\r\nline two"
    assert result.rows.get_column("list_id").to_list() == ["news", None]
    # An invalid UTF-8 byte is never loaded changed: its row is quarantined, saying where and why.
    [bad] = result.quarantine.to_dicts()
    assert (bad["row_number"], bad["column"]) == (3, "First Name")
    assert "bytes that are not valid in the file's encoding (in column First Name)" in bad["error"]
    assert 'set encoding = "windows-1252"' in bad["error"]
    assert json.loads(bad["raw"])["First Name"] == "Z\ufffde"


def test_file_facts_hash_and_size():
    path = DATA / "contacts_bom_crlf.csv"
    result = read(path, "contacts")
    assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() == file_sha256(path)
    assert result.size == path.stat().st_size


def test_gzip_reads_like_plain_csv(tmp_path):
    plain = DATA / "bounces_sample.csv"
    packed = write(tmp_path, "bounces.csv.gz", gzip.compress(plain.read_bytes()))

    from_plain, from_gzip = read(plain, "bounces"), read(packed, "bounces")

    assert from_gzip.rows.equals(from_plain.rows)
    assert from_gzip.quarantine.equals(from_plain.quarantine)
    assert from_gzip.sha256 == hashlib.sha256(packed.read_bytes()).hexdigest()


@pytest.mark.parametrize("damage", ["truncated", "flipped byte", "not gzip"])
def test_corrupt_gzip_is_an_input_error_naming_the_file(tmp_path, damage):
    packed = gzip.compress((DATA / "bounces_sample.csv").read_bytes() * 50)
    broken = {
        "truncated": packed[: len(packed) // 2],
        "flipped byte": packed[:-8] + bytes(8),
        "not gzip": b"\x1f\x8b\x08\x00garbage",
    }[damage]
    path = write(tmp_path, "bounces.csv.gz", broken)

    with pytest.raises(InputError) as caught:
        read_input(path, source="s", kind="bounces")

    assert caught.value.file == str(path)
    assert str(path) in str(caught.value)
    assert "gzip" in caught.value.hint and "corrupt" in caught.value.hint


def test_parquet_with_typed_columns(tmp_path):
    path = tmp_path / "contacts.parquet"
    pl.DataFrame(
        {
            "contact_id": [1, 2],
            "Email": ["a@x.com", "b@x.com"],
            "do_not_contact": [True, None],
            "confirmed_at": pl.Series([datetime(2026, 1, 2, 4, 0), None]).dt.replace_time_zone(
                "Europe/Paris"
            ),
            "exported_at": [datetime(2026, 11, 21, 3, 0, 0, 123456), datetime(2026, 11, 21, 3, 0)],
            "score": [1.5, None],
        }
    ).write_parquet(path)

    result = read(path, "contacts")

    rows = result.rows
    assert rows.get_column("contact_id").to_list() == ["1", "2"]
    assert rows.get_column("do_not_contact").to_list() == [True, False]
    # Zone-aware timestamps convert to UTC; naive ones are UTC already.
    assert rows.get_column("confirmed_at").to_list() == [datetime(2026, 1, 2, 3, 0, tzinfo=UTC), None]
    assert rows.get_column("exported_at").to_list()[0] == datetime(2026, 11, 21, 3, 0, 0, 123456, tzinfo=UTC)
    assert result.snapshot_at == datetime(2026, 11, 21, 3, 0, 0, 123456, tzinfo=UTC)
    assert json.loads(rows.get_column("attributes")[0]) == {"score": "1.5"}
    assert json.loads(rows.get_column("attributes")[1]) == {"score": ""}


def test_parquet_bounces_with_integer_codes_and_a_bad_row(tmp_path):
    path = tmp_path / "bounces.parquet"
    pl.DataFrame(
        {
            "email": ["a@x.com", "b@x.com"],
            "occurred_at": [datetime(2026, 11, 20, 10, 0), datetime(2026, 11, 20, 11, 0)],
            "smtp_code": [550, 99],
            "enhanced_code": ["5.1.1", None],
        }
    ).write_parquet(path)

    result = read(path, "bounces")

    assert result.rows.get_column("smtp_code").to_list() == [550]
    bad = only_quarantined(result)
    assert bad["row_number"] == 2
    assert bad["column"] == "smtp_code"
    assert bad["error"] == "smtp_code '99' holds no SMTP reply code (expected a 3-digit code 2xx-5xx)"
    assert bad["raw"] == {
        "email": "b@x.com",
        "occurred_at": "2026-11-20T11:00:00",
        "smtp_code": "99",
        "enhanced_code": "",
    }


def test_truncated_parquet_is_an_input_error_naming_the_file(tmp_path):
    whole = tmp_path / "whole.parquet"
    pl.DataFrame({"email": ["a@x.com"] * 100, "occurred_at": ["2026-01-01"] * 100}).write_parquet(whole)
    path = write(tmp_path, "bounces.parquet", whole.read_bytes()[:-40])

    with pytest.raises(InputError) as caught:
        read_input(path, source="s", kind="bounces")

    assert str(path) in str(caught.value)
    assert "truncated or corrupt" in caught.value.hint


@pytest.mark.parametrize("name", ["bounces.json", "bounces.xlsx", "bounces.csv.zip", "bounces"])
def test_unsupported_format_names_file_and_accepted_formats(tmp_path, name):
    path = write(tmp_path, name, "email,occurred_at\n")
    with pytest.raises(InputError) as caught:
        read_input(path, source="s", kind="bounces")
    message = str(caught.value)
    assert str(path) in message
    assert ".csv, .csv.gz, .parquet" in message


def test_upper_case_extension_is_accepted(tmp_path):
    path = write(tmp_path, "BOUNCES.CSV", "email,occurred_at\na@x.com,2026-01-01\n")
    assert read(path, "bounces").rows.height == 1


# --- headers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["unsubscribes", "bounces"])
@pytest.mark.parametrize("header", ["  EMAIL ,Occurred_At", "Email,OCCURRED_AT ", "\temail\t, occurred_at"])
def test_header_names_match_ignoring_case_and_surrounding_spaces(tmp_path, kind, header):
    path = write(tmp_path, f"{kind}.csv", f"{header}\na@x.com,2026-11-20T10:00:00Z\n")

    result = read(path, kind)

    assert result.rows.get_column("email_raw").to_list() == ["a@x.com"]
    assert result.rows.get_column("occurred_at").to_list() == [datetime(2026, 11, 20, 10, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("kind", "header", "missing"),
    [
        ("contacts", "contact_id,e-mail,list_id", "email"),
        ("contacts", "email,list_id", "contact_id"),
        ("unsubscribes", "email,when", "occurred_at"),
        ("bounces", "address,occurred_at", "email"),
    ],
)
def test_missing_required_column_names_file_column_and_columns_found(tmp_path, kind, header, missing):
    path = write(tmp_path, f"{kind}.csv", f"{header}\nx,y,z\n")

    with pytest.raises(InputError) as caught:
        read_input(path, source="s", kind=kind)

    message = str(caught.value)
    assert caught.value.column == missing
    assert str(path) in message
    assert f"required column '{missing}' is missing" in message
    for found in header.split(","):
        assert repr(found) in message
    assert caught.value.hint.startswith("Add the column to the export")


def test_binary_file_fails_as_missing_columns_with_a_hint_that_it_is_not_csv(tmp_path):
    path = write(tmp_path, "contacts.csv", bytes(range(256)) * 40)

    with pytest.raises(InputError) as caught:
        read_input(path, source="s", kind="contacts")

    assert "required column 'contact_id' is missing" in str(caught.value)
    assert "does not look like a CSV with a header row" in caught.value.hint


def test_semicolon_separated_file_gets_a_separator_hint(tmp_path):
    path = write(tmp_path, "bounces.csv", "email;occurred_at\na@x.com;2026-01-01\n")
    with pytest.raises(InputError) as caught:
        read_input(path, source="s", kind="bounces")
    assert "separated by ';', not commas" in caught.value.hint


def test_a_column_given_twice_is_an_input_error(tmp_path):
    path = write(tmp_path, "bounces.csv", "email,occurred_at,EMAIL\na@x.com,2026-01-01,b@x.com\n")
    with pytest.raises(InputError) as caught:
        read_input(path, source="s", kind="bounces")
    assert "column 'email' appears 2 times" in str(caught.value)


# --- empty files -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["contacts.csv", "contacts.csv.gz", "contacts.parquet"])
def test_zero_byte_contacts_export_is_an_input_error(tmp_path, name):
    path = write(tmp_path, name, b"")
    with pytest.raises(InputError) as caught:
        read_input(path, source="s", kind="contacts")
    message = str(caught.value)
    assert "a zero-byte contacts export would make every contact vanish" in message
    assert str(path) in message


def test_gzip_of_nothing_counts_as_an_empty_contacts_export(tmp_path):
    path = write(tmp_path, "contacts.csv.gz", gzip.compress(b""))
    with pytest.raises(InputError, match="would make every contact vanish"):
        read_input(path, source="s", kind="contacts")


@pytest.mark.parametrize(("kind", "label"), [("bounces", "bounce log"), ("unsubscribes", "unsubscribe log")])
@pytest.mark.parametrize("name", ["log.csv", "log.csv.gz", "log.parquet"])
def test_zero_byte_log_holds_nothing_and_warns(tmp_path, kind, label, name):
    path = write(tmp_path, name, b"")

    result = read(path, kind)

    assert result.rows_read == 0 and result.rows.is_empty() and result.quarantine.is_empty()
    assert result.size == 0
    assert result.sha256 == hashlib.sha256(b"").hexdigest()
    assert result.warnings == [f"zero-byte {label} holds no events"]
    assert result.snapshot_at is None


@pytest.mark.parametrize("kind", ["contacts", "unsubscribes", "bounces"])
@pytest.mark.parametrize("ending", ["\n", "\r\n", ""])
def test_header_only_file_is_valid_and_holds_nothing(tmp_path, kind, ending):
    path = write(tmp_path, f"{kind}.csv", HEADERS[kind] + ending)

    result = read(path, kind)

    assert result.rows_read == 0 and result.rows.is_empty() and result.quarantine.is_empty()
    assert result.warnings == []


@pytest.mark.parametrize("kind", ["contacts", "unsubscribes", "bounces"])
def test_header_only_parquet_is_valid_and_holds_nothing(tmp_path, kind):
    path = tmp_path / f"{kind}.parquet"
    pl.DataFrame(schema=dict.fromkeys(HEADERS[kind].split(","), pl.String)).write_parquet(path)
    result = read(path, kind)
    assert result.rows_read == 0 and result.rows.is_empty()


def test_blank_lines_are_skipped_but_keep_row_numbers(tmp_path):
    path = write(
        tmp_path, "bounces.csv", "email,occurred_at\na@x.com,2026-01-01\n\n,\nb@x.com,2026-01-02\n\n"
    )

    result = read(path, "bounces")

    assert result.rows.get_column("row_number").to_list() == [1, 4]
    assert result.rows_read == 2
    assert result.warnings == ["skipped 3 empty row(s) (no value in any column)"]


# --- ragged rows -------------------------------------------------------------------------------


def test_row_with_more_fields_than_the_header_is_quarantined(tmp_path):
    path = write(
        tmp_path,
        "bounces.csv",
        "email,occurred_at,event\n"
        "a@x.com,2026-01-01,bounce\n"
        "b@x.com,2026-01-02,bounce,oops,,\n"
        "c@x.com,2026-01-03\n",
    )

    result = read(path, "bounces")

    assert result.rows.get_column("row_number").to_list() == [1, 3]
    bad = only_quarantined(result)
    assert bad["row_number"] == 2
    assert bad["column"] is None
    assert bad["error"] == "row has 4 fields, header has 3"
    assert bad["raw"] == {
        "email": "b@x.com",
        "occurred_at": "2026-01-02",
        "event": "bounce",
        "_extra_fields": ["oops"],
    }


def test_far_too_long_row_reports_a_lower_bound(tmp_path):
    path = write(tmp_path, "bounces.csv", "email,occurred_at\n" + ",".join(["x"] * 30) + "\n")
    bad = only_quarantined(read(path, "bounces"))
    assert bad["error"].startswith("row has at least 10 fields, header has 2;")


def test_trailing_empty_fields_are_not_ragged(tmp_path):
    path = write(tmp_path, "bounces.csv", "email,occurred_at\na@x.com,2026-01-01,,\n")
    result = read(path, "bounces")
    assert result.rows.height == 1 and result.quarantine.is_empty()


def test_short_rows_are_padded_with_empty_values(tmp_path):
    path = write(tmp_path, "unsubscribes.csv", "email,occurred_at,event,list_id\na@x.com,2026-01-01\n")
    row = read(path, "unsubscribes").rows.row(0, named=True)
    assert row["event"] == "unsubscribe" and row["list_id"] is None


# --- quarantine reports ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "csv_text", "column", "error"),
    [
        pytest.param(
            "bounces",
            "email,occurred_at\na@x.com,yesterday\n",
            "occurred_at",
            "occurred_at 'yesterday' is not an ISO 8601 timestamp",
            id="bad timestamp",
        ),
        pytest.param(
            "bounces",
            "email,occurred_at\na@x.com,2026-02-30\n",
            "occurred_at",
            "occurred_at '2026-02-30' is not an ISO 8601 timestamp",
            id="impossible date",
        ),
        pytest.param(
            "unsubscribes",
            "email,occurred_at\na@x.com,\n",
            "occurred_at",
            "occurred_at is empty",
            id="empty occurred_at",
        ),
        pytest.param(
            "bounces",
            "email,occurred_at,event\na@x.com,2026-01-01,Foo\n",
            "event",
            "unknown event 'Foo' (expected one of bounce, delivered, complaint)",
            id="unknown bounce event",
        ),
        pytest.param(
            "unsubscribes",
            "email,occurred_at,event\na@x.com,2026-01-01,cancel\n",
            "event",
            "unknown event 'cancel' (expected one of unsubscribe, resubscribe, complaint, "
            "do_not_contact, do_contact)",
            id="unknown unsubscribe event",
        ),
        pytest.param(
            "unsubscribes",
            "email,occurred_at,source\na@x.com,2026-01-01,robot\n",
            "source",
            "unknown source 'robot' (expected one of contact, list_unsubscribe, complaint, "
            "admin, integration, import)",
            id="unknown source",
        ),
        pytest.param(
            "contacts",
            "contact_id,email,status\nc1,a@x.com,Zombie\n",
            "status",
            "unknown status 'Zombie' (expected one of subscribed, unsubscribed, pending, cleaned)",
            id="unknown status",
        ),
        pytest.param("contacts", "contact_id,email\nc1,\n", "email", "email is empty", id="empty email"),
        pytest.param("contacts", "contact_id,email\nc1,   \n", "email", "email is empty", id="blank email"),
        pytest.param(
            "contacts",
            "contact_id,email\n,a@x.com\n",
            "contact_id",
            "contact_id is empty",
            id="empty contact_id",
        ),
        pytest.param(
            "contacts",
            "contact_id,email,do_not_contact\nc1,a@x.com,maybe\n",
            "do_not_contact",
            "do_not_contact 'maybe' is not a boolean (expected true/false, yes/no, 1/0, y/n or t/f)",
            id="bad boolean",
        ),
        pytest.param(
            "contacts",
            "contact_id,email,confirmed_at\nc1,a@x.com,21/11/2026\n",
            "confirmed_at",
            "confirmed_at '21/11/2026' is not an ISO 8601 timestamp",
            id="non-ISO date",
        ),
        pytest.param(
            "bounces",
            "email,occurred_at,bounce_type\na@x.com,2026-01-01,squishy\n",
            "bounce_type",
            "unknown bounce_type 'squishy' (expected one of hard, soft, block, unknown)",
            id="bad bounce_type",
        ),
        pytest.param(
            "bounces",
            "email,occurred_at,smtp_code\na@x.com,2026-01-01,OK\n",
            "smtp_code",
            "smtp_code 'OK' holds no SMTP reply code (expected a 3-digit code 2xx-5xx)",
            id="bad smtp_code",
        ),
        pytest.param(
            "bounces",
            "email,occurred_at,enhanced_code\na@x.com,2026-01-01,5.1\n",
            "enhanced_code",
            "enhanced_code '5.1' holds no enhanced status code (expected one like 5.1.1)",
            id="bad enhanced_code",
        ),
    ],
)
def test_bad_value_is_quarantined_with_row_column_and_exact_error(tmp_path, kind, csv_text, column, error):
    path = write(tmp_path, f"{kind}.csv", csv_text)

    result = read(path, kind)

    assert result.rows.is_empty()
    bad = only_quarantined(result)
    assert bad["row_number"] == 1
    assert bad["column"] == column
    assert bad["error"] == error
    header, line = csv_text.splitlines()
    assert bad["raw"] == dict(zip(header.split(","), line.split(",")))


def test_every_problem_of_a_row_is_reported_and_the_first_column_named(tmp_path):
    path = write(
        tmp_path,
        "bounces.csv",
        "Email,Occurred_At,Event,Smtp_Code\na@x.com,2026-01-01,bounce,550\n,soon,pong,abc\n",
    )

    bad = only_quarantined(read(path, "bounces"))

    assert bad["row_number"] == 2
    assert bad["column"] == "email"
    assert bad["error"] == (
        "email is empty; occurred_at 'soon' is not an ISO 8601 timestamp; "
        "unknown event 'pong' (expected one of bounce, delivered, complaint); "
        "smtp_code 'abc' holds no SMTP reply code (expected a 3-digit code 2xx-5xx)"
    )
    assert bad["raw"] == {"Email": "", "Occurred_At": "soon", "Event": "pong", "Smtp_Code": "abc"}


def test_long_bad_values_are_cut_in_messages_but_kept_whole_in_raw(tmp_path):
    value = "x" * 200
    path = write(tmp_path, "bounces.csv", f"email,occurred_at\na@x.com,{value}\n")
    bad = only_quarantined(read(path, "bounces"))
    assert bad["error"] == f"occurred_at '{'x' * 80}…' is not an ISO 8601 timestamp"
    assert bad["raw"]["occurred_at"] == value


def test_quarantine_keeps_file_order_among_good_rows(tmp_path):
    lines = [f"u{i}@x.com,{'bad' if i % 3 == 0 else '2026-01-01'}" for i in range(1, 10)]
    path = write(tmp_path, "bounces.csv", "email,occurred_at\n" + "\n".join(lines) + "\n")

    result = read(path, "bounces")

    assert result.quarantine.get_column("row_number").to_list() == [3, 6, 9]
    assert result.rows.get_column("row_number").to_list() == [1, 2, 4, 5, 7, 8]


# --- canonical values --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-21", datetime(2026, 11, 21, tzinfo=UTC)),
        ("2026-11-21T03:04", datetime(2026, 11, 21, 3, 4, tzinfo=UTC)),
        ("2026-11-21 03:04:05", datetime(2026, 11, 21, 3, 4, 5, tzinfo=UTC)),
        ("2026-11-21T03:04:05.123456789Z", datetime(2026, 11, 21, 3, 4, 5, 123456, tzinfo=UTC)),
        ("2026-11-21T03:04:05+01:00", datetime(2026, 11, 21, 2, 4, 5, tzinfo=UTC)),
        ("2026-11-21T03:04:05+0100", datetime(2026, 11, 21, 2, 4, 5, tzinfo=UTC)),
        ("2026-11-21T03:04-05:30", datetime(2026, 11, 21, 8, 34, tzinfo=UTC)),
        ("2026-11-21t03:04z", datetime(2026, 11, 21, 3, 4, tzinfo=UTC)),
        ("2026-11-21 03:04:05 +01:00", datetime(2026, 11, 21, 2, 4, 5, tzinfo=UTC)),
        (" 2026-11-21T03:04:05Z ", datetime(2026, 11, 21, 3, 4, 5, tzinfo=UTC)),
    ],
)
def test_iso_8601_variants_in_one_column_all_parse_to_utc(tmp_path, text, expected):
    # One file holding every layout: mixed layouts within a column must all parse.
    layouts = ["2026-01-01", "2026-01-01T00:00:00Z", "2026-01-01 00:00", text]
    body = "".join(f'u{i}@x.com,"{value}"\n' for i, value in enumerate(layouts))
    path = write(tmp_path, "bounces.csv", "email,occurred_at\n" + body)

    result = read(path, "bounces")

    assert result.quarantine.is_empty()
    assert result.rows.get_column("occurred_at")[-1] == expected


@pytest.mark.parametrize(
    "text",
    [
        "infinity",
        "epoch",
        "2026-1-5",
        "2026-11-21 03:00 Europe/Paris",
        "21.11.2026",
        "2026-11-21T03",
        "20261121",
        "2026-11-21T03:04:05+25:00",
    ],
)
def test_non_iso_timestamps_are_refused(tmp_path, text):
    path = write(tmp_path, "bounces.csv", f'email,occurred_at\na@x.com,"{text}"\n')
    bad = only_quarantined(read(path, "bounces"))
    assert bad["error"] == f"occurred_at '{text}' is not an ISO 8601 timestamp"


def test_wall_clock_times_follow_each_call_s_zone_in_one_reading_thread():
    """The cast's DuckDB session is kept between batches: its zone must change with each source's."""
    text = pl.Series(["2026-07-01T12:00:00", "2026-07-01T12:00:00+02:00"])

    def utc_hours(zone: str) -> list[int]:
        return ingest.timestamps(text, zone).dt.hour().to_list()

    assert utc_hours("America/New_York") == [16, 10]
    assert utc_hours("UTC") == [12, 10]
    assert utc_hours("Europe/Berlin") == [10, 10]
    assert utc_hours("UTC") == [12, 10]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "subscribed"),
        ("Subscribed", "subscribed"),
        ("ACTIVE", "subscribed"),
        ("opted_in", "subscribed"),
        ("Opted-In", "subscribed"),
        ("unsubscribed", "unsubscribed"),
        ("opted_out", "unsubscribed"),
        ("do_not_allow", "unsubscribed"),
        ("Do Not Allow", "unsubscribed"),
        ("pending", "pending"),
        ("Unconfirmed", "pending"),
        ("cleaned", "cleaned"),
        ("BOUNCED", "cleaned"),
    ],
)
def test_contact_status_spellings(tmp_path, text, expected):
    path = write(tmp_path, "contacts.csv", f"contact_id,email,status\nc1,a@x.com,{text}\n")
    row = read(path, "contacts").rows.row(0, named=True)
    assert row["status"] == expected
    assert row["status_raw"] == (text or None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", False),
        ("true", True),
        ("FALSE", False),
        ("Yes", True),
        ("no", False),
        ("1", True),
        ("0", False),
        ("y", True),
        ("N", False),
        ("t", True),
        ("F", False),
        (" yes ", True),
    ],
)
def test_do_not_contact_spellings(tmp_path, text, expected):
    path = write(tmp_path, "contacts.csv", f"contact_id,email,do_not_contact\nc1,a@x.com,{text}\n")
    assert read(path, "contacts").rows.get_column("do_not_contact").to_list() == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "unsubscribe"),
        ("Unsubscribe", "unsubscribe"),
        ("resubscribe", "resubscribe"),
        ("complaint", "complaint"),
        ("do_not_contact", "do_not_contact"),
        ("do-not-contact", "do_not_contact"),
        ("Do Not Contact", "do_not_contact"),
        ("do contact", "do_contact"),
    ],
)
def test_unsubscribe_event_spellings(tmp_path, text, expected):
    path = write(tmp_path, "unsubscribes.csv", f"email,occurred_at,event\na@x.com,2026-01-01,{text}\n")
    assert read(path, "unsubscribes").rows.get_column("event").to_list() == [expected]


def test_unsubscribe_origin_evidence_and_defaults():
    result = read(DATA / "unsubscribes_sample.csv", "unsubscribes")

    rows = result.rows
    assert result.quarantine.is_empty()
    assert rows.get_column("origin").to_list() == ["contact", "admin", "integration", "integration"]
    assert rows.get_column("list_id").to_list() == ["news", None, "news", "news"]
    # Known evidence in canonical spelling; unknown evidence kept (lower-cased) for the rules to refuse.
    assert rows.get_column("evidence").to_list() == [None, None, "signup_form", "phone call"]
    assert rows.get_column("evidence_ref").to_list() == [None, None, "form-7", None]


@pytest.mark.parametrize(
    ("event", "bounce_type", "expected_event", "expected_type"),
    [
        ("", "", "bounce", None),
        ("Delivery", "", "delivered", None),
        ("delivered", "", "delivered", None),
        ("COMPLAINT", "", "complaint", None),
        ("bounce", "Permanent", "bounce", "hard"),
        ("bounce", "transient", "bounce", "soft"),
        ("bounce", "Undetermined", "bounce", "unknown"),
        ("bounce", "blocked", "bounce", "block"),
        ("bounce", "HARD", "bounce", "hard"),
    ],
)
def test_bounce_event_and_type_spellings(tmp_path, event, bounce_type, expected_event, expected_type):
    path = write(
        tmp_path,
        "bounces.csv",
        f"email,occurred_at,event,bounce_type\na@x.com,2026-01-01,{event},{bounce_type}\n",
    )
    row = read(path, "bounces").rows.row(0, named=True)
    assert (row["event"], row["bounce_type"]) == (expected_event, expected_type)


@pytest.mark.parametrize(
    ("smtp", "enhanced", "expected_smtp", "expected_enhanced"),
    [
        ("550", "5.1.1", 550, "5.1.1"),
        ("smtp; 550 5.1.1 user unknown", "#5.1.1", 550, "5.1.1"),
        ("421-4.7.0 try again", "status 4.7.0 (temporary)", 421, "4.7.0"),
        ("250 OK", "2.0.0", 250, "2.0.0"),
        ("", "", None, None),
    ],
)
def test_smtp_and_enhanced_codes_are_found_in_the_text(
    tmp_path, smtp, enhanced, expected_smtp, expected_enhanced
):
    path = write(
        tmp_path,
        "bounces.csv",
        f'email,occurred_at,smtp_code,enhanced_code\na@x.com,2026-01-01,"{smtp}","{enhanced}"\n',
    )
    row = read(path, "bounces").rows.row(0, named=True)
    assert (row["smtp_code"], row["enhanced_code"]) == (expected_smtp, expected_enhanced)


@pytest.mark.parametrize(
    ("smtp", "enhanced"),
    [("5501", "5.1.1"), ("650", "5.1.1"), ("550", "15.1.1"), ("550", "3.1.1"), ("550", "10.5.1.1")],
)
def test_codes_must_stand_alone(tmp_path, smtp, enhanced):
    path = write(
        tmp_path,
        "bounces.csv",
        f"email,occurred_at,smtp_code,enhanced_code\na@x.com,2026-01-01,{smtp},{enhanced}\n",
    )
    assert read(path, "bounces").quarantine.height == 1


def test_log_extra_columns_are_ignored(tmp_path):
    path = write(tmp_path, "bounces.csv", "email,occurred_at,mailer,notes\na@x.com,2026-01-01,x,y\n")
    result = read(path, "bounces")
    assert result.rows.height == 1 and result.quarantine.is_empty()


# --- contact attributes ------------------------------------------------------------------------


def test_attributes_keep_extra_columns_in_header_order(tmp_path):
    path = write(
        tmp_path,
        "contacts.csv",
        "Zip, first_name ,contact_id,Email,Country,,Age\n75001,Ann,c1,a@x.com,FR,,42\n",
    )

    attributes = read(path, "contacts").rows.get_column("attributes")[0]

    assert list(json.loads(attributes).items()) == [
        ("Zip", "75001"),
        ("first_name", "Ann"),
        ("Country", "FR"),
        ("column_6", ""),
        ("Age", "42"),
    ]


def test_attributes_are_an_empty_object_without_extra_columns(tmp_path):
    path = write(tmp_path, "contacts.csv", "contact_id,email\nc1,a@x.com\n")
    assert read(path, "contacts").rows.get_column("attributes").to_list() == ["{}"]


def test_repeated_extra_column_names_stay_distinct_and_warn(tmp_path):
    path = write(tmp_path, "contacts.csv", "contact_id,email,Note,Note\nc1,a@x.com,x,y\n")
    result = read(path, "contacts")
    assert json.loads(result.rows.get_column("attributes")[0]) == {"Note": "x", "Note#2": "y"}
    assert len(result.warnings) == 1 and "'Note' appears more than once" in result.warnings[0]


# --- snapshot time -----------------------------------------------------------------------------


def test_snapshot_is_the_latest_exported_at_of_valid_rows(tmp_path):
    path = write(
        tmp_path,
        "contacts_2020-01-01.csv",
        "contact_id,email,exported_at\n"
        "c1,a@x.com,2026-11-21T03:00:00Z\n"
        "c2,b@x.com,2026-11-20T23:00:00-05:00\n"
        "c3,,2027-01-01T00:00:00Z\n",
    )

    result = read(path, "contacts")

    # c3 is quarantined (no email), so its later exported_at does not count.
    assert result.snapshot_at == datetime(2026, 11, 21, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("contacts_2026-11-21.csv", datetime(2026, 11, 21, tzinfo=UTC)),
        ("contacts_2026-11-21T03:00Z.csv", datetime(2026, 11, 21, 3, tzinfo=UTC)),
        ("contacts_2026-11-21T0300Z.csv", datetime(2026, 11, 21, 3, tzinfo=UTC)),
        ("contacts_20261121T030000Z.csv.gz", datetime(2026, 11, 21, 3, tzinfo=UTC)),
        ("contacts_20261121.parquet", datetime(2026, 11, 21, tzinfo=UTC)),
        ("export-2026-11-21T0300+0100.csv", datetime(2026, 11, 21, 2, tzinfo=UTC)),
        ("contacts_2026-11-21_1.csv", datetime(2026, 11, 21, tzinfo=UTC)),
        ("v2_99999999_2026-11-21.csv", datetime(2026, 11, 21, tzinfo=UTC)),
        ("contacts.csv", None),
        ("contacts_123456789.csv", None),
    ],
)
def test_timestamp_in_file_name(name, expected):
    assert timestamp_in_name(name) == expected


def test_snapshot_falls_back_to_the_file_name(tmp_path):
    path = write(tmp_path, "contacts_2026-11-21T0300Z.csv", "contact_id,email\nc1,a@x.com\n")
    assert read(path, "contacts").snapshot_at == datetime(2026, 11, 21, 3, tzinfo=UTC)


def test_snapshot_is_none_without_exported_at_or_dated_name(tmp_path):
    path = write(tmp_path, "contacts.csv", "contact_id,email,exported_at\nc1,a@x.com,\n")
    assert read(path, "contacts").snapshot_at is None


def test_logs_have_no_snapshot(tmp_path):
    assert read(DATA / "bounces_sample.csv", "bounces").snapshot_at is None


# --- robustness --------------------------------------------------------------------------------

CELL = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "a@x.com",
            "2026-01-01",
            "2026-01-01T00:00:00Z",
            "bounce",
            "Permanent",
            "550",
            "5.1.1",
            "yesterday",
            '"quoted, comma"',
            '"multi\nline"',
            "\ufeff",
        ]
    ),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters='",\r\n'), max_size=8),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.lists(CELL, min_size=0, max_size=7), max_size=12),
    crlf=st.booleans(),
    extra=st.binary(max_size=4),
)
def test_any_bounce_csv_reads_without_crashing_and_accounts_for_every_row(tmp_path, rows, crlf, extra):
    newline = "\r\n" if crlf else "\n"
    header = "email,occurred_at,event,bounce_type,smtp_code"
    content = (header + newline + newline.join(",".join(row) for row in rows) + newline).encode() + extra
    path = write(tmp_path, "bounces.csv", content)

    try:
        result = read(path, "bounces")
    except InputError as error:
        # Only a file that is not CSV at all (say, an unclosed quote) may be refused, by name.
        assert "cannot read the file" in str(error) and str(path) in str(error)
        return

    numbers = (
        result.rows.get_column("row_number").to_list() + result.quarantine.get_column("row_number").to_list()
    )
    assert len(numbers) == len(set(numbers))
    assert result.quarantine.filter(pl.col("error").is_null() | (pl.col("error") == "")).is_empty()
    for raw in result.quarantine.get_column("raw"):
        assert isinstance(json.loads(raw), dict)


def test_a_failure_not_tied_to_a_row_is_an_input_error_not_dropped(tmp_path, monkeypatch):
    from listhygiene.ingest import parsing as ingest

    def parse_with_wrong_type(text, time_zone):
        return ingest.parse_bounces(text, time_zone).with_columns(pl.col("smtp_code").cast(pl.String))

    monkeypatch.setitem(ingest.PARSERS, "bounces", parse_with_wrong_type)
    path = write(tmp_path, "bounces.csv", "email,occurred_at\na@x.com,2026-01-01\n")

    with pytest.raises(InputError) as caught:
        read_input(path, source="s", kind="bounces")

    assert caught.value.column == "smtp_code"
    assert "dtype('Int32')" in str(caught.value)
    assert str(path) in str(caught.value)


def test_unclosed_quote_refuses_the_file_by_name(tmp_path):
    path = write(tmp_path, "bounces.csv", 'email,occurred_at\na@x.com,2026-01-01\n"b@x.com,2026-01-02\n')
    with pytest.raises(InputError) as caught:
        read_input(path, source="s", kind="bounces")
    assert str(path) in str(caught.value)
    assert "complete CSV export" in caught.value.hint
