"""Evaluating the rules as of a time: the run's settings as small tables, then every model in order."""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path

from listhygiene.config import Config
from listhygiene.outputs import publish
from listhygiene.rules import incremental, runner
from listhygiene.rules.reasons import COMPLAINT_EVIDENCE, REASONS, RESUBSCRIBE_EVIDENCE
from listhygiene.sql import sql_literal
from listhygiene.thresholds import ReportSettings

log = logging.getLogger("listhygiene")


@dataclass(frozen=True)
class Evaluation:
    """How the rules were evaluated: in full, or on the addresses that changed (basis set)."""

    basis: incremental.Basis | None
    why: str
    addresses: int | None  # addresses evaluated on an incremental night


def evaluate(
    con,
    config: Config,
    as_of: datetime,
    previous: tuple[str, Path] | None = None,
    *,
    scratch: Path | None = None,
    basis: incremental.Basis | None = None,
    why: str = "",
    only: frozenset[str] | None = None,
) -> Evaluation:
    """Apply the rules to everything in the store as of `as_of`: builds the models' temp tables.

    With `scratch` (the nightly run) the models are Parquet files there, each deleted once no
    later model reads it; only what the outputs and the drop guard read is kept (runner.build_all).
    With `basis` (an incremental night, see incremental.basis) only the addresses whose inputs
    changed since that run are evaluated; the outputs keep the basis's rows of the others.
    With `only` (explain) just those models are built, with every model they read.
    """
    log.info("evaluating rules as of %s", as_of.isoformat())
    prepare_run_tables(con, config, as_of, previous, basis)
    addresses = None
    if basis is not None:
        addresses, fallback = incremental.prepare(con, basis)
        if addresses is None:
            basis, why = None, fallback
    if basis is not None:
        con.execute(
            "create or replace temp view previous_status as "
            "select * from previous_status_all semi join dirty_addresses using (email)"
        )
        log.info("incremental night on run %s: %d addresses to evaluate", basis.run_id, addresses)
    else:
        log.info("full evaluation: %s", why or "every address")
    runner.build_all(
        con,
        # contact_status always: status_now reads it
        runner.RUN_MODELS if only is None else runner.with_what_they_read(only | {"contact_status"}),
        scratch=scratch,
        keep=publish.READS | runner.models_read(LIST_COUNTS),
        only_dirty=basis is not None,
    )
    _status_for_counts(con, basis)
    return Evaluation(basis, why, addresses)


def prepare_run_tables(
    con, config: Config, as_of: datetime, previous, basis: incremental.Basis | None = None
) -> None:
    """The small tables the models read their settings from (with `basis`: its as-of too)."""
    con.execute(
        "create or replace temp table run_params as select ?::timestamptz as as_of, "
        "?::integer as soft_bounce_limit, ?::integer as soft_bounce_window_days, "
        "?::varchar as previous_run_id, ?::boolean as writeback_include_bounces, "
        "?::timestamptz as previous_as_of",
        [
            as_of,
            config.policy.soft_bounce_limit,
            config.policy.soft_bounce_window_days,
            previous[0] if previous else None,
            config.writeback.include_bounces,
            basis.as_of if basis else None,
        ],
    )
    run_sources(con, config)
    report_thresholds(con, config.report)
    con.execute(
        "create or replace temp table list_settings (list_id varchar, require_confirmed_optin boolean)"
    )
    if config.lists:
        con.executemany(
            "insert into list_settings values (?, ?)",
            [
                [mailing_list.list_id, mailing_list.require_confirmed_optin]
                for mailing_list in config.lists.values()
            ],
        )
    con.execute(
        "create or replace temp table reason_precedence "
        "(reason varchar, precedence integer, scope varchar, blocks_transactional boolean)"
    )
    con.executemany(
        "insert into reason_precedence values (?, ?, ?, ?)",
        [[r.name, i, r.scope, r.blocks_transactional] for i, r in enumerate(REASONS, start=1)],
    )
    con.execute(
        "create or replace temp table accepted_evidence "
        "(evidence varchar, lifts_complaint boolean, position integer)"
    )
    con.executemany(
        "insert into accepted_evidence values (?, ?, ?)",
        [[e, e in COMPLAINT_EVIDENCE, i] for i, e in enumerate(RESUBSCRIBE_EVIDENCE)],
    )
    # The previous run's statuses, read from its Parquet where used (vanished, the drop guard's
    # counts): the four columns those need, never the whole file held in memory (at 5M contacts
    # that copy alone took 1.8 GiB of DuckDB's memory through the rules).
    # On an incremental night the rules (vanished) see the previous statuses of the addresses
    # they evaluate; the counts see them all (previous_status_all).
    if previous:
        path = sql_literal(str(previous[1] / "contact_status.parquet"))
        query = f"select email, list_id, contact_id, sendable from read_parquet({path})"
    else:
        query = (
            "select null::varchar as email, null::varchar as list_id, null::varchar as contact_id, "
            "null::boolean as sendable where false"
        )
    for name in ("previous_status", "previous_status_all"):
        runner.drop_other_kind(con, name, "view")
    con.execute(f"create or replace temp view previous_status_all as {query}")
    con.execute("create or replace temp view previous_status as select * from previous_status_all")


def run_sources(con, config: Config) -> None:
    """run_sources: the sources of the pipeline file, whose files the run reads."""
    con.execute("create or replace temp table run_sources (source varchar, kind varchar)")
    con.executemany("insert into run_sources values (?, ?)", [[s.name, s.file_kind] for s in config.sources])


def report_thresholds(con, settings: ReportSettings) -> None:
    """report_thresholds: the [report] settings rates.sql judges the rates by, one row, a column each."""
    sql_type = {"int": "integer", "float": "double"}
    typed = ", ".join(f'?::{sql_type[str(f.type)]} as "{f.name}"' for f in fields(settings))
    con.execute(
        f"create or replace temp table report_thresholds as select {typed}",
        [getattr(settings, f.name) for f in fields(settings)],
    )


def _status_for_counts(con, basis: incremental.Basis | None) -> None:
    """status_now: every (list, address) of the run with its sendable flag, for the counts and the
    drop guard; on an incremental night, the basis's rows of the addresses not evaluated too."""
    kept = ""
    if basis is not None:
        path = sql_literal(str(basis.path / "contact_status.parquet"))
        kept = (
            f"union all select list_id, sendable from read_parquet({path}, hive_partitioning = false) "
            "where email not in (select email from dirty_addresses)"
        )
    runner.drop_other_kind(con, "status_now", "view")
    con.execute(
        f"create or replace temp view status_now as select list_id, sendable from contact_status {kept}"
    )


# Per list: sendable now and at the previous run, and what vanished, by reason.
LIST_COUNTS = """
        with lists as (
            select list_id from status_now where list_id is not null
            union select list_id from previous_status_all where list_id is not null
        ),
        now_sendable as (
            select list_id, count(*) as n from status_now where sendable group by list_id
        ),
        before as (
            select list_id, count(*) as n from previous_status_all where sendable group by list_id
        ),
        gone as (
            select list_id, sum(k)::bigint as n, map(list(reason), list(k)) as by_reason
            from (select list_id, reason, count(*) as k from vanished group by list_id, reason)
            group by list_id
        )
        select l.list_id, coalesce(s.n, 0), coalesce(b.n, 0), coalesce(g.n, 0), g.by_reason
        from lists l
        left join now_sendable s using (list_id)
        left join before b using (list_id)
        left join gone g using (list_id)
        order by l.list_id
        """
