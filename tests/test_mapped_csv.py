"""Any CSV through a mapping in the pipeline file: renames, value maps, time zone, delimiter, encoding."""

from __future__ import annotations

import gzip
import shutil
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from listhygiene.config import load_config
from listhygiene.errors import ConfigError
from listhygiene.ingest.reading import read_input

from conftest import invoke

FIXTURES = Path(__file__).parent / "data" / "mapped"

CRM_MAPPING = """
[[sources]]
name = "crm"
kind = "contacts"
format = "csv"
path = "crm/*.csv*"
delimiter = ";"
encoding = "windows-1252"
time_zone = "Europe/Berlin"

[sources.columns]
"Kontakt-ID" = "contact_id"
"E-Mail-Adresse" = "email"
"liste" = "list_id"          # matched case-insensitively, like every header
"Bestätigt am" = "confirmed_at"

[sources.values.status]
"Aktiv" = "subscribed"
"ausstehend" = "pending"
"""


def pipeline(tmp_path: Path, sources: str = CRM_MAPPING, extra: str = "") -> Path:
    (tmp_path / "crm").mkdir(exist_ok=True)
    shutil.copy(FIXTURES / "crm_export_2026-11-21.csv", tmp_path / "crm")
    config = tmp_path / "pipeline.toml"
    config.write_text(f"""
[store]
database = "state/store.duckdb"
output = "out"
{sources}
[lists.newsletter]
require_confirmed_optin = true

[policy]
max_quarantine_fraction = 0.5
{extra}""")
    return config


def read_crm(config: Path, name: str = "crm_export_2026-11-21.csv"):
    source = load_config(config).sources[0]
    return read_input(
        config.parent / "crm" / name, source=source.name, kind=source.kind, mapping=source.mapping
    )


def test_a_windows_1252_semicolon_export_reads_with_renames_and_value_maps(tmp_path):
    result = read_crm(pipeline(tmp_path))
    rows = result.rows.sort("row_number")
    assert rows.select("contact_id", "email_raw", "list_id", "status").rows() == [
        ("K-1", "Jürgen.Müller@Example.de", "newsletter", "subscribed"),
        ("K-2", "anna@example.de", "newsletter", "unsubscribed"),  # "Do Not Allow": a built-in spelling
        ("K-3", "bob@example.de", "offers", "pending"),
    ]
    # unmapped columns stay attributes, decoded from Windows-1252
    assert rows["attributes"].to_list() == ['{"Stadt":"Köln"}', '{"Stadt":"München"}', '{"Stadt":"Berlin"}']
    # a naive time is a Berlin wall-clock time (CET in November: UTC+1)
    assert rows["confirmed_at"][0] == datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
    assert result.quarantine.select("row_number", "column", "error").rows() == [
        (4, "email", "email is empty")
    ]


def test_a_word_the_value_map_does_not_know_is_quarantined_with_the_word(tmp_path):
    config = pipeline(tmp_path)
    path = tmp_path / "crm" / "crm_export_2026-11-21.csv"
    path.write_bytes(path.read_bytes() + "K-5;eve@example.de;offers;Gesperrt;;Bonn\r\n".encode("cp1252"))
    result = read_crm(config)
    assert result.quarantine.filter(pl.col("row_number") == 5)["error"][0] == (
        "unknown status 'Gesperrt' (expected one of subscribed, unsubscribed, pending, cleaned)"
    )


def test_gzip_and_a_tab_delimiter(tmp_path):
    text = (FIXTURES / "crm_export_2026-11-21.csv").read_bytes().replace(b";", b"\t")
    config = pipeline(tmp_path, CRM_MAPPING.replace('delimiter = ";"', 'delimiter = "\\t"'))
    (tmp_path / "crm" / "crm_export_2026-11-21.csv").unlink()
    (tmp_path / "crm" / "crm_export_2026-11-21.csv.gz").write_bytes(gzip.compress(text))
    result = read_crm(config, "crm_export_2026-11-21.csv.gz")
    assert result.rows.height == 3
    assert result.rows["email_raw"][0] == "Jürgen.Müller@Example.de"


def test_end_to_end_the_mapped_crm_decides_the_lists(tmp_path):
    config = pipeline(tmp_path)
    invoke("run", "--config", config, "--as-of", "2026-11-22T00:00:00Z")
    status = pl.read_parquet(tmp_path / "out" / "latest" / "contact_status.parquet")
    assert sorted(status.select("email", "list_id", "sendable", "reason").rows()) == [
        ("anna@example.de", "newsletter", False, "source_unsubscribed"),
        ("bob@example.de", "offers", False, "unconfirmed"),  # export status pending
        (
            "jürgen.müller@example.de",
            "newsletter",
            True,
            None,
        ),  # confirmed, so the double opt-in list takes it
    ]


