"""The keyring of the tombstones' HMAC: a file outside the store, created on first use."""

from __future__ import annotations

import hmac
import os
import re
import secrets
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

import duckdb

from listhygiene.errors import ConfigError

# One key per line: "<key id> <64 hex digits>". The last line is the key new tombstones use;
# earlier ones stay as long as tombstones made with them exist (docs/privacy.md, rotation).
_LINE = re.compile(r"^(?P<key_id>[A-Za-z0-9_.-]{1,40})\s+(?P<secret>[0-9a-f]{64})$")
_BLOCK = 64  # SHA-256's block size: HMAC pads the key to it

# What a forgotten address's rows carry instead of it: this prefix and its keyed hash.
PSEUDONYM_PREFIX = "forgotten:"


@dataclass(frozen=True)
class Key:
    key_id: str
    secret: bytes

    def hmac(self, email: str) -> str:
        """HMAC-SHA256 of a normalized address, lowercase hex (what the SQL macro computes)."""
        return hmac.new(self.secret, email.encode("utf-8"), sha256).hexdigest()


@dataclass(frozen=True)
class Keyring:
    path: Path
    keys: tuple[Key, ...]

    @property
    def current(self) -> Key:
        return self.keys[-1]


def read_keyring(path: Path) -> Keyring | None:
    """The keyring at `path`, or None if there is no file; a malformed file is a config error."""
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"privacy key file {path} cannot be read: {exc}.") from None
    keys = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line.strip())
        if not match:
            raise ConfigError(
                f"privacy key file {path} line {number}: expected '<key id> <64 hex digits>' "
                "(see docs/privacy.md)."
            )
        keys.append(Key(match["key_id"], bytes.fromhex(match["secret"])))
    if not keys:
        raise ConfigError(f"privacy key file {path} holds no key (see docs/privacy.md).")
    if len({k.key_id for k in keys}) != len(keys):
        raise ConfigError(f"privacy key file {path}: a key id appears twice.")
    return Keyring(path, tuple(keys))


def keyring_for_forget(path: Path) -> Keyring:
    """The keyring, created with one new random key if the file does not exist yet (mode 0600)."""
    existing = read_keyring(path)
    if existing is not None:
        return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    line = f"k1 {secrets.token_hex(32)}\n"
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it meanwhile: use theirs
        return read_keyring(path)  # type: ignore[return-value]  # it exists now
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(
            "# listhygiene tombstone keys (docs/privacy.md): keep this file out of the store's backups\n"
        )
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())
    return read_keyring(path)  # type: ignore[return-value]  # just written


def install_hmac(con: duckdb.DuckDBPyConnection, keyring: Keyring) -> None:
    """Temp table `privacy_keys` (key_id, inner_pad, outer_pad) and macro `keyed_hash(address, k)`.

    HMAC-SHA256 as SQL: sha256(K ^ opad || sha256(K ^ ipad || message)), for a row `k` of
    privacy_keys joined to the addresses (in bulk: no per-row subquery). The pads go in as
    parameters into a temp table: the key lives in this connection's memory only, never in
    the store file.
    """
    con.execute("create or replace temp table privacy_keys (key_id varchar, inner_pad blob, outer_pad blob)")
    for key in keyring.keys:
        secret = key.secret if len(key.secret) <= _BLOCK else sha256(key.secret).digest()
        padded = secret.ljust(_BLOCK, b"\0")
        con.execute(
            "insert into privacy_keys values (?, ?, ?)",
            [key.key_id, bytes(b ^ 0x36 for b in padded), bytes(b ^ 0x5C for b in padded)],
        )
    con.execute(
        "create or replace temp macro keyed_hash(address, k) as "
        "sha256(k.outer_pad || unhex(sha256(k.inner_pad || encode(address))))"
    )
