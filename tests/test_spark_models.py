"""The rule models compiled for Spark (rules/compile.py): each rewrite and refusal, and each model's rows on Spark equal DuckDB's."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

pytest.importorskip("sqlglot", reason="sqlglot is not installed (pip install 'listhygiene[spark]')")

from listhygiene import store
from listhygiene.config import load_config
from listhygiene.engines.spark import input_tables
from listhygiene.pipeline import previous_run
from listhygiene.rules import bounces, runner
from listhygiene.rules import compile as rules_compile
from listhygiene.rules.compile import UnsupportedConstruct, compile_model, compile_sql, parse_macros
from listhygiene.rules.evaluation import evaluate
from spark_nights import sample_pipeline, suppression_lists_pipeline, synth_pipeline
from spark_session import spark  # noqa: F401  (the shared session fixture)

from conftest import invoke


def flat(sql: str) -> str:
    """SQL on one line, comments aside, for comparing compiled text."""
    return re.sub(r"\s+\)", ")", re.sub(r"\(\s+", "(", " ".join(sql.split())))


def spark_sql(sql: str, macros: str = "") -> str:
    return flat(compile_sql(sql, "example", parse_macros(macros)))


# --- the compiler, model by model and rewrite by rewrite (sqlglot only) -------------------------------


def test_duckdb_gets_every_model_as_written():
    for name in runner.RUN_MODELS:
        assert compile_model(name, "duckdb") == runner.model_sql(name)


def test_an_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="unknown engine 'trino'"):
        compile_model("events", "trino")


def test_macros_are_expanded_at_compile_time_rows_and_fields_included():
    macros = """
        create or replace temp macro lineage(source, file_name, row_number) as
            source || ':' || file_name || ' row ' || row_number;
        create or replace temp macro said(e) as e.kind || ' at ' || lineage(e.source, e.file_name, 1);
    """
    assert spark_sql("select said(w.first) as s from w", macros) == flat(
        "SELECT (w.first.kind || ' at ' || (w.first.source || ':' || w.first.file_name || ' row ' || 1)) AS s "
        "FROM w"
    )


def test_the_spark_macro_file_replaces_the_packed_keys_by_structs():
    macros = rules_compile._macros()
    assert "record_key" in macros and "seen_key" in macros
    assert flat(compile_sql("select seen_file_id(seen_key(t, f, r)) as f from x", "example")) == flat(
        "SELECT ((STRUCT(t AS seen_at, f AS file_id, r AS row_number)).file_id) AS f FROM x"
    )


def test_rewrite_union_by_name_lines_up_the_columns():
    sql = """with a as (select 1 as x, 2 as y), b as (select 3 as y, 4 as x)
             select * from a union all by name select * from b"""
    assert spark_sql(sql) == flat(
        "WITH a AS (SELECT 1 AS x, 2 AS y), b AS (SELECT 3 AS y, 4 AS x) "
        "SELECT * FROM a UNION ALL SELECT x, y FROM (SELECT * FROM b) AS _by_name"
    )
    same_order = (
        "with a as (select 1 as x), b as (select 2 as x) select * from a union all by name select * from b"
    )
    assert spark_sql(same_order).endswith("SELECT * FROM a UNION ALL SELECT * FROM b")


def test_rewrite_union_by_name_refuses_sides_with_other_columns():
    sql = "with a as (select 1 as x), b as (select 2 as z) select * from a union all by name select * from b"
    with pytest.raises(UnsupportedConstruct, match=r"models/example\.sql .*UNION ALL BY NAME"):
        spark_sql(sql)


def test_rewrite_strftime_quotes_the_literal_text_of_a_pattern():
    assert spark_sql("select strftime(t::timestamp, '%Y-%m-%dT%H:%MZ') as s from x") == flat(
        # the text between codes quoted; Spark's string literal escapes a quote with a backslash
        "SELECT DATE_FORMAT(CAST(t AS TIMESTAMP_NTZ), 'yyyy\\'-\\'MM\\'-\\'dd\\'T\\'HH\\':\\'mm\\'Z\\'') AS s FROM x"
    )


def test_rewrite_arg_min_skips_null_values_as_duckdb_does():
    assert spark_sql("select arg_min(v, k) as a, arg_max(v, k) filter (where k > 1) as b from x") == flat(
        "SELECT MIN_BY(v, k) FILTER(WHERE NOT v IS NULL AND NOT k IS NULL) AS a, "
        "MAX_BY(v, k) FILTER(WHERE (k > 1) AND (NOT v IS NULL AND NOT k IS NULL)) AS b FROM x"
    )


def test_rewrite_nested_nulls_last_flags_each_field_of_a_compared_struct():
    flagged = "STRUCT(a IS NULL AS at_is_null, a AS at, d IS NULL AS detail_is_null, d AS detail)"
    # min() of a struct: compared with the flags, returned without them (DuckDB's shape)
    assert spark_sql("select min({at: a, detail: d}) as first from x") == flat(
        f"SELECT STRUCT((MIN({flagged})).at AS at, (MIN({flagged})).detail AS detail) AS first FROM x"
    )
    # an arg_min() key is only compared
    assert spark_sql("select arg_min(v, {at: a, detail: d}) as v from x") == flat(
        f"SELECT MIN_BY(v, {flagged}) FILTER(WHERE NOT v IS NULL AND NOT {flagged} IS NULL) AS v FROM x"
    )


def test_rewrite_list_slices_become_slice_with_a_length():
    assert spark_sql("select list_sort(list(distinct s))[1:10] as records from x") == flat(
        "SELECT SLICE(ARRAY_SORT(COLLECT_LIST(DISTINCT s)), 1, 10) AS records FROM x"
    )
    with pytest.raises(UnsupportedConstruct, match="list slice"):
        spark_sql("select l[1:n] as r from x")


def test_rewrite_whole_rows_become_structs_of_their_columns():
    assert spark_sql("select e, to_json(p) as j from events e, run_params p") == flat(
        "SELECT STRUCT(e.*) AS e, TO_JSON(STRUCT(p.*)) AS j FROM events AS e, run_params AS p"
    )
    assert spark_sql("select count(distinct (a, b)) as n from x") == flat(
        "SELECT COUNT(DISTINCT STRUCT(a, b)) AS n FROM x"
    )


def test_rewrite_day_intervals():
    assert spark_sql("select a - b <= to_days(n) as close from x") == flat(
        "SELECT a - b <= MAKE_DT_INTERVAL(n) AS close FROM x"
    )


def test_rewrite_asof_joins_as_a_range_join_on_the_next_time():
    sql = "select c.*, r.t as reset_at from c asof left join r on r.k = c.k and c.t >= r.t"
    assert spark_sql(sql) == flat(
        "SELECT c.*, r.t AS reset_at FROM c LEFT JOIN (SELECT *, LEAD(t) OVER (PARTITION BY k ORDER BY t NULLS LAST) "
        "AS _asof_next FROM r) AS r ON (r.k = c.k AND c.t >= r.t) AND (r._asof_next IS NULL OR c.t < r._asof_next)"
    )


def test_rewrite_qualify_as_a_filter_over_a_subquery():
    sql = "select f.id, f.path as p from files f qualify f.id = max(f.id) over (partition by f.path)"
    assert spark_sql(sql) == flat(
        "SELECT id, p FROM (SELECT f.id, f.path AS p, f.id = MAX(f.id) OVER (PARTITION BY f.path) AS _qualifies "
        "FROM files AS f) AS _qualified WHERE _qualifies"
    )


def test_rewrite_regexp_flags_keep_a_case_insensitive_match():
    assert spark_sql("select regexp_matches(d, 'user unknown', 'i') as m from x") == flat(
        "SELECT d RLIKE '(?i)user unknown' AS m FROM x"
    )
    assert spark_sql("select regexp_replace(d, '^\\s*550 ', '') as r from x") == flat(
        "SELECT REGEXP_REPLACE(d, '^\\\\s*550 ', '') AS r FROM x"
    )


@pytest.mark.parametrize(
    "sql, construct",
    [
        ("select * from a asof left join b on a.k = b.k and a.t <= b.t", "ASOF JOIN"),
        ("with a as not materialized (select 1 as x) select * from a", "MATERIALIZED"),
        ("select coalesce(t, '-infinity'::timestamptz) as t from x", "'-infinity'"),
        ("select k::uhugeint as key from x", "UHUGEINT"),
        ("select (k >> 64)::bigint as tier from x", "shift by 64 bits"),
        ("select hash(a, b) as h from x", "hash()"),
        ("select * from a union all by name select * from b", "UNION ALL BY NAME"),
        ("select strftime(t, '%j') as d from x", "strftime() code %j"),
        ("select regexp_replace(d, 'a', 'b') as r from x", "first match only"),
        ("select regexp_matches(d, 'a', 's') as m from x", "regexp_matches() with the options 's'"),
    ],
)
def test_duckdb_only_constructs_are_refused_naming_model_and_construct(sql, construct):
    with pytest.raises(UnsupportedConstruct, match=r"models/example\.sql cannot run on spark: .*") as refused:
        spark_sql(sql)
    assert construct in str(refused.value)


def test_memberships_reads_the_packed_tier_through_its_macro():
    # record_key_tier(m.best): a shift on DuckDB's 128-bit key, a struct field on Spark's
    compiled = compile_model("memberships", "spark")
    assert ">>" not in compiled and "shiftright" not in compiled.lower()


# --- every model on Spark equals DuckDB ----------------------------------------------------------------

# models that cannot give DuckDB's rows on Spark yet, each with why (a strict xfail: it fails
# the day the model matches, so the entry cannot outlive its reason)
NOT_ON_SPARK: dict[str, str] = {}
# the synth set (spark_nights.SYNTH) with and without a soft-bounce window
DATASETS = ("sample-night-1", "sample-night-2", "synth-night-1", "synth-night-2", "synth-window-30-night-2")


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """Each data set evaluated by DuckDB as the nightly run does, every table exported to Parquet."""
    root = tmp_path_factory.mktemp("spark_models")
    made: dict[str, Path] = {}

    def make(dataset: str) -> Path:
        if dataset not in made:
            made.update(_prepare(root, dataset))
        return made[dataset]

    return make


def _prepare(root: Path, dataset: str) -> dict[str, Path]:
    """The nights of the data set `dataset` belongs to, each as a folder of Parquet files."""
    if dataset.startswith("sample"):
        config, nights = sample_pipeline(root / "sample")
        names = ["sample-night-1", "sample-night-2"]
    elif "window" in dataset:
        config, nights = synth_pipeline(root / "synth_window" / "data", window=30)
        names, nights = ["synth-window-30-night-2"], nights[-1:]
    elif dataset.startswith("lists"):
        config, nights = suppression_lists_pipeline(root / "lists")
        names = ["lists-night-2"]
    else:
        config, nights = synth_pipeline(root / "synth" / "data")
        names = ["synth-night-1", "synth-night-2"]
    out = {}
    for name, night in zip(names, nights[-len(names) :]):
        invoke("-q", "run", "--config", config, "--as-of", night)
        out[name] = _export(load_config(config), night, root / name)
    return out


def _export(config, night: str, folder: Path) -> Path:
    """A copy of the store evaluated as of `night` with every model kept; its tables as Parquet."""
    folder.mkdir(parents=True)
    copy = folder / "store.duckdb"
    shutil.copy(config.database, copy)
    con = store.connect(copy)
    try:
        moment = datetime.fromisoformat(night.replace("Z", "+00:00"))
        evaluate(con, config, moment, previous_run(con, moment), scratch=None)
        # the classifier's model over every stored event, as a load classifies a new log's rows
        ruleset = bounces.load_ruleset(getattr(config, "bounce_rules", None))
        bounces.install_rules(con, ruleset)
        (folder / "bounce_rule_position.sql").write_text(bounces._position_macro(ruleset.rules))
        con.execute(
            "create temp table new_bounces as "
            "select * exclude (bounce_class, bounce_reason, bounce_rule) from bounce_events"
        )
        con.execute(f"create temp table bounce_classes as {runner.model_sql('bounce_classes')}")
        for table in sorted(input_tables() | set(runner.RUN_MODELS) | CLASSIFIER_TABLES):
            target = str(folder / f"{table}.parquet").replace("'", "''")
            con.execute(f"copy (select * from \"{table}\") to '{target}' (format parquet)")
    finally:
        con.close()
    return folder


CLASSIFIER_TABLES = {"new_bounces", "bounce_rules", "bounce_classes"}


def rows(frame: pl.DataFrame) -> Counter:
    """A table's rows as a multiset: timestamps as UTC instants, lists as lists, structs as field pairs."""
    return Counter(tuple(_value(v) for v in row) for row in frame.iter_rows())


