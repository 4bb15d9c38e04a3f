"""Input files loaded by Spark: each read and validated in an executor as DuckDB's loader does, rows written as Parquet."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, reduce
from pathlib import Path

import pyarrow as pa

from listhygiene.config import Config, Source
from listhygiene.engines.spark import files as hadoop_files
from listhygiene.errors import ConfigError, InputError
from listhygiene.ingest.platforms import read_source_batches
from listhygiene.ingest.reading import ReadResult
from listhygiene.rules import bounces
from listhygiene.sql import memory_connection
from listhygiene.store.database import EVENT_IDENTITY, create_schema, tune_engine
from listhygiene.store.loading import FileLoad, finish_file, insert_batches, rejection

try:
    from pyspark.sql import Column, DataFrame, SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql import types as T
except ImportError as missing:  # pragma: no cover - the spark extra is not installed
    raise ImportError("loading inputs on Spark needs pyspark: pip install 'listhygiene[spark]'") from missing

log = logging.getLogger("listhygiene")

# The store's tables of rows, each kept at <tables_root>/<table>/file_id=<N>/part-*.parquet.
ROW_TABLES = ("contact_rows", "unsubscribe_events", "bounce_events", "suppression_rows", "quarantine")
# The value of the `table` column of the rows that carry a file's summary (one per file).
SUMMARY = "input_files"
# input_files' columns the executors send; loaded_at is the committing driver's to set.
_TIMES = ("snapshot_at",)
# DuckDB's types of the store's columns as Spark types (the Parquet DuckDB writes reads as these).
_SPARK_TYPES = {
    "VARCHAR": T.StringType(),
    "JSON": T.StringType(),
    "INTEGER": T.IntegerType(),
    "BIGINT": T.LongType(),
    "BOOLEAN": T.BooleanType(),
    "TIMESTAMP WITH TIME ZONE": T.TimestampType(),
}
_ARROW_TYPES: dict[T.DataType, pa.DataType] = {
    T.StringType(): pa.string(),
    T.IntegerType(): pa.int32(),
    T.LongType(): pa.int64(),
    T.BooleanType(): pa.bool_(),
    T.TimestampType(): pa.timestamp("us", tz="UTC"),
}


@dataclass(frozen=True)
class FileToLoad:
    """A new file the driver planned to load, under the file id it gave it."""

    file_id: int
    source: Source
    path: Path  # readable by the executors at this path (local or a shared mount)
    sha256: str
    size: int
    mtime_ns: int


@dataclass
class LoadedFile:
    """What loading one file gave: its input_files row (without loaded_at), counts, problem, warnings."""

    file_id: int
    input_file: dict
    load: FileLoad
    problem: str | None  # the rejection (over the quarantine limit), as DuckDB's loader words it
    warnings: list[str]


@cache
def store_columns() -> dict[str, tuple[tuple[str, str], ...]]:
    """Each row table's (column, DuckDB type) pairs, in the store's order (from store.SCHEMA itself).

    The warehouse keeps each row's spelling whole in email_raw (a plain Parquet column): the
    store's email_spelling, the spelling only where it differs, is DuckDB's own economy."""
    with memory_connection() as con:
        create_schema(con)
        found = con.execute(
            "select table_name, column_name, data_type from duckdb_columns() "
            "where table_name in (select unnest(?)) and column_name <> 'email_spelling' "
            "order by table_name, column_index",
            [list(ROW_TABLES)],
        ).fetchall()
    columns: dict[str, list[tuple[str, str]]] = {table: [] for table in ROW_TABLES}
    for table, column, data_type in found:
        if data_type not in _SPARK_TYPES:
            raise TypeError(f"{table}.{column}: no Spark type for DuckDB's {data_type}")
        columns[table].append((column, data_type))
    return {table: tuple(pairs) for table, pairs in columns.items()}


def table_schema(table: str) -> T.StructType:
    """A row table's columns as Spark reads the Parquet DuckDB writes of it (file_id included)."""
    return T.StructType([T.StructField(c, _SPARK_TYPES[t]) for c, t in store_columns()[table]])


@cache
def _union_schema() -> T.StructType:
    """What a loading task returns: every row table's columns once, the row's table, a file's summary.

    One read of a file yields rows of four tables (and its summary). They travel as one union
    schema and are written once to a scratch folder; each table then reads its own rows. Four passes, one per table, would read and validate
    every file four times, and reading is the cost of loading.
    """
    fields: dict[str, T.DataType] = {}
    for table in ROW_TABLES:
        for field in table_schema(table).fields:
            if fields.setdefault(field.name, field.dataType) != field.dataType:
                raise TypeError(f"column {field.name} has two types in the store's tables")
    return T.StructType(
        [T.StructField(name, data_type) for name, data_type in fields.items()]
        + [T.StructField("table", T.StringType()), T.StructField("summary", T.StringType())]
    )


