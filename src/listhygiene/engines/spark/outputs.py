"""A night's outputs written by Spark: publish.py's queries compiled, each one Parquet file in DuckDB's order."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from listhygiene.engines.spark import files
from listhygiene.logs import step
from listhygiene.outputs import publish
from listhygiene.rules.compile import compile_sql

try:
    from pyspark.sql import SparkSession
except ImportError as missing:  # pragma: no cover - the spark extra is not installed
    raise ImportError("writing outputs on Spark needs pyspark: pip install 'listhygiene[spark]'") from missing


def write_outputs(spark: SparkSession, folder: Path, scratch: Path | str) -> dict[str, int]:
    """Write every Parquet output of the night into the new folder `folder`; return rows per file.

    The models the outputs read are the session's views (evaluation.build_models). Each output
    is written by one task into `scratch` and moved into `folder` as the single file publish.py
    names; only its row count comes back to the driver.
    """
    folder.mkdir(parents=True)
    counts = {}
    for name, (query, order) in publish.OUTPUT_QUERIES.items():
        counts[name] = _write(spark, name, query, order, folder, scratch)
    counts["sendable.parquet"] = _write(
        spark, "sendable.parquet", _sendable_query(spark), publish.SENDABLE_ORDER, folder, scratch
    )
    return counts


def _write(spark: SparkSession, name: str, query: str, order: str, folder: Path, scratch: Path | str) -> int:
    """One output: `query` sorted as DuckDB writes it (publish's total order), as folder/name."""
    if name not in publish.UNIQUE_ORDER:
        order = publish.total_order(spark.sql(compile_sql(query, name)).columns, order)
    sorted_rows = spark.sql(compile_sql(f"select * from ({query}) order by {order}", name))
    parts = f"{scratch}/output-{name}"
    with step(f"writing {name} on spark"):
        # one partition after the sort: its range partitions concatenated in order, one file
        sorted_rows.coalesce(1).write.parquet(parts, mode="overwrite", compression="zstd")
        [written] = files.matching(spark, f"{parts}/part-*.parquet")
        files.copy_to_local(spark, written, folder / name)
        files.delete(spark, parts)
    return pq.ParquetFile(folder / name).metadata.num_rows


def _sendable_query(spark: SparkSession) -> str:
    """publish's sendable SELECT: the contact attributes of the snapshots in use as columns (only
    the column names, one list per contacts snapshot in use, come to the driver)."""
    keys = publish.attribute_keys(
        spark.sql(compile_sql(publish.ATTRIBUTE_COLUMNS, "sendable.parquet")).collect()
    )
    if publish.needs_polars(keys):
        raise ValueError(
            "sendable.parquet on Spark: contact columns whose names differ only in case or hold a "
            "quote or backslash are not supported yet (DuckDB writes them through polars)"
        )
    return publish.sendable_query(keys)
