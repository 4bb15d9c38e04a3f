"""A night's rules and outputs on Apache Spark: the models compiled from DuckDB's, the outputs DuckDB's.

The night's inputs are a folder of Parquet files, one per table the rules and outputs read
(night_inputs.export_night_inputs writes one from a DuckDB store); the real Spark store is a later step.
"""

from __future__ import annotations

from listhygiene.engines.spark.evaluation import build_models, evaluate_night, register_inputs
from listhygiene.engines.spark.loading import FileToLoad, LoadedFile, load_files
from listhygiene.engines.spark.night_inputs import export_night_inputs, input_tables
from listhygiene.engines.spark.outputs import write_outputs
from listhygiene.engines.spark.session import configure

__all__ = [
    "FileToLoad",
    "LoadedFile",
    "build_models",
    "configure",
    "evaluate_night",
    "export_night_inputs",
    "input_tables",
    "load_files",
    "register_inputs",
    "write_outputs",
]
