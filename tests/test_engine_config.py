"""The pipeline file's [engine] table, [store] warehouse and the --engine override."""

from __future__ import annotations

from pathlib import Path

import pytest

from listhygiene.config import Engine, load_config
from listhygiene.errors import ConfigError

SOURCES = """
[[sources]]
name = "crm"
kind = "contacts"
path = "contacts_*.csv"
"""


def pipeline(tmp_path: Path, store: str, engine: str = "") -> Path:
    path = tmp_path / "pipeline.toml"
    path.write_text(f"[store]\n{store}\noutput = 'out'\n{engine}\n{SOURCES}", encoding="utf-8")
    return path


def test_duckdb_is_the_default_engine(tmp_path):
    config = load_config(pipeline(tmp_path, "database = 'state/store.duckdb'"))
    assert config.engine == Engine("duckdb")
    assert config.database == tmp_path / "state" / "store.duckdb"
    assert config.warehouse is None


def test_spark_engine_reads_master_conf_and_warehouse(tmp_path):
    engine = """[engine]
name = "spark"
master = "spark://head:7077"
conf = { "spark.executor.memory" = "4g", "spark.sql.shuffle.partitions" = 64, "spark.ui.enabled" = false }
"""
    config = load_config(pipeline(tmp_path, "warehouse = 'state/warehouse'", engine))
    assert config.engine.name == "spark"
    assert config.engine.master == "spark://head:7077"
    # every value as the text Spark's conf takes, booleans spelled as Spark spells them
    assert config.engine.conf == {
        "spark.executor.memory": "4g",
        "spark.sql.shuffle.partitions": "64",
        "spark.ui.enabled": "false",
    }
    assert config.warehouse == str(tmp_path / "state" / "warehouse")
    assert config.database_file is None


def test_an_object_store_warehouse_is_kept_as_given(tmp_path):
    config = load_config(
        pipeline(tmp_path, "warehouse = 's3a://bucket/listhygiene/'", '[engine]\nname = "spark"')
    )
    assert config.warehouse == "s3a://bucket/listhygiene"


def test_the_engine_option_overrides_the_file(tmp_path):
    path = pipeline(tmp_path, "database = 'store.duckdb'\nwarehouse = 'wh'")
    assert load_config(path).engine.name == "duckdb"
    assert load_config(path, engine="spark").engine.name == "spark"


@pytest.mark.parametrize(
    ("store", "engine", "override", "message"),
    [
        (
            "database = 'x.duckdb'",
            "",
            "spark",
            "warehouse is missing; the spark engine keeps its store there",
        ),
        ("warehouse = 'wh'", '[engine]\nname = "spark"', None, None),
        ("database = 'x.duckdb'", '[engine]\nname = "flink"', None, "'flink' is not an engine"),
        ("database = 'x.duckdb'", "[engine]\nmaster = 3", None, "master must be text"),
        (
            "database = 'x.duckdb'",
            '[engine]\nconf = { "executor.memory" = "4g" }',
            None,
            "is not a Spark setting",
        ),
        ("database = 'x.duckdb'", "[engine]\nnodes = 3", None, "nodes"),
    ],
)
def test_engine_settings_are_checked(tmp_path, store, engine, override, message):
    path = pipeline(tmp_path, store, engine)
    if message is None:
        assert load_config(path, engine=override).engine.name == "spark"
        return
    with pytest.raises(ConfigError) as raised:
        load_config(path, engine=override)
    assert message in str(raised.value)


def test_the_duckdb_engine_needs_a_database(tmp_path):
    config = load_config(pipeline(tmp_path, "warehouse = 'wh'", '[engine]\nname = "spark"'))
    with pytest.raises(ConfigError, match="database is missing; the duckdb engine keeps its store"):
        load_config(config.path, engine="duckdb")
