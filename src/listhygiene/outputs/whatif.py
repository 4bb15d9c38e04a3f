"""`whatif`: the nightly evaluation under a changed policy or bounce rules, compared with what is published."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from listhygiene import store
from listhygiene.config import Config
from listhygiene.errors import ConfigError, LockHeld, environment_problem
from listhygiene.logs import stage
from listhygiene.outputs.whatif_summary import CHANGES, summarize
from listhygiene.overrides import Override, check_lists
from listhygiene.rules import bounces
from listhygiene.rules.evaluation import evaluate
from listhygiene.sql import memory_connection, sql_literal
from listhygiene.store.runs import run_input_keys

log = logging.getLogger("listhygiene")

STORE_ALIAS = "store"
# The store tables the rules read that hold rows of input files: on the copy, kept to the
# compared run's files.
RULE_INPUTS = ("contact_rows", "unsubscribe_events", "bounce_events", "quarantine")
# What the comparison reads of a published run: the statuses, not the whole file.
STATUS_COLUMNS = "email, list_id, contact_id, sendable, reason, detail"


@dataclass(frozen=True)
class Basis:
    """What the change is compared with: a published run (its statuses), or the pipeline file as it is."""

    run_id: str | None
    as_of: datetime
    statuses: Path | None  # the run's contact_status.parquet, if its outputs are still there
    config_sha256: str | None
    inputs: list[list[str]] | None  # the run's input files (source, sha256, path); None: every file


def whatif(
    config: Config,
    changed: Config,
    overrides: list[Override],
    out: Path,
    *,
    bounce_rules: Path | None = None,
    run_id: str | None = None,
    as_of: datetime | None = None,
) -> dict:
    """Evaluate the store under `changed` (and `bounce_rules`) and write what differs to `out`.

    The evaluation is the nightly one (rules.evaluate, bounces.reclassify_if_rules_changed) run
    on a private copy of the store in `out`: the store is attached read-only only while its
    file is copied, so a nightly run may start as soon as whatif is evaluating. Nothing under
    the store or the output folder changes. Returns the summary written to summary.json.
    """
    if run_id and as_of:
        raise ConfigError("give --run or --as-of, not both: --run evaluates as of that run's as-of.")
    out = _prepare_out(config, out)
    if bounce_rules is not None:
        changed = dataclasses.replace(changed, bounce_rules=bounce_rules.resolve())
        bounces.load_ruleset(changed.bounce_rules)  # a broken rules file fails before any work
    scratch = Path(tempfile.mkdtemp(prefix=".whatif-", dir=out))
    copy = scratch / "store.duckdb"
    seconds: dict[str, float] = {}
    try:
        started = time.perf_counter()
        with stage("reading the store"):
            basis = _copy_store(config, scratch, run_id, as_of)
        seconds["read_store"] = time.perf_counter() - started
        con = duckdb.connect(str(copy))
        try:
            con.execute("set TimeZone = 'UTC'")
            con.execute("set enable_progress_bar = false")
            store.tune_engine(con, copy)
            store.create_schema(con)  # a private copy: an older store's is upgraded, never the store
            _keep_inputs_of(con, basis)
            check_lists(overrides, config, _lists_in_exports(con))
            started = time.perf_counter()
            if basis.statuses is None:
                # no published statuses to compare with: the pipeline file as it is, evaluated first
                with stage("evaluating the rules as they are"):
                    _evaluate(con, config, basis.as_of, scratch / "now")
                con.execute(f"create table status_as_is as select {STATUS_COLUMNS} from contact_status")
            else:
                path = sql_literal(str(basis.statuses))
                con.execute(f"create view status_as_is as select {STATUS_COLUMNS} from read_parquet({path})")
            seconds["statuses_now"] = time.perf_counter() - started
            started = time.perf_counter()
            with stage("evaluating the rules under the change"):
                reclassified = _evaluate(con, changed, basis.as_of, scratch / "whatif")
            seconds["evaluate_whatif"] = time.perf_counter() - started
            started = time.perf_counter()
            with stage("comparing"):
                summary = summarize(con, out / CHANGES, scratch)
            seconds["compare"] = time.perf_counter() - started
        finally:
            con.close()
    except OSError as exc:
        raise environment_problem(
            exc, f"writing the what-if to {out}", outcome="The store and the published runs are unchanged."
        ) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    summary = {
        "run_id": basis.run_id,
        "as_of": f"{basis.as_of.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}",
        "compared_with": f"published run {basis.run_id}"
        if basis.statuses is not None
        else "the pipeline file as it is, evaluated as of the same time",
        "changes": [{"key": o.key, "now": o.before, "whatif": o.after} for o in overrides],
        "bounce_rules": _bounce_rules(changed, bounce_rules, reclassified),
        **summary,
        "warnings": _warnings(config, basis),
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
    }
    _write_json(out / "summary.json", summary)
    return summary


def _prepare_out(config: Config, out: Path) -> Path:
    """The what-if's folder: anywhere but inside the output folder or a night's rule tables."""
    out = out.resolve()
    # a night lists runs/ and clears <store>.rules: a what-if inside either would be in the way
    for protected in (config.output.resolve(), store.rule_tables_dir(config.database.resolve())):
        if out.is_relative_to(protected):
            raise ConfigError(
                f"--out {out} is inside {protected}, which whatif must leave as it is; "
                "give a folder of its own, e.g. --out whatif/limit-3."
            )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise environment_problem(exc, f"creating {out}", outcome="Nothing was written.") from None
    return out


def _copy_store(config: Config, scratch: Path, run_id: str | None, as_of: datetime | None) -> Basis:
    """Copy the store's file (and the compared run's statuses) into scratch, then let the store go.

    A read-only attach shares the store with other readers but keeps a nightly run (a writer)
    out, so the bytes copied are one consistent state; holding it only for the copy (a file
    copy: 0.5 GB in about a second) is what lets a night start while whatif evaluates.
    """
    if not config.database.exists():
        raise ConfigError(
            f"store {config.database} does not exist yet: run `listhygiene run --config ...` first."
        )
    con = memory_connection()
    try:
        try:
            con.execute(f"attach ? as {STORE_ALIAS} (read_only)", [str(config.database)])
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise LockHeld(
                    f"store {config.database} is in use by a run that is going on; whatif reads the store "
                    "and must wait: try again when the run has finished."
                ) from None
            raise ConfigError(f"store {config.database} cannot be opened: {exc}") from None
        basis = _basis(con, run_id, as_of)
        # a store closed mid-write keeps recent changes in its write-ahead log: that comes too
        for suffix in ("", ".wal"):
            source = config.database.with_name(config.database.name + suffix)
            if source.exists():
                shutil.copyfile(source, scratch / f"store.duckdb{suffix}")
        if basis.statuses is not None:
            # a night starting after the copy may prune the run's outputs ([store] keep_runs)
            statuses = scratch / "status_as_is.parquet"
            shutil.copyfile(basis.statuses, statuses)
            basis = dataclasses.replace(basis, statuses=statuses)
    finally:
        con.close()
    log.info(
        "store read; evaluating as of %s%s",
        f"{basis.as_of.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}",
        f" (run {basis.run_id})" if basis.run_id else "",
    )
    return basis


def _keep_inputs_of(con: duckdb.DuckDBPyConnection, basis: Basis) -> None:
    """On the copy, only the compared run's input files: files loaded after it must not leak in."""
    if basis.inputs is None:
        return
    con.execute("create temp table pinned (source varchar, sha256 varchar, path varchar)")
    if basis.inputs:
        con.executemany("insert into pinned values (?, ?, ?)", basis.inputs)
    con.execute(
        "delete from input_files f where not exists (select 1 from pinned p "
        "where p.source = f.source and p.sha256 = f.sha256 and p.path = f.path)"
    )
    for table in RULE_INPUTS:
        con.execute(f"delete from {table} where file_id not in (select file_id from input_files)")


