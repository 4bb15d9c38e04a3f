"""The pipeline file: stores, sources, lists and policy, read from TOML and checked.

Why this module is long: every section of the pipeline file ([store], [[sources]], [lists],
[policy], [engine], [privacy], ...) is checked here against one vocabulary, each key with a
message naming the file, the section and the key; split by section, the rules of the file
would be scattered over as many modules.
"""

from __future__ import annotations

import codecs
import glob
import hashlib
import os
import tomllib
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from listhygiene.errors import ConfigError
from listhygiene.thresholds import ReportSettings, report_settings
from listhygiene.vocabulary import KINDS as COLUMNS_OF_KIND

KINDS = ("contacts", "unsubscribes", "bounces", "suppressions")
# Formats whose files are read by their own reader (src/listhygiene/platforms/); their files
# may yield rows of several kinds, so `kind` is optional for them.
PLATFORM_FORMATS = ("ses", "sendgrid", "mailgun", "postmark", "mailchimp", "dsn")
# The kind a platform's files are recorded as: a Mailchimp audience export is a contact
# snapshot (its unsubscribe times come along as events); the others are event logs.
PLATFORM_KINDS = {
    "ses": "bounces",
    "sendgrid": "bounces",
    "mailgun": "bounces",
    "postmark": "bounces",
    "mailchimp": "contacts",
    "dsn": "bounces",
}
TABLE_FORMATS = ("csv", "parquet")
FORMATS = TABLE_FORMATS + PLATFORM_FORMATS


@dataclass(frozen=True)
class Mapping:
    """How a CSV or Parquet file's own columns and words become canonical ones."""

    columns: dict[str, str] = field(default_factory=dict)  # file column (lower-case) -> canonical
    values: dict[str, dict[str, str]] = field(
        default_factory=dict
    )  # canonical column -> file word (lower-case) -> canonical word
    time_zone: str = "UTC"  # of timestamps written without an offset
    delimiter: str = ","
    encoding: str = "utf-8"

    @property
    def is_default(self) -> bool:
        return self == Mapping()


@dataclass(frozen=True)
class Source:
    """One input: a named glob of files of one kind (or, for platform formats, of several)."""

    name: str
    kind: str | None  # None: a platform file says the kind of each row
    path: str  # absolute glob pattern
    format: str | None = None  # None: canonical CSV / CSV.gz / Parquet, told by the file name
    mapping: Mapping = Mapping()
    groups: dict[str, str] = field(default_factory=dict)  # sendgrid: ASM group id -> list id
    list_id: str | None = None  # mailchimp: the list the audience export is
    campaign_header: str = "X-Campaign-Id"  # dsn: the returned message's campaign header
    campaign_verp: str | None = None  # dsn: a regex whose group finds it in a VERP return path

    @property
    def is_platform(self) -> bool:
        return self.format in PLATFORM_FORMATS

    @property
    def file_kind(self) -> str:
        """The kind its files are recorded as (for platform formats, the format's main kind)."""
        if self.kind is not None:
            return self.kind
        assert self.format is not None, "load_config requires a kind or a platform format"
        return PLATFORM_KINDS[self.format]

    def files(self) -> list[Path]:
        """The files the glob matches now, in name order (so loading order is stable)."""
        return matching_files(self.path)


def matching_files(pattern: str) -> list[Path]:
    """The files a source's glob matches, in name order, `**` matching any depth of folders.

    `**` does not descend into linked folders (Python's glob follows them, and a link to a
    folder above never ends); a link named by the pattern's fixed part, or by a name that `*`
    matches at one level, is followed as usual. Names starting with a dot are hidden unless the
    pattern spells the dot, as in a shell.
    """
    path = Path(pattern)
    fixed = []
    for part in path.parts:
        if glob.has_magic(part):
            break
        fixed.append(part)
    root = Path(*fixed) if fixed else Path(".")
    rest = path.parts[len(fixed) :]
    if not rest:
        return [root] if root.is_file() else []
    shown_dots = any(part.startswith(".") for part in rest)
    found = []
    for match in root.glob(str(Path(*rest))):  # pathlib's `**` leaves linked folders alone
        relative = match.relative_to(root).parts
        if not shown_dots and any(part.startswith(".") for part in relative):
            continue
        if match.is_file():
            found.append(match)
    return sorted(found)


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


