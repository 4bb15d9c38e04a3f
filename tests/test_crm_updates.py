"""What the CRM is told (crm_updates) and which record speaks for a shared address (duplicates)."""

from __future__ import annotations

import polars as pl
import pytest

from listhygiene.config import load_config
from listhygiene.errors import ConfigError
from listhygiene.rules import runner

from conftest import copy_sample, invoke, read
from scenario import Scenario, ts

A = "a@example.com"
AS_OF = "2026-11-10"


def member(list_id="news", contact_id="C1", email=A, **extra) -> dict:
    return {"contact_id": contact_id, "email": email, "list_id": list_id, **extra}


def unsub(at, email=A, **extra) -> dict:
    return {"email": email, "occurred_at": at, **extra}


def updates(s: Scenario, *, include_bounces: bool = False) -> set[tuple]:
    """(contact_id, list_id, field, value, reason) of crm_updates as of AS_OF."""
    evaluation = s.evaluate(AS_OF)
    if include_bounces:
        push_bounces(s.con)
    rows = evaluation.table("crm_updates")
    return {
        (r["contact_id"], r["list_id"], r["field"], r["value"], r["reason"])
        for r in rows.iter_rows(named=True)
    }


def push_bounces(con) -> None:
    """The run's `[writeback] include_bounces = true`, set where the model reads it, then rebuilt."""
    columns = {
        c
        for (c,) in con.execute(
            "select column_name from duckdb_columns() where table_name = 'run_params'"
        ).fetchall()
    }
    if "writeback_include_bounces" in columns:
        con.execute("update run_params set writeback_include_bounces = true")
    else:
        con.execute(
            "create or replace temp table run_params as "
            "select *, true as writeback_include_bounces from run_params"
        )
    runner.build(con, "crm_updates")


# --- crm_updates: which suppressions are told --------------------------------------------------


@pytest.mark.parametrize(
    "origin, told",
    [
        ("contact", True),
        ("list_unsubscribe", True),
        ("admin", True),
        ("integration", False),  # the CRM's own change: telling it back would loop
        ("import", False),
    ],
)
def test_global_unsubscribe_is_told_by_origin(origin, told):
    s = Scenario().export("2026-11-01", member("news"), member("deals"))
    s.unsubscribes(unsub("2026-11-02", origin=origin))
    expected = {("C1", None, "status", "unsubscribed", "unsubscribed")} if told else set()
    assert updates(s) == expected


def test_row_says_since_evidence_and_the_export_row_that_disagrees():
    s = Scenario().export("2026-11-01", member("news"))
    s.unsubscribes(unsub("2026-11-02T10:00", campaign_id="K-1"), unsub("2026-11-03T10:00"))
    [row] = s.evaluate(AS_OF).table("crm_updates").iter_rows(named=True)
    assert (row["source"], row["email"], row["since"]) == ("crm", A, ts("2026-11-02T10:00"))
    assert (
        row["evidence"]
        == "global unsubscribe (contact) on campaign K-1, 2026-11-02T10:00Z (unsubs:unsubscribes_2.csv row 1)"
    )
    assert row["shown_in"] == "crm:contacts_1.csv row 1"


def test_list_unsubscribe_is_told_for_that_list_only():
    s = Scenario().export("2026-11-01", member("news"), member("deals"))
    s.unsubscribes(unsub("2026-11-02", list_id="news", origin="list_unsubscribe"))
    assert updates(s) == {("C1", "news", "status", "unsubscribed", "list_unsubscribed")}


def test_complaints_from_either_log_are_told():
    s = Scenario().export("2026-11-01", member("news"))
    s.bounces({"email": A, "occurred_at": "2026-11-02", "event": "complaint"})
    assert updates(s) == {("C1", None, "status", "unsubscribed", "complaint")}


def test_complaint_and_unsubscribe_are_one_change_named_by_precedence():
    s = Scenario().export("2026-11-01", member("news"))
    s.unsubscribes(unsub("2026-11-02"), unsub("2026-11-03", event="complaint"))
    assert updates(s) == {("C1", None, "status", "unsubscribed", "complaint")}


