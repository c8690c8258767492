"""Lookups against held setups through the local lookup API, between real nodes.

Run: ``.venv/bin/python bench/lookup_bench.py [--sizes 100000 1000000] [--fanout 5]
[--fanout-size 100000] [--lookups 50] [--bulk 100000] [--freshness 1000]``
(``--smoke`` runs every part at a tiny size in seconds; the test suite does).

Every node is a real ``spoor serve`` process (mutual TLS, PSI worker pools,
policy, budgets and audit on both sides). For each responder size M, a holder
imports M synthetic records; the asker's local lookup API is asked one row's
match keys (about three) at a time. Reported, with same-run baselines:

1. lookup latency p50/p95/p99 over ``--lookups`` single-row lookups, and the
   PSI bytes on the wire per lookup (request + response);
2. fan-out: the same lookups against ``--fanout`` holders of ``--fanout-size``
   records each, as a ratio of the one-holder p50 at that size, with the CPU
   milliseconds each lookup cost the asker and each holder (node process and
   its PSI workers, read from ``/proc`` around every lookup) and the CPU the
   idle federation spends per second in its background rounds;
3. the initial setup build: view and build seconds, setup bytes per element,
   and the build rate against the library's own ``CreateSetupMessage`` rate
   measured in this run, times the cores;
4. freshness: ``--freshness`` records imported into the running holder, time
   until a lookup finds one of them, and the bytes re-synced;
5. bulk: ``--bulk`` query keys against a holder with about as many keys, a
   whole lookup through both nodes against the library's naive one-shot
   sequence (client request, server setup, response, intersection) on the
   same sets in this process;
6. peak resident memory of each node process and of its PSI workers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import private_set_intersection.python as psi
import psycopg
from pg_bench import with_schema
from spoor.lookup.v1 import lookup_pb2 as lk

from node import store
from node.app import logs
from node.app.config import load_config, save_config
from node.app.home import NodeHome
from node.psi.server import padded_elements
from node.records.io import read_records
from node.records.keys import KEY_SCHEME_VERSION, derive_keys
from node.records.schemes import keys_of_scheme
from node.rpc.local_lookup import LocalLookupClient
from spoor_dev import generate
from spoor_dev.federation import Agency, Federation, spoor_command
from spoor_dev.quality_run import ROOT

ASKER = Agency("qa-asker", "VN", "Benchmark asker")
POLICY = ROOT / "deploy" / "quality" / "policy.yaml"
PURPOSE, BASIS = "criminal_investigation", "CITES-Art-VIII"


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def import_records(home: Path, path: Path) -> None:
    """``spoor records import`` with a deadline long enough for a million rows on a busy box."""
    result = subprocess.run(
        [*spoor_command(), "records", "import", "--home", str(home), str(path)],
        capture_output=True, text=True, timeout=3600, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"import failed:\n{result.stdout}\n{result.stderr}")


def holder(i: int) -> Agency:
    return Agency(f"qa-holder-{i}", "KE", f"Benchmark holder {i}")


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            out.extend(int(c) for c in text)
    except OSError:
        return out
    return out


_TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")


def _ticks(pid: int) -> int:
    """CPU ticks of ``pid``'s threads plus those of its reaped children (0 when gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    # Fields after the parenthesised command: state is field 3, utime field 14.
    fields = text.rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime


def _tree_ticks(pid: int) -> int:
    return _ticks(pid) + sum(_tree_ticks(c) for c in _children(pid))


def cpu_s(pid: int) -> tuple[float, float]:
    """(node process CPU s, its workers' CPU s) so far, workers live or reaped.

    A worker's CPU moves from the live count to the node's reaped count when it
    is recycled; the node's own figure excludes both, so the sum is continuous.
    """
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text.rsplit(")", 1)[1].split()
    own, reaped = int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])
    live = sum(_tree_ticks(c) for c in _children(pid))
    return own * _TICK_S, (reaped + live) * _TICK_S


