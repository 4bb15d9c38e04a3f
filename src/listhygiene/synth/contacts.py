"""The nightly contacts export: one row per (record, list), with statuses, confirmations and flags."""

from __future__ import annotations

import numpy as np
import polars as pl

from listhygiene.synth.columns import pick, timestamps
from listhygiene.synth.names import COUNTRIES
from listhygiene.synth.realism import (
    BASE_STATUS_WEIGHTS,
    CONFIRMED_ON_SINGLE_OPTIN,
    CONFIRMS_PER_NIGHT,
    DO_NOT_CONTACT,
    DO_NOT_CONTACT_FLIPS_PER_NIGHT,
    EXPORT_SPELLINGS,
    MISSING_FIRST_NAME,
    PENDING_OF_UNCONFIRMED,
    STATUS_CHANGES_PER_NIGHT,
    UNCONFIRMED,
)
from listhygiene.synth.spec import DOUBLE_OPT_IN_LIST, MAX_LISTS
from listhygiene.synth.world import World, identities, memberships, person_of, spelled

STATUSES = ("subscribed", "unsubscribed", "pending", "cleaned")
SUBSCRIBED, UNSUBSCRIBED, PENDING, CLEANED = range(4)


def present_records(world: World, night: int, start: int, stop: int) -> np.ndarray:
    """The records in [start, stop) that the night's export holds."""
    records = np.arange(start, stop, dtype=np.int64)
    initial = world.spec.contacts
    staying = np.ones(len(records), dtype=bool)
    old = records < initial
    staying[old] = world.leave_night[records[old]] > night
    return records[staying]


def contact_rows(world: World, night: int, records: np.ndarray, typed: bool) -> pl.DataFrame:
    """The export rows of these records on this night: one per (record, list), or one with no list."""
    draws, spec = world.draws, world.spec
    people = identities(world, person_of(world, records))
    people = people.with_columns(
        email=spelled(people, draws.uniform("export-spelling", records), EXPORT_SPELLINGS)
    )
    matrix = memberships(world, records)
    row, k = np.nonzero(matrix)
    key = records[row] * MAX_LISTS + k
    on_list = k < spec.lists
    status, confirmed = _membership_states(world, night, key, np.where(on_list, k, -1))
    exported_at = world.night_starts[night] + 2 * 3600  # the CRM's export job runs at 02:00 UTC
    frame = pl.DataFrame(
        {
            "contact_id": pl.Series(records[row]).cast(pl.String).str.zfill(9).str.pad_start(10, "C"),
            "email": people["email"].gather(row),
            "first_name": people["first_name"]
            .gather(row)
            .set(pl.Series(draws.uniform("no-first-name", records[row]) < MISSING_FIRST_NAME), None),
            "last_name": people["last_name"].gather(row),
            "list_id": pick([*spec.list_ids, None], k),
            "status": pick(STATUSES, status),
            "confirmed_at": timestamps(confirmed, typed, "%Y-%m-%dT%H:%M:%SZ"),
            "do_not_contact": _do_not_contact(world, night, records[row], typed),
            "country": pick(COUNTRIES.keys(), draws.choice("country", records[row], COUNTRIES.values())),
            "exported_at": timestamps(np.full(len(row), exported_at), typed, "%Y-%m-%dT%H:%M:%SZ"),
        }
    )
    return frame


def _membership_states(
    world: World, night: int, key: np.ndarray, k: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each membership's export status and confirmation time (NaN: none) on this night."""
    draws, nights = world.draws, world.spec.nights
    base = draws.choice("status", key, BASE_STATUS_WEIGHTS.values())
    base = np.array([SUBSCRIBED, UNSUBSCRIBED, CLEANED])[base]
    # a few memberships change status on a later night: the CRM unsubscribes, cleans or re-adds
    changes = draws.uniform("status-change", key) < STATUS_CHANGES_PER_NIGHT * (nights - 1)
    change_night = 1 + draws.below("status-change-night", key, max(1, nights - 1))
    to = np.where(
        base == SUBSCRIBED,
        np.where(draws.uniform("status-change-to", key) < 0.7, UNSUBSCRIBED, CLEANED),
        SUBSCRIBED,
    )
    status = np.where(changes & (change_night <= night), to, base)

    signed_up = world.history_start - draws.uniform("signup", key) * 3 * 365 * 86_400
    double_opt_in = k == DOUBLE_OPT_IN_LIST
    unconfirmed = double_opt_in & (draws.uniform("unconfirmed", key) < UNCONFIRMED)
    confirms_later = unconfirmed & (draws.uniform("confirms-later", key) < CONFIRMS_PER_NIGHT * (nights - 1))
    confirm_night = 1 + draws.below("confirm-night", key, max(1, nights - 1))
    confirmed_by_now = confirms_later & (confirm_night <= night)
    confirmed_late_at = np.asarray(world.night_starts)[np.minimum(confirm_night, nights - 1)] - 3600 * (
        1 + draws.below("confirm-hour", key, 20)
    )
    confirmed = np.where(double_opt_in & ~unconfirmed, signed_up, np.nan)
    confirmed = np.where(confirmed_by_now, confirmed_late_at, confirmed)
    single = (k >= 0) & ~double_opt_in & (draws.uniform("single-confirmed", key) < CONFIRMED_ON_SINGLE_OPTIN)
    confirmed = np.where(single, signed_up, confirmed)
    pending = unconfirmed & ~confirmed_by_now & (draws.uniform("pending", key) < PENDING_OF_UNCONFIRMED)
    status = np.where(pending & (status == SUBSCRIBED), PENDING, status)
    status = np.where(k < 0, SUBSCRIBED, status)  # a row with no list: the contact is subscribed
    return status, confirmed


def _do_not_contact(world: World, night: int, records: np.ndarray, typed: bool) -> pl.Series:
    """The export's do-not-contact flag: set for a few, switched on or off for fewer on later nights."""
    draws, nights = world.draws, world.spec.nights
    flag = draws.uniform("dnc", records) < DO_NOT_CONTACT
    flips = draws.uniform("dnc-flip", records) < DO_NOT_CONTACT_FLIPS_PER_NIGHT * (nights - 1)
    flip_night = 1 + draws.below("dnc-flip-night", records, max(1, nights - 1))
    flag = flag ^ (flips & (flip_night <= night))
    series = pl.Series(flag)
    return series if typed else series.replace_strict({True: "true", False: "false"}, return_dtype=pl.String)
