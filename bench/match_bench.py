"""A whole match between two real nodes, against responders of growing size.

Run: ``.venv/bin/python bench/match_bench.py [--sizes 10000 100000] [--query 1000] [--runs 3]``

For each responder size M, a holder node imports M synthetic records and an
asker node runs ``spoor match`` with Q query rows against it over mutual TLS
(PSI in worker processes, participation policy per record, audit on both
sides). The same-run baseline is the bare OpenMined library doing the same PSI
in one process on the same sets (the keys of the records the holder's policy
admits, padded as the node pads them, and the asker's keys): the ratio is what
the federation around PSI costs. Medians of ``--runs`` matches.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import private_set_intersection.python as psi

import policy
from node import store
from node.app import logs
from node.app.config import load_config
from node.app.home import NodeHome
from node.app.policy_holder import PolicyHolder
from node.match.responder import Responder
from node.psi.server import padded_elements
from node.records.io import read_records
from node.records.keys import derive_keys
from spoor_dev import generate
from spoor_dev.federation import Agency, Federation, run_spoor
from spoor_dev.quality_run import ROOT

HOLDER = Agency("qa-holder", "KE", "Benchmark holder")
ASKER = Agency("qa-asker", "VN", "Benchmark asker")


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def library_baseline(server_keys: list[str], client_keys: list[str]) -> float:
    started = time.perf_counter()
    client = psi.client.CreateWithNewKey(True)
    server = psi.server.CreateWithNewKey(True)
    request = client.CreateRequest(client_keys)
    padded = padded_elements(server_keys)
    setup = server.CreateSetupMessage(1e-9, len(client_keys), padded, psi.DataStructure.GCS)
    response = server.ProcessRequest(request)
    client.GetIntersection(setup, response)
    return time.perf_counter() - started


def bench_size(root: Path, size: int, query: int, runs: int) -> dict[str, object]:
    fed = Federation(root / f"m{size}", (HOLDER, ASKER))
    fed.create()
    fed.install_policy(HOLDER.agency_id, ROOT / "deploy" / "quality" / "policy.yaml")
    held = root / f"held-{size}.jsonl"
    generate.write(held, generate.rows(size, seed=3, agency="KWS", country="KE"))
    run_spoor(["records", "import", "--home", str(fed.home(HOLDER.agency_id)), str(held)])
    # Query: half the rows restyled from held records (hits), half new ones.
    asked = root / f"query-{size}.jsonl"
    rng = random.Random(7)
    shared = [generate.restyle(r, rng) for r in generate.rows(query // 2, seed=3, agency="KWS")]
    fresh = list(generate.rows(query - len(shared), seed=99, agency="QRY", country="VN"))
    generate.write(asked, [*shared, *fresh])
    fed.start()
    times: list[float] = []
    result: dict[str, object] = {}
    try:
        for _ in range(runs):
            started = time.perf_counter()
            out = run_spoor(
                [
                    "match",
                    "--home",
                    str(fed.home(ASKER.agency_id)),
                    str(asked),
                    "--json",
                    "--peer",
                    HOLDER.agency_id,
                    "--purpose",
                    "criminal_investigation",
                    "--legal-basis",
                    "CITES-Art-VIII",
                    "--case",
                    "BENCH",
                    "--officer",
                    "bench",
                ]
            )
            times.append(time.perf_counter() - started)
            result = json.loads(out)
    finally:
        fed.stop()
    counterpart = result["counterparts"][0]  # type: ignore[index]

    # The baseline works on exactly the set the responder matched: the keys of the
    # records its policy admitted for this request.
    holder = NodeHome(fed.home(HOLDER.agency_id))
    policies = PolicyHolder(holder.policy_dir, holder.db_path)
    policies.load_initial()
    responder = Responder(load_config(holder), holder.db_path, policies, pool=None)  # type: ignore[arg-type]
    ctx = policy.RequestContext(
        requester=ASKER.agency_id,
        purpose="criminal_investigation",
        legal_basis="CITES-Art-VIII",
        case_reference="BENCH",
        officer="bench",
        now=datetime.now(UTC),
    )
    conn = store.connect(holder.db_path)
    server_keys, _ = responder.eligible_elements(conn, ctx)
    conn.close()
    client_keys = sorted(
        {k for r in read_records(asked).records for k in derive_keys(r).matchable()}
    )
    baseline = statistics.median(library_baseline(server_keys, client_keys) for _ in range(runs))
    return {
        "size": size,
        "server_keys": len(server_keys),
        "client_keys": len(client_keys),
        "hits": counterpart["hits"],
        "match_s": statistics.median(times),
        "baseline_s": baseline,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--query", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--smoke", action="store_true", help="200 records, 20 query rows, one run: checks it runs"
    )
    args = parser.parse_args()
    if args.smoke:
        args.sizes, args.query, args.runs = [200], 20, 1
    logs.configure(level="warning")
    print(f"machine : {_cpu()}, {os.cpu_count()} CPUs, {platform.platform()}")
    print(f"python  : {sys.version.split()[0]}, openmined-psi 2.0.6")
    print(f"query   : {args.query} rows; median of {args.runs} matches per size")
    print()
    header = f"{'records':>9} {'resp. keys':>10} {'query keys':>10} {'hits':>5}"
    header += f" {'match s':>8} {'library s':>9} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory(prefix="spoor-match-bench-") as tmp:
        for size in args.sizes:
            r = bench_size(Path(tmp), size, args.query, args.runs)
            ratio = float(r["match_s"]) / float(r["baseline_s"])  # type: ignore[arg-type]
            print(
                f"{r['size']:>9} {r['server_keys']:>10} {r['client_keys']:>10} {r['hits']:>5}"
                f" {r['match_s']:>8.2f} {r['baseline_s']:>9.2f} {ratio:>6.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
