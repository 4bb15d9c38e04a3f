"""The nightly run on Spark (`run --engine spark`, the warehouse as the store) publishes DuckDB's outputs."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import polars as pl
import pytest

pytest.importorskip("pyspark", reason="pyspark is not installed (pip install 'listhygiene[spark]')")

from listhygiene.outputs.publish import OUTPUT_QUERIES
from spark_nights import SAMPLE_NIGHTS, sample_pipeline, synth_pipeline
from spark_session import SMALL_DATA, spark  # noqa: F401  (the shared session fixture)

from conftest import invoke

pytestmark = pytest.mark.spark

OUTPUTS = (*OUTPUT_QUERIES, "sendable.parquet")
# outputs with rows on each data set's second night, so that the comparison is not vacuous
HAVE_ROWS = {"sendable.parquet", "contact_status.parquet", "suppressions.parquet", "vanished.parquet"}


def sample_with_a_log_twice(root: Path) -> tuple[Path, list[str]]:
    """The sample, its unsubscribe log also under a second name (the same bytes, resent): the
    night loads it once, and skips the second as already loaded, on both engines."""
    config, nights = sample_pipeline(root)
    shutil.copy(
        root / "data" / "sample" / "unsubscribes.csv", root / "data" / "sample" / "unsubscribes_resent.csv"
    )
    return config, nights


DATASETS = {
    "sample": sample_with_a_log_twice,
    "synth-window-30": lambda root: synth_pipeline(root / "data", window=30),
}


def on_both_engines(config: Path) -> Path:
    """The pipeline file with a warehouse beside its DuckDB store and the Spark settings for small
    data; the Spark runs publish under out-spark/, so that each engine has its own runs."""
    text = config.read_text()
    text, stores = re.subn(r"(?m)^database = .*$", r'\g<0>\nwarehouse = "warehouse"', text, count=1)
    assert stores == 1
    conf = ", ".join(f'"{key}" = "{value}"' for key, value in SMALL_DATA.items())
    text += f'\n[engine]\nname = "duckdb"\nmaster = "local[2]"\nconf = {{ {conf} }}\n'
    both = config.with_name("both-engines.toml")
    both.write_text(text)
    spark_only = re.sub(r'(?m)^(output = "[^"]*)"', r'\1-spark"', text, count=1)
    config.with_name("spark-engine.toml").write_text(spark_only.replace('name = "duckdb"', 'name = "spark"'))
    return both


@pytest.fixture(scope="module")
def nights(spark, tmp_path_factory) -> dict[str, tuple[Path, Path]]:  # noqa: F811
    """Each data set's nights run through the CLI on DuckDB and on Spark: per night, the folder
    each engine published."""
    out = {}
    for dataset, make in DATASETS.items():
        root = tmp_path_factory.mktemp(dataset)
        config_path, as_ofs = make(root)
        both = on_both_engines(config_path)
        for number, night in enumerate(as_ofs, start=1):
            on_duckdb = invoke("-q", "run", "--config", both, "--as-of", night)
            on_spark = invoke("-q", "run", "--config", both.with_name("spark-engine.toml"), "--as-of", night)
            out[f"{dataset} night {number}"] = (published(on_duckdb.output), published(on_spark.output))
    return out


def published(output: str) -> Path:
    [folder] = re.findall(r"(?m)^outputs: (.*)$", output)
    return Path(folder)


def test_every_output_is_the_same_on_both_engines(nights):
    previous: dict[str, str | None] = {"duckdb": None, "spark": None}
    for night, (duckdb_run, spark_run) in nights.items():
        assert sorted(p.name for p in spark_run.glob("*.parquet")) == sorted(OUTPUTS)
        assert duckdb_run.name != spark_run.name
        if night.endswith("1"):
            previous = {"duckdb": None, "spark": None}
        for name in OUTPUTS:
            got = without_run_ids(pl.read_parquet(spark_run / name), previous["spark"])
            expected = without_run_ids(pl.read_parquet(duckdb_run / name), previous["duckdb"])
            assert got.schema == expected.schema, f"{night}: {name}"
            assert got.equals(expected), f"{night}: {name} differs\n{_first_difference(got, expected)}"
            assert expected.height > 0 or night.endswith("1") or name not in HAVE_ROWS, f"{night}: {name}"
        previous = {"duckdb": run_id(duckdb_run), "spark": run_id(spark_run)}


def run_id(folder: Path) -> str:
    return folder.name.removeprefix("run_id=")


def without_run_ids(frame: pl.DataFrame, previous: str | None) -> pl.DataFrame:
    """The output without its run ids (each engine names its own runs), once they are checked to
    name the engine's previous run."""
    if "previous_run_id" not in frame.columns:
        return frame
    assert frame["previous_run_id"].unique().to_list() in ([previous], [])
    return frame.drop("previous_run_id")


