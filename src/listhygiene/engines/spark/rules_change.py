"""A change of bounce rules on Spark: the stored bounces classified again, put in place by the commit.

The DuckDB store reclassifies its stored bounces in one UPDATE inside the night's transaction.
The warehouse's Parquet is not updated in place: the night writes every stored bounce again,
classified by the new rules (reclassify.py, the loader's classifier in the executors), under
`tables/.reclassified/<run_id>/`, reads them from there, and only once its commit has put the new
rules in the catalog moves them over the old partitions. The next night redoes a move that was
interrupted (finish_pending); the folder of a night that died before its commit is removed, and
the old classes stay in force with the old rules.
"""

from __future__ import annotations

import logging

import duckdb
from pyarrow import fs as arrow_fs

from listhygiene.config import Config
from listhygiene.engines.spark.catalog import Warehouse
from listhygiene.engines.spark.reclassify import reclassify_bounces
from listhygiene.rules import bounces

try:
    from pyspark.sql import SparkSession
except ImportError as missing:  # pragma: no cover - the spark extra is not installed
    raise ImportError(
        "running the night on Spark needs pyspark: pip install 'listhygiene[spark]'"
    ) from missing

log = logging.getLogger("listhygiene")

TABLE = "bounce_events"
PENDING = "tables/.reclassified"


def rules_changed(con: duckdb.DuckDBPyConnection, config: Config) -> bool:
    """Put the pipeline's bounce rules in force in the catalog; whether the stored bounces were
    classified by other rules (and must be classified again tonight)."""
    before = bounces.rules_in_force(con)["sha256"]
    bounces.reclassify_if_rules_changed(con, config)  # the catalog holds no rows: it records the rules
    [(stored,)] = con.execute("select count(*) from input_files").fetchall()
    return bool(before and stored and before != bounces.rules_in_force(con)["sha256"])


def reclassify_stored(
    spark: SparkSession, config: Config, warehouse: Warehouse, file_ids: list[int], run_id: str
) -> str:
    """The stored bounces of `file_ids` classified by the pipeline's rules, as the night's pending
    bounce_events; returns that table's location (for the night's views)."""
    pending = warehouse.location(PENDING, run_id)
    changed = reclassify_bounces(
        spark, bounces.load_ruleset(config.bounce_rules), warehouse.tables, pending, file_ids
    )
    log.info("bounce rules changed: %d stored bounces changed class, reason or rule", changed)
    return f"{pending}/{TABLE}"


def finish_pending(warehouse: Warehouse, committed_runs: set[str]) -> list[str]:
    """Put in place the reclassified bounces of committed nights (a redo of a move a night was
    stopped in); remove those of nights that never committed."""
    done = []
    selector = arrow_fs.FileSelector(f"{warehouse.root}/{PENDING}", allow_not_found=True)
    for pending in warehouse.fs.get_file_info(selector):
        if pending.type != arrow_fs.FileType.Directory:
            continue
        if pending.base_name in committed_runs:
            _move_over(warehouse, pending.path)
            done.append(f"put in place the bounces run {pending.base_name} reclassified")
        else:
            done.append(f"removed the bounces reclassified by the unfinished run {pending.base_name}")
        warehouse.fs.delete_dir(pending.path)
    return done


def put_in_place(warehouse: Warehouse, run_id: str) -> None:
    """After the night's commit: its reclassified partitions replace the old ones."""
    pending = f"{warehouse.root}/{PENDING}/{run_id}"
    if warehouse.fs.get_file_info(pending).type == arrow_fs.FileType.Directory:
        _move_over(warehouse, pending)
        warehouse.fs.delete_dir(pending)


def _move_over(warehouse: Warehouse, pending: str) -> None:
    """Each partition of the pending table over the table's own (each step can be redone)."""
    selector = arrow_fs.FileSelector(f"{pending}/{TABLE}", allow_not_found=True)
    for partition in warehouse.fs.get_file_info(selector):
        if partition.type != arrow_fs.FileType.Directory or not partition.base_name.startswith("file_id="):
            continue
        target = f"{warehouse.root}/tables/{TABLE}/{partition.base_name}"
        if warehouse.fs.get_file_info(target).type != arrow_fs.FileType.NotFound:
            warehouse.fs.delete_dir(target)
        warehouse.fs.move(partition.path, target)