@pytest.mark.parametrize(
    "change, message",
    [
        ('time_zone = "Europe/Berlin"', ('time_zone = "Mars/Olympus"', "not a known IANA time zone")),
        ('encoding = "windows-1252"', ('encoding = "klingon"', "not a known text encoding")),
        ('delimiter = ";"', ('delimiter = ";;"', "delimiter must be one character")),
        ('"Kontakt-ID" = "contact_id"', ('"Kontakt-ID" = "kontakt"', "which is not a contacts column")),
        ("[sources.values.status]", ("[sources.values.mood]", "'mood' is not a contacts column")),
        ('format = "csv"', ('format = "excel"', "format 'excel' is not one of")),
    ],
)
def test_a_wrong_mapping_is_a_config_error_naming_the_key(tmp_path, change, message):
    old, (new, expected) = change, message
    config = pipeline(tmp_path, CRM_MAPPING.replace(old, new))
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert expected in str(caught.value)
    assert "(crm)" in str(caught.value)
    result = invoke("run", "--config", config, expect=2)
    assert expected in result.output


def test_mapping_keys_belong_to_their_formats(tmp_path):
    sources = CRM_MAPPING.replace('format = "csv"', 'format = "ses"')
    with pytest.raises(ConfigError, match="key 'columns' does not apply to format 'ses'"):
        load_config(pipeline(tmp_path, sources))
    plain = '[[sources]]\nname = "crm"\nkind = "contacts"\npath = "crm/*.csv"\ngroups = { "1" = "x" }\n'
    with pytest.raises(ConfigError, match="key 'groups' does not apply to a source without a format"):
        load_config(pipeline(tmp_path, plain))


def test_platform_sources_may_leave_kind_out_but_others_may_not(tmp_path):
    plain = '[[sources]]\nname = "crm"\npath = "crm/*.csv"\n'
    with pytest.raises(ConfigError, match=r"kind is required"):
        load_config(pipeline(tmp_path, plain))
    ses = plain.replace("path", 'format = "ses"\npath').replace("crm/*.csv", "ses/*.jsonl")
    contacts = '[[sources]]\nname = "c"\nkind = "contacts"\npath = "crm/*.csv"\n'
    config = load_config(pipeline(tmp_path, contacts + ses))
    assert [(s.name, s.kind, s.file_kind, s.format) for s in config.sources] == [
        ("c", "contacts", "contacts", None),
        ("crm", None, "bounces", "ses"),
    ]


def test_a_crm_log_with_its_own_words_is_read_and_a_resent_row_counts_once(tmp_path):
    (tmp_path / "crm").mkdir()
    (tmp_path / "crm" / "contacts_2026-11-21.csv").write_text(
        "contact_id,email,list_id\nC1,kim@example.com,offers\nC2,lou@example.com,offers\n"
    )
    log = (
        "Email|Changed|Preference|Scope|Channel|Ticket\n"
        "kim@example.com|2026-11-20 10:00|Do Not Allow||Web|T-1\n"
        "kim@example.com|2026-11-20 10:00|Do Not Allow||Web|T-1\n"  # the CRM sent it twice
        "lou@example.com|2026-11-20 11:00|Unsubscribe|offers|Web|T-2\n"
        "lou@example.com|2026-11-20 12:00|Nope||Web|T-3\n"
    )
    (tmp_path / "crm" / "preferences.csv").write_text(log)
    config = tmp_path / "pipeline.toml"
    config.write_text("""
[store]
database = "state/store.duckdb"
output = "out"

[[sources]]
name = "crm"
kind = "contacts"
path = "crm/contacts_*.csv"

[[sources]]
name = "preferences"
kind = "unsubscribes"
format = "csv"
delimiter = "|"
time_zone = "America/New_York"
path = "crm/preferences.csv"
[sources.columns]
"Changed" = "occurred_at"
"Preference" = "event"
"Scope" = "list_id"
"Channel" = "source"
"Ticket" = "evidence_ref"
[sources.values.event]
"Do Not Allow" = "unsubscribe"
[sources.values.source]
"Web" = "contact"

[policy]
max_quarantine_fraction = 0.5
""")
    invoke("run", "--config", config, "--as-of", "2026-11-22T00:00:00Z")
    status = pl.read_parquet(tmp_path / "out" / "latest" / "contact_status.parquet")
    assert sorted(status.select("email", "reason", "reason_at").rows()) == [
        ("kim@example.com", "unsubscribed", datetime(2026, 11, 20, 15, tzinfo=UTC)),  # 10:00 in New York
        ("lou@example.com", "list_unsubscribed", datetime(2026, 11, 20, 16, tzinfo=UTC)),
    ]
    quarantine = pl.read_parquet(tmp_path / "out" / "latest" / "quarantine.parquet")
    assert quarantine.select("row_number", "error").rows() == [
        (
            4,
            "unknown event 'Nope' (expected one of unsubscribe, resubscribe, complaint, do_not_contact, do_contact)",
        )
    ]
    import duckdb

    with duckdb.connect(str(tmp_path / "state" / "store.duckdb"), read_only=True) as con:
        assert con.sql(
            "select row_number, is_duplicate from unsubscribe_events "
            "where email = 'kim@example.com' order by row_number"
        ).fetchall() == [(1, False), (2, True)]
