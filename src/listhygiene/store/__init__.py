"""The store: the DuckDB file of every loaded row and published run, loading into it, the nightly lock."""

from listhygiene.store.database import (
    DEFAULT_MEMORY_LIMIT,
    EVENT_IDENTITY,
    SCHEMA_VERSION,
    connect,
    create_schema,
    rule_tables_dir,
    tune_engine,
)
from listhygiene.store.loading import LoadReport, load_sources
from listhygiene.store.lock import run_lock

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "EVENT_IDENTITY",
    "SCHEMA_VERSION",
    "LoadReport",
    "connect",
    "create_schema",
    "load_sources",
    "rule_tables_dir",
    "run_lock",
    "tune_engine",
]
