"""The bounce log: deliveries, bounces and complaints of daily campaigns, with receivers' replies."""

from __future__ import annotations

import numpy as np
import polars as pl

from listhygiene.synth.columns import pick
from listhygiene.synth.events import campaign_ids, event_times, occurred_at
from listhygiene.synth.realism import (
    BLOCKED_CAMPAIGN_DOMAINS,
    BLOCKED_IN_BLOCKED_CAMPAIGN,
    CODES_ONLY_IN_TEXT,
    DEAD_ADDRESSES,
    DELIVERED_IN_FULL_EPISODE,
    FULL_EPISODE_DAYS,
    FULL_MAILBOXES,
    HEALTHY_OUTCOMES,
    LOG_ONLY_BOUNCES,
    LOG_SPELLINGS,
    MISSING_REPORTED_TYPE,
)
from listhygiene.synth.replies import COMPLAINT, DELIVERED, OUTCOMES, REPLIES, SENDER_IPS, choose_replies
from listhygiene.synth.spec import MAX_LISTS
from listhygiene.synth.world import (
    World,
    campaign_lists,
    identities,
    log_only_people,
    person_of,
    recipients,
    spelled,
)


def bounce_rows(world: World, night: int, rows: np.ndarray, count: int, typed: bool) -> pl.DataFrame:
    """Rows [rows] of the night's bounce log: deliveries, bounces and complaints of daily campaigns."""
    draws = world.draws
    key = (night << 40) | rows
    seconds = event_times(world, night, rows, count, key, "bounce-time")
    records = recipients(world, key, world.pool(night), "recipient")
    log_only = draws.uniform("bounce-log-only", key) < LOG_ONLY_BOUNCES
    people = np.where(log_only, log_only_people(world, key, "bounce-log-only-who"), person_of(world, records))
    who = identities(world, people)
    lists = np.where(
        log_only,
        draws.choice("log-only-list", key, world.list_reach),
        campaign_lists(world, records, key, "bounce-campaign-list"),
    )
    day = seconds // 86_400
    outcome = _bounce_outcomes(world, key, people, seconds, day * MAX_LISTS + lists, who)
    reply = choose_replies(draws, key, outcome, who["family"].to_numpy())
    ip = pick(SENDER_IPS, draws.below("sender-ip", day * MAX_LISTS + lists, len(SENDER_IPS)))
    frame = who.select(
        spelled(who, draws.uniform("bounce-spelling", key), LOG_SPELLINGS),
        "address",
        "domain",
    ).with_columns(
        occurred_at=occurred_at(world, key, seconds, typed, "%Y-%m-%dT%H:%M:%SZ"),
        outcome=pl.Series(outcome, dtype=pl.Int8),
        campaign_id=campaign_ids(world, lists, day),
        reply=pl.Series(reply, dtype=pl.Int16),
        ip=ip,
        reported=pl.Series(draws.uniform("reported-type", key) >= MISSING_REPORTED_TYPE),
        coded=pl.Series(draws.uniform("codes-in-columns", key) >= CODES_ONLY_IN_TEXT),
    )
    return frame.select("email", "occurred_at", *_bounce_columns())


def _bounce_outcomes(
    world: World,
    key: np.ndarray,
    people: np.ndarray,
    seconds: np.ndarray,
    campaign: np.ndarray,
    who: pl.DataFrame,
) -> np.ndarray:
    """What happened to each send, from the state of the address and of the campaign's receiver."""
    draws = world.draws
    span = world.night_starts[-1] + 86_400 - world.history_start
    dies = draws.uniform("dead", people) < DEAD_ADDRESSES
    died_at = world.history_start + draws.uniform("died-at", people) * span
    full = draws.uniform("full", people) < FULL_MAILBOXES
    full_from = world.history_start + draws.uniform("full-from", people) * span
    low, high = FULL_EPISODE_DAYS
    full_until = full_from + (low + draws.uniform("full-days", people) * (high - low)) * 86_400
    in_full = full & (full_from <= seconds) & (seconds < full_until)
    domain = who["domain_index"].to_numpy().astype(np.int64)
    blocked = draws.uniform("blocked-campaign", campaign * 64 + domain) < BLOCKED_CAMPAIGN_DOMAINS
    roll = draws.uniform("outcome", key)
    healthy_bounds = np.cumsum(list(HEALTHY_OUTCOMES.values()))
    healthy = np.select(
        [
            roll < healthy_bounds[0],
            roll < healthy_bounds[1],
            roll < healthy_bounds[2],
            roll < healthy_bounds[3],
        ],
        [DELIVERED, OUTCOMES.index("soft_transient"), OUTCOMES.index("block"), COMPLAINT],
        OUTCOMES.index("odd"),
    )
    return np.select(
        [
            who["invalid"].to_numpy(),
            who["dead_domain"].to_numpy(),
            dies & (died_at <= seconds),
            in_full & (roll >= DELIVERED_IN_FULL_EPISODE),
            in_full,
            blocked & (roll < BLOCKED_IN_BLOCKED_CAMPAIGN),
        ],
        [
            OUTCOMES.index("hard_syntax"),
            OUTCOMES.index("hard_domain"),
            OUTCOMES.index("hard_user"),
            OUTCOMES.index("soft_full"),
            DELIVERED,
            OUTCOMES.index("block"),
        ],
        healthy,
    )


def _bounce_columns() -> list[pl.Expr | str]:
    """event, campaign_id, bounce_type, codes and diagnostic from the outcome and the reply."""
    reply = pl.col("reply")
    text = _pick_expr([r.text for r in REPLIES], reply)
    for placeholder, column in (("{addr}", "address"), ("{domain}", "domain"), ("{ip}", "ip")):
        text = text.str.replace_all(placeholder, pl.col(column), literal=True)
    delivered, complaint = pl.col("outcome") == DELIVERED, pl.col("outcome") == COMPLAINT
    coded = pl.col("coded")
    return [
        pl.when(delivered)
        .then(pl.lit("delivered"))
        .when(complaint)
        .then(pl.lit("complaint"))
        .otherwise(pl.lit("bounce"))
        .alias("event"),
        "campaign_id",
        pl.when(pl.col("reported"))
        .then(_pick_expr([r.bounce_type for r in REPLIES], reply))
        .alias("bounce_type"),
        pl.when(delivered)
        .then(pl.lit("250"))
        .when(coded)
        .then(_pick_expr([r.smtp_code for r in REPLIES], reply))
        .alias("smtp_code"),
        pl.when(delivered)
        .then(pl.lit("2.0.0"))
        .when(coded)
        .then(_pick_expr([r.enhanced_code for r in REPLIES], reply))
        .alias("enhanced_code"),
        pl.when(complaint)
        .then(pl.lit("abuse report via feedback loop (ARF)"))
        .when(~delivered)
        .then(text)
        .alias("diagnostic"),
    ]


def _pick_expr(values: list, positions: pl.Expr) -> pl.Expr:
    """values[positions] as an expression; null where the position is negative or the value None."""
    return positions.replace_strict(dict(enumerate(values)), default=None, return_dtype=pl.String)
