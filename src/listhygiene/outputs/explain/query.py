"""The answer to `explain`: one address's records, lists, reasons, lifts and timeline, read from a copy of the store."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import duckdb

from listhygiene.addresses import normalize_address
from listhygiene.config import Config
from listhygiene.errors import ConfigError, LockHeld
from listhygiene.masking import mask_email
from listhygiene.outputs.explain.lifting import lifting_condition
from listhygiene.outputs.explain.rows import STORE_ALIAS, copy_address
from listhygiene.privacy.recognition import standing_tombstone
from listhygiene.rules.reasons import BY_NAME
from listhygiene.sql import memory_connection
from listhygiene.store.database import require_current_schema
from listhygiene.store.runs import run_input_keys

log = logging.getLogger("listhygiene")

ISO_SECONDS = "'%Y-%m-%dT%H:%M:%SZ'"
# The models the explanation reads; only these and what they read are built (not the reports').
MODELS_READ = frozenset(
    {
        "active_reasons",
        "blocked_resubscribes",
        "candidates",
        "consent_ledger",
        "contact_records",
        "contact_status",
        "events",
        "external_suppressions",
        "memberships",
        "primary_records",
        "unlifted_causes",
    }
)


def _iso(column: str) -> str:
    """SQL: a timestamptz column as ISO 8601 UTC text to the second (no pytz round trip)."""
    return f"strftime({column}::timestamp, {ISO_SECONDS})"


def explain(
    config: Config,
    query: str,
    *,
    list_id: str | None = None,
    run_id: str | None = None,
    open_store: Callable[[], duckdb.DuckDBPyConnection] | None = None,
) -> dict:
    """The explanation of one address as of a published run (default: the newest), JSON-ready.

    The rules are re-applied to the address alone, on the input files the run used and as of its
    as-of, so the answer is the run's even after later runs loaded more data; it is checked
    against the run's published contact_status. `open_store` gives an in-memory connection with
    the store attached read-only as STORE_ALIAS (default: the DuckDB store file; the Spark
    engine attaches its warehouse).
    """
    from listhygiene.rules.evaluation import (
        evaluate,  # the rules; loading them pulls in the readers and schemas
    )

    email, valid = _normalized(query)
    con = open_store() if open_store else _open_store_copy(config.database)
    try:
        run = _run(con, run_id)
        forgotten = standing_tombstone(con, config, email, STORE_ALIAS)
        if forgotten is not None:
            email = forgotten["pseudonym"]
        copy_address(con, email, run["inputs"])
        evaluate(con, config, datetime.fromisoformat(run["as_of_exact"]), only=MODELS_READ)
        log.info("explaining %s as of run %s", mask_email(email), run["run_id"])
        lists = _lists(con, config, email, list_id)
        result = {
            "query": query,
            "email": email,
            "valid": valid,
            "known": _known(con, email),
            "run": {k: run[k] for k in ("run_id", "as_of", "path")},
            "records": _records(con, email),
            "lists": lists,
            "blocked_resubscribes": _blocked(con, email, list_id),
            "consent_ledger": _consent(con, email, list_id),
            "quarantined": _quarantined(con, email),
            "timeline": _timeline(con, email, list_id),
            "warnings": [],
        }
        if forgotten is not None:
            result["forgotten"] = forgotten
        disagreements = _disagreements(con, run, email, lists)
    finally:
        con.close()
    result["warnings"] = disagreements + _config_warning(config, run) + _causes_not_found(lists)
    return result


def _normalized(query: str) -> tuple[str, bool]:
    if not query or not query.strip():
        raise ConfigError(
            "no address given: pass the address to explain, e.g. "
            "listhygiene explain 'Tom Baker <tom.baker@acme.example>' --config FILE"
        )
    return normalize_address(query)


def _open_store_copy(database: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with the store attached read-only (never changes the store)."""
    if not database.exists():
        raise ConfigError(f"store {database} does not exist yet: run `listhygiene run --config ...` first.")
    con = memory_connection()
    try:
        con.execute(f"attach ? as {STORE_ALIAS} (read_only)", [str(database)])
    except duckdb.IOException as exc:
        con.close()
        if "lock" in str(exc).lower():
            raise LockHeld(
                f"store {database} is in use by a run that is going on; explain reads the store "
                "and must wait: try again when the run has finished."
            ) from None
        raise ConfigError(f"store {database} cannot be opened: {exc}") from None
    try:
        require_current_schema(con, database, STORE_ALIAS)
    except ConfigError:
        con.close()
        raise
    return con