class CpuMeter:
    """CPU spent by named node processes (and their workers) between two reads."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids

    def read(self) -> dict[str, tuple[float, float]]:
        return {name: cpu_s(pid) for name, pid in self.pids.items()}

    @staticmethod
    def spent(
        before: dict[str, tuple[float, float]], after: dict[str, tuple[float, float]]
    ) -> dict[str, tuple[float, float]]:
        return {
            name: (after[name][0] - before[name][0], after[name][1] - before[name][1])
            for name in before
        }


def _hwm_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def peak_rss_mib(pid: int) -> tuple[float, float]:
    """(node process peak RSS, sum of its live workers' peak RSS) in MiB."""
    workers = sum(_hwm_kib(c) for c in _children(pid))
    return _hwm_kib(pid) / 1024, workers / 1024


def log_events(path: Path, event: str) -> list[dict[str, object]]:
    """The JSON log lines of ``event`` in a node's serve.log."""
    out = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("event") == event:
            out.append(entry)
    return out


def configure(
    home: Path, *, base_shards: int, delta_shards: int, max_request: int, rounds_s: float = 2.0
) -> None:
    h = NodeHome(home)
    config = load_config(h)
    config.psi.workers = max(2, os.cpu_count() or 1)
    config.setups.base_shards = base_shards
    config.setups.delta_shards = delta_shards
    config.setups.refresh_seconds = rounds_s
    config.setups.sync_seconds = rounds_s
    config.limits.max_elements_per_request = max_request
    config.limits.rpc_deadline_seconds = 300.0
    # A Unix socket path must stay short; a deep work directory would exceed it.
    config.lookup.socket = str(Path(tempfile.mkdtemp(prefix="spoor-lb-")) / "lookup.sock")
    save_config(h, config)


def install_policy(fed: Federation, agency_id: str, tmp: Path) -> None:
    text = POLICY.read_text(encoding="utf-8").replace("qa-holder", agency_id)
    path = tmp / f"policy-{agency_id}.yaml"
    path.write_text(text, encoding="utf-8")
    fed.install_policy(agency_id, path)


def rows_keys(rows: list[dict[str, str]], tmp: Path) -> list[list[str]]:
    """The matchable keys of each generated row, read as an import reads them."""
    path = tmp / f"rows-{random.random():.12f}.jsonl"
    generate.write(path, rows)
    return [sorted(derive_keys(r).matchable()) for r in read_records(path).records]


def query_rows(n: int, seed: int, tmp: Path) -> list[list[str]]:
    """``n`` single-row key sets: restyled copies of held rows alternating with unknown rows."""
    rng = random.Random(seed)
    shared = [
        generate.restyle(r, rng) for r in generate.rows(n, seed=3, agency="KWS", country="KE")
    ]
    fresh = list(generate.rows(n, seed=99, agency="QRY", country="VN"))
    mixed = [row for pair in zip(shared, fresh, strict=True) for row in pair]
    return [k for k in rows_keys(mixed, tmp) if k][:n]


@dataclass
class Setup:
    """One started federation and where it lives."""

    fed: Federation
    holders: list[Agency]
    tmp: Path
    lookups: int
    client: LocalLookupClient = field(init=False)

    def __post_init__(self) -> None:
        asker = NodeHome(self.fed.home(ASKER.agency_id))
        client = LocalLookupClient.for_home(asker, load_config(asker))
        if client is None:
            raise RuntimeError("the asker's local lookup API is not reachable")
        self.client = client

    def ask(self, keys: list[str], peers: list[str] | None = None) -> lk.LookupResponse:
        return self.client.lookup(
            lk.LookupRequest(
                match_keys=keys,
                purpose=PURPOSE,
                legal_basis=BASIS,
                case_reference="BENCH/1",
                officer="bench",
                peers=peers or [],
            ),
            timeout=600,
        )

    def wait_ready(self, keys: list[str], timeout_s: float = 3600) -> float:
        """Seconds until every holder answers from held setups."""
        started = time.perf_counter()
        while True:
            answer = self.ask(keys)
            if all(not p.error for p in answer.peers):
                return time.perf_counter() - started
            if time.perf_counter() - started > timeout_s:
                raise RuntimeError(f"setups not ready: {[p.error for p in answer.peers]}")
            time.sleep(0.5)


def start(
    tmp: Path,
    name: str,
    sizes: list[int],
    args: argparse.Namespace,
    *,
    max_request: int,
    rounds_s: float = 2.0,
) -> Iterator[Setup]:
    holders = [holder(i) for i in range(len(sizes))]
    fed = Federation(tmp / name, (*holders, ASKER))
    fed.create()
    schemas = [move_to_postgres(fed.home(a.agency_id), args.store_url) for a in holders]
    for agency, size in zip(holders, sizes, strict=True):
        install_policy(fed, agency.agency_id, tmp)
        held = tmp / f"held-{size}.jsonl"
        if not held.exists():
            generate.write(held, generate.rows(size, seed=3, agency="KWS", country="KE"))
        import_records(fed.home(agency.agency_id), held)
    for agency in (*holders, ASKER):
        configure(
            fed.home(agency.agency_id),
            base_shards=args.base_shards,
            delta_shards=args.delta_shards,
            max_request=max_request,
            rounds_s=rounds_s,
        )
    fed.start()
    try:
        yield Setup(fed, holders, tmp, args.lookups)
    finally:
        fed.stop()
        drop_schemas(args.store_url, [s for s in schemas if s])


def move_to_postgres(home: Path, url: str) -> str:
    """With ``--store-url``, move a new holder's store into a fresh schema there (its name)."""
    if not url:
        return ""
    schema = f"lookup_bench_{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    done = subprocess.run(
        [*spoor_command(), "store", "migrate", "--home", str(home),
         "--to", with_schema(url, schema)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"store migrate failed:\n{done.stdout}\n{done.stderr}")
    return schema


def drop_schemas(url: str, schemas: list[str]) -> None:
    if not url or not schemas:
        return
    with psycopg.connect(url, autocommit=True) as admin:
        for schema in schemas:
            admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def library_setup_rate(n: int) -> float:
    """Elements per second of the library's own CreateSetupMessage on one core."""
    elements = [f"v1|phone|+2547{i:08d}" for i in range(n)]
    server = psi.server.CreateWithNewKey(True)
    started = time.perf_counter()
    server.CreateSetupMessage(1e-9, 200_000, elements, psi.DataStructure.GCS)
    return n / (time.perf_counter() - started)


def naive_one_shot(server_keys: list[str], client_keys: list[str]) -> float:
    """Seconds for the library's one-shot sequence on these sets, in one process."""
    started = time.perf_counter()
    client = psi.client.CreateWithNewKey(True)
    server = psi.server.CreateWithNewKey(True)
    request = client.CreateRequest(client_keys)
    setup = server.CreateSetupMessage(
        1e-9, len(client_keys), padded_elements(server_keys), psi.DataStructure.GCS
    )
    response = server.ProcessRequest(request)
    client.GetIntersection(setup, response)
    return time.perf_counter() - started


def time_lookups(
    setup: Setup,
    rows: list[list[str]],
    peers: list[str] | None,
    meter: CpuMeter | None = None,
    pause_s: float = 0.0,
) -> dict[str, Any]:
    """Latency percentiles of one lookup per row; with ``meter``, CPU ms per lookup by process.

    After each lookup the caller waits ``pause_s`` (an officer's pace, not a
    loop's); the CPU counted for a lookup runs until the end of its pause, so
    work it leaves for later (spare keys made again) is still its own.
    """
    times, hits = [], 0
    spent: dict[str, list[float]] = {}
    for keys in rows:
        before = meter.read() if meter is not None else {}
        started = time.perf_counter()
        answer = setup.ask(keys, peers)
        times.append((time.perf_counter() - started) * 1000)
        if pause_s:
            time.sleep(pause_s)
        if meter is not None:
            for name, (node, workers) in CpuMeter.spent(before, meter.read()).items():
                total = spent.setdefault(name, [0.0, 0.0])
                total[0] += node
                total[1] += workers
        if any(p.error for p in answer.peers):
            raise RuntimeError(f"a lookup failed: {[p.error for p in answer.peers]}")
        hits += sum(1 for p in answer.peers if p.hits)
    return {
        "p50": statistics.median(times),
        "p95": percentile(times, 95),
        "p99": percentile(times, 99),
        "n": float(len(times)),
        "rows_hit": float(hits),
        "keys": statistics.mean(len(r) for r in rows),
        # name -> [node process ms, workers ms] per lookup
        "cpu_ms": {k: [v * 1000 / len(rows) for v in t] for k, t in spent.items()},
    }


def fed_meter(setup: Setup) -> CpuMeter:
    """A meter over the asker and every holder of ``setup``."""
    pids = {}
    for agency in (ASKER, *setup.holders):
        node = setup.fed.nodes[agency.agency_id].process
        assert node is not None
        pids[agency.agency_id] = node.pid
    return CpuMeter(pids)


def idle_cpu(meter: CpuMeter, seconds: float) -> dict[str, float]:
    """CPU ms per second each node (with its workers) spends while nobody asks anything."""
    before = meter.read()
    time.sleep(seconds)
    return {k: (n + w) * 1000 / seconds for k, (n, w) in meter.spent(before, meter.read()).items()}


def wire_bytes(setup: Setup) -> float:
    """Median PSI bytes (request + response) of the last one-counterpart lookups."""
    log_path = setup.fed.home(ASKER.agency_id) / "serve.log"
    batched = log_events(log_path, "held fan-out lookup")
    lines = [e for e in batched if str(e.get("answered")) == "1"]
    lines += log_events(log_path, "held lookup")
    lines.sort(key=lambda e: str(e.get("timestamp", "")))
    per = [int(str(e["request_bytes"])) + int(str(e["response_bytes"])) for e in lines]
    return statistics.median(per[-setup.lookups :]) if per else 0.0


def holder_keys(setup: Setup, agency: Agency) -> list[str]:
    # The holder's own store, SQLite or PostgreSQL (its spoor.toml says which).
    with store.opened(NodeHome(setup.fed.home(agency.agency_id)).db_path) as conn:
        stored = [str(r[0]) for r in conn.execute("SELECT DISTINCT key FROM match_keys")]
    # A record's stored keys hold every scheme; lookups use the current one.
    return keys_of_scheme(stored, KEY_SCHEME_VERSION)


def single(tmp: Path, size: int, args: argparse.Namespace, lib_rate: float) -> dict[str, object]:
    rows = query_rows(args.lookups, seed=size, tmp=tmp)
    out: dict[str, object] = {"size": size}
    for setup in start(tmp, f"single-{size}", [size], args, max_request=20_000):
        agency = setup.holders[0]
        out["ready_s"] = setup.wait_ready(rows[0])
        published = log_events(setup.fed.home(agency.agency_id) / "serve.log",
                               "held setups published")[0]  # fmt: skip
        out.update(published)
        out["lookup"] = time_lookups(setup, rows, None)
        out["wire_bytes"] = wire_bytes(setup)
        build_s = float(str(published["build_s"]))
        rate = int(str(published["padded_elements"])) / build_s if build_s else 0.0
        out["build_rate"] = rate
        out["build_ratio"] = rate / (lib_rate * (os.cpu_count() or 1))
        # Freshness: import new records into the running holder and wait for a hit.
        new_rows = list(generate.rows(args.freshness, seed=777, agency="NEW", country="KE"))
        # A new row none of whose keys the holder holds yet (the generator can repeat a key).
        probe = next(k for k in rows_keys(new_rows, tmp) if k and not setup.ask(k).peers[0].hits)
        path = tmp / f"fresh-{size}.jsonl"
        generate.write(path, new_rows)
        synced_before = len(log_events(setup.fed.home(ASKER.agency_id) / "serve.log",
                                       "held setups synced"))  # fmt: skip
        started = time.perf_counter()
        import_records(setup.fed.home(agency.agency_id), path)
        imported = time.perf_counter()
        while not setup.ask(probe).peers[0].hits:
            if time.perf_counter() - started > 3600:
                raise RuntimeError("new records never became visible")
            time.sleep(0.2)
        seen = time.perf_counter()
        synced = log_events(setup.fed.home(ASKER.agency_id) / "serve.log", "held setups synced")
        out["fresh_import_s"] = imported - started
        out["fresh_visible_s"] = seen - imported
        out["fresh_bytes"] = sum(int(str(e["bytes_fetched"])) for e in synced[synced_before:])
        out["fresh_shards"] = sum(int(str(e["shards_fetched"])) for e in synced[synced_before:])
        asker_pid = setup.fed.nodes[ASKER.agency_id].process
        holder_pid = setup.fed.nodes[agency.agency_id].process
        assert asker_pid is not None
        assert holder_pid is not None
        out["rss_holder"] = peak_rss_mib(holder_pid.pid)
        out["rss_asker"] = peak_rss_mib(asker_pid.pid)
    return out


def fanout(tmp: Path, args: argparse.Namespace) -> dict[str, object]:
    rows = query_rows(args.lookups, seed=args.fanout_size, tmp=tmp)
    out: dict[str, object] = {}
    # Background rounds (refresh, sync) every 30 s instead of 2 s: this part measures
    # lookups, and a round's CPU would otherwise land on whichever lookup it meets.
    for setup in start(
        tmp, "fanout", [args.fanout_size] * args.fanout, args, max_request=20_000, rounds_s=30.0
    ):
        setup.wait_ready(rows[0])
        first = [setup.holders[0].agency_id]
        meter = fed_meter(setup)
        # Warm every path (pooled channels, spare keys, workers) before measuring.
        for keys in rows[:4]:
            setup.ask(keys, first)
            setup.ask(keys)
        out["idle_cpu_ms_per_s"] = idle_cpu(meter, 3.0)
        # One holder and all holders, alternating, so load drifts hit both alike.
        parts: dict[str, list[dict[str, Any]]] = {"one": [], "all": []}
        for i, keys in enumerate(rows):
            part = "one" if i % 2 == 0 else "all"
            asked = first if part == "one" else None
            parts[part].append(time_lookups(setup, [keys], asked, meter, args.pause_ms / 1000))
        for part, runs in parts.items():
            out[part] = merged(runs)
    return out


def merged(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One summary of several single-lookup runs (percentiles over all of them)."""
    times = [r["p50"] for r in runs]
    cpu: dict[str, list[float]] = {}
    for r in runs:
        for name, (node, workers) in r["cpu_ms"].items():
            total = cpu.setdefault(name, [0.0, 0.0])
            total[0] += node / len(runs)
            total[1] += workers / len(runs)
    return {
        "p50": statistics.median(times),
        "p95": percentile(times, 95),
        "p99": percentile(times, 99),
        "n": float(len(times)),
        "rows_hit": float(sum(r["rows_hit"] for r in runs)),
        "keys": statistics.mean(r["keys"] for r in runs),
        "cpu_ms": cpu,
    }


def bulk(tmp: Path, args: argparse.Namespace) -> dict[str, object]:
    # About 3.4 keys per record: a holder with bulk / 3.4 records holds ~bulk keys.
    records = max(50, int(args.bulk / 3.4))
    out: dict[str, object] = {}
    for setup in start(tmp, "bulk", [records], args, max_request=args.bulk + 1000):
        server_keys = holder_keys(setup, setup.holders[0])
        rng = random.Random(5)
        shared = rng.sample(server_keys, min(len(server_keys), args.bulk // 2))
        fresh = [
            f"v{KEY_SCHEME_VERSION}|phone|+8490{i:08d}" for i in range(args.bulk - len(shared))
        ]
        query = [*shared, *fresh]
        setup.wait_ready(query[:3])
        started = time.perf_counter()
        answer = setup.ask(query)
        out["held_s"] = time.perf_counter() - started
        out["hits"] = len(answer.peers[0].hits)
        out["naive_s"] = naive_one_shot(server_keys, query)
        out["server_keys"] = len(server_keys)
        out["query_keys"] = len(query)
    return out


def report(results: dict[str, object], args: argparse.Namespace, lib_rate: float) -> None:
    print(f"machine : {_cpu()}, {os.cpu_count()} CPUs, {platform.platform()}")
    print(f"python  : {sys.version.split()[0]}, openmined-psi 2.0.6")
    print(f"shards  : {args.base_shards} base + {args.delta_shards} delta; {args.lookups} lookups;"
          f" fan-out pause {args.pause_ms:g} ms after each lookup")  # fmt: skip
    backend = "PostgreSQL (a schema each)" if args.store_url else "SQLite"
    print(f"store   : holders on {backend}")
    print(f"library : CreateSetupMessage {lib_rate:,.0f} elements/s on one core")
    print()
    print("| records | keys | lookup p50 ms | p95 ms | p99 ms | keys/lookup | wire B/lookup |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    singles = [r for r in results["single"] if isinstance(r, dict)]  # type: ignore[attr-defined]
    for r in singles:
        lu = r["lookup"]
        print(f"| {r['size']:,} | {r['elements']:,} | {lu['p50']:.1f} | {lu['p95']:.1f} |"
              f" {lu['p99']:.1f} | {lu['keys']:.1f} | {r['wire_bytes']:,.0f} |")  # fmt: skip
    print()
    print(
        "| records | view s | build s | padded elements | setup B/element | build rate/s"
        " | rate / (library x cores) | ready s |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in singles:
        per = int(r["setup_bytes"]) / max(1, int(r["elements"]))
        print(f"| {r['size']:,} | {r['view_s']:.1f} | {r['build_s']:.1f} |"
              f" {r['padded_elements']:,} | {per:.2f} | {r['build_rate']:,.0f} |"
              f" {r['build_ratio']:.2f} | {r['ready_s']:.1f} |")  # fmt: skip
    print()
    print(
        "| records | added | import s | visible after import s | bytes re-synced | shards |"
        " holder RSS MiB (node + workers) | asker RSS MiB (node + workers) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in singles:
        hn, hw = r["rss_holder"]
        an, aw = r["rss_asker"]
        print(f"| {r['size']:,} | {args.freshness:,} | {r['fresh_import_s']:.1f} |"
              f" {r['fresh_visible_s']:.1f} | {r['fresh_bytes']:,} | {r['fresh_shards']} |"
              f" {hn:.0f} + {hw:.0f} | {an:.0f} + {aw:.0f} |")  # fmt: skip
    fan = results.get("fanout")
    if isinstance(fan, dict) and fan:
        report_fanout(fan, args)
    bl = results.get("bulk")
    if isinstance(bl, dict) and bl:
        print()
        print("| query keys | responder keys | hits | held lookup s | naive one-shot s | ratio |")
        print("|---:|---:|---:|---:|---:|---:|")
        print(f"| {bl['query_keys']:,} | {bl['server_keys']:,} | {bl['hits']:,} |"
              f" {bl['held_s']:.2f} | {bl['naive_s']:.2f} |"
              f" {bl['held_s'] / bl['naive_s']:.2f} |")  # fmt: skip


def report_fanout(fan: dict[str, Any], args: argparse.Namespace) -> None:
    one, every = fan["one"], fan["all"]
    cores = os.cpu_count() or 1
    print()
    print("| holders x records | p50 ms | p95 ms | p99 ms | p50 ratio to one holder |"
          " asker CPU ms (node + workers) | CPU ms per holder asked (node + workers) |"
          f" all nodes CPU ms | CPU ms / {cores} cores |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, run in ((1, one), (args.fanout, every)):
        cpu = run["cpu_ms"]
        an, aw = cpu.get(ASKER.agency_id, [0.0, 0.0])
        asked = [holder(i).agency_id for i in range(n)]
        hn = sum(cpu.get(h, [0.0, 0.0])[0] for h in asked) / n
        hw = sum(cpu.get(h, [0.0, 0.0])[1] for h in asked) / n
        total = sum(a + b for a, b in cpu.values())
        print(f"| {n} x {args.fanout_size:,} | {run['p50']:.1f} | {run['p95']:.1f} |"
              f" {run['p99']:.1f} | {run['p50'] / one['p50']:.2f} | {an:.1f} + {aw:.1f} |"
              f" {hn:.1f} + {hw:.1f} | {total:.1f} | {total / cores:.1f} |")  # fmt: skip
    idle = fan.get("idle_cpu_ms_per_s", {})
    if idle:
        print()
        print(f"idle    : all nodes with workers {sum(idle.values()):.1f} CPU ms/s"
              f" in background rounds (asker {idle.get(ASKER.agency_id, 0.0):.1f})")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--fanout", type=int, default=5)
    parser.add_argument("--fanout-size", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=50)
    parser.add_argument("--bulk", type=int, default=100_000)
    parser.add_argument("--freshness", type=int, default=1000)
    parser.add_argument("--base-shards", type=int, default=256)
    parser.add_argument("--delta-shards", type=int, default=16)
    parser.add_argument(
        "--pause-ms", type=float, default=0.0,
        help="fan-out part: wait this long after each lookup (0: back to back)",
    )  # fmt: skip
    parser.add_argument("--skip", nargs="*", default=[], choices=["single", "fanout", "bulk"])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--store-url",
        default="",
        help="a PostgreSQL database: every holder's store moves into a fresh schema of it",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for the test suite")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes, args.fanout, args.fanout_size = [200], 2, 200
        args.lookups, args.bulk, args.freshness = 6, 300, 20
        args.base_shards, args.delta_shards = 4, 2
    logs.configure(level="warning")
    lib_rate = library_setup_rate(2_000 if args.smoke else 50_000)
    print(json.dumps({"library_setup_rate": lib_rate}), file=sys.stderr, flush=True)
    results: dict[str, object] = {"single": []}
    with tempfile.TemporaryDirectory(prefix="spoor-lookup-bench-", dir=args.workdir) as tmp:
        root = Path(tmp)
        # Each part's raw figures go to stderr as soon as it ends, so a long run that
        # is stopped early still leaves what it measured.
        if "single" not in args.skip:
            singles = []
            for size in args.sizes:
                singles.append(single(root, size, args, lib_rate))
                print(json.dumps({"single": singles[-1]}), file=sys.stderr, flush=True)
            results["single"] = singles
        if "fanout" not in args.skip:
            results["fanout"] = fanout(root, args)
            print(json.dumps({"fanout": results["fanout"]}), file=sys.stderr, flush=True)
        if "bulk" not in args.skip:
            results["bulk"] = bulk(root, args)
            print(json.dumps({"bulk": results["bulk"]}), file=sys.stderr, flush=True)
    report(results, args, lib_rate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
