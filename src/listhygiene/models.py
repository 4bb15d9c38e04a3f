"""Runs the SQL models in `models/`, each building the temp table (or view) it is named after."""

from __future__ import annotations

from importlib import resources

import duckdb

from .logs import step

# In dependency order: inputs → reasons → reports.
RUN_MODELS = (
    "events",
    "contact_files",
    "contact_records",
    "memberships",
    "primary_records",
    "soft_bounce_streaks",
    "suppression_causes",
    "candidates",
    "last_deliveries",
    "suppression_lifts",
    "unlifted_causes",
    "active_reasons",
    "reported_rows",
    "status_reasons",
    "reported_reasons",
    "contact_status",
    "suppressions",
    "blocked_resubscribes",
    "vanished",
    "crm_updates",
    "duplicates",
)

# Models that are views, not tables: the two input models only give the store's rows one shape
# (every log event; every usable contact row). Materialized they would copy every row with every
# column (diagnostics, attributes, lineage text) into memory; as views each model reading them
# scans the store's compressed columns it needs, and lineage text is made only for rows shown.
VIEW_MODELS = frozenset({"events", "contact_records"})


def model_sql(name: str) -> str:
    """The SELECT statement of one model."""
    return resources.files("listhygiene").joinpath("models", f"{name}.sql").read_text("utf-8")


def build(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Materialize one model as a temp table of the same name (a temp view for VIEW_MODELS)."""
    kind = "view" if name in VIEW_MODELS else "table"
    drop_other_kind(con, name, kind)
    with step(f"building model {name}"):
        con.execute(f'create or replace temp {kind} "{name}" as {model_sql(name)}')


def drop_other_kind(con: duckdb.DuckDBPyConnection, name: str, kind: str) -> None:
    """A temp table left where a view is now built (or the other way round) goes first."""
    existing = con.execute(
        "select table_type from information_schema.tables "
        "where table_catalog = 'temp' and table_name = ?", [name]).fetchall()
    for (table_type,) in existing:
        other = "view" if table_type == "VIEW" else "table"
        if other != kind:
            con.execute(f'drop {other} temp.main."{name}"')


def build_all(con: duckdb.DuckDBPyConnection, names=RUN_MODELS) -> None:
    con.execute(model_sql("_macros"))
    for name in names:
        build(con, name)
