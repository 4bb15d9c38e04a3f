"""A store written by an earlier version gains the new columns when opened, keeping its rows."""

from __future__ import annotations

import duckdb

from listhygiene import store


def test_a_version_1_store_is_brought_up_to_date_without_losing_rows(tmp_path):
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        store.create_schema(con)
        for table, column in [
            ("input_files", "mtime_ns"),
            ("input_files", "format"),
            ("input_files", "records_read"),
            ("input_files", "records_ignored"),
            ("bounce_events", "event_ref"),
            ("bounce_events", "platform"),
            ("unsubscribe_events", "event_ref"),
            ("unsubscribe_events", "platform"),
            ("quarantine", "contact_id"),
            ("quarantine", "list_id"),
            ("quarantine", "email"),
        ]:
            con.execute(f'alter table {table} drop column "{column}"')
        con.execute("update store_meta set value = '1' where key = 'schema_version'")
        con.execute("insert into quarantine values (1, 1, 'email', 'email is empty', '{}')")

    con = store.connect(path)
    try:
        columns = {
            r[0]
            for r in con.execute(
                "select column_name from duckdb_columns() where table_name = 'bounce_events'"
            ).fetchall()
        }
        assert {"event_ref", "platform"} <= columns
        assert con.execute("select value from store_meta where key = 'schema_version'").fetchall() == [
            (str(store.SCHEMA_VERSION),)
        ]
        assert con.execute("select count(*) from quarantine").fetchall() == [(1,)]
        # version 5: a quarantined row keeps its record's identity; older rows have none
        assert con.execute("select contact_id, list_id, email from quarantine").fetchall() == [
            (None, None, None)
        ]
    finally:
        con.close()
