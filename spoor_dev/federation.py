"""A small federation of real agency nodes on this machine, for the demo and end-to-end tests.

Each agency gets a node home made by ``spoor init`` (own CA, node certificate,
database), pins the other agencies' CAs with ``spoor peers add``, installs its
policy, imports its records, and runs ``spoor serve`` as its own process.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


@dataclass(frozen=True)
class Agency:
    """One demo agency."""

    agency_id: str
    country: str
    name: str


@dataclass
class NodeProcess:
    """A running ``spoor serve``."""

    agency: Agency
    home: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


def free_port() -> int:
    """A port free right now on 127.0.0.1 (the node binds it moments later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spoor_command() -> list[str]:
    """How to run the ``spoor`` command from this interpreter."""
    return [sys.executable, "-m", "node.cli"]


def run_spoor(args: Sequence[str], *, check: bool = True, env: dict[str, str] | None = None) -> str:
    """Run one ``spoor`` command and return its standard output."""
    return run_spoor_full(args, check=check, env=env).stdout


def run_spoor_full(
    args: Sequence[str], *, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run one ``spoor`` command; the completed process with its output and exit code."""
    result = subprocess.run(
        [*spoor_command(), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
        check=False,
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"spoor {' '.join(args[:2])} failed ({result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result


@dataclass
class Federation:
    """Several agency nodes on loopback."""

    root: Path
    agencies: Sequence[Agency]
    nodes: dict[str, NodeProcess] = field(default_factory=dict)

    def home(self, agency_id: str) -> Path:
        return self.root / agency_id

    def create(self) -> None:
        """Init every node and make every pair of agencies peers of each other."""
        if self.root.exists():
            shutil.rmtree(self.root)
        self.root.mkdir(parents=True)
        for agency in self.agencies:
            port = free_port()
            home = self.home(agency.agency_id)
            run_spoor(
                [
                    "init",
                    "--home",
                    str(home),
                    "--agency",
                    agency.agency_id,
                    "--country",
                    agency.country,
                    "--name",
                    agency.name,
                    "--listen",
                    f"127.0.0.1:{port}",
                ]
            )
            self.nodes[agency.agency_id] = NodeProcess(agency, home, port)
        for node in self.nodes.values():
            for other in self.nodes.values():
                if other is node:
                    continue
                run_spoor(
                    [
                        "peers",
                        "add",
                        "--home",
                        str(node.home),
                        other.agency.agency_id,
                        "--address",
                        other.address,
                        "--ca",
                        str(other.home / "keys" / "ca.crt"),
                        "--country",
                        other.agency.country,
                    ]
                )

    def install_policy(self, agency_id: str, source: Path) -> None:
        """Replace the agency's policy directory with ``source`` (a file or directory)."""
        target = self.home(agency_id) / "policy"
        shutil.rmtree(target)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            target.mkdir()
            shutil.copy(source, target / source.name)

    def start(self, timeout_s: float = 60.0) -> None:
        """Start every node and wait until each reports SERVING."""
        for node in self.nodes.values():
            node.log_path = node.home / "serve.log"
            log_file = node.log_path.open("ab")
            node.process = subprocess.Popen(
                [*spoor_command(), "serve", "--home", str(node.home), "--log-json"],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                # Several nodes on one machine: each ops port on a free loopback port.
                env={"SPOOR_OPS_LISTEN": "127.0.0.1:0", **os.environ, "PYTHONUNBUFFERED": "1"},
            )
            log_file.close()
        for node in self.nodes.values():
            self.wait_serving(node, timeout_s)

    def wait_serving(self, node: NodeProcess, timeout_s: float) -> None:
        keys = node.home / "keys"
        creds = grpc.ssl_channel_credentials(
            root_certificates=(keys / "ca.crt").read_bytes(),
            private_key=(keys / "node.key").read_bytes(),
            certificate_chain=(keys / "node.crt").read_bytes(),
        )
        deadline = time.monotonic() + timeout_s
        while True:
            if node.process is not None and node.process.poll() is not None:
                log = node.log_path.read_text(errors="replace") if node.log_path else ""
                raise RuntimeError(f"{node.agency.agency_id} exited at start-up:\n{log[-3000:]}")
            try:
                with grpc.secure_channel(node.address, creds) as channel:
                    stub = health_pb2_grpc.HealthStub(channel)
                    reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{node.agency.agency_id} did not become SERVING in {timeout_s}s"
                )
            time.sleep(0.2)

    def stop(self, timeout_s: float = 30.0) -> dict[str, int]:
        """SIGTERM every node (they drain and exit); returns exit codes."""
        codes: dict[str, int] = {}
        for node in self.nodes.values():
            if node.process is not None and node.process.poll() is None:
                node.process.send_signal(signal.SIGTERM)
        for agency_id, node in self.nodes.items():
            if node.process is None:
                continue
            try:
                codes[agency_id] = node.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                node.process.kill()
                codes[agency_id] = node.process.wait()
        return codes

    def __enter__(self) -> Federation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
