"""`forget`: erase addresses from the store and every published run, leaving keyed-hash tombstones.

Order, so that a killed `forget` leaves the old state or the new one: under the run lock, a
new store file is built beside the store (a fresh DuckDB file holds no freed blocks of the
erased rows) and every published file that held an address is rewritten beside itself; a
journal naming each (new, old) pair is then written, and is the commit: the pairs are renamed
over the old files, and the journal removed. A `forget` or a run that finds a journal finishes
those renames first; one that finds new files without a journal removes them (finish_pending).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from listhygiene import store
from listhygiene.addresses import normalize_addresses
from listhygiene.checkpoints import checkpoint
from listhygiene.config import Config
from listhygiene.errors import ConfigError
from listhygiene.logs import stage
from listhygiene.masking import mask_email
from listhygiene.outputs.publish import sync_dir
from listhygiene.privacy.keys import install_hmac, keyring_for_forget
from listhygiene.privacy.proof import ErasureIncomplete, holds, input_files_holding, prove_erased
from listhygiene.privacy.spellings import REDACTED, bytes_pattern, spellings_of, sql_pattern
from listhygiene.privacy.tombstones import ERASED_COLUMNS, PSEUDONYM_PREFIX
from listhygiene.sql import sql_literal
from listhygiene.store.lock import run_lock

log = logging.getLogger("listhygiene")

NEW_SUFFIX = ".forget-new"
# the tables whose rows carry an address in `email`, replaced by the tombstone's pseudonym
ADDRESS_TABLES = ("contact_rows", "unsubscribe_events", "bounce_events", "quarantine", "suppression_rows")
# the published outputs whose columns after these are the export's attributes of the person
SENDABLE_KEYS = ("list_id", "email", "contact_id")
TEXT_SUFFIXES = {".html", ".json", ".csv", ".txt", ".md"}
# Columns whose values come from a closed vocabulary or are made by listhygiene (list ids,
# statuses, event kinds, reasons, hashes): no address can be in them, and they are not searched.
# Every other text column is, in tables and outputs to come as well.
CLOSED_COLUMNS = {
    "contact_rows": {"list_id", "status", "status_raw"},
    "unsubscribe_events": {"event", "list_id", "origin", "evidence"},
    "bounce_events": {
        "event",
        "bounce_type",
        "enhanced_code",
        "bounce_class",
        "bounce_reason",
        "bounce_rule",
    },
    "quarantine": {"column_name", "list_id"},
    "input_files": {"source", "kind", "sha256", "format"},
    "runs": {"run_id", "status"},
    "store_meta": {"key"},
    "tombstones": {"email_hmac", "key_id"},
    "suppression_rows": {"list_id"},
    # published outputs
    "*.parquet": {
        "list_id",
        "reason",
        "scope",
        "source",
        "kind",
        "effect",
        "evidence",
        "origin",
        "previous_run_id",
    },
}
INLINE_TARGETS = 200  # up to this many addresses, matched by a literal list (no join, no re-sort)


@dataclass
class ForgetResult:
    forgotten: list[str] = field(default_factory=list)  # masked: erased now
    already: list[str] = field(default_factory=list)  # masked: forgotten before, nothing to do
    store_rows: int = 0  # rows of the store now under a tombstone
    run_files: list[Path] = field(default_factory=list)  # published files rewritten
    input_files: list[Path] = field(default_factory=list)  # input files on disk that still hold one
    files_scanned: int = 0  # what the proof read, byte by byte
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)  # seconds per step


def journal_path(database: Path) -> Path:
    return database.with_name(database.name + ".forget-journal")


def forget(
    config: Config, addresses: list[str], note: str | None = None, now: datetime | None = None
) -> ForgetResult:
    """Erase `addresses` (any spelling) everywhere listhygiene keeps them; see the module's docstring."""
    if config.engine.name != "duckdb":
        raise ConfigError(
            "forget works on the DuckDB store ([store] database); the Spark warehouse has no "
            "erasure yet (docs/privacy.md)."
        )
    started = time.monotonic()
    # to the second, as a run's default as-of is: a run right after a forget sees it
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    normalized = normalize_addresses(pl.Series("email", addresses, dtype=pl.String))
    targets = sorted(set(normalized["email"].to_list()) - {""})
    if not targets:
        raise ConfigError("forget: no address given (EMAIL arguments or --from FILE).")
    keyring = keyring_for_forget(config.key_file)
    result = ForgetResult()
    database = config.database
    with run_lock(database), ThreadPoolExecutor(max_workers=1) as inputs_pool:
        finish_pending(database, config.output)
        con = store.connect(database)
        try:
            install_hmac(con, keyring)
            con.execute("create temp table forget_requested (email varchar)")
            con.executemany("insert into forget_requested values (?)", [[t] for t in targets])
            con.execute(
                """create temp table forget_targets as
                   select r.email, keyed_hash(r.email, k) as email_hmac, k.key_id
                   from forget_requested r, privacy_keys k where k.key_id = ?""",
                [keyring.current.key_id],
            )
            # an address whose tombstone stands (under any key of the ring) is forgotten already
            con.execute(
                """create temp table forget_already as
                   select distinct r.email from forget_requested r
                   cross join privacy_keys k
                   join tombstones t on t.key_id = k.key_id and t.email_hmac = keyed_hash(r.email, k)
                   where t.lifted_at is null"""
            )
            already = {e for (e,) in con.execute("select email from forget_already").fetchall()}
            con.execute("delete from forget_targets where email in (select email from forget_already)")
            result.already = [mask_email(a) for a in sorted(already)]
            todo = [t for t in targets if t not in already]
            if not todo:
                con.close()
                result.seconds = round(time.monotonic() - started, 2)
                return result
            with stage("forget: the address's rows found", result.stages):
                raw, result.store_rows = _target_rows(con)
            spellings = spellings_of(todo + [a for a in addresses if "@" in a], raw)
            pattern = sql_pattern(spellings)
            # the user's input files are only read: searched beside the rewrite (DuckDB lets the GIL go)
            searching = inputs_pool.submit(input_files_holding, config, spellings)
            fresh = database.with_name(database.name + NEW_SUFFIX)
            pairs: list[tuple[Path, Path]] = []
            with stage("forget: the store rebuilt", result.stages):
                _rebuild_store(con, fresh, pattern, now, note)
            pairs.append((fresh, database))
            con.execute("set preserve_insertion_order = true")
            with stage("forget: published runs rewritten", result.stages):
                for old, new in _rewrite_runs(con, config.output, pattern, spellings):
                    pairs.append((new, old))
                    result.run_files.append(old)
        finally:
            con.close()
        with stage("forget: committed", result.stages):
            _commit(database, pairs)
        result.forgotten = [mask_email(t) for t in todo]
        with stage("forget: the proof", result.stages):
            searched = _searched_unchanged(config.output, result.run_files)
            result.files_scanned = prove_erased(database, config.output, spellings, searched)
        with stage("forget: input files searched (the wait for it)", result.stages):
            result.input_files = searching.result()
    result.seconds = round(time.monotonic() - started, 2)
    return result