def _basis(con: duckdb.DuckDBPyConnection, run_id: str | None, as_of: datetime | None) -> Basis:
    if as_of is not None:
        return Basis(None, as_of, None, None, None)
    where, params = ("and run_id = ?", [run_id]) if run_id else ("", [])
    row = con.execute(
        f"""select run_id, as_of, path, manifest
            from {STORE_ALIAS}.runs where status in ('published', 'pruned') {where}
            order by run_id desc limit 1""",
        params,
    ).fetchone()
    if row is None:
        if run_id:
            raise ConfigError(f"no published run {run_id!r}; `listhygiene runs --config FILE` lists them.")
        raise ConfigError("no run has been published yet: run `listhygiene run --config FILE` first.")
    found, run_as_of, path, manifest = row
    manifest = json.loads(manifest)
    digest = manifest.get("config", {}).get("sha256")
    inputs = [list(key) for key in run_input_keys(con, found, manifest, STORE_ALIAS)]
    statuses = Path(path) / "contact_status.parquet"
    if not statuses.exists():
        log.warning(
            "run %s has no outputs any more: comparing with the pipeline file evaluated as of it", found
        )
        return Basis(found, run_as_of, None, digest, inputs)
    return Basis(found, run_as_of, statuses, digest, inputs)


def _lists_in_exports(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("select distinct list_id from contact_rows where list_id is not null").fetchall()
    return {list_id for (list_id,) in rows}


def _evaluate(con: duckdb.DuckDBPyConnection, config: Config, as_of: datetime, rule_tables: Path) -> int:
    """The night's rule evaluation, in full, on the copy: the stored bounces classified by the
    rules `config` names (as the next night would), then every model. Returns the bounces whose
    class, reason or rule changed."""
    reclassified = bounces.reclassify_if_rules_changed(con, config)
    rule_tables.mkdir()
    evaluate(con, config, as_of, None, scratch=rule_tables, why="what-if: every address")
    return reclassified


def _bounce_rules(changed: Config, given: Path | None, reclassified: int) -> dict:
    ruleset = bounces.load_ruleset(changed.bounce_rules)
    return {
        "file": str(given) if given else None,
        "version": ruleset.version,
        "sha256": ruleset.digest,
        "bounces_reclassified": reclassified,
    }


def _warnings(config: Config, basis: Basis) -> list[str]:
    if basis.config_sha256 and basis.config_sha256 != config.digest:
        text = (
            f"the pipeline file changed since run {basis.run_id}: the differences include that change, "
            "not only the --set and --bounce-rules given"
        )
        log.warning(text)
        return [text]
    return []


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)
