"""Revocation lists written by an agency CA and checked by peers."""

from __future__ import annotations

import pytest
from cryptography import x509

from node import pki
from spoor_dev.pki_testing import AgencyPki


def _serial(cert_pem: bytes) -> int:
    return pki.load_certificate(cert_pem).serial_number


class TestRevoke:
    def test_revoked_certificate_is_reported(self, kenya: AgencyPki) -> None:
        """A serial put on the CRL is reported revoked; the node's own stays good."""
        _, lost = pki.issue_node_certificate(kenya.ca_key_pem, kenya.ca_cert_pem, "ke-kws")
        crl = pki.revoke(kenya.ca_key_pem, kenya.ca_cert_pem, [_serial(lost)])
        assert pki.is_revoked(lost, crl, kenya.ca_cert_pem)
        assert not pki.is_revoked(kenya.cert_pem, crl, kenya.ca_cert_pem)

    def test_revocations_accumulate_and_crl_number_grows(self, kenya: AgencyPki) -> None:
        """Revoking again keeps earlier entries and increments the CRL number."""
        first = pki.revoke(kenya.ca_key_pem, kenya.ca_cert_pem, [11])
        second = pki.revoke(kenya.ca_key_pem, kenya.ca_cert_pem, [22, 11], first)
        assert sorted(pki.revoked_serials(second, kenya.ca_cert_pem)) == [11, 22]
        numbers = [
            pki.load_crl(crl).extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
            for crl in (first, second)
        ]
        assert numbers == [1, 2]

    def test_reason_is_recorded(self, kenya: AgencyPki) -> None:
        """The revocation reason travels in the CRL entry."""
        crl = pki.load_crl(
            pki.revoke(kenya.ca_key_pem, kenya.ca_cert_pem, [5], reason="key-compromise")
        )
        entry = crl.get_revoked_certificate_by_serial_number(5)
        assert entry is not None
        reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        assert reason == x509.ReasonFlags.key_compromise

    def test_unknown_reason_is_refused(self, kenya: AgencyPki) -> None:
        """A reason outside the list raises before anything is signed."""
        with pytest.raises(ValueError, match="unknown revocation reason"):
            pki.revoke(kenya.ca_key_pem, kenya.ca_cert_pem, [5], reason="bored")

    def test_existing_crl_of_another_ca_is_refused(
        self, kenya: AgencyPki, vietnam: AgencyPki
    ) -> None:
        """Merging a CRL signed by a different CA is refused."""
        foreign = pki.revoke(vietnam.ca_key_pem, vietnam.ca_cert_pem, [1])
        with pytest.raises(pki.CertificateError) as caught:
            pki.revoke(kenya.ca_key_pem, kenya.ca_cert_pem, [2], foreign)
        assert caught.value.code == "bad_crl"


class TestIsRevoked:
    def test_crl_not_signed_by_the_pinned_ca_is_refused(
        self, kenya: AgencyPki, vietnam: AgencyPki
    ) -> None:
        """A CRL the pinned CA did not sign raises rather than being trusted or ignored."""
        foreign = pki.revoke(vietnam.ca_key_pem, vietnam.ca_cert_pem, [_serial(kenya.cert_pem)])
        with pytest.raises(pki.CertificateError) as caught:
            pki.is_revoked(kenya.cert_pem, foreign, kenya.ca_cert_pem)
        assert caught.value.code == "bad_crl"

    def test_crl_with_a_forged_signature_is_refused(self, kenya: AgencyPki) -> None:
        """A CRL from an impostor CA with the same name fails signature verification."""
        impostor_key, impostor_ca = pki.create_ca("ke-kws", "KE")
        forged = pki.revoke(impostor_key, impostor_ca, [])
        with pytest.raises(pki.CertificateError, match="not signed by the pinned CA"):
            pki.is_revoked(kenya.cert_pem, forged, kenya.ca_cert_pem)

    def test_certificate_of_another_ca_is_refused(
        self, kenya: AgencyPki, vietnam: AgencyPki
    ) -> None:
        """Asking Kenya's CRL about a Vietnamese certificate is an error, not 'not revoked'."""
        crl = pki.revoke(kenya.ca_key_pem, kenya.ca_cert_pem, [])
        with pytest.raises(pki.CertificateError) as caught:
            pki.is_revoked(vietnam.cert_pem, crl, kenya.ca_cert_pem)
        assert caught.value.code == "wrong_ca"

    def test_unreadable_crl_is_refused(self, kenya: AgencyPki) -> None:
        """Bytes that are not a CRL raise CertificateError."""
        with pytest.raises(pki.CertificateError) as caught:
            pki.is_revoked(kenya.cert_pem, b"not a crl", kenya.ca_cert_pem)
        assert caught.value.code == "bad_crl"
