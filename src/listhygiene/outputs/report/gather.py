"""What the run report shows, read from a run folder's outputs and the run folders published before it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from listhygiene.masking import mask_email_expr
from listhygiene.thresholds import THRESHOLDS, ReportSettings

# The runs before tonight's that the report draws: enough for a quarter of nightly runs, few
# enough that reading their small files adds nothing to a night.
HISTORY_RUNS = 90
# Rows of a per-address table shown in the page (the Parquet output holds them all).
SHOWN_ROWS = 200
OUTCOMES = ("deliveries", "hard", "soft", "block")
RATE_COLUMNS = ("hard_rate", "soft_rate", "block_rate", "complaint_rate", "unsubscribe_rate")

# An address inside free text (a detail, a quarantined row): masked as masking.mask_email does.
_ADDRESS_IN_TEXT = r"""([^\s<>"',;:()@])[^\s<>"',;:()]*@([^\s<>"',;:()@]+)"""


@dataclass
class RunSummary:
    """One run of the history: its manifest's counts and its outputs' counts by reason."""

    run_id: str
    as_of: str
    lists: dict[str, dict]
    suppressions_by_reason: dict[str, int]
    blocked_resubscribes: int
    thresholds_crossed: list[str] | None


@dataclass
class ReportData:
    run: dict  # tonight's manifest
    history: list[RunSummary]  # oldest first, tonight's last
    vanished: pl.DataFrame  # tonight's, the first SHOWN_ROWS
    vanished_total: int
    blocked: pl.DataFrame  # tonight's blocked resubscribes, the first SHOWN_ROWS
    blocked_total: int
    rates: pl.DataFrame  # rates.parquet
    by_campaign: pl.DataFrame  # rates summed per campaign, rated and judged again
    by_domain: pl.DataFrame  # rates summed per receiver domain
    quarantine: pl.DataFrame  # per input file: source, file, rows read, loaded, quarantined
    quarantine_errors: pl.DataFrame  # per file and error: rows, first row number
    drop_guard: list[dict]
    settings: ReportSettings
    stages: dict[str, float] = field(default_factory=dict)


def gather(
    run_folder: Path,
    output_root: Path,
    settings: ReportSettings,
    drop_limit: float | None = None,
    show_addresses: bool = False,
) -> ReportData:
    """Read what the report shows for the run in `run_folder` (published or still staged)."""
    manifest = _manifest(run_folder)
    history = [summarize(folder) for folder in earlier_runs(output_root, manifest)]
    history.append(summarize(run_folder, manifest))
    vanished = pl.scan_parquet(run_folder / "vanished.parquet")
    blocked = pl.scan_parquet(run_folder / "blocked_resubscribes.parquet")
    rates = read_rates(run_folder)
    return ReportData(
        run=manifest,
        history=history,
        vanished=_shown(
            vanished.sort("list_id", "reason", "email").select(
                "list_id", "email", "reason", "reason_at", "detail"
            ),
            show_addresses,
        ),
        vanished_total=_count(vanished),
        blocked=_shown(
            blocked.sort("attempted_at", "email").select("email", "list_id", "attempted_at", "source", "why"),
            show_addresses,
        ),
        blocked_total=_count(blocked),
        rates=rates,
        by_campaign=rollup(rates, "campaign_id", settings),
        by_domain=rollup(rates, "domain", settings),
        quarantine=_quarantine_by_file(manifest),
        quarantine_errors=_quarantine_errors(run_folder, show_addresses),
        drop_guard=drop_guard(manifest, drop_limit),
        settings=settings,
        stages=dict(manifest.get("stages") or {}),
    )


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text("utf-8"))


def earlier_runs(output_root: Path, manifest: dict) -> list[Path]:
    """The published run folders before this run (by as-of, then id), the last HISTORY_RUNS."""
    runs = output_root / "runs"
    found = []
    for folder in runs.glob("run_id=*") if runs.is_dir() else []:
        run_id = folder.name.removeprefix("run_id=")
        if run_id < manifest["run_id"] and (folder / "manifest.json").is_file():
            found.append(folder)
    return sorted(found, key=lambda f: f.name)[-HISTORY_RUNS:]


def summarize(folder: Path, manifest: dict | None = None) -> RunSummary:
    """A run's counts: from its manifest, and its suppressions and rates by reason (small reads)."""
    manifest = manifest or _manifest(folder)
    suppressions = folder / "suppressions.parquet"
    by_reason: dict[str, int] = {}
    if suppressions.exists():
        counted = pl.scan_parquet(suppressions).group_by("reason").len().sort("reason").collect()
        by_reason = dict(zip(counted["reason"], counted["len"], strict=True))
    return RunSummary(
        run_id=manifest["run_id"],
        as_of=manifest["as_of"],
        lists=manifest.get("lists", {}),
        suppressions_by_reason=by_reason,
        blocked_resubscribes=int(manifest.get("outputs", {}).get("blocked_resubscribes.parquet", 0)),
        thresholds_crossed=thresholds_crossed(folder),
    )


def thresholds_crossed(run_folder: Path) -> list[str] | None:
    """The thresholds a run's rates cross, in THRESHOLDS' order (None: the run has no rates.parquet)."""
    path = run_folder / "rates.parquet"
    if not path.exists():
        return None
    crossed = set(pl.scan_parquet(path).select(pl.col("thresholds_crossed").explode()).collect().to_series())
    return [t.name for t in THRESHOLDS if t.name in crossed]