@pytest.mark.parametrize(
    "export_row, told",
    [
        ({"status": "unsubscribed"}, False),  # the CRM already agrees
        ({"status": "cleaned"}, False),
        ({"status": "pending"}, False),  # not shown as subscribed
        ({"status": "subscribed"}, True),
    ],
)
def test_only_records_shown_as_subscribed_are_told(export_row, told):
    s = Scenario().export("2026-11-01", member("news", **export_row))
    s.unsubscribes(unsub("2026-11-02"))
    assert bool(updates(s)) is told


def test_crm_global_opt_out_already_set_needs_no_update():
    """A row with no list saying unsubscribed is the CRM's Bulk Email field: it already says no."""
    s = Scenario().export("2026-11-01", member("news"), member(None, status="unsubscribed"))
    s.unsubscribes(unsub("2026-11-02"))
    assert updates(s) == set()


def test_contact_on_no_list_is_told_too():
    s = Scenario().export("2026-11-01", member(None))
    s.unsubscribes(unsub("2026-11-02"))
    assert updates(s) == {("C1", None, "status", "unsubscribed", "unsubscribed")}


def test_lifted_unsubscribe_is_not_told():
    s = Scenario().export("2026-11-01", member("news"))
    s.unsubscribes(unsub("2026-11-02"), unsub("2026-11-03", event="resubscribe", evidence="signup_form"))
    assert updates(s) == set()


def test_global_unsubscribe_lifted_on_one_list_is_told_list_by_list():
    """A global opt-out in the CRM would also stop the list the contact rejoined."""
    s = Scenario().export("2026-11-01", member("news"), member("deals"), member("tips"))
    s.unsubscribes(
        unsub("2026-11-02"),
        unsub("2026-11-03", event="resubscribe", list_id="deals", evidence="written_consent"),
    )
    assert updates(s) == {
        ("C1", "news", "status", "unsubscribed", "unsubscribed"),
        ("C1", "tips", "status", "unsubscribed", "unsubscribed"),
    }


def test_export_older_than_the_unsubscribe_is_told():
    s = Scenario().export("2026-11-01", member("news"))
    s.unsubscribes(unsub("2026-11-05"))
    assert updates(s) == {("C1", None, "status", "unsubscribed", "unsubscribed")}


def test_every_record_of_the_address_is_told():
    """Seed 002: one unsubscribe by address covers every record holding it."""
    s = Scenario().export("2026-11-01", member("news", "C1"), member("deals", "C2", email=" A@Example.COM"))
    s.unsubscribes(unsub("2026-11-02"))
    assert updates(s) == {
        ("C1", None, "status", "unsubscribed", "unsubscribed"),
        ("C2", None, "status", "unsubscribed", "unsubscribed"),
    }


@pytest.mark.parametrize(
    "flag, events, told",
    [
        (False, [unsub("2026-11-02", event="do_not_contact")], True),
        (False, [unsub("2026-11-02", event="do_not_contact", origin="admin")], True),
        (False, [unsub("2026-11-02", event="do_not_contact", origin="integration")], False),
        (True, [unsub("2026-11-02", event="do_not_contact")], False),  # the export carries the flag
        (
            False,
            [unsub("2026-11-02", event="do_not_contact"), unsub("2026-11-03", event="do_contact")],
            False,
        ),
    ],
)
def test_do_not_contact_request_sets_the_flag(flag, events, told):
    s = Scenario().export(
        "2026-11-01", member("news", do_not_contact=flag), member("deals", do_not_contact=flag)
    )
    s.unsubscribes(*events)
    expected = {("C1", None, "do_not_contact", "true", "do_not_contact")} if told else set()
    assert updates(s) == expected


