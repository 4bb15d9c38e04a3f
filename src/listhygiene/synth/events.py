"""What both event logs share: times in chronological order, daily campaign names, broken timestamps."""

from __future__ import annotations

import numpy as np
import polars as pl

from listhygiene.synth.columns import pick, timestamps, where
from listhygiene.synth.realism import MALFORMED_ROWS
from listhygiene.synth.world import World


def event_times(
    world: World, night: int, slot: np.ndarray, count: int, key: np.ndarray, stream: str
) -> np.ndarray:
    """A time in each slot of count equal slots of the night's window: logs are chronological."""
    start, stop = world.window(night)
    offset = (slot + world.draws.uniform(stream, key)) * ((stop - start) / max(count, 1))
    return start + offset.astype(np.int64)


def campaign_ids(world: World, lists: np.ndarray, day: np.ndarray) -> pl.Series:
    """Every list sends one campaign a day, named after the list and the date: offers-20261119."""
    dates = pl.Series(day * 86_400 * 1_000_000).cast(pl.Datetime("us", "UTC")).dt.strftime("%Y%m%d")
    return pick(world.spec.list_ids, lists) + "-" + dates


def occurred_at(world: World, key: np.ndarray, seconds: np.ndarray, typed: bool, layout: str) -> pl.Series:
    """Event times; one row in MALFORMED_ROWS broken as exports break them (empty when typed)."""
    text = timestamps(seconds, typed, layout)
    broken = pl.Series(world.draws.uniform("malformed", key) < MALFORMED_ROWS)
    if typed:
        return where(~broken, text)
    day = timestamps(seconds, False, "%Y-%m-%d")
    return where(~broken, text, day + " 25:61")
