"""A night's inputs for the Spark engine, exported from a DuckDB store: one Parquet file per table read.

A stepping stone until Spark has its own store: the store's tables the models and outputs read,
and the run's settings tables (run_params, run_sources, list_settings, reason_precedence,
accepted_evidence, previous_status) as evaluation.prepare_run_tables makes them for the as-of.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path

from listhygiene.config import Config
from listhygiene.outputs import publish
from listhygiene.rules import runner
from listhygiene.rules.evaluation import prepare_run_tables
from listhygiene.sql import sql_literal
from listhygiene.store import connect

try:
    from sqlglot import exp, parse_one
except ImportError as missing:  # pragma: no cover - the spark extra is not installed
    raise ImportError(
        "exporting a night for Spark needs sqlglot: pip install 'listhygiene[spark]'"
    ) from missing


@cache
def input_tables() -> frozenset[str]:
    """The tables (store, settings, previous run) the models and the outputs read, besides the models."""
    queries = [runner.model_sql(model) for model in runner.RUN_MODELS]
    queries += [query for query, _ in publish.OUTPUT_QUERIES.values()]
    queries += [f"select * from {publish.SENDABLE_ROWS}", publish.ATTRIBUTE_COLUMNS]
    names: set[str] = set()
    for query in queries:
        tree = parse_one(query, read="duckdb")
        ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
        names |= {t.name for t in tree.find_all(exp.Table) if t.name and t.name not in ctes}
    return frozenset(names - set(runner.RUN_MODELS))


def export_night_inputs(
    config: Config, as_of: datetime, previous: tuple[str, Path] | None, folder: Path
) -> Path:
    """Write `folder`/<table>.parquet for each of input_tables() as of `as_of`; return `folder`.

    `previous` is the run the night compares with (its id and published folder), as the nightly
    run finds it. The store is opened read-only: the settings are temp tables of this connection.
    """
    folder.mkdir(parents=True, exist_ok=True)
    con = connect(config.database, read_only=True)
    try:
        prepare_run_tables(con, config, as_of, previous)
        for table in sorted(input_tables()):
            target = sql_literal(str(folder / f"{table}.parquet"))
            con.execute(f'copy (select * from "{table}") to {target} (format parquet)')
    finally:
        con.close()
    return folder
