"""A night's small questions to Spark (counts per list, lists in the exports) asked as to DuckDB."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from listhygiene.rules.compile import compile_sql

try:
    from pyspark.sql import SparkSession
except ImportError as missing:  # pragma: no cover - the spark extra is not installed
    raise ImportError(
        "running the night on Spark needs pyspark: pip install 'listhygiene[spark]'"
    ) from missing


class SparkQueries:
    """`execute(sql).fetchall()` over the session's views, for the run's checks written for a
    DuckDB connection (pipeline.list_counts, check_list_sections): the SQL is compiled as the
    models are; only the answer, a few rows, comes to the driver."""

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark
        self._rows: list[tuple[Any, ...]] = []

    def execute(self, sql: str, parameters: object = None) -> SparkQueries:
        if parameters:
            raise ValueError("SparkQueries takes no parameters: the run's checks ask fixed questions")
        self._rows = [tuple(row) for row in self.spark.sql(compile_sql(sql, "query")).collect()]
        return self

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows

    def arrow(self, sql: str) -> pa.Table:
        """A small answer as Arrow (to join with the catalog's tables in DuckDB)."""
        return self.spark.sql(compile_sql(sql, "query")).toArrow()
