"""Bounce intelligence: the ordered rules file, the bulk classifier over DuckDB, and reclassification when rules change."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import tomllib
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

import duckdb
import polars as pl

from listhygiene.errors import ConfigError
from listhygiene.rules import runner
from listhygiene.sql import memory_connection, sql_literal

log = logging.getLogger("listhygiene")

CLASSES = ("hard", "soft", "block", "unknown")
# What a rule's conditions look at, and the bounce_rule_position argument holding each
# (bounce_classes.sql passes the codes it parsed, the platform's type and the diagnostic).
CONDITION_ARGUMENTS = {
    "enhanced_code": "enhanced_code",
    "smtp_code": "smtp_code",
    "bounce_type": "bounce_type",
    "text": "diagnostic",
}
CONDITIONS = tuple(CONDITION_ARGUMENTS)
_RULE_KEYS = {"id", "class", "reason", "why", *CONDITIONS}
_PIPELINE_RULE_KEYS = _RULE_KEYS | {"before", "disabled"}
_PACKAGE_FILE = "bounce_rules.toml (package)"
_PACKAGE_FILE_KEYS = {"version", "rules"}
_PIPELINE_FILE_KEYS = {"version", "package_rules", "rules"}
_ID_SHAPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_REASON_SHAPE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

# store_meta keys: the ruleset the stored bounces were classified with
_DIGEST_KEY = "bounce_rules_digest"
_VERSION_KEY = "bounce_rules_version"
_RULES_KEY = "bounce_rules"

# the columns bounce_classes.sql adds for people reading classifications, not for the store
_REPLY_COLUMNS = ("reply_smtp_code", "reply_enhanced_code")
# Patterns RE2 compiled in this process: a pattern's validity never changes, and each run (and
# each connection that classifies) loads the rules again.
_COMPILED_IN_RE2: set[str] = set()


@dataclass(frozen=True)
class Rule:
    """One line of the rules: if every given condition matches, the bounce gets class and reason."""

    id: str
    bounce_class: str
    reason: str
    enhanced_code: str | None = None
    smtp_code: str | None = None
    bounce_type: str | None = None
    text: str | None = None
    why: str | None = None
    origin: str = "package"


@dataclass(frozen=True)
class Ruleset:
    """The ordered rules in force, with a version for people and a digest for the store."""

    rules: tuple[Rule, ...]
    version: str
    digest: str


# --- reading and merging rules files ------------------------------------------------------------


def package_rules_text() -> str:
    return resources.files("listhygiene.rules").joinpath("bounce_rules.toml").read_text("utf-8")


def load_ruleset(pipeline_rules: Path | None = None) -> Ruleset:
    """The package's rules, extended or overridden by a pipeline's rules file when one is given."""
    package = _parse_toml(package_rules_text(), _PACKAGE_FILE)
    _reject_unknown(package, _PACKAGE_FILE_KEYS, _PACKAGE_FILE)
    rules = _package_rules(package)
    version = str(package.get("version", "unversioned"))
    if pipeline_rules is not None:
        rules, version = _merge_pipeline_rules(rules, version, pipeline_rules)
    _check_regexes(rules)
    return Ruleset(tuple(rules), version, _digest(rules))


@dataclass
class _Edits:
    """What a pipeline's rules file does to the package rules."""

    first: list[Rule] = field(default_factory=list)  # new rules, ahead of every package rule
    before: dict[str, list[Rule]] = field(default_factory=dict)  # new rules, ahead of a named one
    replaced: dict[str, Rule | None] = field(default_factory=dict)  # package id -> rule, None = off

    def ids(self) -> set[str]:
        placed = self.first + [r for rules in self.before.values() for r in rules]
        return {r.id for r in placed} | set(self.replaced)


