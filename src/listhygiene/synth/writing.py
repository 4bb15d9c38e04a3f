"""Writing a synthetic data set: every night's files in blocks, then pipeline.toml, SYNTH.md, synth.json."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import IO, cast

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from listhygiene.errors import ConfigError
from listhygiene.synth.bounces import bounce_rows
from listhygiene.synth.contacts import contact_rows, present_records
from listhygiene.synth.description import Night, WrittenFile, pipeline_toml, synth_md
from listhygiene.synth.realism import HISTORY_DAYS, UNSUBSCRIBE_ROWS_PER_CONTACT
from listhygiene.synth.spec import GENERATOR_VERSION, SynthSpec
from listhygiene.synth.unsubscribes import unsubscribe_rows
from listhygiene.synth.world import World, build_world

BLOCK_ROWS = 500_000  # rows generated and written at a time: memory stays flat at any size


class _TableWriter:
    """Appends blocks of rows to one file: one CSV header, one gzip stream, Parquet row groups."""

    def __init__(self, path: Path, file_format: str):
        self.path, self.file_format, self.rows = path, file_format, 0
        self._raw: IO[bytes] | None = None  # the file
        self._handle: IO[bytes] | None = None  # what the CSV goes into: the file, or a gzip stream into it
        self._parquet: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    def write(self, frame: pl.DataFrame) -> None:
        if self.file_format == "parquet":
            table = frame.to_arrow()
            if self._parquet is None:
                self._schema = table.schema
                self._parquet = pq.ParquetWriter(self.path, self._schema, compression="snappy")
            self._parquet.write_table(table.cast(self._schema))
        else:
            first = self._handle is None
            if self._handle is None:
                raw = open(self.path, "wb")  # noqa: SIM115  (closed by close(), after the last batch)
                # mtime 0 and no name in the header: the same rows give the same bytes
                # (a GzipFile is a binary stream; typeshed does not declare it an IO[bytes])
                self._handle = (
                    cast(IO[bytes], gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0))
                    if self.file_format == "csv.gz"
                    else raw
                )
                self._raw = raw
            frame.write_csv(self._handle, include_header=first)
        self.rows += frame.height

    def close(self) -> int:
        if self._parquet is not None:
            self._parquet.close()
        if self._handle is not None:
            self._handle.close()
            if self._raw is not None and self._handle is not self._raw:
                self._raw.close()
        return self.rows


def _event_counts(spec: SynthSpec) -> tuple[list[int], list[int]]:
    """Unsubscribe-log and bounce-log rows per night: the history first, then one day a night."""
    unsubscribes = min(round(spec.contacts * UNSUBSCRIBE_ROWS_PER_CONTACT), spec.events // 4)
    shares = np.array([HISTORY_DAYS] + [1] * (spec.nights - 1), dtype=np.float64)
    return _split(unsubscribes, shares), _split(spec.events - unsubscribes, shares)


def _split(total: int, shares: np.ndarray) -> list[int]:
    """total split in proportion to shares, in whole rows that add up to total."""
    bounds = np.floor(total * np.cumsum(shares) / shares.sum() + 1e-9).astype(np.int64)
    bounds[-1] = total
    return np.diff(np.concatenate([[0], bounds])).tolist()


def generate(spec: SynthSpec, out: Path, progress: Callable[[str], None] = lambda _: None) -> list[Night]:
    """Write every night's files, pipeline.toml, SYNTH.md and synth.json into out (empty or new)."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(
            f"--out {out} is not an empty folder; synth writes into a new or empty "
            "folder so that the pipeline's globs match only the files it writes."
        )
    out.mkdir(parents=True, exist_ok=True)
    world = build_world(spec)
    unsubscribes, bounces = _event_counts(spec)
    typed = spec.file_format == "parquet"
    nights = []
    for night, day in enumerate(spec.night_dates):
        stamp = day.isoformat()
        files = [
            _write(
                out / f"contacts_{stamp}{spec.extension}",
                spec,
                "contacts",
                _contact_blocks(world, night, typed),
            ),
            _write(
                out / f"unsubscribes_{stamp}{spec.extension}",
                spec,
                "unsubscribes",
                _event_blocks(world, night, unsubscribes[night], typed, unsubscribe_rows),
            ),
            _write(
                out / f"bounces_{stamp}{spec.extension}",
                spec,
                "bounces",
                _event_blocks(world, night, bounces[night], typed, bounce_rows),
            ),
        ]
        for f in files:
            progress(f"wrote {f.name} ({f.rows:,} rows)")
        nights.append(Night(night + 1, stamp, f"{stamp}T06:00:00Z", files))
    (out / "pipeline.toml").write_text(pipeline_toml(spec))
    (out / "SYNTH.md").write_text(synth_md(spec, world, nights))
    (out / "synth.json").write_text(
        json.dumps(
            {
                "generator": "listhygiene synth",
                "version": GENERATOR_VERSION,
                "fingerprint": spec.fingerprint(),
                "arguments": spec.arguments(),
                "nights": [asdict(n) for n in nights],
            },
            indent=2,
        )
        + "\n"
    )
    return nights


def _write(path: Path, spec: SynthSpec, kind: str, blocks: Iterable[pl.DataFrame]) -> WrittenFile:
    """Write the blocks into one file and say how many rows it holds."""
    writer = _TableWriter(path, spec.file_format)
    try:
        for frame in blocks:
            writer.write(frame)
    finally:
        rows = writer.close()
    return WrittenFile(kind, path.name, rows)


def _contact_blocks(world: World, night: int, typed: bool) -> Iterator[pl.DataFrame]:
    """The night's export in blocks of records (an empty block still carries the header)."""
    pool = world.pool(night)
    for start in range(0, pool, BLOCK_ROWS):
        records = present_records(world, night, start, min(pool, start + BLOCK_ROWS))
        yield contact_rows(world, night, records, typed)


def _event_blocks(
    world: World,
    night: int,
    count: int,
    typed: bool,
    make: Callable[[World, int, np.ndarray, int, bool], pl.DataFrame],
) -> Iterator[pl.DataFrame]:
    """The night's log rows in blocks; a log without rows still gets its header."""
    starts = range(0, count, BLOCK_ROWS) if count else [0]
    for start in starts:
        rows = np.arange(start, min(count, start + BLOCK_ROWS), dtype=np.int64)
        yield make(world, night, rows, count, typed)
