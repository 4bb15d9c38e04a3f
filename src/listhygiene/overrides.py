"""`--set KEY=VALUE`: pipeline-file keys changed on the command line, checked as the file's own are."""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
from dataclasses import dataclass
from typing import Any

from listhygiene.config import Config, _lists, _policy
from listhygiene.errors import ConfigError

# The keys that change who is sendable: the rules read them (run_params, list_settings).
POLICY_KEYS = ("soft_bounce_limit", "soft_bounce_window_days")
LIST_KEYS = ("require_confirmed_optin",)
# Pipeline keys that exist but decide nothing about an address: what to say when one is set.
NOT_A_RULE = {
    "policy.max_quarantine_fraction": "guards loading an input file, not who is sendable",
    "policy.max_list_drop_fraction": "guards publishing a run, not who is sendable",
    "writeback.include_bounces": "changes what is told to the CRM, not who is sendable",
    "bounces.rules": "is a file of rules: give it with --bounce-rules FILE",
}
KNOWN = [f"policy.{k}" for k in POLICY_KEYS] + [f"lists.<list>.{k}" for k in LIST_KEYS]


@dataclass(frozen=True)
class Override:
    """One `--set`: the key as written, the list it is about (lists.X keys), the value before and after."""

    key: str
    list_id: str | None
    before: Any
    after: Any


def apply_overrides(config: Config, settings: tuple[str, ...] | list[str]) -> tuple[Config, list[Override]]:
    """`config` with each KEY=VALUE applied (dataclasses.replace), and what changed.

    A key the pipeline file does not have, a value the file would refuse, or one key given
    twice is a ConfigError (exit 2) naming the key.
    """
    overrides: list[Override] = []
    for setting in settings:
        key, value = _split(setting)
        if any(o.key == key for o in overrides):
            raise ConfigError(f"--set {key} is given twice; give each key once.")
        config, override = _apply(config, key, value, setting)
        overrides.append(override)
    return config, overrides


def _split(setting: str) -> tuple[str, Any]:
    key, equals, text = setting.partition("=")
    key = key.strip()
    if not equals or not key:
        raise ConfigError(
            f"--set {setting!r} is not KEY=VALUE; e.g. --set policy.soft_bounce_limit=3 "
            "or --set lists.newsletter.require_confirmed_optin=false."
        )
    text = text.strip()
    try:
        # a value is written as in the pipeline file: 3, 0.5, false, "text"
        return key, tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return key, text  # a bare word: the key's own check says what it should have been


def _apply(config: Config, key: str, value: Any, setting: str) -> tuple[Config, Override]:
    section, _, rest = key.partition(".")
    where = f"--set {setting}"
    if section == "policy" and rest in POLICY_KEYS:
        before = getattr(config.policy, rest)
        raw = {**dataclasses.asdict(config.policy), rest: value}
        policy = _policy(raw, where)  # the pipeline file's own checks and messages
        return dataclasses.replace(config, policy=policy), Override(key, None, before, getattr(policy, rest))
    if section == "lists" and rest.rpartition(".")[2] in LIST_KEYS and rest.rpartition(".")[0]:
        list_id, _, name = rest.rpartition(".")
        before = getattr(config.mailing_list(list_id), name)
        settings = {
            **{k: v for k, v in dataclasses.asdict(config.mailing_list(list_id)).items() if k != "list_id"},
            name: value,
        }
        mailing_list = _lists({list_id: settings}, where)[list_id]
        lists = {**config.lists, list_id: mailing_list}
        return dataclasses.replace(config, lists=lists), Override(
            key, list_id, before, getattr(mailing_list, name)
        )
    if key in NOT_A_RULE:
        raise ConfigError(
            f"--set {key}: that pipeline key {NOT_A_RULE[key]}; whatif can show no change of it."
        )
    shape = f"lists.<list>.{rest.rpartition('.')[2]}" if section == "lists" else key
    close = difflib.get_close_matches(shape, KNOWN, n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]}?" if close else ""
    raise ConfigError(
        f"--set {key}: unknown key.{hint} whatif can change: {', '.join(KNOWN)} "
        "(the pipeline file's [policy] and [lists.<list>] keys that decide who is sendable)."
    )


def check_lists(overrides: list[Override], config: Config, known_lists: set[str]) -> None:
    """A lists.X key must name a list of the pipeline file or of the store's exports."""
    lists = set(config.lists) | known_lists
    for override in overrides:
        if override.list_id is None or override.list_id in lists:
            continue
        close = difflib.get_close_matches(override.list_id, sorted(lists), n=1, cutoff=0.6)
        hint = f" Did you mean lists.{close[0]}?" if close else ""
        raise ConfigError(
            f"--set {override.key}: no list {override.list_id!r} in the pipeline file or the exports.{hint}"
        )