def _merge_pipeline_rules(package: list[Rule], version: str, path: Path) -> tuple[list[Rule], str]:
    """A pipeline rule with a package rule's id replaces it in place (or removes it with
    `disabled = true`); a new id goes before the package rules, or before the rule named by
    `before`: what a team knows about its own receivers outranks the general rules."""
    where = str(path)
    raw = _read_rules_file(path)
    _reject_unknown(raw, _PIPELINE_FILE_KEYS, where)
    use_package = raw.get("package_rules", True)
    if not isinstance(use_package, bool):
        raise ConfigError(f"{where}: package_rules must be true or false.")
    base = list(package) if use_package else []
    edits = _Edits()
    for i, entry in enumerate(_rule_entries(raw, where), start=1):
        _add_edit(edits, entry, f"{where} rule #{i}", path.name, {r.id for r in base})
    ordered = _apply_edits(base, edits)
    if not ordered:
        raise ConfigError(f"{where}: no rules left (package_rules = false and no [[rules]]).")
    local = path.name + (f" {raw['version']}" if "version" in raw else "")
    return ordered, f"{version}+{local}" if use_package else local


def _read_rules_file(path: Path) -> dict:
    try:
        return _parse_toml(path.read_text("utf-8"), str(path))
    except FileNotFoundError:
        raise ConfigError(f"bounce rules file {path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"bounce rules file {path} cannot be read: {exc}.") from None


def _add_edit(edits: _Edits, entry: dict, here: str, origin: str, package_ids: set[str]) -> None:
    _reject_unknown(entry, _PIPELINE_RULE_KEYS, here)
    rule_id = _rule_id(entry, here)
    if rule_id in edits.ids():
        raise ConfigError(f"{here}: rule id {rule_id!r} is used twice in the file.")
    disabled = entry.get("disabled", False)
    if not isinstance(disabled, bool):
        raise ConfigError(f"{here}: disabled must be true or false.")
    if disabled:
        if rule_id not in package_ids:
            raise ConfigError(f"{here}: disables {rule_id!r}, which is not a package rule.")
        edits.replaced[rule_id] = None
        return
    rule = _rule(entry, here, origin)
    anchor = entry.get("before")
    if rule_id in package_ids:
        if anchor is not None:
            raise ConfigError(
                f"{here}: {rule_id!r} replaces a package rule in place; 'before' applies to new rules only."
            )
        edits.replaced[rule_id] = rule
    elif anchor is not None:
        if anchor not in package_ids:
            raise ConfigError(f"{here}: before = {anchor!r} names no package rule.")
        edits.before.setdefault(anchor, []).append(rule)
    else:
        edits.first.append(rule)


def _apply_edits(base: list[Rule], edits: _Edits) -> list[Rule]:
    ordered = list(edits.first)
    for rule in base:
        ordered.extend(edits.before.get(rule.id, []))
        replacement = edits.replaced.get(rule.id, rule)
        if replacement is not None:
            ordered.append(replacement)
    return ordered


def _parse_toml(text: str, where: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"bounce rules {where} is not valid TOML: {exc}.") from None


def _rule_entries(raw: dict, where: str) -> list[dict]:
    entries = raw.get("rules", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"{where}: rules must be an array of tables, written [[rules]].")
    return entries


def _package_rules(raw: dict) -> list[Rule]:
    rules: list[Rule] = []
    for i, entry in enumerate(_rule_entries(raw, _PACKAGE_FILE), start=1):
        here = f"{_PACKAGE_FILE} rule #{i}"
        _reject_unknown(entry, _RULE_KEYS, here)
        rule = _rule(entry, here, origin="package")
        if any(r.id == rule.id for r in rules):
            raise ConfigError(f"{here}: rule id {rule.id!r} is used twice.")
        rules.append(rule)
    return rules


def _rule_id(entry: dict, here: str) -> str:
    rule_id = entry.get("id")
    if not isinstance(rule_id, str) or not _ID_SHAPE.match(rule_id):
        raise ConfigError(f"{here}: id is required: letters, digits, '-', '_' or '.', up to 64.")
    return rule_id


def _rule(entry: dict, here: str, origin: str) -> Rule:
    rule_id = _rule_id(entry, here)
    here = f"{here} ({rule_id})"
    bounce_class = entry.get("class")
    if bounce_class not in CLASSES:
        raise ConfigError(f"{here}: class must be one of {', '.join(CLASSES)}, got {bounce_class!r}.")
    reason = entry.get("reason")
    if not isinstance(reason, str) or not _REASON_SHAPE.match(reason):
        raise ConfigError(f"{here}: reason is required, in lower_snake_case (e.g. user_unknown).")
    conditions = {}
    for key in CONDITIONS:
        value = entry.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ConfigError(f"{here}: {key} must be a non-empty regular expression.")
        conditions[key] = value
    why = entry.get("why")
    if why is not None and not isinstance(why, str):
        raise ConfigError(f"{here}: why must be text.")
    return Rule(rule_id, bounce_class, reason, why=why, origin=origin, **conditions)


def _check_regexes(rules: list[Rule]) -> None:
    """Every pattern must compile in RE2 (DuckDB's regex engine), not just in Python's re."""
    unchecked = [
        (rule, key, pattern)
        for rule in rules
        for key in CONDITIONS
        if (pattern := getattr(rule, key)) is not None and pattern not in _COMPILED_IN_RE2
    ]
    if not unchecked:
        return
    con = memory_connection()
    try:
        for rule, key, pattern in unchecked:
            try:
                con.execute("select regexp_matches('', ?)", [pattern]).fetchall()
            except duckdb.Error as exc:
                raise ConfigError(
                    f"bounce rule {rule.id!r} ({rule.origin}): {key} is not a valid RE2 "
                    f"regular expression: {str(exc).splitlines()[0]}"
                ) from None
            _COMPILED_IN_RE2.add(pattern)
    finally:
        con.close()


def _reject_unknown(raw: dict, known: set[str], where: str) -> None:
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))}).")


