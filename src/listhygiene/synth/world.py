"""The people behind a synthetic data set: who is exported when, their addresses, their lists."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import polars as pl

from listhygiene.synth.columns import pick
from listhygiene.synth.draws import Draws
from listhygiene.synth.names import (
    ADDRESS_PATTERNS,
    DOMAINS,
    FAMILIES,
    FIRST_NAMES,
    INVALID_FORMS,
    LAST_NAMES,
)
from listhygiene.synth.realism import (
    CHURN_PER_NIGHT,
    DUPLICATE_RECORDS,
    HISTORY_DAYS,
    INVALID_ADDRESSES,
    LIST_REACH_DECAY,
    LIST_REACH_TOP,
    ON_NO_LIST,
)
from listhygiene.synth.spec import MAX_LISTS, SynthSpec


@dataclass
class World:
    """Everything every night shares: who is in which export, who they are, when things happen."""

    spec: SynthSpec
    draws: Draws
    churn: int  # contacts leaving (and joining) the export each night
    leave_night: np.ndarray  # int16 per initial contact: the night it is gone from (nights = never)
    list_reach: np.ndarray
    history_start: int  # epoch seconds
    night_starts: list[int] = field(default_factory=list)  # epoch seconds of each night's date

    @property
    def records(self) -> int:
        """Contact records ever exported: the first night's plus every night's joiners."""
        return self.spec.contacts + self.churn * (self.spec.nights - 1)

    def pool(self, night: int) -> int:
        """Contact indexes [0, pool) have been exported by this night (leavers included)."""
        return self.spec.contacts + self.churn * night

    def window(self, night: int) -> tuple[int, int]:
        """The span of time whose events the night's log files hold."""
        start = self.history_start if night == 0 else self.night_starts[night - 1]
        return start, self.night_starts[night]


def build_world(spec: SynthSpec) -> World:
    """The shared state of a data set: who leaves the export on which night, list reach, dates."""
    draws = Draws(spec.seed)
    churn = int(spec.contacts * CHURN_PER_NIGHT)
    leave_night = np.full(spec.contacts, spec.nights, dtype=np.int16)
    leavers = churn * (spec.nights - 1)
    if leavers:
        # the contacts with the smallest draws leave first, churn of them a night
        order = draws.uniform("leave", np.arange(spec.contacts))
        chosen = np.argpartition(order, leavers - 1)[:leavers]
        chosen = chosen[np.argsort(order[chosen], kind="stable")]
        leave_night[chosen] = 1 + np.arange(leavers) // churn
    reach = LIST_REACH_TOP / (1.0 + np.arange(spec.lists)) ** LIST_REACH_DECAY
    nights = [_epoch(datetime.combine(d, datetime.min.time(), UTC)) for d in spec.night_dates]
    return World(spec, draws, churn, leave_night, reach, nights[0] - HISTORY_DAYS * 86_400, nights)


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def person_of(world: World, records: np.ndarray) -> np.ndarray:
    """The person behind each contact record: itself, or for a duplicate an earlier record's person."""
    draws = world.draws
    duplicate = draws.uniform("duplicate", records) < DUPLICATE_RECORDS
    original = draws.below("duplicate-of", records, np.maximum(records, 1))
    original_is_duplicate = draws.uniform("duplicate", original) < DUPLICATE_RECORDS
    return np.where(duplicate & ~original_is_duplicate & (records > 0), original, records)


def recipients(world: World, key: np.ndarray, pool: int, stream: str) -> np.ndarray:
    """Records picked at random for events; platforms refuse unusable addresses, so a record
    with one is picked again (once: the rare second miss stays, and bounces as bad syntax)."""
    records = world.draws.below(stream, key, pool)
    again = world.draws.below(stream + "-again", key, pool)
    return np.where(_is_invalid(world, person_of(world, records)), again, records)


def _is_invalid(world: World, people: np.ndarray) -> np.ndarray:
    """People whose address is unusable (INVALID_ADDRESSES of them)."""
    return world.draws.uniform("invalid", people) < INVALID_ADDRESSES


