"""Times the nightly run against DuckDB alone on generated data sets: first night, second night, the floor(s).

Run: .venv/bin/python benchmarks/run.py [--tiers 1m,5m] [--formats csv,parquet] [--big] [--keep]
See benchmarks/README.md for what is measured and the targets.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
RESULTS = HERE / "results"
LISTHYGIENE = Path(sys.executable).parent / "listhygiene"
GIB = 1 << 30


@dataclass(frozen=True)
class Tier:
    name: str
    contacts: int
    events: int


TIERS = {
    "tiny": Tier("tiny", 20_000, 120_000),  # a minute's check of the harness itself
    "1m": Tier("1m", 1_000_000, 6_000_000),
    "5m": Tier("5m", 5_000_000, 30_000_000),
}
BIG = Tier("20m", 20_000_000, 120_000_000)  # --big: generated, run once, deleted
FORMATS = ("csv", "csv.gz", "parquet")
# Five lists, two nights: the first run loads a snapshot and 90 days of logs, the second one
# more snapshot and one more day (~1% new events).
LISTS, NIGHTS, SEED = 5, 2, 1


@dataclass
class Measurement:
    tier: str
    format: str
    step: str  # generate | first_night | second_night | floor | store_floor | second_store_floor
    rows: int  # input rows the step reads: contact rows plus log rows
    seconds: float
    peak_rss_bytes: int
    exit_code: int
    ratio_to_floor: float | None = None
    stages: dict[str, float] | None = None  # the run's own timing of its stages (load, rules, outputs)
    steps: dict[str, float] | None = None  # and of every step: each file, rule model, output

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def measure(command: list[str], log: Path) -> tuple[float, int, int]:
    """Run command as its own process, its output into log: wall seconds, peak RSS in bytes, exit code."""
    with open(log, "wb") as out:
        out.write(f"$ {' '.join(command)}\n".encode())
        out.flush()
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_maxrss * 1024, process.returncode  # ru_maxrss is in KiB on Linux


# --- data sets ------------------------------------------------------------------------------


def synth_arguments(tier: Tier, file_format: str) -> list[str]:
    return [
        "--contacts",
        str(tier.contacts),
        "--events",
        str(tier.events),
        "--lists",
        str(LISTS),
        "--nights",
        str(NIGHTS),
        "--seed",
        str(SEED),
        "--format",
        file_format,
    ]


def expected_fingerprint(tier: Tier, file_format: str) -> str:
    from listhygiene.synth import SynthSpec

    return SynthSpec(
        contacts=tier.contacts,
        events=tier.events,
        lists=LISTS,
        nights=NIGHTS,
        seed=SEED,
        file_format=file_format,
    ).fingerprint()


def data_set(tier: Tier, file_format: str, logs: Path) -> tuple[Path, dict, Measurement | None]:
    """The generated folder, its synth.json, and the generation's measurement if it was made now."""
    folder = DATA / f"{tier.name}-{file_format}"
    manifest = folder / "synth.json"
    if manifest.exists() and json.loads(manifest.read_text()).get("fingerprint") == expected_fingerprint(
        tier, file_format
    ):
        print(f"{folder.name}: cached", flush=True)
        return folder, json.loads(manifest.read_text()), None
    shutil.rmtree(folder, ignore_errors=True)
    print(f"{folder.name}: generating", flush=True)
    log = logs / f"{folder.name}-generate.log"
    seconds, rss, code = measure(
        [str(LISTHYGIENE), "synth", *synth_arguments(tier, file_format), "--out", str(folder)], log
    )
    if code != 0:
        raise SystemExit(f"generating {folder.name} failed (exit {code}); see {log}")
    synth = json.loads(manifest.read_text())
    rows = sum(f["rows"] for night in synth["nights"] for f in night["files"])
    return folder, synth, Measurement(tier.name, file_format, "generate", rows, seconds, rss, code)


def night_rows(nights: list[dict]) -> int:
    return sum(f["rows"] for night in nights for f in night["files"])


def show_nights(folder: Path, workspace: Path, nights: list[dict]) -> None:
    """Make these nights' files visible to the workspace's pipeline (symlinks, no copies)."""
    for night in nights:
        for f in night["files"]:
            link = workspace / f["name"]
            if not link.exists():
                link.symlink_to(folder / f["name"])


