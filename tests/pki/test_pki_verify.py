"""Chain checks against the one pinned CA, and the per-call peer check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from node import pki
from spoor_dev.pki_testing import AgencyPki, custom_certificate


class TestVerifyChain:
    def test_certificate_from_the_pinned_ca_is_accepted(self, kenya: AgencyPki) -> None:
        """A node certificate verifies against the CA that issued it."""
        pki.verify_chain(kenya.cert_pem, kenya.ca_cert_pem)

    def test_certificate_from_another_ca_is_refused(
        self, kenya: AgencyPki, vietnam: AgencyPki
    ) -> None:
        """A certificate that chains to a different agency's CA is refused as wrong_ca."""
        with pytest.raises(pki.CertificateError) as caught:
            pki.verify_chain(vietnam.cert_pem, kenya.ca_cert_pem)
        assert caught.value.code == "wrong_ca"

    def test_impostor_ca_with_the_same_name_is_refused(self, kenya: AgencyPki) -> None:
        """A second CA with an identical subject cannot vouch for the pinned CA's certificates."""
        impostor_key, impostor_ca = pki.create_ca("ke-kws", "KE")
        _, forged = pki.issue_node_certificate(impostor_key, impostor_ca, "ke-kws")
        with pytest.raises(pki.CertificateError, match="signature") as caught:
            pki.verify_chain(forged, kenya.ca_cert_pem)
        assert caught.value.code == "wrong_ca"

    def test_expired_certificate_is_refused(self, kenya: AgencyPki) -> None:
        """A certificate past its end date is refused as expired."""
        now = datetime.now(UTC)
        _, old = custom_certificate(
            kenya.ca_key_pem,
            kenya.ca_cert_pem,
            agency_ids=("ke-kws",),
            not_before=now - timedelta(days=30),
            not_after=now - timedelta(days=1),
        )
        with pytest.raises(pki.CertificateError) as caught:
            pki.verify_chain(old, kenya.ca_cert_pem)
        assert caught.value.code == "expired"

    def test_certificate_is_refused_after_its_lifetime(self, kenya: AgencyPki) -> None:
        """Checked at a moment after it ends, a valid certificate is refused."""
        later = datetime.now(UTC) + timedelta(days=400)
        with pytest.raises(pki.CertificateError) as caught:
            pki.verify_chain(kenya.cert_pem, kenya.ca_cert_pem, at=later)
        assert caught.value.code == "expired"

    def test_certificate_is_refused_before_its_lifetime(self, kenya: AgencyPki) -> None:
        """Checked at a moment before it starts, a certificate is refused; naive times are UTC."""
        earlier = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=1)
        with pytest.raises(pki.CertificateError) as caught:
            pki.verify_chain(kenya.cert_pem, kenya.ca_cert_pem, at=earlier)
        assert caught.value.code == "not_yet_valid"

    def test_non_ca_pinned_as_ca_is_refused(self, kenya: AgencyPki) -> None:
        """A node certificate pinned in place of a CA vouches for nothing it signed."""
        _, signed_by_leaf = custom_certificate(
            kenya.key_pem, kenya.cert_pem, agency_ids=("ke-kws",)
        )
        with pytest.raises(pki.CertificateError) as caught:
            pki.verify_chain(signed_by_leaf, kenya.cert_pem)
        assert caught.value.code == "not_a_ca"

    def test_ca_certificate_presented_as_node_is_refused(self, kenya: AgencyPki) -> None:
        """A CA certificate is not accepted as a node's own certificate."""
        with pytest.raises(pki.CertificateError) as caught:
            pki.verify_chain(kenya.ca_cert_pem, kenya.ca_cert_pem)
        assert caught.value.code == "is_a_ca"

    def test_certificate_without_client_auth_is_refused(self, kenya: AgencyPki) -> None:
        """A server-only certificate does not pass the node profile (clientAuth required)."""
        _, server_only = custom_certificate(
            kenya.ca_key_pem, kenya.ca_cert_pem, agency_ids=("ke-kws",), client_auth=False
        )
        with pytest.raises(pki.CertificateError) as caught:
            pki.verify_chain(server_only, kenya.ca_cert_pem)
        assert caught.value.code == "profile"


class TestCheckPeerCertificate:
    def test_valid_peer_certificate_yields_its_agency(self, vietnam: AgencyPki) -> None:
        """A good certificate from the pinned CA returns the agency id it names."""
        assert pki.check_peer_certificate(vietnam.cert_pem, vietnam.ca_cert_pem) == "vn-customs"

    def test_agency_other_than_expected_is_refused(self, vietnam: AgencyPki) -> None:
        """A certificate naming another agency than the peer entry is refused."""
        with pytest.raises(pki.CertificateError) as caught:
            pki.check_peer_certificate(
                vietnam.cert_pem, vietnam.ca_cert_pem, expected_agency_id="ke-kws"
            )
        assert caught.value.code == "wrong_agency"

    def test_one_ca_cannot_vouch_for_another_agency(
        self, kenya: AgencyPki, vietnam: AgencyPki
    ) -> None:
        """Kenya's CA issuing a 'vn-customs' certificate fails against Vietnam's pinned CA."""
        _, forged = pki.issue_node_certificate(kenya.ca_key_pem, kenya.ca_cert_pem, "vn-customs")
        with pytest.raises(pki.CertificateError) as caught:
            pki.check_peer_certificate(forged, vietnam.ca_cert_pem)
        assert caught.value.code == "wrong_ca"

    def test_revoked_certificate_is_refused(self, mozambique: AgencyPki) -> None:
        """A certificate listed in its CA's CRL is refused as revoked."""
        _, cert = pki.issue_node_certificate(
            mozambique.ca_key_pem, mozambique.ca_cert_pem, "mz-pgr"
        )
        crl = pki.revoke(
            mozambique.ca_key_pem,
            mozambique.ca_cert_pem,
            [pki.load_certificate(cert).serial_number],
        )
        assert pki.check_peer_certificate(mozambique.cert_pem, mozambique.ca_cert_pem, crl_pem=crl)
        with pytest.raises(pki.CertificateError) as caught:
            pki.check_peer_certificate(cert, mozambique.ca_cert_pem, crl_pem=crl)
        assert caught.value.code == "revoked"
