"""`listhygiene export-suppressions` on the sample's two nights: hashed and clear, CSV and Parquet, per list."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import polars as pl
import pytest

from conftest import copy_sample, invoke

NIGHT_1 = "2026-11-20T06:00:00Z"
NIGHT_2 = "2026-11-21T06:00:00Z"


def sha256(address: str) -> str:
    return hashlib.sha256(address.encode("utf-8")).hexdigest()


# Night 2's suppressions of the seed stories, by normalized address: (scope, reason, since).
# Tom unsubscribed from a forwarded copy (exported as "Tom Baker <tom.baker@…>"), Ana from the
# preference centre in capitals (and her export row says do_not_allow on the newsletter), Priya
# clicked the one-click header of staff-news (the CSV re-import did not lift it).
STORIES = {
    "tom.baker@acme.example": {("global", "unsubscribed", "2026-11-20T14:05:00Z")},
    "ana.souza@example.org": {
        ("global", "unsubscribed", "2026-11-20T11:00:00Z"),
        ("newsletter", "source_unsubscribed", "2026-11-21T00:00:00Z"),
    },
    "priya@acme.example": {("staff-news", "list_unsubscribed", "2026-11-20T10:00:00Z")},
    "angry@example.com": {("global", "complaint", "2026-11-20T10:00:00Z")},
    "gone@example.com": {("global", "hard_bounce", "2026-11-20T07:30:00Z")},
}
# Spellings the inputs had, and the addresses: none may appear in a hashed file.
SPELLINGS = ("Tom Baker", "ANA.SOUZA", "@acme.example", "@example.org", "@example.com", "not-an-address")


@pytest.fixture(scope="module")
def nights(tmp_path_factory) -> tuple[Path, str, str]:
    """Both sample nights published; (config, night-1 run id, night-2 run id)."""
    config = copy_sample(tmp_path_factory.mktemp("export"))
    ids = []
    for as_of in (NIGHT_1, NIGHT_2):
        invoke("run", "--config", config, "--as-of", as_of)
        ids.append((config.parent.parent / "out/sample/latest").resolve().name.removeprefix("run_id="))
    return config, ids[0], ids[1]


def published_suppressions(config: Path, run_id: str) -> pl.DataFrame:
    return pl.read_parquet(config.parent.parent / f"out/sample/runs/run_id={run_id}/suppressions.parquet")


def csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_hashed_csv_holds_every_suppression_as_sha256_and_no_address(nights, tmp_path):
    config, _, night_2 = nights
    out = tmp_path / "suppressions.csv"
    result = invoke("export-suppressions", "--config", config, "--out", out)
    assert f"wrote {out}: 11 suppressions of 10 addresses (every scope), addresses hashed (sha256)" in (
        result.output
    )
    rows = csv_rows(out)
    assert list(rows[0]) == ["email_sha256", "scope", "reason", "since", "source", "origin"]
    exported = {(r["email_sha256"], r["scope"], r["reason"]) for r in rows}
    published = published_suppressions(config, night_2)
    assert exported == {(sha256(e), s, r) for e, s, r in published.select("email", "scope", "reason").rows()}
    for address, suppressions in STORIES.items():
        mine = {(r["scope"], r["reason"], r["since"]) for r in rows if r["email_sha256"] == sha256(address)}
        assert mine == suppressions, address
    assert all(len(r["email_sha256"]) == 64 and r["email_sha256"] == r["email_sha256"].lower() for r in rows)
    text = out.read_bytes()
    for spelling in SPELLINGS + tuple(published.get_column("email")):
        assert spelling.encode() not in text, spelling
    # two exports of one run are the same bytes (a total order)
    again = tmp_path / "again.csv"
    invoke("export-suppressions", "--config", config, "--out", again)
    assert again.read_bytes() == text


def test_list_keeps_global_and_that_lists_suppressions_in_parquet(nights, tmp_path):
    config, _, night_2 = nights
    out = tmp_path / "offers.parquet"
    invoke("export-suppressions", "--config", config, "--out", out, "--list", "offers")
    frame = pl.read_parquet(out)
    assert frame.columns == ["email_sha256", "scope", "reason", "since", "source", "origin"]
    published = published_suppressions(config, night_2).filter(pl.col("scope").is_in(["global", "offers"]))
    assert sorted(frame.select("email_sha256", "scope", "reason").rows()) == sorted(
        (sha256(e), s, r) for e, s, r in published.select("email", "scope", "reason").rows()
    )
    assert set(frame.get_column("scope")) == {"global", "offers"}  # cleaned@ is offers-only
    hashes = set(frame.get_column("email_sha256"))
    assert sha256("priya@acme.example") not in hashes  # her unsubscribe is staff-news only
    assert (sha256("ana.souza@example.org"), "newsletter") not in set(
        frame.select("email_sha256", "scope").rows()
    )
    assert frame.schema["since"] == pl.Datetime("us", "UTC")
    for column in ("scope", "reason", "source", "origin"):
        assert not frame.get_column(column).str.contains("@").any(), column


def test_clear_export_of_a_list_with_detail(nights, tmp_path):
    config, _, _ = nights
    out = tmp_path / "staff.csv"
    invoke("export-suppressions", "--config", config, "--out", out, "--hash", "none", "--list", "staff-news")
    rows = csv_rows(out)
    assert list(rows[0]) == ["email", "scope", "reason", "since", "source", "origin", "detail"]
    priya = [r for r in rows if r["email"] == "priya@acme.example"]
    assert [(r["scope"], r["reason"]) for r in priya] == [("staff-news", "list_unsubscribed")]
    assert "unsubscribes.csv row 5" in priya[0]["detail"]
    assert {r["scope"] for r in rows} == {"global", "staff-news"}
    assert [r["email"] for r in rows] == sorted(r["email"] for r in rows)


def test_an_earlier_run_by_its_id(nights, tmp_path):
    config, night_1, _ = nights
    out = tmp_path / "night1.csv"
    invoke("export-suppressions", "--config", config, "--out", out, "--run", night_1[:16])
    rows = csv_rows(out)
    hashes = {r["email_sha256"]: r["reason"] for r in rows if r["scope"] == "global"}
    # Tom's unsubscribe came after night 1's as-of; Eli's do_not_contact flag is night 2's export
    assert sha256("tom.baker@acme.example") not in hashes
    assert sha256("eli@example.net") not in hashes
    assert hashes[sha256("sam@realty.example")] == "unsubscribed"
    assert len(rows) == published_suppressions(config, night_1).height


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "{tmp}/suppressions.txt"], "must end in .csv or .parquet"),
        (["--out", "{tmp}/x.csv", "--list", "nope"], "--list 'nope' is not a list of run"),
        (["--out", "{tmp}/missing/x.csv"], "does not exist"),
        (["--out", "{tmp}/x.csv", "--run", "1999"], "no published run '1999'"),
        (["--out", "{tmp}/x.csv", "--hash", "md5"], "'md5' is not one of"),
    ],
)
def test_usage_errors_exit_2_and_write_nothing(nights, tmp_path, args, message):
    config, _, _ = nights
    result = invoke(
        "export-suppressions", "--config", config, *(a.format(tmp=tmp_path) for a in args), expect=2
    )
    assert message in result.output
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_replaced_only_with_force(nights, tmp_path):
    config, _, _ = nights
    out = tmp_path / "suppressions.csv"
    out.write_text("keep me\n")
    result = invoke("export-suppressions", "--config", config, "--out", out, expect=2)
    assert "exists already" in result.output
    assert out.read_text() == "keep me\n"
    invoke("export-suppressions", "--config", config, "--out", out, "--force")
    assert len(csv_rows(out)) == 11
    assert [p.name for p in tmp_path.iterdir()] == ["suppressions.csv"]  # no temp file left
