"""The Spark store's catalog: its loaded files, runs and settings, one small DuckDB file per version.

The warehouse keeps the rows as Parquet (`tables/<table>/file_id=<N>/`, written by loading.py)
and, beside them, what says which of those rows count: the store's small tables input_files,
runs and store_meta, exactly as the DuckDB store has them. Each commit writes the whole catalog
as a new file `catalog/v<version>.duckdb` (a few hundred kB after years of nights) under a
temporary name and renames it: the newest complete version is the store. Rows written by a run
that died before its commit belong to no file_id of the catalog, so no reader sees them, and the
next load of that file writes its partitions again.

A night works on the catalog as an in-memory DuckDB connection holding the three tables: the
DuckDB store's own code (repair, the previous run, the manifest's inputs) runs on it unchanged.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from pyarrow import fs as arrow_fs

from listhygiene.config import Config
from listhygiene.errors import ConfigError
from listhygiene.outputs.explain.rows import STORE_ALIAS
from listhygiene.sql import memory_connection, sql_literal
from listhygiene.store import create_schema

CATALOG_TABLES = ("store_meta", "input_files", "runs", "run_inputs")
DATA_TABLES = ("contact_rows", "unsubscribe_events", "bounce_events", "suppression_rows", "quarantine")
_VERSION = re.compile(r"^v(\d{10})\.duckdb$")
KEEP_VERSIONS = 5  # older versions are removed once a newer one is written


@dataclass
class Warehouse:
    """A Spark store: a local folder or an object-store URI (s3a://, gs://, abfss://, hdfs://)."""

    uri: str
    fs: arrow_fs.FileSystem = field(init=False, repr=False)
    root: str = field(init=False)

    def __post_init__(self) -> None:
        self.uri = self.uri.rstrip("/")
        if "://" in self.uri and not self.uri.startswith("file://"):
            # pyarrow names s3a:// as s3://; Spark reads both
            self.fs, self.root = arrow_fs.FileSystem.from_uri(re.sub(r"^s3[an]://", "s3://", self.uri))
        else:
            self.fs, self.root = arrow_fs.LocalFileSystem(), self.uri.removeprefix("file://")

    @property
    def is_local(self) -> bool:
        return isinstance(self.fs, arrow_fs.LocalFileSystem)

    def location(self, *parts: str) -> str:
        """A path under the warehouse, as Spark names it."""
        return "/".join([self.uri, *parts])

    @property
    def tables(self) -> str:
        return self.location("tables")

    def table_partition(self, table: str, file_id: int) -> str:
        return self.location("tables", table, f"file_id={file_id}")

    def holds(self, relative: str) -> bool:
        """Whether the warehouse has this file or folder."""
        info = self.fs.get_file_info(f"{self.root}/{relative}")
        return info.type != arrow_fs.FileType.NotFound

    def _catalog(self, name: str = "") -> str:
        return "/".join(p for p in (self.root, "catalog", name) if p)


def open_catalog(warehouse: Warehouse) -> tuple[duckdb.DuckDBPyConnection, int]:
    """An in-memory connection holding the newest catalog version's tables, and that version
    (0: a new warehouse, empty tables)."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    create_schema(con)
    version = latest_version(warehouse)
    if version:
        with tempfile.TemporaryDirectory(prefix="listhygiene-catalog-") as scratch:
            local = Path(scratch) / "catalog.duckdb"
            arrow_fs.copy_files(
                warehouse._catalog(_name(version)),
                str(local),
                source_filesystem=warehouse.fs,
                destination_filesystem=arrow_fs.LocalFileSystem(),
            )
            con.execute(f"attach {sql_literal(str(local))} as stored (read_only)")
            stored = {
                name
                for (name,) in con.execute(
                    "select table_name from duckdb_tables() where database_name = 'stored'"
                ).fetchall()
            }
            # the stored rows replace what create_schema put in; a catalog written before store
            # schema 8 has no run_inputs (its runs' manifests still list their inputs)
            for table in (t for t in CATALOG_TABLES if t in stored):
                con.execute(f'delete from main."{table}"')
                con.execute(f'insert into main."{table}" select * from stored."{table}"')
            con.execute("detach stored")
    return con, version


def commit_catalog(warehouse: Warehouse, con: duckdb.DuckDBPyConnection, version: int) -> int:
    """Write the connection's catalog tables as the version after `version`; return it.

    The file is written under a temporary name and renamed (a local or HDFS rename is atomic;
    on an object store the object appears whole when its upload completes), so a crash leaves
    the previous version in force. Refuses to write over a newer version than the one read:
    that would be a second writer, which the run lock exists to prevent.
    """
    newest = latest_version(warehouse)
    if newest != version:
        raise RuntimeError(
            f"the warehouse catalog moved from version {version} to {newest} during this run: "
            "another process writes to this store (see docs/spark.md on the lock)"
        )
    target = version + 1
    warehouse.fs.create_dir(warehouse._catalog(), recursive=True)
    with tempfile.TemporaryDirectory(prefix="listhygiene-catalog-") as scratch:
        local = Path(scratch) / "catalog.duckdb"
        con.execute(f"attach {sql_literal(str(local))} as written")
        try:
            for table in CATALOG_TABLES:
                con.execute(f'create table written."{table}" as select * from main."{table}"')
        finally:
            con.execute("detach written")
        partial = warehouse._catalog(f".{_name(target)}.partial")
        arrow_fs.copy_files(
            str(local),
            partial,
            source_filesystem=arrow_fs.LocalFileSystem(),
            destination_filesystem=warehouse.fs,
        )
    warehouse.fs.move(partial, warehouse._catalog(_name(target)))
    for old in _versions(warehouse)[:-KEEP_VERSIONS]:
        warehouse.fs.delete_file(warehouse._catalog(_name(old)))
    return target


def latest_version(warehouse: Warehouse) -> int:
    versions = _versions(warehouse)
    return versions[-1] if versions else 0


def _versions(warehouse: Warehouse) -> list[int]:
    selector = arrow_fs.FileSelector(warehouse._catalog(), allow_not_found=True)
    found = (_VERSION.match(info.base_name) for info in warehouse.fs.get_file_info(selector))
    return sorted(int(m.group(1)) for m in found if m)


def _name(version: int) -> str:
    return f"v{version:010d}.duckdb"


def file_ids(con: duckdb.DuckDBPyConnection) -> list[int]:
    """The files whose partitions count: those of the catalog (a platform file may have rows in
    both event tables; a table without a partition for one simply has no rows of it)."""
    return [
        file_id for (file_id,) in con.execute("select file_id from input_files order by file_id").fetchall()
    ]


def attach_warehouse(con: duckdb.DuckDBPyConnection, warehouse: Warehouse, alias: str) -> int:
    """The warehouse as a read-only DuckDB store under `alias` in `con`, for one-address questions
    (explain): the newest catalog's tables copied in, the rows as views over the committed
    partitions' Parquet (a local or mounted warehouse). Returns the catalog version (0: none)."""
    catalog, version = open_catalog(warehouse)
    try:
        con.execute(f"attach ':memory:' as \"{alias}\"")
        con.execute(f'use "{alias}"')
        create_schema(con)
        for table in CATALOG_TABLES:
            con.execute(f'delete from "{alias}"."{table}"')
            con.register("catalog_rows", catalog.sql(f'select * from "{table}"').to_arrow_table())
            con.execute(f'insert into "{alias}"."{table}" select * from catalog_rows')
            con.unregister("catalog_rows")
        committed = file_ids(catalog)
        for table in DATA_TABLES:
            if not committed or not warehouse.holds(f"tables/{table}"):
                continue
            # the warehouse keeps email_raw whole (spark.loading.store_columns): no email_spelling
            columns = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_catalog = ? and table_name = ? and column_name <> 'email_spelling' "
                "order by ordinal_position",
                [alias, table],
            ).fetchall()
            typed = ", ".join(f'"{name}"::{kind} as "{name}"' for name, kind in columns)
            files = sql_literal(f"{warehouse.location('tables', table)}/*/*.parquet")
            ids = ", ".join(str(file_id) for file_id in committed)
            con.execute(f'drop table "{alias}"."{table}"')
            con.execute(
                f'create view "{alias}"."{table}" as select {typed} '
                f"from read_parquet({files}, hive_partitioning = true) where file_id in ({ids})"
            )
    finally:
        con.execute("use memory")
        catalog.close()
    return version


def explain_store(config: Config) -> duckdb.DuckDBPyConnection:
    """What `explain --engine spark` reads: an in-memory connection with the warehouse attached
    as explain's store (no Spark session: one address is a small question)."""
    assert config.warehouse is not None, "load_config requires [store] warehouse for the spark engine"
    con = memory_connection()
    if not attach_warehouse(con, Warehouse(config.warehouse), STORE_ALIAS):
        con.close()
        raise ConfigError(f"warehouse {config.warehouse} has no catalog yet: run `listhygiene run` first.")
    return con
