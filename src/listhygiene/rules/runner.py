"""Runs the SQL models in `models/`, each building the temp table (or view) it is named after."""

from __future__ import annotations

import hashlib
import re
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import duckdb

from listhygiene.logs import step
from listhygiene.sql import sql_literal

# In dependency order: inputs → reasons → reports. Each model comes soon after the last model it
# reads, so that a nightly run can delete the big intermediate tables early (see build_all):
# duplicates right after primary_records, crm_updates right after unlifted_causes, and the
# readers of active_reasons before the reported rows that end memberships and primary_records.
# non_delivery_events comes just before its first reader: the events every rule but the lifts
# by delivery reads, taken from the log once (a delivery is most of the log).
RUN_MODELS = (
    "events",
    "contact_files",
    "suppression_files",
    "suppression_records",
    "held_records",
    "contact_records",
    "memberships",
    "primary_records",
    "duplicates",
    "non_delivery_events",
    "soft_bounce_streaks",
    "external_suppressions",
    "suppression_causes",
    "candidates",
    "last_deliveries",
    "suppression_lifts",
    "unlifted_causes",
    "crm_updates",
    "active_reasons",
    "suppressions",
    "blocked_resubscribes",
    "consent_ledger",
    "status_reasons",
    "reported_rows",
    "contact_status",
    "vanished",
    "rates",
)

# Models that are views, not tables: the two input models only give the store's rows one shape
# (every log event; every usable contact row). Materialized they would copy every row with every
# column (diagnostics, attributes, lineage text) into memory; as views each model reading them
# scans the store's compressed columns it needs, and lineage text is made only for rows shown.
VIEW_MODELS = frozenset({"events", "contact_records", "suppression_records"})


# An incremental night restricts the rules' two input views to the addresses of dirty_addresses;
# every model reads the store through them, so the rules evaluate only those
# (docs/incremental.md). The restriction goes on each store table where the view reads it,
# before the view's joins and union: a filter on the whole view made DuckDB read and shape
# every stored event before probing its address (1M store: 2.96 s against 0.68 s for events).
# A view names each with an alias (`from bounce_events e`); only_dirty_sql checks it does.
STORE_INPUTS = ("unsubscribe_events", "bounce_events", "contact_rows", "suppression_rows", "quarantine")
# How each keeps to the dirty addresses' rows: by address; a suppression list's hashed rows by
# the hash of a dirty address (a hashed row names no address until a model matches it).
DIRTY_ROWS = dict.fromkeys(STORE_INPUTS, "semi join dirty_addresses using (email)") | {
    "suppression_rows": "where email in (select email from dirty_addresses) "
    "or email_sha256 in (select sha256(email) from dirty_addresses)"
}
_STORE_INPUT = re.compile(
    rf"\b(from|join)\s+({'|'.join(STORE_INPUTS)})\b(?:\s+(?:as\s+)?(\w+))?", re.IGNORECASE
)
_NOT_AN_ALIAS = {
    "on",
    "using",
    "where",
    "join",
    "semi",
    "anti",
    "left",
    "inner",
    "group",
    "order",
    "qualify",
    "union",
    "limit",
    "natural",
    "cross",
    "positional",
    "asof",
}


MODELS = resources.files("listhygiene.rules").joinpath("models")
# The folders of models/, by layer: inputs (the store's rows in one shape), reasons (the rules),
# outputs (what is published), incremental (what a second night re-evaluates).
LAYERS = ("inputs", "reasons", "outputs", "incremental")


@cache
def _model_files() -> dict[str, Traversable]:
    """Every model's file by model name (its file name without .sql), whatever its layer."""
    files = {entry.name[:-4]: entry for entry in MODELS.iterdir() if entry.name.endswith(".sql")}
    for layer in LAYERS:
        for entry in MODELS.joinpath(layer).iterdir():
            if entry.name.endswith(".sql"):
                if entry.name[:-4] in files:
                    raise ValueError(f"two models are named {entry.name[:-4]!r}; model names are unique")
                files[entry.name[:-4]] = entry
    return files


@cache
def rules_digest() -> str:
    """A fingerprint of every model's SQL: a run's rows are reusable only under the same rules.

    Each model counts by its file name, not its folder: moving a model to another layer keeps the
    digest, so a store's runs stay the basis of incremental nights (docs/incremental.md).
    """
    digest = hashlib.sha256()
    for _name, entry in sorted(_model_files().items(), key=lambda item: item[1].name):
        digest.update(entry.name.encode() + b"\0" + entry.read_bytes() + b"\0")
    return digest.hexdigest()


def model_sql(name: str) -> str:
    """The SELECT statement of one model."""
    return _model_files()[name].read_text("utf-8")


def build(
    con: duckdb.DuckDBPyConnection, name: str, scratch: Path | None = None, only_dirty: bool = False
) -> None:
    """Materialize one model as a temp table of the same name (a temp view for VIEW_MODELS).

    With `scratch` (a folder), the model is written there as Parquet instead and the name is a
    view over that file: see build_all. With `only_dirty`, an input view keeps the rows of the
    addresses in dirty_addresses only.
    """
    if only_dirty and name in VIEW_MODELS:
        # restricted to a fraction of the addresses, an input is copied once: as a view, each
        # model reading it would scan the whole store table and probe every row for its address
        return _materialize(con, name, only_dirty_sql(name), scratch)
    if scratch is not None and name not in VIEW_MODELS:
        return _materialize(con, name, model_sql(name), scratch)
    kind = "view" if name in VIEW_MODELS else "table"
    drop_other_kind(con, name, kind)
    with step(f"building model {name}"):
        con.execute(f'create or replace temp {kind} "{name}" as {model_sql(name)}')


