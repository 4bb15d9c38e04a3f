"""The models' shared SQL macros: what they compute, on values at the edges."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from listhygiene import models

moments = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1),
                       timezones=st.just(timezone.utc))
seen = st.tuples(moments, st.integers(1, (1 << 24) - 1), st.integers(1, (1 << 40) - 1))


def epoch_us(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1)


def connection() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(models.model_sql("_macros"))
    return con


@settings(max_examples=60, deadline=None)
@given(st.lists(seen, min_size=2, max_size=6))
def test_seen_key_sorts_as_its_parts_and_gives_them_back(rows):
    """max(seen_key) is the last (snapshot_at, file_id, row_number): the key orders as the
    tuple does (before 1970 too), and the macros read each part back."""
    con = connection()
    keys = [con.execute("select k, epoch_us(seen_at(k)), seen_file_id(k), seen_row_number(k) "
                        "from (select seen_key(make_timestamptz(?), ?::integer, ?::bigint) as k)",
                        [epoch_us(at), file_id, row_number]).fetchone()
            for at, file_id, row_number in rows]
    assert [(at, file_id, row_number) for _, at, file_id, row_number in keys] == [
        (epoch_us(at), file_id, row_number) for at, file_id, row_number in rows]
    by_key = sorted(range(len(rows)), key=lambda i: keys[i][0])
    assert [rows[i] for i in by_key] == sorted(rows)
