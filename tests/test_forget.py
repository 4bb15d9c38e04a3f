"""`listhygiene forget` on the sample: erasure proven by scanning bytes and values, tombstones that
keep the address suppressed, fresh consent that brings it back, and a killed forget."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from listhygiene.checkpoints import FORGET_POINTS
from listhygiene.privacy.spellings import bytes_pattern, spellings_of, sql_pattern

from conftest import copy_sample, invoke

NIGHT_1 = "2026-11-20T06:00:00Z"
NIGHT_2 = "2026-11-21T06:00:00Z"
TOM = "tom.baker@acme.example"
# How the sample's inputs spell Tom: the exports say "Tom Baker <Tom.Baker@ACME.example>"
TOM_SPELLINGS = (b"tom.baker@acme.example", b"Tom.Baker@ACME.example", b"TOM.BAKER@ACME.EXAMPLE")
ANA = "ana.souza@example.org"


def store_file(config: Path) -> Path:
    return config.parent.parent / "state" / "sample.duckdb"


def output(config: Path) -> Path:
    return config.parent.parent / "out" / "sample"


def two_nights(tmp_path: Path) -> Path:
    config = copy_sample(tmp_path)
    for as_of in (NIGHT_1, NIGHT_2):
        invoke("run", "--config", config, "--as-of", as_of)
    return config


def bytes_holding(paths, needle: bytes) -> list[Path]:
    """The files whose bytes hold `needle`, in any letter case."""
    pattern = re.compile(re.escape(needle), re.IGNORECASE)
    return [p for p in paths if p.is_file() and pattern.search(p.read_bytes())]


def values_holding(config: Path, address: str) -> list[str]:
    """Every table column of the store and Parquet file column under the output folder that holds
    `address` as text (values are compressed on disk: a byte scan alone could miss them)."""
    found = []
    con = duckdb.connect(str(store_file(config)), read_only=True)
    try:
        for table, column in con.execute(
            "select table_name, column_name from duckdb_columns() "
            "where database_name = current_database() and data_type in ('VARCHAR', 'JSON')"
        ).fetchall():
            [(n,)] = con.execute(
                f'select count(*) from "{table}" where contains(lower("{column}"::varchar), ?)', [address]
            ).fetchall()
            if n:
                found.append(f"store {table}.{column}")
    finally:
        con.close()
    for path in sorted(output(config).rglob("*.parquet")):
        frame = pl.read_parquet(path)
        for column, dtype in frame.schema.items():
            if (
                dtype == pl.String
                and frame[column].str.to_lowercase().str.contains(address, literal=True).any()
            ):
                found.append(f"{path.relative_to(output(config))} {column}")
    return found


def every_file(config: Path) -> list[Path]:
    return [store_file(config), *sorted(p for p in output(config).rglob("*") if p.is_file())]


def key_of(config: Path) -> bytes:
    line = [
        x
        for x in store_file(config).with_name("sample.duckdb.key").read_text().splitlines()
        if not x.startswith("#")
    ]
    return bytes.fromhex(line[-1].split()[1])


def tombstone_of(config: Path, address: str) -> str:
    return hmac.new(key_of(config), address.encode(), hashlib.sha256).hexdigest()


def test_forget_erases_every_spelling_from_the_store_and_every_published_run(tmp_path):
    config = two_nights(tmp_path)
    # the scans can see Tom before: in the store's values and the runs' files
    assert values_holding(config, TOM)
    assert bytes_holding(every_file(config), TOM_SPELLINGS[0])
    ana_before = pl.read_parquet(output(config) / "latest" / "contact_status.parquet").filter(
        pl.col("email") == ANA
    )

    result = invoke("forget", "Tom Baker <TOM.BAKER@acme.example>", "--config", config, "--note", "DSR-2291")
    assert "forgotten: t***@acme.example" in result.output
    assert "proof: no spelling in" in result.output
    assert TOM not in result.output

    assert values_holding(config, TOM) == []
    for spelling in TOM_SPELLINGS:
        assert bytes_holding(every_file(config), spelling) == []
    # what is left is the tombstone: the keyed hash of the normalized address, from the key file
    # kept outside the store; Tom's rows are kept under its pseudonym
    hashed = tombstone_of(config, TOM)
    con = duckdb.connect(str(store_file(config)), read_only=True)
    try:
        assert con.execute("select email_hmac, key_id, note, lifted_at from tombstones").fetchall() == [
            (hashed, "k1", "DSR-2291", None)
        ]
        rows = con.execute(
            "select email_raw, attributes from contact_rows where email = ?", [f"forgotten:{hashed}"]
        ).fetchall()
        assert rows and all(r == (None, None) for r in rows)
    finally:
        con.close()
    assert key_of(config).hex().encode() not in store_file(config).read_bytes()
    # other people's rows are untouched, and every run still reads
    latest = output(config) / "latest"
    ana_after = pl.read_parquet(latest / "contact_status.parquet").filter(pl.col("email") == ANA)
    assert ana_after.equals(ana_before)
    status = pl.read_parquet(latest / "contact_status.parquet")
    assert status.filter(pl.col("email") == f"forgotten:{hashed}").height == 1
    # the published sendable rows of Tom (night 1) keep the list, not the person's attributes
    night_1 = sorted((output(config) / "runs").iterdir())[0]
    tom_rows = pl.read_parquet(night_1 / "sendable.parquet").filter(pl.col("email") == f"forgotten:{hashed}")
    assert tom_rows.height == 1 and tom_rows["first_name"].to_list() == [None]
    assert tom_rows["list_id"].to_list() == ["staff-news"]


def test_a_second_forget_changes_nothing(tmp_path):
    config = two_nights(tmp_path)
    invoke("forget", TOM, "--config", config)
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in every_file(config)}
    result = invoke("forget", "TOM.BAKER@ACME.EXAMPLE", "--config", config)
    assert "already forgotten (nothing changed): t***@acme.example" in result.output
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in every_file(config)} == before


def test_forget_lists_the_input_files_that_still_hold_the_address_and_never_edits_them(tmp_path):
    config = two_nights(tmp_path)
    data = tmp_path / "data" / "sample"
    inputs = {p: p.read_bytes() for p in data.iterdir()}
    result = invoke("forget", TOM, "--config", config)
    listed = {
        Path(line.rsplit(": ", 1)[1]).name for line in result.output.splitlines() if "still holds" in line
    }
    assert listed == {"contacts_2026-11-20.csv", "contacts_2026-11-21.csv", "unsubscribes.csv"}
    assert {p: p.read_bytes() for p in data.iterdir()} == inputs


def later(moment: datetime, **delta) -> str:
    return (moment + timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_forgotten_address_stays_suppressed_until_fresh_consent_after_the_erasure(tmp_path):
    config = two_nights(tmp_path)
    invoke("forget", TOM, "--config", config)
    erased_at = datetime.now(UTC)
    hashed = tombstone_of(config, TOM)
    data = tmp_path / "data" / "sample"
    # the CRM was not told: tomorrow's export lists Tom again; and an old re-sent sign-up, dated
    # before the erasure, is no fresh consent
    export = (data / "contacts_2026-11-21.csv").read_text()
    (data / f"contacts_{erased_at:%Y-%m-%d}.csv").write_text(export)
    (data / "unsubscribes_resent.csv").write_text(
        "email,occurred_at,event,list_id,source,evidence,evidence_ref\n"
        f"tom.baker@acme.example,{NIGHT_2},resubscribe,,contact,signup_form,old-form\n"
    )
    invoke("run", "--config", config, "--as-of", later(erased_at, minutes=5))
    latest = output(config) / "latest"
    status = pl.read_parquet(latest / "contact_status.parquet").filter(pl.col("email").str.contains("tom"))
    assert status.height == 0  # the new rows went in under the tombstone
    tombstoned = pl.read_parquet(latest / "contact_status.parquet").filter(
        pl.col("email") == f"forgotten:{hashed}"
    )
    assert tombstoned.select("reason", "sendable", "transactional_ok").rows() == [("forgotten", False, False)]
    manifest = json.loads((latest / "manifest.json").read_text())
    assert manifest["privacy"] == {"rows_under_tombstones": 2, "tombstones_lifted": 0}
    assert values_holding(config, TOM) == []
    suppressions = pl.read_parquet(latest / "suppressions.parquet").filter(pl.col("reason") == "forgotten")
    assert suppressions.select("email", "scope").rows() == [(f"forgotten:{hashed}", "global")]

    # a sign-up after the erasure is fresh consent: Tom is back, in clear, and sendable
    (data / "unsubscribes_signup.csv").write_text(
        "email,occurred_at,event,list_id,source,evidence,evidence_ref\n"
        f"Tom.Baker@ACME.example,{later(erased_at, minutes=10)},resubscribe,,contact,signup_form,form-77\n"
    )
    (data / f"contacts_{erased_at:%Y-%m-%d}b.csv").write_text(export)
    invoke("run", "--config", config, "--as-of", later(erased_at, minutes=15))
    status = pl.read_parquet(latest.resolve().parent.parent / "latest" / "contact_status.parquet")
    assert status.filter(pl.col("email") == TOM).select("list_id", "sendable").rows() == [
        ("staff-news", True)
    ]
    manifest = json.loads(((output(config) / "latest") / "manifest.json").read_text())
    assert manifest["privacy"]["tombstones_lifted"] == 1
    ledger = pl.read_parquet(output(config) / "latest" / "consent_ledger.parquet").filter(
        pl.col("email") == TOM
    )
    assert ledger.sort("occurred_at")["kind"].to_list() == ["erasure", "resubscribe"]
    # as of a moment between the erasure and the sign-up, Tom is still forgotten
    replay = invoke("run", "--config", config, "--as-of", later(erased_at, minutes=8))
    [folder] = [line.split(": ", 1)[1] for line in replay.output.splitlines() if line.startswith("outputs: ")]
    status = pl.read_parquet(Path(folder) / "contact_status.parquet").filter(pl.col("email") == TOM)
    assert status.select("reason", "sendable").rows() == [("forgotten", False)]


def test_a_forgotten_addresss_event_sent_twice_in_one_night_counts_once(tmp_path):
    """Rows of a forgotten address are held back while the night's files load and stored last,
    under the tombstone: the night's repeated events are marked after that, so the same
    unsubscribe in two of tonight's logs is stored twice and counted once."""
    config = two_nights(tmp_path)
    invoke("forget", TOM, "--config", config)
    text = f"email,occurred_at,event,list_id,source,evidence,evidence_ref\ntom.baker@acme.example,{NIGHT_2},unsubscribe,,contact,,\n"
    # the same rows in other bytes (a log's content already loaded is not loaded again)
    (tmp_path / "data" / "sample" / "unsubscribes_resent_a.csv").write_text(text)
    (tmp_path / "data" / "sample" / "unsubscribes_resent_b.csv").write_text(text.replace("\n", "\r\n"))
    invoke("run", "--config", config, "--as-of", later(datetime.now(UTC), minutes=5))
    con = duckdb.connect(str(store_file(config)), read_only=True)
    try:
        marks = con.execute(
            """select e.email, e.is_duplicate from unsubscribe_events e join input_files f using (file_id)
               where f.path like '%unsubscribes_resent_%' order by f.path"""
        ).fetchall()
    finally:
        con.close()
    assert marks == [
        (f"forgotten:{tombstone_of(config, TOM)}", False),
        (f"forgotten:{tombstone_of(config, TOM)}", True),
    ]


