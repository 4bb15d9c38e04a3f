"""The unsubscribe log: unsubscribes, complaints and do-not-contact requests, and their follow-ups."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from listhygiene.synth.columns import pick, where
from listhygiene.synth.draws import Draws
from listhygiene.synth.events import campaign_ids, event_times, occurred_at
from listhygiene.synth.realism import LOG_ONLY_UNSUBSCRIBES, LOG_SPELLINGS
from listhygiene.synth.world import (
    World,
    campaign_lists,
    identities,
    log_only_people,
    person_of,
    recipients,
    spelled,
)


# Unsubscribe-log episodes: a first event, and with some chance a follow-up by the same person
# (a resubscribe, with or without evidence; a do_contact after a do_not_contact).
@dataclass(frozen=True)
class Episode:
    name: str
    weight: float
    event: str
    source: str
    scope: str  # "global", "list", or "either" (integration: 40% global)
    with_campaign: bool
    reasons: tuple[str, ...]
    follow_up: float  # chance of a follow-up event by the same person later


EPISODES = (
    Episode(
        "link",
        0.34,
        "unsubscribe",
        "contact",
        "global",
        True,
        ("clicked unsubscribe", "too many emails", "no longer interested", "never signed up", ""),
        0.12,
    ),
    Episode(
        "one_click",
        0.26,
        "unsubscribe",
        "list_unsubscribe",
        "list",
        True,
        ("one-click List-Unsubscribe header",),
        0.12,
    ),
    Episode(
        "preference_centre",
        0.10,
        "unsubscribe",
        "contact",
        "list",
        False,
        ("preference centre: topic switched off", "preference centre"),
        0.12,
    ),
    Episode(
        "integration",
        0.07,
        "unsubscribe",
        "integration",
        "either",
        False,
        ("CRM sync: marked unsubscribed by sales", "CRM sync: opted out in the CRM"),
        0.0,
    ),
    Episode(
        "admin",
        0.03,
        "unsubscribe",
        "admin",
        "global",
        False,
        ("removed on request by support", "asked by phone to be removed"),
        0.12,
    ),
    Episode(
        "suppression_import",
        0.03,
        "unsubscribe",
        "import",
        "global",
        False,
        ("imported from the old platform's suppression list",),
        0.12,
    ),
    Episode(
        "complaint",
        0.12,
        "complaint",
        "complaint",
        "global",
        True,
        ("spam complaint (feedback loop)", "abuse report via ARF"),
        0.10,
    ),
    Episode(
        "do_not_contact",
        0.05,
        "do_not_contact",
        "contact",
        "global",
        False,
        ("asked never to be contacted (GDPR objection)", "legal hold: do not contact"),
        0.3,
    ),
)
# Evidence of a resubscribe: a sign-up form, a double opt-in, written consent, or none at all
# (a CSV re-import: blocked, the most common support story).
RESUBSCRIBE_EVIDENCE = {"signup_form": 0.40, "confirmed_optin": 0.25, "written_consent": 0.05, None: 0.30}
COMPLAINT_RESUBSCRIBE_EVIDENCE = {"signup_form": 0.6, "confirmed_optin": 0.4}  # a form is not enough


def unsubscribe_rows(world: World, night: int, rows: np.ndarray, count: int, typed: bool) -> pl.DataFrame:
    """Rows of the night's unsubscribe log, in pairs: an episode's first event, then either its
    follow-up by the same person (a resubscribe, a do_contact) or another episode's first event."""
    draws, spec = world.draws, world.spec
    base = night << 40
    pair = rows // 2
    first_key = base | (pair * 2)
    first_episode = draws.choice("episode", first_key, [e.weight for e in EPISODES])
    follow_chance = np.array([e.follow_up for e in EPISODES])[first_episode]
    follows = (rows % 2 == 1) & (draws.uniform("follow-up", first_key) < follow_chance)
    key = np.where(follows, first_key, base | rows)  # a follow-up shares its episode's draws
    episode = draws.choice("episode", key, [e.weight for e in EPISODES])
    pairs = (count + 1) // 2
    seconds = event_times(world, night, pair, pairs, key, "unsubscribe-time")
    _, stop = world.window(night)
    later = draws.uniform("follow-up-delay", key) ** 2 * (stop - 1 - seconds)
    seconds = np.where(follows, seconds + later.astype(np.int64), seconds)

    records = recipients(world, key, world.pool(night), "unsubscriber")
    log_only = draws.uniform("unsubscribe-log-only", key) < LOG_ONLY_UNSUBSCRIBES
    people = np.where(
        log_only, log_only_people(world, key, "unsubscribe-log-only-who"), person_of(world, records)
    )
    who = identities(world, people)
    lists = np.where(
        log_only,
        draws.choice("log-only-list", key, world.list_reach),
        campaign_lists(world, records, key, "unsubscribe-list"),
    )
    scope = np.array([{"global": 0, "list": 1, "either": 2}[e.scope] for e in EPISODES])[episode]
    per_list = (scope == 1) | ((scope == 2) & (draws.uniform("integration-scope", key) < 0.6))
    with_campaign = np.array([e.with_campaign for e in EPISODES])[episode] & ~follows
    day = seconds // 86_400
    columns = _episode_columns(draws, key, episode, follows, rows)
    return pl.DataFrame(
        {
            "email": spelled(who, draws.uniform("unsubscribe-spelling", key), LOG_SPELLINGS),
            "occurred_at": occurred_at(world, base | rows, seconds, typed, "%Y-%m-%d %H:%M:%S"),
            "event": columns["event"],
            "list_id": pick([*spec.list_ids, None], np.where(per_list, lists, spec.lists)),
            "source": columns["source"],
            "evidence": columns["evidence"],
            "evidence_ref": columns["evidence_ref"],
            "campaign_id": where(with_campaign, campaign_ids(world, lists, day)),
            "reason": columns["reason"],
        }
    )


