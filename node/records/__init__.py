"""Records and match keys: the model, normalization, key derivation, import and storage.

Public entry points::

    from node.records import Record, derive_keys, facts, read_records
    from node.store import records  # upsert, get, list_records, delete, purge_expired, ...
"""

from __future__ import annotations

from node.records.facts import RecordFacts, facts
from node.records.keys import KEY_SCHEME_VERSION, KEY_TYPES, KeyDerivation, MatchKey, derive_keys
from node.records.model import FIELD_GROUPS, SUBJECT_CATEGORIES, Record

__all__ = [
    "FIELD_GROUPS",
    "KEY_SCHEME_VERSION",
    "KEY_TYPES",
    "SUBJECT_CATEGORIES",
    "KeyDerivation",
    "MatchKey",
    "Record",
    "RecordFacts",
    "derive_keys",
    "facts",
    "read_records",
]


def __getattr__(name: str) -> object:
    # The reader pulls in openpyxl; load it only when an import actually happens.
    if name == "read_records":
        from node.records.io import read_records

        return read_records
    raise AttributeError(name)
