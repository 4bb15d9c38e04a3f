"""Runs the SQL models in `models/`, each building the temp table it is named after."""

from __future__ import annotations

from importlib import resources

import duckdb

# In dependency order: inputs → reasons → reports.
RUN_MODELS = (
    "events",
    "contact_records",
    "memberships",
    "soft_bounce_streaks",
    "suppression_causes",
    "candidates",
    "suppression_lifts",
    "unlifted_causes",
    "active_reasons",
    "primary_records",
    "contact_status",
    "suppressions",
    "blocked_resubscribes",
    "vanished",
    "crm_updates",
    "duplicates",
)


def model_sql(name: str) -> str:
    """The SELECT statement of one model."""
    return resources.files("listhygiene").joinpath("models", f"{name}.sql").read_text("utf-8")


def build(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Materialize one model as a temp table of the same name."""
    con.execute(f'create or replace temp table "{name}" as {model_sql(name)}')


def build_all(con: duckdb.DuckDBPyConnection, names=RUN_MODELS) -> None:
    con.execute(model_sql("_macros"))
    for name in names:
        build(con, name)

