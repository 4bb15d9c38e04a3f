"""The run report: one self-contained HTML page of a run's list health, departures and sender rates."""

from __future__ import annotations

import os
from pathlib import Path

from listhygiene.logs import step
from listhygiene.outputs.report import sections
from listhygiene.outputs.report.gather import gather, thresholds_crossed
from listhygiene.outputs.report.page import document
from listhygiene.thresholds import ReportSettings

__all__ = ["REPORT_NAME", "render_report", "thresholds_crossed", "write_report"]

REPORT_NAME = "report.html"


def render_report(
    run_folder: Path,
    output_root: Path,
    *,
    settings: ReportSettings | None = None,
    drop_limit: float | None = None,
    show_addresses: bool = False,
) -> str:
    """The report's HTML for the run in `run_folder`, with the runs published under `output_root`."""
    data = gather(run_folder, output_root, settings or ReportSettings(), drop_limit, show_addresses)
    parts = [
        ("lists", "List health", sections.list_health(data)),
        ("vanished", "Why contacts left", sections.vanished(data)),
        ("suppressions", "Suppressions", sections.suppressions(data)),
        ("receivers", "Receivers", sections.receivers(data)),
        ("rates", "Rates", sections.rates(data)),
        ("quarantine", "Quarantine", sections.quarantine(data)),
        ("stages", "Stages", sections.stages(data)),
    ]
    return document(f"listhygiene run {data.run['run_id']}", sections.header(data), parts)


def write_report(
    run_folder: Path,
    output_root: Path,
    *,
    settings: ReportSettings | None = None,
    drop_limit: float | None = None,
    show_addresses: bool = False,
    out: Path | None = None,
) -> Path:
    """Write the report of the run in `run_folder` (default: its report.html); return its path.

    `run_folder` holds the run's Parquet outputs and manifest.json (a staging folder before the
    run is published, or a published run); the runs before it are read from `output_root`/runs.
    `settings` are the pipeline's [report], `drop_limit` its max_list_drop_fraction. The file is
    written beside its target and renamed over it: a reader never sees half a report.
    """
    target = out or run_folder / REPORT_NAME
    with step(f"writing {target.name}"):
        html = render_report(
            run_folder, output_root, settings=settings, drop_limit=drop_limit, show_addresses=show_addresses
        )
        partial = target.with_name(f".{target.name}.partial")
        partial.write_text(html, "utf-8")
        os.replace(partial, target)
    return target
