"""Loading on Spark (engines.spark.loading): the same files give DuckDB's store rows, counts, duplicates and rejections."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest
from polars.testing import assert_frame_equal

pytest.importorskip("pyspark", reason="pyspark is not installed (pip install 'listhygiene[spark]')")

from listhygiene import store
from listhygiene.config import Config, load_config
from listhygiene.engines.spark import FileToLoad, load_files
from listhygiene.engines.spark.loading import ROW_TABLES
from listhygiene.engines.spark.reclassify import reclassify_bounces
from listhygiene.errors import InputError, ValidationFailed
from listhygiene.ingest.reading import file_sha256
from listhygiene.rules import bounces
from listhygiene.store.loading import LoadReport, load_sources
from spark_session import spark  # noqa: F401  (the shared session fixture)

from conftest import REPO

PLATFORMS = REPO / "tests" / "data" / "platforms" / "mixed"
HOSTILE = REPO / "tests" / "data" / "ingest" / "contacts_bom_crlf.csv"
LOADED_AT = datetime(2026, 11, 21, 6, tzinfo=UTC)

# The sample's files, a hostile export (BOM, CRLF, quoted newline, a byte that is not UTF-8, a
# quarantined row), SES and SendGrid logs (several rows and kinds per record, event ids), and
# logs resent under other sources: every row of those is an earlier file's event.
PIPELINE = """
[store]
database = "state/store.duckdb"
output = "out"

[[sources]]
name = "crm"
kind = "contacts"
path = "sample/contacts_*.csv"

[[sources]]
name = "hostile"
kind = "contacts"
path = "hostile/contacts_*.csv"

[[sources]]
name = "unsubscribes"
kind = "unsubscribes"
path = "sample/unsubscribes.csv"

[[sources]]
name = "bounces"
kind = "bounces"
path = "sample/bounces.csv"

[[sources]]
name = "partner"
kind = "suppressions"
path = "partner/dnm_*.csv"

[[sources]]
name = "ses"
format = "ses"
path = "ses/*.jsonl"

[[sources]]
name = "sendgrid"
format = "sendgrid"
path = "sendgrid/*.json"
groups = { "42" = "weekly-deals" }

[[sources]]
name = "unsubscribes_resent"
kind = "unsubscribes"
path = "resent/unsubscribes.csv"

[[sources]]
name = "bounces_resent"
kind = "bounces"
path = "resent/bounces.csv"

[[sources]]
name = "sendgrid_resent"
format = "sendgrid"
path = "resent/*.json"
groups = { "42" = "weekly-deals" }

[policy]
max_quarantine_fraction = %s
"""


def pipeline(root: Path, max_quarantine_fraction: float = 0.5) -> Config:
    for name in ("contacts_2026-11-20.csv", "contacts_2026-11-21.csv", "unsubscribes.csv", "bounces.csv"):
        _copy(REPO / "data" / "sample" / name, root / "sample" / name)
    _copy(HOSTILE, root / "hostile" / "contacts_2026-11-21.csv")
    _copy(PLATFORMS / "ses" / "notifications-2026-11-21.jsonl", root / "ses" / "n.jsonl")
    _copy(PLATFORMS / "sendgrid" / "events-2026-11-21.json", root / "sendgrid" / "e.json")
    _copy(PLATFORMS / "sendgrid" / "events-2026-11-21.json", root / "resent" / "e.json")
    # resent logs: the same events, but one changed (a new event) and given twice (the second
    # marked within the file)
    lines = (root / "sample" / "unsubscribes.csv").read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace("2026-11-19T09:00:00Z", "2026-11-19T09:00:01Z")
    (root / "resent" / "unsubscribes.csv").write_text("".join([*lines, lines[1]]))
    bounces = (root / "sample" / "bounces.csv").read_text().splitlines(keepends=True)
    (root / "resent" / "bounces.csv").write_text("".join([bounces[0], *reversed(bounces[1:])]))
    # a partner's do-not-mail list: in clear, hashed, and a malformed hash (quarantined)
    (root / "partner").mkdir()
    (root / "partner" / "dnm_2026-11-21.csv").write_text(
        "email,email_sha256,list_id,reason,occurred_at\n"
        "Ann <ANN@example.com>,,,asked,2026-11-01T09:00:00Z\n"
        f",{'ab' * 32},offers,,\n"
        ",not-a-hash,,,\n"
    )
    (root / "pipeline.toml").write_text(PIPELINE % max_quarantine_fraction)
    return load_config(root / "pipeline.toml")


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, target)


def planned(config: Config) -> list[FileToLoad]:
    """Every file in DuckDB's loading order, under the ids its store gives them (from 1)."""
    paths = [(source, path) for source in config.sources for path in source.files()]
    return [
        FileToLoad(number, source, path, file_sha256(path), path.stat().st_size, path.stat().st_mtime_ns)
        for number, (source, path) in enumerate(paths, start=1)
    ]


