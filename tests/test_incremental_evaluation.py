"""Incremental nights (the default): a night that re-evaluates only the changed addresses publishes what a full night would."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from listhygiene import store
from listhygiene.outputs import publish
from listhygiene.rules import runner

from conftest import REPO, invoke

OUTPUTS = (
    "contact_status",
    "sendable",
    "suppressions",
    "vanished",
    "blocked_resubscribes",
    "duplicates",
    "crm_updates",
    "consent_ledger",
    "quarantine",
)
# what names the workspace or the run, not the rules' result
NOT_COMPARED = {"quarantine": ["file"], "vanished": ["previous_run_id"]}

NIGHT_1 = "2026-11-20T06:00:00Z"
NIGHT_2 = "2026-11-21T06:00:00Z"

PIPELINE = """
[store]
database = "state/store.duckdb"
output = "out"
{incremental}

[[sources]]
name = "crm"
kind = "contacts"
path = "contacts_*.csv"

[[sources]]
name = "platform_unsubscribes"
kind = "unsubscribes"
path = "unsubscribes_*.csv"

[[sources]]
name = "platform_bounces"
kind = "bounces"
path = "bounces_*.csv"

[lists.news]
require_confirmed_optin = true

[policy]
max_list_drop_fraction = 1.0   # lists of a few addresses: any change is a large drop
"""

CONTACTS = "contact_id,email,list_id,status,confirmed_at,do_not_contact,first_name\n"
UNSUBSCRIBES = "email,occurred_at,event,list_id,source,evidence,evidence_ref,campaign_id,reason\n"
BOUNCES = "email,occurred_at,event,campaign_id,bounce_type,smtp_code,enhanced_code,diagnostic\n"


class Twins:
    """Two workspaces fed the same files night after night: one incremental, one full."""

    def __init__(self, root: Path, pipeline: str | None = None):
        self.incremental, self.full = root / "incremental", root / "full"
        # the incremental twin runs the pipeline as written (incremental is the default), the
        # full twin has it switched off
        for folder, flag in ((self.incremental, ""), (self.full, "incremental = false")):
            folder.mkdir(parents=True)
            (folder / "pipeline.toml").write_text(pipeline or PIPELINE.format(incremental=flag))
        if pipeline:  # a pipeline given whole: the full twin gets the flag added
            text = (self.full / "pipeline.toml").read_text()
            (self.full / "pipeline.toml").write_text(
                text.replace("[store]\n", "[store]\nincremental = false\n", 1)
            )

    def add(self, name: str, text: str | None = None, source: Path | None = None) -> None:
        for folder in (self.incremental, self.full):
            if source is not None:
                shutil.copy(source, folder / name)
            else:
                (folder / name).write_text(text)

    def night(self, as_of: str) -> dict:
        """Run the night in both; assert equal outputs; return the incremental run's manifest."""
        for folder in (self.incremental, self.full):
            invoke("-q", "run", "--config", folder / "pipeline.toml", "--as-of", as_of)
        for name in OUTPUTS:
            try:
                assert_frame_equal(self.read(self.incremental, name), self.read(self.full, name))
            except AssertionError as error:
                raise AssertionError(f"{name}.parquet as of {as_of}: {error}") from None
        # the per-list counts the drop guard reads, and the output row counts
        manifest, full = self.manifest(), self.manifest(self.full)
        assert (manifest["lists"], manifest["outputs"]) == (full["lists"], full["outputs"])
        return manifest

    def read(self, folder: Path, name: str) -> pl.DataFrame:
        frame = pl.read_parquet(folder / "out" / "latest" / f"{name}.parquet", hive_partitioning=False)
        return frame.drop(NOT_COMPARED.get(name, []))

    def latest(self, name: str) -> pl.DataFrame:
        return self.read(self.incremental, name)

    def manifest(self, folder: Path | None = None) -> dict:
        folder = folder or self.incremental
        return json.loads((folder / "out" / "latest" / "manifest.json").read_text())


def row(frame: pl.DataFrame, **match) -> dict:
    [found] = frame.filter(**match).iter_rows(named=True)
    return found


@pytest.fixture
def twins(tmp_path) -> Twins:
    return Twins(tmp_path)


# --- whole data sets: every output equal, night after night -----------------------------------


