"""`validate --engine spark`: each input file read and validated by a Spark task, as loading reads it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from listhygiene.config import Source
from listhygiene.ingest.validation import FileCheck

try:
    from pyspark.sql import SparkSession
except ImportError as missing:  # pragma: no cover - the spark extra is not installed
    raise ImportError("validating on Spark needs pyspark: pip install 'listhygiene[spark]'") from missing


def check_on_spark(spark: SparkSession) -> Callable:
    """A CheckRunner (ingest.validation) running one task per file on `spark`; only each file's
    FileCheck (counts, problems, three masked examples) comes back to the driver."""

    def run_checks(
        check: Callable[[Source, Path], FileCheck], files: list[tuple[Source, Path]]
    ) -> list[FileCheck]:
        if not files:
            return []
        tasks = spark.sparkContext.parallelize(files, len(files))
        return tasks.map(lambda file: check(*file)).collect()

    return run_checks
