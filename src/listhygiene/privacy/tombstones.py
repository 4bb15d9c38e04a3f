"""Tonight's rows of forgotten addresses: held aside while loading, then stored under their tombstone."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import duckdb

from listhygiene.config import Config
from listhygiene.errors import ConfigError
from listhygiene.privacy.keys import PSEUDONYM_PREFIX, install_hmac, read_keyring
from listhygiene.vocabulary import RESUBSCRIBE_EVIDENCE

log = logging.getLogger("listhygiene")

__all__ = ["ERASED_COLUMNS", "PSEUDONYM_PREFIX", "HeldRows", "NightGuard", "night_guard"]

# What a row of a forgotten address keeps: its facts (when, which event, which list, the
# bounce's class), never the address, how it was spelled, or what the export said of the person.
ERASED_COLUMNS = {
    "contact_rows": {"email_spelling": "null", "attributes": "null"},
    "unsubscribe_events": {
        "email_spelling": "null",
        "evidence_ref": "null",
        "reason": "null",
        "platform": "null",
    },
    "bounce_events": {"email_spelling": "null", "diagnostic": "null", "platform": "null"},
    "quarantine": {"raw": "null"},
    "suppression_rows": {"email_spelling": "null", "email_sha256": "null", "reason": "null"},
}


@dataclass
class HeldRows:
    """What the guard did tonight, for the manifest and the log."""

    rows: dict[str, int] = field(default_factory=dict)  # rows stored under a tombstone, per table
    files: set[int] = field(default_factory=set)  # file ids that held such rows
    lifted: int = 0  # tombstones lifted by fresh consent

    def as_manifest(self) -> dict:
        return {"rows_under_tombstones": sum(self.rows.values()), "tombstones_lifted": self.lifted}


class NightGuard:
    """Splits each batch being loaded: rows of a live tombstone's address go to a temp table
    (in memory, never the store file) instead of the store; `settle` then stores them, in clear
    if tonight's rows hold fresh consent after the erasure, else under the tombstone."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.held = HeldRows()
        self._tables: set[str] = set()

    def insert(self, table: str, batch_sql: str, batch) -> None:
        """Insert the rows `batch_sql` selects from the Arrow `batch` (the SQL reads it by the
        names new_rows / new_bounces; its rows name their files in file_id, one file or many)
        into `table`, holding back those of forgotten addresses."""
        con = self.con
        new_rows = new_bounces = batch  # noqa: F841  (read by name by the SQL, as in store.loading)
        if not self._match(batch):
            con.execute(f"insert into {table} by name {batch_sql}")
            return
        self._hold(table, f"({batch_sql})", batch)
        self._note_files(batch)
        con.execute(
            f"insert into {table} by name select * from ({batch_sql}) anti join guarded_matches using (email)"
        )

    def _match(self, batch) -> int:
        """Fill guarded_matches with the addresses of the Arrow `batch` that have a live
        tombstone; how many."""
        con = self.con
        batch_rows = batch  # noqa: F841  (read by name)
        con.execute("delete from guarded_matches")
        con.execute(
            """insert into guarded_matches
               select a.email, t.email_hmac
               from (select distinct email from batch_rows where email is not null) a
               cross join privacy_keys k
               join live_tombstones t on t.key_id = k.key_id and t.email_hmac = keyed_hash(a.email, k)"""
        )
        [(matched,)] = con.execute("select count(*) from guarded_matches").fetchall()
        return matched

    def _note_files(self, batch) -> None:
        """The files whose rows were held (of the Arrow `batch` just matched)."""
        batch_rows = batch  # noqa: F841  (read by name)
        found = self.con.execute(
            "select distinct file_id from batch_rows semi join guarded_matches using (email)"
        ).fetchall()
        self.held.files.update(file_id for (file_id,) in found)

    def _hold(self, table: str, rows: str, batch=None) -> None:
        con = self.con
        new_rows = new_bounces = batch  # noqa: F841  (the names `rows` may read)
        if table not in self._tables:
            # the batch's own columns: the table's defaults (is_duplicate) apply when stored
            con.execute(
                f"create or replace temp table held_{table} as "
                f"select r.*, m.email_hmac from {rows} r join guarded_matches m using (email) limit 0"
            )
            self._tables.add(table)
        con.execute(
            f"insert into held_{table} by name select r.*, m.email_hmac "
            f"from {rows} r join guarded_matches m using (email)"
        )

    def hold_quarantine(self, rows) -> None:
        """Insert quarantined rows (Arrow, as store.inserting builds them, each naming its file
        in file_id) into the quarantine table, holding back those of forgotten addresses."""
        con = self.con
        new_quarantine = rows  # noqa: F841  (read by name)
        select = (
            'select file_id, row_number, "column" as column_name, error, raw, contact_id, list_id, email '
            "from new_quarantine"
        )
        if self._match(rows):
            con.execute(f"create or replace temp table guarded_quarantine as {select}")
            self._hold("quarantine", "guarded_quarantine")
            con.execute(
                "insert into quarantine by name select * from guarded_quarantine anti join guarded_matches using (email)"
            )
            self._note_files(rows)
        else:
            con.execute(f"insert into quarantine by name {select}")

    def settle(self) -> HeldRows:
        """Store tonight's held rows: a tombstone with fresh consent after its erasure among them
        (a resubscribe with accepted evidence, an export's confirmed_at) is lifted and its rows
        go in clear; the others go in under their tombstone's pseudonym, without their personal
        columns."""
        con = self.con
        if not self._tables:
            return self.held
        consent = []
        if "unsubscribe_events" in self._tables:
            evidence = ", ".join(f"'{e}'" for e in RESUBSCRIBE_EVIDENCE)
            consent.append(
                "select email_hmac, occurred_at as at, file_id, row_number from held_unsubscribe_events "
                f"where event = 'resubscribe' and evidence in ({evidence})"
            )
        if "contact_rows" in self._tables:
            consent.append(
                "select email_hmac, confirmed_at as at, file_id, row_number from held_contact_rows "
                "where confirmed_at is not null"
            )
        con.execute(
            "create or replace temp table tonight_lifts (email_hmac varchar, lifted_at timestamptz, lifted_by varchar)"
        )
        if consent:
            con.execute(
                f"""insert into tonight_lifts
                    select c.email_hmac, min(c.at),
                           arg_min(f.source || ':' || regexp_extract(f.path, '[^/\\\\]+$') || ' row ' || c.row_number,
                                   c.at)
                    from ({" union all ".join(consent)}) c
                    join live_tombstones t using (email_hmac)
                    join input_files f using (file_id)
                    -- only consent given after the erasure brings an address back
                    where c.at > t.forgotten_at
                    group by c.email_hmac"""
            )
        con.execute(
            """update tombstones set lifted_at = l.lifted_at, lifted_by = l.lifted_by
               from tonight_lifts l where tombstones.email_hmac = l.email_hmac"""
        )
        self.held.lifted = con.execute("select count(*) from tonight_lifts").fetchall()[0][0]
        held_addresses = " union ".join(
            f"select email, email_hmac from held_{table}" for table in sorted(self._tables)
        )
        con.execute(
            f"""insert into reconsented
                select h.email, h.email_hmac, t.forgotten_at
                from ({held_addresses}) h join tonight_lifts l using (email_hmac)
                join live_tombstones t using (email_hmac)"""
        )
        for table in sorted(self._tables):
            present = {
                c for (c,) in con.execute(f"select column_name from (describe held_{table})").fetchall()
            }
            erased = "".join(
                f", {value} as {column}"
                for column, value in ERASED_COLUMNS[table].items()
                if column in present
            )
            con.execute(
                f"insert into {table} by name select * exclude (email_hmac) from held_{table} "
                "semi join tonight_lifts using (email_hmac)"
            )
            con.execute(
                f"insert into {table} by name "
                f"select * exclude (email_hmac) replace ('{PSEUDONYM_PREFIX}' || email_hmac as email{erased}) "
                f"from held_{table} anti join tonight_lifts using (email_hmac)"
            )
            [(count,)] = con.execute(
                f"select count(*) from held_{table} anti join tonight_lifts using (email_hmac)"
            ).fetchall()
            self.held.rows[table] = count
            con.execute(f"drop table held_{table}")
        return self.held


