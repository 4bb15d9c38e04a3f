"""The models' shared SQL macros: what they compute, on values at the edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from listhygiene.rules import runner

moments = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC))
seen = st.tuples(moments, st.integers(1, (1 << 24) - 1), st.integers(1, (1 << 40) - 1))


def epoch_us(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def connection() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(runner.model_sql("_macros"))
    return con


@settings(max_examples=60, deadline=None)
@given(st.lists(seen, min_size=2, max_size=6))
def test_seen_key_sorts_as_its_parts_and_gives_them_back(rows):
    """max(seen_key) is the last (snapshot_at, file_id, row_number): the key orders as the
    tuple does (before 1970 too), and the macros read each part back."""
    con = connection()
    keys = [
        con.execute(
            "select k, epoch_us(seen_at(k)), seen_file_id(k), seen_row_number(k) "
            "from (select seen_key(make_timestamptz(?), ?::integer, ?::bigint) as k)",
            [epoch_us(at), file_id, row_number],
        ).fetchone()
        for at, file_id, row_number in rows
    ]
    assert [(at, file_id, row_number) for _, at, file_id, row_number in keys] == [
        (epoch_us(at), file_id, row_number) for at, file_id, row_number in rows
    ]
    by_key = sorted(range(len(rows)), key=lambda i: keys[i][0])
    assert [rows[i] for i in by_key] == sorted(rows)


causes = st.tuples(
    st.integers(0, 3),
    st.sampled_from(["a", "b", "B", "é", ""]),
    st.sampled_from(["export", "platform"]),
    st.sampled_from(["crm", "esp", None]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), causes), min_size=1, max_size=12))
def test_first_cause_is_the_earliest_then_by_detail_with_its_own_origin_and_source(rows):
    """first_cause(...) per group is the cause that starts first, ties broken by detail, and
    the detail, origin and source it gives back are that one cause's, never mixed from two."""
    con = connection()
    con.execute(
        "create table causes (g integer, starts timestamptz, detail varchar, origin varchar, source varchar)"
    )
    con.executemany(
        "insert into causes values (?, make_timestamptz(?::bigint * 60000000), ?, ?, ?)",
        [(g, *cause) for g, cause in rows],
    )
    got = {
        g: (minute, detail, origin, source)
        for g, minute, detail, origin, source in con.execute(
            "select g, epoch_us(f.starts) // 60000000, f.detail, f.origin, f.source "
            "from (select g, first_cause(starts, detail, origin, source) as f from causes group by g)"
        ).fetchall()
    }
    expected = {}
    for g, cause in rows:
        # DuckDB orders text by bytes and puts null last
        key = (cause[0], cause[1].encode(), cause[2], (cause[3] is None, cause[3] or ""))
        if g not in expected or key < expected[g][0]:
            expected[g] = (key, cause)
    assert got == {g: cause for g, (_, cause) in expected.items()}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, (1 << 24) - 1), st.integers(1, 3), st.integers(1, 6)),
        min_size=1,
        max_size=8,
        unique_by=lambda r: r[1:],
    )
)
def test_record_key_finds_the_best_row_and_says_when_its_tier_has_another(rows):
    """min(record_key) is the first row by (tier, file, row); record_key_ties is true exactly
    when another row shares its tier, where record_rank would compare contact ids first."""
    con = connection()
    con.execute("create table r (tier bigint, file_id integer, row_number bigint)")
    con.executemany("insert into r values (?, ?, ?)", rows)
    [(tier, file_id, row_number, ties)] = con.execute(
        "select (k >> 64)::bigint, seen_file_id(k), seen_row_number(k), record_key_ties(k, kr) "
        "from (select min(record_key(tier, file_id, row_number)) as k, "
        "min(record_key_reversed(record_key(tier, file_id, row_number))) as kr from r)"
    ).fetchall()
    best = min(rows)
    assert (tier, file_id, row_number) == best
    assert ties == (sum(1 for r in rows if r[0] == best[0]) > 1)