def _target_rows(con: duckdb.DuckDBPyConnection) -> tuple[list[str], int]:
    """How the inputs spelled the addresses being forgotten (their email_raw values), and how
    many rows of the store hold them, in one pass over the address tables."""
    is_target, _, join, params = _targets(con)
    rows = con.execute(
        "select email_raw, count(*) from ("
        + " union all ".join(
            f"select {'null::varchar' if table == 'quarantine' else 't.email_raw'} as email_raw "
            f"from {table} t{join} where {is_target}"
            for table in ADDRESS_TABLES
        )
        + ") group by email_raw",
        {k: v for k, v in params.items() if k.startswith("target_")} or None,
    ).fetchall()
    return [r for r, _ in rows if r is not None], sum(n for _, n in rows)


def _scrub(column: str, data_type: str) -> str:
    """t."column" with every spelling replaced by [forgotten] (JSON as text, then JSON again).
    An address holds an '@': a value without one is passed over before the pattern is tried."""
    ref = f't."{column}"'
    text = f"{ref}::varchar" if data_type == "JSON" else ref
    replaced = (
        f"regexp_replace(regexp_replace({text}, $pattern, $replacement, 'g'), $pattern, $replacement, 'g')"
    )
    if data_type == "JSON":
        replaced = f"{replaced}::json"
    return (
        f"case when contains({text}, '@') and regexp_matches({text}, $pattern) then {replaced} else {ref} end"
    )


def _targets(con: duckdb.DuckDBPyConnection) -> tuple[str, str, str, dict]:
    """How a statement over rows `t` with an `email` column recognizes the addresses being
    forgotten: (is_target, pseudonym, join, parameters). A few are written into the statement,
    so a scan keeps its order; many are joined (the caller then restores the order)."""
    rows = con.execute("select email, email_hmac from forget_targets order by email").fetchall()
    if len(rows) > INLINE_TARGETS:
        join = " left join forget_targets x on x.email = t.email"
        return "x.email is not null", f"coalesce('{PSEUDONYM_PREFIX}' || x.email_hmac, t.email)", join, {}
    params = {f"target_{i}": email for i, (email, _) in enumerate(rows)}
    params |= {f"pseudonym_{i}": PSEUDONYM_PREFIX + hashed for i, (_, hashed) in enumerate(rows)}
    listed = ", ".join(f"$target_{i}" for i in range(len(rows)))
    cases = " ".join(f"when $target_{i} then $pseudonym_{i}" for i in range(len(rows)))
    return f"t.email in ({listed})", f"case t.email {cases} else t.email end", "", params