def night_guard(con: duckdb.DuckDBPyConnection, config: Config) -> NightGuard | None:
    """A guard for tonight's loading when the store has tombstones not lifted, else None."""
    [(live,)] = con.execute("select count(*) from tombstones where lifted_at is null").fetchall()
    if not live:
        return None
    keyring = read_keyring(config.key_file)
    if keyring is None:
        raise ConfigError(
            f"the store holds {live} tombstones of forgotten addresses, but the privacy key file "
            f"{config.key_file} is missing: without it their addresses cannot be recognized in "
            "tonight's inputs. Restore the key file ([privacy] key_file, docs/privacy.md)."
        )
    missing = con.execute(
        "select distinct key_id from tombstones where lifted_at is null "
        "and key_id not in (select unnest(?::varchar[]))",
        [[k.key_id for k in keyring.keys]],
    ).fetchall()
    if missing:
        raise ConfigError(
            f"the privacy key file {config.key_file} lacks key {missing[0][0]!r}, which made "
            "tombstones in the store: restore it (a rotated key stays in the file; docs/privacy.md)."
        )
    install_hmac(con, keyring)
    con.execute(
        "create or replace temp table live_tombstones as "
        "select email_hmac, key_id, forgotten_at from tombstones where lifted_at is null"
    )
    con.execute("create or replace temp table guarded_matches (email varchar, email_hmac varchar)")
    return NightGuard(con)
