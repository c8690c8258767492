"""The PKI helper other test suites use to stand up agencies."""

from __future__ import annotations

import stat
from pathlib import Path

from node import pki
from spoor_dev.pki_testing import make_agency_pki


class TestMakeAgencyPki:
    def test_writes_a_complete_keys_directory(self, tmp_path: Path) -> None:
        """CA and node material land under keys/, keys mode 0600, matching the returned bytes."""
        agency = make_agency_pki(tmp_path, "mz-pgr", "MZ")
        assert agency.key_path == tmp_path / "keys" / "node.key"
        assert agency.cert_path.read_bytes() == agency.cert_pem
        assert agency.ca_cert_path.read_bytes() == agency.ca_cert_pem
        for key in (agency.key_path, agency.ca_key_path):
            assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert pki.check_peer_certificate(agency.cert_pem, agency.ca_cert_pem) == "mz-pgr"

    def test_each_agency_gets_its_own_ca(self, tmp_path: Path) -> None:
        """Two agencies made by the helper do not trust each other's certificates."""
        one = make_agency_pki(tmp_path / "a", "ke-kws", "KE")
        two = make_agency_pki(tmp_path / "b", "vn-customs", "VN")
        assert pki.fingerprint(one.ca_cert_pem) != pki.fingerprint(two.ca_cert_pem)
        assert not agency_accepts(one.cert_pem, two.ca_cert_pem)


def agency_accepts(cert_pem: bytes, ca_pem: bytes) -> bool:
    try:
        pki.verify_chain(cert_pem, ca_pem)
    except pki.CertificateError:
        return False
    return True
