"""The settings a Spark session needs for the rules to mean what they mean on DuckDB."""

from __future__ import annotations

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
