"""Key scheme 2: published vectors, pinned libraries, the new rules and coexistence with 1."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

import policy
from node.errors import VersionMismatch
from node.match.responder import PROTOCOL_VERSION, MatchCall, validate_call
from node.psi import PSI_PROTOCOL_VERSION
from node.records.importer import import_file
from node.records.keys import SCHEME_LIBRARIES, STORED_SCHEMES, derive_keys
from node.records.parse import parse_row
from node.records.schemes import (
    advertised_schemes,
    check_requested_scheme,
    choose_scheme,
    keys_of_scheme,
    scheme_of,
)
from node.store import records as rs
from spoor_dev import key_vectors

VECTORS = Path(__file__).resolve().parents[2] / "docs" / "match-keys-v2-vectors.json"


def _row(**cols: str) -> dict[str, Any]:
    base = {"record_id": "R-1", "review_date": "2030-12-31", "source": "t"}
    return {**base, "kind": "person", "subject_category": "suspect", **cols}


def keys(scheme: int = 2, region: str | None = None, **cols: str) -> list[str]:
    return derive_keys(parse_row(_row(**cols)), scheme, default_region=region).matchable()


class TestPublishedVectors:
    def test_every_vector_derives_exactly_its_keys(self) -> None:
        """Each published input gives exactly the published keys, refusals included."""
        published = json.loads(VECTORS.read_text(encoding="utf-8"))
        assert published["scheme"] == 2
        for vec in published["vectors"]:
            assert key_vectors.vector({"rule": vec["rule"], "row": vec["row"]}) == vec, vec["rule"]

    def test_file_is_the_generator_output(self) -> None:
        """The vectors file is what the generator writes (no hand edits, nothing stale)."""
        assert VECTORS.read_text(encoding="utf-8") == key_vectors.render()

    def test_vectors_cover_every_script_and_identifier(self) -> None:
        """The vectors cover the scripts, companies, phones and shipment identifiers."""
        rules = " ".join(v["rule"] for v in json.loads(VECTORS.read_text())["vectors"])
        for topic in ("vietnamese", "chinese", "thai", "arabic", "cyrillic", "portuguese"):
            assert topic in rules
        for topic in ("french", "swahili", "company", "phone", "container", "IMO", "passport"):
            assert topic in rules

    @pytest.mark.parametrize(("dist", "pinned"), sorted(SCHEME_LIBRARIES.items()))
    def test_installed_library_is_the_one_the_scheme_names(self, dist: str, pinned: str) -> None:
        """The normalization libraries installed are exactly the versions scheme 2 records."""
        assert version(dist) == pinned
        published = json.loads(VECTORS.read_text(encoding="utf-8"))
        assert published["libraries"][dist] == pinned


class TestNames:
    def test_vietnamese_family_names_le_and_do_are_kept(self) -> None:
        """Lê Văn Hùng meets Hung Le Van and Đỗ Văn Khánh meets KHANH DO VAN."""
        assert set(keys(names="Lê Văn Hùng", date_of_birth="1980-01-02")) & set(
            keys(names="Hung Le Van", date_of_birth="1980-01-02")
        )
        assert set(keys(names="Đỗ Văn Khánh", date_of_birth="1980-01-02")) & set(
            keys(names="KHANH DO VAN", date_of_birth="1980-01-02")
        )
        # Scheme 1 dropped them: the two spellings shared nothing.
        assert not set(keys(1, names="Lê Văn Hùng", date_of_birth="1980-01-02")) & set(
            keys(1, names="Hung Le Van", date_of_birth="1980-01-02")
        )

    def test_common_chinese_names_get_no_skeleton(self) -> None:
        """Wang Wei, Wang Yi, 王宇 and Wong Wai share no key on the same date of birth."""
        dob = "1985-05-05"
        sets = [
            set(keys(names=n, date_of_birth=dob)) for n in ("王伟", "Wang Yi", "王宇", "Wong Wai")
        ]
        for i, a in enumerate(sets):
            for b in sets[i + 1 :]:
                assert not a & b
        assert set(keys(names="王伟", date_of_birth=dob)) == set(
            keys(names="Wang Wei", date_of_birth=dob)
        )

    def test_patronymic_on_one_side_only_still_meets(self) -> None:
        """Иванов Сергей Петрович meets Sergei Ivanov with the same date of birth."""
        assert set(keys(names="Иванов Сергей Петрович", date_of_birth="1970-07-07")) & set(
            keys(names="Sergei Ivanov", date_of_birth="1970-07-07")
        )

    def test_particle_is_dropped_only_before_a_word(self) -> None:
        """Maria da Silva meets Maria Silva; a trailing Le is a family name, not a particle."""
        assert keys(names="Maria da Silva", date_of_birth="1970-01-01") == keys(
            names="Maria Silva", date_of_birth="1970-01-01"
        )
        assert "v2|name_dob|le martin|1970-01-01" in keys(
            names="Martin Le", date_of_birth="1970-01-01"
        )

    def test_year_of_birth_alone_is_never_matchable(self) -> None:
        """A name with a year of birth only is low entropy (measured collisions 9-71%)."""
        assert keys(names="Nguyen Van Hung", year_of_birth="1980") == []


class TestCompaniesAndPhones:
    @pytest.mark.parametrize(
        "written", ["Tembe & Filhos Lda", "Tembe e Filhos", "TEMBE AND FILHOS"]
    )
    def test_connectives_are_one_word(self, written: str) -> None:
        """&, and, e (and et, y, und) give one company key."""
        row = {"kind": "organisation", "org_name": written, "org_country": "MZ"}
        got = derive_keys(parse_row({**_row(), **row, "subject_category": ""})).matchable()
        assert got == ["v2|org|tembe and filhos|MZ"]

    def test_double_zero_prefix_is_keyed_without_a_country(self) -> None:
        """0084 91 234 5678 on a record with no country is the phone +84912345678."""
        assert keys(names="Ana Lima", phones="0084 91 234 5678") == ["v2|phone|+84912345678"]
        assert keys(1, names="Ana Lima", phones="0084 91 234 5678") == []

    def test_agency_country_reads_local_numbers(self) -> None:
        """A local number on a record without country or nationality is read in the agency's."""
        assert keys(region="KE", names="Ana Lima", phones="0712 345678") == [
            "v2|phone|+254712345678"
        ]
        assert keys(region=None, names="Ana Lima", phones="0712 345678") == []


