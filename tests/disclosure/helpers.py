"""Shared pieces of the disclosure tests: a responding node's store, policy and records."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from spoor.federation.v1 import federation_pb2 as pb

from node import officers, store
from node.app.config import NodeConfig
from node.app.policy_holder import PolicyHolder
from node.disclosure import DisclosureAnswer, DisclosureCall, DisclosureResponder
from node.disclosure.model import OpenCall
from node.match.responder import PROTOCOL_VERSION
from node.records.keys import KEY_SCHEME_VERSION, derive_keys
from node.records.model import IdentityDocument, Record, SpeciesItem
from node.rpc import wire
from node.store import matches
from node.store import records as record_store
from tests.officers_support import enrol

DATA = Path(__file__).parent / "data"
POLICY_DIR = DATA / "policy"
RESPONDER = "ke-kws"
REQUESTER = "vn-customs"
OTHER = "mz-pgr"

SUSPECT = Record(
    record_id="KWS-P-001",
    kind="person",
    review_date="2035-01-01",
    case_reference="KWS/2026/17",
    source="field report 88",
    subject_category="suspect",
    names=("Nguyen Van Hung",),
    date_of_birth="1979-03-02",
    nationality=("VN",),
    documents=(IdentityDocument("passport", "C1234567", "VNM"),),
    phones=("+84912345678",),
    offence_classes=("wildlife_trafficking",),
)
VICTIM = Record(
    record_id="KWS-P-002",
    kind="person",
    review_date="2035-01-01",
    subject_category="victim",
    names=("Amina Otieno",),
    documents=(IdentityDocument("passport", "A7654321", "KEN"),),
)
IVORY = Record(
    record_id="KWS-S-010",
    kind="shipment",
    review_date="2035-01-01",
    source="informant 7",
    containers=("MSCU1234566",),
    species=(SpeciesItem("Loxodonta africana"),),
    quantity="120 kg",
    seizure_date="2026-02-11",
    seizure_place="Mombasa, KE",
    offence_classes=("wildlife_trafficking",),
)
CANE_RAT = Record(
    record_id="KWS-S-011",
    kind="shipment",
    review_date="2035-01-01",
    containers=("TGHU7654320",),
    species=(SpeciesItem("Thryonomys swinderianus"),),
    quantity="40 kg",
    offence_classes=("wildlife_trafficking",),
)
RECORDS = (SUSPECT, VICTIM, IVORY, CANE_RAT)
UNHELD_KEY = f"v{KEY_SCHEME_VERSION}|passport|VNM|Z9999999"


def key_of(record: Record, key_type: str) -> str:
    """The record's match key of one type (as both nodes derive it)."""
    return next(k.value for k in derive_keys(record).keys if k.key_type == key_type)


def call(keys: tuple[str, ...], **overrides: object) -> DisclosureCall:
    """The requester's disclosure request for ``keys`` as the responder's wire decoder reads it.

    Overrides name wire fields (``officer`` stands for ``requesting_officer``);
    a malformed one raises ``InvalidRequest`` where the request enters, as in a node.
    """
    if "officer" in overrides:
        overrides["requesting_officer"] = overrides.pop("officer")
    base: dict[str, object] = {
        "protocol_version": PROTOCOL_VERSION,
        "key_scheme_version": KEY_SCHEME_VERSION,
        "request_id": "3f1c8a52-5d0e-4a51-9d69-2a7de1c0b001",
        "match_keys": keys,
        "purpose": "criminal_investigation",
        "legal_basis": "KE-VN-MoU-2024",
        "case_reference": "VN-HCM-2026-044",
        "requesting_officer": "Insp. Tran Thi Mai",
        "justification": "Container and passport linked to an ivory seizure in Hai Phong.",
        "requested_fields": (
            "identity",
            "date_of_birth",
            "documents",
            "shipment",
            "species",
            "seizure",
            "case",
        ),
    }
    base.update(overrides)
    return wire.disclosure_call_of(REQUESTER, pb.DiscloseRequest(**base))  # type: ignore[arg-type]