@pytest.mark.parametrize("seed", [3, 8])
def test_synthetic_nights_publish_what_full_nights_do(tmp_path, seed):
    data = tmp_path / "data"
    invoke(
        "synth",
        "--contacts",
        3000,
        "--events",
        18000,
        "--lists",
        3,
        "--nights",
        3,
        "--seed",
        seed,
        "--format",
        "csv",
        "--out",
        data,
    )
    twins = Twins(tmp_path, (data / "pipeline.toml").read_text())
    nights = json.loads((data / "synth.json").read_text())["nights"]
    for number, night in enumerate(nights, start=1):
        for f in night["files"]:
            twins.add(f["name"], source=data / f["name"])
        evaluation = twins.night(night["as_of"])["evaluation"]
        if number == 1:
            assert evaluation["mode"] == "full"
        else:
            assert evaluation["mode"] == "incremental", evaluation["why"]
            # a fraction of the addresses, not all of them
            assert 0 < evaluation["addresses_evaluated"] < twins.latest("contact_status")["email"].n_unique()


def test_the_sample_story_publishes_what_full_nights_do(tmp_path):
    # one log file for both nights: night 2's events were loaded on night 1, dated after its as-of
    twins = Twins(
        tmp_path,
        (REPO / "pipelines" / "sample.toml")
        .read_text()
        .replace('"../out/sample"', '"out"')
        .replace("../data/sample/", "")
        .replace("../", ""),
    )
    for name in ("contacts_2026-11-20.csv", "unsubscribes.csv", "bounces.csv"):
        twins.add(name, source=REPO / "data" / "sample" / name)
    twins.night(NIGHT_1)
    twins.add("contacts_2026-11-21.csv", source=REPO / "data" / "sample" / "contacts_2026-11-21.csv")
    assert twins.night(NIGHT_2)["evaluation"]["mode"] == "incremental"


# --- each way an address becomes dirty: remove it from dirty_addresses.sql and its test fails ----


def two_snapshots(twins: Twins, night_1: str, night_2: str | None = None) -> None:
    twins.add("contacts_2026-11-20.csv", CONTACTS + night_1)
    twins.add("contacts_2026-11-21.csv", CONTACTS + (night_2 if night_2 is not None else night_1))


STEADY = "C1,steady@example.com,offers,subscribed,,,Sam\n"


def test_a_row_changed_in_the_new_export_is_evaluated(twins):
    twins.add(
        "contacts_2026-11-20.csv", CONTACTS + STEADY + "C2,leaves@example.com,offers,subscribed,,,Lee\n"
    )
    twins.night(NIGHT_1)
    twins.add(
        "contacts_2026-11-21.csv", CONTACTS + STEADY + "C2,leaves@example.com,offers,unsubscribed,,,Lee\n"
    )
    manifest = twins.night(NIGHT_2)
    assert manifest["evaluation"]["mode"] == "incremental"
    assert row(twins.latest("vanished"), email="leaves@example.com")["reason"] == "source_unsubscribed"
    assert twins.latest("sendable")["email"].to_list() == ["steady@example.com"]


def test_an_event_in_a_new_file_is_evaluated(twins):
    two_snapshots(twins, STEADY + "C2,bounced@example.com,offers,subscribed,,,Bo\n")
    twins.night(NIGHT_1)
    # a late log: the bounce happened before night 1's as-of, its file came a day later
    twins.add(
        "bounces_2026-11-21.csv",
        BOUNCES
        + 'bounced@example.com,2026-11-19T10:00:00Z,bounce,C-1,hard,550,5.1.1,"550 5.1.1 user unknown"\n',
    )
    twins.night(NIGHT_2)
    assert row(twins.latest("vanished"), email="bounced@example.com")["reason"] == "hard_bounce"


def test_a_delivery_is_evaluated_where_it_can_lift_a_bounce_and_only_there(twins):
    two_snapshots(twins, STEADY + "C2,back@example.com,offers,subscribed,,,Bo\n")
    twins.add(
        "bounces_2026-11-20.csv",
        BOUNCES
        + 'back@example.com,2026-11-19T10:00:00Z,bounce,C-1,hard,550,5.1.1,"550 5.1.1 user unknown"\n',
    )
    twins.night(NIGHT_1)
    assert not row(twins.latest("contact_status"), email="back@example.com")["sendable"]
    # tonight's log: a delivery to each; the bounced address's proves it works again
    twins.add(
        "bounces_2026-11-21.csv",
        BOUNCES + "back@example.com,2026-11-20T10:00:00Z,delivered,C-2,,,,\n"
        "steady@example.com,2026-11-20T10:00:00Z,delivered,C-2,,,,\n",
    )
    evaluation = twins.night(NIGHT_2)["evaluation"]
    assert row(twins.latest("contact_status"), email="back@example.com")["sendable"]
    assert evaluation["addresses_evaluated"] == 1  # not steady@: its delivery lifts nothing


