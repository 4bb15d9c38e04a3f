"""The floor: DuckDB alone, one SQL statement over a night's input files, writing Parquet.

Run: python benchmarks/floor.py FOLDER FORMAT OUT.parquet
(FOLDER holds contacts_*, unsubscribes_* and bounces_* files of FORMAT: csv, csv.gz or parquet).

The yardstick, not a competitor: read the contacts and the two logs, normalize the address
as lower(trim(email)), take per address the latest unsubscribe time and the bounce count, left
join, keep rows with no unsubscribe and under 4 bounces, write Parquet. Keep it that simple.
CSV is read as text (all_varchar): the logs carry a few malformed timestamps, and ISO 8601
text orders like the times it spells.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

EXTENSIONS = {"csv": ".csv", "csv.gz": ".csv.gz", "parquet": ".parquet"}

FLOOR_SQL = """
COPY (
    WITH contacts AS (
        SELECT *, lower(trim(email)) AS address FROM {contacts}
    ),
    unsubscribed AS (
        SELECT lower(trim(email)) AS address, max(occurred_at) AS unsubscribed_at
        FROM {unsubscribes} WHERE event = 'unsubscribe' GROUP BY 1
    ),
    bounced AS (
        SELECT lower(trim(email)) AS address, count(*) AS bounces
        FROM {bounces} WHERE event = 'bounce' GROUP BY 1
    )
    SELECT contacts.* FROM contacts
    LEFT JOIN unsubscribed USING (address)
    LEFT JOIN bounced USING (address)
    WHERE unsubscribed_at IS NULL AND coalesce(bounces, 0) < 4
) TO '{out}' (FORMAT parquet)
"""


def reader(folder: Path, kind: str, file_format: str) -> str:
    """The table function reading every file of one kind in the folder."""
    pattern = str(folder / f"{kind}_*{EXTENSIONS[file_format]}").replace("'", "''")
    if file_format == "parquet":
        return f"read_parquet('{pattern}')"
    return f"read_csv('{pattern}', all_varchar = true)"


def floor_sql(folder: Path, file_format: str, out: Path) -> str:
    return FLOOR_SQL.format(
        contacts=reader(folder, "contacts", file_format),
        unsubscribes=reader(folder, "unsubscribes", file_format),
        bounces=reader(folder, "bounces", file_format),
        out=str(out).replace("'", "''"),
    )


def main() -> None:
    if len(sys.argv) != 4 or sys.argv[2] not in EXTENSIONS:
        sys.exit(__doc__.split("\n\n")[1])
    folder, file_format, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    duckdb.connect(":memory:").execute(floor_sql(folder, file_format, out)).fetchall()


if __name__ == "__main__":
    main()