def test_transactional_mail_is_blocked_for_a_forgotten_address(tmp_path):
    config = two_nights(tmp_path)
    invoke("forget", TOM, "--config", config)
    invoke("run", "--config", config)
    status = pl.read_parquet(output(config) / "latest" / "contact_status.parquet")
    assert status.filter(pl.col("reason") == "forgotten")["transactional_ok"].to_list() == [False]


def start_forget(config: Path, point: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "listhygiene.cli", "forget", TOM, "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "LISTHYGIENE_PAUSE_AT": point},
    )


@pytest.mark.parametrize("point", FORGET_POINTS)
def test_a_killed_forget_leaves_the_old_state_or_the_new_never_half(tmp_path, point):
    config = two_nights(tmp_path)
    process = start_forget(config, point)
    for line in process.stderr:  # type: ignore[union-attr]
        if f"paused at {point}" in line:
            break
    else:
        raise AssertionError(f"forget never reached {point}")
    process.send_signal(signal.SIGKILL)
    process.wait()
    # the next command that takes the lock (a nightly run) finishes or undoes it first
    invoke("run", "--config", config, "--as-of", "2026-11-22T06:00:00Z")
    leftovers = [p for p in tmp_path.rglob("*") if "forget-" in p.name]
    assert leftovers == []
    if point == "forget-prepared":  # before the journal: nothing happened
        assert values_holding(config, TOM)
        invoke("forget", TOM, "--config", config)
    assert values_holding(config, TOM) == []
    for spelling in TOM_SPELLINGS:
        assert bytes_holding(every_file(config), spelling) == []