def _rebuild_store(
    con: duckdb.DuckDBPyConnection, fresh: Path, pattern: str, now: datetime, note: str | None
) -> None:
    """Write the store into a new file with the targets' rows under their tombstones and every
    spelling scrubbed from text."""
    fresh.unlink(missing_ok=True)
    [(alias,)] = con.execute("select current_database()").fetchall()
    con.execute(f"attach {sql_literal(str(fresh))} as forget_fresh")
    params = {"pattern": pattern, "replacement": f"\\1{REDACTED}\\3"}
    is_target, pseudonym, join, target_params = _targets(con)
    try:
        con.execute(f'copy from database "{alias}" to forget_fresh (schema)')
        tables = [
            t
            for (t,) in con.execute(
                "select table_name from duckdb_tables() where database_name = ? and schema_name = 'main' "
                "order by table_name",
                [alias],
            ).fetchall()
        ]
        for table in tables:
            columns = con.execute(
                # a computed column (email_raw) is computed again in the new file, not copied
                "select column_name, data_type from duckdb_columns() "
                "where database_name = ? and schema_name = 'main' and table_name = ? and not is_generated "
                "order by column_index",
                [alias, table],
            ).fetchall()
            names = [c for c, _ in columns]
            joined = table in ADDRESS_TABLES or table == "reconsented"
            closed = CLOSED_COLUMNS.get(table, set())
            expressions = []
            for column, data_type in columns:
                if table in ADDRESS_TABLES and column == "email":
                    expressions.append(pseudonym)
                elif table in ERASED_COLUMNS and column in ERASED_COLUMNS[table]:
                    expressions.append(f"case when not ({is_target}) then {_scrub(column, data_type)} end")
                elif data_type in ("VARCHAR", "JSON") and column not in closed:
                    expressions.append(_scrub(column, data_type))
                else:
                    expressions.append(f't."{column}"')
            source = f'"{alias}".main."{table}" t'
            if joined:
                source += join
            where = ""
            if table == "reconsented":
                where = f"where not ({is_target})"  # forgotten again: the clear address goes
            if table == "tombstones":
                # a lifted tombstone of an address forgotten again is replaced below
                where = "where t.email_hmac not in (select email_hmac from forget_targets)"
            column_list = ", ".join(f'"{c}"' for c in names)
            statement = f"select {', '.join(expressions)} from {source} {where}"
            used = {k: v for k, v in (params | target_params).items() if f"${k}" in statement}
            con.execute(f'insert into forget_fresh.main."{table}" ({column_list}) {statement}', used or None)
        con.execute(
            "insert into forget_fresh.main.tombstones (email_hmac, key_id, forgotten_at, note) "
            "select email_hmac, key_id, ?, ? from forget_targets",
            [now, note],
        )
        con.execute("checkpoint forget_fresh")
    finally:
        con.execute("detach forget_fresh")


def _searched_unchanged(output: Path, rewritten: list[Path]) -> set[Path]:
    """The published Parquet files _rewrite_runs searched and found clean (not rewritten)."""
    runs = output / "runs"
    if not runs.is_dir():
        return set()
    return {p for p in runs.rglob("*.parquet") if p not in set(rewritten)}


def _rewrite_runs(
    con: duckdb.DuckDBPyConnection, output: Path, pattern: str, spellings: list[str]
) -> Iterator[tuple[Path, Path]]:
    """Each published file that holds a spelling, rewritten beside itself: (old, new)."""
    runs = output / "runs"
    if not runs.is_dir():
        return
    params = {"pattern": pattern, "replacement": f"\\1{REDACTED}\\3"}
    found = bytes_pattern(spellings)
    for folder in sorted(p for p in runs.iterdir() if p.is_dir()):
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.endswith(NEW_SUFFIX)):
            new = path.with_name(path.name + NEW_SUFFIX)
            if path.suffix == ".parquet":
                if _rewrite_parquet(con, path, new, params):
                    yield path, new
            elif path.suffix in TEXT_SUFFIXES:
                text = path.read_bytes()
                scrubbed = found.sub(REDACTED.encode(), text)
                if scrubbed != text:
                    new.write_bytes(scrubbed)
                    yield path, new
            elif holds(path, found):
                raise ErasureIncomplete(
                    f"{path} holds a forgotten address and listhygiene cannot rewrite it."
                )


