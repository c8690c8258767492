"""Agency ids, the agency URI SAN, fingerprints and serials."""

from __future__ import annotations

import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from node import pki
from spoor_dev.pki_testing import AgencyPki, custom_certificate


class TestAgencyId:
    @pytest.mark.parametrize("agency_id", ["ke-kws", "vn-customs", "mz-pgr", "a1", "x" * 63])
    def test_valid_ids_are_accepted(self, agency_id: str) -> None:
        """Lowercase ids of 2 to 63 letters, digits and hyphens pass unchanged."""
        assert pki.validate_agency_id(agency_id) == agency_id

    @pytest.mark.parametrize(
        "agency_id", ["KE-KWS", "-kws", "k", "ke_kws", "ke kws", "", "x" * 64, "ke/kws", "kë-kws"]
    )
    def test_invalid_ids_are_refused_with_the_value(self, agency_id: str) -> None:
        """An invalid id raises AgencyIdError carrying the value and an example of a good one."""
        with pytest.raises(pki.AgencyIdError) as caught:
            pki.validate_agency_id(agency_id)
        assert caught.value.value == agency_id
        assert "ke-kws" in str(caught.value)

    def test_create_ca_refuses_an_invalid_id(self) -> None:
        """No CA is created for an agency id that breaks the rules."""
        with pytest.raises(pki.AgencyIdError):
            pki.create_ca("Kenya Wildlife", "KE")

    def test_issue_refuses_an_invalid_id(self, kenya: AgencyPki) -> None:
        """No node certificate is issued for an agency id that breaks the rules."""
        with pytest.raises(pki.AgencyIdError):
            pki.issue_node_certificate(kenya.ca_key_pem, kenya.ca_cert_pem, "KE_KWS")


class TestCountry:
    def test_lowercase_codes_are_normalised(self) -> None:
        """'ke' is read as the ISO code 'KE'."""
        assert pki.validate_country("ke") == "KE"

    @pytest.mark.parametrize("country", ["XX", "KEN", "K", ""])
    def test_unknown_codes_are_refused(self, country: str) -> None:
        """Codes that are not ISO 3166-1 alpha-2 raise CountryCodeError."""
        with pytest.raises(pki.CountryCodeError):
            pki.validate_country(country)


class TestAgencyUriSan:
    def test_agency_id_is_read_from_pem(self, kenya: AgencyPki) -> None:
        """The node certificate's URI SAN names its agency."""
        assert pki.agency_id_from_certificate(kenya.cert_pem) == "ke-kws"

    def test_agency_id_is_read_from_der(self, vietnam: AgencyPki) -> None:
        """DER input (what TLS stacks hand over) works as well as PEM."""
        der = pki.load_certificate(vietnam.cert_pem).public_bytes(serialization.Encoding.DER)
        assert pki.agency_id_from_certificate(der) == "vn-customs"

    def test_certificate_without_agency_uri_is_refused(self, kenya: AgencyPki) -> None:
        """A certificate with no spoor://agency/ URI names no agency."""
        _, cert = custom_certificate(kenya.ca_key_pem, kenya.ca_cert_pem, agency_ids=())
        with pytest.raises(pki.CertificateError) as caught:
            pki.agency_id_from_certificate(cert)
        assert caught.value.code == "no_agency_id"

    def test_each_certificate_is_read_for_its_own_agency(
        self, kenya: AgencyPki, vietnam: AgencyPki
    ) -> None:
        """Reading certificates repeatedly gives each its own agency, never another's."""
        for _ in range(3):
            assert pki.agency_id_from_certificate(kenya.cert_pem) == "ke-kws"
            assert pki.agency_id_from_certificate(vietnam.cert_pem) == "vn-customs"

    def test_refused_certificate_is_refused_every_time(self, kenya: AgencyPki) -> None:
        """A certificate naming no agency is refused on every reading, not only the first."""
        _, cert = custom_certificate(kenya.ca_key_pem, kenya.ca_cert_pem, agency_ids=())
        for _ in range(2):
            with pytest.raises(pki.CertificateError):
                pki.agency_id_from_certificate(cert)

    def test_certificate_with_two_agency_uris_is_refused(self, kenya: AgencyPki) -> None:
        """A certificate naming two agencies is ambiguous and refused."""
        _, cert = custom_certificate(
            kenya.ca_key_pem, kenya.ca_cert_pem, agency_ids=("ke-kws", "vn-customs")
        )
        with pytest.raises(pki.CertificateError, match="exactly one agency"):
            pki.agency_id_from_certificate(cert)

    def test_ca_certificate_names_no_agency(self, kenya: AgencyPki) -> None:
        """A CA certificate has no SANs and cannot pass as a node identity."""
        with pytest.raises(pki.CertificateError):
            pki.agency_id_from_certificate(kenya.ca_cert_pem)

    def test_garbage_is_refused_as_malformed(self) -> None:
        """Bytes that are not a certificate raise CertificateError, not a parser error."""
        with pytest.raises(pki.CertificateError) as caught:
            pki.agency_id_from_certificate(b"-----BEGIN CERTIFICATE-----\nnope\n")
        assert caught.value.code == "malformed"


class TestDisplay:
    def test_fingerprint_is_sha256_of_der_without_colons(self, kenya: AgencyPki) -> None:
        """The fingerprint is the lowercase SHA-256 hex of the DER encoding."""
        der = x509.load_pem_x509_certificate(kenya.cert_pem).public_bytes(
            serialization.Encoding.DER
        )
        assert pki.fingerprint(kenya.cert_pem) == hashlib.sha256(der).hexdigest()

    def test_serial_round_trips_through_hex(self, kenya: AgencyPki) -> None:
        """The serial 'show' prints is the serial 'revoke' parses."""
        serial = pki.load_certificate(kenya.cert_pem).serial_number
        assert pki.parse_serial(pki.serial_hex(kenya.cert_pem)) == serial

    def test_serial_accepts_colons_and_prefix(self) -> None:
        """Serials copied from other tools (0x prefix, colon separators) are accepted."""
        assert pki.parse_serial("0x0A:ff") == 0x0AFF

    @pytest.mark.parametrize("text", ["", "xyz", "12 34", "0x"])
    def test_serial_rejects_non_hex(self, text: str) -> None:
        """Text that is not a hex serial raises ValueError."""
        with pytest.raises(ValueError, match="serial"):
            pki.parse_serial(text)
