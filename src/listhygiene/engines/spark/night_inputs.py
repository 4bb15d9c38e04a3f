"""A night's inputs on Spark: views over the warehouse and the catalog (or files exported from a DuckDB store).

The tables the models and outputs read: the store's rows, and the run's settings tables
(run_params, run_sources, list_settings, reason_precedence, accepted_evidence, previous_status)
as evaluation.prepare_run_tables makes them for the as-of. A night on Spark registers them from
the warehouse (register_warehouse_inputs); the parity tests export them from a DuckDB store as
Parquet files (export_night_inputs) to evaluate the very same inputs on both engines.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path

import duckdb

from listhygiene.config import Config
from listhygiene.engines.spark import files
from listhygiene.engines.spark.catalog import DATA_TABLES, Warehouse, file_ids
from listhygiene.outputs import publish
from listhygiene.rules import runner
from listhygiene.rules.evaluation import prepare_run_tables
from listhygiene.sql import sql_literal
from listhygiene.store import SPELLING_TABLES, connect

try:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql import functions as F
    from sqlglot import exp, parse_one
except ImportError as missing:  # pragma: no cover - the spark extra is not installed
    raise ImportError(
        "exporting a night for Spark needs sqlglot: pip install 'listhygiene[spark]'"
    ) from missing


@cache
def input_tables() -> frozenset[str]:
    """The tables (store, settings, previous run) the models and the outputs read, besides the models."""
    queries = [runner.model_sql(model) for model in runner.RUN_MODELS]
    queries += [query for query, _ in publish.OUTPUT_QUERIES.values()]
    queries += [f"select * from {publish.SENDABLE_ROWS}", publish.ATTRIBUTE_COLUMNS]
    names: set[str] = set()
    for query in queries:
        tree = parse_one(query, read="duckdb")
        ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
        names |= {t.name for t in tree.find_all(exp.Table) if t.name and t.name not in ctes}
    return frozenset(names - set(runner.RUN_MODELS))


def export_night_inputs(
    config: Config, as_of: datetime, previous: tuple[str, Path] | None, folder: Path
) -> Path:
    """Write `folder`/<table>.parquet for each of input_tables() as of `as_of`; return `folder`.

    `previous` is the run the night compares with (its id and published folder), as the nightly
    run finds it. The store is opened read-only: the settings are temp tables of this connection.
    """
    folder.mkdir(parents=True, exist_ok=True)
    con = connect(config.database, read_only=True)
    try:
        prepare_run_tables(con, config, as_of, previous)
        for table in sorted(input_tables()):
            target = sql_literal(str(folder / f"{table}.parquet"))
            con.execute(f'copy (select * from "{table}") to {target} (format parquet)')
    finally:
        con.close()
    return folder


PREVIOUS = ("previous_status", "previous_status_all")


def register_warehouse_inputs(
    spark: SparkSession,
    con: duckdb.DuckDBPyConnection,
    warehouse: Warehouse,
    previous: tuple[str, Path] | None,
    replaced: dict[str, tuple[str, list[int]]] | None = None,
) -> None:
    """Every table the models and outputs read, as the session's views: the small ones from the
    catalog's connection, the rows from the warehouse's partitions of the catalog's files, the
    previous run's statuses from its contact_status.parquet. `replaced` names a table whose
    partitions of some files are read from another location tonight (reclassify.py)."""
    # the run's settings (evaluation.prepare_run_tables made them in the catalog's connection)
    # and the catalog's input_files: small tables, sent from the driver
    for table in sorted(input_tables() - set(DATA_TABLES) - set(PREVIOUS)):
        small = spark.createDataFrame(con.sql(f'select * from "{table}"').to_arrow_table())
        small.createOrReplaceTempView(table)
    committed = file_ids(con)
    for table in DATA_TABLES:
        location, ids = (replaced or {}).get(table, ("", []))
        frame = stored_rows(spark, con, warehouse, table, [i for i in committed if i not in ids])
        if ids:
            frame = frame.unionByName(stored_rows(spark, con, warehouse, table, ids, location))
        frame.createOrReplaceTempView(table)
    columns = "email, list_id, contact_id, sendable"
    if previous:
        path = str(previous[1] / "contact_status.parquet")
        statuses = spark.read.parquet(path).selectExpr(*columns.split(", "))
    else:
        statuses = spark.createDataFrame(
            con.sql(
                "select null::varchar as email, null::varchar as list_id, null::varchar as contact_id, "
                "null::boolean as sendable where false"
            ).to_arrow_table()
        )
    for name in PREVIOUS:
        statuses.createOrReplaceTempView(name)


def stored_rows(
    spark: SparkSession,
    con: duckdb.DuckDBPyConnection,
    warehouse: Warehouse,
    table: str,
    ids: list[int],
    location: str | None = None,
) -> DataFrame:
    """The rows of `table` of the files `ids`, in the store's columns, order and types (those of
    `con`'s table), from the warehouse's table or from `location`."""
    # the warehouse keeps email_raw whole (spark.loading.store_columns): no email_spelling
    kept = " exclude (email_spelling)" if table in SPELLING_TABLES else ""
    empty = con.sql(f'select *{kept} from "{table}" limit 0').to_arrow_table()
    frame = spark.createDataFrame(empty)
    location = location or warehouse.location("tables", table)
    if not ids or not files.exists(spark, location):
        return frame
    stored = spark.read.parquet(location).where(F.col("file_id").isin(ids))
    # the partition column comes last on a read: the store's order, the store's types
    return stored.select(*[F.col(name).cast(frame.schema[name].dataType) for name in empty.column_names])
