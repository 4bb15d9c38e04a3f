"""SQL helpers every stage uses: quoting a literal, and a scratch in-memory DuckDB set up like the store."""

from __future__ import annotations

import duckdb


def sql_literal(text: str) -> str:
    """A SQL string literal, quotes doubled: for the few places that take no parameter
    (SET, COPY's target, a view's file, a JSON path in generated SQL)."""
    return "'" + text.replace("'", "''") + "'"


def memory_connection() -> duckdb.DuckDBPyConnection:
    """A scratch in-memory DuckDB, set up like the store: UTC, no progress bar of its own."""
    con = duckdb.connect(":memory:")
    con.execute("set TimeZone = 'UTC'")
    con.execute("set enable_progress_bar = false")
    return con
