"""The same event loaded twice is counted once: mark_duplicate_events against a plain reference."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from listhygiene import store
from listhygiene.store.loading import mark_duplicate_events

IDENTITY = store.EVENT_IDENTITY["unsubscribe_events"]
T0 = datetime(2026, 11, 20, tzinfo=UTC)

# Few values per column, nulls among them, so that equal events (and hash-equal candidates) are common.
events = st.fixed_dictionaries(
    {
        "email": st.sampled_from(["ann@example.com", "bob@example.com"]),
        "occurred_at": st.sampled_from([T0, T0 + timedelta(hours=1)]),
        "event": st.sampled_from(["unsubscribe", "complaint"]),
        "list_id": st.sampled_from([None, "news"]),
        "origin": st.just("contact"),
        "evidence": st.sampled_from([None, "form"]),
        "campaign_id": st.sampled_from([None, "c1"]),
        "event_ref": st.sampled_from([None, None, "sg-1", "sg-2"]),
        # several rows of one record share its number (a platform record naming two recipients)
        "row_number": st.integers(1, 3),
    }
)
files = st.lists(st.lists(events, max_size=8), min_size=1, max_size=4)


def expected_marks(loaded: pl.DataFrame) -> list[bool]:
    """Each event's first row (by file, row, then the order rows were inserted) counts; the
    others repeat it. An event with the platform's id is known by (email, id); one without, by
    every column of the identity, a missing value equal to a missing value."""
    by_id = pl.when(pl.col("event_ref").is_not_null()).then(
        pl.concat_list(pl.col("email"), pl.col("event_ref"))
    )
    by_identity = pl.concat_list(pl.col(c).cast(pl.String).fill_null("<null>") for c in IDENTITY)
    keyed = loaded.with_columns(key=by_id.otherwise(by_identity), same_kind=pl.col("event_ref").is_null())
    first = pl.int_range(pl.len()).over(["same_kind", "key"], order_by=["file_id", "row_number", "inserted"])
    return keyed.select(first > 0).to_series().to_list()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files, st.lists(st.booleans(), min_size=4, max_size=4))
def test_every_repeat_of_an_event_is_marked_and_its_first_row_is_not(files, night_ends):
    """Files are loaded night by night (night_ends[i]: a night ends after file i), and a night's
    files are marked together in one pass, as a run does: a Maildir is many files in one night."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    store.create_schema(con)
    rows = []
    tonight: list[int] = []
    for file_id, file_rows in enumerate(files, start=1):
        batch = [{**row, "file_id": file_id, "inserted": len(rows) + i} for i, row in enumerate(file_rows)]
        rows += batch
        if batch:
            frame = pl.DataFrame(batch).with_columns(email_valid=True)  # noqa: F841
            con.execute(
                "insert into unsubscribe_events by name "
                "select * exclude (inserted) from frame order by inserted"
            )
        tonight.append(file_id)
        if night_ends[file_id - 1] or file_id == len(files):
            mark_duplicate_events(con, "unsubscribe_events", tonight)
            tonight = []
    loaded = con.sql(
        "select file_id, row_number, rowid as inserted, is_duplicate, "
        f"event_ref, {', '.join(IDENTITY)} from unsubscribe_events order by rowid"
    ).pl()
    assert loaded["is_duplicate"].to_list() == expected_marks(loaded)


def test_a_hash_shared_by_different_events_marks_neither():
    """Rows are compared by the identity's columns, not by its hash alone: two different events
    whose hashes are made equal here (a collision, rare but possible) both count."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    store.create_schema(con)
    con.execute("create macro hash(a, b) as 42, (a, b, c, d, e, f, g) as 42")  # every identity one hash
    con.execute("""insert into unsubscribe_events (file_id, row_number, email, email_valid, occurred_at,
                                                   event, origin)
                   values (1, 1, 'ann@example.com', true, '2026-11-20', 'unsubscribe', 'contact'),
                          (1, 2, 'bob@example.com', true, '2026-11-20', 'unsubscribe', 'contact'),
                          (1, 3, 'bob@example.com', true, '2026-11-20', 'unsubscribe', 'contact')""")
    mark_duplicate_events(con, "unsubscribe_events", [1])
    marks = con.sql("select row_number, is_duplicate from unsubscribe_events order by row_number").fetchall()
    assert marks == [(1, False), (2, False), (3, True)]