def _run(con: duckdb.DuckDBPyConnection, run_id: str | None) -> dict:
    """The run to explain: its id, as-of, folder and the input files (source, sha256, path) it used."""
    # a run is explained once published (its outputs may have been pruned since): a committed run
    # whose folder is not yet under runs/ is not what `latest` or any reader sees
    where, params = ("and run_id = ?", [run_id]) if run_id else ("", [])
    rows = con.execute(
        f"""select run_id, {_iso("as_of")}, strftime(as_of::timestamp, '%Y-%m-%dT%H:%M:%S.%f'),
                   path, manifest
            from {STORE_ALIAS}.runs where status in ('published', 'pruned') {where}
            order by run_id desc limit 1""",
        params,
    ).fetchall()
    if not rows:
        if run_id:
            raise ConfigError(
                f"no published run {run_id!r} in the store; `listhygiene runs --config FILE` lists them."
            )
        raise ConfigError("no run has been published yet: run `listhygiene run --config FILE` first.")
    run_id, as_of_text, as_of_exact, path, manifest = rows[0]
    manifest = json.loads(manifest)
    return {
        "run_id": run_id,
        "as_of": as_of_text,
        "as_of_exact": as_of_exact + "+00:00",
        "path": path,
        "config_sha256": manifest.get("config", {}).get("sha256"),
        "inputs": run_input_keys(con, run_id, manifest, STORE_ALIAS),
    }


def _known(con: duckdb.DuckDBPyConnection, email: str) -> bool:
    [(n,)] = con.execute(
        "select (select count(*) from contact_records where email = $e) + "
        "(select count(*) from events where email = $e) + "
        "(select count(*) from external_suppressions where email = $e)",
        {"e": email},
    ).fetchall()
    return n > 0


def _records(con: duckdb.DuckDBPyConnection, email: str) -> list[dict]:
    """Every contact record (source, contact_id) holding the address on each list, as last exported."""
    return con.sql(
        f"""
        with rows_of_address as (
            select *, row_number() over (partition by source, contact_id, list_id
                                         order by snapshot_at desc, row_number) as newest,
                   min(snapshot_at) over (partition by source, contact_id, list_id) as first_seen_at
            from contact_records where email = $email
        ),
        memberships_of_address as (
            select count(*) as n from memberships where email = $email
        )
        select r.source, r.contact_id, r.list_id, r.email_raw, r.status, r.status_raw,
               {_iso("r.confirmed_at")} as confirmed_at, r.do_not_contact,
               r.is_latest as in_latest_export, r.is_held as held,
               {_iso("r.first_seen_at")} as first_seen_at, {_iso("r.snapshot_at")} as last_seen_at,
               r.lineage,
               p.contact_id is not null
                   and (r.list_id is not null or (select n from memberships_of_address) = 0) as speaks_for_list
        from rows_of_address r
        left join primary_records p
          on p.email = r.email and p.list_id is not distinct from r.list_id
         and p.source = r.source and p.contact_id = r.contact_id
        where r.newest = 1
        order by r.list_id nulls first, r.source, r.contact_id
        """,
        params={"email": email},
    ).to_dicts()


def _quarantined(con: duckdb.DuckDBPyConnection, email: str) -> list[dict]:
    """The run's input rows set aside that were the address's, or its records' (a contacts row
    whose address did not read holds its record's contact id): never loaded, never absent."""
    return con.sql(
        """
        with records as (
            select distinct source, contact_id from contact_records where email = $email
        )
        select f.source, regexp_extract(f.path, '[^/\\\\]+$') as file, q.row_number as row,
               f.source || ':' || regexp_extract(f.path, '[^/\\\\]+$') || ' row ' || q.row_number as lineage,
               q.column_name as "column", q.error, q.contact_id, q.list_id
        from quarantine q
        join input_files f using (file_id)
        where q.email = $email
           or (q.contact_id is not null
               and exists (select 1 from records r where r.source = f.source and r.contact_id = q.contact_id))
        order by f.source, file, q.row_number
        """,
        params={"email": email},
    ).to_dicts()


def _lists(con: duckdb.DuckDBPyConnection, config: Config, email: str, list_id: str | None) -> list[dict]:
    """Per list of the address: sendable or not, and its active reasons in precedence order."""
    rows = con.sql(
        """
        select k.list_id, bool_or(k.on_list) as on_list, any_value(s.sendable) as sendable,
               any_value(s.transactional_ok) as transactional_ok, any_value(s.contact_id) as contact_id
        from candidates k
        left join contact_status s on s.email = k.email and s.list_id is not distinct from k.list_id
        where k.email = $email
        group by k.list_id
        order by k.list_id nulls first
        """,
        params={"email": email},
    ).to_dicts()
    known = {r["list_id"]: r for r in rows}
    if list_id is not None:
        wanted: list[str | None] = [list_id]
    else:
        # the lists of the address; an address on no list (or seen only in the logs) as a whole
        wanted = [known_list for known_list in known if known_list is not None] or [None]
    reasons = _reasons(con, email)
    causes = _active_causes(con, email)
    return [
        _list_entry(config, wanted_list, known.get(wanted_list), known.get(None), reasons, causes)
        for wanted_list in wanted
    ]