ENGINES = ("duckdb", "spark")


@dataclass(frozen=True)
class Engine:
    """Which engine runs the night: DuckDB embedded (the default) or Spark (docs/spark.md)."""

    name: str = "duckdb"
    master: str = "local[2]"  # spark: local[N] or a cluster URL
    conf: dict[str, str] = field(default_factory=dict)  # spark: session settings, e.g. spark.executor.memory


@dataclass(frozen=True)
class Config:
    path: Path
    database_file: Path | None  # [store] database: the DuckDB store (None: a Spark-only pipeline)
    output: Path
    sources: tuple[Source, ...]
    lists: dict[str, MailingList] = field(default_factory=dict)
    policy: Policy = Policy()
    digest: str = ""
    writeback: Writeback = Writeback()
    keep_runs: int | None = None  # None: keep every published run's outputs
    # re-evaluate only the addresses whose inputs changed (docs/incremental.md); `run --full` audits
    incremental: bool = True
    bounce_rules: Path | None = None  # [bounces] rules: extends or overrides the package's rules
    engine: Engine = Engine()
    warehouse: str | None = None  # [store] warehouse: the Spark store, a local path or a URI
    report: ReportSettings = field(default_factory=ReportSettings)  # [report]: thresholds of rates
    privacy_key_file: Path | None = None  # [privacy] key_file: the keyring of the tombstones' HMAC

    @property
    def key_file(self) -> Path:
        """The keyring `forget` hashes tombstones with: [privacy] key_file, else <store>.key."""
        if self.privacy_key_file is not None:
            return self.privacy_key_file
        return self.database.with_name(self.database.name + ".key")

    @property
    def database(self) -> Path:
        """The DuckDB store file ([store] database), which the duckdb engine needs."""
        if self.database_file is None:
            raise _no_database(self.path.name)
        return self.database_file

    def mailing_list(self, list_id: str) -> MailingList:
        """Lists not named in the file get the defaults (no confirmed opt-in required)."""
        return self.lists.get(list_id, MailingList(list_id))


_TOP_KEYS = {"store", "sources", "lists", "policy", "writeback", "bounces", "engine", "report", "privacy"}
_PRIVACY_KEYS = {"key_file"}
_STORE_KEYS = {"database", "output", "keep_runs", "incremental", "warehouse"}
_ENGINE_KEYS = {"name", "master", "conf"}
_SOURCE_KEYS = {
    "name",
    "kind",
    "path",
    "format",
    "columns",
    "values",
    "time_zone",
    "delimiter",
    "encoding",
    "groups",
    "list_id",
} | {"campaign_header", "campaign_verp"}  # dsn
# Which source keys each format accepts beyond name, kind, path and format.
_FORMAT_KEYS = {
    None: set(),
    "csv": {"columns", "values", "time_zone", "delimiter", "encoding"},
    "parquet": {"columns", "values", "time_zone"},
    "ses": set(),
    "sendgrid": {"groups"},
    "mailgun": set(),
    "postmark": set(),
    "mailchimp": {"list_id", "time_zone"},
    "dsn": {"campaign_header", "campaign_verp", "time_zone"},
}
_LIST_KEYS = {"require_confirmed_optin"}
_WRITEBACK_KEYS = {"include_bounces"}
_BOUNCES_KEYS = {"rules"}


def load_config(path: str | Path, engine: str | None = None) -> Config:
    """Read and check a pipeline file; relative paths resolve against its folder.

    `engine` (the --engine option) overrides the file's [engine] name.
    """
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
    engine_settings = _engine(raw.get("engine", {}), engine, where)
    database = None
    if "database" in store:
        database = (base / _string(store, "database", f"{where} [store]")).resolve()
    warehouse = _warehouse(store, base, engine_settings.name, where)
    output = (base / _string(store, "output", f"{where} [store]")).resolve()
    keep_runs = store.get("keep_runs")
    if keep_runs is not None and (
        not isinstance(keep_runs, int) or isinstance(keep_runs, bool) or keep_runs < 1
    ):
        raise ConfigError(
            f"{where} [store]: keep_runs must be a whole number ≥ 1 "
            f"(the latest run is always kept), got {keep_runs!r}."
        )
    incremental = _flag(store, "incremental", f"{where} [store]", default=True)

    sources = _sources(raw.get("sources"), base, where)
    lists = _lists(raw.get("lists", {}), where)
    policy = _policy(raw.get("policy", {}), where)
    config = Config(
        path.resolve(),
        database,
        output,
        sources,
        lists=lists,
        policy=policy,
        digest=hashlib.sha256(raw_bytes).hexdigest(),
        keep_runs=keep_runs,
        incremental=incremental,
        writeback=_writeback(raw.get("writeback", {}), where),
        bounce_rules=_bounce_rules(raw.get("bounces", {}), base, where),
        engine=engine_settings,
        warehouse=warehouse,
        report=report_settings(raw.get("report", {}), where),
        privacy_key_file=_key_file(raw.get("privacy", {}), base, where),
    )
    if engine_settings.name == "duckdb" and database is None:
        raise _no_database(where)
    return config