def test_an_event_dated_after_the_last_as_of_counts_once_the_as_of_passes_it(twins):
    # loaded on night 1 but dated after its as-of: hidden then, counted on night 2
    two_snapshots(twins, STEADY + "C2,later@example.com,offers,subscribed,,,Lu\n")
    twins.add(
        "bounces_2026-11-20.csv",
        BOUNCES
        + 'later@example.com,2026-11-20T12:00:00Z,bounce,C-2,hard,550,5.1.1,"550 5.1.1 user unknown"\n',
    )
    assert twins.night(NIGHT_1)["lists"]["offers"]["sendable"] == 2
    twins.night(NIGHT_2)
    assert row(twins.latest("vanished"), email="later@example.com")["reason"] == "hard_bounce"


def test_a_confirmation_dated_after_the_last_as_of_counts_once_the_as_of_passes_it(twins):
    # the same row in both exports: only the as-of moving past its confirmed_at changes it
    two_snapshots(twins, STEADY + "C2,confirms@example.com,news,subscribed,2026-11-20T12:00:00Z,,Cy\n")
    night_1 = twins.night(NIGHT_1)
    assert night_1["lists"]["news"]["sendable"] == 0
    twins.night(NIGHT_2)
    assert row(twins.latest("contact_status"), email="confirms@example.com", list_id="news")["sendable"]


def test_a_new_snapshot_past_an_unsubscribe_is_evaluated_though_its_rows_did_not_change(twins):
    # the CRM's own sync unsubscribed it after the first export; the second export, newer,
    # lists it subscribed: that lifts it on night 2, with rows and events unchanged since night 1
    # (and nothing to tell the CRM, which said it: no crm_updates row names the address)
    two_snapshots(twins, STEADY + "C2,back@example.com,offers,subscribed,,,Bea\n")
    twins.add(
        "unsubscribes_2026-11-20.csv",
        UNSUBSCRIBES + "back@example.com,2026-11-20T04:00:00Z,unsubscribe,,integration,,,,CRM sync\n",
    )
    twins.night(NIGHT_1)
    assert row(twins.latest("contact_status"), email="back@example.com")["reason"] == "unsubscribed"
    assert twins.latest("crm_updates").height == 0
    twins.night(NIGHT_2)
    assert row(twins.latest("contact_status"), email="back@example.com")["sendable"]


def test_a_late_export_older_than_tonights_rewrites_history(twins):
    # a former member, absent from both latest exports, last seen in an export that arrives late
    twins.add(
        "contacts_2026-11-18.csv", CONTACTS + STEADY + "C2,former@example.com,offers,subscribed,,,Flo\n"
    )
    twins.add("contacts_2026-11-19.csv", CONTACTS + STEADY)
    twins.night(NIGHT_1)
    twins.add("contacts_2026-11-21.csv", CONTACTS + STEADY)
    twins.add(
        "contacts_2026-11-20.csv", CONTACTS + STEADY + "C2,former@example.com,offers,subscribed,,,Flo\n"
    )
    twins.night(NIGHT_2)
    detail = row(twins.latest("contact_status"), email="former@example.com")["detail"]
    assert "crm:contacts_2026-11-20.csv row 2" in detail


def test_a_former_members_time_moves_with_a_new_snapshot_it_is_not_in(twins):
    # not_in_source since the first export with rows after it was last seen: the exports
    # between were empty, so tonight's export sets it, though it does not hold the address
    # (found by test_random_histories_publish_what_full_nights_do)
    twins.add("contacts_2026-11-18.csv", CONTACTS + "C2,former@example.com,offers,subscribed,,,Flo\n")
    twins.add("contacts_2026-11-19.csv", CONTACTS)
    twins.night(NIGHT_1)
    assert row(twins.latest("contact_status"), email="former@example.com")["reason_at"] is None
    twins.add("contacts_2026-11-21.csv", CONTACTS + STEADY)
    twins.night(NIGHT_2)
    assert row(twins.latest("contact_status"), email="former@example.com")["reason_at"] is not None


def test_a_row_naming_the_replaced_export_is_rewritten_to_tonights_row(twins):
    # unsubscribed in both exports: the same reason, but its detail names tonight's file and
    # row. Its rows are the same, so it keeps last night's rows with the citation moved
    # (cited_rows), and only the new address is evaluated
    two_snapshots(
        twins,
        STEADY + "C2,out@example.com,offers,unsubscribed,,,Oz\n",
        "C0,new@example.com,offers,subscribed,,,Nia\n"
        + STEADY
        + "C2,out@example.com,offers,unsubscribed,,,Oz\n",
    )
    twins.night(NIGHT_1)
    assert twins.night(NIGHT_2)["evaluation"]["addresses_evaluated"] == 1
    detail = row(twins.latest("contact_status"), email="out@example.com")["detail"]
    assert detail.endswith("(crm:contacts_2026-11-21.csv row 3)")
    assert row(twins.latest("suppressions"), email="out@example.com")["detail"] == detail


