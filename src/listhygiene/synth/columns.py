"""Column helpers every synthetic file uses: values picked by position, masked values, timestamps."""

from __future__ import annotations

import numpy as np
import polars as pl


def where(keep, values: pl.Series, otherwise: pl.Series | None = None) -> pl.Series:
    """values where keep is true, else otherwise (null by default)."""
    then = pl.when(pl.lit(pl.Series(keep))).then(pl.lit(values))
    chosen = then if otherwise is None else then.otherwise(pl.lit(otherwise))
    return pl.select(chosen.alias(values.name)).to_series()


def pick(values, positions: np.ndarray, dtype=pl.String) -> pl.Series:
    """values[positions] as a Series (None in values gives null)."""
    return pl.Series(list(values), dtype=dtype).gather(pl.Series(positions, dtype=pl.UInt32))


def timestamps(seconds: np.ndarray, typed: bool, layout: str) -> pl.Series:
    """Epoch seconds (NaN: none) as UTC timestamps for Parquet, or as text in the file's layout."""
    values = pl.Series(np.asarray(seconds, dtype=np.float64)).fill_nan(None).cast(pl.Int64)
    moments = (values * 1_000_000).cast(pl.Datetime("us", "UTC"))
    return moments if typed else moments.dt.strftime(layout)