def load_files(
    spark: SparkSession,
    config: Config,
    files: list[FileToLoad],
    tables_root: str,
    earlier_file_ids: dict[str, list[int]],
    *,
    ruleset: bounces.Ruleset | None = None,
) -> list[LoadedFile]:
    """Load `files` (one Spark task each) into the row tables under `tables_root`; one result per file.

    Each task reads its file with the project's reader, validates, normalizes and classifies
    it in an in-memory DuckDB exactly as store.loading does, and returns the rows and a
    summary; only the summaries come to the driver. A new event is a duplicate when a file of
    `earlier_file_ids[table]`, or a new file of a smaller id, has the same event (as
    store.loading.mark_duplicate_events decides). Every partition of these file ids is
    replaced. A file over the quarantine limit is returned "rejected" with its problem and
    none of its rows written. Bounces are classified with `ruleset` (default: the pipeline's
    rules, those a nightly run puts in force before loading). Raises the first file's
    InputError (in the order of `files`) when a file cannot be read at all.
    """
    if not files:
        return []
    ruleset = ruleset or bounces.load_ruleset(config.bounce_rules)
    limit = config.policy.max_quarantine_fraction
    root = tables_root.rstrip("/")
    scratch = f"{root}/_loading/{uuid.uuid4().hex}"
    try:
        _read_in_executors(spark, files, ruleset, limit, scratch)
        loaded, rows_written = _summaries(spark, files, scratch)
        rows = spark.read.parquet(scratch)
        for table in ROW_TABLES:
            new_ids = [f.file_id for f in files]
            # a crashed load may have left partitions of these ids, also of tables this load has
            # no rows for: none may outlive the load that reuses the id
            for file_id in new_ids:
                hadoop_files.delete(spark, f"{root}/{table}/file_id={file_id}")
            if any(rows_written[table]):
                files_with_rows = sum(1 for count in rows_written[table] if count)
                _write_table(spark, rows, table, root, earlier_file_ids.get(table, []), files_with_rows)
    finally:
        hadoop_files.delete(spark, scratch)
    return loaded


def _read_in_executors(
    spark: SparkSession, files: list[FileToLoad], ruleset: bounces.Ruleset, limit: float, scratch: str
) -> None:
    """One task per file (spark.range splits its ids one per partition); the rows to `scratch`."""
    schema = _union_schema()

    def load_tasks(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for position in batch.column("id").to_pylist():
                yield from _load_in_task(files[position], ruleset, limit, schema)

    tasks = spark.range(0, len(files), 1, numPartitions=len(files))
    loaded = tasks.mapInArrow(load_tasks, schema)
    # not partitioned by table: a partitioned write sorts every task's rows first (a task's rows
    # come table by table, so each table's reader skips the others' row groups by their stats)
    loaded.write.parquet(scratch)


def _load_in_task(
    file: FileToLoad, ruleset: bounces.Ruleset, limit: float, schema: T.StructType
) -> Iterator[pa.RecordBatch]:
    """In an executor: one file loaded into a DuckDB of its own as store.loading loads it; its rows
    (none when rejected) and its summary as batches of the union schema."""
    batch_schema = arrow_schema(schema)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="listhygiene-load-"))
    con = memory_connection()
    try:
        tune_engine(con, work / "task")  # its memory bounded, spilling beside it
        create_schema(con)
        bounces.install_rules(con, ruleset)
        try:
            batches, read_result = read_source_batches(file.path, file.source, sha256=file.sha256)
            loaded, attribute_columns = insert_batches(con, batches, file.file_id)
            result = read_result()
        except (InputError, ConfigError) as exc:
            yield _summary_batch(batch_schema, file.file_id, {"error": [type(exc).__name__, str(exc)]})
            return
        result.mtime_ns = file.mtime_ns
        # the loading time is the committing driver's: a placeholder in this scratch store
        finish_file(
            con,
            file.file_id,
            file.source,
            result,
            datetime(1970, 1, 1, tzinfo=UTC),
            loaded,
            attribute_columns,
        )
        summary = _summary(con, file, result, limit)
        read = time.monotonic()
        if summary["problem"] is None:
            for table in ROW_TABLES:
                yield from _table_batches(con, table, batch_schema)
            summary["rows"] = {t: con.sql(f'select count(*) from "{t}"').fetchall()[0][0] for t in ROW_TABLES}
        # where a task's time went: reading into its DuckDB, then handing the rows to Spark
        summary["seconds"] = [round(read - started, 2), round(time.monotonic() - read, 2)]
        yield _summary_batch(batch_schema, file.file_id, summary)
    finally:
        con.close()
        shutil.rmtree(work, ignore_errors=True)


