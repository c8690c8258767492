"""Match keys: layout, entropy classes and refused identifiers."""

from __future__ import annotations

from records_helpers import person_row, shipment_row

from node.records.keys import KEY_SCHEME_VERSION, KEY_TYPES, derive_keys
from node.records.parse import parse_row


def keys_of(row: dict[str, object], scheme: int = 1) -> dict[str, list[str]]:
    """Keys by type; scheme 1 unless asked (its layout stays derivable for peers on it)."""
    out: dict[str, list[str]] = {}
    for k in derive_keys(parse_row(row), scheme).keys:
        out.setdefault(k.key_type, []).append(k.value)
    return out


class TestKeyLayout:
    def test_person_keys_have_the_documented_form(self) -> None:
        """Passport, phone and name+date keys read as in the key catalogue."""
        keys = keys_of(person_row(documents="passport:VN:C1234567", phones="+84 91 234 5678"))
        assert keys["passport"] == ["v1|passport|VNM|C1234567"]
        assert keys["phone"] == ["v1|phone|+84912345678"]
        assert keys["name_dob"] == ["v1|name_dob|hung nguyen van|1979-03-02"]

    def test_organisation_key_carries_the_country(self) -> None:
        """A company key is its canonical name and alpha-2 country."""
        keys = keys_of(
            {
                "record_id": "O-1",
                "kind": "organisation",
                "review_date": "2030-01-01",
                "org_name": "TEMBE TRADING, LDA.",
                "org_country": "MOZ",
            }
        )
        assert keys["org"] == ["v1|org|tembe trading|MZ"]

    def test_shipment_identifiers_are_compacted(self) -> None:
        """Containers, air waybills and vessels are keyed in their compact form."""
        keys = keys_of(
            shipment_row(
                containers="MSCU 123456-6", air_waybills="176-12345675", vessel_imo="IMO 9074729"
            )
        )
        assert keys["container"] == ["v1|container|MSCU1234566"]
        assert keys["air_waybill"] == ["v1|air_waybill|17612345675"]
        assert keys["vessel_imo"] == ["v1|vessel_imo|9074729"]

    def test_every_key_starts_with_the_scheme_version(self) -> None:
        """All keys are prefixed with the scheme version and use a catalogued type."""
        derived = derive_keys(parse_row(person_row(phones="+84912345678", emails="a@b.org")))
        for k in derived.keys:
            assert k.value.startswith(f"v{KEY_SCHEME_VERSION}|")
            assert k.key_type in KEY_TYPES

    def test_consignor_and_consignee_take_the_route_countries(self) -> None:
        """The consignor is keyed with the loading country, the consignee with the discharge one."""
        keys = keys_of(
            shipment_row(
                consignor="Tembe Trading Lda",
                consignee="华强贸易有限公司",
                route="MZMPM; AEJEA; CNSHA",
            )
        )
        assert keys["org"] == ["v1|org|tembe trading|MZ", "v1|org|hua qiang mao yi|CN"]


class TestEntropy:
    def test_bare_name_is_never_matchable(self) -> None:
        """A name without a date of birth yields only a low-entropy key."""
        derived = derive_keys(parse_row(person_row(date_of_birth="")))
        assert [k.key_type for k in derived.keys] == ["name"]
        assert derived.matchable() == []

    def test_name_with_year_only_is_not_matchable(self) -> None:
        """A year of birth is too common to single someone out."""
        derived = derive_keys(parse_row(person_row(date_of_birth="1979")))
        assert {k.key_type for k in derived.keys} == {"name_yob", "name"}
        assert all(not k.matchable for k in derived.keys)

    def test_company_without_country_is_not_matchable(self) -> None:
        """A company name alone is low entropy."""
        derived = derive_keys(
            parse_row(
                {
                    "record_id": "O-1",
                    "kind": "organisation",
                    "review_date": "2030-01-01",
                    "org_name": "Kilindini Ltd",
                }
            )
        )
        assert derived.matchable() == []

    def test_catalogue_marks_identifiers_high(self) -> None:
        """Issued identifiers are high entropy; names with a full date medium."""
        assert KEY_TYPES["passport"] == KEY_TYPES["container"] == "high"
        assert KEY_TYPES["name_dob"] == "medium"
        assert KEY_TYPES["name"] == KEY_TYPES["name_yob"] == "low"


class TestRefusedIdentifiers:
    def test_failed_check_digits_are_reported_and_not_keyed(self) -> None:
        """A container and an IMO number with wrong check digits produce problems, not keys."""
        derived = derive_keys(
            parse_row(shipment_row(containers="MSCU1234565", vessel_imo="9074728"))
        )
        assert derived.keys == []
        assert len(derived.problems) == 2
        assert derived.problems[0].startswith("containers: 'MSCU1234565' check digit")

    def test_invalid_phone_is_reported(self) -> None:
        """A phone number that is not valid in its country is reported."""
        derived = derive_keys(parse_row(person_row(phones="12345", country="KE")))
        assert "phone" not in {k.key_type for k in derived.keys}
        assert derived.problems[0].startswith("phones: '12345'")

    def test_registration_number_needs_a_country(self) -> None:
        """Registration numbers are national; without a country they are not keyed."""
        derived = derive_keys(
            parse_row(
                {
                    "record_id": "O-1",
                    "kind": "organisation",
                    "review_date": "2030-01-01",
                    "org_name": "X Ltd",
                    "registration_numbers": "C.123/2019",
                }
            )
        )
        assert not [k for k in derived.keys if k.key_type == "org_registration"]
        assert "no org_country" in derived.problems[0]
