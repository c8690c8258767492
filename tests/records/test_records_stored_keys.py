"""Stored keys: one pass over a record gives exactly the keys of each stored scheme."""

from __future__ import annotations

import json
import random

from node.records.keys import (
    KEY_SCHEME_VERSION,
    STORED_SCHEMES,
    KeyDerivation,
    derive_keys,
    derive_stored_keys,
    stored_match_keys,
)
from node.records.model import Record
from node.records.parse import parse_row
from spoor_dev import generate


def per_scheme(record: Record, default_region: str | None) -> KeyDerivation:
    """The keys as derived scheme by scheme, and the current scheme's problems."""
    out = KeyDerivation()
    for scheme in STORED_SCHEMES:
        got = derive_keys(record, scheme, default_region=default_region)
        out.keys.extend(got.keys)
        if scheme == KEY_SCHEME_VERSION:
            out.problems = got.problems
    return out


def generated_records() -> list[Record]:
    """Generated records as written at home and abroad, with some identifiers broken."""
    rng = random.Random(11)
    out: list[Record] = []
    for i, generated in enumerate(generate.rows(3000, seed=21)):
        row = generate.restyle(generated, rng) if i % 3 == 1 else generated
        if i % 7 == 0:
            for column in ("phones", "containers", "air_waybills", "vessel_imo", "emails"):
                if row.get(column):
                    row[column] = row[column][:-1] + ("1" if row[column][-1] != "1" else "2")
        if i % 5 == 0:
            # No country to read local phones in but the agency's own (scheme 2 only).
            for column in ("country", "org_country", "nationality"):
                row.pop(column, None)
        if i % 11 == 0 and row.get("phones"):
            row["phones"] = "00" + row["phones"].lstrip("+").replace(" ", "")
        out.append(parse_row(row))
    return out


class TestStoredKeys:
    def test_one_pass_equals_each_scheme_derived_alone(self) -> None:
        """Keys (type, string, entropy, order) and problems match a per-scheme derivation."""
        records = generated_records()
        kinds = {r.kind for r in records}
        assert kinds == {"person", "organisation", "shipment"}
        with_problems = 0
        for region in (None, "KE"):
            for record in records:
                expected = per_scheme(record, region)
                got = derive_stored_keys(record, default_region=region)
                assert got.keys == expected.keys, record.record_id
                assert got.problems == expected.problems, record.record_id
                assert got.matchable() == expected.matchable()
                with_problems += bool(got.problems)
        assert with_problems > 100
        assert any(r.phones and not (r.country or r.org_country or r.nationality) for r in records)

    def test_every_stored_scheme_is_present(self) -> None:
        """A generated person carries keys under each stored scheme's prefix."""
        record = next(r for r in generated_records() if r.kind == "person" and r.phones)
        prefixes = {k.value.split("|", 1)[0] for k in derive_stored_keys(record).keys}
        assert prefixes == {f"v{s}" for s in STORED_SCHEMES}

    def test_stored_strings_are_the_matchable_keys(self) -> None:
        """An import stores exactly the matchable keys and problems of the full derivation."""
        for region in (None, "KE"):
            for record in generated_records():
                full = derive_stored_keys(record, default_region=region)
                keys, problems = stored_match_keys(record, default_region=region)
                assert keys == tuple(full.matchable()), record.record_id
                assert problems == full.problems, record.record_id


class TestCanonicalJson:
    def test_canonical_json_is_the_sorted_compact_dump(self) -> None:
        """Every generated record's stored JSON is byte for byte the sorted, compact json.dumps."""
        for record in generated_records():
            expected = json.dumps(
                record.to_json(), ensure_ascii=False, sort_keys=True, separators=(",", ":")
            )
            assert record.canonical_json().encode() == expected.encode()