@dataclass
class ResponderNode:
    """A responding node without transport: its store, policy and disclosure service."""

    db_path: Path
    config: NodeConfig
    service: DisclosureResponder
    conn: sqlite3.Connection

    def disclose(self, keys: tuple[str, ...], **overrides: object) -> DisclosureAnswer:
        return self.service.disclose(call(keys, **overrides))

    def count(self, table: str) -> int:
        return int(self.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


#: Officers on the responder's roster in these tests (all legal officers).
OFFICERS = ("Adv. Wanjiru", "Adv. Kamau", "Adv. A", "Adv. B")


def make_responder(root: Path, now: datetime | None = None) -> ResponderNode:
    root.mkdir(parents=True, exist_ok=True)
    db_path = root / "node.db"
    conn = store.open_store(db_path)
    with store.transaction(conn):
        record_store.upsert(conn, RECORDS)
        for name in OFFICERS:
            officers.add(conn, name, ("legal_officer",), actor="test")
    enrol(conn, OFFICERS)
    config = NodeConfig(agency_id=RESPONDER, country="KE")
    policies = PolicyHolder(POLICY_DIR, db_path)
    policies.load_initial()
    return ResponderNode(db_path, config, DisclosureResponder(config, db_path, policies), conn)


def now() -> datetime:
    return datetime.now(UTC)


class DirectChannel:
    """The requester's channel to a responder in the same process, through the wire mapping."""

    def __init__(self, service: DisclosureResponder, requester: str = REQUESTER) -> None:
        self.service = service
        self.requester = requester
        self.peer_id = RESPONDER

    def open_disclosure(self, call: OpenCall) -> bytes:
        received = wire.open_call_of(self.requester, wire.open_disclosure_request_pb(call))
        psi_request = self.service.open_selection(received)
        return bytes(wire.open_disclosure_response_pb(psi_request, 300).psi_request)

    def disclose(self, request: DisclosureCall) -> DisclosureAnswer:
        received = wire.disclosure_call_of(self.requester, wire.disclose_request_pb(request))
        answer = self.service.disclose(received)
        return wire.disclosure_answer_of(self.peer_id, wire.disclose_response_pb(answer))

    def get_disclosure(self, disclosure_id: str, include_fields: bool) -> DisclosureAnswer:
        request = wire.get_disclosure_request_pb(disclosure_id, include_fields)
        answer = self.service.get_disclosure(
            self.requester,
            request.disclosure_id,
            include_fields=request.include_released_fields,
        )
        return wire.disclosure_answer_of(self.peer_id, wire.get_disclosure_response_pb(answer))


def make_requester_db(root: Path, keys: list[tuple[str, str, str]]) -> sqlite3.Connection:
    """A requester's store holding one match against the responder with the given hits.

    ``keys`` lists (record id, key type, match key) of the requester's own rows.
    """
    root.mkdir(parents=True, exist_ok=True)
    conn = store.open_store(root / "node.db")
    with store.transaction(conn):
        matches.create(
            conn,
            match_id="m-1",
            peer=RESPONDER,
            request_id="r-1",
            created_at="2026-11-22T10:00:00Z",
            purpose="criminal_investigation",
            legal_basis="KE-VN-MoU-2024",
            case_reference="VN-HCM-2026-044",
            officer="Insp. Tran Thi Mai",
            reveal="intersection",
            transcript_hash="00",
            policy_digest="00",
        )
        matches.add_request(
            conn,
            match_id="m-1",
            request_id="r-1",
            chunk=1,
            created_at="2026-11-22T10:00:00Z",
            elements=len(keys),
            hits=len(keys),
            transcript_hash="00",
            policy_digest="00",
        )
        matches.add_hits(
            conn,
            "m-1",
            [(row, *hit) for row, hit in enumerate(keys, start=1)],
        )
    return conn