def test_the_manifests_agree_but_for_the_run(nights):
    def comparable(run: Path) -> dict:
        manifest = json.loads((run / "manifest.json").read_text())
        for key in (
            "run_id",
            "started_at",
            "finished_at",
            "previous_run_id",
            "config",
            "evaluation",
            "engine",
            "stages",
        ):
            manifest.pop(key, None)
        for entry in manifest["inputs"]:
            entry.pop("loaded_at")
        return manifest

    for night, (duckdb_run, spark_run) in nights.items():
        assert json.loads((spark_run / "manifest.json").read_text())["engine"] == "spark"
        assert comparable(spark_run) == comparable(duckdb_run), night
    # the resent log was not loaded a second time (DuckDB records no file for it)
    resent = [
        entry
        for night, (_, spark_run) in nights.items()
        for entry in json.loads((spark_run / "manifest.json").read_text())["inputs"]
        if night.startswith("sample") and entry["path"].endswith("unsubscribes_resent.csv")
    ]
    assert resent == []


def test_runs_lists_the_spark_runs_from_the_warehouse(nights):
    [sample_spark_night_2] = [
        spark_run for night, (_, spark_run) in nights.items() if night == "sample night 2"
    ]
    config = sample_spark_night_2.parents[3] / "pipelines" / "spark-engine.toml"
    listing = json.loads(invoke("runs", "--config", config, "--json").output)
    assert [r["status"] for r in listing] == ["published", "published"]
    assert listing[-1]["run_id"] == run_id(sample_spark_night_2)
    # the same file, told to use DuckDB, reads the DuckDB store: the DuckDB runs of those nights
    on_duckdb = json.loads(invoke("runs", "--config", config, "--engine", "duckdb", "--json").output)
    assert [r["as_of"] for r in on_duckdb] == [r["as_of"] for r in listing]
    assert {r["run_id"] for r in on_duckdb}.isdisjoint(r["run_id"] for r in listing)


@pytest.mark.parametrize("address", ["tom.baker@acme.example", "full@example.com", "nobody-here@example.org"])
def test_explain_reads_the_warehouse_and_answers_as_on_duckdb(nights, address):
    """`explain --engine spark` re-applies the rules to the address over the warehouse's rows
    (an in-memory DuckDB, no Spark session): the same answer as the DuckDB store's, run aside."""
    [(duckdb_run, spark_run)] = [runs for night, runs in nights.items() if night == "sample night 2"]
    config = spark_run.parents[3] / "pipelines" / "spark-engine.toml"
    on_spark = json.loads(invoke("explain", address, "--config", config, "--json").stdout)
    # each engine's runs explained with the pipeline file that ran them (no "file changed" warning)
    on_duckdb = json.loads(
        invoke("explain", address, "--config", config.with_name("both-engines.toml"), "--json").stdout
    )
    assert on_spark.pop("run")["run_id"] == run_id(spark_run)
    assert on_duckdb.pop("run")["run_id"] == run_id(duckdb_run)
    assert on_spark == on_duckdb


def _first_difference(got: pl.DataFrame, expected: pl.DataFrame) -> str:
    """The first row (in file order) where the two files differ, for the failure message."""
    for position, (a, b) in enumerate(zip(got.iter_rows(), expected.iter_rows())):
        if a != b:
            return f"row {position}: spark {a}\n        duckdb {b}"
    return f"{got.height} rows on spark, {expected.height} on duckdb"


def test_a_broken_input_fails_the_same_way_on_both_engines(spark, tmp_path):  # noqa: F811
    config, _ = sample_pipeline(tmp_path)
    # a bounce log whose rows are mostly broken: over the quarantine limit on both engines
    (tmp_path / "data" / "sample" / "bounces_broken.csv").write_bytes(
        b"\xef\xbb\xbfemail,occurred_at,event\r\n"
        b"ana@example.com,yesterday,bounce\r\n"
        b'"bo@example.com",2026-11-19T10:00:00Z,bounce\r\n'
        b"cy@example.com,2026-13-45,bounce\r\n"
    )
    both = on_both_engines(config)
    failures = {}
    for engine in ("duckdb", "spark"):
        result = invoke("run", "--config", both, "--engine", engine, "--as-of", SAMPLE_NIGHTS[0], expect=3)
        # the error itself, without the log lines (times, and Spark's own steps)
        failures[engine] = result.output[result.output.index("error:") :]
    assert failures["spark"] == failures["duckdb"], failures
    assert "bounces_broken.csv" in failures["spark"] and "2 of 3 rows quarantined" in failures["spark"]
    assert "row 1, column 'occurred_at'" in failures["spark"], failures["spark"]
    # nothing was published or committed by either
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("manifest.json"))
    listing = invoke("runs", "--config", both.with_name("spark-engine.toml"), expect=2).output
    assert "no catalog yet" in listing
