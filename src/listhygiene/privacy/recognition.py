"""Forgotten addresses recognized by their keyed hash: in an audience (`clean`), in a query (`explain`)."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import duckdb
import polars as pl

from listhygiene.config import Config
from listhygiene.errors import ConfigError
from listhygiene.privacy.keys import PSEUDONYM_PREFIX, install_hmac, read_keyring


def forgotten_verdicts(
    run: Path, addresses: pl.DataFrame, verdicts: pl.DataFrame, key_file: Path | None
) -> pl.DataFrame:
    """`verdicts` with `forgotten` for the audience's addresses whose keyed hash is a tombstone of
    the run, unless the run knows the address in clear (fresh consent brought it back)."""
    tombstones = (
        pl.scan_parquet(run / "suppressions.parquet")
        .filter((pl.col("reason") == "forgotten") & pl.col("email").str.starts_with(PSEUDONYM_PREFIX))
        .select(pseudonym="email", verdict_detail="detail")
        .collect()
    )
    if not tombstones.height:
        return verdicts
    keyring = read_keyring(key_file) if key_file is not None else None
    if keyring is None:
        raise ConfigError(
            f"run {run.name.removeprefix('run_id=')} holds forgotten addresses, known only by their keyed "
            f"hash, and the privacy key file {key_file} is missing: without it they cannot be recognized "
            "in the audience. Restore the key file ([privacy] key_file, docs/privacy.md)."
        )
    con = duckdb.connect()
    try:
        install_hmac(con, keyring)
        audience = addresses.select("email").unique().filter(pl.col("email").is_not_null())  # noqa: F841
        hashed = con.sql(
            f"select a.email, '{PSEUDONYM_PREFIX}' || keyed_hash(a.email, k) as pseudonym "
            "from audience a cross join privacy_keys k"
        ).pl()
    finally:
        con.close()
    matched = hashed.join(tombstones, on="pseudonym")
    known = pl.concat(
        [
            pl.scan_parquet(run / name).select("email").join(matched.lazy(), on="email", how="semi").collect()
            for name in ("contact_status.parquet", "suppressions.parquet")
        ]
    )
    forgotten = (
        matched.join(known, on="email", how="anti")
        .select("email", verdict=pl.lit("forgotten"), verdict_detail="verdict_detail", member=pl.lit(True))
        .unique("email")
    )
    return pl.concat([verdicts, forgotten.select(verdicts.columns)], how="vertical_relaxed")


def standing_tombstone(con: duckdb.DuckDBPyConnection, config: Config, email: str, store: str) -> dict | None:
    """The standing tombstone of an address erased on request (forget), if any: the rows kept of
    it are under its pseudonym. Found by hashing the one address with each key of the keyring."""
    keyring = read_keyring(config.key_file) if config.database_file is not None else None
    if keyring is None:
        return None
    hashes = [key.hmac(email) for key in keyring.keys]
    try:
        row = con.execute(
            f"select email_hmac, forgotten_at, note from {store}.tombstones "
            "where email_hmac in (select unnest(?::varchar[])) and lifted_at is null",
            [hashes],
        ).fetchone()
    except duckdb.CatalogException:  # a store from before forget existed
        return None
    if row is None:
        return None
    return {
        "pseudonym": PSEUDONYM_PREFIX + row[0],
        "forgotten_at": row[1].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "note": row[2],
    }
