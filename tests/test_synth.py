"""listhygiene synth: data sets that run end to end in every format, sized as asked, the same bytes for a seed."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from conftest import invoke, read

SMALL = {"contacts": 2_000, "events": 10_000, "lists": 3, "nights": 2}
EXTENSIONS = {"csv": ".csv", "csv.gz": ".csv.gz", "parquet": ".parquet"}


def synth(out: Path, file_format: str = "csv", seed: int = 1, **sizes) -> Path:
    args = {**SMALL, **sizes}
    invoke(
        "synth",
        *[a for key, value in args.items() for a in (f"--{key}", value)],
        "--seed",
        seed,
        "--format",
        file_format,
        "--out",
        out,
    )
    return out


def read_input(path: Path) -> pl.DataFrame:
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    return pl.read_csv(path, infer_schema=False)


@pytest.fixture(scope="module", params=list(EXTENSIONS))
def published(request, tmp_path_factory):
    """A small data set in one format, both nights run; returns (data folder, night 1, night 2)."""
    out = synth(tmp_path_factory.mktemp(request.param.replace(".", "_")) / "data", request.param)
    nights = json.loads((out / "synth.json").read_text())["nights"]
    runs = []
    for night in nights:
        invoke("-q", "run", "--config", out / "pipeline.toml", "--as-of", night["as_of"])
        runs.append((out / "out" / "latest").resolve())
    return out, runs[0], runs[1]


def test_every_night_publishes_sendable_lists(published):
    _, first, second = published
    for run in (first, second):
        sendable = read(run, "sendable").group_by("list_id").len()
        assert sorted(sendable["list_id"]) == ["newsletter", "offers", "product-updates"]
        assert sendable["len"].min() > 200


def test_the_second_night_reports_vanished_rows_with_several_reasons(published):
    _, _, second = published
    reasons = set(read(second, "vanished")["reason"])
    assert len(reasons) >= 4, reasons
    assert {"not_in_source", "source_unsubscribed"} <= reasons


def test_the_data_exercises_every_kind_of_rule(published):
    _, _, second = published
    status = read(second, "contact_status")
    assert {
        "complaint",
        "hard_bounce",
        "unsubscribed",
        "do_not_contact",
        "list_unsubscribed",
        "source_unsubscribed",
        "source_cleaned",
        "soft_bounce_limit",
        "unconfirmed",
        "not_in_source",
    } <= set(status["reason"].drop_nulls())
    assert read(second, "blocked_resubscribes").height > 0
    assert "invalid_address" in set(read(second, "suppressions")["reason"])
    # duplicates: several records behind one normalized address
    assert status.group_by("email", "list_id").len()["len"].max() == 1
    manifest = json.loads((second / "manifest.json").read_text())
    assert all(f["rows_quarantined"] <= max(1, f["rows_read"] // 1000) for f in manifest["inputs"])


def test_row_counts_are_as_requested(published):
    out, _, _ = published
    ext = next(e for f, e in EXTENSIONS.items() if (out / f"contacts_2026-11-20{e}").exists())
    for day in ("2026-11-20", "2026-11-21"):
        contacts = read_input(out / f"contacts_{day}{ext}")
        assert contacts["contact_id"].n_unique() == SMALL["contacts"]
        assert contacts.height > SMALL["contacts"]  # several lists per contact
    logs = {
        day: sum(read_input(out / f"{kind}_{day}{ext}").height for kind in ("unsubscribes", "bounces"))
        for day in ("2026-11-20", "2026-11-21")
    }
    assert sum(logs.values()) == SMALL["events"]
    assert 0.005 < logs["2026-11-21"] / SMALL["events"] < 0.02  # the second night adds ~1%


@pytest.mark.parametrize("file_format", ["csv.gz", "parquet"])
def test_same_seed_same_bytes(tmp_path, file_format):
    sizes = {"contacts": 600, "events": 3_000, "nights": 3}
    first = synth(tmp_path / "a", file_format, **sizes)
    again = synth(tmp_path / "b", file_format, **sizes)
    other = synth(tmp_path / "c", file_format, seed=2, **sizes)
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    assert len(names) == 3 * 3 + 3  # three files a night, pipeline.toml, SYNTH.md, synth.json
    for name in names:
        assert (first / name).read_bytes() == (again / name).read_bytes(), name
    assert (first / f"bounces_2026-11-19{EXTENSIONS[file_format]}").read_bytes() != (
        other / f"bounces_2026-11-19{EXTENSIONS[file_format]}"
    ).read_bytes()


@pytest.mark.parametrize(
    "args",
    [
        ["--contacts", "0"],
        ["--events", "-1"],
        ["--lists", "0"],
        ["--lists", "101"],
        ["--nights", "0"],
        ["--format", "xml"],
        ["--start", "21/11/2026"],
        ["--seed", "-3"],
    ],
)
def test_invalid_options_exit_2(tmp_path, args):
    result = invoke("synth", "--out", tmp_path / "out", *args, expect=2)
    assert "Invalid value" in result.output
    assert not (tmp_path / "out").exists()


def test_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "contacts_old.csv").write_text("contact_id,email\n")
    result = invoke("synth", "--contacts", "10", "--out", tmp_path, expect=2)
    assert "not an empty folder" in result.output