def _value(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, bytes):  # DuckDB's JSON columns: Parquet text Spark reads as a string
        return value.decode("utf-8")
    if isinstance(value, list):
        return tuple(_value(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _value(v)) for k, v in value.items()))
    return value


CASES = [
    pytest.param(dataset, model, marks=[pytest.mark.xfail(reason=NOT_ON_SPARK[model], strict=True)])
    if model in NOT_ON_SPARK
    else pytest.param(dataset, model)
    for dataset in DATASETS
    for model in runner.RUN_MODELS
] + [
    # suppression lists: the data sets above have none, so these models are compared here too
    pytest.param("lists-night-2", model)
    for model in (
        "suppression_records",
        "external_suppressions",
        "suppression_causes",
        "candidates",
        "contact_status",
    )
]


# models with rows on every data set's second night, so that their comparison is not vacuous
# (outputs such as vanished or crm_updates may be empty on a small set)
HAVE_ROWS = {
    "events",
    "contact_files",
    "contact_records",
    "primary_records",
    "suppression_causes",
    "candidates",
    "suppression_lifts",
    "unlifted_causes",
    "active_reasons",
    "suppressions",
    "status_reasons",
    "reported_rows",
    "contact_status",
}
# the data set whose tables are the Spark session's views now
_REGISTERED: dict[str, Path] = {}


