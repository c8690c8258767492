"""Identifiers: phones, emails, documents, countries, containers, vessels, air waybills.

Each function returns the canonical text of a valid identifier or raises
:class:`InvalidIdentifierError`. Check digits are verified with python-stdnum (ISO
6346 containers, IMO numbers) or the published rule (IATA air waybills, mod 7);
an identifier that fails its check is never turned into a key, because a typing
error would otherwise match an unrelated container or vessel.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
import pycountry
from stdnum import imo, iso6346

from node.records.normalize.errors import InvalidIdentifierError

_ALNUM = re.compile(r"[^0-9A-Z]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CONTAINER = re.compile(r"^[A-Z]{3}[UJZ][0-9]{7}$")
_AWB = re.compile(r"^(\d{3})(\d{8})$")
_GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def _compact(value: str) -> str:
    return _ALNUM.sub("", value.upper())


@lru_cache(maxsize=4096)
def country_alpha3(value: str) -> str:
    """ISO 3166-1 alpha-3 code for a code (alpha-2 or alpha-3) or an English country name."""
    text = value.strip()
    if not text:
        raise InvalidIdentifierError("country", value, "empty")
    try:
        country = pycountry.countries.lookup(text)
    except LookupError:
        raise InvalidIdentifierError(
            "country", value, "not an ISO 3166 country code or name"
        ) from None
    return str(country.alpha_3)


@lru_cache(maxsize=4096)
def country_alpha2(value: str) -> str:
    """ISO 3166-1 alpha-2 code for a code (alpha-2 or alpha-3) or an English country name."""
    country = pycountry.countries.get(alpha_3=country_alpha3(value))
    if country is None:  # pragma: no cover - alpha-3 came from pycountry itself
        raise InvalidIdentifierError("country", value, "unknown country")
    return str(country.alpha_2)


@lru_cache(maxsize=65536)
def phone(value: str, region: str | None) -> str:
    """E.164 form of a phone number; local numbers are read in ``region`` (alpha-2)."""
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidIdentifierError("phone", value, f"not a phone number ({exc})") from None
    if not phonenumbers.is_valid_number(parsed):
        hint = "" if region or value.strip().startswith("+") else " (no country to read it in)"
        raise InvalidIdentifierError("phone", value, f"not a valid number{hint}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=65536)
def email(value: str) -> str:
    """Lowercase address; Gmail's ignored dots and ``+tags`` removed."""
    text = value.strip().lower()
    if text.startswith("mailto:"):
        text = text[len("mailto:") :]
    if not _EMAIL.match(text):
        raise InvalidIdentifierError("email", value, "not an e-mail address")
    local, domain = text.rsplit("@", 1)
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidIdentifierError("email", value, "the domain is not a valid name") from None
    if domain in _GMAIL_DOMAINS:
        local = local.split("+", 1)[0].replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


@lru_cache(maxsize=65536)
def document_number(value: str) -> str:
    """Document number in capitals without spaces, dashes or dots."""
    text = _compact(value)
    if not 4 <= len(text) <= 24:
        raise InvalidIdentifierError("document", value, "expected 4 to 24 letters or digits")
    return text


def container(value: str) -> str:
    """ISO 6346 container number (``MSCU1234566``) with a verified check digit."""
    number = _compact(value)
    if not _CONTAINER.match(number):
        raise InvalidIdentifierError(
            "container", value, "expected owner code, category letter, 6 digits, check digit"
        )
    if iso6346.calc_check_digit(number[:10]) != number[10]:
        raise InvalidIdentifierError("container", value, "check digit does not match")
    return number


def imo_number(value: str) -> str:
    """Seven-digit IMO vessel number with a verified check digit."""
    number = _compact(value.upper().replace("IMO", ""))
    if len(number) != 7 or not number.isdigit():
        raise InvalidIdentifierError("vessel_imo", value, "expected 7 digits (IMO 9074729)")
    if imo.calc_check_digit(number[:6]) != number[6]:
        raise InvalidIdentifierError("vessel_imo", value, "check digit does not match")
    return number


def air_waybill(value: str) -> str:
    """Eleven-digit air waybill (airline prefix + serial) whose last digit is serial mod 7."""
    digits = re.sub(r"[\s\-./]", "", value)
    m = _AWB.match(digits)
    if not m:
        raise InvalidIdentifierError(
            "air_waybill", value, "expected 3 + 8 digits (e.g. 176-12345675)"
        )
    serial = m.group(2)
    if int(serial[:7]) % 7 != int(serial[7]):
        raise InvalidIdentifierError("air_waybill", value, "check digit does not match (mod 7)")
    return digits


def awb_check_digit(serial7: str) -> int:
    """The mod-7 check digit for the first seven digits of an air waybill serial."""
    return int(serial7) % 7


def bill_of_lading(value: str) -> str:
    """Bill of lading number in capitals without separators (no check digit exists)."""
    text = _compact(value)
    if not 6 <= len(text) <= 30:
        raise InvalidIdentifierError("bill_of_lading", value, "expected 6 to 30 letters or digits")
    return text


def cites_permit(value: str) -> str:
    """CITES permit number in capitals without separators (``22KE000123``)."""
    text = _compact(value)
    if not 5 <= len(text) <= 30:
        raise InvalidIdentifierError("cites_permit", value, "expected 5 to 30 letters or digits")
    return text


def registration_number(value: str) -> str:
    """Company registration number in capitals without separators."""
    text = _compact(value)
    if not 3 <= len(text) <= 30:
        raise InvalidIdentifierError(
            "registration_number", value, "expected 3 to 30 letters or digits"
        )
    return text


_INTERNATIONAL_00 = re.compile(r"^\s*00\s*([1-9])")


@lru_cache(maxsize=65536)
def phone_v2(value: str, region: str | None) -> str:
    """E.164 form, scheme 2: as :func:`phone`, and a leading ``00`` reads as ``+``.

    ``00`` is the international prefix of most countries; a number written
    ``0084 91 234 5678`` is read in ``region`` first, then (when that fails or
    there is no region) as ``+84 91 234 5678``.
    """
    try:
        return phone(value, region)
    except InvalidIdentifierError:
        if not _INTERNATIONAL_00.match(value):
            raise
    return phone(_INTERNATIONAL_00.sub(r"+\1", value, count=1), None)
