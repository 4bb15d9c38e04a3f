"""The nightly run: load, evaluate the rules as of a time, guard, publish."""

from __future__ import annotations

import contextlib
import difflib
import logging
import secrets
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from listhygiene import __version__, store
from listhygiene.checkpoints import checkpoint
from listhygiene.config import Config
from listhygiene.errors import ConfigError, DropGuardTripped, environment_problem
from listhygiene.logs import stage
from listhygiene.outputs import publish
from listhygiene.outputs.report import write_report
from listhygiene.privacy import erasure
from listhygiene.rules import bounces, incremental, runner
from listhygiene.rules.evaluation import LIST_COUNTS, Evaluation, evaluate, run_sources
from listhygiene.rules.reasons import PRECEDENCE
from listhygiene.store.loading import LoadReport, load_sources
from listhygiene.store.lock import run_lock
from listhygiene.store.runs import RUN_INPUT_FILES, record_run_inputs, stored_manifest
from listhygiene.vocabulary import AS_OF_AHEAD, EARLIEST_TIME

log = logging.getLogger("listhygiene")


@dataclass
class ListCount:
    list_id: str
    sendable: int
    previous: int | None
    vanished: int
    vanished_by_reason: dict[str, int]


@dataclass
class RunResult:
    run_id: str
    as_of: datetime
    path: Path
    lists: list[ListCount]
    load: LoadReport
    forced: bool
    manifest: dict


def iso_utc(column: str) -> str:
    """SQL turning a timestamptz column into ISO 8601 text in UTC (no pytz round trip)."""
    return f"strftime({column}::timestamp, '%Y-%m-%dT%H:%M:%S.%fZ')"


# Per input file, its loaded events that were already known (counted once by the rules).
FILE_DUPLICATES = """
    select file_id, count(*) as n from (
        select file_id from unsubscribe_events where is_duplicate
        union all
        select file_id from bounce_events where is_duplicate)
    group by file_id
"""


def utc_now() -> datetime:
    return datetime.now(UTC)


def make_run_id(as_of: datetime, started_at: datetime) -> str:
    """Sorts by as-of, then by start; a random tail keeps two starts in one microsecond apart."""
    return f"{as_of:%Y%m%dT%H%M%SZ}-{started_at:%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(2)}"


def run(
    config: Config, *, as_of: datetime | None = None, force: bool = False, full: bool = False
) -> RunResult:
    """Load new inputs and publish a run as of `as_of` (default now); all or nothing.

    Order, so that a crash anywhere leaves the old state or the new one: outputs are written
    to a staging folder; the store's loads and the run's record commit in one transaction;
    only then does the folder move under runs/ and `latest` switch. A later run repairs what
    a crash between those steps left (see publish.repair).
    """
    started_at = utc_now()
    stages: dict[str, float] = {}  # seconds per stage, kept in the manifest
    as_of = (as_of or started_at.replace(microsecond=0)).astimezone(UTC)
    check_as_of(as_of, started_at)
    run_id = make_run_id(as_of, started_at)
    staging = publish.staging_dir(config.output, run_id)
    final = publish.run_dir(config.output, run_id)

    rule_tables = store.rule_tables_dir(config.database)
    with run_lock(config.database):
        publish.check_output(config.output)
        erasure.finish_pending(config.database, config.output)  # a killed `forget` (privacy/erasure.py)
        shutil.rmtree(rule_tables, ignore_errors=True)  # what a killed run left
        rule_tables.mkdir(parents=True)
        con = store.connect(config.database)
        committed = False
        try:
            for repaired in publish.repair(con, config.output):
                log.warning("repair: %s", repaired)
            warn_of_future_runs(con, started_at)
            con.begin()
            # stored bounces are reclassified when the rules in force changed (same transaction)
            reclassified = bounces.reclassify_if_rules_changed(con, config)
            with stage("loading inputs", stages):
                load = load_sources(con, config, started_at)
            previous = previous_run(con, as_of)
            run_sources(con, config)
            basis, why = incremental.basis(con, config, previous, reclassified, full)
            with stage("evaluating rules", stages):
                evaluation = evaluate(con, config, as_of, previous, scratch=rule_tables, basis=basis, why=why)
            checkpoint("evaluated")
            check_list_sections(con, config)
            lists = list_counts(con, previous is not None)
            check_drop_guard(lists, config.policy.max_list_drop_fraction, force)

            with stage("writing outputs", stages):
                output_counts = publish.write_outputs(con, staging, evaluation.basis)
            con.execute(f"create or replace temp view file_duplicates as {FILE_DUPLICATES}")
            manifest = record_run(
                con,
                config,
                staging,
                final,
                RunFacts(
                    run_id, as_of, started_at, stages, lists, output_counts, previous, force, load, evaluation
                ),
            )
            con.commit()
            committed = True
            checkpoint("committed")
            publish_committed(con, run_id, staging, final, config.output / "latest")
            for pruned in publish.prune(con, config.output, config.keep_runs):
                log.info("pruned the outputs of run %s ([store] keep_runs = %s)", pruned, config.keep_runs)
        except BaseException:
            if not committed:
                _rollback(con)
                publish.discard(staging)
            raise
        finally:
            con.close()
            shutil.rmtree(rule_tables, ignore_errors=True)
    announce_published(manifest)
    return RunResult(run_id, as_of, final, lists, load, force, manifest)


