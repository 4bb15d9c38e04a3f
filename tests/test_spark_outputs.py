"""A whole night on Spark (engines/spark): from the night's exported inputs, every output equals DuckDB's file."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

pytest.importorskip("sqlglot", reason="sqlglot is not installed (pip install 'listhygiene[spark]')")

from listhygiene import store
from listhygiene.config import load_config
from listhygiene.engines.spark import evaluate_night, export_night_inputs
from listhygiene.outputs.publish import OUTPUT_QUERIES
from listhygiene.pipeline import previous_run
from spark_nights import sample_pipeline, synth_pipeline
from spark_session import spark  # noqa: F401  (the shared session fixture)

from conftest import invoke

OUTPUTS = (*OUTPUT_QUERIES, "sendable.parquet")
# outputs with rows on each data set's second night, so that the comparison is not vacuous
HAVE_ROWS = {"sendable.parquet", "contact_status.parquet", "suppressions.parquet", "vanished.parquet"}
DATASETS = {
    "sample": lambda root: sample_pipeline(root),
    "synth-window-30": lambda root: synth_pipeline(root / "data", window=30),
}
# Settings for a few thousand rows, on this test's sessions only: the cost of a night this small
# is Spark planning, generating code for and scheduling each model's stages, not the rows
# (the sample's first night: 53 s with Spark's defaults, 37 s with these).
SMALL_DATA = {
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    "spark.sql.shuffle.partitions": "1",
}


@pytest.fixture(scope="module")
def nights(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """Each data set's nights run by DuckDB through the CLI: per night, its published folder and its
    inputs exported as of that night (the second night with the first as previous run)."""
    out = {}
    for dataset, make in DATASETS.items():
        root = tmp_path_factory.mktemp(dataset)
        config_path, as_ofs = make(root)
        config = load_config(config_path)
        for number, night in enumerate(as_ofs, start=1):
            invoke("-q", "run", "--config", config_path, "--as-of", night)
            moment = datetime.fromisoformat(night.replace("Z", "+00:00"))
            con = store.connect(config.database, read_only=True)
            try:
                previous = previous_run(con, moment)
                [(published,)] = con.execute(
                    "select path from runs where status = 'published' and as_of = ?", [moment]
                ).fetchall()
            finally:
                con.close()
            assert (previous is not None) == (number > 1)
            inputs = export_night_inputs(config, moment, previous, root / f"night-{number}" / "inputs")
            out[f"{dataset} night {number}"] = (Path(published), inputs)
    return out


@pytest.mark.spark
def test_each_night_on_spark_writes_duckdb_s_outputs(spark, nights, tmp_path):  # noqa: F811
    def on_spark(night: str, inputs: Path) -> dict[str, int]:
        # a session of its own (its temp views, its settings) on the shared Spark context:
        # the nights are evaluated side by side, each mostly waiting on Spark's scheduling
        session = spark.newSession()
        for key, value in SMALL_DATA.items():
            session.conf.set(key, value)
        folder = tmp_path / night.replace(" ", "-")
        return evaluate_night(session, inputs, folder / "scratch", folder / "outputs")

    with ThreadPoolExecutor(max_workers=len(nights)) as pool:
        counts = dict(zip(nights, pool.map(on_spark, nights, [inputs for _, inputs in nights.values()])))
    for night, (published, _) in nights.items():
        written = tmp_path / night.replace(" ", "-") / "outputs"
        assert sorted(p.name for p in written.iterdir()) == sorted(OUTPUTS)
        for name in OUTPUTS:
            got, expected = pl.read_parquet(written / name), pl.read_parquet(published / name)
            assert got.schema == expected.schema, f"{night}: {name}"
            assert counts[night][name] == expected.height, f"{night}: {name}"
            assert got.equals(expected), f"{night}: {name} differs\n{_first_difference(got, expected)}"
            assert expected.height > 0 or night.endswith("1") or name not in HAVE_ROWS, f"{night}: {name}"


def _first_difference(got: pl.DataFrame, expected: pl.DataFrame) -> str:
    """The first row (in file order) where the two files differ, for the failure message."""
    for position, (a, b) in enumerate(zip(got.iter_rows(), expected.iter_rows())):
        if a != b:
            return f"row {position}: spark {a}\n        duckdb {b}"
    return f"{got.height} rows on spark, {expected.height} on duckdb"
