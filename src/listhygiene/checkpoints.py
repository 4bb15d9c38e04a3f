"""Named points of a run where crash tests can stop it (LISTHYGIENE_PAUSE_AT=<point>)."""

from __future__ import annotations

import os
import sys
import time

# loading: after the first new file is in the store's open transaction
# evaluated: rules built, nothing written
# writing: the first output written into the staging folder
# committed: the store holds the run, its folder is not yet under runs/
# published: the folder is under runs/, `latest` not yet switched
POINTS = ("loading", "evaluated", "writing", "committed", "published")
# forget (privacy/erasure.py) -- forget-prepared: the new store and files written, no journal;
# forget-committed: the journal written, nothing renamed; forget-renaming: one file renamed
FORGET_POINTS = ("forget-prepared", "forget-committed", "forget-renaming")


def checkpoint(point: str) -> None:
    """Pause here when asked to, announcing it on stderr, so a test can kill the process."""
    if os.environ.get("LISTHYGIENE_PAUSE_AT") != point:
        return
    print(f"listhygiene: paused at {point} (pid {os.getpid()})", file=sys.stderr, flush=True)
    time.sleep(float(os.environ.get("LISTHYGIENE_PAUSE_SECONDS", "300")))