def test_do_not_contact_and_unsubscribe_are_two_fields():
    s = Scenario().export("2026-11-01", member("news"))
    s.unsubscribes(unsub("2026-11-02", event="do_not_contact"), unsub("2026-11-03"))
    assert updates(s) == {
        ("C1", None, "do_not_contact", "true", "do_not_contact"),
        ("C1", None, "status", "unsubscribed", "unsubscribed"),
    }


def hard_bounce(at: str) -> dict:
    return {
        "email": A,
        "occurred_at": at,
        "campaign_id": "K-1",
        "smtp_code": 550,
        "enhanced_code": "5.1.1",
        "diagnostic": "550 5.1.1 user unknown",
    }


def test_bounces_stay_in_listhygiene_unless_writeback_includes_them():
    """Seed 001: bounce-based unsubscribes sit in the sending platform, not pushed to the CRM."""
    s = Scenario().export("2026-11-01", member("news"))
    s.bounces(hard_bounce("2026-11-02"))
    assert updates(s) == set()
    assert updates(s, include_bounces=True) == {("C1", None, "status", "cleaned", "hard_bounce")}


def test_soft_bounce_limit_is_told_as_cleaned_when_included():
    s = Scenario(soft_bounce_limit=2).export("2026-11-01", member("news"))
    s.bounces(
        *(
            {
                "email": A,
                "occurred_at": f"2026-11-0{d}",
                "campaign_id": f"K-{d}",
                "smtp_code": 452,
                "enhanced_code": "4.2.2",
            }
            for d in (2, 3)
        )
    )
    assert updates(s, include_bounces=True) == {("C1", None, "status", "cleaned", "soft_bounce_limit")}


def test_a_withdrawal_of_consent_is_told_before_a_bounce():
    s = Scenario().export("2026-11-01", member("news"))
    s.bounces(hard_bounce("2026-11-02"))
    s.unsubscribes(unsub("2026-11-03"))
    assert updates(s, include_bounces=True) == {("C1", None, "status", "unsubscribed", "unsubscribed")}


def test_crm_updates_name_only_reasons_that_are_active():
    """Every change told matches an active reason of contact_status for that record's lists."""
    s = Scenario().export(
        "2026-11-01", member("news", "C1"), member("deals", "C1"), member("news", "C2", email="b@example.com")
    )
    s.unsubscribes(
        unsub("2026-11-02"),
        unsub("2026-11-03", email="b@example.com", list_id="news"),
        unsub("2026-11-04", event="resubscribe", list_id="deals", evidence="confirmed_optin"),
    )
    evaluation = s.evaluate(AS_OF)
    status = evaluation.table("contact_status")
    for row in evaluation.table("crm_updates").iter_rows(named=True):
        lists = status.filter(pl.col("email") == row["email"]).filter(
            pl.col("list_id").is_not_null() if row["list_id"] is None else pl.col("list_id") == row["list_id"]
        )
        assert lists.height and all(row["reason"] in reasons for reasons in lists["reasons"])


# --- the pipeline file's [writeback] table -------------------------------------------------------


@pytest.mark.parametrize(
    "table, expected",
    [
        ("", False),
        ("[writeback]\ninclude_bounces = true\n", True),
        ("[writeback]\ninclude_bounces = false\n", False),
    ],
)
def test_writeback_setting_is_read(tmp_path, table, expected):
    config = copy_sample(tmp_path)
    config.write_text(config.read_text() + "\n" + table)
    assert load_config(config).writeback.include_bounces is expected


@pytest.mark.parametrize(
    "table, message",
    [
        ("[writeback]\ninclude_bounce = true\n", "unknown key 'include_bounce'"),
        ("[writeback]\ninclude_bounces = 'yes'\n", "include_bounces must be true or false"),
        ("writeback = 1\n", "[writeback]: must be a table"),
    ],
)
def test_writeback_mistakes_are_config_errors(tmp_path, table, message):
    config = copy_sample(tmp_path)
    text = config.read_text()
    config.write_text(table + text if not table.startswith("[") else text + "\n" + table)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_config(config)


# --- duplicates: which record speaks for an address ---------------------------------------------