def test_spellings_stop_at_the_edges_of_an_address():
    spellings = spellings_of(["ana@x.com"], ["Ana <ANA@X.com>"])
    assert spellings == ["ANA@X.com", "ana@x.com"]
    pattern = sql_pattern(spellings)
    replaced = duckdb.execute(
        "select regexp_replace(t, $p, '\\1[forgotten]\\3', 'g') from (values "
        "('diana@x.com'), ('ana@x.community'), ('mail ANA@X.com. ok'), ('<ana@x.com>'), ('ana@x.com')) v(t)",
        {"p": pattern},
    ).fetchall()
    assert [r for (r,) in replaced] == [
        "diana@x.com",
        "ana@x.community",
        "mail [forgotten]. ok",
        "<[forgotten]>",
        "[forgotten]",
    ]
    found = bytes_pattern(spellings)
    assert found.search(b"diana@x.com") is None and found.search(b"x;Ana@x.COM;") is not None


@pytest.mark.parametrize("category", ["transactional", "marketing"])
def test_clean_recognizes_a_forgotten_address_by_its_keyed_hash(tmp_path, category):
    config = two_nights(tmp_path)
    invoke("forget", TOM, "--config", config)
    invoke("run", "--config", config)
    audience = tmp_path / "audience.csv"
    audience.write_text("email,first_name\nTom.Baker@ACME.example,Tom\nmegan@acme.example,Megan\n")
    out, removed = tmp_path / "kept.csv", tmp_path / "removed.csv"
    list_args = ["--list", "staff-news"] if category == "marketing" else []
    invoke(
        "clean",
        audience,
        "--config",
        config,
        "--category",
        category,
        *list_args,
        "--out",
        out,
        "--removed",
        removed,
    )
    assert pl.read_csv(out)["email"].to_list() == ["megan@acme.example"]
    assert pl.read_csv(removed).select("email", "reason").rows() == [("Tom.Baker@ACME.example", "forgotten")]
    # without the key the run's tombstones cannot be recognized: clean refuses rather than send
    store_file(config).with_name("sample.duckdb.key").unlink()
    result = invoke(
        "clean",
        audience,
        "--config",
        config,
        "--category",
        category,
        *list_args,
        "--out",
        tmp_path / "k2.csv",
        expect=2,
    )
    assert "privacy key file" in result.output


