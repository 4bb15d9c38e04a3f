"""Night after night on one store: files loaded once, new versions, resent events counted once."""

from __future__ import annotations

import json

import duckdb
import polars as pl

from conftest import copy_sample, invoke

NIGHT_1 = "2026-11-20T06:00:00Z"
NIGHT_2 = "2026-11-21T06:00:00Z"


def latest(tmp_path, name):
    return pl.read_parquet(tmp_path / "out" / "sample" / "latest" / f"{name}.parquet")


def manifest(tmp_path) -> dict:
    return json.loads((tmp_path / "out" / "sample" / "latest" / "manifest.json").read_text())


def store_rows(tmp_path, table: str) -> int:
    con = duckdb.connect(str(tmp_path / "state" / "sample.duckdb"), read_only=True)
    try:
        return con.execute(f"select count(*) from {table}").fetchall()[0][0]
    finally:
        con.close()


def test_a_resent_event_counts_once_and_keeps_its_first_lineage(tmp_path):
    config = copy_sample(tmp_path)
    invoke("run", "--config", config, "--as-of", NIGHT_2)
    before = latest(tmp_path, "contact_status")
    # the platform resends Tom's unsubscribe (another spelling of his address) with a new one
    (tmp_path / "data/sample/unsubscribes_resent.csv").write_text(
        "email,occurred_at,event,list_id,source,campaign_id\n"
        "TOM.BAKER@acme.example,2026-11-20T14:05:00Z,unsubscribe,,contact,C-16\n"
        "TOM.BAKER@acme.example,2026-11-20T14:05:00Z,unsubscribe,,contact,C-16\n"
        "megan@acme.example,2026-11-21T01:00:00Z,unsubscribe,staff-news,contact,C-17\n"
    )
    invoke("run", "--config", config, "--as-of", NIGHT_2)

    entry = next(i for i in manifest(tmp_path)["inputs"] if i["path"].endswith("unsubscribes_resent.csv"))
    assert (entry["rows_read"], entry["rows_loaded"], entry["rows_duplicate"]) == (3, 3, 2)
    after = latest(tmp_path, "contact_status")
    tom = after.filter(pl.col("email") == "tom.baker@acme.example")
    assert (
        tom["detail"].to_list()
        == before.filter(pl.col("email") == "tom.baker@acme.example")["detail"].to_list()
    )
    assert "unsubscribes.csv row 8" in tom["detail"][0]
    megan = after.filter((pl.col("email") == "megan@acme.example") & (pl.col("list_id") == "staff-news"))
    assert megan["reason"].to_list() == ["list_unsubscribed"]


def test_each_file_is_loaded_once_and_a_quiet_night_still_publishes(tmp_path):
    config = copy_sample(tmp_path)
    invoke("run", "--config", config, "--as-of", NIGHT_1)
    rows = store_rows(tmp_path, "contact_rows"), store_rows(tmp_path, "bounce_events")
    second = invoke("run", "--config", config, "--as-of", NIGHT_2)
    assert (store_rows(tmp_path, "contact_rows"), store_rows(tmp_path, "bounce_events")) == rows
    assert second.stderr.count("already loaded") == 4
    assert not any(i["loaded_in_this_run"] for i in manifest(tmp_path)["inputs"])


def test_a_re_exported_snapshot_replaces_its_earlier_version(tmp_path):
    config = copy_sample(tmp_path)
    invoke("run", "--config", config, "--as-of", NIGHT_2)
    export = tmp_path / "data/sample/contacts_2026-11-21.csv"
    # the CRM re-ran tonight's export after fixing Megan's status: same name, new content
    export.write_text(
        export.read_text().replace(
            "C001,megan@acme.example,staff-news,subscribed", "C001,megan@acme.example,staff-news,unsubscribed"
        )
    )
    result = invoke("run", "--config", config, "--as-of", NIGHT_2)

    assert (
        "contacts_2026-11-21.csv: content changed since it was loaded; loading it as version 2"
        in result.stderr
    )
    status = latest(tmp_path, "contact_status")
    megan = status.filter((pl.col("email") == "megan@acme.example") & (pl.col("list_id") == "staff-news"))
    assert megan["reasons"].to_list() == [["source_unsubscribed"]]
    assert status.filter(pl.col("list_id") == "staff-news").height == 4  # no doubled records
    versions = [i for i in manifest(tmp_path)["inputs"] if i["path"].endswith("contacts_2026-11-21.csv")]
    assert len(versions) == 2 and versions[-1]["loaded_in_this_run"]


def test_vanished_counts_count_rows_not_reasons(tmp_path):
    config = copy_sample(tmp_path)
    invoke("run", "--config", config, "--as-of", NIGHT_1)
    (tmp_path / "data/sample/unsubscribes_more.csv").write_text(
        "email,occurred_at,event\n"
        "busy@example.com,2026-11-20T20:00:00Z,unsubscribe\n"
        "retry@example.com,2026-11-20T20:00:00Z,unsubscribe\n"
    )
    result = invoke("run", "--config", config, "--as-of", NIGHT_2, "--force")
    offers = manifest(tmp_path)["lists"]["offers"]
    assert offers["vanished_by_reason"]["unsubscribed"] == 3
    assert offers["vanished"] == 9 == sum(offers["vanished_by_reason"].values())
    assert latest(tmp_path, "vanished").filter(pl.col("list_id") == "offers").height == 9
    assert "offers      4         11        -7      9" in result.stdout


def test_an_unchanged_file_is_not_read_again_and_a_touched_one_is_known_by_content(tmp_path, monkeypatch):
    import os

    from listhygiene.ingest.reading import file_sha256
    from listhygiene.store import planning

    config = copy_sample(tmp_path)
    invoke("run", "--config", config, "--as-of", "2026-11-21T06:00:00Z")

    def no_hashing(path):
        raise AssertionError(f"{path.name} was hashed again though unchanged")

    monkeypatch.setattr(planning, "file_sha256", no_hashing)
    result = invoke("run", "--config", config, "--as-of", "2026-11-21T06:00:00Z")
    assert "already loaded" in result.output

    monkeypatch.undo()
    touched = tmp_path / "data" / "sample" / "bounces.csv"
    stat = touched.stat()
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    hashed = []
    monkeypatch.setattr(planning, "file_sha256", lambda path: hashed.append(path.name) or file_sha256(path))
    result = invoke("-q", "run", "--config", config, "--as-of", "2026-11-21T06:00:00Z")
    assert hashed == ["bounces.csv"]  # the touched file only, recognised by its content
    with duckdb.connect(str(tmp_path / "state" / "sample.duckdb"), read_only=True) as con:
        assert con.sql("select count(*) from input_files where path like '%bounces.csv'").fetchall() == [(1,)]


def test_the_previous_run_is_read_from_a_folder_whose_name_has_a_quote(tmp_path):
    """The previous run's contact_status.parquet is read by path inside SQL text: a quote in
    the output folder's name is escaped, and vanished is what it is in any other folder."""
    reports = []
    for name in ("plain", "o'brien"):
        config = copy_sample(tmp_path / name)
        config.write_text(config.read_text().replace('output = "../out/sample"', f'output = "../out/{name}"'))
        invoke("run", "--config", config, "--as-of", NIGHT_1)
        invoke("run", "--config", config, "--as-of", NIGHT_2)
        vanished = pl.read_parquet(tmp_path / name / "out" / name / "latest" / "vanished.parquet")
        reports.append(vanished.drop("previous_run_id"))
    assert reports[1].height > 0 and {"unsubscribed", "not_in_source"} <= set(reports[1]["reason"])
    assert reports[1].equals(reports[0])