def test_every_citation_in_a_text_moves_to_its_own_row(twins):
    # one address on two lists, each row cited; row 2 must not be read in row 12 (nor 12 in 2)
    steady = "".join(f"C{i},steady{i}@example.com,offers,subscribed,,,S{i}\n" for i in range(9))
    night_1 = "C2,out@example.com,offers,pending,,,Oz\n" + steady + "C2,out@example.com,news,pending,,,Oz\n"
    two_snapshots(twins, night_1, "C0,new@example.com,offers,subscribed,,,Nia\n" + night_1)
    twins.night(NIGHT_1)
    assert (
        "crm:contacts_2026-11-20.csv row 11"
        in row(twins.latest("contact_status"), email="out@example.com", list_id="news")["detail"]
    )
    assert twins.night(NIGHT_2)["evaluation"]["addresses_evaluated"] == 1
    status = twins.latest("contact_status")
    assert row(status, email="out@example.com", list_id="offers")["detail"].endswith(
        "(crm:contacts_2026-11-21.csv row 2)"
    )
    assert row(status, email="out@example.com", list_id="news")["detail"].endswith(
        "(crm:contacts_2026-11-21.csv row 12)"
    )


def test_rows_in_another_order_are_evaluated_not_rewritten(twins):
    # the same two rows swapped: by place the first would cite the other list's row
    offers, news = "C2,out@example.com,offers,unsubscribed,,,Oz\n", "C2,out@example.com,news,cleaned,,,Oz\n"
    two_snapshots(twins, STEADY + offers + news, STEADY + news + offers)
    twins.night(NIGHT_1)
    assert twins.night(NIGHT_2)["evaluation"]["addresses_evaluated"] == 1
    assert row(twins.latest("contact_status"), email="out@example.com", list_id="offers")["detail"].endswith(
        "(crm:contacts_2026-11-21.csv row 3)"
    )


def test_a_row_cited_for_its_history_is_not_moved(twins):
    # an invalid address is cited in the first export that held it: still night 1's row on
    # night 2, though tonight's export holds it too (found by the synthetic nights)
    two_snapshots(
        twins,
        STEADY + "C2,ann@@example.com,offers,subscribed,,,Oz\n",
        "C0,new@example.com,offers,subscribed,,,Nia\n"
        + STEADY
        + "C2,ann@@example.com,offers,subscribed,,,Oz\n",
    )
    twins.night(NIGHT_1)
    twins.night(NIGHT_2)
    detail = row(twins.latest("contact_status"), email="ann@@example.com")["detail"]
    assert detail.endswith("(crm:contacts_2026-11-20.csv row 2)")


def test_the_citations_that_may_move_are_the_citations_rewritten():
    # a column whose citations cited_rows moves but publish does not rewrite would keep a
    # stale citation; one publish rewrites but cited_rows never moves costs for nothing
    read = re.findall(
        r"replaced_citations\((\w+)\)\) as cited,\s*(.*?) as moves\s+from previous_(\w+)",
        runner.model_sql("citations"),
        re.S,
    )
    may_move = {(column, output) for column, moves, output in read if moves != "false"}
    rewritten = {
        (column, name.removesuffix(".parquet"))
        for name, columns in publish.CITING_COLUMNS.items()
        for column in columns
    }
    assert may_move == rewritten
    # and every output kept from the basis that cites contact rows is read
    assert {output for _, _, output in read} == {
        "contact_status",
        "suppressions",
        "blocked_resubscribes",
        "crm_updates",
    }


def test_exports_of_one_name_in_dated_folders_are_evaluated(tmp_path):
    # night/contacts.csv each night: "crm:contacts.csv row 2" may be either night's row, so a
    # citation of it cannot be moved
    pipeline = PIPELINE.replace('path = "contacts_*.csv"', 'path = "*/contacts.csv"')
    twins = Twins(tmp_path, pipeline.format(incremental=""))
    header = "contact_id,email,list_id,status,exported_at\n"
    for day, extra in (("2026-11-20", ""), ("2026-11-21", "C0,new@example.com,offers,subscribed,{t}\n")):
        stamp = f"{day}T02:00:00Z"
        text = header + extra.format(t=stamp) + f"C2,out@example.com,offers,unsubscribed,{stamp}\n"
        for folder in (twins.incremental, twins.full):
            (folder / day).mkdir()
            (folder / day / "contacts.csv").write_text(text)
        evaluation = twins.night(NIGHT_1 if day == "2026-11-20" else NIGHT_2)["evaluation"]
    assert evaluation["mode"] == "incremental" and evaluation["addresses_evaluated"] == 2
    assert row(twins.latest("contact_status"), email="out@example.com")["detail"].endswith(
        "(crm:contacts.csv row 2)"
    )