def _list_entry(
    config: Config,
    list_id: str | None,
    row: dict | None,
    address_row: dict | None,
    reasons: list[dict],
    causes: list[dict],
) -> dict:
    """One list's answer. A list the address was never on has the reasons of the address as a whole."""
    key = list_id if row is not None else None
    row = row or address_row or {}
    own = [r for r in reasons if r["list_id"] == key]
    explained = [
        _reason_entry(
            config, r, list_id, [c for c in causes if c["list_id"] == key and c["reason"] == r["reason"]]
        )
        for r in own
    ]
    transactional_ok = row.get("transactional_ok")
    if transactional_ok is None:
        transactional_ok = not any(BY_NAME[r["reason"]].blocks_transactional for r in own)
    member = bool(row.get("on_list")) and key == list_id
    return {
        "list_id": list_id,
        "member": member,
        "contact_id": row.get("contact_id"),
        "sendable": bool(row.get("sendable")) and member,
        "transactional_ok": transactional_ok,
        "reasons": explained,
    }


def _reasons(con: duckdb.DuckDBPyConnection, email: str) -> list[dict]:
    return con.sql(
        f"""select a.list_id, a.reason, {_iso("a.reason_at")} as since, a.detail, a.origin,
                   a.source, a.is_global, p.precedence
            from active_reasons a join reason_precedence p using (reason)
            where a.email = $email
            order by a.list_id, p.precedence, a.reason_at, a.origin""",
        params={"email": email},
    ).to_dicts()


def _active_causes(con: duckdb.DuckDBPyConnection, email: str) -> list[dict]:
    """The causes of each event reason that no lift has undone, per list of the address.

    Read from the unlifted_causes model, the rule active_reasons uses; a lift must come after
    every one of them, so the latest decides the time in the lifting condition.
    """
    return con.sql(
        f"""
        select list_id, reason, {_iso("occurred_at")} as at, origin, detail
        from unlifted_causes
        where email = $email
        order by occurred_at, detail
        """,
        params={"email": email},
    ).to_dicts()


def _reason_entry(config: Config, reason: dict, list_id: str | None, causes: list[dict]) -> dict:
    name = reason["reason"]
    from_events = reason["origin"] != "export" and bool(causes)
    lift_after = max(c["at"] for c in causes) if from_events else reason["since"]
    integration_only = from_events and all(c["origin"] == "integration" for c in causes)
    return {
        "reason": name,
        "scope": "address" if reason["is_global"] else "list",
        "since": reason["since"],
        "origin": reason["origin"],
        "source": reason["source"],
        "detail": reason["detail"],
        "causes": [{k: c[k] for k in ("at", "origin", "detail")} for c in causes] if from_events else [],
        "lift_after": lift_after,
        "lifted_by": lifting_condition(
            config, name, list_id, lift_after, reason, integration_only=integration_only
        ),
    }


def _blocked(con: duckdb.DuckDBPyConnection, email: str, list_id: str | None) -> list[dict]:
    return con.sql(
        f"""select list_id, {_iso("attempted_at")} as attempted_at, source, evidence, why
            from blocked_resubscribes
            where email = $email and ($list::varchar is null or list_id is null or list_id = $list)
            order by attempted_at, source""",
        params={"email": email, "list": list_id},
    ).to_dicts()


def _consent(con: duckdb.DuckDBPyConnection, email: str, list_id: str | None) -> list[dict]:
    """The address's rows of consent_ledger.parquet as of the run: grants and withdrawals, oldest first."""
    return con.sql(
        f"""select list_id, {_iso("occurred_at")} as at, kind, effect, evidence, evidence_ref, origin,
                   lineage(source, file, row_number) as lineage
            from consent_ledger
            where email = $email and ($list::varchar is null or list_id is null or list_id = $list)
            order by occurred_at, list_id nulls first, kind""",
        params={"email": email, "list": list_id},
    ).to_dicts()


