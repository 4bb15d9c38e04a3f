"""The settings a Spark session needs for the rules to mean what they mean on DuckDB."""

from __future__ import annotations

import os
import sys

from listhygiene.config import Engine

try:
    from pyspark.sql import SparkSession
except ImportError as missing:  # pragma: no cover - the spark extra is not installed
    raise ImportError(
        "running the rules on Spark needs pyspark: pip install 'listhygiene[spark]'"
    ) from missing

# Session settings (changeable at run time) the rules and outputs depend on:
SQL_SETTINGS = {
    # the models compare and format instants as DuckDB's run does: in UTC
    "spark.sql.session.timeZone": "UTC",
    # an overflow or a bad cast is an error, not a NULL that changes a rule's answer
    "spark.sql.ansi.enabled": "true",
    # the Parquet timestamp DuckDB and polars read as a UTC instant (Spark's default is INT96)
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}


def configure(spark: SparkSession) -> None:
    """Set SQL_SETTINGS on a session (whatever its builder said)."""
    for key, value in SQL_SETTINGS.items():
        spark.conf.set(key, value)


def start(engine: Engine) -> SparkSession:
    """The session of a night on Spark: the pipeline file's master and conf, then SQL_SETTINGS.

    In a process that already has a session (a notebook, spark-submit, the tests) that session
    is used: Spark keeps one per process, and its master cannot change once it runs.
    """
    builder = SparkSession.builder.master(engine.master).appName("listhygiene")
    if engine.master.startswith("local"):
        # local workers run this interpreter (listhygiene installed), not the first python3 on PATH
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    # a batch job's stderr is its log: no progress bars unless the pipeline file asks for them
    defaults = {"spark.ui.showConsoleProgress": "false"}
    for key, value in {**defaults, **engine.conf, **SQL_SETTINGS}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    configure(spark)
    return spark
