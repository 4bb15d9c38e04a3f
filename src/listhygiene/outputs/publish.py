"""Writes a run's outputs to a staging folder, moves it under runs/, points `latest` at it."""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import duckdb
import polars as pl

from listhygiene.checkpoints import checkpoint
from listhygiene.errors import environment_problem
from listhygiene.logs import step
from listhygiene.rules.runner import models_read
from listhygiene.sql import sql_literal

# Each output: the query that fills it, and its order: its key, then (unless the key is unique,
# UNIQUE_ORDER) every other column, so that rows tying on the key cannot come out in the order
# DuckDB's threads happen to finish and identical runs write identical files.
OUTPUT_QUERIES = {
    "contact_status.parquet": (
        """select email, list_id, contact_id, sendable, transactional_ok, reason, reasons, reason_at, detail
           from contact_status""",
        "list_id nulls first, email",
    ),
    "suppressions.parquet": (
        """select email, scope, reason, since, source, origin, detail
           from suppressions""",
        "email, scope, reason",
    ),
    "vanished.parquet": (
        """select list_id, email, contact_id, previous_run_id, reason, reasons, reason_at, detail
           from vanished""",
        "list_id, email",
    ),
    "blocked_resubscribes.parquet": (
        """select email, list_id, attempted_at, source, evidence, why
           from blocked_resubscribes""",
        "attempted_at, email, list_id nulls first, source",
    ),
    "consent_ledger.parquet": (
        """select email, list_id, occurred_at, kind, effect, evidence, evidence_ref, origin, source, file, row_number
           from consent_ledger""",
        "email, occurred_at, list_id nulls first, kind",
    ),
    "quarantine.parquet": (
        """select f.source, f.path as file, q.row_number, q.column_name as "column", q.error, q.raw
           from quarantine q
           join input_files f using (file_id)
           join run_sources s on s.source = f.source and s.kind = f.kind""",
        "source, file, row_number",
    ),
    "crm_updates.parquet": (
        """select source, contact_id, email, list_id, field, value, reason, since, evidence, shown_in
           from crm_updates""",
        "source, contact_id, email, list_id nulls first, field",
    ),
    "duplicates.parquet": (
        """select email, record_count, records, list_id, source, contact_id, email_raw, status,
                  snapshot_at, lineage, used, why
           from duplicates""",
        "email, list_id nulls first, used desc, source, contact_id",
    ),
    "rates.parquet": (
        """select campaign_id, domain, messages, deliveries, hard, soft, block, complaints, unsubscribes,
                  hard_rate, soft_rate, block_rate, complaint_rate, unsubscribe_rate, thresholds_crossed
           from rates""",
        "campaign_id nulls first, domain",
    ),
}
# The grain of each output: the columns that make one of its rows unique, a contract with every
# downstream reader (CHANGELOG.md) checked as an audit by tests/test_output_grain.py on every data
# set the tests publish. quarantine.parquet has none in its columns: two versions of one log file
# (re-exported with other content) share its path and row numbers; its grain adds the raw row.
GRAIN = {
    "sendable.parquet": ("list_id", "email"),
    "contact_status.parquet": ("email", "list_id"),
    "suppressions.parquet": ("email", "scope", "reason"),
    "vanished.parquet": ("list_id", "email"),
    "blocked_resubscribes.parquet": ("email", "list_id", "attempted_at", "source", "evidence"),
    "consent_ledger.parquet": ("email", "list_id", "occurred_at", "kind", "source", "file", "row_number"),
    "quarantine.parquet": ("source", "file", "row_number", "raw"),
    "crm_updates.parquet": ("source", "contact_id", "list_id", "field"),
    "duplicates.parquet": ("email", "source", "contact_id", "list_id"),
    "rates.parquet": ("campaign_id", "domain"),
}
# The large outputs, one row per (address, list): their key alone orders them, and more sort
# columns would cost (5M: ~12 s each to sort and write). The small ones take every column:
# cheap, and no proof per model that its key cannot tie. Quarantine's does tie: two versions
# of one log file (re-exported with other content) share its path and row numbers.
UNIQUE_ORDER = frozenset({"contact_status.parquet", "vanished.parquet", "sendable.parquet"})
SENDABLE_ORDER = "list_id, email"