def duplicates(s: Scenario) -> list[tuple]:
    rows = s.evaluate(AS_OF).table("duplicates").sort("list_id", "contact_id", nulls_last=False)
    return [(r["contact_id"], r["list_id"], r["used"], r["why"]) for r in rows.iter_rows(named=True)]


def test_records_on_different_lists_each_speak_for_their_list():
    s = Scenario().export(
        "2026-11-01", member("news", "C1"), member("deals", "C2", email='"A" <A@example.com>')
    )
    rows = s.evaluate(AS_OF).table("duplicates")
    assert rows["records"].to_list() == [["crm:C1", "crm:C2"]] * 2
    assert set(rows["email_raw"]) == {A, '"A" <A@example.com>'}
    assert duplicates(s) == [
        ("C2", "deals", True, "the only record of this address on deals"),
        ("C1", "news", True, "the only record of this address on news"),
    ]


def test_subscribed_record_is_used_over_an_unsubscribed_one():
    s = Scenario().export(
        "2026-11-01",
        member("news", "C1", status="unsubscribed", status_raw="opted_out"),
        member("news", "C2"),
    )
    assert duplicates(s) == [
        ("C1", "news", False, "news uses crm:C2, which is subscribed there, C1 says opted_out"),
        ("C2", "news", True, "used for news over C1: it is subscribed there, C1 says opted_out"),
    ]


def test_equal_records_are_ordered_by_contact_id_stably():
    s = Scenario().export("2026-11-01", member("news", "C2"), member("news", "C1"))
    why = "ranks equal; the first by source and contact id is used, so the choice is stable across runs"
    assert duplicates(s) == [
        ("C1", "news", True, f"used for news over C2: it {why}"),
        ("C2", "news", False, f"news uses crm:C1, which {why}"),
    ]


def test_records_only_in_an_older_snapshot_are_not_duplicates():
    s = Scenario().export("2026-11-01", member("news", "C1"))
    s.export("2026-11-02", member("news", "C2"))
    assert duplicates(s) == []


def test_a_row_on_no_list_does_not_speak_while_the_address_is_on_lists():
    s = Scenario().export("2026-11-01", member("news", "C1"), member(None, "C2"))
    assert duplicates(s) == [
        ("C2", None, False, "on no list; each list of the address uses its own record"),
        ("C1", "news", True, "the only record of this address on news"),
    ]


def test_an_address_held_by_many_records_lists_ten_of_them():
    """records is repeated on every row of the address: capped, or a placeholder held by
    thousands of records would grow duplicates.parquet with the square of their number."""
    s = Scenario().export("2026-11-01", *(member("news", f"C{i:02}") for i in range(12, 0, -1)))
    rows = s.evaluate(AS_OF).table("duplicates")
    assert rows.height == 12 and set(rows["record_count"]) == {12}
    assert rows["records"].to_list() == [[f"crm:C{i:02}" for i in range(1, 11)]] * 12
    assert rows.filter("used")["contact_id"].to_list() == ["C01"]


def test_the_record_used_is_the_one_primary_records_chose():
    """duplicates ranks the latest rows itself (record_rank); it must name the record that
    contact_status and sendable use, for each list and for the address as a whole."""
    s = Scenario().export(
        "2026-11-01",
        member("news", "C1"),
        member("deals", "C2"),
        member(None, "C3"),
        member("deals", "C4", email="b@example.com"),
    )
    s.export(
        "2026-11-02",
        member("news", "C2", status="unsubscribed"),
        member("news", "C5"),
        member("deals", "C5", status="pending"),
        member("deals", "C3"),
        member(None, "C4"),
        member("offers", "C6", email="b@example.com"),
        member(None, "C7", email="b@example.com"),
    )
    evaluation = s.evaluate(AS_OF)
    used = {
        (r["email"], r["list_id"]): r["contact_id"]
        for r in evaluation.table("duplicates").filter("used").iter_rows(named=True)
    }
    compared = {(r["email"], r["list_id"]) for r in evaluation.table("duplicates").iter_rows(named=True)}
    primary = {
        (r["email"], r["list_id"]): r["contact_id"]
        for r in evaluation.table("primary_records").iter_rows(named=True)
        if (r["email"], r["list_id"]) in compared
    }
    # news: C5 (subscribed) over C2 (unsubscribed); deals: C3 (subscribed) over C5 (pending);
    # b's C7 on no list speaks for nothing while C6 has b on offers
    assert used == {(A, "news"): "C5", (A, "deals"): "C3", ("b@example.com", "offers"): "C6"}
    assert used == {key: contact for key, contact in primary.items() if key in used}
    assert ("b@example.com", None) in compared and ("b@example.com", None) not in used