def test_a_record_listed_twice_on_a_list_is_evaluated_when_its_rows_change_order(twins):
    # one record twice on a list, with two names: the first row by row number speaks for the
    # membership and gives sendable.parquet its attributes, so the same rows in another order
    # publish the other name, with the address's rows unchanged by content
    twins.add(
        "contacts_2026-11-20.csv",
        CONTACTS + "K1,ann@example.com,offers,subscribed,,,Ann\n"
        "K1,ann@example.com,offers,subscribed,,,Annie\n",
    )
    twins.night(NIGHT_1)
    twins.add(
        "contacts_2026-11-21.csv",
        CONTACTS + "K1,ann@example.com,offers,subscribed,,,Annie\n"
        "K1,ann@example.com,offers,subscribed,,,Ann\n",
    )
    assert twins.night(NIGHT_2)["evaluation"]["mode"] == "incremental"
    assert twins.latest("sendable")["first_name"].to_list() == ["Annie"]


def test_a_new_snapshot_of_a_suppression_list_evaluates_the_addresses_on_either_snapshot(tmp_path):
    twins = Twins(
        tmp_path,
        PIPELINE.format(incremental="")
        + '\n[[sources]]\nname = "acme"\nkind = "suppressions"\npath = "dnm_*.csv"\n',
    )
    steady = "".join(f"C{i},steady{i}@example.com,offers,subscribed,,,S{i}\n" for i in range(20))
    people = "".join(f"C{n},{n}@example.com,offers,subscribed,,,{n}\n" for n in ("ann", "bob", "cy"))
    two_snapshots(twins, steady + people)
    bob = hashlib.sha256(b"bob@example.com").hexdigest()
    twins.add(
        "dnm_2026-11-19.csv",
        f"email,email_sha256,list_id\nann@example.com,,\n,{bob},offers\ndee@example.com,,\n",
    )
    twins.night(NIGHT_1)
    assert sorted(twins.latest("suppressions")["email"]) == [
        "ann@example.com",
        "bob@example.com",
        "dee@example.com",
    ]
    # tonight's list drops ann and dee and adds cy; a late snapshot without bob arrives with it,
    # which breaks bob's run of snapshots: he is listed since tonight's (equal outputs say so)
    twins.add("dnm_2026-11-21.csv", f"email,email_sha256,list_id\n,{bob},offers\ncy@example.com,,\n")
    twins.add("dnm_2026-11-20.csv", "email,list_id\ncy@example.com,\n")
    evaluation = twins.night(NIGHT_2)["evaluation"]
    assert evaluation["mode"] == "incremental"
    assert evaluation["addresses_evaluated"] == 4  # ann, bob, cy, dee: not the steady ones
    suppressions = twins.latest("suppressions")
    assert sorted(suppressions["email"]) == ["bob@example.com", "cy@example.com"]
    assert row(suppressions, email="bob@example.com")["since"].isoformat() == "2026-11-21T00:00:00+00:00"
    assert row(twins.latest("contact_status"), email="ann@example.com")["sendable"]
    # a night without a new list evaluates none of them
    assert twins.night("2026-11-22T06:00:00Z")["evaluation"]["addresses_evaluated"] == 0


def test_only_the_changed_addresses_are_evaluated(twins):
    steady = "".join(f"C{i},steady{i}@example.com,offers,subscribed,,,S{i}\n" for i in range(20))
    twins.add("contacts_2026-11-20.csv", CONTACTS + steady + "C99,leaves@example.com,offers,subscribed,,,L\n")
    twins.night(NIGHT_1)
    twins.add("contacts_2026-11-21.csv", CONTACTS + steady)
    evaluation = twins.night(NIGHT_2)["evaluation"]
    assert evaluation == {**evaluation, "mode": "incremental", "addresses_evaluated": 1}
    assert twins.latest("sendable").height == 20


