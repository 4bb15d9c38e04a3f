"""A small in-memory store for model tests: a few fixed rows in, the rules' tables out."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from listhygiene import store
from listhygiene.config import Config, MailingList, Policy, Source
from listhygiene.ingest.quarantine import QUARANTINE_SCHEMA
from listhygiene.ingest.reading import ReadResult
from listhygiene.rules.evaluation import evaluate
from listhygiene.store.loading import insert_file

SOURCES = {
    "contacts": Source("crm", "contacts", "crm/*.csv"),
    "unsubscribes": Source("unsubs", "unsubscribes", "unsubs/*.csv"),
    "bounces": Source("bounces", "bounces", "bounces/*.csv"),
    "suppressions": Source("acme", "suppressions", "acme/*.csv"),
}

COLUMNS = {
    "contacts": {
        "contact_id": pl.String,
        "email_raw": pl.String,
        "list_id": pl.String,
        "status": pl.String,
        "status_raw": pl.String,
        "confirmed_at": pl.Datetime("us", "UTC"),
        "do_not_contact": pl.Boolean,
        "exported_at": pl.Datetime("us", "UTC"),
        "attributes": pl.String,
    },
    "unsubscribes": {
        "email_raw": pl.String,
        "occurred_at": pl.Datetime("us", "UTC"),
        "event": pl.String,
        "list_id": pl.String,
        "origin": pl.String,
        "evidence": pl.String,
        "evidence_ref": pl.String,
        "campaign_id": pl.String,
        "reason": pl.String,
    },
    "bounces": {
        "email_raw": pl.String,
        "occurred_at": pl.Datetime("us", "UTC"),
        "event": pl.String,
        "campaign_id": pl.String,
        "bounce_type": pl.String,
        "smtp_code": pl.Int32,
        "enhanced_code": pl.String,
        "diagnostic": pl.String,
    },
    "suppressions": {
        "email_raw": pl.String,
        "email_sha256": pl.String,
        "list_id": pl.String,
        "reason": pl.String,
        "occurred_at": pl.Datetime("us", "UTC"),
    },
}

DEFAULTS = {
    "contacts": {"status": "subscribed", "do_not_contact": False, "attributes": "{}"},
    "unsubscribes": {"event": "unsubscribe", "origin": "contact"},
    "bounces": {"event": "bounce"},
    "suppressions": {},
}


def ts(text: str | None) -> datetime | None:
    """'2026-11-20' or '2026-11-20T10:00' as a UTC time."""
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Scenario:
    """Rows written straight into an in-memory store through the real insert path."""

    def __init__(
        self,
        *,
        lists: dict[str, bool] | None = None,
        soft_bounce_limit: int = 4,
        soft_bounce_window_days: int = 0,
    ):
        self.con = duckdb.connect()
        self.con.execute("set TimeZone = 'UTC'")
        store.create_schema(self.con)
        self.config = Config(
            path=Path("scenario.toml"),
            database_file=Path(":memory:"),
            output=Path("out"),
            sources=tuple(SOURCES.values()),
            lists={k: MailingList(k, v) for k, v in (lists or {}).items()},
            policy=Policy(
                soft_bounce_limit=soft_bounce_limit, soft_bounce_window_days=soft_bounce_window_days
            ),
        )
        self._files = itertools.count(1)

    def export(self, snapshot_at: str, *rows: dict) -> Scenario:
        """A contacts snapshot; each row a dict with at least contact_id and email."""
        return self._file("contacts", rows, ts(snapshot_at))

    def unsubscribes(self, *rows: dict) -> Scenario:
        return self._file("unsubscribes", rows)

    def bounces(self, *rows: dict) -> Scenario:
        return self._file("bounces", rows)

    def suppression_list(self, snapshot_at: str, *rows: dict, source: str = "acme") -> Scenario:
        """A snapshot of a do-not-mail list; each row a dict with email or email_sha256."""
        return self._file("suppressions", rows, ts(snapshot_at), source=source)

    def _file(self, kind: str, rows, snapshot_at=None, source: str | None = None) -> Scenario:
        columns = COLUMNS[kind]
        records = []
        for row in rows:
            record = {**DEFAULTS[kind], **row}
            record["email_raw"] = record.pop("email", None)
            for name in ("occurred_at", "confirmed_at", "exported_at"):
                if isinstance(record.get(name), str):
                    record[name] = ts(record[name])
            records.append({name: record.get(name) for name in columns})
        frame = (
            pl.DataFrame(records, schema=columns, orient="row") if records else pl.DataFrame(schema=columns)
        )
        frame = frame.with_row_index("row_number", offset=1).with_columns(pl.col("row_number").cast(pl.Int64))
        n = next(self._files)
        origin = SOURCES[kind] if source is None else Source(source, kind, f"{source}/*.csv")
        if origin not in self.config.sources:
            self.config = replace(self.config, sources=(*self.config.sources, origin))
        result = ReadResult(
            path=Path(f"{kind}_{n}.csv"),
            source=origin.name,
            kind=kind,
            sha256=f"{n:064x}",
            size=0,
            rows_read=frame.height,
            rows=frame,
            quarantine=pl.DataFrame(schema=QUARANTINE_SCHEMA),
            snapshot_at=snapshot_at,
        )
        insert_file(self.con, origin, result, ts("2026-01-01"))
        return self

    def evaluate(self, as_of: str) -> Evaluation:
        evaluate(self.con, self.config, ts(as_of))
        return Evaluation(self.con)


class Evaluation:
    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def table(self, name: str) -> pl.DataFrame:
        return self.con.sql(f'select * from "{name}"').pl()

    def status(self, email: str, list_id: str | None) -> dict:
        rows = self.table("contact_status").filter(
            (pl.col("email") == email)
            & (pl.col("list_id").is_null() if list_id is None else pl.col("list_id") == list_id)
        )
        assert rows.height == 1, f"expected one status row for {email} on {list_id}, got {rows.height}"
        return rows.row(0, named=True)

    def reasons(self, email: str, list_id: str | None) -> list[str]:
        return self.status(email, list_id)["reasons"]

    def sendable(self, email: str, list_id: str) -> bool:
        return self.status(email, list_id)["sendable"]

    def suppressions(self) -> set[tuple[str, str, str]]:
        return {
            (r["email"], r["scope"], r["reason"]) for r in self.table("suppressions").iter_rows(named=True)
        }

    def blocked(self) -> pl.DataFrame:
        return self.table("blocked_resubscribes")