def _summary(con, file: FileToLoad, result: ReadResult, limit: float) -> dict:
    """The file's input_files row, counts, rejection and warnings (JSON-ready)."""
    cursor = con.execute("select * exclude (loaded_at) from input_files")
    names = [d[0] for d in cursor.description]
    [values] = cursor.fetchall()
    row = dict(zip(names, values, strict=True))
    for name in _TIMES:
        row[name] = row[name].isoformat() if row[name] is not None else None
    quarantined = result.quarantine.height
    over = bool(result.rows_read) and quarantined / result.rows_read > limit
    return {
        "input_file": row,
        "problem": rejection(result, limit) if over else None,
        "warnings": [f"{file.source.name} {file.path.name}: {w}" for w in result.warnings],
        "rows": dict.fromkeys(ROW_TABLES, 0),  # rows written per table (none when rejected)
    }


def _table_batches(con, table: str, batch_schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """A table of the task's store as batches of the union schema (other tables' columns null)."""
    mine = dict(store_columns()[table])
    # JSON as its text: the Parquet DuckDB writes of a JSON column reads as a string
    select = ", ".join(f'"{c}"::varchar as "{c}"' if t == "JSON" else f'"{c}"' for c, t in mine.items())
    reader = con.sql(f'select {select} from "{table}"').to_arrow_reader(100_000)
    for batch in reader:
        columns = []
        for field in batch_schema:
            if field.name in mine:
                columns.append(batch.column(field.name).cast(field.type))
            elif field.name == "table":
                columns.append(pa.array([table] * batch.num_rows, pa.string()))
            else:
                columns.append(pa.nulls(batch.num_rows, field.type))
        yield pa.RecordBatch.from_arrays(columns, schema=batch_schema)


def _summary_batch(batch_schema: pa.Schema, file_id: int, summary: dict) -> pa.RecordBatch:
    values = {"file_id": file_id, "table": SUMMARY, "summary": json.dumps(summary)}
    return pa.RecordBatch.from_arrays(
        [pa.array([values.get(f.name)], f.type) for f in batch_schema], schema=batch_schema
    )


def _summaries(
    spark: SparkSession, files: list[FileToLoad], scratch: str
) -> tuple[list[LoadedFile], dict[str, list[int]]]:
    """Each file's summary from scratch (one small row per file), in the order of `files`, and
    the rows each file wrote to scratch, per table."""
    summaries = spark.read.parquet(scratch).where(F.col("table") == SUMMARY)
    rows = summaries.select("file_id", "summary").collect()
    by_id = {row["file_id"]: json.loads(row["summary"]) for row in rows}
    for file in files:  # DuckDB's loader stops at the first unusable file, in this order
        if "error" in by_id[file.file_id]:
            kind, message = by_id[file.file_id]["error"]
            raise (ConfigError if kind == "ConfigError" else InputError)(message)
    loaded = []
    rows_written: dict[str, list[int]] = {table: [] for table in ROW_TABLES}
    for file in files:
        summary = by_id[file.file_id]
        for table, count in summary["rows"].items():
            rows_written[table].append(count)
        row = summary["input_file"]
        for name in _TIMES:
            row[name] = datetime.fromisoformat(row[name]) if row[name] is not None else None
        status = "rejected" if summary["problem"] else "loaded"
        load = FileLoad(
            file.source.name,
            file.source.file_kind,
            file.path,
            file.sha256,
            row["rows_read"],
            row["rows_loaded"],
            row["rows_quarantined"],
            status=status,
        )
        _log(file, load, row, summary["warnings"])
        log.debug(
            "%s %s: read in %.1f s, rows handed to Spark in %.1f s",
            file.source.name,
            file.path.name,
            *summary["seconds"],
        )
        loaded.append(LoadedFile(file.file_id, row, load, summary["problem"], summary["warnings"]))
    return loaded, rows_written


def _log(file: FileToLoad, load: FileLoad, row: dict, warnings: list[str]) -> None:
    """The driver's log of a file loaded, as store.loading logs it."""
    for warning in warnings:
        log.warning(warning)
    ignored = (
        f", {row['records_ignored']} of {row['records_read']} records ignored (no hygiene event)"
        if row["records_ignored"]
        else ""
    )
    log.info(
        "%s %s: %d rows read, %d loaded, %d quarantined%s",
        file.source.name,
        file.path.name,
        load.rows_read,
        load.rows_loaded,
        load.rows_quarantined,
        ignored,
        extra={
            "stage": "loading",
            "source": file.source.name,
            "file": str(file.path),
            "rows_read": load.rows_read,
            "rows_loaded": load.rows_loaded,
            "rows_quarantined": load.rows_quarantined,
            "records_read": row["records_read"],
            "records_ignored": row["records_ignored"],
        },
    )


def _write_table(
    spark: SparkSession, rows: DataFrame, table: str, root: str, earlier_ids: list[int], files_with_rows: int
) -> None:
    """The new files' rows of `table` from scratch, events marked, as their partitions (replaced)."""
    names = [c for c, _ in store_columns()[table]]
    new = rows.where(F.col("table") == table).select(
        *[F.col(c).cast(_SPARK_TYPES[t]) for c, t in store_columns()[table]]
    )
    if table in EVENT_IDENTITY:
        earlier = _earlier_rows(spark, table, root, earlier_ids)
        if earlier is not None or files_with_rows > 1:  # else only its own rows, marked already
            new = _marked(new, earlier, table)
    target = f"{root}/{table}"
    (
        new.select(*[c for c in names if c != "file_id"], "file_id")
        .write.partitionBy("file_id")
        .option("partitionOverwriteMode", "dynamic")
        .mode("overwrite")
        .parquet(target)
    )


def _earlier_rows(spark: SparkSession, table: str, root: str, earlier_ids: list[int]) -> DataFrame | None:
    """The rows of the earlier files of `table` (those with rows: a file may have none of a table)."""
    paths = [f"{root}/{table}/file_id={i}" for i in sorted(set(earlier_ids))]
    paths = [p for p in paths if hadoop_files.exists(spark, p)]
    if not paths:
        return None
    return spark.read.option("basePath", f"{root}/{table}").parquet(*paths)


def _marked(new: DataFrame, earlier: DataFrame | None, table: str) -> DataFrame:
    """New events marked is_duplicate when an earlier file (an earlier id, or a new file of a smaller
    one) holds the same event: the same event_ref for the address, or, without an event_ref, the
    same identity (NULLs equal), as store.loading.mark_duplicate_events marks across files.

    Within a file the task's DuckDB marked them already. As on DuckDB, each pass compares a
    hash of the key first: only keys whose hash turns up in two files are candidates (a
    shuffle of one integer and a file id per row, the history's included), and for those
    alone the first file holding each key is found; a new row is a duplicate when that file
    comes before its own. The wide rows are joined with that small table only.
    """
    identity = EVENT_IDENTITY[table]
    passes = (
        (F.col("event_ref").isNotNull(), ("email", "event_ref")),
        (F.col("event_ref").isNull(), identity),
    )
    marks: list[Column] = []
    marked = new
    for number, (which, keys) in enumerate(passes):
        aliases = [f"_key{number}_{i}" for i in range(len(keys))]
        first_file = f"_first{number}"
        hashed = F.xxhash64(*keys).alias("_hash")
        tonight = new.where(which).select("file_id", *keys, hashed)
        seen = tonight.select("file_id", "_hash")
        history = None
        if earlier is not None:
            history = earlier.where(which).select("file_id", *keys, hashed)
            history = history.join(seen.select("_hash"), "_hash", "left_semi")
            seen = seen.unionByName(history.select("file_id", "_hash"))
        # a hash some file shares with another: a candidate, which the key's columns decide
        shared = seen.groupBy("_hash").agg(F.countDistinct("file_id").alias("_files")).where("_files > 1")
        candidates = tonight.join(shared.select("_hash"), "_hash", "left_semi")
        if history is not None:
            candidates = candidates.unionByName(history.join(shared.select("_hash"), "_hash", "left_semi"))
        first = candidates.groupBy(*keys).agg(F.min("file_id").alias(first_file)).toDF(*aliases, first_file)
        marked = marked.join(first, _same(marked, first, keys, aliases), "left").drop(*aliases)
        marks.append(which & F.coalesce(F.col(first_file) < F.col("file_id"), F.lit(False)))
    duplicate = reduce(lambda a, b: a | b, marks, F.col("is_duplicate"))
    return marked.withColumn("is_duplicate", duplicate).drop(*[f"_first{n}" for n in range(len(passes))])


def _same(left: DataFrame, right: DataFrame, keys: tuple[str, ...], aliases: list[str]) -> Column:
    """left's keys equal right's (renamed to aliases), NULL equal to NULL as DuckDB's grouping has it."""
    pairs = zip(keys, aliases, strict=True)
    return reduce(lambda a, b: a & b, [left[key].eqNullSafe(right[alias]) for key, alias in pairs])


def arrow_schema(schema: T.StructType) -> pa.Schema:
    """The Arrow schema Spark expects of a Python task's batches for `schema`."""
    return pa.schema([pa.field(f.name, _ARROW_TYPES[f.dataType]) for f in schema.fields])


__all__ = [
    "ROW_TABLES",
    "FileToLoad",
    "LoadedFile",
    "arrow_schema",
    "load_files",
    "table_schema",
]
