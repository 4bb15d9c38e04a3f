"""What a synthetic data set is to hold: the `synth` command's arguments, checked, and the lists they name."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta

from listhygiene.errors import ConfigError

# Bump when the same arguments would write different bytes: benchmarks cache data sets by it.
GENERATOR_VERSION = "1"
FORMATS = {"csv": ".csv", "csv.gz": ".csv.gz", "parquet": ".parquet"}
LAST_NIGHT = date(2026, 11, 21)  # fixed, not today: the same arguments write the same files forever
MAX_LISTS = 100
MAX_NIGHTS = 90

# Lists are named as a sender names them; beyond these names they are numbered (list-13, ...).
LIST_NAMES = (
    "newsletter",
    "offers",
    "product-updates",
    "events",
    "webinars",
    "partner-news",
    "staff-news",
    "weekly-digest",
    "early-access",
    "surveys",
    "local-stores",
    "b2b-insights",
)
DOUBLE_OPT_IN_LIST = 0  # the newsletter: require_confirmed_optin = true


@dataclass(frozen=True)
class SynthSpec:
    """What to generate: the command's arguments, checked."""

    contacts: int
    events: int
    lists: int = 3
    nights: int = 2
    seed: int = 1
    file_format: str = "csv"
    start: date | None = None  # the first night; default: the last night is LAST_NIGHT

    def __post_init__(self) -> None:
        _check_spec(self)

    @property
    def first_night(self) -> date:
        return self.start or LAST_NIGHT - timedelta(days=self.nights - 1)

    @property
    def night_dates(self) -> list[date]:
        return [self.first_night + timedelta(days=n) for n in range(self.nights)]

    @property
    def extension(self) -> str:
        return FORMATS[self.file_format]

    @property
    def list_ids(self) -> list[str]:
        return _list_ids(self.lists)

    def arguments(self) -> dict:
        """The arguments as the command line spells them, start resolved."""
        return {
            "contacts": self.contacts,
            "events": self.events,
            "lists": self.lists,
            "nights": self.nights,
            "seed": self.seed,
            "format": self.file_format,
            "start": self.first_night.isoformat(),
        }

    def fingerprint(self) -> str:
        """Same fingerprint, same bytes: the generator's version and the resolved arguments."""
        text = json.dumps({"version": GENERATOR_VERSION, **self.arguments()}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _check_spec(spec: SynthSpec) -> None:
    """Refuse arguments the generator cannot honour, saying what would work (exit 2)."""
    whole = lambda v: isinstance(v, int) and not isinstance(v, bool)  # noqa: E731
    if not whole(spec.contacts) or spec.contacts < 1:
        raise ConfigError(f"--contacts must be a whole number ≥ 1, got {spec.contacts!r}.")
    if not whole(spec.events) or spec.events < 0:
        raise ConfigError(f"--events must be a whole number ≥ 0, got {spec.events!r}.")
    if not whole(spec.lists) or not 1 <= spec.lists <= MAX_LISTS:
        raise ConfigError(f"--lists must be between 1 and {MAX_LISTS}, got {spec.lists!r}.")
    if not whole(spec.nights) or not 1 <= spec.nights <= MAX_NIGHTS:
        raise ConfigError(f"--nights must be between 1 and {MAX_NIGHTS}, got {spec.nights!r}.")
    if not whole(spec.seed) or not 0 <= spec.seed < 2**63:
        raise ConfigError(f"--seed must be a whole number ≥ 0, got {spec.seed!r}.")
    if spec.file_format not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, got {spec.file_format!r}.")


def _list_ids(count: int) -> list[str]:
    """Realistic list names first, numbered ones beyond them."""
    return [LIST_NAMES[k] if k < len(LIST_NAMES) else f"list-{k + 1:02d}" for k in range(count)]
