"""Remembered certificate checks never outlive what they were checked against."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from node.rpc.auth import CheckedCertificates
from spoor_dev.pki_testing import custom_certificate, make_agency_pki


class TestCheckedCertificates:
    def test_a_check_is_remembered_only_for_the_same_ca_and_crl(self, tmp_path: Path) -> None:
        """The same certificate under a new CRL or CA in the peer entry is checked again."""
        vn = make_agency_pki(tmp_path / "vn", "vn-customs", "VN")
        checked = CheckedCertificates()
        key = (vn.cert_pem, "vn-customs", vn.ca_cert_pem.decode(), "")
        checked.remember(key, vn.cert_pem, vn.ca_cert_pem)
        assert checked.passed(key)
        assert not checked.passed((vn.cert_pem, "vn-customs", vn.ca_cert_pem.decode(), "crl"))
        assert not checked.passed((vn.cert_pem, "vn-customs", "another CA", ""))
        assert not checked.passed((vn.cert_pem, "ke-kws", vn.ca_cert_pem.decode(), ""))

    def test_an_expired_certificate_is_never_taken_from_memory(self, tmp_path: Path) -> None:
        """A remembered check ends when the certificate's validity ends."""
        vn = make_agency_pki(tmp_path / "vn", "vn-customs", "VN")
        now = datetime.now(UTC)
        _, expired = custom_certificate(
            vn.ca_key_pem, vn.ca_cert_pem, agency_ids=["vn-customs"],
            not_before=now - timedelta(days=2), not_after=now - timedelta(minutes=1),
        )  # fmt: skip
        checked = CheckedCertificates()
        key = (expired, "vn-customs", vn.ca_cert_pem.decode(), "")
        checked.remember(key, expired, vn.ca_cert_pem)
        assert not checked.passed(key)

    def test_a_remembered_check_lapses_after_its_lifetime(self, tmp_path: Path) -> None:
        """With no lifetime left, every call is checked in full again."""
        vn = make_agency_pki(tmp_path / "vn", "vn-customs", "VN")
        checked = CheckedCertificates(ttl_s=0.0)
        key = (vn.cert_pem, "vn-customs", vn.ca_cert_pem.decode(), "")
        checked.remember(key, vn.cert_pem, vn.ca_cert_pem)
        assert not checked.passed(key)
