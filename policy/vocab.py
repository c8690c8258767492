"""Closed vocabularies of the policy language.

Every value a policy file or a request may use is listed here. A value that is
not listed is an error when a policy is loaded and a denial when a request is
evaluated (fail closed), so a typing mistake can never widen a release.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

#: Purposes a counterpart may state for a match or a disclosure.
PURPOSES: Final = (
    "criminal_investigation",
    "prosecution",
    "intelligence_analysis",
    "customs_enforcement",
    "cites_permit_verification",
    "asset_recovery",
)

#: Kinds of record held by a node.
RECORD_KINDS: Final = ("person", "organisation", "shipment")

#: Role of a person in the matter a record belongs to.
SUBJECT_CATEGORIES: Final = (
    "suspect",
    "accused",
    "convicted",
    "associate",
    "victim",
    "witness",
    "informant",
)

#: Offence classes used for potential charges, record offences and
#: death-penalty exposure.
OFFENCE_CLASSES: Final = (
    "wildlife_trafficking",
    "poaching",
    "timber_trafficking",
    "fisheries_crime",
    "smuggling",
    "customs_fraud",
    "document_fraud",
    "money_laundering",
    "corruption",
    "organised_crime",
    "drug_trafficking",
    "arms_trafficking",
    "murder",
    "terrorism",
)

#: Field name -> field group. The single source of truth for what a record
#: may carry and how release rules name it.
FIELD_GROUPS: Final = MappingProxyType(
    {
        "names": "identity",
        "aliases": "identity",
        "date_of_birth": "date_of_birth",
        "year_of_birth": "date_of_birth",
        "nationality": "nationality",
        "documents": "documents",
        "phones": "contact",
        "emails": "contact",
        "addresses": "address",
        "org_name": "organisation",
        "org_country": "organisation",
        "registration_numbers": "registration",
        "containers": "shipment",
        "bills_of_lading": "shipment",
        "air_waybills": "shipment",
        "vessel_imo": "shipment",
        "cites_permits": "shipment",
        "consignor": "shipment",
        "consignee": "shipment",
        "route": "route",
        "species": "species",
        "quantity": "seizure",
        "seizure_date": "seizure",
        "seizure_place": "seizure",
        "case_reference": "case",
        "source": "case",
    }
)

#: Field groups, in the order documents list them.
GROUP_NAMES: Final = (
    "identity",
    "date_of_birth",
    "nationality",
    "documents",
    "contact",
    "address",
    "organisation",
    "registration",
    "shipment",
    "route",
    "species",
    "seizure",
    "case",
)

#: Handling codes ordered from least to most strict. One scale across the
#: three families so that "the strictest obligation wins" has one meaning.
HANDLING_CODES: Final = (
    "TLP:CLEAR",
    "TLP:GREEN",
    "UK-3x5x2:P",
    "H0",
    "TLP:AMBER",
    "UK-3x5x2:C",
    "H1",
    "TLP:AMBER+STRICT",
    "H2",
    "H3",
    "TLP:RED",
)

#: Plain-language meaning of each handling code.
HANDLING_MEANINGS: Final = MappingProxyType(
    {
        "TLP:CLEAR": "no limit on disclosure (TLP:CLEAR)",
        "TLP:GREEN": "may be shared within the recipient's community, not publicly (TLP:GREEN)",
        "UK-3x5x2:P": "lawful sharing permitted (UK 3x5x2 handling code P)",
        "H0": "not to be used in judicial proceedings without the provider's permission "
        "(Europol H0)",
        "TLP:AMBER": "recipient's organisation and its clients on a need-to-know basis (TLP:AMBER)",
        "UK-3x5x2:C": "lawful sharing permitted only under the stated conditions "
        "(UK 3x5x2 handling code C)",
        "H1": "not to be disseminated without the provider's permission (Europol H1)",
        "TLP:AMBER+STRICT": "recipient's organisation only (TLP:AMBER+STRICT)",
        "H2": "not to be acted upon without the provider's permission (Europol H2)",
        "H3": "further restrictions apply, see the conditions (Europol H3)",
        "TLP:RED": "named recipients only, no further sharing (TLP:RED)",
    }
)

#: Restrictions a record may carry besides a handling code.
RECORD_RESTRICTIONS: Final = ("interpol_art3", "no_foreign_release")

#: Everything allowed in a record's ``handling_restrictions``.
HANDLING_RESTRICTIONS: Final = RECORD_RESTRICTIONS + HANDLING_CODES

#: Onward transfer and judicial use, least to most strict.
CONSENT_LEVELS: Final = ("permitted", "with_consent", "prohibited")

#: Transformations a release rule may apply to a field, least to most strict.
TRANSFORMS: Final = MappingProxyType(
    {
        "month": "reduced to year and month",
        "year": "reduced to the year",
        "country_only": "reduced to the country",
        "mask": "all but the last three characters masked",
        "count": "replaced by the number of entries",
    }
)

#: Roles that may decide an approval ticket.
APPROVAL_ROLES: Final = (
    "legal_officer",
    "senior_legal_officer",
    "head_of_unit",
    "data_protection_officer",
    "director",
)

#: Kinds of legal instrument.
INSTRUMENT_KINDS: Final = (
    "multilateral_treaty",
    "bilateral_treaty",
    "bilateral_mou",
    "national_law",
    "regional_agreement",
)

#: Kinds of assurance a counterpart may give.
ASSURANCE_KINDS: Final = ("no_death_penalty", "fair_trial", "specialty")

#: What an assurance covers: use of the information itself, or of anything
#: derived from it.
ASSURANCE_SCOPES: Final = ("direct_use", "indirect_use")

#: CITES appendices; ``none`` means not listed.
CITES_APPENDICES: Final = ("I", "II", "III", "none")

#: Stages a guard applies to.
STAGES: Final = ("participation", "release")

#: Reason codes that may be shown to a counterpart. None of them says whether a
#: subject is a victim, witness or informant.
REASON_CODES: Final = MappingProxyType(
    {
        "RELEASED": "the requested information is released under the stated obligations",
        "PARTICIPATES": "the record may take part in the match",
        "APPROVAL_REQUIRED": "the request awaits a decision by the responder's legal officers",
        "NOT_RELEASABLE": "the responder's policy does not allow this record to be released",
        "ASSURANCE_REQUIRED": "an assurance covering direct and indirect use is required",
        "RECIPIENT_NOT_COMPETENT": "the requester is not a competent authority for this purpose",
        "LEGAL_BASIS_INVALID": "the stated legal basis does not apply or is no longer in force",
        "DUAL_CRIMINALITY_NOT_MET": "the conduct is not an offence in both jurisdictions",
        "NO_MATCHING_RULE": "no rule of the responder's policy allows this request",
        "NO_RELEASABLE_FIELDS": "none of the requested fields may be released",
        "INVALID_REQUEST": "the request uses a value outside the agreed vocabulary",
        "EVALUATION_ERROR": "the request could not be evaluated; nothing was released",
    }
)

#: Reason codes a guard may give, from the most to the least generic. When
#: several guards deny, the most generic code is shown, so a specific code can
#: never reveal something a generic one was meant to hide.
GUARD_REASON_CODES: Final = (
    "NOT_RELEASABLE",
    "RECIPIENT_NOT_COMPETENT",
    "LEGAL_BASIS_INVALID",
    "ASSURANCE_REQUIRED",
    "DUAL_CRIMINALITY_NOT_MET",
)


def handling_rank(code: str) -> int:
    """Position of a handling code on the strictness scale (higher is stricter)."""
    return HANDLING_CODES.index(code)


def groups_to_fields(names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Expand field and group names into field names, in FIELD_GROUPS order."""
    wanted = set(names)
    return tuple(f for f, g in FIELD_GROUPS.items() if f in wanted or g in wanted)


def is_field_or_group(name: str) -> bool:
    """Whether ``name`` is a known field name or field group name."""
    return name in FIELD_GROUPS or name in GROUP_NAMES
