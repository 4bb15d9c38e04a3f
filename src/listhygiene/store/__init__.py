"""The store: the DuckDB file of every loaded row and published run, and the nightly lock.

Loading into it is `listhygiene.store.loading`, imported by the night only: it brings the readers
(pandera, pandas), which commands that only read the store (explain) do without."""

from listhygiene.store.database import (
    DEFAULT_MEMORY_LIMIT,
    EVENT_IDENTITY,
    SCHEMA_VERSION,
    SPELLING,
    SPELLING_TABLES,
    connect,
    create_schema,
    rule_tables_dir,
    tune_engine,
)
from listhygiene.store.lock import run_lock

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "EVENT_IDENTITY",
    "SCHEMA_VERSION",
    "SPELLING",
    "SPELLING_TABLES",
    "connect",
    "create_schema",
    "rule_tables_dir",
    "run_lock",
    "tune_engine",
]
