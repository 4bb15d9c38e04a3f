"""A night's rules on Spark: every run model built in order, each materialized as Parquet in scratch."""

from __future__ import annotations

import logging
from pathlib import Path

from listhygiene.engines.spark import files
from listhygiene.engines.spark.outputs import write_outputs
from listhygiene.engines.spark.session import configure
from listhygiene.logs import step
from listhygiene.outputs import publish
from listhygiene.rules import runner
from listhygiene.rules.compile import compile_model

try:
    from pyspark.sql import SparkSession
except ImportError as missing:  # pragma: no cover - the spark extra is not installed
    raise ImportError(
        "running the rules on Spark needs pyspark: pip install 'listhygiene[spark]'"
    ) from missing

log = logging.getLogger("listhygiene")


def evaluate_night(spark: SparkSession, inputs: Path, scratch: Path, output: Path) -> dict[str, int]:
    """Evaluate the night whose input tables are Parquet files in `inputs`; write its outputs.

    The models are built in `scratch` (made if missing); the outputs, one Parquet file each as
    publish.py defines them, go into the new folder `output`. Returns rows written per output.
    """
    configure(spark)
    register_inputs(spark, inputs)
    build_models(spark, scratch, keep=publish.READS)
    return write_outputs(spark, output, scratch)


def register_inputs(spark: SparkSession, inputs: Path) -> None:
    """Each Parquet file of `inputs` as the session's temp view of its name (the table it holds)."""
    for table in sorted(inputs.glob("*.parquet")):
        spark.read.parquet(str(table)).createOrReplaceTempView(table.stem)


def build_models(
    spark: SparkSession,
    scratch: Path | str,
    names: tuple[str, ...] = runner.RUN_MODELS,
    keep: frozenset[str] = frozenset(),
) -> None:
    """Build `names` in order, each written as Parquet in `scratch` (a folder or a URI) and read
    back as its view.

    As in runner.build_all, a model's files go as soon as the last model reading it is built,
    unless in `keep` (the models read after the rules). Every model is materialized, the input
    views too: a chain of views would have Spark re-plan and re-run each model in every reader.
    """
    last_use = {name: position for position, name in enumerate(names)}
    for position, name in enumerate(names):
        for read in runner.reads(name) & last_use.keys():
            last_use[read] = position
    droppable = set(names) - runner.expand_views(keep)
    for position, name in enumerate(names):
        target = f"{scratch}/{name}"
        with step(f"building model {name} on spark"):
            spark.sql(compile_model(name, "spark")).write.parquet(target, mode="overwrite")
            spark.read.parquet(target).createOrReplaceTempView(name)
        for done in sorted(n for n in droppable if last_use[n] == position):
            spark.catalog.dropTempView(done)
            files.delete(spark, f"{scratch}/{done}")
