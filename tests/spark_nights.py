"""The data sets the Spark tests evaluate: the sample's nights and a small synth set's, run through the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import copy_sample, invoke

SAMPLE_NIGHTS = ("2026-11-20T06:00:00Z", "2026-11-21T06:00:00Z")
# the synth set: two nights, small (a few seconds to make and run)
SYNTH = {"contacts": 800, "events": 4000, "lists": 3, "nights": 2}


def sample_pipeline(root: Path) -> tuple[Path, list[str]]:
    """The sample pipeline copied under `root`, and its nights' as-of times."""
    return copy_sample(root), list(SAMPLE_NIGHTS)


def synth_pipeline(data: Path, window: int | None = None) -> tuple[Path, list[str]]:
    """The synth set made in `data` (soft-bounce window set to `window` days if given): its pipeline
    file and its nights' as-of times."""
    invoke("synth", *[a for k, v in SYNTH.items() for a in (f"--{k}", v)], "--seed", 1, "--out", data)
    config = data / "pipeline.toml"
    nights = [night["as_of"] for night in json.loads((data / "synth.json").read_text())["nights"]]
    if window is not None:
        text, count = re.subn(
            r"(?m)^soft_bounce_window_days = \d+", f"soft_bounce_window_days = {window}", config.read_text()
        )
        assert count == 1, "the synth pipeline sets soft_bounce_window_days once"
        config.write_text(text)
    return config, nights
