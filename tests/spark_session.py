"""One local Spark session shared by every Spark test of a run (the `spark` fixture).

A test module imports the fixture (`from spark_session import spark`); the session is made once
per process, whichever module asks first, and stopped when the process ends. Without pyspark
the tests using it are skipped with one reason line.
"""

from __future__ import annotations

import atexit
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

_SESSION: list[Any] = []

# Settings for a few thousand rows: the cost of a night this small is Spark planning, generating
# code for and scheduling each model's stages, not the rows (the sample's first night: 53 s with
# Spark's defaults, 37 s with these). The CLI runs of the tests put them in their pipeline files.
SMALL_DATA = {
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    "spark.sql.shuffle.partitions": "1",
}

# Small and local: two cores shared with the rest of the suite, data of a few thousand rows.
CONF = {
    **SMALL_DATA,
    "spark.master": "local[2]",
    "spark.app.name": "listhygiene-tests",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.default.parallelism": "2",
    "spark.sql.session.timeZone": "UTC",
    # Spark 4's default, said once so that a cluster configured otherwise cannot hide an overflow
    "spark.sql.ansi.enabled": "true",
    # the Parquet type DuckDB and polars read as UTC instants (Spark's default is INT96)
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.memory": "1g",
    # no spark-warehouse/ or metastore_db/ in the folder the tests run from
    "spark.sql.warehouse.dir": str(Path(tempfile.gettempdir()) / "listhygiene-spark-warehouse"),
    "spark.sql.catalogImplementation": "in-memory",
    "spark.driver.extraJavaOptions": "-Duser.timezone=UTC -XX:+UseSerialGC",
}


def spark_session():
    """The process's Spark session, started on first use."""
    if not _SESSION:
        pyspark_sql = pytest.importorskip(
            "pyspark.sql", reason="pyspark is not installed (pip install 'listhygiene[spark]')"
        )
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # Python tasks (loading's mapInArrow) run in this interpreter, where listhygiene is installed
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = pyspark_sql.SparkSession.builder
        for key, value in CONF.items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        _SESSION.append(session)
        atexit.register(session.stop)
    return _SESSION[0]


@pytest.fixture(scope="session")
def spark():
    """The shared local[2] Spark session (skips the test when pyspark is not installed)."""
    return spark_session()