@pytest.mark.spark
@pytest.mark.parametrize("dataset, model", CASES)
def test_the_model_on_spark_gives_duckdb_s_rows(spark, evaluated, dataset, model, tmp_path):  # noqa: F811
    folder = evaluated(dataset)
    _register(spark, folder)
    written = tmp_path / model
    # materialized as Parquet and read back, as the Spark engine builds each model
    spark.sql(compile_model(model, "spark")).write.parquet(str(written))
    got = pl.read_parquet(written / "*.parquet")
    expected = pl.read_parquet(folder / f"{model}.parquet")
    assert got.columns == expected.columns
    # the rules' core has rows to compare on a second night (the first has no streak yet)
    assert expected.height > 0 or dataset.endswith("night-1") or model not in HAVE_ROWS
    assert expected.height > 0 or not dataset.startswith("lists")
    missing, extra = rows(expected) - rows(got), rows(got) - rows(expected)
    assert not missing and not extra, (
        f"{model}: DuckDB only {list(missing)[:3]}, Spark only {list(extra)[:3]}"
    )


@pytest.mark.spark
@pytest.mark.parametrize("dataset", ["sample-night-2", "synth-night-2"])
def test_the_bounce_classifier_on_spark_gives_duckdb_s_classes(spark, evaluated, dataset, tmp_path):  # noqa: F811
    # bounce_classes.sql with the ruleset's bounce_rule_position macro, over every stored event
    folder = evaluated(dataset)
    _register(spark, folder)
    sql = compile_model("bounce_classes", "spark", (folder / "bounce_rule_position.sql").read_text())
    spark.sql(sql).write.parquet(str(tmp_path / "classes"))
    got = pl.read_parquet(tmp_path / "classes" / "*.parquet")
    expected = pl.read_parquet(folder / "bounce_classes.parquet")
    assert got.columns == expected.columns
    assert expected.filter(pl.col("bounce_class").is_not_null()).height > 0
    missing, extra = rows(expected) - rows(got), rows(got) - rows(expected)
    assert not missing and not extra, f"DuckDB only {list(missing)[:3]}, Spark only {list(extra)[:3]}"


def _register(spark, folder: Path) -> None:  # noqa: F811  (a session, not the fixture)
    """Each Parquet file of a data set as the Spark session's view of its name (once per data set)."""
    if _REGISTERED.get("folder") != folder:  # the cases run data set by data set
        for table in folder.glob("*.parquet"):
            spark.read.parquet(str(table)).createOrReplaceTempView(table.stem)
        _REGISTERED["folder"] = folder


def test_duckdb_reads_what_spark_writes(tmp_path):
    """The comparison's own footing: a DuckDB timestamp round-trips through Parquet as a UTC instant."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    path = str(tmp_path / "t.parquet")
    con.execute(f"copy (select timestamptz '2026-11-20 06:00:00+00' as t, ['a', null] as l) to '{path}'")
    assert rows(pl.read_parquet(path)) == Counter({(datetime(2026, 11, 20, 6, tzinfo=UTC), ("a", None)): 1})