def _key_file(raw: Any, base: Path, where: str) -> Path | None:
    """[privacy] key_file: where the tombstones' key lives, kept out of the store (docs/privacy.md)."""
    privacy = _table({"privacy": raw}, "privacy", where)
    _reject_unknown(privacy, _PRIVACY_KEYS, f"{where} [privacy]")
    if "key_file" not in privacy:
        return None
    return (base / _string(privacy, "key_file", f"{where} [privacy]")).resolve()


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
        here = f"{here} ({name})"
        file_format = entry.get("format")
        if file_format is not None and file_format not in FORMATS:
            raise ConfigError(f"{here}: format {file_format!r} is not one of {', '.join(FORMATS)}.")
        misplaced = sorted(set(entry) - {"name", "kind", "path", "format"} - _FORMAT_KEYS[file_format])
        if misplaced:
            raise ConfigError(
                f"{here}: key {misplaced[0]!r} does not apply to "
                + (f"format {file_format!r}" if file_format else "a source without a format")
                + ". See the README's section on source formats."
            )
        kind = entry.get("kind")
        if kind is None and file_format not in PLATFORM_FORMATS:
            raise ConfigError(f"{here}: kind is required (one of {', '.join(KINDS)}).")
        if kind is not None and kind not in KINDS:
            raise ConfigError(f"{here}: kind {kind!r} is not one of {', '.join(KINDS)}.")
        if kind is not None and file_format == "mailchimp" and kind != PLATFORM_KINDS[file_format]:
            raise ConfigError(
                f"{here}: a Mailchimp audience export is a contacts snapshot; "
                'leave kind out (or set kind = "contacts").'
            )
        if kind == "suppressions" and file_format in PLATFORM_FORMATS:
            raise ConfigError(
                f"{here}: a suppressions source reads CSV or Parquet files with an email or "
                f"email_sha256 column; format {file_format!r} does not apply."
            )
        if any(s.name == name for s in sources):
            raise ConfigError(f"{here}: source name {name!r} is used twice; names must be unique.")
        sources.append(
            Source(
                name,
                kind,
                os.path.normpath(base / _string(entry, "path", here)),
                format=file_format,
                mapping=_mapping(entry, kind or PLATFORM_KINDS.get(file_format or ""), here),
                groups=_string_table(entry, "groups", here),
                list_id=_string(entry, "list_id", here) if file_format == "mailchimp" else None,
                **{k: _string(entry, k, here) for k in ("campaign_header", "campaign_verp") if k in entry},
            )
        )
    if not any(s.file_kind == "contacts" for s in sources):
        raise ConfigError(f"{where}: no source of kind 'contacts'; a run needs a contact export.")
    return tuple(sources)


