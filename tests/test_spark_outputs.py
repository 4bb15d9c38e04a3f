"""A whole night on Spark (engines/spark): from the night's exported inputs, every output equals DuckDB's file."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

pytest.importorskip("sqlglot", reason="sqlglot is not installed (pip install 'listhygiene[spark]')")

from listhygiene import store
from listhygiene.config import load_config
from listhygiene.engines.spark import evaluate_night, export_night_inputs
from listhygiene.outputs.publish import OUTPUT_QUERIES
from listhygiene.pipeline import _previous_run
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


@pytest.fixture(scope="module", params=list(DATASETS))
def nights(request, tmp_path_factory):
    """A data set's nights run by DuckDB through the CLI: per night, its published folder and its
    inputs exported as of that night (the second night with the first as previous run)."""
    root = tmp_path_factory.mktemp(request.param)
    config_path, as_ofs = DATASETS[request.param](root)
    config = load_config(config_path)
    out = []
    for number, night in enumerate(as_ofs, start=1):
        invoke("-q", "run", "--config", config_path, "--as-of", night)
        moment = datetime.fromisoformat(night.replace("Z", "+00:00"))
        con = store.connect(config.database, read_only=True)
        try:
            previous = _previous_run(con, moment)
            [(published,)] = con.execute(
                "select path from runs where status = 'published' and as_of = ?", [moment]
            ).fetchall()
        finally:
            con.close()
        assert (previous is not None) == (number > 1)
        inputs = export_night_inputs(config, moment, previous, root / f"night-{number}" / "inputs")
        out.append((Path(published), inputs))
    return request.param, out


@pytest.mark.spark
def test_a_night_on_spark_writes_duckdb_s_outputs(spark, nights, tmp_path):  # noqa: F811
    dataset, evaluated = nights
    for number, (published, inputs) in enumerate(evaluated, start=1):
        started = time.monotonic()
        written = tmp_path / f"night-{number}"
        counts = evaluate_night(spark, inputs, tmp_path / f"scratch-{number}", written)
        print(f"{dataset} night {number} on spark: {time.monotonic() - started:.1f} s")
        assert sorted(p.name for p in written.iterdir()) == sorted(OUTPUTS)
        for name in OUTPUTS:
            got, expected = pl.read_parquet(written / name), pl.read_parquet(published / name)
            assert got.schema == expected.schema, name
            assert counts[name] == expected.height, name
            assert got.equals(expected), (
                f"{dataset} night {number}: {name} differs\n{_first_difference(got, expected)}"
            )
            assert expected.height > 0 or number == 1 or name not in HAVE_ROWS, name


def _first_difference(got: pl.DataFrame, expected: pl.DataFrame) -> str:
    """The first row (in file order) where the two files differ, for the failure message."""
    for position, (a, b) in enumerate(zip(got.iter_rows(), expected.iter_rows())):
        if a != b:
            return f"row {position}: spark {a}\n        duckdb {b}"
    return f"{got.height} rows on spark, {expected.height} on duckdb"