# On an incremental night these outputs are per address: the rows of the addresses not
# evaluated tonight are the basis run's, the others tonight's. vanished is tonight's alone (an
# address not evaluated kept its sendability); quarantine is per input file, always whole.
KEPT_FROM_BASIS = frozenset(
    {
        "contact_status.parquet",
        "suppressions.parquet",
        "blocked_resubscribes.parquet",
        "consent_ledger.parquet",
        "crm_updates.parquet",
        "duplicates.parquet",
        "sendable.parquet",
    }
)

# The columns of the kept outputs whose citations of contact rows (lineage: "crm:contacts.csv
# row 12") may name the latest export's row. When a new export replaces it, cited_rows.sql
# maps each such citation to the same row of tonight's export, and the kept rows are written
# with it (citation_moves, the macro rekeyed); an address whose citation cannot move is
# evaluated again. cited_rows also reads the columns that cite a row for its history
# (blocked_resubscribes.source, crm_updates.evidence): those never move.
CITING_COLUMNS = {
    "contact_status.parquet": ("detail",),
    "suppressions.parquet": ("detail",),
    "crm_updates.parquet": ("shown_in",),
}


def write_outputs(con: duckdb.DuckDBPyConnection, folder: Path, basis=None) -> dict[str, int]:
    """Write every Parquet output of the run into `folder`; return rows written per file.

    With `basis` (an incremental night: incremental.Basis) the addresses not evaluated keep
    the basis run's rows.
    """
    folder.mkdir(parents=True)
    counts = {}
    for name, (query, order) in OUTPUT_QUERIES.items():
        counts[name] = _copy(con, _merged(query, name, basis), order, folder / name)
        checkpoint("writing")
    counts["sendable.parquet"] = _write_sendable(con, folder / "sendable.parquet", basis)
    return counts


def _merged(query: str, name: str, basis) -> str:
    """The output's rows: tonight's, plus the basis's rows of addresses not evaluated tonight,
    their citations of a replaced export's rows rewritten to the same rows of tonight's."""
    if basis is None or name not in KEPT_FROM_BASIS:
        return query
    path = sql_literal(str(basis.path / name))
    kept = f"""select * from read_parquet({path}, hive_partitioning = false)
        where email not in (select email from dirty_addresses)"""
    citing = CITING_COLUMNS.get(name)
    if citing:
        rewritten = ", ".join(f'rekeyed(k."{c}", m.moves) as "{c}"' for c in citing)
        kept = f"""select k.* replace ({rewritten})
        from ({kept}) k
        left join citation_moves m using (email)"""
    return f"""{query}
        union all by name
        {kept}"""


def _copy(con, query: str, order: str, target: Path) -> int:
    if target.name not in UNIQUE_ORDER:
        order = total_order(con.sql(query).columns, order)
    with step(f"writing {target.name}"):
        con.sql(f"select * from ({query}) order by {order}").write_parquet(str(target), compression="zstd")
    [(rows,)] = con.execute("select count(*) from read_parquet(?)", [str(target)]).fetchall()
    return rows


def total_order(columns: list[str], key: str) -> str:
    """The ORDER BY of `key` followed by every other of `columns`."""
    named = {order_column(term) for term in key.split(",")}
    rest = [f'"{c}"' for c in columns if c not in named]
    return ", ".join([key, *rest])


def order_column(term: str) -> str:
    """The column an ORDER BY term sorts by: 'list_id nulls first' -> list_id."""
    return term.split()[0].strip('"')


def _write_sendable(con, target: Path, basis=None) -> int:
    """sendable.parquet: list_id, email, contact_id, then the contact attributes of the export.

    The attributes are those of the record that speaks for the (address, list) (contact_status
    keeps its file_id and row_number from primary_records), read from the store for the rows
    written only, and split into columns by DuckDB.
    """
    keys = attribute_keys(con.execute(ATTRIBUTE_COLUMNS).fetchall())
    if needs_polars(keys):
        return _write_sendable_polars(con, target, keys)  # names a JSON path or SQL alias can't hold
    return _copy(con, _merged(sendable_query(keys), target.name, basis), SENDABLE_ORDER, target)


