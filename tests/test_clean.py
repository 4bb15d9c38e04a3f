"""`listhygiene clean` on audience files against the sample's newest run: rows kept, rows removed, why."""

from __future__ import annotations

import csv
import gzip
import io
import re
import shutil
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from conftest import copy_sample, invoke

NIGHT_1 = "2026-11-20T06:00:00Z"
NIGHT_2 = "2026-11-21T06:00:00Z"
AUDIENCES = Path(__file__).parent / "data" / "audiences"
# Addresses seen only in the logs: a complaint, and a hard bounce.
EXTRA_LOGS = {
    "unsubscribes_extra.csv": "email,occurred_at,event,source\n"
    "stranger@example.com,2026-11-19T08:00:00Z,complaint,complaint\n",
    "bounces_extra.csv": "email,occurred_at,event,campaign_id,smtp_code,enhanced_code,diagnostic\n"
    "ghost@example.com,2026-11-19T08:00:00Z,bounce,C-16,550,5.1.1,550 5.1.1 user unknown\n",
}


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """The sample's two nights published (the second is the newest), with two log-only addresses."""
    config = copy_sample(tmp_path_factory.mktemp("clean"))
    for name, text in EXTRA_LOGS.items():
        (config.parent.parent / "data/sample" / name).write_text(text)
    for as_of in (NIGHT_1, NIGHT_2):
        invoke("run", "--config", config, "--as-of", as_of)
    return config


def read_csv_rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return list(csv.reader(handle))