def _timeline(con: duckdb.DuckDBPyConnection, email: str, list_id: str | None) -> list[dict]:
    """Every event and export row of the address as of the run, oldest first, with its lineage."""
    events = con.sql(
        f"""
        with platform_fields as (
            -- what a platform format kept of its own record: message id, feedback id, raw type
            select f.source, regexp_extract(f.path, '[^/\\\\]+$') as file_name, e.row_number,
                   any_value(e.platform)::varchar as platform
            from (select file_id, row_number, platform from unsubscribe_events where platform is not null
                  union all
                  select file_id, row_number, platform from bounce_events where platform is not null) e
            join input_files f using (file_id)
            group by all
        ),
        log_events as (
            select occurred_at, kind, list_id, origin, source, file_name, row_number,
                   campaign_id, bounce_class, bounce_reason, bounce_rule, smtp_code, enhanced_code,
                   diagnostic, evidence, evidence_ref, note, null::varchar as contact_id,
                   event_detail(e) as detail, p.platform
            from events e
            left join platform_fields p using (source, file_name, row_number)
            where email = $email
        ),
        export_rows as (
            select snapshot_at as occurred_at, 'export' as kind, list_id, 'export' as origin,
                   source, file_name, row_number, null as campaign_id, null as bounce_class,
                   null as bounce_reason, null as bounce_rule, null::integer as smtp_code,
                   null as enhanced_code, null as diagnostic, null as evidence, null as evidence_ref,
                   null as note, contact_id,
                   concat_ws(', ',
                       contact_id || ' ' || coalesce('on ' || list_id, 'on no list') || ': '
                           || coalesce(status_raw, status),
                       'confirmed ' || utc_minute(confirmed_at),
                       case when do_not_contact then 'do_not_contact flag set' end,
                       'exported as ''' || email_raw || ''''
                   ) || ' (' || lineage || ')' as detail
            from contact_records
            where email = $email
        ),
        list_rows as (
            -- the snapshots of do-not-mail lists holding the address now (the row cited)
            select since as occurred_at, 'suppression_list' as kind, list_id, origin, source,
                   file_name, row_number,
                   null as campaign_id, null as bounce_class, null as bounce_reason,
                   null as bounce_rule, null::integer as smtp_code, null as enhanced_code,
                   null as diagnostic, null as evidence, null as evidence_ref, list_reason as note,
                   null as contact_id, detail
            from external_suppressions
            where email = $email
        )
        select {_iso("occurred_at")} as at, kind,
               case when list_id is not null then list_id
                    when kind = 'export' then 'no list' else 'global' end as scope,
               origin, source, file_name as file, row_number as row,
               source || ':' || file_name || ' row ' || row_number as lineage,
               campaign_id, contact_id, bounce_class, bounce_reason, bounce_rule, smtp_code,
               enhanced_code, diagnostic, evidence, evidence_ref, note, detail,
               json(platform) as platform
        from (select * from log_events union all by name select * from export_rows
              union all by name select * from list_rows)
        where $list::varchar is null or list_id is null or list_id = $list
        order by occurred_at, kind = 'export' desc, source, file_name, row_number
        """,
        params={"email": email, "list": list_id},
    ).to_dicts()
    for event in events:  # a handful of rows: the platform's fields as an object, for --json
        event["platform"] = json.loads(event["platform"]) if event["platform"] else None
    return events


def _disagreements(con: duckdb.DuckDBPyConnection, run: dict, email: str, lists: list[dict]) -> list[str]:
    """Where the run's published contact_status says otherwise (the pipeline file or rules changed)."""
    published = Path(run["path"]) / "contact_status.parquet"
    if not published.exists():
        return [
            f"the outputs of run {run['run_id']} are no longer on disk; this explanation is "
            "re-derived from the store alone"
        ]
    rows = con.sql(  # the file is sorted by list and address: its row groups' statistics skip most
        "select list_id, sendable, reasons from read_parquet($path) where email = $email",
        params={"path": str(published), "email": email},
    ).fetchall()
    said = {list_: (sendable, list(reasons)) for list_, sendable, reasons in rows}
    warnings = []
    for entry in lists:
        if entry["list_id"] not in said:
            continue
        mine = (entry["sendable"], [r["reason"] for r in entry["reasons"]])
        if mine != said[entry["list_id"]]:
            warnings.append(
                f"run {run['run_id']} published {_said(said[entry['list_id']])} for "
                f"{entry['list_id'] or 'the address'}, but the rules give {_said(mine)} now: the "
                "pipeline file or listhygiene changed since that run"
            )
    return warnings


def _said(status: tuple[bool, list[str]]) -> str:
    sendable, reasons = status
    return "sendable" if sendable else "not sendable (" + (", ".join(reasons) or "not a member") + ")"


def _causes_not_found(lists: list[dict]) -> list[str]:
    """An event reason whose events in force were not found: its lifting time is only its start."""
    return [
        f"the events still in force behind {r['reason']} on {entry['list_id'] or 'the address'} "
        f"were not found; 'lifted by' uses the time it started"
        for entry in lists
        for r in entry["reasons"]
        if r["origin"] != "export" and not r["causes"]
    ]


def _config_warning(config: Config, run: dict) -> list[str]:
    if run["config_sha256"] and run["config_sha256"] != config.digest:
        return [
            f"the pipeline file changed since run {run['run_id']}; its lists and policy are "
            "applied as they are now"
        ]
    return []