def new_workspace(folder: Path, name: str, evaluation: str = "incremental") -> Path:
    """A fresh folder with the data set's pipeline.toml: no files, no store, no outputs yet.

    With evaluation "incremental" the pipeline stays as `synth` wrote it: nights are incremental
    by default (docs/incremental.md), so the second night evaluates only the addresses whose
    inputs changed. "full" adds `[store] incremental = false`: every address every night.
    """
    workspace = DATA / name
    shutil.rmtree(workspace, ignore_errors=True)
    workspace.mkdir(parents=True)
    text = (folder / "pipeline.toml").read_text()
    if evaluation == "full":
        text = text.replace("[store]\n", "[store]\nincremental = false\n", 1)
    (workspace / "pipeline.toml").write_text(text)
    return workspace


# --- the steps ---------------------------------------------------------------------------------


def run_night(workspace: Path, night: dict, log: Path) -> tuple[float, int, int]:
    # JSON log lines carry each stage's and (--verbose) each step's seconds: the profile of
    # where the time goes, and which model ran out of memory if one did
    return measure(
        [
            str(LISTHYGIENE),
            "--verbose",
            "--log-format",
            "json",
            "run",
            "--config",
            str(workspace / "pipeline.toml"),
            "--as-of",
            night["as_of"],
        ],
        log,
    )


def stage_seconds(log: Path) -> tuple[dict[str, float], dict[str, float]]:
    """The stages ("loading inputs done in 8.1 s") and the steps ("building model memberships:
    4.2 s") the run timed itself, from its JSON log lines."""
    stages, steps = {}, {}
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if "stage" in entry and "seconds" in entry:
                stages[entry["stage"]] = entry["seconds"]
            elif entry.get("level") == "debug" and "seconds" in entry:
                steps[entry["message"].rsplit(":", 1)[0]] = entry["seconds"]
    return stages, steps


def run_floor(workspace: Path, file_format: str, log: Path) -> tuple[float, int, int]:
    return measure(
        [
            sys.executable,
            str(HERE / "floor.py"),
            str(workspace),
            file_format,
            str(workspace / "floor.parquet"),
        ],
        log,
    )


def run_store_floor(
    workspace: Path, file_format: str, log: Path, *, keep: bool = False, tonight: list[str] | None = None
) -> tuple[float, int, int]:
    """DuckDB alone keeping the same files in a new DuckDB file, then the floor's statement over
    its tables. With `tonight` (a later night's file names), the floor of that night: those files
    added to the file the first call kept (`keep`). The file is deleted when not kept (~1 GB at 5M)."""
    store = workspace / "store_floor.duckdb"
    if tonight is None:
        store.unlink(missing_ok=True)
    try:
        return measure(
            [
                sys.executable,
                str(HERE / "store_floor.py"),
                str(workspace),
                file_format,
                str(store),
                str(workspace / "store_floor.parquet"),
                *(["--next", *tonight] if tonight else []),
            ],
            log,
        )
    finally:
        if not keep:
            store.unlink(missing_ok=True)


def bench(
    tier: Tier,
    file_format: str,
    logs: Path,
    *,
    second_night: bool,
    floor: bool,
    keep: bool,
    evaluation: str = "incremental",
) -> list[Measurement]:
    """Generate (or reuse) the data set, then: first night, floor, store floor, second night."""
    folder, synth, generated = data_set(tier, file_format, logs)
    results = [generated] if generated else []
    nights = synth["nights"]
    workspace = new_workspace(folder, f"{tier.name}-{file_format}-run", evaluation)
    show_nights(folder, workspace, nights[:-1])  # the last night's files are withheld

    def next_night(log: Path) -> tuple[float, int, int]:
        show_nights(folder, workspace, nights[-1:])  # tonight's snapshot and ~1% new events
        return run_night(workspace, nights[-1], log)

    tonight = [f["name"] for f in nights[-1]["files"]]
    steps = [("first_night", lambda log: run_night(workspace, nights[-2], log), night_rows(nights[:-1]))]
    if floor:
        steps.append(("floor", lambda log: run_floor(workspace, file_format, log), night_rows(nights[:-1])))
        steps.append(
            (
                "store_floor",
                lambda log: run_store_floor(workspace, file_format, log, keep=second_night),
                night_rows(nights[:-1]),
            )
        )
    if second_night:
        steps.append(("second_night", next_night, night_rows(nights[-1:])))
    if second_night and floor:
        # the floor of the second night's files: the store floor's file, with them added
        steps.append(
            (
                "second_store_floor",
                lambda log: run_store_floor(workspace, file_format, log, tonight=tonight),
                night_rows(nights[-1:]),
            )
        )
    for step, run, rows in steps:
        print(f"{tier.name}-{file_format}: {step}", flush=True)
        log = logs / f"{tier.name}-{file_format}-{step}.log"
        seconds, rss, code = run(log)
        stages, steps = stage_seconds(log) if step.endswith("night") else (None, None)
        results.append(
            Measurement(tier.name, file_format, step, rows, seconds, rss, code, stages=stages, steps=steps)
        )
        if code != 0:
            print(f"  failed with exit {code}; see {log}", flush=True)
            break
    if not keep:
        shutil.rmtree(workspace, ignore_errors=True)
    return with_ratios(results)