def _digest(rules: list[Rule]) -> str:
    """Changes with any rule or with the classifier's SQL: either can change a class."""
    payload = json.dumps([_rule_record(r) for r in rules], sort_keys=True)
    return hashlib.sha256((payload + runner.model_sql("bounce_classes")).encode("utf-8")).hexdigest()


def _rule_record(rule: Rule) -> dict:
    return {k: v for k, v in asdict(rule).items() if k not in ("why", "origin")}


# --- installing rules in a connection -------------------------------------------------------


def install_rules(con: duckdb.DuckDBPyConnection, ruleset: Ruleset) -> None:
    """The table `bounce_rules` and the macro `bounce_rule_position` that bounce_classes.sql reads.

    The macro is one CASE with each rule's patterns as literals, so DuckDB compiles every regex
    once and evaluates the rules in order, column-wise, stopping at the first match per row.
    """
    con.execute(
        "create or replace temp table bounce_rules (position integer, rule_id varchar, class varchar, "
        "reason varchar, enhanced_code varchar, smtp_code varchar, bounce_type varchar, "
        "text varchar, why varchar, origin varchar)"
    )
    attributes = {"rule_id": "id", "class": "bounce_class", "reason": "reason"} | {
        key: key for key in (*CONDITIONS, "why", "origin")
    }
    rules = pl.DataFrame(  # noqa: F841  (read by name by the SQL: one insert, not one per rule)
        {"position": pl.Series(range(1, len(ruleset.rules) + 1), dtype=pl.Int32)}
        | {
            column: pl.Series([getattr(r, attribute) for r in ruleset.rules], dtype=pl.String)
            for column, attribute in attributes.items()
        }
    )
    con.execute("insert into bounce_rules by name select * from rules")
    con.execute(_position_macro(ruleset.rules))


def _position_macro(rules: tuple[Rule, ...]) -> str:
    whens = "\n".join(
        f"        when {_condition_sql(rule)} then {i}" for i, rule in enumerate(rules, start=1)
    )
    return (
        "create or replace temp macro bounce_rule_position("
        f"{', '.join(CONDITION_ARGUMENTS.values())}) as\n"
        f"    case\n{whens}\n    end"
    )


def _condition_sql(rule: Rule) -> str:
    parts = [
        f"regexp_matches({CONDITION_ARGUMENTS[key]}, {sql_literal(getattr(rule, key))}, 'i')"
        for key in CONDITIONS
        if getattr(rule, key) is not None
    ]
    return " and ".join(parts) if parts else "true"


def _rules_installed(con: duckdb.DuckDBPyConnection) -> bool:
    [(count,)] = con.execute(
        "select count(*) from duckdb_tables() where temporary and table_name = 'bounce_rules'"
    ).fetchall()
    return bool(count)


