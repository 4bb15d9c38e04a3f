"""Tests of the pandera schemas on tiny hand-built frames: what passes, and how each failure is reported."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from listhygiene.ingest.schemas import BOUNCES, CONTACTS, UNSUBSCRIBES, describe_failures, find_failures

UTC = UTC
MOMENT = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)
TIMESTAMP = pl.Datetime("us", "UTC")


def contacts(**changes) -> pl.DataFrame:
    """One valid contact row, with the given columns replaced."""
    row = {
        "row_number": [1],
        "contact_id": ["c1"],
        "email_raw": ["a@x.com"],
        "list_id": ["news"],
        "status": ["subscribed"],
        "status_raw": ["Active"],
        "confirmed_at": [MOMENT],
        "do_not_contact": [False],
        "exported_at": [MOMENT],
        "attributes": ["{}"],
        "confirmed_at_raw": ["2026-11-21T03:00Z"],
        "do_not_contact_raw": ["no"],
        "exported_at_raw": ["2026-11-21T03:00Z"],
    }
    row.update(changes)
    return pl.DataFrame(
        row,
        schema_overrides={
            "confirmed_at": TIMESTAMP,
            "exported_at": TIMESTAMP,
            "do_not_contact": pl.Boolean,
            "email_raw": pl.String,
            "contact_id": pl.String,
            "status_raw": pl.String,
            "confirmed_at_raw": pl.String,
            "do_not_contact_raw": pl.String,
        },
    )


def unsubscribes(**changes) -> pl.DataFrame:
    """One valid unsubscribe row, with the given columns replaced."""
    row = {
        "row_number": [1],
        "email_raw": ["a@x.com"],
        "occurred_at": [MOMENT],
        "event": ["unsubscribe"],
        "list_id": [None],
        "origin": ["contact"],
        "evidence": ["some new kind"],
        "evidence_ref": [None],
        "campaign_id": [None],
        "reason": [None],
        "occurred_at_raw": ["2026-11-21T03:00Z"],
        "event_raw": [None],
        "origin_raw": [None],
    }
    row.update(changes)
    return pl.DataFrame(
        row,
        schema_overrides={
            "occurred_at": TIMESTAMP,
            **dict.fromkeys(
                (
                    "list_id",
                    "evidence_ref",
                    "campaign_id",
                    "reason",
                    "event_raw",
                    "origin_raw",
                    "occurred_at_raw",
                    "event",
                    "origin",
                ),
                pl.String,
            ),
        },
    )


def bounces(**changes) -> pl.DataFrame:
    """One valid bounce row, with the given columns replaced."""
    row = {
        "row_number": [1],
        "email_raw": ["a@x.com"],
        "occurred_at": [MOMENT],
        "event": ["bounce"],
        "campaign_id": ["c1"],
        "bounce_type": ["hard"],
        "smtp_code": [550],
        "enhanced_code": ["5.1.1"],
        "diagnostic": [None],
        "occurred_at_raw": ["2026-11-21T03:00Z"],
        "event_raw": ["bounce"],
        "bounce_type_raw": ["Permanent"],
        "smtp_code_raw": ["550"],
        "enhanced_code_raw": ["5.1.1"],
    }
    row.update(changes)
    return pl.DataFrame(
        row,
        schema_overrides={
            "occurred_at": TIMESTAMP,
            "smtp_code": pl.Int32,
            "diagnostic": pl.String,
            **dict.fromkeys(
                (
                    "bounce_type",
                    "enhanced_code",
                    "smtp_code_raw",
                    "enhanced_code_raw",
                    "occurred_at_raw",
                    "bounce_type_raw",
                ),
                pl.String,
            ),
        },
    )


@pytest.mark.parametrize(
    ("schema", "frame"),
    [(CONTACTS, contacts()), (UNSUBSCRIBES, unsubscribes()), (BOUNCES, bounces())],
    ids=["contacts", "unsubscribes", "bounces"],
)
def test_a_valid_frame_passes(schema, frame):
    assert find_failures(schema, frame).is_empty()
    assert describe_failures(schema, frame, find_failures(schema, frame)).is_empty()


@pytest.mark.parametrize(
    ("schema", "frame", "column", "check", "error"),
    [
        pytest.param(
            CONTACTS,
            contacts(email_raw=[None]),
            "email_raw",
            "not_nullable",
            "email is empty",
            id="empty email",
        ),
        pytest.param(
            CONTACTS,
            contacts(contact_id=[None]),
            "contact_id",
            "not_nullable",
            "contact_id is empty",
            id="empty contact_id",
        ),
        pytest.param(
            CONTACTS,
            contacts(status=["zombie"], status_raw=["Zombie"]),
            "status",
            "isin(['subscribed', 'unsubscribed', 'pending', 'cleaned'])",
            "unknown status 'Zombie' (expected one of subscribed, unsubscribed, pending, cleaned)",
            id="unknown status",
        ),
        pytest.param(
            CONTACTS,
            contacts(confirmed_at=[None], confirmed_at_raw=["soon"]),
            "confirmed_at",
            "iso8601_timestamp",
            "confirmed_at 'soon' is not an ISO 8601 timestamp",
            id="bad timestamp",
        ),
        pytest.param(
            UNSUBSCRIBES,
            unsubscribes(origin=["robot"], origin_raw=["Robot"]),
            "origin",
            "isin(['contact', 'list_unsubscribe', 'complaint', 'admin', 'integration', 'import'])",
            "unknown source 'Robot' (expected one of contact, list_unsubscribe, complaint, admin, "
            "integration, import)",
            id="unknown origin named as the file's source column",
        ),
        pytest.param(
            UNSUBSCRIBES,
            unsubscribes(event=["cancel"]),
            "event",
            "isin(['unsubscribe', 'resubscribe', 'complaint', 'do_not_contact', 'do_contact'])",
            "unknown event 'cancel' (expected one of unsubscribe, resubscribe, complaint, do_not_contact, "
            "do_contact)",
            id="unknown event without raw text shows the value",
        ),
        pytest.param(
            BOUNCES,
            bounces(bounce_type=["squishy"], bounce_type_raw=["Squishy"]),
            "bounce_type",
            "isin(['hard', 'soft', 'block', 'unknown'])",
            "unknown bounce_type 'Squishy' (expected one of hard, soft, block, unknown)",
            id="bounce_type",
        ),
        pytest.param(
            BOUNCES,
            bounces(smtp_code=[None], smtp_code_raw=["OK"]),
            "smtp_code",
            "smtp_code",
            "smtp_code 'OK' holds no SMTP reply code (expected a 3-digit code 2xx-5xx)",
            id="smtp_code",
        ),
        pytest.param(
            BOUNCES,
            bounces(smtp_code=[700], smtp_code_raw=["700"]),
            "smtp_code",
            "in_range(200, 599)",
            "smtp_code '700' is not an SMTP reply code (expected 200-599)",
            id="smtp_code range",
        ),
        pytest.param(
            BOUNCES,
            bounces(enhanced_code=[None], enhanced_code_raw=["5.1"]),
            "enhanced_code",
            "enhanced_code",
            "enhanced_code '5.1' holds no enhanced status code (expected one like 5.1.1)",
            id="enhanced_code",
        ),
    ],
)
def test_each_failure_names_column_and_check_and_reads_plainly(schema, frame, column, check, error):
    failures = find_failures(schema, frame)

    assert failures.select("index", "column", "check").rows() == [(0, column, check)]
    described = describe_failures(schema, frame, failures)
    assert described.select("index", "error").rows() == [(0, error)]


def test_unparsable_value_of_a_required_column_is_one_problem_not_two():
    frame = contacts(do_not_contact=[None], do_not_contact_raw=["maybe"])

    failures = find_failures(CONTACTS, frame)
    # pandera sees two failures: the value is null and it did not parse...
    assert sorted(failures.get_column("check").to_list()) == ["boolean", "not_nullable"]
    # ...but the person fixing the file needs one message.
    described = describe_failures(CONTACTS, frame, failures)
    assert described.select("column", "error").rows() == [
        (
            "do_not_contact",
            "do_not_contact 'maybe' is not a boolean (expected true/false, yes/no, 1/0, y/n or t/f)",
        )
    ]


def test_empty_required_timestamp_reads_as_empty():
    frame = bounces(occurred_at=[None], occurred_at_raw=[None])
    described = describe_failures(BOUNCES, frame, find_failures(BOUNCES, frame))
    assert described.select("column", "error").rows() == [("occurred_at", "occurred_at is empty")]


def test_failures_of_several_rows_and_columns_come_in_row_then_schema_order():
    frame = pl.concat(
        [
            bounces(),
            bounces(row_number=[2], email_raw=[None], event=["x"], event_raw=["X"]),
            bounces(row_number=[3], bounce_type=["y"], bounce_type_raw=["Y"]),
        ]
    )

    described = describe_failures(BOUNCES, frame, find_failures(BOUNCES, frame))

    assert described.select("index", "column").rows() == [(1, "email"), (1, "event"), (2, "bounce_type")]


def test_unknown_evidence_is_not_a_schema_failure():
    assert find_failures(UNSUBSCRIBES, unsubscribes(evidence=["phone call"])).is_empty()


def test_wrong_column_type_is_reported_without_a_row():
    frame = bounces().with_columns(pl.col("smtp_code").cast(pl.String))

    failures = find_failures(BOUNCES, frame)

    wrong_type = failures.filter(pl.col("column") == "smtp_code")
    assert wrong_type.get_column("index").null_count() == wrong_type.height > 0
    assert "dtype('Int32')" in wrong_type.get_column("check").to_list()
    # Such failures belong to no row, so they are not turned into row messages.
    assert describe_failures(BOUNCES, frame, failures).is_empty()


def test_data_checks_run_even_when_pandera_is_told_schema_only(monkeypatch):
    from pandera.config import CONFIG, ValidationDepth

    monkeypatch.setattr(CONFIG, "validation_depth", ValidationDepth.SCHEMA_ONLY)
    monkeypatch.setattr(CONFIG, "validation_enabled", False)

    assert not find_failures(CONTACTS, contacts(email_raw=[None])).is_empty()