class TestCoexistence:
    def test_records_are_stored_with_the_keys_of_both_schemes(
        self, conn: sqlite3.Connection
    ) -> None:
        """An import stores v1 and v2 keys, so a v1 peer's query keys and a v2 one both hit."""
        record = parse_row(_row(names="Lê Văn Hùng", date_of_birth="1980-01-02"))
        rs.upsert(conn, [record])
        stored = set(rs.keys_of(conn, "R-1"))
        assert STORED_SCHEMES == (1, 2)
        assert set(derive_keys(record, 1).matchable()) <= stored
        assert set(derive_keys(record, 2).matchable()) <= stored
        assert keys_of_scheme(sorted(stored), 1) == sorted(derive_keys(record, 1).matchable())

    def test_requester_uses_the_highest_common_scheme(self) -> None:
        """Both on 1 and 2 → 2; a peer on 1 only → 1; a peer on an unknown scheme → refused."""
        assert choose_scheme([1, 2]) == 2
        assert choose_scheme([1]) == 1
        assert choose_scheme(advertised_schemes()) == 2
        with pytest.raises(VersionMismatch):
            choose_scheme([3])

    def test_responder_answers_only_schemes_it_stores(self) -> None:
        """A responder accepts a request in a stored scheme and refuses any other."""
        assert check_requested_scheme(1) == 1
        assert check_requested_scheme(2) == 2
        with pytest.raises(VersionMismatch):
            check_requested_scheme(3)
        with pytest.raises(VersionMismatch):
            check_requested_scheme(1, stored=(2,))

    def test_scheme_of_reads_the_prefix(self) -> None:
        """The scheme of a key is its prefix; a string without one is refused."""
        assert scheme_of("v2|phone|+84912345678") == 2
        with pytest.raises(ValueError, match="not a complete match key"):
            scheme_of("phone|+84912345678")


class TestImportRegion:
    def test_import_reads_local_numbers_in_the_agency_country(
        self, conn: sqlite3.Connection, tmp_path: Path
    ) -> None:
        """An import given the agency's country keys a local number of a record without one."""
        path = tmp_path / "p.jsonl"
        path.write_text(json.dumps(_row(names="Ana Lima", phones="0712 345678")) + "\n")
        import_file(conn, path, default_region="KE")
        stored = rs.keys_of(conn, "R-1")
        assert "v2|phone|+254712345678" in stored
        # Scheme 1 read local numbers only in the record's own country.
        assert not [k for k in stored if k.startswith("v1|phone|")]


class TestResponderAcceptsStoredSchemes:
    @staticmethod
    def _call(scheme: int) -> MatchCall:
        return MatchCall(
            context=policy.request_context(
                requester="vn-customs",
                now=datetime.now(UTC),
                purpose="criminal_investigation",
                legal_basis="KE-VN-MoU-2024",
                case_reference="VN-HCM-2026-044",
                officer="Insp. Tran Thi Mai",
            ),
            protocol_version=PROTOCOL_VERSION,
            key_scheme_version=scheme,
            psi_protocol_version=PSI_PROTOCOL_VERSION,
            reveal_intersection=True,
            psi_request=b"x",
            request_id="3f1c8a52-5d0e-4a51-9d69-2a7de1c0b001",
        )

    def test_a_peer_still_on_scheme_one_is_answered(self) -> None:
        """A match request in scheme 1 or 2 passes the responder's checks; scheme 3 does not."""
        validate_call(self._call(1))
        validate_call(self._call(2))
        with pytest.raises(VersionMismatch):
            validate_call(self._call(3))
