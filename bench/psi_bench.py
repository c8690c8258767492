"""PSI time per phase: Spoor's hardened path against the bare library, same run.

Run: ``.venv/bin/python bench/psi_bench.py [--sizes 1000 10000] [--runs 3] [--smoke]``

For each size n the requester holds n keys and the responder n keys, half of
them shared. Phases:

- client request: ``node.psi.start`` (fresh key, dedupe, shuffle, encrypt) vs
  the library's ``CreateRequest``;
- server setup+response: ``PsiPool.serve`` (count, validate, pad to a bucket,
  fresh key, GCS setup, re-encrypt, in a warm worker) vs the library's
  ``CreateSetupMessage`` + ``ProcessRequest`` in-process;
- client finish: ``PsiPool.finish`` (validate setup and response, worker round
  trip, map indices) vs the library's ``GetIntersection`` in-process.

Times are medians of ``--runs`` runs, library and Spoor runs alternating so
load from other processes falls on both alike. The worker start-up line is the cost of
a cold worker (a new interpreter importing the PSI library), paid once per
worker, not per call.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import private_set_intersection.python as psi

from node.psi import PsiPool, start
from node.psi.server import DEFAULT_FPR, effective_fpr, padded_elements


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _paired(
    library: Callable[[], Any], spoor: Callable[[], float | None], runs: int
) -> tuple[float, float]:
    """Median seconds of each, alternating runs so load from elsewhere hits both alike.

    ``spoor`` may return its own measured seconds (to leave set-up out of the figure).
    """
    lib_samples, spoor_samples = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        library()
        lib_samples.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        own = spoor()
        spoor_samples.append(own if own is not None else time.perf_counter() - t0)
    return statistics.median(lib_samples), statistics.median(spoor_samples)


def _sets(n: int) -> tuple[list[str], list[str]]:
    requester = [f"v1|passport|VNM|C{i:07d}" for i in range(n)]
    responder = [f"v1|passport|VNM|C{i:07d}" for i in range(n // 2, n // 2 + n)]
    return requester, responder


def _bench_size(pool: PsiPool, n: int, runs: int) -> list[tuple[str, float, float]]:
    requester, responder = _sets(n)

    def lib_request() -> None:
        psi.client.CreateWithNewKey(True).CreateRequest(requester)

    def spoor_request() -> None:
        start(requester, reveal=True)

    # The bare library gets the same padded set and rate, so the comparison
    # isolates validation and the worker round trip.
    session = start(requester, reveal=True)
    lib_client = psi.client.CreateWithNewKey(True)
    lib_req = lib_client.CreateRequest(requester)
    server_set = padded_elements(responder)
    fpr = effective_fpr(DEFAULT_FPR, n, len(server_set))

    def lib_serve() -> tuple[Any, Any]:
        server = psi.server.CreateWithNewKey(True)
        setup = server.CreateSetupMessage(fpr, n, server_set, psi.DataStructure.GCS)
        return setup, server.ProcessRequest(lib_req)

    def spoor_serve() -> None:
        pool.serve(responder, session.request_bytes, reveal=True)

    lib_setup, lib_resp = lib_serve()

    def lib_finish() -> None:
        lib_client.GetIntersection(lib_setup, lib_resp)

    def spoor_finish() -> float:
        fresh = start(requester, reveal=True)
        answer = pool.serve(responder, fresh.request_bytes, reveal=True)
        t0 = time.perf_counter()
        result = pool.finish(fresh, answer.setup_bytes, answer.response_bytes)
        elapsed = time.perf_counter() - t0
        assert result.count == n // 2
        return elapsed

    return [
        ("client request", *_paired(lib_request, spoor_request, runs)),
        ("server setup+response", *_paired(lib_serve, spoor_serve, runs)),
        ("client finish", *_paired(lib_finish, spoor_finish, runs)),
    ]


def _worker_startup(runs: int) -> float:
    samples = []
    for _ in range(runs):
        with PsiPool(max_workers=1) as pool:
            t0 = time.perf_counter()
            pool.run(len, b"")
            samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main() -> None:
    """Print the machine, then one table row per phase and size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="n = 64, one run: checks it runs")
    args = parser.parse_args()
    if args.smoke:
        args.sizes, args.runs = [64], 1

    print(f"machine : {_cpu_model()}, {os.cpu_count()} CPUs, {platform.platform()}")
    print(f"python  : {platform.python_version()}, openmined-psi {psi.__version__}")
    print(f"runs    : median of {args.runs}; responder set = n keys, n/2 shared")
    print(f"worker start-up (cold, once per worker): {_worker_startup(args.runs) * 1000:.0f} ms")
    print()
    header = f"{'phase':<24}{'n':>8}{'library (s)':>14}{'spoor (s)':>12}{'ratio':>8}"
    print(header)
    print("-" * len(header))
    with PsiPool(max_workers=1, timeout_s=600) as pool:
        pool.run(len, b"")  # warm the worker so rows measure steady-state calls
        for n in args.sizes:
            for phase, lib, spoor in _bench_size(pool, n, args.runs):
                print(f"{phase:<24}{n:>8}{lib:>14.3f}{spoor:>12.3f}{spoor / lib:>8.2f}")


if __name__ == "__main__":
    main()