def with_ratios(results: list[Measurement]) -> list[Measurement]:
    floor = next((m for m in results if m.step == "floor" and m.exit_code == 0), None)
    for m in results:
        if floor and m.step != "generate" and m.exit_code == 0:
            m.ratio_to_floor = m.seconds / floor.seconds
    return results


# --- the report --------------------------------------------------------------------------------


def targets(results: list[Measurement]) -> list[dict]:
    """The issue's targets, checked where this invocation measured what they need."""
    found = {(m.tier, m.format, m.step): m for m in results if m.exit_code == 0}
    checks = []

    def check(target: str, tier: str, file_format: str, value: float, limit: float) -> None:
        checks.append(
            {
                "target": target,
                "tier": tier,
                "format": file_format,
                "value": round(value, 3),
                "limit": limit,
                "met": value <= limit,
            }
        )

    for (tier, fmt, step), m in sorted(found.items()):
        # issue 27: each night at most twice what DuckDB alone needs to keep that night's files
        # and run the floor's statement (the store floors), peak RSS at 5M within 3 GiB
        if step == "first_night" and (tier, fmt, "store_floor") in found:
            check(
                "first night / store floor",
                tier,
                fmt,
                m.seconds / found[tier, fmt, "store_floor"].seconds,
                2.0,
            )
        if step == "second_night" and (tier, fmt, "second_store_floor") in found:
            check(
                "second night / its store floor",
                tier,
                fmt,
                m.seconds / found[tier, fmt, "second_store_floor"].seconds,
                2.0,
            )
        if step in ("first_night", "second_night") and tier == "5m":
            check(f"{step} peak RSS (GiB)", tier, fmt, m.peak_rss_bytes / GIB, 3.0)
        if step == "first_night" and tier == BIG.name:
            check("first night peak RSS (GiB)", tier, fmt, m.peak_rss_bytes / GIB, 24.0)
            if ("5m", fmt, "first_night") in found:
                check(
                    "first night 20m / 5m time",
                    tier,
                    fmt,
                    m.seconds / found["5m", fmt, "first_night"].seconds,
                    4.5,
                )
        if step == "first_night" and tier == "5m" and ("1m", fmt, "first_night") in found:
            check(
                "first night 5m / 1m time",
                tier,
                fmt,
                m.seconds / found["1m", fmt, "first_night"].seconds,
                5.5,
            )
    return checks


