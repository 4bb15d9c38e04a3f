"""A partner's do-not-mail list (CSV, in clear) and a suppression service's (Parquet, hashed) through the CLI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl

from conftest import invoke

PIPELINE = """
[store]
database = "state/store.duckdb"
output = "out"

[[sources]]
name = "crm"
kind = "contacts"
path = "contacts_*.csv"

[[sources]]
name = "acme"
kind = "suppressions"
path = "acme/dnm_*.csv"

[[sources]]
name = "service"
kind = "suppressions"
path = "service/*.parquet"

[policy]
max_list_drop_fraction = 1.0
max_quarantine_fraction = 0.5
"""

CONTACTS = (
    "contact_id,email,list_id,status\n"
    "C1,ann@example.com,news,subscribed\n"
    "C1,ann@example.com,deals,subscribed\n"
    "C2,Bob@Example.com,news,subscribed\n"
    "C2,Bob@Example.com,deals,subscribed\n"
    "C3,cy@example.com,news,subscribed\n"
)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def workspace(tmp_path: Path) -> Path:
    (tmp_path / "acme").mkdir()
    (tmp_path / "service").mkdir()
    (tmp_path / "pipeline.toml").write_text(PIPELINE)
    (tmp_path / "contacts_2026-11-20.csv").write_text(CONTACTS)
    return tmp_path / "pipeline.toml"


def outputs(tmp_path: Path, name: str) -> pl.DataFrame:
    return pl.read_parquet(tmp_path / "out" / "latest" / f"{name}.parquet", hive_partitioning=False)


def test_partner_and_service_lists_suppress_until_the_partner_drops_an_address(tmp_path):
    config = workspace(tmp_path)
    (tmp_path / "acme" / "dnm_2026-11-19.csv").write_text(
        "Email,List_ID,Reason,Occurred_At\n"
        "ANN@example.com,,asked the partner,2026-11-01T09:00:00Z\n"
        "cy@example.com,news,,\n"
        "dee@example.com,,,\n"
    )
    pl.DataFrame(
        {
            "email_sha256": [sha("bob@example.com"), sha("nobody@example.com"), "12ab"],
            "list_id": ["deals"] * 3,
        }
    ).write_parquet(tmp_path / "service" / "hashed_2026-11-18.parquet")

    invoke("-q", "run", "--config", config, "--as-of", "2026-11-20T06:00:00Z")
    status = {
        (r["email"], r["list_id"]): r for r in outputs(tmp_path, "contact_status").iter_rows(named=True)
    }
    assert status["ann@example.com", "news"]["reason"] == "external_suppression"
    assert status["ann@example.com", "news"]["transactional_ok"]
    assert status["ann@example.com", "news"]["detail"] == (
        'on suppression list "acme" (reason "asked the partner") since 2026-11-01T09:00Z '
        "(acme:dnm_2026-11-19.csv row 1)"
    )
    assert status["bob@example.com", "deals"]["reason"] == "external_suppression"
    assert status["bob@example.com", "news"]["sendable"]
    assert status["cy@example.com", "news"]["reason"] == "external_suppression"
    suppressions = outputs(tmp_path, "suppressions").select("email", "scope", "reason", "source").rows()
    assert sorted(suppressions) == [
        ("ann@example.com", "global", "external_suppression", "acme"),
        ("bob@example.com", "deals", "external_suppression", "service"),
        ("cy@example.com", "news", "external_suppression", "acme"),
        ("dee@example.com", "global", "external_suppression", "acme"),
    ]
    quarantine = outputs(tmp_path, "quarantine")
    assert quarantine.select("source", "row_number", "error").rows() == [
        ("service", 3, "email_sha256 '12ab' is not a SHA-256 in hex (expected 64 characters 0-9, a-f)")
    ]
    manifest = json.loads((tmp_path / "out" / "latest" / "manifest.json").read_text())
    kinds = {Path(i["path"]).name: i for i in manifest["inputs"]}
    assert kinds["hashed_2026-11-18.parquet"]["rows_quarantined"] == 1

    # explain names the list, and what would lift it
    explained = json.loads(invoke("-q", "explain", "ann@example.com", "--config", config, "--json").output)
    [news] = [entry for entry in explained["lists"] if entry["list_id"] == "news"]
    [reason] = news["reasons"]
    assert reason["reason"] == "external_suppression"
    assert "acme suppression list dropping the address" in reason["lifted_by"]
    assert any(event["kind"] == "suppression_list" for event in explained["timeline"])

    # the partner's next list no longer holds Ann: she may be mailed again
    (tmp_path / "acme" / "dnm_2026-11-21.csv").write_text("email,list_id\ncy@example.com,news\n")
    invoke("-q", "run", "--config", config, "--as-of", "2026-11-21T06:00:00Z")
    status = {
        (r["email"], r["list_id"]): r for r in outputs(tmp_path, "contact_status").iter_rows(named=True)
    }
    assert status["ann@example.com", "news"]["sendable"]
    assert status["cy@example.com", "news"]["reason_at"].isoformat() == "2026-11-19T00:00:00+00:00"
    assert "dee@example.com" not in outputs(tmp_path, "suppressions")["email"].to_list()


def test_a_list_without_an_address_column_fails_the_run_naming_file_and_columns(tmp_path):
    config = workspace(tmp_path)
    (tmp_path / "acme" / "dnm_2026-11-19.csv").write_text("address,list_id\nann@example.com,\n")
    result = invoke("run", "--config", config, "--as-of", "2026-11-20T06:00:00Z", expect=3)
    assert "dnm_2026-11-19.csv" in result.output
    assert "'email' or 'email_sha256'" in result.output
    assert not (tmp_path / "out" / "latest").exists()


def test_a_zero_byte_list_is_refused_and_a_source_without_files_is_a_warning(tmp_path):
    config = workspace(tmp_path)
    result = invoke("run", "--config", config, "--as-of", "2026-11-20T06:00:00Z")
    assert "suppressions source 'acme' matches no file" in result.output
    (tmp_path / "acme" / "dnm_2026-11-21.csv").write_text("")
    result = invoke("run", "--config", config, "--as-of", "2026-11-21T06:00:00Z", expect=3)
    assert "zero-byte suppression list" in result.output
