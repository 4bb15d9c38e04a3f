"""Time loading a synth data set's files: DuckDB's load_sources against Spark's load_files on local[2].

Run (not collected by pytest), each engine in a child process of its own (wall time, peak RSS):
  .venv/bin/python benchmarks/bench_spark_loading.py DATA_SET [duckdb|spark ...]
e.g. after `listhygiene synth --contacts 1000000 --events 6000000 --nights 1 --out big`:
  .venv/bin/python benchmarks/bench_spark_loading.py big duckdb spark
DATA_SET is a `listhygiene synth` folder (its pipeline.toml); every file its sources match is
loaded into a fresh store (a DuckDB file, or a warehouse folder) beside it, removed afterwards.
Spark's figure includes starting the session. Peak RSS is the most the child's process tree
(for Spark: the driver's Python, its JVM and the Python workers) held at once, sampled twice a
second from /proc.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

GIB = 1 << 30


def load_on(engine: str, data_set: Path, work: Path) -> None:
    """In the child: load every file of the data set on `engine` into `work`."""
    from listhygiene.config import load_config

    config = load_config(data_set / "pipeline.toml")
    started = time.monotonic()
    if engine == "duckdb":
        from listhygiene import store
        from listhygiene.store.loading import load_sources

        config = replace(config, database_file=work / "store.duckdb")
        con = store.connect(config.database)
        con.begin()
        report = load_sources(con, config, datetime.now(UTC))
        con.commit()
        con.close()
        rows = sum(f.rows_loaded for f in report.files)
    else:
        from pyspark.sql import SparkSession

        from listhygiene.engines.spark import FileToLoad, configure, load_files
        from listhygiene.ingest.reading import file_sha256

        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        spark = (
            SparkSession.builder.master("local[2]")
            .config("spark.driver.memory", "2g")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.driver.host", "127.0.0.1")
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        configure(spark)
        paths = [(source, path) for source in config.sources for path in source.files()]
        files = [
            FileToLoad(i, source, path, file_sha256(path), path.stat().st_size, path.stat().st_mtime_ns)
            for i, (source, path) in enumerate(paths, start=1)
        ]
        loaded = load_files(spark, config, files, str(work / "warehouse"), {})
        rows = sum(f.load.rows_loaded for f in loaded)
        spark.stop()
    print(f"{engine}: {rows} rows loaded in {time.monotonic() - started:.1f} s (in the child)")


def main(data_set: Path, engines: list[str]) -> None:
    for engine in engines:
        work = Path(tempfile.mkdtemp(prefix=f"bench-load-{engine}-", dir=data_set))
        started = time.monotonic()
        child = subprocess.Popen([sys.executable, __file__, "--child", engine, str(data_set), str(work)])
        peak = [0]
        sampler = threading.Thread(target=_sample_tree, args=(child, peak), daemon=True)
        sampler.start()
        status = child.wait()
        seconds = time.monotonic() - started
        sampler.join()
        shutil.rmtree(work, ignore_errors=True)
        print(
            f"{engine}: exit {status}, {seconds:.1f} s wall, peak RSS of its processes {peak[0] / GIB:.2f} GiB"
        )


def _sample_tree(child: subprocess.Popen, peak: list[int]) -> None:
    """Keep in peak[0] the most resident memory the child and its descendants held together."""
    page = os.sysconf("SC_PAGE_SIZE")
    while child.poll() is None:
        parents: dict[int, int] = {}
        resident: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                statm = Path(f"/proc/{entry}/statm").read_text().split()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
            resident[int(entry)] = int(statm[1]) * page
        tree, grown = {child.pid}, True
        while grown:
            found = {pid for pid, parent in parents.items() if parent in tree} - tree
            tree |= found
            grown = bool(found)
        peak[0] = max(peak[0], sum(resident.get(pid, 0) for pid in tree))
        time.sleep(0.5)


if __name__ == "__main__":
    if sys.argv[1] == "--child":
        load_on(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
    else:
        main(Path(sys.argv[1]), sys.argv[2:] or ["duckdb", "spark"])
