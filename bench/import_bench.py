"""Import benchmark: synthetic records → `spoor records import` into a fresh node home.

For each size the generator writes a CSV file (not timed), then the real
command imports it into a new node home in a child process while this process
samples the resident memory of the whole process tree (the importer and its
worker processes). The same-run baseline loads the same CSV rows into SQLite
with a bare ``csv.reader`` + ``executemany`` and no validation, normalization
or keys, so the ratio shows what validation and key derivation cost.

    .venv/bin/python bench/import_bench.py                 # 10k, 100k, 1M
    .venv/bin/python bench/import_bench.py --sizes 10000   # quick run
    .venv/bin/python bench/import_bench.py --smoke         # 200 records, seconds
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spoor_dev import generate  # noqa: E402 - after the path set-up above

SPOOR = Path(sys.executable).with_name("spoor")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def _tree_rss_kib(pid: int) -> int:
    """Resident memory of a process and all its descendants, in KiB."""
    total = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/statm") as fh:
                total += int(fh.read().split()[1]) * PAGE_KIB
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    stack.extend(int(c) for c in fh.read().split())
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return total


SMOKE_SIZES = [200]


def init_home(home: Path) -> None:
    """A node home made by ``spoor init`` (records commands refuse a bare folder); never served."""
    subprocess.run(
        [
            str(SPOOR),
            "init",
            "--home",
            str(home),
            "--agency",
            "bench-import",
            "--country",
            "KE",
            "--name",
            "Import benchmark",
            "--no-pki",
        ],
        check=True,
        capture_output=True,
        text=True,
    )


def run_import(csv_path: Path, home: Path) -> tuple[float, float, float, str]:
    """Import with the real command; wall seconds, CPU seconds, peak tree RSS MiB, summary."""
    init_home(home)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(SPOOR), "records", "import", str(csv_path), "--home", str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_kib(proc.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"import failed:\n{out}\n{err}")
    return seconds, cpu, peak / 1024, out.strip().splitlines()[-1]


def run_baseline(csv_path: Path, db: Path) -> float:
    """Same rows, bare csv.reader + executemany into one SQLite table, one transaction."""
    start = time.perf_counter()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    with csv_path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        cols = ",".join(f'"{h}"' for h in header)
        conn.execute(f"CREATE TABLE rows ({cols})")
        marks = ",".join("?" * len(header))
        conn.execute("BEGIN")
        conn.executemany(f"INSERT INTO rows VALUES ({marks})", reader)
        conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - start


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--workdir", type=Path, default=None, help="keep files here")
    parser.add_argument("--smoke", action="store_true", help="one tiny size, to check it runs")
    args = parser.parse_args()
    if args.smoke:
        args.sizes = SMOKE_SIZES
    work = args.workdir or Path(tempfile.mkdtemp(prefix="spoor-import-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()}")
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    header = (
        f"{'records':>9} | {'import s':>8} | {'records/s':>9} | {'cpu s':>6} | "
        f"{'peak RSS MiB':>12} | {'baseline s':>10} | {'ratio':>5} | keys"
    )
    print(header)
    print("-" * len(header))
    for size in args.sizes:
        csv_path = work / f"records-{size}.csv"
        if not csv_path.exists():
            generate.write(csv_path, generate.rows(size, seed=size))
        seconds, cpu, peak, summary = run_import(csv_path, work / f"home-{size}-{time.time_ns()}")
        base = run_baseline(csv_path, work / f"baseline-{size}-{time.time_ns()}.db")
        keys = summary.rsplit(";", 1)[-1].strip()
        print(
            f"{size:>9} | {seconds:>8.1f} | {size / seconds:>9.0f} | {cpu:>6.1f} | "
            f"{peak:>12.0f} | {base:>10.1f} | {seconds / base:>5.1f} | {keys}",
            flush=True,
        )
    print(f"load average at end: {os.getloadavg()[0]:.2f}; files in {work}")


if __name__ == "__main__":
    main()
