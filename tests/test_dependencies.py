"""The pinned dependency set imports together (see README, 'Dependency set')."""

from __future__ import annotations

import importlib
from importlib.metadata import version

import pytest

MODULES = [
    "private_set_intersection.python",
    "google.protobuf",
    "grpc",
    "grpc_health.v1.health",
    "grpc_reflection.v1alpha.reflection",
    "grpc_status.rpc_status",
    "grpc_testing",
    "grpc_tools.protoc",
    "google.rpc.error_details_pb2",
    "spoor.federation.v1.federation_pb2_grpc",
    "psycopg",
    "psycopg_pool",
    "spoor.federation.v1.witness_pb2_grpc",
    "pkcs11",
    "prometheus_client",
    "starlette.applications",
    "jinja2",
    "uvicorn",
    "multipart",
    "argon2",
    "pyotp",
    "babel.messages.pofile",
    "segno",
    "fpdf",
]

PINS = {
    "openmined-psi": "2.0.6",
    "protobuf": "6.30.2",
    "grpcio": "1.72.1",
    "grpcio-health-checking": "1.72.1",
    "grpcio-reflection": "1.72.1",
    "grpcio-status": "1.72.1",
    "grpcio-testing": "1.72.1",
    "grpcio-tools": "1.72.1",
    "psycopg": "3.3.9",
    "psycopg-binary": "3.3.9",
    "psycopg-pool": "3.3.3",
    "python-pkcs11": "0.10.1",
    "prometheus-client": "0.26.0",
    # The console and officer credentials.
    "starlette": "1.10.0",
    "jinja2": "3.1.6",
    "uvicorn": "0.54.0",
    "python-multipart": "0.0.34",
    "argon2-cffi": "25.1.0",
    "pyotp": "2.12.1",
    "babel": "2.19.0",
    "segno": "1.6.6",
    "fpdf2": "2.8.9",
    "httpx": "0.28.1",
    "aiosmtpd": "1.4.6",
    "playwright": "1.65.2",
}


class TestDependencySet:
    @pytest.mark.parametrize("module", MODULES)
    def test_imports(self, module: str) -> None:
        """Every PSI, protobuf, gRPC and console module the node uses imports with these pins."""
        assert importlib.import_module(module) is not None

    @pytest.mark.parametrize(("dist", "pinned"), sorted(PINS.items()))
    def test_installed_version_is_the_pinned_one(self, dist: str, pinned: str) -> None:
        """The installed versions are exactly the documented set."""
        assert version(dist) == pinned

    def test_psi_round_trip(self) -> None:
        """The PSI binding computes an intersection under this protobuf runtime."""
        import private_set_intersection.python as psi

        client = psi.client.CreateWithNewKey(True)
        server = psi.server.CreateWithNewKey(True)
        request = client.CreateRequest(["a", "b", "c"])
        setup = server.CreateSetupMessage(1e-9, 3, ["b", "c", "d"], psi.DataStructure.GCS)
        response = server.ProcessRequest(request)
        assert sorted(client.GetIntersection(setup, response)) == [1, 2]
