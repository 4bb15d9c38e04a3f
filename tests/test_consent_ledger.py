"""consent_ledger.parquet on the sample's nights: each seed person's grants and withdrawals, in time order, with file and row."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from conftest import copy_sample, invoke

NIGHT_1 = "2026-11-20T06:00:00Z"
NIGHT_2 = "2026-11-21T06:00:00Z"
# Sam, who unsubscribed on 11-19, signs a consent letter; a second file of the unsubscribe log.
CONSENT_LOG = (
    "email,occurred_at,event,list_id,source,evidence,evidence_ref,reason\n"
    "Sam@Realty.example,2026-11-20T19:00:00Z,resubscribe,offers,admin,written_consent,letter:2026-117,"
    "signed consent letter\n"
)
COLUMNS = [
    "list_id",
    "occurred_at",
    "kind",
    "effect",
    "evidence",
    "evidence_ref",
    "origin",
    "source",
    "file",
    "row_number",
]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> tuple[Path, pl.DataFrame, pl.DataFrame]:
    """The sample's two nights (with Sam's consent letter): the pipeline file and both ledgers."""
    config = copy_sample(tmp_path_factory.mktemp("ledger"))
    (config.parent.parent / "data/sample/unsubscribes_consent.csv").write_text(CONSENT_LOG)
    frames = []
    for as_of in (NIGHT_1, NIGHT_2):
        invoke("run", "--config", config, "--as-of", as_of)
        latest = (config.parent.parent / "out/sample/latest").resolve()
        frames.append(pl.read_parquet(latest / "consent_ledger.parquet"))
    return config, frames[0], frames[1]


@pytest.fixture(scope="module")
def ledgers(published) -> tuple[pl.DataFrame, pl.DataFrame]:
    return published[1], published[2]


def of(ledger: pl.DataFrame, email: str) -> list[tuple]:
    return ledger.filter(pl.col("email") == email).select(COLUMNS).rows()


def test_toms_unsubscribe_from_a_forwarded_copy(ledgers):
    _, night_2 = ledgers
    assert of(night_2, "tom.baker@acme.example") == [
        (
            None,
            at("2026-11-20T14:05:00"),
            "unsubscribe",
            "withdrawal",
            None,
            None,
            "contact",
            "platform_unsubscribes",
            "unsubscribes.csv",
            8,
        ),
    ]


def test_the_complaint_and_a_sign_up_that_follows_it(ledgers):
    _, night_2 = ledgers
    assert of(night_2, "angry@example.com") == [
        (
            None,
            at("2026-11-20T10:00:00"),
            "complaint",
            "withdrawal",
            None,
            None,
            "complaint",
            "platform_bounces",
            "bounces.csv",
            18,
        ),
        (
            None,
            at("2026-11-20T18:00:00"),
            "resubscribe",
            "grant",
            "signup_form",
            "form:offers#9001",
            "contact",
            "platform_unsubscribes",
            "unsubscribes.csv",
            10,
        ),
    ]


def test_written_consent_with_its_evidence_ref(ledgers):
    _, night_2 = ledgers
    assert of(night_2, "sam@realty.example") == [
        (
            None,
            at("2026-11-19T12:30:00"),
            "unsubscribe",
            "withdrawal",
            None,
            None,
            "contact",
            "platform_unsubscribes",
            "unsubscribes.csv",
            3,
        ),
        (
            "offers",
            at("2026-11-20T19:00:00"),
            "resubscribe",
            "grant",
            "written_consent",
            "letter:2026-117",
            "admin",
            "platform_unsubscribes",
            "unsubscribes_consent.csv",
            1,
        ),
    ]


def test_export_confirmations_once_from_the_first_snapshot_and_the_flag(ledgers):
    _, night_2 = ledgers
    # Dana's confirmation is in both exports: recorded once, from the first
    assert of(night_2, "dana@example.net") == [
        (
            "newsletter",
            at("2026-09-15T10:00:00"),
            "confirmation",
            "grant",
            "confirmed_optin",
            None,
            "export",
            "crm",
            "contacts_2026-11-20.csv",
            9,
        ),
        (
            None,
            at("2026-11-19T10:00:00"),
            "do_not_contact",
            "withdrawal",
            None,
            None,
            "contact",
            "platform_unsubscribes",
            "unsubscribes.csv",
            4,
        ),
        (
            None,
            at("2026-11-20T12:00:00"),
            "do_contact",
            "grant",
            None,
            None,
            "admin",
            "platform_unsubscribes",
            "unsubscribes.csv",
            7,
        ),
    ]
    # Eli's do_not_contact flag is set by night 2's export
    assert of(night_2, "eli@example.net") == [
        (
            None,
            at("2026-11-21T00:00:00"),
            "do_not_contact",
            "withdrawal",
            None,
            None,
            "export",
            "crm",
            "contacts_2026-11-21.csv",
            11,
        ),
    ]


def test_a_resubscribe_without_evidence_is_no_consent(ledgers):
    _, night_2 = ledgers
    # Priya's re-import by CSV changes nothing (blocked_resubscribes says why): only her unsubscribe
    assert [row[2] for row in of(night_2, "priya@acme.example")] == ["unsubscribe"]


def test_each_night_holds_what_happened_by_its_as_of_in_time_order(ledgers):
    night_1, night_2 = ledgers
    assert night_1.get_column("occurred_at").max() <= at("2026-11-20T06:00:00")
    assert of(night_1, "tom.baker@acme.example") == []
    assert "eli@example.net" not in night_1.get_column("email")
    for ledger in (night_1, night_2):
        assert ledger.rows() == ledger.sort("email", "occurred_at", "list_id", nulls_last=False).rows()
    assert night_2.height == 16  # the 15 of the sample, and Sam's letter
    assert set(night_2.get_column("effect")) == {"grant", "withdrawal"}


def test_explain_shows_the_ledger_of_the_address(published):
    config, _, night_2 = published
    answer = json.loads(invoke("explain", "SAM@realty.example", "--config", config, "--json").stdout)
    ledger = answer["consent_ledger"]
    assert [
        (c["at"], c["effect"], c["kind"], c["list_id"], c["evidence_ref"], c["lineage"]) for c in ledger
    ] == [
        (
            "2026-11-19T12:30:00Z",
            "withdrawal",
            "unsubscribe",
            None,
            None,
            "platform_unsubscribes:unsubscribes.csv row 3",
        ),
        (
            "2026-11-20T19:00:00Z",
            "grant",
            "resubscribe",
            "offers",
            "letter:2026-117",
            "platform_unsubscribes:unsubscribes_consent.csv row 1",
        ),
    ]
    assert len(answer["consent_ledger"]) == night_2.filter(pl.col("email") == "sam@realty.example").height
    text = invoke("explain", "sam@realty.example", "--config", config).stdout.splitlines()
    start = text.index("Consent ledger (grants and withdrawals, oldest first)")
    assert text[start + 3].split() == [
        "2026-11-19T12:30Z",
        "withdrawal",
        "unsubscribe",
        "all",
        "lists",
        "-",
        "platform_unsubscribes:unsubscribes.csv",
        "row",
        "3",
    ]
    assert text[start + 4].split()[:6] == [
        "2026-11-20T19:00Z",
        "grant",
        "resubscribe",
        "offers",
        "written_consent",
        "letter:2026-117",
    ]
    # with --list, a list's own rows and the global ones
    staff = json.loads(
        invoke("explain", "sam@realty.example", "--config", config, "--list", "staff-news", "--json").stdout
    )
    assert [c["kind"] for c in staff["consent_ledger"]] == ["unsubscribe"]