def on_duckdb(config: Config, exported: Path | None = None) -> tuple[LoadReport, dict[str, pl.DataFrame]]:
    """The files loaded by DuckDB's store: its report, and its tables (written to `exported` as
    Parquet, a folder per table, when given)."""
    con = store.connect(config.database)
    try:
        con.begin()
        report = load_sources(con, config, LOADED_AT)
        con.commit()
        # as the warehouse keeps them: email_raw whole, no email_spelling
        kept = {t: " exclude (email_spelling)" if t in store.SPELLING_TABLES else "" for t in ROW_TABLES}
        tables = {
            t: con.sql(f'select *{kept.get(t, "")} from "{t}"').pl() for t in (*ROW_TABLES, "input_files")
        }
        for table in ROW_TABLES if exported else ():
            (exported / table).mkdir(parents=True)
            con.execute(
                f"copy (select *{kept[table]} from \"{table}\") to '{exported / table / 'rows.parquet'}' (format parquet)"
            )
    finally:
        con.close()
    return report, tables


def stored(root: Path, table: str, like: pl.DataFrame) -> pl.DataFrame:
    """A table's partitions as polars reads them (file_id from the folder names)."""
    if not (root / table).exists():
        return like.clear()
    rows = pl.read_parquet(root / table / "**" / "*.parquet", hive_partitioning=True)
    return rows.select(like.columns).with_columns(pl.col("file_id").cast(pl.Int32))


@pytest.mark.spark
def test_files_loaded_on_spark_give_duckdb_s_rows(spark, tmp_path):  # noqa: F811
    config = pipeline(tmp_path)
    exported = tmp_path / "duckdb-parquet"
    report, duck = on_duckdb(config, exported)
    files = planned(config)
    warehouse = tmp_path / "warehouse"
    # two loads, as two nights: the second's events are compared with the first's files
    first, second = files[:6], files[6:]
    loaded = load_files(spark, config, first, str(warehouse), {})
    # a crashed load left partitions under the second load's ids, some of tables it has no rows of
    for table in ROW_TABLES:
        crashed = next((warehouse / table).glob("file_id=*/*.parquet"))
        for file in second:
            _copy(crashed, warehouse / table / f"file_id={file.file_id}" / "part-crashed.parquet")
    earlier = {table: [f.file_id for f in first] for table in ROW_TABLES}
    loaded += load_files(spark, config, second, str(warehouse), earlier)

    assert [f.load for f in loaded] == report.files
    assert all(f.load.status == "loaded" and f.problem is None for f in loaded)
    assert [w for f in loaded for w in f.warnings] == report.warnings
    assert [f.input_file for f in loaded] == duck["input_files"].drop("loaded_at").to_dicts()
    for table in ROW_TABLES:
        expected = duck[table]
        got = stored(warehouse, table, expected)
        assert got.schema == expected.schema, table
        assert_frame_equal(got.sort(got.columns), expected.sort(expected.columns), check_exact=True)
    assert not (warehouse / "_loading").exists() or not any((warehouse / "_loading").iterdir())

    # Spark reads the partitions as it reads the Parquet DuckDB writes of the table
    for table in ROW_TABLES:
        assert _spark_schema(spark, str(warehouse / table)) == _spark_schema(spark, str(exported / table)), (
            table
        )

    # not vacuous: a quarantined row of the hostile export, duplicates within and across files
    ids = {f.load.source: f.file_id for f in loaded}
    assert duck["quarantine"].filter(pl.col("file_id") == ids["hostile"]).height == 1
    assert _duplicates(duck["unsubscribe_events"], ids) == {
        "unsubscribes": (11, 0),
        "sendgrid": (2, 0),
        "unsubscribes_resent": (12, 11),  # ten of an earlier file, the new event's second row
        "sendgrid_resent": (2, 2),  # the same sg_event_id
    }
    assert _duplicates(duck["bounce_events"], ids) == {
        "bounces": (24, 0),
        "ses": (3, 0),
        "sendgrid": (1, 0),
        "bounces_resent": (24, 24),
        "sendgrid_resent": (1, 1),
    }


