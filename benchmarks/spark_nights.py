"""Time a synth data set's nights on both engines, with the peak memory of each process of the night.

Run (not collected by pytest):
  .venv/bin/python benchmarks/spark_nights.py DATA_SET [--nights 1|2] [--engines duckdb,spark]
      [--master local[2]] [--driver-memory 2g]
e.g. after `listhygiene synth --contacts 1000000 --events 6000000 --lists 5 --nights 2 --seed 1
--format parquet --out benchmarks/data/1m-parquet`:
  .venv/bin/python benchmarks/spark_nights.py benchmarks/data/1m-parquet

Each engine runs `listhygiene run` on the data set's pipeline (a fresh store and output beside
it, removed afterwards) for each night in turn, as the nightly schedule would. The memory is
sampled every 0.2 s from /proc for the whole process tree and reported per role: the driver's
Python, the JVM (Spark's driver, and in local mode its executors), the Python workers (the
loader's tasks). The result goes to benchmarks/results/spark-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
LISTHYGIENE = Path(sys.executable).with_name("listhygiene")
PAGE = os.sysconf("SC_PAGE_SIZE")
MIB = 1 << 20


def tree(root: int) -> dict[int, str]:
    """The process tree under `root`: pid -> role (driver, jvm, worker)."""
    children: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            names[int(entry.name)] = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, stack = {}, [root]
    while stack:
        pid = stack.pop()
        command = names.get(pid, "")
        found[pid] = "driver" if pid == root else ("jvm" if command.endswith("java") else "worker")
        stack.extend(children.get(pid, []))
    return found


def rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except OSError:
        return 0


def night(config: Path, as_of: str, engine: str, log: Path) -> dict:
    """One `listhygiene run`: wall seconds, exit code, peak RSS per role and of the whole tree."""
    command = [str(LISTHYGIENE), "--log-format", "json", "run", "--config", str(config)]
    command += ["--engine", engine, "--as-of", as_of]
    peaks: dict[str, int] = {}
    total_peak = 0
    with open(log, "wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        while process.poll() is None:
            by_role: dict[str, int] = {}
            for pid, role in tree(process.pid).items():
                size = rss(pid)
                peaks[role] = max(peaks.get(role, 0), size)
                by_role[role] = by_role.get(role, 0) + size
            total_peak = max(total_peak, sum(by_role.values()))
            time.sleep(0.2)
        seconds = time.perf_counter() - started
    stages = {}
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if "stage" in entry and "seconds" in entry:
                stages[entry["stage"]] = entry["seconds"]
    return {
        "engine": engine,
        "as_of": as_of,
        "seconds": round(seconds, 1),
        "exit_code": process.returncode,
        "peak_rss_mib": {role: round(size / MIB) for role, size in sorted(peaks.items())},
        "peak_rss_tree_mib": round(total_peak / MIB),
        "stages": stages,
    }


def workspace(data_set: Path, engine: str, master: str, driver_memory: str, partitions: int | None) -> Path:
    """A copy of the data set's pipeline file with a store and an output of this engine's own, in
    a folder that gets each night's files (links) as the night comes, as run.py does."""
    text = (data_set / "pipeline.toml").read_text()
    folder = data_set / f"bench-{engine}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    text = re.sub(r'(?m)^database = ".*"$', 'database = "bench-store.duckdb"', text)
    text = re.sub(r'(?m)^output = ".*"$', 'output = "bench-out"', text)
    text = text.replace("[store]\n", '[store]\nwarehouse = "bench-warehouse"\n', 1)
    shuffle = f', "spark.sql.shuffle.partitions" = "{partitions}"' if partitions else ""
    conf = f'conf = {{ "spark.driver.memory" = "{driver_memory}"{shuffle} }}'
    text += f'\n[engine]\nname = "{engine}"\nmaster = "{master}"\n{conf}\n'
    (folder / "pipeline.toml").write_text(text)
    return folder / "pipeline.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_set", type=Path)
    parser.add_argument("--nights", type=int, default=2)
    parser.add_argument("--engines", default="duckdb,spark")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="2g")
    parser.add_argument(
        "--shuffle-partitions", type=int, help="spark.sql.shuffle.partitions (default Spark's 200)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the stores and outputs")
    args = parser.parse_args()
    data_set = args.data_set.resolve()
    synth = json.loads((data_set / "synth.json").read_text())
    as_ofs = [n["as_of"] for n in synth["nights"]][: args.nights]
    results = []
    for engine in args.engines.split(","):
        config = workspace(data_set, engine, args.master, args.driver_memory, args.shuffle_partitions)
        for number, as_of in enumerate(as_ofs, start=1):
            for file in synth["nights"][number - 1]["files"]:
                (config.parent / file["name"]).symlink_to(data_set / file["name"])
            log = config.with_name(f"night-{number}.log")
            result = night(config, as_of, engine, log)
            result["night"] = number
            results.append(result)
            print(json.dumps(result), flush=True)
            if result["exit_code"]:
                print(log.read_text()[-3000:], file=sys.stderr)
                break
        if not args.keep:
            shutil.rmtree(config.parent, ignore_errors=True)
    report = {
        "data_set": str(data_set),
        "synth": synth["arguments"],
        "master": args.master,
        "driver_memory": args.driver_memory,
        "shuffle_partitions": args.shuffle_partitions,
        "cpus": os.cpu_count(),
        "memory_limit": os.environ.get("LISTHYGIENE_MEMORY_LIMIT"),  # DuckDB's, when set
        "results": results,
    }
    target = HERE / "results" / f"spark-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    target.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