def test_export_suppressions_leaves_tombstones_out(tmp_path):
    config = two_nights(tmp_path)
    invoke("forget", TOM, "--config", config)
    invoke("run", "--config", config)
    out = tmp_path / "suppressions.csv"
    invoke("export-suppressions", "--config", config, "--hash", "none", "--out", out)
    exported = pl.read_csv(out)
    published = pl.read_parquet(output(config) / "latest" / "suppressions.parquet")
    assert published.filter(pl.col("email").str.starts_with("forgotten:")).height == 2
    assert exported.height == published.height - 2
    assert not exported["email"].str.starts_with("forgotten:").any()


def test_explain_finds_a_forgotten_address_by_its_tombstone(tmp_path):
    config = two_nights(tmp_path)
    invoke("forget", TOM, "--config", config, "--note", "DSR-2291")
    invoke("run", "--config", config)
    hashed = tombstone_of(config, TOM)
    text = invoke("explain", "Tom Baker <Tom.Baker@ACME.example>", "--config", config).output
    assert "erased on request at" in text and "(note: DSR-2291)" in text and f"forgotten:{hashed}" in text
    answer = json.loads(invoke("-q", "explain", TOM, "--config", config, "--json").output)
    assert answer["forgotten"]["pseudonym"] == f"forgotten:{hashed}"
    assert [entry["reasons"][0]["reason"] for entry in answer["lists"]] == ["forgotten"]
    assert [e["kind"] for e in answer["consent_ledger"]] == ["unsubscribe", "erasure"]


