"""The ops port: ``/healthz``, ``/readyz`` and ``/metrics`` over plain HTTP.

* ``/healthz`` — 200 while the process runs and its HTTP thread answers.
* ``/readyz`` — 200 when the store opens, the policy is loaded and the gRPC
  server is serving; 503 otherwise (and while draining). The body, JSON, names
  each check, so ``spoor status`` and a probe read the same answer without a
  counterpart's certificate.
* ``/metrics`` — the Prometheus text format (:mod:`node.ops.metrics`).

The port listens on loopback by default (``[ops] listen``); nothing on it
reveals a record, a match or a disclosure.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from node.ops.metrics import NodeMetrics

#: Overrides ``[ops] listen`` (a pod sets ``0.0.0.0:9464``); empty turns the port off.
ENV_OPS_LISTEN = "SPOOR_OPS_LISTEN"

_NOT_FOUND = b"not found: the ops port answers /healthz, /readyz and /metrics\n"


@dataclass(frozen=True)
class Check:
    """One readiness check: its name, whether it passed, and what was seen."""

    name: str
    ok: bool
    detail: str


ReadinessProbe = Callable[[], list[Check]]


def ops_address(configured: str) -> str:
    """The address the ops port binds: ``$SPOOR_OPS_LISTEN`` if set, else the config."""
    return os.environ.get(ENV_OPS_LISTEN, configured).strip()


def split_address(address: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:9464`` for IPv6) as a (host, port) pair, or ValueError."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(
            f"ops listen address {address!r} is not HOST:PORT (e.g. 127.0.0.1:9464); "
            f"set [ops] listen in spoor.toml or ${ENV_OPS_LISTEN}"
        )
    return host.strip("[]"), int(port)


class _Handler(BaseHTTPRequestHandler):
    server: _OpsHttpServer
    # A client that opens a connection and sends nothing is dropped after this many seconds.
    timeout = 10

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self._send(200, "text/plain; charset=utf-8", b"ok\n")
        elif path == "/readyz":
            checks = self.server.readiness()
            ready = all(c.ok for c in checks)
            body: dict[str, Any] = {
                "ready": ready,
                "agency_id": self.server.agency_id,
                "checks": [c.__dict__ for c in checks],
            }
            self._send(
                200 if ready else 503,
                "application/json",
                json.dumps(body, sort_keys=True).encode() + b"\n",
            )
        elif path == "/metrics":
            self._send(200, CONTENT_TYPE_LATEST, self.server.metrics.render())
        else:
            self._send(404, "text/plain; charset=utf-8", _NOT_FOUND)

    def _send(self, code: int, content_type: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Probes every few seconds would flood the log; requests are not logged."""


class _OpsHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        metrics: NodeMetrics,
        readiness: ReadinessProbe,
        agency_id: str,
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        self.metrics = metrics
        self.readiness = readiness
        self.agency_id = agency_id


class OpsServer:
    """The ops HTTP server of one node, answering from a daemon thread."""

    def __init__(
        self, address: str, metrics: NodeMetrics, readiness: ReadinessProbe, agency_id: str
    ) -> None:
        host, port = split_address(address)
        try:
            self._httpd = _OpsHttpServer((host, port), metrics, readiness, agency_id)
        except OSError as exc:
            raise OSError(
                f"could not open the ops port on {address}: {exc.strerror or exc}. Choose another "
                f"with [ops] listen in spoor.toml or ${ENV_OPS_LISTEN} (empty turns it off)."
            ) from exc
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="spoor-ops", daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def metrics(self) -> NodeMetrics:
        return self._httpd.metrics

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
