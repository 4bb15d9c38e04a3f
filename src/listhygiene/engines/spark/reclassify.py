"""Stored bounces classified again on Spark when the rules in force change, by loading's own classifier."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from listhygiene.engines.spark import files
from listhygiene.engines.spark.loading import arrow_schema, table_schema
from listhygiene.rules import bounces, runner
from listhygiene.sql import memory_connection

try:
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql import types as T
except ImportError as missing:  # pragma: no cover - the spark extra is not installed
    raise ImportError(
        "reclassifying bounces on Spark needs pyspark: pip install 'listhygiene[spark]'"
    ) from missing

__all__ = ["reclassify_bounces"]


def reclassify_bounces(
    spark: SparkSession, ruleset: bounces.Ruleset, source_root: str, target_root: str, file_ids: list[int]
) -> int:
    """The bounce_events partitions of `file_ids` under `source_root` written under `target_root`
    with the classes `ruleset` gives (the classifier of loading, run in the executors), as
    bounces.reclassify_if_rules_changed reclassifies DuckDB's store. Returns the rows whose class,
    reason or rule changed (a count for the log: a retried task may add its rows twice).

    `target_root` is another warehouse version than `source_root`: its partitions of these ids
    are replaced while the source's are read.
    """
    source, target = source_root.rstrip("/"), target_root.rstrip("/")
    if source == target:
        raise ValueError("reclassify_bounces writes another root than it reads")
    paths = [f"{source}/bounce_events/file_id={i}" for i in sorted(set(file_ids))]
    paths = [p for p in paths if files.exists(spark, p)]
    for file_id in file_ids:
        files.delete(spark, f"{target}/bounce_events/file_id={file_id}")
    if not paths:
        return 0
    schema = table_schema("bounce_events")
    stored = spark.read.option("basePath", f"{source}/bounce_events").parquet(*paths)
    stored = stored.select(*[F.col(f.name).cast(f.dataType) for f in schema.fields])
    changed = spark.sparkContext.accumulator(0)

    def reclassify(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        yield from _reclassified(batches, ruleset, schema, changed)

    (
        stored.mapInArrow(reclassify, schema)
        .select(*[f.name for f in schema.fields if f.name != "file_id"], "file_id")
        .write.partitionBy("file_id")
        .option("partitionOverwriteMode", "dynamic")
        .mode("overwrite")
        .parquet(f"{target}/bounce_events")
    )
    return int(changed.value)


def _reclassified(
    batches: Iterator[pa.RecordBatch], ruleset: bounces.Ruleset, schema: T.StructType, changed
) -> Iterator[pa.RecordBatch]:
    """In an executor: stored bounce rows classified again by bounce_classes (one DuckDB per task)."""
    batch_schema = arrow_schema(schema)
    classes = ("bounce_class", "bounce_reason", "bounce_rule")
    previous = ", ".join(f"{c} as _previous_{c}" for c in classes)
    old = ", ".join(f"_previous_{c}" for c in classes)
    with memory_connection() as con:
        bounces.install_rules(con, ruleset)
        for batch in batches:
            stored_rows = pa.Table.from_batches([batch])  # noqa: F841  (read by name below)
            con.execute(
                f"create or replace temp table new_bounces as select * exclude ({', '.join(classes)}), "
                f"{previous} from stored_rows"
            )
            con.execute(
                f"create or replace temp table classified as select * from ({runner.model_sql('bounce_classes')})"
            )
            [(count,)] = con.execute(
                f"select count(*) from classified where ({', '.join(classes)}) is distinct from ({old})"
            ).fetchall()
            changed.add(count)
            names = ", ".join(f'"{f.name}"' for f in batch_schema)
            for rows in con.sql(f"select {names} from classified").to_arrow_reader(100_000):
                yield pa.RecordBatch.from_arrays(
                    [rows.column(f.name).cast(f.type) for f in batch_schema], schema=batch_schema
                )