def table(results: list[Measurement]) -> str:
    header = ["tier", "format", "step", "rows", "seconds", "rows/s", "peak RSS", "x floor"]
    rows = [
        [
            m.tier,
            m.format,
            m.step + ("" if m.exit_code == 0 else f" (exit {m.exit_code})"),
            f"{m.rows:,}",
            f"{m.seconds:.1f}",
            f"{m.rows_per_second:,.0f}",
            f"{m.peak_rss_bytes / GIB:.2f} GiB",
            "-" if m.ratio_to_floor is None else f"{m.ratio_to_floor:.2f}",
        ]
        for m in results
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(c.rjust(w) if i >= 3 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
        for r in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def stage_table(results: list[Measurement]) -> str:
    """Where each run's time went, by its own stage timings."""
    lines = ["\nstages (seconds, as the run timed them):"]
    for m in results:
        if m.stages:
            parts = ", ".join(f"{name} {seconds:.1f}" for name, seconds in m.stages.items())
            lines.append(f"  {m.tier}-{m.format} {m.step}: {parts}")
        if m.steps:
            slowest = sorted(m.steps.items(), key=lambda item: -item[1])[:6]
            lines.append(
                "    slowest steps: " + ", ".join(f"{name} {seconds:.1f}" for name, seconds in slowest)
            )
    return "\n".join(lines) if len(lines) > 1 else ""


def machine() -> dict:
    import duckdb
    import polars

    from listhygiene import __version__

    memory = (
        next(
            (
                int(line.split()[1]) * 1024
                for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal:")
            ),
            None,
        )
        if Path("/proc/meminfo").exists()
        else None
    )
    return {
        "cpus": os.cpu_count(),
        "memory_bytes": memory,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "listhygiene": __version__,
        "polars": polars.__version__,
        "duckdb": duckdb.__version__,
        "load_average_at_start": os.getloadavg(),
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tiers", default="1m,5m", help="comma-separated: 1m (1M/6M), 5m (5M/30M), tiny (20k/120k)"
    )
    parser.add_argument("--formats", default="csv,parquet", help=f"comma-separated: {', '.join(FORMATS)}")
    parser.add_argument(
        "--big",
        action="store_true",
        help="also the 20M/120M tier: generate it, run the first night, delete it",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep each run's workspace (store and outputs) under benchmarks/data/",
    )
    parser.add_argument(
        "--evaluation",
        choices=("incremental", "full"),
        default="incremental",
        help="the nights' pipeline: incremental (default: the pipeline as synth writes it, "
        "as scheduled nights run) or full ([store] incremental = false: every address every night)",
    )
    parser.add_argument(
        "--memory-limit",
        help="DuckDB's memory limit for the nightly runs (LISTHYGIENE_MEMORY_LIMIT, e.g. 3GiB); "
        "default: the job's own (a quarter of the machine)",
    )
    args = parser.parse_args()
    args.tiers = [t for t in args.tiers.split(",") if t]
    args.formats = [f for f in args.formats.split(",") if f]
    for tier in args.tiers:
        if tier not in TIERS:
            parser.error(f"unknown tier {tier!r}; choose from {', '.join(TIERS)}")
    for fmt in args.formats:
        if fmt not in FORMATS:
            parser.error(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    return args


def main() -> None:
    args = parse_args()
    started = datetime.now(UTC)
    DATA.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    logs = DATA / f"logs-{started:%Y%m%dT%H%M%SZ}"  # one file per step: the processes' output
    logs.mkdir()
    info = machine()
    if args.memory_limit:
        os.environ["LISTHYGIENE_MEMORY_LIMIT"] = args.memory_limit  # inherited by every step
    results: list[Measurement] = []
    for name in args.tiers:
        for fmt in args.formats:
            results += bench(
                TIERS[name],
                fmt,
                logs,
                second_night=True,
                floor=True,
                keep=args.keep,
                evaluation=args.evaluation,
            )
    if args.big:
        for fmt in args.formats:
            results += bench(
                BIG, fmt, logs, second_night=False, floor=False, keep=False, evaluation=args.evaluation
            )
            shutil.rmtree(DATA / f"{BIG.name}-{fmt}", ignore_errors=True)  # generate it, do not keep it
    checks = targets(results)
    report = {
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "settings": {
            "lists": LISTS,
            "nights": NIGHTS,
            "seed": SEED,
            "evaluation": args.evaluation,
            "tiers": {t.name: asdict(t) for t in [*TIERS.values(), BIG]},
        },
        "machine": info,
        "memory_limit": os.environ.get("LISTHYGIENE_MEMORY_LIMIT", "default (a quarter of the machine)"),
        "measurements": [{**asdict(m), "rows_per_second": round(m.rows_per_second, 1)} for m in results],
        "targets": checks,
    }
    path = RESULTS / f"{started:%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print()
    print(table(results))
    for c in checks:
        print(
            f"{'met   ' if c['met'] else 'MISSED'}  {c['tier']}-{c['format']} {c['target']}: "
            f"{c['value']} (limit {c['limit']})"
        )
    print(stage_table(results))
    print(f"\nwritten {path.relative_to(HERE.parent)}; logs in {logs.relative_to(HERE.parent)}/")
    if any(m.exit_code != 0 for m in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