def needs_polars(keys: list[str]) -> bool:
    """Attribute names a JSON path or an SQL alias cannot hold (a quote, a backslash, a case twin)."""
    return any('"' in k or "\\" in k for k in keys) or len({k.lower() for k in keys}) < len(keys)


def sendable_columns(con) -> tuple[str, ...] | None:
    """The columns sendable.parquet will have (None when written through polars, never merged)."""
    keys = attribute_keys(con.execute(ATTRIBUTE_COLUMNS).fetchall())
    return None if needs_polars(keys) else ("list_id", "email", "contact_id", *keys)


# The sendable rows with the contact row of the record speaking for each.
SENDABLE_ROWS = """contact_status s
        left join contact_rows r on r.file_id = s.file_id and r.row_number = s.row_number
        where s.sendable"""


def sendable_query(keys: list[str]) -> str:
    """sendable's SELECT: list, address, contact id, then each attribute key as a column (every
    engine runs this text: DuckDB as written, Spark compiled)."""
    paths = [sql_literal(f'$."{k}"') for k in keys]  # '$."First Name"'
    columns = "".join(f', json_extract_string(r.attributes, {path}) as "{k}"' for k, path in zip(keys, paths))
    return f"select s.list_id, s.email, s.contact_id{columns} from {SENDABLE_ROWS}"


def _write_sendable_polars(con, target: Path, keys: list[str]) -> int:
    frame = con.sql(
        f"""select s.list_id, s.email, s.contact_id, coalesce(r.attributes::varchar, '{{}}') as attributes
           from {SENDABLE_ROWS}
           order by s.list_id, s.email"""
    ).pl()
    if keys:
        attributes = pl.col("attributes").str.json_decode(pl.Struct(dict.fromkeys(keys, pl.String)))
        frame = frame.with_columns(attributes).unnest("attributes")
    else:
        frame = frame.drop("attributes")
    frame.write_parquet(target, compression="zstd")
    return frame.height


# The snapshots in use that hold rows, each with its extra contact columns (from the files, not
# from contact_records, which an incremental night restricts to some addresses).
ATTRIBUTE_COLUMNS = """select f.attribute_columns
           from input_files f
           where f.file_id in (select file_id from contact_files)
             and exists (select 1 from contact_rows r where r.file_id = f.file_id)
           order by f.file_id"""


def attribute_keys(rows) -> list[str]:
    """Extra contact columns of the snapshots in use (ATTRIBUTE_COLUMNS' rows, on any engine), in
    order of first appearance, less the names of the columns sendable has already."""
    keys: list[str] = []
    reserved = {"list_id", "email", "contact_id"}
    for (columns,) in rows:
        for key in columns or []:
            if key not in keys and key.lower() not in reserved:
                keys.append(key)
    return keys


# The rule models the outputs read: a nightly run keeps these to the end and drops the others early.
READS = models_read(*(query for query, _ in OUTPUT_QUERIES.values()), SENDABLE_ROWS, ATTRIBUTE_COLUMNS)


def staging_dir(output: Path, run_id: str) -> Path:
    """Where a run is written before it exists: beside runs/, never inside it."""
    return output / ".staging" / run_id


def run_dir(output: Path, run_id: str) -> Path:
    return output / "runs" / f"run_id={run_id}"


def check_output(output: Path) -> None:
    """Before any work, without creating anything: a new run can be published under `output`.

    A run that could only find out after its commit would leave a committed run the next run
    must publish; this catches a file where a folder belongs, a folder not writable, a
    read-only or immutable folder up front. (A disk that fills later is caught where it fills.)
    """
    untouched = "Nothing was published and the store is unchanged."
    latest = output / "latest"
    try:
        for folder in (output, output / ".staging", output / "runs"):
            if folder.exists() and not folder.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, "a file stands where a folder belongs", str(folder))
        if latest.exists() and not latest.is_symlink():
            raise FileExistsError(
                errno.EEXIST, "`latest` must be a link that listhygiene manages", str(latest)
            )
        # the folders a run writes in: each, or the nearest that exists on the way to it
        for folder in {_nearest_existing(output), _nearest_existing(output / "runs")}:
            _probe_writable(folder)
    except OSError as exc:
        raise environment_problem(exc, "checking the output folder", outcome=untouched) from None


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _probe_writable(folder: Path) -> None:
    """Create and remove an empty folder: the one test that sees permissions, read-only mounts and
    immutable folders alike (os.access answers yes to root for the last)."""
    if not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "a file stands where a folder belongs", str(folder))
    probe = folder / f".listhygiene-probe-{os.getpid()}"
    probe.mkdir()
    probe.rmdir()