# (audience, options, removed: {data row number: reason}); every other row is kept
CASES = {
    "offers marketing": (
        "offers.csv",
        ["--list", "offers"],
        {
            2: "unsubscribed",
            3: "unsubscribed",
            5: "complaint",
            7: "do_not_contact",
            8: "hard_bounce",
            9: "soft_bounce_limit",
            10: "not_in_source",
            11: "unconfirmed",
            12: "source_cleaned",
            13: "invalid_address",
            14: "unsubscribed",
            15: "not_on_list",
            16: "complaint",
            17: "duplicate",
            19: "invalid_address",
            20: "hard_bounce",
        },
    ),
    "offers transactional": (
        "offers.csv",
        ["--category", "transactional"],
        {8: "hard_bounce", 13: "invalid_address", 17: "duplicate", 19: "invalid_address", 20: "hard_bounce"},
    ),
    "staff-news, BOM and CRLF": (
        "staff_news_bom_crlf.csv",
        ["--list", "staff-news"],
        {1: "unsubscribed", 3: "list_unsubscribed", 5: "duplicate"},
    ),
    "email column named on the command line": (
        "contact_column.csv",
        ["--list", "staff-news", "--email-column", "contact"],
        {3: "not_on_list"},
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_clean_keeps_sendable_rows_as_they_were_and_removes_the_rest_with_reasons(published, tmp_path, case):
    name, options, removed_reasons = CASES[case]
    out = tmp_path / "clean.csv"
    invoke("clean", AUDIENCES / name, "--config", published, *options, "--out", out)

    header, *rows = read_csv_rows(AUDIENCES / name)
    kept = [row for number, row in enumerate(rows, start=1) if number not in removed_reasons]
    assert read_csv_rows(out) == [header, *kept]
    removed_header, *removed = read_csv_rows(tmp_path / "clean.removed.csv")
    assert removed_header == [*header, "reason", "detail"]
    assert [r[:-2] for r in removed] == [row for n, row in enumerate(rows, start=1) if n in removed_reasons]
    assert [r[-2] for r in removed] == [removed_reasons[n] for n in sorted(removed_reasons)]
    assert all(r[-1] for r in removed)  # every removal says why


def test_details_say_why_with_lineage(published, tmp_path):
    out = tmp_path / "offers_clean.csv"
    invoke("clean", AUDIENCES / "offers.csv", "--config", published, "--list", "offers", "--out", out)
    details = {row[0]: row[-1] for row in read_csv_rows(tmp_path / "offers_clean.removed.csv")[1:]}
    assert details["3"] == (
        "global unsubscribe (contact) on campaign C-15, 2026-11-19T12:30Z "
        "(platform_unsubscribes:unsubscribes.csv row 3)"
    )
    assert "(platform_unsubscribes:unsubscribes_extra.csv row 1)" in details["16"]
    assert details["13"] == '"not-an-address" is not a valid address'
    assert details["17"] == "same address as row 1"
    assert details["19"] == "no address in column 'Email'"
    assert details["15"].startswith("not a member of offers in run 20261121T060000Z-")
    assert details["11"].startswith("export status pending")


def test_bom_crlf_and_quoted_fields_are_written_back_as_they_came(published, tmp_path):
    out = tmp_path / "staff.csv"
    invoke(
        "clean",
        AUDIENCES / "staff_news_bom_crlf.csv",
        "--config",
        published,
        "--list",
        "staff-news",
        "--out",
        out,
    )
    assert (
        out.read_bytes()
        == (
            "\ufeffFirst name,Last name,E-Mail,Notes\r\n"
            'Megan,M,megan@acme.example,"line one\r\nline two"\r\n'
            "Li,Wei,li.wei@acme.example,signed up again\r\n"
        ).encode()
    )
    removed = (tmp_path / "staff.removed.csv").read_bytes()
    assert removed.startswith("\ufeffFirst name,Last name,E-Mail,Notes,reason,detail\r\n".encode())
    assert (
        b'Tom,Baker,Tom Baker <Tom.Baker@ACME.example>,"forwarded the newsletter, a colleague '
        b'clicked unsubscribe",unsubscribed,'
    ) in removed


def test_gzipped_csv_is_read_and_written_back_plain(published, tmp_path):
    audience = tmp_path / "staff.csv.gz"
    audience.write_bytes(gzip.compress((AUDIENCES / "staff_news_bom_crlf.csv").read_bytes()))
    invoke("clean", audience, "--config", published, "--list", "staff-news", "--out", tmp_path / "staff.csv")
    assert (
        (tmp_path / "staff.csv")
        .read_bytes()
        .startswith("\ufeffFirst name,Last name,E-Mail,Notes\r\n".encode())
    )
    assert [row[2] for row in read_csv_rows(tmp_path / "staff.csv")[1:]] == [
        "megan@acme.example",
        "li.wei@acme.example",
    ]


def test_nested_parquet_columns_need_a_parquet_output(published, tmp_path):
    audience = tmp_path / "nested.parquet"
    pl.DataFrame({"email": ["megan@acme.example"], "tags": [["vip", "staff"]]}).write_parquet(audience)
    result = invoke(
        "clean",
        audience,
        "--config",
        published,
        "--list",
        "staff-news",
        "--out",
        tmp_path / "out.csv",
        expect=2,
    )
    assert "column 'tags' holds lists or structs" in result.stderr and not (tmp_path / "out.csv").exists()
    invoke(
        "clean", audience, "--config", published, "--list", "staff-news", "--out", tmp_path / "out.parquet"
    )
    assert pl.read_parquet(tmp_path / "out.parquet")["tags"].to_list() == [["vip", "staff"]]


def offers_parquet(tmp_path: Path) -> Path:
    """offers.csv as typed Parquet: an integer id, a date and a boolean column beside the text."""
    frame = pl.read_csv(AUDIENCES / "offers.csv", infer_schema=False).with_columns(
        pl.col("id").cast(pl.Int64),
        joined=pl.date_range(date(2026, 1, 1), date(2026, 1, 20), eager=True),
        vip=pl.int_range(0, 20, eager=True) % 3 == 0,
    )
    path = tmp_path / "offers.parquet"
    frame.write_parquet(path)
    return path


def test_parquet_in_parquet_out_keeps_types_and_order(published, tmp_path):
    audience = offers_parquet(tmp_path)
    out = tmp_path / "clean.parquet"
    invoke("clean", audience, "--config", published, "--list", "offers", "--out", out)
    original = pl.read_parquet(audience)
    removed_ids = set(CASES["offers marketing"][2])
    assert pl.read_parquet(out).equals(original.filter(~pl.col("id").is_in(removed_ids)))
    removed = pl.read_parquet(tmp_path / "clean.removed.parquet")
    assert removed.columns == [*original.columns, "reason", "detail"]
    assert removed.drop("reason", "detail").equals(original.filter(pl.col("id").is_in(removed_ids)))
    assert removed["reason"].to_list() == [CASES["offers marketing"][2][i] for i in sorted(removed_ids)]


def test_formats_follow_the_output_names(published, tmp_path):
    """CSV in, Parquet out (text columns); Parquet in, CSV out (values as text)."""
    out = tmp_path / "from_csv.parquet"
    invoke(
        "clean",
        AUDIENCES / "offers.csv",
        "--config",
        published,
        "--list",
        "offers",
        "--out",
        out,
        "--removed",
        tmp_path / "removed.csv",
    )
    kept = pl.read_parquet(out)
    assert kept.columns == ["id", "Name", "Email", "Note"] and kept.schema["id"] == pl.String
    assert kept["id"].to_list() == ["1", "4", "6", "18"]
    assert read_csv_rows(tmp_path / "removed.csv")[0][-2:] == ["reason", "detail"]

    out = tmp_path / "from_parquet.csv"
    invoke("clean", offers_parquet(tmp_path), "--config", published, "--list", "offers", "--out", out)
    header, *rows = read_csv_rows(out)
    assert header == ["id", "Name", "Email", "Note", "joined", "vip"]
    assert [r[0] for r in rows] == ["1", "4", "6", "18"] and rows[0][4:] == ["2026-01-01", "true"]


def test_summary_counts_kept_and_removed_by_reason(published, tmp_path):
    result = invoke(
        "clean",
        AUDIENCES / "offers.csv",
        "--config",
        published,
        "--list",
        "offers",
        "--out",
        tmp_path / "clean.csv",
    )
    first, header, _, *rows = result.stdout.splitlines()
    assert "(list offers, marketing) against run 20261121T060000Z-" in first
    assert "addresses from column 'Email'" in first
    assert header.split() == ["rows", "reason", "count", "file"]
    cells = [re.split(r"\s{2,}", row.strip()) for row in rows]
    assert cells[0] == ["kept", "4", str(tmp_path / "clean.csv")]
    assert cells[-1] == ["total", "20"]
    removed = {c[1]: int(c[2]) for c in cells if c[0] == "removed"}
    assert removed["unsubscribed"] == 3 and removed["duplicate"] == 1 and sum(removed.values()) == 16
    assert {c[3] for c in cells if c[0] == "removed"} == {str(tmp_path / "clean.removed.csv")}
    reasons = list(removed)
    assert reasons == [
        "complaint",
        "hard_bounce",
        "unsubscribed",
        "do_not_contact",
        "source_cleaned",
        "soft_bounce_limit",
        "invalid_address",
        "unconfirmed",
        "not_in_source",
        "not_on_list",
        "duplicate",
    ]  # SPEC precedence, then clean's own


def test_header_only_audience_gives_header_only_files(published, tmp_path):
    audience = tmp_path / "empty.csv"
    audience.write_text("Email,Name\n")
    invoke("clean", audience, "--config", published, "--list", "offers", "--out", tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_text() == "Email,Name\n"
    assert (tmp_path / "out.removed.csv").read_text() == "Email,Name,reason,detail\n"


def test_audience_columns_named_reason_and_detail_are_kept(published, tmp_path):
    audience = tmp_path / "has_reason.csv"
    audience.write_text("email,reason\ntom.baker@acme.example,newsletter promo\n")
    invoke("clean", audience, "--config", published, "--list", "staff-news", "--out", tmp_path / "o.csv")
    assert read_csv_rows(tmp_path / "o.removed.csv") == [
        ["email", "reason", "listhygiene_reason", "listhygiene_detail"],
        [
            "tom.baker@acme.example",
            "newsletter promo",
            "unsubscribed",
            "global unsubscribe (contact) on campaign C-16, 2026-11-20T14:05Z "
            "(platform_unsubscribes:unsubscribes.csv row 8)",
        ],
    ]


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as workbook:
        workbook.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


BAD_AUDIENCES = {
    "no email column": (
        AUDIENCES / "no_email_column.csv",
        [],
        ["no_email_column.csv", "no email column", "'name', 'phone'", "--email-column"],
    ),
    "semicolon separated": (AUDIENCES / "semicolons.csv", [], ["no email column", "separated by ';'"]),
    "more fields than the header": (
        AUDIENCES / "extra_field.csv",
        [],
        ["extra_field.csv", "row 2", "more fields than the header's 2"],
    ),
    "two email columns": (AUDIENCES / "two_email_columns.csv", [], ["appears 2 times", "--email-column"]),
    "email column named wrongly": (
        AUDIENCES / "offers.csv",
        ["--email-column", "mail_addr"],
        ["no column named 'mail_addr'", "'Email'"],
    ),
    "an Excel workbook": (_zip_bytes(), [], ["ZIP archive", "Save the sheet as CSV"]),
    "binary": (bytes(range(256)) * 8, [], ["binary, not a CSV"]),
    "zero bytes": (b"", [], ["empty (zero bytes)"]),
    "no such file": (None, [], ["file not found"]),
    "truncated Parquet": (b"PAR1" + b"\x00" * 64, [], ["cannot read the Parquet file"]),
}


@pytest.mark.parametrize("case", sorted(BAD_AUDIENCES))
def test_unusable_audience_exits_3_and_writes_nothing(published, tmp_path, case):
    source, options, fragments = BAD_AUDIENCES[case]
    if isinstance(source, Path):
        audience = tmp_path / source.name
        shutil.copy(source, audience)
    else:
        audience = tmp_path / "audience.csv"
        if source is not None:
            audience.write_bytes(source)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = invoke(
        "clean",
        audience,
        "--config",
        published,
        "--list",
        "offers",
        *options,
        "--out",
        tmp_path / "clean.csv",
        expect=3,
    )
    for fragment in fragments:
        assert fragment in result.stderr, f"{fragment!r} not in {result.stderr!r}"
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_existing_outputs_are_not_replaced_without_force(published, tmp_path):
    out, removed = tmp_path / "clean.csv", tmp_path / "clean.removed.csv"
    removed.write_text("keep me\n")
    result = invoke(
        "clean", AUDIENCES / "offers.csv", "--config", published, "--list", "offers", "--out", out, expect=2
    )
    assert "clean.removed.csv exists already" in result.stderr and "--force" in result.stderr
    assert not out.exists() and removed.read_text() == "keep me\n"

    invoke(
        "clean", AUDIENCES / "offers.csv", "--config", published, "--list", "offers", "--out", out, "--force"
    )
    assert len(read_csv_rows(out)) == 5 and len(read_csv_rows(removed)) == 17


@pytest.mark.parametrize(
    "options, message",
    [
        (["--list", "ofers"], "list 'ofers' is not in run 20261121T060000Z-"),
        ([], "marketing mail goes to a list: pass --list"),
        (["--list", "offers", "--removed", "{out}"], "--out and --removed are the same file"),
        (["--list", "offers", "--out", "{tmp}/clean.txt"], "must end in .csv or .parquet"),
        (["--list", "offers", "--out", "{tmp}/no/such/folder/clean.csv"], "does not exist"),
        (["--list", "offers", "--category", "bulk"], "'bulk' is not one of 'marketing', 'transactional'"),
    ],
)
def test_usage_errors_exit_2(published, tmp_path, options, message):
    out = tmp_path / "clean.csv"
    options = [o.format(out=out, tmp=tmp_path) for o in options]
    if "--out" not in options:
        options += ["--out", str(out)]
    result = invoke("clean", AUDIENCES / "offers.csv", "--config", published, *options, expect=2)
    assert message in result.stderr
    assert not out.exists()


def test_nothing_published_yet_exits_2(tmp_path):
    config = copy_sample(tmp_path)
    result = invoke(
        "clean",
        AUDIENCES / "offers.csv",
        "--config",
        config,
        "--list",
        "offers",
        "--out",
        tmp_path / "clean.csv",
        expect=2,
    )
    assert "no published run" in result.stderr


def test_clean_reads_only_published_outputs_so_a_run_going_on_does_not_stop_it(published, tmp_path):
    database = published.parent.parent / "state/sample.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(database)!r}); "
            "print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        invoke(
            "clean",
            AUDIENCES / "offers.csv",
            "--config",
            published,
            "--list",
            "offers",
            "--out",
            tmp_path / "clean.csv",
        )
    finally:
        holder.kill()
        holder.wait()
    assert len(read_csv_rows(tmp_path / "clean.csv")) == 5
