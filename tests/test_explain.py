"""`listhygiene explain` on the sample nights: each seed situation explained, with what would lift it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import polars as pl
import pytest

from listhygiene import store

from conftest import copy_sample, invoke, read

NIGHT_1 = "2026-11-20T06:00:00Z"
NIGHT_2 = "2026-11-21T06:00:00Z"
ANY = "signup_form, confirmed_optin or written_consent"
# Seen only in the logs (no contact record): added beside the sample's own logs.
EXTRA_UNSUBSCRIBES = (
    "email,occurred_at,event,source\nstranger@example.com,2026-11-19T08:00:00Z,complaint,complaint\n"
)
# Seen only in deliveries: nothing to evaluate (no candidate), yet explained from its events.
EXTRA_BOUNCES = (
    "email,occurred_at,event,campaign_id,bounce_type,smtp_code,enhanced_code,diagnostic\n"
    "reader@example.com,2026-11-18T09:00:00Z,delivered,C-15,,,,\n"
)


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """Both sample nights published; returns (config, night-1 run id, night-2 run id)."""
    config = copy_sample(tmp_path_factory.mktemp("explain"))
    (config.parent.parent / "data/sample/unsubscribes_extra.csv").write_text(EXTRA_UNSUBSCRIBES)
    (config.parent.parent / "data/sample/bounces_extra.csv").write_text(EXTRA_BOUNCES)
    ids = []
    for as_of in (NIGHT_1, NIGHT_2):
        invoke("run", "--config", config, "--as-of", as_of)
        ids.append((config.parent.parent / "out/sample/latest").resolve().name.removeprefix("run_id="))
    return config, ids[0], ids[1]


def explained(nights, query: str, *args: str, night: int = 2) -> dict:
    config, first, second = nights
    out = invoke(
        "explain", query, "--config", config, "--run", first if night == 1 else second, "--json", *args
    ).stdout
    return json.loads(out)


def on_list(answer: dict, list_id: str) -> dict:
    [entry] = [e for e in answer["lists"] if e["list_id"] == list_id]
    return entry


# (seed, query as pasted, night, list, sendable, [(reason, since, cause lineage, lifting condition)])
SEED_SITUATIONS = [
    (
        "000 forwarded unsubscribe",
        "Tom Baker <Tom.Baker@ACME.example>",
        2,
        "staff-news",
        False,
        [
            (
                "unsubscribed",
                "2026-11-20T14:05:00Z",
                "platform_unsubscribes:unsubscribes.csv row 8",
                f"a resubscribe with {ANY} evidence (global, or for staff-news), or a confirmed_at in the "
                "export, after 2026-11-20T14:05Z; a re-import or an export saying subscribed is not enough",
            )
        ],
    ),
    (
        "000 one-click unsubscribe, re-imported",
        "  PRIYA@acme.example",
        2,
        "staff-news",
        False,
        [
            (
                "list_unsubscribed",
                "2026-11-20T10:00:00Z",
                "platform_unsubscribes:unsubscribes.csv row 5",
                f"a resubscribe with {ANY} evidence (for staff-news or global), or a confirmed_at in the "
                "export, after 2026-11-20T10:00Z; a re-import or an export saying subscribed is not enough",
            )
        ],
    ),
    (
        "000 before signing up again",
        "li.wei@acme.example",
        1,
        "staff-news",
        False,
        [
            (
                "unsubscribed",
                "2026-11-19T09:00:00Z",
                "platform_unsubscribes:unsubscribes.csv row 1",
                f"a resubscribe with {ANY} evidence (global, or for staff-news), or a confirmed_at in the "
                "export, after 2026-11-19T09:00Z; a re-import or an export saying subscribed is not enough",
            )
        ],
    ),
    ("000 signed up again", "li.wei@acme.example", 2, "staff-news", True, []),
    (
        "001 integration unsubscribe, before the CRM reverses it",
        "jordan@realty.example",
        1,
        "offers",
        False,
        [
            (
                "unsubscribed",
                "2026-11-19T12:00:00Z",
                "platform_unsubscribes:unsubscribes.csv row 2",
                "a contacts export after 2026-11-19T12:00Z listing the address as subscribed on any list "
                "(the CRM made this unsubscribe, so the CRM can undo it), or a resubscribe with "
                f"{ANY} evidence (global, or for offers), or a confirmed_at in the export, after 2026-11-19T12:00Z",
            ),
            (
                "source_unsubscribed",
                "2026-11-20T00:00:00Z",
                "crm:contacts_2026-11-20.csv row 5",
                "the crm export showing another status on offers",
            ),
        ],
    ),
    ("001 integration unsubscribe reversed by the CRM", "jordan@realty.example", 2, "offers", True, []),
    (
        "001 contact unsubscribe is not reversed by the CRM",
        "sam@realty.example",
        2,
        "offers",
        False,
        [
            (
                "unsubscribed",
                "2026-11-19T12:30:00Z",
                "platform_unsubscribes:unsubscribes.csv row 3",
                f"a resubscribe with {ANY} evidence (global, or for offers), or a confirmed_at in the "
                "export, after 2026-11-19T12:30Z; a re-import or an export saying subscribed is not enough",
            )
        ],
    ),
    (
        "002 one unsubscribe covers both records",
        '"Souza, Ana" <ana.souza@Example.org>',
        2,
        "newsletter",
        False,
        [
            (
                "unsubscribed",
                "2026-11-20T11:00:00Z",
                "platform_unsubscribes:unsubscribes.csv row 6",
                f"a resubscribe with {ANY} evidence (global, or for newsletter)",
            ),
            (
                "source_unsubscribed",
                "2026-11-21T00:00:00Z",
                "crm:contacts_2026-11-21.csv row 7",
                "the crm export showing another status on newsletter",
            ),
        ],
    ),
    (
        "002 the other record",
        "ana.souza@example.org",
        2,
        "offers",
        False,
        [
            (
                "unsubscribed",
                "2026-11-20T11:00:00Z",
                "platform_unsubscribes:unsubscribes.csv row 6",
                f"a resubscribe with {ANY} evidence (global, or for offers)",
            )
        ],
    ),
    (
        "003 do-not-contact",
        "dana@example.net",
        1,
        "offers",
        False,
        [
            (
                "do_not_contact",
                "2026-11-19T10:00:00Z",
                "platform_unsubscribes:unsubscribes.csv row 4",
                "a do_contact event after 2026-11-19T10:00Z, or a contacts export clearing the do_not_contact "
                "flag after 2026-11-19T10:00Z; the memberships are kept and come back as they were",
            )
        ],
    ),
    ("003 do-not-contact undone keeps memberships", "dana@example.net", 2, "newsletter", True, []),
    (
        "003 the export's flag",
        "eli@example.net",
        2,
        "offers",
        False,
        [
            (
                "do_not_contact",
                "2026-11-21T00:00:00Z",
                "crm:contacts_2026-11-21.csv row 11",
                "the crm export clearing the do_not_contact flag (set since 2026-11-21T00:00Z)",
            )
        ],
    ),
    (
        "003 hard bounce",
        "gone@example.com",
        2,
        "offers",
        False,
        [
            (
                "hard_bounce",
                "2026-11-20T07:30:00Z",
                "platform_bounces:bounces.csv row 17",
                "a delivery to the address, or a confirmed opt-in (a resubscribe with confirmed_optin "
                "evidence or a confirmed_at in the export), after 2026-11-20T07:30Z",
            )
        ],
    ),
    (
        "004 four soft-bounced campaigns",
        "full@example.com",
        2,
        "offers",
        False,
        [
            (
                "soft_bounce_limit",
                "2026-11-20T07:00:00Z",
                "platform_bounces:bounces.csv row 13",
                "a delivery to the address, or a confirmed opt-in (a resubscribe with confirmed_optin "
                "evidence or a confirmed_at in the export), after 2026-11-20T07:00Z",
            )
        ],
    ),
    ("004 blocklist rejections never count", "blocked@example.com", 2, "offers", True, []),
    (
        "004 unconfirmed on a double opt-in list",
        "new@example.com",
        1,
        "newsletter",
        False,
        [
            (
                "unconfirmed",
                "2026-11-20T00:00:00Z",
                None,
                "a confirmation: a confirmed_at in the export for newsletter (or on a row with no list), "
                "or a resubscribe with confirmed_optin evidence",
            )
        ],
    ),
    (
        "004 export status pending",
        "pending@example.com",
        2,
        "offers",
        False,
        [
            (
                "unconfirmed",
                "2026-11-20T00:00:00Z",
                "crm:contacts_2026-11-21.csv row 18",
                "or the export no longer saying pending",
            )
        ],
    ),
    (
        "complaint, then a sign-up form",
        "angry@example.com",
        2,
        "offers",
        False,
        [
            (
                "complaint",
                "2026-11-20T10:00:00Z",
                "platform_bounces:bounces.csv row 18",
                "a resubscribe with confirmed_optin or written_consent evidence (global, or for offers), "
                "or a confirmed_at in the export, after 2026-11-20T10:00Z (a sign-up form is not enough "
                "after a spam complaint)",
            )
        ],
    ),
    (
        "left the export",
        "leaver@example.com",
        2,
        "offers",
        False,
        [
            (
                "not_in_source",
                "2026-11-21T00:00:00Z",
                "crm:contacts_2026-11-20.csv row 20",
                "the address appearing on offers again in a contacts export",
            )
        ],
    ),
    (
        "export says cleaned",
        "cleaned@example.com",
        2,
        "offers",
        False,
        [
            (
                "source_cleaned",
                "2026-11-21T00:00:00Z",
                "crm:contacts_2026-11-21.csv row 21",
                "the crm export showing another status on offers",
            )
        ],
    ),
    (
        "invalid address",
        " not-an-address ",
        2,
        "offers",
        False,
        [
            (
                "invalid_address",
                "2026-11-20T00:00:00Z",
                "crm:contacts_2026-11-20.csv row 19",
                "a corrected address in the export",
            )
        ],
    ),
]


@pytest.mark.parametrize(
    "seed, query, night, list_id, sendable, reasons", SEED_SITUATIONS, ids=[s[0] for s in SEED_SITUATIONS]
)
def test_seed_situation_is_explained(nights, seed, query, night, list_id, sendable, reasons):
    entry = on_list(explained(nights, query, night=night), list_id)
    assert entry["sendable"] is sendable
    assert [r["reason"] for r in entry["reasons"]] == [r[0] for r in reasons]
    for got, (_reason, since, lineage, lifted_by) in zip(entry["reasons"], reasons):
        assert got["since"] == since
        if lineage:
            assert lineage in got["detail"]
        assert lifted_by in got["lifted_by"]


@pytest.mark.parametrize(
    "query, lines",
    [  # each a line of the output, or fragments of one
        (
            "Tom Baker <Tom.Baker@ACME.example>",
            [
                'tom.baker@acme.example (you asked for "Tom Baker <Tom.Baker@ACME.example>"): a valid address',
                "  staff-news: NOT sendable for marketing (record C002); transactional mail: allowed",
                "    1. unsubscribed (for the whole address) since 2026-11-20T14:05Z",
                "       because: global unsubscribe (contact) on campaign C-16, 2026-11-20T14:05Z "
                "(platform_unsubscribes:unsubscribes.csv row 8)",
                f"       lifted by: a resubscribe with {ANY} evidence (global, or for staff-news), or a "
                "confirmed_at in the export, after 2026-11-20T14:05Z; a re-import or an export saying "
                "subscribed is not enough",
            ],
        ),
        (
            "gone@example.com",
            [
                "  offers: NOT sendable for marketing (record C032); transactional mail: NOT allowed",
                "    1. hard_bounce (for the whole address) since 2026-11-20T07:30Z",
                (
                    "       because: hard bounce 550 5.1.1",
                    "on campaign C-17, 2026-11-20T07:30Z (platform_bounces:bounces.csv row 17)",
                ),
            ],
        ),
        (
            "jordan@realty.example",
            ["  offers: SENDABLE for marketing (record C010); transactional mail: allowed"],
        ),
    ],
)
def test_terminal_output_says_it_in_words(nights, query, lines):
    config, _, second = nights
    text = invoke("explain", query, "--config", config).stdout
    assert second in text.splitlines()[1]
    for line in lines:
        fragments = line if isinstance(line, tuple) else None
        found = (
            any(
                line.startswith(fragments[0]) and all(f in line for f in fragments)
                for line in text.splitlines()
            )
            if fragments
            else line in text.splitlines()
        )
        assert found, f"{line!r} not in:\n{text}"


def test_records_and_timeline_carry_lineage(nights):
    answer = explained(nights, "ANA.SOUZA@example.org")
    assert answer["email"] == "ana.souza@example.org" and answer["valid"] is True
    records = {(r["contact_id"], r["list_id"]): r for r in answer["records"]}
    assert set(records) == {("C020", "newsletter"), ("C021", "offers")}
    assert records["C020", "newsletter"]["email_raw"] == '"Souza, Ana" <ana.souza@Example.org>'
    assert records["C020", "newsletter"]["status_raw"] == "do_not_allow"
    assert records["C021", "offers"]["lineage"] == "crm:contacts_2026-11-21.csv row 8"
    assert all(r["speaks_for_list"] for r in answer["records"])
    timeline = [(e["at"], e["kind"], e["scope"], e["lineage"]) for e in answer["timeline"]]
    assert timeline == [
        ("2026-11-20T00:00:00Z", "export", "newsletter", "crm:contacts_2026-11-20.csv row 7"),
        ("2026-11-20T00:00:00Z", "export", "offers", "crm:contacts_2026-11-20.csv row 8"),
        ("2026-11-20T07:00:16Z", "delivery", "global", "platform_bounces:bounces.csv row 20"),
        ("2026-11-20T11:00:00Z", "unsubscribe", "global", "platform_unsubscribes:unsubscribes.csv row 6"),
        ("2026-11-21T00:00:00Z", "export", "newsletter", "crm:contacts_2026-11-21.csv row 7"),
        ("2026-11-21T00:00:00Z", "export", "offers", "crm:contacts_2026-11-21.csv row 8"),
    ]
    unsubscribe = answer["timeline"][3]
    assert (unsubscribe["origin"], unsubscribe["campaign_id"], unsubscribe["file"], unsubscribe["row"]) == (
        "contact",
        "C-16",
        "unsubscribes.csv",
        6,
    )
    assert unsubscribe["note"] == "global opt-out from the preference centre"


def test_bounce_events_show_class_and_codes(nights):
    bounces = [e for e in explained(nights, "full@example.com")["timeline"] if e["kind"] == "bounce"]
    assert [(e["campaign_id"], e["bounce_class"], e["smtp_code"], e["enhanced_code"]) for e in bounces] == [
        ("C-14", "soft", 452, "4.2.2"),
        ("C-15", "soft", 552, "5.2.2"),
        ("C-16", "soft", None, "4.2.2"),
        ("C-17", "soft", 452, "4.2.2"),
    ]
    assert all(e["bounce_rule"] for e in bounces)


def test_blocked_resubscribes_say_why_a_reimport_did_not_help(nights):
    blocked = explained(nights, "priya@acme.example", "--list", "staff-news")["blocked_resubscribes"]
    assert [(b["attempted_at"], b["source"]) for b in blocked] == [
        ("2026-11-20T22:00:00Z", "platform_unsubscribes:unsubscribes.csv row 11"),
        ("2026-11-21T00:00:00Z", "crm:contacts_2026-11-21.csv row 3"),
    ]
    assert blocked[0]["why"].startswith("no evidence of consent")
    assert "a re-import does not resubscribe" in blocked[1]["why"]


def test_list_option_keeps_one_list_and_answers_for_a_list_the_address_is_not_on(nights):
    answer = explained(nights, "dana@example.net", "--list", "offers", night=1)
    assert [e["list_id"] for e in answer["lists"]] == ["offers"]
    gone = on_list(explained(nights, "gone@example.com", "--list", "staff-news"), "staff-news")
    assert (gone["member"], gone["sendable"], gone["transactional_ok"]) == (False, False, False)
    assert [r["reason"] for r in gone["reasons"]] == ["hard_bounce"]


def test_address_seen_only_in_the_logs_is_suppressed_everywhere(nights):
    answer = explained(nights, "Stranger@Example.com")
    assert answer["known"] is True and answer["records"] == []
    [entry] = answer["lists"]
    assert entry["list_id"] is None and entry["sendable"] is False
    assert [r["reason"] for r in entry["reasons"]] == ["complaint"]
    assert answer["timeline"][0]["lineage"] == "platform_unsubscribes:unsubscribes_extra.csv row 1"


def test_address_seen_only_in_deliveries_is_explained_and_never_suppressed(nights):
    """candidates leaves out addresses seen only in deliveries (a delivery causes no reason):
    the address is still known to explain, on no list, with no reason, and in no output."""
    config, _, _ = nights
    answer = explained(nights, "reader@example.com")
    assert answer["known"] is True and answer["records"] == []
    [entry] = answer["lists"]
    assert entry["list_id"] is None and entry["reasons"] == []
    assert [e["kind"] for e in answer["timeline"]] == ["delivery"]
    latest = config.parent.parent / "out/sample/latest"
    for output in ("suppressions.parquet", "contact_status.parquet"):
        assert pl.read_parquet(latest / output).filter(pl.col("email") == "reader@example.com").is_empty()


def test_unknown_address_is_answered_not_an_error(nights):
    config, _, _ = nights
    answer = explained(nights, "nobody@nowhere.example")
    assert answer["known"] is False and answer["records"] == [] and answer["timeline"] == []
    text = invoke("explain", "nobody@nowhere.example", "--config", config).stdout
    assert "holds no contact record and no event for nobody@nowhere.example" in text


def test_every_answer_agrees_with_the_published_run(nights):
    """explain re-applies the rules to one address: it must say what the run published, for everyone
    (the second night; the first is covered by the seed situations)."""
    config, _, second = nights
    for run_id in (second,):
        status = read(config.parent.parent / "out/sample/runs" / f"run_id={run_id}", "contact_status")
        for email in sorted(set(status["email"])):
            answer = json.loads(
                invoke("explain", email, "--config", config, "--run", run_id, "--json").stdout
            )
            assert answer["warnings"] == [], (email, answer["warnings"])
            published = status.filter((pl.col("email") == email) & pl.col("list_id").is_not_null())
            for row in published.iter_rows(named=True):
                entry = on_list(answer, row["list_id"])
                assert (entry["sendable"], [r["reason"] for r in entry["reasons"]]) == (
                    row["sendable"],
                    row["reasons"],
                ), (run_id, email, row["list_id"])


def test_an_export_whose_first_rows_are_not_stored_is_looked_up_whole(nights, monkeypatch):
    """Each export's first stored row is sought among its first rows, else in the whole file: the
    same answers either way (here every file goes the long way)."""
    from listhygiene.outputs.explain import rows

    queries = ["Tom Baker <Tom.Baker@ACME.example>", "megan@acme.example", "stranger@example.com"]
    bounded = [explained(nights, query) for query in queries]
    monkeypatch.setattr(rows, "FIRST_ROW_WITHIN", 0)
    assert [explained(nights, query) for query in queries] == bounded


def test_a_past_run_is_explained_with_the_files_it_used(tmp_path):
    """A log loaded later with an event before the first night does not change that night's answer."""
    config = copy_sample(tmp_path)
    invoke("run", "--config", config, "--as-of", NIGHT_1)
    first = (tmp_path / "out/sample/latest").resolve().name.removeprefix("run_id=")
    (tmp_path / "data/sample/unsubscribes_late.csv").write_text(
        "email,occurred_at,event,source\nmegan@acme.example,2026-11-19T08:00:00Z,unsubscribe,contact\n"
    )
    invoke("run", "--config", config, "--as-of", NIGHT_2, "--force")  # megan's unsubscribe drops 2 of 3

    then = json.loads(
        invoke("explain", "megan@acme.example", "--config", config, "--run", first, "--json").stdout
    )
    now = json.loads(invoke("explain", "megan@acme.example", "--config", config, "--json").stdout)
    assert on_list(then, "staff-news")["sendable"] is True and then["warnings"] == []
    assert then["run"]["as_of"] == "2026-11-20T06:00:00Z"
    assert [r["reason"] for r in on_list(now, "staff-news")["reasons"]] == ["unsubscribed"]
    assert [e["kind"] for e in then["timeline"]] == ["delivery", "export"]

    # its outputs pruned away: still explained from the store, with a note saying so
    shutil.rmtree(tmp_path / "out/sample/runs" / f"run_id={first}")
    pruned = json.loads(
        invoke("explain", "megan@acme.example", "--config", config, "--run", first, "--json").stdout
    )
    assert on_list(pruned, "staff-news")["sendable"] is True
    assert pruned["warnings"] == [
        f"the outputs of run {first} are no longer on disk; this explanation is "
        "re-derived from the store alone"
    ]


