"""A small pipeline whose campaign C-1 crosses sender thresholds at gmail.com, and at no other receiver."""

from __future__ import annotations

from pathlib import Path

import polars as pl

AS_OF = "2026-03-02T06:00:00Z"

# C-1 at gmail.com (googlemail.com counts as gmail.com): 200 messages, 10 hard bounces (5%: SES
# review) and 1 complaint over 190 deliveries (0.53%: every complaint threshold). outlook.com
# (hotmail.com counts as outlook.com): 150 clean deliveries. example.com: 1 complaint over 5
# deliveries, 20%, but too few messages to be judged.
GMAIL = [f"g{i}@gmail.com" for i in range(180)] + [f"gm{i}@googlemail.com" for i in range(20)]
OUTLOOK = [f"o{i}@outlook.com" for i in range(100)] + [f"h{i}@hotmail.com" for i in range(50)]
SMALL = [f"s{i}@example.com" for i in range(5)]
HARD = GMAIL[:10]
COMPLAINED = [GMAIL[50], SMALL[0]]

PIPELINE = """
[store]
database = "state/store.duckdb"
output = "out"

[[sources]]
name = "crm"
kind = "contacts"
path = "data/contacts_*.csv"

[[sources]]
name = "platform"
kind = "bounces"
path = "data/bounces.csv"

[policy]
max_list_drop_fraction = 0.5
"""


def write_crossing_pipeline(folder: Path, report: str = "") -> Path:
    """The pipeline file (with `report`, a [report] section's body, if given) and its data."""
    (folder / "data").mkdir(parents=True)
    everyone = GMAIL + OUTLOOK + SMALL
    pl.DataFrame(
        {"contact_id": [str(i) for i in range(len(everyone))], "email": everyone, "list_id": "offers"}
    ).write_csv(folder / "data" / "contacts_2026-03-01.csv")
    delivered = [a for a in everyone if a not in HARD]
    rows = [
        pl.DataFrame(
            {"email": HARD, "event": "bounce", "bounce_type": "hard", "smtp_code": 550}
        ).with_columns(enhanced_code=pl.lit("5.1.1"), diagnostic=pl.lit("550 5.1.1 user unknown")),
        pl.DataFrame({"email": delivered, "event": "delivered", "smtp_code": 250}),
        pl.DataFrame({"email": COMPLAINED, "event": "complaint"}),
    ]
    bounces = pl.concat(rows, how="diagonal").with_columns(
        occurred_at=pl.lit("2026-03-01T10:00:00Z"), campaign_id=pl.lit("C-1")
    )
    bounces.write_csv(folder / "data" / "bounces.csv")
    config = folder / "pipeline.toml"
    config.write_text(PIPELINE + (f"\n[report]\n{report}\n" if report else ""), "utf-8")
    return config