def test_every_contact_column_is_in_the_content_hash(tmp_path):
    # a column left out of changed_rows' hash would let an edit to it go unseen
    con = store.connect(tmp_path / "store.duckdb")
    try:
        columns = {name for name, *_ in con.execute("describe contact_rows").fetchall()}
    finally:
        con.close()
    hashed = re.search(r"macro row_content\((.*?)\) as\s+hash\((.*?)\);", runner.model_sql("_macros"), re.S)
    arguments = re.findall(r"\w+", hashed.group(1))
    assert re.findall(r"\w+", hashed.group(2)) == arguments
    # position, the file's export time, and the address itself (what is grouped on) aside;
    # email_spelling is hashed as email_raw, which the store computes from it
    assert set(arguments) == columns - {"file_id", "row_number", "exported_at", "email", "email_spelling"}
    # and the models comparing two exports row by row pass it every column, in its order
    for name in ("dirty_addresses", "cited_rows"):
        calls = re.findall(r"row_content\(((?:r\.)?contact_id.*?)\) as h", runner.model_sql(name), re.S)
        assert calls and all(re.findall(r"(?:r\.)?(\w+)", call) == arguments for call in calls), name


@pytest.mark.parametrize("view", sorted(runner.VIEW_MODELS))
def test_every_store_table_an_input_view_reads_is_restricted_where_it_is_read(view):
    # the filter sits on each scan of a store table, not on the view: DuckDB does not push it
    # through the view's union and joins, and would shape every stored row first
    restricted = runner.only_dirty_sql(view)
    reads = re.findall(r"\b(?:from|join)\s+(\w+)", runner.model_sql(view))
    store_tables = [name for name in reads if name in runner.STORE_INPUTS]
    assert store_tables, view
    filtered = [
        table
        for table, restriction in re.findall(r"\(select \* from (\w+) (.*?)\) as \w+", restricted)
        if restriction == runner.DIRTY_ROWS[table]
    ]
    assert filtered == store_tables


def test_a_store_table_read_without_an_alias_is_refused(monkeypatch):
    monkeypatch.setattr(
        runner, "model_sql", lambda name: "select * from bounce_events where not is_duplicate"
    )
    with pytest.raises(ValueError, match=r"models/events.sql reads bounce_events without an alias"):
        runner.only_dirty_sql("events")


def test_every_output_is_published_in_a_total_order(twins):
    # one CRM record exported with two addresses, each asking not to be contacted: a crm
    # update for each, of the same record, list and field. Sorted without the address, they
    # came out in either order run to run (found by the random histories below)
    twins.add(
        "contacts_2026-11-20.csv",
        CONTACTS + "K1,ann@example.com,offers,subscribed,,,Ann\nK1,bo@example.com,offers,subscribed,,,Bo\n",
    )
    twins.add(
        "unsubscribes_2026-11-20.csv",
        UNSUBSCRIBES + "ann@example.com,2026-11-19T04:00:00Z,do_not_contact,,contact,,,,\n"
        "bo@example.com,2026-11-19T04:00:00Z,do_not_contact,,contact,,,,\n",
    )
    twins.night(NIGHT_1)
    assert twins.latest("crm_updates").height == 2
    for name, (_, order) in publish.OUTPUT_QUERIES.items():
        keys = [key.split()[0] for key in order.split(",")]
        frame = pl.read_parquet(twins.incremental / "out" / "latest" / name, hive_partitioning=False)
        assert not frame.select(keys).is_duplicated().any(), f"{name}: rows tie on {', '.join(keys)}"


# --- when a night is evaluated in full --------------------------------------------------------


def test_the_first_night_and_a_changed_pipeline_are_evaluated_in_full(twins):
    two_snapshots(twins, STEADY)
    assert twins.night(NIGHT_1)["evaluation"] == {
        "mode": "full",
        "basis_run_id": None,
        "addresses_evaluated": None,
        "why": "no previous run with outputs",
    }
    for folder in (twins.incremental, twins.full):
        path = folder / "pipeline.toml"
        path.write_text(
            path.read_text().replace(
                "[lists.news]", "[lists.offers]\nrequire_confirmed_optin = false\n\n[lists.news]"
            )
        )
    evaluation = twins.night(NIGHT_2)["evaluation"]
    assert evaluation["mode"] == "full" and evaluation["why"].startswith("the pipeline file changed")


def test_run_full_evaluates_every_address_and_the_next_night_builds_on_it(twins):
    twins.add("contacts_2026-11-20.csv", CONTACTS + STEADY)
    twins.night(NIGHT_1)
    invoke("-q", "run", "--config", twins.incremental / "pipeline.toml", "--as-of", NIGHT_2, "--full")
    audit = twins.manifest()
    assert audit["evaluation"]["mode"] == "full" and audit["evaluation"]["why"] == "run --full"
    twins.add("contacts_2026-11-22.csv", CONTACTS + STEADY)
    assert twins.night("2026-11-22T06:00:00Z")["evaluation"]["basis_run_id"] == audit["run_id"]


