"""Writes a large synthetic input set (contacts export, unsubscribe and bounce logs) and its pipeline.

Usage: python benchmarks/make_large.py --contacts 1000000 --events 5000000 --out benchmarks/data/1m

Vectorized (numpy + polars); deterministic for a seed. A stand-in until `listhygiene synth`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import polars as pl

LISTS = np.array(["newsletter", "offers", "updates"])
START = np.datetime64("2026-10-01T00:00:00", "s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000, help="contact rows (contact x list)")
    parser.add_argument("--events", type=int, default=5_000_000, help="log rows, unsubscribes + bounces")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    write(args.contacts, args.events, args.seed, args.out)


def write(n_contacts: int, n_events: int, seed: int, out: Path) -> None:
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    n_people = max(1, int(n_contacts / 1.5))
    person = rng.integers(0, n_people, n_contacts)
    addresses = _addresses(np.arange(n_people))

    contacts = pl.DataFrame(
        {
            "contact_id": np.char.add("C", np.char.zfill(person.astype(str), 9)),
            "email": _variants(addresses[person], rng),
            "list_id": LISTS[rng.integers(0, len(LISTS), n_contacts)],
            "status": rng.choice(
                ["subscribed", "unsubscribed", "pending", "cleaned"], n_contacts, p=[0.93, 0.03, 0.02, 0.02]
            ),
            "confirmed_at": np.where(rng.random(n_contacts) < 0.7, "2026-09-01T00:00:00Z", ""),
            "do_not_contact": np.where(rng.random(n_contacts) < 0.01, "yes", ""),
            "first_name": np.array(["Ana", "Ben", "Chen", "Dana"])[rng.integers(0, 4, n_contacts)],
        }
    )
    contacts.write_csv(out / "contacts_2026-11-20.csv")

    n_unsubs = n_events // 20
    who = rng.integers(0, n_people, n_unsubs)
    pl.DataFrame(
        {
            "email": addresses[who],
            "occurred_at": _times(rng, n_unsubs),
            "event": rng.choice(
                ["unsubscribe", "resubscribe", "complaint", "do_not_contact", "do_contact"],
                n_unsubs,
                p=[0.7, 0.1, 0.05, 0.1, 0.05],
            ),
            "list_id": np.where(rng.random(n_unsubs) < 0.5, LISTS[rng.integers(0, 3, n_unsubs)], ""),
            "source": rng.choice(["contact", "list_unsubscribe", "integration", "admin"], n_unsubs),
            "evidence": rng.choice(["", "signup_form", "confirmed_optin", "written_consent"], n_unsubs),
        }
    ).write_csv(out / "unsubscribes.csv")

    n_bounces = n_events - n_unsubs
    who = rng.integers(0, n_people, n_bounces)
    outcome = rng.choice(
        ["delivered", "soft", "hard", "block", "complaint"], n_bounces, p=[0.6, 0.3, 0.04, 0.05, 0.01]
    )
    codes = {"delivered": "", "soft": "4.2.2", "hard": "5.1.1", "block": "5.7.1", "complaint": ""}
    pl.DataFrame(
        {
            "email": addresses[who],
            "occurred_at": _times(rng, n_bounces),
            "event": np.where(
                outcome == "delivered", "delivered", np.where(outcome == "complaint", "complaint", "bounce")
            ),
            "campaign_id": np.char.add("C-", rng.integers(1, 60, n_bounces).astype(str)),
            "smtp_code": np.where(
                outcome == "soft", "452", np.where(np.isin(outcome, ["hard", "block"]), "550", "")
            ),
            "enhanced_code": np.vectorize(codes.get)(outcome),
            "diagnostic": np.where(outcome == "hard", "user unknown", ""),
        }
    ).write_csv(out / "bounces.csv")

    (out / "pipeline.toml").write_text(
        '[store]\ndatabase = "state/store.duckdb"\noutput = "out"\n\n'
        '[[sources]]\nname = "crm"\nkind = "contacts"\npath = "contacts_*.csv"\n\n'
        '[[sources]]\nname = "unsubscribes"\nkind = "unsubscribes"\npath = "unsubscribes.csv"\n\n'
        '[[sources]]\nname = "bounces"\nkind = "bounces"\npath = "bounces.csv"\n\n'
        "[lists.newsletter]\nrequire_confirmed_optin = true\n\n"
        "[policy]\nmax_quarantine_fraction = 0.01\nmax_list_drop_fraction = 1.0\n"
    )


def _addresses(ids: np.ndarray) -> np.ndarray:
    domains = np.array(["gmail.example", "outlook.example", "yahoo.example", "corp.example", "mail.example"])
    return np.char.add(np.char.add("user", ids.astype(str)), np.char.add("@", domains[ids % len(domains)]))


def _variants(addresses: np.ndarray, rng) -> np.ndarray:
    """Exports carry capitals, spaces and display names: a few percent of each."""
    roll = rng.random(len(addresses))
    upper = np.char.upper(addresses)
    spaced = np.char.add(np.char.add(" ", addresses), " ")
    named = np.char.add(np.char.add("Some One <", addresses), ">")
    return np.where(
        roll < 0.03, upper, np.where(roll < 0.06, spaced, np.where(roll < 0.08, named, addresses))
    )


def _times(rng, n: int) -> np.ndarray:
    seconds = rng.integers(0, 50 * 86400, n)
    return np.datetime_as_string(START + seconds.astype("timedelta64[s]"), unit="s")


if __name__ == "__main__":
    main()