# rates.parquet's columns, for a run published before it existed (its report shows no rates)
RATES_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "campaign_id": pl.String,
    "domain": pl.String,
    **dict.fromkeys(["messages", *OUTCOMES, "complaints", "unsubscribes"], pl.Int64),
    **dict.fromkeys(RATE_COLUMNS, pl.Float64),
    "thresholds_crossed": pl.List(pl.String),
}


def read_rates(run_folder: Path) -> pl.DataFrame:
    path = run_folder / "rates.parquet"
    return pl.read_parquet(path) if path.exists() else pl.DataFrame(schema=RATES_SCHEMA)


def rollup(rates: pl.DataFrame, by: str, settings: ReportSettings) -> pl.DataFrame:
    """rates.parquet's counts summed by campaign or by domain, rated and judged as rates.sql does."""
    counts = ["messages", *OUTCOMES, "complaints", "unsubscribes"]
    summed = rates.group_by(by).agg(pl.col(counts).sum()).sort(by, nulls_last=False)
    messages, deliveries = pl.col("messages"), pl.col("deliveries")

    def over(column: str, denominator: pl.Expr) -> pl.Expr:
        return pl.when(denominator > 0).then(pl.col(column) / denominator).otherwise(None)

    rated = summed.with_columns(
        hard_rate=over("hard", messages),
        soft_rate=over("soft", messages),
        block_rate=over("block", messages),
        complaint_rate=over("complaints", deliveries),
        unsubscribe_rate=over("unsubscribes", deliveries),
    )
    judged = pl.col("messages") >= settings.min_messages
    flags = [
        pl.when(judged & (pl.col(t.metric) >= settings.value(t))).then(pl.lit(t.name)) for t in THRESHOLDS
    ]
    return rated.with_columns(thresholds_crossed=pl.concat_list(flags).list.drop_nulls())


def drop_guard(manifest: dict, limit: float | None) -> list[dict]:
    """Per list, the drop guard's verdict: the share of last run's sendable addresses lost tonight."""
    limit = manifest.get("drop_guard", {}).get("limit", limit)
    verdicts = []
    for list_id, counts in manifest.get("lists", {}).items():
        previous, sendable = counts.get("previous"), counts["sendable"]
        # a list that grew lost nothing: its drop is 0
        drop = max(0.0, (previous - sendable) / previous) if previous else None
        if drop is None:
            verdict = "no previous run to compare with"
        elif limit is None:
            verdict = "limit unknown"
        elif drop > limit:
            verdict = "over the limit: published with --force" if manifest.get("forced") else "over the limit"
        else:
            verdict = "within the limit"
        verdicts.append(
            {"list_id": list_id, "previous": previous, "sendable": sendable, "drop": drop, "verdict": verdict}
        )
    return verdicts


def _count(frame: pl.LazyFrame) -> int:
    return int(frame.select(pl.len()).collect().item())


def _shown(frame: pl.LazyFrame, show_addresses: bool) -> pl.DataFrame:
    """The first SHOWN_ROWS rows, addresses masked unless asked for in clear."""
    shown = frame.head(SHOWN_ROWS).collect()
    if show_addresses:
        return shown
    masked = [mask_email_expr(pl.col("email")).alias("email")]
    masked += [mask_text(pl.col(c)) for c in ("detail", "why", "source") if c in shown.columns]
    return shown.with_columns(masked)


def mask_text(expr: pl.Expr) -> pl.Expr:
    """Every address inside a text masked (first character, ***, the domain)."""
    return expr.str.replace_all(_ADDRESS_IN_TEXT, "${1}***@${2}")


# A source with more files than this (a Maildir: a file per message) shows its files that had
# rows quarantined one by one, and the others as one line with their count and totals.
FILES_SHOWN_PER_SOURCE = 50


def _quarantine_by_file(manifest: dict) -> pl.DataFrame:
    inputs = manifest.get("inputs", [])
    files = pl.DataFrame(
        {
            "source": [i["source"] for i in inputs],
            "file": [Path(i["path"]).name for i in inputs],
            "rows_read": [i["rows_read"] for i in inputs],
            "rows_loaded": [i["rows_loaded"] for i in inputs],
            "rows_quarantined": [i["rows_quarantined"] for i in inputs],
        },
        schema={
            "source": pl.String,
            "file": pl.String,
            "rows_read": pl.Int64,
            "rows_loaded": pl.Int64,
            "rows_quarantined": pl.Int64,
        },
    )
    many = pl.len().over("source") > FILES_SHOWN_PER_SOURCE
    clean = many & (pl.col("rows_quarantined") == 0)
    if not files.select(clean.any()).item():
        return files
    folded = (
        files.filter(clean)
        .group_by("source", maintain_order=True)
        .agg(
            pl.format("({} files without quarantined rows)", pl.len()).alias("file"),
            pl.col("rows_read", "rows_loaded", "rows_quarantined").sum(),
        )
    )
    return pl.concat([files.filter(~clean), folded]).sort("source", maintain_order=True)


def _quarantine_errors(run_folder: Path, show_addresses: bool) -> pl.DataFrame:
    """Quarantined rows per file and error, with the first row's number (errors quote values)."""
    errors = (
        pl.scan_parquet(run_folder / "quarantine.parquet")
        .with_columns(pl.col("file").str.extract(r"([^/\\]+)$", 1))
        .group_by("source", "file", "error")
        .agg(rows=pl.len(), first_row=pl.col("row_number").min())
        .sort("source", "file", "first_row")
        .head(SHOWN_ROWS)
        .collect()
    )
    return errors if show_addresses else errors.with_columns(mask_text(pl.col("error")))
