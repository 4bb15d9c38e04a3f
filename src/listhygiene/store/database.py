"""The embedded DuckDB store: every loaded file, row and published run, with lineage."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb

from listhygiene.errors import ConfigError, LockHeld
from listhygiene.sql import sql_literal

SCHEMA_VERSION = 8

# How a row's input spelled its address (email_raw, for lineage and for forget) is most often
# the normalized address itself (96% of a bounce log's rows, 87% of an export's): the store
# keeps the spelling (email_spelling) only where it differs, and email_raw is a column computed
# from the two. That keeps one copy of each address per row instead of two (a 5M store: 1,630 MiB
# -> 1,069 MiB). A row under a tombstone (docs/privacy.md) has no spelling: its email is the
# pseudonym, which is never shown as one.
SPELLING = (
    "case when email_spelling is not null then email_spelling "
    "when starts_with(email, 'forgotten:') then null else email end"
)
# The tables whose rows keep a spelling.
SPELLING_TABLES = ("contact_rows", "unsubscribe_events", "bounce_events", "suppression_rows")

# Loaded rows keep their file and row number, so every event can say where it came from.
SCHEMA = """
create table if not exists store_meta (key varchar primary key, value varchar);

create sequence if not exists input_file_ids start 1;

create table if not exists input_files (
    file_id           integer primary key,
    source            varchar not null,   -- the pipeline source name
    kind              varchar not null,   -- contacts | unsubscribes | bounces | suppressions
    path              varchar not null,
    sha256            varchar not null,
    size              bigint not null,
    rows_read         bigint not null,
    rows_loaded       bigint not null,
    rows_quarantined  bigint not null,
    snapshot_at       timestamptz,        -- contacts: exported_at, else a date in the file name;
                                          -- suppressions: a date in the file name
    loaded_at         timestamptz not null,
    attribute_columns varchar[],          -- contacts: extra columns, in header order
    format            varchar,            -- null: canonical columns; else the source's format
    records_read      bigint,             -- platform formats: records (objects, lines) read
    records_ignored   bigint,             -- platform formats: records with no hygiene event (opens, clicks)
    mtime_ns          bigint,             -- modification time when loaded: an unchanged file is not re-read
    -- a log's content is loaded once wherever it turns up again; a contact export's content
    -- under a new name is a new snapshot file (an unchanged part of tonight's export)
    unique (source, sha256, path)
);

create table if not exists contact_rows (
    file_id        integer not null,
    row_number     bigint not null,
    contact_id     varchar not null,
    email_spelling varchar,               -- the file's spelling of the address, kept only where
                                          -- it differs from email (v7): see SPELLING
    email          varchar not null,      -- normalized
    email_raw      varchar as ({SPELLING}),
    email_valid    boolean not null,
    list_id        varchar,
    status         varchar not null,      -- subscribed | unsubscribed | pending | cleaned
    status_raw     varchar,
    confirmed_at   timestamptz,
    do_not_contact boolean not null,
    exported_at    timestamptz,
    attributes     json
);

create table if not exists unsubscribe_events (
    file_id      integer not null,
    row_number   bigint not null,
    email_spelling varchar,
    email        varchar not null,
    email_raw    varchar as ({SPELLING}),
    email_valid  boolean not null,
    occurred_at  timestamptz not null,
    event        varchar not null,        -- unsubscribe | resubscribe | complaint | do_not_contact | do_contact
    list_id      varchar,                 -- null = every list
    origin       varchar not null,        -- the log's `source` column: contact, integration, ...
    evidence     varchar,
    evidence_ref varchar,
    campaign_id  varchar,
    reason       varchar,
    is_duplicate boolean not null default false,  -- the same event already came in another row
    event_ref    varchar,                 -- the platform's id of the event (SendGrid sg_event_id, …)
    platform     json                     -- the platform's own fields: message id, feedback id, raw type
);

create table if not exists bounce_events (
    file_id       integer not null,
    row_number    bigint not null,
    email_spelling varchar,
    email         varchar not null,
    email_raw     varchar as ({SPELLING}),
    email_valid   boolean not null,
    occurred_at   timestamptz not null,
    event         varchar not null,       -- bounce | delivered | complaint
    campaign_id   varchar,
    bounce_type   varchar,                -- as the platform reported it, canonical
    smtp_code     integer,
    enhanced_code varchar,
    diagnostic    varchar,
    bounce_class  varchar,                -- hard | soft | block | unknown (null unless a bounce)
    bounce_reason varchar,
    bounce_rule   varchar,
    is_duplicate  boolean not null default false,
    event_ref     varchar,
    platform      json
);

-- the rows of do-not-mail lists kept elsewhere (v6): each file is the whole list as of its
-- snapshot time; a row names its address in clear (email) or hashed (email_sha256)
create table if not exists suppression_rows (
    file_id      integer not null,
    row_number   bigint not null,
    email_spelling varchar,
    email        varchar,                 -- normalized; null for a hashed row
    email_raw    varchar as ({SPELLING}),
    email_valid  boolean,
    email_sha256 varchar,                 -- lowercase hex SHA-256 of the normalized address
    list_id      varchar,                 -- null = every list
    reason       varchar,                 -- the list's own words, kept for the detail
    occurred_at  timestamptz              -- since when the list holds it, when it says
);

create table if not exists quarantine (
    file_id     integer not null,
    row_number  bigint not null,
    column_name varchar,
    error       varchar not null,
    raw         varchar,
    -- what identifies the row's record, where the row had it (v5): a contacts row's contact id
    -- and list, and the normalized address, so a quarantined export row is held, not absent
    contact_id  varchar,
    list_id     varchar,
    email       varchar
);

-- forget (docs/privacy.md): what is left of an erased address is its tombstone, the keyed hash
-- (HMAC-SHA256, the key outside the store) of the normalized address; its rows are kept under
-- the pseudonym 'forgotten:' || email_hmac, without the address, its spellings or attributes
create table if not exists tombstones (
    email_hmac   varchar primary key,     -- lowercase hex
    key_id       varchar not null,        -- the keyring's key that made it
    forgotten_at timestamptz not null,
    note         varchar,                 -- the operator's --note (a ticket number, not a name)
    lifted_at    timestamptz,             -- fresh consent after the erasure, seen when loading
    lifted_by    varchar                  -- where that consent came from (source:file row N)
);

-- an erased address that gave fresh consent since: in clear again, with the erasure it came
-- back from (the rules keep it forgotten until that consent, as of any time)
create table if not exists reconsented (
    email        varchar not null,
    email_hmac   varchar not null,
    forgotten_at timestamptz not null
);

create table if not exists runs (
    run_id      varchar primary key,
    as_of       timestamptz not null,
    started_at  timestamptz not null,
    finished_at timestamptz not null,
    status      varchar not null,         -- committed, then published (later pruned); lost
    forced      boolean not null,
    path        varchar not null,
    manifest    json not null             -- manifest.json without its inputs (run_inputs)
);

-- The input files each run read (manifest.json's inputs), one row per file. Kept out of the
-- runs' stored manifests: a bounce mailbox of 100,000 files makes a 50 MB list, every night.
create table if not exists run_inputs (
    run_id  varchar not null,
    file_id bigint not null
);
""".replace("{SPELLING}", SPELLING)


def rule_tables_dir(database: Path) -> Path:
    """Where a nightly run writes its rule tables as Parquet while it runs: <store>.rules."""
    return database.with_name(database.name + ".rules")


def connect(database: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the store (creating it and its schema unless read-only), in UTC."""
    if read_only and not database.exists():
        raise ConfigError(f"store {database} does not exist yet: run `listhygiene run --config ...` first.")
    database.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(database), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise LockHeld(
                f"store {database} is in use by another process ({exc}). "
                "Another run is probably going on; try again when it has finished."
            ) from None
        raise ConfigError(f"store {database} cannot be opened: {exc}") from None
    con.execute("set TimeZone = 'UTC'")
    con.execute("set enable_progress_bar = false")  # our own display and logs report progress
    tune_engine(con, database)
    if read_only:
        try:
            require_current_schema(con, database)
        except ConfigError:
            con.close()
            raise
    else:
        create_schema(con)
    return con


# DuckDB's memory when LISTHYGIENE_MEMORY_LIMIT is not set (less on a machine with under 10 GiB).
DEFAULT_MEMORY_LIMIT = 2560 << 20


def tune_engine(con: duckdb.DuckDBPyConnection, database: Path) -> None:
    """Bound the run's memory and let it spill to disk beside the store instead of failing.

    A night's working set (the rules' temp tables, sorts, hash tables) grows with the data;
    past `memory_limit` DuckDB writes it to `temp_directory`, so a large night finishes on a
    shared machine rather than being killed. The limit is LISTHYGIENE_MEMORY_LIMIT when set
    (DuckDB syntax: "3GiB"), else DEFAULT_MEMORY_LIMIT or a quarter of the machine's memory,
    whichever is less. Every rule and output spills, so more memory buys little time (5M
    contacts: 8-12% at 2500 MiB against 5.8 GiB) and the process stays near the limit plus
    the few batches of rows loading holds in polars (~1.5 GiB at most). Measured: 1M contacts
    over two snapshots complete at 500 MiB (peak RSS 0.79 GiB); 5M nights at 2500 MiB (3.25
    and 3.21 GiB); a 20M night at 5.8 GiB (7.34 GiB). Too low a limit makes DuckDB fail to
    pin blocks, which the CLI reports as a clean out-of-memory error naming the step (exit
    1, nothing changed); a disk filled by the spill is reported the same way.
    """
    con.execute(f"set memory_limit = {sql_literal(memory_limit())}")
    con.execute(f"set temp_directory = {sql_literal(f'{database}.tmp')}")
    # Every output states its order (ORDER BY) and every model its tie-breaks, so DuckDB need
    # not keep rows in the order they were read: tables and files are then written by both
    # threads at once and in less memory (1M contacts: sendable.parquet 5.2 s → 3.4 s).
    con.execute("set preserve_insertion_order = false")
    # An ASOF join whose left side DuckDB estimates at under 64 rows is run as a nested loop.
    # The estimate of a filtered, grouped input can be that low while the real side has many
    # rows: soft_bounce_streaks' join of 600k campaigns to their last reset (5M contacts) took
    # 52 s as a loop. Always the sorted ASOF join instead.
    con.execute("set asof_loop_join_threshold = 0")


def memory_limit() -> str:
    """DuckDB's memory limit: LISTHYGIENE_MEMORY_LIMIT, else DEFAULT_MEMORY_LIMIT or a quarter of
    the machine's memory, whichever is less (tune_engine)."""
    import os

    limit = os.environ.get("LISTHYGIENE_MEMORY_LIMIT")
    if not limit:
        try:
            physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            physical = 8 << 30
        limit = f"{max(min(physical // 4, DEFAULT_MEMORY_LIMIT), 256 << 20) >> 20}MiB"
    return limit


# Loading holds polars' batches beside DuckDB (the one read ahead, the one validated, the one
# being inserted: ~0.4-0.6 GiB at 500,000 rows), and DuckDB fills its memory with the blocks it
# writes, which it need not keep: while the inputs load, it gets this share of its limit.
LOADING_MEMORY_SHARE = 0.75
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b)\s*$", re.IGNORECASE)
_UNITS = {"kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_UNITS |= {"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}


@contextmanager
def loading_memory(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB's memory limit lowered to LOADING_MEMORY_SHARE of memory_limit() for the block, then
    set back. A limit not in DuckDB's size syntax (a number and a unit) is left as it is."""
    limit = memory_limit()
    found = _SIZE.match(limit)
    if found is None:
        yield
        return
    size = float(found.group(1)) * _UNITS[found.group(2).lower()]
    loading = max(int(size * LOADING_MEMORY_SHARE), min(int(size), 128 << 20))
    con.execute(f"set memory_limit = '{loading >> 20}MiB'")
    try:
        yield
    except BaseException:
        # a transaction DuckDB aborted takes no SET: the caller rolls back and the night ends
        with suppress(duckdb.Error):
            con.execute(f"set memory_limit = {sql_literal(limit)}")
        raise
    con.execute(f"set memory_limit = {sql_literal(limit)}")


# Platforms resend events: the same event in two files (or twice in one) is one event. These
# columns say what makes an event the same; the first row seen keeps its lineage, the others
# are marked is_duplicate when loaded and ignored by the rules.
# An event a platform gave an id (event_ref) is the same event wherever that id comes again
# for the same address (SES: one feedback id for all recipients of a bounce).
EVENT_IDENTITY = {
    "unsubscribe_events": ("email", "occurred_at", "event", "list_id", "origin", "evidence", "campaign_id"),
    "bounce_events": (
        "email",
        "occurred_at",
        "event",
        "campaign_id",
        "bounce_type",
        "smtp_code",
        "enhanced_code",
        "diagnostic",
    ),
}


# What a store of an earlier schema version needs to reach the current one.
MIGRATIONS: dict[int, str | Callable[[duckdb.DuckDBPyConnection], None]] = {
    2: """
    alter table input_files add column if not exists format varchar;
    alter table input_files add column if not exists records_read bigint;
    alter table input_files add column if not exists records_ignored bigint;
    alter table unsubscribe_events add column if not exists event_ref varchar;
    alter table unsubscribe_events add column if not exists platform json;
    alter table bounce_events add column if not exists event_ref varchar;
    alter table bounce_events add column if not exists platform json;
    """,
    3: "alter table input_files add column if not exists mtime_ns bigint;",
    # quarantined rows keep their record's identity; rows quarantined before keep none
    5: """
    alter table quarantine add column if not exists contact_id varchar;
    alter table quarantine add column if not exists list_id varchar;
    alter table quarantine add column if not exists email varchar;
    """,
    # suppression lists (the suppressions input kind): the table SCHEMA creates is all it needs
    6: "select 1;",
    # a row's spelling kept only where it differs from its normalized address: the address
    # tables are rebuilt (at 5M contacts / 30M events, once, about a minute)
    7: lambda con: _set_spellings_apart(con),
    # each run's input files in run_inputs (the table SCHEMA creates), out of its stored manifest
    8: "select 1;",
    # the uniqueness of a file becomes (source, content, path): the table is rebuilt
    4: """
    create table input_files_v4 as select * from input_files;
    drop table input_files;
    """,
}
# Statements run after a migration's own, once the current SCHEMA has created what is missing.
AFTER_MIGRATION: dict[int, str | Callable[[duckdb.DuckDBPyConnection], None]] = {
    4: """
    insert into input_files by name select * from input_files_v4;
    drop table input_files_v4;
    """,
    7: lambda con: _set_spellings_apart(con, after=True),
    8: """
    insert into run_inputs
    select listed.run_id, f.file_id
    from (
        select run_id, unnest(from_json(manifest->'$.inputs',
            '[{"source": "VARCHAR", "sha256": "VARCHAR", "path": "VARCHAR"}]'), recursive := true)
        from runs
    ) listed
    join input_files f using (source, sha256, path);
    -- a manifest sheds its list only when every input it names was found
    update runs set manifest = json_merge_patch(manifest, '{"inputs": null}')
    where json_array_length(manifest->'$.inputs')
        = (select count(*) from run_inputs i where i.run_id = runs.run_id);
    """,
}


def _set_spellings_apart(con: duckdb.DuckDBPyConnection, after: bool = False) -> None:
    """Schema 7: each address table whose email_raw is a stored column is set aside (before the
    current SCHEMA creates it anew), then its rows go back with the spelling kept only where it
    differs from the normalized address."""
    for table in SPELLING_TABLES:
        if not after:
            stored = con.execute(
                "select count(*) from duckdb_columns() where database_name = current_database() "
                "and schema_name = 'main' and table_name = ? and column_name = 'email_raw' and not is_generated",
                [table],
            ).fetchall()[0][0]
            if stored:
                con.execute(f'alter table "{table}" rename to "{table}_v6"')
            continue
        exists = con.execute(
            "select count(*) from duckdb_tables() where database_name = current_database() "
            "and schema_name = 'main' and table_name = ?",
            [f"{table}_v6"],
        ).fetchall()[0][0]
        if exists:
            con.execute(
                f'insert into "{table}" by name select * exclude (email_raw), '
                "case when email_raw is distinct from email then email_raw end as email_spelling "
                f'from "{table}_v6"'
            )
            con.execute(f'drop table "{table}_v6"')


def require_current_schema(con: duckdb.DuckDBPyConnection, database: Path, alias: str | None = None) -> None:
    """ConfigError unless the store (attached as `alias`, or the connection's own) is at this
    version's schema: a read-only reader cannot upgrade it, and would fail on a missing table."""
    prefix = f"{alias}." if alias else ""
    try:
        [(version,)] = con.execute(
            f"select value::integer from {prefix}store_meta where key = 'schema_version'"
        ).fetchall()
    except (duckdb.CatalogException, ValueError):
        version = 0
    if version < SCHEMA_VERSION:
        raise ConfigError(
            f"store {database} was written by an older listhygiene (store schema {version}, this "
            f"version reads schema {SCHEMA_VERSION}): the next `listhygiene run --config ...` "
            "upgrades it, then run this command again."
        )
    if version > SCHEMA_VERSION:
        raise ConfigError(
            f"store {database} was written by a newer listhygiene (store schema {version}, this "
            f"version reads up to {SCHEMA_VERSION}): upgrade listhygiene to read it."
        )


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the store's tables where missing, and bring an older store up to this version."""
    con.execute(SCHEMA)
    con.execute("insert or ignore into store_meta values ('schema_version', ?)", [str(SCHEMA_VERSION)])
    [(version,)] = con.execute(
        "select value::integer from store_meta where key = 'schema_version'"
    ).fetchall()
    for target in range(version + 1, SCHEMA_VERSION + 1):
        _migrate(con, MIGRATIONS[target])
        con.execute(SCHEMA)
        if target in AFTER_MIGRATION:
            _migrate(con, AFTER_MIGRATION[target])
        con.execute("update store_meta set value = ? where key = 'schema_version'", [str(target)])


def _migrate(con: duckdb.DuckDBPyConnection, step: str | Callable[[duckdb.DuckDBPyConnection], None]) -> None:
    """A migration step: SQL, or a function of the connection where SQL alone cannot say it."""
    if callable(step):
        step(con)
    else:
        con.execute(step)