def _rewrite_parquet(con: duckdb.DuckDBPyConnection, path: Path, new: Path, params: dict) -> bool:
    """Write `path` with the targets' rows under their pseudonyms and text scrubbed, rows in the
    same order; False (and nothing written) when it holds no spelling."""
    source = f"read_parquet({sql_literal(str(path))}, file_row_number = true, hive_partitioning = false)"
    columns = con.execute(
        f"select column_name, column_type from (describe select * from {source})"
    ).fetchall()
    columns = [(c, t) for c, t in columns if c != "file_row_number"]
    closed = CLOSED_COLUMNS["*.parquet"]
    texts = [c for c, t in columns if t == "VARCHAR" and c not in closed and c != "email"]
    has_email = any(c == "email" for c, _ in columns)
    is_target, pseudonym, join, target_params = _targets(con)
    if not has_email:
        is_target, pseudonym, join, target_params = "false", "t.email", "", {}
    # a file listing a target is rewritten whatever its text says (the rewrite scrubs it):
    # the one-column test comes first, the pattern over every text column only when it finds none
    tests = [is_target] if has_email else []
    tests.append(
        " or ".join(f'contains(t."{c}", \'@\') and regexp_matches(t."{c}", $pattern)' for c in texts)
    )
    if not any(tests):
        return False
    for where in filter(None, tests):
        test = f"select exists (select 1 from {source} t{join} where {where})"
        used = {k: v for k, v in (params | target_params).items() if f"${k}" in test}
        [(hit,)] = con.execute(test, used or None).fetchall()
        if hit:
            break
    else:
        return False
    is_sendable = path.name == "sendable.parquet"
    expressions = []
    for column, data_type in columns:
        if column == "email" and has_email:
            expressions.append(f"{pseudonym} as email")
        elif is_sendable and column not in SENDABLE_KEYS:
            # the export's attributes of an erased person go with the address
            expressions.append(f'case when not ({is_target}) then t."{column}" end as "{column}"')
        elif column in texts:
            expressions.append(f'{_scrub(column, data_type)} as "{column}"')
        else:
            expressions.append(f't."{column}"')
    # a join does not keep the file's order: it is restored (a literal list keeps it)
    order = " order by t.file_row_number" if join else ""
    statement = f"select {', '.join(expressions)} from {source} t{join}{order}"
    used = {k: v for k, v in (params | target_params).items() if f"${k}" in statement}
    new.unlink(missing_ok=True)
    con.execute(
        f"copy ({statement}) to {sql_literal(str(new))} (format parquet, compression zstd)", used or None
    )
    return True


def _commit(database: Path, pairs: list[tuple[Path, Path]]) -> None:
    """Write the journal (the commit), then rename each new file over its old one."""
    journal = journal_path(database)
    staged = journal.with_name(journal.name + ".tmp")
    for new, _ in pairs:
        _fsync(new)
    checkpoint("forget-prepared")
    staged.write_text(json.dumps({"pairs": [[str(n), str(o)] for n, o in pairs]}))
    _fsync(staged)
    os.replace(staged, journal)
    sync_dir(journal.parent)
    checkpoint("forget-committed")
    _apply(journal)


def _apply(journal: Path) -> None:
    pairs = json.loads(journal.read_text())["pairs"]
    for new, old in pairs:
        if Path(new).exists():
            os.replace(new, old)
            sync_dir(Path(old).parent)
            checkpoint("forget-renaming")
    journal.unlink()
    sync_dir(journal.parent)


def finish_pending(database: Path, output: Path) -> list[str]:
    """Finish a `forget` killed after its commit, or remove what one killed before it left."""
    journal = journal_path(database)
    if journal.exists():
        _apply(journal)
        log.warning("finished an interrupted forget: its new files are in place")
        return ["finished"]
    leftovers = [database.with_name(database.name + NEW_SUFFIX), journal.with_name(journal.name + ".tmp")]
    runs = output / "runs"
    if runs.is_dir():
        leftovers += list(runs.rglob(f"*{NEW_SUFFIX}"))
    removed = []
    for path in leftovers:
        if path.exists():
            path.unlink()
            removed.append(str(path))
    if removed:
        log.warning("removed what an interrupted forget left (it changed nothing): %d files", len(removed))
    return removed


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())
