"""The nightly run on Spark: the DuckDB run's order and checks, with the warehouse as the store."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from listhygiene import pipeline
from listhygiene.checkpoints import checkpoint
from listhygiene.config import Config, Source
from listhygiene.engines.spark import files, rules_change
from listhygiene.engines.spark.catalog import Warehouse, commit_catalog, file_ids, open_catalog
from listhygiene.engines.spark.evaluation import build_models
from listhygiene.engines.spark.loading import FileToLoad, load_files
from listhygiene.engines.spark.night_inputs import register_warehouse_inputs
from listhygiene.engines.spark.outputs import write_outputs
from listhygiene.engines.spark.queries import SparkQueries
from listhygiene.engines.spark.session import start
from listhygiene.logs import stage
from listhygiene.outputs import publish
from listhygiene.rules import runner
from listhygiene.rules.evaluation import LIST_COUNTS, Evaluation, prepare_run_tables, run_sources
from listhygiene.store.loading import FileLoad, LoadReport, inputs_failed, no_files
from listhygiene.store.lock import run_lock
from listhygiene.store.planning import PlannedFile, Planner, already_loaded

try:
    from pyspark.sql import SparkSession
except ImportError as missing:  # pragma: no cover - the spark extra is not installed
    raise ImportError(
        "running the night on Spark needs pyspark: pip install 'listhygiene[spark]'"
    ) from missing

log = logging.getLogger("listhygiene")

FULL_EVALUATION = "the spark engine evaluates every address (docs/spark.md)"


def run(
    config: Config, *, as_of: datetime | None = None, force: bool = False, full: bool = False
) -> pipeline.RunResult:
    """Load new inputs into the warehouse and publish a run as of `as_of`; all or nothing.

    The same order as the DuckDB run (pipeline.run): outputs to a staging folder, then one
    commit (a new catalog version holding the night's files and the run), then the folder
    under runs/ and `latest`. Before the commit, nothing the night wrote is visible: its
    partitions belong to no file of the catalog, its outputs to no run.
    """
    assert config.warehouse is not None, "load_config requires [store] warehouse for the spark engine"
    started_at = pipeline.utc_now()
    stages: dict[str, float] = {}  # seconds per stage, kept in the manifest
    as_of = (as_of or started_at.replace(microsecond=0)).astimezone(UTC)
    pipeline.check_as_of(as_of, started_at)
    run_id = pipeline.make_run_id(as_of, started_at)
    staging = publish.staging_dir(config.output, run_id)
    final = publish.run_dir(config.output, run_id)
    warehouse = Warehouse(config.warehouse)

    with _lock(config, warehouse):
        publish.check_output(config.output)
        spark = start(config.engine)
        scratch = _scratch(spark, warehouse, run_id)
        con, version = open_catalog(warehouse)
        committed = False
        try:
            repaired = publish.repair(con, config.output)
            for done in repaired:
                log.warning("repair: %s", done)
            if repaired:
                version = commit_catalog(warehouse, con, version)
            runs = {run for (run,) in con.execute("select run_id from runs").fetchall()}
            for done in rules_change.finish_pending(warehouse, runs):
                log.warning("repair: %s", done)
            pipeline.warn_of_future_runs(con, started_at)
            stored_ids = file_ids(con)
            reclassifying = rules_change.rules_changed(con, config)
            with stage("loading inputs", stages):
                load = _load(spark, con, config, warehouse, started_at)
            replaced = {}
            if reclassifying:
                location = rules_change.reclassify_stored(spark, config, warehouse, stored_ids, run_id)
                replaced[rules_change.TABLE] = (location, stored_ids)
            previous = pipeline.previous_run(con, as_of)
            run_sources(con, config)
            if config.incremental or full:
                log.info("full evaluation: %s", FULL_EVALUATION)
            with stage("evaluating rules", stages):
                prepare_run_tables(con, config, as_of, previous)
                register_warehouse_inputs(spark, con, warehouse, previous, replaced)
                build_models(spark, scratch, keep=publish.READS | runner.models_read(LIST_COUNTS))
                spark.sql("select list_id, sendable from contact_status").createOrReplaceTempView(
                    "status_now"
                )
                evaluation = Evaluation(None, FULL_EVALUATION, None)
            checkpoint("evaluated")
            queries = SparkQueries(spark)
            pipeline.check_list_sections(queries, config)
            lists = pipeline.list_counts(queries, previous is not None)
            pipeline.check_drop_guard(lists, config.policy.max_list_drop_fraction, force)

            with stage("writing outputs", stages):
                output_counts = write_outputs(spark, staging, scratch)
            con.register("file_duplicates", queries.arrow(pipeline.FILE_DUPLICATES))
            facts = pipeline.RunFacts(
                run_id, as_of, started_at, stages, lists, output_counts, previous, force, load, evaluation
            )
            manifest = pipeline.record_run(con, config, staging, final, facts, extra={"engine": "spark"})
            version = commit_catalog(warehouse, con, version)
            committed = True
            checkpoint("committed")
            rules_change.put_in_place(warehouse, run_id)
            pipeline.publish_committed(con, run_id, staging, final, config.output / "latest")
            for pruned in publish.prune(con, config.output, config.keep_runs):
                log.info("pruned the outputs of run %s ([store] keep_runs = %s)", pruned, config.keep_runs)
            try:
                commit_catalog(warehouse, con, version)
            except OSError as exc:
                # the run is published; the catalog still says committed, which the next repair mends
                log.warning(
                    "run %s is published; recording it so in the catalog failed (%s): the next "
                    "run records it",
                    run_id,
                    exc,
                )
        except BaseException:
            if not committed:
                publish.discard(staging)
            raise
        finally:
            con.close()
            files.delete(spark, warehouse.location("scratch"))
    pipeline.announce_published(manifest)
    return pipeline.RunResult(run_id, as_of, final, lists, load, force, manifest)


@contextlib.contextmanager
def _lock(config: Config, warehouse: Warehouse) -> Iterator[None]:
    """The run lock: an flock beside the catalog of a local warehouse, else beside the outputs
    (an object store has no lock; one pipeline file per warehouse keeps runs apart, docs/spark.md)."""
    holder = Path(warehouse.root) / "store" if warehouse.is_local else config.output / ".warehouse"
    with run_lock(holder):
        yield


def _scratch(spark: SparkSession, warehouse: Warehouse, run_id: str) -> str:
    """Where the night's models are materialized: scratch/<run_id> in the warehouse (emptied of
    what a killed night left there, and of its loading's scratch rows)."""
    files.delete(spark, warehouse.location("scratch"))
    files.delete(spark, warehouse.location("tables", "_loading"))
    return warehouse.location("scratch", run_id)


@dataclass
class SameAsTonight:
    """A file of the same content as one planned earlier tonight: already loaded once that one is
    (DuckDB's loader learns each file it loads, and skips the second)."""

    source: Source
    plan: PlannedFile
    planner: Planner
    first: FileToLoad


def _load(
    spark: SparkSession,
    con: duckdb.DuckDBPyConnection,
    config: Config,
    warehouse: Warehouse,
    loaded_at: datetime,
) -> LoadReport:
    """Plan the night's files as DuckDB's loader does (the catalog says which are new), load the
    new ones in the executors, and record them in the catalog connection (committed with the run)."""
    report = LoadReport()
    planned: list[FileToLoad | FileLoad | SameAsTonight] = []
    [(last_id,)] = con.execute("select coalesce(max(file_id), 0) from input_files").fetchall()
    for source in config.sources:
        files = source.files()
        if not files:
            no_files(source, report)
        planner = Planner(con, source)  # the source's loaded files, asked once
        tonight: dict[tuple[str, str | None], FileToLoad] = {}  # and the ones it loads tonight
        for path in files:
            plan = planner.plan(path, report)
            if plan.known is not None:
                planned.append(already_loaded(source, plan))
                continue
            same = tonight.get(planner.content_key(plan))
            if same is not None:
                planned.append(SameAsTonight(source, plan, planner, same))
                continue
            last_id += 1
            new_file = FileToLoad(last_id, source, path, plan.sha256, plan.size, plan.mtime_ns)
            tonight[planner.content_key(plan)] = new_file
            planned.append(new_file)
    new = [p for p in planned if isinstance(p, FileToLoad)]
    earlier = file_ids(con)
    loaded = {
        result.file_id: result
        for result in load_files(
            spark,
            config,
            new,
            warehouse.tables,
            dict.fromkeys(("unsubscribe_events", "bounce_events"), earlier),
        )
    }
    rejected = []
    for item in planned:
        if isinstance(item, FileLoad):
            report.files.append(item)
            continue
        if isinstance(item, SameAsTonight):
            first = loaded[item.first.file_id].load
            known = (first.rows_read, first.rows_loaded, first.rows_quarantined)
            plan = item.planner.judge(dataclasses.replace(item.plan, known=known), report)
            report.files.append(already_loaded(item.source, plan))
            continue
        result = loaded[item.file_id]
        report.files.append(result.load)
        report.warnings.extend(result.warnings)
        if result.problem:
            rejected.append(result.problem)
            continue
        row = {**result.input_file, "loaded_at": loaded_at}
        columns = ", ".join(f'"{name}"' for name in row)
        marks = ", ".join("?" for _ in row)
        con.execute(f"insert into input_files ({columns}) values ({marks})", list(row.values()))
    if rejected:
        raise inputs_failed(rejected)
    if new:
        checkpoint("loading")
    return report