def only_dirty_sql(name: str) -> str:
    """An input view's SELECT with each store table it reads kept to the dirty addresses' rows."""

    def restricted(match: re.Match) -> str:
        keyword, table, alias = match.groups()
        if alias is None or alias.lower() in _NOT_AN_ALIAS:
            raise ValueError(
                f"models/{name}.sql reads {table} without an alias; "
                f"an incremental night needs one to restrict it (`from {table} t`)"
            )
        return f"{keyword} (select * from {table} {DIRTY_ROWS[table.lower()]}) as {alias}"

    sql, count = _STORE_INPUT.subn(restricted, model_sql(name))
    if count == 0:
        raise ValueError(f"models/{name}.sql reads none of {', '.join(STORE_INPUTS)}")
    return sql


def _materialize(con: duckdb.DuckDBPyConnection, name: str, sql: str, scratch: Path | None) -> None:
    """`sql` as a Parquet file in scratch read through a view (a temp table without scratch)."""
    if scratch is None:
        drop_other_kind(con, name, "table")
        with step(f"building model {name}"):
            con.execute(f'create or replace temp table "{name}" as {sql}')
        return
    target = sql_literal(str(scratch / f"{name}.parquet"))
    drop_other_kind(con, name, "view")
    with step(f"building model {name}"):
        con.execute(f"copy ({sql}) to {target} (format parquet, compression snappy)")
        con.execute(f'create or replace temp view "{name}" as select * from read_parquet({target})')


def drop_other_kind(con: duckdb.DuckDBPyConnection, name: str, kind: str) -> None:
    """A temp table left where a view is now built (or the other way round) goes first."""
    existing = con.execute(
        "select table_type from information_schema.tables where table_catalog = 'temp' and table_name = ?",
        [name],
    ).fetchall()
    for (table_type,) in existing:
        other = "view" if table_type == "VIEW" else "table"
        if other != kind:
            con.execute(f'drop {other} temp.main."{name}"')


def build_all(
    con: duckdb.DuckDBPyConnection,
    names=RUN_MODELS,
    *,
    scratch: Path | None = None,
    keep=frozenset(),
    only_dirty: bool = False,
) -> None:
    """Build `names` in order: as temp tables, or, given a `scratch` folder, as Parquet files there.

    The nightly run gives a scratch folder. Its rules run inside the transaction that loads the
    night's files, and DuckDB frees nothing a transaction drops before it commits: at 20M
    contacts the night's intermediate tables, all held to the end, filled the disk with spill.
    A file in scratch, though, is deleted as soon as the last model reading it is built (unless
    in `keep`, the models read after the rules), and the scan of a file holds no memory.
    Without scratch (explain, the tests), every table stays readable. With `only_dirty` (an
    incremental night) the rules see only the addresses of the dirty_addresses table.
    """
    con.execute(model_sql("_macros"))
    # the position after which no model reads it (its own, for a model nothing reads)
    last_use = {name: position for position, name in enumerate(names)}
    for position, name in enumerate(names):
        for read in reads(name) & last_use.keys():
            last_use[read] = position
    droppable = set() if scratch is None else set(names) - expand_views(keep) - VIEW_MODELS
    for position, name in enumerate(names):
        build(con, name, scratch, only_dirty)
        if scratch is None:
            continue
        for done in sorted(n for n in droppable if last_use[n] == position):
            con.execute(f'drop view if exists temp.main."{done}"')
            (scratch / f"{done}.parquet").unlink()


def models_read(*sql: str) -> frozenset[str]:
    """The run models named in SQL text (comments and string literals aside): what that SQL reads.

    A literal may spell a model's name without reading it (kind = 'suppressions')."""
    words = set()
    for text in sql:
        code = re.sub(r"'[^']*'", "''", re.sub(r"--[^\n]*", "", text))
        words |= set(re.findall(r"[a-z_][a-z0-9_]*", code.lower()))
    return frozenset(words & set(RUN_MODELS))


@cache
def reads(name: str) -> frozenset[str]:
    """The run models one model reads, through views too (a view reads its tables when used)."""
    return expand_views(models_read(model_sql(name)) - {name})


def with_what_they_read(names) -> tuple[str, ...]:
    """`names` and every run model they read, directly or through others, in RUN_MODELS order."""
    needed: set[str] = set()
    todo = set(names)
    while todo:
        name = todo.pop()
        needed.add(name)
        todo |= reads(name) - needed
    return tuple(name for name in RUN_MODELS if name in needed)


def expand_views(names) -> frozenset[str]:
    """`names` and, for each view among them, what the view reads."""
    out = set(names)
    for view in set(names) & VIEW_MODELS:
        out |= reads(view)
    return frozenset(out)