def move_into_place(staging: Path, final: Path) -> None:
    """Move a finished run from staging under runs/ in one rename, made durable."""
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging, final)
    sync_dir(final.parent)
    checkpoint("published")


def point_latest(latest: Path, target: Path) -> None:
    """Replace the `latest` symlink atomically (a new link, renamed over the old one)."""
    link_tmp = latest.with_name(f".{latest.name}.tmp")
    if link_tmp.is_symlink() or link_tmp.exists():
        link_tmp.unlink()
    os.symlink(os.path.relpath(target, latest.parent), link_tmp)
    os.replace(link_tmp, latest)
    sync_dir(latest.parent)


def repair(con: duckdb.DuckDBPyConnection, output: Path) -> list[str]:
    """Finish or undo what a run that stopped midway left behind; return what was done.

    The store is the truth. A run is recorded as `committed` in the same transaction as its
    loads, and becomes `published` once its folder is under runs/. So a staged run the store
    committed is moved into place (the run stopped, or could not move it, between commit and
    rename); a committed run already in place is marked published; any other staged folder is
    an uncommitted run and goes. Then `latest` points at the newest published run.
    """
    done = []
    committed = {
        run_id for (run_id,) in con.execute("select run_id from runs where status = 'committed'").fetchall()
    }
    staging_root = output / ".staging"
    for staged in sorted(staging_root.iterdir()) if staging_root.exists() else []:
        final = run_dir(output, staged.name)
        if staged.name in committed and not final.exists():
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, final)
            sync_dir(final.parent)
            done.append(f"finished publishing run {staged.name}, interrupted after its commit")
        else:
            shutil.rmtree(staged, ignore_errors=True)
            done.append(f"removed the unfinished run {staged.name}")
    for run_id in sorted(committed):
        if run_dir(output, run_id).exists():
            con.execute("update runs set status = 'published' where run_id = ?", [run_id])
        else:
            con.execute("update runs set status = 'lost' where run_id = ?", [run_id])
            done.append(f"run {run_id} was committed but its outputs are gone; marked lost (run again)")
    published = [
        run_id
        for (run_id,) in con.execute(
            "select run_id from runs where status = 'published' order by run_id desc"
        ).fetchall()
    ]
    newest = next((run_id for run_id in published if run_dir(output, run_id).exists()), None)
    latest = output / "latest"
    if newest and (not latest.is_symlink() or latest.resolve() != run_dir(output, newest).resolve()):
        point_latest(latest, run_dir(output, newest))
        done.append(f"pointed latest at run {newest}")
    return done


def prune(con: duckdb.DuckDBPyConnection, output: Path, keep: int | None) -> list[str]:
    """Delete the outputs of published runs beyond the newest `keep` (the store keeps every event)."""
    if not keep:
        return []
    old = [
        run_id
        for (run_id,) in con.execute(
            "select run_id from runs where status = 'published' order by run_id desc offset ?", [keep]
        ).fetchall()
    ]
    for run_id in old:
        shutil.rmtree(run_dir(output, run_id), ignore_errors=True)
        con.execute("update runs set status = 'pruned' where run_id = ?", [run_id])
    return old


def sync_dir(folder: Path) -> None:
    """Make a rename durable: flush the folder's entry table to disk."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_manifest(folder: Path, manifest: dict) -> None:
    """manifest.json, written as it is encoded: a night of a 100,000-file Maildir lists 100,000
    inputs (52 MB), which encoded whole first cost a quarter of a GiB of memory at once."""
    with open(folder / "manifest.json", "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2, default=str)
        handle.write("\n")


def discard(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