def test_incremental_is_the_default_and_switched_off_by_the_pipeline_file(twins):
    """A pipeline file without the key runs incremental nights; `incremental = false` full ones."""
    two_snapshots(twins, STEADY)
    twins.night(NIGHT_1)
    assert "incremental" not in (twins.incremental / "pipeline.toml").read_text()
    assert twins.night(NIGHT_2)["evaluation"]["mode"] == "incremental"
    assert twins.manifest(twins.full)["evaluation"] == {
        "mode": "full",
        "basis_run_id": None,
        "addresses_evaluated": None,
        "why": "[store] incremental = false",
    }


def test_a_re_exported_file_the_last_run_used_means_a_full_night(twins):
    two_snapshots(twins, STEADY)
    twins.night(NIGHT_1)
    # the first export sent again with other content, under the same name
    twins.add("contacts_2026-11-20.csv", CONTACTS + STEADY + "C3,late@example.com,offers,subscribed,,,Lo\n")
    evaluation = twins.night(NIGHT_2)["evaluation"]
    assert evaluation["mode"] == "full"
    assert "contacts_2026-11-20.csv" in evaluation["why"]


def test_new_contact_attributes_mean_a_full_night(tmp_path):
    twins = Twins(tmp_path)
    twins.add("contacts_2026-11-20.csv", CONTACTS + STEADY)
    twins.night(NIGHT_1)
    twins.add(
        "contacts_2026-11-21.csv",
        CONTACTS.replace("first_name", "first_name,city")
        + "C1,steady@example.com,offers,subscribed,,,Sam,Lyon\n",
    )
    evaluation = twins.night(NIGHT_2)["evaluation"]
    assert evaluation["mode"] == "full" and "attributes" in evaluation["why"]
    assert twins.latest("sendable")["city"].to_list() == ["Lyon"]


# --- random histories: whatever arrives when, an incremental night publishes a full night's ----

# LISTHYGIENE_RANDOM_HISTORIES=200 runs the random-history test on that many examples (CI: 8)
RANDOM_HISTORIES = int(os.environ.get("LISTHYGIENE_RANDOM_HISTORIES", "8"))

# a second contacts source, for the random histories: a shop whose exports arrive on their own
# schedule (an empty export too)
TWO_SOURCES = PIPELINE.format(incremental="").replace(
    """
[[sources]]
name = "platform_unsubscribes"
""",
    """
[[sources]]
name = "shop"
kind = "contacts"
path = "shop_*.csv"

[[sources]]
name = "platform_unsubscribes"
""",
    1,
)

# spellings of four addresses (case, surrounding spaces, a display name: one address each once
# normalized), and one that is no address at all (invalid_address)
SPELLINGS = [
    "ann@example.com",
    " Ann@Example.com",
    "Ann <ANN@example.com> ",
    "bo@example.com",
    "BO@example.com ",
    "cy@example.com",
    "di@example.com",
    "not-an-address",
]
DAYS = ["2026-11-18", "2026-11-19", "2026-11-20", "2026-11-21"]
NIGHTS = ["2026-11-19T06:00:00Z", "2026-11-20T06:00:00Z", "2026-11-21T06:00:00Z"]
TIMES = [f"{day}T{hour}:00:00Z" for day in DAYS for hour in ("01", "04", "12")]


def export_row(contact_ids):
    # few contact ids and names: one address often has several rows in one export, of one
    # record (the same list twice, with another status or name) or of several
    return st.tuples(
        st.sampled_from(contact_ids),
        st.sampled_from(SPELLINGS),
        st.sampled_from(["offers", "news", ""]),  # "": a contact on no list
        st.sampled_from(
            ["subscribed", "subscribed", "active", "unsubscribed", "opted_out", "pending", "cleaned"]
        ),
        st.sampled_from(["", "", "2026-11-19T12:00:00Z", "2026-11-20T12:00:00Z"]),  # confirmed_at
        st.sampled_from(["", "", "true"]),  # do_not_contact
        st.sampled_from(["Ann", "Bo"]),
    )  # first_name: an attribute, in sendable.parquet


@st.composite
def exports(draw, contact_ids, max_rows, optional=False):
    """One export per day (None: none that day), each new rows or the day before's reordered."""
    days = []
    for day in range(len(DAYS)):
        previous = next((rows for rows in reversed(days) if rows is not None), None)
        if optional and day > 0 and draw(st.booleans()):
            days.append(None)
        elif previous and draw(st.booleans()):
            # the same content in another row order: rules that pick the first row by row
            # number may pick another
            days.append(draw(st.permutations(previous)))
        else:
            rows = draw(st.lists(export_row(contact_ids), max_size=max_rows))
            # and copies of some rows with one field changed (the same record twice: another
            # spelling, list, status, confirmation, flag or name), anywhere in the file
            for i, field, other in draw(
                st.lists(
                    st.tuples(st.integers(0, max_rows), st.integers(1, 6), export_row(contact_ids)),
                    max_size=2,
                )
            ):
                if rows:
                    copy = list(rows[i % len(rows)])
                    copy[field] = other[field]
                    rows.insert(i % (len(rows) + 1), tuple(copy))
            days.append(rows)
    return days


