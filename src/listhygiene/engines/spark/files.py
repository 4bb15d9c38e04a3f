"""Folders and files of a Spark night through Spark's own (Hadoop) file systems: local paths or object-store URIs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

try:
    from pyspark.sql import SparkSession
except ImportError as missing:  # pragma: no cover - the spark extra is not installed
    raise ImportError(
        "running the night on Spark needs pyspark: pip install 'listhygiene[spark]'"
    ) from missing


def _hadoop(spark: SparkSession, location: str) -> tuple[Any, Any]:
    """The file system that holds `location` (as Spark's readers and writers see it), and its path."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None, "a classic Spark session (not Spark Connect)"
    path = jvm.org.apache.hadoop.fs.Path(location)
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path


def exists(spark: SparkSession, location: str) -> bool:
    filesystem, path = _hadoop(spark, location)
    return bool(filesystem.exists(path))


def delete(spark: SparkSession, location: str) -> None:
    """Remove a folder or file and what it holds (nothing if it is not there)."""
    filesystem, path = _hadoop(spark, location)
    filesystem.delete(path, True)


def matching(spark: SparkSession, pattern: str) -> list[str]:
    """The files a glob pattern matches (e.g. a written folder's part-*.parquet)."""
    filesystem, path = _hadoop(spark, pattern)
    return sorted(str(status.getPath().toString()) for status in filesystem.globStatus(path) or [])


def copy_to_local(spark: SparkSession, location: str, target: Path) -> None:
    """One file from the warehouse's file system to a local path (the run folder)."""
    filesystem, path = _hadoop(spark, location)
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    filesystem.copyToLocalFile(False, path, jvm.org.apache.hadoop.fs.Path(str(target)), True)