def _mapping(entry: dict, kind: str | None, here: str) -> Mapping:
    """A source's column renames, value maps, time zone, delimiter and encoding, checked."""
    canonical = set()
    if kind is not None:
        spec = COLUMNS_OF_KIND[kind]
        canonical = set(spec.required + spec.optional)
    columns = {}
    for file_column, target in _string_table(entry, "columns", here).items():
        if target.strip().lower() not in canonical:
            raise ConfigError(
                f"{here} columns: {file_column!r} maps to {target!r}, which is not a "
                f"{kind} column ({', '.join(sorted(canonical))})."
            )
        columns[file_column.strip().lower()] = target.strip().lower()
    raw_values = entry.get("values", {})
    if not isinstance(raw_values, dict):
        raise ConfigError(f"{here}: values must be a table of tables, e.g. [sources.values.status].")
    values = {}
    for column in raw_values:
        if column.strip().lower() not in canonical:
            raise ConfigError(
                f"{here} values: {column!r} is not a {kind} column ({', '.join(sorted(canonical))})."
            )
        table = _string_table(raw_values, column, f"{here} values")
        values[column.strip().lower()] = {word.strip().lower(): to for word, to in table.items()}
    time_zone = entry.get("time_zone", "UTC")
    if not isinstance(time_zone, str) or not _known_time_zone(time_zone):
        raise ConfigError(
            f"{here}: time_zone {time_zone!r} is not a known IANA time zone "
            '(e.g. "Europe/Berlin", "America/New_York", "UTC").'
        )
    delimiter = entry.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '"\r\n':
        raise ConfigError(
            f'{here}: delimiter must be one character such as ",", ";", "|" or "\\t", got {delimiter!r}.'
        )
    encoding = entry.get("encoding", "utf-8")
    try:
        encoding = codecs.lookup(encoding).name if isinstance(encoding, str) else None
    except LookupError:
        encoding = None
    if encoding is None:
        raise ConfigError(
            f"{here}: encoding {entry.get('encoding')!r} is not a known text encoding "
            '(e.g. "utf-8", "windows-1252", "latin-1").'
        )
    return Mapping(columns, values, time_zone, delimiter, encoding)


def _known_time_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _string_table(raw: dict, key: str, where: str) -> dict[str, str]:
    """An optional table of string to string (empty when absent)."""
    value = raw.get(key, {})
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(
            f'{where}: {key} must be a table of names to text, e.g. {key} = {{ "42" = "weekly-deals" }}.'
        )
    return {str(k): v for k, v in value.items()}


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


def _no_database(where: str) -> ConfigError:
    return ConfigError(
        f"{where} [store]: database is missing; the duckdb engine keeps its store in that file "
        '(e.g. database = "../state/store.duckdb"), or run with --engine spark.'
    )


def _engine(raw: Any, override: str | None, where: str) -> Engine:
    here = f"{where} [engine]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{here}: must be a table.")
    _reject_unknown(raw, _ENGINE_KEYS, here)
    name = override or raw.get("name", "duckdb")
    if name not in ENGINES:
        said = "--engine" if override else f"{here} name"
        raise ConfigError(f"{said}: {name!r} is not an engine; use one of {', '.join(ENGINES)}.")
    master = raw.get("master", Engine.master)
    if not isinstance(master, str) or not master.strip():
        raise ConfigError(f'{here}: master must be text such as "local[2]" or a cluster URL, got {master!r}.')
    conf = raw.get("conf", {})
    if not isinstance(conf, dict):
        raise ConfigError(f'{here}: conf must be a table, e.g. conf = {{ "spark.executor.memory" = "4g" }}.')
    for key, value in conf.items():
        if not key.startswith("spark.") or isinstance(value, (dict, list)):
            raise ConfigError(
                f"{here} conf: {key!r} = {value!r} is not a Spark setting (a spark.* key with a text, "
                "number or true/false value)."
            )
    text = {key: str(value).lower() if isinstance(value, bool) else str(value) for key, value in conf.items()}
    return Engine(name, master, text)


def _warehouse(store: dict, base: Path, engine: str, where: str) -> str | None:
    """[store] warehouse: a URI (s3a://, abfss://, hdfs://, file://…) as given, a path resolved."""
    if "warehouse" not in store:
        if engine == "spark":
            raise ConfigError(
                f"{where} [store]: warehouse is missing; the spark engine keeps its store there (warehouse = "
                '"../state/warehouse", or an object-store URI such as "s3a://bucket/listhygiene").'
            )
        return None
    warehouse = _string(store, "warehouse", f"{where} [store]")
    if "://" in warehouse:
        return warehouse.rstrip("/")
    return str((base / warehouse).resolve())


def _bounce_rules(raw: Any, base: Path, where: str) -> Path | None:
    """The pipeline's own bounce rules file, if any (read and checked by bounces.load_ruleset)."""
    here = f"{where} [bounces]"
    if not isinstance(raw, dict):
        raise ConfigError(f'{here}: must be a table, e.g. rules = "bounce_rules.toml".')
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


def _flag(raw: dict, key: str, where: str, *, default: bool = False) -> bool:
    """An optional true/false key (`default` when absent); anything else is an error."""
    value = raw.get(key, default)
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
