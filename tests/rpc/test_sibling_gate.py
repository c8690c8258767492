"""The replica service's gate: only the agency's own, unrevoked certificate gets epoch secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest

from node.pki.files import write_public
from node.pki.identity import load_certificate
from node.pki.revocation import revoke
from node.rpc.gate import REPLICA_PREFIX, PeerGate
from spoor_dev.pki_testing import AgencyPki, make_agency_pki

METHOD = f"{REPLICA_PREFIX}GetEpochSecrets"


class Aborted(Exception):
    """What the fake context raises where gRPC would end the call."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code = code


class FakeContext:
    """The parts of a servicer context the gate reads: the client certificate and the peer."""

    def __init__(self, cert_pem: bytes | None) -> None:
        self._auth = {"x509_pem_cert": [cert_pem]} if cert_pem else {}

    def auth_context(self) -> dict[str, list[bytes]]:
        return self._auth

    def peer(self) -> str:
        return "ipv4:127.0.0.1:50000"

    def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise Aborted(code, details)


class Refusals:
    """Records what the gate audits."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def refused(self, key: str, reason: str, peer_address: str = "", **_: Any) -> None:
        self.seen.append((key, reason))


def gate(own: AgencyPki, refusals: Refusals) -> PeerGate:
    return PeerGate(
        authenticator=None,  # type: ignore[arg-type]  # never reached on the replica path
        federation_service="spoor.federation.v1.FederationService",
        refusals=refusals,  # type: ignore[arg-type]
        own_agency=own.agency_id,
        own_ca_pem=own.ca_cert_pem,
        own_crl_path=own.crl_path,
    )


@pytest.fixture
def own(tmp_path: Path) -> AgencyPki:
    return make_agency_pki(tmp_path / "ke", "ke-kws", "KE")


class TestSiblingGate:
    def test_the_agencys_own_certificate_passes(self, own: AgencyPki) -> None:
        """A replica presenting the agency's own certificate reaches the service."""
        refusals = Refusals()
        gate(own, refusals)._check(METHOD, FakeContext(own.cert_pem))
        assert refusals.seen == []

    def test_a_counterparts_certificate_is_refused_and_audited(
        self, own: AgencyPki, tmp_path: Path
    ) -> None:
        """Another agency's certificate gets PERMISSION_DENIED and an audited refusal."""
        other = make_agency_pki(tmp_path / "vn", "vn-cites", "VN")
        refusals = Refusals()
        with pytest.raises(Aborted) as refused:
            gate(own, refusals)._check(METHOD, FakeContext(other.cert_pem))
        assert refused.value.code == grpc.StatusCode.PERMISSION_DENIED
        assert refusals.seen == [("vn-cites", "NotASibling")]

    def test_a_certificate_on_the_agencys_own_crl_is_refused(self, own: AgencyPki) -> None:
        """Once the agency revokes its certificate, a replica still holding it gets no secrets."""
        serial = load_certificate(own.cert_pem).serial_number
        write_public(own.crl_path, revoke(own.ca_key_pem, own.ca_cert_pem, [serial]))
        refusals = Refusals()
        with pytest.raises(Aborted) as refused:
            gate(own, refusals)._check(METHOD, FakeContext(own.cert_pem))
        assert refused.value.code == grpc.StatusCode.PERMISSION_DENIED
        assert refusals.seen == [("ke-kws", "RevokedSibling")]

    def test_an_unreadable_crl_fails_closed(self, own: AgencyPki) -> None:
        """A CRL that does not parse refuses secrets rather than skipping the check."""
        write_public(own.crl_path, b"not a crl")
        refusals = Refusals()
        with pytest.raises(Aborted):
            gate(own, refusals)._check(METHOD, FakeContext(own.cert_pem))
        assert refusals.seen == [("ke-kws", "RevokedSibling")]