log_event = st.tuples(
    st.sampled_from(SPELLINGS),
    st.sampled_from(TIMES),
    st.sampled_from(
        [
            "unsubscribe",
            "list_unsubscribe",
            "integration_unsubscribe",
            "resubscribe_form",
            "resubscribe_bare",
            "complaint",
            "do_not_contact",
            "do_contact",
            "hard_bounce",
            "soft_bounce",
            "delivered",
        ]
    ),
    # the nights whose files bring it (0 = the first); TIMES span every day, so a file may
    # bring events dated before the last as-of (a late log) or after tonight's (they count
    # once the as-of passes them). Two nights: the platform sent it again (a duplicate).
    st.lists(st.integers(0, 2), min_size=1, max_size=2, unique=True),
)


def log_lines(event, row_number):
    email, when, kind, _ = event
    unsubscribes = {
        "unsubscribe": f"{email},{when},unsubscribe,,contact,,,C-{row_number},\n",
        "list_unsubscribe": f"{email},{when},unsubscribe,offers,contact,,,C-{row_number},\n",
        "integration_unsubscribe": f"{email},{when},unsubscribe,,integration,,,,\n",
        "resubscribe_form": f"{email},{when},resubscribe,offers,contact,signup_form,,,\n",
        "resubscribe_bare": f"{email},{when},resubscribe,,contact,,,,\n",
        "do_not_contact": f"{email},{when},do_not_contact,,contact,,,,\n",
        "do_contact": f"{email},{when},do_contact,,contact,,,,\n",
    }
    bounces = {
        "complaint": f"{email},{when},complaint,C-{row_number},,,,\n",
        "hard_bounce": f'{email},{when},bounce,C-{row_number},hard,550,5.1.1,"550 5.1.1 user unknown"\n',
        "soft_bounce": f'{email},{when},bounce,C-{row_number},soft,452,4.2.2,"452 4.2.2 mailbox full"\n',
        "delivered": f"{email},{when},delivered,C-{row_number},,,,\n",
    }
    return ("unsubscribes", unsubscribes[kind]) if kind in unsubscribes else ("bounces", bounces[kind])


def arrives(day: int, is_late: bool) -> int:
    """The night an export of DAYS[day] arrives: the night after its day, or one night later."""
    return min(max(day - 1, 0) + (is_late and day > 0), len(NIGHTS) - 1)


def export_text(rows) -> str:
    return CONTACTS + "".join(f"{k},{e},{list_id},{s},{c},{d},{n}\n" for k, e, list_id, s, c, d, n in rows)


@settings(max_examples=RANDOM_HISTORIES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    crm=exports(["K1", "K2", "K3"], max_rows=6),
    crm_late=st.lists(st.booleans(), min_size=4, max_size=4),
    shop=exports(["S1", "S2"], max_rows=3, optional=True),
    shop_late=st.lists(st.booleans(), min_size=4, max_size=4),
    events=st.lists(log_event, max_size=14),
)
def test_random_histories_publish_what_full_nights_do(crm, crm_late, shop, shop_late, events):
    with tempfile.TemporaryDirectory() as root:
        run_history(Path(root), crm, crm_late, shop, shop_late, events)


def run_history(root: Path, crm, crm_late, shop, shop_late, events) -> None:
    """The three nights of a random history, each checked by Twins.night."""
    twins = Twins(root, TWO_SOURCES)
    for night, as_of in enumerate(NIGHTS):
        # the exports of the day before the night arrive that night, or a night late (the
        # first day's on the first night: a contacts source must have a file)
        for prefix, days, late in (("contacts", crm, crm_late), ("shop", shop, shop_late)):
            for day, (rows, is_late) in enumerate(zip(days, late)):
                if rows is not None and arrives(day, is_late) == night:
                    twins.add(f"{prefix}_{DAYS[day]}.csv", export_text(rows))
        logs = {"unsubscribes": UNSUBSCRIBES, "bounces": BOUNCES}
        for number, event in enumerate(events):
            if night in event[3]:
                kind, line = log_lines(event, number)
                logs[kind] += line
        for kind, text in logs.items():
            twins.add(f"{kind}_{as_of[:10]}.csv", text)
        twins.night(as_of)
