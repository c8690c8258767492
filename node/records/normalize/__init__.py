"""Normalization of the facts agencies write differently.

Every function here is deterministic and depends only on its input, so two
nodes that hold the same fact in different scripts, orders or formats derive
the same canonical text. Functions that validate identifiers raise
:class:`InvalidIdentifierError` instead of guessing.
"""

from __future__ import annotations

from node.records.normalize.errors import InvalidIdentifierError
from node.records.normalize.identifiers import (
    air_waybill,
    bill_of_lading,
    cites_permit,
    container,
    country_alpha2,
    country_alpha3,
    document_number,
    email,
    imo_number,
    phone,
    registration_number,
)
from node.records.normalize.names import person_name, person_skeleton
from node.records.normalize.orgs import company_name
from node.records.normalize.text import romanize, tokens

__all__ = [
    "InvalidIdentifierError",
    "air_waybill",
    "bill_of_lading",
    "cites_permit",
    "company_name",
    "container",
    "country_alpha2",
    "country_alpha3",
    "document_number",
    "email",
    "imo_number",
    "person_name",
    "person_skeleton",
    "phone",
    "registration_number",
    "romanize",
    "tokens",
]