def _episode_columns(
    draws: Draws, key: np.ndarray, episode: np.ndarray, follows: np.ndarray, rows: np.ndarray
) -> dict[str, pl.Series]:
    """event, source, evidence, evidence_ref and reason of each row, first events and follow-ups."""
    complaint = episode == [e.name for e in EPISODES].index("complaint")
    dnc = episode == [e.name for e in EPISODES].index("do_not_contact")
    evidence_kinds = list(RESUBSCRIBE_EVIDENCE)
    evidence = draws.choice("evidence", key, RESUBSCRIBE_EVIDENCE.values())
    after_complaint = np.array([evidence_kinds.index(k) for k in COMPLAINT_RESUBSCRIBE_EVIDENCE])
    evidence = np.where(
        complaint,
        after_complaint[draws.choice("complaint-evidence", key, COMPLAINT_RESUBSCRIBE_EVIDENCE.values())],
        evidence,
    )
    evidence = np.where(follows & ~dnc, evidence, evidence_kinds.index(None))
    has_evidence = follows & ~dnc & (evidence != evidence_kinds.index(None))

    events = [e.event for e in EPISODES]
    event = pl.Series(events).gather(pl.Series(episode, dtype=pl.UInt32))
    event = pl.Series(
        np.where(follows, np.where(dnc, "do_contact", "resubscribe"), event.to_numpy()), dtype=pl.String
    )
    first_source = (
        pl.Series([e.source for e in EPISODES]).gather(pl.Series(episode, dtype=pl.UInt32)).to_numpy()
    )
    source = np.where(
        follows, np.where(dnc, "admin", np.where(has_evidence, "contact", "import")), first_source
    )

    reasons = [r for e in EPISODES for r in e.reasons]
    offsets = np.cumsum([0] + [len(e.reasons) for e in EPISODES])
    counts = np.array([len(e.reasons) for e in EPISODES])
    first_reason = offsets[episode] + draws.below("reason", key, counts[episode])
    follow_up_reasons = [
        "signed up again on the website",
        "confirmed the double opt-in email",
        "consent recorded by support",
        "re-added by a CSV import",
        "switched back to do contact at the contact's request",
    ]
    follow_reason = np.where(dnc, 4, np.where(has_evidence, evidence, 3))
    reason = pl.Series([*reasons, *follow_up_reasons]).gather(
        pl.Series(np.where(follows, len(reasons) + follow_reason, first_reason), dtype=pl.UInt32)
    )

    number = pl.Series(rows + 1000).cast(pl.String)
    ref_prefix = pick(["form:signup#", "doi:token-", "consent:ticket-", None], evidence)
    return {
        "event": event,
        "source": pl.Series(source, dtype=pl.String),
        "evidence": pick(evidence_kinds, evidence),
        "evidence_ref": where(has_evidence, ref_prefix + number),
        "reason": reason.replace("", None),
    }
