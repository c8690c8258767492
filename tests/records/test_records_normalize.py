# ruff: noqa: RUF001 - names and legal forms are written in their own scripts
"""Normalization of names, companies and identifiers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.records.normalize import (
    InvalidIdentifierError,
    air_waybill,
    company_name,
    container,
    country_alpha3,
    document_number,
    email,
    imo_number,
    person_name,
    person_skeleton,
    phone,
    romanize,
)


class TestScripts:
    def test_chinese_characters_become_separate_syllables(self) -> None:
        """Each Han character is romanized as its own pinyin syllable."""
        assert romanize("陈明华").split() == ["chen", "ming", "hua"]

    def test_vietnamese_diacritics_are_removed(self) -> None:
        """Vietnamese letters with diacritics fold to plain ASCII, including Đ."""
        assert romanize("Đặng Hữu Phước") == "dang huu phuoc"

    def test_thai_silent_letters_are_dropped(self) -> None:
        """A consonant marked silent by the thanthakhat is not romanized."""
        assert person_skeleton("สมศักดิ์ แก้วมณี") == person_skeleton("Somsak Kaewmanee")


class TestPersonNames:
    @pytest.mark.parametrize(
        "variant",
        [
            "Nguyễn Văn Hùng",
            "NGUYEN VAN HUNG",
            "Hung Nguyen Van",
            "Ông Nguyễn Văn Hùng",
            "nguyen  van   hung",
        ],
    )
    def test_vietnamese_variants_share_one_canonical_name(self, variant: str) -> None:
        """Order, case, spacing, diacritics and honorifics do not change the canonical name."""
        assert person_name(variant) == "hung nguyen van"

    @pytest.mark.parametrize("variant", ["Chen Minghua", "CHEN Ming-Hua", "Minghua Chen"])
    def test_pinyin_meets_characters(self, variant: str) -> None:
        """Pinyin written in Latin letters is split into the characters' syllables."""
        assert person_name(variant) == person_name("陈明华")

    def test_particles_are_dropped_but_not_leading_words(self) -> None:
        """'da' inside a name is dropped; a name starting with a particle keeps it."""
        assert person_name("Maria da Conceição") == person_name("Maria Conceicao")
        assert "de" in person_name("De Souza Paulo").split()

    def test_vietnamese_given_name_anh_is_not_an_honorific(self) -> None:
        """Vietnamese honorifics count only with diacritics, so the given name Anh survives."""
        assert "anh" in person_name("Anh Nguyen Duc").split()
        assert "ong" not in person_name("Ông Nguyễn Đức").split()

    @pytest.mark.parametrize(
        ("arabic", "latin"),
        [
            ("محمد علي", "Mohammed Ali"),
            ("عبد الرحمن الحسن", "Abdul Rahman Al-Hassan"),
            ("فاطمة الزهراء", "Fatima Al Zahra"),
            ("عبد الله عثمان", "Abdullah Othman"),
        ],
    )
    def test_arabic_script_meets_latin_spelling_by_skeleton(self, arabic: str, latin: str) -> None:
        """Without written vowels, Arabic names meet their Latin spellings on consonants."""
        assert person_skeleton(arabic) == person_skeleton(latin)

    def test_cyrillic_transliteration_variants_share_a_skeleton(self) -> None:
        """Sergey/Sergei and Alexey/Aleksei differ only in vowels or x/ks."""
        assert person_skeleton("Сергей Иванов") == person_skeleton("Sergei Ivanov")
        assert person_skeleton("Алексей Смирнов") == person_skeleton("Alexey Smirnov")

    def test_a_name_made_only_of_honorifics_keeps_its_words(self) -> None:
        """Honorifics are dropped only while at least two words remain."""
        assert person_name("Mr Ali") == "ali mr"


class TestCompanies:
    @pytest.mark.parametrize(
        ("a", "b"),
        [
            ("Tembe Trading Lda", "TEMBE TRADING, LDA."),
            ("Tembe Trading Limitada", "Tembe Trading Lda"),
            ("Công ty TNHH Hải Phòng Logistics", "Hai Phong Logistics Co., Ltd"),
            ("华强贸易有限公司", "Huaqiang Maoyi Co. Ltd"),
            ("ООО «Восток Импорт»", "Vostok Import LLC"),
            ("Société Ivoire S.A.R.L.", "SOCIETE IVOIRE SARL"),
            ("บริษัท สยามเทรดดิ้ง จำกัด", "บริษัทสยามเทรดดิ้ง จำกัด"),
        ],
    )
    def test_legal_forms_are_removed_across_languages(self, a: str, b: str) -> None:
        """Legal-form suffixes and prefixes in many languages do not change the name."""
        assert company_name(a) == company_name(b)
        assert company_name(a)

    def test_a_name_that_is_only_a_legal_form_is_empty(self) -> None:
        """Nothing is left of a company called just 'Ltd'; keeping one word avoids that."""
        assert company_name("Ltd") == "ltd"
        assert company_name("Trading Ltd") == "trading"


class TestIdentifiers:
    def test_phone_local_and_international_forms_agree(self) -> None:
        """A local number read in the record's country equals its international form."""
        assert phone("0912 345 678", "VN") == phone("+84 91 234 5678", None) == "+84912345678"

    def test_phone_without_country_is_refused(self) -> None:
        """A local number with no country to read it in is not guessed."""
        with pytest.raises(InvalidIdentifierError):
            phone("0912345678", None)

    def test_container_check_digit_is_verified(self) -> None:
        """A container number whose ISO 6346 check digit is wrong is refused."""
        assert container("mscu 123456-6") == "MSCU1234566"
        with pytest.raises(InvalidIdentifierError, match="check digit"):
            container("MSCU1234565")

    def test_imo_check_digit_is_verified(self) -> None:
        """IMO numbers are compacted and their check digit verified."""
        assert imo_number("IMO 9074729") == "9074729"
        with pytest.raises(InvalidIdentifierError):
            imo_number("IMO 9074728")

    def test_air_waybill_mod7_is_verified(self) -> None:
        """The last digit of an air waybill serial must be the first seven digits mod 7."""
        assert air_waybill("176-1234 5675") == "17612345675"
        with pytest.raises(InvalidIdentifierError, match="mod 7"):
            air_waybill("176-12345676")

    def test_email_case_and_gmail_conventions(self) -> None:
        """Addresses are lowercased; Gmail dots and +tags are ignored."""
        assert email("Ho.Minh@GMAIL.com") == email("hominh+x@googlemail.com") == "hominh@gmail.com"
        with pytest.raises(InvalidIdentifierError):
            email("not-an-address")

    def test_countries_resolve_to_alpha3(self) -> None:
        """Alpha-2, alpha-3 and English names resolve to one alpha-3 code."""
        assert country_alpha3("VN") == country_alpha3("VNM") == country_alpha3("Viet Nam") == "VNM"
        with pytest.raises(InvalidIdentifierError):
            country_alpha3("XX")

    @given(
        st.text(alphabet="ABCDEFGHJ0123456789", min_size=4, max_size=12),
        st.sampled_from([" ", "-", ".", ""]),
    )
    def test_document_numbers_ignore_separators(self, number: str, sep: str) -> None:
        """Separators and case never change a document number."""
        spaced = sep.join(number).lower()
        assert document_number(spaced) == number
