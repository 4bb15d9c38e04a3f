"""The pipeline file: stores, sources, lists and policy, read from TOML and checked."""

from __future__ import annotations

import glob
import hashlib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

KINDS = ("contacts", "unsubscribes", "bounces")


@dataclass(frozen=True)
class Source:
    """One input: a named glob of files of one kind."""

    name: str
    kind: str
    path: str  # absolute glob pattern

    def files(self) -> list[Path]:
        """The files the glob matches now, in name order (so loading order is stable)."""
        return sorted(Path(p) for p in glob.glob(self.path, recursive=True) if Path(p).is_file())


@dataclass(frozen=True)
class MailingList:
    list_id: str
    require_confirmed_optin: bool = False


@dataclass(frozen=True)
class Policy:
    soft_bounce_limit: int = 4
    soft_bounce_window_days: int = 0
    max_quarantine_fraction: float = 0.01
    max_list_drop_fraction: float = 0.20


@dataclass(frozen=True)
class Writeback:
    """What crm_updates tells the CRM; bounce-based suppressions stay in listhygiene unless asked."""

    include_bounces: bool = False


@dataclass(frozen=True)
class Config:
    path: Path
    database: Path
    output: Path
    sources: tuple[Source, ...]
    lists: dict[str, MailingList] = field(default_factory=dict)
    policy: Policy = Policy()
    digest: str = ""
    writeback: Writeback = Writeback()
    keep_runs: int | None = None  # None: keep every published run's outputs
    bounce_rules: Path | None = None  # [bounces] rules: extends or overrides the package's rules

    def mailing_list(self, list_id: str) -> MailingList:
        """Lists not named in the file get the defaults (no confirmed opt-in required)."""
        return self.lists.get(list_id, MailingList(list_id))


_TOP_KEYS = {"store", "sources", "lists", "policy", "writeback", "bounces"}
_STORE_KEYS = {"database", "output", "keep_runs"}
_SOURCE_KEYS = {"name", "kind", "path"}
_LIST_KEYS = {"require_confirmed_optin"}
_WRITEBACK_KEYS = {"include_bounces"}
_BOUNCES_KEYS = {"rules"}


def load_config(path: str | Path) -> Config:
    """Read and check a pipeline file; relative paths resolve against its folder."""
    path = Path(path)
    try:
        raw_bytes = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"pipeline file {path} does not exist.") from None
    except OSError as exc:
        raise ConfigError(f"pipeline file {path} cannot be read: {exc.strerror}.") from None
    try:
        raw = tomllib.loads(raw_bytes.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"pipeline file {path} is not valid TOML: {exc}.") from None

    where = path.name
    _reject_unknown(raw, _TOP_KEYS, where)
    base = path.resolve().parent

    store = _table(raw, "store", where)
    _reject_unknown(store, _STORE_KEYS, f"{where} [store]")
    database = (base / _string(store, "database", f"{where} [store]")).resolve()
    output = (base / _string(store, "output", f"{where} [store]")).resolve()
    keep_runs = store.get("keep_runs")
    if keep_runs is not None and (not isinstance(keep_runs, int) or isinstance(keep_runs, bool)
                                  or keep_runs < 1):
        raise ConfigError(f"{where} [store]: keep_runs must be a whole number ≥ 1 "
                          f"(the latest run is always kept), got {keep_runs!r}.")

    sources = _sources(raw.get("sources"), base, where)
    lists = _lists(raw.get("lists", {}), where)
    policy = _policy(raw.get("policy", {}), where)
    digest = hashlib.sha256(raw_bytes).hexdigest()
    return Config(path.resolve(), database, output, sources, lists=lists, policy=policy,
                  digest=digest, keep_runs=keep_runs,
                  writeback=_writeback(raw.get("writeback", {}), where),
                  bounce_rules=_bounce_rules(raw.get("bounces", {}), base, where))


def _sources(raw: Any, base: Path, where: str) -> tuple[Source, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: at least one [[sources]] entry is needed (name, kind, path).")
    sources: list[Source] = []
    for i, entry in enumerate(raw, start=1):
        here = f"{where} [[sources]] #{i}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{here}: must be a table with name, kind and path.")
        _reject_unknown(entry, _SOURCE_KEYS, here)
        name = _string(entry, "name", here)
        kind = _string(entry, "kind", here)
        if kind not in KINDS:
            raise ConfigError(f"{here} ({name}): kind {kind!r} is not one of {', '.join(KINDS)}.")
        if any(s.name == name for s in sources):
            raise ConfigError(f"{here}: source name {name!r} is used twice; names must be unique.")
        sources.append(Source(name, kind, os.path.normpath(base / _string(entry, "path", here))))
    if not any(s.kind == "contacts" for s in sources):
        raise ConfigError(f"{where}: no source of kind 'contacts'; a run needs a contact export.")
    return tuple(sources)


def _lists(raw: Any, where: str) -> dict[str, MailingList]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: [lists] must be a table of tables, e.g. [lists.newsletter].")
    lists = {}
    for list_id, settings in raw.items():
        here = f"{where} [lists.{list_id}]"
        if not isinstance(settings, dict):
            raise ConfigError(f"{here}: must be a table.")
        _reject_unknown(settings, _LIST_KEYS, here)
        lists[list_id] = MailingList(list_id, _flag(settings, "require_confirmed_optin", here))
    return lists


def _policy(raw: Any, where: str) -> Policy:
    here = f"{where} [policy]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{here}: must be a table.")
    defaults = Policy()
    _reject_unknown(raw, set(defaults.__dataclass_fields__), here)
    values = {}
    for key, default in defaults.__dict__.items():
        value = raw.get(key, default)
        if isinstance(default, int) and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise ConfigError(f"{here}: {key} must be a whole number ≥ 0, got {value!r}.")
        if isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ConfigError(f"{here}: {key} must be a fraction between 0 and 1, got {value!r}.")
            value = float(value)
        values[key] = value
    if values["soft_bounce_limit"] < 1:
        raise ConfigError(f"{here}: soft_bounce_limit must be at least 1.")
    return Policy(**values)


def _writeback(raw: Any, where: str) -> Writeback:
    here = f"{where} [writeback]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{here}: must be a table.")
    _reject_unknown(raw, _WRITEBACK_KEYS, here)
    return Writeback(_flag(raw, "include_bounces", here))


def _bounce_rules(raw: Any, base: Path, where: str) -> Path | None:
    """The pipeline's own bounce rules file, if any (read and checked by bounces.load_ruleset)."""
    here = f"{where} [bounces]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{here}: must be a table, e.g. rules = \"bounce_rules.toml\".")
    _reject_unknown(raw, _BOUNCES_KEYS, here)
    if "rules" not in raw:
        return None
    path = (base / _string(raw, "rules", here)).resolve()
    if not path.is_file():
        raise ConfigError(f"{here}: rules file {path} does not exist.")
    return path


def _table(raw: dict, key: str, where: str) -> dict:
    value = raw.get(key)
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: a [{key}] table is required.")
    return value


def _string(raw: dict, key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {key} is required and must be a non-empty string.")
    return value


def _flag(raw: dict, key: str, where: str) -> bool:
    """An optional true/false key (false when absent); anything else is an error."""
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: {key} must be true or false, got {value!r}.")
    return value


def _reject_unknown(raw: dict, known: set[str], where: str) -> None:
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))}). "
            "Check the spelling against the README's pipeline-file reference."
        )