# --- both outputs on the sample's two nights ----------------------------------------------------


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    config = copy_sample(tmp_path_factory.mktemp("crm"))
    runs = []
    for as_of in ("2026-11-20T06:00:00Z", "2026-11-21T06:00:00Z"):
        invoke("run", "--config", config, "--as-of", as_of)
        runs.append((config.parent.parent / "out/sample/latest").resolve())
    return runs


def test_sample_crm_updates_each_night(nights):
    first, second = nights

    def rows(run):
        return (
            read(run, "crm_updates")
            .select("contact_id", "email", "list_id", "field", "value", "reason")
            .rows()
        )

    assert rows(first) == [
        (
            "C004",
            "li.wei@acme.example",
            None,
            "status",
            "unsubscribed",
            "unsubscribed",
        ),  # signs up again later
        ("C011", "sam@realty.example", None, "status", "unsubscribed", "unsubscribed"),
        ("C030", "dana@example.net", None, "do_not_contact", "true", "do_not_contact"),
    ]
    assert rows(second) == [
        ("C002", "tom.baker@acme.example", None, "status", "unsubscribed", "unsubscribed"),
        ("C003", "priya@acme.example", "staff-news", "status", "unsubscribed", "list_unsubscribed"),
        ("C011", "sam@realty.example", None, "status", "unsubscribed", "unsubscribed"),
        ("C021", "ana.souza@example.org", None, "status", "unsubscribed", "unsubscribed"),
        ("C047", "angry@example.com", None, "status", "unsubscribed", "complaint"),
    ]  # not jordan (integration), eli (the export's own flag), gone and full (bounces)
    tom = read(second, "crm_updates").row(0, named=True)
    assert tom["shown_in"] == "crm:contacts_2026-11-21.csv row 2"
    assert tom["evidence"].endswith("(platform_unsubscribes:unsubscribes.csv row 8)")
    assert read(second, "crm_updates").schema["since"] == pl.Datetime("us", "UTC")


def test_sample_duplicates_name_the_two_records_of_ana(nights):
    _, second = nights
    rows = read(second, "duplicates")
    assert rows.select("email", "list_id", "contact_id", "used", "why").rows() == [
        (
            "ana.souza@example.org",
            "newsletter",
            "C020",
            True,
            "the only record of this address on newsletter",
        ),
        ("ana.souza@example.org", "offers", "C021", True, "the only record of this address on offers"),
    ]
    assert rows["email_raw"].to_list() == ['"Souza, Ana" <ana.souza@Example.org>', " ANA.SOUZA@example.org "]
    assert rows["lineage"].to_list() == [
        "crm:contacts_2026-11-21.csv row 7",
        "crm:contacts_2026-11-21.csv row 8",
    ]


def test_include_bounces_in_the_pipeline_file_pushes_bounces(tmp_path):
    config = copy_sample(tmp_path)
    config.write_text(config.read_text() + "\n[writeback]\ninclude_bounces = true\n")
    invoke("run", "--config", config, "--as-of", "2026-11-21T06:00:00Z")
    rows = read((tmp_path / "out/sample/latest").resolve(), "crm_updates")
    cleaned = rows.filter(pl.col("value") == "cleaned").select("contact_id", "reason").rows()
    assert cleaned == [("C032", "hard_bounce"), ("C040", "soft_bounce_limit")]