@dataclass
class RunFacts:
    """What a night found, for its manifest and its record in the store."""

    run_id: str
    as_of: datetime
    started_at: datetime
    stages: dict[str, float]
    lists: list[ListCount]
    output_counts: dict[str, int]
    previous: tuple[str, Path] | None
    forced: bool
    load: LoadReport
    evaluation: Evaluation


def record_run(
    con, config: Config, staging: Path, final: Path, facts: RunFacts, extra: dict | None = None
) -> dict:
    """The night's last steps before its commit, the same on both engines: manifest.json and
    report.html into the staging folder (no run is ever seen without them), the run recorded as
    committed in `con`'s runs table (the store's, or the Spark catalog's). Returns the manifest."""
    finished_at = utc_now()
    manifest = run_manifest(
        config,
        facts.run_id,
        facts.as_of,
        facts.started_at,
        finished_at,
        con,
        facts.lists,
        facts.output_counts,
        facts.previous,
        facts.forced,
        facts.load,
        facts.evaluation,
    )
    manifest.update(extra or {})
    manifest["stages"] = facts.stages
    publish.write_manifest(staging, manifest)
    write_report(
        staging, config.output, settings=config.report, drop_limit=config.policy.max_list_drop_fraction
    )
    con.execute(
        "insert into runs values (?, ?, ?, ?, 'committed', ?, ?, ?)",
        [
            facts.run_id,
            facts.as_of,
            facts.started_at,
            finished_at,
            facts.forced,
            str(final),
            stored_manifest(manifest),
        ],
    )
    record_run_inputs(con, facts.run_id)
    return manifest


def announce_published(manifest: dict) -> None:
    """The log line a scheduler keys on: the run is published (its id, as-of and list counts)."""
    run_id = manifest["run_id"]
    log.info(
        "published run %s",
        run_id,
        extra={
            "stage": "published",
            "run_id": run_id,
            "as_of": manifest["as_of"],
            "lists": manifest["lists"],
        },
    )


def publish_committed(
    con: duckdb.DuckDBPyConnection, run_id: str, staging: Path, final: Path, latest: Path
) -> None:
    """Move the committed run into place, record it published, then switch `latest` to it.

    Each step can be redone by the next run's repair, so a failure here (a folder made
    read-only, a full disk) leaves a committed run that the next run publishes first, and the
    store never names as published a run that is not under runs/.
    """
    try:
        publish.move_into_place(staging, final)
        con.execute("update runs set status = 'published' where run_id = ?", [run_id])
        # a back-filled as-of is published beside the others but never moves `latest` backwards
        [(newest,)] = con.execute("select max(run_id) from runs where status = 'published'").fetchall()
        if newest == run_id:
            publish.point_latest(latest, final)
    except (OSError, duckdb.Error) as exc:
        raise environment_problem(
            exc,
            f"publishing run {run_id}",
            outcome="The run is recorded in the store as committed, not published: `latest` and the "
            "published runs are as they were, and the next run publishes this one first.",
        ) from None


