"""The data sets the Spark tests evaluate: the sample's nights and a small synth set's, run through the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import copy_sample, invoke

SAMPLE_NIGHTS = ("2026-11-20T06:00:00Z", "2026-11-21T06:00:00Z")
# the synth set: two nights, small (a few seconds to make and run)
SYNTH = {"contacts": 800, "events": 4000, "lists": 3, "nights": 2}


def sample_pipeline(root: Path) -> tuple[Path, list[str]]:
    """The sample pipeline copied under `root`, and its nights' as-of times."""
    return copy_sample(root), list(SAMPLE_NIGHTS)


def synth_pipeline(data: Path, window: int | None = None) -> tuple[Path, list[str]]:
    """The synth set made in `data` (soft-bounce window set to `window` days if given): its pipeline
    file and its nights' as-of times."""
    invoke("synth", *[a for k, v in SYNTH.items() for a in (f"--{k}", v)], "--seed", 1, "--out", data)
    config = data / "pipeline.toml"
    nights = [night["as_of"] for night in json.loads((data / "synth.json").read_text())["nights"]]
    if window is not None:
        text, count = re.subn(
            r"(?m)^soft_bounce_window_days = \d+", f"soft_bounce_window_days = {window}", config.read_text()
        )
        assert count == 1, "the synth pipeline sets soft_bounce_window_days once"
        config.write_text(text)
    return config, nights


def suppression_lists_pipeline(root: Path) -> tuple[Path, list[str]]:
    """Contacts and two suppression lists (a partner's in clear, a service's hashed, in Parquet),
    over two nights: the partner's second list drops one address and lists another."""
    import hashlib

    import polars as pl

    root.mkdir(parents=True)
    (root / "pipeline.toml").write_text(
        '[store]\ndatabase = "state/store.duckdb"\noutput = "out"\n'
        '[[sources]]\nname = "crm"\nkind = "contacts"\npath = "contacts_*.csv"\n'
        '[[sources]]\nname = "acme"\nkind = "suppressions"\npath = "dnm_*.csv"\n'
        '[[sources]]\nname = "service"\nkind = "suppressions"\npath = "hashed_*.parquet"\n'
        "[policy]\nmax_list_drop_fraction = 1.0\n"
    )
    people = [f"p{i}@example.com" for i in range(12)]
    (root / "contacts_2026-11-19.csv").write_text(
        "contact_id,email,list_id\n"
        + "".join(f"C{i},{email},{('news', 'deals')[i % 2]}\n" for i, email in enumerate(people))
    )
    (root / "dnm_2026-11-19.csv").write_text(
        "email,list_id,reason,occurred_at\n"
        "P0@Example.com,,asked,2026-11-01T09:00:00Z\np1@example.com,deals,,\nstranger@example.com,,,\n"
    )
    (root / "dnm_2026-11-20.csv").write_text("email,list_id\np1@example.com,deals\np2@example.com,\n")
    hashed = [hashlib.sha256(e.encode()).hexdigest() for e in (people[3], people[4], "ghost@example.com")]
    pl.DataFrame({"email_sha256": hashed, "list_id": [None, "news", None]}).write_parquet(
        root / "hashed_2026-11-18.parquet"
    )
    return root / "pipeline.toml", ["2026-11-19T12:00:00Z", "2026-11-20T12:00:00Z"]
