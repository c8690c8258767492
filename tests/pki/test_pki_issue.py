"""Agency CAs and node certificates: the profile peers rely on."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from node import pki
from spoor_dev.pki_testing import AgencyPki


def _cert(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


class TestCreateCa:
    def test_ca_is_a_p256_ca_with_path_length_zero(self, kenya: AgencyPki) -> None:
        """The CA may sign node certificates only (CA:true, pathlen 0, critical)."""
        ca = _cert(kenya.ca_cert_pem)
        constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
        assert constraints.critical
        assert constraints.value.ca
        assert constraints.value.path_length == 0
        public = ca.public_key()
        assert isinstance(public, ec.EllipticCurvePublicKey)
        assert public.curve.name == "secp256r1"

    def test_ca_key_usage_is_certificate_and_crl_signing(self, kenya: AgencyPki) -> None:
        """The CA key signs certificates and CRLs and nothing else."""
        usage = _cert(kenya.ca_cert_pem).extensions.get_extension_for_class(x509.KeyUsage).value
        assert usage.key_cert_sign
        assert usage.crl_sign
        assert not usage.digital_signature

    def test_ca_subject_names_agency_and_country(self, kenya: AgencyPki) -> None:
        """The CA subject carries the agency id and the country."""
        subject = _cert(kenya.ca_cert_pem).subject
        assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "ke-kws"
        assert subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "KE"

    def test_ca_has_subject_key_identifier(self, kenya: AgencyPki) -> None:
        """The SKI lets node certificates point at their CA key."""
        ca = _cert(kenya.ca_cert_pem)
        ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        assert ski == x509.SubjectKeyIdentifier.from_public_key(ca.public_key())

    def test_common_name_and_validity_are_honoured(self) -> None:
        """A custom common name and lifetime end up in the certificate."""
        _, pem = pki.create_ca("mz-pgr", "mz", common_name="PGR Root", days=30)
        ca = _cert(pem)
        assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "PGR Root"
        lifetime = ca.not_valid_after_utc - ca.not_valid_before_utc
        assert timedelta(days=30) <= lifetime <= timedelta(days=30, minutes=10)

    def test_zero_days_is_refused(self) -> None:
        """A CA valid for no time at all is refused."""
        with pytest.raises(ValueError, match="at least one day"):
            pki.create_ca("mz-pgr", "MZ", days=0)


class TestNodeCertificate:
    def test_node_certificate_serves_both_ends_of_tls(self, kenya: AgencyPki) -> None:
        """Node certificates carry serverAuth and clientAuth."""
        eku = _cert(kenya.cert_pem).extensions.get_extension_for_class(x509.ExtendedKeyUsage)
        assert set(eku.value) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}

    def test_default_names_cover_loopback(self, kenya: AgencyPki) -> None:
        """By default: the agency's DNS name, localhost, 127.0.0.1 and ::1."""
        san = _cert(kenya.cert_pem).extensions.get_extension_for_class(x509.SubjectAlternativeName)
        assert san.value.get_values_for_type(x509.DNSName) == [
            "ke-kws.agency.spoor.invalid",
            "localhost",
        ]
        assert san.value.get_values_for_type(x509.IPAddress) == [
            ipaddress.ip_address("127.0.0.1"),
            ipaddress.ip_address("::1"),
        ]
        assert san.value.get_values_for_type(x509.UniformResourceIdentifier) == [
            "spoor://agency/ke-kws"
        ]

    def test_given_names_replace_the_defaults(self, vietnam: AgencyPki) -> None:
        """Operator host names and addresses replace the defaults; the agency name stays."""
        _, pem = pki.issue_node_certificate(
            vietnam.ca_key_pem,
            vietnam.ca_cert_pem,
            "vn-customs",
            hostnames=("Spoor.Customs.gov.vn",),
            ip_addresses=("10.20.0.5",),
        )
        san = _cert(pem).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.DNSName) == [
            "vn-customs.agency.spoor.invalid",
            "spoor.customs.gov.vn",
        ]
        assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.20.0.5")]

    def test_authority_key_identifier_points_at_the_ca(self, kenya: AgencyPki) -> None:
        """The node certificate's AKI equals its CA's SKI."""
        aki = _cert(kenya.cert_pem).extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
        ski = _cert(kenya.ca_cert_pem).extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        assert aki.value.key_identifier == ski.value.digest

    def test_node_certificate_is_not_a_ca(self, kenya: AgencyPki) -> None:
        """A node certificate cannot sign other certificates."""
        constraints = _cert(kenya.cert_pem).extensions.get_extension_for_class(
            x509.BasicConstraints
        )
        assert constraints.critical
        assert not constraints.value.ca

    def test_node_certificate_never_outlives_its_ca(self) -> None:
        """A node certificate asked for longer than its CA lives ends with the CA."""
        ca_key, ca_pem = pki.create_ca("ke-kws", "KE", days=10)
        _, pem = pki.issue_node_certificate(ca_key, ca_pem, "ke-kws", days=397)
        assert _cert(pem).not_valid_after_utc == _cert(ca_pem).not_valid_after_utc

    def test_country_defaults_to_the_cas(self, vietnam: AgencyPki) -> None:
        """Without a country the node certificate takes the CA's."""
        subject = _cert(vietnam.cert_pem).subject
        assert subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "VN"

    def test_key_from_another_ca_is_refused(self, kenya: AgencyPki, vietnam: AgencyPki) -> None:
        """Pairing one agency's CA key with another's CA certificate is refused."""
        with pytest.raises(pki.CertificateError) as caught:
            pki.issue_node_certificate(vietnam.ca_key_pem, kenya.ca_cert_pem, "ke-kws")
        assert caught.value.code == "wrong_ca"

    @pytest.mark.parametrize(
        ("hostnames", "ips"),
        [
            (("bad..name",), ()),
            (("under_score.example",), ()),
            (("-lead.example",), ()),
            (("kws.go.ke",), ("300.1.1.1",)),
        ],
    )
    def test_bad_names_are_refused(
        self, kenya: AgencyPki, hostnames: tuple[str, ...], ips: tuple[str, ...]
    ) -> None:
        """Malformed host names and IP addresses raise ValueError before anything is signed."""
        with pytest.raises(ValueError, match="not a"):
            pki.issue_node_certificate(
                kenya.ca_key_pem,
                kenya.ca_cert_pem,
                "ke-kws",
                hostnames=hostnames,
                ip_addresses=ips,
            )

    def test_private_key_is_unencrypted_pkcs8(self, kenya: AgencyPki) -> None:
        """gRPC reads the key without a passphrase, so it is plain PKCS#8 PEM."""
        assert kenya.key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
