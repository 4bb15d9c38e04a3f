"""An incremental night: which addresses to re-evaluate, and when a full evaluation is needed."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from listhygiene.config import Config
from listhygiene.outputs import publish
from listhygiene.rules import bounces, runner
from listhygiene.sql import sql_literal
from listhygiene.store.runs import run_input_keys

log = logging.getLogger("listhygiene")

# The previous run's outputs an incremental night reads: to find the addresses whose rows
# name the snapshot replaced tonight (dirty_addresses), and to keep the rows of the others.
PREVIOUS_OUTPUTS = (
    "contact_status",
    "suppressions",
    "blocked_resubscribes",
    "duplicates",
    "crm_updates",
    "sendable",
)


@dataclass(frozen=True)
class Basis:
    """The previous run an incremental night builds on."""

    run_id: str
    path: Path
    as_of: str  # ISO text, as the store holds it
    sendable_columns: tuple[str, ...]


def basis(
    con: duckdb.DuckDBPyConnection,
    config: Config,
    previous: tuple[str, Path] | None,
    reclassified: int,
    full: bool = False,
) -> tuple[Basis | None, str]:
    """The previous run to build on, or None and why tonight is evaluated in full."""
    if not config.incremental:
        return None, "[store] incremental = false"
    if full:
        return None, "run --full"
    if previous is None:
        return None, "no previous run with outputs"
    run_id, path = previous
    if reclassified:
        return None, f"{reclassified} stored bounces were reclassified (new classifier rules)"
    [(as_of, manifest_text)] = con.execute(
        "select strftime(as_of::timestamp, '%Y-%m-%dT%H:%M:%S.%f') || '+00:00', manifest "
        "from runs where run_id = ?",
        [run_id],
    ).fetchall()
    manifest = json.loads(manifest_text)
    if manifest.get("config", {}).get("sha256") != config.digest:
        return None, f"the pipeline file changed since run {run_id}"
    if manifest.get("rules_sha256") != runner.rules_digest():
        return None, f"the rules changed since run {run_id} (another listhygiene version)"
    if manifest.get("bounce_rules") != bounces.rules_in_force(con):
        return None, f"the bounce classifier rules changed since run {run_id}"
    [(erased,)] = con.execute(
        "select count(*) from tombstones where forgotten_at >= (select started_at from runs where run_id = ?)",
        [run_id],
    ).fetchall()
    if erased:
        return None, f"{erased} addresses were forgotten since run {run_id}"
    missing = [name for name in PREVIOUS_OUTPUTS if not (path / f"{name}.parquet").exists()]
    if missing:
        return None, f"run {run_id} has no {missing[0]}.parquet"
    gone = _inputs_not_in_use(con, run_input_keys(con, run_id, manifest))
    if gone:
        return None, f"an input of run {run_id} is no longer in use ({gone}: replaced by a re-export?)"
    columns = tuple(
        c[0]
        for c in con.execute(
            "describe select * from read_parquet(?, hive_partitioning = false)",
            [str(path / "sendable.parquet")],
        ).fetchall()
    )
    return Basis(run_id, path, as_of, columns), f"incremental on run {run_id}"


def _inputs_not_in_use(con, inputs: list[tuple[str, str, str]]) -> str | None:
    """The first input file of the previous run that tonight's rules would not read, if any."""
    # one statement for all of them: a Maildir's run lists 100,000 inputs (one insert each took 15 s)
    keys = pa.table(  # noqa: F841  (read by name by the statement below)
        {
            name: pa.array([i[n] for i in inputs], pa.string())
            for n, name in enumerate(("source", "sha256", "path"))
        }
    )
    con.execute("create or replace temp table previous_input_keys as select source, sha256, path from keys")
    row = con.execute(
        """select k.path from previous_input_keys k
           left join (
               -- a re-exported file (same path, new content) replaces its earlier versions
               select f.* from input_files f
               join run_sources s on s.source = f.source and s.kind = f.kind
               qualify f.file_id = max(f.file_id) over (partition by f.source, f.path)
           ) f on f.source = k.source and f.sha256 = k.sha256 and f.path = k.path
           where f.file_id is null
           limit 1"""
    ).fetchone()
    return row and Path(row[0]).name


def prepare(con: duckdb.DuckDBPyConnection, on: Basis) -> tuple[int | None, str]:
    """The tables dirty_addresses reads, then dirty_addresses itself: (its size, "").

    (None, why) when the night must be full after all: the contact attributes changed, so
    sendable.parquet would gain or lose a column the basis's rows do not have. Run after
    _prepare_run_tables and before the rules (runner.build_all(only_dirty=True)).
    """
    con.execute(runner.model_sql("_macros"))
    runner.build(con, "contact_files")
    runner.build(con, "suppression_files")
    columns = publish.sendable_columns(con)
    if columns != on.sendable_columns:
        return None, f"the contact attributes changed (sendable.parquet: {on.sendable_columns} -> {columns})"
    con.execute(
        """create or replace temp table previous_inputs as
           select f.file_id from input_files f
           semi join previous_input_keys k using (source, sha256, path)"""
    )
    for name in PREVIOUS_OUTPUTS:
        target = sql_literal(str(on.path / f"{name}.parquet"))
        con.execute(
            f'create or replace temp view "previous_{name}" as select * from read_parquet({target}, hive_partitioning = false)'
        )
    runner.build(con, "previous_snapshot_files")
    install_citation_macros(con)
    runner.build(con, "citations")
    runner.build(con, "cited_rows")
    runner.build(con, "dirty_addresses")
    [(count,)] = con.execute("select count(*) from dirty_addresses").fetchall()
    # per address kept, its citations' moves, as the outputs read them (publish._merged)
    con.execute(
        """create or replace temp table citation_moves as
           select email, map_from_entries(list({'k': cited, 'v': cited_now})) as moves
           from cited_rows anti join dirty_addresses using (email)
           group by email"""
    )
    [(moved,)] = con.execute("select count(*) from citation_moves").fetchall()
    log.info("%d addresses keep run %s's rows, their citations moved to tonight's export", moved, on.run_id)
    return count, ""


def install_citation_macros(con: duckdb.DuckDBPyConnection) -> None:
    """The macros `replaced_citations(text)`, the citations in a text of the rows of the
    snapshots replaced tonight (previous_snapshot_files), and `rekeyed(text, moves)`, the text
    with each such citation replaced by its entry in the map `moves` (cited_rows' cited →
    cited_now; a citation not in it is left as it was).

    The pattern is made of the files' own names, quoted (RE2's \\Q…\\E): a name may hold any
    character. A citation ends where its row number does, so "row 1" is never read in "row 12".
    """
    prefixes = [
        cited
        for (cited,) in con.execute(
            "select distinct cited from previous_snapshot_files where replaced order by cited"
        ).fetchall()
    ]
    if prefixes:
        quoted = "|".join("\\Q" + p.replace("\\E", "\\E\\\\E\\Q") + "\\E" for p in prefixes)
        pattern = sql_literal(f"(?:{quoted})\\d+")
        extract = f"regexp_extract_all(t, {pattern})"
        split = f"regexp_split_to_array(t, {pattern})"
    else:
        extract, split = "[]::varchar[]", "[t]"
    con.execute(f"create or replace temp macro replaced_citations(t) as {extract}")
    con.execute(
        "create or replace temp macro rekeyed(t, moves) as case when moves is null or t is null then t else "
        f"list_reduce(list_zip({split}, list_transform(replaced_citations(t), "
        "lambda c: coalesce(moves[c], c)) || [''::varchar]), lambda text, piece: text || piece[1] || piece[2], ''::varchar) end"
    )
