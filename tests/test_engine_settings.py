"""The DuckDB settings every run works under: memory bound, spill folder, and plans that scale."""

from __future__ import annotations

import os

from listhygiene import store
from listhygiene.rules import runner

from scenario import Scenario


def setting(con, name: str) -> str:
    [(value,)] = con.execute("select current_setting(?)", [name]).fetchall()
    return str(value)


def test_the_store_is_opened_with_a_memory_limit_and_a_spill_folder_beside_it(tmp_path, monkeypatch):
    monkeypatch.setenv("LISTHYGIENE_MEMORY_LIMIT", "300MiB")
    database = tmp_path / "store.duckdb"
    con = store.connect(database)
    try:
        assert setting(con, "memory_limit") == "300.0 MiB"
        assert setting(con, "temp_directory") == f"{database}.tmp"
        assert setting(con, "preserve_insertion_order") == "False"
    finally:
        con.close()


def test_without_a_setting_duckdb_gets_a_quarter_of_the_machine_at_most_2_5_gib(tmp_path, monkeypatch):
    monkeypatch.delenv("LISTHYGIENE_MEMORY_LIMIT", raising=False)
    page, pages = os.sysconf("SC_PAGE_SIZE"), os.sysconf("SC_PHYS_PAGES")
    expected = min(page * pages // 4, store.DEFAULT_MEMORY_LIMIT) >> 20
    con = store.connect(tmp_path / "store.duckdb")
    try:
        assert store.DEFAULT_MEMORY_LIMIT == 2560 << 20
        assert setting(con, "memory_limit") == (
            f"{expected / 1024:.1f} GiB" if expected >= 1024 else f"{expected:.1f} MiB"
        )
    finally:
        con.close()


def test_loading_gives_duckdb_three_quarters_of_its_limit_then_all_of_it(tmp_path, monkeypatch):
    """polars' batches sit beside DuckDB while the inputs load: DuckDB gets less meanwhile."""
    import duckdb
    import pytest

    from listhygiene.store import database

    monkeypatch.setenv("LISTHYGIENE_MEMORY_LIMIT", "2GiB")
    con = store.connect(tmp_path / "store.duckdb")
    try:
        with database.loading_memory(con):
            assert setting(con, "memory_limit") == "1.5 GiB"
        assert setting(con, "memory_limit") == "2.0 GiB"
        # a transaction DuckDB aborted while loading: its own error comes out, not the SET's
        con.begin()
        with pytest.raises(duckdb.InvalidInputException, match="broken"):
            with database.loading_memory(con):
                con.execute("select error('broken')")
        con.rollback()
        monkeypatch.setenv("LISTHYGIENE_MEMORY_LIMIT", "100MiB")  # never under 128 MiB, nor over the limit
        with database.loading_memory(con):
            assert setting(con, "memory_limit") == "100.0 MiB"
    finally:
        con.close()


def test_soft_bounce_streaks_joins_each_campaign_to_its_last_reset_by_a_sorted_asof_join(tmp_path):
    """DuckDB runs an ASOF join as a nested loop when it estimates the left side under 64 rows;
    on a filtered, grouped input that estimate can be far off (600k campaigns at 5M contacts:
    52 s instead of 0.7 s). tune_engine turns the loop off; small tables show the plan."""
    s = Scenario().export("2026-11-01", {"contact_id": "C1", "email": "a@example.com", "list_id": "news"})
    s.bounces(
        *(
            {
                "email": "a@example.com",
                "occurred_at": f"2026-11-0{day}",
                "campaign_id": f"c{day}",
                "bounce_type": "soft",
                "smtp_code": 452,
                "enhanced_code": "4.2.2",
            }
            for day in range(2, 7)
        )
    )
    s.evaluate("2026-11-08")
    store.tune_engine(s.con, tmp_path / "scratch.duckdb")
    plan = "\n".join(
        row[1] for row in s.con.execute(f"explain {runner.model_sql('soft_bounce_streaks')}").fetchall()
    )
    assert "Asof Join" in plan, plan  # without the setting: a "Nested Loop Join" of type RIGHT