def check_list_sections(con, config: Config) -> None:
    """Each [lists.X] of the pipeline file should name a list the exports have.

    A section for a list no export has is a warning (a list may be empty tonight). One that
    looks like a misspelling of a list the exports have and the file does not configure is an
    error: `[lists.newsleter]` would silently leave `newsletter` without its double opt-in.
    """
    if not config.lists:
        return
    in_exports = {
        list_id
        for (list_id,) in con.execute(
            "select distinct list_id from status_now where list_id is not null"
        ).fetchall()
    }
    for list_id in sorted(set(config.lists) - in_exports):
        unconfigured = sorted(in_exports - set(config.lists))
        close = difflib.get_close_matches(list_id, unconfigured, n=1, cutoff=0.8)
        if close:
            raise ConfigError(
                f"{config.path.name}: [lists.{list_id}] names a list no contacts export has; did you mean "
                f"[lists.{close[0]}]? Its settings would not apply to list {close[0]!r}, which the exports "
                "have. Fix the section's name (or, if the list is new and empty, give "
                f"{close[0]!r} a section of its own)."
            )
        log.warning("%s: [lists.%s] names a list no contacts export has tonight", config.path.name, list_id)


def check_as_of(as_of: datetime, now: datetime) -> None:
    """Refuse an as-of a run could not honestly be dated at (it would hold `latest` or overflow)."""
    if as_of < EARLIEST_TIME or as_of > now + AS_OF_AHEAD:
        raise ConfigError(
            f"--as-of {as_of:%Y-%m-%dT%H:%M:%SZ} is outside the times a run may be dated at: from "
            f"{EARLIEST_TIME:%Y-%m-%d} up to a day past now ({now:%Y-%m-%dT%H:%M:%SZ}). A run dated in "
            "the future would stay `latest` until that time. Give a time up to now, or leave --as-of out."
        )


def warn_of_future_runs(con: duckdb.DuckDBPyConnection, now: datetime) -> None:
    """A run published (by an older version) with an as-of far ahead keeps `latest`: say so loudly."""
    for run_id, as_of in con.execute(
        "select run_id, as_of from runs where status = 'published' and as_of > ? order by run_id",
        [now + AS_OF_AHEAD],
    ).fetchall():
        log.warning(
            "run %s is dated %s, in the future: `latest` stays on it and newer runs publish beside it "
            "unseen until then. Remove its folder under runs/ and its row in the store's runs table.",
            run_id,
            as_of,
        )


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):  # no transaction open: nothing to undo
        con.rollback()


def previous_run(con, as_of: datetime) -> tuple[str, Path] | None:
    """The latest published run with an earlier as-of whose outputs are still there."""
    row = con.execute(
        "select run_id, path from runs where status = 'published' and as_of < ? "
        "order by as_of desc, run_id desc limit 1",
        [as_of],
    ).fetchone()
    if row is None:
        return None
    run_id, path = row[0], Path(row[1])
    if not (path / "contact_status.parquet").exists():
        log.warning("previous run %s has no outputs at %s any more: no vanished report", run_id, path)
        return None
    return run_id, path


def list_counts(con, has_previous: bool) -> list[ListCount]:
    rows = con.execute(LIST_COUNTS).fetchall()
    return [
        ListCount(
            list_id,
            sendable,
            previous if has_previous else None,
            vanished,
            dict(sorted((by_reason or {}).items(), key=lambda kv: (-kv[1], PRECEDENCE[kv[0]]))),
        )
        for list_id, sendable, previous, vanished, by_reason in rows
    ]


def _drop(count: ListCount) -> float | None:
    """The fraction of a list's previous sendable addresses no longer sendable (None: no previous run)."""
    if not count.previous:
        return None
    return (count.previous - count.sendable) / count.previous