def test_forget_erases_a_partner_lists_clear_row_and_keeps_the_address_suppressed(tmp_path):
    config = copy_sample(tmp_path)
    text = config.read_text().replace(
        "[lists.newsletter]",
        '[[sources]]\nname = "acme"\nkind = "suppressions"\npath = "../data/sample/dnm_*.csv"\n\n[lists.newsletter]',
    )
    config.write_text(text)
    (tmp_path / "data" / "sample" / "dnm_2026-11-20.csv").write_text(
        "email,reason\nTom Baker <TOM.BAKER@acme.example>,asked our partner\nmegan@acme.example,\n"
    )
    for as_of in (NIGHT_1, NIGHT_2):
        invoke("run", "--config", config, "--as-of", as_of)
    invoke("forget", TOM, "--config", config)
    assert values_holding(config, TOM) == []
    con = duckdb.connect(str(store_file(config)), read_only=True)
    try:
        rows = con.execute(
            "select email, email_raw, email_sha256, reason from suppression_rows order by row_number"
        ).fetchall()
    finally:
        con.close()
    assert rows[0] == (f"forgotten:{tombstone_of(config, TOM)}", None, None, None)
    assert rows[1][0] == "megan@acme.example"


def test_the_proof_fails_when_a_spelling_is_left_in_the_store_or_in_a_published_file(tmp_path):
    """The proof is what makes forget trustworthy: it must raise, naming the file, when any
    spelling is left, in the store's bytes or in a Parquet file's values, in any letter case."""
    from listhygiene.privacy.proof import ErasureIncomplete, _first_parquet_holding, prove_erased

    database = tmp_path / "store.duckdb"
    output = tmp_path / "out"
    (output / "runs" / "r1").mkdir(parents=True)
    database.write_bytes(b"\x00" * 1000 + b"nothing here" + b"\x00" * 1000)
    clean = output / "runs" / "r1" / "sendable.parquet"
    pl.DataFrame({"email": ["diana@x.example", "bob@x.example"]}).write_parquet(clean)
    spellings = ["ana@x.example", "Ana@X.example"]
    assert prove_erased(database, output, spellings) == 2  # diana@ is not ana@

    database.write_bytes(b"\x00" * 1000 + b"ANA@x.EXAMPLE;" + b"\x00" * 1000)
    with pytest.raises(ErasureIncomplete, match=re.escape(str(database))):
        prove_erased(database, output, spellings)

    database.write_bytes(b"\x00" * 1000)
    held = output / "runs" / "r1" / "contact_status.parquet"
    pl.DataFrame({"email": ["bob@x.example"] * 1000 + ["ana@x.example"], "n": range(1001)}).write_parquet(
        held, compression="zstd"
    )
    assert _first_parquet_holding([clean, held], spellings) == held  # the values, whatever the bytes show
    with pytest.raises(ErasureIncomplete, match=re.escape("contact_status.parquet")):
        prove_erased(database, output, spellings)
