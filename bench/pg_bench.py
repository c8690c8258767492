"""Store benchmark: imports and lookups on PostgreSQL beside SQLite, same records, same run.

For each size the generator writes a CSV file (not timed); then, for each
backend, a fresh node home made by ``spoor init`` (its store an SQLite file,
or a new schema of the PostgreSQL database given by ``--url``) imports it with
the real ``spoor records import`` in a child process. Lookups are then timed
in this process through the store's repository: ``--lookups`` single-key
lookups (what a held lookup or a follow-up asks for; p50 and p95) and one
full scan of every record with its keys (what building a match setup reads).

    .venv/bin/python bench/pg_bench.py --url postgresql://spoor@127.0.0.1/bench
    .venv/bin/python bench/pg_bench.py --url ... --sizes 100000
    .venv/bin/python bench/pg_bench.py --url ... --smoke    # 200 records, seconds

``--url`` defaults to ``$SPOOR_BENCH_POSTGRES_URL``; each run makes schemas
``bench_<n>_...`` in that database and drops them at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402 - after the path set-up above

from node import store  # noqa: E402
from node.store import location, postgres  # noqa: E402
from node.store import records as records_repo  # noqa: E402
from spoor_dev import generate  # noqa: E402

SPOOR = [sys.executable, "-m", "node.cli"]
SMOKE_SIZES = [200]
ENV_URL = "SPOOR_BENCH_POSTGRES_URL"


def with_schema(url: str, schema: str) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-csearch_path={schema}')}"


def spoor(args: list[str], store_url: str | None) -> str:
    env = dict(os.environ)
    env.pop(location.ENV_URL, None)
    if store_url:
        env[location.ENV_URL] = store_url
    done = subprocess.run([*SPOOR, *args], capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"spoor {' '.join(args[:2])} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def import_into(home: Path, csv_path: Path, store_url: str | None) -> float:
    """``spoor init`` then ``spoor records import``; the import's wall seconds."""
    spoor(["init", "--home", str(home), "--agency", "bench-store", "--country", "KE",
           "--no-pki"], store_url)  # fmt: skip
    start = time.perf_counter()
    spoor(["records", "import", str(csv_path), "--home", str(home)], store_url)
    return time.perf_counter() - start


def lookups(home: Path, store_url: str | None, count: int) -> tuple[float, float, float, int]:
    """(p50 ms, p95 ms) of single-key lookups, full scan seconds, records scanned."""
    previous = os.environ.pop(location.ENV_URL, None)
    if store_url:
        os.environ[location.ENV_URL] = store_url
    try:
        with store.opened(home / "node.db") as conn:
            keys = [str(r[0]) for r in conn.execute("SELECT key FROM match_keys")]
            rng = random.Random(1)
            chosen = [rng.choice(keys) for _ in range(count)] if keys else []
            times = []
            for key in chosen:
                start = time.perf_counter()
                records_repo.ids_with_key(conn, key)
                times.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            scanned = sum(1 for _ in records_repo.eligible_keys(conn))
            scan = time.perf_counter() - start
    finally:
        os.environ.pop(location.ENV_URL, None)
        if previous is not None:
            os.environ[location.ENV_URL] = previous
        postgres.close_pools()
    times.sort()
    p50 = statistics.median(times) if times else 0.0
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))] if times else 0.0
    return p50, p95, scan, scanned


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get(ENV_URL, ""), help="PostgreSQL database")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--lookups", type=int, default=500)
    parser.add_argument("--workdir", type=Path, default=None, help="keep files here")
    parser.add_argument("--smoke", action="store_true", help="one tiny size, to check it runs")
    args = parser.parse_args()
    if not args.url:
        raise SystemExit(f"give --url postgresql://... (or set ${ENV_URL})")
    if args.smoke:
        args.sizes, args.lookups = SMOKE_SIZES, 50
    work = args.workdir or Path(tempfile.mkdtemp(prefix="spoor-pg-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    with psycopg.connect(args.url, autocommit=True) as admin:
        server = admin.execute("SHOW server_version").fetchone()
    print(f"PostgreSQL {server[0] if server else '?'}; {os.cpu_count()} cores")
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    header = (
        f"{'records':>9} | {'backend':<10} | {'import s':>8} | {'records/s':>9} | "
        f"{'lookup p50 ms':>13} | {'p95 ms':>6} | {'scan s':>6}"
    )
    print(header)
    print("-" * len(header))
    schemas: list[str] = []
    try:
        for size in args.sizes:
            csv_path = work / f"records-{size}.csv"
            if not csv_path.exists():
                generate.write(csv_path, generate.rows(size, seed=size))
            for backend in ("sqlite", "postgresql"):
                store_url = None
                if backend == "postgresql":
                    schema = f"bench_{size}_{secrets.token_hex(3)}"
                    with psycopg.connect(args.url, autocommit=True) as admin:
                        admin.execute(f"CREATE SCHEMA {schema}")
                    schemas.append(schema)
                    store_url = with_schema(args.url, schema)
                home = work / f"home-{backend}-{size}-{time.time_ns()}"
                seconds = import_into(home, csv_path, store_url)
                p50, p95, scan, scanned = lookups(home, store_url, args.lookups)
                assert scanned == size, f"{backend}: {scanned} records stored of {size}"
                print(
                    f"{size:>9} | {backend:<10} | {seconds:>8.1f} | {size / seconds:>9.0f} | "
                    f"{p50:>13.2f} | {p95:>6.2f} | {scan:>6.1f}",
                    flush=True,
                )
    finally:
        with psycopg.connect(args.url, autocommit=True) as admin:
            for schema in schemas:
                admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


if __name__ == "__main__":
    main()