def check_drop_guard(lists: list[ListCount], max_drop: float, force: bool) -> None:
    """A platform mistake can mark half a list as bounced: refuse to publish such a drop."""
    tripped = [c for c in lists if (_drop(c) or 0.0) > max_drop]
    if not tripped:
        return
    if force:
        for c in tripped:
            log.warning(
                "drop guard overridden by --force for list %s: %d -> %d", c.list_id, c.previous, c.sendable
            )
        return
    lines = []
    for c in tripped:
        top = ", ".join(f"{reason} {n}" for reason, n in list(c.vanished_by_reason.items())[:3])
        lines.append(
            f"  - list {c.list_id}: sendable {c.previous} -> {c.sendable} "
            f"({_drop(c) or 0.0:.0%} drop, limit {max_drop:.0%}); "
            f"top reasons: {top or 'none'}"
        )
    raise DropGuardTripped(
        "drop guard tripped; nothing was published:\n"
        + "\n".join(lines)
        + "\nCheck tonight's inputs; if the drop is real, run again with --force."
    )


def run_manifest(
    config: Config,
    run_id,
    as_of,
    started_at,
    finished_at,
    con,
    lists,
    output_counts,
    previous,
    forced,
    load: LoadReport,
    evaluation: Evaluation,
) -> dict:
    """The run's manifest.json. `con` holds the store's input_files and runs, the run's
    run_sources, and file_duplicates (file_id, n: the file's events already known from earlier
    rows), which each engine counts over its own event tables (see FILE_DUPLICATES)."""
    inputs = con.execute(
        f"""with duplicates as (select file_id, n from file_duplicates)
           select f.source, f.kind, f.path, f.sha256, f.rows_read, f.rows_loaded,
                  f.rows_quarantined, coalesce(d.n, 0), {iso_utc("f.snapshot_at")}, {iso_utc("f.loaded_at")},
                  f.format, f.records_read, f.records_ignored
           from {RUN_INPUT_FILES}
           left join duplicates d using (file_id)
           order by f.source, f.path, f.file_id"""
    ).fetchall()
    new_this_run = {(f.source, f.sha256) for f in load.files if f.status == "loaded"}
    return {
        "run_id": run_id,
        "as_of": _iso(as_of),
        "started_at": _iso(started_at),
        "finished_at": _iso(finished_at),
        "version": __version__,
        "config": {"path": str(config.path), "sha256": config.digest},
        "bounce_rules": bounces.rules_in_force(con),
        "rules_sha256": runner.rules_digest(),
        # full, or incremental on a previous run: how many addresses were evaluated, and why
        "evaluation": {
            "mode": "full" if evaluation.basis is None else "incremental",
            "basis_run_id": evaluation.basis and evaluation.basis.run_id,
            "addresses_evaluated": evaluation.addresses,
            "why": evaluation.why,
        },
        "previous_run_id": previous[0] if previous else None,
        "forced": forced,
        # the guard's limit the run was held to (a report written again later shows this one)
        "drop_guard": {"limit": config.policy.max_list_drop_fraction},
        "inputs": [
            {
                "source": source,
                "kind": kind,
                "path": path,
                "sha256": sha,
                "rows_read": read,
                "rows_loaded": loaded,
                "rows_quarantined": quarantined,
                "rows_duplicate": duplicate,  # loaded, but events already known: counted once
                "snapshot_at": snapshot_at,
                "loaded_at": loaded_at,
                "loaded_in_this_run": (source, sha) in new_this_run,
                # platform formats: records read, and those that carried no hygiene event
                **({"format": fmt} if fmt else {}),
                **({"records_read": records, "records_ignored": ignored} if records is not None else {}),
            }
            for (
                source,
                kind,
                path,
                sha,
                read,
                loaded,
                quarantined,
                duplicate,
                snapshot_at,
                loaded_at,
                fmt,
                records,
                ignored,
            ) in inputs
        ],
        "warnings": load.warnings,
        "lists": {
            c.list_id: {
                "sendable": c.sendable,
                "previous": c.previous,
                "vanished": c.vanished,
                "vanished_by_reason": c.vanished_by_reason,
            }
            for c in lists
        },
        "outputs": dict(sorted(output_counts.items())),
        # forgotten addresses (docs/privacy.md): tonight's rows stored under a tombstone, and
        # tombstones lifted by fresh consent
        **({"privacy": load.held.as_manifest()} if load.held is not None else {}),
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