def log_only_people(world: World, index: np.ndarray, stream: str) -> np.ndarray:
    """People no export carries (left before the history, or from another platform's list)."""
    return world.records + world.draws.below(stream, index, max(1, world.records // 10))


def identities(world: World, people: np.ndarray) -> pl.DataFrame:
    """Names, the canonical address, its domain and receiver family, per person."""
    draws = world.draws
    # an odd multiplier permutes the 64 x 64 name pairs: neighbours get unrelated names, and
    # (pair, serial) stays unique per person, so addresses do not collide at any size
    names = len(FIRST_NAMES) * len(LAST_NAMES)
    pair = (people * 2_654_435_761 + 12_345) % names
    first, last, serial = pair % len(FIRST_NAMES), pair // len(FIRST_NAMES), people // names
    domain = draws.choice("domain", people, [d.weight for d in DOMAINS])
    invalid_form = np.where(
        _is_invalid(world, people), draws.below("invalid-form", people, len(INVALID_FORMS)), -1
    )
    frame = pl.DataFrame(
        {
            "first_name": pick([f for f, _ in FIRST_NAMES], first),
            "last_name": pick([name for name, _ in LAST_NAMES], last),
            "first": pick([a for _, a in FIRST_NAMES], first),
            "last": pick([a for _, a in LAST_NAMES], last),
            "n": pl.Series(serial).cast(pl.String).replace("0", ""),
            "initial_number": pl.Series(serial * len(FIRST_NAMES) + first + 1).cast(pl.String),
            "year_number": pl.Series(serial * len(LAST_NAMES) + last + 1).cast(pl.String),
            "pattern": pl.Series(draws.choice("pattern", people, ADDRESS_PATTERNS.values()), dtype=pl.Int8),
            "domain": pick([d.name for d in DOMAINS], domain),
            "domain_index": pl.Series(domain, dtype=pl.Int16),
            "family": pl.Series(np.array([FAMILIES.index(d.family) for d in DOMAINS])[domain], dtype=pl.Int8),
            "dead_domain": pl.Series(np.array([d.dead for d in DOMAINS])[domain]),
            "invalid": pl.Series(invalid_form, dtype=pl.Int8),
        }
    )
    return frame.with_columns(address=_addresses(frame)).select(
        "first_name",
        "last_name",
        "address",
        "domain",
        "domain_index",
        "family",
        "dead_domain",
        (pl.col("invalid") >= 0).alias("invalid"),
    )


def _by_case(frame: pl.DataFrame, cases: np.ndarray, forms: list[pl.Expr]) -> pl.Series:
    """forms[case] of each row, each form evaluated only on its own rows (most rows share one)."""
    result = pl.Series("value", [None] * frame.height, dtype=pl.String)
    for case, form in enumerate(forms):
        rows = np.flatnonzero(cases == case)
        if len(rows):
            result = result.scatter(rows, frame[rows].select(form).to_series())
    return result


def _addresses(frame: pl.DataFrame) -> pl.Series:
    """The address a person would type, from their pattern; a few broken the way web forms break them."""
    first, last, n, domain = pl.col("first"), pl.col("last"), pl.col("n"), pl.col("domain")
    local_parts = _by_case(
        frame,
        frame["pattern"].to_numpy(),
        [
            pl.concat_str(first, pl.lit("."), last, n),
            pl.concat_str(first, last, n),
            pl.concat_str(first, pl.lit("_"), last, n),
            pl.concat_str(first.str.head(1), last, pl.col("initial_number")),
            pl.concat_str(last, pl.lit("."), first, n),
            pl.concat_str(first, pl.col("year_number")),
        ],
    )
    frame = frame.with_columns(local=local_parts)
    local = pl.col("local")
    broken = frame["invalid"].to_numpy()
    return _by_case(
        frame,
        np.where(broken < 0, len(INVALID_FORMS), broken),
        [
            pl.concat_str(local, pl.lit("@"), domain.str.replace(r"\.[^.]+$", "")),  # no_tld: ana@gmail
            pl.concat_str(local, pl.lit("@@"), domain),  # double_at
            pl.concat_str(first, pl.lit(" "), last, pl.lit("@"), domain),  # space
            pl.concat_str(local, pl.lit("@"), domain.str.replace(".", ",", literal=True)),  # comma
            pl.concat_str(local, pl.lit("."), domain),  # no_at
            pl.lit("n/a"),  # placeholder
            pl.concat_str(local, pl.lit("@"), domain),  # valid
        ],
    )


def spelled(people: pl.DataFrame, roll: np.ndarray, spellings: dict[str, float]) -> pl.Series:
    """The address as a system wrote it: capitals, stray spaces, a display name, mailto:."""
    address = pl.col("address")
    forms = {
        "plain": address,
        "title": address.str.to_titlecase(),
        "upper": address.str.to_uppercase(),
        "spaced": pl.concat_str(pl.lit(" "), address, pl.lit("  ")),
        "display": pl.format("{} {} <{}>", pl.col("first_name"), pl.col("last_name"), address),
        "quoted_display": pl.format('"{}, {}" <{}>', pl.col("last_name"), pl.col("first_name"), address),
        "mailto": pl.concat_str(pl.lit("mailto:"), address),
    }
    bounds = np.cumsum(list(spellings.values()))
    cases = np.minimum(np.searchsorted(bounds / bounds[-1], roll, side="right"), len(bounds) - 1)
    return _by_case(people, cases, [forms[name] for name in spellings]).alias("email")


# --- memberships ------------------------------------------------------------------------------


def memberships(world: World, records: np.ndarray) -> np.ndarray:
    """Bool matrix (record, list + 1): the lists of each record; the last column is 'on no list'."""
    draws, lists = world.draws, world.spec.lists
    no_list = draws.uniform("no-list", records) < ON_NO_LIST
    home = draws.choice("home-list", records, world.list_reach)  # everyone on a list is on one
    matrix = np.zeros((len(records), lists + 1), dtype=bool)
    for k in range(lists):
        on = draws.uniform("member", records * MAX_LISTS + k) < world.list_reach[k]
        matrix[:, k] = (on | (home == k)) & ~no_list
    matrix[:, lists] = no_list
    return matrix


def campaign_lists(world: World, records: np.ndarray, index: np.ndarray, stream: str) -> np.ndarray:
    """For each event, one of the record's lists at random (its home list if on none)."""
    matrix = memberships(world, records)[:, : world.spec.lists]
    counts = matrix.sum(axis=1)
    target = world.draws.below(stream, index, np.maximum(counts, 1))
    rank = np.cumsum(matrix, axis=1) - 1  # position of each list among the record's lists
    hit = matrix & (rank == target[:, None])
    chosen = hit.argmax(axis=1)
    home = world.draws.choice("home-list", records, world.list_reach)
    return np.where(counts > 0, chosen, home)