def test_explain_only_reads_the_store(nights):
    config, _, _ = nights
    database = config.parent.parent / "state/sample.duckdb"
    before = database.read_bytes()
    invoke("explain", "tom.baker@acme.example", "--config", config)
    assert database.read_bytes() == before


def test_a_run_going_on_is_reported_not_waited_for(nights):
    config, _, _ = nights
    database = config.parent.parent / "state/sample.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(database)!r}); "
            "print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        result = invoke("explain", "tom.baker@acme.example", "--config", config, expect=5)
        assert "in use by a run that is going on" in result.stderr
        assert "Traceback" not in result.output
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize(
    "args, message",
    [
        (
            [
                "",
            ],
            "no address given",
        ),
        (["tom@acme.example", "--run", "20991231T000000Z-nope"], "no published run '20991231T000000Z-nope'"),
    ],
)
def test_usage_errors_exit_2(nights, args, message):
    config, _, _ = nights
    assert message in invoke("explain", *args, "--config", config, expect=2).stderr


def test_nothing_published_yet_exits_2(tmp_path):
    config = copy_sample(tmp_path)
    result = invoke("explain", "tom.baker@acme.example", "--config", config, expect=2)
    assert "does not exist yet" in result.stderr
    (tmp_path / "state").mkdir()
    store.connect(tmp_path / "state/sample.duckdb").close()  # a store whose first night failed
    assert (
        "no run has been published yet"
        in invoke("explain", "tom.baker@acme.example", "--config", config, expect=2).stderr
    )