def ensure_rules(con: duckdb.DuckDBPyConnection) -> None:
    """Rules for classifying in this connection when none were installed: those the store's
    bounces were last classified with (so new and stored bounces agree), else the package's."""
    if _rules_installed(con):
        return
    recorded = _meta(con, _RULES_KEY)
    if recorded is None:
        install_rules(con, load_ruleset())
        return
    rules = tuple(Rule(**r) for r in json.loads(recorded))
    install_rules(con, Ruleset(rules, _meta(con, _VERSION_KEY) or "", _meta(con, _DIGEST_KEY) or ""))


# --- classifying ----------------------------------------------------------------------------


def classified_bounces_sql(con: duckdb.DuckDBPyConnection) -> str:
    """The SELECT that classifies the view `new_bounces` into bounce_events' columns."""
    ensure_rules(con)
    excluded = ", ".join(_REPLY_COLUMNS)
    return f"select * exclude ({excluded}) from ({runner.model_sql('bounce_classes')})"


def classify_frame(rows: pl.DataFrame, ruleset: Ruleset) -> pl.DataFrame:
    """Classify the canonical rows of a bounce log (ingest's columns) in a scratch connection.

    Adds reply_smtp_code and reply_enhanced_code (the codes the rules read, parsed from the
    diagnostic where the columns are empty), bounce_class, bounce_reason and bounce_rule.
    """
    con = memory_connection()
    try:
        install_rules(con, ruleset)
        con.register("new_bounces", rows.to_arrow())
        return con.sql(runner.model_sql("bounce_classes")).pl().sort("row_number")
    finally:
        con.close()


# --- keeping the store's classes in step with the rules --------------------------------------


def reclassify_if_rules_changed(con: duckdb.DuckDBPyConnection, config) -> int:
    """Install the pipeline's rules; if they differ from those the stored bounces were
    classified with, reclassify every stored bounce in one UPDATE. Returns how many changed.

    Call inside the run's transaction, before the models are built, so a run never evaluates
    classes from an older ruleset and a failed run leaves the old classes in place.
    """
    ruleset = load_ruleset(getattr(config, "bounce_rules", None))
    install_rules(con, ruleset)
    if _meta(con, _DIGEST_KEY) == ruleset.digest:
        return 0
    changed = _reclassify_stored(con)
    _record(con, ruleset)
    log.info(
        "bounce rules %s (digest %s…) now in force: %d stored bounces changed class, reason or rule",
        ruleset.version,
        ruleset.digest[:12],
        changed,
    )
    return changed


def _reclassify_stored(con: duckdb.DuckDBPyConnection) -> int:
    con.execute(
        "create or replace temp view new_bounces as "
        "select * exclude (bounce_class, bounce_reason, bounce_rule) from bounce_events "
        "where event = 'bounce'"
    )
    try:
        result = con.execute(
            f"""
            update bounce_events as b
            set bounce_class = c.bounce_class, bounce_reason = c.bounce_reason,
                bounce_rule = c.bounce_rule
            from ({runner.model_sql("bounce_classes")}) as c
            where b.file_id = c.file_id and b.row_number = c.row_number
              and (b.bounce_class, b.bounce_reason, b.bounce_rule)
                  is distinct from (c.bounce_class, c.bounce_reason, c.bounce_rule)
            """
        ).fetchall()
    finally:
        con.execute("drop view if exists new_bounces")
    return int(result[0][0]) if result else 0


def _record(con: duckdb.DuckDBPyConnection, ruleset: Ruleset) -> None:
    rules = json.dumps([asdict(r) for r in ruleset.rules])
    for key, value in ((_DIGEST_KEY, ruleset.digest), (_VERSION_KEY, ruleset.version), (_RULES_KEY, rules)):
        con.execute("insert or replace into store_meta values (?, ?)", [key, value])


def rules_in_force(con: duckdb.DuckDBPyConnection) -> dict:
    """Which classifier rules the store's bounces were classified with (version and digest)."""
    return {"version": _meta(con, _VERSION_KEY), "sha256": _meta(con, _DIGEST_KEY)}


def _meta(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    row = con.execute("select value from store_meta where key = ?", [key]).fetchone()
    return row[0] if row else None