def _duplicates(rows: pl.DataFrame, ids: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Rows and rows marked duplicate per source."""
    source_of = {file_id: source for source, file_id in ids.items()}
    counts = rows.group_by("file_id").agg(pl.len(), pl.col("is_duplicate").sum())
    return {source_of[f]: (n, d) for f, n, d in counts.iter_rows()}


def _spark_schema(spark, path: str) -> dict:  # noqa: F811
    return {f.name: f.dataType for f in spark.read.option("basePath", path).parquet(path).schema.fields}


REJECTING = """
[store]
database = "state/store.duckdb"
output = "out"

[[sources]]
name = "crm"
kind = "contacts"
path = "sample/contacts_2026-11-20.csv"

[[sources]]
name = "bounces"
kind = "bounces"
path = "sample/bounces.csv"

[policy]
max_quarantine_fraction = 0.01  # the sample's bounce log has one bad row of 25
"""


@pytest.mark.spark
def test_a_file_over_the_quarantine_limit_is_rejected_with_duckdb_s_words(spark, tmp_path):  # noqa: F811
    pipeline(tmp_path)  # the files
    (tmp_path / "rejecting.toml").write_text(REJECTING)
    config = load_config(tmp_path / "rejecting.toml")
    with pytest.raises(ValidationFailed) as on_duckdb_store:
        on_duckdb(config)
    warehouse = tmp_path / "warehouse"

    crm, bounces = load_files(spark, config, planned(config), str(warehouse), {})

    assert (crm.load.status, crm.problem, crm.load.rows_loaded) == ("loaded", None, 24)
    assert (bounces.load.status, bounces.load.rows_read, bounces.load.rows_quarantined) == ("rejected", 25, 1)
    assert bounces.problem is not None
    assert bounces.problem.startswith(f"file {tmp_path / 'sample' / 'bounces.csv'} (bounces): 1 of 25 rows")
    assert f"  - {bounces.problem}\n" in str(on_duckdb_store.value)
    # the rejected file's rows are not written (its quarantined row neither)
    assert [p.name for p in warehouse.glob("*/file_id=*")] == ["file_id=1"]
    assert (warehouse / "contact_rows" / "file_id=1").is_dir()


@pytest.mark.spark
def test_a_file_that_cannot_be_read_stops_the_load_as_on_duckdb(spark, tmp_path):  # noqa: F811
    (tmp_path / "rejecting.toml").write_text(REJECTING)
    export = tmp_path / "sample" / "contacts_2026-11-20.csv"
    export.parent.mkdir()
    export.write_text("contact_id,list_id,status\nc1,news,subscribed\n")  # no email column
    config = load_config(tmp_path / "rejecting.toml")
    with pytest.raises(InputError) as on_duckdb_store:
        on_duckdb(config)
    warehouse = tmp_path / "warehouse"

    with pytest.raises(InputError) as on_spark:
        load_files(spark, config, planned(config)[:1], str(warehouse), {})

    assert str(on_spark.value) == str(on_duckdb_store.value)
    assert "email" in str(on_spark.value)
    assert not list(warehouse.glob("*/file_id=*"))


EVERYTHING_SOFT = """
package_rules = false
[[rules]]
id = "everything-soft"
class = "soft"
reason = "unclassified"
"""


@pytest.mark.spark
def test_stored_bounces_reclassified_on_spark_as_on_duckdb(spark, tmp_path):  # noqa: F811
    pipeline(tmp_path)  # the files
    (tmp_path / "bounces.toml").write_text(REJECTING.replace("0.01", "0.5"))
    (tmp_path / "rules.toml").write_text(EVERYTHING_SOFT)
    config = load_config(tmp_path / "bounces.toml")
    con = store.connect(config.database)
    try:
        con.begin()
        load_sources(con, config, LOADED_AT)
        expected_changes = bounces.reclassify_if_rules_changed(
            con, SimpleNamespace(bounce_rules=tmp_path / "rules.toml")
        )
        con.commit()
        expected = con.sql("select * exclude (email_spelling) from bounce_events").pl()
    finally:
        con.close()
    loaded = load_files(spark, config, planned(config), str(tmp_path / "warehouse"), {})

    changes = reclassify_bounces(
        spark,
        bounces.load_ruleset(tmp_path / "rules.toml"),
        str(tmp_path / "warehouse"),
        str(tmp_path / "reclassified"),
        [f.file_id for f in loaded],
    )

    got = stored(tmp_path / "reclassified", "bounce_events", expected)
    assert_frame_equal(got.sort(got.columns), expected.sort(expected.columns), check_exact=True)
    assert changes == expected_changes > 0
    assert set(expected.filter(pl.col("event") == "bounce")["bounce_rule"]) == {"everything-soft"}
